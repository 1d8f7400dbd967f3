/* libFuzzer target: the whole engine, wkp_engine_new / _add_sink / _run,
 * on one capture, so that the reader, the workers, the statistics, the
 * merger and every serialiser see hostile input together.
 *
 * Input: byte 0 is a flag byte: bit 0 two workers (else one); bit 1 no
 * filter at all (else the default filter and a packet filter); bit 2 a
 * flow-level filter term; bit 3 the libpcap reader (else mmap); bit 4
 * max_seq 3; bit 5 compat; bit 6 short idle timeouts (TCP 1 s, UDP 0.5 s,
 * close 0.1 s); bit 7 two-slot rings. Byte 1: bits 0-6 the TCP stream limit
 * in units of 16 bytes (0 off; budget 4 KiB so that refusals happen), bit 7
 * no IP reassembly. The rest is the capture file, written to a memfd and
 * read as /proc/self/fd/N.
 *
 * Every output is on: a callback sink that reads every accessor, CSV, JSON
 * and NDJSON flow files, CSV and NDJSON per-packet files, and the run
 * summary, in a private temporary directory (removed by atexit, which
 * the smoke driver runs and libFuzzer does not).
 *
 * Invariants: a failed run names a reason in one line and leaves no output
 * file; a successful one has its reasons add up to packets_read,
 * in_flow equal to the packets of the flows the callback saw, one callback
 * per written flow; every flow has end >= start inside the timestamp range,
 * a finite duration >= 0, per-direction counts that add up, and stored
 * sequence values inside that range too. */
#include "fuzz_common.h"

#include <math.h>
#include <unistd.h>

#include "util/nstime.h"
#include "wa1kpcap/wa1kpcap.h"

static int memfd = -1;
static char cap_path[64], dir[64];
static char out[6][128];
static const char *const out_names[6] = {"f.csv", "f.json",   "f.ndjson",
                                         "p.csv", "p.ndjson", "summary.json"};

struct seen {
    uint64_t flows, packets;
};

static void check_flow_time(const wkp_flow *f)
{
    int64_t s = wkp_flow_start_ns(f), e = wkp_flow_end_ns(f);
    FZ_CHECK(s >= WKP_TS_MIN && s <= WKP_TS_MAX);
    FZ_CHECK(e >= s && e <= WKP_TS_MAX);
    double d = wkp_flow_stat(f, "duration");
    FZ_CHECK(isfinite(d) && d >= 0.0);
    FZ_CHECK(!isnan(wkp_flow_stat(f, "iats.mean")));
    size_t n = wkp_flow_seq_count(f);
    for (size_t i = 0; i < n; i++) {
        int64_t t = wkp_flow_seq_value(f, i, WKP_SEQ_TIMESTAMP_NS);
        FZ_CHECK(t >= WKP_TS_MIN && t <= WKP_TS_MAX);
        int64_t dir_v = wkp_flow_seq_value(f, i, WKP_SEQ_DIRECTION);
        FZ_CHECK(dir_v == 1 || dir_v == -1);
    }
}

static int on_flow(const wkp_flow *f, void *user)
{
    struct seen *s = user;
    s->flows++;
    uint64_t p = wkp_flow_packets(f, WKP_DIR_BOTH);
    FZ_CHECK(p >= 1);
    FZ_CHECK(p == wkp_flow_packets(f, WKP_DIR_UP) + wkp_flow_packets(f, WKP_DIR_DOWN));
    FZ_CHECK(wkp_flow_bytes(f, WKP_DIR_BOTH) ==
             wkp_flow_bytes(f, WKP_DIR_UP) + wkp_flow_bytes(f, WKP_DIR_DOWN));
    s->packets += p;
    check_flow_time(f);
    const char *strs[] = {wkp_flow_capture(f), wkp_flow_key(f),        wkp_flow_src_ip(f),
                          wkp_flow_dst_ip(f),  wkp_flow_end_reason(f), wkp_flow_community_id(f)};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        FZ_CHECK(strs[i] != NULL && strlen(strs[i]) < 4096);
    int v = wkp_flow_ip_version(f);
    FZ_CHECK(v == 4 || v == 6);
    for (int fl = WKP_TCPFLAG_FIN; fl <= WKP_TCPFLAG_CWR; fl++)
        FZ_CHECK(wkp_flow_tcp_flag_count(f, (wkp_tcp_flag)fl) <= p);
    (void)wkp_flow_stat(f, "packet_lengths.median");
    (void)wkp_flow_stat(f, "tcp_window.up_count");
    return 0;
}

static void cleanup(void)
{
    for (int i = 0; i < 6; i++)
        unlink(out[i]);
    rmdir(dir);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fuzz_engine.XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    FZ_CHECK(mkdtemp(dir) != NULL);
    for (int i = 0; i < 6; i++)
        snprintf(out[i], sizeof out[i], "%s/%s", dir, out_names[i]);
    atexit(cleanup);
}

