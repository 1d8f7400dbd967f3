/* Unit tests for flowtable/tcp: the state machine, "closed" and the
 * new-SYN split, retransmission and the pure-ACK test, on
 * hand-made values whose expected results are worked out in the comments,
 * then retransmission on real captures against Wireshark's tcp.analysis.
 * retransmission frames:
 *   tshark -r wa1kpcap__dup.pcap -Y tcp.analysis.retransmission
 *       -T fields -e frame.number   -> 60 67 68 69 70
 *   same on wa1kpcap__fin-rst.pcap  -> 20 21 22 */
#include "dissectors/l2l4.h"
#include "flowtable/tcp.h"

#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <string.h>

#define SYN WKP_TCP_SYN
#define ACK WKP_TCP_ACK
#define FIN WKP_TCP_FIN
#define RST WKP_TCP_RST
#define PSH WKP_TCP_PSH

/* ---- retransmission ----------------------------------------------------- */

Test(tcp, zero_length_segment_is_never_a_retransmission)
{
    struct wkp_tcp_dir d = {0};
    /* Step 1 before step 3: a bare ACK does not set next_seq. */
    cr_assert_not(wkp_tcp_retransmission(&d, 1000, ACK, 0));
    cr_assert_eq(d.has_next_seq, 0);
    cr_assert(!wkp_tcp_retransmission(&d, 1000, PSH | ACK, 10)); /* sets next = 1010 */
    cr_assert_eq(d.next_seq, 1010);
    /* An old pure ACK (seq 500, far behind) is still seg 0: not, unchanged. */
    cr_assert_not(wkp_tcp_retransmission(&d, 500, ACK, 0));
    cr_assert_not(wkp_tcp_retransmission(&d, 1010, ACK | RST, 0));
    cr_assert_eq(d.next_seq, 1010);
}

Test(tcp, first_segment_sets_next_seq)
{
    struct wkp_tcp_dir d = {0};
    /* Step 3 whatever seq is: a capture joined mid-connection. */
    cr_assert_not(wkp_tcp_retransmission(&d, 0xdeadbeef, ACK, 100));
    cr_assert_eq(d.has_next_seq, 1);
    cr_assert_eq(d.next_seq, 0xdeadbeefu + 100u);
}

Test(tcp, in_order_segments_advance)
{
    struct wkp_tcp_dir d = {0};
    cr_assert_not(wkp_tcp_retransmission(&d, 100, ACK, 50)); /* next 150 */
    cr_assert_not(wkp_tcp_retransmission(&d, 150, ACK, 50)); /* d = 50: next 200 */
    cr_assert_not(wkp_tcp_retransmission(&d, 200, ACK, 1));  /* 1 byte at next: d = 1 */
    cr_assert_eq(d.next_seq, 201);
    /* A gap (lost segment 201..300) is ahead too: next jumps to 400. */
    cr_assert_not(wkp_tcp_retransmission(&d, 300, ACK, 100));
    cr_assert_eq(d.next_seq, 400);
    /* Partial overlap: 350..450 ends ahead of 400 (d = 50): not, next 450. */
    cr_assert_not(wkp_tcp_retransmission(&d, 350, ACK, 100));
    cr_assert_eq(d.next_seq, 450);
}

Test(tcp, exact_duplicate_is_a_retransmission)
{
    struct wkp_tcp_dir d = {0};
    cr_assert_not(wkp_tcp_retransmission(&d, 100, ACK, 50)); /* next 150 */
    cr_assert_not(wkp_tcp_retransmission(&d, 150, ACK, 50)); /* next 200 */
    /* 150 + 50 = 200 = next: d = 0. */
    cr_assert(wkp_tcp_retransmission(&d, 150, PSH | ACK, 50));
    cr_assert_eq(d.next_seq, 200);
}

Test(tcp, old_segment_is_a_retransmission)
{
    struct wkp_tcp_dir d = {0};
    cr_assert_not(wkp_tcp_retransmission(&d, 100, ACK, 100)); /* next 200 */
    /* 100..150 ends at 150: d = 150 - 200 = 2^32 - 50 >= 2^31. */
    cr_assert(wkp_tcp_retransmission(&d, 100, ACK, 50));
    /* The filled lost segment case: 120..180, also behind. */
    cr_assert(wkp_tcp_retransmission(&d, 120, ACK, 60));
    cr_assert_eq(d.next_seq, 200);
}

