/* task.c: REST requests answered without blocking (rolesd/rest.h's
 * tasks). A task runs the translation against a replay handle
 * (client/lib/internal.h) that answers its calls from the replies
 * recorded so far; the first call without one is sent, on the caller's
 * asynchronous connection, as a call of that connection, and its reply,
 * checked to be the reply to that call, is recorded for the next run.
 * Also the same a step at a time, without a connection (rest-internal.h),
 * for tests and the fuzzer. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "client/lib/internal.h"
#include "client/rest/rest-internal.h"
#include "proto/rpc.h"
#include "rolesd/rest.h"

struct rolesd_rest_task {
        rolesd *replay;
        BodyMemo body;
        RestProgress progress;
        bool waiting;                   /* its request is out; the reply is due */
        uint32_t msgid;                 /* ... with this msgid */
        bool oom;                       /* a reply could not be recorded: the task fails */
        rolesd *conn;                   /* sent on this connection, the reply due (rolesd_rest_task_send) */
        rolesd_rest_wake_fn wake;
        void *wake_userdata;
};

rolesd_rest_task *rolesd_rest_task_new(void) {
        rolesd_rest_task *t = calloc(1, sizeof *t);

        if (!t)
                return NULL;
        t->replay = replay_new();
        if (!t->replay) {
                free(t);
                return NULL;
        }
        return t;
}

rolesd_rest_task *rolesd_rest_task_free(rolesd_rest_task *t) {
        if (!t)
                return NULL;
        if (t->conn)
                call_cancel(t->conn, t->msgid);
        rolesd_free(t->replay);
        json_decref(t->body.v);
        rest_progress_done(&t->progress);
        free(t);
        return NULL;
}

int rest_task_step(rolesd_rest_task *t, const rolesd_rest_request *req, rolesd_rest_response *ret,
                   const void **ret_frame, size_t *ret_len, const char **ret_method) {
        const char *frame;
        int r;

        if (!t || !ret_frame || !ret_len || !ret_method)
                return -EINVAL;
        if (t->oom) {
                if (ret)
                        *ret = (rolesd_rest_response) { .size = ret->size, .status = 500 };
                return -ENOMEM;
        }
        replay_rewind(t->replay);
        r = rest_handle(t->replay, &t->body, &t->progress, req, ret);
        frame = replay_pending(t->replay, ret_len, ret_method);
        if (!frame) {
                t->waiting = false;
                return r < 0 ? r : 1;
        }
        /* What the run answered assumed the daemon unreachable: not an answer. */
        rolesd_rest_response_done(ret);
        t->waiting = rpc_frame_msgid(frame, *ret_len, RPC_REQUEST, &t->msgid);
        *ret_frame = frame;
        return 0;
}

int rolesd_rest_task_run(rolesd_rest_task *t, const rolesd_rest_request *req, rolesd_rest_response *ret) {
        const void *frame;
        const char *method;
        size_t len;

        return rest_task_step(t, req, ret, &frame, &len, &method);
}

void rest_task_sent(rolesd_rest_task *t, uint32_t msgid) {
        t->msgid = msgid;
}

int rest_task_reply(rolesd_rest_task *t, const void *frame, size_t len) {
        uint32_t msgid;

        if (!t->waiting)
                return -EBADMSG;
        /* A reply addressed to no call (an error for every call on the
         * connection) is the task's too; one addressed to another is not. */
        if (rpc_frame_msgid(frame, len, RPC_RESPONSE, &msgid) && msgid != t->msgid)
                return -EBADMSG;
        t->waiting = false;
        return replay_add(t->replay, frame, len);
}

int rest_task_fail(rolesd_rest_task *t, int error, const rolesd_error *why) {
        t->waiting = false;
        return replay_add_error(t->replay, error, why);
}

size_t rest_task_recorded(const rolesd_rest_task *t) {
        return replay_recorded(t->replay);
}

/* Records a failure; a task that cannot even do that fails as a whole. */
static void task_fail(rolesd_rest_task *t, int error, const rolesd_error *why) {
        if (rest_task_fail(t, error, why) < 0)
                t->oom = true;
}

/* The call's outcome, from rolesd_process() on its connection. */
static void task_done(rolesd *c, rolesd_reply *reply, void *userdata) {
        rolesd_rest_task *t = userdata;
        const char *frame;
        rolesd_error why;
        size_t len;
        int r;

        t->conn = NULL;
        frame = reply_frame(reply, &len);
        if (!frame)
                task_fail(t, rolesd_reply_error(reply, &why), &why);
        else {
                r = rest_task_reply(t, frame, len);
                if (r == -ENOMEM)
                        t->oom = true;
                else if (r < 0) {
                        why = (rolesd_error) { .code = ROLESD_INTERNAL };
                        snprintf(why.message, sizeof why.message, "invalid reply from rolesd: the reply to another call");
                        task_fail(t, -EBADMSG, &why);
                }
        }
        t->wake(t, t->wake_userdata);
}

int rolesd_rest_task_send(rolesd_rest_task *t, rolesd *c, rolesd_rest_wake_fn wake, void *userdata) {
        const char *frame, *method;
        rolesd_error why;
        size_t len;
        uint32_t msgid;
        int r;

        if (!t || !wake)
                return -EINVAL;
        frame = replay_pending(t->replay, &len, &method);
        if (!frame || !t->waiting || t->conn)
                return -EINVAL;         /* not waiting for a call, or sent already */
        if (!c) {
                why = (rolesd_error) { .code = ROLESD_UNAVAILABLE };
                snprintf(why.message, sizeof why.message, "no connection to rolesd");
                r = -ENOTCONN;
        } else
                r = call_submit(c, frame, len, method, task_done, t, &msgid, &why);
        if (r < 0) {
                task_fail(t, r, &why);
                return r;
        }
        rest_task_sent(t, msgid);
        t->conn = c;
        t->wake = wake;
        t->wake_userdata = userdata;
        return 0;
}
