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
 *     -EIDRM         ROLESD_COMPACTED          a revision older than the change
 *                                              log keeps (changes.list/watch)
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

/* The library's version, "MAJOR.MINOR.PATCH" ("1.2.0"); MAJOR is its
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
        /* librolesd 1.2: the change feed's */
        ROLESD_COMPACTED,               /* a revision older than the change log keeps */
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
        /* librolesd 1.1 */
        uint64_t revision;      /* the database revision of its last create or update */
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

/* ---- librolesd 1.1: the role lifecycle ----
 *
 * A role is named by by ("id", "api_id" or "name") and value, as in
 * rolesd_role_get(). Every call below fails before sending with -EINVAL
 * (err->field: the argument) when a required argument is NULL. Besides
 * its own errors listed with it, each can fail with those of the table
 * above that the library makes, -ESHUTDOWN (the daemon is stopping) and
 * -EIO (the daemon's own failure); the calls that take auth with -EACCES
 * (not allowed) and -EKEYREJECTED (a bad credential), the others with
 * -EACCES when auth would be needed (they are for local peers only). A
 * call that can fail with -ENOENT for several things tells them apart by
 * err->field ("user", "member", "key_id", or the key naming the role). */

/* if_revision when the role's revision is not to be checked. */
#define ROLESD_ANY_REVISION UINT64_MAX

/* What rolesd_role_update() changes: each NULL member (and a false
 * set_mandatory2fa) is kept as it is. */
typedef struct rolesd_role_changes {
        size_t size;                    /* sizeof(rolesd_role_changes), or 0 */
        const char *name;
        const char *api_id;             /* in the workspace (org 0) it follows name */
        const char *description;
        const char *scope;              /* "Users" or "Subscriptions" */
        const char *const *permissions; /* NULL-terminated ({ NULL }: none) */
        bool set_mandatory2fa;
        bool mandatory2fa;
} rolesd_role_changes;
#define ROLESD_ROLE_CHANGES_INIT { sizeof(rolesd_role_changes), NULL, NULL, NULL, NULL, NULL, false, false }

/* Changes a role; *ret is the role after the change (new updated_at and
 * revision). if_revision: the role's revision as last read, or
 * ROLESD_ANY_REVISION. The daemon's errors: -EINVAL (a field, as
 * rolesd_role_create() checks it; no change at all: field "set"), -ENOENT
 * (no such role), -ENXIO (no such organization), -EEXIST (name or api_id
 * of another role), -EROFS (a built-in: any change of a Partoo one; a
 * workspace one's name, api_id or scope), -ESTALE (the role's revision is
 * no longer if_revision), -ENOSPC. */
int rolesd_role_update(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                       const rolesd_role_changes *set, uint64_t if_revision, rolesd_role **ret,
                       rolesd_error *err);
int rolesd_role_update_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                             const char *value, const rolesd_role_changes *set, uint64_t if_revision,
                             rolesd_reply_fn fn, void *userdata);

/* A role deleted: what it was, and the revision of its deletion. */
typedef struct rolesd_role_deleted {
        char *id;
        char *api_id;
        char *name;
        uint64_t revision;
} rolesd_role_deleted;

rolesd_role_deleted *rolesd_role_deleted_free(rolesd_role_deleted *d); /* accepts NULL, returns NULL */

/* Deletes a role. force: also when users hold it (their memberships go
 * in the same transaction). The daemon's errors: -ENOENT, -ENXIO, -EROFS
 * (a built-in), -ESTALE (if_revision), -ENOTEMPTY (held by users, without
 * force), -ENOSPC. */
int rolesd_role_delete(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                       uint64_t if_revision, bool force, rolesd_role_deleted **ret, rolesd_error *err);
int rolesd_role_delete_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                             const char *value, uint64_t if_revision, bool force, rolesd_reply_fn fn,
                             void *userdata);
int rolesd_reply_role_deleted(rolesd_reply *r, rolesd_role_deleted **ret, rolesd_error *err);

/* Copies a role: *ret is the copy, named "NAME - N" with api_id
 * "API_ID_N" (the first free N of 2, 3, ...). The daemon's errors:
 * -ENOENT, -ENXIO, -EROFS (a Partoo built-in), -EINVAL (the copy's name
 * or api_id over 100 characters), -ENOSPC. Its reply:
 * rolesd_reply_role(). */
