/* store-cred.c: REST credentials as the store keeps them: API keys and
 * the users of every organization, hashes only (auth.c makes and checks
 * them), with the users' index by name and count per organization. The
 * records are zeroed once used. See store.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

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
        free(u->name);
        sodium_memzero(u, sizeof *u);
}

static void stored_user_donep(StoredUser *u) {
        stored_user_done(u);
}

static void org_record_donep(OrgRecord *o) {
        org_record_done(o);
}

int store_key_put(Store *s, MDB_txn *txn, const char *key_id, const StoredKey *key) {
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        msgpack_packer pk;
        MDB_val k;
        int r;

        r = store_key_text(s, &k, key_id);
        if (r < 0)
                return r;
        if (!key->user_role)
                return -EINVAL;
        r = store_absent(txn, s->keys, &k);     /* checked before writing */
        if (r < 0)
                return r;

        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        if (msgpack_pack_map(&pk, 3 + key->has_org + !!key->provider) < 0 ||
            mp_pack_str(&pk, "hash") < 0 ||
            msgpack_pack_bin_with_body(&pk, key->hash, sizeof key->hash) < 0 ||
            mp_pack_kv_str(&pk, "user_role", key->user_role) < 0 ||
            (key->has_org && mp_pack_kv_u64(&pk, "org", key->org) < 0) ||
            (key->provider && mp_pack_kv_str(&pk, "provider", key->provider) < 0) ||
            mp_pack_kv_u64(&pk, "created_at", key->created_at) < 0)
                return -ENOMEM;
        r = store_put_sbuffer(s, txn, s->keys, &k, &b, MDB_NOOVERWRITE);
        sodium_memzero(b.data, b.size);
        return r;
}

/* The record stored under a text id in dbi, decoded by decode into ret.
 * -ENOENT when there is none, or the id cannot be one. */
static int record_by_id(Store *s, MDB_txn *txn, MDB_dbi dbi, const char *id,
                        int (*decode)(const msgpack_object *map, void *ret), void *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        MDB_val k, v;
        int r;

        if (store_key_text(s, &k, id) < 0)
                return -ENOENT;
        r = store_get(txn, dbi, &k, &v);
        if (r < 0)
                return r;
        msgpack_unpacked_init(&u);
        r = store_unpack(&v, &u);
        return r < 0 ? r : decode(&u.data, ret);
}

/* A key record (ret: a StoredKey); created_at is absent from those of
 * schema version 1 (0). */
static int key_decode(const msgpack_object *map, void *ret) {
        _cleanup_(stored_key_donep) StoredKey key = { 0 };
        const msgpack_object *o;
        int r;

        r = store_field_hash(map, key.hash);
        if (r >= 0)
                r = store_field_str(map, "user_role", &key.user_role);
        if (r >= 0)
                r = store_field_opt_str(map, "provider", &key.provider);
        if (r >= 0 && mp_map_get(map, "created_at"))
                r = store_field_u64(map, "created_at", &key.created_at);
        if (r < 0)
                return r;
        o = mp_map_get(map, "org");
        if (o && o->type != MSGPACK_OBJECT_NIL) {
                if (mp_read_u64(o, &key.org) < 0)
                        return -EUCLEAN;
                key.has_org = true;
        }

        *(StoredKey *) ret = key;
        key = (StoredKey) { 0 };
        return 0;
}

int store_key_get(Store *s, MDB_txn *txn, const char *key_id, StoredKey *ret) {
        return record_by_id(s, txn, s->keys, key_id, key_decode, ret);
}

int store_key_delete(Store *s, MDB_txn *txn, const char *key_id) {
        MDB_val k;

        if (store_key_text(s, &k, key_id) < 0)
                return -ENOENT;
        return store_del(s, txn, s->keys, &k);
}

int store_key_list(Store *s, MDB_txn *txn, StoreKeyVisit visit, void *userdata) {
        _cleanup_(cursor_closep) MDB_cursor *c = NULL;
        char id[STORE_KEY_BUF + 1];
        MDB_val k, v;
        int r;

        r = store_errno(mdb_cursor_open(txn, s->keys, &c));
        if (r < 0)
                return r;
        for (r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == MDB_SUCCESS; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                _cleanup_unpacked_ msgpack_unpacked u = { 0 };
                _cleanup_(stored_key_donep) StoredKey key = { 0 };
                int q;

                if (k.mv_size == 0 || k.mv_size > STORE_KEY_BUF)
                        return -EUCLEAN;
                memcpy(id, k.mv_data, k.mv_size);
                id[k.mv_size] = 0;
                msgpack_unpacked_init(&u);
                q = store_unpack(&v, &u);
                if (q >= 0)
                        q = key_decode(&u.data, &key);
                if (q >= 0)
                        q = visit(id, &key, userdata);
                if (q < 0)
                        return q;
        }
        return r == MDB_NOTFOUND ? 0 : store_errno(r);
}

int user_record_pack(msgpack_sbuffer *b, const StoredUser *u) {
        msgpack_packer pk;

        msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
        if (msgpack_pack_map(&pk, 5) < 0 ||
            mp_pack_kv_u64(&pk, "org", u->org) < 0 ||
            mp_pack_kv_str(&pk, "username", u->username) < 0 ||
            mp_pack_kv_str(&pk, "name", u->name) < 0 ||
            mp_pack_str(&pk, "hash") < 0 ||
            msgpack_pack_bin_with_body(&pk, u->hash, sizeof u->hash) < 0 ||
            mp_pack_kv_u64(&pk, "created_at", u->created_at) < 0)
                return -ENOMEM;
        return 0;
}

