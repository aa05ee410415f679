/* partoo.c: the Partoo dialect (/v2). Owns the x-APIKey credential,
 * the query parameters (org_id, page, per_page, custom_role_api_id) and
 * the custom role bodies with their marshmallow-style messages, the order
 * in which Partoo reports errors (credential 401, body not JSON 400,
 * organization 400/403/404, schema 400, the role 404, a built-in 403,
 * permissions and uniqueness 400), the mapping of daemon errors onto
 * Partoo's bodies, and the response shapes of POST/GET /v2/custom_role,
 * GET/PUT/DELETE /v2/custom_role/{api_id}, POST /v2/custom_role/duplicate
 * and GET /v2/permissions. */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/utf8.h"
#include "proto/wire.h"
#include "client/rest/rest-internal.h"

#define D ROLESD_REST_PARTOO
#define FORBIDDEN ",;/\\|<>"

#define MSG_MISSING     "Missing data for required field."
#define MSG_NULL        "Field may not be null."
#define MSG_NOT_STRING  "Not a valid string."
#define MSG_NOT_INTEGER "Not a valid integer."
#define MSG_NOT_LIST    "Not a valid list."
#define MSG_PATTERN     "String does not match expected pattern."
#define MSG_UNKNOWN     "Unknown field."
#define MSG_INVALID     "Invalid value."
#define MSG_NOT_OBJECT  "Invalid input type."
#define MSG_NOT_JSON    "Invalid JSON body."
#define MSG_ORG_DIFFERS "Does not match the org_id query parameter."
#define MSG_NO_CHANGE   "At least one of name, api_id, description, permissions is required."
#define MSG_IN_USE      "Custom role is assigned to users."

/* An organization named by the request (query or body), if any. */
typedef struct OrgChoice {
        bool set;
        json_int_t id;
} OrgChoice;

/* ---- responses ---- */

static int reply_401(RestCtx *ctx) {
        return rest_reply_json(ctx, 401, json_pack("{s:{s:s}}", "errors", "authentication", "User not authenticated"));
}

static int reply_403(RestCtx *ctx) {
        return rest_reply_json(ctx, 403, json_pack("{s:{s:s}}", "errors", "authorization", "Operation not allowed"));
}

/* 400 {"errors":{location:errs}}; errs is stolen. */
static int reply_400(RestCtx *ctx, const char *location, json_t *errs) {
        return rest_reply_json(ctx, 400, json_pack("{s:{s:o}}", "errors", location, errs));
}

static int reply_400_field(RestCtx *ctx, const char *location, const char *field, const char *message) {
        return reply_400(ctx, location, json_pack("{s:[s]}", field, message));
}

/* Answers a daemon error that the endpoint did not handle itself.
 * org_location says where a missing org_id is reported ("json" for a
 * body, "query" for reads). */
static int reply_rpc_error(RestCtx *ctx, const char *method, const rolesd_error *err, const char *org_location) {
        switch (err->code) {
        case ROLESD_UNAUTHENTICATED:
                return reply_401(ctx);
        case ROLESD_PERMISSION_DENIED:
                return reply_403(ctx);
        case ROLESD_NOT_FOUND:
                return rest_reply_error(ctx, D, 404);
        case ROLESD_INVALID_ARGUMENT:
                if (strcmp(err->field, "auth") == 0)
                        return reply_401(ctx);  /* a credential the daemon cannot even parse */
                if (strcmp(err->field, "org") == 0)
                        /* A PROVIDER key has no organization of its own. */
                        return reply_400_field(ctx, org_location, "org_id", MSG_MISSING);
                break;
        default:
                break;
        }
        return rest_reply_rpc_failure(ctx, D, method, err);
}

static int reply_malformed(RestCtx *ctx, const char *method) {
        rolesd_error err = { .code = ROLESD_INTERNAL };

        snprintf(err.message, sizeof err.message, "unexpected result shape");
        return rest_reply_rpc_failure(ctx, D, method, &err);
}

/* ---- the request ---- */

/* The API key, or NULL when there is none worth asking the daemon about. */
static const char *api_key(RestCtx *ctx) {
        const char *k = rest_header(ctx, "x-APIKey");

        return k && utf8_valid(k, strlen(k)) ? k : NULL;
}

/* Parses an integer the way marshmallow's Integer field reads a query
 * string: an optional sign and decimal digits. Saturates on overflow. */
