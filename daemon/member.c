/* member.c: who holds which role: member.add and member.remove (users of
 * the role's own organization; the workspace always keeps one admin, and
 * giving its admin role takes more than managing members), member.list (a
 * role's holders by username, O(page) with a cursor) and user.roles. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "handlers.h"
#include "seed.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/wire.h"

/* The workspace's admin role, which it always keeps one holder of. */
static bool is_workspace_admin(const Role *role) {
        return role->org == 0 && strcmp(role->id, SEED_WORKSPACE_ADMIN) == 0;
}

/* The id of user `username` of org, or not_found naming the user. */
static int user_find(Store *s, MDB_txn *txn, uint64_t org, const char *username,
                     char user_id[static STORE_USER_ID_MAX + 1], RpcErr *err) {
        int r = store_user_find(s, txn, org, username, user_id);
        if (r == -ENOENT)
                return rpc_failf(err, r, "user", "no such user: %s", username);
        return r;
}

/* ---- member.add, member.remove ---- */

typedef struct MemberArgs {
        RoleTarget target;
        char *user;
} MemberArgs;

static int member_check(void *args, RpcErr *err) {
        MemberArgs *a = args;
        int r = role_target_check(args, err);
        return r < 0 ? r : check_text(a->user, USERNAME_MAX, "user", err);
}

static const ParamField member_table[] = {
        ROLE_TARGET_FIELDS(MemberArgs),
        { "user", param_str, offsetof(MemberArgs, user), true },
        {0}
};

const ArgsSpec member_add_args = { .table = member_table, .size = sizeof(MemberArgs), .check = member_check };
const ArgsSpec member_remove_args = { .table = member_table, .size = sizeof(MemberArgs), .check = member_check };

/* Authorizes the call, finds the user and the role (in that order, as
 * Rocket.Chat checks them). */
static int member_target(Store *s, MDB_txn *txn, MemberArgs *a, Access access, uint64_t *ret_org,
                         char user_id[static STORE_USER_ID_MAX + 1], Role *ret_role, RpcErr *err) {
        int r;

        r = auth_check(s, txn, &a->target.auth, a->target.org, access, ret_org, &err->field);
        if (r >= 0)
                r = user_find(s, txn, *ret_org, a->user, user_id, err);
        if (r >= 0)
                r = role_find(s, txn, *ret_org, &a->target.sel, ret_role, NULL, NULL, err);
        return r;
}

/* Records a membership's change and answers {user, roles}. */
static int member_done(Store *s, MDB_txn *txn, MemberArgs *a, const StorePeer *peer, StoreOp op, uint64_t rev,
                       const Role *role, const char *user_id, Buf *result) {
        _cleanup_(buf_done) Buf view = {0};
        msgpack_packer pk;
        bool added = op == STORE_OP_ADD;
        int r;

        msgpack_packer_init(&pk, &view, buf_pack_write);
        if (msgpack_pack_map(&pk, 4) < 0 ||
            mp_pack_kv_str(&pk, "role", role->id) < 0 ||
            mp_pack_kv_str(&pk, "api_id", role->api_id) < 0 ||
            mp_pack_kv_str(&pk, "user", a->user) < 0 ||
            mp_pack_kv_str(&pk, "user_id", user_id) < 0 || view.oom)
                return -ENOMEM;
        r = record_change(s, txn, &a->target.auth, peer, &(StoreChange) {
                .revision = rev, .time_ms = wall_ms(), .op = op, .kind = STORE_KIND_MEMBER,
                .org = role->org, .id = role->id,
                .before = added ? NULL : buf_head(&view), .before_len = added ? 0 : buf_pending(&view),
                .after = added ? buf_head(&view) : NULL, .after_len = added ? buf_pending(&view) : 0,
        });
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        return pack_user_and_roles(&pk, s, txn, a->user, user_id);
}

