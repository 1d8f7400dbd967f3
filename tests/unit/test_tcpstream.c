/* Unit tests for features/tcpstream: hand-made segment sequences whose
 * expected streams are worked out in the comments, then every TCP flow of
 * the dev corpus against tshark's follow,tcp,raw (first 64 KiB of each
 * direction: length and SHA-256, tests/data/expected/follow/README.md). */
#include "dissectors/l2l4.h"
#include "capture/capfile.h"
#include "reassembly/tcpstream.h"
#include "flowtable/tcp.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYN WKP_TCP_SYN
#define ACK WKP_TCP_ACK
#define FIN WKP_TCP_FIN
#define RST WKP_TCP_RST
#define PSH WKP_TCP_PSH

/* The spare classes of 1 KiB and 2 KiB buffers. */
#define K1 wkp_spare_class(1024)
#define K2 wkp_spare_class(2048)

/* 4 KiB of distinct-looking bytes: segment [o, o + n) of the stream is
 * pat + o, so a misplaced byte shows. */
static uint8_t pat[4096];

static void pat_init(void)
{
    for (size_t i = 0; i < sizeof pat; i++)
        pat[i] = (uint8_t)(i * 7 + i / 251);
}

/* Feed stream bytes [o, o + n) of a stream whose byte 0 has sequence isn1. */
static void seg(struct wkp_tcpstream *s, uint32_t isn1, uint32_t o, uint32_t n)
{
    wkp_tcpstream_segment(s, isn1 + o, PSH | ACK, pat + o, n, n);
}

static void assert_stream(const struct wkp_tcpstream *s, const uint8_t *want, uint32_t n)
{
    uint32_t len;
    const uint8_t *p = wkp_tcpstream_data(s, &len);
    cr_assert_eq(len, n, "stored %u bytes, want %u", len, n);
    if (n)
        cr_assert(memcmp(p, want, n) == 0, "stored bytes differ");
}

TestSuite(tcpstream, .init = pat_init);

/* ---- hand-made sequences ------------------------------------------------ */

Test(tcpstream, in_order_with_handshake)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    wkp_tcpstream_segment(&s, 999, SYN, NULL, 0, 0); /* ISN 999: byte 0 is 1000 */
    cr_assert_eq(s.isn, 1000);
    wkp_tcpstream_segment(&s, 1000, ACK, NULL, 0, 0); /* pure ACK: nothing */
    seg(&s, 1000, 0, 100);
    seg(&s, 1000, 100, 200);
    seg(&s, 1000, 300, 50);
    wkp_tcpstream_segment(&s, 1350, FIN | ACK, NULL, 0, 0);
    assert_stream(&s, pat, 350);
    cr_assert_eq(s.c->delivered, 350);
    cr_assert_eq(s.fin, 1);
    cr_assert_eq(s.next, 1351); /* FIN takes one sequence number */
    cr_assert_eq(s.c->gaps + s.c->overlap + s.c->ooo_segments + s.c->dropped, 0);
    cr_assert_eq(wkp_tcpstream_mem(&s), 1024); /* one 1 KiB buffer, no table */
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, reversed_segments_are_reordered)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    wkp_tcpstream_segment(&s, 4999, SYN, NULL, 0, 0);
    /* 10 segments of 100 bytes, last first. */
    for (int i = 9; i >= 0; i--)
        seg(&s, 5000, (uint32_t)i * 100, 100);
    assert_stream(&s, pat, 1000);
    cr_assert_eq(s.c->ooo_segments, 9); /* all but the one at next */
    cr_assert_eq(s.c->gaps, 0);
    cr_assert_eq(wkp_tcpstream_held(&s), 0);
    cr_assert_eq(s.next, 6000);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, duplicates_and_keepalives_are_ignored)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    seg(&s, 1, 0, 100);
    seg(&s, 1, 0, 100); /* exact duplicate: 100 overlap */
    seg(&s, 1, 100, 50);
    seg(&s, 1, 149, 1); /* keep-alive: 1 byte at next - 1 */
    seg(&s, 1, 150, 10);
    assert_stream(&s, pat, 160);
    cr_assert_eq(s.c->overlap, 101);
    cr_assert_eq(s.c->delivered, 160);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, partial_overlap_first_copy_wins)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    uint8_t other[300];
    memset(other, 0xee, sizeof other);
    seg(&s, 100, 0, 100);
    /* Retransmission 50..150 with different bytes: 50..100 ignored, 100..150 new. */
    wkp_tcpstream_segment(&s, 150, ACK, other, 100, 100);
    uint8_t want[250];
    memcpy(want, pat, 100);
    memset(want + 100, 0xee, 50);
    /* Out of order: 200..250 held, then 150..300 (0xee) fills 150..200 and
     * 250..300 around it; the held copy of 200..250 wins. */
    wkp_tcpstream_segment(&s, 300, ACK, pat + 200, 50, 50);
    wkp_tcpstream_segment(&s, 250, ACK, other, 150, 150);
    memset(want + 150, 0xee, 50);
    memcpy(want + 200, pat + 200, 50);
    uint8_t want2[300];
    memcpy(want2, want, 250);
    memset(want2 + 250, 0xee, 50);
    assert_stream(&s, want2, 300);
    cr_assert_eq(s.c->overlap, 50 + 50);
    cr_assert_eq(s.c->ooo_segments, 1);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, sequence_wraps_around)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    uint32_t isn1 = 0xFFFFFF00u; /* 256 bytes before the wrap */
    wkp_tcpstream_segment(&s, isn1 - 1, SYN, NULL, 0, 0);
    seg(&s, isn1, 0, 200);
    seg(&s, isn1, 400, 100); /* after the wrap, ahead of a hole 200..400 */
    seg(&s, isn1, 200, 200); /* crosses 2^32: fills the hole */
    seg(&s, isn1, 150, 100); /* old: 150..250 behind next = 500 */
    wkp_tcpstream_segment(&s, isn1 + 500, FIN | ACK, NULL, 0, 0);
    assert_stream(&s, pat, 500);
    cr_assert_eq(s.next, isn1 + 501); /* 0xFFFFFF00 + 501 = 0xF5 */
    cr_assert_eq(s.next, 0xF5u);
    cr_assert_eq(s.c->overlap, 100);
    cr_assert_eq(s.c->gaps, 0);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, gap_is_recorded_and_stream_resyncs)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    seg(&s, 0, 0, 100);
    seg(&s, 0, 300, 100); /* 100..300 never comes */
    seg(&s, 0, 400, 100);
    assert_stream(&s, pat, 100); /* held, waiting */
    wkp_tcpstream_finish(&s);
    uint8_t want[300];
    memcpy(want, pat, 100);
    memcpy(want + 100, pat + 300, 200);
    assert_stream(&s, want, 300); /* the gap takes no room */
    cr_assert_eq(wkp_tcpstream_ngaps(&s), 1);
    cr_assert_eq(wkp_tcpstream_gaps(&s)[0].off, 100);
    cr_assert_eq(wkp_tcpstream_gaps(&s)[0].len, 200);
    cr_assert_eq(s.c->gaps, 1);
    cr_assert_eq(s.c->gap_bytes, 200);
    cr_assert_eq(s.c->delivered, 300);
    /* The lost segment arriving late is behind next now: ignored. */
    seg(&s, 0, 100, 200);
    cr_assert_eq(s.c->overlap, 200);
    assert_stream(&s, want, 300);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, limit_keeps_the_first_bytes_and_counts_the_rest)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, 1000, NULL, &sc);
    for (uint32_t o = 0; o < 3000; o += 300)
        seg(&s, 7, o, 300);
    assert_stream(&s, pat, 1000);
    cr_assert_eq(s.c->delivered, 3000);
    cr_assert_eq(s.c->dropped, 2000);
    cr_assert_eq(s.buf_cap, 1000); /* doubling stops at the limit */
    /* Past the limit, reordering still counts right (room = 64 KiB). */
    seg(&s, 7, 3100, 100);
    seg(&s, 7, 3000, 100);
    cr_assert_eq(s.c->delivered, 3200);
    cr_assert_eq(s.c->gaps, 0);
    wkp_tcpstream_fini(&s);
}

