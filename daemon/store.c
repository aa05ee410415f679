/* store.c: the LMDB role database (see store.h for the layout). Owns the
 * environment, its named databases, the reader gate that lets store_grow
 * remap while no read transaction is open, first-start seeding of the
 * Rocket.Chat workspace, and the encoding of every stored record. Never
 * logs: every failure is a negative errno for the caller to report. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/catalog.h"
#include "daemon/limits.h"
#include "daemon/store.h"
#include "proto/clock.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/wire.h"

#define STORE_SCHEMA_VERSION 1u
#define STORE_KEY_BUF 512u      /* >= LMDB's default maximum key size (511) */
#define HASH_KEY_LEN (1u + crypto_generichash_BYTES)

struct Store {
        MDB_env *env;
        size_t maxkey;                  /* usable key bytes: min(mdb_env_get_maxkeysize, STORE_KEY_BUF) */

        MDB_dbi meta, orgs, roles, role_api, role_name, role_seq, catalogs, perms,
                keys, users, usernames;

        /* Reader gate: read transactions may be begun on one thread and
         * ended on another, which a pthread rwlock does not allow (unlock
         * by a non-owner is undefined), so the gate is a counter under a
         * mutex. While a grow is pending no new reader enters (no
         * starvation of the writer); store_grow waits for readers == 0. */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned readers;
        bool growing;
        size_t mapsize;                 /* under lock: mdb_env_info reads the map, which store_grow remaps */
        uint64_t writes;                /* mdb_put calls so far (by the writer thread) */
};

/* Stored organization record: the Org plus its counters. */
typedef struct OrgRecord {
        Org org;
        uint64_t count;         /* roles, built-ins included */
        uint64_t next_seq;      /* sequence number of the next role (from 1) */
} OrgRecord;

static void org_record_done(OrgRecord *o) {
        org_done(&o->org);
        *o = (OrgRecord) { 0 };
}

/* ---- cleanup helpers ---- */

static void txn_abortp(MDB_txn **t) {
        if (*t)
                mdb_txn_abort(*t);
}
static void cursor_closep(MDB_cursor **c) {
        if (*c)
                mdb_cursor_close(*c);
}
static void sbuffer_donep(msgpack_sbuffer *b) {
        msgpack_sbuffer_destroy(b);
}
static void unpacked_donep(msgpack_unpacked *u) {
        msgpack_unpacked_destroy(u);
}
static void org_record_donep(OrgRecord *o) {
        org_record_done(o);
}
static void role_donep(Role *r) {
        role_done(r);
}
#define _cleanup_sbuffer_ _cleanup_(sbuffer_donep)
#define _cleanup_unpacked_ _cleanup_(unpacked_donep)

/* The one place LMDB results become errno. */
static int store_errno(int r) {
        switch (r) {
        case MDB_SUCCESS:
                return 0;
        case MDB_NOTFOUND:
                return -ENOENT;
        case MDB_KEYEXIST:
                return -EEXIST;
        case MDB_MAP_FULL:
        case MDB_TXN_FULL:
                return -ENOSPC;
        case MDB_CORRUPTED:
        case MDB_PAGE_NOTFOUND:
        case MDB_INVALID:
        case MDB_VERSION_MISMATCH:
                return -EUCLEAN;
        case MDB_READERS_FULL:
                return -EBUSY;
        }
        if (r > 0)
                return -r;      /* a system errno (EIO, ENOSPC, EACCES, ...) */
        return -EIO;
}

/* ---- keys ---- */

