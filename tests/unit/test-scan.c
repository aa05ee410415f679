/* test-scan.c: the frame scanner against every MessagePack type, split
 * feeds, back-to-back frames, the size and depth limits, malformed input,
 * and random bytes cross-checked with msgpack-c's own notion of sizes. */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "proto/scan.h"

#include "check.h"

/* Feeds buf[0..n) at once to a fresh scanner. */
static ScanResult scan_once(const void *buf, size_t n, size_t limit, unsigned depth, size_t *ret_size) {
        Scanner s;
        scanner_init(&s, limit, depth);
        return scanner_feed(&s, buf, n, ret_size);
}

/* Feeds a growing prefix: n = 1, 2, ..., len; returns the first result
 * that is not NEED_MORE and the prefix length at which it came. */
static ScanResult scan_bytewise(const void *buf, size_t len, size_t limit, unsigned depth,
                                size_t *ret_size, size_t *ret_at) {
        Scanner s;
        ScanResult r = SCAN_NEED_MORE;

        scanner_init(&s, limit, depth);
        *ret_at = 0;
        for (size_t n = 1; n <= len; n++) {
                r = scanner_feed(&s, buf, n, ret_size);
                if (r != SCAN_NEED_MORE) {
                        *ret_at = n;
                        return r;
                }
        }
        return r;
}

/* msgpack-c's size of the first object in buf, or its error. */
static msgpack_unpack_return mp_size(const void *buf, size_t n, size_t *ret_size) {
        msgpack_unpacked u;
        size_t off = 0;

        msgpack_unpacked_init(&u);
        msgpack_unpack_return r = msgpack_unpack_next(&u, buf, n, &off);
        msgpack_unpacked_destroy(&u);
        *ret_size = off;
        return r;
}

/* A valid object: complete at once, incomplete one byte short, complete
 * exactly at len when fed byte by byte, unaffected by trailing bytes, and
 * of the size msgpack-c finds. */
static void check_valid(const char *what, const void *obj, size_t len) {
        size_t size = 0, at = 0, mp = 0;
        unsigned char tail[512];

        if (len + 3 > sizeof(tail)) {
                fprintf(stderr, "%s: test object too large\n", what);
                exit(1);
        }

        ASSERT(scan_once(obj, len, RPC_FRAME_MAX, RPC_DEPTH_MAX, &size) == SCAN_COMPLETE);
        ASSERT(size == len);
        ASSERT(scan_once(obj, len - 1, RPC_FRAME_MAX, RPC_DEPTH_MAX, &size) == SCAN_NEED_MORE);

        size = 0;
        ASSERT(scan_bytewise(obj, len, RPC_FRAME_MAX, RPC_DEPTH_MAX, &size, &at) == SCAN_COMPLETE);
        ASSERT(at == len);
        ASSERT(size == len);

        memcpy(tail, obj, len);
        memcpy(tail + len, "\x01\xc1\x93", 3);
        ASSERT(scan_once(tail, len + 3, RPC_FRAME_MAX, RPC_DEPTH_MAX, &size) == SCAN_COMPLETE);
        ASSERT(size == len);

        /* An object exactly the limit in size fits; one byte less does not. */
        ASSERT(scan_once(obj, len, len, RPC_DEPTH_MAX, &size) == SCAN_COMPLETE);
        ASSERT(size == len);
        ASSERT(scan_once(obj, len, len - 1, RPC_DEPTH_MAX, &size) == SCAN_TOO_BIG);

        ASSERT(mp_size(obj, len, &mp) == MSGPACK_UNPACK_SUCCESS);
        ASSERT(mp == len);
}

#define VALID(name, lit) check_valid(name, lit, sizeof(lit) - 1)

