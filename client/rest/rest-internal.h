/* rest-internal.h: what rest.c shares with the dialect modules
 * (partoo.c, rocketchat.c) and task.c: the per-request context, building
 * the response, RPC calls, header and query-string access, body parsing;
 * and tasks driven a step at a time, for tests and the fuzzer. Not
 * installed. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/lib/internal.h"
#include "proto/buf.h"
#include "rolesd/rest.h"

/* The OpenAPI document, generated from openapi.json at build time. */
extern const char rest_openapi_json[];
extern const size_t rest_openapi_json_len;

/* The parsed body, kept by a task across its runs (rest_parse_body). */
typedef struct BodyMemo {
        bool set;
        int r;
        json_t *v;
} BodyMemo;

/* What an endpoint that makes a series of calls (paging) has done so
 * far, kept by a task across its runs (rest_progress). */
typedef struct RestProgress {
        void *state;
        void (*done)(void *state);      /* releases what state holds, not state itself */
} RestProgress;

typedef struct RestCtx {
        rolesd *conn;                   /* the caller's connection, a task's replay handle, or NULL */
        const rolesd_rest_request *req;
        const char *query;              /* raw query string, or NULL */
        const char *arg;                /* the decoded {api_id} of /v2/custom_role/{api_id} */
        rolesd_rest_response *res;      /* where the answer goes */
        char *headers[4];               /* trimmed header values rest_header() made */
        BodyMemo *body_memo;            /* a task's, or NULL */
        RestProgress *progress;         /* a task's, or the request's own */
} RestCtx;

/* ---- responses: each sets ctx->res and returns 0, or -ENOMEM ---- */

/* Renders body (stolen; NULL means allocation failed) with status. */
int rest_reply_json(RestCtx *ctx, unsigned status, json_t *body);
/* One of rolesd_rest_error_body()'s static bodies, in dialect d. */
int rest_reply_error(RestCtx *ctx, rolesd_rest_dialect d, unsigned status);
/* A 5xx for a failed RPC: 503 when the daemon is unavailable or out of
 * resources, else 500; err's message goes into ctx->res->detail. */
int rest_reply_rpc_failure(RestCtx *ctx, rolesd_rest_dialect d, const char *method,
                           const rolesd_error *err);

/* Renders b (taken over, left empty; an out-of-memory buffer gives
 * -ENOMEM) as the body with status. */
int rest_reply_buf(RestCtx *ctx, unsigned status, Buf *b);

/* The same as one part of a longer answer (rolesd/rest.h: res.more), b
 * emptied for the next; only where rest_parts() says the caller takes
 * parts. */
int rest_reply_part(RestCtx *ctx, unsigned status, Buf *b);
bool rest_parts(const RestCtx *ctx);

/* JSON written straight into a buffer, for bodies too hot for a jansson
 * tree: s as a JSON string (quoted and escaped; s is valid UTF-8), and s
 * as it is. Return buf_append()'s result. */
int rest_json_str(Buf *b, const char *s);
int rest_json_strn(Buf *b, const char *s, size_t n);
int rest_json_raw(Buf *b, const char *s);
/* A MessagePack string (valid UTF-8) or boolean as JSON; -EBADMSG when o
 * is NULL or of another type. */
int rest_json_mp_str(Buf *b, const msgpack_object *o);
int rest_json_mp_bool(Buf *b, const msgpack_object *o);

/* ---- the daemon ---- */

/* A call to method with params (borrowed) on the request's connection
 * (librolesd reconnects, and sends a call that cannot have run, or only
 * reads, again on a new connection). rest_call_visit: the result handed
 * to visit as MessagePack (see client/lib/internal.h); rest_call: on
 * success *ret (if ret is not NULL) is a new reference. */
int rest_call_visit(RestCtx *ctx, const char *method, json_t *params, CallVisit visit, void *userdata,
                    rolesd_error *err);
int rest_call(RestCtx *ctx, const char *method, json_t *params, json_t **ret, rolesd_error *err);

/* The state of an endpoint that makes a series of calls: size zeroed
 * bytes on the first run of a request, the same block (as the previous
 * run left it) on every later run; done (may be NULL) releases what it
 * holds when the request ends. NULL when out of memory. */
void *rest_progress(RestCtx *ctx, size_t size, void (*done)(void *state));

/* Says that the calls made so far, and what they did to the progress
 * state, are done: a later run of the task does not make them again but
 * goes on from the state, at the call that follows. Without it a task
 * replays every call from the first, each run: quadratic in the calls. */
void rest_checkpoint(RestCtx *ctx);

