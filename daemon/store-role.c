/* store-role.c: roles. A role is a record its caller encoded, stored by
 * id, with its indexes in its organization: api_id, name and creation
 * order (sequence numbers from 1, with gaps where roles were deleted, and
 * a count of live roles per 1024 of them for offset paging); beside it a
 * fixed record (role_meta: its org, its sequence number, its members) and
 * its ACL (role_acl: its api_id and permission names, what an access check
 * reads without decoding the record). See store.h. */
#include <errno.h>
#include <string.h>

#include "store-internal.h"
#include "proto/scan.h"

static void org_record_donep(OrgRecord *o) {
        org_record_done(o);
}

/* A role record, which reads copy into replies as it is: one whole
 * MessagePack map, checked without decoding it (-EUCLEAN otherwise). */
static int role_record_get(Store *s, MDB_txn *txn, const MDB_val *id, MDB_val *ret) {
        MDB_val k = *id;
        Scanner sc;
        size_t size = 0;
        uint8_t head;
        int r = store_get(txn, s->roles, &k, ret);

        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;     /* an index entry without its record */
        head = ret->mv_size > 0 ? ((const uint8_t *) ret->mv_data)[0] : 0;
        if ((head & 0xf0) != 0x80 && head != 0xde && head != 0xdf)
                return -EUCLEAN;        /* not a map */
        scanner_init(&sc, ret->mv_size, SCAN_DEPTH_CAP);
        if (scanner_feed(&sc, ret->mv_data, ret->mv_size, &size) != SCAN_COMPLETE || size != ret->mv_size)
                return -EUCLEAN;
        return 0;
}

/* ---- role_meta: org | seq | members ---- */

int role_meta_get(Store *s, MDB_txn *txn, const MDB_val *id, StoreRoleInfo *ret) {
        MDB_val k = *id, v;
        int r = store_get(txn, s->role_meta, &k, &v);
        if (r < 0)
                return r;
        if (v.mv_size != ROLE_META_LEN)
                return -EUCLEAN;
        *ret = (StoreRoleInfo) {
                .org = be64_get(v.mv_data),
                .seq = be64_get((const uint8_t *) v.mv_data + 8),
                .members = be64_get((const uint8_t *) v.mv_data + 16),
        };
        return 0;
}

int role_meta_put(Store *s, MDB_txn *txn, const MDB_val *id, const StoreRoleInfo *m) {
        uint8_t b[ROLE_META_LEN];
        MDB_val k = *id;

        be64_put(b, m->org);
        be64_put(b + 8, m->seq);
        be64_put(b + 16, m->members);
        return store_put(s, txn, s->role_meta, &k, b, sizeof b, 0);
}

int role_meta_find(Store *s, MDB_txn *txn, const char *id_text, uint64_t org, MDB_val *ret_id, StoreRoleInfo *ret) {
        int r;

        if (store_key_text(s, ret_id, id_text) < 0)
                return -ENOENT;         /* no id is that long (or empty) */
        r = role_meta_get(s, txn, ret_id, ret);
        if (r >= 0 && org != ROLE_ANY_ORG && ret->org != org)
                r = -ENOENT;            /* a role of another organization */
        return r;
}

int store_role_info(Store *s, MDB_txn *txn, const char *id, StoreRoleInfo *ret) {
        MDB_val k;
        return role_meta_find(s, txn, id, ROLE_ANY_ORG, &k, ret);
}

/* ---- role_acl ----
 *
 *   u32 api_len | api_id | u32 n | u32 end[n] | the n permission names
 *
 * (big-endian), the names sorted (bytes, then length) and concatenated:
 * name i spans [end[i - 1], end[i]) of the names (end[-1] = 0). A check is
 * a binary search: log2(n) comparisons per role, not n. */

