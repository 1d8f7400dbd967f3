/* The worker -> merger hand-off (engine/merger.c): bounded, in order, and
 * the same for any worker count, ring size and bound. The counter read here
 * (records alive: built by a worker, not yet freed by the merger) is the
 * engine's, independent of the queues it checks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"
#include "wa1kpcap/wa1kpcap.h"
#include "capwriter.h"

#define NFLOWS 3000

struct got {
    uint64_t n;
    uint64_t id[NFLOWS];
    char reason[NFLOWS][16];
    int sleep_us;
};

static int on_flow(const wkp_flow *f, void *user)
{
    struct got *g = user;
    if (g->n < NFLOWS) {
        g->id[g->n] = wkp_flow_id(f);
        snprintf(g->reason[g->n], sizeof g->reason[0], "%s", wkp_flow_end_reason(f));
    }
    g->n++;
    if (g->sleep_us) {
        struct timespec ts = {0, g->sleep_us * 1000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* nflows one-packet UDP flows, 10.0.0.1:(1024+i) -> 10.0.0.2:53, packet i
 * (ordinal i + 1) at t = i ms. */
static void write_capture(const char *path, int nflows)
{
    struct capw w;
    capw_open(&w, path);
    static const uint8_t a[4] = {10, 0, 0, 1};
    for (int i = 0; i < nflows; i++) {
        uint8_t pkt[52];
        const uint8_t b[4] = {10, 0, (uint8_t)(i / 60000), 2}; /* 10.0.k.2 past 60000 flows */
        uint32_t n = capw_udp4(pkt, a, b, (uint16_t)(1024 + i % 60000), 53, 10);
        capw_packet(&w, i * 1000LL, pkt, n, n);
    }
    capw_close(&w);
}

static wkp_status run(const char *path, unsigned threads, unsigned slots, double udp_to,
                      struct got *g, uint64_t *peak)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, threads), WKP_OK);
    cr_assert_eq(wkp_config_set_ring_slots(cfg, slots), WKP_OK);
    cr_assert_eq(wkp_config_set_udp_timeout(cfg, udp_to), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(on_flow, g, &s), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    const char *files[] = {path};
    wkp_status st = wkp_engine_run(e, files, 1);
    *peak = atomic_load(&e->flows_live_peak);
    wkp_engine_free(e);
    return st;
}

static char *capture(int nflows)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/wkp-handoff-%d.pcap", (int)getpid());
    write_capture(path, nflows);
    return path;
}

/* All NFLOWS flows end at the one flush position (timeouts far longer than
 * the capture): the old unbounded hand-off held all of them at once. A
 * 100 us callback makes the merger the bottleneck; records alive can then
 * be at most, per worker, the queue (4) + the one being queued + the one a
 * packet may stage beside it, plus the one the merger is writing. */
Test(handoff, slow_callback_keeps_records_in_flight_bounded)
{
    char *path = capture(NFLOWS);
    setenv("WKP_HANDOFF_FLOWS", "4", 1);
    static struct got g;
    memset(&g, 0, sizeof g);
    g.sleep_us = 100;
    uint64_t peak = 0;
    cr_assert_eq(run(path, 2, 2048, 3600, &g, &peak), WKP_OK);
    unsetenv("WKP_HANDOFF_FLOWS");
    cr_assert_eq(g.n, NFLOWS);
    for (uint64_t i = 0; i < NFLOWS; i++) /* one position: by first packet ordinal */
        cr_assert_eq(g.id[i], i + 1, "flow %lu has id %lu", (unsigned long)i,
                     (unsigned long)g.id[i]);
    cr_assert_leq(peak, 2 * (4 + 2) + 1, "peak %lu records alive", (unsigned long)peak);
    cr_assert_geq(peak, 2, "the counter counts");
    unlink(path);
}

/* Idle expiry at ticks (udp timeout 0.5 s: flows expire in batches as the
 * capture clock moves) and the final flush, at 1, 2, 3 and 4 workers, 2 and
 * 2048 ring slots, hand-off bounds 1 and the default: one sequence. Ticks
 * come every 1024 packets or 1 s of capture time; flow i ends at the first
 * tick with clock > t_i + 0.5 s, so ids come out ascending whatever the
 * batching: expected order is 1..NFLOWS. */