Test(tcp, keepalive_at_next_minus_one_is_not_a_retransmission)
{
    struct wkp_tcp_dir d = {0};
    cr_assert_not(wkp_tcp_retransmission(&d, 1000, ACK, 100)); /* next 1100 */
    /* 0-byte probe at 1099: seg 0, step 1. */
    cr_assert_not(wkp_tcp_retransmission(&d, 1099, ACK, 0));
    /* 1-byte probe at 1099: end 1100 = next would be d = 0, but step 4
     * comes first: not, next unchanged. */
    cr_assert_not(wkp_tcp_retransmission(&d, 1099, ACK, 1));
    cr_assert_eq(d.next_seq, 1100);
    /* 1 byte at 1098 is no probe: end 1099, d = 2^32 - 1: retransmission. */
    cr_assert(wkp_tcp_retransmission(&d, 1098, ACK, 1));
    /* 2 bytes at 1099 is no probe either: end 1101, d = 1: advance. */
    cr_assert_not(wkp_tcp_retransmission(&d, 1099, ACK, 2));
    cr_assert_eq(d.next_seq, 1101);
    /* A FIN at next - 1 is no probe: seg 1, end 1100, d = 2^32 - 1. */
    cr_assert(wkp_tcp_retransmission(&d, 1100, FIN | ACK, 0));
}

Test(tcp, syn_and_fin_each_count_one)
{
    struct wkp_tcp_dir c = {0}, s = {0};
    /* Client SYN at 1000: seg 1, next 1001. Retransmitted SYN: d = 0. */
    cr_assert_not(wkp_tcp_retransmission(&c, 1000, SYN, 0));
    cr_assert_eq(c.next_seq, 1001);
    cr_assert(wkp_tcp_retransmission(&c, 1000, SYN, 0));
    /* Server SYN-ACK at 5000: next 5001; again: retransmission. */
    cr_assert_not(wkp_tcp_retransmission(&s, 5000, SYN | ACK, 0));
    cr_assert(wkp_tcp_retransmission(&s, 5000, SYN | ACK, 0));
    /* Client data 1001..1011, then FIN with 5 bytes: seg 6, next 1017. */
    cr_assert_not(wkp_tcp_retransmission(&c, 1001, PSH | ACK, 10));
    cr_assert_not(wkp_tcp_retransmission(&c, 1011, FIN | PSH | ACK, 5));
    cr_assert_eq(c.next_seq, 1017);
    cr_assert(wkp_tcp_retransmission(&c, 1011, FIN | PSH | ACK, 5));
    /* Bare FIN at 5001 (seg 1): next 5002; its repeat is a retransmission. */
    cr_assert_not(wkp_tcp_retransmission(&s, 5001, FIN | ACK, 0));
    cr_assert(wkp_tcp_retransmission(&s, 5001, FIN | ACK, 0));
    cr_assert_eq(s.next_seq, 5002);
}

Test(tcp, sequence_wraps_around_2_pow_32)
{
    struct wkp_tcp_dir d = {0};
    /* Ahead across the wrap: 0xfffffff0 + 32 = 0x10 (mod 2^32), d = 32. */
    cr_assert_not(wkp_tcp_retransmission(&d, 0xffffffe0u, ACK, 16)); /* next 0xfffffff0 */
    cr_assert_not(wkp_tcp_retransmission(&d, 0xfffffff0u, ACK, 32));
    cr_assert_eq(d.next_seq, 0x10);
    /* Its duplicate: end 0x10 = next, d = 0. */
    cr_assert(wkp_tcp_retransmission(&d, 0xfffffff0u, ACK, 32));
    /* Behind across the wrap: end 0xfffffff0, d = 0xfffffff0 - 0x10
     * = 0xffffffe0 >= 2^31, though end > next as plain integers. */
    cr_assert(wkp_tcp_retransmission(&d, 0xffffffe0u, ACK, 16));
    /* Ahead past 0 from below: 0x10 + 0x20 = 0x30. */
    cr_assert_not(wkp_tcp_retransmission(&d, 0x10, ACK, 0x20));
    cr_assert_eq(d.next_seq, 0x30);
    /* A SYN at 0xffffffff ends at 0 (mod 2^32). */
    struct wkp_tcp_dir s = {0};
    cr_assert_not(wkp_tcp_retransmission(&s, 0xffffffffu, SYN, 0));
    cr_assert_eq(s.next_seq, 0);
    /* Keep-alive across the wrap: next 0, probe at 0 - 1 = 0xffffffff. */
    cr_assert_not(wkp_tcp_retransmission(&s, 0xffffffffu, ACK, 1));
    cr_assert_eq(s.next_seq, 0);
}

