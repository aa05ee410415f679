/* test-etcd.c: daemon/etcd.c against real etcd members, on an sd-event
 * loop as in rolesd. Started by test_etcd.py (tests/lib/etcd.py runs the
 * members):
 *
 *   test-etcd ENDPOINTS MODE
 *
 * MODE txn, range, watch, compact: one property each (see each function);
 * failover and quorum talk with the Python test on stdin/stdout (a line
 * "kill", "stop" or "cont" asks it to act on the members; it answers with
 * one line when done). Prints "ok MODE: figures" and exits 0, or names the
 * failed check and exits 1. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "check.h"
#include "daemon/etcd.h"
#include "daemon/limits.h"
#include "proto/clock.h"

#define KEYS_MAX 4096u
#define SEC 1000000ull

static sd_event *event;
static Etcd *etcd;

/* ---- a call's result, copied out of its callback ------------------------ */

typedef struct Got {
        bool done;
        int r;
        char error[256];
        bool succeeded;
        int64_t revision;       /* header revision */
        int64_t count;
        bool more;
        size_t n;               /* kvs of a range */
        char *keys[KEYS_MAX], *values[KEYS_MAX];
        int64_t mods[KEYS_MAX], creates[KEYS_MAX];
        size_t n_resp;          /* a txn's responses */
        EtcdOpType types[ETCD_TXN_OPS_MAX];
        size_t resp_kvs[ETCD_TXN_OPS_MAX];
        char *resp_value[ETCD_TXN_OPS_MAX];
        uint64_t member_id, leader;
} Got;

static char *dup_bytes(const uint8_t *p, size_t n) {
        char *s = malloc(n + 1);

        check(s);
        memcpy(s, p, n);
        s[n] = 0;
        return s;
}

static void got_reset(Got *g) {
        for (size_t i = 0; i < g->n; i++) {
                free(g->keys[i]);
                free(g->values[i]);
        }
        for (size_t i = 0; i < g->n_resp; i++)
                free(g->resp_value[i]);
        memset(g, 0, sizeof *g);
}

static void got_error(Got *g, int r, const char *error) {
        g->done = true;
        g->r = r;
        if (error)
                snprintf(g->error, sizeof g->error, "%s", error);
}

static void copy_range(Got *g, const EtcdRangeResult *res) {
        g->revision = res->revision;
        g->count = res->count;
        g->more = res->more;
        check(res->n_kvs <= KEYS_MAX);
        for (size_t i = 0; i < res->n_kvs; i++) {
                g->keys[g->n] = dup_bytes(res->kvs[i].key, res->kvs[i].key_len);
                g->values[g->n] = dup_bytes(res->kvs[i].value, res->kvs[i].value_len);
                g->mods[g->n] = res->kvs[i].mod_revision;
                g->creates[g->n] = res->kvs[i].create_revision;
                g->n++;
        }
}

static void on_range(Etcd *e, int r, const EtcdRangeResult *res, void *userdata) {
        Got *g = userdata;

        got_error(g, r, res->error);
        if (r >= 0)
                copy_range(g, res);
}

static void on_txn(Etcd *e, int r, const EtcdTxnResult *res, void *userdata) {
        Got *g = userdata;

        got_error(g, r, res->error);
        if (r < 0)
                return;
        g->succeeded = res->succeeded;
        g->revision = res->revision;
        check(res->n_responses <= ETCD_TXN_OPS_MAX);
        g->n_resp = res->n_responses;
        for (size_t i = 0; i < res->n_responses; i++) {
                const EtcdOpResult *o = &res->responses[i];

                g->types[i] = o->type;
                if (o->type != ETCD_OP_RANGE)
                        continue;
                g->resp_kvs[i] = o->range.n_kvs;
                if (o->range.n_kvs > 0)
                        g->resp_value[i] = dup_bytes(o->range.kvs[0].value, o->range.kvs[0].value_len);
        }
}

static void on_compact(Etcd *e, int r, const EtcdCompactResult *res, void *userdata) {
        Got *g = userdata;

        got_error(g, r, res->error);
        g->revision = res->revision;
}

static void on_status(Etcd *e, int r, const EtcdStatus *res, void *userdata) {
        Got *g = userdata;

        got_error(g, r, res->error);
        g->revision = res->revision;
        g->member_id = res->member_id;
        g->leader = res->leader;
}

/* Runs the loop until done(arg), or fails after timeout. */
static void run_until(bool (*done)(const void *arg), const void *arg, uint64_t timeout, const char *what) {
        uint64_t deadline = now_usec() + timeout;

        while (!done(arg)) {
                if (now_usec() > deadline) {
                        fprintf(stderr, "timed out waiting for %s\n", what);
                        exit(EXIT_FAILURE);
                }
                check(sd_event_run(event, 100000) >= 0);
        }
}

