/* Link, network and transport parsing, once per packet (interface in l2l4.h).
 *
 * Called by the reader thread only and keeps no state. Each layer parser gets
 * an absolute window [off, end) of the frame: offsets recorded in the result
 * need no rebasing, and an inner layer never sees bytes that an outer length
 * field (IPv4 total length, IPv6 payload length, NFLOG TLV length) excludes.
 *
 * The one idea: tunnels are decapsulated optimistically. Before descending
 * below an IP packet the result so far (the outer flow) is saved; if the
 * inner layers carry no IP (ARP over VXLAN, an unknown GRE payload, a PPTP
 * acknowledgement) or are cut short, the saved outer IP packet is the flow.
 * That is also what tshark keys on, the last IP layer it could decode
 * (tools/tshark_flows.py). Only the depth cap overrides it: a packet nested
 * deeper than WKP_MAX_DEPTH is malformed whatever it carries. What the walk
 * saw on the way (out->tun: layer stack, VLAN IDs, MPLS labels, VNIs, ARP)
 * is kept through the fallback, as the encapsulation bits are.
 *
 * The VLAN tags right under the link header are located (tun.strip_*) so a
 * BPF filter can run on the frame without them (filter/filter.c). */
#include "dissectors/l2l4.h"
#include "dissectors/cursor.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

const char *const wkp_anom_names[WKP_ANOM__COUNT] = {
    [WKP_ANOM_NONE] = "none",         [WKP_ANOM_LINK] = "link",     [WKP_ANOM_VLAN] = "vlan",
    [WKP_ANOM_MPLS] = "mpls",         [WKP_ANOM_PPP] = "ppp",       [WKP_ANOM_IPV4] = "ipv4",
    [WKP_ANOM_IPV6] = "ipv6",         [WKP_ANOM_TUNNEL] = "tunnel", [WKP_ANOM_DEPTH] = "depth",
    [WKP_ANOM_FRAGMENT] = "fragment",
};

enum {
    ET_IPV4 = 0x0800,
    ET_ARP = 0x0806,
    ET_TEB = 0x6558, /* transparent Ethernet bridging (GRE, Geneve) */
    ET_VLAN = 0x8100,
    ET_IPV6 = 0x86DD,
    ET_PPP = 0x880B,
    ET_MPLS_UC = 0x8847,
    ET_MPLS_MC = 0x8848,
    ET_PPPOE_SESS = 0x8864,
    ET_QINQ = 0x88A8,
    ET_ERSPAN2 = 0x88BE,
    ET_CMD = 0x8909, /* Cisco MetaData */
    ET_QINQ_OLD = 0x9100,
    ET_ERSPAN3 = 0x22EB,
    ET_MIN = 0x0600, /* below: an 802.3 length field, LLC follows */
};

enum {
    PPP_IPV4 = 0x0021,
    PPP_IPV6 = 0x0057,
    PPP_MPLS_UC = 0x0281,
    PPP_MPLS_MC = 0x0283,
};

enum { PORT_VXLAN = 4789, PORT_GENEVE = 6081 };

/* What sits right under an IP packet that decap() may fall back from. */
enum tunnel { TUN_GRE, TUN_IPV4, TUN_IPV6, TUN_VXLAN, TUN_GENEVE };

struct walk {
    const uint8_t *frame;
    struct wkp_l2l4 *out;
    const struct wkp_l2l4_opts *opts; /* never NULL inside the walk */
    bool seen_ip;                     /* the outermost IP header is behind us: l2_len is set */
    /* Still in the run of VLAN tags right under the link header, whose
     * type field sits at type_off (see tun.strip_* in l2l4.h). */
    bool tag_chain;
    uint32_t type_off;
};

static enum wkp_parse_status ether(struct walk *w, uint32_t off, uint32_t end);
static enum wkp_parse_status ether_payload(struct walk *w, uint16_t type, uint32_t off,
                                           uint32_t end);
static enum wkp_parse_status ipv4(struct walk *w, uint32_t off, uint32_t end);
static enum wkp_parse_status ipv6(struct walk *w, uint32_t off, uint32_t end);
static enum wkp_parse_status mpls(struct walk *w, uint32_t off, uint32_t end);
static enum wkp_parse_status ppp(struct walk *w, uint32_t off, uint32_t end);

static enum wkp_parse_status malformed(struct walk *w, enum wkp_anom a)
{
    w->out->anomaly = (uint8_t)a;
    return WKP_PARSE_MALFORMED;
}

/* A cursor over frame[0..end) standing at off (short_read set if off > end). */
static struct wkp_cur cur_at(const struct walk *w, uint32_t off, uint32_t end)
{
    struct wkp_cur c;
    wkp_cur_init(&c, w->frame, end);
    wkp_cur_skip(&c, off);
    return c;
}

static void push_layer(struct walk *w, enum wkp_encap_layer code)
{
    struct wkp_l2l4_tun *t = &w->out->tun;
    if (t->n_stack < WKP_MAX_STACK)
        t->stack[t->n_stack++] = (uint8_t)code;
}

/* Count one more layer; false (anomaly DEPTH) past WKP_MAX_DEPTH. Every
 * recursion goes through a counted layer, so this also bounds the stack. */
