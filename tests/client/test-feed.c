/* test-feed.c: librolesd 1.2's calls of the change feed, backup, export,
 * import and role.sync, against the real daemon, through the public header
 * only. Run by test_feed_calls.py:
 *
 *   test-feed SOCKET ORG BACKUP    ORG: a fresh Partoo organization;
 *                                  BACKUP: a path to write a backup to
 *
 * A watch sees, as notifications, a create made on another connection;
 * changes.list pages; a backup goes out with its descriptor (and a call
 * queued right behind it is answered too); export pages; import is
 * idempotent and its errors name the record; role.sync; each call also
 * asynchronously; arguments refused before sending. Prints one line;
 * exits 0, or 1 with the failed check. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rolesd/client.h>

#include "expect.h"

static uint64_t org;

typedef struct Seen {
        unsigned events, lost, others;
        json_t *last;           /* the last change seen */
} Seen;

static void on_notify(rolesd *c, const char *method, json_t *params, void *userdata) {
        Seen *s = userdata;

        check(json_is_array(params) && json_array_size(params) == 1);
        if (strcmp(method, "changes.event") == 0) {
                s->events++;
                json_decref(s->last);
                s->last = json_incref(json_array_get(params, 0));
        } else if (strcmp(method, "changes.lost") == 0)
                s->lost++;
        else
                s->others++;
}

static uint64_t status_revision(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        json_t *st = NULL;
        uint64_t rev;

        check_eq(rolesd_call(c, "server.status", NULL, &st, &err), 0);
        check(json_is_integer(json_object_get(st, "revision")));
        rev = (uint64_t) json_integer_value(json_object_get(st, "revision"));
        json_decref(st);
        return rev;
}

static rolesd_role *create(rolesd *c, const char *name) {
        rolesd_role_spec spec = { sizeof spec, org, name, NULL, "feed", NULL, NULL, false };
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_role *r = NULL;

        check_eq(rolesd_role_create(c, NULL, &spec, &r, &err), 0);
        return r;
}

/* The watch sees a create made on another connection, then ends. */
static void watch(rolesd *c, rolesd *other) {
        rolesd_error err = ROLESD_ERROR_INIT;
        Seen seen = {0};
        uint64_t from = status_revision(c), began = 0, last = 0;
        uint32_t w = 0;
        rolesd_role *r;

        check_eq(rolesd_set_notify(c, on_notify, &seen), 0);
        check_eq(rolesd_changes_watch(c, from, org, &w, &began, &err), 0);
        check(w > 0 && began >= from);
        r = create(other, "Watched");
        while (seen.events == 0)
                check(rolesd_wait(c, UINT64_MAX) >= 0);
        check_eq(seen.lost + seen.others, 0);
        check(strcmp(json_string_value(json_object_get(seen.last, "op")), "create") == 0);
        check(strcmp(json_string_value(json_object_get(seen.last, "kind")), "role") == 0);
        check(strcmp(json_string_value(json_object_get(seen.last, "id")), r->id) == 0);
        check_eq(json_integer_value(json_object_get(seen.last, "revision")), r->revision);
        check(json_is_object(json_object_get(seen.last, "principal")));

        /* a second watch on the connection, then the end of this one */
        expect(rolesd_changes_watch(c, from, org, NULL, NULL, &err), &err, -ENOSPC, ROLESD_RESOURCE_EXHAUSTED, NULL);
        check_eq(rolesd_changes_unwatch(c, w, &last, &err), 0);
        check_eq(last, r->revision);
        expect(rolesd_changes_unwatch(c, w, &last, &err), &err, -ENOENT, ROLESD_NOT_FOUND, "watch");
        rolesd_role_free(create(other, "Unwatched"));
        check_eq(status_revision(c), r->revision + 1);          /* a call's round trip: no event came */
        check_eq(seen.events, 1);
        check_eq(rolesd_set_notify(c, NULL, NULL), 0);
        json_decref(seen.last);
        rolesd_role_free(r);
}

/* changes.list pages through the org's records; its errors. */
static void list(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_change_page *p = NULL;
        uint64_t after = 0, prev = 0, now = status_revision(c);
        size_t n = 0;

        for (;;) {
                check_eq(rolesd_changes_list(c, after, 1, org, &p, &err), 0);
                if (json_array_size(p->changes) == 0) {
                        check_eq(p->next_after, p->revision);
                        p = rolesd_change_page_free(p);
                        break;
                }
                check_eq(json_array_size(p->changes), 1);
                check((uint64_t) json_integer_value(json_object_get(json_array_get(p->changes, 0), "revision")) > prev);
                prev = p->next_after;
                check_eq(json_integer_value(json_object_get(json_array_get(p->changes, 0), "org")), org);
                after = p->next_after;
                n++;
                p = rolesd_change_page_free(p);
        }
        check(n >= 3);  /* org.add, two creates */
        expect(rolesd_changes_list(c, now + 100, 10, ROLESD_ALL_ORGS, &p, &err), &err, -EINVAL,
               ROLESD_INVALID_ARGUMENT, "after");
        expect(rolesd_changes_list(c, 0, 1001, ROLESD_ALL_ORGS, &p, &err), &err, -EINVAL, ROLESD_INVALID_ARGUMENT,
               "limit");
        check(!p);
}

