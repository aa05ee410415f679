/* etcd.c: rolesd's etcd client (see etcd.h). Owns the libcurl multi
 * handle and its glue to sd-event (a curl socket is an io source, curl's
 * timer one time source), the calls in flight and their retries on other
 * endpoints, the JSON gateway's encoding (jansson; base64 by libsodium;
 * 64-bit integers as strings; omitted zero fields read as zero) and the
 * watch streams: bytes as they arrive, cut into messages at newlines (a
 * read may end inside one), each message's events delivered with their
 * own revisions, streams opened again where the last one stopped.
 *
 * User callbacks never run inside a libcurl callback: curl's write
 * callbacks only store bytes, and completions and messages are handled
 * after curl_multi_socket_action() returned (process()), where handles
 * may be added and removed. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "etcd.h"
#include "limits.h"
#include "log.h"
#include "proto/buf.h"
#include "proto/clock.h"
#include "proto/macro.h"

#define ERROR_TEXT_MAX 256u

typedef struct Call Call;

typedef union CallFn {
        EtcdRangeFn range;
        EtcdTxnFn txn;
        EtcdCompactFn compact;
        EtcdStatusFn status;
} CallFn;

/* What a curl handle's CURLOPT_PRIVATE points to: a call or a watch. */
typedef struct Transfer {
        bool watch;
} Transfer;

struct Etcd {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;         /* curl's timer */
        struct curl_slist *headers;
        char **endpoints;
        size_t n_endpoints;
        size_t current;                 /* the endpoint in use */
        unsigned failures;              /* attempts failed in a row, for the backoff */
        unsigned failovers;
        uint64_t timeout_usec;
        Call *calls;                    /* in flight */
        unsigned n_calls;
        EtcdWatch *watches;
        sd_event_source **ios;          /* curl's sockets' sources, freed at the end if curl did not */
        size_t n_ios, cap_ios;
        bool processing;                /* inside process(): watches are freed after it */
        bool freeing;                   /* inside etcd_free() */
};

typedef enum CallKind {
        CALL_RANGE,
        CALL_TXN,
        CALL_COMPACT,
        CALL_STATUS,
} CallKind;

struct Call {
        Transfer t;
        Etcd *etcd;
        Call *prev, *next;
        CallKind kind;
        const char *path;
        char *body;
        size_t body_len;
        bool resend_safe;               /* a read: may run twice */
        int fixed_endpoint;             /* >= 0: only this endpoint, no failover */
        size_t endpoint;                /* of the attempt in flight */
        char *url;
        CURL *easy;
        Buf reply;
        uint64_t deadline;
        sd_event_source *retry;
        char error[ERROR_TEXT_MAX];
        CallFn cb;
        void *userdata;
};

struct EtcdTxn {
        json_t *compare, *success, *failure;
};

struct EtcdWatch {
        Transfer t;
        Etcd *etcd;
        EtcdWatch *prev, *next;
        char *key;                      /* base64 */
        char *range_end;                /* base64, or NULL */
        bool progress_notify;
        uint64_t stall_usec;
        int64_t next_revision;          /* 0: from now (until the first stream says when now is) */
        EtcdWatchOps ops;
        void *userdata;
        CURL *easy;
        char *url;
        char *body;
        size_t endpoint;
        Buf in;                         /* received, not yet cut into messages */
        uint64_t last_rx;               /* CLOCK_MONOTONIC of the last bytes */
        sd_event_source *stall, *retry;
        unsigned failures;              /* streams failed in a row */
        int state;                      /* last reported: 0 open, < 0 why not */
        bool state_known;
        bool probing;                   /* a status call asks the stream's member whether it is alive */
        char what[ERROR_TEXT_MAX];
        bool stopped;                   /* compacted: no more streams */
        bool freed;                     /* etcd_watch_free() ran while we held it */
        unsigned busy;
        EtcdWatchStats stats;
};

/* Decoded replies: kvs and bytes, freed together after the callback. */
typedef struct ArenaChunk {
        struct ArenaChunk *next;
        size_t used, cap;
        max_align_t data[];
} ArenaChunk;

typedef struct Arena {
        ArenaChunk *head;
} Arena;

static void *arena_alloc(Arena *a, size_t n) {
        n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
        if (!a->head || a->head->cap - a->head->used < n) {
                size_t cap = n > 16384 ? n : 16384;
                ArenaChunk *c = malloc(sizeof *c + cap);

                if (!c)
                        return NULL;
                *c = (ArenaChunk) { .next = a->head, .cap = cap };
                a->head = c;
        }
        void *p = (char *) a->head->data + a->head->used;
        a->head->used += n;
        return p;
}

static void arena_done(Arena *a) {
        while (a->head) {
                ArenaChunk *c = a->head;
                a->head = c->next;
                free(c);
        }
}

/* ---- JSON and base64 ---------------------------------------------------- */

static int64_t json_i64(const json_t *o, const char *field) {
        const json_t *v = json_object_get(o, field);

        if (json_is_string(v))
                return strtoll(json_string_value(v), NULL, 10);
        if (json_is_integer(v))
                return (int64_t) json_integer_value(v);
        return 0;       /* omitted: zero */
}

static uint64_t json_u64(const json_t *o, const char *field) {
        const json_t *v = json_object_get(o, field);

        if (json_is_string(v))
                return strtoull(json_string_value(v), NULL, 10);
        if (json_is_integer(v))
                return (uint64_t) json_integer_value(v);
        return 0;
}

static int set_new(json_t *o, const char *field, json_t *v) {
        return v && json_object_set_new(o, field, v) == 0 ? 0 : -ENOMEM;
}

static int set_i64(json_t *o, const char *field, int64_t n) {
        char s[24];

        snprintf(s, sizeof s, "%" PRId64, n);
        return set_new(o, field, json_string(s));
}

static char *b64_encode(const void *p, size_t n) {
        size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
        char *s = malloc(len);

        if (s)
                sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
        return s;
}

static int set_b64(json_t *o, const char *field, const void *p, size_t n) {
        _cleanup_free_ char *s = b64_encode(n ? p : "", n);

        return s ? set_new(o, field, json_string(s)) : -ENOMEM;
}

