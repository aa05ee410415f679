/* wire-role.c: the role and organization records as MessagePack maps.
 * Owns their encoding (the one used in RPC results and, for roles, in the
 * store) and the strict decoding of stored or received records into
 * structs. */
#include "wire-role.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "wire.h"

void role_done(Role *r) {
        if (!r)
                return;
        free(r->id);
        free(r->api_id);
        free(r->name);
        free(r->description);
        free(r->scope);
        strv_free(r->permissions);
        *r = (Role) { .id = NULL };
}

void org_done(Org *o) {
        if (!o)
                return;
        free(o->name);
        free(o->provider);
        *o = (Org) { .id = 0 };
}

#define PACK(x) do { if ((x) < 0) return -ENOMEM; } while (0)

int role_pack(msgpack_packer *pk, const Role *r) {
        if (!r->id || !r->api_id || !r->name || !r->scope)
                return -EINVAL;

        PACK(msgpack_pack_map(pk, 12));
        PACK(mp_pack_kv_str(pk, "id", r->id));
        PACK(mp_pack_kv_u64(pk, "org", r->org));
        PACK(mp_pack_kv_str(pk, "api_id", r->api_id));
        PACK(mp_pack_kv_str(pk, "name", r->name));
        PACK(mp_pack_kv_str(pk, "description", r->description));
        PACK(mp_pack_kv_str(pk, "scope", r->scope));
        PACK(mp_pack_str(pk, "permissions"));
        PACK(mp_pack_strv(pk, r->permissions));
        PACK(mp_pack_kv_bool(pk, "mandatory2fa", r->mandatory2fa));
        PACK(mp_pack_kv_bool(pk, "protected", r->is_protected));
        PACK(mp_pack_kv_u64(pk, "created_at", r->created_at));
        PACK(mp_pack_kv_u64(pk, "updated_at", r->updated_at));
        PACK(mp_pack_kv_u64(pk, "revision", r->revision));
        return 0;
}

int org_pack(msgpack_packer *pk, const Org *o) {
        PACK(msgpack_pack_map(pk, 3));
        PACK(mp_pack_kv_u64(pk, "id", o->id));
        PACK(mp_pack_kv_str(pk, "name", o->name));
        PACK(mp_pack_kv_str(pk, "provider", o->provider));
        return 0;
}

/* str or nil (NULL); frees a previous value. */
static int read_opt_str(const msgpack_object *o, void *dst) {
        if (o->type == MSGPACK_OBJECT_NIL) {
                char **p = dst;
                free(*p);
                *p = NULL;
                return 0;
        }
        return param_str(o, dst);
}

typedef struct RecordField {
        const char *name;
        ParamParser parse;
        size_t offset;
        bool required;
} RecordField;

/* Decodes the known keys of map o into dst; unknown keys are skipped, a
 * known key twice, a missing required key or a bad value is -EINVAL. */
static int record_unpack(const msgpack_object *o, const RecordField *fields, size_t n_fields, void *dst) {
        uint32_t seen = 0;

        if (!o || o->type != MSGPACK_OBJECT_MAP)
                return -EINVAL;

        for (uint32_t i = 0; i < o->via.map.size; i++) {
                const msgpack_object *k = &o->via.map.ptr[i].key;
                for (size_t j = 0; j < n_fields; j++) {
                        if (!mp_str_eq(k, fields[j].name))
                                continue;
                        if (seen & (1u << j))
                                return -EINVAL;
                        seen |= 1u << j;
                        int r = fields[j].parse(&o->via.map.ptr[i].val, (char *) dst + fields[j].offset);
                        if (r < 0)
                                return r == -ENOMEM ? r : -EINVAL;
                        break;
                }
        }

        for (size_t j = 0; j < n_fields; j++)
                if (fields[j].required && !(seen & (1u << j)))
                        return -EINVAL;
        return 0;
}

static const RecordField role_fields[] = {
        { "id",           param_str,    offsetof(Role, id),           true },
        { "org",          param_u64,    offsetof(Role, org),          true },
        { "api_id",       param_str,    offsetof(Role, api_id),       true },
        { "name",         param_str,    offsetof(Role, name),         true },
        { "description",  read_opt_str, offsetof(Role, description),  true },
        { "scope",        param_str,    offsetof(Role, scope),        true },
        { "permissions",  param_strv,   offsetof(Role, permissions),  true },
        { "mandatory2fa", param_bool,   offsetof(Role, mandatory2fa), true },
        { "protected",    param_bool,   offsetof(Role, is_protected), true },
        { "created_at",   param_u64,    offsetof(Role, created_at),   true },
        { "updated_at",   param_u64,    offsetof(Role, updated_at),   true },
        { "revision",     param_u64,    offsetof(Role, revision),     true },
};

int role_unpack(const msgpack_object *o, Role *ret) {
        Role r = { .id = NULL };

        int k = record_unpack(o, role_fields, ELEMENTSOF(role_fields), &r);
        if (k < 0) {
                role_done(&r);
                *ret = r;
                return k;
        }
        *ret = r;
        return 0;
}

int role_decode(const void *p, size_t n, Role *ret) {
        msgpack_unpacked u;
        int r;

        *ret = (Role) { .id = NULL };
        msgpack_unpacked_init(&u);
        r = mp_unpack_whole(p, n, &u);
        if (r >= 0)
                r = role_unpack(&u.data, ret);
        msgpack_unpacked_destroy(&u);
        return r;
}

/* name and provider may be absent, which reads as nil. */
static const RecordField org_fields[] = {
        { "id",       param_u64,    offsetof(Org, id),       true },
        { "name",     read_opt_str, offsetof(Org, name),     false },
        { "provider", read_opt_str, offsetof(Org, provider), false },
};

int org_unpack(const msgpack_object *o, Org *ret) {
        Org g = { .id = 0 };

        int k = record_unpack(o, org_fields, ELEMENTSOF(org_fields), &g);
        if (k < 0) {
                org_done(&g);
                *ret = g;
                return k;
        }
        *ret = g;
        return 0;
}
