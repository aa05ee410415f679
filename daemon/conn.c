/* conn.c: the client connections. Each reads into its input buffer, cuts
 * it into frames with the resumable scanner (size and depth limits
 * enforced as bytes arrive), hands each frame to dispatch.c, and writes
 * its output buffer back. Session consistency: a read that arrives while
 * the connection's own writes are in flight stays in the input buffer,
 * and no frame is cut behind it, until they completed; writes behind
 * writes go on pipelining, other connections are not concerned. Flow control: input is not read while too many
 * writes are in flight or too many reply bytes are waiting for the peer; a
 * peer whose pending replies pass the hard limit is dropped. After a
 * protocol error the peer gets its error reply, then the connection closes
 * (others carry on). Writes come back through write_done(), and the
 * replies of one delivery go out in one send per connection: the first
 * completion arms a deferred flush, which the loop runs once the writer's
 * delivery is over. The set watches every socket in one epoll.
 *
 * Watches (changes.watch, one per connection): a watch first reads its
 * history from the log, a page per read transaction while the
 * connection's unsent output is short, up to the revision the feed has
 * published; then it is live, and each change the manager publishes is
 * encoded once and its bytes appended to every live watch it concerns.
 * A watch whose connection's unsent output passes the soft limit (a
 * reader that stopped), or whose history was trimmed before it was read,
 * ends with changes.lost; the connection and its calls go on.
 *
 * Descriptors: a connection reads with recvmsg and keeps the descriptors
 * that come (SCM_RIGHTS, at most CONN_FDS_MAX), each with the stream
 * position of the last byte read with it: the kernel hands them over with
 * the bytes of the send that carried them and reads no further in that
 * recvmsg, so they belong to the frame that holds that position. That
 * frame may take one (db.backup); the others, and any not taken, are
 * closed once it is dispatched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "limits.h"
#include "log.h"
#include "store.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/scan.h"

typedef struct Conn Conn;

/* A connection's changes.watch. */
/* A descriptor received, and the stream position of the last byte read with it. */
typedef struct HeldFd {
        int fd;
        uint64_t pos;
} HeldFd;

typedef struct Watch {
        uint32_t id;                    /* the msgid of its changes.watch */
        bool has_org;
        uint64_t org;                   /* has_org: that organization's changes only */
        uint64_t last;                  /* the last revision sent (or after, at first) */
        bool live;                      /* caught up: in the set's live list */
        Conn *live_prev, *live_next;
} Watch;

struct ConnSet {
        sd_event *event;
        Dispatcher *dispatch;
        ConnSetConfig cfg;
        Conn *conns;                    /* open connections */
        unsigned n_conns;
        int epoll;                      /* their sockets, one source of the loop */
        sd_event_source *source;
        Conn *flush_list;               /* got replies from the writer, not yet sent */
        sd_event_source *flush_source;  /* deferred: sends them after the delivery */
        bool stopping;                  /* answer what is due, read nothing new */
        /* The change feed: */
        uint64_t published;             /* changes up to this revision went to the live watches */
        Conn *live;                     /* connections whose watch is live */
        unsigned n_watches;
        Buf notification;               /* one change's notification, encoded once */
};

struct Conn {
        ConnSet *set;
        Conn *prev, *next;              /* in set->conns */
        int fd;                         /* -1 once closed */
        uint32_t events;                /* watched in the set's epoll; 0: not in it */
        Conn *flush_next;               /* in set->flush_list, holding a reference */
        bool flush_queued;
        bool held;                      /* the next frame is a read waiting for our writes in flight */
        Buf in, out;
        Scanner scan;
        unsigned refs;                  /* the set's own, plus one per queued write */
        unsigned inflight;              /* writes queued, not yet answered */
        bool read_eof;                  /* the peer will send no more */
        bool closing;                   /* protocol error or shutdown: send what is due, then close */
        uint64_t last_activity;         /* CLOCK_MONOTONIC usec of the last read or write */
        uint64_t last_progress;         /* usec when the output buffer last shrank or was empty */
        uid_t uid;
        pid_t pid;
        StorePeer peer;                 /* uid, gid, pid: the principal of our writes */
        Session session;                /* what changes.watch and changes.unwatch act on */
        Watch *watch;                   /* NULL: none */
        uint64_t in_pos;                /* stream position of the input buffer's head */
        HeldFd fds[CONN_FDS_MAX];       /* descriptors received, not yet taken or closed */
        unsigned n_fds;
};

