/* mp.c: low-level MessagePack helpers (see mp.h). */
#include "mp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "macro.h"
#include "utf8.h"

const msgpack_object *mp_map_get(const msgpack_object *o, const char *key) {
        size_t n;

        if (!o || !key || o->type != MSGPACK_OBJECT_MAP)
                return NULL;
        n = strlen(key);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
                const msgpack_object *k = &o->via.map.ptr[i].key;
                if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
                    (n == 0 || memcmp(k->via.str.ptr, key, n) == 0))
                        return &o->via.map.ptr[i].val;
        }
        return NULL;
}

bool mp_str_eq(const msgpack_object *o, const char *s) {
        if (!o || !s || o->type != MSGPACK_OBJECT_STR)
                return false;
        size_t n = strlen(s);
        return o->via.str.size == n && (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}

bool mp_text_ok(const char *p, size_t n) {
        return n == 0 || (n <= ROLE_TEXT_MAX && !memchr(p, 0, n) && utf8_valid(p, n));
}

int mp_read_str(const msgpack_object *o, char **ret) {
        if (!o || o->type != MSGPACK_OBJECT_STR)
                return -EINVAL;
        if (!mp_text_ok(o->via.str.ptr, o->via.str.size))
                return -EINVAL;
        char *s = o->via.str.size == 0 ? strdup("") : strndup(o->via.str.ptr, o->via.str.size);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int mp_read_u64(const msgpack_object *o, uint64_t *ret) {
        if (!o)
                return -EINVAL;
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                *ret = o->via.u64;
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= 0)
                *ret = (uint64_t) o->via.i64;
        else
                return -EINVAL;
        return 0;
}

int mp_read_bool(const msgpack_object *o, bool *ret) {
        if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
                return -EINVAL;
        *ret = o->via.boolean;
        return 0;
}

int mp_read_strv(const msgpack_object *o, char ***ret, size_t *ret_n) {
        if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > ROLE_PERMISSIONS_MAX)
                return -EINVAL;

        size_t n = o->via.array.size;
        _cleanup_strv_free_ char **l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = mp_read_str(&o->via.array.ptr[i], &l[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        if (ret_n)
                *ret_n = n;
        return 0;
}

int mp_unpack_whole(const void *p, size_t n, msgpack_unpacked *u) {
        size_t off = 0;

        if (msgpack_unpack_next(u, p, n, &off) != MSGPACK_UNPACK_SUCCESS || off != n)
                return -EINVAL;
        return 0;
}

int mp_pack_strn(msgpack_packer *pk, const char *s, size_t n) {
        int r = msgpack_pack_str(pk, n);
        if (r < 0)
                return r;
        return msgpack_pack_str_body(pk, s, n);
}

int mp_pack_str(msgpack_packer *pk, const char *s) {
        if (!s)
                return msgpack_pack_nil(pk);
        return mp_pack_strn(pk, s, strlen(s));
}

int mp_pack_kv_str(msgpack_packer *pk, const char *key, const char *val) {
        int r = mp_pack_str(pk, key);
        if (r < 0)
                return r;
        return mp_pack_str(pk, val);
}

int mp_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v) {
        int r = mp_pack_str(pk, key);
        if (r < 0)
                return r;
        return msgpack_pack_uint64(pk, v);
}

int mp_pack_kv_bool(msgpack_packer *pk, const char *key, bool v) {
        int r = mp_pack_str(pk, key);
        if (r < 0)
                return r;
        return v ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

int mp_pack_strv(msgpack_packer *pk, char *const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        int r = msgpack_pack_array(pk, n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = mp_pack_str(pk, l[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int mp_pack_raw(msgpack_packer *pk, const void *p, size_t n) {
        if (n == 0)
                return 0;
        return pk->callback(pk->data, p, n);
}

int mp_pack_map_extended(msgpack_packer *pk, const void *p, size_t n, uint32_t extra) {
        const uint8_t *b = p;
        uint64_t count;
        size_t head;

        if (n >= 1 && (b[0] & 0xf0) == 0x80) {
                count = b[0] & 0x0f;
                head = 1;
        } else if (n >= 3 && b[0] == 0xde) {
                count = (uint32_t) b[1] << 8 | b[2];
                head = 3;
        } else if (n >= 5 && b[0] == 0xdf) {
                count = (uint32_t) b[1] << 24 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 8 | b[4];
                head = 5;
        } else
                return -EINVAL;
        if (count + extra > UINT32_MAX)
                return -EINVAL;
        if (msgpack_pack_map(pk, (size_t) (count + extra)) < 0 || mp_pack_raw(pk, b + head, n - head) < 0)
                return -ENOMEM;
        return 0;
}
