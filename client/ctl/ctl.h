/* ctl.h: what rolesctl's files share: the exit statuses, the options
 * (bits and the parsed command line), reporting errors and printing. The
 * commands of the change feed, backup, export and import are feed.c's;
 * the others, parsing and main() are rolesctl.c's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rolesd/client.h>

/* Exit statuses by error class (rolesctl(1), EXIT STATUS). */
#define EXIT_REFUSED     1      /* the daemon refused the request as asked */
#define EXIT_USAGE       2      /* the command line */
#define EXIT_DENIED      3      /* permission_denied, unauthenticated */
#define EXIT_UNAVAILABLE 4      /* rolesd unreachable, silent, stopping; the connection lost */
#define EXIT_SYSTEM      5      /* internal, resource_exhausted, output that cannot be written */

/* check's own: allowed 0, denied 1, any error 2. */
#define EXIT_CHECK_DENIED 1
#define EXIT_CHECK_ERROR  2

/* A call's deadline unless --timeout says otherwise. */
#define TIMEOUT_DEFAULT_USEC (10ull * 1000000ull)
#define TABLE_COLS_MAX 6

/* Options, as bits of Args.seen. */
enum {
        OPT_JSON         = 1u << 0,
        OPT_SOCKET       = 1u << 1,
        OPT_NAME         = 1u << 2,
        OPT_PROVIDER     = 1u << 3,
        OPT_USER_ROLE    = 1u << 4,
        OPT_ORG          = 1u << 5,
        OPT_ROLE         = 1u << 6,
        OPT_PAGE         = 1u << 7,
        OPT_PER_PAGE     = 1u << 8,
        OPT_ALL          = 1u << 9,
        OPT_ID           = 1u << 10,
        OPT_API_ID       = 1u << 11,
        OPT_DESCRIPTION  = 1u << 12,
        OPT_SCOPE        = 1u << 13,
        OPT_PERMISSION   = 1u << 14,
        OPT_MANDATORY2FA = 1u << 15,
        OPT_TIMEOUT      = 1u << 16,
        OPT_AFTER        = 1u << 17,
        OPT_SET_NAME     = 1u << 18,
        OPT_SET_API_ID   = 1u << 19,
        OPT_NO_MANDATORY2FA = 1u << 20,
        OPT_IF_REVISION  = 1u << 21,
        OPT_FORCE        = 1u << 22,
        OPT_OFFSET       = 1u << 23,
        OPT_COUNT        = 1u << 24,
        OPT_LIMIT        = 1u << 25,
        OPT_DRY_RUN      = 1u << 26,
        OPT_WHICH_ROLE   = OPT_ID | OPT_API_ID | OPT_NAME,
        OPT_GLOBAL       = OPT_JSON | OPT_SOCKET | OPT_TIMEOUT,
};

enum {
        ARG_JSON = 0x100, ARG_SOCKET, ARG_VERSION, ARG_NAME, ARG_PROVIDER, ARG_USER_ROLE,
        ARG_ORG, ARG_ROLE, ARG_PAGE, ARG_PER_PAGE, ARG_ALL, ARG_ID, ARG_API_ID,
        ARG_DESCRIPTION, ARG_SCOPE, ARG_PERMISSION, ARG_MANDATORY2FA, ARG_TIMEOUT, ARG_AFTER,
        ARG_SET_NAME, ARG_SET_API_ID, ARG_NO_MANDATORY2FA, ARG_IF_REVISION, ARG_FORCE, ARG_OFFSET, ARG_COUNT,
        ARG_LIMIT, ARG_DRY_RUN,
};

typedef struct Args {
        unsigned seen;          /* OPT_* given on the command line */
        const char *socket;
        const char *name, *provider, *user_role, *id, *api_id, *description, *scope, *after;
        const char *set_name, *set_api_id;
        uint64_t org, page, per_page, if_revision, offset, count, limit;
        uint64_t after_revision;        /* watch, audit: --after as a revision */
        uint64_t timeout_usec;          /* --timeout; 0: no bound */
        const char **permissions;       /* NULL-terminated */
        size_t n_permissions;
        const char **roles;             /* NULL-terminated */
        size_t n_roles;
        uint64_t org_id;                /* org add's ORG_ID */
        char **words;                   /* command words and positionals */
        size_t n_words;
} Args;

/* One line on stderr (or a JSON object under --json); each returns the
 * exit status of the error's class. */
int report(const rolesd_error *err);
__attribute__((format(printf, 3, 4)))
int report_new(rolesd_code code, const char *field, const char *fmt, ...);
int report_oom(void);
/* A failed call, with a hint when rolesd could not be reached. */
int report_call(int r, rolesd_error *err);
__attribute__((format(printf, 1, 2), noreturn))
void usage_error(const char *fmt, ...);
uint64_t parse_u64(const char *opt, const char *s);

/* Output: JSON indented; a time in ms as ISO 8601 UTC; a copy of s safe
 * for a terminal (free()). */
void print_json(json_t *v);
void format_time(uint64_t ms, char *buf, size_t size);
char *sanitize(const char *s);

/* feed.c's commands and usage checks. */
int cmd_watch(const Args *a, rolesd *c);
int cmd_audit(const Args *a, rolesd *c);
int cmd_backup(const Args *a, rolesd *c);
int cmd_export(const Args *a, rolesd *c);
int cmd_import(const Args *a, rolesd *c);
void check_revision_after(Args *a);
