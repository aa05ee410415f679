/* main.c: rolesd's command line. Parses argv, picks the socket and
 * database paths (flags, then $RUNTIME_DIRECTORY / $STATE_DIRECTORY, then
 * the /run and /var/lib defaults) and runs the manager. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "log.h"
#include "manager.h"
#include "proto/macro.h"

static void help(void) {
        printf("Usage: rolesd [OPTIONS]\n\n"
               "Serve the role database over MessagePack-RPC on a Unix socket.\n\n"
               "  -h --help                 Show this help and exit\n"
               "     --version              Show the version and exit\n"
               "     --socket PATH          Listen on PATH when no socket is passed by systemd\n"
               "                            (default: $RUNTIME_DIRECTORY/rolesd.sock or /run/rolesd/rolesd.sock)\n"
               "     --db DIR               LMDB environment directory, created if missing\n"
               "                            (default: $STATE_DIRECTORY or /var/lib/rolesd)\n"
               "     --max-connections N    Concurrent clients (default: %u)\n"
               "     --idle-timeout SEC     Close connections silent for SEC seconds (default: %llu)\n"
               "     --stall-timeout SEC    Close clients that read none of their replies for SEC\n"
               "                            seconds (default: %llu)\n"
               "     --changes-retain N     Records the change log keeps (default: %llu)\n"
               "  -v --verbose              Log debug messages\n",
               CONN_MAX_DEFAULT, CONN_IDLE_TIMEOUT_USEC / 1000000ull, CONN_STALL_TIMEOUT_USEC / 1000000ull,
               CHANGES_RETAIN_DEFAULT);
}

/* The first entry of a colon-separated systemd directory list. */
static char *first_dir(const char *list, const char *suffix) {
        size_t n = strcspn(list, ":");
        char *p = malloc(n + strlen(suffix) + 1);

        if (p) {
                memcpy(p, list, n);
                strcpy(p + n, suffix);
        }
        return p;
}

static int run(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_SOCKET, ARG_DB, ARG_MAX_CONNECTIONS, ARG_IDLE_TIMEOUT,
               ARG_STALL_TIMEOUT, ARG_CHANGES_RETAIN };
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h' },
                { "version",         no_argument,       NULL, ARG_VERSION },
                { "socket",          required_argument, NULL, ARG_SOCKET },
                { "db",              required_argument, NULL, ARG_DB },
                { "max-connections", required_argument, NULL, ARG_MAX_CONNECTIONS },
                { "idle-timeout",    required_argument, NULL, ARG_IDLE_TIMEOUT },
                { "stall-timeout",   required_argument, NULL, ARG_STALL_TIMEOUT },
                { "changes-retain",  required_argument, NULL, ARG_CHANGES_RETAIN },
                { "verbose",         no_argument,       NULL, 'v' },
                {0}
        };
        _cleanup_free_ char *socket_path = NULL, *db_path = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        ManagerConfig cfg = {0};
        const char *e;
        char *end;
        int c, r;

        while ((c = getopt_long(argc, argv, "hv", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("rolesd %s\n", ROLESD_VERSION);
                        return 0;
                case ARG_SOCKET:
                        free(socket_path);
                        socket_path = strdup(optarg);
                        break;
                case ARG_DB:
                        free(db_path);
                        db_path = strdup(optarg);
                        break;
                case ARG_MAX_CONNECTIONS:
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || v < 1 || v > CONN_MAX_LIMIT || optarg[0] == '-') {
                                log_error("rolesd: invalid --max-connections: %s", optarg);
                                return -EINVAL;
                        }
                        cfg.max_conns = (unsigned) v;
                        break;
                case ARG_IDLE_TIMEOUT:
                case ARG_STALL_TIMEOUT: {
                        errno = 0;
                        unsigned long sec = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg || sec < 1 || sec > CONN_TIMEOUT_MAX_SEC || optarg[0] == '-') {
                                log_error("rolesd: invalid --%s (seconds, 1 to %u): %s",
                                        c == ARG_IDLE_TIMEOUT ? "idle-timeout" : "stall-timeout", CONN_TIMEOUT_MAX_SEC,
                                        optarg);
                                return -EINVAL;
                        }
                        if (c == ARG_IDLE_TIMEOUT)
                                cfg.idle_timeout_usec = sec * 1000000ull;
                        else
                                cfg.stall_timeout_usec = sec * 1000000ull;
                        break;
                }
                case ARG_CHANGES_RETAIN: {
                        errno = 0;
                        unsigned long long n = strtoull(optarg, &end, 10);
                        if (errno || *end || end == optarg || n < 1 || n > CHANGES_RETAIN_MAX || optarg[0] == '-') {
                                log_error("rolesd: invalid --changes-retain (records, 1 to %llu): %s",
                                          CHANGES_RETAIN_MAX, optarg);
                                return -EINVAL;
                        }
                        cfg.changes_retain = n;
                        break;
                }
                case 'v':
                        log_max_level = LOG_DEBUG;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("rolesd: unexpected argument: %s", argv[optind]);
                return -EINVAL;
        }

        if (!socket_path)
                socket_path = (e = getenv("RUNTIME_DIRECTORY")) && *e ? first_dir(e, "/rolesd.sock")
                                                                      : strdup("/run/rolesd/rolesd.sock");
        if (!db_path)
                db_path = (e = getenv("STATE_DIRECTORY")) && *e ? first_dir(e, "") : strdup("/var/lib/rolesd");
        if (!socket_path || !db_path)
                return log_error_errno(-ENOMEM, "Out of memory");
        cfg.socket_path = socket_path;
        cfg.db_path = db_path;

        r = manager_new(&cfg, &m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event loop");
        r = manager_startup(m, &cfg);
        if (r < 0)
                return r;
        r = manager_run(m);
        if (r < 0)
                return log_error_errno(r, "Event loop failed");
        log_info("Stopped");
        return 0;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
