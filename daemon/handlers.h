/* handlers.h: the RPC methods and what they are given and share. A read
 * runs on the event loop's thread inside a read transaction and packs its
 * result straight into the reply; a write is parsed on the loop's thread
 * and applied by the writer thread (a WriteApplyFn, writer.h) inside the
 * group commit's transaction, checking everything before it writes and
 * recording its change (store_change) once. Handlers get the store and,
 * for server.status, a function returning the daemon's figures: never the
 * manager or a connection. Failures are a negative errno plus an RpcErr.
 *
 * role.c: role.create, role.get, role.list, role.update, role.delete,
 * role.duplicate, permission.catalog. member.c: member.add,
 * member.remove, member.list, user.roles. access.c: access.check,
 * auth.check. org.c: org.add, org.list. user.c: user.add, user.list,
 * user.remove. key.c: key.add, key.list, key.revoke. status.c:
 * server.status. changes.c: changes.list, changes.watch, changes.unwatch,
 * role.sync, db.backup, db.export, db.import. handlers.c: what they share (below). */
#pragma once

#include <lmdb.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "store.h"
#include "proto/buf.h"
#include "proto/rpc.h"
#include "proto/wire.h"
#include "proto/wire-role.h"

/* The daemon's own figures, as server.status reports them. */
typedef struct ServerStats {
        uint64_t connections;           /* open client connections */
        uint64_t uptime_usec;
        uint64_t write_batches;         /* commits */
        uint64_t writes;                /* writes committed */
        uint64_t write_commit_usec;     /* time spent committing */
        uint64_t watches;               /* changes.watch open */
        uint64_t changes_retain;        /* records the change log keeps */
} ServerStats;

typedef struct HandlerCtx {
        Store *store;
        void (*stats)(void *userdata, ServerStats *ret);       /* NULL: all zero */
        void *stats_userdata;
} HandlerCtx;

typedef int (*HandlerRead)(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                           RpcErr *err);

/* What a connection does for the methods that concern it (changes.watch,
 * changes.unwatch), given with each frame: the handler checks the call,
 * the session acts on it. */
typedef struct Session {
        /* Starts the connection's watch, id the msgid of its changes.watch:
         * every change after revision `after` (of org *org only, when org
         * is not NULL), the history first, then the live ones. -EBUSY,
         * with *ret_watching its id, when the connection watches already. */
        int (*watch)(void *userdata, uint32_t id, uint64_t after, const uint64_t *org, uint64_t *ret_watching);
        /* Ends watch id; *ret_last: the last revision it was sent (or its
         * after). -ENOENT when the connection has no such watch. */
        int (*unwatch)(void *userdata, uint32_t id, uint64_t *ret_last);
        void *userdata;
} Session;

/* A read that acts on the caller's session. */
typedef int (*HandlerSession)(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params, msgpack_packer *pk,
                              RpcErr *err, const Session *session, uint32_t msgid);
#define DECLARE_SESSION(m)                                                                      \
        int m##_session(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params,    \
                        msgpack_packer *pk, RpcErr *err, const Session *session, uint32_t msgid)

#define DECLARE_READ(m)                                                                         \
        int m##_read(const HandlerCtx *ctx, MDB_txn *txn, const msgpack_object *params,       \
                     msgpack_packer *pk, RpcErr *err)
/* A write: how its args are parsed (m_args, an ArgsSpec below) and how
 * it is applied. */
#define DECLARE_WRITE(m)                                                                        \
        extern const struct ArgsSpec m##_args;                                                  \
        int m##_apply(Store *s, MDB_txn *txn, void *args, const StorePeer *peer, Buf *result,  \
                      RpcErr *err)

DECLARE_WRITE(role_create);
DECLARE_READ(role_get);
DECLARE_READ(role_list);
DECLARE_WRITE(role_update);
DECLARE_WRITE(role_delete);
DECLARE_WRITE(role_duplicate);
DECLARE_READ(permission_catalog);

DECLARE_WRITE(member_add);
DECLARE_WRITE(member_remove);
DECLARE_READ(member_list);
DECLARE_READ(user_roles);

DECLARE_READ(access_check);
DECLARE_READ(auth_check);

