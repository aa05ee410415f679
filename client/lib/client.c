/* client.c: librolesd, the synchronous MessagePack-RPC client of rolesd.
 * Owns the connection (socket, input and output buffers, frame scanner),
 * request framing, reply matching by msgid, the mapping of wire errors
 * into rolesd_error, the JSON <-> MessagePack conversion of rolesd_call
 * and the typed calls. Never logs, never exits, never raises SIGPIPE. */

#include "rolesd/client.h"
#include "client/lib/internal.h"

#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/buf.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/scan.h"
#include "proto/utf8.h"
#include "proto/wire-role.h"
#include "proto/wire.h"

/* Largest response we accept: role lists and catalogs can be big. */
#define CLIENT_RESPONSE_MAX (16u * 1024u * 1024u)
/* Bytes asked of each recv(). */
#define CLIENT_READ_CHUNK (64u * 1024u)
#define ROLESD_SOCKET_DEFAULT "/run/rolesd/rolesd.sock"

_Static_assert((int) ROLESD_OK == (int) RPC_OK, "codes");
_Static_assert((int) ROLESD_INVALID_ARGUMENT == (int) RPC_INVALID_ARGUMENT, "codes");
_Static_assert((int) ROLESD_DUPLICATE == (int) RPC_DUPLICATE, "codes");
_Static_assert((int) ROLESD_NOT_FOUND == (int) RPC_NOT_FOUND, "codes");
_Static_assert((int) ROLESD_PERMISSION_DENIED == (int) RPC_PERMISSION_DENIED, "codes");
_Static_assert((int) ROLESD_UNAUTHENTICATED == (int) RPC_UNAUTHENTICATED, "codes");
_Static_assert((int) ROLESD_RESOURCE_EXHAUSTED == (int) RPC_RESOURCE_EXHAUSTED, "codes");
_Static_assert((int) ROLESD_UNAVAILABLE == (int) RPC_UNAVAILABLE, "codes");
_Static_assert((int) ROLESD_INTERNAL == (int) RPC_INTERNAL, "codes");

_Static_assert(sizeof(json_int_t) == sizeof(long long), "json_int_t is long long");

/* A reply recorded for replay: a frame, or the failure of the connection. */
typedef struct Recorded {
        char *frame;
        size_t len;
        int error;              /* negative errno when the call failed, else 0 */
} Recorded;

struct rolesd {
        int fd;                 /* -1 once the connection is dead */
        uint32_t next_msgid;
        Buf in;                 /* bytes read, starting at a frame boundary */
        Buf out;                /* the request being sent */
        Scanner scan;           /* position within the frame at in's head */
        uint64_t timeout_usec;  /* bound on each call, 0: none */
        uint64_t deadline;      /* CLOCK_MONOTONIC usec when the current call gives up, 0: never */

        /* Replay mode (lib/internal.h): no socket; calls are answered
         * from replies, in order, and the first call without one is kept
         * in pending. */
        bool replay;
        Recorded *replies;
        size_t n_replies, next_reply;
        Buf pending;
        bool has_pending, pending_read_only, read_only;
};

/* Waits until the socket is ready for events or the call's deadline
 * passes (-ETIMEDOUT). Without a deadline, returns at once: the blocking
 * send/recv waits instead. */
static int conn_wait_ready(rolesd *c, short events) {
        for (;;) {
                struct pollfd p = { .fd = c->fd, .events = events };
                uint64_t now;
                int n;

                if (c->deadline == 0)
                        return 0;
                now = now_usec();
                if (now >= c->deadline)
                        return -ETIMEDOUT;
                n = poll(&p, 1, (int) ((c->deadline - now + 999) / 1000));
                if (n > 0)
                        return 0;
                if (n == 0)
                        return -ETIMEDOUT;
                if (errno != EINTR)
                        return negative_errno();
        }
}

int rolesd_set_timeout(rolesd *c, uint64_t usec) {
        if (!c)
                return -EINVAL;
        c->timeout_usec = usec;
        return 0;
}

/* ---- errors ---- */

static const char *const code_names[] = {
        [ROLESD_OK] = "ok",
        [ROLESD_INVALID_ARGUMENT] = "invalid_argument",
        [ROLESD_DUPLICATE] = "duplicate",
        [ROLESD_NOT_FOUND] = "not_found",
        [ROLESD_PERMISSION_DENIED] = "permission_denied",
        [ROLESD_UNAUTHENTICATED] = "unauthenticated",
        [ROLESD_RESOURCE_EXHAUSTED] = "resource_exhausted",
        [ROLESD_UNAVAILABLE] = "unavailable",
        [ROLESD_INTERNAL] = "internal",
};

const char *rolesd_code_name(rolesd_code code) {
        if ((unsigned) code >= ELEMENTSOF(code_names))
                return "internal";
        return code_names[code];
}

static void error_clear(rolesd_error *err) {
        if (!err)
                return;
        err->code = ROLESD_OK;
        err->message[0] = '\0';
        err->field[0] = '\0';
}

