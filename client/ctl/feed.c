/* feed.c: rolesctl's commands of the change feed and of the database as a
 * whole: watch (notifications until interrupted), audit (the change log,
 * paged), backup (a descriptor passed to the daemon), export (JSON Lines)
 * and import (checked whole first, then pipelined batches, with a
 * progress line on a terminal). */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

/* An import batch: at most this many records (the daemon's cap) and
 * about this many bytes of JSON (the frame limit is 1 MiB; MessagePack is
 * smaller than JSON), and this many batches in flight on the connection. */
#define IMPORT_BATCH_RECORDS 1000
#define IMPORT_BATCH_BYTES (640u * 1024u)
#define IMPORT_INFLIGHT 4
/* A page of audit and export. */
#define PAGE_MAX 1000
/* How often the progress line is redrawn. */
#define PROGRESS_INTERVAL_USEC 200000ull

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static uint64_t org_filter(const Args *a) {
        return a->seen & OPT_ORG ? a->org : ROLESD_ALL_ORGS;
}

void check_revision_after(Args *a) {
        if (a->seen & OPT_AFTER)
                a->after_revision = parse_u64("--after", a->after);
}

/* ---- a change, as a line ---- */

static uint64_t get_u64(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t) json_integer_value(v) : 0;
}

static const char *get_str(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));

        return s ? s : "";
}

/* What the change is about, by name: a role's or org's name, a user's
 * username, a membership's role and user. */
static void change_subject(json_t *change, char *buf, size_t size) {
        json_t *rec = json_object_get(change, "after");
        const char *kind = get_str(change, "kind");

        if (!rec)
                rec = json_object_get(change, "before");
        buf[0] = '\0';
        if (strcmp(kind, "member") == 0)
                snprintf(buf, size, " %s to %s", get_str(rec, "api_id"), get_str(rec, "user"));
        else if (strcmp(kind, "user") == 0)
                snprintf(buf, size, " \"%s\"", get_str(rec, "username"));
        else if (strcmp(kind, "key") == 0)
                snprintf(buf, size, " %s", get_str(rec, "user_role"));
        else if (json_is_string(json_object_get(rec, "name")))
                snprintf(buf, size, " \"%s\"", get_str(rec, "name"));
}

static void principal_text(json_t *p, char *buf, size_t size) {
        const char *kind = get_str(p, "kind");

        if (strcmp(kind, "peer") == 0)
                snprintf(buf, size, "uid %" PRIu64 " (pid %" PRIu64 ")", get_u64(p, "uid"), get_u64(p, "pid"));
        else if (strcmp(kind, "api_key") == 0)
                snprintf(buf, size, "API key %s (%s)", get_str(p, "key_id"), get_str(p, "user_role"));
        else if (strcmp(kind, "user") == 0)
                snprintf(buf, size, "user %s", get_str(p, "user_id"));
        else
                snprintf(buf, size, "%s", kind[0] ? kind : "?");
}

/* "REV TIME OP KIND in org ORG: ID SUBJECT by PRINCIPAL", or the record
 * as one JSON line. 0, or -EIO when stdout cannot be written. */
static int print_change(const Args *a, json_t *change) {
        char when[48], subject[256], who[160], *line;
        int r;

        if (a->seen & OPT_JSON) {
                if (json_dumpf(change, stdout, JSON_COMPACT) < 0 || putchar('\n') == EOF)
                        return -EIO;
                return 0;
        }
        format_time(get_u64(change, "time"), when, sizeof when);
        change_subject(change, subject, sizeof subject);
        principal_text(json_object_get(change, "principal"), who, sizeof who);
        if (asprintf(&line, "%" PRIu64 " %s %s %s in org %" PRIu64 ": %s%s by %s", get_u64(change, "revision"),
                     when, get_str(change, "op"), get_str(change, "kind"), get_u64(change, "org"),
                     get_str(change, "id"), subject, who) < 0)
                return -ENOMEM;
        {
                char *safe = sanitize(line);

                r = safe && puts(safe) != EOF ? 0 : safe ? -EIO : -ENOMEM;
                free(safe);
        }
        free(line);
        return r;
}

static int output_failed(int r) {
        if (r == -ENOMEM)
                return report_oom();
        return report_new(ROLESD_INTERNAL, NULL, "cannot write output: %s", strerror(errno));
}