/* A base64 field into the arena; omitted: empty. */
static int get_b64(Arena *a, const json_t *o, const char *field, const uint8_t **ret, size_t *ret_len) {
        const json_t *v = json_object_get(o, field);
        size_t slen, len = 0;
        uint8_t *d;

        *ret = (const uint8_t *) "";
        *ret_len = 0;
        if (!v)
                return 0;
        if (!json_is_string(v))
                return -EBADMSG;
        slen = json_string_length(v);
        if (slen == 0)
                return 0;
        d = arena_alloc(a, slen / 4 * 3 + 3);
        if (!d)
                return -ENOMEM;
        if (sodium_base642bin(d, slen / 4 * 3 + 3, json_string_value(v), slen, NULL, &len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
                return -EBADMSG;
        *ret = d;
        *ret_len = len;
        return 0;
}

/* The first key after every key that starts with key ("\0": none). */
static size_t prefix_end(const void *key, size_t len, uint8_t *ret) {
        memcpy(ret, key, len);
        while (len > 0) {
                if (ret[len - 1] < 0xff) {
                        ret[len - 1]++;
                        return len;
                }
                len--;
        }
        ret[0] = 0;
        return 1;
}

static int set_range_end(json_t *o, const void *key, size_t len) {
        _cleanup_free_ uint8_t *end = malloc(len + 1);

        if (!end)
                return -ENOMEM;
        return set_b64(o, "range_end", end, prefix_end(key, len, end));
}

static json_t *range_json(const EtcdRange *req) {
        json_t *o = json_object();
        int r;

        if (!o)
                return NULL;
        r = set_b64(o, "key", req->key, req->key_len);
        if (r >= 0 && req->prefix)
                r = set_range_end(o, req->key, req->key_len);
        else if (r >= 0 && req->range_end)
                r = set_b64(o, "range_end", req->range_end, req->range_end_len);
        if (r >= 0 && req->limit > 0)
                r = set_i64(o, "limit", req->limit);
        if (r >= 0 && req->revision > 0)
                r = set_i64(o, "revision", req->revision);
        if (r >= 0 && req->keys_only)
                r = set_new(o, "keys_only", json_true());
        if (r >= 0 && req->count_only)
                r = set_new(o, "count_only", json_true());
        if (r < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static int decode_kv(Arena *a, const json_t *o, EtcdKv *ret) {
        int r;

        *ret = (EtcdKv) {
                .create_revision = json_i64(o, "create_revision"),
                .mod_revision = json_i64(o, "mod_revision"),
                .version = json_i64(o, "version"),
                .lease = json_i64(o, "lease"),
        };
        r = get_b64(a, o, "key", &ret->key, &ret->key_len);
        if (r < 0)
                return r;
        return get_b64(a, o, "value", &ret->value, &ret->value_len);
}

static int decode_range(Arena *a, const json_t *o, EtcdRangeResult *ret) {
        const json_t *kvs = json_object_get(o, "kvs");
        EtcdKv *l = NULL;
        size_t n = json_array_size(kvs);

        *ret = (EtcdRangeResult) {
                .revision = json_i64(json_object_get(o, "header"), "revision"),
                .count = json_i64(o, "count"),
                .more = json_is_true(json_object_get(o, "more")),
        };
        if (n > 0) {
                l = arena_alloc(a, n * sizeof *l);
                if (!l)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        int r = decode_kv(a, json_array_get(kvs, i), &l[i]);
                        if (r < 0)
                                return r;
                }
        }
        ret->kvs = l;
        ret->n_kvs = n;
        return 0;
}

static int decode_txn(Arena *a, const json_t *o, EtcdTxnResult *ret) {
        const json_t *resp = json_object_get(o, "responses");
        size_t n = json_array_size(resp);
        EtcdOpResult *l = NULL;
        int r;

        *ret = (EtcdTxnResult) {
                .succeeded = json_is_true(json_object_get(o, "succeeded")),
                .revision = json_i64(json_object_get(o, "header"), "revision"),
        };
        if (n > 0) {
                l = arena_alloc(a, n * sizeof *l);
                if (!l)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const json_t *x = json_array_get(resp, i), *v;

                l[i] = (EtcdOpResult) {0};
                if ((v = json_object_get(x, "response_range"))) {
                        l[i].type = ETCD_OP_RANGE;
                        r = decode_range(a, v, &l[i].range);
                        if (r < 0)
                                return r;
                } else if ((v = json_object_get(x, "response_delete_range"))) {
                        l[i].type = ETCD_OP_DELETE;
                        l[i].deleted = json_i64(v, "deleted");
                } else if (json_object_get(x, "response_put"))
                        l[i].type = ETCD_OP_PUT;
                else
                        return -EBADMSG;        /* we send no nested txns */
        }
        ret->responses = l;
        ret->n_responses = n;
        return 0;
}

/* etcd's error (a gRPC code and its message) as a negative errno. */
static int map_error(int64_t code, const char *message) {
        if (message && strstr(message, "no leader"))
                return -ENOTCONN;
        if (message && strstr(message, "has been compacted"))
                return -ESTALE;
        if (message && strstr(message, "future revision"))
                return -ERANGE;
        switch (code) {
        case 3:  /* InvalidArgument */
        case 9:  /* FailedPrecondition */
        case 11: /* OutOfRange */
                return -EINVAL;
        case 4:  /* DeadlineExceeded */
                return -ETIMEDOUT;
        case 5:  /* NotFound */
                return -ENOENT;
        case 7:  /* PermissionDenied */
                return -EACCES;
        case 8:  /* ResourceExhausted: too many requests, no space */
                return -ENOSPC;
        case 14: /* Unavailable: request timed out, stopped, ... */
                return -EAGAIN;
        case 16: /* Unauthenticated */
                return -EKEYREJECTED;
        default:
                return -EIO;
        }
}

/* ---- endpoints and backoff ---------------------------------------------- */

static void endpoint_failed(Etcd *e, size_t i, const char *why) {
        e->failures++;
        if (e->current != i || e->n_endpoints < 2)
                return;
        e->current = (i + 1) % e->n_endpoints;
        e->failovers++;
        /* One round of the list at LOG_INFO; the backoff's rounds after it at LOG_DEBUG. */
        log_full_errno(e->failures <= e->n_endpoints ? LOG_INFO : LOG_DEBUG, 0, "etcd: %s failed (%s); now using %s",
                       e->endpoints[i], why, e->endpoints[e->current]);
}

/* No wait for one round of the endpoints, then exponential with jitter. */
static uint64_t backoff_usec(const Etcd *e, unsigned failures) {
        unsigned step;
        uint64_t d;

        if (failures < e->n_endpoints)
                return 0;
        step = failures - (unsigned) e->n_endpoints;
        d = step >= 16 ? ETCD_BACKOFF_MAX_USEC : (uint64_t) ETCD_BACKOFF_MIN_USEC << step;
        if (d > ETCD_BACKOFF_MAX_USEC)
                d = ETCD_BACKOFF_MAX_USEC;
        return d / 2 + randombytes_uniform((uint32_t) (d / 2 + 1));
}

static int arm_time(Etcd *e, sd_event_source **s, uint64_t at, sd_event_time_handler_t fn, void *userdata) {
        int r;

        if (*s) {
                r = sd_event_source_set_time(*s, at);
                return r < 0 ? r : sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
        }
        return sd_event_add_time(e->event, s, CLOCK_MONOTONIC, at, 1, fn, userdata);
}

static CURL *new_easy(Etcd *e, const char *url, const char *body, size_t body_len, Transfer *t,
                      curl_write_callback write, void *write_data) {
        CURL *easy = curl_easy_init();

        if (!easy)
                return NULL;
        if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_HTTPHEADER, e->headers) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_WRITEDATA, write_data) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PRIVATE, t) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
                curl_easy_cleanup(easy);
                return NULL;
        }
        return easy;
}

