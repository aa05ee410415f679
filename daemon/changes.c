/* changes.c: the change feed's methods, and the database's copies.
 * changes.list pages the log by revision, whole or one organization's,
 * O(page); changes.watch checks where a watch starts (not in the future,
 * not before the log's horizon) and hands it to the caller's session,
 * which sends the history and then the live changes; changes.unwatch ends
 * it. db.export pages the whole database (or one organization) as records
 * for JSON Lines, by a cursor over a canonical order. db.backup writes a consistent, compacted copy of the database to
 * the descriptor the caller sent with the request (SCM_RIGHTS: the
 * daemon's sandbox cannot open the caller's file itself); it runs aside
 * (writer.h), on a thread of its own outside any transaction, so the loop
 * and the writer go on while it copies. All are for local peers (the log
 * names every principal of every organization), except role.sync: the
 * roles of one organization changed after a time and the tombstones of
 * those deleted after it, for Rocket.Chat's roles.sync, read as role.list
 * is (any principal that may read the organization's roles). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "handlers.h"
#include "limits.h"
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

/* ---- role.sync ---- */

typedef struct SyncArgs {
        Auth auth;
        OptU64 org;
        OptU64 since;
} SyncArgs;

static void sync_args_done(SyncArgs *a) {
        auth_done(&a->auth);
}

typedef struct Sync {
        Store *store;
        MDB_txn *txn;
        uint64_t org, since;
        bool from_log;                  /* the log holds every change after since */
        ListBuf update, remove;
} Sync;

/* A role record of the log: a delete is a tombstone; a create or update
 * is the role's last change when the role is still there at that
 * revision (its own revision), and then the role goes in as it is now. */
static int sync_visit(uint64_t revision, const void *record, size_t len, void *userdata) {
        Sync *y = userdata;
        msgpack_unpacked u;
        const msgpack_object *id, *op, *before, *name;
        uint64_t time = 0;
        int r = 0;

        msgpack_unpacked_init(&u);
        if (mp_unpack_whole(record, len, &u) < 0) {
                msgpack_unpacked_destroy(&u);
                return -EUCLEAN;
        }
        id = mp_map_get(&u.data, "id");
        op = mp_map_get(&u.data, "op");
        if (!mp_str_eq(mp_map_get(&u.data, "kind"), "role") || !id || id->type != MSGPACK_OBJECT_STR)
                goto done;
        if (mp_str_eq(op, "delete")) {
                before = mp_map_get(&u.data, "before");
                name = mp_map_get(before, "name");
                (void) mp_read_u64(mp_map_get(&u.data, "time"), &time);
                y->remove.n++;
                if (msgpack_pack_map(&y->remove.pk, 3) < 0 || mp_pack_str(&y->remove.pk, "id") < 0 ||
                    mp_pack_strn(&y->remove.pk, id->via.str.ptr, id->via.str.size) < 0 ||
                    mp_pack_str(&y->remove.pk, "name") < 0 ||
                    (name && name->type == MSGPACK_OBJECT_STR ?
                     mp_pack_strn(&y->remove.pk, name->via.str.ptr, name->via.str.size) :
                     msgpack_pack_nil(&y->remove.pk)) < 0 ||
                    mp_pack_kv_u64(&y->remove.pk, "deleted_at", time) < 0)
                        r = -ENOMEM;
        } else if (y->from_log) {
                _cleanup_free_ char *rid = strndup(id->via.str.ptr, id->via.str.size);
                const void *blob;
                size_t n;
                Role role = {0};

                if (!rid) {
                        r = -ENOMEM;
                        goto done;
                }
                r = store_role_get(y->store, y->txn, y->org, "id", rid, &blob, &n);
                if (r == -ENOENT) {
                        r = 0;          /* deleted since: its tombstone follows */
                        goto done;
                }
                if (r >= 0)
                        r = role_decode(blob, n, &role) < 0 ? -EUCLEAN : 0;
                if (r >= 0 && role.revision == revision) {
                        y->update.n++;
                        r = mp_pack_raw(&y->update.pk, blob, n) < 0 ? -ENOMEM : 0;
                }
                role_done(&role);
        }
done:
        msgpack_unpacked_destroy(&u);
        return r;
}

/* Before the log's horizon: every role of the organization updated after since. */
static int sync_scan_visit(const void *blob, size_t len, void *userdata) {
        Sync *y = userdata;
        Role role = {0};
        int r = role_decode(blob, len, &role) < 0 ? -EUCLEAN : 0;

        if (r >= 0 && role.updated_at > y->since) {
                y->update.n++;
                r = mp_pack_raw(&y->update.pk, blob, len) < 0 ? -ENOMEM : 0;
        }
        role_done(&role);
        return r;
}

