/* auth.h: REST credentials carried in a call's "auth" param. Makes API
 * keys and user tokens (libsodium randomness), stores only their BLAKE2b
 * hashes, verifies them in constant time, decides what a principal may do
 * to an organization (the rules of INTERFACE.md), and names the principal
 * a change is recorded with. */
#pragma once

#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define AUTH_KEY_ID_LEN 16u     /* hex digits of an API key's public id */

typedef struct Auth {
        bool present;           /* the call carried "auth" */
        char *api_key;          /* Partoo */
        char *user_id;          /* a user's (Rocket.Chat's X-User-Id), with token */
        char *token;
        /* Filled by auth_check() once the credential is verified: */
        char key_id[AUTH_KEY_ID_LEN + 1];       /* the API key's public id */
        const char *user_role;                  /* the API key's user-role (static) */
} Auth;

void auth_done(Auth *a);
/* ParamParser for the "auth" key (dst is an Auth *): a map holding either
 * {api_key} or {user_id, token}, strings. -EINVAL otherwise. */
int param_auth(const msgpack_object *o, void *dst);

/* What a call does to an organization. A local peer may do all of it;
 * a Partoo key of user-role ORG_ADMIN (its own organization) or PROVIDER
 * (its provider's) may do all of it, the other keys read; a user's token
 * (its own organization) reads roles, and does the rest when one of its
 * roles grants access-permissions (giving the workspace's admin role also
 * needs assign-admin-role), as Rocket.Chat's API requires. */
typedef enum Access {
        ACCESS_READ,            /* role.get, role.list, permission.catalog */
        ACCESS_READ_MEMBERS,    /* member.list, user.roles, access.check: who holds what */
        ACCESS_CREATE,          /* role.create, role.duplicate */
        ACCESS_UPDATE,          /* role.update */
        ACCESS_DELETE,          /* role.delete */
        ACCESS_MEMBERS,         /* member.add, member.remove */
        ACCESS_ASSIGN_ADMIN,    /* member.add of the workspace's admin role */
        _ACCESS_MAX,
} Access;

/* "read", "read-members", "create", "update", "delete", "members",
 * "assign-admin" (auth.check's names); -EINVAL for another. */
int access_from_string(const char *s, Access *ret);

/* Optional unsigned integer parameter (org). */
typedef struct OptU64 {
        bool set;
        uint64_t v;
} OptU64;
int param_opt_u64(const msgpack_object *o, void *dst);

/* Authenticates a (if present) and authorizes access to org, which
 * defaults to the principal's own organization when not set. Returns 0 and
 * the effective organization, or -EKEYREJECTED (bad credential), -EACCES,
 * -ENOENT (unknown organization, field "org"), -EINVAL (org required).
 * Fills a's key_id and user_role for an API key. */
int auth_check(Store *s, MDB_txn *txn, Auth *a, OptU64 org, Access access,
               uint64_t *ret_org, const char **reterr_field);
/* Who acts: the credential auth_check() accepted, else the peer. Points
 * into a, which must outlive it. */
void auth_principal(const Auth *a, const StorePeer *peer, StorePrincipal *ret);

/* True for PROVIDER, ORG_ADMIN, ORG_MANAGER, GROUP_MANAGER, BUSINESS_MANAGER, PUBLISHER. */
bool auth_user_role_valid(const char *user_role);

/* The 12 bytes of a new id shaped like a MongoDB ObjectId (as Rocket.Chat's
 * _id): 4 of time, 5 random ones drawn once per process, a 3-byte counter
 * from a random start. Unique as ObjectIds are, and increasing within a
 * process, so new records land on the last pages of the databases they
 * are keyed in instead of random ones: a batch of creates dirties a few
 * pages, not one each, which is what its commit's fsync pays. Role ids
 * (role.c) and user ids (below) are made of them. For the writer thread
 * only. */
void auth_ordered_id(uint8_t ret[static 12]);

/* Makes a new API key for the given record (hash filled in) and stores
 * it. *ret_key is the only copy of the secret. */
int auth_key_new(Store *s, MDB_txn *txn, StoredKey *k, char **ret_key);
/* Makes a user with a new id and token, stores it. */
int auth_user_new(Store *s, MDB_txn *txn, StoredUser *u, char **ret_user_id, char **ret_token,
                  const char **reterr_field);