static bool got_done(const void *arg) {
        return ((const Got *) arg)->done;
}

static void wait_got(Got *g) {
        run_until(got_done, g, 120 * SEC, "a call's completion");
}

static void range(Got *g, const char *key, bool prefix, int64_t limit, int64_t revision, bool keys_only,
                  bool count_only) {
        EtcdRange req = {
                .key = key, .key_len = strlen(key), .prefix = prefix, .limit = limit,
                .revision = revision, .keys_only = keys_only, .count_only = count_only,
        };

        got_reset(g);
        check_eq(etcd_range(etcd, &req, 0, on_range, g), 0);
        wait_got(g);
}

static void send_txn(Got *g, EtcdTxn *t, uint64_t timeout) {
        got_reset(g);
        check_eq(etcd_txn(etcd, t, timeout, on_txn, g), 0);
        wait_got(g);
}

/* One key put (a txn with one put), its revision. */
static int64_t put(const char *key, const char *value) {
        EtcdTxn *t;
        Got g = {0};

        check_eq(etcd_txn_new(&t), 0);
        check_eq(etcd_txn_put(t, true, key, strlen(key), value, strlen(value)), 0);
        send_txn(&g, t, 0);
        if (g.r < 0)
                fprintf(stderr, "put %s: %s\n", key, g.error);
        check_eq(g.r, 0);
        check(g.succeeded);
        etcd_txn_free(t);
        int64_t rev = g.revision;
        got_reset(&g);
        return rev;
}

static int64_t now_revision(void) {
        Got g = {0};
        int64_t rev;

        range(&g, "\x01", false, 0, 0, false, true);
        check_eq(g.r, 0);
        rev = g.revision;
        got_reset(&g);
        return rev;
}

/* ---- txn: a create as one transaction ----------------------------------- */

/* The create of issue 19: role, name and api_id keys absent, the
 * organization present; on success all three put, on failure the three
 * read back, to say which clashed. */
static EtcdTxn *create_txn(const char *org, const char *id, const char *name, const char *api_id,
                           const char *record) {
        char k_role[128], k_name[128], k_api[128];
        EtcdTxn *t;

        snprintf(k_role, sizeof k_role, "/t/roles/%s", id);
        snprintf(k_name, sizeof k_name, "/t/role-names/%s/%s", org, name);
        snprintf(k_api, sizeof k_api, "/t/role-api/%s/%s", org, api_id);
        char k_org[128];
        snprintf(k_org, sizeof k_org, "/t/orgs/%s", org);

        check_eq(etcd_txn_new(&t), 0);
        check_eq(etcd_txn_compare(t, k_role, strlen(k_role), ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0, NULL, 0), 0);
        check_eq(etcd_txn_compare(t, k_name, strlen(k_name), ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0, NULL, 0), 0);
        check_eq(etcd_txn_compare(t, k_api, strlen(k_api), ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0, NULL, 0), 0);
        check_eq(etcd_txn_compare(t, k_org, strlen(k_org), ETCD_CMP_CREATE, ETCD_CMP_GREATER, 0, NULL, 0), 0);
        check_eq(etcd_txn_put(t, true, k_role, strlen(k_role), record, strlen(record)), 0);
        check_eq(etcd_txn_put(t, true, k_name, strlen(k_name), id, strlen(id)), 0);
        check_eq(etcd_txn_put(t, true, k_api, strlen(k_api), id, strlen(id)), 0);
        EtcdRange reads[] = {
                { .key = k_role, .key_len = strlen(k_role) },
                { .key = k_name, .key_len = strlen(k_name) },
                { .key = k_api, .key_len = strlen(k_api) },
                { .key = k_org, .key_len = strlen(k_org), .keys_only = true },
        };
        for (size_t i = 0; i < 4; i++)
                check_eq(etcd_txn_range(t, false, &reads[i]), 0);
        return t;
}