/* consume drops the bytes a reader has taken: held data and gap markers
 * move down with the rest, and the limit still counts from byte 0. */
Test(tcpstream, consume_keeps_held_bytes_gaps_and_the_limit)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, 1000, NULL, &sc);
    seg(&s, 0, 0, 300);
    seg(&s, 0, 400, 100); /* held: 300..400 missing */
    assert_stream(&s, pat, 300);
    wkp_tcpstream_consume(&s, 250); /* the reader took bytes 0..250 */
    assert_stream(&s, pat + 250, 50);
    seg(&s, 0, 300, 100); /* fills the hole: 250..500 in order */
    assert_stream(&s, pat + 250, 250);
    wkp_tcpstream_consume(&s, 250);
    assert_stream(&s, pat, 0);
    /* a gap after consuming: its marker is at the new offset 0 + 100 */
    seg(&s, 0, 500, 100);
    seg(&s, 0, 700, 100); /* 600..700 never comes */
    wkp_tcpstream_finish(&s);
    uint8_t want[200];
    memcpy(want, pat + 500, 100);
    memcpy(want + 100, pat + 700, 100);
    assert_stream(&s, want, 200);
    cr_assert_eq(wkp_tcpstream_ngaps(&s), 1);
    cr_assert_eq(wkp_tcpstream_gaps(&s)[0].off, 100);
    wkp_tcpstream_consume(&s, 150); /* past the marker: it goes */
    cr_assert_eq(wkp_tcpstream_ngaps(&s), 0);
    assert_stream(&s, pat + 750, 50);
    /* the limit counts stored bytes (a gap takes no room): 700 were stored
     * before (0..600 and 700..800), so of bytes 800..1200 the first 300 fit */
    seg(&s, 0, 800, 400);
    assert_stream(&s, pat + 750, 350);
    cr_assert_eq(s.c->dropped, 100);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, hole_given_up_when_held_data_would_not_fit)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, 1000, NULL, &sc);
    seg(&s, 0, 0, 500);
    seg(&s, 0, 600, 200); /* held: ends at 800 <= 1000 */
    seg(&s, 0, 800, 300); /* would end at 1100 > 1000: give up 500..600 */
    uint8_t want[1000];
    memcpy(want, pat, 500);
    memcpy(want + 500, pat + 600, 500); /* 600..1100 */
    assert_stream(&s, want, 1000);
    cr_assert_eq(s.c->gaps, 1);
    cr_assert_eq(s.gap[0].off, 500);
    cr_assert_eq(s.gap[0].len, 100);
    cr_assert_eq(s.c->delivered, 1000);
    cr_assert_eq(s.c->dropped, 0); /* 0..500 + 600..1100 is exactly the limit */
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, segment_far_ahead_is_a_gap_at_once)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, 1000, NULL, &sc);
    seg(&s, 0, 0, 100);
    /* 100..1050 held would end at 1100 > room 900, nothing held: gap now. */
    seg(&s, 0, 1000, 100);
    cr_assert_eq(s.c->gaps, 1);
    cr_assert_eq(s.gap[0].off, 100);
    cr_assert_eq(s.gap[0].len, 900);
    cr_assert_eq(s.next, 1100);
    /* A jump of 2 MiB once the buffer is closed: more than the room too. */
    struct wkp_tcpstream t;
    struct wkp_tcpstream_counters tc = {0};
    wkp_tcpstream_init(&t, 0, NULL, &tc);
    seg(&t, 0, 0, 10);
    wkp_tcpstream_segment(&t, 10 + (2u << 20), ACK, pat, 10, 10);
    cr_assert_eq(t.c->gaps, 1);
    cr_assert_eq(t.c->gap_bytes, 2u << 20);
    cr_assert_eq(t.c->delivered, 20);
    cr_assert_eq(t.c->dropped, 20); /* limit 0: count only */
    cr_assert_null(t.buf);
    wkp_tcpstream_fini(&s);
    wkp_tcpstream_fini(&t);
}

