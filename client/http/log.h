/* log.h: rolesd-http's one logger. A message is one line on stderr with
 * an sd-daemon priority prefix ("<3>..."), which the journal reads;
 * control characters become spaces. Never pass credentials. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

__attribute__((format(printf, 2, 3)))
void http_log(int priority, const char *fmt, ...);

/* As http_log, returning r (a negative errno) for "return log(...)". */
__attribute__((format(printf, 3, 4)))
int http_log_errno(int priority, int r, const char *fmt, ...);

/* A limiter of one message per second: true when this one may go out (a
 * flood of failing requests must not become a flood of log lines). */
typedef struct LogLimit {
        _Atomic long long last;
} LogLimit;
bool http_log_ratelimit(LogLimit *l);

/* libmicrohttpd's messages (MHD_OPTION_EXTERNAL_LOGGER): all of them
 * until http_log_serving(), then at most one a second (malformed
 * requests are the client's problem). */
__attribute__((format(printf, 2, 0)))
void http_log_mhd(void *cls, const char *fmt, va_list ap);
void http_log_serving(void);
