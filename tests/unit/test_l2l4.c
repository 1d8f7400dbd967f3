/* Unit tests for wkp_l2l4_parse(): hand-made frames for every link type and
 * encapsulation it decodes, their truncations, invalid IP headers, and the
 * lengths (docs/output.md) of wa1kpcap__single.pcap. Frames are built with a small
 * writer; expected offsets and lengths are hand computations from the
 * header sizes written next to them. Every parse runs on an exact-size heap
 * copy so that ASan reports a read past caplen. */
#include "dissectors/l2l4.h"

#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static const uint8_t A4[4] = {10, 0, 0, 1}, B4[4] = {10, 0, 0, 2};
static const uint8_t A6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t B6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* IPv4 header, 20 bytes, total length patched by ip4_end(). */
static uint32_t ip4_begin(struct pkt *p, uint8_t proto, uint16_t frag, const uint8_t *src,
                          const uint8_t *dst)
{
    uint32_t at = p->n;
    u8(p, 0x45), u8(p, 0);
    be16(p, 0);      /* total length, patched */
    be16(p, 0x1234); /* identification */
    be16(p, frag);   /* flags + fragment offset */
    u8(p, 64);
    u8(p, proto);
    be16(p, 0);
    put(p, src, 4);
    put(p, dst, 4);
    return at;
}
static void ip4_end(struct pkt *p, uint32_t at)
{
    patch16(p, at + 2, (uint16_t)(p->n - at));
}

/* IPv6 header, 40 bytes, payload length patched by ip6_end(). */
static uint32_t ip6_begin(struct pkt *p, uint8_t next)
{
    uint32_t at = p->n;
    be32(p, 0x60000000);
    be16(p, 0);
    u8(p, next);
    u8(p, 64);
    put(p, A6, 16);
    put(p, B6, 16);
    return at;
}
static void ip6_end(struct pkt *p, uint32_t at)
{
    patch16(p, at + 4, (uint16_t)(p->n - at - 40));
}

/* TCP header, 20 bytes: seq 1000, ack 2000, data offset 5, window 512. */
static void tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
    be16(p, sport), be16(p, dport);
    be32(p, 1000), be32(p, 2000);
    u8(p, 0x50), u8(p, flags);
    be16(p, 512);
    be16(p, 0), be16(p, 0);
}

/* UDP header, 8 bytes, length patched by udp_end(). */
static uint32_t udp_begin(struct pkt *p, uint16_t sport, uint16_t dport)
{
    uint32_t at = p->n;
    be16(p, sport), be16(p, dport);
    be16(p, 0), be16(p, 0);
    return at;
}
static void udp_end(struct pkt *p, uint32_t at)
{
    patch16(p, at + 4, (uint16_t)(p->n - at));
}

/* IPv4 UDP 10.0.0.1:1111 -> 10.0.0.2:2222 with 4 payload bytes:
 * ip_len 20 + 8 + 4 = 32, UDP length 12. */
static void ip4_udp(struct pkt *p)
{
    uint32_t ip = ip4_begin(p, 17, 0, A4, B4);
    uint32_t u = udp_begin(p, 1111, 2222);
    put(p, "abcd", 4);
    udp_end(p, u);
    ip4_end(p, ip);
}

/* IPv6 TCP 2001:db8::1:3333 -> 2001:db8::2:80, ACK, no payload: ip_len 60. */
static void ip6_tcp(struct pkt *p)
{
    uint32_t ip = ip6_begin(p, 6);
    tcp(p, 3333, 80, 0x10);
    ip6_end(p, ip);
}

/* Parse an exact-size heap copy of the first n bytes. */
static enum wkp_parse_status parse_n(const struct pkt *p, uint32_t n, int dlt, struct wkp_l2l4 *o)
{
    uint8_t *copy = malloc(n ? n : 1);
    cr_assert(copy != NULL);
    memcpy(copy, p->b, n);
    enum wkp_parse_status st = wkp_l2l4_parse(copy, n, dlt, o);
    free(copy);
    return st;
}
static enum wkp_parse_status parse(const struct pkt *p, int dlt, struct wkp_l2l4 *o)
{
    return parse_n(p, p->n, dlt, o);
}

/* Every prefix of a frame returns a status consistent with its fields. */
static void check_prefixes(const struct pkt *p, int dlt)
{
    for (uint32_t n = 0; n <= p->n; n++) {
        struct wkp_l2l4 o;
        enum wkp_parse_status st = parse_n(p, n, dlt, &o);
        cr_assert(st == WKP_PARSE_FLOW || st == WKP_PARSE_NOT_IP || st == WKP_PARSE_MALFORMED);
        cr_assert(o.depth <= WKP_MAX_DEPTH);
        if (st == WKP_PARSE_MALFORMED) {
            cr_assert(o.anomaly > WKP_ANOM_NONE && o.anomaly < WKP_ANOM__COUNT,
                      "prefix %u: anomaly %u", n, o.anomaly);
            continue;
        }
        cr_assert_eq(o.anomaly, WKP_ANOM_NONE, "prefix %u", n);
        if (st != WKP_PARSE_FLOW)
            continue;
        cr_assert(o.family == 4 || o.family == 6, "prefix %u", n);
        cr_assert(o.l3_off < o.l4_off, "prefix %u", n);
        cr_assert(o.l4_off <= o.l3_end && o.l3_end <= n, "prefix %u", n);
        cr_assert(o.app_off <= o.l3_end, "prefix %u", n);
        cr_assert((uint64_t)o.app_off + o.app_len <= o.l3_end, "prefix %u", n);
        cr_assert(o.l2_len <= o.l3_off, "prefix %u", n);
    }
}

/* ---- Ethernet, IPv4, TCP, UDP ------------------------------------------ */

static void build_eth_tcp(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t ip = ip4_begin(p, 6, 0x4000 /* DF */, A4, B4);
    tcp(p, 40000, 443, 0x18);
    put(p, "hello", 5);
    ip4_end(p, ip);
}

