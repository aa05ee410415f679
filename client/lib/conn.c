/* conn.c: librolesd's connection. Owns the socket (connecting on demand,
 * non-blocking sends and receives), the calls in flight (a list by
 * deadline and a hash by msgid), cutting the daemon's responses into
 * frames and handing each to its call, deadlines, and what a lost
 * connection does to the calls on it: those that cannot have run (not
 * sent in full) or that only read go out again on a new connection, once
 * and before their deadline; the others fail. Also the event loop's side
 * of the API: rolesd_get_fd/events/timeout, rolesd_process, rolesd_wait.
 * Also the daemon's notifications (handed to the notify callback) and
 * frames sent with a descriptor (SCM_RIGHTS, one sendmsg() per frame). */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/lib/conn.h"
#include "client/lib/internal.h"
#include "client/lib/limits.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/rpc.h"

/* ---- methods ---- */

/* The methods that only read: a call to one of them may be sent again
 * after a lost connection, since running it twice changes nothing. */
static const char *const read_only_methods[] = {
        "role.get", "role.list", "permission.catalog", "auth.check", "server.status",
        "member.list", "user.roles", "access.check", "org.list", "user.list", "key.list",
        "changes.list", "role.sync", "db.export",
};

bool method_read_only(const char *method) {
        for (size_t i = 0; i < ELEMENTSOF(read_only_methods); i++)
                if (strcmp(method, read_only_methods[i]) == 0)
                        return true;
        return false;
}

const char *rolesd_version(void) {
        return LIBROLESD_VERSION;
}

const char *rolesd_socket_path(const char *path) {
        const char *e;

        if (path)
                return path;
        e = getenv("ROLESD_SOCKET");
        if (e && *e)
                return e;
        return ROLESD_SOCKET_DEFAULT;
}

/* ---- the calls in flight ---- */

void calls_push(CallList *l, Call *call) {
        call->next = NULL;
        call->prev = l->tail;
        if (l->tail)
                l->tail->next = call;
        else
                l->head = call;
        l->tail = call;
}

void calls_remove(CallList *l, Call *call) {
        if (call->prev)
                call->prev->next = call->next;
        else
                l->head = call->next;
        if (call->next)
                call->next->prev = call->prev;
        else
                l->tail = call->prev;
        call->prev = call->next = NULL;
}

/* Inserts by deadline: from the tail, where a call made now belongs
 * unless the timeout was shortened meanwhile. */
static void calls_insert(CallList *l, Call *call) {
        Call *after = l->tail;

        while (after && after->deadline > call->deadline)
                after = after->prev;
        call->prev = after;
        call->next = after ? after->next : l->head;
        if (call->next)
                call->next->prev = call;
        else
                l->tail = call;
        if (after)
                after->next = call;
        else
                l->head = call;
}

static Call **bucket(rolesd *c, uint32_t msgid) {
        return &c->buckets[msgid & (c->n_buckets - 1)];
}

static Call *inflight_find(rolesd *c, uint32_t msgid) {
        if (c->n_buckets == 0)
                return NULL;
        for (Call *call = *bucket(c, msgid); call; call = call->hnext)
                if (call->msgid == msgid)
                        return call;
        return NULL;
}

/* Room in the hash for one more call (at most one per bucket on average). */
static int inflight_reserve(rolesd *c) {
        size_t n = c->n_buckets ? c->n_buckets * 2 : ROLESD_BUCKETS_MIN;
        Call **b;

        if (c->n_calls < c->n_buckets)
                return 0;
        b = calloc(n, sizeof *b);
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_buckets; i++)
                for (Call *call = c->buckets[i], *next; call; call = next) {
                        next = call->hnext;
                        call->hnext = b[call->msgid & (n - 1)];
                        b[call->msgid & (n - 1)] = call;
                }
        free(c->buckets);
        c->buckets = b;
        c->n_buckets = n;
        return 0;
}

/* After inflight_reserve(). */
static void inflight_add(rolesd *c, Call *call) {
        Call **b = bucket(c, call->msgid);

        call->hnext = *b;
        *b = call;
        calls_insert(&c->calls, call);
        c->n_calls++;
}

static void inflight_remove(rolesd *c, Call *call) {
        for (Call **b = bucket(c, call->msgid); *b; b = &(*b)->hnext)
                if (*b == call) {
                        *b = call->hnext;
                        break;
                }
        call->hnext = NULL;
        calls_remove(&c->calls, call);
        c->n_calls--;
}