static void test_types(void) {
        VALID("positive fixint", "\x05");
        VALID("positive fixint max", "\x7f");
        VALID("negative fixint", "\xe0");
        VALID("negative fixint -1", "\xff");
        VALID("nil", "\xc0");
        VALID("false", "\xc2");
        VALID("true", "\xc3");
        VALID("fixmap", "\x82\x01\x02\xa1" "a" "\xc0");
        VALID("fixmap empty", "\x80");
        VALID("fixarray", "\x93\x01\x02\x03");
        VALID("fixarray empty", "\x90");
        VALID("fixstr", "\xa3" "abc");
        VALID("fixstr empty", "\xa0");
        VALID("fixstr 31", "\xbf" "0123456789012345678901234567890");
        VALID("bin8", "\xc4\x03" "\x00\xc1\xff");
        VALID("bin16", "\xc5\x00\x02" "\xc1\xc1");
        VALID("bin32", "\xc6\x00\x00\x00\x01" "\xc1");
        VALID("ext8", "\xc7\x02\x05" "\xc1\x00");
        VALID("ext16", "\xc8\x00\x01\x05" "\xc1");
        VALID("ext32", "\xc9\x00\x00\x00\x01\x05" "\xc1");
        VALID("ext8 empty", "\xc7\x00\x05");
        VALID("float32", "\xca\x3f\x80\x00\x00");
        VALID("float64", "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00");
        VALID("uint8", "\xcc\xff");
        VALID("uint16", "\xcd\xff\xff");
        VALID("uint32", "\xce\xff\xff\xff\xff");
        VALID("uint64", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff");
        VALID("int8", "\xd0\x80");
        VALID("int16", "\xd1\x80\x00");
        VALID("int32", "\xd2\x80\x00\x00\x00");
        VALID("int64", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00");
        VALID("fixext1", "\xd4\x01" "\xc1");
        VALID("fixext2", "\xd5\x01" "\xc1\xc1");
        VALID("fixext4", "\xd6\x01" "\xc1\xc1\xc1\xc1");
        VALID("fixext8", "\xd7\xff" "\xc1\xc1\xc1\xc1\xc1\xc1\xc1\xc1");
        VALID("fixext16", "\xd8\x7f" "0123456789abcdef");
        VALID("str8", "\xd9\x03" "abc");
        VALID("str8 empty", "\xd9\x00");
        VALID("str16", "\xda\x00\x03" "abc");
        VALID("str32", "\xdb\x00\x00\x00\x03" "abc");
        VALID("array16", "\xdc\x00\x02" "\x01\x02");
        VALID("array16 empty", "\xdc\x00\x00");
        VALID("array32", "\xdd\x00\x00\x00\x02" "\x01\xa1" "x");
        VALID("map16", "\xde\x00\x01" "\x01\x02");
        VALID("map32", "\xdf\x00\x00\x00\x01" "\xa1" "k" "\x90");
        VALID("map32 empty", "\xdf\x00\x00\x00\x00");
        VALID("nested", "\x92\x81\xa1" "a" "\x92\x01\xa1" "x" "\xc4\x01\x00");
        VALID("nested empties", "\x93\x90\x80\x91\x90");
        VALID("container last", "\x92\x01\x92\x02\x92\x03\x90");
        VALID("rpc request", "\x94\x00\x01\xa8" "role.get" "\x91\x81\xa3" "org" "\x01");
}

/* A frame packed by msgpack-c with every kind of value, split everywhere. */
static void test_packed(void) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        size_t size, at;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 4);
        msgpack_pack_uint8(&pk, 0);
        msgpack_pack_uint32(&pk, 123456);
        msgpack_pack_str_with_body(&pk, "role.create", 11);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_map(&pk, 6);
        msgpack_pack_str_with_body(&pk, "org", 3);
        msgpack_pack_uint64(&pk, UINT64_MAX);
        msgpack_pack_str_with_body(&pk, "neg", 3);
        msgpack_pack_int64(&pk, INT64_MIN);
        msgpack_pack_str_with_body(&pk, "d", 1);
        msgpack_pack_double(&pk, 1.5);
        msgpack_pack_str_with_body(&pk, "bin", 3);
        msgpack_pack_bin_with_body(&pk, "\xc1\xc1\xc1", 3);
        msgpack_pack_str_with_body(&pk, "ext", 3);
        msgpack_pack_ext_with_body(&pk, "abcdefgh", 8, 7);
        msgpack_pack_str_with_body(&pk, "long", 4);
        char big[300];
        memset(big, 'x', sizeof(big));
        msgpack_pack_str_with_body(&pk, big, sizeof(big));

        check_valid("packed", sb.data, sb.size);
        ASSERT(scan_bytewise(sb.data, sb.size, sb.size, 4, &size, &at) == SCAN_COMPLETE);
        ASSERT(at == sb.size && size == sb.size);
        /* Depth 3 would be too shallow: array, params array, map. */
        ASSERT(scan_once(sb.data, sb.size, RPC_FRAME_MAX, 2, &size) == SCAN_TOO_DEEP);
        ASSERT(scan_once(sb.data, sb.size, RPC_FRAME_MAX, 3, &size) == SCAN_COMPLETE);
        msgpack_sbuffer_destroy(&sb);
}

