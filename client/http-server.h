/* http-server.h: rolesd-http's HTTP server (libmicrohttpd, a pool of
 * worker threads each with one pipelined connection to rolesd) and its limits,
 * all named here; the answers libmicrohttpd gives by itself
 * (http-errors.c); the shim's logging. */
#pragma once

#include <microhttpd.h>
#include <stdarg.h>

#include "proto/limits.h"       /* HTTP_BODY_MAX: request body bytes, 413 beyond */

#define HTTP_THREADS                    4u      /* worker threads, each with its own pipelined
                                                 * connection to rolesd (http-pipe.c): a request
                                                 * waiting for rolesd is suspended, not a blocked
                                                 * thread, so a few threads keep group commit fed */
#define HTTP_CONNECTIONS_MAX            1024u   /* concurrent HTTP connections, all clients */
#define HTTP_PER_IP_CONNECTIONS_MAX     256u    /* concurrent HTTP connections from one address */
#define HTTP_CONNECTION_TIMEOUT_SEC     30u     /* close a connection idle this long */
#define HTTP_CONNECTION_MEMORY_MAX      (33u * 1024u) /* per connection: request line, headers and read
                                                 * buffer; a head up to ~25 KiB gets a JSON answer,
                                                 * a larger one is refused by closing. libmicrohttpd
                                                 * 0.9.75 zeroes the whole pool between keep-alive
                                                 * requests (128 KiB cost 15% of the shim's CPU), and
                                                 * mmap()s pools over 32 KiB (malloc()ed ones pile up
                                                 * in AddressSanitizer's quarantine under floods) */
#define HTTP_BODY_DISCARD_MAX           (16u * 1024u * 1024u) /* body bytes read and dropped after HTTP_BODY_MAX
                                                  * (chunked uploads), before closing instead of 413 */
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

typedef struct HttpServer HttpServer;

/* Starts serving on listen_fd (a listening stream socket; the server
 * takes it over) and talking to rolesd at socket_path (NULL: the
 * default). Returns 0 or a negative errno, logging why. */
int http_server_start(int listen_fd, const char *socket_path, HttpServer **ret);

/* Stops accepting, finishes the requests in progress, closes every
 * connection and frees the server. Accepts NULL, returns NULL. */
HttpServer *http_server_stop(HttpServer *s);

/* Writes one line to stderr with an sd-daemon priority prefix (LOG_ERR,
 * LOG_WARNING, LOG_INFO...). Never pass credentials. */
__attribute__((format(printf, 2, 3)))
void http_log(int priority, const char *fmt, ...);

/* As http_log, returning r (a negative errno) for "return log(...)". */
__attribute__((format(printf, 3, 4)))
int http_log_errno(int priority, int r, const char *fmt, ...);

/* ---- http-errors.c ---- */

/* Finds libmicrohttpd's MHD_queue_response. Before any thread starts. */
int http_errors_init(void);
/* Queues one of rolesd-http's own answers (never call MHD_queue_response:
 * that name is http-errors.c's). */
enum MHD_Result http_queue_response(struct MHD_Connection *con, unsigned int status, struct MHD_Response *resp);
/* MHD_OPTION_NOTIFY_CONNECTION: the per-connection record. */
void http_conn_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* Records the dialect of a request line's target, for http-errors.c. */
void http_conn_request_line(struct MHD_Connection *con, const char *uri);
