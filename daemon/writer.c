/* writer.c: the writer thread, the aside thread and their queues (to the
 * threads, and of finished operations back to the event loop, signalled
 * by an eventfd).
 * Group commit: one write transaction per batch of queued operations;
 * the batch is acknowledged only after the commit returned, i.e. after
 * fsync. An operation that fails its checks has written nothing; one that
 * fails after writing makes the batch run again one operation per
 * transaction, so that only it fails. (Not nested transactions: each
 * costs LMDB 3 MiB of dirty-list allocations, which glibc keeps.)
 *
 * Gathering: clients whose writes were just committed usually write
 * again as soon as they have the reply. Committing whatever is queued at
 * once would split them into two half batches, each client waiting for
 * the commit in progress and then its own. So the thread expects as many
 * writes as the last batch plus those that queued during its commit, and
 * waits for them, at most one commit's time (WRITE_GATHER_MAX_USEC),
 * applying them as they arrive, a few at a time (WRITE_GATHER_CHUNK), so
 * that little more than the commit is left when the last one is in. One
 * client writing alone is never kept waiting: it expects one write.
 *
 * Aside: long operations that read the store but write nothing (a
 * backup) run on a second thread, one at a time, outside any transaction,
 * and complete through the same queue back to the loop. Each delivery
 * tells the loop the revision the store had committed when its last
 * operation completed, so what follows the replies (the change feed) can
 * go up to there and no further. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"
#include "proto/clock.h"
#include "proto/macro.h"
#include "writer.h"

struct Writer {
        Store *store;
        pthread_t thread;
        bool started;

        pthread_mutex_t lock;
        pthread_cond_t wake;
        WriteOp *queue_head, *queue_tail;       /* to the thread */
        WriteOp *done_head, *done_tail;         /* back to the loop */
        unsigned queued;                        /* in the queue to the thread */
        unsigned pending;                       /* submitted, not yet completed */
        unsigned expect;                        /* writes the next batch waits for */
        unsigned wake_at;                       /* writer_submit wakes the thread at this many queued */
        uint64_t commit_usec;                   /* moving average of a batch's commit */
        uint64_t commit_usec_total;             /* all commits' time, for server.status */
        bool quit;
        uint64_t batches, ops;                  /* committed: batches with a write that stayed, those writes */

        /* Aside: ops run on their own thread, outside any transaction. */
        pthread_t aside_thread;
        bool aside_started;
        pthread_cond_t aside_wake;
        WriteOp *aside_head, *aside_tail;
        uint64_t done_revision;                 /* the store's committed revision when the done list last grew */

        int efd;
        sd_event_source *source;
        WriterDeliveredFn delivered;
        void *userdata;
};

static void append(WriteOp **head, WriteOp **tail, WriteOp *op) {
        op->next = NULL;
        if (*tail)
                (*tail)->next = op;
        else
                *head = op;
        *tail = op;
}

int writeop_apply(Store *s, MDB_txn *txn, WriteOp *op) {
        uint64_t writes = store_writes(s);
        int r;

        buf_clear(&op->result);
        op->err = (RpcErr) {0};

        r = op->apply(s, txn, op->args, &op->peer, &op->result, &op->err);
        if (r >= 0 && op->result.oom)
                r = -ENOMEM;
        op->r = r;
        op->partial = r < 0 && store_writes(s) != writes;
        return r;
}

/* Runs every op of the batch in one transaction. Returns -ENOSPC when the
 * map is full (the caller grows it and calls again), -EAGAIN when an op
 * failed after writing in a batch of several (the caller runs each op
 * alone), else 0 with each op->r set. */
