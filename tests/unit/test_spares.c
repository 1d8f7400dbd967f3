/* Unit tests for util/spares: which sizes are kept, rounding, reuse
 * order, the per-size bound, and that nothing is left after fini (the
 * sanitizer build's leak checker fails the test otherwise). */
#include "util/spares.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Sizes kept are the powers of two 64 = 2^6 .. 65536 = 2^16: class = log2 - 6. */
Test(spares, classes_are_the_powers_of_two_from_64_to_64k)
{
    cr_assert_eq(wkp_spare_class(64), 0);
    cr_assert_eq(wkp_spare_class(128), 1);
    cr_assert_eq(wkp_spare_class(1024), 4);
    cr_assert_eq(wkp_spare_class(65536), 10);
    cr_assert_eq(wkp_spare_class(0), -1);
    cr_assert_eq(wkp_spare_class(32), -1);
    cr_assert_eq(wkp_spare_class(65), -1);
    cr_assert_eq(wkp_spare_class(1000), -1);
    cr_assert_eq(wkp_spare_class(131072), -1);
}

Test(spares, round_up_to_a_kept_size)
{
    cr_assert_eq(wkp_spare_round(1), 64);
    cr_assert_eq(wkp_spare_round(64), 64);
    cr_assert_eq(wkp_spare_round(65), 128);
    cr_assert_eq(wkp_spare_round(300), 512);
    cr_assert_eq(wkp_spare_round(65536), 65536);
    cr_assert_eq(wkp_spare_round(65537), 65537); /* above the largest: itself */
}

Test(spares, a_given_block_is_the_next_taken_of_its_size)
{
    struct wkp_spares s = {0};
    char *a = wkp_spare_take(&s, 256), *b = wkp_spare_take(&s, 256);
    char *c = wkp_spare_take(&s, 512);
    cr_assert(a && b && c && a != b);
    memset(a, 'a', 256);
    memset(b, 'b', 256);
    wkp_spare_give(&s, a, 256);
    wkp_spare_give(&s, b, 256);
    wkp_spare_give(&s, c, 512);
    cr_assert_eq(s.n[wkp_spare_class(256)], 2);
    cr_assert_eq(s.n[wkp_spare_class(512)], 1);
    cr_assert_eq(wkp_spare_take(&s, 256), b); /* last in, first out */
    cr_assert_eq(wkp_spare_take(&s, 256), a);
    cr_assert_eq(s.n[wkp_spare_class(256)], 0);
    /* the list's link sat in a's first bytes; the rest is as given */
    cr_assert_eq(a[255], 'a');
    cr_assert_eq(wkp_spare_take(&s, 512), c);
    free(a); /* a block taken is malloc's: free may end it too */
    wkp_spare_give(&s, b, 256);
    wkp_spare_give(&s, c, 512);
    wkp_spares_fini(&s);
    for (int k = 0; k < WKP_SPARE_CLASSES; k++)
        cr_assert(s.n[k] == 0 && s.head[k] == NULL, "class %d left", k);
}

/* 64 KiB of spares per size: 1,024 blocks of 64 bytes, 1 of 64 KiB. */
Test(spares, each_size_keeps_at_most_64k)
{
    enum { N = 1030 };
    static void *p[N];
    struct wkp_spares s = {0};
    for (int i = 0; i < N; i++)
        cr_assert_not_null(p[i] = wkp_spare_take(&s, 64));
    for (int i = 0; i < N; i++)
        wkp_spare_give(&s, p[i], 64); /* the last 6 are freed */
    cr_assert_eq(s.n[0], 1024);
    void *x = wkp_spare_take(&s, 65536), *y = wkp_spare_take(&s, 65536);
    wkp_spare_give(&s, x, 65536);
    wkp_spare_give(&s, y, 65536);
    cr_assert_eq(s.n[10], 1);
    cr_assert_eq(s.head[10], x);
    wkp_spares_fini(&s);
    cr_assert_eq(s.n[0], 0);
}

/* Sizes spares never keep, and no spares at all, go to malloc and free. */
Test(spares, other_sizes_and_no_spares_use_malloc)
{
    struct wkp_spares s = {0};
    void *a = wkp_spare_take(&s, 1000);
    cr_assert_not_null(a);
    wkp_spare_give(&s, a, 1000);
    for (int k = 0; k < WKP_SPARE_CLASSES; k++)
        cr_assert_eq(s.n[k], 0);
    void *b = wkp_spare_take(NULL, 128);
    cr_assert_not_null(b);
    wkp_spare_give(NULL, b, 128);
    wkp_spare_give(&s, NULL, 128); /* no-op */
    cr_assert_eq(s.n[1], 0);
    wkp_spares_fini(&s);
}