/* Fills err (if any) and returns r (a negative errno). */
__attribute__((format(printf, 5, 6)))
static int fail(rolesd_error *err, int r, rolesd_code code, const char *field, const char *fmt, ...) {
        if (err) {
                va_list ap;

                err->code = code;
                va_start(ap, fmt);
                vsnprintf(err->message, sizeof err->message, fmt, ap);
                va_end(ap);
                snprintf(err->field, sizeof err->field, "%s", field ? field : "");
        }
        return r;
}

static int fail_oom(rolesd_error *err) {
        return fail(err, -ENOMEM, ROLESD_RESOURCE_EXHAUSTED, NULL, "out of memory");
}

static int fail_bad_result(rolesd_error *err, const char *method) {
        return fail(err, -EIO, ROLESD_INTERNAL, NULL, "malformed %s result from rolesd", method);
}

/* Copies a wire string into a fixed buffer, stopping at NUL, truncating. */
static void copy_wire_str(char *dst, size_t size, const msgpack_object *o) {
        size_t n = 0;

        if (o && o->type == MSGPACK_OBJECT_STR) {
                n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
                memcpy(dst, o->via.str.ptr, n);
                dst[strnlen(dst, n)] = '\0';
                for (size_t i = 0; dst[i]; i++)         /* keep it one printable line */
                        if ((unsigned char) dst[i] < 0x20 || dst[i] == 0x7f)
                                dst[i] = ' ';
                return;
        }
        dst[0] = '\0';
}

/* The error map {code, message, field?} of a response. */
static int fail_wire(rolesd_error *err, const msgpack_object *e) {
        const msgpack_object *code, *message;
        RpcCode c;

        if (e->type != MSGPACK_OBJECT_MAP)
                return fail(err, -EIO, ROLESD_INTERNAL, NULL, "malformed error reply from rolesd");
        code = mp_map_get(e, "code");
        if (!code || code->type != MSGPACK_OBJECT_STR)
                return fail(err, -EIO, ROLESD_INTERNAL, NULL, "error reply from rolesd without a code");
        c = rpc_code_from_string(code->via.str.ptr, code->via.str.size);
        if (c <= RPC_OK || c >= _RPC_CODE_MAX)
                c = RPC_INTERNAL;
        if (err) {
                err->code = (rolesd_code) c;
                message = mp_map_get(e, "message");
                copy_wire_str(err->message, sizeof err->message, message);
                if (err->message[0] == '\0')
                        snprintf(err->message, sizeof err->message, "%s", rolesd_code_name(err->code));
                copy_wire_str(err->field, sizeof err->field, mp_map_get(e, "field"));
        }
        return rpc_code_to_errno(c);
}

/* ---- connection ---- */

const char *rolesd_socket_path(const char *path) {
        const char *e;

        if (path)
                return path;
        e = getenv("ROLESD_SOCKET");
        if (e && *e)
                return e;
        return ROLESD_SOCKET_DEFAULT;
}

int rolesd_connect(const char *path, rolesd **ret, rolesd_error *err) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        rolesd *c;
        size_t n;

        error_clear(err);
        if (!ret)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no place to return the connection");
        *ret = NULL;
        path = rolesd_socket_path(path);
        n = strlen(path);
        if (n == 0 || n >= sizeof sa.sun_path)
                return fail(err, -ENAMETOOLONG, ROLESD_UNAVAILABLE, NULL,
                            "cannot connect to %s: %s", path, strerror(ENAMETOOLONG));
        memcpy(sa.sun_path, path, n + 1);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                int r = negative_errno();
                return fail(err, r, ROLESD_UNAVAILABLE, NULL, "cannot connect to %s: %s", path, strerror(-r));
        }
        for (;;) {
                if (connect(fd, (const struct sockaddr *) &sa, sizeof sa) >= 0)
                        break;
                if (errno == EINTR)
                        continue;       /* Linux completes AF_UNIX connects synchronously */
                int r = negative_errno();
                return fail(err, r, ROLESD_UNAVAILABLE, NULL, "cannot connect to %s: %s", path, strerror(-r));
        }

        c = calloc(1, sizeof *c);
        if (!c)
                return fail_oom(err);
        c->fd = TAKE_FD(fd);
        c->next_msgid = 1;
        scanner_init(&c->scan, CLIENT_RESPONSE_MAX, RPC_DEPTH_MAX);
        *ret = c;
        return 0;
}

static void conn_kill(rolesd *c) {
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        buf_done(&c->in);
        buf_done(&c->out);
}

static void replay_free(rolesd *c);

rolesd *rolesd_free(rolesd *c) {
        if (!c)
                return NULL;
        conn_kill(c);
        replay_free(c);
        free(c);
        return NULL;
}

/* Sends c->out. Returns 0, or a negative errno (the connection is then
 * unusable for writing, but a reply may still be waiting to be read). */
static int conn_write(rolesd *c) {
        while (buf_pending(&c->out) > 0) {
                int r = conn_wait_ready(c, POLLOUT);
                if (r < 0)
                        return r;
                ssize_t k = send(c->fd, buf_head(&c->out), buf_pending(&c->out),
                                 MSG_NOSIGNAL | (c->deadline ? MSG_DONTWAIT : 0));
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return negative_errno();
                }
                buf_consume(&c->out, (size_t) k);
        }
        buf_clear(&c->out);
        return 0;
}

