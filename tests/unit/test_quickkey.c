/* Unit tests for wkp_l2l4_quick(), the reader's key for frames of the
 * commonest shape. Its promise: whenever it accepts a frame, the full walk
 * (wkp_l2l4_parse_opts) of the same frame returns WKP_PARSE_FLOW with the
 * same key fields, no encapsulation but its one 802.1Q tag, and no ARP
 * flag; and a keyword filter's worker-side verdict
 * (wkp_filter_keywords_match) is the reader's (wkp_filter_packet).
 * Checked on every record of every test capture (and of ../shared/pcaps
 * when present), on deterministic mutations of those frames, and on
 * hand-made frames at each boundary of its checks. Every call runs on an
 * exact-size heap copy so that ASan reports a read past caplen. */
#include "dissectors/l2l4.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capfile.h"
#include "filter/filter.h"
#include "flowtable/key.h"
#include "frame.h"
#include "wa1kpcap/wa1kpcap.h"

#define SHARED WKP_TEST_DATA "/../../../shared/pcaps"

static const struct wkp_l2l4_opts OPTS = {.vxlan_ports = {8472}, .n_vxlan_ports = 1};

struct tally {
    uint64_t frames, quick;
};

/* The promise, on one frame; data is copied to an exact-size buffer. */
static struct wkp_filter *default_filter(void);
static struct wkp_filter *compile(const char *expr);

/* The promise, on one frame; data is copied to an exact-size buffer. flt is
 * the default filter; a second keyword filter reads the VLAN bit. */
static bool check_frame(const uint8_t *data, uint32_t caplen, int dlt, struct wkp_filter *flt,
                        const char *where)
{
    static struct wkp_filter *vlan_flt;
    if (!vlan_flt)
        vlan_flt = compile("vlan or dhcp or dhcpv6 or icmp");
    uint8_t *b = malloc(caplen ? caplen : 1);
    cr_assert(b != NULL);
    memcpy(b, data, caplen);
    struct wkp_l2l4_quick q;
    bool ok = wkp_l2l4_quick(b, caplen, dlt, &OPTS, &q);
    if (ok) {
        struct wkp_l2l4 m;
        cr_assert_eq(wkp_l2l4_parse_opts(b, caplen, dlt, &OPTS, &m), WKP_PARSE_FLOW, "%s", where);
        cr_assert_eq(m.family, q.family, "%s", where);
        cr_assert_eq(m.proto, q.proto, "%s", where);
        cr_assert_arr_eq(m.src, q.src, 16, "%s", where);
        cr_assert_arr_eq(m.dst, q.dst, 16, "%s", where);
        cr_assert_eq(m.sport, q.sport, "%s", where);
        cr_assert_eq(m.dport, q.dport, "%s", where);
        cr_assert_eq(m.vlan_id, q.vlan_id, "%s", where);
        cr_assert_eq(m.l3_off, q.l3_off, "%s", where);
        cr_assert_eq(m.l4_off, q.l4_off, "%s", where);
        struct wkp_flow_key kq, km;
        cr_assert_eq(wkp_key_from_quick(&q, &kq), wkp_key_from_l2l4(&m, &km), "%s", where);
        cr_assert_arr_eq(&kq, &km, sizeof kq, "%s", where);
        cr_assert_eq(m.tun.flags, 0, "%s", where);
        cr_assert_eq(m.encap, q.tagged ? WKP_ENC_VLAN : 0, "%s", where);
    }
    /* the workers' filter on any frame's walk: the reader's verdict */
    struct wkp_l2l4 w;
    wkp_l2l4_parse_opts(b, caplen, dlt, &OPTS, &w);
    cr_assert_eq(wkp_filter_keywords_match(flt, &w),
                 wkp_filter_packet(flt, b, caplen, caplen, dlt, &w), "%s", where);
    cr_assert_eq(wkp_filter_keywords_match(vlan_flt, &w),
                 wkp_filter_packet(vlan_flt, b, caplen, caplen, dlt, &w), "%s", where);
    free(b);
    return ok;
}

static struct wkp_filter *compile(const char *expr)
{
    struct wkp_filter *f = NULL;
    wkp_errbuf err;
    cr_assert_eq(wkp_filter_compile_combined(expr, NULL, &f, &err), WKP_OK, "%s", err.msg);
    cr_assert(wkp_filter_keywords_only(f), "%s", expr);
    return f;
}

