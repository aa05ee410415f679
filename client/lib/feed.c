/* feed.c: librolesd 1.2's typed calls of the change feed (changes.list,
 * changes.watch, changes.unwatch), of backup (db.backup, with its
 * descriptor), export and import (db.export, db.import) and of
 * role.sync. Owns their params and the structures their results are
 * taken into: the records inside (changes, export records, roles) stay
 * JSON objects, since they are maps of several shapes. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/calls.h"
#include "client/lib/conn.h"
#include "proto/limits.h"

/* ---- params ---- */

/* A new params object; -ENOMEM (err filled) when out of memory. */
static int params_new(json_t **ret, rolesd_error *err) {
        *ret = json_object();
        return *ret ? 0 : fail_oom(err);
}

/* Sets key to an unsigned integer (jansson's are signed: the wire takes
 * them as given, and every revision, org and time fits). */
static int set_u64(json_t *o, const char *key, uint64_t v, rolesd_error *err) {
        if (v > (uint64_t) INT64_MAX)
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, key, "%s out of range", key);
        return json_object_set_new(o, key, json_integer((json_int_t) v)) == 0 ? 0 : fail_oom(err);
}

static int set_org(json_t *o, uint64_t org, rolesd_error *err) {
        return org == ROLESD_ALL_ORGS ? 0 : set_u64(o, "org", org, err);
}

static int set_limit(json_t *o, unsigned limit, rolesd_error *err) {
        return limit == 0 ? 0 : set_u64(o, "limit", limit, err);
}

/* Submits method with params (taken: freed here) when building them
 * went well (build_r == 0), else returns build_r. */
static int submit(rolesd *c, const char *method, json_t *params, int build_r, int fd, rolesd_reply_fn fn,
                  void *userdata, rolesd_error *err) {
        int r = build_r < 0 ? build_r : json_submit_fd(c, method, params, fd, fn, userdata, err);

        json_decref(params);
        return r;
}

/* The synchronous form: submit() and a wait for the reply, taken into ret
 * by extract. */
static int call(rolesd *c, const char *method, json_t *params, int build_r, int fd, SyncExtract extract,
                void *ret, rolesd_error *err) {
        Sync s;
        int r = build_r < 0 ? build_r : sync_init(&s, c, extract, ret, err);

        if (r < 0) {
                json_decref(params);
                return r;
        }
        return sync_wait(c, submit(c, method, params, 0, fd, sync_done, &s, err), &s);
}

static int changes_list_params(json_t **ret, uint64_t after, unsigned limit, uint64_t org, rolesd_error *err) {
        int r = params_new(ret, err);

        if (r >= 0)
                r = set_u64(*ret, "after", after, err);
        if (r >= 0)
                r = set_limit(*ret, limit, err);
        if (r >= 0)
                r = set_org(*ret, org, err);
        return r;
}

static int watch_params(json_t **ret, uint64_t after, uint64_t org, rolesd_error *err) {
        int r = params_new(ret, err);

        if (r >= 0)
                r = set_u64(*ret, "after", after, err);
        if (r >= 0)
                r = set_org(*ret, org, err);
        return r;
}

static int unwatch_params(json_t **ret, uint32_t watch, rolesd_error *err) {
        int r = params_new(ret, err);

        return r < 0 ? r : set_u64(*ret, "watch", watch, err);
}

static int export_params(json_t **ret, const char *after, unsigned limit, uint64_t org, rolesd_error *err) {
        int r = params_new(ret, err);

        if (r >= 0 && after && json_object_set_new(*ret, "after", json_string(after)) < 0)
                r = fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "after", "after is not valid UTF-8");
        if (r >= 0)
                r = set_limit(*ret, limit, err);
        if (r >= 0)
                r = set_org(*ret, org, err);
        return r;
}

static int import_params(json_t **ret, json_t *records, bool dry_run, rolesd_error *err) {
        int r;

        if (!json_is_array(records))
                return fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "records", "records must be a JSON array");
        r = params_new(ret, err);
        if (r >= 0 && (json_object_set(*ret, "records", records) < 0 ||
                       json_object_set_new(*ret, "dry_run", json_boolean(dry_run)) < 0))
                r = fail_oom(err);
        return r;
}

