/* load.c: the load engine. One thread, one epoll set, N non-blocking
 * connections to a MessagePack-RPC server, each keeping `depth` requests
 * outstanding; frames are cut with the same resumable scanner as the
 * daemon's (proto/scan.h). Also a small synchronous client for setup. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "proto/limits.h"
#include "proto/rpc.h"
#include "proto/scan.h"

#define READ_CHUNK (256u * 1024u)

int unix_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

typedef struct Slot {
        uint32_t msgid;
        uint64_t ts;
} Slot;

typedef struct LConn {
        int fd;
        LoadGroup *g;
        Buf in, out;
        Scanner scan;
        unsigned outstanding;
        uint32_t next_msgid;
        Slot *slots;
        unsigned mask;
        bool want_out;
        bool dirty;
} LConn;

void load_group_reset(LoadGroup *g) {
        if (!g->hist)
                g->hist = hist_new();
        memset(g->hist, 0, sizeof *g->hist);
        if (g->hist_odd)
                memset(g->hist_odd, 0, sizeof *g->hist_odd);
        g->ok = g->errors = g->sent = g->done = 0;
        g->rate = 0;
        g->first_error[0] = 0;
}

/* [1, msgid, error, result]: returns the msgid and whether error is nil. */
static bool parse_reply(const uint8_t *p, size_t n, uint32_t *ret_msgid, size_t *ret_err_off) {
        size_t o;

        if (n < 4 || p[0] != 0x94 || (p[1] != 0x01 && p[1] != 0x00))
                return false;
        if (p[2] <= 0x7f) {
                *ret_msgid = p[2];
                o = 3;
        } else if (p[2] == 0xcc && n >= 5) {
                *ret_msgid = p[3];
                o = 4;
        } else if (p[2] == 0xcd && n >= 6) {
                *ret_msgid = (uint32_t) p[3] << 8 | p[4];
                o = 5;
        } else if (p[2] == 0xce && n >= 8) {
                *ret_msgid = (uint32_t) p[3] << 24 | (uint32_t) p[4] << 16 | (uint32_t) p[5] << 8 | p[6];
                o = 7;
        } else
                return false;
        *ret_err_off = o;
        return true;
}

static void record_error(LoadGroup *g, const char *frame, size_t size) {
        msgpack_unpacked u;
        RpcMessage msg = {0};
        const char *why = NULL;

        g->errors++;
        if (g->first_error[0])
                return;
        msgpack_unpacked_init(&u);
        if (rpc_decode(frame, size, &u, &msg, &why) >= 0 && msg.error &&
            msg.error->type == MSGPACK_OBJECT_MAP) {
                const msgpack_object_map *m = &msg.error->via.map;
                size_t at = 0;
                for (uint32_t i = 0; i < m->size; i++)
                        if (m->ptr[i].val.type == MSGPACK_OBJECT_STR && at < sizeof g->first_error - 1)
                                at += (size_t) snprintf(g->first_error + at, sizeof g->first_error - at, "%.*s=%.*s ",
                                                        (int) m->ptr[i].key.via.str.size, m->ptr[i].key.via.str.ptr,
                                                        (int) m->ptr[i].val.via.str.size, m->ptr[i].val.via.str.ptr);
        } else
                snprintf(g->first_error, sizeof g->first_error, "undecodable reply: %s", why ? why : "?");
        msgpack_unpacked_destroy(&u);
}

static void fill(LConn *c, bool sending) {
        LoadGroup *g = c->g;
        msgpack_packer pk;

        msgpack_packer_init(&pk, &c->out, buf_pack_write);
        while (sending && c->outstanding < g->depth && (g->total == 0 || g->sent < g->total)) {
                uint32_t id = c->next_msgid++;
                if (c->next_msgid > 0x7fffffffu)
                        c->next_msgid = 1;
                g->pack(g, &pk, id);
                c->slots[id & c->mask] = (Slot) { .msgid = id, .ts = now_ns() };
                c->outstanding++;
                g->sent++;
        }
        if (c->out.oom)
                die("out of memory packing requests");
}

static void flush_out(LConn *c, int ep) {
        while (buf_pending(&c->out) > 0) {
                ssize_t n = send(c->fd, buf_head(&c->out), buf_pending(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        die("%s: send to %s failed: %s (did the server die?)", c->g->label, c->g->socket, strerror(errno));
                }
                buf_consume(&c->out, (size_t) n);
        }
        bool want = buf_pending(&c->out) > 0;
        if (want != c->want_out) {
                struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0u), .data.ptr = c };
                if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
                        die("epoll_ctl: %s", strerror(errno));
                c->want_out = want;
        }
}