static struct wkp_filter *default_filter(void)
{
    return compile(WKP_DEFAULT_FILTER);
}

/* Every record of a capture, and (mutate) 8 mutations of each: a byte of
 * the first 80 changed, and the frame cut at a point, from a fixed-seed
 * generator. */
static void check_capture(const char *path, struct wkp_filter *flt, bool mutate, struct tally *t)
{
    struct wkp_capfile *cf = NULL;
    wkp_errbuf err;
    if (wkp_capfile_open(path, WKP_READER_MMAP, &cf, &err) != WKP_OK)
        return; /* the damaged and invalid captures of the capture tests */
    struct wkp_rec rec;
    uint64_t x = 0x9E3779B97F4A7C15u;
    uint8_t buf[256];
    while (wkp_capfile_next(cf, &rec, &err) == 1) {
        if (rec.unsupported)
            continue;
        t->frames++;
        t->quick += check_frame(rec.data, rec.caplen, rec.dlt, flt, path);
        for (int k = 0; mutate && k < 8; k++) {
            uint32_t n = rec.caplen < sizeof buf ? rec.caplen : (uint32_t)sizeof buf;
            if (n == 0)
                break;
            memcpy(buf, rec.data, n);
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            uint32_t at = (uint32_t)(x % (n < 80 ? n : 80));
            buf[at] = (uint8_t)(x >> 32);
            uint32_t cut = k & 1 ? (uint32_t)((x >> 40) % (n + 1)) : n;
            check_frame(buf, cut, rec.dlt, flt, path);
        }
    }
    wkp_capfile_close(cf);
}

static void check_dir(const char *dir, struct wkp_filter *flt, struct tally *t)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *dot = strrchr(de->d_name, '.');
        if (!dot || (strcmp(dot, ".pcap") && strcmp(dot, ".pcapng")))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        check_capture(path, flt, true, t);
    }
    closedir(d);
}

Test(quickkey, agrees_with_the_walk_on_every_test_capture)
{
    struct wkp_filter *flt = default_filter();
    struct tally t = {0};
    check_dir(WKP_TEST_DATA, flt, &t);
    check_dir(SHARED, flt, &t);
    /* tests/data alone holds 8,995 frames, 8,219 of them in the quick
     * shape and the others of every shape the walk knows: both sides of the
     * promise are exercised (the bounds leave room for captures added) */
    cr_assert_gt(t.quick, 5000);
    cr_assert_gt(t.frames - t.quick, 500);
    wkp_filter_free(flt);
}

/* The frames tshark puts in the quick key's shape, as a display filter:
 * (eth.type == 0x0800 or eth.type == 0x86dd or (eth.type == 0x8100 and
 * count(vlan) == 1 and (vlan.etype == 0x0800 or vlan.etype == 0x86dd)))
 * and ((ip and not ipv6 and count(ip) == 1 and ip.flags.mf == 0 and
 * ip.frag_offset == 0 and (tcp or udp) and not vxlan and not geneve) or
 * (ipv6 and not ip and count(ipv6) == 1 and (ipv6.nxt == 6 or ipv6.nxt ==
 * 17))). On the test captures it counts what wkp_l2l4_quick takes in all but
 * one, tcpdump__ipv6_invalid_length.pcap, whose one frame is left to the
 * walk. */
Test(quickkey, takes_the_frames_tshark_counts)
{
    struct wkp_filter *flt = default_filter();
    /* 51 plain TCP frames and 49 under an 802.1Q tag */
    struct tally t = {0};
    check_capture(WKP_TEST_DATA "/wa1kpcap__dup.pcap", flt, false, &t);
    cr_assert_eq(t.frames, 100);
    cr_assert_eq(t.quick, 100);
    /* 36 DHCP over UDP; 12 ARP and 6 ICMP frames are not taken */
    t = (struct tally){0};
    check_capture(WKP_TEST_DATA "/tcpdump__dhcp-rfc4388.pcap", flt, false, &t);
    cr_assert_eq(t.frames, 54);
    cr_assert_eq(t.quick, 36);
    /* QinQ (0x88a8 outer tag) and a 0x9100 tag: all 6 and 4 frames walked */
    t = (struct tally){0};
    check_capture(WKP_TEST_DATA "/made__qinq_88a8.pcap", flt, false, &t);
    check_capture(WKP_TEST_DATA "/made__vlan_9100.pcap", flt, false, &t);
    cr_assert_eq(t.frames, 10);
    cr_assert_eq(t.quick, 0);
    wkp_filter_free(flt);
}

