/* fuzz-rest.c: librolesd's REST translation (rolesd/rest.h) for one
 * dialect, built twice: fuzz-rest-partoo (paths under /v2) and
 * fuzz-rest-rocketchat (paths under /api/v1).
 *
 * The input is an HTTP request, taken apart the way rolesd-http does
 * before it runs it as a task:
 *
 *     METHOD SP PATH[?QUERY] LF  (the dialect's prefix is put before PATH)
 *     Name: value LF             (any number of header lines)
 *     LF
 *     body                       (the rest, at most HTTP_BODY_MAX bytes)
 *
 * The client's RPC calls reach the socketless daemon of fuzz-common.c
 * (send()/recv() are wrapped), with a real store holding organizations,
 * API keys and users whose secrets are deterministic so the seeds can use
 * them (tests/fuzz/make-seeds.py). Checked beyond "no crash, no sanitizer
 * report": the call succeeds (or reports ENOMEM with a 500), the status is
 * a real HTTP status but never 500 or 503 (the daemon is always there),
 * the body is a JSON object of exactly body_len bytes, a 405 names Allow,
 * an error body is in the dialect's format, and every RPC frame the
 * client sent was answered without an internal error. Then the same
 * request runs again, from the same database, as a rolesd_rest_task driven
 * a step at a time (what rolesd-http does through librolesd: run, send
 * the pending call, record its answer, run again): it must give the same
 * status, and for a GET the same body. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rolesd/rest.h>

#include "client/rest/rest-internal.h"
#include "fuzz-common.h"
#include "fuzz-require.h"
#include "client/http/limits.h"   /* HTTP_BODY_MAX */

#if defined(FUZZ_DIALECT_PARTOO)
#  define PREFIX "/v2"
#elif defined(FUZZ_DIALECT_ROCKETCHAT)
#  define PREFIX "/api/v1"
#else
#  error "define FUZZ_DIALECT_PARTOO or FUZZ_DIALECT_ROCKETCHAT"
#endif

#define HEADERS_MAX 64
#define LINE_MAX_ 8192

static char sock_path[128];
static int listen_fd = -1;

typedef struct Headers {
        char *name[HEADERS_MAX];
        char *value[HEADERS_MAX];
        size_t n;
} Headers;

static const char *header(void *userdata, const char *name) {
        Headers *h = userdata;
        for (size_t i = 0; i < h->n; i++)
                if (strcasecmp(h->name[i], name) == 0)
                        return h->value[i];
        return NULL;
}

/* The next line of [*p, end) as a new NUL-terminated string (NULs inside
 * are kept, so C string functions see a prefix, as with a real server
 * that would have refused them: both are fine to fuzz). */
static char *next_line(const uint8_t **p, const uint8_t *end, bool *ret_found) {
        const uint8_t *nl = memchr(*p, '\n', (size_t) (end - *p));
        size_t n = nl ? (size_t) (nl - *p) : (size_t) (end - *p);
        char *s;

        *ret_found = nl != NULL;
        if (n > LINE_MAX_)
                n = LINE_MAX_;
        s = malloc(n + 1);
        require(s);
        memcpy(s, *p, n);
        s[n] = 0;
        *p = nl ? nl + 1 : end;
        return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        fuzz_daemon_setup();
        /* A socket librolesd can connect() to; the bytes never go through
         * it (send/recv are wrapped), the connections are just accepted
         * and closed. */
        snprintf(sock_path, sizeof sock_path, "%s/fuzz.sock", fuzz_daemon.dir);
        strcpy(sa.sun_path, sock_path);
        listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        require(listen_fd >= 0);
        require(bind(listen_fd, (struct sockaddr *) &sa, sizeof sa) == 0);
        require(listen(listen_fd, 64) == 0);
        return 0;
}

static void check_dialect_error(const json_t *body, unsigned status) {
        if (status < 400)
                return;
#if defined(FUZZ_DIALECT_PARTOO)
        require(json_is_object(json_object_get(body, "errors")));
#else
        const json_t *success = json_object_get(body, "success");
        const json_t *st = json_object_get(body, "status");
        require(json_is_false(success) || (json_is_string(st) && strcmp(json_string_value(st), "error") == 0));
#endif
}

/* The request as a task, its calls answered by the in-process daemon one
 * by one; an answer in parts (res.more) is put back together, each part
 * with the status of the first. Returns rest_task_step()'s final result. */
