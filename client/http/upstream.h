/* upstream.h: a connection of rolesd-http to rolesd, used by a few
 * worker threads (server.c): a librolesd asynchronous connection, the shim's lock around it, and a
 * thread of the shim's own that polls it (upstream.c). */
#pragma once

#include <rolesd/rest.h>

typedef struct Upstream Upstream;

/* What a request waiting for rolesd leaves with its call: wake(userdata)
 * runs on the upstream's thread, outside its lock, once the call's reply
 * or failure is in the task. */
typedef struct UpstreamWaiter {
        void (*wake)(void *userdata);
        void *userdata;
        Upstream *upstream;             /* set by upstream_send() */
        struct UpstreamWaiter *next;    /* woken next (upstream.c's) */
} UpstreamWaiter;

/* A connection to rolesd at socket_path (NULL: the default), made when
 * the first call comes, and its thread. 0 or a negative errno. */
int upstream_new(const char *socket_path, Upstream **ret);

/* Sends the call task t waits for (rolesd_rest_task_send()), waking the
 * thread when it must watch something new. Returns 0: w->wake will run
 * exactly once. Or a negative errno: the failure is in the task (run it
 * again for its answer) unless it is -EINVAL. u NULL (no upstream) or
 * stopped: the call fails at once. */
int upstream_send(Upstream *u, rolesd_rest_task *t, UpstreamWaiter *w);

/* Joins the thread and frees the connection: every call in flight fails
 * (ROLESD_UNAVAILABLE, -ECANCELED) and its waiter is woken; later calls
 * fail at once. Accepts NULL. */
void upstream_stop(Upstream *u);

/* Stops the upstream and frees it. Accepts NULL, returns NULL. */
Upstream *upstream_free(Upstream *u);
