/* auth.c: REST credentials. An API key is 16 hex digits of key id
 * followed by 64 hex digits of secret; a Rocket.Chat user has a 17-char
 * id and a 43-char token. Only BLAKE2b hashes (domain-separated, bound to
 * the id) are stored; verification hashes the presented secret and
 * compares with crypto_verify_32, and does the same work when the id is
 * unknown, so a wrong key costs what a right one does. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/wire.h"

#define KEY_ID_LEN      AUTH_KEY_ID_LEN
#define KEY_SECRET_LEN  64
#define USER_ID_LEN     17
#define TOKEN_BYTES     32

static const char *const user_roles[] = {
        "PROVIDER", "ORG_ADMIN", "ORG_MANAGER", "GROUP_MANAGER", "BUSINESS_MANAGER", "PUBLISHER",
};

void auth_done(Auth *a) {
        if (!a)
                return;
        if (a->api_key)
                sodium_memzero(a->api_key, strlen(a->api_key));
        if (a->token)
                sodium_memzero(a->token, strlen(a->token));
        free(a->api_key);
        free(a->user_id);
        free(a->token);
        *a = (Auth) {0};
}

int param_auth(const msgpack_object *o, void *dst) {
        static const ParamField table[] = {
                { "api_key", param_str, offsetof(Auth, api_key), false },
                { "user_id", param_str, offsetof(Auth, user_id), false },
                { "token",   param_str, offsetof(Auth, token),   false },
                {0}
        };
        Auth *a = dst;
        const char *field;
        int r;

        if (o->type != MSGPACK_OBJECT_MAP)
                return -EINVAL;
        auth_done(a);
        r = params_parse(o, table, a, NULL, &field);
        if (r < 0)
                return r;
        /* Exactly one kind of credential. */
        if (a->api_key ? (a->user_id || a->token) : !(a->user_id && a->token))
                return -EINVAL;
        a->present = true;
        return 0;
}

int param_opt_u64(const msgpack_object *o, void *dst) {
        OptU64 *v = dst;
        int r = mp_read_u64(o, &v->v);
        if (r < 0)
                return r;
        v->set = true;
        return 0;
}

static void hash_secret(const char *domain, const char *id, const char *secret, uint8_t out[32]) {
        crypto_generichash_state st;

        crypto_generichash_init(&st, NULL, 0, 32);
        crypto_generichash_update(&st, (const uint8_t *) domain, strlen(domain) + 1);
        crypto_generichash_update(&st, (const uint8_t *) id, strlen(id) + 1);
        crypto_generichash_update(&st, (const uint8_t *) secret, strlen(secret));
        crypto_generichash_final(&st, out, 32);
}

