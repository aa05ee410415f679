/* lifecycle.c: librolesd 1.1's typed calls of the role lifecycle (role
 * update, delete, duplicate; members; access checks) and of credentials
 * and organizations (org, user and key lists, user.add in any org, user
 * and key removal). Owns a table of each call's params (packed by one
 * function) and a table of each result's fields (decoded and freed by
 * one function each), so a call is its tables and its two entry points,
 * synchronous and asynchronous, on one code path (calls.c's Sync). */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/calls.h"
#include "client/lib/conn.h"
#include "proto/macro.h"
#include "proto/mp.h"

/* ---- params ---- */

typedef enum ArgType {
        ARG_STR,
        ARG_U64,
        ARG_BOOL,
        ARG_STRV,
        ARG_AUTH,
        ARG_CHANGES,
} ArgType;

/* One key of a call's params map; packed only when on. */
typedef struct Arg {
        const char *key;
        ArgType type;
        bool on;
        union {
                const char *s;
                uint64_t u;
                bool b;
                const char *const *strv;
                const rolesd_auth *auth;
                const rolesd_role_changes *set;
        };
} Arg;

#define A_STR(k, v)        ((Arg) { .key = (k), .type = ARG_STR, .on = (v) != NULL, .s = (v) })
#define A_U64(k, v)        ((Arg) { .key = (k), .type = ARG_U64, .on = true, .u = (v) })
#define A_U64_IF(k, v, c)  ((Arg) { .key = (k), .type = ARG_U64, .on = (c), .u = (v) })
#define A_BOOL_IF(k, v, c) ((Arg) { .key = (k), .type = ARG_BOOL, .on = (c), .b = (v) })
#define A_STRV(k, v)       ((Arg) { .key = (k), .type = ARG_STRV, .on = (v) != NULL, .strv = (v) })
#define A_AUTH(a)          ((Arg) { .key = "auth", .type = ARG_AUTH, .on = has_auth(a), .auth = (a) })
#define A_SET(v)           ((Arg) { .key = "set", .type = ARG_CHANGES, .on = true, .set = (v) })

#define ARGS_MAX 8

/* role.update's set: the members given. */
static int pack_changes(msgpack_packer *pk, const rolesd_role_changes *set) {
        int r;

        r = msgpack_pack_map(pk, !!set->name + !!set->api_id + !!set->description + !!set->scope +
                             !!set->permissions + set->set_mandatory2fa);
        if (set->name)
                r |= mp_pack_kv_str(pk, "name", set->name);
        if (set->api_id)
                r |= mp_pack_kv_str(pk, "api_id", set->api_id);
        if (set->description)
                r |= mp_pack_kv_str(pk, "description", set->description);
        if (set->scope)
                r |= mp_pack_kv_str(pk, "scope", set->scope);
        if (set->permissions) {
                r |= mp_pack_str(pk, "permissions");
                r |= mp_pack_strv(pk, (char *const *) set->permissions);
        }
        if (set->set_mandatory2fa)
                r |= mp_pack_kv_bool(pk, "mandatory2fa", set->mandatory2fa);
        return r;
}

/* Queues method with the params args[0..n) (n < 0: the error that
 * building them met, returned as is). As the *_async() calls. */
static int args_submit(rolesd *c, const char *method, const Arg *args, int n, rolesd_reply_fn fn,
                       void *userdata, rolesd_error *err) {
        msgpack_packer pk;
        size_t on = 0;
        int r, pr;

        if (n < 0)
                return n;
        for (int i = 0; i < n; i++)
                on += args[i].on;
        r = request_begin(c, method, &pk, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, on);
        for (int i = 0; i < n; i++) {
                const Arg *a = &args[i];

                if (!a->on)
                        continue;
                if (a->type == ARG_AUTH) {
                        pr |= pack_auth(&pk, a->auth);
                        continue;
                }
                pr |= mp_pack_str(&pk, a->key);
                switch (a->type) {
                case ARG_STR:
                        pr |= mp_pack_str(&pk, a->s);
                        break;
                case ARG_U64:
                        pr |= msgpack_pack_uint64(&pk, a->u);
                        break;
                case ARG_BOOL:
                        pr |= a->b ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
                        break;
                case ARG_STRV:
                        pr |= mp_pack_strv(&pk, (char *const *) a->strv);
                        break;
                case ARG_CHANGES:
                        pr |= pack_changes(&pk, a->set);
                        break;
                case ARG_AUTH:
                        break;
                }
        }
        return request_submit(c, method, pr, fn, userdata, err);
}

