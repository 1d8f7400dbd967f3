/* The merger's output order, through the engine: flows come out by the
 * stream position where they ended, ties by flow id (the ordinal of the
 * first packet), whatever the worker count, ring size and hand-off bound.
 *
 * The capture: G groups of F UDP flows, 3 packets each. Within a group the
 * packets are interleaved (each round visits the flows in another shuffled
 * order) inside 1 ms; groups start 10 s apart. With a 1 s UDP timeout every
 * flow of a group is idle at the first item of the next group, so the
 * whole group ends at one position (the reader's tick before that packet):
 * F flows tie. The last group ends at end of input, again all at one
 * position. So the expected order is: group by group, and inside a group
 * by the ordinal of the flow's first packet, computed here from the order
 * the packets were written. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wa1kpcap/wa1kpcap.h"
#include "capwriter.h"

enum { G = 4, F = 300, ROUNDS = 3, N = G * F };

struct order {
    uint64_t id[N];
    uint64_t packets[N];
    int group[N]; /* from the source port */
    char reason[N][16];
    size_t n;
};

/* What the capture holds, computed while writing it. */
struct expect {
    uint64_t first_ordinal[N]; /* per flow (index g * F + i) */
    uint64_t order[N];         /* ids in the expected output order */
};

static int collect(const wkp_flow *f, void *user)
{
    struct order *o = user;
    cr_assert_lt(o->n, N, "more flows than written");
    o->id[o->n] = wkp_flow_id(f);
    o->packets[o->n] = wkp_flow_packets(f, WKP_DIR_UP) + wkp_flow_packets(f, WKP_DIR_DOWN);
    unsigned sport = 0;
    /* the flow's key text names the client port: 10.0.0.1:<port> */
    const char *k = wkp_flow_key(f);
    const char *p = strstr(k, "10.0.0.1:");
    cr_assert_not_null(p, "%s", k);
    sport = (unsigned)strtoul(p + 9, NULL, 10);
    o->group[o->n] = (int)((sport - 1024) / F);
    snprintf(o->reason[o->n], sizeof o->reason[0], "%s", wkp_flow_end_reason(f));
    o->n++;
    return 0;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void shuffle(int *v, int n, uint32_t *seed)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(lcg(seed) % (uint32_t)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static void write_capture(const char *path, struct expect *x)
{
    struct capw w;
    capw_open(&w, path);
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    uint32_t seed = 12345;
    uint64_t ordinal = 0;
    size_t out = 0;
    for (int g = 0; g < G; g++) {
        int64_t t = 1700000000000000LL + g * 10000000LL; /* µs */
        int perm[F];
        for (int i = 0; i < F; i++)
            perm[i] = i;
        for (int r = 0; r < ROUNDS; r++) {
            shuffle(perm, F, &seed);
            for (int i = 0; i < F; i++) {
                int flow = g * F + perm[i];
                uint16_t port = (uint16_t)(1024 + flow);
                uint8_t pkt[64];
                /* the middle round is the reply */
                uint32_t n = r == 1 ? capw_udp4(pkt, b, a, 53, port, 10)
                                    : capw_udp4(pkt, a, b, port, 53, 10);
                capw_packet(&w, t++, pkt, n, n);
                ordinal++;
                if (r == 0) {
                    x->first_ordinal[flow] = ordinal;
                    x->order[out++] = ordinal; /* first appearances, in order */
                }
            }
        }
    }
    capw_close(&w);
    cr_assert_eq(out, N);
}

static void run(const char *path, unsigned threads, unsigned slots, bool tiny_handoff,
                struct order *o)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    wkp_errbuf err;
    memset(o, 0, sizeof *o);
    if (tiny_handoff)
        setenv("WKP_HANDOFF_FLOWS", "1", 1); /* a test hook: one queued flow per worker */
    else
        unsetenv("WKP_HANDOFF_FLOWS");
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, threads), WKP_OK);
    cr_assert_eq(wkp_config_set_ring_slots(cfg, slots), WKP_OK);
    cr_assert_eq(wkp_config_set_udp_timeout(cfg, 1.0), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_OK, "%s", err.msg);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(collect, o, &s), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    const char *files[] = {path};
    cr_assert_eq(wkp_engine_run(e, files, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
    unsetenv("WKP_HANDOFF_FLOWS");
}

static void check(const struct order *o, const struct expect *x, const char *what)
{
    cr_assert_eq(o->n, N, "%s: %zu flows", what, o->n);
    for (size_t i = 0; i < N; i++) {
        int g = (int)(i / F);
        cr_assert_eq(o->id[i], x->order[i], "%s: record %zu has id %llu, want %llu", what, i,
                     (unsigned long long)o->id[i], (unsigned long long)x->order[i]);
        cr_assert_eq(o->group[i], g, "%s: record %zu", what, i);
        cr_assert_eq(o->packets[i], ROUNDS, "%s: record %zu", what, i);
        cr_assert_str_eq(o->reason[i], g == G - 1 ? "end_of_input" : "idle_timeout",
                         "%s: record %zu", what, i);
    }
}

static struct expect X;
static struct order O;
static char path[64];

static void setup(void)
{
    capw_tmpname(path, sizeof path, "wkp-merger");
    write_capture(path, &X);
}

static void teardown(void)
{
    unlink(path);
}

TestSuite(merger, .init = setup, .fini = teardown);

/* The expected order holds the ids of first appearances; each flow's id is
 * its first packet's ordinal. */
Test(merger, expected_order_is_first_appearance_within_each_group)
{
    for (int g = 0; g < G; g++)
        for (int i = 1; i < F; i++)
            cr_assert_lt(X.order[g * F + i - 1], X.order[g * F + i]);
    /* the shuffles really interleave: flow index order is not id order */
    int inversions = 0;
    for (int i = 1; i < F; i++)
        inversions += X.first_ordinal[i - 1] > X.first_ordinal[i];
    cr_assert_gt(inversions, F / 4);
}

Test(merger, ties_ordered_by_id_with_one_worker)
{
    run(path, 1, 2048, false, &O);
    check(&O, &X, "-t 1");
}

Test(merger, ties_ordered_by_id_with_four_workers)
{
    run(path, 4, 2048, false, &O);
    check(&O, &X, "-t 4");
}

/* 2-slot rings and a one-flow hand-off: every flow waits for the merger,
 * which must still hold back a worker's head until every idle worker's
 * watermark has passed it. */
Test(merger, ties_ordered_by_id_under_back_pressure)
{
    for (unsigned t = 2; t <= 4; t++) {
        run(path, t, 2, true, &O);
        char what[32];
        snprintf(what, sizeof what, "-t %u --ring-slots 2", t);
        check(&O, &X, what);
    }
}
