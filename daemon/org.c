/* org.c: provisioning (org.add, key.add, user.add). Provisioning is for
 * local peers only: a call carrying a REST credential is refused,
 * whatever the credential. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "auth.h"
#include "handlers.h"
#include "seed.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/utf8.h"
#include "proto/wire.h"
#include "proto/wire-role.h"

/* The common head of every provisioning parse: no REST credentials. */
static int refuse_auth(const msgpack_object *params, RpcErr *err) {
        if (mp_map_get(params, "auth"))
                return rpc_fail(err, -EACCES, "auth", "provisioning is for local administrators, not REST credentials");
        return 0;
}

static bool text_ok(const char *s, size_t max) {
        size_t n = strlen(s);
        return n > 0 && n <= max;
}

/* 1..max bytes, or a failure naming the field and the limit. */
static int check_text(const char *s, size_t max, const char *field, RpcErr *err) {
        if (!text_ok(s, max))
                return rpc_failf(err, -EINVAL, field, "%s must be 1 to %zu bytes", field, max);
        return 0;
}

/* ---- org.add ---- */

typedef struct OrgAddArgs {
        OptU64 id;
        char *name;
        char *provider;
} OrgAddArgs;

void org_add_free(void *args) {
        OrgAddArgs *a = args;

        if (!a)
                return;
        free(a->name);
        free(a->provider);
        free(a);
}

int org_add_parse(const msgpack_object *params, void **ret_args, RpcErr *err) {
        static const ParamField table[] = {
                { "id",       param_opt_u64, offsetof(OrgAddArgs, id),       true  },
                { "name",     param_str,     offsetof(OrgAddArgs, name),     false },
                { "provider", param_str,     offsetof(OrgAddArgs, provider), false },
                {0}
        };
        OrgAddArgs *a;
        int r;

        r = refuse_auth(params, err);
        if (r < 0)
                return r;
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        r = params_parse(params, table, a, NULL, &err->field);
        if (r >= 0 && a->id.v == 0)
                r = rpc_fail(err, -EINVAL, "id", "organization 0 is the Rocket.Chat workspace; ids start at 1");
        if (r >= 0 && a->name)
                r = check_text(a->name, ORG_NAME_MAX, "name", err);
        if (r >= 0 && a->provider)
                r = check_text(a->provider, ORG_NAME_MAX, "provider", err);
        if (r < 0) {
                org_add_free(a);
                return r;
        }
        *ret_args = a;
        return 0;
}

int org_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        OrgAddArgs *a = args;
        msgpack_packer pk;
        int r;

        r = seed_org(s, txn, &(StoredOrg) { .id = a->id.v, .name = a->name, .provider = a->provider }, wall_ms());
        if (r == -EEXIST)
                return rpc_failf(err, r, "id", "organization %" PRIu64 " already exists", a->id.v);
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        return org_pack(&pk, &(Org) { .id = a->id.v, .name = a->name, .provider = a->provider }) < 0 ? -ENOMEM : 0;
}

/* ---- key.add ---- */

typedef struct KeyAddArgs {
        char *user_role;
        OptU64 org;
        char *provider;
} KeyAddArgs;

void key_add_free(void *args) {
        KeyAddArgs *a = args;

        if (!a)
                return;
        free(a->user_role);
        free(a->provider);
        free(a);
}

int key_add_parse(const msgpack_object *params, void **ret_args, RpcErr *err) {
        static const ParamField table[] = {
                { "user_role", param_str,     offsetof(KeyAddArgs, user_role), true  },
                { "org",       param_opt_u64, offsetof(KeyAddArgs, org),       false },
                { "provider",  param_str,     offsetof(KeyAddArgs, provider),  false },
                {0}
        };
        KeyAddArgs *a;
        int r;

        r = refuse_auth(params, err);
        if (r < 0)
                return r;
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        r = params_parse(params, table, a, NULL, &err->field);
        if (r >= 0 && !auth_user_role_valid(a->user_role))
                r = rpc_failf(err, -EINVAL, "user_role",
                              "user_role must be PROVIDER, ORG_ADMIN, ORG_MANAGER, GROUP_MANAGER, BUSINESS_MANAGER or PUBLISHER, not %s",
                              a->user_role);
        else if (r >= 0 && strcmp(a->user_role, "PROVIDER") == 0) {
                if (!a->provider || !text_ok(a->provider, ORG_NAME_MAX))
                        r = rpc_fail(err, -EINVAL, "provider", "a PROVIDER key needs a provider");
                else if (a->org.set)
                        r = rpc_fail(err, -EINVAL, "org", "a PROVIDER key has no organization of its own");
        } else if (r >= 0 && !a->org.set)
                r = rpc_fail(err, -EINVAL, "org", "this user-role needs an organization");
        else if (r >= 0 && a->org.v == 0)
                r = rpc_fail(err, -EINVAL, "org", "Partoo keys belong to organizations 1 and up");
        if (r < 0) {
                key_add_free(a);
                return r;
        }
        *ret_args = a;
        return 0;
}