Test(tcpstream, full_table_gives_up_the_lowest_hole)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    seg(&s, 0, 0, 10);
    /* 32 disjoint ranges 20k..20k+10, k = 1..32, holes between. */
    for (uint32_t k = 1; k <= WKP_TCPSTREAM_HELD; k++)
        seg(&s, 0, 20 * k, 10);
    cr_assert_eq(wkp_tcpstream_held(&s), WKP_TCPSTREAM_HELD);
    cr_assert_eq(s.c->gaps, 0);
    /* The 33rd: hole 10..20 given up, range 20..30 delivered. */
    seg(&s, 0, 20 * 33, 10);
    cr_assert_eq(s.c->gaps, 1);
    cr_assert_eq(s.gap[0].off, 10);
    cr_assert_eq(s.gap[0].len, 10);
    cr_assert_eq(s.next, 30);
    cr_assert_eq(wkp_tcpstream_held(&s), WKP_TCPSTREAM_HELD);
    /* finish: 31 more holes, only 7 more markers fit, then the buffer closes. */
    wkp_tcpstream_finish(&s);
    cr_assert_eq(s.c->gaps, 33);
    cr_assert_eq(s.c->gap_bytes, 330);
    cr_assert_eq(wkp_tcpstream_ngaps(&s), WKP_TCPSTREAM_GAP_MARKS);
    cr_assert_eq(s.closed, 1);
    /* Buffer: 0..10, then 20k..20k+10 for k = 1..8 (markers 1..8), then closed. */
    cr_assert_eq(s.buf_len, 10 + 8 * 10);
    for (uint32_t k = 1; k <= 8; k++)
        cr_assert(memcmp(s.buf + 10 * k, pat + 20 * k, 10) == 0, "range %u", k);
    cr_assert_eq(s.c->delivered, 340);
    cr_assert_eq(s.c->dropped, 340 - 90);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, syn_data_and_fin_take_sequence_numbers)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    /* TFO: SYN at 99 carries bytes 0..20 (seq 100..120). */
    wkp_tcpstream_segment(&s, 99, SYN, pat, 20, 20);
    wkp_tcpstream_segment(&s, 99, SYN, pat, 20, 20); /* retransmitted SYN */
    cr_assert_eq(s.c->overlap, 20);
    seg(&s, 100, 20, 30);
    /* FIN with data at 150 while 150..170 was never seen: FIN seq 190 is
     * ahead, so data 150..170 held, given up at the FIN... */
    wkp_tcpstream_segment(&s, 170, FIN | ACK, pat + 70, 20, 20);
    cr_assert_eq(s.c->gaps, 1);
    cr_assert_eq(s.gap[0].off, 50);
    cr_assert_eq(s.gap[0].len, 20);
    cr_assert_eq(s.fin, 1);
    cr_assert_eq(s.next, 191);
    /* ...and a bare FIN ahead of the data seen is a gap up to the FIN. */
    struct wkp_tcpstream t;
    struct wkp_tcpstream_counters tc = {0};
    wkp_tcpstream_init(&t, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &tc);
    seg(&t, 0, 0, 50);
    wkp_tcpstream_segment(&t, 80, FIN | ACK, NULL, 0, 0);
    cr_assert_eq(t.c->gaps, 1);
    cr_assert_eq(t.c->gap_bytes, 30);
    cr_assert_eq(t.next, 81);
    wkp_tcpstream_segment(&t, 80, FIN | ACK, NULL, 0, 0); /* retransmitted FIN */
    cr_assert_eq(t.c->gaps, 1);
    cr_assert_eq(t.next, 81);
    wkp_tcpstream_fini(&s);
    wkp_tcpstream_fini(&t);
}

Test(tcpstream, rst_gives_up_holes)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    seg(&s, 0, 0, 10);
    seg(&s, 0, 20, 10);
    wkp_tcpstream_segment(&s, 30, RST | ACK, NULL, 0, 0);
    cr_assert_eq(s.c->gaps, 1);
    cr_assert_eq(s.next, 30); /* RST takes no sequence number */
    cr_assert_eq(s.buf_len, 20);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, mid_connection_start_at_first_payload)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    wkp_tcpstream_segment(&s, 5000, ACK, NULL, 0, 0);       /* ignored: no payload */
    wkp_tcpstream_segment(&s, 5000, FIN | ACK, NULL, 0, 0); /* likewise */
    cr_assert_eq(s.started, 0);
    seg(&s, 77777, 0, 40);
    cr_assert_eq(s.isn, 77777);
    seg(&s, 77777, 40, 40);
    assert_stream(&s, pat, 80);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, snaplen_cut_is_a_gap)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, NULL, &sc);
    /* 100-byte segments captured with 60 bytes of payload each. */
    wkp_tcpstream_segment(&s, 0, ACK, pat, 60, 100);
    wkp_tcpstream_segment(&s, 100, ACK, pat + 100, 60, 100);
    uint8_t want[120];
    memcpy(want, pat, 60);
    memcpy(want + 60, pat + 100, 60);
    assert_stream(&s, want, 120);
    cr_assert_eq(s.c->gaps, 2);
    cr_assert_eq(s.gap[0].off, 60);
    cr_assert_eq(s.gap[0].len, 40);
    cr_assert_eq(s.gap[1].off, 120);
    cr_assert_eq(s.next, 200);
    /* Cut out of order: 300..400 with 60 present waits like any hole. */
    wkp_tcpstream_segment(&s, 300, ACK, pat + 300, 60, 100);
    wkp_tcpstream_segment(&s, 200, ACK, pat + 200, 100, 100);
    cr_assert_eq(s.next, 360);
    cr_assert_eq(s.c->gaps, 2);
    wkp_tcpstream_fini(&s);
}

