/* test-errors.c: librolesd's return values tell failures apart without
 * err, against the real daemon, through the public header only. Run by
 * test_errors.py:
 *
 *   test-errors SOCKET calls ORG     as root: no socket (-ECONNREFUSED) is
 *                                    not a missing role (-ENOENT), which is
 *                                    not a missing organization (-ENXIO);
 *                                    -EEXIST, -EBUSY from a callback,
 *                                    -ECANCELED from rolesd_reset(), the
 *                                    typed server status, the version
 *   test-errors SOCKET refused ORG   as a peer the daemon refuses: -EACCES
 *                                    (ROLESD_PERMISSION_DENIED), for a
 *                                    synchronous call and an asynchronous one
 *   test-errors SOCKET noaccess ORG  as a user the socket file's mode keeps
 *                                    out: -ECONNREFUSED (ROLESD_UNAVAILABLE),
 *                                    the socket's own reason in the message
 *
 * Prints one line; exits 0, or 1 with the failed check. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rolesd/client.h>

#include "check.h"

static uint64_t org;

static int get(rolesd *c, uint64_t in_org, const char *name, rolesd_error *err) {
        rolesd_role *role = NULL;
        int r = rolesd_role_get(c, NULL, in_org, "name", name, &role, err);

        rolesd_role_free(role);
        return r;
}

typedef struct Outcome {
        int r;
        rolesd_error err;
        bool done;
} Outcome;

static void record(rolesd *c, rolesd_reply *reply, void *userdata) {
        Outcome *o = userdata;

        o->r = rolesd_reply_error(reply, &o->err);
        o->done = true;
}

/* Tries a synchronous call from a callback: refused, the call fails. */
static void call_inside(rolesd *c, rolesd_reply *reply, void *userdata) {
        Outcome *o = userdata;

        o->r = get(c, org, "ORG_ADMIN", &o->err);
        ASSERT(rolesd_process(c) == -EBUSY);
        ASSERT(rolesd_wait(c, 0) == -EBUSY);
        ASSERT(rolesd_reset(c) == -EBUSY);
        o->done = true;
}

static void wait_done(rolesd *c, const Outcome *o) {
        while (!o->done)
                ASSERT(rolesd_wait(c, UINT64_MAX) >= 0);
}

static void test_calls(const char *socket) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_role_spec spec = { .size = sizeof spec, .org = org, .name = "twice" };
        rolesd_status *st = NULL;
        char missing[512];
        Outcome o = {0};
        rolesd *c = NULL;

        /* No socket at all: not reachable, not "not found". */
        snprintf(missing, sizeof missing, "%s.missing", socket);
        ASSERT(rolesd_connect(missing, &c, &err) == -ECONNREFUSED && !c);
        ASSERT(err.code == ROLESD_UNAVAILABLE && strstr(err.message, strerror(ENOENT)));
        ASSERT(err.size == sizeof err);         /* the caller's, untouched */

        ASSERT(rolesd_connect(socket, &c, &err) == 0);
        ASSERT(get(c, org, "no-such-role", &err) == -ENOENT && err.code == ROLESD_NOT_FOUND);
        ASSERT(get(c, 987654321, "ORG_ADMIN", &err) == -ENXIO && err.code == ROLESD_NOT_FOUND);
        ASSERT(strcmp(err.field, "org") == 0);
        ASSERT(get(c, org, "no-such-role", NULL) == -ENOENT);   /* the same without err */
        ASSERT(get(c, 987654321, "ORG_ADMIN", NULL) == -ENXIO);
        ASSERT(rolesd_role_create(c, NULL, &spec, NULL, NULL) == 0);
        ASSERT(rolesd_role_create(c, NULL, &spec, NULL, &err) == -EEXIST && err.code == ROLESD_DUPLICATE);

        /* Waiting from a callback of the same connection. */
        ASSERT(rolesd_role_get_async(c, NULL, org, "name", "ORG_ADMIN", call_inside, &o) == 0);
        wait_done(c, &o);
        ASSERT(o.r == -EBUSY);

        /* A reset with a call in flight: called back, -ECANCELED; the next
         * call connects again. */
        o = (Outcome) {0};
        ASSERT(rolesd_role_get_async(c, NULL, org, "name", "ORG_ADMIN", record, &o) == 0);
        ASSERT(rolesd_reset(c) == 0);
        ASSERT(o.done && o.r == -ECANCELED && o.err.code == ROLESD_UNAVAILABLE);
        ASSERT(rolesd_get_fd(c) == -ENOTCONN);
        ASSERT(get(c, org, "ORG_ADMIN", &err) == 0);

        ASSERT(rolesd_server_status(c, &st, &err) == 0);
        ASSERT(st->version && *st->version && st->organizations >= 1 && st->roles >= 6 && st->connections >= 1);
        ASSERT(rolesd_version() && *rolesd_version());
        printf("distinct errnos; rolesd %s, library %s, %llu roles\n", st->version, rolesd_version(),
               (unsigned long long) st->roles);
        rolesd_status_free(st);
        rolesd_free(c);
}

static void test_refused(const char *socket) {
        rolesd_error err = ROLESD_ERROR_INIT;
        Outcome o = {0};
        rolesd *c = NULL;

        /* The kernel connects; the daemon refuses this peer on its first word. */
        ASSERT(rolesd_connect(socket, &c, &err) == 0);
        ASSERT(get(c, org, "ORG_ADMIN", &err) == -EACCES && err.code == ROLESD_PERMISSION_DENIED);
        ASSERT(rolesd_role_get_async(c, NULL, org, "name", "ORG_ADMIN", record, &o) == 0);
        wait_done(c, &o);
        ASSERT(o.r == -EACCES && o.err.code == ROLESD_PERMISSION_DENIED);
        printf("refused: %s\n", o.err.message);
        rolesd_free(c);
}

static void test_noaccess(const char *socket) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd *c = NULL;

        ASSERT(rolesd_connect(socket, &c, &err) == -ECONNREFUSED);
        ASSERT(err.code == ROLESD_UNAVAILABLE && strstr(err.message, strerror(EACCES)));
        printf("no access: %s\n", err.message);
}

int main(int argc, char *argv[]) {
        if (argc != 4) {
                fprintf(stderr, "usage: test-errors SOCKET calls|refused|noaccess ORG\n");
                return 2;
        }
        org = strtoull(argv[3], NULL, 10);
        if (strcmp(argv[2], "calls") == 0)
                test_calls(argv[1]);
        else if (strcmp(argv[2], "refused") == 0)
                test_refused(argv[1]);
        else if (strcmp(argv[2], "noaccess") == 0)
                test_noaccess(argv[1]);
        else
                return 2;
        return 0;
}
