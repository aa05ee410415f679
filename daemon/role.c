/* role.c: the role methods. role.create, role.update and role.duplicate
 * validate a role by the rules of its organization's dialect (Partoo for
 * org > 0, Rocket.Chat for org 0: names, which duplicate is reported, what
 * a built-in keeps), check its permissions against the org's catalog,
 * encode it once and hand the store those bytes and its keys; the same
 * bytes are the reply. role.delete refuses built-ins and roles still held
 * (unless forced). if_revision makes an update or a delete conditional on
 * the role's revision, checked in the write's transaction. Every write
 * records its change. Reads copy stored records into the reply without
 * re-encoding them. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

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

static int check_scope(const char *scope, RpcErr *err) {
        if (scope && strcmp(scope, "Users") != 0 && strcmp(scope, "Subscriptions") != 0)
                return rpc_failf(err, -EINVAL, "scope", "scope must be Users or Subscriptions, not %s", scope);
        return 0;
}

static int role_create_check(void *args, RpcErr *err) {
        return check_scope(((RoleCreateArgs *) args)->scope, err);
}

const ArgsSpec role_create_args = { .table = role_create_table, .size = sizeof(RoleCreateArgs),
                                    .check = role_create_check };

/* Partoo's rule for name, api_id and description: 1..max characters, none of ,;/\|<>. */
static int check_partoo_text(const char *s, size_t max, const char *field, RpcErr *err) {
        size_t n = utf8_length(s, strlen(s));

        if (n < 1 || n > max)
                return rpc_failf(err, -EINVAL, field, "%s must be 1 to %zu characters", field, max);
        if (strpbrk(s, PARTOO_FORBIDDEN))
                return rpc_fail(err, -EINVAL, field, "must not contain any of the characters " PARTOO_FORBIDDEN);
        return 0;
}

/* A role's texts by the rules of its organization's dialect; api_id and
 * description may be NULL (not given). */
