/* rolesd/client.h: librolesd, the C client of the rolesd daemon.
 *
 * A connection (rolesd *) talks MessagePack-RPC to rolesd over its Unix
 * socket. Every call can be made two ways, on the same connection:
 *
 *   - synchronously: rolesd_role_create() returns when the answer is in;
 *   - asynchronously: rolesd_role_create_async() queues the call and
 *     returns at once; its callback runs later, from rolesd_process()
 *     (or rolesd_wait(), a synchronous call, rolesd_free()), with the
 *     reply. Any number of calls may be in flight; the daemon answers
 *     reads at once and writes after their commit, so replies come in any
 *     order, and each is matched to its call.
 *
 * The library owns no thread and no event loop: a program with a loop of
 * its own polls rolesd_get_fd() for rolesd_get_events() until
 * rolesd_get_timeout(), then calls rolesd_process(). A connection is used
 * by one thread at a time (callers lock).
 *
 * Every function that can fail returns 0 (or a positive value where
 * documented) on success and a negative errno on failure, and fills the
 * optional rolesd_error with the wire code, a message and the name of the
 * offending parameter:
 *
 *   ROLESD_INVALID_ARGUMENT   -EINVAL        ROLESD_UNAUTHENTICATED    -EKEYREJECTED
 *   ROLESD_DUPLICATE          -EEXIST        ROLESD_RESOURCE_EXHAUSTED -ENOSPC
 *   ROLESD_NOT_FOUND          -ENOENT        ROLESD_UNAVAILABLE        -ESHUTDOWN
 *   ROLESD_PERMISSION_DENIED  -EACCES        ROLESD_INTERNAL           -EIO
 *
 * Failing to reach the daemon (no socket, refused, connection lost, no
 * answer in time) is ROLESD_UNAVAILABLE; the return value is then the
 * socket's own errno (-ENOENT, -ECONNREFUSED, -EPIPE, -ECONNRESET,
 * -ETIMEDOUT...), so classify failures by err->code, not by the errno.
 *
 * A connection heals: after the daemon closed it (it stopped, or the
 * connection was idle too long), the next call connects again. A call
 * caught by a lost connection is sent again on a new one (once, before
 * its deadline) when it cannot have run (it was not sent yet) or when it
 * only reads; a write that was sent fails, its outcome unknown.
 *
 * The library never logs and never raises SIGPIPE.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rolesd rolesd;

typedef enum rolesd_code {
        ROLESD_OK = 0,
        ROLESD_INVALID_ARGUMENT,
        ROLESD_DUPLICATE,
        ROLESD_NOT_FOUND,
        ROLESD_PERMISSION_DENIED,
        ROLESD_UNAUTHENTICATED,
        ROLESD_RESOURCE_EXHAUSTED,
        ROLESD_UNAVAILABLE,
        ROLESD_INTERNAL,
} rolesd_code;

typedef struct rolesd_error {
        rolesd_code code;
        char message[256];      /* human-readable, NUL-terminated */
        char field[64];         /* offending parameter, or "" */
} rolesd_error;

/* "invalid_argument", "duplicate", ... as on the wire ("ok" for ROLESD_OK). */
const char *rolesd_code_name(rolesd_code code);

/* The socket path a client uses: path if not NULL, else $ROLESD_SOCKET if
 * set and non-empty, else "/run/rolesd/rolesd.sock". */
const char *rolesd_socket_path(const char *path);

/* Connects to the daemon at rolesd_socket_path(path). */
int rolesd_connect(const char *path, rolesd **ret, rolesd_error *err);
/* A connection to the daemon at rolesd_socket_path(path) that connects
 * when its first call is made (a server that starts before rolesd).
 * 0, -EINVAL or -ENOMEM. */
int rolesd_new(const char *path, rolesd **ret);
/* Bounds every later call on c to usec microseconds from the moment it is
 * made (0: no bound, the default). A call that runs out fails with
 * ROLESD_UNAVAILABLE and -ETIMEDOUT; the daemon is then taken to be stuck
 * and the connection is dropped (calls still in flight on it are treated
 * as after a lost connection). */
int rolesd_set_timeout(rolesd *c, uint64_t usec);

