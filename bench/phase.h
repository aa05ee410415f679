/* phase.h: what rolesd-bench's phases share: the run's options and its
 * context (Bench: the daemon, rolesd-http, and the figures that a later
 * phase divides by), how a figure is taken (measure.c), and the phases
 * (phase-*.c), which main.c runs in the order of the table. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench.h"

#define ORG_MAIN 1u     /* create/get phases, HTTP */
#define ORG_BIG 2u      /* the million */
#define ORG_SMALL 3u    /* list baseline */
#define PER_PAGE 30u

/* The command line, after parse_args() (main.c). */
typedef struct Options {
        const char *rolesd;
        const char *rolesd_http;
        const char *json;
        const char *parent;
        const char *scripts;
        const char *mhd_mode;
        unsigned mhd_threads;
        bool quick, keep, no_http;
        bool etcd;              /* --etcd: the fleet-mode reference (phase-etcd.c) */
        double duration, warmup;
        uint64_t big_n, small_n;
        unsigned http_conns;
        const char *attach_key, *attach_cmd;
} Options;

/* One figure's results (measure()). */
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

/* The daemon's memory at one probe (mem_probe()). */
typedef struct MemProbe {
        long private_dirty_kb, rss_kb;
} MemProbe;

/* The list figures of one organization (phase-list.c). */
typedef struct ListFigs {
        Measured first, deep, cont, count;
        uint64_t count_value;
        uint64_t deep_page;
} ListFigs;

/* One run's shared state: the options, the processes, and the figures a
 * later phase divides by (the references and the baselines). */
typedef struct Bench {
        Options opt;
        Daemon daemon;
        pid_t http_pid;         /* rolesd-http, while the HTTP phase runs */
        char *fs;               /* the filesystem of the database ("ext4") */
        char *echo_sock;        /* where the bare echo reference listens */
        char *big_label;        /* opt.big_n as the table says it ("1M", "20k") */
        uint64_t main_roles;    /* roles r0, r1, ... created in org 1 */
        uint64_t big_roles;     /* roles m0, m1, ... in org 2 */
        LmdbRef lmdb;           /* the raw LMDB reference */
        double commit_ns;       /* its single-commit latency (mean: 1 / rate) */
        double ready_empty_s;   /* start-to-READY of the restart at 0 roles */
        MemProbe mem_empty, mem_phases, mem_loaded;
        Measured create_c16, get_c16;
        ListFigs list_small;    /* the small organization, before the load */
        double load_s, load_cpu_s;      /* the big organization's bulk load */
        off_t db_bytes_loaded;          /* data.mdb after it */
        uint64_t db_roles_loaded;       /* roles in the database after it */
        double db_bytes_per_role;
} Bench;

/* ---- measure.c ---- */

/* Synchronous calls: params as a {0}-terminated array of key/values. */
typedef struct KV {
        const char *k;
        const char *s;
        uint64_t u;
        bool is_u;
        const char *const *strv;
} KV;
/* One call on an open connection; dies on any error. The result points
 * into *u (the caller destroys it). */
const msgpack_object *call(Rpc *c, const char *method, const KV *params, msgpack_unpacked *u);
uint64_t res_u64(const msgpack_object *o, const char *key);    /* dies if missing */
char *res_str(const msgpack_object *o, const char *key);       /* NULL if missing; caller frees */

/* The permissions of every role the bench creates. */
extern const char *const bench_perms[];

/* role.create: names prefix0, prefix1, ... in org, *counter the next. */
typedef struct CreateGen {
        uint64_t org;
        const char *prefix;
        uint64_t *counter;      /* shared by every group creating in this namespace */
} CreateGen;
void pack_create(LoadGroup *g, msgpack_packer *pk, uint32_t msgid);
/* A role.create load of conns connections with depth requests outstanding each. */
LoadGroup create_group(const Bench *b, CreateGen *gen, unsigned conns, unsigned depth);
/* Creates n roles as fast as the daemon takes them (4 connections x 2048
 * pipelined; 1 connection under 8,192 roles); returns the seconds it took. */