int role_sync_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                   RpcErr *err) {
        static const ParamField table[] = {
                { "auth",  param_auth,    offsetof(SyncArgs, auth),  false },
                { "org",   param_opt_u64, offsetof(SyncArgs, org),   false },
                { "since", param_opt_u64, offsetof(SyncArgs, since), true },
                {0}
        };
        _cleanup_(sync_args_done) SyncArgs a = {0};
        Sync y = { .store = ctx->store, .txn = txn };
        uint64_t first, count, from, last_seq;
        bool more;
        int r;

        r = params_parse(params, table, &a, NULL, &err->field);
        if (r == -EINVAL && err->field && strcmp(err->field, "since") == 0)
                return rpc_fail(err, r, "since", "since must be a time: milliseconds since the epoch");
        if (r < 0)
                return r;
        r = auth_check(ctx->store, txn, &a.auth, a.org, ACCESS_READ, &y.org, &err->field);
        if (r < 0)
                return r;
        y.since = a.since.v;
        r = store_changes_bounds(ctx->store, txn, &first, NULL, &count);
        if (r >= 0)
                r = store_changes_after_time(ctx->store, txn, y.since, &from);
        if (r < 0)
                return r;
        /* The log tells every change after since when its oldest record is
         * not after since (what the database held before its first record,
         * its seeds included, is older still). */
        y.from_log = count > 0 && from > first;

        list_begin(&y.update);
        list_begin(&y.remove);
        if (count > 0)
                r = store_changes_list(ctx->store, txn, (y.from_log ? from : first) - 1, &y.org, SIZE_MAX,
                                       sync_visit, &y, NULL);
        if (r >= 0 && !y.from_log)
                r = store_role_list(ctx->store, txn, y.org, 0, 0, SIZE_MAX, sync_scan_visit, &y, &last_seq, &more);
        if (r < 0 || msgpack_pack_map(pk, 2) < 0 || mp_pack_str(pk, "update") < 0) {
                list_done(&y.update);
                list_done(&y.remove);
                return r < 0 ? r : -ENOMEM;
        }
        r = list_end(&y.update, pk);
        if (r < 0 || mp_pack_str(pk, "remove") < 0) {
                list_done(&y.remove);
                return r < 0 ? r : -ENOMEM;
        }
        return list_end(&y.remove, pk);
}

/* ---- db.export ----
 * Every organization by id, and in each: its record, its roles by
 * creation order, its users by username, its memberships by role then
 * username. The cursor names where the next page starts:
 * "ORG:PHASE:SEQ:USERNAME_HEX", PHASE o (the org's record), r (roles after
 * SEQ), u (users after USERNAME), m (members of the roles from SEQ on,
 * after USERNAME in the first). */

typedef struct ExportArgs {
        char *after;
        OptU64 limit;
        OptU64 org;
} ExportArgs;

static void export_args_done(ExportArgs *a) {
        free(a->after);
}

typedef struct Export {
        Store *store;
        MDB_txn *txn;
        ListBuf l;
        uint64_t org;
        char phase;
        uint64_t seq;
        char user[USERNAME_MAX + 1];
        Role role;                      /* 'm': the role whose members are listed */
} Export;

static int export_cursor_parse(const char *s, Export *x) {
        unsigned long long org, seq;
        char phase;
        int n = 0;
        size_t hex;

        if (sscanf(s, "%llu:%c:%llu:%n", &org, &phase, &seq, &n) != 3 || n == 0 || !strchr("orum", phase))
                return -EINVAL;
        s += n;
        hex = strlen(s);
        if (hex % 2 || hex / 2 > USERNAME_MAX)
                return -EINVAL;
        for (size_t i = 0; i < hex / 2; i++) {
                unsigned b;
                if (sscanf(s + 2 * i, "%2x", &b) != 1 || !b)
                        return -EINVAL;
                x->user[i] = (char) b;
        }
        x->user[hex / 2] = 0;
        x->org = org;
        x->phase = phase;
        x->seq = seq;
        return 0;
}

static int export_cursor_pack(msgpack_packer *pk, const Export *x) {
        char s[64 + 2 * USERNAME_MAX];
        int n = snprintf(s, sizeof s, "%" PRIu64 ":%c:%" PRIu64 ":", x->org, x->phase, x->seq);

        for (const char *p = x->user; *p && (size_t) n + 3 < sizeof s; p++)
                n += snprintf(s + n, sizeof s - (size_t) n, "%02x", (unsigned char) *p);
        return mp_pack_kv_str(pk, "next", s) < 0 ? -ENOMEM : 0;
}