static void mode_txn(void) {
        Got g = {0};
        EtcdTxn *t;
        unsigned nc, ns, nf;

        put("/t/orgs/1", "{\"name\":\"Org\"}");

        /* Created once. */
        t = create_txn("1", "r1", "admins", "ADM", "{\"id\":\"r1\"}");
        etcd_txn_size(t, &nc, &ns, &nf);
        check_eq(nc, 4);
        check_eq(ns, 3);
        check_eq(nf, 4);
        send_txn(&g, t, 0);
        check_eq(g.r, 0);
        check(g.succeeded);
        check(g.revision > 0);
        check_eq(g.n_resp, 3);
        for (size_t i = 0; i < 3; i++)
                check_eq(g.types[i], ETCD_OP_PUT);
        int64_t created = g.revision;

        /* The same transaction again (a retry after an unknown outcome):
         * not succeeded, and the failure branch shows our own record. */
        send_txn(&g, t, 0);
        check_eq(g.r, 0);
        check(!g.succeeded);
        check_eq(g.revision, created);
        check_eq(g.n_resp, 4);
        check_eq(g.types[0], ETCD_OP_RANGE);
        check_eq(g.resp_kvs[0], 1);
        check_streq(g.resp_value[0], "{\"id\":\"r1\"}");
        etcd_txn_free(t);

        /* Another role with the same name: the name clashed, and only it. */
        t = create_txn("1", "r2", "admins", "OTHER", "{\"id\":\"r2\"}");
        send_txn(&g, t, 0);
        check_eq(g.r, 0);
        check(!g.succeeded);
        check_eq(g.n_resp, 4);
        check_eq(g.resp_kvs[0], 0);     /* role r2: absent */
        check_eq(g.resp_kvs[1], 1);     /* the name: taken ... */
        check_streq(g.resp_value[1], "r1");     /* ... by r1 */
        check_eq(g.resp_kvs[2], 0);     /* api_id OTHER: free */
        check_eq(g.resp_kvs[3], 1);     /* the organization exists */
        etcd_txn_free(t);

        /* The same api_id: that clashed. */
        t = create_txn("1", "r3", "others", "ADM", "{\"id\":\"r3\"}");
        send_txn(&g, t, 0);
        check(!g.succeeded);
        check_eq(g.resp_kvs[1], 0);
        check_eq(g.resp_kvs[2], 1);
        check_streq(g.resp_value[2], "r1");
        etcd_txn_free(t);

        /* No such organization: refused although every key is free. */
        t = create_txn("2", "r4", "admins", "ADM", "{\"id\":\"r4\"}");
        send_txn(&g, t, 0);
        check(!g.succeeded);
        check_eq(g.resp_kvs[0] + g.resp_kvs[1] + g.resp_kvs[2] + g.resp_kvs[3], 0);
        etcd_txn_free(t);

        /* Nothing of the refused ones was written. */
        range(&g, "/t/roles/", true, 0, 0, true, false);
        check_eq(g.r, 0);
        check_eq(g.n, 1);
        check_streq(g.keys[0], "/t/roles/r1");
        check_streq(g.values[0], "");   /* keys_only */

        /* etcd's limits, refused before sending. */
        check_eq(etcd_txn_new(&t), 0);
        for (unsigned i = 0; i < ETCD_TXN_OPS_MAX; i++)
                check_eq(etcd_txn_put(t, true, "/t/many", 7, "x", 1), 0);
        check_eq(etcd_txn_put(t, true, "/t/many", 7, "x", 1), -E2BIG);
        check_eq(etcd_txn_delete(t, true, "/t/many", 7, false), -E2BIG);
        for (unsigned i = 0; i < ETCD_TXN_OPS_MAX; i++)
                check_eq(etcd_txn_compare(t, "/t/m", 4, ETCD_CMP_VERSION, ETCD_CMP_EQUAL, 0, NULL, 0), 0);
        check_eq(etcd_txn_compare(t, "/t/m", 4, ETCD_CMP_VERSION, ETCD_CMP_EQUAL, 0, NULL, 0), -E2BIG);
        etcd_txn_free(t);

        size_t big = 1100u * 1024u;     /* base64: 1.47 MiB, under the limit */
        char *v = malloc(big + 300u * 1024u);
        check(v);
        memset(v, 'v', big + 300u * 1024u);
        check_eq(etcd_txn_new(&t), 0);
        check_eq(etcd_txn_put(t, true, "/t/big", 6, v, big), 0);
        send_txn(&g, t, 0);
        if (g.r < 0)
                fprintf(stderr, "big txn: %s\n", g.error);
        check_eq(g.r, 0);
        check(g.succeeded);
        etcd_txn_free(t);
        check_eq(etcd_txn_new(&t), 0);
        check_eq(etcd_txn_put(t, true, "/t/big", 6, v, big + 300u * 1024u), 0);
        check_eq(etcd_txn(etcd, t, 0, on_txn, &g), -EMSGSIZE);
        etcd_txn_free(t);
        free(v);
        range(&g, "/t/big", false, 0, 0, false, false);
        check_eq(g.n, 1);
        check_eq(strlen(g.values[0]), big);

        /* Deletes, and a value compare. */
        check_eq(etcd_txn_new(&t), 0);
        check_eq(etcd_txn_compare(t, "/t/big", 6, ETCD_CMP_VALUE, ETCD_CMP_NOT_EQUAL, 0, "v", 1), 0);
        check_eq(etcd_txn_delete(t, true, "/t/big", 6, false), 0);
        check_eq(etcd_txn_delete(t, true, "/t/role-", 8, true), 0);
        send_txn(&g, t, 0);
        check(g.succeeded);
        check_eq(g.types[0], ETCD_OP_DELETE);
        etcd_txn_free(t);

        /* A revision in the future. */
        range(&g, "/t/roles/r1", false, 0, now_revision() + 1000, false, false);
        check_eq(g.r, -ERANGE);
        check(strstr(g.error, "future revision"));

        /* Status of each member: one leader, known to all. */
        uint64_t leader = 0;
        for (size_t i = 0; i < etcd_n_endpoints(etcd); i++) {
                got_reset(&g);
                check_eq(etcd_status(etcd, (int) i, 0, on_status, &g), 0);
                wait_got(&g);
                check_eq(g.r, 0);
                check(g.member_id != 0 && g.leader != 0);
                if (leader)
                        check_eq(g.leader, leader);
                leader = g.leader;
        }
        got_reset(&g);
        printf("ok txn: created at revision %" PRId64 ", duplicates told apart by the failure branch\n", created);
}

