/* log.h: logging to stderr with sd-daemon priority prefixes ("<3>"...),
 * so journald files every line at its level. The log_*_errno forms
 * return the negative errno they were given: log and return in one line.
 * And the audit trail: each committed change as a structured journal
 * entry (log_change), or a plain line when there is no journald. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>

extern int log_max_level;

int log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_full_errno(level, error, ...) \
        __extension__ ({ int _l = (level); _l <= log_max_level ? log_internal(_l, (error), __VA_ARGS__) \
                                                 : -((error) < 0 ? -(error) : (error)); })
#define log_debug(...)   (void) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    (void) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  (void) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) (void) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   (void) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* The MESSAGE_ID of every change's journal entry (journalctl MESSAGE_ID=...). */
#define LOG_CHANGE_MESSAGE_ID "cc2ec0bf706047638b3e61a240d44604"

/* One committed change, as the journal files it. */
typedef struct LogChange {
        uint64_t revision, org;
        const char *op, *kind;          /* "create"..., "role"... */
        const char *id;                 /* the change's id (a role's, user's, key's, org's) */
        const char *role;               /* role and member changes: the role's id, else NULL */
        const char *user;               /* member changes: the username, else NULL */
        const char *principal;          /* "peer", "api_key", "user" */
        bool peer;                      /* uid, gid, pid are the principal's */
        uid_t uid;
        gid_t gid;
        pid_t pid;
        const char *principal_id;       /* api_key: its key_id; user: its user_id */
} LogChange;

/* A structured journal entry (MESSAGE_ID, ROLESD_REVISION, ROLESD_ORG,
 * ROLESD_KIND, ROLESD_OP, ROLESD_ID, ROLESD_ROLE, ROLESD_USER,
 * ROLESD_PRINCIPAL, ROLESD_PRINCIPAL_UID/GID/PID or _ID) when journald
 * listens (/run/systemd/journal/socket), else an info line on stderr,
 * held until log_changes_flush() writes them all at once. */
void log_change(const LogChange *c);
void log_changes_flush(void);
