/* store.h: the LMDB role database. Owns the environment under --db, its
 * named databases, transactions and map growth, and typed operations that
 * run inside a caller's transaction. It stores bytes: a role is a record
 * its caller encoded (role.c, seed.c) plus the index keys the caller names;
 * organizations and credentials are the store's own small records. It
 * knows nothing of RPC, of the dialects' rules or of credentials' meaning
 * (auth.c hands it hashes), and what a new database holds is its caller's
 * (seed.c, through StoreOptions.seed).
 *
 * Named databases (keys are big-endian where numeric, so they sort):
 *   meta        "version", "roles" (total count)        -> u64
 *   orgs        org u64                                  -> msgpack {id,name,provider,count,next_seq}
 *   roles       role id (text)                           -> the role record (a msgpack map with "org")
 *   role_api    org u64 | api_id (or 0xff | blake2b)     -> role id
 *   role_name   org u64 | name   (or 0xff | blake2b)     -> role id
 *   role_seq    org u64 | seq u64                        -> role id   (listing order)
 *   catalogs    org u64                                  -> msgpack {sections:[...]}
 *   perms       org u64 | permission name                -> ""        (catalog membership)
 *   keys        key id (text)                            -> msgpack {hash,user_role,org?,provider?}
 *   users       user id (text)                           -> msgpack {username,hash,roles}
 *   usernames   username                                 -> user id
 * Index keys longer than LMDB's key limit use 0xff followed by the
 * BLAKE2b-256 of the text (0xff never occurs in UTF-8, so no collisions
 * between the two forms). Beside LMDB's data.mdb and lock.mdb, the
 * directory holds rolesd.lock, which the process that opened it holds.
 *
 * Threads: any thread may run read transactions (store_read_begin/end);
 * exactly one thread at a time runs write transactions. Errors are
 * negative errno: MDB_NOTFOUND -> -ENOENT, MDB_KEYEXIST -> -EEXIST,
 * MDB_MAP_FULL/MDB_TXN_FULL -> -ENOSPC (call store_grow and retry),
 * MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID and undecodable records ->
 * -EUCLEAN, MDB_READERS_FULL -> -EBUSY, system errors (EIO, ENOSPC, ...)
 * -> their errno, others -> -EIO. */
#pragma once

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct Store Store;

/* A local caller, as the kernel told us at connect() (SO_PEERCRED). */
typedef struct StorePeer {
        uid_t uid;
        gid_t gid;
        pid_t pid;
} StorePeer;

/* Fills a new database, inside the transaction that creates it. */
typedef int (*StoreSeed)(Store *s, MDB_txn *txn, void *userdata);

typedef struct StoreOptions {
        size_t initial_mapsize;         /* 0: STORE_MAPSIZE_DEFAULT */
        bool nosync;                    /* tests only: MDB_NOSYNC (never in the daemon) */
        StoreSeed seed;                 /* NULL: a new database starts empty */
        void *seed_userdata;
} StoreOptions;

/* Creates dir (0700) and its missing parents (0755), locks it (one
 * process at a time: -EBUSY when another holds it, see store_lock_owner),
 * opens the environment and every named database, clears stale reader
 * slots (mdb_reader_check), and on first start runs opts->seed and records
 * the schema version, in one durable transaction. If the map is smaller
 * than the file, it is sized to the file. -EPROTONOSUPPORT for a database
 * of another schema version. */
int store_open(const char *dir, const StoreOptions *opts, Store **ret);
/* The pid of the process that holds dir's lock, as it wrote it. */
int store_lock_owner(const char *dir, pid_t *ret);
/* Closes the environment. Accepts NULL, returns NULL. */
Store *store_close(Store *s);
/* Current map size in bytes (for status). */
size_t store_mapsize(Store *s);

/* Read transactions, from any thread (one may be ended on another thread
 * than the one that began it); keep them short, and never begin a second
 * one while holding one: store_grow waits for all of them to end, and
 * blocks new ones meanwhile. */
int store_read_begin(Store *s, MDB_txn **ret);
void store_read_end(Store *s, MDB_txn *txn);    /* accepts NULL */
/* The same, keeping the transaction handle (and its reader slot) for the
 * next read of the same thread: renew begins one when *txn is NULL,
 * reset ends it without freeing. Free a reset handle with mdb_txn_abort
 * before store_close. */
int store_read_renew(Store *s, MDB_txn **txn);
void store_read_reset(Store *s, MDB_txn *txn);  /* accepts NULL */

/* Write transactions, from one thread at a time. commit is durable
 * (fsync) when it returns 0, and ends the transaction whatever it returns
 * (never abort after a failed commit). After -ENOSPC from a write
 * operation, abort; after -ENOSPC from any operation or the commit, call
 * store_grow (doubles the map; waits until no read transaction is open)
 * and run the whole transaction again. */
int store_write_begin(Store *s, MDB_txn **ret);
int store_write_commit(Store *s, MDB_txn *txn);
void store_write_abort(Store *s, MDB_txn *txn); /* accepts NULL */
int store_grow(Store *s);
/* How many writes (puts) this store has made: an operation that fails
 * with this unchanged has written nothing, and its transaction goes on;
 * one that fails after writing leaves the transaction to be aborted.
 * Every operation below checks before it writes. */
