/* main.c: rolesd-bench. Starts the real daemon on a fresh temporary
 * database (socket activation, READY=1 on a notify socket), measures the
 * in-run references and every figure of the benchmark, prints one table and
 * writes every figure to a JSON file. Not a test: it asserts nothing about
 * speed; its exit status says only whether it could measure. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "bench.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire.h"

#ifndef BENCH_SRCDIR
#define BENCH_SRCDIR "."
#endif

#define ORG_MAIN 1u     /* create/get phases, HTTP */
#define ORG_BIG 2u      /* the million */
#define ORG_SMALL 3u    /* list baseline */
#define PARTOO_BUILTINS 5u
#define PER_PAGE 30u

static struct {
        const char *rolesd;
        const char *rolesd_http;
        const char *json;
        const char *parent;
        const char *scripts;
        const char *mhd_mode;
        unsigned mhd_threads;
        bool quick, keep, no_http;
        double duration, warmup;
        uint64_t big_n, small_n;
        unsigned http_conns;
        const char *attach_key, *attach_cmd;
} opt = {
        .json = "bench-results.json",
        .scripts = BENCH_SRCDIR,
        .mhd_mode = "pool",
        .small_n = 1000,
        .http_conns = 64,
};

static Daemon daemon_;
static pid_t http_pid;

/* ---- request generators ---- */

typedef struct CreateGen {
        uint64_t org;
        const char *prefix;
        uint64_t *counter;      /* shared by every group creating in this namespace */
} CreateGen;

static const char *const bench_perms[] = { "business_edit", "review_read", NULL };