static char *join_url(const char *endpoint, const char *path) {
        char *s = NULL;

        return asprintf(&s, "%s%s", endpoint, path) < 0 ? NULL : s;
}

/* ---- calls -------------------------------------------------------------- */

static Call *call_free(Call *c) {
        if (!c)
                return NULL;
        if (c->easy) {
                curl_multi_remove_handle(c->etcd->multi, c->easy);
                curl_easy_cleanup(c->easy);
        }
        if (c->prev)
                c->prev->next = c->next;
        else if (c->etcd->calls == c)
                c->etcd->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->etcd->n_calls--;
        sd_event_source_disable_unref(c->retry);
        buf_done(&c->reply);
        free(c->url);
        free(c->body);
        free(c);
        return NULL;
}

static void call_errorf(Call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void call_errorf(Call *c, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->error, sizeof c->error, fmt, ap);
        va_end(ap);
}

/* Calls back with r (and, when r >= 0, the reply decoded) and frees c. */
static void call_complete(Call *c, int r) {
        _cleanup_(arena_done) Arena a = {0};
        json_t *o = NULL;
        const char *error = NULL;

        if (r >= 0) {
                json_error_t jerr;

                o = json_loadb(buf_head(&c->reply), buf_pending(&c->reply), 0, &jerr);
                if (!json_is_object(o)) {
                        call_errorf(c, "undecodable reply from %s: %s", c->url, jerr.text);
                        r = -EBADMSG;
                }
        }
        if (r < 0)
                error = c->error[0] ? c->error : "failed";

        switch (c->kind) {
        case CALL_RANGE: {
                EtcdRangeResult res = { .error = error };
                if (r >= 0 && (r = decode_range(&a, o, &res)) < 0)
                        res = (EtcdRangeResult) { .error = "undecodable range reply" };
                c->cb.range(c->etcd, r, &res, c->userdata);
                break;
        }
        case CALL_TXN: {
                EtcdTxnResult res = { .error = error };
                if (r >= 0 && (r = decode_txn(&a, o, &res)) < 0)
                        res = (EtcdTxnResult) { .error = "undecodable txn reply" };
                c->cb.txn(c->etcd, r, &res, c->userdata);
                break;
        }
        case CALL_COMPACT: {
                EtcdCompactResult res = { .error = error };
                if (r >= 0)
                        res.revision = json_i64(json_object_get(o, "header"), "revision");
                c->cb.compact(c->etcd, r, &res, c->userdata);
                break;
        }
        case CALL_STATUS: {
                const json_t *h = json_object_get(o, "header");
                EtcdStatus res = {
                        .endpoint = c->etcd->endpoints[c->endpoint],
                        .error = error,
                };
                if (r >= 0) {
                        res.version = json_string_value(json_object_get(o, "version"));
                        res.member_id = json_u64(h, "member_id");
                        res.leader = json_u64(o, "leader");
                        /* The gateway spells these in camelCase. */
                        res.raft_term = json_u64(o, "raftTerm");
                        res.raft_index = json_u64(o, "raftIndex");
                        res.revision = json_i64(h, "revision");
                        res.db_size = json_i64(o, "dbSize");
                }
                c->cb.status(c->etcd, r, &res, c->userdata);
                break;
        }
        }
        json_decref(o);
        call_free(c);
}

static size_t call_write(char *p, size_t size, size_t nmemb, void *userdata) {
        Call *c = userdata;
        size_t n = size * nmemb;

        if (buf_pending(&c->reply) + n > ETCD_RESPONSE_MAX || buf_append(&c->reply, p, n) < 0)
                return 0;       /* CURLE_WRITE_ERROR */
        return n;
}

static int call_start(Call *c);

static int on_call_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Call *c = userdata;
        int r = call_start(c);

        if (r < 0)
                call_complete(c, r);
        return 0;
}

/* Another attempt after r, on the next endpoint, if the deadline allows. */
static void call_retry(Call *c, int r) {
        Etcd *e = c->etcd;
        uint64_t now = now_usec(), at = now + backoff_usec(e, e->failures);

        if (c->fixed_endpoint >= 0 || at >= c->deadline) {
                if (r != -ECONNREFUSED && c->fixed_endpoint < 0) {
                        call_errorf(c, "deadline passed (last: %.200s)", c->error);
                        r = -ETIMEDOUT;
                }
                call_complete(c, r);
                return;
        }
        r = arm_time(e, &c->retry, at, on_call_retry, c);
        if (r < 0)
                call_complete(c, r);
}

/* Sends the call to the endpoint in use (or its own), the rest of its
 * deadline as curl's timeout. */