uint64_t store_writes(const Store *s);

/* Counts for server.status. */
int store_stats(Store *s, MDB_txn *txn, uint64_t *ret_orgs, uint64_t *ret_roles);

/* ---- organizations, their catalogs and catalog membership (store-org.c) ---- */

typedef struct StoredOrg {
        uint64_t id;
        char *name;             /* NULL when none */
        char *provider;         /* NULL when none */
} StoredOrg;

/* Frees the fields and zeroes o. Accepts NULL. */
void stored_org_done(StoredOrg *o);
/* ret may be NULL (existence check). -ENOENT when unknown. */
int store_org_get(Store *s, MDB_txn *txn, uint64_t id, StoredOrg *ret);
/* Adds an organization without roles (the next role is number 1).
 * -EEXIST when it exists. */
int store_org_insert(Store *s, MDB_txn *txn, const StoredOrg *o);
/* The encoded catalog map {sections: [...]} of an organization. */
int store_catalog_put(Store *s, MDB_txn *txn, uint64_t org, const void *catalog, size_t len);
/* The catalog, valid until the txn ends. -ENOENT for an unknown org. */
int store_catalog_get(Store *s, MDB_txn *txn, uint64_t org, const void **ret_blob, size_t *ret_len);
/* Catalog membership: name is a permission of org's catalog. */
int store_permission_add(Store *s, MDB_txn *txn, uint64_t org, const char *name);
/* 1 when name is in org's catalog, 0 when not, -ENOENT for unknown org. */
int store_permission_exists(Store *s, MDB_txn *txn, uint64_t org, const char *name);

/* ---- roles (store-role.c) ---- */

/* The keys a role record is found by. */
typedef struct StoreRoleKeys {
        const char *id;         /* globally unique, 1 to the key limit bytes */
        uint64_t org;
        const char *api_id;     /* unique within org */
        const char *name;       /* unique within org */
} StoreRoleKeys;

/* Inserts a role record: MessagePack bytes whose map says "org" (the
 * org of keys; store_role_get by id reads it). Checks, in this order:
 * the organization exists (-ENOENT, field "org"); the id is unused
 * (-EEXIST, field "id"; -EINVAL when empty or too long); api_id unused in
 * the org (-EEXIST, "api_id"); name unused in the org (-EEXIST, "name").
 * Then writes the record and its three index entries and bumps the
 * organization's and the global role counts. *reterr_field may be NULL. */
int store_role_insert(Store *s, MDB_txn *txn, const StoreRoleKeys *keys, const void *record, size_t len,
                      const char **reterr_field);
/* Finds a role of org by "id", "api_id" or "name" (-EINVAL for another
 * `by`). *ret_blob points into the map (the record) and is valid until the
 * transaction ends. A role found by id but belonging to another org is
 * -ENOENT. */
int store_role_get(Store *s, MDB_txn *txn, uint64_t org, const char *by, const char *value,
                   const void **ret_blob, size_t *ret_len);
int store_role_count(Store *s, MDB_txn *txn, uint64_t org, uint64_t *ret);
/* Visits up to limit roles of org in creation order. Starts after the role
 * with sequence number after_seq when after_seq > 0 (O(limit)), else skips
 * `offset` roles from the start. *ret_last_seq is the sequence of the last
 * visited role, *ret_more whether more roles follow it. visit may return a
 * negative errno to stop. */
typedef int (*StoreRoleVisit)(const void *blob, size_t len, void *userdata);
int store_role_list(Store *s, MDB_txn *txn, uint64_t org, uint64_t offset, uint64_t after_seq,
                    size_t limit, StoreRoleVisit visit, void *userdata,
                    uint64_t *ret_last_seq, bool *ret_more);

/* ---- credentials, hashes only; auth.c owns their meaning (store-cred.c) ---- */

typedef struct StoredKey {
        uint8_t hash[32];       /* keyed BLAKE2b of the secret part */
        char *user_role;        /* PROVIDER, ORG_ADMIN, ... */
        bool has_org;
        uint64_t org;
        char *provider;         /* NULL when none */
} StoredKey;
void stored_key_done(StoredKey *k);
int store_key_put(Store *s, MDB_txn *txn, const char *key_id, const StoredKey *k); /* -EEXIST */
int store_key_get(Store *s, MDB_txn *txn, const char *key_id, StoredKey *ret);     /* -ENOENT */

typedef struct StoredUser {
        char *username;
        uint8_t hash[32];       /* keyed BLAKE2b of the token */
        char **roles;           /* NULL-terminated role names (org 0) */
} StoredUser;
void stored_user_done(StoredUser *u);
/* -EEXIST with field "username" when the name is taken, "user_id" when the id is. */
int store_user_put(Store *s, MDB_txn *txn, const char *user_id, const StoredUser *u,
                   const char **reterr_field);
int store_user_get(Store *s, MDB_txn *txn, const char *user_id, StoredUser *ret); /* -ENOENT */