static void hook(void (*fn)(void *), void *userdata) {
        if (fn)
                fn(userdata);
}

static bool peer_allowed(int fd, bool has_gid, gid_t gid, struct ucred *ret_cred) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        gid_t groups[256];
        socklen_t glen = sizeof groups;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        *ret_cred = cred;
        if (cred.uid == 0 || cred.uid == geteuid())
                return true;
        if (!has_gid)
                return false;
        if (cred.gid == gid)
                return true;
        /* Supplementary groups of the peer, as the kernel recorded them at connect(). */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) < 0)
                return false;
        for (size_t i = 0; i < glen / sizeof(gid_t); i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

/* Best effort: one error frame to a connection we will not serve. */
static void send_refusal(int fd, RpcCode code, const char *message) {
        msgpack_packer pk;
        Buf b = {0};

        msgpack_packer_init(&pk, &b, buf_pack_write);
        if (rpc_pack_error(&pk, false, 0, code, message, NULL) >= 0 && !b.oom)
                (void) send(fd, buf_head(&b), buf_pending(&b), MSG_NOSIGNAL | MSG_DONTWAIT);
        buf_done(&b);
}

/* Watches events on the socket in the set's epoll; 0 removes it (epoll
 * reports hangups even for an empty event set). */
static int watch(Conn *c, uint32_t events) {
        struct epoll_event ev = { .events = events, .data.ptr = c };
        int op = events == 0 ? EPOLL_CTL_DEL : c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

        if (events == c->events)
                return 0;
        if (epoll_ctl(c->set->epoll, op, c->fd, &ev) < 0)
                return -errno;
        c->events = events;
        return 0;
}

/* ---- descriptors ---- */

static void fds_close(Conn *c, uint64_t before) {
        unsigned k = 0;

        for (unsigned i = 0; i < c->n_fds; i++) {
                if (c->fds[i].pos < before)
                        close(c->fds[i].fd);
                else
                        c->fds[k++] = c->fds[i];
        }
        c->n_fds = k;
}

/* Keeps the descriptors of a control message, the last byte read with
 * them at stream position pos; beyond CONN_FDS_MAX they are closed. */
static void fds_receive(Conn *c, struct msghdr *mh, uint64_t pos) {
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                size_t n;

                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
                        if (c->n_fds < CONN_FDS_MAX) {
                                c->fds[c->n_fds++] = (HeldFd) { .fd = fd, .pos = pos };
                                continue;
                        }
                        log_warning("pid %d sent more than %u descriptors at once; closing the rest",
                                    (int) c->pid, CONN_FDS_MAX);
                        close(fd);
                }
        }
        if (mh->msg_flags & MSG_CTRUNC)
                log_warning("pid %d sent more descriptors than a message may carry; the kernel closed the rest",
                            (int) c->pid);
}

/* The first descriptor of the frame ending before stream position end,
 * or -1; it stays held (fds_close after the dispatch closes it unless it
 * was taken: then its slot says -1). */
static int *frame_fd(Conn *c, uint64_t end) {
        for (unsigned i = 0; i < c->n_fds; i++)
                if (c->fds[i].pos < end && c->fds[i].fd >= 0)
                        return &c->fds[i].fd;
        return NULL;
}

/* ---- watches ---- */

static void conn_queue_flush(Conn *c);
static Conn *conn_ref(Conn *c);

static void live_add(Conn *c) {
        ConnSet *s = c->set;
        Watch *w = c->watch;

        w->live = true;
        w->live_prev = NULL;
        w->live_next = s->live;
        if (s->live)
                s->live->watch->live_prev = c;
        s->live = c;
}

static void live_remove(Conn *c) {
        ConnSet *s = c->set;
        Watch *w = c->watch;

        if (!w->live)
                return;
        if (w->live_prev)
                w->live_prev->watch->live_next = w->live_next;
        else
                s->live = w->live_next;
        if (w->live_next)
                w->live_next->watch->live_prev = w->live_prev;
        w->live = false;
        w->live_prev = w->live_next = NULL;
}

static void watch_free(Conn *c) {
        if (!c->watch)
                return;
        live_remove(c);
        free(c->watch);
        c->watch = NULL;
        c->set->n_watches--;
}

