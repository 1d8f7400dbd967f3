/* Flow lifecycle (start, TCP close and reuse, timeouts), sequences and
 * statistics through the public API, on TCP captures the test writes
 * itself. Every expected value is worked out by hand in the comments. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wa1kpcap/wa1kpcap.h"
#include "capwriter.h"

#define DATA WKP_TEST_DATA "/"

enum { F = 0x01, S = 0x02, R = 0x04, P = 0x08, A = 0x10 };

struct tpkt {
    int64_t t_us;
    int reverse; /* 0: 10.0.0.1:40000 -> 10.0.0.2:80, 1: the other way */
    uint8_t flags;
    uint32_t seq;
    uint16_t payload;
};

/* Ethernet + IPv4 + 20-byte TCP + payload (zero bytes). */
static void write_tcp_pcap(const char *path, const struct tpkt *v, int n)
{
    struct capw w;
    capw_open(&w, path);
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    for (int i = 0; i < n; i++) {
        static uint8_t pkt[14 + 20 + 20 + 1500];
        cr_assert_leq(v[i].payload, 1500);
        uint16_t sp = v[i].reverse ? 80 : 40000, dp = v[i].reverse ? 40000 : 80;
        uint32_t len = capw_tcp4(pkt, v[i].reverse ? b : a, v[i].reverse ? a : b, sp, dp, v[i].seq,
                                 v[i].flags, v[i].payload);
        capw_packet(&w, v[i].t_us, pkt, len, len);
    }
    capw_close(&w);
}

struct got {
    int n;
    uint64_t id[16], pkts[16], syn[16];
    char reason[16][16];
    double stat[16][4];
    size_t nseq[16];
};

static int collect(const wkp_flow *f, void *user)
{
    struct got *g = user;
    int i = g->n++;
    if (i >= 16)
        return 0;
    g->id[i] = wkp_flow_id(f);
    g->pkts[i] = wkp_flow_packets(f, WKP_DIR_BOTH);
    g->syn[i] = wkp_flow_tcp_flag_count(f, WKP_TCPFLAG_SYN);
    snprintf(g->reason[i], 16, "%s", wkp_flow_end_reason(f));
    g->stat[i][0] = wkp_flow_stat(f, "packet_lengths.mean");
    g->stat[i][1] = wkp_flow_stat(f, "pkt_median");
    g->stat[i][2] = wkp_flow_stat(f, "packet_lengths.count");
    g->stat[i][3] = wkp_flow_stat(f, "duration");
    g->nseq[i] = wkp_flow_seq_count(f);
    return 0;
}

typedef wkp_status (*cfg_fn)(wkp_config *);

