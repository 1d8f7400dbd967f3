/* Capture timestamps: signed 64-bit nanoseconds since the Unix epoch.
 *
 * The readers clamp every timestamp they make to [WKP_TS_MIN, WKP_TS_MAX]
 * (about 1823-11-22 to 2116-02-20), so the difference of two clamped
 * timestamps always fits in int64. Every difference or sum involving a
 * timestamp still goes through wkp_ns_sub / wkp_ns_add, which saturate, so
 * a timeout from the configuration or an unclamped value cannot overflow
 * either (docs/design.md, "Time arithmetic"). Header only; includes libc. */
#ifndef WKP_NSTIME_H
#define WKP_NSTIME_H

#include <stdint.h>

#define WKP_TS_MIN (-(INT64_C(1) << 62))
#define WKP_TS_MAX ((INT64_C(1) << 62) - 1)

/* v limited to the timestamp range. */
static inline int64_t wkp_ts_clamp(int64_t v)
{
    return v < WKP_TS_MIN ? WKP_TS_MIN : v > WKP_TS_MAX ? WKP_TS_MAX : v;
}

/* a - b, saturated to [INT64_MIN, INT64_MAX]. */
static inline int64_t wkp_ns_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* a + b, saturated to [INT64_MIN, INT64_MAX]. */
static inline int64_t wkp_ns_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b < 0 ? INT64_MIN : INT64_MAX;
    return r;
}

/* a - b in seconds: the exact integer difference, converted once. */
static inline double wkp_ns_sub_s(int64_t a, int64_t b)
{
    return (double)wkp_ns_sub(a, b) / 1e9;
}

#endif
