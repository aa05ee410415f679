/* fuzz-common.h: what the daemon-side fuzz targets share: a daemon without
 * sockets or threads (the real dispatcher over a real LMDB store in a
 * temporary directory, and one connection's buffers, fed as conn.c feeds
 * them), writes applied synchronously instead of by the writer thread and
 * completed, as the writer does, after dispatch_frame() returned, and
 * deterministic randomness so the credentials made at setup are the same
 * in every run and can appear in the seed corpora (ids begin with the
 * time, which is fixed too). Link with
 * -Wl,--wrap=writer_submit,--wrap=randombytes_buf,--wrap=randombytes_uniform,--wrap=time
 * (tests/fuzz/meson.build). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/dispatch.h"
#include "daemon/store.h"
#include "proto/buf.h"
#include "proto/scan.h"

#define FUZZ_ORG_ADMIN_ORG      1       /* an ORG_ADMIN key of org 1 ("acme" provider) */
#define FUZZ_PROVIDER           "acme"  /* orgs 1 and 2; org 3 is "other" */

/* The connection's side, as conn.c keeps it. */
typedef struct FuzzConn {
        Buf in, out;
        Scanner scan;
        unsigned inflight;              /* writes queued, not yet answered */
} FuzzConn;

typedef struct FuzzDaemon {
        Store *store;
        Dispatcher *dispatch;
        FuzzConn conn;
        char dir[64];
        /* Credentials made at setup (deterministic). */
        char *key_org_admin;            /* ORG_ADMIN, org 1 */
        char *key_org_admin2;           /* ORG_ADMIN, org 2 */
        char *key_provider;             /* PROVIDER, provider acme */
        char *key_publisher;            /* PUBLISHER, org 1 */
        char *admin_user_id, *admin_token;      /* Rocket.Chat user with role admin */
        char *plain_user_id, *plain_token;      /* Rocket.Chat user with role user */
} FuzzDaemon;

extern FuzzDaemon fuzz_daemon;

/* Opens the store in a new temporary directory (removed at exit), makes
 * orgs 1..3, the keys and users above, a role in org 1 ("Existing", api_id
 * "existing") and one in the workspace ("existing-rc", held by bob), users
 * carl (org 1, holding existing and ORG_ADMIN) and dora (org 1), with
 * writes committed. Prints the
 * credentials when $ROLESD_FUZZ_PRINT_SETUP is set. Aborts on failure. */
void fuzz_daemon_setup(void);

/* From now on writes are applied in one transaction per input, which
 * fuzz_input_end() aborts, so every input sees the same database. */
void fuzz_input_begin(void);
void fuzz_input_end(void);

/* Feeds a byte stream through the scanner and dispatch_frame() as conn.c
 * does, at most max_frames frames; checks that every request got exactly
 * one well-formed reply to its msgid and that no reply is "internal".
 * Leaves the replies in fuzz_daemon.conn.out. Returns the number of frames. */
size_t fuzz_feed_stream(const uint8_t *data, size_t size, size_t max_frames);

/* The fake daemon as librolesd sees it: bytes a client send()s are fed
 * through fuzz_feed_stream(), recv() returns what is in conn.out (0, i.e.
 * end of file, when nothing is: the daemon closed the connection). Used
 * with --wrap=send,--wrap=recv by the REST fuzzer. */
void fuzz_client_reset(void);
