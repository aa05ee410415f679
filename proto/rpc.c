/* rpc.c: the MessagePack-RPC envelope. Owns the decoding of one complete
 * frame into an RpcMessage (checking the envelope before any handler sees
 * it, and capturing the msgid early so errors can be addressed), the
 * encoding of requests, results and error replies, and the one mapping
 * between negative errno and the wire's error codes. */
#include "rpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "limits.h"

static const char *const code_names[_RPC_CODE_MAX] = {
        [RPC_OK]                 = "ok",
        [RPC_INVALID_ARGUMENT]   = "invalid_argument",
        [RPC_DUPLICATE]          = "duplicate",
        [RPC_NOT_FOUND]          = "not_found",
        [RPC_PERMISSION_DENIED]  = "permission_denied",
        [RPC_UNAUTHENTICATED]    = "unauthenticated",
        [RPC_RESOURCE_EXHAUSTED] = "resource_exhausted",
        [RPC_UNAVAILABLE]        = "unavailable",
        [RPC_INTERNAL]           = "internal",
        [RPC_PROTECTED]          = "protected",
        [RPC_IN_USE]             = "in_use",
        [RPC_CONFLICT]           = "conflict",
        [RPC_COMPACTED]          = "compacted",
};

const char *rpc_code_to_string(RpcCode c) {
        if ((unsigned) c >= _RPC_CODE_MAX)
                return code_names[RPC_INTERNAL];
        return code_names[c];
}

RpcCode rpc_code_from_string(const char *s, size_t n) {
        if (!s)
                return RPC_INTERNAL;
        for (unsigned i = 0; i < _RPC_CODE_MAX; i++)
                if (strlen(code_names[i]) == n && memcmp(code_names[i], s, n) == 0)
                        return (RpcCode) i;
        return RPC_INTERNAL;
}

RpcCode rpc_code_from_errno(int r) {
        if (r == 0)
                return RPC_OK;
        if (r < 0)
                r = -r;

        switch (r) {
        case EINVAL: case EBADMSG: case EPROTO: case EILSEQ: case EDOM: case ERANGE: case ENOTUNIQ:
                return RPC_INVALID_ARGUMENT;
        case EEXIST:
                return RPC_DUPLICATE;
        case ENOENT: case ENOSYS: case ENXIO:
                return RPC_NOT_FOUND;
        case EPERM: case EACCES:
                return RPC_PERMISSION_DENIED;
        case EKEYREJECTED: case ENOKEY:
                return RPC_UNAUTHENTICATED;
        case ENOSPC: case EMSGSIZE: case E2BIG: case ENOBUFS: case ENOMEM:
        case EMFILE: case ENFILE: case EUSERS: case EDQUOT:
                return RPC_RESOURCE_EXHAUSTED;
        case ESHUTDOWN: case EAGAIN: case ECONNREFUSED: case ENOTCONN:
        case ECONNRESET: case ECONNABORTED: case EPIPE: case ETIMEDOUT:
                return RPC_UNAVAILABLE;
        case EROFS:
                return RPC_PROTECTED;
        case ENOTEMPTY:
                return RPC_IN_USE;
        case ESTALE:
                return RPC_CONFLICT;
        case EIDRM:
                return RPC_COMPACTED;
        default:
                return RPC_INTERNAL;
        }
}

int rpc_code_to_errno(RpcCode c) {
        switch (c) {
        case RPC_OK:                 return 0;
        case RPC_INVALID_ARGUMENT:   return -EINVAL;
        case RPC_DUPLICATE:          return -EEXIST;
        case RPC_NOT_FOUND:          return -ENOENT;
        case RPC_PERMISSION_DENIED:  return -EACCES;
        case RPC_UNAUTHENTICATED:    return -EKEYREJECTED;
        case RPC_RESOURCE_EXHAUSTED: return -ENOSPC;
        case RPC_UNAVAILABLE:        return -ESHUTDOWN;
        case RPC_PROTECTED:          return -EROFS;
        case RPC_IN_USE:             return -ENOTEMPTY;
        case RPC_CONFLICT:           return -ESTALE;
        case RPC_COMPACTED:          return -EIDRM;
        default:                     return -EIO;
        }
}

static int fail(const char **reterr_message, int r, const char *message) {
        if (reterr_message)
                *reterr_message = message;
        return r;
}

static bool read_msgid(const msgpack_object *o, uint32_t *ret) {
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
                return false;
        *ret = (uint32_t) o->via.u64;
        return true;
}

static int read_method(const msgpack_object *o, RpcMessage *ret, const char **reterr_message) {
        if (o->type != MSGPACK_OBJECT_STR)
                return fail(reterr_message, -EINVAL, "method must be a string");
        if (o->via.str.size == 0)
                return fail(reterr_message, -EINVAL, "method is empty");
        if (o->via.str.size > RPC_METHOD_MAX)
                return fail(reterr_message, -EINVAL, "method name too long");
        ret->method = o->via.str.ptr;
        ret->method_len = o->via.str.size;
        return 0;
}

