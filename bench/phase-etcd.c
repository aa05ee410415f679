/* phase-etcd.c: fleet mode's reference (issue 19), with --etcd only: 3
 * etcd members on loopback (Debian's /usr/bin/etcd, or $ETCD), their data
 * under the bench's temporary directory. The same create transaction as
 * fleet mode's (4 compares, 3 puts of a ~200-byte record) is sent:
 *  - by etcd's own client side at its thinnest, the reference: blocking
 *    libcurl calls through the JSON gateway, one thread per client, at 1
 *    and 16 clients;
 *  - by daemon/etcd.c on one sd-event loop, 1 and 16 txns in flight;
 * and the module's rate is reported as a ratio to the reference's. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "daemon/etcd.h"
#include "phase.h"
#include "proto/macro.h"

#define MEMBERS 3u
#define RECORD "{\"id\":\"%s\",\"name\":\"bench role %s\",\"permissions\":[\"a\",\"b\",\"c\"],\"pad\":\"%0120u\"}"

static const char *etcd_binary(void) {
        const char *p = getenv("ETCD");

        return p && *p ? p : "/usr/bin/etcd";
}

static unsigned free_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        unsigned port = 0;

        if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof sa) == 0 &&
            getsockname(fd, (struct sockaddr *) &sa, &len) == 0)
                port = ntohs(sa.sin_port);
        if (fd >= 0)
                close(fd);
        return port;
}

typedef struct Cluster {
        pid_t pids[MEMBERS];
        char endpoints[256];
} Cluster;

static bool cluster_start(const Bench *b, Cluster *c) {
        unsigned client[MEMBERS], peer[MEMBERS];
        char initial[512] = "";

        for (unsigned i = 0; i < MEMBERS; i++) {
                client[i] = free_port();
                peer[i] = free_port();
                if (!client[i] || !peer[i] || client[i] == peer[i])
                        return false;
                snprintf(initial + strlen(initial), sizeof initial - strlen(initial), "%sm%u=http://127.0.0.1:%u",
                         i ? "," : "", i, peer[i]);
                snprintf(c->endpoints + strlen(c->endpoints), sizeof c->endpoints - strlen(c->endpoints),
                         "%shttp://127.0.0.1:%u", i ? "," : "", client[i]);
        }
        for (unsigned i = 0; i < MEMBERS; i++) {
                char name[8], data[512], log[512], curl_[64], purl[64];

                snprintf(name, sizeof name, "m%u", i);
                snprintf(data, sizeof data, "%s/etcd-%u", b->daemon.dir, i);
                snprintf(log, sizeof log, "%s/etcd-%u.log", b->daemon.dir, i);
                snprintf(curl_, sizeof curl_, "http://127.0.0.1:%u", client[i]);
                snprintf(purl, sizeof purl, "http://127.0.0.1:%u", peer[i]);
                fflush(NULL);
                c->pids[i] = fork();
                if (c->pids[i] < 0)
                        die("fork: %s", strerror(errno));
                if (c->pids[i] == 0) {
                        child_stdio(log);
                        execl(etcd_binary(), "etcd", "--name", name, "--data-dir", data,
                              "--listen-client-urls", curl_, "--advertise-client-urls", curl_,
                              "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
                              "--initial-cluster", initial, "--initial-cluster-state", "new",
                              "--initial-cluster-token", "rolesd-bench", (char *) NULL);
                        _exit(127);
                }
        }
        return true;
}

static void cluster_stop(Cluster *c) {
        for (unsigned i = 0; i < MEMBERS; i++)
                child_stop(c->pids[i]);
}

/* ---- waiting for a leader, through the module --------------------------- */

typedef struct Wait {
        bool done;
        int r;
        uint64_t leader;
        EtcdTxnResult txn;
} Wait;

static void on_status(Etcd *e, int r, const EtcdStatus *res, void *userdata) {
        Wait *w = userdata;

        w->done = true;
        w->r = r;
        w->leader = r >= 0 ? res->leader : 0;
}

static void run_until_done(sd_event *ev, const bool *done) {
        while (!*done)
                if (sd_event_run(ev, UINT64_MAX) < 0)
                        die("sd_event_run failed");
}

