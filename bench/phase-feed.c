/* phase-feed.c: the change feed's figures (issue 18), last in the run, in
 * the database the other phases filled:
 *   - watcher latency: role.create on one connection, one at a time, while
 *     a second connection watches; from each create's reply to its
 *     changes.event (0 when the event came first), p50 and p99 in mean
 *     LMDB commits (the in-run reference);
 *   - role.create at 16 connections with 100 watchers attached (a thread
 *     reads them all) against the same right before without any;
 *   - a changes.list page (100 records) N records into the log against
 *     one 1,000 records in, requests alternating on one connection;
 *   - role.create at 16 connections with the change log, and with it
 *     disabled (ROLESD_BENCH_NO_CHANGE_LOG=1, the daemon restarted on the
 *     same database): the log's cost. Last, as the daemon writes no log
 *     from then on. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "phase.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire.h"

#define WATCHERS 100u

/* One frame sent whole on a blocking socket. */
static void send_frame(int fd, const char *method, const KV *params, uint32_t msgid) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        size_t n = 0, off = 0;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        for (const KV *kv = params; kv->k; kv++)
                n++;
        rpc_pack_request_begin(&pk, msgid, method);
        msgpack_pack_map(&pk, (uint32_t) n);
        for (const KV *kv = params; kv->k; kv++)
                if (kv->is_u)
                        mp_pack_kv_u64(&pk, kv->k, kv->u);
                else
                        mp_pack_kv_str(&pk, kv->k, kv->s);
        while (off < sb.size) {
                ssize_t k = send(fd, sb.data + off, sb.size - off, MSG_NOSIGNAL);
                if (k < 0 && errno != EINTR)
                        die("send: %s", strerror(errno));
                off += k > 0 ? (size_t) k : 0;
        }
        msgpack_sbuffer_destroy(&sb);
}

/* A stream of messages from one socket. */
typedef struct Reader {
        int fd;
        msgpack_unpacker up;
        msgpack_unpacked u;
} Reader;

static void reader_open(Reader *r, const char *sock) {
        r->fd = unix_connect(sock);
        if (r->fd < 0)
                die("cannot connect to %s: %s", sock, strerror(errno));
        if (!msgpack_unpacker_init(&r->up, 1 << 16))
                die("out of memory");
        msgpack_unpacked_init(&r->u);
}

static void reader_close(Reader *r) {
        msgpack_unpacked_destroy(&r->u);
        msgpack_unpacker_destroy(&r->up);
        close(r->fd);
}

/* The next message (blocking); valid until the next call. */
static const msgpack_object *reader_next(Reader *r) {
        for (;;) {
                if (msgpack_unpacker_next(&r->up, &r->u) == MSGPACK_UNPACK_SUCCESS)
                        return &r->u.data;
                if (!msgpack_unpacker_reserve_buffer(&r->up, 1 << 16))
                        die("out of memory");
                ssize_t k = recv(r->fd, msgpack_unpacker_buffer(&r->up), msgpack_unpacker_buffer_capacity(&r->up), 0);
                if (k <= 0)
                        die("the daemon closed a watcher's connection");
                msgpack_unpacker_buffer_consumed(&r->up, (size_t) k);
        }
}

/* The revision of a changes.event, or 0 for any other message. */
static uint64_t event_revision(const msgpack_object *m) {
        uint64_t rev = 0;

        if (m->type != MSGPACK_OBJECT_ARRAY || m->via.array.size != 3 || !mp_str_eq(&m->via.array.ptr[1], "changes.event"))
                return 0;
        (void) mp_read_u64(mp_map_get(&m->via.array.ptr[2].via.array.ptr[0], "revision"), &rev);
        return rev;
}

/* The watch's reply, after the request went out (nothing else comes before it). */
static void watch_begin(Reader *r, uint64_t after) {
        const msgpack_object *m;

        send_frame(r->fd, "changes.watch", (KV[]) { { "after", .u = after, .is_u = true }, {0} }, 1);
        m = reader_next(r);
        if (m->type != MSGPACK_OBJECT_ARRAY || m->via.array.size != 4 || m->via.array.ptr[2].type != MSGPACK_OBJECT_NIL)
                die("changes.watch failed");
}

static uint64_t current_revision(const Bench *b, const char *key) {
        msgpack_unpacked u;
        uint64_t v;
        Rpc c;

        if (rpc_open(&c, b->daemon.sock) < 0)
                die("cannot connect: %s", strerror(errno));
        msgpack_unpacked_init(&u);
        v = res_u64(call(&c, "server.status", (KV[]) { {0} }, &u), key);
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        return v;
}

