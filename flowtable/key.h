/* The symmetric flow key and its hash.
 *
 * A key is canonical: of the two endpoints (address, port) the smaller one,
 * compared as bytes, is stored first, so both directions of a conversation
 * build the same key and the same hash, and so reach the same worker and the
 * same table entry. Which endpoint sent the flow's first packet is kept in
 * the flow, not in the key (docs/design.md, "Flow key and direction").
 * Pure functions, any thread. */
#ifndef WKP_KEY_H
#define WKP_KEY_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dissectors/l2l4.h"

struct wkp_flow_key {
    uint8_t a[16], b[16]; /* endpoint addresses, a <= b (with ports) */
    uint16_t pa, pb;      /* their ports */
    uint16_t vlan_id;
    uint8_t proto;
    uint8_t family; /* 4 or 6 */
};                  /* 40 bytes, no padding: compared and hashed as bytes */

_Static_assert(sizeof(struct wkp_flow_key) == 40, "flow key must have no padding");

/* Build the canonical key of a parsed packet. Returns true if the packet's
 * source is endpoint a (false: the packet goes from b to a). */
bool wkp_key_from_l2l4(const struct wkp_l2l4 *m, struct wkp_flow_key *k);

/* The same from a frame keyed by wkp_l2l4_quick: equal to what
 * wkp_key_from_l2l4 builds from the full parse of that frame. */
bool wkp_key_from_quick(const struct wkp_l2l4_quick *q, struct wkp_flow_key *k);

/* 64-bit hash of a canonical key: equal for both directions by construction. */
uint64_t wkp_key_hash(const struct wkp_flow_key *k);

static inline bool wkp_key_eq(const struct wkp_flow_key *x, const struct wkp_flow_key *y)
{
    return memcmp(x, y, sizeof *x) == 0;
}

/* Worker for a hash among n: the high bits, by multiply-shift (no modulo). */
static inline uint32_t wkp_key_worker(uint64_t hash, uint32_t n)
{
    return (uint32_t)(((hash >> 32) * (uint64_t)n) >> 32);
}

#endif
