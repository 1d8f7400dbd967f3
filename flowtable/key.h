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
#include <stddef.h>
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
_Static_assert(offsetof(struct wkp_flow_key, pa) == 32 &&
                   offsetof(struct wkp_flow_key, family) == 39,
               "the key's last word is its ports, VLAN, protocol and family");

/* A key as its five 64-bit words, in its byte order: what the reader
 * builds, hashes and stores in a ring slot without writing it anywhere
 * else first. The addresses are read as 8-byte halves (which the compiler
 * may merge into one 16-byte load), so their writers (wkp_l2l4_parse,
 * wkp_l2l4_quick) store each address as one 16-byte piece: a load that
 * spans several smaller stores just made cannot take its bytes from them
 * and waits until they reach the cache, about 20 cycles on every packet. */
struct wkp_key_words {
    uint64_t w[5];
};

static inline uint64_t wkp__load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The 8 bytes at p as a big-endian number: integer order is memcmp order. */
static inline uint64_t wkp__order64(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(v);
#else
    return v;
#endif
}

/* The canonical key's words from an endpoint pair; true if src is
 * endpoint a. Endpoints are ordered as memcmp orders their 16 address
 * bytes, then by port. */
static inline bool wkp_key_words_make(const uint8_t *src, const uint8_t *dst, uint16_t sport,
                                      uint16_t dport, uint16_t vlan_id, uint8_t proto,
                                      uint8_t family, struct wkp_key_words *kw)
{
    uint64_t s0 = wkp__load64(src), s1 = wkp__load64(src + 8);
    uint64_t d0 = wkp__load64(dst), d1 = wkp__load64(dst + 8);
    uint64_t os0 = wkp__order64(s0), od0 = wkp__order64(d0);
    uint64_t os1 = wkp__order64(s1), od1 = wkp__order64(d1);
    bool src_first = os0 != od0 ? os0 < od0 : os1 != od1 ? os1 < od1 : sport <= dport;
    kw->w[0] = src_first ? s0 : d0;
    kw->w[1] = src_first ? s1 : d1;
    kw->w[2] = src_first ? d0 : s0;
    kw->w[3] = src_first ? d1 : s1;
    uint16_t pa = src_first ? sport : dport, pb = src_first ? dport : sport;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* pa, pb, vlan_id, proto, family: the struct's last 8 bytes, in a register */
    kw->w[4] = (uint64_t)pa | (uint64_t)pb << 16 | (uint64_t)vlan_id << 32 | (uint64_t)proto << 48 |
               (uint64_t)family << 56;
#else
    struct wkp_flow_key k;
    k.pa = pa;
    k.pb = pb;
    k.vlan_id = vlan_id;
    k.proto = proto;
    k.family = family;
    memcpy(&kw->w[4], (const char *)&k + offsetof(struct wkp_flow_key, pa), 8);
#endif
    return src_first;
}

/* wkp_key_hash of the key these words are. */
static inline uint64_t wkp_key_words_hash(const struct wkp_key_words *kw)
{
    uint64_t a = kw->w[0] ^ 0xa0761d6478bd642fULL, b = kw->w[1] ^ 0xe7037ed1a0b428dbULL;
    __uint128_t r = (__uint128_t)a * b;
    uint64_t h = (uint64_t)(r >> 64) ^ (uint64_t)r;
    a = kw->w[2] ^ 0x8ebc6af09c88c6e3ULL;
    b = kw->w[3] ^ 0x589965cc75374cc3ULL;
    r = (__uint128_t)a * b;
    h ^= (uint64_t)(r >> 64) ^ (uint64_t)r;
    r = (__uint128_t)(h ^ kw->w[4]) * (0x1d8e4e27c47d124fULL ^ 0xa0761d6478bd642fULL);
    return (uint64_t)(r >> 64) ^ (uint64_t)r;
}

/* The words of a parsed packet's key, and of a quickly keyed frame's: what
 * wkp_key_from_l2l4 and wkp_key_from_quick store. */
static inline bool wkp_key_words_from_l2l4(const struct wkp_l2l4 *m, struct wkp_key_words *kw)
{
    return wkp_key_words_make(m->src, m->dst, m->sport, m->dport, m->vlan_id, m->proto, m->family,
                              kw);
}

static inline bool wkp_key_words_from_quick(const struct wkp_l2l4_quick *q,
                                            struct wkp_key_words *kw)
{
    return wkp_key_words_make(q->src, q->dst, q->sport, q->dport, q->vlan_id, q->proto, q->family,
                              kw);
}

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
