/* dispatch.c: from a decoded frame to a reply. Validates the envelope,
 * finds the method in the table, and either runs a read inside a short
 * read transaction, packing the result straight into the connection's
 * output buffer, or parses a write's params and queues it for the writer
 * thread. Every failure becomes one error reply built here. */
#include <errno.h>
#include <string.h>

#include "conn.h"
#include "dispatch.h"
#include "handlers.h"
#include "log.h"
#include "manager.h"
#include "writer.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire.h"

static const Method methods[] = {
        { .name = "role.create", .parse = role_create_parse, .apply = role_create_apply, .free_args = role_create_free },
        { .name = "role.get", .read = role_get_read },
        { .name = "role.list", .read = role_list_read },
        { .name = "permission.catalog", .read = permission_catalog_read },
        { .name = "org.add", .parse = org_add_parse, .apply = org_add_apply, .free_args = org_add_free },
        { .name = "key.add", .parse = key_add_parse, .apply = key_add_apply, .free_args = key_add_free },
        { .name = "user.add", .parse = user_add_parse, .apply = user_add_apply, .free_args = user_add_free },
        { .name = "server.status", .read = server_status_read },
        { .name = "auth.check", .read = auth_check_read },
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
        case ENOSPC:       return "the database is full";
        case ENOMEM:       return "out of memory";
        case ESHUTDOWN:    return "the server is shutting down";
        case EUCLEAN:      return "a stored record is corrupt";
        default:           return "internal error";
        }
}

static void reply_error(Conn *c, bool has_msgid, uint32_t msgid, int r, const RpcErr *err) {
        msgpack_packer pk;

        msgpack_packer_init(&pk, &c->out, buf_pack_write);
        (void) rpc_pack_error(&pk, has_msgid, msgid, rpc_code_from_errno(r), rpc_err_message(r, err),
                              err ? err->field : NULL);
}

void dispatch_write_reply(Conn *c, const WriteOp *op) {
        msgpack_packer pk;

        if (op->notify)
                return;
        msgpack_packer_init(&pk, &c->out, buf_pack_write);
        if (op->r >= 0) {
                (void) rpc_pack_result_begin(&pk, op->msgid);
                (void) mp_pack_raw(&pk, buf_head(&op->result), buf_pending(&op->result));
        } else
                reply_error(c, op->has_msgid, op->msgid, op->r, &op->err);
}

static void run_read(Conn *c, const Method *method, const RpcMessage *msg) {
        Manager *m = c->manager;
        RpcErr err = {0};
        msgpack_packer pk;
        MDB_txn *txn = NULL;
        size_t mark = buf_pending(&c->out);    /* relative: appends may compact the buffer */
        bool was_oom = c->out.oom;
        int r;

        r = store_read_renew(m->store, &m->read_txn);
        if (r >= 0) {
                txn = m->read_txn;
                msgpack_packer_init(&pk, &c->out, buf_pack_write);
                (void) rpc_pack_result_begin(&pk, msg->msgid);
                r = method->read(m, txn, msg->params, &pk, &err);
                store_read_reset(m->store, txn);
        }
        if (r < 0) {
                if (r != -ENOENT && r != -EINVAL && r != -EACCES && r != -EKEYREJECTED)
                        log_warning_errno(r, "%s failed", method->name);
                c->out.len = c->out.start + mark;
                c->out.oom = was_oom;
                reply_error(c, true, msg->msgid, r, &err);
        }
}

static void queue_write(Conn *c, const Method *method, const RpcMessage *msg) {
        Manager *m = c->manager;
        RpcErr err = {0};
        WriteOp *op;
        void *args = NULL;
        int r;

        r = method->parse(msg->params, &args, &err);
        if (r < 0) {
                if (msg->type == RPC_REQUEST)
                        reply_error(c, true, msg->msgid, r, &err);
                return;
        }
        op = calloc(1, sizeof *op);
        if (!op) {
                method->free_args(args);
                if (msg->type == RPC_REQUEST)
                        reply_error(c, true, msg->msgid, -ENOMEM, NULL);
                return;
        }
        op->method = method;
        op->args = args;
        op->conn = conn_ref(c);
        op->has_msgid = msg->type == RPC_REQUEST;
        op->notify = msg->type == RPC_NOTIFY;
        op->msgid = msg->msgid;
        c->inflight++;
        writer_submit(m->writer, op);
}

void dispatch_frame(Conn *c, const char *frame, size_t size) {
        msgpack_unpacked *u = &c->manager->unpacked;    /* zone reused frame after frame */
        RpcMessage msg = {0};
        const char *why = NULL;
        const Method *method;
        int r;

        r = rpc_decode(frame, size, u, &msg, &why);
        if (r < 0) {
                reply_error(c, msg.has_msgid, msg.msgid, -EINVAL, &(RpcErr) { .message = why });
                goto done;
        }
        if (msg.type == RPC_RESPONSE) {
                log_debug("Ignoring a response frame from pid %d", (int) c->pid);
                goto done;
        }

        method = method_lookup(msg.method, msg.method_len);
        if (!method) {
                if (msg.type == RPC_REQUEST)
                        reply_error(c, true, msg.msgid, -ENOSYS, &(RpcErr) { .message = "no such method" });
                goto done;
        }
        if (c->manager->stopping) {
                if (msg.type == RPC_REQUEST)
                        reply_error(c, true, msg.msgid, -ESHUTDOWN, NULL);
                goto done;
        }

        if (method->read) {
                if (msg.type == RPC_REQUEST)    /* a read notification has no effect */
                        run_read(c, method, &msg);
        } else
                queue_write(c, method, &msg);
done:
        return;
}
