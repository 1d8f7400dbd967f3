/* Per-flow packet sequences (docs/output.md, "Sequences"): one compact
 * record per packet added to a flow, stored in a chain of chunks from a per-worker pool, so a
 * packet never costs an allocation and a flow's memory is proportional to
 * the packets it stores. Chunks double in size along a flow's chain (2, 4,
 * 8, ... WKP_SEQ_CHUNK_MAX slots): most flows of a flood hold one to three
 * packets, and a fixed-size first chunk would be mostly empty. Everything the 9 sequences, the
 * statistics blocks and custom features need is derived from these records when the flow ends.
 * Owned by one worker; no locking. */
#ifndef WKP_SEQ_H
#define WKP_SEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/slab.h"

struct wkp_pkt_rec {
    int64_t ts_ns;
    uint32_t wire, ip, trans, app; /* lengths of docs/output.md, unsigned; dir gives the sign */
    uint32_t payload;              /* payload_bytes element magnitude */
    uint16_t win;
    uint8_t flags;
    int8_t dir; /* +1 up, -1 down (stored as a bit: nothing else) */
};              /* 32 bytes as given and read back; stored in 16 (below) */

/* Storage: records are kept in 16-byte slots. A record whose values fit
 * (the common case) takes one "compact" slot:
 * - its time as an offset of 0 to 2^32 - 1 ns from the chunk's anchor, the
 *   last wide record before it in the chunk;
 * - app as 16 bits, and wire - ip, ip - trans, trans - app as 8 bits each
 *   (headers up to 255 bytes);
 * - payload as a bit: equal to app, or 0.
 * Any other record takes two slots ("wide") and keeps every value as is.
 * The first record of each chunk is wide: it anchors the ones after it.
 * A record is never split across chunks. */
#define WKP_SEQ_DOWN    0x01u /* dir is -1 */
#define WKP_SEQ_WIDE    0x02u /* this slot and the next hold one record */
#define WKP_SEQ_PAYLOAD 0x04u /* compact: payload == app (else 0) */

union wkp_seq_slot {
    struct {
        uint32_t dt; /* ts_ns - the anchor's ts_ns */
        uint16_t app;
        uint16_t win;
        uint8_t l2, l3, l4; /* wire - ip, ip - trans, trans - app */
        uint8_t flags;
        uint8_t pad[3];
        uint8_t bits;
    } c;
    struct {
        int64_t ts_ns;
        uint32_t wire;
        uint16_t win;
        uint8_t flags;
        uint8_t bits; /* the same byte as c.bits */
    } w0;
    struct {
        uint32_t ip, trans, app, payload;
    } w1; /* the second slot of a wide record */
};
_Static_assert(sizeof(union wkp_seq_slot) == 16, "a slot is 16 bytes");

/* Size classes: a chunk of class k holds 2 << k slots. */
#define WKP_SEQ_CLASSES   6
#define WKP_SEQ_CHUNK_MAX (2u << (WKP_SEQ_CLASSES - 1))

struct wkp_seq_chunk {
    struct wkp_seq_chunk *next;
    uint16_t n;      /* slots used */
    uint16_t cap;    /* slots it holds: 2 << its class */
    uint16_t anchor; /* slot of the last wide record (appends measure from it) */
    uint16_t pad;
    union wkp_seq_slot s[];
}; /* 16 bytes + 16 a slot */

struct wkp_seq {
    struct wkp_seq_chunk *head, *tail;
    uint64_t stored; /* records held (<= max_seq) */
};

struct wkp_seq_pool {
    struct wkp_seq_chunk *free[WKP_SEQ_CLASSES];
    /* the rest of each class's last piece, never used: cut in order once
     * free[] is empty, so a piece's pages are touched only as needed */
    char *fresh[WKP_SEQ_CLASSES], *fresh_end[WKP_SEQ_CLASSES];
    void **slabs; /* the first few pieces, each a slab of its own */
    size_t nslabs, cap;
    struct wkp_carver big; /* the later pieces, cut from 2 MiB slabs */
    uint64_t bytes_out; /* chunk bytes held by flows: for the memory account */
};

/* Bytes of chunk storage a sequence of n records holds when every record
 * but each chunk's first is compact (for the memory account and its
 * test). */
size_t wkp_seq_bytes(uint64_t n);

/* Append; -1 if out of memory. */
int wkp_seq_append(struct wkp_seq *s, struct wkp_seq_pool *p, const struct wkp_pkt_rec *r);
/* Give a flow's chunks back to the pool; s becomes empty. */
void wkp_seq_release(struct wkp_seq *s, struct wkp_seq_pool *p);
void wkp_seq_pool_fini(struct wkp_seq_pool *p);

/* Iterate:
 *     for (struct wkp_seq_it it = wkp_seq_first(s); wkp_seq_more(&it); wkp_seq_next(&it))
 *         use *it.r
 * it.r points at the record decoded into the iterator itself, valid until
 * the next step (so the iterator is set up by value and read through
 * wkp_seq_more, which also points it.r at it). */
struct wkp_seq_it {
    const struct wkp_seq_chunk *c;
    uint32_t i; /* slot of the current record */
    int64_t anchor_ts;
    const struct wkp_pkt_rec *r;
    struct wkp_pkt_rec cur;
};

static inline struct wkp_seq_it wkp_seq_first(const struct wkp_seq *s)
{
    struct wkp_seq_it it = {0};
    it.c = s->head && s->head->n ? s->head : NULL;
    if (it.c) /* a flow's chunks lie anywhere: fetch the next one while this one is read */
        __builtin_prefetch(it.c->next);
    return it;
}

/* Decode the current record into it->cur; false at the end. */
static inline bool wkp_seq_more(struct wkp_seq_it *it)
{
    if (!it->c)
        return false;
    const union wkp_seq_slot *x = &it->c->s[it->i];
    struct wkp_pkt_rec *r = &it->cur;
    if (x->w0.bits & WKP_SEQ_WIDE) {
        const union wkp_seq_slot *y = x + 1;
        r->ts_ns = it->anchor_ts = x->w0.ts_ns;
        r->wire = x->w0.wire;
        r->win = x->w0.win;
        r->flags = x->w0.flags;
        r->ip = y->w1.ip;
        r->trans = y->w1.trans;
        r->app = y->w1.app;
        r->payload = y->w1.payload;
    } else {
        r->ts_ns = it->anchor_ts + (int64_t)x->c.dt;
        r->app = x->c.app;
        r->trans = r->app + x->c.l4;
        r->ip = r->trans + x->c.l3;
        r->wire = r->ip + x->c.l2;
        r->payload = x->c.bits & WKP_SEQ_PAYLOAD ? r->app : 0;
        r->win = x->c.win;
        r->flags = x->c.flags;
    }
    r->dir = x->c.bits & WKP_SEQ_DOWN ? -1 : 1;
    it->r = r;
    return true;
}

static inline void wkp_seq_next(struct wkp_seq_it *it)
{
    it->i += it->c->s[it->i].c.bits & WKP_SEQ_WIDE ? 2 : 1;
    if (it->i >= it->c->n) {
        it->c = it->c->next;
        it->i = 0;
        if (it->c) {
            __builtin_prefetch(it->c->next); /* as in wkp_seq_first */
            if (!it->c->n)
                it->c = NULL;
        }
    }
}

#endif
