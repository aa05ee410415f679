/* rest.c: the REST translation's front door (rolesd/rest.h). Owns routing
 * (path and method to endpoint, 404 and 405 with Allow), the dialect of a
 * path and the static error bodies, the OpenAPI document, answering one
 * request, and the helpers the dialect modules share: responses, RPC
 * calls, headers, query strings, percent-decoding and body parsing. The
 * endpoints themselves live in partoo.c and rocketchat.c, tasks (the same
 * without blocking) in task.c. */

#include "rolesd/rest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/macro.h"
#include "proto/utf8.h"
#include "client/lib/internal.h"
#include "client/rest/rest-internal.h"

/* ---- dialects and their fixed error bodies ---- */

rolesd_rest_dialect rolesd_rest_dialect_of(const char *path) {
        if (path && strncmp(path, "/api", 4) == 0 && strchr("/?", path[4]))
                return ROLESD_REST_ROCKETCHAT;  /* strchr also matches the NUL */
        return ROLESD_REST_PARTOO;
}

typedef struct ErrorBody {
        unsigned status;
        const char *partoo;
        const char *rocketchat;
} ErrorBody;

static const ErrorBody error_bodies[] = {
        { 400, "{\"errors\":{\"json\":\"Bad request\"}}",
               "{\"success\":false,\"error\":\"Bad request\"}" },
        { 404, "{\"errors\":{\"json\":\"Resource not found\"}}",
               "{\"success\":false,\"error\":\"Resource not found\"}" },
        { 405, "{\"errors\":{\"json\":\"Method not allowed\"}}",
               "{\"success\":false,\"error\":\"Method not allowed\"}" },
        { 413, "{\"errors\":{\"json\":\"Request body too large\"}}",
               "{\"success\":false,\"error\":\"Request body too large\"}" },
        { 414, "{\"errors\":{\"json\":\"URI too long\"}}",
               "{\"success\":false,\"error\":\"URI too long\"}" },
        { 431, "{\"errors\":{\"json\":\"Request header fields too large\"}}",
               "{\"success\":false,\"error\":\"Request header fields too large\"}" },
        { 501, "{\"errors\":{\"json\":\"Not implemented\"}}",
               "{\"success\":false,\"error\":\"Not implemented\"}" },
        { 505, "{\"errors\":{\"json\":\"HTTP version not supported\"}}",
               "{\"success\":false,\"error\":\"HTTP version not supported\"}" },
        { 503, "{\"errors\":{\"json\":\"Service unavailable\"}}",
               "{\"success\":false,\"error\":\"Service unavailable\"}" },
        { 500, "{\"errors\":{\"json\":\"Internal server error\"}}",      /* last: the fallback */
               "{\"success\":false,\"error\":\"Internal server error\"}" },
};

static const char *error_body(rolesd_rest_dialect d, unsigned status) {
        const ErrorBody *e = &error_bodies[ELEMENTSOF(error_bodies) - 1];

        for (size_t i = 0; i < ELEMENTSOF(error_bodies); i++)
                if (error_bodies[i].status == status) {
                        e = &error_bodies[i];
                        break;
                }
        return d == ROLESD_REST_ROCKETCHAT ? e->rocketchat : e->partoo;
}

const char *rolesd_rest_error_body(const char *path, unsigned status) {
        return error_body(rolesd_rest_dialect_of(path), status);
}

const char *rolesd_rest_openapi(size_t *ret_len) {
        if (ret_len)
                *ret_len = rest_openapi_json_len;
        return rest_openapi_json;
}

/* ---- responses ---- */

void rolesd_rest_response_done(rolesd_rest_response *r) {
        if (!r)
                return;
        free(r->body);
        free(r->detail);
        *r = (rolesd_rest_response) { .size = r->size };
}

/* The answer: status and body (taken over: malloc()ed, NUL-terminated,
 * len bytes before the NUL; NULL means allocation failed). */
