/* test-changes.c: unit tests of the lifecycle's writes on a real store,
 * through the handlers' own parse and apply (as the writer runs them),
 * with StoreOptions.changed listening: every write records exactly one
 * change (its revision the next, its op, kind, org, id, before/after
 * views without secrets, and its principal: the peer's credentials, or the
 * REST credential's public id), a refused write records none and writes
 * nothing; and the store's own memberships (both indexes and the member
 * counts through adds, removes, a forced role delete and a user removal)
 * and offset paging over deleted roles across many buckets. Params are
 * written as JSON and converted to MessagePack (jansson). */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dispatch.h"
#include "daemon/seed.h"
#include "daemon/store.h"
#include "check.h"
#include "proto/buf.h"
#include "proto/macro.h"
#include "proto/mp.h"
#include "proto/wire-role.h"

static char root[] = "/tmp/test-changes-XXXXXX";


/* ---- what the store told ---- */

typedef struct Told {
        unsigned n;
        StoreChange c;                  /* the last one; its strings copied below */
        StorePrincipal p;               /* its principal (strings copied below) */
        char id[128], key_id[32], user_role[32], user_id[64];
        Buf before, after;
} Told;

static Told told;

static void on_change(const StoreChange *c, void *userdata) {
        told.n++;
        told.c = *c;
        told.p = *c->principal;
        told.c.principal = NULL;        /* valid during the call only */
        snprintf(told.id, sizeof told.id, "%s", c->id ? c->id : "");
        snprintf(told.key_id, sizeof told.key_id, "%s", c->principal->key_id ? c->principal->key_id : "");
        snprintf(told.user_role, sizeof told.user_role, "%s", c->principal->user_role ? c->principal->user_role : "");
        snprintf(told.user_id, sizeof told.user_id, "%s", c->principal->user_id ? c->principal->user_id : "");
        buf_clear(&told.before);
        buf_clear(&told.after);
        if (c->before)
                check(buf_append(&told.before, c->before, c->before_len) == 0);
        if (c->after)
                check(buf_append(&told.after, c->after, c->after_len) == 0);
}

/* A told view, decoded; the caller destroys u. */
static const msgpack_object *view(const Buf *b, msgpack_unpacked *u) {
        msgpack_unpacked_init(u);
        check(buf_pending(b) > 0);
        check(mp_unpack_whole(buf_head(b), buf_pending(b), u) == 0);
        check(u->data.type == MSGPACK_OBJECT_MAP);
        return &u->data;
}

static const char *view_str(const msgpack_object *m, const char *key) {
        static char s[256];
        const msgpack_object *o = mp_map_get(m, key);
        check(o && o->type == MSGPACK_OBJECT_STR);
        snprintf(s, sizeof s, "%.*s", (int) o->via.str.size, o->via.str.ptr);
        return s;
}

/* ---- JSON params to MessagePack ---- */

static void pack_json(msgpack_packer *pk, const json_t *j) {
        const char *k;
        json_t *v;
        size_t i;

        switch (json_typeof(j)) {
        case JSON_OBJECT:
                msgpack_pack_map(pk, json_object_size(j));
                json_object_foreach((json_t *) j, k, v) {
                        mp_pack_str(pk, k);
                        pack_json(pk, v);
                }
                break;
        case JSON_ARRAY:
                msgpack_pack_array(pk, json_array_size(j));
                json_array_foreach(j, i, v)
                        pack_json(pk, v);
                break;
        case JSON_STRING:
                mp_pack_strn(pk, json_string_value(j), json_string_length(j));
                break;
        case JSON_INTEGER:
                msgpack_pack_int64(pk, json_integer_value(j));
                break;
        case JSON_TRUE:
                msgpack_pack_true(pk);
                break;
        case JSON_FALSE:
                msgpack_pack_false(pk);
                break;
        default:
                msgpack_pack_nil(pk);
        }
}

static Store *store;
static const StorePeer peer = { .uid = 1234, .gid = 5678, .pid = 42 };

/* Runs a write method's parse and apply, as the writer does, in a
 * transaction committed when it succeeded. Returns apply's result; the
 * reply is left in *result, the error in *err. */