static bool parse_int(const char *s, json_int_t *ret) {
        bool neg = *s == '-';
        unsigned long long v = 0;

        if (*s == '+' || *s == '-')
                s++;
        if (!*s)
                return false;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return false;
                if (v <= (unsigned long long) LLONG_MAX)
                        v = v * 10 + (unsigned) (*s - '0');
        }
        if (v > (unsigned long long) LLONG_MAX)
                v = (unsigned long long) LLONG_MAX;
        *ret = neg ? -(json_int_t) v : (json_int_t) v;
        return true;
}

/* Reads integer query parameter name into *ret (left alone when absent;
 * *ret_set tells). A bad value adds its message to errs. max 0: none. */
static int query_int(RestCtx *ctx, json_t *errs, const char *name, json_int_t min, json_int_t max,
                     json_int_t *ret, bool *ret_set) {
        _cleanup_free_ char *s = NULL;
        char msg[128];
        json_int_t v;
        int r;

        r = rest_query_get(ctx, name, &s);
        if (r <= 0)
                return r;
        if (!parse_int(s, &v))
                return rest_field_error(errs, name, MSG_NOT_INTEGER);
        if (v < min || (max > 0 && v > max)) {
                if (max > 0)
                        snprintf(msg, sizeof msg, "Must be greater than or equal to %lld and less than or equal to %lld.",
                                 (long long) min, (long long) max);
                else
                        snprintf(msg, sizeof msg, "Must be greater than or equal to %lld.", (long long) min);
                return rest_field_error(errs, name, msg);
        }
        *ret = v;
        if (ret_set)
                *ret_set = true;
        return 0;
}

/* The body's org_id: an integer >= 1, or null (none). Returns NULL, or
 * the message saying what is wrong with it. */
static const char *org_from_json(json_t *v, OrgChoice *org) {
        static const char too_small[] = "Must be greater than or equal to 1.";

        if (!v || json_is_null(v))
                return NULL;
        if (json_is_integer(v)) {
                if (json_integer_value(v) < 1)
                        return too_small;
                *org = (OrgChoice) { .set = true, .id = json_integer_value(v) };
                return NULL;
        }
        if (json_is_real(v)) {
                /* JSON Schema's integer: any number without a fractional part. */
                double x = json_real_value(v);

                if (x >= 9.2e18) {
                        *org = (OrgChoice) { .set = true, .id = LLONG_MAX };
                        return NULL;
                }
                if (x <= -9.2e18)
                        return too_small;
                if (x != (double) (long long) x)
                        return MSG_NOT_INTEGER;
                if (x < 1)
                        return too_small;
                *org = (OrgChoice) { .set = true, .id = (json_int_t) x };
                return NULL;
        }
        return MSG_NOT_INTEGER;
}

/* The daemon's auth map for the key. */
static json_t *auth_new(const char *key) {
        return json_pack("{s:s}", "api_key", key);
}

/* params: {auth, org?}. */
static json_t *params_new(const char *key, const OrgChoice *org) {
        json_t *p = json_pack("{s:o}", "auth", auth_new(key));

        if (p && org && org->set && json_object_set_new(p, "org", json_integer(org->id)) < 0)
                p = (json_decref(p), NULL);
        return p;
}

/* Asks the daemon whether the key may act (access: "read" or "create")
 * on org (NULL: whichever the key implies). 0, or the daemon's error. */
static int auth_check(RestCtx *ctx, const char *key, const OrgChoice *org, const char *access, rolesd_error *err) {
        _cleanup_(json_decrefp) json_t *p = params_new(key, org);

        if (!p || json_object_set_new(p, "access", json_string(access)) < 0) {
                *err = (rolesd_error) { .code = ROLESD_RESOURCE_EXHAUSTED };
                return -ENOMEM;
        }
        return rest_call(ctx, "auth.check", p, NULL, err);
}

/* A request found an error of its own (local, a 400); the credential
 * comes first, and with stage_org the organization too. Answers with
 * 401/403/404/5xx when the daemon says so, else with local (stolen). */
