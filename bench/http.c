/* http.c: the HTTP side. A minimal libmicrohttpd server returning a fixed
 * JSON body (the in-run reference for rolesd-http), wrk runs and their
 * output, and a one-shot blocking HTTP probe. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#if HAVE_MHD
#include <microhttpd.h>
#include "client/http/limits.h"  /* HTTP_MHD_POLLER: the shim's threading mode */

typedef struct MhdRef {
        struct MHD_Daemon *d;
        struct MHD_Response *resp;
        char *body;
} MhdRef;

static int upload_marker;

static enum MHD_Result mhd_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                   const char *version, const char *upload_data, size_t *upload_data_size,
                                   void **con_cls) {
        MhdRef *m = cls;

        if (!*con_cls) {
                *con_cls = &upload_marker;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                *upload_data_size = 0;  /* a real server would parse it */
                return MHD_YES;
        }
        return MHD_queue_response(conn, MHD_HTTP_OK, m->resp);
}

bool mhd_ref_available(void) {
        return true;
}

unsigned mhd_ref_default_threads(void) {
        return HTTP_THREADS;    /* as rolesd-http */
}

void *mhd_ref_start(const char *mode, unsigned threads, size_t body_len, unsigned *ret_port) {
        static const char head[] = "{\"status\":\"success\",\"api_id\":\"";
        MhdRef *m = calloc(1, sizeof *m);
        unsigned flags, port;
        int lfd;

        if (!m || body_len < sizeof head + 2)
                die("mhd reference: bad arguments");
        m->body = malloc(body_len + 1);
        if (!m->body)
                die("out of memory");
        memcpy(m->body, head, sizeof head - 1);
        memset(m->body + sizeof head - 1, 'x', body_len - (sizeof head - 1) - 2);
        memcpy(m->body + body_len - 2, "\"}", 2);
        m->body[body_len] = 0;
        m->resp = MHD_create_response_from_buffer(body_len, m->body, MHD_RESPMEM_PERSISTENT);
        if (!m->resp)
                die("MHD_create_response_from_buffer failed");
        MHD_add_response_header(m->resp, "Content-Type", "application/json");

        if (strcmp(mode, "per-connection") == 0) {
                flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
                threads = 1;
        } else if (strcmp(mode, "pool") == 0) {
                flags = MHD_USE_INTERNAL_POLLING_THREAD | HTTP_MHD_POLLER;     /* as rolesd-http */
        } else if (strcmp(mode, "internal") == 0) {
                flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
                threads = 1;
        } else
                die("unknown --mhd-mode %s (per-connection, pool, internal)", mode);

        /* Listening before the server starts: no port to race for. */
        lfd = tcp_listen_loopback(&port);
        if (threads > 1)
                m->d = MHD_start_daemon(flags, 0, NULL, NULL, mhd_handler, m,
                                        MHD_OPTION_LISTEN_SOCKET, (MHD_socket) lfd,
                                        MHD_OPTION_THREAD_POOL_SIZE, threads,
                                        MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_END);
        else
                m->d = MHD_start_daemon(flags, 0, NULL, NULL, mhd_handler, m,
                                        MHD_OPTION_LISTEN_SOCKET, (MHD_socket) lfd,
                                        MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_END);
        if (!m->d)
                die("cannot start the libmicrohttpd reference on port %u", port);
        *ret_port = port;
        return m;
}

void mhd_ref_stop(void *handle) {
        MhdRef *m = handle;
        if (!m)
                return;
        MHD_stop_daemon(m->d);
        MHD_destroy_response(m->resp);
        free(m->body);
        free(m);
}
#else
bool mhd_ref_available(void) {
        return false;
}
unsigned mhd_ref_default_threads(void) {
        return 1;
}
void *mhd_ref_start(const char *mode, unsigned threads, size_t body_len, unsigned *ret_port) {
        return NULL;
}
void mhd_ref_stop(void *handle) {
}
#endif

int tcp_listen_loopback(unsigned *ret_port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;
        int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 1024) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                die("cannot listen on a loopback TCP port: %s", strerror(errno));
        *ret_port = ntohs(sa.sin_port);
        return fd;
}

bool wrk_available(void) {
        const char *path = getenv("PATH");
        char *dup, *save = NULL;
        bool found = false;

        if (!path)
                path = "/usr/bin:/bin";
        dup = strdup(path);
        if (!dup)
                return false;
        for (char *d = strtok_r(dup, ":", &save); d && !found; d = strtok_r(NULL, ":", &save))
                found = access(fmt("%s/wrk", d), X_OK) == 0;
        free(dup);
        return found;
}

static double parse_latency_ms(const char *s) {
        double v = 0;
        char unit[8] = "";
        if (sscanf(s, "%lf%7s", &v, unit) < 1)
                return -1;
        if (strcmp(unit, "us") == 0)
                return v / 1000.0;
        if (strcmp(unit, "ms") == 0)
                return v;
        if (strcmp(unit, "s") == 0)
                return v * 1000.0;
        if (strcmp(unit, "m") == 0)
                return v * 60000.0;
        return v;
}