Test(tcp, distance_of_half_the_space_or_more_is_behind)
{
    struct wkp_tcp_dir d = {0};
    cr_assert_not(wkp_tcp_retransmission(&d, 0, ACK, 1000)); /* next 1000 */
    /* end = 1000 + 2^31 - 1: d = 2^31 - 1 < 2^31: ahead, advance. */
    cr_assert_not(wkp_tcp_retransmission(&d, 1000u + 0x7fffffffu - 10u, ACK, 10));
    cr_assert_eq(d.next_seq, 1000u + 0x7fffffffu);
    /* From next N, end = N + 2^31: d = 2^31 exactly: retransmission. */
    uint32_t n = d.next_seq;
    cr_assert(wkp_tcp_retransmission(&d, n + 0x80000000u - 10u, ACK, 10));
    /* d = 2^31 + 1 .. 2^32 - 1 likewise; next never moves. */
    cr_assert(wkp_tcp_retransmission(&d, n + 0x80000001u - 10u, ACK, 10));
    cr_assert(wkp_tcp_retransmission(&d, n + 0xffffffffu - 10u, ACK, 10));
    cr_assert_eq(d.next_seq, n);
}

/* ---- state and "closed" -------------------------------------------------- */

Test(tcp, handshake_and_fin_exchange_closes)
{
    struct wkp_tcp_dir c = {0}, s = {0};
    wkp_tcp_state_update(&c, SYN);
    cr_assert_eq(c.state, WKP_TCP_SYN_SENT);
    wkp_tcp_state_update(&s, SYN | ACK);
    cr_assert_eq(s.state, WKP_TCP_ESTABLISHED);
    /* No rule moves SYN_SENT on ACK or FIN: the client stays there
     * through the handshake's ACK and its own FIN; fin_seen records it. */
    wkp_tcp_state_update(&c, ACK);
    wkp_tcp_state_update(&c, FIN | ACK);
    cr_assert_eq(c.state, WKP_TCP_SYN_SENT);
    cr_assert_eq(c.fin_seen, 1);
    cr_assert_not(wkp_tcp_closed(&c, &s)); /* one FIN only */
    wkp_tcp_state_update(&s, FIN | ACK);   /* FIN in ESTABLISHED */
    cr_assert_eq(s.state, WKP_TCP_FIN_WAIT_1);
    /* Both FINs seen: closed, without the final ACK. */
    cr_assert(wkp_tcp_closed(&c, &s));
    cr_assert(wkp_tcp_closed(&s, &c));
    wkp_tcp_state_update(&c, ACK);
    cr_assert(wkp_tcp_closed(&c, &s));
}

Test(tcp, fin_wait_transitions)
{
    struct wkp_tcp_dir d = {.state = WKP_TCP_ESTABLISHED};
    wkp_tcp_state_update(&d, PSH | ACK); /* no rule: unchanged */
    cr_assert_eq(d.state, WKP_TCP_ESTABLISHED);
    wkp_tcp_state_update(&d, FIN | ACK); /* FIN rule before the ACK rule */
    cr_assert_eq(d.state, WKP_TCP_FIN_WAIT_1);
    wkp_tcp_state_update(&d, ACK); /* ACK in FIN_WAIT_1 */
    cr_assert_eq(d.state, WKP_TCP_FIN_WAIT_2);
    wkp_tcp_state_update(&d, FIN | ACK); /* no rule in FIN_WAIT_2 */
    cr_assert_eq(d.state, WKP_TCP_FIN_WAIT_2);

    struct wkp_tcp_dir e = {.state = WKP_TCP_FIN_WAIT_1};
    wkp_tcp_state_update(&e, FIN); /* FIN in FIN_WAIT_1, no ACK bit */
    cr_assert_eq(e.state, WKP_TCP_FIN_WAIT_2);
}

Test(tcp, first_matching_rule_wins)
{
    struct wkp_tcp_dir d = {.state = WKP_TCP_ESTABLISHED};
    wkp_tcp_state_update(&d, SYN | RST); /* RST is the first rule */
    cr_assert_eq(d.state, WKP_TCP_RESET);
    wkp_tcp_state_update(&d, SYN | FIN); /* SYN without ACK before any FIN rule */
    cr_assert_eq(d.state, WKP_TCP_SYN_SENT);
    wkp_tcp_state_update(&d, SYN | ACK | FIN); /* SYN+ACK before FIN */
    cr_assert_eq(d.state, WKP_TCP_ESTABLISHED);
    cr_assert_eq(d.fin_seen, 1); /* the FIN bits were still seen */
}

