/* catalog.c: the default permission catalogs (Partoo's, for organizations
 * > 0, and the Rocket.Chat workspace's, for organization 0) as static
 * tables, their MessagePack encoding and a walk over their permission
 * names. Nothing here touches the store. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "daemon/catalog.h"
#include "proto/macro.h"
#include "proto/wire.h"

typedef struct CatalogPermission {
        const char *name;
        unsigned order;
        const char *feature;                    /* NULL packs nil */
        const char *const *depends_on;          /* NULL-terminated; NULL packs [] */
        const char *const *disabled_for_roles;  /* NULL-terminated; NULL packs [] */
} CatalogPermission;

typedef struct CatalogSubsection {
        const char *name;
        unsigned order;
        const CatalogPermission *permissions;   /* ends with a NULL name */
} CatalogSubsection;

typedef struct CatalogSection {
        const char *name;
        unsigned order;
        const CatalogSubsection *subsections;   /* ends with a NULL name */
} CatalogSection;

#define STRV(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define PERMS(...) ((const CatalogPermission[]) { __VA_ARGS__, { .name = NULL } })
#define SUBS(...) ((const CatalogSubsection[]) { __VA_ARGS__, { .name = NULL } })

/* ---- Partoo ---- */

static const CatalogSection partoo_catalog[] = {
        { "business", 1, SUBS(
                { "business_info", 1, PERMS(
                        { "business_read", 1, NULL, NULL, NULL },
                        { "business_edit", 2, NULL, NULL, NULL },
                        { "business_edit_name", 3, NULL, STRV("business_edit"),
                          STRV("BUSINESS_MANAGER", "PUBLISHER") },
                        { "business_edit_address", 4, NULL, STRV("business_edit"),
                          STRV("PUBLISHER") },
                        { "business_edit_hours", 5, NULL, STRV("business_edit"), NULL },
                        { "business_edit_description", 6, NULL, STRV("business_edit"), NULL },
                        { "business_edit_photos", 7, NULL, STRV("business_edit"), NULL },
                        { "business_edit_categories", 8, NULL, STRV("business_edit"),
                          STRV("PUBLISHER") }) },
                { "business_admin", 2, PERMS(
                        { "business_create", 1, NULL, NULL,
                          STRV("GROUP_MANAGER", "BUSINESS_MANAGER", "PUBLISHER") },
                        { "business_close", 2, NULL, STRV("business_edit"),
                          STRV("BUSINESS_MANAGER", "PUBLISHER") },
                        { "business_connections_manage", 3, "presence_management",
                          STRV("business_edit"), STRV("PUBLISHER") }) }) },
        { "reviews", 2, SUBS(
                { "review_management", 1, PERMS(
                        { "review_read", 1, NULL, NULL, NULL },
                        { "review_reply", 2, "review_management", STRV("review_read"), NULL },
                        { "review_reply_templates_manage", 3, "review_management",
                          STRV("review_reply"), STRV("PUBLISHER") },
                        { "review_export", 4, "review_management", STRV("review_read"), NULL },
                        { "review_analytics_read", 5, "review_management",
                          STRV("review_read"), NULL }) },
                { "review_booster", 2, PERMS(
                        { "review_invite_send", 1, "review_booster", NULL, NULL },
                        { "review_invite_templates_manage", 2, "review_booster",
                          STRV("review_invite_send"), STRV("BUSINESS_MANAGER", "PUBLISHER") }) }) },
        { "messages", 3, SUBS(
                { "messaging", 1, PERMS(
                        { "messages_read", 1, "messages", NULL, NULL },
                        { "messages_send", 2, "messages", STRV("messages_read"), NULL },
                        { "messages_assign", 3, "messages", STRV("messages_read"),
                          STRV("PUBLISHER") },
                        { "messages_settings_manage", 4, "messages", STRV("messages_read"),
                          STRV("BUSINESS_MANAGER", "PUBLISHER") }) }) },
        { "posts", 4, SUBS(
                { "google_posts", 1, PERMS(
                        { "posts_read", 1, "posts", NULL, NULL },
                        { "posts_create", 2, "posts", STRV("posts_read"), NULL },
                        { "posts_edit", 3, "posts", STRV("posts_read"), NULL },
                        { "posts_delete", 4, "posts", STRV("posts_read"), NULL }) }) },
        { "presence", 5, SUBS(
                { "presence_management", 1, PERMS(
                        { "presence_analytics_read", 1, "presence_analytics", NULL, NULL },
                        { "presence_diffusion_read", 2, "diffusion", NULL, NULL },
                        { "presence_duplicates_manage", 3, "diffusion", STRV("business_edit"),
                          STRV("PUBLISHER") }) }) },
        { "users", 6, SUBS(
                { "user_management", 1, PERMS(
                        { "user_read", 1, NULL, NULL, NULL },
                        { "user_create", 2, NULL, STRV("user_read"),
                          STRV("BUSINESS_MANAGER", "PUBLISHER") },
                        { "user_edit", 3, NULL, STRV("user_read"),
                          STRV("BUSINESS_MANAGER", "PUBLISHER") },
                        { "user_delete", 4, NULL, STRV("user_read"),
                          STRV("GROUP_MANAGER", "BUSINESS_MANAGER", "PUBLISHER") },
                        { "user_roles_manage", 5, NULL, STRV("user_edit"),
                          STRV("ORG_MANAGER", "GROUP_MANAGER", "BUSINESS_MANAGER", "PUBLISHER") }) },
                { "api_access", 2, PERMS(
                        { "api_keys_manage", 1, NULL, NULL,
                          STRV("GROUP_MANAGER", "BUSINESS_MANAGER", "PUBLISHER") }) }) },
        { .name = NULL },
};