static int reply_local(RestCtx *ctx, const char *key, const OrgChoice *org, const char *access,
                       bool stage_org, const char *org_location, json_t *local) {
        _cleanup_(json_decrefp) json_t *body = local;
        rolesd_error err;
        int r;

        if (!body)
                return -ENOMEM;
        r = auth_check(ctx, key, stage_org ? org : NULL, access, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.code == ROLESD_UNAUTHENTICATED ||
                    (err.code == ROLESD_INVALID_ARGUMENT && strcmp(err.field, "auth") == 0))
                        return reply_401(ctx);
                if (err.code == ROLESD_UNAVAILABLE || err.code == ROLESD_RESOURCE_EXHAUSTED ||
                    err.code == ROLESD_INTERNAL)
                        return rest_reply_rpc_failure(ctx, D, "auth.check", &err);
                if (stage_org)
                        return reply_rpc_error(ctx, "auth.check", &err, org_location);
        }
        return rest_reply_json(ctx, 400, TAKE_PTR(body));
}

/* ---- POST /v2/custom_role ---- */

/* name, api_id, description: 1..max characters, none of ,;/\|<>. */
static int check_text(json_t *body, json_t *errs, const char *field, bool required, size_t max) {
        json_t *v = json_object_get(body, field);
        const char *s;
        size_t n;
        int r;

        if (!v)
                return required ? rest_field_error(errs, field, MSG_MISSING) : 0;
        if (json_is_null(v))
                return rest_field_error(errs, field, MSG_NULL);
        if (!json_is_string(v))
                return rest_field_error(errs, field, MSG_NOT_STRING);
        s = json_string_value(v);
        n = utf8_length(s, json_string_length(v));
        if (n < 1 || n > max) {
                char msg[64];

                snprintf(msg, sizeof msg, "Length must be between 1 and %zu.", max);
                r = rest_field_error(errs, field, msg);
                if (r < 0)
                        return r;
        }
        /* The pattern ^[^,;/\\|<>]{1,max}$ fails on the length too. */
        if (n < 1 || n > max || strpbrk(s, FORBIDDEN))
                return rest_field_error(errs, field, MSG_PATTERN);
        return 0;
}

/* Validates the body against CustomRoleCreationBody (org_id aside, which
 * the organization stage has checked), or with update, the update's body:
 * the same fields, none required, at least one. Messages go into errs. */
static int check_body(json_t *body, json_t *errs, bool update) {
        static const char *const known[] = { "name", "api_id", "description", "permissions", "org_id" };
        const char *key;
        json_t *v;
        int r;

        r = check_text(body, errs, "name", !update, PARTOO_NAME_MAX);
        if (r >= 0)
                r = check_text(body, errs, "api_id", !update, PARTOO_NAME_MAX);
        if (r >= 0)
                r = check_text(body, errs, "description", false, PARTOO_DESCRIPTION_MAX);
        if (r < 0)
                return r;

        v = json_object_get(body, "permissions");
        if (!v)
                r = update ? 0 : rest_field_error(errs, "permissions", MSG_MISSING);
        else if (json_is_null(v))
                r = rest_field_error(errs, "permissions", MSG_NULL);
        else if (!json_is_array(v))
                r = rest_field_error(errs, "permissions", MSG_NOT_LIST);
        else if (json_array_size(v) > ROLE_PERMISSIONS_MAX) {
                char msg[64];

                snprintf(msg, sizeof msg, "Longer than maximum length %u.", ROLE_PERMISSIONS_MAX);
                r = rest_field_error(errs, "permissions", msg);
        } else {
                size_t i;
                json_t *x;

                json_array_foreach(v, i, x)
                        if (!json_is_string(x)) {
                                r = rest_field_error(errs, "permissions", MSG_NOT_STRING);
                                break;
                        }
        }
        if (r < 0)
                return r;

        json_object_foreach(body, key, v) {
                bool ok = false;

                for (size_t i = 0; i < ELEMENTSOF(known) && !ok; i++)
                        ok = strcmp(key, known[i]) == 0;
                if (!ok) {
                        r = rest_field_error(errs, key, MSG_UNKNOWN);
                        if (r < 0)
                                return r;
                }
        }
        if (update && json_object_size(errs) == 0) {
                bool any = false;

                for (size_t i = 0; i < ELEMENTSOF(known) - 1; i++)      /* org_id changes nothing */
                        any = any || json_object_get(body, known[i]);
                if (!any)
                        return rest_field_error(errs, "_schema", MSG_NO_CHANGE);
        }
        return 0;
}

