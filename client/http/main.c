/* main.c: rolesd-http's command line and lifecycle. Parses argv,
 * takes the listening socket from systemd (LISTEN_FDS) or binds
 * --listen HOST:PORT itself, starts the server (server.c), tells
 * systemd READY=1 (and WATCHDOG=1 when asked), and stops cleanly on
 * SIGTERM or SIGINT. Usage errors are said on stderr as they are; the
 * rest goes through the logger (log.c). Exit status: 0 success, 1
 * failure, 2 usage error. */

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <rolesd/client.h>

#include "client/http/limits.h"
#include "client/http/log.h"
#include "client/http/server.h"

#define LISTEN_DEFAULT "127.0.0.1:8080"
#define EXIT_USAGE 2

typedef struct Args {
        const char *listen;     /* HOST:PORT */
        const char *socket;     /* rolesd's socket, NULL: $ROLESD_SOCKET or the default */
} Args;

static void help(void) {
        printf("Usage: rolesd-http [OPTIONS]\n\n"
               "Serve the Partoo (/v2) and Rocket.Chat (/api/v1) role APIs over HTTP,\n"
               "answering from rolesd.\n\n"
               "  -h --help            Show this help and exit\n"
               "     --version         Show the version and exit\n"
               "     --listen HOST:PORT\n"
               "                       Address to serve when systemd passes no socket\n"
               "                       (default: " LISTEN_DEFAULT "; [ADDR]:PORT for IPv6,\n"
               "                       *:PORT for every address, port 0 for any free port)\n"
               "     --socket PATH     rolesd's socket (default: $ROLESD_SOCKET, else\n"
               "                       /run/rolesd/rolesd.sock)\n");
}

/* Splits HOST:PORT ([V6]:PORT, *:PORT, :PORT) into a new host (NULL for
 * every address) and the port text. -EINVAL when malformed. */
static int listen_parse(const char *spec, char **ret_host, const char **ret_port) {
        const char *colon = strrchr(spec, ':'), *port;
        size_t n;
        char *host;

        if (!colon)
                return -EINVAL;
        port = colon + 1;
        n = strspn(port, "0123456789");
        if (n == 0 || n > 5 || port[n] || strtoul(port, NULL, 10) > 65535)
                return -EINVAL;
        n = (size_t) (colon - spec);
        if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
                spec++;
                n -= 2;
        } else if (memchr(spec, ':', n))
                return -EINVAL;         /* an IPv6 address needs brackets */
        if (n == 0 || (n == 1 && spec[0] == '*'))
                host = NULL;
        else {
                host = strndup(spec, n);
                if (!host)
                        return -ENOMEM;
        }
        *ret_host = host;
        *ret_port = port;
        return 0;
}

/* 0: go on; 1: done (help, version); -EINVAL: usage error, reported. */
static int parse_argv(int argc, char *argv[], Args *args) {
        enum { ARG_VERSION = 0x100, ARG_LISTEN, ARG_SOCKET };
        static const struct option options[] = {
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, ARG_VERSION },
                { "listen",  required_argument, NULL, ARG_LISTEN },
                { "socket",  required_argument, NULL, ARG_SOCKET },
                {0}
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        printf("rolesd-http %s\n", ROLESD_VERSION);
                        return 1;
                case ARG_LISTEN: {
                        char *host = NULL;
                        const char *port;
                        int r = listen_parse(optarg, &host, &port);

                        free(host);
                        if (r == -ENOMEM) {
                                fprintf(stderr, "rolesd-http: out of memory\n");
                                return r;
                        }
                        if (r < 0) {
                                fprintf(stderr, "rolesd-http: --listen wants HOST:PORT (or [IPV6]:PORT), not '%s'\n",
                                        optarg);
                                return r;
                        }
                        args->listen = optarg;
                        break;
                }
                case ARG_SOCKET:
                        if (!*optarg) {
                                fprintf(stderr, "rolesd-http: --socket needs a path\n");
                                return -EINVAL;
                        }
                        args->socket = optarg;
                        break;
                case ':':
                        fprintf(stderr, "rolesd-http: option %s needs an argument\n", argv[optind - 1]);
                        return -EINVAL;
                default:
                        fprintf(stderr, "rolesd-http: unknown option %s (see --help)\n", argv[optind - 1]);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "rolesd-http: unexpected argument: %s\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

/* Binds and listens on spec. Returns the socket or a negative errno,
 * having logged why. */
static int listen_open(const char *spec) {
        struct addrinfo hints = {
                .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
        }, *ai = NULL;
        char *host = NULL;
        const char *port;
        int r, fd = -1, saved = 0;

        r = listen_parse(spec, &host, &port);
        if (r == -ENOMEM)
                return http_log_errno(LOG_ERR, r, "rolesd-http: out of memory");
        if (r < 0)
                return http_log_errno(LOG_ERR, -EINVAL, "rolesd-http: --listen wants HOST:PORT (or [IPV6]:PORT), not '%s'",
                                      spec);
        r = getaddrinfo(host, port, &hints, &ai);
        free(host);
        if (r != 0)
                return http_log_errno(LOG_ERR, -EADDRNOTAVAIL, "rolesd-http: cannot resolve '%s': %s", spec,
                                      gai_strerror(r));
        for (struct addrinfo *a = ai; a; a = a->ai_next) {
                static const int one = 1;

                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
                if (fd < 0) {
                        saved = errno;
                        continue;
                }
                if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) >= 0 &&
                    bind(fd, a->ai_addr, a->ai_addrlen) >= 0 &&
                    listen(fd, HTTP_LISTEN_BACKLOG) >= 0)
                        break;
                saved = errno;
                close(fd);
                fd = -1;
        }
        freeaddrinfo(ai);
        if (fd < 0) {
                saved = saved ? saved : EADDRNOTAVAIL;
                return http_log_errno(LOG_ERR, -saved, "rolesd-http: cannot listen on %s: %s", spec, strerror(saved));
        }
        return fd;
}