/* Reads what is there and handles every complete reply. */
static void read_replies(LConn *c, uint64_t win_start, uint64_t win_end) {
        LoadGroup *g = c->g;

        for (;;) {
                char *p = buf_reserve(&c->in, READ_CHUNK);
                if (!p)
                        die("out of memory");
                ssize_t n = recv(c->fd, p, READ_CHUNK, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        die("%s: recv from %s failed: %s", g->label, g->socket, strerror(errno));
                }
                if (n == 0)
                        die("%s: the server closed the connection (%u requests outstanding)", g->label,
                            c->outstanding);
                c->in.len += (size_t) n;

                uint64_t t = now_ns();
                for (;;) {
                        size_t size = 0, eo = 0;
                        uint32_t id = 0;
                        ScanResult sr = scanner_feed(&c->scan, buf_head(&c->in), buf_pending(&c->in), &size);
                        if (sr == SCAN_NEED_MORE)
                                break;
                        if (sr != SCAN_COMPLETE)
                                die("%s: malformed reply frame (%d)", g->label, (int) sr);
                        const uint8_t *f = (const uint8_t *) buf_head(&c->in);
                        if (!parse_reply(f, size, &id, &eo))
                                die("%s: unexpected reply frame (first byte 0x%02x)", g->label, f[0]);
                        if (c->outstanding == 0)
                                die("%s: a reply nobody asked for", g->label);
                        c->outstanding--;
                        g->done++;
                        if (g->total > 0 || (t >= win_start && t < win_end)) {
                                bool ok = g->ignore_errors || f[eo] == 0xc0;
                                if (ok)
                                        g->ok++;
                                else
                                        record_error(g, (const char *) f, size);
                                Slot *s = &c->slots[id & c->mask];
                                if (s->msgid == id && ok && g->total == 0)
                                        hist_add(g->hist_odd && (id & 1) ? g->hist_odd : g->hist, t - s->ts);
                        } else if (!g->ignore_errors && f[eo] != 0xc0 && !g->first_error[0])
                                record_error(g, (const char *) f, size), g->errors--;
                        buf_consume(&c->in, size);
                }
                if ((size_t) n < READ_CHUNK)
                        break;
        }
        c->dirty = true;
}

double load_run(LoadGroup *const *groups, size_t ngroups, double warmup_s, double measure_s, const char *progress) {
        size_t nconns = 0, at = 0;
        bool bulk = false, sending = true;
        LConn *conns;
        int ep;

        for (size_t i = 0; i < ngroups; i++) {
                load_group_reset(groups[i]);
                nconns += groups[i]->conns;
                bulk = bulk || groups[i]->total > 0;
        }
        conns = calloc(nconns, sizeof *conns);
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (!conns || ep < 0)
                die("cannot set up the load engine: %s", strerror(errno));

        for (size_t i = 0; i < ngroups; i++)
                for (unsigned j = 0; j < groups[i]->conns; j++) {
                        LConn *c = &conns[at++];
                        unsigned slots = 64;
                        while (slots < 2u * groups[i]->depth)
                                slots *= 2;
                        c->g = groups[i];
                        c->fd = unix_connect(groups[i]->socket);
                        if (c->fd < 0) {
                                errno = -c->fd;
                                die("%s: cannot connect to %s: %s", groups[i]->label, groups[i]->socket, strerror(errno));
                        }
                        c->next_msgid = 1;
                        c->slots = calloc(slots, sizeof *c->slots);
                        if (!c->slots)
                                die("out of memory");
                        c->mask = slots - 1;
                        scanner_init(&c->scan, RPC_FRAME_MAX * 4u, SCAN_DEPTH_CAP);
                        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
                                die("epoll_ctl: %s", strerror(errno));
                }

        uint64_t t0 = now_ns();
        uint64_t win_start = bulk ? t0 : t0 + (uint64_t) (warmup_s * 1e9);
        uint64_t win_end = bulk ? UINT64_MAX : win_start + (uint64_t) (measure_s * 1e9);
        uint64_t last_progress = t0, deadline = 0, bulk_total = 0, t_end = 0;
        for (size_t i = 0; i < ngroups; i++)
                bulk_total += groups[i]->total;

        for (size_t i = 0; i < nconns; i++) {
                fill(&conns[i], true);
                flush_out(&conns[i], ep);
        }

        for (;;) {
                struct epoll_event evs[64];
                uint64_t t = now_ns();
                unsigned outstanding = 0;

                if (!bulk && sending && t >= win_end) {
                        sending = false;
                        t_end = t;
                        deadline = t + 60ull * 1000000000ull;
                }
                for (size_t i = 0; i < nconns; i++)
                        outstanding += conns[i].outstanding;
                if (bulk) {
                        uint64_t done = 0;
                        for (size_t i = 0; i < ngroups; i++)
                                done += groups[i]->done;
                        if (done >= bulk_total) {
                                t_end = t;
                                break;
                        }
                        if (progress && bench_tty && t - last_progress > 250000000u) {
                                double el = (double) (t - t0) / 1e9, rate = (double) done / el;
                                fprintf(stderr, "\r\033[K%s: %llu/%llu roles, %.0f/s, %.0f s left", progress,
                                        (unsigned long long) done, (unsigned long long) bulk_total, rate,
                                        rate > 0 ? (double) (bulk_total - done) / rate : 0.0);
                                last_progress = t;
                        }
                } else if (!sending && outstanding == 0)
                        break;
                if (deadline && t > deadline)
                        die("timed out draining %u outstanding replies", outstanding);

                int timeout = 50;
                if (!bulk && sending) {
                        uint64_t left = (win_end - t) / 1000000u + 1;
                        if (left < (uint64_t) timeout)
                                timeout = (int) left;
                }
                int n = epoll_wait(ep, evs, 64, timeout);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        die("epoll_wait: %s", strerror(errno));
                }
                for (int i = 0; i < n; i++) {
                        LConn *c = evs[i].data.ptr;
                        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                                read_replies(c, win_start, win_end);
                        if (evs[i].events & EPOLLOUT)
                                c->dirty = true;
                }
                for (int i = 0; i < n; i++) {
                        LConn *c = evs[i].data.ptr;
                        if (!c->dirty)
                                continue;
                        c->dirty = false;
                        fill(c, sending);
                        flush_out(c, ep);
                }
        }
        if (progress && bench_tty)
                fputs("\r\033[K", stderr);

        double el = bulk ? (double) (t_end - t0) / 1e9 : (double) (win_end - win_start) / 1e9;
        for (size_t i = 0; i < ngroups; i++)
                groups[i]->rate = (double) (bulk ? groups[i]->ok : groups[i]->ok + 0) / el;

        for (size_t i = 0; i < nconns; i++) {
                close(conns[i].fd);
                buf_done(&conns[i].in);
                buf_done(&conns[i].out);
                free(conns[i].slots);
        }
        free(conns);
        close(ep);
        return el;
}