/* Takes every call in flight out of c's tables, into *ret. */
static void inflight_take_all(rolesd *c, CallList *ret) {
        *ret = c->calls;
        c->calls = (CallList) {0};
        if (c->buckets)
                memset(c->buckets, 0, c->n_buckets * sizeof *c->buckets);
        c->n_calls = 0;
}

void call_take(rolesd *c, Call *call) {
        inflight_remove(c, call);
}

/* A msgid no call in flight has (after 2^32 calls, the counter wraps). */
static uint32_t msgid_next(rolesd *c) {
        for (;;) {
                uint32_t id = c->next_msgid++;
                if (!inflight_find(c, id))
                        return id;
        }
}

static void call_free(Call *call) {
        if (call->fd >= 0)
                close(call->fd);
        free(call);
}

void call_complete(rolesd *c, Call *call, const char *frame, size_t len, int error,
                   const rolesd_error *failure) {
        if (!call->cancelled) {
                rolesd_reply reply = {
                        .conn = c,
                        .call = call,
                        .frame = frame,
                        .len = len,
                        .error = error,
                        .failure = failure,
                };

                c->dispatching++;
                call->fn(c, &reply, call->userdata);
                c->dispatching--;
        }
        call_free(call);
}

/* Completes every call of l with the same failure. Returns how many. */
static int calls_fail(rolesd *c, CallList *l, int error, const rolesd_error *failure) {
        int n = 0;

        for (Call *call; (call = l->head); n++) {
                calls_remove(l, call);
                call_complete(c, call, NULL, 0, error, failure);
        }
        return n;
}

void call_cancel(rolesd *c, uint32_t msgid) {
        Call *call = c ? inflight_find(c, msgid) : NULL;

        if (call)
                call->cancelled = true;
}

/* ---- the socket ---- */

static void fd_marks_clear(rolesd *c) {
        for (size_t i = 0; i < c->n_fd_marks; i++)
                if (c->fd_marks[i].fd >= 0)
                        close(c->fd_marks[i].fd);
        c->n_fd_marks = 0;
}

static void conn_close(rolesd *c) {
        fd_marks_clear(c);
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        c->broken = 0;
        buf_done(&c->in);
        buf_done(&c->out);
        c->queued = c->sent = 0;
        scanner_init(&c->scan, ROLESD_RESPONSE_MAX, RPC_DEPTH_MAX);
}

static int conn_open(rolesd *c, rolesd_error *err) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *path = rolesd_socket_path(c->socket_path);
        size_t n = strlen(path);
        int fd, r;

        if (n == 0 || n >= sizeof sa.sun_path) {
                r = -ENAMETOOLONG;
                goto fail;
        }
        memcpy(sa.sun_path, path, n + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                r = negative_errno();
                goto fail;
        }
        /* A Unix socket connects at once, or fails (EAGAIN: its queue is full). */
        while (connect(fd, (const struct sockaddr *) &sa, sizeof sa) < 0) {
                if (errno == EINTR)
                        continue;
                r = negative_errno();
                close(fd);
                goto fail;
        }
        conn_close(c);
        c->fd = fd;
        return 0;
fail:
        /* Whatever the socket said (no such file, refused, permission,
         * queue full): the daemon cannot be reached, nothing was sent. */
        return fail(err, -ECONNREFUSED, ROLESD_UNAVAILABLE, NULL, "cannot connect to %s: %s", path, strerror(-r));
}

/* Sends up to n bytes of c->out, with fd (>= 0) attached to the first. */
static ssize_t conn_send(rolesd *c, size_t n, int fd) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {0};
        struct iovec iov = { .iov_base = (void *) buf_head(&c->out), .iov_len = n };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        struct cmsghdr *cm;

        if (fd < 0)
                return send(c->fd, iov.iov_base, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof control.buf;
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof fd);
        return sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static size_t size_min(size_t a, uint64_t b) {
        return b < a ? (size_t) b : a;
}

/* How much of c->out the next send may take, and the descriptor that
 * goes with it (-1: none): up to the next frame that has one, that frame
 * alone (its descriptor with its first bytes), or everything. */
