/* limits.h: librolesd's own limits and defaults, named in one place.
 * (The wire's rules, frame size and nesting, are proto/limits.h's.) */
#pragma once

#define ROLESD_SOCKET_DEFAULT   "/run/rolesd/rolesd.sock"
#define ROLESD_RESPONSE_MAX     (16u * 1024u * 1024u) /* bytes of one response: lists and catalogs can be big */
#define ROLESD_READ_CHUNK       (64u * 1024u)   /* bytes asked of each recv() */
#define ROLESD_READ_ROUNDS      16u             /* recv()s per rolesd_process(), at most (fairness) */
#define ROLESD_UNSENT_MAX       (8u * 1024u * 1024u) /* request bytes waiting to be sent before calls
                                                 * are refused (-ENOBUFS) */
#define ROLESD_CALL_ATTEMPTS    2u              /* connections one call may be sent on */
#define ROLESD_BUCKETS_MIN      64u             /* calls in flight by msgid: the hash's smallest size */
