/* dispatch.c: from a decoded frame to a reply. Validates the envelope,
 * finds the method in the table, and either runs a read inside a short
 * read transaction (one handle, renewed per read), packing the result
 * straight into the caller's output buffer, or parses a write's params
 * and queues it on the writer with the caller's completion and identity.
 * A read behind the caller's own pending writes is held back (the caller
 * gives it again once they completed). Every failure becomes one error
 * reply built here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire.h"

struct Dispatcher {
        HandlerCtx ctx;
        Writer *writer;
        MDB_txn *read_txn;              /* the loop's read transaction, reset between requests */
        msgpack_unpacked unpacked;      /* decoded frame; its zone is reused frame after frame */
        bool stopping;                  /* new requests get `unavailable` */
};

/* A queued write: the writer's op and what its reply needs. */
typedef struct DispatchWrite {
        WriteOp op;
        const Method *method;
        bool has_msgid, notify;
        uint32_t msgid;
} DispatchWrite;

static DispatchWrite *write_of(const WriteOp *op) {
        return (DispatchWrite *) ((char *) op - offsetof(DispatchWrite, op));
}

#define READ(m, f) { .name = m, .read = f##_read }
#define SESSION(m, f) { .name = m, .session = f##_session }
#define WRITE(m, f) { .name = m, .args = &f##_args, .apply = f##_apply }
#define ASIDE(m, f) { .name = m, .args = &f##_args, .apply = f##_apply, .aside = true }

static const Method methods[] = {
        WRITE("role.create", role_create),
        READ("role.get", role_get),
        READ("role.list", role_list),
        WRITE("role.update", role_update),
        WRITE("role.delete", role_delete),
        WRITE("role.duplicate", role_duplicate),
        READ("permission.catalog", permission_catalog),
        WRITE("member.add", member_add),
        WRITE("member.remove", member_remove),
        READ("member.list", member_list),
        READ("user.roles", user_roles),
        READ("access.check", access_check),
        READ("auth.check", auth_check),
        WRITE("org.add", org_add),
        READ("org.list", org_list),
        WRITE("key.add", key_add),
        READ("key.list", key_list),
        WRITE("key.revoke", key_revoke),
        WRITE("user.add", user_add),
        READ("user.list", user_list),
        WRITE("user.remove", user_remove),
        READ("server.status", server_status),
        READ("changes.list", changes_list),
        READ("role.sync", role_sync),
        SESSION("changes.watch", changes_watch),
        SESSION("changes.unwatch", changes_unwatch),
        ASIDE("db.backup", db_backup),
        READ("db.export", db_export),
        WRITE("db.import", db_import),
};

const Method *method_lookup(const char *name, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (strlen(methods[i].name) == len && memcmp(methods[i].name, name, len) == 0)
                        return &methods[i];
        return NULL;
}

const char *rpc_err_message(int r, const RpcErr *err) {
        const char *text = rpc_err_text(err);

        if (text)
                return text;
        switch (-r) {
        case EINVAL:       return err && err->field ? "invalid parameter" : "invalid request";
        case EEXIST:       return "already exists";
        case ENOENT:       return err && err->field && strcmp(err->field, "org") == 0 ? "no such organization" : "not found";
        case EACCES:
        case EPERM:        return "operation not allowed";
        case EKEYREJECTED: return "credential not recognized";
        case EROFS:        return "a built-in role, or the workspace's last admin, cannot be changed so";
        case ENOTEMPTY:    return "the role is held by users";
        case ESTALE:       return "if_revision no longer matches";
        case EIDRM:        return "that revision is older than the change log keeps";
        case ENOSPC:       return "the database is full";
        case ENOMEM:       return "out of memory";
        case ESHUTDOWN:    return "the server is shutting down";
        case EUCLEAN:      return "a stored record is corrupt";
        default:           return "internal error";
        }
}

static void reply_error(Buf *out, bool has_msgid, uint32_t msgid, int r, const RpcErr *err) {
        msgpack_packer pk;

        msgpack_packer_init(&pk, out, buf_pack_write);
        (void) rpc_pack_error(&pk, has_msgid, msgid, rpc_code_from_errno(r), rpc_err_message(r, err),
                              err ? err->field : NULL);
}

void dispatch_write_reply(const WriteOp *op, Buf *out) {
        const DispatchWrite *w = write_of(op);
        msgpack_packer pk;

        if (w->notify)
                return;
        msgpack_packer_init(&pk, out, buf_pack_write);
        if (op->r >= 0) {
                (void) rpc_pack_result_begin(&pk, w->msgid);
                (void) mp_pack_raw(&pk, buf_head(&op->result), buf_pending(&op->result));
        } else
                reply_error(out, w->has_msgid, w->msgid, op->r, &op->err);
}

void dispatch_write_free(WriteOp *op) {
        DispatchWrite *w;

        if (!op)
                return;
        w = write_of(op);
        args_free(w->method->args, op->args);
        buf_done(&op->result);
        free(w);
}

