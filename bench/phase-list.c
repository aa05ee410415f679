/* phase-list.c: the role.list figures: first page, a deep page by
 * number, the page after it through the cursor, and the count, in the
 * 1,000-role organization before the load, then in it and in the big
 * organization, their requests alternating on one connection. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phase.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire.h"

#define PARTOO_BUILTINS 5u

typedef struct ListGen {
        uint64_t org, page, per_page;
        const char *after;
} ListGen;

static void pack_list_gen(const ListGen *lg, msgpack_packer *pk, uint32_t msgid) {
        rpc_pack_request_begin(pk, msgid, "role.list");
        msgpack_pack_map(pk, 2 + (lg->page > 0) + !!lg->after);
        mp_pack_kv_u64(pk, "org", lg->org);
        mp_pack_kv_u64(pk, "per_page", lg->per_page);
        if (lg->page > 0)
                mp_pack_kv_u64(pk, "page", lg->page);
        if (lg->after)
                mp_pack_kv_str(pk, "after", lg->after);
}

static void pack_list(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        pack_list_gen(g->userdata, pk, msgid);
}

/* Two lists, one request each in turn: even msgids ask gens[0], odd
 * ones gens[1] (LoadGroup.hist_odd keeps their latencies apart). */
static void pack_list_alternating(LoadGroup *g, msgpack_packer *pk, uint32_t msgid) {
        const ListGen *gens = g->userdata;

        pack_list_gen(&gens[msgid & 1], pk, msgid);
}

/* One organization's part of the list figures. */
typedef struct ListSide {
        uint64_t org, n_roles;
        const char *key;
        ListFigs *figs;
        char *cursor;           /* after the deep page */
} ListSide;

/* Reads the deep page (90 % of the way through) once, for its cursor and
 * the organization's count. */
static void list_side_prepare(const Bench *b, ListSide *sd) {
        ListFigs *lf = sd->figs;
        msgpack_unpacked u;
        Rpc c;

        *lf = (ListFigs) { .deep_page = (sd->n_roles * 9 / 10) / PER_PAGE };
        if (lf->deep_page < 2)
                lf->deep_page = 2;
        if (rpc_open(&c, b->daemon.sock) < 0)
                die("cannot connect: %s", strerror(errno));
        msgpack_unpacked_init(&u);
        const msgpack_object *r = call(&c, "role.list",
                                       (KV[]) { { "org", .u = sd->org, .is_u = true },
                                                { "page", .u = lf->deep_page, .is_u = true },
                                                { "per_page", .u = PER_PAGE, .is_u = true }, {0} }, &u);
        sd->cursor = res_str(r, "next");
        lf->count_value = res_u64(r, "count");
        if (!sd->cursor)
                die("role.list page %" PRIu64 " of org %" PRIu64 " has no next cursor", lf->deep_page, sd->org);
        msgpack_unpacked_destroy(&u);
        rpc_close(&c);
}

/* The list figures (first page, a deep page by number, the page after it
 * through the cursor, the count) of one organization, or of two in turn:
 * one connection, their requests alternating, each latency kept with its
 * organization, so that whatever the machine does meanwhile (where the
 * scheduler puts the two processes, write-back) weighs on both alike
 * while each request still has the daemon to itself. Measured one
 * window after the other, the same call's p50 moved 6x (13 us while the
 * bench and the daemon happened to share a CPU, 80 us otherwise). The
 * daemon's CPU per op is the window's, over both. */
static void list_figures(const Bench *b, ListSide *sides, size_t n) {
        static const struct { const char *name; size_t offset; } kinds[] = {
                { "first_page",                offsetof(ListFigs, first) },
                { "deep_page_by_number",       offsetof(ListFigs, deep) },
                { "continuation_after_cursor", offsetof(ListFigs, cont) },
                { "count_per_page_1",          offsetof(ListFigs, count) },
        };
        ListGen gens[2];
        LoadGroup g = { .label = "role.list", .socket = b->daemon.sock, .conns = 1, .depth = 1, .userdata = gens,
                        .pack = n == 2 ? pack_list_alternating : pack_list };
        LoadGroup *gs[] = { &g };

        if (n == 2)
                g.hist_odd = hist_new();
        for (size_t i = 0; i < n; i++)
                list_side_prepare(b, &sides[i]);
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                for (size_t i = 0; i < n; i++) {
                        ListSide *sd = &sides[i];

                        gens[i] = (ListGen) { .org = sd->org, .per_page = PER_PAGE };
                        if (k == 1)
                                gens[i].page = sd->figs->deep_page;
                        else if (k == 2)
                                gens[i].after = sd->cursor;
                        else if (k == 3)
                                gens[i].per_page = 1;
                }
                Measured m = measure(b, gs, 1, fmt("%s.%s", sides[0].key, kinds[k].name));
                for (size_t i = 0; i < n; i++) {
                        Measured *mi = (Measured *) ((char *) sides[i].figs + kinds[k].offset);

                        *mi = m;
                        if (n == 2) {
                                /* measure() saw both: each has half the
                                 * requests and its own latencies */
                                const Hist *h = i == 0 ? g.hist : g.hist_odd;
                                const char *key = fmt("%s.%s", sides[i].key, kinds[k].name);

                                mi->rate = m.rate / 2;
                                mi->p50 = hist_pct(h, 50);
                                mi->p99 = hist_pct(h, 99);
                                fig(fmt("%s.ops_per_s", key), mi->rate, "ops/s");
                                fig(fmt("%s.p50_us", key), (double) mi->p50 / 1e3, "us");
                                fig(fmt("%s.p99_us", key), (double) mi->p99 / 1e3, "us");
                        }
                }
        }
        for (size_t i = 0; i < n; i++) {
                ListSide *sd = &sides[i];

                fig(fmt("%s.count", sd->key), (double) sd->figs->count_value, "roles");
                fig(fmt("%s.deep_page", sd->key), (double) sd->figs->deep_page, "page");
                if (sd->figs->count_value != sd->n_roles + PARTOO_BUILTINS)
                        fprintf(stderr, "rolesd-bench: %s: count is %" PRIu64 ", expected %" PRIu64 "\n", sd->key,
                                sd->figs->count_value, sd->n_roles + PARTOO_BUILTINS);
                free(sd->cursor);
        }
        free(g.hist);
        free(g.hist_odd);
}

