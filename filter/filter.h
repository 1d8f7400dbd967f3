/* Packet filters: tcpdump's language plus wa1kpcap keywords (docs/filters.md).
 *
 * tcpdump's boolean skeleton (parentheses, and/&&, or/||, not/!; `not` binds
 * tightest, `and` and `or` are equal and left-associative) over two kinds of
 * leaves: wa1kpcap keywords, evaluated on the parsed packet (struct
 * wkp_l2l4) at any encapsulation depth, and libpcap sub-expressions, the
 * largest keyword-free parts of the text handed to pcap_compile() as written
 * and run with pcap_offline_filter() on the frame without its VLAN tags.
 * Flow-level keywords (the names of the application dissectors in
 * dissectors/registry.def, and tls, http, dns, quic) form a separate
 * predicate, evaluated on finished flows.
 *
 * A filter is compiled once, then used by the reader thread only: it keeps
 * the per-link-type BPF programs and a scratch buffer for the untagged
 * frame. wkp_filter_flow_match() only reads it (any thread, after the reader
 * compiled what it needs). */
#ifndef WKP_ENGINE_FILTER_H
#define WKP_ENGINE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissectors/l2l4.h"
#include "wa1kpcap/wa1kpcap.h"

struct wkp_filter;

/* Compile expr (NUL-terminated; empty or blank: a filter that keeps
 * everything). Parses the skeleton, checks the placement of flow-level
 * keywords and compiles every libpcap part once for validation: a part that
 * compiles for no link type wa1kpcap decodes, nor for raw IP, is an error
 * quoting it and libpcap's message (`filter: "port foo": unknown port
 * 'foo'`). On success *out is the filter, freed with wkp_filter_free(). On
 * failure: WKP_EINVAL (WKP_ENOMEM), *out untouched, one line in err. */
WKP_NODISCARD wkp_status wkp_filter_compile(const char *expr, struct wkp_filter **out,
                                            wkp_errbuf *err);

/* The combination: `(default_expr) and (user_expr)` when both are
 * non-blank, else whichever is, else a filter that keeps everything. NULL
 * counts as blank. Each part is first compiled alone, so an error names the
 * part at fault as its author wrote it. Same contract as wkp_filter_compile. */
WKP_NODISCARD wkp_status wkp_filter_compile_combined(const char *default_expr,
                                                     const char *user_expr, struct wkp_filter **out,
                                                     wkp_errbuf *err);

/* Make the filter ready for frames of link type dlt (a LINKTYPE_ number, as
 * capture files and wkp_l2l4_parse() use). Compiles each libpcap part for
 * that link type; a part libpcap cannot compile for it is compiled for raw
 * IP and run on the frame's outermost IP header. Idempotent. Fails
 * (WKP_EINVAL, one line in err naming the part and the link type) if a part
 * compiles for neither: the reader calls this when it first meets a link
 * type, to stop cleanly before any output. Reader thread. */
WKP_NODISCARD wkp_status wkp_filter_prepare_dlt(struct wkp_filter *f, int dlt, wkp_errbuf *err);

/* true if the packet passes the packet-level part of the filter. frame is
 * the captured frame of link type dlt, m its wkp_l2l4_parse() result (any
 * status: non-IP and malformed packets are evaluated too). Prepares dlt on
 * first use if the caller did not; if that fails, returns false and
 * wkp_filter_error() says why. No allocation except growing the scratch
 * buffer to the largest frame seen. Reader thread only. */
bool wkp_filter_packet(struct wkp_filter *f, const uint8_t *frame, uint32_t caplen,
                       uint32_t wirelen, int dlt, const struct wkp_l2l4 *m);

/* true if the packet part is made of keywords without arguments only (arp,
 * icmp, dhcp, ...; no BPF expression): its verdict then depends on the
 * parsed fields those keywords read (family, protocol, ports, the
 * encapsulation and ARP bits), never on the frame's bytes. When true, it
 * also makes the filter ready for wkp_filter_keywords_match. Call it before
 * any thread uses the filter. */
bool wkp_filter_keywords_only(struct wkp_filter *f);

/* The packet part's verdict on parsed fields m, for a filter
 * wkp_filter_keywords_only said true of: the same as wkp_filter_packet on
 * the frame m was parsed from. Only reads f: any thread, any number at
 * once. */
bool wkp_filter_keywords_match(const struct wkp_filter *f, const struct wkp_l2l4 *m);

/* The message of the last failed lazy preparation in wkp_filter_packet(), or
 * NULL. Valid until the filter is freed. */
const char *wkp_filter_error(const struct wkp_filter *f);

/* Whether the filter has a packet-level part (false: every packet passes)
 * and a flow-level part (false: every flow passes). */
bool wkp_filter_has_packet_terms(const struct wkp_filter *f);
bool wkp_filter_has_flow_terms(const struct wkp_filter *f);

/* true if a finished flow passes the flow-level part (true if there is
 * none). matched: bit i set if the dissector of registry row i claimed the
 * flow (wkp_dissectors[i]). A keyword naming a row tests its bit; tls,
 * http, dns and quic while no row has that name are false, so `tls` keeps
 * no flow and `not tls` keeps them all. Any thread; f is only read. */
bool wkp_filter_flow_match(const struct wkp_filter *f, uint32_t matched);

/* Write the compiled tree into buf (always NUL-terminated when n > 0), e.g.
 * `packet: and(not(vlan 100), bpf("port 80 or 443")); flow: tls`. Returns
 * the length the full text needs, as snprintf. For tests and --debug. */
size_t wkp_filter_dump(const struct wkp_filter *f, char *buf, size_t n);

/* NULL is a no-op. */
void wkp_filter_free(struct wkp_filter *f);

/* --compat: evaluate icmpv6 as the original did, on the IPv6 header's
 * first next header only (ICMPv6 behind extension headers does not match).
 * The original filter's other quirks are not reproduced (docs/filters.md). */
void wkp_filter_set_compat(struct wkp_filter *f, bool on);

#endif
