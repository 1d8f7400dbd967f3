/* Link, network and transport parsing done once per packet by the reader.
 *
 * wkp_l2l4_parse() walks a frame from its link layer down to the innermost
 * IP header and the transport right above it (the innermost IP header keys
 * the flow: docs/design.md, Tunnel keying), decapsulating VLAN
 * (0x8100, 0x88A8, 0x9100, stacked), MPLS, PPP/PPPoE, GRE, VXLAN and
 * IP-in-IP on the way, at most WKP_MAX_DEPTH layers. It records offsets into
 * the frame, never copies, and never reads past caplen: the result is what a
 * worker needs to key and account the packet without parsing it again.
 * Pure function, no state: safe on any thread. */
#ifndef WKP_L2L4_H
#define WKP_L2L4_H

#include <stdbool.h>
#include <stdint.h>

#define WKP_MAX_DEPTH 16

/* Link types (DLT_* / LINKTYPE_* numbers) the parser knows. */
enum {
    WKP_DLT_NULL = 0,
    WKP_DLT_EN10MB = 1,
    WKP_DLT_PPP = 9,
    WKP_DLT_RAW_BSD12 = 12, /* DLT_RAW as written by some BSDs */
    WKP_DLT_RAW_BSD14 = 14, /* DLT_RAW on OpenBSD */
    WKP_DLT_PPP_SERIAL = 50,
    WKP_DLT_RAW = 101,
    WKP_DLT_C_HDLC = 104,
    WKP_DLT_LOOP = 108,
    WKP_DLT_LINUX_SLL = 113,
    WKP_DLT_IPV4 = 228,
    WKP_DLT_IPV6 = 229,
    WKP_DLT_NFLOG = 239,
    WKP_DLT_LINUX_SLL2 = 276,
};

/* Outcome of a parse, one per packet; the reader counts each
 * (docs/design.md, Accounting reasons). */
enum wkp_parse_status {
    WKP_PARSE_FLOW = 0,  /* an IP packet: key fields are valid */
    WKP_PARSE_NOT_IP,    /* well-formed but carries no IP (ARP, STP, LLDP, ...) */
    WKP_PARSE_MALFORMED, /* truncated or invalid below the transport: see anomaly */
};

/* Why a packet was malformed: the layer that could not be read. */
enum wkp_anom {
    WKP_ANOM_NONE = 0,
    WKP_ANOM_LINK,     /* link header shorter than its fixed size, bad NFLOG TLV, ... */
    WKP_ANOM_VLAN,     /* VLAN tag cut short */
    WKP_ANOM_MPLS,     /* MPLS stack cut short */
    WKP_ANOM_PPP,      /* PPP / PPPoE / C-HDLC header cut short */
    WKP_ANOM_IPV4,     /* IPv4: < 20 bytes, version != 4, IHL < 5, IHL beyond capture */
    WKP_ANOM_IPV6,     /* IPv6: < 40 bytes, version != 6, extension header cut short */
    WKP_ANOM_TUNNEL,   /* GRE/VXLAN header cut short */
    WKP_ANOM_DEPTH,    /* more than WKP_MAX_DEPTH encapsulation layers */
    WKP_ANOM_FRAGMENT, /* an IP fragment that cannot be reassembled (overlap, oversize) */
    WKP_ANOM__COUNT
};

/* Names for the run summary ("link", "vlan", ...); index by enum wkp_anom. */
extern const char *const wkp_anom_names[WKP_ANOM__COUNT];

/* Bits of wkp_l2l4.encap: which encapsulations the packet went through. */
enum {
    WKP_ENC_VLAN = 1u << 0,
    WKP_ENC_MPLS = 1u << 1,
    WKP_ENC_GRE = 1u << 2,
    WKP_ENC_VXLAN = 1u << 3,
    WKP_ENC_IPIP = 1u << 4,
    WKP_ENC_PPPOE = 1u << 5,
    WKP_ENC_GENEVE = 1u << 6,
    WKP_ENC_ERSPAN = 1u << 7,
};

/* Codes of wkp_l2l4.tun.stack: one entry per encapsulation layer, in the
 * order the parser went through them (outermost first). Each VLAN tag is an
 * entry of its own; an MPLS label stack is one entry. */
