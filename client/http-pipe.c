/* http-pipe.c: a pipelined connection from rolesd-http to rolesd, and the
 * thread that drives it. HTTP workers hand over request frames; the pipe
 * gives each a msgid of its own connection, writes them back to back,
 * reads the responses in whatever order the daemon sends them (writes
 * answer after their commit, reads at once) and hands each to its caller's
 * callback. Owns: connecting (lazily, and again after the daemon went
 * away), the per-call deadline (RPC_CALL_TIMEOUT_USEC), sending a call
 * again on a new connection when the old one broke and the call cannot
 * have been executed (not yet sent) or only reads, and failing the rest. */

#include "http-pipe.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rolesd/client.h>

#include "proto/buf.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/scan.h"

#define PIPE_BUCKETS            1024u                   /* in-flight calls by msgid, chained */
#define PIPE_RESPONSE_MAX       (16u * 1024u * 1024u)   /* as librolesd's CLIENT_RESPONSE_MAX */
#define PIPE_READ_CHUNK         (64u * 1024u)
#define PIPE_OUT_MAX            (8u * 1024u * 1024u)    /* unsent bytes before the daemon counts as stuck */
#define PIPE_ATTEMPTS           2u                      /* connections a call may be sent on */

typedef struct Call {
        struct Call *prev, *next;       /* submission queue, or in-flight list (oldest first) */
        struct Call *hnext;             /* bucket chain, in flight */
        uint32_t msgid;
        char *frame;
        size_t len;
        uint64_t end;                   /* stream offset just past this frame on its connection */
        uint64_t deadline;              /* CLOCK_MONOTONIC usec */
        unsigned attempts;
        bool read_only;
        HttpPipeDone done;
        void *userdata;
} Call;

typedef struct List {
        Call *head, *tail;
} List;

struct HttpPipe {
        char *socket_path;              /* NULL: the default */
        pthread_t thread;
        bool started;

        pthread_mutex_t lock;
        List queue;                     /* submitted, not yet taken by the thread */
        bool quit;
        int efd;                        /* wakes the thread */

        /* The thread's own: */
        int fd;                         /* -1: not connected */
        Buf in, out;
        Scanner scan;
        uint64_t queued_bytes, sent_bytes;      /* of this connection's stream */
        uint32_t next_msgid;
        List inflight;
        Call *buckets[PIPE_BUCKETS];
};

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void list_push(List *l, Call *c) {
        c->next = NULL;
        c->prev = l->tail;
        if (l->tail)
                l->tail->next = c;
        else
                l->head = c;
        l->tail = c;
}

static void list_remove(List *l, Call *c) {
        if (c->prev)
                c->prev->next = c->next;
        else
                l->head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else
                l->tail = c->prev;
        c->prev = c->next = NULL;
}

static void call_free(Call *c) {
        free(c->frame);
        free(c);
}

/* Hands the outcome to the caller and forgets the call. */
static void call_finish(Call *c, const char *frame, size_t len, int error) {
        c->done(c->userdata, frame, len, error);
        call_free(c);
}

/* ---- in flight ---- */

static Call **bucket(HttpPipe *p, uint32_t msgid) {
        return &p->buckets[msgid % PIPE_BUCKETS];
}

static Call *inflight_take(HttpPipe *p, uint32_t msgid) {
        for (Call **b = bucket(p, msgid); *b; b = &(*b)->hnext)
                if ((*b)->msgid == msgid) {
                        Call *c = *b;
                        *b = c->hnext;
                        c->hnext = NULL;
                        list_remove(&p->inflight, c);
                        return c;
                }
        return NULL;
}

static void inflight_unlink(HttpPipe *p, Call *c) {
        Call *t = inflight_take(p, c->msgid);

        (void) t;       /* == c: every call in the list is in a bucket */
}

/* ---- the connection ---- */

static int pipe_connect(HttpPipe *p) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *path = rolesd_socket_path(p->socket_path);
        size_t n = strlen(path);
        int fd, r;

        if (n == 0 || n >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, n + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A Unix socket connects at once, or fails (EAGAIN: backlog full). */
        while (connect(fd, (const struct sockaddr *) &sa, sizeof sa) < 0) {
                if (errno == EINTR)
                        continue;
                r = -errno;
                close(fd);
                return r;
        }
        p->fd = fd;
        p->queued_bytes = p->sent_bytes = 0;
        scanner_init(&p->scan, PIPE_RESPONSE_MAX, RPC_DEPTH_MAX);
        return 0;
}

