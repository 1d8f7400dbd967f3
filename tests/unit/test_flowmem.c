/* Per-flow memory: what a live flow costs (docs/design.md, "Per-flow
 * memory"). A flood holds millions of flows of one to three packets, so
 * the bound below decides how many fit in a gigabyte. */
#include <criterion/criterion.h>
#include <stdint.h>

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

static struct wkp_pkt_rec rec(int64_t i)
{
    struct wkp_pkt_rec r = {.ts_ns = i, .wire = (uint32_t)i, .dir = 1};
    return r;
}

/* Chunks of 1, 2, 4, ... 32 records, each with a 16-byte header (next,
 * n, cap) and 32-byte records: 1 packet = 16 + 32 = 48 bytes; 2 or 3 add a
 * 2-record chunk, 16 + 64 = 80 (128 in all); 4 to 7 add 16 + 128 = 144
 * (272). Past 63 records every chunk holds 32: 16 + 1024 = 1040 bytes. */
Test(flowmem, sequence_storage_grows_with_the_packets)
{
    struct wkp_seq_pool pool = {0};
    struct wkp_seq s = {0};
    const struct {
        uint64_t n;
        uint64_t bytes;
    } want[] = {{1, 48},
                {2, 128},
                {3, 128},
                {4, 272},
                {7, 272},
                {8, 544},
                {63, 48 + 80 + 144 + 272 + 528 + 1040},
                {64, 48 + 80 + 144 + 272 + 528 + 1040 + 1040}};
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
    for (struct wkp_seq_it it = wkp_seq_first(&s); it.c; wkp_seq_next(&it), i++)
        cr_assert_eq(it.r->ts_ns, i);
    cr_expect_eq(i, 64);
    /* a long flow wastes at most one chunk's unused tail plus headers */
    while (added < 100000) {
        struct wkp_pkt_rec r = rec((int64_t)added++);
        cr_assert_eq(wkp_seq_append(&s, &pool, &r), 0);
    }
    cr_expect_leq(pool.bytes_out, 100000 * 32 * 102 / 100);
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