/* ---- audit ---- */

int cmd_audit(const Args *a, rolesd *c) {
        uint64_t after = a->after_revision, left = a->seen & OPT_LIMIT ? a->limit : UINT64_MAX;
        rolesd_error err;

        while (left > 0) {
                rolesd_change_page *p = NULL;
                unsigned limit = left < PAGE_MAX ? (unsigned) left : PAGE_MAX;
                size_t i, n;
                json_t *change;
                int r = rolesd_changes_list(c, after, limit, org_filter(a), &p, &err);

                if (r < 0)
                        return report_call(r, &err);
                n = json_array_size(p->changes);
                json_array_foreach(p->changes, i, change) {
                        r = print_change(a, change);
                        if (r < 0) {
                                rolesd_change_page_free(p);
                                return output_failed(r);
                        }
                }
                after = p->next_after;
                rolesd_change_page_free(p);
                if (n == 0)
                        break;          /* the end of the log */
                left -= n;
        }
        return EXIT_SUCCESS;
}

/* ---- watch ---- */

typedef struct Watch {
        const Args *args;
        uint64_t last;          /* the last revision printed (or the watch's start) */
        bool lost;              /* changes.lost: watch again after last */
        int failed;             /* printing failed: its error */
} Watch;

static void on_notify(rolesd *c, const char *method, json_t *params, void *userdata) {
        Watch *w = userdata;
        json_t *p = json_array_get(params, 0);

        if (strcmp(method, "changes.event") == 0 && json_is_object(p)) {
                uint64_t rev = get_u64(p, "revision");

                if (rev <= w->last)
                        return;         /* seen before a loss: not twice */
                if (!w->failed)
                        w->failed = print_change(w->args, p);
                w->last = rev;
        } else if (strcmp(method, "changes.lost") == 0 && json_is_object(p)) {
                w->lost = true;
                if (get_u64(p, "revision") > w->last)
                        w->last = get_u64(p, "revision");
        }
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
        interrupted = sig;
}

/* Starts (or resumes) the watch after w->last. */
static int watch_start(const Args *a, rolesd *c, Watch *w) {
        rolesd_error err;
        int r = rolesd_changes_watch(c, w->last, org_filter(a), NULL, NULL, &err);

        w->lost = false;
        return r < 0 ? report_call(r, &err) : 0;
}

int cmd_watch(const Args *a, rolesd *c) {
        Watch w = { .args = a, .last = a->after_revision };
        struct sigaction sa = { .sa_handler = on_signal };
        sigset_t block, orig;
        rolesd_error err;
        int r;

        /* The signals arrive only inside ppoll(): none is missed between
         * a check of interrupted and the wait. */
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &orig);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        if (!(a->seen & OPT_AFTER)) {           /* from now */
                json_t *st = NULL;

                r = rolesd_call(c, "server.status", NULL, &st, &err);
                if (r < 0)
                        return report_call(r, &err);
                w.last = get_u64(st, "revision");
                json_decref(st);
        }
        rolesd_set_notify(c, on_notify, &w);
        r = watch_start(a, c, &w);
        while (r == 0 && !interrupted) {
                uint64_t deadline;
                struct pollfd p;
                struct timespec ts, *tsp = NULL;
                int fd;

                /* what came so far is out before waiting (also the events
                 * that came with a synchronous call's reply) */
                if (w.failed || fflush(stdout) != 0) {
                        r = output_failed(w.failed ? w.failed : -EIO);
                        break;
                }
                fd = rolesd_get_fd(c);
                if (fd < 0) {
                        /* the connection is gone (rolesd restarted?): once
                         * more on a new one, after the last revision seen */
                        r = watch_start(a, c, &w);
                        continue;
                }
                p = (struct pollfd) { .fd = fd, .events = (short) rolesd_get_events(c) };
                rolesd_get_timeout(c, &deadline);
                if (deadline != UINT64_MAX) {
                        uint64_t now = now_usec(), d = deadline > now ? deadline - now : 0;

                        ts = (struct timespec) { (time_t) (d / 1000000u), (long) (d % 1000000u) * 1000 };
                        tsp = &ts;
                }
                if (ppoll(&p, 1, tsp, &orig) < 0 && errno != EINTR) {
                        r = report_new(ROLESD_INTERNAL, NULL, "cannot wait for rolesd: %s", strerror(errno));
                        break;
                }
                if (rolesd_process(c) < 0) {
                        r = report_new(ROLESD_INTERNAL, NULL, "cannot read from rolesd");
                        break;
                }
                if (w.lost && rolesd_get_fd(c) >= 0) {
                        fprintf(stderr, "rolesctl: rolesd dropped the watch (its output was not read fast "
                                "enough); watching again after revision %" PRIu64 "\n", w.last);
                        r = watch_start(a, c, &w);
                }
        }
        rolesd_set_notify(c, NULL, NULL);
        sigprocmask(SIG_SETMASK, &orig, NULL);
        return r;
}

