/* listen.h: the listening sockets: those passed by systemd (LISTEN_FDS),
 * or one Unix socket bound at --socket. Accepted connections go to the
 * connection set. */
#pragma once

#include <systemd/sd-event.h>

#include "conn.h"

typedef struct Listeners Listeners;

/* Watches the passed sockets, or binds socket_path when none was passed. */
int listen_open(sd_event *e, ConnSet *conns, const char *socket_path, Listeners **ret);
/* Stops accepting and closes the sockets; unlinks the one we bound.
 * Accepts NULL, returns NULL. */
Listeners *listen_close(Listeners *l);
