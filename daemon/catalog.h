/* catalog.h: the default permission catalogs shipped with the daemon.
 * Partoo organizations get the Partoo catalog, the Rocket.Chat workspace
 * (organization 0) gets the Rocket.Chat one. Both have the shape of
 * Partoo's GET /permissions: sections -> subsections -> permissions, each
 * permission {name, order, feature (str|nil), depends_on, disabled_for_roles}.
 * The tables are static; seed.c copies them into each organization. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>

/* Packs the map {"sections": [...]}: each section {name, order,
 * subsections}, each subsection {name, order, permissions}. 0 or -ENOMEM. */
int catalog_pack(msgpack_packer *pk, bool workspace);

/* Calls cb for every permission name of the catalog, in catalog order.
 * Stops at, and returns, the first negative return of cb; else 0. */
int catalog_foreach_permission(bool workspace, int (*cb)(const char *name, void *userdata),
                               void *userdata);

/* Self-check of a table: names unique, every depends_on name present in
 * the same catalog. 0 or -EINVAL (for the unit tests). */
int catalog_verify(bool workspace);
