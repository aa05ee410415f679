/* role.c: the role methods. role.create validates a role by the rules of
 * its organization's dialect (Partoo for org > 0, Rocket.Chat for org 0:
 * names, and which duplicate is reported), checks its permissions against
 * the org's catalog, encodes it once and hands the store those bytes and
 * its keys; the same bytes are the reply. Reads copy stored records into
 * the reply without re-encoding them. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "handlers.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/utf8.h"
#include "proto/wire.h"
#include "proto/wire-role.h"

#define PARTOO_FORBIDDEN ",;/\\|<>"

typedef struct RoleCreateArgs {
        Auth auth;
        OptU64 org;
        char *name;
        char *api_id;
        char *description;
        char *scope;
        char **permissions;
        bool mandatory2fa;
} RoleCreateArgs;

static const ParamField role_create_table[] = {
        { "auth",         param_auth,    offsetof(RoleCreateArgs, auth),         false },
        { "org",          param_opt_u64, offsetof(RoleCreateArgs, org),          false },
        { "name",         param_str,     offsetof(RoleCreateArgs, name),         true  },
        { "api_id",       param_str,     offsetof(RoleCreateArgs, api_id),       false },
        { "description",  param_str,     offsetof(RoleCreateArgs, description),  false },
        { "scope",        param_str,     offsetof(RoleCreateArgs, scope),        false },
        { "permissions",  param_strv,    offsetof(RoleCreateArgs, permissions),  false },
        { "mandatory2fa", param_bool,    offsetof(RoleCreateArgs, mandatory2fa), false },
        {0}
};

void role_create_free(void *args) {
        RoleCreateArgs *a = args;

        if (!a)
                return;
        auth_done(&a->auth);
        free(a->name);
        free(a->api_id);
        free(a->description);
        free(a->scope);
        strv_free(a->permissions);
        free(a);
}

int role_create_parse(const msgpack_object *params, void **ret_args, RpcErr *err) {
        RoleCreateArgs *a;
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        r = params_parse(params, role_create_table, a, NULL, &err->field);
        if (r < 0)
                goto fail;
        if (a->scope && strcmp(a->scope, "Users") != 0 && strcmp(a->scope, "Subscriptions") != 0) {
                r = rpc_failf(err, -EINVAL, "scope", "scope must be Users or Subscriptions, not %s", a->scope);
                goto fail;
        }
        *ret_args = a;
        return 0;
fail:
        role_create_free(a);
        return r;
}

/* Partoo's rule for name, api_id and description: 1..max characters, none of ,;/\|<>. */
static int check_partoo_text(const char *s, size_t max, const char *field, RpcErr *err) {
        size_t n = utf8_length(s, strlen(s));

        if (n < 1 || n > max)
                return rpc_failf(err, -EINVAL, field, "%s must be 1 to %zu characters", field, max);
        if (strpbrk(s, PARTOO_FORBIDDEN))
                return rpc_fail(err, -EINVAL, field, "must not contain any of the characters " PARTOO_FORBIDDEN);
        return 0;
}