/* Adds every permission name of a catalog ({sections:[{subsections:
 * [{permissions:[{name}]}]}]}) to the object set. */
static int catalog_names(json_t *catalog, json_t *set) {
        size_t i, j, k;
        json_t *sec, *sub, *perm;

        json_array_foreach(json_object_get(catalog, "sections"), i, sec)
                json_array_foreach(json_object_get(sec, "subsections"), j, sub)
                        json_array_foreach(json_object_get(sub, "permissions"), k, perm) {
                                const char *name = json_string_value(json_object_get(perm, "name"));
                                if (name && json_object_set_new(set, name, json_true()) < 0)
                                        return -ENOMEM;
                        }
        return 0;
}

/* The daemon refused the permissions: say which ones are unknown. */
static int reply_bad_permissions(RestCtx *ctx, const char *key, const OrgChoice *org, json_t *perms) {
        _cleanup_(json_decrefp) json_t *p = params_new(key, org), *catalog = NULL, *known = json_object(),
                                        *errs = json_object(), *reported = json_object();
        rolesd_error err;
        size_t i;
        json_t *x;
        int r;

        if (!p || !known || !errs || !reported)
                return -ENOMEM;
        r = rest_call(ctx, "permission.catalog", p, &catalog, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return reply_rpc_error(ctx, "permission.catalog", &err, "json");
        r = catalog_names(catalog, known);
        if (r < 0)
                return r;
        json_array_foreach(perms, i, x) {
                const char *name = json_string_value(x);
                _cleanup_free_ char *msg = NULL;

                if (!name || json_object_get(known, name) || json_object_get(reported, name))
                        continue;
                if (asprintf(&msg, "Unknown permission: %s.", name) < 0)
                        return -ENOMEM;
                r = rest_field_error(errs, "permissions", msg);
                if (r < 0 || json_object_set_new(reported, name, json_true()) < 0)
                        return -ENOMEM;
        }
        if (json_object_size(errs) == 0 && rest_field_error(errs, "permissions", MSG_INVALID) < 0)
                return -ENOMEM;
        return reply_400(ctx, "json", TAKE_PTR(errs));
}

/* The answer to a create, an update or a delete: {"status": "success",
 * "api_id": ...}, the api_id the role has (had) after it. */
static int success_visit(const msgpack_object *result, void *userdata, const char **reterr_why) {
        Buf *b = userdata;

        *reterr_why = "role without api_id";
        (void) rest_json_raw(b, "{\"status\":\"success\",\"api_id\":");
        if (rest_json_mp_str(b, mp_map_get(result, "api_id")) == -EBADMSG)
                return -EBADMSG;
        (void) rest_json_raw(b, "}");
        return b->oom ? -ENOMEM : 0;
}

/* The start of a request with a body (access: "create" or "update"):
 * the credential, a body that is not a JSON object, the organization from
 * the query or the body (both must agree), then the body's schema (update:
 * the update's). Returns 1 with *ret_key, *ret_body and *ret_org when the
 * request may go on, 0 when it has been answered, or -ENOMEM. */
static int body_begin(RestCtx *ctx, const char *access, bool update, const char **ret_key, json_t **ret_body,
                      OrgChoice *ret_org) {
        _cleanup_(json_decrefp) json_t *body = NULL, *qerrs = NULL, *errs = NULL;
        OrgChoice qorg = {0}, borg = {0};
        const char *key, *msg;
        int r;

        /* 1. The credential: without one, nothing else is looked at. */
        key = *ret_key = api_key(ctx);
        if (!key)
                return reply_401(ctx);

        /* 2. A body that is not a JSON object. */
        r = rest_parse_body(ctx, &body);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !json_is_object(body))
                return reply_local(ctx, key, NULL, access, false, "json",
                                   json_pack("{s:{s:{s:[s]}}}", "errors", "json", "_schema",
                                             r < 0 ? MSG_NOT_JSON : MSG_NOT_OBJECT));

        /* 3. The organization, from the query or the body; both must agree. */
        qerrs = json_object();
        if (!qerrs)
                return -ENOMEM;
        r = query_int(ctx, qerrs, "org_id", 1, 0, &qorg.id, &qorg.set);
        if (r < 0)
                return r;
        if (json_object_size(qerrs) > 0)
                return reply_local(ctx, key, NULL, access, false, "query",
                                   json_pack("{s:{s:O}}", "errors", "query", qerrs));
        msg = org_from_json(json_object_get(body, "org_id"), &borg);
        if (msg)
                return reply_local(ctx, key, NULL, access, false, "json",
                                   json_pack("{s:{s:{s:[s]}}}", "errors", "json", "org_id", msg));
        if (qorg.set && borg.set && qorg.id != borg.id)
                return reply_local(ctx, key, NULL, access, false, "json",
                                   json_pack("{s:{s:{s:[s]}}}", "errors", "json", "org_id", MSG_ORG_DIFFERS));
        *ret_org = qorg.set ? qorg : borg;

        /* 4. The body's schema; its errors come after the organization's. */
        errs = json_object();
        if (!errs)
                return -ENOMEM;
        r = check_body(body, errs, update);
        if (r < 0)
                return r;
        if (json_object_size(errs) > 0)
                return reply_local(ctx, key, ret_org, access, true, "json",
                                   json_pack("{s:{s:O}}", "errors", "json", errs));
        *ret_body = TAKE_PTR(body);
        return 1;
}