/* The watch ends: [2, "changes.lost", [{revision, watch}]] after what it
 * was sent, so the client knows where to resume. */
static void watch_lost(Conn *c, const char *why) {
        Watch *w = c->watch;
        msgpack_packer pk;

        log_warning("Watch %u of pid %d uid %u lost at revision %llu: %s", (unsigned) w->id, (int) c->pid,
                    (unsigned) c->uid, (unsigned long long) w->last, why);
        msgpack_packer_init(&pk, &c->out, buf_pack_write);
        (void) rpc_pack_notify_begin(&pk, "changes.lost");
        (void) msgpack_pack_map(&pk, 2);
        (void) mp_pack_kv_u64(&pk, "revision", w->last);
        (void) mp_pack_kv_u64(&pk, "watch", w->id);
        watch_free(c);
        fds_close(c, UINT64_MAX);
}

static int session_watch(void *userdata, uint32_t id, uint64_t after, const uint64_t *org, uint64_t *ret_watching) {
        Conn *c = userdata;
        Watch *w;

        if (c->watch) {
                *ret_watching = c->watch->id;
                return -EBUSY;
        }
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (Watch) { .id = id, .has_org = !!org, .org = org ? *org : 0, .last = after };
        c->watch = w;
        c->set->n_watches++;
        return 0;       /* conn_kick reads its history once the reply is out */
}

static int session_unwatch(void *userdata, uint32_t id, uint64_t *ret_last) {
        Conn *c = userdata;

        if (!c->watch || c->watch->id != id)
                return -ENOENT;
        *ret_last = c->watch->last;
        watch_free(c);
        return 0;
}

typedef struct Pump {
        Conn *c;
        size_t bytes;
        bool caught_up;                 /* met a record past the published revision */
} Pump;

static int pump_visit(uint64_t revision, const void *record, size_t len, void *userdata) {
        Pump *p = userdata;
        Conn *c = p->c;
        size_t before = buf_pending(&c->out);
        msgpack_packer pk;

        if (revision > c->set->published) {
                p->caught_up = true;
                return 1;
        }
        if (buf_pending(&c->out) >= FEED_PUMP_LOW)
                return 1;
        msgpack_packer_init(&pk, &c->out, buf_pack_write);
        if (rpc_pack_notify_begin(&pk, "changes.event") < 0 || mp_pack_raw(&pk, record, len) < 0)
                return -ENOMEM;
        c->watch->last = revision;
        p->bytes += buf_pending(&c->out) - before;
        return 0;
}

/* The watch still reads its history. */
static bool history_due(const Conn *c) {
        return c->watch && !c->watch->live;
}

/* Appends a page of the watch's history (the records after its last, up
 * to the published revision); once none is left, the watch is live.
 * Returns the bytes appended. */
static size_t conn_pump(Conn *c) {
        Store *store = c->set->cfg.store;
        Watch *w = c->watch;
        Pump p = { .c = c };
        uint64_t compacted;
        MDB_txn *txn = NULL;
        bool more = false;
        int r;

        r = store_read_begin(store, &txn);
        if (r >= 0)
                r = store_changes_horizon(store, txn, &compacted, NULL);
        if (r >= 0 && w->last + 1 < compacted) {
                store_read_end(store, txn);
                watch_lost(c, "its history was trimmed from the log before it was read");
                return 0;
        }
        if (r >= 0)
                r = store_changes_list(store, txn, w->last, w->has_org ? &w->org : NULL, FEED_PUMP_PAGE, pump_visit,
                                       &p, &more);
        store_read_end(store, txn);
        if (r < 0) {
                log_error_errno(r, "Cannot read the change log for watch %u of pid %d", (unsigned) w->id, (int) c->pid);
                watch_lost(c, "the change log could not be read");
                return p.bytes;
        }
        if (p.caught_up || !more) {
                /* Everything up to the published revision was sent (records of
                 * other organizations in between are not this watch's). */
                if (w->last < c->set->published)
                        w->last = c->set->published;
                live_add(c);
        }
        return p.bytes;
}