void wrk_run(const char *script, const char *url, unsigned conns, unsigned threads, double seconds,
             const char *const *script_args, WrkResult *ret) {
        char *argv[64];
        size_t argc = 0;
        int pfd[2];
        pid_t pid;
        char out[16384];
        size_t len = 0;

        *ret = (WrkResult) {0};
        unsigned secs = seconds < 1 ? 1 : (unsigned) (seconds + 0.5);
        argv[argc++] = (char *) "wrk";
        argv[argc++] = fmt("-t%u", threads);
        argv[argc++] = fmt("-c%u", conns);
        argv[argc++] = fmt("-d%us", secs);
        argv[argc++] = (char *) "--timeout";
        argv[argc++] = (char *) "10s";
        argv[argc++] = (char *) "--latency";
        if (script) {
                argv[argc++] = (char *) "-s";
                argv[argc++] = (char *) script;
        }
        argv[argc++] = (char *) url;
        if (script_args) {
                argv[argc++] = (char *) "--";
                for (size_t i = 0; script_args[i] && argc < 62; i++)
                        argv[argc++] = (char *) script_args[i];
        }
        argv[argc] = NULL;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        fflush(NULL);
        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                dup2(pfd[1], 1);
                dup2(pfd[1], 2);
                execvp("wrk", argv);
                _exit(127);
        }
        close(pfd[1]);
        for (;;) {
                ssize_t n = read(pfd[0], out + len, sizeof out - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t) n;
                if (len >= sizeof out - 1)
                        break;
        }
        out[len] = 0;
        close(pfd[0]);
        int st;
        waitpid(pid, &st, 0);
        if (bench_verbose)
                fprintf(stderr, "%s\n", out);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                snprintf(ret->error, sizeof ret->error, "wrk failed: %.200s", out);
                return;
        }

        char *p;
        if ((p = strstr(out, "Requests/sec:")))
                ret->rate = strtod(p + 13, NULL);
        if ((p = strstr(out, "Latency Distribution"))) {
                char *q;
                if ((q = strstr(p, "50%")))
                        ret->p50_ms = parse_latency_ms(q + 3);
                if ((q = strstr(p, "99%")))
                        ret->p99_ms = parse_latency_ms(q + 3);
        }
        if ((p = strstr(out, " requests in ")))  {
                while (p > out && p[-1] >= '0' && p[-1] <= '9')
                        p--;
                ret->requests = strtoull(p, NULL, 10);
        }
        if ((p = strstr(out, "Non-2xx or 3xx responses:")))
                ret->non2xx = strtoull(p + 25, NULL, 10);
        if ((p = strstr(out, "Socket errors:"))) {
                unsigned long long a = 0, b = 0, c = 0, d = 0;
                if (sscanf(p, "Socket errors: connect %llu, read %llu, write %llu, timeout %llu", &a, &b, &c, &d) == 4)
                        ret->socket_errors = a + b + c + d;
        }
        ret->ran = ret->rate > 0;
        if (!ret->ran)
                snprintf(ret->error, sizeof ret->error, "no rate in wrk output: %.200s", out);
}

int http_probe(const char *host, unsigned port, const char *method, const char *path,
               const char *headers, const char *body, size_t *ret_body_len, char *snippet, size_t snippet_len) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        size_t cap = 1 << 20, len = 0;
        char *resp;
        int fd, status = 0;

        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
                return -EINVAL;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        char req[8192];
        snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n%s%s", method, path, host,
                 port, headers ? headers : "", body ? "Content-Type: application/json\r\n" : "");
        char clen[64];
        snprintf(clen, sizeof clen, "Content-Length: %zu\r\n\r\n", body ? strlen(body) : 0);
        if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0 || send(fd, clen, strlen(clen), MSG_NOSIGNAL) < 0 ||
            (body && send(fd, body, strlen(body), MSG_NOSIGNAL) < 0)) {
                int r = -errno;
                close(fd);
                return r;
        }
        resp = malloc(cap + 1);
        if (!resp)
                die("out of memory");
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 10000) <= 0)
                        break;
                ssize_t n = recv(fd, resp + len, cap - len, 0);
                if (n <= 0)
                        break;
                len += (size_t) n;
                if (len == cap)
                        break;
        }
        close(fd);
        resp[len] = 0;
        if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
                status = -EPROTO;
        char *b = strstr(resp, "\r\n\r\n");
        *ret_body_len = b ? len - (size_t) (b + 4 - resp) : 0;
        if (snippet && snippet_len)
                snprintf(snippet, snippet_len, "%.*s", (int) (snippet_len - 1), b ? b + 4 : "");
        free(resp);
        return status;
}
