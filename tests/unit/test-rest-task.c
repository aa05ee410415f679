/* test-rest-task.c: librolesd's REST tasks (rolesd/rest.h) as rolesd-http
 * drives them, with the daemon's answers written here: GET
 * /api/v1/roles.list pages through role.list, and each run of its task
 * must ask for the page after the last one answered, from the cursor that
 * page gave, without replaying the pages before (a run per page that
 * replayed every earlier one made a list of N pages cost N²/2 pages:
 * minutes for a million roles). The body must hold every role once, in
 * order, and a long one comes in bounded parts. The REST sources are
 * compiled in, for rest_task_recorded(). */
#include <errno.h>
#include <jansson.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include <rolesd/rest.h>

#include "check.h"
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

/* Page k of PAGES (from 1): per roles, "role-k" (per == 1) or
 * "role-k-i", and the cursor of the next; written into b, which keeps it,
 * and handed to t as the answer to its pending call. */
static void answer_page(rolesd_rest_task *t, Buf *b, unsigned k, unsigned per) {
        msgpack_packer pk;
        char name[32], cursor[32];

        buf_clear(b);
        msgpack_packer_init(&pk, b, buf_pack_write);
        ASSERT(rpc_pack_result_begin(&pk, 7) == 0);
        msgpack_pack_map(&pk, k < PAGES ? 5 : 4);
        pack_str(&pk, "roles");
        msgpack_pack_array(&pk, per);
        for (unsigned i = 0; i < per; i++) {
                if (per == 1)
                        snprintf(name, sizeof name, "role-%u", k);
                else
                        snprintf(name, sizeof name, "role-%u-%u", k, i);
                msgpack_pack_map(&pk, 7);
                pack_str(&pk, "id"), pack_str(&pk, name);
                pack_str(&pk, "name"), pack_str(&pk, name);
                pack_str(&pk, "scope"), pack_str(&pk, "Users");
                pack_str(&pk, "description"), pack_str(&pk, "a role listed to fill the answer past one part");
                pack_str(&pk, "protected"), msgpack_pack_false(&pk);
                pack_str(&pk, "mandatory2fa"), msgpack_pack_false(&pk);
                pack_str(&pk, "updated_at"), msgpack_pack_uint64(&pk, 1700000000000ull);
        }
        pack_str(&pk, "count"), msgpack_pack_uint32(&pk, PAGES * per);
        pack_str(&pk, "page"), msgpack_pack_uint32(&pk, k);
        pack_str(&pk, "max_page"), msgpack_pack_uint32(&pk, PAGES);
        if (k < PAGES) {
                snprintf(cursor, sizeof cursor, "cursor-%u", k);
                pack_str(&pk, "next"), pack_str(&pk, cursor);
        }
        ASSERT(!b->oom);
        ASSERT(rolesd_rest_task_reply(t, buf_head(b), buf_pending(b)) == 0);
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
                size_t len;
                bool ro;
                char *after, want[32];

                r = rolesd_rest_task_run(t, &req, &res, &frame, &len, &ro);
                runs++;
                if (r != 0)
                        break;
                ASSERT(ro);
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
                answer_page(t, &reply, ++answered, 1);
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
        size_t len;
        bool ro;

        ASSERT(rolesd_rest_task_run(t, &list_request, &res, &frame, &len, &ro) == 0);
        ASSERT(rolesd_rest_task_fail(t, -ECONNRESET) == 0);
        ASSERT(rolesd_rest_task_run(t, &list_request, &res, &frame, &len, &ro) == 1);
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
        size_t len;
        bool ro;

        ASSERT(t);
        ASSERT(rolesd_rest_task_run(t, &req, &res, &frame, &len, &ro) == 0);
        answer_page(t, &reply, 1, 1);
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
                size_t len;
                bool ro;
                int r = rolesd_rest_task_run(t, &req, &res, &frame, &len, &ro);

                ASSERT(rest_task_recorded(t) <= 1);
                if (r == 0) {
                        ASSERT(rest_task_recorded(t) == 0);
                        ASSERT(answered < PAGES);
                        answer_page(t, &reply, ++answered, per);
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
        size_t len;
        bool ro;
        int r;

        ASSERT(t);
        while ((r = rolesd_rest_task_run(t, &req, &res, &frame, &len, &ro)) == 0)
                answer_page(t, &reply, ++answered, 100);
        ASSERT(r == 1);
        ASSERT(res.status == 200 && res.more);
        rolesd_rest_response_done(&res);
        expect_503_when_next_page_lost(t);
        rolesd_rest_task_free(t);
        buf_done(&reply);
}

int main(void) {
        test_roles_list_pages_once();
        test_roles_list_failure_midway();
        test_roles_list_in_parts();
        test_roles_list_failure_after_a_part();
        printf("test-rest-task: %u checks passed\n", checks);
        return 0;
}
