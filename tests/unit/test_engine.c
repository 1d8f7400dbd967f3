/* The engine through its public API: callback and file sinks, errors,
 * counters, idle timeouts and the output order (by end position, ties by
 * first packet, the same for any worker count), on captures the test
 * writes itself (values computed by hand below) and on tests/data. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "wa1kpcap/wa1kpcap.h"
#include "capwriter.h"

#define DATA WKP_TEST_DATA "/"
#define MULTI_PACKETS 4183 /* capinfos -c wa1kpcap__multi.pcap */

struct seen {
    int n;
    uint64_t id[64];
    uint64_t pkts[64], up[64], down[64], bytes[64];
    char reason[64][16];
    char key[64][128];
    char capture[64][32];
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
        snprintf(s->capture[s->n], 32, "%s", wkp_flow_capture(f));
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
    struct capw w;
    capw_open(&w, path);
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    for (int i = 0; i < n; i++) {
        uint8_t pkt[52];
        uint16_t sp = v[i].reverse ? v[i].dport : v[i].sport;
        uint16_t dp = v[i].reverse ? v[i].sport : v[i].dport;
        uint32_t len = capw_udp4(pkt, v[i].reverse ? b : a, v[i].reverse ? a : b, sp, dp, 10);
        capw_packet(&w, v[i].t_us, pkt, len, len);
    }
    capw_close(&w);
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
    /* every packet read is counted once, under one reason */
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
     * So the records, in the order they end:
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
    cr_assert_eq(wkp_config_set_parse_in(cfg, (wkp_parse_in)3), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_parse_in(NULL, WKP_PARSE_IN_WORKERS), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_parse_in(cfg, WKP_PARSE_IN_WORKERS), WKP_OK);
    wkp_format fmt;
    cr_assert_eq(wkp_format_parse("xml", &fmt), WKP_EINVAL);
    cr_assert_eq(wkp_format_parse("jsonl", &fmt), WKP_OK);
    cr_assert_eq(fmt, WKP_FMT_NDJSON);
    cr_assert_eq(wkp_format_from_path("a/b.json"), WKP_FMT_JSON);
    cr_assert_eq(wkp_format_from_path("a.out"), WKP_FMT_CSV);
    cr_assert_str_eq(wkp_strerror(WKP_ELINKTYPE), "unsupported link type");
    wkp_config_free(cfg);
}

/* ---- several captures (docs/design.md, "Several captures") ---- */

/* Run files (n of them) with merge on or off and a UDP timeout; flows in s. */
static void run_files(const char *const *files, size_t n, bool merge, double udp_timeout,
                      unsigned threads, struct seen *s)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *sink;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, threads), WKP_OK);
    cr_assert_eq(wkp_config_set_udp_timeout(cfg, udp_timeout), WKP_OK);
    cr_assert_eq(wkp_config_set_merge(cfg, merge), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(collect, s, &sink), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, sink), WKP_OK);
    cr_assert_eq(wkp_engine_run(e, files, n), WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
}