static int call_start(Call *c) {
        Etcd *e = c->etcd;
        uint64_t now = now_usec();

        if (now >= c->deadline) {
                if (!c->error[0])
                        call_errorf(c, "deadline passed before it could be sent");
                return -ETIMEDOUT;
        }
        c->endpoint = c->fixed_endpoint >= 0 ? (size_t) c->fixed_endpoint : e->current;
        free(c->url);
        c->url = join_url(e->endpoints[c->endpoint], c->path);
        if (!c->url)
                return -ENOMEM;
        buf_clear(&c->reply);
        c->reply.oom = false;
        c->easy = new_easy(e, c->url, c->body, c->body_len, &c->t, call_write, c);
        if (!c->easy)
                return -ENOMEM;
        long ms = (long) ((c->deadline - now + 999) / 1000);
        long connect_ms = (long) (ETCD_CONNECT_TIMEOUT_USEC / 1000);
        if (curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, ms) != CURLE_OK ||
            curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms < ms ? connect_ms : ms) != CURLE_OK ||
            curl_multi_add_handle(e->multi, c->easy) != CURLM_OK) {
                curl_easy_cleanup(c->easy);
                c->easy = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* The attempt ended: completes the call, or tries again elsewhere. */
static void call_done(Call *c, CURLcode code) {
        Etcd *e = c->etcd;
        long http = 0, sent = 0;
        int r;

        (void) curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &http);
        (void) curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &sent);     /* 0: nothing sent */
        curl_multi_remove_handle(e->multi, c->easy);
        curl_easy_cleanup(c->easy);
        c->easy = NULL;

        if (code == CURLE_OK && http == 200) {
                e->failures = 0;
                call_complete(c, 0);
                return;
        }
        if (code == CURLE_OK) {
                /* etcd's error: {"error": ..., "code": N, "message": ...} */
                json_t *o = json_loadb(buf_head(&c->reply), buf_pending(&c->reply), 0, NULL);
                const char *msg = json_string_value(json_object_get(o, "message"));

                r = map_error(json_i64(o, "code"), msg);
                call_errorf(c, "%s: %s", e->endpoints[c->endpoint], msg ? msg : "HTTP error");
                if (!msg)
                        r = -EIO;
                json_decref(o);
                /* No leader: refused before it ran, and another member may
                 * have one. A read may run again whatever happened. */
                if (r == -ENOTCONN || (c->resend_safe && r == -EAGAIN)) {
                        endpoint_failed(e, c->endpoint, c->error);
                        call_retry(c, r);
                } else
                        call_complete(c, r);
                return;
        }
        call_errorf(c, "%s: %s", e->endpoints[c->endpoint], curl_easy_strerror(code));
        switch (code) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
                /* Never sent: any call may go elsewhere. */
                endpoint_failed(e, c->endpoint, c->error);
                call_retry(c, -ECONNREFUSED);
                return;
        case CURLE_OPERATION_TIMEDOUT:
                endpoint_failed(e, c->endpoint, c->error);
                if (sent == 0) {
                        /* Not connected in ETCD_CONNECT_TIMEOUT_USEC (a host
                         * that drops packets): not sent, another member may
                         * answer in time. */
                        call_retry(c, -ECONNREFUSED);
                        return;
                }
                /* The call's deadline: the next call tries another member. */
                call_complete(c, -ETIMEDOUT);
                return;
        case CURLE_WRITE_ERROR:
                call_errorf(c, "reply over %u bytes", ETCD_RESPONSE_MAX);
                call_complete(c, -EMSGSIZE);
                return;
        default:
                endpoint_failed(e, c->endpoint, c->error);
                if (c->resend_safe || sent == 0)
                        call_retry(c, -ECONNRESET);
                else
                        call_complete(c, -ECONNABORTED);        /* sent: it may have run */
                return;
        }
}

/* Takes body; calls back later, or returns < 0 and never calls back. */
static int call_submit(Etcd *e, CallKind kind, const char *path, char *body, bool resend_safe, int fixed_endpoint,
                       uint64_t timeout_usec, CallFn cb, void *userdata) {
        Call *c;
        int r;

        if (!body)
                return -ENOMEM;
        if (strlen(body) > ETCD_REQUEST_MAX) {
                free(body);
                return -EMSGSIZE;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
                free(body);
                return -ENOMEM;
        }
        *c = (Call) {
                .etcd = e,
                .kind = kind,
                .path = path,
                .body = body,
                .body_len = strlen(body),
                .resend_safe = resend_safe,
                .fixed_endpoint = fixed_endpoint,
                .deadline = now_usec() + (timeout_usec ? timeout_usec : e->timeout_usec),
                .cb = cb,
                .userdata = userdata,
        };
        c->next = e->calls;
        if (e->calls)
                e->calls->prev = c;
        e->calls = c;
        e->n_calls++;
        r = call_start(c);
        if (r < 0)
                call_free(c);
        return r;
}

static char *dumps(json_t *o) {
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

        json_decref(o);
        return s;
}

int etcd_range(Etcd *e, const EtcdRange *req, uint64_t timeout_usec, EtcdRangeFn cb, void *userdata) {
        return call_submit(e, CALL_RANGE, "/v3/kv/range", dumps(range_json(req)), true, -1, timeout_usec,
                           (CallFn) { .range = cb }, userdata);
}

int etcd_compact(Etcd *e, int64_t revision, bool physical, uint64_t timeout_usec, EtcdCompactFn cb,
                 void *userdata) {
        json_t *o = json_object();

        if (o && (set_i64(o, "revision", revision) < 0 ||
                  (physical && set_new(o, "physical", json_true()) < 0)))
                return json_decref(o), -ENOMEM;
        return call_submit(e, CALL_COMPACT, "/v3/kv/compaction", dumps(o), false, -1, timeout_usec,
                           (CallFn) { .compact = cb }, userdata);
}

int etcd_status(Etcd *e, int endpoint, uint64_t timeout_usec, EtcdStatusFn cb, void *userdata) {
        if (endpoint >= (int) e->n_endpoints)
                return -EINVAL;
        return call_submit(e, CALL_STATUS, "/v3/maintenance/status", strdup("{}"), true,
                           endpoint >= 0 ? endpoint : (int) e->current, timeout_usec, (CallFn) { .status = cb },
                           userdata);
}

/* ---- transactions ------------------------------------------------------- */

int etcd_txn_new(EtcdTxn **ret) {
        EtcdTxn *t = calloc(1, sizeof *t);

        if (!t)
                return -ENOMEM;
        t->compare = json_array();
        t->success = json_array();
        t->failure = json_array();
        if (!t->compare || !t->success || !t->failure)
                return etcd_txn_free(t), -ENOMEM;
        *ret = t;
        return 0;
}

