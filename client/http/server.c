/* server.c: rolesd-http's HTTP side. Owns the libmicrohttpd daemon
 * (a pool of internal polling threads, connection limits and timeout), the
 * per-request state (raw request target, body accumulated up to
 * HTTP_BODY_MAX, 413 beyond), the upstream connections to rolesd
 * (upstream.c; for reads, and for the rest, each shared by some of the
 * workers), and driving each complete request's rolesd_rest_task: run it,
 * and while it waits for an RPC answer, suspend the connection and send
 * the call on the worker's upstream of the request's lane; the answer
 * resumes the connection and the task runs again, until it has the
 * response, sent as application/json; a long one (roles.list) is sent
 * chunked, part by part, from a content reader that drives the task the
 * same way. Everything the APIs mean is rolesd/rest.h's business, not
 * this file's. */

#include "client/http/server.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <rolesd/client.h>
#include <rolesd/rest.h>

#include "client/http/conns.h"
#include "client/http/errors.h"
#include "client/http/framing.h"
#include "client/http/limits.h"
#include "client/http/log.h"
#include "client/http/upstream.h"

/* Which upstreams a request's calls take: a GET's (or HEAD's) those of
 * reads, anything else those of writes. rolesd answers a read on a
 * connection after that connection's pending writes: reads of their own
 * wait behind no other client's creates, and each request's calls, all
 * on one connection, still see its own writes. */
enum { LANE_READ, LANE_WRITE, LANES };
_Static_assert(LANES * HTTP_LANE_UPSTREAMS <= HTTP_THREADS, "at most one connection to rolesd per worker");

/* A worker thread's upstreams, one per lane, taken on first use. */
typedef struct Worker {
        unsigned index;
        Upstream *lane[LANES];
} Worker;

struct HttpServer {
        struct MHD_Daemon *mhd;
        HttpConns *conns;               /* the connections' bookkeeping: head deadlines */
        char *socket_path;              /* rolesd's socket; NULL: the default */
        pthread_key_t worker_key;       /* each worker thread's Worker */
        bool have_key;
        pthread_mutex_t lock;
        Worker workers[HTTP_THREADS];   /* under lock: given to the threads as they come */
        unsigned n_workers;
        Upstream *upstreams[LANES][HTTP_LANE_UPSTREAMS]; /* under lock: made as the workers need them */
        bool stopping;                  /* under lock: no new upstream (it would not be stopped) */
};

/* One request, from its request line to its completion. */
typedef struct Request {
        struct MHD_Connection *con;
        char *uri;              /* the request target as received, from the URI callback */
        char *target;           /* a copy of it, cut into req's path and query */
        rolesd_rest_request req;/* what the task translates, once the body is in */
        rolesd_rest_task *task; /* its translation, run again as each RPC answer comes */
        UpstreamWaiter waiter;  /* while its call is out: resumes the connection */
        char *body;             /* what arrived of the body, NUL-terminated */
        size_t len, cap;
        bool started;           /* the handler's first call has been answered */
        bool too_big;           /* the body went past HTTP_BODY_MAX: discard, answer 413 */
        size_t discarded;       /* body bytes dropped since */
        /* An answer sent in parts (rolesd/rest.h: res.more), from the
         * content reader: the part being sent, and whether more follow. */
        HttpServer *server;
        unsigned status;
        char *part;
        size_t part_len, part_sent;
        bool more;
        bool head;              /* a HEAD request: parts are counted, not sent */
        unsigned lane;          /* LANE_READ or LANE_WRITE: where its calls go */
        uint64_t head_len;      /* their bytes so far */
} Request;

static LogLimit log_request_limit;

/* ---- responses ---- */

/* Queues resp (NULL: out of memory) as application/json, with an Allow
 * header when allow is set; drops our reference to it either way. */
static enum MHD_Result queue_json(struct MHD_Connection *con, unsigned status, struct MHD_Response *resp,
                                  const char *allow) {
        enum MHD_Result r = MHD_NO;

        if (!resp)
                return MHD_NO;
        if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") == MHD_YES &&
            (!allow || MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) == MHD_YES))
                r = http_queue_response(con, status, resp);
        MHD_destroy_response(resp);     /* the connection holds its own reference */
        return r;
}