#define OK(x) FZ_CHECK((x) == WKP_OK)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz z = {data, size};
    uint8_t flags = fz_u8(&z), flags2 = fz_u8(&z);
    size_t n;
    const uint8_t *file = fz_bytes(&z, SIZE_MAX, &n);

    if (dir[0] == '\0')
        setup();
    fz_memfd_write(&memfd, "fuzz_engine", cap_path, sizeof cap_path, file, n);
    for (int i = 0; i < 6; i++)
        unlink(out[i]);

    wkp_config *cfg;
    OK(wkp_config_new(&cfg));
    if (flags & 32)
        OK(wkp_config_set_compat(cfg, true));
    OK(wkp_config_set_threads(cfg, flags & 1 ? 2 : 1));
    OK(wkp_config_set_reader(cfg, flags & 8 ? WKP_READER_LIBPCAP : WKP_READER_MMAP));
    if (flags & 2) {
        OK(wkp_config_set_default_filter(cfg, NULL));
    } else {
        OK(wkp_config_set_filter(cfg, flags & 4 ? "not port 9 and not dns" : "not port 9"));
    }
    if ((flags & 6) == 6)
        OK(wkp_config_set_filter(cfg, "not tls and (tcp or udp)"));
    if (flags & 16)
        OK(wkp_config_set_max_seq(cfg, 3));
    if (flags & 64) {
        OK(wkp_config_set_tcp_timeout(cfg, 1.0));
        OK(wkp_config_set_udp_timeout(cfg, 0.5));
        OK(wkp_config_set_tcp_close_timeout(cfg, 0.1));
    }
    if (flags & 128)
        OK(wkp_config_set_ring_slots(cfg, 2));
    if (flags2 & 0x7f)
        OK(wkp_config_set_tcp_reassembly(cfg, (uint32_t)(flags2 & 0x7f) * 16, 4096));
    if (flags2 & 0x80)
        OK(wkp_config_set_reassembly(cfg, false));
    OK(wkp_config_set_sequences(cfg, true));

    wkp_engine *e = NULL;
    wkp_errbuf err = {{0}};
    OK(wkp_engine_new(cfg, &e, &err));
    wkp_config_free(cfg);

    struct seen seen = {0, 0};
    wkp_sink *s;
    OK(wkp_sink_callback_new(on_flow, &seen, &s));
    OK(wkp_engine_add_sink(e, s));
    static const wkp_format fmts[3] = {WKP_FMT_CSV, WKP_FMT_JSON, WKP_FMT_NDJSON};
    for (int i = 0; i < 3; i++) {
        OK(wkp_sink_file_new(out[i], fmts[i], &s, &err));
        OK(wkp_engine_add_sink(e, s));
    }
    OK(wkp_sink_packets_new(out[3], WKP_FMT_CSV, &s, &err));
    OK(wkp_engine_add_sink(e, s));
    OK(wkp_sink_packets_new(out[4], WKP_FMT_NDJSON, &s, &err));
    OK(wkp_engine_add_sink(e, s));

    const char *paths[1] = {cap_path};
    wkp_status st = wkp_engine_run(e, paths, 1);
    if (st != WKP_OK) {
        FZ_CHECK(st < 0 && st != WKP_ESTOPPED);
        const char *msg = wkp_engine_last_error(e);
        FZ_CHECK(msg != NULL && msg[0] != '\0' && strchr(msg, '\n') == NULL);
        for (int i = 0; i < 5; i++)
            FZ_CHECK(access(out[i], F_OK) != 0);
    } else {
        uint64_t read = wkp_engine_counter(e, WKP_CNT_PACKETS_READ), sum = 0;
        for (int c = WKP_CNT_IN_FLOW; c < WKP_CNT_FLOWS; c++)
            sum += wkp_engine_counter(e, (wkp_counter)c);
        sum += wkp_engine_counter(e, WKP_CNT_UNSUPPORTED_LINK); /* after WKP_CNT_FLOWS */
        FZ_CHECK(sum == read);
        FZ_CHECK(wkp_engine_counter(e, WKP_CNT_IN_FLOW) == seen.packets);
        FZ_CHECK(wkp_engine_counter(e, WKP_CNT_FLOWS) == seen.flows);
        for (int i = 0; i < 5; i++)
            FZ_CHECK(access(out[i], F_OK) == 0);
    }
    wkp_errbuf serr = {{0}};
    OK(wkp_engine_write_summary(e, out[5], &serr));
    wkp_engine_free(e);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds: each capture file under two flag settings (one worker, defaults;
 * two workers, no filter, max_seq, short timeouts, stream reassembly). */
void wkp_fuzz_seed(const char *p, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    size_t len = strlen(p);
    if (len < 5 || (strcmp(p + len - 5, ".pcap") != 0 && strcmp(p + len - 7, ".pcapng") != 0)) {
        emit(data, size); /* a corpus file */
        return;
    }
    uint8_t *buf = malloc(size + 2);
    if (buf == NULL)
        abort();
    memcpy(buf + 2, data, size);
    buf[0] = 0;
    buf[1] = 0;
    emit(buf, size + 2);
    buf[0] = 1 | 2 | 8 | 16 | 64;
    buf[1] = 8;
    emit(buf, size + 2);
    free(buf);
}
#endif