static int validate(uint64_t org, const char *name, const char *api_id, const char *description, RpcErr *err) {
        int r;

        if (org == 0) {
                /* The Rocket.Chat workspace: any non-empty name; api_id is the name. */
                if (name[0] == 0)
                        return rpc_fail(err, -EINVAL, "name", "name must not be empty");
                if (api_id && strcmp(api_id, name) != 0)
                        return rpc_fail(err, -EINVAL, "api_id", "in the workspace (org 0) api_id must equal name");
                return 0;
        }

        r = check_partoo_text(name, PARTOO_NAME_MAX, "name", err);
        if (r < 0)
                return r;
        if (api_id) {
                r = check_partoo_text(api_id, PARTOO_NAME_MAX, "api_id", err);
                if (r < 0)
                        return r;
        }
        if (description) {
                r = check_partoo_text(description, PARTOO_DESCRIPTION_MAX, "description", err);
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

/* A role id: an ordered id (auth.h) in 24 hex digits, as a MongoDB
 * ObjectId, Rocket.Chat's _id, is written. */
static void new_role_id(char out[25]) {
        uint8_t raw[12];

        auth_ordered_id(raw);
        sodium_bin2hex(out, 25, raw, sizeof raw);
}

/* Is a workspace (org 0) name free for role self_id (NULL: a new role)?
 * Not the name of another role, nor the _id of one. 1 free, 0 taken. */
static int workspace_name_free(Store *s, MDB_txn *txn, const char *name, const char *self_id) {
        static const char *const by[] = { "name", "id" };
        const void *blob;
        size_t len;

        for (size_t i = 0; i < ELEMENTSOF(by); i++) {
                int r;
                if (self_id && i == 1 && strcmp(name, self_id) == 0)
                        continue;       /* its own id */
                r = store_role_get(s, txn, 0, by[i], name, &blob, &len);
                if (r >= 0)
                        return 0;
                if (r != -ENOENT)
                        return r;
        }
        return 1;
}

/* Rocket.Chat's rules for a workspace (org 0) name, checked before the
 * store's own: the name is not taken, reported as "name" (api_id equals
 * the name there, and Rocket.Chat names the name), and it is not the _id
 * of a workspace role. */
static int check_workspace_name(Store *s, MDB_txn *txn, const char *name, const char *self_id, RpcErr *err) {
        int r = workspace_name_free(s, txn, name, self_id);
        if (r == 0)
                return rpc_failf(err, -EEXIST, "name", "a role named %s already exists", name);
        return r < 0 ? r : 0;
}

/* The store's -EEXIST for a role's keys, in words. */
static int taken(int r, const char *field, const Role *role, RpcErr *err) {
        if (r == -EEXIST && field && strcmp(field, "api_id") == 0)
                return rpc_failf(err, r, "api_id", "a role with the api_id %s already exists", role->api_id);
        if (r == -EEXIST && field && strcmp(field, "id") == 0)
                return rpc_failf(err, r, "id", "role id collision (%s), retry", role->id);
        if (r == -EEXIST)
                return rpc_failf(err, r, "name", "a role named %s already exists", role->name);
        return r;
}

/* Encodes role into result; the record is what follows mark. */
static int pack_record(const Role *role, Buf *result, size_t *ret_mark) {
        msgpack_packer pk;

        *ret_mark = buf_pending(result);
        msgpack_packer_init(&pk, result, buf_pack_write);
        if (role_pack(&pk, role) < 0 || result->oom)
                return -ENOMEM;
        return 0;
}

/* The keys of role, in *k. */
static const StoreRoleKeys *keys_of(const Role *role, StoreRoleKeys *k) {
        *k = (StoreRoleKeys) { .id = role->id, .org = role->org, .api_id = role->api_id, .name = role->name,
                               .permissions = role->permissions };
        return k;
}

/* Records a role's change: before and after are records (or NULL). */
static int role_change(Store *s, MDB_txn *txn, const Auth *auth, const StorePeer *peer, StoreOp op,
                       const Role *role, uint64_t revision, const Buf *before, const void *after, size_t after_len) {
        return record_change(s, txn, auth, peer, &(StoreChange) {
                .revision = revision, .time_ms = role->updated_at, .op = op, .kind = STORE_KIND_ROLE,
                .org = role->org, .id = role->id,
                .before = before ? buf_head(before) : NULL, .before_len = before ? buf_pending(before) : 0,
                .after = after, .after_len = after_len,
        });
}

int role_create_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        static const char *const no_permissions[] = { NULL };
        RoleCreateArgs *a = args;
        size_t mark;
        char id[25];
        uint64_t org, rev;
        Role role;
        int r;

        r = auth_check(s, txn, &a->auth, a->org, ACCESS_CREATE, &org, &err->field);
        if (r < 0)
                return r;
        r = validate(org, a->name, a->api_id, a->description, err);
        if (r < 0)
                return r;
        r = check_permissions(s, txn, org, a->permissions, err);
        if (r < 0)
                return r;
        if (org == 0) {
                r = check_workspace_name(s, txn, a->name, NULL, err);
                if (r < 0)
                        return r;
        }
        r = store_revision_next(s, txn, &rev);
        if (r < 0)
                return r;

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
                .revision = rev,
        };
        role.updated_at = role.created_at;

        /* Encoded once: the record stored is the result sent. */
        r = pack_record(&role, result, &mark);
        if (r < 0)
                return r;
        r = store_role_insert(s, txn, keys_of(&role, &(StoreRoleKeys) {0}), buf_head(result) + mark,
                              buf_pending(result) - mark, &err->field);
        if (r < 0)
                return taken(r, err->field, &role, err);
        return role_change(s, txn, &a->auth, peer, STORE_OP_CREATE, &role, rev, NULL,
                           buf_head(result) + mark, buf_pending(result) - mark);
}

/* ---- role.update ---- */

/* What role.update changes: the fields given. */
typedef struct RoleSet {
        char *name, *api_id, *description, *scope;
        char **permissions;
        OptBool mandatory2fa;
} RoleSet;

typedef struct RoleUpdateArgs {
        RoleTarget target;
        const msgpack_object *set_params;       /* during the parse only */
        RoleSet set;
        OptU64 if_revision;
} RoleUpdateArgs;

/* What the set map's parse made (the params' table frees the rest). */
static void role_update_done(void *args) {
        RoleUpdateArgs *a = args;

        free(a->set.name);
        free(a->set.api_id);
        free(a->set.description);
        free(a->set.scope);
        strv_free(a->set.permissions);
}

/* The set map, parsed after the params: its keys are named as
 * role.create's params are. */