static int validate(const RoleCreateArgs *a, uint64_t org, RpcErr *err) {
        int r;

        if (org == 0) {
                /* The Rocket.Chat workspace: any non-empty name; api_id is the name. */
                if (a->name[0] == 0)
                        return rpc_fail(err, -EINVAL, "name", "name must not be empty");
                if (a->api_id && strcmp(a->api_id, a->name) != 0)
                        return rpc_fail(err, -EINVAL, "api_id", "in the workspace (org 0) api_id must equal name");
                return 0;
        }

        r = check_partoo_text(a->name, PARTOO_NAME_MAX, "name", err);
        if (r < 0)
                return r;
        if (a->api_id) {
                r = check_partoo_text(a->api_id, PARTOO_NAME_MAX, "api_id", err);
                if (r < 0)
                        return r;
        }
        if (a->description) {
                r = check_partoo_text(a->description, PARTOO_DESCRIPTION_MAX, "description", err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Every permission must be in the org's catalog; duplicates are dropped. */
static int check_permissions(Store *s, MDB_txn *txn, uint64_t org, char **perms, RpcErr *err) {
        size_t w = 0;

        for (size_t i = 0; perms && perms[i]; i++) {
                bool seen = false;
                int r = store_permission_exists(s, txn, org, perms[i]);
                if (r < 0)
                        return r;
                if (r == 0)
                        return rpc_failf(err, -EINVAL, "permissions", "unknown permission: %s", perms[i]);
                for (size_t j = 0; j < w && !seen; j++)
                        seen = strcmp(perms[j], perms[i]) == 0;
                if (seen)
                        free(perms[i]);
                else
                        perms[w++] = perms[i];
        }
        if (perms)
                perms[w] = NULL;
        return 0;
}

/* Role ids are shaped like a MongoDB ObjectId, as Rocket.Chat's _id: 4
 * bytes of time, 5 random bytes drawn once per process, a 3-byte counter
 * (from a random start). Unique as ObjectIds are, and increasing within a
 * process, so a new role's record lands on the last page of the roles
 * database instead of a random one: a batch of creates dirties a few pages
 * for its records, not one each, which is what its commit's fsync pays. */
/* Runs on the writer thread only. */
static void new_role_id(char out[25]) {
        static uint8_t process[5];
        static uint32_t counter;
        static bool initialized;
        uint8_t raw[12];
        uint32_t t = (uint32_t) time(NULL);

        if (!initialized) {
                randombytes_buf(process, sizeof process);
                counter = randombytes_random();
                initialized = true;
        }
        counter++;
        raw[0] = t >> 24; raw[1] = t >> 16; raw[2] = t >> 8; raw[3] = t;
        memcpy(raw + 4, process, sizeof process);
        raw[9] = counter >> 16; raw[10] = counter >> 8; raw[11] = counter;
        sodium_bin2hex(out, 25, raw, sizeof raw);
}

/* Rocket.Chat's rules for a workspace (org 0) name, checked before the
 * store's own: the name is not taken, reported as "name" (api_id equals
 * the name there, and Rocket.Chat names the name), and it is not the _id
 * of a workspace role. */
static int check_workspace_name(Store *s, MDB_txn *txn, const char *name, RpcErr *err) {
        static const char *const by[] = { "name", "id" };
        const void *blob;
        size_t len;

        for (size_t i = 0; i < ELEMENTSOF(by); i++) {
                int r = store_role_get(s, txn, 0, by[i], name, &blob, &len);
                if (r >= 0)
                        return rpc_failf(err, -EEXIST, "name", "a role named %s already exists", name);
                if (r != -ENOENT)
                        return r;
        }
        return 0;
}

int role_create_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        static const char *const no_permissions[] = { NULL };
        RoleCreateArgs *a = args;
        msgpack_packer pk;
        size_t mark = buf_pending(result);
        char id[25];
        uint64_t org;
        Role role;
        int r;

        r = auth_check(s, txn, &a->auth, a->org, ACCESS_CREATE, &org, &err->field);
        if (r < 0)
                return r;
        r = validate(a, org, err);
        if (r < 0)
                return r;
        r = check_permissions(s, txn, org, a->permissions, err);
        if (r < 0)
                return r;
        if (org == 0) {
                r = check_workspace_name(s, txn, a->name, err);
                if (r < 0)
                        return r;
        }

        new_role_id(id);
        role = (Role) {
                .id = id,
                .org = org,
                .api_id = a->api_id ? a->api_id : a->name,
                .name = a->name,
                .description = a->description ? a->description : org == 0 ? "" : NULL,
                .scope = a->scope ? a->scope : "Users",
                .permissions = a->permissions ? a->permissions : (char **) no_permissions,
                .mandatory2fa = a->mandatory2fa,
                .created_at = wall_ms(),
        };
        role.updated_at = role.created_at;

        /* Encoded once: the record stored is the result sent. */
        msgpack_packer_init(&pk, result, buf_pack_write);
        if (role_pack(&pk, &role) < 0 || result->oom)
                return -ENOMEM;
        r = store_role_insert(s, txn,
                              &(StoreRoleKeys) { .id = role.id, .org = org, .api_id = role.api_id, .name = role.name },
                              buf_head(result) + mark, buf_pending(result) - mark, &err->field);
        if (r == -EEXIST && err->field && strcmp(err->field, "api_id") == 0)
                return rpc_failf(err, r, "api_id", "a role with the api_id %s already exists", role.api_id);
        if (r == -EEXIST && err->field && strcmp(err->field, "id") == 0)
                return rpc_failf(err, r, "id", "role id collision (%s), retry", role.id);
        if (r == -EEXIST)
                return rpc_failf(err, r, "name", "a role named %s already exists", role.name);
        return r;
}

/* ---- reads ---- */

typedef struct RoleGetArgs {
        Auth auth;
        OptU64 org;
        char *id, *api_id, *name;
} RoleGetArgs;

static void role_get_args_done(RoleGetArgs *a) {
        auth_done(&a->auth);
        free(a->id);
        free(a->api_id);
        free(a->name);
}

int role_get_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                  RpcErr *err) {
        static const ParamField table[] = {
                { "auth",   param_auth,    offsetof(RoleGetArgs, auth),   false },
                { "org",    param_opt_u64, offsetof(RoleGetArgs, org),    false },
                { "id",     param_str,     offsetof(RoleGetArgs, id),     false },
                { "api_id", param_str,     offsetof(RoleGetArgs, api_id), false },
                { "name",   param_str,     offsetof(RoleGetArgs, name),   false },
                {0}
        };
        _cleanup_(role_get_args_done) RoleGetArgs a = {0};
        const char *by, *value;
        const void *blob;
        size_t len;
        uint64_t org;
        int r;

        r = params_parse(params, table, &a, NULL, &err->field);
        if (r < 0)
                return r;
        if (!!a.id + !!a.api_id + !!a.name != 1)
                return rpc_fail(err, -EINVAL, a.id ? "id" : a.api_id ? "api_id" : "name",
                            "give exactly one of id, api_id, name");
        by = a.id ? "id" : a.api_id ? "api_id" : "name";
        value = a.id ? a.id : a.api_id ? a.api_id : a.name;

        r = auth_check(ctx->store, txn, &a.auth, a.org, ACCESS_READ, &org, &err->field);
        if (r < 0)
                return r;
        r = store_role_get(ctx->store, txn, org, by, value, &blob, &len);
        if (r == -ENOENT)
                return rpc_failf(err, r, by, "no such role: %s", value);
        if (r < 0)
                return r;
        return mp_pack_raw(pk, blob, len) < 0 ? -ENOMEM : 0;
}

/* A cursor names the page it starts and the sequence number of the last
 * role before it: "<page>.<seq>". */
static int cursor_parse(const char *s, uint64_t *ret_page, uint64_t *ret_seq) {
        unsigned long long page, seq;
        int n = 0;

        if (sscanf(s, "%llu.%llu%n", &page, &seq, &n) != 2 || (size_t) n != strlen(s) ||
            !strchr("0123456789", s[0]) || page < 2 || seq < 1)
                return -EINVAL;
        *ret_page = page;
        *ret_seq = seq;
        return 0;
}

typedef struct RoleListArgs {
        Auth auth;
        OptU64 org;
        OptU64 page;
        OptU64 per_page;
        char *after;
} RoleListArgs;

static void role_list_args_done(RoleListArgs *a) {
        auth_done(&a->auth);
        free(a->after);
}

typedef struct ListVisit {
        msgpack_packer *pk;
        size_t n;
} ListVisit;

static int list_visit(const void *blob, size_t len, void *userdata) {
        ListVisit *v = userdata;

        v->n++;
        return mp_pack_raw(v->pk, blob, len) < 0 ? -ENOMEM : 0;
}

int role_list_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                   RpcErr *err) {
        static const ParamField table[] = {
                { "auth",     param_auth,    offsetof(RoleListArgs, auth),     false },
                { "org",      param_opt_u64, offsetof(RoleListArgs, org),      false },
                { "page",     param_opt_u64, offsetof(RoleListArgs, page),     false },
                { "per_page", param_opt_u64, offsetof(RoleListArgs, per_page), false },
                { "after",    param_str,     offsetof(RoleListArgs, after),    false },
                {0}
        };
        _cleanup_(role_list_args_done) RoleListArgs a = {0};
        uint64_t org, count, page = 1, per_page = ROLE_LIST_PER_PAGE_DEFAULT, after_seq = 0, max_page;
        uint64_t last_seq = 0;
        bool more;
        ListVisit v = { .pk = pk };
        char next[48];
        int r;

        r = params_parse(params, table, &a, NULL, &err->field);
        if (r < 0)
                return r;
        if (a.per_page.set) {
                if (a.per_page.v < 1 || a.per_page.v > ROLE_LIST_PER_PAGE_MAX)
                        return rpc_failf(err, -EINVAL, "per_page", "per_page must be 1 to %u",
                                         ROLE_LIST_PER_PAGE_MAX);
                per_page = a.per_page.v;
        }
        if (a.page.set) {
                if (a.page.v < 1)
                        return rpc_fail(err, -EINVAL, "page", "page must be 1 or more");
                page = a.page.v;
        }
        if (a.after) {
                if (cursor_parse(a.after, &page, &after_seq) < 0)
                        return rpc_fail(err, -EINVAL, "after", "not a cursor returned by role.list");
                if (a.page.set && a.page.v != page)
                        return rpc_fail(err, -EINVAL, "page", "page does not match the cursor");
        }

        r = auth_check(ctx->store, txn, &a.auth, a.org, ACCESS_READ, &org, &err->field);
        if (r < 0)
                return r;
        r = store_role_count(ctx->store, txn, org, &count);
        if (r < 0)
                return r;
        max_page = count == 0 ? 1 : (count + per_page - 1) / per_page;

        /* The snapshot's count says how many roles this page holds and
         * whether another follows, so the reply is packed in one pass. */
        uint64_t offset = 0, n = 0;
        more = false;
        if (page - 1 < max_page) {      /* also keeps (page - 1) * per_page from overflowing */
                offset = (page - 1) * per_page;
                n = count - offset < per_page ? count - offset : per_page;
                more = count - offset > per_page;
        }

        msgpack_pack_map(pk, more ? 5 : 4);
        mp_pack_str(pk, "roles");
        msgpack_pack_array(pk, (size_t) n);
        if (n > 0) {
                r = store_role_list(ctx->store, txn, org, after_seq ? 0 : offset, after_seq, (size_t) n,
                                    list_visit, &v, &last_seq, &(bool) {false});
                if (r < 0)
                        return r;
                /* Roles are never deleted, so a cursor role.list returned always
                 * has n roles after it: fewer means a forged cursor, not corruption. */
                if (v.n != n && after_seq)
                        return rpc_fail(err, -EINVAL, "after", "not a cursor returned by role.list");
                if (v.n != n)
                        return rpc_fail(err, -EUCLEAN, NULL, "role index and count disagree");
        }
        mp_pack_kv_u64(pk, "count", count);
        mp_pack_kv_u64(pk, "page", page);
        mp_pack_kv_u64(pk, "max_page", max_page);
        if (more) {
                snprintf(next, sizeof next, "%" PRIu64 ".%" PRIu64, page + 1, last_seq);
                mp_pack_kv_str(pk, "next", next);
        }
        return 0;
}

