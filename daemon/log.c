/* log.c: one line per message on stderr, prefixed with its sd-daemon
 * priority and, when an errno is given, suffixed with its text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

int log_max_level = LOG_INFO;

int log_internal(int level, int error, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int e = error < 0 ? -error : error;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        if (e > 0)
                fprintf(stderr, "<%d>%s: %s\n", level, buf, strerror(e));
        else
                fprintf(stderr, "<%d>%s\n", level, buf);
        return -e;
}
