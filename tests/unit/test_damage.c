/* Damaged captures, pcapng interfaces of an undecoded link type and 64-bit
 * counters, through the public API (docs/design.md, "Damaged captures").
 * Offsets and counts of the made captures come from their generator
 * (tests/data/src/make_damaged.py, src/damaged.json); tshark agrees on the
 * packets (tests/data/MANIFEST.md). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wa1kpcap/wa1kpcap.h"
#include "capwriter.h"

#define DATA WKP_TEST_DATA "/"

struct seen {
    int n;
    uint64_t pkts, bytes, up_bytes;
};

static int collect(const wkp_flow *f, void *user)
{
    struct seen *s = user;
    s->n++;
    s->pkts += wkp_flow_packets(f, WKP_DIR_BOTH);
    s->bytes += wkp_flow_bytes(f, WKP_DIR_BOTH);
    s->up_bytes += wkp_flow_bytes(f, WKP_DIR_UP);
    return 0;
}

static wkp_engine *engine(wkp_reader_kind k, bool strict, bool resync, struct seen *s)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *sink;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, 2), WKP_OK);
    cr_assert_eq(wkp_config_set_reader(cfg, k), WKP_OK);
    cr_assert_eq(wkp_config_set_strict(cfg, strict), WKP_OK);
    cr_assert_eq(wkp_config_set_resync(cfg, resync), WKP_OK);
    cr_assert_eq(wkp_config_set_default_filter(cfg, NULL), WKP_OK);
    cr_assert_eq(wkp_config_set_filter_retrans(cfg, false), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(collect, s, &sink), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, sink), WKP_OK);
    return e;
}

static uint64_t sum_of_reasons(const wkp_engine *e)
{
    uint64_t n = 0;
    for (int c = 0; c < WKP_CNT__COUNT; c++)
        if (c != WKP_CNT_PACKETS_READ && c != WKP_CNT_BYTES_READ && c != WKP_CNT_FLOWS)
            n += wkp_engine_counter(e, (wkp_counter)c);
    return n;
}

/* made__damaged_huge_caplen.pcap: wa1kpcap__single.pcap (one TCP flow of
 * 27 packets) with record 19's caplen set to 3925868813 at byte 6253. */
Test(damage, huge_caplen_ends_the_read_with_a_warning)
{
    const char *f[] = {DATA "made__damaged_huge_caplen.pcap"};
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct seen s = {0};
        wkp_engine *e = engine(k, false, false, &s);
        cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK, "%s", wkp_engine_last_error(e));
        cr_assert_eq(wkp_engine_counter(e, WKP_CNT_PACKETS_READ), 18);
        cr_assert_eq(s.pkts, 18);
        const char *w = wkp_engine_warnings(e);
        cr_assert(strstr(w, "made__damaged_huge_caplen.pcap: damaged record at offset 6253") !=
                      NULL,
                  "%s", w);
        cr_assert(strstr(w, "3925868813") != NULL, "%s", w);
        cr_assert(strstr(w, "analysed the 18 packets before it") != NULL, "%s", w);
        cr_assert_eq(strchr(w, '\n'), w + strlen(w) - 1, "one line: %s", w);
        wkp_engine_free(e);
    }
}

Test(damage, strict_makes_damage_an_error)
{
    const char *f[] = {DATA "made__damaged_cut.pcapng"};
    struct seen s = {0};
    wkp_engine *e = engine(WKP_READER_AUTO, true, true, &s);
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_EFORMAT);
    const char *m = wkp_engine_last_error(e);
    cr_assert(strstr(m, "made__damaged_cut.pcapng: damaged record at offset 6336") != NULL, "%s",
              m);
    wkp_engine_free(e);
}

/* Resync: 18 + the 8 records after the damaged one; one skipped range of
 * 16 + 54 bytes (the damaged record's header and its data: tshark -r
 * wa1kpcap__single.pcap -e frame.cap_len gives 54 for frame 19). */
