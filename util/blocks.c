/* Small blocks carved from slabs (interface in blocks.h). One thread; no
 * locks. */
#include "util/blocks.h"

#include <stdlib.h>

#include "util/slab.h"

/* Under AddressSanitizer a block is addressable only while taken, and
 * only its size: the sanitizer sees an overrun or a use after give as it
 * would with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define WKP_BLOCKS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WKP_BLOCKS_ASAN 1
#endif
#endif
#ifdef WKP_BLOCKS_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SMALL_SLAB_BYTES (64u * 1024u)
#define BIG_SLAB_BYTES   WKP_SLAB_HUGE
#define SMALL_SLABS      4

static unsigned class_of(size_t size)
{
    return size ? (unsigned)((size - 1) / WKP_BLOCKS_ALIGN) : 0;
}

/* A new slab to carve from; -1 when out of memory. What was left of the
 * last one (less than the block that did not fit) stays unused. */
static int grow(struct wkp_blocks *b)
{
    if (wkp_slab_room(&b->slabs, b->nslabs, &b->cap) != 0)
        return -1;
    size_t bytes = b->nslabs < SMALL_SLABS ? SMALL_SLAB_BYTES : BIG_SLAB_BYTES;
    char *p = wkp_slab_alloc(bytes);
    if (!p)
        return -1;
    POISON(p, bytes);
    b->slabs[b->nslabs++] = p;
    b->slab_bytes += bytes;
    b->bump = p;
    b->end = p + bytes;
    return 0;
}

void *wkp_blocks_take(struct wkp_blocks *b, size_t size)
{
    if (!b || size > WKP_BLOCKS_MAX)
        return malloc(size ? size : 1);
    unsigned c = class_of(size);
    size_t bytes = (size_t)(c + 1) * WKP_BLOCKS_ALIGN;
    void *p = b->free[c];
    if (p) {
        UNPOISON(p, sizeof(void *));
        b->free[c] = *(void **)p;
        POISON(p, bytes);
        __builtin_prefetch(b->free[c], 1); /* the next take's, as in wkp_pool_take */
    } else {
        if ((!b->bump || (size_t)(b->end - b->bump) < bytes) && grow(b) != 0)
            return NULL;
        p = b->bump;
        b->bump += bytes;
    }
    UNPOISON(p, size ? size : 1);
    return p;
}

void wkp_blocks_give(struct wkp_blocks *b, void *p, size_t size)
{
    if (!p)
        return;
    if (!b || size > WKP_BLOCKS_MAX) {
        free(p);
        return;
    }
    unsigned c = class_of(size);
    UNPOISON(p, sizeof(void *));
    *(void **)p = b->free[c];
    b->free[c] = p;
    POISON(p, (size_t)(c + 1) * WKP_BLOCKS_ALIGN);
}

void wkp_blocks_fini(struct wkp_blocks *b)
{
    for (size_t i = 0; i < b->nslabs; i++) {
        UNPOISON(b->slabs[i], i < SMALL_SLABS ? SMALL_SLAB_BYTES : BIG_SLAB_BYTES);
        free(b->slabs[i]);
    }
    free(b->slabs);
    *b = (struct wkp_blocks){0};
}