static int run(const char *method, const char *params_json, Buf *result, RpcErr *err) {
        const Method *m = method_lookup(method, strlen(method));
        json_error_t jerr;
        json_t *j = json_loads(params_json, 0, &jerr);
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_unpacked u;
        void *args = NULL;
        uint64_t writes;
        MDB_txn *txn;
        int k;

        if (!j) {
                fprintf(stderr, "test bug: %s: %s\n", params_json, jerr.text);
                exit(EXIT_FAILURE);
        }
        check(m && m->apply);
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        pack_json(&pk, j);
        json_decref(j);
        msgpack_unpacked_init(&u);
        check(mp_unpack_whole(sb.data, sb.size, &u) == 0);

        *err = (RpcErr) { .field = NULL };
        buf_clear(result);
        k = args_parse(m->args, &u.data, &args, err);
        if (k >= 0) {
                check_eq(store_write_begin(store, &txn), 0);
                writes = store_writes(store);
                k = m->apply(store, txn, args, &peer, result, err);
                if (k < 0) {
                        /* Checked before it wrote: nothing of it is in the transaction. */
                        check_eq(store_writes(store), writes);
                        store_write_abort(store, txn);
                } else
                        check_eq(store_write_commit(store, txn), 0);
                args_free(m->args, args);
        }
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&sb);
        return k;
}

static uint64_t revision(void) {
        MDB_txn *txn;
        uint64_t r;

        check_eq(store_read_begin(store, &txn), 0);
        check_eq(store_revision(store, txn, &r), 0);
        store_read_end(store, txn);
        return r;
}

/* ---- the change log ---- */

typedef struct Page {
        unsigned n;
        uint64_t revs[64];
        Buf last;                       /* the last record visited */
} Page;

static int page_visit(uint64_t rev, const void *record, size_t len, void *userdata) {
        Page *p = userdata;

        check(p->n < ELEMENTSOF(p->revs));
        p->revs[p->n++] = rev;
        buf_clear(&p->last);
        check(buf_append(&p->last, record, len) == 0);
        return 0;
}

/* The records after `after` (of org when not NULL), at most limit. */
static void log_page(uint64_t after, const uint64_t *org, size_t limit, Page *p, bool *ret_more) {
        MDB_txn *txn;

        p->n = 0;
        check_eq(store_read_begin(store, &txn), 0);
        check_eq(store_changes_list(store, txn, after, org, limit, page_visit, p, ret_more), 0);
        store_read_end(store, txn);
}

static const msgpack_object *sub(const msgpack_object *m, const char *key) {
        const msgpack_object *o = mp_map_get(m, key);
        check(o != NULL);
        return o;
}

/* The log's record of the change just told says what the store told: the
 * revision, op, kind, org, id, the very before and after bytes, and the
 * principal, and nothing more. */
static void logged_as_told(void) {
        _cleanup_(buf_done) Buf b = { 0 };
        Page p = { .n = 0 };
        msgpack_unpacked u;
        const msgpack_object *m, *pr;
        bool more;

        log_page(told.c.revision - 1, NULL, 1, &p, &more);
        check_eq(p.n, 1);
        check(!more);
        check_eq(p.revs[0], told.c.revision);
        msgpack_unpacked_init(&u);
        check(mp_unpack_whole(buf_head(&p.last), buf_pending(&p.last), &u) == 0);
        m = &u.data;
        check_eq(m->via.map.size, 7 + !!buf_pending(&told.before) + !!buf_pending(&told.after));
        check_streq(view_str(m, "op"), store_op_name(told.c.op));
        check_streq(view_str(m, "kind"), store_kind_name(told.c.kind));
        check_eq(sub(m, "revision")->via.u64, told.c.revision);
        check_eq(sub(m, "org")->via.u64, told.c.org);
        check(sub(m, "time")->via.u64 >= told.c.time_ms);
        check_streq(view_str(m, "id"), told.id);
        for (int i = 0; i < 2; i++) {
                const Buf *want = i == 0 ? &told.before : &told.after;
                const msgpack_object *o = mp_map_get(m, i == 0 ? "before" : "after");
                msgpack_packer pk;

                check_eq(!!o, !!buf_pending(want));
                if (!o)
                        continue;
                buf_clear(&b);
                msgpack_packer_init(&pk, &b, buf_pack_write);
                check(msgpack_pack_object(&pk, *o) == 0);
                check_eq(buf_pending(&b), buf_pending(want));
                check(memcmp(buf_head(&b), buf_head(want), buf_pending(want)) == 0);
        }
        pr = sub(m, "principal");
        switch (told.p.kind) {
        case STORE_PRINCIPAL_PEER:
                check_streq(view_str(pr, "kind"), "peer");
                check_eq(pr->via.map.size, 4);
                check_eq(sub(pr, "uid")->via.u64, told.p.peer.uid);
                check_eq(sub(pr, "gid")->via.u64, told.p.peer.gid);
                check_eq(sub(pr, "pid")->via.u64, (uint64_t) told.p.peer.pid);
                break;
        case STORE_PRINCIPAL_API_KEY:
                check_streq(view_str(pr, "kind"), "api_key");
                check_eq(pr->via.map.size, 3);
                check_streq(view_str(pr, "key_id"), told.key_id);
                check_streq(view_str(pr, "user_role"), told.user_role);
                break;
        case STORE_PRINCIPAL_USER:
                check_streq(view_str(pr, "kind"), "user");
                check_eq(pr->via.map.size, 2);
                check_streq(view_str(pr, "user_id"), told.user_id);
                break;
        }
        /* What the journal reads of it. */
        StoreChangeInfo info;
        check_eq(store_change_read(buf_head(&p.last), buf_pending(&p.last), &info), 0);
        check_eq(info.revision, told.c.revision);
        check_eq(info.op, told.c.op);
        check_eq(info.kind, told.c.kind);
        check_eq(info.org, told.c.org);
        check_streq(info.id, told.id);
        check_eq(info.principal, told.p.kind);
        if (told.p.kind == STORE_PRINCIPAL_PEER)
                check_eq(info.peer.uid, told.p.peer.uid);
        else
                check_streq(info.principal_id, told.p.kind == STORE_PRINCIPAL_USER ? told.user_id : told.key_id);
        msgpack_unpacked_destroy(&u);
        buf_done(&p.last);
}