void conn_set_publish(ConnSet *s, uint64_t revision, uint64_t org, const void *record, size_t len) {
        msgpack_packer pk;

        s->published = revision;
        if (!s->live)
                return;         /* nobody to tell: nothing to encode */
        buf_clear(&s->notification);
        msgpack_packer_init(&pk, &s->notification, buf_pack_write);
        if (rpc_pack_notify_begin(&pk, "changes.event") < 0 || mp_pack_raw(&pk, record, len) < 0 ||
            s->notification.oom) {
                buf_done(&s->notification);
                log_error("Out of memory for change %llu; its live watches are lost", (unsigned long long) revision);
        }
        for (Conn *c = s->live, *next; c; c = next) {
                Watch *w = c->watch;

                next = w->live_next;
                if (revision <= w->last || (w->has_org && w->org != org))
                        continue;
                if (buf_pending(&s->notification) == 0 ||
                    buf_append(&c->out, buf_head(&s->notification), buf_pending(&s->notification)) < 0) {
                        c->out.oom = false;
                        watch_lost(c, "out of memory");
                } else {
                        w->last = revision;
                        /* A reader that stopped: its watch ends, nobody waits for it. */
                        if (buf_pending(&c->out) > CONN_OUTBUF_SOFT)
                                watch_lost(c, "it stopped reading (its unsent output passed the soft limit)");
                }
                conn_queue_flush(c);
        }
}

void conn_set_published(ConnSet *s, uint64_t revision) {
        if (revision > s->published)
                s->published = revision;
}

unsigned conn_set_watches(const ConnSet *s) {
        return s->n_watches;
}