static int export_role(const void *blob, size_t len, void *userdata) {
        Export *x = userdata;

        x->l.n++;
        return mp_pack_map_extended(&x->l.pk, blob, len, 1) < 0 || mp_pack_kv_str(&x->l.pk, "type", "role") < 0 ?
               -ENOMEM : 0;
}

static int export_user(const char *user_id, const StoredUser *u, void *userdata) {
        Export *x = userdata;

        x->l.n++;
        snprintf(x->user, sizeof x->user, "%s", u->username);
        return msgpack_pack_map(&x->l.pk, 6) < 0 || mp_pack_kv_str(&x->l.pk, "type", "user") < 0 ||
               mp_pack_kv_str(&x->l.pk, "id", user_id) < 0 || mp_pack_kv_u64(&x->l.pk, "org", u->org) < 0 ||
               mp_pack_kv_str(&x->l.pk, "username", u->username) < 0 ||
               mp_pack_kv_str(&x->l.pk, "name", u->name) < 0 ||
               mp_pack_kv_u64(&x->l.pk, "created_at", u->created_at) < 0 ? -ENOMEM : 0;
}

static int export_member(const char *user_id, const char *username, void *userdata) {
        Export *x = userdata;

        x->l.n++;
        snprintf(x->user, sizeof x->user, "%s", username);
        return msgpack_pack_map(&x->l.pk, 6) < 0 || mp_pack_kv_str(&x->l.pk, "type", "member") < 0 ||
               mp_pack_kv_u64(&x->l.pk, "org", x->org) < 0 || mp_pack_kv_str(&x->l.pk, "role", x->role.id) < 0 ||
               mp_pack_kv_str(&x->l.pk, "api_id", x->role.api_id) < 0 ||
               mp_pack_kv_str(&x->l.pk, "user", username) < 0 ||
               mp_pack_kv_str(&x->l.pk, "user_id", user_id) < 0 ? -ENOMEM : 0;
}

typedef struct RoleLoad {
        Role *role;
        bool found;
} RoleLoad;

static int role_load(const void *blob, size_t len, void *userdata) {
        RoleLoad *l = userdata;

        if (role_decode(blob, len, l->role) < 0)
                return -EUCLEAN;
        l->found = true;
        return 0;
}

/* The first role of x->org with a sequence number >= x->seq, into x->role
 * (x->seq becomes its); 0 when there is none. */
static int export_next_role(Export *x, bool *ret_found) {
        RoleLoad load = { .role = &x->role };
        uint64_t last = 0;
        bool more;
        int r;

        role_done(&x->role);
        r = store_role_list(x->store, x->txn, x->org, 0, x->seq > 0 ? x->seq - 1 : 0, 1, role_load, &load, &last,
                            &more);
        *ret_found = r >= 0 && load.found;
        if (*ret_found)
                x->seq = last;
        return r;
}

/* One step of the export: appends records of the current phase, up to
 * room; moves on to the next phase (or organization: 0 when there is
 * none) when this one is done. Returns 1 while more may follow. */
static int export_step(Export *x, size_t room, const uint64_t *only_org) {
        StoredOrg o = {0};
        bool more = false, found;
        uint64_t last = 0;
        int r;

        switch (x->phase) {
        case 'o':
                r = store_org_get(x->store, x->txn, x->org, &o);
                if (r >= 0) {
                        x->l.n++;
                        r = msgpack_pack_map(&x->l.pk, 4) < 0 || mp_pack_kv_str(&x->l.pk, "type", "org") < 0 ||
                            mp_pack_kv_u64(&x->l.pk, "id", o.id) < 0 || mp_pack_kv_str(&x->l.pk, "name", o.name) < 0 ||
                            mp_pack_kv_str(&x->l.pk, "provider", o.provider) < 0 ? -ENOMEM : 0;
                }
                stored_org_done(&o);
                x->phase = 'r';
                x->seq = 0;
                return r < 0 ? r : 1;
        case 'r':
                r = store_role_list(x->store, x->txn, x->org, 0, x->seq, room, export_role, x, &last, &more);
                if (r < 0)
                        return r;
                if (last > 0)
                        x->seq = last;
                if (!more) {
                        x->phase = 'u';
                        x->user[0] = 0;
                }
                return 1;
        case 'u':
                r = store_user_list(x->store, x->txn, x->org, x->user[0] ? x->user : NULL, 0, room, export_user, x,
                                    &more);
                if (r < 0)
                        return r;
                if (!more) {
                        x->phase = 'm';
                        x->seq = 1;
                        x->user[0] = 0;
                }
                return 1;
        case 'm':
                r = export_next_role(x, &found);
                if (r < 0)
                        return r;
                if (found) {
                        r = store_member_list(x->store, x->txn, x->role.id, x->user[0] ? x->user : NULL, 0, room,
                                              export_member, x, &more);
                        if (r < 0)
                                return r;
                        if (!more) {
                                x->seq++;
                                x->user[0] = 0;
                        }
                        return 1;
                }
                if (only_org)
                        return 0;
                r = store_org_next(x->store, x->txn, x->org + 1, &o);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
                x->org = o.id;
                stored_org_done(&o);
                x->phase = 'o';
                return 1;
        }
        return -EINVAL;
}

