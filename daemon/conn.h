/* conn.h: one client connection. Owns its socket, its input and output
 * buffers and its limits; checks the peer's credentials when accepted and
 * hands complete frames to dispatch.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "proto/buf.h"
#include "proto/scan.h"

typedef struct Manager Manager;

typedef struct Conn {
        Manager *manager;
        struct Conn *prev, *next;       /* in manager->conns */
        int fd;                         /* -1 once closed */
        uint32_t events;                /* watched in the manager's connection epoll; 0: not in it */
        struct Conn *flush_next;        /* in manager->flush_list, holding a reference */
        bool flush_queued;
        Buf in, out;
        Scanner scan;
        unsigned refs;                  /* the manager's own, plus one per queued write */
        unsigned inflight;              /* writes queued, not yet answered */
        bool read_eof;                  /* the peer will send no more */
        bool closing;                   /* protocol error or shutdown: send what is due, then close */
        uint64_t last_activity;         /* CLOCK_MONOTONIC usec of the last read or write */
        uint64_t last_progress;         /* usec when the output buffer last shrank or was empty */
        uid_t uid;
        pid_t pid;
} Conn;

/* Takes an accepted socket; checks SO_PEERCRED against root, our own user
 * and members of socket_gid (when has_gid). A refused peer gets a
 * permission_denied error frame and is closed (returns -EACCES). */
int conn_new(Manager *m, int fd, bool has_gid, gid_t socket_gid, Conn **ret);
Conn *conn_ref(Conn *c);
Conn *conn_unref(Conn *c);
/* Closes the socket and unlinks from the manager; the struct lives on
 * while queued writes still reference it. */
void conn_close(Conn *c);
/* Output was appended: try to send it now, arm EPOLLOUT if it cannot all go. */
void conn_flush(Conn *c);
/* Re-evaluates whether to read, write, close; call after completions. */
void conn_kick(Conn *c);
/* The connection's socket is ready (revents from epoll). */
void conn_on_io(Conn *c, uint32_t revents);
/* The daemon is stopping: reads what the peer has already sent and answers
 * it (new requests get `unavailable`), then closes once nothing is due. */
void conn_stop(Conn *c);
/* A reply for a write arrived (or any state change that may unblock input). */
void conn_write_done(Conn *c);
