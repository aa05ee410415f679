/* calls.c: librolesd's calls. Owns packing each method's params (the
 * generic rolesd_call and the typed calls), taking each result apart
 * (rolesd_reply_json, _role, _role_page, _api_key, _user), and the
 * synchronous form of every call: its asynchronous form and a wait for
 * its callback, one code path for both. The lifecycle's calls of
 * librolesd 1.1 are lifecycle.c's. */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/calls.h"
#include "client/lib/conn.h"
#include "client/lib/internal.h"
#include "proto/macro.h"
#include "proto/rpc.h"
#include "proto/wire-role.h"
#include "proto/wire.h"

/* ---- synchronous calls ---- */

void sync_done(rolesd *c, rolesd_reply *reply, void *userdata) {
        Sync *s = userdata;

        s->r = s->extract(reply, s->ret, s->err);
        s->done = true;
}

int sync_init(Sync *s, rolesd *c, SyncExtract extract, void *ret, rolesd_error *err) {
        *s = (Sync) { .extract = extract, .ret = ret, .err = err };
        error_clear(err);
        if (!c)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no connection");
        if (c->dispatching)
                return fail(err, -EBUSY, ROLESD_INVALID_ARGUMENT, NULL,
                            "a synchronous call from a callback of its own connection");
        return 0;
}

int sync_wait(rolesd *c, int submit_r, Sync *s) {
        if (submit_r < 0)
                return submit_r;
        while (!s->done) {
                /* Ends: the call has a reply, a deadline, or a connection to lose. */
                int r = rolesd_wait(c, UINT64_MAX);

                if (r < 0 && !s->done)
                        conn_abort(c, r, "cannot wait for rolesd");
        }
        return s->r;
}

/* ---- params ---- */

bool has_auth(const rolesd_auth *auth) {
        return auth && (auth->api_key || auth->user_id || auth->token);
}

int pack_auth(msgpack_packer *pk, const rolesd_auth *auth) {
        int r;

        r = mp_pack_str(pk, "auth");
        r |= msgpack_pack_map(pk, !!auth->api_key + !!auth->user_id + !!auth->token);
        if (auth->api_key)
                r |= mp_pack_kv_str(pk, "api_key", auth->api_key);
        if (auth->user_id)
                r |= mp_pack_kv_str(pk, "user_id", auth->user_id);
        if (auth->token)
                r |= mp_pack_kv_str(pk, "token", auth->token);
        return r;
}

/* ---- any method, JSON in and out ---- */

int json_submit_fd(rolesd *c, const char *method, json_t *params, int fd, rolesd_reply_fn fn, void *userdata,
                   rolesd_error *err) {
        msgpack_packer pk;
        int r, pr;

        if (params && !json_is_object(params))
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "params", "params must be a JSON object");
        r = request_begin(c, method, &pk, err);
        if (r < 0)
                return r;
        pr = params ? json_to_mp(&pk, params, 1) : msgpack_pack_map(&pk, 0);
        if (pr == -E2BIG)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "params", "params nested too deeply");
        return request_submit_fd(c, method, pr, fd, fn, userdata, err);
}

static int json_submit(rolesd *c, const char *method, json_t *params, rolesd_reply_fn fn, void *userdata,
                       rolesd_error *err) {
        return json_submit_fd(c, method, params, -1, fn, userdata, err);
}

int rolesd_call_async(rolesd *c, const char *method, json_t *params, rolesd_reply_fn fn, void *userdata) {
        return json_submit(c, method, params, fn, userdata, NULL);
}

/* A result visited by a CallVisit. */
typedef struct Visit {
        CallVisit visit;
        void *userdata;
} Visit;

static int extract_visit(rolesd_reply *reply, void *ret, rolesd_error *err) {
        const Visit *v = ret;
        const msgpack_object *result;
        const char *why = "bad value";
        int r;

        r = reply_result(reply, &result, err);
        if (r < 0 || !v->visit)
                return r;
        r = v->visit(result, v->userdata, &why);
        if (r == -ENOMEM)
                return fail_oom(err);
        if (r < 0)
                return fail(err, -EBADMSG, ROLESD_INTERNAL, NULL, "malformed %s result from rolesd: %s",
                            reply->call->method, why);
        return 0;
}