Test(l2l4, ethernet_ipv4_tcp_fields_and_offsets)
{
    struct pkt p = {0};
    build_eth_tcp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.family, 4);
    cr_assert_eq(o.proto, 6);
    cr_assert_arr_eq(o.src, A4, 4);
    cr_assert_arr_eq(o.dst, B4, 4);
    cr_assert_eq(o.src[4], 0);
    cr_assert_eq(o.sport, 40000);
    cr_assert_eq(o.dport, 443);
    cr_assert_eq(o.tcp_seq, 1000);
    cr_assert_eq(o.tcp_ack, 2000);
    cr_assert_eq(o.tcp_flags, 0x18);
    cr_assert_eq(o.tcp_win, 512);
    cr_assert_eq(o.tcp_hlen, 20);
    /* 14 Ethernet, 20 IPv4, 20 TCP, 5 payload */
    cr_assert_eq(o.l2_len, 14);
    cr_assert_eq(o.l3_off, 14);
    cr_assert_eq(o.l4_off, 34);
    cr_assert_eq(o.app_off, 54);
    cr_assert_eq(o.l3_end, 59);
    cr_assert_eq(o.ip_len, 45);
    cr_assert_eq(o.trans_len, 25);
    cr_assert_eq(o.app_len, 5);
    cr_assert_eq(o.is_fragment, 0);
    cr_assert_eq(o.ip_id, 0x1234);
    cr_assert_eq(o.ethertype, 0x0800);
    cr_assert_eq(o.encap, 0);
    cr_assert_eq(o.depth, 3); /* Ethernet, IPv4, TCP */
    check_prefixes(&p, WKP_DLT_EN10MB);
}

static void build_eth_udp_padded(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t ip = ip4_begin(p, 17, 0, A4, B4);
    uint32_t u = udp_begin(p, 1111, 53);
    put(p, "xy", 2);
    udp_end(p, u);
    ip4_end(p, ip);
    zeros(p, 60 - p->n); /* minimum Ethernet frame: 16 bytes of padding */
}

Test(l2l4, ethernet_padding_is_not_udp_payload)
{
    struct pkt p = {0};
    build_eth_udp_padded(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(p.n, 60);
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    /* IP 20 + UDP 8 + 2 = 30 bytes, ending at 14 + 30 = 44 */
    cr_assert_eq(o.ip_len, 30);
    cr_assert_eq(o.l3_end, 44);
    cr_assert_eq(o.trans_len, 10);
    cr_assert_eq(o.app_len, 2);
    cr_assert_eq(o.app_off, 42);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

Test(l2l4, ethernet_padding_is_not_tcp_payload)
{
    struct pkt p = {0};
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin(&p, 6, 0, A4, B4);
    tcp(&p, 1, 2, 0x10);
    ip4_end(&p, ip);
    zeros(&p, 6); /* 54 -> 60 bytes */
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.ip_len, 40);
    cr_assert_eq(o.trans_len, 20);
    cr_assert_eq(o.app_len, 0);
}

Test(l2l4, truncated_udp_keeps_header_fields)
{
    /* caplen 40 of 60 gives ip 29, trans 9, app 0: 1 payload byte, 14 + 29 = 43
     * bytes padded to 60, captured 40 = 14 + 20 + 6 bytes of UDP. */
    struct pkt p = {0};
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin(&p, 17, 0, A4, B4);
    uint32_t u = udp_begin(&p, 5000, 6000);
    u8(&p, 'z');
    udp_end(&p, u);
    ip4_end(&p, ip);
    zeros(&p, 60 - p.n);
    struct wkp_l2l4 o;
    cr_assert_eq(parse_n(&p, 40, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.ip_len, 29);
    cr_assert_eq(o.trans_len, 9);
    cr_assert_eq(o.app_len, 0);
    cr_assert_eq(o.sport, 5000);
    cr_assert_eq(o.l3_end, 40);
}

Test(l2l4, truncated_tcp_header_keeps_ports)
{
    /* As tcpdump__tcp_header_heapoverflow.pcap: 12 of 20 TCP bytes captured;
     * tshark decodes tcp.srcport/dstport and keys the flow with them. */
    struct pkt p = {0};
    build_eth_tcp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse_n(&p, 14 + 20 + 12, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.proto, 6);
    cr_assert_eq(o.sport, 40000);
    cr_assert_eq(o.dport, 443);
    cr_assert_eq(o.tcp_flags, 0);
    cr_assert_eq(o.tcp_hlen, 12); /* clamp to [20, captured] taken in that order */
    cr_assert_eq(o.trans_len, 12);
    cr_assert_eq(o.app_len, 0);
    cr_assert_eq(o.ip_len, 45);
    /* 3 TCP bytes: no ports */
    cr_assert_eq(parse_n(&p, 14 + 20 + 3, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.sport, 0);
    cr_assert_eq(o.dport, 0);
}

Test(l2l4, tcp_data_offset_is_clamped)
{
    struct pkt p = {0};
    build_eth_tcp(&p); /* 20 TCP bytes + 5 payload after offset 34 */
    struct wkp_l2l4 o;
    p.b[34 + 12] = 0xF0; /* data offset 15 = 60 bytes, 25 present */
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.tcp_hlen, 25);
    cr_assert_eq(o.app_len, 0);
    cr_assert_eq(o.trans_len, 25);
    p.b[34 + 12] = 0x20; /* data offset 2 = 8 bytes, below the minimum */
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.tcp_hlen, 20);
    cr_assert_eq(o.app_len, 5);
    cr_assert_eq(o.trans_len, 25);
}

Test(l2l4, ethernet_ipv6_tcp)
{
    struct pkt p = {0};
    eth(&p, 0x86DD);
    ip6_tcp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.family, 6);
    cr_assert_arr_eq(o.src, A6, 16);
    cr_assert_arr_eq(o.dst, B6, 16);
    cr_assert_eq(o.proto, 6);
    cr_assert_eq(o.sport, 3333);
    cr_assert_eq(o.dport, 80);
    cr_assert_eq(o.ip_len, 60); /* 40 + payload length 20 */
    cr_assert_eq(o.l4_off, 54);
    cr_assert_eq(o.trans_len, 20);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

Test(l2l4, arp_and_llc_are_not_ip)
{
    struct pkt p = {0};
    eth(&p, 0x0806);
    zeros(&p, 28);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_NOT_IP);
    cr_assert_eq(o.ethertype, 0x0806);
    struct pkt q = {0};
    eth(&q, 38); /* 802.3 length field, then LLC (STP) */
    u8(&q, 0x42), u8(&q, 0x42), u8(&q, 0x03);
    zeros(&q, 35);
    cr_assert_eq(parse(&q, WKP_DLT_EN10MB, &o), WKP_PARSE_NOT_IP);
}

