/* etcd.h: rolesd's etcd client, for fleet mode (issue 19). Runs on the
 * daemon's sd-event loop: libcurl's multi interface, its sockets and
 * timer mapped onto sd-event sources (no blocking call, no thread), etcd's
 * JSON gateway under /v3 (keys and values base64, 64-bit integers as JSON
 * strings, zero-valued fields omitted: all of that stays in etcd.c).
 * It knows etcd, not rolesd: keys and values are bytes; it includes
 * nothing of the store, the writer or anything above them.
 *
 * Calls (range, txn, compaction, status) complete through a callback on
 * the loop's thread, never inside the function that started them; the
 * result and everything it points to live until the callback returns.
 * A call that returns < 0 never calls back.
 *
 * Errors are negative errno:
 *   -ETIMEDOUT     the call's deadline passed (for a txn or a compaction
 *                  that was sent: the outcome is unknown)
 *   -ECONNABORTED  a txn or compaction was sent, and the connection was
 *                  lost before its answer: the outcome is unknown
 *   -ECONNREFUSED  no endpoint could be reached before the deadline (other
 *                  failures that were tried again until it: -ETIMEDOUT, the
 *                  error text naming the last)
 *   -ENOTCONN      etcd has no leader ("etcdserver: no leader")
 *   -ESTALE        the revision asked for has been compacted
 *   -ERANGE        the revision asked for is in the future
 *   -EMSGSIZE      the request is over ETCD_REQUEST_MAX, or a reply over
 *                  ETCD_RESPONSE_MAX
 *   -E2BIG         a txn over ETCD_TXN_OPS_MAX compares or operations
 *   -EINVAL -EACCES -EKEYREJECTED -ENOSPC -EAGAIN -EIO  etcd's other codes
 *   -ECANCELED     etcd_free() ran with the call in flight
 * A txn whose compares failed is not an error: r = 0, succeeded = false,
 * and the failure branch's responses say why.
 *
 * Endpoints: calls go to the endpoint in use; one that cannot be reached
 * (or, for reads and calls that cannot have run, that fails in transit or
 * has no leader) hands over to the next, immediately for one round of the
 * list, then with exponential backoff and jitter, until the deadline. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct Etcd Etcd;
typedef struct EtcdTxn EtcdTxn;
typedef struct EtcdWatch EtcdWatch;

typedef struct EtcdConfig {
        const char *endpoints;          /* "http://HOST:PORT[,http://HOST:PORT...]" */
        uint64_t timeout_usec;          /* a call's deadline when it names none; 0: ETCD_CALL_TIMEOUT_USEC */
} EtcdConfig;

/* A key-value pair as etcd returns it (value empty with keys_only). */
typedef struct EtcdKv {
        const uint8_t *key;
        size_t key_len;
        const uint8_t *value;
        size_t value_len;
        int64_t create_revision;        /* 0: the key does not exist */
        int64_t mod_revision;
        int64_t version;
        int64_t lease;
} EtcdKv;

/* A range: key alone, [key, range_end), or every key starting with key. */
typedef struct EtcdRange {
        const void *key;
        size_t key_len;
        const void *range_end;          /* NULL: key alone (unless prefix) */
        size_t range_end_len;
        bool prefix;                    /* every key starting with key */
        int64_t limit;                  /* 0: no limit */
        int64_t revision;               /* 0: now; else a snapshot at that revision */
        bool keys_only;
        bool count_only;
} EtcdRange;

typedef struct EtcdRangeResult {
        int64_t revision;               /* the store's revision the range was read at */
        const EtcdKv *kvs;
        size_t n_kvs;
        int64_t count;                  /* keys in the range, returned or not */
        bool more;                      /* more keys than limit returned */
        const char *error;              /* r < 0: what failed */
} EtcdRangeResult;

