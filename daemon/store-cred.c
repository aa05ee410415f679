/* store-cred.c: REST credentials as the store keeps them: API keys and
 * Rocket.Chat users, hashes only (auth.c makes and checks them). The
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
        if (msgpack_pack_map(&pk, 2 + key->has_org + !!key->provider) < 0 ||
            mp_pack_str(&pk, "hash") < 0 ||
            msgpack_pack_bin_with_body(&pk, key->hash, sizeof key->hash) < 0 ||
            mp_pack_kv_str(&pk, "user_role", key->user_role) < 0 ||
            (key->has_org && mp_pack_kv_u64(&pk, "org", key->org) < 0) ||
            (key->provider && mp_pack_kv_str(&pk, "provider", key->provider) < 0))
                return -ENOMEM;
        r = store_put_sbuffer(s, txn, s->keys, &k, &b, MDB_NOOVERWRITE);
        sodium_memzero(b.data, b.size);
        return r;
}

/* The record stored under a text id in dbi, decoded into u (initialized
 * by the caller). -ENOENT when there is none, or the id cannot be one. */
static int record_by_id(Store *s, MDB_txn *txn, MDB_dbi dbi, const char *id, msgpack_unpacked *u) {
        MDB_val k, v;
        int r;

        if (store_key_text(s, &k, id) < 0)
                return -ENOENT;
        r = store_get(txn, dbi, &k, &v);
        if (r < 0)
                return r;
        return store_unpack(&v, u);
}

int store_key_get(Store *s, MDB_txn *txn, const char *key_id, StoredKey *ret) {
        _cleanup_unpacked_ msgpack_unpacked u = { 0 };
        _cleanup_(stored_key_donep) StoredKey key = { 0 };
        const msgpack_object *o;
        int r;

        msgpack_unpacked_init(&u);
        r = record_by_id(s, txn, s->keys, key_id, &u);
        if (r < 0)
                return r;
        r = store_field_hash(&u.data, key.hash);
        if (r >= 0)
                r = store_field_str(&u.data, "user_role", &key.user_role);
        if (r >= 0)
                r = store_field_opt_str(&u.data, "provider", &key.provider);
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
        r = store_key_text(s, &id, user_id);
        if (r < 0)
                goto fail;

        field = "username";
        store_key_index(s, &name, false, 0, user->username);
        r = store_get(txn, s->usernames, &name.val, &v);
        if (r >= 0)
                r = -EEXIST;
        if (r != -ENOENT)
                goto fail;

        field = "user_id";
        r = store_get(txn, s->users, &id, &v);
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
        r = store_put_sbuffer(s, txn, s->users, &id, &b, MDB_NOOVERWRITE);
        sodium_memzero(b.data, b.size);
        if (r < 0)
                goto fail;
        r = store_put(s, txn, s->usernames, &name.val, id.mv_data, id.mv_size, MDB_NOOVERWRITE);
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
        size_t n;
        int r;

        msgpack_unpacked_init(&u);
        r = record_by_id(s, txn, s->users, user_id, &u);
        if (r < 0)
                return r;
        r = store_field_hash(&u.data, user.hash);
        if (r >= 0)
                r = store_field_str(&u.data, "username", &user.username);
        if (r >= 0) {
                o = mp_map_get(&u.data, "roles");
                r = store_decoded(o ? mp_read_strv(o, &user.roles, &n) : -EINVAL);
        }
        if (r < 0)
                return r;

        *ret = user;
        user = (StoredUser) { 0 };
        return 0;
}