Test(tcpstream, budget_caps_memory_and_counts_refusals)
{
    struct wkp_tcpstream_budget b = {.cap = 3000};
    struct wkp_tcpstream s, t;
    struct wkp_tcpstream_counters sc = {0}, tc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, &b, &sc);
    wkp_tcpstream_init(&t, WKP_TCPSTREAM_DEFAULT_LIMIT, &b, &tc);
    seg(&s, 0, 0, 1500); /* 1 KiB -> 2 KiB: 2048 used */
    cr_assert_eq(b.used, 2048);
    seg(&t, 0, 0, 100); /* 1 KiB more would be 3072 > 3000: refused */
    cr_assert_eq(b.refused, 1);
    cr_assert_eq(t.c->alloc_failed, 1);
    cr_assert_eq(t.closed, 1);
    cr_assert_eq(t.c->dropped, 100);
    cr_assert_eq(t.c->delivered, 100);
    cr_assert_eq(b.used, wkp_tcpstream_mem(&s) + wkp_tcpstream_mem(&t));
    wkp_tcpstream_fini(&s);
    wkp_tcpstream_fini(&t);
    cr_assert_eq(b.used, 0);
    cr_assert_eq(b.spares.n[K2], 1); /* s's 2 KiB buffer, kept for the next stream */
    wkp_spares_fini(&b.spares);
    cr_assert_eq(b.spares.n[K2], 0);
    cr_assert_null(b.spares.head[K2]);
}

/* A budget keeps the buffers its streams give back, by size, and hands
 * them to the next stream that needs that size: the same pointer comes
 * back, and its old bytes never show through. */
Test(tcpstream, budget_reuses_buffers_by_size)
{
    struct wkp_tcpstream_budget b = {.cap = 1 << 20};
    struct wkp_tcpstream s, t;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, &b, &sc);
    seg(&s, 0, 0, 100);
    uint8_t *first = s.buf;
    wkp_tcpstream_consume(&s, 100); /* emptied: the 1 KiB buffer is a spare */
    cr_assert_null(s.buf);
    cr_assert_eq(b.used, 0);
    cr_assert_eq(b.spares.n[K1], 1);
    wkp_tcpstream_init(&t, WKP_TCPSTREAM_DEFAULT_LIMIT, &b, &sc);
    seg(&t, 0, 0, 300);
    cr_assert_eq(t.buf, first);
    cr_assert_eq(b.spares.n[K1], 0);
    assert_stream(&t, pat, 300);
    seg(&t, 0, 300, 1200); /* 1,500 bytes: 1 KiB -> 2 KiB, the 1 KiB one a spare again */
    assert_stream(&t, pat, 1500);
    cr_assert_eq(b.used, 2048);
    cr_assert_eq(b.spares.n[K1], 1);
    cr_assert_eq(b.spares.head[K1], first);
    wkp_tcpstream_fini(&t);
    wkp_tcpstream_fini(&s);
    cr_assert_eq(b.used, 0);
    cr_assert_eq(b.spares.n[K1], 1);
    cr_assert_eq(b.spares.n[K2], 1);
    wkp_spares_fini(&b.spares);
    for (int k = 0; k < WKP_SPARE_CLASSES; k++)
        cr_assert(b.spares.n[k] == 0 && b.spares.head[k] == NULL, "class %d left", k);
}

/* A buffer grows while out-of-order bytes sit in it past the in-order
 * ones: the growth copies those too, into a spare still holding another
 * stream's bytes. */
Test(tcpstream, growth_into_a_spare_keeps_held_bytes)
{
    struct wkp_tcpstream_budget b = {.cap = 1 << 20};
    struct wkp_tcpstream_counters sc = {0};
    struct wkp_tcpstream dirty, s;
    /* a 2 KiB spare full of 0xEE */
    static uint8_t ee[2000];
    memset(ee, 0xEE, sizeof ee);
    wkp_tcpstream_init(&dirty, WKP_TCPSTREAM_DEFAULT_LIMIT, &b, &sc);
    wkp_tcpstream_segment(&dirty, 0, PSH | ACK, ee, sizeof ee, sizeof ee);
    wkp_tcpstream_fini(&dirty);
    cr_assert_eq(b.spares.n[K2], 1);
    wkp_tcpstream_init(&s, WKP_TCPSTREAM_DEFAULT_LIMIT, &b, &sc);
    seg(&s, 0, 0, 100);     /* in order: 1 KiB buffer */
    seg(&s, 0, 900, 100);   /* held at offset 900, inside the 1 KiB */
    seg(&s, 0, 1500, 100);  /* held at 1500: grows to 2 KiB (the spare) */
    cr_assert_eq(b.spares.n[K2], 0);
    cr_assert_eq(wkp_tcpstream_held(&s), 2);
    seg(&s, 0, 100, 800);   /* 100..900: joins the first held range */
    seg(&s, 0, 1000, 500);  /* 1000..1500: joins the second */
    cr_assert_eq(wkp_tcpstream_held(&s), 0);
    assert_stream(&s, pat, 1600);
    cr_assert_eq(sc.ooo_segments, 2);
    wkp_tcpstream_fini(&s);
    wkp_spares_fini(&b.spares);
}