static bool enter(struct walk *w)
{
    if (w->out->depth >= WKP_MAX_DEPTH) {
        w->out->anomaly = WKP_ANOM_DEPTH;
        return false;
    }
    w->out->depth++;
    return true;
}

/* An IP packet whose version nibble says which one it is (raw link types,
 * NFLOG payload). Anything else under a link that promises IP is malformed. */
static enum wkp_parse_status ip_by_version(struct walk *w, uint32_t off, uint32_t end)
{
    struct wkp_cur c = cur_at(w, off, end);
    uint8_t v = wkp_cur_u8(&c);
    if (c.short_read)
        return malformed(w, WKP_ANOM_LINK);
    if (v >> 4 == 4)
        return ipv4(w, off, end);
    if (v >> 4 == 6)
        return ipv6(w, off, end);
    return malformed(w, WKP_ANOM_LINK);
}

/* ---- link and below-IP layers ---------------------------------------- */

static enum wkp_parse_status vlan(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    uint16_t tci = wkp_cur_be16(&c);
    uint16_t type = wkp_cur_be16(&c);
    if (c.short_read)
        return malformed(w, WKP_ANOM_VLAN);
    /* Each tag overwrites the last: the innermost VID keys the flow
     * (docs/design.md, Tunnel keying). */
    w->out->vlan_id = tci & 0x0FFF;
    w->out->encap |= WKP_ENC_VLAN;
    struct wkp_l2l4_tun *t = &w->out->tun;
    push_layer(w, WKP_EL_VLAN);
    if (t->n_vlan < WKP_MAX_VLANS)
        t->vlan_ids[t->n_vlan++] = tci & 0x0FFF;
    if (w->tag_chain && off <= UINT8_MAX - 4 && w->type_off <= UINT8_MAX && t->strip_n < 63) {
        if (t->strip_n == 0) {
            t->strip_type_off = (uint8_t)w->type_off;
            t->strip_tags_off = (uint8_t)off;
        }
        t->strip_n++;
    }
    return ether_payload(w, type, c.off, end);
}

static enum wkp_parse_status ppp_protocol(struct walk *w, uint16_t proto, uint32_t off,
                                          uint32_t end)
{
    switch (proto) {
    case PPP_IPV4: return ipv4(w, off, end);
    case PPP_IPV6: return ipv6(w, off, end);
    case PPP_MPLS_UC:
    case PPP_MPLS_MC: return mpls(w, off, end);
    default: /* LCP, IPCP, CCP, ... */ return WKP_PARSE_NOT_IP;
    }
}

/* PPPoE session stage (RFC 2516, section 4): ver/type, code, session id, length,
 * then a 2-byte PPP protocol field. */
static enum wkp_parse_status pppoe(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    wkp_cur_skip(&c, 6);
    uint16_t proto = wkp_cur_be16(&c);
    if (c.short_read)
        return malformed(w, WKP_ANOM_PPP);
    w->out->encap |= WKP_ENC_PPPOE;
    push_layer(w, WKP_EL_PPPOE);
    return ppp_protocol(w, proto, c.off, end);
}

/* Cisco MetaData (ethertype 0x8909): version, length, options, SGT, then
 * the ethertype of what follows; under GRE the ethertype comes first. */
static enum wkp_parse_status cisco_metadata(struct walk *w, uint32_t off, uint32_t end,
                                            bool type_first)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    if (!type_first)
        wkp_cur_skip(&c, 6);
    uint16_t type = wkp_cur_be16(&c);
    if (type_first)
        wkp_cur_skip(&c, 6);
    if (c.short_read)
        return malformed(w, WKP_ANOM_LINK);
    return ether_payload(w, type, c.off, end);
}

static enum wkp_parse_status ether_payload(struct walk *w, uint16_t type, uint32_t off,
                                           uint32_t end)
{
    w->out->ethertype = type;
    if (type != ET_VLAN && type != ET_QINQ && type != ET_QINQ_OLD)
        w->tag_chain = false;
    switch (type) {
    case ET_IPV4: return ipv4(w, off, end);
    case ET_IPV6: return ipv6(w, off, end);
    case ET_VLAN:
    case ET_QINQ:
    case ET_QINQ_OLD: return vlan(w, off, end);
    case ET_MPLS_UC:
    case ET_MPLS_MC: return mpls(w, off, end);
    case ET_PPPOE_SESS: return pppoe(w, off, end);
    case ET_TEB: return ether(w, off, end);
    case ET_CMD: return cisco_metadata(w, off, end, false);
    case ET_ARP: /* where it starts, for the packet sink's ARP rows */
        w->out->tun.flags |= WKP_TF_ARP;
        w->out->l3_off = off;
        w->out->l3_end = end;
        return WKP_PARSE_NOT_IP;
    default: /* LLDP, PPPoE discovery, ... */ return WKP_PARSE_NOT_IP;
    }
}

static enum wkp_parse_status ether(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    wkp_cur_skip(&c, 12);
    uint16_t type = wkp_cur_be16(&c);
    if (c.short_read)
        return malformed(w, WKP_ANOM_LINK);
    if (type < ET_MIN)
        return WKP_PARSE_NOT_IP; /* 802.3 length: LLC (STP, CDP, ...) */
    return ether_payload(w, type, c.off, end);
}