static void pipe_disconnect(HttpPipe *p) {
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
        buf_done(&p->in);
        buf_done(&p->out);
}

/* Puts a call's frame on the wire (or in the output buffer). */
static void call_send(HttpPipe *p, Call *c) {
        c->msgid = p->next_msgid++;
        (void) rpc_frame_set_msgid(c->frame, c->len, c->msgid);
        if (buf_append(&p->out, c->frame, c->len) < 0) {
                call_finish(c, NULL, 0, -ENOMEM);
                return;
        }
        p->queued_bytes += c->len;
        c->end = p->queued_bytes;
        c->attempts++;
        list_push(&p->inflight, c);
        c->hnext = *bucket(p, c->msgid);
        *bucket(p, c->msgid) = c;
}

/* Starts calls (taken from the queue, or to be sent again) on the
 * connection, connecting first if needed; fails them if that fails. */
static void calls_start(HttpPipe *p, List *calls) {
        int r = 0;

        if (calls->head && p->fd < 0)
                r = pipe_connect(p);
        for (Call *c = calls->head, *next; c; c = next) {
                next = c->next;
                c->prev = c->next = NULL;
                if (r < 0)
                        call_finish(c, NULL, 0, r);
                else
                        call_send(p, c);
        }
        *calls = (List) {0};
}

/* The connection is gone (error is why): calls that cannot have run, or
 * that only read, go out again on a new one; the others fail. */
static void connection_lost(HttpPipe *p, int error) {
        List again = {0};

        for (Call *c; (c = p->inflight.head); ) {
                bool sent = c->end <= p->sent_bytes;

                inflight_unlink(p, c);
                if ((!sent || c->read_only) && c->attempts < PIPE_ATTEMPTS)
                        list_push(&again, c);
                else
                        call_finish(c, NULL, 0, error);
        }
        pipe_disconnect(p);
        calls_start(p, &again);
}

/* Every call fails with error and the connection is dropped (a daemon
 * that does not read, or shutdown). */
static void fail_all(HttpPipe *p, int error) {
        for (Call *c; (c = p->inflight.head); ) {
                inflight_unlink(p, c);
                call_finish(c, NULL, 0, error);
        }
        pipe_disconnect(p);
}

