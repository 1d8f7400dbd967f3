/* A flow's statistics blocks (features/flowstats.h). A one-packet flow
 * takes a fast path; the general path gives the same blocks when handed the
 * streaming state over the same packet, so the two are compared bit for
 * bit over many packets, with the by-hand values checked for two. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "features/flowstats.h"

static struct wkp_flow_stats stats_of(const struct wkp_pkt_rec *r, bool tcp, bool general)
{
    struct wkp_seq_pool pool = {0};
    struct wkp_seq seq = {0};
    struct wkp_flow_stats_scratch scratch = {0};
    struct wkp_flow_stats out;
    struct wkp_flow_acc all;
    memset(&out, 0xa5, sizeof out); /* every byte must be written */
    cr_assert_eq(wkp_seq_append(&seq, &pool, r), 0);
    if (general) {
        wkp_flow_acc_init(&all);
        wkp_flow_acc_add(&all, r, tcp);
    }
    cr_assert_eq(wkp_flow_stats_compute(&seq, tcp, general ? &all : NULL, &scratch, &out), 0);
    wkp_seq_release(&seq, &pool);
    wkp_seq_pool_fini(&pool);
    wkp_flow_stats_scratch_free(&scratch);
    return out;
}

Test(flowstats, one_packet_fast_path_matches_the_general_path)
{
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t wire = (uint32_t)(x % 1600);
        struct wkp_pkt_rec r = {
            .ts_ns = (int64_t)(x >> 3),
            .wire = i % 7 == 0 ? 0 : wire,
            .ip = i % 5 == 0 ? 0 : wire / 2,
            .trans = wire / 3,
            .app = i % 3 == 0 ? 0 : wire / 4,
            .payload = (uint32_t)(x >> 40) % 1500,
            .win = (uint16_t)(x >> 20),
            .flags = (uint8_t)(i % 4 == 0 ? 0 : x >> 12),
            .dir = (int8_t)((x >> 33) & 1 ? 1 : -1),
        };
        bool tcp = (x >> 50) & 1;
        struct wkp_flow_stats fast = stats_of(&r, tcp, false);
        struct wkp_flow_stats gen = stats_of(&r, tcp, true);
        /* field by field: the struct may have padding after present */
        cr_assert_eq(fast.present, gen.present, "packet %d", i);
        cr_assert_eq(memcmp(fast.blk, gen.blk, sizeof fast.blk), 0, "packet %d: blocks differ", i);
        cr_assert_eq(memcmp(&fast.sc, &gen.sc, sizeof fast.sc), 0, "packet %d: scalars differ", i);
    }
}

/* By hand: a 60-byte TCP packet down with flags 0x12 and window 1024 */
Test(flowstats, one_packet_down_by_hand)
{
    struct wkp_pkt_rec r = {.ts_ns = 5,
                            .wire = 60,
                            .ip = 46,
                            .trans = 26,
                            .app = 0,
                            .payload = 0,
                            .win = 1024,
                            .flags = 0x12,
                            .dir = -1};
    struct wkp_flow_stats s = stats_of(&r, true, false);
    /* every block but the three IAT ones has one value */
    cr_expect_eq(s.present, (1u << WKP_NBLOCKS) - 1 - (1u << WKP_BLK_IATS) -
                                (1u << WKP_BLK_UP_IATS) - (1u << WKP_BLK_DOWN_IATS));
    const struct wkp_block *p = &s.blk[WKP_BLK_PACKET_LENGTHS];
    cr_expect_eq(p->v[WKP_STAT_MEAN], 60.0);
    cr_expect_eq(p->v[WKP_STAT_MEDIAN], 60.0);
    cr_expect_eq(p->v[WKP_STAT_STD], 0.0);
    cr_expect_eq(p->v[WKP_STAT_DOWN_MAX], 60.0);
    cr_expect_eq(p->v[WKP_STAT_DOWN_COUNT], 1.0);
    cr_expect_eq(p->v[WKP_STAT_UP_COUNT], 0.0);
    cr_expect_eq(p->v[WKP_STAT_COUNT], 1.0);
    /* app length 0: counted, in neither direction */
    const struct wkp_block *a = &s.blk[WKP_BLK_APP_LENGTHS];
    cr_expect_eq(a->v[WKP_STAT_COUNT], 1.0);
    cr_expect_eq(a->v[WKP_STAT_DOWN_COUNT], 0.0);
    cr_expect_eq(s.blk[WKP_BLK_TCP_FLAGS].v[WKP_STAT_SUM], 18.0);
    cr_expect_eq(s.blk[WKP_BLK_TCP_WINDOW].v[WKP_STAT_MAX], 1024.0);
    cr_expect_eq(s.sc.packet_count, 1);
    cr_expect_eq(s.sc.total_bytes, 60);
    cr_expect_eq(s.sc.up_down_pkt_ratio, 0.0);
    cr_expect_eq(s.sc.duration, 0.0);
}