/* Endpoints that cannot be reached: -ECONNREFUSED before the deadline. */
static void mode_unreachable(void) {
        Got g = {0};
        uint64_t start = now_usec(), took;

        check_eq(etcd_range(etcd, &(EtcdRange) { .key = "/x", .key_len = 2 }, SEC, on_range, &g), 0);
        wait_got(&g);
        took = now_usec() - start;
        check_eq(g.r, -ECONNREFUSED);
        check(took <= SEC + SEC / 2);
        check(etcd_failovers(etcd) >= 1);
        /* Endpoint lists refused at once. */
        static const char *const bad[] = { "", ",", "127.0.0.1:2379", "ftp://127.0.0.1:2379",
                "http://a,http://b,http://c,http://d,http://e,http://f,http://g,http://h,"
                "http://i,http://j,http://k,http://l,http://m,http://n,http://o,http://p,http://q" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                Etcd *x = NULL;
                check_eq(etcd_new(event, &(EtcdConfig) { .endpoints = bad[i] }, &x), -EINVAL);
                check(!x);
        }
        printf("ok unreachable: %s after %" PRIu64 " ms (deadline 1000 ms)\n", g.error, took / 1000);
}

/* ---- range: paging at one snapshot revision ----------------------------- */

static void mode_range(void) {
        char key[64], value[64], next[80] = "/r/";
        size_t next_len = 3, seen = 0, pages = 0;
        Got g = {0};
        EtcdTxn *t;
        int64_t snap;

        for (int i = 0; i < 25; i++) {
                snprintf(key, sizeof key, "/r/%03d", i);
                snprintf(value, sizeof value, "v%d", i);
                put(key, value);
        }
        snap = now_revision();
        /* After the snapshot: changed, added, deleted. */
        for (int i = 0; i < 10; i++) {
                snprintf(key, sizeof key, "/r/%03d", i);
                put(key, "changed");
        }
        for (int i = 25; i < 30; i++) {
                snprintf(key, sizeof key, "/r/%03d", i);
                put(key, "new");
        }
        check_eq(etcd_txn_new(&t), 0);
        for (int i = 20; i < 23; i++) {
                snprintf(key, sizeof key, "/r/%03d", i);
                check_eq(etcd_txn_delete(t, true, key, strlen(key), false), 0);
        }
        send_txn(&g, t, 0);
        check(g.succeeded);
        check_eq(g.n_resp, 3);
        check_eq(g.types[2], ETCD_OP_DELETE);
        etcd_txn_free(t);

        /* Pages of 7 at the snapshot, each from the key after the last one
         * (its bytes and a NUL) to the end of the prefix ("/r0"). */
        for (;;) {
                EtcdRange req = {
                        .key = next, .key_len = next_len, .range_end = "/r0", .range_end_len = 3,
                        .limit = 7, .revision = snap,
                };
                got_reset(&g);
                check_eq(etcd_range(etcd, &req, 0, on_range, &g), 0);
                wait_got(&g);
                check_eq(g.r, 0);
                pages++;
                check(g.revision > snap);       /* the header is the store's now */
                for (size_t i = 0; i < g.n; i++) {
                        snprintf(key, sizeof key, "/r/%03zu", seen);
                        snprintf(value, sizeof value, "v%zu", seen);
                        check_streq(g.keys[i], key);
                        check_streq(g.values[i], value);
                        check(g.mods[i] <= snap);
                        seen++;
                }
                if (pages == 1)
                        check_eq(g.count, 25);  /* all of the range, not only the page */
                if (!g.more)
                        break;
                check_eq(g.n, 7);
                next_len = strlen(g.keys[g.n - 1]);
                memcpy(next, g.keys[g.n - 1], next_len);
                next[next_len++] = 0;
        }
        check_eq(seen, 25);
        check_eq(pages, 4);

        range(&g, "/r/", true, 0, snap, false, true);
        check_eq(g.count, 25);
        check_eq(g.n, 0);
        range(&g, "/r/", true, 0, 0, false, true);
        check_eq(g.count, 27);          /* 25 + 5 - 3 now */
        range(&g, "/r/", true, 3, 0, true, false);
        check_eq(g.n, 3);
        check(g.more);
        check_streq(g.values[0], "");
        check(g.creates[0] > 0);
        got_reset(&g);
        printf("ok range: 25 keys in %zu pages of 7 at revision %" PRId64 "\n", pages, snap);
}