static void pack_create(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
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

typedef struct GetGen {
        uint64_t org;
        const char *prefix;
        uint64_t *existing;     /* names prefix0 .. prefix(existing-1) exist */
        uint64_t limit;         /* asks among the first limit of them (0: all) */
        uint64_t rng;
} GetGen;

/* role.get in org 1 asks among its first 100,000 roles: how many the
 * create phases made depends on the disk, and a get costs more the larger
 * the working set (LMDB pages missing from the CPU caches), so the figure
 * would otherwise follow the create figures. 100,000 roles are ~60 MB of
 * pages: still far beyond the caches. The at-1M figure asks among all. */
#define GET_WORKING_SET 100000u

static uint64_t rnd(uint64_t *s) {
        uint64_t x = *s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *s = x;
}

static void pack_get(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        GetGen *gg = g->userdata;
        char name[64];

        uint64_t n = gg->limit && *gg->existing > gg->limit ? gg->limit : *gg->existing;

        snprintf(name, sizeof name, "%s%" PRIu64, gg->prefix, rnd(&gg->rng) % (n ? n : 1));
        rpc_pack_request_begin(pk, msgid, "role.get");
        msgpack_pack_map(pk, 2);
        mp_pack_kv_u64(pk, "org", gg->org);
        mp_pack_kv_str(pk, "api_id", name);
}

typedef struct ListGen {
        uint64_t org, page, per_page;
        const char *after;
} ListGen;

static void pack_list_gen(const ListGen *lg, msgpack_packer *pk, uint32_t msgid) {
        rpc_pack_request_begin(pk, msgid, "role.list");
        msgpack_pack_map(pk, 2 + (lg->page > 0) + !!lg->after);
        mp_pack_kv_u64(pk, "org", lg->org);
        mp_pack_kv_u64(pk, "per_page", lg->per_page);
        if (lg->page > 0)
                mp_pack_kv_u64(pk, "page", lg->page);
        if (lg->after)
                mp_pack_kv_str(pk, "after", lg->after);
}

static void pack_list(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        pack_list_gen(g->userdata, pk, msgid);
}

/* Two lists, one request each in turn: even msgids ask gens[0], odd
 * ones gens[1] (LoadGroup.hist_odd keeps their latencies apart). */
static void pack_list_alternating(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        const ListGen *gens = g->userdata;

        pack_list_gen(&gens[msgid & 1], pk, msgid);
}

/* ---- synchronous calls ---- */

typedef struct KV {
        const char *k;
        const char *s;
        uint64_t u;
        bool is_u;
        const char *const *strv;
} KV;

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

/* One call on a fresh connection; dies on any error. The result is copied
 * into *u (caller destroys). */
static const msgpack_object *call(Rpc *c, const char *method, const KV *params, msgpack_unpacked *u) {
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

static uint64_t res_u64(const msgpack_object *o, const char *key) {
        const msgpack_object *v = mp_map_get(o, key);
        if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                die("reply has no integer %s", key);
        return v->via.u64;
}

static char *res_str(const msgpack_object *o, const char *key) {
        const msgpack_object *v = mp_map_get(o, key);
        if (!v || v->type != MSGPACK_OBJECT_STR)
                return NULL;
        char *s = strndup(v->via.str.ptr, v->via.str.size);
        if (!s)
                die("out of memory");
        return s;
}

/* ---- phases ---- */

typedef struct Measured {
        double rate;
        uint64_t p50, p99;
        double daemon_cpu_us;   /* daemon CPU per completed op */
        double daemon_runq_us;  /* daemon threads' wait for a CPU per completed op */
        double bench_cpu_us;
        double writes_per_commit;       /* of the daemon's write batches in the run */
        double commit_us;               /* their mean commit time */
        uint64_t ok, errors;
} Measured;

/* The daemon's group-commit counters (server.status) at one moment. */
typedef struct WriterMark {
        uint64_t batches, writes, commit_us;
} WriterMark;

static WriterMark writer_mark(void) {
        msgpack_unpacked u;
        WriterMark w;
        Rpc c;

        if (rpc_open(&c, daemon_.sock) < 0)
                die("cannot connect to %s: %s", daemon_.sock, strerror(errno));
        msgpack_unpacked_init(&u);
        const msgpack_object *status = call(&c, "server.status", (KV[]) { {0} }, &u);
        w = (WriterMark) { .batches = res_u64(status, "write_batches"), .writes = res_u64(status, "writes"),
                           .commit_us = res_u64(status, "write_commit_us") };
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        return w;
}

/* Writes per commit and the mean commit time since w0 (0 without commits). */
static void writer_since(WriterMark w0, double *ret_writes_per_commit, double *ret_commit_us) {
        WriterMark w1 = writer_mark();
        double batches = (double) (w1.batches - w0.batches);

        *ret_writes_per_commit = batches > 0 ? (double) (w1.writes - w0.writes) / batches : 0;
        *ret_commit_us = batches > 0 ? (double) (w1.commit_us - w0.commit_us) / batches : 0;
}

/* --attach FIGURE:CMD runs CMD (with $PID = the daemon's pid) while that
 * figure is measured, e.g. perf record; it gets SIGINT at the end. */
static pid_t attach_start(const char *key) {
        if (!opt.attach_key || strcmp(opt.attach_key, key) != 0)
                return 0;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                char p[32];
                snprintf(p, sizeof p, "%d", (int) daemon_.pid);
                setenv("PID", p, 1);
                snprintf(p, sizeof p, "%d", (int) http_pid);
                setenv("HTTP_PID", p, 1);
                setpgid(0, 0);
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                execl("/bin/sh", "sh", "-c", opt.attach_cmd, (char *) NULL);
                _exit(127);
        }
        usleep(300000);         /* let it attach */
        return pid;
}

static void attach_stop(pid_t pid) {
        if (pid <= 0)
                return;
        kill(-pid, SIGINT);
        waitpid(pid, NULL, 0);
}

static Measured measure(LoadGroup *const *groups, size_t n, const char *key) {
        WriterMark w0 = writer_mark();
        pid_t attached = attach_start(key);
        double dc0 = proc_cpu_s(daemon_.pid), bc0 = self_cpu_s(), rq0 = proc_runq_wait_s(daemon_.pid);
        double el = load_run(groups, n, opt.warmup, opt.duration, NULL);
        attach_stop(attached);
        double dc = proc_cpu_s(daemon_.pid) - dc0, bc = self_cpu_s() - bc0;
        double rq = proc_runq_wait_s(daemon_.pid) - rq0;
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
        writer_since(w0, &m.writes_per_commit, &m.commit_us);  /* after the CPU figures: it is an RPC */
        (void) el;

        fig(fmt("%s.ops_per_s", key), m.rate, "ops/s");
        fig(fmt("%s.p50_us", key), (double) m.p50 / 1e3, "us");
        fig(fmt("%s.p99_us", key), (double) m.p99 / 1e3, "us");
        fig(fmt("%s.errors", key), (double) m.errors, "count");
        fig(fmt("%s.daemon_cpu_us_per_op", key), m.daemon_cpu_us, "us");
        fig(fmt("%s.bench_cpu_us_per_op", key), m.bench_cpu_us, "us");
        fig(fmt("%s.daemon_runqueue_wait_us_per_op", key), m.daemon_runq_us, "us");
        if (m.writes_per_commit > 0) {
                fig(fmt("%s.writes_per_commit", key), m.writes_per_commit, "writes");
                fig(fmt("%s.commit_us", key), m.commit_us, "us");
        }
        if (m.errors)
                fprintf(stderr, "rolesd-bench: %s: %" PRIu64 " errors, first: %s\n", key, m.errors, g->first_error);
        if (m.ok == 0)
                die("%s: no successful request in the measured window (%s)", key, g->first_error);
        note("%-28s %12s  p50 %-9s p99 %-9s daemon %.1f us/op CPU, %.1f us/op waiting for a CPU", key,
             fmt_rate(m.rate), fmt_ns(m.p50), fmt_ns(m.p99), m.daemon_cpu_us, m.daemon_runq_us);
        return m;
}

static const char *lat(const Measured *m) {
        return fmt("%10s  p50 %9s  p99 %9s", fmt_rate(m->rate), fmt_ns(m->p50), fmt_ns(m->p99));
}

static double ratio(double a, double b) {
        return b > 0 ? a / b : 0;
}

static const char *fs_name(const char *path) {
        struct statfs s;

        if (statfs(path, &s) < 0)
                return "unknown";
        switch ((unsigned long) s.f_type) {
        case 0xEF53: return "ext4";
        case 0x58465342: return "xfs";
        case 0x01021994: return "tmpfs";
        case 0x9123683E: return "btrfs";
        case 0x794c7630: return "overlayfs";
        case 0x2fc12fc1: return "zfs";
        case 0xf2f52010: return "f2fs";
        default: return fmt("0x%lx", (unsigned long) s.f_type);
        }
}

static off_t file_size(const char *path) {
        struct stat st;
        return stat(path, &st) < 0 ? 0 : st.st_size;
}

typedef struct MemProbe {
        long private_dirty_kb, rss_kb;
} MemProbe;

/* The same few requests at every probe, then /proc/PID/smaps_rollup,
 * MEM_SETTLE_USEC after the phase before: the daemon gives what a burst
 * left in malloc's free lists back once its loop is idle, at most every
 * 100 ms (manager.c), so a probe right at the end of a phase would measure
 * when that happened, not what the daemon holds. */
#define MEM_SETTLE_USEC 250000u

static MemProbe mem_probe(const char *key, uint64_t get_existing) {
        msgpack_unpacked u;
        Rpc c;
        MemProbe m;

        usleep(MEM_SETTLE_USEC);

        if (rpc_open(&c, daemon_.sock) < 0)
                die("cannot connect to %s: %s", daemon_.sock, strerror(errno));
        msgpack_unpacked_init(&u);
        call(&c, "role.list", (KV[]) { { "org", .u = ORG_BIG, .is_u = true }, {0} }, &u);
        call(&c, "server.status", (KV[]) { {0} }, &u);
        if (get_existing)
                call(&c, "role.get", (KV[]) { { "org", .u = ORG_BIG, .is_u = true }, { "api_id", .s = "m0" }, {0} }, &u);
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        m.private_dirty_kb = proc_smaps_kb(daemon_.pid, "Private_Dirty");
        m.rss_kb = proc_smaps_kb(daemon_.pid, "Rss");
        fig(fmt("%s.private_dirty_kib", key), (double) m.private_dirty_kb, "KiB");
        fig(fmt("%s.rss_kib", key), (double) m.rss_kb, "KiB");
        return m;
}

/* ---- list figures ---- */

typedef struct ListFigs {
        Measured first, deep, cont, count;
        uint64_t count_value;
        uint64_t deep_page;
} ListFigs;

/* One organization's part of the list figures. */
typedef struct ListSide {
        uint64_t org, n_roles;
        const char *key;
        ListFigs *figs;
        char *cursor;           /* after the deep page */
} ListSide;

/* Reads the deep page (90 % of the way through) once, for its cursor and
 * the organization's count. */
static void list_side_prepare(ListSide *sd) {
        ListFigs *lf = sd->figs;
        msgpack_unpacked u;
        Rpc c;

        *lf = (ListFigs) { .deep_page = (sd->n_roles * 9 / 10) / PER_PAGE };
        if (lf->deep_page < 2)
                lf->deep_page = 2;
        if (rpc_open(&c, daemon_.sock) < 0)
                die("cannot connect: %s", strerror(errno));
        msgpack_unpacked_init(&u);
        const msgpack_object *r = call(&c, "role.list",
                                       (KV[]) { { "org", .u = sd->org, .is_u = true },
                                                { "page", .u = lf->deep_page, .is_u = true },
                                                { "per_page", .u = PER_PAGE, .is_u = true }, {0} }, &u);
        sd->cursor = res_str(r, "next");
        lf->count_value = res_u64(r, "count");
        if (!sd->cursor)
                die("role.list page %" PRIu64 " of org %" PRIu64 " has no next cursor", lf->deep_page, sd->org);
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
}

/* The list figures (first page, a deep page by number, the page after it
 * through the cursor, the count) of one organization, or of two in turn:
 * one connection, their requests alternating, each latency kept with its
 * organization, so that whatever the machine does meanwhile (where the
 * scheduler puts the two processes, write-back) weighs on both alike
 * while each request still has the daemon to itself. Measured one
 * window after the other, the same call's p50 moved 6x (13 us while the
 * bench and the daemon happened to share a CPU, 80 us otherwise). The
 * daemon's CPU per op is the window's, over both. */
static void list_figures(ListSide *sides, size_t n) {
        static const struct { const char *name; size_t offset; } kinds[] = {
                { "first_page",                offsetof(ListFigs, first) },
                { "deep_page_by_number",       offsetof(ListFigs, deep) },
                { "continuation_after_cursor", offsetof(ListFigs, cont) },
                { "count_per_page_1",          offsetof(ListFigs, count) },
        };
        ListGen gens[2];
        LoadGroup g = { .label = "role.list", .socket = daemon_.sock, .conns = 1, .depth = 1, .userdata = gens,
                        .pack = n == 2 ? pack_list_alternating : pack_list };
        LoadGroup *gs[] = { &g };

        if (n == 2)
                g.hist_odd = hist_new();
        for (size_t i = 0; i < n; i++)
                list_side_prepare(&sides[i]);
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                for (size_t i = 0; i < n; i++) {
                        ListSide *sd = &sides[i];

                        gens[i] = (ListGen) { .org = sd->org, .per_page = PER_PAGE };
                        if (k == 1)
                                gens[i].page = sd->figs->deep_page;
                        else if (k == 2)
                                gens[i].after = sd->cursor;
                        else if (k == 3)
                                gens[i].per_page = 1;
                }
                Measured m = measure(gs, 1, fmt("%s.%s", sides[0].key, kinds[k].name));
                for (size_t i = 0; i < n; i++) {
                        Measured *mi = (Measured *) ((char *) sides[i].figs + kinds[k].offset);

                        *mi = m;
                        if (n == 2) {
                                /* measure() saw both: each has half the
                                 * requests and its own latencies */
                                const Hist *h = i == 0 ? g.hist : g.hist_odd;
                                const char *key = fmt("%s.%s", sides[i].key, kinds[k].name);

                                mi->rate = m.rate / 2;
                                mi->p50 = hist_pct(h, 50);
                                mi->p99 = hist_pct(h, 99);
                                fig(fmt("%s.ops_per_s", key), mi->rate, "ops/s");
                                fig(fmt("%s.p50_us", key), (double) mi->p50 / 1e3, "us");
                                fig(fmt("%s.p99_us", key), (double) mi->p99 / 1e3, "us");
                        }
                }
        }
        for (size_t i = 0; i < n; i++) {
                ListSide *sd = &sides[i];

                fig(fmt("%s.count", sd->key), (double) sd->figs->count_value, "roles");
                fig(fmt("%s.deep_page", sd->key), (double) sd->figs->deep_page, "page");
                if (sd->figs->count_value != sd->n_roles + PARTOO_BUILTINS)
                        fprintf(stderr, "rolesd-bench: %s: count is %" PRIu64 ", expected %" PRIu64 "\n", sd->key,
                                sd->figs->count_value, sd->n_roles + PARTOO_BUILTINS);
                free(sd->cursor);
        }
        free(g.hist);
        free(g.hist_odd);
}

