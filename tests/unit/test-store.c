/* test-store.c: unit tests of the LMDB store (daemon/store*.c), the
 * default catalogs and seeding (daemon/catalog.c, daemon/seed.c), and the
 * workspace's name rules of role.create (daemon/role.c): seeding,
 * organizations, uniqueness, checks before writes, long names, listing,
 * restart, durability across kill -9, map growth, credentials, the
 * writer's partial failures, and a create's reply being the stored
 * record. Works in a mkdtemp directory. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/catalog.h"
#include "daemon/handlers.h"
#include "daemon/limits.h"
#include "daemon/seed.h"
#include "daemon/store.h"
#include "daemon/writer.h"
#include "check.h"
#include "proto/buf.h"
#include "proto/limits.h"
#include "proto/macro.h"
#include "proto/wire.h"
#include "proto/wire-role.h"

static char root[] = "/tmp/test-store-XXXXXX";


static const char *const builtins[] = {
        "admin", "moderator", "leader", "owner", "user", "bot", "app", "guest", "anonymous",
        "livechat-agent", "livechat-manager", "livechat-monitor",
};
static const char *const partoo_builtins[] = {
        "ORG_ADMIN", "ORG_MANAGER", "GROUP_MANAGER", "BUSINESS_MANAGER", "PUBLISHER",
};

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void cleanup_root(void) {
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *subdir(const char *name) {
        char *p;
        check(asprintf(&p, "%s/%s", root, name) > 0);
        return p;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static Store *open_store(const char *dir, size_t mapsize, bool nosync) {
        StoreOptions o = { .initial_mapsize = mapsize, .nosync = nosync, .seed = seed_workspace };
        Store *s = NULL;
        check_eq(store_open(dir, &o, &s), 0);
        check(s);
        return s;
}

static Role mkrole(const char *id, uint64_t org, const char *api_id, const char *name) {
        static char *perms[] = { NULL };
        uint64_t now = now_ms();
        return (Role) {
                .id = (char *) id, .org = org, .api_id = (char *) api_id, .name = (char *) name,
                .description = (char *) "a role", .scope = (char *) "Users", .permissions = perms,
                .created_at = now, .updated_at = now,
        };
}

/* Encodes a role as role.c does and inserts the record in txn. */
static int insert_in(Store *s, MDB_txn *txn, const Role *r, const char **field) {
        StoreRoleKeys keys = { .id = r->id, .org = r->org, .api_id = r->api_id, .name = r->name };
        msgpack_packer pk;
        Buf b = { 0 };
        int k;

        msgpack_packer_init(&pk, &b, buf_pack_write);
        check_eq(role_pack(&pk, r), 0);
        check(!b.oom);
        k = store_role_insert(s, txn, &keys, buf_head(&b), buf_pending(&b), field);
        buf_done(&b);
        return k;
}

/* An insert refused with err, naming field. */
#define check_refused(s, role, err, field)                                             \
        do {                                                                            \
                Role _r = (role);                                                       \
                const char *_f = NULL;                                                  \
                check_eq(insert((s), &_r, &_f), (err));                                 \
                check_streq(_f, (field));                                               \
        } while (0)

/* One role in its own write transaction. */
static int insert(Store *s, const Role *r, const char **field) {
        MDB_txn *txn;
        int k;

        check_eq(store_write_begin(s, &txn), 0);
        k = insert_in(s, txn, r, field);
        if (k < 0) {
                store_write_abort(s, txn);
                return k;
        }
        return store_write_commit(s, txn);
}

static int add_org(Store *s, uint64_t id, const char *name, const char *provider) {
        StoredOrg o = { .id = id, .name = (char *) name, .provider = (char *) provider };
        MDB_txn *txn;
        int k;

        check_eq(store_write_begin(s, &txn), 0);
        k = seed_org(s, txn, &o, now_ms(), 0);
        if (k < 0) {
                store_write_abort(s, txn);
                return k;
        }
        return store_write_commit(s, txn);
}

static uint64_t count(Store *s, uint64_t org) {
        MDB_txn *txn;
        uint64_t n = UINT64_MAX;
        check_eq(store_read_begin(s, &txn), 0);
        check_eq(store_role_count(s, txn, org, &n), 0);
        store_read_end(s, txn);
        return n;
}

static void stats(Store *s, uint64_t *orgs, uint64_t *roles) {
        MDB_txn *txn;
        check_eq(store_read_begin(s, &txn), 0);
        check_eq(store_stats(s, txn, orgs, roles), 0);
        store_read_end(s, txn);
}

/* Gets and decodes a role; returns the store's result. */
static int get_role(Store *s, uint64_t org, const char *by, const char *value, Role *ret) {
        const void *blob;
        size_t len;
        MDB_txn *txn;
        int k;

        check_eq(store_read_begin(s, &txn), 0);
        k = store_role_get(s, txn, org, by, value, &blob, &len);
        if (k >= 0)
                check_eq(role_decode(blob, len, ret), 0);
        store_read_end(s, txn);
        return k;
}

