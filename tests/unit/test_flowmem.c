/* Per-flow memory: what a live flow costs (docs/design.md, "Per-flow
 * memory"). A flood holds millions of flows of one to three packets, so
 * the bound below decides how many fit in a gigabyte. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "engine/internal.h"
#include "features/seq.h"
#include "wa1kpcap/wa1kpcap.h"
#include "capwriter.h"

/* A flow of up to three packets must fit in this many bytes (docs/design.md). */
#define FEW_PACKET_BOUND 400

Test(flowmem, a_flow_of_up_to_three_packets_fits_the_bound)
{
    for (uint64_t n = 1; n <= 3; n++) {
        size_t entry, seq;
        size_t total = wkp__flow_footprint(n, &entry, &seq);
        /* the breakdown for docs/design.md: run with --verbose */
        cr_log_info("%llu packets: %zu bytes = entry %zu + seq %zu + slots and buckets %zu",
                    (unsigned long long)n, total, entry, seq, total - entry - seq);
        cr_expect_leq(total, FEW_PACKET_BOUND, "%llu packets: %zu bytes (entry %zu, seq %zu)",
                      (unsigned long long)n, total, entry, seq);
    }
}

/* An ordinary TCP segment i: 1 ms apart, a 1514-byte frame (Ethernet 14,
 * IPv4 20, TCP 32 bytes of headers, 1448 of payload): compact. */
static struct wkp_pkt_rec rec(int64_t i)
{
    struct wkp_pkt_rec r = {.ts_ns = 1700000000000000000 + i * 1000000,
                            .wire = 1514,
                            .ip = 1500,
                            .trans = 1480,
                            .app = 1448,
                            .payload = 1448,
                            .win = 501,
                            .flags = 0x10,
                            .dir = i % 3 ? 1 : -1};
    return r;
}

/* Chunks of 2, 4, 8, ... 64 slots of 16 bytes, each with a 16-byte header
 * (next, n, cap, anchor); a chunk's first record takes two slots (wide), the
 * others one: a chunk of class k holds 2^(k+1) - 1 records in 16 + 32 * 2^k
 * bytes. 1 packet = 16 + 32 = 48 bytes; 2 to 4 add a 4-slot chunk, 16 + 64
 * = 80 (128 in all); 5 to 11 add 16 + 128 = 144 (272); 12 to 26 add 272
 * (544); 27 to 57 add 528 (1072); past 57 every chunk holds 63 records in
 * 1040 bytes, 16.5 bytes a record (33 before records were compact). */
Test(flowmem, sequence_storage_grows_with_the_packets)
{
    struct wkp_seq_pool pool = {0};
    struct wkp_seq s = {0};
    const struct {
        uint64_t n;
        uint64_t bytes;
    } want[] = {{1, 48},
                {2, 128},
                {4, 128},
                {5, 272},
                {11, 272},
                {12, 544},
                {57, 48 + 80 + 144 + 272 + 528},
                {58, 48 + 80 + 144 + 272 + 528 + 1040},
                {120, 48 + 80 + 144 + 272 + 528 + 1040},
                {121, 48 + 80 + 144 + 272 + 528 + 1040 + 1040}};
    uint64_t added = 0;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        while (added < want[k].n) {
            struct wkp_pkt_rec r = rec((int64_t)added);
            cr_assert_eq(wkp_seq_append(&s, &pool, &r), 0);
            added++;
        }
        cr_expect_eq(pool.bytes_out, want[k].bytes, "%llu records: %llu bytes held",
                     (unsigned long long)want[k].n, (unsigned long long)pool.bytes_out);
        cr_expect_eq(wkp_seq_bytes(want[k].n), want[k].bytes);
    }
    /* every record comes back, in order */
    int64_t i = 0;
    for (struct wkp_seq_it it = wkp_seq_first(&s); wkp_seq_more(&it); wkp_seq_next(&it), i++) {
        struct wkp_pkt_rec r = rec(i);
        cr_assert_eq(memcmp(it.r, &r, sizeof r), 0, "record %lld", (long long)i);
    }
    cr_expect_eq(i, 121);
    /* a long flow: 17 bytes a record at most (1040 / 63 = 16.5, plus the
     * first chunks' headers) */
    while (added < 100000) {
        struct wkp_pkt_rec r = rec((int64_t)added++);
        cr_assert_eq(wkp_seq_append(&s, &pool, &r), 0);
    }
    cr_expect_leq(pool.bytes_out, 100000 * 17);
    wkp_seq_release(&s, &pool);
    cr_expect_eq(pool.bytes_out, 0);
    cr_expect_null(s.head);
    /* released chunks are reused: a new flow takes no new slab */
    size_t slabs = pool.nslabs;
    struct wkp_pkt_rec r = rec(0);
    cr_assert_eq(wkp_seq_append(&s, &pool, &r), 0);
    cr_expect_eq(pool.nslabs, slabs);
    wkp_seq_release(&s, &pool);
    wkp_seq_pool_fini(&pool);
}

