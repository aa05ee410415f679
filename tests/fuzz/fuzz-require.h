/* fuzz-require.h: require(), the fuzz targets' invariant check: on
 * failure it names the broken invariant and aborts, which libFuzzer and
 * the bounded driver report as a crash with the input that caused it. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#define require(x)                                                                      \
        do {                                                                            \
                if (!(x)) {                                                             \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #x); \
                        abort();                                                        \
                }                                                                       \
        } while (0)