static bool strv_contains(char *const *l, const char *s) {
        for (; l && *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}

static size_t strv_length(char *const *l) {
        size_t n = 0;
        for (; l && l[n]; n++)
                ;
        return n;
}

static int count_cb(const char *name, void *userdata) {
        (*(size_t *) userdata)++;
        return 0;
}

static int perm_exists(Store *s, uint64_t org, const char *name) {
        MDB_txn *txn;
        check_eq(store_read_begin(s, &txn), 0);
        int k = store_permission_exists(s, txn, org, name);
        store_read_end(s, txn);
        return k;
}

/* Does the encoded catalog name permission `name`, with all five keys? */
static bool catalog_has(const void *blob, size_t len, const char *name) {
        msgpack_unpacked u;
        size_t off = 0;
        bool found = false;

        msgpack_unpacked_init(&u);
        check(msgpack_unpack_next(&u, blob, len, &off) == MSGPACK_UNPACK_SUCCESS);
        check_eq(off, len);
        const msgpack_object *secs = mp_map_get(&u.data, "sections");
        check(secs && secs->type == MSGPACK_OBJECT_ARRAY && secs->via.array.size > 0);
        for (uint32_t i = 0; i < secs->via.array.size; i++) {
                const msgpack_object *sec = &secs->via.array.ptr[i];
                const msgpack_object *subs = mp_map_get(sec, "subsections");
                check(mp_map_get(sec, "name") && mp_map_get(sec, "order"));
                check(subs && subs->type == MSGPACK_OBJECT_ARRAY);
                for (uint32_t j = 0; j < subs->via.array.size; j++) {
                        const msgpack_object *sub = &subs->via.array.ptr[j];
                        const msgpack_object *perms = mp_map_get(sub, "permissions");
                        check(mp_map_get(sub, "name") && mp_map_get(sub, "order"));
                        check(perms && perms->type == MSGPACK_OBJECT_ARRAY);
                        for (uint32_t k = 0; k < perms->via.array.size; k++) {
                                const msgpack_object *p = &perms->via.array.ptr[k];
                                if (!mp_str_eq(mp_map_get(p, "name"), name))
                                        continue;
                                const msgpack_object *f = mp_map_get(p, "feature");
                                check(mp_map_get(p, "order"));
                                check(f && (f->type == MSGPACK_OBJECT_NIL || f->type == MSGPACK_OBJECT_STR));
                                check(mp_map_get(p, "depends_on")->type == MSGPACK_OBJECT_ARRAY);
                                check(mp_map_get(p, "disabled_for_roles")->type == MSGPACK_OBJECT_ARRAY);
                                found = true;
                        }
                }
        }
        msgpack_unpacked_destroy(&u);
        return found;
}

static bool catalog_of_has(Store *s, uint64_t org, const char *name) {
        const void *blob;
        size_t len;
        MDB_txn *txn;
        check_eq(store_read_begin(s, &txn), 0);
        check_eq(store_catalog_get(s, txn, org, &blob, &len), 0);
        bool r = catalog_has(blob, len, name);
        store_read_end(s, txn);
        return r;
}

/* ---- tests ---- */

static void test_catalog(void) {
        size_t n_ws = 0, n_partoo = 0;

        check_eq(catalog_verify(true), 0);
        check_eq(catalog_verify(false), 0);
        check_eq(catalog_foreach_permission(true, count_cb, &n_ws), 0);
        check_eq(catalog_foreach_permission(false, count_cb, &n_partoo), 0);
        check(n_ws >= 20);
        check(n_partoo >= 23);
}

static void test_builtins(Store *s) {
        uint64_t orgs, roles;
        size_t n_ws = 0;
        MDB_txn *txn;
        StoredOrg org;

        check_eq(catalog_foreach_permission(true, count_cb, &n_ws), 0);

        for (size_t i = 0; i < ELEMENTSOF(builtins); i++) {
                const char *by[] = { "id", "api_id", "name" };
                for (size_t j = 0; j < ELEMENTSOF(by); j++) {
                        Role r = { 0 };
                        check_eq(get_role(s, 0, by[j], builtins[i], &r), 0);
                        check_streq(r.id, builtins[i]);
                        check_streq(r.api_id, builtins[i]);
                        check_streq(r.name, builtins[i]);
                        check_eq(r.org, 0);
                        check(r.is_protected);
                        check(!r.mandatory2fa);
                        check(r.description);
                        check(r.created_at > 1600000000000ull && r.created_at == r.updated_at);
                        bool room = strcmp(r.name, "moderator") == 0 || strcmp(r.name, "leader") == 0 ||
                                strcmp(r.name, "owner") == 0;
                        check_streq(r.scope, room ? "Subscriptions" : "Users");
                        if (strcmp(r.name, "admin") == 0) {
                                check(strv_contains(r.permissions, "access-permissions"));
                                check_eq(strv_length(r.permissions), n_ws);
                        } else {
                                check(!strv_contains(r.permissions, "access-permissions"));
                                for (char **p = r.permissions; p && *p; p++)
                                        check_eq(perm_exists(s, 0, *p), 1);
                        }
                        role_done(&r);
                }
        }
        check_eq(count(s, 0), ELEMENTSOF(builtins));
        stats(s, &orgs, &roles);
        check_eq(orgs, 1);
        check_eq(roles, ELEMENTSOF(builtins));

        check_eq(store_read_begin(s, &txn), 0);
        check_eq(store_org_get(s, txn, 0, &org), 0);
        check_eq(org.id, 0);
        check_streq(org.name, "Rocket.Chat workspace");
        check(!org.provider);
        stored_org_done(&org);
        check_eq(store_org_get(s, txn, 0, NULL), 0);
        check_eq(store_org_get(s, txn, 1, NULL), -ENOENT);
        store_read_end(s, txn);

        check_eq(perm_exists(s, 0, "access-permissions"), 1);
        check_eq(perm_exists(s, 0, "business_edit"), 0);
        check(catalog_of_has(s, 0, "access-permissions"));
        check(catalog_of_has(s, 0, "create-c"));
        check(!catalog_of_has(s, 0, "review_read"));
}

static void test_orgs(Store *s) {
        MDB_txn *txn;
        const void *blob;
        size_t len;
        StoredOrg org;

        check_eq(add_org(s, 42, "Acme", "partoo-test"), 0);
        check_eq(add_org(s, 42, "Again", NULL), -EEXIST);
        check_eq(add_org(s, 0, "Zero", NULL), -EINVAL);
        check_eq(add_org(s, 43, NULL, NULL), 0);
        check_eq(count(s, 42), 5);
        check_eq(count(s, 43), 5);

        check_eq(store_read_begin(s, &txn), 0);
        check_eq(store_org_get(s, txn, 42, &org), 0);
        check_eq(org.id, 42);
        check_streq(org.name, "Acme");
        check_streq(org.provider, "partoo-test");
        stored_org_done(&org);
        check_eq(store_org_get(s, txn, 43, &org), 0);
        check(!org.name && !org.provider);
        stored_org_done(&org);
        check_eq(store_org_get(s, txn, 44, &org), -ENOENT);
        check_eq(store_catalog_get(s, txn, 44, &blob, &len), -ENOENT);
        store_read_end(s, txn);

        for (size_t i = 0; i < ELEMENTSOF(partoo_builtins); i++) {
                char id[64];
                Role r = { 0 };
                snprintf(id, sizeof id, "42-%s", partoo_builtins[i]);
                check_eq(get_role(s, 42, "id", id, &r), 0);
                check_streq(r.api_id, partoo_builtins[i]);
                check_streq(r.name, partoo_builtins[i]);
                check_streq(r.scope, "Users");
                check(r.is_protected);
                check(r.description && *r.description);
                check_eq(strv_length(r.permissions), 0);
                role_done(&r);
                check_eq(get_role(s, 42, "api_id", partoo_builtins[i], &r), 0);
                check_streq(r.id, id);
                role_done(&r);
                check_eq(get_role(s, 43, "name", partoo_builtins[i], &r), 0);
                snprintf(id, sizeof id, "43-%s", partoo_builtins[i]);
                check_streq(r.id, id);
                role_done(&r);
                check_eq(get_role(s, 43, "id", id + 0, &r), 0);
                role_done(&r);
                check_eq(get_role(s, 42, "id", id, &r), -ENOENT);       /* 43's role, asked in 42 */
        }

        check_eq(perm_exists(s, 42, "business_edit"), 1);
        check_eq(perm_exists(s, 42, "business_edit_name"), 1);
        check_eq(perm_exists(s, 42, "review_read"), 1);
        check_eq(perm_exists(s, 42, "bogus"), 0);
        check_eq(perm_exists(s, 42, "access-permissions"), 0);
        check_eq(perm_exists(s, 44, "business_edit"), -ENOENT);
        check(catalog_of_has(s, 42, "business_edit"));
        check(catalog_of_has(s, 42, "business_edit_name"));
        check(catalog_of_has(s, 42, "review_read"));
        check(!catalog_of_has(s, 42, "bogus"));
}

static void test_uniqueness(Store *s) {
        const char *field;
        uint64_t roles0, roles1;
        Role r;

        stats(s, NULL, &roles0);
        r = mkrole("u-1", 42, "API1", "Name 1");
        check_eq(insert(s, &r, &field), 0);
        check(!field);

        check_refused(s, mkrole("u-2", 42, "API1", "Name 2"), -EEXIST, "api_id");
        check_refused(s, mkrole("u-2", 42, "API1", "Name 1"), -EEXIST, "api_id"); /* both: api_id first */
        check_refused(s, mkrole("u-2", 42, "API2", "Name 1"), -EEXIST, "name");
        check_refused(s, mkrole("u-1", 43, "API9", "Name 9"), -EEXIST, "id");
        /* The built-in ORG_ADMIN's api_id and name in org 42. */
        check_refused(s, mkrole("u-2", 42, "ORG_ADMIN", "Other"), -EEXIST, "api_id");
        /* The same api_id and name in another organization. */
        r = mkrole("u-2", 43, "API1", "Name 1");
        check_eq(insert(s, &r, &field), 0);
        /* The api_id of one role as the name of another is fine. */
        r = mkrole("u-3", 42, "Name 1b", "API1");
        check_eq(insert(s, &r, &field), 0);
        check_refused(s, mkrole("u-4", 99, "X", "X"), -ENOENT, "org");

        /* Org 0: a built-in's name (== its id); the store checks api_id
         * first in every org (role.c reports these as "name" in the
         * workspace, and refuses a name equal to a workspace role's _id:
         * test_workspace_rules). */
        check_refused(s, mkrole("rc-1", 0, "admin", "admin"), -EEXIST, "api_id");
        check_refused(s, mkrole("rc-1", 0, "livechat-monitor", "livechat-monitor"), -EEXIST, "api_id");
        check_refused(s, mkrole("rc-1", 0, "other", "livechat-monitor"), -EEXIST, "name");
        r = mkrole("rc-1", 0, "custom", "custom");
        check_eq(insert(s, &r, &field), 0);
        /* Equal to the id of a role of another org: fine in org 0. */
        r = mkrole("rc-3", 0, "u-1", "u-1");
        check_eq(insert(s, &r, &field), 0);
        /* and a Partoo role may be named like an org-0 id. */
        r = mkrole("u-5", 42, "rc-1", "rc-1");
        check_eq(insert(s, &r, &field), 0);
        /* Empty id. */
        check_refused(s, mkrole("", 42, "E", "E"), -EINVAL, "id");

        stats(s, NULL, &roles1);
        check_eq(roles1, roles0 + 6);
        check_eq(count(s, 42), 5 + 3);
        check_eq(count(s, 43), 5 + 1);
        check_eq(count(s, 0), ELEMENTSOF(builtins) + 2);
        check_eq(get_role(s, 42, "name", "Name 2", &r), -ENOENT);
        check_eq(get_role(s, 42, "id", "u-2", &r), -ENOENT);
        check_eq(get_role(s, 43, "id", "u-2", &r), 0);
        check_streq(r.api_id, "API1");
        role_done(&r);
        check_eq(get_role(s, 42, "bogus", "u-1", &r), -EINVAL);
}

/* The writer runs a batch in one transaction and relies on this: an
 * insert that fails its checks has written nothing (the transaction goes
 * on), and store_writes() tells the two kinds of failure apart. */
static void test_checks_before_writes(Store *s) {
        MDB_txn *txn;
        const char *field;
        uint64_t roles0, roles1, c42 = count(s, 42), w;
        Role r;

        stats(s, NULL, &roles0);
        check_eq(store_write_begin(s, &txn), 0);

        w = store_writes(s);
        r = mkrole("c-1", 42, "C1", "Child 1");
        check_eq(insert_in(s, txn, &r, &field), 0);
        check(store_writes(s) > w);

        struct { Role role; int r; const char *field; } fails[] = {
                { mkrole("c-2", 42, "C2", "Child 1"), -EEXIST, "name" },
                { mkrole("c-2", 42, "C1", "Child 2"), -EEXIST, "api_id" },
                { mkrole("c-1", 42, "C2", "Child 2"), -EEXIST, "id" },
                { mkrole("c-2", 4242, "C2", "Child 2"), -ENOENT, "org" },
        };
        for (size_t i = 0; i < ELEMENTSOF(fails); i++) {
                w = store_writes(s);
                check_eq(insert_in(s, txn, &fails[i].role, &field), fails[i].r);
                check_streq(field, fails[i].field);
                check_eq(store_writes(s), w);
        }

        r = mkrole("c-4", 42, "C4", "Child 4");
        check_eq(insert_in(s, txn, &r, &field), 0);
        check_eq(store_write_commit(s, txn), 0);

        stats(s, NULL, &roles1);
        check_eq(roles1, roles0 + 2);
        check_eq(count(s, 42), c42 + 2);
        check_eq(get_role(s, 42, "id", "c-1", &r), 0);
        role_done(&r);
        check_eq(get_role(s, 42, "id", "c-4", &r), 0);
        role_done(&r);
        check_eq(get_role(s, 42, "id", "c-2", &r), -ENOENT);

        /* Written, then the transaction aborted: nothing of it stays. */
        check_eq(store_write_begin(s, &txn), 0);
        r = mkrole("c-3", 42, "C3", "Child 3");
        check_eq(insert_in(s, txn, &r, &field), 0);
        store_write_abort(s, txn);
        check_eq(get_role(s, 42, "id", "c-3", &r), -ENOENT);
        check_eq(get_role(s, 42, "api_id", "C3", &r), -ENOENT);
        check_eq(get_role(s, 42, "name", "Child 3", &r), -ENOENT);
        stats(s, NULL, &roles1);
        check_eq(roles1, roles0 + 2);
        /* c-3's names are free again. */
        r = mkrole("c-3", 42, "C3", "Child 3");
        check_eq(insert(s, &r, &field), 0);
}

static void test_long_names(Store *s) {
        size_t sizes[] = { 10240, 503, 504, 505, 64 * 1024 };
        const char *field;
        Role r, got;

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ char *a = malloc(sizes[i] + 1), *b = NULL;
                char ida[32], idb[32];
                check(a);
                memset(a, 'x', sizes[i]);
                a[sizes[i]] = 0;
                b = strdup(a);
                check(b);
                b[sizes[i] - 1] = 'y';          /* differs in the last byte only */
                snprintf(ida, sizeof ida, "long-a-%zu", sizes[i]);
                snprintf(idb, sizeof idb, "long-b-%zu", sizes[i]);

                r = mkrole(ida, 0, a, a);
                check_eq(insert(s, &r, &field), 0);
                r = mkrole(idb, 0, b, b);
                check_eq(insert(s, &r, &field), 0);
                r = mkrole("long-c", 0, a, a);
                check_eq(insert(s, &r, &field), -EEXIST);
                check_streq(field, "api_id");     /* the store's order; role.c's workspace says "name" */
                r = mkrole("long-c", 0, a, "long-c name");
                check_eq(insert(s, &r, &field), -EEXIST);
                check_streq(field, "api_id");
                r = mkrole("long-c", 0, "long-c", a);
                check_eq(insert(s, &r, &field), -EEXIST);
                check_streq(field, "name");

                check_eq(get_role(s, 0, "name", a, &got), 0);
                check_streq(got.id, ida);
                check_streq(got.name, a);
                role_done(&got);
                check_eq(get_role(s, 0, "api_id", b, &got), 0);
                check_streq(got.id, idb);
                check_streq(got.name, b);
                role_done(&got);
                check_eq(get_role(s, 42, "name", a, &got), -ENOENT);
                /* As an id: too long to be one, so simply not found. */
                check_eq(get_role(s, 0, "id", a, &got), -ENOENT);
        }
}