/* Closes the connection. Calls still in flight are called back first,
 * each with ROLESD_UNAVAILABLE and -ECANCELED. Accepts NULL, returns NULL.
 * From inside a callback, the connection is freed once the callbacks
 * return. */
rolesd *rolesd_free(rolesd *c);

/* ---- the event loop's side ----
 *
 * The descriptor may change after any call on c (a new connection): get
 * it again before each poll. It stays open until the next
 * rolesd_process(), rolesd_wait(), synchronous call or rolesd_free(). */

/* The socket to poll; -ENOTCONN when not connected. */
int rolesd_get_fd(rolesd *c);
/* POLLIN, and POLLOUT while request bytes wait to be sent; 0 when not
 * connected. */
int rolesd_get_events(rolesd *c);
/* *ret_usec: the CLOCK_MONOTONIC time (usec) by which rolesd_process()
 * must run even if the socket stays quiet (the earliest deadline of a
 * call in flight; now when there is work to do without waiting),
 * UINT64_MAX when none. 0 or -EINVAL. */
int rolesd_get_timeout(rolesd *c, uint64_t *ret_usec);
/* Never blocks: sends what the socket takes, reads what is there, and
 * runs the callbacks of the calls that completed: replies, deadlines
 * passed, a lost connection. Returns the number of calls completed, or
 * -EBUSY when called from a callback on c. */
int rolesd_process(rolesd *c);
/* Waits (one poll()) until the connection is ready, the earliest
 * deadline passes or timeout_usec (relative; UINT64_MAX: no bound)
 * elapses, then processes as rolesd_process() does. Returns its result,
 * 0 on timeout or interruption (EINTR), -ENOTCONN when not connected,
 * -EBUSY from a callback on c. */
int rolesd_wait(rolesd *c, uint64_t timeout_usec);

/* ---- replies ---- */

/* A call's outcome, handed to its callback and valid during it only. */
typedef struct rolesd_reply rolesd_reply;

/* Runs exactly once per call queued: with its reply, or its failure
 * (no answer before its deadline, connection lost, connection freed). A
 * callback may make new calls on c (asynchronous ones only: it must not
 * wait) and may free c. */
typedef void (*rolesd_reply_fn)(rolesd *c, rolesd_reply *reply, void *userdata);

/* The call's outcome: 0 when it succeeded, else its negative errno with
 * err (if not NULL) filled. The extractors below return the same, and on
 * success their result (each a new object the caller frees; ret may be
 * NULL to check the outcome only); a result of the wrong shape is
 * ROLESD_INTERNAL, -EIO. */
int rolesd_reply_error(rolesd_reply *r, rolesd_error *err);
/* The method the call was made with ("role.create", ...). */
const char *rolesd_reply_method(const rolesd_reply *r);
/* Any result, as a JSON value (a new reference). */
int rolesd_reply_json(rolesd_reply *r, json_t **ret, rolesd_error *err);

/* ---- calls ---- */

/* A REST credential to act as; all NULL (or a NULL pointer) means the
 * caller acts as itself, authorized by its peer credentials. */
typedef struct rolesd_auth {
        const char *api_key;    /* Partoo */
        const char *user_id;    /* Rocket.Chat, with token */
        const char *token;
} rolesd_auth;

/* Any method, with params and result as JSON values (MessagePack maps,
 * arrays, strings, integers, booleans and nil map onto JSON one to one).
 * params (borrowed) must be an object or NULL for {}. On success
 * *ret_result (if ret_result is not NULL) is a new reference. */
int rolesd_call(rolesd *c, const char *method, json_t *params, json_t **ret_result,
                rolesd_error *err);

/* Every *_async() call queues the call and returns 0: fn(c, reply,
 * userdata) will be called exactly once. Or it returns a negative errno
 * and fn is never called: -EINVAL (an argument), -ENOMEM, -EMSGSIZE
 * (request too large), -ENOBUFS (too many request bytes not sent yet),
 * -EBUSY (the connection is being freed), or why the daemon could not be
 * reached (the socket's errno). */
int rolesd_call_async(rolesd *c, const char *method, json_t *params, rolesd_reply_fn fn, void *userdata);

/* ---- typed calls ---- */