Test(tcp, rst_closes_from_either_side)
{
    struct wkp_tcp_dir c = {0}, s = {0};
    wkp_tcp_state_update(&c, SYN);
    cr_assert_not(wkp_tcp_closed(&c, &s));
    wkp_tcp_state_update(&s, RST | ACK); /* connection refused */
    cr_assert_eq(s.state, WKP_TCP_RESET);
    cr_assert(wkp_tcp_closed(&c, &s));
    cr_assert(wkp_tcp_closed(&s, &c));
    /* rst_seen is sticky: a later SYN leaves RESET, the flow stays closed. */
    wkp_tcp_state_update(&s, SYN);
    cr_assert_eq(s.state, WKP_TCP_SYN_SENT);
    cr_assert(wkp_tcp_closed(&c, &s));
}

Test(tcp, fins_count_for_a_flow_joined_mid_connection)
{
    /* No SYN captured: both sides stay CLOSED, the FINs close. */
    struct wkp_tcp_dir a = {0}, b = {0};
    cr_assert_not(wkp_tcp_closed(&a, &b)); /* CLOSED/CLOSED is not closed */
    wkp_tcp_state_update(&a, PSH | ACK);
    wkp_tcp_state_update(&a, FIN | ACK);
    wkp_tcp_state_update(&b, FIN | ACK);
    cr_assert_eq(a.state, WKP_TCP_CLOSED);
    cr_assert_eq(b.state, WKP_TCP_CLOSED);
    cr_assert(wkp_tcp_closed(&a, &b));
}

/* ---- new SYN --------------------------------------------------------------- */

/* A flow as the worker would keep it, driven in the order of tcp.h: split
 * at lookup, then retransmission (dropped, filter_retrans), then state. */
struct sim {
    struct wkp_tcp_dir dir[2]; /* [0] client (a), [1] server (b) */
    uint32_t first_syn;
    bool has_first_syn;
    int flows, packets[4], syns[4];
};

static void sim_pkt(struct sim *f, int from, uint8_t flags, uint32_t seq, uint32_t len)
{
    if (f->flows == 0 ||
        wkp_tcp_new_syn(&f->dir[0], &f->dir[1], flags, seq, f->first_syn, f->has_first_syn)) {
        memset(f->dir, 0, sizeof f->dir);
        f->has_first_syn = false;
        f->flows++;
        cr_assert(f->flows <= 4);
    }
    if ((flags & (SYN | ACK)) == SYN && !f->has_first_syn) {
        f->first_syn = seq;
        f->has_first_syn = true;
    }
    if (flags & SYN)
        f->syns[f->flows - 1]++;
    if (wkp_tcp_retransmission(&f->dir[from], seq, flags, len))
        return;
    f->packets[f->flows - 1]++;
    wkp_tcp_state_update(&f->dir[from], flags);
}

/* SYN, SYN-ACK, FIN, FIN, ACK, SYN, RST was one 7-packet flow in the
 * original wa1kpcap; here the second SYN, with a new ISN, opens a second
 * flow: 5 packets ended by the FINs, then SYN + RST ended by the RST. */
Test(tcp, syn_with_a_new_isn_after_a_close_splits)
{
    struct sim f = {0};
    sim_pkt(&f, 0, SYN, 1000, 0);       /* client next 1001 */
    sim_pkt(&f, 1, SYN | ACK, 7000, 0); /* server next 7001 */
    sim_pkt(&f, 0, FIN | ACK, 1001, 0); /* client next 1002 */
    sim_pkt(&f, 1, FIN | ACK, 7001, 0); /* server next 7002: closed */
    cr_assert(wkp_tcp_closed(&f.dir[0], &f.dir[1]));
    sim_pkt(&f, 0, ACK, 1002, 0);
    sim_pkt(&f, 0, SYN, 90000, 0); /* 90000 != 1000: new_syn */
    cr_assert_not(wkp_tcp_closed(&f.dir[0], &f.dir[1]));
    sim_pkt(&f, 1, RST | ACK, 0, 0);
    cr_assert(wkp_tcp_closed(&f.dir[0], &f.dir[1]));
    cr_assert_eq(f.flows, 2);
    cr_assert_eq(f.packets[0], 5);
    cr_assert_eq(f.packets[1], 2);
    cr_assert_eq(f.syns[0], 2);
    cr_assert_eq(f.syns[1], 1);
    cr_assert_eq(f.first_syn, 90000);
}

