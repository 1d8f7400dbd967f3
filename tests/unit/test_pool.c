/* Unit tests for util/pool: block sizes, reuse order, alignment, and that
 * blocks handed out at once never overlap. */
#include "util/pool.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

Test(pool, sizes_round_up_to_16)
{
    struct wkp_pool p;
    wkp_pool_init(&p, 1);
    cr_assert_eq(p.size, 16);
    wkp_pool_init(&p, 88); /* 5.5 * 16 -> 96 */
    cr_assert_eq(p.size, 96);
    wkp_pool_init(&p, 144); /* already 9 * 16 */
    cr_assert_eq(p.size, 144);
    wkp_pool_fini(&p);
}

Test(pool, a_given_block_is_the_next_taken)
{
    struct wkp_pool p;
    wkp_pool_init(&p, 40);
    void *a = wkp_pool_take(&p), *b = wkp_pool_take(&p);
    cr_assert(a && b && a != b);
    cr_assert_eq(p.taken, 2);
    wkp_pool_give(&p, a);
    cr_assert_eq(p.taken, 1);
    cr_assert_eq(wkp_pool_take(&p), a); /* last in, first out */
    wkp_pool_give(&p, NULL);            /* no-op */
    cr_assert_eq(p.taken, 2);
    wkp_pool_fini(&p);
    cr_assert_eq(p.nslabs, 0);
    cr_assert_eq(p.size, 48); /* fini keeps the size: the pool can be used again */
}

/* 100,000 blocks of 144 bytes (14.4 MB: past the 16 KiB to 1 MiB first
 * slabs, into several 2 MiB ones), each filled with its index, then
 * all read back: no two overlap, each is 16-byte aligned. */
Test(pool, blocks_taken_at_once_are_disjoint)
{
    enum { N = 100000 };
    static uint8_t *blk[N];
    struct wkp_pool p;
    wkp_pool_init(&p, 144);
    for (uint32_t i = 0; i < N; i++) {
        blk[i] = wkp_pool_take(&p);
        cr_assert_not_null(blk[i]);
        cr_assert_eq((uintptr_t)blk[i] % 16, 0);
        memset(blk[i], (int)(i & 0xff), 144);
        memcpy(blk[i], &i, sizeof i);
    }
    cr_assert_eq(p.taken, N);
    /* 16 KiB holds 113 blocks, 32 KiB 227, 64 KiB 455, 128 KiB 910,
     * 256 KiB 1820, 512 KiB 3640, 1 MiB 7281, then 14563 a slab (2 MiB /
     * 144): 14446 in the first seven, 85554 more need 6 slabs */
    cr_assert_eq(p.nslabs, 7 + 6);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t got;
        memcpy(&got, blk[i], sizeof got);
        cr_assert_eq(got, i);
        cr_assert_eq(blk[i][143], (uint8_t)(i & 0xff));
    }
    for (uint32_t i = 0; i < N; i++)
        wkp_pool_give(&p, blk[i]);
    cr_assert_eq(p.taken, 0);
    wkp_pool_fini(&p);
}
