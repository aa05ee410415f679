/* rolesctl.c: the command-line client of rolesd. Owns argument parsing
 * (global options anywhere on the line), the commands, their human output
 * (aligned tables, key/value lines) and --json output, the errors (one
 * line on stderr, a JSON object under --json) and the exit status by
 * error class (see exit_status()). */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rolesd/client.h>

#include "ctl.h"

/* ---- messages ---- */

static const char *program = "rolesctl";
static bool json_errors;        /* --json: errors as JSON too */

void usage_error(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ". Try '%s --help'.\n", program);     /* one line */
        exit(EXIT_USAGE);
}

/* The exit status of a failure of class code. */
static int exit_status(rolesd_code code) {
        switch (code) {
        case ROLESD_PERMISSION_DENIED:
        case ROLESD_UNAUTHENTICATED:
                return EXIT_DENIED;
        case ROLESD_UNAVAILABLE:
                return EXIT_UNAVAILABLE;
        case ROLESD_INTERNAL:
        case ROLESD_RESOURCE_EXHAUSTED:
                return EXIT_SYSTEM;
        default:                /* invalid_argument, duplicate, not_found, protected, in_use, conflict */
                return EXIT_REFUSED;
        }
}

/* One line on stderr: "rolesctl: CODE: MESSAGE (field F)", or under
 * --json {"error": {"code", "message", "field"}} (field null when none).
 * Returns the exit status of the error's class. */
int report(const rolesd_error *err) {
        if (json_errors) {
                json_t *j = json_pack("{s:{s:s, s:s, s:s?}}", "error", "code", rolesd_code_name(err->code),
                                      "message", err->message, "field", err->field[0] ? err->field : NULL);
                if (j) {
                        json_dumpf(j, stderr, JSON_COMPACT);
                        fputc('\n', stderr);
                        json_decref(j);
                        return exit_status(err->code);
                }
        }
        fprintf(stderr, "%s: %s: %s", program, rolesd_code_name(err->code), err->message);
        if (err->field[0])
                fprintf(stderr, " (field %s)", err->field);
        fputc('\n', stderr);
        return exit_status(err->code);
}

/* report() of an error of our own. */
int report_new(rolesd_code code, const char *field, const char *fmt, ...) {
        rolesd_error err = ROLESD_ERROR_INIT;
        va_list ap;

        err.code = code;
        va_start(ap, fmt);
        vsnprintf(err.message, sizeof err.message, fmt, ap);
        va_end(ap);
        snprintf(err.field, sizeof err.field, "%s", field ? field : "");
        return report(&err);
}

int report_oom(void) {
        return report_new(ROLESD_RESOURCE_EXHAUSTED, NULL, "out of memory");
}

/* A failed call: its error, with a hint when the daemon could not be
 * reached or did not answer. */
int report_call(int r, rolesd_error *err) {
        const char *hint = NULL;
        size_t n = strlen(err->message);

        if (r == -ECONNREFUSED)
                hint = " (is rolesd running? --socket or $ROLESD_SOCKET name its socket)";
        else if (r == -ETIMEDOUT)
                hint = " (rolesd is stopped or overloaded; --timeout SECONDS waits longer)";
        if (hint && n + strlen(hint) < sizeof err->message)
                memcpy(err->message + n, hint, strlen(hint) + 1);
        return report(err);
}

static void help(void) {
        printf("Usage: %s [--json] [--socket PATH] [--timeout SECONDS] COMMAND...\n"
               "\n"
               "Command-line client of rolesd, the local role service.\n"
               "\n"
               "Commands:\n"
               "  status                          Show the daemon's version and counters\n"
               "  org add ORG_ID [--name NAME] [--provider PROVIDER]\n"
               "                                  Create an organization\n"
               "  org list [--offset N] [--count N]\n"
               "                                  List the organizations\n"
               "  key add --user-role ROLE [--org ORG_ID] [--provider PROVIDER]\n"
               "                                  Create a Partoo API key (ROLE: PROVIDER, ORG_ADMIN,\n"
               "                                  ORG_MANAGER, GROUP_MANAGER, BUSINESS_MANAGER, PUBLISHER)\n"
               "  key list [--org ORG_ID] [--provider PROVIDER]\n"
               "                                  List the API keys (never the keys themselves)\n"
               "  key revoke KEY_ID               Revoke an API key\n"
               "  user add USERNAME [--org ORG_ID] [--name NAME] [--role ROLE]...\n"
               "                                  Create a user (default: in the workspace, org 0,\n"
               "                                  with role user)\n"
               "  user list [--org ORG_ID] [--offset N | --after CURSOR] [--count N]\n"
               "                                  List an organization's users and their roles\n"
               "  user roles [--org ORG_ID] USERNAME\n"
               "                                  Show the roles a user holds\n"
               "  user remove --org ORG_ID USERNAME\n"
               "                                  Remove a user, its memberships and its token\n"
               "  role list [--org ORG_ID] [--page N | --after CURSOR] [--per-page N] [--all]\n"
               "                                  List an organization's roles (default org 0; --all:\n"
               "                                  every page from there on; --after: the page after\n"
               "                                  a listing's \"next\")\n"
               "  role create --org ORG_ID --name NAME [--api-id ID] [--description D]\n"
               "              [--scope Users|Subscriptions] [--permission P]... [--mandatory2fa]\n"
               "                                  Create a role\n"
               "  role get --org ORG_ID (--id ID | --api-id ID | --name NAME)\n"
               "                                  Show one role\n"
               "  role update --org ORG_ID (--id ID | --api-id ID | --name NAME) [--set-name NAME]\n"
               "              [--set-api-id ID] [--description D] [--scope Users|Subscriptions]\n"
               "              [--permission P]... [--mandatory2fa | --no-mandatory2fa]\n"
               "              [--if-revision N]\n"
               "                                  Change a role\n"
               "  role delete --org ORG_ID (--id ID | --api-id ID | --name NAME) [--force]\n"
               "              [--if-revision N]\n"
               "                                  Delete a role (--force: also when users hold it)\n"
               "  role duplicate --org ORG_ID (--id ID | --api-id ID | --name NAME)\n"
               "                                  Copy a role as \"NAME - 2\"\n"
               "  member add|remove --org ORG_ID --role API_ID USERNAME\n"
               "                                  Give a role to a user, or take it away\n"
               "  member list --org ORG_ID --role API_ID [--offset N | --after CURSOR] [--count N]\n"
               "                                  List the users holding a role\n"
               "  check [--org ORG_ID] USERNAME PERMISSION\n"
               "                                  Whether the user holds a role granting the\n"
               "                                  permission (exit 0 allowed, 1 denied, 2 error)\n"
               "  permissions [--org ORG_ID]      Show an organization's permission catalog\n"
               "  watch [--org ORG_ID] [--after REVISION]\n"
               "                                  Print each change as it is committed (default:\n"
               "                                  from now; --after 0: the whole log first), until\n"
               "                                  interrupted\n"
               "  audit [--org ORG_ID] [--after REVISION] [--limit N]\n"
               "                                  Print the change log: who changed what, when\n"
               "  backup FILE                     Write a consistent copy of the database to FILE\n"
               "                                  while rolesd serves (restore: stop rolesd, put\n"
               "                                  FILE in place of data.mdb, start it)\n"
               "  export [--org ORG_ID]           Print the database as JSON Lines (no secrets)\n"
               "  import FILE [--dry-run]         Make FILE's records (an export) true; idempotent\n"
               "\n", program);
        printf("Options:\n"
               "      --json          Print machine-readable JSON\n"
               "      --socket PATH   The daemon's socket (default: $ROLESD_SOCKET, else\n"
               "                      /run/rolesd/rolesd.sock)\n"
               "      --timeout SECONDS\n"
               "                      How long to wait for each answer (default 10; 0: forever)\n"
               "  -h, --help          Show this help and exit\n"
               "      --version       Show the version and exit\n"
               "\n"
               "Global options may appear before or after the command words.\n"
               "Exit status: 0 success; 1 refused (invalid, duplicate, not found, protected, in\n"
               "use, conflict); 2 usage error; 3 not allowed; 4 rolesd unavailable; 5 internal\n"
               "error or resources exhausted.\n");
}

