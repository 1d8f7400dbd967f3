/* Statistics of a sequence (docs/output.md, Statistics blocks and
 * Scalars): streaming moments, exact medians and the flow scalars. Called
 * by a worker on its own flows; no shared state.
 *
 * The one idea: moments are kept as sums of powers of deviations from the
 * running mean (Welford for the variance, Pébay/Terriberry for the third and
 * fourth moments), never as Σa² and mean². The reference computes var as
 * Σa²/n − mean², which subtracts two numbers of size mean² to get one of
 * size var: with timestamps near 1.7e9, mean² is 2.9e18, whose ulp is 512,
 * so any variance below a few hundred is lost (clamped to 0 or pure noise).
 * The updates below only raise a − mean to powers, and a − mean has the
 * size of the spread, so each moment keeps its relative precision.
 *
 * One offset effect remains in plain Welford: the running mean itself is
 * rounded to ε·mean (2.4e-7 at 1.7e9), and that error enters M3 at first
 * order (3·e·M2), so skew would be off by ~e/std. So each accumulator
 * shifts by its first value k and runs on y = a − k: the subtraction is
 * exact when a and k are within a factor 2 (Sterbenz), y is as small as
 * the spread, and the running mean of y is rounded relative to the spread,
 * not the offset. Central moments do not depend on the shift.
 *
 * Sums are Neumaier-compensated doubles. Lengths, flags and windows are
 * integers: every partial sum of integers below 2^53 is exact in a double,
 * so their sums (and sum/n, the mean, correctly rounded) are exact; for
 * fractional values (IATs) the compensation keeps the sum within an ulp or
 * two of exact whatever the count, where a plain loop drifts by n·ε.
 *
 * Medians select the middle element in place (introselect: median-of-3
 * quickselect, heapsort below a depth limit), O(n) on average. */
#include "features/stats.h"

#include <math.h>
#include <string.h>

const char *const wkp_stat_names[WKP_STAT_N] = {
    "mean",     "std",       "var",      "min",      "max",      "range",    "median",     "skew",
    "kurt",     "cv",        "sum",      "up_mean",  "up_std",   "up_min",   "up_max",     "up_sum",
    "up_count", "down_mean", "down_std", "down_min", "down_max", "down_sum", "down_count", "count",
};

void wkp_block_acc_init(struct wkp_block_acc *a)
{
    memset(a, 0, sizeof *a);
}

/* Neumaier's compensated sum for non-negative terms: the low-order bits a
 * rounding of s + a drops are (big − t) + small, recovered exactly and
 * kept in c. min/max (not fabs compares) since both terms are >= 0. */
static inline void comp_add(double *s, double *c, double a)
{
    double t = *s + a;
    double big = *s > a ? *s : a;
    double small = *s > a ? a : *s;
    *c += (big - t) + small;
    *s = t;
}

