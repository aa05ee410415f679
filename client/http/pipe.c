/* pipe.c: a pipelined connection from rolesd-http to rolesd, and the
 * thread that reads it. An HTTP worker sends its request frame itself,
 * under the pipe's lock: the pipe gives the frame a msgid of its
 * connection and writes it after the others (connecting first if there is
 * no connection). The thread reads the responses in whatever order the
 * daemon sends them (writes answer after their commit, reads at once),
 * hands each to its caller's callback, writes what a full socket left
 * over, and fails calls past their deadline (RPC_CALL_TIMEOUT_USEC). When
 * the connection is lost, or a call timed out on it, calls that cannot
 * have run (not yet sent) or that only read go out again on a new one
 * (once, keeping their deadlines); the others fail. */

#include "client/http/pipe.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rolesd/client.h>

#include "proto/buf.h"
#include "proto/clock.h"
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
        struct Call *prev, *next;       /* in flight (oldest first), or finished */
        struct Call *hnext;             /* bucket chain, in flight */
        uint32_t msgid;
        char *frame;
        size_t len;
        uint64_t end;                   /* stream offset just past this frame on its connection */
        uint64_t deadline;              /* CLOCK_MONOTONIC usec */
        unsigned attempts;
        bool read_only;
        int error;                      /* once finished without a response */
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
        int efd;                        /* wakes the thread: new connection, unsent bytes, quit */

        pthread_mutex_t lock;           /* all below but in and scan */
        bool quit;
        int fd;                         /* -1: not connected; closed by the thread only */
        Buf out;                        /* bytes the socket did not take yet */
        uint64_t queued_bytes, sent_bytes;      /* of this connection's stream */
        uint32_t next_msgid;
        List inflight;
        Call *buckets[PIPE_BUCKETS];

        Buf in;                         /* the thread's own */
        Scanner scan;
};

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

/* Callbacks run outside the lock (they resume HTTP connections):
 * finished calls are collected under it, then finish_all() reports them. */
static void finish_later(List *finished, Call *c, int error) {
        c->error = error;
        list_push(finished, c);
}

static void finish_all(List *finished) {
        for (Call *c; (c = finished->head); ) {
                list_remove(finished, c);
                c->done(c->userdata, NULL, 0, c->error);
                call_free(c);
        }
}

static void wake(HttpPipe *p) {
        uint64_t one = 1;

        (void) !write(p->efd, &one, sizeof one);
}

/* ---- in flight (under the lock) ---- */

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

/* ---- the connection (under the lock) ---- */

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
        return 0;
}

/* Sends what the socket takes. 0, or -ETIMEDOUT when the daemon has left
 * too much unread, or why the connection failed. */
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
        if (buf_pending(&p->out) == 0)
                buf_clear(&p->out);
        return buf_pending(&p->out) > PIPE_OUT_MAX ? -ETIMEDOUT : 0;
}

/* Queues a call's frame on the connection (connecting first if needed)
 * and sends what the socket takes. A failure to connect or to queue
 * finishes the call. Returns whether the thread needs waking: a new
 * connection to watch, or bytes left for it to write. A call's deadline
 * needs none: an idle thread wakes within RPC_CALL_TIMEOUT_USEC anyway
 * (a wakeup per burst of requests was a context switch each). */
static bool call_start(HttpPipe *p, Call *c, List *finished) {
        bool connected = false, was_idle;

        if (p->fd < 0) {
                int r = pipe_connect(p);
                if (r < 0) {
                        finish_later(finished, c, r);
                        return false;
                }
                connected = true;
        }
        c->msgid = p->next_msgid++;
        (void) rpc_frame_set_msgid(c->frame, c->len, c->msgid);
        was_idle = buf_pending(&p->out) == 0;
        if (buf_append(&p->out, c->frame, c->len) < 0) {
                finish_later(finished, c, -ENOMEM);
                return connected;
        }
        p->queued_bytes += c->len;
        c->end = p->queued_bytes;
        c->attempts++;
        list_push(&p->inflight, c);
        c->hnext = *bucket(p, c->msgid);
        *bucket(p, c->msgid) = c;

        if (was_idle)
                (void) pipe_write(p);   /* a failure shows on the thread's next read */
        return connected || buf_pending(&p->out) > 0;
}

