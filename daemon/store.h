/* store.h: the LMDB role database. Owns the environment under --db, its
 * named databases, transactions and map growth, the database's revision,
 * and typed operations that run inside a caller's transaction. It stores
 * bytes: a role is a record its caller encoded (role.c, seed.c) plus the
 * keys the caller names (its indexes and the permissions access checks
 * read); organizations, credentials and memberships are the store's own
 * small records. It knows nothing of RPC, of the dialects' rules or of
 * credentials' meaning (auth.c hands it hashes), and what a new database
 * holds is its caller's (seed.c, through StoreOptions.seed).
 *
 * Named databases of schema version 2 (keys are big-endian where numeric,
 * so they sort; "seq" is a role's creation number in its organization):
 *   meta         "version", "roles" (total), "revision"   -> u64
 *   orgs         org u64                                   -> msgpack {id,name,provider,count,next_seq,users}
 *   roles        role id (text)                            -> the role record (a msgpack map)
 *   role_meta    role id                                   -> org u64 | seq u64 | members u64
 *   role_acl     role id                                   -> api_id and sorted permission names
 *                                                             (store-role.c), for a binary search
 *   role_api     org u64 | api_id (or 0xff | blake2b)      -> role id
 *   role_name    org u64 | name   (or 0xff | blake2b)      -> role id
 *   role_seq     org u64 | seq u64                         -> role id   (listing order)
 *   role_buckets org u64 | seq / 1024                      -> u64 live roles (offset paging)
 *   catalogs     org u64                                   -> msgpack {sections:[...]}
 *   perms        org u64 | permission name                 -> ""        (catalog membership)
 *   keys         key id (text)                             -> msgpack {hash,user_role,org?,provider?,created_at}
 *   users        user id (text)                            -> msgpack {org,username,name,hash,created_at}
 *   usernames    org u64 | username (or 0xff | blake2b)    -> user id
 *   role_members org u64 | seq u64 | username              -> user id   (a role's users, by name)
 *   user_roles   user id | 0x00 | seq u64                  -> role id   (a user's roles)
 *   changes      revision u64                              -> the change record (store-changes.c)
 *   changes_org  org u64 | revision u64                    -> ""        (an organization's changes)
 * Index keys longer than LMDB's key limit use 0xff followed by the
 * BLAKE2b-256 of the text (0xff never occurs in UTF-8, so no collisions
 * between the two forms). A database of version 1 (users of the workspace
 * only, their roles a list of names in their record; no revision, role_meta,
 * role_acl, role_buckets or memberships) is migrated at open, in the
 * transaction that opens it (store-migrate.c). Beside LMDB's data.mdb and
 * lock.mdb, the directory holds rolesd.lock, which the process that
 * opened it holds.
 *
 * Every write operation that changes the database records its change
 * (store_change) exactly once, which advances the database's revision and
 * appends the change's record to the change log, in the same transaction.
 * A database from before the log (schema 2 as the lifecycle made it) has
 * an empty log up to its revision: what it holds since starts the log.
 *
 * Threads: any thread may run read transactions (store_read_begin/end);
 * exactly one thread at a time runs write transactions. Errors are
 * negative errno: MDB_NOTFOUND -> -ENOENT, MDB_KEYEXIST -> -EEXIST,
 * MDB_MAP_FULL/MDB_TXN_FULL -> -ENOSPC (call store_grow and retry),
 * MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID and undecodable records ->
 * -EUCLEAN, MDB_READERS_FULL -> -EBUSY, system errors (EIO, ENOSPC, ...)
 * -> their errno (EROFS, ENOTEMPTY, ESTALE and EIDRM, which mean
 * protected, in use, conflict and compacted on the wire, -> -EIO), others
 * -> -EIO. */
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

typedef struct StoreChange StoreChange;
/* Told of each change store_change() records, inside its transaction (a
 * transaction aborted later takes its changes with it; they were told). */
typedef void (*StoreChanged)(const StoreChange *c, void *userdata);

typedef struct StoreOptions {
        size_t initial_mapsize;         /* 0: STORE_MAPSIZE_DEFAULT */
        bool nosync;                    /* tests only: MDB_NOSYNC (never in the daemon) */
        StoreSeed seed;                 /* NULL: a new database starts empty */
        StoreSeed migrated;             /* NULL, or brings the built-in content of a database
                                         * migrated from an older schema up to date, in the
                                         * migration's transaction */
        void *seed_userdata;            /* for both */
        StoreChanged changed;           /* NULL: nobody is told */
        void *changed_userdata;
        bool no_change_log;             /* rolesd-bench only: changes advance the revision,
                                         * and no record is written */
} StoreOptions;

