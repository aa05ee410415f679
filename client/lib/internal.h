/* internal.h: what librolesd's core offers the rest of the library
 * (client/rest) beyond the public API: calls whose result is visited as
 * MessagePack, calls made from a frame packed elsewhere, a reply's frame,
 * and replay mode, on which REST tasks are built. Not installed, not
 * exported.
 *
 * Replay mode: a replay handle has no socket. Each call on it is answered
 * from the replies recorded so far, in order, and the first call without
 * one is kept as the pending request and fails with -EINPROGRESS
 * (ROLESD_UNAVAILABLE). Running the same deterministic sequence of calls
 * again after recording that call's reply goes one call further: how a
 * server runs a request as a series of RPCs sent on a shared, pipelined
 * connection without blocking a thread. */
#pragma once

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rolesd/client.h"

/* rolesd_call() with the result handed to visit as MessagePack, valid
 * during the call, instead of converted to JSON: for callers that render
 * it straight into their own output. visit returns 0, -ENOMEM, or
 * -EBADMSG with *reterr_why set (the call then fails with
 * ROLESD_INTERNAL, "malformed result"). visit NULL ignores the result. */
typedef int (*CallVisit)(const msgpack_object *result, void *userdata, const char **reterr_why);
int call_visit(rolesd *c, const char *method, json_t *params, CallVisit visit, void *userdata,
               rolesd_error *err);

/* Queues the request frame (copied; a frame of replay_pending(), whose
 * msgid is on 5 bytes at offset 2) as a call to method, with a msgid of
 * c's own, in *ret_msgid (may be NULL). As the *_async() calls. */
int call_submit(rolesd *c, const void *frame, size_t len, const char *method, rolesd_reply_fn fn,
                void *userdata, uint32_t *ret_msgid, rolesd_error *err);
/* The call with msgid completes without its callback. */
void call_cancel(rolesd *c, uint32_t msgid);

/* The response a reply carries (valid during the callback), or NULL when
 * the call failed without one (rolesd_reply_error() says why). */
const char *reply_frame(const rolesd_reply *r, size_t *ret_len);

rolesd *replay_new(void);                /* NULL when out of memory; rolesd_free() */
bool replay_is(const rolesd *c);

/* The next call gets the first recorded reply again; msgids restart at 1. */
void replay_rewind(rolesd *c);

/* Records the reply (a whole response frame, copied) to the pending call,
 * or its failure (a negative errno and why, copied). 0 or -ENOMEM. */
int replay_add(rolesd *c, const void *frame, size_t len);
int replay_add_error(rolesd *c, int error, const rolesd_error *why);

/* The calls answered so far will not be made again (the caller keeps
 * what it made of their replies): their recorded replies are dropped,
 * and a run after the next rewind gets, for its first call, the reply of
 * the call that follows them. What keeps a task that pages through a
 * long list linear: each run goes on from where the last one stopped. */
void replay_forget(rolesd *c);

/* Recorded replies held (those not forgotten). */
size_t replay_recorded(const rolesd *c);

/* The pending call's request frame and method, or NULL when every call
 * was answered. Valid until the next call on c. */
const char *replay_pending(const rolesd *c, size_t *ret_len, const char **ret_method);