Test(l2l4, short_ethernet_header_is_malformed_link)
{
    struct pkt p = {0};
    build_eth_tcp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse_n(&p, 13, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_LINK);
    cr_assert_eq(parse_n(&p, 0, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
}

/* ---- VLAN, PPPoE, MPLS --------------------------------------------------- */

static void build_qinq(struct pkt *p)
{
    eth(p, 0x88A8);
    be16(p, 0xA000 | 100); /* PCP 5, VID 100 */
    be16(p, 0x8100);
    be16(p, 200);
    be16(p, 0x0800);
    ip4_udp(p);
}

Test(l2l4, qinq_88a8_then_8100_keys_inner_vid)
{
    struct pkt p = {0};
    build_qinq(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.vlan_id, 200);
    cr_assert_eq(o.encap, WKP_ENC_VLAN);
    cr_assert_eq(o.l2_len, 22); /* 14 + 2 x 4 */
    cr_assert_eq(o.sport, 1111);
    cr_assert_eq(o.dport, 2222);
    cr_assert_eq(o.ip_len, 32);
    cr_assert_eq(o.trans_len, 12);
    cr_assert_eq(o.app_len, 4);
    check_prefixes(&p, WKP_DLT_EN10MB);
    cr_assert_eq(parse_n(&p, 16, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_VLAN);
}

Test(l2l4, vlan_9100_and_priority_tag)
{
    struct pkt p = {0};
    eth(&p, 0x9100);
    be16(&p, 300);
    be16(&p, 0x8100);
    be16(&p, 0x6000); /* priority tag: VID 0 */
    be16(&p, 0x0800);
    ip4_udp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.vlan_id, 0); /* innermost tag wins, even VID 0 */
    cr_assert_eq(o.encap, WKP_ENC_VLAN);
}

static void build_pppoe(struct pkt *p)
{
    eth(p, 0x8864);
    u8(p, 0x11), u8(p, 0x00); /* version 1 type 1, code 0 (session data) */
    be16(p, 0x1234);          /* session id */
    be16(p, 2 + 32);          /* PPP protocol + IPv4 datagram */
    be16(p, 0x0021);
    ip4_udp(p);
}

Test(l2l4, pppoe_session_ipv4)
{
    struct pkt p = {0};
    build_pppoe(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.encap, WKP_ENC_PPPOE);
    cr_assert_eq(o.l2_len, 22); /* 14 + 6 PPPoE + 2 PPP */
    cr_assert_eq(o.proto, 17);
    cr_assert_eq(o.app_len, 4);
    check_prefixes(&p, WKP_DLT_EN10MB);
    cr_assert_eq(parse_n(&p, 20, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_PPP);
}

Test(l2l4, pppoe_session_ipv6_and_lcp)
{
    struct pkt p = {0};
    eth(&p, 0x8864);
    be16(&p, 0x1100), be16(&p, 1), be16(&p, 62);
    be16(&p, 0x0057);
    ip6_tcp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.family, 6);
    p.b[20] = 0xC0, p.b[21] = 0x21; /* LCP */
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_NOT_IP);
}

static void build_mpls(struct pkt *p)
{
    eth(p, 0x8847);
    be32(p, 1000u << 12 | 64);         /* label 1000, TTL 64 */
    be32(p, 2000u << 12 | 0x100 | 64); /* label 2000, bottom of stack */
    ip4_udp(p);
}

Test(l2l4, mpls_stack_then_ipv4)
{
    struct pkt p = {0};
    build_mpls(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.encap, WKP_ENC_MPLS);
    cr_assert_eq(o.l2_len, 22); /* 14 + 2 x 4 */
    cr_assert_eq(o.sport, 1111);
    check_prefixes(&p, WKP_DLT_EN10MB);
    cr_assert_eq(parse_n(&p, 20, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_MPLS);
}

Test(l2l4, mpls_ipv6_and_unknown_payload)
{
    struct pkt p = {0};
    eth(&p, 0x8848);
    be32(&p, 0x100 | 1);
    ip6_tcp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.family, 6);
    p.b[18] = 0x90; /* first nibble 9: no guess */
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_NOT_IP);
}

static void build_mpls_pw(struct pkt *p)
{
    eth(p, 0x8847);
    be32(p, 0x100 | 1);
    be32(p, 0); /* RFC 4385 control word */
    eth(p, 0x0800);
    ip4_udp(p);
}