/* ---- watch -------------------------------------------------------------- */

typedef struct Watched {
        size_t n;
        char *keys[KEYS_MAX];
        int64_t revs[KEYS_MAX];
        bool deleted[KEYS_MAX];
        size_t batches;
        int64_t next_after_last;        /* etcd_watch_next_revision() right after the last batch */
        int64_t compacted;
        int state;
        bool state_known;
        unsigned state_changes;
        int worst;                      /* the last failure reported */
        bool failed_then_open;
        int64_t progress;
} Watched;

static void on_events(EtcdWatch *w, const EtcdEvent *ev, size_t n, void *userdata) {
        Watched *x = userdata;

        x->batches++;
        for (size_t i = 0; i < n; i++) {
                check(x->n < KEYS_MAX);
                if (x->n > 0)
                        check(ev[i].kv.mod_revision >= x->revs[x->n - 1]);
                x->keys[x->n] = dup_bytes(ev[i].kv.key, ev[i].kv.key_len);
                x->revs[x->n] = ev[i].kv.mod_revision;
                x->deleted[x->n] = ev[i].deleted;
                x->n++;
        }
        x->next_after_last = etcd_watch_next_revision(w);
}

static void on_compacted(EtcdWatch *w, int64_t compact_revision, void *userdata) {
        Watched *x = userdata;

        x->compacted = compact_revision;
}

static void on_state(EtcdWatch *w, int r, const char *what, void *userdata) {
        Watched *x = userdata;

        if (r < 0)
                x->worst = r;
        else if (x->worst < 0)
                x->failed_then_open = true;
        x->state = r;
        x->state_known = true;
        x->state_changes++;
        fprintf(stderr, "watch state %d: %s\n", r, what);
}

static void on_progress(EtcdWatch *w, int64_t revision, void *userdata) {
        Watched *x = userdata;

        x->progress = revision;
}

static const EtcdWatchOps watched_ops = {
        .events = on_events,
        .progress = on_progress,
        .compacted = on_compacted,
        .state = on_state,
};

static void watched_free(Watched *x) {
        for (size_t i = 0; i < x->n; i++)
                free(x->keys[i]);
        memset(x, 0, sizeof *x);
}

static EtcdWatch *watch(const char *prefix, int64_t from, uint64_t stall, Watched *x) {
        EtcdWatchReq req = {
                .key = prefix, .key_len = strlen(prefix), .prefix = true,
                .start_revision = from, .progress_notify = true, .stall_usec = stall,
        };
        EtcdWatch *w = NULL;

        check_eq(etcd_watch(etcd, &req, &watched_ops, x, &w), 0);
        return w;
}

typedef struct Puts {
        unsigned sent, done, total, inflight;
        int64_t revs[KEYS_MAX];
        char value[256];
} Puts;

static void put_next(Puts *p);

static void on_put(Etcd *e, int r, const EtcdTxnResult *res, void *userdata) {
        Puts *p = userdata;

        if (r < 0)
                fprintf(stderr, "put: %s\n", res->error);
        check_eq(r, 0);
        check(res->succeeded);
        /* which one: the revision is unique per txn; the key is in order of sending only by chance */
        p->revs[p->done++] = res->revision;
        p->inflight--;
        put_next(p);
}

