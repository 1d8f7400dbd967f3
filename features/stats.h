/* Statistics blocks (docs/output.md, Statistics blocks): a streaming accumulator updated once
 * per sequence value, turned into the 24 statistics of a block when the flow
 * ends; exact medians over a caller's scratch array; the flow scalars. Pure
 * functions: no allocation, no I/O, no shared state; a worker calls them on
 * its own flows only. */
#ifndef WKP_STATS_H
#define WKP_STATS_H

#include <stddef.h>
#include <stdint.h>

/* The 24 statistics of a block, in CSV column order. */
enum wkp_stat {
    WKP_STAT_MEAN,
    WKP_STAT_STD,
    WKP_STAT_VAR,
    WKP_STAT_MIN,
    WKP_STAT_MAX,
    WKP_STAT_RANGE,
    WKP_STAT_MEDIAN,
    WKP_STAT_SKEW,
    WKP_STAT_KURT,
    WKP_STAT_CV,
    WKP_STAT_SUM,
    WKP_STAT_UP_MEAN,
    WKP_STAT_UP_STD,
    WKP_STAT_UP_MIN,
    WKP_STAT_UP_MAX,
    WKP_STAT_UP_SUM,
    WKP_STAT_UP_COUNT,
    WKP_STAT_DOWN_MEAN,
    WKP_STAT_DOWN_STD,
    WKP_STAT_DOWN_MIN,
    WKP_STAT_DOWN_MAX,
    WKP_STAT_DOWN_SUM,
    WKP_STAT_DOWN_COUNT,
    WKP_STAT_COUNT,
    WKP_STAT_N /* 24 */
};

/* Names as they appear after "feature.<block>." ("mean", "up_count", ...). */
extern const char *const wkp_stat_names[WKP_STAT_N];

/* Moments of one direction (up, down): what up_* / down_* need. */
struct wkp_dir_acc {
    uint64_t n;
    double min, max;
    double sum, sum_c; /* Neumaier-compensated sum: sum + sum_c */
    double k;          /* shift: the first value */
    double mean, m2;   /* running mean of a − k, Σ(a − mean(a))² */
};

/* All values: also third and fourth central moments for skew and kurt. */
struct wkp_all_acc {
    uint64_t n;
    double min, max;
    double sum, sum_c;
    double k;                /* shift: the first value */
    double mean, m2, m3, m4; /* running mean of a − k, Σ(a − mean(a))^j for j = 2, 3, 4 */
};

/* Streaming accumulator of one block. An all-zero struct is an empty
 * accumulator (memset or = {0} is enough; wkp_block_acc_init does that).
 * dir[0] is up (x > 0), dir[1] down (x < 0), dir[2] takes the zeros, which
 * count in n but in neither direction: indexing by sign keeps
 * the per-value update free of unpredictable branches. */
struct wkp_block_acc {
    struct wkp_all_acc all;
    struct wkp_dir_acc dir[3];
};

/* A finished block: v[WKP_STAT_*]. Counts are stored as doubles (exact below
 * 2^53) and print as integers (wkp_stat_is_count). */
struct wkp_block {
    double v[WKP_STAT_N];
};

void wkp_block_acc_init(struct wkp_block_acc *a);

/* Add one sequence value x; statistics use a = |x|, its sign the direction.
 * Hot path: no allocation, no libm call, no data-dependent branch. x must
 * not be NaN. */
void wkp_block_acc_add(struct wkp_block_acc *a, double x);

/* The 24 statistics of a's values into out, with median the caller's exact
 * median of |x| (wkp_median_*). An empty accumulator gives all zeros; an
 * empty sequence has no block, which is the caller's to skip. */
void wkp_block_finish(const struct wkp_block_acc *a, double median, struct wkp_block *out);

/* Statistic i (enum wkp_stat) of b; 0.0 if i is out of range. Inline: the
 * writers call both for every statistic of every flow. */
static inline double wkp_block_get(const struct wkp_block *b, int i)
{
    return i >= 0 && i < WKP_STAT_N ? b->v[i] : 0.0;
}

/* 1 if statistic i is a count (up_count, down_count, count), else 0. */
static inline int wkp_stat_is_count(int i)
{
    return i == WKP_STAT_UP_COUNT || i == WKP_STAT_DOWN_COUNT || i == WKP_STAT_COUNT;
}

/* Exact medians of absolute values: the middle element for odd
 * n, the mean of the two middle ones for even n, 0.0 for n == 0. Each works
 * in place on the caller's array (a scratch copy of the sequence: the
 * sequence itself must keep its order), reordering it and replacing each
 * element by its absolute value; O(n) on average, O(n log n) at worst, no
 * allocation. */
double wkp_median_abs(double *v, size_t n); /* v must not hold NaN */
double wkp_median_u32(uint32_t *v, size_t n);
/* INT32_MIN is fine: magnitudes are taken as uint32. */
double wkp_median_abs_i32(int32_t *v, size_t n);
/* Integer ticks to a double in units of per_unit ticks, by division (so
 * 1e9 turns ns into s with one rounding, the same double as ns / 1e9). */
double wkp_median_abs_i64(int64_t *v, size_t n, double per_unit);

/* The flow scalars (docs/output.md, Scalars). */
struct wkp_scalars {
    uint64_t packet_count;
    uint64_t total_bytes;
    double up_down_pkt_ratio;
    double up_down_byte_ratio;
    double duration;
};

/* pkt: the packet_lengths accumulator (may be empty). iats: the iats
 * accumulator, whose sum is Σ|IAT|, or NULL if the flow keeps none. start,
 * end: the flow's first and last timestamps in seconds. duration is the IAT
 * sum if iats holds any value, else end − start if positive, else 0.0.
 * Ratios are 0.0 when the denominator (down count, down bytes) is 0. */
void wkp_scalars_compute(const struct wkp_block_acc *pkt, const struct wkp_block_acc *iats,
                         double start, double end, struct wkp_scalars *out);

#endif
