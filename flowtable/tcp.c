/* TCP per-direction tracking (docs/design.md, "TCP splitting", "Retransmissions").
 *
 * Called by the worker that owns the flow, once per TCP packet; no other
 * thread touches a flow's directions. Sequence numbers live on a circle of
 * 2^32: "ahead" means a forward distance below 2^31, computed with
 * unsigned wrap-around, never with a signed comparison, so a connection
 * whose sequence numbers cross 2^32 is tracked like any other. */
#include "flowtable/tcp.h"

void wkp_tcp_state_update(struct wkp_tcp_dir *sender, uint8_t flags)
{
    bool syn = flags & WKP_TCP_SYN, ack = flags & WKP_TCP_ACK, fin = flags & WKP_TCP_FIN;

    if (fin)
        sender->fin_seen = 1;
    if (flags & WKP_TCP_RST) {
        sender->rst_seen = 1;
        sender->state = WKP_TCP_RESET;
    } else if (syn && !ack) {
        sender->state = WKP_TCP_SYN_SENT;
    } else if (syn) {
        sender->state = WKP_TCP_ESTABLISHED;
    } else if (fin && sender->state == WKP_TCP_ESTABLISHED) {
        sender->state = WKP_TCP_FIN_WAIT_1;
    } else if (fin && sender->state == WKP_TCP_FIN_WAIT_1) {
        sender->state = WKP_TCP_FIN_WAIT_2;
    } else if (ack && sender->state == WKP_TCP_FIN_WAIT_1) {
        sender->state = WKP_TCP_FIN_WAIT_2;
    }
}

bool wkp_tcp_closed(const struct wkp_tcp_dir *a, const struct wkp_tcp_dir *b)
{
    return (a->fin_seen && b->fin_seen) || a->rst_seen || b->rst_seen;
}

bool wkp_tcp_retransmission(struct wkp_tcp_dir *d, uint32_t seq, uint8_t flags, uint32_t app_len)
{
    uint32_t synfin = (uint32_t)((flags & WKP_TCP_SYN) ? 1 : 0) + ((flags & WKP_TCP_FIN) ? 1 : 0);
    uint32_t seg = app_len + synfin; /* app_len fits an IP datagram: no wrap */

    if (seg == 0)
        return false;
    uint32_t end = seq + seg; /* mod 2^32 */
    if (!d->has_next_seq) {
        d->next_seq = end;
        d->has_next_seq = 1;
        return false;
    }
    /* A keep-alive probe repeats the last byte sent (or none) at
     * next_seq - 1 (RFC 9293 §3.8.4); without this rule its 1-byte form
     * would look like a retransmission. */
    if (app_len <= 1 && synfin == 0 && seq == d->next_seq - 1u)
        return false;
    uint32_t dist = end - d->next_seq; /* mod 2^32 */
    if (dist == 0)
        return true;
    if (dist < UINT32_C(0x80000000)) {
        d->next_seq = end;
        return false;
    }
    return true;
}

bool wkp_tcp_pure_ack(uint8_t flags, uint8_t hdr_len, uint32_t app_len)
{
    return flags == WKP_TCP_ACK && hdr_len == 20 && app_len == 0;
}

bool wkp_tcp_new_syn(const struct wkp_tcp_dir *a, const struct wkp_tcp_dir *b, uint8_t flags,
                     uint32_t seq, uint32_t first_syn_seq, bool has_first_syn)
{
    if ((flags & (WKP_TCP_SYN | WKP_TCP_ACK)) != WKP_TCP_SYN)
        return false;
    if (!wkp_tcp_closed(a, b))
        return false;
    return !has_first_syn || seq != first_syn_seq;
}