static int apply_batch(Writer *w, WriteOp *batch) {
        MDB_txn *txn = NULL;
        unsigned ok = 0;
        int r;

        r = store_write_begin(w->store, &txn);
        if (r < 0)
                goto fail_all;

        for (WriteOp *op = batch; op; op = op->next) {
                r = writeop_apply(w->store, txn, op);
                if (r == -ENOSPC || op->partial) {
                        store_write_abort(w->store, txn);
                        if (r == -ENOSPC)
                                return -ENOSPC;
                        if (batch->next)
                                return -EAGAIN;
                        /* Alone: the op fails, and nothing of it is stored. */
                        log_error_errno(r, "A write failed and was undone");
                        return 0;
                }
                ok += r >= 0;
        }

        r = store_write_commit(w->store, txn);
        if (r == -ENOSPC)
                return -ENOSPC;
        if (r < 0)
                goto fail_all;
        return 0;

fail_all:
        /* Nothing of this batch is stored: every op fails, none is acknowledged. */
        log_error_errno(r, "Write transaction of %u operations failed", ok);
        for (WriteOp *op = batch; op; op = op->next) {
                op->r = r;
                op->err = (RpcErr) { .message = "the write could not be committed" };
        }
        return 0;
}

/* Applies the batch, growing the map as often as it fills up. */
static void run_batch(Writer *w, WriteOp *batch) {
        int r;

        while ((r = apply_batch(w, batch)) == -ENOSPC) {
                size_t before = store_mapsize(w->store);
                r = store_grow(w->store);
                if (r < 0) {
                        log_error_errno(r, "Cannot grow the database map beyond %zu bytes", before);
                        for (WriteOp *op = batch; op; op = op->next) {
                                op->r = -ENOSPC;
                                op->err = (RpcErr) { .message = "the database is full" };
                        }
                        return;
                }
                log_info("Database map grown from %zu to %zu bytes", before, store_mapsize(w->store));
        }
        if (r == -EAGAIN)
                /* One op failed after writing: again, each op alone, so that
                 * only that one fails. */
                for (WriteOp *op = batch, *next; op; op = next) {
                        next = op->next;
                        op->next = NULL;
                        run_batch(w, op);
                        op->next = next;
                }
}

/* With the lock held: takes up to max queued ops. */
static unsigned take(Writer *w, unsigned max, WriteOp **ret_head) {
        WriteOp *head = NULL, *tail = NULL;
        unsigned n = 0;

        while (w->queue_head && n < max) {
                WriteOp *op = w->queue_head;
                w->queue_head = op->next;
                append(&head, &tail, op);
                n++;
        }
        if (!w->queue_head)
                w->queue_tail = NULL;
        w->queued -= n;
        *ret_head = head;
        return n;
}

static struct timespec deadline_in(uint64_t usec) {
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_nsec += (long) (usec * 1000u);
        t.tv_sec += t.tv_nsec / 1000000000L;
        t.tv_nsec %= 1000000000L;
        return t;
}

/* Collects a batch (at least one op is queued): applies ops in one write
 * transaction as they arrive, until the expected number is in, the
 * gathering time is over, or the batch is full; then commits. Whatever
 * goes wrong on the way (an op that failed after writing, a full map, a
 * failed begin or commit) leaves the batch to run_batch(), which applies
 * it again from the start. Returns the batch and its length. */
