/* store-changes.c: the change log. store_change() appends one record per
 * change, in the transaction of the change: changes (revision -> the
 * record) and changes_org (org | revision -> nothing), so that the log
 * pages in O(page) whole or by organization. A record is a MessagePack map
 * {revision, time, op, kind, org, id, before?, after?, principal}, its
 * keys in that order (trim reads org without decoding the rest); time
 * never goes backwards. Reading pages, the log's bounds, the first
 * revision after a time (times grow with revisions: a binary search),
 * trimming the oldest records, and decoding a record for the journal are
 * here too. See store.h. */
#include <errno.h>
#include <string.h>

#include "store-internal.h"

static const char *const op_names[] = {
        [STORE_OP_CREATE] = "create",
        [STORE_OP_UPDATE] = "update",
        [STORE_OP_DELETE] = "delete",
        [STORE_OP_ADD] = "add",
        [STORE_OP_REMOVE] = "remove",
};

static const char *const kind_names[] = {
        [STORE_KIND_ROLE] = "role",
        [STORE_KIND_MEMBER] = "member",
        [STORE_KIND_ORG] = "org",
        [STORE_KIND_KEY] = "key",
        [STORE_KIND_USER] = "user",
};

const char *store_op_name(StoreOp op) {
        return (unsigned) op < ELEMENTSOF(op_names) ? op_names[op] : "unknown";
}

const char *store_kind_name(StoreKind kind) {
        return (unsigned) kind < ELEMENTSOF(kind_names) ? kind_names[kind] : "unknown";
}

static int pack_principal(msgpack_packer *pk, const StorePrincipal *p) {
        switch (p->kind) {
        case STORE_PRINCIPAL_API_KEY:
                return msgpack_pack_map(pk, 3) < 0 || mp_pack_kv_str(pk, "kind", "api_key") < 0 ||
                       mp_pack_kv_str(pk, "key_id", p->key_id) < 0 ||
                       mp_pack_kv_str(pk, "user_role", p->user_role) < 0 ? -ENOMEM : 0;
        case STORE_PRINCIPAL_USER:
                return msgpack_pack_map(pk, 2) < 0 || mp_pack_kv_str(pk, "kind", "user") < 0 ||
                       mp_pack_kv_str(pk, "user_id", p->user_id) < 0 ? -ENOMEM : 0;
        case STORE_PRINCIPAL_PEER:
        default:
                return msgpack_pack_map(pk, 4) < 0 || mp_pack_kv_str(pk, "kind", "peer") < 0 ||
                       mp_pack_kv_u64(pk, "uid", p->peer.uid) < 0 || mp_pack_kv_u64(pk, "gid", p->peer.gid) < 0 ||
                       mp_pack_kv_u64(pk, "pid", (uint64_t) p->peer.pid) < 0 ? -ENOMEM : 0;
        }
}

static MDB_val org_key(uint8_t buf[static 16], uint64_t org, uint64_t revision) {
        return key_seq(buf, org, revision);
}

int change_log_append(Store *s, MDB_txn *txn, const StoreChange *c) {
        msgpack_sbuffer *b = &s->change_buf;
        msgpack_packer pk;
        uint8_t kb[8], ob[16];
        MDB_val k = key_u64(kb, c->revision), ok = org_key(ob, c->org, c->revision);
        uint64_t time = c->time_ms > s->change_time_ms ? c->time_ms : s->change_time_ms;
        int r;

        b->size = 0;
        msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
        if (msgpack_pack_map(&pk, 7 + !!c->before + !!c->after) < 0 ||
            mp_pack_kv_u64(&pk, "revision", c->revision) < 0 ||
            mp_pack_kv_u64(&pk, "time", time) < 0 ||
            mp_pack_kv_str(&pk, "op", store_op_name(c->op)) < 0 ||
            mp_pack_kv_str(&pk, "kind", store_kind_name(c->kind)) < 0 ||
            mp_pack_kv_u64(&pk, "org", c->org) < 0 ||
            mp_pack_kv_str(&pk, "id", c->id) < 0 ||
            (c->before && (mp_pack_str(&pk, "before") < 0 || mp_pack_raw(&pk, c->before, c->before_len) < 0)) ||
            (c->after && (mp_pack_str(&pk, "after") < 0 || mp_pack_raw(&pk, c->after, c->after_len) < 0)) ||
            mp_pack_str(&pk, "principal") < 0 || pack_principal(&pk, c->principal) < 0)
                return -ENOMEM;

        /* Revisions only grow: appending is the cheap put, and refuses a
         * revision at or below the last one (MDB_KEYEXIST). */
        r = store_put(s, txn, s->changes, &k, b->data, b->size, MDB_APPEND);
        if (r >= 0)
                r = store_put(s, txn, s->changes_org, &ok, "", 0, 0);
        if (r < 0)
                return r;
        s->change_time_ms = time;
        return 0;
}

