/* rocketchat.c: the Rocket.Chat dialect (/api/v1). Owns the
 * X-User-Id/X-Auth-Token login, the roles.create body with Rocket.Chat's
 * scalar coercion (ajv's coerceTypes: numbers and booleans become their
 * JavaScript text, null becomes "" or false, "true"/"false"/1/0 become
 * booleans), the order of its checks (login 401, body, permission,
 * duplicate name), its error bodies ("MESSAGE [TYPE]" with errorType),
 * and the role shape of roles.create and roles.list (_id, _updatedAt in
 * ISO 8601 with milliseconds). */

#include <errno.h>
#include <math.h>
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

/* ---- responses ---- */

static int reply_401(RestCtx *ctx) {
        return rest_reply_json(ctx, 401, json_pack("{s:s, s:s}", "status", "error",
                                                   "message", "You must be logged in to do this."));
}

/* 400 {"success":false,"error":"MESSAGE [TYPE]","errorType":TYPE} */
static int reply_400(RestCtx *ctx, const char *type) {
        const char *message =
                strcmp(type, ERR_DUPLICATE) == 0 ? "Role name already exists" :
                strcmp(type, ERR_FORBIDDEN) == 0 ? "Accessing permissions is not allowed" :
                                                   "The role properties are invalid.";
        char error[128];

        snprintf(error, sizeof error, "%s [%s]", message, type);
        return rest_reply_json(ctx, 400, json_pack("{s:b, s:s, s:s}", "success", 0, "error", error,
                                                   "errorType", type));
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
                return reply_400(ctx, ERR_FORBIDDEN);
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

typedef struct RoleBody {
        char *name;
        char *description;      /* NULL: absent */
        char *scope;            /* NULL: absent */
        bool mandatory2fa;
} RoleBody;

static void role_body_done(RoleBody *b) {
        free(b->name);
        free(b->description);
        free(b->scope);
}

/* Validates and coerces the body. 0, -EINVAL (invalid role properties) or -ENOMEM. */
static int role_body_parse(RestCtx *ctx, RoleBody *b) {
        _cleanup_(json_decrefp) json_t *body = NULL;
        const char *key;
        json_t *v;
        int r;

        r = rest_parse_body(ctx, &body);
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;
        if (!json_is_object(body))
                return -EINVAL;
        json_object_foreach(body, key, v) {
                if (strcmp(key, "name") == 0)
                        r = coerce_string(v, &b->name);
                else if (strcmp(key, "description") == 0)
                        r = coerce_string(v, &b->description);
                else if (strcmp(key, "scope") == 0)
                        r = coerce_string(v, &b->scope);
                else if (strcmp(key, "mandatory2fa") == 0)
                        r = coerce_bool(v, &b->mandatory2fa);
                else
                        r = -EINVAL;    /* additionalProperties: false */
                if (r < 0)
                        return r;
        }
        if (!b->name || !b->name[0])
                return -EINVAL;         /* required; a role needs a name */
        if (b->scope && strcmp(b->scope, "Users") != 0 && strcmp(b->scope, "Subscriptions") != 0)
                return -EINVAL;
        return 0;
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

static int create_visit(const msgpack_object *result, void *userdata, const char **reterr_why) {
        Buf *b = userdata;
        int r;

        (void) rest_json_raw(b, "{\"role\":");
        r = role_write(b, result, reterr_why);
        if (r < 0)
                return r;
        (void) rest_json_raw(b, ",\"success\":true}");
        return b->oom ? -ENOMEM : 0;
}

int rocketchat_create(RestCtx *ctx) {
        _cleanup_(json_decrefp) json_t *auth = NULL, *params = NULL;
        _cleanup_(role_body_done) RoleBody b = {0};
        _cleanup_(buf_done) Buf out = {0};
        rolesd_error err;
        bool missing;
        int r;

        /* 1. Login. */
        auth = auth_new(ctx, &missing);
        if (missing)
                return reply_401(ctx);
        if (!auth)
                return -ENOMEM;

        /* 2. The body; when it is invalid, only a bad login outranks it. */
        r = role_body_parse(ctx, &b);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_(json_decrefp) json_t *p = json_pack("{s:O, s:s}", "auth", auth, "access", "create");

                if (!p)
                        return -ENOMEM;
                r = rest_call(ctx, "auth.check", p, NULL, &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && err.code != ROLESD_PERMISSION_DENIED)
                        return reply_rpc_error(ctx, "auth.check", &err);
                return reply_400(ctx, ERR_INVALID);
        }

        /* 3., 4. The daemon checks the permission, then the name. */
        params = json_pack("{s:O, s:i, s:s, s:b}", "auth", auth, "org", WORKSPACE_ORG, "name", b.name,
                           "mandatory2fa", b.mandatory2fa);
        if (!params ||
            (b.description && json_object_set_new(params, "description", json_string(b.description)) < 0) ||
            (b.scope && json_object_set_new(params, "scope", json_string(b.scope)) < 0))
                return -ENOMEM;
        r = rest_call_visit(ctx, "role.create", params, create_visit, &out, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.code == ROLESD_DUPLICATE)
                        return reply_400(ctx, ERR_DUPLICATE);
                if (err.code == ROLESD_INVALID_ARGUMENT && strcmp(err.field, "auth") != 0)
                        return reply_400(ctx, ERR_INVALID);
                return reply_rpc_error(ctx, "role.create", &err);       /* a malformed result too: 500 */
        }
        return rest_reply_buf(ctx, 200, &out);
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