static void on_list(rolesd *c, rolesd_reply *reply, void *userdata) {
        rolesd_change_page *p = NULL;

        check_eq(rolesd_reply_change_page(reply, &p, NULL), 0);
        check(json_array_size(p->changes) > 0);
        rolesd_change_page_free(p);
        ++*(unsigned *) userdata;
}

static void on_backup(rolesd *c, rolesd_reply *reply, void *userdata) {
        uint64_t rev = 0, bytes = 0;

        check_eq(rolesd_reply_backup(reply, &rev, &bytes, NULL), 0);
        check(rev > 0 && bytes > 0);
        ++*(unsigned *) userdata;
}

/* A backup through a passed descriptor; one refused; one pipelined. */
static void backup(rolesd *c, const char *path) {
        rolesd_error err = ROLESD_ERROR_INIT;
        uint64_t rev = 0, bytes = 0, now = status_revision(c);
        unsigned done = 0;
        struct stat st;
        char magic[4];
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        check(fd >= 0);
        check_eq(rolesd_db_backup(c, fd, &rev, &bytes, &err), 0);
        check(rev >= now);
        check(fstat(fd, &st) == 0);
        check_eq(st.st_size, bytes);
        check(fcntl(fd, F_GETFD) >= 0);         /* still the caller's */
        close(fd);
        /* LMDB's meta page: the magic 0xBEEFC0DE at offset 16 */
        fd = open(path, O_RDONLY | O_CLOEXEC);
        check(fd >= 0 && pread(fd, magic, 4, 16) == 4);
        check(memcmp(magic, "\xde\xc0\xef\xbe", 4) == 0);

        /* not open for writing: the daemon's refusal; none: the library's */
        expect(rolesd_db_backup(c, fd, &rev, &bytes, &err), &err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL);
        close(fd);
        expect(rolesd_db_backup(c, -1, &rev, &bytes, &err), &err, -EINVAL, ROLESD_INVALID_ARGUMENT, "fd");

        /* pipelined: a backup and a list queued behind it, both answered */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        check(fd >= 0);
        check_eq(rolesd_db_backup_async(c, fd, on_backup, &done), 0);
        check_eq(rolesd_changes_list_async(c, 0, 5, ROLESD_ALL_ORGS, on_list, &done), 0);
        check_eq(rolesd_db_backup_async(c, fd, on_backup, &done), 0);
        close(fd);      /* the library holds its own copy until sent */
        while (done < 3)
                check(rolesd_wait(c, UINT64_MAX) >= 0);
}

/* The org's records, paged 2 by 2. */
static json_t *export_org(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_export_page *p = NULL;
        json_t *all = json_array();
        char *after = NULL;
        unsigned pages = 0;

        do {
                check_eq(rolesd_db_export(c, after, 2, org, &p, &err), 0);
                free(after);
                after = p->next ? strdup(p->next) : NULL;
                check(json_array_size(p->records) <= 2);
                json_array_extend(all, p->records);
                p = rolesd_export_page_free(p);
                pages++;
        } while (after);
        check(pages >= 2);
        return all;
}

static json_t *find_role(json_t *records, const char *name) {
        size_t i;
        json_t *rec;

        json_array_foreach(records, i, rec)
                if (strcmp(json_string_value(json_object_get(rec, "type")), "role") == 0 &&
                    strcmp(json_string_value(json_object_get(rec, "name")), name) == 0)
                        return rec;
        return NULL;
}

/* Export, import the same (unchanged), a changed one (updated), a bad one. */
static void export_import(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_import_result *res = NULL;
        json_t *records = export_org(c), *role, *bad;
        size_t n = json_array_size(records);

        check(json_is_object(json_array_get(records, 0)));
        check(strcmp(json_string_value(json_object_get(json_array_get(records, 0), "type")), "org") == 0);
        role = find_role(records, "Watched");
        check(role);
        check_eq(rolesd_db_import(c, records, false, &res, &err), 0);
        check_eq(res->unchanged, n);
        check_eq(res->created + res->updated, 0);
        check_eq(json_array_size(res->results), n);
        res = rolesd_import_result_free(res);

        json_object_set_new(role, "description", json_string("imported"));
        check_eq(rolesd_db_import(c, records, true, &res, &err), 0);
        check(res->dry_run);
        check_eq(res->updated, 1);
        res = rolesd_import_result_free(res);
        check_eq(rolesd_db_import(c, records, false, &res, &err), 0);
        check(!res->dry_run);
        check_eq(res->updated, 1);
        check_eq(res->unchanged, n - 1);
        res = rolesd_import_result_free(res);

        bad = json_pack("[o, {s:s}]", json_incref(json_array_get(records, 0)), "type", "nonsense");
        check(bad);
        expect(rolesd_db_import(c, bad, false, &res, &err), &err, -EINVAL, ROLESD_INVALID_ARGUMENT, NULL);
        check(strncmp(err.field, "records.1", 9) == 0);
        check(!res);
        json_decref(bad);
        expect(rolesd_db_import(c, NULL, false, &res, &err), &err, -EINVAL, ROLESD_INVALID_ARGUMENT, "records");
        json_decref(records);
}

