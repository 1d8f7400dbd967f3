/* TCP stream reassembly, one direction of one flow.
 *
 * The worker that owns the flow feeds each TCP segment of the direction
 * (in capture order) to wkp_tcpstream_segment(); the reassembler puts the
 * payload back in sequence order and keeps the first `limit` bytes of the
 * resulting byte stream in one contiguous buffer, for the application
 * dissectors (a TLS handshake with its certificate chain sits at the start
 * of a stream). Past the limit it keeps counting and stores nothing.
 *
 * Policies (sequence numbers are compared mod 2^32):
 *  - Start: a SYN sets the first byte at ISN + 1 (SYN data, TFO, is
 *    delivered); without a SYN the first segment carrying payload starts
 *    the stream (capture begun mid-connection). Segments without payload
 *    before that are ignored.
 *  - Overlaps: the first copy of a byte wins. Bytes at or behind the next
 *    expected sequence number, or already held out of order, are ignored
 *    and counted in `overlap` (retransmissions, keep-alives).
 *  - Out of order: a segment ahead of the next expected byte is held
 *    (bytes written at their final place in the buffer, range in a
 *    32-entry table) until the hole before it fills.
 *  - Giving up a hole: when the held data would not fit in the buffer any
 *    more (or reach more than max(limit, 64 KiB) bytes ahead once the
 *    buffer is full; never more than WKP_TCPSTREAM_JUMP), when the table
 *    is full (the lowest hole goes), when this direction sends a FIN or an
 *    RST, and at wkp_tcpstream_finish(), the reassembler records a gap
 *    (its length in sequence space) and resynchronises at the next held
 *    byte. A segment further ahead than that with nothing held is a gap
 *    at once (capture loss, or a new stream: the large forward jump).
 *  - Gaps take no room in the buffer: the bytes after a gap follow the
 *    bytes before it, and gap[] says where (offset in the buffer) and how
 *    much is missing. At most WKP_TCPSTREAM_GAP_MARKS markers: a further
 *    gap closes the buffer (it stops growing; the markers always describe
 *    it completely).
 *  - Snaplen: a segment whose payload was cut by the capture (len <
 *    seg_len) delivers what is present; the cut-off bytes are a gap.
 *  - SYN and FIN take one sequence number each. A FIN ahead of the data
 *    seen means the bytes before it are missing: a gap up to the FIN.
 *
 * Memory: a direction with no payload holds only its 72-byte struct (a
 * claimed flow keeps two until it ends, so nothing else sits inline).
 * Nothing is allocated before the first payload byte; the buffer then
 * grows by doubling (at most ~log2(limit / 1 KiB) reallocations, never
 * above `limit`), the out-of-order table (~260 bytes) is allocated at the
 * first out-of-order segment and the gap markers (64 bytes) at the first
 * gap inside the buffer. An optional per-worker budget caps the sum of
 * buffers and tables over all streams sharing it; when the buffer cannot
 * grow (budget or malloc), it is closed and later bytes are only counted.
 * The counters are not kept per stream either: each stream adds to a
 * counters struct its owner gives (one per worker), as the events happen.
 *
 * Pure: no I/O, no locks; a stream and its budget belong to one thread. */
#ifndef WKP_TCPSTREAM_H
#define WKP_TCPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/spares.h"

#define WKP_TCPSTREAM_DEFAULT_LIMIT 65536u     /* bytes kept per direction */
#define WKP_TCPSTREAM_HELD          32         /* out-of-order ranges held */
#define WKP_TCPSTREAM_GAP_MARKS     8          /* gaps located in the buffer */
#define WKP_TCPSTREAM_JUMP          (1u << 20) /* never wait further ahead */

/* The TCP header's flag bits a segment's `flags` are read for. */
enum { WKP_TS_FIN = 0x01, WKP_TS_SYN = 0x02, WKP_TS_RST = 0x04 };

/* Bytes missing from the stream: `len` sequence numbers given up before
 * buffer offset `off` (the byte at off is the first one after the gap). */
struct wkp_tcpstream_gap {
    uint32_t off, len;
};

/* Shared by the streams of one worker (or NULL: no cap beyond `limit`,
 * no spares). Zero it, set cap; `used` is what the streams hold now.
 *
 * It also keeps the buffers streams give back (util/spares.h) for the
 * next stream that needs one of that size: a dissector that consumes what
 * it read empties its stream's buffer at every segment, and without
 * spares each segment would cost a malloc and a free. Spares are not
 * counted in `used`; wkp_spares_fini(&budget.spares) frees them once
 * every stream sharing the budget is done. */
struct wkp_tcpstream_budget {
    size_t cap, used;
    uint64_t refused; /* buffer growths refused because of cap */
    struct wkp_spares spares;
};

/* Summed over the streams that share one (a worker's): each event adds
 * here as it happens. */
struct wkp_tcpstream_counters {
    uint64_t delivered;    /* bytes put in sequence order (stored or not) */
    uint64_t dropped;      /* of those, not stored: past the limit or buffer closed */
    uint64_t overlap;      /* payload bytes ignored: already delivered or held */
    uint64_t gap_bytes;    /* sequence numbers given up, in all gaps */
    uint32_t gaps;         /* holes given up */
    uint32_t ooo_segments; /* segments that arrived ahead of a hole */
    uint32_t alloc_failed; /* buffer growths refused (budget or malloc) */
};

struct wkp_tcpstream_ooo; /* held ranges, private to tcpstream.c */

/* One direction. Read the fields directly or through the accessors; only
 * the functions below write them. */
