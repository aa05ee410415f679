/* conns.c: rolesd-http's own bookkeeping of its HTTP connections, since
 * libmicrohttpd 0.9.75 keeps none it would share: it closes a connection
 * only once it has been idle HTTP_CONNECTION_TIMEOUT_SEC, and a client
 * that trickles a header line now and then is never idle, so a thousand
 * of them hold every connection slot and starve everyone else.
 *
 * Each connection has a record (its socket context): the dialect of its
 * latest request line (for errors.c), its socket, and while it waits for
 * a request's head, its place in one of two lists in the order they
 * started waiting, so the first of each is the one that has waited
 * longest:
 *   first   a new connection, waiting for its first head: it must be
 *           complete within HTTP_HEAD_TIMEOUT_SEC;
 *   next    a keep-alive connection whose request is over, waiting for
 *           the next head: within HTTP_CONNECTION_TIMEOUT_SEC;
 *   over    a connection past HTTP_PER_IP_CONNECTIONS_MAX from its
 *           address, waiting for the head its 503 answers (the dialect
 *           is its path's): within HTTP_HEAD_OVER_LIMIT_SEC. Past
 *           HTTP_PER_IP_REFUSALS_MAX more, it is closed at once.
 * A thread of its own sleeps until the earliest deadline and closes the
 * late connections; and while more than HTTP_CONNECTIONS_MAX -
 * HTTP_CONNECTIONS_SPARE are open, it closes those that have waited
 * longest for a head (at least HTTP_HEAD_EVICT_AGE_MSEC), so there is
 * always room for a newcomer (libmicrohttpd stops accepting at
 * HTTP_CONNECTIONS_MAX) and a flood of slow heads cannot keep a
 * well-behaved client out for more than moments.
 *
 * "Closed" is shutdown(2) of the connection's socket, under the lock
 * that the record's removal (MHD_CONNECTION_NOTIFY_CLOSED, which
 * libmicrohttpd calls before it closes the socket) takes too: the socket
 * is still the connection's. libmicrohttpd, polling it, reads the end of
 * the stream and closes the connection in its own thread. */

#include "client/http/conns.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "client/http/limits.h"
#include "client/http/log.h"

enum { WAIT_FIRST, WAIT_NEXT, WAIT_OVER, WAIT_NONE };

#define ADDR_BUCKETS 256

/* The open connections from one client address. */
typedef struct Addr {
        struct Addr *next;              /* in its bucket */
        unsigned char len, bytes[16];   /* 4 (IPv4, also mapped in IPv6) or 16 */
        unsigned count;
} Addr;

typedef struct Conn {
        rolesd_rest_dialect dialect;    /* the worker's alone */
        int fd;
        /* Under the HttpConns' lock: */
        int wait;                       /* WAIT_FIRST, WAIT_NEXT, WAIT_OVER, or WAIT_NONE */
        uint64_t since;                 /* usec, CLOCK_MONOTONIC: waiting since */
        struct Conn *prev, *next;       /* in waiting[wait] */
        bool closing;                   /* shut down by us */
        bool over;                      /* past its address's limit: answered 503 */
        Addr *addr;                     /* NULL: not an IP connection */
} Conn;

typedef struct WaitList {
        Conn *oldest, *newest;
        uint64_t timeout;               /* usec */
} WaitList;

struct HttpConns {
        pthread_t thread;
        bool started;
        pthread_mutex_t lock;           /* all below */
        pthread_cond_t wake;            /* quit, or room to make */
        bool quit;
        WaitList waiting[WAIT_NONE];    /* by WAIT_FIRST, WAIT_NEXT, WAIT_OVER */
        Addr *addrs[ADDR_BUCKETS];
        unsigned n_open;
        unsigned n_closing;             /* of them, shut down by us, not yet closed */
        unsigned long long n_late, n_evicted, n_refused, n_logged; /* closed so far, for the log */
};

static LogLimit log_limit;

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static Conn *conn_of(struct MHD_Connection *con) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return info ? info->socket_context : NULL;
}

/* ---- the lists (under the lock) ---- */

static void wait_stop(HttpConns *cs, Conn *c) {
        WaitList *l;

        if (c->wait == WAIT_NONE)
                return;
        l = &cs->waiting[c->wait];
        if (c->prev)
                c->prev->next = c->next;
        else
                l->oldest = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else
                l->newest = c->prev;
        c->prev = c->next = NULL;
        c->wait = WAIT_NONE;
}

static void wait_start(HttpConns *cs, Conn *c, int wait, uint64_t now) {
        WaitList *l = &cs->waiting[wait];

        wait_stop(cs, c);
        c->wait = wait;
        c->since = now;
        c->prev = l->newest;
        c->next = NULL;
        if (l->newest)
                l->newest->next = c;
        else
                l->oldest = c;
        l->newest = c;
}

static void conn_close(HttpConns *cs, Conn *c) {
        wait_stop(cs, c);
        c->closing = true;
        cs->n_closing++;
        (void) shutdown(c->fd, SHUT_RDWR);
}