typedef struct rolesd_role {
        char *id;
        uint64_t org;
        char *api_id;
        char *name;
        char *description;      /* NULL when none */
        char *scope;            /* "Users" or "Subscriptions" */
        char **permissions;     /* NULL-terminated, never NULL */
        bool mandatory2fa;
        bool is_protected;      /* built-in */
        uint64_t created_at;    /* ms since the epoch */
        uint64_t updated_at;
} rolesd_role;

rolesd_role *rolesd_role_free(rolesd_role *r);  /* accepts NULL, returns NULL */

typedef struct rolesd_role_spec {
        uint64_t org;
        const char *name;               /* required */
        const char *api_id;             /* NULL: the daemon's default (the name) */
        const char *description;        /* NULL: none */
        const char *scope;              /* NULL: "Users" */
        const char *const *permissions; /* NULL-terminated, NULL for none */
        bool mandatory2fa;
} rolesd_role_spec;

int rolesd_role_create(rolesd *c, const rolesd_auth *auth, const rolesd_role_spec *spec,
                       rolesd_role **ret, rolesd_error *err);
int rolesd_role_create_async(rolesd *c, const rolesd_auth *auth, const rolesd_role_spec *spec,
                             rolesd_reply_fn fn, void *userdata);
/* The role a role.create or role.get call answered with. */
int rolesd_reply_role(rolesd_reply *r, rolesd_role **ret, rolesd_error *err);

/* by: "id", "api_id" or "name". */
int rolesd_role_get(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                    const char *value, rolesd_role **ret, rolesd_error *err);
int rolesd_role_get_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                          const char *value, rolesd_reply_fn fn, void *userdata);

typedef struct rolesd_role_page {
        rolesd_role **roles;    /* n_roles entries */
        size_t n_roles;
        uint64_t count;         /* the organization's total, built-ins included */
        uint64_t page;
        uint64_t max_page;
        char *next;             /* cursor of the following page, NULL on the last */
} rolesd_role_page;

rolesd_role_page *rolesd_role_page_free(rolesd_role_page *p); /* accepts NULL, returns NULL */

/* page from 1 (0: 1), per_page 1..100 (0: 30), after: a cursor from a
 * previous page's next, or NULL. */
int rolesd_role_list(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t page,
                     uint64_t per_page, const char *after, rolesd_role_page **ret,
                     rolesd_error *err);
int rolesd_role_list_async(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t page,
                           uint64_t per_page, const char *after, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_role_page(rolesd_reply *r, rolesd_role_page **ret, rolesd_error *err);

/* ---- provisioning (local peers only) ---- */

/* name, provider may be NULL. */
int rolesd_org_add(rolesd *c, uint64_t id, const char *name, const char *provider,
                   rolesd_error *err);
int rolesd_org_add_async(rolesd *c, uint64_t id, const char *name, const char *provider,
                         rolesd_reply_fn fn, void *userdata);

/* A Partoo API key. user_role: PROVIDER, ORG_ADMIN, ORG_MANAGER,
 * GROUP_MANAGER, BUSINESS_MANAGER or PUBLISHER. org is used when has_org;
 * provider may be NULL. *ret_api_key (free()) is shown only this once. */
int rolesd_key_add(rolesd *c, const char *user_role, bool has_org, uint64_t org,
                   const char *provider, char **ret_api_key, rolesd_error *err);
int rolesd_key_add_async(rolesd *c, const char *user_role, bool has_org, uint64_t org,
                         const char *provider, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_api_key(rolesd_reply *r, char **ret_api_key, rolesd_error *err);

/* A Rocket.Chat workspace user; roles NULL-terminated or NULL ("user").
 * *ret_user_id and *ret_token (free()) are shown only this once. */
int rolesd_user_add(rolesd *c, const char *username, const char *const *roles,
                    char **ret_user_id, char **ret_token, rolesd_error *err);
int rolesd_user_add_async(rolesd *c, const char *username, const char *const *roles,
                          rolesd_reply_fn fn, void *userdata);
int rolesd_reply_user(rolesd_reply *r, char **ret_user_id, char **ret_token, rolesd_error *err);

#ifdef __cplusplus
}
#endif