/* Spares of one size stop at 64 KiB: 64 of 1 KiB. */
Test(tcpstream, spares_are_bounded)
{
    struct wkp_tcpstream_budget b = {.cap = 1 << 20};
    struct wkp_tcpstream_counters sc = {0};
    static struct wkp_tcpstream s[70];
    for (int i = 0; i < 70; i++) {
        wkp_tcpstream_init(&s[i], WKP_TCPSTREAM_DEFAULT_LIMIT, &b, &sc);
        seg(&s[i], 0, 0, 10);
    }
    cr_assert_eq(b.used, 70 * 1024);
    for (int i = 0; i < 70; i++)
        wkp_tcpstream_fini(&s[i]);
    cr_assert_eq(b.spares.n[K1], 64);
    cr_assert_eq(b.used, 0);
    wkp_spares_fini(&b.spares);
}

/* Streams given one counters struct add to it as they count: two
 * directions fed by hand, the sums worked out segment by segment. */
Test(tcpstream, streams_sharing_counters_add_up)
{
    struct wkp_tcpstream s, t;
    struct wkp_tcpstream_counters c = {0};
    wkp_tcpstream_init(&s, 1000, NULL, &c);
    wkp_tcpstream_init(&t, 100, NULL, &c);
    cr_assert_eq(wkp_tcpstream_counters(&s), &c);
    seg(&s, 0, 0, 200);   /* s: 200 delivered */
    seg(&s, 0, 100, 150); /* s: 100 overlap, 50 delivered (200..250) */
    seg(&t, 0, 0, 300);   /* t: 300 delivered, 200 past its limit */
    seg(&t, 0, 400, 50);  /* t: out of order, held (100..400 missing) */
    cr_assert_eq(c.delivered, 200 + 50 + 300);
    cr_assert_eq(c.overlap, 100);
    cr_assert_eq(c.dropped, 200);
    cr_assert_eq(c.ooo_segments, 1);
    cr_assert_eq(c.gaps, 0);
    wkp_tcpstream_finish(&t); /* t gives up 300..400: a gap of 100, 50 more delivered, dropped */
    wkp_tcpstream_finish(&s); /* nothing held: no change */
    cr_assert_eq(c.gaps, 1);
    cr_assert_eq(c.gap_bytes, 100);
    cr_assert_eq(c.delivered, 600);
    cr_assert_eq(c.dropped, 250);
    wkp_tcpstream_fini(&s);
    wkp_tcpstream_fini(&t);
    cr_assert_eq(c.delivered, 600); /* fini counts nothing */
}

/* The in-order shortcut: taken only for whole in-order segments with
 * nothing stored or held, and it counts as segment + consume would. */
Test(tcpstream, pass_takes_only_in_order_segments_with_nothing_waiting)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters c = {0};
    wkp_tcpstream_init(&s, 1000, NULL, &c);
    cr_assert_not(wkp_tcpstream_pass(&s, 100, PSH | ACK, 10, 10)); /* not started */
    wkp_tcpstream_segment(&s, 99, SYN, NULL, 0, 0);                /* byte 0 is seq 100 */
    cr_assert_not(wkp_tcpstream_pass(&s, 100, PSH | ACK, 0, 0));   /* no bytes */
    cr_assert_not(wkp_tcpstream_pass(&s, 100, FIN | ACK, 10, 10)); /* FIN */
    cr_assert_not(wkp_tcpstream_pass(&s, 100, PSH | ACK, 10, 20)); /* cut by the snaplen */
    cr_assert_not(wkp_tcpstream_pass(&s, 101, PSH | ACK, 10, 10)); /* ahead */
    cr_assert(wkp_tcpstream_pass(&s, 100, PSH | ACK, 10, 10));     /* bytes 0..10 */
    cr_assert_eq(s.next, 110);
    cr_assert_eq(s.base, 10);
    cr_assert_eq(c.delivered, 10);
    cr_assert_null(s.buf);
    seg(&s, 100, 30, 10);                                          /* held: 10..30 missing */
    cr_assert_not(wkp_tcpstream_pass(&s, 110, PSH | ACK, 20, 20)); /* something held */
    seg(&s, 100, 10, 20); /* fills the hole: 10..40 stored */
    cr_assert_not(wkp_tcpstream_pass(&s, 140, PSH | ACK, 10, 10)); /* something stored */
    assert_stream(&s, pat + 10, 30);
    wkp_tcpstream_consume(&s, 30);
    cr_assert(wkp_tcpstream_pass(&s, 140, PSH | ACK, 960, 960));  /* up to the limit: 40 + 960 */
    cr_assert_not(wkp_tcpstream_pass(&s, 1100, PSH | ACK, 1, 1)); /* past it */
    cr_assert_eq(c.delivered, 1000);
    cr_assert_eq(c.dropped, 0);
    wkp_tcpstream_fini(&s);

    /* up to the limit (100 bytes): a 150-byte first segment gives its
     * first 100 to read, and 50 delivered past the limit are dropped */
    struct wkp_tcpstream_counters d = {0};
    wkp_tcpstream_init(&s, 100, NULL, &d);
    wkp_tcpstream_segment(&s, 99, SYN, NULL, 0, 0);
    cr_assert_eq(wkp_tcpstream_pass_head(&s, 100, FIN | ACK, 150, 150), 0); /* FIN */
    cr_assert_eq(wkp_tcpstream_pass_head(&s, 100, PSH | ACK, 150, 150), 100);
    cr_assert_eq(s.next, 250);
    cr_assert_eq(s.base, 100);
    cr_assert_eq(d.delivered, 150);
    cr_assert_eq(d.dropped, 50);
    cr_assert_null(s.buf);
    cr_assert_eq(wkp_tcpstream_pass_head(&s, 250, PSH | ACK, 10, 10), 0); /* at the limit */
    wkp_tcpstream_fini(&s);
}

