/* store-migrate.c: schema version 1 to 2, inside the transaction that
 * opens the database (all of it is migrated, or nothing: a failure leaves
 * version 1 as it was). Version 1 had users of the workspace only, each
 * record {username, hash, roles: [role names]} found through a usernames
 * index without organization, and roles without revision, role_meta,
 * role_acl or buckets. Every organization, role, key and user is kept:
 * organizations gain a user count, roles their revision (0: before
 * revisions were kept), their fixed record, their ACL and their bucket
 * counts; users become users of organization 0 (created_at 0, no display
 * name) and their role names memberships; keys are read as they are
 * (created_at absent reads 0). The database's revision starts at 0. */
#include <errno.h>
#include <string.h>

#include "store-internal.h"

/* The value at cursor c re-packed with one more pair, key = val. (The
 * key is copied first: a put of another size deletes and inserts, and the
 * cursor's key points into the page that changes.) */
static int cursor_extend_u64(MDB_cursor *c, const MDB_val *k, const MDB_val *v, const char *key, uint64_t val) {
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        msgpack_packer pk;
        uint8_t kb[STORE_KEY_BUF];
        MDB_val nk = { .mv_size = k->mv_size, .mv_data = kb }, nv;

        if (k->mv_size > sizeof kb)
                return -EUCLEAN;
        memcpy(kb, k->mv_data, k->mv_size);
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        if (mp_pack_map_extended(&pk, v->mv_data, v->mv_size, 1) < 0)
                return -EUCLEAN;
        if (mp_pack_kv_u64(&pk, key, val) < 0)
                return -ENOMEM;
        nv = (MDB_val) { .mv_size = b.size, .mv_data = b.data };
        return store_errno(mdb_cursor_put(c, &nk, &nv, MDB_CURRENT));
}

static int migrate_orgs(Store *s, MDB_txn *txn) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        MDB_val k, v;
        int r;

        r = store_errno(mdb_cursor_open(txn, s->orgs, &c));
        if (r < 0)
                return r;
        for (r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == MDB_SUCCESS; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                int q = cursor_extend_u64(c, &k, &v, "users", 0);
                if (q < 0)
                        return q;
        }
        return r == MDB_NOTFOUND ? 0 : store_errno(r);
}

/* The bucket count of live roles, written when the bucket changes. */
typedef struct Bucket {
        bool set;
        uint64_t org, bucket, n;
} Bucket;

static int bucket_flush(Store *s, MDB_txn *txn, Bucket *b) {
        uint8_t kb[16], vb[8];
        MDB_val k = key_seq(kb, b->org, b->bucket);

        if (!b->set)
                return 0;
        b->set = false;
        be64_put(vb, b->n);
        return store_put(s, txn, s->role_buckets, &k, vb, sizeof vb, 0);
}

/* A role: its record gains revision 0; its role_meta, ACL and bucket. */
static int migrate_role(Store *s, MDB_txn *txn, uint64_t org, uint64_t seq, const MDB_val *id, Bucket *bucket) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        _cleanup_free_ char *api_id = NULL;
        _cleanup_strv_free_ char **perms = NULL;
        const msgpack_object *p;
        msgpack_packer pk;
        MDB_val k = *id, rec;
        int r;

        r = store_get(txn, s->roles, &k, &rec);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;
        msgpack_unpacked_init(&u);
        r = store_unpack(&rec, &u);
        if (r >= 0)
                r = store_field_str(&u.data, "api_id", &api_id);
        if (r < 0)
                return r;
        p = mp_map_get(&u.data, "permissions");
        if (!p || mp_read_strv(p, &perms, NULL) < 0)
                return -EUCLEAN;

        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        if (mp_pack_map_extended(&pk, rec.mv_data, rec.mv_size, 1) < 0)
                return -EUCLEAN;
        if (mp_pack_kv_u64(&pk, "revision", 0) < 0)
                return -ENOMEM;
        r = store_put_sbuffer(s, txn, s->roles, &k, &b, 0);
        if (r >= 0)
                r = role_meta_put(s, txn, id, &(StoreRoleInfo) { .org = org, .seq = seq });
        if (r >= 0)
                r = role_acl_put(s, txn, id, api_id, perms);
        if (r < 0)
                return r;

        if (bucket->set && (bucket->org != org || bucket->bucket != seq >> STORE_BUCKET_SHIFT)) {
                r = bucket_flush(s, txn, bucket);
                if (r < 0)
                        return r;
        }
        if (!bucket->set)
                *bucket = (Bucket) { .set = true, .org = org, .bucket = seq >> STORE_BUCKET_SHIFT };
        bucket->n++;
        return 0;
}

