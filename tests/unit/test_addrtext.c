/* The address text (util/addrtext.c: the records, DNS answers, DHCPv6,
 * ICMP and user-protocol addresses, a tunnel's outer addresses) must be
 * what inet_ntop() writes: compared with glibc's inet_ntop on hand-picked
 * addresses (zero runs at each end and in the middle, ties between runs,
 * the embedded IPv4 forms) and on a million addresses whose groups are
 * zero with probability one half, so every zero-run pattern occurs. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "util/addrtext.h"

static void check(const uint8_t *a, int family)
{
    char want[INET6_ADDRSTRLEN], got[46];
    cr_assert_not_null(inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, want, sizeof want));
    cr_assert_eq(wkp_addr_text(a, family, got), got);
    cr_assert_str_eq(got, want);
    char put[WKP_ADDR_TEXT_MAX];
    cr_assert_eq(wkp_addr_put(put, a, family), put + strlen(want));
    cr_assert_str_eq(put, want);
}

static void check6(const char *text)
{
    uint8_t a[16];
    cr_assert_eq(inet_pton(AF_INET6, text, a), 1, "%s", text);
    check(a, 6);
}

Test(addrtext, matches_inet_ntop_on_chosen_addresses)
{
    const char *v6[] = {"::",
                        "::1",
                        "1::",
                        "1:2:3:4:5:6:7:8",
                        "1:0:2:3:4:5:6:7",
                        "1:0:0:2:0:0:0:3",
                        "1:0:0:2:0:0:3:4",
                        "0:0:1:0:0:2:3:4",
                        "2001:db8::ff00:42:8329",
                        "::ffff:192.0.2.1",
                        "::192.0.2.1",
                        "::ffff:0:192.0.2.1",
                        "::1:0:0:0:1",
                        "fe80::abcd:ef01:2345:6789",
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                        "0:0:0:0:0:1:0:0",
                        "::ffff:0.0.0.0",
                        "10:200::f"};
    for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++)
        check6(v6[i]);
    const uint8_t v4[][4] = {{0, 0, 0, 0}, {255, 255, 255, 255}, {10, 0, 9, 100}, {1, 22, 133, 4}};
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++)
        check(v4[i], 4);
}

Test(addrtext, matches_inet_ntop_on_random_addresses)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int n = 0; n < 1000000; n++) {
        uint8_t a[16];
        for (int g = 0; g < 8; g++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            /* half the groups zero; the rest 1 to 4 hex digits long */
            uint16_t v =
                (x & 1) ? 0 : (uint16_t)((x >> 8) & (0xfffu >> (x >> 1 & 3) * 4 << 4 | 0xf));
            a[2 * g] = (uint8_t)(v >> 8);
            a[2 * g + 1] = (uint8_t)v;
        }
        check(a, 6);
        check(a, 4);
    }
}
