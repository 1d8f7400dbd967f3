/* util/oneline: error messages made one line. Every expected text below is
 * written out by hand from the rule in util/oneline.h: \n \r \t as two
 * characters, other control bytes as \xHH, a cut text ending in "...". */
#include <criterion/criterion.h>

#include <string.h>

#include "util/oneline.h"

static void check(const char *in, size_t cap, const char *want)
{
    char b[256];
    cr_assert(cap <= sizeof b);
    memset(b, 'Z', sizeof b);
    memcpy(b, in, strlen(in) + 1);
    wkp_oneline(b, cap);
    cr_expect_str_eq(b, want, "in %zu bytes", cap);
    cr_expect(strlen(b) < cap);
    for (size_t i = cap; i < sizeof b; i++) /* nothing written past cap */
        cr_assert_eq(b[i], i <= strlen(in) ? in[i] : 'Z');
}

Test(oneline, plain_text_is_left_as_it_is)
{
    check("f.yaml:3:5: unknown key 'depht'", 64, "f.yaml:3:5: unknown key 'depht'");
    check("caf\xc3\xa9", 16, "caf\xc3\xa9"); /* UTF-8 bytes pass */
    check("", 1, "");
}

Test(oneline, control_characters_become_escapes)
{
    check("a.yaml:6:24: unknown field type 're\n\n'", 64,
          "a.yaml:6:24: unknown field type 're\\n\\n'");
    check("x\ty\rz", 16, "x\\ty\\rz");
    check("\x01\x1f\x7f!", 32, "\\x01\\x1f\\x7f!");
}

Test(oneline, a_text_that_no_longer_fits_is_cut_at_a_whole_escape)
{
    /* "ab\ncdef" escapes to 8 bytes: "ab", "\\n", "cdef" */
    check("ab\ncdef", 9, "ab\\ncdef"); /* 8 bytes fit in 9 - 1: no cut */
    /* cap 8: 7 bytes, 4 before "...": "ab" and the whole "\\n" */
    check("ab\ncdef", 8, "ab\\n...");
    /* cap 7: 3 before "...": "ab" only, "\\n" would not fit whole */
    check("ab\ncdef", 7, "ab...");
    /* cap 4: "..." alone fits, no start before it */
    check("ab\ncdef", 4, "...");
    /* too small for "...": the start that fits, nothing after it */
    check("\n", 2, "");
    check("a\n", 3, "a");
}