/* Sets every field of the body but org_id on params (as role.create and
 * role.update's set take them). */
static int copy_fields(json_t *params, json_t *body) {
        static const char *const fields[] = { "name", "api_id", "description", "permissions" };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                json_t *v = json_object_get(body, fields[i]);

                if (v && json_object_set(params, fields[i], v) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The daemon refused a create's or an update's fields: the uniqueness of
 * api_id and name, unknown permissions, naming rules. */
static int reply_write_error(RestCtx *ctx, const char *method, const char *key, const OrgChoice *org,
                             json_t *body, const rolesd_error *err) {
        if (err->code == ROLESD_DUPLICATE && strcmp(err->field, "api_id") == 0)
                return reply_400_field(ctx, "json", "api_id", "A custom role with this api_id already exists.");
        if (err->code == ROLESD_DUPLICATE && strcmp(err->field, "name") == 0)
                return reply_400_field(ctx, "json", "name", "A custom role with this name already exists.");
        if (err->code == ROLESD_INVALID_ARGUMENT && strcmp(err->field, "permissions") == 0)
                return reply_bad_permissions(ctx, key, org, json_object_get(body, "permissions"));
        if (err->code == ROLESD_INVALID_ARGUMENT &&
            (strcmp(err->field, "name") == 0 || strcmp(err->field, "api_id") == 0 ||
             strcmp(err->field, "description") == 0))
                return reply_400_field(ctx, "json", err->field, MSG_INVALID);
        return reply_rpc_error(ctx, method, err, "json");
}

int partoo_create(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *body = NULL, *params = NULL;
        _cleanup_(buf_done) Buf out = {0};
        OrgChoice org = {0};
        const char *key;
        rolesd_error err;
        int r;

        r = body_begin(ctx, "create", false, &key, &body, &org);
        if (r <= 0)
                return r;

        /* 5. Create: the daemon checks credential, organization,
         * permissions and uniqueness, in that order. */
        params = params_new(key, &org);
        if (!params || copy_fields(params, body) < 0)
                return -ENOMEM;
        r = rest_call_visit(ctx, "role.create", params, success_visit, &out, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return reply_write_error(ctx, "role.create", key, &org, body, &err);
        return rest_reply_buf(ctx, 200, &out);
}

/* ---- reads ---- */

/* A role as Partoo shows it (api_id, name, description, is_builtin, and
 * with_permissions, its permissions), written straight from the daemon's
 * MessagePack into JSON. -EBADMSG on a malformed role. */
static int role_write(Buf *b, const msgpack_object *role, bool with_permissions) {
        const msgpack_object *desc = mp_map_get(role, "description"), *perms = mp_map_get(role, "permissions");

        if (role->type != MSGPACK_OBJECT_MAP || (with_permissions && (!perms || perms->type != MSGPACK_OBJECT_ARRAY)))
                return -EBADMSG;
        (void) rest_json_raw(b, "{\"api_id\":");
        if (rest_json_mp_str(b, mp_map_get(role, "api_id")) == -EBADMSG ||
            rest_json_raw(b, ",\"name\":") < 0 || rest_json_mp_str(b, mp_map_get(role, "name")) == -EBADMSG ||
            rest_json_raw(b, ",\"description\":") < 0 ||
            (desc && desc->type != MSGPACK_OBJECT_NIL ? rest_json_mp_str(b, desc) : rest_json_raw(b, "null")) == -EBADMSG ||
            rest_json_raw(b, ",\"is_builtin\":") < 0 || rest_json_mp_bool(b, mp_map_get(role, "protected")) == -EBADMSG)
                return -EBADMSG;
        if (with_permissions) {
                (void) rest_json_raw(b, ",\"permissions\":[");
                for (uint32_t i = 0; i < perms->via.array.size; i++)
                        if ((i > 0 && rest_json_raw(b, ",") < 0) ||
                            rest_json_mp_str(b, &perms->via.array.ptr[i]) == -EBADMSG)
                                return -EBADMSG;
                (void) rest_json_raw(b, "]");
        }
        (void) rest_json_raw(b, "}");
        return b->oom ? -ENOMEM : 0;
}

static int get_visit(const msgpack_object *result, void *userdata, const char **reterr_why) {
        int r = role_write(userdata, result, true);

        *reterr_why = "not a role";
        return r;
}

/* The page of role.list as GET /v2/custom_role shows it. */
typedef struct ListPage {
        Buf *out;
        json_int_t page;
} ListPage;

static int list_visit(const msgpack_object *result, void *userdata, const char **reterr_why) {
        ListPage *l = userdata;
        const msgpack_object *roles = mp_map_get(result, "roles");
        uint64_t count, max_page;
        char head[128];
        int r;

        *reterr_why = "not a page of roles";
        if (!roles || roles->type != MSGPACK_OBJECT_ARRAY ||
            !mp_map_get(result, "count") || mp_read_u64(mp_map_get(result, "count"), &count) < 0 ||
            !mp_map_get(result, "max_page") || mp_read_u64(mp_map_get(result, "max_page"), &max_page) < 0 ||
            count > INT64_MAX || max_page > INT64_MAX)
                return -EBADMSG;
        snprintf(head, sizeof head, "{\"page\":%lld,\"max_page\":%" PRIu64 ",\"count\":%" PRIu64 ",\"custom_roles\":[",
                 (long long) l->page, max_page, count);
        (void) rest_json_raw(l->out, head);
        for (uint32_t i = 0; i < roles->via.array.size; i++) {
                if (i > 0)
                        (void) rest_json_raw(l->out, ",");
                r = role_write(l->out, &roles->via.array.ptr[i], false);
                if (r < 0)
                        return r;
        }
        (void) rest_json_raw(l->out, "]}");
        return l->out->oom ? -ENOMEM : 0;
}

/* The start of a request without a body (access: "read", or what it
 * does): the credential and the query, whose errors qerrs may hold
 * already. Returns 1 when the request may go on, 0 when it has been
 * answered, or -ENOMEM. */
static int query_begin(RestCtx *ctx, const char *access, const char **ret_key, OrgChoice *org, json_t *qerrs) {
        const char *key = api_key(ctx);
        int r;

        *ret_key = key;
        if (!key)
                return reply_401(ctx);
        r = query_int(ctx, qerrs, "org_id", 1, 0, &org->id, &org->set);
        if (r < 0)
                return r;
        if (json_object_size(qerrs) > 0)
                return reply_local(ctx, key, NULL, access, false, "query",
                                   json_pack("{s:{s:O}}", "errors", "query", qerrs));
        return 1;
}

int partoo_list(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *qerrs = json_object(), *params = NULL;
        json_int_t page = 1, per_page = ROLE_LIST_PER_PAGE_DEFAULT;
        _cleanup_(buf_done) Buf b = {0};
        OrgChoice org = {0};
        const char *key;
        rolesd_error err;
        int r;

        if (!qerrs)
                return -ENOMEM;
        r = query_int(ctx, qerrs, "page", 1, 0, &page, NULL);
        if (r >= 0)
                r = query_int(ctx, qerrs, "per_page", 1, ROLE_LIST_PER_PAGE_MAX, &per_page, NULL);
        if (r < 0)
                return r;
        r = query_begin(ctx, "read", &key, &org, qerrs);
        if (r <= 0)
                return r;

        params = params_new(key, &org);
        if (!params ||
            json_object_set_new(params, "page", json_integer(page)) < 0 ||
            json_object_set_new(params, "per_page", json_integer(per_page)) < 0)
                return -ENOMEM;
        r = rest_call_visit(ctx, "role.list", params, list_visit, &(ListPage) { .out = &b, .page = page }, &err);
        if (r == -ENOMEM)
                return r;
        /* A malformed result fails the call (ROLESD_INTERNAL): a 500 like any other. */
        if (r < 0)
                return reply_rpc_error(ctx, "role.list", &err, "query");
        return rest_reply_buf(ctx, 200, &b);
}

/* A path's {api_id} that is not a string the daemon could hold names no
 * role: 404, once credential and organization have been checked for the
 * access the request wanted. */
static int reply_no_role(RestCtx *ctx, const char *key, const OrgChoice *org, const char *access,
                         const char *org_location) {
        rolesd_error err;
        int r;

        r = auth_check(ctx, key, org, access, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return reply_rpc_error(ctx, "auth.check", &err, org_location);
        return rest_reply_error(ctx, D, 404);
}

/* The start of a request on the role its path names, without a body
 * (access: what it does): the credential, the query, an {api_id} that
 * names no role. Returns 1 with *ret_params, the call's {auth, org?,
 * api_id}, when the request may go on; 0 when it has been answered; or
 * -ENOMEM. */
static int path_begin(RestCtx *ctx, const char *access, json_t **ret_params) {
        _cleanup_(json_decrefp) json_t *qerrs = json_object();
        OrgChoice org = {0};
        const char *key;
        int r;

        if (!qerrs)
                return -ENOMEM;
        r = query_begin(ctx, access, &key, &org, qerrs);
        if (r <= 0)
                return r;
        if (!ctx->arg)
                return reply_no_role(ctx, key, &org, access, "query");
        *ret_params = params_new(key, &org);
        if (!*ret_params || json_object_set_new(*ret_params, "api_id", json_string(ctx->arg)) < 0)
                return -ENOMEM;
        return 1;
}

int partoo_get(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *params = NULL;
        _cleanup_(buf_done) Buf b = {0};
        rolesd_error err;
        int r;

        r = path_begin(ctx, "read", &params);
        if (r <= 0)
                return r;
        r = rest_call_visit(ctx, "role.get", params, get_visit, &b, &err);
        if (r == -ENOMEM)
                return r;
        /* A malformed result fails the call (ROLESD_INTERNAL): a 500 like any other. */
        if (r < 0)
                return reply_rpc_error(ctx, "role.get", &err, "query");
        return rest_reply_buf(ctx, 200, &b);
}

int partoo_permissions(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *qerrs = json_object(), *params = NULL, *result = NULL;
        OrgChoice org = {0};
        const char *key;
        rolesd_error err;
        int r;

        if (!qerrs)
                return -ENOMEM;
        r = query_begin(ctx, "read", &key, &org, qerrs);
        if (r <= 0)
                return r;
        params = params_new(key, &org);
        if (!params)
                return -ENOMEM;
        r = rest_call(ctx, "permission.catalog", params, &result, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return reply_rpc_error(ctx, "permission.catalog", &err, "query");
        if (!json_is_array(json_object_get(result, "sections")))
                return reply_malformed(ctx, "permission.catalog");
        return rest_reply_json(ctx, 200, json_pack("{s:O}", "sections", json_object_get(result, "sections")));
}

/* ---- PUT /v2/custom_role/{api_id} ---- */

int partoo_update(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *body = NULL, *params = NULL, *set = json_object();
        _cleanup_(buf_done) Buf out = {0};
        OrgChoice org = {0};
        const char *key;
        rolesd_error err;
        int r;

        if (!set)
                return -ENOMEM;
        r = body_begin(ctx, "update", true, &key, &body, &org);
        if (r <= 0)
                return r;
        if (!ctx->arg)
                return reply_no_role(ctx, key, &org, "update", "json");

        /* The daemon checks credential, organization, the role (404), a
         * built-in (403), permissions and uniqueness, in that order. */
        params = params_new(key, &org);
        if (!params || copy_fields(set, body) < 0 ||
            json_object_set_new(params, "api_id", json_string(ctx->arg)) < 0 ||
            json_object_set(params, "set", set) < 0)
                return -ENOMEM;
        r = rest_call_visit(ctx, "role.update", params, success_visit, &out, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.code == ROLESD_PROTECTED)
                        return reply_403(ctx);
                return reply_write_error(ctx, "role.update", key, &org, body, &err);
        }
        return rest_reply_buf(ctx, 200, &out);
}

/* ---- DELETE /v2/custom_role/{api_id} ---- */

int partoo_delete(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *params = NULL;
        _cleanup_(buf_done) Buf out = {0};
        rolesd_error err;
        int r;

        /* The daemon checks credential, organization, the role (404), a
         * built-in (403) and holders (400), in that order. */
        r = path_begin(ctx, "delete", &params);
        if (r <= 0)
                return r;
        r = rest_call_visit(ctx, "role.delete", params, success_visit, &out, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.code == ROLESD_PROTECTED)
                        return reply_403(ctx);
                if (err.code == ROLESD_IN_USE)
                        return reply_400_field(ctx, "json", "api_id", MSG_IN_USE);
                return reply_rpc_error(ctx, "role.delete", &err, "query");
        }
        return rest_reply_buf(ctx, 200, &out);
}

/* ---- POST /v2/custom_role/duplicate ---- */

/* The copy as Partoo shows it: name, api_id, description, org_id and
 * is_builtin (false: a copy is never built in). */
static int duplicate_visit(const msgpack_object *result, void *userdata, const char **reterr_why) {
        const msgpack_object *desc = mp_map_get(result, "description");
        Buf *b = userdata;
        uint64_t org;
        char tail[64];

        *reterr_why = "not a role";
        if (mp_read_u64(mp_map_get(result, "org"), &org) < 0)
                return -EBADMSG;
        (void) rest_json_raw(b, "{\"name\":");
        if (rest_json_mp_str(b, mp_map_get(result, "name")) == -EBADMSG ||
            rest_json_raw(b, ",\"api_id\":") < 0 || rest_json_mp_str(b, mp_map_get(result, "api_id")) == -EBADMSG ||
            rest_json_raw(b, ",\"description\":") < 0 ||
            (desc && desc->type != MSGPACK_OBJECT_NIL ? rest_json_mp_str(b, desc) : rest_json_raw(b, "null")) == -EBADMSG)
                return -EBADMSG;
        snprintf(tail, sizeof tail, ",\"org_id\":%" PRIu64 ",\"is_builtin\":false}", org);
        (void) rest_json_raw(b, tail);
        return b->oom ? -ENOMEM : 0;
}

int partoo_duplicate(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *qerrs = json_object(), *params = NULL;
        _cleanup_free_ char *source = NULL;
        _cleanup_(buf_done) Buf out = {0};
        OrgChoice org = {0};
        const char *key;
        rolesd_error err;
        int r;

        /* The role to copy comes in the query (the document declares the
         * parameter; its path has no place for it); a body is not read. */
        if (!qerrs)
                return -ENOMEM;
        r = rest_query_get(ctx, "custom_role_api_id", &source);
        if (r == 0)
                r = rest_field_error(qerrs, "custom_role_api_id", MSG_MISSING);
        else if (r > 0 && !utf8_valid(source, strlen(source)))
                r = rest_field_error(qerrs, "custom_role_api_id", MSG_NOT_STRING);
        if (r < 0)
                return r;
        r = query_begin(ctx, "create", &key, &org, qerrs);
        if (r <= 0)
                return r;

        /* The daemon checks credential, organization, the role (404), a
         * built-in (403) and the copy's names (400), in that order. */
        params = params_new(key, &org);
        if (!params || json_object_set_new(params, "api_id", json_string(source)) < 0)
                return -ENOMEM;
        r = rest_call_visit(ctx, "role.duplicate", params, duplicate_visit, &out, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.code == ROLESD_PROTECTED)
                        return reply_403(ctx);
                if (err.code == ROLESD_INVALID_ARGUMENT &&
                    (strcmp(err.field, "name") == 0 || strcmp(err.field, "api_id") == 0)) {
                        char msg[64];

                        /* The copy's name or api_id ("NAME - 2", "API_ID_2") would be too long. */
                        snprintf(msg, sizeof msg, "Length must be between 1 and %u.", PARTOO_NAME_MAX);
                        return reply_400_field(ctx, "json", err.field, msg);
                }
                return reply_rpc_error(ctx, "role.duplicate", &err, "query");
        }
        return rest_reply_buf(ctx, 200, &out);
}
