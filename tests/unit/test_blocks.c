/* Unit tests for util/blocks: size classes of 16 bytes, reuse within a
 * class only, carving from one slab, the malloc path above 1 KiB, and
 * that fini leaves nothing (the sanitizer build's leak checker fails the
 * test otherwise). */
#include "util/blocks.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

Test(blocks, blocks_are_16_byte_aligned_and_carved_in_16_byte_steps)
{
    struct wkp_blocks b = {0};
    /* 1..16 bytes take 16, 17..32 take 32: consecutive carves from one
     * slab lie that far apart. */
    char *p = wkp_blocks_take(&b, 1), *q = wkp_blocks_take(&b, 17), *r = wkp_blocks_take(&b, 300);
    char *s = wkp_blocks_take(&b, 0);
    cr_assert(p && q && r && s);
    cr_assert_eq((uintptr_t)p % 16, 0);
    cr_assert_eq(q - p, 16);
    cr_assert_eq(r - q, 32);
    cr_assert_eq(s - r, 304); /* 300 rounds up to 19 * 16 */
    cr_assert_eq(b.nslabs, 1);
    cr_assert_eq(b.slab_bytes, 64u * 1024u);
    wkp_blocks_fini(&b);
    cr_assert(b.nslabs == 0 && b.slabs == NULL && b.bump == NULL);
}

Test(blocks, a_given_block_is_the_next_taken_of_its_class_only)
{
    struct wkp_blocks b = {0};
    char *a = wkp_blocks_take(&b, 200), *c = wkp_blocks_take(&b, 200);
    cr_assert(a && c);
    memset(a, 'a', 200);
    wkp_blocks_give(&b, a, 200);
    wkp_blocks_give(&b, c, 200);
    /* 200 and 193 share the class 193..208; 180 (177..192) does not */
    char *d = wkp_blocks_take(&b, 180);
    cr_assert(d != a && d != c);
    cr_assert_eq(wkp_blocks_take(&b, 193), c); /* last in, first out */
    cr_assert_eq(wkp_blocks_take(&b, 208), a);
    cr_assert_eq(a[199], 'a'); /* the link sat in the first bytes only */
    wkp_blocks_fini(&b);
}

Test(blocks, slabs_grow_from_64k_to_2m)
{
    struct wkp_blocks b = {0};
    /* 64 KiB holds 64 blocks of 1024: the 65th opens a second slab, and
     * the 257th (4 small slabs full) the first 2 MiB one. */
    for (int i = 0; i < 64; i++)
        cr_assert_not_null(wkp_blocks_take(&b, 1024));
    cr_assert_eq(b.nslabs, 1);
    cr_assert_not_null(wkp_blocks_take(&b, 1024));
    cr_assert_eq(b.nslabs, 2);
    for (int i = 65; i < 257; i++)
        cr_assert_not_null(wkp_blocks_take(&b, 1024));
    cr_assert_eq(b.nslabs, 5);
    cr_assert_eq(b.slab_bytes, 4u * 64u * 1024u + 2u * 1024u * 1024u);
    wkp_blocks_fini(&b);
}

Test(blocks, above_1k_and_without_a_set_blocks_are_mallocs)
{
    struct wkp_blocks b = {0};
    char *big = wkp_blocks_take(&b, 1025);
    cr_assert_not_null(big);
    memset(big, 'x', 1025);
    cr_assert_eq(b.nslabs, 0); /* not carved */
    wkp_blocks_give(&b, big, 1025);
    char *m = wkp_blocks_take(NULL, 40);
    cr_assert_not_null(m);
    wkp_blocks_give(NULL, m, 40);
    wkp_blocks_give(&b, NULL, 40); /* a no-op */
    wkp_blocks_fini(&b);
}