Test(engine, merge_joins_a_flow_across_files_and_interleaves_overlaps)
{
    /* One UDP flow (port 1000) in two files. "early": packets at 1000, 1010
     * and 1020 s; "late": 1015 and 1030 s, so the files overlap in time.
     * Merged, in time order: 1000 (early), 1010 (early), 1015 (late),
     * 1020 (early), 1030 (late): one flow of 5 packets, id 1, capture
     * "early", ended at the end of input; up = the 3 packets from 10.0.0.1.
     * Without merge each file has its own flow (3 and 2 packets). With a
     * UDP timeout of 9 s the gaps of 10 s (1000 -> 1010) and 10 s (1020 ->
     * 1030) end flows but 5 s gaps do not: flows {1000}, {1010, 1015, 1020},
     * {1030}, with ids 1, 2, 5 (ordinals in merged order). */
    char dir[] = "/tmp/wkp-merge-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char early[64], late[64];
    snprintf(early, sizeof early, "%s/early.pcap", dir);
    snprintf(late, sizeof late, "%s/late.pcap", dir);
    const struct upkt ve[] = {
        {1000000000LL, 1000, 53, 0}, {1010000000LL, 1000, 53, 1}, {1020000000LL, 1000, 53, 0}};
    const struct upkt vl[] = {{1015000000LL, 1000, 53, 0}, {1030000000LL, 1000, 53, 1}};
    write_udp_pcap(early, ve, 3);
    write_udp_pcap(late, vl, 2);
    const char *given[] = {late, early}; /* out of time order on purpose */
    for (unsigned t = 1; t <= 4; t *= 2) {
        struct seen s = {0};
        run_files(given, 2, true, 0, t, &s);
        cr_assert_eq(s.n, 1, "threads %u", t);
        cr_assert_eq(s.id[0], 1);
        cr_assert_eq(s.pkts[0], 5);
        cr_assert_eq(s.up[0], 3);
        cr_assert_str_eq(s.capture[0], "early.pcap");
        cr_assert_str_eq(s.reason[0], "end_of_input");

        struct seen o = {0};
        run_files(given, 2, false, 0, t, &o);
        cr_assert_eq(o.n, 2);
        cr_assert_str_eq(o.capture[0], "late.pcap"); /* the order given */
        cr_assert_eq(o.pkts[0], 2);
        cr_assert_eq(o.pkts[1], 3);

        struct seen i = {0};
        run_files(given, 2, true, 9.0, t, &i);
        cr_assert_eq(i.n, 3);
        cr_assert_eq(i.id[0], 1);
        cr_assert_eq(i.pkts[0], 1);
        cr_assert_eq(i.id[1], 2);
        cr_assert_eq(i.pkts[1], 3);
        cr_assert_eq(i.id[2], 5);
        cr_assert_eq(i.pkts[2], 1);
        cr_assert_str_eq(i.capture[2], "late.pcap");

        /* the directory: its files in capture-time order, each on its own */
        struct seen d = {0};
        const char *dirs[] = {dir};
        run_files(dirs, 1, false, 0, t, &d);
        cr_assert_eq(d.n, 2);
        cr_assert_str_eq(d.capture[0], "early.pcap");
        cr_assert_eq(d.pkts[0], 3);
    }
    unlink(early);
    unlink(late);
    rmdir(dir);
}

Test(engine, slice_setters_refuse_an_empty_range)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_offsets(cfg, 10, 9), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_offsets(cfg, 10, 10), WKP_OK);
    cr_assert_eq(wkp_config_set_time_window(cfg, 5, 4), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_time_window(cfg, INT64_MIN, INT64_MAX), WKP_OK);
    cr_assert_eq(wkp_config_set_merge(NULL, true), WKP_EINVAL);
    cr_assert_eq(wkp_config_set_offsets(NULL, 0, 1), WKP_EINVAL);
    wkp_config_free(cfg);
}

/* ---- stops, sink ownership, errors, accessors under misuse ---- */

/* wa1kpcap__multi.pcap's flow count, from a run with nothing stopped: the
 * stop tests below stop at its last flow, which the end-of-file flush
 * ends after the reader has read every packet. */
static int count_flows(const char *cap)
{
    struct seen s = {0};
    wkp_engine *e = engine_with(2, 0, &s);
    const char *f[] = {cap};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
    cr_assert_gt(s.n, 3);
    return s.n;
}

static void make_outdir(char *dir, char *file, size_t n, const char *name)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, n, "%s/%s", dir, name);
}

Test(engine, callback_stop_counts_the_stopping_flow)
{
    char dir[] = "/tmp/wkp-test-out-XXXXXX", csv[128];
    make_outdir(dir, csv, sizeof csv, "flows.csv");
    struct seen s = {.stop_after = 3};
    wkp_engine *e = engine_with(2, 0, &s);
    wkp_sink *fs;
    wkp_errbuf err;
    cr_assert_eq(wkp_sink_file_new(csv, WKP_FMT_CSV, &fs, &err), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, fs), WKP_OK);
    const char *f[] = {DATA "wa1kpcap__multi.pcap"};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_ESTOPPED);
    cr_assert_eq(s.n, 3, "no flow after the one that stopped");
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_FLOWS), 3, "the stopping flow counts");
    cr_assert_str_eq(wkp_engine_last_error(e), "stopped on request");
    cr_assert_eq(access(csv, F_OK), -1);
    wkp_engine_free(e);
    cr_assert_eq(rmdir(dir), 0, "no temporary left");
}