static void log_bounds(uint64_t *ret_first, uint64_t *ret_last, uint64_t *ret_count) {
        MDB_txn *txn;

        check_eq(store_read_begin(store, &txn), 0);
        check_eq(store_changes_bounds(store, txn, ret_first, ret_last, ret_count), 0);
        store_read_end(store, txn);
}

/* A write that succeeds and records exactly one change of that kind. */
static void ok_change(const char *method, const char *params, StoreOp op, StoreKind kind, uint64_t org, Buf *result) {
        RpcErr err;
        uint64_t rev = revision();
        unsigned n = told.n;
        int k = run(method, params, result, &err);

        if (k < 0)
                fprintf(stderr, "%s %s: %d %s (%s)\n", method, params, k, rpc_err_text(&err) ? rpc_err_text(&err) : "",
                        err.field ? err.field : "");
        check(k >= 0);
        check_eq(told.n, n + 1);
        check_eq(told.c.revision, rev + 1);
        check_eq(revision(), rev + 1);
        check_eq(told.c.op, op);
        check_eq(told.c.kind, kind);
        check_eq(told.c.org, org);
        check(told.c.time_ms > 0);
        check(told.id[0]);
        check_eq(!!buf_pending(&told.before), op != STORE_OP_CREATE && op != STORE_OP_ADD);
        check_eq(!!buf_pending(&told.after), op != STORE_OP_DELETE && op != STORE_OP_REMOVE);
        logged_as_told();
}

/* A write that fails with code: no change, no revision. */
static void refused(const char *method, const char *params, int code, const char *field) {
        Buf result = { 0 };
        RpcErr err;
        uint64_t rev = revision(), count, count2;
        unsigned n = told.n;
        int k;

        log_bounds(NULL, NULL, &count);
        k = run(method, params, &result, &err);
        log_bounds(NULL, NULL, &count2);
        check_eq(count2, count);        /* nothing logged */
        if (k != code)
                fprintf(stderr, "%s %s: %d, not %d (%s)\n", method, params, k, code, rpc_err_text(&err) ? rpc_err_text(&err) : "");
        check_eq(k, code);
        if (field)
                check_streq(err.field, field);
        check_eq(told.n, n);
        check_eq(revision(), rev);
        buf_done(&result);
}

static char *result_str(const Buf *b, const char *key) {
        msgpack_unpacked u;
        char *s = NULL;

        msgpack_unpacked_init(&u);
        check(mp_unpack_whole(buf_head(b), buf_pending(b), &u) == 0);
        check(mp_read_str(mp_map_get(&u.data, key), &s) == 0);
        msgpack_unpacked_destroy(&u);
        return s;
}

static void principal_is_peer(void) {
        check_eq(told.p.kind, STORE_PRINCIPAL_PEER);
        check_eq(told.p.peer.uid, 1234);
        check_eq(told.p.peer.gid, 5678);
        check_eq(told.p.peer.pid, 42);
        check(!told.key_id[0] && !told.user_id[0] && !told.user_role[0]);
}