static int pipe_write(HttpPipe *p) {
        while (buf_pending(&p->out) > 0) {
                ssize_t n = send(p->fd, buf_head(&p->out), buf_pending(&p->out), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                buf_consume(&p->out, (size_t) n);
                p->sent_bytes += (uint64_t) n;
        }
        if (buf_pending(&p->out) > PIPE_OUT_MAX)
                return -ETIMEDOUT;
        return 0;
}

/* Hands one response frame to its call. A response without msgid (the
 * daemon refusing this peer, or a protocol error) concerns every call. */
static void response(HttpPipe *p, const char *frame, size_t len) {
        uint32_t msgid;
        Call *c;

        if (!rpc_frame_msgid(frame, len, RPC_RESPONSE, &msgid)) {
                for (; (c = p->inflight.head); ) {
                        inflight_unlink(p, c);
                        call_finish(c, frame, len, 0);
                }
                return;
        }
        c = inflight_take(p, msgid);
        if (c)
                call_finish(c, frame, len, 0);
        /* else: the answer to a call that timed out */
}

/* Reads and dispatches what arrived. Returns 0, or why the connection is lost. */
static int pipe_read(HttpPipe *p) {
        for (unsigned round = 0; round < 16; round++) {
                char *d = buf_reserve(&p->in, PIPE_READ_CHUNK);
                ssize_t n;

                if (!d)
                        return -ENOMEM;
                n = recv(p->fd, d, PIPE_READ_CHUNK, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return -errno;
                }
                if (n == 0)
                        return -ECONNRESET;
                p->in.len += (size_t) n;

                for (;;) {
                        size_t size = 0;
                        ScanResult s = scanner_feed(&p->scan, buf_head(&p->in), buf_pending(&p->in), &size);

                        if (s == SCAN_NEED_MORE)
                                break;
                        if (s != SCAN_COMPLETE)
                                return -EBADMSG;
                        response(p, buf_head(&p->in), size);
                        buf_consume(&p->in, size);
                }
                if ((size_t) n < PIPE_READ_CHUNK)
                        return 0;
        }
        return 0;
}

/* ---- the thread ---- */

static void *pipe_thread(void *userdata) {
        HttpPipe *p = userdata;

        for (;;) {
                struct pollfd fds[2] = {
                        { .fd = p->efd, .events = POLLIN },
                        { .fd = p->fd, .events = POLLIN | (buf_pending(&p->out) > 0 ? POLLOUT : 0) },
                };
                int timeout = -1, r;
                List taken;
                bool quit;

                if (p->inflight.head) {
                        uint64_t now = now_usec(), d = p->inflight.head->deadline;
                        timeout = d <= now ? 0 : (int) ((d - now + 999) / 1000);
                }
                if (poll(fds, p->fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
                        break;

                if (fds[0].revents & POLLIN) {
                        uint64_t v;
                        (void) !read(p->efd, &v, sizeof v);
                }
                pthread_mutex_lock(&p->lock);
                taken = p->queue;
                p->queue = (List) {0};
                quit = p->quit;
                pthread_mutex_unlock(&p->lock);
                if (quit) {
                        for (Call *c = taken.head, *next; c; c = next) {
                                next = c->next;
                                call_finish(c, NULL, 0, -ESHUTDOWN);
                        }
                        fail_all(p, -ESHUTDOWN);
                        break;
                }
                uint64_t deadline = now_usec() + RPC_CALL_TIMEOUT_USEC;
                for (Call *c = taken.head; c; c = c->next)
                        c->deadline = deadline;
                calls_start(p, &taken);

                if (p->fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                        r = pipe_read(p);
                        if (r < 0)
                                connection_lost(p, r);
                }
                if (p->fd >= 0 && buf_pending(&p->out) > 0) {
                        r = pipe_write(p);
                        if (r == -ETIMEDOUT)
                                fail_all(p, r);
                        else if (r < 0)
                                connection_lost(p, r);
                }

                /* Calls past their deadline fail; their late answers are dropped. */
                uint64_t now = now_usec();
                for (Call *c; (c = p->inflight.head) && c->deadline <= now; ) {
                        inflight_unlink(p, c);
                        call_finish(c, NULL, 0, -ETIMEDOUT);
                }
        }
        return NULL;
}

int http_pipe_new(const char *socket_path, HttpPipe **ret) {
        HttpPipe *p;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->fd = -1;
        p->efd = -1;
        p->next_msgid = 1;
        pthread_mutex_init(&p->lock, NULL);
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->efd < 0) {
                r = -errno;
                goto fail;
        }
        if (socket_path) {
                p->socket_path = strdup(socket_path);
                if (!p->socket_path) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        r = -pthread_create(&p->thread, NULL, pipe_thread, p);
        if (r < 0)
                goto fail;
        p->started = true;
        *ret = p;
        return 0;
fail:
        http_pipe_free(p);
        return r;
}

int http_pipe_submit(HttpPipe *p, const void *frame, size_t len, bool read_only, HttpPipeDone done,
                     void *userdata) {
        Call *c = calloc(1, sizeof *c);
        bool quit;

        if (!c)
                return -ENOMEM;
        c->frame = malloc(len ? len : 1);
        if (!c->frame) {
                free(c);
                return -ENOMEM;
        }
        memcpy(c->frame, frame, len);
        *c = (Call) { .frame = c->frame, .len = len, .read_only = read_only, .done = done, .userdata = userdata };

        pthread_mutex_lock(&p->lock);
        quit = p->quit;
        if (!quit)
                list_push(&p->queue, c);
        pthread_mutex_unlock(&p->lock);
        if (quit) {
                call_finish(c, NULL, 0, -ESHUTDOWN);
                return 0;
        }
        uint64_t one = 1;
        (void) !write(p->efd, &one, sizeof one);
        return 0;
}

void http_pipe_stop(HttpPipe *p) {
        if (!p || !p->started)
                return;
        pthread_mutex_lock(&p->lock);
        p->quit = true;
        pthread_mutex_unlock(&p->lock);
        uint64_t one = 1;
        (void) !write(p->efd, &one, sizeof one);
        pthread_join(p->thread, NULL);
        p->started = false;
}

HttpPipe *http_pipe_free(HttpPipe *p) {
        if (!p)
                return NULL;
        http_pipe_stop(p);
        pipe_disconnect(p);
        if (p->efd >= 0)
                close(p->efd);
        pthread_mutex_destroy(&p->lock);
        free(p->socket_path);
        free(p);
        return NULL;
}
