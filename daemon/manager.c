/* manager.c: the daemon's lifetime. Opens the store, the writer thread and
 * the listeners, announces READY=1 with a STATUS= line, keeps the watchdog
 * fed, sweeps idle and stalled connections, and on SIGTERM/SIGINT stops
 * accepting, answers what is already due (queued writes are committed, new
 * requests get `unavailable`), then returns so main() can close the store. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>

#include "limits.h"
#include "listen.h"
#include "log.h"
#include "manager.h"
#include "seed.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire.h"

static void on_write_complete(WriteOp *op, void *userdata) {
        Manager *m = userdata;
        Conn *c = op->conn;

        c->inflight--;
        if (c->fd >= 0) {
                dispatch_write_reply(c, op);
                /* Sent by on_writes_flush(): a pipelining client gets
                 * the replies of one commit in one write. */
                if (!c->flush_queued) {
                        c->flush_queued = true;
                        c->flush_next = m->flush_list;
                        m->flush_list = conn_ref(c);
                }
        }
        conn_unref(c);
        writeop_free(op);
        manager_note_burst(m);
        manager_check_stop(m);
}

static void on_writes_flush(void *userdata) {
        Manager *m = userdata;

        while (m->flush_list) {
                Conn *c = m->flush_list;

                m->flush_list = c->flush_next;
                c->flush_next = NULL;
                c->flush_queued = false;
                conn_write_done(c);
                conn_unref(c);
        }
}

/* A burst of requests (thousands pipelined), a large buffer freed, or
 * clients gone leave memory in malloc's free lists; give it back as soon
 * as the loop has nothing else to do, rather than at the next sweep, so
 * that memory follows load. A burst ends when the writer has nothing
 * queued. At most one trim per TRIM_MIN_INTERVAL_USEC (connections may
 * come and go by the thousand): a later one waits for its turn. */
static int on_idle_trim(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->last_trim_usec = usec;
        m->ops_since_trim = 0;
        (void) malloc_trim(0);
        return 0;
}