typedef struct Collect {
        char *ids[256];
        size_t n;
        int stop_after;         /* > 0: return -ECANCELED at that visit */
} Collect;

static int collect(const void *blob, size_t len, void *userdata) {
        Collect *c = userdata;
        Role r = { 0 };
        check_eq(role_decode(blob, len, &r), 0);
        if (c->stop_after > 0 && (int) c->n + 1 == c->stop_after) {
                role_done(&r);
                return -ECANCELED;
        }
        check(c->n < ELEMENTSOF(c->ids));
        c->ids[c->n++] = TAKE_PTR(r.id);
        role_done(&r);
        return 0;
}

static void collect_done(Collect *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->ids[i]);
        c->n = 0;
}

static int list(Store *s, uint64_t org, uint64_t offset, uint64_t after, size_t limit, Collect *c,
                uint64_t *last, bool *more) {
        MDB_txn *txn;
        check_eq(store_read_begin(s, &txn), 0);
        int k = store_role_list(s, txn, org, offset, after, limit, collect, c, last, more);
        store_read_end(s, txn);
        return k;
}

static void test_list(Store *s) {
        Collect all = { .n = 0 }, byoff = { .n = 0 }, bycur = { .n = 0 }, c = { .n = 0 };
        const char *field;
        uint64_t total, last, after;
        bool more;
        Role r;

        check_eq(add_org(s, 41, "Before", NULL), 0);     /* keys sort before 42's */
        check_eq(add_org(s, 50, "After", NULL), 0);
        for (int i = 0; i < 40; i++) {
                char id[32], name[32];
                snprintf(id, sizeof id, "l-%d", i);
                snprintf(name, sizeof name, "List %d", i);
                r = mkrole(id, 50, name, name);
                check_eq(insert(s, &r, &field), 0);
        }
        total = count(s, 50);
        check_eq(total, 45);

        /* Everything in one go: built-ins first, then creation order. */
        check_eq(list(s, 50, 0, 0, 1000, &all, &last, &more), 0);
        check_eq(all.n, total);
        check(!more);
        check_eq(last, total);
        for (size_t i = 0; i < ELEMENTSOF(partoo_builtins); i++) {
                char id[64];
                snprintf(id, sizeof id, "50-%s", partoo_builtins[i]);
                check_streq(all.ids[i], id);
        }
        for (int i = 0; i < 40; i++) {
                char id[32];
                snprintf(id, sizeof id, "l-%d", i);
                check_streq(all.ids[5 + i], id);
        }

        /* Numbered pages of 7. */
        for (uint64_t page = 0;; page++) {
                size_t before = byoff.n;
                check_eq(list(s, 50, page * 7, 0, 7, &byoff, &last, &more), 0);
                check_eq(byoff.n - before, page * 7 + 7 <= total ? 7 : total - page * 7);
                check_eq(more, (page + 1) * 7 < total);
                if (!more)
                        break;
        }
        /* Cursor pages of 7. */
        after = 0;
        for (;;) {
                check_eq(list(s, 50, 0, after, 7, &bycur, &last, &more), 0);
                check(last > after);
                after = last;
                if (!more)
                        break;
        }
        check_eq(byoff.n, total);
        check_eq(bycur.n, total);
        for (size_t i = 0; i < total; i++) {
                check_streq(byoff.ids[i], all.ids[i]);
                check_streq(bycur.ids[i], all.ids[i]);
                for (size_t j = 0; j < i; j++)
                        check(strcmp(all.ids[i], all.ids[j]) != 0);
        }

        /* Exactly at the end: a full last page says no more. */
        check_eq(list(s, 50, total - 5, 0, 5, &c, &last, &more), 0);
        check_eq(c.n, 5);
        check(!more);
        check_eq(last, total);
        collect_done(&c);
        check_eq(list(s, 50, total - 5, 0, 4, &c, &last, &more), 0);
        check(more);
        collect_done(&c);
        /* Past the end, and an unknown org: nothing. */
        check_eq(list(s, 50, total, 0, 5, &c, &last, &more), 0);
        check_eq(c.n, 0);
        check_eq(last, 0);
        check(!more);
        check_eq(list(s, 50, 0, total, 5, &c, &last, &more), 0);
        check_eq(c.n, 0);
        check(!more);
        check_eq(list(s, 50, 0, UINT64_MAX, 5, &c, &last, &more), 0);
        check_eq(c.n, 0);
        check_eq(list(s, 77, 0, 0, 5, &c, &last, &more), 0);
        check_eq(c.n, 0);
        check(!more);
        /* Org 41 (just before 42) lists only its own 5 built-ins. */
        check_eq(list(s, 41, 0, 0, 100, &c, &last, &more), 0);
        check_eq(c.n, 5);
        check(!more);
        check_streq(c.ids[0], "41-ORG_ADMIN");
        collect_done(&c);
        /* The visitor stops the walk. */
        c.stop_after = 3;
        check_eq(list(s, 50, 0, 0, 10, &c, &last, &more), -ECANCELED);
        check_eq(c.n, 2);
        collect_done(&c);

        collect_done(&all);
        collect_done(&byoff);
        collect_done(&bycur);
}

