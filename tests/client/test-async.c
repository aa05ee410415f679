/* test-async.c: librolesd's asynchronous API against the real daemon,
 * through the public header only. Run by test_async.py, which starts
 * rolesd (tests/integration/harness.py) and gives the socket:
 *
 *   test-async SOCKET inflight ORG   10,000 calls in flight at once, writes
 *                                    (answered after their commit) mixed
 *                                    with writes the daemon refuses on
 *                                    sight (answered at once, before the
 *                                    write ahead of them commits) and
 *                                    reads (answered after the
 *                                    connection's writes before them): a
 *                                    callback per call, exactly once, each
 *                                    with its own call's reply, some out of
 *                                    the order they were made in
 *   test-async SOCKET free ORG       rolesd_free() with calls in flight
 *                                    calls each back once (-ECANCELED), and
 *                                    so does rolesd_free() from a callback
 *   test-async SOCKET deadline ORG   connects, says "ready" on stdout, and
 *                                    once a line comes on stdin (the daemon
 *                                    is SIGSTOPped meanwhile) makes calls
 *                                    that must each end with -ETIMEDOUT
 *
 * Prints one line of counts; exits 0, or 1 with the failed check. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rolesd/client.h>

#include "check.h"

#define INFLIGHT 10000u

/* One call made, and what its callback saw. */
typedef struct Call {
        unsigned index;         /* in the order made */
        bool write;             /* role.create (else role.get) */
        bool refused;           /* a role.create with a bad scope */
        unsigned callbacks;
        int r;                  /* its outcome */
        rolesd_error err;
} Call;

typedef struct Run {
        Call *calls;
        unsigned n;
        unsigned done;          /* callbacks so far */
        unsigned out_of_order;  /* callbacks for a call made before the one called back last */
        unsigned last;
        uint64_t org;
        unsigned round;         /* a run of calls, in the roles' names */
        bool free_in_callback;  /* the first callback frees the connection */
} Run;

static Run run;

static void role_name(unsigned i, char *buf, size_t size) {
        snprintf(buf, size, "async-%u-%u", run.round, i);
}

/* Every callback: once per call, with that call's own reply. */
static void on_reply(rolesd *c, rolesd_reply *reply, void *userdata) {
        Call *call = userdata;
        rolesd_role *role = NULL;
        char want[32];

        ASSERT(call >= run.calls && call < run.calls + run.n);
        ASSERT(call->callbacks == 0);
        call->callbacks++;
        if (run.done > 0 && call->index < run.last)
                run.out_of_order++;
        run.last = call->index;
        run.done++;
        ASSERT(strcmp(rolesd_reply_method(reply), call->write || call->refused ? "role.create" : "role.get") == 0);
        call->r = rolesd_reply_role(reply, &role, &call->err);
        if (call->refused && call->err.code != ROLESD_UNAVAILABLE) {    /* not cancelled, not timed out */
                ASSERT(call->r == -EINVAL);
                ASSERT(strcmp(call->err.field, "scope") == 0);
        } else if (call->r >= 0) {
                if (call->write)
                        role_name(call->index, want, sizeof want);
                else
                        snprintf(want, sizeof want, "ORG_ADMIN");
                ASSERT(role && strcmp(role->name, want) == 0);
                ASSERT(role->org == run.org);
        }
        rolesd_role_free(role);
        if (run.free_in_callback && run.done == 1)
                ASSERT(rolesd_free(c) == NULL);         /* deferred until the callbacks return */
}

/* Makes n calls, in turn a create (write), a create the daemon refuses
 * (a bad scope, seen before the write is queued) and a get (read). */
static void make_calls(rolesd *c, unsigned n) {
        run.calls = calloc(n, sizeof *run.calls);
        ASSERT(run.calls);
        run.n = n;
        for (unsigned i = 0; i < n; i++) {
                Call *call = &run.calls[i];
                char name[32];

                *call = (Call) { .index = i, .write = i % 3 == 0, .refused = i % 3 == 1 };
                if (call->write || call->refused) {
                        role_name(i, name, sizeof name);
                        ASSERT(rolesd_role_create_async(c, NULL,
                                                        &(rolesd_role_spec) { .org = run.org, .name = name,
                                                                              .scope = call->refused ? "Everyone" : NULL },
                                                        on_reply, call) == 0);
                } else
                        ASSERT(rolesd_role_get_async(c, NULL, run.org, "name", "ORG_ADMIN", on_reply, call) == 0);
        }
}

