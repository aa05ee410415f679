/* seed.h: what the database holds before anyone writes to it, next to
 * the catalogs it comes from: the Rocket.Chat workspace (organization 0)
 * of a new database, and the catalog and built-in roles of each Partoo
 * organization org.add makes. */
#pragma once

#include <lmdb.h>
#include <stdint.h>

#include "store.h"

/* The workspace's admin role (its id, api_id and name), which holds every
 * permission of the workspace's catalog and always keeps one holder. */
#define SEED_WORKSPACE_ADMIN "admin"

/* A StoreSeed (store.h) for store_open: organization 0, the Rocket.Chat
 * workspace, with its catalog and the protected built-in roles admin,
 * moderator, leader, owner, user, bot, app, guest, anonymous,
 * livechat-agent, livechat-manager, livechat-monitor, each with
 * id == api_id == name. userdata is unused. */
int seed_workspace(Store *s, MDB_txn *txn, void *userdata);

/* A StoreSeed for StoreOptions.migrated: a database migrated from an
 * older schema gets the workspace catalog this daemon ships (permissions
 * added since, e.g. assign-admin-role), and its admin role every
 * permission of it, as a new database would. */
int seed_workspace_migrated(Store *s, MDB_txn *txn, void *userdata);

/* Adds a Partoo organization (id > 0): its record, the default Partoo
 * catalog, and the protected built-in roles ORG_ADMIN, ORG_MANAGER,
 * GROUP_MANAGER, BUSINESS_MANAGER, PUBLISHER (id "<org>-<NAME>",
 * api_id == name, scope Users, no permissions), created at now_ms with
 * the given revision (the org.add's). -EEXIST when it exists (nothing
 * written), -EINVAL for id 0. */
int seed_org(Store *s, MDB_txn *txn, const StoredOrg *o, uint64_t now_ms, uint64_t revision);
