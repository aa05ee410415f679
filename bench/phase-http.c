/* phase-http.c: the HTTP part of the table: rolesd-http started as
 * systemd would, its reads under wrk against a bare libmicrohttpd server
 * with a body of the same size, its creates against RPC role.create at 64
 * connections measured right before, and its reads again while creates
 * run beside them. wrk and the reference are in http.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "phase.h"
#include "proto/macro.h"

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

/* wrk's run per endpoint: whole seconds, so 1 in --quick. */
static double wrk_seconds(const Bench *b) {
        return b->opt.quick ? 1 : b->opt.duration;
}

/* Rows, figures and the two targets (unknown) of a part that cannot run. */
static void http_skip(const char *why, const char *fig_why) {
        row(why, "", "");
        fig_str("http.skipped", fig_why);
        target("rolesd-http GET reads >= 50% of bare libmicrohttpd", 0, ">=", 0.5, false);
        target("rolesd-http creates >= 60% of RPC role.create at 64 connections", 0, ">=", 0.6, false);
}

/* Request headers with the credentials of both dialects: an ORG_ADMIN key
 * of org 1 (Partoo), a role admin's user id and token (Rocket.Chat). */
typedef struct HttpAuth {
        char *key, *uid, *tok;  /* "x-APIKey: ..", "X-User-Id: ..", "X-Auth-Token: .." */
} HttpAuth;

static void http_auth(const Bench *b, HttpAuth *ret) {
        static const char *const admin[] = { "admin", NULL };
        msgpack_unpacked u;
        Rpc c;

        if (rpc_open(&c, b->daemon.sock) < 0)
                die("cannot connect: %s", strerror(errno));
        msgpack_unpacked_init(&u);
        const msgpack_object *r = call(&c, "key.add", (KV[]) { { "user_role", .s = "ORG_ADMIN" },
                                                              { "org", .u = ORG_MAIN, .is_u = true }, {0} }, &u);
        char *api_key = res_str(r, "api_key");
        r = call(&c, "user.add", (KV[]) { { "username", .s = "rolesd-bench" }, { "roles", .strv = admin }, {0} }, &u);
        char *user_id = res_str(r, "user_id"), *token = res_str(r, "token");
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        if (!api_key || !user_id || !token)
                die("key.add/user.add returned no credential");
        *ret = (HttpAuth) { .key = strdup(fmt("x-APIKey: %s", api_key)), .uid = strdup(fmt("X-User-Id: %s", user_id)),
                            .tok = strdup(fmt("X-Auth-Token: %s", token)) };
        if (!ret->key || !ret->uid || !ret->tok)
                die("out of memory");
        free(api_key);
        free(user_id);
        free(token);
}

/* The two GET endpoints, each after a bare libmicrohttpd server answering
 * a body of the same size; returns the worst ratio to it (-1: none). */
static double http_reads(Bench *b, unsigned port, const HttpAuth *auth) {
        double secs = wrk_seconds(b);
        char *get_path = strdup(fmt("/v2/custom_role/r%" PRIu64 "?org_id=%u", b->main_roles / 2, ORG_MAIN));
        if (!get_path)
                die("out of memory");

        struct {
                const char *key, *label, *path;
                const char *const *args;
                char headers[1024];
        } reads[] = {
                { "http.get_custom_role", "GET /v2/custom_role/{api_id}", get_path, (const char *const[]) { auth->key, NULL }, "" },
                { "http.get_roles_list", "GET /api/v1/roles.list", "/api/v1/roles.list",
                  (const char *const[]) { auth->uid, auth->tok, NULL }, "" },
        };
        snprintf(reads[0].headers, sizeof reads[0].headers, "%s\r\n", auth->key);
        snprintf(reads[1].headers, sizeof reads[1].headers, "%s\r\n%s\r\n", auth->uid, auth->tok);

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
                wrk_run(fmt("%s/wrk-get.lua", b->opt.scripts), fmt("http://127.0.0.1:%u%s", port, reads[i].path),
                        b->opt.http_conns, 2, secs, reads[i].args, &w);
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
        free(get_path);
        return min_read_ratio;
}

/* The two POST endpoints, each after RPC role.create at 64 connections;
 * returns the worst ratio to it (-1: none). */
