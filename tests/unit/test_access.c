/* The binding API: the runtime version, an engine's column list and CSV
 * header, the flow text a callback sink may ask for, checked against
 * the file writers of the same run (the bytes the CLI writes) on
 * tests/data/wa1kpcap__multi.pcap, and runs over a pipe, a socket and an
 * open file, checked against the run on the file's path. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wa1kpcap/wa1kpcap.h"

#define MULTI         WKP_TEST_DATA "/wa1kpcap__multi.pcap"
/* `wa1kpcap analyze -f csv wa1kpcap__multi.pcap | head -1 | tr , '\n' | wc -l` */
#define MULTI_COLUMNS 282
/* `wa1kpcap analyze -f ndjson wa1kpcap__multi.pcap | wc -l` */
#define MULTI_FLOWS   140

/* An engine with the default configuration. */
static wkp_engine *default_engine(void)
{
    wkp_config *cfg;
    wkp_engine *e;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    return e;
}

struct grow {
    char *p;
    size_t len, cap;
};

static void put(struct grow *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->len + n + 1) * 2;
        g->p = realloc(g->p, g->cap);
        cr_assert_not_null(g->p);
    }
    memcpy(g->p + g->len, s, n);
    g->len += n;
    g->p[g->len] = '\0';
}

struct texts {
    struct grow csv, json, ndjson;
    int flows;
};

static int keep_text(const wkp_flow *f, void *user)
{
    struct texts *t = user;
    size_t n;
    const char *s = wkp_flow_text(f, WKP_FMT_CSV, &n);
    cr_assert_not_null(s);
    put(&t->csv, s, n);
    s = wkp_flow_text(f, WKP_FMT_JSON, &n);
    cr_assert_not_null(s);
    put(&t->json, t->flows ? ",\n" : "\n", t->flows ? 2 : 1);
    put(&t->json, s, n);
    s = wkp_flow_text(f, WKP_FMT_NDJSON, &n);
    cr_assert_not_null(s);
    put(&t->ndjson, s, n);
    t->flows++;
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s", path);
    struct grow g = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        put(&g, buf, n);
    fclose(fp);
    *len = g.len;
    return g.p;
}

static void expect_same(const char *path, const struct grow *got)
{
    size_t n;
    char *want = slurp(path, &n);
    cr_expect_eq(got->len, n, "%s: %zu bytes from the callback, %zu in the file", path, got->len,
                 n);
    cr_expect(got->len == n && memcmp(got->p, want, n) == 0, "%s differs", path);
    free(want);
    unlink(path);
}

Test(access, version_number_matches_the_header)
{
    cr_assert_eq(wkp_version_number(), WKP_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%u.%u.%u", wkp_version_number() / 10000,
             wkp_version_number() / 100 % 100, wkp_version_number() % 100);
    cr_assert_str_eq(wkp_version(), want);
}

