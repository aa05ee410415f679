/* limits.h: the wire's rules and the data model's limits, which the
 * daemon enforces and clients may check before sending. Each program's
 * own settings are in its own limits.h (daemon/limits.h, ...). */
#pragma once

#define RPC_FRAME_MAX           (1024u * 1024u) /* bytes in one MessagePack-RPC message */
#define RPC_DEPTH_MAX           16u             /* nesting of arrays/maps in one message */
#define RPC_ELEMENTS_MAX        65536u          /* array elements + map keys/values in one request */
#define RPC_METHOD_MAX          64u             /* bytes in a method name */
#define RPC_PARAMS_MAX          64u             /* keys in a params map */

#define ROLE_LIST_PER_PAGE_DEFAULT 30u
#define ROLE_LIST_PER_PAGE_MAX  100u
#define ROLE_PERMISSIONS_MAX    1024u           /* permission names on one role */
#define PARTOO_NAME_MAX         100u            /* characters, name and api_id */
#define PARTOO_DESCRIPTION_MAX  200u            /* characters */
#define ROLE_TEXT_MAX           (64u * 1024u)   /* bytes of any role string (Rocket.Chat names are unbounded) */
#define ORG_NAME_MAX            256u
#define USERNAME_MAX            256u            /* bytes of a username */
#define USER_NAME_MAX           256u            /* bytes of a user's display name */
#define USER_ROLES_MAX          64u             /* roles given at user.add */
#define LIST_COUNT_DEFAULT      50u             /* member.list, user.list, org.list: entries per page */
#define LIST_COUNT_MAX          100u
#define CHANGES_LIST_LIMIT_DEFAULT 100u         /* changes.list: records per page */
#define CHANGES_LIST_LIMIT_MAX  1000u
#define EXPORT_PAGE_DEFAULT     100u            /* db.export: records per page */
#define EXPORT_PAGE_MAX         1000u
#define IMPORT_BATCH_MAX        1000u           /* db.import: records per call */