struct stopper {
    wkp_engine *e;
    int n, stop_at; /* call wkp_engine_stop at this flow, return 0 */
    int other_thread;
    sem_t go, done;
};

static int stop_at_flow(const wkp_flow *f, void *user)
{
    (void)f;
    struct stopper *st = user;
    if (++st->n == st->stop_at) {
        if (st->other_thread) {
            sem_post(&st->go);
            while (sem_wait(&st->done) != 0)
                ;
        } else {
            wkp_engine_stop(st->e);
        }
    }
    return 0;
}

static void *stop_thread(void *arg)
{
    struct stopper *st = arg;
    while (sem_wait(&st->go) != 0)
        ;
    wkp_engine_stop(st->e);
    sem_post(&st->done);
    return NULL;
}

/* A stop that comes after the last packet was read (at the last flow,
 * which the end-of-file flush ends) still stops the run: WKP_ESTOPPED, the
 * fixed message, no file; from the callback itself or from another thread. */
static void stop_after_last_packet(int other_thread)
{
    const char *cap = DATA "wa1kpcap__multi.pcap";
    int total = count_flows(cap);
    char dir[] = "/tmp/wkp-test-out-XXXXXX", csv[128];
    make_outdir(dir, csv, sizeof csv, "flows.csv");
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *cs, *fs;
    wkp_errbuf err;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    struct stopper st = {.e = e, .stop_at = total, .other_thread = other_thread};
    sem_init(&st.go, 0, 0);
    sem_init(&st.done, 0, 0);
    pthread_t th;
    if (other_thread)
        cr_assert_eq(pthread_create(&th, NULL, stop_thread, &st), 0);
    cr_assert_eq(wkp_sink_callback_new(stop_at_flow, &st, &cs), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cs), WKP_OK);
    cr_assert_eq(wkp_sink_file_new(csv, WKP_FMT_CSV, &fs, &err), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, fs), WKP_OK);
    const char *f[] = {cap};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_ESTOPPED);
    if (other_thread)
        pthread_join(th, NULL);
    cr_assert_eq(st.n, total);
    /* capinfos -c wa1kpcap__multi.pcap: every packet was read before the stop */
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_PACKETS_READ), MULTI_PACKETS);
    cr_assert_str_eq(wkp_engine_last_error(e), "stopped on request");
    cr_assert_eq(access(csv, F_OK), -1);
    wkp_engine_free(e);
    cr_assert_eq(rmdir(dir), 0);
    sem_destroy(&st.go);
    sem_destroy(&st.done);
}

Test(engine, stop_from_the_callback_after_the_last_packet)
{
    stop_after_last_packet(0);
}

Test(engine, stop_from_another_thread_after_the_last_packet)
{
    stop_after_last_packet(1);
}

Test(engine, stop_before_the_run_stops_it_at_once)
{
    struct seen s = {0};
    wkp_engine *e = engine_with(1, 0, &s);
    wkp_engine_stop(e);
    const char *f[] = {DATA "wa1kpcap__multi.pcap"};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_ESTOPPED);
    cr_assert_eq(s.n, 0);
    cr_assert_str_eq(wkp_engine_last_error(e), "stopped on request");
    wkp_engine_stop(NULL); /* a no-op */
    wkp_engine_free(e);
}

Test(engine, a_sink_has_one_owner)
{
    wkp_config *cfg;
    wkp_engine *a, *b;
    wkp_sink *fs, *cs;
    wkp_errbuf err;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &a, NULL), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &b, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_file_new("/nonexistent-dir/x.csv", WKP_FMT_CSV, &fs, &err), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(a, fs), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(a, fs), WKP_ESTATE, "the same engine twice");
    cr_assert_not_null(strstr(wkp_engine_last_error(a), "already belongs"));
    cr_assert_eq(wkp_engine_add_sink(b, fs), WKP_ESTATE, "a second engine");
    cr_assert_not_null(strstr(wkp_engine_last_error(b), "already belongs"));
    wkp_sink_free(fs); /* owned by a: a no-op, a frees it (ASan: no double free) */

    struct seen s = {0};
    cr_assert_eq(wkp_sink_callback_new(collect, &s, &cs), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(b, cs), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(b, cs), WKP_ESTATE);
    const char *f[] = {DATA "wa1kpcap__single.pcap"};
    cr_assert_eq(wkp_engine_run(b, f, 1), WKP_OK, "%s", wkp_engine_last_error(b));
    /* tshark: single.pcap is one TCP conversation: called once, not twice */
    cr_assert_eq(s.n, 1);
    wkp_engine_free(a);
    wkp_engine_free(b);
}