/* Run the engine on path with callback cb; the caller frees the engine. */
static wkp_engine *run_cb(const char *path, wkp_flow_fn cb, void *user, cfg_fn tweak,
                          unsigned threads)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, threads), WKP_OK);
    if (tweak)
        cr_assert_eq(tweak(cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(cb, user, &s), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    const char *files[] = {path};
    cr_assert_eq(wkp_engine_run(e, files, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    return e;
}

static wkp_engine *run(const char *path, struct got *g, cfg_fn tweak, unsigned threads)
{
    return run_cb(path, collect, g, tweak, threads);
}

static char *tmp_pcap(const struct tpkt *v, int n)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/wkp-life-XXXXXX.pcap");
    int fd = mkstemps(path, 5);
    cr_assert(fd >= 0);
    close(fd);
    write_tcp_pcap(path, v, n);
    return path;
}

/* SYN, SYN-ACK, FIN, FIN, ACK, then a SYN with a new sequence number and a
 * RST. Both FINs make the flow closed, so the
 * second SYN (seq 5000 != the first SYN's 1000) ends it (new_syn) at packet
 * 6 and opens flow 6 with the SYN and the RST. */
static const struct tpkt reuse[] = {
    {1000000, 0, S, 1000, 0},     {1000100, 1, S | A, 9000, 0}, {1000200, 0, F | A, 1001, 0},
    {1000300, 1, F | A, 9001, 0}, {1000400, 0, A, 1002, 0},     {1000500, 0, S, 5000, 0},
    {1000600, 1, R | A, 9002, 0},
};

Test(lifecycle, syn_after_fin_starts_a_new_flow)
{
    char *path = tmp_pcap(reuse, 7);
    for (unsigned t = 1; t <= 2; t++) {
        struct got g = {0};
        wkp_engine *e = run(path, &g, NULL, t);
        cr_assert_eq(g.n, 2);
        cr_assert_eq(g.id[0], 1);
        cr_assert_eq(g.pkts[0], 5);
        cr_assert_str_eq(g.reason[0], "new_syn");
        cr_assert_eq(g.id[1], 6);
        cr_assert_eq(g.pkts[1], 2);
        cr_assert_eq(g.syn[1], 1);
        wkp_engine_free(e);
    }
    unlink(path);
}

static wkp_status compat_keep(wkp_config *c)
{
    wkp_status st = wkp_config_set_compat(c, true);
    return st ? st : wkp_config_set_filter_retrans(c, false);
}

Test(lifecycle, compat_keeps_one_flow_as_the_original)
{
    /* The original wa1kpcap: one 7-packet flow, syn_count 3 (SYN, SYN-ACK, SYN). */
    char *path = tmp_pcap(reuse, 7);
    struct got g = {0};
    wkp_engine *e = run(path, &g, compat_keep, 1);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.pkts[0], 7);
    cr_assert_eq(g.syn[0], 3);
    wkp_engine_free(e);
    unlink(path);
}

Test(lifecycle, retransmitted_syn_is_dropped_not_a_new_flow)
{
    /* SYN seq 1000 twice: the second has seg = 1, end = 1001 = next_seq,
     * so d = 0: a retransmission (nothing beyond next_seq), dropped and
     * counted. */
    struct tpkt v[] = {
        {1000000, 0, S, 1000, 0}, {2000000, 0, S, 1000, 0}, {2000100, 1, S | A, 7000, 0}};
    char *path = tmp_pcap(v, 3);
    struct got g = {0};
    wkp_engine *e = run(path, &g, NULL, 1);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.pkts[0], 2);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_RETRANSMISSION), 1);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_IN_FLOW) +
                     wkp_engine_counter(e, WKP_CNT_RETRANSMISSION),
                 wkp_engine_counter(e, WKP_CNT_PACKETS_READ));
    wkp_engine_free(e);
    unlink(path);
}

Test(lifecycle, closed_flow_ends_after_the_close_timeout_as_fin)
{
    /* FIN each way and the last ACK at 1.0003 s; 61 s later more data: the
     * closed flow was idle 61 s > 60 s (the default close timeout, TCP's
     * TIME_WAIT), so it ended as "fin" and the data opens flow 4. */
    struct tpkt v[] = {{1000000, 0, F | A, 100, 0},
                       {1000100, 1, F | A, 200, 0},
                       {1000300, 0, A, 101, 0},
                       {62000000, 0, P | A, 101, 10}};
    char *path = tmp_pcap(v, 4);
    struct got g = {0};
    wkp_engine *e = run(path, &g, NULL, 1);
    cr_assert_eq(g.n, 2);
    cr_assert_str_eq(g.reason[0], "fin");
    cr_assert_eq(g.pkts[0], 3);
    cr_assert_eq(g.id[1], 4);
    wkp_engine_free(e);
    unlink(path);
}

static wkp_status filters_on(wkp_config *c)
{
    wkp_status st = wkp_config_set_filter_ack(c, true);
    return st ? st : wkp_config_set_filter_rst(c, true);
}

Test(lifecycle, ack_and_rst_filters_drop_before_the_lookup)
{
    /* The pure ACK (flags 0x10, 20-byte header, no payload) and the RST are
     * dropped; the ACK with 10 bytes of payload stays. 5 read = 3 in flow +
     * 1 ack_filtered + 1 rst_filtered. */
    struct tpkt v[] = {{1000000, 0, S, 1, 0},
                       {1000100, 1, S | A, 50, 0},
                       {1000200, 0, A, 2, 0},
                       {1000300, 0, P | A, 2, 10},
                       {1000400, 1, R | A, 51, 0}};
    char *path = tmp_pcap(v, 5);
    struct got g = {0};
    wkp_engine *e = run(path, &g, filters_on, 1);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.pkts[0], 3);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_ACK_FILTERED), 1);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_RST_FILTERED), 1);
    cr_assert_eq(wkp_engine_counter(e, WKP_CNT_IN_FLOW), 3);
    wkp_engine_free(e);
    unlink(path);
}

