/* bench.h: rolesd-bench's tools. util.c (clock, histograms, the results
 * table and JSON file, progress), load.c (the epoll load engine driving N
 * MessagePack-RPC connections), daemon.c (rolesd under
 * systemd-socket-activate, readiness, /proc figures), refs.c (the in-run
 * references: raw LMDB commits and a bare framed echo server), http.c (the
 * libmicrohttpd reference server and wrk runs). The phases that use them to
 * take the figures are in phase.h. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/buf.h"

/* ---- util.c ---- */
uint64_t now_ns(void);
double now_s(void);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool bench_verbose;
extern bool bench_tty;          /* stderr is a terminal: show progress */

/* Log-linear latency histogram of nanosecond values (~1% resolution). */
#define HIST_SUB_BITS 7u
#define HIST_BUCKETS ((64u - HIST_SUB_BITS + 1u) << HIST_SUB_BITS)
typedef struct Hist {
        uint64_t n;
        uint64_t max;
        uint64_t sum;
        uint32_t b[HIST_BUCKETS];
} Hist;
Hist *hist_new(void);
void hist_add(Hist *h, uint64_t v);
uint64_t hist_pct(const Hist *h, double pct);   /* ns; 0 when empty */

/* Figures: every number goes to the JSON file under a dotted key. */
void fig(const char *key, double value, const char *unit);
void fig_str(const char *key, const char *value);
bool fig_get(const char *key, double *ret);
/* Targets: checked and listed at the end of the table and in the JSON. */
void target(const char *name, double value, const char *op, double threshold, bool known);
/* Table rows, printed at the end. */
void row_section(const char *title);
void row(const char *label, const char *value, const char *ratio);
void print_table(FILE *f);
int write_json(const char *path);
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));  /* static ring of buffers */
const char *fmt_rate(double ops);
const char *fmt_ns(uint64_t ns);
const char *fmt_bytes(double b);

/* ---- load.c ---- */
typedef struct LoadGroup LoadGroup;
/* Packs exactly one whole request frame with this msgid. */
typedef void (*PackFn)(LoadGroup *g, msgpack_packer *pk, uint32_t msgid);
struct LoadGroup {
        const char *label;
        const char *socket;
        unsigned conns;
        unsigned depth;         /* requests outstanding per connection */
        PackFn pack;
        void *userdata;
        bool ignore_errors;     /* echo: replies are not RPC results */
        uint64_t total;         /* >0: send exactly this many, then stop (bulk mode) */
        /* state of the generator (e.g. unique name counter) */
        uint64_t counter;
        /* results of the measured window */
        Hist *hist;
        Hist *hist_odd;         /* set: replies to odd msgids go here instead (a generator
                                 * alternating two kinds of request by msgid) */
        uint64_t ok, errors, sent, done;
        double rate;
        char first_error[256];
};
/* Runs the groups together. Time mode (every total == 0): warmup, then a
 * measured window of measure_s; counts completions in the window. Bulk
 * mode (every total > 0): until all are answered; progress on a tty.
 * Returns the elapsed seconds of the window (or the whole bulk run). */
double load_run(LoadGroup *const *groups, size_t n, double warmup_s, double measure_s, const char *progress);
void load_group_reset(LoadGroup *g);
int unix_connect(const char *path);

/* Synchronous calls over one connection (provisioning, single probes). */
typedef struct Rpc {
        int fd;
        uint32_t msgid;
        Buf in;
} Rpc;
int rpc_open(Rpc *c, const char *path);
void rpc_close(Rpc *c);
/* Sends a request whose params map is packed by the callback; waits for the
 * reply. On success *u holds the reply and *ret_result points into it; an
 * RPC error is returned as -EREMOTEIO with the message in errbuf. */
typedef void (*ParamsFn)(msgpack_packer *pk, void *userdata);
int rpc_call(Rpc *c, const char *method, ParamsFn params, void *userdata, msgpack_unpacked *u,
             const msgpack_object **ret_result, char *errbuf, size_t errlen);

/* ---- daemon.c ---- */
typedef struct Daemon {
        const char *rolesd;
        char *dir;              /* bench temp dir */
        char *db;
        char *sock;
        char *notify;
        char *log;
        pid_t pid;
        int notify_fd;
        double start_to_ready_s;
        double spawn_to_ready_s;
        double stop_s;
} Daemon;
void daemon_start(Daemon *d);
void daemon_stop(Daemon *d);
/* kB from /proc/PID/smaps_rollup, or -1 */
long proc_smaps_kb(pid_t pid, const char *field);
/* utime + stime of a process in seconds */
double proc_cpu_s(pid_t pid);
double self_cpu_s(void);
/* time the process's threads spent runnable but waiting for a CPU, seconds */
double proc_runq_wait_s(pid_t pid);

/* ---- refs.c ---- */
typedef struct LmdbRef {
        double rate;            /* commits per second */
        uint64_t p50, p99;      /* ns per durable commit */
        size_t record_bytes;
        uint64_t commits;
} LmdbRef;
void lmdb_ref_run(const char *dir, double seconds, LmdbRef *ret);
/* Forks a single-threaded epoll server echoing each frame; returns its pid. */
pid_t echo_server_start(const char *path);
void child_stop(pid_t pid);
/* In a forked child before exec: stdin from /dev/null, stdout and stderr
 * appended to log (_exit(127) if either cannot be opened). */
void child_stdio(const char *log);

/* ---- http.c ---- */
typedef struct WrkResult {
        bool ran;
        double rate;
        double p50_ms, p99_ms;
        uint64_t requests, non2xx, socket_errors;
        char error[256];
} WrkResult;
bool wrk_available(void);
void wrk_run(const char *script, const char *url, unsigned conns, unsigned threads, double seconds,
             const char *const *script_args, WrkResult *ret);
/* One blocking HTTP request; returns the status (or -errno) and the body length. */
int http_probe(const char *host, unsigned port, const char *method, const char *path,
               const char *headers, const char *body, size_t *ret_body_len, char *snippet, size_t snippet_len);
/* libmicrohttpd server answering every request with a fixed JSON body of
 * body_len bytes. mode: "pool" (internal epoll, thread pool of threads),
 * "select" (one internal thread), "per-connection" (a thread each). */
void *mhd_ref_start(const char *mode, unsigned threads, size_t body_len, unsigned *ret_port);
void mhd_ref_stop(void *handle);
bool mhd_ref_available(void);
/* Threads of the "pool" mode unless --mhd-threads says: rolesd-http's own
 * HTTP_THREADS (1 without libmicrohttpd). */
unsigned mhd_ref_default_threads(void);
/* A listening TCP socket on 127.0.0.1 and a port the kernel chose. */
int tcp_listen_loopback(unsigned *ret_port);