/* Reads more bytes into c->in. Returns > 0, 0 on EOF, or a negative errno. */
static int conn_read(rolesd *c) {
        char *p = buf_reserve(&c->in, CLIENT_READ_CHUNK);
        if (!p)
                return -ENOMEM;
        for (;;) {
                int r = conn_wait_ready(c, POLLIN);
                if (r < 0)
                        return r;
                ssize_t k = recv(c->fd, p, CLIENT_READ_CHUNK, c->deadline ? MSG_DONTWAIT : 0);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        /* The daemon closed with our request unread: what it sent
                         * before has been read already, so this is just EOF. */
                        if (errno == ECONNRESET)
                                return 0;
                        return negative_errno();
                }
                c->in.len += (size_t) k;
                return k > 0;
        }
}

/* A decoded response. msgpack-c's objects point into the frame bytes, so
 * the reply keeps its own copy of them. */
typedef struct Reply {
        msgpack_unpacked u;
        char *frame;
} Reply;

static void reply_done(Reply *rep) {
        msgpack_unpacked_destroy(&rep->u);
        free(rep->frame);
        rep->frame = NULL;
}
#define _cleanup_reply_ _cleanup_(reply_done)

/* Takes one response frame: 0 with *ret_result set, 1 when it answers
 * another msgid, or the failure it reports. With copy the frame is copied
 * into rep (the caller's buffer moves on); without, the result points into
 * frame, which must outlive rep (a replay handle's recorded reply).
 * *ret_fatal is set when the connection cannot go on (out of memory, or a
 * frame that is not a valid response); a wire error leaves it usable. */
static int reply_take(const char *frame, size_t size, bool copy, uint32_t msgid, Reply *rep,
                      const msgpack_object **ret_result, bool *ret_fatal, rolesd_error *err) {
        RpcMessage m = { 0 };
        const char *why = NULL;
        int r;

        *ret_fatal = true;
        reply_done(rep);
        if (copy) {
                rep->frame = malloc(size ? size : 1);
                if (!rep->frame)
                        return fail_oom(err);
                memcpy(rep->frame, frame, size);
                frame = rep->frame;
        }
        /* A zone sized to the frame: msgpack-c's default first chunk is
         * 8 KiB, a malloc() large enough to make glibc consolidate its
         * free lists on every reply. The zone grows if this is short. */
        if (!rep->u.zone) {
                rep->u.zone = msgpack_zone_new(size < 1024 ? 4 * size + 256 : MSGPACK_ZONE_CHUNK_SIZE);
                if (!rep->u.zone)
                        return fail_oom(err);
        }
        r = rpc_decode(frame, size, &rep->u, &m, &why);
        if (r == -ENOMEM)
                return fail_oom(err);
        if (r < 0 || m.type != RPC_RESPONSE)
                return fail(err, -EIO, ROLESD_INTERNAL, NULL, "invalid reply from rolesd: %s",
                            r < 0 ? (why ? why : "bad envelope") : "not a response");
        *ret_fatal = false;
        if (m.has_msgid && m.msgid != msgid)
                return 1;
        if (m.error && m.error->type != MSGPACK_OBJECT_NIL)
                return fail_wire(err, m.error);
        if (!m.has_msgid) {
                *ret_fatal = true;
                return fail(err, -EIO, ROLESD_INTERNAL, NULL,
                            "invalid reply from rolesd: response without msgid or error");
        }
        *ret_result = m.result;
        return 0;
}

/* Reads frames until the response to msgid (or an unaddressed error
 * response) arrives. On success rep holds it and *ret_result points into
 * it. write_r is the result of sending the request: when it failed, a
 * missing reply is reported as that failure. */
static int conn_wait(rolesd *c, uint32_t msgid, int write_r, Reply *rep,
                     const msgpack_object **ret_result, rolesd_error *err) {
        for (;;) {
                size_t size = 0;
                ScanResult s = scanner_feed(&c->scan, buf_head(&c->in), buf_pending(&c->in), &size);

                if (s == SCAN_NEED_MORE) {
                        int r = conn_read(c);
                        if (r > 0)
                                continue;
                        conn_kill(c);
                        if (r == -ENOMEM)
                                return fail_oom(err);
                        if (write_r < 0)
                                return fail(err, write_r, ROLESD_UNAVAILABLE, NULL,
                                            "connection to rolesd lost: %s", strerror(-write_r));
                        if (r == 0)
                                return fail(err, -ECONNRESET, ROLESD_UNAVAILABLE, NULL,
                                            "connection to rolesd lost: the daemon closed it");
                        if (r == -ETIMEDOUT)
                                return fail(err, r, ROLESD_UNAVAILABLE, NULL,
                                            "rolesd did not answer within %llu ms",
                                            (unsigned long long) (c->timeout_usec / 1000));
                        return fail(err, r, ROLESD_UNAVAILABLE, NULL,
                                    "connection to rolesd lost: %s", strerror(-r));
                }
                if (s != SCAN_COMPLETE) {
                        conn_kill(c);
                        return fail(err, -EIO, ROLESD_INTERNAL, NULL, "invalid reply from rolesd: %s",
                                    s == SCAN_TOO_BIG ? "frame too large" :
                                    s == SCAN_TOO_DEEP ? "nested too deeply" : "not MessagePack");
                }

                bool fatal;
                int r = reply_take(buf_head(&c->in), size, true, msgid, rep, ret_result, &fatal, err);
                buf_consume(&c->in, size);
                if (r == 1)
                        continue;       /* an answer to a call we gave up on */
                if (r < 0 && fatal)
                        conn_kill(c);
                return r;
        }
}