/* Creates dir (0700) and its missing parents (0755), locks it (one
 * process at a time: -EBUSY when another holds it, see store_lock_owner),
 * opens the environment and every named database, clears stale reader
 * slots (mdb_reader_check), and on first start runs opts->seed and records
 * the schema version, in one durable transaction; a database of version 1
 * is migrated (then opts->migrated runs) in that transaction instead. If the map is smaller
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
/* A write transaction nested in parent (LMDB's child transaction), for
 * work that must be all or nothing inside a batch: commit merges it into
 * parent; abort drops it, and with it its writes from store_writes(), so
 * the parent goes on as if it had never begun. Costly (LMDB allocates its
 * dirty list): for large rare operations (db.import), not per write. */
typedef struct StoreNested {
        MDB_txn *txn;
        uint64_t writes;                /* store_writes() when it began */
} StoreNested;
int store_nested_begin(Store *s, MDB_txn *parent, StoreNested *ret);
int store_nested_commit(Store *s, StoreNested *n);
void store_nested_abort(Store *s, StoreNested *n);     /* accepts one already ended */

/* A consistent, compacted copy of the environment (one data.mdb, as
 * mdb_env_copyfd2 with MDB_CP_COMPACT writes it) to fd from its current
 * offset, then fsync'd. From any thread, outside any write transaction;
 * reads and writes go on meanwhile (a map growth waits for the copy's
 * end). *ret_revision: the database's revision when the copy began, every
 * change up to it is in the copy (it may hold some committed after);
 * *ret_bytes: what was written. */
int store_backup(Store *s, int fd, uint64_t *ret_revision, uint64_t *ret_bytes);
/* The revision of the last transaction committed (any thread; the
 * writer's commits move it). */
uint64_t store_committed_revision(Store *s);
void store_write_abort(Store *s, MDB_txn *txn); /* accepts NULL */
int store_grow(Store *s);
/* How many writes (puts) this store has made: an operation that fails
 * with this unchanged has written nothing, and its transaction goes on;
 * one that fails after writing leaves the transaction to be aborted.
 * Every operation below checks before it writes. */
uint64_t store_writes(const Store *s);

/* Counts for server.status. */
int store_stats(Store *s, MDB_txn *txn, uint64_t *ret_orgs, uint64_t *ret_roles);

/* ---- revisions and changes (store.c) ---- */

typedef enum StoreOp {
        STORE_OP_CREATE,
        STORE_OP_UPDATE,
        STORE_OP_DELETE,
        STORE_OP_ADD,
        STORE_OP_REMOVE,
} StoreOp;

typedef enum StoreKind {
        STORE_KIND_ROLE,
        STORE_KIND_MEMBER,
        STORE_KIND_ORG,
        STORE_KIND_KEY,
        STORE_KIND_USER,
} StoreKind;

typedef enum StorePrincipalKind {
        STORE_PRINCIPAL_PEER,           /* a local caller without a REST credential */
        STORE_PRINCIPAL_API_KEY,        /* a Partoo API key */
        STORE_PRINCIPAL_USER,           /* a user's token */
} StorePrincipalKind;

/* Who made a change: never a secret. */
typedef struct StorePrincipal {
        StorePrincipalKind kind;
        StorePeer peer;                 /* PEER: who connected (also set for the others) */
        const char *key_id;             /* API_KEY: the key's public id */
        const char *user_role;          /* API_KEY: PROVIDER, ORG_ADMIN, ... */
        const char *user_id;            /* USER */
} StorePrincipal;

/* One change, as a change log would record it. before and after are
 * MessagePack maps of the public view of what changed (never a secret):
 * a role's record, {role, api_id, user, user_id} for a membership, an
 * organization, a key or a user as their list methods show them. */
struct StoreChange {
        uint64_t revision;              /* store_revision_next()'s */
        uint64_t time_ms;               /* ms since the epoch */
        StoreOp op;
        StoreKind kind;
        uint64_t org;
        const char *id;                 /* the role's, key's or user's id; an org's as text */
        const void *before;             /* NULL for a create or add */
        size_t before_len;
        const void *after;              /* NULL for a delete or remove */
        size_t after_len;
        const StorePrincipal *principal;
};

