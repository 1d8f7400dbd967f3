/* ARP rows of the packet sink (engine/serialize.c, engine/worker.c): a
 * hand-made capture of ARP packets (whole, cut, of other address sizes)
 * around one UDP flow, run through the public API at 1, 2 and 4 workers.
 * The expected rows are written out by hand from the bytes built here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/capwriter.h"
#include "tests/unit/frame.h"
#include "wa1kpcap/wa1kpcap.h"

/* Ethernet + ARP: operation op, hardware and protocol address sizes hl, pl;
 * sender 02:00:00:00:00:01 10.0.0.1, target 00:00:00:00:00:00 10.0.0.2
 * (for hl 6, pl 4: 14 + 8 + 20 = 42 bytes). */
static void arp(struct pkt *p, uint16_t op, uint8_t hl, uint8_t pl)
{
    static const uint8_t sha[6] = {2, 0, 0, 0, 0, 1}, spa[4] = {10, 0, 0, 1},
                         tpa[4] = {10, 0, 0, 2};
    p->n = 0;
    eth(p, 0x0806);
    be16(p, 1);
    be16(p, 0x0800);
    u8(p, hl);
    u8(p, pl);
    be16(p, op);
    if (hl == 6 && pl == 4) {
        put(p, sha, 6);
        put(p, spa, 4);
        zeros(p, 6);
        put(p, tpa, 4);
    } else {
        zeros(p, 2u * hl + 2u * pl);
    }
}

/* Ethernet/IPv4/UDP 10.0.0.1:1000 -> 10.0.0.2:2000 (or back), 10 payload
 * bytes: 14 + 20 + 8 + 10 = 52 bytes, IP length 38, UDP length 18. */
static void udp(struct pkt *p, int back)
{
    p->n = 0;
    eth(p, 0x0800);
    u8(p, 0x45), u8(p, 0), be16(p, 38), be32(p, 0), u8(p, 64), u8(p, 17), be16(p, 0);
    be32(p, back ? 0x0a000002 : 0x0a000001);
    be32(p, back ? 0x0a000001 : 0x0a000002);
    be16(p, back ? 2000 : 1000), be16(p, back ? 1000 : 2000), be16(p, 18), be16(p, 0);
    zeros(p, 10);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static uint64_t flows_seen;

static int count_flow(const wkp_flow *f, void *user)
{
    (void)f;
    (void)user;
    flows_seen++;
    return 0;
}

Test(arprows, rows_at_their_place_flows_untouched)
{
    char cap[64], out[80];
    capw_tmpname(cap, sizeof cap, "wkp-arprows");
    snprintf(out, sizeof out, "%s.csv", cap);
    struct capw w;
    struct pkt p;
    capw_open(&w, cap);
    arp(&p, 1, 6, 4);
    capw_packet(&w, 1000001, p.b, p.n, 60); /* 42 bytes captured of 60 */
    udp(&p, 0);
    capw_packet(&w, 1000002, p.b, p.n, p.n);
    arp(&p, 2, 6, 4);
    capw_packet(&w, 1000003, p.b, 14 + 18, 60); /* cut after the sender's IP */
    arp(&p, 1, 8, 4);
    capw_packet(&w, 1000004, p.b, p.n, 60); /* 8-byte hardware addresses: not read */
    udp(&p, 1);
    capw_packet(&w, 1000005, p.b, p.n, p.n);
    arp(&p, 1, 6, 4);
    capw_packet(&w, 1000006, p.b, 14 + 6, 60); /* cut before the operation */
    capw_close(&w);

    const char *name = strrchr(cap, '/') + 1;
    char want[2048];
    snprintf(want, sizeof want,
             "flow_id,capture,index,direction,timestamp,packet_length,ip_length,trans_length,"
             "app_length,payload_bytes,tcp_flags,tcp_window,arp_operation,arp_sender_mac,"
             "arp_sender_ip,arp_target_mac,arp_target_ip\n"
             ",%s,,,1.000001,60,,,,,,,1,02:00:00:00:00:01,10.0.0.1,00:00:00:00:00:00,10.0.0.2\n"
             ",%s,,,1.000003,60,,,,,,,2,02:00:00:00:00:01,10.0.0.1,,\n"
             ",%s,,,1.000004,60,,,,,,,1,,,,\n"
             ",%s,,,1.000006,60,,,,,,,,,,,\n"
             /* the flow (id 2) ends at the end of input, after every ARP row */
             "2,%s,0,1,1.000002,52,38,18,10,10,0,0,,,,,\n"
             "2,%s,1,-1,1.000005,52,38,18,10,10,0,0,,,,,\n",
             name, name, name, name, name, name);
    for (unsigned t = 1; t <= 4; t *= 2) {
        wkp_config *cfg;
        wkp_engine *e;
        wkp_sink *s;
        cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
        cr_assert_eq(wkp_config_set_threads(cfg, t), WKP_OK);
        cr_assert_eq(wkp_config_set_default_filter(cfg, NULL), WKP_OK);
        cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
        wkp_config_free(cfg);
        cr_assert_eq(wkp_sink_packets_new(out, WKP_FMT_CSV, &s, NULL), WKP_OK);
        cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
        cr_assert_eq(wkp_sink_callback_new(count_flow, NULL, &s), WKP_OK);
        cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
        flows_seen = 0;
        const char *paths[] = {cap};
        cr_assert_eq(wkp_engine_run(e, paths, 1), WKP_OK, "%s", wkp_engine_last_error(e));
        cr_expect_str_eq(slurp(out), want, "-t %u", t);
        cr_expect_eq(flows_seen, 1, "a callback sees flows only");
        cr_expect_eq(wkp_engine_counter(e, WKP_CNT_FLOWS), 1);
        cr_expect_eq(wkp_engine_counter(e, WKP_CNT_NOT_IP), 4, "ARP still counted as not_ip");
        cr_expect_eq(wkp_engine_counter(e, WKP_CNT_IN_FLOW), 2);
        wkp_engine_free(e);
    }
    unlink(cap);
    unlink(out);
}