static int read_params(const msgpack_object *o, RpcMessage *ret, const char **reterr_message) {
        if (o->type != MSGPACK_OBJECT_ARRAY)
                return fail(reterr_message, -EINVAL, "params must be [] or [map]");
        if (o->via.array.size == 0) {
                ret->params = NULL;
                return 0;
        }
        if (o->via.array.size != 1 || o->via.array.ptr[0].type != MSGPACK_OBJECT_MAP)
                return fail(reterr_message, -EINVAL, "params must be [] or [map]");
        ret->params = &o->via.array.ptr[0];
        return 0;
}

int rpc_decode(const char *frame, size_t len, msgpack_unpacked *u, RpcMessage *ret,
               const char **reterr_message) {
        size_t off = 0;
        int r;

        *ret = (RpcMessage) { .type = RPC_REQUEST };
        if (reterr_message)
                *reterr_message = NULL;

        msgpack_unpack_return ur;
        if (u->zone) {
                /* The caller's zone is reused: cleared, not freed and allocated again. */
                msgpack_zone_clear(u->zone);
                ur = msgpack_unpack(frame, len, &off, u->zone, &u->data);
                if (ur == MSGPACK_UNPACK_EXTRA_BYTES)
                        ur = MSGPACK_UNPACK_SUCCESS;    /* caught as trailing bytes below */
        } else
                ur = msgpack_unpack_next(u, frame, len, &off);
        switch (ur) {
        case MSGPACK_UNPACK_SUCCESS:
                break;
        case MSGPACK_UNPACK_CONTINUE:
                return fail(reterr_message, -EBADMSG, "truncated message");
        case MSGPACK_UNPACK_NOMEM_ERROR:
                return fail(reterr_message, -ENOMEM, "out of memory decoding message");
        default:
                return fail(reterr_message, -EBADMSG, "message is not valid MessagePack");
        }
        if (off != len)
                return fail(reterr_message, -EBADMSG, "trailing bytes after message");

        const msgpack_object *o = &u->data;
        if (o->type != MSGPACK_OBJECT_ARRAY)
                return fail(reterr_message, -EINVAL, "message must be an array");
        const msgpack_object *e = o->via.array.ptr;
        uint32_t n = o->via.array.size;
        if (n == 0 || e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[0].via.u64 > RPC_NOTIFY)
                return fail(reterr_message, -EINVAL, "bad message type");
        ret->type = (RpcType) e[0].via.u64;

        if (ret->type == RPC_NOTIFY) {
                if (n != 3)
                        return fail(reterr_message, -EINVAL, "notification must have 3 elements");
                r = read_method(&e[1], ret, reterr_message);
                if (r < 0)
                        return r;
                return read_params(&e[2], ret, reterr_message);
        }

        /* Request or response: capture the msgid first, so that every
         * later error can be answered to it. An error response that could
         * not be addressed carries nil instead. */
        if (n >= 2 && ret->type == RPC_RESPONSE && e[1].type == MSGPACK_OBJECT_NIL)
                ret->has_msgid = false;
        else if (n < 2 || !read_msgid(&e[1], &ret->msgid))
                return fail(reterr_message, -EINVAL, "msgid must be an integer in 0..4294967295");
        else
                ret->has_msgid = true;

        if (ret->type == RPC_REQUEST) {
                if (n != 4)
                        return fail(reterr_message, -EINVAL, "request must have 4 elements");
                r = read_method(&e[2], ret, reterr_message);
                if (r < 0)
                        return r;
                return read_params(&e[3], ret, reterr_message);
        }

        if (n != 4)
                return fail(reterr_message, -EINVAL, "response must have 4 elements");
        if (e[2].type != MSGPACK_OBJECT_NIL && e[2].type != MSGPACK_OBJECT_MAP)
                return fail(reterr_message, -EINVAL, "error must be nil or a map");
        ret->error = &e[2];
        ret->result = &e[3];
        return 0;
}

static int pack_str(msgpack_packer *pk, const char *s) {
        size_t n = strlen(s);
        if (msgpack_pack_str(pk, n) < 0 || msgpack_pack_str_body(pk, s, n) < 0)
                return -ENOMEM;
        return 0;
}

int rpc_pack_request_begin(msgpack_packer *pk, uint32_t msgid, const char *method) {
        if (msgpack_pack_array(pk, 4) < 0 ||
            msgpack_pack_uint8(pk, RPC_REQUEST) < 0 ||
            msgpack_pack_uint32(pk, msgid) < 0 ||
            pack_str(pk, method) < 0 ||
            msgpack_pack_array(pk, 1) < 0)
                return -ENOMEM;
        return 0;
}

