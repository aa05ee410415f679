/* phase-lifecycle.c: the role lifecycle's figures (issue 17), last in the
 * run, in the database the other phases filled (N roles):
 *   - role.update at 16 connections against the raw LMDB reference;
 *   - member.list in a role of 1,000 holders and in one of N, first page
 *     and a cursor page (the middle), their requests alternating on one
 *     connection as role.list's are (phase-list.c);
 *   - access.check at 16 connections against the bare echo measured right
 *     before it, for a user holding 10 workspace roles of every permission
 *     of the workspace catalog (48), once before the N memberships are
 *     loaded and once after: its cost does not depend on them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phase.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire.h"

#define ACL_ROLES 10u
#define UPDATE_ROLES 16u

/* user.add of prefix0000000, prefix0000001, ... holding role (org 0). */
typedef struct UserGen {
        const char *prefix, *role;
        uint64_t next;
} UserGen;

static void pack_user_add(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        UserGen *ug = g->userdata;
        char name[32];

        snprintf(name, sizeof name, "%s%07" PRIu64, ug->prefix, ug->next++);
        rpc_pack_request_begin(pk, msgid, "user.add");
        msgpack_pack_map(pk, 2);
        mp_pack_kv_str(pk, "username", name);
        mp_pack_str(pk, "roles");
        msgpack_pack_array(pk, 1);
        mp_pack_str(pk, ug->role);
}

static double bulk_users(const Bench *b, UserGen *ug, uint64_t n, const char *progress) {
        LoadGroup g = { .label = "bulk user.add", .socket = b->daemon.sock, .conns = n < 8192 ? 1 : 4,
                        .depth = 2048, .pack = pack_user_add, .userdata = ug, .total = n };
        LoadGroup *gs[] = { &g };
        double el = load_run(gs, 1, 0, 0, progress);

        if (g.errors)
                die("bulk user.add: %" PRIu64 " of %" PRIu64 " failed, first: %s", g.errors, n, g.first_error);
        free(g.hist);
        return el;
}

static const char *check_permission;

static void pack_check(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        rpc_pack_request_begin(pk, msgid, "access.check");
        msgpack_pack_map(pk, 3);
        mp_pack_kv_u64(pk, "org", 0);
        mp_pack_kv_str(pk, "user", "checker");
        mp_pack_kv_str(pk, "permission", check_permission);
}

static void pack_update(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        char name[16], desc[32];

        snprintf(name, sizeof name, "upd-%u", (unsigned) (g->counter % UPDATE_ROLES));
        snprintf(desc, sizeof desc, "update %" PRIu64, g->counter++);
        rpc_pack_request_begin(pk, msgid, "role.update");
        msgpack_pack_map(pk, 3);
        mp_pack_kv_u64(pk, "org", ORG_MAIN);
        mp_pack_kv_str(pk, "name", name);
        mp_pack_str(pk, "set");
        msgpack_pack_map(pk, 1);
        mp_pack_kv_str(pk, "description", desc);
}

/* member.list of two roles in turn: even msgids the first, odd ones the
 * second (LoadGroup.hist_odd keeps their latencies apart). */
typedef struct MemberListGen {
        const char *role;
        const char *after;      /* NULL: the first page */
} MemberListGen;

static void pack_member_list(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        const MemberListGen *mg = (const MemberListGen *) g->userdata + (msgid & 1);

        rpc_pack_request_begin(pk, msgid, "member.list");
        msgpack_pack_map(pk, 3 + !!mg->after);
        mp_pack_kv_u64(pk, "org", 0);
        mp_pack_kv_str(pk, "name", mg->role);
        mp_pack_kv_u64(pk, "count", LIST_COUNT_DEFAULT);
        if (mg->after)
                mp_pack_kv_str(pk, "after", mg->after);
}