/* Starts a request: clears c->out and writes [0, msgid, method, [ into it.
 * The caller packs exactly one params map next, then calls conn_call. */
static int conn_begin(rolesd *c, msgpack_packer *pk, const char *method, uint32_t *ret_msgid,
                      rolesd_error *err) {
        error_clear(err);
        if (!c)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no connection");
        if (c->fd < 0 && !c->replay)
                return fail(err, -ENOTCONN, ROLESD_UNAVAILABLE, NULL, "connection to rolesd lost");
        if (!method || !*method || strlen(method) > RPC_METHOD_MAX)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "method", "invalid method name");
        buf_clear(&c->out);
        c->out.oom = false;
        msgpack_packer_init(pk, &c->out, buf_pack_write);
        *ret_msgid = c->next_msgid++;
        if (c->replay ? rpc_pack_request_begin_fixed(pk, *ret_msgid, method) < 0 :
                        rpc_pack_request_begin(pk, *ret_msgid, method) < 0)
                return fail_oom(err);
        return 0;
}

/* ---- replay mode ---- */

rolesd *replay_new(void) {
        rolesd *c = calloc(1, sizeof *c);

        if (!c)
                return NULL;
        c->fd = -1;
        c->replay = true;
        c->next_msgid = 1;
        return c;
}

void replay_rewind(rolesd *c) {
        c->next_reply = 0;
        c->next_msgid = 1;
        c->has_pending = false;
        buf_clear(&c->pending);
}

static int replay_record(rolesd *c, const void *frame, size_t len, int error) {
        Recorded *a = realloc(c->replies, (c->n_replies + 1) * sizeof *a), *x;

        if (!a)
                return -ENOMEM;
        c->replies = a;
        x = &a[c->n_replies];
        *x = (Recorded) { .len = len, .error = error };
        if (frame) {
                x->frame = malloc(len ? len : 1);
                if (!x->frame)
                        return -ENOMEM;
                memcpy(x->frame, frame, len);
        }
        c->n_replies++;
        return 0;
}

int replay_add(rolesd *c, const void *frame, size_t len) {
        return replay_record(c, frame, len, 0);
}

int replay_add_error(rolesd *c, int error) {
        return replay_record(c, NULL, 0, error < 0 ? error : -EIO);
}

void replay_forget(rolesd *c) {
        if (c->next_reply == 0)
                return;
        for (size_t i = 0; i < c->next_reply; i++)
                free(c->replies[i].frame);
        memmove(c->replies, c->replies + c->next_reply, (c->n_replies - c->next_reply) * sizeof *c->replies);
        c->n_replies -= c->next_reply;
        c->next_reply = 0;
}

size_t replay_recorded(const rolesd *c) {
        return c->n_replies;
}

void replay_set_read_only(rolesd *c, bool read_only) {
        c->read_only = read_only;
}

bool replay_is(const rolesd *c) {
        return c && c->replay;
}

const char *replay_pending(const rolesd *c, size_t *ret_len, bool *ret_read_only) {
        if (!c->has_pending)
                return NULL;
        *ret_len = buf_pending(&c->pending);
        *ret_read_only = c->pending_read_only;
        return buf_head(&c->pending);
}

static void replay_free(rolesd *c) {
        for (size_t i = 0; i < c->n_replies; i++)
                free(c->replies[i].frame);
        free(c->replies);
        buf_done(&c->pending);
}

/* Answers the call from the next recorded reply, or keeps it as the
 * pending call and fails with -EINPROGRESS. */
static int replay_call(rolesd *c, uint32_t msgid, Reply *rep, const msgpack_object **ret_result,
                       rolesd_error *err) {
        const Recorded *x;
        bool fatal;
        int r;

        if (c->next_reply >= c->n_replies) {
                if (!c->has_pending) {
                        buf_clear(&c->pending);
                        if (buf_append(&c->pending, buf_head(&c->out), buf_pending(&c->out)) < 0) {
                                buf_clear(&c->out);
                                return fail_oom(err);
                        }
                        c->has_pending = true;
                        c->pending_read_only = c->read_only;
                }
                buf_clear(&c->out);
                return fail(err, -EINPROGRESS, ROLESD_UNAVAILABLE, NULL, "waiting for rolesd");
        }
        buf_clear(&c->out);
        x = &c->replies[c->next_reply++];
        if (x->error == -ETIMEDOUT)
                return fail(err, x->error, ROLESD_UNAVAILABLE, NULL, "rolesd did not answer within %llu ms",
                            (unsigned long long) (RPC_CALL_TIMEOUT_USEC / 1000));
        if (x->error < 0)
                return fail(err, x->error, ROLESD_UNAVAILABLE, NULL, "connection to rolesd lost: %s",
                            strerror(-x->error));
        /* The pipeline gave the call a msgid of its own connection. */
        (void) rpc_frame_msgid(x->frame, x->len, RPC_RESPONSE, &msgid);
        r = reply_take(x->frame, x->len, false, msgid, rep, ret_result, &fatal, err);
        if (r == 1)
                return fail(err, -EIO, ROLESD_INTERNAL, NULL, "invalid reply from rolesd: wrong msgid");
        return r;
}