typedef struct CatalogArgs {
        Auth auth;
        OptU64 org;
} CatalogArgs;

static void catalog_args_done(CatalogArgs *a) {
        auth_done(&a->auth);
}

int permission_catalog_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                            RpcErr *err) {
        static const ParamField table[] = {
                { "auth", param_auth,    offsetof(CatalogArgs, auth), false },
                { "org",  param_opt_u64, offsetof(CatalogArgs, org),  false },
                {0}
        };
        _cleanup_(catalog_args_done) CatalogArgs a = {0};
        const void *blob;
        size_t len;
        uint64_t org;
        int r;

        r = params_parse(params, table, &a, NULL, &err->field);
        if (r < 0)
                return r;
        r = auth_check(ctx->store, txn, &a.auth, a.org, ACCESS_READ, &org, &err->field);
        if (r < 0)
                return r;
        r = store_catalog_get(ctx->store, txn, org, &blob, &len);
        if (r < 0)
                return r;
        return mp_pack_raw(pk, blob, len) < 0 ? -ENOMEM : 0;
}

/* ---- auth.check: lets a front end (rolesd-http) learn, before it reports
 * anything else, whether a credential may act on an organization. ---- */

typedef struct AuthCheckArgs {
        Auth auth;
        OptU64 org;
        char *access;
} AuthCheckArgs;

static void auth_check_args_done(AuthCheckArgs *a) {
        auth_done(&a->auth);
        free(a->access);
}

int auth_check_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                    RpcErr *err) {
        static const ParamField table[] = {
                { "auth",   param_auth,    offsetof(AuthCheckArgs, auth),   false },
                { "org",    param_opt_u64, offsetof(AuthCheckArgs, org),    false },
                { "access", param_str,     offsetof(AuthCheckArgs, access), false },
                {0}
        };
        _cleanup_(auth_check_args_done) AuthCheckArgs a = {0};
        Access access = ACCESS_READ;
        uint64_t org;
        int r;

        r = params_parse(params, table, &a, NULL, &err->field);
        if (r < 0)
                return r;
        if (a.access && strcmp(a.access, "create") == 0)
                access = ACCESS_CREATE;
        else if (a.access && strcmp(a.access, "read") != 0)
                return rpc_failf(err, -EINVAL, "access", "access must be read or create, not %s", a.access);
        r = auth_check(ctx->store, txn, &a.auth, a.org, access, &org, &err->field);
        if (r < 0)
                return r;
        msgpack_pack_map(pk, 1);
        return mp_pack_kv_u64(pk, "org", org) < 0 ? -ENOMEM : 0;
}