Test(l2l4, mpls_ethernet_pseudowire_with_control_word)
{
    struct pkt p = {0};
    build_mpls_pw(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.l3_off, 14 + 4 + 4 + 14);
    cr_assert_eq(o.l2_len, 36);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

Test(l2l4, depth_cap_stops_endless_vlan_tags)
{
    struct pkt p = {0};
    eth(&p, 0x8100);
    for (int i = 0; i < 20; i++) {
        be16(&p, (uint16_t)(i + 1));
        be16(&p, 0x8100);
    }
    be16(&p, 1), be16(&p, 0x0800);
    ip4_udp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_DEPTH);
    cr_assert_eq(o.depth, WKP_MAX_DEPTH);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

/* ---- tunnels --------------------------------------------------------------- */

static const uint8_t SRC4[4] = {192, 0, 2, 1}, DST4[4] = {198, 51, 100, 2};

static void build_gre_key_seq(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t outer = ip4_begin(p, 47, 0, A4, B4);
    be16(p, 0x3000); /* key and sequence present, version 0 */
    be16(p, 0x0800);
    be32(p, 42); /* key */
    be32(p, 7);  /* sequence */
    uint32_t inner = ip4_begin(p, 6, 0, SRC4, DST4);
    tcp(p, 5555, 80, 0x02);
    ip4_end(p, inner);
    ip4_end(p, outer);
}

Test(l2l4, gre_with_key_and_sequence_keys_inner_packet)
{
    struct pkt p = {0};
    build_gre_key_seq(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, SRC4, 4);
    cr_assert_arr_eq(o.dst, DST4, 4);
    cr_assert_eq(o.proto, 6);
    cr_assert_eq(o.sport, 5555);
    cr_assert_eq(o.tcp_flags, 0x02);
    cr_assert_eq(o.encap, WKP_ENC_GRE);
    cr_assert_eq(o.l2_len, 14);           /* outermost IP */
    cr_assert_eq(o.l3_off, 14 + 20 + 12); /* GRE 4 + key 4 + seq 4 */
    cr_assert_eq(o.ip_len, 40);           /* inner */
    check_prefixes(&p, WKP_DLT_EN10MB);
}

Test(l2l4, gre_cut_short_or_unknown_is_the_outer_flow)
{
    struct pkt p = {0};
    build_gre_key_seq(&p);
    struct wkp_l2l4 o;
    /* Only 10 of GRE's 12 header bytes: keep the outer IP, protocol 47. */
    cr_assert_eq(parse_n(&p, 14 + 20 + 10, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, A4, 4);
    cr_assert_eq(o.proto, 47);
    cr_assert_eq(o.sport, 0);
    cr_assert_eq(o.l3_off, 14);
    cr_assert_eq(o.ip_len, 72); /* outer: 20 + 12 + 40 */
    cr_assert_eq(o.anomaly, WKP_ANOM_NONE);
    /* A keepalive (protocol 0), as in tcpdump__various_gre.pcap: outer flow. */
    patch16(&p, 14 + 20 + 2, 0x0000);
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.proto, 47);
    cr_assert(o.encap & WKP_ENC_GRE);
    /* A truncated inner IPv4 header: outer flow too. */
    patch16(&p, 14 + 20 + 2, 0x0800);
    cr_assert_eq(parse_n(&p, 14 + 20 + 12 + 10, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, A4, 4);
    cr_assert_eq(o.proto, 47);
}

static void build_gre_teb_arp(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t outer = ip4_begin(p, 47, 0, A4, B4);
    be16(p, 0x0000), be16(p, 0x6558);
    eth(p, 0x0806);
    zeros(p, 28);
    ip4_end(p, outer);
}

Test(l2l4, gre_ethernet_carrying_arp_is_the_outer_flow)
{
    struct pkt p = {0};
    build_gre_teb_arp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.proto, 47);
    cr_assert_arr_eq(o.src, A4, 4);
    cr_assert_eq(o.ethertype, 0x0800);
}

static void build_gre_teb_udp(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t outer = ip4_begin(p, 47, 0, A4, B4);
    be16(p, 0x2000), be16(p, 0x6558), be32(p, 42);
    eth(p, 0x8100);
    be16(p, 77), be16(p, 0x0800);
    ip4_udp(p);
    ip4_end(p, outer);
}

Test(l2l4, gre_transparent_ethernet_bridging)
{
    struct pkt p = {0};
    build_gre_teb_udp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.sport, 1111);
    cr_assert_eq(o.vlan_id, 77);
    cr_assert_eq(o.encap, WKP_ENC_GRE | WKP_ENC_VLAN);
    cr_assert_eq(o.l3_off, 14 + 20 + 8 + 18);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

static void build_pptp(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t outer = ip4_begin(p, 47, 0, A4, B4);
    be16(p, 0x3081); /* key, sequence, ack, version 1 (RFC 2637 §4.1) */
    be16(p, 0x880B);
    be16(p, 34), be16(p, 0x0001); /* payload length, call id */
    be32(p, 5);                   /* sequence */
    be32(p, 4);                   /* acknowledgement */
    u8(p, 0xFF), u8(p, 0x03), be16(p, 0x0021);
    ip4_udp(p);
    ip4_end(p, outer);
}

Test(l2l4, pptp_enhanced_gre_with_ack_carries_ppp)
{
    struct pkt p = {0};
    build_pptp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, A4, 4); /* ip4_udp uses A4/B4 too: check offsets */
    cr_assert_eq(o.l3_off, 14 + 20 + 16 + 4);
    cr_assert_eq(o.proto, 17);
    cr_assert_eq(o.sport, 1111);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

static void build_vxlan_icmp(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t outer = ip4_begin(p, 17, 0, A4, B4);
    uint32_t u = udp_begin(p, 50000, 4789);
    be32(p, 0x08000000), be32(p, 0x00123400); /* I flag, VNI 0x1234 */
    eth(p, 0x0800);
    uint32_t inner = ip4_begin(p, 1, 0, SRC4, DST4);
    u8(p, 8), u8(p, 0), be16(p, 0), be32(p, 0x00010001); /* echo request */
    ip4_end(p, inner);
    udp_end(p, u);
    ip4_end(p, outer);
}

Test(l2l4, vxlan_icmp_keys_inner_ips_without_ports)
{
    /* the original wa1kpcap kept the outer UDP ports 50000/4789 here */
    struct pkt p = {0};
    build_vxlan_icmp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, SRC4, 4);
    cr_assert_eq(o.proto, 1);
    cr_assert_eq(o.sport, 0);
    cr_assert_eq(o.dport, 0);
    cr_assert_eq(o.trans_len, 0);
    cr_assert_eq(o.app_len, 0);
    cr_assert_eq(o.encap, WKP_ENC_VXLAN);
    cr_assert_eq(o.l3_off, 14 + 20 + 8 + 8 + 14);
    cr_assert_eq(o.l2_len, 14);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

Test(l2l4, vxlan_carrying_arp_is_the_outer_udp_flow)
{
    struct pkt p = {0};
    eth(&p, 0x0800);
    uint32_t outer = ip4_begin(&p, 17, 0, A4, B4);
    uint32_t u = udp_begin(&p, 50000, 4789);
    be32(&p, 0x08000000), be32(&p, 0x00123400);
    eth(&p, 0x0806);
    zeros(&p, 28);
    udp_end(&p, u);
    ip4_end(&p, outer);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, A4, 4);
    cr_assert_eq(o.sport, 50000);
    cr_assert_eq(o.dport, 4789);
    cr_assert_eq(o.trans_len, 8 + 8 + 14 + 28);
    cr_assert_eq(o.app_len, 8 + 14 + 28);
    cr_assert(o.encap & WKP_ENC_VXLAN);
}