/* ---- backup ---- */

int cmd_backup(const Args *a, rolesd *c) {
        const char *path = a->words[1];
        uint64_t revision = 0, bytes = 0;
        rolesd_error err;
        int fd, r;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return report_new(ROLESD_INVALID_ARGUMENT, "FILE", "cannot open %s: %s", path, strerror(errno));
        if (!(a->seen & OPT_TIMEOUT))
                rolesd_set_timeout(c, 0);       /* a large database takes its time */
        r = rolesd_db_backup(c, fd, &revision, &bytes, &err);
        if (r < 0) {
                close(fd);
                (void) unlink(path);            /* no partial copy left behind */
                return report_call(r, &err);
        }
        if (close(fd) < 0) {
                (void) unlink(path);
                return report_new(ROLESD_INTERNAL, "FILE", "cannot write %s: %s", path, strerror(errno));
        }
        if (a->seen & OPT_JSON) {
                json_t *j = json_pack("{s:s, s:I, s:I}", "file", path, "revision", (json_int_t) revision, "bytes",
                                      (json_int_t) bytes);

                if (!j)
                        return report_oom();
                print_json(j);
                json_decref(j);
        } else
                printf("backup %s: revision %" PRIu64 ", %" PRIu64 " bytes\n", path, revision, bytes);
        return EXIT_SUCCESS;
}

/* ---- export ---- */

int cmd_export(const Args *a, rolesd *c) {
        rolesd_export_page *p = NULL;
        rolesd_error err;
        char *after = NULL;
        int r;

        do {
                size_t i;
                json_t *rec;

                r = rolesd_db_export(c, after, PAGE_MAX, org_filter(a), &p, &err);
                free(after);
                after = NULL;
                if (r < 0)
                        return report_call(r, &err);
                json_array_foreach(p->records, i, rec)
                        if (json_dumpf(rec, stdout, JSON_COMPACT) < 0 || putchar('\n') == EOF) {
                                rolesd_export_page_free(p);
                                return output_failed(-EIO);
                        }
                if (p->next && !(after = strdup(p->next))) {
                        rolesd_export_page_free(p);
                        return report_oom();
                }
                p = rolesd_export_page_free(p);
        } while (after);
        return EXIT_SUCCESS;
}

/* ---- import ---- */

/* A record's identity: two lines with the same one are a duplicate. */
static char *record_identity(json_t *rec) {
        const char *type = get_str(rec, "type");
        char *id = NULL;

        if (strcmp(type, "member") == 0) {
                char *role = json_dumps(json_object_get(rec, "role"), JSON_ENCODE_ANY),
                     *user = json_dumps(json_object_get(rec, "user_id"), JSON_ENCODE_ANY);

                if (role && user && asprintf(&id, "member %" PRIu64 " %s %s", get_u64(rec, "org"), role, user) < 0)
                        id = NULL;
                free(role);
                free(user);
                return id;
        }
        {
                char *v = json_dumps(json_object_get(rec, "id"), JSON_ENCODE_ANY);

                if (v && asprintf(&id, "%s %s", type, v) < 0)
                        id = NULL;
                free(v);
        }
        return id;
}

/* The file, line by line: one record (a JSON object with a type) on each
 * non-empty line, the last one ending with a newline. */
typedef struct Reader {
        const char *path;
        FILE *f;
        char *line;
        size_t size;
        uint64_t lineno;
} Reader;

/* The next record in *ret (NULL at the end): 0, or the exit status of an
 * error reported with its line. */