/* The same example with the first SYN's ISN repeated: no split, and
 * the retransmission test flags that SYN (end 1001 is behind next 1002),
 * so the flow keeps 6 packets. */
Test(tcp, syn_with_the_same_isn_after_a_close_stays_one_flow)
{
    struct sim f = {0};
    sim_pkt(&f, 0, SYN, 1000, 0);
    sim_pkt(&f, 1, SYN | ACK, 7000, 0);
    sim_pkt(&f, 0, FIN | ACK, 1001, 0);
    sim_pkt(&f, 1, FIN | ACK, 7001, 0);
    sim_pkt(&f, 0, ACK, 1002, 0);
    sim_pkt(&f, 0, SYN, 1000, 0);
    sim_pkt(&f, 1, RST | ACK, 7002, 0);
    cr_assert_eq(f.flows, 1);
    cr_assert_eq(f.packets[0], 6);
    cr_assert_eq(f.syns[0], 3);
}

Test(tcp, retransmitted_syn_is_not_a_new_flow)
{
    struct wkp_tcp_dir c = {0}, s = {0};
    wkp_tcp_state_update(&c, SYN);
    /* Not closed yet: even a different ISN does not split. */
    cr_assert_not(wkp_tcp_new_syn(&c, &s, SYN, 1000, 1000, true));
    cr_assert_not(wkp_tcp_new_syn(&c, &s, SYN, 2000, 1000, true));
    /* Refused (RST): the same ISN again is a retransmission, not a flow. */
    wkp_tcp_state_update(&s, RST | ACK);
    cr_assert_not(wkp_tcp_new_syn(&c, &s, SYN, 1000, 1000, true));
    /* A new ISN after the RST is a new flow. */
    cr_assert(wkp_tcp_new_syn(&c, &s, SYN, 2000, 1000, true));
    /* Only a SYN without ACK can open one; an ECN-setup SYN (SYN+ECE+CWR,
     * RFC 3168 §6.1.1) is one. */
    cr_assert_not(wkp_tcp_new_syn(&c, &s, SYN | ACK, 2000, 1000, true));
    cr_assert_not(wkp_tcp_new_syn(&c, &s, ACK, 2000, 1000, true));
    cr_assert(wkp_tcp_new_syn(&c, &s, SYN | WKP_TCP_ECE | WKP_TCP_CWR, 2000, 1000, true));
}

Test(tcp, closed_flow_without_a_syn_splits_on_any_syn)
{
    struct wkp_tcp_dir a = {0}, b = {0};
    wkp_tcp_state_update(&a, FIN | ACK);
    wkp_tcp_state_update(&b, FIN | ACK);
    /* has_first_syn false: there is no ISN to compare with. */
    cr_assert(wkp_tcp_new_syn(&a, &b, SYN, 0, 0, false));
    cr_assert(wkp_tcp_new_syn(&a, &b, SYN, 1234, 0, false));
}

/* ---- pure ACK -------------------------------------------------------------- */

Test(tcp, pure_ack_variants)
{
    cr_assert(wkp_tcp_pure_ack(ACK, 20, 0));
    cr_assert_not(wkp_tcp_pure_ack(ACK, 32, 0));       /* with options (timestamps) */
    cr_assert_not(wkp_tcp_pure_ack(ACK, 20, 1));       /* with payload */
    cr_assert_not(wkp_tcp_pure_ack(ACK | PSH, 20, 0)); /* 0x18 */
    cr_assert_not(wkp_tcp_pure_ack(ACK | WKP_TCP_ECE, 20, 0));
    cr_assert_not(wkp_tcp_pure_ack(ACK | RST, 20, 0));
    cr_assert_not(wkp_tcp_pure_ack(ACK | FIN, 20, 0));
    cr_assert_not(wkp_tcp_pure_ack(0, 20, 0));
}

/* ---- real captures ------------------------------------------------------------ */

struct cap_dir {
    uint8_t family;
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    struct wkp_tcp_dir d;
};

struct cap_run {
    uint32_t flagged[256]; /* frame numbers (1-based) flagged */
    uint32_t nflagged, retrans, tcp;
    uint32_t closed_at; /* first frame after which the flow of that frame is closed */
};