static size_t send_limit(rolesd *c, int *ret_fd) {
        size_t pending = buf_pending(&c->out);

        *ret_fd = -1;
        while (c->n_fd_marks > 0 && c->fd_marks[0].end <= c->sent) {
                if (c->fd_marks[0].fd >= 0)
                        close(c->fd_marks[0].fd);
                memmove(c->fd_marks, c->fd_marks + 1, --c->n_fd_marks * sizeof *c->fd_marks);
        }
        if (c->n_fd_marks == 0)
                return pending;
        if (c->sent < c->fd_marks[0].start)
                return size_min(pending, c->fd_marks[0].start - c->sent);
        if (c->sent == c->fd_marks[0].start)
                *ret_fd = c->fd_marks[0].fd;
        return size_min(pending, c->fd_marks[0].end - c->sent);
}

/* Sends what the socket takes; a failure marks the connection broken
 * (rolesd_process() drops it, after reading what the daemon sent). */
static void conn_flush(rolesd *c) {
        while (buf_pending(&c->out) > 0) {
                int fd;
                size_t limit = send_limit(c, &fd);
                ssize_t n = conn_send(c, limit, fd);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                c->broken = negative_errno();
                        return;
                }
                if (fd >= 0) {          /* sent with the frame's first bytes: done with it */
                        close(fd);
                        c->fd_marks[0].fd = -1;
                }
                buf_consume(&c->out, (size_t) n);
                c->sent += (uint64_t) n;
        }
}

/* Notes that call's frame, just queued, goes with its descriptor. */
static int fd_mark_add(rolesd *c, const Call *call) {
        int fd;

        if (c->n_fd_marks == c->fd_marks_size) {
                size_t n = c->fd_marks_size ? c->fd_marks_size * 2 : 4;
                FdMark *m = realloc(c->fd_marks, n * sizeof *m);

                if (!m)
                        return -ENOMEM;
                c->fd_marks = m;
                c->fd_marks_size = n;
        }
        fd = fcntl(call->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        c->fd_marks[c->n_fd_marks++] = (FdMark) { call->end - call->len, call->end, fd };
        return 0;
}

/* Queues a call's frame on the connection; when nothing else waited to be
 * sent, sends at once (a socket that is full is the event loop's business:
 * POLLOUT), except from a callback: the calls that callbacks make go out
 * together once they have run (conn_process()), in one send, as a
 * pipelining client's would, not one by one for the daemon to start
 * committing the first alone. 0 or -ENOMEM. */
static int conn_queue(rolesd *c, Call *call) {
        bool idle = buf_pending(&c->out) == 0;

        if (buf_append(&c->out, call->frame, call->len) < 0) {
                c->out.oom = false;     /* what was queued before is intact */
                return -ENOMEM;
        }
        call->end = c->queued + call->len;
        if (call->fd >= 0 && fd_mark_add(c, call) < 0) {
                c->out.len -= call->len;        /* taken back: nothing of it was sent */
                return -ENOMEM;
        }
        c->queued += call->len;
        call->attempts++;
        if (idle && !c->broken && !c->dispatching)
                conn_flush(c);
        return 0;
}

/* Reads what arrived. 0, or why the connection is lost (-ECONNRESET: the
 * daemon closed it). */
static int conn_recv(rolesd *c) {
        for (unsigned round = 0; round < ROLESD_READ_ROUNDS; round++) {
                char *d = buf_reserve(&c->in, ROLESD_READ_CHUNK);
                ssize_t n;

                if (!d)
                        return -ENOMEM;
                n = recv(c->fd, d, ROLESD_READ_CHUNK, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : negative_errno();
                }
                if (n == 0)
                        return -ECONNRESET;
                c->in.len += (size_t) n;
                if ((size_t) n < ROLESD_READ_CHUNK)
                        return 0;       /* drained: no need to ask again */
        }
        return 0;
}

/* ---- submitting ---- */

static int call_submit_fd(rolesd *c, const void *frame, size_t len, const char *method, int fd,
                          rolesd_reply_fn fn, void *userdata, uint32_t *ret_msgid, rolesd_error *err) {
        size_t method_len;
        Call *call;
        int r;

        if (!c || !fn || !method)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no connection or no callback");
        if (c->freeing || c->free_requested)
                return fail(err, -EBUSY, ROLESD_UNAVAILABLE, NULL, "the connection is being freed");
        if (len > RPC_FRAME_MAX)
                return fail(err, -EMSGSIZE, ROLESD_RESOURCE_EXHAUSTED, NULL, "request larger than %u bytes",
                            RPC_FRAME_MAX);
        if (!c->replay) {
                if (buf_pending(&c->out) > ROLESD_UNSENT_MAX)
                        return fail(err, -ENOBUFS, ROLESD_RESOURCE_EXHAUSTED, NULL,
                                    "more than %u bytes of requests wait to be sent to rolesd", ROLESD_UNSENT_MAX);
                if (c->fd < 0) {
                        r = conn_open(c, err);
                        if (r < 0)
                                return r;
                }
        }
        if (inflight_reserve(c) < 0)
                return fail_oom(err);
        method_len = strlen(method);
        call = malloc(sizeof *call + len + method_len + 1);
        if (!call)
                return fail_oom(err);
        *call = (Call) {
                .msgid = msgid_next(c),
                .read_only = method_read_only(method),
                .deadline = c->timeout_usec ? now_usec() + c->timeout_usec : UINT64_MAX,
                .fd = -1,
                .fn = fn,
                .userdata = userdata,
                .len = len,
        };
        if (fd >= 0) {
                call->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (call->fd < 0) {
                        r = negative_errno();
                        free(call);
                        return fail(err, r == -ENOMEM ? r : -EINVAL, r == -ENOMEM ? ROLESD_RESOURCE_EXHAUSTED :
                                    ROLESD_INVALID_ARGUMENT, "fd", "cannot use the descriptor: %s", strerror(-r));
                }
        }
        memcpy(call->frame, frame, len);
        memcpy(call->frame + len, method, method_len + 1);
        call->method = call->frame + len;
        if (!rpc_frame_set_msgid(call->frame, len, call->msgid)) {
                call_free(call);
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "not a request frame");
        }
        inflight_add(c, call);
        if (!c->replay && conn_queue(c, call) < 0) {
                inflight_remove(c, call);
                call_free(call);
                return fail_oom(err);
        }
        if (ret_msgid)
                *ret_msgid = call->msgid;
        return 0;
}