/* "create", "update", "delete", "add", "remove"; "role", "member", "org",
 * "key", "user": as change records name them. */
const char *store_op_name(StoreOp op);
const char *store_kind_name(StoreKind kind);

/* The last committed revision (0 before the first change). */
int store_revision(Store *s, MDB_txn *txn, uint64_t *ret);
/* The revision the next change recorded in txn gets (what its records
 * say, e.g. a role's "revision"). */
int store_revision_next(Store *s, MDB_txn *txn, uint64_t *ret);
/* Records one change made in txn: advances the database's revision to
 * c->revision, which must be store_revision_next()'s (-EINVAL
 * otherwise, nothing written), and tells StoreOptions.changed. Each
 * write operation calls it once per change, after the change's writes. */
int store_change(Store *s, MDB_txn *txn, const StoreChange *c);

/* ---- the change log (store-changes.c) ----
 * One record per change, keyed by revision: the MessagePack map
 * {revision, time, op, kind, org, id, before?, after?, principal} (keys in
 * that order), time in ms since the epoch and never below the record's
 * before it, principal {kind: "peer", uid, gid, pid}, {kind: "api_key",
 * key_id, user_role} or {kind: "user", user_id}. Revisions in the log are
 * contiguous: from the oldest kept to the database's. */

/* The oldest and newest revision in the log and how many records it holds
 * (first and last 0 when empty). Any pointer may be NULL. */
int store_changes_bounds(Store *s, MDB_txn *txn, uint64_t *ret_first, uint64_t *ret_last, uint64_t *ret_count);
/* compacted_revision: the oldest revision still in the log, or one past
 * the database's revision when the log is empty; and that revision (may
 * be NULL). Records after `after` can be read when after + 1 >= it. */
int store_changes_horizon(Store *s, MDB_txn *txn, uint64_t *ret_compacted, uint64_t *ret_revision);
/* Visits up to limit records after revision `after` in revision order,
 * every one or those of organization *org (org not NULL): O(limit). visit
 * returns a negative errno to fail, 1 to stop before that record, 0 to go
 * on. *ret_more (may be NULL): whether a record follows the last visited. */
typedef int (*StoreChangeVisit)(uint64_t revision, const void *record, size_t len, void *userdata);
int store_changes_list(Store *s, MDB_txn *txn, uint64_t after, const uint64_t *org, size_t limit,
                       StoreChangeVisit visit, void *userdata, bool *ret_more);
/* Deletes the oldest records while the log holds more than keep, at most
 * max of them and none past revision upto; *ret_trimmed: how many went.
 * Takes no revision. */
int store_changes_trim(Store *s, MDB_txn *txn, uint64_t keep, size_t max, uint64_t upto, uint64_t *ret_trimmed);
/* The first revision in the log whose time is past time_ms (one past the
 * newest when none is; 0 when the log is empty): O(log n). */
int store_changes_after_time(Store *s, MDB_txn *txn, uint64_t time_ms, uint64_t *ret_revision);
/* What the journal says of a record. */
typedef struct StoreChangeInfo {
        uint64_t revision, time_ms, org;
        StoreOp op;
        StoreKind kind;
        char id[512];
        StorePrincipalKind principal;
        StorePeer peer;                 /* PEER */
        char principal_id[128];         /* API_KEY: its key_id; USER: its user_id */
        char user[257];                 /* a membership's username ("" for other kinds) */
} StoreChangeInfo;
int store_change_read(const void *record, size_t len, StoreChangeInfo *ret);

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
/* Adds an organization without roles (the next role is number 1) or
 * users. -EEXIST when it exists. */
int store_org_insert(Store *s, MDB_txn *txn, const StoredOrg *o);
/* The organization of the lowest id >= from (-ENOENT: none); free with
 * stored_org_done. */
int store_org_next(Store *s, MDB_txn *txn, uint64_t from, StoredOrg *ret);
/* An organization's counts, from its record. -ENOENT when unknown. */
typedef struct StoreOrgCounts {
        uint64_t roles;         /* built-ins included */
        uint64_t next_seq;      /* the sequence number its next role gets: one past the last */
        uint64_t users;
} StoreOrgCounts;
int store_org_counts(Store *s, MDB_txn *txn, uint64_t org, StoreOrgCounts *ret);
/* Visits up to limit organizations by id from the offset-th, with their
 * role counts; *ret_total is how many there are. */
