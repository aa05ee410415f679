/* clock.h: the clocks: monotonic microseconds, which the daemon's
 * connections and writer and the client's deadlines all measure with, and
 * wall-clock milliseconds since the epoch, which records are stamped with
 * (created_at, updated_at). */
#pragma once

#include <stdint.h>
#include <time.h>

static inline uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static inline uint64_t wall_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}