typedef enum EtcdCmpTarget {
        ETCD_CMP_VERSION,
        ETCD_CMP_CREATE,                /* create_revision: 0 when the key does not exist */
        ETCD_CMP_MOD,
        ETCD_CMP_VALUE,
} EtcdCmpTarget;

typedef enum EtcdCmpResult {
        ETCD_CMP_EQUAL,
        ETCD_CMP_GREATER,
        ETCD_CMP_LESS,
        ETCD_CMP_NOT_EQUAL,
} EtcdCmpResult;

typedef enum EtcdOpType {
        ETCD_OP_RANGE,
        ETCD_OP_PUT,
        ETCD_OP_DELETE,
} EtcdOpType;

typedef struct EtcdOpResult {
        EtcdOpType type;
        EtcdRangeResult range;          /* ETCD_OP_RANGE */
        int64_t deleted;                /* ETCD_OP_DELETE */
} EtcdOpResult;

typedef struct EtcdTxnResult {
        bool succeeded;                 /* the compares held: the success branch ran */
        int64_t revision;               /* the store's revision after the txn */
        const EtcdOpResult *responses;  /* of the branch that ran, in order */
        size_t n_responses;
        const char *error;
} EtcdTxnResult;

typedef struct EtcdStatus {
        const char *endpoint;           /* the member asked */
        const char *version;
        uint64_t member_id;
        uint64_t leader;                /* member id of the leader it knows; 0: none */
        uint64_t raft_term;
        uint64_t raft_index;
        int64_t revision;
        int64_t db_size;
        const char *error;
} EtcdStatus;

typedef struct EtcdCompactResult {
        int64_t revision;
        const char *error;
} EtcdCompactResult;

typedef void (*EtcdRangeFn)(Etcd *e, int r, const EtcdRangeResult *res, void *userdata);
typedef void (*EtcdTxnFn)(Etcd *e, int r, const EtcdTxnResult *res, void *userdata);
typedef void (*EtcdStatusFn)(Etcd *e, int r, const EtcdStatus *res, void *userdata);
typedef void (*EtcdCompactFn)(Etcd *e, int r, const EtcdCompactResult *res, void *userdata);

/* -EINVAL: no endpoint, more than ETCD_ENDPOINTS_MAX, or one that is not http(s)://. */
int etcd_new(sd_event *event, const EtcdConfig *cfg, Etcd **ret);
/* Calls in flight complete with -ECANCELED, watches are freed. Not from a
 * callback of its own. Accepts NULL, returns NULL. */
Etcd *etcd_free(Etcd *e);
/* The endpoint in use, and how many times calls moved to another. */
const char *etcd_endpoint(const Etcd *e);
unsigned etcd_failovers(const Etcd *e);
size_t etcd_n_endpoints(const Etcd *e);
const char *etcd_endpoint_at(const Etcd *e, size_t i);
/* Calls in flight. */
unsigned etcd_pending(const Etcd *e);

/* timeout_usec: the call's deadline from now; 0: the configured one. */
int etcd_range(Etcd *e, const EtcdRange *req, uint64_t timeout_usec, EtcdRangeFn cb, void *userdata);
/* Compacts the key-value history up to revision (physical: returns once
 * the space is reclaimed). */
int etcd_compact(Etcd *e, int64_t revision, bool physical, uint64_t timeout_usec, EtcdCompactFn cb,
                 void *userdata);
/* Asks member endpoint (an index of the list; -1: the one in use) for its
 * status; no failover. */
int etcd_status(Etcd *e, int endpoint, uint64_t timeout_usec, EtcdStatusFn cb, void *userdata);

/* A transaction: compares, then the success or the failure branch. Built
 * up, sent with etcd_txn() (which leaves it to the caller: it may be sent
 * again, e.g. after an outcome-unknown error), freed with etcd_txn_free().
 * Adding past ETCD_TXN_OPS_MAX compares, or operations in a branch,
 * returns -E2BIG. */
