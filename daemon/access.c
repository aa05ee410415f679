/* access.c: the questions asked before acting. access.check: may this
 * user do this, i.e. does a role it holds grant the permission (the hot
 * path of local services: a handful of lookups, whatever the size of the
 * database). auth.check: may this credential act on this organization
 * (for front ends that must report a credential's error first). */
#include <errno.h>
#include <string.h>

#include "handlers.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/wire.h"

/* ---- access.check ---- */

typedef struct AccessCheckArgs {
        Auth auth;
        OptU64 org;
        char *user;
        char *permission;
} AccessCheckArgs;

static void access_check_args_done(AccessCheckArgs *a) {
        auth_done(&a->auth);
        free(a->user);
        free(a->permission);
}

/* The api_ids of the granting roles, kept (they point into the map) until
 * the reply is packed: a few on the stack, more on the heap. */
typedef struct Granting {
        size_t n, cap;
        struct { const char *p; size_t len; } *v, inline_v[16];
} Granting;

static int granting_visit(const char *api_id, size_t len, bool grants, void *userdata) {
        Granting *g = userdata;

        if (!grants)
                return 0;
        if (g->n == g->cap) {
                size_t cap = g->cap * 2;
                void *v = g->v == g->inline_v ? malloc(cap * sizeof *g->v) : realloc(g->v, cap * sizeof *g->v);
                if (!v)
                        return -ENOMEM;
                if (g->v == g->inline_v)
                        memcpy(v, g->inline_v, sizeof g->inline_v);
                g->v = v;
                g->cap = cap;
        }
        g->v[g->n].p = api_id;
        g->v[g->n].len = len;
        g->n++;
        return 0;
}

int access_check_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                      RpcErr *err) {
        static const ParamField table[] = {
                { "auth",       param_auth,    offsetof(AccessCheckArgs, auth),       false },
                { "org",        param_opt_u64, offsetof(AccessCheckArgs, org),        false },
                { "user",       param_str,     offsetof(AccessCheckArgs, user),       true  },
                { "permission", param_str,     offsetof(AccessCheckArgs, permission), true  },
                {0}
        };
        _cleanup_(access_check_args_done) AccessCheckArgs a = {0};
        char user_id[STORE_USER_ID_MAX + 1];
        Granting g = { .cap = ELEMENTSOF(g.inline_v) };
        uint64_t org;
        int r;

        g.v = g.inline_v;
        r = params_parse(params, table, &a, NULL, &err->field);
        if (r >= 0)
                r = check_text(a.user, USERNAME_MAX, "user", err);
        if (r >= 0)
                r = auth_check(ctx->store, txn, &a.auth, a.org, ACCESS_READ_MEMBERS, &org, &err->field);
        if (r >= 0) {
                r = store_permission_exists(ctx->store, txn, org, a.permission);
                if (r == 0)
                        r = rpc_failf(err, -EINVAL, "permission", "unknown permission: %s", a.permission);
        }
        if (r < 0)
                return r;

        r = store_user_find(ctx->store, txn, org, a.user, user_id);
        if (r >= 0)
                r = store_user_roles(ctx->store, txn, user_id, a.permission, granting_visit, &g);
        else if (r == -ENOENT)
                r = 0;          /* nobody: allowed nothing */
        if (r >= 0 && (msgpack_pack_map(pk, 2) < 0 || mp_pack_str(pk, "allowed") < 0 ||
                       (g.n > 0 ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) < 0 ||
                       mp_pack_str(pk, "roles") < 0 || msgpack_pack_array(pk, g.n) < 0))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < g.n; i++)
                if (mp_pack_strn(pk, g.v[i].p, g.v[i].len) < 0)
                        r = -ENOMEM;
        if (g.v != g.inline_v)
                free(g.v);
        return r;
}

/* ---- auth.check ---- */

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
        if (a.access && access_from_string(a.access, &access) < 0)
                return rpc_failf(err, -EINVAL, "access",
                                 "access must be read, read-members, create, update, delete, members or "
                                 "assign-admin, not %s", a.access);
        r = auth_check(ctx->store, txn, &a.auth, a.org, access, &org, &err->field);
        if (r < 0)
                return r;
        msgpack_pack_map(pk, 1);
        return mp_pack_kv_u64(pk, "org", org) < 0 ? -ENOMEM : 0;
}
