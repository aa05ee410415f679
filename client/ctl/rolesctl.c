/* rolesctl.c: the command-line client of rolesd. Owns argument parsing
 * (global options anywhere on the line), the commands, their human output
 * (aligned tables, key/value lines) and --json output, and the exit
 * status: 0 success, 1 failure (one line on stderr), 2 usage error. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rolesd/client.h>

#define EXIT_USAGE 2
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
        OPT_GLOBAL       = OPT_JSON | OPT_SOCKET,
};

enum {
        ARG_JSON = 0x100, ARG_SOCKET, ARG_VERSION, ARG_NAME, ARG_PROVIDER, ARG_USER_ROLE,
        ARG_ORG, ARG_ROLE, ARG_PAGE, ARG_PER_PAGE, ARG_ALL, ARG_ID, ARG_API_ID,
        ARG_DESCRIPTION, ARG_SCOPE, ARG_PERMISSION, ARG_MANDATORY2FA,
};

typedef struct Args {
        unsigned seen;          /* OPT_* given on the command line */
        const char *socket;
        const char *name, *provider, *user_role, *id, *api_id, *description, *scope;
        uint64_t org, page, per_page;
        const char **permissions;       /* NULL-terminated */
        size_t n_permissions;
        const char **roles;             /* NULL-terminated */
        size_t n_roles;
        uint64_t org_id;                /* org add's ORG_ID */
        char **words;                   /* command words and positionals */
        size_t n_words;
} Args;

/* ---- messages ---- */

static const char *program = "rolesctl";

__attribute__((format(printf, 1, 2), noreturn))
static void usage_error(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ". Try '%s --help'.\n", program);     /* one line */
        exit(EXIT_USAGE);
}

static int report(const rolesd_error *err) {
        fprintf(stderr, "%s: %s: %s", program, rolesd_code_name(err->code), err->message);
        if (err->field[0])
                fprintf(stderr, " (field %s)", err->field);
        fputc('\n', stderr);
        return EXIT_FAILURE;
}

static int report_oom(void) {
        fprintf(stderr, "%s: resource_exhausted: out of memory\n", program);
        return EXIT_FAILURE;
}

static void help(void) {
        printf("Usage: %s [--json] [--socket PATH] COMMAND...\n"
               "\n"
               "Command-line client of rolesd, the local role service.\n"
               "\n"
               "Commands:\n"
               "  status                          Show the daemon's version and counters\n"
               "  org add ORG_ID [--name NAME] [--provider PROVIDER]\n"
               "                                  Create an organization\n"
               "  key add --user-role ROLE [--org ORG_ID] [--provider PROVIDER]\n"
               "                                  Create a Partoo API key (ROLE: PROVIDER, ORG_ADMIN,\n"
               "                                  ORG_MANAGER, GROUP_MANAGER, BUSINESS_MANAGER, PUBLISHER)\n"
               "  user add USERNAME [--role ROLE]...\n"
               "                                  Create a Rocket.Chat workspace user (default role: user)\n"
               "  role list [--org ORG_ID] [--page N] [--per-page N] [--all]\n"
               "                                  List an organization's roles (default org 0; --all:\n"
               "                                  every page)\n"
               "  role create --org ORG_ID --name NAME [--api-id ID] [--description D]\n"
               "              [--scope Users|Subscriptions] [--permission P]... [--mandatory2fa]\n"
               "                                  Create a role\n"
               "  role get --org ORG_ID (--id ID | --api-id ID | --name NAME)\n"
               "                                  Show one role\n"
               "  permissions [--org ORG_ID]      Show an organization's permission catalog\n"
               "\n"
               "Options:\n"
               "      --json          Print machine-readable JSON\n"
               "      --socket PATH   The daemon's socket (default: $ROLESD_SOCKET, else\n"
               "                      /run/rolesd/rolesd.sock)\n"
               "  -h, --help          Show this help and exit\n"
               "      --version       Show the version and exit\n"
               "\n"
               "Global options may appear before or after the command words.\n"
               "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n",
               program);
}

/* ---- parsing ---- */

