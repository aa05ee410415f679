/* fuzz-frame.c: the MessagePack-RPC frame decoder (proto/scan.c and
 * proto/rpc.c) on arbitrary bytes.
 *
 * Input: one control byte (which limits to use, how to split the stream),
 * then the byte stream a client would send. Checked, beyond "no crash,
 * no sanitizer report":
 *  - the scanner gives the same frames and the same final verdict whether
 *    the stream arrives at once or in pieces (resumability);
 *  - every frame it completes is at most the size limit, and msgpack-c
 *    decodes it entirely (exactly its bytes, nothing left), nested no
 *    deeper than the depth limit;
 *  - where it says "need more", msgpack-c agrees the object is incomplete,
 *    and where it says "malformed", msgpack-c refuses the bytes too;
 *  - rpc_decode() either fails with a message or yields an envelope whose
 *    fields obey the documented shape; an error reply to an addressed
 *    request decodes again as a response to the same msgid. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/limits.h"
#include "proto/rpc.h"
#include "proto/scan.h"
#include "fuzz-require.h"

#define MAX_FRAMES 256

typedef struct Verdict {
        size_t sizes[MAX_FRAMES];
        size_t n;
        ScanResult last;        /* NEED_MORE or the error that stopped the scan */
} Verdict;

/* Scans data as one buffer. */
static void scan_whole(const uint8_t *data, size_t size, size_t limit, unsigned depth, Verdict *v) {
        Scanner s;
        size_t off = 0;

        scanner_init(&s, limit, depth);
        v->n = 0;
        for (;;) {
                size_t sz = 0;
                ScanResult r = scanner_feed(&s, (const char *) data + off, size - off, &sz);
                if (r != SCAN_COMPLETE || v->n == MAX_FRAMES) {
                        v->last = r == SCAN_COMPLETE ? SCAN_NEED_MORE : r;
                        return;
                }
                require(sz > 0 && sz <= limit && sz <= size - off);
                v->sizes[v->n++] = sz;
                off += sz;
        }
}

/* Scans data as it would arrive in pieces (sizes from the control byte),
 * feeding the growing frame as conn.c does. */
static void scan_split(const uint8_t *data, size_t size, size_t limit, unsigned depth, unsigned step_sel,
                       Verdict *v) {
        Scanner s;
        size_t off = 0, avail = 0, step = 1 + (step_sel % 7) * (step_sel % 7);
        unsigned k = 0;

        scanner_init(&s, limit, depth);
        v->n = 0;
        for (;;) {
                size_t sz = 0;
                if (avail < size) {
                        avail += step + (k++ % 3);
                        if (avail > size)
                                avail = size;
                }
                ScanResult r = scanner_feed(&s, (const char *) data + off, avail - off, &sz);
                if (r == SCAN_NEED_MORE && avail < size)
                        continue;
                if (r != SCAN_COMPLETE || v->n == MAX_FRAMES) {
                        v->last = r == SCAN_COMPLETE ? SCAN_NEED_MORE : r;
                        return;
                }
                v->sizes[v->n++] = sz;
                off += sz;
        }
}

static unsigned depth_of(const msgpack_object *o) {
        unsigned d = 0;

        if (o->type == MSGPACK_OBJECT_ARRAY)
                for (uint32_t i = 0; i < o->via.array.size; i++) {
                        unsigned e = depth_of(&o->via.array.ptr[i]);
                        d = e > d ? e : d;
                }
        else if (o->type == MSGPACK_OBJECT_MAP)
                for (uint32_t i = 0; i < o->via.map.size; i++) {
                        unsigned k = depth_of(&o->via.map.ptr[i].key), e = depth_of(&o->via.map.ptr[i].val);
                        d = k > d ? k : d;
                        d = e > d ? e : d;
                }
        else
                return 0;
        return d + 1;
}