static int reply_body(RestCtx *ctx, unsigned status, char *body, size_t len) {
        if (!body)
                return -ENOMEM;
        free(ctx->res->body);
        ctx->res->status = status;
        ctx->res->body = body;
        ctx->res->body_len = len;
        ctx->res->more = false;
        return 0;
}

static int reply_text(RestCtx *ctx, unsigned status, const char *text) {
        return reply_body(ctx, status, strdup(text), strlen(text));
}

int rest_reply_json(RestCtx *ctx, unsigned status, json_t *body) {
        char *s;

        if (!body)
                return -ENOMEM;
        s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(body);
        return reply_body(ctx, status, s, s ? strlen(s) : 0);
}

int rest_reply_error(RestCtx *ctx, rolesd_rest_dialect d, unsigned status) {
        return reply_text(ctx, status, error_body(d, status));
}

int rest_reply_rpc_failure(RestCtx *ctx, rolesd_rest_dialect d, const char *method,
                           const rolesd_error *err) {
        unsigned status = err->code == ROLESD_UNAVAILABLE || err->code == ROLESD_RESOURCE_EXHAUSTED ? 503 : 500;
        int r;

        r = rest_reply_error(ctx, d, status);
        if (r < 0)
                return r;
        free(ctx->res->detail);
        if (asprintf(&ctx->res->detail, "%s: %s: %s", method, rolesd_code_name(err->code), err->message) < 0)
                ctx->res->detail = NULL;        /* the detail is best effort */
        return 0;
}

/* ---- the daemon ---- */

/* Whether the request runs as a task: its calls are answered from
 * recorded replies, and it runs again after each new one. */
static bool in_task(const RestCtx *ctx) {
        return replay_is(ctx->conn);
}

static int no_connection(rolesd_error *err) {
        *err = (rolesd_error) { .code = ROLESD_UNAVAILABLE };
        snprintf(err->message, sizeof err->message, "no connection to rolesd");
        return -ENOTCONN;
}

int rest_call_visit(RestCtx *ctx, const char *method, json_t *params, CallVisit visit, void *userdata,
                    rolesd_error *err) {
        if (!ctx->conn)
                return no_connection(err);
        return call_visit(ctx->conn, method, params, visit, userdata, err);
}

int rest_call(RestCtx *ctx, const char *method, json_t *params, json_t **ret, rolesd_error *err) {
        if (!ctx->conn)
                return no_connection(err);
        return rolesd_call(ctx->conn, method, params, ret, err);
}

void *rest_progress(RestCtx *ctx, size_t size, void (*done)(void *state)) {
        RestProgress *p = ctx->progress;

        if (!p->state) {
                p->state = calloc(1, size);
                p->done = done;
        }
        return p->state;
}

void rest_checkpoint(RestCtx *ctx) {
        if (in_task(ctx))
                replay_forget(ctx->conn);
}

void rest_progress_done(RestProgress *p) {
        if (p->state && p->done)
                p->done(p->state);
        free(p->state);
        *p = (RestProgress) {0};
}

/* ---- JSON written directly ---- */

int rest_json_raw(Buf *b, const char *s) {
        return buf_append(b, s, strlen(s));
}

int rest_json_strn(Buf *b, const char *s, size_t n) {
        static const char hex[] = "0123456789abcdef";
        const char *run = s, *end = s + n;
        int r = buf_append(b, "\"", 1);

        for (; r >= 0 && s < end; s++) {
                unsigned char ch = (unsigned char) *s;
                char esc[6] = { '\\', 0 };
                size_t k = 2;

                if (ch >= 0x20 && ch != '"' && ch != '\\')
                        continue;
                r = buf_append(b, run, (size_t) (s - run));
                switch (ch) {
                case '"': esc[1] = '"'; break;
                case '\\': esc[1] = '\\'; break;
                case '\b': esc[1] = 'b'; break;
                case '\f': esc[1] = 'f'; break;
                case '\n': esc[1] = 'n'; break;
                case '\r': esc[1] = 'r'; break;
                case '\t': esc[1] = 't'; break;
                default:
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[ch >> 4];
                        esc[5] = hex[ch & 15];
                        k = 6;
                }
                if (r >= 0)
                        r = buf_append(b, esc, k);
                run = s + 1;
        }
        if (r >= 0)
                r = buf_append(b, run, (size_t) (s - run));
        if (r >= 0)
                r = buf_append(b, "\"", 1);
        return r;
}

