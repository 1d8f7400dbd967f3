/* util/buf.c: JSON text of wire bytes. Expected strings written by hand
 * from RFC 8259 (escapes) and RFC 3629 (well-formed UTF-8). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"

static char *json_bytes(const char *p, size_t n)
{
    static struct wkp_buf b;
    b.len = 0;
    wkp_buf_json_bytes(&b, (const uint8_t *)p, n);
    wkp_buf_putc(&b, '\0');
    return b.p;
}

Test(buf, json_bytes_passes_ascii_and_escapes_quotes_and_controls)
{
    cr_assert_str_eq(json_bytes("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    cr_assert_str_eq(json_bytes("x\0y\n\x7f", 5), "\"x\\u0000y\\u000a\\u007f\"");
}

Test(buf, json_bytes_keeps_well_formed_utf8)
{
    /* U+00E9 (C3 A9), U+20AC (E2 82 AC), U+1F600 (F0 9F 98 80) */
    const char s[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    char want[32];
    snprintf(want, sizeof want, "\"%s\"", s);
    cr_assert_str_eq(json_bytes(s, sizeof s - 1), want);
}

Test(buf, json_bytes_escapes_each_byte_of_ill_formed_sequences)
{
    /* Latin-1 e-acute alone; an overlong '/' (C0 AF); a surrogate (ED A0 80);
     * a truncated 3-byte sequence at the end (E2 82). */
    cr_assert_str_eq(json_bytes("caf\xe9", 4), "\"caf\\u00e9\"");
    cr_assert_str_eq(json_bytes("\xc0\xaf", 2), "\"\\u00c0\\u00af\"");
    cr_assert_str_eq(json_bytes("\xed\xa0\x80", 3), "\"\\u00ed\\u00a0\\u0080\"");
    cr_assert_str_eq(json_bytes("a\xe2\x82", 3), "\"a\\u00e2\\u0082\"");
}

/* Integers and times are written as printf("%" PRIu64) and "%lld.%09lld"
 * would write them, at every power-of-ten edge and at the extremes. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
Test(buf, integers_and_times_match_printf)
{
    uint64_t vals[64];
    size_t n = 0;
    vals[n++] = 0;
    vals[n++] = UINT64_MAX;
    for (uint64_t p = 1; n < 60; p *= 10) {
        vals[n++] = p - 1;
        vals[n++] = p;
        vals[n++] = p + 1;
        if (p > UINT64_MAX / 10)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        struct wkp_buf b = {0};
        char want[32];
        wkp_buf_u64(&b, vals[i]);
        wkp_buf_putc(&b, '\0');
        snprintf(want, sizeof want, "%" PRIu64, vals[i]);
        cr_assert_str_eq(b.p, want);
        wkp_buf_free(&b);
    }
    int64_t times[] = {0, 1, 999999999, 1000000000, 1755141753294776000, -1, -1500000000,
                       INT64_MAX, INT64_MIN + 1, 123456789012};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        for (int digits = 6; digits <= 9; digits += 3) {
            struct wkp_buf b = {0};
            char want[48];
            int64_t t = times[i];
            uint64_t mag = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
            snprintf(want, sizeof want, "%s%" PRIu64 ".%09" PRIu64, t < 0 ? "-" : "",
                     mag / 1000000000u, mag % 1000000000u);
            if (digits == 6)
                want[strlen(want) - 3] = '\0';
            wkp_buf_time(&b, t, digits);
            wkp_buf_putc(&b, '\0');
            cr_assert_str_eq(b.p, want, "%lld at %d digits", (long long)t, digits);
            wkp_buf_free(&b);
        }
    }
}

/* The same against printf for every integer below 10^6 and for random
 * values of every length (a 64-bit random number shifted right by 0..63),
 * written one after another into one buffer as the sequence lists do, so
 * a writer's scratch bytes past its digits must be overwritten by the
 * next value. Times: random signed nanoseconds of every length. */
