/* Example custom-feature plugin: payload_entropy.
 *
 * For every packet carrying payload bytes, the Shannon entropy of those
 * bytes in bits per byte, H = -sum over byte values c of p(c) log2 p(c),
 * between 0 (one repeated byte) and 8 (all 256 values equally often). The
 * flow's value is {"mean": <mean H over those packets>, "packets": <their
 * count>}, with mean null when no packet had payload.
 *
 * Per-flow state is a running sum and a count; the byte histogram lives on
 * the stack for one packet, so nothing is allocated per packet. update runs
 * on a worker thread, never for one flow on two threads at once, and shares
 * nothing, so it needs no locks.
 *
 * Build: a shared module compiled against wa1kpcap/wa1kpcap.h and not linked
 * to the library: wkp_config_add_feature and wkp_write_* resolve from the
 * process that loads it (the CLI exports them), so the plugin uses the
 * host's copy of the library and its config. Load it with
 * wkp_config_load_plugin(cfg, "path/to/libwkp_entropy.so", &err). */
#include <math.h>
#include <stdint.h>

#include "wa1kpcap/wa1kpcap.h"

struct entropy_state {
    double sum;       /* of per-packet entropies */
    uint64_t packets; /* packets with payload */
};

static void entropy_update(void *state, const wkp_pkt_view *pkt, void *user)
{
    (void)user;
    struct entropy_state *s = state;
    if (!pkt->payload || pkt->payload_len == 0)
        return;
    uint32_t hist[256] = {0};
    for (uint32_t i = 0; i < pkt->payload_len; i++)
        hist[pkt->payload[i]]++;
    double n = (double)pkt->payload_len, h = 0.0;
    for (int c = 0; c < 256; c++) {
        if (hist[c]) {
            double p = (double)hist[c] / n;
            h -= p * log2(p);
        }
    }
    s->sum += h;
    s->packets++;
}

static void entropy_write(const void *state, wkp_value_writer *w, void *user)
{
    (void)user;
    const struct entropy_state *s = state;
    wkp_write_object_begin(w);
    wkp_write_key(w, "mean");
    if (s->packets)
        wkp_write_double(w, s->sum / (double)s->packets);
    else
        wkp_write_null(w);
    wkp_write_key(w, "packets");
    wkp_write_int(w, (int64_t)s->packets);
    wkp_write_object_end(w);
}

WKP_PLUGIN_DECLARE_API;
WKP_PLUGIN_EXPORT int wkp_plugin_register(wkp_config *cfg);

WKP_PLUGIN_EXPORT int wkp_plugin_register(wkp_config *cfg)
{
    const wkp_feature_def def = {
        .name = "payload_entropy",
        .state_size = sizeof(struct entropy_state),
        .update = entropy_update,
        .write = entropy_write,
    };
    return wkp_config_add_feature(cfg, &def) == WKP_OK ? 0 : -1;
}
