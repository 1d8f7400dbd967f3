/* Fixed-size blocks for one thread: a free list refilled from slabs.
 *
 * For per-flow state that many flows hold at once (a flood keeps millions
 * open): a block costs its size and nothing else (no allocator header),
 * taking one is a pointer pop, and the pool's memory goes back to the
 * system only at wkp_pool_fini, a slab at a time, whatever the number of
 * blocks handed out. The peak is set by the most blocks held at once. */
#ifndef WKP_POOL_H
#define WKP_POOL_H

#include <stddef.h>

struct wkp_carver;

struct wkp_pool {
    size_t size;  /* block bytes: a multiple of 16, at least 16 */
    void *free;   /* free list, linked through each block's first bytes */
    void **slabs; /* every slab of its own, for fini */
    size_t nslabs, cap;
    size_t grown;              /* slabs taken so far, own or carved */
    size_t taken;              /* blocks held by callers now */
    struct wkp_carver *carver; /* NULL, or where its slabs below 2 MiB come from */
};

/* size is rounded up to a multiple of 16 (blocks are 16-byte aligned). */
void wkp_pool_init(struct wkp_pool *p, size_t size);

/* Cut p's slabs below 2 MiB out of c (util/slab.h), shared with other
 * pools of the thread, instead of allocating each: c must outlive p's
 * blocks (wkp_pool_fini leaves those slabs to wkp_carver_fini). Before
 * the first take. */
void wkp_pool_carve_from(struct wkp_pool *p, struct wkp_carver *c);

/* A block (not zeroed), or NULL when out of memory. */
void *wkp_pool_take(struct wkp_pool *p);

/* b came from wkp_pool_take of this pool; NULL is a no-op. */
void wkp_pool_give(struct wkp_pool *p, void *b);

/* Free every slab: blocks still taken become invalid. p may be initialised
 * again. */
void wkp_pool_fini(struct wkp_pool *p);

#endif