/* Every member knows a leader, within 30 s. */
static bool cluster_ready(sd_event *ev, Etcd *e) {
        double until = now_s() + 30;

        for (size_t i = 0; i < etcd_n_endpoints(e); i++)
                for (;;) {
                        Wait w = {0};

                        if (etcd_status(e, (int) i, 1000000, on_status, &w) < 0)
                                return false;
                        run_until_done(ev, &w.done);
                        if (w.r >= 0 && w.leader)
                                break;
                        if (now_s() > until)
                                return false;
                        usleep(50000);
                }
        return true;
}

/* ---- the txn, as JSON for the reference and through the module ---------- */

static void keys(const char *who, uint64_t n, char *role, char *name, char *api, char *record) {
        char id[48];

        snprintf(id, sizeof id, "%s-%llu", who, (unsigned long long) n);
        sprintf(role, "/bench/roles/%s", id);
        sprintf(name, "/bench/role-names/1/%s", id);
        sprintf(api, "/bench/role-api/1/%s", id);
        sprintf(record, RECORD, id, id, (unsigned) n);
}

static char *b64(const char *s) {
        size_t n = strlen(s), len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
        char *out = malloc(len);

        if (!out)
                die("out of memory");
        return sodium_bin2base64(out, len, (const unsigned char *) s, n, sodium_base64_VARIANT_ORIGINAL);
}

static const char *const ORG_KEY = "/bench/orgs/1";

/* The gateway's JSON of the create txn, as a thin client writes it. */
static char *txn_json(const char *who, uint64_t n) {
        char role[128], name[128], api[128], record[512], *s = NULL;
        _cleanup_free_ char *br = NULL, *bn = NULL, *ba = NULL, *bo = NULL, *bv = NULL, *bid = NULL;

        keys(who, n, role, name, api, record);
        br = b64(role), bn = b64(name), ba = b64(api), bo = b64(ORG_KEY), bv = b64(record), bid = b64(role + 13);
        if (asprintf(&s,
                     "{\"compare\":["
                     "{\"key\":\"%s\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"},"
                     "{\"key\":\"%s\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"},"
                     "{\"key\":\"%s\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"},"
                     "{\"key\":\"%s\",\"target\":\"CREATE\",\"result\":\"GREATER\",\"create_revision\":\"0\"}],"
                     "\"success\":["
                     "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}},"
                     "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}},"
                     "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}}],"
                     "\"failure\":[{\"request_range\":{\"key\":\"%s\"}},{\"request_range\":{\"key\":\"%s\"}},"
                     "{\"request_range\":{\"key\":\"%s\"}}]}",
                     br, bn, ba, bo, br, bv, bn, bid, ba, bid, br, bn, ba) < 0)
                die("out of memory");
        return s;
}

static EtcdTxn *txn_module(const char *who, uint64_t n) {
        char role[128], name[128], api[128], record[512];
        const char *id;
        EtcdTxn *t;

        keys(who, n, role, name, api, record);
        id = role + 13;
        if (etcd_txn_new(&t) < 0)
                die("out of memory");
        (void) etcd_txn_compare(t, role, strlen(role), ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0, NULL, 0);
        (void) etcd_txn_compare(t, name, strlen(name), ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0, NULL, 0);
        (void) etcd_txn_compare(t, api, strlen(api), ETCD_CMP_CREATE, ETCD_CMP_EQUAL, 0, NULL, 0);
        (void) etcd_txn_compare(t, ORG_KEY, strlen(ORG_KEY), ETCD_CMP_CREATE, ETCD_CMP_GREATER, 0, NULL, 0);
        (void) etcd_txn_put(t, true, role, strlen(role), record, strlen(record));
        (void) etcd_txn_put(t, true, name, strlen(name), id, strlen(id));
        (void) etcd_txn_put(t, true, api, strlen(api), id, strlen(id));
        EtcdRange reads[] = {
                { .key = role, .key_len = strlen(role) },
                { .key = name, .key_len = strlen(name) },
                { .key = api, .key_len = strlen(api) },
        };
        for (size_t i = 0; i < ELEMENTSOF(reads); i++)
                (void) etcd_txn_range(t, false, &reads[i]);
        return t;
}

/* ---- the reference: blocking libcurl clients, a thread each ------------- */

typedef struct RefClient {
        pthread_t thread;
        unsigned id;
        const char *url;
        double warm_end, end;
        Hist *hist;
        uint64_t ok, errors;
} RefClient;

