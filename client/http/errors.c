/* errors.c: the answers libmicrohttpd gives by itself. A request it
 * cannot take apart (a request line or headers past
 * HTTP_CONNECTION_MEMORY_MAX, an unknown HTTP version, a malformed or
 * huge Content-Length, broken chunks) never reaches rolesd-http: the
 * library answers it with an HTML page, and before 1.0.0 it sends the
 * header block of an error found in the headers twice (its state machine
 * builds the headers again after transmit_error_response(); fixed
 * upstream in 1.0.0).
 *
 * The library queues those answers through its exported
 * MHD_queue_response(), a call the dynamic linker binds to the definition
 * below, since the executable defines the symbol. rolesd-http queues its
 * own answers with http_queue_response(), which goes to the library's, so
 * every call that lands here is one of the library's own answers. It is
 * replaced by the JSON body of its status in the dialect of the request's
 * path (rolesd_rest_error_body()), or, for errors found in the headers by
 * a library that would garble the answer, refused: the library then
 * closes the connection, which HTTP allows a server to do with a request
 * it cannot frame. Should the linker ever bind the library's calls to its
 * own definition, its HTML answers simply go out as before.
 *
 * Owns too the per-connection record of the dialect (the request line is
 * the only part of a request the library has parsed when such an error
 * can occur). */

#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <rolesd/rest.h>

#include "client/http/errors.h"
#include "client/http/log.h"

/* What a connection's latest request line said. */
typedef struct HttpConn {
        rolesd_rest_dialect dialect;
} HttpConn;

typedef enum MHD_Result (*QueueFn)(struct MHD_Connection *con, unsigned int status, struct MHD_Response *resp);

static QueueFn real_queue;      /* libmicrohttpd's MHD_queue_response; set before any thread starts */

int http_errors_init(void) {
        real_queue = __extension__ (QueueFn) dlsym(RTLD_NEXT, "MHD_queue_response");
        if (!real_queue)
                return http_log_errno(LOG_ERR, -ENOSYS, "cannot find libmicrohttpd's MHD_queue_response");
        return 0;
}

enum MHD_Result http_queue_response(struct MHD_Connection *con, unsigned int status, struct MHD_Response *resp) {
        return real_queue ? real_queue(con, status, resp) : MHD_NO;
}

void http_conn_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                      enum MHD_ConnectionNotificationCode code) {
        if (code == MHD_CONNECTION_NOTIFY_STARTED)
                *socket_context = calloc(1, sizeof(HttpConn));  /* NULL: the default dialect */
        else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
                free(*socket_context);
                *socket_context = NULL;
        }
}

static HttpConn *conn_get(struct MHD_Connection *con) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return info ? info->socket_context : NULL;
}

void http_conn_request_line(struct MHD_Connection *con, const char *uri) {
        HttpConn *c = conn_get(con);

        if (c)
                c->dialect = rolesd_rest_dialect_of(uri);
}

/* Reached only from inside libmicrohttpd (see the top of the file). */
enum MHD_Result MHD_queue_response(struct MHD_Connection *con, unsigned int status, struct MHD_Response *resp) {
        HttpConn *c = conn_get(con);
        struct MHD_Response *json;
        const char *body;
        enum MHD_Result r;

        if (!real_queue)
                return MHD_NO;
#if MHD_VERSION < 0x01000000
        /* 400 and 413 with headers parsed: found in the headers (or the
         * chunks after them); this library would send the header block
         * twice. Refusing makes it close the connection instead. */
        if ((status == MHD_HTTP_BAD_REQUEST || status == 413) &&
            MHD_get_connection_values(con, MHD_HEADER_KIND, NULL, NULL) > 0)
                return MHD_NO;
#endif
        body = rolesd_rest_error_body(c && c->dialect == ROLESD_REST_ROCKETCHAT ? "/api" : "/", status);
        json = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
        if (!json)
                return MHD_NO;
        if (MHD_add_response_header(json, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") == MHD_NO) {
                MHD_destroy_response(json);
                return MHD_NO;
        }
        r = real_queue(con, status, json);
        MHD_destroy_response(json);     /* the connection holds its own reference */
        return r;
}
