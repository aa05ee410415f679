/* store-internal.h: what the store's files (store.c, store-role.c,
 * store-org.c, store-cred.c) share and nothing else includes: the Store
 * itself, the key encodings, the one get and the one put every record goes
 * through, the readers of the store's own MessagePack records, and the
 * organization record the role files keep counts in. */
#pragma once

#include <errno.h>
#include <lmdb.h>
#include <msgpack.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "proto/macro.h"
#include "proto/mp.h"

#define STORE_KEY_BUF 512u      /* >= LMDB's default maximum key size (511) */
#define STORE_HASH_KEY_LEN (1u + crypto_generichash_BYTES)

struct Store {
        MDB_env *env;
        int lock_fd;                    /* flock on the directory's rolesd.lock */
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

/* ---- cleanup helpers ---- */

static inline void txn_abortp(MDB_txn **t) {
        if (*t)
                mdb_txn_abort(*t);
}
static inline void cursor_closep(MDB_cursor **c) {
        if (*c)
                mdb_cursor_close(*c);
}
static inline void sbuffer_donep(msgpack_sbuffer *b) {
        msgpack_sbuffer_destroy(b);
}
static inline void unpacked_donep(msgpack_unpacked *u) {
        msgpack_unpacked_destroy(u);
}
#define _cleanup_sbuffer_ _cleanup_(sbuffer_donep)
#define _cleanup_unpacked_ _cleanup_(unpacked_donep)

/* The one place LMDB results become errno (see store.h). */
int store_errno(int r);

/* ---- keys ---- */

static inline void be64_put(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

static inline uint64_t be64_get(const uint8_t *p) {
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
void store_key_index(const Store *s, Key *k, bool with_org, uint64_t org, const char *text);
/* A plain text key (role, key and user ids): -EINVAL when empty or too long. */
int store_key_text(const Store *s, MDB_val *k, const char *text);

static inline MDB_val key_u64(uint8_t buf[static 8], uint64_t v) {
        be64_put(buf, v);
        return (MDB_val) { .mv_size = 8, .mv_data = buf };
}

static inline MDB_val key_seq(uint8_t buf[static 16], uint64_t org, uint64_t seq) {
        be64_put(buf, org);
        be64_put(buf + 8, seq);
        return (MDB_val) { .mv_size = 16, .mv_data = buf };
}

/* ---- records ---- */

static inline int store_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *ret) {
        return store_errno(mdb_get(txn, dbi, k, ret));
}

/* Every write goes through here, and is counted (store_writes). */
int store_put(Store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, const void *p, size_t n, unsigned flags);

static inline int store_put_sbuffer(Store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, const msgpack_sbuffer *b,
                                    unsigned flags) {
        return store_put(s, txn, dbi, k, b->data, b->size, flags);
}

/* 0 when dbi has no entry for k, -EEXIST when it has (nothing written). */
int store_absent(MDB_txn *txn, MDB_dbi dbi, MDB_val *k);

/* A decoder's result for a stored record: -ENOMEM stays, any other
 * failure means the record is not what we wrote. */
static inline int store_decoded(int r) {
        return r >= 0 ? 0 : r == -ENOMEM ? r : -EUCLEAN;
}

/* Decodes a stored value (one MessagePack object, all of it) into u,
 * which the caller has msgpack_unpacked_init'ed; -EUCLEAN otherwise. */
static inline int store_unpack(const MDB_val *v, msgpack_unpacked *u) {
        return mp_unpack_whole(v->mv_data, v->mv_size, u) < 0 ? -EUCLEAN : 0;
}

/* Fields of the store's own records; -EUCLEAN when missing or mistyped. */
int store_field_str(const msgpack_object *map, const char *key, char **ret);
int store_field_opt_str(const msgpack_object *map, const char *key, char **ret); /* absent or nil: NULL */
int store_field_u64(const msgpack_object *map, const char *key, uint64_t *ret);
int store_field_hash(const msgpack_object *map, uint8_t ret[static 32]);      /* "hash": bin 32 */

/* Counters in the meta database. */
int store_meta_get_u64(Store *s, MDB_txn *txn, const char *name, uint64_t *ret);
int store_meta_put_u64(Store *s, MDB_txn *txn, const char *name, uint64_t val);

/* ---- the organization record (store-org.c), which role inserts update ---- */

typedef struct OrgRecord {
        StoredOrg org;
        uint64_t count;         /* roles, built-ins included */
        uint64_t next_seq;      /* sequence number of the next role (from 1) */
} OrgRecord;

void org_record_done(OrgRecord *o);
/* ret may be NULL (existence check). -ENOENT when unknown. */
int org_record_get(Store *s, MDB_txn *txn, uint64_t id, OrgRecord *ret);
int org_record_put(Store *s, MDB_txn *txn, const OrgRecord *o, unsigned flags);