int call_submit(rolesd *c, const void *frame, size_t len, const char *method, rolesd_reply_fn fn,
                void *userdata, uint32_t *ret_msgid, rolesd_error *err) {
        return call_submit_fd(c, frame, len, method, -1, fn, userdata, ret_msgid, err);
}

int request_begin(rolesd *c, const char *method, msgpack_packer *pk, rolesd_error *err) {
        if (!c)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no connection");
        if (!method || !*method || strlen(method) > RPC_METHOD_MAX)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "method", "invalid method name");
        buf_clear(&c->request);
        msgpack_packer_init(pk, &c->request, buf_pack_write);
        if (rpc_pack_request_begin_fixed(pk, 0, method) < 0)
                return fail_oom(err);
        return 0;
}

int request_submit_fd(rolesd *c, const char *method, int pack_r, int fd, rolesd_reply_fn fn, void *userdata,
                      rolesd_error *err) {
        if (pack_r != 0 || c->request.oom)
                return fail_oom(err);
        if (fd >= 0 && c->replay)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "fd", "no descriptor can be sent in replay mode");
        return call_submit_fd(c, buf_head(&c->request), buf_pending(&c->request), method, fd, fn, userdata, NULL,
                              err);
}

int request_submit(rolesd *c, const char *method, int pack_r, rolesd_reply_fn fn, void *userdata,
                   rolesd_error *err) {
        return request_submit_fd(c, method, pack_r, -1, fn, userdata, err);
}

/* ---- failures ---- */

/* What a call fails with when its connection goes (cause: why, a negative
 * errno; why: the same in words, or NULL). A write that was sent may have
 * run: its outcome is unknown, and it says so (-ECONNABORTED when the
 * connection was lost). Any other call had no effect (-ECONNRESET). For
 * every call alike: the connection dropped for a call that got no answer
 * in time is -ETIMEDOUT (the daemon is stuck), freed or reset -ECANCELED,
 * a stream of garbage from the daemon -EBADMSG (ROLESD_INTERNAL). */
