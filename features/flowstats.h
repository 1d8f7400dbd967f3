/* A flow's statistics blocks (SPEC §4, D4, D12) computed from its packet
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

/* "packet_lengths", ..., "tcp_window" (D12 order). */
extern const char *const wkp_block_names[WKP_NBLOCKS];

struct wkp_flow_stats {
    uint32_t present; /* bit b: block b has values (SPEC §4.1: no block otherwise) */
    struct wkp_block blk[WKP_NBLOCKS];
    struct wkp_scalars sc;
};

struct wkp_flow_stats_scratch {
    double *v;
    size_t cap;
};

/* Statistics of the records in seq. tcp: the flag and window blocks exist
 * (for a TCP flow). -1 if the scratch could not grow. */
int wkp_flow_stats_compute(const struct wkp_seq *seq, bool tcp,
                           struct wkp_flow_stats_scratch *scratch, struct wkp_flow_stats *out);
void wkp_flow_stats_scratch_free(struct wkp_flow_stats_scratch *s);

#endif
