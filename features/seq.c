/* Chunked per-flow packet records (see seq.h). Chunks come from slabs of
 * 128 and go back to the worker's free list when the flow ends. */
#include "features/seq.h"

#include <stdlib.h>

#define SLAB 128

static int grow(struct wkp_seq_pool *p)
{
    if (p->nslabs == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        void **v = realloc(p->slabs, cap * sizeof *v);
        if (!v)
            return -1;
        p->slabs = v;
        p->cap = cap;
    }
    struct wkp_seq_chunk *slab = malloc(SLAB * sizeof *slab);
    if (!slab)
        return -1;
    p->slabs[p->nslabs++] = slab;
    for (size_t i = SLAB; i-- > 0;) {
        slab[i].next = p->free;
        p->free = &slab[i];
    }
    return 0;
}

int wkp_seq_append(struct wkp_seq *s, struct wkp_seq_pool *p, const struct wkp_pkt_rec *r)
{
    struct wkp_seq_chunk *c = s->tail;
    if (!c || c->n == WKP_SEQ_CHUNK) {
        if (!p->free && grow(p) != 0)
            return -1;
        struct wkp_seq_chunk *n = p->free;
        p->free = n->next;
        n->next = NULL;
        n->n = 0;
        if (c)
            c->next = n;
        else
            s->head = n;
        s->tail = c = n;
        p->chunks_out++;
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
        c->next = p->free;
        p->free = c;
        p->chunks_out--;
        c = next;
    }
    s->head = s->tail = NULL;
    s->stored = 0;
}

void wkp_seq_pool_fini(struct wkp_seq_pool *p)
{
    for (size_t i = 0; i < p->nslabs; i++)
        free(p->slabs[i]);
    free(p->slabs);
    p->slabs = NULL;
    p->free = NULL;
    p->nslabs = p->cap = 0;
}