/* Run the retransmission test then the state update on every TCP packet of
 * a capture, one direction per (src, sport, dst, dport): VLAN ids are left
 * out, so a tag present one way only cannot split a direction pair. */
static void run_capture(const char *path, struct cap_run *r)
{
    static struct cap_dir dirs[1024];
    uint32_t ndirs = 0;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    cr_assert_not_null(pc, "%s", err);
    int dlt = pcap_datalink(pc);
    memset(r, 0, sizeof *r);
    struct pcap_pkthdr *h;
    const u_char *data;
    for (uint32_t frame = 1; pcap_next_ex(pc, &h, &data) == 1; frame++) {
        struct wkp_l2l4 m;
        if (wkp_l2l4_parse(data, h->caplen, dlt, &m) != WKP_PARSE_FLOW || m.proto != 6)
            continue;
        if (m.is_fragment && (m.frag_off != 0 || m.mf))
            continue;
        r->tcp++;
        struct cap_dir *me = NULL, *peer = NULL;
        size_t alen = m.family == 4 ? 4 : 16;
        for (uint32_t i = 0; i < ndirs; i++) {
            struct cap_dir *x = &dirs[i];
            if (x->family != m.family)
                continue;
            if (x->sport == m.sport && x->dport == m.dport && !memcmp(x->src, m.src, alen) &&
                !memcmp(x->dst, m.dst, alen))
                me = x;
            else if (x->sport == m.dport && x->dport == m.sport && !memcmp(x->src, m.dst, alen) &&
                     !memcmp(x->dst, m.src, alen))
                peer = x;
        }
        if (!me) {
            cr_assert(ndirs < sizeof dirs / sizeof dirs[0]);
            me = &dirs[ndirs++];
            memset(me, 0, sizeof *me);
            me->family = m.family;
            memcpy(me->src, m.src, 16);
            memcpy(me->dst, m.dst, 16);
            me->sport = m.sport;
            me->dport = m.dport;
        }
        if (wkp_tcp_retransmission(&me->d, m.tcp_seq, m.tcp_flags, m.app_len)) {
            r->retrans++;
            if (r->nflagged < 256)
                r->flagged[r->nflagged++] = frame;
            continue; /* filter_retrans: no state update */
        }
        wkp_tcp_state_update(&me->d, m.tcp_flags);
        if (!r->closed_at && peer && wkp_tcp_closed(&me->d, &peer->d))
            r->closed_at = frame;
    }
    pcap_close(pc);
}

Test(tcp, dup_pcap_retransmissions_match_wireshark)
{
    /* frames 60, 67, 68, 69, 70; Wireshark's 13 keep-alives of
     * this capture are not flagged (step 4). */
    static const uint32_t want[] = {60, 67, 68, 69, 70};
    struct cap_run r;
    run_capture(WKP_TEST_DATA "/wa1kpcap__dup.pcap", &r);
    cr_assert_eq(r.tcp, 100);
    cr_assert_eq(r.nflagged, 5, "flagged %u frames", r.nflagged);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(r.flagged[i], want[i], "retransmission %d: frame %u", i, r.flagged[i]);
    cr_assert_eq(r.closed_at, 0); /* no FIN or RST in this capture */
}

Test(tcp, fin_rst_pcap_retransmissions_and_close)
{
    /* the server FIN retransmitted 3 times, frames 20-22.
     * tshark -e tcp.flags.str: client FIN frame 16, server FIN frame 18,
     * client RST frame 19: closed once both FINs are in, after frame 18. */
    struct cap_run r;
    run_capture(WKP_TEST_DATA "/wa1kpcap__fin-rst.pcap", &r);
    cr_assert_eq(r.tcp, 22);
    cr_assert_eq(r.nflagged, 3);
    cr_assert_eq(r.flagged[0], 20);
    cr_assert_eq(r.flagged[1], 21);
    cr_assert_eq(r.flagged[2], 22);
    cr_assert_eq(r.closed_at, 18);
}

Test(tcp, multi_pcap_retransmission_count_matches_original)
{
    /* The original wa1kpcap measured retrans 188 on multi, and 1480 packets
     * in flows under filter `tcp`: 1480 + 188 = 1668 TCP packets were read.
     * (Wireshark flags 191 here, 187 of ours among them.) */
    struct cap_run r;
    run_capture(WKP_TEST_DATA "/wa1kpcap__multi.pcap", &r);
    cr_assert_eq(r.tcp, 1668);
    cr_assert_eq(r.retrans, 188);
}