EtcdTxn *etcd_txn_free(EtcdTxn *t) {
        if (!t)
                return NULL;
        json_decref(t->compare);
        json_decref(t->success);
        json_decref(t->failure);
        free(t);
        return NULL;
}

static int append_op(json_t *list, const char *kind, json_t *req) {
        json_t *op;

        if (!req)
                return -ENOMEM;
        if (json_array_size(list) >= ETCD_TXN_OPS_MAX) {
                json_decref(req);
                return -E2BIG;
        }
        op = json_object();
        if (!op || set_new(op, kind, req) < 0 || json_array_append_new(list, op) < 0) {
                json_decref(op);
                return -ENOMEM;
        }
        return 0;
}

int etcd_txn_compare(EtcdTxn *t, const void *key, size_t key_len, EtcdCmpTarget target, EtcdCmpResult result,
                     int64_t number, const void *value, size_t value_len) {
        static const char *const targets[] = { "VERSION", "CREATE", "MOD", "VALUE" };
        static const char *const fields[] = { "version", "create_revision", "mod_revision", "value" };
        static const char *const results[] = { "EQUAL", "GREATER", "LESS", "NOT_EQUAL" };
        json_t *o;
        int r;

        if ((unsigned) target >= ELEMENTSOF(targets) || (unsigned) result >= ELEMENTSOF(results))
                return -EINVAL;
        if (json_array_size(t->compare) >= ETCD_TXN_OPS_MAX)
                return -E2BIG;
        o = json_object();
        if (!o)
                return -ENOMEM;
        r = set_b64(o, "key", key, key_len);
        if (r >= 0)
                r = set_new(o, "target", json_string(targets[target]));
        if (r >= 0)
                r = set_new(o, "result", json_string(results[result]));
        if (r >= 0)
                r = target == ETCD_CMP_VALUE ? set_b64(o, fields[target], value, value_len)
                                             : set_i64(o, fields[target], number);
        if (r >= 0 && json_array_append_new(t->compare, o) < 0)
                return -ENOMEM;
        if (r < 0)
                json_decref(o);
        return r;
}

int etcd_txn_put(EtcdTxn *t, bool success, const void *key, size_t key_len, const void *value, size_t value_len) {
        json_t *o = json_object();

        if (o && (set_b64(o, "key", key, key_len) < 0 || set_b64(o, "value", value, value_len) < 0))
                o = (json_decref(o), NULL);
        return append_op(success ? t->success : t->failure, "request_put", o);
}

int etcd_txn_range(EtcdTxn *t, bool success, const EtcdRange *req) {
        return append_op(success ? t->success : t->failure, "request_range", range_json(req));
}

int etcd_txn_delete(EtcdTxn *t, bool success, const void *key, size_t key_len, bool prefix) {
        json_t *o = json_object();

        if (o && (set_b64(o, "key", key, key_len) < 0 || (prefix && set_range_end(o, key, key_len) < 0)))
                o = (json_decref(o), NULL);
        return append_op(success ? t->success : t->failure, "request_delete_range", o);
}

void etcd_txn_size(const EtcdTxn *t, unsigned *ret_compares, unsigned *ret_success, unsigned *ret_failure) {
        if (ret_compares)
                *ret_compares = (unsigned) json_array_size(t->compare);
        if (ret_success)
                *ret_success = (unsigned) json_array_size(t->success);
        if (ret_failure)
                *ret_failure = (unsigned) json_array_size(t->failure);
}

int etcd_txn(Etcd *e, const EtcdTxn *t, uint64_t timeout_usec, EtcdTxnFn cb, void *userdata) {
        json_t *o = json_pack("{s:O,s:O,s:O}", "compare", t->compare, "success", t->success,
                              "failure", t->failure);

        return call_submit(e, CALL_TXN, "/v3/kv/txn", dumps(o), false, -1, timeout_usec, (CallFn) { .txn = cb },
                           userdata);
}

/* ---- watches ------------------------------------------------------------ */

static void watch_destroy(EtcdWatch *w);

/* After a user callback: true when the watch was freed in it. */
static bool watch_gone(EtcdWatch *w) {
        return w->freed;
}

static void watch_set_state(EtcdWatch *w, int r, const char *what) {
        if (w->state_known && w->state == r)
                return;
        w->state = r;
        w->state_known = true;
        if (r < 0)
                log_debug("etcd: watch on %s: %s", w->etcd->endpoints[w->endpoint], what);
        if (w->ops.state)
                w->ops.state(w, r, what, w->userdata);
}

static void watch_close_stream(EtcdWatch *w) {
        if (w->easy) {
                curl_multi_remove_handle(w->etcd->multi, w->easy);
                curl_easy_cleanup(w->easy);
                w->easy = NULL;
        }
        (void) sd_event_source_set_enabled(w->stall, SD_EVENT_OFF);
        buf_clear(&w->in);
        w->in.oom = false;
}

static int watch_connect(EtcdWatch *w);
static void watch_restart(EtcdWatch *w, int r, const char *what);

static int on_watch_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        EtcdWatch *w = userdata;
        int r;

        w->busy++;
        r = watch_connect(w);
        if (r < 0)
                watch_restart(w, r, "cannot open a watch stream");
        w->busy--;
        if (watch_gone(w))
                watch_destroy(w);
        return 0;
}

/* The stream failed with r: say so, and open another (next endpoint,
 * backoff) from the next revision. */
static void watch_restart(EtcdWatch *w, int r, const char *what) {
        Etcd *e = w->etcd;
        uint64_t at;

        snprintf(w->what, sizeof w->what, "%s: %s", e->endpoints[w->endpoint], what);
        watch_close_stream(w);
        endpoint_failed(e, w->endpoint, w->what);
        w->failures++;
        w->stats.restarts++;
        watch_set_state(w, r, w->what);
        if (watch_gone(w))
                return;
        at = now_usec() + backoff_usec(e, w->failures);
        r = arm_time(e, &w->retry, at, on_watch_retry, w);
        if (r < 0)
                log_error_errno(r, "etcd: cannot schedule the watch's next stream: %m");
}

static int on_watch_stall(sd_event_source *s, uint64_t usec, void *userdata);

/* The answer to a silent stream's probe: a member that answers and knows
 * a leader has nothing to say (etcd sends progress notifications every
 * 10 minutes by default); one that does not, or knows no leader, has
 * lost the stream its watch. */
