/* rocketchat.c: the Rocket.Chat dialect (/api/v1). Owns the
 * X-User-Id/X-Auth-Token login, the request bodies with Rocket.Chat's
 * validator (ajv with coerceTypes: numbers and booleans become their
 * JavaScript text, null becomes "" or false, "true"/"false"/1/0 become
 * booleans; no other properties), the order of each endpoint's checks as
 * Rocket.Chat makes them, its error bodies ("MESSAGE [TYPE]" with
 * errorType, its 403, its bare failures), and the shapes of roles
 * (_id, _updatedAt in ISO 8601 with milliseconds) and of users in a role.
 * Endpoints: roles.create, roles.list, roles.update, roles.delete,
 * roles.addUserToRole, roles.removeUserFromRole, roles.getUsersInRole,
 * roles.sync. */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/utf8.h"
#include "proto/wire.h"
#include "client/rest/rest-internal.h"

#define D ROLESD_REST_ROCKETCHAT
#define WORKSPACE_ORG 0

#define ERR_INVALID   "error-invalid-role-properties"
#define ERR_DUPLICATE "error-duplicate-role-names-not-allowed"
#define ERR_FORBIDDEN "error-action-not-allowed"
#define ERR_ROLE_ID   "error-invalid-roleId"
#define ERR_PROTECTED "error-role-protected"
#define ERR_USER      "error-invalid-user"
#define ERR_PARAMS    "invalid-params"

#define MSG_INVALID   "The role properties are invalid."
#define MSG_FORBIDDEN "Accessing permissions is not allowed"
#define MSG_NO_ROLE   "This role does not exist"

/* ---- responses ---- */

static int reply_401(RestCtx *ctx) {
        return rest_reply_json(ctx, 401, json_pack("{s:s, s:s}", "status", "error",
                                                   "message", "You must be logged in to do this."));
}

/* 400 {"success":false,"error":"MESSAGE [TYPE]","errorType":TYPE}: a
 * Meteor.Error as Rocket.Chat's API renders it (message NULL: "[TYPE]"). */
static int reply_typed(RestCtx *ctx, const char *message, const char *type) {
        _cleanup_free_ char *error = NULL;

        if (asprintf(&error, "%s%s[%s]", message ? message : "", message ? " " : "", type) < 0)
                return -ENOMEM;
        return rest_reply_json(ctx, 400, json_pack("{s:b, s:s, s:s}", "success", 0, "error", error,
                                                   "errorType", type));
}

static int reply_invalid(RestCtx *ctx) {
        return reply_typed(ctx, MSG_INVALID, ERR_INVALID);
}

static int reply_forbidden(RestCtx *ctx) {
        return reply_typed(ctx, MSG_FORBIDDEN, ERR_FORBIDDEN);
}

static int reply_duplicate(RestCtx *ctx) {
        return reply_typed(ctx, "Role name already exists", ERR_DUPLICATE);
}

/* 400 API.v1.failure(error[, errorType]): bodies Rocket.Chat builds
 * itself, verbatim (errorType NULL: none). */
static int reply_failure(RestCtx *ctx, const char *error, const char *error_type) {
        json_t *b = json_pack("{s:b, s:s}", "success", 0, "error", error);

        if (b && error_type && json_object_set_new(b, "errorType", json_string(error_type)) < 0)
                b = (json_decref(b), NULL);
        return rest_reply_json(ctx, 400, b);
}

/* 403: the caller lacks a permission the route requires. */
static int reply_403(RestCtx *ctx) {
        return rest_reply_json(ctx, 403, json_pack("{s:b, s:s}", "success", 0, "error",
                                                   "User does not have the permissions required for this "
                                                   "action [error-unauthorized]"));
}

static int reply_malformed(RestCtx *ctx, const char *method) {
        rolesd_error err = { .code = ROLESD_INTERNAL };

        snprintf(err.message, sizeof err.message, "unexpected result shape");
        return rest_reply_rpc_failure(ctx, D, method, &err);
}

/* Daemon errors every endpoint maps the same way. */
static int reply_rpc_error(RestCtx *ctx, const char *method, const rolesd_error *err) {
        switch (err->code) {
        case ROLESD_UNAUTHENTICATED:
                return reply_401(ctx);
        case ROLESD_PERMISSION_DENIED:
                return reply_forbidden(ctx);
        case ROLESD_INVALID_ARGUMENT:
                if (strcmp(err->field, "auth") == 0)
                        return reply_401(ctx);
                break;
        default:
                break;
        }
        return rest_reply_rpc_failure(ctx, D, method, err);
}

/* ---- the login ---- */

/* The daemon's auth map for the login headers, or NULL with *ret_missing
 * set when they are absent (or not text the daemon could know). */
static json_t *auth_new(RestCtx *ctx, bool *ret_missing) {
        const char *user = rest_header(ctx, "X-User-Id"), *token = rest_header(ctx, "X-Auth-Token");

        *ret_missing = !user || !token || !utf8_valid(user, strlen(user)) || !utf8_valid(token, strlen(token));
        if (*ret_missing)
                return NULL;
        return json_pack("{s:s, s:s}", "user_id", user, "token", token);
}

/* ---- coercion, as ajv's coerceTypes does it ---- */

/* A number as JavaScript's Number.prototype.toString writes it: the
 * shortest digits that read back as x, in fixed notation for exponents
 * -7 < e < 21, else in exponent notation ("1e+21", "1.5e-7"). */
