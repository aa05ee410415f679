/* log.c: one line per message on stderr, prefixed with its sd-daemon
 * priority (unless stderr is a terminal, where a person reads it) and,
 * when an errno is given, suffixed with its text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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
