/* store-role.c: roles. A role is a record its caller encoded, stored by
 * id, with three indexes in its organization: api_id, name and creation
 * order (sequence numbers, dense from 1). See store.h. */
#include <errno.h>
#include <string.h>

#include "store-internal.h"

static void org_record_donep(OrgRecord *o) {
        org_record_done(o);
}

static int role_record_get(Store *s, MDB_txn *txn, const MDB_val *id, MDB_val *ret) {
        MDB_val k = *id;
        int r = store_get(txn, s->roles, &k, ret);
        return r == -ENOENT ? -EUCLEAN : r;     /* an index entry without its record */
}

/* The org of an encoded role. */
static int role_blob_org(const void *p, size_t n, uint64_t *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        int r;

        msgpack_unpacked_init(&u);
        r = store_unpack(&(MDB_val) { .mv_size = n, .mv_data = (void *) p }, &u);
        if (r < 0)
                return r;
        return store_field_u64(&u.data, "org", ret);
}

int store_role_insert(Store *s, MDB_txn *txn, const StoreRoleKeys *keys, const void *record, size_t len,
                      const char **reterr_field) {
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        const char *field = NULL;
        MDB_val id, seq;
        Key api, name;
        uint8_t sb[16];
        uint64_t total;
        int r;

        if (reterr_field)
                *reterr_field = NULL;
        if (!keys->api_id || !keys->name) {
                field = !keys->api_id ? "api_id" : "name";
                r = -EINVAL;
                goto fail;
        }

        field = "org";
        r = org_record_get(s, txn, keys->org, &o);
        if (r < 0)
                goto fail;

        field = "id";
        r = store_key_text(s, &id, keys->id);
        if (r >= 0)
                r = store_absent(txn, s->roles, &id);
        if (r < 0)
                goto fail;

        field = "api_id";
        store_key_index(s, &api, true, keys->org, keys->api_id);
        r = store_absent(txn, s->role_api, &api.val);
        if (r < 0)
                goto fail;
        field = "name";
        store_key_index(s, &name, true, keys->org, keys->name);
        r = store_absent(txn, s->role_name, &name.val);
        if (r < 0)
                goto fail;

        field = NULL;
        r = store_put(s, txn, s->roles, &id, record, len, MDB_NOOVERWRITE);
        if (r < 0)
                goto fail;
        r = store_put(s, txn, s->role_api, &api.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r < 0)
                goto fail;
        r = store_put(s, txn, s->role_name, &name.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r < 0)
                goto fail;
        seq = key_seq(sb, keys->org, o.next_seq);
        r = store_put(s, txn, s->role_seq, &seq, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r < 0)
                goto fail;

        o.next_seq++;
        o.count++;
        r = org_record_put(s, txn, &o, 0);
        if (r < 0)
                goto fail;

        r = store_meta_get_u64(s, txn, "roles", &total);
        if (r == -ENOENT) {
                total = 0;
                r = 0;
        }
        if (r >= 0)
                r = store_meta_put_u64(s, txn, "roles", total + 1);
        if (r < 0)
                goto fail;
        return 0;

fail:
        if (reterr_field)
                *reterr_field = field;
        return r;
}

int store_role_get(Store *s, MDB_txn *txn, uint64_t org, const char *by, const char *value,
                   const void **ret_blob, size_t *ret_len) {
        MDB_val id, v;
        int r;

        if (!by || !value)
                return -EINVAL;

        if (strcmp(by, "id") == 0) {
                uint64_t role_org;
                if (store_key_text(s, &id, value) < 0)
                        return -ENOENT;         /* no id is that long (or empty) */
                r = store_get(txn, s->roles, &id, &v);
                if (r < 0)
                        return r;
                r = role_blob_org(v.mv_data, v.mv_size, &role_org);
                if (r < 0)
                        return r;
                if (role_org != org)
                        return -ENOENT;
        } else {
                MDB_dbi dbi;
                Key k;
                if (strcmp(by, "api_id") == 0)
                        dbi = s->role_api;
                else if (strcmp(by, "name") == 0)
                        dbi = s->role_name;
                else
                        return -EINVAL;
                store_key_index(s, &k, true, org, value);
                r = store_get(txn, dbi, &k.val, &id);
                if (r < 0)
                        return r;
                r = role_record_get(s, txn, &id, &v);
                if (r < 0)
                        return r;
        }

        *ret_blob = v.mv_data;
        *ret_len = v.mv_size;
        return 0;
}