/* ---- Rocket.Chat workspace (organization 0) ---- */

static const CatalogSection workspace_catalog[] = {
        { "administration", 1, SUBS(
                { "permissions", 1, PERMS(
                        { "access-permissions", 1, NULL, NULL, STRV("anonymous", "guest") },
                        { "access-setting-permissions", 2, NULL, STRV("access-permissions"),
                          STRV("anonymous", "guest") },
                        { "assign-roles", 3, NULL, STRV("access-permissions"),
                          STRV("anonymous", "guest") },
                        { "assign-admin-role", 4, NULL, STRV("access-permissions"),
                          STRV("anonymous", "guest") }) },
                { "users", 2, PERMS(
                        { "view-user-administration", 1, NULL, NULL, STRV("anonymous", "guest") },
                        { "manage-users", 2, NULL, STRV("view-user-administration"),
                          STRV("anonymous", "guest") },
                        { "create-user", 3, NULL, STRV("view-user-administration"),
                          STRV("anonymous", "guest") },
                        { "edit-other-user-info", 4, NULL, STRV("view-user-administration"),
                          STRV("anonymous", "guest") },
                        { "delete-user", 5, NULL, STRV("view-user-administration"),
                          STRV("anonymous", "guest") },
                        { "view-full-other-user-info", 6, NULL, STRV("view-user-administration"),
                          STRV("anonymous") },
                        { "create-personal-access-tokens", 7, NULL, NULL, STRV("anonymous") }) },
                { "workspace", 3, PERMS(
                        { "view-statistics", 1, NULL, NULL, STRV("anonymous", "guest") },
                        { "view-logs", 2, NULL, NULL, STRV("anonymous", "guest") },
                        { "view-room-administration", 3, NULL, NULL, STRV("anonymous", "guest") },
                        { "view-privileged-setting", 4, NULL, NULL, STRV("anonymous", "guest") },
                        { "edit-privileged-setting", 5, NULL, STRV("view-privileged-setting"),
                          STRV("anonymous", "guest") },
                        { "manage-apps", 6, "apps", NULL, STRV("anonymous", "guest") }) }) },
        { "rooms", 2, SUBS(
                { "creation", 1, PERMS(
                        { "create-c", 1, NULL, NULL, STRV("anonymous") },
                        { "create-p", 2, NULL, NULL, STRV("anonymous") },
                        { "create-d", 3, NULL, NULL, STRV("anonymous") }) },
                { "access", 2, PERMS(
                        { "view-c-room", 1, NULL, NULL, NULL },
                        { "view-p-room", 2, NULL, NULL, NULL },
                        { "view-d-room", 3, NULL, NULL, NULL },
                        { "view-joined-room", 4, NULL, NULL, NULL },
                        { "view-history", 5, NULL, NULL, NULL },
                        { "leave-c", 6, NULL, STRV("view-c-room"), STRV("anonymous") },
                        { "leave-p", 7, NULL, STRV("view-p-room"), STRV("anonymous") }) },
                { "membership", 3, PERMS(
                        { "add-user-to-joined-room", 1, NULL, NULL, STRV("anonymous", "guest") },
                        { "add-user-to-any-room", 2, NULL, STRV("add-user-to-joined-room"),
                          STRV("anonymous", "guest") },
                        { "remove-user", 3, NULL, NULL, STRV("anonymous", "guest") },
                        { "set-owner", 4, NULL, NULL, STRV("anonymous", "guest") },
                        { "set-moderator", 5, NULL, NULL, STRV("anonymous", "guest") },
                        { "set-leader", 6, NULL, NULL, STRV("anonymous", "guest") }) },
                { "settings", 4, PERMS(
                        { "edit-room", 1, NULL, NULL, STRV("anonymous", "guest") },
                        { "archive-room", 2, NULL, STRV("edit-room"), STRV("anonymous", "guest") },
                        { "post-readonly", 3, NULL, NULL, STRV("anonymous") }) }) },
        { "messages", 3, SUBS(
                { "moderation", 1, PERMS(
                        { "edit-message", 1, NULL, NULL, STRV("anonymous") },
                        { "delete-message", 2, NULL, NULL, STRV("anonymous") },
                        { "mention-all", 3, NULL, NULL, STRV("anonymous") },
                        { "mute-user", 4, NULL, NULL, STRV("anonymous", "guest") },
                        { "ban-user", 5, NULL, STRV("remove-user"), STRV("anonymous", "guest") }) }) },
        { "omnichannel", 4, SUBS(
                { "livechat", 1, PERMS(
                        { "view-l-room", 1, "livechat", NULL, STRV("anonymous") },
                        { "view-livechat-rooms", 2, "livechat", STRV("view-l-room"), STRV("anonymous") },
                        { "view-livechat-manager", 3, "livechat", NULL, STRV("anonymous", "guest") },
                        { "close-livechat-room", 4, "livechat", STRV("view-l-room"), STRV("anonymous") },
                        { "transfer-livechat-guest", 5, "livechat", STRV("view-l-room"),
                          STRV("anonymous") },
                        { "manage-livechat-agents", 6, "livechat", STRV("view-livechat-manager"),
                          STRV("anonymous", "guest") },
                        { "manage-livechat-managers", 7, "livechat", STRV("view-livechat-manager"),
                          STRV("anonymous", "guest") }) }) },
        { .name = NULL },
};