int key_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        KeyAddArgs *a = args;
        _cleanup_(stored_org_done) StoredOrg o = {0};
        msgpack_packer pk;
        _cleanup_free_ char *key = NULL;
        StoredKey k = {
                .user_role = a->user_role,
                .has_org = a->org.set,
                .org = a->org.v,
                .provider = a->provider,
        };
        int r;

        if (a->org.set) {
                r = store_org_get(s, txn, a->org.v, &o);
                if (r == -ENOENT)
                        return rpc_failf(err, r, "org", "no such organization: %" PRIu64, a->org.v);
                if (r < 0)
                        return r;
                if (a->provider && (!o.provider || strcmp(a->provider, o.provider) != 0))
                        return rpc_failf(err, -EINVAL, "provider", "provider %s differs from the organization's", a->provider);
                k.provider = o.provider;
        }
        r = auth_key_new(s, txn, &k, &key);
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        msgpack_pack_map(&pk, 1);
        return mp_pack_kv_str(&pk, "api_key", key) < 0 ? -ENOMEM : 0;
}

/* ---- user.add ---- */

typedef struct UserAddArgs {
        char *username;
        char **roles;
} UserAddArgs;

void user_add_free(void *args) {
        UserAddArgs *a = args;

        if (!a)
                return;
        free(a->username);
        strv_free(a->roles);
        free(a);
}

int user_add_parse(const msgpack_object *params, void **ret_args, RpcErr *err) {
        static const ParamField table[] = {
                { "username", param_str,  offsetof(UserAddArgs, username), true  },
                { "roles",    param_strv, offsetof(UserAddArgs, roles),    false },
                {0}
        };
        UserAddArgs *a;
        size_t n = 0;
        int r;

        r = refuse_auth(params, err);
        if (r < 0)
                return r;
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        r = params_parse(params, table, a, NULL, &err->field);
        if (r >= 0)
                r = check_text(a->username, USERNAME_MAX, "username", err);
        for (char **i = a->roles; r >= 0 && i && *i; i++)
                n++;
        if (r >= 0 && n > USER_ROLES_MAX)
                r = rpc_fail(err, -EINVAL, "roles", "too many roles");
        if (r < 0) {
                user_add_free(a);
                return r;
        }
        *ret_args = a;
        return 0;
}

int user_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        static const char *const default_roles[] = { "user", NULL };
        UserAddArgs *a = args;
        _cleanup_free_ char *user_id = NULL, *token = NULL;
        StoredUser u = {
                .username = a->username,
                .roles = a->roles && a->roles[0] ? a->roles : (char **) default_roles,
        };
        msgpack_packer pk;
        const void *blob;
        size_t len;
        int r;

        for (char **i = u.roles; *i; i++) {
                r = store_role_get(s, txn, 0, "name", *i, &blob, &len);
                if (r == -ENOENT)
                        return rpc_failf(err, r, "roles", "no such workspace role: %s", *i);
                if (r < 0)
                        return r;
        }
        r = auth_user_new(s, txn, &u, &user_id, &token, &err->field);
        if (r == -EEXIST)
                return err->field && strcmp(err->field, "user_id") == 0 ?
                        rpc_fail(err, r, "user_id", "user id collision, retry") :
                        rpc_failf(err, r, "username", "username %s already exists", a->username);
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        msgpack_pack_map(&pk, 2);
        mp_pack_kv_str(&pk, "user_id", user_id);
        return mp_pack_kv_str(&pk, "token", token) < 0 ? -ENOMEM : 0;
}