static void test_credentials(Store *s) {
        StoredKey k = { .user_role = (char *) "ORG_ADMIN", .has_org = true, .org = 42,
                        .provider = (char *) "prov" }, got = { 0 };
        StoredKey k2 = { .user_role = (char *) "PROVIDER" };
        StoredUser u = { .org = 0, .username = (char *) "alice", .name = (char *) "Alice", .created_at = 7 }, ugot = { 0 };
        char id[STORE_USER_ID_MAX + 1];
        const char *field;
        MDB_txn *txn;

        memset(k.hash, 0xab, sizeof k.hash);
        memset(k2.hash, 0x01, sizeof k2.hash);
        memset(u.hash, 0x5a, sizeof u.hash);

        check_eq(store_write_begin(s, &txn), 0);
        check_eq(store_key_put(s, txn, "key1", &k), 0);
        check_eq(store_key_put(s, txn, "key2", &k2), 0);
        check_eq(store_key_put(s, txn, "key1", &k2), -EEXIST);
        check_eq(store_key_put(s, txn, "", &k2), -EINVAL);
        check_eq(store_user_put(s, txn, "uid1", &u, &field), 0);
        check_eq(store_user_put(s, txn, "uid2", &u, &field), -EEXIST);
        check_streq(field, "username");
        u.username = (char *) "bob";
        check_eq(store_user_put(s, txn, "uid1", &u, &field), -EEXIST);
        check_streq(field, "user_id");
        u.name = NULL;
        check_eq(store_user_put(s, txn, "uid2", &u, &field), 0);
        u.org = 4242;           /* no such organization */
        check_eq(store_user_put(s, txn, "uid3", &u, &field), -ENOENT);
        check_streq(field, "org");
        u.org = 42;             /* the same username in another organization */
        u.username = (char *) "alice";
        check_eq(store_user_put(s, txn, "uid4", &u, &field), 0);
        check_eq(store_write_commit(s, txn), 0);

        check_eq(store_read_begin(s, &txn), 0);
        check_eq(store_key_get(s, txn, "key1", &got), 0);
        check_streq(got.user_role, "ORG_ADMIN");
        check(got.has_org && got.org == 42);
        check_streq(got.provider, "prov");
        check(memcmp(got.hash, k.hash, 32) == 0);
        stored_key_done(&got);
        check(!got.user_role && !got.provider);
        check_eq(store_key_get(s, txn, "key2", &got), 0);
        check_streq(got.user_role, "PROVIDER");
        check(!got.has_org && !got.provider);
        check(memcmp(got.hash, k2.hash, 32) == 0);
        stored_key_done(&got);
        check_eq(store_key_get(s, txn, "key3", &got), -ENOENT);

        check_eq(store_user_get(s, txn, "uid1", &ugot), 0);
        check_streq(ugot.username, "alice");
        check_streq(ugot.name, "Alice");
        check_eq(ugot.org, 0);
        check_eq(ugot.created_at, 7);
        check(memcmp(ugot.hash, u.hash, 32) == 0);
        stored_user_done(&ugot);
        check_eq(store_user_get(s, txn, "uid2", &ugot), 0);
        check_streq(ugot.username, "bob");
        check(!ugot.name);
        stored_user_done(&ugot);
        check_eq(store_user_get(s, txn, "uid3", &ugot), -ENOENT);
        check_eq(store_user_find(s, txn, 0, "alice", id), 0);
        check_streq(id, "uid1");
        check_eq(store_user_find(s, txn, 42, "alice", id), 0);
        check_streq(id, "uid4");
        check_eq(store_user_find(s, txn, 42, "bob", id), -ENOENT);
        store_read_end(s, txn);
        stored_key_done(NULL);
        stored_user_done(NULL);
}

