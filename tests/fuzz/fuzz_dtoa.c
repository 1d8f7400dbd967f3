/* libFuzzer target: wkp_dtoa (util/dtoa.h).
 *
 * Input: byte 0 bit 0 = 0: the rest is a sequence of 8-byte doubles (native
 * byte order); = 1: the rest is text, read with strtod (so that seeds and
 * mutations can be decimal numbers), each line one number.
 *
 * Invariants, for each double v: the return value is strlen(out) and at
 * most 24; NaN is "nan", infinities "inf"/"-inf"; otherwise strtod(out)
 * gives v back bit for bit (the sign of zero included); the text is
 * Python's repr: fixed notation with a '.' exactly when the decimal
 * exponent is in [-4, 16), else d[.ddd]e±XX with at least two exponent
 * digits; and no more significant digits than the shortest correctly
 * rounded %.*e text that reads back to v. */
#include "fuzz_common.h"

#include "util/dtoa.h"

#include <ctype.h>
#include <math.h>

static void check(double v)
{
    char out[WKP_DTOA_MAX + 8];
    memset(out, 0x7f, sizeof out);
    size_t n = wkp_dtoa(v, out);
    FZ_CHECK(n <= 24);
    FZ_CHECK(memchr(out, '\0', WKP_DTOA_MAX) != NULL && strlen(out) == n);
    if (isnan(v)) {
        FZ_CHECK(strcmp(out, "nan") == 0);
        return;
    }
    if (isinf(v)) {
        FZ_CHECK(strcmp(out, v > 0 ? "inf" : "-inf") == 0);
        return;
    }
    char *end;
    double back = strtod(out, &end);
    if (*end != '\0' || memcmp(&back, &v, sizeof v) != 0) {
        fprintf(stderr, "wkp_dtoa(%a) = \"%s\" reads back as %a\n", v, out, back);
        FZ_CHECK(*end == '\0' && memcmp(&back, &v, sizeof v) == 0);
    }

    /* Shape: [-]digits with one '.', or [-]d[.digits]e(+|-)dd[d]. */
    const char *p = out + (out[0] == '-');
    FZ_CHECK(isdigit((unsigned char)p[0]));
    const char *e = strchr(p, 'e');
    int digits = 0, lead = 1, exp10;
    char mant[40];
    size_t mn = e ? (size_t)(e - p) : strlen(p);
    memcpy(mant, p, mn);
    mant[mn] = '\0';
    /* significant digits: strip leading zeros and trailing zeros */
    char sig[40];
    size_t sn = 0;
    int dot_seen = 0, int_digits = 0, lead_frac_zeros = 0;
    for (size_t i = 0; i < mn; i++) {
        char c = mant[i];
        if (c == '.') {
            FZ_CHECK(!dot_seen);
            dot_seen = 1;
            continue;
        }
        FZ_CHECK(isdigit((unsigned char)c));
        if (!dot_seen)
            int_digits++;
        if (lead && c == '0') {
            if (dot_seen)
                lead_frac_zeros++;
            continue;
        }
        lead = 0;
        sig[sn++] = c;
    }
    while (sn > 0 && sig[sn - 1] == '0')
        sn--;
    digits = (int)sn;
    if (v == 0) {
        FZ_CHECK(strcmp(p, "0.0") == 0);
        return;
    }
    FZ_CHECK(digits >= 1 && digits <= 17);
    if (e) {
        FZ_CHECK(e[1] == '+' || e[1] == '-');
        FZ_CHECK(isdigit((unsigned char)e[2]) && isdigit((unsigned char)e[3]));
        FZ_CHECK(strlen(e + 2) <= 3 && (strlen(e + 2) == 2 || e[2] != '0'));
        exp10 = atoi(e + 1);
        FZ_CHECK(int_digits == 1 && p[0] != '0');   /* d[.ddd] */
        FZ_CHECK(!dot_seen || mant[mn - 1] != '0'); /* no trailing zero */
        FZ_CHECK(exp10 < -4 || exp10 >= 16);
    } else {
        FZ_CHECK(dot_seen && mant[mn - 1] != '.');
        /* decimal exponent of the first significant digit */
        exp10 = (p[0] != '0') ? int_digits - 1 : -(lead_frac_zeros + 1);
        FZ_CHECK(exp10 >= -4 && exp10 < 16);
        /* one trailing zero only for an integral value ("1292.0") */
        if (mant[mn - 1] == '0')
            FZ_CHECK(mant[mn - 2] == '.');
    }

    /* Not longer than the shortest correctly rounded text. */
    int shortest = 17;
    for (int prec = 1; prec <= 17; prec++) {
        char t[40];
        snprintf(t, sizeof t, "%.*e", prec - 1, v);
        if (strtod(t, NULL) == v) {
            shortest = prec;
            break;
        }
    }
    if (digits > shortest) {
        fprintf(stderr, "wkp_dtoa(%a) = \"%s\": %d digits, %%.%de reads back\n", v, out, digits,
                shortest - 1);
        FZ_CHECK(digits <= shortest);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz z = {data, size};
    uint8_t mode = fz_u8(&z);
    if (!(mode & 1)) {
        while (fz_left(&z) >= 8) {
            size_t got;
            const uint8_t *p = fz_bytes(&z, 8, &got);
            double v;
            memcpy(&v, p, 8);
            check(v);
            check(-v);
            /* the neighbours: digit-count boundaries */
            check(nextafter(v, INFINITY));
            check(nextafter(v, -INFINITY));
        }
        return 0;
    }
    char line[128];
    while (fz_left(&z) > 0) {
        size_t k = 0;
        while (fz_left(&z) > 0 && k < sizeof line - 1) {
            uint8_t c = fz_u8(&z);
            if (c == '\n')
                break;
            line[k++] = (char)c;
        }
        line[k] = '\0';
        check(strtod(line, NULL));
    }
    return 0;
}
