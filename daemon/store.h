/* store.h: the LMDB role database. Owns the environment under --db, its
 * named databases, first-start seeding and map growth; exposes typed
 * operations that run inside a caller's transaction. Knows nothing of
 * RPC or credentials' meaning: auth.c hands it hashes, role.c hands it
 * validated roles.
 *
 * Named databases (keys are big-endian where numeric, so they sort):
 *   meta        "version", "roles" (total count)        -> u64 / text
 *   orgs        org u64                                  -> msgpack {id,name,provider,count,next_seq}
 *   roles       role id (text)                           -> msgpack role map (wire-role.h)
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
 * between the two forms).
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

#include "proto/wire-role.h"

typedef struct Store Store;

typedef struct StoreOptions {
        size_t initial_mapsize;         /* 0: STORE_MAPSIZE_DEFAULT */
        bool nosync;                    /* tests only: MDB_NOSYNC (never in the daemon) */
} StoreOptions;

/* Creates dir (0700) if missing, opens the environment and every named
 * database, clears stale reader slots (mdb_reader_check), and on first
 * start seeds organization 0 (the Rocket.Chat workspace: its catalog and
 * protected built-in roles admin, moderator, leader, owner, user, bot, app,
 * guest, anonymous, livechat-agent, livechat-manager, livechat-monitor,
 * each with id == api_id == name). Seeding is one durable transaction.
 * If the map is smaller than the file, it is sized to the file. */
int store_open(const char *dir, const StoreOptions *opts, Store **ret);
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
 * one that fails after writing leaves the transaction to be aborted. */
uint64_t store_writes(const Store *s);

/* ---- organizations ---- */
/* ret may be NULL (existence check). -ENOENT when unknown. */
int store_org_get(Store *s, MDB_txn *txn, uint64_t id, Org *ret);
/* Adds a Partoo organization (id > 0): its default permission catalog and
 * the protected built-in roles ORG_ADMIN, ORG_MANAGER, GROUP_MANAGER,
 * BUSINESS_MANAGER, PUBLISHER (id "<org>-<NAME>", api_id == name, scope
 * Users, no permissions), created_at = now_ms. -EEXIST when it exists,
 * -EINVAL for id 0. */
int store_org_add(Store *s, MDB_txn *txn, const Org *o, uint64_t now_ms);

/* ---- roles ---- */
/* Inserts a fully filled, validated role (id, org, api_id, name, scope,
 * timestamps set by the caller). Checks, in this order: the organization
 * exists (-ENOENT, field "org"); the id is unused (-EEXIST, field "id");
 * api_id unused in the org (-EEXIST, "api_id"); name unused in the org, and
 * in org 0 also not equal to the id of an org-0 role (-EEXIST, "name").
 * In org 0 (where api_id == name) the name checks come before the api_id
 * check, so a duplicate there reports "name".
 * Then writes the record and its three index entries and bumps the
 * organization's and the global role counts. *reterr_field may be NULL. */
int store_role_insert(Store *s, MDB_txn *txn, const Role *r, const char **reterr_field);
/* Finds a role of org by "id", "api_id" or "name". *ret_blob points into
 * the map (the encoded role map) and is valid until the transaction ends.
 * A role found by id but belonging to another org is -ENOENT. */
int store_role_get(Store *s, MDB_txn *txn, uint64_t org, const char *by, const char *value,
                   const void **ret_blob, size_t *ret_len);
/* Decodes what store_role_get returned into a Role. */
int store_role_decode(const void *blob, size_t len, Role *ret);
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

/* ---- permission catalogs ---- */
/* 1 when name is in org's catalog, 0 when not, -ENOENT for unknown org. */
int store_permission_exists(Store *s, MDB_txn *txn, uint64_t org, const char *name);
/* The encoded catalog map {sections: [...]}, valid until the txn ends. */
int store_catalog_get(Store *s, MDB_txn *txn, uint64_t org, const void **ret_blob, size_t *ret_len);

/* ---- credentials (hashes only; auth.c owns their meaning) ---- */
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

/* Counts for server.status. */
int store_stats(Store *s, MDB_txn *txn, uint64_t *ret_orgs, uint64_t *ret_roles);