int conn_add(ConnSet *s, int fd, bool has_gid, gid_t socket_gid) {
        struct ucred cred = {0};
        Conn *c;
        int r;

        if (!peer_allowed(fd, has_gid, socket_gid, &cred)) {
                log_warning("Refused connection from pid %d uid %u gid %u: not root, not our user, not in the socket's group",
                            (int) cred.pid, (unsigned) cred.uid, (unsigned) cred.gid);
                send_refusal(fd, RPC_PERMISSION_DENIED, "peer is not authorized to use rolesd");
                close(fd);
                return -EACCES;
        }
        if (s->n_conns >= s->cfg.max_conns) {
                log_warning("Refused connection from pid %d uid %u: %u connections already open",
                            (int) cred.pid, (unsigned) cred.uid, s->n_conns);
                send_refusal(fd, RPC_RESOURCE_EXHAUSTED, "too many connections");
                close(fd);
                return -EUSERS;
        }

        c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        c->set = s;
        c->fd = fd;
        c->refs = 1;
        c->uid = cred.uid;
        c->pid = cred.pid;
        c->peer = (StorePeer) { .uid = cred.uid, .gid = cred.gid, .pid = cred.pid };
        c->session = (Session) { .watch = session_watch, .unwatch = session_unwatch, .userdata = c };
        c->last_activity = c->last_progress = now_usec();
        scanner_init(&c->scan, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        c->scan.element_limit = RPC_ELEMENTS_MAX;

        r = watch(c, EPOLLIN);
        if (r < 0) {
                close(fd);
                free(c);
                return r;
        }

        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        log_debug("Connection from pid %d uid %u", (int) cred.pid, (unsigned) cred.uid);
        return 0;
}

static Conn *conn_ref(Conn *c) {
        c->refs++;
        return c;
}

static Conn *conn_unref(Conn *c) {
        if (!c)
                return NULL;
        if (--c->refs > 0)
                return NULL;
        if (c->fd >= 0) {
                (void) watch(c, 0);
                close(c->fd);
        }
        fds_close(c, UINT64_MAX);
        buf_done(&c->in);
        buf_done(&c->out);
        free(c);
        return NULL;
}

/* Closes the socket and unlinks from the set; the struct lives on while
 * queued writes still reference it. */
static void conn_close(Conn *c) {
        ConnSet *s = c->set;

        if (c->fd < 0)
                return;
        (void) watch(c, 0);
        close(c->fd);
        c->fd = -1;
        watch_free(c);
        buf_done(&c->in);
        buf_done(&c->out);

        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
        s->n_conns--;

        hook(s->cfg.closed, s->cfg.userdata);
        conn_unref(c);          /* the set's reference */
}

static void protocol_error(Conn *c, ScanResult sr) {
        msgpack_packer pk;
        uint32_t msgid = 0;
        bool has_msgid = rpc_frame_msgid(buf_head(&c->in), buf_pending(&c->in), RPC_REQUEST, &msgid);
        RpcCode code = sr == SCAN_TOO_BIG ? RPC_RESOURCE_EXHAUSTED : RPC_INVALID_ARGUMENT;
        char message[96];

        if (sr == SCAN_TOO_BIG)
                snprintf(message, sizeof message, "frame exceeds the limit of %u bytes or %u elements",
                         RPC_FRAME_MAX, RPC_ELEMENTS_MAX);
        else if (sr == SCAN_TOO_DEEP)
                snprintf(message, sizeof message, "frame nests deeper than %u levels", RPC_DEPTH_MAX);
        else
                snprintf(message, sizeof message, "frame is not valid MessagePack");

        log_warning("Closing connection of pid %d uid %u: %s", (int) c->pid, (unsigned) c->uid, message);
        msgpack_packer_init(&pk, &c->out, buf_pack_write);
        (void) rpc_pack_error(&pk, has_msgid, msgid, code, message, NULL);
        c->closing = true;
        buf_clear(&c->in);
        fds_close(c, UINT64_MAX);
}

/* Whether no frame may be cut now. A held read waits until every write
 * of the connection completed; the frames behind it wait with it, so
 * the connection's calls keep their order. */
static bool input_blocked(Conn *c) {
        return c->closing || c->fd < 0 || c->inflight >= CONN_INFLIGHT_MAX ||
               buf_pending(&c->out) >= CONN_OUTBUF_SOFT || (c->held && c->inflight > 0);
}

static void write_done(WriteOp *op, void *userdata);

/* Dispatches every complete frame in the input buffer, as long as the
 * connection is allowed to take more work. Returns the number dispatched. */
static unsigned conn_process(Conn *c) {
        unsigned n = 0;

        while (!input_blocked(c)) {
                size_t size = 0;
                DispatchResult r;
                ScanResult sr;

                sr = scanner_feed(&c->scan, buf_head(&c->in), buf_pending(&c->in), &size);
                if (sr == SCAN_NEED_MORE)
                        break;
                if (sr != SCAN_COMPLETE) {
                        protocol_error(c, sr);
                        break;
                }
                r = dispatch_frame(c->set->dispatch, buf_head(&c->in), size, &(DispatchCaller) {
                        .peer = &c->peer, .writes_pending = c->inflight > 0, .out = &c->out,
                        .done = write_done, .userdata = c, .session = &c->session,
                        .fd = frame_fd(c, c->in_pos + size),
                });
                c->held = r == DISPATCH_HELD;
                if (c->held)
                        break;          /* the frame stays; cut again once inflight is 0 */
                if (r == DISPATCH_QUEUED) {
                        c->inflight++;          /* its reply comes through write_done() */
                        conn_ref(c);
                }
                buf_consume(&c->in, size);
                c->in_pos += size;
                fds_close(c, c->in_pos);        /* the frame's, unless it took one */
                n++;
        }
        return n;
}

static int conn_read(Conn *c) {
        size_t total = 0;

        while (total < CONN_READ_BUDGET && !input_blocked(c)) {
                char *p = buf_reserve(&c->in, CONN_READ_CHUNK);
                union {
                        struct cmsghdr align;
                        char buf[CMSG_SPACE(CONN_FDS_MAX * sizeof(int))];
                } control;
                struct iovec iov;
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                                     .msg_controllen = sizeof control.buf };
                ssize_t n;

                if (!p)
                        return -ENOMEM;
                iov = (struct iovec) { .iov_base = p, .iov_len = CONN_READ_CHUNK };
                n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        return -errno;
                }
                if (mh.msg_controllen > 0)
                        fds_receive(c, &mh, c->in_pos + buf_pending(&c->in) + (size_t) (n > 0 ? n - 1 : 0));
                if (n == 0) {
                        c->read_eof = true;
                        break;
                }
                c->in.len += (size_t) n;
                total += (size_t) n;
                c->last_activity = now_usec();
                conn_process(c);
                if (c->fd < 0)
                        return 0;
                if ((size_t) n < CONN_READ_CHUNK)
                        break;  /* drained for now; epoll says when more comes (saves a recv) */
        }
        return 0;
}