/* The connection that has waited longest for a head, or NULL. */
static Conn *longest_waiting(HttpConns *cs) {
        Conn *old = NULL;

        for (int w = WAIT_FIRST; w <= WAIT_OVER; w++) {
                Conn *c = cs->waiting[w].oldest;

                if (c && (!old || c->since < old->since))
                        old = c;
        }
        return old;
}

/* ---- the addresses (under the lock) ---- */

/* sa's address as bytes: 4 for IPv4 (and IPv4 mapped in IPv6), 16 for
 * IPv6; 0 for anything else (a Unix socket: no limit). */
static unsigned addr_key(const struct sockaddr *sa, unsigned char key[16]) {
        if (sa && sa->sa_family == AF_INET) {
                memcpy(key, &((const struct sockaddr_in *) (const void *) sa)->sin_addr, 4);
                return 4;
        }
        if (sa && sa->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr;

                if (IN6_IS_ADDR_V4MAPPED(a)) {
                        memcpy(key, a->s6_addr + 12, 4);
                        return 4;
                }
                memcpy(key, a->s6_addr, 16);
                return 16;
        }
        return 0;
}

static Addr **addr_bucket(HttpConns *cs, const unsigned char *key, unsigned len) {
        uint32_t h = 2166136261u;       /* FNV-1a */

        for (unsigned i = 0; i < len; i++)
                h = (h ^ key[i]) * 16777619u;
        return &cs->addrs[h % ADDR_BUCKETS];
}

/* One more connection from key; NULL when out of memory (not counted). */
static Addr *addr_ref(HttpConns *cs, const unsigned char *key, unsigned len) {
        Addr **b = addr_bucket(cs, key, len), *a;

        for (a = *b; a; a = a->next)
                if (a->len == len && memcmp(a->bytes, key, len) == 0)
                        break;
        if (!a) {
                a = calloc(1, sizeof *a);
                if (!a)
                        return NULL;
                a->len = (unsigned char) len;
                memcpy(a->bytes, key, len);
                a->next = *b;
                *b = a;
        }
        a->count++;
        return a;
}

static void addr_unref(HttpConns *cs, Addr *a) {
        Addr **p;

        if (!a || --a->count > 0)
                return;
        for (p = addr_bucket(cs, a->bytes, a->len); *p != a; p = &(*p)->next)
                ;
        *p = a->next;
        free(a);
}

/* ---- the thread closing late connections ---- */

/* Closes the connections whose head is late and, while more than
 * HTTP_CONNECTIONS_MAX - HTTP_CONNECTIONS_SPARE are open, those waiting
 * longest for one (for HTTP_HEAD_EVICT_AGE_MSEC at least). Returns how
 * long to sleep, in usec: until the next deadline, or until the next
 * connection may be closed to make room. */
static uint64_t close_late(HttpConns *cs, uint64_t now) {
        const uint64_t evict_age = HTTP_HEAD_EVICT_AGE_MSEC * 1000ull;
        uint64_t sleep = UINT64_MAX;
        Conn *old;

        for (int w = WAIT_FIRST; w <= WAIT_OVER; w++) {
                WaitList *l = &cs->waiting[w];

                while (l->oldest && l->oldest->since + l->timeout <= now) {
                        conn_close(cs, l->oldest);
                        cs->n_late++;
                }
                /* A connection that starts waiting later has a later deadline. */
                if (!l->oldest && l->timeout < sleep)
                        sleep = l->timeout;
                else if (l->oldest && l->oldest->since + l->timeout - now < sleep)
                        sleep = l->oldest->since + l->timeout - now;
        }
        while (cs->n_open - cs->n_closing > HTTP_CONNECTIONS_MAX - HTTP_CONNECTIONS_SPARE &&
               (old = longest_waiting(cs))) {
                if (now - old->since < evict_age) {
                        if (old->since + evict_age - now < sleep)
                                sleep = old->since + evict_age - now;
                        break;
                }
                conn_close(cs, old);
                cs->n_evicted++;
        }
        return sleep;
}

static void *late_thread(void *userdata) {
        HttpConns *cs = userdata;

        (void) pthread_setname_np(pthread_self(), "rolesd-http-head");
        pthread_mutex_lock(&cs->lock);
        while (!cs->quit) {
                uint64_t now = now_usec(), until = now + close_late(cs, now);
                struct timespec ts = { .tv_sec = (time_t) (until / 1000000u),
                                       .tv_nsec = (long) (until % 1000000u * 1000u) };

                if (cs->n_late + cs->n_evicted + cs->n_refused > cs->n_logged &&
                    http_log_ratelimit(&log_limit)) {
                        http_log(LOG_WARNING, "closed %llu connections whose request head was late, %llu "
                                 "waiting longest for one to make room, and %llu at once past their "
                                 "address's limit, so far", cs->n_late, cs->n_evicted, cs->n_refused);
                        cs->n_logged = cs->n_late + cs->n_evicted + cs->n_refused;
                }
                (void) pthread_cond_timedwait(&cs->wake, &cs->lock, &ts);
        }
        pthread_mutex_unlock(&cs->lock);
        return NULL;
}

