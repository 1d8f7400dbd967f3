/* Statistics blocks of one flow (see flowstats.h).
 *
 * IATs are exact: the difference of two integer-nanosecond timestamps,
 * converted to seconds once (the original subtracted two rounded double
 * timestamps, which leaves errors around 1e-7 s on 2025-era epochs).
 * up_iats and down_iats are the gaps between consecutive packets of the
 * same direction. */
#include "features/flowstats.h"

#include <stdlib.h>
#include <string.h>

const char *const wkp_block_names[WKP_NBLOCKS] = {
    "packet_lengths", "ip_lengths", "trans_lengths", "app_lengths",   "iats",
    "up_iats",        "down_iats",  "payload_bytes", "tcp_flags",     "tcp_window",
};

void wkp_flow_stats_scratch_free(struct wkp_flow_stats_scratch *s)
{
    free(s->v);
    s->v = NULL;
    s->cap = 0;
}

int wkp_flow_stats_compute(const struct wkp_seq *seq, bool tcp,
                           struct wkp_flow_stats_scratch *scratch, struct wkp_flow_stats *out)
{
    size_t n = (size_t)seq->stored;
    if (scratch->cap < n * WKP_NBLOCKS) {
        size_t cap = n * WKP_NBLOCKS + 64;
        double *v = realloc(scratch->v, cap * sizeof *v);
        if (!v)
            return -1;
        scratch->v = v;
        scratch->cap = cap;
    }
    struct wkp_block_acc acc[WKP_NBLOCKS];
    size_t cnt[WKP_NBLOCKS] = {0};
    for (int b = 0; b < WKP_NBLOCKS; b++)
        wkp_block_acc_init(&acc[b]);
    double *col[WKP_NBLOCKS];
    for (int b = 0; b < WKP_NBLOCKS; b++)
        col[b] = scratch->v + (size_t)b * n;

#define ADD(b, x)                                                                                 \
    do {                                                                                          \
        double x_ = (x);                                                                          \
        wkp_block_acc_add(&acc[b], x_);                                                           \
        col[b][cnt[b]++] = x_;                                                                    \
    } while (0)

    int64_t prev = 0, prev_dir[2] = {0, 0};
    bool have_prev = false, have_dir[2] = {false, false};
    int64_t first_ts = 0, last_ts = 0;
    for (struct wkp_seq_it it = wkp_seq_first(seq); it.c; wkp_seq_next(&it)) {
        const struct wkp_pkt_rec *r = it.r;
        double d = r->dir;
        ADD(WKP_BLK_PACKET_LENGTHS, d * r->wire);
        ADD(WKP_BLK_IP_LENGTHS, d * r->ip);
        ADD(WKP_BLK_TRANS_LENGTHS, d * r->trans);
        ADD(WKP_BLK_APP_LENGTHS, d * r->app);
        ADD(WKP_BLK_PAYLOAD_BYTES, d * r->payload);
        if (tcp) {
            ADD(WKP_BLK_TCP_FLAGS, (double)r->flags);
            ADD(WKP_BLK_TCP_WINDOW, (double)r->win);
        }
        if (have_prev)
            ADD(WKP_BLK_IATS, (double)(r->ts_ns - prev) / 1e9);
        else
            first_ts = r->ts_ns;
        last_ts = r->ts_ns;
        int di = r->dir > 0 ? 0 : 1;
        if (have_dir[di])
            ADD(di ? WKP_BLK_DOWN_IATS : WKP_BLK_UP_IATS, (double)(r->ts_ns - prev_dir[di]) / 1e9);
        prev_dir[di] = r->ts_ns;
        have_dir[di] = true;
        prev = r->ts_ns;
        have_prev = true;
    }
#undef ADD
    out->present = 0;
    for (int b = 0; b < WKP_NBLOCKS; b++) {
        if (!cnt[b]) {
            memset(&out->blk[b], 0, sizeof out->blk[b]);
            continue;
        }
        out->present |= 1u << b;
        wkp_block_finish(&acc[b], wkp_median_abs(col[b], cnt[b]), &out->blk[b]);
    }
    wkp_scalars_compute(&acc[WKP_BLK_PACKET_LENGTHS], cnt[WKP_BLK_IATS] ? &acc[WKP_BLK_IATS] : NULL,
                        (double)first_ts / 1e9, (double)last_ts / 1e9, &out->sc);
    return 0;
}
