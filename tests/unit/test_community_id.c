/* Unit tests for wkp_community_id() against published Community ID v1
 * vectors. Sources, cited per test:
 *   [README]   corelight/community-id-spec, baseline/README.md, the
 *              "Default settings" and "A custom seed=1 value" tables;
 *   [JSON]     corelight/community-id-spec, baseline/baseline_deflt.json
 *              (pycommunityid's community-id-pcap on pcaps/combined.pcap.gz;
 *              its ICMP sport/dport are the type and the mapped port);
 *   [PYTEST]   corelight/pycommunityid, tests/communityid_test.py (the
 *              three columns are seed 0, seed 0 hex, seed 1). */
#include "features/community_id.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

/* Community ID of a tuple given as text; family from the address text. */
static void cid(const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t proto,
                uint16_t seed, char out[WKP_COMMUNITY_ID_MAX])
{
    uint8_t s[16] = {0}, d[16] = {0};
    uint8_t family = strchr(src, ':') ? 6 : 4;
    int af = family == 6 ? AF_INET6 : AF_INET;
    cr_assert_eq(inet_pton(af, src, s), 1, "%s", src);
    cr_assert_eq(inet_pton(af, dst, d), 1, "%s", dst);
    memset(out, 'x', WKP_COMMUNITY_ID_MAX);
    wkp_community_id(family, s, d, sport, dport, proto, seed, out);
}

/* Asserts the ID of the tuple as given (callers list both directions). */
static void check(const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t proto,
                  uint16_t seed, const char *want)
{
    char out[WKP_COMMUNITY_ID_MAX];
    cid(src, dst, sport, dport, proto, seed, out);
    cr_assert_str_eq(out, want, "%s %u -> %s %u proto %u seed %u", src, sport, dst, dport, proto,
                     seed);
}

