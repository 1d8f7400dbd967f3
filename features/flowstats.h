/* A flow's statistics blocks (docs/output.md, Statistics blocks) computed from its packet
 * records when it ends: one pass feeds the ten blocks' streaming
 * accumulators and collects each block's values for its exact median.
 * Pure function; the scratch buffer is the calling worker's. */
#ifndef WKP_FLOWSTATS_H
#define WKP_FLOWSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/seq.h"
#include "features/stats.h"

enum wkp_block_id {
    WKP_BLK_PACKET_LENGTHS = 0,
    WKP_BLK_IP_LENGTHS,
    WKP_BLK_TRANS_LENGTHS,
    WKP_BLK_APP_LENGTHS,
    WKP_BLK_IATS,
    WKP_BLK_UP_IATS,
    WKP_BLK_DOWN_IATS,
    WKP_BLK_PAYLOAD_BYTES,
    WKP_BLK_TCP_FLAGS,
    WKP_BLK_TCP_WINDOW,
    WKP_NBLOCKS
};

/* "packet_lengths", ..., "tcp_window", in the CSV column order. */
extern const char *const wkp_block_names[WKP_NBLOCKS];

struct wkp_flow_stats {
    uint32_t present; /* bit b: block b has values (an empty sequence has no block) */
    struct wkp_block blk[WKP_NBLOCKS];
    struct wkp_scalars sc;
};

/* Streaming state over every packet of a flow, for flows that store fewer
 * records than they have packets (max_seq): moment statistics then still
 * cover every packet while medians cover the stored ones. */
struct wkp_flow_acc {
    struct wkp_block_acc acc[WKP_NBLOCKS];
    int64_t prev_ts, prev_dir_ts[2], first_ts, last_ts;
    uint8_t have_prev, have_dir[2];
};

void wkp_flow_acc_init(struct wkp_flow_acc *a);
void wkp_flow_acc_add(struct wkp_flow_acc *a, const struct wkp_pkt_rec *r, bool tcp);

struct wkp_flow_stats_scratch {
    double *v;
    size_t cap;
};

/* Statistics of a flow. tcp: the flag and window blocks exist. all: the
 * streaming state over every packet, or NULL when seq holds every packet.
 * Medians come from the records in seq. -1 if the scratch could not grow. */
int wkp_flow_stats_compute(const struct wkp_seq *seq, bool tcp, const struct wkp_flow_acc *all,
                           struct wkp_flow_stats_scratch *scratch, struct wkp_flow_stats *out);
void wkp_flow_stats_scratch_free(struct wkp_flow_stats_scratch *s);

#endif
