/* conn.c: one client connection. Reads into the input buffer, cuts it into
 * frames with the resumable scanner (size and depth limits enforced as
 * bytes arrive), hands each frame to dispatch.c, and writes the output
 * buffer back. Flow control: input is not read while too many writes are
 * in flight or too many reply bytes are waiting for the peer; a peer whose
 * pending replies pass the hard limit is dropped. After a protocol error
 * the peer gets its error reply, then the connection closes (others carry
 * on). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "dispatch.h"
#include "limits.h"
#include "log.h"
#include "manager.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/rpc.h"

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

/* Watches events on the socket in the manager's connection epoll; 0
 * removes it (epoll reports hangups even for an empty event set). */
static int watch(Conn *c, uint32_t events) {
        struct epoll_event ev = { .events = events, .data.ptr = c };
        int op = events == 0 ? EPOLL_CTL_DEL : c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

        if (events == c->events)
                return 0;
        if (epoll_ctl(c->manager->conn_epoll, op, c->fd, &ev) < 0)
                return -errno;
        c->events = events;
        return 0;
}

int conn_new(Manager *m, int fd, bool has_gid, gid_t socket_gid, Conn **ret) {
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
        if (m->n_conns >= m->max_conns) {
                log_warning("Refused connection from pid %d uid %u: %u connections already open",
                            (int) cred.pid, (unsigned) cred.uid, m->n_conns);
                send_refusal(fd, RPC_RESOURCE_EXHAUSTED, "too many connections");
                close(fd);
                return -EUSERS;
        }

        c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        c->manager = m;
        c->fd = fd;
        c->refs = 1;
        c->uid = cred.uid;
        c->pid = cred.pid;
        c->last_activity = c->last_progress = now_usec();
        scanner_init(&c->scan, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        c->scan.element_limit = RPC_ELEMENTS_MAX;

        r = watch(c, EPOLLIN);
        if (r < 0) {
                close(fd);
                free(c);
                return r;
        }

        c->next = m->conns;
        if (m->conns)
                m->conns->prev = c;
        m->conns = c;
        m->n_conns++;
        log_debug("Connection from pid %d uid %u", (int) cred.pid, (unsigned) cred.uid);
        if (ret)
                *ret = c;
        return 0;
}

Conn *conn_ref(Conn *c) {
        c->refs++;
        return c;
}

Conn *conn_unref(Conn *c) {
        if (!c)
                return NULL;
        if (--c->refs > 0)
                return NULL;
        if (c->fd >= 0) {
                (void) watch(c, 0);
                close(c->fd);
        }
        buf_done(&c->in);
        buf_done(&c->out);
        free(c);
        return NULL;
}

void conn_close(Conn *c) {
        Manager *m = c->manager;

        if (c->fd < 0)
                return;
        (void) watch(c, 0);
        close(c->fd);
        c->fd = -1;
        buf_done(&c->in);
        buf_done(&c->out);

        if (c->prev)
                c->prev->next = c->next;
        else
                m->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
        m->n_conns--;

        manager_conn_closed(m, c);
        conn_unref(c);          /* the manager's reference */
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
}

static bool input_blocked(Conn *c) {
        return c->closing || c->fd < 0 || c->inflight >= CONN_INFLIGHT_MAX ||
               buf_pending(&c->out) >= CONN_OUTBUF_SOFT;
}

/* Dispatches every complete frame in the input buffer, as long as the
 * connection is allowed to take more work. Returns the number dispatched. */
static unsigned conn_process(Conn *c) {
        unsigned n = 0;

        while (!input_blocked(c)) {
                size_t size = 0;
                ScanResult sr;

                sr = scanner_feed(&c->scan, buf_head(&c->in), buf_pending(&c->in), &size);
                if (sr == SCAN_NEED_MORE)
                        break;
                if (sr != SCAN_COMPLETE) {
                        protocol_error(c, sr);
                        break;
                }
                dispatch_frame(c, buf_head(&c->in), size);
                if (c->fd < 0)
                        break;
                buf_consume(&c->in, size);
                n++;
        }
        return n;
}

static int conn_read(Conn *c) {
        size_t total = 0;

        while (total < CONN_READ_BUDGET && !input_blocked(c)) {
                char *p = buf_reserve(&c->in, CONN_READ_CHUNK);
                ssize_t n;

                if (!p)
                        return -ENOMEM;
                n = recv(c->fd, p, CONN_READ_CHUNK, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        return -errno;
                }
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
void conn_kick(Conn *c) {
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
        for (;;) {
                unsigned n = 0;

                if (!input_blocked(c) && buf_pending(&c->in) > 0)
                        n = conn_process(c);
                if (c->fd < 0)
                        return;
                r = conn_send(c);
                if (r < 0) {
                        log_debug_errno(r, "Write to pid %d failed", (int) c->pid);
                        conn_close(c);
                        return;
                }
                if (n == 0 || buf_pending(&c->out) > 0)
                        break;
        }
        if (buf_pending(&c->out) == 0) {
                c->last_progress = now_usec();
                /* A burst (say, thousands of pipelined replies) grew the
                 * buffer: give the memory back rather than keep it per client. */
                if (c->out.cap > CONN_BUF_KEEP) {
                        buf_done(&c->out);
                        manager_schedule_trim(c->manager);
                }
        }
        if (buf_pending(&c->in) == 0 && c->in.cap > CONN_BUF_KEEP) {
                buf_done(&c->in);
                manager_schedule_trim(c->manager);
        }

        if ((c->closing || c->read_eof || c->manager->stopping) && c->inflight == 0 &&
            buf_pending(&c->out) == 0) {
                conn_close(c);
                return;
        }

        if (!input_blocked(c) && !c->read_eof && !c->manager->stopping)
                events |= EPOLLIN;
        if (buf_pending(&c->out) > 0)
                events |= EPOLLOUT;
        r = watch(c, events);
        if (r < 0) {
                log_error_errno(r, "Cannot update events of a connection");
                conn_close(c);
        }
}

void conn_stop(Conn *c) {
        int r;

        conn_ref(c);
        r = conn_read(c);
        if (r < 0 && c->fd >= 0)
                conn_close(c);
        conn_kick(c);
        conn_unref(c);
}

void conn_flush(Conn *c) {
        conn_kick(c);
}

void conn_write_done(Conn *c) {
        conn_kick(c);
}

void conn_on_io(Conn *c, uint32_t revents) {
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