/* MPLS label stack (RFC 3032): 4-byte entries through the bottom-of-stack
 * bit. Nothing says what follows the stack, so guess from the first nibble,
 * the usual heuristic: 4 IPv4, 6 IPv6, 0 a pseudowire control word
 * (RFC 4385) followed by an Ethernet frame (RFC 4448). */
static enum wkp_parse_status mpls(struct walk *w, uint32_t off, uint32_t end)
{
    w->out->encap |= WKP_ENC_MPLS;
    push_layer(w, WKP_EL_MPLS);
    struct wkp_l2l4_tun *t = &w->out->tun;
    struct wkp_cur c = cur_at(w, off, end);
    for (;;) {
        if (!enter(w))
            return WKP_PARSE_MALFORMED;
        uint32_t entry = wkp_cur_be32(&c);
        if (c.short_read)
            return malformed(w, WKP_ANOM_MPLS);
        if (t->n_mpls < WKP_MAX_LABELS)
            t->mpls_labels[t->n_mpls++] = entry >> 12;
        if (entry & 0x100)
            break;
    }
    struct wkp_cur peek = c;
    uint8_t first = wkp_cur_u8(&peek);
    if (peek.short_read)
        return WKP_PARSE_NOT_IP;
    switch (first >> 4) {
    case 4: return ipv4(w, c.off, end);
    case 6: return ipv6(w, c.off, end);
    case 0:
        if (!wkp_cur_skip(&c, 4))
            return WKP_PARSE_NOT_IP;
        return ether(w, c.off, end);
    default: return WKP_PARSE_NOT_IP;
    }
}

/* PPP in HDLC-like framing (RFC 1662, section 3.1): address 0xFF and control 0x03
 * may be omitted (address/control field compression), and a protocol whose
 * first byte is odd is the 1-byte compressed form (RFC 1661, section 6.5). */
static enum wkp_parse_status ppp(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    struct wkp_cur peek = c;
    uint8_t a = wkp_cur_u8(&peek);
    uint8_t b = wkp_cur_u8(&peek);
    if (!peek.short_read && a == 0xFF && b == 0x03)
        c = peek;
    uint16_t proto = wkp_cur_u8(&c);
    if (!(proto & 1))
        proto = (uint16_t)(proto << 8 | wkp_cur_u8(&c));
    if (c.short_read)
        return malformed(w, WKP_ANOM_PPP);
    return ppp_protocol(w, proto, c.off, end);
}

/* Cisco HDLC: address, control, then an ethertype. */
static enum wkp_parse_status chdlc(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    wkp_cur_skip(&c, 2);
    uint16_t type = wkp_cur_be16(&c);
    if (c.short_read)
        return malformed(w, WKP_ANOM_PPP);
    return ether_payload(w, type, c.off, end);
}

/* BSD loopback: a 4-byte address family in the writer's byte order. AF_INET
 * is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD), 28
 * (FreeBSD), 30 (macOS). LOOP is documented as network order, but both
 * orders occur in the wild for both link types: a value above 255 can only
 * be the other order. If neither order gives a small value, some writers
 * put an ethertype in the last two bytes, network order (tshark decodes
 * PcapPlusPlus__null_loopback.pcap frame 3, 0f 00 08 00, as IPv4). */
static enum wkp_parse_status bsd_loopback(struct walk *w, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, 0, end);
    uint32_t af = wkp_cur_le32(&c);
    if (c.short_read)
        return malformed(w, WKP_ANOM_LINK);
    if (af > 255)
        af = (af >> 24) | ((af >> 8) & 0xFF00u) | ((af << 8) & 0xFF0000u) | (af << 24);
    if (af > 255 && (af & 0xFFFF) >= ET_MIN)
        return ether_payload(w, (uint16_t)(af & 0xFFFF), 4, end);
    switch (af) {
    case 2: return ipv4(w, 4, end);
    case 10:
    case 24:
    case 28:
    case 30: return ipv6(w, 4, end);
    default: return WKP_PARSE_NOT_IP;
    }
}

/* NFLOG (LINKTYPE_NFLOG): family, version, resource id, then TLVs in host
 * (little-endian) order whose length includes the 4-byte TLV header and
 * which are padded to 4 bytes. Type 9 (NFULA_PAYLOAD) holds the IP packet;
 * the top bit of the type is the kernel's NLA_F_NESTED flag. */
static enum wkp_parse_status nflog(struct walk *w, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, 0, end);
    if (!wkp_cur_skip(&c, 4))
        return malformed(w, WKP_ANOM_LINK);
    while (wkp_cur_left(&c) >= 4) {
        uint32_t at = c.off;
        uint16_t tlen = wkp_cur_le16(&c);
        uint16_t type = wkp_cur_le16(&c) & 0x7FFF;
        if (tlen < 4 || !wkp_cur_has(&c, (uint64_t)tlen - 4))
            return malformed(w, WKP_ANOM_LINK);
        if (type == 9)
            return ip_by_version(w, c.off, at + tlen);
        /* The padding of the last TLV may be missing: stop there. */
        if (!wkp_cur_skip(&c, ((uint64_t)tlen + 3) / 4 * 4 - 4))
            break;
    }
    return WKP_PARSE_NOT_IP;
}

