/* ThreadSanitizer driver for the threaded engine (Criterion cannot start
 * under TSan here). For each capture named on the command line, runs the
 * engine at 1, 2, 4 and 8 workers with 2-slot rings and a one-flow
 * worker -> merger hand-off, and with default rings and hand-off, folds
 * every flow record into a digest (FNV-1a over the fields, in output order),
 * and checks all digests are equal. Prints "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa1kpcap/wa1kpcap.h"

struct digest {
    uint64_t h;
    uint64_t flows;
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
    if (wkp_config_new(&cfg) != WKP_OK)
        return -1;
    if (wkp_config_set_threads(cfg, threads) != WKP_OK ||
        wkp_config_set_ring_slots(cfg, slots) != WKP_OK ||
        wkp_config_set_udp_timeout(cfg, udp_to) != WKP_OK ||
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

int main(int argc, char **argv)
{
    static const unsigned threads[] = {1, 2, 4, 8};
    static const unsigned slots[] = {2, 2048};
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        /* udp timeout 1 s also exercises tick-driven expiry */
        for (int to = 0; to < 2; to++) {
            struct digest ref;
            if (run(argv[i], 1, 2048, to ? 1.0 : 0.0, &ref) != 0) {
                failed++;
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
                    if (run(argv[i], threads[t], slots[s], to ? 1.0 : 0.0, &d) == 0 &&
                        d.h == ref.h && d.flows == ref.flows) {
                        passed++;
                    } else {
                        failed++;
                        fprintf(stderr, "FAIL %s -t %u --ring-slots %u udp_timeout %d\n", argv[i],
                                threads[t], slots[s], to);
                    }
                }
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
