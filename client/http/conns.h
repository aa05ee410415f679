/* conns.h: rolesd-http's own bookkeeping of its HTTP connections
 * (conns.c): the dialect of each one's latest request line, how long
 * each has been waiting for a request's head, and how many are open.
 * libmicrohttpd 0.9.75 has no deadline for a request's head: here a head
 * must be complete within HTTP_HEAD_TIMEOUT_SEC, and when the connections
 * come near HTTP_CONNECTIONS_MAX the one that has been waiting longest
 * for its head makes room for a new one; past HTTP_PER_IP_CONNECTIONS_MAX
 * from one address, a connection is answered 503. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>

#include <rolesd/rest.h>

typedef struct HttpConns HttpConns;

/* Starts the bookkeeping and its thread (which closes the connections
 * whose head is late). 0 or a negative errno, logged. */
int http_conns_new(HttpConns **ret);

/* Stops the thread and frees the bookkeeping, once libmicrohttpd has
 * stopped (no connection is left). Accepts NULL, returns NULL. */
HttpConns *http_conns_free(HttpConns *cs);

/* MHD_OPTION_NOTIFY_CONNECTION, with cls the HttpConns: a connection
 * opens (its first head is awaited from now on) or closes. */
void http_conns_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);

/* A request line arrived on con: the dialect of its target. */
void http_conns_request_line(struct MHD_Connection *con, const char *uri);

/* The head of con's request is complete (the handler's first call): no
 * deadline while the request is served. True when con is one past
 * HTTP_PER_IP_CONNECTIONS_MAX from its address: answer 503 and close. */
bool http_conns_head_done(HttpConns *cs, struct MHD_Connection *con);

/* con's request is over: the next head is awaited from now on (a
 * keep-alive connection idle that long is closed). */
void http_conns_request_done(HttpConns *cs, struct MHD_Connection *con);

/* The dialect of con's latest request line (Partoo before any). */
rolesd_rest_dialect http_conns_dialect(struct MHD_Connection *con);
