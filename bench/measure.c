/* measure.c: how rolesd-bench's phases take a figure: synchronous calls,
 * the role.create and role.get generators and the bulk load, measure()
 * (the daemon's CPU and commits around a load_run(), --attach), and the
 * daemon's memory. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "phase.h"
#include "proto/rpc.h"
#include "proto/wire.h"

/* ---- request generators ---- */

const char *const bench_perms[] = { "business_edit", "review_read", NULL };

void pack_create(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        CreateGen *cg = g->userdata;
        char name[64];

        snprintf(name, sizeof name, "%s%" PRIu64, cg->prefix, (*cg->counter)++);
        rpc_pack_request_begin(pk, msgid, "role.create");
        msgpack_pack_map(pk, 4);
        mp_pack_kv_u64(pk, "org", cg->org);
        mp_pack_kv_str(pk, "name", name);
        mp_pack_kv_str(pk, "description", "a role created by rolesd-bench");
        mp_pack_str(pk, "permissions");
        mp_pack_strv(pk, (char *const *) bench_perms);
}

LoadGroup create_group(const Bench *b, CreateGen *gen, unsigned conns, unsigned depth) {
        return (LoadGroup) { .label = "role.create", .socket = b->daemon.sock, .conns = conns, .depth = depth,
                             .pack = pack_create, .userdata = gen };
}

double bulk_create(const Bench *b, uint64_t org, const char *prefix, uint64_t *counter, uint64_t n, const char *progress) {
        CreateGen cg = { .org = org, .prefix = prefix, .counter = counter };
        LoadGroup g = {
                .label = "bulk role.create", .socket = b->daemon.sock, .conns = 4, .depth = 2048,
                .pack = pack_create, .userdata = &cg, .total = n,
        };
        LoadGroup *gs[] = { &g };

        if (n < 4 * 2048u)
                g.conns = 1;
        double el = load_run(gs, 1, 0, 0, progress);
        if (g.errors)
                die("bulk load: %" PRIu64 " of %" PRIu64 " creates failed, first: %s", g.errors, n, g.first_error);
        free(g.hist);
        return el;
}

static uint64_t rnd(uint64_t *s) {
        uint64_t x = *s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *s = x;
}

void pack_get(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        GetGen *gg = g->userdata;
        char name[64];

        uint64_t n = gg->limit && *gg->existing > gg->limit ? gg->limit : *gg->existing;

        snprintf(name, sizeof name, "%s%" PRIu64, gg->prefix, rnd(&gg->rng) % (n ? n : 1));
        rpc_pack_request_begin(pk, msgid, "role.get");
        msgpack_pack_map(pk, 2);
        mp_pack_kv_u64(pk, "org", gg->org);
        mp_pack_kv_str(pk, "api_id", name);
}

/* ---- synchronous calls ---- */

static void pack_kvs(msgpack_packer *pk, void *userdata) {
        const KV *kv = userdata;
        size_t n = 0;

        while (kv[n].k)
                n++;
        msgpack_pack_map(pk, n);
        for (size_t i = 0; i < n; i++) {
                if (kv[i].is_u)
                        mp_pack_kv_u64(pk, kv[i].k, kv[i].u);
                else if (kv[i].strv) {
                        mp_pack_str(pk, kv[i].k);
                        mp_pack_strv(pk, (char *const *) kv[i].strv);
                } else
                        mp_pack_kv_str(pk, kv[i].k, kv[i].s);
        }
}

const msgpack_object *call(Rpc *c, const char *method, const KV *params, msgpack_unpacked *u) {
        const msgpack_object *res = NULL;
        char err[256] = "";
        int r;

        msgpack_unpacked_destroy(u);
        msgpack_unpacked_init(u);
        r = rpc_call(c, method, pack_kvs, (void *) params, u, &res, err, sizeof err);
        if (r < 0) {
                errno = -r;
                die("%s: %s (%s)", method, err, strerror(errno));
        }
        return res;
}

uint64_t res_u64(const msgpack_object *o, const char *key) {
        const msgpack_object *v = mp_map_get(o, key);
        if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                die("reply has no integer %s", key);
        return v->via.u64;
}

char *res_str(const msgpack_object *o, const char *key) {
        const msgpack_object *v = mp_map_get(o, key);
        if (!v || v->type != MSGPACK_OBJECT_STR)
                return NULL;
        char *s = strndup(v->via.str.ptr, v->via.str.size);
        if (!s)
                die("out of memory");
        return s;
}

/* ---- figures ---- */

WriterMark writer_mark(const Bench *b) {
        msgpack_unpacked u;
        WriterMark w;
        Rpc c;

        if (rpc_open(&c, b->daemon.sock) < 0)
                die("cannot connect to %s: %s", b->daemon.sock, strerror(errno));
        msgpack_unpacked_init(&u);
        const msgpack_object *status = call(&c, "server.status", (KV[]) { {0} }, &u);
        w = (WriterMark) { .batches = res_u64(status, "write_batches"), .writes = res_u64(status, "writes"),
                           .commit_us = res_u64(status, "write_commit_us") };
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        return w;
}

void writer_since(const Bench *b, WriterMark w0, double *ret_writes_per_commit, double *ret_commit_us) {
        WriterMark w1 = writer_mark(b);
        double batches = (double) (w1.batches - w0.batches);

        *ret_writes_per_commit = batches > 0 ? (double) (w1.writes - w0.writes) / batches : 0;
        *ret_commit_us = batches > 0 ? (double) (w1.commit_us - w0.commit_us) / batches : 0;
}