/* Chunks come from 256 KiB pieces; the first 8 are slabs of their own, the
 * rest are cut from 2 MiB slabs that every class shares. A one-record flow
 * takes a 48-byte class-0 chunk, 5461 to a piece (262144 / 48), so 8 * 5461
 * such flows fill the 8 small slabs and one more opens the first 2 MiB
 * slab. A 100-record flow then takes chunks of classes 0 to 5 (1, 3, 7, 15,
 * 31 and 63 records): five more pieces, all cut from that slab. */
Test(flowmem, size_classes_share_the_large_slabs)
{
    enum { PER_PIECE = 262144 / 48, SMALL = 8 };
    static struct wkp_seq one[SMALL * PER_PIECE + 1];
    struct wkp_seq_pool pool = {0};
    for (size_t i = 0; i < SMALL * PER_PIECE; i++) {
        struct wkp_pkt_rec r = rec((int64_t)i);
        cr_assert_eq(wkp_seq_append(&one[i], &pool, &r), 0);
    }
    cr_expect_eq(pool.nslabs + pool.big.nslabs, SMALL);
    struct wkp_pkt_rec r = rec(0);
    cr_assert_eq(wkp_seq_append(&one[SMALL * PER_PIECE], &pool, &r), 0);
    cr_expect_eq(pool.nslabs + pool.big.nslabs, SMALL + 1);
    struct wkp_seq s = {0};
    for (int64_t i = 0; i < 100; i++) {
        r = rec(i);
        cr_assert_eq(wkp_seq_append(&s, &pool, &r), 0);
    }
    cr_expect_eq(pool.nslabs + pool.big.nslabs, SMALL + 1, "five classes' pieces from one 2 MiB slab");
    cr_expect_eq(pool.big.left, 2 * 1024 * 1024 - 6 * 262144);
    wkp_seq_release(&s, &pool);
    for (size_t i = 0; i < SMALL * PER_PIECE + 1; i++)
        wkp_seq_release(&one[i], &pool);
    cr_expect_eq(pool.bytes_out, 0);
    wkp_seq_pool_fini(&pool);
}

/* Every value range comes back exactly, compact or wide: zero and maximum
 * lengths, headers of 255 and 256 bytes, payload equal to app, zero or
 * neither, gaps of 0, 2^32 - 1 and 2^32 ns from the anchor, time going
 * backwards, the clamped extremes of time, and a wide record that does not
 * fit the one slot left in a chunk. Slots used are checked against the
 * rule (compact: 1, wide: 2) for the records whose form is known. */
