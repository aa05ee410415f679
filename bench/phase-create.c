/* phase-create.c: role.create in the small database (org 1) at 1, 16
 * and 64 connections and 64 pipelined, against the raw LMDB reference. */
#include <stdlib.h>

#include "phase.h"
#include "proto/macro.h"

void phase_create(Bench *b) {
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