int rolesd_role_duplicate(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                          const char *value, rolesd_role **ret, rolesd_error *err);
int rolesd_role_duplicate_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                                const char *value, rolesd_reply_fn fn, void *userdata);

/* A user's roles: their api_ids, in the roles' creation order. */
typedef struct rolesd_memberships {
        char *user;             /* the username */
        char **roles;           /* NULL-terminated, never NULL */
} rolesd_memberships;

rolesd_memberships *rolesd_memberships_free(rolesd_memberships *m); /* accepts NULL, returns NULL */

/* Gives the role to user (a username of org); *ret: the roles the user
 * holds now. The daemon's errors: -ENOENT (no such user: field "user";
 * no such role: the key naming it), -ENXIO, -EEXIST (already held),
 * -EACCES (also: the workspace's admin role without assign-admin-role),
 * -ENOSPC. */
int rolesd_member_add(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                      const char *user, rolesd_memberships **ret, rolesd_error *err);
int rolesd_member_add_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                            const char *value, const char *user, rolesd_reply_fn fn, void *userdata);
/* Takes the role from user. The daemon's errors: -ENOENT (no such user,
 * role, or membership: field "member"), -ENXIO, -EROFS (the workspace's
 * last admin), -ENOSPC. */
int rolesd_member_remove(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                         const char *value, const char *user, rolesd_memberships **ret, rolesd_error *err);
int rolesd_member_remove_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                               const char *value, const char *user, rolesd_reply_fn fn, void *userdata);
/* The roles user holds. The daemon's errors: -ENOENT (field "user"),
 * -ENXIO. */
int rolesd_user_roles(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *user,
                      rolesd_memberships **ret, rolesd_error *err);
int rolesd_user_roles_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *user,
                            rolesd_reply_fn fn, void *userdata);
/* The result of member.add, member.remove or user.roles. */
int rolesd_reply_memberships(rolesd_reply *r, rolesd_memberships **ret, rolesd_error *err);

/* A user of an organization. */
typedef struct rolesd_user {
        char *id;
        char *username;
        char *name;             /* display name, NULL when none */
        char **roles;           /* NULL-terminated api_ids (rolesd_user_list()); NULL from
                                 * rolesd_member_list() */
} rolesd_user;

typedef struct rolesd_user_page {
        rolesd_user **users;    /* n_users entries, by username */
        size_t n_users;
        uint64_t total;         /* holders of the role (member.list), users of the org (user.list) */
        char *next;             /* cursor of the following page, NULL on the last */
} rolesd_user_page;

rolesd_user_page *rolesd_user_page_free(rolesd_user_page *p); /* accepts NULL, returns NULL */

/* The users holding a role, by username: from offset (0: the first), or
 * after a cursor (a previous page's next; then offset must be 0); count
 * per page 1..100 (0: 50). The daemon's errors: -EINVAL (count, offset
 * with after, after), -ENOENT (no such role), -ENXIO. */
int rolesd_member_list(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                       uint64_t offset, uint64_t count, const char *after, rolesd_user_page **ret,
                       rolesd_error *err);
int rolesd_member_list_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                             const char *value, uint64_t offset, uint64_t count, const char *after,
                             rolesd_reply_fn fn, void *userdata);
/* The result of member.list or user.list. */
int rolesd_reply_user_page(rolesd_reply *r, rolesd_user_page **ret, rolesd_error *err);

/* Whether user (a username of org) holds a role granting permission:
 * 1 allowed, 0 denied (also: no such user), or a negative errno. When
 * ret_roles is not NULL, *ret_roles (NULL-terminated, never NULL on
 * success; free each string and the array, e.g. with
 * rolesd_strv_free()) names the granting roles' api_ids. The daemon's
 * errors: -EINVAL (a permission not in the organization's catalog:
 * field "permission"), -ENXIO. */
int rolesd_access_check(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *user,
                        const char *permission, char ***ret_roles, rolesd_error *err);
int rolesd_access_check_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *user,
                              const char *permission, rolesd_reply_fn fn, void *userdata);
/* 1, 0 or a negative errno, as rolesd_access_check(). */
int rolesd_reply_access(rolesd_reply *r, char ***ret_roles, rolesd_error *err);

/* Frees a NULL-terminated array of strings. Accepts NULL, returns NULL. */
char **rolesd_strv_free(char **l);

/* ---- librolesd 1.1: credentials and organizations (local peers only) ---- */

