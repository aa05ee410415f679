/* test-rpc.c: the RPC envelope (round trips through rpc_pack_* and
 * rpc_decode, every envelope error and whether it can be addressed), the
 * error map, the errno <-> code mapping, and the Buf packer sink. */
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/limits.h"
#include "proto/rpc.h"

#include "check.h"

static bool str_is(const msgpack_object *o, const char *s) {
        return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
                memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key) {
        if (m->type != MSGPACK_OBJECT_MAP)
                return NULL;
        for (uint32_t i = 0; i < m->via.map.size; i++)
                if (str_is(&m->via.map.ptr[i].key, key))
                        return &m->via.map.ptr[i].val;
        return NULL;
}

/* Packs into b through buf_pack_write, as the daemon does. */
static void packer(msgpack_packer *pk, Buf *b) {
        msgpack_packer_init(pk, b, buf_pack_write);
}

static void test_request_round_trip(void) {
        Buf b = { .data = NULL };
        msgpack_packer pk;
        msgpack_unpacked u;
        RpcMessage m;
        const char *err = "unset";

        packer(&pk, &b);
        ASSERT(rpc_pack_request_begin(&pk, 42, "role.get") == 0);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "org", 3);
        msgpack_pack_uint64(&pk, 7);
        msgpack_pack_str_with_body(&pk, "name", 4);
        msgpack_pack_str_with_body(&pk, "admin", 5);
        ASSERT(!b.oom);

        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(buf_head(&b), buf_pending(&b), &u, &m, &err) == 0);
        ASSERT(m.type == RPC_REQUEST);
        ASSERT(m.has_msgid && m.msgid == 42);
        ASSERT(m.method_len == 8 && memcmp(m.method, "role.get", 8) == 0);
        /* The method points into the frame (msgpack-c does not copy). */
        ASSERT(m.method >= buf_head(&b) && m.method < buf_head(&b) + buf_pending(&b));
        ASSERT(m.params && m.params->type == MSGPACK_OBJECT_MAP && m.params->via.map.size == 2);
        ASSERT(map_get(m.params, "org")->via.u64 == 7);
        ASSERT(str_is(map_get(m.params, "name"), "admin"));
        ASSERT(!m.error && !m.result);
        msgpack_unpacked_destroy(&u);

        /* The largest msgid, and a method of exactly RPC_METHOD_MAX bytes. */
        char method[RPC_METHOD_MAX + 1];
        memset(method, 'm', RPC_METHOD_MAX);
        method[RPC_METHOD_MAX] = 0;
        buf_clear(&b);
        ASSERT(rpc_pack_request_begin(&pk, UINT32_MAX, method) == 0);
        msgpack_pack_map(&pk, 0);
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(buf_head(&b), buf_pending(&b), &u, &m, &err) == 0);
        ASSERT(m.has_msgid && m.msgid == UINT32_MAX);
        ASSERT(m.method_len == RPC_METHOD_MAX);
        ASSERT(m.params && m.params->type == MSGPACK_OBJECT_MAP && m.params->via.map.size == 0);
        msgpack_unpacked_destroy(&u);

        buf_done(&b);
        ASSERT(b.data == NULL && b.cap == 0);
}

static void test_response_round_trip(void) {
        Buf b = { .data = NULL };
        msgpack_packer pk;
        msgpack_unpacked u;
        RpcMessage m;
        const char *err;

        packer(&pk, &b);
        ASSERT(rpc_pack_result_begin(&pk, 7) == 0);
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str_with_body(&pk, "id", 2);
        msgpack_pack_uint64(&pk, 99);

        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(buf_head(&b), buf_pending(&b), &u, &m, &err) == 0);
        ASSERT(m.type == RPC_RESPONSE);
        ASSERT(m.has_msgid && m.msgid == 7);
        ASSERT(m.error && m.error->type == MSGPACK_OBJECT_NIL);
        ASSERT(m.result && m.result->type == MSGPACK_OBJECT_MAP);
        ASSERT(map_get(m.result, "id")->via.u64 == 99);
        ASSERT(!m.method && !m.params);
        msgpack_unpacked_destroy(&u);
        buf_done(&b);
}

