/* listen.c: the listening sockets and accept(). Uses the sockets systemd
 * passed (sd_listen_fds), else binds the --socket path itself (mode 0660).
 * A path is taken only when nothing is there or a stale socket is (one
 * whose connect() is refused): a live socket belongs to another daemon
 * and anything else is not ours to remove. At exit the path is unlinked
 * only while it is still the socket we bound. On every accept the socket
 * file's group is read afresh, since that group is who may connect
 * besides root and us. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "proto/macro.h"

#define LISTEN_MAX 8

typedef struct Listener {
        int fd;
        sd_event_source *source;
        char *path;                     /* filesystem path of the socket, NULL if none */
        Listeners *owner;
} Listener;

struct Listeners {
        ConnSet *conns;                 /* set by listen_start() */
        Listener l[LISTEN_MAX];
        unsigned n;
        char *bound_path;               /* socket we bound ourselves (unlinked at exit) */
        dev_t bound_dev;                /* ... while the path is still that socket */
        ino_t bound_ino;
};

static char *socket_path_of(int fd) {
        struct sockaddr_un sa = {0};
        socklen_t len = sizeof sa;

        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0 || sa.sun_family != AF_UNIX ||
            len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] == 0)
                return NULL;
        return strndup(sa.sun_path, len - offsetof(struct sockaddr_un, sun_path));
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Listener *l = userdata;
        struct stat st;
        bool has_gid;

        for (unsigned i = 0; i < 64; i++) {     /* bounded: other work gets its turn */
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        if (errno == EMFILE || errno == ENFILE) {
                                log_warning_errno(errno, "Cannot accept a connection");
                                return 0;
                        }
                        return log_error_errno(errno, "accept4() failed");
                }
                has_gid = l->path && stat(l->path, &st) >= 0 && S_ISSOCK(st.st_mode);
                (void) conn_add(l->owner->conns, cfd, has_gid, has_gid ? st.st_gid : 0);
        }
        return 0;
}

static int add_listener(Listeners *ls, int fd) {
        if (ls->n >= LISTEN_MAX)
                return log_error_errno(-E2BIG, "Too many listening sockets passed");
        ls->l[ls->n++] = (Listener) { .owner = ls, .fd = fd, .path = socket_path_of(fd) };
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        return 0;
}

/* Makes path free for our socket: 0 when nothing is there, or a stale
 * socket was (removed now); else refuses, saying why. */
static int take_path(const char *path, const struct sockaddr_un *sa) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(errno, "Cannot check %s", path);
        }
        if (!S_ISSOCK(st.st_mode))
                return log_error_errno(-EEXIST, "%s exists and is not a socket; not removing it", path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Cannot create socket");
        if (connect(fd, (const struct sockaddr *) sa, sizeof *sa) >= 0 || errno == EAGAIN)
                return log_error_errno(-EADDRINUSE, "Another daemon is listening on %s; not taking it over", path);
        if (errno != ECONNREFUSED)
                return log_error_errno(errno, "Cannot tell whether %s is in use", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Cannot remove the stale socket %s", path);
        log_info("Removed the stale socket %s", path);
        return 0;
}

static int bind_socket(Listeners *ls, const char *path, int *ret) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        mode_t old;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(-ENAMETOOLONG, "Socket path too long: %s", path);
        strcpy(sa.sun_path, path);

        r = take_path(path, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Cannot create socket");
        old = umask(0117);      /* srw-rw---- */
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0)              /* EADDRINUSE: another daemon bound it since we looked */
                return log_error_errno(errno, "Cannot bind %s", path);
        ls->bound_path = strdup(path);
        if (!ls->bound_path || lstat(path, &st) < 0) {
                r = log_error_errno(ls->bound_path ? errno : ENOMEM, "Cannot record the socket %s", path);
                (void) unlink(path);
                return r;
        }
        ls->bound_dev = st.st_dev;
        ls->bound_ino = st.st_ino;
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Cannot listen on %s", path);
        *ret = TAKE_FD(fd);
        return 0;
}

static int listen_fds(Listeners *ls, const char *socket_path) {
        int n, r, fd = -1;

        n = sd_listen_fds(true);
        if (n < 0)
                return log_error_errno(n, "Cannot read passed sockets");
        for (int i = 0; i < n; i++) {
                fd = SD_LISTEN_FDS_START + i;
                r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
                if (r < 0)
                        return log_error_errno(r, "Cannot check passed fd %d", fd);
                if (r == 0)
                        return log_error_errno(-EINVAL, "Passed fd %d is not a listening Unix stream socket", fd);
                r = add_listener(ls, fd);
                if (r < 0)
                        return r;
        }
        if (n > 0)
                return 0;

        r = bind_socket(ls, socket_path, &fd);
        if (r < 0)
                return r;
        r = add_listener(ls, fd);
        if (r < 0)
                close(fd);
        return r;
}

int listen_open(const char *socket_path, Listeners **ret) {
        Listeners *ls;
        int r;

        ls = calloc(1, sizeof *ls);
        if (!ls)
                return log_error_errno(-ENOMEM, "Out of memory");
        r = listen_fds(ls, socket_path);
        if (r < 0) {
                listen_close(ls);
                return r;
        }
        *ret = ls;
        return 0;
}

int listen_start(Listeners *ls, sd_event *e, ConnSet *conns) {
        ls->conns = conns;
        for (unsigned i = 0; i < ls->n; i++) {
                int r = sd_event_add_io(e, &ls->l[i].source, ls->l[i].fd, EPOLLIN, on_accept, &ls->l[i]);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch listening socket");
        }
        return 0;
}

/* Unlinks the socket we bound, unless the path is no longer that socket
 * (another daemon's, or anything else, now). */
static void unlink_ours(const Listeners *ls) {
        struct stat st;

        if (lstat(ls->bound_path, &st) < 0)
                return;
        if (!S_ISSOCK(st.st_mode) || st.st_dev != ls->bound_dev || st.st_ino != ls->bound_ino) {
                log_warning("%s is no longer the socket we bound; leaving it", ls->bound_path);
                return;
        }
        (void) unlink(ls->bound_path);
}

Listeners *listen_close(Listeners *ls) {
        if (!ls)
                return NULL;
        for (unsigned i = 0; i < ls->n; i++) {
                Listener *l = &ls->l[i];
                sd_event_source_disable_unref(l->source);
                if (l->fd >= 0)
                        close(l->fd);
                free(l->path);
        }
        if (ls->bound_path) {
                unlink_ours(ls);
                free(ls->bound_path);
        }
        free(ls);
        return NULL;
}
