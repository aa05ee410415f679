/* fuzz-common.c: the daemon without sockets or threads for the fuzz
 * targets (see fuzz-common.h). */
#include <errno.h>
#include <poll.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/dispatch.h"
#include "daemon/seed.h"
#include "daemon/writer.h"
#include "fuzz-common.h"
#include "fuzz-require.h"
#include "proto/limits.h"
#include "proto/rpc.h"
#include "proto/wire.h"

FuzzDaemon fuzz_daemon;
static const StorePeer fuzz_peer = { .uid = 0, .gid = 0, .pid = 1 };   /* root's, as the tests run */

static bool commit_writes = true;
static MDB_txn *input_txn;              /* the parent of this input's writes */

/* ---- deterministic randomness (fuzzer only) ---- */

static uint64_t rng_state = 0x726f6c657364ull;

static uint64_t rng_next(void) {
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

void __wrap_randombytes_buf(void *buf, size_t n);
void __wrap_randombytes_buf(void *buf, size_t n) {
        uint8_t *p = buf;
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) rng_next();
}

uint32_t __wrap_randombytes_uniform(uint32_t upper);
uint32_t __wrap_randombytes_uniform(uint32_t upper) {
        return upper < 2 ? 0 : (uint32_t) (rng_next() % upper);
}

/* Role and user ids begin with the time: a fixed one, so that the ids made
 * at setup are the same in every run, as the credentials are. */
time_t __wrap_time(time_t *t);
time_t __wrap_time(time_t *t) {
        if (t)
                *t = 1700000000;
        return 1700000000;
}

/* ---- the writer, synchronous ---- */

static WriteOp *done_head, **done_tail = &done_head;    /* applied, completion due */

/* Applies the op at once (committed, or in this input's transaction),
 * and keeps it for complete_writes(): the writer never completes an op
 * inside writer_submit(). */
void __wrap_writer_submit(Writer *w, WriteOp *op);
void __wrap_writer_submit(Writer *w, WriteOp *op) {
        Store *s = fuzz_daemon.store;
        MDB_txn *parent = NULL;

        if (commit_writes)
                require(store_write_begin(s, &parent) == 0);
        else {
                if (!input_txn)
                        require(store_write_begin(s, &input_txn) == 0);
                parent = input_txn;
        }

        (void) writeop_apply(s, parent, op);
        if (op->partial) {
                /* As the writer: a write that failed halfway is undone. */
                store_write_abort(s, parent);
                if (!commit_writes)
                        input_txn = NULL;
        } else if (commit_writes)
                require(store_write_commit(s, parent) == 0);

        op->next = NULL;
        *done_tail = op;
        done_tail = &op->next;
}

/* Hands the applied ops to their completions, as the writer's delivery does. */
static void complete_writes(void) {
        while (done_head) {
                WriteOp *op = done_head;

                done_head = op->next;
                if (!done_head)
                        done_tail = &done_head;
                op->next = NULL;
                op->done(op, op->userdata);
        }
}

/* What conn.c's completion does for an open connection. */
static void write_done(WriteOp *op, void *userdata) {
        FuzzConn *c = userdata;

        c->inflight--;
        dispatch_write_reply(op, &c->out);
        dispatch_write_free(op);
}

/* The connection's session as conn.c keeps it: one watch at a time (its
 * notifications are conn.c's, not the dispatcher's: none here). */
static bool watching;
static uint32_t watching_id;

static int session_watch(void *userdata, uint32_t id, uint64_t after, const uint64_t *org, uint64_t *ret_watching) {
        if (watching) {
                *ret_watching = watching_id;
                return -EBUSY;
        }
        watching = true;
        watching_id = id;
        return 0;
}

static int session_unwatch(void *userdata, uint32_t id, uint64_t *ret_last) {
        if (!watching || watching_id != id)
                return -ENOENT;
        watching = false;
        *ret_last = 0;
        return 0;
}

static const Session fuzz_session = { .watch = session_watch, .unwatch = session_unwatch };

void fuzz_input_begin(void) {
        commit_writes = false;
        watching = false;
        fuzz_client_reset();
}

void fuzz_input_end(void) {
        if (input_txn) {
                store_write_abort(fuzz_daemon.store, input_txn);
                input_txn = NULL;
        }
        buf_clear(&fuzz_daemon.conn.out);
        buf_clear(&fuzz_daemon.conn.in);
        require(fuzz_daemon.conn.inflight == 0 && !done_head);
}

/* ---- the stream ---- */

/* Checks the replies that frames [from..) of the output produced. */
typedef struct Expect {
        bool reply;             /* a reply is due */
        bool has_msgid;
        uint32_t msgid;
} Expect;