static unsigned collect_and_commit(Writer *w, WriteOp **ret_batch) {
        WriteOp *batch = NULL, *tail = NULL;
        MDB_txn *txn = NULL;
        bool clean, quit = false;
        unsigned n = 0, expect, committed = 0;
        struct timespec deadline;
        uint64_t wait;

        pthread_mutex_lock(&w->lock);
        expect = w->expect;
        wait = w->commit_usec < WRITE_GATHER_MAX_USEC ? w->commit_usec : WRITE_GATHER_MAX_USEC;
        pthread_mutex_unlock(&w->lock);
        deadline = deadline_in(wait);

        clean = store_write_begin(w->store, &txn) >= 0;
        for (;;) {
                WriteOp *chunk;
                unsigned k;

                pthread_mutex_lock(&w->lock);
                k = take(w, WRITE_BATCH_MAX - n, &chunk);
                if (k == 0 && clean && n < expect && !w->quit && wait > 0) {
                        /* Wait for the next few: a wakeup per write would
                         * cost more CPU than applying them costs. */
                        w->wake_at = expect - n < WRITE_GATHER_CHUNK ? expect - n : WRITE_GATHER_CHUNK;
                        while (w->queued < w->wake_at && !w->quit)
                                if (pthread_cond_timedwait(&w->wake, &w->lock, &deadline) == ETIMEDOUT) {
                                        wait = 0;
                                        break;
                                }
                        w->wake_at = 1;
                        k = take(w, WRITE_BATCH_MAX - n, &chunk);
                }
                quit = w->quit;
                pthread_mutex_unlock(&w->lock);

                for (WriteOp *op = chunk, *next; op; op = next) {
                        next = op->next;
                        if (clean) {
                                int r = writeop_apply(w->store, txn, op);
                                clean = r != -ENOSPC && !op->partial;
                        }
                        append(&batch, &tail, op);
                }
                n += k;
                if (n >= WRITE_BATCH_MAX || !clean || (k == 0 && (n >= expect || wait == 0 || quit)))
                        break;
        }

        uint64_t start = now_usec();
        if (clean) {
                clean = store_write_commit(w->store, txn) >= 0;
                txn = NULL;
        }
        if (txn)
                store_write_abort(w->store, txn);
        if (!clean)
                run_batch(w, batch);
        start = now_usec() - start;
        for (WriteOp *op = batch; op; op = op->next)
                committed += op->r >= 0 && !op->upkeep;

        pthread_mutex_lock(&w->lock);
        w->commit_usec = w->commit_usec ? (w->commit_usec * 7 + start) / 8 : start;
        if (committed > 0) {    /* server.status counts what was committed, not what was refused */
                w->batches++;
                w->ops += committed;
                w->commit_usec_total += start;
        }
        pthread_mutex_unlock(&w->lock);
        *ret_batch = batch;
        return n;
}

/* Wakes the loop: completions wait in the done list. */
static void signal_loop(Writer *w) {
        uint64_t one = 1;

        if (write(w->efd, &one, sizeof one) < 0 && errno != EAGAIN)
                log_error_errno(errno, "Cannot signal the event loop");
}

static void *writer_thread(void *userdata) {
        Writer *w = userdata;

        (void) pthread_setname_np(pthread_self(), "rolesd-writer");     /* for top -H and perf */

        for (;;) {
                WriteOp *batch = NULL;
                unsigned n;

                pthread_mutex_lock(&w->lock);
                while (!w->queue_head && !w->quit)
                        pthread_cond_wait(&w->wake, &w->lock);
                if (!w->queue_head && w->quit) {
                        pthread_mutex_unlock(&w->lock);
                        break;
                }
                pthread_mutex_unlock(&w->lock);

                n = collect_and_commit(w, &batch);

                pthread_mutex_lock(&w->lock);
                for (WriteOp *op = batch, *next; op; op = next) {
                        next = op->next;
                        append(&w->done_head, &w->done_tail, op);
                }
                w->done_revision = store_committed_revision(w->store);
                w->expect = n + w->queued < WRITE_BATCH_MAX ? n + w->queued : WRITE_BATCH_MAX;
                pthread_mutex_unlock(&w->lock);
                signal_loop(w);
        }
        return NULL;
}

