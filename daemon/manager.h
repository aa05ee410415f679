/* manager.h: the daemon as one object: the event loop, the store, the
 * writer thread, the dispatcher, the connections and the listeners,
 * created and wired here; signals, watchdog, sweeps, the change feed's
 * publication, journal and trim, and orderly shutdown. */
#pragma once

#include <stdint.h>

typedef struct Manager Manager;

typedef struct ManagerConfig {
        const char *socket_path;        /* used when no socket is passed */
        const char *db_path;
        unsigned max_conns;             /* 0: CONN_MAX_DEFAULT */
        uint64_t idle_timeout_usec;     /* 0: CONN_IDLE_TIMEOUT_USEC */
        uint64_t stall_timeout_usec;    /* 0: CONN_STALL_TIMEOUT_USEC */
        uint64_t changes_retain;        /* 0: CHANGES_RETAIN_DEFAULT */
} ManagerConfig;

int manager_new(const ManagerConfig *cfg, Manager **ret);
/* Opens the store, the writer, the connection set and the listeners;
 * sends READY=1. */
int manager_startup(Manager *m, const ManagerConfig *cfg);
/* Runs until SIGTERM/SIGINT and a clean drain. */
int manager_run(Manager *m);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) { manager_free(*m); }