static void build_geneve(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t outer = ip4_begin(p, 17, 0, A4, B4);
    uint32_t u = udp_begin(p, 50001, 6081);
    u8(p, 0x01), u8(p, 0); /* version 0, 1 option word */
    be16(p, 0x6558);
    be32(p, 0x00ABCD00);
    be32(p, 0x01020304); /* the option word */
    eth(p, 0x0800);
    ip4_udp(p);
    udp_end(p, u);
    ip4_end(p, outer);
}

Test(l2l4, geneve_with_options_then_ethernet)
{
    struct pkt p = {0};
    build_geneve(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.sport, 1111);
    cr_assert_eq(o.encap, WKP_ENC_GENEVE);
    cr_assert_eq(o.l3_off, 14 + 20 + 8 + 12 + 14);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

static void build_ipip(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t outer = ip4_begin(p, 4, 0, A4, B4);
    uint32_t inner = ip4_begin(p, 17, 0, SRC4, DST4);
    uint32_t u = udp_begin(p, 40010, 5060);
    udp_end(p, u);
    ip4_end(p, inner);
    ip4_end(p, outer);
}

Test(l2l4, ipv4_in_ipv4_keys_inner)
{
    struct pkt p = {0};
    build_ipip(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, SRC4, 4);
    cr_assert_eq(o.sport, 40010);
    cr_assert_eq(o.encap, WKP_ENC_IPIP);
    cr_assert_eq(o.l3_off, 34);
    cr_assert_eq(o.l2_len, 14);
    cr_assert_eq(o.ip_len, 28);
    cr_assert_eq(o.trans_len, 8);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

static void build_6in4(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t outer = ip4_begin(p, 41, 0, A4, B4);
    ip6_tcp(p);
    ip4_end(p, outer);
}

Test(l2l4, ipv6_in_ipv4_keys_inner)
{
    struct pkt p = {0};
    build_6in4(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.family, 6);
    cr_assert_eq(o.dport, 80);
    cr_assert_eq(o.encap, WKP_ENC_IPIP);
    cr_assert_eq(o.ip_len, 60);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

Test(l2l4, icmp_error_is_not_decapsulated)
{
    struct pkt p = {0};
    eth(&p, 0x0800);
    uint32_t outer = ip4_begin(&p, 1, 0, A4, B4);
    u8(&p, 3), u8(&p, 3), be16(&p, 0), be32(&p, 0); /* port unreachable */
    uint32_t quoted = ip4_begin(&p, 17, 0, SRC4, DST4);
    uint32_t u = udp_begin(&p, 33434, 33435);
    udp_end(&p, u);
    ip4_end(&p, quoted);
    ip4_end(&p, outer);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, A4, 4);
    cr_assert_eq(o.proto, 1);
    cr_assert_eq(o.sport, 0);
    cr_assert_eq(o.trans_len, 0);
    cr_assert_eq(o.app_len, 0);
    cr_assert_eq(o.app_off, o.l4_off);
    cr_assert_eq(o.encap, 0);
}

/* ---- fragments and invalid IP headers ------------------------------------ */

static void build_ip6_hbh_frag(struct pkt *p, uint16_t offset_units, bool more)
{
    eth(p, 0x86DD);
    uint32_t ip = ip6_begin(p, 0);
    u8(p, 44), u8(p, 0), zeros(p, 6); /* hop-by-hop, 8 bytes, next: fragment */
    u8(p, 17), u8(p, 0);
    be16(p, (uint16_t)(offset_units << 3 | (more ? 1 : 0)));
    be32(p, 0xCAFEBABE);
    uint32_t u = udp_begin(p, 7000, 53); /* garbage if offset > 0 */
    zeros(p, 16);
    udp_end(p, u);
    ip6_end(p, ip);
}

Test(l2l4, ipv6_non_first_fragment_has_no_ports)
{
    struct pkt p = {0};
    build_ip6_hbh_frag(&p, 185, false);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.proto, 17); /* the fragment header's next header, not parsed further */
    cr_assert_eq(o.sport, 0);
    cr_assert_eq(o.dport, 0);
    cr_assert_eq(o.trans_len, 0);
    cr_assert_eq(o.app_len, 0);
    cr_assert_eq(o.is_fragment, 1);
    cr_assert_eq(o.frag_off, 185);
    cr_assert_eq(o.mf, 0);
    cr_assert_eq(o.ip_id, 0xCAFEBABE);
    cr_assert_eq(o.l4_off, 14 + 40 + 8 + 8);
    cr_assert_eq(o.ip_len, 40 + 8 + 8 + 24);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

Test(l2l4, ipv6_first_fragment_is_parsed)
{
    struct pkt p = {0};
    build_ip6_hbh_frag(&p, 0, true);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.sport, 7000);
    cr_assert_eq(o.is_fragment, 1);
    cr_assert_eq(o.mf, 1);
    cr_assert_eq(o.trans_len, 24);
    check_prefixes(&p, WKP_DLT_EN10MB);
    /* The hop-by-hop header cut after 6 of its 8 bytes. */
    cr_assert_eq(parse_n(&p, 14 + 40 + 6, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV6);
}

Test(l2l4, ipv6_ah_length_and_esp_end)
{
    struct pkt p = {0};
    eth(&p, 0x86DD);
    uint32_t ip = ip6_begin(&p, 51);
    u8(&p, 6), u8(&p, 4), zeros(&p, 22); /* AH: (4 + 2) x 4 = 24 bytes */
    tcp(&p, 1, 2, 0x10);
    ip6_end(&p, ip);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.proto, 6);
    cr_assert_eq(o.l4_off, 14 + 40 + 24);
    cr_assert_eq(o.sport, 1);
    p.b[14 + 6] = 50; /* ESP: the walk ends, protocol 50 */
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.proto, 50);
    cr_assert_eq(o.sport, 0);
    cr_assert_eq(o.l4_off, 54);
}

Test(l2l4, ipv4_non_first_fragment_has_no_ports)
{
    struct pkt p = {0};
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin(&p, 17, 0x2000 | 185, A4, B4); /* MF, offset 185 x 8 */
    zeros(&p, 24);
    ip4_end(&p, ip);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.proto, 17);
    cr_assert_eq(o.sport, 0);
    cr_assert_eq(o.trans_len, 0);
    cr_assert_eq(o.app_len, 0);
    cr_assert_eq(o.is_fragment, 1);
    cr_assert_eq(o.mf, 1);
    cr_assert_eq(o.frag_off, 185);
    cr_assert_eq(o.l4_off, 34);
    cr_assert_eq(o.app_off, 34);
    check_prefixes(&p, WKP_DLT_EN10MB);
}

