/* Statistics blocks, medians and scalars (docs/output.md). Expected values come
 * from hand calculations written next to them, from the original's output
 * (reference/original-v0.1.4/compat NDJSON, named per sequence), and from
 * a straightforward two-pass computation in long double inside this file. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/stats.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void block_of(const double *x, size_t n, struct wkp_block *out)
{
    struct wkp_block_acc acc;
    wkp_block_acc_init(&acc);
    static double scratch[1 << 14];
    cr_assert_leq(n, N_OF(scratch));
    for (size_t i = 0; i < n; i++) {
        wkp_block_acc_add(&acc, x[i]);
        scratch[i] = x[i];
    }
    wkp_block_finish(&acc, wkp_median_abs(scratch, n), out);
}

/* |got − want| <= rel·|want|, or <= abs_floor when want is (near) zero. */
static void expect_close(double got, double want, double rel, double abs_floor, const char *what)
{
    double tol = fmax(rel * fabs(want), abs_floor);
    cr_expect(fabs(got - want) <= tol, "%s: got %.17g, want %.17g (tol %.3g)", what, got, want,
              tol);
}

static void expect_stat(const struct wkp_block *b, int i, double want, double rel)
{
    expect_close(wkp_block_get(b, i), want, rel, rel, wkp_stat_names[i]);
}

/* ---- vectors, by hand ---- */

Test(stats, vector_100_to_500)
{
    const double x[] = {100, 200, 300, 400, 500};
    struct wkp_block b;
    block_of(x, N_OF(x), &b);
    expect_stat(&b, WKP_STAT_MEAN, 300, 1e-15);
    expect_stat(&b, WKP_STAT_MIN, 100, 0);
    expect_stat(&b, WKP_STAT_MAX, 500, 0);
    expect_stat(&b, WKP_STAT_RANGE, 400, 0);
    expect_stat(&b, WKP_STAT_COUNT, 5, 0);
    expect_stat(&b, WKP_STAT_SUM, 1500, 0);
    expect_stat(&b, WKP_STAT_MEDIAN, 300, 0);
    /* deviations ±200, ±100, 0: var = (2·40000 + 2·10000)/5 = 20000 */
    expect_stat(&b, WKP_STAT_VAR, 20000, 1e-14);
    expect_stat(&b, WKP_STAT_STD, 141.42135623730951, 1e-15); /* √20000 */
    /* symmetric: m3 = 0 */
    expect_close(wkp_block_get(&b, WKP_STAT_SKEW), 0.0, 0, 1e-15, "skew");
    /* m4 = (2·200⁴ + 2·100⁴)/5 = 6.8e8, m2² = 4e8: 1.7 − 3 */
    expect_stat(&b, WKP_STAT_KURT, -1.3, 1e-14);
    expect_stat(&b, WKP_STAT_CV, 141.42135623730951 / 300, 1e-15);
    /* all positive: up_* equal the totals, down_* all 0 */
    expect_stat(&b, WKP_STAT_UP_COUNT, 5, 0);
    expect_stat(&b, WKP_STAT_UP_MEAN, 300, 1e-15);
    expect_stat(&b, WKP_STAT_UP_STD, 141.42135623730951, 1e-15);
    expect_stat(&b, WKP_STAT_UP_SUM, 1500, 0);
    for (int i = WKP_STAT_DOWN_MEAN; i <= WKP_STAT_DOWN_COUNT; i++)
        cr_expect_eq(wkp_block_get(&b, i), 0.0, "%s", wkp_stat_names[i]);
}

Test(stats, vector_mixed_directions)
{
    const double x[] = {100, 200, -150, -250, 300};
    struct wkp_block b;
    block_of(x, N_OF(x), &b);
    expect_stat(&b, WKP_STAT_MEAN, 200, 1e-15); /* (100+200+150+250+300)/5 */
    expect_stat(&b, WKP_STAT_COUNT, 5, 0);
    expect_stat(&b, WKP_STAT_MEDIAN, 200, 0); /* sorted 100 150 200 250 300 */
    expect_stat(&b, WKP_STAT_UP_COUNT, 3, 0);
    expect_stat(&b, WKP_STAT_UP_MEAN, 200, 1e-15);
    expect_stat(&b, WKP_STAT_UP_SUM, 600, 0);
    expect_stat(&b, WKP_STAT_UP_MIN, 100, 0);
    expect_stat(&b, WKP_STAT_UP_MAX, 300, 0);
    /* √((100² + 0 + 100²)/3) = √6666.67 */
    expect_stat(&b, WKP_STAT_UP_STD, 81.649658092772603, 1e-15);
    expect_stat(&b, WKP_STAT_DOWN_COUNT, 2, 0);
    expect_stat(&b, WKP_STAT_DOWN_MEAN, 200, 1e-15);
    expect_stat(&b, WKP_STAT_DOWN_STD, 50, 1e-15); /* ±50 */
    expect_stat(&b, WKP_STAT_DOWN_MIN, 150, 0);
    expect_stat(&b, WKP_STAT_DOWN_MAX, 250, 0);
    expect_stat(&b, WKP_STAT_DOWN_SUM, 400, 0);
}

Test(stats, vector_tcp_flags)
{
    const double x[] = {2, 18, 16};
    struct wkp_block b;
    block_of(x, N_OF(x), &b);
    expect_stat(&b, WKP_STAT_COUNT, 3, 0);
    expect_stat(&b, WKP_STAT_MIN, 2, 0);
    expect_stat(&b, WKP_STAT_MAX, 18, 0);
    expect_stat(&b, WKP_STAT_MEAN, 12, 1e-15);       /* 36/3 */
    expect_stat(&b, WKP_STAT_MEDIAN, 16, 0);         /* 2 16 18 */
    expect_stat(&b, WKP_STAT_VAR, 152.0 / 3, 1e-15); /* (100 + 36 + 16)/3 */
    /* m3 = (−1000 + 216 + 64)/3 = −240, m2^1.5 = (152/3)^1.5 */
    expect_stat(&b, WKP_STAT_SKEW, -240 / pow(152.0 / 3, 1.5), 1e-14);
    expect_stat(&b, WKP_STAT_UP_COUNT, 3, 0);
}