Test(engine, last_error_is_set_on_every_failure)
{
    wkp_config *cfg;
    wkp_engine *e;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    cr_assert_str_eq(wkp_engine_last_error(e), "");
    cr_assert_eq(wkp_engine_add_sink(e, NULL), WKP_EINVAL);
    cr_assert_neq(wkp_engine_last_error(e)[0], '\0');
    cr_assert_eq(wkp_engine_run(e, NULL, 0), WKP_EINVAL);
    cr_assert_str_eq(wkp_engine_last_error(e), "no capture file given");
    cr_assert_eq(wkp_engine_run(e, NULL, 0), WKP_ESTATE);
    cr_assert_not_null(strstr(wkp_engine_last_error(e), "runs once"));
    wkp_sink *s;
    cr_assert_eq(wkp_sink_callback_new(collect, NULL, &s), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_ESTATE);
    cr_assert_not_null(strstr(wkp_engine_last_error(e), "already run"));
    wkp_sink_free(s);
    wkp_engine_free(e);

    /* not a capture: the message names the file */
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    const char *f[] = {DATA "MANIFEST.md"};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_EFORMAT);
    cr_assert_not_null(strstr(wkp_engine_last_error(e), "MANIFEST.md"));
    wkp_engine_free(e);
    wkp_config_free(cfg);
}

/* A device that fails every write with ENOSPC: /dev/full's numbers, made in
 * dir when root (so a regression could only replace our own node), else the
 * real /dev/full (which a non-root run cannot replace). */
static void full_device(const char *dir, char *path, size_t n)
{
    if (geteuid() == 0) {
        snprintf(path, n, "%s/full", dir);
        cr_assert_eq(mknod(path, 0666 | S_IFCHR, makedev(1, 7)), 0);
    } else {
        snprintf(path, n, "/dev/full");
    }
}

static bool summary_has(wkp_engine *e, const char *dir, const char *text)
{
    char p[160];
    snprintf(p, sizeof p, "%s/summary.json", dir);
    wkp_errbuf err;
    cr_assert_eq(wkp_engine_write_summary(e, p, &err), WKP_OK);
    FILE *fp = fopen(p, "r");
    cr_assert_not_null(fp);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    unlink(p);
    return strstr(buf, text) != NULL;
}

Test(engine, a_write_error_names_the_file_and_commits_nothing)
{
    char dir[] = "/tmp/wkp-test-out-XXXXXX", csv[128], dev[128];
    make_outdir(dir, csv, sizeof csv, "flows.csv");
    full_device(dir, dev, sizeof dev);
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *good, *bad;
    wkp_errbuf err;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    /* the good sink first: it finishes cleanly, yet must not be renamed */
    cr_assert_eq(wkp_sink_file_new(csv, WKP_FMT_CSV, &good, &err), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, good), WKP_OK);
    cr_assert_eq(wkp_sink_file_new(dev, WKP_FMT_NDJSON, &bad, &err), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, bad), WKP_OK);
    const char *f[] = {DATA "wa1kpcap__multi.pcap"};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_EIO);
    char want[200];
    snprintf(want, sizeof want, "%s: write error: %s", dev, strerror(ENOSPC));
    cr_assert_str_eq(wkp_engine_last_error(e), want);
    cr_assert_eq(access(csv, F_OK), -1, "no renamed output after a write error");
    struct stat st;
    cr_assert_eq(stat(dev, &st), 0);
    cr_assert(S_ISCHR(st.st_mode), "the device is still a device");
    cr_assert(summary_has(e, dir, "\"status\": \"write error\""));
    cr_assert(summary_has(e, dir, want));
    wkp_engine_free(e);
    if (geteuid() == 0)
        cr_assert_eq(unlink(dev), 0);
    cr_assert_eq(rmdir(dir), 0, "no temporary left");
}