Test(handoff, order_is_the_same_for_any_workers_rings_and_bound)
{
    char *path = capture(NFLOWS);
    static struct got g;
    static const unsigned threads[] = {1, 2, 3, 4};
    static const unsigned slots[] = {2, 2048};
    static const char *bound[] = {"1", NULL};
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 4; t++)
            for (int s = 0; s < 2; s++) {
                if (bound[b])
                    setenv("WKP_HANDOFF_FLOWS", bound[b], 1);
                else
                    unsetenv("WKP_HANDOFF_FLOWS");
                memset(&g, 0, sizeof g);
                uint64_t peak;
                cr_assert_eq(run(path, threads[t], slots[s], 0.5, &g, &peak), WKP_OK);
                cr_assert_eq(g.n, NFLOWS);
                uint64_t idle = 0;
                for (uint64_t i = 0; i < NFLOWS; i++) {
                    cr_assert_eq(g.id[i], i + 1, "-t %u slots %u bound %s: flow %lu has id %lu",
                                 threads[t], slots[s], bound[b] ? bound[b] : "default",
                                 (unsigned long)i, (unsigned long)g.id[i]);
                    idle += strcmp(g.reason[i], "idle_timeout") == 0;
                }
                /* flows within 0.5 s of the last packet (t = 2.999 s) are
                 * still open at the end; the others expired: at least those
                 * before t = 2.999 - 1 - 0.5 s (a tick at least every s) */
                cr_assert_geq(idle, 1499, "%lu idle", (unsigned long)idle);
                cr_assert_leq(idle, NFLOWS - 500);
            }
    unsetenv("WKP_HANDOFF_FLOWS");
    unlink(path);
}

/* A worker waiting for the merger must not hold up another worker (a
 * worker that waited on it, for an RCU grace period or anything else, would
 * never publish the watermark the merger waits for). 40000 flows expiring
 * in batches, 2 and 3 workers, one-flow hand-off, default rings (a worker
 * may run ahead of another): must finish with every flow; the timeout turns
 * a hang into a failure. */
Test(handoff, waiting_worker_does_not_block_reclaim, .timeout = 120)
{
    char *path = capture(40000);
    setenv("WKP_HANDOFF_FLOWS", "1", 1);
    static struct got g;
    memset(&g, 0, sizeof g);
    uint64_t peak;
    for (unsigned t = 2; t <= 3; t++) {
        g.n = 0;
        cr_assert_eq(run(path, t, 2048, 0.5, &g, &peak), WKP_OK);
        cr_assert_eq(g.n, 40000);
        cr_assert_leq(peak, t * (1 + 2) + 1);
    }
    unsetenv("WKP_HANDOFF_FLOWS");
    unlink(path);
}

/* The queue alone, one thread: capacity in records, the byte bound beyond
 * the first record, FIFO order. */
Test(handoff, queue_bounds_records_and_bytes)
{
    _Atomic int stop = 0;
    _Atomic uint32_t wake = 0;
    _Atomic int sleeping = 0;
    struct wkp_flowq q;
    cr_assert_eq(wkp_flowq_init(&q, 4, 1000, &stop, &wake, &sleeping), 0);
    struct wkp_flowq_slot s = {0, 0, NULL, 600};
    /* 600 bytes: the first fits alone, a second would make 1200 > 1000 */
    s.id = 1;
    cr_assert(wkp_flowq_try_push(&q, &s));
    s.id = 2;
    cr_assert_not(wkp_flowq_try_push(&q, &s));
    /* a record bigger than the whole budget still goes into an empty queue */
    wkp_flowq_pop(&q);
    s.bytes = 5000;
    cr_assert(wkp_flowq_try_push(&q, &s));
    wkp_flowq_pop(&q);
    /* 4 records of 100 bytes: the fifth finds no slot */
    s.bytes = 100;
    for (uint64_t i = 10; i < 14; i++) {
        s.id = i;
        cr_assert(wkp_flowq_try_push(&q, &s));
    }
    s.id = 14;
    cr_assert_not(wkp_flowq_try_push(&q, &s));
    /* a stopped run: a blocking push gives up instead of waiting */
    stop = 1;
    cr_assert_not(wkp_flowq_push(&q, &s));
    for (uint64_t i = 10; i < 14; i++) {
        const struct wkp_flowq_slot *p = wkp_flowq_peek(&q);
        cr_assert_not_null(p);
        cr_assert_eq(p->id, i);
        wkp_flowq_pop(&q);
    }
    cr_assert_null(wkp_flowq_peek(&q));
    wkp_flowq_fini(&q);
}