int call_visit(rolesd *c, const char *method, json_t *params, CallVisit visit, void *userdata,
               rolesd_error *err) {
        Visit v = { visit, userdata };
        Sync s;
        int r = sync_init(&s, c, extract_visit, &v, err);

        return sync_wait(c, r < 0 ? r : json_submit(c, method, params, sync_done, &s, err), &s);
}

static int visit_json(const msgpack_object *result, void *userdata, const char **reterr_why) {
        return mp_to_json(result, userdata, reterr_why);
}

int rolesd_call(rolesd *c, const char *method, json_t *params, json_t **ret_result,
                rolesd_error *err) {
        if (ret_result)
                *ret_result = NULL;
        return call_visit(c, method, params, ret_result ? visit_json : NULL, ret_result, err);
}

int rolesd_reply_json(rolesd_reply *r, json_t **ret, rolesd_error *err) {
        json_t *v = NULL;
        int k;

        if (ret)
                *ret = NULL;
        if (!r)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no reply");
        k = extract_visit(r, &(Visit) { visit_json, &v }, err);
        if (k < 0)
                return k;
        if (ret)
                *ret = v;
        else
                json_decref(v);
        return 0;
}

/* ---- roles ---- */

rolesd_role *rolesd_role_free(rolesd_role *r) {
        if (!r)
                return NULL;
        free(r->id);
        free(r->api_id);
        free(r->name);
        free(r->description);
        free(r->scope);
        strv_free(r->permissions);
        free(r);
        return NULL;
}

static void role_donep(Role *r) {
        role_done(r);
}

/* Decodes a role map into a new rolesd_role. -EBADMSG or -ENOMEM. */
static int role_from_wire(const msgpack_object *o, rolesd_role **ret) {
        _cleanup_(role_donep) Role w = { 0 };
        rolesd_role *r;
        int k;

        k = role_unpack(o, &w);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return -EBADMSG;
        if (!w.permissions) {
                w.permissions = calloc(1, sizeof(char *));
                if (!w.permissions)
                        return -ENOMEM;
        }
        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        *r = (rolesd_role) {
                .id = TAKE_PTR(w.id),
                .org = w.org,
                .api_id = TAKE_PTR(w.api_id),
                .name = TAKE_PTR(w.name),
                .description = TAKE_PTR(w.description),
                .scope = TAKE_PTR(w.scope),
                .permissions = TAKE_PTR(w.permissions),
                .mandatory2fa = w.mandatory2fa,
                .is_protected = w.is_protected,
                .created_at = w.created_at,
                .updated_at = w.updated_at,
                .revision = w.revision,
        };
        *ret = r;
        return 0;
}

/* A decoder's failure (-ENOMEM, or a result of the wrong shape). */
int fail_decode(rolesd_error *err, int r, const rolesd_reply *reply) {
        if (r == -ENOMEM)
                return fail_oom(err);
        return fail(err, -EBADMSG, ROLESD_INTERNAL, NULL, "malformed %s result from rolesd", reply->call->method);
}

/* The result of r taken apart by decode (-EBADMSG: of the wrong shape,
 * or -ENOMEM) into *ret. */
static int reply_decoded(rolesd_reply *r, int (*decode)(const msgpack_object *o, void *ret), void *ret,
                         rolesd_error *err) {
        const msgpack_object *result;
        int k;

        if (!r)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no reply");
        k = reply_result(r, &result, err);
        if (k < 0)
                return k;
        k = decode(result, ret);
        return k < 0 ? fail_decode(err, k, r) : 0;
}

static int decode_role(const msgpack_object *o, void *ret) {
        return role_from_wire(o, ret);
}

int rolesd_reply_role(rolesd_reply *r, rolesd_role **ret, rolesd_error *err) {
        rolesd_role *role = NULL;
        int k = reply_decoded(r, decode_role, &role, err);

        if (ret)
                *ret = role;
        else
                rolesd_role_free(role);
        return k;
}

int extract_role(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_role(r, ret, err);
}