/* Random segment orders (in order, reordered, overlapping, cut, with SYN
 * and FIN) fed three ways to a reader that consumes all it gets: through
 * wkp_tcpstream_segment alone, through the shortcut when it is taken, and
 * through the shortcut up to the limit (wkp_tcpstream_pass_head). The bytes
 * read, the counters and the stream's state must not differ. */
Test(tcpstream, pass_reads_and_counts_as_segment_then_consume)
{
    uint64_t rng = 0x5eed7c95;
    size_t passed = 0, fed = 0, cut = 0;
    for (int round = 0; round < 2000; round++) {
        struct wkp_tcpstream a, b, h;
        struct wkp_tcpstream_counters ca = {0}, cb = {0}, ch = {0};
        uint32_t limit = round % 3 == 0 ? 600 : 4096;
        wkp_tcpstream_init(&a, limit, NULL, &ca);
        wkp_tcpstream_init(&b, limit, NULL, &cb);
        wkp_tcpstream_init(&h, limit, NULL, &ch);
        uint8_t got_a[8192], got_b[8192], got_h[8192];
        size_t na = 0, nb = 0, nh = 0;
        uint32_t isn1 = (uint32_t)(rng >> 7) | 0xfffff000u; /* wraps inside the stream */
        uint32_t sent = 0;
        for (int i = 0; i < 40; i++) {
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            uint32_t r = (uint32_t)(rng >> 33);
            uint32_t o = sent, n = 1 + r % 200;
            uint8_t fl = PSH | ACK;
            switch (r >> 8 & 7) {
            case 0: o = sent > 100 ? sent - 100 : 0; break; /* overlaps what was sent */
            case 1: o = sent + n; break;                    /* ahead: a hole */
            case 2: fl |= i == 39 ? FIN : 0; break;
            default: break;
            }
            if (o + n > sizeof pat)
                break;
            uint32_t len = (r >> 12 & 15) == 0 && n > 1 ? n / 2 : n; /* cut */
            const uint8_t *pl = pat + o;
            if (i == 0) {
                wkp_tcpstream_segment(&a, isn1 - 1, SYN, NULL, 0, 0);
                wkp_tcpstream_segment(&b, isn1 - 1, SYN, NULL, 0, 0);
                wkp_tcpstream_segment(&h, isn1 - 1, SYN, NULL, 0, 0);
            }
            wkp_tcpstream_segment(&a, isn1 + o, fl, pl, len, n);
            if (wkp_tcpstream_pass(&b, isn1 + o, fl, len, n)) {
                memcpy(got_b + nb, pl, len);
                nb += len;
                passed++;
            } else {
                wkp_tcpstream_segment(&b, isn1 + o, fl, pl, len, n);
                fed++;
            }
            uint32_t k = wkp_tcpstream_pass_head(&h, isn1 + o, fl, len, n);
            if (k) {
                memcpy(got_h + nh, pl, k);
                nh += k;
                cut += k < len;
            } else {
                wkp_tcpstream_segment(&h, isn1 + o, fl, pl, len, n);
            }
            uint32_t l;
            const uint8_t *p = wkp_tcpstream_data(&a, &l);
            if (l) {
                memcpy(got_a + na, p, l);
                na += l;
                wkp_tcpstream_consume(&a, l);
            }
            p = wkp_tcpstream_data(&b, &l);
            if (l) {
                memcpy(got_b + nb, p, l);
                nb += l;
                wkp_tcpstream_consume(&b, l);
            }
            p = wkp_tcpstream_data(&h, &l);
            if (l) {
                memcpy(got_h + nh, p, l);
                nh += l;
                wkp_tcpstream_consume(&h, l);
            }
            if (o + n > sent)
                sent = o + n;
        }
        cr_assert_eq(na, nb, "round %d: %zu bytes read against %zu", round, na, nb);
        cr_assert(memcmp(got_a, got_b, na) == 0, "round %d: bytes differ", round);
        cr_assert(memcmp(&ca, &cb, sizeof ca) == 0, "round %d: counters differ", round);
        cr_assert_eq(a.next, b.next);
        cr_assert_eq(a.base, b.base);
        cr_assert_eq(a.fin, b.fin);
        cr_assert_eq(wkp_tcpstream_held(&a), wkp_tcpstream_held(&b));
        cr_assert_eq(na, nh, "round %d: %zu bytes read against %zu up to the limit", round, na, nh);
        cr_assert(memcmp(got_a, got_h, na) == 0, "round %d: bytes differ up to the limit", round);
        cr_assert(memcmp(&ca, &ch, sizeof ca) == 0, "round %d: counters differ up to the limit",
                  round);
        cr_assert_eq(a.next, h.next);
        cr_assert_eq(a.base, h.base);
        cr_assert_eq(a.fin, h.fin);
        cr_assert_eq(wkp_tcpstream_held(&a), wkp_tcpstream_held(&h));
        wkp_tcpstream_fini(&a);
        wkp_tcpstream_fini(&b);
        wkp_tcpstream_fini(&h);
    }
    cr_log_info("shortcut taken %zu times, not taken %zu, cut at the limit %zu", passed, fed, cut);
    cr_assert_gt(passed, 5000); /* both ways well exercised */
    cr_assert_gt(fed, 10000);
    cr_assert_gt(cut, 100); /* segments that cross the limit */
}

