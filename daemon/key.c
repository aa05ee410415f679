/* key.c: Partoo API keys: key.add (the key shown once), key.list (never
 * the key itself) and key.revoke (the key is refused from the next request
 * on: its hash is gone). For local peers only. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "handlers.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/wire.h"

/* A key as key.list shows it, and as its changes record it. */
static int key_pack(msgpack_packer *pk, const char *key_id, const StoredKey *k) {
        if (msgpack_pack_map(pk, 3 + k->has_org + !!k->provider) < 0 ||
            mp_pack_kv_str(pk, "key_id", key_id) < 0 ||
            mp_pack_kv_str(pk, "user_role", k->user_role) < 0 ||
            (k->has_org && mp_pack_kv_u64(pk, "org", k->org) < 0) ||
            (k->provider && mp_pack_kv_str(pk, "provider", k->provider) < 0) ||
            mp_pack_kv_u64(pk, "created_at", k->created_at) < 0)
                return -ENOMEM;
        return 0;
}

/* Records a key's change; view is key_pack()'s. */
static int key_change(Store *s, MDB_txn *txn, const StorePeer *peer, StoreOp op, uint64_t rev, uint64_t now,
                      const char *key_id, const StoredKey *k, const Buf *view) {
        return record_change(s, txn, NULL, peer, &(StoreChange) {
                .revision = rev, .time_ms = now, .op = op, .kind = STORE_KIND_KEY,
                .org = k->has_org ? k->org : 0, .id = key_id,
                .before = op == STORE_OP_DELETE ? buf_head(view) : NULL,
                .before_len = op == STORE_OP_DELETE ? buf_pending(view) : 0,
                .after = op == STORE_OP_CREATE ? buf_head(view) : NULL,
                .after_len = op == STORE_OP_CREATE ? buf_pending(view) : 0,
        });
}

/* ---- key.add ---- */

typedef struct KeyAddArgs {
        char *user_role;
        OptU64 org;
        char *provider;
} KeyAddArgs;

static int key_add_check(void *args, RpcErr *err) {
        KeyAddArgs *a = args;

        if (!auth_user_role_valid(a->user_role))
                return rpc_failf(err, -EINVAL, "user_role",
                                 "user_role must be PROVIDER, ORG_ADMIN, ORG_MANAGER, GROUP_MANAGER, BUSINESS_MANAGER or PUBLISHER, not %s",
                                 a->user_role);
        if (strcmp(a->user_role, "PROVIDER") == 0) {
                if (!a->provider || check_text(a->provider, ORG_NAME_MAX, "provider", err) < 0)
                        return rpc_fail(err, -EINVAL, "provider", "a PROVIDER key needs a provider");
                if (a->org.set)
                        return rpc_fail(err, -EINVAL, "org", "a PROVIDER key has no organization of its own");
                return 0;
        }
        if (!a->org.set)
                return rpc_fail(err, -EINVAL, "org", "this user-role needs an organization");
        if (a->org.v == 0)
                return rpc_fail(err, -EINVAL, "org", "Partoo keys belong to organizations 1 and up");
        return 0;
}

static const ParamField key_add_table[] = {
        { "user_role", param_str,     offsetof(KeyAddArgs, user_role), true  },
        { "org",       param_opt_u64, offsetof(KeyAddArgs, org),       false },
        { "provider",  param_str,     offsetof(KeyAddArgs, provider),  false },
        {0}
};

const ArgsSpec key_add_args = { .table = key_add_table, .size = sizeof(KeyAddArgs), .local_only = true,
                                .check = key_add_check };