/* Close and reopen: nothing lost, nothing reseeded. */
static Store *test_restart(Store *s, const char *dir) {
        uint64_t orgs0, roles0, orgs1, roles1, c0 = count(s, 0), c42 = count(s, 42);
        Role before, after;

        stats(s, &orgs0, &roles0);
        check_eq(get_role(s, 0, "id", "admin", &before), 0);
        check(!store_close(s));
        check(!store_close(NULL));
        usleep(5000);   /* a reseed would show in created_at */

        s = open_store(dir, 0, false);
        stats(s, &orgs1, &roles1);
        check_eq(orgs1, orgs0);
        check_eq(roles1, roles0);
        check_eq(count(s, 0), c0);
        check_eq(count(s, 42), c42);
        check_eq(get_role(s, 0, "id", "admin", &after), 0);
        check_eq(after.created_at, before.created_at);
        role_done(&before);
        role_done(&after);
        check_eq(get_role(s, 42, "api_id", "API1", &after), 0);
        check_streq(after.id, "u-1");
        role_done(&after);
        check_eq(perm_exists(s, 42, "business_edit"), 1);
        check_eq(store_mapsize(s), STORE_MAPSIZE_DEFAULT);
        return s;
}

/* A committed write survives kill -9 of the writer; an uncommitted one does not. */
static void test_durability(void) {
        _cleanup_free_ char *dir = subdir("durable");
        Role r;
        int status;
        pid_t pid;

        pid = fork();
        check(pid >= 0);
        if (pid == 0) {
                StoreOptions o = { .nosync = false, .seed = seed_workspace };
                Store *s = NULL;
                MDB_txn *txn;
                Role d = mkrole("d-1", 0, "durable", "durable");
                if (store_open(dir, &o, &s) < 0 || insert(s, &d, NULL) < 0)
                        _exit(1);
                d = mkrole("d-2", 0, "pending", "pending");
                if (store_write_begin(s, &txn) < 0 || insert_in(s, txn, &d, NULL) < 0)
                        _exit(1);
                raise(SIGKILL);
                _exit(2);
        }
        check_eq(waitpid(pid, &status, 0), pid);
        check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        Store *s = open_store(dir, 0, false);
        check_eq(get_role(s, 0, "name", "durable", &r), 0);
        check_streq(r.id, "d-1");
        role_done(&r);
        check_eq(get_role(s, 0, "name", "pending", &r), -ENOENT);
        check_eq(count(s, 0), ELEMENTSOF(builtins) + 1);
        store_close(s);
}

