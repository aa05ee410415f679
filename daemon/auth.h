/* auth.h: REST credentials carried in a call's "auth" param. Makes API
 * keys and user tokens (libsodium randomness), stores only their BLAKE2b
 * hashes, verifies them in constant time, and decides what a principal
 * may do to an organization (the rules of INTERFACE.md). */
#pragma once

#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

typedef struct Auth {
        bool present;           /* the call carried "auth" */
        char *api_key;          /* Partoo */
        char *user_id;          /* Rocket.Chat, with token */
        char *token;
} Auth;

void auth_done(Auth *a);
/* ParamParser for the "auth" key (dst is an Auth *): a map holding either
 * {api_key} or {user_id, token}, strings. -EINVAL otherwise. */
int param_auth(const msgpack_object *o, void *dst);

typedef enum Access {
        ACCESS_READ,            /* get, list, catalog */
        ACCESS_CREATE,          /* role.create */
} Access;

/* Optional unsigned integer parameter (org). */
typedef struct OptU64 {
        bool set;
        uint64_t v;
} OptU64;
int param_opt_u64(const msgpack_object *o, void *dst);

/* Authenticates a (if present) and authorizes access to org, which
 * defaults to the principal's own organization when not set. Returns 0 and
 * the effective organization, or -EKEYREJECTED (bad credential), -EACCES,
 * -ENOENT (unknown organization, field "org"), -EINVAL (org required). */
int auth_check(Store *s, MDB_txn *txn, const Auth *a, OptU64 org, Access access,
               uint64_t *ret_org, const char **reterr_field);

/* True for PROVIDER, ORG_ADMIN, ORG_MANAGER, GROUP_MANAGER, BUSINESS_MANAGER, PUBLISHER. */
bool auth_user_role_valid(const char *user_role);

/* Makes a new API key for the given record (hash filled in) and stores
 * it. *ret_key is the only copy of the secret. */
int auth_key_new(Store *s, MDB_txn *txn, StoredKey *k, char **ret_key);
/* Makes a user with a new id and token, stores it. */
int auth_user_new(Store *s, MDB_txn *txn, StoredUser *u, char **ret_user_id, char **ret_token,
                  const char **reterr_field);
