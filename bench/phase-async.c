/* phase-async.c: librolesd's asynchronous client against the bench's own
 * load engine: role.create in the small database (org 1) at 16
 * connections with one call in flight each, and at one connection with 64
 * in flight, each figure right after the engine's same load (same
 * daemon, same database, the same requests), as a ratio to it. The
 * client is what a program with an event loop of its own writes:
 * rolesd_role_create_async() calls whose callbacks make the next one, and
 * a poll() over rolesd_get_fd()/rolesd_get_events() that hands the ready
 * connections to rolesd_process(). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rolesd/client.h>

#include "phase.h"
#include "proto/macro.h"

#define ASYNC_CONNS_MAX 64u

/* One call slot: a connection keeps depth of them in flight. */
typedef struct Slot {
        struct Client *cl;
        rolesd *c;
        uint64_t t0;
} Slot;

typedef struct Client {
        CreateGen *gen;
        rolesd *conns[ASYNC_CONNS_MAX];
        unsigned n_conns, depth;
        Slot *slots;
        Hist *hist;
        bool measuring, stopping;
        uint64_t ok, errors, done, inflight;
        char first_error[256];
} Client;

static void on_created(rolesd *c, rolesd_reply *reply, void *userdata);

static void submit(Slot *s) {
        CreateGen *gen = s->cl->gen;
        char name[64];
        rolesd_role_spec spec = { sizeof spec, gen->org, name, NULL, "a role created by rolesd-bench", NULL,
                                  bench_perms, false };
        int r;

        snprintf(name, sizeof name, "%s%" PRIu64, gen->prefix, (*gen->counter)++);
        s->t0 = now_ns();
        r = rolesd_role_create_async(s->c, NULL, &spec, on_created, s);
        if (r < 0)
                die("rolesd_role_create_async: %s", strerror(-r));
        s->cl->inflight++;
}

/* A reply: its latency (in the window), then the slot's next call. The
 * role is not decoded, as the engine does not decode it either. */
static void on_created(rolesd *c, rolesd_reply *reply, void *userdata) {
        Slot *s = userdata;
        Client *cl = s->cl;
        rolesd_error err = ROLESD_ERROR_INIT;
        int r = rolesd_reply_error(reply, &err);

        cl->inflight--;
        cl->done++;
        if (cl->measuring) {
                if (r < 0) {
                        if (!cl->errors++)
                                snprintf(cl->first_error, sizeof cl->first_error, "%s", err.message);
                } else {
                        cl->ok++;
                        hist_add(cl->hist, now_ns() - s->t0);
                }
        }
        if (!cl->stopping)
                submit(s);
}

static uint64_t monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* The event loop: until `until` (now_ns()), or with stopping until every
 * call is answered. Each poll() waits at most until the earliest call
 * deadline (rolesd_get_timeout()), and then every connection processes. */
static void loop(Client *cl, uint64_t until) {
        struct pollfd pfd[ASYNC_CONNS_MAX];

        while (cl->stopping ? cl->inflight > 0 : now_ns() < until) {
                uint64_t deadline = UINT64_MAX, now;
                int timeout_ms = 100, n;

                for (unsigned i = 0; i < cl->n_conns; i++) {
                        int fd = rolesd_get_fd(cl->conns[i]);
                        uint64_t t;

                        pfd[i] = (struct pollfd) {
                                .fd = fd, .events = (short) (fd >= 0 ? rolesd_get_events(cl->conns[i]) : 0) };
                        if (rolesd_get_timeout(cl->conns[i], &t) >= 0 && t < deadline)
                                deadline = t;
                }
                now = monotonic_usec();
                if (deadline != UINT64_MAX)
                        timeout_ms = deadline <= now ? 0 : deadline - now < 100000u ? (int) ((deadline - now) / 1000u) : 100;
                n = poll(pfd, cl->n_conns, timeout_ms);
                if (n < 0 && errno != EINTR)
                        die("poll: %s", strerror(errno));
                for (unsigned i = 0; i < cl->n_conns; i++)
                        if (n == 0 || pfd[i].revents || pfd[i].fd < 0) {
                                int r = rolesd_process(cl->conns[i]);
                                if (r < 0)
                                        die("rolesd_process: %s", strerror(-r));
                        }
        }
}

/* Runs the client as measure() runs the engine (a warm-up, the measured
 * window, the drain) and records its figures under key. */