/* ---- parsing ---- */

/* SECONDS as microseconds: digits, optionally a point and up to six
 * more; at most a day. */
static uint64_t parse_seconds(const char *opt, const char *s) {
        uint64_t secs = 0, frac = 0, scale = 1000000;
        const char *p = s;

        if (*p < '0' || *p > '9')
                usage_error("invalid value for %s: '%s' (expected seconds, e.g. 2 or 0.5)", opt, s);
        for (; *p >= '0' && *p <= '9'; p++) {
                secs = secs * 10 + (uint64_t) (*p - '0');
                if (secs > 86400)
                        usage_error("invalid value for %s: '%s' (at most 86400 seconds)", opt, s);
        }
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9' && scale > 1; p++) {
                        scale /= 10;
                        frac += (uint64_t) (*p - '0') * scale;
                }
        if (*p != '\0')
                usage_error("invalid value for %s: '%s' (expected seconds, e.g. 2 or 0.5)", opt, s);
        return secs * 1000000 + frac;
}

/* A decimal number, digits only, in range. */
uint64_t parse_u64(const char *opt, const char *s) {
        unsigned long long v;
        char *end = NULL;

        if (s[0] < '0' || s[0] > '9')
                usage_error("invalid value for %s: '%s' (expected a non-negative integer)", opt, s);
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                usage_error("invalid value for %s: '%s' (expected a non-negative integer)", opt, s);
        return (uint64_t) v;
}

/* How an option's value is kept in Args. */
typedef enum OptKind {
        KIND_FLAG,              /* only its bit in Args.seen */
        KIND_STR,               /* const char * at offset */
        KIND_U64,               /* uint64_t at offset */
        KIND_U64_POSITIVE,      /* uint64_t at offset, at least 1 */
        KIND_OWN,               /* parse_argv()'s own case */
} OptKind;

static const struct {
        int arg;
        unsigned opt;
        OptKind kind;
        size_t offset;
} option_bits[] = {
        { ARG_JSON,            OPT_JSON,            KIND_FLAG,         0 },
        { ARG_SOCKET,          OPT_SOCKET,          KIND_OWN,          0 },
        { ARG_NAME,            OPT_NAME,            KIND_STR,          offsetof(Args, name) },
        { ARG_PROVIDER,        OPT_PROVIDER,        KIND_STR,          offsetof(Args, provider) },
        { ARG_USER_ROLE,       OPT_USER_ROLE,       KIND_STR,          offsetof(Args, user_role) },
        { ARG_ORG,             OPT_ORG,             KIND_U64,          offsetof(Args, org) },
        { ARG_ROLE,            OPT_ROLE,            KIND_OWN,          0 },
        { ARG_PAGE,            OPT_PAGE,            KIND_U64_POSITIVE, offsetof(Args, page) },
        { ARG_PER_PAGE,        OPT_PER_PAGE,        KIND_U64_POSITIVE, offsetof(Args, per_page) },
        { ARG_ALL,             OPT_ALL,             KIND_FLAG,         0 },
        { ARG_ID,              OPT_ID,              KIND_STR,          offsetof(Args, id) },
        { ARG_API_ID,          OPT_API_ID,          KIND_STR,          offsetof(Args, api_id) },
        { ARG_DESCRIPTION,     OPT_DESCRIPTION,     KIND_STR,          offsetof(Args, description) },
        { ARG_SCOPE,           OPT_SCOPE,           KIND_STR,          offsetof(Args, scope) },
        { ARG_PERMISSION,      OPT_PERMISSION,      KIND_OWN,          0 },
        { ARG_MANDATORY2FA,    OPT_MANDATORY2FA,    KIND_FLAG,         0 },
        { ARG_TIMEOUT,         OPT_TIMEOUT,         KIND_OWN,          0 },
        { ARG_AFTER,           OPT_AFTER,           KIND_OWN,          0 },
        { ARG_SET_NAME,        OPT_SET_NAME,        KIND_STR,          offsetof(Args, set_name) },
        { ARG_SET_API_ID,      OPT_SET_API_ID,      KIND_STR,          offsetof(Args, set_api_id) },
        { ARG_NO_MANDATORY2FA, OPT_NO_MANDATORY2FA, KIND_FLAG,         0 },
        { ARG_IF_REVISION,     OPT_IF_REVISION,     KIND_U64,          offsetof(Args, if_revision) },
        { ARG_FORCE,           OPT_FORCE,           KIND_FLAG,         0 },
        { ARG_OFFSET,          OPT_OFFSET,          KIND_U64,          offsetof(Args, offset) },
        { ARG_COUNT,           OPT_COUNT,           KIND_U64_POSITIVE, offsetof(Args, count) },
        { ARG_LIMIT,           OPT_LIMIT,           KIND_U64_POSITIVE, offsetof(Args, limit) },
        { ARG_DRY_RUN,         OPT_DRY_RUN,         KIND_FLAG,         0 },
};

static const struct option options[] = {
        { "help",         no_argument,       NULL, 'h' },
        { "version",      no_argument,       NULL, ARG_VERSION },
        { "json",         no_argument,       NULL, ARG_JSON },
        { "socket",       required_argument, NULL, ARG_SOCKET },
        { "name",         required_argument, NULL, ARG_NAME },
        { "provider",     required_argument, NULL, ARG_PROVIDER },
        { "user-role",    required_argument, NULL, ARG_USER_ROLE },
        { "org",          required_argument, NULL, ARG_ORG },
        { "role",         required_argument, NULL, ARG_ROLE },
        { "page",         required_argument, NULL, ARG_PAGE },
        { "per-page",     required_argument, NULL, ARG_PER_PAGE },
        { "all",          no_argument,       NULL, ARG_ALL },
        { "id",           required_argument, NULL, ARG_ID },
        { "api-id",       required_argument, NULL, ARG_API_ID },
        { "description",  required_argument, NULL, ARG_DESCRIPTION },
        { "scope",        required_argument, NULL, ARG_SCOPE },
        { "permission",   required_argument, NULL, ARG_PERMISSION },
        { "mandatory2fa", no_argument,       NULL, ARG_MANDATORY2FA },
        { "timeout",      required_argument, NULL, ARG_TIMEOUT },
        { "after",        required_argument, NULL, ARG_AFTER },
        { "set-name",     required_argument, NULL, ARG_SET_NAME },
        { "set-api-id",   required_argument, NULL, ARG_SET_API_ID },
        { "no-mandatory2fa", no_argument,    NULL, ARG_NO_MANDATORY2FA },
        { "if-revision",  required_argument, NULL, ARG_IF_REVISION },
        { "force",        no_argument,       NULL, ARG_FORCE },
        { "offset",       required_argument, NULL, ARG_OFFSET },
        { "count",        required_argument, NULL, ARG_COUNT },
        { "limit",        required_argument, NULL, ARG_LIMIT },
        { "dry-run",      no_argument,       NULL, ARG_DRY_RUN },
        { NULL, 0, NULL, 0 }
};

