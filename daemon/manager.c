/* manager.c: the daemon's lifetime, and the one file that knows every
 * part. Creates and wires them (store -> writer -> dispatcher ->
 * connection set -> listeners: each part calls only those before it, and
 * hears back through the functions it was given), announces READY=1 with
 * a STATUS= line, keeps the watchdog fed, runs the sweep of idle and
 * stalled connections, trims malloc's free lists when the loop is idle,
 * and on SIGTERM/SIGINT stops accepting, answers what is already due
 * (queued writes are committed, new requests get `unavailable`), then
 * returns so main() can free it all.
 *
 * The change feed: after each delivery of the writer (the replies are in
 * their connections' output), the changes committed up to the delivery's
 * revision are read back from the log, in order, once: each goes to the
 * journal and to the live watches. Then, while the log holds more than
 * --changes-retain records, a trim of at most CHANGES_TRIM_STEP of the
 * oldest ones (never one not yet published) rides on the writer as an
 * upkeep op, one at a time, so no write waits on a long one. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <systemd/sd-daemon.h>

#include "conn.h"
#include "dispatch.h"
#include "limits.h"
#include "listen.h"
#include "log.h"
#include "manager.h"
#include "seed.h"
#include "store.h"
#include "writer.h"
#include "proto/macro.h"

struct Manager {
        sd_event *event;
        Store *store;
        Writer *writer;
        Dispatcher *dispatch;
        ConnSet *conns;
        Listeners *listeners;
        unsigned max_conns;
        uint64_t idle_timeout_usec;     /* close connections silent this long */
        uint64_t stall_timeout_usec;    /* close clients that read none of their pending replies this long */
        bool stopping;                  /* SIGTERM seen: answer what is due, accept nothing new */
        sd_event_source *sweep;         /* idle/stall timer */
        sd_event_source *idle_trim;     /* malloc_trim when the loop is idle, at most every 100 ms */
        unsigned ops_since_trim;        /* writes completed since the last trim */
        uint64_t last_trim_usec;        /* CLOCK_MONOTONIC of the last idle trim */
        sd_event_source *stop_timer;    /* gives up waiting for clients at shutdown */
        uint64_t start_usec;
        /* The change feed: */
        uint64_t published;             /* changes up to here went to the journal and the watches */
        uint64_t changes_retain;        /* records the log keeps */
        bool trimming;                  /* a trim op is with the writer */
};

typedef struct TrimArgs {
        uint64_t keep, upto;
        uint64_t trimmed;
} TrimArgs;

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

static void schedule_trim(Manager *m) {
        uint64_t now, at;
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(m->idle_trim, &enabled);
        if (enabled != SD_EVENT_OFF || sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                return;         /* one is due already */
        at = m->last_trim_usec + TRIM_MIN_INTERVAL_USEC;
        (void) sd_event_source_set_time(m->idle_trim, at > now ? at : now);
        (void) sd_event_source_set_enabled(m->idle_trim, SD_EVENT_ONESHOT);
}

static void check_stop(Manager *m) {
        if (!m->stopping)
                return;
        if (conn_set_count(m->conns) > 0 || writer_pending(m->writer) > 0)
                return;
        (void) sd_event_exit(m->event, 0);
}

/* ---- the change feed ---- */

static void journal(const StoreChangeInfo *i) {
        bool role = i->kind == STORE_KIND_ROLE || i->kind == STORE_KIND_MEMBER;

        log_change(&(LogChange) {
                .revision = i->revision, .org = i->org, .op = store_op_name(i->op), .kind = store_kind_name(i->kind),
                .id = i->id, .role = role ? i->id : NULL, .user = i->kind == STORE_KIND_MEMBER ? i->user : NULL,
                .principal = i->principal == STORE_PRINCIPAL_API_KEY ? "api_key" :
                             i->principal == STORE_PRINCIPAL_USER ? "user" : "peer",
                .peer = i->principal == STORE_PRINCIPAL_PEER, .uid = i->peer.uid, .gid = i->peer.gid,
                .pid = i->peer.pid, .principal_id = i->principal_id,
        });
}

typedef struct Publish {
        Manager *m;
        uint64_t upto;
} Publish;

static int publish_visit(uint64_t revision, const void *record, size_t len, void *userdata) {
        Publish *p = userdata;
        StoreChangeInfo info;
        int r;

        if (revision > p->upto)
                return 1;
        r = store_change_read(record, len, &info);
        if (r < 0)
                log_error_errno(r, "The change log's record of revision %llu cannot be read",
                                (unsigned long long) revision);
        else {
                journal(&info);
                conn_set_publish(p->m->conns, revision, info.org, record, len);
        }
        return 0;
}

static void trim_done(WriteOp *op, void *userdata) {
        Manager *m = userdata;
        TrimArgs *a = op->args;

        if (op->r < 0)
                log_error_errno(op->r, "Cannot trim the change log");
        else if (a->trimmed > 0)
                log_debug("Trimmed %llu records from the change log", (unsigned long long) a->trimmed);
        m->trimming = false;
        buf_done(&op->result);
        free(a);
        free(op);
}

static int trim_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        TrimArgs *a = args;
        return store_changes_trim(s, txn, a->keep, CHANGES_TRIM_STEP, a->upto, &a->trimmed);
}

