/* writer.c: the writer thread and its two queues (to the thread, and of
 * finished operations back to the event loop, signalled by an eventfd).
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
 * waits for them, at most half a commit (WRITE_GATHER_MAX_USEC). One
 * client writing alone is never kept waiting: it expects one write. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proto/limits.h"
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
        unsigned gathering;                     /* while waiting: wake at this many queued */
        uint64_t commit_usec;                   /* moving average of a batch's duration */
        bool quit;
        uint64_t batches, ops;

        int efd;
        sd_event_source *source;
        WriterComplete complete;
        void *userdata;
};

WriteOp *writeop_free(WriteOp *op) {
        if (!op)
                return NULL;
        if (op->args && op->method && op->method->free_args)
                op->method->free_args(op->args);
        buf_done(&op->result);
        free(op);
        return NULL;
}

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
        msgpack_packer pk;
        int r;

        buf_clear(&op->result);
        op->err = (RpcErr) {0};
        msgpack_packer_init(&pk, &op->result, buf_pack_write);

        r = op->method->apply(s, txn, op->args, &pk, &op->err);
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

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* With the lock held and something queued: waits until the expected
 * writes are queued, half a commit has passed, or the thread must quit. */
static void gather(Writer *w) {
        uint64_t wait = w->commit_usec;
        struct timespec deadline;

        if (wait > WRITE_GATHER_MAX_USEC)
                wait = WRITE_GATHER_MAX_USEC;
        if (w->queued >= w->expect || wait == 0 || w->quit)
                return;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += (long) (wait * 1000u);
        deadline.tv_sec += deadline.tv_nsec / 1000000000L;
        deadline.tv_nsec %= 1000000000L;

        w->gathering = w->expect;
        while (w->queued < w->gathering && !w->quit)
                if (pthread_cond_timedwait(&w->wake, &w->lock, &deadline) == ETIMEDOUT)
                        break;
        w->gathering = 0;
}

static void *writer_thread(void *userdata) {
        Writer *w = userdata;

        (void) pthread_setname_np(pthread_self(), "rolesd-writer");     /* for top -H and perf */

        for (;;) {
                WriteOp *batch = NULL, *tail = NULL;
                unsigned n = 0;
                uint64_t start;

                pthread_mutex_lock(&w->lock);
                while (!w->queue_head && !w->quit)
                        pthread_cond_wait(&w->wake, &w->lock);
                if (!w->queue_head && w->quit) {
                        pthread_mutex_unlock(&w->lock);
                        break;
                }
                gather(w);
                while (w->queue_head && n < WRITE_BATCH_MAX) {
                        WriteOp *op = w->queue_head;
                        w->queue_head = op->next;
                        append(&batch, &tail, op);
                        n++;
                }
                if (!w->queue_head)
                        w->queue_tail = NULL;
                w->queued -= n;
                pthread_mutex_unlock(&w->lock);

                start = now_usec();
                run_batch(w, batch);
                start = now_usec() - start;

                pthread_mutex_lock(&w->lock);
                for (WriteOp *op = batch, *next; op; op = next) {
                        next = op->next;
                        append(&w->done_head, &w->done_tail, op);
                }
                w->batches++;
                w->ops += n;
                w->commit_usec = w->commit_usec ? (w->commit_usec * 7 + start) / 8 : start;
                w->expect = n + w->queued < WRITE_BATCH_MAX ? n + w->queued : WRITE_BATCH_MAX;
                pthread_mutex_unlock(&w->lock);

                uint64_t one = 1;
                if (write(w->efd, &one, sizeof one) < 0 && errno != EAGAIN)
                        log_error_errno(errno, "Cannot signal the event loop");
        }
        return NULL;
}

/* Delivers finished ops on the loop's thread. */
static void writer_deliver(Writer *w) {
        WriteOp *list;
        uint64_t v;

        if (read(w->efd, &v, sizeof v) < 0 && errno != EAGAIN)
                log_warning_errno(errno, "Cannot read the writer's eventfd");

        pthread_mutex_lock(&w->lock);
        list = w->done_head;
        w->done_head = w->done_tail = NULL;
        for (WriteOp *op = list; op; op = op->next)
                w->pending--;
        pthread_mutex_unlock(&w->lock);

        for (WriteOp *op = list, *next; op; op = next) {
                next = op->next;
                w->complete(op, w->userdata);
        }
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        writer_deliver(userdata);
        return 0;
}

int writer_new(Store *s, sd_event *e, WriterComplete complete, void *userdata, Writer **ret) {
        Writer *w;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->efd = -1;
        w->store = s;
        w->complete = complete;
        w->userdata = userdata;
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);      /* gather()'s deadline */
        pthread_cond_init(&w->wake, &attr);
        pthread_condattr_destroy(&attr);

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
        /* While gathering, the thread wakes once, when the batch is complete. */
        if (w->queued == 1 || w->queued >= w->gathering)
                pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
}

unsigned writer_pending(Writer *w) {
        unsigned n;

        pthread_mutex_lock(&w->lock);
        n = w->pending;
        pthread_mutex_unlock(&w->lock);
        return n;
}

void writer_stats(Writer *w, uint64_t *ret_batches, uint64_t *ret_ops) {
        pthread_mutex_lock(&w->lock);
        *ret_batches = w->batches;
        *ret_ops = w->ops;
        pthread_mutex_unlock(&w->lock);
}

Writer *writer_free(Writer *w) {
        if (!w)
                return NULL;
        if (w->started) {
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                pthread_cond_signal(&w->wake);
                pthread_mutex_unlock(&w->lock);
                pthread_join(w->thread, NULL);
                writer_deliver(w);
        }
        sd_event_source_disable_unref(w->source);
        if (w->efd >= 0)
                close(w->efd);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
}
