/* Slabs for the per-thread allocators (interface in slab.h). */
#include "util/slab.h"

#include <stdlib.h>
#include <sys/mman.h>

void *wkp_slab_alloc(size_t bytes)
{
    if (bytes < WKP_SLAB_HUGE)
        return aligned_alloc(64, (bytes + 63) / 64 * 64);
    bytes = (bytes + WKP_SLAB_HUGE - 1) / WKP_SLAB_HUGE * WKP_SLAB_HUGE;
    void *p = aligned_alloc(WKP_SLAB_HUGE, bytes);
    if (p)
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: fine if refused */
    return p;
}

int wkp_slab_room(void ***v, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    void **nv = realloc(*v, c * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    *cap = c;
    return 0;
}

void *wkp_carve(struct wkp_carver *c, size_t bytes)
{
    bytes = (bytes + 63) / 64 * 64;
    if (bytes > WKP_SLAB_HUGE)
        return NULL;
    if (c->left < bytes) {
        if (wkp_slab_room(&c->slabs, c->nslabs, &c->cap) != 0)
            return NULL;
        char *slab = wkp_slab_alloc(WKP_SLAB_HUGE);
        if (!slab)
            return NULL;
        c->slabs[c->nslabs++] = slab;
        c->cur = slab;
        c->left = WKP_SLAB_HUGE;
    }
    char *p = c->cur;
    c->cur += bytes;
    c->left -= bytes;
    return p;
}

void wkp_carver_fini(struct wkp_carver *c)
{
    for (size_t i = 0; i < c->nslabs; i++)
        free(c->slabs[i]);
    free(c->slabs);
    *c = (struct wkp_carver){0};
}