void manager_schedule_trim(Manager *m) {
        uint64_t now, at;
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(m->idle_trim, &enabled);
        if (enabled != SD_EVENT_OFF || sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                return;         /* one is due already */
        at = m->last_trim_usec + TRIM_MIN_INTERVAL_USEC;
        (void) sd_event_source_set_time(m->idle_trim, at > now ? at : now);
        (void) sd_event_source_set_enabled(m->idle_trim, SD_EVENT_ONESHOT);
}

void manager_note_burst(Manager *m) {
        if (++m->ops_since_trim >= TRIM_AFTER_OPS && writer_pending(m->writer) == 0)
                manager_schedule_trim(m);
}

/* Often enough that a connection is closed within a quarter of its timeout past it. */
static uint64_t sweep_interval(const Manager *m) {
        uint64_t t = m->idle_timeout_usec < m->stall_timeout_usec ? m->idle_timeout_usec : m->stall_timeout_usec;

        t /= 4;
        return t > SWEEP_INTERVAL_USEC ? SWEEP_INTERVAL_USEC : t < 50000 ? 50000 : t;
}

static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        for (Conn *c = m->conns, *next; c; c = next) {
                next = c->next;
                if (buf_pending(&c->out) > 0 && usec > c->last_progress + m->stall_timeout_usec) {
                        log_warning("Closing connection of pid %d uid %u: it has not read its replies for %llus",
                                    (int) c->pid, (unsigned) c->uid,
                                    (unsigned long long) (m->stall_timeout_usec / 1000000ull));
                        conn_close(c);
                } else if (c->inflight == 0 && buf_pending(&c->out) == 0 &&
                           usec > c->last_activity + m->idle_timeout_usec) {
                        log_debug("Closing idle connection of pid %d", (int) c->pid);
                        conn_close(c);
                }
        }
        /* Give back what bursts left in malloc's arenas (the writer thread's
         * included), so memory follows load, not history. */
        m->ops_since_trim = 0;
        (void) malloc_trim(0);
        (void) sd_event_source_set_time(s, usec + sweep_interval(m));
        /* Time sources are one-shot: without this the sweep ran only once. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

void manager_conn_closed(Manager *m, Conn *c) {
        manager_schedule_trim(m);
        manager_check_stop(m);
}

void manager_check_stop(Manager *m) {
        if (!m->stopping)
                return;
        if (m->n_conns > 0 || writer_pending(m->writer) > 0)
                return;
        (void) sd_event_exit(m->event, 0);
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("Clients still connected after %llus; closing them",
                    STOP_GRACE_USEC / 1000000ull);
        /* Writes already queued are still committed by writer_free(). */
        for (Conn *c = m->conns, *next; c; c = next) {
                next = c->next;
                conn_close(c);
        }
        return sd_event_exit(m->event, 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        uint64_t now;

        if (m->stopping)
                return 0;
        log_info("Received %s, stopping", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
        m->stopping = true;
        listen_close(m);

        /* Connections stop reading; what they already sent is answered. */
        for (Conn *c = m->conns, *next; c; c = next) {
                next = c->next;
                conn_stop(c);
        }
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_add_time(m->event, &m->stop_timer, CLOCK_MONOTONIC, now + STOP_GRACE_USEC, 0,
                                 on_stop_timeout, m);
        manager_check_stop(m);
        return 0;
}

/* Every client socket is in one epoll set, which is one source of the
 * loop: a dispatch serves all the connections that are ready. (With a
 * source per connection, sd-event makes an epoll_wait() per connection
 * served: one per request under load.) */
static int on_conns(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct epoll_event evs[CONN_EVENTS_MAX];
        int n;

        n = epoll_wait(fd, evs, (int) ELEMENTSOF(evs), 0);
        if (n < 0)
                return errno == EINTR ? 0 : log_error_errno(errno, "Cannot wait for connections");
        /* Serving one may close another of this batch: hold them all. */
        for (int i = 0; i < n; i++)
                conn_ref(evs[i].data.ptr);
        for (int i = 0; i < n; i++)
                conn_on_io(evs[i].data.ptr, evs[i].events);
        for (int i = 0; i < n; i++)
                conn_unref(evs[i].data.ptr);
        return 0;
}

int manager_new(const ManagerConfig *cfg, Manager **ret) {
        Manager *m;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->conn_epoll = -1;
        m->max_conns = cfg->max_conns ? cfg->max_conns : CONN_MAX_DEFAULT;
        m->idle_timeout_usec = cfg->idle_timeout_usec ? cfg->idle_timeout_usec : CONN_IDLE_TIMEOUT_USEC;
        m->stall_timeout_usec = cfg->stall_timeout_usec ? cfg->stall_timeout_usec : CONN_STALL_TIMEOUT_USEC;
        m->db_path = cfg->db_path;
        msgpack_unpacked_init(&m->unpacked);
        m->unpacked.zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
        if (!m->unpacked.zone) {
                free(m);
                return -ENOMEM;
        }

        /* Not sd_event_default(): that one checks its thread with a
         * gettid() system call on every iteration, i.e. every request. */
        r = sd_event_new(&m->event);
        if (r < 0)
                goto fail;
        m->conn_epoll = epoll_create1(EPOLL_CLOEXEC);
        if (m->conn_epoll < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(m->event, &m->conn_source, m->conn_epoll, EPOLLIN, on_conns, m);
        if (r < 0)
                goto fail;
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0) {
                r = -errno;
                goto fail;
        }
        (void) signal(SIGPIPE, SIG_IGN);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                goto fail;
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &m->start_usec);
        *ret = m;
        return 0;
fail:
        manager_free(m);
        return r;
}

int manager_startup(Manager *m, const ManagerConfig *cfg) {
        uint64_t orgs = 0, roles = 0;
        MDB_txn *txn = NULL;
        int r;

        r = store_open(cfg->db_path, &(StoreOptions) { .seed = seed_workspace }, &m->store);
        if (r < 0)
                return log_error_errno(r, "Cannot open the role database in %s", cfg->db_path);
        r = writer_new(m->store, m->event, on_write_complete, on_writes_flush, m, &m->writer);
        if (r < 0)
                return log_error_errno(r, "Cannot start the writer thread");
        r = listen_open(m, cfg->socket_path);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->sweep, CLOCK_MONOTONIC, sweep_interval(m), 0,
                                       on_sweep, m);
        if (r < 0)
                return log_error_errno(r, "Cannot add the sweep timer");
        r = sd_event_add_time(m->event, &m->idle_trim, CLOCK_MONOTONIC, 0, 1, on_idle_trim, m);     /* 1 us: not coalesced */
        if (r >= 0)
                r = sd_event_source_set_priority(m->idle_trim, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->idle_trim, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Cannot add the trim source");

        r = store_read_begin(m->store, &txn);
        if (r >= 0) {
                r = store_stats(m->store, txn, &orgs, &roles);
                store_read_end(m->store, txn);
        }
        if (r < 0)
                return log_error_errno(r, "Cannot read the role database");

        log_info("rolesd %s serving %llu roles in %llu organizations from %s", ROLESD_VERSION,
                 (unsigned long long) roles, (unsigned long long) orgs, cfg->db_path);
        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving %llu roles in %llu organizations",
                          (unsigned long long) roles, (unsigned long long) orgs);
        return 0;
}

int manager_run(Manager *m) {
        return sd_event_loop(m->event);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* Close clients first, then let the writer commit what is queued. */
        while (m->conns)
                conn_close(m->conns);
        m->writer = writer_free(m->writer);
        listen_close(m);
        if (m->read_txn)
                mdb_txn_abort(m->read_txn);
        msgpack_unpacked_destroy(&m->unpacked);
        sd_event_source_disable_unref(m->sweep);
        sd_event_source_disable_unref(m->idle_trim);
        sd_event_source_disable_unref(m->stop_timer);
        sd_event_source_disable_unref(m->conn_source);
        if (m->conn_epoll >= 0)
                close(m->conn_epoll);
        m->store = store_close(m->store);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
