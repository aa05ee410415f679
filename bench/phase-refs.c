/* phase-refs.c: the in-run references' part of the table: raw LMDB
 * commits on the database's filesystem (first of all), and the bare framed
 * echo that phase_get() measures right before each figure it is the
 * reference of. The servers themselves are in refs.c. */
#include <stdlib.h>

#include "phase.h"

void phase_references(Bench *b) {
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
 * echoes each frame (refs.c), driven like role.get. */
Measured echo_measure(Bench *b, unsigned conns, const char *key) {
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
