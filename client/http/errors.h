/* errors.h: the answers libmicrohttpd gives by itself, in JSON and in
 * the dialect of the request (errors.c). */
#pragma once

#include <microhttpd.h>

/* Finds libmicrohttpd's MHD_queue_response. Before any thread starts;
 * 0 or a negative errno, logged. */
int http_errors_init(void);
/* Queues one of rolesd-http's own answers (never call MHD_queue_response:
 * that name is errors.c's). */
enum MHD_Result http_queue_response(struct MHD_Connection *con, unsigned int status, struct MHD_Response *resp);