static void be64_put(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

static uint64_t be64_get(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = (v << 8) | p[i];
        return v;
}

typedef struct Key {
        uint8_t buf[STORE_KEY_BUF];
        MDB_val val;
} Key;

/* [org u64 |] text, or [org u64 |] 0xff | BLAKE2b-256(text) when that would
 * exceed the key limit. */
static void key_index(const Store *s, Key *k, bool with_org, uint64_t org, const char *text) {
        size_t len = strlen(text), n = 0;

        if (with_org) {
                be64_put(k->buf, org);
                n = 8;
        }
        if (n + len <= s->maxkey) {
                memcpy(k->buf + n, text, len);
                n += len;
        } else {
                k->buf[n++] = 0xff;
                crypto_generichash(k->buf + n, crypto_generichash_BYTES,
                                   (const unsigned char *) text, len, NULL, 0);
                n += crypto_generichash_BYTES;
        }
        k->val = (MDB_val) { .mv_size = n, .mv_data = k->buf };
}

/* A plain text key (role, key and user ids): -EINVAL when empty or too long. */
static int key_text(const Store *s, MDB_val *k, const char *text) {
        size_t len = text ? strlen(text) : 0;
        if (len == 0 || len > s->maxkey)
                return -EINVAL;
        *k = (MDB_val) { .mv_size = len, .mv_data = (void *) text };
        return 0;
}

static MDB_val key_u64(uint8_t buf[static 8], uint64_t v) {
        be64_put(buf, v);
        return (MDB_val) { .mv_size = 8, .mv_data = buf };
}

static MDB_val key_seq(uint8_t buf[static 16], uint64_t org, uint64_t seq) {
        be64_put(buf, org);
        be64_put(buf + 8, seq);
        return (MDB_val) { .mv_size = 16, .mv_data = buf };
}

/* ---- record helpers ---- */

static int get(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *ret) {
        return store_errno(mdb_get(txn, dbi, k, ret));
}

/* Every write goes through here, and is counted (store_writes). */
static int put(Store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, const void *p, size_t n, unsigned flags) {
        MDB_val v = { .mv_size = n, .mv_data = (void *) p };
        s->writes++;
        return store_errno(mdb_put(txn, dbi, k, &v, flags));
}

static int put_sbuffer(Store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, const msgpack_sbuffer *b, unsigned flags) {
        return put(s, txn, dbi, k, b->data, b->size, flags);
}

/* A decoder's result for a stored record: -ENOMEM stays, any other
 * failure means the record is not what we wrote. */
static int decoded(int r) {
        return r >= 0 ? 0 : r == -ENOMEM ? r : -EUCLEAN;
}

/* Decodes one MessagePack object filling the whole value; -EUCLEAN otherwise. */
static int unpack_value(const void *p, size_t n, msgpack_unpacked *u) {
        size_t off = 0;
        if (msgpack_unpack_next(u, p, n, &off) != MSGPACK_UNPACK_SUCCESS || off != n)
                return -EUCLEAN;
        return 0;
}

/* Optional string field: absent or nil gives NULL. */
static int read_opt_str(const msgpack_object *map, const char *key, char **ret) {
        const msgpack_object *o = mp_map_get(map, key);
        *ret = NULL;
        if (!o || o->type == MSGPACK_OBJECT_NIL)
                return 0;
        return decoded(mp_read_str(o, ret));
}

static int read_req_str(const msgpack_object *map, const char *key, char **ret) {
        const msgpack_object *o = mp_map_get(map, key);
        *ret = NULL;
        return decoded(o ? mp_read_str(o, ret) : -EINVAL);
}

static int read_req_u64(const msgpack_object *map, const char *key, uint64_t *ret) {
        const msgpack_object *o = mp_map_get(map, key);
        if (!o || mp_read_u64(o, ret) < 0)
                return -EUCLEAN;
        return 0;
}

static int read_hash(const msgpack_object *map, uint8_t ret[static 32]) {
        const msgpack_object *o = mp_map_get(map, "hash");
        if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != 32)
                return -EUCLEAN;
        memcpy(ret, o->via.bin.ptr, 32);
        return 0;
}

/* ---- meta ---- */

static int meta_get_u64(Store *s, MDB_txn *txn, const char *name, uint64_t *ret) {
        MDB_val k = { .mv_size = strlen(name), .mv_data = (void *) name }, v;
        int r = get(txn, s->meta, &k, &v);
        if (r < 0)
                return r;
        if (v.mv_size != 8)
                return -EUCLEAN;
        *ret = be64_get(v.mv_data);
        return 0;
}

static int meta_put_u64(Store *s, MDB_txn *txn, const char *name, uint64_t val) {
        MDB_val k = { .mv_size = strlen(name), .mv_data = (void *) name };
        uint8_t b[8];
        be64_put(b, val);
        return put(s, txn, s->meta, &k, b, sizeof b, 0);
}

/* ---- organizations ---- */

static int org_record_put(Store *s, MDB_txn *txn, const OrgRecord *o, unsigned flags) {
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        msgpack_packer pk;
        uint8_t kb[8];
        MDB_val k = key_u64(kb, o->org.id);

        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        if (msgpack_pack_map(&pk, 5) < 0 ||
            mp_pack_kv_u64(&pk, "id", o->org.id) < 0 ||
            mp_pack_kv_str(&pk, "name", o->org.name) < 0 ||
            mp_pack_kv_str(&pk, "provider", o->org.provider) < 0 ||
            mp_pack_kv_u64(&pk, "count", o->count) < 0 ||
            mp_pack_kv_u64(&pk, "next_seq", o->next_seq) < 0)
                return -ENOMEM;
        return put_sbuffer(s, txn, s->orgs, &k, &b, flags);
}