typedef struct Reader {
        Store *s;
        MDB_txn *txn;           /* begun by the main thread, ended by the reader */
        atomic_bool ended;
} Reader;

static void *reader_thread(void *p) {
        Reader *rd = p;
        usleep(100 * 1000);
        atomic_store(&rd->ended, true);
        store_read_end(rd->s, rd->txn);
        return NULL;
}

static void test_growth(void) {
        _cleanup_free_ char *dir = subdir("growth");
        const size_t initial = 256 * 1024;
        Store *s = open_store(dir, initial, true);
        size_t size0 = store_mapsize(s), grown = 0;
        unsigned grows = 0, commit_enospc = 0, op_enospc = 0;
        const char *field;
        char desc[201];
        int next = 0;

        check(size0 >= initial);
        memset(desc, 'd', sizeof desc - 1);
        desc[sizeof desc - 1] = 0;
        check_eq(add_org(s, 7, "Big", NULL), 0);

        /* Batches of 100 in one transaction each; on -ENOSPC, grow and redo the batch. */
        while (next < 5100) {
                MDB_txn *txn;
                int r = 0, i;

                check_eq(store_write_begin(s, &txn), 0);
                for (i = next; i < next + 100; i++) {
                        char id[32], name[32];
                        snprintf(id, sizeof id, "g-%d", i);
                        snprintf(name, sizeof name, "Grow %d", i);
                        Role role = mkrole(id, 7, name, name);
                        role.description = desc;
                        r = insert_in(s, txn, &role, &field);
                        if (r < 0)
                                break;
                }
                if (r >= 0) {
                        r = store_write_commit(s, txn);
                        if (r == -ENOSPC)
                                commit_enospc++;
                } else {
                        check_eq(r, -ENOSPC);
                        op_enospc++;
                        store_write_abort(s, txn);
                }
                if (r == -ENOSPC) {
                        size_t before = store_mapsize(s);
                        /* A read transaction begun here and ended on another
                         * thread: the grow waits for it. */
                        Reader rd = { .s = s };
                        pthread_t t;
                        check_eq(store_read_begin(s, &rd.txn), 0);
                        check_eq(pthread_create(&t, NULL, reader_thread, &rd), 0);
                        check_eq(store_grow(s), 0);
                        check(atomic_load(&rd.ended));
                        check_eq(pthread_join(t, NULL), 0);
                        check_eq(store_mapsize(s), 2 * before);
                        grows++;
                        continue;
                }
                check_eq(r, 0);
                next += 100;
        }
        check(grows >= 3);
        check(op_enospc + commit_enospc == grows);
        grown = store_mapsize(s);
        check(grown > size0);
        check_eq(count(s, 7), 5100 + 5);

        for (int i = 0; i < 5100; i++) {
                char id[32], name[32];
                Role r;
                snprintf(id, sizeof id, "g-%d", i);
                snprintf(name, sizeof name, "Grow %d", i);
                check_eq(get_role(s, 7, "api_id", name, &r), 0);
                check_streq(r.id, id);
                role_done(&r);
        }

        /* Reopen with the small initial size: the map keeps its grown size. */
        store_close(s);
        s = open_store(dir, initial, true);
        check(store_mapsize(s) >= grown);
        check_eq(count(s, 7), 5100 + 5);
        {
                Role r = mkrole("g-last", 7, "Grow last", "Grow last");
                check_eq(insert(s, &r, &field), 0);
                check_eq(get_role(s, 7, "id", "g-4321", &r), 0);
                check_streq(r.name, "Grow 4321");
                role_done(&r);
        }
        fprintf(stderr, "growth: %u grows (%u at commit), map %zu -> %zu\n",
                grows, commit_enospc, size0, grown);
        store_close(s);
}

/* ---- role.create's own rules (role.c), on a real store ---- */

/* Runs role.create {org, name} through its parse and apply, as the writer
 * would, in a transaction of its own, committed when it succeeded. The
 * result (the reply's bytes) is left in *result. */
static int create(Store *s, uint64_t org, const char *name, Buf *result, RpcErr *err) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_unpacked u;
        size_t off = 0;
        void *args = NULL;
        MDB_txn *txn;
        int k;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 2);
        mp_pack_kv_u64(&pk, "org", org);
        mp_pack_kv_str(&pk, "name", name);
        msgpack_unpacked_init(&u);
        check(msgpack_unpack_next(&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);

        *err = (RpcErr) { .field = NULL };
        buf_clear(result);
        check_eq(args_parse(&role_create_args, &u.data, &args, err), 0);
        check_eq(store_write_begin(s, &txn), 0);
        k = role_create_apply(s, txn, args, &(StorePeer) { .uid = 0 }, result, err);
        if (k < 0)
                store_write_abort(s, txn);
        else
                check_eq(store_write_commit(s, txn), 0);
        args_free(&role_create_args, args);
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&sb);
        return k;
}

/* The id of the role a create returned. */
static char *created_id(const Buf *result) {
        Role r = { 0 };
        char *id;

        check_eq(role_decode(buf_head(result), buf_pending(result), &r), 0);
        id = TAKE_PTR(r.id);
        role_done(&r);
        return id;
}