/* The synchronous form: args_submit() and a wait for the reply, taken
 * into ret by extract. */
static int args_call(rolesd *c, const char *method, const Arg *args, int n, SyncExtract extract, void *ret,
                     rolesd_error *err) {
        Sync s;
        int r;

        if (n < 0)
                return n;
        r = sync_init(&s, c, extract, ret, err);
        return sync_wait(c, r < 0 ? r : args_submit(c, method, args, n, sync_done, &s, err), &s);
}

static int need(const void *arg, const char *field, rolesd_error *err) {
        return arg ? 0 : fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, field, "no %s given", field);
}

/* ---- results ---- */

typedef enum FieldType {
        FIELD_STR,              /* char *, required */
        FIELD_STR_OPT,          /* char *, NULL when absent or nil */
        FIELD_U64,              /* uint64_t, required */
        FIELD_U64_OPT,          /* uint64_t, 0 when absent or nil */
        FIELD_BOOL,             /* bool, required */
        FIELD_STRV,             /* char ** (NULL-terminated), required */
        FIELD_STRV_OPT,         /* char **, NULL when absent */
        FIELD_RECORDS,          /* an array of records of type sub: void **, its count at count_offset */
} FieldType;

typedef struct RecordType RecordType;

typedef struct Field {
        const char *key;
        FieldType type;
        size_t offset;
        const RecordType *sub;          /* FIELD_RECORDS */
        size_t count_offset;            /* FIELD_RECORDS: its size_t count */
} Field;

/* A structure the library allocates for a result map: its size and
 * fields (other keys of the map are ignored: results may grow). */
struct RecordType {
        size_t size;
        const Field *fields;
        size_t n_fields;
};

#define FIELDS(t, f) { sizeof(t), f, ELEMENTSOF(f) }

static void *record_free(void *rec, const RecordType *t);

static void records_free(void **recs, size_t n, const RecordType *t) {
        for (size_t i = 0; recs && i < n; i++)
                record_free(recs[i], t);
        free(recs);
}

/* Frees rec's strings, lists and records, then rec. Accepts NULL. */
static void *record_free(void *rec, const RecordType *t) {
        if (!rec)
                return NULL;
        for (size_t i = 0; i < t->n_fields; i++) {
                const Field *f = &t->fields[i];
                void *p = (char *) rec + f->offset;

                switch (f->type) {
                case FIELD_STR:
                case FIELD_STR_OPT:
                        free(*(char **) p);
                        break;
                case FIELD_STRV:
                case FIELD_STRV_OPT:
                        strv_free(*(char ***) p);
                        break;
                case FIELD_RECORDS:
                        records_free(*(void ***) p, *(size_t *) ((char *) rec + f->count_offset), f->sub);
                        break;
                default:
                        break;
                }
        }
        free(rec);
        return NULL;
}

static int record_decode(const msgpack_object *o, const RecordType *t, void **ret);

/* An array of records into *ret (n entries, counted in *ret_n as they
 * are made, so that a failure frees what was made). */
static int records_decode(const msgpack_object *o, const RecordType *t, void ***ret, size_t *ret_n) {
        if (o->type != MSGPACK_OBJECT_ARRAY)
                return -EBADMSG;
        *ret = calloc(o->via.array.size + 1, sizeof(void *));
        if (!*ret)
                return -ENOMEM;
        for (uint32_t i = 0; i < o->via.array.size; i++) {
                int r = record_decode(&o->via.array.ptr[i], t, &(*ret)[i]);
                if (r < 0)
                        return r;
                (*ret_n)++;
        }
        return 0;
}

