/* Chunked per-flow packet records (see seq.h). Chunks of each size class
 * come from pieces of 256 KiB (few, large allocations: no allocator
 * bookkeeping per chunk) and go back to the worker's free list of their
 * class when the flow ends. After the first few, the pieces are cut from
 * 2 MiB slabs shared by all classes, so that the classes do not each hold a
 * partly used 2 MiB huge page. A flow's k-th chunk holds 2 << k slots up to
 * WKP_SEQ_CHUNK_MAX: its first record wide, then 2^(k+1) - 2 compact ones,
 * so the storage of a flow of n ordinary packets is under 2n slots (16
 * bytes each) plus one 16-byte header and one wide record per chunk. */
#include "features/seq.h"

#include <stdbool.h>
#include <stdlib.h>

#include "util/slab.h"

/* The first SMALL_SLABS pieces are slabs of 256 KiB, so a small capture
 * stays small; later ones are cut from 2 MiB slabs on transparent huge
 * pages (util/slab.h): a flood touches its flows' chunks in random order. */
#define SLAB_BYTES  (256u * 1024u)
#define SMALL_SLABS 8

static size_t chunk_bytes(unsigned cls)
{
    return sizeof(struct wkp_seq_chunk) + ((size_t)2 << cls) * sizeof(union wkp_seq_slot);
}

/* A 256 KiB piece: a slab of its own while there are few, then the next
 * piece of a 2 MiB slab. NULL if out of memory. */
static char *piece(struct wkp_seq_pool *p)
{
    if (p->nslabs >= SMALL_SLABS)
        return wkp_carve(&p->big, SLAB_BYTES);
    if (wkp_slab_room(&p->slabs, p->nslabs, &p->cap) != 0)
        return NULL;
    char *slab = wkp_slab_alloc(SLAB_BYTES);
    if (slab)
        p->slabs[p->nslabs++] = slab;
    return slab;
}

/* A chunk of class cls never used: the next of its class's piece, or of a
 * new piece. NULL if out of memory. */
static struct wkp_seq_chunk *fresh_chunk(struct wkp_seq_pool *p, unsigned cls)
{
    size_t sz = chunk_bytes(cls);
    if (!p->fresh[cls] || (size_t)(p->fresh_end[cls] - p->fresh[cls]) < sz) {
        char *slab = piece(p);
        if (!slab)
            return NULL;
        p->fresh[cls] = slab;
        p->fresh_end[cls] = slab + SLAB_BYTES / sz * sz;
    }
    struct wkp_seq_chunk *c = (struct wkp_seq_chunk *)p->fresh[cls];
    p->fresh[cls] += sz;
    c->cap = (uint16_t)(2u << cls);
    return c;
}

static unsigned class_of(uint32_t cap)
{
    return (unsigned)__builtin_ctz(cap) - 1;
}

/* Does r fit one compact slot measured from anchor_ts? */
static inline bool fits_compact(const struct wkp_pkt_rec *r, int64_t anchor_ts)
{
    /* timestamps are clamped to +-2^62 ns by the readers: no overflow */
    return r->ts_ns >= anchor_ts && (uint64_t)(r->ts_ns - anchor_ts) <= UINT32_MAX &&
           r->app <= UINT16_MAX && r->trans >= r->app && r->trans - r->app <= UINT8_MAX &&
           r->ip >= r->trans && r->ip - r->trans <= UINT8_MAX && r->wire >= r->ip &&
           r->wire - r->ip <= UINT8_MAX && (r->payload == r->app || r->payload == 0);
}

/* Written field by field in place: a slot built elsewhere and copied whole
 * would be read back before its byte stores retire (a store-forwarding
 * stall on every packet). */
static inline void put_compact(union wkp_seq_slot *x, const struct wkp_pkt_rec *r,
                               int64_t anchor_ts)
{
    x->c.dt = (uint32_t)(r->ts_ns - anchor_ts);
    x->c.app = (uint16_t)r->app;
    x->c.win = r->win;
    x->c.l2 = (uint8_t)(r->wire - r->ip);
    x->c.l3 = (uint8_t)(r->ip - r->trans);
    x->c.l4 = (uint8_t)(r->trans - r->app);
    x->c.flags = r->flags;
    x->c.bits =
        (uint8_t)((r->dir < 0 ? WKP_SEQ_DOWN : 0) | (r->payload == r->app ? WKP_SEQ_PAYLOAD : 0));
}

