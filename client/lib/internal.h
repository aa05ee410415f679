/* lib/internal.h: librolesd's replay mode, for callers inside the
 * library (rest.c's tasks). A replay handle has no socket: each call is
 * answered from the replies recorded so far, in order, and the first call
 * without one is kept as the pending request and fails with -EINPROGRESS
 * (ROLESD_UNAVAILABLE). Running the same deterministic sequence of calls
 * again after recording that call's reply goes one call further: how a
 * server runs a request as a series of RPCs sent on a shared, pipelined
 * connection without blocking a thread. Not installed, not exported. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "rolesd/client.h"

/* rolesd_call() with the result handed to visit as MessagePack, valid
 * during the call, instead of converted to JSON: for callers that render
 * it straight into their own output. visit returns 0, -ENOMEM, or
 * -EBADMSG with *reterr_why set (the call then fails with
 * ROLESD_INTERNAL, "malformed result"). visit NULL ignores the result. */
typedef int (*CallVisit)(const msgpack_object *result, void *userdata, const char **reterr_why);
int call_visit(rolesd *c, const char *method, json_t *params, CallVisit visit, void *userdata,
               rolesd_error *err);

rolesd *replay_new(void);                /* NULL when out of memory; rolesd_free() */
bool replay_is(const rolesd *c);

/* The next call gets the first recorded reply again; msgids restart at 1. */
void replay_rewind(rolesd *c);

/* Records the reply (a whole response frame, copied) to the pending call,
 * or its failure (a negative errno: the connection was lost, -ETIMEDOUT).
 * 0 or -ENOMEM. */
int replay_add(rolesd *c, const void *frame, size_t len);
int replay_add_error(rolesd *c, int error);

/* The calls answered so far will not be made again (the caller keeps
 * what it made of their replies): their recorded replies are dropped,
 * and a run after the next rewind gets, for its first call, the reply of
 * the call that follows them. What keeps a task that pages through a
 * long list linear: each run goes on from where the last one stopped. */
void replay_forget(rolesd *c);

/* Recorded replies held (those not forgotten). */
size_t replay_recorded(const rolesd *c);

/* Whether the calls that follow only read (they may be sent again on a
 * new connection if one is lost). */
void replay_set_read_only(rolesd *c, bool read_only);

/* The pending call's request frame, or NULL when every call was answered.
 * Its msgid is encoded on 5 bytes (0xce, then 4 bytes big-endian) at
 * offset 2, so that a pipeline can replace it (rpc_frame_set_msgid()).
 * Valid until the next call on c. */
const char *replay_pending(const rolesd *c, size_t *ret_len, bool *ret_read_only);
