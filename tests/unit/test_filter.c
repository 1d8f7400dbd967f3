/* Unit tests for filter/filter.c: how expressions split into keywords and
 * libpcap parts (wkp_filter_dump), the errors, and evaluation on hand-made
 * frames: VLAN tags removed before BPF, ICMPv6 behind a hop-by-hop header,
 * the raw-IP fallback on NFLOG, every keyword; plus the fields the filter
 * needs from wkp_l2l4_parse(). Expected trees follow tcpdump's precedence
 * (and/or equal, left-associative; not tightest). */
#include "dissectors/l2l4.h"
#include "dissectors/dissector.h"
#include "filter/filter.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* ---- frame writer --------------------------------------------------------- */

#include "frame.h"

static void tag(struct pkt *p, uint16_t tci, uint16_t type)
{
    be16(p, tci), be16(p, type);
}

static const uint8_t A4[4] = {10, 0, 0, 1}, B4[4] = {10, 0, 0, 2};
static const uint8_t SRC4[4] = {192, 168, 0, 1}, DST4[4] = {192, 168, 0, 2};
static const uint8_t A6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t MLD6[16] = {0xff, 0x02, [15] = 0x16};

static uint32_t ip4_begin(struct pkt *p, uint8_t proto, const uint8_t *src, const uint8_t *dst)
{
    uint32_t at = p->n;
    u8(p, 0x45), u8(p, 0), be16(p, 0), be16(p, 1), be16(p, 0), u8(p, 64), u8(p, proto);
    be16(p, 0), put(p, src, 4), put(p, dst, 4);
    return at;
}
static void ip4_end(struct pkt *p, uint32_t at)
{
    patch16(p, at + 2, (uint16_t)(p->n - at));
}
static void tcp(struct pkt *p, uint16_t sport, uint16_t dport)
{
    be16(p, sport), be16(p, dport), be32(p, 1), be32(p, 0);
    u8(p, 0x50), u8(p, 0x10), be16(p, 512), be16(p, 0), be16(p, 0);
}
static uint32_t udp_begin(struct pkt *p, uint16_t sport, uint16_t dport)
{
    uint32_t at = p->n;
    be16(p, sport), be16(p, dport), be16(p, 0), be16(p, 0);
    return at;
}
static void udp_end(struct pkt *p, uint32_t at)
{
    patch16(p, at + 4, (uint16_t)(p->n - at));
}
static void ip4_tcp(struct pkt *p, const uint8_t *s, uint16_t sp, const uint8_t *d, uint16_t dp)
{
    uint32_t ip = ip4_begin(p, 6, s, d);
    tcp(p, sp, dp);
    ip4_end(p, ip);
}
static void ip4_udp(struct pkt *p, uint16_t sp, uint16_t dp)
{
    uint32_t ip = ip4_begin(p, 17, A4, B4);
    uint32_t u = udp_begin(p, sp, dp);
    put(p, "abcd", 4);
    udp_end(p, u);
    ip4_end(p, ip);
}

/* ---- helpers ---------------------------------------------------------------- */

static struct wkp_filter *compile_ok(const char *expr)
{
    struct wkp_filter *f = NULL;
    wkp_errbuf err = {{0}};
    wkp_status st = wkp_filter_compile(expr, &f, &err);
    cr_assert_eq(st, WKP_OK, "\"%s\": %s", expr, err.msg);
    return f;
}

static void tree_is(const char *expr, const char *want)
{
    struct wkp_filter *f = compile_ok(expr);
    char buf[512];
    wkp_filter_dump(f, buf, sizeof buf);
    cr_expect_str_eq(buf, want, "\"%s\"", expr);
    wkp_filter_free(f);
}

static void error_is(const char *expr, const char *want)
{
    struct wkp_filter *f = NULL;
    wkp_errbuf err = {{0}};
    cr_expect_eq(wkp_filter_compile(expr, &f, &err), WKP_EINVAL, "\"%s\" compiled", expr);
    cr_expect_null(f);
    cr_expect(strstr(err.msg, want) != NULL, "\"%s\": got '%s', want '%s'", expr, err.msg, want);
}