/* The build must not fuse a multiply and an add: a fused a*b + c rounds once
 * where the source rounds twice, and the statistics' last digits then differ
 * between machines (GCC fuses by default on arm64, and with -march=native on
 * x86-64). a = 1 + 2^-27, b = 1 - 2^-27: a*b = 1 - 2^-54 exactly, a tie
 * between 1 - 2^-53 and 1 that rounds to even, 1.0; so a*b - 1 is 0, and
 * -2^-54 when fused. The operands are volatile so that the compiler cannot
 * fold the expression at build time. */
Test(stats, no_fused_multiply_add)
{
    volatile double va = 1 + 0x1p-27, vb = 1 - 0x1p-27, vc = -1;
    double a = va, b = vb, c = vc;
    double r = a * b + c;
    cr_expect_eq(r, 0.0, "a*b + c = %a: the build fuses multiply-adds", r);
}

Test(stats, zeros_count_in_n_but_in_neither_direction)
{
    const double x[] = {0, 5, -5, 0};
    struct wkp_block b;
    block_of(x, N_OF(x), &b);
    expect_stat(&b, WKP_STAT_COUNT, 4, 0);
    expect_stat(&b, WKP_STAT_UP_COUNT, 1, 0);
    expect_stat(&b, WKP_STAT_DOWN_COUNT, 1, 0);
    expect_stat(&b, WKP_STAT_MEAN, 2.5, 0);
    expect_stat(&b, WKP_STAT_MIN, 0, 0);
    expect_stat(&b, WKP_STAT_MEDIAN, 2.5, 0); /* 0 0 5 5 */
    expect_stat(&b, WKP_STAT_VAR, 6.25, 1e-15);
    expect_stat(&b, WKP_STAT_UP_STD, 0, 0); /* a single value */
    expect_stat(&b, WKP_STAT_UP_MIN, 5, 0);
    expect_stat(&b, WKP_STAT_DOWN_MAX, 5, 0);
}

Test(stats, degenerate_blocks_give_zero_shape_statistics)
{
    struct wkp_block b;
    struct wkp_block_acc acc;
    memset(&acc, 0, sizeof acc); /* all-zero is a valid empty accumulator */
    wkp_block_finish(&acc, 0.0, &b);
    for (int i = 0; i < WKP_STAT_N; i++)
        cr_expect_eq(wkp_block_get(&b, i), 0.0, "empty %s", wkp_stat_names[i]);

    const double one[] = {-7};
    block_of(one, 1, &b);
    expect_stat(&b, WKP_STAT_MEAN, 7, 0);
    expect_stat(&b, WKP_STAT_MIN, 7, 0);
    expect_stat(&b, WKP_STAT_MAX, 7, 0);
    expect_stat(&b, WKP_STAT_DOWN_COUNT, 1, 0);
    /* n < 2: std, skew, kurt, cv are 0 */
    for (int i = WKP_STAT_STD; i <= WKP_STAT_CV; i++)
        if (i != WKP_STAT_MIN && i != WKP_STAT_MAX && i != WKP_STAT_MEDIAN)
            cr_expect_eq(wkp_block_get(&b, i), 0.0, "n=1 %s", wkp_stat_names[i]);

    /* all equal, at an offset where rounding would show: m2 exactly 0 */
    double eq[100];
    for (int i = 0; i < 100; i++)
        eq[i] = 1755141753.294776;
    block_of(eq, 100, &b);
    cr_expect_eq(wkp_block_get(&b, WKP_STAT_VAR), 0.0);
    cr_expect_eq(wkp_block_get(&b, WKP_STAT_SKEW), 0.0);
    cr_expect_eq(wkp_block_get(&b, WKP_STAT_KURT), 0.0);
    cr_expect_eq(wkp_block_get(&b, WKP_STAT_CV), 0.0);
    cr_expect_eq(wkp_block_get(&b, WKP_STAT_UP_STD), 0.0);
    expect_stat(&b, WKP_STAT_MEAN, 1755141753.294776, 1e-16);

    /* all zero: mean 0, cv 0 (mean = 0), no direction */
    const double z[] = {0, 0, 0};
    block_of(z, 3, &b);
    expect_stat(&b, WKP_STAT_COUNT, 3, 0);
    cr_expect_eq(wkp_block_get(&b, WKP_STAT_CV), 0.0);
    cr_expect_eq(wkp_block_get(&b, WKP_STAT_UP_COUNT) + wkp_block_get(&b, WKP_STAT_DOWN_COUNT),
                 0.0);
}

Test(stats, names_order_and_counts_follow_d12)
{
    static const char *const d12[WKP_STAT_N] = {
        "mean",     "std",      "var",      "min",      "max",        "range",
        "median",   "skew",     "kurt",     "cv",       "sum",        "up_mean",
        "up_std",   "up_min",   "up_max",   "up_sum",   "up_count",   "down_mean",
        "down_std", "down_min", "down_max", "down_sum", "down_count", "count"};
    cr_assert_eq(WKP_STAT_N, 24);
    int counts = 0;
    for (int i = 0; i < WKP_STAT_N; i++) {
        cr_expect_str_eq(wkp_stat_names[i], d12[i]);
        counts += wkp_stat_is_count(i);
        cr_expect_eq(wkp_stat_is_count(i), strstr(d12[i], "count") != NULL, "%s", d12[i]);
    }
    cr_expect_eq(counts, 3);
    struct wkp_block b;
    for (int i = 0; i < WKP_STAT_N; i++)
        b.v[i] = i + 0.5;
    cr_expect_eq(wkp_block_get(&b, WKP_STAT_KURT), 8.5);
    cr_expect_eq(wkp_block_get(&b, -1), 0.0);
    cr_expect_eq(wkp_block_get(&b, WKP_STAT_N), 0.0);
}