Test(engine, a_path_with_a_line_break_gives_one_line)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    wkp_errbuf err;
    char want[256];
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    /* an output in a directory that does not exist */
    cr_assert_eq(wkp_sink_file_new("/nonexistent-dir/two\nlines.csv", WKP_FMT_CSV, &s, &err),
                 WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    const char *f[] = {DATA "wa1kpcap__single.pcap"};
    cr_expect_eq(wkp_engine_run(e, f, 1), WKP_EIO);
    snprintf(want, sizeof want, "/nonexistent-dir/two\\nlines.csv: cannot create: %s",
             strerror(ENOENT));
    cr_expect_str_eq(wkp_engine_last_error(e), want);
    /* the summary, in that directory too */
    cr_expect_eq(wkp_engine_write_summary(e, "/nonexistent-dir/two\nlines.json", &err), WKP_EIO);
    snprintf(want, sizeof want, "/nonexistent-dir/two\\nlines.json: write error: %s",
             strerror(ENOENT));
    cr_expect_str_eq(err.msg, want);
    wkp_engine_free(e);
    /* a packet sink of a format it does not write */
    cr_expect_eq(wkp_sink_packets_new("two\nlines.json", WKP_FMT_JSON, &s, &err), WKP_EINVAL);
    cr_expect_str_eq(err.msg, "two\\nlines.json: the packet sink writes csv or ndjson");
}

Test(engine, summary_status_says_what_happened)
{
    char dir[] = "/tmp/wkp-test-out-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *f[] = {DATA "wa1kpcap__single.pcap"};
    struct seen s = {0};
    wkp_engine *e = engine_with(1, 0, &s);
    cr_assert(summary_has(e, dir, "\"status\": \"not run\""));
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK);
    cr_assert(summary_has(e, dir, "\"status\": \"ok\",\n  \"error\": null"));
    wkp_engine_free(e);

    struct seen s2 = {.stop_after = 1};
    e = engine_with(1, 0, &s2);
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_ESTOPPED);
    cr_assert(summary_has(e, dir, "\"status\": \"stopped\",\n  \"error\": \"stopped on request\""));
    wkp_engine_free(e);

    struct seen s3 = {0};
    e = engine_with(1, 0, &s3);
    const char *bad[] = {DATA "MANIFEST.md"};
    cr_assert_eq(wkp_engine_run(e, bad, 1), WKP_EFORMAT);
    cr_assert(summary_has(e, dir, "\"status\": \"not a valid capture\""));
    wkp_engine_free(e);
    cr_assert_eq(rmdir(dir), 0);
}

Test(engine, flow_accessors_refuse_null)
{
    cr_assert_eq(wkp_flow_id(NULL), 0);
    cr_assert_str_eq(wkp_flow_capture(NULL), "");
    cr_assert_str_eq(wkp_flow_key(NULL), "");
    cr_assert_str_eq(wkp_flow_src_ip(NULL), "");
    cr_assert_str_eq(wkp_flow_dst_ip(NULL), "");
    cr_assert_eq(wkp_flow_src_port(NULL), 0);
    cr_assert_eq(wkp_flow_dst_port(NULL), 0);
    cr_assert_eq(wkp_flow_protocol(NULL), 0);
    cr_assert_eq(wkp_flow_ip_version(NULL), 0);
    cr_assert_eq(wkp_flow_vlan_id(NULL), 0);
    cr_assert_eq(wkp_flow_start_ns(NULL), 0);
    cr_assert_eq(wkp_flow_end_ns(NULL), 0);
    cr_assert_eq(wkp_flow_packets(NULL, WKP_DIR_BOTH), 0);
    cr_assert_eq(wkp_flow_bytes(NULL, WKP_DIR_UP), 0);
    cr_assert_eq(wkp_flow_tcp_flag_count(NULL, WKP_TCPFLAG_SYN), 0);
    cr_assert_str_eq(wkp_flow_end_reason(NULL), "");
    cr_assert_str_eq(wkp_flow_community_id(NULL), "");
    cr_assert_eq(wkp_flow_retransmissions(NULL), 0);
    cr_assert_eq(wkp_flow_seq_count(NULL), 0);
    cr_assert_eq(wkp_flow_seq_value(NULL, 0, WKP_SEQ_PACKET_LENGTH), 0);
    cr_assert(isnan(wkp_flow_stat(NULL, "packet_count")));
}

