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
