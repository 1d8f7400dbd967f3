/* reassembly/defrag: IPv4/IPv6 fragment reassembly (docs/design.md, "IP fragments").
 *
 * Hand-made fragment sets (Ethernet frames built here, parsed with
 * wkp_l2l4_parse as the reader does), a randomised consistency test, and
 * three real captures whose expected numbers come from tshark
 * (tests/data/expected/ *.truth.json). */
#include "reassembly/defrag.h"

#include "dissectors/l2l4.h"

#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#define SEC ((int64_t)1000000000)

static const uint8_t MACS[12] = {0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10};
static const uint8_t SRC4[4] = {10, 0, 0, 1}, DST4[4] = {10, 0, 0, 2};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static void eth(uint8_t *f, uint16_t type)
{
    memcpy(f, MACS, 12);
    put16(f + 12, type);
}

/* Ethernet + 20-byte IPv4 header + data[0, len) at byte offset off. */
static uint32_t v4frag(uint8_t *f, uint16_t id, uint8_t proto, uint32_t off, bool mf,
                       const uint8_t *data, uint32_t len)
{
    eth(f, 0x0800);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, 20 + len);
    put16(ip + 4, id);
    put16(ip + 6, (mf ? 0x2000u : 0) | off / 8);
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, SRC4, 4);
    memcpy(ip + 16, DST4, 4);
    if (len)
        memcpy(ip + 20, data, len);
    return 14 + 20 + len;
}

/* Ethernet + IPv6 + [8-byte hop-by-hop] + fragment header + data. */
static uint32_t v6frag(uint8_t *f, uint32_t id, uint8_t nh, uint32_t off, bool mf,
                       const uint8_t *data, uint32_t len, bool hbh)
{
    eth(f, 0x86DD);
    uint8_t *ip = f + 14;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    uint32_t ext = hbh ? 16 : 8;
    put16(ip + 4, ext + len);
    ip[6] = hbh ? 0 : 44;
    ip[7] = 64;
    memcpy(ip + 8, SRC6, 16);
    memcpy(ip + 24, DST6, 16);
    uint8_t *x = ip + 40;
    if (hbh) {
        memset(x, 0, 8);
        x[0] = 44;
        x[2] = 1; /* PadN, 4 bytes of padding */
        x[3] = 4;
        x += 8;
    }
    x[0] = nh;
    x[1] = 0;
    put16(x + 2, off | (mf ? 1u : 0));
    x[4] = (uint8_t)(id >> 24);
    x[5] = (uint8_t)(id >> 16);
    x[6] = (uint8_t)(id >> 8);
    x[7] = (uint8_t)id;
    if (len)
        memcpy(x + 8, data, len);
    return 14 + 40 + ext + len;
}

static int feed_dlt(struct wkp_defrag *d, const uint8_t *f, uint32_t caplen, int dlt, int64_t ts,
                    struct wkp_defrag_out *out)
{
    struct wkp_l2l4 m;
    cr_assert_eq(wkp_l2l4_parse(f, caplen, dlt, &m), WKP_PARSE_FLOW);
    struct wkp_defrag_frag fr = {.data = f, .caplen = caplen, .ts_ns = ts, .dlt = dlt, .m = &m};
    return wkp_defrag_add(d, &fr, out);
}

static int feed(struct wkp_defrag *d, const uint8_t *f, uint32_t caplen, int64_t ts,
                struct wkp_defrag_out *out)
{
    return feed_dlt(d, f, caplen, WKP_DLT_EN10MB, ts, out);
}

/* Every fragment taken is in exactly one counter or still pending. */
static void check_balance(const struct wkp_defrag *d)
{
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_in, s.datagrams_done + s.frags_merged + s.frags_expired + s.frags_evicted +
                                 s.frags_oversized + s.frags_invalid + wkp_defrag_pending_frags(d));
}

/* A UDP datagram of n bytes: header 1000 -> 2000, length n, then i & 0xFF. */
static void udp_datagram(uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        p[i] = (uint8_t)i;
    put16(p, 1000);
    put16(p + 2, 2000);
    put16(p + 4, n);
    put16(p + 6, 0);
}

static uint8_t fa[2048], fb[2048], fc[2048];

/* 100-byte datagram as [0,48) [48,96) [96,100): HELD, HELD, DONE. Output:
 * 14 + 20 + 100 = 134 bytes, IPv4 total length 20 + 100 = 120, flags and
 * offset 0; parsed again it is a UDP packet 1000 -> 2000 with 92 bytes. */
