/* limits.h: every limit and setting of rolesd-http, named in one place:
 * request bodies, connections, timeouts, threads, and the deadline of its
 * calls to rolesd. (The wire's limits are proto/limits.h's, librolesd's
 * its own.) */
#pragma once

#include <microhttpd.h>

#define HTTP_BODY_MAX                   (64u * 1024u) /* request body bytes, 413 beyond */
#define HTTP_BODY_DISCARD_MAX           (16u * 1024u * 1024u) /* body bytes read and dropped after HTTP_BODY_MAX
                                                  * (chunked uploads), before closing instead of 413 */
#define HTTP_CALL_TIMEOUT_USEC          (2ull * 1000000ull) /* a call to rolesd that gets no answer this long
                                                  * fails, and its request gets 503 */
#define HTTP_THREADS                    4u      /* worker threads: a request waiting for rolesd
                                                 * is suspended, not a blocked thread, so a few
                                                 * threads keep group commit fed */
#define HTTP_LANE_UPSTREAMS             2u      /* pipelined connections to rolesd for reads
                                                 * (GET, HEAD), and as many for the rest, each
                                                 * shared by every HTTP_LANE_UPSTREAMS-th worker:
                                                 * rolesd answers a read after its connection's
                                                 * pending writes, so reads get their own; twice
                                                 * this is at most HTTP_THREADS */
#define HTTP_CONNECTIONS_MAX            1024u   /* concurrent HTTP connections, all clients */
#define HTTP_FILES_OTHER                64u     /* descriptors beside the connections: listening
                                                 * socket, rolesd, threads' eventfds; the soft
                                                 * open-files limit is raised to fit both */
#define HTTP_PER_IP_CONNECTIONS_MAX     256u    /* concurrent HTTP connections from one address;
                                                 * past it a connection's request gets 503 (in the
                                                 * dialect of its path) and the connection closes */
#define HTTP_PER_IP_REFUSALS_MAX        16u     /* connections past that limit held at once per
                                                 * address to be answered so; more are closed
                                                 * at once, unanswered */
#define HTTP_HEAD_OVER_LIMIT_SEC        2u      /* how long such a connection may take to send
                                                 * the head its 503 answers */
#define HTTP_CONNECTION_TIMEOUT_SEC     30u     /* close a connection idle this long, or a
                                                 * keep-alive one whose next request's head is
                                                 * not complete this long after the last answer */
#define HTTP_HEAD_TIMEOUT_SEC           10u     /* a new connection's first request head (request
                                                 * line and headers) must be complete this long
                                                 * after the connection opened, or it is closed
                                                 * (slow-header floods) */
#define HTTP_CONNECTIONS_SPARE          32u     /* while more than HTTP_CONNECTIONS_MAX minus this
                                                 * many are open, the connections waiting longest
                                                 * for a request head (HTTP_HEAD_EVICT_AGE_MSEC at
                                                 * least) are closed to make room for newcomers */
#define HTTP_HEAD_EVICT_AGE_MSEC        1000u
#define HTTP_CONNECTION_MEMORY_MAX      (33u * 1024u) /* per connection: request line, headers and read
                                                 * buffer; a head up to ~25 KiB gets a JSON answer,
                                                 * a larger one is refused by closing. libmicrohttpd
                                                 * 0.9.75 zeroes the whole pool between keep-alive
                                                 * requests (128 KiB cost 15% of the shim's CPU), and
                                                 * mmap()s pools over 32 KiB (malloc()ed ones pile up
                                                 * in AddressSanitizer's quarantine under floods) */
#define HTTP_PART_BLOCK                 (16u * 1024u) /* an answer in parts (a long roles.list) is
                                                 * handed to libmicrohttpd this much at a time */
#define HTTP_LISTEN_BACKLOG             512     /* pending connections of a socket we bind */

/* How the worker threads wait. libmicrohttpd before 1.0.0 misses, in
 * epoll mode, a peer that sends part of a request and closes: the
 * connection sits in CLOSE-WAIT until HTTP_CONNECTION_TIMEOUT_SEC
 * (upstream bug #7192, commit 08f933a6). poll() has no such blind spot
 * and costs nothing at HTTP_CONNECTIONS_MAX / HTTP_THREADS connections
 * per thread. */
#if MHD_VERSION >= 0x01000000
#  define HTTP_MHD_POLLER MHD_USE_EPOLL
#else
#  define HTTP_MHD_POLLER MHD_USE_POLL
#endif
