/* log.c: rolesd-http's one logger (log.h). */

#include "client/http/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

__attribute__((format(printf, 2, 0)))
static void log_line(int priority, const char *fmt, va_list ap) {
        char line[1024];

        vsnprintf(line, sizeof line, fmt, ap);
        for (char *c = line; *c; c++)           /* one line, whatever came in */
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = ' ';
        fprintf(stderr, "<%d>%s\n", priority, line);
}

void http_log(int priority, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_line(priority, fmt, ap);
        va_end(ap);
}

int http_log_errno(int priority, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_line(priority, fmt, ap);
        va_end(ap);
        return r;
}

bool http_log_ratelimit(LogLimit *l) {
        long long now = (long long) time(NULL), prev = atomic_load(&l->last);

        return prev != now && atomic_compare_exchange_strong(&l->last, &prev, now);
}

static LogLimit mhd_limit;
static atomic_bool mhd_limited;         /* once serving: start-up errors all get through */

void http_log_mhd(void *cls, const char *fmt, va_list ap) {
        char line[512];

        (void) cls;
        if (atomic_load(&mhd_limited) && !http_log_ratelimit(&mhd_limit))
                return;
        vsnprintf(line, sizeof line, fmt, ap);
        http_log(LOG_WARNING, "libmicrohttpd: %s", line);
}

void http_log_serving(void) {
        atomic_store(&mhd_limited, true);
}
