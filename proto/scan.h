/* scan.h: finds where one MessagePack object ends in a byte stream,
 * without allocating, so that the size and nesting limits are enforced
 * before msgpack-c's decoder sees (and allocates for) anything.
 *
 * msgpack-c's own unpacker allocates n * sizeof(msgpack_object) as soon as
 * it reads an array header, so a five-byte frame could ask for gigabytes.
 * The scanner checks each declared count against the bytes that can still
 * follow within the frame limit, and each nesting level against the depth
 * limit, as bytes arrive. It is resumable: feed it the same growing buffer
 * (the bytes from the start of the frame) and it continues where it
 * stopped, so scanning is O(frame) however the bytes are split. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef enum ScanResult {
        SCAN_NEED_MORE = 0,     /* no complete object yet */
        SCAN_COMPLETE  = 1,     /* one complete object of *ret_size bytes at the buffer start */
        SCAN_TOO_BIG   = -1,    /* the object is (or declares itself) larger than the limit */
        SCAN_TOO_DEEP  = -2,    /* nesting exceeds the depth limit */
        SCAN_MALFORMED = -3,    /* a byte that is not valid MessagePack (0xc1) */
} ScanResult;

typedef struct Scanner {
        size_t limit;           /* max bytes of one object */
        unsigned depth_limit;   /* max nesting depth; <= SCAN_DEPTH_CAP */
        size_t pos;             /* offset of the next element header to read */
        unsigned depth;         /* open containers */
        uint64_t left[32];      /* elements still due in each open container */
        uint64_t min_bytes;     /* lower bound of bytes the open containers still need */
        uint64_t elements;      /* elements declared by the containers so far */
        uint64_t element_limit; /* max elements in one object (msgpack-c allocates per element);
                                 * UINT64_MAX after scanner_init, kept across objects */
} Scanner;

#define SCAN_DEPTH_CAP 32u

void scanner_init(Scanner *s, size_t limit, unsigned depth_limit);
/* Continues scanning buf[0..n) (the same frame as before, possibly longer).
 * On SCAN_COMPLETE, *ret_size is the object size and the scanner is reset
 * for the next object (whose bytes start at buf + *ret_size). After an
 * error the scanner must be re-initialised before reuse. */
/* A declared element count over element_limit is SCAN_TOO_BIG. */
ScanResult scanner_feed(Scanner *s, const char *buf, size_t n, size_t *ret_size);