int rest_json_str(Buf *b, const char *s) {
        return rest_json_strn(b, s, strlen(s));
}

int rest_json_mp_str(Buf *b, const msgpack_object *o) {
        if (!o || o->type != MSGPACK_OBJECT_STR || !utf8_valid(o->via.str.ptr, o->via.str.size))
                return -EBADMSG;
        return rest_json_strn(b, o->via.str.ptr, o->via.str.size);
}

int rest_json_mp_bool(Buf *b, const msgpack_object *o) {
        if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
                return -EBADMSG;
        return rest_json_raw(b, o->via.boolean ? "true" : "false");
}

int rest_reply_buf(RestCtx *ctx, unsigned status, Buf *b) {
        size_t len = buf_pending(b);
        char *body;

        if (b->oom || buf_append(b, "", 1) < 0) {       /* NUL-terminated */
                buf_done(b);
                return -ENOMEM;
        }
        body = b->data;                                 /* start is 0: only appended to */
        *b = (Buf) {0};
        return reply_body(ctx, status, body, len);
}

bool rest_parts(const RestCtx *ctx) {
        return in_task(ctx);   /* run again for each part */
}

int rest_reply_part(RestCtx *ctx, unsigned status, Buf *b) {
        int r = rest_reply_buf(ctx, status, b);

        if (r >= 0)
                ctx->res->more = true;
        return r;
}

/* ---- the request ---- */

const char *rest_header(RestCtx *ctx, const char *name) {
        const char *v;
        size_t n;

        if (!ctx->req->header)
                return NULL;
        v = ctx->req->header(ctx->req->header_userdata, name);
        if (!v)
                return NULL;
        v += strspn(v, " \t");
        n = strlen(v);
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
        if (n == 0)
                return NULL;
        if (v[n] == '\0')
                return v;
        /* Trailing whitespace: keep a trimmed copy until the answer. */
        for (size_t i = 0; i < ELEMENTSOF(ctx->headers); i++)
                if (!ctx->headers[i]) {
                        ctx->headers[i] = strndup(v, n);
                        return ctx->headers[i];
                }
        return NULL;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes s[0..n) into a new string: %XX is a byte (a malformed escape
 * stays as it is), and with form, '+' is a space. *ret_len gets the
 * decoded length (which may include NULs). */
static char *decode(const char *s, size_t n, bool form, size_t *ret_len) {
        char *d = malloc(n + 1), *w = d;

        if (!d)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                int hi, lo;

                if (s[i] == '%' && i + 2 < n && (hi = unhex(s[i + 1])) >= 0 &&
                    (lo = unhex(s[i + 2])) >= 0) {
                        *w++ = (char) (hi << 4 | lo);
                        i += 2;
                } else if (form && s[i] == '+')
                        *w++ = ' ';
                else
                        *w++ = s[i];
        }
        *w = '\0';
        *ret_len = (size_t) (w - d);
        return d;
}

char *rest_path_decode(const char *s, size_t n, bool *ret_ok) {
        size_t len;
        char *d = decode(s, n, false, &len);

        if (d)
                *ret_ok = len == strlen(d) && utf8_valid(d, len);
        return d;
}

