/* handlers.h: the RPC methods and what they are given. A read runs on the
 * event loop's thread inside a read transaction and packs its result
 * straight into the reply; a write is parsed on the loop's thread and
 * applied by the writer thread (a WriteApplyFn, writer.h) inside the group
 * commit's transaction. Handlers get the store and, for server.status, a
 * function returning the daemon's figures: never the manager or a
 * connection. Failures are a negative errno plus an RpcErr.
 *
 * role.c: role.create, role.get, role.list, permission.catalog, auth.check.
 * org.c: org.add, key.add, user.add. status.c: server.status. */
#pragma once

#include <lmdb.h>
#include <msgpack.h>
#include <stdint.h>

#include "store.h"
#include "proto/buf.h"
#include "proto/rpc.h"

/* The daemon's own figures, as server.status reports them. */
typedef struct ServerStats {
        uint64_t connections;           /* open client connections */
        uint64_t uptime_usec;
        uint64_t write_batches;         /* commits */
        uint64_t writes;                /* writes committed */
        uint64_t write_commit_usec;     /* time spent committing */
} ServerStats;

typedef struct HandlerCtx {
        Store *store;
        void (*stats)(void *userdata, ServerStats *ret);       /* NULL: all zero */
        void *stats_userdata;
} HandlerCtx;

typedef int (*HandlerRead)(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                           RpcErr *err);

int role_create_parse(const msgpack_object *params, void **ret_args, RpcErr *err);
int role_create_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err);
void role_create_free(void *args);
int role_get_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                  RpcErr *err);
int role_list_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                   RpcErr *err);
int permission_catalog_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                            RpcErr *err);
int auth_check_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                    RpcErr *err);

int org_add_parse(const msgpack_object *params, void **ret_args, RpcErr *err);
int org_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err);
void org_add_free(void *args);
int key_add_parse(const msgpack_object *params, void **ret_args, RpcErr *err);
int key_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err);
void key_add_free(void *args);
int user_add_parse(const msgpack_object *params, void **ret_args, RpcErr *err);
int user_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err);
void user_add_free(void *args);

int server_status_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                       RpcErr *err);