static void list_rows(const ListFigs *lf, const ListFigs *base, const char *n_label) {
        row(fmt("first page (30), N=%s", n_label), lat(&lf->first),
            base ? fmt("p50 x%.2f of N=%" PRIu64, ratio((double) lf->first.p50, (double) base->first.p50), opt.small_n) : "");
        row(fmt("page %" PRIu64 " by number, N=%s", lf->deep_page, n_label), lat(&lf->deep),
            base ? fmt("p50 x%.2f of page %" PRIu64 " at N=%" PRIu64, ratio((double) lf->deep.p50, (double) base->deep.p50),
                       base->deep_page, opt.small_n) : "");
        row(fmt("next page via cursor `after`, N=%s", n_label), lat(&lf->cont),
            base ? fmt("p50 x%.2f of N=%" PRIu64, ratio((double) lf->cont.p50, (double) base->cont.p50), opt.small_n) : "");
        row(fmt("count (per_page=1) = %" PRIu64, lf->count_value), lat(&lf->count),
            base ? fmt("p50 x%.2f of N=%" PRIu64, ratio((double) lf->count.p50, (double) base->count.p50), opt.small_n) : "");
}

/* ---- bulk load ---- */

static double bulk_create(uint64_t org, const char *prefix, uint64_t *counter, uint64_t n, const char *progress) {
        CreateGen cg = { .org = org, .prefix = prefix, .counter = counter };
        LoadGroup g = {
                .label = "bulk role.create", .socket = daemon_.sock, .conns = 4, .depth = 2048,
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

/* ---- HTTP ---- */

/* Starts rolesd-http on a socket bound here and passed as systemd would
 * (LISTEN_FDS), so that no other process can take the port between. */
static unsigned http_start(void) {
        unsigned port;
        int sfd = tcp_listen_loopback(&port);
        char *log = fmt("%s/rolesd-http.log", daemon_.dir), pid[16];

        fflush(NULL);
        http_pid = fork();
        if (http_pid < 0)
                die("fork: %s", strerror(errno));
        if (http_pid == 0) {
                child_stdio(log);
                /* fd 3 without FD_CLOEXEC (dup2 onto itself keeps the flag) */
                if ((sfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(sfd, 3)) < 0)
                        _exit(127);
                snprintf(pid, sizeof pid, "%d", (int) getpid());
                setenv("LISTEN_FDS", "1", 1);
                setenv("LISTEN_PID", pid, 1);
                unsetenv("LISTEN_FDNAMES");
                unsetenv("NOTIFY_SOCKET");
                execl(opt.rolesd_http, opt.rolesd_http, "--socket", daemon_.sock, (char *) NULL);
                _exit(127);
        }
        close(sfd);
        double end = now_s() + 15;
        for (;;) {
                size_t len;
                int st;
                if (http_probe("127.0.0.1", port, "GET", "/openapi.json", NULL, NULL, &len, NULL, 0) > 0)
                        return port;
                if (waitpid(http_pid, &st, WNOHANG) == http_pid) {
                        http_pid = 0;
                        die("rolesd-http exited at start (see %s)", log);
                }
                if (now_s() > end)
                        die("rolesd-http does not answer on port %u within 15 s", port);
                usleep(20000);
        }
}

/* cg: the RPC role.create load, run again just before each HTTP create
 * run as its reference (adjacent, so that the machine's drift between
 * phases does not enter the ratio). */

/* CPU seconds used so far by rolesd-http, rolesd and this process. */
typedef struct CpuMark {
        double shim, daemon, self;
} CpuMark;

static CpuMark cpu_mark(void) {
        return (CpuMark) { .shim = proc_cpu_s(http_pid), .daemon = proc_cpu_s(daemon_.pid), .self = self_cpu_s() };
}

/* Records and formats the CPU rolesd-http and rolesd spent per request since c0. */
static const char *cpu_per_request(const char *key, CpuMark c0, uint64_t requests) {
        CpuMark c1 = cpu_mark();
        double n = requests ? (double) requests : 1;
        double shim = (c1.shim - c0.shim) * 1e6 / n, daemon = (c1.daemon - c0.daemon) * 1e6 / n;

        fig(fmt("%s.shim_cpu_us_per_req", key), shim, "us");
        fig(fmt("%s.daemon_cpu_us_per_req", key), daemon, "us");
        return fmt("CPU us/req: rolesd-http %.1f + rolesd %.1f", shim, daemon);
}

static void http_section(uint64_t existing_main, LoadGroup *cg) {
        msgpack_unpacked u;
        Rpc c;
        double secs = opt.quick ? 1 : opt.duration;

        row_section(fmt("HTTP (wrk, %u connections, 2 threads; reference: libmicrohttpd, mode %s%s)", opt.http_conns,
                        opt.mhd_mode, strcmp(opt.mhd_mode, "pool") == 0 ? fmt(" x%u threads", opt.mhd_threads) : ""));
        if (!opt.rolesd_http || opt.no_http) {
                row(opt.no_http ? "skipped (--no-http)" : "skipped: rolesd-http not built (no --rolesd-http)", "", "");
                fig_str("http.skipped", "rolesd-http not available");
                target("rolesd-http GET reads >= 50% of bare libmicrohttpd", 0, ">=", 0.5, false);
                target("rolesd-http creates >= 60% of RPC role.create at 64 connections", 0, ">=", 0.6, false);
                return;
        }
        if (!wrk_available()) {
                fprintf(stderr, "rolesd-bench: wrk not found on PATH: skipping the HTTP part (apt-get install wrk)\n");
                row("skipped: wrk not found on PATH (apt-get install wrk)", "", "");
                fig_str("http.skipped", "wrk not found");
                target("rolesd-http GET reads >= 50% of bare libmicrohttpd", 0, ">=", 0.5, false);
                target("rolesd-http creates >= 60% of RPC role.create at 64 connections", 0, ">=", 0.6, false);
                return;
        }

        /* credentials */
        if (rpc_open(&c, daemon_.sock) < 0)
                die("cannot connect: %s", strerror(errno));
        msgpack_unpacked_init(&u);
        const msgpack_object *r = call(&c, "key.add", (KV[]) { { "user_role", .s = "ORG_ADMIN" },
                                                              { "org", .u = ORG_MAIN, .is_u = true }, {0} }, &u);
        char *api_key = res_str(r, "api_key");
        static const char *const admin[] = { "admin", NULL };
        r = call(&c, "user.add", (KV[]) { { "username", .s = "rolesd-bench" }, { "roles", .strv = admin }, {0} }, &u);
        char *user_id = res_str(r, "user_id"), *token = res_str(r, "token");
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        if (!api_key || !user_id || !token)
                die("key.add/user.add returned no credential");

        unsigned port = http_start();
        char base[64];
        snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
        char *h_key = strdup(fmt("x-APIKey: %s", api_key));
        char *h_uid = strdup(fmt("X-User-Id: %s", user_id));
        char *h_tok = strdup(fmt("X-Auth-Token: %s", token));
        char *get_path = strdup(fmt("/v2/custom_role/r%" PRIu64 "?org_id=%u", existing_main / 2, ORG_MAIN));
        if (!h_key || !h_uid || !h_tok || !get_path)
                die("out of memory");

        struct {
                const char *key, *label, *path;
                const char *const *args;
                char headers[1024];
        } reads[] = {
                { "http.get_custom_role", "GET /v2/custom_role/{api_id}", get_path, (const char *const[]) { h_key, NULL }, "" },
                { "http.get_roles_list", "GET /api/v1/roles.list", "/api/v1/roles.list",
                  (const char *const[]) { h_uid, h_tok, NULL }, "" },
        };
        snprintf(reads[0].headers, sizeof reads[0].headers, "%s\r\n", h_key);
        snprintf(reads[1].headers, sizeof reads[1].headers, "%s\r\n%s\r\n", h_uid, h_tok);

        double min_read_ratio = -1;
        for (size_t i = 0; i < ELEMENTSOF(reads); i++) {
                size_t body_len = 0;
                char snippet[200];
                int status = http_probe("127.0.0.1", port, "GET", reads[i].path, reads[i].headers, NULL, &body_len,
                                        snippet, sizeof snippet);
                if (status != 200) {
                        row(reads[i].label, fmt("probe: HTTP %d", status), snippet);
                        fprintf(stderr, "rolesd-bench: %s answered %d: %s\n", reads[i].path, status, snippet);
                        min_read_ratio = 0;
                        continue;
                }
                fig(fmt("%s.body_bytes", reads[i].key), (double) body_len, "bytes");

                WrkResult ref = {0}, w = {0};
                double ref_cpu = 0;
                if (mhd_ref_available()) {
                        unsigned rport;
                        void *m = mhd_ref_start(opt.mhd_mode, opt.mhd_threads, body_len < 64 ? 64 : body_len, &rport);
                        CpuMark c0 = cpu_mark();
                        wrk_run(fmt("%s/wrk-get.lua", opt.scripts), fmt("http://127.0.0.1:%u%s", rport, reads[i].path),
                                opt.http_conns, 2, secs, reads[i].args, &ref);
                        ref_cpu = cpu_mark().self - c0.self;     /* the reference's threads are ours */
                        mhd_ref_stop(m);
                }
                pid_t attached = attach_start(reads[i].key);
                CpuMark c0 = cpu_mark();
                wrk_run(fmt("%s/wrk-get.lua", opt.scripts), fmt("%s%s", base, reads[i].path), opt.http_conns, 2, secs,
                        reads[i].args, &w);
                const char *cpu = cpu_per_request(reads[i].key, c0, w.requests);
                attach_stop(attached);
                if (!w.ran) {
                        row(reads[i].label, "wrk failed", w.error);
                        min_read_ratio = 0;
                        continue;
                }
                fig(fmt("%s.req_per_s", reads[i].key), w.rate, "req/s");
                fig(fmt("%s.p50_ms", reads[i].key), w.p50_ms, "ms");
                fig(fmt("%s.p99_ms", reads[i].key), w.p99_ms, "ms");
                fig(fmt("%s.non2xx", reads[i].key), (double) w.non2xx, "count");
                fig(fmt("%s.socket_errors", reads[i].key), (double) w.socket_errors, "count");
                if (ref.ran) {
                        fig(fmt("%s.mhd_ref_req_per_s", reads[i].key), ref.rate, "req/s");
                        fig(fmt("%s.mhd_ref_p99_ms", reads[i].key), ref.p99_ms, "ms");
                        row(fmt("bare libmicrohttpd, same %zu-byte body", body_len),
                            fmt("%10s  p50 %6.2f ms  p99 %6.2f ms", fmt_rate(ref.rate), ref.p50_ms, ref.p99_ms), "reference");
                }
                double rr = ref.ran ? ratio(w.rate, ref.rate) : -1;
                fig(fmt("%s.ratio_to_mhd", reads[i].key), rr, "x");
                if (ref.ran && ref.requests)
                        fig(fmt("%s.mhd_ref_cpu_us_per_req", reads[i].key), ref_cpu * 1e6 / (double) ref.requests, "us");
                row(fmt("%s (%zu B)", reads[i].label, body_len),
                    fmt("%10s  p50 %6.2f ms  p99 %6.2f ms", fmt_rate(w.rate), w.p50_ms, w.p99_ms),
                    fmt("x%.2f of bare libmicrohttpd; %s (bare: %.1f)%s", rr, cpu,
                        ref.requests ? ref_cpu * 1e6 / (double) ref.requests : 0,
                        w.non2xx || w.socket_errors ? fmt("; %" PRIu64 " non-2xx, %" PRIu64 " socket errors", w.non2xx, w.socket_errors) : ""));
                if (w.non2xx)
                        fprintf(stderr, "rolesd-bench: %s: %" PRIu64 " non-2xx responses\n", reads[i].label, w.non2xx);
                if (rr >= 0 && (min_read_ratio < 0 || rr < min_read_ratio))
                        min_read_ratio = rr;
        }

        struct {
                const char *key, *label, *path, *kind, *prefix;
                const char *const *headers;
        } posts[] = {
                { "http.post_custom_role", "POST /v2/custom_role", "/v2/custom_role?org_id=1", "partoo", "hp",
                  (const char *const[]) { h_key, NULL } },
                { "http.post_roles_create", "POST /api/v1/roles.create", "/api/v1/roles.create", "rocketchat", "hr",
                  (const char *const[]) { h_uid, h_tok, NULL } },
        };
        double min_create_ratio = -1;
        for (size_t i = 0; i < ELEMENTSOF(posts); i++) {
                const char *args[8] = { posts[i].path, posts[i].kind, posts[i].prefix };
                size_t na = 3;
                for (size_t j = 0; posts[i].headers[j] && na < 7; j++)
                        args[na++] = posts[i].headers[j];
                WrkResult w = {0};
                LoadGroup *cgs[] = { cg };
                cg->conns = 64;
                cg->depth = 1;
                Measured rpc = measure(cgs, 1, fmt("%s.rpc_create_c64", posts[i].key));
                row("role.create over RPC, 64 connections", lat(&rpc), "reference, just before");
                pid_t attached = attach_start(posts[i].key);
                WriterMark w0 = writer_mark();
                CpuMark c0 = cpu_mark();
                wrk_run(fmt("%s/wrk-post.lua", opt.scripts), base, opt.http_conns, 2, secs, args, &w);
                const char *cpu = cpu_per_request(posts[i].key, c0, w.requests);
                double wpc, commit_us;
                writer_since(w0, &wpc, &commit_us);
                fig(fmt("%s.writes_per_commit", posts[i].key), wpc, "writes");
                fig(fmt("%s.commit_us", posts[i].key), commit_us, "us");
                attach_stop(attached);
                if (!w.ran) {
                        row(posts[i].label, "wrk failed", w.error);
                        min_create_ratio = 0;
                        continue;
                }
                double good = w.requests > 0 ? w.rate * (double) (w.requests - (w.non2xx < w.requests ? w.non2xx : w.requests)) /
                                                       (double) w.requests : 0;
                double cr = ratio(good, rpc.rate);
                fig(fmt("%s.req_per_s", posts[i].key), w.rate, "req/s");
                fig(fmt("%s.ok_per_s", posts[i].key), good, "req/s");
                fig(fmt("%s.p50_ms", posts[i].key), w.p50_ms, "ms");
                fig(fmt("%s.p99_ms", posts[i].key), w.p99_ms, "ms");
                fig(fmt("%s.non2xx", posts[i].key), (double) w.non2xx, "count");
                fig(fmt("%s.ratio_to_rpc_create_c64", posts[i].key), cr, "x");
                row(posts[i].label, fmt("%10s  p50 %6.2f ms  p99 %6.2f ms", fmt_rate(good), w.p50_ms, w.p99_ms),
                    fmt("x%.2f of RPC role.create at 64 conns; %.1f writes/commit (RPC: %.1f); %s (RPC: rolesd %.1f)%s", cr,
                        wpc, rpc.writes_per_commit, cpu, rpc.daemon_cpu_us,
                        w.non2xx ? fmt("; %" PRIu64 " non-2xx of %" PRIu64, w.non2xx, w.requests) : ""));
                if (w.non2xx)
                        fprintf(stderr, "rolesd-bench: %s: %" PRIu64 " non-2xx responses of %" PRIu64 "\n", posts[i].label,
                                w.non2xx, w.requests);
                if (min_create_ratio < 0 || cr < min_create_ratio)
                        min_create_ratio = cr;
        }

        target("rolesd-http GET reads >= 50% of bare libmicrohttpd (worst endpoint)", min_read_ratio, ">=", 0.5,
               min_read_ratio >= 0);
        target("rolesd-http creates >= 60% of RPC role.create at 64 connections (worst endpoint)", min_create_ratio, ">=",
               0.6, min_create_ratio >= 0);

        kill(http_pid, SIGTERM);
        waitpid(http_pid, NULL, 0);
        http_pid = 0;
        free(h_key);
        free(h_uid);
        free(h_tok);
        free(get_path);
        free(api_key);
        free(user_id);
        free(token);
}

/* ---- main ---- */

static void usage(void) {
        printf("usage: rolesd-bench --rolesd PATH [options]\n\n"
               "Benchmarks rolesd (and rolesd-http) on a fresh temporary database; prints a\n"
               "table and writes every figure to a JSON file. Asserts nothing.\n\n"
               "  --rolesd PATH        the rolesd binary (or $ROLESD)\n"
               "  --rolesd-http PATH   the rolesd-http binary (HTTP part skipped without it)\n"
               "  --json FILE          results file (default bench-results.json)\n"
               "  --quick              ~20 s smoke run: 0.5 s per figure, 20,000 roles instead of 1,000,000\n"
               "  --roles N            roles in the big organization (default 1000000)\n"
               "  --duration S         measured seconds per figure (default 2)\n"
               "  --dir DIR            where to make the temporary directory (default $TMPDIR or /var/tmp)\n"
               "  --keep               keep the temporary directory (database, logs)\n"
               "  --no-http            skip the HTTP part\n"
               "  --mhd-mode MODE      threading of the libmicrohttpd reference: pool, internal, per-connection\n"
               "  --mhd-threads N      threads of the pool mode (default: rolesd-http's HTTP_THREADS)\n"
               "  --scripts DIR        where wrk-get.lua and wrk-post.lua are (default the source dir)\n"
               "  --attach FIGURE:CMD  run CMD ($PID = rolesd's pid, $HTTP_PID = rolesd-http's) while FIGURE\n"
               "                       (e.g. create.c16_at_big, http.post_custom_role)\n"
               "                       is measured; it gets SIGINT at the end (perf record, strace...)\n"
               "  -v, --verbose        progress lines and wrk output on stderr\n");
}

static void parse_args(int argc, char **argv) {
        enum { ARG_ROLESD = 0x100, ARG_HTTP, ARG_JSON, ARG_QUICK, ARG_ROLES, ARG_DURATION, ARG_DIR, ARG_KEEP,
               ARG_NOHTTP, ARG_MHD_MODE, ARG_MHD_THREADS, ARG_SCRIPTS, ARG_ATTACH };
        static const struct option longopts[] = {
                { "rolesd", required_argument, NULL, ARG_ROLESD },
                { "rolesd-http", required_argument, NULL, ARG_HTTP },
                { "json", required_argument, NULL, ARG_JSON },
                { "quick", no_argument, NULL, ARG_QUICK },
                { "roles", required_argument, NULL, ARG_ROLES },
                { "duration", required_argument, NULL, ARG_DURATION },
                { "dir", required_argument, NULL, ARG_DIR },
                { "keep", no_argument, NULL, ARG_KEEP },
                { "no-http", no_argument, NULL, ARG_NOHTTP },
                { "mhd-mode", required_argument, NULL, ARG_MHD_MODE },
                { "mhd-threads", required_argument, NULL, ARG_MHD_THREADS },
                { "scripts", required_argument, NULL, ARG_SCRIPTS },
                { "attach", required_argument, NULL, ARG_ATTACH },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {0}
        };
        int c;

        opt.rolesd = getenv("ROLESD");
        while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) >= 0)
                switch (c) {
                case ARG_ROLESD: opt.rolesd = optarg; break;
                case ARG_HTTP: opt.rolesd_http = *optarg ? optarg : NULL; break;
                case ARG_JSON: opt.json = optarg; break;
                case ARG_QUICK: opt.quick = true; break;
                case ARG_ROLES: opt.big_n = strtoull(optarg, NULL, 10); break;
                case ARG_DURATION: opt.duration = strtod(optarg, NULL); break;
                case ARG_DIR: opt.parent = optarg; break;
                case ARG_KEEP: opt.keep = true; break;
                case ARG_NOHTTP: opt.no_http = true; break;
                case ARG_MHD_MODE: opt.mhd_mode = optarg; break;
                case ARG_MHD_THREADS: opt.mhd_threads = (unsigned) strtoul(optarg, NULL, 10); break;
                case ARG_SCRIPTS: opt.scripts = optarg; break;
                case ARG_ATTACH: {
                        char *colon = strchr(optarg, ':');
                        if (!colon)
                                die("--attach takes FIGURE:COMMAND");
                        *colon = 0;
                        opt.attach_key = optarg;
                        opt.attach_cmd = colon + 1;
                        break;
                }
                case 'v': bench_verbose = true; break;
                case 'h': usage(); exit(0);
                default: fprintf(stderr, "Try --help.\n"); exit(2);
                }
        if (optind < argc)
                die("unexpected argument %s", argv[optind]);
        if (!opt.rolesd || access(opt.rolesd, X_OK) < 0)
                die("give the rolesd binary with --rolesd PATH (or $ROLESD)");
        if (opt.rolesd_http && access(opt.rolesd_http, X_OK) < 0)
                die("%s is not executable", opt.rolesd_http);
        if (opt.duration <= 0)
                opt.duration = opt.quick ? 0.5 : 2.0;
        opt.warmup = opt.quick ? 0.1 : 0.3;
        if (opt.big_n == 0)
                opt.big_n = opt.quick ? 20000 : 1000000;
        if (opt.big_n < 10 * PER_PAGE)
                die("--roles must be at least %u", 10 * PER_PAGE);
        if (opt.mhd_threads == 0)
                opt.mhd_threads = mhd_ref_default_threads();
        if (!opt.parent) {
                opt.parent = getenv("TMPDIR");
                if (!opt.parent || !*opt.parent)
                        opt.parent = "/var/tmp";
        }
}