static void *aside_thread(void *userdata) {
        Writer *w = userdata;

        (void) pthread_setname_np(pthread_self(), "rolesd-aside");

        pthread_mutex_lock(&w->lock);
        for (;;) {
                WriteOp *op;

                while (!w->aside_head && !w->quit)
                        pthread_cond_wait(&w->aside_wake, &w->lock);
                op = w->aside_head;
                if (!op)
                        break;          /* quit, and nothing left */
                w->aside_head = op->next;
                if (!w->aside_head)
                        w->aside_tail = NULL;
                pthread_mutex_unlock(&w->lock);

                (void) writeop_apply(w->store, NULL, op);

                pthread_mutex_lock(&w->lock);
                append(&w->done_head, &w->done_tail, op);
                w->done_revision = store_committed_revision(w->store);
                pthread_mutex_unlock(&w->lock);
                signal_loop(w);
                pthread_mutex_lock(&w->lock);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

/* Delivers finished ops on the loop's thread. */
static void writer_deliver(Writer *w) {
        WriteOp *list;
        unsigned n = 0;
        uint64_t v, revision;

        if (read(w->efd, &v, sizeof v) < 0 && errno != EAGAIN)
                log_warning_errno(errno, "Cannot read the writer's eventfd");

        pthread_mutex_lock(&w->lock);
        list = w->done_head;
        w->done_head = w->done_tail = NULL;
        for (WriteOp *op = list; op; op = op->next)
                w->pending--;
        revision = w->done_revision;
        pthread_mutex_unlock(&w->lock);

        for (WriteOp *op = list, *next; op; op = next) {
                next = op->next;
                op->next = NULL;
                op->done(op, op->userdata);
                n++;
        }
        if (n > 0 && w->delivered)
                w->delivered(n, revision, w->userdata);
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        writer_deliver(userdata);
        return 0;
}

int writer_new(Store *s, sd_event *e, WriterDeliveredFn delivered, void *userdata, Writer **ret) {
        Writer *w;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->efd = -1;
        w->wake_at = 1;
        w->store = s;
        w->delivered = delivered;
        w->userdata = userdata;
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);      /* the gathering deadline */
        pthread_cond_init(&w->wake, &attr);
        pthread_condattr_destroy(&attr);
        pthread_cond_init(&w->aside_wake, NULL);
        w->done_revision = store_committed_revision(s);

        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(e, &w->source, w->efd, EPOLLIN, on_done, w);
        if (r < 0)
                goto fail;
        /* Replies of committed writes go out before new input is read. */
        (void) sd_event_source_set_priority(w->source, SD_EVENT_PRIORITY_IMPORTANT);

        r = -pthread_create(&w->thread, NULL, writer_thread, w);
        if (r < 0)
                goto fail;
        w->started = true;
        *ret = w;
        return 0;
fail:
        writer_free(w);
        return r;
}

void writer_submit(Writer *w, WriteOp *op) {
        pthread_mutex_lock(&w->lock);
        append(&w->queue_head, &w->queue_tail, op);
        w->queued++;
        w->pending++;
        if (w->queued >= w->wake_at)
                pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
}

void writer_submit_aside(Writer *w, WriteOp *op) {
        pthread_mutex_lock(&w->lock);
        if (!w->aside_started) {
                int r = -pthread_create(&w->aside_thread, NULL, aside_thread, w);
                if (r < 0) {
                        /* It completes now, failed, through the loop as any op does. */
                        op->r = r;
                        op->err = (RpcErr) { .message = "cannot start a thread for it" };
                        append(&w->done_head, &w->done_tail, op);
                        w->pending++;
                        pthread_mutex_unlock(&w->lock);
                        signal_loop(w);
                        return;
                }
                w->aside_started = true;
        }
        append(&w->aside_head, &w->aside_tail, op);
        w->pending++;
        pthread_cond_signal(&w->aside_wake);
        pthread_mutex_unlock(&w->lock);
}

unsigned writer_pending(Writer *w) {
        unsigned n;

        pthread_mutex_lock(&w->lock);
        n = w->pending;
        pthread_mutex_unlock(&w->lock);
        return n;
}

void writer_stats(Writer *w, uint64_t *ret_batches, uint64_t *ret_ops, uint64_t *ret_commit_usec) {
        pthread_mutex_lock(&w->lock);
        *ret_batches = w->batches;
        *ret_ops = w->ops;
        *ret_commit_usec = w->commit_usec_total;
        pthread_mutex_unlock(&w->lock);
}

Writer *writer_free(Writer *w) {
        if (!w)
                return NULL;
        if (w->started) {
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                pthread_cond_signal(&w->wake);
                pthread_cond_signal(&w->aside_wake);
                pthread_mutex_unlock(&w->lock);
                pthread_join(w->thread, NULL);
                if (w->aside_started)
                        pthread_join(w->aside_thread, NULL);
                writer_deliver(w);
        }
        sd_event_source_disable_unref(w->source);
        if (w->efd >= 0)
                close(w->efd);
        pthread_cond_destroy(&w->wake);
        pthread_cond_destroy(&w->aside_wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
}
