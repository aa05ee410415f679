/* conn.h: the client connections and the set of them. A connection owns
 * its socket, its input and output buffers, its limits and its peer's
 * credentials (checked when accepted); it hands complete frames to
 * dispatch.c, counts the writes it has in flight, and takes their
 * completions through its own function, batching the replies of one
 * delivery of the writer into one send. The set owns the connections' epoll (one source
 * of the event loop for all of them), the limits on their number, idle and
 * stalled connections, and the orderly stop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "dispatch.h"
#include "store.h"

typedef struct ConnSet ConnSet;

typedef struct ConnSetConfig {
        unsigned max_conns;             /* 0: CONN_MAX_DEFAULT */
        uint64_t idle_timeout_usec;     /* 0: CONN_IDLE_TIMEOUT_USEC */
        uint64_t stall_timeout_usec;    /* 0: CONN_STALL_TIMEOUT_USEC */
        /* The owner's hooks, each may be NULL: */
        void (*closed)(void *userdata);         /* a connection closed */
        void (*released)(void *userdata);       /* a large buffer was freed (malloc_trim when idle) */
        void *userdata;
        Store *store;                   /* where watches read their history */
        uint64_t published;             /* the revision the feed starts at */
} ConnSetConfig;

int conn_set_new(sd_event *e, Dispatcher *d, const ConnSetConfig *cfg, ConnSet **ret);
/* Closes every connection. Accepts NULL, returns NULL; call after the
 * writer delivered every completion (writer_free). */
ConnSet *conn_set_free(ConnSet *s);

/* Takes an accepted socket; checks SO_PEERCRED against root, our own user
 * and members of socket_gid (when has_gid), and the connection limit. A
 * refused peer gets an error frame and is closed (-EACCES, -EUSERS). */
int conn_add(ConnSet *s, int fd, bool has_gid, gid_t socket_gid);
unsigned conn_set_count(const ConnSet *s);
/* Closes connections silent past the idle timeout, and those that read
 * none of their pending replies past the stall timeout. */
void conn_set_sweep(ConnSet *s, uint64_t now_usec);
/* The daemon is stopping: every connection reads what its peer already
 * sent and answers it, then closes once nothing is due. */
void conn_set_stop(ConnSet *s);
/* Closes every connection now (writes in flight are still committed). */
void conn_set_close_all(ConnSet *s);

/* The change feed. A committed change, revision after the last published
 * one, its organization and its record: its notification is encoded once
 * and sent to every live watch it concerns (a watch whose unsent output
 * passes the soft limit ends with changes.lost). */
void conn_set_publish(ConnSet *s, uint64_t revision, uint64_t org, const void *record, size_t len);
/* Every change up to revision has been published (the log may hold none
 * of them): watches reading history stop there and go live. */
void conn_set_published(ConnSet *s, uint64_t revision);
/* Watches open. */
unsigned conn_set_watches(const ConnSet *s);
