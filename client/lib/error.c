/* error.c: how librolesd reports failures. Owns the code names, filling a
 * rolesd_error, the mapping of the daemon's error replies into one, and
 * the decoding of a reply into its result or its failure. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client/lib/conn.h"
#include "client/lib/internal.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire.h"

_Static_assert((int) ROLESD_OK == (int) RPC_OK, "codes");
_Static_assert((int) ROLESD_INVALID_ARGUMENT == (int) RPC_INVALID_ARGUMENT, "codes");
_Static_assert((int) ROLESD_DUPLICATE == (int) RPC_DUPLICATE, "codes");
_Static_assert((int) ROLESD_NOT_FOUND == (int) RPC_NOT_FOUND, "codes");
_Static_assert((int) ROLESD_PERMISSION_DENIED == (int) RPC_PERMISSION_DENIED, "codes");
_Static_assert((int) ROLESD_UNAUTHENTICATED == (int) RPC_UNAUTHENTICATED, "codes");
_Static_assert((int) ROLESD_RESOURCE_EXHAUSTED == (int) RPC_RESOURCE_EXHAUSTED, "codes");
_Static_assert((int) ROLESD_UNAVAILABLE == (int) RPC_UNAVAILABLE, "codes");
_Static_assert((int) ROLESD_INTERNAL == (int) RPC_INTERNAL, "codes");
_Static_assert((int) ROLESD_PROTECTED == (int) RPC_PROTECTED, "codes");
_Static_assert((int) ROLESD_IN_USE == (int) RPC_IN_USE, "codes");
_Static_assert((int) ROLESD_CONFLICT == (int) RPC_CONFLICT, "codes");
_Static_assert((int) ROLESD_COMPACTED == (int) RPC_COMPACTED, "codes");

const char *rolesd_code_name(rolesd_code code) {
        return rpc_code_to_string((RpcCode) code);
}

void error_clear(rolesd_error *err) {
        if (!err)
                return;
        err->code = ROLESD_OK;
        err->message[0] = '\0';
        err->field[0] = '\0';
}

int fail(rolesd_error *err, int r, rolesd_code code, const char *field, const char *fmt, ...) {
        if (err) {
                va_list ap;

                err->code = code;
                va_start(ap, fmt);
                vsnprintf(err->message, sizeof err->message, fmt, ap);
                va_end(ap);
                snprintf(err->field, sizeof err->field, "%s", field ? field : "");
        }
        return r;
}

int fail_oom(rolesd_error *err) {
        return fail(err, -ENOMEM, ROLESD_RESOURCE_EXHAUSTED, NULL, "out of memory");
}

int fail_copy(rolesd_error *err, int r, const rolesd_error *src) {
        if (err) {      /* err->size is the caller's */
                err->code = src->code;
                memcpy(err->message, src->message, sizeof err->message);
                memcpy(err->field, src->field, sizeof err->field);
        }
        return r;
}

/* Copies a wire string into a fixed buffer, stopping at NUL, truncating. */
static void copy_wire_str(char *dst, size_t size, const msgpack_object *o) {
        size_t n = 0;

        if (o && o->type == MSGPACK_OBJECT_STR) {
                n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
                memcpy(dst, o->via.str.ptr, n);
                dst[strnlen(dst, n)] = '\0';
                for (size_t i = 0; dst[i]; i++)         /* keep it one printable line */
                        if ((unsigned char) dst[i] < 0x20 || dst[i] == 0x7f)
                                dst[i] = ' ';
                return;
        }
        dst[0] = '\0';
}

/* The error map {code, message, field?} of a response. Its errno is the
 * code's (rpc_code_to_errno()), but for an unknown organization: -ENXIO,
 * so that it differs from an unknown role's -ENOENT. */
static int fail_wire(rolesd_error *err, const msgpack_object *e) {
        const msgpack_object *code;
        RpcCode c;

        if (e->type != MSGPACK_OBJECT_MAP)
                return fail(err, -EBADMSG, ROLESD_INTERNAL, NULL, "malformed error reply from rolesd");
        code = mp_map_get(e, "code");
        if (!code || code->type != MSGPACK_OBJECT_STR)
                return fail(err, -EBADMSG, ROLESD_INTERNAL, NULL, "error reply from rolesd without a code");
        c = rpc_code_from_string(code->via.str.ptr, code->via.str.size);
        if (c <= RPC_OK || c >= _RPC_CODE_MAX)
                c = RPC_INTERNAL;
        err->code = (rolesd_code) c;
        copy_wire_str(err->message, sizeof err->message, mp_map_get(e, "message"));
        if (err->message[0] == '\0')
                snprintf(err->message, sizeof err->message, "%s", rolesd_code_name(err->code));
        copy_wire_str(err->field, sizeof err->field, mp_map_get(e, "field"));
        if (c == RPC_NOT_FOUND && strcmp(err->field, "org") == 0)
                return -ENXIO;
        return rpc_code_to_errno(c);
}

/* Decodes the response once, keeping the outcome in r. */
static void reply_decode(rolesd_reply *r) {
        msgpack_unpacked *u = &r->conn->unpacked;
        RpcMessage m = { 0 };
        const char *why = NULL;
        int k;

        r->decoded = true;
        error_clear(&r->result_err);
        /* A zone sized to the frame, made once per connection and reused:
         * msgpack-c's default first chunk is 8 KiB, a malloc() large
         * enough to make glibc consolidate its free lists on every reply. */
        if (!u->zone) {
                u->zone = msgpack_zone_new(r->len < 1024 ? 4 * r->len + 256 : MSGPACK_ZONE_CHUNK_SIZE);
                if (!u->zone) {
                        r->result_r = fail_oom(&r->result_err);
                        return;
                }
        }
        k = rpc_decode(r->frame, r->len, u, &m, &why);
        if (k == -ENOMEM)
                r->result_r = fail_oom(&r->result_err);
        else if (k < 0 || m.type != RPC_RESPONSE)
                r->result_r = fail(&r->result_err, -EBADMSG, ROLESD_INTERNAL, NULL, "invalid reply from rolesd: %s",
                                   k < 0 ? (why ? why : "bad envelope") : "not a response");
        else if (m.error->type != MSGPACK_OBJECT_NIL)
                r->result_r = fail_wire(&r->result_err, m.error);
        else {
                r->result_r = 0;
                r->result = m.result;
        }
}

int reply_result(rolesd_reply *r, const msgpack_object **ret, rolesd_error *err) {
        if (!r->frame)
                return fail_copy(err, r->error, r->failure);
        if (!r->decoded)
                reply_decode(r);
        if (r->result_r < 0)
                return fail_copy(err, r->result_r, &r->result_err);
        error_clear(err);
        *ret = r->result;
        return 0;
}

int rolesd_reply_error(rolesd_reply *r, rolesd_error *err) {
        const msgpack_object *result;

        if (!r)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no reply");
        return reply_result(r, &result, err);
}

const char *rolesd_reply_method(const rolesd_reply *r) {
        return r ? r->call->method : NULL;
}

const char *reply_frame(const rolesd_reply *r, size_t *ret_len) {
        if (!r->frame)
                return NULL;
        *ret_len = r->len;
        return r->frame;
}