int rest_query_get(RestCtx *ctx, const char *name, char **ret) {
        const char *p = ctx->query;

        *ret = NULL;
        while (p && *p) {
                size_t n = strcspn(p, "&"), klen = strcspn(p, "=");
                _cleanup_free_ char *key = NULL;
                size_t key_len;

                if (klen > n)
                        klen = n;
                key = decode(p, klen, true, &key_len);
                if (!key)
                        return -ENOMEM;
                if (key_len == strlen(name) && memcmp(key, name, key_len) == 0) {
                        size_t vlen;
                        const char *v = klen < n ? p + klen + 1 : p + n;

                        *ret = decode(v, (size_t) (p + n - v), true, &vlen);
                        if (!*ret)
                                return -ENOMEM;
                        if (vlen != strlen(*ret))
                                (*ret)[0] = '\x7f';     /* an embedded NUL: make it unparsable */
                        return 1;
                }
                p += n;
                if (*p)
                        p++;
        }
        return 0;
}

static int parse_body(RestCtx *ctx, json_t **ret) {
        json_error_t e;
        json_t *v;

        *ret = NULL;
        if (!ctx->req->body || ctx->req->body_len == 0)
                return -EBADMSG;
        v = json_loadb(ctx->req->body, ctx->req->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        if (!v)
                return json_error_code(&e) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
        *ret = v;
        return 0;
}

int rest_parse_body(RestCtx *ctx, json_t **ret) {
        BodyMemo *m = ctx->body_memo;
        int r;

        /* A task's later runs see the same body: parsed once (the
         * endpoints only read it). */
        if (m && m->set) {
                *ret = json_incref(m->v);
                return m->r;
        }
        r = parse_body(ctx, ret);
        if (m && r != -ENOMEM)
                *m = (BodyMemo) { .set = true, .r = r, .v = json_incref(*ret) };
        return r;
}

int rest_field_error(json_t *errs, const char *field, const char *message) {
        json_t *l = json_object_get(errs, field);

        if (!l) {
                l = json_array();
                if (json_object_set_new(errs, field, l) < 0)
                        return -ENOMEM;
        }
        return json_array_append_new(l, json_string(message)) < 0 ? -ENOMEM : 0;
}

int rest_result_uint(json_t *obj, const char *key, json_int_t *ret) {
        json_t *v = json_object_get(obj, key);

        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return -EBADMSG;
        *ret = json_integer_value(v);
        return 0;
}

/* ---- routing ---- */

static int serve_openapi(RestCtx *ctx) {
        return reply_text(ctx, 200, rest_openapi_json);
}

typedef int (*Endpoint)(RestCtx *ctx);

typedef struct Route {
        const char *path;       /* exact; or a prefix when it ends in '/' ({api_id} follows) */
        const char *allow;      /* the Allow header of a 405 */
        Endpoint get;           /* also answers HEAD */
        Endpoint post;
        Endpoint put;
        Endpoint delete;
        bool named;             /* exact, and its last segment is also an {api_id} */
} Route;

/* The first route that matches wins. */
static const Route routes[] = {
        { "/openapi.json", "GET, HEAD", .get = serve_openapi },
        { "/v2/custom_role", "GET, HEAD, POST", .get = partoo_list, .post = partoo_create },
        /* POST duplicates; the other methods are those of the role "duplicate" */
        { "/v2/custom_role/duplicate", "GET, HEAD, POST, PUT, DELETE", .get = partoo_get,
          .post = partoo_duplicate, .put = partoo_update, .delete = partoo_delete, .named = true },
        { "/v2/custom_role/", "GET, HEAD, PUT, DELETE", .get = partoo_get, .put = partoo_update,
          .delete = partoo_delete },
        { "/v2/permissions", "GET, HEAD", .get = partoo_permissions },
        { "/api/v1/roles.create", "POST", .post = rocketchat_create },
        { "/api/v1/roles.list", "GET, HEAD", .get = rocketchat_list },
        { "/api/v1/roles.update", "POST", .post = rocketchat_update },
        { "/api/v1/roles.delete", "POST", .post = rocketchat_delete },
        { "/api/v1/roles.addUserToRole", "POST", .post = rocketchat_add_user },
        { "/api/v1/roles.removeUserFromRole", "POST", .post = rocketchat_remove_user },
        { "/api/v1/roles.getUsersInRole", "GET, HEAD", .get = rocketchat_users_in_role },
        { "/api/v1/roles.sync", "GET, HEAD", .get = rocketchat_sync },
};

/* Finds the route of path[0..n); for a prefix route, *ret_arg is the rest. */
static const Route *route_find(const char *path, size_t n, const char **ret_arg, size_t *ret_arg_len) {
        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                const Route *rt = &routes[i];
                size_t k = strlen(rt->path);

                if (rt->path[k - 1] == '/') {
                        /* One non-empty segment after the prefix. */
                        if (n > k && memcmp(path, rt->path, k) == 0 && !memchr(path + k, '/', n - k)) {
                                *ret_arg = path + k;
                                *ret_arg_len = n - k;
                                return rt;
                        }
                } else if (n == k && memcmp(path, rt->path, k) == 0) {
                        if (rt->named) {
                                *ret_arg = strrchr(rt->path, '/') + 1;
                                *ret_arg_len = strlen(*ret_arg);
                        }
                        return rt;
                }
        }
        return NULL;
}

