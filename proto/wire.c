/* wire.c: the table-driven params parser used by every method, on the
 * typed readers of mp.c (whose string checks every wire string goes
 * through: str type, valid UTF-8, no NUL, ROLE_TEXT_MAX). */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "macro.h"

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

        if (n == 0 || !mp_text_ok(p, n))
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