Test(defrag, ipv4_in_order)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t dg[100];
    udp_datagram(dg, 100);
    struct wkp_defrag_out out;
    uint32_t la = v4frag(fa, 7, 17, 0, true, dg, 48);
    uint32_t lb = v4frag(fb, 7, 17, 48, true, dg + 48, 48);
    uint32_t lc = v4frag(fc, 7, 17, 96, false, dg + 96, 4);
    cr_assert_eq(feed(d, fa, la, 1 * SEC, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fb, lb, 2 * SEC, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(wkp_defrag_pending(d), 1);
    cr_assert_eq(wkp_defrag_pending_frags(d), 2);
    cr_assert_eq(feed(d, fc, lc, 3 * SEC, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(out.wirelen, 134);
    cr_assert_eq(out.caplen, 134);
    cr_assert_eq(out.ts_ns, 3 * SEC);
    cr_assert_eq(out.nfrags, 3);
    cr_assert_eq(out.dlt, WKP_DLT_EN10MB);
    cr_assert_eq(memcmp(out.data, fa, 14 + 2), 0);
    cr_assert_eq(get16(out.data + 16), 120);
    cr_assert_eq(get16(out.data + 20), 0);
    cr_assert_eq(memcmp(out.data + 34, dg, 100), 0);
    struct wkp_l2l4 m;
    cr_assert_eq(wkp_l2l4_parse(out.data, out.caplen, 1, &m), WKP_PARSE_FLOW);
    cr_assert_eq(m.is_fragment, 0);
    cr_assert_eq(m.sport, 1000);
    cr_assert_eq(m.dport, 2000);
    cr_assert_eq(m.app_len, 92);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_in, 3);
    cr_assert_eq(s.frags_merged, 2);
    cr_assert_eq(s.datagrams_done, 1);
    cr_assert_eq(wkp_defrag_pending(d), 0);
    check_balance(d);
    wkp_defrag_free(d);
}

/* Same fragments, last first, then middle, then first: DONE on the third
 * with the same 134-byte frame; its timestamp is the completing one (t=3). */
Test(defrag, ipv4_out_of_order_last_first)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t dg[100];
    udp_datagram(dg, 100);
    struct wkp_defrag_out out;
    uint32_t la = v4frag(fa, 7, 17, 0, true, dg, 48);
    uint32_t lb = v4frag(fb, 7, 17, 48, true, dg + 48, 48);
    uint32_t lc = v4frag(fc, 7, 17, 96, false, dg + 96, 4);
    cr_assert_eq(feed(d, fc, lc, 1 * SEC, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fb, lb, 2 * SEC, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fa, la, 3 * SEC, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(out.wirelen, 134);
    cr_assert_eq(out.ts_ns, 3 * SEC);
    cr_assert_eq(memcmp(out.data + 34, dg, 100), 0);
    cr_assert_eq(get16(out.data + 16), 120);
    wkp_defrag_free(d);
}

/* [0,48) `copies` times, then [48,100) last: HELD each time, then DONE;
 * every copy is one of the merged fragments (merged = copies, nfrags =
 * copies + 1), and the datagram is what one copy gives. */
static void copies_then_last(int copies)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t dg[100];
    udp_datagram(dg, 100);
    struct wkp_defrag_out out;
    uint32_t la = v4frag(fa, 9, 17, 0, true, dg, 48);
    uint32_t lb = v4frag(fb, 9, 17, 48, false, dg + 48, 52);
    for (int k = 0; k < copies; k++)
        cr_assert_eq(feed(d, fa, la, 1 + k, &out), WKP_DEFRAG_HELD, "copy %d", k);
    cr_assert_eq(feed(d, fb, lb, 1 + copies, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(out.nfrags, (uint32_t)copies + 1);
    cr_assert_eq(out.wirelen, 134);
    cr_assert_eq(memcmp(out.data + 34, dg, 100), 0);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_merged, (uint64_t)copies);
    check_balance(d);
    wkp_defrag_free(d);
}

/* [0,48) twice: merged 2, nfrags 3. */
Test(defrag, ipv4_duplicate_fragment)
{
    copies_then_last(2);
}

/* Overlaps, lowest offset wins. A = [0,16) of 'A', B = [8,24) last of 'B'.
 * Either order: [0,16) 'A', [16,24) 'B' (A is at the lower offset, so it
 * owns [8,16) even when it comes second and overwrites B's bytes).
 * Then C = [8,16) 'C' after B = [8,24) 'B' at the same offset 8: B, the
 * first received, keeps [8,16). 24 bytes: wirelen 14 + 20 + 24 = 58. */
Test(defrag, overlap_lowest_offset_wins)
{
    uint8_t a[16], b[16], c[8];
    memset(a, 'A', sizeof a);
    memset(b, 'B', sizeof b);
    memset(c, 'C', sizeof c);
    uint8_t want[24];
    memset(want, 'A', 16);
    memset(want + 16, 'B', 8);
    struct wkp_defrag_out out;
    for (int order = 0; order < 2; order++) {
        struct wkp_defrag *d = wkp_defrag_new(NULL);
        uint32_t la = v4frag(fa, 1, 253, 0, true, a, 16);
        uint32_t lb = v4frag(fb, 1, 253, 8, false, b, 16);
        if (order == 0) {
            cr_assert_eq(feed(d, fa, la, 1, &out), WKP_DEFRAG_HELD);
            cr_assert_eq(feed(d, fb, lb, 2, &out), WKP_DEFRAG_DONE);
        } else {
            cr_assert_eq(feed(d, fb, lb, 1, &out), WKP_DEFRAG_HELD);
            cr_assert_eq(feed(d, fa, la, 2, &out), WKP_DEFRAG_DONE);
        }
        cr_assert_eq(out.wirelen, 58);
        cr_assert_eq(memcmp(out.data + 34, want, 24), 0, "order %d", order);
        wkp_defrag_free(d);
    }
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint32_t lb = v4frag(fb, 2, 253, 8, false, b, 16);
    uint32_t lc = v4frag(fc, 2, 253, 8, true, c, 8);
    uint32_t la = v4frag(fa, 2, 253, 0, true, a, 8);
    cr_assert_eq(feed(d, fb, lb, 1, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fc, lc, 2, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fa, la, 3, &out), WKP_DEFRAG_DONE);
    memset(want, 'A', 8);
    memset(want + 8, 'B', 16);
    cr_assert_eq(memcmp(out.data + 34, want, 24), 0);
    check_balance(d);
    wkp_defrag_free(d);
}

/* IPv6, same A/B overlap. Default: DONE, [0,16) 'A', [16,24) 'B'; wirelen
 * 14 + 40 + 24 = 78 (the fragment header is gone), payload length 24, next
 * header 253 from the fragment header. With v6_drop_overlap (RFC 5722): B
 * overlaps A, so B and A are both dropped as invalid (2), nothing pending;
 * an exact duplicate is not an overlap and the datagram still completes. */
Test(defrag, ipv6_overlap_both_policies)
{
    uint8_t a[16], b[16];
    memset(a, 'A', sizeof a);
    memset(b, 'B', sizeof b);
    struct wkp_defrag_out out;
    uint32_t la = v6frag(fa, 5, 253, 0, true, a, 16, false);
    uint32_t lb = v6frag(fb, 5, 253, 8, false, b, 16, false);

    struct wkp_defrag *d = wkp_defrag_new(NULL);
    cr_assert_eq(feed(d, fa, la, 1, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fb, lb, 2, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(out.wirelen, 78);
    cr_assert_eq(out.caplen, 78);
    cr_assert_eq(get16(out.data + 14 + 4), 24);
    cr_assert_eq(out.data[14 + 6], 253);
    uint8_t want[24];
    memset(want, 'A', 16);
    memset(want + 16, 'B', 8);
    cr_assert_eq(memcmp(out.data + 54, want, 24), 0);
    wkp_defrag_free(d);

    struct wkp_defrag_limits lim = {.v6_drop_overlap = true};
    d = wkp_defrag_new(&lim);
    cr_assert_eq(feed(d, fa, la, 1, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fb, lb, 2, &out), WKP_DEFRAG_INVALID);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_invalid, 2);
    cr_assert_eq(wkp_defrag_pending(d), 0);
    check_balance(d);

    /* [0,16) twice then [16,24): no overlap but a duplicate, DONE */
    uint32_t lc = v6frag(fc, 6, 253, 16, false, b, 8, false);
    la = v6frag(fa, 6, 253, 0, true, a, 16, false);
    cr_assert_eq(feed(d, fa, la, 3, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fa, la, 4, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fc, lc, 5, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(memcmp(out.data + 54, want, 24), 0);
    /* IPv4 overlaps are not affected by the IPv6 policy */
    la = v4frag(fa, 1, 253, 0, true, a, 16);
    lb = v4frag(fb, 1, 253, 8, false, b, 16);
    cr_assert_eq(feed(d, fa, la, 6, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fb, lb, 7, &out), WKP_DEFRAG_DONE);
    check_balance(d);
    wkp_defrag_free(d);
}

/* [0,8) and [16,24) last at t = 0: the gap [8,16) never comes. Expiry is
 * strictly after 60 s of capture time: at 60 s nothing goes, at 60 s + 1 ns
 * both fragments go (returns 2; expired 2, datagrams_expired 1). A fragment
 * of an old datagram arriving after its timeout starts a new one. */
Test(defrag, gap_never_filled_expires)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t x[8] = {0};
    struct wkp_defrag_out out;
    uint32_t la = v4frag(fa, 3, 253, 0, true, x, 8);
    uint32_t lb = v4frag(fb, 3, 253, 16, false, x, 8);
    uint32_t lc = v4frag(fc, 3, 253, 8, true, x, 8);
    cr_assert_eq(feed(d, fa, la, 0, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fb, lb, 10 * SEC, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(wkp_defrag_expire(d, 60 * SEC), 0);
    cr_assert_eq(wkp_defrag_pending_frags(d), 2);
    cr_assert_eq(wkp_defrag_expire(d, 60 * SEC + 1), 2);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_expired, 2);
    cr_assert_eq(s.datagrams_expired, 1);
    cr_assert_eq(wkp_defrag_pending(d), 0);

    /* through add: the missing piece at 61 s finds the datagram too old */
    cr_assert_eq(feed(d, fa, la, 0, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fb, lb, 1, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fc, lc, 61 * SEC, &out), WKP_DEFRAG_HELD);
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_expired, 4);
    cr_assert_eq(wkp_defrag_pending_frags(d), 1);
    cr_assert_eq(wkp_defrag_flush(d), 1);
    check_balance(d);
    wkp_defrag_free(d);
}

/* Offset 0 and MF clear: an ordinary packet, PASS and not counted; an IPv6
 * atomic fragment (RFC 6946, offset 0, M 0) too. */
Test(defrag, offset_zero_mf_clear_is_not_a_fragment)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t dg[40];
    udp_datagram(dg, 40);
    struct wkp_defrag_out out;
    uint32_t la = v4frag(fa, 3, 17, 0, false, dg, 40);
    uint32_t lb = v6frag(fb, 3, 17, 0, false, dg, 40, false);
    cr_assert_eq(feed(d, fa, la, 0, &out), WKP_DEFRAG_PASS);
    cr_assert_eq(feed(d, fb, lb, 0, &out), WKP_DEFRAG_PASS);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_in, 0);
    cr_assert_eq(wkp_defrag_pending(d), 0);
    wkp_defrag_free(d);
}

/* Offset 8189 * 8 = 65512: 24 bytes end at 65536 > 65535 (oversized, dropped,
 * counted); 23 bytes end at 65535 and are held. */
Test(defrag, oversized_fragment_is_dropped)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t x[24] = {0};
    struct wkp_defrag_out out;
    uint32_t la = v4frag(fa, 4, 253, 65512, false, x, 24);
    cr_assert_eq(feed(d, fa, la, 0, &out), WKP_DEFRAG_INVALID);
    la = v6frag(fa, 4, 253, 65512, false, x, 24, false);
    cr_assert_eq(feed(d, fa, la, 0, &out), WKP_DEFRAG_INVALID);
    la = v4frag(fa, 4, 253, 65512, false, x, 23);
    cr_assert_eq(feed(d, fa, la, 0, &out), WKP_DEFRAG_HELD);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_oversized, 2);
    cr_assert_eq(wkp_defrag_pending_frags(d), 1);
    check_balance(d);
    wkp_defrag_free(d);
}

/* The bound is on distinct fragments: 128 pieces of 8 bytes at offsets
 * 0, 8, ... 1016 (MF set) are held; a 129th at 1024 makes the datagram
 * invalid, and all 129 count as invalid (128 held + the one refused). */
Test(defrag, a_129th_distinct_fragment_makes_the_datagram_invalid)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t x[8] = {0};
    struct wkp_defrag_out out;
    for (uint32_t k = 0; k < WKP_DEFRAG_MAX_FRAGS; k++) {
        uint32_t la = v4frag(fa, 5, 17, 8 * k, true, x, 8);
        cr_assert_eq(feed(d, fa, la, k, &out), WKP_DEFRAG_HELD, "piece %u", k);
    }
    uint32_t la = v4frag(fa, 5, 17, 8 * WKP_DEFRAG_MAX_FRAGS, true, x, 8);
    cr_assert_eq(feed(d, fa, la, 200, &out), WKP_DEFRAG_INVALID);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_invalid, WKP_DEFRAG_MAX_FRAGS + 1);
    cr_assert_eq(wkp_defrag_pending_frags(d), 0);
    check_balance(d);
    wkp_defrag_free(d);
}