Test(lifecycle, single_pcap_statistics_match_a_hand_count)
{
    /* packet_lengths mean 6690 / 27 = 247.777..., median 92;
     * duration 0.166290 (sum of the IATs = last - first timestamp). */
    struct got g = {0};
    wkp_engine *e = run(DATA "wa1kpcap__single.pcap", &g, NULL, 1);
    cr_assert_eq(g.n, 1);
    cr_assert_float_eq(g.stat[0][0], 6690.0 / 27.0, 1e-12);
    cr_assert_float_eq(g.stat[0][1], 92.0, 0);
    cr_assert_float_eq(g.stat[0][2], 27.0, 0);
    cr_assert_float_eq(g.stat[0][3], 0.166290, 1e-12);
    cr_assert_eq(g.nseq[0], 27);
    wkp_engine_free(e);
}

static wkp_status max5(wkp_config *c)
{
    return wkp_config_set_max_seq(c, 5);
}

Test(lifecycle, max_seq_keeps_moments_exact_and_medians_over_stored)
{
    /* The first 5 packet lengths of single.pcap are 66, -66, 54, 521, -54
     * (signed: negative is the reply): median of |x| = 66. The mean still covers all 27 packets. */
    struct got g = {0};
    wkp_engine *e = run(DATA "wa1kpcap__single.pcap", &g, max5, 1);
    cr_assert_float_eq(g.stat[0][0], 6690.0 / 27.0, 1e-12);
    cr_assert_float_eq(g.stat[0][1], 66.0, 0);
    cr_assert_float_eq(g.stat[0][2], 27.0, 0);
    cr_assert_eq(g.nseq[0], 5);
    wkp_engine_free(e);
}

/* Two-pass moments of v[0..n) in long double: the sum, the mean and the
 * central moments Σ(v - mean)^j / n for j = 2, 3, 4. */
struct moments {
    long double sum, mean, m2, m3, m4;
};

static struct moments moments_of(const long double *v, size_t n)
{
    struct moments mo = {0};
    for (size_t i = 0; i < n; i++)
        mo.sum += v[i];
    mo.mean = mo.sum / n;
    for (size_t i = 0; i < n; i++) {
        long double d = v[i] - mo.mean;
        mo.m2 += d * d;
        mo.m3 += d * d * d;
        mo.m4 += d * d * d * d;
    }
    mo.m2 /= n;
    mo.m3 /= n;
    mo.m4 /= n;
    return mo;
}

/* One TCP flow of 300 packets, 1 ms apart: a SYN (54 bytes), then 299
 * PSH|ACK segments alternating direction (reply first) with payload
 * (i % 10)^2 * 10 for packet i, so packet i is 54 + (i % 10)^2 * 10 bytes:
 * 54, 64, 94, 144, 214, 304, 414, 544, 694, 864, repeating (skewed).
 * Past max_seq a flow keeps its later records apart until 128 of them,
 * then folds them into running sums: max_seq 5 and 171 fold (295 and 129
 * later packets), 172 and 200 keep theirs to the end (128 and 100), 0
 * stores every packet. Each must give the statistics of a two-pass
 * computation over the 300 lengths, the median of the stored ones and
 * the flags of every packet; and the capped runs, which add the same
 * values in the same order whenever they fold, the same bits. */
enum { LONG_N = 300 };
static int long_max_seq;
static double long_median, long_first[5];
static bool long_have_first;

static wkp_status long_cfg(wkp_config *c)
{
    return wkp_config_set_max_seq(c, (uint64_t)long_max_seq);
}

static long double long_len(int i)
{
    return 54 + (i % 10) * (i % 10) * 10;
}