Test(flowmem, records_round_trip_every_value_range)
{
    const int64_t T = 1700000000123456789, MAXT = ((int64_t)1 << 62) - 1,
                  MINT = -((int64_t)1 << 62);
    struct case_ {
        struct wkp_pkt_rec r;
        int slots; /* 1 compact, 2 wide, 0: depends on the chunk */
    } v[] = {
        {{T, 60, 46, 26, 0, 0, 0, 0x02, 1}, 0},  /* first of a chunk: wide */
        {{T, 60, 46, 26, 0, 0, 0, 0x12, -1}, 1}, /* gap 0, Ethernet padding 14 */
        {{T + 4294967295, 1514, 1500, 1480, 1448, 1448, 65535, 0xff, 1}, 1}, /* gap 2^32 - 1 */
        {{T + 4294967296, 1514, 1500, 1480, 1448, 1448, 0, 0, -1},
         2}, /* gap 2^32: wide, new anchor */
        {{T + 4294967296 + 5, 1514, 1500, 1480, 1448, 0, 7, 0x18, 1},
         1}, /* payload 0 (compat UDP) */
        {{T + 4294967296 + 6, 1514, 1500, 1480, 1448, 1000, 7, 0x18, 1}, 2}, /* payload neither */
        {{T + 4294967296 + 6, 65535 + 255 + 255 + 255, 65535 + 255 + 255, 65535 + 255, 65535, 65535,
          1, 1, 1},
         1},
        {{T + 4294967296 + 7, 65536, 65536, 65536, 65536, 65536, 1, 1, 1},
         2},                                                         /* app over 16 bits */
        {{T + 4294967296 + 8, 256 + 40, 40, 20, 0, 0, 1, 1, -1}, 2}, /* a 256-byte link header */
        {{T + 4294967296 + 9, 40 + 256, 40 + 256, 40, 0, 0, 1, 1, -1},
         2}, /* a 256-byte IP header */
        {{T + 4294967296 + 10, 300, 300, 300, 44, 44, 1, 1, -1},
         2},                                                   /* a 256-byte transport header */
        {{T + 4294967296 + 11, 40, 60, 20, 0, 0, 1, 1, 1}, 2}, /* ip > wire (a bad header) */
        {{T + 4294967296 - 1, 60, 46, 26, 0, 0, 0, 0, 1}, 2},  /* before the anchor */
        {{T, 0, 0, 0, 0, 0, 0, 0, 1}, 2},                      /* before the anchor */
        {{T, 0, 0, 0, 0, 0, 0, 0, -1}, 1},                     /* all zero */
        {{T, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, 65535, 255, -1}, 2},
        {{MAXT, 1, 1, 1, 1, 1, 1, 1, 1}, 2},
        {{MINT, 1, 1, 1, 1, 1, 1, 1, -1}, 2},
        {{MINT + 4294967295, 1, 1, 1, 1, 1, 1, 1, -1}, 1},
        {{MAXT, 1, 1, 1, 1, 1, 1, 1, 1}, 2}, /* 2^63 - 2^32 after the anchor */
    };
    size_t n = sizeof v / sizeof v[0];
    struct wkp_seq_pool pool = {0};
    struct wkp_seq s = {0};
    /* three passes, so that chunk boundaries fall on different records */
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < n; i++) {
            struct wkp_seq_chunk *before = s.tail;
            uint16_t used = before ? before->n : 0;
            cr_assert_eq(wkp_seq_append(&s, &pool, &v[i].r), 0);
            if (v[i].slots && s.tail == before)
                cr_expect_eq(s.tail->n - used, v[i].slots, "pass %d record %zu", pass, i);
            if (s.tail != before)
                cr_expect_eq(s.tail->n, 2, "a chunk begins with a wide record");
        }
    }
    cr_expect_eq(s.stored, 3 * n);
    size_t i = 0;
    for (struct wkp_seq_it it = wkp_seq_first(&s); wkp_seq_more(&it); wkp_seq_next(&it), i++) {
        const struct wkp_pkt_rec *w = &v[i % n].r;
        cr_assert_eq(it.r->ts_ns, w->ts_ns, "record %zu", i);
        cr_assert_eq(it.r->wire, w->wire, "record %zu", i);
        cr_assert_eq(it.r->ip, w->ip, "record %zu", i);
        cr_assert_eq(it.r->trans, w->trans, "record %zu", i);
        cr_assert_eq(it.r->app, w->app, "record %zu", i);
        cr_assert_eq(it.r->payload, w->payload, "record %zu", i);
        cr_assert_eq(it.r->win, w->win, "record %zu", i);
        cr_assert_eq(it.r->flags, w->flags, "record %zu", i);
        cr_assert_eq(it.r->dir, w->dir, "record %zu", i);
    }
    cr_expect_eq(i, 3 * n);
    wkp_seq_release(&s, &pool);
    wkp_seq_pool_fini(&pool);
}

struct big {
    uint64_t flows, pkts_up, bytes_up, bytes_both, bytes_down;
};

static int on_big(const wkp_flow *f, void *user)
{
    struct big *g = user;
    g->flows++;
    g->pkts_up = wkp_flow_packets(f, WKP_DIR_UP);
    g->bytes_up = wkp_flow_bytes(f, WKP_DIR_UP);
    g->bytes_down = wkp_flow_bytes(f, WKP_DIR_DOWN);
    g->bytes_both = wkp_flow_bytes(f, WKP_DIR_BOTH);
    return 0;
}

/* A live flow keeps the low 32 bits of its counts and carries into its
 * rare block: 4097 UDP packets each claiming 1 MiB on the wire (the
 * reader's largest plausible wire length) make 4097 * 2^20 =
 * 4,296,015,872 bytes, past 2^32 = 4,294,967,296, so the low half wraps. */
Test(flowmem, byte_counts_past_4_gib_carry_into_the_high_half)
{
    char path[64];
    capw_tmpname(path, sizeof path, "wkp-flowmem");
    struct capw w;
    capw_open(&w, path);
    uint8_t fr[64];
    const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    uint32_t n = capw_udp4(fr, a, b, 40000, 40001, 0);
    for (int i = 0; i < 4097; i++)
        capw_packet(&w, 1000000 + i, fr, n, 1u << 20);
    capw_close(&w);

    struct big g = {0};
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, 2), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(on_big, &g, &s), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    const char *files[] = {path};
    cr_assert_eq(wkp_engine_run(e, files, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
    unlink(path);
    cr_expect_eq(g.flows, 1);
    cr_expect_eq(g.pkts_up, 4097);
    cr_expect_eq(g.bytes_up, UINT64_C(4296015872));
    cr_expect_eq(g.bytes_down, 0);
    cr_expect_eq(g.bytes_both, UINT64_C(4296015872));
}
