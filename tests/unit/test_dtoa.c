/* wkp_dtoa: the text must equal Python 3's repr(float). Fixed cases were
 * printed by CPython 3 (`python3 -c 'print(repr(x))'`, expression in each
 * row). Randomized cases check the defining properties instead: the text
 * reads back (strtod) to the same bits; no string with fewer significant
 * digits does, taking glibc's correctly rounded snprintf("%.*e") as the
 * reference; and among the strings of that length ours is the nearest,
 * i.e. it equals snprintf at that precision. The one exception is a power
 * of two, whose rounding interval is lopsided (1/4 ulp below, 1/2 above):
 * there a shorter string may read back although the nearest one at that
 * length does not, and repr picks it (46 such powers, e.g. 2^-1017). */
#include <criterion/criterion.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dtoa.h"

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static uint64_t to_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

struct repr_case {
    double v;
    const char *text;
};

Test(dtoa, matches_python_repr_on_known_values)
{
    static const struct repr_case cases[] = {
        {1292.0, "1292.0"},
        {0.1, "0.1"},
        {2230.0 / 9.0, "247.77777777777777"}, /* 2230/9 */
        {0.0001, "0.0001"},
        {1234567890123456.0, "1234567890123456.0"},
        {1e-05, "1e-05"},
        {1.5e-05, "1.5e-05"},
        {1e16, "1e+16"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, /* sys.float_info.max */
        {5e-324, "5e-324"},                                  /* smallest subnormal */
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {-1.0, "-1.0"},
        {0.5, "0.5"},
        {-2.5, "-2.5"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {100.0, "100.0"},
        {123456.789, "123456.789"},
        {0.001, "0.001"},
        /* 1e-4 border: 0.0001 is fixed, anything below is scientific */
        {9.999999999999999e-05, "9.999999999999999e-05"},
        {0.00010000000000000002, "0.00010000000000000002"}, /* nextafter(1e-4, 1) */
        {0.00012, "0.00012"},
        /* 1e16 border */
        {9999999999999998.0, "9999999999999998.0"}, /* 1e16 - 2 */
        {1.0000000000000002e16, "1.0000000000000002e+16"},
        {1e15, "1000000000000000.0"},
        {1e17, "1e+17"},
        {1e22, "1e+22"},
        {1e23, "1e+23"},
        {1e-7, "1e-07"},
        {1e100, "1e+100"},
        {1e-100, "1e-100"},
        {1e308, "1e+308"},
        {1e-308, "1e-308"},
        /* 2^53 and around: integers print whole */
        {9007199254740992.0, "9007199254740992.0"},       /* 2**53 */
        {9007199254740991.0, "9007199254740991.0"},       /* 2**53 - 1 */
        {9007199254740994.0, "9007199254740994.0"},       /* 2**53 + 2 */
        {18014398509481984.0, "1.8014398509481984e+16"},  /* 2**54 */
        {1152921504606846976.0, "1.152921504606847e+18"}, /* 2**60 */
        {2251799813685248.5, "2251799813685248.5"},       /* 2**51 + 0.5 */
        {0.30000000000000004, "0.30000000000000004"},
        {5e-324 * 3, "1.5e-323"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"}, /* smallest normal */
        {2.225073858507201e-308, "2.225073858507201e-308"},   /* largest subnormal */
        {5e-324 * 123456, "6.09954e-319"},
        {1e-323, "1e-323"},
        /* powers of two where the lopsided interval admits a shorter string
         * than the nearest one at that length: 2**-1017, 2**-1007, 2**-957 */
        {0x1p-1017, "7.120236347223045e-307"},
        {0x1p-1007, "7.291122019556398e-304"},
        {0x1p-957, "8.209073602596753e-289"},
        {0x1p-1074, "5e-324"},
        {0x1p1023, "8.98846567431158e+307"},
        {0x1p-1, "0.5"},
        {0x1p-20, "9.5367431640625e-07"},
        {0x1p63, "9.223372036854776e+18"},
        {1.000001, "1.000001"},
        {0.000123456, "0.000123456"},
        {123456789012345680.0, "1.2345678901234568e+17"},
        {-1.5e300, "-1.5e+300"},
        {3.14159, "3.14159"},
        {299792458.0, "299792458.0"},
    };
    char out[WKP_DTOA_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(out, 'x', sizeof out);
        size_t n = wkp_dtoa(cases[i].v, out);
        cr_expect_str_eq(out, cases[i].text, "case %zu: got %s, want %s", i, out, cases[i].text);
        cr_expect_eq(n, strlen(cases[i].text), "case %zu: length %zu", i, n);
    }
}

Test(dtoa, writes_nan_and_inf_without_sign_for_nan)
{
    char out[WKP_DTOA_MAX];
    cr_expect_eq(wkp_dtoa(NAN, out), 3);
    cr_expect_str_eq(out, "nan");
    cr_expect_eq(wkp_dtoa(-NAN, out), 3); /* repr(-math.nan) == 'nan' */
    cr_expect_str_eq(out, "nan");
    cr_expect_eq(wkp_dtoa(INFINITY, out), 3);
    cr_expect_str_eq(out, "inf");
    cr_expect_eq(wkp_dtoa(-INFINITY, out), 4);
    cr_expect_str_eq(out, "-inf");
}

/* Significant digits of a decimal text (any of our or printf's forms), with
 * leading and trailing zeros removed, and the decimal exponent of the first. */
static int sig_digits(const char *s, char dig[40], int *x10)
{
    char all[40];
    int n = 0, before_point = 0;
    bool point = false;
    if (*s == '-')
        s++;
    for (; *s && *s != 'e'; s++) {
        if (*s == '.') {
            point = true;
            continue;
        }
        all[n++] = *s;
        if (!point)
            before_point++;
    }
    int e = *s == 'e' ? atoi(s + 1) : 0;
    int z = 0;
    while (z < n - 1 && all[z] == '0')
        z++;
    while (n > z + 1 && all[n - 1] == '0')
        n--;
    memcpy(dig, all + z, (size_t)(n - z));
    dig[n - z] = '\0';
    *x10 = all[z] == '0' ? 0 : before_point - 1 - z + e; /* zero: no exponent */
    return n - z;
}

static bool reads_back(const char *s, double v)
{
    return to_bits(strtod(s, NULL)) == to_bits(v);
}

/* Correctly rounded to p significant digits. */
static void fmt_e(char buf[64], int p, double v)
{
    snprintf(buf, 64, "%.*e", p - 1, v);
}

struct tally {
    long checked, lopsided_shorter;
};

/* repr's layout of significant digits dig (no leading or trailing zeros)
 * times 10^x: fixed notation for -4 <= x < 16, else d.ddde+XX. */
static void repr_layout(char out[64], bool neg, const char *dig, int x)
{
    int n = (int)strlen(dig);
    char *p = out + neg;
    out[0] = '-';
    if (x >= 0 && x < 16 && n <= x + 1)
        snprintf(p, 63, "%s%.*s.0", dig, x + 1 - n, "0000000000000000");
    else if (x >= 0 && x < 16)
        snprintf(p, 63, "%.*s.%s", x + 1, dig, dig + x + 1);
    else if (x < 0 && x >= -4)
        snprintf(p, 63, "0.%.*s%s", -x - 1, "000", dig);
    else
        snprintf(p, 63, "%c%s%se%c%02d", dig[0], n > 1 ? "." : "", dig + 1, x < 0 ? '-' : '+',
                 x < 0 ? -x : x);
}

/* full: also find the smallest p that round-trips by trying p = 1, 2, ... */
static void check_one(double v, struct tally *t, bool full)
{
    char out[WKP_DTOA_MAX], ref[64], d_out[40], d_ref[40];
    int x_out, x_ref;
    size_t len = wkp_dtoa(v, out);
    cr_assert_eq(len, strlen(out), "%a: length %zu for %s", v, len, out);
    cr_assert(len <= 24, "%a: %s too long", v, out);
    cr_assert(reads_back(out, v), "%a (%016llx): %s reads back as %a", v,
              (unsigned long long)to_bits(v), out, strtod(out, NULL));

    int n = sig_digits(out, d_out, &x_out);
    char layout[64];
    repr_layout(layout, signbit(v), d_out, x_out);
    cr_assert_str_eq(out, layout, "%a: %s is not laid out as repr would", v, out);
    uint64_t b = to_bits(v);
    bool lopsided = (b & ((UINT64_C(1) << 52) - 1)) == 0 && ((b >> 52) & 0x7ff) > 1;
    if (n > 1) {
        fmt_e(ref, n - 1, v);
        cr_assert(!reads_back(ref, v), "%a: %s has %d digits but %s reads back", v, out, n, ref);
    }
    fmt_e(ref, n, v);
    sig_digits(ref, d_ref, &x_ref);
    if (reads_back(ref, v) || !lopsided) {
        cr_assert(strcmp(d_out, d_ref) == 0 && x_out == x_ref,
                  "%a: %s is not the nearest %d-digit string %s", v, out, n, ref);
    }
    if (full) {
        int p = 1;
        for (; p < 17; p++) {
            fmt_e(ref, p, v);
            if (reads_back(ref, v))
                break;
        }
        cr_assert(n <= p, "%a: %s has %d digits, %%.%de reads back", v, out, n, p - 1);
        if (n < p) {
            cr_assert(lopsided, "%a: %s shorter than %d digits off a power of two", v, out, p);
            t->lopsided_shorter++;
        }
    }
    t->checked++;
}

static uint64_t rng_state;

static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n)
{
    return rng_next() % n;
}

/* The random tests check 1.5 M values each in a normal build and a tenth of
 * that under a sanitizer (the code paths are the same; the sanitizers check
 * memory and arithmetic, not coverage). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RANDOM_N 150000
#else
#define RANDOM_N 1500000
#endif

Test(dtoa, random_bit_patterns_round_trip_shortest_nearest)
{
    struct tally t = {0};
    rng_state = 0x5eed0001;
    for (int i = 0; i < RANDOM_N; i++) {
        uint64_t b = rng_next();
        if (((b >> 52) & 0x7ff) == 0x7ff)
            continue;
        check_one(from_bits(b), &t, false);
    }
    /* Subnormals, with few and many digits. */
    for (int i = 0; i < 100000; i++)
        check_one(from_bits(rng_below(i & 1 ? UINT64_C(1) << 52 : 4096)), &t, false);
    cr_log_info("random bit patterns: %ld checked", t.checked);
    /* about 1/2048 of random patterns are NaN or infinity, skipped */
    cr_expect_geq(t.checked, RANDOM_N + 100000 - RANDOM_N / 1000);
}

/* The kind of numbers a flow record holds: counts, means (integer / n),
 * IATs in micro- and nanoseconds, ratios, rates. */
static double realistic(void)
{
    switch (rng_below(8)) {
    case 0: return (double)rng_below(100000000);
    case 1: return (double)rng_below(10000000) / (double)(1 + rng_below(5000));
    case 2: return (double)rng_below(100000000) / 1e6;
    case 3: return (double)rng_below(10000000000) / 1e9;
    case 4: return (double)rng_below(1000) / (double)(1 + rng_below(1000));
    case 5: return (double)(rng_next() >> 11) * 0x1p-53 * 1e-3; /* small [0, 1ms) */
    case 6: return -(double)rng_below(65536) / (double)(1 + rng_below(100));
    default: return (double)rng_below(1u << 30) * 1e-6 * (double)(1 + rng_below(3));
    }
}

Test(dtoa, realistic_values_round_trip_shortest_nearest)
{
    struct tally t = {0};
    rng_state = 0x5eed0002;
    for (int i = 0; i < RANDOM_N; i++)
        check_one(realistic(), &t, false);
    cr_log_info("realistic values: %ld checked", t.checked);
    cr_expect_eq(t.checked, RANDOM_N);
}

Test(dtoa, powers_of_two_and_ten_and_neighbours_are_shortest)
{
    struct tally t = {0};
    for (int e = -1074; e <= 1023; e++) {
        double v = ldexp(1.0, e);
        check_one(v, &t, true);
        check_one(-v, &t, true);
        check_one(nextafter(v, 0.0), &t, true);
        if (e < 1023 || nextafter(v, INFINITY) != INFINITY)
            check_one(nextafter(v, INFINITY), &t, true);
    }
    /* 46 powers of two (and their negatives) where repr is shorter than
     * the nearest-string search finds; counted with CPython 3. */
    cr_expect_eq(t.lopsided_shorter, 92);
    char buf[32];
    for (int e = -323; e <= 308; e++) {
        snprintf(buf, sizeof buf, "1e%d", e);
        double v = strtod(buf, NULL);
        check_one(v, &t, true);
        check_one(nextafter(v, 0.0), &t, true);
        check_one(nextafter(v, INFINITY), &t, true);
    }
    /* Integers around 2^53 and 10^16, where the integer shortcut ends. */
    for (int64_t d = -3000; d <= 3000; d++) {
        check_one((double)(INT64_C(9007199254740992) + d), &t, true);
        check_one((double)(INT64_C(10000000000000000) + d), &t, true);
    }
}

/* Every integer below 10^8 against its digits counted up one by one (an
 * odometer of ASCII digits): the 8-digit converter handles each value with
 * multiplies that are only exact in a range, so every one is checked. */
Test(dtoa, every_integer_below_1e8_prints_its_digits)
{
    char odo[9] = "00000000", out[WKP_DTOA_MAX], want[16];
    for (uint32_t v = 0; v < 100000000u; v++) {
        int z = 0;
        while (z < 7 && odo[z] == '0')
            z++;
        size_t n = 8 - (size_t)z;
        memcpy(want, odo + z, n);
        memcpy(want + n, ".0", 3);
        size_t len = wkp_dtoa((double)v, out);
        if (len != n + 2 || memcmp(out, want, n + 3) != 0)
            cr_assert_fail("%u: %s, want %s", v, out, want);
        for (int i = 7; i >= 0 && ++odo[i] > '9'; i--)
            odo[i] = '0';
    }
}

/* Integers of 9 to 16 digits (below 2^53 they print as themselves) and
 * 17-digit shortest forms, against printf's integer conversion. */
Test(dtoa, long_integers_print_their_digits)
{
    char out[WKP_DTOA_MAX], want[40];
    rng_state = 0x5eed0003;
    for (int i = 0; i < 200000; i++) {
        uint64_t v = rng_below(UINT64_C(1) << 53) >> rng_below(30);
        snprintf(want, sizeof want, "%llu.0", (unsigned long long)v);
        wkp_dtoa((double)v, out);
        cr_assert_str_eq(out, want, "%llu", (unsigned long long)v);
    }
    /* 2^53 + 2k and up to 10^16: still fixed notation, 16-17 digits */
    for (uint64_t v = UINT64_C(9007199254740992); v < UINT64_C(9007199254740992) + 2000; v += 2) {
        snprintf(want, sizeof want, "%llu.0", (unsigned long long)v);
        wkp_dtoa((double)v, out);
        cr_assert_str_eq(out, want, "%llu", (unsigned long long)v);
    }
}

/* The memo (wkp_dtoa_memo) gives wkp_dtoa's bytes and length for every
 * value, whatever it holds: values drawn from a small pool, so that most
 * come back, mixed with fresh ones, with every kind of value (integers,
 * zeros, non-finite values and 23- and 24-character texts, which are not
 * kept), and pairs of values that share a slot written in turn. */
static void same_as_dtoa(double v, struct wkp_dtoa_memo *m)
{
    char want[WKP_DTOA_MAX], got[WKP_DTOA_MAX];
    size_t n = wkp_dtoa(v, want);
    memset(got, 'x', sizeof got);
    size_t k = wkp_dtoa_memo(v, got, m);
    if (k != n || memcmp(got, want, n + 1) != 0)
        cr_assert_fail("%a: memo %s (%zu), wkp_dtoa %s (%zu)", v, got, k, want, n);
}

static unsigned memo_slot(double v)
{
    return (unsigned)((to_bits(v) * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - WKP_DTOA_MEMO_BITS));
}

Test(dtoa, memo_gives_the_same_text)
{
    static struct wkp_dtoa_memo m; /* zeroed */
    double pool[600];
    rng_state = 0x5eed0004;
    for (size_t i = 0; i < sizeof pool / sizeof pool[0]; i++)
        pool[i] = realistic();
    const double odd[] = {0.0,
                          -0.0,
                          NAN,
                          INFINITY,
                          -INFINITY,
                          1e300,
                          -1.2345678901234567e-308,
                          -0.00012345678901234567,
                          5e-324,
                          2.5,
                          -2.5};
    for (int i = 0; i < RANDOM_N / 4; i++) {
        uint64_t r = rng_below(16);
        double v = r < 12   ? pool[rng_below(sizeof pool / sizeof pool[0])]
                   : r < 14 ? realistic()
                   : r < 15 ? from_bits(rng_next() & ~(UINT64_C(1) << 62)) /* finite */
                            : odd[rng_below(sizeof odd / sizeof odd[0])];
        same_as_dtoa(v, &m);
    }
    /* Two values in one slot, in turn: each write replaces the other. */
    double a = realistic(), b;
    do
        b = realistic();
    while (memo_slot(b) != memo_slot(a) || b == a || fmod(b, 1.0) == 0.0);
    for (int i = 0; i < 1000; i++)
        same_as_dtoa(i & 1 ? a : b, &m);
}

/* A slot is read: one that holds a text for v's bits gives it back (so the
 * test above checks texts that came from the memo), and a 24-character text
 * is not kept. */
Test(dtoa, memo_keeps_and_returns_texts)
{
    static struct wkp_dtoa_memo m;
    char out[WKP_DTOA_MAX];
    double v = 0.1;
    cr_assert_eq(wkp_dtoa_memo(v, out, &m), 3);
    struct wkp_dtoa_slot *e = &m.slot[memo_slot(v)];
    cr_assert_eq(e->bits, to_bits(v));
    cr_assert_str_eq(e->text, "0.1");
    cr_assert_eq(e->len, 3);
    memcpy(e->text, "0.7", 4); /* a planted text: only the memo can give it */
    cr_assert_eq(wkp_dtoa_memo(v, out, &m), 3);
    cr_assert_str_eq(out, "0.7");

    double w = -1.2345678901234567e-308; /* 24 characters */
    cr_assert_eq(wkp_dtoa_memo(w, out, &m), 24);
    cr_assert_neq(m.slot[memo_slot(w)].bits, to_bits(w));
    double i = 12345.0; /* the integer path does not go through it */
    wkp_dtoa_memo(i, out, &m);
    cr_assert_neq(m.slot[memo_slot(i)].bits, to_bits(i));
}

/* Fixed notation with the point inside the digits, for every count of
 * digits (2 to 17) and every place of the point (after 1 to 16 of them):
 * random digit strings, read with strtod, checked as above (the text reads
 * back, is shortest and nearest, and is laid out as repr lays it out). */
Test(dtoa, every_place_of_the_point_inside_the_digits)
{
    struct tally t = {0};
    int seen[18][17] = {{0}};
    rng_state = 0x5eed0003;
    for (int n = 2; n <= 17; n++)
        for (int k = 1; k < n && k <= 16; k++)
            for (int i = 0; i < 400; i++) {
                char s[40];
                int j = 0;
                for (int q = 0; q < n; q++) {
                    if (q == k)
                        s[j++] = '.';
                    s[j++] =
                        (char)('0' + (q == 0 || q == n - 1 ? 1 + rng_below(9) : rng_below(10)));
                }
                s[j] = '\0';
                double v = strtod(s, NULL);
                check_one(v, &t, false);
                char out[WKP_DTOA_MAX];
                wkp_dtoa(v, out);
                const char *dot = strchr(out, '.');
                int digits = (int)strlen(out) - 1;
                if (dot && !strchr(out, 'e') && out[0] != '0' && digits >= 2 && digits <= 17)
                    seen[digits][dot - out]++;
            }
    /* the texts themselves cover every (digits, place) pair; 17-digit
     * strings may print shorter, so only pairs of fewer digits are required */
    for (int n = 2; n <= 16; n++)
        for (int k = 1; k < n; k++)
            cr_expect_gt(seen[n][k], 0, "no text of %d digits with the point after %d", n, k);
    cr_expect_gt(seen[17][1], 0);
    cr_expect_gt(seen[17][16], 0);
}