static int role_update_check(void *args, RpcErr *err) {
        static const ParamField set_table[] = {
                { "name",         param_str,      offsetof(RoleSet, name),         false },
                { "api_id",       param_str,      offsetof(RoleSet, api_id),       false },
                { "description",  param_str,      offsetof(RoleSet, description),  false },
                { "scope",        param_str,      offsetof(RoleSet, scope),        false },
                { "permissions",  param_strv,     offsetof(RoleSet, permissions),  false },
                { "mandatory2fa", param_opt_bool, offsetof(RoleSet, mandatory2fa), false },
                {0}
        };
        RoleUpdateArgs *a = args;
        int r = role_target_check(args, err);

        if (r >= 0)
                r = params_parse(a->set_params, set_table, &a->set, NULL, &err->field);
        if (r >= 0 && a->set_params->via.map.size == 0)
                r = rpc_fail(err, -EINVAL, "set", "set names no field to change");
        if (r >= 0)
                r = check_scope(a->set.scope, err);
        a->set_params = NULL;   /* the frame's, gone after the parse */
        return r;
}

static const ParamField role_update_table[] = {
        ROLE_TARGET_FIELDS(RoleUpdateArgs),
        { "set",         param_map,     offsetof(RoleUpdateArgs, set_params),  true  },
        { "if_revision", param_opt_u64, offsetof(RoleUpdateArgs, if_revision), false },
        {0}
};

const ArgsSpec role_update_args = { .table = role_update_table, .size = sizeof(RoleUpdateArgs),
                                    .check = role_update_check, .done = role_update_done };

/* A change of a built-in: none in a Partoo organization; in the
 * workspace, not of its name, api_id or scope. */
static int check_builtin_change(const Role *old, const Role *new, const char *by, RpcErr *err) {
        if (!old->is_protected)
                return 0;
        if (old->org != 0)
                return rpc_failf(err, -EROFS, by, "%s is a built-in role, which cannot be changed", old->name);
        if (strcmp(old->name, new->name) != 0)
                return rpc_failf(err, -EROFS, "name", "the built-in role %s cannot be renamed", old->name);
        if (strcmp(old->api_id, new->api_id) != 0)
                return rpc_failf(err, -EROFS, "api_id", "the built-in role %s keeps its api_id", old->name);
        if (strcmp(old->scope, new->scope) != 0)
                return rpc_failf(err, -EROFS, "scope", "the built-in role %s keeps its scope", old->name);
        return 0;
}

static int check_revision(const Role *role, OptU64 if_revision, RpcErr *err) {
        if (if_revision.set && if_revision.v != role->revision)
                return rpc_failf(err, -ESTALE, "if_revision", "role %s is at revision %" PRIu64 ", not %" PRIu64,
                                 role->name, role->revision, if_revision.v);
        return 0;
}

int role_update_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        RoleUpdateArgs *a = args;
        _cleanup_(role_done) Role old = {0};
        _cleanup_(buf_done) Buf before = {0};
        const char *by = role_selector_by(&a->target.sel);
        const void *blob;
        size_t len, mark;
        uint64_t org, rev;
        Role new;
        int r;

        r = role_target_find(s, txn, &a->target, ACCESS_UPDATE, &org, &old, &blob, &len, err);
        if (r < 0)
                return r;
        if (buf_append(&before, blob, len) < 0)         /* the map changes under blob once we write */
                return -ENOMEM;

        new = old;
        if (a->set.name)
                new.name = a->set.name;
        if (a->set.api_id)
                new.api_id = a->set.api_id;
        else if (org == 0)
                new.api_id = new.name;          /* in the workspace api_id follows the name */
        if (a->set.description)
                new.description = a->set.description;
        if (a->set.scope)
                new.scope = a->set.scope;
        if (a->set.permissions)
                new.permissions = a->set.permissions;
        if (a->set.mandatory2fa.set)
                new.mandatory2fa = a->set.mandatory2fa.v;

        r = check_builtin_change(&old, &new, by, err);
        if (r >= 0)
                r = check_revision(&old, a->if_revision, err);
        if (r >= 0)
                r = validate(org, new.name, new.api_id, a->set.description, err);
        if (r >= 0 && a->set.permissions)
                r = check_permissions(s, txn, org, a->set.permissions, err);
        if (r >= 0 && org == 0 && strcmp(new.name, old.name) != 0)
                r = check_workspace_name(s, txn, new.name, old.id, err);
        if (r >= 0)
                r = store_revision_next(s, txn, &rev);
        if (r < 0)
                return r;

        new.updated_at = wall_ms();
        new.revision = rev;
        r = pack_record(&new, result, &mark);
        if (r < 0)
                return r;
        r = store_role_update(s, txn, keys_of(&new, &(StoreRoleKeys) {0}), buf_head(result) + mark,
                              buf_pending(result) - mark, &err->field);
        if (r < 0)
                return taken(r, err->field, &new, err);
        return role_change(s, txn, &a->target.auth, peer, STORE_OP_UPDATE, &new, rev, &before,
                           buf_head(result) + mark, buf_pending(result) - mark);
}

