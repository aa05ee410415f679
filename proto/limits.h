/* limits.h: every limit a peer can run into, named in one place.
 * The daemon, the client library and the shim all read these. */
#pragma once

#define RPC_FRAME_MAX           (1024u * 1024u) /* bytes in one MessagePack-RPC message */
#define RPC_DEPTH_MAX           16u             /* nesting of arrays/maps in one message */
#define RPC_ELEMENTS_MAX        65536u          /* array elements + map keys/values in one request */
#define RPC_METHOD_MAX          64u             /* bytes in a method name */
#define RPC_PARAMS_MAX          64u             /* keys in a params map */

#define CONN_MAX_DEFAULT        256u            /* concurrent client connections */
#define CONN_INFLIGHT_MAX       1024u           /* requests read but not yet answered, per connection */
#define CONN_OUTBUF_SOFT        (1024u * 1024u) /* stop reading a client whose replies pile up past this */
#define CONN_OUTBUF_HARD        (16u * 1024u * 1024u) /* drop a client whose replies pile up past this */
#define CONN_IDLE_TIMEOUT_USEC  (300ull * 1000000ull) /* close connections silent for this long */
#define CONN_STALL_TIMEOUT_USEC (30ull * 1000000ull)  /* close a client that reads none of its pending replies */

#define ROLE_LIST_PER_PAGE_DEFAULT 30u
#define ROLE_LIST_PER_PAGE_MAX  100u
#define ROLE_PERMISSIONS_MAX    1024u           /* permission names on one role */
#define PARTOO_NAME_MAX         100u            /* characters, name and api_id */
#define PARTOO_DESCRIPTION_MAX  200u            /* characters */
#define ROLE_TEXT_MAX           (64u * 1024u)   /* bytes of any role string (Rocket.Chat names are unbounded) */
#define ORG_NAME_MAX            256u
#define USERNAME_MAX            256u
#define USER_ROLES_MAX          64u

#define STORE_MAPSIZE_DEFAULT   (64ull * 1024 * 1024) /* initial LMDB map; grows on MDB_MAP_FULL */
#define STORE_MAX_READERS       126u
#define WRITE_BATCH_MAX         256u            /* writes committed in one transaction */
#define WRITE_GATHER_MAX_USEC   500u            /* longest wait for a batch's expected writers */
#define WRITE_GATHER_CHUNK      8u              /* writes applied per wakeup while gathering */

