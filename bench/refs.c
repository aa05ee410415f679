/* refs.c: the in-run references, on the same filesystem as the daemon's
 * database: (1) raw LMDB, one durable write transaction per record (a role
 * record as the daemon encodes it plus its three index entries);
 * (2) a bare single-threaded Unix-socket server that echoes every frame
 * (cut with the same scanner) back. */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "proto/limits.h"
#include "proto/scan.h"
#include "proto/wire-role.h"

#define CHECK(x) __extension__ ({ int _r = (x); if (_r != MDB_SUCCESS) die("lmdb reference: %s: %s", #x, mdb_strerror(_r)); })

static void be64(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

void lmdb_ref_run(const char *dir, double seconds, LmdbRef *ret) {
        static char *perms[] = { (char *) "business_edit", (char *) "review_read", NULL };
        MDB_env *env;
        MDB_dbi roles, api, name, seq;
        MDB_txn *txn;
        Hist *h = hist_new();
        uint64_t n = 0;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                die("mkdir %s: %s", dir, strerror(errno));
        CHECK(mdb_env_create(&env));
        CHECK(mdb_env_set_maxdbs(env, 8));
        CHECK(mdb_env_set_mapsize(env, 1024ull * 1024 * 1024));
        CHECK(mdb_env_open(env, dir, MDB_NOTLS, 0600));
        CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        CHECK(mdb_dbi_open(txn, "roles", MDB_CREATE, &roles));
        CHECK(mdb_dbi_open(txn, "role_api", MDB_CREATE, &api));
        CHECK(mdb_dbi_open(txn, "role_name", MDB_CREATE, &name));
        CHECK(mdb_dbi_open(txn, "role_seq", MDB_CREATE, &seq));
        CHECK(mdb_txn_commit(txn));

        double end = now_s() + seconds;
        size_t record = 0;
        while (now_s() < end) {
                char id[25], nm[64];
                uint8_t kapi[8 + 64], kname[8 + 64], kseq[16];
                msgpack_sbuffer sb;
                msgpack_packer pk;
                snprintf(id, sizeof id, "%08x%016llx", (unsigned) time(NULL), (unsigned long long) n * 2654435761u);
                snprintf(nm, sizeof nm, "bench-%llu", (unsigned long long) n);
                Role r = {
                        .id = id, .org = 1, .api_id = nm, .name = nm,
                        .description = (char *) "a role created by rolesd-bench",
                        .scope = (char *) "Users", .permissions = perms,
                        .created_at = 1700000000000ull + n, .updated_at = 1700000000000ull + n,
                };
                msgpack_sbuffer_init(&sb);
                msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
                role_pack(&pk, &r);
                size_t nl = strlen(nm);
                be64(kapi, 1);
                memcpy(kapi + 8, nm, nl);
                be64(kname, 1);
                memcpy(kname + 8, nm, nl);
                be64(kseq, 1);
                be64(kseq + 8, n + 1);
                MDB_val kid = { strlen(id), id }, vrec = { sb.size, sb.data };
                MDB_val ka = { 8 + nl, kapi }, kn = { 8 + nl, kname }, ks = { 16, kseq };
                MDB_val vid = { strlen(id), id };

                uint64_t t0 = now_ns();
                CHECK(mdb_txn_begin(env, NULL, 0, &txn));
                CHECK(mdb_put(txn, roles, &kid, &vrec, MDB_NOOVERWRITE));
                CHECK(mdb_put(txn, api, &ka, &vid, MDB_NOOVERWRITE));
                CHECK(mdb_put(txn, name, &kn, &vid, MDB_NOOVERWRITE));
                CHECK(mdb_put(txn, seq, &ks, &vid, MDB_NOOVERWRITE));
                CHECK(mdb_txn_commit(txn));
                hist_add(h, now_ns() - t0);
                record = sb.size + 3 * strlen(id) + 2 * (8 + nl) + 16 + strlen(id);
                msgpack_sbuffer_destroy(&sb);
                n++;
        }
        mdb_env_close(env);
        *ret = (LmdbRef) {
                .rate = (double) n / seconds,
                .p50 = hist_pct(h, 50), .p99 = hist_pct(h, 99),
                .record_bytes = record, .commits = n,
        };
        free(h);
}

/* ---- echo server ---- */

typedef struct EConn {
        int fd;
        Buf in, out;
        Scanner scan;
} EConn;

static void echo_conn_free(EConn *c) {
        close(c->fd);
        buf_done(&c->in);
        buf_done(&c->out);
        free(c);
}

static void echo_send(EConn *c, int ep) {
        while (buf_pending(&c->out) > 0) {
                ssize_t n = send(c->fd, buf_head(&c->out), buf_pending(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0)
                        break;
                buf_consume(&c->out, (size_t) n);
        }
        struct epoll_event ev = { .events = EPOLLIN | (buf_pending(&c->out) ? EPOLLOUT : 0u), .data.ptr = c };
        (void) epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void echo_serve(int lfd) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
                _exit(2);
        for (;;) {
                struct epoll_event evs[64];
                int n = epoll_wait(ep, evs, 64, -1);
                for (int i = 0; i < n; i++) {
                        EConn *c = evs[i].data.ptr;
                        if (!c) {
                                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                                if (fd < 0)
                                        continue;
                                c = calloc(1, sizeof *c);
                                if (!c)
                                        _exit(3);
                                c->fd = fd;
                                scanner_init(&c->scan, RPC_FRAME_MAX, RPC_DEPTH_MAX);
                                struct epoll_event cev = { .events = EPOLLIN, .data.ptr = c };
                                (void) epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                                continue;
                        }
                        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                                char *p = buf_reserve(&c->in, 64 * 1024);
                                ssize_t r = p ? recv(c->fd, p, 64 * 1024, MSG_DONTWAIT) : -1;
                                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                                        echo_conn_free(c);
                                        continue;
                                }
                                if (r > 0)
                                        c->in.len += (size_t) r;
                                for (;;) {
                                        size_t size = 0;
                                        ScanResult sr = scanner_feed(&c->scan, buf_head(&c->in), buf_pending(&c->in), &size);
                                        if (sr != SCAN_COMPLETE)
                                                break;
                                        size_t at = c->out.len;
                                        buf_append(&c->out, buf_head(&c->in), size);
                                        if (size > 1)
                                                c->out.data[at + 1] = 0x01;     /* a "response" */
                                        buf_consume(&c->in, size);
                                }
                        }
                        echo_send(c, ep);
                }
        }
}

pid_t echo_server_start(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int lfd;
        pid_t pid;

        if (strlen(path) >= sizeof sa.sun_path)
                die("echo socket path too long");
        strcpy(sa.sun_path, path);
        (void) unlink(path);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(lfd, 256) < 0)
                die("echo server: cannot listen on %s: %s", path, strerror(errno));
        fflush(NULL);
        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                echo_serve(lfd);
                _exit(0);
        }
        close(lfd);
        return pid;
}

void child_stdio(const char *log) {
        int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (lfd < 0 || nfd < 0)
                _exit(127);
        dup2(nfd, 0);
        dup2(lfd, 1);
        dup2(lfd, 2);
}

void child_stop(pid_t pid) {
        if (pid <= 0)
                return;
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
}