/* Does frame p (link type dlt) pass expr? Parsed on an exact-size copy. */
static bool match(const char *expr, const struct pkt *p, int dlt)
{
    struct wkp_filter *f = compile_ok(expr);
    uint8_t *copy = malloc(p->n);
    cr_assert(copy);
    memcpy(copy, p->b, p->n);
    struct wkp_l2l4 m;
    wkp_l2l4_parse(copy, p->n, dlt, &m);
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_filter_prepare_dlt(f, dlt, &err), WKP_OK, "%s", err.msg);
    bool r = wkp_filter_packet(f, copy, p->n, p->n, dlt, &m);
    cr_assert_null(wkp_filter_error(f));
    free(copy);
    wkp_filter_free(f);
    return r;
}

/* ---- parsing and grouping -------------------------------------------------------- */

Test(filter, keyword_free_expression_goes_to_libpcap_whole)
{
    tree_is("port 80 or 443", "packet: bpf(\"port 80 or 443\"); flow: true");
    tree_is("tcp and (port 80 or 443) and not host 10.0.0.1",
            "packet: bpf(\"tcp and (port 80 or 443) and not host 10.0.0.1\"); flow: true");
    tree_is("(tcp[12] & 0xf0) >> 2 > 20",
            "packet: bpf(\"(tcp[12] & 0xf0) >> 2 > 20\"); flow: true");
    tree_is("", "packet: true; flow: true");
    tree_is("   ", "packet: true; flow: true");
}

Test(filter, and_or_are_equal_and_left_associative)
{
    /* ((vlan and port 80) or port 443), as libpcap would group it */
    tree_is("vlan and port 80 or port 443",
            "packet: or(and(vlan, bpf(\"port 80\")), bpf(\"port 443\")); flow: true");
    /* ((tcp and port 443) or vlan): the keyword-free subtree stays one part */
    tree_is("tcp and port 443 or vlan", "packet: or(bpf(\"tcp and port 443\"), vlan); flow: true");
    /* ((vlan or udp) and port 53) */
    tree_is("vlan or udp and port 53",
            "packet: and(or(vlan, bpf(\"udp\")), bpf(\"port 53\")); flow: true");
    tree_is("not icmp && !arp || mpls 16",
            "packet: or(and(not(icmp), not(arp)), mpls 16); flow: true");
}

Test(filter, and_chains_merge_neighbouring_libpcap_parts)
{
    tree_is("vlan and tcp and port 443",
            "packet: and(vlan, bpf(\"tcp and port 443\")); flow: true");
    tree_is("tcp and (vlan or gre) and port 443",
            "packet: and(bpf(\"tcp\"), or(vlan, gre), bpf(\"port 443\")); flow: true");
    /* neighbours in the flattened chain but not in the text: not merged */
    tree_is("(tcp and vlan) and port 443 and udp",
            "packet: and(bpf(\"tcp\"), vlan, bpf(\"port 443 and udp\")); flow: true");
    tree_is("not vlan 100 and (port 80 or 443)",
            "packet: and(not(vlan 100), bpf(\"(port 80 or 443)\")); flow: true");
}

Test(filter, keyword_words_in_libpcap_positions_stay_libpcap)
{
    tree_is("icmp[0] = 8 and vlan", "packet: and(bpf(\"icmp[0] = 8\"), vlan); flow: true");
    tree_is("ip proto gre or arp host 10.0.0.1",
            "packet: bpf(\"ip proto gre or arp host 10.0.0.1\"); flow: true");
    tree_is("tcp port http and dns", "packet: bpf(\"tcp port http\"); flow: dns");
    tree_is("vxlan 0x10 or geneve 7 or icmp6",
            "packet: or(vxlan 16, geneve 7, icmpv6); flow: true");
}

Test(filter, default_filter_uses_only_keywords)
{
    tree_is(WKP_DEFAULT_FILTER,
            "packet: and(not(arp), not(icmp), not(icmpv6), not(dhcp), not(dhcpv6)); flow: true");
}