static int long_check(const wkp_flow *f, void *user)
{
    int *seen = user;
    (*seen)++;
    long double len[LONG_N];
    for (int i = 0; i < LONG_N; i++)
        len[i] = long_len(i);
    struct moments mo = moments_of(len, LONG_N);
    long double sum = mo.sum, mean = mo.mean, m2 = mo.m2, m3 = mo.m3, m4 = mo.m4;
    size_t stored = long_max_seq ? (size_t)long_max_seq : LONG_N;
    cr_assert_eq(wkp_flow_packets(f, WKP_DIR_BOTH), LONG_N);
    cr_assert_eq(wkp_flow_seq_count(f), stored);
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.count"), LONG_N, 0);
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.sum"), (double)sum, 0);
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.mean"), (double)mean, 1e-12);
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.var"), (double)m2, 1e-9 * (double)m2);
    double skew = (double)(m3 / powl(m2, 1.5L)), kurt = (double)(m4 / (m2 * m2) - 3);
    cr_assert(skew > 0.3, "skew %g: the lengths should be skewed", skew);
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.skew"), skew, 1e-9);
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.kurt"), kurt, 1e-9);
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.min"), 54, 0);
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.max"), 864, 0);
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.median"), long_median, 0);
    /* up: the SYN and the 149 even-numbered segments; 299 gaps of 1 ms */
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.up_count"), 150, 0);
    cr_assert_float_eq(wkp_flow_stat(f, "iats.count"), LONG_N - 1, 0);
    cr_assert_float_eq(wkp_flow_stat(f, "iats.mean"), 0.001, 1e-12);
    cr_assert_eq(wkp_flow_tcp_flag_count(f, WKP_TCPFLAG_SYN), 1);
    cr_assert_eq(wkp_flow_tcp_flag_count(f, WKP_TCPFLAG_PSH), LONG_N - 1);
    cr_assert_eq(wkp_flow_tcp_flag_count(f, WKP_TCPFLAG_ACK), LONG_N - 1);
    static const char *const same[5] = {"packet_lengths.mean", "packet_lengths.var",
                                        "packet_lengths.skew", "packet_lengths.kurt", "iats.std"};
    for (int k = 0; long_max_seq && k < 5; k++) {
        double v = wkp_flow_stat(f, same[k]);
        if (!long_have_first)
            long_first[k] = v;
        cr_assert(memcmp(&v, &long_first[k], sizeof v) == 0, "max_seq %d %s: %.17g, not %.17g",
                  long_max_seq, same[k], v, long_first[k]);
    }
    long_have_first = long_have_first || long_max_seq;
    return 0;
}

Test(lifecycle, statistics_past_max_seq_cover_every_packet_before_and_after_the_fold)
{
    static struct tpkt v[LONG_N];
    uint32_t next[2] = {1000, 9000};
    for (int i = 0; i < LONG_N; i++) {
        int d = i ? i % 2 : 0;
        uint16_t pay = (uint16_t)((i % 10) * (i % 10) * 10);
        v[i] =
            (struct tpkt){1000000 + 1000 * (int64_t)i, d, (uint8_t)(i ? P | A : S), next[d], pay};
        next[d] += i ? pay : 1;
    }
    char *path = tmp_pcap(v, LONG_N);
    /* Medians of the stored lengths (ascending in i % 10). 5 stored: 54 64
     * 94 144 214, so 94. 171 stored (i = 0..170): 18 of 54, 17 of each
     * other, so the 86th is the fifth value, 214; 172: 18 of 54 and of 64,
     * the 86th and 87th are 214. 200 and 300: each value 20 (30) times, so
     * (214 + 304) / 2 = 259. */
    static const struct {
        int max_seq;
        double median;
    } c[] = {{5, 94}, {171, 214}, {172, 214}, {200, 259}, {0, 259}};
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        long_max_seq = c[k].max_seq;
        long_median = c[k].median;
        for (unsigned t = 1; t <= 2; t++) {
            int seen = 0;
            wkp_engine *e = run_cb(path, long_check, &seen, long_cfg, t);
            cr_assert_eq(seen, 1, "max_seq %d -t %u", long_max_seq, t);
            wkp_engine_free(e);
        }
    }
    unlink(path);
}

/* Later fragments of TCP datagrams without IP reassembly: each is keyed
 * with ports 0 to one TCP flow of 140 packets whose records carry no TCP
 * header (flags and window 0). Uncapped, the flow's tcp_flags and
 * tcp_window blocks count all 140 zeros; past max_seq 5 (135 later
 * packets: a fold) they must count the same, as the blocks follow the
 * flow's protocol, not the packet's. */
