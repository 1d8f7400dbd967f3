/* Fixed-size block pools (interface in pool.h). Used by one thread; no
 * locks. Slabs double from 16 KiB to 2 MiB so a pool used by a few flows
 * stays small and one used by millions makes few slabs, on huge pages
 * (util/slab.h): a 4 KiB page faulted in on its own costs far more than
 * its share of a huge one, several times more on a virtual machine. With
 * a carver, the slabs below 2 MiB are cut from huge pages shared with the
 * thread's other pools. */
#include "util/pool.h"

#include <stdlib.h>

#include "util/slab.h"

#define POOL_SLAB_MIN ((size_t)16 << 10)
#define POOL_SLAB_MAX ((size_t)2 << 20)

void wkp_pool_init(struct wkp_pool *p, size_t size)
{
    *p = (struct wkp_pool){.size = size < 16 ? 16 : (size + 15) / 16 * 16};
}

void wkp_pool_carve_from(struct wkp_pool *p, struct wkp_carver *c)
{
    p->carver = c;
}

static int pool_grow(struct wkp_pool *p)
{
    size_t bytes = POOL_SLAB_MIN << (p->grown < 7 ? p->grown : 7);
    if (bytes > POOL_SLAB_MAX)
        bytes = POOL_SLAB_MAX;
    if (bytes < p->size)
        bytes = p->size;
    char *slab;
    if (p->carver && bytes < WKP_SLAB_HUGE) {
        if (!(slab = wkp_carve(p->carver, bytes)))
            return -1;
    } else {
        if (wkp_slab_room(&p->slabs, p->nslabs, &p->cap) != 0 || !(slab = wkp_slab_alloc(bytes)))
            return -1;
        p->slabs[p->nslabs++] = slab;
    }
    p->grown++;
    /* Thread the blocks in address order, so the first takes walk memory
     * forward. */
    size_t n = bytes / p->size;
    for (size_t i = n; i-- > 0;) {
        void *b = slab + i * p->size;
        *(void **)b = p->free;
        p->free = b;
    }
    return 0;
}

void *wkp_pool_take(struct wkp_pool *p)
{
    if (!p->free && pool_grow(p) != 0)
        return NULL;
    void *b = p->free;
    p->free = *(void **)b;
    p->taken++;
    /* given back blocks lie anywhere: the next take reads and the caller
     * writes this one, so fetch it now (prefetching NULL is harmless) */
    __builtin_prefetch(p->free, 1);
    return b;
}

void wkp_pool_give(struct wkp_pool *p, void *b)
{
    if (!b)
        return;
    *(void **)b = p->free;
    p->free = b;
    p->taken--;
}

void wkp_pool_fini(struct wkp_pool *p)
{
    for (size_t i = 0; i < p->nslabs; i++)
        free(p->slabs[i]);
    free(p->slabs);
    size_t size = p->size;
    struct wkp_carver *c = p->carver;
    *p = (struct wkp_pool){.size = size, .carver = c};
}