/* ---- the original's output ---- */

/* reference/original-v0.1.4/compat/wa1kpcap__single.pcap.ndjson, the one
 * flow 192.168.226.54:8907 -> 111.13.142.55:443, features.packet_lengths
 * (packets 1-4 also checked in test_l2l4.c) */
static const double single_pl[] = {66,  -66, 54,   521,  -54,  -1434, -1434, -439, 54,
                                   147, -54, -328, -123, 54,   141,   292,   92,   588,
                                   -54, -92, -54,  -96,  -237, 54,    54,    -54,  54};

Test(stats, single_pcap_packet_lengths_match_the_original)
{
    struct wkp_block b;
    block_of(single_pl, N_OF(single_pl), &b);
    const double rel = 1e-12;
    expect_stat(&b, WKP_STAT_MEAN, 6690.0 / 27, rel); /* 247.777... */
    expect_stat(&b, WKP_STAT_STD, 367.04791627184886, rel);
    expect_stat(&b, WKP_STAT_VAR, 134724.17283950618, rel);
    expect_stat(&b, WKP_STAT_MEDIAN, 92, 0);
    expect_stat(&b, WKP_STAT_SUM, 6690, 0);
    expect_stat(&b, WKP_STAT_MIN, 54, 0);
    expect_stat(&b, WKP_STAT_MAX, 1434, 0);
    expect_stat(&b, WKP_STAT_UP_COUNT, 13, 0);
    expect_stat(&b, WKP_STAT_UP_SUM, 2171, 0);
    expect_stat(&b, WKP_STAT_UP_MEAN, 167, rel);
    expect_stat(&b, WKP_STAT_UP_STD, 177.95807630753072, rel);
    expect_stat(&b, WKP_STAT_DOWN_COUNT, 14, 0);
    expect_stat(&b, WKP_STAT_DOWN_SUM, 4519, 0);
    expect_stat(&b, WKP_STAT_DOWN_MEAN, 322.7857142857143, rel);
    expect_stat(&b, WKP_STAT_DOWN_STD, 467.6890265018029, rel);
    expect_stat(&b, WKP_STAT_COUNT, 27, 0);
}

/* The original's 21 statistics, in its key order. */
static const int compat_order[21] = {
    WKP_STAT_MEAN,     WKP_STAT_STD,      WKP_STAT_VAR,      WKP_STAT_MIN,      WKP_STAT_MAX,
    WKP_STAT_RANGE,    WKP_STAT_MEDIAN,   WKP_STAT_SUM,      WKP_STAT_UP_MEAN,  WKP_STAT_UP_STD,
    WKP_STAT_UP_MIN,   WKP_STAT_UP_MAX,   WKP_STAT_UP_SUM,   WKP_STAT_UP_COUNT, WKP_STAT_DOWN_MEAN,
    WKP_STAT_DOWN_STD, WKP_STAT_DOWN_MIN, WKP_STAT_DOWN_MAX, WKP_STAT_DOWN_SUM, WKP_STAT_DOWN_COUNT,
    WKP_STAT_COUNT};

/* A sequence pasted from reference/original-v0.1.4/compat/<file>.ndjson
 * (features.<seq>) with the original's statistics of it (in compat_order). */
struct ref_seq {
    const char *name;
    const double *x;
    size_t n;
    const double *stats; /* the original's, compat_order; NULL for synthetic */
};

/* nDPI__443-safari.pcap.ndjson line 1 (192.168.1.13:53031 -> 178.62.197.130:443 (6)),
 * features.packet_lengths */
static const double ref0_x[] = {
    78, -74,   66,  299,   -66,   -1506, -1506, -168,  66,  66,    151,   -109,  -115, 66,
    66, 111,   108, 100,   394,   96,    -66,   -66,   -96, 66,    -1506, -1506, 66,   -1506,
    66, -1030, 66,  -1506, -1506, -1506, 66,    -1030, 66,  -1506, -1360, 66,    66};
static const double ref0_stats[] = {486.0731707317073,
                                    607.8994778200167,
                                    369541.77513384895,
                                    66.0,
                                    1506.0,
                                    1440.0,
                                    100.0,
                                    19929.0,
                                    104.52380952380952,
                                    82.7852178244971,
                                    66.0,
                                    394.0,
                                    2195.0,
                                    21.0,
                                    886.7,
                                    661.0626369717168,
                                    66.0,
                                    1506.0,
                                    17734.0,
                                    20.0,
                                    41.0};
/* nDPI__443-safari.pcap.ndjson line 1 (192.168.1.13:53031 -> 178.62.197.130:443 (6)),
 * features.tcp_window_sizes */
static const double ref1_x[] = {65535, 65160, 4140, 4140, 508,  508,  508,  508,  4050, 4047, 4096,
                                508,   508,   4094, 4093, 4096, 4096, 4096, 4096, 4096, 508,  506,
                                506,   4095,  506,  506,  4051, 506,  4096, 506,  4065, 506,  506,
                                506,   4051,  506,  3975, 506,  506,  3890, 4096};
