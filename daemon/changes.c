/* changes.c: the change feed's methods, and the database's copies.
 * changes.list pages the log by revision, whole or one organization's,
 * O(page); changes.watch checks where a watch starts (not in the future,
 * not before the log's horizon) and hands it to the caller's session,
 * which sends the history and then the live changes; changes.unwatch ends
 * it. db.backup writes a consistent, compacted copy of the database to
 * the descriptor the caller sent with the request (SCM_RIGHTS: the
 * daemon's sandbox cannot open the caller's file itself); it runs aside
 * (writer.h), on a thread of its own outside any transaction, so the loop
 * and the writer go on while it copies. All are for local peers (the log
 * names every principal of every organization). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "handlers.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/wire.h"

typedef struct FeedArgs {
        OptU64 after;
        OptU64 limit;
        OptU64 org;
} FeedArgs;

/* params_parse()'s failure, in words for the feed's fields. */
static int feed_params(const msgpack_object *params, const ParamField table[], void *args, RpcErr *err) {
        int r = refuse_auth(params, err);

        if (r >= 0)
                r = params_parse(params, table, args, NULL, &err->field);
        if (r == -EINVAL && err->field && strcmp(err->field, "after") == 0)
                return rpc_fail(err, r, "after", "after must be a revision: an integer, 0 or more");
        if (r == -EINVAL && err->field && strcmp(err->field, "org") == 0)
                return rpc_fail(err, r, "org", "org must be an organization id: an integer, 0 or more");
        if (r == -EINVAL && err->field && strcmp(err->field, "limit") == 0)
                return rpc_failf(err, r, "limit", "limit must be an integer, 1 to %u", CHANGES_LIST_LIMIT_MAX);
        return r;
}

/* The records after `after` can be read: not past the database's
 * revision, not before the log's horizon. */
static int check_after(Store *s, MDB_txn *txn, uint64_t after, uint64_t *ret_revision, RpcErr *err) {
        uint64_t compacted, revision;
        int r = store_changes_horizon(s, txn, &compacted, &revision);

        if (r < 0)
                return r;
        if (after > revision)
                return rpc_failf(err, -EINVAL, "after", "revision %" PRIu64 " is in the future: the database is at %" PRIu64,
                                 after, revision);
        if (after + 1 < compacted)
                return rpc_failf(err, -EIDRM, "after",
                                 "the change log starts at revision %" PRIu64 ": changes after %" PRIu64 " are compacted",
                                 compacted, after);
        *ret_revision = revision;
        return 0;
}

/* ---- changes.list ---- */

typedef struct ListPage {
        ListBuf l;
        uint64_t last;
} ListPage;

static int page_visit(uint64_t revision, const void *record, size_t len, void *userdata) {
        ListPage *p = userdata;

        p->l.n++;
        p->last = revision;
        return mp_pack_raw(&p->l.pk, record, len) < 0 ? -ENOMEM : 0;
}

