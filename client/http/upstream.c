/* upstream.c: a connection of rolesd-http to rolesd, for the workers
 * that share it. A worker sends its tasks' calls itself, under the upstream's lock
 * (librolesd writes them at once when the socket takes them); a thread of
 * the upstream's own polls the connection's descriptor, runs
 * rolesd_process() under the lock, and wakes, outside it, the requests
 * whose calls completed. Sending a call does not wake the thread: it
 * sleeps at most HTTP_CALL_TIMEOUT_USEC while connected, which every
 * call's deadline is at least; only a new connection to watch, or bytes
 * the socket did not take, do. librolesd does the rest: msgids, deadlines
 * (HTTP_CALL_TIMEOUT_USEC), and after a lost connection calls that cannot
 * have run, or only read, sent again on a new one. */

#include "client/http/upstream.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rolesd/client.h>

#include "client/http/limits.h"

struct Upstream {
        pthread_t thread;
        bool started;
        int efd;                        /* wakes the thread: a new connection, unsent bytes, quit */

        pthread_mutex_t lock;           /* all below */
        rolesd *conn;                   /* NULL once stopped */
        bool quit;
        int watched_fd;                 /* what the thread polls now */
        bool watched_out;
        UpstreamWaiter *woken;          /* calls completed, to wake outside the lock */
};

static uint64_t monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void thread_wake(Upstream *u) {
        uint64_t one = 1;

        (void) !write(u->efd, &one, sizeof one);
}

/* A call completed, from rolesd_process() or rolesd_free() (under the lock). */
static void task_woken(rolesd_rest_task *t, void *userdata) {
        UpstreamWaiter *w = userdata;

        (void) t;
        w->next = w->upstream->woken;
        w->upstream->woken = w;
}

/* Wakes the waiters taken from u->woken (outside the lock: they resume
 * HTTP connections, and a request may be gone once resumed). */
static void wake_all(UpstreamWaiter *w) {
        while (w) {
                UpstreamWaiter *next = w->next;

                w->wake(w->userdata);
                w = next;
        }
}

/* How long the thread may sleep, in ms: until the earliest deadline, and
 * while connected at most HTTP_CALL_TIMEOUT_USEC (calls sent meanwhile
 * have deadlines at least that far away). */
static int sleep_ms(rolesd *c, int fd) {
        uint64_t deadline, now = monotonic_usec(), wait = fd >= 0 ? HTTP_CALL_TIMEOUT_USEC : UINT64_MAX;

        if (rolesd_get_timeout(c, &deadline) >= 0 && deadline != UINT64_MAX)
                wait = deadline <= now ? 0 : deadline - now < wait ? deadline - now : wait;
        if (wait == UINT64_MAX)
                return -1;
        return (int) ((wait + 999) / 1000);
}

static void *upstream_thread(void *userdata) {
        Upstream *u = userdata;

        (void) pthread_setname_np(pthread_self(), "rolesd-http-rpc");  /* for top -H and perf */
        pthread_mutex_lock(&u->lock);
        while (!u->quit) {
                int fd = rolesd_get_fd(u->conn), events = rolesd_get_events(u->conn);
                int timeout = sleep_ms(u->conn, fd);
                struct pollfd fds[2] = {
                        { .fd = u->efd, .events = POLLIN },
                        { .fd = fd, .events = (short) events },
                };
                UpstreamWaiter *woken;

                u->watched_fd = fd;
                u->watched_out = events & POLLOUT;
                pthread_mutex_unlock(&u->lock);

                /* Only rolesd_process() closes the descriptor: it stays valid here. */
                if (poll(fds, fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
                        (void) poll(NULL, 0, 10);       /* cannot happen; do not spin */
                if (fds[0].revents & POLLIN) {
                        uint64_t v;
                        (void) !read(u->efd, &v, sizeof v);
                }

                pthread_mutex_lock(&u->lock);
                (void) rolesd_process(u->conn);
                woken = u->woken;
                u->woken = NULL;
                pthread_mutex_unlock(&u->lock);
                wake_all(woken);
                pthread_mutex_lock(&u->lock);
        }
        pthread_mutex_unlock(&u->lock);
        return NULL;
}

int upstream_new(const char *socket_path, Upstream **ret) {
        Upstream *u;
        int r;

        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->efd = -1;
        u->watched_fd = -1;
        pthread_mutex_init(&u->lock, NULL);
        r = rolesd_new(socket_path, &u->conn);
        if (r < 0)
                goto fail;
        (void) rolesd_set_timeout(u->conn, HTTP_CALL_TIMEOUT_USEC);
        u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (u->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = -pthread_create(&u->thread, NULL, upstream_thread, u);
        if (r < 0)
                goto fail;
        u->started = true;
        *ret = u;
        return 0;
fail:
        upstream_free(u);
        return r;
}

int upstream_send(Upstream *u, rolesd_rest_task *t, UpstreamWaiter *w) {
        bool wake;
        int r;

        if (!u)
                return rolesd_rest_task_send(t, NULL, task_woken, w);
        w->upstream = u;
        pthread_mutex_lock(&u->lock);
        r = rolesd_rest_task_send(t, u->conn, task_woken, w);
        wake = r >= 0 && (rolesd_get_fd(u->conn) != u->watched_fd ||
                          ((rolesd_get_events(u->conn) & POLLOUT) && !u->watched_out));
        pthread_mutex_unlock(&u->lock);
        if (wake)
                thread_wake(u);
        return r;
}

void upstream_stop(Upstream *u) {
        UpstreamWaiter *woken;

        if (!u)
                return;
        if (u->started) {
                pthread_mutex_lock(&u->lock);
                u->quit = true;
                pthread_mutex_unlock(&u->lock);
                thread_wake(u);
                pthread_join(u->thread, NULL);
                u->started = false;
        }
        pthread_mutex_lock(&u->lock);
        u->conn = rolesd_free(u->conn);         /* wakes every call in flight */
        woken = u->woken;
        u->woken = NULL;
        pthread_mutex_unlock(&u->lock);
        wake_all(woken);
}

Upstream *upstream_free(Upstream *u) {
        if (!u)
                return NULL;
        upstream_stop(u);
        if (u->efd >= 0)
                close(u->efd);
        pthread_mutex_destroy(&u->lock);
        free(u);
        return NULL;
}
