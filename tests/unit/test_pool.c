/* Unit tests for util/pool: block sizes, reuse order, alignment, and that
 * blocks handed out at once never overlap. */
#include "util/pool.h"
#include "util/slab.h"

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

/* A carver cuts pieces one after the other out of 2 MiB slabs: 64-byte
 * aligned, sizes rounded up to 64 (100 -> 128), a piece that does not fit
 * in what is left opens the next slab, more than 2 MiB is refused. */
Test(carver, pieces_follow_each_other_and_open_a_slab_when_full)
{
    struct wkp_carver c = {0};
    char *a = wkp_carve(&c, 100), *b = wkp_carve(&c, 64);
    cr_assert(a && b);
    cr_assert_eq((uintptr_t)a % 64, 0);
    cr_assert_eq(b, a + 128);
    cr_assert_eq(c.nslabs, 1);
    char *big = wkp_carve(&c, WKP_SLAB_HUGE - 192); /* exactly what is left */
    cr_assert_eq(big, a + 192);
    cr_assert_eq(c.left, 0);
    char *next = wkp_carve(&c, 16);
    cr_assert_not_null(next);
    cr_assert_eq(c.nslabs, 2);
    cr_assert_eq((uintptr_t)next % WKP_SLAB_HUGE, 0); /* a new slab's start */
    cr_assert_null(wkp_carve(&c, WKP_SLAB_HUGE + 1));
    memset(big, 0xab, WKP_SLAB_HUGE - 192);
    wkp_carver_fini(&c);
    cr_assert_eq(c.nslabs, 0);
    cr_assert_null(c.slabs);
}

/* Two pools sharing a carver: their slabs below 2 MiB (16 KiB, 32 KiB,
 * ...) are cut from the same huge slab, one after the other, and stay out
 * of the pools' own lists; the 8th slab (2 MiB) is the pool's own. 144-byte
 * blocks: 14446 fill the first seven slabs (see above), one more takes the
 * eighth. */
Test(carver, pools_cut_small_slabs_from_a_shared_carver)
{
    enum { SMALL = 113 + 227 + 455 + 910 + 1820 + 3640 + 7281 };
    static uint8_t *blk[SMALL + 1];
    struct wkp_carver c = {0};
    struct wkp_pool p, q;
    wkp_pool_init(&p, 144);
    wkp_pool_init(&q, 48);
    wkp_pool_carve_from(&p, &c);
    wkp_pool_carve_from(&q, &c);
    uint8_t *first = wkp_pool_take(&p);
    uint8_t *other = wkp_pool_take(&q);
    cr_assert(first && other);
    cr_assert_eq(other, first + (16 << 10)); /* q's 16 KiB right after p's */
    cr_assert_eq(c.nslabs, 1);
    cr_assert_eq(p.nslabs, 0);
    blk[0] = first;
    for (uint32_t i = 1; i <= SMALL; i++) {
        blk[i] = wkp_pool_take(&p);
        cr_assert_not_null(blk[i]);
        memset(blk[i], (int)(i & 0xff), 144);
    }
    cr_assert_eq(p.grown, 8);
    cr_assert_eq(p.nslabs, 1); /* the 2 MiB slab, its own */
    for (uint32_t i = 1; i <= SMALL; i++)
        cr_assert_eq(blk[i][143], (uint8_t)(i & 0xff));
    wkp_pool_fini(&p);
    wkp_pool_fini(&q);
    cr_assert_eq(p.carver, &c); /* kept: the pool can be used again */
    wkp_carver_fini(&c);
}