Test(l2l4, ipv4_first_fragment_takes_udp_length_of_datagram)
{
    /* first fragment's trans_len = whole datagram (UDP length). */
    struct pkt p = {0};
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin(&p, 17, 0x2000, A4, B4);
    be16(&p, 4500), be16(&p, 4500), be16(&p, 3008), be16(&p, 0);
    zeros(&p, 16);
    ip4_end(&p, ip);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.sport, 4500);
    cr_assert_eq(o.trans_len, 3008);
    cr_assert_eq(o.app_len, 16);
    cr_assert_eq(o.is_fragment, 1);
    cr_assert_eq(o.frag_off, 0);
}

Test(l2l4, ipv4_bad_version_ihl_and_total_length_are_malformed)
{
    struct pkt p = {0};
    build_eth_tcp(&p);
    struct wkp_l2l4 o;
    p.b[14] = 0x55; /* version 5: malformed */
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV4);
    p.b[14] = 0x44; /* IHL 4: 16 bytes < 20 */
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV4);
    p.b[14] = 0x4F; /* IHL 15: 60 bytes, only 45 captured */
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV4);
    p.b[14] = 0x45;
    patch16(&p, 16, 19); /* total length below the header length */
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV4);
    cr_assert_eq(parse_n(&p, 14 + 19, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV4);
}

Test(l2l4, ipv4_total_length_beyond_capture_is_bounded)
{
    struct pkt p = {0};
    build_eth_tcp(&p);
    patch16(&p, 16, 1500);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.ip_len, 1500); /* the field, not the bytes present */
    cr_assert_eq(o.l3_end, p.n);  /* but never past caplen */
    cr_assert_eq(o.app_len, 5);
    cr_assert_eq(o.trans_len, 25);
}

Test(l2l4, ipv4_total_length_shorter_than_capture_bounds_transport)
{
    struct pkt p = {0};
    build_eth_tcp(&p);
    patch16(&p, 16, 42); /* 2 of the 5 payload bytes belong to the datagram */
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.l3_end, 14 + 42);
    cr_assert_eq(o.app_len, 2);
}

Test(l2l4, ipv6_bad_version_and_short_header_are_malformed)
{
    struct pkt p = {0};
    eth(&p, 0x86DD);
    ip6_tcp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse_n(&p, 14 + 39, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV6);
    p.b[14] = 0x40;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV6);
}

Test(l2l4, ipv6_payload_length_beyond_capture_is_bounded)
{
    struct pkt p = {0};
    eth(&p, 0x86DD);
    ip6_tcp(&p);
    patch16(&p, 14 + 4, 1000);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.ip_len, 1040);
    cr_assert_eq(o.l3_end, p.n);
    cr_assert_eq(o.trans_len, 20);
}

/* ---- other link types ------------------------------------------------------ */

static void build_null(struct pkt *p, uint32_t af_le, bool v6)
{
    le32(p, af_le);
    if (v6)
        ip6_tcp(p);
    else
        ip4_udp(p);
}

Test(l2l4, null_and_loop_address_families_in_both_orders)
{
    static const struct {
        int dlt;
        uint32_t af_le; /* the 4 header bytes read as little-endian */
        int family;
    } cases[] = {
        {WKP_DLT_NULL, 2, 4},          /* little-endian writer, AF_INET */
        {WKP_DLT_NULL, 0x02000000, 4}, /* big-endian writer */
        {WKP_DLT_NULL, 30, 6},         /* macOS AF_INET6 */
        {WKP_DLT_NULL, 28, 6},         /* FreeBSD */
        {WKP_DLT_NULL, 0x18000000, 6}, /* 24 NetBSD/OpenBSD, big-endian */
        {WKP_DLT_NULL, 10, 6},         /* Linux */
        {WKP_DLT_LOOP, 0x02000000, 4}, /* network order, as documented */
        {WKP_DLT_LOOP, 0x18000000, 6}, /* OpenBSD AF_INET6, network order */
        {WKP_DLT_LOOP, 2, 4},          /* host order seen in the wild */
        {WKP_DLT_NULL, 0x0008000F, 4}, /* 0f 00 08 00: ethertype in the low bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pkt p = {0};
        build_null(&p, cases[i].af_le, cases[i].family == 6);
        struct wkp_l2l4 o;
        cr_assert_eq(parse(&p, cases[i].dlt, &o), WKP_PARSE_FLOW, "case %zu", i);
        cr_assert_eq(o.family, cases[i].family, "case %zu", i);
        cr_assert_eq(o.l2_len, 4, "case %zu", i);
        check_prefixes(&p, cases[i].dlt);
    }
    struct pkt p = {0};
    build_null(&p, 7, false); /* AF 7: not IP */
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_NULL, &o), WKP_PARSE_NOT_IP);
    cr_assert_eq(parse_n(&p, 3, WKP_DLT_NULL, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_LINK);
}

static void build_ppp(struct pkt *p, bool hdlc, bool compressed, uint16_t proto)
{
    if (hdlc)
        u8(p, 0xFF), u8(p, 0x03);
    if (compressed)
        u8(p, (uint8_t)proto); /* RFC 1661 §6.5 */
    else
        be16(p, proto);
    if (proto == 0x0281) {
        be32(p, 0x100 | 1);
        ip4_udp(p);
    } else if (proto == 0x0057) {
        ip6_tcp(p);
    } else {
        ip4_udp(p);
    }
}