Test(access, callback_text_is_the_file_writers_bytes)
{
    char dir[] = "/tmp/wkp_access_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char csv[64], json[64], ndjson[64];
    snprintf(csv, sizeof csv, "%s/f.csv", dir);
    snprintf(json, sizeof json, "%s/f.json", dir);
    snprintf(ndjson, sizeof ndjson, "%s/f.ndjson", dir);

    wkp_config *cfg;
    wkp_engine *e;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, 2), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    const char *paths[] = {csv, json, ndjson};
    const wkp_format fmts[] = {WKP_FMT_CSV, WKP_FMT_JSON, WKP_FMT_NDJSON};
    for (int i = 0; i < 3; i++) {
        wkp_sink *s;
        cr_assert_eq(wkp_sink_file_new(paths[i], fmts[i], &s, NULL), WKP_OK);
        cr_assert_eq(wkp_sink_callback_add_text(s, WKP_FMT_CSV), WKP_EINVAL); /* a file sink */
        cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    }
    struct texts t = {0};
    wkp_sink *cb;
    cr_assert_eq(wkp_sink_callback_new(keep_text, &t, &cb), WKP_OK);
    cr_assert_eq(wkp_sink_callback_add_text(cb, WKP_FMT_NONE), WKP_EINVAL);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(wkp_sink_callback_add_text(cb, fmts[i]), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    cr_assert_eq(wkp_sink_callback_add_text(cb, WKP_FMT_CSV), WKP_ESTATE); /* too late */

    /* the header: the engine's column list joined by commas */
    cr_assert_eq(wkp_engine_column_count(e), MULTI_COLUMNS);
    cr_assert_str_eq(wkp_engine_column_name(e, 0), "flow_id");
    cr_assert_str_eq(wkp_engine_column_name(e, 20), "feature.packet_lengths.mean");
    cr_assert_null(wkp_engine_column_name(e, MULTI_COLUMNS));
    size_t hlen;
    char small[8];
    cr_assert_eq(wkp_engine_csv_header(e, small, sizeof small, &hlen), WKP_EINVAL);
    char *hdr = malloc(hlen + 1);
    cr_assert_eq(wkp_engine_csv_header(e, hdr, hlen + 1, &hlen), WKP_OK);
    struct grow joined = {0};
    for (size_t i = 0; i < MULTI_COLUMNS; i++) {
        const char *n = wkp_engine_column_name(e, i);
        if (i)
            put(&joined, ",", 1);
        put(&joined, n, strlen(n));
    }
    put(&joined, "\n", 1);
    cr_assert_str_eq(hdr, joined.p);

    const char *in[] = {MULTI};
    cr_assert_eq(wkp_engine_run(e, in, 1), WKP_OK);
    cr_assert_eq(t.flows, MULTI_FLOWS);

    struct grow csv_file = {0};
    put(&csv_file, hdr, hlen);
    put(&csv_file, t.csv.p, t.csv.len);
    expect_same(csv, &csv_file);
    struct grow json_file = {0};
    put(&json_file, "[", 1);
    put(&json_file, t.json.p, t.json.len);
    put(&json_file, "\n]\n", 3);
    expect_same(json, &json_file);
    expect_same(ndjson, &t.ndjson);
    rmdir(dir);
    wkp_engine_free(e);
    free(hdr);
    free(joined.p);
    free(csv_file.p);
    free(json_file.p);
    free(t.csv.p);
    free(t.json.p);
    free(t.ndjson.p);
}

static int no_text(const wkp_flow *f, void *user)
{
    size_t n = 99;
    *(int *)user += wkp_flow_text(f, WKP_FMT_NDJSON, &n) == NULL && n == 0;
    return 0;
}

