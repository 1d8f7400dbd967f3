/* The engine through its public API: callback and file sinks, errors,
 * counters, idle timeouts and the output order of D6, on captures the test
 * writes itself (values computed by hand below) and on tests/data. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wa1kpcap/wa1kpcap.h"

#define DATA WKP_TEST_DATA "/"

struct seen {
    int n;
    uint64_t id[64];
    uint64_t pkts[64], up[64], down[64], bytes[64];
    char reason[64][16];
    char key[64][128];
    int stop_after; /* return non-zero at this flow (0 = never) */
};

static int collect(const wkp_flow *f, void *user)
{
    struct seen *s = user;
    if (s->n < 64) {
        s->id[s->n] = wkp_flow_id(f);
        s->pkts[s->n] = wkp_flow_packets(f, WKP_DIR_BOTH);
        s->up[s->n] = wkp_flow_packets(f, WKP_DIR_UP);
        s->down[s->n] = wkp_flow_packets(f, WKP_DIR_DOWN);
        s->bytes[s->n] = wkp_flow_bytes(f, WKP_DIR_BOTH);
        snprintf(s->reason[s->n], 16, "%s", wkp_flow_end_reason(f));
        snprintf(s->key[s->n], 128, "%s", wkp_flow_key(f));
    }
    s->n++;
    return s->stop_after && s->n == s->stop_after;
}

static wkp_engine *engine_with(unsigned threads, double udp_timeout, struct seen *s)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *sink;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, threads), WKP_OK);
    cr_assert_eq(wkp_config_set_udp_timeout(cfg, udp_timeout), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(collect, s, &sink), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, sink), WKP_OK);
    return e;
}

/* Write a µs pcap of Ethernet/IPv4/UDP packets: each (time in µs, sport,
 * dport, direction) with a 10-byte payload: 14 + 20 + 8 + 10 = 52 bytes. */
struct upkt {
    int64_t t_us;
    uint16_t sport, dport;
    int reverse; /* 1: 10.0.0.2 -> 10.0.0.1 */
};

static void write_udp_pcap(const char *path, const struct upkt *v, int n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    fwrite(gh, 4, 6, f);
    for (int i = 0; i < n; i++) {
        uint8_t pkt[52] = {0};
        pkt[12] = 0x08; /* IPv4 */
        uint8_t *ip = pkt + 14;
        ip[0] = 0x45;
        ip[3] = 38; /* total length 20 + 8 + 10 */
        ip[8] = 64;
        ip[9] = 17;
        uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
        memcpy(ip + 12, v[i].reverse ? b : a, 4);
        memcpy(ip + 16, v[i].reverse ? a : b, 4);
        uint8_t *udp = ip + 20;
        uint16_t sp = v[i].reverse ? v[i].dport : v[i].sport;
        uint16_t dp = v[i].reverse ? v[i].sport : v[i].dport;
        udp[0] = (uint8_t)(sp >> 8);
        udp[1] = (uint8_t)sp;
        udp[2] = (uint8_t)(dp >> 8);
        udp[3] = (uint8_t)dp;
        udp[5] = 18;
        uint32_t rh[4] = {(uint32_t)(v[i].t_us / 1000000), (uint32_t)(v[i].t_us % 1000000), 52, 52};
        fwrite(rh, 4, 4, f);
        fwrite(pkt, 1, 52, f);
    }
    fclose(f);
}

Test(engine, single_pcap_counts_match_tshark)
{
    /* tshark -r wa1kpcap__single.pcap -q -z conv,tcp: 27 frames, 6690
     * bytes; 13 frames from 192.168.226.54:8907, 14 from the server. */
    struct seen s = {0};
    wkp_engine *e = engine_with(2, 0, &s);
    const char *f[] = {DATA "wa1kpcap__single.pcap"};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.pkts[0], 27);
    cr_assert_eq(s.up[0], 13);
    cr_assert_eq(s.down[0], 14);
    cr_assert_eq(s.bytes[0], 6690);
    cr_assert_str_eq(s.key[0], "192.168.226.54:8907 -> 111.13.142.55:443 (TCP)");
    cr_assert_str_eq(s.reason[0], "end_of_input");
    cr_assert_eq(s.id[0], 1);
    /* D9: every packet read is counted once by reason */
    uint64_t read = wkp_engine_counter(e, WKP_CNT_PACKETS_READ);
    cr_assert_eq(read, 27);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_IN_FLOW) + wkp_engine_counter(e, WKP_CNT_NOT_IP) +
                     wkp_engine_counter(e, WKP_CNT_MALFORMED),
                 read);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_FLOWS), 1);
    wkp_engine_free(e);
}

Test(engine, arp_only_capture_gives_no_flow_and_counts_not_ip)
{
    /* zeek__arp-who-has.pcap: 2 ARP frames (MANIFEST), no IP. The default
     * filter (not arp ...) drops them as filtered; without it they are
     * not_ip. Either way no flow. */
    struct seen s = {0};
    wkp_engine *e = engine_with(1, 0, &s);
    const char *f[] = {DATA "zeek__arp-who-has.pcap"};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK);
    cr_assert_eq(s.n, 0);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_FILTERED), 2);
    wkp_engine_free(e);

    struct seen s2 = {0};
    wkp_config *cfg;
    wkp_sink *sink;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_default_filter(cfg, NULL), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(collect, &s2, &sink), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, sink), WKP_OK);
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK);
    cr_assert_eq(s2.n, 0);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_NOT_IP), 2);
    wkp_engine_free(e);
}

