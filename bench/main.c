/* main.c: rolesd-bench. Parses the command line, makes a fresh temporary
 * directory for the database, runs the phases in the order of the table
 * below (each adds its rows, figures and targets), then prints the table
 * and writes every figure to a JSON file; cleans up at exit, signals
 * included. Not a test: it asserts nothing about speed; its exit status
 * says only whether it could measure. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "phase.h"
#include "proto/macro.h"

#ifndef BENCH_SRCDIR
#define BENCH_SRCDIR "."
#endif

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
               "  --etcd               also start 3 etcd members ($ETCD or /usr/bin/etcd) for fleet mode's reference\n"
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
               ARG_NOHTTP, ARG_MHD_MODE, ARG_MHD_THREADS, ARG_SCRIPTS, ARG_ATTACH, ARG_ETCD };
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
                { "etcd", no_argument, NULL, ARG_ETCD },
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
                case ARG_ETCD: opt->etcd = true; break;
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

static Bench bench;     /* for cleanup() at exit */
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
        const char *name;       /* progress line (-v, or stderr a terminal) */
        void (*run)(Bench *b);
        bool quick;             /* runs in --quick */
} Phase;

static const Phase phases[] = {
        /* name                                 run                     --quick     its rows */
        { "references: raw LMDB commits",       phase_references,       true },  /* in-run references */
        { "starting rolesd",                    phase_start,            true },  /* (in daemon) */
        { "role.create",                        phase_create,           true },  /* role.create */
        { "librolesd async client",             phase_async,            true },  /* librolesd */
        { "role.get",                           phase_get,              true },  /* role.get */
        { "role.list baseline",                 phase_list_small,       true },  /* (in role.list) */
        { "HTTP",                               phase_http,             true },  /* HTTP */
        { "memory after the phases",            phase_memory_running,   true },  /* (in daemon) */
        { "the big organization",               phase_load,             true },  /* (in at N roles) */
        { "role.list at N",                     phase_list_big,         true },  /* role.list */
        { "role.create and role.get at N",      phase_at_big,           true },  /* at N roles */
        { "restart at N",                       phase_restart,          true },  /* daemon */
        { "role lifecycle",                     phase_lifecycle,        true },  /* role lifecycle */
        { "change feed",                        phase_feed,             true },  /* change feed */
        { "export and import",                  phase_transfer,         true },  /* export and import */
        { "etcd (with --etcd)",                 phase_etcd,             true },  /* fleet mode: etcd */
};

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
