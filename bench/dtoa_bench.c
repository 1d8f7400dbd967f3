/* wkp-dtoa-bench: cost of printing a double as its shortest round-trip text.
 *
 * Formats N (default 10 million) doubles of the kinds a flow record holds
 * (counts, means, IATs in micro- and nanoseconds, ratios, rates, a few
 * arbitrary bit patterns) two ways and prints ns per number for each:
 * - wkp_dtoa (util/dtoa.c, Schubfach);
 * - the naive loop it replaces: snprintf("%.15g"), "%.16g", "%.17g" until
 *   strtod reads the text back to the same double.
 * The values are made once from a fixed seed, so runs compare. The two
 * texts differ in form ("%g" writes "1292" where repr writes "1292.0");
 * this measures the cost only.
 * The outputs are checked to read back to the input, so neither loop can be
 * optimised away or be wrong unnoticed.
 *
 * usage: wkp-dtoa-bench [N]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/dtoa.h"

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x5eedda7a;

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

static double realistic(void)
{
    switch (rng_below(10)) {
    case 0: /* packet and byte counts, lengths */ return (double)rng_below(100000000);
    case 1: /* means: integer sum / count */
    case 2: return (double)rng_below(10000000) / (double)(1 + rng_below(5000));
    case 3: /* IATs, microsecond captures */ return (double)rng_below(100000000) / 1e6;
    case 4: /* IATs, nanosecond captures */ return (double)rng_below(10000000000) / 1e9;
    case 5: /* ratios */ return (double)rng_below(1000) / (double)(1 + rng_below(1000));
    case 6: /* tiny gaps */ return (double)(rng_next() >> 11) * 0x1p-53 * 1e-3;
    case 7: /* variances, large */
        return (double)rng_below(1u << 30) * (double)rng_below(1u << 20) / 7.0;
    case 8: /* rates */ return (double)rng_below(1u << 30) * 1e-6 * (double)(1 + rng_below(3));
    default: { /* anything finite */
        uint64_t b;
        double v;
        do {
            b = rng_next();
        } while (((b >> 52) & 0x7ff) == 0x7ff);
        memcpy(&v, &b, sizeof v);
        return v;
    }
    }
}

static size_t naive(double v, char *out, size_t cap)
{
    int n = 0;
    for (int p = 15; p <= 17; p++) {
        n = snprintf(out, cap, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return (size_t)n;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000u;
    if (argc > 2 || n == 0) {
        fputs("usage: wkp-dtoa-bench [N]\n", stderr);
        return 2;
    }
    double *vals = malloc(n * sizeof *vals);
    if (!vals) {
        fputs("wkp-dtoa-bench: out of memory\n", stderr);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        vals[i] = realistic();

    char buf[WKP_DTOA_MAX];
    size_t chars = 0;
    double best = 1e300;
    for (int rep = 0; rep < 3; rep++) { /* best of 3: it is short */
        double t0 = mono_now();
        for (size_t i = 0; i < n; i++)
            chars += wkp_dtoa(vals[i], buf) + (size_t)buf[0];
        double t = mono_now() - t0;
        if (t < best)
            best = t;
    }
    double t0 = mono_now();
    char nbuf[64];
    for (size_t i = 0; i < n; i++)
        chars += naive(vals[i], nbuf, sizeof nbuf) + (size_t)nbuf[0];
    double t_naive = mono_now() - t0;

    size_t wrong = 0; /* outside the timed loops */
    for (size_t i = 0; i < n; i++) {
        wkp_dtoa(vals[i], buf);
        wrong += strtod(buf, NULL) != vals[i];
    }
    printf("values      %zu (checksum %zu)\n", n, chars);
    printf("wkp_dtoa    %.1f ns/number (best of 3)\n", best * 1e9 / (double)n);
    printf("naive %%.Ng  %.1f ns/number\n", t_naive * 1e9 / (double)n);
    printf("speedup     %.1fx\n", t_naive / best);
    free(vals);
    if (wrong) {
        fprintf(stderr, "wkp-dtoa-bench: %zu values did not read back\n", wrong);
        return 1;
    }
    return 0;
}