/* Repeats are not distinct fragments: 300 copies of [0,48) and then the
 * last piece [48,100) give the datagram one copy would give: nfrags 301
 * (past the bound of 128 distinct ones), frags_merged 300. */
Test(defrag, repeats_beyond_the_fragment_bound_complete_as_one_copy)
{
    copies_then_last(300);
}

/* A 65516-byte datagram in 1480-byte fragments (45 of them: 44 x 1480 =
 * 65120, then 396) fits the 65535 offset limit but not the IPv4 total length
 * field: 20 + 65516 = 65536. All 45 fragments count as oversized. IPv6 with
 * 65535 - 8 (hop-by-hop) = 65527 bytes fits exactly: 8 + 65527 = 65535. */
Test(defrag, datagram_too_long_for_the_length_field)
{
    static uint8_t big[65535], frame[1600];
    for (uint32_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    struct wkp_defrag_out out;
    int rc = 0;
    for (uint32_t off = 0; off < 65516; off += 1480) {
        uint32_t n = 65516 - off < 1480 ? 65516 - off : 1480;
        uint32_t l = v4frag(frame, 11, 253, off, off + n < 65516, big + off, n);
        rc = feed(d, frame, l, 0, &out);
    }
    cr_assert_eq(rc, WKP_DEFRAG_INVALID);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_oversized, 45);
    cr_assert_eq(wkp_defrag_pending(d), 0);

    for (uint32_t off = 0; off < 65527; off += 1480) {
        uint32_t n = 65527 - off < 1480 ? 65527 - off : 1480;
        uint32_t l = v6frag(frame, 12, 253, off, off + n < 65527, big + off, n, true);
        rc = feed(d, frame, l, 0, &out);
    }
    cr_assert_eq(rc, WKP_DEFRAG_DONE);
    cr_assert_eq(out.wirelen, 14 + 40 + 8 + 65527);
    cr_assert_eq(get16(out.data + 18), 65535);
    cr_assert_eq(memcmp(out.data + 62, big, 65527), 0);
    check_balance(d);
    wkp_defrag_free(d);
}