Test(filter, flow_keywords_split_off_as_top_level_terms)
{
    tree_is("tls", "packet: true; flow: tls");
    tree_is("not (tls or dns) and tcp", "packet: bpf(\"tcp\"); flow: not(or(tls, dns))");
    tree_is("port 443 and quic and not http",
            "packet: bpf(\"port 443\"); flow: and(quic, not(http))");
    struct wkp_filter *f = NULL;
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_filter_compile_combined(WKP_DEFAULT_FILTER, "tls and port 443", &f, &err),
                 WKP_OK, "%s", err.msg);
    char buf[512];
    wkp_filter_dump(f, buf, sizeof buf);
    cr_expect_str_eq(buf, "packet: and(not(arp), not(icmp), not(icmpv6), not(dhcp), "
                          "not(dhcpv6), bpf(\"port 443\")); flow: tls");
    wkp_filter_free(f);
    cr_assert_eq(wkp_filter_compile_combined(NULL, "  ", &f, &err), WKP_OK);
    cr_expect(!wkp_filter_has_packet_terms(f) && !wkp_filter_has_flow_terms(f));
    wkp_filter_free(f);
}

/* Flow-level keywords name registered dissectors: quic and dns are both
 * in the product's registry, and each one's bit alone decides. */
Test(filter, flow_match_by_dissector_bits)
{
    int quic = wkp_dissector_find("quic", 4);
    int dns = wkp_dissector_find("dns", 3);
    cr_assert_geq(quic, 0);
    cr_assert_geq(dns, 0);
    cr_assert_neq(quic, dns);
    struct wkp_filter *f = compile_ok("quic");
    cr_expect(wkp_filter_has_flow_terms(f) && !wkp_filter_has_packet_terms(f));
    cr_expect(!wkp_filter_flow_match(f, 0));
    cr_expect(wkp_filter_flow_match(f, 1u << quic));
    cr_expect(!wkp_filter_flow_match(f, 1u << dns));
    cr_expect(wkp_filter_flow_match(f, UINT32_MAX));
    wkp_filter_free(f);
    f = compile_ok("not quic and not dns");
    cr_expect(wkp_filter_flow_match(f, 0));
    cr_expect(!wkp_filter_flow_match(f, 1u << dns));
    cr_expect(!wkp_filter_flow_match(f, 1u << quic));
    cr_expect(wkp_filter_flow_match(f, ~((1u << dns) | (1u << quic))));
    wkp_filter_free(f);
    f = compile_ok("dns");
    cr_expect(wkp_filter_flow_match(f, 1u << dns));
    cr_expect(!wkp_filter_flow_match(f, 0));
    wkp_filter_free(f);
    f = compile_ok("tcp");
    cr_expect(wkp_filter_flow_match(f, 0));
    wkp_filter_free(f);
}

/* ---- errors --------------------------------------------------------------------- */

Test(filter, errors_quote_the_failing_part)
{
    error_is("port foo", "filter: \"port foo\": unknown port 'foo'");
    error_is("vlan and port foo", "filter: \"port foo\": unknown port 'foo'");
    error_is("tcp and foo bar", "filter: \"tcp and foo bar\": syntax error");
    error_is("tls or tcp", "filter: \"tls or tcp\": 'tls' is decided on finished flows");
    error_is("not (tls and port 443)", "filter: \"not (tls and port 443)\": 'tls' is decided");
    error_is("tcp and (vlan or gre", "'(' at column 9 is never closed");
    error_is("tcp)", "')' at column 4 has no matching '('");
    error_is("vlan 5000", "filter: \"vlan 5000\": vlan ID 5000 out of range 0-4095");
    error_is("mpls 0x100000", "label");
    error_is("tcp and", "expected an expression, found the end at column 8");
    error_is("vlan tcp", "expected 'and' or 'or', found 'tcp' at column 6");
    error_is("(vlan) tcp", "expected 'and' or 'or', found 'tcp'");
    error_is("not", "expected an expression");
}

Test(filter, link_type_specific_part_fails_only_where_it_cannot_compile)
{
    struct wkp_filter *f = compile_ok("ether host 02:00:00:00:00:01 or vlan");
    wkp_errbuf err = {{0}};
    cr_expect_eq(wkp_filter_prepare_dlt(f, WKP_DLT_EN10MB, &err), WKP_OK);
    cr_expect_eq(wkp_filter_prepare_dlt(f, WKP_DLT_NFLOG, &err), WKP_EINVAL);
    cr_expect(strstr(err.msg, "filter: \"ether host 02:00:00:00:00:01\": ") == err.msg, "%s",
              err.msg);
    cr_expect(strstr(err.msg, "NFLOG") != NULL, "%s", err.msg);
    /* lazily, from the packet call: false and an error */
    struct pkt p = {0};
    u8(&p, 2), u8(&p, 0), be16(&p, 0);
    struct wkp_l2l4 m;
    wkp_l2l4_parse(p.b, p.n, WKP_DLT_NFLOG, &m);
    cr_expect(!wkp_filter_packet(f, p.b, p.n, p.n, WKP_DLT_NFLOG, &m));
    cr_expect_not_null(wkp_filter_error(f));
    wkp_filter_free(f);
}