static const CatalogSection *catalog_table(bool workspace) {
        return workspace ? workspace_catalog : partoo_catalog;
}

static size_t strv_len(const char *const *l) {
        size_t n = 0;
        for (; l && l[n]; n++)
                ;
        return n;
}

static int pack_strv(msgpack_packer *pk, const char *const *l) {
        size_t n = strv_len(l);
        if (msgpack_pack_array(pk, n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (mp_pack_str(pk, l[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int pack_permission(msgpack_packer *pk, const CatalogPermission *p) {
        if (msgpack_pack_map(pk, 5) < 0 ||
            mp_pack_kv_str(pk, "name", p->name) < 0 ||
            mp_pack_kv_u64(pk, "order", p->order) < 0 ||
            mp_pack_kv_str(pk, "feature", p->feature) < 0 ||
            mp_pack_str(pk, "depends_on") < 0 ||
            pack_strv(pk, p->depends_on) < 0 ||
            mp_pack_str(pk, "disabled_for_roles") < 0 ||
            pack_strv(pk, p->disabled_for_roles) < 0)
                return -ENOMEM;
        return 0;
}

static int pack_subsection(msgpack_packer *pk, const CatalogSubsection *sub) {
        size_t n = 0;
        for (; sub->permissions[n].name; n++)
                ;
        if (msgpack_pack_map(pk, 3) < 0 ||
            mp_pack_kv_str(pk, "name", sub->name) < 0 ||
            mp_pack_kv_u64(pk, "order", sub->order) < 0 ||
            mp_pack_str(pk, "permissions") < 0 ||
            msgpack_pack_array(pk, n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = pack_permission(pk, &sub->permissions[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int pack_section(msgpack_packer *pk, const CatalogSection *sec) {
        size_t n = 0;
        for (; sec->subsections[n].name; n++)
                ;
        if (msgpack_pack_map(pk, 3) < 0 ||
            mp_pack_kv_str(pk, "name", sec->name) < 0 ||
            mp_pack_kv_u64(pk, "order", sec->order) < 0 ||
            mp_pack_str(pk, "subsections") < 0 ||
            msgpack_pack_array(pk, n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = pack_subsection(pk, &sec->subsections[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int catalog_pack(msgpack_packer *pk, bool workspace) {
        const CatalogSection *t = catalog_table(workspace);
        size_t n = 0;
        for (; t[n].name; n++)
                ;
        if (msgpack_pack_map(pk, 1) < 0 ||
            mp_pack_str(pk, "sections") < 0 ||
            msgpack_pack_array(pk, n) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r = pack_section(pk, &t[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int catalog_foreach_permission(bool workspace, int (*cb)(const char *name, void *userdata),
                               void *userdata) {
        for (const CatalogSection *sec = catalog_table(workspace); sec->name; sec++)
                for (const CatalogSubsection *sub = sec->subsections; sub->name; sub++)
                        for (const CatalogPermission *p = sub->permissions; p->name; p++) {
                                int r = cb(p->name, userdata);
                                if (r < 0)
                                        return r;
                        }
        return 0;
}

static const CatalogPermission *catalog_find(bool workspace, const char *name) {
        for (const CatalogSection *sec = catalog_table(workspace); sec->name; sec++)
                for (const CatalogSubsection *sub = sec->subsections; sub->name; sub++)
                        for (const CatalogPermission *p = sub->permissions; p->name; p++)
                                if (strcmp(p->name, name) == 0)
                                        return p;
        return NULL;
}

int catalog_verify(bool workspace) {
        for (const CatalogSection *sec = catalog_table(workspace); sec->name; sec++)
                for (const CatalogSubsection *sub = sec->subsections; sub->name; sub++)
                        for (const CatalogPermission *p = sub->permissions; p->name; p++) {
                                if (catalog_find(workspace, p->name) != p)
                                        return -EINVAL;         /* duplicate name */
                                for (size_t i = 0; p->depends_on && p->depends_on[i]; i++)
                                        if (!catalog_find(workspace, p->depends_on[i]) ||
                                            strcmp(p->depends_on[i], p->name) == 0)
                                                return -EINVAL;
                        }
        return 0;
}
