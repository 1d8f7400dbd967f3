/* wkp_engine_run_live and its companions: a run whose one capture is a
 * network interface (capture/live.c). */
#include <math.h>
#include <stdatomic.h>

#include "engine/internal.h"

wkp_status wkp_engine_run_live(wkp_engine *e, const char *iface, const wkp_live_options *opt)
{
    if (!e)
        return WKP_EINVAL;
    wkp_live_options o = {.size = sizeof o};
    if (opt) {
        if (opt->size < sizeof o || !(opt->duration_s >= 0) || isinf(opt->duration_s) ||
            opt->duration_s > 9e9 || opt->snaplen < 0 || opt->buffer_bytes < 0) {
            wkp__set_error(e, "wkp_engine_run_live: invalid options");
            return WKP_EINVAL;
        }
        o = *opt;
    }
    if (e->cfg.merge || e->cfg.off_lo != 0 || e->cfg.off_hi != UINT64_MAX) {
        wkp__set_error(e, "wkp_engine_run_live: merging and byte-offset slices are for files, "
                          "not an interface");
        return WKP_EINVAL;
    }
    if (!iface || !*iface) {
        wkp__set_error(e, "wkp_engine_run_live: no interface given");
        return WKP_EINVAL;
    }
    e->live = true;
    e->live_cfg = (struct wkp_live_cfg){
        .count = o.count,
        .duration_ns = (int64_t)(o.duration_s * 1e9),
        .snaplen = o.snaplen,
        .buffer_bytes = o.buffer_bytes,
        .promisc = !o.no_promisc,
    };
    const char *paths[1] = {iface};
    return wkp_engine_run(e, paths, 1);
}

void wkp_engine_end_input(wkp_engine *e)
{
    if (e)
        atomic_store_explicit(&e->end_input, 1, memory_order_relaxed);
}

bool wkp_engine_live_stats(const wkp_engine *e, uint64_t *received, uint64_t *dropped,
                           uint64_t *if_dropped)
{
    if (!e || !e->live_stats)
        return false;
    if (received)
        *received = e->live_received;
    if (dropped)
        *dropped = e->live_dropped;
    if (if_dropped)
        *if_dropped = e->live_if_dropped;
    return true;
}