struct statnames {
    double count, mean, unknown_block, unknown_stat, unknown_short, unknown_scalar, null_name,
        udp_only;
};

static int read_stats(const wkp_flow *f, void *user)
{
    struct statnames *v = user;
    v->count = wkp_flow_stat(f, "packet_count");
    v->mean = wkp_flow_stat(f, "packet_lengths.mean");
    v->unknown_block = wkp_flow_stat(f, "no_such_block.mean");
    v->unknown_stat = wkp_flow_stat(f, "packet_lengths.no_such_stat");
    v->unknown_short = wkp_flow_stat(f, "pkt_no_such_stat");
    v->unknown_scalar = wkp_flow_stat(f, "no_such_name");
    v->null_name = wkp_flow_stat(f, NULL);
    return 0;
}

Test(engine, an_unknown_statistic_name_is_an_error)
{
    struct statnames v = {0};
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(read_stats, &v, &s), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    const char *f[] = {DATA "wa1kpcap__single.pcap"};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK);
    /* tshark: 27 frames, 6690 bytes in the one conversation */
    cr_assert_float_eq(v.count, 27.0, 0);
    cr_assert_float_eq(v.mean, 6690.0 / 27.0, 1e-9);
    cr_assert(isnan(v.unknown_block));
    cr_assert(isnan(v.unknown_stat));
    cr_assert(isnan(v.unknown_short));
    cr_assert(isnan(v.unknown_scalar));
    cr_assert(isnan(v.null_name));
    wkp_engine_free(e);
}

/* The dependency list names libpcap first with the very text pcap_lib_version()
 * gives, OpenSSL with OpenSSL_version()'s, and ends. */
#include <openssl/crypto.h>
#include <pcap/pcap.h>
Test(engine, dependency_versions_are_the_libraries_own)
{
    const char *name = NULL, *version = NULL;
    cr_assert(wkp_dependency_info(0, &name, &version));
    cr_assert_str_eq(name, "libpcap");
    cr_assert_str_eq(version, pcap_lib_version());
    cr_assert(wkp_dependency_info(1, &name, &version));
    cr_assert_str_eq(name, "OpenSSL");
    cr_assert_str_eq(version, OpenSSL_version(OPENSSL_VERSION));
    size_t n = 0;
    while (wkp_dependency_info(n, NULL, NULL))
        n++;
    cr_assert(n >= 4 && n <= 16, "%zu dependencies", n);
    cr_assert_not(wkp_dependency_info(n, &name, &version));
}

/* wkp_engine_run_live refuses bad options and names a missing interface. */
Test(engine, live_run_checks_its_arguments)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    wkp_engine *e;
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_OK);
    wkp_live_options small = {.size = sizeof(wkp_live_options) - 1};
    cr_assert_eq(wkp_engine_run_live(e, "lo", &small), WKP_EINVAL);
    cr_assert_str_eq(wkp_engine_last_error(e), "wkp_engine_run_live: invalid options");
    wkp_engine_free(e);

    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_OK);
    wkp_live_options neg = {.size = sizeof neg, .duration_s = -1};
    cr_assert_eq(wkp_engine_run_live(e, "lo", &neg), WKP_EINVAL);
    wkp_engine_free(e);

    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_OK);
    cr_assert_eq(wkp_engine_run_live(e, "", NULL), WKP_EINVAL);
    cr_assert_str_eq(wkp_engine_last_error(e), "wkp_engine_run_live: no interface given");
    cr_assert_not(wkp_engine_live_stats(e, NULL, NULL, NULL));
    wkp_engine_free(e);

    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_OK);
    wkp_status st = wkp_engine_run_live(e, "wkpnosuch0", NULL);
    cr_assert_neq(st, WKP_OK);
    cr_assert(strncmp(wkp_engine_last_error(e), "wkpnosuch0: cannot capture", 26) == 0, "%s",
              wkp_engine_last_error(e));
    wkp_engine_free(e);
    wkp_config_free(cfg);
}