/* ---- the interface ---- */

int http_conns_new(HttpConns **ret) {
        pthread_condattr_t attr;
        HttpConns *cs;
        int r;

        cs = calloc(1, sizeof *cs);
        if (!cs)
                return http_log_errno(LOG_ERR, -ENOMEM, "out of memory");
        cs->waiting[WAIT_FIRST].timeout = HTTP_HEAD_TIMEOUT_SEC * 1000000ull;
        cs->waiting[WAIT_NEXT].timeout = HTTP_CONNECTION_TIMEOUT_SEC * 1000000ull;
        cs->waiting[WAIT_OVER].timeout = HTTP_HEAD_OVER_LIMIT_SEC * 1000000ull;
        pthread_mutex_init(&cs->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&cs->wake, &attr);
        pthread_condattr_destroy(&attr);
        r = pthread_create(&cs->thread, NULL, late_thread, cs);
        if (r != 0) {
                http_conns_free(cs);
                return http_log_errno(LOG_ERR, -r, "cannot start a thread: %s", strerror(r));
        }
        cs->started = true;
        *ret = cs;
        return 0;
}

HttpConns *http_conns_free(HttpConns *cs) {
        if (!cs)
                return NULL;
        if (cs->started) {
                pthread_mutex_lock(&cs->lock);
                cs->quit = true;
                pthread_cond_signal(&cs->wake);
                pthread_mutex_unlock(&cs->lock);
                pthread_join(cs->thread, NULL);
        }
        pthread_cond_destroy(&cs->wake);
        pthread_mutex_destroy(&cs->lock);
        free(cs);
        return NULL;
}

static void conn_opened(HttpConns *cs, struct MHD_Connection *con, void **socket_context) {
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *sa = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        uint64_t now = now_usec();
        unsigned char key[16];
        unsigned len;
        Conn *c;

        c = calloc(1, sizeof *c);
        *socket_context = c;
        if (!c || !fd) {
                /* Untracked: libmicrohttpd's idle timeout still applies. */
                *socket_context = (free(c), NULL);
                return;
        }
        c->fd = fd->connect_fd;
        c->wait = WAIT_NONE;
        len = addr_key(sa ? sa->client_addr : NULL, key);

        pthread_mutex_lock(&cs->lock);
        cs->n_open++;
        c->addr = len ? addr_ref(cs, key, len) : NULL;
        c->over = c->addr && c->addr->count > HTTP_PER_IP_CONNECTIONS_MAX;
        if (c->over && c->addr->count > HTTP_PER_IP_CONNECTIONS_MAX + HTTP_PER_IP_REFUSALS_MAX) {
                conn_close(cs, c);
                cs->n_refused++;
        } else
                wait_start(cs, c, c->over ? WAIT_OVER : WAIT_FIRST, now);
        if (cs->n_open - cs->n_closing > HTTP_CONNECTIONS_MAX - HTTP_CONNECTIONS_SPARE)
                pthread_cond_signal(&cs->wake);         /* room to make */
        pthread_mutex_unlock(&cs->lock);
}

void http_conns_notify(void *cls, struct MHD_Connection *con, void **socket_context,
                       enum MHD_ConnectionNotificationCode code) {
        HttpConns *cs = cls;
        Conn *c = *socket_context;

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                conn_opened(cs, con, socket_context);
                return;
        }
        if (code != MHD_CONNECTION_NOTIFY_CLOSED || !c)
                return;
        pthread_mutex_lock(&cs->lock);
        wait_stop(cs, c);
        cs->n_open--;
        cs->n_closing -= c->closing;
        addr_unref(cs, c->addr);
        pthread_mutex_unlock(&cs->lock);
        free(c);
        *socket_context = NULL;
}

void http_conns_request_line(struct MHD_Connection *con, const char *uri) {
        Conn *c = conn_of(con);

        if (c)
                c->dialect = rolesd_rest_dialect_of(uri);
}

bool http_conns_head_done(HttpConns *cs, struct MHD_Connection *con) {
        Conn *c = conn_of(con);

        if (!c)
                return false;
        pthread_mutex_lock(&cs->lock);
        wait_stop(cs, c);
        pthread_mutex_unlock(&cs->lock);
        return c->over;
}

void http_conns_request_done(HttpConns *cs, struct MHD_Connection *con) {
        Conn *c = conn_of(con);
        uint64_t now;

        if (!c)
                return;
        now = now_usec();
        pthread_mutex_lock(&cs->lock);
        if (!c->closing && !c->over)
                wait_start(cs, c, WAIT_NEXT, now);
        pthread_mutex_unlock(&cs->lock);
}

rolesd_rest_dialect http_conns_dialect(struct MHD_Connection *con) {
        Conn *c = conn_of(con);

        return c ? c->dialect : ROLESD_REST_PARTOO;
}
