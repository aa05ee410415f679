/* handlers.h: the RPC methods. role.c: role.create, role.get, role.list,
 * permission.catalog. org.c: org.add, key.add, user.add, server.status. */
#pragma once

#include "dispatch.h"

int role_create_parse(const msgpack_object *params, void **ret_args, RpcErr *err);
int role_create_apply(Store *s, MDB_txn *txn, void *args, Buf *result, RpcErr *err);
void role_create_free(void *args);
int role_get_read(Manager *m, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk, RpcErr *err);
int role_list_read(Manager *m, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk, RpcErr *err);
int permission_catalog_read(Manager *m, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                            RpcErr *err);

int auth_check_read(Manager *m, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk, RpcErr *err);

int org_add_parse(const msgpack_object *params, void **ret_args, RpcErr *err);
int org_add_apply(Store *s, MDB_txn *txn, void *args, Buf *result, RpcErr *err);
void org_add_free(void *args);
int key_add_parse(const msgpack_object *params, void **ret_args, RpcErr *err);
int key_add_apply(Store *s, MDB_txn *txn, void *args, Buf *result, RpcErr *err);
void key_add_free(void *args);
int user_add_parse(const msgpack_object *params, void **ret_args, RpcErr *err);
int user_add_apply(Store *s, MDB_txn *txn, void *args, Buf *result, RpcErr *err);
void user_add_free(void *args);
int server_status_read(Manager *m, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                       RpcErr *err);