static void list_rows(const Bench *b, const ListFigs *lf, const ListFigs *base, const char *n_label) {
        row(fmt("first page (30), N=%s", n_label), lat(&lf->first),
            base ? fmt("p50 x%.2f of N=%" PRIu64, ratio((double) lf->first.p50, (double) base->first.p50), b->opt.small_n) : "");
        row(fmt("page %" PRIu64 " by number, N=%s", lf->deep_page, n_label), lat(&lf->deep),
            base ? fmt("p50 x%.2f of page %" PRIu64 " at N=%" PRIu64, ratio((double) lf->deep.p50, (double) base->deep.p50),
                       base->deep_page, b->opt.small_n) : "");
        row(fmt("next page via cursor `after`, N=%s", n_label), lat(&lf->cont),
            base ? fmt("p50 x%.2f of N=%" PRIu64, ratio((double) lf->cont.p50, (double) base->cont.p50), b->opt.small_n) : "");
        row(fmt("count (per_page=1) = %" PRIu64, lf->count_value), lat(&lf->count),
            base ? fmt("p50 x%.2f of N=%" PRIu64, ratio((double) lf->count.p50, (double) base->count.p50), b->opt.small_n) : "");
}

/* The small organization's roles and its list figures before the load:
 * the baseline row of the role.list part. */
void phase_list_small(Bench *b) {
        uint64_t small_counter = 0;

        bulk_create(b, ORG_SMALL, "s", &small_counter, b->opt.small_n, "loading the small organization");
        list_figures(b, (ListSide[]) { { .org = ORG_SMALL, .n_roles = b->opt.small_n, .key = "list.small",
                                          .figs = &b->list_small } }, 1);
}

/* The list figures at N against the small organization again, in turn. */
void phase_list_big(Bench *b) {
        const ListFigs *before = &b->list_small;
        const char *big_label = b->big_label;
        uint64_t small_n = b->opt.small_n;

        /* Let the write-back of the load settle, then measure the small org
         * again and the big one, in turn. */
        usleep(b->opt.quick ? 200000 : 1000000);
        ListFigs lsmall, lbig;
        list_figures(b, (ListSide[]) {
                { .org = ORG_SMALL, .n_roles = small_n, .key = "list.small_after_load", .figs = &lsmall },
                { .org = ORG_BIG, .n_roles = b->opt.big_n, .key = "list.big", .figs = &lbig },
        }, 2);
        row_section(fmt("role.list, org %u with %s roles vs org %u with %" PRIu64 " roles (same database, "
                        "requests alternating on one connection)", ORG_BIG, big_label, ORG_SMALL, small_n));
        list_rows(b, &lsmall, NULL, fmt("%" PRIu64, small_n));
        list_rows(b, &lbig, &lsmall, big_label);
        row(fmt("N=%" PRIu64 " measured before the load", small_n), "",
            fmt("first page p50 %s, cursor p50 %s, count p50 %s", fmt_ns(before->first.p50), fmt_ns(before->cont.p50),
                fmt_ns(before->count.p50)));
        double lr_first = ratio((double) lbig.first.p50, (double) lsmall.first.p50);
        double lr_cont = ratio((double) lbig.cont.p50, (double) lsmall.cont.p50);
        double lr_count = ratio((double) lbig.count.p50, (double) lsmall.count.p50);
        fig("list.first_page.p50_ratio_big_to_small", lr_first, "x");
        fig("list.continuation.p50_ratio_big_to_small", lr_cont, "x");
        fig("list.count.p50_ratio_big_to_small", lr_count, "x");
        fig("list.deep_page_by_number.p50_ratio_big_to_small", ratio((double) lbig.deep.p50, (double) lsmall.deep.p50), "x");
        double lr_worst = lr_first > lr_cont ? lr_first : lr_cont;
        if (lr_count > lr_worst)
                lr_worst = lr_count;
        target(fmt("role.list first page/continuation/count independent of N (worst p50 ratio %s vs %" PRIu64 ")",
                   big_label, small_n), lr_worst, "<=", 1.5, true);
}