static enum MHD_Result respond(struct MHD_Connection *con, unsigned status, char *body, size_t len,
                               bool must_free, const char *allow) {
        struct MHD_Response *resp;

        resp = MHD_create_response_from_buffer(len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!resp && must_free)
                free(body);
        return queue_json(con, status, resp, allow);
}

/* One of librolesd's fixed error bodies, in the dialect of path. */
static enum MHD_Result respond_error(struct MHD_Connection *con, const char *path, unsigned status) {
        const char *body = rolesd_rest_error_body(path, status);

        return respond(con, status, (char *) body, strlen(body), false, NULL);
}

/* The same, closing the connection after it: for a request whose framing
 * cannot be trusted, whatever follows it on the connection is not read. */
static enum MHD_Result respond_error_close(struct MHD_Connection *con, const char *path, unsigned status) {
        const char *body = rolesd_rest_error_body(path, status);
        struct MHD_Response *resp;

        resp = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
        if (resp && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_NO)
                resp = (MHD_destroy_response(resp), NULL);
        return queue_json(con, status, resp, NULL);
}

/* ---- requests ---- */

static void *request_new(void *cls, const char *uri, struct MHD_Connection *con) {
        Request *q = calloc(1, sizeof *q);

        http_conns_request_line(con, uri);

        if (q)
                q->uri = strdup(uri);   /* NULL: fall back to the decoded URL */
        return q;
}

static void request_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                              enum MHD_RequestTerminationCode toe) {
        HttpServer *s = cls;
        Request *q = *con_cls;

        http_conns_request_done(s->conns, con);
        if (!q)
                return;
        rolesd_rest_task_free(q->task);
        free(q->uri);
        free(q->target);
        free(q->body);
        free(q->part);
        free(q);
        *con_cls = NULL;
}

/* Appends body bytes; false once the body is larger than HTTP_BODY_MAX. */
static bool request_append(Request *q, const char *data, size_t n) {
        if (q->too_big || n > HTTP_BODY_MAX - q->len) {
                q->too_big = true;
                q->body = (free(q->body), NULL);
                q->len = q->cap = 0;
                return false;
        }
        if (q->len + n + 1 > q->cap) {
                size_t cap = q->cap ? q->cap : 1024;
                char *b;

                while (cap < q->len + n + 1)
                        cap *= 2;
                if (cap > HTTP_BODY_MAX + 1)
                        cap = HTTP_BODY_MAX + 1;
                b = realloc(q->body, cap);
                if (!b)
                        return false;   /* too_big stays false: the caller answers 500 */
                q->body = b;
                q->cap = cap;
        }
        memcpy(q->body + q->len, data, n);
        q->len += n;
        q->body[q->len] = '\0';
        return true;
}

/* Whether a Content-Length announces more than HTTP_BODY_MAX. */
static bool content_length_too_big(const char *v) {
        unsigned long long n = 0;

        for (; *v >= '0' && *v <= '9'; v++) {
                n = n * 10 + (unsigned) (*v - '0');
                if (n > HTTP_BODY_MAX)
                        return true;
        }
        return false;
}

static const char *header_get(void *userdata, const char *name) {
        return MHD_lookup_connection_value(userdata, MHD_HEADER_KIND, name);
}

/* Splits a request target (in place) into path and query; skips the
 * scheme and authority of an absolute-form target. */
static void target_split(char *t, char **ret_path, const char **ret_query) {
        char *p = t, *q;

        if (strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0) {
                p = strchr(strchr(p, ':') + 3, '/');
                if (!p) {
                        p = t;
                        strcpy(p, "/");
                }
        }
        p[strcspn(p, "#")] = '\0';
        q = strchr(p, '?');
        if (q)
                *q++ = '\0';
        *ret_path = p;
        *ret_query = q;
}

/* The worker thread's upstream to rolesd for lane: the one it shares
 * with every HTTP_LANE_UPSTREAMS-th worker, made on first use; none once
 * the server stops (-ESHUTDOWN). */
