/* What travels on a reader -> worker ring: one packet, already parsed down
 * to its transport and keyed, or a control item broadcast to every worker.
 *
 * Stream positions order everything a run emits (docs/design.md, Output
 * order and number text): packet number n (1-based, counted over all
 * packets read, IP or not) has position 4n; a tick sent after it 4n + 1,
 * the flush that ends its capture 4n + 2. Every item a worker receives has
 * its own position: the merger's watermark rule
 * (a worker at position P has sent every record ending at or before P)
 * would break if a tick and a flush shared one. A flow's record carries the
 * position of the item that ended it. */
#ifndef WKP_PKT_H
#define WKP_PKT_H

#include <stdint.h>

#include "dissectors/l2l4.h"
#include "flowtable/key.h"

enum { WKP_AT_PACKET = 0, WKP_AT_TICK = 1, WKP_AT_FLUSH = 2 };
#define WKP_POS(ordinal, at) ((uint64_t)(ordinal)*4u + (at))
#define WKP_POS_ORDINAL(pos) ((pos) / 4u)

enum wkp_item_kind {
    WKP_ITEM_PACKET = 0,
    WKP_ITEM_TICK,  /* the capture clock entered a new second: expire idle flows */
    WKP_ITEM_FLUSH, /* end of a capture: every flow ends (end_of_input) */
    WKP_ITEM_STOP,  /* end of the run: the worker exits */
    WKP_ITEM_ARP,   /* an ARP packet (no flow): a row of its own for the packet sinks */
    WKP_ITEM_MARK,  /* a position for the watermarks only: nothing ends */
    WKP_ITEM_RAW,   /* a packet keyed by wkp_l2l4_quick: m unset, the worker walks
                     * the (Ethernet) frame into m */
};

struct wkp_pkt {
    uint64_t pos;        /* stream position (see above) */
    int64_t ts_ns;       /* this packet's capture time */
    int64_t clock_ns;    /* capture clock: the largest ts_ns read so far */
    const uint8_t *data; /* frame bytes: in the mapped file or the ring's arena */
    uint64_t arena_end;  /* ring arena bytes used up to and including this item */
    uint64_t hash;       /* wkp_key_hash(&key) */
    uint32_t caplen, wirelen;
    uint8_t kind;     /* enum wkp_item_kind */
    uint8_t src_is_a; /* the packet's source is key.a */
    uint16_t capture; /* index of the capture file in the run */
    struct wkp_flow_key key;
    struct wkp_l2l4 m; /* last: a raw packet leaves its lines untouched */
};

#endif
