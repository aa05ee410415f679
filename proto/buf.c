/* buf.c: the growable byte buffer behind socket input, socket output and
 * msgpack packers. Owns growth (geometric, from 4 KiB) and compaction of
 * consumed bytes; a failed append marks the buffer as incomplete (oom). */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUF_INITIAL (4u * 1024u)

char *buf_reserve(Buf *b, size_t n) {
        if (b->cap - b->len >= n)
                return b->data + b->len;

        /* Reclaim the consumed head when it is the larger part: the move
         * costs no more than what was already consumed. */
        if (b->start > 0 && b->start > b->len / 2) {
                memmove(b->data, b->data + b->start, b->len - b->start);
                b->len -= b->start;
                b->start = 0;
                if (b->cap - b->len >= n)
                        return b->data + b->len;
        }

        /* No object may exceed PTRDIFF_MAX; refuse before asking malloc. */
        if (n > PTRDIFF_MAX - b->len)
                return NULL;
        size_t need = b->len + n;
        size_t cap = b->cap < BUF_INITIAL ? BUF_INITIAL : b->cap;
        while (cap < need)
                cap = cap > PTRDIFF_MAX / 2 ? need : cap * 2;

        char *d = realloc(b->data, cap);
        if (!d)
                return NULL;
        b->data = d;
        b->cap = cap;
        return b->data + b->len;
}

int buf_append(Buf *b, const void *p, size_t n) {
        if (n == 0)
                return 0;
        char *d = buf_reserve(b, n);
        if (!d) {
                b->oom = true;
                return -ENOMEM;
        }
        memcpy(d, p, n);
        b->len += n;
        return 0;
}

void buf_consume(Buf *b, size_t n) {
        if (n > buf_pending(b))
                n = buf_pending(b);
        b->start += n;
        if (b->start == b->len)
                b->start = b->len = 0;
}

void buf_clear(Buf *b) {
        b->start = b->len = 0;
        b->oom = false;
}

void buf_done(Buf *b) {
        free(b->data);
        *b = (Buf) { .data = NULL };
}

int buf_pack_write(void *data, const char *p, size_t n) {
        return buf_append(data, p, n) < 0 ? -1 : 0;
}
