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
 * by one thread at a time (callers lock). The library never logs and
 * never raises SIGPIPE.
 *
 * Each call has a deadline: ROLESD_TIMEOUT_DEFAULT_USEC after it is made
 * unless rolesd_set_timeout() says otherwise. A connection heals: after
 * the daemon closed it (it stopped, or the connection was idle too long),
 * the next call connects again. A call caught by a lost connection is sent
 * again on a new one (once, before its deadline) when it cannot have run
 * (it was not sent yet) or when it only reads; a write that was sent is
 * never sent again: it fails with -ECONNABORTED, its outcome unknown.
 *
 * Errors. Every function that can fail returns 0 on success and a
 * negative errno on failure, and fills the optional rolesd_error with a
 * code, a message and the offending parameter. The errno alone tells the
 * failures apart:
 *
 *   the daemon's answer (err->code as on the wire)
 *     -EINVAL        ROLESD_INVALID_ARGUMENT   a parameter (err->field); also
 *                                              found by the library before sending
 *     -EEXIST        ROLESD_DUPLICATE          err->field: "name" or "api_id"
 *     -ENOENT        ROLESD_NOT_FOUND          no such role
 *     -ENXIO         ROLESD_NOT_FOUND          no such organization (err->field "org")
 *     -EACCES        ROLESD_PERMISSION_DENIED  not allowed; also this process
 *                                              refused by the daemon (peer credentials)
 *     -EKEYREJECTED  ROLESD_UNAUTHENTICATED    bad API key or user token
 *     -ENOSPC        ROLESD_RESOURCE_EXHAUSTED the daemon's limits (store full,
 *                                              too many connections, frame too large)
 *     -ESHUTDOWN     ROLESD_UNAVAILABLE        the daemon is stopping
 *     -EIO           ROLESD_INTERNAL           the daemon's own failure
 *     -EROFS         ROLESD_PROTECTED          a built-in role, or a workspace's
 *                                              last admin: not changed
 *     -ENOTEMPTY     ROLESD_IN_USE             a role still held by users
 *     -ESTALE        ROLESD_CONFLICT           the role's revision is no longer
 *                                              the one given (if_revision)
 *   the library's
 *     -ECONNREFUSED  ROLESD_UNAVAILABLE  cannot connect (no socket, nobody
 *                                        listening, no permission on the socket
 *                                        file...: err->message says which);
 *                                        nothing was sent
 *     -ECONNRESET    ROLESD_UNAVAILABLE  connection lost; the call had no effect
 *     -ECONNABORTED  ROLESD_UNAVAILABLE  connection lost after a write was sent:
 *                                        whether it took effect is unknown
 *     -ETIMEDOUT     ROLESD_UNAVAILABLE  no answer before the deadline (the
 *                                        call's, or that of a call before it
 *                                        on the connection); a write may
 *                                        still take effect
 *     -ECANCELED     ROLESD_UNAVAILABLE  rolesd_free() or rolesd_reset() with the
 *                                        call in flight; a write sent may take effect
 *     -EBADMSG       ROLESD_INTERNAL     the daemon's answer is not a valid reply
 *                                        (or result) for the call
 *     -ENOMEM, -EMSGSIZE (request larger than the frame limit), -ENOBUFS (too
 *                    many request bytes waiting to be sent)
 *                    ROLESD_RESOURCE_EXHAUSTED
 *     -EBUSY         ROLESD_INVALID_ARGUMENT  waiting (a synchronous call,
 *                                        rolesd_process(), rolesd_wait()) from a
 *                                        callback of the same connection
 *
 * A write whose outcome is unknown (-ECONNABORTED, -ETIMEDOUT, -ECANCELED,
 * -EBADMSG) is checked by reading it back (rolesd_role_get()), never by
 * making it again blindly: a role created twice answers -EEXIST.
 *
 * Structures the caller allocates (rolesd_error, rolesd_auth,
 * rolesd_role_spec, and rolesd/rest.h's request and response) start with
 * a size: set it to sizeof the structure (the ROLESD_*_INIT initializers
 * do), or leave it 0 for the fields of librolesd 1.0. A later library
 * reads or fills the fields added after 1.0 only when the caller's size
 * covers them. Structures the library allocates (rolesd_role,
 * rolesd_role_page, rolesd_status) may grow at their end.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, "MAJOR.MINOR.PATCH" ("1.0.0"); MAJOR is its
 * soname's (librolesd.so.1). */
const char *rolesd_version(void);

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
        /* librolesd 1.1: the role lifecycle's */
        ROLESD_PROTECTED,               /* a built-in role, or a workspace's last admin */
        ROLESD_IN_USE,                  /* a role still held by users */
        ROLESD_CONFLICT,                /* the role changed since the revision given */
} rolesd_code;