static void test_workspace_rules(void) {
        _cleanup_free_ char *dir = subdir("rules"), *custom_id = NULL, *partoo_id = NULL, *a = NULL;
        Store *s = open_store(dir, 0, true);
        const void *blob;
        Buf result = { 0 };
        MDB_txn *txn;
        RpcErr err;
        size_t len;
        Role r;

        check_eq(add_org(s, 42, "Acme", NULL), 0);

        /* The reply is the stored record, byte for byte. */
        check_eq(create(s, 0, "custom", &result, &err), 0);
        custom_id = created_id(&result);
        check_eq(strlen(custom_id), 24);
        check_eq(store_read_begin(s, &txn), 0);
        check_eq(store_role_get(s, txn, 0, "id", custom_id, &blob, &len), 0);
        check_eq(len, buf_pending(&result));
        check(memcmp(blob, buf_head(&result), len) == 0);
        store_read_end(s, txn);

        /* Taken names report "name" in the workspace (api_id == name there). */
        const char *taken[] = { "admin", "livechat-monitor", "custom" };
        for (size_t i = 0; i < ELEMENTSOF(taken); i++) {
                check_eq(create(s, 0, taken[i], &result, &err), -EEXIST);
                check_streq(err.field, "name");
                check(strstr(rpc_err_text(&err), taken[i]));   /* the message names it */
        }
        /* A name equal to a workspace role's _id (not its name). */
        check_eq(create(s, 0, custom_id, &result, &err), -EEXIST);
        check_streq(err.field, "name");
        /* Equal to the id of another org's role: fine in the workspace, and
         * a Partoo role may be named like a workspace role's id. */
        check_eq(create(s, 42, "Partoo one", &result, &err), 0);
        partoo_id = created_id(&result);
        check_eq(create(s, 0, partoo_id, &result, &err), 0);
        check_eq(create(s, 42, custom_id, &result, &err), 0);
        /* In Partoo orgs a taken name is reported as the api_id it defaults to. */
        check_eq(create(s, 42, "Partoo one", &result, &err), -EEXIST);
        check_streq(err.field, "api_id");

        /* Names longer than a key (stored as hashes): taken is "name" too. */
        a = malloc(64 * 1024 + 1);
        check(a);
        memset(a, 'x', 64 * 1024);
        a[64 * 1024] = 0;
        check_eq(create(s, 0, a, &result, &err), 0);
        check_eq(create(s, 0, a, &result, &err), -EEXIST);
        check_streq(err.field, "name");
        a[64 * 1024 - 1] = 'y';
        check_eq(create(s, 0, a, &result, &err), 0);

        check_eq(count(s, 0), ELEMENTSOF(builtins) + 4);
        check_eq(count(s, 42), 5 + 2);
        check_eq(get_role(s, 0, "name", partoo_id, &r), 0);
        role_done(&r);
        buf_done(&result);
        store_close(s);
}

static void test_open_errors(void) {
        StoreOptions o = { .nosync = true };
        Store *s = (Store *) 0x1;
        _cleanup_free_ char *file = subdir("afile"), *through = NULL;
        FILE *f = fopen(file, "w");
        check(f);
        fclose(f);
        check(store_open(file, &o, &s) < 0);
        check(asprintf(&through, "%s/sub/db", file) > 0);
        check_eq(store_open(through, &o, &s), -ENOTDIR);
}

/* --db a/b/c: the missing parents are made (0755), the last one 0700. */
static void test_open_parents(void) {
        _cleanup_free_ char *top = subdir("parents"), *dir = NULL, *mid = NULL;
        struct stat st;
        mode_t mask = umask(0);
        Store *s;

        umask(mask);
        check(asprintf(&mid, "%s/a/b", top) > 0);
        check(asprintf(&dir, "%s/c/", mid) > 0);      /* a trailing slash too */
        s = open_store(dir, 0, true);
        check_eq(stat(dir, &st), 0);
        check(S_ISDIR(st.st_mode));
        check_eq(st.st_mode & 07777, 0700 & ~mask);
        check_eq(stat(mid, &st), 0);
        check_eq(st.st_mode & 07777, 0755 & ~mask);
        check_eq(count(s, 0), ELEMENTSOF(builtins));
        store_close(s);
}

/* One process at a time: a second open of the same environment is
 * refused while the first holds it, and names the holder. */
static void test_open_lock(void) {
        _cleanup_free_ char *dir = subdir("locked");
        Store *a = open_store(dir, 0, true), *b = NULL;
        pid_t owner = 0;
        int status;
        pid_t pid;

        check_eq(store_lock_owner(dir, &owner), 0);
        check_eq(owner, getpid());
        /* flock locks open files: another process is refused... */
        pid = fork();
        check(pid >= 0);
        if (pid == 0) {
                StoreOptions o = { .nosync = true };
                Store *c = NULL;
                _exit(store_open(dir, &o, &c) == -EBUSY ? 0 : 1);
        }
        check_eq(waitpid(pid, &status, 0), pid);
        check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* ... and so is a second open in this one. */
        check_eq(store_open(dir, &(StoreOptions) { .nosync = true }, &b), -EBUSY);
        store_close(a);
        b = open_store(dir, 0, true);
        store_close(b);
}

/* ---- the writer: one op failing after it wrote, inside a batch ---- */

static sem_t writer_blocked, writer_release;

static int apply_block(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        static bool blocked;

        if (!blocked) {                 /* the first time only: the batch runs again */
                blocked = true;
                sem_post(&writer_blocked);
                sem_wait(&writer_release);      /* the ops queued meanwhile join this batch */
        }
        return 0;
}

static int apply_insert(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        Role *r = args;
        return insert_in(s, txn, r, NULL);
}

/* Writes its role, then fails: what out of memory or a corrupt record
 * halfway through an operation looks like. */
static int apply_insert_then_fail(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        int r = apply_insert(s, txn, args, peer, result, err);
        return r < 0 ? r : -EIO;
}

typedef struct Completions {
        sd_event *e;
        unsigned n;
        int r[4];
        unsigned delivered;     /* the ops the delivery hook was told of */
        unsigned want;          /* 0: ELEMENTSOF(r) */
        uint64_t revision;      /* the last delivery's */
        WriteOp *order[4];      /* the ops, in the order they completed */
} Completions;

/* Each op's own completion: it owns the op (the roles are the test's). */
static void on_complete(WriteOp *op, void *userdata) {
        Completions *c = userdata;

        c->order[c->n] = op;
        c->r[c->n++] = op->r;
        buf_done(&op->result);
        free(op);
}

static void on_delivered(unsigned n, uint64_t revision, void *userdata) {
        Completions *c = userdata;

        c->delivered += n;
        c->revision = revision;
        check_eq(c->delivered, c->n);   /* after the completions of the delivery */
        if (c->n == (c->want ? c->want : ELEMENTSOF(c->r)))
                (void) sd_event_exit(c->e, 0);
}

/* ---- aside ops, upkeep ops, the delivered revision ---- */

static sem_t aside_running, aside_release;

/* Runs outside any transaction, until released: the writer goes on. */
static int apply_aside(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        check(txn == NULL);
        sem_post(&aside_running);
        sem_wait(&aside_release);
        return 7;
}

