/* daemon.c: the real rolesd, started as the tests start it:
 * systemd-socket-activate -l SOCK -E NOTIFY_SOCKET=... -- rolesd --db DIR,
 * with readiness read from a notify socket the bench binds. Also the /proc
 * figures (CPU time, Private_Dirty). */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static const char *socket_activate(void) {
        const char *p = getenv("SOCKET_ACTIVATE");
        if (p && *p)
                return p;
        if (access("/usr/bin/systemd-socket-activate", X_OK) == 0)
                return "/usr/bin/systemd-socket-activate";
        if (access("/bin/systemd-socket-activate", X_OK) == 0)
                return "/bin/systemd-socket-activate";
        die("systemd-socket-activate not found (apt-get install systemd), or set SOCKET_ACTIVATE");
}

static void tail_log(const Daemon *d) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "tail -n 20 '%s' >&2", d->log);
        fprintf(stderr, "---- daemon log (%s) ----\n", d->log);
        if (system(cmd) != 0)
                fprintf(stderr, "(cannot show the log)\n");
}

static int notify_open(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof sa.sun_path)
                die("notify socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        (void) unlink(path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                die("cannot bind the notify socket %s: %s", path, strerror(errno));
        int one = 1;
        (void) setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
        return fd;
}

/* Waits for a datagram containing the line `want`. */
static bool notify_wait(Daemon *d, const char *want, double timeout_s) {
        double end = now_s() + timeout_s;

        for (;;) {
                char buf[4097];
                double left = end - now_s();
                if (left <= 0)
                        return false;
                struct pollfd p = { .fd = d->notify_fd, .events = POLLIN };
                int r = poll(&p, 1, (int) (left * 1000) + 1);
                if (r < 0 && errno != EINTR)
                        die("poll: %s", strerror(errno));
                if (r <= 0) {
                        int st;
                        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
                                d->pid = 0;
                                tail_log(d);
                                die("rolesd exited before %s", want);
                        }
                        continue;
                }
                ssize_t n = recv(d->notify_fd, buf, sizeof buf - 1, MSG_DONTWAIT);
                if (n <= 0)
                        continue;
                buf[n] = 0;
                for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
                        if (strcmp(line, want) == 0)
                                return true;
        }
}

void daemon_start(Daemon *d) {
        const char *sa = socket_activate();
        struct stat st;
        int fd = -1;

        d->notify_fd = notify_open(d->notify);
        (void) unlink(d->sock);

        double t_spawn = now_s();
        pid_t pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                child_stdio(d->log);
                char *env_notify = fmt("NOTIFY_SOCKET=%s", d->notify);
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                unsetenv("LISTEN_FDNAMES");
                unsetenv("WATCHDOG_USEC");
                execl(sa, sa, "-l", d->sock, "-E", env_notify, "--", d->rolesd, "--db", d->db, (char *) NULL);
                _exit(127);
        }
        d->pid = pid;

        /* The socket path exists from bind(); connect() works after listen(). */
        double t0 = 0, end = now_s() + 30;
        for (;;) {
                if (stat(d->sock, &st) == 0) {
                        t0 = now_s();
                        fd = unix_connect(d->sock);
                        if (fd >= 0)
                                break;
                }
                int wst;
                if (waitpid(pid, &wst, WNOHANG) == pid) {
                        d->pid = 0;
                        tail_log(d);
                        die("systemd-socket-activate exited early");
                }
                if (now_s() > end)
                        die("%s did not appear within 30 s", d->sock);
                usleep(200);
        }
        /* That connection made systemd-socket-activate exec rolesd (same pid). */
        if (!notify_wait(d, "READY=1", 600)) {
                tail_log(d);
                die("rolesd did not send READY=1 within 600 s");
        }
        double t1 = now_s();
        close(fd);
        d->start_to_ready_s = t1 - t0;
        d->spawn_to_ready_s = t1 - t_spawn;
}

void daemon_stop(Daemon *d) {
        int st = 0;

        if (d->pid <= 0)
                return;
        double t0 = now_s();
        kill(d->pid, SIGTERM);
        for (;;) {
                pid_t r = waitpid(d->pid, &st, WNOHANG);
                if (r == d->pid)
                        break;
                if (now_s() - t0 > 120) {
                        kill(d->pid, SIGKILL);
                        waitpid(d->pid, &st, 0);
                        die("rolesd did not stop within 120 s of SIGTERM");
                }
                usleep(1000);
        }
        d->stop_s = now_s() - t0;
        d->pid = 0;
        if (d->notify_fd >= 0)
                close(d->notify_fd);
        d->notify_fd = -1;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                tail_log(d);
                die("rolesd did not exit cleanly after SIGTERM (status 0x%x)", (unsigned) st);
        }
}

long proc_smaps_kb(pid_t pid, const char *field) {
        char path[64], line[256];
        size_t fl = strlen(field);
        long v = -1;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
                        v = strtol(line + fl + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

double proc_cpu_s(pid_t pid) {
        char path[64], buf[2048];
        unsigned long ut = 0, stt = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) != 2)
                return 0;
        return (double) (ut + stt) / (double) sysconf(_SC_CLK_TCK);
}

double proc_runq_wait_s(pid_t pid) {
        char path[64];
        double total = 0;
        DIR *d;

        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                unsigned long long run = 0, wait = 0;
                if (de->d_name[0] == '.')
                        continue;
                FILE *f = fopen(fmt("/proc/%d/task/%s/schedstat", (int) pid, de->d_name), "re");
                if (!f)
                        continue;
                if (fscanf(f, "%llu %llu", &run, &wait) == 2)
                        total += (double) wait / 1e9;
                fclose(f);
        }
        closedir(d);
        return total;
}

double self_cpu_s(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
               (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}