static int worker_upstream(HttpServer *s, unsigned lane, Upstream **ret) {
        Worker *w = pthread_getspecific(s->worker_key);
        int r = 0;

        if (w && w->lane[lane]) {
                *ret = w->lane[lane];
                return 0;
        }
        pthread_mutex_lock(&s->lock);
        if (!w && s->n_workers < HTTP_THREADS) {
                w = &s->workers[s->n_workers];
                w->index = s->n_workers++;
                (void) pthread_setspecific(s->worker_key, w);   /* the key exists: cannot fail */
        }
        if (s->stopping)
                r = -ESHUTDOWN;
        else if (!w)
                r = -ENOMEM;    /* more threads than workers: cannot happen */
        else {
                Upstream **u = &s->upstreams[lane][w->index % HTTP_LANE_UPSTREAMS];

                if (!*u)
                        r = upstream_new(s->socket_path, u);
                w->lane[lane] = *u;
        }
        pthread_mutex_unlock(&s->lock);
        *ret = r >= 0 ? w->lane[lane] : NULL;
        return r;
}

/* The call is answered (or failed), its outcome in the task: on the
 * upstream's thread, the connection is resumed and the handler (or, for
 * an answer in parts, the content reader) runs the task again. */
static void request_wake(void *userdata) {
        Request *q = userdata;

        MHD_resume_connection(q->con);  /* q may be gone from here on */
}

/* Runs q's task as far as the answers so far allow: 1 with the answer,
 * or its next part, in *res; 0 when it waits for rolesd (the connection
 * suspended until the call's answer resumes it); a negative errno. */
static int task_step(HttpServer *s, struct MHD_Connection *con, Request *q, rolesd_rest_response *res) {
        for (;;) {
                Upstream *u;
                int r;

                r = rolesd_rest_task_run(q->task, &q->req, res);
                if (r != 0)
                        return r;
                (void) worker_upstream(s, q->lane, &u); /* none: the call fails (503) */
                /* Suspended before the call goes out: its answer resumes it. */
                q->con = con;
                q->waiter = (UpstreamWaiter) { .wake = request_wake, .userdata = q };
                MHD_suspend_connection(con);
                r = upstream_send(u, q->task, &q->waiter);
                if (r >= 0)
                        return 0;
                MHD_resume_connection(con);
                if (r == -EINVAL)
                        return r;
                /* The failure is in the task: its next run answers. */
        }
}

static void log_failure(Request *q, int r, const rolesd_rest_response *res) {
        if (!http_log_ratelimit(&log_request_limit))
                return;
        if (r < 0)
                http_log(LOG_ERR, "%s %.200s: %s", q->req.method, q->req.path, strerror(-r));
        else
                http_log(LOG_WARNING, "%s %.200s: %u: %s", q->req.method, q->req.path, res->status,
                         res->detail ? res->detail : "internal error");
}

/* Takes res's body over as the part to send next. */
static void part_take(Request *q, rolesd_rest_response *res) {
        free(q->part);
        q->part = res->body;
        res->body = NULL;
        q->part_len = res->body_len;
        q->part_sent = 0;
        q->more = res->more;
}

/* The content reader of an answer in parts: copies out the part at hand,
 * and when it is sent, runs the task for the next (suspending the
 * connection while rolesd is asked). An answer that fails midway cannot
 * change its status any more: the connection is closed before the body's
 * end, so the client sees it truncated. */
static ssize_t parts_read(void *cls, uint64_t pos, char *buf, size_t max) {
        Request *q = cls;
        size_t n;

        (void) pos;
        while (q->part_sent == q->part_len) {
                rolesd_rest_response res = { .size = sizeof(rolesd_rest_response) };
                int r;

                if (!q->more)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                r = task_step(q->server, q->con, q, &res);
                if (r == 0)
                        return 0;       /* suspended: called again when the page is in */
                if (r < 0 || !res.body || res.status != q->status) {
                        log_failure(q, r < 0 ? r : 0, &res);
                        rolesd_rest_response_done(&res);
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                }
                part_take(q, &res);
                rolesd_rest_response_done(&res);
        }
        n = q->part_len - q->part_sent;
        if (n > max)
                n = max;
        memcpy(buf, q->part + q->part_sent, n);
        q->part_sent += n;
        return (ssize_t) n;
}

/* The first part of an answer in parts, sent chunked (or, to an HTTP/1.0
 * client, until the connection closes). */
static enum MHD_Result respond_parts(struct MHD_Connection *con, Request *q, rolesd_rest_response *res) {
        q->con = con;
        q->status = res->status;
        part_take(q, res);
        return queue_json(con, res->status,
                          MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_PART_BLOCK, parts_read, q, NULL),
                          NULL);
}