/* ret may be NULL. */
static int org_record_get(Store *s, MDB_txn *txn, uint64_t id, OrgRecord *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        uint8_t kb[8];
        MDB_val k = key_u64(kb, id), v;
        int r;

        r = get(txn, s->orgs, &k, &v);
        if (r < 0 || !ret)
                return r;

        msgpack_unpacked_init(&u);
        r = unpack_value(v.mv_data, v.mv_size, &u);
        if (r < 0)
                return r;
        r = decoded(org_unpack(&u.data, &o.org));
        if (r < 0)
                return r;
        if (o.org.id != id ||
            read_req_u64(&u.data, "count", &o.count) < 0 ||
            read_req_u64(&u.data, "next_seq", &o.next_seq) < 0 || o.next_seq == 0)
                return -EUCLEAN;

        *ret = o;
        o = (OrgRecord) { 0 };
        return 0;
}

int store_org_get(Store *s, MDB_txn *txn, uint64_t id, Org *ret) {
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

typedef struct PermsPut {
        Store *s;
        MDB_txn *txn;
        uint64_t org;
} PermsPut;

static int perms_put_one(const char *name, void *userdata) {
        PermsPut *p = userdata;
        Key k;
        key_index(p->s, &k, true, p->org, name);
        return put(p->s, p->txn, p->s->perms, &k.val, "", 0, 0);
}

/* The organization record, its catalog and its catalog membership index. */
static int org_create(Store *s, MDB_txn *txn, const Org *o, bool workspace) {
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        msgpack_packer pk;
        OrgRecord rec = { .org = *o, .count = 0, .next_seq = 1 };
        uint8_t kb[8];
        MDB_val k = key_u64(kb, o->id);
        int r;

        r = org_record_put(s, txn, &rec, MDB_NOOVERWRITE);
        if (r < 0)
                return r;

        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        r = catalog_pack(&pk, workspace);
        if (r < 0)
                return r;
        r = put_sbuffer(s, txn, s->catalogs, &k, &b, 0);
        if (r < 0)
                return r;

        return catalog_foreach_permission(workspace, perms_put_one,
                                          &(PermsPut) { .s = s, .txn = txn, .org = o->id });
}

static const struct {
        const char *name;
        const char *description;
} partoo_builtins[] = {
        { "ORG_ADMIN", "Organization administrator" },
        { "ORG_MANAGER", "Organization manager" },
        { "GROUP_MANAGER", "Group manager" },
        { "BUSINESS_MANAGER", "Business manager" },
        { "PUBLISHER", "Publisher" },
};

int store_org_add(Store *s, MDB_txn *txn, const Org *o, uint64_t now) {
        char *no_permissions[] = { NULL };
        int r;

        if (o->id == 0)
                return -EINVAL;
        r = org_record_get(s, txn, o->id, NULL);
        if (r >= 0)
                return -EEXIST;
        if (r != -ENOENT)
                return r;

        r = org_create(s, txn, o, false);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(partoo_builtins); i++) {
                char id[32 + sizeof "BUSINESS_MANAGER"];
                snprintf(id, sizeof id, "%" PRIu64 "-%s", o->id, partoo_builtins[i].name);
                Role role = {
                        .id = id,
                        .org = o->id,
                        .api_id = (char *) partoo_builtins[i].name,
                        .name = (char *) partoo_builtins[i].name,
                        .description = (char *) partoo_builtins[i].description,
                        .scope = (char *) "Users",
                        .permissions = no_permissions,
                        .mandatory2fa = false,
                        .is_protected = true,
                        .created_at = now,
                        .updated_at = now,
                };
                r = store_role_insert(s, txn, &role, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- roles ---- */

static int role_record_get(Store *s, MDB_txn *txn, const MDB_val *id, MDB_val *ret) {
        MDB_val k = *id;
        int r = get(txn, s->roles, &k, ret);
        return r == -ENOENT ? -EUCLEAN : r;     /* an index entry without its record */
}

/* The org of an encoded role. */
static int role_blob_org(const void *p, size_t n, uint64_t *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        int r;

        msgpack_unpacked_init(&u);
        r = unpack_value(p, n, &u);
        if (r < 0)
                return r;
        return read_req_u64(&u.data, "org", ret);
}

/* 0 when the index has no entry for k, -EEXIST when it has. */
static int index_free(Store *s, MDB_txn *txn, MDB_dbi dbi, Key *k) {
        MDB_val v;
        int r = get(txn, dbi, &k->val, &v);
        return r >= 0 ? -EEXIST : r == -ENOENT ? 0 : r;
}

/* Rocket.Chat: an org-0 name may not equal an existing org-0 role's _id. */
static int name_not_an_id(Store *s, MDB_txn *txn, const char *name) {
        MDB_val k, v;
        uint64_t org;
        int r;

        if (key_text(s, &k, name) < 0)
                return 0;               /* too long to be an id */
        r = get(txn, s->roles, &k, &v);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = role_blob_org(v.mv_data, v.mv_size, &org);
        if (r < 0)
                return r;
        return org == 0 ? -EEXIST : 0;
}

int store_role_insert(Store *s, MDB_txn *txn, const Role *role, const char **reterr_field) {
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        msgpack_packer pk;
        const char *field = NULL;
        MDB_val id, v;
        Key api, name;
        uint8_t sb[16];
        MDB_val seq;
        uint64_t total;
        int r;

        if (reterr_field)
                *reterr_field = NULL;
        if (!role->api_id || !role->name || !role->scope) {
                field = !role->api_id ? "api_id" : !role->name ? "name" : "scope";
                r = -EINVAL;
                goto fail;
        }

        field = "org";
        r = org_record_get(s, txn, role->org, &o);
        if (r < 0)
                goto fail;

        field = "id";
        r = key_text(s, &id, role->id);
        if (r < 0)
                goto fail;
        r = get(txn, s->roles, &id, &v);
        if (r >= 0)
                r = -EEXIST;
        if (r != -ENOENT)
                goto fail;

        /* In org 0 api_id == name, so the name checks come first there and a
         * duplicate reports "name", as Rocket.Chat does. */
        key_index(s, &api, true, role->org, role->api_id);
        key_index(s, &name, true, role->org, role->name);
        for (unsigned pass = 0; pass < 2; pass++) {
                if ((pass == 0) == (role->org != 0)) {
                        field = "api_id";
                        r = index_free(s, txn, s->role_api, &api);
                } else {
                        field = "name";
                        r = index_free(s, txn, s->role_name, &name);
                        if (r >= 0 && role->org == 0)
                                r = name_not_an_id(s, txn, role->name);
                }
                if (r < 0)
                        goto fail;
        }

        field = NULL;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        r = role_pack(&pk, role);
        if (r < 0)
                goto fail;

        r = put_sbuffer(s, txn, s->roles, &id, &b, MDB_NOOVERWRITE);
        if (r < 0)
                goto fail;
        r = put(s, txn, s->role_api, &api.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r < 0)
                goto fail;
        r = put(s, txn, s->role_name, &name.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r < 0)
                goto fail;
        seq = key_seq(sb, role->org, o.next_seq);
        r = put(s, txn, s->role_seq, &seq, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r < 0)
                goto fail;

        o.next_seq++;
        o.count++;
        r = org_record_put(s, txn, &o, 0);
        if (r < 0)
                goto fail;

        r = meta_get_u64(s, txn, "roles", &total);
        if (r == -ENOENT) {
                total = 0;
                r = 0;
        }
        if (r < 0)
                goto fail;
        r = meta_put_u64(s, txn, "roles", total + 1);
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
                if (key_text(s, &id, value) < 0)
                        return -ENOENT;         /* no id is that long (or empty) */
                r = get(txn, s->roles, &id, &v);
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
                key_index(s, &k, true, org, value);
                r = get(txn, dbi, &k.val, &id);
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

int store_role_decode(const void *blob, size_t len, Role *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        _cleanup_(role_donep) Role role = { 0 };
        int r;

        msgpack_unpacked_init(&u);
        r = unpack_value(blob, len, &u);
        if (r < 0)
                return r;
        r = decoded(role_unpack(&u.data, &role));
        if (r < 0)
                return r;
        *ret = role;
        role = (Role) { 0 };
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

/* ---- permission catalogs ---- */

int store_permission_exists(Store *s, MDB_txn *txn, uint64_t org, const char *name) {
        MDB_val v;
        Key k;
        int r;

        r = org_record_get(s, txn, org, NULL);
        if (r < 0)
                return r;
        if (!name || !*name)
                return 0;
        key_index(s, &k, true, org, name);
        r = get(txn, s->perms, &k.val, &v);
        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : 1;
}

int store_catalog_get(Store *s, MDB_txn *txn, uint64_t org, const void **ret_blob, size_t *ret_len) {
        uint8_t kb[8];
        MDB_val k = key_u64(kb, org), v;
        int r = get(txn, s->catalogs, &k, &v);
        if (r < 0)
                return r;
        *ret_blob = v.mv_data;
        *ret_len = v.mv_size;
        return 0;
}

/* ---- credentials ---- */

void stored_key_done(StoredKey *k) {
        if (!k)
                return;
        free(k->user_role);
        free(k->provider);
        sodium_memzero(k, sizeof *k);
}

static void stored_key_donep(StoredKey *k) {
        stored_key_done(k);
}

void stored_user_done(StoredUser *u) {
        if (!u)
                return;
        free(u->username);
        strv_free(u->roles);
        sodium_memzero(u, sizeof *u);
}

static void stored_user_donep(StoredUser *u) {
        stored_user_done(u);
}

int store_key_put(Store *s, MDB_txn *txn, const char *key_id, const StoredKey *key) {
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        msgpack_packer pk;
        MDB_val k;
        int r;

        r = key_text(s, &k, key_id);
        if (r < 0)
                return r;
        if (!key->user_role)
                return -EINVAL;

        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        if (msgpack_pack_map(&pk, 2 + key->has_org + !!key->provider) < 0 ||
            mp_pack_str(&pk, "hash") < 0 ||
            msgpack_pack_bin_with_body(&pk, key->hash, sizeof key->hash) < 0 ||
            mp_pack_kv_str(&pk, "user_role", key->user_role) < 0 ||
            (key->has_org && mp_pack_kv_u64(&pk, "org", key->org) < 0) ||
            (key->provider && mp_pack_kv_str(&pk, "provider", key->provider) < 0))
                return -ENOMEM;
        r = put_sbuffer(s, txn, s->keys, &k, &b, MDB_NOOVERWRITE);
        sodium_memzero(b.data, b.size);
        return r;
}

int store_key_get(Store *s, MDB_txn *txn, const char *key_id, StoredKey *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        _cleanup_(stored_key_donep) StoredKey key = { 0 };
        const msgpack_object *o;
        MDB_val k, v;
        int r;

        if (key_text(s, &k, key_id) < 0)
                return -ENOENT;
        r = get(txn, s->keys, &k, &v);
        if (r < 0)
                return r;

        msgpack_unpacked_init(&u);
        r = unpack_value(v.mv_data, v.mv_size, &u);
        if (r < 0)
                return r;
        r = read_hash(&u.data, key.hash);
        if (r >= 0)
                r = read_req_str(&u.data, "user_role", &key.user_role);
        if (r >= 0)
                r = read_opt_str(&u.data, "provider", &key.provider);
        if (r < 0)
                return r;
        o = mp_map_get(&u.data, "org");
        if (o && o->type != MSGPACK_OBJECT_NIL) {
                if (mp_read_u64(o, &key.org) < 0)
                        return -EUCLEAN;
                key.has_org = true;
        }

        *ret = key;
        key = (StoredKey) { 0 };
        return 0;
}

int store_user_put(Store *s, MDB_txn *txn, const char *user_id, const StoredUser *user,
                   const char **reterr_field) {
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        msgpack_packer pk;
        const char *field = NULL;
        MDB_val id, v;
        Key name;
        int r;

        if (!user->username || !*user->username) {
                field = "username";
                r = -EINVAL;
                goto fail;
        }
        field = "user_id";
        r = key_text(s, &id, user_id);
        if (r < 0)
                goto fail;

        field = "username";
        key_index(s, &name, false, 0, user->username);
        r = get(txn, s->usernames, &name.val, &v);
        if (r >= 0)
                r = -EEXIST;
        if (r != -ENOENT)
                goto fail;

        field = "user_id";
        r = get(txn, s->users, &id, &v);
        if (r >= 0)
                r = -EEXIST;
        if (r != -ENOENT)
                goto fail;

        field = NULL;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        if (msgpack_pack_map(&pk, 3) < 0 ||
            mp_pack_kv_str(&pk, "username", user->username) < 0 ||
            mp_pack_str(&pk, "hash") < 0 ||
            msgpack_pack_bin_with_body(&pk, user->hash, sizeof user->hash) < 0 ||
            mp_pack_str(&pk, "roles") < 0 ||
            mp_pack_strv(&pk, user->roles) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        r = put_sbuffer(s, txn, s->users, &id, &b, MDB_NOOVERWRITE);
        sodium_memzero(b.data, b.size);
        if (r < 0)
                goto fail;
        r = put(s, txn, s->usernames, &name.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r < 0)
                goto fail;
        return 0;

fail:
        if (reterr_field)
                *reterr_field = field;
        return r;
}

int store_user_get(Store *s, MDB_txn *txn, const char *user_id, StoredUser *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        _cleanup_(stored_user_donep) StoredUser user = { 0 };
        const msgpack_object *o;
        MDB_val k, v;
        size_t n;
        int r;

        if (key_text(s, &k, user_id) < 0)
                return -ENOENT;
        r = get(txn, s->users, &k, &v);
        if (r < 0)
                return r;

        msgpack_unpacked_init(&u);
        r = unpack_value(v.mv_data, v.mv_size, &u);
        if (r < 0)
                return r;
        r = read_hash(&u.data, user.hash);
        if (r >= 0)
                r = read_req_str(&u.data, "username", &user.username);
        if (r >= 0) {
                o = mp_map_get(&u.data, "roles");
                r = decoded(o ? mp_read_strv(o, &user.roles, &n) : -EINVAL);
        }
        if (r < 0)
                return r;

        *ret = user;
        user = (StoredUser) { 0 };
        return 0;
}

int store_stats(Store *s, MDB_txn *txn, uint64_t *ret_orgs, uint64_t *ret_roles) {
        MDB_stat st;
        uint64_t roles = 0;
        int r;

        r = store_errno(mdb_stat(txn, s->orgs, &st));
        if (r < 0)
                return r;
        r = meta_get_u64(s, txn, "roles", &roles);
        if (r < 0 && r != -ENOENT)
                return r;
        if (ret_orgs)
                *ret_orgs = st.ms_entries;
        if (ret_roles)
                *ret_roles = roles;
        return 0;
}

/* ---- transactions ---- */

static void gate_leave(Store *s) {
        pthread_mutex_lock(&s->lock);
        if (--s->readers == 0)
                pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

static void gate_enter(Store *s) {
        pthread_mutex_lock(&s->lock);
        while (s->growing)
                pthread_cond_wait(&s->cond, &s->lock);
        s->readers++;
        pthread_mutex_unlock(&s->lock);
}

int store_read_begin(Store *s, MDB_txn **ret) {
        int r;

        gate_enter(s);
        r = store_errno(mdb_txn_begin(s->env, NULL, MDB_RDONLY, ret));
        if (r < 0) {
                *ret = NULL;
                gate_leave(s);
        }
        return r;
}

void store_read_end(Store *s, MDB_txn *txn) {
        if (!txn)
                return;
        mdb_txn_abort(txn);
        gate_leave(s);
}

int store_read_renew(Store *s, MDB_txn **txn) {
        int r;

        if (!*txn)
                return store_read_begin(s, txn);
        gate_enter(s);
        r = store_errno(mdb_txn_renew(*txn));
        if (r < 0)
                gate_leave(s);
        return r;
}

void store_read_reset(Store *s, MDB_txn *txn) {
        if (!txn)
                return;
        mdb_txn_reset(txn);
        gate_leave(s);
}

int store_write_begin(Store *s, MDB_txn **ret) {
        int r = store_errno(mdb_txn_begin(s->env, NULL, 0, ret));
        if (r < 0)
                *ret = NULL;
        return r;
}

int store_write_commit(Store *s, MDB_txn *txn) {
        return store_errno(mdb_txn_commit(txn));
}

void store_write_abort(Store *s, MDB_txn *txn) {
        if (txn)
                mdb_txn_abort(txn);
}

uint64_t store_writes(const Store *s) {
        return s->writes;
}

size_t store_mapsize(Store *s) {
        size_t n;
        pthread_mutex_lock(&s->lock);
        n = s->mapsize;
        pthread_mutex_unlock(&s->lock);
        return n;
}

int store_grow(Store *s) {
        MDB_envinfo info;
        int r;

        pthread_mutex_lock(&s->lock);
        while (s->growing)              /* one grower at a time (there is one writer anyway) */
                pthread_cond_wait(&s->cond, &s->lock);
        s->growing = true;
        while (s->readers > 0)
                pthread_cond_wait(&s->cond, &s->lock);

        r = store_errno(mdb_env_info(s->env, &info));
        if (r >= 0) {
                if (info.me_mapsize > SIZE_MAX / 2)
                        r = -ENOSPC;
                else
                        r = store_errno(mdb_env_set_mapsize(s->env, info.me_mapsize * 2));
        }
        if (r >= 0)
                r = store_errno(mdb_env_info(s->env, &info));
        if (r >= 0)
                s->mapsize = info.me_mapsize;

        s->growing = false;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        return r;
}

/* ---- open, seed, close ---- */

static const struct {
        const char *name;
        const char *description;
        const char *scope;
        const char *const *permissions;         /* NULL-terminated; NULL = every permission */
} workspace_builtins[] = {
        { "admin", "Admin", "Users", NULL },
        { "moderator", "Moderator", "Subscriptions", (const char *const[]) {
                  "edit-message", "delete-message", "mute-user", "remove-user", "ban-user",
                  "edit-room", "post-readonly", "view-c-room", "view-p-room", NULL } },
        { "leader", "Leader", "Subscriptions", (const char *const[]) {
                  "view-c-room", "view-p-room", NULL } },
        { "owner", "Owner", "Subscriptions", (const char *const[]) {
                  "add-user-to-joined-room", "archive-room", "ban-user", "delete-message",
                  "edit-message", "edit-room", "mute-user", "remove-user", "set-leader",
                  "set-moderator", "set-owner", "post-readonly", NULL } },
        { "user", "", "Users", (const char *const[]) {
                  "create-c", "create-p", "create-d", "view-c-room", "view-p-room",
                  "view-d-room", "view-joined-room", "view-history", "leave-c", "leave-p",
                  "mention-all", "add-user-to-joined-room", "create-personal-access-tokens",
                  NULL } },
        { "bot", "", "Users", (const char *const[]) {
                  "create-d", "view-c-room", "view-d-room", "view-joined-room", "view-history",
                  "mention-all", "add-user-to-joined-room", NULL } },
        { "app", "", "Users", (const char *const[]) {
                  "create-c", "create-p", "create-d", "view-c-room", "view-p-room",
                  "view-d-room", "view-joined-room", "view-history", "add-user-to-any-room",
                  "edit-message", "delete-message", "post-readonly", NULL } },
        { "guest", "", "Users", (const char *const[]) {
                  "view-d-room", "view-joined-room", "view-history", NULL } },
        { "anonymous", "", "Users", (const char *const[]) {
                  "view-c-room", "view-history", NULL } },
        { "livechat-agent", "Livechat Agent", "Users", (const char *const[]) {
                  "view-l-room", "close-livechat-room", "transfer-livechat-guest", NULL } },
        { "livechat-manager", "Livechat Manager", "Users", (const char *const[]) {
                  "view-l-room", "view-livechat-rooms", "view-livechat-manager",
                  "close-livechat-room", "transfer-livechat-guest", "manage-livechat-agents",
                  "manage-livechat-managers", NULL } },
        { "livechat-monitor", "Livechat Monitor", "Users", (const char *const[]) {
                  "view-l-room", "view-livechat-rooms", "view-livechat-manager",
                  "transfer-livechat-guest", NULL } },
};

typedef struct StrvBuilder {
        char **l;
        size_t n;
} StrvBuilder;

static int strv_builder_add(const char *name, void *userdata) {
        StrvBuilder *b = userdata;
        char **l = realloc(b->l, (b->n + 2) * sizeof *l);
        if (!l)
                return -ENOMEM;
        b->l = l;
        l[b->n++] = (char *) name;      /* borrowed from the static catalog */
        l[b->n] = NULL;
        return 0;
}

static int seed_workspace(Store *s, MDB_txn *txn) {
        _cleanup_free_ char **all = NULL;
        StrvBuilder b = { 0 };
        uint64_t now = wall_ms();
        Org org = { .id = 0, .name = (char *) "Rocket.Chat workspace", .provider = NULL };
        int r;

        r = catalog_foreach_permission(true, strv_builder_add, &b);
        all = b.l;
        if (r < 0)
                return r;

        r = org_create(s, txn, &org, true);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(workspace_builtins); i++) {
                Role role = {
                        .id = (char *) workspace_builtins[i].name,
                        .org = 0,
                        .api_id = (char *) workspace_builtins[i].name,
                        .name = (char *) workspace_builtins[i].name,
                        .description = (char *) workspace_builtins[i].description,
                        .scope = (char *) workspace_builtins[i].scope,
                        .permissions = workspace_builtins[i].permissions ?
                                (char **) workspace_builtins[i].permissions : all,
                        .mandatory2fa = false,
                        .is_protected = true,
                        .created_at = now,
                        .updated_at = now,
                };
                r = store_role_insert(s, txn, &role, NULL);
                if (r < 0)
                        return r;
        }

        return meta_put_u64(s, txn, "version", STORE_SCHEMA_VERSION);
}

/* Opens every named database and seeds on first start, in one transaction. */
static int store_init(Store *s) {
        static const struct {
                const char *name;
                size_t offset;
        } dbs[] = {
                { "meta", offsetof(Store, meta) },
                { "orgs", offsetof(Store, orgs) },
                { "roles", offsetof(Store, roles) },
                { "role_api", offsetof(Store, role_api) },
                { "role_name", offsetof(Store, role_name) },
                { "role_seq", offsetof(Store, role_seq) },
                { "catalogs", offsetof(Store, catalogs) },
                { "perms", offsetof(Store, perms) },
                { "keys", offsetof(Store, keys) },
                { "users", offsetof(Store, users) },
                { "usernames", offsetof(Store, usernames) },
        };
        _cleanup_(txn_abortp) MDB_txn *txn = NULL;
        uint64_t version;
        int r;

        r = store_write_begin(s, &txn);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(dbs); i++) {
                r = store_errno(mdb_dbi_open(txn, dbs[i].name, MDB_CREATE,
                                             (MDB_dbi *) ((uint8_t *) s + dbs[i].offset)));
                if (r < 0)
                        return r;
        }

        r = meta_get_u64(s, txn, "version", &version);
        if (r == -ENOENT)
                r = seed_workspace(s, txn);
        else if (r >= 0 && version != STORE_SCHEMA_VERSION)
                r = -EPROTONOSUPPORT;
        if (r < 0)
                return r;

        return store_write_commit(s, TAKE_PTR(txn));
}

/* After open: the map is at least the size recorded in the environment
 * (it may have grown in an earlier run), the file, and what was asked. */
static int store_fit_map(Store *s, const char *dir, size_t want) {
        _cleanup_free_ char *path = NULL;
        MDB_envinfo info;
        struct stat st;
        int r;

        r = store_errno(mdb_env_set_mapsize(s->env, 0));
        if (r < 0)
                return r;

        if (asprintf(&path, "%s/data.mdb", dir) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0)
                return negative_errno();
        if ((uint64_t) st.st_size > want)
                want = (size_t) st.st_size;

        r = store_errno(mdb_env_info(s->env, &info));
        if (r < 0)
                return r;
        if (info.me_mapsize < want)
                r = store_errno(mdb_env_set_mapsize(s->env, want));
        return r;
}

int store_open(const char *dir, const StoreOptions *opts, Store **ret) {
        size_t mapsize = opts && opts->initial_mapsize ? opts->initial_mapsize : STORE_MAPSIZE_DEFAULT;
        unsigned flags = MDB_NOTLS | (opts && opts->nosync ? MDB_NOSYNC : 0);
        MDB_envinfo info;
        Store *s;
        int dead, r;

        if (sodium_init() < 0)
                return -EIO;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);

        r = store_errno(mdb_env_create(&s->env));
        if (r < 0) {
                s->env = NULL;
                goto fail;
        }
        r = store_errno(mdb_env_set_maxdbs(s->env, 16));
        if (r >= 0)
                r = store_errno(mdb_env_set_maxreaders(s->env, STORE_MAX_READERS));
        if (r >= 0)
                r = store_errno(mdb_env_set_mapsize(s->env, mapsize));
        if (r >= 0)
                r = store_errno(mdb_env_open(s->env, dir, flags, 0600));
        if (r >= 0)
                r = store_fit_map(s, dir, mapsize);
        if (r >= 0)
                r = store_errno(mdb_reader_check(s->env, &dead));
        if (r >= 0)
                r = store_errno(mdb_env_info(s->env, &info));
        if (r < 0)
                goto fail;
        s->mapsize = info.me_mapsize;

        s->maxkey = (size_t) mdb_env_get_maxkeysize(s->env);
        if (s->maxkey > STORE_KEY_BUF)
                s->maxkey = STORE_KEY_BUF;
        if (s->maxkey < 8 + HASH_KEY_LEN) {
                r = -EINVAL;
                goto fail;
        }

        for (;;) {
                r = store_init(s);
                if (r != -ENOSPC)
                        break;
                r = store_grow(s);
                if (r < 0)
                        break;
        }
        if (r < 0)
                goto fail;

        *ret = s;
        return 0;

fail:
        store_close(s);
        return r;
}

Store *store_close(Store *s) {
        if (!s)
                return NULL;
        if (s->env)
                mdb_env_close(s->env);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}