/* ---- evaluation ------------------------------------------------------------------- */

Test(filter, tagged_and_untagged_directions_match_alike)
{
    /* dup.pcap's shape: one direction carries a priority tag (VID 0) */
    struct pkt up = {0}, down = {0}, qinq = {0};
    eth(&up, 0x0800);
    ip4_tcp(&up, A4, 5000, B4, 443);
    eth(&down, 0x8100);
    tag(&down, 0x0000, 0x0800);
    ip4_tcp(&down, B4, 443, A4, 5000);
    eth(&qinq, 0x88A8);
    tag(&qinq, 100, 0x8100);
    tag(&qinq, 200, 0x0800);
    ip4_tcp(&qinq, B4, 443, A4, 5000);
    cr_expect(match("tcp port 443", &up, WKP_DLT_EN10MB));
    cr_expect(match("tcp port 443", &down, WKP_DLT_EN10MB));
    cr_expect(match("tcp port 443", &qinq, WKP_DLT_EN10MB));
    cr_expect(match("ether[12:2] = 0x0800 and host 10.0.0.2", &qinq, WKP_DLT_EN10MB));
    cr_expect(!match("tcp port 80", &down, WKP_DLT_EN10MB));
    cr_expect(!match("vlan", &up, WKP_DLT_EN10MB));
    cr_expect(match("vlan", &down, WKP_DLT_EN10MB));
    cr_expect(match("vlan 0", &down, WKP_DLT_EN10MB));
    cr_expect(match("vlan 200 and vlan 100 and not vlan 0", &qinq, WKP_DLT_EN10MB));
    cr_expect(match("tcp port 443", &down, WKP_DLT_EN10MB)); /* the scratch copy is reused */
}

Test(filter, tagged_sll_frame_is_untagged_too)
{
    struct pkt p = {0};
    be16(&p, 0), be16(&p, 1), be16(&p, 6);
    put(&p, "\x02\x00\x00\x00\x00\x01\x00\x00", 8);
    be16(&p, 0x8100);
    tag(&p, 7, 0x0800);
    ip4_tcp(&p, A4, 5000, B4, 443);
    cr_expect(match("tcp port 443 and vlan 7", &p, WKP_DLT_LINUX_SLL));
}

Test(filter, icmpv6_after_hop_by_hop_header)
{
    /* MLD report: IPv6, hop-by-hop (router alert), ICMPv6 type 143 */
    struct pkt p = {0};
    eth(&p, 0x86DD);
    uint32_t ip = p.n;
    be32(&p, 0x60000000), be16(&p, 0), u8(&p, 0), u8(&p, 1);
    put(&p, A6, 16), put(&p, MLD6, 16);
    u8(&p, 58), u8(&p, 0), u8(&p, 5), u8(&p, 2), be16(&p, 0), u8(&p, 1), u8(&p, 0);
    u8(&p, 143), u8(&p, 0), be16(&p, 0), be16(&p, 0), be16(&p, 0);
    patch16(&p, ip + 4, (uint16_t)(p.n - ip - 40));
    cr_expect(match("icmpv6", &p, WKP_DLT_EN10MB));
    cr_expect(match("icmp6 and ip6", &p, WKP_DLT_EN10MB));
    cr_expect(!match(WKP_DEFAULT_FILTER, &p, WKP_DLT_EN10MB));
    cr_expect(!match("icmp", &p, WKP_DLT_EN10MB));
}

Test(filter, nflog_runs_libpcap_on_the_ip_header)
{
    struct pkt p = {0};
    u8(&p, 2), u8(&p, 0), be16(&p, 1);
    le16(&p, 5), le16(&p, 10), u8(&p, 0), u8(&p, 0), u8(&p, 0), u8(&p, 0);
    le16(&p, 4 + 32), le16(&p, 9);
    ip4_udp(&p, 1111, 53);
    cr_expect(match("udp port 53", &p, WKP_DLT_NFLOG));
    cr_expect(match("host 10.0.0.1 and not tcp", &p, WKP_DLT_NFLOG));
    cr_expect(!match("port 80", &p, WKP_DLT_NFLOG));
    cr_expect(match(WKP_DEFAULT_FILTER, &p, WKP_DLT_NFLOG));
}