static int field_decode(const msgpack_object *v, const Field *f, void *rec) {
        void *p = (char *) rec + f->offset;
        bool absent = !v || v->type == MSGPACK_OBJECT_NIL;
        int r;

        switch (f->type) {
        case FIELD_STR_OPT:
                if (absent)
                        return 0;
                __attribute__((fallthrough));
        case FIELD_STR:
                r = v ? mp_read_str(v, p) : -EBADMSG;
                break;
        case FIELD_U64_OPT:
                if (absent)
                        return 0;
                __attribute__((fallthrough));
        case FIELD_U64:
                r = v ? mp_read_u64(v, p) : -EBADMSG;
                break;
        case FIELD_BOOL:
                r = v ? mp_read_bool(v, p) : -EBADMSG;
                break;
        case FIELD_STRV_OPT:
                if (absent)
                        return 0;
                __attribute__((fallthrough));
        case FIELD_STRV:
                r = v ? mp_read_strv(v, p, NULL) : -EBADMSG;
                break;
        case FIELD_RECORDS:
                r = v ? records_decode(v, f->sub, p, (size_t *) ((char *) rec + f->count_offset)) : -EBADMSG;
                break;
        default:
                r = -EBADMSG;
        }
        return r == -ENOMEM ? r : r < 0 ? -EBADMSG : 0;
}

/* A result map into a new structure of type t. -EBADMSG or -ENOMEM. */
static int record_decode(const msgpack_object *o, const RecordType *t, void **ret) {
        void *rec;

        if (o->type != MSGPACK_OBJECT_MAP)
                return -EBADMSG;
        rec = calloc(1, t->size);
        if (!rec)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_fields; i++) {
                int r = field_decode(mp_map_get(o, t->fields[i].key), &t->fields[i], rec);
                if (r < 0) {
                        record_free(rec, t);
                        return r;
                }
        }
        *ret = rec;
        return 0;
}

/* A reply's result as a new structure of type t in *ret (NULL: checked,
 * then freed). */
static int reply_record(rolesd_reply *r, const RecordType *t, void **ret, rolesd_error *err) {
        const msgpack_object *result;
        void *rec = NULL;
        int k;

        if (ret)
                *ret = NULL;
        if (!r)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no reply");
        k = reply_result(r, &result, err);
        if (k < 0)
                return k;
        k = record_decode(result, t, &rec);
        if (k < 0)
                return fail_decode(err, k, r);
        if (ret)
                *ret = rec;
        else
                record_free(rec, t);
        return 0;
}

/* Where a synchronous call wants its structure. */
typedef struct RecordRet {
        const RecordType *type;
        void **ret;
} RecordRet;

static int extract_record(rolesd_reply *r, void *ret, rolesd_error *err) {
        const RecordRet *rr = ret;
        return reply_record(r, rr->type, rr->ret, err);
}

#define RECORD_RET(t, ret) (&(RecordRet) { &(t), (void **) (ret) })

/* ---- the result types ---- */

static const Field role_deleted_fields[] = {
        { "id",       FIELD_STR, offsetof(rolesd_role_deleted, id),       NULL, 0 },
        { "api_id",   FIELD_STR, offsetof(rolesd_role_deleted, api_id),   NULL, 0 },
        { "name",     FIELD_STR, offsetof(rolesd_role_deleted, name),     NULL, 0 },
        { "revision", FIELD_U64, offsetof(rolesd_role_deleted, revision), NULL, 0 },
};
static const RecordType role_deleted_type = FIELDS(rolesd_role_deleted, role_deleted_fields);

static const Field memberships_fields[] = {
        { "user",  FIELD_STR,  offsetof(rolesd_memberships, user),  NULL, 0 },
        { "roles", FIELD_STRV, offsetof(rolesd_memberships, roles), NULL, 0 },
};
static const RecordType memberships_type = FIELDS(rolesd_memberships, memberships_fields);

static const Field user_fields[] = {
        { "id",       FIELD_STR,      offsetof(rolesd_user, id),       NULL, 0 },
        { "username", FIELD_STR,      offsetof(rolesd_user, username), NULL, 0 },
        { "name",     FIELD_STR_OPT,  offsetof(rolesd_user, name),     NULL, 0 },
        { "roles",    FIELD_STRV_OPT, offsetof(rolesd_user, roles),    NULL, 0 },
};
static const RecordType user_type = FIELDS(rolesd_user, user_fields);