/* Splits an API key into id and secret; false when it has the wrong shape. */
static bool api_key_split(const char *key, char id[KEY_ID_LEN + 1], const char **ret_secret) {
        size_t n = strlen(key);

        if (n != KEY_ID_LEN + KEY_SECRET_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", key[i]) || key[i] == 0)
                        return false;
        memcpy(id, key, KEY_ID_LEN);
        id[KEY_ID_LEN] = 0;
        *ret_secret = key + KEY_ID_LEN;
        return true;
}

/* Verifies the key; on success fills *ret. Same work for unknown ids. */
static int api_key_verify(Store *s, MDB_txn *txn, const char *key, StoredKey *ret) {
        static const uint8_t dummy[32];
        char id[KEY_ID_LEN + 1] = "0000000000000000";
        const char *secret = "";
        uint8_t h[32];
        bool shaped;
        int r;

        shaped = api_key_split(key, id, &secret);
        r = shaped ? store_key_get(s, txn, id, ret) : -ENOENT;
        if (r < 0 && r != -ENOENT)
                return r;
        hash_secret("rolesd-api-key", id, secret, h);
        if (crypto_verify_32(h, r == 0 ? ret->hash : dummy) != 0 || r < 0) {
                stored_key_done(ret);
                return -EKEYREJECTED;
        }
        return 0;
}

static int user_verify(Store *s, MDB_txn *txn, const char *user_id, const char *token, StoredUser *ret) {
        static const uint8_t dummy[32];
        uint8_t h[32];
        int r;

        r = store_user_get(s, txn, user_id, ret);
        if (r < 0 && r != -ENOENT)
                return r;
        hash_secret("rolesd-user-token", user_id, token, h);
        if (crypto_verify_32(h, r == 0 ? ret->hash : dummy) != 0 || r < 0) {
                stored_user_done(ret);
                return -EKEYREJECTED;
        }
        return 0;
}

static int grants_visit(const char *api_id, size_t len, bool grants, void *userdata) {
        bool *any = userdata;
        *any = *any || grants;
        return 0;
}

/* Does any role the user holds grant the permission? */
static int user_has_permission(Store *s, MDB_txn *txn, const char *user_id, const char *permission) {
        bool any = false;
        int r = store_user_roles(s, txn, user_id, permission, grants_visit, &any);
        return r < 0 ? r : any;
}

static const char *const access_names[_ACCESS_MAX] = {
        [ACCESS_READ] = "read",
        [ACCESS_READ_MEMBERS] = "read-members",
        [ACCESS_CREATE] = "create",
        [ACCESS_UPDATE] = "update",
        [ACCESS_DELETE] = "delete",
        [ACCESS_MEMBERS] = "members",
        [ACCESS_ASSIGN_ADMIN] = "assign-admin",
};

int access_from_string(const char *s, Access *ret) {
        for (unsigned i = 0; i < _ACCESS_MAX; i++)
                if (s && strcmp(s, access_names[i]) == 0) {
                        *ret = (Access) i;
                        return 0;
                }
        return -EINVAL;
}

/* Everything beyond reading changes the organization. */
static bool access_writes(Access a) {
        return a != ACCESS_READ && a != ACCESS_READ_MEMBERS;
}

static int org_require(Store *s, MDB_txn *txn, uint64_t org, const char **reterr_field) {
        int r = store_org_get(s, txn, org, NULL);
        if (r == -ENOENT)
                *reterr_field = "org";
        return r;
}

static int check_api_key(Store *s, MDB_txn *txn, Auth *a, OptU64 org, Access access,
                         uint64_t *ret_org, const char **reterr_field) {
        _cleanup_(stored_key_done) StoredKey k = {0};
        _cleanup_(stored_org_done) StoredOrg o = {0};
        int r;

        r = api_key_verify(s, txn, a->api_key, &k);
        if (r < 0)
                return r;
        memcpy(a->key_id, a->api_key, AUTH_KEY_ID_LEN);    /* verified: it has that shape */
        a->key_id[AUTH_KEY_ID_LEN] = 0;
        for (size_t i = 0; i < ELEMENTSOF(user_roles); i++)
                if (strcmp(k.user_role, user_roles[i]) == 0)
                        a->user_role = user_roles[i];

        if (strcmp(k.user_role, "PROVIDER") == 0) {
                /* Any organization of the key's provider; it has none of its own. */
                if (!org.set) {
                        *reterr_field = "org";
                        return -EINVAL;
                }
                r = store_org_get(s, txn, org.v, &o);
                if (r == -ENOENT)
                        *reterr_field = "org";
                if (r < 0)
                        return r;
                if (!o.provider || !k.provider || strcmp(o.provider, k.provider) != 0)
                        return -EACCES;
                *ret_org = org.v;
                return 0;
        }

        /* Every other user-role acts within its own organization only, and
         * naming another one is refused whether it exists or not. */
        if (!k.has_org || (org.set && org.v != k.org))
                return -EACCES;
        if (access_writes(access) && strcmp(k.user_role, "ORG_ADMIN") != 0)
                return -EACCES;
        r = org_require(s, txn, k.org, reterr_field);
        if (r < 0)
                return r;
        *ret_org = k.org;
        return 0;
}

static int check_user(Store *s, MDB_txn *txn, const Auth *a, OptU64 org, Access access,
                      uint64_t *ret_org) {
        _cleanup_(stored_user_done) StoredUser u = {0};
        int r;

        r = user_verify(s, txn, a->user_id, a->token, &u);
        if (r < 0)
                return r;
        /* A user acts in its own organization (Rocket.Chat's users in the
         * workspace, organization 0). */
        if (org.set && org.v != u.org)
                return -EACCES;
        if (access != ACCESS_READ) {
                r = user_has_permission(s, txn, a->user_id, "access-permissions");
                if (r > 0 && access == ACCESS_ASSIGN_ADMIN)
                        r = user_has_permission(s, txn, a->user_id, "assign-admin-role");
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EACCES;
        }
        *ret_org = u.org;
        return 0;
}

int auth_check(Store *s, MDB_txn *txn, Auth *a, OptU64 org, Access access,
               uint64_t *ret_org, const char **reterr_field) {
        int r;

        if (a && a->present) {
                if (a->api_key)
                        return check_api_key(s, txn, a, org, access, ret_org, reterr_field);
                return check_user(s, txn, a, org, access, ret_org);
        }

        /* A local peer, already authorized by its credentials: any existing org. */
        if (!org.set) {
                *reterr_field = "org";
                return -EINVAL;
        }
        r = org_require(s, txn, org.v, reterr_field);
        if (r < 0)
                return r;
        *ret_org = org.v;
        return 0;
}

void auth_principal(const Auth *a, const StorePeer *peer, StorePrincipal *ret) {
        *ret = (StorePrincipal) { .kind = STORE_PRINCIPAL_PEER, .peer = *peer };
        if (!a || !a->present)
                return;
        if (a->api_key) {
                ret->kind = STORE_PRINCIPAL_API_KEY;
                ret->key_id = a->key_id;
                ret->user_role = a->user_role;
        } else {
                ret->kind = STORE_PRINCIPAL_USER;
                ret->user_id = a->user_id;
        }
}

static void random_hex(char *out, size_t n) {
        uint8_t raw[64];

        randombytes_buf(raw, (n + 1) / 2);
        sodium_bin2hex(out, n + 1, raw, (n + 1) / 2);   /* writes n hex digits + NUL */
        out[n] = 0;
        sodium_memzero(raw, sizeof raw);
}

bool auth_user_role_valid(const char *user_role) {
        for (size_t i = 0; i < ELEMENTSOF(user_roles); i++)
                if (strcmp(user_role, user_roles[i]) == 0)
                        return true;
        return false;
}

int auth_key_new(Store *s, MDB_txn *txn, StoredKey *k, char **ret_key) {
        char key[KEY_ID_LEN + KEY_SECRET_LEN + 1], id[KEY_ID_LEN + 1];
        int r;

        if (!auth_user_role_valid(k->user_role))
                return -EINVAL;

        random_hex(key, KEY_ID_LEN + KEY_SECRET_LEN);
        memcpy(id, key, KEY_ID_LEN);
        id[KEY_ID_LEN] = 0;
        hash_secret("rolesd-api-key", id, key + KEY_ID_LEN, k->hash);

        r = store_key_put(s, txn, id, k);
        if (r < 0) {
                sodium_memzero(key, sizeof key);
                return r;
        }
        *ret_key = strdup(key);
        sodium_memzero(key, sizeof key);
        return *ret_key ? 0 : -ENOMEM;
}

void auth_ordered_id(uint8_t raw[static 12]) {
        static uint8_t process[5];
        static uint32_t counter;
        static bool initialized;
        uint32_t t = (uint32_t) time(NULL);

        if (!initialized) {
                randombytes_buf(process, sizeof process);
                randombytes_buf(&counter, sizeof counter);
                initialized = true;
        }
        counter++;
        raw[0] = t >> 24; raw[1] = t >> 16; raw[2] = t >> 8; raw[3] = t;
        memcpy(raw + 4, process, sizeof process);
        raw[9] = counter >> 16; raw[10] = counter >> 8; raw[11] = counter;
}

/* A user id: 17 characters of Meteor's id alphabet, so they look like
 * Rocket.Chat's: the base-55 digits of an ordered id (55^17 > 2^96), most
 * significant first. Fixed width, and the alphabet in ASCII order: they
 * sort as the ids do. */
static void new_user_id(char out[USER_ID_LEN + 1]) {
        static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
        uint8_t raw[12];

        auth_ordered_id(raw);
        for (int i = USER_ID_LEN - 1; i >= 0; i--) {
                unsigned rem = 0;
                for (size_t j = 0; j < sizeof raw; j++) {
                        unsigned cur = rem << 8 | raw[j];
                        raw[j] = (uint8_t) (cur / (sizeof alphabet - 1));
                        rem = cur % (sizeof alphabet - 1);
                }
                out[i] = alphabet[rem];
        }
        out[USER_ID_LEN] = 0;
}

int auth_user_new(Store *s, MDB_txn *txn, StoredUser *u, char **ret_user_id, char **ret_token,
                  const char **reterr_field) {
        char user_id[USER_ID_LEN + 1], token[sodium_base64_ENCODED_LEN(TOKEN_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
        uint8_t raw[TOKEN_BYTES];
        int r;

        new_user_id(user_id);
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(token, sizeof token, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(raw, sizeof raw);
        hash_secret("rolesd-user-token", user_id, token, u->hash);

        r = store_user_put(s, txn, user_id, u, reterr_field);
        if (r >= 0) {
                *ret_user_id = strdup(user_id);
                *ret_token = strdup(token);
                if (!*ret_user_id || !*ret_token) {
                        free(*ret_user_id);
                        free(*ret_token);
                        r = -ENOMEM;
                }
        }
        sodium_memzero(token, sizeof token);
        return r;
}