static int role_create_submit(rolesd *c, const rolesd_auth *auth, const rolesd_role_spec *spec,
                              rolesd_reply_fn fn, void *userdata, rolesd_error *err) {
        msgpack_packer pk;
        size_t n = 3;
        int r, pr;

        if (!spec || !spec->name)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "name", "a role needs a name");
        r = request_begin(c, "role.create", &pk, err);
        if (r < 0)
                return r;
        n += !!spec->api_id + !!spec->description + !!spec->scope + !!spec->permissions + has_auth(auth);
        pr = msgpack_pack_map(&pk, n);
        pr |= mp_pack_kv_u64(&pk, "org", spec->org);
        pr |= mp_pack_kv_str(&pk, "name", spec->name);
        if (spec->api_id)
                pr |= mp_pack_kv_str(&pk, "api_id", spec->api_id);
        if (spec->description)
                pr |= mp_pack_kv_str(&pk, "description", spec->description);
        if (spec->scope)
                pr |= mp_pack_kv_str(&pk, "scope", spec->scope);
        if (spec->permissions) {
                pr |= mp_pack_str(&pk, "permissions");
                pr |= mp_pack_strv(&pk, (char *const *) spec->permissions);
        }
        pr |= mp_pack_kv_bool(&pk, "mandatory2fa", spec->mandatory2fa);
        if (has_auth(auth))
                pr |= pack_auth(&pk, auth);
        return request_submit(c, "role.create", pr, fn, userdata, err);
}

int rolesd_role_create_async(rolesd *c, const rolesd_auth *auth, const rolesd_role_spec *spec,
                             rolesd_reply_fn fn, void *userdata) {
        return role_create_submit(c, auth, spec, fn, userdata, NULL);
}

int rolesd_role_create(rolesd *c, const rolesd_auth *auth, const rolesd_role_spec *spec,
                       rolesd_role **ret, rolesd_error *err) {
        if (ret)
                *ret = NULL;
        Sync s;
        int r = sync_init(&s, c, extract_role, ret, err);

        return sync_wait(c, r < 0 ? r : role_create_submit(c, auth, spec, sync_done, &s, err), &s);
}

int check_role_by(const char *by, const char *value, rolesd_error *err) {
        if (!by || (strcmp(by, "id") != 0 && strcmp(by, "api_id") != 0 && strcmp(by, "name") != 0))
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "by", "by must be id, api_id or name");
        if (!value)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, by, "no %s given", by);
        return 0;
}

static int role_get_submit(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                           const char *value, rolesd_reply_fn fn, void *userdata, rolesd_error *err) {
        msgpack_packer pk;
        int r, pr;

        r = check_role_by(by, value, err);
        if (r < 0)
                return r;
        r = request_begin(c, "role.get", &pk, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 2 + has_auth(auth));
        pr |= mp_pack_kv_u64(&pk, "org", org);
        pr |= mp_pack_kv_str(&pk, by, value);
        if (has_auth(auth))
                pr |= pack_auth(&pk, auth);
        return request_submit(c, "role.get", pr, fn, userdata, err);
}

int rolesd_role_get_async(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                          const char *value, rolesd_reply_fn fn, void *userdata) {
        return role_get_submit(c, auth, org, by, value, fn, userdata, NULL);
}

int rolesd_role_get(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by,
                    const char *value, rolesd_role **ret, rolesd_error *err) {
        if (ret)
                *ret = NULL;
        Sync s;
        int r = sync_init(&s, c, extract_role, ret, err);

        return sync_wait(c, r < 0 ? r : role_get_submit(c, auth, org, by, value, sync_done, &s, err), &s);
}

rolesd_role_page *rolesd_role_page_free(rolesd_role_page *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_roles; i++)
                rolesd_role_free(p->roles[i]);
        free(p->roles);
        free(p->next);
        free(p);
        return NULL;
}

static void rolesd_role_page_freep(rolesd_role_page **p) {
        rolesd_role_page_free(*p);
}

static int read_u64_key(const msgpack_object *map, const char *key, uint64_t *ret) {
        const msgpack_object *o = mp_map_get(map, key);
        return o ? mp_read_u64(o, ret) : -EBADMSG;
}

