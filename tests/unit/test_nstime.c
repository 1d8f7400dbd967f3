/* Timestamps at the limits (docs/design.md, "Time arithmetic"): the
 * saturating helpers of util/nstime.h, then a whole flow life on
 * tests/data/made__ng_huge_ts.pcapng, whose stamps the reader clamps to
 * the range edges: creation, IATs, the idle decision, the end and the
 * serialised duration and timestamps, all computed by hand below.
 *
 * The capture (tests/data/src/gen_time_frag.py): interface 0 ns stamps of
 * 2^64 - 1 and 2^64 - 2 ticks (past int64: clamped to MAX = 2^62 - 1 ns);
 * interface 1 if_tsoffset -2^63 s (every stamp clamped to MIN = -2^62 ns);
 * interface 2 ordinary ns stamps. Records, in file order:
 *   #1 if1 A up    (MIN)        #5 if2 C down (1700000001.5 s)
 *   #2 if1 B SYN   (MIN)        #6 if1 A up   (MIN)
 *   #3 if2 C up    (1700000000 s)  #7 if0 A down (MAX)
 *   #4 if0 A down  (MAX)
 * A = UDP 192.0.2.31:40031 <-> 198.51.100.31:5031, B = TCP :40032 -> :80,
 * C = UDP 192.0.2.33:40033 <-> 198.51.100.33:5033. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/nstime.h"
#include "wa1kpcap/wa1kpcap.h"

#define CAP WKP_TEST_DATA "/made__ng_huge_ts.pcapng"

/* MAX - MIN = 2^63 - 1 ns; 2^62 = 4611686018427387904. */
#define SPAN INT64_MAX

Test(nstime, helpers_saturate_at_the_int64_limits)
{
    cr_assert_eq(wkp_ns_sub(INT64_MAX, INT64_MIN), INT64_MAX);
    cr_assert_eq(wkp_ns_sub(INT64_MIN, INT64_MAX), INT64_MIN);
    cr_assert_eq(wkp_ns_sub(INT64_MIN, 1), INT64_MIN);
    cr_assert_eq(wkp_ns_sub(INT64_MAX, -1), INT64_MAX);
    cr_assert_eq(wkp_ns_sub(-1, INT64_MAX), INT64_MIN);
    cr_assert_eq(wkp_ns_sub(0, INT64_MIN), INT64_MAX);
    cr_assert_eq(wkp_ns_sub(5, 7), -2);
    cr_assert_eq(wkp_ns_add(INT64_MAX, 1), INT64_MAX);
    cr_assert_eq(wkp_ns_add(INT64_MIN, -1), INT64_MIN);
    cr_assert_eq(wkp_ns_add(INT64_MAX - 300000000000, 300000000000), INT64_MAX);
    cr_assert_eq(wkp_ns_add(-3, 5), 2);
    /* The clamp range: its difference is the largest int64, no saturation. */
    cr_assert_eq(WKP_TS_MAX - WKP_TS_MIN, INT64_MAX);
    cr_assert_eq(wkp_ns_sub(WKP_TS_MIN, WKP_TS_MAX), -INT64_MAX);
    cr_assert_eq(wkp_ts_clamp(INT64_MIN), -4611686018427387904LL);
    cr_assert_eq(wkp_ts_clamp(INT64_MAX), 4611686018427387903LL);
    cr_assert_eq(wkp_ts_clamp(-7), -7);
    cr_assert_eq(wkp_ns_sub_s(WKP_TS_MAX, WKP_TS_MIN), (double)INT64_MAX / 1e9);
}

struct fl {
    int n;
    char key[8][64], reason[8][16];
    int64_t start[8], end[8];
    uint64_t pkts[8];
    double dur[8];
    size_t nseq[8];
    int64_t ts[8][4];
};

