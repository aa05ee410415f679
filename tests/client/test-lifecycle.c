/* test-lifecycle.c: librolesd 1.1's typed calls of the role lifecycle,
 * against the real daemon, through the public header only. Run by
 * test_lifecycle_calls.py:
 *
 *   test-lifecycle SOCKET ORG    ORG: a fresh Partoo organization; the
 *                                daemon's workspace has no admin yet
 *
 * Every call synchronously, with its results and its distinct errnos
 * (err->code and err->field too); then the same calls asynchronously, all
 * in flight at once, each reply taken apart by its extractor; then the
 * arguments refused before anything is sent. Prints one line; exits 0,
 * or 1 with the failed check. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rolesd/client.h>

#include "expect.h"

static uint64_t org;

static size_t strv_len(char **l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

static bool strv_has(char **l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (strcmp(l[i], s) == 0)
                        return true;
        return false;
}

static rolesd_role *create(rolesd *c, uint64_t in_org, const char *name, const char *const *perms) {
        rolesd_role_spec spec = { sizeof spec, in_org, name, NULL, "first", NULL, perms, false };
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_role *r = NULL;

        check_eq(rolesd_role_create(c, NULL, &spec, &r, &err), 0);
        check(r->revision > 0);
        return r;
}

static void add_user(rolesd *c, uint64_t in_org, const char *username, const char *name, const char *const *roles) {
        rolesd_user_spec spec = ROLESD_USER_SPEC_INIT;
        rolesd_error err = ROLESD_ERROR_INIT;
        char *id = NULL, *token = NULL;

        spec.org = in_org;
        spec.username = username;
        spec.name = name;
        spec.roles = roles;
        check_eq(rolesd_user_create(c, &spec, &id, &token, &err), 0);
        check(strlen(id) == 17 && strlen(token) == 43);
        free(id);
        free(token);
}

static void roles(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_role *alpha, *r = NULL, *copy = NULL;
        rolesd_role_changes set = ROLESD_ROLE_CHANGES_INIT;
        rolesd_role_deleted *gone = NULL;
        const char *const perms[] = { "business_edit", NULL };
        const char *const none[] = { NULL };
        uint64_t rev;

        check(strcmp(rolesd_version(), "1.2.0") == 0);
        alpha = create(c, org, "Alpha", perms);
        rolesd_role_free(create(c, org, "Beta", NULL));

        /* update: new revision and updated_at, same id */
        set.description = "second";
        set.set_mandatory2fa = true;
        set.mandatory2fa = true;
        check_eq(rolesd_role_update(c, NULL, org, "api_id", "Alpha", &set, alpha->revision, &r, &err), 0);
        check(strcmp(r->id, alpha->id) == 0);
        check(strcmp(r->description, "second") == 0);
        check(r->mandatory2fa);
        check(r->revision > alpha->revision);
        check(r->updated_at >= alpha->updated_at);
        check_eq(r->created_at, alpha->created_at);
        check(strv_has(r->permissions, "business_edit"));
        rev = r->revision;
        r = rolesd_role_free(r);
        /* the revision read before is stale now */
        expect(rolesd_role_update(c, NULL, org, "id", alpha->id, &set, alpha->revision, &r, &err), &err, -ESTALE,
               ROLESD_CONFLICT, "if_revision");
        check(!r);
        /* permissions to none, by name, any revision */
        set = (rolesd_role_changes) ROLESD_ROLE_CHANGES_INIT;
        set.permissions = none;
        check_eq(rolesd_role_update(c, NULL, org, "name", "Alpha", &set, ROLESD_ANY_REVISION, &r, &err), 0);
        check_eq(strv_len(r->permissions), 0);
        check(r->mandatory2fa);         /* kept */
        rev = r->revision;
        r = rolesd_role_free(r);
        set = (rolesd_role_changes) ROLESD_ROLE_CHANGES_INIT;
        expect(rolesd_role_update(c, NULL, org, "name", "Alpha", &set, ROLESD_ANY_REVISION, &r, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, "set");
        set.name = "Beta";
        expect(rolesd_role_update(c, NULL, org, "name", "Alpha", &set, ROLESD_ANY_REVISION, &r, &err), &err, -EEXIST,
               ROLESD_DUPLICATE, "name");
        set.name = "a,b";
        expect(rolesd_role_update(c, NULL, org, "name", "Alpha", &set, ROLESD_ANY_REVISION, &r, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, "name");
        set.name = "Admins";
        expect(rolesd_role_update(c, NULL, org, "api_id", "ORG_ADMIN", &set, ROLESD_ANY_REVISION, &r, &err), &err,
               -EROFS, ROLESD_PROTECTED, NULL);
        expect(rolesd_role_update(c, NULL, org, "api_id", "nope", &set, ROLESD_ANY_REVISION, &r, &err), &err,
               -ENOENT, ROLESD_NOT_FOUND, "api_id");
        expect(rolesd_role_update(c, NULL, 999999, "api_id", "Alpha", &set, ROLESD_ANY_REVISION, &r, &err), &err,
               -ENXIO, ROLESD_NOT_FOUND, "org");

        /* duplicate */
        check_eq(rolesd_role_duplicate(c, NULL, org, "name", "Alpha", &copy, &err), 0);
        check(strcmp(copy->name, "Alpha - 2") == 0);
        check(strcmp(copy->api_id, "Alpha_2") == 0);
        check(strcmp(copy->description, "second") == 0);
        check(copy->mandatory2fa && !copy->is_protected);
        check(strcmp(copy->id, alpha->id) != 0);
        copy = rolesd_role_free(copy);
        check_eq(rolesd_role_duplicate(c, NULL, org, "name", "Alpha", &copy, &err), 0);
        check(strcmp(copy->name, "Alpha - 3") == 0);
        copy = rolesd_role_free(copy);
        expect(rolesd_role_duplicate(c, NULL, org, "api_id", "ORG_ADMIN", &copy, &err), &err, -EROFS,
               ROLESD_PROTECTED, NULL);

        /* delete: stale revision, built-in, then a clean one */
        expect(rolesd_role_delete(c, NULL, org, "name", "Alpha - 3", alpha->revision, false, &gone, &err), &err,
               -ESTALE, ROLESD_CONFLICT, "if_revision");
        expect(rolesd_role_delete(c, NULL, org, "api_id", "PUBLISHER", ROLESD_ANY_REVISION, false, &gone, &err),
               &err, -EROFS, ROLESD_PROTECTED, NULL);
        check_eq(rolesd_role_delete(c, NULL, org, "name", "Alpha - 3", ROLESD_ANY_REVISION, false, &gone, &err), 0);
        check(strcmp(gone->name, "Alpha - 3") == 0 && strcmp(gone->api_id, "Alpha_3") == 0);
        check(gone->revision > rev);
        gone = rolesd_role_deleted_free(gone);
        expect(rolesd_role_get(c, NULL, org, "name", "Alpha - 3", &r, &err), &err, -ENOENT, ROLESD_NOT_FOUND, "name");
        rolesd_role_free(alpha);
}

static void members(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_memberships *m = NULL;
        rolesd_user_page *p = NULL;
        rolesd_role_deleted *gone = NULL;
        rolesd_role *alpha = NULL;
        char **granted = NULL, *next;
        const char *const alpha_only[] = { "Alpha", NULL };

        add_user(c, org, "ann", "Ann Example", NULL);
        add_user(c, org, "bob", NULL, alpha_only);

        check_eq(rolesd_member_add(c, NULL, org, "api_id", "Alpha", "ann", &m, &err), 0);
        check(strcmp(m->user, "ann") == 0);
        check_eq(strv_len(m->roles), 1);
        check(strcmp(m->roles[0], "Alpha") == 0);
        m = rolesd_memberships_free(m);
        check_eq(rolesd_member_add(c, NULL, org, "name", "Beta", "ann", &m, &err), 0);
        check_eq(strv_len(m->roles), 2);
        m = rolesd_memberships_free(m);
        expect(rolesd_member_add(c, NULL, org, "api_id", "Alpha", "ann", &m, &err), &err, -EEXIST, ROLESD_DUPLICATE,
               "user");
        expect(rolesd_member_add(c, NULL, org, "api_id", "Alpha", "nobody", &m, &err), &err, -ENOENT,
               ROLESD_NOT_FOUND, "user");
        expect(rolesd_member_add(c, NULL, org, "api_id", "Gamma", "ann", &m, &err), &err, -ENOENT, ROLESD_NOT_FOUND,
               "api_id");
        check(!m);

        /* member.list: by username, a cursor's pages */
        check_eq(rolesd_member_list(c, NULL, org, "api_id", "Alpha", 0, 0, NULL, &p, &err), 0);
        check_eq(p->total, 2);
        check_eq(p->n_users, 2);
        check(strcmp(p->users[0]->username, "ann") == 0 && strcmp(p->users[1]->username, "bob") == 0);
        check(strcmp(p->users[0]->name, "Ann Example") == 0 && !p->users[1]->name);
        check(strlen(p->users[0]->id) == 17 && !p->users[0]->roles);
        check(!p->next);
        p = rolesd_user_page_free(p);
        check_eq(rolesd_member_list(c, NULL, org, "api_id", "Alpha", 0, 1, NULL, &p, &err), 0);
        check_eq(p->n_users, 1);
        check(p->next);
        next = p->next;
        p->next = NULL;
        p = rolesd_user_page_free(p);
        check_eq(rolesd_member_list(c, NULL, org, "api_id", "Alpha", 0, 1, next, &p, &err), 0);
        check(p->n_users == 1 && strcmp(p->users[0]->username, "bob") == 0 && !p->next);
        p = rolesd_user_page_free(p);
        check_eq(rolesd_member_list(c, NULL, org, "api_id", "Alpha", 1, 1, NULL, &p, &err), 0);
        check(p->n_users == 1 && strcmp(p->users[0]->username, "bob") == 0);
        p = rolesd_user_page_free(p);
        expect(rolesd_member_list(c, NULL, org, "api_id", "Alpha", 1, 1, next, &p, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, NULL);
        expect(rolesd_member_list(c, NULL, org, "api_id", "Alpha", 0, 101, NULL, &p, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, "count");
        free(next);

        /* user.roles, access.check */
        check_eq(rolesd_user_roles(c, NULL, org, "ann", &m, &err), 0);
        check(strv_len(m->roles) == 2 && strcmp(m->roles[0], "Alpha") == 0 && strcmp(m->roles[1], "Beta") == 0);
        m = rolesd_memberships_free(m);
        expect(rolesd_user_roles(c, NULL, org, "nobody", &m, &err), &err, -ENOENT, ROLESD_NOT_FOUND, "user");
        {       /* Alpha grants nothing since its update; give it review_read */
                const char *const perms[] = { "review_read", NULL };
                rolesd_role_changes set = ROLESD_ROLE_CHANGES_INIT;

                set.permissions = perms;
                check_eq(rolesd_role_update(c, NULL, org, "api_id", "Alpha", &set, ROLESD_ANY_REVISION, &alpha, &err),
                         0);
        }
        check_eq(rolesd_access_check(c, NULL, org, "ann", "review_read", &granted, &err), 1);
        check(strv_len(granted) == 1 && strcmp(granted[0], "Alpha") == 0);
        granted = rolesd_strv_free(granted);
        check_eq(rolesd_access_check(c, NULL, org, "ann", "business_edit", &granted, &err), 0);
        check(granted && strv_len(granted) == 0);
        granted = rolesd_strv_free(granted);
        check_eq(rolesd_access_check(c, NULL, org, "nobody", "review_read", NULL, &err), 0);
        expect(rolesd_access_check(c, NULL, org, "ann", "no_such_permission", &granted, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, "permission");
        check(!granted);

        /* member.remove */
        check_eq(rolesd_member_remove(c, NULL, org, "id", alpha->id, "ann", &m, &err), 0);
        check(strv_len(m->roles) == 1 && strcmp(m->roles[0], "Beta") == 0);
        m = rolesd_memberships_free(m);
        expect(rolesd_member_remove(c, NULL, org, "id", alpha->id, "ann", &m, &err), &err, -ENOENT,
               ROLESD_NOT_FOUND, "member");

        /* delete: held by bob (in_use), then forced */
        expect(rolesd_role_delete(c, NULL, org, "api_id", "Alpha", ROLESD_ANY_REVISION, false, &gone, &err), &err,
               -ENOTEMPTY, ROLESD_IN_USE, "api_id");
        expect(rolesd_role_delete(c, NULL, org, "api_id", "Alpha", alpha->revision - 1, true, &gone, &err), &err,
               -ESTALE, ROLESD_CONFLICT, "if_revision");
        check_eq(rolesd_role_delete(c, NULL, org, "api_id", "Alpha", alpha->revision, true, &gone, &err), 0);
        check(strcmp(gone->id, alpha->id) == 0);
        gone = rolesd_role_deleted_free(gone);
        check_eq(rolesd_user_roles(c, NULL, org, "bob", &m, &err), 0);
        check_eq(strv_len(m->roles), 0);
        m = rolesd_memberships_free(m);
        rolesd_role_free(alpha);
}

static void credentials(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_org_page *orgs = NULL;
        rolesd_user_page *users = NULL;
        rolesd_keys *keys = NULL;
        rolesd_role_page *page = NULL;
        char *key = NULL, *id = NULL, key_id[17];
        bool found = false;
        const char *const admin[] = { "admin", NULL };
        rolesd_memberships *m = NULL;

        /* org.list: the workspace first, then ours with its roles */
        check_eq(rolesd_org_list(c, 0, 100, &orgs, &err), 0);
        check(orgs->total >= 2 && orgs->n_orgs >= 2);
        check_eq(orgs->orgs[0]->id, 0);
        check_eq(orgs->orgs[0]->roles, 12);
        for (size_t i = 0; i < orgs->n_orgs; i++)
                if (orgs->orgs[i]->id == org) {
                        found = true;
                        check_eq(orgs->orgs[i]->roles, 5 + 2);          /* built-ins, Beta and "Alpha - 2" */
                        check(strcmp(orgs->orgs[i]->provider, "lifecycle") == 0);
                }
        check(found);
        orgs = rolesd_org_page_free(orgs);
        check_eq(rolesd_org_list(c, 1, 1, &orgs, &err), 0);
        check(orgs->n_orgs == 1 && orgs->orgs[0]->id > 0);
        orgs = rolesd_org_page_free(orgs);

        /* user.list with roles; user.remove */
        check_eq(rolesd_user_list(c, org, 0, 0, NULL, &users, &err), 0);
        check_eq(users->total, 2);
        check(strcmp(users->users[0]->username, "ann") == 0 && strv_len(users->users[0]->roles) == 1);
        check(strcmp(users->users[0]->roles[0], "Beta") == 0);
        check(strcmp(users->users[1]->username, "bob") == 0 && users->users[1]->roles);
        check_eq(rolesd_user_remove(c, org, "ann", &id, &err), 0);
        check(strcmp(id, users->users[0]->id) == 0);
        free(id);
        users = rolesd_user_page_free(users);
        expect(rolesd_user_remove(c, org, "ann", NULL, &err), &err, -ENOENT, ROLESD_NOT_FOUND, "user");
        check_eq(rolesd_user_list(c, org, 0, 0, NULL, &users, &err), 0);
        check_eq(users->total, 1);
        users = rolesd_user_page_free(users);
        expect(rolesd_user_list(c, 999999, 0, 0, NULL, &users, &err), &err, -ENXIO, ROLESD_NOT_FOUND, "org");

        /* the workspace's last admin */
        add_user(c, 0, "root1", NULL, admin);
        expect(rolesd_member_remove(c, NULL, 0, "name", "admin", "root1", &m, &err), &err, -EROFS, ROLESD_PROTECTED,
               "user");
        expect(rolesd_user_remove(c, 0, "root1", NULL, &err), &err, -EROFS, ROLESD_PROTECTED, "user");
        add_user(c, 0, "root2", NULL, admin);
        check_eq(rolesd_member_remove(c, NULL, 0, "name", "admin", "root1", &m, &err), 0);
        m = rolesd_memberships_free(m);

        /* keys: listed without the key, revoked from the next call on */
        check_eq(rolesd_key_add(c, "ORG_ADMIN", true, org, NULL, &key, &err), 0);
        snprintf(key_id, sizeof key_id, "%.16s", key);
        check_eq(rolesd_key_list(c, org, NULL, &keys, &err), 0);
        check_eq(keys->n_keys, 1);
        check(strcmp(keys->keys[0]->key_id, key_id) == 0);
        check(strcmp(keys->keys[0]->user_role, "ORG_ADMIN") == 0);
        check_eq(keys->keys[0]->org, org);
        check(keys->keys[0]->created_at > 0);
        keys = rolesd_keys_free(keys);
        check_eq(rolesd_key_list(c, 0, "lifecycle", &keys, &err), 0);
        check_eq(keys->n_keys, 1);
        keys = rolesd_keys_free(keys);
        {
                rolesd_auth auth = { sizeof auth, key, NULL, NULL };

                check_eq(rolesd_role_list(c, &auth, org, 0, 0, NULL, &page, &err), 0);
                page = rolesd_role_page_free(page);
                check_eq(rolesd_key_revoke(c, key_id, &err), 0);
                expect(rolesd_role_list(c, &auth, org, 0, 0, NULL, &page, &err), &err, -EKEYREJECTED,
                       ROLESD_UNAUTHENTICATED, NULL);
        }
        expect(rolesd_key_revoke(c, key_id, &err), &err, -ENOENT, ROLESD_NOT_FOUND, "key_id");
        check_eq(rolesd_key_list(c, org, NULL, &keys, &err), 0);
        check_eq(keys->n_keys, 0);
        keys = rolesd_keys_free(keys);
        free(key);
}

/* ---- the same, asynchronously ---- */

typedef struct Pending {
        unsigned done;
        int r[16];
} Pending;

static Pending pending;

#define CALLBACK(name, ...)                                                     \
        static void name(rolesd *c, rolesd_reply *reply, void *userdata) {     \
                rolesd_error err = ROLESD_ERROR_INIT;                           \
                int *r = userdata;                                              \
                __VA_ARGS__                                                     \
                pending.done++;                                                 \
        }

CALLBACK(on_update, {
        rolesd_role *role = NULL;
        *r = rolesd_reply_role(reply, &role, &err);
        check(!*r && strcmp(role->description, "async") == 0);
        rolesd_role_free(role);
})
CALLBACK(on_duplicate, {
        rolesd_role *role = NULL;
        *r = rolesd_reply_role(reply, &role, &err);
        check(!*r && strcmp(role->name, "Beta - 2") == 0);
        rolesd_role_free(role);
})
CALLBACK(on_memberships, {
        rolesd_memberships *m = NULL;
        *r = rolesd_reply_memberships(reply, &m, &err);
        check(!*r && strcmp(m->user, "bob") == 0);
        check(strv_has(m->roles, "Beta"));
        rolesd_memberships_free(m);
})
CALLBACK(on_member_removed, {
        rolesd_memberships *m = NULL;
        *r = rolesd_reply_memberships(reply, &m, &err);
        check(!*r && strcmp(m->user, "bob") == 0);
        check(!strv_has(m->roles, "Beta"));
        rolesd_memberships_free(m);
})
CALLBACK(on_user_page, {
        rolesd_user_page *p = NULL;
        *r = rolesd_reply_user_page(reply, &p, &err);
        check(!*r && p->total >= 1 && strcmp(p->users[0]->username, "bob") == 0);
        rolesd_user_page_free(p);
})
CALLBACK(on_access, {
        char **granted = NULL;
        *r = rolesd_reply_access(reply, &granted, &err);
        check(*r == 1 && strv_has(granted, "Beta"));
        rolesd_strv_free(granted);
})
CALLBACK(on_orgs, {
        rolesd_org_page *p = NULL;
        *r = rolesd_reply_org_page(reply, &p, &err);
        check(!*r && p->n_orgs >= 2);
        rolesd_org_page_free(p);
})
CALLBACK(on_keys, {
        rolesd_keys *k = NULL;
        *r = rolesd_reply_keys(reply, &k, &err);
        check(!*r && k->n_keys == 0);
        rolesd_keys_free(k);
})
CALLBACK(on_user, {
        char *id = NULL, *token = NULL;
        *r = rolesd_reply_user(reply, &id, &token, &err);
        check(!*r && id && token);
        free(id);
        free(token);
})
CALLBACK(on_removed, {
        char *id = NULL;
        *r = rolesd_reply_user_removed(reply, &id, &err);
        check(!*r && strlen(id) == 17);
        free(id);
})
CALLBACK(on_deleted, {
        rolesd_role_deleted *d = NULL;
        *r = rolesd_reply_role_deleted(reply, &d, &err);
        check(!*r && strcmp(d->name, "Beta - 2") == 0);
        rolesd_role_deleted_free(d);
})
CALLBACK(on_error, {
        *r = rolesd_reply_error(reply, &err);
})

static void async_calls(rolesd *c) {
        rolesd_role_changes set = ROLESD_ROLE_CHANGES_INIT;
        rolesd_user_spec carl = ROLESD_USER_SPEC_INIT;
        const char *const beta[] = { "Beta", NULL }, *const review[] = { "review_read", NULL };
        unsigned n = 0;

        set.description = "async";
        set.permissions = review;
        carl.org = org;
        carl.username = "carl";
        carl.roles = beta;
        /* writes, then reads behind them on the same connection (which see
         * them), then writes again: any order of replies */
        check_eq(rolesd_role_update_async(c, NULL, org, "name", "Beta", &set, ROLESD_ANY_REVISION, on_update,
                                          &pending.r[n++]), 0);
        check_eq(rolesd_role_duplicate_async(c, NULL, org, "name", "Beta", on_duplicate, &pending.r[n++]), 0);
        check_eq(rolesd_member_add_async(c, NULL, org, "name", "Beta", "bob", on_memberships, &pending.r[n++]), 0);
        check_eq(rolesd_user_create_async(c, &carl, on_user, &pending.r[n++]), 0);
        check_eq(rolesd_user_roles_async(c, NULL, org, "bob", on_memberships, &pending.r[n++]), 0);
        check_eq(rolesd_member_list_async(c, NULL, org, "name", "Beta", 0, 0, NULL, on_user_page, &pending.r[n++]), 0);
        check_eq(rolesd_access_check_async(c, NULL, org, "bob", "review_read", on_access, &pending.r[n++]), 0);
        check_eq(rolesd_org_list_async(c, 0, 0, on_orgs, &pending.r[n++]), 0);
        check_eq(rolesd_user_list_async(c, org, 0, 0, NULL, on_user_page, &pending.r[n++]), 0);
        check_eq(rolesd_key_list_async(c, org, NULL, on_keys, &pending.r[n++]), 0);
        check_eq(rolesd_member_remove_async(c, NULL, org, "name", "Beta", "bob", on_member_removed,
                                            &pending.r[n++]), 0);
        check_eq(rolesd_user_remove_async(c, org, "carl", on_removed, &pending.r[n++]), 0);
        check_eq(rolesd_role_delete_async(c, NULL, org, "name", "Beta - 2", ROLESD_ANY_REVISION, false, on_deleted,
                                          &pending.r[n++]), 0);
        check_eq(rolesd_key_revoke_async(c, "0123456789abcdef", on_error, &pending.r[n++]), 0);
        while (pending.done < n)
                check(rolesd_wait(c, UINT64_MAX) >= 0);
        check_eq(pending.done, n);
        for (unsigned i = 0; i + 1 < n; i++)
                check_eq(pending.r[i], i == 6 ? 1 : 0);
        check_eq(pending.r[n - 1], -ENOENT);
}

/* Arguments refused before anything is sent: the callback never runs. */
static void bad_arguments(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_memberships *m = NULL;
        rolesd_role *r = NULL;
        unsigned before = pending.done;

        expect(rolesd_member_add(c, NULL, org, "title", "Beta", "bob", &m, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, "by");
        expect(rolesd_member_add(c, NULL, org, "name", NULL, "bob", &m, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, "name");
        expect(rolesd_member_add(c, NULL, org, "name", "Beta", NULL, &m, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, "user");
        expect(rolesd_role_update(c, NULL, org, "name", "Beta", NULL, ROLESD_ANY_REVISION, &r, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, "set");
        expect(rolesd_access_check(c, NULL, org, "bob", NULL, NULL, &err), &err, -EINVAL, ROLESD_INVALID_ARGUMENT,
               "permission");
        expect(rolesd_key_revoke(c, NULL, &err), &err, -EINVAL, ROLESD_INVALID_ARGUMENT, "key_id");
        expect(rolesd_user_create(c, NULL, NULL, NULL, &err), &err, -EINVAL, ROLESD_INVALID_ARGUMENT, "username");
        check_eq(rolesd_user_roles_async(c, NULL, org, NULL, on_error, NULL), -EINVAL);
        check_eq(rolesd_role_delete_async(c, NULL, org, NULL, "x", ROLESD_ANY_REVISION, false, on_error, NULL), -EINVAL);
        check_eq(rolesd_user_remove(NULL, org, "bob", NULL, &err), -EINVAL);
        check_eq(rolesd_wait(c, 0), 0);
        check_eq(pending.done, before);
}

int main(int argc, char *argv[]) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd *c = NULL;

        if (argc != 3) {
                fprintf(stderr, "usage: %s SOCKET ORG\n", argv[0]);
                return 2;
        }
        org = strtoull(argv[2], NULL, 10);
        check_eq(rolesd_connect(argv[1], &c, &err), 0);
        roles(c);
        members(c);
        credentials(c);
        async_calls(c);
        bad_arguments(c);
        rolesd_free(c);
        printf("librolesd %s: the lifecycle's calls, synchronous and asynchronous (%u checks)\n", rolesd_version(),
               checks);
        return 0;
}
