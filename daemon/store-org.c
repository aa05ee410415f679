/* store-org.c: organizations (their records, which also keep the count
 * and next sequence number of their roles and the count of their users),
 * their permission catalogs and catalog membership. See store.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void stored_org_done(StoredOrg *o) {
        if (!o)
                return;
        free(o->name);
        free(o->provider);
        *o = (StoredOrg) { .id = 0 };
}

void org_record_done(OrgRecord *o) {
        stored_org_done(&o->org);
        *o = (OrgRecord) { .count = 0 };
}

static void org_record_donep(OrgRecord *o) {
        org_record_done(o);
}

int org_record_put(Store *s, MDB_txn *txn, const OrgRecord *o, unsigned flags) {
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        msgpack_packer pk;
        uint8_t kb[8];
        MDB_val k = key_u64(kb, o->org.id);

        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        if (msgpack_pack_map(&pk, 6) < 0 ||
            mp_pack_kv_u64(&pk, "id", o->org.id) < 0 ||
            mp_pack_kv_str(&pk, "name", o->org.name) < 0 ||
            mp_pack_kv_str(&pk, "provider", o->org.provider) < 0 ||
            mp_pack_kv_u64(&pk, "count", o->count) < 0 ||
            mp_pack_kv_u64(&pk, "next_seq", o->next_seq) < 0 ||
            mp_pack_kv_u64(&pk, "users", o->users) < 0)
                return -ENOMEM;
        return store_put_sbuffer(s, txn, s->orgs, &k, &b, flags);
}

/* Decodes an organization record. */
static int org_record_decode(const MDB_val *v, OrgRecord *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        int r;

        msgpack_unpacked_init(&u);
        r = store_unpack(v, &u);
        if (r >= 0)
                r = store_field_u64(&u.data, "id", &o.org.id);
        if (r >= 0)
                r = store_field_opt_str(&u.data, "name", &o.org.name);
        if (r >= 0)
                r = store_field_opt_str(&u.data, "provider", &o.org.provider);
        if (r >= 0)
                r = store_field_u64(&u.data, "count", &o.count);
        if (r >= 0)
                r = store_field_u64(&u.data, "next_seq", &o.next_seq);
        if (r >= 0)
                r = store_field_u64(&u.data, "users", &o.users);
        if (r < 0)
                return r;
        if (o.next_seq == 0)
                return -EUCLEAN;

        *ret = o;
        o = (OrgRecord) { .count = 0 };
        return 0;
}

int org_record_get(Store *s, MDB_txn *txn, uint64_t id, OrgRecord *ret) {
        uint8_t kb[8];
        MDB_val k = key_u64(kb, id), v;
        int r;

        r = store_get(txn, s->orgs, &k, &v);
        if (r < 0 || !ret)
                return r;
        r = org_record_decode(&v, ret);
        if (r >= 0 && ret->org.id != id) {
                org_record_done(ret);
                r = -EUCLEAN;
        }
        return r;
}

int store_org_list(Store *s, MDB_txn *txn, uint64_t offset, size_t limit, StoreOrgVisit visit, void *userdata,
                   uint64_t *ret_total) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        MDB_stat st;
        MDB_val k, v;
        int r;

        r = store_errno(mdb_stat(txn, s->orgs, &st));
        if (r < 0)
                return r;
        *ret_total = st.ms_entries;
        r = store_errno(mdb_cursor_open(txn, s->orgs, &c));
        if (r < 0)
                return r;
        r = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        for (uint64_t i = 0; r == MDB_SUCCESS && i < offset; i++)
                r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        for (size_t n = 0; r == MDB_SUCCESS && n < limit; n++) {
                _cleanup_(org_record_donep) OrgRecord o = { 0 };
                int q = org_record_decode(&v, &o);
                if (q < 0)
                        return q;
                q = visit(&o.org, o.count, userdata);
                if (q < 0)
                        return q;
                r = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
        return r == MDB_NOTFOUND ? 0 : store_errno(r);
}

int store_org_get(Store *s, MDB_txn *txn, uint64_t id, StoredOrg *ret) {
        OrgRecord o;
        int r;

        if (!ret)
                return org_record_get(s, txn, id, NULL);
        r = org_record_get(s, txn, id, &o);
        if (r < 0)
                return r;
        *ret = o.org;
        return 0;
}

int store_org_next(Store *s, MDB_txn *txn, uint64_t from, StoredOrg *ret) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        uint8_t kb[8];
        MDB_val k = key_u64(kb, from), v;
        OrgRecord o;
        int r;

        r = store_errno(mdb_cursor_open(txn, s->orgs, &c));
        if (r >= 0)
                r = store_errno(mdb_cursor_get(c, &k, &v, MDB_SET_RANGE));
        if (r < 0)
                return r;
        r = org_record_decode(&v, &o);
        if (r < 0)
                return r;
        *ret = o.org;
        return 0;
}

int store_org_counts(Store *s, MDB_txn *txn, uint64_t org, StoreOrgCounts *ret) {
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        int r = org_record_get(s, txn, org, &o);
        if (r < 0)
                return r;
        *ret = (StoreOrgCounts) { .roles = o.count, .next_seq = o.next_seq, .users = o.users };
        return 0;
}

int store_org_insert(Store *s, MDB_txn *txn, const StoredOrg *o) {
        OrgRecord rec = { .org = *o, .count = 0, .next_seq = 1, .users = 0 };
        int r;

        r = org_record_get(s, txn, o->id, NULL);
        if (r >= 0)
                return -EEXIST;
        if (r != -ENOENT)
                return r;
        return org_record_put(s, txn, &rec, MDB_NOOVERWRITE);
}

int store_catalog_put(Store *s, MDB_txn *txn, uint64_t org, const void *catalog, size_t len) {
        uint8_t kb[8];
        MDB_val k = key_u64(kb, org);

        return store_put(s, txn, s->catalogs, &k, catalog, len, 0);
}

int store_catalog_get(Store *s, MDB_txn *txn, uint64_t org, const void **ret_blob, size_t *ret_len) {
        uint8_t kb[8];
        MDB_val k = key_u64(kb, org), v;
        int r = store_get(txn, s->catalogs, &k, &v);
        if (r < 0)
                return r;
        *ret_blob = v.mv_data;
        *ret_len = v.mv_size;
        return 0;
}

int store_permission_add(Store *s, MDB_txn *txn, uint64_t org, const char *name) {
        Key k;

        store_key_index(s, &k, true, org, name);
        return store_put(s, txn, s->perms, &k.val, "", 0, 0);
}

int store_permission_exists(Store *s, MDB_txn *txn, uint64_t org, const char *name) {
        MDB_val v;
        Key k;
        int r;

        r = org_record_get(s, txn, org, NULL);
        if (r < 0)
                return r;
        if (!name || !*name)
                return 0;
        store_key_index(s, &k, true, org, name);
        r = store_get(txn, s->perms, &k.val, &v);
        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : 1;
}