static double http_creates(Bench *b, unsigned port, const HttpAuth *auth) {
        double secs = wrk_seconds(b);
        char base[64];

        snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
        struct {
                const char *key, *label, *path, *kind, *prefix;
                const char *const *headers;
        } posts[] = {
                { "http.post_custom_role", "POST /v2/custom_role", "/v2/custom_role?org_id=1", "partoo", "hp",
                  (const char *const[]) { auth->key, NULL } },
                { "http.post_roles_create", "POST /api/v1/roles.create", "/api/v1/roles.create", "rocketchat", "hr",
                  (const char *const[]) { auth->uid, auth->tok, NULL } },
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
        free(cg.hist);
        return min_create_ratio;
}

/* GET /v2/custom_role/{api_id} under wrk while a second wrk creates roles
 * through POST /v2/custom_role on HTTP_UNDER_CREATES_CONNS connections of
 * its own: the reads of unrelated clients must not wait behind the
 * creates (rolesd answers a read on a connection after that connection's
 * pending writes). The create load runs in a child process (wrk_run is
 * not thread-safe), started first and ending after the reads. */
#define HTTP_UNDER_CREATES_CONNS 32u
static void http_gets_under_creates(Bench *b, unsigned port, const HttpAuth *auth) {
        double secs = wrk_seconds(b);
        char *get_path = strdup(fmt("/v2/custom_role/r%" PRIu64 "?org_id=%u", b->main_roles / 3, ORG_MAIN));
        char *base = strdup(fmt("http://127.0.0.1:%u", port)), *get_url = NULL;
        const char *post_args[] = { "/v2/custom_role?org_id=1", "partoo", "hg", auth->key, NULL };
        WrkResult w = {0}, creates = {0};
        int pfd[2];
        pid_t child;

        if (!get_path || !base || !(get_url = strdup(fmt("%s%s", base, get_path))))
                die("out of memory");
        if (pipe2(pfd, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        fflush(NULL);
        child = fork();
        if (child < 0)
                die("fork: %s", strerror(errno));
        if (child == 0) {
                close(pfd[0]);
                wrk_run(fmt("%s/wrk-post.lua", b->opt.scripts), base, HTTP_UNDER_CREATES_CONNS, 1, secs + 2, post_args,
                        &creates);
                _exit(write(pfd[1], &creates, sizeof creates) == (ssize_t) sizeof creates ? 0 : 1);
        }
        close(pfd[1]);
        usleep(500000);         /* the creates under way */
        CpuMark c0 = cpu_mark(b);
        wrk_run(fmt("%s/wrk-get.lua", b->opt.scripts), get_url, b->opt.http_conns, 1, secs,
                (const char *const[]) { auth->key, NULL }, &w);
        const char *cpu = cpu_per_request(b, "http.get_under_creates", c0, w.requests);
        if (read(pfd[0], &creates, sizeof creates) != (ssize_t) sizeof creates)
                creates = (WrkResult) { .error = "the create load's process failed" };
        close(pfd[0]);
        waitpid(child, NULL, 0);
        if (!w.ran || !creates.ran) {
                row("GET /v2/custom_role/{api_id} under creates", "wrk failed", !w.ran ? w.error : creates.error);
                goto out;
        }
        fig("http.get_under_creates.req_per_s", w.rate, "req/s");
        fig("http.get_under_creates.p50_ms", w.p50_ms, "ms");
        fig("http.get_under_creates.p99_ms", w.p99_ms, "ms");
        fig("http.get_under_creates.non2xx", (double) w.non2xx, "count");
        fig("http.creates_under_gets.req_per_s", creates.rate, "req/s");
        fig("http.creates_under_gets.p99_ms", creates.p99_ms, "ms");
        row(fmt("GET /v2/custom_role/{api_id}, %u conns, under creates", b->opt.http_conns),
            fmt("%10s  p50 %6.2f ms  p99 %6.2f ms", fmt_rate(w.rate), w.p50_ms, w.p99_ms),
            fmt("%s%s", cpu, w.non2xx ? fmt("; %" PRIu64 " non-2xx", w.non2xx) : ""));
        row(fmt("  meanwhile POST /v2/custom_role, %u conns", HTTP_UNDER_CREATES_CONNS),
            fmt("%10s  p50 %6.2f ms  p99 %6.2f ms", fmt_rate(creates.rate), creates.p50_ms, creates.p99_ms),
            creates.non2xx ? fmt("%" PRIu64 " non-2xx", creates.non2xx) : "");
out:
        free(get_url);
        free(get_path);
        free(base);
}

void phase_http(Bench *b) {
        row_section(fmt("HTTP (wrk, %u connections, 2 threads; reference: libmicrohttpd, mode %s%s)", b->opt.http_conns,
                        b->opt.mhd_mode, strcmp(b->opt.mhd_mode, "pool") == 0 ? fmt(" x%u threads", b->opt.mhd_threads) : ""));
        if (!b->opt.rolesd_http || b->opt.no_http) {
                http_skip(b->opt.no_http ? "skipped (--no-http)" : "skipped: rolesd-http not built (no --rolesd-http)",
                          "rolesd-http not available");
                return;
        }
        if (!wrk_available()) {
                fprintf(stderr, "rolesd-bench: wrk not found on PATH: skipping the HTTP part (apt-get install wrk)\n");
                http_skip("skipped: wrk not found on PATH (apt-get install wrk)", "wrk not found");
                return;
        }

        HttpAuth auth;
        http_auth(b, &auth);
        unsigned port = http_start(b);
        double min_read_ratio = http_reads(b, port, &auth);
        double min_create_ratio = http_creates(b, port, &auth);
        http_gets_under_creates(b, port, &auth);
        target("rolesd-http GET reads >= 50% of bare libmicrohttpd (worst endpoint)", min_read_ratio, ">=", 0.5,
               min_read_ratio >= 0);
        target("rolesd-http creates >= 60% of RPC role.create at 64 connections (worst endpoint)", min_create_ratio, ">=",
               0.6, min_create_ratio >= 0);

        kill(b->http_pid, SIGTERM);
        waitpid(b->http_pid, NULL, 0);
        b->http_pid = 0;
        free(auth.key);
        free(auth.uid);
        free(auth.tok);
}