static void test_changes(void) {
        _cleanup_(buf_done) Buf res = { 0 };
        _cleanup_free_ char *role_id = NULL, *key = NULL, *user_id = NULL, *token = NULL;
        msgpack_unpacked u;
        const msgpack_object *v;
        char params[512];

        /* provisioning: the peer is the principal */
        ok_change("org.add", "{\"id\": 42, \"provider\": \"p\"}", STORE_OP_CREATE, STORE_KIND_ORG, 42, &res);
        check_streq(told.id, "42");
        principal_is_peer();
        ok_change("key.add", "{\"user_role\": \"ORG_ADMIN\", \"org\": 42}", STORE_OP_CREATE, STORE_KIND_KEY, 42, &res);
        key = result_str(&res, "api_key");
        v = view(&told.after, &u);
        check_streq(view_str(v, "key_id"), told.id);
        check(strncmp(key, told.id, 16) == 0);
        check(!mp_map_get(v, "hash"));
        check(!memmem(buf_head(&told.after), buf_pending(&told.after), key + 16, 64));    /* no secret */
        msgpack_unpacked_destroy(&u);
        ok_change("user.add", "{\"username\": \"ann\", \"org\": 42, \"name\": \"Ann\", \"roles\": [\"PUBLISHER\"]}",
                  STORE_OP_CREATE, STORE_KIND_USER, 42, &res);
        user_id = result_str(&res, "user_id");
        token = result_str(&res, "token");
        check_streq(told.id, user_id);
        v = view(&told.after, &u);
        check_streq(view_str(v, "username"), "ann");
        check_eq(mp_map_get(v, "roles")->via.array.size, 1);
        check(!mp_map_get(v, "hash") && !mp_map_get(v, "token"));
        check(!memmem(buf_head(&told.after), buf_pending(&told.after), token, strlen(token)));
        msgpack_unpacked_destroy(&u);

        /* roles, by the peer */
        ok_change("role.create", "{\"org\": 42, \"name\": \"R\", \"permissions\": [\"review_read\"]}",
                  STORE_OP_CREATE, STORE_KIND_ROLE, 42, &res);
        role_id = result_str(&res, "id");
        check_streq(told.id, role_id);
        check_eq(buf_pending(&told.after), buf_pending(&res));         /* the record is the reply */
        check(memcmp(buf_head(&told.after), buf_head(&res), buf_pending(&res)) == 0);
        principal_is_peer();
        ok_change("role.update", "{\"org\": 42, \"name\": \"R\", \"set\": {\"name\": \"R2\"}}",
                  STORE_OP_UPDATE, STORE_KIND_ROLE, 42, &res);
        v = view(&told.before, &u);
        check_streq(view_str(v, "name"), "R");
        msgpack_unpacked_destroy(&u);
        v = view(&told.after, &u);
        check_streq(view_str(v, "name"), "R2");
        check_eq(mp_map_get(v, "revision")->via.u64, told.c.revision);
        msgpack_unpacked_destroy(&u);
        ok_change("role.duplicate", "{\"org\": 42, \"name\": \"R2\"}", STORE_OP_CREATE, STORE_KIND_ROLE, 42, &res);

        /* memberships, by the REST credential: its public id */
        snprintf(params, sizeof params, "{\"auth\": {\"api_key\": \"%s\"}, \"name\": \"R2\", \"user\": \"ann\"}", key);
        ok_change("member.add", params, STORE_OP_ADD, STORE_KIND_MEMBER, 42, &res);
        check_streq(told.id, role_id);
        check_eq(told.p.kind, STORE_PRINCIPAL_API_KEY);
        check(strlen(told.key_id) == 16 && strncmp(told.key_id, key, 16) == 0);
        check_streq(told.user_role, "ORG_ADMIN");
        check_eq(told.p.peer.uid, 1234);        /* who connected, too */
        v = view(&told.after, &u);
        check_streq(view_str(v, "user"), "ann");
        check_streq(view_str(v, "user_id"), user_id);
        check_streq(view_str(v, "role"), role_id);
        msgpack_unpacked_destroy(&u);
        refused("member.add", params, -EEXIST, "user");
        snprintf(params, sizeof params, "{\"auth\": {\"api_key\": \"%s\"}, \"name\": \"R2\", \"user\": \"ann\"}", key);
        ok_change("member.remove", params, STORE_OP_REMOVE, STORE_KIND_MEMBER, 42, &res);
        refused("member.remove", params, -ENOENT, "member");

        /* refused writes: no change, nothing written (run() checks the writes) */
        refused("role.update", "{\"org\": 42, \"name\": \"R2\", \"set\": {\"name\": \"R2 - 2\"}}", -EEXIST, "name");
        refused("role.update", "{\"org\": 42, \"name\": \"R2\", \"set\": {\"description\": \"x\"}, \"if_revision\": 1}",
                -ESTALE, "if_revision");
        refused("role.update", "{\"org\": 42, \"name\": \"ORG_ADMIN\", \"set\": {\"description\": \"x\"}}", -EROFS, "name");
        refused("role.delete", "{\"org\": 42, \"name\": \"PUBLISHER\"}", -EROFS, "name");
        refused("role.delete", "{\"org\": 42, \"name\": \"nope\"}", -ENOENT, "name");
        refused("role.duplicate", "{\"org\": 42, \"name\": \"ORG_ADMIN\"}", -EROFS, "name");
        refused("user.add", "{\"username\": \"ann\", \"org\": 42}", -EEXIST, "username");
        refused("key.revoke", "{\"key_id\": \"ffffffffffffffff\"}", -ENOENT, "key_id");
        refused("user.remove", "{\"org\": 42, \"user\": \"nobody\"}", -ENOENT, "user");
        snprintf(params, sizeof params, "{\"org\": 42, \"name\": \"R2\", \"user\": \"ann\"}");
        ok_change("member.add", params, STORE_OP_ADD, STORE_KIND_MEMBER, 42, &res);
        refused("role.delete", "{\"org\": 42, \"name\": \"R2\"}", -ENOTEMPTY, "name");

        /* a user's token: its user id */
        {
                _cleanup_(buf_done) Buf r2 = { 0 };
                _cleanup_free_ char *rc_id = NULL, *rc_token = NULL;
                ok_change("user.add", "{\"username\": \"root\", \"roles\": [\"admin\"]}", STORE_OP_CREATE,
                          STORE_KIND_USER, 0, &r2);
                rc_id = result_str(&r2, "user_id");
                rc_token = result_str(&r2, "token");
                snprintf(params, sizeof params,
                         "{\"auth\": {\"user_id\": \"%s\", \"token\": \"%s\"}, \"name\": \"bot\", \"user\": \"root\"}",
                         rc_id, rc_token);
                ok_change("member.add", params, STORE_OP_ADD, STORE_KIND_MEMBER, 0, &r2);
                check_eq(told.p.kind, STORE_PRINCIPAL_USER);
                check_streq(told.user_id, rc_id);
                check(!told.key_id[0]);
                snprintf(params, sizeof params,
                         "{\"auth\": {\"user_id\": \"%s\", \"token\": \"x%s\"}, \"name\": \"bot\", \"user\": \"root\"}",
                         rc_id, rc_token);
                refused("member.remove", params, -EKEYREJECTED, NULL);
                refused("member.remove", "{\"org\": 0, \"name\": \"admin\", \"user\": \"root\"}", -EROFS, "user");
                refused("user.remove", "{\"org\": 0, \"user\": \"root\"}", -EROFS, "user");
        }

        /* deletes: the before view, no after */
        ok_change("role.delete", "{\"org\": 42, \"name\": \"R2\", \"force\": true}", STORE_OP_DELETE, STORE_KIND_ROLE,
                  42, &res);
        check_streq(told.id, role_id);
        ok_change("user.remove", "{\"org\": 42, \"user\": \"ann\"}", STORE_OP_DELETE, STORE_KIND_USER, 42, &res);
        v = view(&told.before, &u);
        check_streq(view_str(v, "username"), "ann");
        check_eq(mp_map_get(v, "roles")->via.array.size, 1);     /* PUBLISHER; R2's went with R2 */
        msgpack_unpacked_destroy(&u);
        snprintf(params, sizeof params, "{\"key_id\": \"%.16s\"}", key);
        ok_change("key.revoke", params, STORE_OP_DELETE, STORE_KIND_KEY, 42, &res);
}