/* One member.list figure of both roles; returns the p50 ratio big/small. */
static double member_list_pair(const Bench *b, const char *what, MemberListGen gens[2]) {
        LoadGroup g = { .label = "member.list", .socket = b->daemon.sock, .conns = 1, .depth = 1,
                        .pack = pack_member_list, .userdata = gens, .hist_odd = hist_new() };
        LoadGroup *gs[] = { &g };
        Measured m = measure(b, gs, 1, fmt("members.%s", what));
        uint64_t p50[2] = { hist_pct(g.hist, 50), hist_pct(g.hist_odd, 50) };
        uint64_t p99[2] = { hist_pct(g.hist, 99), hist_pct(g.hist_odd, 99) };
        static const char *const side[2] = { "small", "big" };

        for (int i = 0; i < 2; i++) {
                fig(fmt("members.%s.%s.ops_per_s", side[i], what), m.rate / 2, "ops/s");
                fig(fmt("members.%s.%s.p50_us", side[i], what), (double) p50[i] / 1e3, "us");
                fig(fmt("members.%s.%s.p99_us", side[i], what), (double) p99[i] / 1e3, "us");
        }
        row(fmt("%s, %" PRIu64 " holders", what, b->opt.small_n), fmt("p50 %s  p99 %s", fmt_ns(p50[0]), fmt_ns(p99[0])), "");
        row(fmt("%s, %s holders", what, b->big_label), fmt("p50 %s  p99 %s", fmt_ns(p50[1]), fmt_ns(p99[1])),
            fmt("p50 x%.2f of %" PRIu64 " holders", ratio((double) p50[1], (double) p50[0]), b->opt.small_n));
        free(g.hist);
        free(g.hist_odd);
        return ratio((double) p50[1], (double) p50[0]);
}

/* access.check at 16 connections, the bare echo right before it. label
 * is the caller's (not fmt()'s, whose buffers the figures reuse). */
static double access_figure(Bench *b, const char *key, const char *label) {
        LoadGroup g = { .label = "access.check", .socket = b->daemon.sock, .conns = 16, .depth = 1,
                        .pack = pack_check };
        LoadGroup *gs[] = { &g };
        Measured echo = echo_measure(b, 16, fmt("ref.echo.c16_before_%s", key));
        Measured m = measure(b, gs, 1, key);
        double r = ratio(m.rate, echo.rate);

        fig(fmt("%s.ratio_to_echo_c16", key), r, "x");
        row(label, lat(&m), fmt("x%.2f bare echo (16 clients, just before: %s); %.1f us daemon CPU/op", r,
                                fmt_rate(echo.rate), m.daemon_cpu_us));
        free(g.hist);
        return m.rate;
}

/* The roles and the user access.check asks about, the roles role.update
 * changes, the two roles member.list pages; the 1,000 small holders. */
static char **set_up(Bench *b) {
        msgpack_unpacked u;
        const msgpack_object *r, *perms;
        char **all;
        Rpc c;

        if (rpc_open(&c, b->daemon.sock) < 0)
                die("cannot connect: %s", strerror(errno));
        msgpack_unpacked_init(&u);
        r = call(&c, "role.get", (KV[]) { { "org", .u = 0, .is_u = true }, { "name", .s = "admin" }, {0} }, &u);
        perms = mp_map_get(r, "permissions");
        if (!perms || perms->type != MSGPACK_OBJECT_ARRAY || mp_read_strv(perms, &all, NULL) < 0 || !all[0])
                die("the workspace's admin role has no permissions");
        for (size_t i = 0; all[i]; i++)
                check_permission = all[i];      /* the last: asked of every role */

        const char *acl[ACL_ROLES + 1] = { NULL };
        for (unsigned i = 0; i < ACL_ROLES; i++) {
                acl[i] = strdup(fmt("acl-%u", i));
                call(&c, "role.create", (KV[]) { { "org", .u = 0, .is_u = true }, { "name", .s = acl[i] },
                                                 { "permissions", .strv = (const char *const *) all }, {0} }, &u);
        }
        call(&c, "user.add", (KV[]) { { "username", .s = "checker" }, { "roles", .strv = acl }, {0} }, &u);
        for (unsigned i = 0; i < ACL_ROLES; i++)
                free((char *) acl[i]);
        for (unsigned i = 0; i < UPDATE_ROLES; i++)
                call(&c, "role.create", (KV[]) { { "org", .u = ORG_MAIN, .is_u = true },
                                                 { "name", .s = fmt("upd-%u", i) }, {0} }, &u);
        call(&c, "role.create", (KV[]) { { "org", .u = 0, .is_u = true }, { "name", .s = "members-small" }, {0} }, &u);
        call(&c, "role.create", (KV[]) { { "org", .u = 0, .is_u = true }, { "name", .s = "members-big" }, {0} }, &u);
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
        bulk_users(b, &(UserGen) { .prefix = "s", .role = "members-small" }, b->opt.small_n,
                   "loading the small role's holders");
        return all;
}