/* Replies by code (RPC_OK for results), printed at exit with $ROLESD_FUZZ_STATS. */
static unsigned long long reply_stats[_RPC_CODE_MAX];

static void print_stats(void) {
        fprintf(stderr, "fuzz replies:");
        for (unsigned i = 0; i < _RPC_CODE_MAX; i++)
                fprintf(stderr, " %s=%llu", rpc_code_to_string((RpcCode) i), reply_stats[i]);
        fprintf(stderr, "\n");
}

static void check_reply(const char *p, size_t n, size_t *off, const Expect *e) {
        msgpack_unpacked u;
        RpcMessage m;
        size_t used = 0;

        msgpack_unpacked_init(&u);
        require(msgpack_unpack_next(&u, p + *off, n - *off, &used) == MSGPACK_UNPACK_SUCCESS);
        require(rpc_decode(p + *off, used, &u, &m, NULL) == 0);
        require(m.type == RPC_RESPONSE);
        require(m.has_msgid == e->has_msgid);
        require(!e->has_msgid || m.msgid == e->msgid);
        if (m.error->type == MSGPACK_OBJECT_MAP) {
                const msgpack_object *code = mp_map_get(m.error, "code");
                const msgpack_object *msg = mp_map_get(m.error, "message");
                require(code && code->type == MSGPACK_OBJECT_STR);
                require(msg && msg->type == MSGPACK_OBJECT_STR && msg->via.str.size > 0);
                RpcCode rc = rpc_code_from_string(code->via.str.ptr, code->via.str.size);
                if (rc == RPC_INTERNAL) {
                        fprintf(stderr, "reply is an internal error: %.*s\n", (int) msg->via.str.size,
                                msg->via.str.ptr);
                        abort();
                }
                require(rc != RPC_OK);
                reply_stats[rc]++;
        } else {
                require(m.error->type == MSGPACK_OBJECT_NIL);
                reply_stats[RPC_OK]++;
        }
        *off += used;
        msgpack_unpacked_destroy(&u);
}

static Expect expect_of(const char *frame, size_t n) {
        msgpack_unpacked u;
        RpcMessage m;
        Expect e = {0};

        msgpack_unpacked_init(&u);
        if (rpc_decode(frame, n, &u, &m, NULL) < 0)
                e = (Expect) { .reply = true, .has_msgid = m.has_msgid, .msgid = m.msgid };
        else if (m.type == RPC_REQUEST)
                e = (Expect) { .reply = true, .has_msgid = true, .msgid = m.msgid };
        msgpack_unpacked_destroy(&u);
        return e;
}

/* Dispatches the complete frames of conn.in (as conn.c's conn_process does). */
static size_t process_input(size_t max_frames, bool *ret_error) {
        FuzzConn *c = &fuzz_daemon.conn;
        size_t frames = 0;

        *ret_error = false;
        while (frames < max_frames) {
                size_t size = 0, before = buf_pending(&c->out), off = 0;
                ScanResult sr = scanner_feed(&c->scan, buf_head(&c->in), buf_pending(&c->in), &size);
                if (sr == SCAN_NEED_MORE)
                        break;
                if (sr != SCAN_COMPLETE) {
                        /* conn.c answers with one error frame and closes. */
                        scanner_init(&c->scan, RPC_FRAME_MAX, RPC_DEPTH_MAX);
                        buf_clear(&c->in);
                        *ret_error = true;
                        break;
                }
                Expect e = expect_of(buf_head(&c->in), size);
                DispatchResult r = dispatch_frame(fuzz_daemon.dispatch, buf_head(&c->in), size, &(DispatchCaller) {
                        .peer = &fuzz_peer, .writes_pending = c->inflight > 0, .out = &c->out,
                        .done = write_done, .userdata = c, .session = &fuzz_session,
                });
                require(r != DISPATCH_HELD);    /* every write completed before the next frame */
                if (r == DISPATCH_QUEUED)
                        c->inflight++;
                complete_writes();
                require(c->inflight == 0);
                require(!c->out.oom);
                if (e.reply) {
                        /* Exactly one reply, to that msgid. */
                        const char *p = buf_head(&c->out) + before;
                        size_t n = buf_pending(&c->out) - before;
                        check_reply(p, n, &off, &e);
                        require(off == n);
                } else
                        require(buf_pending(&c->out) == before);
                buf_consume(&c->in, size);
                frames++;
        }
        return frames;
}