static const Field user_page_fields[] = {
        { "users", FIELD_RECORDS, offsetof(rolesd_user_page, users), &user_type,
          offsetof(rolesd_user_page, n_users) },
        { "total", FIELD_U64,     offsetof(rolesd_user_page, total), NULL, 0 },
        { "next",  FIELD_STR_OPT, offsetof(rolesd_user_page, next),  NULL, 0 },
};
static const RecordType user_page_type = FIELDS(rolesd_user_page, user_page_fields);

static const Field org_fields[] = {
        { "id",       FIELD_U64,     offsetof(rolesd_org, id),       NULL, 0 },
        { "name",     FIELD_STR_OPT, offsetof(rolesd_org, name),     NULL, 0 },
        { "provider", FIELD_STR_OPT, offsetof(rolesd_org, provider), NULL, 0 },
        { "roles",    FIELD_U64,     offsetof(rolesd_org, roles),    NULL, 0 },
};
static const RecordType org_type = FIELDS(rolesd_org, org_fields);

static const Field org_page_fields[] = {
        { "orgs",  FIELD_RECORDS, offsetof(rolesd_org_page, orgs),  &org_type, offsetof(rolesd_org_page, n_orgs) },
        { "total", FIELD_U64,     offsetof(rolesd_org_page, total), NULL, 0 },
};
static const RecordType org_page_type = FIELDS(rolesd_org_page, org_page_fields);

static const Field key_fields[] = {
        { "key_id",     FIELD_STR,     offsetof(rolesd_key, key_id),     NULL, 0 },
        { "user_role",  FIELD_STR,     offsetof(rolesd_key, user_role),  NULL, 0 },
        { "org",        FIELD_U64_OPT, offsetof(rolesd_key, org),        NULL, 0 },
        { "provider",   FIELD_STR_OPT, offsetof(rolesd_key, provider),   NULL, 0 },
        { "created_at", FIELD_U64,     offsetof(rolesd_key, created_at), NULL, 0 },
};
static const RecordType key_type = FIELDS(rolesd_key, key_fields);

static const Field key_list_fields[] = {
        { "keys", FIELD_RECORDS, offsetof(rolesd_keys, keys), &key_type, offsetof(rolesd_keys, n_keys) },
};
static const RecordType key_list_type = FIELDS(rolesd_keys, key_list_fields);

/* access.check's {allowed, roles} and user.remove's {id, username}. */
typedef struct Access {
        bool allowed;
        char **roles;
} Access;

static const Field access_fields[] = {
        { "allowed", FIELD_BOOL, offsetof(Access, allowed), NULL, 0 },
        { "roles",   FIELD_STRV, offsetof(Access, roles),   NULL, 0 },
};
static const RecordType access_type = FIELDS(Access, access_fields);

typedef struct Removed {
        char *id;
        char *username;
} Removed;

static const Field removed_fields[] = {
        { "id",       FIELD_STR, offsetof(Removed, id),       NULL, 0 },
        { "username", FIELD_STR, offsetof(Removed, username), NULL, 0 },
};
static const RecordType removed_type = FIELDS(Removed, removed_fields);

rolesd_role_deleted *rolesd_role_deleted_free(rolesd_role_deleted *d) {
        return record_free(d, &role_deleted_type);
}

rolesd_memberships *rolesd_memberships_free(rolesd_memberships *m) {
        return record_free(m, &memberships_type);
}

rolesd_user_page *rolesd_user_page_free(rolesd_user_page *p) {
        return record_free(p, &user_page_type);
}

rolesd_org_page *rolesd_org_page_free(rolesd_org_page *p) {
        return record_free(p, &org_page_type);
}

rolesd_keys *rolesd_keys_free(rolesd_keys *l) {
        return record_free(l, &key_list_type);
}

char **rolesd_strv_free(char **l) {
        strv_free(l);
        return NULL;
}

int rolesd_reply_role_deleted(rolesd_reply *r, rolesd_role_deleted **ret, rolesd_error *err) {
        return reply_record(r, &role_deleted_type, (void **) ret, err);
}

int rolesd_reply_memberships(rolesd_reply *r, rolesd_memberships **ret, rolesd_error *err) {
        return reply_record(r, &memberships_type, (void **) ret, err);
}