/* ---- the store's memberships ---- */

typedef struct Names {
        char s[64][32];
        unsigned n;
} Names;

static int name_visit(const char *user_id, const char *username, void *userdata) {
        Names *n = userdata;
        snprintf(n->s[n->n++], sizeof n->s[0], "%s", username);
        return 0;
}

static int api_visit(const char *api_id, size_t len, bool grants, void *userdata) {
        Names *n = userdata;
        snprintf(n->s[n->n++], sizeof n->s[0], "%.*s%s", (int) len, api_id, grants ? "+" : "");
        return 0;
}

static void test_memberships(void) {
        Buf res = { 0 };
        RpcErr err;
        StoreRoleInfo info;
        Names names;
        char uid[STORE_USER_ID_MAX + 1], ids[3][STORE_USER_ID_MAX + 1];
        MDB_txn *txn;
        bool more;

        check(run("org.add", "{\"id\": 7}", &res, &err) >= 0);
        check(run("role.create", "{\"org\": 7, \"name\": \"A\", \"permissions\": [\"review_read\"]}", &res, &err) >= 0);
        check(run("role.create", "{\"org\": 7, \"name\": \"B\"}", &res, &err) >= 0);
        for (int i = 0; i < 3; i++) {
                char p[128];
                snprintf(p, sizeof p, "{\"username\": \"m%d\", \"org\": 7, \"roles\": [\"A\", \"B\"]}", 2 - i);
                check(run("user.add", p, &res, &err) >= 0);
        }

        check_eq(store_read_begin(store, &txn), 0);
        for (int i = 0; i < 3; i++) {
                char n[8];
                snprintf(n, sizeof n, "m%d", i);
                check_eq(store_user_find(store, txn, 7, n, ids[i]), 0);
        }
        names.n = 0;
        check_eq(store_member_list(store, txn, "7-ORG_ADMIN", NULL, 0, 10, name_visit, &names, &more), 0);
        check_eq(names.n, 0);
        store_read_end(store, txn);

        /* role A, by name: m0 m1 m2; offset and after */
        const void *blob;
        size_t len;
        Role a;
        check_eq(store_read_begin(store, &txn), 0);
        check_eq(store_role_get(store, txn, 7, "name", "A", &blob, &len), 0);
        check_eq(role_decode(blob, len, &a), 0);
        check_eq(store_role_info(store, txn, a.id, &info), 0);
        check_eq(info.members, 3);
        names.n = 0;
        check_eq(store_member_list(store, txn, a.id, NULL, 0, 2, name_visit, &names, &more), 0);
        check_eq(names.n, 2);
        check(more);
        check_streq(names.s[0], "m0");
        check_streq(names.s[1], "m1");
        names.n = 0;
        check_eq(store_member_list(store, txn, a.id, "m1", 0, 2, name_visit, &names, &more), 0);
        check_eq(names.n, 1);
        check(!more);
        check_streq(names.s[0], "m2");
        names.n = 0;
        check_eq(store_member_list(store, txn, a.id, "m0x", 0, 5, name_visit, &names, &more), 0);
        check_eq(names.n, 2);           /* after a name that is not there: from the next one */
        names.n = 0;
        check_eq(store_member_list(store, txn, a.id, NULL, 2, 5, name_visit, &names, &more), 0);
        check_eq(names.n, 1);
        check_eq(store_member_list(store, txn, "no-such-role", NULL, 0, 5, name_visit, &names, &more), -ENOENT);
        names.n = 0;
        check_eq(store_user_roles(store, txn, ids[1], "review_read", api_visit, &names), 0);
        check_eq(names.n, 2);
        check_streq(names.s[0], "A+");
        check_streq(names.s[1], "B");
        check_eq(store_member_held(store, txn, a.id, ids[1]), 1);
        check_eq(store_member_held(store, txn, "7-PUBLISHER", ids[1]), 0);
        store_read_end(store, txn);

        /* a user removed: its memberships both ways, the counts */
        check(run("user.remove", "{\"org\": 7, \"user\": \"m1\"}", &res, &err) >= 0);
        check_eq(store_read_begin(store, &txn), 0);
        check_eq(store_role_info(store, txn, a.id, &info), 0);
        check_eq(info.members, 2);
        names.n = 0;
        check_eq(store_user_roles(store, txn, ids[1], NULL, api_visit, &names), 0);
        check_eq(names.n, 0);
        check_eq(store_user_find(store, txn, 7, "m1", uid), -ENOENT);
        check_eq(store_member_held(store, txn, a.id, ids[1]), 0);
        store_read_end(store, txn);

        /* a role deleted: -ENOTEMPTY, then forced: its memberships both ways */
        check_eq(store_write_begin(store, &txn), 0);
        uint64_t w = store_writes(store), removed = 0;
        check_eq(store_role_delete(store, txn, 7, a.id, false, &removed), -ENOTEMPTY);
        check_eq(store_writes(store), w);
        check_eq(store_role_delete(store, txn, 7, a.id, true, &removed), 0);
        check_eq(removed, 2);
        check(store_writes(store) > w + 2);     /* deletes count as writes */
        check_eq(store_write_commit(store, txn), 0);
        check_eq(store_read_begin(store, &txn), 0);
        for (int i = 0; i < 3; i += 2) {
                names.n = 0;
                check_eq(store_user_roles(store, txn, ids[i], NULL, api_visit, &names), 0);
                check_eq(names.n, 1);
                check_streq(names.s[0], "B");
        }
        check_eq(store_role_info(store, txn, a.id, &info), -ENOENT);
        store_read_end(store, txn);
        role_done(&a);
        buf_done(&res);
}