static size_t discard(char *p, size_t size, size_t n, void *userdata) {
        return n;
}

static void *ref_client(void *arg) {
        RefClient *rc = arg;
        struct curl_slist *h = curl_slist_append(curl_slist_append(NULL, "Content-Type: application/json"), "Expect:");
        CURL *easy = curl_easy_init();
        char who[16];

        snprintf(who, sizeof who, "ref%u", rc->id);
        curl_easy_setopt(easy, CURLOPT_URL, rc->url);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        for (uint64_t n = 0;; n++) {
                double t0 = now_s();
                _cleanup_free_ char *body = NULL;
                long http = 0;

                if (t0 >= rc->end)
                        break;
                body = txn_json(who, n);
                curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
                uint64_t s = now_ns();
                CURLcode code = curl_easy_perform(easy);
                uint64_t d = now_ns() - s;
                curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
                if (t0 < rc->warm_end)
                        continue;
                if (code == CURLE_OK && http == 200) {
                        rc->ok++;
                        hist_add(rc->hist, d);
                } else
                        rc->errors++;
        }
        curl_easy_cleanup(easy);
        curl_slist_free_all(h);
        return NULL;
}

static Measured ref_measure(const Bench *b, const char *url, unsigned clients) {
        RefClient rc[16];
        double start = now_s(), warm_end = start + b->opt.warmup, end = warm_end + b->opt.duration;
        Measured m = {0};
        Hist *all = hist_new();

        for (unsigned i = 0; i < clients; i++) {
                rc[i] = (RefClient) { .id = i, .url = url, .warm_end = warm_end, .end = end, .hist = hist_new() };
                if (pthread_create(&rc[i].thread, NULL, ref_client, &rc[i]) != 0)
                        die("pthread_create failed");
        }
        for (unsigned i = 0; i < clients; i++) {
                pthread_join(rc[i].thread, NULL);
                m.ok += rc[i].ok;
                m.errors += rc[i].errors;
                for (size_t k = 0; k < HIST_BUCKETS; k++)
                        all->b[k] += rc[i].hist->b[k];
                all->n += rc[i].hist->n;
                all->sum += rc[i].hist->sum;
                if (rc[i].hist->max > all->max)
                        all->max = rc[i].hist->max;
                free(rc[i].hist);
        }
        m.rate = (double) m.ok / b->opt.duration;
        m.p50 = hist_pct(all, 50);
        m.p99 = hist_pct(all, 99);
        free(all);
        return m;
}

/* ---- the module: txns in flight on one sd-event loop -------------------- */

typedef struct ModLoad {
        Etcd *etcd;
        unsigned depth, inflight;
        uint64_t next;
        double warm_end, end;
        Hist *hist;
        uint64_t ok, errors;
        char who[16];
} ModLoad;

typedef struct ModCall {
        ModLoad *load;
        uint64_t start_ns;
        double start_s;
} ModCall;

static void mod_send(ModLoad *l);

static void on_mod_txn(Etcd *e, int r, const EtcdTxnResult *res, void *userdata) {
        ModCall *c = userdata;
        ModLoad *l = c->load;

        if (c->start_s >= l->warm_end) {
                if (r >= 0 && res->succeeded) {
                        l->ok++;
                        hist_add(l->hist, now_ns() - c->start_ns);
                } else
                        l->errors++;
        }
        free(c);
        l->inflight--;
        mod_send(l);
}

static void mod_send(ModLoad *l) {
        while (l->inflight < l->depth && now_s() < l->end) {
                ModCall *c = malloc(sizeof *c);
                EtcdTxn *t = txn_module(l->who, l->next++);

                if (!c)
                        die("out of memory");
                *c = (ModCall) { .load = l, .start_ns = now_ns(), .start_s = now_s() };
                if (etcd_txn(l->etcd, t, 10000000, on_mod_txn, c) < 0)
                        die("etcd_txn refused the bench's txn");
                etcd_txn_free(t);
                l->inflight++;
        }
}

