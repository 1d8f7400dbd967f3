/* Fixed-size block pools (interface in pool.h). Used by one thread; no
 * locks. Slabs double from 16 KiB to 2 MiB so a pool used by a few flows
 * stays small and one used by millions makes few slabs, on huge pages
 * (util/slab.h): a 4 KiB page faulted in on its own costs far more than
 * its share of a huge one, several times more on a virtual machine. */
#include "util/pool.h"

#include <stdlib.h>

#include "util/slab.h"

#define POOL_SLAB_MIN ((size_t)16 << 10)
#define POOL_SLAB_MAX ((size_t)2 << 20)

void wkp_pool_init(struct wkp_pool *p, size_t size)
{
    *p = (struct wkp_pool){.size = size < 16 ? 16 : (size + 15) / 16 * 16};
}

static int pool_grow(struct wkp_pool *p)
{
    if (wkp_slab_room(&p->slabs, p->nslabs, &p->cap) != 0)
        return -1;
    size_t bytes = POOL_SLAB_MIN << (p->nslabs < 7 ? p->nslabs : 7);
    if (bytes > POOL_SLAB_MAX)
        bytes = POOL_SLAB_MAX;
    if (bytes < p->size)
        bytes = p->size;
    char *slab = wkp_slab_alloc(bytes);
    if (!slab)
        return -1;
    p->slabs[p->nslabs++] = slab;
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
    *p = (struct wkp_pool){.size = size};
}
