/* ThreadSanitizer driver for the threaded engine (Criterion cannot start
 * under TSan here).
 *   tsan_engine CAPTURE FLOWS PACKETS [CAPTURE FLOWS PACKETS]...
 * For each capture, runs the engine with no packet filter, retransmissions
 * kept and no TCP timeout (tshark's view of the capture) at 1, 2, 4 and 8
 * workers, with 2-slot rings and a one-flow worker -> merger hand-off and
 * with default rings and hand-off, and again with a 1 s UDP timeout (which
 * also exercises tick-driven expiry). Each run folds every flow record into
 * a digest (FNV-1a over the fields, in output order); all digests of a
 * timeout must equal the one of -t 1. Without the UDP timeout a run must
 * yield FLOWS flows holding PACKETS packets (the five-tuples of tshark and
 * their packet sum); with it, the same PACKETS in at least FLOWS flows (the
 * timeout only splits flows). Prints "N passed, N failed". */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa1kpcap/wa1kpcap.h"

struct digest {
    uint64_t h;
    uint64_t flows;
    uint64_t packets;
};

static void mix(struct digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        d->h ^= b[i];
        d->h *= 0x100000001b3ULL;
    }
}

static int on_flow(const wkp_flow *f, void *user)
{
    struct digest *d = user;
    uint64_t v[8] = {wkp_flow_id(f),
                     wkp_flow_packets(f, WKP_DIR_UP),
                     wkp_flow_packets(f, WKP_DIR_DOWN),
                     wkp_flow_bytes(f, WKP_DIR_UP),
                     wkp_flow_bytes(f, WKP_DIR_DOWN),
                     (uint64_t)wkp_flow_start_ns(f),
                     (uint64_t)wkp_flow_end_ns(f),
                     wkp_flow_tcp_flag_count(f, WKP_TCPFLAG_SYN)};
    mix(d, v, sizeof v);
    mix(d, wkp_flow_key(f), strlen(wkp_flow_key(f)));
    mix(d, wkp_flow_end_reason(f), strlen(wkp_flow_end_reason(f)));
    d->flows++;
    d->packets += v[1] + v[2];
    return 0;
}

static int run(const char *path, unsigned threads, unsigned slots, double udp_to, struct digest *d)
{
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *s;
    wkp_errbuf err;
    d->h = 0xcbf29ce484222325ULL;
    d->flows = 0;
    d->packets = 0;
    if (wkp_config_new(&cfg) != WKP_OK)
        return -1;
    if (wkp_config_set_threads(cfg, threads) != WKP_OK ||
        wkp_config_set_ring_slots(cfg, slots) != WKP_OK ||
        wkp_config_set_udp_timeout(cfg, udp_to) != WKP_OK ||
        wkp_config_set_tcp_timeout(cfg, 0) != WKP_OK ||
        wkp_config_set_default_filter(cfg, NULL) != WKP_OK ||
        wkp_config_set_filter_retrans(cfg, false) != WKP_OK ||
        wkp_engine_new(cfg, &e, &err) != WKP_OK) {
        wkp_config_free(cfg);
        return -1;
    }
    wkp_config_free(cfg);
    if (wkp_sink_callback_new(on_flow, d, &s) != WKP_OK || wkp_engine_add_sink(e, s) != WKP_OK) {
        wkp_engine_free(e);
        return -1;
    }
    const char *files[] = {path};
    wkp_status st = wkp_engine_run(e, files, 1);
    if (st != WKP_OK)
        fprintf(stderr, "tsan_engine: %s\n", wkp_engine_last_error(e));
    wkp_engine_free(e);
    return st == WKP_OK ? 0 : -1;
}

/* The counts a run must show: exactly (no timeout) or at least (flows with
 * the UDP timeout) the capture's. */
static bool counts_ok(const struct digest *d, uint64_t flows, uint64_t packets, int to)
{
    return d->packets == packets && (to ? d->flows >= flows : d->flows == flows);
}

int main(int argc, char **argv)
{
    static const unsigned threads[] = {1, 2, 4, 8};
    static const unsigned slots[] = {2, 2048};
    int passed = 0, failed = 0;
    if (argc < 4 || (argc - 1) % 3 != 0) {
        fprintf(stderr, "usage: tsan_engine CAPTURE FLOWS PACKETS [CAPTURE FLOWS PACKETS]...\n");
        return 2;
    }
    for (int i = 1; i + 2 < argc; i += 3) {
        const char *cap = argv[i];
        uint64_t flows = strtoull(argv[i + 1], NULL, 10);
        uint64_t packets = strtoull(argv[i + 2], NULL, 10);
        for (int to = 0; to < 2; to++) {
            struct digest ref;
            unsetenv("WKP_HANDOFF_FLOWS");
            if (run(cap, 1, 2048, to ? 1.0 : 0.0, &ref) != 0 ||
                !counts_ok(&ref, flows, packets, to)) {
                failed++;
                fprintf(stderr,
                        "FAIL %s -t 1 udp_timeout %d: %llu flows, %llu packets; want %s%llu, "
                        "%llu\n",
                        cap, to, (unsigned long long)ref.flows, (unsigned long long)ref.packets,
                        to ? ">= " : "", (unsigned long long)flows, (unsigned long long)packets);
                continue;
            }
            for (size_t t = 0; t < 4; t++)
                for (size_t s = 0; s < 2; s++) {
                    struct digest d;
                    /* 2-slot rings with a one-flow hand-off (a test hook):
                     * every flow waits for the merger */
                    if (slots[s] == 2)
                        setenv("WKP_HANDOFF_FLOWS", "1", 1);
                    else
                        unsetenv("WKP_HANDOFF_FLOWS");
                    if (run(cap, threads[t], slots[s], to ? 1.0 : 0.0, &d) == 0 &&
                        d.h == ref.h && d.flows == ref.flows && d.packets == ref.packets) {
                        passed++;
                    } else {
                        failed++;
                        fprintf(stderr, "FAIL %s -t %u --ring-slots %u udp_timeout %d\n", cap,
                                threads[t], slots[s], to);
                    }
                }
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