Test(access, no_text_unless_asked)
{
    wkp_config *cfg;
    wkp_engine *e;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    int none = 0;
    wkp_sink *cb;
    cr_assert_eq(wkp_sink_callback_new(no_text, &none, &cb), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    const char *in[] = {MULTI};
    cr_assert_eq(wkp_engine_run(e, in, 1), WKP_OK);
    cr_assert_eq(none, MULTI_FLOWS);
    wkp_engine_free(e);
}

struct progress_seen {
    int calls, done;
    size_t size;
    uint64_t packets;
};

static void on_progress(const wkp_progress *p, void *user)
{
    struct progress_seen *s = user;
    s->calls++;
    s->size = p->struct_size;
    if (p->done) {
        s->done++;
        s->packets = p->packets_read;
    }
}

static int ignore(const wkp_flow *f, void *user)
{
    (void)f, (void)user;
    return 0;
}

Test(access, progress_carries_its_size)
{
    struct progress_seen s = {0};
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *cb;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_progress(cfg, on_progress, &s), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(ignore, NULL, &cb), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    const char *in[] = {MULTI};
    cr_assert_eq(wkp_engine_run(e, in, 1), WKP_OK);
    cr_expect_eq(s.done, 1);
    cr_expect_eq(s.size, sizeof(wkp_progress));
    cr_expect_eq(s.packets, 4183); /* capinfos -c wa1kpcap__multi.pcap */
    wkp_engine_free(e);
}

/* The NDJSON of one run, on the path or (fd >= 0) on fd, named as the path's base name. */
static char *ndjson_of(int fd, size_t *len)
{
    char path[] = "/tmp/wkp_access_fd_XXXXXX";
    int tmp = mkstemp(path);
    cr_assert_geq(tmp, 0);
    close(tmp);
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, 2), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_file_new(path, WKP_FMT_NDJSON, &s, NULL), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    const char *in[] = {MULTI};
    wkp_status st =
        fd >= 0 ? wkp_engine_run_fd(e, fd, "wa1kpcap__multi.pcap") : wkp_engine_run(e, in, 1);
    cr_assert_eq(st, WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
    char *text = slurp(path, len);
    unlink(path);
    return text;
}

struct feeder {
    int fd;
    pthread_t t;
};

/* Write the capture into fd, then close it (the engine sees end of input). */
static void *feed(void *arg)
{
    struct feeder *f = arg;
    size_t n;
    char *bytes = slurp(MULTI, &n);
    for (size_t off = 0; off < n;) {
        ssize_t w = write(f->fd, bytes + off, n - off < 4096 ? n - off : 4096);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(f->fd);
    free(bytes);
    return NULL;
}

static void expect_fd_run_same(int rd, int wr)
{
    size_t want_len, got_len;
    char *want = ndjson_of(-1, &want_len);
    struct feeder f = {.fd = wr};
    cr_assert_eq(pthread_create(&f.t, NULL, feed, &f), 0);
    char *got = ndjson_of(rd, &got_len);
    pthread_join(f.t, NULL);
    close(rd); /* still ours: the engine read a duplicate */
    cr_expect_eq(got_len, want_len);
    cr_expect(got_len == want_len && memcmp(got, want, want_len) == 0);
    free(want);
    free(got);
}

Test(access, run_fd_on_a_pipe_is_the_run_on_the_path)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    expect_fd_run_same(p[0], p[1]);
}

Test(access, run_fd_on_a_socket_is_the_run_on_the_path)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    expect_fd_run_same(sv[0], sv[1]);
}

Test(access, run_fd_on_an_open_file_is_the_run_on_the_path)
{
    size_t want_len, got_len;
    char *want = ndjson_of(-1, &want_len);
    int fd = open(MULTI, O_RDONLY);
    cr_assert_geq(fd, 0);
    char *got = ndjson_of(fd, &got_len);
    cr_expect_neq(fcntl(fd, F_GETFD), -1); /* not closed by the engine */
    close(fd);
    cr_expect(got_len == want_len && memcmp(got, want, want_len) == 0);
    free(want);
    free(got);
}

static void *stop_soon(void *arg)
{
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
    wkp_engine_stop(arg);
    return NULL;
}

Test(access, run_fd_waiting_for_data_stops_on_request)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    /* a pcap header, then nothing: the reader waits for the first record */
    size_t n;
    char *bytes = slurp(MULTI, &n);
    cr_assert_eq(write(p[1], bytes, 24), 24);
    free(bytes);
    wkp_engine *e = default_engine();
    wkp_sink *cb;
    cr_assert_eq(wkp_sink_callback_new(ignore, NULL, &cb), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, stop_soon, e), 0);
    cr_expect_eq(wkp_engine_run_fd(e, p[0], "pipe"), WKP_ESTOPPED);
    cr_expect_str_eq(wkp_engine_last_error(e), "stopped on request");
    pthread_join(t, NULL);
    wkp_engine_free(e);
    close(p[0]);
    close(p[1]);
}

