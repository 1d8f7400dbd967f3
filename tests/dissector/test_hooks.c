/* The worker's application-layer hooks through the engine API, with the
 * test dissectors echo (UDP port 7, datagrams) and chunks (TCP port 7,
 * stream) of registry_hooks.def: which flows a probe claims under each
 * --app-layer mode, what parse's answers do, that finish runs once per
 * claim, that states are reused, and that a stream dissector gets the
 * in-order bytes. Captures are written here; expected values are counted
 * by hand from the packet lists. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dissectors/dissector.h"
#include "filter/filter.h"
#include "tests/dissector/echo.h"
#include "wa1kpcap/wa1kpcap.h"

#define UDP 17
#define TCP 6
#define SYN 0x02
#define ACK 0x10
#define PSH 0x08

/* One packet: 10.0.0.<client> : sport <-> 10.0.0.100 : dport. */
struct tp {
    int64_t t_ms;
    uint8_t proto;
    uint8_t client;
    uint16_t sport, dport;
    int reply; /* 1: server -> client */
    uint32_t seq;
    uint8_t flags;
    const char *payload;
};

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}
static void be32(uint8_t *p, uint32_t v)
{
    be16(p, (uint16_t)(v >> 16)), be16(p + 2, (uint16_t)v);
}

static void write_pcap(const char *path, const struct tp *v, int n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    fwrite(gh, 4, 6, f);
    for (int i = 0; i < n; i++) {
        uint8_t pkt[256] = {0};
        uint32_t plen = (uint32_t)strlen(v[i].payload);
        uint32_t l4 = v[i].proto == TCP ? 20 : 8;
        uint32_t len = 14 + 20 + l4 + plen;
        pkt[12] = 0x08; /* IPv4 */
        uint8_t *ip = pkt + 14, *t = ip + 20;
        ip[0] = 0x45;
        be16(ip + 2, (uint16_t)(20 + l4 + plen));
        ip[8] = 64;
        ip[9] = v[i].proto;
        uint8_t a[4] = {10, 0, 0, v[i].client}, b[4] = {10, 0, 0, 100};
        memcpy(ip + 12, v[i].reply ? b : a, 4);
        memcpy(ip + 16, v[i].reply ? a : b, 4);
        be16(t, v[i].reply ? v[i].dport : v[i].sport);
        be16(t + 2, v[i].reply ? v[i].sport : v[i].dport);
        if (v[i].proto == TCP) {
            be32(t + 4, v[i].seq);
            t[12] = 5 << 4;
            t[13] = v[i].flags;
            be16(t + 14, 65535);
        } else {
            be16(t + 4, (uint16_t)(8 + plen));
        }
        memcpy(t + l4, v[i].payload, plen);
        uint32_t rh[4] = {(uint32_t)(v[i].t_ms / 1000), (uint32_t)(v[i].t_ms % 1000 * 1000), len,
                          len};
        fwrite(rh, 4, 4, f);
        fwrite(pkt, 1, len, f);
    }
    fclose(f);
}

struct kept {
    int n;
    uint16_t dport[32];
};

static int collect(const wkp_flow *f, void *user)
{
    struct kept *k = user;
    if (k->n < 32)
        k->dport[k->n] = wkp_flow_dst_port(f);
    k->n++;
    return 0;
}

/* Off by default: a segment below the highest sequence number seen is a
 * retransmission, dropped before it reaches the streams. */
static bool keep_retrans;