static int migrate_roles(Store *s, MDB_txn *txn) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        Bucket bucket = { .set = false };
        MDB_val k, v;
        int r;

        r = store_errno(mdb_cursor_open(txn, s->role_seq, &c));
        if (r < 0)
                return r;
        for (r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == MDB_SUCCESS; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                int q;
                if (k.mv_size != 16)
                        return -EUCLEAN;
                q = migrate_role(s, txn, be64_get(k.mv_data), be64_get((const uint8_t *) k.mv_data + 8), &v, &bucket);
                if (q < 0)
                        return q;
        }
        if (r != MDB_NOTFOUND)
                return store_errno(r);
        return bucket_flush(s, txn, &bucket);
}

/* A workspace role held by a version 1 user, by name: a membership. A
 * name that names no role any more, or twice, is skipped. */
static int migrate_membership(Store *s, MDB_txn *txn, const char *user_id, const char *username, const char *role) {
        StoreRoleInfo info;
        MDB_val id;
        Key k, mk, uk;
        int r;

        store_key_index(s, &k, true, 0, role);
        r = store_get(txn, s->role_name, &k.val, &id);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = role_meta_get(s, txn, &id, &info);
        if (r >= 0)
                r = member_key(s, &mk, 0, info.seq, username);
        if (r >= 0)
                r = user_role_key(&uk, user_id, info.seq);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;
        r = store_put(s, txn, s->role_members, &mk.val, user_id, strlen(user_id), MDB_NOOVERWRITE);
        if (r == -EEXIST)
                return 0;
        if (r >= 0)
                r = store_put(s, txn, s->user_roles, &uk.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r >= 0) {
                info.members++;
                r = role_meta_put(s, txn, &id, &info);
        }
        return r;
}

static int migrate_user(Store *s, MDB_txn *txn, MDB_cursor *c, const MDB_val *k, const MDB_val *v) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        _cleanup_strv_free_ char **roles = NULL;
        char user_id[STORE_USER_ID_MAX + 1];
        StoredUser user = { .org = 0 };
        const msgpack_object *o;
        MDB_val nk, nv;
        Key name;
        int r;

        if (k->mv_size == 0 || k->mv_size > STORE_USER_ID_MAX)
                return -EUCLEAN;
        memcpy(user_id, k->mv_data, k->mv_size);
        user_id[k->mv_size] = 0;
        nk = (MDB_val) { .mv_size = k->mv_size, .mv_data = user_id };  /* not the page's: see cursor_extend_u64 */

        msgpack_unpacked_init(&u);
        r = store_unpack(v, &u);
        if (r >= 0)
                r = store_field_str(&u.data, "username", &user.username);
        if (r >= 0)
                r = store_field_hash(&u.data, user.hash);
        o = mp_map_get(&u.data, "roles");
        if (r >= 0 && (!o || mp_read_strv(o, &roles, NULL) < 0))
                r = -EUCLEAN;
        if (r >= 0) {
                msgpack_sbuffer_init(&b);
                r = user_record_pack(&b, &user);
        }
        if (r >= 0) {
                nv = (MDB_val) { .mv_size = b.size, .mv_data = b.data };
                r = store_errno(mdb_cursor_put(c, &nk, &nv, MDB_CURRENT));
                sodium_memzero(b.data, b.size);
        }
        if (r >= 0) {
                store_key_index(s, &name, true, 0, user.username);
                r = store_put(s, txn, s->usernames, &name.val, user_id, strlen(user_id), MDB_NOOVERWRITE);
        }
        for (char **i = roles; r >= 0 && i && *i; i++)
                r = migrate_membership(s, txn, user_id, user.username, *i);
        stored_user_done(&user);
        return r;
}

static int migrate_users(Store *s, MDB_txn *txn, uint64_t *ret_n) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        MDB_val k, v;
        uint64_t n = 0;
        int r;

        /* The usernames index is rebuilt from the records, with organization. */
        r = store_errno(mdb_drop(txn, s->usernames, 0));
        if (r < 0)
                return r;
        r = store_errno(mdb_cursor_open(txn, s->users, &c));
        if (r < 0)
                return r;
        for (r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == MDB_SUCCESS; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                int q = migrate_user(s, txn, c, &k, &v);
                if (q < 0)
                        return q;
                n++;
        }
        if (r != MDB_NOTFOUND)
                return store_errno(r);
        *ret_n = n;
        return 0;
}

int store_migrate_v1(Store *s, MDB_txn *txn) {
        OrgRecord o = { .count = 0 };
        uint64_t users = 0;
        int r;

        r = store_meta_put_u64(s, txn, "revision", 0);
        if (r >= 0)
                r = migrate_orgs(s, txn);
        if (r >= 0)
                r = migrate_roles(s, txn);
        if (r >= 0)
                r = migrate_users(s, txn, &users);
        if (r >= 0 && users > 0) {
                r = org_record_get(s, txn, 0, &o);
                if (r >= 0) {
                        o.users = users;
                        r = org_record_put(s, txn, &o, 0);
                }
                org_record_done(&o);
        }
        return r;
}