static const double ref1_stats[] = {5409.317073170731,
                                    13684.324167596105,
                                    187260727.92385486,
                                    506.0,
                                    65535.0,
                                    65029.0,
                                    3975.0,
                                    221782.0,
                                    5409.317073170731,
                                    13684.324167596105,
                                    506.0,
                                    65535.0,
                                    221782.0,
                                    41.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    41.0};
/* wa1kpcap__multi.pcap.ndjson line 45 (192.168.226.54:59592 -> 47.128.226.185:8080 (17)),
 * features.packet_lengths */
static const double ref2_x[] = {
    67,  -73, 73,  67,  -72, 67,  -72, 67,  67,  67,  67,  67,  -74, -78, 67,  -76, 67,  -76, 67,
    -76, 67,  -76, 67,  -76, 67,  -78, 67,  -78, 67,  -78, 67,  -78, 67,  -78, 67,  -78, 67,  -78,
    67,  -80, 67,  -78, 67,  -78, 67,  -79, 73,  67,  -72, 67,  -72, 67,  67,  67,  67,  67,  67,
    67,  67,  67,  67,  67,  -74, 67,  -74, 67,  -74, 67,  -74, 67,  -74, 67,  -74, 67,  -74, 67,
    -74, 67,  -74, 67,  -74, 67,  -74, 67,  -74, 67,  -74, 67,  -74, 67,  -74};
static const double ref2_stats[] = {70.62637362637362,
                                    4.351703851349951,
                                    18.937326409853995,
                                    67.0,
                                    80.0,
                                    13.0,
                                    67.0,
                                    6427.0,
                                    67.22641509433963,
                                    1.1433401817010744,
                                    67.0,
                                    73.0,
                                    3563.0,
                                    53.0,
                                    75.36842105263158,
                                    2.2174078350465964,
                                    72.0,
                                    80.0,
                                    2864.0,
                                    38.0,
                                    91.0};
/* wa1kpcap__multi.pcap.ndjson line 45 (192.168.226.54:59592 -> 47.128.226.185:8080 (17)),
 * features.iats */
static const double ref3_x[] = {
    0.23412704467773438,    0.02535414695739746, 9.975296020507812,      0.23377299308776855,
    9.999708890914917,      0.19019007682800293, 10.000385046005249,     0.3422398567199707,
    7.104873657226562e-05,  0.6842989921569824,  6.699562072753906e-05,  0.028995037078857422,
    0.8370039463043213,     10.000692129135132,  0.2732698917388916,     10.000813007354736,
    0.1989140510559082,     9.999987840652466,   0.3170931339263916,     10.000441074371338,
    0.17688989639282227,    9.999785900115967,   0.22591519355773926,    10.00064992904663,
    0.2406020164489746,     9.999655961990356,   0.4068019390106201,     10.000831127166748,
    0.39719104766845703,    10.001144886016846,  0.3991260528564453,     10.000648021697998,
    0.396406888961792,      10.00029993057251,   0.24570107460021973,    10.000360012054443,
    0.2035689353942871,     9.999706029891968,   0.3433370590209961,     10.000874042510986,
    0.22853994369506836,    10.000211954116821,  0.2204430103302002,     10.000513076782227,
    0.2427990436553955,     0.02559685707092285, 9.975095987319946,      0.23775410652160645,
    10.00087285041809,      0.25031518936157227, 10.000756978988647,     0.49242305755615234,
    7.891654968261719e-05,  0.9840939044952393,  7.414817810058594e-05,  1.9676380157470703,
    0.00011992454528808594, 3.9350180625915527,  0.00012183189392089844, 7.8691911697387695,
    7.390975952148438e-05,  1.0760140419006348,  10.00092887878418,      0.2021770477294922,
    10.000472068786621,     0.20249295234680176, 9.999876022338867,      0.2187480926513672,
    10.000298023223877,     0.23870587348937988, 10.000704050064087,     0.23688793182373047,
    10.001337051391602,     0.23702001571655273, 10.000094890594482,     0.2537720203399658,
    9.999843120574951,      0.2314009666442871,  10.000724077224731,     0.23864197731018066,
    9.999756813049316,      0.23884201049804688, 10.000105142593384,     0.2430739402770996,
    10.000614881515503,     0.24819707870483398, 10.000677108764648,     0.22638893127441406,
    10.000211954116821,     0.2408590316772461};
static const double ref3_stats[] = {4.301697945594787,
                                    4.738976828878286,
                                    22.457901384645297,
                                    6.699562072753906e-05,
                                    10.001337051391602,
                                    10.001270055770874,
                                    0.4029639959335327,
                                    387.1528151035309,
                                    4.301697945594787,
                                    4.738976828878286,
                                    6.699562072753906e-05,
                                    10.001337051391602,
                                    387.1528151035309,
                                    90.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    90.0};
/* nDPI__tls_verylong_certificate.pcap.ndjson line 1 (192.168.1.160:54804 -> 151.101.66.49:443
 * (6)), features.iats */
static const double ref4_x[] = {
    0.011590957641601562,   0.00012111663818359375, 0.005739927291870117,   0.011821985244750977,
    0.003136873245239258,   0.0002040863037109375,  4.601478576660156e-05,  2.09808349609375e-05,
    3.1948089599609375e-05, 0.00010204315185546875, 2.1457672119140625e-06, 3.600120544433594e-05,
    0.010610818862915039,   0.01106715202331543,    0.00012683868408203125, 0.00033402442932128906,
    0.014470100402832031,   2.09808349609375e-05,   1.9073486328125e-06,    7.104873657226562e-05,
    1.9073486328125e-05,    6.9141387939453125e-06, 0.0001590251922607422,  0.0003459453582763672,
    4.0531158447265625e-06, 5.507469177246094e-05,  1.9073486328125e-06,    0.0004229545593261719,
    9.417533874511719e-05,  1.7881393432617188e-05, 1.9073486328125e-06,    3.314018249511719e-05,
    0.0003478527069091797,  8.702278137207031e-05,  0.009688138961791992,   0.0002129077911376953,
    2.1457672119140625e-06, 3.4809112548828125e-05, 2.1457672119140625e-06, 0.0003619194030761719,
    0.0010781288146972656,  0.00974583625793457,    3.504753112792969e-05,  0.00010800361633300781,
    1.9073486328125e-06,    0.0009031295776367188,  3.504753112792969e-05};
