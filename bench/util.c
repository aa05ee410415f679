/* util.c: clock, latency histograms, the results (figures, targets, table
 * rows) and their JSON file. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

bool bench_verbose;
bool bench_tty;

uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

double now_s(void) {
        return (double) now_ns() / 1e9;
}

void die(const char *f, ...) {
        va_list ap;

        if (bench_tty)
                fputs("\r\033[K", stderr);
        fputs("rolesd-bench: ", stderr);
        va_start(ap, f);
        vfprintf(stderr, f, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

void note(const char *f, ...) {
        va_list ap;

        if (!bench_verbose && !bench_tty)
                return;
        if (bench_tty)
                fputs("\r\033[K", stderr);
        va_start(ap, f);
        vfprintf(stderr, f, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* ---- histogram ---- */

Hist *hist_new(void) {
        Hist *h = calloc(1, sizeof *h);
        if (!h)
                die("out of memory");
        return h;
}

static unsigned hist_index(uint64_t v) {
        if (v < (1u << HIST_SUB_BITS))
                return (unsigned) v;
        unsigned e = 63u - (unsigned) __builtin_clzll(v);      /* >= HIST_SUB_BITS */
        unsigned shift = e - HIST_SUB_BITS;
        unsigned sub = (unsigned) (v >> shift) & ((1u << HIST_SUB_BITS) - 1u);
        return ((shift + 1u) << HIST_SUB_BITS) | sub;
}

static uint64_t hist_value(unsigned i) {
        unsigned block = i >> HIST_SUB_BITS, sub = i & ((1u << HIST_SUB_BITS) - 1u);
        if (block == 0)
                return sub;
        unsigned shift = block - 1u;
        uint64_t lo = ((uint64_t) ((1u << HIST_SUB_BITS) | sub)) << shift;
        return lo + (((uint64_t) 1 << shift) >> 1);     /* middle of the bucket */
}

void hist_add(Hist *h, uint64_t v) {
        h->b[hist_index(v)]++;
        h->n++;
        h->sum += v;
        if (v > h->max)
                h->max = v;
}

uint64_t hist_pct(const Hist *h, double pct) {
        if (!h || h->n == 0)
                return 0;
        uint64_t want = (uint64_t) ceil((double) h->n * pct / 100.0), seen = 0;
        if (want < 1)
                want = 1;
        for (unsigned i = 0; i < HIST_BUCKETS; i++) {
                seen += h->b[i];
                if (seen >= want) {
                        uint64_t v = hist_value(i);
                        return v > h->max ? h->max : v;
                }
        }
        return h->max;
}

/* ---- formatting ---- */

char *fmt(const char *f, ...) {
        static char ring[32][160];
        static unsigned at;
        char *b = ring[at++ % 32];
        va_list ap;

        va_start(ap, f);
        vsnprintf(b, sizeof ring[0], f, ap);
        va_end(ap);
        return b;
}

const char *fmt_rate(double ops) {
        if (ops >= 1e6)
                return fmt("%.2f M/s", ops / 1e6);
        if (ops >= 1e4)
                return fmt("%.1f k/s", ops / 1e3);
        return fmt("%.0f /s", ops);
}

const char *fmt_ns(uint64_t ns) {
        if (ns >= 10000000000u)
                return fmt("%.1f s", (double) ns / 1e9);
        if (ns >= 10000000u)
                return fmt("%.1f ms", (double) ns / 1e6);
        if (ns >= 1000000u)
                return fmt("%.2f ms", (double) ns / 1e6);
        if (ns >= 1000u)
                return fmt("%.1f us", (double) ns / 1e3);
        return fmt("%llu ns", (unsigned long long) ns);
}

const char *fmt_bytes(double b) {
        if (b >= 1024.0 * 1024.0 * 1024.0)
                return fmt("%.2f GiB", b / (1024.0 * 1024.0 * 1024.0));
        if (b >= 1024.0 * 1024.0)
                return fmt("%.1f MiB", b / (1024.0 * 1024.0));
        if (b >= 10240.0)
                return fmt("%.1f KiB", b / 1024.0);
        return fmt("%.0f B", b);
}

/* ---- results ---- */

typedef struct Figure {
        char *key;
        bool is_str;
        double v;
        char *s;
        char *unit;
} Figure;

typedef struct Target {
        char *name;
        double value, threshold;
        char op[4];
        bool known, met;
} Target;

typedef struct Row {
        bool section;
        char *label, *value, *ratio;
} Row;

static Figure *figs;
static size_t n_figs;
static Target *targets;
static size_t n_targets;
static Row *rows;
static size_t n_rows;

static char *xstrdup(const char *s) {
        char *p = strdup(s ? s : "");
        if (!p)
                die("out of memory");
        return p;
}

static void *grow(void *p, size_t n, size_t size) {
        if ((n & (n - 1)) == 0) {       /* n is 0 or a power of two: double */
                p = realloc(p, (n ? n * 2 : 16) * size);
                if (!p)
                        die("out of memory");
        }
        return p;
}

static Figure *fig_slot(const char *key) {
        for (size_t i = 0; i < n_figs; i++)
                if (strcmp(figs[i].key, key) == 0) {
                        free(figs[i].s);
                        free(figs[i].unit);
                        figs[i].s = figs[i].unit = NULL;
                        return &figs[i];
                }
        figs = grow(figs, n_figs, sizeof *figs);
        figs[n_figs] = (Figure) { .key = xstrdup(key) };
        return &figs[n_figs++];
}