int etcd_txn_new(EtcdTxn **ret);
EtcdTxn *etcd_txn_free(EtcdTxn *t);
/* target's value: number for VERSION, CREATE and MOD; value for VALUE. */
int etcd_txn_compare(EtcdTxn *t, const void *key, size_t key_len, EtcdCmpTarget target, EtcdCmpResult result,
                     int64_t number, const void *value, size_t value_len);
int etcd_txn_put(EtcdTxn *t, bool success, const void *key, size_t key_len, const void *value, size_t value_len);
int etcd_txn_range(EtcdTxn *t, bool success, const EtcdRange *req);
int etcd_txn_delete(EtcdTxn *t, bool success, const void *key, size_t key_len, bool prefix);
/* Its compares and the operations of each branch (any may be NULL). */
void etcd_txn_size(const EtcdTxn *t, unsigned *ret_compares, unsigned *ret_success, unsigned *ret_failure);
/* -EMSGSIZE when the request would be over ETCD_REQUEST_MAX. */
int etcd_txn(Etcd *e, const EtcdTxn *t, uint64_t timeout_usec, EtcdTxnFn cb, void *userdata);

/* A watch: one stream of the changes to a key or prefix, from a revision.
 * Lost streams (endpoint gone, no leader, stalled) are opened again, on
 * the next endpoint with backoff, from the revision after the last one
 * delivered; the watch stops only when etcd compacted past it (compacted,
 * then free it and resync) or when it is freed. */
typedef struct EtcdEvent {
        bool deleted;                   /* a DELETE (kv has key and mod_revision only) */
        EtcdKv kv;
} EtcdEvent;

typedef struct EtcdWatchOps {
        /* The events of one message, in revision order, each with its own
         * kv.mod_revision (never the message's header revision, which is
         * the whole store's). A message never splits a revision. */
        void (*events)(EtcdWatch *w, const EtcdEvent *ev, size_t n, void *userdata);
        /* A progress notification: every event up to revision has been
         * delivered. May be NULL. */
        void (*progress)(EtcdWatch *w, int64_t revision, void *userdata);
        /* etcd compacted up to compact_revision, past the revision the
         * watch needs: the watch has stopped. */
        void (*compacted)(EtcdWatch *w, int64_t compact_revision, void *userdata);
        /* The stream's state changed: 0 = open (on etcd_watch_endpoint()),
         * or why it is not: -ENOTCONN no leader, -ETIMEDOUT stalled (silent
         * for stall_usec), -ECONNRESET/-ECONNREFUSED lost or unreachable,
         * another etcd error. The watch goes on trying. May be NULL. */
        void (*state)(EtcdWatch *w, int r, const char *what, void *userdata);
} EtcdWatchOps;

typedef struct EtcdWatchReq {
        const void *key;
        size_t key_len;
        bool prefix;                    /* every key starting with key */
        int64_t start_revision;         /* the first revision to deliver; 0: from now */
        bool progress_notify;           /* ask for progress notifications */
        uint64_t stall_usec;            /* silent this long: stalled; 0: ETCD_WATCH_STALL_USEC */
} EtcdWatchReq;

typedef struct EtcdWatchStats {
        uint64_t messages;              /* messages parsed */
        uint64_t events;                /* events delivered */
        uint64_t carried;               /* reads that ended inside a message (kept for the next) */
        uint64_t restarts;              /* streams opened again */
} EtcdWatchStats;

int etcd_watch(Etcd *e, const EtcdWatchReq *req, const EtcdWatchOps *ops, void *userdata, EtcdWatch **ret);
/* May be called from the watch's own callbacks. Accepts NULL, returns NULL. */
EtcdWatch *etcd_watch_free(EtcdWatch *w);
/* The revision the stream continues from (the one after the last delivered). */
int64_t etcd_watch_next_revision(const EtcdWatch *w);
const char *etcd_watch_endpoint(const EtcdWatch *w);
void etcd_watch_stats(const EtcdWatch *w, EtcdWatchStats *ret);