static int sync_params(json_t **ret, const rolesd_auth *auth, uint64_t org, uint64_t since_ms, rolesd_error *err) {
        int r = params_new(ret, err);

        if (r >= 0 && has_auth(auth)) {
                json_t *a = json_object();

                if (!a || json_object_set_new(*ret, "auth", a) < 0 ||
                    (auth->api_key && json_object_set_new(a, "api_key", json_string(auth->api_key)) < 0) ||
                    (auth->user_id && json_object_set_new(a, "user_id", json_string(auth->user_id)) < 0) ||
                    (auth->token && json_object_set_new(a, "token", json_string(auth->token)) < 0))
                        r = fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "auth", "a credential is not valid UTF-8");
        }
        if (r >= 0)
                r = set_u64(*ret, "org", org, err);
        if (r >= 0)
                r = set_u64(*ret, "since", since_ms, err);
        return r;
}

/* ---- results ---- */

/* The result as JSON (a new reference in *ret). */
static int result_json(rolesd_reply *r, json_t **ret, rolesd_error *err) {
        *ret = NULL;
        return rolesd_reply_json(r, ret, err);
}

static int bad_result(rolesd_reply *r, rolesd_error *err) {
        return fail_decode(err, -EBADMSG, r);
}

/* An unsigned integer member of o. */
static bool get_u64(const json_t *o, const char *key, uint64_t *ret) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return false;
        *ret = (uint64_t) json_integer_value(v);
        return true;
}

/* An array member of o, a new reference; NULL when absent or not one. */
static json_t *get_array(const json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_array(v) ? json_incref(v) : NULL;
}

/* A result taken into a new structure (size bytes) by fill (false: the
 * result is of the wrong shape), freed with done on failure or when the
 * caller does not want it (ret NULL). */
static int reply_struct(rolesd_reply *r, size_t size, bool (*fill)(json_t *v, void *p), void *(*done)(void *),
                        void **ret, rolesd_error *err) {
        void *p;
        json_t *v;
        int k;

        if (ret)
                *ret = NULL;
        k = result_json(r, &v, err);
        if (k < 0)
                return k;
        p = calloc(1, size);
        if (!p) {
                json_decref(v);
                return fail_oom(err);
        }
        if (!fill(v, p))
                k = bad_result(r, err);
        json_decref(v);
        if (k < 0 || !ret)
                done(p);
        else
                *ret = p;
        return k;
}

rolesd_change_page *rolesd_change_page_free(rolesd_change_page *p) {
        if (p)
                json_decref(p->changes);
        free(p);
        return NULL;
}

static void *change_page_done(void *p) {
        return rolesd_change_page_free(p);
}

static bool change_page_fill(json_t *v, void *ret) {
        rolesd_change_page *p = ret;

        p->changes = get_array(v, "changes");
        return p->changes && get_u64(v, "next_after", &p->next_after) && get_u64(v, "revision", &p->revision);
}

int rolesd_reply_change_page(rolesd_reply *r, rolesd_change_page **ret, rolesd_error *err) {
        return reply_struct(r, sizeof **ret, change_page_fill, change_page_done, (void **) ret, err);
}

int rolesd_reply_watch(rolesd_reply *r, uint32_t *ret_watch, uint64_t *ret_revision, rolesd_error *err) {
        uint64_t revision = 0;
        json_t *v;
        int k;

        k = result_json(r, &v, err);
        if (k < 0)
                return k;
        if (!get_u64(v, "revision", &revision))
                k = bad_result(r, err);
        json_decref(v);
        if (k < 0)
                return k;
        if (ret_watch)
                *ret_watch = r->call->msgid;    /* a watch is known by its call's msgid */
        if (ret_revision)
                *ret_revision = revision;
        return 0;
}

int rolesd_reply_revision(rolesd_reply *r, uint64_t *ret_revision, rolesd_error *err) {
        uint64_t revision = 0;
        json_t *v;
        int k;

        k = result_json(r, &v, err);
        if (k < 0)
                return k;
        if (!get_u64(v, "revision", &revision))
                k = bad_result(r, err);
        json_decref(v);
        if (k >= 0 && ret_revision)
                *ret_revision = revision;
        return k;
}

int rolesd_reply_backup(rolesd_reply *r, uint64_t *ret_revision, uint64_t *ret_bytes, rolesd_error *err) {
        uint64_t revision = 0, bytes = 0;
        json_t *v;
        int k;

        k = result_json(r, &v, err);
        if (k < 0)
                return k;
        if (!get_u64(v, "revision", &revision) || !get_u64(v, "bytes", &bytes))
                k = bad_result(r, err);
        json_decref(v);
        if (k < 0)
                return k;
        if (ret_revision)
                *ret_revision = revision;
        if (ret_bytes)
                *ret_bytes = bytes;
        return 0;
}