Test(access, run_fd_refuses_a_negative_descriptor)
{
    wkp_config *cfg;
    wkp_engine *e;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_expect_eq(wkp_engine_run_fd(e, -1, "x"), WKP_EINVAL);
    cr_expect_str_eq(wkp_engine_last_error(e), "wkp_engine_run_fd: no descriptor (-1)");
    wkp_engine_free(e);
}

/* ---- packets pushed one by one ---- */

#include <pcap/pcap.h>

struct flowsum {
    int n;
    uint64_t pkts, bytes, hash; /* hash: of the keys, ids and start times in order */
};

static int sum_flow(const wkp_flow *f, void *user)
{
    struct flowsum *s = user;
    s->n++;
    s->pkts += wkp_flow_packets(f, WKP_DIR_BOTH);
    s->bytes += wkp_flow_bytes(f, WKP_DIR_BOTH);
    /* FNV-1a over what identifies the flow and its place in the order */
    const char *k = wkp_flow_key(f);
    uint64_t h = s->hash ? s->hash : 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (uint8_t)*k) * 1099511628211ull;
    h = (h ^ wkp_flow_id(f)) * 1099511628211ull;
    h = (h ^ (uint64_t)wkp_flow_start_ns(f)) * 1099511628211ull;
    s->hash = h;
    return 0;
}

static wkp_engine *summing_engine(struct flowsum *s)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *cb;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, 2), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(sum_flow, s, &cb), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    return e;
}

Test(access, pushed_packets_make_the_flows_of_the_file)
{
    struct flowsum want = {0}, got = {0};
    wkp_engine *e = summing_engine(&want);
    const char *in[] = {MULTI};
    cr_assert_eq(wkp_engine_run(e, in, 1), WKP_OK);
    wkp_engine_free(e);

    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(MULTI, PCAP_TSTAMP_PRECISION_NANO, eb);
    cr_assert_not_null(pc, "%s", eb);
    e = summing_engine(&got);
    wkp_pusher *p;
    cr_assert_eq(wkp_push_start(e, pcap_datalink(pc), "wa1kpcap__multi.pcap", &p), WKP_OK);
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t pushed = 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        int64_t ts = (int64_t)h->ts.tv_sec * 1000000000 + h->ts.tv_usec; /* ns precision */
        cr_assert_eq(wkp_push_packet(p, ts, data, h->caplen, h->len), WKP_OK);
        pushed++;
    }
    pcap_close(pc);
    cr_assert_eq(wkp_push_finish(p), WKP_OK, "%s", wkp_engine_last_error(e));
    cr_expect_eq(pushed, 4183); /* capinfos -c wa1kpcap__multi.pcap */
    cr_expect_eq(wkp_engine_counter(e, WKP_CNT_PACKETS_READ), 4183);
    wkp_engine_free(e);
    cr_expect_eq(got.n, MULTI_FLOWS);
    cr_expect_eq(got.n, want.n);
    cr_expect_eq(got.pkts, want.pkts);
    cr_expect_eq(got.bytes, want.bytes);
    cr_expect_eq(got.hash, want.hash);
}

static int stop_at_once(const wkp_flow *f, void *user)
{
    (void)f, (void)user;
    return 1;
}

Test(access, pushing_after_the_run_ended_is_refused)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *cb;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_udp_timeout(cfg, 1), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(stop_at_once, NULL, &cb), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    wkp_pusher *p;
    cr_assert_eq(wkp_push_start(e, 101, "push", &p), WKP_OK); /* raw IPv4 */
    /* a 28-byte IPv4/UDP datagram 10.0.0.1:1 -> 10.0.0.2:2, pushed each second: the
     * first flow ends by the 1 s UDP timeout, its callback stops the run, and
     * the pushes after that fail once the buffered bytes meet the closed end */
    uint8_t pkt[28] = {0x45, 0, 0,  28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0,
                       0,    1, 10, 0,  0, 2, 0, 1, 0,  2,  0, 8, 0,  0};
    wkp_status st = WKP_OK;
    for (int i = 0; i < 2000000 && st == WKP_OK; i++) {
        pkt[21] = (uint8_t)(i & 1 ? 3 : 1); /* alternate source ports: new flows */
        st = wkp_push_packet(p, (int64_t)i * 2000000000, pkt, sizeof pkt, sizeof pkt);
    }
    cr_expect_eq(st, WKP_ESTATE);
    cr_expect_eq(wkp_push_packet(p, 0, NULL, 1, 1), WKP_EINVAL);
    cr_expect_eq(wkp_push_finish(p), WKP_ESTOPPED);
    wkp_engine_free(e);
}

