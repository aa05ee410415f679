/* store-internal.h: what the store's files (store.c, store-role.c,
 * store-org.c, store-cred.c, store-member.c, store-migrate.c) share and
 * nothing else includes: the Store itself, the key encodings, the one get,
 * put and delete every record goes through, the readers of the store's own
 * MessagePack records, the organization record the role and user files
 * keep counts in, and a role's fixed record (role_meta). */
#pragma once

#include <errno.h>
#include <lmdb.h>
#include <msgpack.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "store.h"
#include "proto/macro.h"
#include "proto/mp.h"

#define STORE_KEY_BUF 512u      /* >= LMDB's default maximum key size (511) */
#define STORE_HASH_KEY_LEN (1u + crypto_generichash_BYTES)

struct Store {
        MDB_env *env;
        int lock_fd;                    /* flock on the directory's rolesd.lock */
        size_t maxkey;                  /* usable key bytes: min(mdb_env_get_maxkeysize, STORE_KEY_BUF) */

        MDB_dbi meta, orgs, roles, role_meta, role_acl, role_api, role_name, role_seq, role_buckets,
                catalogs, perms, keys, users, usernames, role_members, user_roles, changes, changes_org;

        StoreChanged changed;           /* StoreOptions.changed */
        void *changed_userdata;

        /* The change log (the writer thread's): */
        bool no_change_log;             /* StoreOptions.no_change_log */
        uint64_t change_time_ms;        /* the last record's time: the next is not below it */
        msgpack_sbuffer change_buf;     /* where a record is packed, kept between changes */
        uint64_t committed_revision;    /* atomic: the revision of the last commit */

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
        uint64_t writes;                /* mdb_put and mdb_del calls so far (by the writer thread) */
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

/* A failure r, naming field in *reterr_field (which may be NULL). */
static inline int store_fail(const char **reterr_field, const char *field, int r) {
        if (reterr_field)
                *reterr_field = field;
        return r;
}

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
/* And every delete (-ENOENT when there was nothing to delete). */
int store_del(Store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k);

static inline int store_put_sbuffer(Store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k, const msgpack_sbuffer *b,
                                    unsigned flags) {
        return store_put(s, txn, dbi, k, b->data, b->size, flags);
}

/* 0 when dbi has no entry for k, -EEXIST when it has (nothing written). */
int store_absent(MDB_txn *txn, MDB_dbi dbi, MDB_val *k);

static inline bool store_has_prefix(const MDB_val *k, const MDB_val *prefix) {
        return k->mv_size >= prefix->mv_size && memcmp(k->mv_data, prefix->mv_data, prefix->mv_size) == 0;
}

/* A page of the entries of dbi under prefix: from start (after it, when
 * after is set and start is there), skipping offset of them (O(offset)),
 * each(k, v, userdata) for up to limit; *ret_more (may be NULL) says
 * whether more follow. O(page) from a start key. */
typedef int (*StorePageEach)(const MDB_val *k, const MDB_val *v, void *userdata);
int store_page(MDB_txn *txn, MDB_dbi dbi, const MDB_val *prefix, const MDB_val *start, bool after, uint64_t offset,
               size_t limit, StorePageEach each, void *userdata, bool *ret_more);

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
        uint64_t users;         /* users of the organization */
} OrgRecord;

void org_record_done(OrgRecord *o);
/* ret may be NULL (existence check). -ENOENT when unknown. */
int org_record_get(Store *s, MDB_txn *txn, uint64_t id, OrgRecord *ret);
int org_record_put(Store *s, MDB_txn *txn, const OrgRecord *o, unsigned flags);

/* A counter of the meta database moved by delta (absent reads 0). */
int store_meta_add(Store *s, MDB_txn *txn, const char *name, int64_t delta);

/* ---- a role's fixed record (store-role.c), which memberships update ---- */

#define ROLE_META_LEN 24u
#define STORE_BUCKET_SHIFT 10u  /* role_buckets count live roles per 1024 sequence numbers */

int role_meta_get(Store *s, MDB_txn *txn, const MDB_val *id, StoreRoleInfo *ret);      /* -ENOENT */
#define ROLE_ANY_ORG UINT64_MAX
/* The role id_text of org (or of any, ROLE_ANY_ORG): its id as a key, in
 * *ret_id (pointing into id_text), and its role_meta. -ENOENT when there
 * is none (or the text cannot be an id). */
int role_meta_find(Store *s, MDB_txn *txn, const char *id_text, uint64_t org, MDB_val *ret_id, StoreRoleInfo *ret);
int role_meta_put(Store *s, MDB_txn *txn, const MDB_val *id, const StoreRoleInfo *m);
/* Writes a role's ACL: its api_id and permission names. */
int role_acl_put(Store *s, MDB_txn *txn, const MDB_val *id, const char *api_id, char *const *perms);
/* A role's api_id from its ACL (pointing into the map), and whether it
 * grants permission (false when permission is NULL). */
int role_acl_read(Store *s, MDB_txn *txn, const MDB_val *id, const char *permission,
                  const char **ret_api, size_t *ret_api_len, bool *ret_grants);

/* ---- membership keys (store-member.c) ---- */

/* role_members: org | seq | username. */
int member_key(const Store *s, Key *k, uint64_t org, uint64_t seq, const char *username);
/* user_roles: user id | 0x00 | seq, and the prefix of a user's entries. */
int user_role_key(Key *k, const char *user_id, uint64_t seq);
int user_roles_prefix(Key *k, const char *user_id);
/* Removes every membership of user user_id (whose username in org is
 * username), both ways, and fixes the roles' member counts. */
int member_remove_user(Store *s, MDB_txn *txn, const char *user_id, uint64_t org, const char *username);
/* Removes every membership of a role (org, seq), both ways; *ret_n: how many. */
int member_remove_role(Store *s, MDB_txn *txn, uint64_t org, uint64_t seq, uint64_t *ret_n);

/* ---- users' records (store-cred.c) ---- */

/* Packs a user record (version 2) into b (initialized by the caller). */
int user_record_pack(msgpack_sbuffer *b, const StoredUser *u);

/* ---- the change log (store-changes.c) ---- */

/* Appends c's record (and its org index entry) to the log. */
int change_log_append(Store *s, MDB_txn *txn, const StoreChange *c);
/* The newest record's time (0 when the log is empty). */
int store_changes_last_time(Store *s, MDB_txn *txn, uint64_t *ret);

/* ---- the migration from schema version 1 (store-migrate.c) ---- */

int store_migrate_v1(Store *s, MDB_txn *txn);
