/* A flow's statistics blocks (features/flowstats.h). A one-packet flow
 * takes a fast path; the general path gives the same blocks when handed the
 * streaming state over the same packet, so the two are compared bit for
 * bit over many packets, with the by-hand values checked for two. Without
 * the streaming state, blocks that are another's less a constant are
 * derived from it rather than accumulated: compared bit for bit against the
 * streaming state's blocks over many flows, and by hand for one. */
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

/* The blocks of a flow of n records, with the streaming state (every block
 * accumulated value by value) or without (blocks derived where they can
 * be). */
static struct wkp_flow_stats flow_stats(const struct wkp_pkt_rec *r, size_t n, bool tcp,
                                        bool streamed)
{
    struct wkp_seq_pool pool = {0};
    struct wkp_seq seq = {0};
    struct wkp_flow_stats_scratch scratch = {0};
    struct wkp_flow_stats out;
    struct wkp_flow_acc all;
    memset(&out, 0xa5, sizeof out);
    wkp_flow_acc_init(&all);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(wkp_seq_append(&seq, &pool, &r[i]), 0);
        wkp_flow_acc_add(&all, &r[i], tcp);
    }
    cr_assert_eq(wkp_flow_stats_compute(&seq, tcp, streamed ? &all : NULL, &scratch, &out), 0);
    wkp_seq_release(&seq, &pool);
    wkp_seq_pool_fini(&pool);
    wkp_flow_stats_scratch_free(&scratch);
    return out;
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Flows whose link, IP and transport headers keep one length (so ip and
 * trans lengths can be derived) and whose payloads all count, each with a
 * chance of one record breaking one of those rules (a padded frame, an IP
 * option, a payload not counted), a zero length (with the differences
 * kept, or not), or a negative link difference (an IP length above the
 * frame's); one flow in 16 has that negative difference in every record. */
Test(flowstats, derived_blocks_match_the_accumulated_ones)
{
    static struct wkp_pkt_rec r[300];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int f = 0; f < 3000; f++) {
        size_t n = 2 + next_rand(&x) % (f % 10 == 0 ? 298 : 12);
        uint32_t l2 = (uint32_t)(next_rand(&x) % 3) * 4 + 14, l3 = f % 4 == 0 ? 40 : 20;
        bool short_frames = f % 16 == 5;       /* every frame 2 bytes shorter than its IP length */
        int breaks = (int)(next_rand(&x) % 9); /* 0-5: one rule broken at a random record */
        size_t at = next_rand(&x) % n;
        bool tcp = f % 3 != 0;
        int64_t ts = 1000;
        for (size_t i = 0; i < n; i++) {
            uint64_t y = next_rand(&x);
            uint32_t app = y % 5 == 0 ? 0 : (uint32_t)(y >> 8) % 1400;
            uint32_t trans = app + (tcp ? 20 + (uint32_t)(y >> 30) % 3 * 4 : 8);
            uint32_t ip = trans + l3, wire = short_frames ? ip - 2 : ip + l2;
            ts += (int64_t)((y >> 20) % 100000);
            r[i] = (struct wkp_pkt_rec){.ts_ns = ts,
                                        .wire = wire,
                                        .ip = ip,
                                        .trans = trans,
                                        .app = app,
                                        .payload = app,
                                        .win = (uint16_t)(y >> 40),
                                        .flags = (uint8_t)(y >> 50),
                                        .dir = (int8_t)((y >> 60) & 1 ? 1 : -1)};
            if (i != at)
                continue;
            switch (breaks) {
            case 0: r[i].wire = r[i].ip < 46 ? 60 : r[i].wire + 2; break; /* padded */
            case 1: r[i].ip += 4, r[i].wire += 4; break;                  /* an IP option */
            case 2: r[i].payload = 0; break;                         /* not counted (if app > 0) */
            case 3: r[i].trans = r[i].app = r[i].payload = 0; break; /* zero lengths */
            case 4: r[i].wire = r[i].ip - 1; break; /* frame shorter than IP says */
            case 5: /* an IP header and nothing after it: same differences, a zero */
                r[i].trans = r[i].app = r[i].payload = 0;
                r[i].ip = l3;
                r[i].wire = l3 + l2;
                break;
            default: break;
            }
        }
        struct wkp_flow_stats d = flow_stats(r, n, tcp, false);
        struct wkp_flow_stats s = flow_stats(r, n, tcp, true);
        cr_assert_eq(d.present, s.present, "flow %d", f);
        for (int b = 0; b < WKP_NBLOCKS; b++)
            cr_assert_eq(memcmp(&d.blk[b], &s.blk[b], sizeof d.blk[b]), 0,
                         "flow %d (%zu records, rule %d broken at %zu): block %d differs", f, n,
                         breaks, at, b);
        cr_assert_eq(memcmp(&d.sc, &s.sc, sizeof d.sc), 0, "flow %d: scalars differ", f);
    }
}

