/* manager.h: the daemon as one object: event loop, listeners, the set of
 * connections, the store and the writer thread, signals, watchdog and
 * orderly shutdown. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "conn.h"
#include "store.h"
#include "writer.h"

#define MANAGER_LISTEN_MAX 8

typedef struct Listener {
        struct Manager *manager;
        int fd;
        sd_event_source *source;
        char *path;                     /* filesystem path of the socket, NULL if none */
} Listener;

typedef struct Manager {
        sd_event *event;
        Store *store;
        Writer *writer;
        Listener listeners[MANAGER_LISTEN_MAX];
        unsigned n_listeners;
        char *bound_path;               /* socket we bound ourselves (unlinked at exit) */
        Conn *conns;                    /* open connections */
        int conn_epoll;                 /* their sockets, one source of the loop */
        Conn *flush_list;               /* got replies from the writer, not yet sent */
        sd_event_source *conn_source;
        unsigned n_conns;
        unsigned max_conns;
        uint64_t idle_timeout_usec;     /* close connections silent this long */
        uint64_t stall_timeout_usec;    /* close clients that read none of their pending replies this long */
        bool stopping;                  /* SIGTERM seen: answer what is due, accept nothing new */
        sd_event_source *sweep;         /* idle/stall timer */
        sd_event_source *idle_trim;     /* malloc_trim when the loop is idle, at most every 100 ms */
        unsigned ops_since_trim;        /* writes completed since the last trim */
        uint64_t last_trim_usec;        /* CLOCK_MONOTONIC of the last idle trim */
        sd_event_source *stop_timer;    /* gives up waiting for clients at shutdown */
        MDB_txn *read_txn;              /* the loop's read transaction, reset between requests */
        msgpack_unpacked unpacked;      /* decoded frame; its zone is reused frame after frame */
        uint64_t start_usec;
        const char *db_path;
} Manager;

typedef struct ManagerConfig {
        const char *socket_path;        /* used when no socket is passed */
        const char *db_path;
        unsigned max_conns;
        uint64_t idle_timeout_usec;     /* 0: CONN_IDLE_TIMEOUT_USEC */
        uint64_t stall_timeout_usec;    /* 0: CONN_STALL_TIMEOUT_USEC */
} ManagerConfig;

int manager_new(const ManagerConfig *cfg, Manager **ret);
/* Opens the store, the listeners and the writer; sends READY=1. */
int manager_startup(Manager *m, const ManagerConfig *cfg);
/* Runs until SIGTERM/SIGINT and a clean drain. */
int manager_run(Manager *m);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) { manager_free(*m); }

/* conn.c tells the manager when a connection goes away. */
void manager_conn_closed(Manager *m, Conn *c);
/* Counts a completed request; enough of them schedule a trim for when the loop is idle. */
void manager_note_burst(Manager *m);
/* malloc_trim() once the loop is idle (a large buffer was just freed). */
void manager_schedule_trim(Manager *m);
/* Checks whether shutdown can finish now. */
void manager_check_stop(Manager *m);
