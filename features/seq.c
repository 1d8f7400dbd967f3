/* Chunked per-flow packet records (see seq.h). Chunks of each size class
 * come from slabs of 256 KiB, then 2 MiB (few, large allocations: no allocator
 * bookkeeping per chunk) and go back to the worker's free list of their
 * class when the flow ends. A flow's k-th chunk holds 1 << k records up to
 * WKP_SEQ_CHUNK_MAX, so the storage of a flow of n packets is under 2n
 * records plus one 16-byte header per chunk. */
#include "features/seq.h"

#include <stdlib.h>
#include <sys/mman.h>

/* The first SMALL_SLABS are 256 KiB, so a small capture stays small; later
 * ones are 2 MiB, aligned and marked for transparent huge pages: a flood
 * touches its flows' chunks in random order, and with 4 KiB pages nearly
 * every one also misses the TLB. */
#define SLAB_BYTES     (256u * 1024u)
#define BIG_SLAB_BYTES (2u * 1024u * 1024u)
#define SMALL_SLABS    8

static void *slab_alloc(size_t bytes)
{
    if (bytes < BIG_SLAB_BYTES)
        return malloc(bytes);
    void *p = aligned_alloc(BIG_SLAB_BYTES, bytes);
    if (p)
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: fine if refused */
    return p;
}

static size_t chunk_bytes(unsigned cls)
{
    return sizeof(struct wkp_seq_chunk) + ((size_t)1 << cls) * sizeof(struct wkp_pkt_rec);
}

static int grow(struct wkp_seq_pool *p, unsigned cls)
{
    if (p->nslabs == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        void **v = realloc(p->slabs, cap * sizeof *v);
        if (!v)
            return -1;
        p->slabs = v;
        p->cap = cap;
    }
    size_t bytes = p->nslabs < SMALL_SLABS ? SLAB_BYTES : BIG_SLAB_BYTES;
    size_t sz = chunk_bytes(cls), n = bytes / sz;
    char *slab = slab_alloc(bytes);
    if (!slab)
        return -1;
    p->slabs[p->nslabs++] = slab;
    for (size_t i = n; i-- > 0;) {
        struct wkp_seq_chunk *c = (struct wkp_seq_chunk *)(slab + i * sz);
        c->cap = 1u << cls;
        c->next = p->free[cls];
        p->free[cls] = c;
    }
    return 0;
}

static unsigned class_of(uint32_t cap)
{
    return (unsigned)__builtin_ctz(cap);
}

int wkp_seq_append(struct wkp_seq *s, struct wkp_seq_pool *p, const struct wkp_pkt_rec *r)
{
    struct wkp_seq_chunk *c = s->tail;
    if (!c || c->n == c->cap) {
        /* the next class up, capped: the chain doubles its capacity */
        unsigned cls = c ? class_of(c->cap) + 1 : 0;
        if (cls >= WKP_SEQ_CLASSES)
            cls = WKP_SEQ_CLASSES - 1;
        if (!p->free[cls] && grow(p, cls) != 0)
            return -1;
        struct wkp_seq_chunk *n = p->free[cls];
        p->free[cls] = n->next;
        /* the next chunk of this class is written soon: freed chunks lie
         * anywhere, so fetch it now, not when it is needed */
        if (n->next)
            __builtin_prefetch(n->next, 1);
        n->next = NULL;
        n->n = 0;
        if (c)
            c->next = n;
        else
            s->head = n;
        s->tail = c = n;
        p->bytes_out += chunk_bytes(cls);
    }
    c->r[c->n++] = *r;
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
        uint64_t cap = (uint64_t)1 << cls;
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
        p->free[i] = NULL;
    p->nslabs = p->cap = 0;
}
