/* example-async.c: a program a new user of librolesd writes, with an event
 * loop of its own: ten roles created at once (all in flight on one
 * connection), each reported by its callback, then the organization's
 * count read back. test_header.py builds it against the installed header
 * and library, as C99 and as C++11, both -pedantic, and runs it:
 *
 *   example-async [SOCKET [ORG [PREFIX]]]
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rolesd/client.h>

struct progress {
        unsigned pending;
        unsigned failed;
};

/* Runs once per role.create, from rolesd_process(). */
static void created(rolesd *c, rolesd_reply *reply, void *userdata) {
        struct progress *p = (struct progress *) userdata;
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_role *role = NULL;

        (void) c;
        if (rolesd_reply_role(reply, &role, &err) < 0) {
                fprintf(stderr, "role.create: %s: %s\n", rolesd_code_name(err.code), err.message);
                p->failed++;
        } else {
                printf("created %s (id %s)\n", role->name, role->id);
                rolesd_role_free(role);
        }
        p->pending--;
}

/* The poll() timeout, in ms, until librolesd's next deadline. */
static int timeout_ms(rolesd *c) {
        struct timespec ts;
        uint64_t now, until;

        if (rolesd_get_timeout(c, &until) < 0 || until == UINT64_MAX)
                return -1;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
        return until <= now ? 0 : (int) ((until - now + 999) / 1000);
}

int main(int argc, char *argv[]) {
        const char *socket = argc > 1 ? argv[1] : NULL;  /* NULL: $ROLESD_SOCKET, else the default */
        unsigned long long org = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
        const char *prefix = argc > 3 ? argv[3] : "Support";
        struct progress p = { 0, 0 };
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_role_page *page = NULL;
        rolesd *c = NULL;
        unsigned i;

        if (rolesd_connect(socket, &c, &err) < 0) {
                fprintf(stderr, "%s\n", err.message);
                return 1;
        }
        for (i = 0; i < 10; i++) {
                rolesd_role_spec spec;
                char name[64];

                memset(&spec, 0, sizeof spec);
                spec.size = sizeof spec;
                spec.org = org;
                snprintf(name, sizeof name, "%s %u", prefix, i);
                spec.name = name;       /* copied: it may change once the call is made */
                if (rolesd_role_create_async(c, NULL, &spec, created, &p) < 0) {
                        fprintf(stderr, "cannot make the call\n");
                        break;
                }
                p.pending++;
        }

        /* The event loop: here librolesd is all it waits for. */
        while (p.pending > 0) {
                struct pollfd pfd;

                pfd.fd = rolesd_get_fd(c);
                pfd.events = (short) rolesd_get_events(c);
                pfd.revents = 0;
                if (pfd.fd >= 0 && poll(&pfd, 1, timeout_ms(c)) < 0)
                        break;
                if (rolesd_process(c) < 0)
                        break;
        }

        /* A synchronous call on the same connection. */
        if (rolesd_role_list(c, NULL, org, 1, 1, NULL, &page, &err) < 0)
                fprintf(stderr, "role.list: %s: %s\n", rolesd_code_name(err.code), err.message);
        else
                printf("organization %llu has %llu roles\n", org, (unsigned long long) page->count);
        rolesd_role_page_free(page);
        rolesd_free(c);
        return p.failed > 0 || p.pending > 0;
}