static void role_sync(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_sync_page *s = NULL;
        size_t i;
        json_t *r;
        bool found = false;

        check_eq(rolesd_role_sync(c, NULL, org, 1, &s, &err), 0);
        json_array_foreach(s->update, i, r)
                found |= strcmp(json_string_value(json_object_get(r, "name")), "Watched") == 0;
        check(found);
        check(json_is_array(s->remove));
        rolesd_sync_page_free(s);
}

/* ---- asynchronously ---- */

typedef struct Async {
        unsigned done;
        uint32_t watch;
} Async;

static void on_watch_end(rolesd *c, rolesd_reply *reply, void *userdata);

static void on_watch(rolesd *c, rolesd_reply *reply, void *userdata) {
        Async *a = userdata;
        uint64_t rev = 0;

        check_eq(rolesd_reply_watch(reply, &a->watch, &rev, NULL), 0);
        check(a->watch > 0 && rev > 0);
        check_eq(rolesd_changes_unwatch_async(c, a->watch, on_watch_end, a), 0);     /* from a callback */
        a->done++;
}

static void on_watch_end(rolesd *c, rolesd_reply *reply, void *userdata) {
        uint64_t rev = 0;

        check_eq(rolesd_reply_revision(reply, &rev, NULL), 0);
        ((Async *) userdata)->done++;
}

static void on_export(rolesd *c, rolesd_reply *reply, void *userdata) {
        rolesd_export_page *p = NULL;

        check_eq(rolesd_reply_export_page(reply, &p, NULL), 0);
        check(json_array_size(p->records) > 0);
        rolesd_export_page_free(p);
        ((Async *) userdata)->done++;
}

static void on_import(rolesd *c, rolesd_reply *reply, void *userdata) {
        rolesd_import_result *res = NULL;

        check_eq(rolesd_reply_import(reply, &res, NULL), 0);
        check(res->dry_run && res->unchanged == 1);
        rolesd_import_result_free(res);
        ((Async *) userdata)->done++;
}

static void on_sync(rolesd *c, rolesd_reply *reply, void *userdata) {
        rolesd_sync_page *s = NULL;

        check_eq(rolesd_reply_role_sync(reply, &s, NULL), 0);
        check(json_array_size(s->update) > 0);
        rolesd_sync_page_free(s);
        ((Async *) userdata)->done++;
}

static void on_list_async(rolesd *c, rolesd_reply *reply, void *userdata) {
        unsigned n = 0;

        on_list(c, reply, &n);
        ((Async *) userdata)->done++;
}

static void async_calls(rolesd *c) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd_export_page *p = NULL;
        json_t *one;
        Async a = {0};

        check_eq(rolesd_db_export(c, NULL, 1, org, &p, &err), 0);
        one = json_incref(p->records);
        rolesd_export_page_free(p);

        check_eq(rolesd_changes_watch_async(c, 0, org, on_watch, &a), 0);
        check_eq(rolesd_changes_list_async(c, 0, 10, org, on_list_async, &a), 0);
        check_eq(rolesd_db_export_async(c, NULL, 10, org, on_export, &a), 0);
        check_eq(rolesd_db_import_async(c, one, true, on_import, &a), 0);
        check_eq(rolesd_role_sync_async(c, NULL, org, 1, on_sync, &a), 0);
        while (a.done < 6)
                check(rolesd_wait(c, UINT64_MAX) >= 0);
        json_decref(one);

        /* refused before sending */
        check_eq(rolesd_db_import_async(c, NULL, false, on_import, &a), -EINVAL);
        check_eq(rolesd_db_backup_async(c, -1, on_backup, &a), -EINVAL);
        check_eq(rolesd_changes_list_async(c, (uint64_t) INT64_MAX + 1, 0, ROLESD_ALL_ORGS, on_list, &a), -EINVAL);
}

int main(int argc, char **argv) {
        rolesd_error err = ROLESD_ERROR_INIT;
        rolesd *c = NULL, *other = NULL;

        if (argc != 4) {
                fprintf(stderr, "usage: test-feed SOCKET ORG BACKUP\n");
                return 2;
        }
        org = strtoull(argv[2], NULL, 10);
        check_eq(rolesd_connect(argv[1], &c, &err), 0);
        check_eq(rolesd_connect(argv[1], &other, &err), 0);
        check(strcmp(rolesd_version(), "1.2.0") == 0);
        watch(c, other);
        list(c);
        backup(c, argv[3]);
        export_import(c);
        role_sync(c);
        async_calls(c);
        rolesd_free(other);
        rolesd_free(c);
        printf("librolesd %s: the change feed, backup, export, import and role.sync (%u checks)\n",
               rolesd_version(), checks);
        return 0;
}