static const double ref4_stats[] = {0.0019864478009812376,
                                    0.004041204450172866,
                                    1.633133340809697e-05,
                                    1.9073486328125e-06,
                                    0.014470100402832031,
                                    0.014468193054199219,
                                    9.417533874511719e-05,
                                    0.09336304664611816,
                                    0.0019864478009812376,
                                    0.004041204450172866,
                                    1.9073486328125e-06,
                                    0.014470100402832031,
                                    0.09336304664611816,
                                    47.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    47.0};
/* wa1kpcap__single.pcap.ndjson line 1 (192.168.226.54:8907 -> 111.13.142.55:443 (6)),
 * features.iats */
static const double ref5_x[] = {0.02896904945373535,
                                0.0001499652862548828,
                                0.0020270347595214844,
                                0.03366899490356445,
                                0.0,
                                0.0,
                                0.0,
                                0.000247955322265625,
                                0.0020771026611328125,
                                0.02533888816833496,
                                0.0,
                                0.0,
                                0.00019311904907226562,
                                0.0009739398956298828,
                                0.00012302398681640625,
                                0.00013184547424316406,
                                7.009506225585938e-05,
                                0.03371596336364746,
                                0.0,
                                0.0,
                                0.0,
                                0.0,
                                0.0002980232238769531,
                                0.00041794776916503906,
                                0.03770899772644043,
                                0.0001780986785888672};
static const double ref5_stats[] = {0.006395770953251765,
                                    0.012587957697682733,
                                    0.00015845667899865,
                                    0.0,
                                    0.03770899772644043,
                                    0.03770899772644043,
                                    0.000164031982421875,
                                    0.1662900447845459,
                                    0.009781767340267407,
                                    0.01446459402071091,
                                    7.009506225585938e-05,
                                    0.03770899772644043,
                                    0.1662900447845459,
                                    17.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    26.0};
/* wa1kpcap__single.pcap.ndjson line 1 (192.168.226.54:8907 -> 111.13.142.55:443 (6)),
 * features.app_lengths */
static const double ref6_x[] = {0,  0,   0,  467, 0, -1380, -1380, -385, 0,    93, 0, -274, -69, 0,
                                87, 238, 38, 534, 0, -38,   0,     -42,  -183, 0,  0, 0,    0};
static const double ref6_stats[] = {192.88888888888889,
                                    367.5013059521602,
                                    135057.20987654323,
                                    0.0,
                                    1380.0,
                                    1380.0,
                                    38.0,
                                    5208.0,
                                    242.83333333333334,
                                    193.10741110123718,
                                    38.0,
                                    534.0,
                                    1457.0,
                                    6.0,
                                    468.875,
                                    537.9136634953605,
                                    38.0,
                                    1380.0,
                                    3751.0,
                                    8.0,
                                    27.0};
/* wa1kpcap__dup.pcap.ndjson line 1 (192.168.226.54:7707 -> 120.53.53.53:443 (6)),
 * features.tcp_flags */
static const double ref7_x[] = {
    16, 16, 24, 16, 24, 16, 16, 16, 24, 24, 24, 16, 24, 16, 16, 24, 16, 24, 16, 16, 16, 24, 16, 24,
    16, 16, 16, 24, 24, 24, 16, 24, 16, 16, 24, 24, 16, 16, 16, 16, 24, 16, 24, 16, 16, 16, 24, 16,
    24, 16, 16, 16, 24, 16, 24, 16, 16, 16, 24, 16, 16, 24, 16, 16, 24, 16, 16, 24, 16, 16, 16, 24,
    16, 24, 16, 16, 16, 24, 16, 24, 16, 16, 16, 24, 16, 24, 16, 16, 16, 24, 16, 24, 16, 16, 16};
static const double ref7_stats[] = {18.86315789473684,
                                    3.8350475913215103,
                                    14.707590027700917,
                                    16.0,
                                    24.0,
                                    8.0,
                                    16.0,
                                    1792.0,
                                    18.86315789473684,
                                    3.8350475913215103,
                                    16.0,
                                    24.0,
                                    1792.0,
                                    95.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    0.0,
                                    95.0};

static const struct ref_seq real_seqs[] = {
    {"443-safari packet_lengths", ref0_x, N_OF(ref0_x), ref0_stats},
    {"443-safari tcp_window", ref1_x, N_OF(ref1_x), ref1_stats},
    {"multi line 45 packet_lengths", ref2_x, N_OF(ref2_x), ref2_stats},
    {"multi line 45 iats", ref3_x, N_OF(ref3_x), ref3_stats},
    {"tls_verylong_certificate iats", ref4_x, N_OF(ref4_x), ref4_stats},
    {"single iats", ref5_x, N_OF(ref5_x), ref5_stats},
    {"single app_lengths", ref6_x, N_OF(ref6_x), ref6_stats},
    {"dup tcp_flags", ref7_x, N_OF(ref7_x), ref7_stats},
};

