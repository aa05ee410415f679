/* buf.h: a growable byte buffer with a read offset, used for socket input
 * and output and as the sink of msgpack packers (buf_pack_write). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct Buf {
        char *data;
        size_t start;   /* first unconsumed byte */
        size_t len;     /* end of valid data (data[start..len) is pending) */
        size_t cap;
        bool oom;       /* an append failed; contents are incomplete */
} Buf;

static inline size_t buf_pending(const Buf *b) { return b->len - b->start; }
static inline const char *buf_head(const Buf *b) { return b->data ? b->data + b->start : ""; }

/* Ensures room for n more bytes at the end; returns a pointer to it or NULL. */
char *buf_reserve(Buf *b, size_t n);
/* Appends n bytes. Returns 0 or -ENOMEM (and sets b->oom). */
int buf_append(Buf *b, const void *p, size_t n);
/* Marks n bytes at the head as consumed; compacts when cheap. */
void buf_consume(Buf *b, size_t n);
void buf_clear(Buf *b);
void buf_done(Buf *b);
/* msgpack_packer_write callback: data is a Buf*. */
int buf_pack_write(void *data, const char *p, size_t n);