static void on_watch_probe(Etcd *e, int r, const EtcdStatus *res, void *userdata) {
        EtcdWatch *w = userdata;
        char what[ERROR_TEXT_MAX];

        w->probing = false;
        if (e->freeing)
                return;
        if (w->freed || !w->easy) {
                watch_destroy(w);
                return;
        }
        if (r >= 0 && res->leader != 0) {
                w->last_rx = now_usec();
                (void) arm_time(e, &w->stall, w->last_rx + w->stall_usec, on_watch_stall, w);
                return;
        }
        w->busy++;
        if (r >= 0 || r == -ENOTCONN)
                watch_restart(w, -ENOTCONN, "etcdserver: no leader");
        else {
                snprintf(what, sizeof what, "stalled: nothing for %" PRIu64 " ms, and no status (%.160s)",
                         w->stall_usec / 1000, res->error);
                watch_restart(w, -ETIMEDOUT, what);
        }
        w->busy--;
        if (watch_gone(w))
                watch_destroy(w);
}

/* Silent for stall_usec: ask its member (within half of that) whether
 * the stream is idle or lost. */
static int on_watch_stall(sd_event_source *s, uint64_t usec, void *userdata) {
        EtcdWatch *w = userdata;
        Etcd *e = w->etcd;
        int r;

        if (!w->easy || w->probing)
                return 0;
        if (usec < w->last_rx + w->stall_usec)
                return (void) arm_time(e, &w->stall, w->last_rx + w->stall_usec, on_watch_stall, w), 0;
        r = etcd_status(e, (int) w->endpoint, w->stall_usec / 2, on_watch_probe, w);
        if (r >= 0) {
                w->probing = true;
                return 0;
        }
        w->busy++;
        watch_restart(w, r, "cannot probe a silent watch stream");
        w->busy--;
        if (watch_gone(w))
                watch_destroy(w);
        return 0;
}

static size_t watch_write(char *p, size_t size, size_t nmemb, void *userdata) {
        EtcdWatch *w = userdata;
        size_t n = size * nmemb;

        if (buf_pending(&w->in) + n > ETCD_RESPONSE_MAX || buf_append(&w->in, p, n) < 0)
                return 0;       /* CURLE_WRITE_ERROR */
        if (n > 0 && p[n - 1] != '\n')
                w->stats.carried++;
        w->last_rx = now_usec();
        return n;
}

static int watch_connect(EtcdWatch *w) {
        Etcd *e = w->etcd;
        json_t *req = json_object(), *o = json_object();
        int r;

        w->endpoint = e->current;
        r = req && o ? 0 : -ENOMEM;
        if (r >= 0)
                r = set_new(req, "key", json_string(w->key));
        if (r >= 0 && w->range_end)
                r = set_new(req, "range_end", json_string(w->range_end));
        if (r >= 0 && w->next_revision > 0)
                r = set_i64(req, "start_revision", w->next_revision);
        if (r >= 0 && w->progress_notify)
                r = set_new(req, "progress_notify", json_true());
        if (r >= 0) {
                r = set_new(o, "create_request", req);
                req = NULL;
        }
        json_decref(req);
        if (r < 0)
                return json_decref(o), r;
        free(w->body);
        w->body = dumps(o);
        free(w->url);
        w->url = join_url(e->endpoints[w->endpoint], "/v3/watch");
        if (!w->body || !w->url)
                return -ENOMEM;
        w->easy = new_easy(e, w->url, w->body, strlen(w->body), &w->t, watch_write, w);
        if (!w->easy)
                return -ENOMEM;
        if (curl_easy_setopt(w->easy, CURLOPT_CONNECTTIMEOUT_MS, (long) (w->stall_usec / 1000)) != CURLE_OK ||
            curl_multi_add_handle(e->multi, w->easy) != CURLM_OK) {
                curl_easy_cleanup(w->easy);
                w->easy = NULL;
                return -ENOMEM;
        }
        w->last_rx = now_usec();
        return arm_time(e, &w->stall, w->last_rx + w->stall_usec, on_watch_stall, w);
}

/* One message. Returns false when the stream must not be read further
 * (stopped, restarted or the watch freed). */
static bool watch_message(EtcdWatch *w, const char *line, size_t len) {
        _cleanup_(arena_done) Arena a = {0};
        json_error_t jerr;
        json_t *o = json_loadb(line, len, 0, &jerr), *res, *err, *events;
        bool go_on = true;

        w->stats.messages++;
        if (!json_is_object(o)) {
                json_decref(o);
                watch_restart(w, -EBADMSG, "undecodable watch message");
                return false;
        }
        err = json_object_get(o, "error");
        if (err) {
                /* In the stream {"error":{"grpc_code":14,"message":"etcdserver:
                 * no leader",...}}, as an HTTP error {"error":"...","code":N,...}:
                 * the stream ends after it; say so now, go on from there. */
                const json_t *x = json_is_object(err) ? err : o;
                const char *msg = json_string_value(json_object_get(x, "message"));
                int r = map_error(json_i64(x, json_is_object(err) ? "grpc_code" : "code"), msg);

                watch_restart(w, r, msg ? msg : "watch error");
                json_decref(o);
                return false;
        }
        res = json_object_get(o, "result");
        if (json_is_true(json_object_get(res, "canceled"))) {
                int64_t compact = json_i64(res, "compact_revision");

                if (compact > 0) {
                        w->stopped = true;
                        watch_close_stream(w);
                        (void) sd_event_source_set_enabled(w->retry, SD_EVENT_OFF);
                        w->ops.compacted(w, compact, w->userdata);
                } else {
                        const char *why = json_string_value(json_object_get(res, "cancel_reason"));
                        watch_restart(w, -ECANCELED, why ? why : "canceled by etcd");
                }
                json_decref(o);
                return false;
        }
        events = json_object_get(res, "events");
        if (json_is_true(json_object_get(res, "created"))) {
                w->failures = 0;
                w->etcd->failures = 0;
                if (w->next_revision == 0)
                        w->next_revision = json_i64(json_object_get(res, "header"), "revision") + 1;
                watch_set_state(w, 0, etcd_watch_endpoint(w));
                go_on = !watch_gone(w);
        } else if (json_array_size(events) == 0) {
                /* A progress notification: all up to the header's revision is here. */
                int64_t rev = json_i64(json_object_get(res, "header"), "revision");

                if (rev >= w->next_revision)
                        w->next_revision = rev + 1;
                if (rev > 0 && rev + 1 >= w->next_revision && w->ops.progress) {
                        w->ops.progress(w, rev, w->userdata);
                        go_on = !watch_gone(w);
                }
        }
        if (go_on && json_array_size(events) > 0) {
                size_t n = json_array_size(events), k = 0;
                EtcdEvent *ev = arena_alloc(&a, n * sizeof *ev);

                if (!ev) {
                        json_decref(o);
                        watch_restart(w, -ENOMEM, "out of memory");
                        return false;
                }
                for (size_t i = 0; i < n; i++) {
                        const json_t *x = json_array_get(events, i);
                        const char *type = json_string_value(json_object_get(x, "type"));

                        ev[k] = (EtcdEvent) { .deleted = type && strcmp(type, "DELETE") == 0 };
                        if (decode_kv(&a, json_object_get(x, "kv"), &ev[k].kv) < 0) {
                                json_decref(o);
                                watch_restart(w, -EBADMSG, "undecodable watch event");
                                return false;
                        }
                        /* Exactly once, in order, across streams. */
                        if (ev[k].kv.mod_revision >= w->next_revision)
                                k++;
                }
                if (k > 0) {
                        w->next_revision = ev[k - 1].kv.mod_revision + 1;
                        w->stats.events += k;
                        w->ops.events(w, ev, k, w->userdata);
                        go_on = !watch_gone(w);
                }
        }
        json_decref(o);
        return go_on;
}