Test(stats, real_sequences_match_the_original_to_1e9)
{
    /* --compat promises statistics to 1e-9 relative. The original's var is the one-pass
     * Σa²/n − mean², close enough on these to agree at that tolerance. */
    for (size_t s = 0; s < N_OF(real_seqs); s++) {
        struct wkp_block b;
        block_of(real_seqs[s].x, real_seqs[s].n, &b);
        for (int j = 0; j < 21; j++) {
            int i = compat_order[j];
            char what[128];
            snprintf(what, sizeof what, "%s: %s", real_seqs[s].name, wkp_stat_names[i]);
            expect_close(wkp_block_get(&b, i), real_seqs[s].stats[j], 1e-9, 0, what);
        }
    }
}

/* ---- a second method: two passes in long double ---- */

static int cmp_ld(const void *p, const void *q)
{
    long double a = *(const long double *)p, b = *(const long double *)q;
    return (a > b) - (a < b);
}

/* Direction d: +1 up, −1 down, 0 all. Fills mean, std, min, max, sum, count
 * and, for all, var, median, skew, kurt, cv, range: textbook definitions,
 * as docs/output.md states them, m_k = Σ(a − mean)^k / n computed after the mean. */
static void two_pass(const double *x, size_t n, int dir, long double *o)
{
    static long double a[1 << 14];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (dir == 0 || (dir > 0 && x[i] > 0) || (dir < 0 && x[i] < 0))
            a[m++] = fabsl((long double)x[i]);
    memset(o, 0, sizeof(long double) * WKP_STAT_N);
    if (m == 0)
        return;
    long double sum = 0, m2 = 0, m3 = 0, m4 = 0;
    for (size_t i = 0; i < m; i++)
        sum += a[i];
    long double mean = sum / m;
    for (size_t i = 0; i < m; i++) {
        long double d = a[i] - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    m2 /= m, m3 /= m, m4 /= m;
    qsort(a, m, sizeof a[0], cmp_ld);
    o[WKP_STAT_MEAN] = mean;
    o[WKP_STAT_VAR] = m2;
    o[WKP_STAT_STD] = sqrtl(m2);
    o[WKP_STAT_MIN] = a[0];
    o[WKP_STAT_MAX] = a[m - 1];
    o[WKP_STAT_RANGE] = a[m - 1] - a[0];
    o[WKP_STAT_MEDIAN] = m % 2 ? a[m / 2] : (a[m / 2 - 1] + a[m / 2]) / 2;
    if (m >= 2 && m2 > 0) {
        o[WKP_STAT_SKEW] = m3 / powl(m2, 1.5L);
        o[WKP_STAT_KURT] = m4 / (m2 * m2) - 3;
    }
    if (m >= 2 && mean != 0)
        o[WKP_STAT_CV] = sqrtl(m2) / mean;
    o[WKP_STAT_SUM] = sum;
    o[WKP_STAT_COUNT] = m;
}

/* Every statistic against two_pass, to rel relative; skew and kurt are
 * dimensionless, so near 0 they are held to rel absolute. */
static void check_against_two_pass(const char *name, const double *x, size_t n, double rel)
{
    struct wkp_block b;
    block_of(x, n, &b);
    long double all[WKP_STAT_N], up[WKP_STAT_N], down[WKP_STAT_N];
    two_pass(x, n, 0, all);
    two_pass(x, n, +1, up);
    two_pass(x, n, -1, down);
    long double want[WKP_STAT_N];
    memcpy(want, all, sizeof want);
    const int from[6] = {WKP_STAT_MEAN, WKP_STAT_STD, WKP_STAT_MIN,
                         WKP_STAT_MAX,  WKP_STAT_SUM, WKP_STAT_COUNT};
    for (int k = 0; k < 6; k++) {
        want[WKP_STAT_UP_MEAN + k] = up[from[k]];
        want[WKP_STAT_DOWN_MEAN + k] = down[from[k]];
    }
    if (up[WKP_STAT_COUNT] <= 1)
        want[WKP_STAT_UP_STD] = 0;
    if (down[WKP_STAT_COUNT] <= 1)
        want[WKP_STAT_DOWN_STD] = 0;
    for (int i = 0; i < WKP_STAT_N; i++) {
        char what[160];
        snprintf(what, sizeof what, "%s (n=%zu): %s", name, n, wkp_stat_names[i]);
        double floor = (i == WKP_STAT_SKEW || i == WKP_STAT_KURT) ? rel : 0;
        expect_close(wkp_block_get(&b, i), (double)want[i], rel, floor, what);
    }
}

Test(stats, real_sequences_match_a_two_pass_computation)
{
    for (size_t s = 0; s < N_OF(real_seqs); s++)
        check_against_two_pass(real_seqs[s].name, real_seqs[s].x, real_seqs[s].n, 1e-9);
    check_against_two_pass("single packet_lengths", single_pl, N_OF(single_pl), 1e-9);
}

/* xorshift64*: deterministic, no libc rand state */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}
static double rnd01(void)
{
    return (double)(rnd() >> 11) * 0x1p-53;
}

Test(stats, synthetic_sequences_match_a_two_pass_computation)
{
    static double x[10000];
    /* packet lengths: mixed signs, 40..1514 */
    for (size_t i = 0; i < 10000; i++)
        x[i] = (double)(40 + rnd() % 1475) * (rnd() & 1 ? 1 : -1);
    check_against_two_pass("random lengths", x, 10000, 1e-9);
    /* heavy tail (IAT-like, exponential in seconds) with zeros */
    for (size_t i = 0; i < 5000; i++)
        x[i] = rnd() % 7 == 0 ? 0.0 : -log(1 - rnd01()) * 0.01;
    check_against_two_pass("exponential iats", x, 5000, 1e-9);
    /* one outlier first, then a tight cluster: the shift is the outlier */
    x[0] = 1e6;
    for (size_t i = 1; i < 3000; i++)
        x[i] = 100 + rnd01();
    check_against_two_pass("outlier first", x, 3000, 1e-9);
    /* windows: a constant run then a change */
    for (size_t i = 0; i < 1000; i++)
        x[i] = i < 900 ? 65535 : 502;
    check_against_two_pass("window run", x, 1000, 1e-9);
    /* two values */
    const double two[] = {-3, 11};
    check_against_two_pass("two values", two, 2, 1e-12);
}