static void test_back_to_back(void) {
        static const char two[] = "\x92\x01\xa2" "ab" "\x81\xa1" "k" "\xc3" "\x07";
        const size_t len_a = 5, len_b = 4, len_c = 1;
        Scanner s;
        size_t size = 0;

        scanner_init(&s, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        ASSERT(scanner_feed(&s, two, sizeof(two) - 1, &size) == SCAN_COMPLETE);
        ASSERT(size == len_a);
        ASSERT(scanner_feed(&s, two + len_a, sizeof(two) - 1 - len_a, &size) == SCAN_COMPLETE);
        ASSERT(size == len_b);
        ASSERT(scanner_feed(&s, two + len_a + len_b, len_c, &size) == SCAN_COMPLETE);
        ASSERT(size == len_c);
        ASSERT(scanner_feed(&s, two, 0, &size) == SCAN_NEED_MORE);

        /* The same stream arriving a byte at a time, as a connection would
         * see it: the buffer start moves to the next frame after each one. */
        const char *base = two;
        size_t avail = 0, frames = 0, total = sizeof(two) - 1;
        scanner_init(&s, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        for (size_t got = 1; got <= total; got++) {
                avail++;
                ScanResult r = scanner_feed(&s, base, avail, &size);
                ASSERT(r == SCAN_COMPLETE || r == SCAN_NEED_MORE);
                if (r == SCAN_COMPLETE) {
                        ASSERT(size == avail);
                        ASSERT(size == (frames == 0 ? len_a : frames == 1 ? len_b : len_c));
                        base += size;
                        avail -= size;
                        frames++;
                }
        }
        ASSERT(frames == 3);
}

static void test_limit(void) {
        unsigned char buf[300];
        size_t size, at;

        /* str8 of 98 bytes: 100 bytes in all. */
        buf[0] = 0xd9;
        buf[1] = 98;
        memset(buf + 2, 'a', 99);
        ASSERT(scan_once(buf, 100, 100, 1, &size) == SCAN_COMPLETE && size == 100);
        ASSERT(scan_bytewise(buf, 100, 100, 1, &size, &at) == SCAN_COMPLETE && at == 100 && size == 100);
        /* One byte more: known from the header alone. */
        buf[1] = 99;
        ASSERT(scan_once(buf, 2, 100, 1, &size) == SCAN_TOO_BIG);
        ASSERT(scan_once(buf, 1, 100, 1, &size) == SCAN_NEED_MORE);

        /* array16 of 97 fixints: 100 bytes; 98 elements cannot fit. */
        buf[0] = 0xdc;
        buf[1] = 0;
        buf[2] = 97;
        memset(buf + 3, 0x01, 200);
        ASSERT(scan_bytewise(buf, 100, 100, 1, &size, &at) == SCAN_COMPLETE && at == 100 && size == 100);
        buf[2] = 98;
        ASSERT(scan_bytewise(buf, 101, 100, 1, &size, &at) == SCAN_TOO_BIG && at == 3);

        /* [str8 of 95, 1]: 1 + 97 + 1 = 99; the declared lengths alone do
         * not exceed 100, but [str8 of 95, int16] (102 bytes) does once the
         * int16 header is seen. */
        buf[0] = 0x92;
        buf[1] = 0xd9;
        buf[2] = 95;
        memset(buf + 3, 'b', 95);
        buf[98] = 0x01;
        ASSERT(scan_bytewise(buf, 99, 100, 2, &size, &at) == SCAN_COMPLETE && at == 99 && size == 99);
        buf[98] = 0xd1;
        buf[99] = 0;
        buf[100] = 0;
        ASSERT(scan_once(buf, 98, 100, 2, &size) == SCAN_NEED_MORE);
        ASSERT(scan_once(buf, 99, 100, 2, &size) == SCAN_TOO_BIG);
        buf[98] = 0xcc;  /* uint8: exactly 100 */
        ASSERT(scan_bytewise(buf, 100, 100, 2, &size, &at) == SCAN_COMPLETE && at == 100 && size == 100);
        ASSERT(scan_once(buf, 100, 99, 2, &size) == SCAN_TOO_BIG);

        /* A map entry needs two bytes: map16 of 49 pairs fits 3 + 98 = 101. */
        buf[0] = 0xde;
        buf[1] = 0;
        buf[2] = 49;
        memset(buf + 3, 0x01, 98);
        ASSERT(scan_once(buf, 101, 101, 1, &size) == SCAN_COMPLETE && size == 101);
        ASSERT(scan_once(buf, 3, 100, 1, &size) == SCAN_TOO_BIG);

        /* Huge declared counts and lengths are refused from the header. */
        static const struct {
                const char *bytes;
                size_t need;
        } huge[] = {
                { "\xdd\xff\xff\xff\xff", 5 },  /* array32 of 4294967295 */
                { "\xdf\xff\xff\xff\xff", 5 },  /* map32 */
                { "\xdb\x80\x00\x00\x00", 5 },  /* str32 of 2 GiB */
                { "\xc6\x80\x00\x00\x00", 5 },  /* bin32 */
                { "\xc9\x80\x00\x00\x00", 5 },  /* ext32 */
                { "\xde\xff\xff", 3 },          /* map16 of 65535: 131070 bytes > 100000 */
        };
        for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
                ASSERT(scan_once(huge[i].bytes, huge[i].need - 1, 100000, RPC_DEPTH_MAX, &size) == SCAN_NEED_MORE);
                ASSERT(scan_once(huge[i].bytes, huge[i].need, 100000, RPC_DEPTH_MAX, &size) == SCAN_TOO_BIG);
                ASSERT(scan_bytewise(huge[i].bytes, huge[i].need, 100000, RPC_DEPTH_MAX, &size, &at) == SCAN_TOO_BIG);
                ASSERT(at == huge[i].need);
        }
        ASSERT(scan_bytewise("\xdd\xff\xff\xff\xff", 5, RPC_FRAME_MAX, RPC_DEPTH_MAX, &size, &at) == SCAN_TOO_BIG && at == 5);
        ASSERT(scan_bytewise("\xdb\x80\x00\x00\x00", 5, RPC_FRAME_MAX, RPC_DEPTH_MAX, &size, &at) == SCAN_TOO_BIG && at == 5);
        ASSERT(scan_once("\x91\xdd\xff\xff\xff\xff", 6, RPC_FRAME_MAX, RPC_DEPTH_MAX, &size) == SCAN_TOO_BIG);

        /* Nested: the inner count is checked against what the outer still needs. */
        ASSERT(scan_once("\x92\xdc\x00\x62", 4, 100, 4, &size) == SCAN_TOO_BIG);     /* 1+3+98+1 = 103 */
        ASSERT(scan_once("\x92\xdc\x00\x5f", 4, 100, 4, &size) == SCAN_NEED_MORE);   /* 1+3+95+1 = 100 */

        /* A large payload is skipped, not rescanned: after its header the
         * scanner is already past it. */
        Scanner s;
        scanner_init(&s, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        ASSERT(scanner_feed(&s, "\xdb\x00\x01\x00\x00", 5, &size) == SCAN_NEED_MORE);
        ASSERT(s.pos == 5 + 65536);
        ASSERT(s.min_bytes == 0);
}

static size_t nest(unsigned char *buf, unsigned levels, unsigned char open, unsigned char leaf) {
        size_t n = 0;
        for (unsigned i = 0; i < levels; i++) {
                buf[n++] = open;
                if ((open & 0xf0) == 0x80)
                        buf[n++] = 0x01;        /* map key */
        }
        buf[n++] = leaf;
        return n;
}

static void test_depth(void) {
        unsigned char buf[200];
        size_t size, at, n;

        for (unsigned limit = 0; limit <= SCAN_DEPTH_CAP; limit++) {
                /* limit nested arrays around a fixint: fine; one more: too deep. */
                n = nest(buf, limit, 0x91, 0x05);
                ASSERT(scan_once(buf, n, RPC_FRAME_MAX, limit, &size) == SCAN_COMPLETE && size == n);
                n = nest(buf, limit + 1, 0x91, 0x05);
                ASSERT(scan_bytewise(buf, n, RPC_FRAME_MAX, limit, &size, &at) == SCAN_TOO_DEEP);
                ASSERT(at == limit + 1);
                /* An empty container still counts as a level. */
                n = nest(buf, limit, 0x91, 0x90);
                ASSERT(scan_once(buf, n, RPC_FRAME_MAX, limit, &size) == SCAN_TOO_DEEP);
                if (limit > 0) {
                        n = nest(buf, limit - 1, 0x91, 0x90);
                        ASSERT(scan_once(buf, n, RPC_FRAME_MAX, limit, &size) == SCAN_COMPLETE && size == n);
                }
                /* Maps nest the same way. */
                n = nest(buf, limit, 0x81, 0x05);
                ASSERT(scan_once(buf, n, RPC_FRAME_MAX, limit, &size) == SCAN_COMPLETE && size == n);
                n = nest(buf, limit + 1, 0x81, 0x05);
                ASSERT(scan_once(buf, n, RPC_FRAME_MAX, limit, &size) == SCAN_TOO_DEEP);
        }

        /* Siblings do not add up: [[[1]], [[1]]] is depth 3. */
        ASSERT(scan_once("\x92\x91\x91\x01\x91\x91\x01", 7, 100, 3, &size) == SCAN_COMPLETE && size == 7);
        ASSERT(scan_once("\x92\x91\x91\x01\x91\x91\x01", 7, 100, 2, &size) == SCAN_TOO_DEEP);

        /* The depth limit is capped at SCAN_DEPTH_CAP. */
        n = nest(buf, SCAN_DEPTH_CAP, 0x91, 0x05);
        ASSERT(scan_once(buf, n, RPC_FRAME_MAX, 1000, &size) == SCAN_COMPLETE && size == n);
        n = nest(buf, SCAN_DEPTH_CAP + 1, 0x91, 0x05);
        ASSERT(scan_once(buf, n, RPC_FRAME_MAX, 1000, &size) == SCAN_TOO_DEEP);
}

static void test_malformed(void) {
        size_t size, at;

        ASSERT(scan_once("\xc1", 1, 100, 4, &size) == SCAN_MALFORMED);
        ASSERT(scan_bytewise("\x93\x01\xc1\x02", 4, 100, 4, &size, &at) == SCAN_MALFORMED && at == 3);
        ASSERT(scan_once("\x81\xc1\x01", 3, 100, 4, &size) == SCAN_MALFORMED);
        ASSERT(scan_once("\x81\x01\xc1", 3, 100, 4, &size) == SCAN_MALFORMED);
        /* 0xc1 inside a payload is just data. */
        ASSERT(scan_once("\xa1\xc1", 2, 100, 4, &size) == SCAN_COMPLETE && size == 2);
        /* Nothing yet. */
        ASSERT(scan_once("", 0, 100, 4, &size) == SCAN_NEED_MORE);
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 2685821657736338717ull;
}

/* Random bytes biased towards headers and small lengths. */
static size_t gen_bytes(unsigned char *buf, size_t max) {
        static const unsigned char interesting[] = {
                0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0x81, 0x82, 0x8f, 0x90, 0x91, 0x92,
                0x9f, 0xa0, 0xa1, 0xa3, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
                0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2,
                0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde,
                0xdf, 0xe0, 0xff,
        };
        size_t n = 1 + rnd() % max;
        for (size_t i = 0; i < n; i++) {
                uint64_t k = rnd() % 8;
                if (k < 3)
                        buf[i] = interesting[rnd() % sizeof(interesting)];
                else if (k < 6)
                        buf[i] = rnd() % 4;
                else
                        buf[i] = (unsigned char) rnd();
        }
        return n;
}

/* A random valid object (so that COMPLETE is common), packed by msgpack-c. */
static void gen_obj(msgpack_packer *pk, unsigned depth) {
        switch (rnd() % (depth < 6 ? 12 : 9)) {
        case 0: msgpack_pack_nil(pk); break;
        case 1: {
                int64_t v = (int64_t) rnd();
                msgpack_pack_int64(pk, v >> (rnd() % 64));
                break;
        }
        case 2: {
                uint64_t v = rnd();
                msgpack_pack_uint64(pk, v >> (rnd() % 64));
                break;
        }
        case 3: msgpack_pack_double(pk, 0.25); break;
        case 4: msgpack_pack_float(pk, 0.5f); break;
        case 5: {
                char s[300];
                size_t max = rnd() % 4 == 0 ? sizeof(s) : 8;
                size_t n = rnd() % max;
                memset(s, 'q', n);
                msgpack_pack_str_with_body(pk, s, n);
                break;
        }
        case 6: msgpack_pack_bin_with_body(pk, "\xc1\xc1\xc1\xc1", rnd() % 5); break;
        case 7: {
                static const size_t sizes[] = { 0, 1, 2, 3, 4, 8, 16, 17 };
                size_t n = sizes[rnd() % 8];
                msgpack_pack_ext_with_body(pk, "0123456789abcdefg", n, (int8_t) rnd());
                break;
        }
        case 8: msgpack_pack_true(pk); break;
        case 9: case 10: {
                size_t max = rnd() % 8 == 0 ? 20 : 4;
                size_t n = rnd() % max;
                msgpack_pack_array(pk, n);
                for (size_t i = 0; i < n; i++)
                        gen_obj(pk, depth + 1);
                break;
        }
        default: {
                size_t n = rnd() % 4;
                msgpack_pack_map(pk, n);
                for (size_t i = 0; i < 2 * n; i++)
                        gen_obj(pk, depth + 1);
                break;
        }
        }
}

static void test_random(void) {
        unsigned char buf[4096];
        unsigned complete = 0, need = 0, big = 0, deep = 0, bad = 0;
        msgpack_sbuffer sb;
        msgpack_packer pk;

        msgpack_sbuffer_init(&sb);
        for (unsigned iter = 0; iter < 40000; iter++) {
                size_t len;

                if (iter % 2 == 0) {
                        len = gen_bytes(buf, 48);
                } else {
                        msgpack_sbuffer_clear(&sb);
                        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
                        gen_obj(&pk, 0);
                        if (sb.size > sizeof(buf))
                                continue;
                        len = sb.size;
                        memcpy(buf, sb.data, len);
                        /* Sometimes mutate or truncate it. */
                        switch (rnd() % 4) {
                        case 0: {
                                size_t at = rnd() % len;
                                buf[at] = (unsigned char) rnd();
                                break;
                        }
                        case 1: len = 1 + rnd() % len; break;
                        default: break;
                        }
                }

                size_t limit = rnd() % 3 == 0 ? 1 + rnd() % 64 : 4096;
                unsigned depth = rnd() % 3 == 0 ? rnd() % 8 : SCAN_DEPTH_CAP;
                size_t size = 0, size2 = 0, at = 0, mp = 0;

                ScanResult r = scan_once(buf, len, limit, depth, &size);
                ScanResult r2 = scan_bytewise(buf, len, limit, depth, &size2, &at);

                /* Split feeding agrees with one feed. */
                ASSERT(r == r2);
                if (r == SCAN_COMPLETE) {
                        ASSERT(size == size2 && at == size);
                        ASSERT(size >= 1 && size <= len && size <= limit);
                }

                /* msgpack-c agrees whenever no limit stopped the scanner
                 * (so every count msgpack-c allocates for is bounded). */
                msgpack_unpack_return m = MSGPACK_UNPACK_SUCCESS;
                switch (r) {
                case SCAN_COMPLETE:
                        complete++;
                        m = mp_size(buf, len, &mp);
                        ASSERT(m == MSGPACK_UNPACK_SUCCESS);
                        ASSERT(mp == size);
                        break;
                case SCAN_NEED_MORE:
                        need++;
                        m = mp_size(buf, len, &mp);
                        ASSERT(m == MSGPACK_UNPACK_CONTINUE);
                        break;
                case SCAN_MALFORMED:
                        bad++;
                        m = mp_size(buf, len, &mp);
                        ASSERT(m == MSGPACK_UNPACK_PARSE_ERROR);
                        break;
                case SCAN_TOO_BIG:
                        big++;
                        /* With room to spare (and bytes all there), the same
                         * input is not complete within the smaller limit. */
                        if (scan_once(buf, len, 4096, SCAN_DEPTH_CAP, &size) == SCAN_COMPLETE)
                                ASSERT(size > limit);
                        break;
                case SCAN_TOO_DEEP:
                        deep++;
                        ASSERT(depth < SCAN_DEPTH_CAP);
                        break;
                }
        }
        msgpack_sbuffer_destroy(&sb);

        /* Every outcome was exercised, many times. */
        printf("random: complete %u, need more %u, too big %u, too deep %u, malformed %u\n",
               complete, need, big, deep, bad);
        ASSERT(complete > 5000);
        ASSERT(need > 1000);
        ASSERT(big > 1000);
        ASSERT(deep > 100);
        ASSERT(bad > 100);
}

/* The element cap: a map of 1000 pairs is 2000 elements. It holds across
 * objects (not reset on completion) and counts nested containers' elements. */
static void test_elements(void) {
        uint8_t buf[4 + 2000];
        size_t size = 0;
        Scanner s;

        buf[0] = 0xde;                  /* map16 */
        buf[1] = 1000 >> 8;
        buf[2] = 1000 & 0xff;
        memset(buf + 3, 0x01, 2000);    /* 1000 pairs of fixints */

        scanner_init(&s, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        s.element_limit = 2000;
        ASSERT(scanner_feed(&s, (const char *) buf, 3 + 2000, &size) == SCAN_COMPLETE);
        ASSERT(size == 3 + 2000);
        ASSERT(s.element_limit == 2000);        /* kept for the next object */
        ASSERT(s.elements == 0);
        /* The same object again, with one element fewer allowed: refused from its header. */
        s.element_limit = 1999;
        ASSERT(scanner_feed(&s, (const char *) buf, 3, &size) == SCAN_TOO_BIG);

        /* Nested: [ [1,1,1], [1,1,1] ] declares 2 + 3 + 3 = 8 elements. */
        const uint8_t nested[] = { 0x92, 0x93, 1, 1, 1, 0x93, 1, 1, 1 };
        scanner_init(&s, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        s.element_limit = 8;
        ASSERT(scanner_feed(&s, (const char *) nested, sizeof nested, &size) == SCAN_COMPLETE);
        scanner_init(&s, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        s.element_limit = 7;
        ASSERT(scanner_feed(&s, (const char *) nested, sizeof nested, &size) == SCAN_TOO_BIG);
}

int main(void) {
        test_elements();
        test_types();
        test_packed();
        test_back_to_back();
        test_limit();
        test_depth();
        test_malformed();
        test_random();
        printf("test-scan: %u checks passed\n", checks);
        return 0;
}