typedef int (*StoreOrgVisit)(const StoredOrg *o, uint64_t roles, void *userdata);
int store_org_list(Store *s, MDB_txn *txn, uint64_t offset, size_t limit, StoreOrgVisit visit, void *userdata,
                   uint64_t *ret_total);
/* The encoded catalog map {sections: [...]} of an organization. */
int store_catalog_put(Store *s, MDB_txn *txn, uint64_t org, const void *catalog, size_t len);
/* The catalog, valid until the txn ends. -ENOENT for an unknown org. */
int store_catalog_get(Store *s, MDB_txn *txn, uint64_t org, const void **ret_blob, size_t *ret_len);
/* Catalog membership: name is a permission of org's catalog. */
int store_permission_add(Store *s, MDB_txn *txn, uint64_t org, const char *name);
/* 1 when name is in org's catalog, 0 when not, -ENOENT for unknown org. */
int store_permission_exists(Store *s, MDB_txn *txn, uint64_t org, const char *name);

/* ---- roles (store-role.c) ---- */

/* The keys a role record is found by, and what access checks read. */
typedef struct StoreRoleKeys {
        const char *id;                 /* globally unique, 1 to the key limit bytes */
        uint64_t org;
        const char *api_id;             /* unique within org */
        const char *name;               /* unique within org */
        char *const *permissions;       /* NULL-terminated, NULL for none */
} StoreRoleKeys;

/* Inserts a role record: MessagePack bytes of a map (whose "org" is
 * keys->org). Checks, in this order: the organization exists (-ENOENT,
 * field "org"); the id is unused (-EEXIST, field "id"; -EINVAL when empty
 * or too long); api_id unused in the org (-EEXIST, "api_id"); name unused
 * in the org (-EEXIST, "name"). Then writes the record, its index entries,
 * its ACL and its role_meta (no members), and bumps the organization's
 * and the global role counts. *reterr_field may be NULL. */
int store_role_insert(Store *s, MDB_txn *txn, const StoreRoleKeys *keys, const void *record, size_t len,
                      const char **reterr_field);
/* Replaces the record of role keys->id, which must be of keys->org
 * (-ENOENT, field "id"), with record, whose api_id, name and permissions
 * are those of keys. Checks that a changed api_id, then a changed name, is
 * unused in the org (-EEXIST, "api_id" or "name"); then moves the changed
 * index entries, rewrites the ACL and the record. Its place in the
 * listing and its members stay. */
int store_role_update(Store *s, MDB_txn *txn, const StoreRoleKeys *keys, const void *record, size_t len,
                      const char **reterr_field);
/* Deletes role id of org (-ENOENT). Held by users: -ENOTEMPTY with
 * nothing written, unless force, which removes those memberships too.
 * Then the record, its index entries, ACL and role_meta go, and the
 * counts drop. *ret_members (may be NULL): the memberships removed. */
int store_role_delete(Store *s, MDB_txn *txn, uint64_t org, const char *id, bool force, uint64_t *ret_members);
/* Finds a role of org by "id", "api_id" or "name" (-EINVAL for another
 * `by`). *ret_blob points into the map (the record) and is valid until the
 * transaction ends. A role found by id but belonging to another org is
 * -ENOENT. */
int store_role_get(Store *s, MDB_txn *txn, uint64_t org, const char *by, const char *value,
                   const void **ret_blob, size_t *ret_len);
/* A role's place and holders (role_meta), without decoding its record. */
typedef struct StoreRoleInfo {
        uint64_t org;
        uint64_t seq;                   /* creation number in its organization */
        uint64_t members;               /* users holding it */
} StoreRoleInfo;
int store_role_info(Store *s, MDB_txn *txn, const char *id, StoreRoleInfo *ret); /* -ENOENT */
int store_role_count(Store *s, MDB_txn *txn, uint64_t org, uint64_t *ret);     /* store_org_counts()'s roles */
/* Visits up to limit roles of org in creation order. Starts after the
 * role with sequence number after_seq when after_seq > 0 (O(limit)), else
 * skips `offset` roles from the start: O(log n) while the organization
 * never deleted a role, O(n / 1024 + 1024) after. *ret_last_seq is the
 * sequence of the last visited role, *ret_more whether more roles follow
 * it. visit may return a negative errno to stop. */
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
        uint64_t created_at;    /* ms since the epoch; 0 for keys made before it was kept */
} StoredKey;
void stored_key_done(StoredKey *k);
int store_key_put(Store *s, MDB_txn *txn, const char *key_id, const StoredKey *k); /* -EEXIST */
int store_key_get(Store *s, MDB_txn *txn, const char *key_id, StoredKey *ret);     /* -ENOENT */
int store_key_delete(Store *s, MDB_txn *txn, const char *key_id);                  /* -ENOENT */
/* Visits every key, by id. */
typedef int (*StoreKeyVisit)(const char *key_id, const StoredKey *k, void *userdata);
int store_key_list(Store *s, MDB_txn *txn, StoreKeyVisit visit, void *userdata);

