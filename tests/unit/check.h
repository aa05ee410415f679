/* check.h: the unit tests' checks: ASSERT() (the proto tests), and
 * check(), check_eq() (integers, both values printed) and check_streq()
 * (the store's tests). Each counts (the test prints the count) and exits
 * with the failing expression and where it is. One test program per
 * translation unit, so the counter is static here. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

static unsigned checks;

#define ASSERT(x) do {                                                          \
                checks++;                                                       \
                if (!(x)) {                                                     \
                        fprintf(stderr, "%s:%d: %s: assertion failed: %s\n",    \
                                __FILE__, __LINE__, __func__, #x);              \
                        exit(1);                                                \
                }                                                               \
        } while (0)

#define check(x)                                                                        \
        do {                                                                            \
                checks++;                                                               \
                if (!(x)) {                                                             \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
        } while (0)

#define check_eq(a, b)                                                                  \
        do {                                                                            \
                long long _a = (long long) (a), _b = (long long) (b);                   \
                checks++;                                                               \
                if (_a != _b) {                                                         \
                        fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", \
                                __FILE__, __LINE__, #a, #b, _a, _b);                    \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
        } while (0)

#define check_streq(a, b)                                                               \
        do {                                                                            \
                const char *_a = (a), *_b = (b);                                        \
                checks++;                                                               \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                \
                        fprintf(stderr, "%s:%d: check failed: %s == %s (\"%.60s\" != \"%.60s\")\n", \
                                __FILE__, __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); \
                        exit(EXIT_FAILURE);                                             \
                }                                                                       \
        } while (0)