static int read_record(Reader *rd, json_t **ret) {
        ssize_t n;

        *ret = NULL;
        for (;;) {
                json_error_t jerr;
                json_t *rec;

                errno = 0;
                n = getline(&rd->line, &rd->size, rd->f);
                if (n < 0) {
                        if (errno != 0)
                                return report_new(ROLESD_INTERNAL, "FILE", "cannot read %s: %s", rd->path,
                                                  strerror(errno));
                        return 0;
                }
                rd->lineno++;
                if (rd->line[n - 1] != '\n')
                        return report_new(ROLESD_INVALID_ARGUMENT, "FILE",
                                          "%s:%" PRIu64 ": truncated: the last line has no end; nothing was imported",
                                          rd->path, rd->lineno);
                if (strspn(rd->line, " \t\r\n") == (size_t) n)
                        continue;
                rec = json_loadb(rd->line, (size_t) n, 0, &jerr);
                if (!rec)
                        return report_new(ROLESD_INVALID_ARGUMENT, "FILE",
                                          "%s:%" PRIu64 ": not a JSON record (%s); nothing was imported", rd->path,
                                          rd->lineno, jerr.text);
                if (!json_is_object(rec) || !json_is_string(json_object_get(rec, "type"))) {
                        json_decref(rec);
                        return report_new(ROLESD_INVALID_ARGUMENT, "FILE",
                                          "%s:%" PRIu64 ": not an export record (an object with a type); nothing "
                                          "was imported", rd->path, rd->lineno);
                }
                *ret = rec;
                return 0;
        }
}

static int reader_open(Reader *rd, const char *path) {
        *rd = (Reader) { .path = path };
        rd->f = fopen(path, "re");
        if (!rd->f)
                return report_new(ROLESD_INVALID_ARGUMENT, "FILE", "cannot open %s: %s", path, strerror(errno));
        return 0;
}

static void reader_close(Reader *rd) {
        if (rd->f)
                fclose(rd->f);
        free(rd->line);
        rd->f = NULL;
        rd->line = NULL;
}

/* The first pass: every line a record, none twice. Counts them. */
static int import_check(const char *path, uint64_t *ret_n) {
        json_t *seen = json_object();
        json_t *rec = NULL;
        Reader rd;
        int r;

        if (!seen)
                return report_oom();
        r = reader_open(&rd, path);
        while (r == 0 && (r = read_record(&rd, &rec)) == 0 && rec) {
                char *id = record_identity(rec);
                json_t *first;

                json_decref(rec);
                if (!id) {
                        r = report_oom();
                        break;
                }
                first = json_object_get(seen, id);
                if (first)
                        r = report_new(ROLESD_INVALID_ARGUMENT, "FILE",
                                       "%s:%" PRIu64 ": duplicate of line %" PRIu64 " (%s); nothing was imported", path,
                                       rd.lineno, (uint64_t) json_integer_value(first), id);
                else if (json_object_set_new(seen, id, json_integer((json_int_t) rd.lineno)) < 0)
                        r = report_oom();
                free(id);
                (*ret_n)++;
        }
        reader_close(&rd);
        json_decref(seen);
        return r;
}

typedef struct Batch {
        struct Import *imp;
        uint64_t first;         /* index of its first record in the file's */
        size_t n;
        json_t *records;        /* a dry run's: to say what would change */
} Batch;

typedef struct Import {
        const Args *args;
        const char *path;
        uint64_t *lines;        /* the line of each record, by index */
        uint64_t total, done;
        uint64_t created, updated, unchanged;
        unsigned inflight;
        int failed;             /* the exit status of the first error, 0 */
        bool progress;          /* stderr is a terminal */
        uint64_t started, drawn;
} Import;

/* field "records.I[.FIELD]" of a batch's error: the record's line and FIELD. */
static int import_error(Import *imp, const Batch *b, rolesd_error *err) {
        const char *f = err->field, *msg = err->message;
        char rest[64] = "";
        unsigned long long i;
        int k = 0;

        if (strncmp(f, "records.", 8) == 0 && sscanf(f + 8, "%llu%n", &i, &k) == 1 && i < b->n) {
                uint64_t line = imp->lines[b->first + i];

                if (f[8 + k] == '.')
                        snprintf(rest, sizeof rest, "%s", f + 9 + k);
                /* the daemon's "record I: " says it by index: the line says it better */
                if (strncmp(msg, "record ", 7) == 0 && strstr(msg, ": "))
                        msg = strstr(msg, ": ") + 2;
                {
                        char text[1024];
                        size_t n;

                        snprintf(text, sizeof text, "%s:%" PRIu64 ": %s; nothing of lines %" PRIu64 "-%" PRIu64
                                 " was written", imp->path, line, msg, imp->lines[b->first],
                                 imp->lines[b->first + b->n - 1]);
                        n = strnlen(text, sizeof err->message - 1);
                        memcpy(err->message, text, n);
                        err->message[n] = '\0';
                }
                snprintf(err->field, sizeof err->field, "%s", rest);
        }
        return report(err);
}