/* ---- offset paging over deleted roles, many buckets ---- */

typedef struct Seen {
        uint64_t n;
        char first[32];
} Seen;

static int seen_visit(const void *blob, size_t len, void *userdata) {
        Seen *s = userdata;
        Role r;
        check_eq(role_decode(blob, len, &r), 0);
        if (s->n++ == 0)
                snprintf(s->first, sizeof s->first, "%s", r.name);
        role_done(&r);
        return 0;
}

static void test_paging_after_deletes(void) {
        enum { N = 5000 };
        static bool live[N];
        Buf res = { 0 };
        RpcErr err;
        MDB_txn *txn;
        uint64_t rnd = 7;

        check(run("org.add", "{\"id\": 8}", &res, &err) >= 0);
        check_eq(store_write_begin(store, &txn), 0);
        for (int i = 0; i < N; i++) {
                char name[16], id[16];
                Role r = { .id = id, .org = 8, .api_id = name, .name = name, .scope = (char *) "Users" };
                msgpack_packer pk;
                snprintf(name, sizeof name, "p%05d", i);
                snprintf(id, sizeof id, "id-%05d", i);
                buf_clear(&res);
                msgpack_packer_init(&pk, &res, buf_pack_write);
                check_eq(role_pack(&pk, &r), 0);
                check_eq(store_role_insert(store, txn, &(StoreRoleKeys) { .id = id, .org = 8, .api_id = name,
                                                                         .name = name },
                                           buf_head(&res), buf_pending(&res), NULL), 0);
                live[i] = true;
        }
        /* whole buckets, bucket edges and scattered roles go */
        for (int i = 0; i < N; i++) {
                rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
                bool gone = (i >= 1019 && i < 2043) || i == 0 || i == N - 1 || (rnd >> 60) < 4;
                if (gone) {
                        char id[16];
                        snprintf(id, sizeof id, "id-%05d", i);
                        check_eq(store_role_delete(store, txn, 8, id, false, NULL), 0);
                        live[i] = false;
                }
        }
        check_eq(store_write_commit(store, txn), 0);

        uint64_t count, k = 0;
        int order[N];
        for (int i = 0; i < N; i++)
                if (live[i])
                        order[k++] = i;
        check_eq(store_read_begin(store, &txn), 0);
        check_eq(store_role_count(store, txn, 8, &count), 0);
        check_eq(count, k + 5);         /* and the 5 built-ins */
        for (uint64_t off = 0; off < count + 3; off += 97) {
                Seen s = { 0 };
                bool more;
                check_eq(store_role_list(store, txn, 8, off, 0, 3, seen_visit, &s, NULL, &more), 0);
                if (off < 5)
                        check(s.n > 0);
                else if (off < count) {
                        char want[16];
                        snprintf(want, sizeof want, "p%05d", order[off - 5]);
                        check_streq(s.first, want);
                        check_eq(s.n, off + 3 <= count ? 3 : count - off);
                } else
                        check_eq(s.n, 0);
        }
        store_read_end(store, txn);
        buf_done(&res);
}