int db_export_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                   RpcErr *err) {
        static const ParamField table[] = {
                { "after", param_str,     offsetof(ExportArgs, after), false },
                { "limit", param_opt_u64, offsetof(ExportArgs, limit), false },
                { "org",   param_opt_u64, offsetof(ExportArgs, org),   false },
                {0}
        };
        _cleanup_(export_args_done) ExportArgs a = {0};
        Export x = { .store = ctx->store, .txn = txn, .phase = 'o' };
        uint64_t limit = EXPORT_PAGE_DEFAULT, revision;
        StoredOrg o = {0};
        unsigned steps = 0;
        int r, more = 1;

        r = refuse_auth(params, err);
        if (r >= 0)
                r = params_parse(params, table, &a, NULL, &err->field);
        if (r < 0)
                return r;
        if (a.limit.set) {
                if (a.limit.v < 1 || a.limit.v > EXPORT_PAGE_MAX)
                        return rpc_failf(err, -EINVAL, "limit", "limit must be 1 to %u, not %" PRIu64,
                                         EXPORT_PAGE_MAX, a.limit.v);
                limit = a.limit.v;
        }
        if (a.after && (export_cursor_parse(a.after, &x) < 0 || (a.org.set && x.org != a.org.v)))
                return rpc_fail(err, -EINVAL, "after", "not a cursor returned by db.export");
        if (!a.after) {
                r = store_org_next(ctx->store, txn, a.org.set ? a.org.v : 0, &o);
                x.org = o.id;
                stored_org_done(&o);
                if (r == -ENOENT || (r >= 0 && a.org.set && x.org != a.org.v))
                        return rpc_failf(err, -ENOENT, "org", "no such organization: %" PRIu64, a.org.v);
                if (r < 0)
                        return r;
        } else if (store_org_get(ctx->store, txn, x.org, NULL) < 0)
                return rpc_fail(err, -EINVAL, "after", "not a cursor returned by db.export");
        r = store_revision(ctx->store, txn, &revision);
        if (r < 0)
                return r;

        list_begin(&x.l);
        /* A page is at most limit records, and at most a few times as many
         * steps (roles without members cost a step each, and no record). */
        while (more > 0 && x.l.n < limit && steps++ < EXPORT_STEPS_PER_RECORD * limit)
                more = export_step(&x, (size_t) (limit - x.l.n), a.org.set ? &a.org.v : NULL);
        role_done(&x.role);
        if (more < 0) {
                list_done(&x.l);
                return more;
        }
        if (msgpack_pack_map(pk, 2 + (more > 0)) < 0 || mp_pack_str(pk, "records") < 0) {
                list_done(&x.l);
                return -ENOMEM;
        }
        r = list_end(&x.l, pk);
        if (r >= 0 && more > 0)
                r = export_cursor_pack(pk, &x);
        if (r >= 0 && mp_pack_kv_u64(pk, "revision", revision) < 0)
                r = -ENOMEM;
        return r;
}

/* ---- db.import ----
 * A batch of db.export's records, made true in one write, all or nothing
 * (a transaction nested in the writer's batch: a record refused takes the
 * batch's other records with it, and nobody else's writes); dry_run
 * answers the same and drops the batch. */

typedef struct ImportArgs {
        const msgpack_object *records;  /* during the parse only */
        OptBool dry_run;
        Buf copy;                       /* the records, for the writer's thread */
        char field[64];                 /* a failure's field: records.INDEX[.FIELD] */
} ImportArgs;

static int param_array(const msgpack_object *o, void *dst) {
        if (o->type != MSGPACK_OBJECT_ARRAY)
                return -EINVAL;
        *(const msgpack_object **) dst = o;
        return 0;
}

