/* seed.c: the built-in content of the database (see seed.h). Encodes the
 * built-in roles as role.create encodes a role (proto/wire-role.h) and
 * copies the static catalogs (catalog.c) into each organization. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "catalog.h"
#include "seed.h"
#include "proto/buf.h"
#include "proto/clock.h"
#include "proto/macro.h"
#include "proto/wire-role.h"

static const struct {
        const char *name;
        const char *description;
} partoo_builtins[] = {
        { "ORG_ADMIN", "Organization administrator" },
        { "ORG_MANAGER", "Organization manager" },
        { "GROUP_MANAGER", "Group manager" },
        { "BUSINESS_MANAGER", "Business manager" },
        { "PUBLISHER", "Publisher" },
};

static const struct {
        const char *name;
        const char *description;
        const char *scope;
        const char *const *permissions;         /* NULL-terminated; NULL = every permission */
} workspace_builtins[] = {
        { SEED_WORKSPACE_ADMIN, "Admin", "Users", NULL },
        { "moderator", "Moderator", "Subscriptions", (const char *const[]) {
                  "edit-message", "delete-message", "mute-user", "remove-user", "ban-user",
                  "edit-room", "post-readonly", "view-c-room", "view-p-room", NULL } },
        { "leader", "Leader", "Subscriptions", (const char *const[]) {
                  "view-c-room", "view-p-room", NULL } },
        { "owner", "Owner", "Subscriptions", (const char *const[]) {
                  "add-user-to-joined-room", "archive-room", "ban-user", "delete-message",
                  "edit-message", "edit-room", "mute-user", "remove-user", "set-leader",
                  "set-moderator", "set-owner", "post-readonly", NULL } },
        { "user", "", "Users", (const char *const[]) {
                  "create-c", "create-p", "create-d", "view-c-room", "view-p-room",
                  "view-d-room", "view-joined-room", "view-history", "leave-c", "leave-p",
                  "mention-all", "add-user-to-joined-room", "create-personal-access-tokens",
                  NULL } },
        { "bot", "", "Users", (const char *const[]) {
                  "create-d", "view-c-room", "view-d-room", "view-joined-room", "view-history",
                  "mention-all", "add-user-to-joined-room", NULL } },
        { "app", "", "Users", (const char *const[]) {
                  "create-c", "create-p", "create-d", "view-c-room", "view-p-room",
                  "view-d-room", "view-joined-room", "view-history", "add-user-to-any-room",
                  "edit-message", "delete-message", "post-readonly", NULL } },
        { "guest", "", "Users", (const char *const[]) {
                  "view-d-room", "view-joined-room", "view-history", NULL } },
        { "anonymous", "", "Users", (const char *const[]) {
                  "view-c-room", "view-history", NULL } },
        { "livechat-agent", "Livechat Agent", "Users", (const char *const[]) {
                  "view-l-room", "close-livechat-room", "transfer-livechat-guest", NULL } },
        { "livechat-manager", "Livechat Manager", "Users", (const char *const[]) {
                  "view-l-room", "view-livechat-rooms", "view-livechat-manager",
                  "close-livechat-room", "transfer-livechat-guest", "manage-livechat-agents",
                  "manage-livechat-managers", NULL } },
        { "livechat-monitor", "Livechat Monitor", "Users", (const char *const[]) {
                  "view-l-room", "view-livechat-rooms", "view-livechat-manager",
                  "transfer-livechat-guest", NULL } },
};

typedef struct StrvBuilder {
        char **l;
        size_t n;
} StrvBuilder;

static int strv_builder_add(const char *name, void *userdata) {
        StrvBuilder *b = userdata;
        char **l = realloc(b->l, (b->n + 2) * sizeof *l);
        if (!l)
                return -ENOMEM;
        b->l = l;
        l[b->n++] = (char *) name;      /* borrowed from the static catalog */
        l[b->n] = NULL;
        return 0;
}

typedef struct PermissionAdd {
        Store *s;
        MDB_txn *txn;
        uint64_t org;
} PermissionAdd;

static int permission_add(const char *name, void *userdata) {
        PermissionAdd *p = userdata;
        return store_permission_add(p->s, p->txn, p->org, name);
}

/* An organization's catalog and its catalog membership index. */
static int catalog_put(Store *s, MDB_txn *txn, uint64_t org, bool workspace) {
        _cleanup_(buf_done) Buf b = { 0 };
        msgpack_packer pk;
        int r;

        msgpack_packer_init(&pk, &b, buf_pack_write);
        r = catalog_pack(&pk, workspace);
        if (r >= 0 && b.oom)
                r = -ENOMEM;
        if (r < 0)
                return r;
        r = store_catalog_put(s, txn, org, buf_head(&b), buf_pending(&b));
        if (r < 0)
                return r;

        return catalog_foreach_permission(workspace, permission_add,
                                          &(PermissionAdd) { .s = s, .txn = txn, .org = org });
}