/* A write recording a change: the revision moves. */
static int apply_change(Store *s, MDB_txn *txn, void *args, const StorePeer *p, Buf *result, RpcErr *err) {
        StorePrincipal who = { .kind = STORE_PRINCIPAL_PEER, .peer = *p };
        uint64_t rev;
        int r = store_revision_next(s, txn, &rev);

        if (r < 0)
                return r;
        return store_change(s, txn, &(StoreChange) { .revision = rev, .time_ms = 1, .op = STORE_OP_CREATE,
                                                    .kind = STORE_KIND_ORG, .org = 77, .id = "77",
                                                    .after = "\x80", .after_len = 1, .principal = &who });
}

static int apply_upkeep(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result, RpcErr *err) {
        return 0;
}

static WriteOp *new_op(WriteApplyFn apply, Completions *done) {
        WriteOp *op = calloc(1, sizeof *op);
        check(op);
        *op = (WriteOp) { .apply = apply, .done = on_complete, .userdata = done };
        return op;
}

static void test_writer_aside(void) {
        _cleanup_free_ char *dir = subdir("aside");
        Completions done = { .want = 99 };     /* the test runs the loop itself */
        uint64_t batches, ops, commit_usec;
        WriteOp *aside, *change, *upkeep;
        Writer *w = NULL;
        Store *s;

        check_eq(mkdir(dir, 0700), 0);
        s = open_store(dir, 0, true);
        check_eq(sd_event_new(&done.e), 0);
        check_eq(sem_init(&aside_running, 0, 0), 0);
        check_eq(sem_init(&aside_release, 0, 0), 0);
        check_eq(writer_new(s, done.e, on_delivered, &done, &w), 0);

        aside = new_op(apply_aside, &done);
        writer_submit_aside(w, aside);
        sem_wait(&aside_running);
        /* While the aside op runs, a write commits and is delivered. */
        change = new_op(apply_change, &done);
        writer_submit(w, change);
        upkeep = new_op(apply_upkeep, &done);
        upkeep->upkeep = true;
        writer_submit(w, upkeep);
        check_eq(writer_pending(w), 3);
        while (done.n < 2)
                check(sd_event_run(done.e, UINT64_MAX) >= 0);
        check_eq(done.n, 2);
        check(done.order[0] == change && done.order[1] == upkeep);
        check_eq(done.revision, 1);             /* the change's, committed */
        check_eq(store_committed_revision(s), 1);
        writer_stats(w, &batches, &ops, &commit_usec);
        check_eq(ops, 1);                       /* the upkeep op is not a write of a client's */

        /* Released, the aside op completes through the loop like the others. */
        sem_post(&aside_release);
        while (done.n < 3)
                check(sd_event_run(done.e, UINT64_MAX) >= 0);
        check(done.order[2] == aside);
        check_eq(done.r[2], 7);
        check_eq(done.revision, 1);
        check_eq(writer_pending(w), 0);

        writer_free(w);
        sd_event_unref(done.e);
        sem_destroy(&aside_running);
        sem_destroy(&aside_release);
        store_close(s);
}

static void test_writer_partial_failure(void) {
        _cleanup_free_ char *dir = subdir("writer");
        Role roles[3] = { mkrole("w-a", 0, "WA", "Writer A"), mkrole("w-b", 0, "WB", "Writer B"),
                          mkrole("w-c", 0, "WC", "Writer C") };
        const WriteApplyFn applies[4] = { apply_block, apply_insert, apply_insert_then_fail, apply_insert };
        Completions done = {0};
        uint64_t batches, ops, commit_usec;
        Writer *w = NULL;
        Store *s;
        Role got;

        check_eq(mkdir(dir, 0700), 0);
        s = open_store(dir, 0, true);
        check_eq(sd_event_new(&done.e), 0);
        check_eq(sem_init(&writer_blocked, 0, 0), 0);
        check_eq(sem_init(&writer_release, 0, 0), 0);
        check_eq(writer_new(s, done.e, on_delivered, &done, &w), 0);

        for (size_t i = 0; i < ELEMENTSOF(applies); i++) {
                WriteOp *op = calloc(1, sizeof *op);
                check(op);
                op->apply = applies[i];
                op->args = i > 0 ? &roles[i - 1] : NULL;
                op->done = on_complete;
                op->userdata = &done;
                writer_submit(w, op);
                if (i == 0)
                        sem_wait(&writer_blocked);      /* the writer is inside the first batch */
        }
        sem_post(&writer_release);
        check_eq(sd_event_loop(done.e), 0);

        check_eq(done.n, 4);
        check_eq(done.delivered, 4);
        check_eq(done.r[0], 0);
        check_eq(done.r[1], 0);
        check_eq(done.r[2], -EIO);
        check_eq(done.r[3], 0);
        writer_stats(w, &batches, &ops, &commit_usec);
        check_eq(batches, 1);           /* A, B, C joined the blocker's open batch */
        check_eq(ops, 3);               /* committed: the blocker, A and C; B failed */
        check_eq(get_role(s, 0, "id", "w-a", &got), 0);
        role_done(&got);
        check_eq(get_role(s, 0, "id", "w-c", &got), 0);
        role_done(&got);
        /* B wrote before it failed: undone, A and C kept. */
        check_eq(get_role(s, 0, "id", "w-b", &got), -ENOENT);
        check_eq(get_role(s, 0, "name", "Writer B", &got), -ENOENT);

        writer_free(w);
        sd_event_unref(done.e);
        sem_destroy(&writer_blocked);
        sem_destroy(&writer_release);
        store_close(s);
}

int main(void) {
        _cleanup_free_ char *main_dir = NULL;
        Store *s;

        check(mkdtemp(root));
        atexit(cleanup_root);
        main_dir = subdir("main");

        test_catalog();
        s = open_store(main_dir, 0, true);
        check_eq(store_mapsize(s), STORE_MAPSIZE_DEFAULT);
        test_builtins(s);
        test_orgs(s);
        test_uniqueness(s);
        test_checks_before_writes(s);
        test_long_names(s);
        test_list(s);
        test_credentials(s);
        s = test_restart(s, main_dir);
        store_close(s);

        test_writer_partial_failure();
        test_writer_aside();
        test_workspace_rules();
        test_durability();
        test_growth();
        test_open_errors();
        test_open_parents();
        test_open_lock();

        printf("test-store: %u checks passed\n", checks);
        return EXIT_SUCCESS;
}