pid_t attach_start(const Bench *b, const char *key) {
        if (!b->opt.attach_key || strcmp(b->opt.attach_key, key) != 0)
                return 0;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                char p[32];
                snprintf(p, sizeof p, "%d", (int) b->daemon.pid);
                setenv("PID", p, 1);
                snprintf(p, sizeof p, "%d", (int) b->http_pid);
                setenv("HTTP_PID", p, 1);
                setpgid(0, 0);
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                execl("/bin/sh", "sh", "-c", b->opt.attach_cmd, (char *) NULL);
                _exit(127);
        }
        usleep(300000);         /* let it attach */
        return pid;
}

void attach_stop(pid_t pid) {
        if (pid <= 0)
                return;
        kill(-pid, SIGINT);
        waitpid(pid, NULL, 0);
}

void measured_figures(const Measured *m, const char *key, const char *first_error) {
        fig(fmt("%s.ops_per_s", key), m->rate, "ops/s");
        fig(fmt("%s.p50_us", key), (double) m->p50 / 1e3, "us");
        fig(fmt("%s.p99_us", key), (double) m->p99 / 1e3, "us");
        fig(fmt("%s.errors", key), (double) m->errors, "count");
        fig(fmt("%s.daemon_cpu_us_per_op", key), m->daemon_cpu_us, "us");
        fig(fmt("%s.bench_cpu_us_per_op", key), m->bench_cpu_us, "us");
        fig(fmt("%s.daemon_runqueue_wait_us_per_op", key), m->daemon_runq_us, "us");
        if (m->writes_per_commit > 0) {
                fig(fmt("%s.writes_per_commit", key), m->writes_per_commit, "writes");
                fig(fmt("%s.commit_us", key), m->commit_us, "us");
        }
        if (m->errors)
                fprintf(stderr, "rolesd-bench: %s: %" PRIu64 " errors, first: %s\n", key, m->errors, first_error);
        if (m->ok == 0)
                die("%s: no successful request in the measured window (%s)", key, first_error);
}

Measured measure(const Bench *b, LoadGroup *const *groups, size_t n, const char *key) {
        WriterMark w0 = writer_mark(b);
        pid_t attached = attach_start(b, key);
        double dc0 = proc_cpu_s(b->daemon.pid), bc0 = self_cpu_s(), rq0 = proc_runq_wait_s(b->daemon.pid);
        double el = load_run(groups, n, b->opt.warmup, b->opt.duration, NULL);
        attach_stop(attached);
        double dc = proc_cpu_s(b->daemon.pid) - dc0, bc = self_cpu_s() - bc0;
        double rq = proc_runq_wait_s(b->daemon.pid) - rq0;
        uint64_t done = 0;
        LoadGroup *g = groups[0];
        Measured m = {
                .rate = g->rate, .p50 = hist_pct(g->hist, 50), .p99 = hist_pct(g->hist, 99),
                .ok = g->ok, .errors = g->errors,
        };

        /* CPU is over the whole run (warmup, window, drain): per op of all completed */
        for (size_t i = 0; i < n; i++)
                done += groups[i]->done;
        m.daemon_cpu_us = done ? dc * 1e6 / (double) done : 0;
        m.bench_cpu_us = done ? bc * 1e6 / (double) done : 0;
        m.daemon_runq_us = done ? rq * 1e6 / (double) done : 0;
        writer_since(b, w0, &m.writes_per_commit, &m.commit_us);  /* after the CPU figures: it is an RPC */
        (void) el;

        measured_figures(&m, key, g->first_error);
        note("%-28s %12s  p50 %-9s p99 %-9s daemon %.1f us/op CPU, %.1f us/op waiting for a CPU", key,
             fmt_rate(m.rate), fmt_ns(m.p50), fmt_ns(m.p99), m.daemon_cpu_us, m.daemon_runq_us);
        return m;
}

const char *lat(const Measured *m) {
        return fmt("%10s  p50 %9s  p99 %9s", fmt_rate(m->rate), fmt_ns(m->p50), fmt_ns(m->p99));
}

double ratio(double a, double b) {
        return b > 0 ? a / b : 0;
}

off_t file_size(const char *path) {
        struct stat st;
        return stat(path, &st) < 0 ? 0 : st.st_size;
}

/* The same few requests at every probe, then /proc/PID/smaps_rollup,
 * MEM_SETTLE_USEC after the phase before: the daemon gives what a burst
 * left in malloc's free lists back once its loop is idle, at most every
 * 100 ms (manager.c), so a probe right at the end of a phase would measure
 * when that happened, not what the daemon holds. */
#define MEM_SETTLE_USEC 250000u

MemProbe mem_probe(const Bench *b, const char *key, uint64_t get_existing) {
        msgpack_unpacked u;
        Rpc c;
        MemProbe m;

        usleep(MEM_SETTLE_USEC);

        if (rpc_open(&c, b->daemon.sock) < 0)
                die("cannot connect to %s: %s", b->daemon.sock, strerror(errno));
        msgpack_unpacked_init(&u);
        call(&c, "role.list", (KV[]) { { "org", .u = ORG_BIG, .is_u = true }, {0} }, &u);
        call(&c, "server.status", (KV[]) { {0} }, &u);
        if (get_existing)
                call(&c, "role.get", (KV[]) { { "org", .u = ORG_BIG, .is_u = true }, { "api_id", .s = "m0" }, {0} }, &u);
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        m.private_dirty_kb = proc_smaps_kb(b->daemon.pid, "Private_Dirty");
        m.rss_kb = proc_smaps_kb(b->daemon.pid, "Rss");
        fig(fmt("%s.private_dirty_kib", key), (double) m.private_dirty_kb, "KiB");
        fig(fmt("%s.rss_kib", key), (double) m.rss_kb, "KiB");
        return m;
}