/* The socket systemd passed, if any: returns it, 0 when none was passed,
 * or a negative errno. */
static int listen_passed(void) {
        int n = sd_listen_fds(true), r;

        if (n < 0)
                return http_log_errno(LOG_ERR, n, "rolesd-http: cannot take the sockets passed by systemd: %s",
                                      strerror(-n));
        if (n == 0)
                return 0;
        if (n > 1)
                return http_log_errno(LOG_ERR, -EINVAL, "rolesd-http: systemd passed %d sockets, expected one", n);
        r = sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 1);
        if (r <= 0)
                return http_log_errno(LOG_ERR, r < 0 ? r : -ENOTSOCK,
                                      "rolesd-http: the socket systemd passed is not a listening stream socket");
        return SD_LISTEN_FDS_START;
}

/* "ADDR:PORT" of a listening socket, for the log. */
static void socket_name(int fd, char *buf, size_t size) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        char host[NI_MAXHOST], port[NI_MAXSERV];

        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0 ||
            getnameinfo((struct sockaddr *) &sa, len, host, sizeof host, port, sizeof port,
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
                snprintf(buf, size, "fd %d", fd);
                return;
        }
        snprintf(buf, size, sa.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* Raises the soft limit on open files to what HTTP_CONNECTIONS_MAX
 * connections and the rest of the process need (the default soft limit,
 * 1024, is below it), within the hard limit. */
static void files_limit_raise(void) {
        const rlim_t need = HTTP_CONNECTIONS_MAX + HTTP_FILES_OTHER;
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
                return;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                http_log(LOG_WARNING, "rolesd-http: cannot raise the open files limit to %llu: %s",
                         (unsigned long long) need, strerror(errno));
}

/* Waits for SIGTERM or SIGINT (blocked), sending WATCHDOG=1 meanwhile
 * when systemd asks for it. */
static void wait_for_stop(const sigset_t *mask) {
        uint64_t watchdog_usec = 0;
        struct timespec ts;

        if (sd_watchdog_enabled(false, &watchdog_usec) <= 0)
                watchdog_usec = 0;
        ts = (struct timespec) {
                .tv_sec = (time_t) (watchdog_usec / 2 / 1000000u),
                .tv_nsec = (long) (watchdog_usec / 2 % 1000000u * 1000u),
        };
        for (;;) {
                int sig = watchdog_usec ? sigtimedwait(mask, NULL, &ts) : sigwaitinfo(mask, NULL);

                if (sig == SIGTERM || sig == SIGINT)
                        return;
                if (sig < 0 && errno == EAGAIN)
                        sd_notify(false, "WATCHDOG=1");
        }
}

static int run(int argc, char *argv[]) {
        Args args = { .listen = LISTEN_DEFAULT };
        HttpServer *server = NULL;
        char name[NI_MAXHOST + NI_MAXSERV + 8];
        sigset_t mask;
        int fd, r;

        r = parse_argv(argc, argv, &args);
        if (r != 0)
                return r == -EINVAL ? EXIT_USAGE : r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        /* Worker threads inherit this mask: only wait_for_stop() sees the signals. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
                http_log(LOG_ERR, "rolesd-http: cannot set up signal handling");
                return EXIT_FAILURE;
        }

        files_limit_raise();
        fd = listen_passed();
        if (fd == 0)
                fd = listen_open(args.listen);
        if (fd < 0)
                return EXIT_FAILURE;
        socket_name(fd, name, sizeof name);

        json_object_seed(0);    /* seed jansson's hashes before threads race to */
        r = http_server_start(fd, args.socket, &server);
        if (r < 0)
                return EXIT_FAILURE;

        http_log(LOG_INFO, "rolesd-http %s serving HTTP on %s, rolesd at %s", ROLESD_VERSION, name,
                 rolesd_socket_path(args.socket));
        sd_notifyf(false, "READY=1\nSTATUS=Serving HTTP on %s", name);

        wait_for_stop(&mask);

        sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
        http_log(LOG_INFO, "rolesd-http stopping");
        http_server_stop(server);
        return EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        return run(argc, argv);
}
