/* The large blocks that the per-thread allocators carve: the flow table's
 * entries and slot array, the packet records' chunks, fixed-size pools
 * (util/pool.h) and small blocks (util/blocks.h). Each keeps the list of
 * its slabs to free them all at its end. */
#ifndef WKP_SLAB_H
#define WKP_SLAB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define WKP_SLAB_HUGE ((size_t)2 << 20) /* a transparent huge page */

/* A slab of `bytes` (not zeroed), or NULL when out of memory. From
 * WKP_SLAB_HUGE up, aligned to it and marked for transparent huge pages
 * (and rounded up to a multiple of it): what is carved from it is
 * touched in random order, and with 4 KiB pages most touches would also
 * miss the TLB. Below, 64-byte aligned. Freed with free(). */
void *wkp_slab_alloc(size_t bytes);

/* Huge slabs faulted in ahead, by another thread, for one thread that
 * allocates them (a worker). The kernel zeroes a fresh huge page on its
 * first touch: about a millisecond, more on a virtual machine whose host
 * must back the page first. Paid by a worker, that stall also starves the
 * other workers (the reader waits on the stalled worker's full ring);
 * paid ahead by a thread of idle priority, it fills time the CPUs would
 * otherwise spend idle.
 *
 * The owner calls wkp_slab_stock_use(s) when it starts (and with NULL
 * when it is done); in between its wkp_slab_alloc(WKP_SLAB_HUGE) takes a
 * ready slab when there is one
 * (freed with free() like any other). The filler calls
 * wkp_slab_stock_fill when the bell rings. A stock starts empty and is
 * filled only once its owner has allocated a huge slab, so a short run
 * holds no spare slab. At most WKP_SLAB_STOCK_SLOTS slabs wait in it. A
 * zeroed struct with its bell set is ready. */
#define WKP_SLAB_STOCK_SLOTS 2
struct wkp_slab_stock {
    void *_Atomic ready[WKP_SLAB_STOCK_SLOTS]; /* faulted in, or NULL */
    _Atomic int wanted;                        /* the owner has allocated a huge slab */
    _Atomic uint32_t *bell;                    /* rung (bumped, then woken) when a slab is wanted */
};

/* The calling thread's huge slabs come from s first (NULL: no stock). */
void wkp_slab_stock_use(struct wkp_slab_stock *s);

/* Filler: a slab faulted in for each empty slot of s, once its owner has
 * wanted one; stops between slabs when *stop is set. Returns how many it
 * added. Any thread, one at a time for a given s. */
unsigned wkp_slab_stock_fill(struct wkp_slab_stock *s, const _Atomic int *stop);

/* Free the slabs s still holds: neither its owner nor a filler uses it. */
void wkp_slab_stock_drain(struct wkp_slab_stock *s);

/* Bump *bell and wake the filler sleeping on it (wkp_futex_wait in
 * util/futex.h, while the bell holds what it read before it filled). */
void wkp_slab_bell_ring(_Atomic uint32_t *bell);

/* Room in the list *v (n slabs in it, room for *cap) for one more slab,
 * doubling it when full; 0, or -1 when out of memory (the list as it was). */
int wkp_slab_room(void ***v, size_t n, size_t *cap);

/* Small slabs for several allocators of one thread, cut one after the
 * other out of shared 2 MiB slabs on huge pages: a dozen pools that each
 * start with 16 KiB to 1 MiB slabs would otherwise fault in megabytes of
 * 4 KiB pages one by one. What is left of a slab too small for the next
 * piece is not used. A zeroed struct is ready. */
struct wkp_carver {
    char *cur;    /* the next piece starts here */
    size_t left;  /* bytes from cur to the end of its slab */
    void **slabs; /* every slab, for fini */
    size_t nslabs, cap;
};

/* A piece of `bytes` (at most WKP_SLAB_HUGE; rounded up to 64 bytes),
 * 64-byte aligned, not zeroed; NULL when out of memory. It stays valid
 * until wkp_carver_fini and is never freed on its own. */
void *wkp_carve(struct wkp_carver *c, size_t bytes);

/* Free every slab: every piece becomes invalid. c is ready again. */
void wkp_carver_fini(struct wkp_carver *c);

#endif