/* Sends the packed request and waits for its reply. pack_r is the OR of
 * the packer results. */
static int conn_call(rolesd *c, uint32_t msgid, int pack_r, Reply *rep,
                     const msgpack_object **ret_result, rolesd_error *err) {
        int r;

        if (pack_r != 0 || c->out.oom) {
                buf_clear(&c->out);
                return fail_oom(err);
        }
        if (buf_pending(&c->out) > RPC_FRAME_MAX) {
                buf_clear(&c->out);
                return fail(err, -EMSGSIZE, ROLESD_RESOURCE_EXHAUSTED, NULL,
                            "request larger than %u bytes", RPC_FRAME_MAX);
        }
        if (c->replay)
                return replay_call(c, msgid, rep, ret_result, err);
        c->deadline = c->timeout_usec ? now_usec() + c->timeout_usec : 0;
        r = conn_write(c);
        buf_clear(&c->out);
        if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
                conn_kill(c);
                return fail(err, r, ROLESD_UNAVAILABLE, NULL, "connection to rolesd lost: %s", strerror(-r));
        }
        /* Even when the write failed, the daemon may have answered (e.g. it
         * refused this peer) before closing: read what it sent. */
        int k = conn_wait(c, msgid, r, rep, ret_result, err);
        if (r < 0)
                conn_kill(c);   /* cannot send anything more */
        return k;
}

static int pack_auth(msgpack_packer *pk, const rolesd_auth *auth) {
        int r;

        r = mp_pack_str(pk, "auth");
        r |= msgpack_pack_map(pk, !!auth->api_key + !!auth->user_id + !!auth->token);
        if (auth->api_key)
                r |= mp_pack_kv_str(pk, "api_key", auth->api_key);
        if (auth->user_id)
                r |= mp_pack_kv_str(pk, "user_id", auth->user_id);
        if (auth->token)
                r |= mp_pack_kv_str(pk, "token", auth->token);
        return r;
}

static bool has_auth(const rolesd_auth *auth) {
        return auth && (auth->api_key || auth->user_id || auth->token);
}

/* ---- JSON <-> MessagePack ---- */

static int json_to_mp(msgpack_packer *pk, json_t *v, unsigned depth) {
        int r = 0;

        if (depth > RPC_DEPTH_MAX)
                return -E2BIG;
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                const char *key;
                size_t key_len;
                json_t *x;

                r = msgpack_pack_map(pk, json_object_size(v));
                json_object_keylen_foreach(v, key, key_len, x) {
                        if (r != 0)
                                break;
                        r = mp_pack_strn(pk, key, key_len);
                        if (r == 0)
                                r = json_to_mp(pk, x, depth + 1);
                }
                return r;
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *x;

                r = msgpack_pack_array(pk, json_array_size(v));
                json_array_foreach(v, i, x) {
                        if (r != 0)
                                break;
                        r = json_to_mp(pk, x, depth + 1);
                }
                return r;
        }
        case JSON_STRING:
                return mp_pack_strn(pk, json_string_value(v), json_string_length(v));
        case JSON_INTEGER: {
                json_int_t i = json_integer_value(v);
                return i >= 0 ? msgpack_pack_uint64(pk, (uint64_t) i) : msgpack_pack_int64(pk, (int64_t) i);
        }
        case JSON_REAL:
                return msgpack_pack_double(pk, json_real_value(v));
        case JSON_TRUE:
                return msgpack_pack_true(pk);
        case JSON_FALSE:
                return msgpack_pack_false(pk);
        case JSON_NULL:
                return msgpack_pack_nil(pk);
        }
        return -EINVAL;
}