int rpc_pack_request_begin_fixed(msgpack_packer *pk, uint32_t msgid, const char *method) {
        const char id[5] = { (char) 0xce, (char) (msgid >> 24), (char) (msgid >> 16),
                             (char) (msgid >> 8), (char) msgid };

        if (msgpack_pack_array(pk, 4) < 0 ||
            msgpack_pack_uint8(pk, RPC_REQUEST) < 0 ||
            pk->callback(pk->data, id, sizeof id) < 0 ||
            pack_str(pk, method) < 0 ||
            msgpack_pack_array(pk, 1) < 0)
                return -ENOMEM;
        return 0;
}

bool rpc_frame_set_msgid(char *frame, size_t n, uint32_t msgid) {
        uint8_t *b = (uint8_t *) frame;

        if (n < 7 || b[0] != 0x94 || b[1] != RPC_REQUEST || b[2] != 0xce)
                return false;
        b[3] = (uint8_t) (msgid >> 24);
        b[4] = (uint8_t) (msgid >> 16);
        b[5] = (uint8_t) (msgid >> 8);
        b[6] = (uint8_t) msgid;
        return true;
}

bool rpc_frame_msgid(const char *frame, size_t n, unsigned type, uint32_t *ret) {
        const uint8_t *b = (const uint8_t *) frame;

        if (n < 3 || b[0] != 0x94 || b[1] != type)
                return false;
        if (b[2] <= 0x7f) {
                *ret = b[2];
                return true;
        }
        if (b[2] == 0xcc && n >= 4) {
                *ret = b[3];
                return true;
        }
        if (b[2] == 0xcd && n >= 5) {
                *ret = (uint32_t) b[3] << 8 | b[4];
                return true;
        }
        if (b[2] == 0xce && n >= 7) {
                *ret = (uint32_t) b[3] << 24 | (uint32_t) b[4] << 16 | (uint32_t) b[5] << 8 | b[6];
                return true;
        }
        return false;
}

int rpc_pack_notify_begin(msgpack_packer *pk, const char *method) {
        size_t n = strlen(method);

        if (msgpack_pack_array(pk, 3) < 0 ||
            msgpack_pack_uint8(pk, RPC_NOTIFY) < 0 ||
            msgpack_pack_str(pk, n) < 0 || msgpack_pack_str_body(pk, method, n) < 0 ||
            msgpack_pack_array(pk, 1) < 0)
                return -ENOMEM;
        return 0;
}

int rpc_pack_result_begin(msgpack_packer *pk, uint32_t msgid) {
        if (msgpack_pack_array(pk, 4) < 0 ||
            msgpack_pack_uint8(pk, RPC_RESPONSE) < 0 ||
            msgpack_pack_uint32(pk, msgid) < 0 ||
            msgpack_pack_nil(pk) < 0)
                return -ENOMEM;
        return 0;
}

int rpc_pack_error(msgpack_packer *pk, bool has_msgid, uint32_t msgid, RpcCode code,
                   const char *message, const char *field) {
        const char *c = rpc_code_to_string(code);

        if (msgpack_pack_array(pk, 4) < 0 ||
            msgpack_pack_uint8(pk, RPC_RESPONSE) < 0 ||
            (has_msgid ? msgpack_pack_uint32(pk, msgid) : msgpack_pack_nil(pk)) < 0 ||
            msgpack_pack_map(pk, field ? 3 : 2) < 0 ||
            pack_str(pk, "code") < 0 || pack_str(pk, c) < 0 ||
            pack_str(pk, "message") < 0 || pack_str(pk, message ? message : c) < 0)
                return -ENOMEM;
        if (field && (pack_str(pk, "field") < 0 || pack_str(pk, field) < 0))
                return -ENOMEM;
        if (msgpack_pack_nil(pk) < 0)
                return -ENOMEM;
        return 0;
}

int rpc_fail(RpcErr *err, int r, const char *field, const char *message) {
        err->field = field;
        err->message = message;
        err->text[0] = 0;
        return r;
}

int rpc_failf(RpcErr *err, int r, const char *field, const char *fmt, ...) {
        va_list ap;
        int n;

        err->field = field;
        err->message = NULL;
        va_start(ap, fmt);
        n = vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
        if (n < 0)
                err->text[0] = 0;
        else if ((size_t) n >= sizeof err->text) {
                /* Cut: drop a character the end split. */
                size_t k = sizeof err->text - 1, lead = k;
                while (lead > 0 && ((unsigned char) err->text[lead - 1] & 0xc0) == 0x80)
                        lead--;
                if (lead > 0 && ((unsigned char) err->text[lead - 1] & 0xc0) == 0xc0) {
                        unsigned char c = (unsigned char) err->text[lead - 1];
                        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
                        if (k - (lead - 1) < len)
                                k = lead - 1;
                }
                err->text[k] = 0;
        }
        return r;
}

const char *rpc_err_text(const RpcErr *err) {
        if (!err)
                return NULL;
        return err->text[0] ? err->text : err->message;
}