/* Cuts what arrived into messages at newlines; a message cut short by
 * the read waits for the rest. */
static void watch_dispatch(EtcdWatch *w) {
        while (!w->freed && !w->stopped && buf_pending(&w->in) > 0) {
                const char *head = buf_head(&w->in);
                const char *nl = memchr(head, '\n', buf_pending(&w->in));
                size_t len;

                if (!nl)
                        return;         /* the rest of it comes with the next read */
                len = (size_t) (nl - head);
                if (!watch_message(w, head, len))
                        return;
                buf_consume(&w->in, len + 1);
        }
}

/* The stream ended (etcd closed it after an error, or it broke). */
static void watch_done(EtcdWatch *w, CURLcode code) {
        int r = -ECONNRESET;
        const char *what = "stream ended";

        if (w->freed || w->stopped)
                return;
        /* The gateway writes its last message, an error, without a newline. */
        if (code == CURLE_OK && buf_pending(&w->in) > 0 &&
            !watch_message(w, buf_head(&w->in), buf_pending(&w->in)))
                return;
        if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST) {
                r = -ECONNREFUSED;
                what = curl_easy_strerror(code);
        } else if (code == CURLE_WRITE_ERROR) {
                r = -EMSGSIZE;
                what = "watch message over ETCD_RESPONSE_MAX";
        } else if (code == CURLE_OPERATION_TIMEDOUT) {
                r = -ETIMEDOUT;
                what = curl_easy_strerror(code);
        } else if (code != CURLE_OK)
                what = curl_easy_strerror(code);
        watch_restart(w, r, what);
}

static void watch_unlink(EtcdWatch *w) {
        Etcd *e = w->etcd;

        if (w->prev)
                w->prev->next = w->next;
        else if (e->watches == w)
                e->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->prev = w->next = NULL;
}

static void watch_destroy(EtcdWatch *w) {
        if (w->busy > 0 || w->etcd->processing || w->probing)
                return;         /* the one holding it (or the probe's answer) destroys it */
        watch_unlink(w);
        watch_close_stream(w);
        sd_event_source_disable_unref(w->stall);
        sd_event_source_disable_unref(w->retry);
        buf_done(&w->in);
        free(w->key);
        free(w->range_end);
        free(w->url);
        free(w->body);
        free(w);
}

EtcdWatch *etcd_watch_free(EtcdWatch *w) {
        if (!w)
                return NULL;
        w->freed = true;
        watch_close_stream(w);
        (void) sd_event_source_set_enabled(w->retry, SD_EVENT_OFF);
        watch_destroy(w);
        return NULL;
}

int etcd_watch(Etcd *e, const EtcdWatchReq *req, const EtcdWatchOps *ops, void *userdata, EtcdWatch **ret) {
        EtcdWatch *w;
        int r;

        if (!ops || !ops->events || !ops->compacted || req->start_revision < 0)
                return -EINVAL;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (EtcdWatch) {
                .t.watch = true,
                .etcd = e,
                .progress_notify = req->progress_notify,
                .stall_usec = req->stall_usec ? req->stall_usec : ETCD_WATCH_STALL_USEC,
                .next_revision = req->start_revision,
                .ops = *ops,
                .userdata = userdata,
        };
        w->next = e->watches;
        if (e->watches)
                e->watches->prev = w;
        e->watches = w;
        w->key = b64_encode(req->key_len ? req->key : "", req->key_len);
        if (req->prefix) {
                _cleanup_free_ uint8_t *end = malloc(req->key_len + 1);
                if (end)
                        w->range_end = b64_encode(end, prefix_end(req->key, req->key_len, end));
        }
        r = w->key && (!req->prefix || w->range_end) ? watch_connect(w) : -ENOMEM;
        if (r < 0) {
                w->freed = true;
                watch_destroy(w);
                return r;
        }
        *ret = w;
        return 0;
}

int64_t etcd_watch_next_revision(const EtcdWatch *w) {
        return w->next_revision;
}

const char *etcd_watch_endpoint(const EtcdWatch *w) {
        return w->etcd->endpoints[w->endpoint];
}

void etcd_watch_stats(const EtcdWatch *w, EtcdWatchStats *ret) {
        *ret = w->stats;
}

/* ---- libcurl on sd-event ------------------------------------------------ */

/* Completions and messages, after curl returned. */
static void process(Etcd *e) {
        CURLMsg *m;
        int left;

        e->processing = true;
        for (EtcdWatch *w = e->watches; w; w = w->next)
                watch_dispatch(w);
        while ((m = curl_multi_info_read(e->multi, &left))) {
                CURL *easy = m->easy_handle;
                CURLcode code = m->data.result;
                Transfer *t = NULL;

                if (m->msg != CURLMSG_DONE)
                        continue;
                (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &t);
                if (!t)
                        continue;
                if (t->watch) {
                        EtcdWatch *w = (EtcdWatch *) t;
                        watch_dispatch(w);
                        watch_done(w, code);
                } else
                        call_done((Call *) t, code);
        }
        e->processing = false;
        for (EtcdWatch *w = e->watches, *next; w; w = next) {
                next = w->next;
                if (w->freed)
                        watch_destroy(w);
        }
}

