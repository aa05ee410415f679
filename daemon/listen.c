/* listen.c: the listening sockets and accept(). Uses the sockets systemd
 * passed (sd_listen_fds), else binds the --socket path itself (mode 0660).
 * On every accept the socket file's group is read afresh, since that
 * group is who may connect besides root and us. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "conn.h"
#include "listen.h"
#include "log.h"
#include "proto/macro.h"

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
        Manager *m = l->manager;
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
                (void) conn_new(m, cfd, has_gid, has_gid ? st.st_gid : 0, NULL);
        }
        return 0;
}

static int add_listener(Manager *m, int fd) {
        Listener *l;
        int r;

        if (m->n_listeners >= MANAGER_LISTEN_MAX)
                return log_error_errno(-E2BIG, "Too many listening sockets passed");
        l = &m->listeners[m->n_listeners];
        *l = (Listener) { .manager = m, .fd = fd, .path = socket_path_of(fd) };
        (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        r = sd_event_add_io(m->event, &l->source, fd, EPOLLIN, on_accept, l);
        if (r < 0) {
                free(l->path);
                return log_error_errno(r, "Cannot watch listening socket");
        }
        m->n_listeners++;
        return 0;
}

static int bind_socket(const char *path, int *ret) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        mode_t old;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(-ENAMETOOLONG, "Socket path too long: %s", path);
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Cannot create socket");
        (void) unlink(path);    /* a stale socket of an earlier run */
        old = umask(0117);      /* srw-rw---- */
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0)
                return log_error_errno(errno, "Cannot bind %s", path);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Cannot listen on %s", path);
        *ret = TAKE_FD(fd);
        return 0;
}

int listen_open(Manager *m, const char *socket_path) {
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
                r = add_listener(m, fd);
                if (r < 0)
                        return r;
        }
        if (n > 0)
                return 0;

        r = bind_socket(socket_path, &fd);
        if (r < 0)
                return r;
        m->bound_path = strdup(socket_path);
        r = add_listener(m, fd);
        if (r < 0) {
                close(fd);
                return r;
        }
        return 0;
}

void listen_close(Manager *m) {
        for (unsigned i = 0; i < m->n_listeners; i++) {
                Listener *l = &m->listeners[i];
                l->source = sd_event_source_disable_unref(l->source);
                if (l->fd >= 0)
                        close(l->fd);
                l->fd = -1;
                free(l->path);
                l->path = NULL;
        }
        m->n_listeners = 0;
        if (m->bound_path) {
                (void) unlink(m->bound_path);
                free(m->bound_path);
                m->bound_path = NULL;
        }
}
