/* The ICMP dissector (dissectors/icmp.c), called directly: hand-built
 * ICMP and ICMPv6 messages in, the flow's JSON and the counters out. Every
 * expected value is worked out by hand from the bytes built here (the
 * comments give the arithmetic where there is any). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "tests/unit/dis_harness.h"

extern const struct wkp_dissector wkp_dissector_icmp;
static const struct wkp_dissector *D = &wkp_dissector_icmp;

/* counters, in the order of counter_names */
enum { MESSAGES, TRUNCATED, CAPPED };

static void setup(void)
{
    dis_setup(D);
}

static void teardown(void)
{
    dis_teardown(D);
}

TestSuite(icmp, .init = setup, .fini = teardown);

struct msg {
    uint8_t b[256];
    uint32_t n;
};

static void put(struct msg *m, const void *p, uint32_t n)
{
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void be16(struct msg *m, uint16_t v)
{
    m->b[m->n++] = (uint8_t)(v >> 8);
    m->b[m->n++] = (uint8_t)v;
}

/* The 4-byte header (type, code, checksum 0) and the next 4 bytes. */
static void head(struct msg *m, uint8_t type, uint8_t code, uint16_t w1, uint16_t w2)
{
    m->n = 0;
    m->b[m->n++] = type;
    m->b[m->n++] = code;
    be16(m, 0);
    be16(m, w1);
    be16(m, w2);
}

/* A 20-byte IPv4 header: protocol, 192.0.2.1 -> 198.51.100.7, fragment
 * offset field frag (8-byte units). */
static void ipv4(struct msg *m, uint8_t proto, uint16_t frag)
{
    static const uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {198, 51, 100, 7};
    uint8_t h[20] = {0x45, 0, 0, 48};
    h[6] = (uint8_t)(frag >> 8);
    h[7] = (uint8_t)frag;
    h[8] = 1; /* TTL */
    h[9] = proto;
    memcpy(h + 12, src, 4);
    memcpy(h + 16, dst, 4);
    put(m, h, 20);
}

/* A 40-byte IPv6 header: next header nh, 2001:db8::1 -> 2001:db8::2. */
static void ipv6(struct msg *m, uint8_t nh)
{
    uint8_t h[40] = {0x60};
    h[6] = nh;
    h[7] = 64;
    h[8] = 0x20, h[9] = 0x01, h[10] = 0x0d, h[11] = 0xb8, h[23] = 1;
    h[24] = 0x20, h[25] = 0x01, h[26] = 0x0d, h[27] = 0xb8, h[39] = 2;
    put(m, h, 40);
}

static void feed(uint8_t proto, const struct msg *m)
{
    struct wkp_dis_pkt p = {.proto = proto, .payload = m->b, .payload_len = m->n};
    struct wkp_cur c = {.p = m->b, .len = m->n};
    cr_assert_eq(D->parse(ctx, state, &p, &c), WKP_DIS_MORE);
}

static const char *json(void)
{
    out.len = 0;
    D->write(state, &out);
    wkp_buf_putc(&out, '\0');
    return out.p;
}

Test(icmp, echo_identifier_and_sequence_range)
{
    struct msg m;
    head(&m, 8, 0, 0x1234, 2); /* request, id 0x1234 = 4660, seq 2 */
    put(&m, "abcdefgh", 8);
    feed(IPPROTO_ICMP, &m);
    head(&m, 0, 0, 0x1234, 2); /* its reply */
    feed(IPPROTO_ICMP, &m);
    head(&m, 8, 0, 0x1234, 7);
    feed(IPPROTO_ICMP, &m);
    head(&m, 8, 0, 0x9999, 1); /* another identifier: the range widens, the id stays */
    feed(IPPROTO_ICMP, &m);
    cr_expect_str_eq(json(), "{\"type\":8,\"code\":0,\"type_codes\":[[8,0],[0,0]],"
                             "\"echo_id\":4660,\"echo_seq_min\":1,\"echo_seq_max\":7,"
                             "\"messages\":4,\"truncated\":0}");
    cr_expect_eq(counters[MESSAGES], 4);
    cr_expect_eq(counters[TRUNCATED], 0);
}

Test(icmp, time_exceeded_quotes_each_probe_once)
{
    struct msg m;
    for (int i = 0; i < 3; i++) {
        head(&m, 11, 0, 0, 0); /* time exceeded, 4 unused bytes */
        ipv4(&m, IPPROTO_UDP, 0);
        be16(&m, 40000);
        be16(&m, (uint16_t)(i < 2 ? 33434 : 33435)); /* the second repeats the first */
        be16(&m, 8);
        be16(&m, 0);
        feed(IPPROTO_ICMP, &m);
    }
    cr_expect_str_eq(json(), "{\"type\":11,\"code\":0,\"type_codes\":[[11,0]],\"quoted\":["
                             "{\"src\":\"192.0.2.1\",\"dst\":\"198.51.100.7\",\"proto\":17,"
                             "\"sport\":40000,\"dport\":33434},"
                             "{\"src\":\"192.0.2.1\",\"dst\":\"198.51.100.7\",\"proto\":17,"
                             "\"sport\":40000,\"dport\":33435}],\"messages\":3,\"truncated\":0}");
}

Test(icmp, cut_quote_keeps_what_fits)
{
    struct msg m;
    head(&m, 3, 3, 0, 0); /* port unreachable */
    ipv4(&m, IPPROTO_UDP, 0);
    m.n -= 3; /* 17 quoted bytes: protocol (offset 9) and source (12-15) fit, destination not */
    feed(IPPROTO_ICMP, &m);
    cr_expect_str_eq(json(), "{\"type\":3,\"code\":3,\"type_codes\":[[3,3]],\"quoted\":["
                             "{\"src\":\"192.0.2.1\",\"proto\":17}],"
                             "\"messages\":1,\"truncated\":1}");
    cr_expect_eq(counters[TRUNCATED], 1);
}

Test(icmp, quote_without_its_ports)
{
    struct msg m;
    head(&m, 3, 1, 0, 0);
    ipv4(&m, IPPROTO_TCP, 0);
    be16(&m, 443); /* 2 of the 4 port bytes */
    feed(IPPROTO_ICMP, &m);
    head(&m, 12, 0, 0, 0);      /* parameter problem quoting a later fragment: no ports to give */
    ipv4(&m, IPPROTO_UDP, 185); /* offset 185 * 8 = 1480 */
    feed(IPPROTO_ICMP, &m);
    head(&m, 4, 0, 0, 0); /* source quench quoting ICMP: no ports */
    ipv4(&m, IPPROTO_ICMP, 0);
    put(&m, "\x08\x00\x00\x00\x00\x01\x00\x01", 8);
    feed(IPPROTO_ICMP, &m);
    cr_expect_str_eq(json(), "{\"type\":3,\"code\":1,\"type_codes\":[[3,1],[12,0],[4,0]],"
                             "\"quoted\":["
                             "{\"src\":\"192.0.2.1\",\"dst\":\"198.51.100.7\",\"proto\":6},"
                             "{\"src\":\"192.0.2.1\",\"dst\":\"198.51.100.7\",\"proto\":17},"
                             "{\"src\":\"192.0.2.1\",\"dst\":\"198.51.100.7\",\"proto\":1}],"
                             "\"messages\":3,\"truncated\":1}");
}

Test(icmp, quote_of_no_ip_packet)
{
    struct msg m;
    head(&m, 5, 1, 0xc000, 0x0201); /* redirect to 192.0.2.1 */
    put(&m, "\x55\x00\x00\x00", 4); /* version 5 */
    feed(IPPROTO_ICMP, &m);
    head(&m, 11, 1, 0, 0); /* an 8-byte error: nothing quoted */
    feed(IPPROTO_ICMP, &m);
    cr_expect_str_eq(json(), "{\"type\":5,\"code\":1,\"type_codes\":[[5,1],[11,1]],"
                             "\"messages\":2,\"truncated\":2}");
}

Test(icmp, packet_too_big_after_extension_headers)
{
    struct msg m;
    head(&m, 2, 0, 0, 1280); /* ICMPv6 packet too big, MTU 1280 */
    ipv6(&m, 0);             /* hop-by-hop: 8 bytes (length 0) */
    put(&m, "\x2c\x00\x01\x04\x00\x00\x00\x00", 8);
    put(&m, "\x06\x00\x00\x00\x00\x00\x00\x2a", 8); /* fragment header, offset 0: next TCP */
    be16(&m, 443);
    be16(&m, 51000);
    feed(IPPROTO_ICMPV6, &m);
    cr_expect_str_eq(json(), "{\"type\":2,\"code\":0,\"type_codes\":[[2,0]],\"quoted\":["
                             "{\"src\":\"2001:db8::1\",\"dst\":\"2001:db8::2\",\"proto\":6,"
                             "\"sport\":443,\"dport\":51000}],\"messages\":1,\"truncated\":0}");
}

Test(icmp, v4_types_are_not_v6_types)
{
    struct msg m;
    head(&m, 1, 0, 0, 0); /* ICMPv4 type 1 is unassigned: no quote read */
    ipv4(&m, IPPROTO_UDP, 0);
    feed(IPPROTO_ICMP, &m);
    head(&m, 128, 0, 7, 9); /* type 128 is no echo in ICMPv4 */
    feed(IPPROTO_ICMP, &m);
    cr_expect_str_eq(json(), "{\"type\":1,\"code\":0,\"type_codes\":[[1,0],[128,0]],"
                             "\"messages\":2,\"truncated\":0}");
}

Test(icmp, neighbour_discovery_target)
{
    struct msg m;
    head(&m, 135, 0, 0, 0); /* solicitation: 4 reserved bytes, then the target */
    ipv6(&m, 0);            /* borrow its source address as the target: 2001:db8::1 */
    memmove(m.b + 8, m.b + 16, 16);
    m.n = 24;
    feed(IPPROTO_ICMPV6, &m);
    m.b[0] = 136; /* advertisement of another target: the first stays */
    m.b[23] = 9;
    feed(IPPROTO_ICMPV6, &m);
    m.n = 20; /* a cut one */
    feed(IPPROTO_ICMPV6, &m);
    cr_expect_str_eq(json(), "{\"type\":135,\"code\":0,\"type_codes\":[[135,0],[136,0]],"
                             "\"nd_target\":\"2001:db8::1\",\"messages\":3,\"truncated\":1}");
}

/* A prefix information option: length 4 (32 bytes), prefix length plen,
 * 2001:db8:<g3>::. */
static void prefix_opt(struct msg *m, uint8_t plen, uint8_t g3)
{
    uint8_t o[32] = {3, 4, plen, 0xc0};
    o[16] = 0x20, o[17] = 0x01, o[18] = 0x0d, o[19] = 0xb8, o[21] = g3;
    put(m, o, 32);
}

Test(icmp, router_advertisement_prefixes)
{
    struct msg m;
    head(&m, 134, 0, 0x4000, 1800);                 /* hop limit 64, lifetime 1800 */
    put(&m, "\0\0\0\0\0\0\0\0", 8);                 /* reachable time, retrans timer */
    put(&m, "\x01\x01\x02\x00\x00\x00\x00\x01", 8); /* source link-layer address */
    prefix_opt(&m, 64, 1);
    prefix_opt(&m, 48, 2);
    feed(IPPROTO_ICMPV6, &m);
    m.n = 16 + 8 + 32; /* again with only the first prefix: nothing new */
    feed(IPPROTO_ICMPV6, &m);
    put(&m, "\x19\x00", 2); /* an option of length 0 ends the walk */
    feed(IPPROTO_ICMPV6, &m);
    cr_expect_str_eq(json(), "{\"type\":134,\"code\":0,\"type_codes\":[[134,0]],"
                             "\"prefixes\":[\"2001:db8:1::/64\",\"2001:db8:2::/48\"],"
                             "\"messages\":3,\"truncated\":1}");
}

Test(icmp, prefixes_and_types_are_bounded)
{
    struct msg m;
    head(&m, 134, 0, 0, 0);
    put(&m, "\0\0\0\0\0\0\0\0", 8);
    for (uint8_t i = 1; i <= 5; i++) /* 5 prefixes, 4 kept */
        prefix_opt(&m, 64, i);
    feed(IPPROTO_ICMPV6, &m);
    for (uint8_t t = 140; t < 157; t++) { /* 17 new pairs after (134, 0): 15 fit in 16 */
        head(&m, t, 0, 0, 0);
        feed(IPPROTO_ICMPV6, &m);
    }
    const char *j = json();
    cr_expect(strstr(j, "\"2001:db8:4::/64\"]") != NULL, "%s", j);
    cr_expect(strstr(j, "[154,0]]") != NULL, "%s", j); /* 134, then 140..154 */
    cr_expect_eq(counters[CAPPED], 1 + 2);
    cr_expect_eq(counters[MESSAGES], 18);
}

Test(icmp, too_short_for_a_header)
{
    struct msg m = {{8, 0, 0}, 3};
    feed(IPPROTO_ICMP, &m);
    cr_expect_str_eq(json(), "");
    cr_expect_eq(counters[MESSAGES], 0);
    cr_expect_eq(counters[TRUNCATED], 1);
    head(&m, 0, 0, 0, 0);
    m.n = 6; /* an echo reply without its sequence number */
    feed(IPPROTO_ICMP, &m);
    cr_expect_str_eq(json(), "{\"type\":0,\"code\":0,\"type_codes\":[[0,0]],"
                             "\"messages\":1,\"truncated\":2}");
}

Test(icmp, row_takes_icmp_only)
{
    cr_expect(wkp_dis_takes(D, IPPROTO_ICMP));
    cr_expect(wkp_dis_takes(D, IPPROTO_ICMPV6));
    cr_expect(!wkp_dis_takes(D, IPPROTO_TCP));
    cr_expect(!wkp_dis_takes(D, IPPROTO_UDP));
    cr_expect_null(D->ext_protocol);
}