/* From each reply to its event, one create at a time. */
static void watcher_latency(Bench *b) {
        unsigned n = b->opt.quick ? 300 : 3000;
        Hist *h = hist_new();
        Reader w, c;
        uint64_t rev0 = current_revision(b, "revision");

        reader_open(&w, b->daemon.sock);
        reader_open(&c, b->daemon.sock);
        watch_begin(&w, rev0);
        for (unsigned i = 0; i < n; i++) {
                const msgpack_object *m;
                uint64_t rev = 0, t_ack, t_evt;

                send_frame(c.fd, "role.create", (KV[]) { { "org", .u = ORG_MAIN, .is_u = true },
                                                         { "name", .s = fmt("feed-lat-%u", i) }, {0} }, i + 1);
                m = reader_next(&c);
                t_ack = now_ns();
                if (m->type != MSGPACK_OBJECT_ARRAY || m->via.array.size != 4 ||
                    mp_read_u64(mp_map_get(&m->via.array.ptr[3], "revision"), &rev) < 0)
                        die("role.create failed during the watcher latency figure");
                /* The event is in the watcher's socket already, or comes. */
                while (event_revision(reader_next(&w)) < rev)
                        ;
                t_evt = now_ns();
                /* Reading the watcher after the reply: the event's own delay
                 * is what passed beyond reading a message already there. */
                hist_add(h, t_evt - t_ack);
        }
        reader_close(&w);
        reader_close(&c);

        uint64_t p50 = hist_pct(h, 50), p99 = hist_pct(h, 99);
        fig("feed.watch_latency.p50_us", (double) p50 / 1000.0, "us");
        fig("feed.watch_latency.p99_us", (double) p99 / 1000.0, "us");
        fig("feed.watch_latency.p99_commits", ratio((double) p99, b->commit_ns), "x");
        row(fmt("watcher latency, reply to event (%u creates, one at a time)", n),
            fmt("p50 %s  p99 %s", fmt_ns(p50), fmt_ns(p99)),
            fmt("p99 = %.2f mean LMDB commits", ratio((double) p99, b->commit_ns)));
        target("a live change reaches a watcher within 2 commit times (p99) of its acknowledgement",
               ratio((double) p99, b->commit_ns), "<=", 2, true);
        free(h);
}

/* 100 watchers read by one thread while creates are measured. */
typedef struct Watchers {
        int fds[WATCHERS];
        int epoll;
        atomic_bool stop;
        uint64_t bytes;
        pthread_t thread;
} Watchers;