/* The org of a record, read from the front of the map without decoding
 * the rest (change_log_append writes revision, time, op, kind, org first).
 * -EUCLEAN when the bytes are not shaped so. */
typedef struct Reader {
        const uint8_t *p, *end;
} Reader;

static int read_uint(Reader *r, uint64_t *ret) {
        unsigned n;
        uint8_t t;

        if (r->p >= r->end)
                return -EUCLEAN;
        t = *r->p++;
        if (t < 0x80) {
                *ret = t;
                return 0;
        }
        n = t == 0xcc ? 1 : t == 0xcd ? 2 : t == 0xce ? 4 : t == 0xcf ? 8 : 0;
        if (n == 0 || (size_t) (r->end - r->p) < n)
                return -EUCLEAN;
        *ret = 0;
        for (unsigned i = 0; i < n; i++)
                *ret = (*ret << 8) | *r->p++;
        return 0;
}

/* A short string (fixstr or str8), its bytes in *ret and *ret_n. */
static int read_str(Reader *r, const char **ret, size_t *ret_n) {
        size_t n;
        uint8_t t;

        if (r->p >= r->end)
                return -EUCLEAN;
        t = *r->p++;
        if ((t & 0xe0) == 0xa0)
                n = t & 0x1f;
        else if (t == 0xd9 && r->p < r->end)
                n = *r->p++;
        else
                return -EUCLEAN;
        if ((size_t) (r->end - r->p) < n)
                return -EUCLEAN;
        *ret = (const char *) r->p;
        *ret_n = n;
        r->p += n;
        return 0;
}

static int expect_key(Reader *r, const char *key) {
        const char *k;
        size_t n;
        int q = read_str(r, &k, &n);

        if (q < 0 || n != strlen(key) || memcmp(k, key, n) != 0)
                return -EUCLEAN;
        return 0;
}

static int record_org(const MDB_val *v, uint64_t *ret) {
        Reader r = { .p = v->mv_data, .end = (const uint8_t *) v->mv_data + v->mv_size };
        const char *s;
        size_t n;
        uint64_t u;

        if (r.p >= r.end || (*r.p & 0xf0) != 0x80)
                return -EUCLEAN;        /* a fixmap: at most 9 keys */
        r.p++;
        if (expect_key(&r, "revision") < 0 || read_uint(&r, &u) < 0 ||
            expect_key(&r, "time") < 0 || read_uint(&r, &u) < 0 ||
            expect_key(&r, "op") < 0 || read_str(&r, &s, &n) < 0 ||
            expect_key(&r, "kind") < 0 || read_str(&r, &s, &n) < 0 ||
            expect_key(&r, "org") < 0 || read_uint(&r, ret) < 0)
                return -EUCLEAN;
        return 0;
}

int store_changes_bounds(Store *s, MDB_txn *txn, uint64_t *ret_first, uint64_t *ret_last, uint64_t *ret_count) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        MDB_val k, v;
        MDB_stat st;
        uint64_t first = 0, last = 0;
        int r;

        r = store_errno(mdb_cursor_open(txn, s->changes, &c));
        if (r < 0)
                return r;
        r = store_errno(mdb_cursor_get(c, &k, &v, MDB_FIRST));
        if (r >= 0) {
                if (k.mv_size != 8)
                        return -EUCLEAN;
                first = be64_get(k.mv_data);
                r = store_errno(mdb_cursor_get(c, &k, &v, MDB_LAST));
                if (r >= 0 && k.mv_size != 8)
                        return -EUCLEAN;
                if (r >= 0)
                        last = be64_get(k.mv_data);
        }
        if (r < 0 && r != -ENOENT)
                return r;
        r = store_errno(mdb_stat(txn, s->changes, &st));
        if (r < 0)
                return r;
        if (ret_first)
                *ret_first = first;
        if (ret_last)
                *ret_last = last;
        if (ret_count)
                *ret_count = st.ms_entries;
        return 0;
}