DECLARE_WRITE(org_add);
DECLARE_READ(org_list);
DECLARE_WRITE(user_add);
DECLARE_READ(user_list);
DECLARE_WRITE(user_remove);
DECLARE_WRITE(key_add);
DECLARE_READ(key_list);
DECLARE_WRITE(key_revoke);

DECLARE_READ(server_status);

DECLARE_WRITE(db_backup);       /* aside: writer_submit_aside */

DECLARE_READ(changes_list);
DECLARE_READ(role_sync);
DECLARE_READ(db_export);
DECLARE_WRITE(db_import);
DECLARE_SESSION(changes_watch);
DECLARE_SESSION(changes_unwatch);

/* ---- shared by the handler modules (handlers.c) ---- */

/* Which role a call names: exactly one of id, api_id and name. */
typedef struct RoleSelector {
        char *id, *api_id, *name;
} RoleSelector;
#define ROLE_SELECTOR_FIELDS(type, member)                                              \
        { "id",     param_str, offsetof(type, member.id),     false },                  \
        { "api_id", param_str, offsetof(type, member.api_id), false },                  \
        { "name",   param_str, offsetof(type, member.name),   false }
void role_selector_done(RoleSelector *sel);
/* Exactly one given: 0; else -EINVAL naming the first given (or "name"). */
int role_selector_check(const RoleSelector *sel, RpcErr *err);
/* "id", "api_id" or "name", and its value (after role_selector_check). */
const char *role_selector_by(const RoleSelector *sel);
const char *role_selector_value(const RoleSelector *sel);

/* The head of the args of a call on one role, their first member: who
 * asks, in which organization, and which role. */
typedef struct RoleTarget {
        Auth auth;
        OptU64 org;
        RoleSelector sel;
} RoleTarget;
#define ROLE_TARGET_FIELDS(type)                                                        \
        { "auth", param_auth,    offsetof(type, target.auth), false },                  \
        { "org",  param_opt_u64, offsetof(type, target.org),  false },                  \
        ROLE_SELECTOR_FIELDS(type, target.sel)
void role_target_done(RoleTarget *t);
/* An ArgsSpec check (below) for args whose first member is a RoleTarget. */
int role_target_check(void *args, RpcErr *err);
/* Authorizes the access for t (auth_check) and finds its role (role_find). */
int role_target_find(Store *s, MDB_txn *txn, RoleTarget *t, Access access, uint64_t *ret_org, Role *ret,
                     const void **ret_blob, size_t *ret_len, RpcErr *err);

/* How a write's args are parsed: allocated (size bytes, zeroed), filled
 * by table, then checked; freed by what the table filled (strings, lists,
 * credentials) and done. */
typedef struct ArgsSpec {
        const ParamField *table;
        size_t size;
        bool local_only;                /* provisioning: refuse a REST credential */
        int (*check)(void *args, RpcErr *err);  /* NULL: none */
        void (*done)(void *args);               /* NULL: the table's fields are all there is */
        bool takes_fd;                  /* the call takes the descriptor sent with it (an int
                                         * at fd_offset, -1 until taken, closed by args_free) */
        size_t fd_offset;
} ArgsSpec;
int args_parse(const ArgsSpec *spec, const msgpack_object *params, void **ret_args, RpcErr *err);
/* Moves *fd (the descriptor sent with the call) into args; none
 * (NULL or -1): -EINVAL saying how to send one. */
int args_take_fd(const ArgsSpec *spec, void *args, int *fd, RpcErr *err);
void args_free(const ArgsSpec *spec, void *args);      /* accepts NULL */

/* The role sel names in org, decoded; ret_blob/ret_len (may be NULL) are
 * its record, valid until the transaction writes or ends. Not found:
 * -ENOENT naming the selector's field and value. */
int role_find(Store *s, MDB_txn *txn, uint64_t org, const RoleSelector *sel, Role *ret,
              const void **ret_blob, size_t *ret_len, RpcErr *err);

/* An optional boolean parameter. */
typedef struct OptBool {
        bool set;
        bool v;
} OptBool;
int param_opt_bool(const msgpack_object *o, void *dst);
/* A parameter that must be a map, read separately: dst is a const
 * msgpack_object * set to it, valid while the frame is (during the parse). */
