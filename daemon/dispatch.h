/* dispatch.h: from a frame to its reply. Owns the method table: each
 * method is either a read, run on the event loop's thread inside one
 * short read transaction, or a write, whose params are parsed on the
 * loop's thread and which is queued on the writer. A frame comes with
 * where its reply goes: a buffer for a reply due now, and the completion
 * function (and its userdata) a queued write is handed back to. Knows
 * nothing of connections or of the manager. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "handlers.h"
#include "writer.h"
#include "proto/buf.h"
#include "proto/rpc.h"

typedef struct Method {
        const char *name;
        HandlerRead read;               /* a read, or: */
        HandlerSession session;         /* a read acting on the caller's session, or: */
        const ArgsSpec *args;           /* a write's args */
        WriteApplyFn apply;
        bool aside;                     /* the write runs aside (writer_submit_aside) */
} Method;

const Method *method_lookup(const char *name, size_t len);

typedef struct Dispatcher Dispatcher;

/* ctx is copied; writes are queued on w. */
int dispatch_new(const HandlerCtx *ctx, Writer *w, Dispatcher **ret);
/* Accepts NULL, returns NULL. */
Dispatcher *dispatch_free(Dispatcher *d);
/* The daemon is stopping: requests from now on are answered `unavailable`. */
void dispatch_stop(Dispatcher *d);

/* What became of a frame. */
typedef enum DispatchResult {
        DISPATCH_ANSWERED = 0,  /* whatever is due was appended to out now (a read's
                                 * result, an error, or nothing for a notification
                                 * or a response) */
        DISPATCH_QUEUED = 1,    /* a write was queued: the writer hands it to
                                 * done(op, userdata) later, on the loop's thread and
                                 * never before this returns, and done must pass it to
                                 * dispatch_write_reply() (unless nobody waits any
                                 * more) and then to dispatch_write_free() */
        DISPATCH_HELD = 2,      /* a read, while the caller's own writes are pending:
                                 * nothing was done; give the same frame again once
                                 * they all completed, so that the read sees them */
} DispatchResult;

/* Who sent a frame and where its answers go. */
typedef struct DispatchCaller {
        const StorePeer *peer;          /* the principal of its write, unless it carries a
                                         * REST credential */
        bool writes_pending;            /* writes this caller queued have not completed yet:
                                         * a read (or an aside write) then is DISPATCH_HELD */
        Buf *out;                       /* where a reply due now goes */
        WriteDoneFn done;               /* and a queued write's completion */
        void *userdata;
        const Session *session;         /* the caller's, for changes.watch and changes.unwatch */
        int *fd;                        /* the descriptor that came with the frame (NULL or -1:
                                         * none); a method that takes it sets -1 */
} DispatchCaller;

/* Decodes one complete frame and answers it. */
DispatchResult dispatch_frame(Dispatcher *d, const char *frame, size_t size, const DispatchCaller *caller);

/* Appends the reply of a finished write (none for a notification). */
void dispatch_write_reply(const WriteOp *op, Buf *out);
/* Frees a write dispatch_frame() queued (its args and result). Accepts NULL. */
void dispatch_write_free(WriteOp *op);

/* The text of a failure for the wire: err's message or one derived from r. */
const char *rpc_err_message(int r, const RpcErr *err);