static void js_number(double x, char *buf, size_t size) {
        char tmp[40], digits[20], out[48], *w = out;
        double ax = x < 0 ? -x : x;
        int k = 0, n;

        if (x == 0) {           /* also -0 */
                snprintf(buf, size, "0");
                return;
        }
        if (!isfinite(x)) {     /* JSON has none, but be total */
                snprintf(buf, size, "%s", isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
                return;
        }
        for (int p = 1; p <= 17; p++) {
                snprintf(tmp, sizeof tmp, "%.*e", p - 1, ax);
                if (strtod(tmp, NULL) == ax)
                        break;
        }
        /* tmp is "d[.ddd]e[+-]XX": k significant digits, point after n of them. */
        for (const char *c = tmp; *c && *c != 'e'; c++)
                if (*c != '.' && k < (int) sizeof digits - 1)
                        digits[k++] = *c;
        while (k > 1 && digits[k - 1] == '0')
                k--;
        n = atoi(strchr(tmp, 'e') + 1) + 1;

        if (x < 0)
                *w++ = '-';
        if (k <= n && n <= 21) {                /* 1200 */
                memcpy(w, digits, (size_t) k);
                w += k;
                for (int i = k; i < n; i++)
                        *w++ = '0';
        } else if (0 < n && n <= 21) {          /* 12.5 */
                memcpy(w, digits, (size_t) n);
                w += n;
                *w++ = '.';
                memcpy(w, digits + n, (size_t) (k - n));
                w += k - n;
        } else if (-6 < n && n <= 0) {          /* 0.00125 */
                *w++ = '0';
                *w++ = '.';
                for (int i = 0; i < -n; i++)
                        *w++ = '0';
                memcpy(w, digits, (size_t) k);
                w += k;
        } else {                                /* 1.25e+21, 1e-7 */
                *w++ = digits[0];
                if (k > 1) {
                        *w++ = '.';
                        memcpy(w, digits + 1, (size_t) (k - 1));
                        w += k - 1;
                }
                w += snprintf(w, sizeof out - (size_t) (w - out), "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
        }
        *w = '\0';
        snprintf(buf, size, "%s", out);
}

/* A value where a string is due. -EINVAL for arrays and objects. */
static int coerce_string(json_t *v, char **ret) {
        char num[40];
        const char *s;

        switch (json_typeof(v)) {
        case JSON_STRING:
                s = json_string_value(v);
                break;
        case JSON_INTEGER: {
                json_int_t i = json_integer_value(v);

                /* JavaScript numbers are doubles: exact up to 2^53. */
                if (i >= -(1LL << 53) && i <= (1LL << 53))
                        snprintf(num, sizeof num, "%lld", (long long) i);
                else
                        js_number((double) i, num, sizeof num);
                s = num;
                break;
        }
        case JSON_REAL:
                js_number(json_real_value(v), num, sizeof num);
                s = num;
                break;
        case JSON_TRUE:
                s = "true";
                break;
        case JSON_FALSE:
                s = "false";
                break;
        case JSON_NULL:
                s = "";
                break;
        default:
                return -EINVAL;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* A value where a boolean is due. -EINVAL when it does not coerce. */
static int coerce_bool(json_t *v, bool *ret) {
        switch (json_typeof(v)) {
        case JSON_TRUE:
        case JSON_FALSE:
                *ret = json_is_true(v);
                return 0;
        case JSON_NULL:
                *ret = false;
                return 0;
        case JSON_STRING:
                if (strcmp(json_string_value(v), "true") == 0 || strcmp(json_string_value(v), "false") == 0) {
                        *ret = json_string_value(v)[0] == 't';
                        return 0;
                }
                return -EINVAL;
        case JSON_INTEGER:
        case JSON_REAL: {
                double x = json_number_value(v);

                if (x == 0 || x == 1) {
                        *ret = x == 1;
                        return 0;
                }
                return -EINVAL;
        }
        default:
                return -EINVAL;
        }
}

/* ---- bodies ---- */

typedef struct Flag {
        bool set;
        bool v;
} Flag;

/* Every property of the endpoints' bodies; each endpoint's table says
 * which it takes. Strings are NULL when absent. */
typedef struct Body {
        char *role_id;
        char *name;
        char *description;
        char *scope;
        Flag mandatory2fa;
        char *username;
        char *room_id;
        char *room_scope;       /* roles.removeUserFromRole's scope: a room id */
} Body;

static void body_done(Body *b) {
        free(b->role_id);
        free(b->name);
        free(b->description);
        free(b->scope);
        free(b->username);
        free(b->room_id);
        free(b->room_scope);
}

typedef struct BodyField {
        const char *name;
        bool boolean;           /* a Flag, else a string */
        bool required;
        bool nullable;          /* null means absent (else it is coerced) */
        bool scope;             /* one of "Users", "Subscriptions" */
        bool nonempty;          /* at least one character */
        size_t offset;          /* in Body */
} BodyField;

#define STRING(n, field, ...) { .name = n, .offset = offsetof(Body, field), __VA_ARGS__ }
#define BOOLEAN(n, field, ...) { .name = n, .boolean = true, .offset = offsetof(Body, field), __VA_ARGS__ }

static const BodyField *field_find(const BodyField *fields, const char *name) {
        for (const BodyField *f = fields; f->name; f++)
                if (strcmp(f->name, name) == 0)
                        return f;
        return NULL;
}

/* Validates and coerces the body into b as Rocket.Chat's validator does
 * (ajv, coerceTypes, additionalProperties false), in ajv's order: an
 * object, the required properties, no other property, then each
 * property's type and enum in the table's order. 0; -EINVAL with ajv's
 * message for the first error in why; -ENOMEM. */
static int body_parse(RestCtx *ctx, const BodyField *fields, Body *b, char *why, size_t why_size) {
        _cleanup_(json_decrefp) json_t *body = NULL;
        const char *key;
        json_t *v;
        int r;

        r = rest_parse_body(ctx, &body);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !json_is_object(body)) {
                snprintf(why, why_size, "must be object");
                return -EINVAL;
        }
        for (const BodyField *f = fields; f->name; f++)
                if (f->required && !json_object_get(body, f->name)) {
                        snprintf(why, why_size, "must have required property '%s'", f->name);
                        return -EINVAL;
                }
        json_object_foreach(body, key, v)
                if (!field_find(fields, key)) {
                        snprintf(why, why_size, "must NOT have additional properties");
                        return -EINVAL;
                }
        for (const BodyField *f = fields; f->name; f++) {
                void *dst = (char *) b + f->offset;

                v = json_object_get(body, f->name);
                if (!v || (f->nullable && json_is_null(v)))
                        continue;
                if (f->boolean) {
                        Flag *flag = dst;

                        r = coerce_bool(v, &flag->v);
                        flag->set = r >= 0;
                        if (r < 0) {
                                snprintf(why, why_size, "must be boolean");
                                return r;
                        }
                        continue;
                }
                r = coerce_string(v, dst);
                if (r == -EINVAL)
                        snprintf(why, why_size, "must be string");
                else if (r >= 0 && f->scope && strcmp(*(char **) dst, "Users") != 0 &&
                         strcmp(*(char **) dst, "Subscriptions") != 0) {
                        snprintf(why, why_size, "must be equal to one of the allowed values");
                        r = -EINVAL;
                } else if (r >= 0 && f->nonempty && !**(char **) dst) {
                        snprintf(why, why_size, "must NOT have fewer than 1 characters");
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Rocket.Chat reads an empty string as no value. */
static bool given(const char *s) {
        return s && s[0];
}

/* ---- roles ---- */

static char *put_digits(char *p, unsigned v, unsigned width) {
        for (unsigned i = width; i > 0; i--) {
                p[i - 1] = (char) ('0' + v % 10);
                v /= 10;
        }
        return p + width;
}

/* ms since the epoch as 2023-05-23T04:37:51.161Z (UTC; the proleptic
 * Gregorian calendar, days to civil date as in H. Hinnant's
 * "chrono-Compatible Low-Level Date Algorithms"): without gmtime_r() and
 * strftime(), which cost more than the rest of a role in roles.list. */
static void iso8601_ms(json_int_t ms, char *buf, size_t size) {
        int64_t secs, days, era, y;
        unsigned rem, doe, yoe, doy, mp, d, m;
        char *p = buf;

        if (ms < 0)
                ms = 0;
        secs = ms / 1000;
        days = secs / 86400 + 719468;   /* days since 0000-03-01 */
        rem = (unsigned) (secs % 86400);
        era = days / 146097;
        doe = (unsigned) (days - era * 146097);
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        d = doy - (153 * mp + 2) / 5 + 1;
        m = mp < 10 ? mp + 3 : mp - 9;
        y = (int64_t) yoe + era * 400 + (m <= 2);
        if (y > 9999 || size < 25) {
                snprintf(buf, size, "%lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long) y, m, d, rem / 3600,
                         rem / 60 % 60, rem % 60, (unsigned) (ms % 1000));
                return;
        }
        p = put_digits(p, (unsigned) y, 4);
        *p++ = '-';
        p = put_digits(p, m, 2);
        *p++ = '-';
        p = put_digits(p, d, 2);
        *p++ = 'T';
        p = put_digits(p, rem / 3600, 2);
        *p++ = ':';
        p = put_digits(p, rem / 60 % 60, 2);
        *p++ = ':';
        p = put_digits(p, rem % 60, 2);
        *p++ = '.';
        p = put_digits(p, (unsigned) (ms % 1000), 3);
        *p++ = 'Z';
        *p = 0;
}

/* A role as Rocket.Chat shows it, written straight from the daemon's
 * MessagePack into JSON (no jansson tree, no role struct: the list of
 * every role is the shim's hottest body). */
static int role_write(Buf *b, const msgpack_object *role, const char **reterr_why) {
        const msgpack_object *desc = mp_map_get(role, "description");
        uint64_t updated;
        char when[64];

        if (role->type != MSGPACK_OBJECT_MAP || !mp_map_get(role, "updated_at") ||
            mp_read_u64(mp_map_get(role, "updated_at"), &updated) < 0 || updated > INT64_MAX) {
                *reterr_why = "role without updated_at";
                return -EBADMSG;
        }
        iso8601_ms((json_int_t) updated, when, sizeof when);
        (void) rest_json_raw(b, "{\"_id\":");
        if (rest_json_mp_str(b, mp_map_get(role, "id")) == -EBADMSG ||
            rest_json_raw(b, ",\"name\":") < 0 || rest_json_mp_str(b, mp_map_get(role, "name")) == -EBADMSG ||
            rest_json_raw(b, ",\"scope\":") < 0 || rest_json_mp_str(b, mp_map_get(role, "scope")) == -EBADMSG ||
            rest_json_raw(b, ",\"description\":") < 0 ||
            (desc && desc->type != MSGPACK_OBJECT_NIL ? rest_json_mp_str(b, desc) : rest_json_raw(b, "\"\"")) == -EBADMSG ||
            rest_json_raw(b, ",\"protected\":") < 0 || rest_json_mp_bool(b, mp_map_get(role, "protected")) == -EBADMSG ||
            rest_json_raw(b, ",\"mandatory2fa\":") < 0 ||
            rest_json_mp_bool(b, mp_map_get(role, "mandatory2fa")) == -EBADMSG) {
                *reterr_why = "role field of the wrong type";
                return -EBADMSG;
        }
        (void) rest_json_raw(b, ",\"_updatedAt\":");
        (void) rest_json_str(b, when);
        (void) rest_json_raw(b, "}");
        return b->oom ? -ENOMEM : 0;
}

/* {"role": ROLE, "success": true}, the answer of the endpoints that
 * return a role. */
static int role_answer_write(const msgpack_object *result, void *userdata, const char **reterr_why) {
        Buf *b = userdata;
        int r;

        (void) rest_json_raw(b, "{\"role\":");
        r = role_write(b, result, reterr_why);
        if (r < 0)
                return r;
        (void) rest_json_raw(b, ",\"success\":true}");
        return b->oom ? -ENOMEM : 0;
}

/* ---- the daemon's verdicts, asked in Rocket.Chat's order ---- */

/* Whether the login may do access (auth.check in the workspace): 0 with
 * *ret_allowed; 1 when the request has been answered instead (a bad
 * login: 401; the daemon unreachable: 503); -ENOMEM. */
static int access_check(RestCtx *ctx, json_t *auth, const char *access, bool *ret_allowed) {
        _cleanup_(json_decrefp) json_t *p = json_pack("{s:O, s:i, s:s}", "auth", auth, "org", WORKSPACE_ORG,
                                                      "access", access);
        rolesd_error err;
        int r;

        if (!p)
                return -ENOMEM;
        r = rest_call(ctx, "auth.check", p, NULL, &err);
        if (r == -ENOMEM)
                return r;
        *ret_allowed = r >= 0;
        if (r < 0 && err.code != ROLESD_PERMISSION_DENIED) {
                r = reply_rpc_error(ctx, "auth.check", &err);
                return r < 0 ? r : 1;
        }
        return 0;
}

/* A body error, which only a bad login outranks: answers 401 or it. */
static int reply_body_error(RestCtx *ctx, json_t *auth, const char *message, const char *type) {
        bool allowed;
        int r = access_check(ctx, auth, "read", &allowed);

        if (r != 0)
                return r < 0 ? r : 0;
        return reply_typed(ctx, message, type);
}

/* The start of every endpoint with a body: the login (401), then the
 * body, read with fields into b; an invalid body is answered with type and
 * message (NULL: the validator's), which only a bad login outranks.
 * Returns 1 with *ret_auth when the request may go on, 0 when it has been
 * answered, or -ENOMEM. */
static int request_begin(RestCtx *ctx, const BodyField *fields, Body *b, const char *message, const char *type,
                         json_t **ret_auth) {
        _cleanup_(json_decrefp) json_t *auth = NULL;
        char why[128];
        bool missing;
        int r;

        auth = auth_new(ctx, &missing);
        if (missing)
                return reply_401(ctx);
        if (!auth)
                return -ENOMEM;
        r = body_parse(ctx, fields, b, why, sizeof why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return reply_body_error(ctx, auth, message ? message : why, type);
        *ret_auth = TAKE_PTR(auth);
        return 1;
}

/* Whether a daemon error says that the role looked up by _id is not there
 * (an id the daemon cannot even hold is no role either). */
static bool no_such_role(const rolesd_error *err) {
        return (err->code == ROLESD_NOT_FOUND || err->code == ROLESD_INVALID_ARGUMENT) &&
                (strcmp(err->field, "id") == 0 || strcmp(err->field, "name") == 0);
}

/* A workspace role found by _id, kept for the answer: its 200 body and
 * what the checks need. */
typedef struct FoundRole {
        bool found;
        Buf answer;             /* {"role": ..., "success": true} */
        char *id;
        char *api_id;
} FoundRole;

static void found_role_done(FoundRole *f) {
        buf_done(&f->answer);
        free(f->id);
        free(f->api_id);
}

static int found_role_visit(const msgpack_object *result, void *userdata, const char **reterr_why) {
        FoundRole *f = userdata;
        int r;

        r = role_answer_write(result, &f->answer, reterr_why);
        if (r < 0)
                return r;
        *reterr_why = "role without id or api_id";
        r = mp_read_str(mp_map_get(result, "id"), &f->id);
        if (r >= 0)
                r = mp_read_str(mp_map_get(result, "api_id"), &f->api_id);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        f->found = true;
        return 0;
}

/* role.get of the workspace role whose _id is id, as the login sees it
 * (reading roles needs no permission): 0 with f->found saying whether it
 * exists; 1 when the request has been answered (401, 5xx); -ENOMEM. */
static int role_find(RestCtx *ctx, json_t *auth, const char *id, FoundRole *f) {
        _cleanup_(json_decrefp) json_t *p = json_pack("{s:O, s:i, s:s}", "auth", auth, "org", WORKSPACE_ORG, "id", id);
        rolesd_error err;
        int r;

        if (!p)
                return -ENOMEM;
        r = rest_call_visit(ctx, "role.get", p, found_role_visit, f, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && !no_such_role(&err)) {
                r = reply_rpc_error(ctx, "role.get", &err);
                return r < 0 ? r : 1;
        }
        return 0;
}

/* The roles (api_ids) of the workspace user with that username, asked
 * with rolesd-http's own authority as a local peer: Rocket.Chat tells
 * whether a username exists, and whether it holds a role, before it
 * checks the caller's permission, so its errors come in that order here
 * too. Used only to choose which error to answer, after the login has
 * been checked. 0 with *ret_roles (NULL: no such user); 1 when the
 * request has been answered (5xx); -ENOMEM. */
static int user_roles_as_peer(RestCtx *ctx, const char *username, json_t **ret_roles) {
        _cleanup_(json_decrefp) json_t *p = json_pack("{s:i, s:s}", "org", WORKSPACE_ORG, "user", username),
                                        *result = NULL;
        rolesd_error err;
        int r;

        *ret_roles = NULL;
        if (!p)
                return -ENOMEM;
        r = rest_call(ctx, "user.roles", p, &result, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if ((err.code == ROLESD_NOT_FOUND || err.code == ROLESD_INVALID_ARGUMENT) &&
                    strcmp(err.field, "user") == 0)
                        return 0;
                r = reply_rpc_error(ctx, "user.roles", &err);
                return r < 0 ? r : 1;
        }
        if (!json_is_array(json_object_get(result, "roles"))) {
                r = reply_malformed(ctx, "user.roles");
                return r < 0 ? r : 1;
        }
        *ret_roles = json_incref(json_object_get(result, "roles"));
        return 0;
}

static bool roles_hold(json_t *roles, const char *api_id) {
        size_t i;
        json_t *x;

        json_array_foreach(roles, i, x)
                if (json_is_string(x) && strcmp(json_string_value(x), api_id) == 0)
                        return true;
        return false;
}

/* ---- POST /api/v1/roles.create ---- */

static const BodyField create_fields[] = {
        STRING("name", name, .required = true, .nonempty = true),   /* a role needs a name */
        STRING("description", description),
        STRING("scope", scope, .scope = true),
        BOOLEAN("mandatory2fa", mandatory2fa),
        {0}
};

int rocketchat_create(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *auth = NULL, *params = NULL;
        _cleanup_(body_done) Body b = {0};
        _cleanup_(buf_done) Buf out = {0};
        rolesd_error err;
        int r;

        /* 1., 2. Login, the body. */
        r = request_begin(ctx, create_fields, &b, MSG_INVALID, ERR_INVALID, &auth);
        if (r <= 0)
                return r;

        /* 3., 4. The daemon checks the permission, then the name. */
        params = json_pack("{s:O, s:i, s:s, s:b}", "auth", auth, "org", WORKSPACE_ORG, "name", b.name,
                           "mandatory2fa", b.mandatory2fa.v);
        if (!params ||
            (b.description && json_object_set_new(params, "description", json_string(b.description)) < 0) ||
            (b.scope && json_object_set_new(params, "scope", json_string(b.scope)) < 0))
                return -ENOMEM;
        r = rest_call_visit(ctx, "role.create", params, role_answer_write, &out, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.code == ROLESD_DUPLICATE)
                        return reply_duplicate(ctx);
                if (err.code == ROLESD_INVALID_ARGUMENT && strcmp(err.field, "auth") != 0)
                        return reply_invalid(ctx);
                return reply_rpc_error(ctx, "role.create", &err);       /* a malformed result too: 500 */
        }
        return rest_reply_buf(ctx, 200, &out);
}

/* ---- POST /api/v1/roles.update ---- */

static const BodyField update_fields[] = {
        STRING("roleId", role_id, .required = true),
        STRING("name", name, .required = true),
        STRING("description", description, .nullable = true),
        STRING("scope", scope, .nullable = true, .scope = true),
        BOOLEAN("mandatory2fa", mandatory2fa),
        {0}
};

int rocketchat_update(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *auth = NULL, *params = NULL, *set = NULL;
        _cleanup_(body_done) Body b = {0};
        _cleanup_(buf_done) Buf out = {0};
        rolesd_error err;
        int r;

        r = request_begin(ctx, update_fields, &b, MSG_INVALID, ERR_INVALID, &auth);
        if (r <= 0)
                return r;

        /* As Rocket.Chat fills the role in: an empty name keeps the role's,
         * no description is "", no scope is Users, no mandatory2fa keeps
         * the role's. The daemon checks permission, role, protection and
         * name in Rocket.Chat's order. */
        set = json_pack("{s:s, s:s}", "description", given(b.description) ? b.description : "",
                        "scope", given(b.scope) ? b.scope : "Users");
        if (!set ||
            (given(b.name) && json_object_set_new(set, "name", json_string(b.name)) < 0) ||
            (b.mandatory2fa.set && json_object_set_new(set, "mandatory2fa", json_boolean(b.mandatory2fa.v)) < 0))
                return -ENOMEM;
        params = json_pack("{s:O, s:i, s:s, s:O}", "auth", auth, "org", WORKSPACE_ORG, "id", b.role_id, "set", set);
        if (!params)
                return -ENOMEM;
        r = rest_call_visit(ctx, "role.update", params, role_answer_write, &out, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (no_such_role(&err))
                        return reply_typed(ctx, MSG_NO_ROLE, ERR_ROLE_ID);
                if (err.code == ROLESD_PROTECTED)
                        return reply_typed(ctx, "Role is protected", ERR_PROTECTED);
                if (err.code == ROLESD_DUPLICATE)
                        return reply_duplicate(ctx);
                if (err.code == ROLESD_INVALID_ARGUMENT && strcmp(err.field, "auth") != 0)
                        return reply_invalid(ctx);
                return reply_rpc_error(ctx, "role.update", &err);
        }
        return rest_reply_buf(ctx, 200, &out);
}

/* ---- POST /api/v1/roles.delete ---- */

static const BodyField delete_fields[] = {
        STRING("roleId", role_id, .required = true),
        {0}
};

int rocketchat_delete(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *auth = NULL, *params = NULL;
        _cleanup_(found_role_done) FoundRole f = {0};
        _cleanup_(body_done) Body b = {0};
        rolesd_error err;
        int r;

        r = request_begin(ctx, delete_fields, &b, NULL, ERR_PARAMS, &auth);
        if (r <= 0)
                return r;

        /* roleId is an _id or a name: the role with that _id if there is
         * one, else the one of that name. The daemon checks permission,
         * role, protection and holders, in Rocket.Chat's order. */
        r = role_find(ctx, auth, b.role_id, &f);
        if (r != 0)
                return r < 0 ? r : 0;
        params = json_pack("{s:O, s:i, s:s}", "auth", auth, "org", WORKSPACE_ORG, f.found ? "id" : "name", b.role_id);
        if (!params)
                return -ENOMEM;
        r = rest_call(ctx, "role.delete", params, NULL, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.code == ROLESD_PERMISSION_DENIED)
                        return reply_403(ctx);
                if (no_such_role(&err))
                        return reply_typed(ctx, MSG_NO_ROLE, ERR_ROLE_ID);
                if (err.code == ROLESD_PROTECTED)
                        return reply_typed(ctx, "Cannot delete a protected role", ERR_PROTECTED);
                if (err.code == ROLESD_IN_USE)
                        return reply_typed(ctx, "Cannot delete role because it's in use", "error-role-in-use");
                return reply_rpc_error(ctx, "role.delete", &err);
        }
        return rest_reply_json(ctx, 200, json_pack("{s:b}", "success", 1));
}

/* ---- POST /api/v1/roles.addUserToRole ---- */

static const BodyField add_user_fields[] = {
        STRING("username", username, .required = true),
        STRING("roleId", role_id),
        STRING("roomId", room_id, .nullable = true),
        {0}
};

/* Rocket.Chat's answer to an addUserToRole that cannot be made as asked
 * (no roleId, a room, or refused by the daemon), found in its order: the
 * user, the roleId, the role, the membership, the permission (giving
 * admin needs one more), the room. */
static int add_user_refusal(RestCtx *ctx, json_t *auth, const Body *b) {
        _cleanup_(found_role_done) FoundRole f = {0};
        _cleanup_(json_decrefp) json_t *roles = NULL;
        bool allowed;
        int r;

        r = access_check(ctx, auth, "members", &allowed);
        if (r == 0)
                r = user_roles_as_peer(ctx, b->username, &roles);
        if (r != 0)
                return r < 0 ? r : 0;
        if (!roles)
                return reply_typed(ctx, "The required \"userId\" or \"username\" param provided does not "
                                   "match any users", ERR_USER);
        if (!given(b->role_id))
                return reply_failure(ctx, ERR_INVALID, NULL);
        r = role_find(ctx, auth, b->role_id, &f);
        if (r != 0)
                return r < 0 ? r : 0;
        if (!f.found)
                return reply_failure(ctx, "error-role-not-found", "Role not found");
        if (roles_hold(roles, f.api_id))
                return reply_typed(ctx, "User already in role", "error-user-already-in-role");
        if (!allowed)
                return reply_forbidden(ctx);
        if (strcmp(f.id, "admin") == 0) {
                r = access_check(ctx, auth, "assign-admin", &allowed);
                if (r != 0)
                        return r < 0 ? r : 0;
                if (!allowed)
                        return reply_typed(ctx, "Assigning admin is not allowed", ERR_FORBIDDEN);
        }
        if (given(b->room_id))
                return reply_typed(ctx, "User is not part of given room", ERR_USER);
        /* Allowed by now, refused a moment ago: the permissions changed. */
        return reply_forbidden(ctx);
}

int rocketchat_add_user(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *auth = NULL, *params = NULL;
        _cleanup_(found_role_done) FoundRole f = {0};
        _cleanup_(body_done) Body b = {0};
        rolesd_error err;
        int r;

        r = request_begin(ctx, add_user_fields, &b, NULL, ERR_PARAMS, &auth);
        if (r <= 0)
                return r;
        if (!given(b.role_id) || given(b.room_id))
                return add_user_refusal(ctx, auth, &b);

        /* The daemon checks the user, the role, the membership and giving
         * admin in Rocket.Chat's order, but the permission to manage
         * members first: a refusal is looked into (add_user_refusal). */
        r = role_find(ctx, auth, b.role_id, &f);
        if (r != 0)
                return r < 0 ? r : 0;
        params = json_pack("{s:O, s:i, s:s, s:s}", "auth", auth, "org", WORKSPACE_ORG, "id", b.role_id,
                           "user", b.username);
        if (!params)
                return -ENOMEM;
        r = rest_call(ctx, "member.add", params, NULL, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.code == ROLESD_PERMISSION_DENIED)
                        return add_user_refusal(ctx, auth, &b);
                if ((err.code == ROLESD_NOT_FOUND || err.code == ROLESD_INVALID_ARGUMENT) &&
                    strcmp(err.field, "user") == 0)
                        return reply_typed(ctx, "The required \"userId\" or \"username\" param provided does "
                                           "not match any users", ERR_USER);
                if (no_such_role(&err))
                        return reply_failure(ctx, "error-role-not-found", "Role not found");
                if (err.code == ROLESD_DUPLICATE)
                        return reply_typed(ctx, "User already in role", "error-user-already-in-role");
                return reply_rpc_error(ctx, "member.add", &err);
        }
        if (!f.found)                   /* made between the two calls */
                return reply_malformed(ctx, "role.get");
        return rest_reply_buf(ctx, 200, &f.answer);
}

/* ---- POST /api/v1/roles.removeUserFromRole ---- */

static const BodyField remove_user_fields[] = {
        STRING("username", username, .required = true),
        STRING("roleId", role_id),
        STRING("scope", room_scope, .nullable = true),
        STRING("roomId", room_id, .nullable = true),
        {0}
};

int rocketchat_remove_user(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *auth = NULL, *params = NULL;
        _cleanup_(found_role_done) FoundRole f = {0};
        _cleanup_(body_done) Body b = {0};
        rolesd_error err;
        bool allowed;
        int r;

        r = request_begin(ctx, remove_user_fields, &b, NULL, ERR_PARAMS, &auth);
        if (r <= 0)
                return r;

        /* The route requires the permission (403) before anything else. */
        r = access_check(ctx, auth, "members", &allowed);
        if (r != 0)
                return r < 0 ? r : 0;
        if (!allowed)
                return reply_403(ctx);
        if (!given(b.role_id))
                return reply_failure(ctx, ERR_INVALID, NULL);

        /* The daemon checks the user, the role, the membership and the
         * last admin in Rocket.Chat's order. A room (scope, roomId) changes
         * nothing: memberships are the workspace's. */
        r = role_find(ctx, auth, b.role_id, &f);
        if (r != 0)
                return r < 0 ? r : 0;
        params = json_pack("{s:O, s:i, s:s, s:s}", "auth", auth, "org", WORKSPACE_ORG, "id", b.role_id,
                           "user", b.username);
        if (!params)
                return -ENOMEM;
        r = rest_call(ctx, "member.remove", params, NULL, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.code == ROLESD_PERMISSION_DENIED)
                        return reply_403(ctx);
                if ((err.code == ROLESD_NOT_FOUND || err.code == ROLESD_INVALID_ARGUMENT) &&
                    strcmp(err.field, "user") == 0)
                        return reply_typed(ctx, "There is no user with this username", ERR_USER);
                if (no_such_role(&err))
                        return reply_typed(ctx, MSG_NO_ROLE, ERR_ROLE_ID);
                if (err.code == ROLESD_NOT_FOUND && strcmp(err.field, "member") == 0)
                        return reply_typed(ctx, "User is not in this role", "error-user-not-in-role");
                if (err.code == ROLESD_PROTECTED)
                        return reply_typed(ctx, "You need to have at least one admin", "error-admin-required");
                return reply_rpc_error(ctx, "member.remove", &err);
        }
        if (!f.found)
                return reply_malformed(ctx, "role.get");
        return rest_reply_buf(ctx, 200, &f.answer);
}

/* ---- GET /api/v1/roles.getUsersInRole ---- */

/* A user holding the role as Rocket.Chat shows it; users never change in
 * rolesd, so _updatedAt is createdAt. */
static int member_write(Buf *b, const msgpack_object *u) {
        const msgpack_object *name = mp_map_get(u, "name");
        uint64_t created;
        char when[64];

        if (u->type != MSGPACK_OBJECT_MAP || mp_read_u64(mp_map_get(u, "created_at"), &created) < 0 ||
            created > INT64_MAX)
                return -EBADMSG;
        iso8601_ms((json_int_t) created, when, sizeof when);
        (void) rest_json_raw(b, "{\"_id\":");
        if (rest_json_mp_str(b, mp_map_get(u, "id")) == -EBADMSG ||
            rest_json_raw(b, ",\"username\":") < 0 || rest_json_mp_str(b, mp_map_get(u, "username")) == -EBADMSG ||
            (name && name->type != MSGPACK_OBJECT_NIL &&
             (rest_json_raw(b, ",\"name\":") < 0 || rest_json_mp_str(b, name) == -EBADMSG)))
                return -EBADMSG;
        (void) rest_json_raw(b, ",\"createdAt\":");
        (void) rest_json_str(b, when);
        (void) rest_json_raw(b, ",\"_updatedAt\":");
        (void) rest_json_str(b, when);
        (void) rest_json_raw(b, "}");
        return b->oom ? -ENOMEM : 0;
}

static int members_visit(const msgpack_object *result, void *userdata, const char **reterr_why) {
        const msgpack_object *users = mp_map_get(result, "users");
        Buf *b = userdata;
        uint64_t total;
        char tail[64];
        int r;

        *reterr_why = "not a page of members";
        if (!users || users->type != MSGPACK_OBJECT_ARRAY || mp_read_u64(mp_map_get(result, "total"), &total) < 0)
                return -EBADMSG;
        (void) rest_json_raw(b, "{\"users\":[");
        for (uint32_t i = 0; i < users->via.array.size; i++) {
                if (i > 0)
                        (void) rest_json_raw(b, ",");
                r = member_write(b, &users->via.array.ptr[i]);
                if (r < 0)
                        return r;
        }
        snprintf(tail, sizeof tail, "],\"total\":%" PRIu64 ",\"success\":true}", total);
        (void) rest_json_raw(b, tail);
        return b->oom ? -ENOMEM : 0;
}

/* offset or count of the query: absent leaves *ret; else a non-negative
 * integer. 0, -EINVAL with ajv's message in why, or -ENOMEM. */
static int query_count(RestCtx *ctx, const char *name, uint64_t *ret, char *why, size_t why_size) {
        _cleanup_free_ char *s = NULL;
        const char *p;
        int r;

        r = rest_query_get(ctx, name, &s);
        if (r <= 0)
                return r;
        p = s[0] == '+' || s[0] == '-' ? s + 1 : s;
        if (!p[0] || strspn(p, "0123456789") != strlen(p)) {
                snprintf(why, why_size, "must be integer");
                return -EINVAL;
        }
        if (s[0] == '-' && strspn(p, "0") != strlen(p)) {
                snprintf(why, why_size, "must be >= 0");
                return -EINVAL;
        }
        errno = 0;
        *ret = strtoull(p, NULL, 10);
        if (errno == ERANGE)
                *ret = UINT64_MAX;
        return 0;
}

int rocketchat_users_in_role(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *auth = NULL;
        _cleanup_free_ char *role = NULL;
        _cleanup_(buf_done) Buf out = {0};
        uint64_t offset = 0, count = 50;
        rolesd_error err;
        char why[128];
        bool missing, allowed;
        int r;

        auth = auth_new(ctx, &missing);
        if (missing)
                return reply_401(ctx);
        if (!auth)
                return -ENOMEM;
        r = access_check(ctx, auth, "read-members", &allowed);
        if (r != 0)
                return r < 0 ? r : 0;
        if (!allowed)
                return reply_403(ctx);

        /* Rocket.Chat's paging: count 0 is the default, over 100 is 100. */
        r = query_count(ctx, "offset", &offset, why, sizeof why);
        if (r >= 0)
                r = query_count(ctx, "count", &count, why, sizeof why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return reply_typed(ctx, why, ERR_PARAMS);
        if (count == 0)
                count = 50;
        if (count > ROLE_LIST_PER_PAGE_MAX)
                count = ROLE_LIST_PER_PAGE_MAX;
        r = rest_query_get(ctx, "role", &role);
        if (r < 0)
                return r;
        if (!given(role))
                return reply_typed(ctx, "Query param \"role\" is required", "error-param-not-provided");
        if (!utf8_valid(role, strlen(role)))
                return reply_typed(ctx, NULL, ERR_ROLE_ID);     /* names no role the daemon could hold */

        /* role is an _id or, failing that, a name. */
        for (unsigned i = 0; i < 2; i++) {
                _cleanup_(json_decrefp) json_t *params =
                        json_pack("{s:O, s:i, s:s, s:I, s:I}", "auth", auth, "org", WORKSPACE_ORG,
                                  i == 0 ? "id" : "name", role, "offset", (json_int_t) (offset > INT64_MAX ? INT64_MAX : offset),
                                  "count", (json_int_t) count);

                if (!params)
                        return -ENOMEM;
                r = rest_call_visit(ctx, "member.list", params, members_visit, &out, &err);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        return rest_reply_buf(ctx, 200, &out);
                if (!no_such_role(&err))
                        break;
        }
        if (no_such_role(&err))
                return reply_typed(ctx, NULL, ERR_ROLE_ID);
        if (err.code == ROLESD_PERMISSION_DENIED)
                return reply_403(ctx);
        return reply_rpc_error(ctx, "member.list", &err);
}

/* One page of role.list, appended to the roles array being written. */
typedef struct ListPage {
        Buf *out;
        bool first;             /* no role written yet */
        uint64_t max_page;
        char *next;             /* the cursor of the following page, or NULL */
} ListPage;

static int list_page_visit(const msgpack_object *result, void *userdata, const char **reterr_why) {
        ListPage *l = userdata;
        const msgpack_object *roles = mp_map_get(result, "roles"), *next = mp_map_get(result, "next");
        int r;

        *reterr_why = "not a page of roles";
        if (!roles || roles->type != MSGPACK_OBJECT_ARRAY || !mp_map_get(result, "max_page") ||
            mp_read_u64(mp_map_get(result, "max_page"), &l->max_page) < 0)
                return -EBADMSG;
        if (next && next->type != MSGPACK_OBJECT_NIL) {
                r = mp_read_str(next, &l->next);
                if (r < 0)
                        return r == -ENOMEM ? r : -EBADMSG;
        }
        for (uint32_t i = 0; i < roles->via.array.size; i++) {
                if (!l->first)
                        (void) rest_json_raw(l->out, ",");
                l->first = false;
                r = role_write(l->out, &roles->via.array.ptr[i], reterr_why);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* How far roles.list has got, across the runs of its task. */
typedef struct ListProgress {
        Buf out;                /* the body since the last part sent */
        bool first;             /* no role written yet */
        uint64_t page;          /* the page asked next, from 1; 0: not started */
        char *after;            /* its cursor; NULL: the first page */
} ListProgress;

static void list_progress_done(void *state) {
        ListProgress *pr = state;

        buf_done(&pr->out);
        free(pr->after);
}

int rocketchat_list(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *auth = NULL;
        ListProgress *pr;
        bool missing;

        auth = auth_new(ctx, &missing);
        if (missing)
                return reply_401(ctx);
        if (!auth)
                return -ENOMEM;
        pr = rest_progress(ctx, sizeof *pr, list_progress_done);
        if (!pr)
                return -ENOMEM;

        /* Every page, following the cursors (each page says how many
         * there are now, so roles created meanwhile are followed too). A
         * task sends the body in parts once it is long: memory stays
         * bounded however many roles there are. */
        if (pr->page == 0) {
                (void) rest_json_raw(&pr->out, "{\"roles\":[");
                pr->first = true;
                pr->page = 1;
        }
        for (;;) {
                _cleanup_(json_decrefp) json_t *params = NULL;
                ListPage l = { .out = &pr->out, .first = pr->first };
                rolesd_error err;
                int r;

                params = json_pack("{s:O, s:i, s:i}", "auth", auth, "org", WORKSPACE_ORG,
                                   "per_page", (int) ROLE_LIST_PER_PAGE_MAX);
                if (!params || (pr->after && json_object_set_new(params, "after", json_string(pr->after)) < 0))
                        return -ENOMEM;
                r = rest_call_visit(ctx, "role.list", params, list_page_visit, &l, &err);
                pr->first = l.first;
                if (r == -ENOMEM) {
                        free(l.next);
                        return -ENOMEM;
                }
                if (r < 0) {
                        free(l.next);
                        return reply_rpc_error(ctx, "role.list", &err);
                }
                rest_checkpoint(ctx);   /* this page is in pr->out */
                if (!l.next)
                        break;
                if (pr->page >= l.max_page + 1 || (pr->after && strcmp(pr->after, l.next) == 0)) {
                        free(l.next);
                        return reply_malformed(ctx, "role.list");       /* a cursor that goes nowhere */
                }
                free(pr->after);
                pr->after = TAKE_PTR(l.next);
                pr->page++;
                if (rest_parts(ctx) && buf_pending(&pr->out) >= ROLESD_REST_PART_SIZE)
                        return rest_reply_part(ctx, 200, &pr->out);
        }
        (void) rest_json_raw(&pr->out, "],\"success\":true}");
        return rest_reply_buf(ctx, 200, &pr->out);
}

/* ---- GET /api/v1/roles.sync ---- */

static bool take_digits(const char **p, unsigned n, unsigned *ret) {
        unsigned v = 0;

        for (unsigned i = 0; i < n; i++, (*p)++) {
                if (**p < '0' || **p > '9')
                        return false;
                v = v * 10 + (unsigned) (**p - '0');
        }
        *ret = v;
        return true;
}

/* updatedSince, as JavaScript's Date parses ISO 8601: YYYY-MM-DD (UTC
 * midnight), optionally THH:MM[:SS[.sss...]] and Z or ±HH:MM (none: UTC,
 * the zone rolesd's hosts keep). Dates before the epoch are the epoch.
 * false when it is not such a date. */
static bool parse_iso8601(const char *s, uint64_t *ret_ms) {
        unsigned y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, oh = 0, om = 0;
        int sign = 0;
        struct tm tm = {0};
        time_t t;
        int64_t v;

        if (!take_digits(&s, 4, &y) || *s++ != '-' || !take_digits(&s, 2, &mo) || *s++ != '-' ||
            !take_digits(&s, 2, &d))
                return false;
        if (*s == 'T') {
                s++;
                if (!take_digits(&s, 2, &h) || *s++ != ':' || !take_digits(&s, 2, &mi))
                        return false;
                if (*s == ':') {
                        s++;
                        if (!take_digits(&s, 2, &sec))
                                return false;
                        if (*s == '.') {
                                unsigned scale = 100, n = 0;

                                for (s++; *s >= '0' && *s <= '9'; s++, n++) {
                                        ms += (unsigned) (*s - '0') * scale;
                                        scale /= 10;
                                }
                                if (n == 0)
                                        return false;
                        }
                }
                if (*s == 'Z')
                        s++;
                else if (*s == '+' || *s == '-') {
                        sign = *s++ == '+' ? 1 : -1;
                        if (!take_digits(&s, 2, &oh) || *s++ != ':' || !take_digits(&s, 2, &om) || oh > 23 ||
                            om > 59)
                                return false;
                }
        }
        if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 59 ||
            (h == 24 && (mi || sec || ms)))
                return false;
        tm = (struct tm) { .tm_year = (int) y - 1900, .tm_mon = (int) mo - 1, .tm_mday = (int) d,
                           .tm_hour = (int) h, .tm_min = (int) mi, .tm_sec = (int) sec };
        t = timegm(&tm);
        if (tm.tm_mday != (int) d && h != 24)   /* 2023-02-30: no such day */
                return false;
        v = (int64_t) t * 1000 + ms - (int64_t) sign * ((int64_t) oh * 3600 + om * 60) * 1000;
        *ret_ms = v < 0 ? 0 : (uint64_t) v;
        return true;
}

/* Whether the query names a parameter other than updatedSince. */
static bool query_has_other(const RestCtx *ctx) {
        const char *p = ctx->query;

        while (p && *p) {
                size_t n = strcspn(p, "&");
                size_t name = strcspn(p, "=&");

                if (n > 0 && !(name == strlen("updatedSince") && strncmp(p, "updatedSince", name) == 0))
                        return true;
                p += n;
                if (*p == '&')
                        p++;
        }
        return false;
}

/* {"roles":{"update":[ROLE...],"remove":[{_id, name, _deletedAt}...]},"success":true} */
static int sync_visit(const msgpack_object *result, void *userdata, const char **reterr_why) {
        const msgpack_object *update = mp_map_get(result, "update"), *remove = mp_map_get(result, "remove");
        Buf *b = userdata;
        int r;

        *reterr_why = "not a role.sync result";
        if (!update || update->type != MSGPACK_OBJECT_ARRAY || !remove || remove->type != MSGPACK_OBJECT_ARRAY)
                return -EBADMSG;
        (void) rest_json_raw(b, "{\"roles\":{\"update\":[");
        for (uint32_t i = 0; i < update->via.array.size; i++) {
                if (i > 0)
                        (void) rest_json_raw(b, ",");
                r = role_write(b, &update->via.array.ptr[i], reterr_why);
                if (r < 0)
                        return r;
        }
        (void) rest_json_raw(b, "],\"remove\":[");
        for (uint32_t i = 0; i < remove->via.array.size; i++) {
                const msgpack_object *t = &remove->via.array.ptr[i];
                uint64_t deleted;
                char when[64];

                if (t->type != MSGPACK_OBJECT_MAP || mp_read_u64(mp_map_get(t, "deleted_at"), &deleted) < 0 ||
                    deleted > INT64_MAX)
                        return -EBADMSG;
                iso8601_ms((json_int_t) deleted, when, sizeof when);
                (void) rest_json_raw(b, i > 0 ? ",{\"_id\":" : "{\"_id\":");
                if (rest_json_mp_str(b, mp_map_get(t, "id")) == -EBADMSG || rest_json_raw(b, ",\"name\":") < 0 ||
                    rest_json_mp_str(b, mp_map_get(t, "name")) == -EBADMSG)
                        return -EBADMSG;
                (void) rest_json_raw(b, ",\"_deletedAt\":");
                (void) rest_json_str(b, when);
                (void) rest_json_raw(b, "}");
        }
        (void) rest_json_raw(b, "]},\"success\":true}");
        return b->oom ? -ENOMEM : 0;
}

int rocketchat_sync(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *auth = NULL, *params = NULL;
        _cleanup_free_ char *since = NULL;
        _cleanup_(buf_done) Buf out = {0};
        rolesd_error err;
        uint64_t ms;
        bool missing;
        int r;

        auth = auth_new(ctx, &missing);
        if (missing)
                return reply_401(ctx);
        if (!auth)
                return -ENOMEM;
        if (query_has_other(ctx))
                return reply_typed(ctx, "must NOT have additional properties", ERR_PARAMS);
        r = rest_query_get(ctx, "updatedSince", &since);
        if (r < 0)
                return r;
        if (r == 0) {           /* nothing asked: nothing changed */
                (void) rest_json_raw(&out, "{\"roles\":{\"update\":[],\"remove\":[]},\"success\":true}");
                return rest_reply_buf(ctx, 200, &out);
        }
        if (!parse_iso8601(since, &ms))
                return reply_typed(ctx, "The \"updatedSince\" query parameter must be a valid date.", ERR_PARAMS);
        params = json_pack("{s:O, s:i, s:I}", "auth", auth, "org", WORKSPACE_ORG, "since",
                           (json_int_t) (ms > INT64_MAX ? INT64_MAX : ms));
        if (!params)
                return -ENOMEM;
        r = rest_call_visit(ctx, "role.sync", params, sync_visit, &out, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return err.code == ROLESD_PERMISSION_DENIED ? reply_403(ctx) : reply_rpc_error(ctx, "role.sync", &err);
        return rest_reply_buf(ctx, 200, &out);
}