Test(community_id, tcp_ipv4_both_directions)
{
    /* [README] TCP 1.2.3.4:1122 <-> 5.6.7.8:3344. */
    check("1.2.3.4", "5.6.7.8", 1122, 3344, 6, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    check("5.6.7.8", "1.2.3.4", 3344, 1122, 6, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    /* [PYTEST] test_tcp; [JSON] the same tuple. */
    check("128.232.110.120", "66.35.250.204", 34855, 80, 6, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    check("66.35.250.204", "128.232.110.120", 80, 34855, 6, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    /* [PYTEST] pycommunityid issue #3: the addresses order the tuple, the
     * ports (10 < 11569 either way) do not. */
    check("10.0.0.1", "10.0.0.2", 10, 11569, 6, 0, "1:SXBGMX1lBOwhhoDrZynfROxnhnM=");
    check("10.0.0.2", "10.0.0.1", 11569, 10, 6, 0, "1:SXBGMX1lBOwhhoDrZynfROxnhnM=");
}

Test(community_id, udp_ipv4)
{
    /* [README] */
    check("1.2.3.4", "5.6.7.8", 1122, 3344, 17, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=");
    check("5.6.7.8", "1.2.3.4", 3344, 1122, 17, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=");
    /* [PYTEST] test_udp; [JSON] */
    check("192.168.1.52", "8.8.8.8", 54585, 53, 17, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    check("8.8.8.8", "192.168.1.52", 53, 54585, 17, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
}

Test(community_id, sctp_ipv4)
{
    /* [README] */
    check("1.2.3.4", "5.6.7.8", 1122, 3344, 132, 0, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=");
    check("5.6.7.8", "1.2.3.4", 3344, 1122, 132, 0, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=");
    /* [PYTEST] test_sctp. */
    check("192.168.170.8", "192.168.170.56", 7, 80, 132, 0, "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=");
    check("192.168.170.56", "192.168.170.8", 80, 7, 132, 0, "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=");
    /* [JSON] 192.168.170.56:7 -> 192.168.170.8:7 (equal ports). */
    check("192.168.170.56", "192.168.170.8", 7, 7, 132, 0, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=");
}

Test(community_id, tcp_ipv6)
{
    /* [JSON] 2001:470:e5bf:dead:4957:2174:e82c:4887:63943 <-> [2607:f8b0:400c:c03::1a]:25. */
    check("2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, 6, 0,
          "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
    check("2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 6, 0,
          "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
}

Test(community_id, icmp_echo_request_and_reply_match)
{
    /* [README] echo request 8/0 and reply 0/0. */
    check("1.2.3.4", "5.6.7.8", 8, 0, 1, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
    check("5.6.7.8", "1.2.3.4", 0, 0, 1, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
    /* [PYTEST] test_icmp: a reply's code is ignored (type 0, code 8 or 20). */
    check("192.168.0.89", "192.168.0.1", 8, 0, 1, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    check("192.168.0.1", "192.168.0.89", 0, 8, 1, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    check("192.168.0.1", "192.168.0.89", 0, 20, 1, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
}

Test(community_id, icmp_one_way_types_keep_order_and_code)
{
    /* [README] time exceeded (11/0): one-way. */
    check("1.2.3.4", "5.6.7.8", 11, 0, 1, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=");
    /* [PYTEST] type 20 is one-way: its code is hashed, so 20/0 and 20/1 differ. */
    check("192.168.0.89", "192.168.0.1", 20, 0, 1, 0, "1:3o2RFccXzUgjl7zDpqmY7yJi8rI=");
    check("192.168.0.89", "192.168.0.1", 20, 1, 1, 0, "1:tz/fHIDUHs19NkixVVoOZywde+I=");
    /* One-way: the reverse tuple is a different ID (not reordered). */
    char out[WKP_COMMUNITY_ID_MAX];
    cid("5.6.7.8", "1.2.3.4", 11, 0, 1, 0, out);
    cr_assert_str_neq(out, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=");
}

Test(community_id, icmpv6)
{
    const char *a = "fe80:0001:0203:0405:0607:0809:0A0B:0C0D";
    const char *b = "fe80:1011:1213:1415:1617:1819:1A1B:1C1D";
    /* [README] echo request 128 and reply 129; one-way 146. */
    check(a, b, 128, 0, 58, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=");
    check(b, a, 129, 0, 58, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=");
    check(a, b, 146, 0, 58, 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10=");
    /* [PYTEST] test_icmp6; [JSON]: neighbor solicitation 135 / advertisement 136. */
    check("fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0, 58, 0,
          "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
    check("fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0, 58, 0,
          "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
    /* [PYTEST] destination unreachable (3) is one-way: each direction its own ID. */
    check("3ffe:507:0:1:260:97ff:fe07:69ea", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, 58, 0,
          "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=");
    check("3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:507:0:1:260:97ff:fe07:69ea", 3, 0, 58, 0,
          "1:/OGBt9BN1ofenrmSPWYicpij2Vc=");
    /* [JSON] router solicitation 133 to ff02::2; echo 128/129. */
    check("fe80::200:86ff:fe05:80da", "ff02::2", 133, 0, 58, 0, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=");
    check("fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0, 58, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00=");
    check("3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0, 58, 0,
          "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=");
    check("3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0, 58, 0,
          "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=");
}

Test(community_id, protocol_without_ports)
{
    /* [README] RSVP (46), IPv4 and IPv6: no ports in the hash, whatever
     * the caller passes. */
    check("1.2.3.4", "5.6.7.8", 0, 0, 46, 0, "1:ikv3kmf89luf73WPz1jOs49S768=");
    check("5.6.7.8", "1.2.3.4", 0, 0, 46, 0, "1:ikv3kmf89luf73WPz1jOs49S768=");
    check("5.6.7.8", "1.2.3.4", 1234, 80, 46, 0, "1:ikv3kmf89luf73WPz1jOs49S768=");
    check("fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0,
          0, 46, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=");
    check("fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 0,
          0, 46, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=");
    /* [PYTEST] test_ip. */
    check("10.1.24.4", "10.1.12.1", 0, 0, 46, 0, "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=");
    check("10.1.12.1", "10.1.24.4", 0, 0, 46, 0, "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=");
}

Test(community_id, seed_one)
{
    /* [README] seed=1 table. */
    check("1.2.3.4", "5.6.7.8", 1122, 3344, 6, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
    check("5.6.7.8", "1.2.3.4", 3344, 1122, 6, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
    check("1.2.3.4", "5.6.7.8", 1122, 3344, 17, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=");
    check("1.2.3.4", "5.6.7.8", 1122, 3344, 132, 1, "1:uitchpn5MMGAQKBJh7bIr/bAr7s=");
    check("5.6.7.8", "1.2.3.4", 0, 0, 1, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=");
    check("1.2.3.4", "5.6.7.8", 11, 0, 1, 1, "1:1DD7cWGC/Yg91YGsQeni8du3pIA=");
    check("fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 129,
          0, 58, 1, "1:IO27GQzPuCtNnwFvjWALMHu5tJE=");
    check("fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 146,
          0, 58, 1, "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s=");
    check("1.2.3.4", "5.6.7.8", 0, 0, 46, 1, "1:/buhqeOmaRCopOZFy9HnoJd5XW8=");
    check("fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0,
          0, 46, 1, "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=");
    /* [PYTEST] seed-1 column of test_icmp and test_ip. */
    check("192.168.0.89", "192.168.0.1", 8, 0, 1, 1, "1:03g6IloqVBdcZlPyX8r0hgoE7kA=");
    check("10.1.24.4", "10.1.12.1", 0, 0, 46, 1, "1:BK3BVW3U2eemuwVQVN3zd/GULno=");
}

Test(community_id, equal_addresses_order_by_port)
{
    /* Spec: "If the IP addresses are equal, the ports decide": loopback in
     * both directions gives one ID. (No published vector: symmetry only.) */
    char x[WKP_COMMUNITY_ID_MAX], y[WKP_COMMUNITY_ID_MAX];
    cid("127.0.0.1", "127.0.0.1", 40000, 80, 6, 0, x);
    cid("127.0.0.1", "127.0.0.1", 80, 40000, 6, 0, y);
    cr_assert_str_eq(x, y);
    cid("127.0.0.1", "127.0.0.1", 40000, 81, 6, 0, y);
    cr_assert_str_neq(x, y);
}

Test(community_id, output_shape_and_bad_family)
{
    char out[WKP_COMMUNITY_ID_MAX];
    cid("1.2.3.4", "5.6.7.8", 1, 2, 6, 0, out);
    /* "1:" + 28 base64 characters ending in one '=' (20 bytes). */
    cr_assert_eq(strlen(out), 30);
    cr_assert_eq(out[29], '=');
    static const uint8_t a[16] = {1}, b[16] = {2};
    memset(out, 'x', sizeof out);
    wkp_community_id(5, a, b, 1, 2, 6, 0, out);
    cr_assert_str_eq(out, "");
}
