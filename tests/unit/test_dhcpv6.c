/* The DHCPv6 dissector (dissectors/dhcpv6.c), called directly: hand-built
 * messages in, the flow's JSON and the counters out. Every expected value
 * is worked out by hand from the bytes built here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "tests/unit/dis_harness.h"

extern const struct wkp_dissector wkp_dissector_dhcpv6;
static const struct wkp_dissector *D = &wkp_dissector_dhcpv6;

/* counters, in the order of counter_names */
enum { MESSAGES, RELAYED, TRUNCATED, CAPPED };

static void setup(void)
{
    dis_setup(D);
}

static void teardown(void)
{
    dis_teardown(D);
}

TestSuite(dhcpv6, .init = setup, .fini = teardown);

struct msg {
    uint8_t b[2048];
    uint32_t n;
};

static void put(struct msg *m, const void *p, uint32_t n)
{
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void u16(struct msg *m, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(m, b, 2);
}

static void opt(struct msg *m, uint16_t code, const void *v, uint16_t len)
{
    u16(m, code);
    u16(m, len);
    put(m, v, len);
}

static void hdr(struct msg *m, uint8_t type, uint32_t xid)
{
    m->n = 0;
    uint8_t b[4] = {type, (uint8_t)(xid >> 16), (uint8_t)(xid >> 8), (uint8_t)xid};
    put(m, b, 4);
}

/* 2001:db8::<last> */
static void addr(uint8_t a[16], uint8_t last)
{
    memset(a, 0, 16);
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = last;
}

/* IA_NA (IAID 1, T1, T2) holding one IAADDR (address, lifetimes). */
static void ia_na(struct msg *m, uint8_t last)
{
    uint8_t ia[12 + 4 + 24] = {0, 0, 0, 1};
    ia[12] = 0;
    ia[13] = 5; /* IAADDR */
    ia[14] = 0;
    ia[15] = 24;
    addr(ia + 16, last);
    opt(m, 3, ia, sizeof ia);
}

/* IA_PD holding one IAPREFIX: lifetimes, prefix length, prefix. */
static void ia_pd(struct msg *m, uint8_t plen, uint8_t last)
{
    uint8_t ia[12 + 4 + 25] = {0, 0, 0, 2};
    ia[13] = 26;
    ia[15] = 25;
    ia[16 + 8] = plen;
    addr(ia + 16 + 9, last);
    opt(m, 25, ia, sizeof ia);
}

static void feed(const uint8_t *b, uint32_t n)
{
    struct wkp_dis_pkt p = {.proto = IPPROTO_UDP, .payload = b, .payload_len = n};
    struct wkp_cur c = {.p = b, .len = n};
    cr_assert_eq(D->parse(ctx, state, &p, &c), WKP_DIS_MORE);
}

static const char *json(void)
{
    out.len = 0;
    D->write(state, &out);
    wkp_buf_putc(&out, '\0');
    return out.p;
}

/* Solicit 0x123456: client DUID-LL (type 3, hardware 1, 02:00:00:00:00:01),
 * option request 23 24, an elapsed time (not read), IA_NA with
 * 2001:db8::5, FQDN flags 1 "host.example." (4host7example0: fully qualified). */
static void build_solicit(struct msg *m)
{
    hdr(m, 1, 0x123456);
    opt(m, 1, "\x00\x03\x00\x01\x02\x00\x00\x00\x00\x01", 10);
    opt(m, 6, "\x00\x17\x00\x18", 4);
    opt(m, 8, "\x00\x00", 2);
    ia_na(m, 5);
    opt(m, 39,
        "\x01\x04host\x07"
        "example\x00",
        15);
}

#define SOLICIT_JSON                                                                               \
    "{\"message_type\":1,\"message_types\":[1],\"transaction_id\":1193046,"                        \
    "\"client_duid_type\":3,\"client_duid\":\"00030001020000000001\","                             \
    "\"addresses\":[\"2001:db8::5\"],\"prefixes\":[],\"option_request\":[23,24],"                  \
    "\"fqdn_flags\":1,\"fqdn\":\"host.example.\",\"messages\":1,\"relayed\":0,\"truncated\":0}"

Test(dhcpv6, solicit_options)
{
    struct msg m;
    build_solicit(&m);
    cr_assert_eq(m.n, 4 + 14 + 8 + 6 + (4 + 40) + 19);
    feed(m.b, m.n);
    cr_assert_str_eq(json(), SOLICIT_JSON);
    cr_assert_eq(counters[MESSAGES], 1);
    cr_assert_eq(counters[TRUNCATED] + counters[RELAYED] + counters[CAPPED], 0);
    cr_assert_null(D->ext_protocol, "DHCPv6 is never in ext_protocol");
}

/* Wrap m in a Relay-forward (12) or Relay-reply (13): hop count, link and
 * peer addresses, an interface-id option, then the Relay Message option. */
static void relay(struct msg *m, uint8_t type)
{
    struct msg r;
    r.n = 0;
    uint8_t h[34] = {type, 0};
    put(&r, h, sizeof h);
    opt(&r, 18, "eth0", 4);
    opt(&r, 9, m->b, (uint16_t)m->n);
    *m = r;
}

Test(dhcpv6, relay_forward_is_unwrapped)
{
    struct msg m;
    build_solicit(&m);
    relay(&m, 12);
    feed(m.b, m.n);
    /* the inner message's fields; relayed counts the datagram */
    cr_assert_str_eq(json(), "{\"message_type\":1,\"message_types\":[1],\"transaction_id\":1193046,"
                             "\"client_duid_type\":3,\"client_duid\":\"00030001020000000001\","
                             "\"addresses\":[\"2001:db8::5\"],\"prefixes\":[],"
                             "\"option_request\":[23,24],\"fqdn_flags\":1,"
                             "\"fqdn\":\"host.example.\",\"messages\":1,\"relayed\":1,"
                             "\"truncated\":0}");
    cr_assert_eq(counters[RELAYED], 1);
}

/* Relays nest up to 8 deep; a ninth is not followed (counted truncated). */
Test(dhcpv6, nested_relays_up_to_eight)
{
    struct msg m;
    hdr(&m, 7, 0xabcdef); /* Reply */
    for (int i = 0; i < 8; i++)
        relay(&m, 13);
    feed(m.b, m.n);
    cr_assert_eq(counters[MESSAGES], 1);
    cr_assert(strstr(json(), "\"message_type\":7,\"message_types\":[7],"
                             "\"transaction_id\":11259375,"));
    relay(&m, 13);
    feed(m.b, m.n);
    cr_assert_eq(counters[MESSAGES], 1);
    cr_assert_eq(counters[TRUNCATED], 1);
    cr_assert_eq(counters[RELAYED], 2);
}

Test(dhcpv6, relay_without_a_relay_message)
{
    struct msg m;
    m.n = 0;
    uint8_t h[34] = {12, 0};
    put(&m, h, sizeof h);
    opt(&m, 18, "eth0", 4);
    feed(m.b, m.n);
    cr_assert_str_eq(json(), "");
    cr_assert_eq(counters[TRUNCATED], 1);
    cr_assert_eq(counters[MESSAGES], 0);
}

/* Cut the solicit at every length: under 4 bytes no message; from 4 on the
 * message counts and options wholly inside the cut are read. Option ends:
 * client id at 18, ORO 26, elapsed 32, IA_NA 76, FQDN 95. */
Test(dhcpv6, truncated_at_every_length)
{
    struct msg m;
    build_solicit(&m);
    static const uint32_t ends[] = {4, 18, 26, 32, 76, 95};
    for (uint32_t n = 0; n < m.n; n++) {
        teardown();
        setup();
        feed(m.b, n);
        const char *j = json();
        if (n < 4) {
            cr_assert_str_eq(j, "", "cut at %u", n);
            cr_assert_eq(counters[TRUNCATED], n ? 1u : 0u, "cut at %u", n);
            continue;
        }
        bool boundary = false;
        for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
            boundary |= ends[i] == n;
        cr_assert_eq(counters[MESSAGES], 1, "cut at %u", n);
        cr_assert_eq(counters[TRUNCATED], boundary ? 0u : 1u, "cut at %u", n);
        cr_assert_eq(strstr(j, "\"client_duid\"") != NULL, n >= 18, "cut at %u", n);
        cr_assert_eq(strstr(j, "\"option_request\":[23,24]") != NULL, n >= 26, "cut at %u", n);
        cr_assert_eq(strstr(j, "\"addresses\":[\"2001:db8::5\"]") != NULL, n >= 76, "cut at %u", n);
        cr_assert_eq(strstr(j, "\"fqdn\":\"host.example.\"") != NULL, n >= 95, "cut at %u", n);
    }
}

/* Solicit, Advertise, Request, Reply: first message type and id; client
 * DUID from the Solicit, server DUID (DUID-LLT, type 1) from the
 * Advertise; addresses and prefixes gathered once each in order. */
Test(dhcpv6, merged_over_an_exchange)
{
    struct msg m;
    build_solicit(&m);
    feed(m.b, m.n);
    static const char srv[] = "\x00\x01\x00\x01\x11\x22\x33\x44\x02\x00\x00\x00\x00\x02";
    hdr(&m, 2, 0x123456);
    opt(&m, 2, srv, 14);
    ia_na(&m, 5);
    ia_na(&m, 6);
    ia_pd(&m, 56, 0);
    feed(m.b, m.n);
    hdr(&m, 3, 0x222222);
    opt(&m, 1, "\x00\x03\x00\x01\x02\x00\x00\x00\x00\x09", 10); /* not kept: one is */
    opt(&m, 2, srv, 14);
    ia_pd(&m, 56, 0);
    ia_pd(&m, 64, 0);
    feed(m.b, m.n);
    hdr(&m, 7, 0x222222);
    ia_na(&m, 6);
    feed(m.b, m.n);
    cr_assert_str_eq(json(),
                     "{\"message_type\":1,\"message_types\":[1,2,3,7],"
                     "\"transaction_id\":1193046,"
                     "\"client_duid_type\":3,\"client_duid\":\"00030001020000000001\","
                     "\"server_duid_type\":1,\"server_duid\":\"0001000111223344020000000002\","
                     "\"addresses\":[\"2001:db8::5\",\"2001:db8::6\"],"
                     "\"prefixes\":[\"2001:db8::/56\",\"2001:db8::/64\"],"
                     "\"option_request\":[23,24],\"fqdn_flags\":1,"
                     "\"fqdn\":\"host.example.\",\"messages\":4,\"relayed\":0,"
                     "\"truncated\":0}");
}

/* At most 32 addresses and prefixes together; the rest count as capped. */
Test(dhcpv6, lease_cap)
{
    struct msg m;
    hdr(&m, 7, 1);
    for (int i = 0; i < 40; i++)
        ia_na(&m, (uint8_t)(i + 1));
    feed(m.b, m.n);
    cr_assert_eq(counters[CAPPED], 8);
    const char *j = json();
    cr_assert(strstr(j, "\"2001:db8::20\"],"), "%s", j); /* the 32nd: 0x20 */
    cr_assert_null(strstr(j, "\"2001:db8::21\""), "%s", j);
}

/* A partial FQDN (no final 0, RFC 4704 4.2) keeps its labels; a label
 * running past the option ends the name. */
Test(dhcpv6, partial_fqdn)
{
    struct msg m;
    hdr(&m, 1, 1);
    opt(&m, 39, "\x00\x04host\x09trunc", 12);
    feed(m.b, m.n);
    const char *j = json();
    cr_assert(strstr(j, "\"fqdn_flags\":0,\"fqdn\":\"host\","), "%s", j);
    cr_assert_eq(counters[TRUNCATED], 0);
}