/* max_pending 2, three datagrams interleaved (first halves of 1, 2, 3):
 * making room for 3 evicts 1, the oldest (evicted 1). 2 and 3 complete;
 * the second half of 1 then starts a new datagram, still pending. */
Test(defrag, max_pending_evicts_the_oldest)
{
    struct wkp_defrag_limits lim = {.max_pending = 2};
    struct wkp_defrag *d = wkp_defrag_new(&lim);
    uint8_t x[16] = {0};
    static uint8_t first[3][128], second[3][128];
    uint32_t l1[3], l2[3];
    struct wkp_defrag_out out;
    for (uint16_t id = 0; id < 3; id++) {
        l1[id] = v4frag(first[id], (uint16_t)(id + 1), 253, 0, true, x, 8);
        l2[id] = v4frag(second[id], (uint16_t)(id + 1), 253, 8, false, x, 8);
        cr_assert_eq(feed(d, first[id], l1[id], id, &out), WKP_DEFRAG_HELD);
    }
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_evicted, 1);
    cr_assert_eq(s.datagrams_evicted, 1);
    cr_assert_eq(wkp_defrag_pending(d), 2);
    cr_assert_eq(feed(d, second[1], l2[1], 10, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(feed(d, second[2], l2[2], 11, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(feed(d, second[0], l2[0], 12, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(wkp_defrag_pending(d), 1);
    check_balance(d);
    wkp_defrag_free(d);
}

/* max_bytes 100: datagram 1 buffers 64 bytes, datagram 2's first 64 would
 * make 128 > 100, so 1 is evicted. A datagram that alone needs more than
 * max_bytes is evicted with its fragment (evicted 1 + 2 = 3 in all). */
Test(defrag, max_bytes_evicts_the_oldest)
{
    struct wkp_defrag_limits lim = {.max_bytes = 100};
    struct wkp_defrag *d = wkp_defrag_new(&lim);
    uint8_t x[128] = {0};
    struct wkp_defrag_out out;
    uint32_t la = v4frag(fa, 1, 253, 0, true, x, 64);
    uint32_t lb = v4frag(fb, 2, 253, 0, true, x, 64);
    cr_assert_eq(feed(d, fa, la, 0, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fb, lb, 1, &out), WKP_DEFRAG_HELD);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_evicted, 1);
    cr_assert_eq(wkp_defrag_pending(d), 1);
    uint32_t lc = v4frag(fc, 2, 253, 64, true, x, 64); /* needs 128 bytes */
    cr_assert_eq(feed(d, fc, lc, 2, &out), WKP_DEFRAG_HELD);
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_evicted, 3);
    cr_assert_eq(s.datagrams_evicted, 2);
    cr_assert_eq(wkp_defrag_pending(d), 0);
    check_balance(d);
    wkp_defrag_free(d);
}

/* An IPv4 fragment whose total length is its header (offset 8, MF): zero
 * bytes, INVALID; the datagram around it is untouched and still completes.
 * A second last fragment with a different end is INVALID too. */
Test(defrag, zero_length_and_conflicting_last_fragment)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t x[16] = {0};
    struct wkp_defrag_out out;
    uint32_t l0 = v4frag(fc, 8, 253, 8, true, x, 0);
    cr_assert_eq(feed(d, fc, l0, 0, &out), WKP_DEFRAG_INVALID);
    uint32_t lb = v4frag(fb, 8, 253, 8, false, x, 8);
    cr_assert_eq(feed(d, fb, lb, 1, &out), WKP_DEFRAG_HELD);
    uint32_t lc = v4frag(fc, 8, 253, 8, false, x, 16);
    cr_assert_eq(feed(d, fc, lc, 2, &out), WKP_DEFRAG_INVALID);
    uint32_t la = v4frag(fa, 8, 253, 0, true, x, 8);
    cr_assert_eq(feed(d, fa, la, 3, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(out.wirelen, 14 + 20 + 16);
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    cr_assert_eq(s.frags_invalid, 2);
    check_balance(d);
    wkp_defrag_free(d);
}

/* IPv6 with a hop-by-hop header before the fragment header, 100-byte UDP
 * datagram as [0,56) [56,100). The output keeps the hop-by-hop header and
 * points its next header at UDP (17); payload length 8 + 100 = 108;
 * wirelen 14 + 40 + 8 + 100 = 162. Parsed again: UDP 1000 -> 2000. */
Test(defrag, ipv6_fragment_header_after_hop_by_hop)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t dg[100];
    udp_datagram(dg, 100);
    struct wkp_defrag_out out;
    uint32_t la = v6frag(fa, 0x01020304, 17, 0, true, dg, 56, true);
    uint32_t lb = v6frag(fb, 0x01020304, 17, 56, false, dg + 56, 44, true);
    cr_assert_eq(feed(d, fb, lb, 1, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fa, la, 2, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(out.wirelen, 162);
    cr_assert_eq(out.caplen, 162);
    cr_assert_eq(get16(out.data + 18), 108);
    cr_assert_eq(out.data[14 + 6], 0);   /* still hop-by-hop */
    cr_assert_eq(out.data[14 + 40], 17); /* which now names UDP */
    cr_assert_eq(memcmp(out.data + 62, dg, 100), 0);
    struct wkp_l2l4 m;
    cr_assert_eq(wkp_l2l4_parse(out.data, out.caplen, 1, &m), WKP_PARSE_FLOW);
    cr_assert_eq(m.is_fragment, 0);
    cr_assert_eq(m.proto, 17);
    cr_assert_eq(m.sport, 1000);
    cr_assert_eq(m.dport, 2000);
    cr_assert_eq(m.ip_len, 148);
    wkp_defrag_free(d);
}

/* A fragment snapped to 14 + 20 + 30 bytes of its 48: it still counts for
 * [0,48); the output has caplen 14 + 20 + 30 = 64 and wirelen 134. */
Test(defrag, snapped_fragment_gives_a_snapped_datagram)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t dg[100];
    udp_datagram(dg, 100);
    struct wkp_defrag_out out;
    uint32_t la = v4frag(fa, 7, 17, 0, true, dg, 48);
    uint32_t lb = v4frag(fb, 7, 17, 48, false, dg + 48, 52);
    cr_assert_eq(feed(d, fa, la - 18, 1, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(feed(d, fb, lb, 2, &out), WKP_DEFRAG_DONE);
    cr_assert_eq(out.wirelen, 134);
    cr_assert_eq(out.caplen, 64);
    cr_assert_eq(memcmp(out.data + 34, dg, 30), 0);
    wkp_defrag_free(d);
}

/* ---- randomised sets -------------------------------------------------------- */

static uint64_t rng = 0x243F6A8885A308D3ULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 11) % n);
}

struct piece {
    uint32_t off, len, caplen;
    bool mf;
    uint8_t *frame;
    uint32_t flen;
};

/* Random datagrams cut at random multiples of 8, with random duplicates,
 * consistent overlapping extra pieces, shuffled, some snapped. Every DONE
 * must be a prefix (caplen) of the one frame expected for that datagram,
 * with the expected wirelen; a set without snapping must complete (or hold
 * a piece [0, n) with MF clear, which is no fragment: PASS). Mode 1
 * (a third of the rounds) garbles pieces instead (random bytes per piece,
 * random offsets and MF): only bounds and the counter balance are checked.
 * One object for all rounds, small limits, so eviction is exercised too. */
Test(defrag, random_sets_reassemble_or_fail_cleanly)
{
    struct wkp_defrag_limits lim = {.max_pending = 4, .max_bytes = 20000};
    struct wkp_defrag *d = wkp_defrag_new(&lim);
    static uint8_t dg[9000], want[9100];
    static struct piece pc[64];
    int64_t ts = 0;
    uint32_t done_total = 0;
    for (uint32_t round = 0; round < 3000; round++) {
        bool v6 = rnd(2), hbh = v6 && rnd(2), garble = rnd(3) == 0, snap = rnd(4) == 0;
        uint32_t n = 1 + rnd(rnd(8) == 0 ? 9000 : 3000);
        udp_datagram(dg, n);
        for (uint32_t i = 8; i < n; i++)
            dg[i] = (uint8_t)rnd(256);
        uint32_t np = 0;
        for (uint32_t off = 0; off < n && np < 40;) {
            uint32_t len = 8 * (1 + rnd(200));
            if (off + len >= n || np == 39)
                len = n - off;
            pc[np++] = (struct piece){.off = off, .len = len, .mf = off + len < n};
            off += len;
        }
        uint32_t extra = rnd(6);
        for (uint32_t e = 0; e < extra && np < 64; e++) {
            if (rnd(2)) {
                pc[np] = pc[rnd(np)]; /* duplicate */
            } else {
                uint32_t off = 8 * rnd((n + 7) / 8);
                uint32_t len = 8 * (1 + rnd(100));
                if (off >= n)
                    off = 0;
                if (off + len >= n)
                    len = n - off;
                pc[np] = (struct piece){.off = off, .len = len, .mf = off + len < n};
            }
            np++;
        }
        for (uint32_t i = np - 1; i > 0; i--) {
            uint32_t j = rnd(i + 1);
            struct piece t = pc[i];
            pc[i] = pc[j];
            pc[j] = t;
        }
        uint32_t id = round + 1; /* unique: no round meets another's leftovers */
        bool any_snap = false;
        for (uint32_t i = 0; i < np; i++) {
            struct piece *p = &pc[i];
            p->frame = malloc(9200);
            const uint8_t *src = dg + p->off;
            uint8_t junk[9000];
            if (garble) {
                for (uint32_t k = 0; k < p->len; k++)
                    junk[k] = (uint8_t)rnd(256);
                src = junk;
                if (rnd(2))
                    p->off = 8 * rnd(8192);
                if (rnd(4) == 0)
                    p->mf = !p->mf;
            }
            p->flen = v6 ? v6frag(p->frame, id, 17, p->off & 0xFFF8, p->mf, src, p->len, hbh)
                         : v4frag(p->frame, (uint16_t)id, 17, p->off, p->mf, src, p->len);
            p->caplen = p->flen;
            if (snap && rnd(3) == 0) {
                p->caplen = rnd(p->flen + 1);
                any_snap = true;
            }
        }
        /* the frame expected: headers of a fragment at offset 0, lengths fixed */
        uint32_t hl = v6 ? v6frag(want, id, 17, 0, false, dg, n, hbh) - n - 8
                         : v4frag(want, (uint16_t)id, 17, 0, false, dg, n) - n;
        if (v6) {
            memmove(want + hl, want + hl + 8, n);
            put16(want + 18, hl - 54 + n);
            want[hbh ? 54 : 20] = 17;
        }
        uint32_t dones = 0;
        for (uint32_t i = 0; i < np; i++) {
            struct wkp_l2l4 m;
            ts += 1000000;
            if (wkp_l2l4_parse(pc[i].frame, pc[i].caplen, 1, &m) != WKP_PARSE_FLOW)
                continue;
            struct wkp_defrag_frag fr = {pc[i].frame, pc[i].caplen, ts, 1, &m};
            struct wkp_defrag_out out;
            int rc = wkp_defrag_add(d, &fr, &out);
            cr_assert(rc >= WKP_DEFRAG_PASS && rc <= WKP_DEFRAG_INVALID);
            /* an extra piece [0, n) with MF clear is the whole datagram */
            if (rc == WKP_DEFRAG_PASS && !garble && pc[i].off == 0 && !pc[i].mf)
                dones++;
            if (rc != WKP_DEFRAG_DONE)
                continue;
            dones++;
            cr_assert_leq(out.caplen, out.wirelen);
            cr_assert_leq(out.wirelen, 14 + 40 + 8 + 65535);
            if (garble)
                continue;
            cr_assert_eq(out.wirelen, hl + n, "round %u", round);
            cr_assert_eq(memcmp(out.data, want, out.caplen), 0, "round %u", round);
            if (!any_snap)
                cr_assert_eq(out.caplen, out.wirelen, "round %u", round);
        }
        if (!garble && !any_snap)
            cr_assert_geq(dones, 1, "round %u: %u pieces of %u bytes", round, np, n);
        done_total += dones;
        for (uint32_t i = 0; i < np; i++)
            free(pc[i].frame);
        check_balance(d);
        if (rnd(50) == 0)
            wkp_defrag_expire(d, ts + 61 * SEC);
    }
    cr_assert_gt(done_total, 1500);
    wkp_defrag_flush(d);
    cr_assert_eq(wkp_defrag_pending_frags(d), 0);
    check_balance(d);
    wkp_defrag_free(d);
}

/* ---- real captures -------------------------------------------------------- */

struct tally {
    uint64_t packets, bytes;
    uint64_t from_packets, from_bytes; /* packets whose source is `from` */
    uint8_t from[16];
    uint32_t done;
    uint32_t done_wire[64];
    uint8_t done_data[4][400];
    uint16_t port; /* count only packets with this port on either side (0: all) */
};

/* Run a capture through parse + defrag as the reader will: PASS packets
 * count as they are, HELD/INVALID not at all, DONE outputs with their own
 * wirelen. */
static void run_capture(const char *name, struct tally *t, struct wkp_defrag_stats *s,
                        uint64_t *pending)
{
    char err[PCAP_ERRBUF_SIZE];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", WKP_TEST_DATA, name);
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    cr_assert_not_null(pc, "%s", err);
    int dlt = pcap_datalink(pc);
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        struct wkp_l2l4 m;
        if (wkp_l2l4_parse(data, h->caplen, dlt, &m) != WKP_PARSE_FLOW)
            continue;
        int64_t ts = (int64_t)h->ts.tv_sec * SEC + h->ts.tv_usec;
        struct wkp_defrag_frag fr = {data, h->caplen, ts, dlt, &m};
        struct wkp_defrag_out out;
        int rc = wkp_defrag_add(d, &fr, &out);
        uint32_t wire = h->len;
        if (rc == WKP_DEFRAG_HELD || rc == WKP_DEFRAG_INVALID)
            continue;
        if (rc == WKP_DEFRAG_DONE) {
            cr_assert_eq(wkp_l2l4_parse(out.data, out.caplen, out.dlt, &m), WKP_PARSE_FLOW);
            cr_assert_eq(m.is_fragment, 0);
            wire = out.wirelen;
            if (t->done < 64)
                t->done_wire[t->done] = wire;
            if (t->done < 4)
                memcpy(t->done_data[t->done], out.data, out.caplen < 400 ? out.caplen : 400);
            t->done++;
        }
        if (t->port && m.sport != t->port && m.dport != t->port)
            continue;
        t->packets++;
        t->bytes += wire;
        if (memcmp(m.src, t->from, 16) == 0) {
            t->from_packets++;
            t->from_bytes += wire;
        }
    }
    pcap_close(pc);
    *pending = wkp_defrag_pending_frags(d);
    wkp_defrag_stats(d, s);
    check_balance(d);
    wkp_defrag_free(d);
}

/* ip_seg.pcap: 51 datagrams of 1520-byte UDP as 1500 + 60-byte IPv4
 * fragments (frames 1514 + 74). 417 packets read = 315 whole + 102
 * fragments; out: 315 + 51 = 366 packets. Each reassembled frame is
 * 14 + 20 + 1520 = 1554 bytes, so the total drops by 51 x (1514 + 74 - 1554)
 * = 51 x 34 = 1734 from the reference's 198076 to 196342; server -> client
 * (108.160.141.197 -> 192.168.1.12:62689) 169 packets, 119548 + 3774 - 1734
 * = 121588 bytes. Every output is UDP 4500 <-> 62689. */
Test(defrag, ip_seg_capture)
{
    struct tally t = {.from = {108, 160, 141, 197}};
    struct wkp_defrag_stats s;
    uint64_t pending;
    run_capture("wa1kpcap__ip_seg.pcap", &t, &s, &pending);
    cr_assert_eq(t.packets, 366);
    cr_assert_eq(t.bytes, 196342);
    cr_assert_eq(t.from_packets, 169);
    cr_assert_eq(t.from_bytes, 121588);
    cr_assert_eq(t.done, 51);
    for (uint32_t i = 0; i < 51 && i < 64; i++)
        cr_assert_eq(t.done_wire[i], 1554);
    cr_assert_eq(s.datagrams_done, 51);
    cr_assert_eq(s.frags_merged, 51);
    cr_assert_eq(s.frags_in, 102);
    cr_assert_eq(pending, 0);
}

/* zeek__fragmented-1.pcap, one IPv4 datagram id 0xf2, 164.1.123.163:123 ->
 * 164.1.123.61:137:
 *   frame 1: offset 0, MF, 18 bytes   [0,18)
 *   frame 2: offset 48, last, 116 bytes [48,164): the datagram is 164 bytes
 *   frame 3: offset 0, MF, 304 bytes  [0,304): reaches past the end
 * HELD, HELD, DONE at frame 3 (the gap [18,48) is filled). Bytes: [0,18)
 * from frame 1 (offset 0, received first), [18,164) from frame 3 (offset 0
 * beats offset 48), [164,304) ignored: tshark's ip.reassembled.data is the
 * same 164 bytes (007b00890012bfe2, ten zero bytes, then 146 x 0x58).
 * wirelen 14 + 20 + 164 = 198, one packet: the truth file's [1, 198]. */
Test(defrag, zeek_fragmented_1_matches_tshark)
{
    struct tally t = {.port = 137};
    struct wkp_defrag_stats s;
    uint64_t pending;
    run_capture("zeek__fragmented-1.pcap", &t, &s, &pending);
    cr_assert_eq(t.packets, 1);
    cr_assert_eq(t.bytes, 198);
    cr_assert_eq(t.done, 1);
    cr_assert_eq(s.frags_merged, 2);
    cr_assert_eq(pending, 0);
    static const uint8_t head[18] = {0x00, 0x7b, 0x00, 0x89, 0x00, 0x12, 0xbf, 0xe2};
    const uint8_t *p = t.done_data[0] + 34;
    cr_assert_eq(memcmp(p, head, 18), 0);
    for (int i = 18; i < 164; i++)
        cr_assert_eq(p[i], 0x58, "byte %d", i);
    cr_assert_eq(get16(t.done_data[0] + 16), 184);
}

/* zeek__ipv6-fragmented-dns.pcap: id 2 = frames 6, 7, 8 (offsets 0, 1432,
 * 2864; 1432 + 1432 + 374 = 3238 bytes) reassemble at frame 8 into
 * 14 + 40 + 3238 = 3292 bytes; with frames 3 and 5 (136 each) flow
 * ...:51851 | 2607:f740:b::f93:53 is 3 packets, 3564 bytes (truth file).
 * Frame 4 (id 1, a lone last fragment at 2896) stays pending. */
Test(defrag, zeek_ipv6_fragmented_dns_matches_tshark)
{
    struct tally t = {.port = 51851};
    struct wkp_defrag_stats s;
    uint64_t pending;
    run_capture("zeek__ipv6-fragmented-dns.pcap", &t, &s, &pending);
    cr_assert_eq(t.packets, 3);
    cr_assert_eq(t.bytes, 3564);
    cr_assert_eq(t.done, 1);
    cr_assert_eq(t.done_wire[0], 3292);
    cr_assert_eq(s.frags_in, 4);
    cr_assert_eq(s.frags_merged, 2);
    cr_assert_eq(pending, 1);

    struct tally u = {.port = 51850};
    run_capture("zeek__ipv6-fragmented-dns.pcap", &u, &s, &pending);
    cr_assert_eq(u.packets, 2);
    cr_assert_eq(u.bytes, 520);
}

/* Expiry at the int64 limits (util/nstime.h): a datagram first seen at
 * INT64_MIN is older than the 60 s timeout at any clock >= INT64_MIN + 60 s
 * + 1 ns, including INT64_MAX (the difference saturates, it does not wrap
 * negative); one first seen at INT64_MAX never expires at an earlier clock
 * (the clock going backwards is a negative age). */
Test(defrag, expiry_at_the_timestamp_limits)
{
    struct wkp_defrag *d = wkp_defrag_new(NULL);
    uint8_t x[8] = {0};
    struct wkp_defrag_out out;
    uint32_t la = v4frag(fa, 4, 253, 0, true, x, 8);
    cr_assert_eq(feed(d, fa, la, INT64_MIN, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(wkp_defrag_expire(d, INT64_MIN + 60 * SEC), 0);
    cr_assert_eq(wkp_defrag_expire(d, INT64_MAX), 1);
    cr_assert_eq(feed(d, fa, la, INT64_MAX, &out), WKP_DEFRAG_HELD);
    cr_assert_eq(wkp_defrag_expire(d, INT64_MIN), 0);
    cr_assert_eq(wkp_defrag_expire(d, 0), 0);
    cr_assert_eq(wkp_defrag_pending_frags(d), 1);
    cr_assert_eq(wkp_defrag_flush(d), 1);
    check_balance(d);
    wkp_defrag_free(d);
}
