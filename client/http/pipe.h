/* pipe.h: rolesd-http's pipelined connections to rolesd (one per
 * HTTP worker thread, each driven by a thread of its own). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct HttpPipe HttpPipe;

/* The outcome of a call, on the pipe's thread (or on the submitter's, when
 * the pipe is stopping): the response frame (valid during the callback),
 * or frame NULL and a negative errno: -ETIMEDOUT (no answer within
 * RPC_CALL_TIMEOUT_USEC), -ESHUTDOWN (the pipe stopped), or why the
 * connection could not be made or was lost. */
typedef void (*HttpPipeDone)(void *userdata, const char *frame, size_t len, int error);

/* A pipe to rolesd at socket_path (NULL: the default); it connects when
 * the first call comes. 0 or a negative errno. */
int http_pipe_new(const char *socket_path, HttpPipe **ret);

/* Sends the request frame (copied; its msgid, encoded on 5 bytes at
 * offset 2, is replaced by one of the pipe's connection). done is called
 * exactly once. A call that read_only may be sent again on a new
 * connection when the first is lost (or another call timed out on it)
 * before its answer; any other only when it was not sent, and never
 * after its own deadline. Returns 0, or -ENOMEM (then done is not called). */
int http_pipe_submit(HttpPipe *p, const void *frame, size_t len, bool read_only, HttpPipeDone done,
                     void *userdata);

/* Fails every call queued or in flight (-ESHUTDOWN), makes later calls
 * fail at once, and joins the thread. */
void http_pipe_stop(HttpPipe *p);

/* Stops the pipe and frees it. Accepts NULL, returns NULL. */
HttpPipe *http_pipe_free(HttpPipe *p);