typedef struct rolesd_error {
        size_t size;            /* sizeof(rolesd_error), or 0 (see above); the library never writes it */
        rolesd_code code;
        char message[256];      /* human-readable, NUL-terminated */
        char field[64];         /* offending parameter, or "" */
} rolesd_error;
#define ROLESD_ERROR_INIT { sizeof(rolesd_error), ROLESD_OK, "", "" }

/* "invalid_argument", "duplicate", ... as on the wire ("ok" for ROLESD_OK). */
const char *rolesd_code_name(rolesd_code code);

/* The socket path a client uses: path if not NULL, else $ROLESD_SOCKET if
 * set and non-empty, else "/run/rolesd/rolesd.sock". */
const char *rolesd_socket_path(const char *path);

/* Connects to the daemon at rolesd_socket_path(path). -EINVAL (ret NULL),
 * -ENOMEM, -ECONNREFUSED. */
int rolesd_connect(const char *path, rolesd **ret, rolesd_error *err);
/* A connection to the daemon at rolesd_socket_path(path) that connects
 * when its first call is made (a server that starts before rolesd).
 * 0, -EINVAL or -ENOMEM. */
int rolesd_new(const char *path, rolesd **ret);

/* Each call's deadline when rolesd_set_timeout() was not called: long
 * enough for a daemon that grows its database under load, short enough
 * that a stuck one (stopped, say) is noticed. */
#define ROLESD_TIMEOUT_DEFAULT_USEC (25ull * 1000000ull)

/* Bounds every later call on c to usec microseconds from the moment it is
 * made (0: no bound). A call that runs out fails with -ETIMEDOUT; the
 * daemon is then taken to be stuck and the connection is dropped (the
 * other calls in flight on it are treated as after a lost connection).
 * 0 or -EINVAL. */
int rolesd_set_timeout(rolesd *c, uint64_t usec);

/* Drops the connection (the next call connects anew); calls in flight
 * are called back first, each with -ECANCELED. 0, -EINVAL, or -EBUSY
 * from a callback of c. */
int rolesd_reset(rolesd *c);

/* Closes the connection. Calls still in flight are called back first,
 * each with -ECANCELED. Accepts NULL, returns NULL. From inside a
 * callback, the connection is freed once the callbacks return. */
rolesd *rolesd_free(rolesd *c);

/* ---- the event loop's side ----
 *
 * The descriptor may change after any call on c (a new connection): get
 * it again before each poll. It stays open until the next
 * rolesd_process(), rolesd_wait(), synchronous call, rolesd_reset() or
 * rolesd_free(). */

/* The socket to poll; -ENOTCONN when not connected, -EINVAL. */
int rolesd_get_fd(rolesd *c);
/* POLLIN, and POLLOUT while request bytes wait to be sent; 0 when not
 * connected. */
int rolesd_get_events(rolesd *c);
/* *ret_usec: the CLOCK_MONOTONIC time (usec) by which rolesd_process()
 * must run even if the socket stays quiet (the earliest deadline of a
 * call in flight; 0 when there is work to do at once), UINT64_MAX when
 * none. 0 or -EINVAL. */