enum { FRAG_N = 140 };

static wkp_status frag_cfg(wkp_config *c)
{
    wkp_status st = wkp_config_set_reassembly(c, false);
    return st == WKP_OK ? wkp_config_set_max_seq(c, (uint64_t)long_max_seq) : st;
}

static int frag_check(const wkp_flow *f, void *user)
{
    int *seen = user;
    (*seen)++;
    cr_assert_eq(wkp_flow_packets(f, WKP_DIR_BOTH), FRAG_N);
    cr_assert_float_eq(wkp_flow_stat(f, "tcp_flags.count"), FRAG_N, 0, "max_seq %d", long_max_seq);
    cr_assert_float_eq(wkp_flow_stat(f, "tcp_window.count"), FRAG_N, 0, "max_seq %d", long_max_seq);
    cr_assert_float_eq(wkp_flow_stat(f, "tcp_flags.max"), 0, 0);
    /* every fragment is 14 + 20 + 100 = 134 bytes */
    cr_assert_float_eq(wkp_flow_stat(f, "packet_lengths.sum"), 134.0 * FRAG_N, 0);
    return 0;
}

Test(lifecycle, tcp_blocks_past_max_seq_follow_the_flow_protocol)
{
    char path[64];
    capw_tmpname(path, sizeof path, "wkp-frag");
    struct capw w;
    capw_open(&w, path);
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    for (int i = 0; i < FRAG_N; i++) {
        uint8_t pkt[14 + 20 + 100];
        uint32_t off = capw_eth_ipv4(pkt, a, b, 6, 100);
        memset(pkt + off, 0xab, 100);
        pkt[14 + 4] = (uint8_t)(i >> 8); /* identification: one datagram each */
        pkt[14 + 5] = (uint8_t)i;
        pkt[14 + 7] = 16; /* fragment offset 16 * 8 bytes, last fragment */
        capw_packet(&w, 1000000 + 1000 * (int64_t)i, pkt, sizeof pkt, sizeof pkt);
    }
    capw_close(&w);
    static const int max_seqs[] = {0, 5};
    for (size_t k = 0; k < 2; k++) {
        long_max_seq = max_seqs[k];
        int seen = 0;
        wkp_engine *e = run_cb(path, frag_check, &seen, frag_cfg, 1);
        cr_assert_eq(seen, 1, "max_seq %d", long_max_seq);
        wkp_engine_free(e);
    }
    unlink(path);
}

/* A second method: for every flow of multi.pcap, recompute the
 * packet_lengths and iats statistics from the flow's own sequences with a
 * two-pass formula in long double and compare to 1e-9 relative. */
static int cmp_ld(const void *a, const void *b)
{
    long double x = *(const long double *)a, y = *(const long double *)b;
    return x < y ? -1 : x > y;
}

static void check_block(const wkp_flow *f, const char *block, long double *v, size_t n)
{
    if (n == 0)
        return;
    struct moments mo = moments_of(v, n);
    long double sum = mo.sum, mean = mo.mean, m2 = mo.m2, m3 = mo.m3, m4 = mo.m4;
    qsort(v, n, sizeof *v, cmp_ld);
    long double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    struct {
        const char *stat;
        long double want;
    } c[] = {
        {"mean", mean},
        {"var", m2},
        {"std", sqrtl(m2)},
        {"median", median},
        {"sum", sum},
        {"skew", n < 2 || m2 == 0 ? 0 : m3 / powl(m2, 1.5L)},
        {"kurt", n < 2 || m2 == 0 ? 0 : m4 / (m2 * m2) - 3},
    };
    char name[64];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        snprintf(name, sizeof name, "%s.%s", block, c[i].stat);
        double got = wkp_flow_stat(f, name);
        double want = (double)c[i].want;
        double tol = 1e-9 * fabs(want) + 1e-12;
        /* skew and kurt of nearly constant sequences are ill-conditioned */
        if ((!strcmp(c[i].stat, "skew") || !strcmp(c[i].stat, "kurt")) && m2 < 1e-6L * mean * mean)
            continue;
        cr_assert(fabs(got - want) <= tol, "flow %llu %s: %.17g vs %.17g",
                  (unsigned long long)wkp_flow_id(f), name, got, want);
    }
}