/* Decodes {roles, count, page, max_page, next?}. -EBADMSG or -ENOMEM. */
static int page_from_wire(const msgpack_object *o, rolesd_role_page **ret) {
        _cleanup_(rolesd_role_page_freep) rolesd_role_page *p = NULL;
        const msgpack_object *roles, *next;
        int r;

        if (o->type != MSGPACK_OBJECT_MAP)
                return -EBADMSG;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        if (read_u64_key(o, "count", &p->count) < 0 ||
            read_u64_key(o, "page", &p->page) < 0 ||
            read_u64_key(o, "max_page", &p->max_page) < 0)
                return -EBADMSG;
        next = mp_map_get(o, "next");
        if (next && next->type != MSGPACK_OBJECT_NIL) {
                r = mp_read_str(next, &p->next);
                if (r < 0)
                        return r == -ENOMEM ? r : -EBADMSG;
        }
        roles = mp_map_get(o, "roles");
        if (!roles || roles->type != MSGPACK_OBJECT_ARRAY)
                return -EBADMSG;
        if (roles->via.array.size > 0) {
                p->roles = calloc(roles->via.array.size, sizeof *p->roles);
                if (!p->roles)
                        return -ENOMEM;
        }
        for (uint32_t i = 0; i < roles->via.array.size; i++) {
                r = role_from_wire(&roles->via.array.ptr[i], &p->roles[i]);
                if (r < 0)
                        return r;
                p->n_roles++;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

static int decode_page(const msgpack_object *o, void *ret) {
        return page_from_wire(o, ret);
}

int rolesd_reply_role_page(rolesd_reply *r, rolesd_role_page **ret, rolesd_error *err) {
        rolesd_role_page *p = NULL;
        int k = reply_decoded(r, decode_page, &p, err);

        if (ret)
                *ret = p;
        else
                rolesd_role_page_free(p);
        return k;
}

static int extract_page(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_role_page(r, ret, err);
}

static int role_list_submit(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t page,
                            uint64_t per_page, const char *after, rolesd_reply_fn fn, void *userdata,
                            rolesd_error *err) {
        msgpack_packer pk;
        int r, pr;

        r = request_begin(c, "role.list", &pk, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 1 + (page > 0) + (per_page > 0) + !!after + has_auth(auth));
        pr |= mp_pack_kv_u64(&pk, "org", org);
        if (page > 0)
                pr |= mp_pack_kv_u64(&pk, "page", page);
        if (per_page > 0)
                pr |= mp_pack_kv_u64(&pk, "per_page", per_page);
        if (after)
                pr |= mp_pack_kv_str(&pk, "after", after);
        if (has_auth(auth))
                pr |= pack_auth(&pk, auth);
        return request_submit(c, "role.list", pr, fn, userdata, err);
}

int rolesd_role_list_async(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t page,
                           uint64_t per_page, const char *after, rolesd_reply_fn fn, void *userdata) {
        return role_list_submit(c, auth, org, page, per_page, after, fn, userdata, NULL);
}

int rolesd_role_list(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t page,
                     uint64_t per_page, const char *after, rolesd_role_page **ret,
                     rolesd_error *err) {
        if (ret)
                *ret = NULL;
        Sync s;
        int r = sync_init(&s, c, extract_page, ret, err);

        return sync_wait(c, r < 0 ? r : role_list_submit(c, auth, org, page, per_page, after, sync_done, &s, err), &s);
}

/* ---- the daemon ---- */

rolesd_status *rolesd_status_free(rolesd_status *s) {
        if (!s)
                return NULL;
        free(s->version);
        free(s);
        return NULL;
}

static void rolesd_status_freep(rolesd_status **s) {
        rolesd_status_free(*s);
}

/* Decodes server.status's {version, organizations, ...} (other keys are
 * ignored). -EBADMSG or -ENOMEM. */
static int decode_status(const msgpack_object *o, void *ret) {
        static const struct {
                const char *key;
                size_t offset;
        } counts[] = {
                { "organizations",   offsetof(rolesd_status, organizations) },
                { "roles",           offsetof(rolesd_status, roles) },
                { "connections",     offsetof(rolesd_status, connections) },
                { "map_size",        offsetof(rolesd_status, map_size) },
                { "uptime_ms",       offsetof(rolesd_status, uptime_ms) },
                { "write_batches",   offsetof(rolesd_status, write_batches) },
                { "writes",          offsetof(rolesd_status, writes) },
                { "write_commit_us", offsetof(rolesd_status, write_commit_us) },
        };
        _cleanup_(rolesd_status_freep) rolesd_status *st = NULL;
        const msgpack_object *version;
        int r;

        if (o->type != MSGPACK_OBJECT_MAP)
                return -EBADMSG;
        st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(counts); i++)
                if (read_u64_key(o, counts[i].key, (uint64_t *) ((char *) st + counts[i].offset)) < 0)
                        return -EBADMSG;
        version = mp_map_get(o, "version");
        r = version ? mp_read_str(version, &st->version) : -EBADMSG;
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        *(rolesd_status **) ret = TAKE_PTR(st);
        return 0;
}

int rolesd_reply_status(rolesd_reply *r, rolesd_status **ret, rolesd_error *err) {
        rolesd_status *st = NULL;
        int k = reply_decoded(r, decode_status, &st, err);

        if (ret)
                *ret = st;
        else
                rolesd_status_free(st);
        return k;
}

static int extract_status(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_status(r, ret, err);
}

static int server_status_submit(rolesd *c, rolesd_reply_fn fn, void *userdata, rolesd_error *err) {
        msgpack_packer pk;
        int r = request_begin(c, "server.status", &pk, err);

        if (r < 0)
                return r;
        return request_submit(c, "server.status", msgpack_pack_map(&pk, 0), fn, userdata, err);
}

int rolesd_server_status_async(rolesd *c, rolesd_reply_fn fn, void *userdata) {
        return server_status_submit(c, fn, userdata, NULL);
}

int rolesd_server_status(rolesd *c, rolesd_status **ret, rolesd_error *err) {
        Sync s;
        int r;

        if (ret)
                *ret = NULL;
        r = sync_init(&s, c, extract_status, ret, err);
        return sync_wait(c, r < 0 ? r : server_status_submit(c, sync_done, &s, err), &s);
}

/* ---- provisioning ---- */

int extract_none(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_error(r, err);
}

static int org_add_submit(rolesd *c, uint64_t id, const char *name, const char *provider,
                          rolesd_reply_fn fn, void *userdata, rolesd_error *err) {
        msgpack_packer pk;
        int r, pr;

        r = request_begin(c, "org.add", &pk, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 1 + !!name + !!provider);
        pr |= mp_pack_kv_u64(&pk, "id", id);
        if (name)
                pr |= mp_pack_kv_str(&pk, "name", name);
        if (provider)
                pr |= mp_pack_kv_str(&pk, "provider", provider);
        return request_submit(c, "org.add", pr, fn, userdata, err);
}

int rolesd_org_add_async(rolesd *c, uint64_t id, const char *name, const char *provider,
                         rolesd_reply_fn fn, void *userdata) {
        return org_add_submit(c, id, name, provider, fn, userdata, NULL);
}

int rolesd_org_add(rolesd *c, uint64_t id, const char *name, const char *provider,
                   rolesd_error *err) {
        Sync s;
        int r = sync_init(&s, c, extract_none, NULL, err);

        return sync_wait(c, r < 0 ? r : org_add_submit(c, id, name, provider, sync_done, &s, err), &s);
}

/* Reads the strings at keys[i] of a result map into new heap strings
 * *rets[i] (each may be NULL: checked, not kept); all or none. */
static int reply_strings(rolesd_reply *r, const char *const keys[], char **rets[], size_t n,
                         rolesd_error *err) {
        const msgpack_object *result;
        char *v[2] = { NULL, NULL };
        int k;

        for (size_t i = 0; i < n; i++)
                if (rets[i])
                        *rets[i] = NULL;
        if (!r)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL, "no reply");
        k = reply_result(r, &result, err);
        for (size_t i = 0; k >= 0 && i < n && i < ELEMENTSOF(v); i++) {
                const msgpack_object *o = mp_map_get(result, keys[i]);

                k = o ? mp_read_str(o, &v[i]) : -EBADMSG;
                if (k < 0)
                        k = fail_decode(err, k, r);
        }
        for (size_t i = 0; i < n && i < ELEMENTSOF(v); i++) {
                if (k >= 0 && rets[i])
                        *rets[i] = TAKE_PTR(v[i]);
                free(v[i]);
        }
        return k;
}

