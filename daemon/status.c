/* status.c: server.status: the database's counts, revision and change
 * log (compacted_revision, records), read in the call's transaction, and
 * the daemon's own figures (connections, watches, uptime, commits), a
 * snapshot the manager gives through HandlerCtx.stats. */
#include <errno.h>

#include "handlers.h"
#include "proto/wire.h"

int server_status_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                       RpcErr *err) {
        static const ParamField table[] = { {0} };
        ServerStats st = {0};
        uint64_t orgs, roles, revision, compacted, changes;
        int r;

        r = params_parse(params, table, NULL, NULL, &err->field);
        if (r < 0)
                return r;
        r = store_stats(ctx->store, txn, &orgs, &roles);
        if (r >= 0)
                r = store_changes_horizon(ctx->store, txn, &compacted, &revision);
        if (r >= 0)
                r = store_changes_bounds(ctx->store, txn, NULL, NULL, &changes);
        if (r < 0)
                return r;
        if (ctx->stats)
                ctx->stats(ctx->stats_userdata, &st);

        msgpack_pack_map(pk, 14);
        mp_pack_kv_str(pk, "version", ROLESD_VERSION);
        mp_pack_kv_u64(pk, "organizations", orgs);
        mp_pack_kv_u64(pk, "roles", roles);
        mp_pack_kv_u64(pk, "revision", revision);
        mp_pack_kv_u64(pk, "compacted_revision", compacted);
        mp_pack_kv_u64(pk, "changes", changes);
        mp_pack_kv_u64(pk, "changes_retain", st.changes_retain);
        mp_pack_kv_u64(pk, "watches", st.watches);
        mp_pack_kv_u64(pk, "connections", st.connections);
        mp_pack_kv_u64(pk, "map_size", store_mapsize(ctx->store));
        mp_pack_kv_u64(pk, "uptime_ms", st.uptime_usec / 1000u);
        mp_pack_kv_u64(pk, "write_batches", st.write_batches);
        mp_pack_kv_u64(pk, "write_commit_us", st.write_commit_usec);
        return mp_pack_kv_u64(pk, "writes", st.writes) < 0 ? -ENOMEM : 0;
}
