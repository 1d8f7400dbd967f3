/* Community ID v1 (https://github.com/corelight/community-id-spec): a
 * string naming a flow the same way in Zeek, Suricata, Wireshark and here,
 * "1:" followed by the base64 SHA-1 of the ordered 5-tuple. Pure function:
 * no state, any thread. */
#ifndef WKP_COMMUNITY_ID_H
#define WKP_COMMUNITY_ID_H

#include <stdint.h>

/* "1:" + 28 base64 characters (20 bytes, one '=' of padding) + NUL = 31. */
#define WKP_COMMUNITY_ID_MAX 32

/* Write the Community ID of a flow to out (NUL-terminated, caller's
 * memory). Either endpoint may be passed as src: both orders give the same
 * ID, except for one-way ICMP/ICMPv6 messages, which the spec keeps in
 * the order given.
 *
 * family: 4 or 6 (as struct wkp_l2l4.family); src, dst: 4 or 16 address
 * bytes in network order, borrowed for the call.
 * sport, dport: ports in host order for TCP (6), UDP (17) and SCTP (132);
 * for ICMP (1) and ICMPv6 (58) the message type and code of the flow's
 * first packet (sport = type, dport = code), mapped here to port-like
 * values as the spec (after Zeek) does, so an echo request and its reply
 * get one ID; ignored for every other protocol, whose hash has no ports.
 * seed: 0 unless the user asks for another (the spec's default).
 *
 * An unsupported family, or a SHA-1 failure in OpenSSL, writes "" (the
 * spec's "no ID" value). */
void wkp_community_id(uint8_t family, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                      uint16_t dport, uint8_t proto, uint16_t seed, char out[WKP_COMMUNITY_ID_MAX]);

#endif