static int drop_failure(const rolesd *c, const Call *call, int cause, const char *why, rolesd_error *ret) {
        const char *unknown = call->sent && !call->read_only ? ": whether it took effect is unknown" : "";
        char reason[128];

        if (cause == -EBADMSG)
                return fail(ret, -EBADMSG, ROLESD_INTERNAL, NULL, "%s%s", why, unknown);
        if (cause == -ECANCELED)
                return fail(ret, -ECANCELED, ROLESD_UNAVAILABLE, NULL, "%s with %s in flight%s", why, call->method,
                            unknown);
        if (cause == -ETIMEDOUT)
                return fail(ret, -ETIMEDOUT, ROLESD_UNAVAILABLE, NULL,
                            "rolesd did not answer %s: a call got no answer within %llu ms%s", call->method,
                            (unsigned long long) (c->timeout_usec / 1000), unknown);
        if (why)
                snprintf(reason, sizeof reason, "%s", why);
        else if (cause == -ECONNRESET)
                snprintf(reason, sizeof reason, "the daemon closed it");
        else
                snprintf(reason, sizeof reason, "%s", strerror(-cause));
        if (*unknown)
                return fail(ret, -ECONNABORTED, ROLESD_UNAVAILABLE, NULL,
                            "connection to rolesd lost after %s was sent (%s)%s", call->method, reason, unknown);
        return fail(ret, -ECONNRESET, ROLESD_UNAVAILABLE, NULL, "connection to rolesd lost (%s)", reason);
}

/* Drops the connection (cause, why: as drop_failure()). With again,
 * calls that cannot have run (not sent in full) or that only read go out
 * again on a new connection, once, before their deadline; every other
 * call fails. Returns the number of calls completed. */
static int conn_drop(rolesd *c, int cause, const char *why, bool again_ok) {
        CallList lost, again = {0};
        uint64_t now = now_usec(), sent = c->sent;
        rolesd_error e;
        int n = 0, r = 0;

        inflight_take_all(c, &lost);
        conn_close(c);
        for (Call *call = lost.head, *next; call; call = next) {
                next = call->next;
                call->sent = call->end <= sent;
                if (again_ok && (!call->sent || call->read_only) && call->attempts < ROLESD_CALL_ATTEMPTS &&
                    call->deadline > now) {
                        calls_remove(&lost, call);
                        calls_push(&again, call);
                }
        }

        /* Those going again are in flight before any callback runs. */
        if (again.head)
                r = conn_open(c, &e);
        for (Call *call = again.head, *next; r >= 0 && call; call = next) {
                next = call->next;
                if (inflight_reserve(c) < 0 || conn_queue(c, call) < 0)
                        continue;       /* fails below, out of memory */
                calls_remove(&again, call);
                inflight_add(c, call);
        }
        if (r >= 0)
                r = fail_oom(&e);       /* for those left in again: out of memory */
        n = calls_fail(c, &again, r, &e);

        for (Call *call; (call = lost.head); n++) {
                calls_remove(&lost, call);
                call_complete(c, call, NULL, 0, drop_failure(c, call, cause, why, &e), &e);
        }
        return n;
}

void conn_abort(rolesd *c, int cause, const char *why) {
        (void) conn_drop(c, cause, why, false);
}

/* Whether a frame without a msgid is an error reply, which concerns every
 * call in flight (the daemon refusing this peer, or its protocol error). */
static bool frame_is_error_for_all(const char *frame, size_t size) {
        msgpack_unpacked u;
        RpcMessage m;
        bool yes;

        msgpack_unpacked_init(&u);
        yes = rpc_decode(frame, size, &u, &m, NULL) == 0 && m.type == RPC_RESPONSE && !m.has_msgid &&
              m.error->type == MSGPACK_OBJECT_MAP;
        msgpack_unpacked_destroy(&u);
        return yes;
}

/* A notification [2, method, params]: to the notify callback, params as
 * a JSON array. One that cannot be decoded or converted is dropped (a
 * client ignores what it does not know). */
static void conn_notify(rolesd *c, const char *frame, size_t size) {
        msgpack_unpacked u;
        RpcMessage m;
        json_t *params = NULL, *p = NULL;
        char method[RPC_METHOD_MAX + 1];
        const char *why;

        if (!c->notify)
                return;
        msgpack_unpacked_init(&u);
        if (rpc_decode(frame, size, &u, &m, &why) == 0 && m.type == RPC_NOTIFY && m.method_len <= RPC_METHOD_MAX &&
            (params = json_array()) && (!m.params || mp_to_json(m.params, &p, &why) == 0) &&
            (!p || json_array_append_new(params, p) == 0)) {
                memcpy(method, m.method, m.method_len);
                method[m.method_len] = '\0';
                c->dispatching++;
                c->notify(c, method, params, c->notify_userdata);
                c->dispatching--;
        }
        json_decref(params);
        msgpack_unpacked_destroy(&u);
}

