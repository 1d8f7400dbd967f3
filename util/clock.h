/* The monotonic clock, for wall times and progress intervals (never for
 * capture timestamps, which come from the file). Header only; libc. */
#ifndef WKP_CLOCK_H
#define WKP_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC: only differences mean anything. */
static inline double wkp_clock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
