/* writer.h: the writer thread. Requests that change the store are queued
 * here; the thread gathers the writes it expects (see writer.c), takes
 * everything queued (up to WRITE_BATCH_MAX), runs
 * them in one write transaction, commits once (one fsync for the batch:
 * group commit), and only then hands the finished operations back to the
 * main thread, which sends the replies. MDB_MAP_FULL grows the map and
 * reruns the batch. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "dispatch.h"
#include "proto/buf.h"
#include "store.h"

typedef struct WriteOp {
        struct WriteOp *next;
        const Method *method;
        void *args;                     /* parsed params, freed by method->free_args */
        Conn *conn;                     /* holds a reference until completion */
        bool has_msgid, notify;
        uint32_t msgid;
        /* Filled by the writer thread: */
        int r;
        bool partial;                   /* r < 0 after the op had written: abort the transaction */
        RpcErr err;
        Buf result;                     /* the packed result when r >= 0 */
} WriteOp;

typedef struct Writer Writer;
typedef void (*WriterComplete)(WriteOp *op, void *userdata);
typedef void (*WriterFlush)(void *userdata);

/* Starts the thread. complete runs on the event loop's thread for each
 * finished op (in queue order) and must free it with writeop_free; flush
 * (may be NULL) runs after the completions of one delivery, so that
 * replies to one connection go out in one write. */
int writer_new(Store *s, sd_event *e, WriterComplete complete, WriterFlush flush, void *userdata, Writer **ret);
/* Queues op (takes ownership). */
void writer_submit(Writer *w, WriteOp *op);
/* Ops queued or being applied, not yet handed back to the loop. */
unsigned writer_pending(Writer *w);
/* Lets the thread finish everything queued, then joins it; completions
 * still due are delivered before returning. Accepts NULL, returns NULL. */
Writer *writer_free(Writer *w);
WriteOp *writeop_free(WriteOp *op);
/* Applies op in txn; sets and returns op->r (-ENOSPC: the map is full,
 * the whole transaction must be grown and run again). The methods check
 * before they write, so an op that fails (a duplicate, say) has written
 * nothing and the transaction goes on; one that fails after writing (out
 * of memory, a corrupt record) sets op->partial: the transaction must be
 * aborted. */
int writeop_apply(Store *s, MDB_txn *txn, WriteOp *op);
/* Batches and ops committed so far, and the time their commits took
 * (for status and benchmarks). */
void writer_stats(Writer *w, uint64_t *ret_batches, uint64_t *ret_ops, uint64_t *ret_commit_usec);