/* ---- the log as a whole: contiguous, paged whole and by organization,
 * searched by time, trimmed from its oldest end ---- */

static uint64_t record_u64(const Buf *b, const char *key) {
        msgpack_unpacked u;
        uint64_t v;

        msgpack_unpacked_init(&u);
        check(mp_unpack_whole(buf_head(b), buf_pending(b), &u) == 0);
        v = sub(&u.data, key)->via.u64;
        msgpack_unpacked_destroy(&u);
        return v;
}

typedef struct Scan {
        uint64_t n, last_rev, last_time, of_org;
        uint64_t times[4096];
} Scan;

static int scan_visit(uint64_t rev, const void *record, size_t len, void *userdata) {
        Scan *sc = userdata;
        StoreChangeInfo info;

        check_eq(store_change_read(record, len, &info), 0);
        check_eq(info.revision, rev);
        check_eq(rev, sc->last_rev + 1);                /* contiguous */
        check(info.time_ms >= sc->last_time);           /* time never goes backwards */
        check(rev < ELEMENTSOF(sc->times));
        sc->times[rev] = info.time_ms;
        sc->last_rev = rev;
        sc->last_time = info.time_ms;
        sc->n++;
        sc->of_org += info.org == 42;
        return 0;
}

static uint64_t after_time(uint64_t t) {
        MDB_txn *txn;
        uint64_t rev;

        check_eq(store_read_begin(store, &txn), 0);
        check_eq(store_changes_after_time(store, txn, t, &rev), 0);
        store_read_end(store, txn);
        return rev;
}