/* Timestamps 1.7e9 s plus a 10 s spread at µs resolution: the reference's
 * Σa²/n − mean² works on numbers near 2.9e18, whose ulp is 512, so its
 * variance (≈ 8.3) is noise; the streaming moments are accurate. */
Test(stats, large_offset_values_keep_their_precision)
{
    static double x[2000];
    for (size_t i = 0; i < 2000; i++)
        x[i] = 1700000000.0 + (double)(rnd() % 10000000) * 1e-6;
    check_against_two_pass("timestamps", x, 2000, 1e-9);

    long double ref[WKP_STAT_N];
    two_pass(x, 2000, 0, ref);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < 2000; i++) {
        s += x[i];
        s2 += x[i] * x[i];
    }
    double naive = s2 / 2000 - (s / 2000) * (s / 2000);
    double naive_err = fabs(naive - (double)ref[WKP_STAT_VAR]) / (double)ref[WKP_STAT_VAR];
    cr_log_info("var: two-pass %.17Lg, naive %.17g (rel. error %.3g)", ref[WKP_STAT_VAR], naive,
                naive_err);
    cr_expect_gt(naive_err, 1e-3, "the naive formula should visibly fail here");

    struct wkp_block b;
    block_of(x, 2000, &b);
    expect_close(wkp_block_get(&b, WKP_STAT_VAR), (double)ref[WKP_STAT_VAR], 1e-12, 0, "var");
}

/* ---- medians ---- */

static int cmp_d(const void *p, const void *q)
{
    double a = *(const double *)p, b = *(const double *)q;
    return (a > b) - (a < b);
}

/* median of |v| by sorting a copy */
static double median_by_sort(const double *v, size_t n)
{
    static double c[1 << 17];
    if (n == 0)
        return 0.0;
    for (size_t i = 0; i < n; i++)
        c[i] = fabs(v[i]);
    qsort(c, n, sizeof c[0], cmp_d);
    return n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
}

static double median_copy(const double *v, size_t n)
{
    static double c[1 << 17];
    memcpy(c, v, n * sizeof *v);
    return wkp_median_abs(c, n);
}

Test(median, small_cases_by_hand)
{
    cr_expect_eq(wkp_median_abs(NULL, 0), 0.0);
    double one[] = {-42};
    cr_expect_eq(wkp_median_abs(one, 1), 42.0);
    double two[] = {-3, 8};
    cr_expect_eq(wkp_median_abs(two, 2), 5.5); /* (3 + 8)/2 */
    double odd[] = {5, -1, 4, -2, 3};
    cr_expect_eq(wkp_median_abs(odd, 5), 3.0); /* 1 2 3 4 5 */
    double even[] = {-7, 1, 9, 3};
    cr_expect_eq(wkp_median_abs(even, 4), 5.0); /* 1 3 7 9 */
    double dup[] = {66, -66, 54, 54, -54, 1434, 66};
    cr_expect_eq(wkp_median_abs(dup, 7), 66.0); /* 54 54 54 66 66 66 1434 */
    double dup_even[] = {54, -54, 54, 66, -66, 66};
    cr_expect_eq(wkp_median_abs(dup_even, 6), 60.0); /* 54 54 54 | 66 66 66 */
    double same[33];
    for (int i = 0; i < 33; i++)
        same[i] = i % 2 ? -0.25 : 0.25;
    cr_expect_eq(wkp_median_abs(same, 33), 0.25);
    cr_expect_eq(wkp_median_abs(same, 32), 0.25);
    /* single.pcap packet_lengths median 92 */
    cr_expect_eq(median_copy(single_pl, N_OF(single_pl)), 92.0);
}

Test(median, matches_sorting_on_large_and_adversarial_arrays)
{
    static double v[100001];
    const size_t sizes[] = {3, 16, 17, 31, 64, 1000, 4097, 65536, 100001};
    for (size_t s = 0; s < N_OF(sizes); s++) {
        size_t n = sizes[s];
        for (int shape = 0; shape < 6; shape++) {
            for (size_t i = 0; i < n; i++) {
                switch (shape) {
                case 0: v[i] = (rnd01() - 0.5) * 1e4; break;           /* random */
                case 1: v[i] = (double)i; break;                       /* sorted */
                case 2: v[i] = (double)(n - i); break;                 /* reversed */
                case 3: v[i] = (double)(i < n / 2 ? i : n - i); break; /* organ pipe */
                case 4: v[i] = (double)(rnd() % 3) - 1; break;         /* few values */
                default: v[i] = (double)((i * 7919) % 5 ? 54 : -1434); /* two values */
                }
            }
            double want = median_by_sort(v, n);
            cr_expect_eq(median_copy(v, n), want, "n=%zu shape %d", n, shape);
        }
    }
}