static void rm_rf(const char *path) {
        pid_t pid = fork();
        if (pid == 0) {
                execlp("rm", "rm", "-rf", "--", path, (char *) NULL);
                _exit(127);
        }
        if (pid > 0)
                waitpid(pid, NULL, 0);
}

static pid_t main_pid;

static void cleanup(void) {
        if (getpid() != main_pid)
                return;         /* a forked helper (echo server) exiting */
        if (http_pid > 0) {
                kill(http_pid, SIGTERM);
                waitpid(http_pid, NULL, 0);
                http_pid = 0;
        }
        if (daemon_.pid > 0) {
                kill(daemon_.pid, SIGTERM);
                waitpid(daemon_.pid, NULL, 0);
                daemon_.pid = 0;
        }
        if (daemon_.dir && !opt.keep)
                rm_rf(daemon_.dir);
        else if (daemon_.dir)
                fprintf(stderr, "rolesd-bench: kept %s\n", daemon_.dir);
}

static void on_signal(int sig) {
        exit(128 + sig);        /* runs cleanup() */
}

/* The bare request/reply reference: a single-threaded epoll server that
 * echoes each frame (refs.c), driven like role.get; measured right before
 * the role.get figure it is the reference of. */
static char *echo_sock;

static Measured echo_measure(unsigned conns, const char *key) {
        pid_t echo = echo_server_start(echo_sock), saved_pid = daemon_.pid;
        uint64_t one = 1;
        GetGen gen = { .org = ORG_MAIN, .prefix = "r", .existing = &one, .rng = 88172645463325252ull };
        LoadGroup eg = { .label = "echo", .socket = echo_sock, .conns = conns, .depth = 1, .pack = pack_get,
                         .userdata = &gen, .ignore_errors = true };
        LoadGroup *egs[] = { &eg };
        Measured m;

        daemon_.pid = echo;     /* CPU accounting of measure() */
        m = measure(egs, 1, key);
        daemon_.pid = saved_pid;
        child_stop(echo);
        free(eg.hist);
        return m;
}

