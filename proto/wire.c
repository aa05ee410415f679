/* wire.c: typed access to the maps carried in RPC params and results.
 * Owns the string checks every wire string goes through (str type, valid
 * UTF-8, no NUL, ROLE_TEXT_MAX), the table-driven params parser used by
 * every method, and small packing helpers. */
#include "wire.h"

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

/* A wire string acceptable as text: valid UTF-8, no NUL, bounded. */
static bool text_ok(const char *p, size_t n) {
        return n == 0 || (n <= ROLE_TEXT_MAX && !memchr(p, 0, n) && utf8_valid(p, n));
}

int mp_read_str(const msgpack_object *o, char **ret) {
        if (!o || o->type != MSGPACK_OBJECT_STR)
                return -EINVAL;
        if (!text_ok(o->via.str.ptr, o->via.str.size))
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

int param_str(const msgpack_object *o, void *dst) {
        char **p = dst, *s = NULL;
        int r = mp_read_str(o, &s);
        if (r < 0)
                return r;
        free(*p);
        *p = s;
        return 0;
}

int param_u64(const msgpack_object *o, void *dst) {
        return mp_read_u64(o, dst);
}

int param_bool(const msgpack_object *o, void *dst) {
        return mp_read_bool(o, dst);
}

int param_strv(const msgpack_object *o, void *dst) {
        char ***p = dst, **l = NULL;
        int r = mp_read_strv(o, &l, NULL);
        if (r < 0)
                return r;
        strv_free(*p);
        *p = l;
        return 0;
}

/* The name of an unknown key, for *reterr_field: a copy (cut at 64 bytes,
 * on a character boundary) valid until the next params_parse() on this
 * thread. Keys that are not clean text are reported as "params". */
static __thread char unknown_key[65];

static const char *unknown_name(const msgpack_object *k) {
        const char *p = k->via.str.ptr;
        size_t n = k->via.str.size;

        if (n == 0 || !text_ok(p, n))
                return "params";
        if (n > sizeof(unknown_key) - 1) {
                n = sizeof(unknown_key) - 1;
                while (n > 0 && ((unsigned char) p[n] & 0xc0) == 0x80)
                        n--;        /* p[n] starts the first character left out */
        }
        memcpy(unknown_key, p, n);
        unknown_key[n] = 0;
        return unknown_key;
}

static const ParamField *table_find(const ParamField table[], const msgpack_object *k) {
        for (const ParamField *f = table; f && f->name; f++)
                if (mp_str_eq(k, f->name))
                        return f;
        return NULL;
}

static const char *ignore_find(const char *const *ignore, const msgpack_object *k) {
        for (const char *const *i = ignore; i && *i; i++)
                if (mp_str_eq(k, *i))
                        return *i;
        return NULL;
}

static bool same_key(const msgpack_object *a, const msgpack_object *b) {
        return a->via.str.size == b->via.str.size &&
                (a->via.str.size == 0 || memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0);
}

static int fail_field(const char **reterr_field, const char *field) {
        if (reterr_field)
                *reterr_field = field;
        return -EINVAL;
}

int params_parse(const msgpack_object *map, const ParamField table[], void *dst,
                 const char *const *ignore, const char **reterr_field) {
        uint32_t n = 0;

        if (reterr_field)
                *reterr_field = NULL;

        if (map) {
                if (map->type != MSGPACK_OBJECT_MAP)
                        return fail_field(reterr_field, "params");
                n = map->via.map.size;
                if (n > RPC_PARAMS_MAX)
                        return fail_field(reterr_field, "params");
        }

        for (uint32_t i = 0; i < n; i++) {
                const msgpack_object *k = &map->via.map.ptr[i].key;
                const msgpack_object *v = &map->via.map.ptr[i].val;

                if (k->type != MSGPACK_OBJECT_STR)
                        return fail_field(reterr_field, "params");

                const ParamField *f = table_find(table, k);
                const char *ign = f ? NULL : ignore_find(ignore, k);
                const char *name = f ? f->name : ign;

                for (uint32_t j = 0; j < i; j++)
                        if (same_key(&map->via.map.ptr[j].key, k))
                                return fail_field(reterr_field, name ? name : unknown_name(k));

                if (!name)
                        return fail_field(reterr_field, unknown_name(k));
                if (!f)
                        continue;

                int r = f->parse(v, (char *) dst + f->offset);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return fail_field(reterr_field, f->name);
        }

        for (const ParamField *f = table; f && f->name; f++)
                if (f->required && !mp_map_get(map, f->name))
                        return fail_field(reterr_field, f->name);

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