/* The organization record, its catalog and its catalog membership index. */
static int org_create(Store *s, MDB_txn *txn, const StoredOrg *o, bool workspace) {
        int r = store_org_insert(s, txn, o);
        if (r < 0)
                return r;
        return catalog_put(s, txn, o->id, workspace);
}

/* Every permission of the workspace's catalog (borrowed from it). */
static int workspace_permissions(char ***ret) {
        StrvBuilder sb = { 0 };
        int r = catalog_foreach_permission(true, strv_builder_add, &sb);
        if (r < 0) {
                free(sb.l);
                return r;
        }
        *ret = sb.l;
        return 0;
}

/* Encodes a protected built-in role (api_id == name, no 2FA, created
 * now) as role.create encodes a role, and stores it. */
static int builtin_insert(Store *s, MDB_txn *txn, const char *id, uint64_t org, const char *name,
                          const char *description, const char *scope, char **permissions, uint64_t now,
                          uint64_t revision, Buf *b) {
        Role role = {
                .id = (char *) id,
                .org = org,
                .api_id = (char *) name,
                .name = (char *) name,
                .description = (char *) description,
                .scope = (char *) scope,
                .permissions = permissions,
                .is_protected = true,
                .created_at = now,
                .updated_at = now,
                .revision = revision,
        };
        msgpack_packer pk;
        int r;

        buf_clear(b);
        msgpack_packer_init(&pk, b, buf_pack_write);
        r = role_pack(&pk, &role);
        if (r >= 0 && b->oom)
                r = -ENOMEM;
        if (r < 0)
                return r;
        return store_role_insert(s, txn, &(StoreRoleKeys) { .id = id, .org = org, .api_id = name, .name = name,
                                                            .permissions = permissions },
                                 buf_head(b), buf_pending(b), NULL);
}

int seed_workspace(Store *s, MDB_txn *txn, void *userdata) {
        _cleanup_free_ char **all = NULL;
        _cleanup_(buf_done) Buf b = { 0 };
        uint64_t now = wall_ms();
        StoredOrg org = { .id = 0, .name = (char *) "Rocket.Chat workspace", .provider = NULL };
        int r;

        r = workspace_permissions(&all);
        if (r < 0)
                return r;

        r = org_create(s, txn, &org, true);
        if (r < 0)
                return r;

        /* Their ids are their names, as in Rocket.Chat. */
        for (size_t i = 0; i < ELEMENTSOF(workspace_builtins); i++) {
                r = builtin_insert(s, txn, workspace_builtins[i].name, 0, workspace_builtins[i].name,
                                   workspace_builtins[i].description, workspace_builtins[i].scope,
                                   workspace_builtins[i].permissions ? (char **) workspace_builtins[i].permissions : all,
                                   now, 0, &b);
                if (r < 0)
                        return r;
        }
        return 0;
}

int seed_workspace_migrated(Store *s, MDB_txn *txn, void *userdata) {
        _cleanup_free_ char **all = NULL;
        _cleanup_(role_done) Role admin = { 0 };
        _cleanup_(buf_done) Buf b = { 0 };
        msgpack_packer pk;
        const void *blob;
        size_t len;
        int r;

        r = catalog_put(s, txn, 0, true);
        if (r >= 0)
                r = workspace_permissions(&all);
        if (r < 0)
                return r;
        r = store_role_get(s, txn, 0, "id", SEED_WORKSPACE_ADMIN, &blob, &len);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = role_decode(blob, len, &admin);
        if (r < 0)
                return r == -ENOMEM ? r : -EUCLEAN;
        if (!admin.is_protected)
                return 0;

        /* The same role, now with every permission (its revision and times kept). */
        strv_free(admin.permissions);
        admin.permissions = NULL;
        Role upgraded = admin;
        upgraded.permissions = all;
        msgpack_packer_init(&pk, &b, buf_pack_write);
        r = role_pack(&pk, &upgraded);
        if (r >= 0 && b.oom)
                r = -ENOMEM;
        if (r < 0)
                return r;
        return store_role_update(s, txn, &(StoreRoleKeys) { .id = admin.id, .org = 0, .api_id = admin.api_id,
                                                            .name = admin.name, .permissions = all },
                                 buf_head(&b), buf_pending(&b), NULL);
}

int seed_org(Store *s, MDB_txn *txn, const StoredOrg *o, uint64_t now, uint64_t revision) {
        _cleanup_(buf_done) Buf b = { 0 };
        char *no_permissions[] = { NULL };
        int r;

        if (o->id == 0)
                return -EINVAL;
        r = org_create(s, txn, o, false);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(partoo_builtins); i++) {
                char id[32 + sizeof "BUSINESS_MANAGER"];
                snprintf(id, sizeof id, "%" PRIu64 "-%s", o->id, partoo_builtins[i].name);
                r = builtin_insert(s, txn, id, o->id, partoo_builtins[i].name, partoo_builtins[i].description,
                                   "Users", no_permissions, now, revision, &b);
                if (r < 0)
                        return r;
        }
        return 0;
}