static void test_inflight(rolesd *c) {
        rolesd_role_page *page = NULL;
        rolesd_error err;
        unsigned writes = 0;

        /* The daemon under valgrind is slow: no deadline that could pass. */
        ASSERT(rolesd_set_timeout(c, 0) == 0);
        make_calls(c, INFLIGHT);
        ASSERT(run.done == 0);          /* callbacks only from rolesd_process() */
        while (run.done < INFLIGHT)
                ASSERT(rolesd_wait(c, UINT64_MAX) >= 0);
        for (unsigned i = 0; i < INFLIGHT; i++) {
                ASSERT(run.calls[i].callbacks == 1);
                if (run.calls[i].r < 0)
                        fprintf(stderr, "call %u: %s: %s\n", i, rolesd_code_name(run.calls[i].err.code),
                                run.calls[i].err.message);
                ASSERT(run.calls[i].r == (run.calls[i].refused ? -EINVAL : 0));
                writes += run.calls[i].write;
        }
        /* A refused write is answered at once, the write before it after
         * its commit. */
        ASSERT(run.out_of_order > 0);
        /* Nothing more comes. */
        ASSERT(rolesd_process(c) == 0);
        ASSERT(rolesd_wait(c, 0) == 0);
        ASSERT(run.done == INFLIGHT);

        /* Each write happened once: the organization has them all. */
        ASSERT(rolesd_role_list(c, NULL, run.org, 1, 1, NULL, &page, &err) == 0);
        ASSERT(page->count == writes + 5);      /* + its five built-in roles */
        rolesd_role_page_free(page);
        printf("%u calls, %u callbacks, %u out of order, %u writes\n", INFLIGHT, run.done, run.out_of_order, writes);
}

/* Every call was called back once, failed: the connection was freed. */
static void check_all_cancelled(unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                Call *call = &run.calls[i];

                ASSERT(call->callbacks == 1);
                if (call->r < 0 && !(call->refused && call->r == -EINVAL)) {
                        ASSERT(call->r == -ECANCELED);
                        ASSERT(call->err.code == ROLESD_UNAVAILABLE);
                }
        }
}

static void test_free(const char *socket) {
        rolesd *c = NULL;
        rolesd_error err;
        unsigned n = 1000, failed = 0;

        /* Freed at once: every call is called back, from rolesd_free().
         * (The writes sent may still be made: the next round's names
         * differ.) */
        ASSERT(rolesd_connect(socket, &c, &err) == 0);
        make_calls(c, n);
        ASSERT(run.done == 0);
        ASSERT(rolesd_free(c) == NULL);
        ASSERT(run.done == n);
        for (unsigned i = 0; i < n; i++)
                failed += run.calls[i].r < 0;
        ASSERT(failed == n);            /* none was processed: none has its reply */
        check_all_cancelled(n);
        free(run.calls);

        /* Freed from the first callback: the others are called back once
         * that callback returns, and rolesd_process() returns. */
        run = (Run) { .org = run.org, .round = 1, .free_in_callback = true };
        ASSERT(rolesd_connect(socket, &c, &err) == 0);
        make_calls(c, n);
        while (run.done == 0)
                (void) rolesd_wait(c, UINT64_MAX);      /* c is gone once done > 0 */
        ASSERT(run.done == n);
        check_all_cancelled(n);
        printf("freed with %u calls in flight: %u callbacks each time\n", n, run.done);
}

static void test_deadline(rolesd *c) {
        rolesd_role *role = NULL;
        rolesd_error err;
        char line[16];
        unsigned n = 100;

        printf("ready\n");
        fflush(stdout);
        ASSERT(fgets(line, sizeof line, stdin));        /* the daemon is stopped now */

        ASSERT(rolesd_set_timeout(c, 200 * 1000) == 0);
        make_calls(c, n);
        while (run.done < n)
                ASSERT(rolesd_wait(c, UINT64_MAX) >= 0);
        for (unsigned i = 0; i < n; i++) {
                ASSERT(run.calls[i].callbacks == 1);
                ASSERT(run.calls[i].r == -ETIMEDOUT);
                ASSERT(run.calls[i].err.code == ROLESD_UNAVAILABLE);
        }
        /* A synchronous call too, on a connection made again. */
        ASSERT(rolesd_role_get(c, NULL, run.org, "name", "ORG_ADMIN", &role, &err) == -ETIMEDOUT);
        ASSERT(err.code == ROLESD_UNAVAILABLE && !role);
        printf("%u calls timed out, each called back once\n", n);
}

int main(int argc, char *argv[]) {
        rolesd *c = NULL;
        rolesd_error err;

        if (argc != 4) {
                fprintf(stderr, "usage: test-async SOCKET inflight|free|deadline ORG\n");
                return 2;
        }
        run.org = strtoull(argv[3], NULL, 10);
        if (strcmp(argv[2], "free") == 0) {
                test_free(argv[1]);
                free(run.calls);
                return 0;
        }
        if (rolesd_connect(argv[1], &c, &err) < 0) {
                fprintf(stderr, "cannot connect: %s\n", err.message);
                return 1;
        }
        if (strcmp(argv[2], "inflight") == 0)
                test_inflight(c);
        else if (strcmp(argv[2], "deadline") == 0)
                test_deadline(c);
        else
                return 2;
        rolesd_free(c);
        free(run.calls);
        return 0;
}
