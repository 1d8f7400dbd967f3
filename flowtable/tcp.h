/* TCP per-direction tracking: connection state, the "flow closed" test
 * and the new-SYN split, retransmission and the pure-ACK test
 * (docs/design.md, "TCP splitting" and "Retransmissions").
 *
 * A flow keeps one struct wkp_tcp_dir per direction; the worker that owns
 * the flow calls these on each TCP packet, in this order:
 *   1. before lookup: wkp_tcp_pure_ack() (filter_ack) and the RST filter;
 *   2. at lookup: wkp_tcp_new_syn() on the found flow; true ends it with
 *      end_reason new_syn and the packet opens a new flow (zeroed dirs);
 *   3. wkp_tcp_retransmission() on the sender's direction;
 *   4. unless the packet was dropped as a retransmission:
 *      wkp_tcp_state_update() on the sender's direction.
 * Pure functions of their arguments: no allocation, no I/O, any thread. */
#ifndef WKP_TCP_H
#define WKP_TCP_H

#include <stdbool.h>
#include <stdint.h>

/* TCP header flag bits, as in byte 13 of the header. */
enum {
    WKP_TCP_FIN = 0x01,
    WKP_TCP_SYN = 0x02,
    WKP_TCP_RST = 0x04,
    WKP_TCP_PSH = 0x08,
    WKP_TCP_ACK = 0x10,
    WKP_TCP_URG = 0x20,
    WKP_TCP_ECE = 0x40,
    WKP_TCP_CWR = 0x80,
};

/* Connection states. TIME_WAIT is not kept: no rule below enters it. */
enum wkp_tcp_state {
    WKP_TCP_CLOSED = 0,
    WKP_TCP_SYN_SENT,
    WKP_TCP_ESTABLISHED,
    WKP_TCP_FIN_WAIT_1,
    WKP_TCP_FIN_WAIT_2,
    WKP_TCP_RESET,
};

/* One direction of a flow, named after its sender. All-zero is the
 * initial value (CLOSED, next_seq unset, nothing seen).
 *
 * fin_seen and rst_seen are sticky: the state machine cannot tell that
 * a side sent a FIN (a FIN in SYN_SENT or CLOSED changes nothing, so a
 * client that sent SYN, ACK, FIN is still SYN_SENT; a capture joined
 * mid-connection stays CLOSED), and "flow closed" is defined on the
 * FINs and RSTs seen, so they are kept apart from the state. */
struct wkp_tcp_dir {
    uint32_t next_seq;    /* sequence number expected next, mod 2^32 */
    uint8_t has_next_seq; /* 0 until the first segment with seg > 0 */
    uint8_t state;        /* enum wkp_tcp_state */
    uint8_t fin_seen;     /* this side sent a FIN (any state) */
    uint8_t rst_seen;     /* this side sent a RST */
};

/* Apply the first matching rule to the sender's state: RST -> RESET;
 * SYN without ACK -> SYN_SENT; SYN+ACK -> ESTABLISHED; FIN in ESTABLISHED
 * -> FIN_WAIT_1; FIN in FIN_WAIT_1 -> FIN_WAIT_2; ACK in FIN_WAIT_1 ->
 * FIN_WAIT_2; otherwise unchanged. Also records fin_seen / rst_seen from
 * the flag bits, whatever the state. */
void wkp_tcp_state_update(struct wkp_tcp_dir *sender, uint8_t flags);

/* "Flow closed": both directions sent a FIN, or either sent a RST.
 * No final ACK is needed, and a FIN counts in any state (see above).
 * A test on the states ("both sides in {FIN_WAIT_2, CLOSED}") is not
 * used: it holds for a flow that has seen no packet at all (both CLOSED)
 * and never holds for a client that sent its FIN from SYN_SENT. */
bool wkp_tcp_closed(const struct wkp_tcp_dir *a, const struct wkp_tcp_dir *b);

/* Retransmission test on the sender's direction d, for a packet that
 * passed the RST and pure-ACK filters:
 *   1. seg = app_len + SYN + FIN; seg = 0: not a retransmission, d unchanged;
 *   2. end = seq + seg (mod 2^32);
 *   3. next_seq unset: next_seq = end, not a retransmission;
 *   4. keep-alive (app_len <= 1, no SYN/FIN, seq == next_seq - 1): not,
 *      d unchanged;
 *   5. dd = end - next_seq (mod 2^32): 0 -> retransmission; 0 < dd < 2^31
 *      -> next_seq = end, not; dd >= 2^31 (end behind next_seq) ->
 *      retransmission.
 * app_len is the TCP payload without padding (struct wkp_l2l4.app_len).
 * Returns true for a retransmission. */
bool wkp_tcp_retransmission(struct wkp_tcp_dir *d, uint32_t seq, uint8_t flags, uint32_t app_len);

/* filter_ack's pure ACK: flags exactly ACK (0x10), a 20-byte header (no options)
 * and no payload (app_len, padding excluded). */
bool wkp_tcp_pure_ack(uint8_t flags, uint8_t hdr_len, uint32_t app_len);

/* Does this packet end the flow (end_reason new_syn) and open a new
 * one? True iff the flow is closed (wkp_tcp_closed(a, b)), the packet is
 * a SYN without ACK, and either the flow saw no SYN or seq differs from
 * the flow's first SYN (a retransmitted SYN is not a new flow).
 *
 * a, b: the flow's two directions, before this packet touches them.
 * first_syn_seq / has_first_syn: the caller keeps them per flow: the
 * sequence number of the first packet of the flow, in either direction,
 * with SYN set and ACK clear (a SYN+ACK never counts), recorded once the
 * packet has passed the retransmission test (a SYN dropped as a
 * retransmission is not recorded); has_first_syn is false until then. A flow opened by
 * this function starts with that packet's seq as its first SYN. */
bool wkp_tcp_new_syn(const struct wkp_tcp_dir *a, const struct wkp_tcp_dir *b, uint8_t flags,
                     uint32_t seq, uint32_t first_syn_seq, bool has_first_syn);

#endif