Test(l2l4, ppp_framing_and_protocol_compression)
{
    static const struct {
        int dlt;
        bool hdlc, compressed;
        uint16_t proto;
        uint32_t l2_len;
    } cases[] = {
        {WKP_DLT_PPP, true, false, 0x0021, 4},
        {WKP_DLT_PPP, false, false, 0x0021, 2},
        {WKP_DLT_PPP, false, true, 0x0021, 1},
        {WKP_DLT_PPP, true, true, 0x0057, 3},
        {WKP_DLT_PPP_SERIAL, true, false, 0x0021, 4},
        {WKP_DLT_PPP_SERIAL, true, false, 0x0281, 8}, /* MPLS label, then IPv4 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pkt p = {0};
        build_ppp(&p, cases[i].hdlc, cases[i].compressed, cases[i].proto);
        struct wkp_l2l4 o;
        cr_assert_eq(parse(&p, cases[i].dlt, &o), WKP_PARSE_FLOW, "case %zu", i);
        cr_assert_eq(o.l2_len, cases[i].l2_len, "case %zu", i);
        check_prefixes(&p, cases[i].dlt);
    }
    struct pkt p = {0};
    build_ppp(&p, true, false, 0xC021); /* LCP */
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_PPP, &o), WKP_PARSE_NOT_IP);
    cr_assert_eq(parse_n(&p, 3, WKP_DLT_PPP, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_PPP);
}

Test(l2l4, cisco_hdlc_and_ppp_serial_in_cisco_framing)
{
    struct pkt p = {0};
    u8(&p, 0x0F), u8(&p, 0x00), be16(&p, 0x0800);
    ip4_udp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_C_HDLC, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.l2_len, 4);
    cr_assert_eq(o.ethertype, 0x0800);
    cr_assert_eq(parse(&p, WKP_DLT_PPP_SERIAL, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.l2_len, 4);
    check_prefixes(&p, WKP_DLT_C_HDLC);
    check_prefixes(&p, WKP_DLT_PPP_SERIAL);
    cr_assert_eq(parse_n(&p, 3, WKP_DLT_C_HDLC, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_PPP);
}

Test(l2l4, raw_ip_link_types_use_the_version_nibble)
{
    static const int dlts[] = {WKP_DLT_RAW_BSD12, WKP_DLT_RAW_BSD14, WKP_DLT_RAW};
    for (size_t i = 0; i < 3; i++) {
        struct pkt v4 = {0}, v6 = {0};
        ip4_udp(&v4);
        ip6_tcp(&v6);
        struct wkp_l2l4 o;
        cr_assert_eq(parse(&v4, dlts[i], &o), WKP_PARSE_FLOW);
        cr_assert_eq(o.family, 4);
        cr_assert_eq(o.l2_len, 0);
        cr_assert_eq(parse(&v6, dlts[i], &o), WKP_PARSE_FLOW);
        cr_assert_eq(o.family, 6);
        check_prefixes(&v4, dlts[i]);
        check_prefixes(&v6, dlts[i]);
        v4.b[0] = 0x55;
        cr_assert_eq(parse(&v4, dlts[i], &o), WKP_PARSE_MALFORMED);
        cr_assert_eq(o.anomaly, WKP_ANOM_LINK);
    }
}

Test(l2l4, ipv4_and_ipv6_link_types)
{
    struct pkt v4 = {0}, v6 = {0};
    ip4_udp(&v4);
    ip6_tcp(&v6);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&v4, WKP_DLT_IPV4, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.sport, 1111);
    cr_assert_eq(parse(&v6, WKP_DLT_IPV6, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.sport, 3333);
    /* The link type fixes the version: a mismatch is malformed. */
    cr_assert_eq(parse(&v6, WKP_DLT_IPV4, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV4);
    cr_assert_eq(parse(&v4, WKP_DLT_IPV6, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_IPV6);
    check_prefixes(&v4, WKP_DLT_IPV4);
    check_prefixes(&v6, WKP_DLT_IPV6);
}

static void build_sll(struct pkt *p, uint16_t proto)
{
    be16(p, 0);  /* packet type: to us */
    be16(p, 1);  /* ARPHRD_ETHER */
    be16(p, 6);  /* address length */
    zeros(p, 8); /* address */
    be16(p, proto);
    ip4_udp(p);
}

static void build_sll2(struct pkt *p, uint16_t proto)
{
    be16(p, proto);
    be16(p, 0); /* reserved */
    be32(p, 3); /* interface index */
    be16(p, 1); /* ARPHRD_ETHER */
    u8(p, 4);   /* packet type: outgoing */
    u8(p, 6);
    zeros(p, 8);
    ip4_udp(p);
}

Test(l2l4, linux_cooked_v1_and_v2)
{
    struct pkt s1 = {0}, s2 = {0};
    build_sll(&s1, 0x0800);
    build_sll2(&s2, 0x0800);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&s1, WKP_DLT_LINUX_SLL, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.l2_len, 16);
    cr_assert_eq(o.ethertype, 0x0800);
    cr_assert_eq(parse(&s2, WKP_DLT_LINUX_SLL2, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.l2_len, 20);
    check_prefixes(&s1, WKP_DLT_LINUX_SLL);
    check_prefixes(&s2, WKP_DLT_LINUX_SLL2);
    cr_assert_eq(parse_n(&s2, 19, WKP_DLT_LINUX_SLL2, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_LINK);
    struct pkt arp = {0};
    build_sll(&arp, 0x0806);
    cr_assert_eq(parse(&arp, WKP_DLT_LINUX_SLL, &o), WKP_PARSE_NOT_IP);
}

static void build_nflog(struct pkt *p)
{
    u8(p, 2), u8(p, 0), be16(p, 1); /* AF_INET, version 0, resource id 1 */
    le16(p, 5), le16(p, 10);        /* prefix TLV: 4 + 1 bytes ... */
    u8(p, 0), zeros(p, 3);          /* ... padded to 8 */
    le16(p, 4 + 32), le16(p, 9);    /* payload TLV holding 32 bytes of IPv4 */
    ip4_udp(p);
}

Test(l2l4, nflog_payload_tlv)
{
    struct pkt p = {0};
    build_nflog(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_NFLOG, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.l2_len, 4 + 8 + 4);
    cr_assert_eq(o.sport, 1111);
    cr_assert_eq(o.app_len, 4);
    check_prefixes(&p, WKP_DLT_NFLOG);
    p.b[4] = 2; /* a TLV length below its own 4-byte header */
    cr_assert_eq(parse(&p, WKP_DLT_NFLOG, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_LINK);
    p.b[4] = 5;
    p.b[12] = 40; /* payload TLV longer than the capture */
    cr_assert_eq(parse(&p, WKP_DLT_NFLOG, &o), WKP_PARSE_MALFORMED);
    cr_assert_eq(o.anomaly, WKP_ANOM_LINK);
    /* Only the prefix TLV: no IP. */
    cr_assert_eq(parse_n(&p, 12, WKP_DLT_NFLOG, &o), WKP_PARSE_NOT_IP);
}

Test(l2l4, nflog_nested_flag_is_masked)
{
    struct pkt p = {0};
    build_nflog(&p);
    p.b[15] = 0x80; /* type 0x8009: NLA_F_NESTED + payload */
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, WKP_DLT_NFLOG, &o), WKP_PARSE_FLOW);
}

Test(l2l4, unknown_link_type_and_names)
{
    struct pkt p = {0};
    ip4_udp(&p);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&p, 147, &o), WKP_PARSE_NOT_IP);
    cr_assert_eq(wkp_dlt_supported(147), 0);
    cr_assert_null(wkp_dlt_name(147));
    static const int known[] = {0, 1, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 239, 276};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        cr_assert_eq(wkp_dlt_supported(known[i]), 1, "dlt %d", known[i]);
        cr_assert_not_null(wkp_dlt_name(known[i]));
    }
    cr_assert_str_eq(wkp_dlt_name(1), "EN10MB");
    cr_assert_str_eq(wkp_dlt_name(276), "LINUX_SLL2");
    for (int a = 0; a < WKP_ANOM__COUNT; a++)
        cr_assert_not_null(wkp_anom_names[a]);
    cr_assert_str_eq(wkp_anom_names[WKP_ANOM_IPV4], "ipv4");
    cr_assert_str_eq(wkp_anom_names[WKP_ANOM_DEPTH], "depth");
}