/* ---- where each flow's end was found ---- */

/* An Ethernet frame with IPv4 10.0.0.1:sport -> 10.0.0.2:9999 UDP and 4
 * bytes of payload (46 bytes). */
static size_t udp_frame(uint8_t *b, uint16_t sport)
{
    static const uint8_t head[] = {
        0,    0, 0, 0,  0,  2, 0,    0, 0,  0,  0, 1, 0x08, 0x00, /* Ethernet */
        0x45, 0, 0, 32, 0,  0, 0x40, 0, 64, 17, 0, 0,             /* IPv4, 32 bytes */
        10,   0, 0, 1,  10, 0, 0,    2};
    memcpy(b, head, sizeof head);
    uint8_t *u = b + sizeof head;
    u[0] = (uint8_t)(sport >> 8), u[1] = (uint8_t)sport, u[2] = 0x27, u[3] = 0x0f; /* 9999 */
    u[4] = 0, u[5] = 12, u[6] = u[7] = 0; /* length 12, no checksum */
    memcpy(u + 8, "ping", 4);
    return sizeof head + 12;
}

struct ends {
    int n;
    uint64_t id[8], pos[8];
};

static int keep_end(const wkp_flow *f, void *user)
{
    struct ends *x = user;
    cr_assert_lt(x->n, 8);
    x->id[x->n] = wkp_flow_id(f);
    x->pos[x->n++] = wkp_flow_end_position(f);
    return 0;
}

static void push_run(struct ends *x, uint64_t max_flows, const uint16_t *ports, const int64_t *ts,
                     int n)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *cb;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    /* max_flows is shared out among the workers: one, so that it holds */
    cr_assert_eq(wkp_config_set_threads(cfg, max_flows ? 1 : 2), WKP_OK);
    cr_assert_eq(wkp_config_set_udp_timeout(cfg, 1), WKP_OK);
    if (max_flows)
        cr_assert_eq(wkp_config_set_max_flows(cfg, max_flows), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(keep_end, x, &cb), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    wkp_pusher *p;
    cr_assert_eq(wkp_push_start(e, 1 /* DLT_EN10MB */, "made", &p), WKP_OK);
    for (int i = 0; i < n; i++) {
        uint8_t b[64];
        size_t len = udp_frame(b, ports[i]);
        cr_assert_eq(wkp_push_packet(p, ts[i], b, len, len), WKP_OK);
    }
    cr_assert_eq(wkp_push_finish(p), WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
}

/* Positions are 4 x the records read + 0 (at a packet), 1 (at a tick: the
 * clock entered a new second) or 2 (at the end of the input); sinks see
 * (position, id) order. By hand, with a 1 s UDP timeout:
 *   #1 port 1001 at 1000.2 s, #2 port 1002 at 1000.5 s,
 *   #3 port 1003 at 1002.1 s: the clock enters second 1002, a tick after
 *      record 3 (position 13) ends #1 (idle 1.9 s) and #2 (1.6 s);
 *   #4 port 1001 at 1002.3 s (a new flow), #5 port 1003 at 1002.4 s,
 *   #6 port 1004 at 1002.9 s; the end of the input after record 6
 *      (position 26) ends the flows of ids 3, 4 and 6. */
Test(access, end_positions_by_hand)
{
    const uint16_t ports[] = {1001, 1002, 1003, 1001, 1003, 1004};
    const int64_t S = 1000000000;
    const int64_t ts[] = {1000 * S + S / 5,      1000 * S + S / 2,      1002 * S + S / 10,
                          1002 * S + 3 * S / 10, 1002 * S + 4 * S / 10, 1002 * S + 9 * S / 10};
    struct ends x = {0};
    push_run(&x, 0, ports, ts, 6);
    const uint64_t id[] = {1, 2, 3, 4, 6}, pos[] = {13, 13, 26, 26, 26};
    cr_assert_eq(x.n, 5);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(x.id[i], id[i], "flow %d", i);
        cr_expect_eq(x.pos[i], pos[i], "flow %d", i);
    }
    /* at a packet: with room for one flow, #2 evicts #1 when it arrives
     * (position 2 x 4 + 0 = 8); #2 ends with the input (2 x 4 + 2 = 10) */
    struct ends y = {0};
    push_run(&y, 1, ports, ts, 2);
    cr_assert_eq(y.n, 2);
    cr_expect_eq(y.id[0], 1);
    cr_expect_eq(y.pos[0], 8);
    cr_expect_eq(y.id[1], 2);
    cr_expect_eq(y.pos[1], 10);
    cr_expect_eq(wkp_flow_end_position(NULL), 0);
}