static void check_envelope(const char *frame, size_t n) {
        msgpack_unpacked u;
        RpcMessage m;
        const char *why = NULL;
        int r;

        msgpack_unpacked_init(&u);
        r = rpc_decode(frame, n, &u, &m, &why);
        if (r < 0) {
                require(r == -EBADMSG || r == -EINVAL || r == -ENOMEM);
                require(why && *why);
        } else {
                require(!why);
                require(m.type == RPC_REQUEST || m.type == RPC_RESPONSE || m.type == RPC_NOTIFY);
                if (m.type != RPC_RESPONSE) {
                        require(m.method && m.method_len >= 1 && m.method_len <= RPC_METHOD_MAX);
                        require(!m.params || m.params->type == MSGPACK_OBJECT_MAP);
                } else {
                        require(m.error && m.result);
                        require(m.error->type == MSGPACK_OBJECT_NIL || m.error->type == MSGPACK_OBJECT_MAP);
                }
                if (m.type == RPC_REQUEST)
                        require(m.has_msgid);
        }

        /* The error reply the daemon would send decodes as a response. */
        if (m.has_msgid || r < 0) {
                Buf b = {0};
                msgpack_packer pk;
                msgpack_unpacked u2;
                RpcMessage m2;

                msgpack_packer_init(&pk, &b, buf_pack_write);
                require(rpc_pack_error(&pk, m.has_msgid, m.msgid, RPC_INVALID_ARGUMENT, why, NULL) == 0);
                msgpack_unpacked_init(&u2);
                require(rpc_decode(buf_head(&b), buf_pending(&b), &u2, &m2, NULL) == 0);
                require(m2.type == RPC_RESPONSE && m2.has_msgid == m.has_msgid);
                require(!m.has_msgid || m2.msgid == m.msgid);
                require(m2.error->type == MSGPACK_OBJECT_MAP);
                msgpack_unpacked_destroy(&u2);
                buf_done(&b);
        }
        msgpack_unpacked_destroy(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const size_t limits[] = { RPC_FRAME_MAX, 1, 2, 5, 16, 64, 300, 4096 };
        Verdict whole, split;
        uint8_t ctl;
        size_t limit, off = 0;
        unsigned depth;

        if (size < 1)
                return 0;
        ctl = data[0];
        data++, size--;
        limit = limits[ctl & 7];
        depth = (ctl >> 3) & 1 ? RPC_DEPTH_MAX : (ctl >> 4) % 4;

        scan_whole(data, size, limit, depth, &whole);
        scan_split(data, size, limit, depth, ctl >> 4, &split);
        require(whole.n == split.n);
        require(memcmp(whole.sizes, split.sizes, whole.n * sizeof(size_t)) == 0);
        require(whole.last == split.last);

        for (size_t i = 0; i < whole.n; i++) {
                const char *frame = (const char *) data + off;
                size_t n = whole.sizes[i], used = 0;
                msgpack_unpacked u;

                msgpack_unpacked_init(&u);
                require(msgpack_unpack_next(&u, frame, n, &used) == MSGPACK_UNPACK_SUCCESS);
                require(used == n);
                require(depth_of(&u.data) <= depth);
                msgpack_unpacked_destroy(&u);
                if (limit == RPC_FRAME_MAX)
                        check_envelope(frame, n);
                off += n;
        }

        /* What is left after the last frame: msgpack-c must agree with the
         * scanner's "incomplete" or "malformed". (Too big or too deep has no
         * msgpack-c counterpart: those are our limits.) */
        if (whole.n < MAX_FRAMES && off < size &&
            (whole.last == SCAN_NEED_MORE || whole.last == SCAN_MALFORMED)) {
                msgpack_unpacked u;
                size_t used = 0;
                msgpack_unpack_return r;

                msgpack_unpacked_init(&u);
                r = msgpack_unpack_next(&u, (const char *) data + off, size - off, &used);
                if (whole.last == SCAN_NEED_MORE)
                        require(r == MSGPACK_UNPACK_CONTINUE);
                else
                        require(r == MSGPACK_UNPACK_PARSE_ERROR);
                msgpack_unpacked_destroy(&u);
        }
        return 0;
}
