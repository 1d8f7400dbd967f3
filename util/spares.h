/* Variable-size blocks for one thread, kept by size for reuse.
 *
 * For buffers a thread keeps giving back and taking again (a TCP stream's
 * buffer, emptied at every segment a dissector consumes, whose size
 * already doubles as it grows): a block given back is kept, while its size holds fewer than
 * WKP_SPARE_KEEP bytes of spares, and handed to the next take of that
 * size instead of going through malloc and free. Sizes are powers of two
 * from 64 bytes to 64 KiB; other sizes go straight to malloc and free.
 * At most WKP_SPARE_CLASSES * WKP_SPARE_KEEP bytes are kept (704 KiB).
 *
 * A zeroed struct is ready; wkp_spares_fini frees what it keeps. */
#ifndef WKP_SPARES_H
#define WKP_SPARES_H

#include <stddef.h>
#include <stdint.h>

#define WKP_SPARE_MIN     64u       /* the smallest size kept */
#define WKP_SPARE_CLASSES 11        /* 64 B << 0..10: up to 64 KiB */
#define WKP_SPARE_KEEP    65536u    /* bytes of spares kept per size */

struct wkp_spares {
    void *head[WKP_SPARE_CLASSES]; /* a list through each block's first bytes */
    uint32_t n[WKP_SPARE_CLASSES];
};

/* The size class of a block of `size` bytes, or -1 when spares never
 * keep that size (not a power of two from 64 B to 64 KiB). */
static inline int wkp_spare_class(size_t size)
{
    if (size < WKP_SPARE_MIN || size > (size_t)WKP_SPARE_MIN << (WKP_SPARE_CLASSES - 1) ||
        (size & (size - 1)))
        return -1;
    return __builtin_ctzll(size) - __builtin_ctz(WKP_SPARE_MIN);
}

/* `size` rounded up to the next size spares keep (itself above 64 KiB). */
static inline size_t wkp_spare_round(size_t size)
{
    size_t c = WKP_SPARE_MIN;
    while (c < size && c < (size_t)WKP_SPARE_MIN << (WKP_SPARE_CLASSES - 1))
        c <<= 1;
    return c >= size ? c : size;
}

/* A block of `size` bytes (not zeroed): a spare of that size when s has
 * one (s may be NULL: none), else malloc's; NULL when out of memory. */
void *wkp_spare_take(struct wkp_spares *s, size_t size);

/* Give back p, a block of `size` bytes from wkp_spare_take (or malloc):
 * kept or freed. NULL is a no-op; s NULL frees. */
void wkp_spare_give(struct wkp_spares *s, void *p, size_t size);

/* Free every spare; s may be used again. */
void wkp_spares_fini(struct wkp_spares *s);

#endif