/* Whether a frame is a notification: [2, ... (a fixarray of 3). */
static bool frame_is_notification(const char *frame, size_t size) {
        return size >= 2 && (unsigned char) frame[0] == 0x93 && frame[1] == RPC_NOTIFY;
}

/* Hands each complete response in c->in to its call. Returns the number
 * of calls completed; *ret_why is set when the stream is not one of
 * responses (the connection cannot go on). */
static int conn_dispatch(rolesd *c, const char **ret_why) {
        int n = 0;

        for (;;) {
                size_t size = 0;
                ScanResult s = scanner_feed(&c->scan, buf_head(&c->in), buf_pending(&c->in), &size);
                const char *frame = buf_head(&c->in);
                uint32_t msgid;

                if (s == SCAN_NEED_MORE)
                        return n;
                if (s != SCAN_COMPLETE) {
                        *ret_why = s == SCAN_TOO_BIG ? "invalid reply from rolesd: frame too large" :
                                   s == SCAN_TOO_DEEP ? "invalid reply from rolesd: nested too deeply" :
                                                        "invalid reply from rolesd: not MessagePack";
                        return n;
                }
                if (rpc_frame_msgid(frame, size, RPC_RESPONSE, &msgid)) {
                        Call *call = inflight_find(c, msgid);

                        /* None: the answer to a call given up (cancelled). */
                        if (call) {
                                inflight_remove(c, call);
                                call_complete(c, call, frame, size, 0, NULL);
                                n++;
                        }
                } else if (frame_is_notification(frame, size)) {
                        conn_notify(c, frame, size);
                } else if (frame_is_error_for_all(frame, size)) {
                        CallList all;

                        inflight_take_all(c, &all);
                        for (Call *call; (call = all.head); n++) {
                                calls_remove(&all, call);
                                call_complete(c, call, frame, size, 0, NULL);
                        }
                } else {
                        *ret_why = "invalid reply from rolesd: not a response to a call";
                        return n;
                }
                buf_consume(&c->in, size);
        }
}

/* Fails the calls whose deadline passed. The daemon left them unanswered
 * that long: it may hold the others too, so the connection is dropped as
 * if lost (those that cannot have run, or only read, go to a new one; what
 * was never sent goes with the old one rather than run after its caller
 * was told it failed). Returns the number of calls completed. */
static int conn_expire(rolesd *c) {
        CallList expired = {0};
        rolesd_error e;
        uint64_t now;
        int n = 0;

        if (!c->calls.head || c->calls.head->deadline == UINT64_MAX)
                return 0;
        now = now_usec();
        while (c->calls.head && c->calls.head->deadline <= now) {
                Call *call = c->calls.head;

                inflight_remove(c, call);
                call->sent = c->fd >= 0 && call->end <= c->sent;
                calls_push(&expired, call);
        }
        if (!expired.head)
                return 0;
        if (c->fd >= 0)
                n = conn_drop(c, -ETIMEDOUT, NULL, true);
        for (Call *call; (call = expired.head); n++) {
                calls_remove(&expired, call);
                (void) fail(&e, -ETIMEDOUT, ROLESD_UNAVAILABLE, NULL, "rolesd did not answer %s within %llu ms%s",
                            call->method, (unsigned long long) (c->timeout_usec / 1000),
                            call->sent && !call->read_only ? ": whether it took effect is unknown" : "");
                call_complete(c, call, NULL, 0, -ETIMEDOUT, &e);
        }
        return n;
}

/* After callbacks ran from an entry point: a free asked for by one of
 * them happens now. */
static int entry_end(rolesd *c, int r) {
        if (c->free_requested) {
                c->free_requested = false;
                rolesd_free(c);
        }
        return r;
}

/* ---- the connection ---- */

int rolesd_new(const char *path, rolesd **ret) {
        rolesd *c;

        if (!ret)
                return -EINVAL;
        *ret = NULL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->next_msgid = 1;
        c->timeout_usec = ROLESD_TIMEOUT_DEFAULT_USEC;
        msgpack_unpacked_init(&c->unpacked);
        scanner_init(&c->scan, ROLESD_RESPONSE_MAX, RPC_DEPTH_MAX);
        if (path) {
                c->socket_path = strdup(path);
                if (!c->socket_path) {
                        free(c);
                        return -ENOMEM;
                }
        }
        *ret = c;
        return 0;
}