typedef struct rolesd_org {
        uint64_t id;
        char *name;             /* NULL when none */
        char *provider;         /* NULL when none */
        uint64_t roles;         /* its roles, built-ins included */
} rolesd_org;

typedef struct rolesd_org_page {
        rolesd_org **orgs;      /* n_orgs entries, by id (the workspace, 0, first) */
        size_t n_orgs;
        uint64_t total;
} rolesd_org_page;

rolesd_org_page *rolesd_org_page_free(rolesd_org_page *p); /* accepts NULL, returns NULL */

/* Organizations from offset, count per page 1..100 (0: 50). The daemon's
 * errors: -EINVAL (count). */
int rolesd_org_list(rolesd *c, uint64_t offset, uint64_t count, rolesd_org_page **ret, rolesd_error *err);
int rolesd_org_list_async(rolesd *c, uint64_t offset, uint64_t count, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_org_page(rolesd_reply *r, rolesd_org_page **ret, rolesd_error *err);

/* A user to make: username (required) in org (0: the workspace), with an
 * optional display name, holding roles (api_ids; NULL: "user" in the
 * workspace, none elsewhere). */
typedef struct rolesd_user_spec {
        size_t size;                    /* sizeof(rolesd_user_spec), or 0 */
        uint64_t org;
        const char *username;
        const char *name;
        const char *const *roles;       /* NULL-terminated, or NULL */
} rolesd_user_spec;
#define ROLESD_USER_SPEC_INIT { sizeof(rolesd_user_spec), 0, NULL, NULL, NULL }

/* rolesd_user_add() in any organization: *ret_user_id and *ret_token
 * (free()) are shown only this once. The daemon's errors: -EINVAL
 * (username, name, roles), -ENXIO (no such organization), -ENOENT (a role
 * of roles: field "roles"), -EEXIST (the username is taken in org),
 * -ENOSPC. Its reply: rolesd_reply_user(). */
int rolesd_user_create(rolesd *c, const rolesd_user_spec *spec, char **ret_user_id, char **ret_token,
                       rolesd_error *err);
int rolesd_user_create_async(rolesd *c, const rolesd_user_spec *spec, rolesd_reply_fn fn, void *userdata);

/* The users of org, by username, each with its roles; paging as
 * rolesd_member_list(). The daemon's errors: -EINVAL, -ENXIO. */
int rolesd_user_list(rolesd *c, uint64_t org, uint64_t offset, uint64_t count, const char *after,
                     rolesd_user_page **ret, rolesd_error *err);
int rolesd_user_list_async(rolesd *c, uint64_t org, uint64_t offset, uint64_t count, const char *after,
                           rolesd_reply_fn fn, void *userdata);

/* Removes user (a username of org), its memberships and its token, in
 * one transaction; *ret_user_id (free(), may be NULL) is its id. The
 * daemon's errors: -ENOENT (field "user"), -ENXIO, -EROFS (the
 * workspace's last admin), -ENOSPC. */
int rolesd_user_remove(rolesd *c, uint64_t org, const char *user, char **ret_user_id, rolesd_error *err);
int rolesd_user_remove_async(rolesd *c, uint64_t org, const char *user, rolesd_reply_fn fn, void *userdata);
/* The id of the user user.remove removed. */
int rolesd_reply_user_removed(rolesd_reply *r, char **ret_user_id, rolesd_error *err);

/* An API key as listed: never the key itself. */
typedef struct rolesd_key {
        char *key_id;           /* its first 16 hex digits, its public part */
        char *user_role;        /* PROVIDER, ORG_ADMIN, ... */
        uint64_t org;           /* 0 for a PROVIDER key (keys never belong to the workspace) */
        char *provider;         /* NULL when none */
        uint64_t created_at;    /* ms since the epoch; 0 for a key made before rolesd kept it */
} rolesd_key;

typedef struct rolesd_keys {
        rolesd_key **keys;      /* n_keys entries, by key_id */
        size_t n_keys;
} rolesd_keys;

rolesd_keys *rolesd_keys_free(rolesd_keys *l); /* accepts NULL, returns NULL */

/* The API keys, of org (when org > 0) and of provider (when not NULL).
 * The daemon's errors: -EINVAL. */
int rolesd_key_list(rolesd *c, uint64_t org, const char *provider, rolesd_keys **ret, rolesd_error *err);
int rolesd_key_list_async(rolesd *c, uint64_t org, const char *provider, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_keys(rolesd_reply *r, rolesd_keys **ret, rolesd_error *err);

/* Revokes an API key by its key_id: refused (-EKEYREJECTED) from the
 * next call on. The daemon's errors: -ENOENT (no such key: field
 * "key_id"), -ENOSPC. Its reply: rolesd_reply_error(). */
int rolesd_key_revoke(rolesd *c, const char *key_id, rolesd_error *err);
int rolesd_key_revoke_async(rolesd *c, const char *key_id, rolesd_reply_fn fn, void *userdata);

/* ---- librolesd 1.2: the change feed, backup, export and import ----
 *
 * These methods are for local peers only (-EACCES otherwise), except
 * rolesd_role_sync(). Change records and export records are handed over
 * as JSON objects, as rolesd-rpc(7) (CHANGE FEED, db.export) describes
 * them: they carry roles, memberships, users and organizations alike. */

/* The daemon's notifications, [2, method, params], which it sends on a
 * connection that watches: "changes.event" with params [CHANGE] and
 * "changes.lost" with [{"revision", "watch"}]. fn runs from the entry
 * point that read them (rolesd_process(), rolesd_wait(), a synchronous
 * call), in the order they came, interleaved with the replies as they
 * came; params (a JSON array) is borrowed, valid during fn. fn may make
 * asynchronous calls (not wait). Without a handler (fn NULL, the default)
 * notifications are dropped. 0 or -EINVAL. */
typedef void (*rolesd_notify_fn)(rolesd *c, const char *method, json_t *params, void *userdata);
int rolesd_set_notify(rolesd *c, rolesd_notify_fn fn, void *userdata);

/* org for every organization (no filter). */
#define ROLESD_ALL_ORGS UINT64_MAX

/* A page of the change log. */
typedef struct rolesd_change_page {
        json_t *changes;        /* an array of change records, by revision */
        uint64_t next_after;    /* after of the next page */
        uint64_t revision;      /* the database's when the page was read */
} rolesd_change_page;

rolesd_change_page *rolesd_change_page_free(rolesd_change_page *p); /* accepts NULL, returns NULL */

/* The change records after revision after (0: from the first), at most
 * limit (1..1000; 0: the daemon's default, 100), of org only (or
 * ROLESD_ALL_ORGS). A page that holds fewer than limit may still be
 * followed by more; the log is read to its end when a page is empty. The
 * daemon's errors: -EINVAL (after in the future: field "after"; limit),
 * -EIDRM (after older than the log keeps). */
int rolesd_changes_list(rolesd *c, uint64_t after, unsigned limit, uint64_t org, rolesd_change_page **ret,
                        rolesd_error *err);
int rolesd_changes_list_async(rolesd *c, uint64_t after, unsigned limit, uint64_t org, rolesd_reply_fn fn,
                              void *userdata);
int rolesd_reply_change_page(rolesd_reply *r, rolesd_change_page **ret, rolesd_error *err);

/* Watches the change log after revision after, of org only (or
 * ROLESD_ALL_ORGS): from the answer on, the connection's notify callback
 * (rolesd_set_notify(), set it first) gets every record after after as
 * "changes.event", history first, then live, in revision order, none
 * missing, none twice, until rolesd_changes_unwatch(), "changes.lost" (the
 * connection did not read fast enough: watch again after its revision),
 * or the connection's loss. *ret_watch is the watch's id, *ret_revision
 * the database's revision when it began ("from now": watch after
 * server.status's revision). One watch per connection; a watch is not
 * sent again on a new connection. The daemon's errors: as
 * rolesd_changes_list()'s, -ENOSPC (a second watch). */
int rolesd_changes_watch(rolesd *c, uint64_t after, uint64_t org, uint32_t *ret_watch, uint64_t *ret_revision,
                         rolesd_error *err);
int rolesd_changes_watch_async(rolesd *c, uint64_t after, uint64_t org, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_watch(rolesd_reply *r, uint32_t *ret_watch, uint64_t *ret_revision, rolesd_error *err);

/* Ends the watch; *ret_revision: the last record it sent. No event of it
 * follows. The daemon's errors: -ENOENT (no such watch: field "watch"). */
int rolesd_changes_unwatch(rolesd *c, uint32_t watch, uint64_t *ret_revision, rolesd_error *err);
int rolesd_changes_unwatch_async(rolesd *c, uint32_t watch, rolesd_reply_fn fn, void *userdata);
/* The revision of an unwatch's result. */
int rolesd_reply_revision(rolesd_reply *r, uint64_t *ret_revision, rolesd_error *err);

/* Writes a consistent, compacted copy of the database (an LMDB
 * data.mdb) to fd, a regular file open for writing, from its offset. The
 * descriptor travels to the daemon over the socket with the request (the
 * library sends a copy; fd stays the caller's). *ret_revision: every
 * change up to it is in the copy; *ret_bytes: bytes written. The
 * daemon's errors: -EINVAL (not a regular file open for writing), -ENOSPC
 * (the disk is full), -EIO. Never sent again on a new connection. */
int rolesd_db_backup(rolesd *c, int fd, uint64_t *ret_revision, uint64_t *ret_bytes, rolesd_error *err);
int rolesd_db_backup_async(rolesd *c, int fd, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_backup(rolesd_reply *r, uint64_t *ret_revision, uint64_t *ret_bytes, rolesd_error *err);

/* A page of the database as export records. */
typedef struct rolesd_export_page {
        json_t *records;        /* an array of records {"type": "org"|"role"|"user"|"member", ...} */
        char *next;             /* the cursor of the next page, NULL on the last */
        uint64_t revision;      /* the database's when the page was read */
} rolesd_export_page;

rolesd_export_page *rolesd_export_page_free(rolesd_export_page *p); /* accepts NULL, returns NULL */

/* A page of the database from cursor after (NULL: the first), at most
 * limit records (1..1000; 0: 100), of org only (or ROLESD_ALL_ORGS). The
 * daemon's errors: -EINVAL (limit; after: a cursor it did not give),
 * -ENOENT (no such org: field "org"). */
int rolesd_db_export(rolesd *c, const char *after, unsigned limit, uint64_t org, rolesd_export_page **ret,
                     rolesd_error *err);
int rolesd_db_export_async(rolesd *c, const char *after, unsigned limit, uint64_t org, rolesd_reply_fn fn,
                           void *userdata);
int rolesd_reply_export_page(rolesd_reply *r, rolesd_export_page **ret, rolesd_error *err);

/* What an import batch did (or would do: dry_run). */
typedef struct rolesd_import_result {
        json_t *results;        /* "created", "updated" or "unchanged", one per record */
        uint64_t created, updated, unchanged;
        bool dry_run;
} rolesd_import_result;

rolesd_import_result *rolesd_import_result_free(rolesd_import_result *p); /* accepts NULL, returns NULL */

/* Makes each of records (a JSON array of 1..1000 export records,
 * borrowed) true, all or nothing: one write. With dry_run nothing is
 * written. Calls made one after the other on one connection apply in
 * order. The daemon's errors: the first record refused, with its code
 * (-EINVAL, -EEXIST, -ENOENT, ...) and field "records.I" or
 * "records.I.FIELD" (I: its index in records). */
int rolesd_db_import(rolesd *c, json_t *records, bool dry_run, rolesd_import_result **ret, rolesd_error *err);
int rolesd_db_import_async(rolesd *c, json_t *records, bool dry_run, rolesd_reply_fn fn, void *userdata);
int rolesd_reply_import(rolesd_reply *r, rolesd_import_result **ret, rolesd_error *err);

/* Rocket.Chat's roles.sync. */
typedef struct rolesd_sync_page {
        json_t *update;         /* the roles changed after since, as role.get shows them */
        json_t *remove;         /* [{"id", "name", "deleted_at"}]: the roles deleted after since */
} rolesd_sync_page;

rolesd_sync_page *rolesd_sync_page_free(rolesd_sync_page *p); /* accepts NULL, returns NULL */

/* The roles of org created or changed after since_ms (ms since the
 * epoch), and those deleted after it. The daemon's errors: -EINVAL,
 * -ENXIO, -EACCES, -EKEYREJECTED. */
int rolesd_role_sync(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t since_ms, rolesd_sync_page **ret,
                     rolesd_error *err);
int rolesd_role_sync_async(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t since_ms,
                           rolesd_reply_fn fn, void *userdata);
int rolesd_reply_role_sync(rolesd_reply *r, rolesd_sync_page **ret, rolesd_error *err);

#ifdef __cplusplus
}
#endif