void wkp_block_acc_add(struct wkp_block_acc *acc, double x)
{
    double a = fabs(x); /* compiles to a mask, not a libm call */
    /* 0 up, 1 down, 2 zero: no branch for the compiler to mispredict on
     * the mixed signs of packet_lengths */
    unsigned idx = (unsigned)(x < 0) | (unsigned)(x == 0) << 1;

    /* All values: central moments after Terriberry (2007) and Pébay
     * (SAND2008-6212), adding one value to a set of n1, n = n1 + 1: with
     * y = a − k, d = y − mean, dn = d/n,
     *   M4 += d·dn·n1·dn²·(n² − 3n + 3) + 6·dn²·M2 − 4·dn·M3
     *   M3 += d·dn·n1·dn·(n − 2) − 3·dn·M2
     *   M2 += d·dn·n1                    (Welford)
     * using the old M2, M3 on the right. 1/n does not depend on the
     * previous value, so its division is off the loop-carried chain. */
    struct wkp_all_acc *s = &acc->all;
    uint64_t n1 = s->n;
    if (n1 == 0) {
        /* The first value, exactly as the general update leaves a fresh
         * accumulator for a finite a (every value here is): y = 0, so the
         * mean and every moment stay +0, min = max = sum = a with no
         * compensation, in the total and in a's direction (empty too, as
         * it counts a subset). Half the calls on a flood of 1-3 packet
         * flows are first values. */
        struct wkp_dir_acc *r0 = &acc->dir[idx];
        s->k = s->min = s->max = s->sum = a;
        s->n = 1;
        r0->k = r0->min = r0->max = r0->sum = a;
        r0->n = 1;
        return;
    }
    s->k = n1 == 0 ? a : s->k;
    double y = a - s->k;
    double n = (double)(n1 + 1);
    double inv = 1.0 / n;
    double d = y - s->mean;
    double dn = d * inv;
    double dn2 = dn * dn;
    double t1 = d * dn * (double)n1;
    s->m4 += t1 * dn2 * (n * n - 3.0 * n + 3.0) + 6.0 * dn2 * s->m2 - 4.0 * dn * s->m3;
    s->m3 += t1 * dn * (n - 2.0) - 3.0 * dn * s->m2;
    s->m2 += t1;
    s->mean += dn;
    s->min = (n1 == 0 || a < s->min) ? a : s->min;
    s->max = a > s->max ? a : s->max; /* a >= 0 = the empty max */
    comp_add(&s->sum, &s->sum_c, a);
    s->n = n1 + 1;

    /* One direction: Welford, M2 += (y − old mean)(y − new mean). */
    struct wkp_dir_acc *r = &acc->dir[idx];
    uint64_t m1 = r->n;
    r->k = m1 == 0 ? a : r->k;
    double yr = a - r->k;
    double rinv = 1.0 / (double)(m1 + 1);
    double dd = yr - r->mean;
    r->mean += dd * rinv;
    r->m2 += dd * (yr - r->mean);
    r->min = (m1 == 0 || a < r->min) ? a : r->min;
    r->max = a > r->max ? a : r->max;
    comp_add(&r->sum, &r->sum_c, a);
    r->n = m1 + 1;
}

static void dir_finish(const struct wkp_dir_acc *r, double *mean, double *std, double *min,
                       double *max, double *sum, double *count)
{
    if (r->n == 0) {
        *mean = *std = *min = *max = *sum = *count = 0.0;
        return;
    }
    double n = (double)r->n;
    *sum = r->sum + r->sum_c;
    *mean = *sum / n;
    *std = r->n > 1 ? sqrt(r->m2 / n) : 0.0; /* population; 0 if count <= 1 */
    *min = r->min;
    *max = r->max;
    *count = n;
}

void wkp_block_finish(const struct wkp_block_acc *acc, double median, struct wkp_block *out)
{
    double *v = out->v;
    memset(out, 0, sizeof *out);
    const struct wkp_all_acc *s = &acc->all;
    if (s->n == 0)
        return;

    double n = (double)s->n;
    double sum = s->sum + s->sum_c;
    /* mean from the exact sum, as the reference's Σa/n; the running mean
     * only anchors the deviations */
    double mean = sum / n;
    double m2 = s->m2 / n; /* population variance; M2 >= 0 by construction */
    double std = sqrt(m2);

    v[WKP_STAT_MEAN] = mean;
    v[WKP_STAT_STD] = std;
    v[WKP_STAT_VAR] = m2;
    v[WKP_STAT_MIN] = s->min;
    v[WKP_STAT_MAX] = s->max;
    v[WKP_STAT_RANGE] = s->max - s->min;
    v[WKP_STAT_MEDIAN] = median;
    /* skew = m3/m2^1.5, kurt = m4/m2² − 3, cv = std/mean; each
     * 0.0 if n < 2, m2 = 0, or (cv) mean = 0. */
    if (s->n >= 2 && m2 > 0.0) {
        double m3 = s->m3 / n, m4 = s->m4 / n;
        v[WKP_STAT_SKEW] = m3 / (m2 * std);
        v[WKP_STAT_KURT] = m4 / (m2 * m2) - 3.0;
    }
    if (s->n >= 2 && mean != 0.0)
        v[WKP_STAT_CV] = std / mean;
    v[WKP_STAT_SUM] = sum;
    dir_finish(&acc->dir[0], &v[WKP_STAT_UP_MEAN], &v[WKP_STAT_UP_STD], &v[WKP_STAT_UP_MIN],
               &v[WKP_STAT_UP_MAX], &v[WKP_STAT_UP_SUM], &v[WKP_STAT_UP_COUNT]);
    dir_finish(&acc->dir[1], &v[WKP_STAT_DOWN_MEAN], &v[WKP_STAT_DOWN_STD], &v[WKP_STAT_DOWN_MIN],
               &v[WKP_STAT_DOWN_MAX], &v[WKP_STAT_DOWN_SUM], &v[WKP_STAT_DOWN_COUNT]);
    v[WKP_STAT_COUNT] = n;
}