int member_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        MemberArgs *a = args;
        _cleanup_(role_done) Role role = {0};
        char user_id[STORE_USER_ID_MAX + 1];
        uint64_t org, rev;
        int r;

        r = member_target(s, txn, a, ACCESS_MEMBERS, &org, user_id, &role, err);
        if (r < 0)
                return r;
        if (store_member_held(s, txn, role.id, user_id) > 0)
                return rpc_failf(err, -EEXIST, "user", "%s already holds %s", a->user, role.name);
        if (is_workspace_admin(&role)) {
                r = auth_check(s, txn, &a->target.auth, a->target.org, ACCESS_ASSIGN_ADMIN, &org, &err->field);
                if (r == -EACCES)
                        return rpc_fail(err, r, "auth", "assigning admin is not allowed");
                if (r < 0)
                        return r;
        }
        r = store_revision_next(s, txn, &rev);
        if (r >= 0)
                r = store_member_add(s, txn, role.id, user_id, NULL);
        if (r < 0)
                return r;
        return member_done(s, txn, a, peer, STORE_OP_ADD, rev, &role, user_id, result);
}

/* db.import's memberships: {type, org, role (its id), user (a username),
 * api_id?, user_id?}. */
typedef struct MemberImport {
        char *type;
        MemberArgs a;
        char *api_id, *user_id;
} MemberImport;

static void member_import_done(MemberImport *x) {
        free(x->type);
        role_target_done(&x->a.target);
        free(x->a.user);
        free(x->api_id);
        free(x->user_id);
}

int member_import(Store *s, MDB_txn *txn, const msgpack_object *rec, const StorePeer *peer, ImportOutcome *ret,
                  RpcErr *err) {
        static const ParamField table[] = {
                { "type",    param_str,     offsetof(MemberImport, type),          true  },
                { "org",     param_opt_u64, offsetof(MemberImport, a.target.org),  true  },
                { "role",    param_str,     offsetof(MemberImport, a.target.sel.id), true },
                { "user",    param_str,     offsetof(MemberImport, a.user),        true  },
                { "api_id",  param_str,     offsetof(MemberImport, api_id),        false },
                { "user_id", param_str,     offsetof(MemberImport, user_id),       false },
                {0}
        };
        _cleanup_(member_import_done) MemberImport x = {0};
        _cleanup_(role_done) Role role = {0};
        _cleanup_(buf_done) Buf result = {0};
        char user_id[STORE_USER_ID_MAX + 1];
        uint64_t org;
        int r;

        r = params_parse(rec, table, &x, NULL, &err->field);
        if (r >= 0)
                r = member_check(&x.a, err);
        if (r >= 0)
                r = member_target(s, txn, &x.a, ACCESS_MEMBERS, &org, user_id, &role, err);
        if (r < 0)
                return r;
        if (x.user_id && strcmp(x.user_id, user_id) != 0)
                return rpc_failf(err, -EINVAL, "user_id", "%s is user %s here, not %s", x.a.user, user_id, x.user_id);
        if (store_member_held(s, txn, role.id, user_id) > 0) {
                *ret = IMPORT_UNCHANGED;
                return 0;
        }
        r = member_add_apply(s, txn, &x.a, peer, &result, err);
        if (r >= 0)
                *ret = IMPORT_CREATED;
        return r;
}

int member_remove_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        MemberArgs *a = args;
        _cleanup_(role_done) Role role = {0};
        char user_id[STORE_USER_ID_MAX + 1];
        StoreRoleInfo info;
        uint64_t org, rev;
        int r;

        r = member_target(s, txn, a, ACCESS_MEMBERS, &org, user_id, &role, err);
        if (r < 0)
                return r;
        r = store_member_held(s, txn, role.id, user_id);
        if (r == 0)
                return rpc_failf(err, -ENOENT, "member", "%s does not hold %s", a->user, role.name);
        if (r >= 0)
                r = store_role_info(s, txn, role.id, &info);
        if (r < 0)
                return r;
        if (is_workspace_admin(&role) && info.members == 1)
                return rpc_failf(err, -EROFS, "user", "%s is the workspace's last admin", a->user);
        r = store_revision_next(s, txn, &rev);
        if (r >= 0)
                r = store_member_remove(s, txn, role.id, user_id);
        if (r < 0)
                return r;
        return member_done(s, txn, a, peer, STORE_OP_REMOVE, rev, &role, user_id, result);
}