static int dispatch(RestCtx *ctx) {
        const rolesd_rest_request *req = ctx->req;
        rolesd_rest_dialect d = rolesd_rest_dialect_of(req->path);
        const char *arg = NULL;
        size_t path_len, arg_len = 0;
        const Route *rt;
        Endpoint ep;

        /* Tolerate a path that still carries its query string. */
        path_len = strcspn(req->path, "?#");
        if (!ctx->query && req->path[path_len] == '?')
                ctx->query = req->path + path_len + 1;

        rt = route_find(req->path, path_len, &arg, &arg_len);
        if (!rt)
                return rest_reply_error(ctx, d, 404);

        if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
                ep = rt->get;
        else if (strcmp(req->method, "POST") == 0)
                ep = rt->post;
        else if (strcmp(req->method, "PUT") == 0)
                ep = rt->put;
        else if (strcmp(req->method, "DELETE") == 0)
                ep = rt->delete;
        else
                ep = NULL;
        if (!ep) {
                int r = rest_reply_error(ctx, d, 405);
                ctx->res->allow = rt->allow;
                return r;
        }

        if (arg) {
                _cleanup_free_ char *decoded = NULL;
                bool ok = false;
                int r;

                decoded = rest_path_decode(arg, arg_len, &ok);
                if (!decoded)
                        return -ENOMEM;
                /* An api_id that is not a valid string names no role; the
                 * endpoint still checks the credential first. */
                ctx->arg = ok ? decoded : NULL;
                r = ep(ctx);
                ctx->arg = NULL;
                return r;
        }
        return ep(ctx);
}

int rest_handle(rolesd *c, BodyMemo *body_memo, RestProgress *progress, const rolesd_rest_request *req,
                rolesd_rest_response *ret) {
        RestProgress own = {0};
        RestCtx ctx;
        int r;

        if (!ret)
                return -EINVAL;
        *ret = (rolesd_rest_response) { .size = ret->size, .status = 500 };
        if (!req || !req->method || !req->path)
                return -EINVAL;

        ctx = (RestCtx) {
                .conn = c,
                .req = req,
                .query = req->query,
                .res = ret,
                .body_memo = body_memo,
                .progress = progress ? progress : &own,
        };
        r = dispatch(&ctx);
        rest_progress_done(&own);
        for (size_t i = 0; i < ELEMENTSOF(ctx.headers); i++)
                free(ctx.headers[i]);
        if (r < 0) {
                rolesd_rest_response_done(ret);
                ret->status = 500;
                return r;
        }
        return 0;
}

int rolesd_rest_handle(rolesd *c, const rolesd_rest_request *req, rolesd_rest_response *ret) {
        return rest_handle(c, NULL, NULL, req, ret);
}