static Measured mod_measure(const Bench *b, sd_event *ev, Etcd *e, unsigned depth) {
        static unsigned round;
        double start = now_s();
        ModLoad l = {
                .etcd = e, .depth = depth, .warm_end = start + b->opt.warmup,
                .end = start + b->opt.warmup + b->opt.duration, .hist = hist_new(),
        };
        Measured m = {0};

        snprintf(l.who, sizeof l.who, "mod%u", round++);
        mod_send(&l);
        while (l.inflight > 0)
                if (sd_event_run(ev, 100000) < 0)
                        die("sd_event_run failed");
        m.ok = l.ok;
        m.errors = l.errors;
        m.rate = (double) l.ok / b->opt.duration;
        m.p50 = hist_pct(l.hist, 50);
        m.p99 = hist_pct(l.hist, 99);
        free(l.hist);
        return m;
}

static void on_org(Etcd *e, int r, const EtcdTxnResult *res, void *userdata) {
        Wait *w = userdata;

        w->done = true;
        w->r = r;
}

void phase_etcd(Bench *b) {
        static const unsigned clients[] = { 1, 16 };
        Cluster c = {0};
        sd_event *ev = NULL;
        Etcd *e = NULL;
        char url[300];
        Wait w = {0};
        EtcdTxn *t;

        if (!b->opt.etcd)
                return;
        row_section("fleet mode: etcd (3 members on loopback), the create txn through the JSON gateway");
        if (access(etcd_binary(), X_OK) < 0 || !cluster_start(b, &c)) {
                row("etcd members", "not started", fmt("%s cannot be run: phase skipped", etcd_binary()));
                return;
        }
        if (sd_event_new(&ev) < 0 || etcd_new(ev, &(EtcdConfig) { .endpoints = c.endpoints }, &e) < 0)
                die("cannot set up the etcd client");
        if (!cluster_ready(ev, e)) {
                row("etcd members", "no leader", fmt("logs in %s/etcd-*.log: phase skipped", b->daemon.dir));
                goto out;
        }
        if (etcd_txn_new(&t) < 0 || etcd_txn_put(t, true, ORG_KEY, strlen(ORG_KEY), "{}", 2) < 0 ||
            etcd_txn(e, t, 0, on_org, &w) < 0)
                die("cannot create the organization key");
        etcd_txn_free(t);
        run_until_done(ev, &w.done);
        if (w.r < 0)
                die("cannot create the organization key: %s", strerror(-w.r));

        /* A new cluster settles (leases, the first WAL segments) before either side is measured. */
        (void) mod_measure(b, ev, e, 16);
        snprintf(url, sizeof url, "%s/v3/kv/txn", etcd_endpoint(e));
        fig_str("etcd.endpoints", c.endpoints);
        for (size_t i = 0; i < ELEMENTSOF(clients); i++) {
                const char *key = fmt("etcd.txn.c%u", clients[i]);
                Measured ref = ref_measure(b, url, clients[i]);
                Measured mod = mod_measure(b, ev, e, clients[i]);

                fig(fmt("%s.reference.rate", key), ref.rate, "ops/s");
                fig(fmt("%s.reference.p50", key), (double) ref.p50, "ns");
                fig(fmt("%s.reference.p99", key), (double) ref.p99, "ns");
                fig(fmt("%s.reference.errors", key), (double) ref.errors, "");
                fig(fmt("%s.module.rate", key), mod.rate, "ops/s");
                fig(fmt("%s.module.p50", key), (double) mod.p50, "ns");
                fig(fmt("%s.module.p99", key), (double) mod.p99, "ns");
                fig(fmt("%s.module.errors", key), (double) mod.errors, "");
                fig(fmt("%s.module.ratio_to_reference", key), ratio(mod.rate, ref.rate), "x");
                row(fmt("etcd's own, %u client%s (reference)", clients[i], clients[i] > 1 ? "s" : ""), lat(&ref),
                    fmt("%llu errors", (unsigned long long) ref.errors));
                row(fmt("daemon/etcd.c, %u in flight", clients[i]), lat(&mod),
                    fmt("x%.2f etcd's own; %llu errors", ratio(mod.rate, ref.rate),
                        (unsigned long long) mod.errors));
                if (i == 1)
                        target("etcd.c's txn rate at 16 in flight >= 0.8x etcd's own through the gateway",
                               ratio(mod.rate, ref.rate), ">=", 0.8, true);
        }
out:
        etcd_free(e);
        sd_event_unref(ev);
        cluster_stop(&c);
}