static void progress_draw(Import *imp, bool last) {
        uint64_t now = now_usec(), elapsed = now - imp->started;
        double rate;

        if (!imp->progress || (!last && now - imp->drawn < PROGRESS_INTERVAL_USEC))
                return;
        imp->drawn = now;
        rate = elapsed ? (double) imp->done * 1e6 / (double) elapsed : 0;
        if (last) {
                fputs("\r\033[K", stderr);
                return;
        }
        fprintf(stderr, "\r\033[K%s %" PRIu64 "/%" PRIu64 " records, %.0f/s, ETA %.0fs",
                imp->args->seen & OPT_DRY_RUN ? "checking" : "importing", imp->done, imp->total, rate,
                rate > 0 ? (double) (imp->total - imp->done) / rate : 0.0);
        fflush(stderr);
}

/* A dry run says, line by line, what would change. */
static void dry_run_say(Import *imp, const Batch *b, const rolesd_import_result *res) {
        size_t i;
        json_t *what;

        json_array_foreach(res->results, i, what) {
                json_t *rec = json_array_get(b->records, i);
                const char *name = get_str(rec, "type")[0] == 'u' ? get_str(rec, "username") : get_str(rec, "name");
                char *safe, *id, *text = NULL;

                if (i >= b->n || !json_is_string(what) || strcmp(json_string_value(what), "unchanged") == 0)
                        continue;
                /* a member by its role and user; anything else by its id (an org's a number) */
                if (get_str(rec, "type")[0] == 'm')
                        id = asprintf(&text, "%s %s", get_str(rec, "api_id"), get_str(rec, "user")) < 0 ? NULL : text;
                else
                        id = json_dumps(json_object_get(rec, "id"), JSON_ENCODE_ANY);
                if (id && id[0] == '"')
                        memmove(id, id + 1, strlen(id)), id[strlen(id) - 1] = '\0';
                safe = sanitize(name);
                progress_draw(imp, true);
                printf("%s:%" PRIu64 ": would be %s: %s %s%s%s%s\n", imp->path, imp->lines[b->first + i],
                       json_string_value(what), get_str(rec, "type"), id ? id : "?",
                       safe && *safe ? " \"" : "", safe ? safe : "", safe && *safe ? "\"" : "");
                free(safe);
                free(id);
        }
}

static void on_batch(rolesd *c, rolesd_reply *reply, void *userdata) {
        Batch *b = userdata;
        Import *imp = b->imp;
        rolesd_import_result *res = NULL;
        rolesd_error err = ROLESD_ERROR_INIT;
        int r = rolesd_reply_import(reply, &res, &err);

        imp->inflight--;
        if (r < 0) {
                if (!imp->failed) {
                        progress_draw(imp, true);
                        imp->failed = import_error(imp, b, &err);
                }
        } else {
                if (res->dry_run && !(imp->args->seen & OPT_JSON))
                        dry_run_say(imp, b, res);
                imp->created += res->created;
                imp->updated += res->updated;
                imp->unchanged += res->unchanged;
                imp->done += b->n;
                progress_draw(imp, false);
        }
        rolesd_import_result_free(res);
        json_decref(b->records);
        free(b);
}

