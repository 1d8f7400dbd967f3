/* util/buf.c: JSON text of wire bytes. Expected strings written by hand
 * from RFC 8259 (escapes) and RFC 3629 (well-formed UTF-8). */
#include <criterion/criterion.h>
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
