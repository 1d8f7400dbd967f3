/* Canonical flow keys and their hash (see key.h). The hash is a
 * multiply-fold over the key's five 64-bit words: fast, and good enough to
 * spread flows over workers and table buckets; it is not keyed, so a hostile
 * capture can collide flows onto one worker but cannot break correctness. */
#include "flowtable/key.h"

/* Both builders share this: the endpoints ordered as bytes, then ports. */
static inline bool make_key(const uint8_t *src, const uint8_t *dst, uint16_t sport,
                            uint16_t dport, struct wkp_flow_key *k)
{
    int c = memcmp(src, dst, 16);
    bool src_first = c < 0 || (c == 0 && sport <= dport);
    if (src_first) {
        memcpy(k->a, src, 16);
        memcpy(k->b, dst, 16);
        k->pa = sport;
        k->pb = dport;
    } else {
        memcpy(k->a, dst, 16);
        memcpy(k->b, src, 16);
        k->pa = dport;
        k->pb = sport;
    }
    return src_first;
}

bool wkp_key_from_l2l4(const struct wkp_l2l4 *m, struct wkp_flow_key *k)
{
    bool src_first = make_key(m->src, m->dst, m->sport, m->dport, k);
    k->vlan_id = m->vlan_id;
    k->proto = m->proto;
    k->family = m->family;
    return src_first;
}

bool wkp_key_from_quick(const struct wkp_l2l4_quick *q, struct wkp_flow_key *k)
{
    bool src_first = make_key(q->src, q->dst, q->sport, q->dport, k);
    k->vlan_id = q->vlan_id;
    k->proto = q->proto;
    k->family = q->family;
    return src_first;
}

static inline uint64_t fold(uint64_t x, uint64_t y)
{
    __uint128_t r = (__uint128_t)x * y;
    return (uint64_t)(r >> 64) ^ (uint64_t)r;
}

uint64_t wkp_key_hash(const struct wkp_flow_key *k)
{
    uint64_t w[5];
    memcpy(w, k, sizeof w);
    uint64_t h = fold(w[0] ^ 0xa0761d6478bd642fULL, w[1] ^ 0xe7037ed1a0b428dbULL);
    h ^= fold(w[2] ^ 0x8ebc6af09c88c6e3ULL, w[3] ^ 0x589965cc75374cc3ULL);
    h = fold(h ^ w[4], 0x1d8e4e27c47d124fULL ^ 0xa0761d6478bd642fULL);
    return h;
}
