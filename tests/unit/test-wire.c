/* test-wire.c: typed readers, the params table parser (required, unknown,
 * duplicate, mistyped keys and the field each error names), string checks
 * (UTF-8, NUL, length), role and org records, and the UTF-8 helpers. */
#include <errno.h>
#include <msgpack.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/utf8.h"
#include "proto/wire-role.h"
#include "proto/wire.h"

#include "check.h"

static bool STREQ(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

/* A packed object and its decoding, built by the callers below. */
typedef struct Mp {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_unpacked u;
} Mp;

static msgpack_packer *mp_begin(Mp *m) {
        msgpack_sbuffer_init(&m->sb);
        msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
        msgpack_unpacked_init(&m->u);
        return &m->pk;
}

static const msgpack_object *mp_end(Mp *m) {
        size_t off = 0;
        if (msgpack_unpack_next(&m->u, m->sb.data, m->sb.size, &off) != MSGPACK_UNPACK_SUCCESS ||
            off != m->sb.size) {
                fprintf(stderr, "test bug: packed object does not decode\n");
                exit(1);
        }
        return &m->u.data;
}

static void mp_done(Mp *m) {
        msgpack_unpacked_destroy(&m->u);
        msgpack_sbuffer_destroy(&m->sb);
}

/* Decodes raw bytes. */
static const msgpack_object *mp_raw(Mp *m, const char *bytes, size_t n) {
        mp_begin(m);
        msgpack_sbuffer_write(&m->sb, bytes, n);
        return mp_end(m);
}

static void pack_s(msgpack_packer *pk, const char *s) {
        msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void test_utf8(void) {
        static const struct {
                const char *s;
                size_t n;
                size_t chars;
        } good[] = {
                { "", 0, 0 },
                { "abc", 3, 3 },
                { "a\0b", 3, 3 },                       /* NUL is valid UTF-8; wire.c rejects it */
                { "\xc2\x80", 2, 1 },                   /* U+0080 */
                { "\xc3\xa9", 2, 1 },                   /* é */
                { "\xdf\xbf", 2, 1 },                   /* U+07FF */
                { "\xe0\xa0\x80", 3, 1 },               /* U+0800 */
                { "\xe2\x82\xac", 3, 1 },               /* € */
                { "\xed\x9f\xbf", 3, 1 },               /* U+D7FF */
                { "\xee\x80\x80", 3, 1 },               /* U+E000 */
                { "\xef\xbf\xbf", 3, 1 },               /* U+FFFF */
                { "\xf0\x90\x80\x80", 4, 1 },           /* U+10000 */
                { "\xf0\x9d\x84\x9e", 4, 1 },           /* 𝄞 */
                { "\xf4\x8f\xbf\xbf", 4, 1 },           /* U+10FFFF */
                { "h\xc3\xa9llo \xe2\x82\xac\xf0\x9d\x84\x9e!", 15, 9 },
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                ASSERT(utf8_valid(good[i].s, good[i].n));
                ASSERT(utf8_length(good[i].s, good[i].n) == good[i].chars);
        }

        static const struct {
                const char *s;
                size_t n;
        } bad[] = {
                { "\x80", 1 },                          /* lone continuation */
                { "a\xbf", 2 },
                { "\xc0\x80", 2 },                      /* overlong NUL */
                { "\xc1\xbf", 2 },                      /* overlong */
                { "\xe0\x80\x80", 3 },                  /* overlong 3-byte */
                { "\xe0\x9f\xbf", 3 },                  /* overlong U+07FF */
                { "\xf0\x80\x80\x80", 4 },              /* overlong 4-byte */
                { "\xf0\x8f\xbf\xbf", 4 },              /* overlong U+FFFF */
                { "\xed\xa0\x80", 3 },                  /* U+D800 */
                { "\xed\xbf\xbf", 3 },                  /* U+DFFF */
                { "\xed\xa0\x80\xed\xb0\x80", 6 },      /* CESU-8 pair */
                { "\xf4\x90\x80\x80", 4 },              /* U+110000 */
                { "\xf5\x80\x80\x80", 4 },
                { "\xf7\xbf\xbf\xbf", 4 },
                { "\xf8\x88\x80\x80\x80", 5 },
                { "\xfe", 1 },
                { "\xff", 1 },
                { "\xc3", 1 },                          /* truncated */
                { "\xe2\x82", 2 },
                { "\xf0\x9d\x84", 3 },
                { "ab\xc3", 3 },
                { "\xc3\x41", 2 },                      /* bad continuation */
                { "\xe2\x41\xac", 3 },
                { "\xe2\x82\x41", 3 },
                { "\xf0\x9d\x41\x9e", 4 },
                { "\xf0\x9d\x84\x41", 4 },
                { "\xc3\xc3\xa9", 3 },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (utf8_valid(bad[i].s, bad[i].n))
                        fprintf(stderr, "utf8 bad case %zu accepted\n", i);
                ASSERT(!utf8_valid(bad[i].s, bad[i].n));
        }
        /* Only n bytes are looked at. */
        ASSERT(utf8_valid("\xc3\xa9\xff", 2));
        ASSERT(!utf8_valid("\xc3\xa9\xff", 3));
        ASSERT(utf8_length("\xc3\xa9\xc3\xa9", 2) == 1);
}

static void test_readers(void) {
        Mp m;
        const msgpack_object *o;
        char *s = NULL;
        uint64_t u = 0;
        bool b = false;

        /* mp_read_str */
        o = mp_raw(&m, "\xa3" "abc", 4);
        ASSERT(mp_read_str(o, &s) == 0 && STREQ(s, "abc"));
        free(s);
        s = NULL;
        mp_done(&m);
        o = mp_raw(&m, "\xd9\x04" "\xc3\xa9\xe2\x82", 6);         /* truncated € */
        ASSERT(mp_read_str(o, &s) == -EINVAL && !s);
        mp_done(&m);
        o = mp_raw(&m, "\xa3" "a\0b", 4);                        /* embedded NUL */
        ASSERT(mp_read_str(o, &s) == -EINVAL && !s);
        mp_done(&m);
        o = mp_raw(&m, "\xa2" "\xed\xa0", 3);
        ASSERT(mp_read_str(o, &s) == -EINVAL);
        mp_done(&m);
        o = mp_raw(&m, "\xc4\x01" "a", 3);                        /* bin is not str */
        ASSERT(mp_read_str(o, &s) == -EINVAL && !s);
        mp_done(&m);
        o = mp_raw(&m, "\x05", 1);
        ASSERT(mp_read_str(o, &s) == -EINVAL && !s);
        mp_done(&m);
        o = mp_raw(&m, "\xc0", 1);
        ASSERT(mp_read_str(o, &s) == -EINVAL && !s);
        mp_done(&m);
        o = mp_raw(&m, "\xa0", 1);                                /* empty is a string */
        ASSERT(mp_read_str(o, &s) == 0 && STREQ(s, ""));
        free(s);
        s = NULL;
        mp_done(&m);

        /* ROLE_TEXT_MAX bytes (in multi-byte characters too), and one more. */
        char *big = malloc(ROLE_TEXT_MAX + 1);
        ASSERT(big);
        memset(big, 'x', ROLE_TEXT_MAX + 1);
        mp_begin(&m);
        msgpack_pack_str_with_body(&m.pk, big, ROLE_TEXT_MAX);
        ASSERT(mp_read_str(mp_end(&m), &s) == 0 && strlen(s) == ROLE_TEXT_MAX);
        free(s);
        s = NULL;
        mp_done(&m);
        mp_begin(&m);
        msgpack_pack_str_with_body(&m.pk, big, ROLE_TEXT_MAX + 1);
        ASSERT(mp_read_str(mp_end(&m), &s) == -EINVAL && !s);
        mp_done(&m);
        for (size_t i = 0; i + 2 <= ROLE_TEXT_MAX; i += 2)
                memcpy(big + i, "\xc3\xa9", 2);
        mp_begin(&m);
        msgpack_pack_str_with_body(&m.pk, big, ROLE_TEXT_MAX);
        ASSERT(mp_read_str(mp_end(&m), &s) == 0 && utf8_length(s, strlen(s)) == ROLE_TEXT_MAX / 2);
        free(s);
        s = NULL;
        mp_done(&m);
        free(big);

        /* mp_read_u64 */
        o = mp_raw(&m, "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9);
        ASSERT(mp_read_u64(o, &u) == 0 && u == UINT64_MAX);
        mp_done(&m);
        o = mp_raw(&m, "\xd0\x05", 2);                            /* int8 5: msgpack-c says positive */
        ASSERT(mp_read_u64(o, &u) == 0 && u == 5);
        mp_done(&m);
        o = mp_raw(&m, "\x00", 1);
        ASSERT(mp_read_u64(o, &u) == 0 && u == 0);
        mp_done(&m);
        u = 77;
        o = mp_raw(&m, "\xff", 1);                                /* -1 */
        ASSERT(mp_read_u64(o, &u) == -EINVAL && u == 77);
        mp_done(&m);
        o = mp_raw(&m, "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 9); /* 1.0 */
        ASSERT(mp_read_u64(o, &u) == -EINVAL);
        mp_done(&m);
        o = mp_raw(&m, "\xa1" "1", 2);
        ASSERT(mp_read_u64(o, &u) == -EINVAL);
        mp_done(&m);
        o = mp_raw(&m, "\xc3", 1);
        ASSERT(mp_read_u64(o, &u) == -EINVAL);
        mp_done(&m);
        msgpack_object neg = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = 12 };
        ASSERT(mp_read_u64(&neg, &u) == 0 && u == 12);
        neg.via.i64 = -12;
        ASSERT(mp_read_u64(&neg, &u) == -EINVAL && u == 12);

        /* mp_read_bool */
        o = mp_raw(&m, "\xc3", 1);
        ASSERT(mp_read_bool(o, &b) == 0 && b);
        mp_done(&m);
        o = mp_raw(&m, "\xc2", 1);
        ASSERT(mp_read_bool(o, &b) == 0 && !b);
        mp_done(&m);
        b = true;
        o = mp_raw(&m, "\x00", 1);
        ASSERT(mp_read_bool(o, &b) == -EINVAL && b);
        mp_done(&m);
        o = mp_raw(&m, "\xa4" "true", 5);
        ASSERT(mp_read_bool(o, &b) == -EINVAL);
        mp_done(&m);
        o = mp_raw(&m, "\xc0", 1);
        ASSERT(mp_read_bool(o, &b) == -EINVAL);
        mp_done(&m);
}

static void test_strv(void) {
        Mp m;
        const msgpack_object *o;
        char **l = NULL;
        size_t n = 99;

        o = mp_raw(&m, "\x90", 1);
        ASSERT(mp_read_strv(o, &l, &n) == 0 && l && !l[0] && n == 0);
        strv_free(l);
        l = NULL;
        mp_done(&m);

        o = mp_raw(&m, "\x92\xa1" "a" "\xa2" "\xc3\xa9", 6);
        ASSERT(mp_read_strv(o, &l, &n) == 0 && n == 2);
        ASSERT(STREQ(l[0], "a") && STREQ(l[1], "\xc3\xa9") && !l[2]);
        strv_free(l);
        l = NULL;
        mp_done(&m);
        o = mp_raw(&m, "\x91\xa1" "a", 3);
        ASSERT(mp_read_strv(o, &l, NULL) == 0 && STREQ(l[0], "a") && !l[1]);      /* ret_n optional */
        strv_free(l);
        l = NULL;
        mp_done(&m);

        /* Bad elements: nothing returned, nothing leaked. */
        static const struct {
                const char *bytes;
                size_t n;
        } bad[] = {
                { "\x91\x01", 2 },
                { "\x92\xa1" "a" "\x01", 4 },
                { "\x92\xa1" "a" "\xa1" "\xff", 5 },
                { "\x92\xa1" "a" "\xa2" "b\0", 6 },
                { "\x92\xa1" "a" "\x90", 4 },
                { "\x92\xa1" "a" "\xc0", 4 },
                { "\xa1" "a", 2 },
                { "\x80", 1 },
                { "\xc0", 1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                o = mp_raw(&m, bad[i].bytes, bad[i].n);
                ASSERT(mp_read_strv(o, &l, &n) == -EINVAL && !l);
                mp_done(&m);
        }

        /* At most ROLE_PERMISSIONS_MAX entries. */
        mp_begin(&m);
        msgpack_pack_array(&m.pk, ROLE_PERMISSIONS_MAX);
        for (unsigned i = 0; i < ROLE_PERMISSIONS_MAX; i++)
                pack_s(&m.pk, "perm");
        ASSERT(mp_read_strv(mp_end(&m), &l, &n) == 0 && n == ROLE_PERMISSIONS_MAX);
        ASSERT(STREQ(l[ROLE_PERMISSIONS_MAX - 1], "perm") && !l[ROLE_PERMISSIONS_MAX]);
        strv_free(l);
        l = NULL;
        mp_done(&m);
        mp_begin(&m);
        msgpack_pack_array(&m.pk, ROLE_PERMISSIONS_MAX + 1);
        for (unsigned i = 0; i < ROLE_PERMISSIONS_MAX + 1; i++)
                pack_s(&m.pk, "perm");
        ASSERT(mp_read_strv(mp_end(&m), &l, &n) == -EINVAL && !l);
        mp_done(&m);
}

static void test_map_helpers(void) {
        Mp m;
        mp_begin(&m);
        msgpack_pack_map(&m.pk, 3);
        pack_s(&m.pk, "a");
        msgpack_pack_uint8(&m.pk, 1);
        msgpack_pack_uint8(&m.pk, 5);           /* non-str key */
        msgpack_pack_uint8(&m.pk, 2);
        pack_s(&m.pk, "abc");
        msgpack_pack_uint8(&m.pk, 3);
        const msgpack_object *o = mp_end(&m);

        ASSERT(mp_map_get(o, "a") && mp_map_get(o, "a")->via.u64 == 1);
        ASSERT(mp_map_get(o, "abc") && mp_map_get(o, "abc")->via.u64 == 3);
        ASSERT(!mp_map_get(o, "ab"));
        ASSERT(!mp_map_get(o, ""));
        ASSERT(!mp_map_get(&o->via.map.ptr[0].val, "a"));       /* not a map */
        ASSERT(!mp_map_get(NULL, "a"));
        ASSERT(mp_str_eq(&o->via.map.ptr[0].key, "a"));
        ASSERT(!mp_str_eq(&o->via.map.ptr[0].key, "ab"));
        ASSERT(!mp_str_eq(&o->via.map.ptr[0].key, ""));
        ASSERT(!mp_str_eq(&o->via.map.ptr[1].key, "5"));
        mp_done(&m);
}

typedef struct P {
        uint64_t org;
        char *name;
        char *description;
        bool flag;
        char **perms;
} P;

static const ParamField p_table[] = {
        { "org",         param_u64,  offsetof(P, org),         true },
        { "name",        param_str,  offsetof(P, name),        true },
        { "description", param_str,  offsetof(P, description), false },
        { "flag",        param_bool, offsetof(P, flag),        false },
        { "perms",       param_strv, offsetof(P, perms),       false },
        {0}
};

static const char *const p_ignore[] = { "auth", NULL };

static void p_done(P *p) {
        free(p->name);
        free(p->description);
        strv_free(p->perms);
        *p = (P) {0};
}

/* Parses the map packed from bytes; returns r and the field named. */
static int parse_raw(const char *bytes, size_t n, P *p, const char **field) {
        Mp m;
        const msgpack_object *o = mp_raw(&m, bytes, n);
        *p = (P) {0};
        *field = "unset";
        int r = params_parse(o, p_table, p, p_ignore, field);
        mp_done(&m);
        return r;
}

#define PARSE(lit, p, f) parse_raw(lit, sizeof(lit) - 1, p, f)

static void test_params(void) {
        P p = {0};
        const char *field = "unset";
        Mp m;

        /* Everything given. */
        ASSERT(PARSE("\x86"
                     "\xa3" "org" "\x07"
                     "\xa4" "name" "\xa5" "admin"
                     "\xa4" "auth" "\x81\xa7" "api_key" "\xa1" "k"
                     "\xab" "description" "\xa2" "\xc3\xa9"
                     "\xa4" "flag" "\xc3"
                     "\xa5" "perms" "\x92\xa1" "a" "\xa1" "b",
                     &p, &field) == 0);
        ASSERT(field == NULL);
        ASSERT(p.org == 7 && STREQ(p.name, "admin") && STREQ(p.description, "\xc3\xa9"));
        ASSERT(p.flag && STREQ(p.perms[0], "a") && STREQ(p.perms[1], "b") && !p.perms[2]);
        p_done(&p);

        /* Only the required ones: optional fields untouched. */
        ASSERT(PARSE("\x82\xa3" "org" "\x00" "\xa4" "name" "\xa1" "n", &p, &field) == 0);
        ASSERT(p.org == 0 && STREQ(p.name, "n") && !p.description && !p.flag && !p.perms);
        p_done(&p);

        /* Missing required keys, named in table order. */
        ASSERT(PARSE("\x81\xa4" "name" "\xa1" "n", &p, &field) == -EINVAL && STREQ(field, "org"));
        p_done(&p);
        ASSERT(PARSE("\x81\xa3" "org" "\x01", &p, &field) == -EINVAL && STREQ(field, "name"));
        p_done(&p);
        ASSERT(PARSE("\x80", &p, &field) == -EINVAL && STREQ(field, "org"));
        p_done(&p);
        field = "unset";
        ASSERT(params_parse(NULL, p_table, &p, NULL, &field) == -EINVAL && STREQ(field, "org"));
        p_done(&p);

        /* NULL map with nothing required is fine. */
        static const ParamField opt_table[] = {
                { "flag", param_bool, offsetof(P, flag), false },
                {0}
        };
        field = "unset";
        ASSERT(params_parse(NULL, opt_table, &p, NULL, &field) == 0 && field == NULL);
        static const ParamField empty_table[] = { {0} };
        ASSERT(params_parse(NULL, empty_table, &p, NULL, &field) == 0);
        {
                Mp e;
                const msgpack_object *o = mp_raw(&e, "\x80", 1);
                ASSERT(params_parse(o, empty_table, &p, NULL, &field) == 0);
                mp_done(&e);
        }

        /* Not a map. */
        ASSERT(PARSE("\x90", &p, &field) == -EINVAL && STREQ(field, "params"));
        p_done(&p);
        ASSERT(PARSE("\xc0", &p, &field) == -EINVAL && STREQ(field, "params"));
        p_done(&p);

        /* Unknown keys are named. */
        ASSERT(PARSE("\x83\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n" "\xa5" "bogus" "\x01",
                     &p, &field) == -EINVAL);
        ASSERT(STREQ(field, "bogus"));
        p_done(&p);
        ASSERT(PARSE("\x81\xa4" "Name" "\xa1" "n", &p, &field) == -EINVAL && STREQ(field, "Name"));
        p_done(&p);
        ASSERT(PARSE("\x81\xa2" "\xc3\xa9" "\x01", &p, &field) == -EINVAL && STREQ(field, "\xc3\xa9"));
        p_done(&p);
        /* ... cut to 64 bytes on a character boundary ... */
        {
                char key[100], want[65];
                memset(key, 'k', sizeof(key));
                memset(want, 'k', 64);
                want[64] = 0;
                mp_begin(&m);
                msgpack_pack_map(&m.pk, 1);
                msgpack_pack_str_with_body(&m.pk, key, sizeof(key));
                msgpack_pack_uint8(&m.pk, 1);
                ASSERT(params_parse(mp_end(&m), p_table, &p, NULL, &field) == -EINVAL);
                ASSERT(STREQ(field, want));
                mp_done(&m);

                memcpy(key + 63, "\xe2\x82\xac", 3);    /* € straddles byte 64 */
                want[63] = 0;
                mp_begin(&m);
                msgpack_pack_map(&m.pk, 1);
                msgpack_pack_str_with_body(&m.pk, key, sizeof(key));
                msgpack_pack_uint8(&m.pk, 1);
                ASSERT(params_parse(mp_end(&m), p_table, &p, NULL, &field) == -EINVAL);
                ASSERT(STREQ(field, want));
                mp_done(&m);
        }
        /* ... or reported as "params" when not clean text. */
        ASSERT(PARSE("\x81\xa2" "\xff\xfe" "\x01", &p, &field) == -EINVAL && STREQ(field, "params"));
        ASSERT(PARSE("\x81\xa2" "a\0" "\x01", &p, &field) == -EINVAL && STREQ(field, "params"));
        ASSERT(PARSE("\x81\xa0" "\x01", &p, &field) == -EINVAL && STREQ(field, "params"));
        /* A non-str key. */
        ASSERT(PARSE("\x81\x01\x01", &p, &field) == -EINVAL && STREQ(field, "params"));
        ASSERT(PARSE("\x81\xc4\x03" "org" "\x01", &p, &field) == -EINVAL && STREQ(field, "params"));

        /* Without an ignore list, "auth" is unknown. */
        {
                const msgpack_object *o = mp_raw(&m, "\x83\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n"
                                                 "\xa4" "auth" "\xc0", 19);
                ASSERT(params_parse(o, p_table, &p, NULL, &field) == -EINVAL && STREQ(field, "auth"));
                p_done(&p);
                ASSERT(params_parse(o, p_table, &p, p_ignore, &field) == 0);
                p_done(&p);
                mp_done(&m);
        }

        /* Duplicates, known or ignored, are named. */
        ASSERT(PARSE("\x83\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n" "\xa4" "name" "\xa1" "m",
                     &p, &field) == -EINVAL);
        ASSERT(STREQ(field, "name"));
        ASSERT(STREQ(p.name, "n"));             /* the first value stays; the caller frees */
        p_done(&p);
        ASSERT(PARSE("\x84\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n" "\xa4" "auth" "\xc0" "\xa4" "auth" "\xc0",
                     &p, &field) == -EINVAL);
        ASSERT(STREQ(field, "auth"));
        p_done(&p);
        ASSERT(PARSE("\x82\xa3" "org" "\x01" "\xa3" "org" "\x02", &p, &field) == -EINVAL && STREQ(field, "org"));
        p_done(&p);

        /* Values their parser rejects: the table's name. */
        static const struct {
                const char *what, *bytes;
                size_t n;
                const char *field;
        } wrong[] = {
#define W(what, lit, f) { what, lit, sizeof(lit) - 1, f }
                W("org str", "\x82\xa3" "org" "\xa1" "1" "\xa4" "name" "\xa1" "n", "org"),
                W("org negative", "\x82\xa3" "org" "\xff" "\xa4" "name" "\xa1" "n", "org"),
                W("org nil", "\x82\xa3" "org" "\xc0" "\xa4" "name" "\xa1" "n", "org"),
                W("name int", "\x82\xa3" "org" "\x01" "\xa4" "name" "\x05", "name"),
                W("name bad utf8", "\x82\xa3" "org" "\x01" "\xa4" "name" "\xa2" "\xc0\x80", "name"),
                W("name surrogate", "\x82\xa3" "org" "\x01" "\xa4" "name" "\xa3" "\xed\xb0\x80", "name"),
                W("name NUL", "\x82\xa3" "org" "\x01" "\xa4" "name" "\xa3" "a\0b", "name"),
                W("name bin", "\x82\xa3" "org" "\x01" "\xa4" "name" "\xc4\x01" "n", "name"),
                W("flag str", "\x83\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n" "\xa4" "flag" "\xa4" "true", "flag"),
                W("flag int", "\x83\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n" "\xa4" "flag" "\x01", "flag"),
                W("perms str", "\x83\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n" "\xa5" "perms" "\xa1" "a", "perms"),
                W("perms [1]", "\x83\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n" "\xa5" "perms" "\x91\x01", "perms"),
                W("perms NUL", "\x83\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n" "\xa5" "perms" "\x91\xa1" "\0", "perms"),
                W("description nil", "\x83\xa3" "org" "\x01" "\xa4" "name" "\xa1" "n" "\xab" "description" "\xc0", "description"),
#undef W
        };
        for (size_t i = 0; i < ELEMENTSOF(wrong); i++) {
                int r = parse_raw(wrong[i].bytes, wrong[i].n, &p, &field);
                if (r != -EINVAL || !STREQ(field, wrong[i].field))
                        fprintf(stderr, "case \"%s\": r=%d field=%s\n", wrong[i].what, r, field ? field : "(null)");
                ASSERT(r == -EINVAL);
                ASSERT(STREQ(field, wrong[i].field));
                p_done(&p);
        }

        /* At most RPC_PARAMS_MAX keys, whatever they are. */
        {
                char names[RPC_PARAMS_MAX + 1][8];
                const char *ignore[RPC_PARAMS_MAX + 2];
                for (unsigned i = 0; i <= RPC_PARAMS_MAX; i++) {
                        snprintf(names[i], sizeof(names[i]), "k%u", i);
                        ignore[i] = names[i];
                }
                ignore[RPC_PARAMS_MAX + 1] = NULL;

                for (unsigned count = RPC_PARAMS_MAX; count <= RPC_PARAMS_MAX + 1; count++) {
                        mp_begin(&m);
                        msgpack_pack_map(&m.pk, count);
                        for (unsigned i = 0; i < count; i++) {
                                pack_s(&m.pk, names[i]);
                                msgpack_pack_nil(&m.pk);
                        }
                        int r = params_parse(mp_end(&m), empty_table, &p, ignore, &field);
                        if (count == RPC_PARAMS_MAX)
                                ASSERT(r == 0);
                        else
                                ASSERT(r == -EINVAL && STREQ(field, "params"));
                        mp_done(&m);
                }
        }

        /* A NULL reterr_field is allowed. */
        ASSERT(params_parse(NULL, p_table, &p, NULL, NULL) == -EINVAL);
}

/* param_str and param_strv replace (and free) what dst already holds. */
static void test_param_replace(void) {
        Mp m;
        char *s = strdup("old");
        char **l = calloc(2, sizeof(char *));
        ASSERT(s && l);
        l[0] = strdup("old");

        const msgpack_object *o = mp_raw(&m, "\xa3" "new", 4);
        ASSERT(param_str(o, &s) == 0 && STREQ(s, "new"));
        mp_done(&m);
        o = mp_raw(&m, "\x01", 1);
        ASSERT(param_str(o, &s) == -EINVAL && STREQ(s, "new"));
        mp_done(&m);
        o = mp_raw(&m, "\x91\xa1" "x", 3);
        ASSERT(param_strv(o, &l) == 0 && STREQ(l[0], "x") && !l[1]);
        mp_done(&m);
        o = mp_raw(&m, "\x91\x01", 2);
        ASSERT(param_strv(o, &l) == -EINVAL && STREQ(l[0], "x"));
        mp_done(&m);

        uint64_t u = 0;
        bool b = false;
        o = mp_raw(&m, "\xcd\x01\x00", 3);
        ASSERT(param_u64(o, &u) == 0 && u == 256);
        ASSERT(param_bool(o, &b) == -EINVAL);
        mp_done(&m);

        free(s);
        strv_free(l);
}

static void test_packers(void) {
        Mp m;
        char *l[] = { "a", "\xc3\xa9", NULL };

        mp_begin(&m);
        msgpack_pack_map(&m.pk, 5);
        ASSERT(mp_pack_kv_str(&m.pk, "s", "v") == 0);
        ASSERT(mp_pack_kv_str(&m.pk, "nil", NULL) == 0);
        ASSERT(mp_pack_kv_u64(&m.pk, "u", UINT64_MAX) == 0);
        ASSERT(mp_pack_kv_bool(&m.pk, "b", true) == 0);
        ASSERT(mp_pack_strn(&m.pk, "lxx", 1) == 0);
        msgpack_pack_array(&m.pk, 3);
        ASSERT(mp_pack_strv(&m.pk, l) == 0);
        ASSERT(mp_pack_strv(&m.pk, NULL) == 0);
        ASSERT(mp_pack_raw(&m.pk, "\x92\x01\xa1" "z", 4) == 0);
        const msgpack_object *o = mp_end(&m);

        ASSERT(mp_str_eq(mp_map_get(o, "s"), "v"));
        ASSERT(mp_map_get(o, "nil")->type == MSGPACK_OBJECT_NIL);
        ASSERT(mp_map_get(o, "u")->via.u64 == UINT64_MAX);
        ASSERT(mp_map_get(o, "b")->type == MSGPACK_OBJECT_BOOLEAN && mp_map_get(o, "b")->via.boolean);
        const msgpack_object *a = mp_map_get(o, "l");
        ASSERT(a && a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 3);
        ASSERT(a->via.array.ptr[0].via.array.size == 2);
        ASSERT(mp_str_eq(&a->via.array.ptr[0].via.array.ptr[1], "\xc3\xa9"));
        ASSERT(a->via.array.ptr[1].type == MSGPACK_OBJECT_ARRAY && a->via.array.ptr[1].via.array.size == 0);
        ASSERT(a->via.array.ptr[2].via.array.size == 2);
        ASSERT(mp_str_eq(&a->via.array.ptr[2].via.array.ptr[1], "z"));
        mp_done(&m);
}

static Role sample_role(void) {
        Role r = {
                .id = strdup("r-0001"),
                .org = 42,
                .api_id = strdup("reviewer"),
                .name = strdup("R\xc3\xa9viewer"),
                .description = strdup("Reads reviews"),
                .scope = strdup("Users"),
                .permissions = calloc(3, sizeof(char *)),
                .mandatory2fa = true,
                .is_protected = false,
                .created_at = 1700000000000ull,
                .updated_at = 1700000000001ull,
                .revision = 77,
        };
        ASSERT(r.id && r.api_id && r.name && r.description && r.scope && r.permissions);
        r.permissions[0] = strdup("review_read");
        r.permissions[1] = strdup("business_edit");
        ASSERT(r.permissions[0] && r.permissions[1]);
        return r;
}

static bool role_is_zero(const Role *r) {
        return !r->id && !r->org && !r->api_id && !r->name && !r->description && !r->scope &&
                !r->permissions && !r->mandatory2fa && !r->is_protected && !r->created_at && !r->updated_at &&
                !r->revision;
}

static void test_role(void) {
        static const char *const keys[] = {
                "id", "org", "api_id", "name", "description", "scope", "permissions",
                "mandatory2fa", "protected", "created_at", "updated_at", "revision",
        };
        Role r = sample_role(), back;
        Mp m;

        mp_begin(&m);
        ASSERT(role_pack(&m.pk, &r) == 0);
        const msgpack_object *o = mp_end(&m);
        ASSERT(o->type == MSGPACK_OBJECT_MAP && o->via.map.size == ELEMENTSOF(keys));
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                ASSERT(mp_str_eq(&o->via.map.ptr[i].key, keys[i]));
        ASSERT(mp_map_get(o, "protected")->type == MSGPACK_OBJECT_BOOLEAN);

        memset(&back, 0x5a, sizeof(back));
        ASSERT(role_unpack(o, &back) == 0);
        ASSERT(STREQ(back.id, "r-0001") && back.org == 42 && STREQ(back.api_id, "reviewer"));
        ASSERT(STREQ(back.name, "R\xc3\xa9viewer") && STREQ(back.description, "Reads reviews"));
        ASSERT(STREQ(back.scope, "Users"));
        ASSERT(STREQ(back.permissions[0], "review_read") && STREQ(back.permissions[1], "business_edit"));
        ASSERT(!back.permissions[2]);
        ASSERT(back.mandatory2fa && !back.is_protected);
        ASSERT(back.created_at == 1700000000000ull && back.updated_at == 1700000000001ull);
        ASSERT(back.revision == 77);
        role_done(&back);
        ASSERT(role_is_zero(&back));
        role_done(&back);
        mp_done(&m);

        /* NULL description packs nil; NULL permissions packs []; both read back. */
        free(r.description);
        r.description = NULL;
        strv_free(r.permissions);
        r.permissions = NULL;
        r.is_protected = true;
        r.mandatory2fa = false;
        mp_begin(&m);
        ASSERT(role_pack(&m.pk, &r) == 0);
        o = mp_end(&m);
        ASSERT(mp_map_get(o, "description")->type == MSGPACK_OBJECT_NIL);
        ASSERT(mp_map_get(o, "permissions")->type == MSGPACK_OBJECT_ARRAY);
        ASSERT(mp_map_get(o, "permissions")->via.array.size == 0);
        ASSERT(role_unpack(o, &back) == 0);
        ASSERT(back.description == NULL);
        ASSERT(back.permissions && back.permissions[0] == NULL);
        ASSERT(back.is_protected && !back.mandatory2fa);
        role_done(&back);
        mp_done(&m);

        /* Unknown keys are ignored (forward compatible). */
        mp_begin(&m);
        msgpack_pack_map(&m.pk, 14);
        pack_s(&m.pk, "future");
        msgpack_pack_array(&m.pk, 1);
        msgpack_pack_nil(&m.pk);
        msgpack_pack_uint8(&m.pk, 5);
        msgpack_pack_uint8(&m.pk, 5);
        /* then the 12 known keys, in another order */
        ASSERT(mp_pack_kv_u64(&m.pk, "revision", 3) == 0);
        ASSERT(mp_pack_kv_u64(&m.pk, "updated_at", 2) == 0);
        ASSERT(mp_pack_kv_u64(&m.pk, "created_at", 1) == 0);
        ASSERT(mp_pack_kv_bool(&m.pk, "protected", false) == 0);
        ASSERT(mp_pack_kv_bool(&m.pk, "mandatory2fa", true) == 0);
        pack_s(&m.pk, "permissions");
        ASSERT(mp_pack_strv(&m.pk, NULL) == 0);
        ASSERT(mp_pack_kv_str(&m.pk, "scope", "Subscriptions") == 0);
        ASSERT(mp_pack_kv_str(&m.pk, "description", "d") == 0);
        ASSERT(mp_pack_kv_str(&m.pk, "name", "n") == 0);
        ASSERT(mp_pack_kv_str(&m.pk, "api_id", "a") == 0);
        ASSERT(mp_pack_kv_u64(&m.pk, "org", 0) == 0);
        ASSERT(mp_pack_kv_str(&m.pk, "id", "i") == 0);
        o = mp_end(&m);
        ASSERT(role_unpack(o, &back) == 0);
        ASSERT(STREQ(back.id, "i") && back.org == 0 && STREQ(back.scope, "Subscriptions"));
        ASSERT(STREQ(back.description, "d") && back.created_at == 1 && back.updated_at == 2);
        ASSERT(back.revision == 3);
        role_done(&back);
        mp_done(&m);

        /* Each key missing, or mistyped: -EINVAL, *ret zeroed, nothing leaked. */
        Role full = sample_role();
        for (size_t skip = 0; skip < ELEMENTSOF(keys); skip++)
                for (int mistype = 0; mistype < 2; mistype++) {
                        mp_begin(&m);
                        msgpack_sbuffer tmp;
                        msgpack_packer tpk;
                        msgpack_sbuffer_init(&tmp);
                        msgpack_packer_init(&tpk, &tmp, msgpack_sbuffer_write);
                        ASSERT(role_pack(&tpk, &full) == 0);
                        msgpack_unpacked tu;
                        msgpack_unpacked_init(&tu);
                        size_t off = 0;
                        ASSERT(msgpack_unpack_next(&tu, tmp.data, tmp.size, &off) == MSGPACK_UNPACK_SUCCESS);
                        /* Re-pack the map: without key `skip`, or with its value
                         * replaced by a value of the wrong type. */
                        const msgpack_object *src = &tu.data;
                        msgpack_pack_map(&m.pk, src->via.map.size - (mistype ? 0 : 1));
                        for (uint32_t i = 0; i < src->via.map.size; i++) {
                                if (i == skip && !mistype)
                                        continue;
                                msgpack_pack_object(&m.pk, src->via.map.ptr[i].key);
                                if (i == skip) {
                                        /* A float is wrong for every field. */
                                        msgpack_pack_double(&m.pk, 1.5);
                                } else
                                        msgpack_pack_object(&m.pk, src->via.map.ptr[i].val);
                        }
                        msgpack_unpacked_destroy(&tu);
                        msgpack_sbuffer_destroy(&tmp);

                        memset(&back, 0x5a, sizeof(back));
                        ASSERT(role_unpack(mp_end(&m), &back) == -EINVAL);
                        ASSERT(role_is_zero(&back));
                        mp_done(&m);
                }

        /* More mistyped values: a bad permission, bad text, duplicates, not a map. */
        static const struct {
                const char *key;
                const char *bytes;
                size_t n;
        } badval[] = {
                { "permissions", "\x92\xa1" "a" "\x01", 4 },
                { "permissions", "\xa1" "a", 2 },
                { "permissions", "\xc0", 1 },
                { "name", "\xa2" "\xc0\xaf", 3 },
                { "id", "\xa2" "a\0", 3 },
                { "org", "\xff", 1 },
                { "mandatory2fa", "\x01", 1 },
                { "protected", "\xc0", 1 },
                { "scope", "\xc0", 1 },
                { "description", "\x05", 1 },
                { "created_at", "\xa1" "1", 2 },
                { "revision", "\xd0\xff", 2 },
        };
        for (size_t k = 0; k < ELEMENTSOF(badval); k++) {
                msgpack_sbuffer tmp;
                msgpack_packer tpk;
                msgpack_unpacked tu;
                size_t off = 0;

                msgpack_sbuffer_init(&tmp);
                msgpack_packer_init(&tpk, &tmp, msgpack_sbuffer_write);
                ASSERT(role_pack(&tpk, &full) == 0);
                msgpack_unpacked_init(&tu);
                ASSERT(msgpack_unpack_next(&tu, tmp.data, tmp.size, &off) == MSGPACK_UNPACK_SUCCESS);

                mp_begin(&m);
                msgpack_pack_map(&m.pk, tu.data.via.map.size);
                for (uint32_t i = 0; i < tu.data.via.map.size; i++) {
                        msgpack_pack_object(&m.pk, tu.data.via.map.ptr[i].key);
                        if (mp_str_eq(&tu.data.via.map.ptr[i].key, badval[k].key))
                                ASSERT(mp_pack_raw(&m.pk, badval[k].bytes, badval[k].n) == 0);
                        else
                                msgpack_pack_object(&m.pk, tu.data.via.map.ptr[i].val);
                }
                msgpack_unpacked_destroy(&tu);
                msgpack_sbuffer_destroy(&tmp);

                memset(&back, 0x5a, sizeof(back));
                ASSERT(role_unpack(mp_end(&m), &back) == -EINVAL);
                ASSERT(role_is_zero(&back));
                mp_done(&m);
        }

        /* A known key twice. */
        mp_begin(&m);
        {
                msgpack_sbuffer tmp;
                msgpack_packer tpk;
                msgpack_unpacked tu;
                size_t off = 0;
                msgpack_sbuffer_init(&tmp);
                msgpack_packer_init(&tpk, &tmp, msgpack_sbuffer_write);
                ASSERT(role_pack(&tpk, &full) == 0);
                msgpack_unpacked_init(&tu);
                ASSERT(msgpack_unpack_next(&tu, tmp.data, tmp.size, &off) == MSGPACK_UNPACK_SUCCESS);
                msgpack_pack_map(&m.pk, tu.data.via.map.size + 1);
                for (uint32_t i = 0; i < tu.data.via.map.size; i++) {
                        msgpack_pack_object(&m.pk, tu.data.via.map.ptr[i].key);
                        msgpack_pack_object(&m.pk, tu.data.via.map.ptr[i].val);
                }
                ASSERT(mp_pack_kv_str(&m.pk, "name", "again") == 0);
                msgpack_unpacked_destroy(&tu);
                msgpack_sbuffer_destroy(&tmp);
        }
        memset(&back, 0x5a, sizeof(back));
        ASSERT(role_unpack(mp_end(&m), &back) == -EINVAL);
        ASSERT(role_is_zero(&back));
        mp_done(&m);

        o = mp_raw(&m, "\x90", 1);
        memset(&back, 0x5a, sizeof(back));
        ASSERT(role_unpack(o, &back) == -EINVAL && role_is_zero(&back));
        mp_done(&m);
        o = mp_raw(&m, "\x80", 1);
        ASSERT(role_unpack(o, &back) == -EINVAL && role_is_zero(&back));
        mp_done(&m);

        /* A role without its required strings is not packed at all. */
        free(full.id);
        full.id = NULL;
        mp_begin(&m);
        ASSERT(role_pack(&m.pk, &full) == -EINVAL);
        ASSERT(m.sb.size == 0);
        mp_done(&m);
        role_done(&full);
        role_done(&r);
        ASSERT(role_is_zero(&r));
        role_done(NULL);
}

static void test_org(void) {
        Org g = { .id = 9, .name = strdup("Acme"), .provider = strdup("partoo") }, back;
        Mp m;

        ASSERT(g.name && g.provider);
        mp_begin(&m);
        ASSERT(org_pack(&m.pk, &g) == 0);
        const msgpack_object *o = mp_end(&m);
        ASSERT(o->type == MSGPACK_OBJECT_MAP && o->via.map.size == 3);
        ASSERT(mp_str_eq(&o->via.map.ptr[0].key, "id"));
        ASSERT(mp_str_eq(&o->via.map.ptr[1].key, "name"));
        ASSERT(mp_str_eq(&o->via.map.ptr[2].key, "provider"));
        ASSERT(org_unpack(o, &back) == 0);
        ASSERT(back.id == 9 && STREQ(back.name, "Acme") && STREQ(back.provider, "partoo"));
        org_done(&back);
        ASSERT(!back.id && !back.name && !back.provider);
        mp_done(&m);

        org_done(&g);
        g.id = 1;
        mp_begin(&m);
        ASSERT(org_pack(&m.pk, &g) == 0);
        o = mp_end(&m);
        ASSERT(mp_map_get(o, "name")->type == MSGPACK_OBJECT_NIL);
        ASSERT(mp_map_get(o, "provider")->type == MSGPACK_OBJECT_NIL);
        ASSERT(org_unpack(o, &back) == 0);
        ASSERT(back.id == 1 && !back.name && !back.provider);
        org_done(&back);
        mp_done(&m);

        static const struct {
                const char *bytes;
                size_t n;
        } bad[] = {
#define B(lit) { lit, sizeof(lit) - 1 }
                B("\x83\xa2" "id" "\xa1" "1" "\xa4" "name" "\xc0" "\xa8" "provider" "\xc0"),
                B("\x83\xa2" "id" "\x01" "\xa4" "name" "\x01" "\xa8" "provider" "\xc0"),
                B("\x83\xa2" "id" "\x01" "\xa4" "name" "\xa1" "n" "\xa8" "provider" "\xa1" "\xff"),
                B("\x82\xa4" "name" "\xa1" "n" "\xa8" "provider" "\xa1" "p"),     /* no id */
                B("\x82\xa2" "id" "\x01" "\xa2" "id" "\x02"),                       /* id twice */
                B("\x82\xa2" "id" "\x01" "\xa4" "name" "\xa2" "a\0"),
                B("\x91\x01"),
#undef B
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                o = mp_raw(&m, bad[i].bytes, bad[i].n);
                memset(&back, 0x5a, sizeof(back));
                ASSERT(org_unpack(o, &back) == -EINVAL);
                ASSERT(!back.id && !back.name && !back.provider);
                mp_done(&m);
        }

        /* Unknown keys are ignored; absent name/provider read as nil. */
        o = mp_raw(&m, "\x82\xa2" "id" "\x05" "\xa5" "extra" "\xc3", 12);
        ASSERT(org_unpack(o, &back) == 0 && back.id == 5 && !back.name && !back.provider);
        org_done(&back);
        mp_done(&m);
        org_done(NULL);
}

/* mp_pack_map_extended: a map re-packed with room for more pairs, across
 * the fixmap/map16 boundary, keeps its pairs; anything else is refused. */
static void test_map_extended(void) {
        static const uint32_t sizes[] = { 0, 1, 14, 15, 16, 300 };
        Mp src, m;

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                mp_begin(&src);
                msgpack_pack_map(&src.pk, sizes[i]);
                for (uint32_t k = 0; k < sizes[i]; k++) {
                        char key[16];
                        snprintf(key, sizeof key, "k%u", k);
                        ASSERT(mp_pack_kv_u64(&src.pk, key, k) == 0);
                }
                mp_begin(&m);
                ASSERT(mp_pack_map_extended(&m.pk, src.sb.data, src.sb.size, 2) == 0);
                ASSERT(mp_pack_kv_u64(&m.pk, "revision", 9) == 0);
                ASSERT(mp_pack_kv_str(&m.pk, "x", "y") == 0);
                const msgpack_object *o = mp_end(&m);
                ASSERT(o->type == MSGPACK_OBJECT_MAP && o->via.map.size == sizes[i] + 2);
                for (uint32_t k = 0; k < sizes[i]; k++) {
                        char key[16];
                        snprintf(key, sizeof key, "k%u", k);
                        ASSERT(mp_map_get(o, key) && mp_map_get(o, key)->via.u64 == k);
                }
                ASSERT(mp_map_get(o, "revision")->via.u64 == 9);
                mp_done(&m);
                mp_done(&src);
        }
        mp_begin(&m);
        ASSERT(mp_pack_map_extended(&m.pk, "\x91\x01", 2, 1) == -EINVAL);
        ASSERT(mp_pack_map_extended(&m.pk, "", 0, 1) == -EINVAL);
        ASSERT(mp_pack_map_extended(&m.pk, "\xde\x00", 2, 1) == -EINVAL);
        ASSERT(mp_pack_map_extended(&m.pk, "\xdf\xff\xff\xff\xff", 5, 1) == -EINVAL);
        ASSERT(m.sb.size == 0);
        msgpack_sbuffer_destroy(&m.sb);
        msgpack_unpacked_destroy(&m.u);
}

int main(void) {
        test_utf8();
        test_map_extended();
        test_readers();
        test_strv();
        test_map_helpers();
        test_params();
        test_param_replace();
        test_packers();
        test_role();
        test_org();
        printf("test-wire: %u checks passed\n", checks);
        return 0;
}