int rolesd_get_timeout(rolesd *c, uint64_t *ret_usec);
/* Never blocks: sends what the socket takes, reads what is there, and
 * runs the callbacks of the calls that completed: replies, deadlines
 * passed, a lost connection. Returns the number of calls completed,
 * -EINVAL, or -EBUSY from a callback of c. */
int rolesd_process(rolesd *c);
/* Waits (one poll()) until the connection is ready, the earliest
 * deadline passes or timeout_usec (relative; UINT64_MAX: no bound)
 * elapses, then processes as rolesd_process() does. Returns its result,
 * 0 on timeout or interruption (EINTR), -ENOTCONN when not connected,
 * -EINVAL, -EBUSY from a callback of c. */
int rolesd_wait(rolesd *c, uint64_t timeout_usec);

/* ---- replies ---- */

/* A call's outcome, handed to its callback and valid during it only. */
typedef struct rolesd_reply rolesd_reply;

/* Runs exactly once per call queued: with its reply, or its failure
 * (no answer before its deadline, connection lost, connection freed). A
 * callback may make new calls on c (asynchronous ones only: it must not
 * wait) and may free c. */
typedef void (*rolesd_reply_fn)(rolesd *c, rolesd_reply *reply, void *userdata);

/* The call's outcome: 0 when it succeeded, else its negative errno (the
 * table above) with err filled. The extractors below return the same,
 * and on success their result (each a new object the caller frees; ret
 * may be NULL to check the outcome only); a result of the wrong shape is
 * -EBADMSG. -EINVAL when r is NULL. */
int rolesd_reply_error(rolesd_reply *r, rolesd_error *err);
/* The method the call was made with ("role.create", ...). */
const char *rolesd_reply_method(const rolesd_reply *r);
/* Any result, as a JSON value (a new reference). */
int rolesd_reply_json(rolesd_reply *r, json_t **ret, rolesd_error *err);

/* ---- calls ----
 *
 * The synchronous calls return the errors of the table above: the
 * daemon's (as listed with each call), and the library's. Every *_async()
 * call takes the same arguments but the results, queues the call and
 * returns 0: fn(c, reply, userdata) will be called exactly once. Or it
 * returns a negative errno and fn is never called: -EINVAL (an argument),
 * -ENOMEM, -EMSGSIZE, -ENOBUFS, -EBUSY (the connection is being freed),
 * -ECONNREFUSED. The arguments are copied into the request at once: they
 * need not outlive the *_async() call. */

/* A REST credential to act as; no credential (a NULL pointer, or all
 * members NULL) means the caller acts as itself, authorized by its peer
 * credentials. */
typedef struct rolesd_auth {
        size_t size;            /* sizeof(rolesd_auth), or 0 */
        const char *api_key;    /* Partoo */
        const char *user_id;    /* Rocket.Chat, with token */
        const char *token;
} rolesd_auth;

/* Any method, with params and result as JSON values (MessagePack maps,
 * arrays, strings, integers, booleans and nil map onto JSON one to one).
 * params (borrowed) must be an object or NULL for {}. On success
 * *ret_result (if ret_result is not NULL) is a new reference. The
 * daemon's errors are the method's (see rolesd-rpc(7)). */
int rolesd_call(rolesd *c, const char *method, json_t *params, json_t **ret_result,
                rolesd_error *err);
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
        size_t size;                    /* sizeof(rolesd_role_spec), or 0 */
        uint64_t org;
        const char *name;               /* required */
        const char *api_id;             /* NULL: the daemon's default (the name) */
        const char *description;        /* NULL: none */
        const char *scope;              /* NULL: "Users" */
        const char *const *permissions; /* NULL-terminated, NULL for none */
        bool mandatory2fa;
} rolesd_role_spec;

/* The daemon's errors: -EINVAL (a field, named; a permission not in the
 * organization's catalog: "permissions"), -EEXIST (name or api_id taken),
 * -ENXIO (no such organization), -EACCES, -EKEYREJECTED, -ENOSPC. */
int rolesd_role_create(rolesd *c, const rolesd_auth *auth, const rolesd_role_spec *spec,
                       rolesd_role **ret, rolesd_error *err);