enum wkp_encap_layer {
    WKP_EL_NONE = 0,
    WKP_EL_VLAN,
    WKP_EL_MPLS,
    WKP_EL_PPPOE,
    WKP_EL_GRE,
    WKP_EL_ERSPAN,
    WKP_EL_VXLAN,
    WKP_EL_GENEVE,
    WKP_EL_IPIP, /* IPv4 or IPv6 directly in IP (protocol 4 or 41) */
    WKP_EL__COUNT
};

#define WKP_MAX_STACK  8 /* entries kept in wkp_l2l4.tun.stack */
#define WKP_MAX_VLANS  4 /* VLAN IDs kept in wkp_l2l4.tun.vlan_ids */
#define WKP_MAX_LABELS 4 /* MPLS labels kept in wkp_l2l4.tun.mpls_labels */

/* Bits of wkp_l2l4.tun.flags. */
enum {
    WKP_TF_ARP = 1u << 0,     /* an ARP packet (ethertype 0x0806) at any depth */
    WKP_TF_GRE_KEY = 1u << 1, /* tun.gre_key is valid */
};

/* What the walk went through on its way to the IP packet that keys the
 * flow. Unlike the fields of the keying packet, it survives a fallback to
 * the outer packet (see l2l4.c): a VXLAN packet carrying ARP is keyed on its
 * outer UDP header and still says "VXLAN, VNI n, ARP inside". */
struct wkp_l2l4_tun {
    uint8_t stack[WKP_MAX_STACK];         /* enum wkp_encap_layer, outer to inner */
    uint8_t n_stack;                      /* entries used in stack (deeper ones dropped) */
    uint8_t n_vlan;                       /* entries used in vlan_ids */
    uint8_t n_mpls;                       /* entries used in mpls_labels */
    uint8_t flags;                        /* WKP_TF_* */
    uint16_t vlan_ids[WKP_MAX_VLANS];     /* 12-bit VIDs, outer to inner */
    uint32_t mpls_labels[WKP_MAX_LABELS]; /* 20-bit labels, top of the outer stack first */
    uint32_t vxlan_vni;  /* 24-bit VNI of the outermost VXLAN header (encap & VXLAN) */
    uint32_t geneve_vni; /* 24-bit VNI of the outermost Geneve header (encap & GENEVE) */
    uint32_t gre_key;    /* key of the outermost GRE header with one (flags & GRE_KEY) */
    /* The VLAN tags right under the link header (none: strip_n 0), so that a
     * filter can run on the frame without them: the ethertype-like field at
     * strip_type_off announced the first tag, whose 2-byte TCI is at
     * strip_tags_off; each tag is 4 bytes (TCI + next type). */
    uint8_t strip_type_off;
    uint8_t strip_tags_off;
    uint8_t strip_n;
    /* The outermost IP header, at frame offset l2_len: family 0 if the frame
     * has none. Equal to the key's addresses when the packet is not tunnelled. */
    uint8_t outer_family;
    uint8_t outer_src[16];
    uint8_t outer_dst[16];
};

struct wkp_l2l4 {
    /* Key fields (valid when status is WKP_PARSE_FLOW). */
    uint8_t family;   /* 4 or 6 */
    uint8_t proto;    /* IPv4 protocol / IPv6 next header after extension headers */
    uint16_t vlan_id; /* 12-bit VID of the innermost VLAN tag, 0 if none */
    /* IPv4: first 4 bytes, the rest zero; each written as one 16-byte
     * piece (the key reads 8-byte halves: flowtable/key.h) */
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport, dport; /* TCP/UDP ports, else 0 */

    /* Offsets into the frame (bytes from its first byte). */
    uint32_t l3_off;  /* innermost IP header; the ARP header of a NOT_IP packet with tun ARP */
    uint32_t l4_off;  /* transport header (end of IP + extension headers) */
    uint32_t l3_end;  /* min(caplen, l3_off + ip_len): later layers never see beyond */
    uint32_t app_off; /* TCP/UDP payload; l4_off for other protocols */

    /* Lengths of the sequence columns (docs/output.md, Sequences). */
    uint32_t ip_len;    /* IPv4 total length field; IPv6 40 + payload length field */
    uint32_t trans_len; /* TCP: header + app_len; UDP: its length field; else 0 */
    uint32_t app_len;   /* TCP/UDP payload bytes present, padding excluded */

