/* test-rest-task.c: librolesd's REST tasks (rolesd/rest.h) driven a step
 * at a time (client/rest/rest-internal.h), with the daemon's answers
 * written here: GET /api/v1/roles.list pages through role.list, and each
 * run of its task must ask for the page after the last one answered, from
 * the cursor that page gave, without replaying the pages before (a run per
 * page that replayed every earlier one made a list of N pages cost N²/2
 * pages: minutes for a million roles). The body must hold every role once,
 * in order, and a long one comes in bounded parts. A task takes only the
 * reply to its own call: two replies swapped between two tasks are
 * refused. Linked with the static REST and client libraries, for the
 * internal functions. */
#include <errno.h>
#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include <rolesd/rest.h>

#include "check.h"
#include "client/lib/conn.h"
#include "proto/buf.h"
#include "proto/rpc.h"
#include "proto/wire.h"
#include "client/rest/rest-internal.h"

#define PAGES 50u

static const char *header(void *userdata, const char *name) {
        (void) userdata;
        if (strcasecmp(name, "X-User-Id") == 0)
                return "u1";
        if (strcasecmp(name, "X-Auth-Token") == 0)
                return "t1";
        return NULL;
}

/* The `after` of a pending role.list request, or NULL when it has none. */
static char *request_after(const void *frame, size_t len) {
        msgpack_unpacked u;
        RpcMessage m = {0};
        const char *why = NULL;
        const msgpack_object *after;
        char *s = NULL;

        msgpack_unpacked_init(&u);
        ASSERT(rpc_decode(frame, len, &u, &m, &why) == 0);
        ASSERT(m.type == RPC_REQUEST);
        ASSERT(m.method_len == strlen("role.list") && memcmp(m.method, "role.list", m.method_len) == 0);
        ASSERT(m.params);
        after = mp_map_get(m.params, "after");
        if (after)
                ASSERT(mp_read_str(after, &s) == 0);
        msgpack_unpacked_destroy(&u);
        return s;
}

static void pack_str(msgpack_packer *pk, const char *s) {
        msgpack_pack_str(pk, strlen(s));
        msgpack_pack_str_body(pk, s, strlen(s));
}

/* A role map as the daemon sends it, with what the REST answers show. */
static void pack_role(msgpack_packer *pk, const char *name) {
        msgpack_pack_map(pk, 7);
        pack_str(pk, "id"), pack_str(pk, name);
        pack_str(pk, "name"), pack_str(pk, name);
        pack_str(pk, "scope"), pack_str(pk, "Users");
        pack_str(pk, "description"), pack_str(pk, "a role listed to fill the answer past one part");
        pack_str(pk, "protected"), msgpack_pack_false(pk);
        pack_str(pk, "mandatory2fa"), msgpack_pack_false(pk);
        pack_str(pk, "updated_at"), msgpack_pack_uint64(pk, 1700000000000ull);
}

/* The msgid of a request frame. */
static uint32_t request_msgid(const void *frame, size_t len) {
        uint32_t msgid = 0;

        ASSERT(rpc_frame_msgid(frame, len, RPC_REQUEST, &msgid));
        return msgid;
}

/* Page k of PAGES (from 1): per roles, "role-k" (per == 1) or
 * "role-k-i", and the cursor of the next; written into b, which keeps it,
 * and handed to t as the answer to its pending call (msgid). */
static void answer_page(rolesd_rest_task *t, uint32_t msgid, Buf *b, unsigned k, unsigned per) {
        msgpack_packer pk;
        char name[32], cursor[32];

        buf_clear(b);
        msgpack_packer_init(&pk, b, buf_pack_write);
        ASSERT(rpc_pack_result_begin(&pk, msgid) == 0);
        msgpack_pack_map(&pk, k < PAGES ? 5 : 4);
        pack_str(&pk, "roles");
        msgpack_pack_array(&pk, per);
        for (unsigned i = 0; i < per; i++) {
                if (per == 1)
                        snprintf(name, sizeof name, "role-%u", k);
                else
                        snprintf(name, sizeof name, "role-%u-%u", k, i);
                pack_role(&pk, name);
        }
        pack_str(&pk, "count"), msgpack_pack_uint32(&pk, PAGES * per);
        pack_str(&pk, "page"), msgpack_pack_uint32(&pk, k);
        pack_str(&pk, "max_page"), msgpack_pack_uint32(&pk, PAGES);
        if (k < PAGES) {
                snprintf(cursor, sizeof cursor, "cursor-%u", k);
                pack_str(&pk, "next"), pack_str(&pk, cursor);
        }
        ASSERT(!b->oom);
        ASSERT(rest_task_reply(t, buf_head(b), buf_pending(b)) == 0);
}

/* GET /api/v1/roles.list with a user id and token (the answers are written here). */
static const rolesd_rest_request list_request = {
        .method = "GET", .path = "/api/v1/roles.list", .header = header,
};