int wkp_seq_append(struct wkp_seq *s, struct wkp_seq_pool *p, const struct wkp_pkt_rec *r)
{
    struct wkp_seq_chunk *c = s->tail;
    if (c && c->n < c->cap) {
        int64_t anchor_ts = c->s[c->anchor].w0.ts_ns;
        if (fits_compact(r, anchor_ts)) {
            put_compact(&c->s[c->n++], r, anchor_ts);
            s->stored++;
            return 0;
        }
    }
    if (!c || c->cap - c->n < 2) {
        /* the next class up, capped: the chain doubles its capacity */
        unsigned cls = c ? class_of(c->cap) + 1 : 0;
        if (cls >= WKP_SEQ_CLASSES)
            cls = WKP_SEQ_CLASSES - 1;
        struct wkp_seq_chunk *n = p->free[cls];
        if (n) {
            p->free[cls] = n->next;
            /* the next chunk of this class is written soon: freed chunks
             * lie anywhere, so fetch it now, not when it is needed */
            if (n->next)
                __builtin_prefetch(n->next, 1);
        } else if (!(n = fresh_chunk(p, cls))) {
            return -1;
        }
        n->next = NULL;
        n->n = 0;
        if (c)
            c->next = n;
        else
            s->head = n;
        s->tail = c = n;
        p->bytes_out += chunk_bytes(cls);
    }
    /* wide: every value as is; it anchors the compact records after it */
    union wkp_seq_slot *w = &c->s[c->n];
    w[0].w0.ts_ns = r->ts_ns;
    w[0].w0.wire = r->wire;
    w[0].w0.win = r->win;
    w[0].w0.flags = r->flags;
    w[0].w0.bits = (uint8_t)(WKP_SEQ_WIDE | (r->dir < 0 ? WKP_SEQ_DOWN : 0));
    /* Four 4-byte loads, not one 16-byte copy: the caller has just stored
     * these fields one by one, and a load spanning several stores waits
     * for them to retire (as in put_compact). The empty asm keeps the
     * compiler from merging the loads. */
    uint32_t ip = r->ip, trans = r->trans, app = r->app, payload = r->payload;
    __asm__("" : "+r"(ip), "+r"(trans), "+r"(app), "+r"(payload));
    w[1].w1.ip = ip;
    w[1].w1.trans = trans;
    w[1].w1.app = app;
    w[1].w1.payload = payload;
    c->anchor = c->n;
    c->n = (uint16_t)(c->n + 2);
    s->stored++;
    return 0;
}

void wkp_seq_release(struct wkp_seq *s, struct wkp_seq_pool *p)
{
    struct wkp_seq_chunk *c = s->head;
    while (c) {
        struct wkp_seq_chunk *next = c->next;
        unsigned cls = class_of(c->cap);
        c->next = p->free[cls];
        p->free[cls] = c;
        p->bytes_out -= chunk_bytes(cls);
        c = next;
    }
    s->head = s->tail = NULL;
    s->stored = 0;
}

size_t wkp_seq_bytes(uint64_t n)
{
    size_t bytes = 0;
    for (unsigned cls = 0; n; cls += cls + 1 < WKP_SEQ_CLASSES) {
        uint64_t cap = ((uint64_t)2 << cls) - 1; /* records: one wide, the rest compact */
        bytes += chunk_bytes(cls);
        n -= n < cap ? n : cap;
    }
    return bytes;
}

void wkp_seq_pool_fini(struct wkp_seq_pool *p)
{
    for (size_t i = 0; i < p->nslabs; i++)
        free(p->slabs[i]);
    free(p->slabs);
    p->slabs = NULL;
    for (unsigned i = 0; i < WKP_SEQ_CLASSES; i++)
        p->free[i] = NULL, p->fresh[i] = p->fresh_end[i] = NULL;
    p->nslabs = p->cap = 0;
    wkp_carver_fini(&p->big);
}