int main(int argc, char **argv) {
        double t_begin = now_s();
        msgpack_unpacked u;
        Rpc c;

        bench_tty = isatty(STDERR_FILENO);
        main_pid = getpid();
        parse_args(argc, argv);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);

        char *tmpl = strdup(fmt("%s/rolesd-bench.XXXXXX", opt.parent));
        if (!tmpl || !mkdtemp(tmpl))
                die("cannot make a temporary directory under %s: %s", opt.parent, strerror(errno));
        atexit(cleanup);
        daemon_ = (Daemon) {
                .rolesd = opt.rolesd, .dir = tmpl, .notify_fd = -1,
                .db = strdup(fmt("%s/db", tmpl)), .sock = strdup(fmt("%s/rolesd.sock", tmpl)),
                .notify = strdup(fmt("%s/notify", tmpl)), .log = strdup(fmt("%s/rolesd.log", tmpl)),
        };
        const char *fs = fs_name(tmpl);
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        fig_str("meta.mode", opt.quick ? "quick" : "full");
        fig_str("meta.filesystem", fs);
        fig_str("meta.dir", tmpl);
        fig_str("meta.rolesd", opt.rolesd);
        fig("meta.cpus", (double) ncpu, "cpus");
        fig("meta.duration_s", opt.duration, "s");
        fig("meta.big_n", (double) opt.big_n, "roles");

        char *big_label = opt.big_n % 1000000 == 0 ? fmt("%" PRIu64 "M", opt.big_n / 1000000)
                        : opt.big_n % 1000 == 0 ? fmt("%" PRIu64 "k", opt.big_n / 1000)
                                                 : fmt("%" PRIu64, opt.big_n);
        big_label = strdup(big_label);
        row_section(fmt("rolesd-bench %s: %s mode, %.1f s per figure, %s roles in the big org%s; %s (%s), %ld CPUs",
                        ROLESD_VERSION, opt.quick ? "QUICK" : "full", opt.duration, big_label,
                        opt.quick ? " (quick: not 1M)" : "", tmpl, fs, ncpu));

        /* ---- references ---- */
        note("references: raw LMDB commits, framed echo ...");
        LmdbRef lref;
        lmdb_ref_run(fmt("%s/lmdb-ref", tmpl), opt.duration, &lref);
        fig("ref.lmdb_commit.ops_per_s", lref.rate, "ops/s");
        fig("ref.lmdb_commit.p50_us", (double) lref.p50 / 1e3, "us");
        fig("ref.lmdb_commit.p99_us", (double) lref.p99 / 1e3, "us");
        fig("ref.lmdb_commit.record_bytes", (double) lref.record_bytes, "bytes");
        double commit_ns = lref.rate > 0 ? 1e9 / lref.rate : 0;      /* the single-commit latency: mean */
        fig("ref.lmdb_commit.mean_us", commit_ns / 1e3, "us");

        row_section(fmt("in-run references (same filesystem: %s)", fs));
        row(fmt("raw LMDB, 1 durable txn per record (%zu B)", lref.record_bytes),
            fmt("%10s  p50 %9s  p99 %9s", fmt_rate(lref.rate), fmt_ns(lref.p50), fmt_ns(lref.p99)),
            fmt("reference; mean commit %s", fmt_ns((uint64_t) commit_ns)));
        row("bare framed echo", "measured next to role.get, below", "reference");
        echo_sock = strdup(fmt("%s/echo.sock", tmpl));

        /* ---- daemon: first start, provisioning, restart at 0 ---- */
        note("starting rolesd ...");
        daemon_start(&daemon_);
        fig("daemon.first_start_to_ready_ms", daemon_.start_to_ready_s * 1e3, "ms");
        if (rpc_open(&c, daemon_.sock) < 0)
                die("cannot connect to %s: %s", daemon_.sock, strerror(errno));
        msgpack_unpacked_init(&u);
        call(&c, "org.add", (KV[]) { { "id", .u = ORG_MAIN, .is_u = true }, { "name", .s = "bench main" }, {0} }, &u);
        call(&c, "org.add", (KV[]) { { "id", .u = ORG_BIG, .is_u = true }, { "name", .s = "bench big" }, {0} }, &u);
        call(&c, "org.add", (KV[]) { { "id", .u = ORG_SMALL, .is_u = true }, { "name", .s = "bench small" }, {0} }, &u);
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        daemon_stop(&daemon_);
        daemon_start(&daemon_);
        double ready0 = daemon_.start_to_ready_s;
        fig("daemon.start_to_ready_ms.empty", ready0 * 1e3, "ms");
        MemProbe mem0 = mem_probe("daemon.memory.empty", 0);
        off_t size0 = file_size(fmt("%s/data.mdb", daemon_.db));
        fig("db.file_bytes.empty", (double) size0, "bytes");

        /* ---- role.create ---- */
        uint64_t main_counter = 0;
        CreateGen cmain = { .org = ORG_MAIN, .prefix = "r", .counter = &main_counter };
        LoadGroup cg = { .label = "role.create", .socket = daemon_.sock, .pack = pack_create, .userdata = &cmain };
        LoadGroup *cgs[] = { &cg };
        struct { unsigned conns, depth; const char *key, *label; } cphases[] = {
                { 1, 1, "create.c1", "1 connection" },
                { 16, 1, "create.c16", "16 connections" },
                { 64, 1, "create.c64", "64 connections" },
                { 1, 64, "create.pipeline64", "1 connection, 64 pipelined" },
        };
        Measured cm[ELEMENTSOF(cphases)];
        row_section("role.create (durable; group commit), org 1, small database");
        for (size_t i = 0; i < ELEMENTSOF(cphases); i++) {
                cg.conns = cphases[i].conns;
                cg.depth = cphases[i].depth;
                cm[i] = measure(cgs, 1, cphases[i].key);
                fig(fmt("%s.ratio_to_lmdb_rate", cphases[i].key), ratio(cm[i].rate, lref.rate), "x");
                fig(fmt("%s.p99_ratio_to_lmdb_commit_mean", cphases[i].key), ratio((double) cm[i].p99, commit_ns), "x");
                row(cphases[i].label, lat(&cm[i]),
                    fmt("x%.2f LMDB rate; p99 = %.1f mean LMDB commits; %.1f writes per %.0f us commit; %.0f us daemon CPU/op",
                        ratio(cm[i].rate, lref.rate), ratio((double) cm[i].p99, commit_ns), cm[i].writes_per_commit,
                        cm[i].commit_us, cm[i].daemon_cpu_us));
        }
        target("role.create at 16 connections >= 3x raw one-commit-per-record LMDB", ratio(cm[1].rate, lref.rate), ">=", 3,
               true);
        target("role.create p99 at 16 connections <= 3x single LMDB commit (mean)", ratio((double) cm[1].p99, commit_ns),
               "<=", 3, true);
        free(cg.hist);
        cg.hist = NULL;

        /* ---- role.get ---- */
        GetGen gmain = { .org = ORG_MAIN, .prefix = "r", .existing = &main_counter, .limit = GET_WORKING_SET,
                         .rng = 0x9e3779b97f4a7c15ull };
        LoadGroup gg = { .label = "role.get", .socket = daemon_.sock, .pack = pack_get, .userdata = &gmain, .depth = 1 };
        LoadGroup *ggs[] = { &gg };
        row_section(fmt("role.get by api_id, org 1 (%" PRIu64 " roles; asked among the first %" PRIu64 ")", main_counter,
                        main_counter < GET_WORKING_SET ? main_counter : (uint64_t) GET_WORKING_SET));
        Measured echo1 = echo_measure(1, "ref.echo.c1");
        row("bare framed echo, 1 client", lat(&echo1), "reference, just before");
        gg.conns = 1;
        Measured get1 = measure(ggs, 1, "get.c1");
        row("1 connection", lat(&get1), fmt("x%.2f bare echo (1 client); %.1f us daemon CPU/op", ratio(get1.rate, echo1.rate), get1.daemon_cpu_us));
        Measured echo16 = echo_measure(16, "ref.echo.c16");
        row("bare framed echo, 16 clients", lat(&echo16), "reference, just before");
        gg.conns = 16;
        Measured get16 = measure(ggs, 1, "get.c16");
        row("16 connections", lat(&get16), fmt("x%.2f bare echo (16 clients); %.1f us daemon CPU/op", ratio(get16.rate, echo16.rate), get16.daemon_cpu_us));
        /* with a create storm: 16 creating connections in the same loop */
        cg.conns = 16;
        cg.depth = 1;
        uint64_t committed = main_counter;     /* the storm's names are not there yet */
        gmain.existing = &committed;
        LoadGroup *storm[] = { &gg, &cg };
        Measured get16s = measure(storm, 2, "get.c16_with_create_storm");
        double storm_rate = cg.rate;
        fig("get.c16_with_create_storm.storm_creates_per_s", storm_rate, "ops/s");
        row("16 connections + create storm (16 conns)", lat(&get16s),
            fmt("x%.2f of without storm; storm ran at %s", ratio(get16s.rate, get16.rate), fmt_rate(storm_rate)));
        fig("get.c16.ratio_to_echo_c16", ratio(get16.rate, echo16.rate), "x");
        fig("get.c1.ratio_to_echo_c1", ratio(get1.rate, echo1.rate), "x");
        fig("get.c16_with_create_storm.ratio_to_alone", ratio(get16s.rate, get16.rate), "x");
        target("role.get at 16 connections >= 50% of bare echo (16 clients)", ratio(get16.rate, echo16.rate), ">=", 0.5, true);
        target("role.get at 16 connections with a create storm >= 80% of without", ratio(get16s.rate, get16.rate), ">=", 0.8,
               true);
        free(gg.hist);
        gg.hist = NULL;
        free(cg.hist);
        cg.hist = NULL;

        /* ---- role.list at small N (baseline) ---- */
        uint64_t small_counter = 0;
        bulk_create(ORG_SMALL, "s", &small_counter, opt.small_n, "loading the small organization");
        ListFigs lsmall;
        list_figures((ListSide[]) { { .org = ORG_SMALL, .n_roles = opt.small_n, .key = "list.small", .figs = &lsmall } }, 1);

        /* ---- HTTP (before the big load: same database state as the RPC creates) ---- */
        http_section(main_counter, &cg);
        free(cg.hist);
        cg.hist = NULL;

        MemProbe mem_phases = mem_probe("daemon.memory.after_phases_running", 0);

        /* ---- the million ---- */
        uint64_t big_counter = 0;
        off_t size_before = file_size(fmt("%s/data.mdb", daemon_.db));
        uint64_t roles_before = 0;
        if (rpc_open(&c, daemon_.sock) < 0)
                die("cannot connect: %s", strerror(errno));
        msgpack_unpacked_init(&u);
        roles_before = res_u64(call(&c, "server.status", (KV[]) { {0} }, &u), "roles");
        rpc_close(&c);
        note("loading %" PRIu64 " roles into org %u through role.create ...", opt.big_n, ORG_BIG);
        double dcpu0 = proc_cpu_s(daemon_.pid);
        double load_s = bulk_create(ORG_BIG, "m", &big_counter, opt.big_n, fmt("loading %s roles", big_label));
        double load_cpu = proc_cpu_s(daemon_.pid) - dcpu0;
        fig("load.seconds", load_s, "s");
        fig("load.roles_per_s", (double) opt.big_n / load_s, "ops/s");
        fig("load.daemon_cpu_us_per_op", load_cpu * 1e6 / (double) opt.big_n, "us");
        MemProbe mem_loaded = mem_probe("daemon.memory.after_load_running", 1);
        off_t size_after = file_size(fmt("%s/data.mdb", daemon_.db));
        if (rpc_open(&c, daemon_.sock) < 0)
                die("cannot connect: %s", strerror(errno));
        uint64_t roles_after = res_u64(call(&c, "server.status", (KV[]) { {0} }, &u), "roles");
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        double per_role = (double) (size_after - size_before) / (double) (roles_after - roles_before);
        fig("db.file_bytes.after_load", (double) size_after, "bytes");
        fig("db.bytes_per_role", per_role, "bytes");
        fig("db.total_roles", (double) roles_after, "roles");

        /* Let the write-back of the load settle, then measure the small org
         * again and the big one, in turn. */
        usleep(opt.quick ? 200000 : 1000000);
        ListFigs lsmall2, lbig;
        list_figures((ListSide[]) {
                { .org = ORG_SMALL, .n_roles = opt.small_n, .key = "list.small_after_load", .figs = &lsmall2 },
                { .org = ORG_BIG, .n_roles = opt.big_n, .key = "list.big", .figs = &lbig },
        }, 2);
        row_section(fmt("role.list, org %u with %s roles vs org %u with %" PRIu64 " roles (same database, "
                        "requests alternating on one connection)", ORG_BIG, big_label, ORG_SMALL, opt.small_n));
        list_rows(&lsmall2, NULL, fmt("%" PRIu64, opt.small_n));
        list_rows(&lbig, &lsmall2, big_label);
        row(fmt("N=%" PRIu64 " measured before the load", opt.small_n), "",
            fmt("first page p50 %s, cursor p50 %s, count p50 %s", fmt_ns(lsmall.first.p50), fmt_ns(lsmall.cont.p50),
                fmt_ns(lsmall.count.p50)));
        lsmall = lsmall2;
        double lr_first = ratio((double) lbig.first.p50, (double) lsmall.first.p50);
        double lr_cont = ratio((double) lbig.cont.p50, (double) lsmall.cont.p50);
        double lr_count = ratio((double) lbig.count.p50, (double) lsmall.count.p50);
        fig("list.first_page.p50_ratio_big_to_small", lr_first, "x");
        fig("list.continuation.p50_ratio_big_to_small", lr_cont, "x");
        fig("list.count.p50_ratio_big_to_small", lr_count, "x");
        fig("list.deep_page_by_number.p50_ratio_big_to_small", ratio((double) lbig.deep.p50, (double) lsmall.deep.p50), "x");
        double lr_worst = lr_first > lr_cont ? lr_first : lr_cont;
        if (lr_count > lr_worst)
                lr_worst = lr_count;
        target(fmt("role.list first page/continuation/count independent of N (worst p50 ratio %s vs %" PRIu64 ")",
                   big_label, opt.small_n), lr_worst, "<=", 1.5, true);

        /* ---- create and get at N ---- */
        row_section(fmt("at %s roles (org %u)", big_label, ORG_BIG));
        row(fmt("bulk load of %s, 4 conns x 2048 pipelined", big_label),
            fmt("%10s  %.1f s", fmt_rate((double) opt.big_n / load_s), load_s),
            fmt("%.1f us daemon CPU/op", load_cpu * 1e6 / (double) opt.big_n));
        CreateGen cbig = { .org = ORG_BIG, .prefix = "m", .counter = &big_counter };
        cg.userdata = &cbig;
        cg.conns = 16;
        cg.depth = 1;
        Measured create_big = measure(cgs, 1, "create.c16_at_big");
        double cr_big = ratio(create_big.rate, cm[1].rate);
        fig("create.c16_at_big.ratio_to_empty", cr_big, "x");
        row(fmt("role.create, 16 connections, at %s", big_label), lat(&create_big),
            fmt("x%.2f of at 0 (%s)", cr_big, fmt_rate(cm[1].rate)));
        target(fmt("role.create at %s roles >= 70%% of at 0 (16 connections)", big_label), cr_big, ">=", 0.7, true);
        free(cg.hist);
        cg.hist = NULL;
        GetGen gbig = { .org = ORG_BIG, .prefix = "m", .existing = &big_counter, .rng = 0x2545F4914F6CDD1Dull };
        gg.userdata = &gbig;
        gg.conns = 16;
        Measured get_big = measure(ggs, 1, "get.c16_at_big");
        row(fmt("role.get, 16 connections, at %s", big_label), lat(&get_big),
            fmt("x%.2f of small org 1", ratio(get_big.rate, get16.rate)));
        free(gg.hist);
        gg.hist = NULL;

        /* ---- restart at N ---- */
        daemon_stop(&daemon_);
        fig("daemon.stop_s.big", daemon_.stop_s, "s");
        daemon_start(&daemon_);
        double ready_big = daemon_.start_to_ready_s;
        fig("daemon.start_to_ready_ms.big", ready_big * 1e3, "ms");
        MemProbe mem_big = mem_probe("daemon.memory.big", 1);

        row_section("daemon");
        double first_ms = 0;
        fig_get("daemon.first_start_to_ready_ms", &first_ms);
        row("start-to-READY, first start (creates the database)", fmt("%.1f ms", first_ms), "");
        row("start-to-READY, restart at 0 roles", fmt("%.1f ms", ready0 * 1e3), "");
        row(fmt("start-to-READY, restart at %s roles", big_label), fmt("%.1f ms", ready_big * 1e3),
            fmt("x%.2f of empty", ratio(ready_big, ready0)));
        target(fmt("start-to-READY at %s within 2x of empty", big_label), ratio(ready_big, ready0), "<=", 2, true);
        fig("daemon.start_to_ready.ratio_big_to_empty", ratio(ready_big, ready0), "x");
        row(fmt("LMDB file size per role (%s roles)", big_label), fmt("%.0f B", per_role),
            fmt("data.mdb %s at %" PRIu64 " roles", fmt_bytes((double) size_after), roles_after));
        row("Private_Dirty, restarted at 0 roles (after probe)", fmt_bytes((double) mem0.private_dirty_kb * 1024.0),
            fmt("Rss %s", fmt_bytes((double) mem0.rss_kb * 1024.0)));
        row("Private_Dirty, running, after the first phases", fmt_bytes((double) mem_phases.private_dirty_kb * 1024.0),
            fmt("x%.2f of empty; Rss %s", ratio((double) mem_phases.private_dirty_kb, (double) mem0.private_dirty_kb),
                fmt_bytes((double) mem_phases.rss_kb * 1024.0)));
        row(fmt("Private_Dirty, running, after loading %s", big_label),
            fmt_bytes((double) mem_loaded.private_dirty_kb * 1024.0),
            fmt("x%.2f of empty; Rss %s", ratio((double) mem_loaded.private_dirty_kb, (double) mem0.private_dirty_kb),
                fmt_bytes((double) mem_loaded.rss_kb * 1024.0)));
        row(fmt("Private_Dirty, restarted at %s roles (after probe)", big_label),
            fmt_bytes((double) mem_big.private_dirty_kb * 1024.0),
            fmt("x%.2f of empty; Rss %s", ratio((double) mem_big.private_dirty_kb, (double) mem0.private_dirty_kb),
                fmt_bytes((double) mem_big.rss_kb * 1024.0)));
        double mem_restart = ratio((double) mem_big.private_dirty_kb, (double) mem0.private_dirty_kb);
        double mem_running = ratio((double) mem_loaded.private_dirty_kb, (double) mem_phases.private_dirty_kb);
        double mem_ratio = mem_restart > mem_running ? mem_restart : mem_running;
        fig("daemon.memory.private_dirty_ratio_restarted_big_to_empty", mem_restart, "x");
        fig("daemon.memory.private_dirty_ratio_running_big_to_small", mem_running, "x");
        target(fmt("private memory independent of DB size (worst of restarted %s/empty, running after load/before)",
                   big_label), mem_ratio, "<=", 1.5, mem0.private_dirty_kb > 0 && mem_phases.private_dirty_kb > 0);

        daemon_stop(&daemon_);
        fig("meta.total_seconds", now_s() - t_begin, "s");
        row_section("run");
        row("total time", fmt("%.1f s", now_s() - t_begin), "");
        row("results file", "", opt.json);

        print_table(stdout);
        fflush(stdout);
        int r = write_json(opt.json);
        if (r < 0) {
                errno = -r;
                die("cannot write %s: %s", opt.json, strerror(errno));
        }
        free(big_label);
        free(echo_sock);
        return 0;
}
