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

static unsigned checks;

#define ASSERT(x) do {                                                          \
                checks++;                                                       \
                if (!(x)) {                                                     \
                        fprintf(stderr, "%s:%d: %s: assertion failed: %s\n",    \
                                __FILE__, __LINE__, __func__, #x);              \
                        exit(1);                                                \
                }                                                               \
        } while (0)

#define STREQ(a, b) ((a) && (b) && strcmp((a), (b)) == 0)

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

        /* str */
        o = mp_raw(&m, "\xa3" "abc", 4);
        ASSERT(mp_read_str(o, &s) == 0 && STREQ(s, "abc"));
        s = mfree_test(s);
        mp_done(&m);
}