/* ---- every column of a flow, typed ---- */

/* Cell k of a CSV row (RFC 4180: a quoted cell's quotes doubled), unquoted
 * into buf; false past the last cell. */
static bool csv_cell(const char *row, size_t len, size_t k, char *buf, size_t cap)
{
    size_t at = 0;
    for (size_t cell = 0;; cell++) {
        size_t n = 0;
        bool quoted = at < len && row[at] == '"';
        if (quoted) {
            for (at++; at < len; at++) {
                if (row[at] == '"' && (at + 1 >= len || row[at + 1] != '"')) {
                    at++;
                    break;
                }
                if (row[at] == '"')
                    at++;
                if (cell == k && n + 1 < cap)
                    buf[n++] = row[at];
            }
        } else {
            for (; at < len && row[at] != ',' && row[at] != '\n'; at++)
                if (cell == k && n + 1 < cap)
                    buf[n++] = row[at];
        }
        if (cell == k) {
            buf[n] = '\0';
            return true;
        }
        if (at >= len || row[at] != ',')
            return false;
        at++;
    }
}

struct colcheck {
    size_t ncols;
    int flows, ints, doubles, times, texts, jsons, nones;
};

/* Each column's typed value against the CSV writer's cell for the same
 * flow: an integer is the cell's decimal number, a double the number the
 * cell's shortest round-trip text reads back to, a time the cell's seconds
 * with 6 decimals (a microsecond capture), a text or JSON text the cell
 * itself, and no value an empty cell. */
