/* Per-flow packet sequences (docs/output.md, Sequences): one compact record per packet added
 * to a flow, stored in a chain of chunks from a per-worker pool, so a
 * packet never costs an allocation and a flow's memory is proportional to
 * the packets it stores. Chunks double in size along a flow's chain (1, 2,
 * 4, ... WKP_SEQ_CHUNK_MAX records): most flows of a flood hold one to three
 * packets, and a fixed-size first chunk would be mostly empty. Everything the 9 sequences, the
 * statistics blocks and custom features need is derived from these records when the flow ends.
 * Owned by one worker; no locking. */
#ifndef WKP_SEQ_H
#define WKP_SEQ_H

#include <stddef.h>
#include <stdint.h>

struct wkp_pkt_rec {
    int64_t ts_ns;
    uint32_t wire, ip, trans, app; /* lengths, unsigned; dir gives the sign */
    uint32_t payload;              /* payload_bytes element magnitude */
    uint16_t win;
    uint8_t flags;
    int8_t dir; /* +1 up, -1 down */
};              /* 32 bytes */

/* Size classes: a chunk of class k holds 1 << k records. */
#define WKP_SEQ_CLASSES   6
#define WKP_SEQ_CHUNK_MAX (1u << (WKP_SEQ_CLASSES - 1))

struct wkp_seq_chunk {
    struct wkp_seq_chunk *next;
    uint32_t n;   /* records used */
    uint32_t cap; /* records it holds: 1 << its class */
    struct wkp_pkt_rec r[];
}; /* 16 bytes + 32 a record */

struct wkp_seq {
    struct wkp_seq_chunk *head, *tail;
    uint64_t stored; /* records held (<= max_seq) */
};

struct wkp_seq_pool {
    struct wkp_seq_chunk *free[WKP_SEQ_CLASSES];
    void **slabs;
    size_t nslabs, cap;
    uint64_t bytes_out; /* chunk bytes held by flows: for the memory account */
};

/* Bytes of chunk storage a sequence of n records holds (for the memory
 * account and its test). */
size_t wkp_seq_bytes(uint64_t n);

/* Append; -1 if out of memory. */
int wkp_seq_append(struct wkp_seq *s, struct wkp_seq_pool *p, const struct wkp_pkt_rec *r);
/* Give a flow's chunks back to the pool; s becomes empty. */
void wkp_seq_release(struct wkp_seq *s, struct wkp_seq_pool *p);
void wkp_seq_pool_fini(struct wkp_seq_pool *p);

/* Iterate: for (it = wkp_seq_first(s); it.c; wkp_seq_next(&it)) use *it.r */
struct wkp_seq_it {
    const struct wkp_seq_chunk *c;
    uint32_t i;
    const struct wkp_pkt_rec *r;
};

static inline struct wkp_seq_it wkp_seq_first(const struct wkp_seq *s)
{
    struct wkp_seq_it it = {s->head, 0, s->head && s->head->n ? &s->head->r[0] : NULL};
    if (!it.r)
        it.c = NULL;
    return it;
}

static inline void wkp_seq_next(struct wkp_seq_it *it)
{
    if (++it->i < it->c->n) {
        it->r = &it->c->r[it->i];
        return;
    }
    it->c = it->c->next;
    it->i = 0;
    it->r = it->c && it->c->n ? &it->c->r[0] : NULL;
    if (!it->r)
        it->c = NULL;
}

#endif
