/* Scanning flows for signatures (docs/signatures.md, "Semantics").
 *
 * Each worker holds one struct wkp_sig_worker (its own Hyperscan scratch,
 * cloned from the database's prototype) and, per flow it owns, one
 * struct wkp_sig_flow, allocated at the flow's first SYN or payload byte.
 * Each direction has one Hyperscan stream, opened at its first payload
 * byte and closed when its data ends (TCP: its FIN reached in sequence, or
 * a RST; else the flow's end), when `depth` bytes of the direction were
 * scanned, or at the first gap (bytes the capture lost). TCP
 * payload is scanned in sequence order through the direction's own
 * reassembler (reassembly/tcpstream.h): out-of-order segments wait for the
 * hole before them, retransmitted bytes are scanned once. UDP datagrams
 * are scanned in arrival order as one stream per direction.
 *
 * Everything here belongs to one worker thread; the database is shared
 * read-only. */
#ifndef WKP_SIG_SCAN_H
#define WKP_SIG_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "signatures/db.h"
#include "reassembly/tcpstream.h"
#include "util/buf.h"
#include "util/pool.h"

#define WKP_SIG_DEFAULT_DEPTH 65536u /* bytes scanned per direction */

struct hs_stream;
struct wkp_tcpstream;

struct wkp_sig_counters {
    uint64_t streams;      /* Hyperscan streams opened */
    uint64_t open_peak;    /* most streams open at once (this worker) */
    uint64_t bytes;        /* bytes scanned */
    uint64_t matches;      /* rule matches recorded (first per rule and flow) */
    uint64_t budget_stops; /* directions whose scan stopped at the depth */
    uint64_t gap_stops;    /* directions whose scan stopped at a gap */
};

struct wkp_sig_worker {
    const struct wkp_sigdb *db;
    struct hs_scratch *scratch;
    uint32_t depth;    /* --signature-depth */
    uint32_t limit[2]; /* per direction: depth, or less when every rule's `depth` is less */
    uint64_t open;     /* streams open now */
    struct wkp_sig_counters c;
    /* what the scan streams' reassemblers count: kept apart from the
     * engine's tcp_reassembly totals, which cover the flows' own streams */
    struct wkp_tcpstream_counters ts_counters;
    /* no cap (the limits bound each stream): its spares give the scan
     * streams' buffers back to the next stream instead of to malloc */
    struct wkp_tcpstream_budget ts_budget;
    /* the flows' state and their directions' reassemblers, from this
     * worker's pools (never through malloc once the pools are warm) */
    struct wkp_pool flows, streams;
    /* streams of each direction's database, reset and kept for the next
     * direction that opens: Hyperscan allocates a stream on every open */
    struct hs_stream **idle[2];
    uint32_t nidle[2], idle_cap[2];
};

/* One rule's first match in a flow. */
struct wkp_sig_match {
    uint32_t rule; /* index into db->rules.v */
    uint8_t dir;   /* 0 up, 1 down */
    uint64_t end;  /* offset in its direction just past the match's last byte */
};

struct wkp_sig_dir {
    struct hs_stream *hs;     /* open stream, or NULL */
    struct wkp_tcpstream *ts; /* TCP: in-order feed while the stream is open */
    uint32_t scanned;         /* bytes of the direction scanned so far */
    uint32_t syn_seq;         /* TCP: this direction's first SYN, if has_syn */
    uint8_t has_syn;
    uint8_t done; /* scanned as far as it will be: nothing more opens */
};

#define WKP_SIG_INLINE_MATCHES 2

struct wkp_sig_flow {
    struct wkp_sig_dir d[2];
    struct wkp_sig_match *m; /* in the order they were found: inl, or malloc'd past it */
    uint32_t nm, cap;
    struct wkp_sig_match inl[WKP_SIG_INLINE_MATCHES];
};

/* Worker thread, before its first packet: a scratch for db. 0, or -1 (out
 * of memory; nothing to free). depth 0 means WKP_SIG_DEFAULT_DEPTH. */
int wkp_sig_worker_init(struct wkp_sig_worker *sw, const struct wkp_sigdb *db, uint32_t depth);
/* Worker thread, after its last flow ended. */
void wkp_sig_worker_fini(struct wkp_sig_worker *sw);

/* A TCP segment of direction dir (0 up, 1 down), in capture order: seq and
 * flags from its header, payload[0..len) the bytes captured, seg_len >=
 * len the payload length it carried. *slot is the flow's state (NULL
 * until the first call that needs it). 0, or -1 out of memory. */
int wkp_sig_tcp(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot, int dir, uint32_t seq,
                uint8_t flags, const uint8_t *payload, uint32_t len, uint32_t seg_len);

/* A datagram's payload (UDP), in arrival order. 0, or -1 out of memory. */
int wkp_sig_datagram(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot, int dir,
                     const uint8_t *payload, uint32_t len);

/* The flow ended: held TCP data is scanned up to its first hole, open
 * streams close (patterns anchored at the end of data, `$`, match here).
 * f may be NULL. */
void wkp_sig_end(struct wkp_sig_worker *sw, struct wkp_sig_flow *f);

/* Free the flow's state (streams still open are closed without matching);
 * *slot becomes NULL. */
void wkp_sig_release(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot);

/* The `signatures` column: a JSON array, one object per rule matched, in
 * the order found: {"id":7001,"name":"ssh-banner","dir":"up","end":8}.
 * f may be NULL ([]). */
void wkp_sig_write(const struct wkp_sigdb *db, const struct wkp_sig_flow *f, struct wkp_buf *b);

/* The label of the first match that has one, or NULL. */
const char *wkp_sig_label(const struct wkp_sigdb *db, const struct wkp_sig_flow *f);

#endif
