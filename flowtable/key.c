/* Canonical flow keys and their hash (see key.h). The hash is a
 * multiply-fold over the key's five 64-bit words: fast, and good enough to
 * spread flows over workers and table buckets; it is not keyed, so a hostile
 * capture can collide flows onto one worker but cannot break correctness. */
#include "flowtable/key.h"

bool wkp_key_from_l2l4(const struct wkp_l2l4 *m, struct wkp_flow_key *k)
{
    struct wkp_key_words kw;
    bool src_first = wkp_key_words_from_l2l4(m, &kw);
    memcpy(k, kw.w, sizeof *k);
    return src_first;
}

bool wkp_key_from_quick(const struct wkp_l2l4_quick *q, struct wkp_flow_key *k)
{
    struct wkp_key_words kw;
    bool src_first = wkp_key_words_from_quick(q, &kw);
    memcpy(k, kw.w, sizeof *k);
    return src_first;
}

uint64_t wkp_key_hash(const struct wkp_flow_key *k)
{
    struct wkp_key_words kw;
    memcpy(kw.w, k, sizeof kw.w);
    return wkp_key_words_hash(&kw);
}