static const char *option_name(unsigned opt) {
        for (size_t i = 0; i < sizeof option_bits / sizeof option_bits[0]; i++)
                if (option_bits[i].opt == opt)
                        for (const struct option *o = options; o->name; o++)
                                if (o->val == option_bits[i].arg)
                                        return o->name;
        return "?";
}

/* Parses argv into a; exits on --help, --version and usage errors.
 * Leading '-' in the optstring: words come back in order as 1, so global
 * options work anywhere even under POSIXLY_CORRECT. */
static int parse_argv(int argc, char *argv[], Args *a) {
        size_t n = (size_t) argc + 1;
        int c;

        a->permissions = calloc(n, sizeof *a->permissions);
        a->roles = calloc(n, sizeof *a->roles);
        a->words = calloc(n, sizeof *a->words);
        if (!a->permissions || !a->roles || !a->words)
                return -ENOMEM;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "-:h", options, NULL)) != -1) {
                const char *v = optarg;

                OptKind kind = KIND_OWN;

                for (size_t i = 0; i < sizeof option_bits / sizeof option_bits[0]; i++)
                        if (option_bits[i].arg == c) {
                                char *field = (char *) a + option_bits[i].offset;
                                char name[32];

                                a->seen |= option_bits[i].opt;
                                kind = option_bits[i].kind;
                                snprintf(name, sizeof name, "--%s", option_name(option_bits[i].opt));
                                if (kind == KIND_STR)
                                        *(const char **) field = v;
                                else if (kind == KIND_U64 || kind == KIND_U64_POSITIVE)
                                        *(uint64_t *) field = parse_u64(name, v);
                                if (kind == KIND_U64_POSITIVE && *(uint64_t *) field == 0)
                                        usage_error("invalid value for %s: '%s' (at least 1)", name, v);
                        }
                if (kind != KIND_OWN)
                        continue;
                switch (c) {
                case 1:
                        a->words[a->n_words++] = optarg;
                        break;
                case 'h':
                        help();
                        exit(fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
                case ARG_VERSION:
                        printf("%s %s\n", program, ROLESD_VERSION);
                        exit(fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
                case ARG_SOCKET:
                        if (!*v)
                                usage_error("--socket needs a non-empty path");
                        a->socket = v;
                        break;
                case ARG_ROLE:
                        a->roles[a->n_roles++] = v;
                        break;
                case ARG_PERMISSION:
                        a->permissions[a->n_permissions++] = v;
                        break;
                case ARG_TIMEOUT:
                        a->timeout_usec = parse_seconds("--timeout", v);
                        break;
                case ARG_AFTER:
                        if (!*v)
                                usage_error("--after needs a cursor (a page's \"next\")");
                        a->after = v;
                        break;
                case ':':
                        usage_error("option '%s' requires an argument", argv[optind - 1]);
                case '?':
                default:
                        if (optopt > 0 && optopt < 0x100)
                                usage_error("invalid option '-%c'", optopt);
                        usage_error("unrecognized option '%s'", argv[optind - 1]);
                }
        }
        for (; optind < argc; optind++)         /* after "--" */
                a->words[a->n_words++] = argv[optind];
        return 0;
}

/* ---- output ---- */

void print_json(json_t *v) {
        json_dumpf(v, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
}

/* A copy of s safe for a terminal: control characters become \xNN. */
char *sanitize(const char *s) {
        size_t n = strlen(s);
        char *t = malloc(n * 4 + 1), *p = t;

        if (!t)
                return NULL;
        for (const unsigned char *q = (const unsigned char *) s; *q; q++) {
                if (*q < 0x20 || *q == 0x7f)
                        p += sprintf(p, "\\x%02x", *q);
                else
                        *p++ = (char) *q;
        }
        *p = '\0';
        return t;
}

/* Display width: code points of UTF-8 text. */
static size_t text_width(const char *s) {
        size_t w = 0;

        for (; *s; s++)
                w += ((unsigned char) *s & 0xc0) != 0x80;
        return w;
}

static int put_text(const char *s) {
        char *t = sanitize(s);

        if (!t)
                return -ENOMEM;
        fputs(t, stdout);
        free(t);
        return 0;
}

typedef struct Table {
        size_t n_cols;
        const char *headers[TABLE_COLS_MAX];
        char **cells;           /* n_rows * n_cols, sanitized */
        size_t n_rows, cap;
} Table;

static void table_done(Table *t) {
        for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
                free(t->cells[i]);
        free(t->cells);
}

static int table_add(Table *t, const char *const cells[]) {
        if (t->n_rows == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                char **c = realloc(t->cells, cap * t->n_cols * sizeof *c);
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->cap = cap;
        }
        for (size_t i = 0; i < t->n_cols; i++) {
                char *s = sanitize(cells[i]);
                if (!s) {
                        for (size_t j = 0; j < i; j++)
                                free(t->cells[t->n_rows * t->n_cols + j]);
                        return -ENOMEM;
                }
                t->cells[t->n_rows * t->n_cols + i] = s;
        }
        t->n_rows++;
        return 0;
}

static void table_row(const Table *t, const size_t width[], const char *const row[]) {
        for (size_t i = 0; i < t->n_cols; i++) {
                fputs(row[i], stdout);
                if (i + 1 < t->n_cols)
                        printf("%*s", (int) (width[i] - text_width(row[i]) + 2), "");
        }
        fputc('\n', stdout);
}

static void table_print(const Table *t) {
        size_t width[TABLE_COLS_MAX];

        for (size_t i = 0; i < t->n_cols; i++) {
                width[i] = text_width(t->headers[i]);
                for (size_t r = 0; r < t->n_rows; r++) {
                        size_t w = text_width(t->cells[r * t->n_cols + i]);
                        if (w > width[i])
                                width[i] = w;
                }
        }
        table_row(t, width, t->headers);
        for (size_t r = 0; r < t->n_rows; r++)
                table_row(t, width, (const char *const *) &t->cells[r * t->n_cols]);
}

void format_time(uint64_t ms, char *buf, size_t size) {
        time_t s = (time_t) (ms / 1000);
        struct tm tm;

        if (!gmtime_r(&s, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
                snprintf(buf, size, "%" PRIu64, ms);
                return;
        }
        snprintf(buf + strlen(buf), size - strlen(buf), ".%03uZ", (unsigned) (ms % 1000));
}

static int print_kv_width(int width, const char *key, const char *value) {
        printf("%-*s ", width, key);
        if (put_text(value) < 0)
                return -ENOMEM;
        fputc('\n', stdout);
        return 0;
}

static int print_kv(const char *key, const char *value) {
        return print_kv_width(13, key, value);
}

static char *cell_text(const char *key, json_t *v);

/* Each member of a JSON object on its own "key: value" line (as
 * cell_text() shows values). */
static int print_object(json_t *o) {
        const char *key;
        json_t *v;
        int width = 0;

        json_object_foreach(o, key, v)
                if ((int) strlen(key) + 1 > width && strlen(key) < 100)
                        width = (int) strlen(key) + 1;
        json_object_foreach(o, key, v) {
                char label[128], *text = NULL;
                int r;

                snprintf(label, sizeof label, "%s:", key);
                if (json_is_string(v))
                        r = print_kv_width(width, label, json_string_value(v));
                else {
                        text = cell_text(key, v);
                        r = text ? print_kv_width(width, label, text) : -ENOMEM;
                        free(text);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int print_role(const rolesd_role *r) {
        char org[32], created[64], updated[64], *perms;
        size_t n = 1;
        int k = 0;

        for (char **p = r->permissions; *p; p++)
                n += strlen(*p) + 2;
        perms = malloc(n);
        if (!perms)
                return -ENOMEM;
        perms[0] = '\0';
        for (char **p = r->permissions; *p; p++) {
                if (p != r->permissions)
                        strcat(perms, ", ");
                strcat(perms, *p);
        }
        snprintf(org, sizeof org, "%" PRIu64, r->org);
        format_time(r->created_at, created, sizeof created);
        format_time(r->updated_at, updated, sizeof updated);
        k |= print_kv("id:", r->id);
        k |= print_kv("org:", org);
        k |= print_kv("api_id:", r->api_id);
        k |= print_kv("name:", r->name);
        k |= print_kv("description:", r->description ? r->description : "-");
        k |= print_kv("scope:", r->scope);
        k |= print_kv("permissions:", perms[0] ? perms : "-");
        k |= print_kv("mandatory2fa:", r->mandatory2fa ? "yes" : "no");
        k |= print_kv("protected:", r->is_protected ? "yes" : "no");
        k |= print_kv("created_at:", created);
        k |= print_kv("updated_at:", updated);
        snprintf(org, sizeof org, "%" PRIu64, r->revision);
        k |= print_kv("revision:", org);
        free(perms);
        return k < 0 ? -ENOMEM : 0;
}

/* The role map of the wire, as JSON. */
static json_t *role_json(const rolesd_role *r) {
        json_t *perms = json_array();

        for (char **p = r->permissions; perms && *p; p++)
                if (json_array_append_new(perms, json_string(*p)) < 0) {
                        json_decref(perms);
                        return NULL;
                }
        if (!perms)
                return NULL;
        return json_pack("{s:s, s:I, s:s, s:s, s:s?, s:s, s:o, s:b, s:b, s:I, s:I, s:I}",
                         "id", r->id,
                         "org", (json_int_t) r->org,
                         "api_id", r->api_id,
                         "name", r->name,
                         "description", r->description,
                         "scope", r->scope,
                         "permissions", perms,
                         "mandatory2fa", r->mandatory2fa,
                         "protected", r->is_protected,
                         "created_at", (json_int_t) r->created_at,
                         "updated_at", (json_int_t) r->updated_at,
                         "revision", (json_int_t) r->revision);
}

static json_t *roles_json(rolesd_role *const *roles, size_t n) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, role_json(roles[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static int roles_table(rolesd_role *const *roles, size_t n) {
        Table t = { .n_cols = 6, .headers = { "API_ID", "NAME", "SCOPE", "PERMS", "PROTECTED", "ID" } };
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                const rolesd_role *x = roles[i];
                char perms[32];
                size_t k = 0;

                while (x->permissions[k])
                        k++;
                snprintf(perms, sizeof perms, "%zu", k);
                r = table_add(&t, (const char *const[]) {
                        x->api_id, x->name, x->scope, perms, x->is_protected ? "yes" : "no", x->id });
        }
        if (r >= 0)
                table_print(&t);
        table_done(&t);
        return r;
}

/* ---- commands ---- */

static int connect_or_report(const Args *a, rolesd **ret) {
        rolesd_error err;
        int r;

        r = rolesd_connect(a->socket, ret, &err);
        if (r < 0)
                return report_call(r, &err);
        return rolesd_set_timeout(*ret, a->timeout_usec) < 0 ? report_oom() : 0;
}

/* Prints a generic result: JSON, or key/value lines. */
static int print_result(const Args *a, json_t *res) {
        if (a->seen & OPT_JSON)
                print_json(res);
        else if (json_is_object(res) && print_object(res) < 0)
                return report_oom();
        return EXIT_SUCCESS;
}

/* Calls method with params (a new reference, taken; NULL: out of memory)
 * and prints its result. */
static int call_and_print(const Args *a, rolesd *c, const char *method, json_t *params) {
        rolesd_error err;
        json_t *res = NULL;
        int r;

        if (!params)
                return report_oom();
        r = rolesd_call(c, method, params, &res, &err);
        json_decref(params);
        if (r < 0)
                return report_call(r, &err);
        r = print_result(a, res);
        json_decref(res);
        return r;
}

/* params with key set to a new string value, unless value is NULL.
 * Takes params; NULL when out of memory. */
static json_t *json_with_str(json_t *params, const char *key, const char *value) {
        if (params && value && json_object_set_new(params, key, json_string(value)) < 0)
                params = (json_decref(params), NULL);
        return params;
}

static int cmd_status(const Args *a, rolesd *c) {
        return call_and_print(a, c, "server.status", json_object());
}

static int cmd_org_add(const Args *a, rolesd *c) {
        json_t *params = json_pack("{s:I}", "id", (json_int_t) a->org_id);

        params = json_with_str(params, "name", a->name);
        params = json_with_str(params, "provider", a->provider);
        return call_and_print(a, c, "org.add", params);
}

/* Writes text, a secret shown this once, and flushes it to stdout's file:
 * 0 or a negative errno (a full disk, a closed pipe: SIGPIPE is ignored
 * by the commands that make secrets). */
static int write_secret(const char *text) {
        errno = 0;
        if (fputs(text, stdout) < 0 || fflush(stdout) != 0 || ferror(stdout))
                return errno > 0 ? -errno : -EIO;
        return 0;
}

/* The secret made could not be written (write_r), so what made it was
 * undone (undo_r: 0, or why not, in err): no credential nobody saw stays
 * valid. Fails loudly either way. what: "API key" or "user"; undone: what
 * was done to it ("revoked"). */
static int secret_lost(int write_r, const char *what, const char *undone, int undo_r, const rolesd_error *err,
                       const char *undo_hint) {
        __fpurge(stdout);       /* what could not be written is dropped, not retried at exit */
        clearerr(stdout);
        if (undo_r < 0)
                return report_new(ROLESD_INTERNAL, NULL,
                                  "cannot write the new %s's secret: %s; it could not be %s (%s): %s",
                                  what, strerror(-write_r), undone, err->message, undo_hint);
        return report_new(ROLESD_INTERNAL, NULL,
                          "cannot write the new %s's secret: %s; the %s was %s, nothing was kept",
                          what, strerror(-write_r), what, undone);
}

static int cmd_key_add(const Args *a, rolesd *c) {
        rolesd_error err;
        char *key = NULL, *text = NULL, key_id[17], hint[64];
        int r;

        r = rolesd_key_add(c, a->user_role, a->seen & OPT_ORG, a->org, a->provider, &key, &err);
        if (r < 0)
                return report_call(r, &err);
        if (a->seen & OPT_JSON) {
                json_t *j = json_pack("{s:s}", "api_key", key);
                text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
                json_decref(j);
        } else
                text = strdup(key);
        snprintf(key_id, sizeof key_id, "%.16s", key);
        free(key);
        if (!text) {
                r = -ENOMEM;
                goto lost;
        }
        r = write_secret(text);
        if (r >= 0)
                r = write_secret("\n");
        free(text);
        if (r >= 0)
                return EXIT_SUCCESS;
lost:
        snprintf(hint, sizeof hint, "revoke it: rolesctl key revoke %s", key_id);
        return secret_lost(r, "API key", "revoked", rolesd_key_revoke(c, key_id, &err), &err, hint);
}

static int cmd_user_add(const Args *a, rolesd *c) {
        rolesd_error err;
        const char *username = a->words[2];
        char *user_id = NULL, *token = NULL, *text = NULL;
        int r;

        rolesd_user_spec spec = ROLESD_USER_SPEC_INIT;

        spec.org = a->org;
        spec.username = username;
        spec.name = a->name;
        spec.roles = a->n_roles > 0 ? a->roles : NULL;
        r = rolesd_user_create(c, &spec, &user_id, &token, &err);
        if (r < 0)
                return report_call(r, &err);
        if (a->seen & OPT_JSON) {
                json_t *j = json_pack("{s:s, s:s}", "userId", user_id, "authToken", token);
                text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
                json_decref(j);
        } else if (asprintf(&text, "%-13s %s\n%-13s %s", "user_id:", user_id, "token:", token) < 0)
                text = NULL;
        free(user_id);
        free(token);
        r = text ? write_secret(text) : -ENOMEM;
        if (r >= 0)
                r = write_secret("\n");
        free(text);
        if (r >= 0)
                return EXIT_SUCCESS;
        return secret_lost(r, "user", "removed", rolesd_user_remove(c, a->org, username, NULL, &err), &err,
                           "remove it: rolesctl user remove --org ORG_ID USERNAME");
}

static json_t *page_json(const rolesd_role_page *p) {
        json_t *roles = roles_json(p->roles, p->n_roles), *j;

        if (!roles)
                return NULL;
        j = json_pack("{s:o, s:I, s:I, s:I}", "roles", roles, "count", (json_int_t) p->count,
                      "page", (json_int_t) p->page, "max_page", (json_int_t) p->max_page);
        if (j && p->next && json_object_set_new(j, "next", json_string(p->next)) < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

/* A page asked for by number past the last one: an error, not an empty
 * list. */
static int page_past_last(const Args *a, const rolesd_role_page *p) {
        return report_new(ROLESD_INVALID_ARGUMENT, "page",
                          "page %" PRIu64 " is past the last page (%" PRIu64 ") of organization %" PRIu64,
                          p->page, p->max_page, a->org);
}

/* Every role of the organization from --page or --after on, following
 * the next cursors; the total is the organization's. */
static int role_list_all(const Args *a, rolesd *c) {
        rolesd_role **all = NULL;
        size_t n = 0;
        uint64_t total = 0;
        char *after = NULL;
        rolesd_error err;
        int r = EXIT_SUCCESS, k;

        for (bool first = true;; first = false) {
                rolesd_role_page *p = NULL;
                rolesd_role **x;

                k = rolesd_role_list(c, NULL, a->org, first ? a->page : 0, a->per_page ? a->per_page : 100,
                                     first ? a->after : after, &p, &err);
                if (k < 0) {
                        r = report_call(k, &err);
                        break;
                }
                if (first && p->n_roles == 0 && p->page > p->max_page) {
                        r = page_past_last(a, p);
                        rolesd_role_page_free(p);
                        break;
                }
                if (first)
                        total = p->count;
                x = realloc(all, (n + p->n_roles + 1) * sizeof *all);
                if (!x) {
                        rolesd_role_page_free(p);
                        r = report_oom();
                        break;
                }
                all = x;
                memcpy(all + n, p->roles, p->n_roles * sizeof *all);
                n += p->n_roles;
                p->n_roles = 0;         /* the roles now belong to all */
                if (p->next && (!after || strcmp(p->next, after) != 0) && (p->roles || first)) {
                        free(after);
                        after = p->next;
                        p->next = NULL;
                        rolesd_role_page_free(p);
                        continue;
                }
                if (p->next)
                        r = report_new(ROLESD_INTERNAL, NULL, "the daemon's next cursor does not advance");
                rolesd_role_page_free(p);
                break;
        }
        free(after);

        if (r == EXIT_SUCCESS) {
                if (a->seen & OPT_JSON) {
                        json_t *roles = roles_json(all, n), *j = NULL;
                        if (roles)
                                j = json_pack("{s:o, s:I}", "roles", roles, "count", (json_int_t) total);
                        if (j)
                                print_json(j);
                        else
                                r = report_oom();
                        json_decref(j);
                } else if (roles_table(all, n) < 0)
                        r = report_oom();
                else if (n == total)
                        printf("\n%zu roles in organization %" PRIu64 "\n", n, a->org);
                else
                        printf("\n%zu of %" PRIu64 " roles in organization %" PRIu64 " (%s)\n", n, total,
                               a->org, a->after ? "those after the cursor" : "from the page asked for on");
        }
        for (size_t i = 0; i < n; i++)
                rolesd_role_free(all[i]);
        free(all);
        return r;
}

static int cmd_role_list(const Args *a, rolesd *c) {
        rolesd_role_page *p = NULL;
        rolesd_error err;
        int r = EXIT_SUCCESS;

        if (a->seen & OPT_ALL)
                return role_list_all(a, c);
        r = rolesd_role_list(c, NULL, a->org, a->page, a->per_page, a->after, &p, &err);
        if (r < 0)
                return report_call(r, &err);
        r = EXIT_SUCCESS;
        if (p->n_roles == 0 && p->page > p->max_page)
                r = page_past_last(a, p);
        else if (a->seen & OPT_JSON) {
                json_t *j = page_json(p);
                if (j)
                        print_json(j);
                else
                        r = report_oom();
                json_decref(j);
        } else if (roles_table(p->roles, p->n_roles) < 0)
                r = report_oom();
        else {
                printf("\n%" PRIu64 " roles in organization %" PRIu64 " (page %" PRIu64 " of %" PRIu64 ")\n",
                       p->count, a->org, p->page, p->max_page);
                if (p->next && put_text("next page: --after ") >= 0 && put_text(p->next) >= 0)
                        fputc('\n', stdout);
        }
        rolesd_role_page_free(p);
        return r;
}

static int print_one_role(const Args *a, const rolesd_role *role) {
        if (a->seen & OPT_JSON) {
                json_t *j = role_json(role);
                if (!j)
                        return report_oom();
                print_json(j);
                json_decref(j);
        } else if (print_role(role) < 0)
                return report_oom();
        return EXIT_SUCCESS;
}

/* The role an option names: --id, --api-id or --name (exactly one, see
 * check_which_role()). */
static void which_role(const Args *a, const char **ret_by, const char **ret_value) {
        *ret_by = a->id ? "id" : a->api_id ? "api_id" : "name";
        *ret_value = a->id ? a->id : a->api_id ? a->api_id : a->name;
}

static uint64_t if_revision(const Args *a) {
        return a->seen & OPT_IF_REVISION ? a->if_revision : ROLESD_ANY_REVISION;
}

/* Prints a role a call answered with (r < 0: its failure). */
static int role_result(const Args *a, int r, rolesd_role *role, rolesd_error *err) {
        if (r < 0)
                return report_call(r, err);
        r = print_one_role(a, role);
        rolesd_role_free(role);
        return r;
}

static int cmd_role_create(const Args *a, rolesd *c) {
        rolesd_role *role = NULL;
        rolesd_error err;
        int r;

        rolesd_role_spec spec = {
                .org = a->org,
                .name = a->name,
                .api_id = a->api_id,
                .description = a->description,
                .scope = a->scope,
                .permissions = a->n_permissions > 0 ? a->permissions : NULL,
                .mandatory2fa = a->seen & OPT_MANDATORY2FA,
        };
        r = rolesd_role_create(c, NULL, &spec, &role, &err);
        return role_result(a, r, role, &err);
}

/* rolesd_role_get() and rolesd_role_duplicate(): a role named by --id,
 * --api-id or --name in, a role out. */
typedef int (*RoleCall)(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                        rolesd_role **ret, rolesd_error *err);

static int run_role_call(const Args *a, rolesd *c, RoleCall call) {
        rolesd_role *role = NULL;
        rolesd_error err;
        const char *by, *value;
        int r;

        which_role(a, &by, &value);
        r = call(c, NULL, a->org, by, value, &role, &err);
        return role_result(a, r, role, &err);
}

static int cmd_role_get(const Args *a, rolesd *c) {
        return run_role_call(a, c, rolesd_role_get);
}

static const char *member_name(json_t *o) {
        json_t *n = json_is_string(o) ? o : json_object_get(o, "name");
        return json_is_string(n) ? json_string_value(n) : "-";
}

/* Rows section/subsection/permission of a catalog {sections: [...]}. */
static int catalog_table(json_t *res) {
        Table t = { .n_cols = 3, .headers = { "SECTION", "SUBSECTION", "PERMISSION" } };
        json_t *sec, *sub, *perm;
        size_t i, j, k;
        int r = 0;

        json_array_foreach(json_object_get(res, "sections"), i, sec) {
                json_t *subs = json_object_get(sec, "subsections");

                if (!json_is_array(subs)) {     /* permissions directly under the section */
                        json_array_foreach(json_object_get(sec, "permissions"), k, perm)
                                if (r >= 0)
                                        r = table_add(&t, (const char *const[]) {
                                                member_name(sec), "-", member_name(perm) });
                        continue;
                }
                json_array_foreach(subs, j, sub)
                        json_array_foreach(json_object_get(sub, "permissions"), k, perm)
                                if (r >= 0)
                                        r = table_add(&t, (const char *const[]) {
                                                member_name(sec), member_name(sub), member_name(perm) });
        }
        if (r >= 0)
                table_print(&t);
        table_done(&t);
        return r;
}

static int cmd_permissions(const Args *a, rolesd *c) {
        rolesd_error err;
        json_t *params, *res = NULL;
        int r = EXIT_SUCCESS;

        params = json_pack("{s:I}", "org", (json_int_t) a->org);
        if (!params)
                return report_oom();
        r = rolesd_call(c, "permission.catalog", params, &res, &err);
        json_decref(params);
        if (r < 0)
                return report_call(r, &err);
        r = EXIT_SUCCESS;
        if (a->seen & OPT_JSON)
                print_json(res);
        else if (catalog_table(res) < 0)
                r = report_oom();
        json_decref(res);
        return r;
}

/* ---- the lifecycle ---- */

static int cmd_role_update(const Args *a, rolesd *c) {
        rolesd_role_changes set = ROLESD_ROLE_CHANGES_INIT;
        rolesd_role *role = NULL;
        rolesd_error err;
        const char *by, *value;
        int r;

        which_role(a, &by, &value);
        set.name = a->set_name;
        set.api_id = a->set_api_id;
        set.description = a->description;
        set.scope = a->scope;
        set.permissions = a->n_permissions > 0 ? a->permissions : NULL;
        set.set_mandatory2fa = a->seen & (OPT_MANDATORY2FA | OPT_NO_MANDATORY2FA);
        set.mandatory2fa = a->seen & OPT_MANDATORY2FA;
        r = rolesd_role_update(c, NULL, a->org, by, value, &set, if_revision(a), &role, &err);
        return role_result(a, r, role, &err);
}

static int cmd_role_duplicate(const Args *a, rolesd *c) {
        return run_role_call(a, c, rolesd_role_duplicate);
}

static int cmd_role_delete(const Args *a, rolesd *c) {
        rolesd_role_deleted *d = NULL;
        rolesd_error err;
        const char *by, *value;
        int r;

        which_role(a, &by, &value);
        r = rolesd_role_delete(c, NULL, a->org, by, value, if_revision(a), a->seen & OPT_FORCE, &d, &err);
        if (r < 0)
                return report_call(r, &err);
        if (a->seen & OPT_JSON) {
                json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "id", d->id, "api_id", d->api_id, "name", d->name,
                                      "revision", (json_int_t) d->revision);
                if (j)
                        print_json(j);
                r = j ? EXIT_SUCCESS : report_oom();
                json_decref(j);
        } else {
                r = print_kv("deleted:", d->name) | print_kv("api_id:", d->api_id) | print_kv("id:", d->id);
                printf("%-13s %" PRIu64 "\n", "revision:", d->revision);
                r = r < 0 ? report_oom() : EXIT_SUCCESS;
        }
        rolesd_role_deleted_free(d);
        return r;
}

/* A JSON value as table text: strings as they are, null "-", arrays of
 * strings joined by ", ", times (keys ending in _at) in ISO 8601.
 * NULL when out of memory. */
static char *cell_text(const char *key, json_t *v) {
        char *t = NULL;
        size_t klen = strlen(key);

        if (json_is_string(v))
                return strdup(json_string_value(v));
        if (!v || json_is_null(v))
                return strdup("-");
        if (json_is_integer(v) && klen > 3 && strcmp(key + klen - 3, "_at") == 0) {
                char buf[64];

                if (json_integer_value(v) <= 0)
                        return strdup("-");
                format_time((uint64_t) json_integer_value(v), buf, sizeof buf);
                return strdup(buf);
        }
        if (json_is_array(v)) {
                size_t i, n = 1;
                json_t *x;

                json_array_foreach(v, i, x)
                        n += (json_is_string(x) ? strlen(json_string_value(x)) : 4) + 2;
                t = malloc(n);
                if (!t)
                        return NULL;
                t[0] = '\0';
                json_array_foreach(v, i, x) {
                        if (i > 0)
                                strcat(t, ", ");
                        strcat(t, json_is_string(x) ? json_string_value(x) : "?");
                }
                return t;
        }
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The objects of the array at key of res as a table: a column per key. */
static int json_table(json_t *res, const char *key, size_t n_cols, const char *const headers[],
                      const char *const keys[]) {
        Table t = { .n_cols = n_cols };
        json_t *row;
        size_t i;
        int r = 0;

        memcpy(t.headers, headers, n_cols * sizeof *headers);
        json_array_foreach(json_object_get(res, key), i, row) {
                char *cells[TABLE_COLS_MAX] = { NULL };

                for (size_t k = 0; k < n_cols; k++)
                        if (!(cells[k] = cell_text(keys[k], json_object_get(row, keys[k]))))
                                r = -ENOMEM;
                if (r >= 0)
                        r = table_add(&t, (const char *const *) cells);
                for (size_t k = 0; k < n_cols; k++)
                        free(cells[k]);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                table_print(&t);
        table_done(&t);
        return r;
}

/* A listing: its table, then "TOTAL WHAT" and the next page's cursor. */
typedef struct Listing {
        const char *method;
        const char *key;                /* of the array in the result */
        size_t n_cols;
        const char *headers[TABLE_COLS_MAX];
        const char *keys[TABLE_COLS_MAX];
        const char *what;               /* "members of role", ... */
        const char *what_one;           /* "member of role", ... */
} Listing;

static int print_listing(const Args *a, rolesd *c, const Listing *l, json_t *params, const char *of) {
        rolesd_error err;
        json_t *res = NULL, *next;
        int r;

        if (!params)
                return report_oom();
        r = rolesd_call(c, l->method, params, &res, &err);
        json_decref(params);
        if (r < 0)
                return report_call(r, &err);
        r = EXIT_SUCCESS;
        if (a->seen & OPT_JSON)
                print_json(res);
        else if (json_table(res, l->key, l->n_cols, l->headers, l->keys) < 0)
                r = report_oom();
        else {
                /* The whole count when the method gives one (a paged
                 * list), else the rows listed (key.list). */
                json_t *total = json_object_get(res, "total");
                json_int_t n = json_is_integer(total) ? json_integer_value(total)
                                                      : (json_int_t) json_array_size(json_object_get(res, l->key));

                printf("\n%" JSON_INTEGER_FORMAT " %s%s%s\n", n, n == 1 ? l->what_one : l->what, *of ? " " : "", of);
                next = json_object_get(res, "next");
                if (json_is_string(next) && put_text("next page: --after ") >= 0 && put_text(json_string_value(next)) >= 0)
                        fputc('\n', stdout);
        }
        json_decref(res);
        return r;
}

/* params of a page: offset, count, after, as given. */
static json_t *with_paging(const Args *a, json_t *params) {
        if (params && (a->seen & OPT_OFFSET) && json_object_set_new(params, "offset", json_integer((json_int_t) a->offset)) < 0)
                params = (json_decref(params), NULL);
        if (params && (a->seen & OPT_COUNT) && json_object_set_new(params, "count", json_integer((json_int_t) a->count)) < 0)
                params = (json_decref(params), NULL);
        return json_with_str(params, "after", a->after);
}

static int cmd_member_list(const Args *a, rolesd *c) {
        static const Listing l = { "member.list", "users", 3, { "USERNAME", "NAME", "ID" },
                                   { "username", "name", "id" }, "members of role", "member of role" };

        return print_listing(a, c, &l, with_paging(a, json_pack("{s:I, s:s}", "org", (json_int_t) a->org, "api_id",
                                                             a->roles[0])), a->roles[0]);
}

static int cmd_user_list(const Args *a, rolesd *c) {
        static const Listing l = { "user.list", "users", 4, { "USERNAME", "NAME", "ROLES", "ID" },
                                   { "username", "name", "roles", "id" }, "users in organization",
                                   "user in organization" };
        char of[32];

        snprintf(of, sizeof of, "%" PRIu64, a->org);
        return print_listing(a, c, &l, with_paging(a, json_pack("{s:I}", "org", (json_int_t) a->org)), of);
}

static int cmd_org_list(const Args *a, rolesd *c) {
        static const Listing l = { "org.list", "orgs", 4, { "ID", "NAME", "PROVIDER", "ROLES" },
                                   { "id", "name", "provider", "roles" }, "organizations", "organization" };

        return print_listing(a, c, &l, with_paging(a, json_object()), "");
}

static int cmd_key_list(const Args *a, rolesd *c) {
        static const Listing l = { "key.list", "keys", 5, { "KEY_ID", "USER_ROLE", "ORG", "PROVIDER", "CREATED" },
                                   { "key_id", "user_role", "org", "provider", "created_at" }, "keys", "key" };
        json_t *params = json_object();

        if (params && (a->seen & OPT_ORG) && json_object_set_new(params, "org", json_integer((json_int_t) a->org)) < 0)
                params = (json_decref(params), NULL);
        params = json_with_str(params, "provider", a->provider);
        return print_listing(a, c, &l, params, "");
}

/* A user and its roles: {user, roles}. */
static int print_memberships(const Args *a, int r, rolesd_memberships *m, rolesd_error *err) {
        json_t *roles = NULL, *j = NULL;

        if (r < 0)
                return report_call(r, err);
        roles = json_array();
        for (char **p = m->roles; roles && *p; p++)
                if (json_array_append_new(roles, json_string(*p)) < 0)
                        roles = (json_decref(roles), NULL);
        if (roles)
                j = json_pack("{s:s, s:o}", "user", m->user, "roles", roles);
        rolesd_memberships_free(m);
        if (!j)
                return report_oom();
        r = print_result(a, j);
        json_decref(j);
        return r;
}

/* rolesd_member_add() and rolesd_member_remove() of --role's api_id and
 * the USERNAME. */
typedef int (*MemberCall)(rolesd *c, const rolesd_auth *auth, uint64_t org, const char *by, const char *value,
                          const char *user, rolesd_memberships **ret, rolesd_error *err);

static int run_member_call(const Args *a, rolesd *c, MemberCall call) {
        rolesd_memberships *m = NULL;
        rolesd_error err;
        int r = call(c, NULL, a->org, "api_id", a->roles[0], a->words[2], &m, &err);

        return print_memberships(a, r, m, &err);
}

static int cmd_member_add(const Args *a, rolesd *c) {
        return run_member_call(a, c, rolesd_member_add);
}

static int cmd_member_remove(const Args *a, rolesd *c) {
        return run_member_call(a, c, rolesd_member_remove);
}

static int cmd_user_roles(const Args *a, rolesd *c) {
        rolesd_memberships *m = NULL;
        rolesd_error err;
        int r = rolesd_user_roles(c, NULL, a->org, a->words[2], &m, &err);

        return print_memberships(a, r, m, &err);
}

static int cmd_user_remove(const Args *a, rolesd *c) {
        return call_and_print(a, c, "user.remove", json_pack("{s:I, s:s}", "org", (json_int_t) a->org, "user",
                                                             a->words[2]));
}

static int cmd_key_revoke(const Args *a, rolesd *c) {
        return call_and_print(a, c, "key.revoke", json_pack("{s:s}", "key_id", a->words[2]));
}

/* check: exit 0 allowed, 1 denied (main() makes any error 2). */
static int cmd_check(const Args *a, rolesd *c) {
        rolesd_error err;
        char **granted = NULL;
        json_t *roles, *j = NULL;
        int r;

        r = rolesd_access_check(c, NULL, a->org, a->words[1], a->words[2], &granted, &err);
        if (r < 0) {
                report_call(r, &err);
                return EXIT_CHECK_ERROR;
        }
        roles = json_array();
        for (char **p = granted; roles && *p; p++)
                if (json_array_append_new(roles, json_string(*p)) < 0)
                        roles = (json_decref(roles), NULL);
        rolesd_strv_free(granted);
        if (roles)
                j = json_pack("{s:b, s:o}", "allowed", r > 0, "roles", roles);
        if (!j) {
                report_oom();
                return EXIT_CHECK_ERROR;
        }
        if (a->seen & OPT_JSON)
                print_json(j);
        else if (r > 0) {
                char *t = cell_text("roles", json_object_get(j, "roles"));

                if (!t || print_kv_width(0, "allowed by", t) < 0)
                        r = -ENOMEM;
                free(t);
        } else
                puts("denied");
        json_decref(j);
        if (r < 0) {
                report_oom();
                return EXIT_CHECK_ERROR;
        }
        return r > 0 ? EXIT_SUCCESS : EXIT_CHECK_DENIED;
}

/* Usage checks beyond the tables, before connecting. */
static void check_org_add(Args *a) {
        a->org_id = parse_u64("ORG_ID", a->words[2]);
}

static void check_role_list(Args *a) {
        if ((a->seen & OPT_AFTER) && (a->seen & OPT_PAGE))
                usage_error("role list: --after and --page exclude each other");
}

static void check_which_role(Args *a) {
        if (!!a->id + !!a->api_id + !!a->name != 1)
                usage_error("role %s: give exactly one of --id, --api-id, --name", a->words[1]);
}

static void check_role_update(Args *a) {
        check_which_role(a);
        if ((a->seen & OPT_MANDATORY2FA) && (a->seen & OPT_NO_MANDATORY2FA))
                usage_error("role update: --mandatory2fa and --no-mandatory2fa exclude each other");
}

/* The member commands name one role, by api_id. */
static void check_one_role(Args *a) {
        if (a->n_roles != 1)
                usage_error("%s %s: give --role once", a->words[0], a->words[1]);
}

static void check_paging(Args *a) {
        if ((a->seen & OPT_AFTER) && (a->seen & OPT_OFFSET))
                usage_error("%s %s: --after and --offset exclude each other", a->words[0], a->words[1]);
}

static void check_member_list(Args *a) {
        check_one_role(a);
        check_paging(a);
}

typedef struct Command {
        const char *verb, *sub;         /* sub NULL: a one-word command */
        size_t n_args;                  /* positionals after the command words */
        unsigned allowed;               /* options besides the global ones */
        unsigned required;
        void (*check)(Args *a);         /* more usage checks, or NULL */
        int (*run)(const Args *a, rolesd *c);
} Command;

static const Command commands[] = {
        { "status",      NULL,     0, 0, 0, NULL, cmd_status },
        { "org",         "add",    1, OPT_NAME | OPT_PROVIDER, 0, check_org_add, cmd_org_add },
        { "key",         "add",    0, OPT_USER_ROLE | OPT_ORG | OPT_PROVIDER, OPT_USER_ROLE, NULL, cmd_key_add },
        { "user",        "add",    1, OPT_ROLE | OPT_ORG | OPT_NAME, 0, NULL, cmd_user_add },
        { "role",        "list",   0, OPT_ORG | OPT_PAGE | OPT_PER_PAGE | OPT_ALL | OPT_AFTER, 0, check_role_list,
          cmd_role_list },
        { "role",        "create", 0, OPT_ORG | OPT_NAME | OPT_API_ID | OPT_DESCRIPTION | OPT_SCOPE |
                                      OPT_PERMISSION | OPT_MANDATORY2FA, OPT_ORG | OPT_NAME, NULL, cmd_role_create },
        { "role",        "get",    0, OPT_ORG | OPT_WHICH_ROLE, OPT_ORG, check_which_role, cmd_role_get },
        { "role",        "update", 0, OPT_ORG | OPT_WHICH_ROLE | OPT_SET_NAME | OPT_SET_API_ID | OPT_DESCRIPTION |
                                      OPT_SCOPE | OPT_PERMISSION | OPT_MANDATORY2FA | OPT_NO_MANDATORY2FA |
                                      OPT_IF_REVISION, OPT_ORG, check_role_update, cmd_role_update },
        { "role",        "delete", 0, OPT_ORG | OPT_WHICH_ROLE | OPT_IF_REVISION | OPT_FORCE, OPT_ORG,
          check_which_role, cmd_role_delete },
        { "role",        "duplicate", 0, OPT_ORG | OPT_WHICH_ROLE, OPT_ORG, check_which_role, cmd_role_duplicate },
        { "member",      "add",    1, OPT_ORG | OPT_ROLE, OPT_ORG | OPT_ROLE, check_one_role, cmd_member_add },
        { "member",      "remove", 1, OPT_ORG | OPT_ROLE, OPT_ORG | OPT_ROLE, check_one_role, cmd_member_remove },
        { "member",      "list",   0, OPT_ORG | OPT_ROLE | OPT_OFFSET | OPT_COUNT | OPT_AFTER, OPT_ORG | OPT_ROLE,
          check_member_list, cmd_member_list },
        { "user",        "roles",  1, OPT_ORG, 0, NULL, cmd_user_roles },
        { "user",        "list",   0, OPT_ORG | OPT_OFFSET | OPT_COUNT | OPT_AFTER, 0, check_paging, cmd_user_list },
        { "user",        "remove", 1, OPT_ORG, OPT_ORG, NULL, cmd_user_remove },
        { "check",       NULL,     2, OPT_ORG, 0, NULL, cmd_check },
        { "org",         "list",   0, OPT_OFFSET | OPT_COUNT, 0, NULL, cmd_org_list },
        { "key",         "list",   0, OPT_ORG | OPT_PROVIDER, 0, NULL, cmd_key_list },
        { "key",         "revoke", 1, 0, 0, NULL, cmd_key_revoke },
        { "permissions", NULL,     0, OPT_ORG, 0, NULL, cmd_permissions },
        { "watch",       NULL,     0, OPT_ORG | OPT_AFTER, 0, check_revision_after, cmd_watch },
        { "audit",       NULL,     0, OPT_ORG | OPT_AFTER | OPT_LIMIT, 0, check_revision_after, cmd_audit },
        { "backup",      NULL,     1, 0, 0, NULL, cmd_backup },
        { "export",      NULL,     0, OPT_ORG, 0, NULL, cmd_export },
        { "import",      NULL,     1, OPT_DRY_RUN, 0, NULL, cmd_import },
};

static const Command *find_command(const Args *a) {
        const char *verb, *sub;
        bool verb_known = false;
        size_t words;

        if (a->n_words == 0)
                usage_error("missing command");
        verb = a->words[0];
        sub = a->n_words > 1 ? a->words[1] : NULL;
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
                const Command *c = &commands[i];

                if (strcmp(c->verb, verb) != 0)
                        continue;
                verb_known = true;
                if (c->sub && (!sub || strcmp(c->sub, sub) != 0))
                        continue;
                words = c->sub ? 2 : 1;
                if (a->n_words < words + c->n_args)
                        usage_error("%s%s%s: missing argument", verb, c->sub ? " " : "", c->sub ? c->sub : "");
                if (a->n_words > words + c->n_args)
                        usage_error("unexpected argument '%s'", a->words[words + c->n_args]);
                for (unsigned bit = 1; bit; bit <<= 1)
                        if ((a->seen & bit) && !((c->allowed | OPT_GLOBAL) & bit))
                                usage_error("%s%s%s does not take --%s", verb, c->sub ? " " : "",
                                            c->sub ? c->sub : "", option_name(bit));
                for (unsigned bit = 1; bit; bit <<= 1)
                        if ((c->required & bit) && !(a->seen & bit))
                                usage_error("%s%s%s: --%s is required", verb, c->sub ? " " : "",
                                            c->sub ? c->sub : "", option_name(bit));
                return c;
        }
        if (verb_known && !sub)
                usage_error("missing subcommand after '%s'", verb);
        if (verb_known)
                usage_error("unknown command '%s %s'", verb, sub);
        usage_error("unknown command '%s'", verb);
}

int main(int argc, char *argv[]) {
        Args a = { 0 };
        const Command *cmd;
        rolesd *c = NULL;
        int r;

        if (parse_argv(argc, argv, &a) < 0)
                return report_oom();
        cmd = find_command(&a);
        if (cmd->check)
                cmd->check(&a);
        json_errors = a.seen & OPT_JSON;
        if (!(a.seen & OPT_TIMEOUT))
                a.timeout_usec = TIMEOUT_DEFAULT_USEC;
        if (cmd->run == cmd_key_add || cmd->run == cmd_user_add || cmd->run == cmd_watch ||
            cmd->run == cmd_audit || cmd->run == cmd_export)
                signal(SIGPIPE, SIG_IGN);       /* a closed pipe is an error to report, not death */
        r = connect_or_report(&a, &c);
        if (r == 0)
                r = cmd->run(&a, c);
        rolesd_free(c);
        free(a.permissions);
        free(a.roles);
        free(a.words);
        if ((fflush(stdout) != 0 || ferror(stdout)) && r == EXIT_SUCCESS)
                r = report_new(ROLESD_INTERNAL, NULL, "cannot write output: %s", strerror(errno));
        if (cmd->run == cmd_check && r != EXIT_SUCCESS && r != EXIT_CHECK_DENIED)
                r = EXIT_CHECK_ERROR;           /* check: 0 allowed, 1 denied, 2 any error */
        return r;
}