int key_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        KeyAddArgs *a = args;
        _cleanup_(stored_org_done) StoredOrg o = {0};
        _cleanup_(buf_done) Buf view = {0};
        _cleanup_free_ char *key = NULL;
        char key_id[AUTH_KEY_ID_LEN + 1];
        msgpack_packer pk;
        uint64_t rev;
        StoredKey k = {
                .user_role = a->user_role,
                .has_org = a->org.set,
                .org = a->org.v,
                .provider = a->provider,
                .created_at = wall_ms(),
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
        r = store_revision_next(s, txn, &rev);
        if (r >= 0)
                r = auth_key_new(s, txn, &k, &key);
        if (r < 0)
                return r;
        memcpy(key_id, key, AUTH_KEY_ID_LEN);
        key_id[AUTH_KEY_ID_LEN] = 0;
        msgpack_packer_init(&pk, &view, buf_pack_write);
        if (key_pack(&pk, key_id, &k) < 0 || view.oom)
                return -ENOMEM;
        r = key_change(s, txn, peer, STORE_OP_CREATE, rev, k.created_at, key_id, &k, &view);
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        msgpack_pack_map(&pk, 1);
        return mp_pack_kv_str(&pk, "api_key", key) < 0 ? -ENOMEM : 0;
}

/* ---- key.list ---- */

typedef struct KeyListArgs {
        OptU64 org;
        char *provider;
} KeyListArgs;

static void key_list_args_done(KeyListArgs *a) {
        free(a->provider);
}

typedef struct KeyListVisit {
        const KeyListArgs *filter;
        ListBuf list;
} KeyListVisit;

static int key_visit(const char *key_id, const StoredKey *k, void *userdata) {
        KeyListVisit *v = userdata;

        if (v->filter->org.set && (!k->has_org || k->org != v->filter->org.v))
                return 0;
        if (v->filter->provider && (!k->provider || strcmp(k->provider, v->filter->provider) != 0))
                return 0;
        v->list.n++;
        return key_pack(&v->list.pk, key_id, k);
}

int key_list_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                  RpcErr *err) {
        static const ParamField table[] = {
                { "org",      param_opt_u64, offsetof(KeyListArgs, org),      false },
                { "provider", param_str,     offsetof(KeyListArgs, provider), false },
                {0}
        };
        _cleanup_(key_list_args_done) KeyListArgs a = {0};
        KeyListVisit v = { .filter = &a };
        int r;

        r = refuse_auth(params, err);
        if (r >= 0)
                r = params_parse(params, table, &a, NULL, &err->field);
        if (r < 0)
                return r;
        list_begin(&v.list);
        r = store_key_list(ctx->store, txn, key_visit, &v);
        if (r < 0) {
                list_done(&v.list);
                return r;
        }
        msgpack_pack_map(pk, 1);
        mp_pack_str(pk, "keys");
        return list_end(&v.list, pk);
}

/* ---- key.revoke ---- */

typedef struct KeyRevokeArgs {
        char *key_id;
} KeyRevokeArgs;

static const ParamField key_revoke_table[] = {
        { "key_id", param_str, offsetof(KeyRevokeArgs, key_id), true },
        {0}
};

const ArgsSpec key_revoke_args = { .table = key_revoke_table, .size = sizeof(KeyRevokeArgs), .local_only = true };

int key_revoke_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        KeyRevokeArgs *a = args;
        _cleanup_(stored_key_done) StoredKey k = {0};
        _cleanup_(buf_done) Buf view = {0};
        msgpack_packer pk;
        uint64_t rev;
        int r;

        r = store_key_get(s, txn, a->key_id, &k);
        if (r == -ENOENT)
                return rpc_failf(err, r, "key_id", "no such key: %s", a->key_id);
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, &view, buf_pack_write);
        if (key_pack(&pk, a->key_id, &k) < 0 || view.oom)
                return -ENOMEM;
        r = store_revision_next(s, txn, &rev);
        if (r >= 0)
                r = store_key_delete(s, txn, a->key_id);
        if (r >= 0)
                r = key_change(s, txn, peer, STORE_OP_DELETE, rev, wall_ms(), a->key_id, &k, &view);
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        msgpack_pack_map(&pk, 1);
        return mp_pack_kv_str(&pk, "key_id", a->key_id) < 0 ? -ENOMEM : 0;
}