static void run_read(Dispatcher *d, const Method *method, const RpcMessage *msg, const DispatchCaller *caller) {
        Buf *out = caller->out;
        RpcErr err = {0};
        msgpack_packer pk;
        size_t mark = buf_pending(out);        /* relative: appends may compact the buffer */
        bool was_oom = out->oom;
        int r;

        r = store_read_renew(d->ctx.store, &d->read_txn);
        if (r >= 0) {
                msgpack_packer_init(&pk, out, buf_pack_write);
                (void) rpc_pack_result_begin(&pk, msg->msgid);
                if (method->read)
                        r = method->read(&d->ctx, d->read_txn, msg->params, &pk, &err);
                else
                        r = method->session(&d->ctx, d->read_txn, msg->params, &pk, &err, caller->session,
                                            msg->msgid);
                store_read_reset(d->ctx.store, d->read_txn);
        }
        if (r < 0) {
                if (rpc_code_from_errno(r) == RPC_INTERNAL)
                        log_warning_errno(r, "%s failed", method->name);
                out->len = out->start + mark;
                out->oom = was_oom;
                reply_error(out, true, msg->msgid, r, &err);
        }
}

static DispatchResult queue_write(Dispatcher *d, const Method *method, const RpcMessage *msg,
                                  const DispatchCaller *caller) {
        RpcErr err = {0};
        DispatchWrite *w;
        void *args = NULL;
        int r;

        r = args_parse(method->args, msg->params, &args, &err);
        if (r >= 0 && method->args->takes_fd)
                r = args_take_fd(method->args, args, caller->fd, &err);
        if (r < 0) {
                args_free(method->args, args);
                if (msg->type == RPC_REQUEST)
                        reply_error(caller->out, true, msg->msgid, r, &err);
                return DISPATCH_ANSWERED;
        }
        w = calloc(1, sizeof *w);
        if (!w) {
                args_free(method->args, args);
                if (msg->type == RPC_REQUEST)
                        reply_error(caller->out, true, msg->msgid, -ENOMEM, NULL);
                return DISPATCH_ANSWERED;
        }
        w->op = (WriteOp) { .apply = method->apply, .args = args, .peer = *caller->peer, .done = caller->done,
                            .userdata = caller->userdata };
        w->method = method;
        w->has_msgid = msg->type == RPC_REQUEST;
        w->notify = msg->type == RPC_NOTIFY;
        w->msgid = msg->msgid;
        if (method->aside)
                writer_submit_aside(d->writer, &w->op);
        else
                writer_submit(d->writer, &w->op);
        return DISPATCH_QUEUED;
}

DispatchResult dispatch_frame(Dispatcher *d, const char *frame, size_t size, const DispatchCaller *caller) {
        Buf *out = caller->out;
        RpcMessage msg = {0};
        const char *why = NULL;
        const Method *method;
        int r;

        r = rpc_decode(frame, size, &d->unpacked, &msg, &why);
        if (r < 0) {
                reply_error(out, msg.has_msgid, msg.msgid, -EINVAL, &(RpcErr) { .message = why });
                return DISPATCH_ANSWERED;
        }
        if (msg.type == RPC_RESPONSE) {
                log_debug("Ignoring a response frame from a client");
                return DISPATCH_ANSWERED;
        }

        method = method_lookup(msg.method, msg.method_len);
        if (!method) {
                if (msg.type == RPC_REQUEST)
                        reply_error(out, true, msg.msgid, -ENOSYS, &(RpcErr) { .message = "no such method" });
                return DISPATCH_ANSWERED;
        }
        if (d->stopping) {
                if (msg.type == RPC_REQUEST)
                        reply_error(out, true, msg.msgid, -ESHUTDOWN, NULL);
                return DISPATCH_ANSWERED;
        }

        if (method->read || method->session) {
                if (msg.type != RPC_REQUEST)    /* a read notification has no effect */
                        return DISPATCH_ANSWERED;
                /* Session consistency: a read sees every write its connection
                 * sent before it, so it waits for those still in flight. */
                if (caller->writes_pending)
                        return DISPATCH_HELD;
                run_read(d, method, &msg, caller);
                return DISPATCH_ANSWERED;
        }
        /* An aside write (a backup) reads the store too. */
        if (method->aside && caller->writes_pending)
                return DISPATCH_HELD;
        return queue_write(d, method, &msg, caller);
}

int dispatch_new(const HandlerCtx *ctx, Writer *w, Dispatcher **ret) {
        Dispatcher *d;

        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->ctx = *ctx;
        d->writer = w;
        msgpack_unpacked_init(&d->unpacked);
        d->unpacked.zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
        if (!d->unpacked.zone) {
                free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

Dispatcher *dispatch_free(Dispatcher *d) {
        if (!d)
                return NULL;
        if (d->read_txn)
                mdb_txn_abort(d->read_txn);
        msgpack_unpacked_destroy(&d->unpacked);
        free(d);
        return NULL;
}

void dispatch_stop(Dispatcher *d) {
        d->stopping = true;
}
