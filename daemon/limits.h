/* limits.h: rolesd's settings, named in one place: connections, buffers,
 * timeouts, the LMDB map and the writer's batches. Wire rules and the
 * data model's limits, which clients check too, are in proto/limits.h. */
#pragma once

/* Connections (conn.c) */
#define CONN_MAX_DEFAULT        256u            /* concurrent client connections (--max-connections) */
#define CONN_MAX_LIMIT          65536u          /* the largest --max-connections */
#define CONN_INFLIGHT_MAX       1024u           /* requests read but not yet answered, per connection */
#define CONN_OUTBUF_SOFT        (1024u * 1024u) /* stop reading a client whose replies pile up past this */
#define CONN_OUTBUF_HARD        (16u * 1024u * 1024u) /* drop a client whose replies pile up past this */
#define CONN_BUF_KEEP           (256u * 1024u)  /* an empty buffer larger than this is freed */
#define CONN_READ_CHUNK         (64u * 1024u)   /* bytes asked of one recv() */
#define CONN_READ_BUDGET        (256u * 1024u)  /* bytes read per wakeup, for fairness */
#define CONN_EVENTS_MAX         64u             /* connections served per wakeup of the loop */
#define CONN_IDLE_TIMEOUT_USEC  (300ull * 1000000ull) /* close connections silent for this long (--idle-timeout) */
#define CONN_STALL_TIMEOUT_USEC (30ull * 1000000ull)  /* close a client that reads none of its pending replies (--stall-timeout) */
#define CONN_TIMEOUT_MAX_SEC    86400u          /* the longest --idle-timeout and --stall-timeout */
#define CONN_FDS_MAX            4u              /* descriptors held for a connection's calls (db.backup) */

/* The change feed (conn.c, manager.c) */
#define FEED_PUMP_LOW           (64u * 1024u)   /* read a watcher's history while its output is below this */
#define FEED_PUMP_PAGE          256u            /* records read per read transaction of history */
#define FEED_PUMP_BUDGET        (512u * 1024u)  /* history bytes per connection per wakeup, for fairness */
#define CHANGES_RETAIN_DEFAULT  1000000ull      /* records the log keeps (--changes-retain) */
#define CHANGES_RETAIN_MAX      1000000000000ull /* the largest --changes-retain */
#define CHANGES_TRIM_STEP       512u            /* records one trim deletes (an upkeep write) */
#define EXPORT_STEPS_PER_RECORD 4u              /* db.export: steps (roles without members...) per record of a page */

/* Lifetime (manager.c) */
#define SWEEP_INTERVAL_USEC     (5ull * 1000000ull)   /* idle/stall sweep, at most this far apart */
#define STOP_GRACE_USEC         (10ull * 1000000ull)  /* at shutdown, wait this long for clients to go */
#define TRIM_AFTER_OPS          1024u           /* malloc_trim() once idle after this many writes */
#define TRIM_MIN_INTERVAL_USEC  (100u * 1000u)  /* and at most this often */

/* The store (store.c) and the writer (writer.c) */
#define STORE_MAPSIZE_DEFAULT   (64ull * 1024 * 1024) /* initial LMDB map; grows on MDB_MAP_FULL */
#define STORE_MAX_READERS       126u
#define WRITE_BATCH_MAX         256u            /* writes committed in one transaction */
#define WRITE_GATHER_MAX_USEC   500u            /* longest wait for a batch's expected writers */
#define WRITE_GATHER_CHUNK      8u              /* writes applied per wakeup while gathering */

/* Fleet mode's etcd client (etcd.c). etcd's own limits are its defaults
 * (--max-request-bytes, --max-txn-ops); a request's JSON body is larger
 * than etcd's protobuf of it, so checking the body is on the safe side. */
#define ETCD_REQUEST_MAX        (1536u * 1024u) /* a request's JSON body at most this (etcd: 1.5 MiB) */
#define ETCD_TXN_OPS_MAX        128u            /* compares, and operations per branch, in a txn (etcd: 128) */
#define ETCD_RESPONSE_MAX       (64u * 1024u * 1024u) /* a reply, or one watch message, at most this */
#define ETCD_ENDPOINTS_MAX      16u             /* URLs in --etcd */
#define ETCD_CALL_TIMEOUT_USEC  (5ull * 1000000ull)  /* a call's deadline when it names none */
#define ETCD_CONNECT_TIMEOUT_USEC (1000u * 1000u) /* a member that does not accept within this: try the next */
#define ETCD_BACKOFF_MIN_USEC   (50u * 1000u)   /* after a round of failed endpoints, wait this, doubling */
#define ETCD_BACKOFF_MAX_USEC   (2u * 1000000u) /* up to this (each wait jittered to 50-100%) */
#define ETCD_WATCH_STALL_USEC   (30ull * 1000000ull) /* a watch stream silent this long: is its member alive? */
