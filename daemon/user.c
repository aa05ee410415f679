/* user.c: the users of every organization (a token each, shown once):
 * user.add with the roles it holds from the start, user.list, and
 * user.remove (its memberships go with it, its token stops working at
 * once; the workspace's last admin stays). For local peers only. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "handlers.h"
#include "seed.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/wire.h"

/* A user as user.list shows it ({id, username, name, roles}), and with
 * org and created_at as its changes record it. */
static int user_pack(msgpack_packer *pk, Store *s, MDB_txn *txn, const char *user_id, const StoredUser *u,
                     bool full) {
        if (msgpack_pack_map(pk, full ? 6 : 4) < 0 ||
            mp_pack_kv_str(pk, "id", user_id) < 0 ||
            (full && mp_pack_kv_u64(pk, "org", u->org) < 0) ||
            mp_pack_kv_str(pk, "username", u->username) < 0 ||
            mp_pack_kv_str(pk, "name", u->name) < 0 ||
            (full && mp_pack_kv_u64(pk, "created_at", u->created_at) < 0) ||
            mp_pack_str(pk, "roles") < 0)
                return -ENOMEM;
        return pack_user_roles(pk, s, txn, user_id);
}

/* The view a user's change records. */
static int user_view(Store *s, MDB_txn *txn, const char *user_id, const StoredUser *u, Buf *view) {
        msgpack_packer pk;
        int r;

        msgpack_packer_init(&pk, view, buf_pack_write);
        r = user_pack(&pk, s, txn, user_id, u, true);
        return r >= 0 && view->oom ? -ENOMEM : r;
}

/* Records a user's change (its view from user_view()). */
static int user_change(Store *s, MDB_txn *txn, const StorePeer *peer, StoreOp op, uint64_t rev, uint64_t now,
                       const char *user_id, const StoredUser *u, const Buf *view) {
        bool created = op == STORE_OP_CREATE;

        return record_change(s, txn, NULL, peer, &(StoreChange) {
                .revision = rev, .time_ms = now, .op = op, .kind = STORE_KIND_USER, .org = u->org, .id = user_id,
                .before = created ? NULL : buf_head(view), .before_len = created ? 0 : buf_pending(view),
                .after = created ? buf_head(view) : NULL, .after_len = created ? buf_pending(view) : 0,
        });
}

static int org_exists(Store *s, MDB_txn *txn, uint64_t org, RpcErr *err) {
        int r = store_org_get(s, txn, org, NULL);
        if (r == -ENOENT)
                return rpc_failf(err, r, "org", "no such organization: %" PRIu64, org);
        return r;
}

/* ---- user.add ---- */

typedef struct UserAddArgs {
        char *username;
        OptU64 org;
        char *name;
        char **roles;
} UserAddArgs;

static int user_add_check(void *args, RpcErr *err) {
        UserAddArgs *a = args;
        size_t n = 0;
        int r;

        r = check_text(a->username, USERNAME_MAX, "username", err);
        if (r >= 0 && a->name)
                r = check_text(a->name, USER_NAME_MAX, "name", err);
        for (char **i = a->roles; r >= 0 && i && *i; i++)
                n++;
        if (r >= 0 && n > USER_ROLES_MAX)
                r = rpc_failf(err, -EINVAL, "roles", "at most %u roles", USER_ROLES_MAX);
        return r;
}

static const ParamField user_add_table[] = {
        { "username", param_str,     offsetof(UserAddArgs, username), true  },
        { "org",      param_opt_u64, offsetof(UserAddArgs, org),      false },
        { "name",     param_str,     offsetof(UserAddArgs, name),     false },
        { "roles",    param_strv,    offsetof(UserAddArgs, roles),    false },
        {0}
};

const ArgsSpec user_add_args = { .table = user_add_table, .size = sizeof(UserAddArgs), .local_only = true,
                                 .check = user_add_check };

/* The ids of the roles named by api_id in org, each once. */
static int role_ids(Store *s, MDB_txn *txn, uint64_t org, char *const *api_ids, char ***ret, RpcErr *err) {
        _cleanup_strv_free_ char **ids = NULL;
        size_t n = 0;

        for (char *const *i = api_ids; i && *i; i++)
                n++;
        ids = calloc(n + 1, sizeof *ids);
        if (!ids)
                return -ENOMEM;
        n = 0;
        for (char *const *i = api_ids; i && *i; i++) {
                _cleanup_(role_done) Role role = {0};
                bool seen = false;
                int r = role_find(s, txn, org, &(RoleSelector) { .api_id = *i }, &role, NULL, NULL, err);
                if (r == -ENOENT)
                        return org == 0 ? rpc_failf(err, r, "roles", "no such workspace role: %s", *i) :
                                rpc_failf(err, r, "roles", "no such role in organization %" PRIu64 ": %s", org, *i);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < n && !seen; j++)
                        seen = strcmp(ids[j], role.id) == 0;
                if (!seen)
                        ids[n++] = TAKE_PTR(role.id);
        }
        *ret = TAKE_PTR(ids);
        return 0;
}