Test(median, integer_versions_agree_with_the_double_one)
{
    static int32_t i32[5001];
    static int64_t i64[5001];
    static uint32_t u32[5001];
    static double d[5001];
    for (size_t n = 0; n <= 5001; n += (n < 20 ? 1 : 997)) {
        for (size_t i = 0; i < n; i++) {
            int32_t x = (int32_t)(rnd() % 3000) - 1500;
            i32[i] = x;
            u32[i] = (uint32_t)abs(x);
            d[i] = x;
        }
        double want = median_by_sort(d, n);
        cr_expect_eq(wkp_median_abs_i32(i32, n), want, "i32 n=%zu", n);
        cr_expect_eq(wkp_median_u32(u32, n), want, "u32 n=%zu", n);
        for (size_t i = 0; i < n; i++) {
            i64[i] = (int64_t)(rnd() % 50000000) - 25000000; /* ns, ±25 ms */
            d[i] = (double)i64[i];
        }
        want = median_by_sort(d, n) / 1e9;
        cr_expect_eq(wkp_median_abs_i64(i64, n, 1e9), want, "i64 n=%zu", n);
    }
    /* magnitudes that overflow the signed type */
    int32_t m32[] = {INT32_MIN, INT32_MIN, 5};
    cr_expect_eq(wkp_median_abs_i32(m32, 3), 2147483648.0);
    int64_t m64[] = {INT64_MIN, INT64_MAX};
    cr_expect_eq(wkp_median_abs_i64(m64, 2, 1), 0x1p63); /* (2^63 + 2^63 − 1)/2, rounded */
    /* ns → s by division: the same double as the IAT printed by the CLI */
    int64_t ns[] = {150000, -28969000, 2027000};
    cr_expect_eq(wkp_median_abs_i64(ns, 3, 1e9), 2027000 / 1e9);
    int64_t ns2[] = {150000, 2027000};
    cr_expect_eq(wkp_median_abs_i64(ns2, 2, 1e9), 2177000 / 2e9);
}

/* ---- scalars ---- */

static void acc_of(const double *x, size_t n, struct wkp_block_acc *acc)
{
    wkp_block_acc_init(acc);
    for (size_t i = 0; i < n; i++)
        wkp_block_acc_add(acc, x[i]);
}

Test(scalars, ratio_vectors)
{
    struct wkp_block_acc pkt, iat;
    struct wkp_scalars sc;
    const double mixed[] = {100, 200, -150, -250};
    acc_of(mixed, 4, &pkt);
    wkp_scalars_compute(&pkt, NULL, 10.0, 12.5, &sc);
    cr_expect_eq(sc.packet_count, 4);
    cr_expect_eq(sc.total_bytes, 700);
    cr_expect_eq(sc.up_down_pkt_ratio, 1.0);   /* 2/2 */
    cr_expect_eq(sc.up_down_byte_ratio, 0.75); /* 300/400 */
    cr_expect_eq(sc.duration, 2.5);            /* no iats: end − start */

    const double fwd[] = {60, 1500, 40};
    acc_of(fwd, 3, &pkt);
    wkp_scalars_compute(&pkt, NULL, 0, 0, &sc);
    cr_expect_eq(sc.packet_count, 3);
    cr_expect_eq(sc.total_bytes, 1600);
    cr_expect_eq(sc.up_down_pkt_ratio, 0.0); /* down_count = 0 */
    cr_expect_eq(sc.up_down_byte_ratio, 0.0);

    acc_of(NULL, 0, &pkt);
    wkp_scalars_compute(&pkt, NULL, 5.0, 5.0, &sc);
    cr_expect_eq(sc.packet_count, 0);
    cr_expect_eq(sc.total_bytes, 0);
    cr_expect_eq(sc.up_down_pkt_ratio, 0.0);
    cr_expect_eq(sc.up_down_byte_ratio, 0.0);
    cr_expect_eq(sc.duration, 0.0);

    /* end before start (out-of-order file) and no iats: 0 */
    acc_of(mixed, 1, &pkt);
    wkp_scalars_compute(&pkt, NULL, 9.0, 8.0, &sc);
    cr_expect_eq(sc.duration, 0.0);

    /* iats present: duration = Σ|IAT| (a negative IAT counts by magnitude) */
    const double iats[] = {0.5, -0.25, 0.0, 1.0};
    acc_of(iats, 4, &iat);
    acc_of(mixed, 4, &pkt);
    wkp_scalars_compute(&pkt, &iat, 100.0, 101.25, &sc);
    cr_expect_eq(sc.duration, 1.75);
}

Test(scalars, single_pcap_matches_the_original)
{
    /* wa1kpcap__single.pcap.ndjson: 27 packets, 2171 up / 4519 down bytes,
     * ratio 13/14; duration = Σ iats (ref5 is that flow's iats) */
    struct wkp_block_acc pkt, iat;
    struct wkp_scalars sc;
    acc_of(single_pl, N_OF(single_pl), &pkt);
    acc_of(ref5_x, N_OF(ref5_x), &iat);
    wkp_scalars_compute(&pkt, &iat, 1755141753.294776, 1755141753.461066, &sc);
    cr_expect_eq(sc.packet_count, 27);
    cr_expect_eq(sc.total_bytes, 6690);
    expect_close(sc.up_down_pkt_ratio, 13.0 / 14, 1e-15, 0, "pkt ratio");
    expect_close(sc.up_down_byte_ratio, 2171.0 / 4519, 1e-15, 0, "byte ratio");
    expect_close(sc.duration, 0.1662900447845459, 1e-12, 0, "duration"); /* iats sum */
}

/* ---- a long sequence ---- */

/* 2^20 values of magnitude 40..1514, half negative: the accumulator counts
 * them all (its cost is measured by bench/, not here). */
Test(stats, a_million_values_are_all_counted)
{
    enum { N = 1 << 20 };
    static double x[N];
    for (size_t i = 0; i < N; i++)
        x[i] = (double)(40 + rnd() % 1475) * (rnd() & 1 ? 1 : -1);
    struct wkp_block_acc acc;
    wkp_block_acc_init(&acc);
    for (size_t i = 0; i < N; i++)
        wkp_block_acc_add(&acc, x[i]);
    cr_expect_eq(acc.all.n, N);
}