static int answer_as_task(const rolesd_rest_request *req, rolesd_rest_response *resp) {
        rolesd_rest_task *t = rolesd_rest_task_new();
        Buf parts = {0};
        unsigned status = 0;
        int r;

        require(t);
        for (unsigned calls = 0;; calls++) {
                const void *frame;
                const char *method;
                size_t len;

                r = rest_task_step(t, req, resp, &frame, &len, &method);
                if (r == 1 && resp->more) {
                        require(resp->body && (status == 0 || resp->status == status));
                        status = resp->status;
                        require(buf_append(&parts, resp->body, resp->body_len) == 0);
                        rolesd_rest_response_done(resp);
                        continue;
                }
                if (r != 0)
                        break;
                require(calls < 64);            /* role.list pages are few here */
                fuzz_client_reset();
                require(fuzz_feed_stream(frame, len, 1) == 1);
                r = rest_task_reply(t, buf_head(&fuzz_daemon.conn.out), buf_pending(&fuzz_daemon.conn.out));
                require(r != -EBADMSG);                         /* the reply to that very call */
                if (r < 0)
                        (void) rest_task_fail(t, r, NULL);      /* the next run answers 500 */
        }
        if (r == 1 && buf_pending(&parts) > 0 && resp->body) {
                require(resp->status == status);
                require(buf_append(&parts, resp->body, resp->body_len + 1) == 0);      /* with its NUL */
                free(resp->body);
                resp->body_len = buf_pending(&parts) - 1;
                resp->body = parts.data;                        /* start is 0: only appended to */
                parts = (Buf) {0};
        }
        buf_done(&parts);
        rolesd_rest_task_free(t);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *p = data, *end = data + size;
        Headers h = {0};
        rolesd *conn = NULL;
        rolesd_rest_response resp = {0};
        char *line, *method, *target, *query, *path;
        bool found;
        int r;

        if (listen_fd < 0)
                LLVMFuzzerInitialize(NULL, NULL);
        fuzz_input_begin();

        /* Request line. */
        line = next_line(&p, end, &found);
        method = line;
        target = strchr(line, ' ');
        if (target)
                *target++ = 0;
        else
                target = (char *) "";
        query = strchr(target, '?');
        if (query)
                *query++ = 0;
        path = malloc(strlen(PREFIX) + strlen(target) + 1);
        require(path);
        strcpy(stpcpy(path, PREFIX), target);

        /* Headers, up to an empty line. */
        while (p < end) {
                char *l = next_line(&p, end, &found), *colon;
                if (l[0] == 0) {
                        free(l);
                        break;
                }
                colon = strchr(l, ':');
                if (!colon || h.n == HEADERS_MAX) {
                        free(l);
                        continue;
                }
                *colon = 0;
                h.name[h.n] = l;
                h.value[h.n] = colon + 1 + (colon[1] == ' ');
                h.n++;
        }

        size_t body_len = (size_t) (end - p);
        if (body_len > HTTP_BODY_MAX)
                body_len = HTTP_BODY_MAX;       /* rolesd-http answers 413 before */
        char *body = malloc(body_len ? body_len : 1);   /* exact size: ASan sees overreads */
        require(body);
        memcpy(body, p, body_len);

        rolesd_rest_request req = {
                .method = method,
                .path = path,
                .query = query,
                .header = header,
                .header_userdata = &h,
                .body = body_len || (size % 2) ? body : NULL,
                .body_len = body_len,
        };
        require(rolesd_new(sock_path, &conn) == 0);
        r = rolesd_rest_handle(conn, &req, &resp);
        if (r == -ENOMEM)
                require(resp.status == 500 && !resp.body);
        else {
                json_error_t e;
                json_t *j;

                require(r == 0);
                require(resp.status >= 200 && resp.status <= 599);
                if (resp.status == 500 || resp.status == 503) {
                        fprintf(stderr, "status %u: %s\n", resp.status, resp.detail ? resp.detail : "(no detail)");
                        abort();
                }
                require(resp.body);
                require(strlen(resp.body) == resp.body_len);
                j = json_loadb(resp.body, resp.body_len, 0, &e);
                require(j && json_is_object(j));
                check_dialect_error(j, resp.status);
                if (resp.status == 405)
                        require(resp.allow && *resp.allow);
                json_decref(j);
        }

        /* The same request as rolesd-http runs it, on the same database. */
        if (r == 0) {
                rolesd_rest_response tresp = {0};
                int k;

                fuzz_input_end();
                fuzz_input_begin();
                k = answer_as_task(&req, &tresp);
                if (k == -ENOMEM)
                        require(tresp.status == 500 && !tresp.body);
                else {
                        require(k == 1);
                        require(tresp.status == resp.status);
                        if (strcmp(method, "GET") == 0)
                                require(tresp.body_len == resp.body_len &&
                                        memcmp(tresp.body, resp.body, resp.body_len) == 0);
                }
                rolesd_rest_response_done(&tresp);
        }

        rolesd_rest_response_done(&resp);
        rolesd_free(conn);
        for (int fd; (fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
                close(fd);
        for (size_t i = 0; i < h.n; i++)
                free(h.name[i]);
        free(body);
        free(path);
        free(line);
        fuzz_input_end();
        return 0;
}