double bulk_create(const Bench *b, uint64_t org, const char *prefix, uint64_t *counter, uint64_t n, const char *progress);

/* role.get by api_id: a random one of the names a CreateGen made. */
typedef struct GetGen {
        uint64_t org;
        const char *prefix;
        uint64_t *existing;     /* names prefix0 .. prefix(existing-1) exist */
        uint64_t limit;         /* asks among the first limit of them (0: all) */
        uint64_t rng;
} GetGen;
void pack_get(LoadGroup *g, msgpack_packer *pk, uint32_t msgid);

/* The daemon's group-commit counters (server.status) at one moment. */
typedef struct WriterMark {
        uint64_t batches, writes, commit_us;
} WriterMark;
WriterMark writer_mark(const Bench *b);
/* Writes per commit and the mean commit time since w0 (0 without commits). */
void writer_since(const Bench *b, WriterMark w0, double *ret_writes_per_commit, double *ret_commit_us);

/* --attach FIGURE:CMD runs CMD (with $PID = the daemon's pid) while that
 * figure is measured, e.g. perf record; it gets SIGINT at the end. 0 when
 * key is not that figure. */
pid_t attach_start(const Bench *b, const char *key);
void attach_stop(pid_t pid);

/* Runs the groups (a warm-up, then the measured window) and records the
 * first group's figures under key: rate, p50, p99, errors, the daemon's
 * and the bench's CPU per operation, writes per commit. */
Measured measure(const Bench *b, LoadGroup *const *groups, size_t n, const char *key);
/* Records m's figures under key (measure() does); dies when nothing
 * succeeded (first_error: why). */
void measured_figures(const Measured *m, const char *key, const char *first_error);
const char *lat(const Measured *m);     /* "rate  p50 ..  p99 .." for a row */
double ratio(double a, double b);       /* a / b, 0 when b is not positive */

/* The daemon's Private_Dirty and Rss under key (get_existing: also a
 * role.get of a role of the big organization). */
MemProbe mem_probe(const Bench *b, const char *key, uint64_t get_existing);
off_t file_size(const char *path);      /* 0 if it cannot be read */

/* ---- the phases, in the order main.c runs them ---- */

/* phase-refs.c: the in-run references: raw LMDB commits (first), and the
 * bare echo that phase_get() measures right before each of its figures. */
void phase_references(Bench *b);
Measured echo_measure(Bench *b, unsigned conns, const char *key);
/* phase-daemon.c: first start, provisioning, restart at 0; memory after
 * the small-database phases; restart at N and the daemon's rows. */
void phase_start(Bench *b);
void phase_memory_running(Bench *b);
void phase_restart(Bench *b);
/* phase-create.c, phase-get.c: the small database (org 1). */
void phase_create(Bench *b);
/* phase-async.c: librolesd's asynchronous client against the engine. */
void phase_async(Bench *b);
void phase_get(Bench *b);
/* phase-list.c: the 1,000-role baseline; the list figures at N against it. */
void phase_list_small(Bench *b);
void phase_list_big(Bench *b);
/* phase-http.c: rolesd-http under wrk against bare libmicrohttpd and RPC. */
void phase_http(Bench *b);
/* phase-big.c: the bulk load of N roles; create and get at N. */
void phase_load(Bench *b);
void phase_at_big(Bench *b);
/* phase-lifecycle.c: role.update; access.check before and after N
 * memberships; member.list in a role of N holders against one of 1,000. */
void phase_lifecycle(Bench *b);
/* phase-feed.c: the change feed (issue 18), last: watcher latency,
 * creates with 100 watchers, changes.list deep in the log, and creates
 * with the log disabled (the daemon restarted without it). */
void phase_feed(Bench *b);
void phase_transfer(Bench *b);     /* export and import */
/* phase-etcd.c: with --etcd, 3 etcd members; the create txn's rate by a
 * thin gateway client (the reference) and by daemon/etcd.c. */
void phase_etcd(Bench *b);