struct wkp_tcpstream {
    uint8_t *buf;     /* the stream from byte `base` on, buf_len bytes valid */
    uint32_t buf_len; /* base + buf_len <= limit */
    uint32_t buf_cap; /* allocated, <= limit */
    uint32_t limit;
    uint32_t base; /* stream bytes consumed (wkp_tcpstream_consume): buf starts there */
    uint32_t isn;  /* sequence number of the stream's first byte */
    uint32_t next; /* next expected sequence number */
    uint8_t started;
    uint8_t closed; /* buffer closed: stores nothing more */
    uint8_t fin;    /* FIN consumed (next is past it) */
    uint8_t ngap;   /* markers in gap[] */
    struct wkp_tcpstream_ooo *ooo;
    struct wkp_tcpstream_budget *budget;
    struct wkp_tcpstream_counters *c;
    struct wkp_tcpstream_gap *gap; /* heap, WKP_TCPSTREAM_GAP_MARKS; NULL before the first gap */
};

/* Prepare s (caller's memory) for a direction keeping the first `limit`
 * bytes (0: count only). budget may be NULL; if not, it must outlive s.
 * c (not NULL, outlives s) receives what s counts; streams may share it. */
void wkp_tcpstream_init(struct wkp_tcpstream *s, uint32_t limit,
                        struct wkp_tcpstream_budget *budget, struct wkp_tcpstream_counters *c);

/* Feed one segment of this direction, in capture order. seq and flags
 * (WKP_TCP_* bits) come from the TCP header; payload[0..len) are the
 * payload bytes present in the capture; seg_len >= len is the payload
 * length the segment carried (IP length minus headers): bytes [len,
 * seg_len) were cut by the snaplen. payload is only read during the call. */
void wkp_tcpstream_segment(struct wkp_tcpstream *s, uint32_t seq, uint8_t flags,
                           const uint8_t *payload, uint32_t len, uint32_t seg_len);

/* End of the flow: give up every hole (gaps), delivering all held data.
 * Segments may still be fed afterwards. */
void wkp_tcpstream_finish(struct wkp_tcpstream *s);

/* The reader is done with the first n stored bytes: they leave the buffer
 * (offsets of the data and the gap markers move down by n) and the stream
 * still keeps only the first `limit` bytes of the direction. Stream
 * dissectors consume what they were given, so a stream holds only bytes
 * not yet handed on (held out-of-order data, a chunk cut by a hole). */
void wkp_tcpstream_consume(struct wkp_tcpstream *s, uint32_t n);

/* Release the buffers; s may be initialised again. */
void wkp_tcpstream_fini(struct wkp_tcpstream *s);

/* The stored stream: *len bytes (may be NULL when *len is 0), borrowed,
 * valid until the next call that writes s. */
static inline const uint8_t *wkp_tcpstream_data(const struct wkp_tcpstream *s, uint32_t *len)
{
    *len = s->buf_len;
    return s->buf;
}

/* Gap markers inside the stored stream, in offset order (NULL when there
 * are none). */
static inline uint32_t wkp_tcpstream_ngaps(const struct wkp_tcpstream *s)
{
    return s->ngap;
}
static inline const struct wkp_tcpstream_gap *wkp_tcpstream_gaps(const struct wkp_tcpstream *s)
{
    return s->gap;
}

/* The counters s adds to (shared with the other streams given them). */
static inline const struct wkp_tcpstream_counters *
wkp_tcpstream_counters(const struct wkp_tcpstream *s)
{
    return s->c;
}

/* Out-of-order ranges held now, waiting for a hole to fill. */
uint32_t wkp_tcpstream_held(const struct wkp_tcpstream *s);

/* Bytes of heap s holds now under its budget (buffer capacity +
 * out-of-order table; the gap markers are not charged). */
size_t wkp_tcpstream_mem(const struct wkp_tcpstream *s);

/* The in-order shortcut for a reader that reads no further than the limit
 * (the signature scanner, whose limit is its depth). Taken when the
 * segment's bytes are exactly the next ones, whole (seg_len == len > 0),
 * without SYN, FIN or RST, and s has nothing stored, held or marked and
 * room left under its limit. Returns how many of its bytes to read where
 * they lie, up to the limit; s counts them as delivered and consumed and
 * the rest as delivered and dropped, as wkp_tcpstream_segment followed by
 * wkp_tcpstream_consume of the stored bytes would, without copying them.
 * 0: nothing changed; feed the segment with wkp_tcpstream_segment. */
static inline uint32_t wkp_tcpstream_pass_head(struct wkp_tcpstream *s, uint32_t seq, uint8_t flags,
                                               uint32_t len, uint32_t seg_len)
{
    if (!s->started || (flags & (WKP_TS_FIN | WKP_TS_SYN | WKP_TS_RST)) || !len || seg_len > len ||
        seq != s->next || s->buf_len || s->ngap || s->closed || s->base >= s->limit ||
        (s->ooo && wkp_tcpstream_held(s)))
        return 0;
    uint32_t n = len < s->limit - s->base ? len : s->limit - s->base;
    s->c->delivered += len;
    s->c->dropped += len - n;
    s->next += len;
    s->base += n;
    return n;
}

/* The same for a reader that consumes everything it is given (a stream
 * dissector): taken only when all len bytes fit under the limit. true: s
 * counts them as delivered and consumed, and the caller reads them from its
 * payload; false: nothing changed. */
static inline bool wkp_tcpstream_pass(struct wkp_tcpstream *s, uint32_t seq, uint8_t flags,
                                      uint32_t len, uint32_t seg_len)
{
    return len <= s->limit - s->base && wkp_tcpstream_pass_head(s, seq, flags, len, seg_len) != 0;
}

#endif
