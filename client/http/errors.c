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
 * path (rolesd_rest_error_body()); for errors found in the headers by a
 * library that would garble the answer, the answer is written to the
 * socket here and the library's refused: it then closes the connection,
 * as it would after its own. Should the linker ever bind the library's
 * calls to its own definition, its HTML answers simply go out as before.
 *
 * The dialect is that of the connection's latest request line (conns.c):
 * the only part of a request the library has parsed when such an error
 * can occur. */

#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#include <rolesd/rest.h>

#include "client/http/errors.h"
#include "client/http/conns.h"
#include "client/http/log.h"

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

#if MHD_VERSION < 0x01000000
/* Writes a whole JSON answer, closing the connection, on con's socket,
 * past the library: nothing of this request's answer is out yet and the
 * socket's send buffer is empty, so a few hundred bytes go at once (a
 * short write, which cannot happen, leaves a truncated answer the client
 * sees as such when the connection closes). */
static void send_whole(struct MHD_Connection *con, unsigned status, const char *body) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        const char *reason = MHD_get_reason_phrase_for(status);
        char buf[1024], date[64] = "";
        time_t now = time(NULL);
        struct tm tm;
        int n;

        if (!info)
                return;
        if (gmtime_r(&now, &tm))
                (void) strftime(date, sizeof date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        n = snprintf(buf, sizeof buf, "HTTP/1.1 %u %s\r\n%sConnection: close\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s", status, reason && *reason ? reason : "Error", date,
                     strlen(body), body);
        if (n > 0 && (size_t) n < sizeof buf)
                (void) !send(info->connect_fd, buf, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
}
#endif

/* Reached only from inside libmicrohttpd (see the top of the file). */
enum MHD_Result MHD_queue_response(struct MHD_Connection *con, unsigned int status, struct MHD_Response *resp) {
        struct MHD_Response *json;
        const char *body;
        enum MHD_Result r;

        if (!real_queue)
                return MHD_NO;
        body = rolesd_rest_error_body(http_conns_dialect(con) == ROLESD_REST_ROCKETCHAT ? "/api" : "/", status);
#if MHD_VERSION < 0x01000000
        /* 400 and 413 with headers parsed: found in the headers (or the
         * chunks after them); this library would send the header block
         * twice. The answer goes out here, whole, and refusing makes the
         * library close the connection. */
        if ((status == MHD_HTTP_BAD_REQUEST || status == 413) &&
            MHD_get_connection_values(con, MHD_HEADER_KIND, NULL, NULL) > 0) {
                send_whole(con, status, body);
                return MHD_NO;
        }
#endif
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