Test(filter, raw_fallback_uses_the_outer_ip_header)
{
    /* NFLOG payload: IPv4 192.168.0.1 -> .2, GRE, IPv4 10.0.0.1 -> .2 TCP */
    struct pkt p = {0};
    u8(&p, 2), u8(&p, 0), be16(&p, 1);
    le16(&p, 4 + 64), le16(&p, 9);
    uint32_t o = ip4_begin(&p, 47, SRC4, DST4);
    be16(&p, 0), be16(&p, 0x0800);
    ip4_tcp(&p, A4, 5000, B4, 443);
    ip4_end(&p, o);
    cr_expect(match("host 192.168.0.1 and gre", &p, WKP_DLT_NFLOG));
    cr_expect(!match("host 10.0.0.1", &p, WKP_DLT_NFLOG));
}

Test(filter, non_ip_packets)
{
    struct pkt p = {0};
    eth(&p, 0x0806);
    be16(&p, 1), be16(&p, 0x0800), u8(&p, 6), u8(&p, 4), be16(&p, 1);
    for (int i = 0; i < 20; i++)
        u8(&p, 0);
    cr_expect(match("arp", &p, WKP_DLT_EN10MB));
    cr_expect(!match("ip", &p, WKP_DLT_EN10MB));
    cr_expect(!match("not arp", &p, WKP_DLT_EN10MB));
    cr_expect(match("not ip", &p, WKP_DLT_EN10MB));
    cr_expect(match("ether proto 0x0806", &p, WKP_DLT_EN10MB));
}

/* Ethernet, IPv4 192.168.0.1 -> .2 UDP 50000 -> 4789, VXLAN VNI 0x123456, inner
 * Ethernet with a VLAN tag (VID 9) and ARP. */
static void build_vxlan_arp(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t ip = ip4_begin(p, 17, SRC4, DST4);
    uint32_t u = udp_begin(p, 50000, 4789);
    be32(p, 0x08000000), be32(p, 0x12345600);
    eth(p, 0x8100);
    tag(p, 9, 0x0806);
    be16(p, 1), be16(p, 0x0800), u8(p, 6), u8(p, 4), be16(p, 1);
    for (int i = 0; i < 20; i++)
        u8(p, 0);
    udp_end(p, u);
    ip4_end(p, ip);
}

Test(filter, keywords_look_inside_tunnels)
{
    struct pkt v = {0};
    build_vxlan_arp(&v);
    cr_expect(match("vxlan", &v, WKP_DLT_EN10MB));
    cr_expect(match("vxlan 0x123456", &v, WKP_DLT_EN10MB));
    cr_expect(!match("vxlan 1", &v, WKP_DLT_EN10MB));
    cr_expect(match("arp and vlan 9 and udp port 4789", &v, WKP_DLT_EN10MB));
    cr_expect(!match(WKP_DEFAULT_FILTER, &v, WKP_DLT_EN10MB));

    /* Ethernet, MPLS labels 16 and 17, IPv4 UDP 68 -> 67 */
    struct pkt m = {0};
    eth(&m, 0x8847);
    be32(&m, 16u << 12 | 64), be32(&m, 17u << 12 | 0x100 | 64);
    ip4_udp(&m, 68, 67);
    cr_expect(match("mpls", &m, WKP_DLT_EN10MB));
    cr_expect(match("mpls 17 and mpls 16", &m, WKP_DLT_EN10MB));
    cr_expect(!match("mpls 18", &m, WKP_DLT_EN10MB));
    cr_expect(match("dhcp", &m, WKP_DLT_EN10MB));
    cr_expect(!match("dhcpv6 or gre or geneve or vlan", &m, WKP_DLT_EN10MB));

    /* Ethernet, IPv4, GRE with key 0xabc, IPv4 ICMP */
    struct pkt g = {0};
    eth(&g, 0x0800);
    uint32_t o = ip4_begin(&g, 47, SRC4, DST4);
    be16(&g, 0x2000), be16(&g, 0x0800), be32(&g, 0xabc);
    uint32_t i = ip4_begin(&g, 1, A4, B4);
    u8(&g, 8), u8(&g, 0), be16(&g, 0), be32(&g, 0);
    ip4_end(&g, i);
    ip4_end(&g, o);
    cr_expect(match("gre and icmp", &g, WKP_DLT_EN10MB));
    cr_expect(match("not gre or host 192.168.0.1", &g, WKP_DLT_EN10MB));
    cr_expect(!match("not icmp", &g, WKP_DLT_EN10MB));
    cr_expect(match("ip proto 47", &g, WKP_DLT_EN10MB)); /* libpcap: the outer header */
}