/* ---- role.delete ---- */

typedef struct RoleDeleteArgs {
        RoleTarget target;
        OptU64 if_revision;
        bool force;
} RoleDeleteArgs;

static const ParamField role_delete_table[] = {
        ROLE_TARGET_FIELDS(RoleDeleteArgs),
        { "if_revision", param_opt_u64, offsetof(RoleDeleteArgs, if_revision), false },
        { "force",       param_bool,    offsetof(RoleDeleteArgs, force),       false },
        {0}
};

const ArgsSpec role_delete_args = { .table = role_delete_table, .size = sizeof(RoleDeleteArgs),
                                    .check = role_target_check };

int role_delete_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        RoleDeleteArgs *a = args;
        _cleanup_(role_done) Role old = {0};
        _cleanup_(buf_done) Buf before = {0};
        const char *by = role_selector_by(&a->target.sel);
        StoreRoleInfo info;
        msgpack_packer pk;
        const void *blob;
        size_t len;
        uint64_t org, rev;
        int r;

        r = role_target_find(s, txn, &a->target, ACCESS_DELETE, &org, &old, &blob, &len, err);
        if (r < 0)
                return r;
        if (buf_append(&before, blob, len) < 0)
                return -ENOMEM;
        if (old.is_protected)
                return rpc_failf(err, -EROFS, by, "%s is a built-in role, which cannot be deleted", old.name);
        r = check_revision(&old, a->if_revision, err);
        if (r < 0)
                return r;
        r = store_role_info(s, txn, old.id, &info);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;
        if (info.members > 0 && !a->force)
                return rpc_failf(err, -ENOTEMPTY, by, "role %s is held by %" PRIu64 " user%s (force removes them)",
                                 old.name, info.members, info.members == 1 ? "" : "s");
        r = store_revision_next(s, txn, &rev);
        if (r < 0)
                return r;

        r = store_role_delete(s, txn, org, old.id, a->force, NULL);
        if (r < 0)
                return r;
        old.updated_at = wall_ms();     /* the change's time */
        r = role_change(s, txn, &a->target.auth, peer, STORE_OP_DELETE, &old, rev, &before, NULL, 0);
        if (r < 0)
                return r;

        msgpack_packer_init(&pk, result, buf_pack_write);
        if (msgpack_pack_map(&pk, 4) < 0 ||
            mp_pack_kv_str(&pk, "id", old.id) < 0 ||
            mp_pack_kv_str(&pk, "api_id", old.api_id) < 0 ||
            mp_pack_kv_str(&pk, "name", old.name) < 0 ||
            mp_pack_kv_u64(&pk, "revision", rev) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- role.duplicate ---- */

typedef struct RoleDuplicateArgs {
        RoleTarget target;
} RoleDuplicateArgs;

static const ParamField role_duplicate_table[] = {
        ROLE_TARGET_FIELDS(RoleDuplicateArgs),
        {0}
};

const ArgsSpec role_duplicate_args = { .table = role_duplicate_table, .size = sizeof(RoleDuplicateArgs),
                                       .check = role_target_check };

/* 1 when name and api_id are both free in org, 0 when not. */
static int copy_keys_free(Store *s, MDB_txn *txn, uint64_t org, const char *name, const char *api_id) {
        const void *blob;
        size_t len;
        int r;

        if (org == 0)
                return workspace_name_free(s, txn, name, NULL);
        r = store_role_get(s, txn, org, "name", name, &blob, &len);
        if (r == -ENOENT)
                r = store_role_get(s, txn, org, "api_id", api_id, &blob, &len);
        return r == -ENOENT ? 1 : r < 0 ? r : 0;
}

/* The copy's name "NAME - N" and api_id "API_ID_N" (the workspace's
 * follows the name), for the first N from 2 at which both are free. In a
 * Partoo organization they must stay within PARTOO_NAME_MAX characters. */
static int copy_keys(Store *s, MDB_txn *txn, const Role *src, char **ret_name, char **ret_api_id, RpcErr *err) {
        for (uint64_t n = 2;; n++) {
                _cleanup_free_ char *name = NULL, *api_id = NULL;
                int r;

                if (asprintf(&name, "%s - %" PRIu64, src->name, n) < 0)
                        return -ENOMEM;
                if (src->org == 0)
                        api_id = strdup(name);
                else if (asprintf(&api_id, "%s_%" PRIu64, src->api_id, n) < 0)
                        api_id = NULL;
                if (!api_id)
                        return -ENOMEM;
                if (src->org != 0) {
                        if (utf8_length(name, strlen(name)) > PARTOO_NAME_MAX)
                                return rpc_failf(err, -EINVAL, "name", "the copy's name %s would be over %u characters",
                                                 name, PARTOO_NAME_MAX);
                        if (utf8_length(api_id, strlen(api_id)) > PARTOO_NAME_MAX)
                                return rpc_failf(err, -EINVAL, "api_id",
                                                 "the copy's api_id %s would be over %u characters", api_id,
                                                 PARTOO_NAME_MAX);
                }
                r = copy_keys_free(s, txn, src->org, name, api_id);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret_name = TAKE_PTR(name);
                        *ret_api_id = TAKE_PTR(api_id);
                        return 0;
                }
        }
}

