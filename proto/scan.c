/* scan.c: the structural MessagePack scanner. Finds where one object ends
 * without allocating or decoding, enforcing the frame size and nesting
 * limits as bytes arrive, so msgpack-c only ever sees bounded frames.
 * Resumable: the state (position, open containers, elements still due,
 * bytes still needed) lets each call continue where the last one stopped. */
#include "scan.h"

#include <stdbool.h>

void scanner_init(Scanner *s, size_t limit, unsigned depth_limit) {
        *s = (Scanner) {
                .limit = limit,
                .depth_limit = depth_limit > SCAN_DEPTH_CAP ? SCAN_DEPTH_CAP : depth_limit,
                .min_bytes = 1,         /* the root object itself */
                .element_limit = UINT64_MAX,
        };
}

static uint64_t be(const uint8_t *p, unsigned n) {
        uint64_t v = 0;
        for (unsigned i = 0; i < n; i++)
                v = (v << 8) | p[i];
        return v;
}

/* Describes the element whose first byte is c: extra header bytes holding
 * a length or count (lenbytes), fixed header bytes after them (fixed: the
 * ext type byte), fixed payload (payload), whether the length field is a
 * byte length (is_len) or an element count (count_mul: 1 array, 2 map). */
typedef struct Head {
        unsigned lenbytes;
        unsigned fixed;
        uint64_t payload;
        uint64_t count;
        unsigned count_mul;     /* 0: not a container */
        bool is_len;
} Head;

static bool head_of(uint8_t c, Head *h) {
        *h = (Head) { .lenbytes = 0 };

        if (c <= 0x7f || c >= 0xe0)             /* positive / negative fixint */
                return true;
        if (c <= 0x8f) {                        /* fixmap */
                h->count = c & 0x0f;
                h->count_mul = 2;
                return true;
        }
        if (c <= 0x9f) {                        /* fixarray */
                h->count = c & 0x0f;
                h->count_mul = 1;
                return true;
        }
        if (c <= 0xbf) {                        /* fixstr */
                h->payload = c & 0x1f;
                return true;
        }

        switch (c) {
        case 0xc0: case 0xc2: case 0xc3:        /* nil, false, true */
                return true;
        case 0xc1:
                return false;
        case 0xc4: case 0xc5: case 0xc6:        /* bin 8/16/32 */
                h->lenbytes = 1u << (c - 0xc4);
                h->is_len = true;
                return true;
        case 0xc7: case 0xc8: case 0xc9:        /* ext 8/16/32: length, type, data */
                h->lenbytes = 1u << (c - 0xc7);
                h->fixed = 1;
                h->is_len = true;
                return true;
        case 0xca:                              /* float 32 */
                h->payload = 4;
                return true;
        case 0xcb:                              /* float 64 */
                h->payload = 8;
                return true;
        case 0xcc: case 0xcd: case 0xce: case 0xcf:     /* uint 8..64 */
                h->payload = 1u << (c - 0xcc);
                return true;
        case 0xd0: case 0xd1: case 0xd2: case 0xd3:     /* int 8..64 */
                h->payload = 1u << (c - 0xd0);
                return true;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext 1..16 */
                h->payload = 1 + (1u << (c - 0xd4));
                return true;
        case 0xd9: case 0xda: case 0xdb:        /* str 8/16/32 */
                h->lenbytes = 1u << (c - 0xd9);
                h->is_len = true;
                return true;
        case 0xdc: case 0xdd:                   /* array 16/32 */
                h->lenbytes = c == 0xdc ? 2 : 4;
                h->count_mul = 1;
                return true;
        case 0xde: case 0xdf:                   /* map 16/32 */
                h->lenbytes = c == 0xde ? 2 : 4;
                h->count_mul = 2;
                return true;
        }
        return false; /* not reached: every byte is covered above */
}

ScanResult scanner_feed(Scanner *s, const char *buf, size_t n, size_t *ret_size) {
        const uint8_t *p = (const uint8_t *) buf;

        /* Invariants: pos + min_bytes <= limit; min_bytes is the number of
         * elements still due (the root, or the sum of left[]), each at
         * least one byte; the object is complete once depth == 0 and
         * min_bytes == 0, and its bytes have arrived once pos <= n. */
        while (s->depth > 0 || s->min_bytes > 0) {
                if (s->pos >= n)
                        return SCAN_NEED_MORE;

                Head h;
                if (!head_of(p[s->pos], &h))
                        return SCAN_MALFORMED;

                /* This element replaces one of the min_bytes already counted. */
                uint64_t room = s->limit - s->pos;
                uint64_t hdr = 1 + h.lenbytes + h.fixed;
                uint64_t rest = s->min_bytes - 1;
                if (hdr + h.payload + rest > room)
                        return SCAN_TOO_BIG;

                if (h.lenbytes > 0) {
                        if (n - s->pos < 1 + h.lenbytes)
                                return SCAN_NEED_MORE;
                        uint64_t v = be(p + s->pos + 1, h.lenbytes);
                        if (h.is_len)
                                h.payload += v;
                        else
                                h.count = v;
                }

                uint64_t due = h.count * h.count_mul;
                if (h.count_mul > 0 && s->depth >= s->depth_limit)
                        return SCAN_TOO_DEEP;
                if (hdr + h.payload + rest + due > room)
                        return SCAN_TOO_BIG;
                if (due > s->element_limit - s->elements)
                        return SCAN_TOO_BIG;
                s->elements += due;

                /* Commit: the element is read (its payload may still be on its way). */
                s->pos += hdr + h.payload;
                s->min_bytes = rest + due;
                if (s->depth > 0)
                        s->left[s->depth - 1]--;

                if (due > 0)
                        s->left[s->depth++] = due;
                else
                        while (s->depth > 0 && s->left[s->depth - 1] == 0)
                                s->depth--;
        }

        if (s->pos > n)
                return SCAN_NEED_MORE;

        *ret_size = s->pos;
        uint64_t element_limit = s->element_limit;
        scanner_init(s, s->limit, s->depth_limit);
        s->element_limit = element_limit;
        return SCAN_COMPLETE;
}