int user_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        static char *const default_roles[] = { (char *) "user", NULL };
        UserAddArgs *a = args;
        _cleanup_free_ char *user_id = NULL, *token = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_(buf_done) Buf view = {0};
        uint64_t org = a->org.set ? a->org.v : 0, rev;
        StoredUser u = {
                .org = org,
                .username = a->username,
                .name = a->name,
                .created_at = wall_ms(),
        };
        msgpack_packer pk;
        int r;

        r = org_exists(s, txn, org, err);
        if (r >= 0)
                r = role_ids(s, txn, org, a->roles && a->roles[0] ? a->roles : org == 0 ? default_roles : NULL,
                             &ids, err);
        if (r >= 0)
                r = store_revision_next(s, txn, &rev);
        if (r < 0)
                return r;
        r = auth_user_new(s, txn, &u, &user_id, &token, &err->field);
        if (r == -EEXIST)
                return err->field && strcmp(err->field, "user_id") == 0 ?
                        rpc_fail(err, r, "user_id", "user id collision, retry") :
                        rpc_failf(err, r, "username", "username %s already exists", a->username);
        if (r == -EINVAL && err->field && strcmp(err->field, "username") == 0)
                return rpc_failf(err, r, "username", "username must be 1 to %u bytes", USERNAME_MAX);
        for (char **i = ids; r >= 0 && *i; i++)
                r = store_member_add(s, txn, *i, user_id, NULL);
        if (r >= 0)
                r = user_view(s, txn, user_id, &u, &view);
        if (r >= 0)
                r = user_change(s, txn, peer, STORE_OP_CREATE, rev, u.created_at, user_id, &u, &view);
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        msgpack_pack_map(&pk, 2);
        mp_pack_kv_str(&pk, "user_id", user_id);
        return mp_pack_kv_str(&pk, "token", token) < 0 ? -ENOMEM : 0;
}

/* ---- db.import's users: {type, id, org, username, name?, created_at?},
 * made without a token (none works until one is issued) ---- */

typedef struct UserImport {
        char *type, *id, *username, *name;
        OptU64 org, created_at;
} UserImport;

static void user_import_done(UserImport *x) {
        free(x->type);
        free(x->id);
        free(x->username);
        free(x->name);
}

int user_import(Store *s, MDB_txn *txn, const msgpack_object *rec, const StorePeer *peer, ImportOutcome *ret,
                RpcErr *err) {
        static const ParamField table[] = {
                { "type",       param_str,        offsetof(UserImport, type),       true  },
                { "id",         param_str,        offsetof(UserImport, id),         true  },
                { "org",        param_opt_u64,    offsetof(UserImport, org),        true  },
                { "username",   param_str,        offsetof(UserImport, username),   true  },
                { "name",       param_str_or_nil, offsetof(UserImport, name),       false },
                { "created_at", param_opt_u64,    offsetof(UserImport, created_at), false },
                {0}
        };
        _cleanup_(user_import_done) UserImport x = {0};
        _cleanup_(stored_user_done) StoredUser old = {0};
        _cleanup_(buf_done) Buf view = {0};
        StoredUser u;
        uint64_t rev;
        int r;

        r = params_parse(rec, table, &x, NULL, &err->field);
        if (r >= 0)
                r = check_text(x.username, USERNAME_MAX, "username", err);
        if (r >= 0 && x.name)
                r = check_text(x.name, USERNAME_MAX, "name", err);
        if (r < 0)
                return r;
        r = store_user_get(s, txn, x.id, &old);
        if (r >= 0) {
                if (old.org != x.org.v || strcmp(old.username, x.username) != 0 || !streq_null(old.name, x.name))
                        return rpc_failf(err, -EINVAL, "id", "user %s exists as %s in organization %" PRIu64
                                         ", and users cannot be renamed", x.id, old.username, old.org);
                *ret = IMPORT_UNCHANGED;
                return 0;
        }
        if (r != -ENOENT)
                return r;
        r = org_exists(s, txn, x.org.v, err);
        if (r >= 0)
                r = store_revision_next(s, txn, &rev);
        if (r < 0)
                return r;
        u = (StoredUser) { .org = x.org.v, .username = x.username, .name = x.name,
                           .created_at = x.created_at.set ? x.created_at.v : wall_ms() };
        r = store_user_put(s, txn, x.id, &u, &err->field);
        if (r == -EEXIST)
                return err->field && strcmp(err->field, "user_id") == 0 ?
                        rpc_failf(err, r, "id", "user id %s is taken", x.id) :
                        rpc_failf(err, r, "username", "username %s already exists", x.username);
        if (r == -EINVAL)
                return rpc_fail(err, r, err->field && strcmp(err->field, "user_id") == 0 ? "id" : "username",
                                "bad user id or username");
        if (r >= 0)
                r = user_view(s, txn, x.id, &u, &view);
        if (r >= 0)
                r = user_change(s, txn, peer, STORE_OP_CREATE, rev, wall_ms(), x.id, &u, &view);
        if (r >= 0)
                *ret = IMPORT_CREATED;
        return r;
}