int rolesd_role_create_async(rolesd *c, const rolesd_auth *auth, const rolesd_role_spec *spec,
                             rolesd_reply_fn fn, void *userdata);
/* The role a role.create or role.get call answered with. */
int rolesd_reply_role(rolesd_reply *r, rolesd_role **ret, rolesd_error *err);

/* by: "id", "api_id" or "name". The daemon's errors: -EINVAL, -ENOENT (no
 * such role), -ENXIO (no such organization), -EACCES, -EKEYREJECTED. */
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
 * previous page's next, or NULL. The daemon's errors: -EINVAL (page,
 * per_page, after), -ENXIO (no such organization), -EACCES,
 * -EKEYREJECTED. */
int rolesd_role_list(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t page,
                     uint64_t per_page, const char *after, rolesd_role_page **ret,
                     rolesd_error *err);
int rolesd_role_list_async(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t page,
                           uint64_t per_page, const char *after, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_role_page(rolesd_reply *r, rolesd_role_page **ret, rolesd_error *err);

/* ---- the daemon ---- */

typedef struct rolesd_status {
        char *version;          /* the daemon's */
        uint64_t organizations;
        uint64_t roles;         /* all organizations', built-ins included */
        uint64_t connections;   /* open now, this one included */
        uint64_t map_size;      /* bytes of the database's map */
        uint64_t uptime_ms;
        uint64_t write_batches; /* commits so far */
        uint64_t writes;        /* writes committed so far */
        uint64_t write_commit_us; /* time spent committing so far */
} rolesd_status;

rolesd_status *rolesd_status_free(rolesd_status *s);    /* accepts NULL, returns NULL */

/* The daemon's state (server.status). The daemon's errors: none but
 * -ESHUTDOWN. */
int rolesd_server_status(rolesd *c, rolesd_status **ret, rolesd_error *err);
int rolesd_server_status_async(rolesd *c, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_status(rolesd_reply *r, rolesd_status **ret, rolesd_error *err);

/* ---- provisioning (local peers only) ---- */

/* name, provider may be NULL. The daemon's errors: -EINVAL (id 0, name,
 * provider), -EEXIST (the organization exists), -EACCES. */
int rolesd_org_add(rolesd *c, uint64_t id, const char *name, const char *provider,
                   rolesd_error *err);
int rolesd_org_add_async(rolesd *c, uint64_t id, const char *name, const char *provider,
                         rolesd_reply_fn fn, void *userdata);

/* A Partoo API key. user_role: PROVIDER, ORG_ADMIN, ORG_MANAGER,
 * GROUP_MANAGER, BUSINESS_MANAGER or PUBLISHER. org is used when has_org;
 * provider may be NULL. *ret_api_key (free()) is shown only this once.
 * The daemon's errors: -EINVAL (user_role, org, provider), -ENXIO (no
 * such organization), -EACCES. */
int rolesd_key_add(rolesd *c, const char *user_role, bool has_org, uint64_t org,
                   const char *provider, char **ret_api_key, rolesd_error *err);
int rolesd_key_add_async(rolesd *c, const char *user_role, bool has_org, uint64_t org,
                         const char *provider, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_api_key(rolesd_reply *r, char **ret_api_key, rolesd_error *err);

/* A Rocket.Chat workspace user; roles NULL-terminated or NULL ("user").
 * *ret_user_id and *ret_token (free()) are shown only this once. The
 * daemon's errors: -EINVAL (username, roles), -ENOENT (a role of roles is
 * not in the workspace), -EEXIST (the username is taken), -EACCES. */
int rolesd_user_add(rolesd *c, const char *username, const char *const *roles,
                    char **ret_user_id, char **ret_token, rolesd_error *err);
int rolesd_user_add_async(rolesd *c, const char *username, const char *const *roles,
                          rolesd_reply_fn fn, void *userdata);
int rolesd_reply_user(rolesd_reply *r, char **ret_user_id, char **ret_token, rolesd_error *err);

#ifdef __cplusplus
}
#endif
