/* rolesd/rest.h: librolesd's REST translation. Turns one HTTP request of
 * the Partoo (/v2) or Rocket.Chat (/api/v1) API into RPC calls to rolesd
 * and renders the answer in that API's dialect: status code and JSON body.
 * There is no HTTP here (no sockets, no parsing of request lines or
 * headers); an HTTP server such as rolesd-http hands over the parts of a
 * request it has already taken apart, and sends back what it gets.
 *
 * Every dialect rule lives behind this header: routing, validation of
 * query strings and bodies, the order in which errors are reported, error
 * bodies, defaults, response shapes and the OpenAPI document that
 * describes them all (GET /openapi.json).
 *
 * Functions are thread-safe as long as each thread uses its own rolesd
 * connection. They never log.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <rolesd/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The error format a path's responses use. */
typedef enum rolesd_rest_dialect {
        ROLESD_REST_PARTOO,     /* /v2 and everything not under /api:
                                 * {"errors":{"json":"..."}} */
        ROLESD_REST_ROCKETCHAT, /* /api and below: {"success":false,"error":"..."} */
} rolesd_rest_dialect;

/* The dialect of the responses to a request for path (as on the request
 * line, with or without its query string; NULL is treated as "/"). */
rolesd_rest_dialect rolesd_rest_dialect_of(const char *path);

/* The JSON body of an error response the HTTP server produces by itself,
 * in the dialect of path: 400 (a request it cannot parse), 404 (no such
 * resource), 405 (method not allowed), 413 (body larger than
 * HTTP_BODY_MAX), 414 (request target too long), 431 (headers too
 * large), 500 (internal error, e.g. out of memory), 501 (not
 * implemented), 503 (rolesd unreachable), 505 (HTTP version not
 * supported). Any other status gets the 500 body. Returns a static
 * NUL-terminated string; never NULL. */
const char *rolesd_rest_error_body(const char *path, unsigned status);

/* One HTTP request, taken apart. All strings are borrowed for the
 * duration of the call. */
typedef struct rolesd_rest_request {
        const char *method;     /* "GET", "POST", ... (HEAD is answered as GET) */
        const char *path;       /* as on the request line, still percent-encoded,
                                 * without the query string */
        const char *query;      /* raw query string without '?', or NULL */
        /* Case-insensitive header lookup: the value of the named header,
         * or NULL when absent. May be NULL (no headers). */
        const char *(*header)(void *userdata, const char *name);
        void *header_userdata;
        const char *body;       /* the request body (need not be NUL-terminated), or NULL */
        size_t body_len;
} rolesd_rest_request;

/* The answer to send. */
typedef struct rolesd_rest_response {
        unsigned status;        /* HTTP status code */
        char *body;             /* JSON text, NUL-terminated, malloc()'d; send it with
                                 * Content-Type: application/json */
        size_t body_len;        /* bytes in body, without the NUL */
        const char *allow;      /* for 405: the Allow header's value (static), else NULL */
        char *detail;           /* for 5xx: one line for the operator's log saying
                                 * why (never contains credentials), else NULL */
        bool more;              /* body is one part of the answer, more follow (tasks
                                 * only, see below); status is that of the whole */
} rolesd_rest_response;

/* Frees what a response holds and zeroes it. Accepts NULL. */
void rolesd_rest_response_done(rolesd_rest_response *r);

/* Answers one request.
 *
 * conn is the caller's connection slot: *conn may be NULL (not connected
 * yet) or a connection that broke since its last use. The function
 * connects to socket_path (see rolesd_socket_path(); NULL: the default)
 * when it needs the daemon and *conn is NULL, and replaces a connection
 * that turns out to be broken, storing the new one (or NULL) in *conn; the
 * caller keeps ownership and eventually calls rolesd_free(*conn). A call
 * that fails because the connection broke is retried once on a fresh
 * connection when it cannot have reached the daemon (nothing was sent) or
 * when it only reads; if the daemon stays unreachable the answer is 503.
 * conn may be NULL: then every request that needs the daemon gets 503.
 *
 * The answer is in *ret (which the caller releases with
 * rolesd_rest_response_done()), whatever the HTTP status.
 *
 * Returns 0 on success; -EINVAL when req, its method or path, or ret is
 * NULL; -ENOMEM when memory ran out: then ret->status is 500 and ret->body
 * is NULL, and the caller sends rolesd_rest_error_body(path, 500). */
int rolesd_rest_handle(rolesd **conn, const char *socket_path, const rolesd_rest_request *req,
                       rolesd_rest_response *ret);

/* ---- the same without blocking ----
 *
 * For servers with their own event loop and one pipelined rolesd
 * connection shared by many requests. A task is one request; running it
 * goes as far as the replies received so far allow:
 *
 *      t = rolesd_rest_task_new();
 *      while ((r = rolesd_rest_task_run(t, &req, &res, &frame, &len, &ro)) == 0) {
 *              send frame (after giving it a msgid of the shared connection,
 *              rpc_frame_set_msgid) and, when its response comes,
 *              rolesd_rest_task_reply(t, response, size);
 *              or, when the connection is lost or the daemon does not answer
 *              in time, rolesd_rest_task_fail(t, -ECONNRESET or -ETIMEDOUT)
 *      }
 *      r == 1: send res; r < 0: as rolesd_rest_handle() failing
 *
 * Each run starts the request over and answers its calls from the
 * recorded replies (the translation is deterministic), so req must
 * describe the same request every time; a request that pages through a
 * list goes on from its last page instead, so each run costs one page,
 * however many came before. The waiting is the caller's
 * business (suspend the HTTP connection, resume it when the reply is in).
 * A call with ro set only reads: the caller may send it again on a new
 * connection when one is lost before its reply.
 *
 * A long answer (GET /api/v1/roles.list past ROLESD_REST_PART_SIZE
 * bytes) comes in parts, so that memory does not grow with the list:
 * res.more says the body is one part and the task must be run again (and
 * its calls answered) for the next one, until a run answers with more
 * false. Send the parts as they come (chunked). A later run may end with
 * another status (the daemon lost midway: 503): the answer cannot be
 * completed, and the caller closes the connection without ending the
 * body, so that the client sees it truncated. */
#define ROLESD_REST_PART_SIZE (256u * 1024u)

typedef struct rolesd_rest_task rolesd_rest_task;

rolesd_rest_task *rolesd_rest_task_new(void);                   /* NULL: out of memory */
rolesd_rest_task *rolesd_rest_task_free(rolesd_rest_task *t);   /* accepts NULL, returns NULL */

/* Returns 1 with the answer in *ret; 0 when the request waits for the
 * response to the RPC request in *ret_frame (*ret_len bytes, valid until
 * the next call on t; its msgid is the 4 bytes at offset 3, big-endian,
 * which the caller replaces with its own); or a negative errno as
 * rolesd_rest_handle(). */
int rolesd_rest_task_run(rolesd_rest_task *t, const rolesd_rest_request *req, rolesd_rest_response *ret,
                         const void **ret_frame, size_t *ret_len, bool *ret_read_only);

/* The response frame to the request of the last run (copied), or the
 * failure of the connection it went on (negative errno). 0 or -ENOMEM. */
int rolesd_rest_task_reply(rolesd_rest_task *t, const void *frame, size_t len);
int rolesd_rest_task_fail(rolesd_rest_task *t, int error);

/* The OpenAPI 3.1 document served at GET /openapi.json: static JSON text,
 * NUL-terminated; its length in *ret_len when ret_len is not NULL. */
const char *rolesd_rest_openapi(size_t *ret_len);

#ifdef __cplusplus
}
#endif