/* ---- member.list ---- */

typedef struct MemberListArgs {
        RoleTarget target;
        Paging paging;
} MemberListArgs;

static void member_list_args_done(MemberListArgs *a) {
        role_target_done(&a->target);
        paging_done(&a->paging);
}

typedef struct MemberListVisit {
        Store *store;
        MDB_txn *txn;
        ListBuf list;
        char last[USERNAME_MAX + 1];    /* the last username packed */
} MemberListVisit;

static int member_visit(const char *user_id, const char *username, void *userdata) {
        MemberListVisit *v = userdata;
        _cleanup_(stored_user_done) StoredUser u = {0};
        int r;

        r = store_user_get(v->store, v->txn, user_id, &u);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;     /* a membership of no user */
        snprintf(v->last, sizeof v->last, "%s", username);
        v->list.n++;
        if (msgpack_pack_map(&v->list.pk, 4) < 0 ||
            mp_pack_kv_str(&v->list.pk, "id", user_id) < 0 ||
            mp_pack_kv_str(&v->list.pk, "username", username) < 0 ||
            mp_pack_kv_str(&v->list.pk, "name", u.name) < 0 ||
            mp_pack_kv_u64(&v->list.pk, "created_at", u.created_at) < 0)
                return -ENOMEM;
        return 0;
}

int member_list_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                     RpcErr *err) {
        static const ParamField table[] = {
                ROLE_TARGET_FIELDS(MemberListArgs),
                PAGING_FIELDS(MemberListArgs, paging),
                PAGING_CURSOR_FIELD(MemberListArgs, paging),
                {0}
        };
        _cleanup_(member_list_args_done) MemberListArgs a = {0};
        _cleanup_(role_done) Role role = {0};
        MemberListVisit v = { .store = ctx->store, .txn = txn };
        StoreRoleInfo info;
        uint64_t org, offset;
        size_t count;
        bool more;
        int r;

        r = list_params_parse(params, table, &a, &a.paging, false, &offset, &count, err);
        if (r >= 0)
                r = role_target_check(&a, err);
        if (r >= 0)
                r = role_target_find(ctx->store, txn, &a.target, ACCESS_READ_MEMBERS, &org, &role, NULL, NULL, err);
        if (r >= 0)
                r = store_role_info(ctx->store, txn, role.id, &info);
        if (r < 0)
                return r;

        list_begin(&v.list);
        r = store_member_list(ctx->store, txn, role.id, a.paging.after, offset, count, member_visit, &v, &more);
        if (r == -EINVAL)
                r = rpc_fail(err, r, "after", "not a cursor returned by member.list");
        if (r < 0) {
                list_done(&v.list);
                return r;
        }
        return pack_page(pk, "users", &v.list, info.members, more ? v.last : NULL);
}

/* ---- user.roles ---- */

typedef struct UserRolesArgs {
        Auth auth;
        OptU64 org;
        char *user;
} UserRolesArgs;

static void user_roles_args_done(UserRolesArgs *a) {
        auth_done(&a->auth);
        free(a->user);
}

int user_roles_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                    RpcErr *err) {
        static const ParamField table[] = {
                { "auth", param_auth,    offsetof(UserRolesArgs, auth), false },
                { "org",  param_opt_u64, offsetof(UserRolesArgs, org),  false },
                { "user", param_str,     offsetof(UserRolesArgs, user), true  },
                {0}
        };
        _cleanup_(user_roles_args_done) UserRolesArgs a = {0};
        char user_id[STORE_USER_ID_MAX + 1];
        uint64_t org;
        int r;

        r = params_parse(params, table, &a, NULL, &err->field);
        if (r >= 0)
                r = check_text(a.user, USERNAME_MAX, "user", err);
        if (r >= 0)
                r = auth_check(ctx->store, txn, &a.auth, a.org, ACCESS_READ_MEMBERS, &org, &err->field);
        if (r >= 0)
                r = user_find(ctx->store, txn, org, a.user, user_id, err);
        if (r < 0)
                return r;
        return pack_user_and_roles(pk, ctx->store, txn, a.user, user_id);
}
