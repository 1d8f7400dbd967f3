/* IPv4 and IPv6 fragment reassembly (docs/design.md, "IP fragments").
 *
 * The reader feeds every packet wkp_l2l4_parse() marked is_fragment; the
 * module holds fragments until their datagram is whole and then hands back
 * one frame that looks as if the datagram had never been fragmented: the
 * link header and IP header of the offset-0 fragment, lengths fixed, MF and
 * offset cleared (IPv6: the fragment header taken out of the chain),
 * followed by the datagram. The caller parses that frame again with
 * wkp_l2l4_parse() and treats it as one packet.
 *
 * One object belongs to one thread (the reader); nothing here locks. Time is
 * capture time only: a pending datagram expires timeout_ns after its first
 * fragment's timestamp, measured against the timestamps the caller passes,
 * so results depend on the packet stream alone, never on the wall clock.
 *
 * Policies (each one is tested in tests/unit/test_defrag.c):
 * - key: family, VLAN id, source, destination, identification and, for
 *   IPv4, the protocol. IPv6 leaves the next header out (RFC 8200 §4.5:
 *   only the offset-0 fragment's value counts).
 * - overlaps: a byte comes from the fragment with the lowest offset that
 *   covers it, the first received among equal offsets. This is tshark's
 *   result (it copies fragments in offset order, each from where the ones
 *   before it ended), and does not depend on arrival order except between
 *   fragments at one offset; a plain duplicate changes nothing. With
 *   v6_drop_overlap, an IPv6 fragment overlapping another one (other than an
 *   exact duplicate) drops the whole datagram (RFC 5722); off by default
 *   because tshark reassembles such datagrams.
 * - the first last fragment (MF clear) fixes the datagram length; bytes
 *   held or received beyond it are ignored (as tshark does); a second last
 *   fragment with another length is INVALID.
 * - fragment lengths need not be multiples of 8 (tshark and Linux accept
 *   them); a zero-length fragment is INVALID.
 * - a fragment reaching past 65535 bytes of datagram is dropped
 *   (frags_oversized), and so is a completed datagram whose IP length field
 *   (IPv4 header + datagram, IPv6 unfragmentable headers + datagram) would
 *   exceed 65535.
 * - a fragment cut short by the snap length counts for the bytes its IP
 *   header claims; the output then holds the captured prefix of the
 *   datagram (caplen < wirelen), like any snapped packet. */
#ifndef WKP_DEFRAG_H
#define WKP_DEFRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "dissectors/l2l4.h"

/* Most distinct fragments (byte ranges) one datagram may be made of (65535
 * bytes in 576-byte IPv4 packets is 119); one more drops the datagram as
 * invalid. A repeat of a range already held, or a fragment that starts at
 * or past an end already known, takes no range and does not count toward
 * this; it is held like any other fragment and counted in
 * wkp_defrag_out.nfrags, which may therefore exceed this. */
#define WKP_DEFRAG_MAX_FRAGS 128
/* Most bytes before the fragmentable part (link, tunnels, IP header,
 * unfragmentable IPv6 extension headers); a longer one is INVALID. */
#define WKP_DEFRAG_MAX_HDR   4096

/* A zero field takes the default shown. */
struct wkp_defrag_limits {
    uint32_t max_pending; /* datagrams being reassembled [1024] */
    uint32_t max_bytes;   /* datagram bytes buffered over all of them [8 MiB] */
    int64_t timeout_ns;   /* capture time after a datagram's first fragment [60 s] */
    bool v6_drop_overlap; /* RFC 5722 for IPv6 [false: lowest offset wins] */
};

enum wkp_defrag_result {
    WKP_DEFRAG_PASS = 0, /* not a fragment (e.g. offset 0 and MF clear): use the packet as is */
    WKP_DEFRAG_HELD,     /* taken: emit nothing for this packet */
    WKP_DEFRAG_DONE,     /* *out holds a reassembled frame; emit it instead of this packet */
    WKP_DEFRAG_INVALID,  /* malformed fragment, counted in frags_invalid: emit nothing */
};

/* One captured packet that wkp_l2l4_parse() returned WKP_PARSE_FLOW for. */
struct wkp_defrag_frag {
    const uint8_t *data;      /* frame bytes, borrowed for the call */
    uint32_t caplen;          /* bytes in data */
    int64_t ts_ns;            /* capture timestamp */
    int dlt;                  /* link type of data */
    const struct wkp_l2l4 *m; /* parse result of data[0, caplen) */
};

/* A reassembled frame. data is owned by the defrag object and valid until
 * the next call on it: copy it out. */
struct wkp_defrag_out {
    const uint8_t *data;
    uint32_t caplen;  /* bytes in data: wirelen, or less if a fragment was snapped */
    uint32_t wirelen; /* header bytes before the fragmentable part (fragment
                         header excluded) + datagram length */
    int64_t ts_ns;    /* the completing fragment's timestamp */
    int dlt;          /* link type of the offset-0 fragment */
    uint32_t nfrags;  /* fragments merged, repeats and the completing one included */
};

/* Every fragment passed to wkp_defrag_add() that did not return PASS ends in
 * exactly one of: datagrams_done (the completing one), frags_merged,
 * frags_expired, frags_evicted, frags_oversized, frags_invalid, or is still
 * pending (wkp_defrag_pending_frags()). */
struct wkp_defrag_stats {
    uint64_t frags_in;        /* fragments taken (not PASS) */
    uint64_t frags_merged;    /* held, then absorbed into a completed datagram */
    uint64_t frags_expired;   /* held, dropped by timeout or wkp_defrag_flush() */
    uint64_t frags_evicted;   /* held, dropped to stay within max_pending / max_bytes */
    uint64_t frags_oversized; /* past 65535 bytes, or held in a datagram that was */
    uint64_t frags_invalid;   /* INVALID, or held in a datagram an overlap dropped */
    uint64_t datagrams_done;  /* DONE results */
    uint64_t datagrams_expired;
    uint64_t datagrams_evicted;
};

/* New reassembler; lim NULL or zero fields take the defaults. Memory:
 * about max_pending * 1 KiB up front, plus datagram buffers, which are
 * pooled and kept while they total at most max_bytes. NULL if out of memory. */
struct wkp_defrag *wkp_defrag_new(const struct wkp_defrag_limits *lim);

/* NULL is a no-op. */
void wkp_defrag_free(struct wkp_defrag *d);

/* Feed one packet. Returns enum wkp_defrag_result; on DONE fills *out.
 * Before anything else, the datagram the fragment belongs to is expired if
 * its first fragment is more than timeout_ns older than f->ts_ns. */
int wkp_defrag_add(struct wkp_defrag *d, const struct wkp_defrag_frag *f,
                   struct wkp_defrag_out *out);

/* Drop every pending datagram whose first fragment is more than timeout_ns
 * older than now_ns (the capture clock). Returns how many fragments went.
 * Cost: O(pending); call it on the reader's ticks. */
uint64_t wkp_defrag_expire(struct wkp_defrag *d, int64_t now_ns);

/* Drop every pending datagram (end of a capture), counted as expired.
 * Returns how many fragments went. */
uint64_t wkp_defrag_flush(struct wkp_defrag *d);

/* Counters so far. */
void wkp_defrag_stats(const struct wkp_defrag *d, struct wkp_defrag_stats *out);

/* Datagrams and fragments held right now. */
uint32_t wkp_defrag_pending(const struct wkp_defrag *d);
uint64_t wkp_defrag_pending_frags(const struct wkp_defrag *d);

#endif