/* By hand: three frames up, down, up of 74, 66 and 1514 bytes, Ethernet
 * (14) and IPv4 (20): ip lengths 60, 52, 1500; trans lengths 40, 32, 1480;
 * app lengths 0, 0, 1448 (TCP headers 40, 32, 32), every payload counted. */
Test(flowstats, derived_blocks_by_hand)
{
    struct wkp_pkt_rec r[3] = {
        {.ts_ns = 0, .wire = 74, .ip = 60, .trans = 40, .app = 0, .payload = 0, .dir = 1},
        {.ts_ns = 10, .wire = 66, .ip = 52, .trans = 32, .app = 0, .payload = 0, .dir = -1},
        {.ts_ns = 20,
         .wire = 1514,
         .ip = 1500,
         .trans = 1480,
         .app = 1448,
         .payload = 1448,
         .dir = 1},
    };
    struct wkp_flow_stats s = flow_stats(r, 3, true, false);
    const double *ip = s.blk[WKP_BLK_IP_LENGTHS].v;
    cr_expect_eq(ip[WKP_STAT_SUM], 1612.0);
    cr_expect_eq(ip[WKP_STAT_MEAN], 1612.0 / 3);
    cr_expect_eq(ip[WKP_STAT_MIN], 52.0);
    cr_expect_eq(ip[WKP_STAT_MAX], 1500.0);
    cr_expect_eq(ip[WKP_STAT_RANGE], 1448.0);
    cr_expect_eq(ip[WKP_STAT_MEDIAN], 60.0);
    cr_expect_eq(ip[WKP_STAT_UP_SUM], 1560.0);
    cr_expect_eq(ip[WKP_STAT_UP_MEAN], 780.0);
    cr_expect_eq(ip[WKP_STAT_UP_MIN], 60.0);
    cr_expect_eq(ip[WKP_STAT_DOWN_SUM], 52.0);
    cr_expect_eq(ip[WKP_STAT_DOWN_COUNT], 1.0);
    /* up: 60 and 1500, population std (1500 - 60) / 2 */
    cr_expect_eq(ip[WKP_STAT_UP_STD], 720.0);
    /* spread: the same as the frames' (a shift), var = sum of squared
     * deviations / 3 about 1612/3 for ip, and about 1654/3 for the frames */
    const double *pk = s.blk[WKP_BLK_PACKET_LENGTHS].v;
    cr_expect_eq(ip[WKP_STAT_VAR], pk[WKP_STAT_VAR]);
    cr_expect_eq(ip[WKP_STAT_SKEW], pk[WKP_STAT_SKEW]);
    cr_expect(fabs(ip[WKP_STAT_VAR] - 463374.2222222222) < 1e-6, "var %.10f", ip[WKP_STAT_VAR]);
    const double *tr = s.blk[WKP_BLK_TRANS_LENGTHS].v;
    cr_expect_eq(tr[WKP_STAT_SUM], 1552.0);
    cr_expect_eq(tr[WKP_STAT_MEDIAN], 40.0);
    cr_expect_eq(tr[WKP_STAT_DOWN_MAX], 32.0);
    const double *pay = s.blk[WKP_BLK_PAYLOAD_BYTES].v;
    cr_expect_eq(pay[WKP_STAT_SUM], 1448.0);
    cr_expect_eq(pay[WKP_STAT_UP_COUNT], 1.0); /* the zeros count in neither direction */
    cr_expect_eq(pay[WKP_STAT_DOWN_COUNT], 0.0);
    cr_expect_eq(pay[WKP_STAT_COUNT], 3.0);
    cr_expect_eq(pay[WKP_STAT_MEDIAN], 0.0);
}
