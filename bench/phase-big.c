/* phase-big.c: the big organization: N roles loaded through role.create
 * (the load's rate, the file's growth per role), then role.create and
 * role.get at N against their figures in the small database. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "phase.h"

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
void phase_load(Bench *b) {
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
void phase_at_big(Bench *b) {
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