static void be32_put(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static uint32_t be32_get(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* The order of the names: bytes, then length (a prefix first). */
static int name_cmp(const char *a, size_t an, const char *b, size_t bn) {
        int c = memcmp(a, b, an < bn ? an : bn);
        return c != 0 ? c : (an > bn) - (an < bn);
}

static int perm_cmp(const void *x, const void *y) {
        const char *a = *(char *const *) x, *b = *(char *const *) y;
        return name_cmp(a, strlen(a), b, strlen(b));
}

int role_acl_put(Store *s, MDB_txn *txn, const MDB_val *id, const char *api_id, char *const *perms) {
        _cleanup_free_ uint8_t *b = NULL;
        _cleanup_free_ char **sorted = NULL;
        size_t n = 0, names = 0, api_len = strlen(api_id), at;
        MDB_val k = *id;

        for (char *const *p = perms; p && *p; p++, n++)
                names += strlen(*p);
        sorted = calloc(n + 1, sizeof *sorted);
        b = malloc(8 + api_len + 4 * n + names);
        if (!sorted || !b)
                return -ENOMEM;
        if (n > 0)
                memcpy(sorted, perms, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, perm_cmp);

        be32_put(b, (uint32_t) api_len);
        memcpy(b + 4, api_id, api_len);
        be32_put(b + 4 + api_len, (uint32_t) n);
        at = 8 + api_len + 4 * n;
        for (size_t i = 0, end = 0; i < n; i++) {
                size_t len = strlen(sorted[i]);
                memcpy(b + at, sorted[i], len);
                at += len;
                end += len;
                be32_put(b + 8 + api_len + 4 * i, (uint32_t) end);
        }
        return store_put(s, txn, s->role_acl, &k, b, at, 0);
}

int role_acl_read(Store *s, MDB_txn *txn, const MDB_val *id, const char *permission,
                  const char **ret_api, size_t *ret_api_len, bool *ret_grants) {
        MDB_val k = *id, v;
        const uint8_t *p;
        const char *names;
        size_t api_len, n, names_len, plen = permission ? strlen(permission) : 0;
        int r;

        r = store_get(txn, s->role_acl, &k, &v);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;     /* a membership of a role without its ACL */
        p = v.mv_data;
        if (v.mv_size < 8 || (api_len = be32_get(p)) > v.mv_size - 8)
                return -EUCLEAN;
        n = be32_get(p + 4 + api_len);
        if (n > (v.mv_size - 8 - api_len) / 4)
                return -EUCLEAN;
        names = (const char *) p + 8 + api_len + 4 * n;
        names_len = v.mv_size - 8 - api_len - 4 * n;
        if (n > 0 && be32_get(p + 8 + api_len + 4 * (n - 1)) != names_len)
                return -EUCLEAN;

        *ret_api = (const char *) p + 4;
        *ret_api_len = api_len;
        *ret_grants = false;
        for (size_t lo = 0, hi = n; permission && lo < hi;) {
                size_t mid = lo + (hi - lo) / 2;
                size_t start = mid == 0 ? 0 : be32_get(p + 8 + api_len + 4 * (mid - 1));
                size_t end = be32_get(p + 8 + api_len + 4 * mid);
                int c;

                if (start > end || end > names_len)
                        return -EUCLEAN;
                c = name_cmp(names + start, end - start, permission, plen);
                if (c == 0) {
                        *ret_grants = true;
                        break;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return 0;
}

/* ---- role_buckets: live roles per 1024 sequence numbers ---- */

static int bucket_add(Store *s, MDB_txn *txn, uint64_t org, uint64_t seq, int delta) {
        uint8_t kb[16], b[8];
        MDB_val k = key_seq(kb, org, seq >> STORE_BUCKET_SHIFT), v;
        uint64_t n = 0;
        int r;

        r = store_get(txn, s->role_buckets, &k, &v);
        if (r >= 0) {
                if (v.mv_size != 8)
                        return -EUCLEAN;
                n = be64_get(v.mv_data);
        } else if (r != -ENOENT)
                return r;
        if (delta < 0 && n == 0)
                return -EUCLEAN;
        n += (uint64_t) (int64_t) delta;
        if (n == 0)
                return store_del(s, txn, s->role_buckets, &k);
        be64_put(b, n);
        return store_put(s, txn, s->role_buckets, &k, b, sizeof b, 0);
}

/* ---- writes ---- */

int store_role_insert(Store *s, MDB_txn *txn, const StoreRoleKeys *keys, const void *record, size_t len,
                      const char **reterr_field) {
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        const char *field = NULL;
        MDB_val id, seq;
        Key api, name;
        uint8_t sb[16];
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
        if (r >= 0)
                r = store_put(s, txn, s->role_api, &api.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r >= 0)
                r = store_put(s, txn, s->role_name, &name.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        seq = key_seq(sb, keys->org, o.next_seq);
        if (r >= 0)
                r = store_put(s, txn, s->role_seq, &seq, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r >= 0)
                r = role_meta_put(s, txn, &id, &(StoreRoleInfo) { .org = keys->org, .seq = o.next_seq });
        if (r >= 0)
                r = role_acl_put(s, txn, &id, keys->api_id, keys->permissions);
        if (r >= 0)
                r = bucket_add(s, txn, keys->org, o.next_seq, +1);
        if (r < 0)
                goto fail;

        o.next_seq++;
        o.count++;
        r = org_record_put(s, txn, &o, 0);
        if (r >= 0)
                r = store_meta_add(s, txn, "roles", +1);
        if (r < 0)
                goto fail;
        return 0;

fail:
        return store_fail(reterr_field, field, r);
}

/* The api_id and name a stored record says (copies). */
static int record_keys(const MDB_val *rec, char **ret_api_id, char **ret_name) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        int r;

        msgpack_unpacked_init(&u);
        r = store_unpack(rec, &u);
        if (r >= 0)
                r = store_field_str(&u.data, "api_id", ret_api_id);
        if (r >= 0)
                r = store_field_str(&u.data, "name", ret_name);
        return r;
}

/* One index entry moved from old text to new (nothing when they are equal). */
static int index_move(Store *s, MDB_txn *txn, MDB_dbi dbi, uint64_t org, const char *old, const char *new,
                      const MDB_val *id) {
        Key ko, kn;
        int r;

        if (strcmp(old, new) == 0)
                return 0;
        store_key_index(s, &ko, true, org, old);
        store_key_index(s, &kn, true, org, new);
        r = store_del(s, txn, dbi, &ko.val);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;
        return store_put(s, txn, dbi, &kn.val, id->mv_data, id->mv_size, MDB_NOOVERWRITE);
}

int store_role_update(Store *s, MDB_txn *txn, const StoreRoleKeys *keys, const void *record, size_t len,
                      const char **reterr_field) {
        _cleanup_free_ char *old_api = NULL, *old_name = NULL;
        const char *field = "id";
        StoreRoleInfo info;
        MDB_val id, rec;
        Key k;
        int r;

        if (reterr_field)
                *reterr_field = NULL;
        if (!keys->api_id || !keys->name)
                return -EINVAL;
        r = role_meta_find(s, txn, keys->id, keys->org, &id, &info);
        if (r >= 0)
                r = role_record_get(s, txn, &id, &rec);
        if (r >= 0)
                r = record_keys(&rec, &old_api, &old_name);
        if (r < 0)
                goto fail;

        /* Checked before anything is written. */
        if (strcmp(old_api, keys->api_id) != 0) {
                field = "api_id";
                store_key_index(s, &k, true, keys->org, keys->api_id);
                r = store_absent(txn, s->role_api, &k.val);
                if (r < 0)
                        goto fail;
        }
        if (strcmp(old_name, keys->name) != 0) {
                field = "name";
                store_key_index(s, &k, true, keys->org, keys->name);
                r = store_absent(txn, s->role_name, &k.val);
                if (r < 0)
                        goto fail;
        }

        field = NULL;
        r = index_move(s, txn, s->role_api, keys->org, old_api, keys->api_id, &id);
        if (r >= 0)
                r = index_move(s, txn, s->role_name, keys->org, old_name, keys->name, &id);
        if (r >= 0)
                r = role_acl_put(s, txn, &id, keys->api_id, keys->permissions);
        if (r >= 0)
                r = store_put(s, txn, s->roles, &id, record, len, 0);
        if (r < 0)
                goto fail;
        return 0;

fail:
        return store_fail(reterr_field, field, r);
}

int store_role_delete(Store *s, MDB_txn *txn, uint64_t org, const char *id_text, bool force, uint64_t *ret_members) {
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        _cleanup_free_ char *api_id = NULL, *name = NULL;
        StoreRoleInfo info;
        uint64_t removed = 0;
        MDB_val id, rec, seq;
        uint8_t sb[16];
        Key k;
        int r;

        r = role_meta_find(s, txn, id_text, org, &id, &info);
        if (r < 0)
                return r;
        r = role_record_get(s, txn, &id, &rec);
        if (r >= 0)
                r = record_keys(&rec, &api_id, &name);
        if (r >= 0)
                r = org_record_get(s, txn, org, &o);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;     /* a role of no organization */
        if (info.members > 0 && !force)
                return -ENOTEMPTY;
        if (o.count == 0)
                return -EUCLEAN;

        if (info.members > 0) {
                r = member_remove_role(s, txn, org, info.seq, &removed);
                if (r < 0)
                        return r;
        }
        store_key_index(s, &k, true, org, api_id);
        r = store_del(s, txn, s->role_api, &k.val);
        if (r >= 0) {
                store_key_index(s, &k, true, org, name);
                r = store_del(s, txn, s->role_name, &k.val);
        }
        seq = key_seq(sb, org, info.seq);
        if (r >= 0)
                r = store_del(s, txn, s->role_seq, &seq);
        if (r >= 0)
                r = store_del(s, txn, s->role_acl, &id);
        if (r >= 0)
                r = store_del(s, txn, s->role_meta, &id);
        if (r >= 0)
                r = store_del(s, txn, s->roles, &id);
        if (r == -ENOENT)
                r = -EUCLEAN;   /* an entry its record promised is missing */
        if (r >= 0)
                r = bucket_add(s, txn, org, info.seq, -1);
        if (r < 0)
                return r;
        o.count--;
        r = org_record_put(s, txn, &o, 0);
        if (r >= 0)
                r = store_meta_add(s, txn, "roles", -1);
        if (r >= 0 && ret_members)
                *ret_members = removed;
        return r;
}

/* ---- reads ---- */

int store_role_get(Store *s, MDB_txn *txn, uint64_t org, const char *by, const char *value,
                   const void **ret_blob, size_t *ret_len) {
        MDB_val id, v;
        int r;

        if (!by || !value)
                return -EINVAL;

        if (strcmp(by, "id") == 0) {
                StoreRoleInfo info;
                r = role_meta_find(s, txn, value, org, &id, &info);
                if (r < 0)
                        return r;
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
        }
        r = role_record_get(s, txn, &id, &v);
        if (r < 0)
                return r;

        *ret_blob = v.mv_data;
        *ret_len = v.mv_size;
        return 0;
}

int store_role_count(Store *s, MDB_txn *txn, uint64_t org, uint64_t *ret) {
        StoreOrgCounts c;
        int r = store_org_counts(s, txn, org, &c);
        if (r >= 0)
                *ret = c.roles;
        return r;
}

/* Is the cursor result r at an entry of org (a 16-byte org | n key)? */
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

/* Positions c (on role_seq) at the role `offset` roles from the start of
 * org, for an organization that deleted roles: the buckets say how many
 * live roles each 1024 sequence numbers hold, so whole buckets are
 * skipped and at most one is walked. */
static int seek_offset_buckets(Store *s, MDB_txn *txn, MDB_cursor *c, uint64_t org, uint64_t offset,
                               MDB_val *k, MDB_val *v, bool *ret_valid) {
        _cleanup_(cursor_closep) MDB_cursor *bc = NULL;
        uint8_t kb[16], sb[16];
        MDB_val bk = key_seq(kb, org, 0), bv;
        uint64_t start = 0;
        bool in = false;
        int r;

        r = store_errno(mdb_cursor_open(txn, s->role_buckets, &bc));
        if (r < 0)
                return r;
        r = seq_in_org(mdb_cursor_get(bc, &bk, &bv, MDB_SET_RANGE), &bk, org, &in);
        while (r >= 0 && in) {
                uint64_t n;
                if (bv.mv_size != 8)
                        return -EUCLEAN;
                n = be64_get(bv.mv_data);
                start = be64_get((const uint8_t *) bk.mv_data + 8) << STORE_BUCKET_SHIFT;
                if (n > offset)
                        break;
                offset -= n;
                start = UINT64_MAX;     /* past every bucket: nothing at this offset */
                r = seq_in_org(mdb_cursor_get(bc, &bk, &bv, MDB_NEXT), &bk, org, &in);
        }
        if (r < 0)
                return r;
        if (start == UINT64_MAX || !in) {
                *ret_valid = false;
                return 0;
        }
        *k = key_seq(sb, org, start);
        r = seq_in_org(mdb_cursor_get(c, k, v, MDB_SET_RANGE), k, org, ret_valid);
        for (uint64_t i = 0; r >= 0 && *ret_valid && i < offset; i++)
                r = seq_in_org(mdb_cursor_get(c, k, v, MDB_NEXT), k, org, ret_valid);
        return r;
}

int store_role_list(Store *s, MDB_txn *txn, uint64_t org, uint64_t offset, uint64_t after_seq,
                    size_t limit, StoreRoleVisit visit, void *userdata,
                    uint64_t *ret_last_seq, bool *ret_more) {
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        uint64_t last = 0;
        uint8_t kb[16];
        MDB_val k, v;
        bool valid = false;
        int r;

        r = store_errno(mdb_cursor_open(txn, s->role_seq, &c));
        if (r < 0)
                return r;

        if (after_seq == UINT64_MAX)
                valid = false;          /* nothing after the last possible role */
        else if (after_seq > 0 || offset == 0) {
                k = key_seq(kb, org, after_seq > 0 ? after_seq + 1 : 0);
                r = seq_in_org(mdb_cursor_get(c, &k, &v, MDB_SET_RANGE), &k, org, &valid);
        } else {
                r = org_record_get(s, txn, org, &o);
                if (r >= 0 && o.count == o.next_seq - 1) {
                        /* Never a role deleted: sequence numbers are dense (1, 2, ...
                         * in creation order; a failed insert leaves no gap), so
                         * the role at `offset` is the one numbered offset + 1. */
                        k = key_seq(kb, org, offset < UINT64_MAX ? offset + 1 : UINT64_MAX);
                        r = seq_in_org(mdb_cursor_get(c, &k, &v, MDB_SET_RANGE), &k, org, &valid);
                        if (r >= 0 && valid && be64_get((const uint8_t *) k.mv_data + 8) != offset + 1)
                                r = -EUCLEAN;   /* the count says dense, the index does not */
                } else if (r >= 0)
                        r = seek_offset_buckets(s, txn, c, org, offset, &k, &v, &valid);
        }
        if (r < 0)
                return r;

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
