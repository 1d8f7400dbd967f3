/* Canonical flow key and symmetric hash. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "flowtable/key.h"

static struct wkp_l2l4 pkt4(const char *src, uint16_t sp, const char *dst, uint16_t dp,
                            uint8_t proto, uint16_t vlan)
{
    struct wkp_l2l4 m;
    memset(&m, 0, sizeof m);
    m.family = 4;
    m.proto = proto;
    m.vlan_id = vlan;
    cr_assert_eq(inet_pton(AF_INET, src, m.src), 1);
    cr_assert_eq(inet_pton(AF_INET, dst, m.dst), 1);
    m.sport = sp;
    m.dport = dp;
    return m;
}

static struct wkp_l2l4 pkt6(const char *src, uint16_t sp, const char *dst, uint16_t dp)
{
    struct wkp_l2l4 m;
    memset(&m, 0, sizeof m);
    m.family = 6;
    m.proto = 17;
    cr_assert_eq(inet_pton(AF_INET6, src, m.src), 1);
    cr_assert_eq(inet_pton(AF_INET6, dst, m.dst), 1);
    m.sport = sp;
    m.dport = dp;
    return m;
}

Test(key, both_directions_give_the_same_key_and_hash_ipv4)
{
    struct wkp_l2l4 up = pkt4("192.168.226.54", 8907, "111.13.142.55", 443, 6, 0);
    struct wkp_l2l4 down = pkt4("111.13.142.55", 443, "192.168.226.54", 8907, 6, 0);
    struct wkp_flow_key ku, kd;
    bool a1 = wkp_key_from_l2l4(&up, &ku);
    bool a2 = wkp_key_from_l2l4(&down, &kd);
    cr_assert(wkp_key_eq(&ku, &kd));
    cr_assert_eq(wkp_key_hash(&ku), wkp_key_hash(&kd));
    /* 111.13.142.55 < 192.168.226.54 bytewise (0x6f < 0xc0): the reply's
     * source is endpoint a, the request's is not. */
    cr_assert_eq(a1, false);
    cr_assert_eq(a2, true);
    cr_assert_eq(ku.pa, 443);
    cr_assert_eq(ku.pb, 8907);
}

Test(key, both_directions_give_the_same_key_and_hash_ipv6)
{
    struct wkp_l2l4 up = pkt6("2409:8c34:d00:901:2d::", 443, "fe80::1", 5353);
    struct wkp_l2l4 down = pkt6("fe80::1", 5353, "2409:8c34:d00:901:2d::", 443);
    struct wkp_flow_key ku, kd;
    cr_assert_neq(wkp_key_from_l2l4(&up, &ku), wkp_key_from_l2l4(&down, &kd));
    cr_assert(wkp_key_eq(&ku, &kd));
    cr_assert_eq(wkp_key_hash(&ku), wkp_key_hash(&kd));
}

Test(key, same_addresses_ordered_by_port)
{
    struct wkp_l2l4 x = pkt4("10.0.0.1", 5000, "10.0.0.1", 80, 6, 0);
    struct wkp_l2l4 y = pkt4("10.0.0.1", 80, "10.0.0.1", 5000, 6, 0);
    struct wkp_flow_key kx, ky;
    cr_assert_eq(wkp_key_from_l2l4(&x, &kx), false);
    cr_assert_eq(wkp_key_from_l2l4(&y, &ky), true);
    cr_assert(wkp_key_eq(&kx, &ky));
    cr_assert_eq(kx.pa, 80);
}

Test(key, vlan_protocol_and_family_separate_flows)
{
    struct wkp_flow_key k0, k1, k2;
    struct wkp_l2l4 a = pkt4("10.0.0.1", 1, "10.0.0.2", 2, 17, 0);
    struct wkp_l2l4 b = pkt4("10.0.0.1", 1, "10.0.0.2", 2, 17, 200);
    struct wkp_l2l4 c = pkt4("10.0.0.1", 1, "10.0.0.2", 2, 6, 0);
    wkp_key_from_l2l4(&a, &k0);
    wkp_key_from_l2l4(&b, &k1);
    wkp_key_from_l2l4(&c, &k2);
    cr_assert_not(wkp_key_eq(&k0, &k1));
    cr_assert_not(wkp_key_eq(&k0, &k2));
    cr_assert_neq(wkp_key_hash(&k0), wkp_key_hash(&k1));
    cr_assert_neq(wkp_key_hash(&k0), wkp_key_hash(&k2));
}

Test(key, hash_spreads_flows_over_workers)
{
    /* 40000 flows from consecutive ports over 4 workers: each worker gets
     * within 10% of a quarter (a poor hash would put most on one). */
    unsigned count[4] = {0};
    for (unsigned i = 0; i < 40000; i++) {
        struct wkp_l2l4 m = pkt4("10.1.2.3", (uint16_t)(1024 + i), "10.9.8.7", 443, 6, 0);
        struct wkp_flow_key k;
        wkp_key_from_l2l4(&m, &k);
        count[wkp_key_worker(wkp_key_hash(&k), 4)]++;
    }
    for (int w = 0; w < 4; w++)
        cr_assert(count[w] > 9000 && count[w] < 11000, "worker %d got %u", w, count[w]);
}

Test(key, worker_index_is_in_range)
{
    for (uint32_t n = 1; n <= 256; n++) {
        cr_assert_lt(wkp_key_worker(UINT64_MAX, n), n);
        cr_assert_eq(wkp_key_worker(0, n), 0);
    }
}

/* The endpoint order is memcmp's over the 16 address bytes, then the
 * ports: checked against memcmp itself on pairs that differ in one byte at
 * every position (either way), on equal addresses, and on random pairs. */
static void check_order(const uint8_t *s, const uint8_t *d, uint16_t sp, uint16_t dp)
{
    struct wkp_l2l4 m;
    memset(&m, 0, sizeof m);
    m.family = 6;
    m.proto = 6;
    memcpy(m.src, s, 16);
    memcpy(m.dst, d, 16);
    m.sport = sp;
    m.dport = dp;
    int c = memcmp(s, d, 16);
    bool want = c < 0 || (c == 0 && sp <= dp);
    struct wkp_flow_key k;
    cr_assert_eq(wkp_key_from_l2l4(&m, &k), want);
    cr_assert_eq(memcmp(k.a, want ? s : d, 16), 0);
    cr_assert_eq(k.pa, want ? sp : dp);
}

Test(key, endpoint_order_is_memcmp_order)
{
    uint8_t s[16], d[16];
    for (int i = 0; i < 16; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memset(s, 0x5a, sizeof s);
            memcpy(d, s, sizeof d);
            d[i] ^= (uint8_t)(1u << bit); /* one byte differs, up or down */
            check_order(s, d, 1, 2);
            check_order(d, s, 1, 2);
        }
    }
    memset(s, 0xff, sizeof s);
    check_order(s, s, 443, 80);
    check_order(s, s, 80, 443);
    check_order(s, s, 80, 80);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int n = 0; n < 20000; n++) {
        for (int i = 0; i < 16; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s[i] = (uint8_t)x;
            d[i] = (uint8_t)(x >> 8);
        }
        if (n % 4 == 0) /* a shared prefix: the order comes late */
            memcpy(d, s, (size_t)(x >> 16) % 16);
        check_order(s, d, (uint16_t)(x >> 24), (uint16_t)(x >> 40));
    }
}