/* ---- user.list ---- */

typedef struct UserListArgs {
        OptU64 org;
        Paging paging;
} UserListArgs;

static void user_list_args_done(UserListArgs *a) {
        paging_done(&a->paging);
}

typedef struct UserListVisit {
        Store *store;
        MDB_txn *txn;
        ListBuf list;
        char *last;             /* the last username packed */
} UserListVisit;

static int user_visit(const char *user_id, const StoredUser *u, void *userdata) {
        UserListVisit *v = userdata;

        free(v->last);
        v->last = strdup(u->username);
        if (!v->last)
                return -ENOMEM;
        v->list.n++;
        return user_pack(&v->list.pk, v->store, v->txn, user_id, u, false);
}

int user_list_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                   RpcErr *err) {
        static const ParamField table[] = {
                { "org", param_opt_u64, offsetof(UserListArgs, org), true },
                PAGING_FIELDS(UserListArgs, paging),
                PAGING_CURSOR_FIELD(UserListArgs, paging),
                {0}
        };
        _cleanup_(user_list_args_done) UserListArgs a = {0};
        UserListVisit v = { .store = ctx->store, .txn = txn };
        StoreOrgCounts counts;
        uint64_t offset;
        size_t count;
        bool more;
        int r;

        r = list_params_parse(params, table, &a, &a.paging, true, &offset, &count, err);
        if (r >= 0) {
                r = store_org_counts(ctx->store, txn, a.org.v, &counts);
                if (r == -ENOENT)
                        r = rpc_failf(err, r, "org", "no such organization: %" PRIu64, a.org.v);
        }
        if (r < 0)
                return r;
        list_begin(&v.list);
        r = store_user_list(ctx->store, txn, a.org.v, a.paging.after, offset, count, user_visit, &v, &more);
        if (r >= 0)
                r = pack_page(pk, "users", &v.list, counts.users, more ? v.last : NULL);
        else
                list_done(&v.list);
        free(v.last);
        return r;
}

/* ---- user.remove ---- */

typedef struct UserRemoveArgs {
        OptU64 org;
        char *user;
} UserRemoveArgs;

static const ParamField user_remove_table[] = {
        { "org",  param_opt_u64, offsetof(UserRemoveArgs, org),  true },
        { "user", param_str,     offsetof(UserRemoveArgs, user), true },
        {0}
};

static int user_remove_check(void *args, RpcErr *err) {
        return check_text(((UserRemoveArgs *) args)->user, USERNAME_MAX, "user", err);
}

const ArgsSpec user_remove_args = { .table = user_remove_table, .size = sizeof(UserRemoveArgs), .local_only = true,
                                    .check = user_remove_check };

/* 1 when user_id holds the workspace's admin role and nobody else does. */
static int last_admin(Store *s, MDB_txn *txn, uint64_t org, const char *user_id) {
        StoreRoleInfo admin;
        int r;

        if (org != 0)
                return 0;
        r = store_role_info(s, txn, SEED_WORKSPACE_ADMIN, &admin);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (admin.members != 1)
                return 0;
        return store_member_held(s, txn, SEED_WORKSPACE_ADMIN, user_id);
}

int user_remove_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        UserRemoveArgs *a = args;
        _cleanup_(stored_user_done) StoredUser u = {0};
        _cleanup_(buf_done) Buf view = {0};
        char user_id[STORE_USER_ID_MAX + 1];
        msgpack_packer pk;
        uint64_t rev;
        int r;

        r = org_exists(s, txn, a->org.v, err);
        if (r < 0)
                return r;
        r = store_user_find(s, txn, a->org.v, a->user, user_id);
        if (r == -ENOENT)
                return rpc_failf(err, r, "user", "no such user: %s", a->user);
        if (r >= 0)
                r = store_user_get(s, txn, user_id, &u);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;
        r = last_admin(s, txn, a->org.v, user_id);
        if (r > 0)
                return rpc_failf(err, -EROFS, "user", "%s is the workspace's last admin", a->user);
        if (r >= 0)
                r = store_revision_next(s, txn, &rev);
        if (r < 0)
                return r;
        r = user_view(s, txn, user_id, &u, &view);    /* with its roles, before they go */
        if (r >= 0)
                r = store_user_remove(s, txn, user_id);
        if (r >= 0)
                r = user_change(s, txn, peer, STORE_OP_DELETE, rev, wall_ms(), user_id, &u, &view);
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        msgpack_pack_map(&pk, 2);
        mp_pack_kv_str(&pk, "id", user_id);
        return mp_pack_kv_str(&pk, "username", u.username) < 0 ? -ENOMEM : 0;
}
