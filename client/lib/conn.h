/* conn.h: librolesd's insides, shared by its own files (client/rest has
 * internal.h): the connection and its calls in flight, a reply, the error
 * helpers, how a request is packed and submitted, and how a synchronous
 * call waits for its asynchronous self. Not installed. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/scan.h"
#include "rolesd/client.h"

typedef struct Replay Replay;

/* A call in flight: queued, perhaps sent, waiting for its reply. One
 * allocation: the request frame, then the method name, follow it. */
typedef struct Call {
        struct Call *prev, *next;       /* in flight, earliest deadline first */
        struct Call *hnext;             /* its bucket's chain */
        uint32_t msgid;
        bool read_only;                 /* the method only reads: may be sent again after a loss */
        bool cancelled;                 /* completes without its callback (call_cancel) */
        bool sent;                      /* its connection went after it was sent in full */
        unsigned attempts;              /* connections it was queued on */
        uint64_t deadline;              /* CLOCK_MONOTONIC usec; UINT64_MAX: none */
        uint64_t end;                   /* offset just past its frame in its connection's request stream */
        int fd;                         /* a descriptor sent with its frame (our copy), or -1 */
        rolesd_reply_fn fn;
        void *userdata;
        const char *method;             /* NUL-terminated, after the frame */
        size_t len;
        char frame[];
} Call;

/* A frame of the request stream that goes with a descriptor: one
 * sendmsg() carries the descriptor with the frame's first bytes, and no
 * sendmsg() carries bytes of the frame and of another. */
typedef struct FdMark {
        uint64_t start, end;            /* the frame's offsets in the stream */
        int fd;                         /* our copy, closed once sent or dropped */
} FdMark;

typedef struct CallList {
        Call *head, *tail;
} CallList;

struct rolesd {
        char *socket_path;              /* NULL: rolesd_socket_path(NULL) at each connect */
        int fd;                         /* -1: not connected */
        int broken;                     /* sending failed (a negative errno): rolesd_process() drops the connection */
        uint64_t timeout_usec;          /* a call's deadline after its submission; 0: none */
        uint32_t next_msgid;
        Buf in;                         /* bytes read, from a frame boundary */
        Buf out;                        /* request bytes not sent yet */
        uint64_t queued, sent;          /* bytes of the connection's request stream queued, sent */
        Scanner scan;                   /* within the frame at in's head */
        CallList calls;                 /* in flight */
        Call **buckets;                 /* the same by msgid, chained; n_buckets a power of 2 */
        size_t n_buckets, n_calls;
        Buf request;                    /* the request being packed */
        msgpack_unpacked unpacked;      /* replies are decoded into this; its zone is reused */
        unsigned dispatching;           /* callbacks running: no waiting; freeing waits for them */
        bool free_requested;            /* rolesd_free() from a callback: once they return */
        bool freeing;                   /* in rolesd_free(): no new calls */
        Replay *replay;                 /* replay mode (replay.c, internal.h): no socket */
        FdMark *fd_marks;               /* frames queued with a descriptor, in stream order */
        size_t n_fd_marks, fd_marks_size;
        rolesd_notify_fn notify;        /* notifications from the daemon, or NULL: dropped */
        void *notify_userdata;
};

/* What a callback gets. */
struct rolesd_reply {
        rolesd *conn;
        const Call *call;
        const char *frame;              /* the response, or NULL: the call failed without one */
        size_t len;
        int error;                      /* then: its negative errno */
        const rolesd_error *failure;    /*       and why */
        bool decoded;                   /* the frame was decoded: what follows is set */
        int result_r;                   /* 0, or the call's failure (in result_err) */
        const msgpack_object *result;
        rolesd_error result_err;
};

/* ---- errors (error.c) ---- */

void error_clear(rolesd_error *err);
/* Fills err (if any) and returns r (a negative errno). */
__attribute__((format(printf, 5, 6)))
int fail(rolesd_error *err, int r, rolesd_code code, const char *field, const char *fmt, ...);
int fail_oom(rolesd_error *err);
/* Copies *src into err (if any) and returns r. */
int fail_copy(rolesd_error *err, int r, const rolesd_error *src);

/* The result of a reply (decoded on first use): 0 with *ret set (valid
 * during the callback), or the call's failure: its own, the daemon's
 * error, or a reply that is not a valid response (ROLESD_INTERNAL). */
int reply_result(rolesd_reply *r, const msgpack_object **ret, rolesd_error *err);

/* ---- requests (conn.c) ---- */

/* Starts a request in c->request: [0, msgid, method, [ with the msgid on
 * 5 bytes at offset 2 (rpc_frame_set_msgid() sets it at submission); the
 * caller packs exactly one params map, then calls request_submit() with
 * the OR of the packer's results. */
int request_begin(rolesd *c, const char *method, msgpack_packer *pk, rolesd_error *err);
int request_submit(rolesd *c, const char *method, int pack_r, rolesd_reply_fn fn, void *userdata,
                   rolesd_error *err);
/* The same with a descriptor sent along (fd >= 0: the library sends a
 * copy of it, and closes the copy once the call completes). */
int request_submit_fd(rolesd *c, const char *method, int pack_r, int fd, rolesd_reply_fn fn, void *userdata,
                      rolesd_error *err);

/* Whether a method only reads (a call to it may be sent twice). */
bool method_read_only(const char *method);

/* Runs a call's callback (unless cancelled) with its response or its
 * failure, and frees it. The call is out of c's tables already. */
void call_complete(rolesd *c, Call *call, const char *frame, size_t len, int error,
                   const rolesd_error *failure);

/* Takes a call out of c's tables (the replay's answering). */
void call_take(rolesd *c, Call *call);

void calls_push(CallList *l, Call *call);
void calls_remove(CallList *l, Call *call);

/* ---- synchronous calls: asynchronous ones, waited for (calls.c) ---- */

/* Takes what the caller wants out of a reply into ret. */
typedef int (*SyncExtract)(rolesd_reply *r, void *ret, rolesd_error *err);

typedef struct Sync {
        SyncExtract extract;
        void *ret;
        rolesd_error *err;
        int r;
        bool done;
} Sync;

/* Sets s up for a call on c taking its result into ret with extract;
 * -EBUSY from a callback of c (it cannot wait). */
int sync_init(Sync *s, rolesd *c, SyncExtract extract, void *ret, rolesd_error *err);
/* The callback of a synchronous call (userdata: its Sync). */
void sync_done(rolesd *c, rolesd_reply *reply, void *userdata);
/* Waits for the call submitted with s (submit_r: what submitting it, or
 * sync_init(), returned) and returns its outcome. */
int sync_wait(rolesd *c, int submit_r, Sync *s);

/* Drops the connection and fails every call in flight, sending none
 * again: -ECANCELED (why: "connection to rolesd closed", say), or as
 * after a lost connection for another cause (conn.c). */
void conn_abort(rolesd *c, int cause, const char *why);

/* ---- JSON (json.c) ---- */

/* Packs v (nested at most RPC_DEPTH_MAX deep from depth: -E2BIG) as
 * MessagePack; msgpack-c's result otherwise. */
int json_to_mp(msgpack_packer *pk, json_t *v, unsigned depth);
/* Converts a result. 0, -ENOMEM, or -EBADMSG with *reterr_why set. */
int mp_to_json(const msgpack_object *o, json_t **ret, const char **reterr_why);

/* ---- replay mode (replay.c) ---- */

/* Answers the calls queued on a replay handle. Returns how many. */
int replay_process(rolesd *c);
Replay *replay_free(Replay *r);
