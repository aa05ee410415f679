/* server.h: rolesd-http's HTTP server (server.c): libmicrohttpd with a
 * pool of worker threads, each with one connection to rolesd. */
#pragma once

typedef struct HttpServer HttpServer;

/* Starts serving on listen_fd (a listening stream socket; the server
 * takes it over) and talking to rolesd at socket_path (NULL: the
 * default). Returns 0 or a negative errno, logging why. */
int http_server_start(int listen_fd, const char *socket_path, HttpServer **ret);

/* Stops accepting, answers the requests waiting for rolesd (503), closes
 * every connection and frees the server. Accepts NULL, returns NULL. */
HttpServer *http_server_stop(HttpServer *s);