/* Keeps 16 puts in flight until total were sent. */
static void put_next(Puts *p) {
        while (p->sent < p->total && p->inflight < 16) {
                char key[32];
                EtcdTxn *t;

                snprintf(key, sizeof key, "/w/%05u", p->sent);
                check_eq(etcd_txn_new(&t), 0);
                check_eq(etcd_txn_put(t, true, key, strlen(key), p->value, strlen(p->value)), 0);
                check_eq(etcd_txn(etcd, t, 30 * SEC, on_put, p), 0);
                etcd_txn_free(t);
                p->sent++;
                p->inflight++;
        }
}

static int cmp_i64(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return x < y ? -1 : x > y;
}

static bool puts_done(const void *arg) {
        const Puts *p = arg;

        return p->done == p->total;
}

typedef struct WatchedUntil {
        const Watched *x;
        size_t n;
} WatchedUntil;

static bool watched_enough(const void *arg) {
        const WatchedUntil *u = arg;

        return u->x->n >= u->n;
}

static void wait_events(const Watched *x, size_t n, uint64_t timeout) {
        WatchedUntil u = { x, n };

        run_until(watched_enough, &u, timeout, "watch events");
}

/* A watch from revision R receives exactly the events after R, in order,
 * each with its own revision, across messages cut anywhere by the reads
 * (2,000 puts: etcd sends at most 1,000 revisions a message). */
static void mode_watch(void) {
        static Puts p = { .total = 2000 };
        static Watched x;
        static bool seen[2000];
        int64_t from = now_revision() + 1, deleted, outside;
        EtcdWatchStats st;
        EtcdWatch *w;
        EtcdTxn *t;
        Got g = {0};

        memset(p.value, 'x', 200);
        put_next(&p);
        run_until(puts_done, &p, 300 * SEC, "2,000 puts");
        qsort(p.revs, p.total, sizeof p.revs[0], cmp_i64);
        check_eq(etcd_txn_new(&t), 0);
        check_eq(etcd_txn_delete(t, true, "/w/00000", 8, false), 0);
        send_txn(&g, t, 0);
        check(g.succeeded);
        deleted = g.revision;
        etcd_txn_free(t);
        /* Past the prefix: the catch-up's header revision is this one. */
        outside = put("/x/outside", "1");
        check(outside > deleted);

        w = watch("/w/", from, 10 * SEC, &x);
        wait_events(&x, p.total + 1, 120 * SEC);
        check_eq(x.n, p.total + 1);
        for (size_t i = 0; i < p.total; i++) {
                unsigned k;

                check_eq(x.revs[i], p.revs[i]);         /* each its own revision, in order */
                check(!x.deleted[i]);
                check(sscanf(x.keys[i], "/w/%05u", &k) == 1 && k < p.total && !seen[k]);
                seen[k] = true;
        }
        check_streq(x.keys[p.total], "/w/00000");
        check(x.deleted[p.total]);
        check_eq(x.revs[p.total], deleted);
        /* Applied up to the last event, not to the message's header. */
        check_eq(x.next_after_last, deleted + 1);
        etcd_watch_stats(w, &st);
        check(x.batches >= 2);
        check(st.messages >= 3);        /* created, and at least two of events */
        check(st.carried >= 1);         /* a read ended inside a message */
        check_eq(st.events, p.total + 1);
        check_eq(st.restarts, 0);

        /* Live, and then a progress notification up to the store's revision. */
        int64_t live = put("/w/live", "1");
        wait_events(&x, p.total + 2, 30 * SEC);
        check_eq(x.revs[p.total + 1], live);
        check_streq(x.keys[p.total + 1], "/w/live");
        uint64_t deadline = now_usec() + 30 * SEC;
        while (x.progress < live) {
                check(now_usec() < deadline);
                check(sd_event_run(event, 100000) >= 0);
        }
        check(etcd_watch_next_revision(w) > live);
        etcd_watch_stats(w, &st);
        printf("ok watch: %zu events from revision %" PRId64 " in %zu batches, %" PRIu64
               " messages, %" PRIu64 " reads ended mid-message\n",
               x.n, from, x.batches, st.messages, st.carried);
        etcd_watch_free(w);
        watched_free(&x);
}

static bool watch_compacted(const void *arg) {
        return ((const Watched *) arg)->compacted != 0;
}

