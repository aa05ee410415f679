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
 * Functions are thread-safe as long as a connection is used by one thread
 * at a time. They never log.
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
 * resource), 405 (method not allowed), 413 (body larger than the
 * server accepts), 414 (request target too long), 431 (headers too
 * large), 500 (internal error, e.g. out of memory), 501 (not
 * implemented), 503 (rolesd unreachable), 505 (HTTP version not
 * supported). Any other status gets the 500 body. Returns a static
 * NUL-terminated string; never NULL. */
const char *rolesd_rest_error_body(const char *path, unsigned status);

/* One HTTP request, taken apart. All strings are borrowed for the
 * duration of the call (by a task: until it is freed). */
typedef struct rolesd_rest_request {
        size_t size;            /* sizeof(rolesd_rest_request), or 0 (see rolesd/client.h) */
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

/* The answer to send. The caller allocates it (zeroed, or with size
 * set); the library fills it and never writes size. */
typedef struct rolesd_rest_response {
        size_t size;            /* sizeof(rolesd_rest_response), or 0 (see rolesd/client.h) */
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

/* Frees what a response holds and zeroes it (but its size). Accepts NULL. */
void rolesd_rest_response_done(rolesd_rest_response *r);

/* Answers one request, with calls on c (see rolesd/client.h: a
 * connection reconnects by itself, and a call that cannot have run, or
 * only reads, is sent again on a new connection after a loss; c's timeout
 * bounds each call). A daemon unreachable, or not answering in time, is a
 * 503; so is c NULL. The connection is used synchronously: not from a
 * callback of its own.
 *
 * The answer is in *ret (which the caller releases with
 * rolesd_rest_response_done()), whatever the HTTP status.
 *
 * Returns 0 on success; -EINVAL when req, its method or path, or ret is
 * NULL; -ENOMEM when memory ran out: then ret->status is 500 and ret->body
 * is NULL, and the caller sends rolesd_rest_error_body(path, 500). */
int rolesd_rest_handle(rolesd *c, const rolesd_rest_request *req, rolesd_rest_response *ret);

/* ---- the same without blocking ----
 *
 * For servers with an event loop of their own and one asynchronous
 * connection to rolesd shared by many requests. A task is one request;
 * running it goes as far as the replies received so far allow:
 *
 *      t = rolesd_rest_task_new();
 *      while ((r = rolesd_rest_task_run(t, &req, &res)) == 0) {
 *              rolesd_rest_task_send(t, c, wake, userdata);
 *              return to the loop, which runs rolesd_process(c) as c's
 *              socket and timeout ask; it calls wake(t, userdata) once
 *              the reply (or the failure) is in t
 *      }
 *      r == 1: send res; r < 0: as rolesd_rest_handle() failing
 *
 * Each run starts the request over and answers its calls from the
 * recorded replies (the translation is deterministic), so req must
 * describe the same request every time; a request that pages through a
 * list goes on from its last page instead, so each run costs one page,
 * however many came before. The waiting is the caller's business
 * (suspend the HTTP connection, resume it from wake).
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
/* Accepts NULL, returns NULL. A task whose call is in flight is freed
 * without its wake; the connection it was sent on must still be there
 * (freeing a connection wakes its tasks first). */
rolesd_rest_task *rolesd_rest_task_free(rolesd_rest_task *t);

/* Returns 1 with the answer in *ret; 0 when the request waits for a call
 * to rolesd (send it with rolesd_rest_task_send()); or a negative errno as
 * rolesd_rest_handle(). */
int rolesd_rest_task_run(rolesd_rest_task *t, const rolesd_rest_request *req, rolesd_rest_response *ret);

typedef void (*rolesd_rest_wake_fn)(rolesd_rest_task *t, void *userdata);

/* Sends the call the last run waits for as an asynchronous call on c:
 * wake(t, userdata) is called exactly once, from rolesd_process() (or
 * rolesd_wait(), a synchronous call, rolesd_free()) on c, when its reply,
 * checked to answer that very call, or its failure (no answer in c's
 * timeout, connection lost) is recorded in t; then run t again. Returns
 * 0; or, when the call cannot be sent (c NULL, rolesd unreachable...),
 * records that failure in t (the next run answers 503), returns it, and
 * wake is not called. -EINVAL when the last run waits for nothing. */
int rolesd_rest_task_send(rolesd_rest_task *t, rolesd *c, rolesd_rest_wake_fn wake, void *userdata);

/* The OpenAPI 3.1 document served at GET /openapi.json: static JSON text,
 * NUL-terminated; its length in *ret_len when ret_len is not NULL. */
const char *rolesd_rest_openapi(size_t *ret_len);

#ifdef __cplusplus
}
#endif