static void *drain(void *userdata) {
        Watchers *ws = userdata;
        struct epoll_event evs[WATCHERS];
        char buf[1 << 16];

        while (!atomic_load(&ws->stop)) {
                int n = epoll_wait(ws->epoll, evs, WATCHERS, 50);
                for (int i = 0; i < n; i++) {
                        ssize_t k;
                        while ((k = recv(evs[i].data.fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                                ws->bytes += (uint64_t) k;
                }
        }
        return NULL;
}

static void watchers_start(Bench *b, Watchers *ws) {
        uint64_t rev = current_revision(b, "revision");

        ws->epoll = epoll_create1(EPOLL_CLOEXEC);
        for (unsigned i = 0; i < WATCHERS; i++) {
                Reader r;
                reader_open(&r, b->daemon.sock);
                watch_begin(&r, rev);
                ws->fds[i] = dup(r.fd);
                reader_close(&r);
                if (ws->fds[i] < 0 || epoll_ctl(ws->epoll, EPOLL_CTL_ADD, ws->fds[i],
                                                &(struct epoll_event) { .events = EPOLLIN, .data.fd = ws->fds[i] }) < 0)
                        die("watchers: %s", strerror(errno));
        }
        atomic_store(&ws->stop, false);
        if (pthread_create(&ws->thread, NULL, drain, ws) != 0)
                die("cannot start the watchers' thread");
}

static void watchers_stop(Watchers *ws) {
        atomic_store(&ws->stop, true);
        pthread_join(ws->thread, NULL);
        for (unsigned i = 0; i < WATCHERS; i++)
                close(ws->fds[i]);
        close(ws->epoll);
}

static Measured create_c16(Bench *b, const char *key, const char *prefix, uint64_t *counter) {
        CreateGen gen = { .org = ORG_MAIN, .prefix = prefix, .counter = counter };
        LoadGroup g = create_group(b, &gen, 16, 1);
        LoadGroup *gs[] = { &g };
        Measured m = measure(b, gs, 1, key);

        free(g.hist);
        return m;
}

static void watchers_slowdown(Bench *b) {
        static uint64_t counter;
        Watchers ws = {0};
        Measured m0, m1;

        m0 = create_c16(b, "feed.create.c16_watchers0", "feed-w0-", &counter);
        watchers_start(b, &ws);
        m1 = create_c16(b, "feed.create.c16_watchers100", "feed-w100-", &counter);
        watchers_stop(&ws);
        double r = ratio(m1.rate, m0.rate);
        fig("feed.create.c16_watchers100.ratio_to_none", r, "x");
        fig("feed.watchers100.bytes_read", (double) ws.bytes, "B");
        row("role.create, 16 connections, no watcher", lat(&m0), "");
        row(fmt("role.create, 16 connections, %u watchers", WATCHERS), lat(&m1),
            fmt("x%.2f without; the watchers read %s", r, fmt_bytes((double) ws.bytes)));
        target("100 watchers slow role.create at 16 connections by < 10%", r, ">=", 0.9, true);
}

/* changes.list pages, alternating on one connection: even msgids after
 * the small offset, odd ones after the big one. */
static uint64_t list_after[2];

static void pack_changes_list(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        rpc_pack_request_begin(pk, msgid, "changes.list");
        msgpack_pack_map(pk, 2);
        mp_pack_kv_u64(pk, "after", list_after[msgid & 1]);
        mp_pack_kv_u64(pk, "limit", 100);
}

static void changes_list_pages(Bench *b) {
        uint64_t first = current_revision(b, "compacted_revision"), last = current_revision(b, "revision");
        uint64_t deep = b->opt.big_n;
        LoadGroup g = { .label = "changes.list", .socket = b->daemon.sock, .conns = 1, .depth = 1,
                        .pack = pack_changes_list, .hist_odd = hist_new() };
        LoadGroup *gs[] = { &g };

        if (first + 1000 + deep + 100 > last)   /* the log keeps fewer: as deep as it goes */
                deep = last > first + 1200 ? last - first - 1200 : 0;
        list_after[0] = first + 1000;
        list_after[1] = first + 1000 + deep;
        Measured m = measure(b, gs, 1, "feed.changes_list");
        uint64_t p50_small = hist_pct(g.hist, 50), p50_big = hist_pct(g.hist_odd, 50);
        double r = ratio((double) p50_big, (double) p50_small);
        fig("feed.changes_list.small.p50_us", (double) p50_small / 1000.0, "us");
        fig("feed.changes_list.big.p50_us", (double) p50_big / 1000.0, "us");
        fig("feed.changes_list.p50_ratio_big_to_small", r, "x");
        fig("feed.changes_list.records_between", (double) deep, "records");
        row(fmt("changes.list, 100 records, 1,000 into the log (%s pages/s both)", fmt_rate(m.rate)),
            fmt("p50 %s", fmt_ns(p50_small)), "");
        row(fmt("changes.list, 100 records, %" PRIu64 " further", deep), fmt("p50 %s", fmt_ns(p50_big)),
            fmt("x%.2f the page 1,000 in", r));
        target(fmt("changes.list page %" PRIu64 " records into the log within 1.5x of 1,000 in (p50)", deep), r, "<=",
               1.5, true);
        free(g.hist);
        free(g.hist_odd);
}

static void log_cost(Bench *b) {
        static uint64_t counter;
        Measured with, without;

        with = create_c16(b, "feed.create.c16_log", "feed-log-", &counter);
        daemon_stop(&b->daemon);
        setenv("ROLESD_BENCH_NO_CHANGE_LOG", "1", 1);
        daemon_start(&b->daemon);
        unsetenv("ROLESD_BENCH_NO_CHANGE_LOG");
        without = create_c16(b, "feed.create.c16_nolog", "feed-nolog-", &counter);
        double r = ratio(with.rate, without.rate);
        fig("feed.create.c16_log.ratio_to_nolog", r, "x");
        row("role.create, 16 connections, with the change log", lat(&with),
            fmt("%.0f us daemon CPU/op", with.daemon_cpu_us));
        row("role.create, 16 connections, log disabled (bench switch)", lat(&without),
            fmt("x%.2f with the log / without; %.0f us daemon CPU/op", r, without.daemon_cpu_us));
        target("role.create at 16 connections with the change log >= 85% of the same without it", r, ">=", 0.85,
               true);
}

void phase_feed(Bench *b) {
        row_section(fmt("change feed (issue 18): %s roles in the database", b->big_label));
        watcher_latency(b);
        watchers_slowdown(b);
        changes_list_pages(b);
        log_cost(b);
}