/* Run the capture; filter may be NULL. Returns the written flows. */
static struct kept run(const char *path, wkp_app_layer mode, const char *filter, unsigned threads,
                       double udp_timeout)
{
    wkp_test_echo_reset();
    wkp_test_chunks_reset();
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *sink;
    struct kept k = {0};
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, threads), WKP_OK);
    cr_assert_eq(wkp_config_set_app_layer(cfg, mode), WKP_OK);
    cr_assert_eq(wkp_config_set_udp_timeout(cfg, udp_timeout), WKP_OK);
    if (keep_retrans)
        cr_assert_eq(wkp_config_set_filter_retrans(cfg, false), WKP_OK);
    if (filter)
        cr_assert_eq(wkp_config_set_filter(cfg, filter), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(collect, &k, &sink), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, sink), WKP_OK);
    cr_assert_eq(wkp_engine_run(e, &path, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
    return k;
}

/* Four UDP flows, one after the other:
 *  A  port 7:    "hello" up, "hello" down          -> echo claims by port, DONE
 *  B  port 9000: "ECHO hi" up, "ECHO hi" down      -> claimed by payload (full mode only), DONE
 *  C  port 9001: "hello" up, "hello" down          -> never claimed
 *  D  port 7:    "abcdef" up, "abc" down, "x" up   -> NOT_MINE at the reply; not asked again */
static const struct tp udp_flows[] = {
    {1000, UDP, 1, 40001, 7, 0, 0, 0, "hello"},
    {1001, UDP, 1, 40001, 7, 1, 0, 0, "hello"},
    {2000, UDP, 2, 40002, 9000, 0, 0, 0, "ECHO hi"},
    {2001, UDP, 2, 40002, 9000, 1, 0, 0, "ECHO hi"},
    {3000, UDP, 3, 40003, 9001, 0, 0, 0, "hello"},
    {3001, UDP, 3, 40003, 9001, 1, 0, 0, "hello"},
    {4000, UDP, 4, 40004, 7, 0, 0, 0, "abcdef"},
    {4001, UDP, 4, 40004, 7, 1, 0, 0, "abc"},
    {4002, UDP, 4, 40004, 7, 0, 0, 0, "x"},
};

/* Captures written by a test, removed when that test ends, passed or failed
 * (each test runs in a process of its own, and the suite's fini runs after
 * a failed assertion too). */
static char udp_path[64], own_path[64]; /* "" until written */

/* v[0..n) written to a new capture in path, named from stem. */
static const char *new_capture(char path[64], const char *stem, const struct tp *v, int n)
{
    snprintf(path, 64, "/tmp/wkp_hooks_%s_XXXXXX", stem);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    write_pcap(path, v, n);
    return path;
}

/* The test's one own capture besides the shared UDP one. */
static const char *own_capture(const char *stem, const struct tp *v, int n)
{
    return new_capture(own_path, stem, v, n);
}

/* Written once by the test process that asks for it. */
static const char *udp_capture(void)
{
    if (!udp_path[0])
        new_capture(udp_path, "udp", udp_flows, (int)(sizeof udp_flows / sizeof udp_flows[0]));
    return udp_path;
}

static void drop_captures(void)
{
    if (udp_path[0])
        unlink(udp_path);
    if (own_path[0])
        unlink(own_path);
}

TestSuite(hooks, .fini = drop_captures);

Test(hooks, full_mode_claims_by_port_or_payload)
{
    struct kept k = run(udp_capture(), WKP_APP_FULL, "echo", 1, 0);
    /* A by port, B by its "ECHO" payload; D said NOT_MINE so it has no bit */
    cr_assert_eq(k.n, 2);
    cr_expect_eq(k.dport[0], 7);
    cr_expect_eq(k.dport[1], 9000);
    struct wkp_test_dis_stats *s = &wkp_test_echo_stats;
    /* probes: A's first packet, B's first, C's two (never claimed), D's
     * first; D's third packet is not probed (echo rejected it) */
    cr_expect_eq(s->probes, 5);
    /* parses: A 2, B 2, D 2 (the third packet goes to nobody) */
    cr_expect_eq(s->parses, 6);
    cr_expect_eq(s->dones, 2);
    cr_expect_eq(s->not_mines, 1);
    /* finish: once per flow still claimed at its end (A, B), never for D */
    cr_expect_eq(s->finishes, 2);
    cr_expect_eq(s->finish_twice, 0);
    /* bytes: up 5 + 7 + 6, down 5 + 7 + 3 */
    cr_expect_eq(s->bytes[0], 18);
    cr_expect_eq(s->bytes[1], 15);
    cr_expect_eq(s->bad_ctx, 0);
    cr_expect_eq(s->inits, 1);
    cr_expect_eq(s->finis, 1);
}

Test(hooks, port_only_mode_claims_by_port_without_probing)
{
    struct kept k = run(udp_capture(), WKP_APP_PORT_ONLY, "echo", 1, 0);
    cr_assert_eq(k.n, 1);
    cr_expect_eq(k.dport[0], 7);
    struct wkp_test_dis_stats *s = &wkp_test_echo_stats;
    cr_expect_eq(s->probes, 0);
    cr_expect_eq(s->parses, 4); /* A 2, D 2 */
    cr_expect_eq(s->finishes, 1);
    cr_expect_eq(s->not_mines, 1);
}

Test(hooks, none_mode_runs_no_dissector)
{
    struct kept k = run(udp_capture(), WKP_APP_NONE, "echo", 1, 0);
    cr_expect_eq(k.n, 0);
    k = run(udp_capture(), WKP_APP_NONE, "not echo", 1, 0);
    cr_expect_eq(k.n, 4);
    struct wkp_test_dis_stats *s = &wkp_test_echo_stats;
    cr_expect_eq(s->inits + s->probes + s->parses + s->finishes, 0);
}

Test(hooks, negated_keyword_and_every_worker_gets_a_context)
{
    struct kept k = run(udp_capture(), WKP_APP_FULL, "not echo", 4, 0);
    cr_expect_eq(k.n, 2); /* C and D */
    struct wkp_test_dis_stats *s = &wkp_test_echo_stats;
    cr_expect_eq(s->inits, 4);
    cr_expect_eq(s->finis, 4);
    cr_expect_eq(s->bad_ctx, 0);
    cr_expect_eq(s->finishes, 2);
}

/* Six port-7 flows 60 s apart (the UDP timeout is 30 s): each ends by the
 * tick that follows the next flow's first packet, so at most two states
 * are alive at once and the worker cycles through two; states never given
 * back would make six. */
Test(hooks, states_come_back_to_the_pool)
{
    struct tp v[12];
    for (int i = 0; i < 6; i++) {
        v[2 * i] = (struct tp){60000 * i, UDP, (uint8_t)(1 + i), 40000, 7, 0, 0, 0, "ping"};
        v[2 * i + 1] = (struct tp){60000 * i + 1, UDP, (uint8_t)(1 + i), 40000, 7, 1, 0, 0, "ping"};
    }
    const char *path = own_capture("pool", v, 12);
    struct kept k = run(path, WKP_APP_FULL, "echo", 1, 30);
    cr_expect_eq(k.n, 6);
    cr_expect_eq(wkp_test_echo_stats.finishes, 6);
    cr_expect_leq(wkp_test_echo_distinct_states(), 2, "%u states", wkp_test_echo_distinct_states());
}

/* TCP port 7: the up direction's payload arrives out of order ("defgh"
 * before "abc"); the stream dissector sees "abcdefgh" in order. A second
 * connection starts with 'X': NOT_MINE. */
Test(hooks, stream_dissector_gets_in_order_bytes)
{
    const uint32_t c = 1000, s = 5000; /* initial sequence numbers */
    const struct tp v[] = {
        {1000, TCP, 1, 40001, 7, 0, c, SYN, ""},
        {1001, TCP, 1, 40001, 7, 1, s, SYN | ACK, ""},
        {1002, TCP, 1, 40001, 7, 0, c + 1, ACK, ""},
        {1003, TCP, 1, 40001, 7, 0, c + 4, ACK | PSH, "defgh"},
        {1004, TCP, 1, 40001, 7, 0, c + 1, ACK | PSH, "abc"},
        {1005, TCP, 1, 40001, 7, 1, s + 1, ACK | PSH, "xyz"},
        {2000, TCP, 2, 40002, 7, 0, c, SYN, ""},
        {2001, TCP, 2, 40002, 7, 1, s, SYN | ACK, ""},
        {2002, TCP, 2, 40002, 7, 0, c + 1, ACK | PSH, "Xno"},
        {2003, TCP, 2, 40002, 7, 1, s + 1, ACK | PSH, "ok"},
    };
    const char *path = own_capture("tcp", v, (int)(sizeof v / sizeof v[0]));
    keep_retrans = true; /* "abc" comes after "defgh": kept, not a drop */
    struct kept k = run(path, WKP_APP_FULL, "chunks", 1, 0);
    keep_retrans = false;
    cr_assert_eq(k.n, 1);
    cr_expect_eq(k.dport[0], 7);
    struct wkp_test_dis_stats *st = &wkp_test_chunks_stats;
    cr_expect_str_eq(wkp_test_chunks_up, "abcdefgh");
    cr_expect_eq(st->bytes[0], 8);
    cr_expect_eq(st->bytes[1], 3);
    cr_expect_eq(st->not_mines, 1);
    cr_expect_eq(st->finishes, 1); /* the 'X' connection was given up: no finish */
    cr_expect_eq(st->finish_twice, 0);
    cr_expect_eq(st->gaps, 0);
}

/* DONE stops the stream: 100 bytes up in one segment, then 20 more; the
 * dissector sees only the first chunk. */
Test(hooks, stream_done_stops_delivery)
{
    static char big[101], more[21];
    memset(big, 'a', 100);
    memset(more, 'b', 20);
    const struct tp v[] = {
        {1000, TCP, 1, 40001, 7, 0, 1, SYN, ""},
        {1001, TCP, 1, 40001, 7, 0, 2, ACK | PSH, big},
        {1002, TCP, 1, 40001, 7, 0, 102, ACK | PSH, more},
    };
    const char *path = own_capture("done", v, 3);
    struct kept k = run(path, WKP_APP_FULL, "chunks", 1, 0);
    cr_assert_eq(k.n, 1);
    cr_expect_eq(wkp_test_chunks_stats.parses, 1);
    cr_expect_eq(wkp_test_chunks_stats.dones, 1);
    cr_expect_eq(wkp_test_chunks_stats.bytes[0], 100);
    cr_expect_eq(wkp_test_chunks_stats.finishes, 1);
}

/* In a build with echo and chunks, their names are flow-level keywords:
 * matched against the flow's bits in registry order (the test rows come
 * after the product's: echo, then chunks), refused where a flow keyword
 * is, libpcap's after `port`. */
Test(hooks, registry_names_are_flow_keywords)
{
    int echo = wkp_dissector_find("echo", 4);
    cr_assert_eq(echo, (int)wkp_ndissectors - 2);
    cr_assert_eq(wkp_dissector_find("chunks", 6), echo + 1);
    uint32_t echo_bit = 1u << echo, chunks_bit = 1u << (echo + 1);
    struct wkp_filter *f;
    wkp_errbuf err = {{0}};
    char dump[256];
    cr_assert_eq(wkp_filter_compile("udp and not chunks", &f, &err), WKP_OK, "%s", err.msg);
    wkp_filter_dump(f, dump, sizeof dump);
    cr_expect_str_eq(dump, "packet: bpf(\"udp\"); flow: not(chunks)");
    cr_expect(wkp_filter_flow_match(f, 0));
    cr_expect(wkp_filter_flow_match(f, echo_bit));
    cr_expect(!wkp_filter_flow_match(f, chunks_bit));
    wkp_filter_free(f);
    cr_assert_eq(wkp_filter_compile("echo or chunks", &f, &err), WKP_OK, "%s", err.msg);
    cr_expect(!wkp_filter_flow_match(f, 0));
    cr_expect(wkp_filter_flow_match(f, chunks_bit));
    wkp_filter_free(f);
    /* quic is the product's dissector, before the test rows: its bit decides */
    int quic = wkp_dissector_find("quic", 4);
    cr_assert(quic >= 0 && quic < echo);
    cr_assert_eq(wkp_filter_compile("quic", &f, &err), WKP_OK, "%s", err.msg);
    cr_expect(wkp_filter_flow_match(f, 1u << quic));
    cr_expect(!wkp_filter_flow_match(f, echo_bit | chunks_bit));
    wkp_filter_free(f);
    cr_expect_neq(wkp_filter_compile("echo or udp", &f, &err), WKP_OK);
    cr_expect(strstr(err.msg, "'echo' is decided on finished flows") != NULL, "%s", err.msg);
    /* `port echo`: a port name for libpcap (services: echo is 7) */
    cr_assert_eq(wkp_filter_compile("udp port echo", &f, &err), WKP_OK, "%s", err.msg);
    cr_expect(!wkp_filter_has_flow_terms(f));
    wkp_filter_free(f);
}