/* Answers the request: rolesd_rest_handle() with a task's memo and
 * progress (task.c). */
int rest_handle(rolesd *c, BodyMemo *body_memo, RestProgress *progress, const rolesd_rest_request *req,
                rolesd_rest_response *ret);
void rest_progress_done(RestProgress *p);

/* ---- tasks a step at a time (task.c; tests and the fuzzer drive them
 * without a connection) ---- */

/* rolesd_rest_task_run(); when it returns 0, *ret_frame is the request
 * the task waits for (*ret_len bytes, valid until the next call on t; its
 * msgid on 5 bytes at offset 2), a call to *ret_method. */
int rest_task_step(rolesd_rest_task *t, const rolesd_rest_request *req, rolesd_rest_response *ret,
                   const void **ret_frame, size_t *ret_len, const char **ret_method);
/* The request went out with msgid (the frame's own, unless this says
 * otherwise): its reply must carry it. */
void rest_task_sent(rolesd_rest_task *t, uint32_t msgid);
/* The reply to the request (a response frame, copied). -EBADMSG when it
 * answers another msgid (nothing is recorded: the task still waits); else
 * 0 or -ENOMEM. */
int rest_task_reply(rolesd_rest_task *t, const void *frame, size_t len);
/* The request failed (error, and why; why may be NULL). 0 or -ENOMEM. */
int rest_task_fail(rolesd_rest_task *t, int error, const rolesd_error *why);

/* Replies a task holds for its next run (tests: a paging task holds none
 * of the pages before its checkpoint). */
size_t rest_task_recorded(const rolesd_rest_task *t);

/* ---- the request ---- */

/* The value of a header without surrounding whitespace (RFC 9110 5.5),
 * or NULL when absent or empty (or when out of memory). Valid until the
 * request is answered. */
const char *rest_header(RestCtx *ctx, const char *name);

/* The first value of query parameter name, decoded (form encoding: '+'
 * is a space, %XX a byte). Returns 1 with *ret (free()) set, 0 when the
 * parameter is absent, or -ENOMEM. */
int rest_query_get(RestCtx *ctx, const char *name, char **ret);

/* Decodes %XX escapes of a path segment. Returns a new string, or NULL
 * when out of memory; *ret_ok is false when the result is not a valid
 * UTF-8 string without NUL. */
char *rest_path_decode(const char *s, size_t n, bool *ret_ok);

/* Parses the body as JSON (any value; duplicate keys, invalid UTF-8,
 * \u0000 and trailing garbage are errors). Returns 0 with *ret set,
 * -EBADMSG when the body is not JSON, or -ENOMEM. */
int rest_parse_body(RestCtx *ctx, json_t **ret);

/* Appends message to the list errs[field], creating it. 0 or -ENOMEM. */
int rest_field_error(json_t *errs, const char *field, const char *message);

/* Reads a non-negative integer that fits json_int_t out of a result
 * object. Returns 0 or -EBADMSG. */
int rest_result_uint(json_t *obj, const char *key, json_int_t *ret);

/* ---- endpoints: each answers into ctx->res; 0 or -ENOMEM ---- */

int partoo_create(RestCtx *ctx);        /* POST /v2/custom_role */
int partoo_list(RestCtx *ctx);          /* GET /v2/custom_role */
int partoo_get(RestCtx *ctx);           /* GET /v2/custom_role/{api_id} */
int partoo_permissions(RestCtx *ctx);   /* GET /v2/permissions */
int partoo_update(RestCtx *ctx);        /* PUT /v2/custom_role/{api_id} */
int partoo_delete(RestCtx *ctx);        /* DELETE /v2/custom_role/{api_id} */
int partoo_duplicate(RestCtx *ctx);     /* POST /v2/custom_role/duplicate */
int rocketchat_create(RestCtx *ctx);    /* POST /api/v1/roles.create */
int rocketchat_list(RestCtx *ctx);      /* GET /api/v1/roles.list */
int rocketchat_update(RestCtx *ctx);    /* POST /api/v1/roles.update */
int rocketchat_delete(RestCtx *ctx);    /* POST /api/v1/roles.delete */
int rocketchat_add_user(RestCtx *ctx);  /* POST /api/v1/roles.addUserToRole */
int rocketchat_remove_user(RestCtx *ctx); /* POST /api/v1/roles.removeUserFromRole */
int rocketchat_users_in_role(RestCtx *ctx); /* GET /api/v1/roles.getUsersInRole */
int rocketchat_sync(RestCtx *ctx);      /* GET /api/v1/roles.sync */