/* Converts a result object. Returns 0 or -EBADMSG with *reterr_why set. */
static int mp_to_json(const msgpack_object *o, json_t **ret, const char **reterr_why) {
        _cleanup_(json_decrefp) json_t *v = NULL;

        switch (o->type) {
        case MSGPACK_OBJECT_NIL:
                v = json_null();
                break;
        case MSGPACK_OBJECT_BOOLEAN:
                v = json_boolean(o->via.boolean);
                break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
                if (o->via.u64 > (uint64_t) LLONG_MAX) {
                        *reterr_why = "integer out of range";
                        return -EBADMSG;
                }
                v = json_integer((json_int_t) o->via.u64);
                break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                v = json_integer((json_int_t) o->via.i64);
                break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
                if (!isfinite(o->via.f64)) {
                        *reterr_why = "non-finite number";
                        return -EBADMSG;
                }
                v = json_real(o->via.f64);
                break;
        case MSGPACK_OBJECT_STR:
                if (!utf8_valid(o->via.str.ptr, o->via.str.size)) {
                        *reterr_why = "string is not valid UTF-8";
                        return -EBADMSG;
                }
                v = json_stringn(o->via.str.ptr, o->via.str.size);
                break;
        case MSGPACK_OBJECT_ARRAY:
                v = json_array();
                if (!v)
                        break;
                for (uint32_t i = 0; i < o->via.array.size; i++) {
                        json_t *x = NULL;
                        int r = mp_to_json(&o->via.array.ptr[i], &x, reterr_why);
                        if (r < 0)
                                return r;
                        if (json_array_append_new(v, x) < 0)
                                return -ENOMEM;
                }
                break;
        case MSGPACK_OBJECT_MAP:
                v = json_object();
                if (!v)
                        break;
                for (uint32_t i = 0; i < o->via.map.size; i++) {
                        const msgpack_object_kv *kv = &o->via.map.ptr[i];
                        json_t *x = NULL;
                        int r;

                        if (kv->key.type != MSGPACK_OBJECT_STR ||
                            !utf8_valid(kv->key.via.str.ptr, kv->key.via.str.size)) {
                                *reterr_why = "map key is not a UTF-8 string";
                                return -EBADMSG;
                        }
                        r = mp_to_json(&kv->val, &x, reterr_why);
                        if (r < 0)
                                return r;
                        if (json_object_setn_new(v, kv->key.via.str.ptr, kv->key.via.str.size, x) < 0)
                                return -ENOMEM;
                }
                break;
        default:
                *reterr_why = "binary or extension value";
                return -EBADMSG;
        }
        if (!v)
                return -ENOMEM;
        *ret = TAKE_PTR(v);
        return 0;
}

int call_visit(rolesd *c, const char *method, json_t *params, CallVisit visit, void *userdata,
               rolesd_error *err) {
        _cleanup_reply_ Reply rep = { 0 };
        const msgpack_object *result = NULL;
        const char *why = "bad value";
        msgpack_packer pk;
        uint32_t msgid;
        int r, pr;

        msgpack_unpacked_init(&rep.u);
        if (params && !json_is_object(params))
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "params", "params must be a JSON object");
        r = conn_begin(c, &pk, method, &msgid, err);
        if (r < 0)
                return r;
        pr = params ? json_to_mp(&pk, params, 1) : msgpack_pack_map(&pk, 0);
        if (pr == -E2BIG) {
                buf_clear(&c->out);
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "params", "params nested too deeply");
        }
        r = conn_call(c, msgid, pr, &rep, &result, err);
        if (r < 0 || !visit)
                return r;
        r = visit(result, userdata, &why);
        if (r == -ENOMEM)
                return fail_oom(err);
        if (r < 0)
                return fail(err, -EIO, ROLESD_INTERNAL, NULL, "malformed %s result from rolesd: %s", method, why);
        return 0;
}

static int visit_json(const msgpack_object *result, void *userdata, const char **reterr_why) {
        return mp_to_json(result, userdata, reterr_why);
}

int rolesd_call(rolesd *c, const char *method, json_t *params, json_t **ret_result,
                rolesd_error *err) {
        if (ret_result)
                *ret_result = NULL;
        return call_visit(c, method, params, ret_result ? visit_json : NULL, ret_result, err);
}

/* ---- roles ---- */

rolesd_role *rolesd_role_free(rolesd_role *r) {
        if (!r)
                return NULL;
        free(r->id);
        free(r->api_id);
        free(r->name);
        free(r->description);
        free(r->scope);
        strv_free(r->permissions);
        free(r);
        return NULL;
}

static void role_donep(Role *r) {
        role_done(r);
}

/* Decodes a role map into a new rolesd_role. -EBADMSG or -ENOMEM. */
static int role_from_wire(const msgpack_object *o, rolesd_role **ret) {
        _cleanup_(role_donep) Role w = { 0 };
        rolesd_role *r;
        int k;

        k = role_unpack(o, &w);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return -EBADMSG;
        if (!w.permissions) {
                w.permissions = calloc(1, sizeof(char *));
                if (!w.permissions)
                        return -ENOMEM;
        }
        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        *r = (rolesd_role) {
                .id = TAKE_PTR(w.id),
                .org = w.org,
                .api_id = TAKE_PTR(w.api_id),
                .name = TAKE_PTR(w.name),
                .description = TAKE_PTR(w.description),
                .scope = TAKE_PTR(w.scope),
                .permissions = TAKE_PTR(w.permissions),
                .mandatory2fa = w.mandatory2fa,
                .is_protected = w.is_protected,
                .created_at = w.created_at,
                .updated_at = w.updated_at,
        };
        *ret = r;
        return 0;
}

static int role_result(const msgpack_object *result, const char *method, rolesd_role **ret,
                       rolesd_error *err) {
        rolesd_role *role = NULL;
        int r = role_from_wire(result, &role);

        if (r == -ENOMEM)
                return fail_oom(err);
        if (r < 0)
                return fail_bad_result(err, method);
        if (ret)
                *ret = role;
        else
                rolesd_role_free(role);
        return 0;
}