/* Never called: a HEAD request gets no body. */
static ssize_t no_body_read(void *cls, uint64_t pos, char *buf, size_t max) {
        (void) cls, (void) pos, (void) buf, (void) max;
        return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* The answer to HEAD for an answer that comes in parts: its headers, with
 * the length of all the parts. (Queued with an unknown length, it would be
 * chunked, and libmicrohttpd 0.9.75 ends a chunked answer to HEAD with a
 * last chunk, a body HEAD must not have: the client would take it for the
 * start of the next response.) */
static enum MHD_Result respond_head(struct MHD_Connection *con, unsigned status, uint64_t len) {
        return queue_json(con, status, MHD_create_response_from_callback(len, HTTP_PART_BLOCK, no_body_read, NULL, NULL),
                          NULL);
}

static enum MHD_Result answer(HttpServer *s, struct MHD_Connection *con, Request *q, const char *url,
                              const char *method) {
        rolesd_rest_response res = { .size = sizeof(rolesd_rest_response) };
        enum MHD_Result ret;
        int r;

        if (!q->task) {
                const char *path = url, *query = NULL;

                if (q->uri) {
                        char *p;

                        q->target = strdup(q->uri);
                        if (!q->target)
                                return respond_error(con, url, 500);
                        target_split(q->target, &p, &query);
                        http_path_decode(p);
                        path = p;
                }
                q->req = (rolesd_rest_request) {
                        .size = sizeof(rolesd_rest_request),
                        .method = method,       /* libmicrohttpd's: valid until the request completes */
                        .path = path,
                        .query = query,
                        .header = header_get,
                        .header_userdata = con,
                        .body = q->body,
                        .body_len = q->len,
                };
                q->server = s;
                q->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
                q->lane = q->head || strcmp(method, MHD_HTTP_METHOD_GET) == 0 ? LANE_READ : LANE_WRITE;
                q->task = rolesd_rest_task_new();
                if (!q->task)
                        return respond_error(con, path, 500);
        }

        r = task_step(s, con, q, &res);
        while (r == 1 && res.more && q->head) {
                q->head_len += res.body_len;
                rolesd_rest_response_done(&res);
                r = task_step(s, con, q, &res);
        }
        if (r == 0)
                return MHD_YES;
        if (r < 0 || !res.body) {
                log_failure(q, r < 0 ? r : -ENOMEM, &res);
                rolesd_rest_response_done(&res);
                return respond_error(con, q->req.path, 500);
        }
        if (res.status >= 500)
                log_failure(q, 0, &res);
        if (res.more)
                ret = respond_parts(con, q, &res);
        else if (q->head_len > 0 && res.status == 200)
                ret = respond_head(con, res.status, q->head_len + res.body_len);
        else {
                ret = respond(con, res.status, res.body, res.body_len, true, res.allow);
                res.body = NULL;
        }
        rolesd_rest_response_done(&res);
        return ret;
}

/* libmicrohttpd calls this several times per request: once when the
 * headers are in, once per piece of body, and once more at the end. The
 * answer is queued only on a later call than the first: queued on the
 * first, libmicrohttpd 0.9.75 would close a keep-alive connection. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls) {
        HttpServer *s = cls;
        Request *q = *con_cls;

        if (!q) {
                q = calloc(1, sizeof *q);
                if (!q)
                        return MHD_NO;
                *con_cls = q;
        }
        if (!q->started) {
                const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                unsigned refused = http_framing_check(con, version);

                q->started = true;
                if (http_conns_head_done(s->conns, con))
                        /* Past its address's limit: the answer of a server too busy. */
                        return respond_error_close(con, q->uri ? q->uri : url, MHD_HTTP_SERVICE_UNAVAILABLE);
                if (refused)
                        return respond_error_close(con, q->uri ? q->uri : url, refused);
                if (cl && content_length_too_big(cl))
                        /* Refuse before the body is sent (no 100 Continue); the
                         * connection closes after this answer. */
                        return respond_error(con, q->uri ? q->uri : url, 413);
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;

                /* libmicrohttpd 0.9.75 takes no answer while the body is
                 * arriving: past the limit, the rest is read and dropped
                 * (up to HTTP_BODY_DISCARD_MAX, then the connection is
                 * closed), and 413 goes out once it has all arrived. */
                *upload_data_size = 0;
                if (!request_append(q, upload_data, n)) {
                        if (!q->too_big)
                                return MHD_NO;  /* out of memory: drop the connection */
                        q->discarded += n;
                        if (q->discarded > HTTP_BODY_DISCARD_MAX)
                                return MHD_NO;
                }
                return MHD_YES;
        }
        if (q->too_big)
                return respond_error(con, q->uri ? q->uri : url, 413);
        return answer(s, con, q, url, method);
}

