/* The DHCP dissector (dissectors/dhcp.c), called directly: hand-built
 * messages in, the flow's JSON and the counters out. Every expected value
 * is worked out by hand from the bytes built here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "tests/unit/dis_harness.h"

extern const struct wkp_dissector wkp_dissector_dhcp;
static const struct wkp_dissector *D = &wkp_dissector_dhcp;

/* counters, in the order of counter_names */
enum { MESSAGES, NO_COOKIE, TRUNCATED, CAPPED };

static void setup(void)
{
    dis_setup(D);
}

static void teardown(void)
{
    dis_teardown(D);
}

TestSuite(dhcp, .init = setup, .fini = teardown);

struct msg {
    uint8_t b[1024];
    uint32_t n;
};

/* The fixed header (236 bytes) and the cookie: op, xid, the four
 * addresses (host order), chaddr 02:00:00:00:00:<mac>. */
static void hdr(struct msg *m, uint8_t op, uint32_t xid, const uint32_t addr[4], uint8_t mac,
                bool cookie)
{
    memset(m->b, 0, sizeof m->b);
    m->b[0] = op;
    m->b[1] = 1; /* htype Ethernet */
    m->b[2] = 6; /* hlen */
    for (int i = 0; i < 4; i++)
        m->b[4 + i] = (uint8_t)(xid >> (24 - 8 * i));
    for (int a = 0; a < 4; a++)
        for (int i = 0; i < 4; i++)
            m->b[12 + 4 * a + i] = (uint8_t)(addr[a] >> (24 - 8 * i));
    m->b[28] = 0x02;
    m->b[33] = mac;
    static const uint8_t ck[4] = {99, 130, 83, 99};
    memcpy(m->b + 236, ck, 4);
    if (!cookie)
        m->b[239] = 0;
    m->n = 240;
}

static void opt(struct msg *m, uint8_t code, const void *v, uint8_t len)
{
    m->b[m->n++] = code;
    m->b[m->n++] = len;
    memcpy(m->b + m->n, v, len);
    m->n += len;
}