size_t fuzz_feed_stream(const uint8_t *data, size_t size, size_t max_frames) {
        FuzzConn *c = &fuzz_daemon.conn;
        bool error;

        scanner_init(&c->scan, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        buf_clear(&c->in);
        require(buf_append(&c->in, data, size) == 0);
        return process_input(max_frames, &error);
}

/* ---- librolesd's view: send() feeds the daemon, recv() reads its replies ---- */

static bool client_closed;

void fuzz_client_reset(void) {
        FuzzConn *c = &fuzz_daemon.conn;

        scanner_init(&c->scan, RPC_FRAME_MAX, RPC_DEPTH_MAX);
        buf_clear(&c->in);
        buf_clear(&c->out);
        client_closed = false;
}

ssize_t __real_send(int fd, const void *buf, size_t n, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags) {
        FuzzConn *c = &fuzz_daemon.conn;
        bool error;

        if (client_closed) {
                errno = EPIPE;
                return -1;
        }
        require(buf_append(&c->in, buf, n) == 0);
        (void) process_input(SIZE_MAX, &error);
        if (error)
                client_closed = true;   /* the daemon would close after its error frame */
        return (ssize_t) n;
}

ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags) {
        FuzzConn *c = &fuzz_daemon.conn;
        size_t k = buf_pending(&c->out);

        if (k > n)
                k = n;
        memcpy(buf, buf_head(&c->out), k);
        buf_consume(&c->out, k);
        return (ssize_t) k;     /* 0: nothing due, the daemon hung up */
}

/* librolesd waits with poll() when a call timeout is set (rolesd-http's
 * translation sets one): the in-process daemon has always answered by then. */
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout);
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout) {
        for (nfds_t i = 0; i < n; i++)
                fds[i].revents = fds[i].events & (POLLIN | POLLOUT);
        return (int) n;
}

/* ---- setup ---- */