int role_duplicate_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        RoleDuplicateArgs *a = args;
        _cleanup_(role_done) Role src = {0};
        _cleanup_free_ char *name = NULL, *api_id = NULL;
        size_t mark;
        char id[25];
        uint64_t org, rev;
        Role copy;
        int r;

        r = role_target_find(s, txn, &a->target, ACCESS_CREATE, &org, &src, NULL, NULL, err);
        if (r < 0)
                return r;
        if (src.is_protected && org != 0)
                return rpc_failf(err, -EROFS, role_selector_by(&a->target.sel),
                                 "%s is a built-in role, which cannot be duplicated", src.name);
        r = copy_keys(s, txn, &src, &name, &api_id, err);
        if (r >= 0)
                r = store_revision_next(s, txn, &rev);
        if (r < 0)
                return r;

        new_role_id(id);
        copy = src;
        copy.id = id;
        copy.name = name;
        copy.api_id = api_id;
        copy.is_protected = false;
        copy.created_at = copy.updated_at = wall_ms();
        copy.revision = rev;
        r = pack_record(&copy, result, &mark);
        if (r < 0)
                return r;
        r = store_role_insert(s, txn, keys_of(&copy, &(StoreRoleKeys) {0}), buf_head(result) + mark,
                              buf_pending(result) - mark, &err->field);
        if (r < 0)
                return taken(r, err->field, &copy, err);
        return role_change(s, txn, &a->target.auth, peer, STORE_OP_CREATE, &copy, rev, NULL,
                           buf_head(result) + mark, buf_pending(result) - mark);
}

/* ---- db.import's roles ---- */

static bool strv_same(char *const *a, char *const *b) {
        for (; a && *a && b && *b; a++, b++)
                if (strcmp(*a, *b) != 0)
                        return false;
        return !(a && *a) && !(b && *b);
}

/* What a role's import may change (its ids, times and revision aside). */
static bool role_same(const Role *a, const Role *b) {
        return strcmp(a->api_id, b->api_id) == 0 && strcmp(a->name, b->name) == 0 &&
               streq_null(a->description, b->description) && strcmp(a->scope, b->scope) == 0 &&
               strv_same(a->permissions, b->permissions) && a->mandatory2fa == b->mandatory2fa;
}