int changes_list_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                      RpcErr *err) {
        static const ParamField table[] = {
                { "after", param_opt_u64, offsetof(FeedArgs, after), false },
                { "limit", param_opt_u64, offsetof(FeedArgs, limit), false },
                { "org",   param_opt_u64, offsetof(FeedArgs, org),   false },
                {0}
        };
        FeedArgs a = {0};
        ListPage p = { .last = 0 };
        uint64_t limit = CHANGES_LIST_LIMIT_DEFAULT, revision;
        bool more;
        int r;

        r = feed_params(params, table, &a, err);
        if (r < 0)
                return r;
        if (a.limit.set) {
                if (a.limit.v < 1 || a.limit.v > CHANGES_LIST_LIMIT_MAX)
                        return rpc_failf(err, -EINVAL, "limit", "limit must be 1 to %u, not %" PRIu64,
                                         CHANGES_LIST_LIMIT_MAX, a.limit.v);
                limit = a.limit.v;
        }
        r = check_after(ctx->store, txn, a.after.v, &revision, err);
        if (r < 0)
                return r;

        list_begin(&p.l);
        r = store_changes_list(ctx->store, txn, a.after.v, a.org.set ? &a.org.v : NULL, (size_t) limit, page_visit,
                               &p, &more);
        if (r < 0) {
                list_done(&p.l);
                return r;
        }
        if (msgpack_pack_map(pk, 3) < 0 || mp_pack_str(pk, "changes") < 0) {
                list_done(&p.l);
                return -ENOMEM;
        }
        r = list_end(&p.l, pk);
        if (r < 0)
                return r;
        /* A full page continues after its last record; a short one saw
         * everything up to the snapshot's revision. */
        if (mp_pack_kv_u64(pk, "next_after", more ? p.last : revision) < 0 ||
            mp_pack_kv_u64(pk, "revision", revision) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- changes.watch, changes.unwatch ---- */

int changes_watch_session(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                          RpcErr *err, const Session *session, uint32_t msgid) {
        static const ParamField table[] = {
                { "after", param_opt_u64, offsetof(FeedArgs, after), false },
                { "org",   param_opt_u64, offsetof(FeedArgs, org),   false },
                {0}
        };
        FeedArgs a = {0};
        uint64_t revision, watching;
        int r;

        r = feed_params(params, table, &a, err);
        if (r < 0)
                return r;
        r = check_after(ctx->store, txn, a.after.v, &revision, err);
        if (r < 0)
                return r;
        if (!session || !session->watch)
                return rpc_fail(err, -EOPNOTSUPP, NULL, "this caller cannot receive notifications");
        r = session->watch(session->userdata, msgid, a.after.v, a.org.set ? &a.org.v : NULL, &watching);
        if (r == -EBUSY)
                return rpc_failf(err, -EUSERS, NULL,
                                 "this connection watches already (msgid %" PRIu64 "): one watch per connection",
                                 watching);
        if (r < 0)
                return r;
        return msgpack_pack_map(pk, 1) < 0 || mp_pack_kv_u64(pk, "revision", revision) < 0 ? -ENOMEM : 0;
}

typedef struct UnwatchArgs {
        OptU64 watch;
} UnwatchArgs;

int changes_unwatch_session(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                            RpcErr *err, const Session *session, uint32_t msgid) {
        static const ParamField table[] = {
                { "watch", param_opt_u64, offsetof(UnwatchArgs, watch), true },
                {0}
        };
        UnwatchArgs a = {0};
        uint64_t last;
        int r;

        r = refuse_auth(params, err);
        if (r >= 0)
                r = params_parse(params, table, &a, NULL, &err->field);
        if (r == -EINVAL && err->field && strcmp(err->field, "watch") == 0)
                return rpc_fail(err, r, "watch", "watch must be the msgid of this connection's changes.watch");
        if (r < 0)
                return r;
        r = -ENOENT;
        if (session && session->unwatch && a.watch.v <= UINT32_MAX)
                r = session->unwatch(session->userdata, (uint32_t) a.watch.v, &last);
        if (r == -ENOENT)
                return rpc_failf(err, r, "watch", "this connection has no watch %" PRIu64, a.watch.v);
        if (r < 0)
                return r;
        if (msgpack_pack_map(pk, 2) < 0 || mp_pack_kv_u64(pk, "watch", a.watch.v) < 0 ||
            mp_pack_kv_u64(pk, "revision", last) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- db.backup ---- */

typedef struct BackupArgs {
        int fd;                         /* the descriptor sent with the request */
} BackupArgs;

static const ParamField db_backup_table[] = { {0} };

const ArgsSpec db_backup_args = {
        .table = db_backup_table,
        .size = sizeof(BackupArgs),
        .local_only = true,
        .takes_fd = true,
        .fd_offset = offsetof(BackupArgs, fd),
};

int db_backup_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        BackupArgs *a = args;
        uint64_t revision, bytes;
        msgpack_packer pk;
        struct stat st;
        int flags, r;

        flags = fcntl(a->fd, F_GETFL);
        if (fstat(a->fd, &st) < 0 || flags < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || (flags & O_ACCMODE) == O_RDONLY)
                return rpc_fail(err, -EINVAL, NULL, "the descriptor must be a regular file open for writing");
        r = store_backup(s, a->fd, &revision, &bytes);
        if (r == -ENOSPC || r == -EIO || r == -EDQUOT || r == -EFBIG)
                return rpc_failf(err, r, NULL, "cannot write the copy: %s", strerror(-r));
        if (r < 0)
                return r;
        msgpack_packer_init(&pk, result, buf_pack_write);
        if (msgpack_pack_map(&pk, 2) < 0 || mp_pack_kv_u64(&pk, "revision", revision) < 0 ||
            mp_pack_kv_u64(&pk, "bytes", bytes) < 0)
                return -ENOMEM;
        return 0;
}