int store_changes_horizon(Store *s, MDB_txn *txn, uint64_t *ret_compacted, uint64_t *ret_revision) {
        uint64_t first, count, revision;
        int r;

        r = store_changes_bounds(s, txn, &first, NULL, &count);
        if (r >= 0)
                r = store_revision(s, txn, &revision);
        if (r < 0)
                return r;
        /* An empty log (a new database, or one from before the log) keeps
         * nothing up to the database's revision. */
        *ret_compacted = count > 0 ? first : revision + 1;
        if (ret_revision)
                *ret_revision = revision;
        return 0;
}

int store_changes_list(Store *s, MDB_txn *txn, uint64_t after, const uint64_t *org, size_t limit,
                       StoreChangeVisit visit, void *userdata, bool *ret_more) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        uint8_t kb[16];
        MDB_val k, v, rk;
        size_t n = 0;
        int r, q;

        if (after == UINT64_MAX) {
                if (ret_more)
                        *ret_more = false;
                return 0;
        }
        r = store_errno(mdb_cursor_open(txn, org ? s->changes_org : s->changes, &c));
        if (r < 0)
                return r;
        k = org ? org_key(kb, *org, after + 1) : key_u64(kb, after + 1);
        for (r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); r == MDB_SUCCESS; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                uint64_t revision;

                if (org) {
                        if (k.mv_size != 16)
                                return -EUCLEAN;
                        if (be64_get(k.mv_data) != *org)
                                break;
                        revision = be64_get((const uint8_t *) k.mv_data + 8);
                        rk = key_u64(kb, revision);
                        q = store_get(txn, s->changes, &rk, &v);
                        if (q < 0)
                                return q == -ENOENT ? -EUCLEAN : q;    /* an index entry without its record */
                } else {
                        if (k.mv_size != 8)
                                return -EUCLEAN;
                        revision = be64_get(k.mv_data);
                }
                if (n == limit)
                        break;
                q = visit(revision, v.mv_data, v.mv_size, userdata);
                if (q < 0)
                        return q;
                if (q > 0)
                        break;
                n++;
        }
        if (r != MDB_SUCCESS && r != MDB_NOTFOUND)
                return store_errno(r);
        if (ret_more)
                *ret_more = r == MDB_SUCCESS;
        return 0;
}

int store_changes_trim(Store *s, MDB_txn *txn, uint64_t keep, size_t max, uint64_t upto, uint64_t *ret_trimmed) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        uint64_t count, trimmed = 0;
        uint8_t ob[16];
        MDB_val k, v, ok;
        MDB_stat st;
        int r;

        *ret_trimmed = 0;
        r = store_errno(mdb_stat(txn, s->changes, &st));
        if (r < 0)
                return r;
        count = st.ms_entries;
        if (count <= keep)
                return 0;
        r = store_errno(mdb_cursor_open(txn, s->changes, &c));
        if (r < 0)
                return r;
        while (count - trimmed > keep && trimmed < max) {
                uint64_t org;

                r = store_errno(mdb_cursor_get(c, &k, &v, MDB_FIRST));
                if (r < 0)
                        return r;
                if (k.mv_size != 8 || record_org(&v, &org) < 0)
                        return -EUCLEAN;
                if (be64_get(k.mv_data) > upto)
                        break;
                ok = org_key(ob, org, be64_get(k.mv_data));
                s->writes++;
                r = store_errno(mdb_cursor_del(c, 0));
                if (r >= 0)
                        r = store_del(s, txn, s->changes_org, &ok);
                if (r < 0)
                        return r == -ENOENT ? -EUCLEAN : r;
                trimmed++;
        }
        *ret_trimmed = trimmed;
        return 0;
}

/* The time of the record of revision rev (which must be in the log). */
static int time_of(Store *s, MDB_txn *txn, uint64_t rev, uint64_t *ret) {
        Reader r;
        uint8_t kb[8];
        MDB_val k = key_u64(kb, rev), v;
        uint64_t u;
        int q = store_get(txn, s->changes, &k, &v);

        if (q < 0)
                return q == -ENOENT ? -EUCLEAN : q;
        r = (Reader) { .p = v.mv_data, .end = (const uint8_t *) v.mv_data + v.mv_size };
        if (r.p >= r.end || (*r.p & 0xf0) != 0x80)
                return -EUCLEAN;
        r.p++;
        if (expect_key(&r, "revision") < 0 || read_uint(&r, &u) < 0 || expect_key(&r, "time") < 0 ||
            read_uint(&r, ret) < 0)
                return -EUCLEAN;
        return 0;
}