rolesd_export_page *rolesd_export_page_free(rolesd_export_page *p) {
        if (p) {
                json_decref(p->records);
                free(p->next);
        }
        free(p);
        return NULL;
}

static void *export_page_done(void *p) {
        return rolesd_export_page_free(p);
}

/* A strdup() that fails leaves next NULL on a page that had one: taken as
 * the last page would lose records, so it is a failure (of the wrong
 * shape, as near as fill can say). */
static bool export_page_fill(json_t *v, void *ret) {
        rolesd_export_page *p = ret;
        json_t *next = json_object_get(v, "next");

        p->records = get_array(v, "records");
        if (!p->records || !get_u64(v, "revision", &p->revision) || (next && !json_is_null(next) && !json_is_string(next)))
                return false;
        return !json_is_string(next) || (p->next = strdup(json_string_value(next)));
}

int rolesd_reply_export_page(rolesd_reply *r, rolesd_export_page **ret, rolesd_error *err) {
        return reply_struct(r, sizeof **ret, export_page_fill, export_page_done, (void **) ret, err);
}

rolesd_import_result *rolesd_import_result_free(rolesd_import_result *p) {
        if (p)
                json_decref(p->results);
        free(p);
        return NULL;
}

static void *import_done(void *p) {
        return rolesd_import_result_free(p);
}

static bool import_fill(json_t *v, void *ret) {
        rolesd_import_result *p = ret;

        p->results = get_array(v, "results");
        p->dry_run = json_is_true(json_object_get(v, "dry_run"));
        return p->results && get_u64(v, "created", &p->created) && get_u64(v, "updated", &p->updated) &&
               get_u64(v, "unchanged", &p->unchanged);
}

int rolesd_reply_import(rolesd_reply *r, rolesd_import_result **ret, rolesd_error *err) {
        return reply_struct(r, sizeof **ret, import_fill, import_done, (void **) ret, err);
}

rolesd_sync_page *rolesd_sync_page_free(rolesd_sync_page *p) {
        if (p) {
                json_decref(p->update);
                json_decref(p->remove);
        }
        free(p);
        return NULL;
}

static void *sync_done_free(void *p) {
        return rolesd_sync_page_free(p);
}

static bool sync_fill(json_t *v, void *ret) {
        rolesd_sync_page *p = ret;

        p->update = get_array(v, "update");
        p->remove = get_array(v, "remove");
        return p->update && p->remove;
}

int rolesd_reply_role_sync(rolesd_reply *r, rolesd_sync_page **ret, rolesd_error *err) {
        return reply_struct(r, sizeof **ret, sync_fill, sync_done_free, (void **) ret, err);
}

/* ---- extractors of the synchronous calls ---- */

typedef struct U64Pair {
        uint32_t *watch;
        uint64_t *a, *b;
} U64Pair;

static int extract_change_page(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_change_page(r, ret, err);
}

static int extract_watch(rolesd_reply *r, void *ret, rolesd_error *err) {
        U64Pair *p = ret;
        return rolesd_reply_watch(r, p->watch, p->a, err);
}

static int extract_revision(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_revision(r, ret, err);
}

static int extract_backup(rolesd_reply *r, void *ret, rolesd_error *err) {
        U64Pair *p = ret;
        return rolesd_reply_backup(r, p->a, p->b, err);
}

static int extract_export_page(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_export_page(r, ret, err);
}

static int extract_import(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_import(r, ret, err);
}

static int extract_role_sync(rolesd_reply *r, void *ret, rolesd_error *err) {
        return rolesd_reply_role_sync(r, ret, err);
}

/* ---- the calls ---- */

int rolesd_changes_list_async(rolesd *c, uint64_t after, unsigned limit, uint64_t org, rolesd_reply_fn fn,
                              void *userdata) {
        json_t *p = NULL;
        int r = changes_list_params(&p, after, limit, org, NULL);

        return submit(c, "changes.list", p, r, -1, fn, userdata, NULL);
}