/* A decimal number, digits only, in range. */
static uint64_t parse_u64(const char *opt, const char *s) {
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

static const struct {
        int arg;
        unsigned opt;
} option_bits[] = {
        { ARG_JSON, OPT_JSON }, { ARG_SOCKET, OPT_SOCKET }, { ARG_NAME, OPT_NAME },
        { ARG_PROVIDER, OPT_PROVIDER }, { ARG_USER_ROLE, OPT_USER_ROLE }, { ARG_ORG, OPT_ORG },
        { ARG_ROLE, OPT_ROLE }, { ARG_PAGE, OPT_PAGE }, { ARG_PER_PAGE, OPT_PER_PAGE },
        { ARG_ALL, OPT_ALL }, { ARG_ID, OPT_ID }, { ARG_API_ID, OPT_API_ID },
        { ARG_DESCRIPTION, OPT_DESCRIPTION }, { ARG_SCOPE, OPT_SCOPE },
        { ARG_PERMISSION, OPT_PERMISSION }, { ARG_MANDATORY2FA, OPT_MANDATORY2FA },
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

                for (size_t i = 0; i < sizeof option_bits / sizeof option_bits[0]; i++)
                        if (option_bits[i].arg == c)
                                a->seen |= option_bits[i].opt;
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
                case ARG_JSON:
                case ARG_ALL:
                case ARG_MANDATORY2FA:
                        break;
                case ARG_SOCKET:
                        if (!*v)
                                usage_error("--socket needs a non-empty path");
                        a->socket = v;
                        break;
                case ARG_NAME:
                        a->name = v;
                        break;
                case ARG_PROVIDER:
                        a->provider = v;
                        break;
                case ARG_USER_ROLE:
                        a->user_role = v;
                        break;
                case ARG_ORG:
                        a->org = parse_u64("--org", v);
                        break;
                case ARG_ROLE:
                        a->roles[a->n_roles++] = v;
                        break;
                case ARG_PAGE:
                        a->page = parse_u64("--page", v);
                        if (a->page == 0)
                                usage_error("invalid value for --page: '%s' (pages start at 1)", v);
                        break;
                case ARG_PER_PAGE:
                        a->per_page = parse_u64("--per-page", v);
                        if (a->per_page == 0)
                                usage_error("invalid value for --per-page: '%s' (at least 1)", v);
                        break;
                case ARG_ID:
                        a->id = v;
                        break;
                case ARG_API_ID:
                        a->api_id = v;
                        break;
                case ARG_DESCRIPTION:
                        a->description = v;
                        break;
                case ARG_SCOPE:
                        a->scope = v;
                        break;
                case ARG_PERMISSION:
                        a->permissions[a->n_permissions++] = v;
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

static void print_json(json_t *v) {
        json_dumpf(v, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
}

/* A copy of s safe for a terminal: control characters become \xNN. */
static char *sanitize(const char *s) {
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

static void format_time(uint64_t ms, char *buf, size_t size) {
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

/* Each member of a JSON object on its own "key: value" line. */
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
                else if (json_is_null(v))
                        r = print_kv_width(width, label, "-");
                else {
                        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
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
        return json_pack("{s:s, s:I, s:s, s:s, s:s?, s:s, s:o, s:b, s:b, s:I, s:I}",
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
                         "updated_at", (json_int_t) r->updated_at);
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

        if (rolesd_connect(a->socket, ret, &err) < 0)
                return report(&err);
        return 0;
}

/* Prints a generic result: JSON, or key/value lines. */
static int print_result(const Args *a, json_t *res) {
        if (a->seen & OPT_JSON)
                print_json(res);
        else if (json_is_object(res) && print_object(res) < 0)
                return report_oom();
        return EXIT_SUCCESS;
}

static int cmd_status(const Args *a, rolesd *c) {
        rolesd_error err;
        json_t *res = NULL;
        int r;

        if (rolesd_call(c, "server.status", NULL, &res, &err) < 0)
                return report(&err);
        r = print_result(a, res);
        json_decref(res);
        return r;
}

static int cmd_org_add(const Args *a, rolesd *c) {
        rolesd_error err;
        json_t *params, *res = NULL;
        int r;

        params = json_pack("{s:I}", "id", (json_int_t) a->org_id);
        if (params && a->name && json_object_set_new(params, "name", json_string(a->name)) < 0)
                params = (json_decref(params), NULL);
        if (params && a->provider && json_object_set_new(params, "provider", json_string(a->provider)) < 0)
                params = (json_decref(params), NULL);
        if (!params)
                return report_oom();
        r = rolesd_call(c, "org.add", params, &res, &err);
        json_decref(params);
        if (r < 0)
                return report(&err);
        r = print_result(a, res);
        json_decref(res);
        return r;
}

static int cmd_key_add(const Args *a, rolesd *c) {
        rolesd_error err;
        char *key = NULL;

        if (rolesd_key_add(c, a->user_role, a->seen & OPT_ORG, a->org, a->provider, &key, &err) < 0)
                return report(&err);
        if (a->seen & OPT_JSON) {
                json_t *j = json_pack("{s:s}", "api_key", key);
                if (!j) {
                        free(key);
                        return report_oom();
                }
                print_json(j);
                json_decref(j);
        } else
                printf("%s\n", key);
        free(key);
        return EXIT_SUCCESS;
}

static int cmd_user_add(const Args *a, rolesd *c) {
        rolesd_error err;
        char *user_id = NULL, *token = NULL;
        int r = EXIT_SUCCESS;

        if (rolesd_user_add(c, a->words[2], a->n_roles > 0 ? a->roles : NULL, &user_id, &token, &err) < 0)
                return report(&err);
        if (a->seen & OPT_JSON) {
                json_t *j = json_pack("{s:s, s:s}", "userId", user_id, "authToken", token);
                if (j)
                        print_json(j);
                else
                        r = report_oom();
                json_decref(j);
        } else if (print_kv("user_id:", user_id) < 0 || print_kv("token:", token) < 0)
                r = report_oom();
        free(user_id);
        free(token);
        return r;
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

/* Every role of the organization, following the next cursors. */
static int role_list_all(const Args *a, rolesd *c) {
        rolesd_role **all = NULL;
        size_t n = 0;
        char *after = NULL;
        rolesd_error err;
        int r = EXIT_SUCCESS;

        for (bool first = true;; first = false) {
                rolesd_role_page *p = NULL;
                rolesd_role **x;

                if (rolesd_role_list(c, NULL, a->org, first ? a->page : 0,
                                     a->per_page ? a->per_page : 100, after, &p, &err) < 0) {
                        r = report(&err);
                        break;
                }
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
                if (p->next) {
                        fprintf(stderr, "%s: internal: the daemon's next cursor does not advance\n", program);
                        r = EXIT_FAILURE;
                }
                rolesd_role_page_free(p);
                break;
        }
        free(after);

        if (r == EXIT_SUCCESS) {
                if (a->seen & OPT_JSON) {
                        json_t *roles = roles_json(all, n), *j = NULL;
                        if (roles)
                                j = json_pack("{s:o, s:I}", "roles", roles, "count", (json_int_t) n);
                        if (j)
                                print_json(j);
                        else
                                r = report_oom();
                        json_decref(j);
                } else if (roles_table(all, n) < 0)
                        r = report_oom();
                else
                        printf("\n%zu roles in organization %" PRIu64 "\n", n, a->org);
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
        if (rolesd_role_list(c, NULL, a->org, a->page, a->per_page, NULL, &p, &err) < 0)
                return report(&err);
        if (a->seen & OPT_JSON) {
                json_t *j = page_json(p);
                if (j)
                        print_json(j);
                else
                        r = report_oom();
                json_decref(j);
        } else if (roles_table(p->roles, p->n_roles) < 0)
                r = report_oom();
        else
                printf("\n%" PRIu64 " roles in organization %" PRIu64 " (page %" PRIu64 " of %" PRIu64 ")\n",
                       p->count, a->org, p->page, p->max_page);
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
        if (rolesd_role_create(c, NULL, &spec, &role, &err) < 0)
                return report(&err);
        r = print_one_role(a, role);
        rolesd_role_free(role);
        return r;
}

static int cmd_role_get(const Args *a, rolesd *c) {
        rolesd_role *role = NULL;
        rolesd_error err;
        const char *by, *value;
        int r;

        by = a->id ? "id" : a->api_id ? "api_id" : "name";
        value = a->id ? a->id : a->api_id ? a->api_id : a->name;
        if (rolesd_role_get(c, NULL, a->org, by, value, &role, &err) < 0)
                return report(&err);
        r = print_one_role(a, role);
        rolesd_role_free(role);
        return r;
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
        if (rolesd_call(c, "permission.catalog", params, &res, &err) < 0) {
                json_decref(params);
                return report(&err);
        }
        json_decref(params);
        if (a->seen & OPT_JSON)
                print_json(res);
        else if (catalog_table(res) < 0)
                r = report_oom();
        json_decref(res);
        return r;
}

/* Usage checks beyond the tables, before connecting. */
static void check_org_add(Args *a) {
        a->org_id = parse_u64("ORG_ID", a->words[2]);
}

static void check_role_get(Args *a) {
        if (!!a->id + !!a->api_id + !!a->name != 1)
                usage_error("role get: give exactly one of --id, --api-id, --name");
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
        { "user",        "add",    1, OPT_ROLE, 0, NULL, cmd_user_add },
        { "role",        "list",   0, OPT_ORG | OPT_PAGE | OPT_PER_PAGE | OPT_ALL, 0, NULL, cmd_role_list },
        { "role",        "create", 0, OPT_ORG | OPT_NAME | OPT_API_ID | OPT_DESCRIPTION | OPT_SCOPE |
                                      OPT_PERMISSION | OPT_MANDATORY2FA, OPT_ORG | OPT_NAME, NULL, cmd_role_create },
        { "role",        "get",    0, OPT_ORG | OPT_ID | OPT_API_ID | OPT_NAME, OPT_ORG, check_role_get,
          cmd_role_get },
        { "permissions", NULL,     0, OPT_ORG, 0, NULL, cmd_permissions },
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
        r = connect_or_report(&a, &c);
        if (r == 0)
                r = cmd->run(&a, c);
        rolesd_free(c);
        free(a.permissions);
        free(a.roles);
        free(a.words);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "%s: cannot write output: %s\n", program, strerror(errno));
                return EXIT_FAILURE;
        }
        return r;
}