static enum wkp_parse_status link_layer(struct walk *w, uint32_t caplen, int dlt)
{
    struct wkp_cur c;
    uint16_t type;
    switch (dlt) {
    case WKP_DLT_NULL:
    case WKP_DLT_LOOP: return bsd_loopback(w, caplen);
    case WKP_DLT_EN10MB:
        w->tag_chain = true;
        w->type_off = 12;
        return ether(w, 0, caplen);
    case WKP_DLT_PPP_SERIAL: {
        /* libpcap: PPP_SERIAL frames may be Cisco HDLC (address 0x0F/0x8F). */
        c = cur_at(w, 0, caplen);
        uint8_t a = wkp_cur_u8(&c);
        if (!c.short_read && (a == 0x0F || a == 0x8F)) {
            w->tag_chain = true;
            w->type_off = 2;
            return chdlc(w, 0, caplen);
        }
        return ppp(w, 0, caplen);
    }
    case WKP_DLT_PPP: return ppp(w, 0, caplen);
    case WKP_DLT_RAW_BSD12:
    case WKP_DLT_RAW_BSD14:
    case WKP_DLT_RAW: return ip_by_version(w, 0, caplen);
    case WKP_DLT_C_HDLC:
        w->tag_chain = true;
        w->type_off = 2;
        return chdlc(w, 0, caplen);
    case WKP_DLT_LINUX_SLL:
        if (!enter(w))
            return WKP_PARSE_MALFORMED;
        c = cur_at(w, 14, caplen);
        type = wkp_cur_be16(&c);
        if (c.short_read)
            return malformed(w, WKP_ANOM_LINK);
        w->tag_chain = true;
        w->type_off = 14;
        return ether_payload(w, type, 16, caplen);
    case WKP_DLT_LINUX_SLL2:
        if (!enter(w))
            return WKP_PARSE_MALFORMED;
        c = cur_at(w, 0, caplen);
        type = wkp_cur_be16(&c);
        if (c.short_read || !wkp_cur_skip(&c, 18))
            return malformed(w, WKP_ANOM_LINK);
        w->tag_chain = true;
        w->type_off = 0;
        return ether_payload(w, type, 20, caplen);
    case WKP_DLT_IPV4: return ipv4(w, 0, caplen);
    case WKP_DLT_IPV6: return ipv6(w, 0, caplen);
    case WKP_DLT_NFLOG: return nflog(w, caplen);
    default: return WKP_PARSE_NOT_IP;
    }
}

/* ---- tunnels above IP -------------------------------------------------- */

/* ERSPAN (0x88BE type II, 0x22EB type III) then the mirrored Ethernet frame.
 * Type II is 8 bytes; a GRE header without a sequence number marks type I,
 * which has no ERSPAN header at all. Type III is 12 bytes plus an 8-byte
 * platform sub-header when its O bit (last bit of byte 11) is set. */
static enum wkp_parse_status erspan(struct walk *w, uint16_t type, bool gre_seq, uint32_t off,
                                    uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    if (type == ET_ERSPAN2) {
        if (gre_seq)
            wkp_cur_skip(&c, 8);
    } else {
        wkp_cur_skip(&c, 11);
        uint8_t last = wkp_cur_u8(&c);
        if (last & 1)
            wkp_cur_skip(&c, 8);
    }
    if (c.short_read)
        return malformed(w, WKP_ANOM_TUNNEL);
    w->out->encap |= WKP_ENC_ERSPAN;
    push_layer(w, WKP_EL_ERSPAN);
    return ether(w, c.off, end);
}

/* GRE (RFC 2784/2890; RFC 1701 routing; RFC 2637 enhanced GRE for PPTP):
 * flags and version, protocol type, then the optional words the flags
 * announce, in order: checksum+offset (C or R), key (K), sequence (S),
 * acknowledgement (version 1, A), source route entries (R) up to a null
 * entry. */
enum {
    GRE_F_CSUM = 0x8000,  /* C: checksum and offset present */
    GRE_F_ROUTE = 0x4000, /* R: offset present, then source route entries */
    GRE_F_KEY = 0x2000,   /* K */
    GRE_F_SEQ = 0x1000,   /* S */
    GRE_F_ACK = 0x0080,   /* A (enhanced GRE, version 1) */
    GRE_VERSION = 0x0007,
};

static enum wkp_parse_status gre(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    uint16_t flags = wkp_cur_be16(&c);
    uint16_t type = wkp_cur_be16(&c);
    uint32_t key = 0;
    if (flags & (GRE_F_CSUM | GRE_F_ROUTE))
        wkp_cur_skip(&c, 4);
    if (flags & GRE_F_KEY)
        key = wkp_cur_be32(&c);
    if (flags & GRE_F_SEQ)
        wkp_cur_skip(&c, 4);
    if ((flags & GRE_VERSION) == 1 && (flags & GRE_F_ACK))
        wkp_cur_skip(&c, 4);
    if (flags & GRE_F_ROUTE) {
        /* Each entry takes at least 4 bytes: the loop ends at the capture's end. */
        while (!c.short_read) {
            uint16_t family = wkp_cur_be16(&c);
            wkp_cur_skip(&c, 1);
            uint8_t len = wkp_cur_u8(&c);
            if (family == 0 && len == 0)
                break;
            wkp_cur_skip(&c, len);
        }
    }
    if (c.short_read)
        return malformed(w, WKP_ANOM_TUNNEL);
    w->out->encap |= WKP_ENC_GRE;
    push_layer(w, WKP_EL_GRE);
    struct wkp_l2l4_tun *t = &w->out->tun;
    if ((flags & GRE_F_KEY) && !(t->flags & WKP_TF_GRE_KEY)) {
        t->flags |= WKP_TF_GRE_KEY;
        t->gre_key = key;
    }
    switch (type) {
    case ET_PPP: return ppp(w, c.off, end);
    case ET_ERSPAN2:
    case ET_ERSPAN3: return erspan(w, type, (flags & GRE_F_SEQ) != 0, c.off, end);
    case ET_CMD: return cisco_metadata(w, c.off, end, true);
    default: return ether_payload(w, type, c.off, end);
    }
}