/* Gap markers take no memory until the first gap inside the buffer; once
 * consume has moved every marker out, they go again. */
Test(tcpstream, gap_markers_exist_only_with_a_gap)
{
    struct wkp_tcpstream s;
    struct wkp_tcpstream_counters sc = {0};
    wkp_tcpstream_init(&s, 1000, NULL, &sc);
    seg(&s, 0, 0, 100);
    seg(&s, 0, 200, 100); /* held, no gap yet */
    cr_assert_null(s.gap);
    cr_assert_null(wkp_tcpstream_gaps(&s));
    wkp_tcpstream_finish(&s); /* gap [100, 200) before offset 100 */
    cr_assert_not_null(s.gap);
    cr_assert_eq(wkp_tcpstream_ngaps(&s), 1);
    cr_assert_eq(wkp_tcpstream_gaps(&s)[0].off, 100);
    cr_assert_eq(wkp_tcpstream_gaps(&s)[0].len, 100);
    uint8_t want[200];
    memcpy(want, pat, 100);
    memcpy(want + 100, pat + 200, 100);
    assert_stream(&s, want, 200);
    wkp_tcpstream_consume(&s, 100); /* the marker moves to offset 0 */
    cr_assert_eq(wkp_tcpstream_ngaps(&s), 1);
    cr_assert_eq(wkp_tcpstream_gaps(&s)[0].off, 0);
    wkp_tcpstream_consume(&s, 100); /* past it: the markers go */
    cr_assert_eq(wkp_tcpstream_ngaps(&s), 0);
    cr_assert_null(s.gap);
    /* consume emptied the buffer and nothing is held: no heap left */
    cr_assert_eq(wkp_tcpstream_mem(&s), 0);
    cr_assert_null(s.buf);
    /* a later gap makes them again, at the new offsets */
    seg(&s, 0, 300, 10);
    seg(&s, 0, 320, 10);
    wkp_tcpstream_finish(&s);
    cr_assert_eq(wkp_tcpstream_ngaps(&s), 1);
    cr_assert_eq(wkp_tcpstream_gaps(&s)[0].off, 10);
    cr_assert_eq(wkp_tcpstream_gaps(&s)[0].len, 10);
    cr_assert_eq(sc.gaps, 2);
    cr_assert_eq(sc.gap_bytes, 110);
    wkp_tcpstream_fini(&s);
    cr_assert_null(s.gap);
}

/* ---- the dev corpus against tshark follow,tcp,raw ------------------------ */

#define MAX_FLOWS 256

struct cflow {
    uint8_t family;
    uint8_t addr[2][16]; /* [0]: first packet's sender (tshark's node 0) */
    uint16_t port[2];
    struct wkp_tcpstream dir[2];
    struct wkp_tcpstream_counters c[2]; /* each direction counts alone */
    char node[2][64]; /* "a.b.c.d:p" / "[v6]:p", as tshark prints them */
};

static void node_text(char *out, size_t n, uint8_t family, const uint8_t *a, uint16_t port)
{
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(family == 4 ? AF_INET : AF_INET6, a, ip, sizeof ip);
    snprintf(out, n, family == 4 ? "%s:%u" : "[%s]:%u", ip, port);
}