static void test_roles_list_pages_once(void) {
        const rolesd_rest_request req = list_request;
        rolesd_rest_task *t = rolesd_rest_task_new();
        rolesd_rest_response res = {0};
        Buf reply = {0};
        unsigned answered = 0, runs = 0;
        json_t *body, *roles;
        json_error_t e;
        int r;

        ASSERT(t);
        for (;;) {
                const void *frame;
                const char *method;
                size_t len;
                char *after, want[32];

                r = rest_task_step(t, &req, &res, &frame, &len, &method);
                runs++;
                if (r != 0)
                        break;
                ASSERT(method_read_only(method));
                /* Nothing kept of the pages before: they are in the body so far. */
                ASSERT(rest_task_recorded(t) == 0);
                after = request_after(frame, len);
                if (answered == 0)
                        ASSERT(!after);
                else {
                        snprintf(want, sizeof want, "cursor-%u", answered);
                        ASSERT(after && strcmp(after, want) == 0);
                }
                free(after);
                ASSERT(answered < PAGES);
                answer_page(t, request_msgid(frame, len), &reply, ++answered, 1);
        }
        ASSERT(r == 1);
        ASSERT(answered == PAGES && runs == PAGES + 1);
        ASSERT(res.status == 200);
        body = json_loadb(res.body, res.body_len, 0, &e);
        ASSERT(body);
        ASSERT(json_is_true(json_object_get(body, "success")));
        roles = json_object_get(body, "roles");
        ASSERT(json_array_size(roles) == PAGES);
        for (unsigned k = 1; k <= PAGES; k++) {
                char name[32];

                snprintf(name, sizeof name, "role-%u", k);
                ASSERT(strcmp(json_string_value(json_object_get(json_array_get(roles, k - 1), "name")), name) == 0);
        }
        json_decref(body);
        rolesd_rest_response_done(&res);
        buf_done(&reply);
        rolesd_rest_task_free(t);
}

/* The task asks for its next page and the connection to the daemon is
 * lost: the answer (or its last part) is a Rocket.Chat 503. */
static void expect_503_when_next_page_lost(rolesd_rest_task *t) {
        rolesd_rest_response res = {0};
        const void *frame;
        const char *method;
        size_t len;

        ASSERT(rest_task_step(t, &list_request, &res, &frame, &len, &method) == 0);
        ASSERT(rest_task_fail(t, -ECONNRESET, NULL) == 0);
        ASSERT(rest_task_step(t, &list_request, &res, &frame, &len, &method) == 1);
        ASSERT(res.status == 503 && !res.more);
        ASSERT(res.body && strstr(res.body, "\"success\":false"));
        rolesd_rest_response_done(&res);
}

/* A page that fails (the connection to the daemon lost) ends the list
 * with 503, whatever came before it. */
static void test_roles_list_failure_midway(void) {
        const rolesd_rest_request req = list_request;
        rolesd_rest_task *t = rolesd_rest_task_new();
        rolesd_rest_response res = {0};
        Buf reply = {0};
        const void *frame;
        const char *method;
        size_t len;

        ASSERT(t);
        ASSERT(rest_task_step(t, &req, &res, &frame, &len, &method) == 0);
        answer_page(t, request_msgid(frame, len), &reply, 1, 1);
        expect_503_when_next_page_lost(t);
        buf_done(&reply);
        rolesd_rest_task_free(t);
}

/* A list too long for one answer comes in parts: each part but the last
 * says more follow, none much longer than ROLESD_REST_PART_SIZE, and
 * together they are the one body (every role once, in order). Each run
 * still asks only the page after the last, holding no reply before it. */
static void test_roles_list_in_parts(void) {
        const rolesd_rest_request req = list_request;
        rolesd_rest_task *t = rolesd_rest_task_new();
        const unsigned per = 100;
        Buf reply = {0}, whole = {0};
        unsigned answered = 0, parts = 0;
        json_t *body, *roles;
        json_error_t e;
        bool more = true;

        ASSERT(t);
        while (more) {
                rolesd_rest_response res = {0};
                const void *frame;
                const char *method;
                size_t len;
                int r = rest_task_step(t, &req, &res, &frame, &len, &method);

                ASSERT(rest_task_recorded(t) <= 1);
                if (r == 0) {
                        ASSERT(rest_task_recorded(t) == 0);
                        ASSERT(answered < PAGES);
                        answer_page(t, request_msgid(frame, len), &reply, ++answered, per);
                        continue;
                }
                ASSERT(r == 1);
                ASSERT(res.status == 200 && res.body);
                parts++;
                more = res.more;
                if (more)
                        ASSERT(res.body_len >= ROLESD_REST_PART_SIZE &&
                               res.body_len < ROLESD_REST_PART_SIZE + 2 * buf_pending(&reply));
                ASSERT(buf_append(&whole, res.body, res.body_len) == 0);
                rolesd_rest_response_done(&res);
        }
        ASSERT(answered == PAGES);
        ASSERT(parts >= 3);
        body = json_loadb(buf_head(&whole), buf_pending(&whole), 0, &e);
        ASSERT(body);
        ASSERT(json_is_true(json_object_get(body, "success")));
        roles = json_object_get(body, "roles");
        ASSERT(json_array_size(roles) == PAGES * per);
        for (unsigned k = 1; k <= PAGES; k++)
                for (unsigned i = 0; i < per; i++) {
                        char name[32];

                        snprintf(name, sizeof name, "role-%u-%u", k, i);
                        ASSERT(strcmp(json_string_value(json_object_get(json_array_get(roles, (k - 1) * per + i),
                                                                        "name")), name) == 0);
                }
        json_decref(body);
        rolesd_rest_task_free(t);
        buf_done(&whole);
        buf_done(&reply);
}