/* VXLAN (RFC 7348): 8-byte header, then an Ethernet frame. */
static enum wkp_parse_status vxlan(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    wkp_cur_skip(&c, 4);
    uint32_t vni = wkp_cur_be32(&c) >> 8;
    if (c.short_read)
        return malformed(w, WKP_ANOM_TUNNEL);
    if (!(w->out->encap & WKP_ENC_VXLAN))
        w->out->tun.vxlan_vni = vni;
    w->out->encap |= WKP_ENC_VXLAN;
    push_layer(w, WKP_EL_VXLAN);
    return ether(w, c.off, end);
}

/* Geneve (RFC 8926): 8 bytes plus options of 4 x (low 6 bits of byte 0)
 * bytes; the protocol type is an ethertype, 0x6558 for Ethernet. */
static enum wkp_parse_status geneve(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    uint8_t opt_len = wkp_cur_u8(&c) & 0x3F;
    wkp_cur_skip(&c, 1);
    uint16_t type = wkp_cur_be16(&c);
    uint32_t vni = wkp_cur_be32(&c) >> 8;
    wkp_cur_skip(&c, (uint32_t)opt_len * 4);
    if (c.short_read)
        return malformed(w, WKP_ANOM_TUNNEL);
    if (!(w->out->encap & WKP_ENC_GENEVE))
        w->out->tun.geneve_vni = vni;
    w->out->encap |= WKP_ENC_GENEVE;
    push_layer(w, WKP_EL_GENEVE);
    return ether_payload(w, type, c.off, end);
}

/* Descend into the tunnel under the IP packet already described by *out.
 * If no inner IP packet comes out, the outer one is the flow (see the top of
 * the file); the encapsulation bits and depth of the attempt are kept.
 * A fragment of the IP packet carrying the tunnel is not descended into: it
 * stays the outer flow until the reassembler has the whole datagram, which
 * is then parsed again and decapsulated (docs/design.md, "Fragments and
 * tunnels"). */
static enum wkp_parse_status decap(struct walk *w, enum tunnel kind, uint32_t off, uint32_t end)
{
    if (w->out->is_fragment)
        return WKP_PARSE_FLOW;
    struct wkp_l2l4 outer = *w->out;
    enum wkp_parse_status st;
    switch (kind) {
    case TUN_GRE: st = gre(w, off, end); break;
    case TUN_IPV4:
        w->out->encap |= WKP_ENC_IPIP;
        push_layer(w, WKP_EL_IPIP);
        st = ipv4(w, off, end);
        break;
    case TUN_IPV6:
        w->out->encap |= WKP_ENC_IPIP;
        push_layer(w, WKP_EL_IPIP);
        st = ipv6(w, off, end);
        break;
    case TUN_VXLAN: st = vxlan(w, off, end); break;
    default: st = geneve(w, off, end); break;
    }
    if (st == WKP_PARSE_FLOW || w->out->anomaly == WKP_ANOM_DEPTH)
        return st;
    uint16_t encap = w->out->encap;
    uint8_t depth = w->out->depth;
    struct wkp_l2l4_tun tun = w->out->tun;
    *w->out = outer;
    w->out->encap = encap;
    w->out->depth = depth;
    w->out->tun = tun;
    return WKP_PARSE_FLOW;
}

/* ---- transport ---------------------------------------------------------- */

/* TCP over [off, end). The reference requires 20 bytes; tshark decodes the
 * ports of a header cut after them (tcpdump__tcp_header_heapoverflow.pcap:
 * 12 bytes of TCP, keyed with ports 12336/12336), so a short header still
 * gives a flow with its ports, no flags, and header length = bytes present
 * (the reference's clamp to [20, captured] applied in that order). */
static enum wkp_parse_status tcp(struct walk *w, uint32_t off, uint32_t end)
{
    struct wkp_l2l4 *o = w->out;
    uint32_t avail = end - off;
    struct wkp_cur c = cur_at(w, off, end);
    if (avail >= 4) {
        o->sport = wkp_cur_be16(&c);
        o->dport = wkp_cur_be16(&c);
    }
    if (avail < 20) {
        o->tcp_hlen = (uint8_t)avail;
        o->trans_len = avail;
        o->app_off = end;
        return WKP_PARSE_FLOW;
    }
    o->tcp_seq = wkp_cur_be32(&c);
    o->tcp_ack = wkp_cur_be32(&c);
    uint32_t hlen = (uint32_t)(wkp_cur_u8(&c) >> 4) * 4;
    o->tcp_flags = wkp_cur_u8(&c);
    o->tcp_win = wkp_cur_be16(&c);
    if (hlen < 20)
        hlen = 20;
    if (hlen > avail)
        hlen = avail;
    o->tcp_hlen = (uint8_t)hlen;
    o->app_len = avail - hlen;
    o->trans_len = hlen + o->app_len;
    o->app_off = off + hlen;
    return WKP_PARSE_FLOW;
}