int store_changes_last_time(Store *s, MDB_txn *txn, uint64_t *ret) {
        uint64_t last, count;
        int r = store_changes_bounds(s, txn, NULL, &last, &count);

        if (r < 0)
                return r;
        if (count == 0) {
                *ret = 0;
                return 0;
        }
        return time_of(s, txn, last, ret);
}

int store_changes_after_time(Store *s, MDB_txn *txn, uint64_t time_ms, uint64_t *ret_revision) {
        uint64_t first, last, count, lo, hi;
        int r;

        r = store_changes_bounds(s, txn, &first, &last, &count);
        if (r < 0)
                return r;
        if (count == 0) {
                *ret_revision = 0;
                return 0;
        }
        if (last - first + 1 != count)
                return -EUCLEAN;        /* the log has a hole */
        /* The first revision in [first, last + 1) whose time is past time_ms. */
        lo = first;
        hi = last + 1;
        while (lo < hi) {
                uint64_t mid = lo + (hi - lo) / 2, t;

                r = time_of(s, txn, mid, &t);
                if (r < 0)
                        return r;
                if (t > time_ms)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        *ret_revision = lo;
        return 0;
}

int store_change_read(const void *record, size_t len, StoreChangeInfo *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        const msgpack_object *o, *p;
        int r;

        *ret = (StoreChangeInfo) { .principal = STORE_PRINCIPAL_PEER };
        msgpack_unpacked_init(&u);
        if (mp_unpack_whole(record, len, &u) < 0)
                return -EUCLEAN;
        r = store_field_u64(&u.data, "revision", &ret->revision);
        if (r >= 0)
                r = store_field_u64(&u.data, "time", &ret->time_ms);
        if (r >= 0)
                r = store_field_u64(&u.data, "org", &ret->org);
        if (r < 0)
                return r;
        o = mp_map_get(&u.data, "op");
        for (unsigned i = 0; o && i < ELEMENTSOF(op_names); i++)
                if (mp_str_eq(o, op_names[i]))
                        ret->op = (StoreOp) i;
        o = mp_map_get(&u.data, "kind");
        for (unsigned i = 0; o && i < ELEMENTSOF(kind_names); i++)
                if (mp_str_eq(o, kind_names[i]))
                        ret->kind = (StoreKind) i;
        o = mp_map_get(&u.data, "id");
        if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= sizeof ret->id)
                return -EUCLEAN;
        memcpy(ret->id, o->via.str.ptr, o->via.str.size);
        ret->id[o->via.str.size] = 0;

        if (ret->kind == STORE_KIND_MEMBER) {
                const msgpack_object *v = mp_map_get(&u.data, "after");
                o = mp_map_get(v ? v : mp_map_get(&u.data, "before"), "user");
                if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size < sizeof ret->user) {
                        memcpy(ret->user, o->via.str.ptr, o->via.str.size);
                        ret->user[o->via.str.size] = 0;
                }
        }

        p = mp_map_get(&u.data, "principal");
        o = p ? mp_map_get(p, "kind") : NULL;
        if (mp_str_eq(o, "api_key")) {
                ret->principal = STORE_PRINCIPAL_API_KEY;
                o = mp_map_get(p, "key_id");
        } else if (mp_str_eq(o, "user")) {
                ret->principal = STORE_PRINCIPAL_USER;
                o = mp_map_get(p, "user_id");
        } else if (mp_str_eq(o, "peer")) {
                uint64_t uid, gid, pid;
                if (store_field_u64(p, "uid", &uid) < 0 || store_field_u64(p, "gid", &gid) < 0 ||
                    store_field_u64(p, "pid", &pid) < 0)
                        return -EUCLEAN;
                ret->peer = (StorePeer) { .uid = (uid_t) uid, .gid = (gid_t) gid, .pid = (pid_t) pid };
                return 0;
        } else
                return -EUCLEAN;
        if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= sizeof ret->principal_id)
                return -EUCLEAN;
        memcpy(ret->principal_id, o->via.str.ptr, o->via.str.size);
        ret->principal_id[o->via.str.size] = 0;
        return 0;
}
