/* server.h: rolesd-http's HTTP server (libmicrohttpd, a pool of
 * worker threads each with one pipelined connection to rolesd; its limits
 * are in limits.h); the answers libmicrohttpd gives by itself
 * (errors.c); the shim's logging. */
#pragma once

#include <microhttpd.h>
#include <stdarg.h>

#include "client/http/limits.h"

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

/* ---- errors.c ---- */

/* Finds libmicrohttpd's MHD_queue_response. Before any thread starts. */
int http_errors_init(void);
/* Queues one of rolesd-http's own answers (never call MHD_queue_response:
 * that name is errors.c's). */
enum MHD_Result http_queue_response(struct MHD_Connection *con, unsigned int status, struct MHD_Response *resp);
/* MHD_OPTION_NOTIFY_CONNECTION: the per-connection record. */
void http_conn_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* Records the dialect of a request line's target, for errors.c. */
void http_conn_request_line(struct MHD_Connection *con, const char *uri);