/* One of the extra VXLAN ports of --vxlan-port? */
static bool vxlan_port(const struct wkp_l2l4_opts *o, uint16_t port)
{
    for (uint32_t i = 0; i < o->n_vxlan_ports; i++)
        if (o->vxlan_ports[i] == port)
            return true;
    return false;
}

/* UDP over [off, end): trans_len is the length field as written, app_len
 * the payload bytes present up to the IP end, so Ethernet padding never
 * counts. A header cut short keeps the fields that are there: with 6 of
 * its 8 bytes captured the length field is still read. */
static enum wkp_parse_status udp(struct walk *w, uint32_t off, uint32_t end)
{
    struct wkp_l2l4 *o = w->out;
    uint32_t avail = end - off;
    struct wkp_cur c = cur_at(w, off, end);
    if (avail >= 4) {
        o->sport = wkp_cur_be16(&c);
        o->dport = wkp_cur_be16(&c);
    }
    if (avail >= 6)
        o->trans_len = wkp_cur_be16(&c);
    if (avail < 8) {
        o->app_off = end;
        return WKP_PARSE_FLOW;
    }
    o->app_len = avail - 8;
    o->app_off = off + 8;
    if (o->sport == PORT_VXLAN || o->dport == PORT_VXLAN || vxlan_port(w->opts, o->sport) ||
        vxlan_port(w->opts, o->dport))
        return decap(w, TUN_VXLAN, o->app_off, end);
    if (o->sport == PORT_GENEVE || o->dport == PORT_GENEVE)
        return decap(w, TUN_GENEVE, o->app_off, end);
    return WKP_PARSE_FLOW;
}

/* What follows the IP header in out->[l4_off, l3_end). ICMP errors quote an
 * IP packet but are not tunnels: they stay ICMP flows with ports 0. */
static enum wkp_parse_status transport(struct walk *w)
{
    struct wkp_l2l4 *o = w->out;
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    switch (o->proto) {
    case IPPROTO_TCP: return tcp(w, o->l4_off, o->l3_end);
    case IPPROTO_UDP: return udp(w, o->l4_off, o->l3_end);
    case IPPROTO_GRE: return decap(w, TUN_GRE, o->l4_off, o->l3_end);
    case IPPROTO_IPIP: return decap(w, TUN_IPV4, o->l4_off, o->l3_end);
    case IPPROTO_IPV6: return decap(w, TUN_IPV6, o->l4_off, o->l3_end);
    default: return WKP_PARSE_FLOW;
    }
}

/* ---- IP ------------------------------------------------------------------ */

/* An IPv4 address as a key's 16 bytes (its 4, then zeros), in one 16-byte
 * store: the key reads them in 8- or 16-byte loads (flowtable/key.h), and
 * a load is forwarded from a store only if that one store covers it. */
static inline void put_addr4(uint8_t to[16], const uint8_t *a4)
{
    typedef uint32_t v4u32 __attribute__((vector_size(16)));
    uint32_t v;
    memcpy(&v, a4, 4);
    v4u32 x = {v, 0, 0, 0}; /* v's bytes first, whatever the byte order */
    memcpy(to, &x, 16);
}

/* Start describing a new (possibly inner) IP packet: forget every field an
 * outer IP packet or its transport left behind. */
static void begin_ip(struct walk *w, uint32_t off, uint8_t family, const uint8_t *src,
                     const uint8_t *dst)
{
    struct wkp_l2l4 *o = w->out;
    if (!w->seen_ip) {
        w->seen_ip = true;
        o->l2_len = off > UINT16_MAX ? UINT16_MAX : (uint16_t)off;
        size_t n = family == 4 ? 4 : 16;
        o->tun.outer_family = family;
        memcpy(o->tun.outer_src, src, n);
        memcpy(o->tun.outer_dst, dst, n);
    }
    memset(o->src, 0, sizeof o->src);
    memset(o->dst, 0, sizeof o->dst);
    o->sport = o->dport = 0;
    o->trans_len = o->app_len = 0;
    o->tcp_seq = o->tcp_ack = 0;
    o->tcp_win = 0;
    o->tcp_flags = o->tcp_hlen = 0;
    o->is_fragment = o->mf = 0;
    o->frag_off = 0;
    o->ip_id = 0;
    o->l3_off = off;
}

/* IPv4 (RFC 791), validated in order: captured >= 20, version, header
 * length >= 20, total length >= header length; a version other than 4 is
 * malformed, not "not IP". A fragment at offset > 0 carries no transport
 * header: it is keyed on its addresses and protocol with ports 0. */