int rolesd_reply_api_key(rolesd_reply *r, char **ret_api_key, rolesd_error *err) {
        return reply_strings(r, (const char *const[]) { "api_key" }, (char **[]) { ret_api_key }, 1, err);
}

int rolesd_reply_user(rolesd_reply *r, char **ret_user_id, char **ret_token, rolesd_error *err) {
        return reply_strings(r, (const char *const[]) { "user_id", "token" },
                             (char **[]) { ret_user_id, ret_token }, 2, err);
}

static int extract_api_key(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_api_key(r, ret, err);
}

static int key_add_submit(rolesd *c, const char *user_role, bool has_org, uint64_t org,
                          const char *provider, rolesd_reply_fn fn, void *userdata, rolesd_error *err) {
        msgpack_packer pk;
        int r, pr;

        if (!user_role)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "user_role", "a key needs a user role");
        r = request_begin(c, "key.add", &pk, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 1 + has_org + !!provider);
        pr |= mp_pack_kv_str(&pk, "user_role", user_role);
        if (has_org)
                pr |= mp_pack_kv_u64(&pk, "org", org);
        if (provider)
                pr |= mp_pack_kv_str(&pk, "provider", provider);
        return request_submit(c, "key.add", pr, fn, userdata, err);
}

int rolesd_key_add_async(rolesd *c, const char *user_role, bool has_org, uint64_t org,
                         const char *provider, rolesd_reply_fn fn, void *userdata) {
        return key_add_submit(c, user_role, has_org, org, provider, fn, userdata, NULL);
}