static void test_notify(void) {
        msgpack_unpacked u;
        RpcMessage m;
        const char *err;

        /* [2, "ping", []] */
        static const char n1[] = "\x93\x02\xa4" "ping" "\x90";
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(n1, sizeof(n1) - 1, &u, &m, &err) == 0);
        ASSERT(m.type == RPC_NOTIFY && !m.has_msgid);
        ASSERT(m.method_len == 4 && memcmp(m.method, "ping", 4) == 0);
        ASSERT(m.params == NULL);
        msgpack_unpacked_destroy(&u);

        /* [2, "ping", [{"a": 1}]] */
        static const char n2[] = "\x93\x02\xa4" "ping" "\x91\x81\xa1" "a" "\x01";
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(n2, sizeof(n2) - 1, &u, &m, &err) == 0);
        ASSERT(m.type == RPC_NOTIFY);
        ASSERT(m.params && m.params->type == MSGPACK_OBJECT_MAP && m.params->via.map.size == 1);
        msgpack_unpacked_destroy(&u);

        /* The daemon's own: [2, "changes.event", [{"revision": 7}]], as
         * rpc_pack_notify_begin() and one value make it. */
        Buf b = {0};
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, buf_pack_write);
        ASSERT(rpc_pack_notify_begin(&pk, "changes.event") == 0);
        ASSERT(msgpack_pack_map(&pk, 1) == 0 && msgpack_pack_str_with_body(&pk, "revision", 8) == 0 &&
               msgpack_pack_uint64(&pk, 7) == 0);
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(buf_head(&b), buf_pending(&b), &u, &m, &err) == 0);
        ASSERT(m.type == RPC_NOTIFY && !m.has_msgid);
        ASSERT(m.method_len == 13 && memcmp(m.method, "changes.event", 13) == 0);
        ASSERT(m.params && map_get(m.params, "revision")->via.u64 == 7);
        msgpack_unpacked_destroy(&u);
        buf_done(&b);

        /* A request with [] params. */
        static const char r1[] = "\x94\x00\x05\xa1" "m" "\x90";
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(r1, sizeof(r1) - 1, &u, &m, &err) == 0);
        ASSERT(m.type == RPC_REQUEST && m.has_msgid && m.msgid == 5 && m.params == NULL);
        msgpack_unpacked_destroy(&u);
}

static void test_error_reply(void) {
        Buf b = { .data = NULL };
        msgpack_packer pk;
        msgpack_unpacked u;
        RpcMessage m;
        const char *err;

        packer(&pk, &b);
        ASSERT(rpc_pack_error(&pk, true, 9, RPC_DUPLICATE, "role exists", "name") == 0);
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(buf_head(&b), buf_pending(&b), &u, &m, &err) == 0);
        ASSERT(m.type == RPC_RESPONSE && m.has_msgid && m.msgid == 9);
        ASSERT(m.error->type == MSGPACK_OBJECT_MAP && m.error->via.map.size == 3);
        ASSERT(str_is(map_get(m.error, "code"), "duplicate"));
        ASSERT(str_is(map_get(m.error, "message"), "role exists"));
        ASSERT(str_is(map_get(m.error, "field"), "name"));
        ASSERT(m.result->type == MSGPACK_OBJECT_NIL);
        /* Key order: code, message, field. */
        ASSERT(str_is(&m.error->via.map.ptr[0].key, "code"));
        ASSERT(str_is(&m.error->via.map.ptr[1].key, "message"));
        ASSERT(str_is(&m.error->via.map.ptr[2].key, "field"));
        msgpack_unpacked_destroy(&u);

        /* No field, no msgid: [1, nil, {code, message}, nil]. */
        buf_clear(&b);
        ASSERT(rpc_pack_error(&pk, false, 1234, RPC_RESOURCE_EXHAUSTED, "frame too big", NULL) == 0);
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(buf_head(&b), buf_pending(&b), &u, &m, &err) == 0);
        ASSERT(u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size == 4);
        ASSERT(u.data.via.array.ptr[1].type == MSGPACK_OBJECT_NIL);
        ASSERT(m.type == RPC_RESPONSE && !m.has_msgid);
        ASSERT(m.error->via.map.size == 2);
        ASSERT(str_is(map_get(m.error, "code"), "resource_exhausted"));
        ASSERT(str_is(map_get(m.error, "message"), "frame too big"));
        ASSERT(map_get(m.error, "field") == NULL);
        msgpack_unpacked_destroy(&u);

        /* A NULL message falls back to the code's name. */
        buf_clear(&b);
        ASSERT(rpc_pack_error(&pk, true, 0, RPC_INTERNAL, NULL, NULL) == 0);
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(buf_head(&b), buf_pending(&b), &u, &m, &err) == 0);
        ASSERT(m.has_msgid && m.msgid == 0);
        ASSERT(str_is(map_get(m.error, "message"), "internal"));
        msgpack_unpacked_destroy(&u);

        /* Every code packs under its name. */
        for (RpcCode c = RPC_INVALID_ARGUMENT; c < _RPC_CODE_MAX; c++) {
                buf_clear(&b);
                ASSERT(rpc_pack_error(&pk, true, c, c, "x", NULL) == 0);
                msgpack_unpacked_init(&u);
                ASSERT(rpc_decode(buf_head(&b), buf_pending(&b), &u, &m, &err) == 0);
                const msgpack_object *code = map_get(m.error, "code");
                ASSERT(str_is(code, rpc_code_to_string(c)));
                ASSERT(rpc_code_from_string(code->via.str.ptr, code->via.str.size) == c);
                msgpack_unpacked_destroy(&u);
        }
        buf_done(&b);
}

