/* org.c: organizations: org.add (provisioning, with the Partoo catalog
 * and built-in roles) and org.list. Both are for local peers only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "seed.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/wire.h"
#include "proto/wire-role.h"

/* ---- org.add ---- */

typedef struct OrgAddArgs {
        OptU64 id;
        char *name;
        char *provider;
} OrgAddArgs;

static int org_add_check(void *args, RpcErr *err) {
        OrgAddArgs *a = args;
        int r = 0;

        if (a->id.v == 0)
                r = rpc_fail(err, -EINVAL, "id", "organization 0 is the Rocket.Chat workspace; ids start at 1");
        if (r >= 0 && a->name)
                r = check_text(a->name, ORG_NAME_MAX, "name", err);
        if (r >= 0 && a->provider)
                r = check_text(a->provider, ORG_NAME_MAX, "provider", err);
        return r;
}

static const ParamField org_add_table[] = {
        { "id",       param_opt_u64, offsetof(OrgAddArgs, id),       true  },
        { "name",     param_str,     offsetof(OrgAddArgs, name),     false },
        { "provider", param_str,     offsetof(OrgAddArgs, provider), false },
        {0}
};

const ArgsSpec org_add_args = { .table = org_add_table, .size = sizeof(OrgAddArgs), .local_only = true,
                                .check = org_add_check };

int org_add_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        OrgAddArgs *a = args;
        Org org = { .id = a->id.v, .name = a->name, .provider = a->provider };
        uint64_t now = wall_ms(), rev;
        msgpack_packer pk;
        char id[24];
        int r;

        r = store_revision_next(s, txn, &rev);
        if (r < 0)
                return r;
        r = seed_org(s, txn, &(StoredOrg) { .id = a->id.v, .name = a->name, .provider = a->provider }, now, rev);
        if (r == -EEXIST)
                return rpc_failf(err, r, "id", "organization %" PRIu64 " already exists", a->id.v);
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        if (org_pack(&pk, &org) < 0 || result->oom)
                return -ENOMEM;
        snprintf(id, sizeof id, "%" PRIu64, org.id);
        return record_change(s, txn, NULL, peer, &(StoreChange) {
                .revision = rev, .time_ms = now, .op = STORE_OP_CREATE, .kind = STORE_KIND_ORG,
                .org = org.id, .id = id, .after = buf_head(result), .after_len = buf_pending(result),
        });
}

/* ---- db.import's organizations ---- */

typedef struct OrgImport {
        char *type;
        OrgAddArgs a;
} OrgImport;

static void org_import_done(OrgImport *x) {
        free(x->type);
        free(x->a.name);
        free(x->a.provider);
}

int org_import(Store *s, MDB_txn *txn, const msgpack_object *rec, const StorePeer *peer, ImportOutcome *ret,
               RpcErr *err) {
        static const ParamField table[] = {
                { "type",     param_str,        offsetof(OrgImport, type),       true  },
                { "id",       param_opt_u64,    offsetof(OrgImport, a.id),       true  },
                { "name",     param_str_or_nil, offsetof(OrgImport, a.name),     false },
                { "provider", param_str_or_nil, offsetof(OrgImport, a.provider), false },
                {0}
        };
        _cleanup_(org_import_done) OrgImport x = {0};
        _cleanup_(buf_done) Buf result = {0};
        StoredOrg old = {0};
        bool same;
        int r;

        r = params_parse(rec, table, &x, NULL, &err->field);
        if (r < 0)
                return r;
        r = store_org_get(s, txn, x.a.id.v, &old);
        if (r >= 0) {
                same = streq_null(old.name, x.a.name) && streq_null(old.provider, x.a.provider);
                stored_org_done(&old);
                if (!same)
                        return rpc_failf(err, -EINVAL, "id", "organization %" PRIu64 " exists with another name or "
                                         "provider, and organizations cannot be changed", x.a.id.v);
                *ret = IMPORT_UNCHANGED;
                return 0;
        }
        if (r != -ENOENT)
                return r;
        r = org_add_check(&x.a, err);
        if (r >= 0)
                r = org_add_apply(s, txn, &x.a, peer, &result, err);
        if (r >= 0)
                *ret = IMPORT_CREATED;
        return r;
}

/* ---- org.list ---- */

typedef struct OrgListArgs {
        Paging paging;
} OrgListArgs;

static void org_list_args_done(OrgListArgs *a) {
        paging_done(&a->paging);
}

static int org_visit(const StoredOrg *o, uint64_t roles, void *userdata) {
        ListBuf *l = userdata;

        l->n++;
        if (msgpack_pack_map(&l->pk, 4) < 0 ||
            mp_pack_kv_u64(&l->pk, "id", o->id) < 0 ||
            mp_pack_kv_str(&l->pk, "name", o->name) < 0 ||
            mp_pack_kv_str(&l->pk, "provider", o->provider) < 0 ||
            mp_pack_kv_u64(&l->pk, "roles", roles) < 0)
                return -ENOMEM;
        return 0;
}

int org_list_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                  RpcErr *err) {
        static const ParamField table[] = {
                PAGING_FIELDS(OrgListArgs, paging),
                {0}
        };
        _cleanup_(org_list_args_done) OrgListArgs a = {0};
        uint64_t offset, total;
        size_t count;
        ListBuf l;
        int r;

        r = list_params_parse(params, table, &a, &a.paging, true, &offset, &count, err);
        if (r < 0)
                return r;
        list_begin(&l);
        r = store_org_list(ctx->store, txn, offset, count, org_visit, &l, &total);
        if (r < 0) {
                list_done(&l);
                return r;
        }
        return pack_page(pk, "orgs", &l, total, NULL);
}