int rolesd_key_add(rolesd *c, const char *user_role, bool has_org, uint64_t org,
                   const char *provider, char **ret_api_key, rolesd_error *err) {
        if (ret_api_key)
                *ret_api_key = NULL;
        Sync s;
        int r = sync_init(&s, c, extract_api_key, ret_api_key, err);

        return sync_wait(c, r < 0 ? r : key_add_submit(c, user_role, has_org, org, provider, sync_done, &s, err), &s);
}

int extract_user(rolesd_reply *r, void *ret, rolesd_error *err) {
        UserRet *u = ret;
        return rolesd_reply_user(r, u->user_id, u->token, err);
}

static int user_add_submit(rolesd *c, const char *username, const char *const *roles,
                           rolesd_reply_fn fn, void *userdata, rolesd_error *err) {
        msgpack_packer pk;
        int r, pr;

        if (!username)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "username", "a user needs a name");
        r = request_begin(c, "user.add", &pk, err);
        if (r < 0)
                return r;
        pr = msgpack_pack_map(&pk, 1 + !!roles);
        pr |= mp_pack_kv_str(&pk, "username", username);
        if (roles) {
                pr |= mp_pack_str(&pk, "roles");
                pr |= mp_pack_strv(&pk, (char *const *) roles);
        }
        return request_submit(c, "user.add", pr, fn, userdata, err);
}

int rolesd_user_add_async(rolesd *c, const char *username, const char *const *roles,
                          rolesd_reply_fn fn, void *userdata) {
        return user_add_submit(c, username, roles, fn, userdata, NULL);
}

int rolesd_user_add(rolesd *c, const char *username, const char *const *roles,
                    char **ret_user_id, char **ret_token, rolesd_error *err) {
        if (ret_user_id)
                *ret_user_id = NULL;
        if (ret_token)
                *ret_token = NULL;
        Sync s;
        int r = sync_init(&s, c, extract_user, &(UserRet) { ret_user_id, ret_token }, err);

        return sync_wait(c, r < 0 ? r : user_add_submit(c, username, roles, sync_done, &s, err), &s);
}