typedef struct Bad {
        const char *what;
        const char *bytes;
        size_t len;
        int r;
        bool has_msgid;
        uint32_t msgid;
} Bad;

#define BAD(what, lit, r, has, id) { what, lit, sizeof(lit) - 1, r, has, id }

static void test_envelope_errors(void) {
        static const Bad bad[] = {
                BAD("empty frame", "", -EBADMSG, false, 0),
                BAD("0xc1", "\xc1", -EBADMSG, false, 0),
                BAD("truncated", "\x94\x00\x01", -EBADMSG, false, 0),
                BAD("trailing bytes", "\x94\x00\x01\xa1" "m" "\x90" "\x00", -EBADMSG, false, 0),
                BAD("not an array: map", "\x80", -EINVAL, false, 0),
                BAD("not an array: int", "\x01", -EINVAL, false, 0),
                BAD("not an array: str", "\xa1" "x", -EINVAL, false, 0),
                BAD("empty array", "\x90", -EINVAL, false, 0),
                BAD("type 3", "\x94\x03\x01\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("type -1", "\x94\xff\x01\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("type str", "\x94\xa1" "0" "\x01\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("type nil", "\x94\xc0\x01\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("request of 1", "\x91\x00", -EINVAL, false, 0),
                BAD("request of 3", "\x93\x00\x05\xa1" "m", -EINVAL, true, 5),
                BAD("request of 5", "\x95\x00\x06\xa1" "m" "\x90\xc0", -EINVAL, true, 6),
                BAD("request of 2", "\x92\x00\x07", -EINVAL, true, 7),
                BAD("msgid -1", "\x94\x00\xff\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("msgid int8 -128", "\x94\x00\xd0\x80\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("msgid 2^32", "\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("msgid 2^64-1", "\x94\x00\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("msgid str", "\x94\x00\xa1" "1" "\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("msgid nil in request", "\x94\x00\xc0\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("msgid float", "\x94\x00\xca\x3f\x80\x00\x00\xa1" "m" "\x90", -EINVAL, false, 0),
                BAD("method int", "\x94\x00\x08\x05\x90", -EINVAL, true, 8),
                BAD("method bin", "\x94\x00\x08\xc4\x01" "m" "\x90", -EINVAL, true, 8),
                BAD("method nil", "\x94\x00\x08\xc0\x90", -EINVAL, true, 8),
                BAD("method empty", "\x94\x00\x09\xa0\x90", -EINVAL, true, 9),
                BAD("method 65 bytes", "\x94\x00\x0a\xd9\x41"
                    "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm" "\x90",
                    -EINVAL, true, 10),
                BAD("params map", "\x94\x00\x0b\xa1" "m" "\x80", -EINVAL, true, 11),
                BAD("params nil", "\x94\x00\x0b\xa1" "m" "\xc0", -EINVAL, true, 11),
                BAD("params [1,2]", "\x94\x00\x0c\xa1" "m" "\x92\x01\x02", -EINVAL, true, 12),
                BAD("params [int]", "\x94\x00\x0d\xa1" "m" "\x91\x01", -EINVAL, true, 13),
                BAD("params [[]]", "\x94\x00\x0d\xa1" "m" "\x91\x90", -EINVAL, true, 13),
                BAD("params [{},{}]", "\x94\x00\x0e\xa1" "m" "\x92\x80\x80", -EINVAL, true, 14),
                BAD("notify of 2", "\x92\x02\xa1" "m", -EINVAL, false, 0),
                BAD("notify of 4", "\x94\x02\xa1" "m" "\x90\x90", -EINVAL, false, 0),
                BAD("notify method int", "\x93\x02\x01\x90", -EINVAL, false, 0),
                BAD("notify params [1]", "\x93\x02\xa1" "m" "\x91\x01", -EINVAL, false, 0),
                BAD("response of 3", "\x93\x01\x0f\xc0", -EINVAL, true, 15),
                BAD("response error str", "\x94\x01\x10\xa1" "e" "\xc0", -EINVAL, true, 16),
                BAD("response msgid -5", "\x94\x01\xfb\xc0\xc0", -EINVAL, false, 0),
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                msgpack_unpacked u;
                RpcMessage m;
                const char *err = NULL;

                msgpack_unpacked_init(&u);
                int r = rpc_decode(bad[i].bytes, bad[i].len, &u, &m, &err);
                if (r != bad[i].r || m.has_msgid != bad[i].has_msgid ||
                    (m.has_msgid && m.msgid != bad[i].msgid) || !err || !*err)
                        fprintf(stderr, "case \"%s\": r=%d has_msgid=%d msgid=%u err=%s\n",
                                bad[i].what, r, m.has_msgid, m.msgid, err ? err : "(null)");
                ASSERT(r == bad[i].r);
                ASSERT(m.has_msgid == bad[i].has_msgid);
                if (bad[i].has_msgid)
                        ASSERT(m.msgid == bad[i].msgid);
                ASSERT(err && *err);
                msgpack_unpacked_destroy(&u);
        }

        /* The "[] or [map]" rule has its own message. */
        msgpack_unpacked u;
        RpcMessage m;
        const char *err = NULL;
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode("\x94\x00\x0c\xa1" "m" "\x92\x01\x02", 8, &u, &m, &err) == -EINVAL);
        ASSERT(strcmp(err, "params must be [] or [map]") == 0);
        msgpack_unpacked_destroy(&u);

        /* A NULL reterr_message is allowed. */
        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode("\x80", 1, &u, &m, NULL) == -EINVAL);
        msgpack_unpacked_destroy(&u);
}

static void test_errno_mapping(void) {
        static const struct {
                int e;
                RpcCode c;
        } map[] = {
                { EINVAL, RPC_INVALID_ARGUMENT }, { EBADMSG, RPC_INVALID_ARGUMENT },
                { EPROTO, RPC_INVALID_ARGUMENT }, { EILSEQ, RPC_INVALID_ARGUMENT },
                { EDOM, RPC_INVALID_ARGUMENT }, { ERANGE, RPC_INVALID_ARGUMENT },
                { ENOTUNIQ, RPC_INVALID_ARGUMENT },
                { EEXIST, RPC_DUPLICATE },
                { ENOENT, RPC_NOT_FOUND }, { ENOSYS, RPC_NOT_FOUND }, { ENXIO, RPC_NOT_FOUND },
                { EPERM, RPC_PERMISSION_DENIED }, { EACCES, RPC_PERMISSION_DENIED },
                { EKEYREJECTED, RPC_UNAUTHENTICATED }, { ENOKEY, RPC_UNAUTHENTICATED },
                { ENOSPC, RPC_RESOURCE_EXHAUSTED }, { EMSGSIZE, RPC_RESOURCE_EXHAUSTED },
                { E2BIG, RPC_RESOURCE_EXHAUSTED }, { ENOBUFS, RPC_RESOURCE_EXHAUSTED },
                { ENOMEM, RPC_RESOURCE_EXHAUSTED }, { EMFILE, RPC_RESOURCE_EXHAUSTED },
                { ENFILE, RPC_RESOURCE_EXHAUSTED }, { EUSERS, RPC_RESOURCE_EXHAUSTED },
                { EDQUOT, RPC_RESOURCE_EXHAUSTED },
                { ESHUTDOWN, RPC_UNAVAILABLE }, { EAGAIN, RPC_UNAVAILABLE },
                { ECONNREFUSED, RPC_UNAVAILABLE }, { ENOTCONN, RPC_UNAVAILABLE },
                { ECONNRESET, RPC_UNAVAILABLE }, { ECONNABORTED, RPC_UNAVAILABLE },
                { EPIPE, RPC_UNAVAILABLE },
                { ETIMEDOUT, RPC_UNAVAILABLE },
                { EIO, RPC_INTERNAL }, { EBADF, RPC_INTERNAL }, { EFAULT, RPC_INTERNAL },
                { ENOTDIR, RPC_INTERNAL }, { EXDEV, RPC_INTERNAL }, { 100000, RPC_INTERNAL },
                { EROFS, RPC_PROTECTED }, { ENOTEMPTY, RPC_IN_USE }, { ESTALE, RPC_CONFLICT },
                { EIDRM, RPC_COMPACTED },
        };
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
                if (rpc_code_from_errno(-map[i].e) != map[i].c)
                        fprintf(stderr, "errno %d: got %d, want %d\n", map[i].e,
                                rpc_code_from_errno(-map[i].e), map[i].c);
                ASSERT(rpc_code_from_errno(-map[i].e) == map[i].c);
        }
        ASSERT(rpc_code_from_errno(0) == RPC_OK);

        /* The client's inverse, and the round trip through both. */
        ASSERT(rpc_code_to_errno(RPC_OK) == 0);
        ASSERT(rpc_code_to_errno(RPC_INVALID_ARGUMENT) == -EINVAL);
        ASSERT(rpc_code_to_errno(RPC_DUPLICATE) == -EEXIST);
        ASSERT(rpc_code_to_errno(RPC_NOT_FOUND) == -ENOENT);
        ASSERT(rpc_code_to_errno(RPC_PERMISSION_DENIED) == -EACCES);
        ASSERT(rpc_code_to_errno(RPC_UNAUTHENTICATED) == -EKEYREJECTED);
        ASSERT(rpc_code_to_errno(RPC_RESOURCE_EXHAUSTED) == -ENOSPC);
        ASSERT(rpc_code_to_errno(RPC_UNAVAILABLE) == -ESHUTDOWN);
        ASSERT(rpc_code_to_errno(RPC_INTERNAL) == -EIO);
        ASSERT(rpc_code_to_errno(RPC_PROTECTED) == -EROFS);
        ASSERT(rpc_code_to_errno(RPC_IN_USE) == -ENOTEMPTY);
        ASSERT(rpc_code_to_errno(RPC_CONFLICT) == -ESTALE);
        ASSERT(rpc_code_to_errno(RPC_COMPACTED) == -EIDRM);
        ASSERT(rpc_code_to_errno(_RPC_CODE_MAX) == -EIO);
        for (RpcCode c = RPC_OK; c < _RPC_CODE_MAX; c++)
                ASSERT(rpc_code_from_errno(rpc_code_to_errno(c)) == c);
}

static void test_code_strings(void) {
        static const char *const names[] = {
                "ok", "invalid_argument", "duplicate", "not_found", "permission_denied",
                "unauthenticated", "resource_exhausted", "unavailable", "internal",
                "protected", "in_use", "conflict", "compacted",
        };
        ASSERT(sizeof(names) / sizeof(names[0]) == _RPC_CODE_MAX);
        for (RpcCode c = RPC_OK; c < _RPC_CODE_MAX; c++) {
                ASSERT(strcmp(rpc_code_to_string(c), names[c]) == 0);
                ASSERT(rpc_code_from_string(names[c], strlen(names[c])) == c);
        }
        ASSERT(strcmp(rpc_code_to_string(_RPC_CODE_MAX), "internal") == 0);
        ASSERT(strcmp(rpc_code_to_string((RpcCode) -1), "internal") == 0);
        /* Lengths are honoured: no NUL terminator needed, no prefix match. */
        ASSERT(rpc_code_from_string("duplicatexyz", 9) == RPC_DUPLICATE);
        ASSERT(rpc_code_from_string("duplicate", 8) == RPC_INTERNAL);
        ASSERT(rpc_code_from_string("not_found_", 10) == RPC_INTERNAL);
        ASSERT(rpc_code_from_string("", 0) == RPC_INTERNAL);
        ASSERT(rpc_code_from_string("NOT_FOUND", 9) == RPC_INTERNAL);
        ASSERT(rpc_code_from_string(NULL, 0) == RPC_INTERNAL);
}

static void test_buf(void) {
        Buf b = { .data = NULL };
        char chunk[1000];

        for (size_t i = 0; i < sizeof(chunk); i++)
                chunk[i] = (char) i;

        ASSERT(buf_append(&b, chunk, 0) == 0);
        ASSERT(buf_append(&b, chunk, 10) == 0);
        ASSERT(b.cap == 4096);
        ASSERT(buf_pending(&b) == 10 && memcmp(buf_head(&b), chunk, 10) == 0);

        /* Geometric growth. */
        for (int i = 0; i < 10; i++)
                ASSERT(buf_append(&b, chunk, sizeof(chunk)) == 0);
        ASSERT(buf_pending(&b) == 10010);
        ASSERT(b.cap == 16384);
        ASSERT(memcmp(b.data + 10 + 9 * sizeof(chunk), chunk, sizeof(chunk)) == 0);

        /* Consuming moves the head; everything consumed resets the buffer. */
        buf_consume(&b, 10);
        ASSERT(b.start == 10 && buf_pending(&b) == 10000);
        ASSERT(memcmp(buf_head(&b), chunk, sizeof(chunk)) == 0);
        buf_consume(&b, 9000);
        ASSERT(buf_pending(&b) == 1000);
        /* The next reserve that does not fit compacts instead of growing. */
        size_t cap = b.cap;
        char *p = buf_reserve(&b, cap - 1500);
        ASSERT(p && b.cap == cap && b.start == 0 && b.len == 1000);
        ASSERT(memcmp(buf_head(&b), chunk, sizeof(chunk)) == 0);
        buf_consume(&b, 5000);
        ASSERT(b.start == 0 && b.len == 0 && buf_pending(&b) == 0);

        /* A reserve that fits leaves the data in place. */
        ASSERT(buf_append(&b, "abc", 3) == 0);
        buf_consume(&b, 1);
        p = buf_reserve(&b, 10);
        ASSERT(p == b.data + 3 && b.start == 1);

        /* Impossible sizes fail cleanly and mark the buffer. */
        ASSERT(!b.oom);
        ASSERT(buf_reserve(&b, SIZE_MAX) == NULL);
        ASSERT(buf_append(&b, chunk, SIZE_MAX / 2 + 1) == -ENOMEM);
        ASSERT(b.oom);
        ASSERT(buf_pending(&b) == 2 && memcmp(buf_head(&b), "bc", 2) == 0);
        buf_clear(&b);
        ASSERT(!b.oom && buf_pending(&b) == 0);

        /* The msgpack sink. */
        ASSERT(buf_pack_write(&b, "xyz", 3) == 0);
        ASSERT(buf_pending(&b) == 3 && memcmp(buf_head(&b), "xyz", 3) == 0);
        ASSERT(buf_pack_write(&b, "xyz", SIZE_MAX / 2 + 1) == -1);

        buf_done(&b);
        ASSERT(!b.data && !b.len && !b.cap && !b.start && !b.oom);
        buf_done(&b);
}

int main(void) {
        test_request_round_trip();
        test_response_round_trip();
        test_notify();
        test_error_reply();
        test_envelope_errors();
        test_errno_mapping();
        test_code_strings();
        test_buf();
        printf("test-rpc: %u checks passed\n", checks);
        return 0;
}
