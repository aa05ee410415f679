/* wire-role.h: the role and organization records as they travel in RPC
 * results. The daemon stores a role as the same MessagePack map, encoded
 * once by role.create, so a read is a copy of bytes, not a re-encode. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Map keys of a role, in the order role_pack writes them:
 * id, org, api_id, name, description (str or nil), scope, permissions (array of str),
 * mandatory2fa, protected, created_at, updated_at (integers, ms since the epoch),
 * revision (the database revision of its last create or update). */
typedef struct Role {
        char *id;               /* opaque, globally unique; Rocket.Chat's _id */
        uint64_t org;           /* 0 = the Rocket.Chat workspace */
        char *api_id;           /* unique within org */
        char *name;             /* unique within org */
        char *description;      /* NULL when none */
        char *scope;            /* "Users" or "Subscriptions" */
        char **permissions;     /* NULL-terminated, may be NULL (= none) */
        bool mandatory2fa;
        bool is_protected;      /* built-in role; never overwritten */
        uint64_t created_at;    /* ms since the epoch */
        uint64_t updated_at;
        uint64_t revision;      /* of its last change (create or update) */
} Role;

/* Frees the fields (not r itself) and zeroes r. Accepts a zeroed Role. */
void role_done(Role *r);
int role_pack(msgpack_packer *pk, const Role *r);
/* Decodes a role map; unknown keys are ignored (forward compatible).
 * -EINVAL on a missing or mistyped field. On failure r is left zeroed. */
int role_unpack(const msgpack_object *o, Role *ret);
/* The same from the bytes of one encoded role (all of them, as a role
 * record is stored): -EINVAL when they are not one role map, -ENOMEM. */
int role_decode(const void *p, size_t n, Role *ret);

/* Keys: id, name, provider (str or nil). */
typedef struct Org {
        uint64_t id;
        char *name;             /* NULL when none */
        char *provider;         /* NULL when none */
} Org;

void org_done(Org *o);
int org_pack(msgpack_packer *pk, const Org *o);
int org_unpack(const msgpack_object *o, Org *ret);