static void end(struct msg *m)
{
    m->b[m->n++] = 255;
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

/* A Request from a client: type 3, requested 192.0.2.10, server 192.0.2.1,
 * host name "pc1" with a NUL after it, vendor class "MSFT 5.0", client id
 * 01 02 00 00 00 00 07, parameter list 1 3 6 15, relay agent info (one
 * sub-option), a pad between two options. */
static void build_request(struct msg *m)
{
    static const uint32_t a[4] = {0, 0, 0, 0};
    hdr(m, 1, 0xdeadbeef, a, 7, true);
    opt(m, 53, "\x03", 1);
    opt(m, 50, "\xc0\x00\x02\x0a", 4);
    m->b[m->n++] = 0; /* pad */
    opt(m, 54, "\xc0\x00\x02\x01", 4);
    opt(m, 12, "pc1\0", 4);
    opt(m, 60, "MSFT 5.0", 8);
    opt(m, 61, "\x01\x02\x00\x00\x00\x00\x07", 7);
    opt(m, 55, "\x01\x03\x06\x0f", 4);
    opt(m, 82, "\x01\x02\xaa\xbb", 4);
    end(m);
}

#define REQUEST_JSON                                                                               \
    "{\"op\":1,\"xid\":3735928559,\"message_type\":3,\"message_types\":[3],"                       \
    "\"client_mac\":\"02:00:00:00:00:07\",\"ciaddr\":\"0.0.0.0\",\"yiaddr\":\"0.0.0.0\","          \
    "\"siaddr\":\"0.0.0.0\",\"giaddr\":\"0.0.0.0\",\"requested_ip\":\"192.0.2.10\","               \
    "\"server_id\":\"192.0.2.1\",\"hostname\":\"pc1\",\"vendor_class\":\"MSFT 5.0\","              \
    "\"client_id\":\"01020000000007\",\"parameter_request_list\":[1,3,6,15],"                      \
    "\"relay_agent_info\":true,\"messages\":1,\"truncated\":0,\"no_cookie\":0}"

Test(dhcp, request_options)
{
    struct msg m;
    build_request(&m);
    cr_assert_eq(m.n, 240 + 3 + 6 + 1 + 6 + 6 + 10 + 9 + 6 + 6 + 1);
    feed(m.b, m.n);
    cr_assert_str_eq(json(), REQUEST_JSON);
    cr_assert_eq(counters[MESSAGES], 1);
    cr_assert_eq(counters[TRUNCATED] + counters[NO_COOKIE] + counters[CAPPED], 0);
    cr_assert_null(D->ext_protocol, "DHCP is never in ext_protocol");
}

Test(dhcp, without_the_cookie_is_counted_and_not_read)
{
    struct msg m;
    static const uint32_t a[4] = {0, 0x0a000001, 0, 0};
    hdr(&m, 2, 1, a, 1, false);
    opt(&m, 53, "\x02", 1);
    end(&m);
    feed(m.b, m.n);
    cr_assert_str_eq(json(), "");
    cr_assert_eq(counters[NO_COOKIE], 1);
    cr_assert_eq(counters[MESSAGES], 0);
    /* a later message with the cookie is read, and the count is kept */
    hdr(&m, 2, 5, a, 1, true);
    end(&m);
    feed(m.b, m.n);
    cr_assert_str_eq(json(),
                     "{\"op\":2,\"xid\":5,\"message_types\":[],"
                     "\"client_mac\":\"02:00:00:00:00:01\",\"ciaddr\":\"0.0.0.0\","
                     "\"yiaddr\":\"10.0.0.1\",\"siaddr\":\"0.0.0.0\",\"giaddr\":\"0.0.0.0\","
                     "\"relay_agent_info\":false,\"messages\":1,\"truncated\":0,"
                     "\"no_cookie\":1}");
}

/* Cut the request at every length: under 240 bytes nothing is read (the
 * header or the cookie is missing); from 240 on, the options wholly inside
 * the cut are read and the one it splits counts the message truncated.
 * Option ends (offsets after each): 53 at 243, 50 at 249, pad 250, 54 at
 * 256, 12 at 262, 60 at 272, 61 at 281, 55 at 287, 82 at 293, end 294. */
Test(dhcp, truncated_at_every_length)
{
    struct msg m;
    build_request(&m);
    static const uint32_t ends[] = {240, 243, 249, 250, 256, 262, 272, 281, 287, 293, 294};
    for (uint32_t n = 0; n < m.n; n++) {
        teardown();
        setup();
        feed(m.b, n);
        const char *j = json();
        if (n < 240) {
            cr_assert_str_eq(j, "", "cut at %u", n);
            cr_assert_eq(counters[TRUNCATED], 1, "cut at %u", n);
            cr_assert_eq(counters[MESSAGES], 0);
            continue;
        }
        bool boundary = false;
        for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
            boundary |= ends[i] == n;
        cr_assert_eq(counters[MESSAGES], 1, "cut at %u", n);
        cr_assert_eq(counters[TRUNCATED], boundary ? 0u : 1u, "cut at %u", n);
        cr_assert_eq(strstr(j, "\"message_type\":3") != NULL, n >= 243, "cut at %u", n);
        cr_assert_eq(strstr(j, "\"hostname\":\"pc1\"") != NULL, n >= 262, "cut at %u", n);
        cr_assert_eq(strstr(j, "\"parameter_request_list\":[1,3,6,15]") != NULL, n >= 287,
                     "cut at %u", n);
        cr_assert_eq(strstr(j, "\"relay_agent_info\":true") != NULL, n >= 293, "cut at %u", n);
    }
}

/* Discover, Offer, Request, Ack of one flow: op, xid and MAC from the
 * Discover; yiaddr from the Offer (the Discover's is 0.0.0.0), siaddr from
 * the Offer, giaddr never set; options from the first message holding
 * them; every message type in order. */
Test(dhcp, merged_over_an_exchange)
{
    struct msg m;
    static const uint32_t none[4] = {0, 0, 0, 0};
    static const uint32_t offer[4] = {0, 0xc0000264, 0xc0000201, 0};        /* .100, .1 */
    static const uint32_t ack[4] = {0xc0000265, 0xc0000266, 0xc0000202, 0}; /* .101 .102 .2 */
    hdr(&m, 1, 42, none, 9, true);
    opt(&m, 53, "\x01", 1);
    opt(&m, 12, "first", 5);
    end(&m);
    feed(m.b, m.n);
    hdr(&m, 2, 43, offer, 8, true);
    opt(&m, 53, "\x02", 1);
    opt(&m, 54, "\xc0\x00\x02\x01", 4);
    opt(&m, 51, "\x00\x00\x0e\x10", 4); /* 3600 */
    end(&m);
    feed(m.b, m.n);
    hdr(&m, 1, 44, none, 9, true);
    opt(&m, 53, "\x03", 1);
    opt(&m, 12, "second", 6);
    opt(&m, 50, "\xc0\x00\x02\x64", 4);
    end(&m);
    feed(m.b, m.n);
    hdr(&m, 2, 45, ack, 8, true);
    opt(&m, 53, "\x05", 1);
    opt(&m, 54, "\xc0\x00\x02\x02", 4);
    opt(&m, 51, "\x00\x00\x00\x3c", 4);
    end(&m);
    feed(m.b, m.n);
    cr_assert_str_eq(json(), "{\"op\":1,\"xid\":42,\"message_type\":1,\"message_types\":[1,2,3,5],"
                             "\"client_mac\":\"02:00:00:00:00:09\",\"ciaddr\":\"192.0.2.101\","
                             "\"yiaddr\":\"192.0.2.100\",\"siaddr\":\"192.0.2.1\","
                             "\"giaddr\":\"0.0.0.0\",\"requested_ip\":\"192.0.2.100\","
                             "\"server_id\":\"192.0.2.1\",\"lease_time\":3600,"
                             "\"hostname\":\"first\",\"relay_agent_info\":false,\"messages\":4,"
                             "\"truncated\":0,\"no_cookie\":0}");
    cr_assert_eq(counters[MESSAGES], 4);
}

/* Option 52 = 3: options continue in file (offset 108), then sname (44). */
Test(dhcp, overloaded_file_and_sname)
{
    struct msg m;
    static const uint32_t none[4] = {0, 0, 0, 0};
    hdr(&m, 1, 7, none, 1, true);
    opt(&m, 52, "\x03", 1);
    end(&m);
    memcpy(m.b + 108, "\x35\x01\x08\xff", 4); /* type 8 (Inform) */
    memcpy(m.b + 44, "\x0c\x02hi\xff", 5);    /* host name "hi" */
    feed(m.b, m.n);
    const char *j = json();
    cr_assert(strstr(j, "\"message_type\":8,\"message_types\":[8]"), "%s", j);
    cr_assert(strstr(j, "\"hostname\":\"hi\""), "%s", j);
}

/* The list keeps 32 types; a 33rd and later are counted as capped. A
 * message with two type options lists the first only. */
Test(dhcp, message_type_list_cap)
{
    struct msg m;
    static const uint32_t none[4] = {0, 0, 0, 0};
    hdr(&m, 1, 7, none, 1, true);
    opt(&m, 53, "\x01", 1);
    opt(&m, 53, "\x02", 1);
    end(&m);
    for (int i = 0; i < 40; i++)
        feed(m.b, m.n);
    const char *j = json();
    cr_assert(strstr(j, "\"message_types\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
                        "1,1,1,1,1,1],"),
              "%s", j);
    cr_assert_eq(counters[CAPPED], 8);
    cr_assert_eq(counters[MESSAGES], 40);
}

/* A host name with bytes that are not UTF-8 is written as \u00XX; a
 * zero-length option is stored as an empty value. */
Test(dhcp, wire_text_and_empty_values)
{
    struct msg m;
    static const uint32_t none[4] = {0, 0, 0, 0};
    hdr(&m, 1, 7, none, 1, true);
    opt(&m, 12, "caf\xe9", 4);
    opt(&m, 60, "", 0);
    opt(&m, 55, "", 0);
    end(&m);
    feed(m.b, m.n);
    const char *j = json();
    cr_assert(strstr(j, "\"hostname\":\"caf\\u00e9\",\"vendor_class\":\"\","
                        "\"parameter_request_list\":[],"),
              "%s", j);
}