/* server.status's figures: the one connection, nothing committed. */
static void fuzz_stats(void *userdata, ServerStats *ret) {
        *ret = (ServerStats) { .connections = 1 };
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void cleanup(void) {
        if (fuzz_daemon.dir[0])
                (void) nftw(fuzz_daemon.dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Runs one request with committed writes; returns its result, valid
 * until the next call. */
static Buf last_frame;
static msgpack_unpacked last;

static const msgpack_object *call(const char *method, const char *what, void (*pack_params)(msgpack_packer *pk)) {
        FuzzConn *c = &fuzz_daemon.conn;
        Buf b = {0};
        msgpack_packer pk;
        RpcMessage m;

        msgpack_packer_init(&pk, &b, buf_pack_write);
        require(rpc_pack_request_begin(&pk, 1, method) == 0);
        pack_params(&pk);
        buf_clear(&c->out);
        require(fuzz_feed_stream((const uint8_t *) buf_head(&b), buf_pending(&b), 1) == 1);
        buf_clear(&last_frame);
        require(buf_append(&last_frame, buf_head(&c->out), buf_pending(&c->out)) == 0);
        buf_clear(&c->out);
        msgpack_unpacked_destroy(&last);
        msgpack_unpacked_init(&last);
        require(rpc_decode(buf_head(&last_frame), buf_pending(&last_frame), &last, &m, NULL) == 0);
        if (m.error->type != MSGPACK_OBJECT_NIL) {
                fprintf(stderr, "fuzz setup: %s (%s) failed\n", method, what);
                abort();
        }
        buf_done(&b);
        return m.result;
}

static char *result_str(const msgpack_object *o, const char *key) {
        char *s = NULL;
        require(mp_read_str(mp_map_get(o, key), &s) == 0);
        return s;
}

#define PACK_FN(name, body) static void name(msgpack_packer *pk) { body; }
PACK_FN(p_org1, msgpack_pack_map(pk, 3); mp_pack_kv_u64(pk, "id", 1); mp_pack_kv_str(pk, "name", "Acme One");
        mp_pack_kv_str(pk, "provider", FUZZ_PROVIDER))
PACK_FN(p_org2, msgpack_pack_map(pk, 2); mp_pack_kv_u64(pk, "id", 2); mp_pack_kv_str(pk, "provider", FUZZ_PROVIDER))
PACK_FN(p_org3, msgpack_pack_map(pk, 2); mp_pack_kv_u64(pk, "id", 3); mp_pack_kv_str(pk, "provider", "other"))
PACK_FN(p_key_admin, msgpack_pack_map(pk, 2); mp_pack_kv_str(pk, "user_role", "ORG_ADMIN"); mp_pack_kv_u64(pk, "org", 1))
PACK_FN(p_key_admin2, msgpack_pack_map(pk, 2); mp_pack_kv_str(pk, "user_role", "ORG_ADMIN"); mp_pack_kv_u64(pk, "org", 2))
PACK_FN(p_key_provider, msgpack_pack_map(pk, 2); mp_pack_kv_str(pk, "user_role", "PROVIDER");
        mp_pack_kv_str(pk, "provider", FUZZ_PROVIDER))
PACK_FN(p_key_publisher, msgpack_pack_map(pk, 2); mp_pack_kv_str(pk, "user_role", "PUBLISHER"); mp_pack_kv_u64(pk, "org", 1))
PACK_FN(p_user_admin, msgpack_pack_map(pk, 2); mp_pack_kv_str(pk, "username", "alice"); mp_pack_str(pk, "roles");
        msgpack_pack_array(pk, 1); mp_pack_str(pk, "admin"))
PACK_FN(p_user_plain, msgpack_pack_map(pk, 1); mp_pack_kv_str(pk, "username", "bob"))
PACK_FN(p_role1, msgpack_pack_map(pk, 4); mp_pack_kv_u64(pk, "org", 1); mp_pack_kv_str(pk, "name", "Existing");
        mp_pack_kv_str(pk, "api_id", "existing"); mp_pack_kv_str(pk, "description", "made at setup"))
PACK_FN(p_role0, msgpack_pack_map(pk, 2); mp_pack_kv_u64(pk, "org", 0); mp_pack_kv_str(pk, "name", "existing-rc"))
PACK_FN(p_user_org1, msgpack_pack_map(pk, 4); mp_pack_kv_str(pk, "username", "carl"); mp_pack_kv_u64(pk, "org", 1);
        mp_pack_kv_str(pk, "name", "Carl"); mp_pack_str(pk, "roles"); msgpack_pack_array(pk, 2);
        mp_pack_str(pk, "existing"); mp_pack_str(pk, "ORG_ADMIN"))
PACK_FN(p_user_org1b, msgpack_pack_map(pk, 2); mp_pack_kv_str(pk, "username", "dora"); mp_pack_kv_u64(pk, "org", 1))
PACK_FN(p_member0, msgpack_pack_map(pk, 3); mp_pack_kv_u64(pk, "org", 0); mp_pack_kv_str(pk, "name", "existing-rc");
        mp_pack_kv_str(pk, "user", "bob"))

void fuzz_daemon_setup(void) {
        FuzzDaemon *d = &fuzz_daemon;
        const char *tmp = getenv("TMPDIR");
        const msgpack_object *o;

        if (d->store)
                return;
        if (sodium_init() < 0)
                abort();
        snprintf(d->dir, sizeof d->dir, "%s/rolesd-fuzz-XXXXXX", tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
        require(mkdtemp(d->dir));
        atexit(cleanup);
        if (getenv("ROLESD_FUZZ_STATS"))
                atexit(print_stats);
        require(store_open(d->dir, &(StoreOptions) { .nosync = true, .seed = seed_workspace }, &d->store) == 0);
        require(dispatch_new(&(HandlerCtx) { .store = d->store, .stats = fuzz_stats }, NULL, &d->dispatch) == 0);
        scanner_init(&d->conn.scan, RPC_FRAME_MAX, RPC_DEPTH_MAX);

        call("org.add", "1 acme", p_org1);
        call("org.add", "2 acme", p_org2);
        call("org.add", "3 other", p_org3);
        o = call("key.add", "ORG_ADMIN 1", p_key_admin);
        d->key_org_admin = result_str(o, "api_key");
        o = call("key.add", "ORG_ADMIN 2", p_key_admin2);
        d->key_org_admin2 = result_str(o, "api_key");
        o = call("key.add", "PROVIDER acme", p_key_provider);
        d->key_provider = result_str(o, "api_key");
        o = call("key.add", "PUBLISHER 1", p_key_publisher);
        d->key_publisher = result_str(o, "api_key");
        o = call("user.add", "alice admin", p_user_admin);
        d->admin_user_id = result_str(o, "user_id");
        d->admin_token = result_str(o, "token");
        o = call("user.add", "bob", p_user_plain);
        d->plain_user_id = result_str(o, "user_id");
        d->plain_token = result_str(o, "token");
        call("role.create", "org 1 Existing", p_role1);
        call("role.create", "org 0 existing-rc", p_role0);
        call("user.add", "carl of org 1", p_user_org1);
        call("user.add", "dora of org 1", p_user_org1b);
        call("member.add", "bob holds existing-rc", p_member0);
        msgpack_unpacked_destroy(&last);
        msgpack_unpacked_init(&last);
        buf_done(&last_frame);

        if (getenv("ROLESD_FUZZ_PRINT_SETUP"))
                printf("{\"key_org_admin\": \"%s\", \"key_org_admin2\": \"%s\", \"key_provider\": \"%s\", "
                       "\"key_publisher\": \"%s\", \"admin_user_id\": \"%s\", \"admin_token\": \"%s\", "
                       "\"plain_user_id\": \"%s\", \"plain_token\": \"%s\"}\n",
                       d->key_org_admin, d->key_org_admin2, d->key_provider, d->key_publisher,
                       d->admin_user_id, d->admin_token, d->plain_user_id, d->plain_token);
        commit_writes = false;
}
