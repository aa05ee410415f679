/* listen.h: the listening sockets: those passed by systemd (LISTEN_FDS),
 * or one Unix socket bound at --socket. */
#pragma once

#include "manager.h"

/* Fills m->listeners. Binds cfg->socket_path only when nothing was passed. */
int listen_open(Manager *m, const char *socket_path);
void listen_close(Manager *m);