static void sha256_hex(const uint8_t *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(p ? p : (const uint8_t *)"", n, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Feed every TCP packet of cap; returns the number of flows. The project's
 * capture reader, not libpcap's: a pcapng may mix link types
 * (PcapPlusPlus__many_interfaces-1.pcapng), which pcap_datalink() cannot. */
static size_t feed_capture(const char *path, struct cflow *fl, uint32_t limit)
{
    wkp_errbuf err;
    struct wkp_capfile *cf = NULL;
    cr_assert_eq(wkp_capfile_open(path, WKP_READER_MMAP, &cf, &err), WKP_OK, "%s", path);
    size_t nf = 0;
    struct wkp_rec rec;
    while (wkp_capfile_next(cf, &rec, &err) == 1) {
        const uint8_t *frame = rec.data;
        struct wkp_l2l4 r;
        if (wkp_l2l4_parse(frame, rec.caplen, rec.dlt, &r) != WKP_PARSE_FLOW || r.proto != 6)
            continue;
        if (r.is_fragment)
            continue; /* no TCP header or a partial payload; none in the corpus */
        uint32_t alen = r.family == 4 ? 4 : 16;
        size_t i;
        int d = -1;
        for (i = 0; i < nf; i++) {
            struct cflow *f = &fl[i];
            if (f->family != r.family)
                continue;
            if (!memcmp(f->addr[0], r.src, alen) && !memcmp(f->addr[1], r.dst, alen) &&
                f->port[0] == r.sport && f->port[1] == r.dport)
                d = 0;
            else if (!memcmp(f->addr[1], r.src, alen) && !memcmp(f->addr[0], r.dst, alen) &&
                     f->port[1] == r.sport && f->port[0] == r.dport)
                d = 1;
            if (d >= 0)
                break;
        }
        if (d < 0) {
            cr_assert_lt(nf, MAX_FLOWS);
            struct cflow *f = &fl[nf++];
            memset(f, 0, sizeof *f);
            f->family = r.family;
            memcpy(f->addr[0], r.src, 16);
            memcpy(f->addr[1], r.dst, 16);
            f->port[0] = r.sport;
            f->port[1] = r.dport;
            for (int k = 0; k < 2; k++) {
                wkp_tcpstream_init(&f->dir[k], limit, NULL, &f->c[k]);
                node_text(f->node[k], sizeof f->node[k], f->family, f->addr[k], f->port[k]);
            }
            d = 0;
        }
        /* Payload the segment carried: IP length minus IP and TCP headers. */
        uint32_t hdrs = r.l4_off - r.l3_off + r.tcp_hlen;
        uint32_t seg_len = r.ip_len > hdrs ? r.ip_len - hdrs : 0;
        if (seg_len < r.app_len)
            seg_len = r.app_len;
        wkp_tcpstream_segment(&fl[i].dir[d], r.tcp_seq, r.tcp_flags, frame + r.app_off, r.app_len,
                              seg_len);
    }
    wkp_capfile_close(cf);
    for (size_t i = 0; i < nf; i++)
        for (int k = 0; k < 2; k++)
            wkp_tcpstream_finish(&fl[i].dir[k]);
    return nf;
}

/* Compare cap's flows, reassembled with a 64 KiB limit (small = 0) or a
 * 1 KiB one (small = 1), with expected/follow/<cap>.follow. Returns the
 * number of mismatches; counts directions compared, adds up counters. */
static int check_capture(const char *cap, int small, size_t *ndirs,
                         struct wkp_tcpstream_counters *sum)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", WKP_TEST_DATA, cap);
    static struct cflow fl[MAX_FLOWS];
    size_t nf = feed_capture(path, fl, small ? 1024 : WKP_TCPSTREAM_DEFAULT_LIMIT);
    snprintf(path, sizeof path, "%s/expected/follow/%s.follow", WKP_TEST_DATA, cap);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "%s", path);
    char line[512], n0[128] = "", n1[128] = "";
    int bad = 0;
    size_t streams = 0;
    struct cflow *f = NULL;
    int swap = 0;
    while (fgets(line, sizeof line, fp)) {
        unsigned long long total, kept[2];
        char digest[2][80];
        int d;
        if (sscanf(line, "stream %*u %127s %127s", n0, n1) == 2) {
            streams++;
            f = NULL;
            for (size_t i = 0; i < nf && !f; i++) {
                if (!strcmp(fl[i].node[0], n0) && !strcmp(fl[i].node[1], n1))
                    f = &fl[i], swap = 0;
                else if (!strcmp(fl[i].node[1], n0) && !strcmp(fl[i].node[0], n1))
                    f = &fl[i], swap = 1;
            }
            if (!f) {
                fprintf(stderr, "%s: tshark stream %s %s: no such flow\n", cap, n0, n1);
                bad++;
            }
        } else if (f && sscanf(line, "dir %d %llu %llu %79s %llu %79s", &d, &total, &kept[0],
                               digest[0], &kept[1], digest[1]) == 6) {
            const struct wkp_tcpstream *s = &f->dir[d ^ swap];
            sum->ooo_segments += s->c->ooo_segments;
            sum->overlap += s->c->overlap;
            sum->gaps += s->c->gaps;
            sum->delivered += s->c->delivered;
            sum->dropped += s->c->dropped;
            uint32_t len;
            const uint8_t *p = wkp_tcpstream_data(s, &len);
            char mine[65];
            sha256_hex(p, len, mine);
            (*ndirs)++;
            if (s->c->delivered == total && len == kept[small] && !strcmp(mine, digest[small]))
                continue;
            fprintf(
                stderr,
                "%s (limit %s): %s %s dir %d: tshark %llu bytes (%llu kept), ours %llu delivered, "
                "%u kept, %u gaps, %llu overlap; digest %s\n",
                cap, small ? "1 KiB" : "64 KiB", n0, n1, d, total, kept[small],
                (unsigned long long)s->c->delivered, len, s->c->gaps,
                (unsigned long long)s->c->overlap,
                strcmp(mine, digest[small]) ? "differs" : "same");
            bad++;
        }
    }
    fclose(fp);
    /* tshark follows every flow we see (no TCP flow without a stream). */
    if (streams != nf) {
        fprintf(stderr, "%s: %zu tshark streams, %zu flows\n", cap, streams, nf);
        bad++;
    }
    for (size_t i = 0; i < nf; i++)
        for (int k = 0; k < 2; k++)
            wkp_tcpstream_fini(&fl[i].dir[k]);
    return bad;
}

Test(tcpstream, corpus_matches_tshark_follow)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/expected/follow", WKP_TEST_DATA);
    DIR *dp = opendir(dir);
    cr_assert_not_null(dp, "%s", dir);
    struct dirent *e;
    size_t caps = 0, ndirs = 0;
    struct wkp_tcpstream_counters sum = {0};
    int bad = 0;
    while ((e = readdir(dp))) {
        size_t n = strlen(e->d_name);
        if (n < 8 || strcmp(e->d_name + n - 7, ".follow"))
            continue;
        char cap[256];
        snprintf(cap, sizeof cap, "%.*s", (int)(n - 7), e->d_name);
        bad += check_capture(cap, 0, &ndirs, &sum);
        bad += check_capture(cap, 1, &ndirs, &sum);
        caps++;
    }
    closedir(dp);
    fprintf(stderr,
            "tcpstream corpus: %zu captures, %zu directions; %llu bytes delivered, %llu past "
            "the limit, %llu overlapping ignored, %u segments out of order, %u gaps\n",
            caps, ndirs, (unsigned long long)sum.delivered, (unsigned long long)sum.dropped,
            (unsigned long long)sum.overlap, sum.ooo_segments, sum.gaps);
    cr_assert_geq(caps, 20);
    cr_assert_eq(bad, 0, "%d unexplained differences with tshark (see stderr)", bad);
}
