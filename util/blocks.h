/* Small blocks of many sizes for one thread, carved from slabs.
 *
 * For what a flow keeps of its content (a TLS hello, a DNS message's
 * names): blocks of a few hundred bytes whose size only the content tells,
 * made by one flow and freed when it ends, hundreds of thousands held at
 * once. Through malloc each costs the allocator's header, a walk of its
 * bins, and while the heap grows a call to grow it; here a take is a
 * pop from the free list of its 16-byte size class or a bump in the
 * current slab, and a give is a push.
 *
 * Sizes up to WKP_BLOCKS_MAX bytes are carved; larger ones go to malloc
 * and free. The caller gives a block back with the size it took it with.
 * A block given back waits for the next take of its class: the memory
 * goes back to the system only at wkp_blocks_fini, so what this holds is
 * set, class by class, by the most blocks held at once. Slabs are 64 KiB
 * at first, so a small capture stays small, then 2 MiB on transparent
 * huge pages. Blocks are 16-byte aligned.
 *
 * A zeroed struct is ready; wkp_blocks_fini frees every slab. */
#ifndef WKP_BLOCKS_H
#define WKP_BLOCKS_H

#include <stddef.h>

#define WKP_BLOCKS_ALIGN   16u
#define WKP_BLOCKS_MAX     1024u /* the largest size carved */
#define WKP_BLOCKS_CLASSES (WKP_BLOCKS_MAX / WKP_BLOCKS_ALIGN)

struct wkp_blocks {
    void *free[WKP_BLOCKS_CLASSES]; /* class c: blocks of 16 (c + 1) bytes */
    char *bump, *end;               /* the current slab's uncarved bytes */
    void **slabs;
    size_t nslabs, cap;
    size_t slab_bytes; /* bytes of every slab together */
};

/* A block of `size` bytes (not zeroed; size 0 counts as 1), or NULL when
 * out of memory. b may be NULL: malloc. */
void *wkp_blocks_take(struct wkp_blocks *b, size_t size);

/* Give back p, taken from b with this size. NULL is a no-op. */
void wkp_blocks_give(struct wkp_blocks *b, void *p, size_t size);

/* Free every slab (blocks still taken become invalid); b may be used
 * again. */
void wkp_blocks_fini(struct wkp_blocks *b);

#endif