/* Introselect for one element type T: after SELECT_T(v, n, k), v[k] holds
 * the k-th smallest, nothing before it is larger, nothing after smaller.
 * Hoare partition around a median-of-3 pivot: the sorted ends are
 * sentinels for the inner scans, and runs of equal values split in the
 * middle instead of degrading to O(n²). After 2·log2(n) rounds without
 * converging the remaining range is heapsorted, bounding the worst case. */
#define SWAP_(T, a, b)                                                                             \
    do {                                                                                           \
        T t_ = (a);                                                                                \
        (a) = (b);                                                                                 \
        (b) = t_;                                                                                  \
    } while (0)

#define DEFINE_SELECT(NAME, T)                                                                     \
    static void NAME##_sift(T *v, ptrdiff_t root, ptrdiff_t n)                                     \
    {                                                                                              \
        for (;;) {                                                                                 \
            ptrdiff_t c = 2 * root + 1;                                                            \
            if (c >= n)                                                                            \
                return;                                                                            \
            if (c + 1 < n && v[c] < v[c + 1])                                                      \
                c++;                                                                               \
            if (!(v[root] < v[c]))                                                                 \
                return;                                                                            \
            SWAP_(T, v[root], v[c]);                                                               \
            root = c;                                                                              \
        }                                                                                          \
    }                                                                                              \
    static void NAME##_heapsort(T *v, ptrdiff_t n)                                                 \
    {                                                                                              \
        for (ptrdiff_t i = n / 2 - 1; i >= 0; i--)                                                 \
            NAME##_sift(v, i, n);                                                                  \
        for (ptrdiff_t e = n - 1; e > 0; e--) {                                                    \
            SWAP_(T, v[0], v[e]);                                                                  \
            NAME##_sift(v, 0, e);                                                                  \
        }                                                                                          \
    }                                                                                              \
    static void NAME(T *v, size_t n, size_t k)                                                     \
    {                                                                                              \
        ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;                                \
        int depth = 2;                                                                             \
        for (size_t m = n; m > 1; m >>= 1)                                                         \
            depth += 2;                                                                            \
        while (hi - lo >= 16) {                                                                    \
            if (depth-- == 0) {                                                                    \
                NAME##_heapsort(v + lo, hi - lo + 1);                                              \
                return;                                                                            \
            }                                                                                      \
            ptrdiff_t mid = lo + (hi - lo) / 2;                                                    \
            if (v[mid] < v[lo]) {                                                                  \
                SWAP_(T, v[mid], v[lo]);                                                           \
            }                                                                                      \
            if (v[hi] < v[mid]) {                                                                  \
                SWAP_(T, v[hi], v[mid]);                                                           \
                if (v[mid] < v[lo]) {                                                              \
                    SWAP_(T, v[mid], v[lo]);                                                       \
                }                                                                                  \
            }                                                                                      \
            T p = v[mid];                                                                          \
            ptrdiff_t i = lo, j = hi;                                                              \
            while (i <= j) {                                                                       \
                while (v[i] < p)                                                                   \
                    i++;                                                                           \
                while (p < v[j])                                                                   \
                    j--;                                                                           \
                if (i <= j) {                                                                      \
                    SWAP_(T, v[i], v[j]);                                                          \
                    i++;                                                                           \
                    j--;                                                                           \
                }                                                                                  \
            }                                                                                      \
            /* [lo, j] <= p, [i, hi] >= p, anything between equals p */                            \
            if (kk <= j)                                                                           \
                hi = j;                                                                            \
            else if (kk >= i)                                                                      \
                lo = i;                                                                            \
            else                                                                                   \
                return;                                                                            \
        }                                                                                          \
        for (ptrdiff_t a_ = lo + 1; a_ <= hi; a_++) { /* insertion sort, small range */            \
            T x_ = v[a_];                                                                          \
            ptrdiff_t b_ = a_;                                                                     \
            for (; b_ > lo && x_ < v[b_ - 1]; b_--)                                                \
                v[b_] = v[b_ - 1];                                                                 \
            v[b_] = x_;                                                                            \
        }                                                                                          \
    }                                                                                              \
    /* The two middle elements (equal for odd n), for n >= 1. */                                   \
    static void NAME##_mid(T *v, size_t n, T *lo_out, T *hi_out)                                   \
    {                                                                                              \
        size_t k = n / 2;                                                                          \
        NAME(v, n, k);                                                                             \
        *hi_out = v[k];                                                                            \
        if (n & 1) {                                                                               \
            *lo_out = v[k];                                                                        \
            return;                                                                                \
        }                                                                                          \
        T m_ = v[0]; /* lower middle: the largest of v[0, k) */                                    \
        for (size_t q = 1; q < k; q++)                                                             \
            m_ = v[q] > m_ ? v[q] : m_;                                                            \
        *lo_out = m_;                                                                              \
    }