int rolesd_reply_user_page(rolesd_reply *r, rolesd_user_page **ret, rolesd_error *err) {
        return reply_record(r, &user_page_type, (void **) ret, err);
}

int rolesd_reply_org_page(rolesd_reply *r, rolesd_org_page **ret, rolesd_error *err) {
        return reply_record(r, &org_page_type, (void **) ret, err);
}

int rolesd_reply_keys(rolesd_reply *r, rolesd_keys **ret, rolesd_error *err) {
        return reply_record(r, &key_list_type, (void **) ret, err);
}

int rolesd_reply_access(rolesd_reply *r, char ***ret_roles, rolesd_error *err) {
        Access *a = NULL;
        int k;

        if (ret_roles)
                *ret_roles = NULL;
        k = reply_record(r, &access_type, (void **) &a, err);
        if (k < 0)
                return k;
        k = a->allowed;
        if (ret_roles)
                *ret_roles = TAKE_PTR(a->roles);
        record_free(a, &access_type);
        return k;
}

int rolesd_reply_user_removed(rolesd_reply *r, char **ret_user_id, rolesd_error *err) {
        Removed *x = NULL;
        int k;

        if (ret_user_id)
                *ret_user_id = NULL;
        k = reply_record(r, &removed_type, (void **) &x, err);
        if (k < 0)
                return k;
        if (ret_user_id)
                *ret_user_id = TAKE_PTR(x->id);
        record_free(x, &removed_type);
        return 0;
}

static int extract_access(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_access(r, ret, err);
}

static int extract_user_removed(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_user_removed(r, ret, err);
}

/* ---- roles ---- */

/* auth, org and the role's selector: the first three params of every
 * call on one role (args[0..3)). */
static int role_args(Arg args[], const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                     rolesd_error *err) {
        int r = check_role_by(by, value, err);

        if (r < 0)
                return r;
        args[0] = A_AUTH(auth);
        args[1] = A_U64("org", org);
        args[2] = A_STR(by, value);
        return 3;
}

static int role_update_args(Arg args[], const rolesd_auth *auth, uint64_t org, const char *by,
                            const char *value, const rolesd_role_changes *set, uint64_t if_revision,
                            rolesd_error *err) {
        int n = role_args(args, auth, org, by, value, err);

        if (n < 0)
                return n;
        if (!set)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "set", "no changes given");
        args[n++] = A_SET(set);
        args[n++] = A_U64_IF("if_revision", if_revision, if_revision != ROLESD_ANY_REVISION);
        return n;
}

int rolesd_role_update_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                             const char *value, const rolesd_role_changes *set, uint64_t if_revision,
                             rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "role.update", a, role_update_args(a, auth, org, by, value, set, if_revision, NULL),
                           fn, userdata, NULL);
}

int rolesd_role_update(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                       const rolesd_role_changes *set, uint64_t if_revision, rolesd_role **ret,
                       rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "role.update", a, role_update_args(a, auth, org, by, value, set, if_revision, err),
                         extract_role, ret, err);
}

static int role_delete_args(Arg args[], const rolesd_auth *auth, uint64_t org, const char *by,
                            const char *value, uint64_t if_revision, bool force, rolesd_error *err) {
        int n = role_args(args, auth, org, by, value, err);

        if (n < 0)
                return n;
        args[n++] = A_U64_IF("if_revision", if_revision, if_revision != ROLESD_ANY_REVISION);
        args[n++] = A_BOOL_IF("force", true, force);
        return n;
}

int rolesd_role_delete_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                             const char *value, uint64_t if_revision, bool force, rolesd_reply_fn fn,
                             void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "role.delete", a, role_delete_args(a, auth, org, by, value, if_revision, force, NULL),
                           fn, userdata, NULL);
}

int rolesd_role_delete(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                       uint64_t if_revision, bool force, rolesd_role_deleted **ret, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "role.delete", a, role_delete_args(a, auth, org, by, value, if_revision, force, err),
                         extract_record, RECORD_RET(role_deleted_type, ret), err);
}

int rolesd_role_duplicate_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                                const char *value, rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "role.duplicate", a, role_args(a, auth, org, by, value, NULL), fn, userdata, NULL);
}

