/* Shortest round-trip text for a double, as Python 3's repr(float) writes it
 * (docs/output.md, "How values are written"): the fewest significant
 * digits that read back (round to nearest even) to the same double, the
 * closest such string when several exist; fixed notation for decimal
 * exponents in [-4, 16) ("1292.0", "0.0001", "247.77777777777777"),
 * otherwise scientific with a signed exponent of at least two digits
 * ("1e-05", "1e+16", "5e-324"); "-0.0", "nan", "inf", "-inf". Pure
 * function: any thread, no allocation, no locale. */
#ifndef WKP_FEATURES_DTOA_H
#define WKP_FEATURES_DTOA_H

#include <stddef.h>
#include <stdint.h>

/* The room out must have. The longest text is 24 characters
 * ("-1.2345678901234567e-308") plus the NUL; the rest is scratch: the digits
 * are written in whole 8- and 16-byte stores, which may reach out[33]. */
#define WKP_DTOA_MAX 40

/* Writes the text of v and a terminating NUL into out; returns the length
 * without the NUL (at most 24). Bytes of out past the NUL may be
 * overwritten. Cannot fail. */
size_t wkp_dtoa(double v, char out[WKP_DTOA_MAX]);

/* The texts of doubles written lately, for a caller that writes many (a
 * worker's statistics columns: the same spreads and ratios come back in a
 * row's blocks and in the next rows). 256 slots of 32 bytes, direct-mapped
 * by the double's bits; only the general path (not integers below 2^53,
 * zero or non-finite values) goes through it, and texts of up to 22
 * characters are kept. Owned by one thread; zeroed before its first use. */
#define WKP_DTOA_MEMO_BITS 8
struct wkp_dtoa_slot {
    uint64_t bits;
    char text[23]; /* the text and its NUL */
    uint8_t len;   /* 0: empty */
};
struct wkp_dtoa_memo {
    struct wkp_dtoa_slot slot[1u << WKP_DTOA_MEMO_BITS];
};

/* wkp_dtoa's text of v, taken from m when m holds it, and kept in m
 * otherwise: the same bytes up to the NUL and the same length as wkp_dtoa,
 * for an m zeroed and since written only by this function. */
size_t wkp_dtoa_memo(double v, char out[WKP_DTOA_MAX], struct wkp_dtoa_memo *m);

#endif
