/* dispatch.h: the method table. Each method is either a read, run on the
 * main thread inside one short read transaction, or a write, whose params
 * are parsed on the main thread and which is applied by the writer thread
 * inside the group-commit transaction. Handlers pack their result straight
 * into the reply and report failures as negative errno plus RpcErr. */
#pragma once

#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"
#include "proto/buf.h"
#include "proto/rpc.h"

typedef struct Manager Manager;
typedef struct Conn Conn;


typedef struct Method {
        const char *name;
        int (*read)(Manager *m, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                    RpcErr *err);
        int (*parse)(const msgpack_object *params, void **ret_args, RpcErr *err);
        int (*apply)(Store *s, MDB_txn *txn, void *args, Buf *result, RpcErr *err);
        void (*free_args)(void *args);
} Method;

const Method *method_lookup(const char *name, size_t len);

/* Decodes one complete frame from c and answers it (now for reads and
 * envelope errors, later via the writer for writes). */
void dispatch_frame(Conn *c, const char *frame, size_t size);

/* Appends the reply of a finished write to its connection's output. */
struct WriteOp;
void dispatch_write_reply(Conn *c, const struct WriteOp *op);

/* The text of a failure for the wire: err->message or one derived from r. */
const char *rpc_err_message(int r, const RpcErr *err);
