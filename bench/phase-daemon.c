/* phase-daemon.c: the daemon's part of the table: first start and
 * provisioning, start-to-READY at 0 and at N roles, the file's size per
 * role, and the daemon's private memory at each probe. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "phase.h"

void phase_start(Bench *b) {
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

void phase_memory_running(Bench *b) {
        b->mem_phases = mem_probe(b, "daemon.memory.after_phases_running", 0);
}

static const char *mem_ratio_to_empty(const Bench *b, const MemProbe *m) {
        return fmt("x%.2f of empty; Rss %s", ratio((double) m->private_dirty_kb, (double) b->mem_empty.private_dirty_kb),
                   fmt_bytes((double) m->rss_kb * 1024.0));
}

void phase_restart(Bench *b) {
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
}