/* One trim step on the writer when the log holds more than it keeps. */
static void maybe_trim(Manager *m, uint64_t count) {
        TrimArgs *a;
        WriteOp *op;

        if (m->trimming || m->stopping || count <= m->changes_retain)
                return;
        a = calloc(1, sizeof *a);
        op = calloc(1, sizeof *op);
        if (!a || !op) {
                free(a);
                free(op);
                return;         /* the next delivery tries again */
        }
        *a = (TrimArgs) { .keep = m->changes_retain, .upto = m->published };
        *op = (WriteOp) { .apply = trim_apply, .args = a, .done = trim_done, .userdata = m, .upkeep = true };
        m->trimming = true;
        writer_submit(m->writer, op);
}

/* Journals and publishes the changes after the last published one up to
 * revision (committed, their writes answered), then trims if due. */
static void publish(Manager *m, uint64_t revision) {
        MDB_txn *txn = NULL;
        uint64_t count = 0;
        int r;

        r = store_read_begin(m->store, &txn);
        if (r >= 0 && revision > m->published)
                r = store_changes_list(m->store, txn, m->published, NULL, SIZE_MAX, publish_visit,
                                       &(Publish) { .m = m, .upto = revision }, NULL);
        if (r >= 0)
                r = store_changes_bounds(m->store, txn, NULL, NULL, &count);
        store_read_end(m->store, txn);
        if (r < 0)
                log_error_errno(r, "Cannot read the change log");
        if (revision > m->published) {
                m->published = revision;
                conn_set_published(m->conns, revision);
        }
        log_changes_flush();
        maybe_trim(m, count);
}

/* The writer handed back n writes (the connections have their replies):
 * the changes go out, count the burst, and see whether a stop can finish. */
static void on_writes_delivered(unsigned n, uint64_t revision, void *userdata) {
        Manager *m = userdata;

        if (m->conns)
                publish(m, revision);
        m->ops_since_trim += n;
        if (m->ops_since_trim >= TRIM_AFTER_OPS && writer_pending(m->writer) == 0)
                schedule_trim(m);
        check_stop(m);
}

static void on_conn_closed(void *userdata) {
        Manager *m = userdata;

        schedule_trim(m);
        check_stop(m);
}

static void on_conn_released(void *userdata) {
        schedule_trim(userdata);
}

/* server.status's figures (HandlerCtx.stats). */
static void manager_stats(void *userdata, ServerStats *ret) {
        Manager *m = userdata;
        uint64_t now = 0;

        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        *ret = (ServerStats) {
                .connections = conn_set_count(m->conns),
                .uptime_usec = now - m->start_usec,
                .watches = conn_set_watches(m->conns),
                .changes_retain = m->changes_retain,
        };
        writer_stats(m->writer, &ret->write_batches, &ret->writes, &ret->write_commit_usec);
}

/* Often enough that a connection is closed within a quarter of its timeout past it. */
static uint64_t sweep_interval(const Manager *m) {
        uint64_t t = m->idle_timeout_usec < m->stall_timeout_usec ? m->idle_timeout_usec : m->stall_timeout_usec;

        t /= 4;
        return t > SWEEP_INTERVAL_USEC ? SWEEP_INTERVAL_USEC : t < 50000 ? 50000 : t;
}

static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        conn_set_sweep(m->conns, usec);
        /* Give back what bursts left in malloc's arenas (the writer thread's
         * included), so memory follows load, not history. */
        m->ops_since_trim = 0;
        (void) malloc_trim(0);
        (void) sd_event_source_set_time(s, usec + sweep_interval(m));
        /* Time sources are one-shot: without this the sweep ran only once. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("Clients still connected after %llus; closing them",
                    STOP_GRACE_USEC / 1000000ull);
        /* Writes already queued are still committed by writer_free(). */
        conn_set_close_all(m->conns);
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
        m->listeners = listen_close(m->listeners);

        /* Connections stop reading; what they already sent is answered. */
        dispatch_stop(m->dispatch);
        conn_set_stop(m->conns);
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        (void) sd_event_add_time(m->event, &m->stop_timer, CLOCK_MONOTONIC, now + STOP_GRACE_USEC, 0,
                                 on_stop_timeout, m);
        check_stop(m);
        return 0;
}

