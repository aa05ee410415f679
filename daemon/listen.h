/* listen.h: the listening sockets: those passed by systemd (LISTEN_FDS),
 * or one Unix socket bound at --socket, never taking over a live socket
 * or removing anything but a stale one. Accepted connections go to the
 * connection set. */
#pragma once

#include <systemd/sd-event.h>

#include "conn.h"

typedef struct Listeners Listeners;

/* Takes the passed sockets, or binds socket_path when none was passed:
 * refused (logged) when a live socket or anything but a socket is there;
 * a stale socket (connect() refused) is replaced. Accepts nothing yet. */
int listen_open(const char *socket_path, Listeners **ret);
/* Starts accepting into conns. */
int listen_start(Listeners *ls, sd_event *e, ConnSet *conns);
/* Stops accepting and closes the sockets; unlinks the one we bound if the
 * path is still that socket. Accepts NULL, returns NULL. */
Listeners *listen_close(Listeners *l);
