/* log.h: logging to stderr with sd-daemon priority prefixes ("<3>"...),
 * so journald files every line at its level. The log_*_errno forms
 * return the negative errno they were given: log and return in one line. */
#pragma once

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