/* ---- hand-made frames at each boundary ------------------------------------ */

static const uint8_t A4[4] = {10, 0, 0, 2}, B4[4] = {10, 0, 0, 1};

/* Ethernet + IPv4 (header hlen bytes, flags/offset frag) + a transport of
 * l4 bytes: the first four the ports sport, dport, then zeros. */
static void v4(struct pkt *p, uint8_t hlen, uint16_t frag, uint8_t proto, uint16_t sport,
               uint16_t dport, uint32_t l4)
{
    eth(p, 0x0800);
    u8(p, (uint8_t)(0x40 | hlen / 4)), u8(p, 0);
    be16(p, (uint16_t)(hlen + l4));
    be16(p, 1), be16(p, frag);
    u8(p, 64), u8(p, proto), be16(p, 0);
    put(p, A4, 4), put(p, B4, 4);
    zeros(p, hlen - 20u);
    if (l4 >= 4)
        be16(p, sport), be16(p, dport), zeros(p, l4 - 4);
    else
        zeros(p, l4);
}

/* Ethernet + IPv6 (next header next) + l4 transport bytes as above. */
static void v6(struct pkt *p, uint8_t next, uint16_t sport, uint16_t dport, uint32_t l4)
{
    static const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 9};
    static const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 3};
    eth(p, 0x86DD);
    be32(p, 0x60000000), be16(p, (uint16_t)l4), u8(p, next), u8(p, 64);
    put(p, a, 16), put(p, b, 16);
    if (l4 >= 4)
        be16(p, sport), be16(p, dport), zeros(p, l4 - 4);
    else
        zeros(p, l4);
}

static bool quick(const struct pkt *p, struct wkp_l2l4_quick *q)
{
    struct wkp_filter *flt = default_filter();
    bool ok = check_frame(p->b, p->n, WKP_DLT_EN10MB, flt, "hand-made");
    wkp_filter_free(flt);
    uint8_t *b = malloc(p->n);
    memcpy(b, p->b, p->n);
    cr_assert_eq(wkp_l2l4_quick(b, p->n, WKP_DLT_EN10MB, &OPTS, q), ok);
    free(b);
    return ok;
}

Test(quickkey, keys_plain_tcp_and_udp)
{
    struct wkp_l2l4_quick q;
    struct pkt p = {0};
    v4(&p, 20, 0x4000 /* DF */, 6, 443, 51000, 20);
    cr_assert(quick(&p, &q));
    cr_assert_eq(q.family, 4);
    cr_assert_eq(q.proto, 6);
    cr_assert_eq(q.sport, 443);
    cr_assert_eq(q.dport, 51000);
    cr_assert_arr_eq(q.src, A4, 4);
    cr_assert_eq(q.l4_off, 14 + 20);

    struct pkt o = {0}; /* 4 bytes of IPv4 options: the transport at 38 */
    v4(&o, 24, 0, 17, 53, 5353, 8);
    cr_assert(quick(&o, &q));
    cr_assert_eq(q.l4_off, 14 + 24);

    struct pkt s = {0}; /* TCP cut after its ports: still keyed */
    v4(&s, 20, 0, 6, 1, 2, 4);
    cr_assert(quick(&s, &q));

    struct pkt x = {0};
    v6(&x, 17, 5000, 53, 8);
    cr_assert(quick(&x, &q));
    cr_assert_eq(q.family, 6);
    cr_assert_eq(q.l4_off, 14 + 40);
    cr_assert_eq(q.src[15], 9);
    cr_assert_not(q.tagged);

    /* one 802.1Q tag (priority 5, VID 0x123) over IPv4 UDP: the IP header at 18 */
    struct pkt v = {0};
    eth(&v, 0x8100);
    be16(&v, 0xA123), be16(&v, 0x0800);
    uint32_t ip = v.n;
    u8(&v, 0x45), u8(&v, 0), be16(&v, 28), be32(&v, 0), u8(&v, 64), u8(&v, 17), be16(&v, 0);
    put(&v, A4, 4), put(&v, B4, 4);
    be16(&v, 5353), be16(&v, 53), be16(&v, 8), be16(&v, 0);
    cr_assert_eq(ip, 18);
    cr_assert(quick(&v, &q));
    cr_assert(q.tagged);
    cr_assert_eq(q.vlan_id, 0x123);
    cr_assert_eq(q.l3_off, 18);
    cr_assert_eq(q.l4_off, 18 + 20);
    cr_assert_eq(q.dport, 53);
}

