/* phase-transfer.c: export and import (issue 18), through librolesd as
 * rolesctl does them: the big organization (N roles) exported page by
 * page (db.export, 1,000 records a page) to a JSON Lines file, then that
 * file imported into a second, empty daemon (db.import, batches of up to
 * 1,000 records, 4 in flight on one connection), each rate as a ratio to
 * the bulk load's (role.create, 4 connections x 2048 pipelined) measured
 * earlier in the same run. Target: each >= 0.5. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rolesd/client.h>

#include "phase.h"

#define TRANSFER_PAGE 1000u
#define TRANSFER_BATCH_BYTES (640u * 1024u)
#define TRANSFER_INFLIGHT 4u

static rolesd *connect_to(const char *sock) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd *c = NULL;

        if (rolesd_connect(sock, &c, &err) < 0)
                die("librolesd: cannot connect to %s: %s", sock, err.message);
        rolesd_set_timeout(c, 0);
        return c;
}

/* The org's records into path, one a line; returns how many. */
static uint64_t export_org(const char *sock, uint64_t org, const char *path) {
        rolesd *c = connect_to(sock);
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_export_page *p = NULL;
        FILE *f = fopen(path, "we");
        char *after = NULL;
        uint64_t n = 0;

        if (!f)
                die("cannot write %s: %s", path, strerror(errno));
        do {
                size_t i;
                json_t *rec;

                if (rolesd_db_export(c, after, TRANSFER_PAGE, org, &p, &err) < 0)
                        die("db.export: %s", err.message);
                free(after);
                after = p->next ? strdup(p->next) : NULL;
                json_array_foreach(p->records, i, rec) {
                        json_dumpf(rec, f, JSON_COMPACT);
                        fputc('\n', f);
                }
                n += json_array_size(p->records);
                p = rolesd_export_page_free(p);
        } while (after);
        if (fclose(f) != 0)
                die("cannot write %s", path);
        rolesd_free(c);
        return n;
}

typedef struct Import {
        unsigned inflight;
        uint64_t created, done;
} Import;

static void on_import(rolesd *c, rolesd_reply *reply, void *userdata) {
        Import *imp = userdata;
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_import_result *res = NULL;

        if (rolesd_reply_import(reply, &res, &err) < 0)
                die("db.import: %s (%s)", err.message, err.field);
        imp->inflight--;
        imp->created += res->created;
        imp->done += json_array_size(res->results);
        rolesd_import_result_free(res);
}

static void import_send(rolesd *c, Import *imp, json_t *batch) {
        while (imp->inflight >= TRANSFER_INFLIGHT)
                if (rolesd_wait(c, UINT64_MAX) < 0)
                        die("librolesd: cannot wait");
        if (rolesd_db_import_async(c, batch, false, on_import, imp) < 0)
                die("db.import: cannot send a batch");
        imp->inflight++;
}

/* path's records into the daemon at sock; returns how many it created. */
static uint64_t import_file(const char *sock, const char *path, uint64_t *ret_done) {
        rolesd *c = connect_to(sock);
        FILE *f = fopen(path, "re");
        json_t *batch = json_array();
        Import imp = {0};
        char *line = NULL;
        size_t size = 0, bytes = 0;
        ssize_t len;

        if (!f || !batch)
                die("cannot read %s", path);
        while ((len = getline(&line, &size, f)) > 0) {
                json_t *rec = json_loadb(line, (size_t) len, 0, NULL);

                if (!rec)
                        die("%s: not JSON", path);
                if (json_array_size(batch) == TRANSFER_PAGE || bytes + (size_t) len > TRANSFER_BATCH_BYTES) {
                        import_send(c, &imp, batch);
                        json_decref(batch);
                        batch = json_array();
                        bytes = 0;
                }
                json_array_append_new(batch, rec);
                bytes += (size_t) len;
        }
        if (json_array_size(batch) > 0)
                import_send(c, &imp, batch);
        json_decref(batch);
        free(line);
        fclose(f);
        while (imp.inflight > 0)
                if (rolesd_wait(c, UINT64_MAX) < 0)
                        die("librolesd: cannot wait");
        rolesd_free(c);
        *ret_done = imp.done;
        return imp.created;
}

void phase_transfer(Bench *b) {
        double load_rate = (double) b->opt.big_n / b->load_s;
        const char *path = fmt("%s/export.jsonl", b->daemon.dir);
        Daemon empty = {
                .rolesd = b->opt.rolesd, .dir = b->daemon.dir, .notify_fd = -1,
                .db = strdup(fmt("%s/db-import", b->daemon.dir)),
                .sock = strdup(fmt("%s/rolesd-import.sock", b->daemon.dir)),
                .notify = strdup(fmt("%s/notify-import", b->daemon.dir)),
                .log = strdup(fmt("%s/rolesd-import.log", b->daemon.dir)),
        };
        uint64_t n, created, done;
        double t0, export_s, import_s;

        row_section(fmt("export and import (issue 18): org %u, %s roles", ORG_BIG, b->big_label));
        note("exporting org %u ...", ORG_BIG);
        t0 = now_s();
        n = export_org(b->daemon.sock, ORG_BIG, path);
        export_s = now_s() - t0;

        daemon_start(&empty);
        note("importing %" PRIu64 " records into an empty daemon ...", n);
        t0 = now_s();
        created = import_file(empty.sock, path, &done);
        import_s = now_s() - t0;
        daemon_stop(&empty);
        if (done != n || created < b->opt.big_n)
                die("import: %" PRIu64 " of %" PRIu64 " records answered, %" PRIu64 " created", done, n, created);
        (void) unlink(path);

        double er = ratio((double) n / export_s, load_rate), ir = ratio((double) n / import_s, load_rate);
        fig("transfer.export.records_per_s", (double) n / export_s, "ops/s");
        fig("transfer.import.records_per_s", (double) n / import_s, "ops/s");
        fig("transfer.export.ratio_to_load", er, "x");
        fig("transfer.import.ratio_to_load", ir, "x");
        row(fmt("export of %" PRIu64 " records (db.export, 1,000 a page)", n),
            fmt("%10s  %.1f s", fmt_rate((double) n / export_s), export_s),
            fmt("x%.2f the bulk load (%s)", er, fmt_rate(load_rate)));
        row(fmt("import of them into an empty daemon (4 x 1,000 in flight)"),
            fmt("%10s  %.1f s", fmt_rate((double) n / import_s), import_s), fmt("x%.2f the bulk load", ir));
        target("export >= 50% of the bulk load's rate", er, ">=", 0.5, true);
        target("import into an empty daemon >= 50% of the bulk load's rate", ir, ">=", 0.5, true);
        free(empty.db);
        free(empty.sock);
        free(empty.notify);
        free(empty.log);
}