int manager_new(const ManagerConfig *cfg, Manager **ret) {
        Manager *m;
        sigset_t ss;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->max_conns = cfg->max_conns ? cfg->max_conns : CONN_MAX_DEFAULT;
        m->idle_timeout_usec = cfg->idle_timeout_usec ? cfg->idle_timeout_usec : CONN_IDLE_TIMEOUT_USEC;
        m->stall_timeout_usec = cfg->stall_timeout_usec ? cfg->stall_timeout_usec : CONN_STALL_TIMEOUT_USEC;
        m->changes_retain = cfg->changes_retain ? cfg->changes_retain : CHANGES_RETAIN_DEFAULT;

        /* Not sd_event_default(): that one checks its thread with a
         * gettid() system call on every iteration, i.e. every request. */
        r = sd_event_new(&m->event);
        if (r < 0)
                goto fail;
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

/* "1 role", "2 roles". */
static const char *plural(uint64_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

static int open_store(Manager *m, const char *db_path) {
        pid_t owner;
        int r;

        /* rolesd-bench's switch, for the cost of the log: undocumented. */
        const char *no_log = getenv("ROLESD_BENCH_NO_CHANGE_LOG");
        bool disabled = no_log && strcmp(no_log, "1") == 0;

        if (disabled)
                log_warning("The change log is disabled (ROLESD_BENCH_NO_CHANGE_LOG=1): a benchmark's switch");
        r = store_open(db_path, &(StoreOptions) { .seed = seed_workspace, .migrated = seed_workspace_migrated,
                                                  .no_change_log = disabled }, &m->store);
        if (r == -EBUSY) {
                if (store_lock_owner(db_path, &owner) >= 0)
                        log_error("The role database in %s is in use by another rolesd (pid %d)", db_path,
                                  (int) owner);
                else
                        log_error("The role database in %s is in use by another rolesd", db_path);
                return r;
        }
        if (r < 0)
                return log_error_errno(r, "Cannot open the role database in %s", db_path);
        return 0;
}

int manager_startup(Manager *m, const ManagerConfig *cfg) {
        uint64_t orgs = 0, roles = 0, count = 0;
        MDB_txn *txn = NULL;
        int r;

        /* The socket first: a second daemon on a live socket stops here,
         * before it creates or locks any database. */
        r = listen_open(cfg->socket_path, &m->listeners);
        if (r < 0)
                return r;
        r = open_store(m, cfg->db_path);
        if (r < 0)
                return r;
        m->published = store_committed_revision(m->store);
        r = writer_new(m->store, m->event, on_writes_delivered, m, &m->writer);
        if (r < 0)
                return log_error_errno(r, "Cannot start the writer thread");
        r = dispatch_new(&(HandlerCtx) { .store = m->store, .stats = manager_stats, .stats_userdata = m },
                         m->writer, &m->dispatch);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the method table");
        r = conn_set_new(m->event, m->dispatch,
                         &(ConnSetConfig) {
                                 .max_conns = m->max_conns,
                                 .idle_timeout_usec = m->idle_timeout_usec,
                                 .stall_timeout_usec = m->stall_timeout_usec,
                                 .closed = on_conn_closed,
                                 .released = on_conn_released,
                                 .userdata = m,
                                 .store = m->store,
                                 .published = m->published,
                         }, &m->conns);
        if (r < 0)
                return log_error_errno(r, "Cannot watch connections");
        r = listen_start(m->listeners, m->event, m->conns);
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
        if (r >= 0)
                r = store_stats(m->store, txn, &orgs, &roles);
        if (r >= 0)
                r = store_changes_bounds(m->store, txn, NULL, NULL, &count);
        store_read_end(m->store, txn);
        if (r < 0)
                return log_error_errno(r, "Cannot read the role database");
        maybe_trim(m, count);   /* --changes-retain may be lower than last time */

        log_info("rolesd %s serving %llu %s in %llu %s from %s", ROLESD_VERSION,
                 (unsigned long long) roles, plural(roles, "role", "roles"),
                 (unsigned long long) orgs, plural(orgs, "organization", "organizations"), cfg->db_path);
        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving %llu %s in %llu %s",
                          (unsigned long long) roles, plural(roles, "role", "roles"),
                          (unsigned long long) orgs, plural(orgs, "organization", "organizations"));
        return 0;
}

int manager_run(Manager *m) {
        return sd_event_loop(m->event);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* Close clients first, then let the writer commit what is queued
         * (its completions find their connections closed; no trim is
         * queued behind them). */
        m->stopping = true;
        if (m->conns)
                conn_set_close_all(m->conns);
        m->writer = writer_free(m->writer);
        m->conns = conn_set_free(m->conns);
        m->listeners = listen_close(m->listeners);
        m->dispatch = dispatch_free(m->dispatch);
        sd_event_source_disable_unref(m->sweep);
        sd_event_source_disable_unref(m->idle_trim);
        sd_event_source_disable_unref(m->stop_timer);
        m->store = store_close(m->store);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