/* Drops the connection and both its streams: what was not sent, and what
 * was read of it (a half frame left there would be taken for the start
 * of the next connection's first response). On the thread, which owns
 * the input side. */
static void pipe_close(HttpPipe *p) {
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
        buf_done(&p->out);
        buf_done(&p->in);
        scanner_init(&p->scan, PIPE_RESPONSE_MAX, RPC_DEPTH_MAX);
}

/* The connection is gone (error is why). Calls that cannot have run, or
 * that only read, go out again on a new connection; the others fail. */
static void connection_lost(HttpPipe *p, int error, List *finished) {
        List again = {0};
        uint64_t now = now_usec();

        for (Call *c; (c = p->inflight.head); ) {
                bool sent = c->end <= p->sent_bytes;

                (void) inflight_take(p, c->msgid);
                if ((!sent || c->read_only) && c->attempts < PIPE_ATTEMPTS && c->deadline > now)
                        list_push(&again, c);
                else
                        finish_later(finished, c, error);
        }
        pipe_close(p);
        for (Call *c; (c = again.head); ) {
                list_remove(&again, c);
                (void) call_start(p, c, finished);      /* the thread is running: no wake needed */
        }
}

/* Every call fails with error, and the connection is dropped (a daemon
 * that does not read, or shutdown). */
static void fail_all(HttpPipe *p, int error, List *finished) {
        for (Call *c; (c = p->inflight.head); ) {
                (void) inflight_take(p, c->msgid);
                finish_later(finished, c, error);
        }
        pipe_close(p);
}

/* ---- the thread ---- */

/* Reads what arrived into p->in. 0, or why the connection is lost. */
static int pipe_recv(HttpPipe *p, int fd) {
        for (unsigned round = 0; round < 16; round++) {
                char *d = buf_reserve(&p->in, PIPE_READ_CHUNK);
                ssize_t n;

                if (!d)
                        return -ENOMEM;
                n = recv(fd, d, PIPE_READ_CHUNK, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : -errno;
                }
                if (n == 0)
                        return -ECONNRESET;
                p->in.len += (size_t) n;
                if ((size_t) n < PIPE_READ_CHUNK)
                        return 0;
        }
        return 0;
}

/* Hands each complete response in p->in to its call. A response without
 * msgid (the daemon refusing this peer, or a protocol error) concerns
 * every call in flight. 0, or -EBADMSG when the stream is not MessagePack. */
static int responses(HttpPipe *p) {
        for (;;) {
                size_t size = 0;
                ScanResult s = scanner_feed(&p->scan, buf_head(&p->in), buf_pending(&p->in), &size);
                const char *frame = buf_head(&p->in);
                List mine = {0};
                uint32_t msgid;

                if (s == SCAN_NEED_MORE)
                        return 0;
                if (s != SCAN_COMPLETE)
                        return -EBADMSG;

                pthread_mutex_lock(&p->lock);
                if (rpc_frame_msgid(frame, size, RPC_RESPONSE, &msgid)) {
                        Call *c = inflight_take(p, msgid);
                        if (c)
                                list_push(&mine, c);
                        /* else: the answer to a call that timed out */
                } else
                        for (Call *c; (c = p->inflight.head); ) {
                                (void) inflight_take(p, c->msgid);
                                list_push(&mine, c);
                        }
                pthread_mutex_unlock(&p->lock);

                for (Call *c; (c = mine.head); ) {
                        list_remove(&mine, c);
                        c->done(c->userdata, frame, size, 0);
                        call_free(c);
                }
                buf_consume(&p->in, size);
        }
}