int rolesd_role_create(rolesd *c, const rolesd_auth *auth, const rolesd_role_spec *spec,
                       rolesd_role **ret, rolesd_error *err) {
        _cleanup_reply_ Reply rep = { 0 };
        const msgpack_object *result = NULL;
        msgpack_packer pk;
        uint32_t msgid;
        size_t n = 3;
        int r, pr;

        msgpack_unpacked_init(&rep.u);
        if (ret)
                *ret = NULL;
        if (!spec || !spec->name)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "name", "a role needs a name");
        r = conn_begin(c, &pk, "role.create", &msgid, err);
        if (r < 0)
                return r;
        n += !!spec->api_id + !!spec->description + !!spec->scope + !!spec->permissions + has_auth(auth);
        pr = msgpack_pack_map(&pk, n);
        pr |= mp_pack_kv_u64(&pk, "org", spec->org);
        pr |= mp_pack_kv_str(&pk, "name", spec->name);
        if (spec->api_id)
                pr |= mp_pack_kv_str(&pk, "api_id", spec->api_id);
        if (spec->description)
                pr |= mp_pack_kv_str(&pk, "description", spec->description);
        if (spec->scope)
                pr |= mp_pack_kv_str(&pk, "scope", spec->scope);
        if (spec->permissions) {
                pr |= mp_pack_str(&pk, "permissions");
                pr |= mp_pack_strv(&pk, (char *const *) spec->permissions);
        }
        pr |= mp_pack_kv_bool(&pk, "mandatory2fa", spec->mandatory2fa);
        if (has_auth(auth))
                pr |= pack_auth(&pk, auth);
        r = conn_call(c, msgid, pr, &rep, &result, err);
        if (r < 0)
                return r;
        return role_result(result, "role.create", ret, err);
}

int rolesd_role_get(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                    const char *value, rolesd_role **ret, rolesd_error *err) {
        _cleanup_reply_ Reply rep = { 0 };
        const msgpack_object *result = NULL;
        msgpack_packer pk;
        uint32_t msgid;
        int r, pr;

        msgpack_unpacked_init(&rep.u);
        if (ret)
                *ret = NULL;
        if (!by || (strcmp(by, "id") != 0 && strcmp(by, "api_id") != 0 && strcmp(by, "name") != 0))
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "by", "by must be id, api_id or name");
        if (!value)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, by, "no %s given", by);
        r = conn_begin(c, &pk, "role.get", &msgid, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 2 + has_auth(auth));
        pr |= mp_pack_kv_u64(&pk, "org", org);
        pr |= mp_pack_kv_str(&pk, by, value);
        if (has_auth(auth))
                pr |= pack_auth(&pk, auth);
        r = conn_call(c, msgid, pr, &rep, &result, err);
        if (r < 0)
                return r;
        return role_result(result, "role.get", ret, err);
}

rolesd_role_page *rolesd_role_page_free(rolesd_role_page *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_roles; i++)
                rolesd_role_free(p->roles[i]);
        free(p->roles);
        free(p->next);
        free(p);
        return NULL;
}

static void rolesd_role_page_freep(rolesd_role_page **p) {
        rolesd_role_page_free(*p);
}

static int read_u64_key(const msgpack_object *map, const char *key, uint64_t *ret) {
        const msgpack_object *o = mp_map_get(map, key);
        return o ? mp_read_u64(o, ret) : -EBADMSG;
}