static int conn_send(Conn *c) {
        while (buf_pending(&c->out) > 0) {
                ssize_t n = send(c->fd, buf_head(&c->out), buf_pending(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                buf_consume(&c->out, (size_t) n);
                c->last_activity = c->last_progress = now_usec();
        }
        return 0;
}

/* Decides what to wait for next, or closes when nothing more is due. */
static void conn_kick(Conn *c) {
        uint32_t events = 0;
        int r;

        if (c->fd < 0)
                return;
        if (c->out.oom) {
                log_error("Out of memory for the replies of pid %d; closing", (int) c->pid);
                conn_close(c);
                return;
        }
        if (buf_pending(&c->out) > CONN_OUTBUF_HARD) {
                log_warning("Closing connection of pid %d uid %u: %zu reply bytes unread",
                            (int) c->pid, (unsigned) c->uid, buf_pending(&c->out));
                conn_close(c);
                return;
        }
        /* Frames left in the buffer (input was blocked when they arrived) are
         * processed now; no new bytes need to arrive for that. Each round
         * consumes at least one frame, so this ends. */
        for (size_t budget = FEED_PUMP_BUDGET;;) {
                unsigned n = 0;
                size_t pumped = 0;

                if (!input_blocked(c) && buf_pending(&c->in) > 0)
                        n = conn_process(c);
                if (c->fd < 0)
                        return;
                /* A watch reading its history: more of it while the output is
                 * short, up to a budget per wakeup (then EPOLLOUT, below, brings
                 * it back after the other connections had their turn). */
                if (history_due(c) && buf_pending(&c->out) < FEED_PUMP_LOW && budget > 0) {
                        pumped = conn_pump(c);
                        budget = pumped < budget ? budget - pumped : 0;
                }
                r = conn_send(c);
                if (r < 0) {
                        log_debug_errno(r, "Write to pid %d failed", (int) c->pid);
                        conn_close(c);
                        return;
                }
                if ((n == 0 && pumped == 0) || buf_pending(&c->out) > 0)
                        break;
        }
        if (buf_pending(&c->out) == 0) {
                c->last_progress = now_usec();
                /* A burst (say, thousands of pipelined replies) grew the
                 * buffer: give the memory back rather than keep it per client. */
                if (c->out.cap > CONN_BUF_KEEP) {
                        buf_done(&c->out);
                        hook(c->set->cfg.released, c->set->cfg.userdata);
                }
        }
        if (buf_pending(&c->in) == 0 && c->in.cap > CONN_BUF_KEEP) {
                buf_done(&c->in);
                hook(c->set->cfg.released, c->set->cfg.userdata);
        }

        if ((c->closing || c->read_eof || c->set->stopping) && c->inflight == 0 &&
            buf_pending(&c->out) == 0) {
                conn_close(c);
                return;
        }

        if (!input_blocked(c) && !c->read_eof && !c->set->stopping)
                events |= EPOLLIN;
        if (buf_pending(&c->out) > 0 || history_due(c))
                events |= EPOLLOUT;
        r = watch(c, events);
        if (r < 0) {
                log_error_errno(r, "Cannot update events of a connection");
                conn_close(c);
        }
}

static void conn_stop(Conn *c) {
        int r;

        conn_ref(c);
        r = conn_read(c);
        if (r < 0 && c->fd >= 0)
                conn_close(c);
        conn_kick(c);
        conn_unref(c);
}

static void conn_on_io(Conn *c, uint32_t revents) {
        int r = 0;

        if (c->fd < 0)
                return;
        conn_ref(c);
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                r = conn_read(c);
        if (r < 0 && c->fd >= 0) {
                log_debug_errno(r, "Read from pid %d failed", (int) c->pid);
                conn_close(c);
        }
        conn_kick(c);
        conn_unref(c);
}

/* A queued write is done: its reply joins the output, sent by the
 * deferred flush (on_flush), so that a pipelining client gets the replies
 * of one commit in one write. */
static void write_done(WriteOp *op, void *userdata) {
        Conn *c = userdata;

        c->inflight--;
        if (c->fd >= 0) {
                dispatch_write_reply(op, &c->out);
                conn_queue_flush(c);
        }
        dispatch_write_free(op);
        conn_unref(c);
}

/* Sends c's output (and reads on) once the loop is done with the
 * delivery or publication in progress. */
static void conn_queue_flush(Conn *c) {
        ConnSet *s = c->set;

        if (c->flush_queued || c->fd < 0)
                return;
        if (!s->flush_list)
                (void) sd_event_source_set_enabled(s->flush_source, SD_EVENT_ONESHOT);
        c->flush_queued = true;
        c->flush_next = s->flush_list;
        s->flush_list = conn_ref(c);
}

/* ---- the set ---- */

static void flush(ConnSet *s) {
        while (s->flush_list) {
                Conn *c = s->flush_list;

                s->flush_list = c->flush_next;
                c->flush_next = NULL;
                c->flush_queued = false;
                conn_kick(c);
                conn_unref(c);
        }
}

static int on_flush(sd_event_source *source, void *userdata) {
        flush(userdata);
        return 0;
}

unsigned conn_set_count(const ConnSet *s) {
        return s->n_conns;
}

void conn_set_sweep(ConnSet *s, uint64_t now) {
        for (Conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (buf_pending(&c->out) > 0 && now > c->last_progress + s->cfg.stall_timeout_usec) {
                        log_warning("Closing connection of pid %d uid %u: it has not read its replies for %llus",
                                    (int) c->pid, (unsigned) c->uid,
                                    (unsigned long long) (s->cfg.stall_timeout_usec / 1000000ull));
                        conn_close(c);
                } else if (c->inflight == 0 && buf_pending(&c->out) == 0 && !c->watch &&
                           now > c->last_activity + s->cfg.idle_timeout_usec) {
                        log_debug("Closing idle connection of pid %d", (int) c->pid);
                        conn_close(c);
                }
        }
}

void conn_set_stop(ConnSet *s) {
        s->stopping = true;
        for (Conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                conn_stop(c);
        }
}

void conn_set_close_all(ConnSet *s) {
        while (s->conns)
                conn_close(s->conns);
}

/* Every client socket is in one epoll set, which is one source of the
 * loop: a dispatch serves all the connections that are ready. (With a
 * source per connection, sd-event makes an epoll_wait() per connection
 * served: one per request under load.) */
static int on_conns(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct epoll_event evs[CONN_EVENTS_MAX];
        int n;

        n = epoll_wait(fd, evs, (int) ELEMENTSOF(evs), 0);
        if (n < 0)
                return errno == EINTR ? 0 : log_error_errno(errno, "Cannot wait for connections");
        /* Serving one may close another of this batch: hold them all. */
        for (int i = 0; i < n; i++)
                conn_ref(evs[i].data.ptr);
        for (int i = 0; i < n; i++)
                conn_on_io(evs[i].data.ptr, evs[i].events);
        for (int i = 0; i < n; i++)
                conn_unref(evs[i].data.ptr);
        return 0;
}

int conn_set_new(sd_event *e, Dispatcher *d, const ConnSetConfig *cfg, ConnSet **ret) {
        ConnSet *s;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->event = e;
        s->dispatch = d;
        s->cfg = *cfg;
        s->published = cfg->published;
        if (!s->cfg.max_conns)
                s->cfg.max_conns = CONN_MAX_DEFAULT;
        if (!s->cfg.idle_timeout_usec)
                s->cfg.idle_timeout_usec = CONN_IDLE_TIMEOUT_USEC;
        if (!s->cfg.stall_timeout_usec)
                s->cfg.stall_timeout_usec = CONN_STALL_TIMEOUT_USEC;
        s->epoll = epoll_create1(EPOLL_CLOEXEC);
        if (s->epoll < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(e, &s->source, s->epoll, EPOLLIN, on_conns, s);
        if (r < 0)
                goto fail;
        /* After the writer's delivery, and before new input is read (the
         * writer's source has the same priority). */
        r = sd_event_add_defer(e, &s->flush_source, on_flush, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->flush_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->flush_source, SD_EVENT_OFF);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        conn_set_free(s);
        return r;
}

ConnSet *conn_set_free(ConnSet *s) {
        if (!s)
                return NULL;
        s->cfg.closed = s->cfg.released = NULL;        /* the owner is going away */
        conn_set_close_all(s);
        flush(s);
        buf_done(&s->notification);
        sd_event_source_disable_unref(s->flush_source);
        sd_event_source_disable_unref(s->source);
        if (s->epoll >= 0)
                close(s->epoll);
        free(s);
        return NULL;
}