/* Sends records[0..) as one batch starting at record index first. */
static int import_send(Import *imp, rolesd *c, json_t *records, uint64_t first) {
        Batch *b = malloc(sizeof *b);
        int r;

        if (!b)
                return report_oom();
        *b = (Batch) { imp, first, json_array_size(records), NULL };
        if (imp->args->seen & OPT_DRY_RUN)
                b->records = json_incref(records);
        while (imp->inflight >= IMPORT_INFLIGHT && !imp->failed)
                if (rolesd_wait(c, UINT64_MAX) < 0)
                        break;
        if (imp->failed) {
                json_decref(b->records);
                free(b);
                return imp->failed;
        }
        r = rolesd_db_import_async(c, records, imp->args->seen & OPT_DRY_RUN, on_batch, b);
        if (r < 0) {
                rolesd_error err = ROLESD_ERROR_INIT;

                json_decref(b->records);
                free(b);
                snprintf(err.message, sizeof err.message, "cannot send a batch: %s", strerror(-r));
                err.code = r == -ECONNREFUSED ? ROLESD_UNAVAILABLE : ROLESD_RESOURCE_EXHAUSTED;
                return report(&err);
        }
        imp->inflight++;
        return 0;
}

/* The second pass: batches, pipelined; they apply in order. */
static int import_run(Import *imp, rolesd *c) {
        json_t *batch = json_array(), *rec = NULL;
        uint64_t index = 0, first = 0;
        size_t bytes = 0;
        Reader rd;
        int r;

        if (!batch)
                return report_oom();
        r = reader_open(&rd, imp->path);
        while (r == 0 && (r = read_record(&rd, &rec)) == 0) {
                size_t len = rec ? strlen(rd.line) : 0;

                if (json_array_size(batch) > 0 &&
                    (!rec || json_array_size(batch) == IMPORT_BATCH_RECORDS || bytes + len > IMPORT_BATCH_BYTES)) {
                        r = import_send(imp, c, batch, first);
                        json_decref(batch);
                        batch = json_array();
                        if (!batch && r == 0)
                                r = report_oom();
                        first = index;
                        bytes = 0;
                }
                if (!rec || r != 0)
                        break;
                if (index >= imp->total) {      /* the file grew since it was checked */
                        r = report_new(ROLESD_INVALID_ARGUMENT, "FILE", "%s changed while it was imported", imp->path);
                        break;
                }
                imp->lines[index++] = rd.lineno;
                bytes += len;
                if (json_array_append_new(batch, rec) < 0)
                        r = report_oom();
                rec = NULL;
        }
        json_decref(rec);
        json_decref(batch);
        reader_close(&rd);
        while (imp->inflight > 0)
                if (rolesd_wait(c, UINT64_MAX) < 0)
                        break;
        return r ? r : imp->failed;
}

int cmd_import(const Args *a, rolesd *c) {
        Import imp = { .args = a, .path = a->words[1], .progress = isatty(STDERR_FILENO) };
        bool dry = a->seen & OPT_DRY_RUN;
        int r;

        r = import_check(imp.path, &imp.total);
        if (r != 0)
                return r;
        if (imp.total == 0) {
                printf("%s: no records\n", imp.path);
                return EXIT_SUCCESS;
        }
        imp.lines = calloc(imp.total, sizeof *imp.lines);
        if (!imp.lines)
                return report_oom();
        imp.started = now_usec();
        r = import_run(&imp, c);
        progress_draw(&imp, true);
        free(imp.lines);
        if (r != 0) {
                if (imp.done > 0 && !dry)
                        fprintf(stderr, "%s: %" PRIu64 " records of the batches before it were imported (%" PRIu64
                                " created, %" PRIu64 " updated); running the import again after the fix goes on\n",
                                "rolesctl", imp.done, imp.created, imp.updated);
                return r;
        }
        if (a->seen & OPT_JSON) {
                json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:b}", "records", (json_int_t) imp.done, "created",
                                      (json_int_t) imp.created, "updated", (json_int_t) imp.updated, "unchanged",
                                      (json_int_t) imp.unchanged, "dry_run", dry);

                if (!j)
                        return report_oom();
                print_json(j);
                json_decref(j);
        } else if (imp.created + imp.updated == 0)
                printf("%" PRIu64 " records, all unchanged%s\n", imp.done, dry ? " (dry run)" : "");
        else
                printf("%" PRIu64 " records: %" PRIu64 " %s, %" PRIu64 " %s, %" PRIu64 " unchanged%s\n", imp.done,
                       imp.created, dry ? "would be created" : "created", imp.updated,
                       dry ? "would be updated" : "updated", imp.unchanged, dry ? " (dry run: nothing written)" : "");
        return EXIT_SUCCESS;
}