static int collect(const wkp_flow *f, void *user)
{
    struct fl *s = user;
    cr_assert_lt(s->n, 8);
    int i = s->n++;
    snprintf(s->key[i], sizeof s->key[i], "%s", wkp_flow_key(f));
    snprintf(s->reason[i], sizeof s->reason[i], "%s", wkp_flow_end_reason(f));
    s->start[i] = wkp_flow_start_ns(f);
    s->end[i] = wkp_flow_end_ns(f);
    s->pkts[i] = wkp_flow_packets(f, WKP_DIR_BOTH);
    s->dur[i] = wkp_flow_stat(f, "duration");
    s->nseq[i] = wkp_flow_seq_count(f);
    for (size_t k = 0; k < s->nseq[i] && k < 4; k++)
        s->ts[i][k] = wkp_flow_seq_value(f, k, WKP_SEQ_TIMESTAMP_NS);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The NDJSON line whose text contains needle. */
static const char *line_with(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    cr_assert_not_null(p, "no line with %s", needle);
    while (p > text && p[-1] != '\n')
        p--;
    return p;
}

static void has(const char *line, const char *what)
{
    const char *nl = strchr(line, '\n');
    const char *p = strstr(line, what);
    cr_assert(p != NULL && (nl == NULL || p < nl), "missing %s in %.200s", what, line);
}

static void run(unsigned threads, double udp_timeout, struct fl *s, char *out)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *sink;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, threads), WKP_OK);
    cr_assert_eq(wkp_config_set_udp_timeout(cfg, udp_timeout), WKP_OK);
    cr_assert_eq(wkp_config_set_default_filter(cfg, NULL), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(collect, s, &sink), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, sink), WKP_OK);
    cr_assert_eq(wkp_sink_file_new(out, WKP_FMT_NDJSON, &sink, NULL), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, sink), WKP_OK);
    const char *f[] = {CAP};
    cr_assert_eq(wkp_engine_run(e, f, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
}

Test(nstime, a_flow_from_the_lowest_to_the_highest_timestamp)
{
    for (unsigned t = 1; t <= 2; t++) {
        char out[] = "/tmp/wkp-nstime-XXXXXX.ndjson";
        int fd = mkstemps(out, 7);
        cr_assert(fd >= 0);
        close(fd);
        struct fl s = {0};
        run(t, 0.0, &s, out);
        /* Output order: B ends first, by the tick at #4 (the clock jumps
         * from MIN to MAX: idle 2^63 - 1 ns > 300 s), then A and C at the end. */
        cr_assert_eq(s.n, 3, "threads %u", t);
        cr_assert_str_eq(s.key[0], "192.0.2.32:40032 -> 198.51.100.32:80 (TCP)");
        cr_assert_str_eq(s.reason[0], "idle_timeout");
        cr_assert_eq(s.start[0], WKP_TS_MIN);
        cr_assert_eq(s.end[0], WKP_TS_MIN);
        cr_assert_str_eq(s.key[1], "192.0.2.31:40031 -> 198.51.100.31:5031 (UDP)");
        cr_assert_str_eq(s.reason[1], "end_of_input");
        cr_assert_eq(s.pkts[1], 4);
        cr_assert_eq(s.start[1], WKP_TS_MIN);
        cr_assert_eq(s.end[1], WKP_TS_MAX);
        /* The duration statistic sums the IATs' magnitudes (stats.c):
         * |MAX - MIN| + |MIN - MAX| + |MAX - MIN| = 3 (2^63 - 1) ns. */
        cr_assert_float_eq(s.dur[1], 3.0 * ((double)SPAN / 1e9), 1e3);
        cr_assert_eq(s.nseq[1], 4);
        cr_assert_eq(s.ts[1][0], WKP_TS_MIN);
        cr_assert_eq(s.ts[1][1], WKP_TS_MAX);
        cr_assert_eq(s.ts[1][2], WKP_TS_MIN);
        cr_assert_eq(s.ts[1][3], WKP_TS_MAX);
        cr_assert_str_eq(s.key[2], "192.0.2.33:40033 -> 198.51.100.33:5033 (UDP)");
        cr_assert_eq(s.start[2], 1700000000000000000LL);
        cr_assert_eq(s.end[2], 1700000001500000000LL);
        cr_assert_float_eq(s.dur[2], 1.5, 1e-9);

        const char *text = slurp(out);
        const char *a = line_with(text, "\"src_port\":40031");
        /* ns stamps: 9 digits; -2^62 ns and 2^62 - 1 ns */
        has(a, "\"start_time\":-4611686018.427387904");
        has(a, "\"end_time\":4611686018.427387903");
        has(a, "\"duration\":9223372036.854775807");
        has(a, "\"timestamps\":[-4611686018.427387904,4611686018.427387903,"
               "-4611686018.427387904,4611686018.427387903]");
        has(a, "\"iats\":[9223372036.854775807,-9223372036.854775807,9223372036.854775807]");
        const char *b = line_with(text, "\"src_port\":40032");
        has(b, "\"duration\":0.000000000");
        has(b, "\"end_reason\":\"idle_timeout\"");
        unlink(out);
    }
}

Test(nstime, idle_decision_across_the_whole_range)
{
    /* udp_timeout 10 s: A's #4 comes 2^63 - 1 ns of clock after #1 and
     * splits it (A1 = #1, idle_timeout); #6 (stamp MIN, clock MAX) and #7
     * stay in A2 = #4 #6 #7, whose IATs are MIN - MAX and MAX - MIN, whose
     * start and end are both MAX (the end is the largest stamp). C's #5
     * comes at clock MAX too (the clock is the largest stamp so far), so C
     * splits as well: C1 = #3, C2 = #5. B as before. 5 flows. */
    char out[] = "/tmp/wkp-nstime-XXXXXX.ndjson";
    int fd = mkstemps(out, 7);
    cr_assert(fd >= 0);
    close(fd);
    struct fl s = {0};
    run(2, 10.0, &s, out);
    cr_assert_eq(s.n, 5);
    int a1 = -1, a2 = -1;
    for (int i = 0; i < s.n; i++) {
        if (strstr(s.key[i], ":40031") || strstr(s.key[i], ":5031 ->")) {
            if (a1 < 0)
                a1 = i;
            else
                a2 = i;
        }
    }
    cr_assert(a1 >= 0 && a2 >= 0);
    cr_assert_eq(s.pkts[a1], 1);
    cr_assert_str_eq(s.reason[a1], "idle_timeout");
    cr_assert_eq(s.start[a1], WKP_TS_MIN);
    cr_assert_eq(s.pkts[a2], 3);
    cr_assert_str_eq(s.reason[a2], "end_of_input");
    cr_assert_str_eq(s.key[a2], "198.51.100.31:5031 -> 192.0.2.31:40031 (UDP)");
    cr_assert_eq(s.start[a2], WKP_TS_MAX);
    cr_assert_eq(s.end[a2], WKP_TS_MAX);
    cr_assert_float_eq(s.dur[a2], 2.0 * ((double)SPAN / 1e9), 1e3);
    int c = 0;
    for (int i = 0; i < s.n; i++)
        if (strstr(s.key[i], ":5033")) {
            cr_assert_eq(s.pkts[i], 1);
            cr_assert_str_eq(s.reason[i], c++ ? "end_of_input" : "idle_timeout");
        }
    cr_assert_eq(c, 2);
    const char *a = line_with(slurp(out), "\"src_port\":5031");
    has(a, "\"duration\":0.000000000");
    has(a, "\"iats\":[-9223372036.854775807,9223372036.854775807]");
    unlink(out);
}