static void *pipe_thread(void *userdata) {
        HttpPipe *p = userdata;

        (void) pthread_setname_np(pthread_self(), "rolesd-http-rpc");  /* for top -H and perf */
        for (;;) {
                List finished = {0};
                bool want_out;
                int fd, timeout = -1, r = 0;

                pthread_mutex_lock(&p->lock);
                if (p->quit) {
                        fail_all(p, -ESHUTDOWN, &finished);
                        pthread_mutex_unlock(&p->lock);
                        finish_all(&finished);
                        break;
                }
                fd = p->fd;
                want_out = buf_pending(&p->out) > 0;
                if (fd >= 0)
                        /* Calls may be sent while it sleeps: their deadlines
                         * are at least this far away. */
                        timeout = (int) (RPC_CALL_TIMEOUT_USEC / 1000);
                if (p->inflight.head) {
                        uint64_t now = now_usec(), d = UINT64_MAX;
                        for (Call *c = p->inflight.head; c; c = c->next)
                                if (c->deadline < d)
                                        d = c->deadline;
                        timeout = d <= now ? 0 : (int) ((d - now + 999) / 1000);
                }
                pthread_mutex_unlock(&p->lock);

                struct pollfd fds[2] = {
                        { .fd = p->efd, .events = POLLIN },
                        { .fd = fd, .events = POLLIN | (want_out ? POLLOUT : 0) },
                };
                if (poll(fds, fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
                        break;
                if (fds[0].revents & POLLIN) {
                        uint64_t v;
                        (void) !read(p->efd, &v, sizeof v);
                }

                /* Only this thread closes the connection: fd stays valid here. */
                if (fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                        r = pipe_recv(p, fd);
                        int k = responses(p);
                        if (r >= 0)
                                r = k;
                }

                pthread_mutex_lock(&p->lock);
                if (fd >= 0 && p->fd == fd) {
                        if (r >= 0 && buf_pending(&p->out) > 0)
                                r = pipe_write(p);
                        if (r == -ETIMEDOUT)
                                fail_all(p, r, &finished);
                        else if (r < 0)
                                connection_lost(p, r, &finished);
                }

                /* Calls past their deadline fail (503). A daemon that leaves
                 * one unanswered that long may hold the others too: they go
                 * to a new connection if they cannot have run or only read,
                 * and what was never sent is dropped with the old one, not
                 * executed after its caller was told it failed. */
                uint64_t now = now_usec();
                bool expired = false;
                for (Call *c = p->inflight.head, *next; c; c = next) {
                        next = c->next;
                        if (c->deadline <= now) {
                                (void) inflight_take(p, c->msgid);
                                finish_later(&finished, c, -ETIMEDOUT);
                                expired = true;
                        }
                }
                if (expired && p->fd >= 0)
                        connection_lost(p, -ETIMEDOUT, &finished);
                pthread_mutex_unlock(&p->lock);
                finish_all(&finished);
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
        scanner_init(&p->scan, PIPE_RESPONSE_MAX, RPC_DEPTH_MAX);
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
        List finished = {0};
        bool need_wake = false;
        Call *c;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->frame = malloc(len ? len : 1);
        if (!c->frame) {
                free(c);
                return -ENOMEM;
        }
        memcpy(c->frame, frame, len);
        c->len = len;
        c->read_only = read_only;
        c->done = done;
        c->userdata = userdata;
        c->deadline = now_usec() + RPC_CALL_TIMEOUT_USEC;

        pthread_mutex_lock(&p->lock);
        if (p->quit)
                finish_later(&finished, c, -ESHUTDOWN);
        else
                need_wake = call_start(p, c, &finished);
        pthread_mutex_unlock(&p->lock);
        if (need_wake)
                wake(p);
        finish_all(&finished);
        return 0;
}

void http_pipe_stop(HttpPipe *p) {
        if (!p || !p->started)
                return;
        pthread_mutex_lock(&p->lock);
        p->quit = true;
        pthread_mutex_unlock(&p->lock);
        wake(p);
        pthread_join(p->thread, NULL);
        p->started = false;
}

HttpPipe *http_pipe_free(HttpPipe *p) {
        if (!p)
                return NULL;
        http_pipe_stop(p);
        if (p->fd >= 0)
                close(p->fd);
        buf_done(&p->in);
        buf_done(&p->out);
        if (p->efd >= 0)
                close(p->efd);
        pthread_mutex_destroy(&p->lock);
        free(p->socket_path);
        free(p);
        return NULL;
}