static int two_pass(const wkp_flow *f, void *user)
{
    int *checked = user;
    size_t n = wkp_flow_seq_count(f);
    long double *v = calloc(n ? n : 1, sizeof *v);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = fabsl((long double)wkp_flow_seq_value(f, i, WKP_SEQ_PACKET_LENGTH));
    check_block(f, "packet_lengths", v, n);
    for (size_t i = 1; i < n; i++)
        v[i - 1] = fabsl((long double)(wkp_flow_seq_value(f, i, WKP_SEQ_TIMESTAMP_NS) -
                                       wkp_flow_seq_value(f, i - 1, WKP_SEQ_TIMESTAMP_NS)) /
                         1e9L);
    check_block(f, "iats", v, n ? n - 1 : 0);
    free(v);
    (*checked)++;
    return 0;
}

Test(lifecycle, statistics_agree_with_a_two_pass_recomputation)
{
    int checked = 0;
    wkp_engine *e = run_cb(DATA "wa1kpcap__multi.pcap", two_pass, &checked, NULL, 0);
    cr_assert_eq((uint64_t)checked, wkp_engine_counter(e, WKP_CNT_FLOWS));
    cr_assert_geq(checked, 140); /* multi.pcap: 140 flows with the default filter */
    wkp_engine_free(e);
}

static int single_details(const wkp_flow *f, void *user)
{
    /* single.pcap, as the original measured: syn 2, fin 2, ack 26, psh 13; windows min 83,
     * max 65535, sum 111994; ratios 13/14 = 0.928571... and 2171/4519 =
     * 0.480416...; duration 0.166290 (last - first timestamp). */
    int *ok = user;
    cr_assert_eq(wkp_flow_tcp_flag_count(f, WKP_TCPFLAG_SYN), 2);
    cr_assert_eq(wkp_flow_tcp_flag_count(f, WKP_TCPFLAG_FIN), 2);
    cr_assert_eq(wkp_flow_tcp_flag_count(f, WKP_TCPFLAG_ACK), 26);
    cr_assert_eq(wkp_flow_tcp_flag_count(f, WKP_TCPFLAG_PSH), 13);
    cr_assert_float_eq(wkp_flow_stat(f, "tcp_window.min"), 83.0, 0);
    cr_assert_float_eq(wkp_flow_stat(f, "tcp_window.max"), 65535.0, 0);
    cr_assert_float_eq(wkp_flow_stat(f, "tcp_window.sum"), 111994.0, 0);
    cr_assert_float_eq(wkp_flow_stat(f, "up_down_pkt_ratio"), 13.0 / 14.0, 1e-15);
    cr_assert_float_eq(wkp_flow_stat(f, "up_down_byte_ratio"), 2171.0 / 4519.0, 1e-15);
    cr_assert_float_eq(wkp_flow_stat(f, "pkt_up_std"), 177.95807630753072, 1e-9);
    cr_assert_eq(wkp_flow_end_ns(f) - wkp_flow_start_ns(f), 166290000);
    cr_assert_str_eq(wkp_flow_end_reason(f), "end_of_input");
    (*ok)++;
    return 0;
}

Test(lifecycle, single_pcap_details_match_the_original)
{
    int ok = 0;
    wkp_engine *e = run_cb(DATA "wa1kpcap__single.pcap", single_details, &ok, NULL, 0);
    cr_assert_eq(ok, 1);
    wkp_engine_free(e);
}

Test(lifecycle, stray_segment_within_time_wait_joins_the_closed_flow)
{
    /* As multi.pcap shows (ACKs and RSTs 12-20 s after both FINs), stray
     * segments after a close belong to the connection: 20 s < 60 s, so the
     * late ACK is the closed flow's fourth packet (the capture then ends). */
    struct tpkt v[] = {{1000000, 0, F | A, 100, 0},
                       {1000100, 1, F | A, 200, 0},
                       {1000300, 0, A, 101, 0},
                       {21000000, 1, A, 201, 0}};
    char *path = tmp_pcap(v, 4);
    struct got g = {0};
    wkp_engine *e = run(path, &g, NULL, 1);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.pkts[0], 4);
    cr_assert_str_eq(g.reason[0], "end_of_input");
    wkp_engine_free(e);
    unlink(path);
}
