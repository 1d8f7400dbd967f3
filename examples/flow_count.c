/* Example: count flows and packets per protocol in a capture, through the
 * public API with a callback sink.
 *
 *     cc flow_count.c $(pkg-config --cflags --libs wa1kpcap) -o flow_count
 *     ./flow_count trace.pcap
 *
 * Prints one line per IP protocol seen: "TCP flows=77 packets=1480". */
#include <stdio.h>
#include <wa1kpcap/wa1kpcap.h>

struct tally {
    uint64_t flows[256], packets[256];
};

/* Called on the engine's merger thread, once per flow, in output order. */
static int on_flow(const wkp_flow *f, void *user)
{
    struct tally *t = user;
    uint8_t p = wkp_flow_protocol(f);
    t->flows[p]++;
    t->packets[p] += wkp_flow_packets(f, WKP_DIR_BOTH);
    return 0; /* non-zero would stop the run */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CAPTURE...\n", argv[0]);
        return 2;
    }
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *sink;
    wkp_errbuf err;
    static struct tally t;

    if (wkp_config_new(&cfg) != WKP_OK)
        return 1;
    if (wkp_config_set_threads(cfg, 2) != WKP_OK || wkp_engine_new(cfg, &e, &err) != WKP_OK) {
        wkp_config_free(cfg);
        return 1;
    }
    wkp_config_free(cfg); /* the engine keeps its own copy */

    if (wkp_sink_callback_new(on_flow, &t, &sink) != WKP_OK ||
        wkp_engine_add_sink(e, sink) != WKP_OK) { /* on success e owns sink */
        wkp_engine_free(e);
        return 1;
    }
    wkp_status st = wkp_engine_run(e, (const char *const *)argv + 1, (size_t)(argc - 1));
    if (st != WKP_OK) {
        fprintf(stderr, "flow_count: %s\n", wkp_engine_last_error(e));
        wkp_engine_free(e);
        return 1;
    }
    for (int p = 0; p < 256; p++) {
        if (!t.flows[p])
            continue;
        const char *name = p == 6    ? "TCP"
                           : p == 17 ? "UDP"
                           : p == 1  ? "ICMP"
                           : p == 58 ? "ICMPv6"
                                     : NULL;
        if (name)
            printf("%s flows=%llu packets=%llu\n", name, (unsigned long long)t.flows[p],
                   (unsigned long long)t.packets[p]);
        else
            printf("PROTO(%d) flows=%llu packets=%llu\n", p, (unsigned long long)t.flows[p],
                   (unsigned long long)t.packets[p]);
    }
    wkp_engine_free(e);
    return 0;
}