DEFINE_SELECT(select_f64, double)
DEFINE_SELECT(select_u32, uint32_t)
DEFINE_SELECT(select_u64, uint64_t)

double wkp_median_abs(double *v, size_t n)
{
    if (n == 0)
        return 0.0;
    if (n <= 2) { /* most flows of a flood: the same values as the select */
        double a = fabs(v[0]), b = fabs(v[n - 1]);
        if (n == 1)
            return a;
        return a < b ? a / 2 + b / 2 : b / 2 + a / 2;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = fabs(v[i]);
    double lo, hi;
    select_f64_mid(v, n, &lo, &hi);
    /* lo/2 + hi/2 cannot overflow; exact unless a half is subnormal */
    return n & 1 ? hi : lo / 2 + hi / 2;
}

double wkp_median_u32(uint32_t *v, size_t n)
{
    if (n == 0)
        return 0.0;
    uint32_t lo, hi;
    select_u32_mid(v, n, &lo, &hi);
    return ((double)lo + (double)hi) / 2; /* exact: below 2^33 */
}

double wkp_median_abs_i32(int32_t *v, size_t n)
{
    /* int32_t and uint32_t may alias (C11 6.5p7); each element is rewritten
     * as its magnitude, modulo 2^32, so INT32_MIN becomes 2^31. */
    uint32_t *u = (uint32_t *)v;
    for (size_t i = 0; i < n; i++)
        u[i] = v[i] < 0 ? 0u - (uint32_t)v[i] : (uint32_t)v[i];
    return wkp_median_u32(u, n);
}

double wkp_median_abs_i64(int64_t *v, size_t n, double per_unit)
{
    if (n == 0)
        return 0.0;
    uint64_t *u = (uint64_t *)v;
    for (size_t i = 0; i < n; i++)
        u[i] = v[i] < 0 ? 0u - (uint64_t)v[i] : (uint64_t)v[i];
    uint64_t lo, hi;
    select_u64_mid(u, n, &lo, &hi);
    if (n & 1)
        return (double)hi / per_unit;
    /* lo + hi is exact unless both exceed 2^63; then halve first */
    if (lo <= UINT64_MAX - hi)
        return (double)(lo + hi) / (2.0 * per_unit);
    return ((double)(lo / 2) + (double)(hi / 2) + (double)((lo & 1) + (hi & 1)) / 2) / per_unit;
}

void wkp_scalars_compute(const struct wkp_block_acc *pkt, const struct wkp_block_acc *iats,
                         double start, double end, struct wkp_scalars *out)
{
    const struct wkp_dir_acc *up = &pkt->dir[0], *down = &pkt->dir[1];
    double total = pkt->all.sum + pkt->all.sum_c; /* exact for integer lengths */
    double up_sum = up->sum + up->sum_c, down_sum = down->sum + down->sum_c;

    out->packet_count = pkt->all.n;
    out->total_bytes = (uint64_t)total;
    out->up_down_pkt_ratio = down->n ? (double)up->n / (double)down->n : 0.0;
    out->up_down_byte_ratio = down_sum != 0.0 ? up_sum / down_sum : 0.0;
    if (iats && iats->all.n > 0)
        out->duration = iats->all.sum + iats->all.sum_c;
    else
        out->duration = end - start > 0.0 ? end - start : 0.0;
}
