/* replay.c: librolesd's replay mode (internal.h), the ground REST tasks
 * stand on. A replay handle is a connection without a socket: the calls
 * made on it are answered, when processed, from the replies recorded so
 * far, in order; the first one without a reply is kept as the pending
 * request (its frame and method) and fails with -EINPROGRESS. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/conn.h"
#include "client/lib/internal.h"
#include "proto/limits.h"

/* A reply recorded for replay: a frame, or the failure of the call. */
typedef struct Recorded {
        char *frame;
        size_t len;
        int error;              /* negative errno when the call failed, else 0 */
        rolesd_error why;       /* then */
} Recorded;

struct Replay {
        Recorded *replies;
        size_t n_replies, next_reply;
        bool has_pending;       /* a call went unanswered in this run: */
        Buf pending;            /*   its frame */
        char pending_method[RPC_METHOD_MAX + 1];
};

rolesd *replay_new(void) {
        rolesd *c = NULL;

        if (rolesd_new(NULL, &c) < 0)
                return NULL;
        c->replay = calloc(1, sizeof *c->replay);
        if (!c->replay)
                return rolesd_free(c);
        return c;
}

bool replay_is(const rolesd *c) {
        return c && c->replay;
}

Replay *replay_free(Replay *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_replies; i++)
                free(p->replies[i].frame);
        free(p->replies);
        buf_done(&p->pending);
        free(p);
        return NULL;
}

void replay_rewind(rolesd *c) {
        c->replay->next_reply = 0;
        c->replay->has_pending = false;
        c->next_msgid = 1;
}

static int replay_record(rolesd *c, const void *frame, size_t len, int error, const rolesd_error *why) {
        Replay *p = c->replay;
        Recorded *a = realloc(p->replies, (p->n_replies + 1) * sizeof *a), *x;

        if (!a)
                return -ENOMEM;
        p->replies = a;
        x = &a[p->n_replies];
        *x = (Recorded) { .len = len, .error = error };
        if (why)
                x->why = *why;
        if (frame) {
                x->frame = malloc(len ? len : 1);
                if (!x->frame)
                        return -ENOMEM;
                memcpy(x->frame, frame, len);
        }
        p->n_replies++;
        return 0;
}

int replay_add(rolesd *c, const void *frame, size_t len) {
        return replay_record(c, frame, len, 0, NULL);
}

int replay_add_error(rolesd *c, int error, const rolesd_error *why) {
        rolesd_error unknown;

        if (!why)
                why = (fail(&unknown, -EIO, ROLESD_UNAVAILABLE, NULL, "call to rolesd failed"), &unknown);
        return replay_record(c, NULL, 0, error < 0 ? error : -EIO, why);
}

void replay_forget(rolesd *c) {
        Replay *p = c->replay;

        if (p->next_reply == 0)
                return;
        for (size_t i = 0; i < p->next_reply; i++)
                free(p->replies[i].frame);
        memmove(p->replies, p->replies + p->next_reply, (p->n_replies - p->next_reply) * sizeof *p->replies);
        p->n_replies -= p->next_reply;
        p->next_reply = 0;
}

size_t replay_recorded(const rolesd *c) {
        return c->replay->n_replies;
}

const char *replay_pending(const rolesd *c, size_t *ret_len, const char **ret_method) {
        const Replay *p = c->replay;

        if (!p->has_pending)
                return NULL;
        *ret_len = buf_pending(&p->pending);
        *ret_method = p->pending_method;
        return buf_head(&p->pending);
}

/* Keeps an unanswered call as the pending request (the first of a run). */
static int replay_keep(Replay *p, const Call *call) {
        if (p->has_pending)
                return 0;
        buf_clear(&p->pending);
        if (buf_append(&p->pending, call->frame, call->len) < 0)
                return -ENOMEM;
        strncpy(p->pending_method, call->method, sizeof p->pending_method - 1);
        p->pending_method[sizeof p->pending_method - 1] = '\0';
        p->has_pending = true;
        return 0;
}

int replay_process(rolesd *c) {
        Replay *p = c->replay;
        int n = 0;

        for (Call *call; (call = c->calls.head); n++) {
                rolesd_error e;

                call_take(c, call);
                if (p->next_reply < p->n_replies) {
                        const Recorded *x = &p->replies[p->next_reply++];

                        call_complete(c, call, x->frame, x->len, x->error, x->frame ? NULL : &x->why);
                        /* A task's handle lives as long as its request: what
                         * the reply was decoded into goes now. (Kept to the
                         * request's end, the zone cost rolesd-http's
                         * roles.list a fifth of its throughput: glibc grew
                         * its heap again for every request.) */
                        msgpack_unpacked_destroy(&c->unpacked);
                        msgpack_unpacked_init(&c->unpacked);
                } else if (replay_keep(p, call) < 0)
                        call_complete(c, call, NULL, 0, -ENOMEM, (fail_oom(&e), &e));
                else
                        call_complete(c, call, NULL, 0, -EINPROGRESS,
                                      (fail(&e, -EINPROGRESS, ROLESD_UNAVAILABLE, NULL, "waiting for rolesd"), &e));
        }
        return n;
}
