/* seed.h: what the database holds before anyone writes to it, next to
 * the catalogs it comes from: the Rocket.Chat workspace (organization 0)
 * of a new database, and the catalog and built-in roles of each Partoo
 * organization org.add makes. */
#pragma once

#include <lmdb.h>
#include <stdint.h>

#include "store.h"

/* A StoreSeed (store.h) for store_open: organization 0, the Rocket.Chat
 * workspace, with its catalog and the protected built-in roles admin,
 * moderator, leader, owner, user, bot, app, guest, anonymous,
 * livechat-agent, livechat-manager, livechat-monitor, each with
 * id == api_id == name. userdata is unused. */
int seed_workspace(Store *s, MDB_txn *txn, void *userdata);

/* Adds a Partoo organization (id > 0): its record, the default Partoo
 * catalog, and the protected built-in roles ORG_ADMIN, ORG_MANAGER,
 * GROUP_MANAGER, BUSINESS_MANAGER, PUBLISHER (id "<org>-<NAME>",
 * api_id == name, scope Users, no permissions), created at now_ms.
 * -EEXIST when it exists (nothing written), -EINVAL for id 0. */
int seed_org(Store *s, MDB_txn *txn, const StoredOrg *o, uint64_t now_ms);