/* Compaction: reads and watches before it fail, and say so. */
static void mode_compact(void) {
        Watched x = {0};
        Got g = {0};
        int64_t r1, r2;
        EtcdWatch *w;

        r1 = put("/c/a", "1");
        put("/c/b", "2");
        r2 = put("/c/c", "3");
        check_eq(etcd_compact(etcd, r2, true, 0, on_compact, &g), 0);
        wait_got(&g);
        check_eq(g.r, 0);

        range(&g, "/c/a", false, 0, r1, false, false);
        check_eq(g.r, -ESTALE);
        check(strstr(g.error, "compacted"));

        w = watch("/c/", r1, 10 * SEC, &x);
        run_until(watch_compacted, &x, 30 * SEC, "the watch's cancel");
        check_eq(x.compacted, r2);
        check_eq(x.n, 0);
        check_eq(etcd_watch_next_revision(w), r1);
        etcd_watch_free(w);

        got_reset(&g);
        check_eq(etcd_compact(etcd, r1, false, 0, on_compact, &g), 0);
        wait_got(&g);
        check_eq(g.r, -ESTALE);

        /* From the compaction's revision on, all is there. */
        memset(&x, 0, sizeof x);
        w = watch("/c/", r2, 10 * SEC, &x);
        wait_events(&x, 1, 30 * SEC);
        check_streq(x.keys[0], "/c/c");
        check_eq(x.revs[0], r2);
        etcd_watch_free(w);
        watched_free(&x);
        got_reset(&g);
        printf("ok compact: canceled with compact_revision %" PRId64 "\n", r2);
}

/* ---- faults, with the Python test acting on the members ------------------ */

static void ask(const char *what, const char *answer) {
        char line[64];

        printf("%s\n", what);
        fflush(stdout);
        check(fgets(line, sizeof line, stdin));
        line[strcspn(line, "\n")] = 0;
        check_streq(line, answer);
}

/* A create-if-absent of key, sent again after an unknown outcome: done
 * when it succeeded or the key holds our value. Returns the attempts. */
static unsigned create_key(const char *key, const char *value, uint64_t timeout, int *ret_last) {
        unsigned attempts = 0;
        Got g = {0};
        EtcdTxn *t;

        check_eq(etcd_txn_new(&t), 0);
        check_eq(etcd_txn_compare(t, key, strlen(key), ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0, NULL, 0), 0);
        check_eq(etcd_txn_put(t, true, key, strlen(key), value, strlen(value)), 0);
        check_eq(etcd_txn_range(t, false, &(EtcdRange) { .key = key, .key_len = strlen(key) }), 0);
        for (;;) {
                attempts++;
                send_txn(&g, t, timeout);
                if (g.r == 0) {
                        if (!g.succeeded)
                                check_streq(g.resp_value[0], value);
                        break;
                }
                fprintf(stderr, "create %s: %d %s\n", key, g.r, g.error);
                check(g.r == -ETIMEDOUT || g.r == -ECONNABORTED);
                check(attempts < 20);
        }
        etcd_txn_free(t);
        if (ret_last)
                *ret_last = g.r;
        got_reset(&g);
        return attempts;
}

static bool watch_open(const void *arg) {
        const Watched *x = arg;

        return x->state_known && x->state == 0;
}

static bool watch_failed(const void *arg) {
        const Watched *x = arg;

        return x->state_known && x->state < 0;
}

/* The leader (the first endpoint, in use) is killed while keys are
 * created one after another: the calls go on on another endpoint, and the
 * watch with them, losing and repeating nothing. */
static void mode_failover(void) {
        const unsigned total = 300;
        char *first = strdup(etcd_endpoint(etcd)), key[32];
        unsigned retried = 0;
        Watched x = {0};
        EtcdWatchStats st;
        EtcdWatch *w;

        w = watch("/f/", now_revision() + 1, 5 * SEC, &x);
        run_until(watch_open, &x, 30 * SEC, "the watch to open");
        for (unsigned i = 0; i < total; i++) {
                if (i == 50)
                        ask("kill", "killed");
                snprintf(key, sizeof key, "/f/%04u", i);
                retried += create_key(key, "v", 5 * SEC, NULL) - 1;
        }
        wait_events(&x, total, 60 * SEC);
        check_eq(x.n, total);
        for (unsigned i = 0; i < total; i++) {
                snprintf(key, sizeof key, "/f/%04u", i);
                check_streq(x.keys[i], key);
                if (i > 0)
                        check(x.revs[i] > x.revs[i - 1]);
        }
        check(etcd_failovers(etcd) >= 1);
        check(strcmp(etcd_endpoint(etcd), first) != 0);
        check(strcmp(etcd_watch_endpoint(w), first) != 0);
        check(x.failed_then_open);
        etcd_watch_stats(w, &st);
        check(st.restarts >= 1);
        printf("ok failover: %u keys, %u sent again; now on %s after %u failovers; the watch restarted %" PRIu64
               " times and saw each key once\n",
               total, retried, etcd_endpoint(etcd), etcd_failovers(etcd), st.restarts);
        etcd_watch_free(w);
        watched_free(&x);
        free(first);
}