Test(l2l4, every_prefix_of_every_frame_is_sane)
{
    void (*const eth_frames[])(struct pkt *) = {
        build_eth_tcp,    build_eth_udp_padded, build_qinq,        build_pppoe,       build_mpls,
        build_mpls_pw,    build_gre_key_seq,    build_gre_teb_arp, build_gre_teb_udp, build_pptp,
        build_vxlan_icmp, build_geneve,         build_ipip,        build_6in4,
    };
    for (size_t i = 0; i < sizeof eth_frames / sizeof eth_frames[0]; i++) {
        struct pkt p = {0};
        eth_frames[i](&p);
        struct wkp_l2l4 o;
        cr_assert_eq(parse(&p, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW, "frame %zu", i);
        check_prefixes(&p, WKP_DLT_EN10MB);
    }
}

/* wa1kpcap__single.pcap packets 1-4; tshark -T fields
 * -e ip.len -e tcp.hdr_len -e tcp.len -e tcp.flags -e tcp.window_size_value:
 * 52 32 0 0x02 65535 / 52 32 0 0x12 42340 / 40 20 0 0x10 255 /
 * 507 20 467 0x18 255 (trans_len = tcp.hdr_len + tcp.len). */
Test(l2l4, single_pcap_lengths_match_tshark)
{
    static const uint32_t ip[4] = {52, 52, 40, 507};
    static const uint32_t trans[4] = {32, 32, 20, 487};
    static const uint32_t app[4] = {0, 0, 0, 467};
    static const uint8_t flags[4] = {2, 18, 16, 24};
    static const uint16_t win[4] = {65535, 42340, 255, 255};
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(WKP_TEST_DATA "/wa1kpcap__single.pcap", err);
    cr_assert_not_null(pc, "%s", err);
    int dlt = pcap_datalink(pc);
    for (int i = 0; i < 4; i++) {
        struct pcap_pkthdr *h;
        const u_char *d;
        cr_assert_eq(pcap_next_ex(pc, &h, &d), 1);
        struct wkp_l2l4 o;
        cr_assert_eq(wkp_l2l4_parse(d, h->caplen, dlt, &o), WKP_PARSE_FLOW);
        cr_assert_eq(o.ip_len, ip[i], "packet %d", i + 1);
        cr_assert_eq(o.trans_len, trans[i], "packet %d", i + 1);
        cr_assert_eq(o.app_len, app[i], "packet %d", i + 1);
        cr_assert_eq(o.tcp_flags, flags[i], "packet %d", i + 1);
        cr_assert_eq(o.tcp_win, win[i], "packet %d", i + 1);
        cr_assert_eq(o.proto, 6);
        cr_assert_eq(o.sport == 443 ? o.dport : o.sport, 8907);
    }
    pcap_close(pc);
}

Test(l2l4, first_fragment_of_a_tunnel_is_not_decapsulated)
{
    /* The outer IPv4 of a GRE and of a VXLAN packet with MF set (a first
     * fragment): the tunnel waits for reassembly, so the packet stays the
     * outer flow (GRE: protocol 47 without ports; VXLAN: the outer UDP
     * ports), marked as a fragment, with no encapsulation bits. */
    struct pkt g = {0};
    build_gre_key_seq(&g);
    patch16(&g, 14 + 6, 0x2000);
    struct wkp_l2l4 o;
    cr_assert_eq(parse(&g, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, A4, 4);
    cr_assert_arr_eq(o.dst, B4, 4);
    cr_assert_eq(o.proto, 47);
    cr_assert_eq(o.sport, 0);
    cr_assert(o.is_fragment && o.mf && o.frag_off == 0);
    cr_assert_eq(o.encap, 0);
    cr_assert_eq(o.l3_off, 14);
    cr_assert_eq(o.l4_off, 14 + 20);

    struct pkt v = {0};
    build_vxlan_icmp(&v);
    patch16(&v, 14 + 6, 0x2000);
    cr_assert_eq(parse(&v, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_arr_eq(o.src, A4, 4);
    cr_assert_eq(o.proto, 17);
    cr_assert_eq(o.sport, 50000);
    cr_assert_eq(o.dport, 4789);
    cr_assert(o.is_fragment && o.mf);
    cr_assert_eq(o.encap, 0);
    cr_assert_eq(o.l3_off, 14);

    /* Unfragmented, the same packets are decapsulated. */
    patch16(&v, 14 + 6, 0);
    cr_assert_eq(parse(&v, WKP_DLT_EN10MB, &o), WKP_PARSE_FLOW);
    cr_assert_eq(o.encap, WKP_ENC_VXLAN);
}