int role_import(Store *s, MDB_txn *txn, const msgpack_object *rec, const StorePeer *peer, ImportOutcome *ret,
                RpcErr *err) {
        _cleanup_(role_done) Role want = {0}, old = {0};
        _cleanup_(buf_done) Buf before = {0}, record = {0};
        const void *blob;
        size_t len, mark;
        uint64_t rev;
        Role role;
        int r;

        if (role_unpack(rec, &want) < 0)
                return rpc_fail(err, -EINVAL, NULL, "not a role: a role has the twelve keys role.get gives");
        r = store_org_get(s, txn, want.org, NULL);
        if (r == -ENOENT)
                return rpc_failf(err, r, "org", "no such organization: %" PRIu64, want.org);
        if (r >= 0)
                r = store_role_get(s, txn, want.org, "id", want.id, &blob, &len);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0) {
                if (role_decode(blob, len, &old) < 0)
                        return -EUCLEAN;
                if (role_same(&old, &want)) {
                        *ret = IMPORT_UNCHANGED;
                        return 0;
                }
                if (buf_append(&before, blob, len) < 0)
                        return -ENOMEM;
                r = check_builtin_change(&old, &want, "id", err);
        } else if (want.is_protected)
                return rpc_failf(err, -EROFS, "id", "%s is a built-in role this database does not have", want.name);
        else
                r = 0;
        if (r >= 0)
                r = check_scope(want.scope, err);
        if (r >= 0)
                r = validate(want.org, want.name, want.api_id, want.description, err);
        if (r >= 0)
                r = check_permissions(s, txn, want.org, want.permissions, err);
        if (r >= 0 && want.org == 0 && (!old.id || strcmp(want.name, old.name) != 0))
                r = check_workspace_name(s, txn, want.name, old.id, err);
        if (r >= 0)
                r = store_revision_next(s, txn, &rev);
        if (r < 0)
                return r;

        role = want;
        role.revision = rev;
        if (old.id) {
                role.created_at = old.created_at;
                role.is_protected = old.is_protected;
        }
        r = pack_record(&role, &record, &mark);
        if (r < 0)
                return r;
        if (old.id)
                r = store_role_update(s, txn, keys_of(&role, &(StoreRoleKeys) {0}), buf_head(&record) + mark,
                                      buf_pending(&record) - mark, &err->field);
        else
                r = store_role_insert(s, txn, keys_of(&role, &(StoreRoleKeys) {0}), buf_head(&record) + mark,
                                      buf_pending(&record) - mark, &err->field);
        if (r < 0)
                return taken(r, err->field, &role, err);
        r = role_change(s, txn, NULL, peer, old.id ? STORE_OP_UPDATE : STORE_OP_CREATE, &role, rev,
                        old.id ? &before : NULL, buf_head(&record) + mark, buf_pending(&record) - mark);
        if (r >= 0)
                *ret = old.id ? IMPORT_UPDATED : IMPORT_CREATED;
        return r;
}

/* ---- reads ---- */

typedef struct RoleGetArgs {
        RoleTarget target;
} RoleGetArgs;

static void role_get_args_done(RoleGetArgs *a) {
        role_target_done(&a->target);
}

int role_get_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                  RpcErr *err) {
        static const ParamField table[] = {
                ROLE_TARGET_FIELDS(RoleGetArgs),
                {0}
        };
        _cleanup_(role_get_args_done) RoleGetArgs a = {0};
        const char *by, *value;
        const void *blob;
        size_t len;
        uint64_t org;
        int r;

        r = params_parse(params, table, &a, NULL, &err->field);
        if (r >= 0)
                r = role_target_check(&a, err);
        if (r < 0)
                return r;
        by = role_selector_by(&a.target.sel);
        value = role_selector_value(&a.target.sel);

        r = auth_check(ctx->store, txn, &a.target.auth, a.target.org, ACCESS_READ, &org, &err->field);
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
        StoreOrgCounts counts;
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
        r = store_org_counts(ctx->store, txn, org, &counts);
        if (r < 0)
                return r;
        count = counts.roles;
        if (after_seq >= counts.next_seq)
                return rpc_fail(err, -EINVAL, "after", "not a cursor returned by role.list");
        max_page = count == 0 ? 1 : (count + per_page - 1) / per_page;

        if (after_seq) {
                /* The roles after the cursor's, as many as there are now:
                 * roles deleted since it was made leave fewer to page. */
                ListBuf l;

                list_begin(&l);
                v.pk = &l.pk;
                r = store_role_list(ctx->store, txn, org, 0, after_seq, (size_t) per_page, list_visit, &v,
                                    &last_seq, &more);
                if (r < 0) {
                        list_done(&l);
                        return r;
                }
                l.n = v.n;
                msgpack_pack_map(pk, more ? 5 : 4);
                mp_pack_str(pk, "roles");
                r = list_end(&l, pk);
                if (r < 0)
                        return r;
        } else {
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
                        r = store_role_list(ctx->store, txn, org, offset, 0, (size_t) n, list_visit, &v,
                                            &last_seq, &(bool) {false});
                        if (r < 0)
                                return r;
                        if (v.n != n)
                                return rpc_fail(err, -EUCLEAN, NULL, "role index and count disagree");
                }
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