Test(filter, l2l4_records_what_the_keywords_need)
{
    cr_expect_leq(sizeof(struct wkp_l2l4), 200);
    struct pkt v = {0};
    build_vxlan_arp(&v);
    struct wkp_l2l4 m;
    cr_assert_eq(wkp_l2l4_parse(v.b, v.n, WKP_DLT_EN10MB, &m), WKP_PARSE_FLOW);
    /* the inner frame carries no IP: keyed on the outer UDP packet */
    cr_expect_eq(m.sport, 50000);
    cr_expect_eq(m.tun.n_stack, 2);
    cr_expect_eq(m.tun.stack[0], WKP_EL_VXLAN);
    cr_expect_eq(m.tun.stack[1], WKP_EL_VLAN);
    cr_expect_eq(m.tun.vxlan_vni, 0x123456);
    cr_expect_eq(m.tun.n_vlan, 1);
    cr_expect_eq(m.tun.vlan_ids[0], 9);
    cr_expect_eq(m.tun.strip_n, 0, "an inner tag is not under the link header");
    cr_expect(m.tun.flags & WKP_TF_ARP);
    cr_expect_eq(m.tun.outer_family, 4);
    cr_expect_arr_eq(m.tun.outer_src, SRC4, 4);

    /* QinQ then GRE (key 7) then IPv6-in-IPv4: stack, key, outer addresses */
    struct pkt g = {0};
    eth(&g, 0x88A8);
    tag(&g, 100, 0x8100);
    tag(&g, 200, 0x0800);
    uint32_t o = ip4_begin(&g, 47, SRC4, DST4);
    be16(&g, 0x2000), be16(&g, 0x0800), be32(&g, 7);
    uint32_t i = ip4_begin(&g, 6, A4, B4);
    tcp(&g, 1, 2);
    ip4_end(&g, i);
    ip4_end(&g, o);
    cr_assert_eq(wkp_l2l4_parse(g.b, g.n, WKP_DLT_EN10MB, &m), WKP_PARSE_FLOW);
    cr_expect_eq(m.tun.n_stack, 3);
    cr_expect_eq(m.tun.stack[0], WKP_EL_VLAN);
    cr_expect_eq(m.tun.stack[1], WKP_EL_VLAN);
    cr_expect_eq(m.tun.stack[2], WKP_EL_GRE);
    cr_expect(m.tun.flags & WKP_TF_GRE_KEY);
    cr_expect_eq(m.tun.gre_key, 7);
    cr_expect_eq(m.tun.vlan_ids[0], 100);
    cr_expect_eq(m.tun.vlan_ids[1], 200);
    cr_expect_eq(m.vlan_id, 200);
    cr_expect_eq(m.tun.strip_n, 2);
    cr_expect_eq(m.tun.strip_type_off, 12);
    cr_expect_eq(m.tun.strip_tags_off, 14);
    cr_expect_arr_eq(m.tun.outer_dst, DST4, 4);
    cr_expect_arr_eq(m.src, A4, 4);
    cr_expect_eq(m.l2_len, 22);
}

/* The icmp dissector (ICMP and ICMPv6 flows) shares its name with the
 * packet keyword: the keyword keeps its packet meaning, so icmp and
 * icmpv6 select the same packets as before the dissector existed, and
 * may mix freely with libpcap terms. */
Test(filter, icmp_stays_a_packet_keyword_beside_its_dissector)
{
    cr_assert_geq(wkp_dissector_find("icmp", 4), 0);
    tree_is("icmp or icmpv6", "packet: or(icmp, icmpv6); flow: true");
    tree_is("tls and (icmp or port 53)", "packet: or(icmp, bpf(\"port 53\")); flow: tls");
}