Test(damage, resync_reads_past_the_damage)
{
    const char *f[] = {DATA "made__damaged_huge_caplen.pcap"};
    struct seen s = {0};
    wkp_engine *e = engine(WKP_READER_AUTO, false, true, &s);
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_PACKETS_READ), 26);
    cr_assert_eq(s.pkts, 26);
    const char *w = wkp_engine_warnings(e);
    cr_assert(strstr(w, "skipped 70 damaged bytes at offset 6253") != NULL, "%s", w);
    cr_assert(strstr(w, "resumed at 6323") != NULL, "%s", w);
    wkp_engine_free(e);

    /* the libpcap reader cannot scan: refused when the engine is made */
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_reader(cfg, WKP_READER_LIBPCAP), WKP_OK);
    cr_assert_eq(wkp_config_set_resync(cfg, true), WKP_OK);
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_EINVAL);
    cr_assert(strstr(err.msg, "mmap reader") != NULL, "%s", err.msg);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_config_set_resync(NULL, true), WKP_EINVAL);
}

/* made__ng_linktype274.pcapng: 14 packets on an Ethernet interface (one TCP
 * flow, zeek__get.pcap's), 4 on an interface of link type 274. */
Test(damage, undecoded_interface_is_counted_and_warned)
{
    const char *f[] = {DATA "made__ng_linktype274.pcapng"};
    struct seen s = {0};
    wkp_engine *e = engine(WKP_READER_AUTO, false, false, &s);
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_PACKETS_READ), 18);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_UNSUPPORTED_LINK), 4);
    cr_assert_eq(sum_of_reasons(e), 18);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.pkts, 14);
    const char *w = wkp_engine_warnings(e);
    cr_assert(strstr(w, "pcapng interface 1 of section 0") != NULL, "%s", w);
    cr_assert(strstr(w, "link type 274") != NULL, "%s", w);
    cr_assert(strstr(w, "its 4 packets are counted as unsupported_link") != NULL, "%s", w);
    wkp_engine_free(e);
}

/* Bytes past 2^32: three UDP packets of one flow whose records claim a
 * wire length of 2^31 - 16 each (52 bytes captured). bytes_read and the
 * flow's byte count must be 3 (2^31 - 16) = 6442450896, in the API and in
 * the summary, not that modulo 2^32 (2147483600). */
Test(damage, byte_counters_pass_2_to_the_32)
{
    char dir[] = "/tmp/test_damage.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128], summary[128];
    snprintf(path, sizeof path, "%s/big_wirelen.pcap", dir);
    snprintf(summary, sizeof summary, "%s/summary.json", dir);
    struct capw w;
    capw_open(&w, path);
    const uint32_t wire = 0x7ffffff0u;
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    for (int i = 0; i < 3; i++) {
        uint8_t pkt[52];
        uint32_t n = capw_udp4(pkt, a, b, 53, 53, 10);
        capw_packet(&w, (1000 + i) * 1000000LL, pkt, n, wire);
    }
    capw_close(&w);
    const char *f[] = {path};
    for (int k = WKP_READER_MMAP; k <= WKP_READER_LIBPCAP; k++) {
        struct seen s = {0};
        wkp_engine *e = engine(k, false, false, &s);
        cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK, "%s", wkp_engine_last_error(e));
        cr_assert_eq(wkp_engine_counter(e, WKP_CNT_BYTES_READ), 3ull * wire);
        cr_assert_eq(s.n, 1);
        cr_assert_eq(s.bytes, 3ull * wire);
        cr_assert_eq(s.up_bytes, 3ull * wire);
        wkp_errbuf err;
        cr_assert_eq(wkp_engine_write_summary(e, summary, &err), WKP_OK);
        char text[8192] = {0};
        FILE *fp = fopen(summary, "rb");
        cr_assert_not_null(fp);
        size_t n = fread(text, 1, sizeof text - 1, fp);
        fclose(fp);
        cr_assert_gt(n, 0);
        cr_assert(strstr(text, "\"bytes_read\": 6442450896") != NULL, "%s", text);
        wkp_engine_free(e);
    }
    unlink(summary);
    unlink(path);
    rmdir(dir);
}
