/* test-heal.c: librolesd's connections that heal, against the real
 * daemon, through the public header only. Run by test_heal.py, which
 * starts, stops and restarts rolesd (tests/integration/harness.py) and
 * gives the socket; a line on stdout ("ready", "sent N") asks it to act,
 * a line on stdin says it did:
 *
 *   test-heal SOCKET idle ORG      the daemon (--idle-timeout 1) closes an
 *                                  idle connection: the next call, made
 *                                  synchronously or not, connects again
 *   test-heal SOCKET restart ORG   "ready": the daemon is restarted; the
 *                                  next calls connect to the new one
 *   test-heal SOCKET unknown ORG   "ready": the daemon is SIGSTOPped; then
 *                                  a read and writes, until some wait to be
 *                                  sent; "sent N": the daemon is killed and
 *                                  started again. The writes that were sent
 *                                  fail with -ECONNABORTED (outcome unknown)
 *                                  and are not sent again (the new daemon
 *                                  has none of them); the others, and the
 *                                  read, go to the new daemon and succeed
 *
 * Prints one line of counts; exits 0, or 1 with the failed check. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rolesd/client.h>

#include "check.h"

#define WRITES_MAX 100000u

static uint64_t org;

/* Waits for the line the driver sends once it did what was asked. */
static void ask(const char *what) {
        char line[64];

        printf("%s\n", what);
        fflush(stdout);
        ASSERT(fgets(line, sizeof line, stdin));
}

static int get_builtin(rolesd *c, rolesd_error *err) {
        rolesd_role *role = NULL;
        int r = rolesd_role_get(c, NULL, org, "name", "ORG_ADMIN", &role, err);

        ASSERT(r < 0 || (role && strcmp(role->name, "ORG_ADMIN") == 0));
        rolesd_role_free(role);
        return r;
}

/* Waits (60 s at most) until the daemon has closed the connection, without
 * letting librolesd see it. */
static void wait_for_close(rolesd *c) {
        struct pollfd p = { .fd = rolesd_get_fd(c), .events = POLLIN };

        ASSERT(p.fd >= 0);
        ASSERT(poll(&p, 1, 60 * 1000) == 1);
}

static void on_get(rolesd *c, rolesd_reply *reply, void *userdata) {
        int *r = userdata;
        rolesd_error err = ROLESD_ERROR_INIT;

        *r = rolesd_reply_role(reply, NULL, &err);
        if (*r < 0)
                fprintf(stderr, "role.get: %s\n", err.message);
}

static void test_idle(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        int r = 1;

        ASSERT(get_builtin(c, &err) == 0);
        wait_for_close(c);
        if (get_builtin(c, &err) < 0)
                fprintf(stderr, "after an idle close: %s\n", err.message);
        ASSERT(err.code == ROLESD_OK);

        wait_for_close(c);
        ASSERT(rolesd_role_get_async(c, NULL, org, "name", "ORG_ADMIN", on_get, &r) == 0);
        while (r == 1)
                ASSERT(rolesd_wait(c, UINT64_MAX) >= 0);
        ASSERT(r == 0);
        printf("a call after each of two idle closes: answered\n");
}

static void test_restart(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_role_spec spec = { .size = sizeof spec, .org = org, .name = "before-restart" };
        rolesd_role *role = NULL;

        ASSERT(rolesd_role_create(c, NULL, &spec, NULL, &err) == 0);
        ask("ready");
        if (rolesd_role_get(c, NULL, org, "name", "before-restart", &role, &err) < 0)
                fprintf(stderr, "after a restart: %s\n", err.message);
        ASSERT(role && strcmp(role->name, "before-restart") == 0);
        rolesd_role_free(role);
        spec.name = "after-restart";
        ASSERT(rolesd_role_create(c, NULL, &spec, NULL, &err) == 0);
        printf("calls after a restart: answered\n");
}

/* A write of test_unknown and its outcome. */
typedef struct Write {
        char name[32];
        int r;
        rolesd_error err;
        bool done;
} Write;

static void on_create(rolesd *c, rolesd_reply *reply, void *userdata) {
        Write *w = userdata;

        ASSERT(!w->done);
        w->done = true;
        w->r = rolesd_reply_role(reply, NULL, &w->err);
}

static void test_unknown(rolesd *c) {
        static Write writes[WRITES_MAX];
        rolesd_error err = ROLESD_ERROR_INIT;
        unsigned n = 0, extra = 0, ok = 0, aborted = 0;
        int read_r = 1;
        char line[32];

        /* No deadline: a write must fail for its connection, not its time. */
        ASSERT(rolesd_set_timeout(c, 0) == 0);
        ASSERT(get_builtin(c, &err) == 0);
        ask("ready");                           /* the daemon is stopped */

        ASSERT(rolesd_role_get_async(c, NULL, org, "name", "ORG_ADMIN", on_get, &read_r) == 0);
        /* Writes until the socket takes no more: some wait to be sent. */
        while (n < WRITES_MAX && extra < 10) {
                rolesd_role_spec spec = { .size = sizeof spec, .org = org, .name = writes[n].name };

                snprintf(writes[n].name, sizeof writes[n].name, "unknown-%u", n);
                ASSERT(rolesd_role_create_async(c, NULL, &spec, on_create, &writes[n]) == 0);
                n++;
                if (rolesd_get_events(c) & POLLOUT)
                        extra++;
        }
        ASSERT(extra == 10);
        snprintf(line, sizeof line, "sent %u", n);
        ask(line);                              /* the daemon is killed, and started again */

        while (read_r == 1)
                ASSERT(rolesd_wait(c, UINT64_MAX) >= 0);
        for (unsigned i = 0; i < n; i++)
                while (!writes[i].done)
                        ASSERT(rolesd_wait(c, UINT64_MAX) >= 0);
        ASSERT(read_r == 0);                    /* a read is sent again */
        for (unsigned i = 0; i < n; i++) {
                Write *w = &writes[i];
                rolesd_role *role = NULL;
                int r = rolesd_role_get(c, NULL, org, "name", w->name, &role, &err);

                if (w->r == 0) {
                        /* Not sent before the loss: sent again, made once. */
                        ASSERT(r == 0 && role);
                        ok++;
                } else {
                        /* Sent: never sent again, whatever happened to it. */
                        ASSERT(w->r == -ECONNABORTED);
                        ASSERT(w->err.code == ROLESD_UNAVAILABLE);
                        ASSERT(strstr(w->err.message, "unknown"));
                        ASSERT(r == -ENOENT && err.code == ROLESD_NOT_FOUND);
                        aborted++;
                }
                rolesd_role_free(role);
        }
        ASSERT(aborted > 0 && ok > 0);
        printf("%u writes: %u sent and lost (-ECONNABORTED, not made), %u sent again and made\n", n, aborted, ok);
}

int main(int argc, char *argv[]) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd *c = NULL;

        if (argc != 4) {
                fprintf(stderr, "usage: test-heal SOCKET idle|restart|unknown ORG\n");
                return 2;
        }
        org = strtoull(argv[3], NULL, 10);
        if (rolesd_connect(argv[1], &c, &err) < 0) {
                fprintf(stderr, "cannot connect: %s\n", err.message);
                return 1;
        }
        if (strcmp(argv[2], "idle") == 0)
                test_idle(c);
        else if (strcmp(argv[2], "restart") == 0)
                test_restart(c);
        else if (strcmp(argv[2], "unknown") == 0)
                test_unknown(c);
        else
                return 2;
        rolesd_free(c);
        return 0;
}