int store_user_put(Store *s, MDB_txn *txn, const char *user_id, const StoredUser *user,
                   const char **reterr_field) {
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        _cleanup_sbuffer_ msgpack_sbuffer b = { 0 };
        const char *field = NULL;
        MDB_val id;
        Key name, probe;
        int r;

        field = "org";
        r = org_record_get(s, txn, user->org, &o);
        if (r < 0)
                goto fail;
        field = "username";
        if (!user->username || member_key(s, &probe, 0, 0, user->username) < 0) {
                r = -EINVAL;    /* empty, or too long for its membership keys */
                goto fail;
        }
        store_key_index(s, &name, true, user->org, user->username);
        r = store_absent(txn, s->usernames, &name.val);
        if (r < 0)
                goto fail;

        field = "user_id";
        r = store_key_text(s, &id, user_id);
        if (r >= 0 && id.mv_size > STORE_USER_ID_MAX)
                r = -EINVAL;
        if (r >= 0)
                r = store_absent(txn, s->users, &id);
        if (r < 0)
                goto fail;

        field = NULL;
        msgpack_sbuffer_init(&b);
        r = user_record_pack(&b, user);
        if (r >= 0)
                r = store_put_sbuffer(s, txn, s->users, &id, &b, MDB_NOOVERWRITE);
        sodium_memzero(b.data, b.size);
        if (r >= 0)
                r = store_put(s, txn, s->usernames, &name.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
        if (r >= 0) {
                o.users++;
                r = org_record_put(s, txn, &o, 0);
        }
        if (r < 0)
                goto fail;
        return 0;

fail:
        return store_fail(reterr_field, field, r);
}

/* A user record (ret: a StoredUser). */
static int user_decode(const msgpack_object *map, void *ret) {
        _cleanup_(stored_user_donep) StoredUser user = { 0 };
        int r;

        r = store_field_hash(map, user.hash);
        if (r >= 0)
                r = store_field_u64(map, "org", &user.org);
        if (r >= 0)
                r = store_field_str(map, "username", &user.username);
        if (r >= 0)
                r = store_field_opt_str(map, "name", &user.name);
        if (r >= 0)
                r = store_field_u64(map, "created_at", &user.created_at);
        if (r < 0)
                return r;
        *(StoredUser *) ret = user;
        user = (StoredUser) { 0 };
        return 0;
}

int store_user_get(Store *s, MDB_txn *txn, const char *user_id, StoredUser *ret) {
        return record_by_id(s, txn, s->users, user_id, user_decode, ret);
}

int store_user_find(Store *s, MDB_txn *txn, uint64_t org, const char *username,
                    char ret_id[static STORE_USER_ID_MAX + 1]) {
        MDB_val v;
        Key k;
        int r;

        if (!username || !*username)
                return -ENOENT;
        store_key_index(s, &k, true, org, username);
        r = store_get(txn, s->usernames, &k.val, &v);
        if (r < 0)
                return r;
        if (v.mv_size == 0 || v.mv_size > STORE_USER_ID_MAX || memchr(v.mv_data, 0, v.mv_size))
                return -EUCLEAN;
        memcpy(ret_id, v.mv_data, v.mv_size);
        ret_id[v.mv_size] = 0;
        return 0;
}

int store_user_remove(Store *s, MDB_txn *txn, const char *user_id) {
        _cleanup_(stored_user_donep) StoredUser u = { 0 };
        _cleanup_(org_record_donep) OrgRecord o = { 0 };
        MDB_val id;
        Key name;
        int r;

        r = store_user_get(s, txn, user_id, &u);
        if (r < 0)
                return r;
        r = org_record_get(s, txn, u.org, &o);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;
        if (o.users == 0)
                return -EUCLEAN;
        r = store_key_text(s, &id, user_id);
        if (r < 0)
                return r;

        r = member_remove_user(s, txn, user_id, u.org, u.username);
        if (r >= 0) {
                store_key_index(s, &name, true, u.org, u.username);
                r = store_del(s, txn, s->usernames, &name.val);
        }
        if (r >= 0)
                r = store_del(s, txn, s->users, &id);
        if (r == -ENOENT)
                return -EUCLEAN;
        if (r >= 0) {
                o.users--;
                r = org_record_put(s, txn, &o, 0);
        }
        return r;
}

typedef struct UserPage {
        Store *store;
        MDB_txn *txn;
        StoreUserVisit visit;
        void *userdata;
} UserPage;

/* A usernames entry: org | username -> user id, and its record. */
static int user_page_each(const MDB_val *k, const MDB_val *v, void *userdata) {
        _cleanup_(stored_user_donep) StoredUser u = { 0 };
        UserPage *p = userdata;
        char id[STORE_USER_ID_MAX + 1];
        int r;

        if (v->mv_size == 0 || v->mv_size > STORE_USER_ID_MAX)
                return -EUCLEAN;
        memcpy(id, v->mv_data, v->mv_size);
        id[v->mv_size] = 0;
        r = store_user_get(p->store, p->txn, id, &u);
        if (r < 0)
                return r == -ENOENT ? -EUCLEAN : r;     /* an index entry without its record */
        return p->visit(id, &u, p->userdata);
}

int store_user_list(Store *s, MDB_txn *txn, uint64_t org, const char *after, uint64_t offset, size_t limit,
                    StoreUserVisit visit, void *userdata, bool *ret_more) {
        uint8_t pb[8];
        MDB_val prefix = key_u64(pb, org);
        Key start;

        if (after && *after)
                store_key_index(s, &start, true, org, after);
        else
                start.val = prefix;
        return store_page(txn, s->usernames, &prefix, &start.val, after && *after, offset, limit, user_page_each,
                          &(UserPage) { .store = s, .txn = txn, .visit = visit, .userdata = userdata }, ret_more);
}