/* A record the merger is done with goes back to its worker emptied (every
 * field zero again but its text buffers, which are kept up to 16 KiB and
 * freed above) and is handed out again before any new one is allocated,
 * the last given back first. */
Test(handoff, records_given_back_are_reused_emptied)
{
    struct wkp_engine *e = calloc(1, sizeof *e);
    struct wkp_worker *w = calloc(1, sizeof *w);
    cr_assert(e && w);
    w->e = e;
    e->count_live = true; /* as the hand-off's test hooks set it */
    struct wkp_flow *a = wkp__record_new(w), *b = wkp__record_new(w);
    cr_assert(a && b && a != b);
    a->id = 7;
    a->end_pos = 9;
    /* a's CSV text: 300 bytes in a 1024-byte buffer (whole KiB) */
    char *buf = wkp__text_room(a, WKP_TXT_CSV, 300);
    cr_assert_not_null(buf);
    cr_expect_eq(a->text[WKP_TXT_CSV], buf);
    cr_expect_eq(a->text_cap[WKP_TXT_CSV], 1024);
    memset(buf, 'x', 300);
    a->text_len[WKP_TXT_CSV] = 300;
    /* and a JSON text past the 16 KiB kept (17 KiB): not kept */
    cr_assert_not_null(wkp__text_room(a, WKP_TXT_JSON, WKP_TEXT_KEEP + 1));
    cr_expect_eq(a->text_cap[WKP_TXT_JSON], 17 * 1024);
    a->text_len[WKP_TXT_JSON] = WKP_TEXT_KEEP + 1;
    b->id = 8;
    atomic_store(&e->flows_live, 2);
    wkp__record_back(e, w, a);
    wkp__record_back(e, w, b);
    cr_expect_eq(atomic_load(&e->flows_live), 0);
    static const struct wkp_flow zero;
    struct wkp_flow *c = wkp__record_new(w);
    cr_expect_eq(c, b);
    cr_expect_eq(memcmp(c, &zero, sizeof zero), 0, "a reused record is all zero");
    struct wkp_flow *d = wkp__record_new(w);
    cr_expect_eq(d, a);
    /* all zero but the kept CSV buffer */
    cr_expect_eq(d->text_buf[WKP_TXT_CSV], buf);
    cr_expect_eq(d->text_cap[WKP_TXT_CSV], 1024);
    struct wkp_flow kept = zero;
    kept.text_buf[WKP_TXT_CSV] = buf;
    kept.text_cap[WKP_TXT_CSV] = 1024;
    cr_expect_eq(memcmp(d, &kept, sizeof kept), 0, "its text pointers and lengths zero too");
    /* a text that fits reuses the buffer; a longer one replaces it */
    cr_expect_eq(wkp__text_room(d, WKP_TXT_CSV, 1024), buf);
    cr_expect_eq(d->text[WKP_TXT_CSV], buf);
    cr_assert_not_null(wkp__text_room(d, WKP_TXT_CSV, 1025));
    cr_expect_eq(d->text_cap[WKP_TXT_CSV], 2048);
    struct wkp_flow *f = wkp__record_new(w); /* the list is empty: a new one */
    cr_assert_not_null(f);
    cr_expect(f != a && f != b);
    wkp__flow_free(c);
    wkp__flow_free(d);
    wkp__flow_free(f);
    free(w);
    free(e);
}