int store_role_count(Store *s, MDB_txn *txn, uint64_t org, uint64_t *ret) {
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        int r = org_record_get(s, txn, org, &o);
        if (r < 0)
                return r;
        *ret = o.count;
        return 0;
}

/* Is the cursor result r at a role_seq entry of org? */
static int seq_in_org(int r, const MDB_val *k, uint64_t org, bool *ret) {
        if (r == MDB_NOTFOUND) {
                *ret = false;
                return 0;
        }
        if (r != MDB_SUCCESS)
                return store_errno(r);
        if (k->mv_size != 16)
                return -EUCLEAN;
        *ret = be64_get(k->mv_data) == org;
        return 0;
}

int store_role_list(Store *s, MDB_txn *txn, uint64_t org, uint64_t offset, uint64_t after_seq,
                    size_t limit, StoreRoleVisit visit, void *userdata,
                    uint64_t *ret_last_seq, bool *ret_more) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        uint64_t last = 0;
        uint8_t kb[16];
        MDB_val k, v;
        bool valid = false;
        int r;

        r = store_errno(mdb_cursor_open(txn, s->role_seq, &c));
        if (r < 0)
                return r;

        if (after_seq != UINT64_MAX) {
                k = key_seq(kb, org, after_seq > 0 ? after_seq + 1 : 0);
                r = seq_in_org(mdb_cursor_get(c, &k, &v, MDB_SET_RANGE), &k, org, &valid);
                if (r < 0)
                        return r;
        }
        /* Sequence numbers are dense (1, 2, ... in creation order; a failed
         * insert leaves no gap, roles are never deleted), so the role at
         * `offset` is normally the one numbered offset + 1: seek to it
         * (O(log n)), and walk only if that guess does not hold. */
        if (after_seq == 0 && offset > 0 && offset < UINT64_MAX) {
                MDB_val gk = key_seq(kb, org, offset + 1), gv;
                bool found = false;

                r = seq_in_org(mdb_cursor_get(c, &gk, &gv, MDB_SET_RANGE), &gk, org, &found);
                if (r < 0)
                        return r;
                if (found && be64_get((const uint8_t *) gk.mv_data + 8) == offset + 1) {
                        k = gk;
                        v = gv;
                        valid = true;
                        offset = 0;
                } else {
                        k = key_seq(kb, org, 0);        /* back to the start for the walk */
                        r = seq_in_org(mdb_cursor_get(c, &k, &v, MDB_SET_RANGE), &k, org, &valid);
                        if (r < 0)
                                return r;
                }
        }
        if (after_seq == 0)
                for (uint64_t i = 0; valid && i < offset; i++) {
                        r = seq_in_org(mdb_cursor_get(c, &k, &v, MDB_NEXT), &k, org, &valid);
                        if (r < 0)
                                return r;
                }

        for (size_t n = 0; valid && n < limit; n++) {
                MDB_val rec;
                r = role_record_get(s, txn, &v, &rec);
                if (r < 0)
                        return r;
                r = visit(rec.mv_data, rec.mv_size, userdata);
                if (r < 0)
                        return r;
                last = be64_get((const uint8_t *) k.mv_data + 8);
                r = seq_in_org(mdb_cursor_get(c, &k, &v, MDB_NEXT), &k, org, &valid);
                if (r < 0)
                        return r;
        }

        if (ret_last_seq)
                *ret_last_seq = last;
        if (ret_more)
                *ret_more = valid;
        return 0;
}