int rolesd_role_duplicate(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                          const char *value, rolesd_role **ret, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "role.duplicate", a, role_args(a, auth, org, by, value, err), extract_role, ret, err);
}

/* ---- members ---- */

static int member_args(Arg args[], const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                       const char *user, rolesd_error *err) {
        int n = role_args(args, auth, org, by, value, err);

        if (n < 0)
                return n;
        if (need(user, "user", err) < 0)
                return -EINVAL;
        args[n++] = A_STR("user", user);
        return n;
}

int rolesd_member_add_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                            const char *value, const char *user, rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "member.add", a, member_args(a, auth, org, by, value, user, NULL), fn, userdata,
                           NULL);
}

int rolesd_member_add(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                      const char *user, rolesd_memberships **ret, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "member.add", a, member_args(a, auth, org, by, value, user, err), extract_record,
                         RECORD_RET(memberships_type, ret), err);
}

int rolesd_member_remove_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                               const char *value, const char *user, rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "member.remove", a, member_args(a, auth, org, by, value, user, NULL), fn,
                           userdata, NULL);
}

int rolesd_member_remove(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                         const char *value, const char *user, rolesd_memberships **ret, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "member.remove", a, member_args(a, auth, org, by, value, user, err), extract_record,
                         RECORD_RET(memberships_type, ret), err);
}

/* offset, count and after of member.list and user.list (args[0..3)). */
static int page_args(Arg args[], uint64_t offset, uint64_t count, const char *after) {
        args[0] = A_U64_IF("offset", offset, offset > 0);
        args[1] = A_U64_IF("count", count, count > 0);
        args[2] = A_STR("after", after);
        return 3;
}

static int member_list_args(Arg args[], const rolesd_auth *auth, uint64_t org, const char *by,
                            const char *value, uint64_t offset, uint64_t count, const char *after,
                            rolesd_error *err) {
        int n = role_args(args, auth, org, by, value, err);

        return n < 0 ? n : n + page_args(args + n, offset, count, after);
}

int rolesd_member_list_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                             const char *value, uint64_t offset, uint64_t count, const char *after,
                             rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "member.list", a, member_list_args(a, auth, org, by, value, offset, count, after, NULL),
                           fn, userdata, NULL);
}

int rolesd_member_list(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                       uint64_t offset, uint64_t count, const char *after, rolesd_user_page **ret,
                       rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "member.list", a, member_list_args(a, auth, org, by, value, offset, count, after, err),
                         extract_record, RECORD_RET(user_page_type, ret), err);
}

/* auth, org and user: user.roles's, and access.check's first three. */
static int user_args(Arg args[], const rolesd_auth *auth, uint64_t org, const char *user, rolesd_error *err) {
        if (need(user, "user", err) < 0)
                return -EINVAL;
        args[0] = A_AUTH(auth);
        args[1] = A_U64("org", org);
        args[2] = A_STR("user", user);
        return 3;
}

int rolesd_user_roles_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *user,
                            rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "user.roles", a, user_args(a, auth, org, user, NULL), fn, userdata, NULL);
}

int rolesd_user_roles(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *user,
                      rolesd_memberships **ret, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "user.roles", a, user_args(a, auth, org, user, err), extract_record,
                         RECORD_RET(memberships_type, ret), err);
}

static int access_args(Arg args[], const rolesd_auth *auth, uint64_t org, const char *user,
                       const char *permission, rolesd_error *err) {
        int n = user_args(args, auth, org, user, err);

        if (n < 0)
                return n;
        if (need(permission, "permission", err) < 0)
                return -EINVAL;
        args[n++] = A_STR("permission", permission);
        return n;
}

int rolesd_access_check_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *user,
                              const char *permission, rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "access.check", a, access_args(a, auth, org, user, permission, NULL), fn, userdata,
                           NULL);
}

int rolesd_access_check(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *user,
                        const char *permission, char ***ret_roles, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret_roles)
                *ret_roles = NULL;
        return args_call(c, "access.check", a, access_args(a, auth, org, user, permission, err), extract_access,
                         ret_roles, err);
}

/* ---- credentials and organizations ---- */