    /* TCP (IPPROTO_TCP, not a non-first fragment). */
    uint32_t tcp_seq, tcp_ack;
    uint16_t tcp_win;
    uint8_t tcp_flags; /* FIN 1 SYN 2 RST 4 PSH 8 ACK 16 URG 32 ECE 64 CWR 128 */
    uint8_t tcp_hlen;  /* data offset * 4, clamped to [20, captured] */

    /* Innermost IP fragmentation. frag_off is in 8-byte units. */
    uint8_t is_fragment; /* 1: MF set, offset > 0, or an IPv6 fragment header */
    uint8_t mf;
    uint16_t frag_off;
    uint32_t ip_id; /* IPv4 identification, or IPv6 fragment header id */

    uint8_t depth;      /* layers walked, link layer included */
    uint8_t anomaly;    /* enum wkp_anom when status is WKP_PARSE_MALFORMED */
    uint16_t encap;     /* WKP_ENC_* bits */
    uint16_t l2_len;    /* bytes of the outermost link header (for reassembled sizes): the
                         * offset of the outermost IP header when tun.outer_family != 0 */
    uint16_t ethertype; /* last ethertype/protocol seen below IP (0 if none) */

    struct wkp_l2l4_tun tun; /* encapsulations, VLAN/MPLS/VNI values, outer IP */
};

/* Parse frame[0..caplen) of link type dlt. Always fills *out (zeroed first).
 * Returns WKP_PARSE_FLOW, WKP_PARSE_NOT_IP or WKP_PARSE_MALFORMED.
 * An unknown dlt returns WKP_PARSE_NOT_IP; callers reject unknown link types
 * up front with wkp_dlt_supported(). */
enum wkp_parse_status wkp_l2l4_parse(const uint8_t *frame, uint32_t caplen, int dlt,
                                     struct wkp_l2l4 *out);

/* Parse options: UDP ports decoded as VXLAN besides 4789. */
#define WKP_MAX_VXLAN_PORTS 8
struct wkp_l2l4_opts {
    uint16_t vxlan_ports[WKP_MAX_VXLAN_PORTS];
    uint32_t n_vxlan_ports;
};

/* wkp_l2l4_parse with options (NULL: the defaults). */
enum wkp_parse_status wkp_l2l4_parse_opts(const uint8_t *frame, uint32_t caplen, int dlt,
                                          const struct wkp_l2l4_opts *opts, struct wkp_l2l4 *out);

/* The key fields of a frame of the commonest shape, read without the walk
 * (wkp_l2l4_quick). */
struct wkp_l2l4_quick {
    uint8_t family; /* 4 or 6 */
    uint8_t proto;  /* 6 (TCP) or 17 (UDP) */
    uint16_t sport, dport;
    uint16_t vlan_id; /* the 802.1Q tag's VID; 0 and tagged false if none */
    bool tagged;      /* one 802.1Q tag between the MACs and the type */
    /* IPv4: first 4 bytes, the rest zero. Aligned, and each written as one
     * 16-byte piece: the key reads them as 8-byte halves (flowtable/key.h) */
    _Alignas(8) uint8_t src[16];
    uint8_t dst[16];
    uint32_t l3_off, l4_off; /* IP header (14, or 18 under the tag), transport */
};

/* Key an Ethernet II frame carrying IPv4 (no fragment) or IPv6 (no
 * extension header) straight under its link header or under one 802.1Q
 * tag, then TCP or UDP with both ports captured and no tunnel port: true
 * and *q filled, exactly the key fields wkp_l2l4_parse_opts would give
 * (with WKP_PARSE_FLOW, no encapsulation but that tag, no flags). Anything
 * else, false: the caller walks the frame with wkp_l2l4_parse_opts. A
 * fraction of the walk's cost, which lets the reader leave the walk to the
 * workers. Pure, any thread. */
bool wkp_l2l4_quick(const uint8_t *frame, uint32_t caplen, int dlt,
                    const struct wkp_l2l4_opts *opts, struct wkp_l2l4_quick *q);

/* 1 if dlt is a link type wkp_l2l4_parse() decodes, else 0. */
int wkp_dlt_supported(int dlt);

/* Name of a link type for messages ("EN10MB", "LINUX_SLL2", ...), or NULL. */
const char *wkp_dlt_name(int dlt);

#endif