Test(quickkey, leaves_every_other_shape_to_the_walk)
{
    struct wkp_l2l4_quick q;
    struct pkt f[16];
    memset(f, 0, sizeof f);
    int n = 0;
    v4(&f[n++], 20, 0x2000, 6, 1, 2, 20);  /* MF: a first fragment */
    v4(&f[n++], 20, 0x0001, 6, 1, 2, 20);  /* offset 8 bytes */
    v4(&f[n++], 20, 0, 1, 0, 0, 8);        /* ICMP */
    v4(&f[n++], 20, 0, 17, 1, 4789, 8);    /* VXLAN */
    v4(&f[n++], 20, 0, 17, 6081, 2, 8);    /* Geneve */
    v4(&f[n++], 20, 0, 17, 8472, 2, 8);    /* an extra VXLAN port of the options */
    v4(&f[n++], 20, 0, 17, 1, 2, 7);       /* UDP cut inside its header */
    v4(&f[n++], 20, 0, 6, 1, 2, 3);        /* TCP without both ports */
    v4(&f[n++], 20, 0, 47, 0, 0, 8);       /* GRE */
    v6(&f[n++], 0, 1, 2, 8);               /* hop-by-hop first */
    v6(&f[n++], 44, 1, 2, 8);              /* fragment header */
    v6(&f[n++], 58, 1, 2, 8);              /* ICMPv6 */
    struct pkt *vl = &f[n++];              /* two 802.1Q tags */
    eth(vl, 0x8100);
    be16(vl, 10), be16(vl, 0x8100);
    be16(vl, 20), be16(vl, 0x0800);
    u8(vl, 0x45), zeros(vl, 39);
    struct pkt *ad = &f[n++]; /* an 802.1ad tag */
    eth(ad, 0x88A8);
    be16(ad, 10), be16(ad, 0x0800);
    u8(ad, 0x45), zeros(ad, 39);
    for (int i = 0; i < n; i++)
        cr_assert_not(quick(&f[i], &q), "frame %d", i);

    /* IPv4 total length below its header length: malformed to the walk */
    struct pkt t = {0};
    v4(&t, 20, 0, 6, 1, 2, 20);
    patch16(&t, 14 + 2, 19);
    cr_assert_not(quick(&t, &q));
    /* header length beyond the capture */
    struct pkt h = {0};
    v4(&h, 20, 0, 6, 1, 2, 0);
    h.b[14] = 0x4F; /* 60 bytes of header, 20 captured */
    cr_assert_not(quick(&h, &q));
    /* a frame of another link type with the same bytes */
    struct pkt r = {0};
    v4(&r, 20, 0, 6, 1, 2, 20);
    uint8_t *b = malloc(r.n);
    memcpy(b, r.b, r.n);
    cr_assert_not(wkp_l2l4_quick(b, r.n, WKP_DLT_LINUX_SLL, &OPTS, &q));
    free(b);
}

Test(quickkey, every_cut_of_a_plain_frame)
{
    /* A 74-byte IPv4 TCP frame (20 + 40 TCP bytes) cut at every length: the
     * quick key takes it from 38 bytes on (ports captured) and the promise
     * holds at every cut. */
    struct pkt p = {0};
    v4(&p, 20, 0, 6, 80, 40000, 40);
    struct wkp_filter *flt = default_filter();
    for (uint32_t n = 0; n <= p.n; n++)
        cr_assert_eq(check_frame(p.b, n, WKP_DLT_EN10MB, flt, "cut"), n >= 14 + 20 + 4,
                     "cut at %u", n);
    wkp_filter_free(flt);
}