static int check_columns(const wkp_flow *f, void *user)
{
    struct colcheck *x = user;
    size_t rlen;
    const char *row = wkp_flow_text(f, WKP_FMT_CSV, &rlen);
    cr_assert_not_null(row);
    static char cell[1 << 16];
    for (size_t i = 0; i < x->ncols; i++) {
        wkp_value v;
        cr_assert_eq(wkp_flow_column(f, i, &v), WKP_OK);
        cr_assert(csv_cell(row, rlen, i, cell, sizeof cell), "column %zu", i);
        char want[64];
        switch (v.kind) {
        case WKP_VALUE_NONE:
            cr_expect_str_eq(cell, "", "column %zu", i);
            x->nones++;
            break;
        case WKP_VALUE_INT:
            snprintf(want, sizeof want, "%lld", (long long)v.i);
            cr_expect_str_eq(cell, want, "column %zu", i);
            x->ints++;
            break;
        case WKP_VALUE_DOUBLE:
            cr_expect_eq(strtod(cell, NULL), v.d, "column %zu: %s", i, cell);
            x->doubles++;
            break;
        case WKP_VALUE_TIME:
            snprintf(want, sizeof want, "%lld.%06lld", (long long)(v.i / 1000000000),
                     (long long)(v.i % 1000000000 / 1000));
            cr_expect_str_eq(cell, want, "column %zu", i);
            x->times++;
            break;
        case WKP_VALUE_TEXT:
            cr_expect_str_eq(cell, v.text, "column %zu", i);
            x->texts++;
            break;
        case WKP_VALUE_JSON:
            /* a JSON string's cell is the string itself, any other value its text */
            if (v.text[0] == '"')
                cr_expect(v.len >= 2 && strlen(cell) == v.len - 2 &&
                              memcmp(cell, v.text + 1, v.len - 2) == 0,
                          "column %zu", i);
            else
                cr_expect(strlen(cell) == v.len && memcmp(cell, v.text, v.len) == 0,
                          "column %zu: %s against %.*s", i, cell, (int)v.len, v.text);
            x->jsons++;
            break;
        }
    }
    wkp_value v;
    cr_expect_eq(wkp_flow_column(f, x->ncols, &v), WKP_EINVAL);
    cr_expect_eq(v.kind, WKP_VALUE_NONE);
    x->flows++;
    return 0;
}

Test(access, every_column_typed_matches_the_csv_cell)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *cb;
    struct colcheck x = {0};
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    x.ncols = wkp_engine_column_count(e);
    cr_assert_eq(x.ncols, MULTI_COLUMNS);
    cr_assert_eq(wkp_sink_callback_new(check_columns, &x, &cb), WKP_OK);
    cr_assert_eq(wkp_sink_callback_add_text(cb, WKP_FMT_CSV), WKP_OK);
    cr_assert_eq(wkp_sink_callback_add_text(cb, WKP_FMT_NDJSON), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    const char *in[] = {MULTI};
    cr_assert_eq(wkp_engine_run(e, in, 1), WKP_OK);
    wkp_engine_free(e);
    cr_expect_eq(x.flows, MULTI_FLOWS);
    cr_expect_eq(x.ints + x.doubles + x.times + x.texts + x.jsons + x.nones,
                 (int)(MULTI_FLOWS * MULTI_COLUMNS));
    /* every kind occurs: start/end times and duration are 3 per flow */
    cr_expect_eq(x.times, 3 * MULTI_FLOWS);
    cr_expect_gt(x.ints, 0);
    cr_expect_gt(x.doubles, 0);
    cr_expect_gt(x.texts, 0);
    cr_expect_gt(x.jsons, 0);
    cr_expect_gt(x.nones, 0);
}

static int column_without_text(const wkp_flow *f, void *user)
{
    wkp_value v;
    size_t *seq = user;
    cr_expect_eq(wkp_flow_column(f, 0, &v), WKP_OK); /* flow_id: from the record */
    cr_expect_eq(v.kind, WKP_VALUE_INT);
    cr_expect_eq(wkp_flow_column(f, *seq, &v), WKP_ESTATE); /* a sequence needs the NDJSON */
    cr_expect_eq(wkp_flow_column(f, 0, NULL), WKP_EINVAL);
    cr_expect_eq(wkp_flow_column(NULL, 0, &v), WKP_EINVAL);
    return 1; /* one flow is enough */
}

Test(access, columns_of_objects_need_the_ndjson_text)
{
    wkp_engine *e = default_engine();
    wkp_sink *cb;
    size_t seq = 0;
    for (size_t i = 0; i < wkp_engine_column_count(e); i++)
        if (strcmp(wkp_engine_column_name(e, i), "feature.packet_lengths") == 0)
            seq = i;
    cr_assert_gt(seq, 0);
    cr_assert_eq(wkp_sink_callback_new(column_without_text, &seq, &cb), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    const char *in[] = {MULTI};
    cr_expect_eq(wkp_engine_run(e, in, 1), WKP_ESTOPPED);
    wkp_engine_free(e);
}
