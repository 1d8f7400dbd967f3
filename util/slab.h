/* The large blocks that the per-thread allocators carve: the flow table's
 * entries and slot array, the packet records' chunks, fixed-size pools
 * (util/pool.h) and small blocks (util/blocks.h). Each keeps the list of
 * its slabs to free them all at its end. */
#ifndef WKP_SLAB_H
#define WKP_SLAB_H

#include <stddef.h>

#define WKP_SLAB_HUGE ((size_t)2 << 20) /* a transparent huge page */

/* A slab of `bytes` (not zeroed), or NULL when out of memory. From
 * WKP_SLAB_HUGE up, aligned to it and marked for transparent huge pages
 * (and rounded up to a multiple of it): what is carved from it is
 * touched in random order, and with 4 KiB pages most touches would also
 * miss the TLB. Below, 64-byte aligned. Freed with free(). */
void *wkp_slab_alloc(size_t bytes);

/* Room in the list *v (n slabs in it, room for *cap) for one more slab,
 * doubling it when full; 0, or -1 when out of memory (the list as it was). */
int wkp_slab_room(void ***v, size_t n, size_t *cap);

#endif