int rolesd_org_list_async(rolesd *c, uint64_t offset, uint64_t count, rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "org.list", a, page_args(a, offset, count, NULL), fn, userdata, NULL);
}

int rolesd_org_list(rolesd *c, uint64_t offset, uint64_t count, rolesd_org_page **ret, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "org.list", a, page_args(a, offset, count, NULL), extract_record,
                         RECORD_RET(org_page_type, ret), err);
}

static int user_create_args(Arg args[], const rolesd_user_spec *spec, rolesd_error *err) {
        if (!spec || !spec->username)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "username", "a user needs a name");
        args[0] = A_STR("username", spec->username);
        args[1] = A_U64_IF("org", spec->org, spec->org > 0);
        args[2] = A_STR("name", spec->name);
        args[3] = A_STRV("roles", spec->roles);
        return 4;
}

int rolesd_user_create_async(rolesd *c, const rolesd_user_spec *spec, rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "user.add", a, user_create_args(a, spec, NULL), fn, userdata, NULL);
}

int rolesd_user_create(rolesd *c, const rolesd_user_spec *spec, char **ret_user_id, char **ret_token,
                       rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret_user_id)
                *ret_user_id = NULL;
        if (ret_token)
                *ret_token = NULL;
        return args_call(c, "user.add", a, user_create_args(a, spec, err), extract_user,
                         &(UserRet) { ret_user_id, ret_token }, err);
}

static int user_list_args(Arg args[], uint64_t org, uint64_t offset, uint64_t count, const char *after) {
        args[0] = A_U64("org", org);
        return 1 + page_args(args + 1, offset, count, after);
}

int rolesd_user_list_async(rolesd *c, uint64_t org, uint64_t offset, uint64_t count, const char *after,
                           rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "user.list", a, user_list_args(a, org, offset, count, after), fn, userdata, NULL);
}

int rolesd_user_list(rolesd *c, uint64_t org, uint64_t offset, uint64_t count, const char *after,
                     rolesd_user_page **ret, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "user.list", a, user_list_args(a, org, offset, count, after), extract_record,
                         RECORD_RET(user_page_type, ret), err);
}

int rolesd_user_remove_async(rolesd *c, uint64_t org, const char *user, rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        /* user.remove takes no auth: args[0] (none given) is not packed */
        return args_submit(c, "user.remove", a, user_args(a, NULL, org, user, NULL), fn, userdata, NULL);
}

int rolesd_user_remove(rolesd *c, uint64_t org, const char *user, char **ret_user_id, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret_user_id)
                *ret_user_id = NULL;
        return args_call(c, "user.remove", a, user_args(a, NULL, org, user, err), extract_user_removed,
                         ret_user_id, err);
}

static int key_list_args(Arg args[], uint64_t org, const char *provider) {
        args[0] = A_U64_IF("org", org, org > 0);
        args[1] = A_STR("provider", provider);
        return 2;
}

int rolesd_key_list_async(rolesd *c, uint64_t org, const char *provider, rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "key.list", a, key_list_args(a, org, provider), fn, userdata, NULL);
}

int rolesd_key_list(rolesd *c, uint64_t org, const char *provider, rolesd_keys **ret, rolesd_error *err) {
        Arg a[ARGS_MAX];

        if (ret)
                *ret = NULL;
        return args_call(c, "key.list", a, key_list_args(a, org, provider), extract_record,
                         RECORD_RET(key_list_type, ret), err);
}

static int key_revoke_args(Arg args[], const char *key_id, rolesd_error *err) {
        if (need(key_id, "key_id", err) < 0)
                return -EINVAL;
        args[0] = A_STR("key_id", key_id);
        return 1;
}

int rolesd_key_revoke_async(rolesd *c, const char *key_id, rolesd_reply_fn fn, void *userdata) {
        Arg a[ARGS_MAX];

        return args_submit(c, "key.revoke", a, key_revoke_args(a, key_id, NULL), fn, userdata, NULL);
}

int rolesd_key_revoke(rolesd *c, const char *key_id, rolesd_error *err) {
        Arg a[ARGS_MAX];

        return args_call(c, "key.revoke", a, key_revoke_args(a, key_id, err), extract_none, NULL, err);
}
