/* upstream.c: rolesd-http's connection to rolesd for one worker thread.
 * A thread of the upstream's own polls the connection's descriptor, runs
 * rolesd_process() under the upstream's lock, and wakes, outside it, the
 * requests whose calls completed. The worker sends its tasks' calls
 * itself (librolesd writes them at once when the socket takes them), but
 * never waits for the lock: when the thread holds it, the call is left to
 * the holder, which sends it before it lets go (a stack of deferred sends,
 * pushed without the lock). Waiting on the lock cost a futex sleep and
 * wakeup per request or so; a wakeup of the thread per call did as much,
 * so sending a call does not wake it either: it sleeps at most
 * HTTP_CALL_TIMEOUT_USEC while connected, which every call's deadline is
 * at least, and only a new connection to watch, or bytes the socket did
 * not take, wake it. librolesd does the rest: msgids, deadlines
 * (HTTP_CALL_TIMEOUT_USEC), and after a lost connection calls that cannot
 * have run, or only read, sent again on a new one. */

#include "client/http/upstream.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
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
        UpstreamWaiter *_Atomic deferred; /* calls for the lock's holder to send (pushed without it) */

        pthread_mutex_t lock;           /* all below */
        rolesd *conn;                   /* NULL once stopped */
        bool quit;
        int watched_fd;                 /* what the thread polls now */
        bool watched_out;
        UpstreamWaiter *woken;          /* calls completed (or not sent), to wake outside the lock */
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

/* Wakes the waiters of a list taken from u->woken (outside the lock: they
 * resume HTTP connections, and a request may be gone once resumed). */
static void wake_all(UpstreamWaiter *w) {
        while (w) {
                UpstreamWaiter *next = w->next;

                w->wake(w->userdata);
                w = next;
        }
}

/* Under the lock: sends w's call. One that cannot be sent has its failure
 * in the task, and its waiter is woken to run it again. */
static int send_locked(Upstream *u, UpstreamWaiter *w) {
        return rolesd_rest_task_send(w->task, u->conn, task_woken, w);
}

/* Under the lock: sends the calls deferred to the holder, oldest first. */
static void send_deferred(Upstream *u) {
        UpstreamWaiter *w = atomic_exchange(&u->deferred, NULL), *oldest = NULL;

        while (w) {             /* the stack, reversed */
                UpstreamWaiter *next = w->next;

                w->next = oldest;
                oldest = w;
                w = next;
        }
        while (oldest) {
                UpstreamWaiter *next = oldest->next;

                if (send_locked(u, oldest) < 0)
                        task_woken(oldest->task, oldest);
                oldest = next;
        }
}

/* Lets go of the lock, having sent what was deferred to the holder; wakes
 * the thread when it must watch something new, and the waiters whose calls
 * completed. A call deferred while the lock was being let go is sent by
 * whoever takes the lock next: here, if nobody else does. */
static void upstream_unlock(Upstream *u) {
        for (;;) {
                UpstreamWaiter *woken;
                bool wake;

                send_deferred(u);
                wake = u->conn && (rolesd_get_fd(u->conn) != u->watched_fd ||
                                   ((rolesd_get_events(u->conn) & POLLOUT) && !u->watched_out));
                woken = u->woken;
                u->woken = NULL;
                pthread_mutex_unlock(&u->lock);
                if (wake)
                        thread_wake(u);
                wake_all(woken);
                if (!atomic_load(&u->deferred) || pthread_mutex_trylock(&u->lock) != 0)
                        return;
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
                int fd, events, timeout, n;
                struct pollfd fds[2];

                send_deferred(u);
                fd = rolesd_get_fd(u->conn);
                events = rolesd_get_events(u->conn);
                timeout = sleep_ms(u->conn, fd);
                u->watched_fd = fd;
                u->watched_out = events & POLLOUT;
                upstream_unlock(u);

                /* Only rolesd_process() closes the descriptor: it stays valid here. */
                fds[0] = (struct pollfd) { .fd = u->efd, .events = POLLIN };
                fds[1] = (struct pollfd) { .fd = fd, .events = (short) events };
                n = poll(fds, fd >= 0 ? 2 : 1, timeout);
                if (n < 0 && errno != EINTR)
                        (void) poll(NULL, 0, 10);       /* cannot happen; do not spin */
                if (fds[0].revents & POLLIN) {
                        uint64_t v;
                        (void) !read(u->efd, &v, sizeof v);
                }

                pthread_mutex_lock(&u->lock);
                /* Woken only to look at a new connection or unsent bytes:
                 * nothing to process yet. */
                if (n == 0 || (fd >= 0 && fds[1].revents))
                        (void) rolesd_process(u->conn);
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
        /* Adaptive: the thread, woken by a reply, often finds a worker
         * sending its next call; spinning that short while costs less than
         * a futex sleep and wakeup. */
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        (void) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
        pthread_mutex_init(&u->lock, &attr);
        pthread_mutexattr_destroy(&attr);
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
        int r;

        if (!u)
                return rolesd_rest_task_send(t, NULL, task_woken, w);
        w->upstream = u;
        w->task = t;
        if (pthread_mutex_trylock(&u->lock) != 0) {
                /* The holder sends it before it lets go (or, if it let go
                 * already, whoever takes the lock next: perhaps this thread). */
                w->next = atomic_load(&u->deferred);
                while (!atomic_compare_exchange_weak(&u->deferred, &w->next, w))
                        ;
                if (pthread_mutex_trylock(&u->lock) == 0)
                        upstream_unlock(u);
                return 0;
        }
        r = send_locked(u, w);
        upstream_unlock(u);
        return r;
}

void upstream_stop(Upstream *u) {
        if (!u)
                return;
        if (u->started) {
                pthread_mutex_lock(&u->lock);
                u->quit = true;
                upstream_unlock(u);
                thread_wake(u);
                pthread_join(u->thread, NULL);
                u->started = false;
        }
        pthread_mutex_lock(&u->lock);
        send_deferred(u);
        u->conn = rolesd_free(u->conn);         /* wakes every call in flight */
        upstream_unlock(u);                     /* and, from now on, every call sent */
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
