/* check.h: ASSERT() for the proto unit tests: counts every check (the
 * test prints the count) and exits with the failing expression, file and
 * function. One test program per translation unit, so the counter is
 * static here. */
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