static uint64_t compacted(void) {
        MDB_txn *txn;
        uint64_t c, rev;

        check_eq(store_read_begin(store, &txn), 0);
        check_eq(store_changes_horizon(store, txn, &c, &rev), 0);
        check_eq(rev, revision());
        store_read_end(store, txn);
        return c;
}

static void test_log(void) {
        static Scan sc;
        uint64_t first, last, count, after, org = 42, trimmed, n;
        Page p = { .n = 0 };
        MDB_txn *txn;
        bool more;

        log_bounds(&first, &last, &count);
        check_eq(first, 1);
        check_eq(last, revision());
        check_eq(count, last);
        check_eq(compacted(), 1);

        /* all of it, in one pass */
        check_eq(store_read_begin(store, &txn), 0);
        check_eq(store_changes_list(store, txn, 0, NULL, SIZE_MAX, scan_visit, &sc, &more), 0);
        store_read_end(store, txn);
        check_eq(sc.n, count);
        check(!more);

        /* in pages of 7: the same revisions, more until the last page */
        for (after = 0, n = 0;; after = p.revs[p.n - 1]) {
                log_page(after, NULL, 7, &p, &more);
                for (unsigned i = 0; i < p.n; i++)
                        check_eq(p.revs[i], after + 1 + i);
                n += p.n;
                check_eq(more, n < count);
                if (!more)
                        break;
        }
        check_eq(n, count);

        /* organization 42's, in pages of 3: in order, each of org 42 */
        for (after = 0, n = 0;; after = p.revs[p.n - 1]) {
                log_page(after, &org, 3, &p, &more);
                for (unsigned i = 0; i < p.n; i++)
                        check(p.revs[i] > (i ? p.revs[i - 1] : after));
                if (p.n)
                        check_eq(record_u64(&p.last, "org"), 42);
                n += p.n;
                if (!more)
                        break;
        }
        check_eq(n, sc.of_org);
        check(n > 0 && n < count);
        log_page(last, NULL, 10, &p, &more);
        check(p.n == 0 && !more);
        log_page(UINT64_MAX, NULL, 10, &p, &more);
        check(p.n == 0 && !more);

        /* by time: the first record past each record's time */
        check_eq(after_time(0), first);
        check_eq(after_time(sc.last_time), last + 1);
        for (uint64_t r = first; r <= last; r++) {
                uint64_t want = r;
                while (want <= last && sc.times[want] <= sc.times[r])
                        want++;
                check_eq(after_time(sc.times[r]), want);
        }

        /* trim: at most max per step, never below keep, org index with it */
        check_eq(store_write_begin(store, &txn), 0);
        check_eq(store_changes_trim(store, txn, count - 5, 3, UINT64_MAX, &trimmed), 0);
        check_eq(store_write_commit(store, txn), 0);
        check_eq(trimmed, 3);
        log_bounds(&first, NULL, &n);
        check_eq(first, 4);
        check_eq(n, count - 3);
        check_eq(compacted(), 4);
        check_eq(store_write_begin(store, &txn), 0);
        check_eq(store_changes_trim(store, txn, count - 5, 100, UINT64_MAX, &trimmed), 0);
        check_eq(store_changes_trim(store, txn, count - 5, 100, UINT64_MAX, &n), 0);
        check_eq(store_write_commit(store, txn), 0);
        check_eq(trimmed, 2);
        check_eq(n, 0);
        check_eq(compacted(), 6);
        log_page(0, NULL, 64, &p, &more);
        check_eq(p.revs[0], 6);
        log_page(0, &org, 64, &p, &more);
        check(p.n > 0 && p.revs[0] >= 6);
        check_eq(after_time(0), 6);
        buf_done(&p.last);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

int main(void) {
        check(mkdtemp(root));
        check_eq(store_open(root, &(StoreOptions) { .nosync = true, .seed = seed_workspace, .changed = on_change },
                            &store), 0);
        check_eq(revision(), 0);
        test_changes();
        test_memberships();
        test_paging_after_deletes();
        test_log();
        store_close(store);
        buf_done(&told.before);
        buf_done(&told.after);
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        printf("test-changes: %u checks passed\n", checks);
        return 0;
}