void phase_lifecycle(Bench *b) {
        char **all = set_up(b);
        uint64_t n = b->opt.big_n, small_n = b->opt.small_n;
        char mid_small[32], mid_big[32];
        size_t n_perms = 0;

        while (all[n_perms])
                n_perms++;
        row_section(fmt("role lifecycle (issue 17): a user holding %u workspace roles of %zu permissions each; "
                        "%s roles in the database", ACL_ROLES, n_perms, b->big_label));
        /* role.update, 16 connections on 16 roles of org 1 */
        LoadGroup ug = { .label = "role.update", .socket = b->daemon.sock, .conns = 16, .depth = 1,
                         .pack = pack_update };
        LoadGroup *ugs[] = { &ug };
        Measured um = measure(b, ugs, 1, "update.c16");
        double ur = ratio(um.rate, b->lmdb.rate);
        fig("update.c16.ratio_to_lmdb_rate", ur, "x");
        row("role.update, 16 connections", lat(&um),
            fmt("x%.2f LMDB rate; %.1f writes per %.0f us commit", ur, um.writes_per_commit, um.commit_us));
        free(ug.hist);

        char label[128];
        snprintf(label, sizeof label, "access.check, 16 connections, %" PRIu64 " memberships", small_n);
        double before = access_figure(b, "access.c16_before_members", label);

        double el = bulk_users(b, &(UserGen) { .prefix = "b", .role = "members-big" }, n,
                               fmt("loading %s holders of one role", b->big_label));
        fig("members.load.seconds", el, "s");
        fig("members.load.users_per_s", (double) n / el, "ops/s");
        row(fmt("bulk user.add of %s holders of one role, 4 conns x 2048 pipelined", b->big_label),
            fmt("%10s  %.1f s", fmt_rate((double) n / el), el), "");

        snprintf(label, sizeof label, "access.check, 16 connections, %s more memberships", b->big_label);
        double after = access_figure(b, "access.c16", label);
        fig("access.c16.ratio_to_before_members", ratio(after, before), "x");

        snprintf(mid_small, sizeof mid_small, "s%07" PRIu64, small_n / 2);
        snprintf(mid_big, sizeof mid_big, "b%07" PRIu64, n / 2);
        double rf = member_list_pair(b, "first_page", (MemberListGen[2]) { { "members-small", NULL },
                                                                           { "members-big", NULL } });
        double rc = member_list_pair(b, "cursor_page", (MemberListGen[2]) { { "members-small", mid_small },
                                                                            { "members-big", mid_big } });
        fig("members.first_page.p50_ratio_big_to_small", rf, "x");
        fig("members.cursor_page.p50_ratio_big_to_small", rc, "x");

        double ae;
        if (!fig_get("access.c16.ratio_to_echo_c16", &ae))
                ae = 0;
        target("role.update at 16 connections >= 3x raw one-commit-per-record LMDB", ur, ">=", 3, true);
        target(fmt("access.check at 16 connections >= 50%% of bare echo (16 clients), %s memberships loaded",
                   b->big_label), ae, ">=", 0.5, true);
        target(fmt("member.list first page and cursor page independent of the role's size (worst p50 ratio %s vs %"
                   PRIu64 ")", b->big_label, small_n), rf > rc ? rf : rc, "<=", 1.5, true);
        strv_free(all);
}