Test(engine, udp_timeout_is_strict_and_flows_come_out_in_end_order)
{
    /* Flow A (port 1000): packets at 0, 9.999 s (gap < 10: same flow), then
     * 19.999 s (gap exactly 10.0 s: not > 10, same flow), then 30.0 s
     * (gap 10.001 s: a new flow, its first packet the reply direction).
     * Flow B (port 2000): one packet at 5 s, then nothing: with packets
     * every second or so the reader's ticks expire it once the clock passes
     * 15 s, i.e. at the tick after the packet at 19.999 s.
     * So the records, in the order they end (D6):
     *   B  (first packet #2, ended by a tick at 19.999 s, idle_timeout)
     *   A1 (packets #1 #3 #4, ended by packet #5 which split it, idle_timeout)
     *   A2 (packet #5, end_of_input). */
    char path[] = "/tmp/wkp-test-XXXXXX.pcap";
    int fd = mkstemps(path, 5);
    cr_assert(fd >= 0);
    close(fd);
    struct upkt v[] = {
        {1000000000LL, 1000, 53, 0},
        {1000000000LL + 5000000, 2000, 53, 0},
        {1000000000LL + 9999000, 1000, 53, 1},
        {1000000000LL + 19999000, 1000, 53, 0},
        {1000000000LL + 30000000, 1000, 53, 1},
    };
    write_udp_pcap(path, v, 5);
    for (unsigned t = 1; t <= 4; t++) {
        struct seen s = {0};
        wkp_engine *e = engine_with(t, 10.0, &s);
        const char *f[] = {path};
        cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK, "%s", wkp_engine_last_error(e));
        cr_assert_eq(s.n, 3, "threads %u", t);
        cr_assert_eq(s.id[0], 2);
        cr_assert_str_eq(s.reason[0], "idle_timeout");
        cr_assert_eq(s.id[1], 1);
        cr_assert_eq(s.pkts[1], 3);
        cr_assert_eq(s.up[1], 2);
        cr_assert_eq(s.down[1], 1);
        cr_assert_str_eq(s.reason[1], "idle_timeout");
        cr_assert_eq(s.id[2], 5);
        cr_assert_eq(s.pkts[2], 1);
        cr_assert_str_eq(s.reason[2], "end_of_input");
        /* the new flow is oriented by its own first packet: the reply */
        cr_assert_str_eq(s.key[2], "10.0.0.2:53 -> 10.0.0.1:1000 (UDP)");
        wkp_engine_free(e);
    }
    unlink(path);
}

Test(engine, missing_file_fails_before_any_output)
{
    char out[] = "/tmp/wkp-test-out-XXXXXX";
    cr_assert_not_null(mkdtemp(out));
    char csv[128];
    snprintf(csv, sizeof csv, "%s/flows.csv", out);
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    wkp_errbuf err;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_file_new(csv, WKP_FMT_CSV, &s, &err), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    const char *f[] = {DATA "wa1kpcap__single.pcap", "/nonexistent/x.pcap"};
    wkp_status st = wkp_engine_run(e, f, 2);
    cr_assert_eq(st, WKP_EIO);
    cr_assert_not_null(strstr(wkp_engine_last_error(e), "/nonexistent/x.pcap"));
    cr_assert_eq(access(csv, F_OK), -1, "no output file may be left");
    /* an engine runs once */
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_ESTATE);
    cr_assert_eq(wkp_engine_add_sink(e, NULL), WKP_EINVAL);
    wkp_engine_free(e);
    rmdir(out);
}

Test(engine, callback_stop_removes_the_file_output)
{
    char out[] = "/tmp/wkp-test-out-XXXXXX";
    cr_assert_not_null(mkdtemp(out));
    char js[128];
    snprintf(js, sizeof js, "%s/flows.json", out);
    struct seen s = {.stop_after = 3};
    wkp_engine *e = engine_with(2, 0, &s);
    wkp_sink *fs;
    wkp_errbuf err;
    cr_assert_eq(wkp_sink_file_new(js, WKP_FMT_JSON, &fs, &err), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, fs), WKP_OK);
    const char *f[] = {DATA "wa1kpcap__multi.pcap"};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_ESTOPPED);
    cr_assert_eq(s.n, 3);
    cr_assert_eq(access(js, F_OK), -1);
    wkp_engine_free(e);
    /* nothing else (no temporary) is left in the directory */
    cr_assert_eq(rmdir(out), 0);
}

Test(engine, config_rejects_bad_values)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, 257), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_ring_slots(cfg, 3), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_ring_slots(cfg, 1), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_tcp_timeout(cfg, -1), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_udp_timeout(cfg, 0.0 / 0.0), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_reader(cfg, (wkp_reader_kind)7), WKP_EINVAL);
    wkp_format fmt;
    cr_assert_eq(wkp_format_parse("xml", &fmt), WKP_EINVAL);
    cr_assert_eq(wkp_format_parse("jsonl", &fmt), WKP_OK);
    cr_assert_eq(fmt, WKP_FMT_NDJSON);
    cr_assert_eq(wkp_format_from_path("a/b.json"), WKP_FMT_JSON);
    cr_assert_eq(wkp_format_from_path("a.out"), WKP_FMT_CSV);
    cr_assert_str_eq(wkp_strerror(WKP_ELINKTYPE), "unsupported link type");
    wkp_config_free(cfg);
}