static int db_import_check(void *args, RpcErr *err) {
        ImportArgs *a = args;
        const msgpack_object_array *l = &a->records->via.array;
        msgpack_packer pk;

        if (l->size < 1 || l->size > IMPORT_BATCH_MAX)
                return rpc_failf(err, -EINVAL, "records", "records must hold 1 to %u records", IMPORT_BATCH_MAX);
        for (uint32_t i = 0; i < l->size; i++)
                if (l->ptr[i].type != MSGPACK_OBJECT_MAP)
                        return rpc_failf(err, -EINVAL, "records", "record %" PRIu32 " is not a map", i);
        msgpack_packer_init(&pk, &a->copy, buf_pack_write);
        if (msgpack_pack_object(&pk, *a->records) < 0 || a->copy.oom)
                return -ENOMEM;
        a->records = NULL;      /* the frame's, gone after the parse */
        return 0;
}

static void db_import_done(void *args) {
        ImportArgs *a = args;

        buf_done(&a->copy);
}

static const ParamField db_import_table[] = {
        { "records", param_array,    offsetof(ImportArgs, records), true  },
        { "dry_run", param_opt_bool, offsetof(ImportArgs, dry_run), false },
        {0}
};

const ArgsSpec db_import_args = { .table = db_import_table, .size = sizeof(ImportArgs), .local_only = true,
                                  .check = db_import_check, .done = db_import_done };

static int import_record(Store *s, MDB_txn *txn, const msgpack_object *rec, const StorePeer *peer,
                         ImportOutcome *ret, RpcErr *err) {
        const msgpack_object *type = mp_map_get(rec, "type");

        if (mp_str_eq(type, "org"))
                return org_import(s, txn, rec, peer, ret, err);
        if (mp_str_eq(type, "role"))
                return role_import(s, txn, rec, peer, ret, err);
        if (mp_str_eq(type, "user"))
                return user_import(s, txn, rec, peer, ret, err);
        if (mp_str_eq(type, "member"))
                return member_import(s, txn, rec, peer, ret, err);
        return rpc_fail(err, -EINVAL, "type", "type must be org, role, user or member");
}

int db_import_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        static const char *const names[] = {
                [IMPORT_UNCHANGED] = "unchanged", [IMPORT_UPDATED] = "updated", [IMPORT_CREATED] = "created",
        };
        ImportArgs *a = args;
        msgpack_unpacked u;
        StoreNested n = {0};
        uint64_t counts[3] = {0};
        msgpack_packer pk;
        ListBuf l;
        int r;

        msgpack_unpacked_init(&u);
        r = mp_unpack_whole(buf_head(&a->copy), buf_pending(&a->copy), &u) < 0 ? -EINVAL : 0;
        if (r >= 0)
                r = store_nested_begin(s, txn, &n);
        if (r < 0) {
                msgpack_unpacked_destroy(&u);
                return r;
        }
        list_begin(&l);
        for (uint32_t i = 0; i < u.data.via.array.size; i++) {
                ImportOutcome outcome = IMPORT_UNCHANGED;
                RpcErr e = {0};
                const char *text;

                r = import_record(s, n.txn, &u.data.via.array.ptr[i], peer, &outcome, &e);
                if (r < 0) {
                        /* The record's index, and what it says, for the caller
                         * (rolesctl import: the line): records.INDEX[.FIELD]. */
                        text = rpc_err_text(&e);
                        rpc_failf(err, r, NULL, "record %" PRIu32 ": %s%s%s", i, e.field ? e.field : "",
                                  e.field ? ": " : "", text ? text : strerror(-r));
                        snprintf(a->field, sizeof a->field, "records.%" PRIu32 "%s%s", i, e.field ? "." : "",
                                 e.field ? e.field : "");
                        err->field = a->field;
                        break;
                }
                counts[outcome]++;
                l.n++;
                if (mp_pack_str(&l.pk, names[outcome]) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        msgpack_unpacked_destroy(&u);
        if (r < 0 || a->dry_run.v)
                store_nested_abort(s, &n);
        else
                r = store_nested_commit(s, &n);
        if (r < 0) {
                list_done(&l);
                return r;
        }
        msgpack_packer_init(&pk, result, buf_pack_write);
        if (msgpack_pack_map(&pk, 5) < 0 || mp_pack_str(&pk, "results") < 0) {
                list_done(&l);
                return -ENOMEM;
        }
        r = list_end(&l, &pk);
        if (r < 0 || mp_pack_kv_u64(&pk, "created", counts[IMPORT_CREATED]) < 0 ||
            mp_pack_kv_u64(&pk, "updated", counts[IMPORT_UPDATED]) < 0 ||
            mp_pack_kv_u64(&pk, "unchanged", counts[IMPORT_UNCHANGED]) < 0 ||
            mp_pack_kv_bool(&pk, "dry_run", a->dry_run.v) < 0)
                return r < 0 ? r : -ENOMEM;
        return 0;
}