/* The daemon lost after the first part: the answer ends with another
 * status, which the server turns into a truncated body. */
static void test_roles_list_failure_after_a_part(void) {
        const rolesd_rest_request req = list_request;
        rolesd_rest_task *t = rolesd_rest_task_new();
        rolesd_rest_response res = {0};
        Buf reply = {0};
        unsigned answered = 0;
        const void *frame;
        const char *method;
        size_t len;
        int r;

        ASSERT(t);
        while ((r = rest_task_step(t, &req, &res, &frame, &len, &method)) == 0)
                answer_page(t, request_msgid(frame, len), &reply, ++answered, 100);
        ASSERT(r == 1);
        ASSERT(res.status == 200 && res.more);
        rolesd_rest_response_done(&res);
        expect_503_when_next_page_lost(t);
        rolesd_rest_task_free(t);
        buf_done(&reply);
}

/* POST /api/v1/roles.create of a role named name. */
static rolesd_rest_request create_request(const char *body) {
        return (rolesd_rest_request) {
                .method = "POST", .path = "/api/v1/roles.create", .header = header,
                .body = body, .body_len = strlen(body),
        };
}

/* The daemon's answer to role.create (msgid): the role made, named name. */
static void created(Buf *b, uint32_t msgid, const char *name) {
        msgpack_packer pk;

        msgpack_packer_init(&pk, b, buf_pack_write);
        ASSERT(rpc_pack_result_begin(&pk, msgid) == 0);
        pack_role(&pk, name);
        ASSERT(!b->oom);
}

/* Runs t to its role.create call, which goes out with msgid. */
static void create_sent(rolesd_rest_task *t, const rolesd_rest_request *req, uint32_t msgid) {
        rolesd_rest_response res = {0};
        const void *frame;
        const char *method;
        size_t len;

        ASSERT(rest_task_step(t, req, &res, &frame, &len, &method) == 0);
        ASSERT(strcmp(method, "role.create") == 0);
        rest_task_sent(t, msgid);
}

/* Answers 200 with the role named name. */
static void expect_created(rolesd_rest_task *t, const rolesd_rest_request *req, const char *name) {
        rolesd_rest_response res = {0};
        const void *frame;
        const char *method;
        char want[64];
        size_t len;

        ASSERT(rest_task_step(t, req, &res, &frame, &len, &method) == 1);
        ASSERT(res.status == 200 && res.body);
        snprintf(want, sizeof want, "\"name\":\"%s\"", name);
        ASSERT(strstr(res.body, want));
        rolesd_rest_response_done(&res);
}

/* Two creates in flight on one connection, their replies handed over
 * swapped: each task refuses the other's (it answered 200 with the other's
 * role once), keeps waiting, and answers with its own when it comes. */
static void test_swapped_replies_refused(void) {
        const rolesd_rest_request req_a = create_request("{\"name\":\"alpha\"}");
        const rolesd_rest_request req_b = create_request("{\"name\":\"beta\"}");
        rolesd_rest_task *a = rolesd_rest_task_new(), *b = rolesd_rest_task_new();
        Buf reply_a = {0}, reply_b = {0};

        ASSERT(a && b);
        create_sent(a, &req_a, 101);
        create_sent(b, &req_b, 102);
        created(&reply_a, 101, "alpha");
        created(&reply_b, 102, "beta");

        ASSERT(rest_task_reply(a, buf_head(&reply_b), buf_pending(&reply_b)) == -EBADMSG);
        ASSERT(rest_task_reply(b, buf_head(&reply_a), buf_pending(&reply_a)) == -EBADMSG);
        ASSERT(rest_task_recorded(a) == 0 && rest_task_recorded(b) == 0);

        ASSERT(rest_task_reply(a, buf_head(&reply_a), buf_pending(&reply_a)) == 0);
        ASSERT(rest_task_reply(b, buf_head(&reply_b), buf_pending(&reply_b)) == 0);
        expect_created(a, &req_a, "alpha");
        expect_created(b, &req_b, "beta");

        /* Answered: a late reply finds nothing waiting for it. */
        ASSERT(rest_task_reply(a, buf_head(&reply_a), buf_pending(&reply_a)) == -EBADMSG);
        buf_done(&reply_a);
        buf_done(&reply_b);
        rolesd_rest_task_free(a);
        rolesd_rest_task_free(b);
}

int main(void) {
        test_roles_list_pages_once();
        test_roles_list_failure_midway();
        test_roles_list_in_parts();
        test_roles_list_failure_after_a_part();
        test_swapped_replies_refused();
        printf("test-rest-task: %u checks passed\n", checks);
        return 0;
}