/* Decodes {roles, count, page, max_page, next?}. -EBADMSG or -ENOMEM. */
static int page_from_wire(const msgpack_object *o, rolesd_role_page **ret) {
        _cleanup_(rolesd_role_page_freep) rolesd_role_page *p = NULL;
        const msgpack_object *roles, *next;
        int r;

        if (o->type != MSGPACK_OBJECT_MAP)
                return -EBADMSG;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        if (read_u64_key(o, "count", &p->count) < 0 ||
            read_u64_key(o, "page", &p->page) < 0 ||
            read_u64_key(o, "max_page", &p->max_page) < 0)
                return -EBADMSG;
        next = mp_map_get(o, "next");
        if (next && next->type != MSGPACK_OBJECT_NIL) {
                r = mp_read_str(next, &p->next);
                if (r < 0)
                        return r == -ENOMEM ? r : -EBADMSG;
        }
        roles = mp_map_get(o, "roles");
        if (!roles || roles->type != MSGPACK_OBJECT_ARRAY)
                return -EBADMSG;
        if (roles->via.array.size > 0) {
                p->roles = calloc(roles->via.array.size, sizeof *p->roles);
                if (!p->roles)
                        return -ENOMEM;
        }
        for (uint32_t i = 0; i < roles->via.array.size; i++) {
                r = role_from_wire(&roles->via.array.ptr[i], &p->roles[i]);
                if (r < 0)
                        return r;
                p->n_roles++;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

int rolesd_role_list(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t page,
                     uint64_t per_page, const char *after, rolesd_role_page **ret,
                     rolesd_error *err) {
        _cleanup_reply_ Reply rep = { 0 };
        const msgpack_object *result = NULL;
        rolesd_role_page *p = NULL;
        msgpack_packer pk;
        uint32_t msgid;
        int r, pr;

        msgpack_unpacked_init(&rep.u);
        if (ret)
                *ret = NULL;
        r = conn_begin(c, &pk, "role.list", &msgid, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 1 + (page > 0) + (per_page > 0) + !!after + has_auth(auth));
        pr |= mp_pack_kv_u64(&pk, "org", org);
        if (page > 0)
                pr |= mp_pack_kv_u64(&pk, "page", page);
        if (per_page > 0)
                pr |= mp_pack_kv_u64(&pk, "per_page", per_page);
        if (after)
                pr |= mp_pack_kv_str(&pk, "after", after);
        if (has_auth(auth))
                pr |= pack_auth(&pk, auth);
        r = conn_call(c, msgid, pr, &rep, &result, err);
        if (r < 0)
                return r;
        r = page_from_wire(result, &p);
        if (r == -ENOMEM)
                return fail_oom(err);
        if (r < 0)
                return fail_bad_result(err, "role.list");
        if (ret)
                *ret = p;
        else
                rolesd_role_page_free(p);
        return 0;
}

/* ---- provisioning ---- */

int rolesd_org_add(rolesd *c, uint64_t id, const char *name, const char *provider,
                   rolesd_error *err) {
        _cleanup_reply_ Reply rep = { 0 };
        const msgpack_object *result = NULL;
        msgpack_packer pk;
        uint32_t msgid;
        int r, pr;

        msgpack_unpacked_init(&rep.u);
        r = conn_begin(c, &pk, "org.add", &msgid, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 1 + !!name + !!provider);
        pr |= mp_pack_kv_u64(&pk, "id", id);
        if (name)
                pr |= mp_pack_kv_str(&pk, "name", name);
        if (provider)
                pr |= mp_pack_kv_str(&pk, "provider", provider);
        return conn_call(c, msgid, pr, &rep, &result, err);
}

/* Reads the string at key of a result map into a new heap string. */
static int result_str(const msgpack_object *result, const char *key, const char *method, char **ret,
                      rolesd_error *err) {
        const msgpack_object *o = mp_map_get(result, key);
        int r = o ? mp_read_str(o, ret) : -EBADMSG;

        if (r == -ENOMEM)
                return fail_oom(err);
        if (r < 0)
                return fail_bad_result(err, method);
        return 0;
}

int rolesd_key_add(rolesd *c, const char *user_role, bool has_org, uint64_t org,
                   const char *provider, char **ret_api_key, rolesd_error *err) {
        _cleanup_reply_ Reply rep = { 0 };
        _cleanup_free_ char *key = NULL;
        const msgpack_object *result = NULL;
        msgpack_packer pk;
        uint32_t msgid;
        int r, pr;

        msgpack_unpacked_init(&rep.u);
        if (ret_api_key)
                *ret_api_key = NULL;
        if (!user_role)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "user_role", "a key needs a user role");
        r = conn_begin(c, &pk, "key.add", &msgid, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 1 + has_org + !!provider);
        pr |= mp_pack_kv_str(&pk, "user_role", user_role);
        if (has_org)
                pr |= mp_pack_kv_u64(&pk, "org", org);
        if (provider)
                pr |= mp_pack_kv_str(&pk, "provider", provider);
        r = conn_call(c, msgid, pr, &rep, &result, err);
        if (r < 0)
                return r;
        r = result_str(result, "api_key", "key.add", &key, err);
        if (r < 0)
                return r;
        if (ret_api_key)
                *ret_api_key = TAKE_PTR(key);
        return 0;
}

int rolesd_user_add(rolesd *c, const char *username, const char *const *roles,
                    char **ret_user_id, char **ret_token, rolesd_error *err) {
        _cleanup_reply_ Reply rep = { 0 };
        _cleanup_free_ char *user_id = NULL, *token = NULL;
        const msgpack_object *result = NULL;
        msgpack_packer pk;
        uint32_t msgid;
        int r, pr;

        msgpack_unpacked_init(&rep.u);
        if (ret_user_id)
                *ret_user_id = NULL;
        if (ret_token)
                *ret_token = NULL;
        if (!username)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "username", "a user needs a name");
        r = conn_begin(c, &pk, "user.add", &msgid, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 1 + !!roles);
        pr |= mp_pack_kv_str(&pk, "username", username);
        if (roles) {
                pr |= mp_pack_str(&pk, "roles");
                pr |= mp_pack_strv(&pk, (char *const *) roles);
        }
        r = conn_call(c, msgid, pr, &rep, &result, err);
        if (r < 0)
                return r;
        r = result_str(result, "user_id", "user.add", &user_id, err);
        if (r < 0)
                return r;
        r = result_str(result, "token", "user.add", &token, err);
        if (r < 0)
                return r;
        if (ret_user_id)
                *ret_user_id = TAKE_PTR(user_id);
        if (ret_token)
                *ret_token = TAKE_PTR(token);
        return 0;
}