int rolesd_connect(const char *path, rolesd **ret, rolesd_error *err) {
        rolesd *c;
        int r;

        error_clear(err);
        if (!ret)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no place to return the connection");
        *ret = NULL;
        r = rolesd_new(path, &c);
        if (r < 0)
                return r == -ENOMEM ? fail_oom(err) : fail(err, r, ROLESD_INVALID_ARGUMENT, NULL, "invalid argument");
        r = conn_open(c, err);
        if (r < 0) {
                rolesd_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int rolesd_set_notify(rolesd *c, rolesd_notify_fn fn, void *userdata) {
        if (!c)
                return -EINVAL;
        c->notify = fn;
        c->notify_userdata = userdata;
        return 0;
}

int rolesd_set_timeout(rolesd *c, uint64_t usec) {
        if (!c)
                return -EINVAL;
        c->timeout_usec = usec;
        return 0;
}

int rolesd_reset(rolesd *c) {
        if (!c)
                return -EINVAL;
        if (c->dispatching)
                return -EBUSY;
        conn_abort(c, -ECANCELED, "connection to rolesd reset");
        return entry_end(c, 0);
}

rolesd *rolesd_free(rolesd *c) {
        if (!c)
                return NULL;
        if (c->dispatching) {
                /* From a callback: once the callbacks return. */
                c->free_requested = true;
                return NULL;
        }
        c->freeing = true;      /* the callbacks below may not make new calls */
        conn_abort(c, -ECANCELED, "connection to rolesd closed");
        conn_close(c);
        c->replay = replay_free(c->replay);
        free(c->buckets);
        free(c->fd_marks);
        buf_done(&c->request);
        msgpack_unpacked_destroy(&c->unpacked);
        free(c->socket_path);
        free(c);
        return NULL;
}

/* ---- the event loop's side ---- */

int rolesd_get_fd(rolesd *c) {
        if (!c)
                return -EINVAL;
        return c->fd >= 0 ? c->fd : -ENOTCONN;
}

int rolesd_get_events(rolesd *c) {
        if (!c || c->fd < 0)
                return 0;
        return POLLIN | (buf_pending(&c->out) > 0 && !c->broken ? POLLOUT : 0);
}

int rolesd_get_timeout(rolesd *c, uint64_t *ret_usec) {
        if (!c || !ret_usec)
                return -EINVAL;
        if (c->broken || (c->replay && c->calls.head))
                *ret_usec = 0;          /* work to do at once */
        else
                *ret_usec = c->calls.head ? c->calls.head->deadline : UINT64_MAX;
        return 0;
}

static int conn_process(rolesd *c) {
        const char *why = NULL;
        int n = 0, r;

        if (c->replay)
                return replay_process(c);
        if (c->fd >= 0) {
                if (!c->broken)
                        conn_flush(c);
                /* Even when sending failed, the daemon may have answered
                 * (refusing this peer, say) before closing: read it. */
                r = conn_recv(c);
                n += conn_dispatch(c, &why);
                if (why)
                        r = -EBADMSG;
                else if (r == 0) {
                        conn_flush(c);          /* what the callbacks queued */
                        r = c->broken;
                }
                if (r < 0)
                        n += conn_drop(c, r, why, true);
        }
        return n + conn_expire(c);
}

int rolesd_process(rolesd *c) {
        if (!c)
                return -EINVAL;
        if (c->dispatching)
                return -EBUSY;
        return entry_end(c, conn_process(c));
}

int rolesd_wait(rolesd *c, uint64_t timeout_usec) {
        if (!c)
                return -EINVAL;
        if (c->dispatching)
                return -EBUSY;
        if (c->fd < 0 && !c->replay)
                return -ENOTCONN;
        if (c->fd >= 0 && !c->broken) {
                struct pollfd p = { .fd = c->fd, .events = (short) rolesd_get_events(c) };
                uint64_t now = now_usec(), until, deadline;
                int ms;

                until = timeout_usec >= UINT64_MAX - now ? UINT64_MAX : now + timeout_usec;
                (void) rolesd_get_timeout(c, &deadline);
                if (deadline < until)
                        until = deadline;
                if (until == UINT64_MAX)
                        ms = -1;
                else if (until <= now)
                        ms = 0;
                else
                        ms = (until - now + 999) / 1000 > INT_MAX ? INT_MAX : (int) ((until - now + 999) / 1000);
                if (poll(&p, 1, ms) < 0)
                        return errno == EINTR ? 0 : negative_errno();
        }
        return entry_end(c, conn_process(c));
}
