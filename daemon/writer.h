/* writer.h: the writer thread, under the store. Operations that change
 * the store are queued here; the thread gathers the writes it expects
 * (see writer.c), takes everything queued (up to WRITE_BATCH_MAX), runs
 * them in one write transaction, commits once (one fsync for the batch:
 * group commit), and only then hands the finished operations back to the
 * event loop's thread, each to the completion function it came with.
 * MDB_MAP_FULL grows the map and reruns the batch. An operation is
 * generic: a function that applies it, its arguments, a buffer for its
 * result and an error; the writer knows nothing of what it does or who
 * is waiting for it. */
#pragma once

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "store.h"
#include "proto/buf.h"
#include "proto/rpc.h"

typedef struct WriteOp WriteOp;

/* Applies an operation inside the batch's transaction for peer (who asked
 * for it): packs its result into result and returns >= 0, or fails with a
 * negative errno and err.
 * It must check before it writes (store.h), so that a failure that wrote
 * nothing leaves the batch's transaction going. */
typedef int (*WriteApplyFn)(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err);
/* The operation is done (committed, or failed): runs on the event loop's
 * thread, never inside writer_submit(), and owns op from then on. */
typedef void (*WriteDoneFn)(WriteOp *op, void *userdata);

struct WriteOp {
        WriteOp *next;                  /* the writer's, while it holds the op */
        WriteApplyFn apply;
        void *args;
        StorePeer peer;                 /* who asked for it */
        WriteDoneFn done;
        void *userdata;                 /* for done */
        bool upkeep;                    /* the daemon's own (a trim): not counted in writer_stats */
        /* Filled by the writer thread: */
        int r;
        bool partial;                   /* r < 0 after the op had written: abort the transaction */
        RpcErr err;
        Buf result;                     /* what apply packed, when r >= 0 */
};

typedef struct Writer Writer;
/* Runs on the event loop's thread after the done() calls of one delivery
 * (the operations of a commit, or more), with their number and the
 * revision the store had committed when the last of them was (every
 * change up to it is durable and its write answered): e.g. to send the
 * replies to one connection in one write, and the changes after them. */
typedef void (*WriterDeliveredFn)(unsigned n, uint64_t revision, void *userdata);

/* Starts the thread; delivered may be NULL. */
int writer_new(Store *s, sd_event *e, WriterDeliveredFn delivered, void *userdata, Writer **ret);
/* Queues op, which must have apply and done set; the writer holds it
 * until it calls op->done. */
void writer_submit(Writer *w, WriteOp *op);
/* Queues op to run aside: on a thread of its own (one at a time, in
 * order), never in a write transaction (apply gets txn NULL), so long
 * work (a backup) leaves the writer and the loop going; it completes as
 * the writes do, through op->done on the loop's thread. */
void writer_submit_aside(Writer *w, WriteOp *op);
/* Ops queued or being applied, not yet handed back to the loop. */
unsigned writer_pending(Writer *w);
/* Lets the thread finish everything queued, then joins it; completions
 * still due are delivered before returning. Accepts NULL, returns NULL. */
Writer *writer_free(Writer *w);
/* Applies op in txn; sets and returns op->r (-ENOSPC: the map is full,
 * the whole transaction must be grown and run again). An op that fails
 * (a duplicate, say) has written nothing and the transaction goes on; one
 * that fails after writing (out of memory, a corrupt record) sets
 * op->partial: the transaction must be aborted. */
int writeop_apply(Store *s, MDB_txn *txn, WriteOp *op);
/* Batches committed so far (those with at least one write that stayed),
 * the writes committed (refused ones do not count), and the time their
 * commits took (for status and benchmarks). */
void writer_stats(Writer *w, uint64_t *ret_batches, uint64_t *ret_ops, uint64_t *ret_commit_usec);