static enum wkp_parse_status ipv4(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    uint8_t vihl = wkp_cur_u8(&c);
    wkp_cur_skip(&c, 1);
    uint16_t total = wkp_cur_be16(&c);
    uint16_t id = wkp_cur_be16(&c);
    uint16_t frag = wkp_cur_be16(&c);
    wkp_cur_skip(&c, 1);
    uint8_t proto = wkp_cur_u8(&c);
    wkp_cur_skip(&c, 2);
    uint8_t src[4], dst[4];
    wkp_cur_copy(&c, src, 4);
    wkp_cur_copy(&c, dst, 4);
    if (c.short_read || vihl >> 4 != 4)
        return malformed(w, WKP_ANOM_IPV4);
    uint32_t hlen = (uint32_t)(vihl & 0x0F) * 4;
    if (hlen < 20 || (uint64_t)off + hlen > end || total < hlen)
        return malformed(w, WKP_ANOM_IPV4);

    struct wkp_l2l4 *o = w->out;
    begin_ip(w, off, 4, src, dst);
    o->family = 4;
    o->proto = proto;
    put_addr4(o->src, src);
    put_addr4(o->dst, dst);
    o->ip_len = total;
    o->l3_end = (uint64_t)off + total < end ? off + total : end;
    o->l4_off = off + hlen;
    o->app_off = o->l4_off;
    o->ip_id = id;
    /* from the locals, not read back from *o: a load spanning the byte and
     * the 16-bit stores just made cannot be forwarded from them and waits
     * for them to reach the cache */
    bool mf = (frag & 0x2000) != 0;
    uint16_t frag_off = frag & 0x1FFF;
    o->mf = mf;
    o->frag_off = frag_off;
    o->is_fragment = mf || frag_off;
    if (frag_off)
        return WKP_PARSE_FLOW;
    return transport(w);
}

/* IPv6 (RFC 8200) and its extension headers. Hop-by-hop, routing and
 * destination options are (len + 1) x 8 bytes, AH (len + 2) x 4 (RFC 4302),
 * the fragment header 8; ESP (50) encrypts the rest and ends the walk like
 * any other protocol. A fragment header with a non-zero offset stops the
 * walk before the transport: the fragment has none. */
static enum wkp_parse_status ipv6(struct walk *w, uint32_t off, uint32_t end)
{
    if (!enter(w))
        return WKP_PARSE_MALFORMED;
    struct wkp_cur c = cur_at(w, off, end);
    uint32_t vtcfl = wkp_cur_be32(&c);
    uint16_t plen = wkp_cur_be16(&c);
    uint8_t next = wkp_cur_u8(&c);
    wkp_cur_skip(&c, 1);
    uint8_t src[16], dst[16];
    wkp_cur_copy(&c, src, 16);
    wkp_cur_copy(&c, dst, 16);
    if (c.short_read || vtcfl >> 28 != 6)
        return malformed(w, WKP_ANOM_IPV6);

    struct wkp_l2l4 *o = w->out;
    begin_ip(w, off, 6, src, dst);
    o->family = 6;
    memcpy(o->src, src, 16);
    memcpy(o->dst, dst, 16);
    uint64_t ip_end = (uint64_t)off + 40 + plen;
    /* A jumbogram (RFC 2675) has payload length 0 and its real length in a
     * hop-by-hop option: take what was captured. */
    if (plen == 0 && next == IPPROTO_HOPOPTS)
        ip_end = end;
    o->ip_len = (uint32_t)(ip_end - off);
    o->l3_end = ip_end < end ? (uint32_t)ip_end : end;

    struct wkp_cur e = cur_at(w, off + 40, o->l3_end);
    for (bool more = true; more;) {
        switch (next) {
        case IPPROTO_HOPOPTS:
        case IPPROTO_ROUTING:
        case IPPROTO_DSTOPTS:
        case IPPROTO_AH: {
            uint8_t after = wkp_cur_u8(&e);
            uint8_t len = wkp_cur_u8(&e);
            uint32_t size = next == IPPROTO_AH ? ((uint32_t)len + 2) * 4 : ((uint32_t)len + 1) * 8;
            if (e.short_read || !wkp_cur_skip(&e, size - 2))
                return malformed(w, WKP_ANOM_IPV6);
            next = after;
            break;
        }
        case IPPROTO_FRAGMENT: {
            uint8_t after = wkp_cur_u8(&e);
            wkp_cur_skip(&e, 1);
            uint16_t offm = wkp_cur_be16(&e);
            uint32_t id = wkp_cur_be32(&e);
            if (e.short_read)
                return malformed(w, WKP_ANOM_IPV6);
            o->is_fragment = 1;
            o->frag_off = offm >> 3;
            o->mf = offm & 1;
            o->ip_id = id;
            next = after;
            if (o->frag_off) {
                o->proto = next;
                o->l4_off = o->app_off = e.off;
                return WKP_PARSE_FLOW;
            }
            break;
        }
        default: more = false; break;
        }
    }
    o->proto = next;
    o->l4_off = o->app_off = e.off;
    return transport(w);
}

/* ---- entry points -------------------------------------------------------- */

static const struct wkp_l2l4_opts no_opts;

enum wkp_parse_status wkp_l2l4_parse(const uint8_t *frame, uint32_t caplen, int dlt,
                                     struct wkp_l2l4 *out)
{
    return wkp_l2l4_parse_opts(frame, caplen, dlt, NULL, out);
}