Test(buf, many_integers_and_times_match_printf)
{
    struct wkp_buf b = {0};
    char want[48];
    uint64_t s = 0x5eedb0f;
    for (uint64_t v = 0; v < 3000000; v++) {
        uint64_t x = v;
        if (v >= 1000000) { /* splitmix64, shifted */
            uint64_t z = (s += UINT64_C(0x9e3779b97f4a7c15));
            z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
            z ^= z >> 31;
            x = z >> (v % 64);
        }
        b.len = 0;
        wkp_buf_u64(&b, x);
        wkp_buf_putc(&b, ',');
        wkp_buf_u64(&b, x / 7);
        wkp_buf_putc(&b, '\0');
        snprintf(want, sizeof want, "%" PRIu64 ",%" PRIu64, x, x / 7);
        if (strcmp(b.p, want) != 0)
            cr_assert_fail("%s, want %s", b.p, want);
        if (v < 1000000)
            continue;
        int64_t t = (int64_t)(x >> 1) * (v & 1 ? -1 : 1);
        uint64_t mag = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
        int digits = v & 2 ? 9 : 6;
        b.len = 0;
        wkp_buf_time(&b, t, digits);
        wkp_buf_putc(&b, ';');
        wkp_buf_time(&b, -t, digits);
        wkp_buf_putc(&b, '\0');
        snprintf(want, sizeof want, "%s%" PRIu64 ".%0*" PRIu64 ";%s%" PRIu64 ".%0*" PRIu64,
                 t < 0 ? "-" : "", mag / 1000000000u, digits,
                 digits == 9 ? mag % 1000000000u : mag % 1000000000u / 1000u, t > 0 ? "-" : "",
                 mag / 1000000000u, digits,
                 digits == 9 ? mag % 1000000000u : mag % 1000000000u / 1000u);
        if (strcmp(b.p, want) != 0)
            cr_assert_fail("%lld at %d digits: %s, want %s", (long long)t, digits, b.p, want);
    }
    wkp_buf_free(&b);
}

/* RFC 4180, section 2, rules 6 and 7, written out plainly: a field holding
 * a comma, a double quote, CR or LF is enclosed in double quotes, and each
 * double quote inside it is preceded by another. */
static size_t rfc4180_cell(const char *s, size_t n, char *out)
{
    bool quote = false;
    for (size_t i = 0; i < n; i++)
        quote |= s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    size_t k = 0;
    if (quote)
        out[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (quote && s[i] == '"')
            out[k++] = '"';
        out[k++] = s[i];
    }
    if (quote)
        out[k++] = '"';
    return k;
}

Test(buf, csv_quote_from_follows_rfc4180_on_every_shape)
{
    /* Cells of 0 to 99 bytes after a prefix of 0 to 20 bytes that must
     * stay as it is: runs of 16 and more with and without quotes, a quote
     * at either end, a comma or line break alone, bytes >= 0x80. */
    static const char alphabet[] = "ab\",\r\nxyz{}:\xe9";
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        char cell[100], want[256];
        seed = seed * 1103515245u + 12345u;
        size_t pre = (seed >> 8) % 21, n = (seed >> 16) % 100;
        unsigned mix = (seed >> 24) % 4; /* 0: letters only; 3: every kind */
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) % 64;
            cell[i] = r < 40 || mix == 0 ? "abxyz{}:"[r % 8] : alphabet[r % (sizeof alphabet - 1)];
            if (mix == 1 && (cell[i] == ',' || cell[i] == '\r' || cell[i] == '\n'))
                cell[i] = '"';
        }
        struct wkp_buf b = {0};
        wkp_buf_put(&b, "0123456789abcdefghij", pre);
        wkp_buf_put(&b, cell, n);
        wkp_buf_csv_quote_from(&b, pre);
        size_t wn = rfc4180_cell(cell, n, want);
        cr_assert_eq(b.len, pre + wn, "round %d: length %zu, want %zu", round, b.len, pre + wn);
        cr_assert(pre == 0 || memcmp(b.p, "0123456789abcdefghij", pre) == 0,
                  "round %d: prefix changed", round);
        cr_assert(wn == 0 || memcmp(b.p + pre, want, wn) == 0, "round %d: cell differs", round);
        wkp_buf_free(&b);
    }
}

Test(buf, csv_quote_from_examples)
{
    struct wkp_buf b = {0};
    wkp_buf_puts(&b, "x,");
    wkp_buf_puts(&b, "[\"IPv4\",\"TCP\"]");
    wkp_buf_csv_quote_from(&b, 2);
    wkp_buf_putc(&b, '\0');
    cr_assert_str_eq(b.p, "x,\"[\"\"IPv4\"\",\"\"TCP\"\"]\"");
    b.len = 0;
    wkp_buf_puts(&b, "10.0.0.1");
    wkp_buf_csv_quote_from(&b, 0);
    wkp_buf_putc(&b, '\0');
    cr_assert_str_eq(b.p, "10.0.0.1");
    b.len = 0;
    wkp_buf_puts(&b, "a\nb");
    wkp_buf_csv_quote_from(&b, 0);
    wkp_buf_putc(&b, '\0');
    cr_assert_str_eq(b.p, "\"a\nb\"");
    wkp_buf_free(&b);
}