/* ---- synchronous client ---- */

int rpc_open(Rpc *c, const char *path) {
        *c = (Rpc) { .fd = -1, .msgid = 1 };
        c->fd = unix_connect(path);
        return c->fd < 0 ? c->fd : 0;
}

void rpc_close(Rpc *c) {
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        buf_done(&c->in);
}

int rpc_call(Rpc *c, const char *method, ParamsFn params, void *userdata, msgpack_unpacked *u,
             const msgpack_object **ret_result, char *errbuf, size_t errlen) {
        msgpack_packer pk;
        Buf out = {0};
        uint32_t id = c->msgid++;
        Scanner sc;
        RpcMessage msg = {0};
        const char *why = NULL;
        int r;

        msgpack_packer_init(&pk, &out, buf_pack_write);
        rpc_pack_request_begin(&pk, id, method);
        if (params)
                params(&pk, userdata);
        else
                msgpack_pack_map(&pk, 0);
        for (size_t off = 0; off < buf_pending(&out);) {
                ssize_t n = send(c->fd, buf_head(&out) + off, buf_pending(&out) - off, MSG_NOSIGNAL);
                if (n < 0) {
                        r = -errno;
                        buf_done(&out);
                        return r;
                }
                off += (size_t) n;
        }
        buf_done(&out);

        scanner_init(&sc, RPC_FRAME_MAX * 4u, SCAN_DEPTH_CAP);
        buf_clear(&c->in);
        for (;;) {
                size_t size = 0;
                ScanResult sr = scanner_feed(&sc, buf_head(&c->in), buf_pending(&c->in), &size);
                if (sr == SCAN_COMPLETE) {
                        r = rpc_decode(buf_head(&c->in), size, u, &msg, &why);
                        if (r < 0) {
                                snprintf(errbuf, errlen, "undecodable reply: %s", why);
                                return r;
                        }
                        if (msg.type != RPC_RESPONSE || msg.msgid != id) {
                                snprintf(errbuf, errlen, "unexpected reply");
                                return -EPROTO;
                        }
                        if (msg.error && msg.error->type != MSGPACK_OBJECT_NIL) {
                                const msgpack_object *m = NULL;
                                if (msg.error->type == MSGPACK_OBJECT_MAP)
                                        for (uint32_t i = 0; i < msg.error->via.map.size; i++) {
                                                const msgpack_object_kv *kv = &msg.error->via.map.ptr[i];
                                                if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 7 &&
                                                    memcmp(kv->key.via.str.ptr, "message", 7) == 0)
                                                        m = &kv->val;
                                        }
                                if (m && m->type == MSGPACK_OBJECT_STR)
                                        snprintf(errbuf, errlen, "%s: %.*s", method, (int) m->via.str.size, m->via.str.ptr);
                                else
                                        snprintf(errbuf, errlen, "%s failed", method);
                                return -EREMOTEIO;
                        }
                        *ret_result = msg.result;
                        return 0;
                }
                if (sr != SCAN_NEED_MORE) {
                        snprintf(errbuf, errlen, "malformed reply");
                        return -EBADMSG;
                }
                char *p = buf_reserve(&c->in, READ_CHUNK);
                if (!p)
                        return -ENOMEM;
                struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
                r = poll(&pfd, 1, 120000);
                if (r == 0) {
                        snprintf(errbuf, errlen, "%s: no reply within 120 s", method);
                        return -ETIMEDOUT;
                }
                ssize_t n = recv(c->fd, p, READ_CHUNK, 0);
                if (n <= 0) {
                        snprintf(errbuf, errlen, "%s: connection closed", method);
                        return n < 0 ? -errno : -ECONNRESET;
                }
                c->in.len += (size_t) n;
        }
}
