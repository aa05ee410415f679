/* phase-get.c: role.get by api_id in org 1 at 1 and 16 connections,
 * each against the bare echo measured right before it, and at 16 while 16
 * other connections create. */
#include <inttypes.h>
#include <stdlib.h>

#include "phase.h"

/* role.get in org 1 asks among its first 100,000 roles: how many the
 * create phases made depends on the disk, and a get costs more the larger
 * the working set (LMDB pages missing from the CPU caches), so the figure
 * would otherwise follow the create figures. 100,000 roles are ~60 MB of
 * pages: still far beyond the caches. The at-1M figure asks among all. */
#define GET_WORKING_SET 100000u

void phase_get(Bench *b) {
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