static int on_curl_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Etcd *e = userdata;
        int action = 0, running;

        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        (void) curl_multi_socket_action(e->multi, fd, action, &running);
        process(e);
        return 0;
}

static int on_curl_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Etcd *e = userdata;
        int running;

        (void) curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        process(e);
        return 0;
}

/* Room for one more io source. */
static int io_track(Etcd *e) {
        if (e->n_ios == e->cap_ios) {
                size_t cap = e->cap_ios ? e->cap_ios * 2 : 16;
                sd_event_source **l = reallocarray(e->ios, cap, sizeof *l);

                if (!l)
                        return -ENOMEM;
                e->ios = l;
                e->cap_ios = cap;
        }
        return 0;
}

static void io_forget(Etcd *e, sd_event_source *s) {
        for (size_t i = 0; i < e->n_ios; i++)
                if (e->ios[i] == s) {
                        e->ios[i] = e->ios[--e->n_ios];
                        break;
                }
        sd_event_source_disable_unref(s);
}

/* CURLMOPT_SOCKETFUNCTION: a socket's interest, as an io source. */
static int curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        Etcd *e = userp;
        sd_event_source *s = socketp;
        uint32_t events = 0;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (s) {
                        (void) curl_multi_assign(e->multi, fd, NULL);
                        io_forget(e, s);
                }
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (s) {
                r = sd_event_source_set_io_events(s, events);
                if (r >= 0)
                        r = sd_event_source_set_enabled(s, SD_EVENT_ON);
        } else {
                r = io_track(e);
                if (r >= 0)
                        r = sd_event_add_io(e->event, &s, fd, events, on_curl_io, e);
                if (r >= 0) {
                        e->ios[e->n_ios++] = s;
                        if (curl_multi_assign(e->multi, fd, s) != CURLM_OK) {
                                io_forget(e, s);
                                r = -ENOMEM;
                        }
                }
        }
        return r < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: curl's one timeout, as a time source. */
static int curl_timer(CURLM *multi, long timeout_ms, void *userp) {
        Etcd *e = userp;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(e->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        return arm_time(e, &e->timer, now_usec() + (uint64_t) timeout_ms * 1000u, on_curl_timer, e) < 0 ? -1 : 0;
}

/* ---- the client --------------------------------------------------------- */

static int parse_endpoints(Etcd *e, const char *list) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        e->endpoints = calloc(ETCD_ENDPOINTS_MAX + 1, sizeof(char *));
        if (!e->endpoints)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                size_t len = strlen(t);

                if (len == 0)
                        continue;
                if (e->n_endpoints == ETCD_ENDPOINTS_MAX ||
                    (strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0))
                        return -EINVAL;
                while (len > 0 && t[len - 1] == '/')
                        t[--len] = 0;   /* the paths begin with '/' */
                e->endpoints[e->n_endpoints] = strdup(t);
                if (!e->endpoints[e->n_endpoints])
                        return -ENOMEM;
                e->n_endpoints++;
        }
        return e->n_endpoints > 0 ? 0 : -EINVAL;
}

int etcd_new(sd_event *event, const EtcdConfig *cfg, Etcd **ret) {
        Etcd *e;
        int r;

        if (!cfg->endpoints)
                return -EINVAL;
        if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        e = calloc(1, sizeof *e);
        if (!e) {
                curl_global_cleanup();
                return -ENOMEM;
        }
        e->event = sd_event_ref(event);
        e->timeout_usec = cfg->timeout_usec ? cfg->timeout_usec : ETCD_CALL_TIMEOUT_USEC;
        r = parse_endpoints(e, cfg->endpoints);
        if (r < 0)
                goto fail;
        e->headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (e->headers)
                e->headers = curl_slist_append(e->headers, "Expect:");
        if (e->headers)         /* fail at once, rather than hang, when etcd has no leader */
                e->headers = curl_slist_append(e->headers, "Grpc-Metadata-hasleader: true");
        e->multi = curl_multi_init();
        if (!e->headers || !e->multi) {
                r = -ENOMEM;
                goto fail;
        }
        r = sd_event_add_time(event, &e->timer, CLOCK_MONOTONIC, 0, 1, on_curl_timer, e);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
        if (r < 0)
                goto fail;
        if (curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, curl_socket) != CURLM_OK ||
            curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e) != CURLM_OK ||
            curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, curl_timer) != CURLM_OK ||
            curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e) != CURLM_OK) {
                r = -EIO;
                goto fail;
        }
        *ret = e;
        return 0;
fail:
        etcd_free(e);
        return r;
}

Etcd *etcd_free(Etcd *e) {
        if (!e)
                return NULL;
        e->freeing = true;
        while (e->calls) {
                Call *c = e->calls;

                if (c->easy) {
                        curl_multi_remove_handle(e->multi, c->easy);
                        curl_easy_cleanup(c->easy);
                        c->easy = NULL;
                }
                snprintf(c->error, sizeof c->error, "the etcd client is shutting down");
                call_complete(c, -ECANCELED);
        }
        while (e->watches) {
                EtcdWatch *w = e->watches;

                w->busy = 0;
                w->freed = true;
                watch_destroy(w);
        }
        if (e->multi)
                curl_multi_cleanup(e->multi);
        while (e->n_ios > 0)
                sd_event_source_disable_unref(e->ios[--e->n_ios]);
        free(e->ios);
        sd_event_source_disable_unref(e->timer);
        curl_slist_free_all(e->headers);
        if (e->endpoints)
                for (size_t i = 0; i < e->n_endpoints; i++)
                        free(e->endpoints[i]);
        free(e->endpoints);
        sd_event_unref(e->event);
        free(e);
        curl_global_cleanup();
        return NULL;
}

const char *etcd_endpoint(const Etcd *e) {
        return e->endpoints[e->current];
}

unsigned etcd_failovers(const Etcd *e) {
        return e->failovers;
}

size_t etcd_n_endpoints(const Etcd *e) {
        return e->n_endpoints;
}

const char *etcd_endpoint_at(const Etcd *e, size_t i) {
        return i < e->n_endpoints ? e->endpoints[i] : NULL;
}

unsigned etcd_pending(const Etcd *e) {
        return e->n_calls;
}
