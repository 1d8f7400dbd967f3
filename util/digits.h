/* Decimal digits of unsigned integers, eight at a time: the writers of
 * numbers (util/dtoa.c, util/buf.h) share them. Pure, inline, no table
 * lookups per digit and one division per eight digits. */
#ifndef WKP_UTIL_DIGITS_H
#define WKP_UTIL_DIGITS_H

#include <stdint.h>
#include <string.h>

/* 10^0 .. 10^19 (util/dtoa.c). */
extern const uint64_t wkp_pow10_u64[20];

/* How many decimal digits d > 0 has (1..20). */
static inline int wkp_count_digits(uint64_t d)
{
    int bits = 64 - __builtin_clzll(d);
    int n = (bits * 1233) >> 12; /* floor(bits * log10(2)): the digits, or one less */
    return n + (d >= wkp_pow10_u64[n]);
}

/* The 8 decimal digits of v < 10^8, leading zeros included, as the bytes
 * of a little-endian word: the first digit in the lowest byte. Splits
 * into halves, quarters and single digits in every lane at once, each
 * division by 10^k a multiply and shift that is exact in its range:
 * x * 10486 >> 20 for x < 10^4 is x / 100, and x * 103 >> 10 for x < 100
 * is x / 10 (tests/unit/test_dtoa.c checks every v). */
static inline uint64_t wkp_digits8(uint32_t v)
{
    uint64_t x = (uint64_t)(v / 10000u) | (uint64_t)(v % 10000u) << 32;
    uint64_t h = (x * 10486u >> 20) & UINT64_C(0x0000007f0000007f);
    x = h | (x - h * 100u) << 16;
    h = (x * 103u >> 10) & UINT64_C(0x000f000f000f000f);
    x = h | (x - h * 10u) << 8;
    return x | UINT64_C(0x3030303030303030);
}

/* The 4 decimal digits of v < 10^4, as wkp_digits8 gives its last four,
 * in the low 4 bytes: half its steps, for the short numbers most counts
 * and lengths are. */
static inline uint32_t wkp_digits4(uint32_t v)
{
    uint32_t h = v * 10486u >> 20; /* v / 100 */
    uint32_t x = h | (v - h * 100u) << 16;
    uint32_t t = (x * 103u >> 10) & 0x000f000fu;
    x = t | (x - t * 10u) << 8;
    return x | 0x30303030u;
}

/* Stores the 4 bytes of w (wkp_digits4's order) at p. */
static inline void wkp_store4(char *p, uint32_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap32(w);
#endif
    memcpy(p, &w, 4);
}

/* Stores the 8 bytes of w (wkp_digits8's order) at p. */
static inline void wkp_store8(char *p, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    memcpy(p, &w, 8);
}

/* Writes the n (1..20, wkp_count_digits(d)) decimal digits of d to
 * p[0..n). Whole 4- and 8-byte stores: the bytes up to p[8] may be
 * written too when n < 8, and are scratch for the caller. */
static inline void wkp_put_digits(char *p, uint64_t d, int n)
{
    if (n <= 4) {
        wkp_store4(p, wkp_digits4((uint32_t)d) >> (8 * (4 - n)));
        return;
    }
    if (n <= 8) { /* the leading zeros are the low bytes: shift them out */
        wkp_store8(p, wkp_digits8((uint32_t)d) >> (8 * (8 - n)));
        return;
    }
    if (n > 16) {
        uint64_t top = d / UINT64_C(10000000000000000); /* 1..1844 */
        d %= UINT64_C(10000000000000000);
        wkp_store8(p, wkp_digits8((uint32_t)top) >> (8 * (24 - n)));
        p += n - 16;
        n = 16;
    }
    uint32_t hi = (uint32_t)(d / 100000000u), lo = (uint32_t)(d % 100000000u);
    wkp_store8(p, wkp_digits8(hi) >> (8 * (16 - n)));
    wkp_store8(p + n - 8, wkp_digits8(lo));
}

#endif