static bool has_key(const Watched *x, const char *key) {
        for (size_t i = 0; i < x->n; i++)
                if (strcmp(x->keys[i], key) == 0)
                        return true;
        return false;
}

static bool watch_has_c(const void *arg) {
        const Watched *x = arg;

        return x->state_known && x->state == 0 && has_key(x, "/q/c");
}

/* Two of three members stopped: a txn fails with a timeout within its
 * deadline, the watch says no leader or stalled; continued: all resumes. */
static void mode_quorum(void) {
        const uint64_t deadline = 3 * SEC;
        Watched x = {0};
        Got g = {0};
        EtcdWatch *w;
        EtcdTxn *t;
        uint64_t start, took;

        w = watch("/q/", now_revision() + 1, 3 * SEC, &x);
        run_until(watch_open, &x, 30 * SEC, "the watch to open");
        put("/q/a", "1");
        wait_events(&x, 1, 30 * SEC);

        ask("stop", "stopped");
        check_eq(etcd_txn_new(&t), 0);
        check_eq(etcd_txn_put(t, true, "/q/b", 4, "2", 1), 0);
        start = now_usec();
        send_txn(&g, t, deadline);
        took = now_usec() - start;
        etcd_txn_free(t);
        fprintf(stderr, "txn without quorum: %d %s after %" PRIu64 " ms\n", g.r, g.error, took / 1000);
        check_eq(g.r, -ETIMEDOUT);
        check(took <= deadline + SEC / 2);
        run_until(watch_failed, &x, 60 * SEC, "the watch to report the lost quorum");
        int lost = x.state;
        check(lost == -ENOTCONN || lost == -ETIMEDOUT);

        ask("cont", "continued");
        unsigned attempts = create_key("/q/c", "3", 10 * SEC, NULL);
        run_until(watch_has_c, &x, 60 * SEC, "the watch to resume");
        for (size_t i = 1; i < x.n; i++)
                check(x.revs[i] > x.revs[i - 1]);
        printf("ok quorum: the txn failed with -ETIMEDOUT after %" PRIu64 " ms (deadline %" PRIu64
               " ms); the watch said %s; resumed, the next create took %u attempt(s)\n",
               took / 1000, deadline / 1000, lost == -ENOTCONN ? "no leader" : "stalled", attempts);
        etcd_watch_free(w);
        watched_free(&x);
        got_reset(&g);
}

/* A watch that hears nothing for longer than its stall time, on a member
 * that sends no progress notifications (etcd's default: every 10 min), is
 * idle, not lost: the member answers its probe, the stream stays. */
static void mode_idle(void) {
        Watched x = {0};
        EtcdWatchStats st;
        EtcdWatch *w;
        uint64_t start = now_usec();

        w = watch("/i/", now_revision() + 1, SEC, &x);
        run_until(watch_open, &x, 30 * SEC, "the watch to open");
        /* Five stall periods of silence: the loop just runs. */
        while (now_usec() - start < 5 * SEC)
                check(sd_event_run(event, 100000) >= 0);
        etcd_watch_stats(w, &st);
        check_eq(x.state, 0);
        check_eq(x.state_changes, 1);
        check_eq(st.restarts, 0);
        check_eq(st.messages, 1);       /* created, and nothing since */
        int64_t rev = put("/i/a", "1");
        wait_events(&x, 1, 30 * SEC);
        check_eq(x.revs[0], rev);
        check_eq(etcd_failovers(etcd), 0);
        printf("ok idle: 5 s of silence with a 1 s stall time, the stream kept\n");
        etcd_watch_free(w);
        watched_free(&x);
}

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                void (*run)(void);
        } modes[] = {
                { "txn", mode_txn },
                { "range", mode_range },
                { "watch", mode_watch },
                { "compact", mode_compact },
                { "failover", mode_failover },
                { "quorum", mode_quorum },
                { "unreachable", mode_unreachable },
                { "idle", mode_idle },
        };
        EtcdConfig cfg = {0};

        if (argc != 3) {
                fprintf(stderr, "usage: %s ENDPOINTS MODE\n", argv[0]);
                return EXIT_FAILURE;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        cfg.endpoints = argv[1];
        check(sd_event_new(&event) >= 0);
        check_eq(etcd_new(event, &cfg, &etcd), 0);
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
                if (strcmp(argv[2], modes[i].name) == 0) {
                        modes[i].run();
                        check_eq(etcd_pending(etcd), 0);
                        etcd = etcd_free(etcd);
                        event = sd_event_unref(event);
                        fprintf(stderr, "%u checks\n", checks);
                        return EXIT_SUCCESS;
                }
        fprintf(stderr, "unknown mode %s\n", argv[2]);
        return EXIT_FAILURE;
}