int rolesd_changes_list(rolesd *c, uint64_t after, unsigned limit, uint64_t org, rolesd_change_page **ret,
                        rolesd_error *err) {
        json_t *p = NULL;
        int r = changes_list_params(&p, after, limit, org, err);

        if (ret)
                *ret = NULL;
        return call(c, "changes.list", p, r, -1, extract_change_page, ret, err);
}

int rolesd_changes_watch_async(rolesd *c, uint64_t after, uint64_t org, rolesd_reply_fn fn, void *userdata) {
        json_t *p = NULL;
        int r = watch_params(&p, after, org, NULL);

        return submit(c, "changes.watch", p, r, -1, fn, userdata, NULL);
}

int rolesd_changes_watch(rolesd *c, uint64_t after, uint64_t org, uint32_t *ret_watch, uint64_t *ret_revision,
                         rolesd_error *err) {
        json_t *p = NULL;
        int r = watch_params(&p, after, org, err);

        return call(c, "changes.watch", p, r, -1, extract_watch, &(U64Pair) { ret_watch, ret_revision, NULL }, err);
}

int rolesd_changes_unwatch_async(rolesd *c, uint32_t watch, rolesd_reply_fn fn, void *userdata) {
        json_t *p = NULL;
        int r = unwatch_params(&p, watch, NULL);

        return submit(c, "changes.unwatch", p, r, -1, fn, userdata, NULL);
}

int rolesd_changes_unwatch(rolesd *c, uint32_t watch, uint64_t *ret_revision, rolesd_error *err) {
        json_t *p = NULL;
        int r = unwatch_params(&p, watch, err);

        return call(c, "changes.unwatch", p, r, -1, extract_revision, ret_revision, err);
}

static int backup_check(int fd, rolesd_error *err) {
        return fd >= 0 ? 0 : fail(err, -EINVAL, ROLESD_INVALID_ARGUMENT, "fd", "no descriptor to back up into");
}

int rolesd_db_backup_async(rolesd *c, int fd, rolesd_reply_fn fn, void *userdata) {
        int r = backup_check(fd, NULL);

        return submit(c, "db.backup", NULL, r, fd, fn, userdata, NULL);
}

int rolesd_db_backup(rolesd *c, int fd, uint64_t *ret_revision, uint64_t *ret_bytes, rolesd_error *err) {
        int r = backup_check(fd, err);

        return call(c, "db.backup", NULL, r, fd, extract_backup, &(U64Pair) { NULL, ret_revision, ret_bytes }, err);
}

int rolesd_db_export_async(rolesd *c, const char *after, unsigned limit, uint64_t org, rolesd_reply_fn fn,
                           void *userdata) {
        json_t *p = NULL;
        int r = export_params(&p, after, limit, org, NULL);

        return submit(c, "db.export", p, r, -1, fn, userdata, NULL);
}

int rolesd_db_export(rolesd *c, const char *after, unsigned limit, uint64_t org, rolesd_export_page **ret,
                     rolesd_error *err) {
        json_t *p = NULL;
        int r = export_params(&p, after, limit, org, err);

        if (ret)
                *ret = NULL;
        return call(c, "db.export", p, r, -1, extract_export_page, ret, err);
}

int rolesd_db_import_async(rolesd *c, json_t *records, bool dry_run, rolesd_reply_fn fn, void *userdata) {
        json_t *p = NULL;
        int r = import_params(&p, records, dry_run, NULL);

        return submit(c, "db.import", p, r, -1, fn, userdata, NULL);
}

int rolesd_db_import(rolesd *c, json_t *records, bool dry_run, rolesd_import_result **ret, rolesd_error *err) {
        json_t *p = NULL;
        int r = import_params(&p, records, dry_run, err);

        if (ret)
                *ret = NULL;
        return call(c, "db.import", p, r, -1, extract_import, ret, err);
}

int rolesd_role_sync_async(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t since_ms,
                           rolesd_reply_fn fn, void *userdata) {
        json_t *p = NULL;
        int r = sync_params(&p, auth, org, since_ms, NULL);

        return submit(c, "role.sync", p, r, -1, fn, userdata, NULL);
}

int rolesd_role_sync(rolesd *c, const rolesd_auth *auth, uint64_t org, uint64_t since_ms, rolesd_sync_page **ret,
                     rolesd_error *err) {
        json_t *p = NULL;
        int r = sync_params(&p, auth, org, since_ms, err);

        if (ret)
                *ret = NULL;
        return call(c, "role.sync", p, r, -1, extract_role_sync, ret, err);
}
