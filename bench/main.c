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

#include "phase.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire.h"

#ifndef BENCH_SRCDIR
#define BENCH_SRCDIR "."
#endif

#define PARTOO_BUILTINS 5u

/* ---- request generators ---- */

/* role.get in org 1 asks among its first 100,000 roles: how many the
 * create phases made depends on the disk, and a get costs more the larger
 * the working set (LMDB pages missing from the CPU caches), so the figure
 * would otherwise follow the create figures. 100,000 roles are ~60 MB of
 * pages: still far beyond the caches. The at-1M figure asks among all. */
#define GET_WORKING_SET 100000u

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

/* ---- list figures ---- */

/* One organization's part of the list figures. */
typedef struct ListSide {
        uint64_t org, n_roles;
        const char *key;
        ListFigs *figs;
        char *cursor;           /* after the deep page */
} ListSide;

/* Reads the deep page (90 % of the way through) once, for its cursor and
 * the organization's count. */
static void list_side_prepare(const Bench *b, ListSide *sd) {
        ListFigs *lf = sd->figs;
        msgpack_unpacked u;
        Rpc c;

        *lf = (ListFigs) { .deep_page = (sd->n_roles * 9 / 10) / PER_PAGE };
        if (lf->deep_page < 2)
                lf->deep_page = 2;
        if (rpc_open(&c, b->daemon.sock) < 0)
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
static void list_figures(const Bench *b, ListSide *sides, size_t n) {
        static const struct { const char *name; size_t offset; } kinds[] = {
                { "first_page",                offsetof(ListFigs, first) },
                { "deep_page_by_number",       offsetof(ListFigs, deep) },
                { "continuation_after_cursor", offsetof(ListFigs, cont) },
                { "count_per_page_1",          offsetof(ListFigs, count) },
        };
        ListGen gens[2];
        LoadGroup g = { .label = "role.list", .socket = b->daemon.sock, .conns = 1, .depth = 1, .userdata = gens,
                        .pack = n == 2 ? pack_list_alternating : pack_list };
        LoadGroup *gs[] = { &g };

        if (n == 2)
                g.hist_odd = hist_new();
        for (size_t i = 0; i < n; i++)
                list_side_prepare(b, &sides[i]);
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
                Measured m = measure(b, gs, 1, fmt("%s.%s", sides[0].key, kinds[k].name));
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

static void list_rows(const Bench *b, const ListFigs *lf, const ListFigs *base, const char *n_label) {
        row(fmt("first page (30), N=%s", n_label), lat(&lf->first),
            base ? fmt("p50 x%.2f of N=%" PRIu64, ratio((double) lf->first.p50, (double) base->first.p50), b->opt.small_n) : "");
        row(fmt("page %" PRIu64 " by number, N=%s", lf->deep_page, n_label), lat(&lf->deep),
            base ? fmt("p50 x%.2f of page %" PRIu64 " at N=%" PRIu64, ratio((double) lf->deep.p50, (double) base->deep.p50),
                       base->deep_page, b->opt.small_n) : "");
        row(fmt("next page via cursor `after`, N=%s", n_label), lat(&lf->cont),
            base ? fmt("p50 x%.2f of N=%" PRIu64, ratio((double) lf->cont.p50, (double) base->cont.p50), b->opt.small_n) : "");
        row(fmt("count (per_page=1) = %" PRIu64, lf->count_value), lat(&lf->count),
            base ? fmt("p50 x%.2f of N=%" PRIu64, ratio((double) lf->count.p50, (double) base->count.p50), b->opt.small_n) : "");
}

/* ---- HTTP ---- */

/* Starts rolesd-http on a socket bound here and passed as systemd would
 * (LISTEN_FDS), so that no other process can take the port between. */
static unsigned http_start(Bench *b) {
        unsigned port;
        int sfd = tcp_listen_loopback(&port);
        char *log = fmt("%s/rolesd-http.log", b->daemon.dir), pid[16];

        fflush(NULL);
        b->http_pid = fork();
        if (b->http_pid < 0)
                die("fork: %s", strerror(errno));
        if (b->http_pid == 0) {
                child_stdio(log);
                /* fd 3 without FD_CLOEXEC (dup2 onto itself keeps the flag) */
                if ((sfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(sfd, 3)) < 0)
                        _exit(127);
                snprintf(pid, sizeof pid, "%d", (int) getpid());
                setenv("LISTEN_FDS", "1", 1);
                setenv("LISTEN_PID", pid, 1);
                unsetenv("LISTEN_FDNAMES");
                unsetenv("NOTIFY_SOCKET");
                execl(b->opt.rolesd_http, b->opt.rolesd_http, "--socket", b->daemon.sock, (char *) NULL);
                _exit(127);
        }
        close(sfd);
        double end = now_s() + 15;
        for (;;) {
                size_t len;
                int st;
                if (http_probe("127.0.0.1", port, "GET", "/openapi.json", NULL, NULL, &len, NULL, 0) > 0)
                        return port;
                if (waitpid(b->http_pid, &st, WNOHANG) == b->http_pid) {
                        b->http_pid = 0;
                        die("rolesd-http exited at start (see %s)", log);
                }
                if (now_s() > end)
                        die("rolesd-http does not answer on port %u within 15 s", port);
                usleep(20000);
        }
}

/* CPU seconds used so far by rolesd-http, rolesd and this process. */
typedef struct CpuMark {
        double shim, daemon, self;
} CpuMark;

static CpuMark cpu_mark(const Bench *b) {
        return (CpuMark) { .shim = proc_cpu_s(b->http_pid), .daemon = proc_cpu_s(b->daemon.pid), .self = self_cpu_s() };
}

/* Records and formats the CPU rolesd-http and rolesd spent per request since c0. */
static const char *cpu_per_request(const Bench *b, const char *key, CpuMark c0, uint64_t requests) {
        CpuMark c1 = cpu_mark(b);
        double n = requests ? (double) requests : 1;
        double shim = (c1.shim - c0.shim) * 1e6 / n, daemon = (c1.daemon - c0.daemon) * 1e6 / n;

        fig(fmt("%s.shim_cpu_us_per_req", key), shim, "us");
        fig(fmt("%s.daemon_cpu_us_per_req", key), daemon, "us");
        return fmt("CPU us/req: rolesd-http %.1f + rolesd %.1f", shim, daemon);
}

static void phase_http(Bench *b) {
        msgpack_unpacked u;
        Rpc c;
        double secs = b->opt.quick ? 1 : b->opt.duration;

        row_section(fmt("HTTP (wrk, %u connections, 2 threads; reference: libmicrohttpd, mode %s%s)", b->opt.http_conns,
                        b->opt.mhd_mode, strcmp(b->opt.mhd_mode, "pool") == 0 ? fmt(" x%u threads", b->opt.mhd_threads) : ""));
        if (!b->opt.rolesd_http || b->opt.no_http) {
                row(b->opt.no_http ? "skipped (--no-http)" : "skipped: rolesd-http not built (no --rolesd-http)", "", "");
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
        if (rpc_open(&c, b->daemon.sock) < 0)
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

        unsigned port = http_start(b);
        char base[64];
        snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
        char *h_key = strdup(fmt("x-APIKey: %s", api_key));
        char *h_uid = strdup(fmt("X-User-Id: %s", user_id));
        char *h_tok = strdup(fmt("X-Auth-Token: %s", token));
        char *get_path = strdup(fmt("/v2/custom_role/r%" PRIu64 "?org_id=%u", b->main_roles / 2, ORG_MAIN));
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
                        void *m = mhd_ref_start(b->opt.mhd_mode, b->opt.mhd_threads, body_len < 64 ? 64 : body_len, &rport);
                        CpuMark c0 = cpu_mark(b);
                        wrk_run(fmt("%s/wrk-get.lua", b->opt.scripts), fmt("http://127.0.0.1:%u%s", rport, reads[i].path),
                                b->opt.http_conns, 2, secs, reads[i].args, &ref);
                        ref_cpu = cpu_mark(b).self - c0.self;     /* the reference's threads are ours */
                        mhd_ref_stop(m);
                }
                pid_t attached = attach_start(b, reads[i].key);
                CpuMark c0 = cpu_mark(b);
                wrk_run(fmt("%s/wrk-get.lua", b->opt.scripts), fmt("%s%s", base, reads[i].path), b->opt.http_conns, 2, secs,
                        reads[i].args, &w);
                const char *cpu = cpu_per_request(b, reads[i].key, c0, w.requests);
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
        /* The RPC role.create load, run again just before each HTTP create
         * run as its reference (adjacent, so that the machine's drift
         * between phases does not enter the ratio). */
        CreateGen gen = { .org = ORG_MAIN, .prefix = "r", .counter = &b->main_roles };
        LoadGroup cg = create_group(b, &gen, 64, 1);
        double min_create_ratio = -1;
        for (size_t i = 0; i < ELEMENTSOF(posts); i++) {
                const char *args[8] = { posts[i].path, posts[i].kind, posts[i].prefix };
                size_t na = 3;
                for (size_t j = 0; posts[i].headers[j] && na < 7; j++)
                        args[na++] = posts[i].headers[j];
                WrkResult w = {0};
                Measured rpc = measure(b, (LoadGroup *[]) { &cg }, 1, fmt("%s.rpc_create_c64", posts[i].key));
                row("role.create over RPC, 64 connections", lat(&rpc), "reference, just before");
                pid_t attached = attach_start(b, posts[i].key);
                WriterMark w0 = writer_mark(b);
                CpuMark c0 = cpu_mark(b);
                wrk_run(fmt("%s/wrk-post.lua", b->opt.scripts), base, b->opt.http_conns, 2, secs, args, &w);
                const char *cpu = cpu_per_request(b, posts[i].key, c0, w.requests);
                double wpc, commit_us;
                writer_since(b, w0, &wpc, &commit_us);
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

        kill(b->http_pid, SIGTERM);
        waitpid(b->http_pid, NULL, 0);
        b->http_pid = 0;
        free(h_key);
        free(h_uid);
        free(h_tok);
        free(get_path);
        free(api_key);
        free(user_id);
        free(token);
        free(cg.hist);
}

/* ---- references ---- */

/* The raw LMDB reference, measured first, on the database's filesystem. */
static void phase_references(Bench *b) {
        LmdbRef *lref = &b->lmdb;

        lmdb_ref_run(fmt("%s/lmdb-ref", b->daemon.dir), b->opt.duration, lref);
        fig("ref.lmdb_commit.ops_per_s", lref->rate, "ops/s");
        fig("ref.lmdb_commit.p50_us", (double) lref->p50 / 1e3, "us");
        fig("ref.lmdb_commit.p99_us", (double) lref->p99 / 1e3, "us");
        fig("ref.lmdb_commit.record_bytes", (double) lref->record_bytes, "bytes");
        b->commit_ns = lref->rate > 0 ? 1e9 / lref->rate : 0;      /* the single-commit latency: mean */
        fig("ref.lmdb_commit.mean_us", b->commit_ns / 1e3, "us");

        row_section(fmt("in-run references (same filesystem: %s)", b->fs));
        row(fmt("raw LMDB, 1 durable txn per record (%zu B)", lref->record_bytes),
            fmt("%10s  p50 %9s  p99 %9s", fmt_rate(lref->rate), fmt_ns(lref->p50), fmt_ns(lref->p99)),
            fmt("reference; mean commit %s", fmt_ns((uint64_t) b->commit_ns)));
        row("bare framed echo", "measured next to role.get, below", "reference");
}

/* The bare request/reply reference: a single-threaded epoll server that
 * echoes each frame (refs.c), driven like role.get; measured right before
 * the role.get figure it is the reference of. */
static Measured echo_measure(Bench *b, unsigned conns, const char *key) {
        pid_t echo = echo_server_start(b->echo_sock), saved_pid = b->daemon.pid;
        uint64_t one = 1;
        GetGen gen = { .org = ORG_MAIN, .prefix = "r", .existing = &one, .rng = 88172645463325252ull };
        LoadGroup eg = { .label = "echo", .socket = b->echo_sock, .conns = conns, .depth = 1, .pack = pack_get,
                         .userdata = &gen, .ignore_errors = true };
        LoadGroup *egs[] = { &eg };
        Measured m;

        b->daemon.pid = echo;   /* CPU accounting of measure() */
        m = measure(b, egs, 1, key);
        b->daemon.pid = saved_pid;
        child_stop(echo);
        free(eg.hist);
        return m;
}

/* ---- the daemon: start-to-READY, memory ---- */

/* First start, provisioning of the three organizations, restart at 0
 * roles: start-to-READY and memory of the empty daemon. */
static void phase_start(Bench *b) {
        msgpack_unpacked u;
        Rpc c;

        daemon_start(&b->daemon);
        fig("daemon.first_start_to_ready_ms", b->daemon.start_to_ready_s * 1e3, "ms");
        if (rpc_open(&c, b->daemon.sock) < 0)
                die("cannot connect to %s: %s", b->daemon.sock, strerror(errno));
        msgpack_unpacked_init(&u);
        call(&c, "org.add", (KV[]) { { "id", .u = ORG_MAIN, .is_u = true }, { "name", .s = "bench main" }, {0} }, &u);
        call(&c, "org.add", (KV[]) { { "id", .u = ORG_BIG, .is_u = true }, { "name", .s = "bench big" }, {0} }, &u);
        call(&c, "org.add", (KV[]) { { "id", .u = ORG_SMALL, .is_u = true }, { "name", .s = "bench small" }, {0} }, &u);
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        daemon_stop(&b->daemon);
        daemon_start(&b->daemon);
        b->ready_empty_s = b->daemon.start_to_ready_s;
        fig("daemon.start_to_ready_ms.empty", b->ready_empty_s * 1e3, "ms");
        b->mem_empty = mem_probe(b, "daemon.memory.empty", 0);
        off_t size0 = file_size(fmt("%s/data.mdb", b->daemon.db));
        fig("db.file_bytes.empty", (double) size0, "bytes");
}

/* Memory of the running daemon after the small-database phases. */
static void phase_memory_running(Bench *b) {
        b->mem_phases = mem_probe(b, "daemon.memory.after_phases_running", 0);
}

static const char *mem_ratio_to_empty(const Bench *b, const MemProbe *m) {
        return fmt("x%.2f of empty; Rss %s", ratio((double) m->private_dirty_kb, (double) b->mem_empty.private_dirty_kb),
                   fmt_bytes((double) m->rss_kb * 1024.0));
}

/* Restart at N roles, then the daemon's part of the table: start-to-READY,
 * the file's size per role, private memory. */
static void phase_restart(Bench *b) {
        const MemProbe *mem0 = &b->mem_empty, *mem_phases = &b->mem_phases, *mem_loaded = &b->mem_loaded;
        const char *big_label = b->big_label;
        double ready0 = b->ready_empty_s;

        daemon_stop(&b->daemon);
        fig("daemon.stop_s.big", b->daemon.stop_s, "s");
        daemon_start(&b->daemon);
        double ready_big = b->daemon.start_to_ready_s;
        fig("daemon.start_to_ready_ms.big", ready_big * 1e3, "ms");
        MemProbe mem_big = mem_probe(b, "daemon.memory.big", 1);

        row_section("daemon");
        double first_ms = 0;
        fig_get("daemon.first_start_to_ready_ms", &first_ms);
        row("start-to-READY, first start (creates the database)", fmt("%.1f ms", first_ms), "");
        row("start-to-READY, restart at 0 roles", fmt("%.1f ms", ready0 * 1e3), "");
        row(fmt("start-to-READY, restart at %s roles", big_label), fmt("%.1f ms", ready_big * 1e3),
            fmt("x%.2f of empty", ratio(ready_big, ready0)));
        target(fmt("start-to-READY at %s within 2x of empty", big_label), ratio(ready_big, ready0), "<=", 2, true);
        fig("daemon.start_to_ready.ratio_big_to_empty", ratio(ready_big, ready0), "x");
        row(fmt("LMDB file size per role (%s roles)", big_label), fmt("%.0f B", b->db_bytes_per_role),
            fmt("data.mdb %s at %" PRIu64 " roles", fmt_bytes((double) b->db_bytes_loaded), b->db_roles_loaded));
        row("Private_Dirty, restarted at 0 roles (after probe)", fmt_bytes((double) mem0->private_dirty_kb * 1024.0),
            fmt("Rss %s", fmt_bytes((double) mem0->rss_kb * 1024.0)));
        row("Private_Dirty, running, after the first phases", fmt_bytes((double) mem_phases->private_dirty_kb * 1024.0),
            mem_ratio_to_empty(b, mem_phases));
        row(fmt("Private_Dirty, running, after loading %s", big_label),
            fmt_bytes((double) mem_loaded->private_dirty_kb * 1024.0), mem_ratio_to_empty(b, mem_loaded));
        row(fmt("Private_Dirty, restarted at %s roles (after probe)", big_label),
            fmt_bytes((double) mem_big.private_dirty_kb * 1024.0), mem_ratio_to_empty(b, &mem_big));
        double mem_restart = ratio((double) mem_big.private_dirty_kb, (double) mem0->private_dirty_kb);
        double mem_running = ratio((double) mem_loaded->private_dirty_kb, (double) mem_phases->private_dirty_kb);
        double mem_ratio = mem_restart > mem_running ? mem_restart : mem_running;
        fig("daemon.memory.private_dirty_ratio_restarted_big_to_empty", mem_restart, "x");
        fig("daemon.memory.private_dirty_ratio_running_big_to_small", mem_running, "x");
        target(fmt("private memory independent of DB size (worst of restarted %s/empty, running after load/before)",
                   big_label), mem_ratio, "<=", 1.5, mem0->private_dirty_kb > 0 && mem_phases->private_dirty_kb > 0);
        daemon_stop(&b->daemon);
}

/* ---- role.create ---- */

static void phase_create(Bench *b) {
        static const struct { unsigned conns, depth; const char *key, *label; } cphases[] = {
                { 1, 1, "create.c1", "1 connection" },
                { 16, 1, "create.c16", "16 connections" },
                { 64, 1, "create.c64", "64 connections" },
                { 1, 64, "create.pipeline64", "1 connection, 64 pipelined" },
        };
        CreateGen gen = { .org = ORG_MAIN, .prefix = "r", .counter = &b->main_roles };
        LoadGroup cg = create_group(b, &gen, 0, 0);
        LoadGroup *cgs[] = { &cg };
        double lmdb_rate = b->lmdb.rate, commit_ns = b->commit_ns;
        Measured cm[ELEMENTSOF(cphases)];

        row_section("role.create (durable; group commit), org 1, small database");
        for (size_t i = 0; i < ELEMENTSOF(cphases); i++) {
                cg.conns = cphases[i].conns;
                cg.depth = cphases[i].depth;
                cm[i] = measure(b, cgs, 1, cphases[i].key);
                fig(fmt("%s.ratio_to_lmdb_rate", cphases[i].key), ratio(cm[i].rate, lmdb_rate), "x");
                fig(fmt("%s.p99_ratio_to_lmdb_commit_mean", cphases[i].key), ratio((double) cm[i].p99, commit_ns), "x");
                row(cphases[i].label, lat(&cm[i]),
                    fmt("x%.2f LMDB rate; p99 = %.1f mean LMDB commits; %.1f writes per %.0f us commit; %.0f us daemon CPU/op",
                        ratio(cm[i].rate, lmdb_rate), ratio((double) cm[i].p99, commit_ns), cm[i].writes_per_commit,
                        cm[i].commit_us, cm[i].daemon_cpu_us));
        }
        target("role.create at 16 connections >= 3x raw one-commit-per-record LMDB", ratio(cm[1].rate, lmdb_rate), ">=", 3,
               true);
        target("role.create p99 at 16 connections <= 3x single LMDB commit (mean)", ratio((double) cm[1].p99, commit_ns),
               "<=", 3, true);
        b->create_c16 = cm[1];
        free(cg.hist);
}

/* ---- role.get ---- */

static void phase_get(Bench *b) {
        GetGen gmain = { .org = ORG_MAIN, .prefix = "r", .existing = &b->main_roles, .limit = GET_WORKING_SET,
                         .rng = 0x9e3779b97f4a7c15ull };
        LoadGroup gg = { .label = "role.get", .socket = b->daemon.sock, .pack = pack_get, .userdata = &gmain, .depth = 1 };
        LoadGroup *ggs[] = { &gg };
        uint64_t main_roles = b->main_roles;

        row_section(fmt("role.get by api_id, org 1 (%" PRIu64 " roles; asked among the first %" PRIu64 ")", main_roles,
                        main_roles < GET_WORKING_SET ? main_roles : (uint64_t) GET_WORKING_SET));
        Measured echo1 = echo_measure(b, 1, "ref.echo.c1");
        row("bare framed echo, 1 client", lat(&echo1), "reference, just before");
        gg.conns = 1;
        Measured get1 = measure(b, ggs, 1, "get.c1");
        row("1 connection", lat(&get1), fmt("x%.2f bare echo (1 client); %.1f us daemon CPU/op", ratio(get1.rate, echo1.rate), get1.daemon_cpu_us));
        Measured echo16 = echo_measure(b, 16, "ref.echo.c16");
        row("bare framed echo, 16 clients", lat(&echo16), "reference, just before");
        gg.conns = 16;
        Measured get16 = measure(b, ggs, 1, "get.c16");
        row("16 connections", lat(&get16), fmt("x%.2f bare echo (16 clients); %.1f us daemon CPU/op", ratio(get16.rate, echo16.rate), get16.daemon_cpu_us));
        /* with a create storm: 16 creating connections in the same loop */
        CreateGen cmain = { .org = ORG_MAIN, .prefix = "r", .counter = &b->main_roles };
        LoadGroup cg = create_group(b, &cmain, 16, 1);
        uint64_t committed = b->main_roles;     /* the storm's names are not there yet */
        gmain.existing = &committed;
        LoadGroup *storm[] = { &gg, &cg };
        Measured get16s = measure(b, storm, 2, "get.c16_with_create_storm");
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
        b->get_c16 = get16;
        free(gg.hist);
        free(cg.hist);
}

/* ---- role.list ---- */

/* The small organization's roles and its list figures before the load:
 * the baseline row of the role.list part. */
static void phase_list_small(Bench *b) {
        uint64_t small_counter = 0;

        bulk_create(b, ORG_SMALL, "s", &small_counter, b->opt.small_n, "loading the small organization");
        list_figures(b, (ListSide[]) { { .org = ORG_SMALL, .n_roles = b->opt.small_n, .key = "list.small",
                                          .figs = &b->list_small } }, 1);
}

/* The list figures at N against the small organization again, in turn. */
static void phase_list_big(Bench *b) {
        const ListFigs *before = &b->list_small;
        const char *big_label = b->big_label;
        uint64_t small_n = b->opt.small_n;

        /* Let the write-back of the load settle, then measure the small org
         * again and the big one, in turn. */
        usleep(b->opt.quick ? 200000 : 1000000);
        ListFigs lsmall, lbig;
        list_figures(b, (ListSide[]) {
                { .org = ORG_SMALL, .n_roles = small_n, .key = "list.small_after_load", .figs = &lsmall },
                { .org = ORG_BIG, .n_roles = b->opt.big_n, .key = "list.big", .figs = &lbig },
        }, 2);
        row_section(fmt("role.list, org %u with %s roles vs org %u with %" PRIu64 " roles (same database, "
                        "requests alternating on one connection)", ORG_BIG, big_label, ORG_SMALL, small_n));
        list_rows(b, &lsmall, NULL, fmt("%" PRIu64, small_n));
        list_rows(b, &lbig, &lsmall, big_label);
        row(fmt("N=%" PRIu64 " measured before the load", small_n), "",
            fmt("first page p50 %s, cursor p50 %s, count p50 %s", fmt_ns(before->first.p50), fmt_ns(before->cont.p50),
                fmt_ns(before->count.p50)));
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
                   big_label, small_n), lr_worst, "<=", 1.5, true);
}

/* ---- the big organization ---- */

static uint64_t roles_in_db(const Bench *b) {
        msgpack_unpacked u;
        Rpc c;

        if (rpc_open(&c, b->daemon.sock) < 0)
                die("cannot connect: %s", strerror(errno));
        msgpack_unpacked_init(&u);
        uint64_t roles = res_u64(call(&c, "server.status", (KV[]) { {0} }, &u), "roles");
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        return roles;
}

/* Loads N roles into org 2 through role.create; the file's growth per role
 * and the memory of the running daemon after it. */
static void phase_load(Bench *b) {
        off_t size_before = file_size(fmt("%s/data.mdb", b->daemon.db));
        uint64_t roles_before = roles_in_db(b), n = b->opt.big_n;

        note("loading %" PRIu64 " roles into org %u through role.create ...", n, ORG_BIG);
        double dcpu0 = proc_cpu_s(b->daemon.pid);
        b->load_s = bulk_create(b, ORG_BIG, "m", &b->big_roles, n, fmt("loading %s roles", b->big_label));
        b->load_cpu_s = proc_cpu_s(b->daemon.pid) - dcpu0;
        fig("load.seconds", b->load_s, "s");
        fig("load.roles_per_s", (double) n / b->load_s, "ops/s");
        fig("load.daemon_cpu_us_per_op", b->load_cpu_s * 1e6 / (double) n, "us");
        b->mem_loaded = mem_probe(b, "daemon.memory.after_load_running", 1);
        b->db_bytes_loaded = file_size(fmt("%s/data.mdb", b->daemon.db));
        b->db_roles_loaded = roles_in_db(b);
        b->db_bytes_per_role = (double) (b->db_bytes_loaded - size_before) / (double) (b->db_roles_loaded - roles_before);
        fig("db.file_bytes.after_load", (double) b->db_bytes_loaded, "bytes");
        fig("db.bytes_per_role", b->db_bytes_per_role, "bytes");
        fig("db.total_roles", (double) b->db_roles_loaded, "roles");
}

/* The bulk load's row, then role.create and role.get at N roles against
 * their figures at the start. */
static void phase_at_big(Bench *b) {
        const char *big_label = b->big_label;
        double n = (double) b->opt.big_n;

        row_section(fmt("at %s roles (org %u)", big_label, ORG_BIG));
        row(fmt("bulk load of %s, 4 conns x 2048 pipelined", big_label),
            fmt("%10s  %.1f s", fmt_rate(n / b->load_s), b->load_s),
            fmt("%.1f us daemon CPU/op", b->load_cpu_s * 1e6 / n));
        CreateGen cbig = { .org = ORG_BIG, .prefix = "m", .counter = &b->big_roles };
        LoadGroup cg = create_group(b, &cbig, 16, 1);
        Measured create_big = measure(b, (LoadGroup *[]) { &cg }, 1, "create.c16_at_big");
        double cr_big = ratio(create_big.rate, b->create_c16.rate);
        fig("create.c16_at_big.ratio_to_empty", cr_big, "x");
        row(fmt("role.create, 16 connections, at %s", big_label), lat(&create_big),
            fmt("x%.2f of at 0 (%s)", cr_big, fmt_rate(b->create_c16.rate)));
        target(fmt("role.create at %s roles >= 70%% of at 0 (16 connections)", big_label), cr_big, ">=", 0.7, true);
        free(cg.hist);
        GetGen gbig = { .org = ORG_BIG, .prefix = "m", .existing = &b->big_roles, .rng = 0x2545F4914F6CDD1Dull };
        LoadGroup gg = { .label = "role.get", .socket = b->daemon.sock, .conns = 16, .depth = 1, .pack = pack_get,
                         .userdata = &gbig };
        Measured get_big = measure(b, (LoadGroup *[]) { &gg }, 1, "get.c16_at_big");
        row(fmt("role.get, 16 connections, at %s", big_label), lat(&get_big),
            fmt("x%.2f of small org 1", ratio(get_big.rate, b->get_c16.rate)));
        free(gg.hist);
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

static void parse_args(Options *opt, int argc, char **argv) {
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

        *opt = (Options) {
                .rolesd = getenv("ROLESD"),
                .json = "bench-results.json",
                .scripts = BENCH_SRCDIR,
                .mhd_mode = "pool",
                .small_n = 1000,
                .http_conns = 64,
        };
        while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) >= 0)
                switch (c) {
                case ARG_ROLESD: opt->rolesd = optarg; break;
                case ARG_HTTP: opt->rolesd_http = *optarg ? optarg : NULL; break;
                case ARG_JSON: opt->json = optarg; break;
                case ARG_QUICK: opt->quick = true; break;
                case ARG_ROLES: opt->big_n = strtoull(optarg, NULL, 10); break;
                case ARG_DURATION: opt->duration = strtod(optarg, NULL); break;
                case ARG_DIR: opt->parent = optarg; break;
                case ARG_KEEP: opt->keep = true; break;
                case ARG_NOHTTP: opt->no_http = true; break;
                case ARG_MHD_MODE: opt->mhd_mode = optarg; break;
                case ARG_MHD_THREADS: opt->mhd_threads = (unsigned) strtoul(optarg, NULL, 10); break;
                case ARG_SCRIPTS: opt->scripts = optarg; break;
                case ARG_ATTACH: {
                        char *colon = strchr(optarg, ':');
                        if (!colon)
                                die("--attach takes FIGURE:COMMAND");
                        *colon = 0;
                        opt->attach_key = optarg;
                        opt->attach_cmd = colon + 1;
                        break;
                }
                case 'v': bench_verbose = true; break;
                case 'h': usage(); exit(0);
                default: fprintf(stderr, "Try --help.\n"); exit(2);
                }
        if (optind < argc)
                die("unexpected argument %s", argv[optind]);
        if (!opt->rolesd || access(opt->rolesd, X_OK) < 0)
                die("give the rolesd binary with --rolesd PATH (or $ROLESD)");
        if (opt->rolesd_http && access(opt->rolesd_http, X_OK) < 0)
                die("%s is not executable", opt->rolesd_http);
        if (opt->duration <= 0)
                opt->duration = opt->quick ? 0.5 : 2.0;
        opt->warmup = opt->quick ? 0.1 : 0.3;
        if (opt->big_n == 0)
                opt->big_n = opt->quick ? 20000 : 1000000;
        if (opt->big_n < 10 * PER_PAGE)
                die("--roles must be at least %u", 10 * PER_PAGE);
        if (opt->mhd_threads == 0)
                opt->mhd_threads = mhd_ref_default_threads();
        if (!opt->parent) {
                opt->parent = getenv("TMPDIR");
                if (!opt->parent || !*opt->parent)
                        opt->parent = "/var/tmp";
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

static Bench bench;      /* for cleanup() at exit */
static pid_t main_pid;

static void cleanup(void) {
        Bench *b = &bench;

        if (getpid() != main_pid)
                return;         /* a forked helper (echo server) exiting */
        if (b->http_pid > 0) {
                kill(b->http_pid, SIGTERM);
                waitpid(b->http_pid, NULL, 0);
                b->http_pid = 0;
        }
        if (b->daemon.pid > 0) {
                kill(b->daemon.pid, SIGTERM);
                waitpid(b->daemon.pid, NULL, 0);
                b->daemon.pid = 0;
        }
        if (b->daemon.dir && !b->opt.keep)
                rm_rf(b->daemon.dir);
        else if (b->daemon.dir)
                fprintf(stderr, "rolesd-bench: kept %s\n", b->daemon.dir);
}

static void on_signal(int sig) {
        exit(128 + sig);        /* runs cleanup() */
}

/* The phases, in the order of the table. A phase adds its rows, figures
 * and targets, and leaves in the Bench what a later phase divides by. */
typedef struct Phase {
        const char *name;
        void (*run)(Bench *b);
        bool quick;             /* runs in --quick */
} Phase;

static const Phase phases[] = {
        { "references: raw LMDB commits",       phase_references,       true },
        { "starting rolesd",                    phase_start,            true },
        { "role.create",                        phase_create,           true },
        { "role.get",                           phase_get,              true },
        { "role.list baseline",                 phase_list_small,       true },
        { "HTTP",                               phase_http,             true },
        { "memory after the phases",            phase_memory_running,   true },
        { "the big organization",               phase_load,             true },
        { "role.list at N",                     phase_list_big,         true },
        { "role.create and role.get at N",      phase_at_big,           true },
        { "restart at N",                       phase_restart,          true },
};

/* The temporary directory, the daemon's paths and the run's facts (the
 * table's first line, meta.* in the JSON). */
static void set_up(Bench *b) {
        const Options *opt = &b->opt;
        char *tmpl = strdup(fmt("%s/rolesd-bench.XXXXXX", opt->parent));

        if (!tmpl || !mkdtemp(tmpl))
                die("cannot make a temporary directory under %s: %s", opt->parent, strerror(errno));
        atexit(cleanup);
        b->daemon = (Daemon) {
                .rolesd = opt->rolesd, .dir = tmpl, .notify_fd = -1,
                .db = strdup(fmt("%s/db", tmpl)), .sock = strdup(fmt("%s/rolesd.sock", tmpl)),
                .notify = strdup(fmt("%s/notify", tmpl)), .log = strdup(fmt("%s/rolesd.log", tmpl)),
        };
        b->echo_sock = strdup(fmt("%s/echo.sock", tmpl));
        b->fs = strdup(fs_name(tmpl));
        b->big_label = strdup(opt->big_n % 1000000 == 0 ? fmt("%" PRIu64 "M", opt->big_n / 1000000)
                              : opt->big_n % 1000 == 0 ? fmt("%" PRIu64 "k", opt->big_n / 1000)
                                                        : fmt("%" PRIu64, opt->big_n));
        if (!b->echo_sock || !b->fs || !b->big_label)
                die("out of memory");

        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        fig_str("meta.mode", opt->quick ? "quick" : "full");
        fig_str("meta.filesystem", b->fs);
        fig_str("meta.dir", tmpl);
        fig_str("meta.rolesd", opt->rolesd);
        fig("meta.cpus", (double) ncpu, "cpus");
        fig("meta.duration_s", opt->duration, "s");
        fig("meta.big_n", (double) opt->big_n, "roles");
        row_section(fmt("rolesd-bench %s: %s mode, %.1f s per figure, %s roles in the big org%s; %s (%s), %ld CPUs",
                        ROLESD_VERSION, opt->quick ? "QUICK" : "full", opt->duration, b->big_label,
                        opt->quick ? " (quick: not 1M)" : "", tmpl, b->fs, ncpu));
}

int main(int argc, char **argv) {
        double t_begin = now_s();
        Bench *b = &bench;

        bench_tty = isatty(STDERR_FILENO);
        main_pid = getpid();
        parse_args(&b->opt, argc, argv);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        set_up(b);

        for (size_t i = 0; i < ELEMENTSOF(phases); i++)
                if (phases[i].quick || !b->opt.quick) {
                        note("%s ...", phases[i].name);
                        phases[i].run(b);
                }
        daemon_stop(&b->daemon);

        fig("meta.total_seconds", now_s() - t_begin, "s");
        row_section("run");
        row("total time", fmt("%.1f s", now_s() - t_begin), "");
        row("results file", "", b->opt.json);

        print_table(stdout);
        fflush(stdout);
        int r = write_json(b->opt.json);
        if (r < 0) {
                errno = -r;
                die("cannot write %s: %s", b->opt.json, strerror(errno));
        }
        free(b->big_label);
        free(b->echo_sock);
        free(b->fs);
        return 0;
}