/* ---- the server ---- */

int http_server_start(int listen_fd, const char *socket_path, HttpServer **ret) {
        HttpServer *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s) {
                close(listen_fd);
                return http_log_errno(LOG_ERR, -ENOMEM, "out of memory");
        }
        if (socket_path) {
                s->socket_path = strdup(socket_path);
                if (!s->socket_path) {
                        close(listen_fd);
                        http_server_stop(s);
                        return http_log_errno(LOG_ERR, -ENOMEM, "out of memory");
                }
        }
        r = http_errors_init();
        if (r < 0) {
                close(listen_fd);
                http_server_stop(s);
                return r;
        }
        pthread_mutex_init(&s->lock, NULL);
        r = pthread_key_create(&s->worker_key, NULL);   /* the server frees the upstreams */
        if (r != 0) {
                close(listen_fd);
                http_server_stop(s);
                return http_log_errno(LOG_ERR, -r, "cannot create thread-local storage: %s", strerror(r));
        }
        s->have_key = true;
        r = http_conns_new(&s->conns);
        if (r < 0) {
                close(listen_fd);
                http_server_stop(s);
                return r;
        }

        s->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | HTTP_MHD_POLLER | MHD_USE_ERROR_LOG |
                                  MHD_ALLOW_SUSPEND_RESUME,
                                  0, NULL, NULL, handle, s,
                                  MHD_OPTION_EXTERNAL_LOGGER, http_log_mhd, s, /* first: covers the rest */
                                  MHD_OPTION_LISTEN_SOCKET, (MHD_socket) listen_fd,
                                  MHD_OPTION_THREAD_POOL_SIZE, (unsigned) HTTP_THREADS,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned) HTTP_CONNECTIONS_MAX,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) HTTP_CONNECTION_TIMEOUT_SEC,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_CONNECTION_MEMORY_MAX,
                                  MHD_OPTION_URI_LOG_CALLBACK, request_new, s,
                                  MHD_OPTION_NOTIFY_COMPLETED, request_completed, s,
                                  MHD_OPTION_NOTIFY_CONNECTION, http_conns_notify, s->conns,
                                  MHD_OPTION_END);
        if (!s->mhd) {
                /* listen_fd is not closed here: whether libmicrohttpd did
                 * is not documented, and the caller exits anyway. */
                http_server_stop(s);
                return http_log_errno(LOG_ERR, -EIO, "cannot start the HTTP server (libmicrohttpd refused its options)");
        }
        http_log_serving();
        *ret = s;
        return 0;
}

HttpServer *http_server_stop(HttpServer *s) {
        if (!s)
                return NULL;
        /* Every suspended request is answered (503) and resumed before
         * libmicrohttpd stops, as it requires; later calls fail at once,
         * and a worker that has no upstream yet gets none (one made now
         * would leave its request suspended: libmicrohttpd aborts). */
        if (s->have_key) {
                pthread_mutex_lock(&s->lock);
                s->stopping = true;
                pthread_mutex_unlock(&s->lock);
        }
        for (unsigned l = 0; l < LANES; l++)
                for (unsigned i = 0; i < HTTP_LANE_UPSTREAMS; i++)
                        upstream_stop(s->upstreams[l][i]);
        if (s->mhd)
                MHD_stop_daemon(s->mhd);        /* joins the workers: their connections are freed */
        for (unsigned l = 0; l < LANES; l++)
                for (unsigned i = 0; i < HTTP_LANE_UPSTREAMS; i++)
                        upstream_free(s->upstreams[l][i]);
        http_conns_free(s->conns);
        if (s->have_key) {
                pthread_key_delete(s->worker_key);
                pthread_mutex_destroy(&s->lock);
        }
        free(s->socket_path);
        free(s);
        return NULL;
}
