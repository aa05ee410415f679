/* rolesd/client.h: librolesd, the C client of the rolesd daemon.
 *
 * A connection (rolesd *) talks MessagePack-RPC to rolesd over its Unix
 * socket. Calls are synchronous; one connection may be used by one thread
 * at a time. Every function that can fail returns 0 (or a positive value
 * where documented) on success and a negative errno on failure, and fills
 * the optional rolesd_error with the wire code, a message and the name of
 * the offending parameter:
 *
 *   ROLESD_INVALID_ARGUMENT   -EINVAL        ROLESD_UNAUTHENTICATED    -EKEYREJECTED
 *   ROLESD_DUPLICATE          -EEXIST        ROLESD_RESOURCE_EXHAUSTED -ENOSPC
 *   ROLESD_NOT_FOUND          -ENOENT        ROLESD_UNAVAILABLE        -ESHUTDOWN
 *   ROLESD_PERMISSION_DENIED  -EACCES        ROLESD_INTERNAL           -EIO
 *
 * Failing to reach the daemon (no socket, refused, connection lost) is
 * ROLESD_UNAVAILABLE; the return value is then the socket's own errno
 * (-ENOENT, -ECONNREFUSED, -EPIPE, -ECONNRESET, -ENOTCONN...), so classify
 * failures by err->code, not by the errno. After a lost connection or a
 * garbled reply the connection is dead: later calls fail at once with
 * ROLESD_UNAVAILABLE. The library never logs and never raises SIGPIPE.
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
/* Bounds every later call on c to usec microseconds (0: no bound, the
 * default). A call that runs out fails with ROLESD_UNAVAILABLE and
 * -ETIMEDOUT, and the connection is closed (its reply could still come). */
int rolesd_set_timeout(rolesd *c, uint64_t usec);

/* Closes the connection. Accepts NULL, returns NULL. */
rolesd *rolesd_free(rolesd *c);

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

/* by: "id", "api_id" or "name". */
int rolesd_role_get(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                    const char *value, rolesd_role **ret, rolesd_error *err);

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

/* ---- provisioning (local peers only) ---- */

/* name, provider may be NULL. */
int rolesd_org_add(rolesd *c, uint64_t id, const char *name, const char *provider,
                   rolesd_error *err);

/* A Partoo API key. user_role: PROVIDER, ORG_ADMIN, ORG_MANAGER,
 * GROUP_MANAGER, BUSINESS_MANAGER or PUBLISHER. org is used when has_org;
 * provider may be NULL. *ret_api_key (free()) is shown only this once. */
int rolesd_key_add(rolesd *c, const char *user_role, bool has_org, uint64_t org,
                   const char *provider, char **ret_api_key, rolesd_error *err);

/* A Rocket.Chat workspace user; roles NULL-terminated or NULL ("user").
 * *ret_user_id and *ret_token (free()) are shown only this once. */
int rolesd_user_add(rolesd *c, const char *username, const char *const *roles,
                    char **ret_user_id, char **ret_token, rolesd_error *err);

#ifdef __cplusplus
}
#endif