void fig(const char *key, double value, const char *unit) {
        Figure *f = fig_slot(key);
        f->is_str = false;
        f->v = value;
        f->unit = unit ? xstrdup(unit) : NULL;
}

void fig_str(const char *key, const char *value) {
        Figure *f = fig_slot(key);
        f->is_str = true;
        f->s = xstrdup(value);
}

bool fig_get(const char *key, double *ret) {
        for (size_t i = 0; i < n_figs; i++)
                if (!figs[i].is_str && strcmp(figs[i].key, key) == 0) {
                        *ret = figs[i].v;
                        return true;
                }
        return false;
}

void target(const char *name, double value, const char *op, double threshold, bool known) {
        targets = grow(targets, n_targets, sizeof *targets);
        Target *t = &targets[n_targets++];
        *t = (Target) { .name = xstrdup(name), .value = value, .threshold = threshold, .known = known };
        snprintf(t->op, sizeof t->op, "%s", op);
        if (known)
                t->met = strcmp(op, ">=") == 0 ? value >= threshold : value <= threshold;
}

void row_section(const char *title) {
        rows = grow(rows, n_rows, sizeof *rows);
        rows[n_rows++] = (Row) { .section = true, .label = xstrdup(title) };
}

void row(const char *label, const char *value, const char *ratio) {
        rows = grow(rows, n_rows, sizeof *rows);
        rows[n_rows++] = (Row) { .label = xstrdup(label), .value = xstrdup(value), .ratio = xstrdup(ratio) };
}

void print_table(FILE *f) {
        size_t wl = 10, wv = 5;

        for (size_t i = 0; i < n_rows; i++)
                if (!rows[i].section) {
                        if (strlen(rows[i].label) > wl)
                                wl = strlen(rows[i].label);
                        if (strlen(rows[i].value) > wv)
                                wv = strlen(rows[i].value);
                }
        for (size_t i = 0; i < n_rows; i++) {
                if (rows[i].section)
                        fprintf(f, "\n== %s\n", rows[i].label);
                else
                        fprintf(f, "  %-*s  %*s  %s\n", (int) wl, rows[i].label, (int) wv, rows[i].value,
                                rows[i].ratio);
        }
        if (n_targets > 0) {
                unsigned met = 0, known = 0;
                fprintf(f, "\n== targets\n");
                for (size_t i = 0; i < n_targets; i++) {
                        Target *t = &targets[i];
                        if (!t->known)
                                fprintf(f, "  [ n/a ] %s\n", t->name);
                        else
                                fprintf(f, "  [%s] %s: %.3g %s %.3g\n", t->met ? " met " : "MISSED", t->name,
                                        t->value, t->op, t->threshold);
                        known += t->known;
                        met += t->known && t->met;
                }
                fprintf(f, "  %u of %u measurable targets met\n", met, known);
        }
}

static void json_str(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

static void json_num(FILE *f, double v) {
        if (!isfinite(v))
                fputs("null", f);
        else if (v == floor(v) && fabs(v) < 9e15)
                fprintf(f, "%.0f", v);
        else
                fprintf(f, "%.6g", v);
}

int write_json(const char *path) {
        char *tmp = fmt("%s.tmp", path);
        FILE *f = fopen(tmp, "we");
        bool first = true;

        if (!f)
                return -errno;
        fputs("{\n  \"figures\": {", f);
        for (size_t i = 0; i < n_figs; i++) {
                if (figs[i].is_str)
                        continue;
                fprintf(f, "%s\n    ", first ? "" : ",");
                first = false;
                json_str(f, figs[i].key);
                fputs(": ", f);
                json_num(f, figs[i].v);
        }
        fputs("\n  },\n  \"units\": {", f);
        first = true;
        for (size_t i = 0; i < n_figs; i++) {
                if (figs[i].is_str || !figs[i].unit)
                        continue;
                fprintf(f, "%s\n    ", first ? "" : ",");
                first = false;
                json_str(f, figs[i].key);
                fputs(": ", f);
                json_str(f, figs[i].unit);
        }
        fputs("\n  },\n  \"info\": {", f);
        first = true;
        for (size_t i = 0; i < n_figs; i++) {
                if (!figs[i].is_str)
                        continue;
                fprintf(f, "%s\n    ", first ? "" : ",");
                first = false;
                json_str(f, figs[i].key);
                fputs(": ", f);
                json_str(f, figs[i].s);
        }
        fputs("\n  },\n  \"targets\": [", f);
        for (size_t i = 0; i < n_targets; i++) {
                Target *t = &targets[i];
                fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
                json_str(f, t->name);
                fputs(", \"value\": ", f);
                json_num(f, t->known ? t->value : NAN);
                fprintf(f, ", \"op\": \"%s\", \"threshold\": ", t->op);
                json_num(f, t->threshold);
                fprintf(f, ", \"met\": %s}", !t->known ? "null" : t->met ? "true" : "false");
        }
        fputs("\n  ]\n}\n", f);
        if (fflush(f) != 0 || ferror(f)) {
                int r = -errno;
                fclose(f);
                return r;
        }
        fclose(f);
        if (rename(tmp, path) < 0)
                return -errno;
        return 0;
}
