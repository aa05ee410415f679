/* log.c: one line per message on stderr, prefixed with its sd-daemon
 * priority (unless stderr is a terminal, where a person reads it) and,
 * when an errno is given, suffixed with its text. Changes go to the
 * journal as structured entries when journald is there (checked once), or
 * as lines gathered and written with one write() per delivery of the
 * writer (a storm of creates must not pay a write() each). */
#define SD_JOURNAL_SUPPRESS_LOCATION 1

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

int log_max_level = LOG_INFO;

int log_internal(int level, int error, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int e = error < 0 ? -error : error;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        char prefix[8] = "";

        if (!isatty(STDERR_FILENO))
                snprintf(prefix, sizeof prefix, "<%d>", level);
        if (e > 0)
                fprintf(stderr, "%s%s: %s\n", prefix, buf, strerror(e));
        else
                fprintf(stderr, "%s%s\n", prefix, buf);
        return -e;
}

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define CHANGE_LINES_MAX (64u * 1024u)

static int journal_present = -1;        /* unknown until the first change */
static int stderr_tty = -1;
static char change_lines[CHANGE_LINES_MAX];
static size_t change_lines_len;

static const char *past(const char *op) {
        static const struct { const char *op, *past; } t[] = {
                { "create", "created" }, { "update", "updated" }, { "delete", "deleted" },
                { "add", "added" }, { "remove", "removed" },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
                if (strcmp(op, t[i].op) == 0)
                        return t[i].past;
        return op;
}

/* "member bob added to role X in org 0 by uid 0 (pid 42), revision 7" */
static void change_message(const LogChange *c, char *buf, size_t n) {
        char who[160];

        if (c->peer)
                snprintf(who, sizeof who, "uid %u (pid %d)", (unsigned) c->uid, (int) c->pid);
        else
                snprintf(who, sizeof who, "%s %s", strcmp(c->principal, "api_key") == 0 ? "API key" : "user",
                         c->principal_id ? c->principal_id : "?");
        if (strcmp(c->kind, "member") == 0)
                snprintf(buf, n, "member %s %s role %s in org %" PRIu64 " by %s, revision %" PRIu64,
                         c->user ? c->user : "?", strcmp(c->op, "add") == 0 ? "added to" : "removed from", c->id,
                         c->org, who, c->revision);
        else
                snprintf(buf, n, "%s %s %s in org %" PRIu64 " by %s, revision %" PRIu64, c->kind, c->id, past(c->op),
                         c->org, who, c->revision);
}

void log_changes_flush(void) {
        size_t off = 0;

        while (off < change_lines_len) {
                ssize_t k = write(STDERR_FILENO, change_lines + off, change_lines_len - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;          /* stderr is gone: nothing to tell anyone */
                off += (size_t) k;
        }
        change_lines_len = 0;
}

void log_change(const LogChange *c) {
        char message[768];

        if (journal_present < 0)
                journal_present = access(JOURNAL_SOCKET, F_OK) == 0;
        change_message(c, message, sizeof message);
        if (journal_present) {
                char f[14][800];
                struct iovec iov[14];
                int n = 0;

#define FIELD(...) do { snprintf(f[n], sizeof f[n], __VA_ARGS__); iov[n] = (struct iovec) { f[n], strlen(f[n]) }; n++; } while (0)
                FIELD("MESSAGE=%s", message);
                FIELD("MESSAGE_ID=%s", LOG_CHANGE_MESSAGE_ID);
                FIELD("PRIORITY=%d", LOG_INFO);
                FIELD("ROLESD_REVISION=%" PRIu64, c->revision);
                FIELD("ROLESD_ORG=%" PRIu64, c->org);
                FIELD("ROLESD_KIND=%s", c->kind);
                FIELD("ROLESD_OP=%s", c->op);
                FIELD("ROLESD_ID=%s", c->id);
                FIELD("ROLESD_PRINCIPAL=%s", c->principal);
                if (c->role)
                        FIELD("ROLESD_ROLE=%s", c->role);
                if (c->user)
                        FIELD("ROLESD_USER=%s", c->user);
                if (c->peer) {
                        FIELD("ROLESD_PRINCIPAL_UID=%u", (unsigned) c->uid);
                        FIELD("ROLESD_PRINCIPAL_GID=%u", (unsigned) c->gid);
                        FIELD("ROLESD_PRINCIPAL_PID=%d", (int) c->pid);
                } else if (c->principal_id)
                        FIELD("ROLESD_PRINCIPAL_ID=%s", c->principal_id);
#undef FIELD
                (void) sd_journal_sendv(iov, n);
                return;
        }
        if (LOG_INFO > log_max_level)
                return;
        for (int attempt = 0; attempt < 2; attempt++) {
                size_t room = sizeof change_lines - change_lines_len;
                int k;

                if (stderr_tty < 0)
                        stderr_tty = isatty(STDERR_FILENO);
                k = snprintf(change_lines + change_lines_len, room, "%s%s\n", stderr_tty ? "" : "<6>", message);
                if (k >= 0 && (size_t) k < room) {
                        change_lines_len += (size_t) k;
                        return;
                }
                log_changes_flush();    /* full: write what is gathered, then this one */
        }
}