int param_map(const msgpack_object *o, void *dst);

/* Paging of member.list, user.list, org.list: offset? (0), count?
 * (LIST_COUNT_DEFAULT, at most LIST_COUNT_MAX) and, where a cursor is
 * allowed, after? (not with offset). */
typedef struct Paging {
        OptU64 offset;
        OptU64 count;
        char *after;
} Paging;
#define PAGING_FIELDS(type, member)                                                     \
        { "offset", param_opt_u64, offsetof(type, member.offset), false },              \
        { "count",  param_opt_u64, offsetof(type, member.count),  false }
#define PAGING_CURSOR_FIELD(type, member)                                               \
        { "after",  param_str,     offsetof(type, member.after),  false }
void paging_done(Paging *p);
int paging_check(const Paging *p, uint64_t *ret_offset, size_t *ret_count, RpcErr *err);
/* A list read's params: refused with a REST credential when local_only,
 * parsed by table into args, and its paging (a member of args) checked. */
int list_params_parse(const msgpack_object *params, const ParamField table[], void *args, const Paging *paging,
                      bool local_only, uint64_t *ret_offset, size_t *ret_count, RpcErr *err);

/* Provisioning (org, user and key methods) is for local peers only: a
 * call carrying a REST credential is refused, whatever the credential. */
int refuse_auth(const msgpack_object *params, RpcErr *err);
/* 1..max bytes, or -EINVAL naming the field and the limit. */
int check_text(const char *s, size_t max, const char *field, RpcErr *err);

/* An array whose length is known once it is packed: its elements go to
 * their own buffer, then the header and the elements to pk. */
typedef struct ListBuf {
        Buf buf;
        msgpack_packer pk;
        size_t n;
} ListBuf;
void list_begin(ListBuf *l);
int list_end(ListBuf *l, msgpack_packer *pk);   /* frees l's buffer */
void list_done(ListBuf *l);                     /* frees it without packing */
/* A page of member.list, user.list or org.list: {KEY: [l's elements],
 * "total": total[, "next": next (when not NULL)]}. Frees l's buffer. */
int pack_page(msgpack_packer *pk, const char *key, ListBuf *l, uint64_t total, const char *next);

/* The api_ids of the roles user_id holds, as an array. */
int pack_user_roles(msgpack_packer *pk, Store *s, MDB_txn *txn, const char *user_id);
/* {"user": username, "roles": [...]}: member.add, member.remove, user.roles. */
int pack_user_and_roles(msgpack_packer *pk, Store *s, MDB_txn *txn, const char *username, const char *user_id);

/* ---- db.import (changes.c): each record made true by its module ----
 * rec is one record as db.export gives it (a map; its "type" names the
 * module). Equal to what is stored: IMPORT_UNCHANGED, nothing written;
 * else written as the corresponding write would (checked as it is,
 * recording its change, as peer), keeping the record's ids. */
typedef enum ImportOutcome {
        IMPORT_UNCHANGED,
        IMPORT_UPDATED,
        IMPORT_CREATED,
} ImportOutcome;
int org_import(Store *s, MDB_txn *txn, const msgpack_object *rec, const StorePeer *peer, ImportOutcome *ret,
               RpcErr *err);
int role_import(Store *s, MDB_txn *txn, const msgpack_object *rec, const StorePeer *peer, ImportOutcome *ret,
                RpcErr *err);
int user_import(Store *s, MDB_txn *txn, const msgpack_object *rec, const StorePeer *peer, ImportOutcome *ret,
                RpcErr *err);
int member_import(Store *s, MDB_txn *txn, const msgpack_object *rec, const StorePeer *peer, ImportOutcome *ret,
                  RpcErr *err);
/* A str parameter that may also be nil (left NULL). */
int param_str_or_nil(const msgpack_object *o, void *dst);
/* Both NULL, or equal strings. */
bool streq_null(const char *a, const char *b);

/* Records one write's change with its principal (auth's credential when
 * auth_check() accepted one, else the peer): store_change(). */
int record_change(Store *s, MDB_txn *txn, const Auth *auth, const StorePeer *peer, StoreChange *c);