enum wkp_parse_status wkp_l2l4_parse_opts(const uint8_t *frame, uint32_t caplen, int dlt,
                                          const struct wkp_l2l4_opts *opts, struct wkp_l2l4 *out)
{
    memset(out, 0, sizeof *out);
    struct walk w = {.frame = frame, .out = out, .opts = opts ? opts : &no_opts, .seen_ip = false};
    enum wkp_parse_status st = link_layer(&w, frame ? caplen : 0, dlt);
    if (st != WKP_PARSE_MALFORMED)
        out->anomaly = WKP_ANOM_NONE;
    return st;
}

/* ---- the quick key -------------------------------------------------------- */

static inline uint16_t be16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The same checks, in effect, as ether -> [vlan ->] ipv4/ipv6 -> tcp/udp
 * above, for the one path they take on such a frame (tests/unit/test_quickkey.c
 * compares the two on every packet of the test captures and on mutated
 * frames). */
bool wkp_l2l4_quick(const uint8_t *frame, uint32_t caplen, int dlt,
                    const struct wkp_l2l4_opts *opts, struct wkp_l2l4_quick *q)
{
    if (dlt != WKP_DLT_EN10MB || !frame || caplen < 14 + 20)
        return false;
    uint16_t type = be16_at(frame + 12);
    uint32_t l3 = 14;
    q->tagged = false;
    q->vlan_id = 0;
    if (type == ET_VLAN) { /* one 802.1Q tag: TCI, then the type */
        if (caplen < 18 + 20)
            return false;
        q->tagged = true;
        q->vlan_id = be16_at(frame + 14) & 0x0FFF;
        type = be16_at(frame + 16);
        l3 = 18;
    }
    const uint8_t *ip = frame + l3;
    uint32_t l3_end, l4_off;
    if (type == ET_IPV4) {
        uint32_t hlen = (uint32_t)(ip[0] & 0x0F) * 4;
        uint32_t total = be16_at(ip + 2);
        /* version 4, a header that fits, no fragment (DF may be set) */
        if (ip[0] >> 4 != 4 || hlen < 20 || l3 + hlen > caplen || total < hlen ||
            (be16_at(ip + 6) & 0x3FFF) != 0)
            return false;
        q->family = 4;
        q->proto = ip[9];
        put_addr4(q->src, ip + 12);
        put_addr4(q->dst, ip + 16);
        l3_end = l3 + total < caplen ? l3 + total : caplen;
        l4_off = l3 + hlen;
    } else if (type == ET_IPV6) {
        if (caplen < l3 + 40 || ip[0] >> 4 != 6)
            return false;
        uint32_t plen = be16_at(ip + 4);
        q->family = 6;
        q->proto = ip[6]; /* only TCP and UDP pass below: no extension header */
        memcpy(q->src, ip + 8, 16);
        memcpy(q->dst, ip + 24, 16);
        l3_end = l3 + 40 + plen < caplen ? l3 + 40 + plen : caplen;
        l4_off = l3 + 40;
    } else {
        return false;
    }
    uint32_t avail = l3_end - l4_off; /* l3_end >= l4_off: checked above */
    const uint8_t *l4 = frame + l4_off;
    if (q->proto == IPPROTO_TCP) {
        if (avail < 4)
            return false;
    } else if (q->proto == IPPROTO_UDP) {
        if (avail < 8)
            return false;
    } else {
        return false;
    }
    q->sport = be16_at(l4);
    q->dport = be16_at(l4 + 2);
    q->l3_off = l3;
    q->l4_off = l4_off;
    if (q->proto == IPPROTO_UDP) {
        const struct wkp_l2l4_opts *o = opts ? opts : &no_opts;
        if (q->sport == PORT_VXLAN || q->dport == PORT_VXLAN || q->sport == PORT_GENEVE ||
            q->dport == PORT_GENEVE || vxlan_port(o, q->sport) || vxlan_port(o, q->dport))
            return false;
    }
    return true;
}

static const struct {
    int dlt;
    const char *name;
} dlt_names[] = {
    {WKP_DLT_NULL, "NULL"},
    {WKP_DLT_EN10MB, "EN10MB"},
    {WKP_DLT_PPP, "PPP"},
    {WKP_DLT_RAW_BSD12, "RAW_BSD12"},
    {WKP_DLT_RAW_BSD14, "RAW_BSD14"},
    {WKP_DLT_PPP_SERIAL, "PPP_SERIAL"},
    {WKP_DLT_RAW, "RAW"},
    {WKP_DLT_C_HDLC, "C_HDLC"},
    {WKP_DLT_LOOP, "LOOP"},
    {WKP_DLT_LINUX_SLL, "LINUX_SLL"},
    {WKP_DLT_IPV4, "IPV4"},
    {WKP_DLT_IPV6, "IPV6"},
    {WKP_DLT_NFLOG, "NFLOG"},
    {WKP_DLT_LINUX_SLL2, "LINUX_SLL2"},
};

const char *wkp_dlt_name(int dlt)
{
    for (size_t i = 0; i < sizeof dlt_names / sizeof dlt_names[0]; i++)
        if (dlt_names[i].dlt == dlt)
            return dlt_names[i].name;
    return NULL;
}

int wkp_dlt_supported(int dlt)
{
    return wkp_dlt_name(dlt) != NULL;
}