static Measured async_measure(const Bench *b, CreateGen *gen, unsigned conns, unsigned depth, const char *key) {
        Client cl = { .gen = gen, .n_conns = conns, .depth = depth, .hist = hist_new() };
        double dc0, bc0, rq0, dc, bc, rq, el;
        WriterMark w0;
        uint64_t t0;
        Measured m = { 0 };

        cl.slots = calloc((size_t) conns * depth, sizeof *cl.slots);
        if (!cl.slots || conns > ASYNC_CONNS_MAX)
                die("out of memory");
        for (unsigned i = 0; i < conns; i++) {
                rolesd_error err = ROLESD_ERROR_INIT;

                if (rolesd_connect(b->daemon.sock, &cl.conns[i], &err) < 0)
                        die("rolesd_connect: %s", err.message);
        }
        w0 = writer_mark(b);
        dc0 = proc_cpu_s(b->daemon.pid);
        bc0 = self_cpu_s();
        rq0 = proc_runq_wait_s(b->daemon.pid);
        for (unsigned i = 0; i < conns * depth; i++) {
                cl.slots[i] = (Slot) { .cl = &cl, .c = cl.conns[i / depth] };
                submit(&cl.slots[i]);
        }
        loop(&cl, now_ns() + (uint64_t) (b->opt.warmup * 1e9));
        cl.measuring = true;
        t0 = now_ns();
        loop(&cl, t0 + (uint64_t) (b->opt.duration * 1e9));
        el = (double) (now_ns() - t0) / 1e9;
        cl.measuring = false;
        cl.stopping = true;
        loop(&cl, 0);
        dc = proc_cpu_s(b->daemon.pid) - dc0;
        bc = self_cpu_s() - bc0;
        rq = proc_runq_wait_s(b->daemon.pid) - rq0;

        m.rate = (double) cl.ok / el;
        m.p50 = hist_pct(cl.hist, 50);
        m.p99 = hist_pct(cl.hist, 99);
        m.ok = cl.ok;
        m.errors = cl.errors;
        m.daemon_cpu_us = cl.done ? dc * 1e6 / (double) cl.done : 0;
        m.bench_cpu_us = cl.done ? bc * 1e6 / (double) cl.done : 0;
        m.daemon_runq_us = cl.done ? rq * 1e6 / (double) cl.done : 0;
        writer_since(b, w0, &m.writes_per_commit, &m.commit_us);
        measured_figures(&m, key, cl.first_error);
        note("%-28s %12s  p50 %-9s p99 %-9s client %.1f us/op CPU", key, fmt_rate(m.rate), fmt_ns(m.p50),
             fmt_ns(m.p99), m.bench_cpu_us);
        for (unsigned i = 0; i < conns; i++)
                rolesd_free(cl.conns[i]);
        free(cl.slots);
        free(cl.hist);
        return m;
}

/* Engine and library in turn, ASYNC_ROUNDS rounds in the order ABBA ABBA
 * (the engine first in odd rounds, second in even ones): what the machine
 * does besides (fsync latency above all, which sets the pace of group
 * commits) drifts and bursts, and lands on both sides alike. The ratio is
 * of the two sides' mean rates; each round's is kept, and their spread. */
#define ASYNC_ROUNDS 4u

void phase_async(Bench *b) {
        static const struct { unsigned conns, depth; const char *key, *label; } aphases[] = {
                { 16, 1, "async.create.c16", "16 connections" },
                { 1, 64, "async.create.pipeline64", "1 connection, 64 in flight" },
        };
        CreateGen gen = { .org = ORG_MAIN, .prefix = "r", .counter = &b->main_roles };
        LoadGroup eg = create_group(b, &gen, 0, 0);
        LoadGroup *egs[] = { &eg };

        row_section("librolesd's asynchronous client: role.create, org 1, against the bench's engine");
        for (size_t i = 0; i < ELEMENTSOF(aphases); i++) {
                const char *key = aphases[i].key;
                Measured em[ASYNC_ROUNDS], am[ASYNC_ROUNDS];
                double e_rate = 0, a_rate = 0, e_cpu = 0, a_cpu = 0, lo = 0, hi = 0;

                eg.conns = aphases[i].conns;
                eg.depth = aphases[i].depth;
                for (unsigned r = 0; r < ASYNC_ROUNDS; r++) {
                        bool engine_first = r % 2 == 0;

                        if (engine_first)
                                em[r] = measure(b, egs, 1, fmt("%s.engine.round%u", key, r + 1));
                        am[r] = async_measure(b, &gen, aphases[i].conns, aphases[i].depth,
                                              fmt("%s.round%u", key, r + 1));
                        if (!engine_first)
                                em[r] = measure(b, egs, 1, fmt("%s.engine.round%u", key, r + 1));
                        double x = ratio(am[r].rate, em[r].rate);

                        fig(fmt("%s.round%u.ratio_to_engine", key, r + 1), x, "x");
                        e_rate += em[r].rate / ASYNC_ROUNDS;
                        a_rate += am[r].rate / ASYNC_ROUNDS;
                        e_cpu += em[r].bench_cpu_us / ASYNC_ROUNDS;
                        a_cpu += am[r].bench_cpu_us / ASYNC_ROUNDS;
                        lo = r == 0 || x < lo ? x : lo;
                        hi = r == 0 || x > hi ? x : hi;
                }
                fig(fmt("%s.engine.ops_per_s", key), e_rate, "ops/s");
                fig(fmt("%s.ops_per_s", key), a_rate, "ops/s");
                fig(fmt("%s.engine.bench_cpu_us_per_op", key), e_cpu, "us");
                fig(fmt("%s.bench_cpu_us_per_op", key), a_cpu, "us");
                fig(fmt("%s.ratio_to_engine", key), ratio(a_rate, e_rate), "x");
                fig(fmt("%s.ratio_to_engine.min", key), lo, "x");
                fig(fmt("%s.ratio_to_engine.max", key), hi, "x");
                row(fmt("engine, %s", aphases[i].label), fmt("%10s (mean of %u)", fmt_rate(e_rate), ASYNC_ROUNDS),
                    fmt("%.1f us bench CPU/op", e_cpu));
                row(fmt("librolesd, %s", aphases[i].label), fmt("%10s (mean of %u)", fmt_rate(a_rate), ASYNC_ROUNDS),
                    fmt("x%.2f engine (rounds %.2f-%.2f); %.1f us client CPU/op", ratio(a_rate, e_rate), lo, hi,
                        a_cpu));
                target(fmt("librolesd async role.create, %s >= 0.8x the bench's engine", aphases[i].label),
                       ratio(a_rate, e_rate), ">=", 0.8, true);
        }
        free(eg.hist);
}