#define STORE_USER_ID_MAX 64u   /* bytes of a user id */

typedef struct StoredUser {
        uint64_t org;
        char *username;         /* unique within org */
        char *name;             /* display name, NULL when none */
        uint8_t hash[32];       /* keyed BLAKE2b of the token */
        uint64_t created_at;    /* ms since the epoch; 0 for users made before it was kept */
} StoredUser;
void stored_user_done(StoredUser *u);
/* Checks: the organization exists (-ENOENT, "org"); the username is 1 to
 * (key limit - 16) bytes (-EINVAL) and unused in it (-EEXIST, "username");
 * the id is unused (-EEXIST, "user_id"; -EINVAL when empty or longer than
 * STORE_USER_ID_MAX). Then writes the user and bumps the org's count. */
int store_user_put(Store *s, MDB_txn *txn, const char *user_id, const StoredUser *u,
                   const char **reterr_field);
int store_user_get(Store *s, MDB_txn *txn, const char *user_id, StoredUser *ret); /* -ENOENT */
/* The id of username in org, into ret_id. -ENOENT. */
int store_user_find(Store *s, MDB_txn *txn, uint64_t org, const char *username,
                    char ret_id[static STORE_USER_ID_MAX + 1]);
/* Removes a user, its memberships (both ways) and its token's hash: the
 * token stops working with this transaction. -ENOENT. */
int store_user_remove(Store *s, MDB_txn *txn, const char *user_id);
/* Visits up to limit users of org by username: those after the username
 * `after` when it is not NULL, else from the offset-th (O(offset)).
 * *ret_more: whether more follow. */
typedef int (*StoreUserVisit)(const char *user_id, const StoredUser *u, void *userdata);
int store_user_list(Store *s, MDB_txn *txn, uint64_t org, const char *after, uint64_t offset, size_t limit,
                    StoreUserVisit visit, void *userdata, bool *ret_more);

/* ---- memberships: users holding roles of their organization (store-member.c) ---- */

/* User user_id holds role role_id from now on. Both must exist (-ENOENT,
 * field "user" or "role") in the same organization (-EINVAL); already
 * held: -EEXIST. */
int store_member_add(Store *s, MDB_txn *txn, const char *role_id, const char *user_id, const char **reterr_field);
/* The user holds the role no more. Not held (or either unknown): -ENOENT. */
int store_member_remove(Store *s, MDB_txn *txn, const char *role_id, const char *user_id);
/* 1 when the user holds the role, else 0. */
int store_member_held(Store *s, MDB_txn *txn, const char *role_id, const char *user_id);
/* Visits up to limit holders of role role_id by username: after the
 * username `after` when it is not NULL, else from the offset-th
 * (O(offset)). The strings are valid during the visit. *ret_more: whether
 * more follow. -ENOENT for an unknown role. */
typedef int (*StoreMemberVisit)(const char *user_id, const char *username, void *userdata);
int store_member_list(Store *s, MDB_txn *txn, const char *role_id, const char *after, uint64_t offset,
                      size_t limit, StoreMemberVisit visit, void *userdata, bool *ret_more);
/* Visits the roles user_id holds, in their organization's creation
 * order, with each role's api_id (not NUL-terminated, valid during the
 * visit) and whether it grants permission (false when permission is
 * NULL): one range of user_roles and one ACL lookup per role, whatever
 * the size of the database. */
typedef int (*StoreUserRoleVisit)(const char *api_id, size_t api_id_len, bool grants, void *userdata);
int store_user_roles(Store *s, MDB_txn *txn, const char *user_id, const char *permission,
                     StoreUserRoleVisit visit, void *userdata);
