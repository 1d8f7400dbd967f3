/* Slabs for the per-thread allocators (interface in slab.h). */
#include "util/slab.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "util/futex.h"

static _Thread_local struct wkp_slab_stock *own_stock;

void wkp_slab_stock_use(struct wkp_slab_stock *s)
{
    own_stock = s;
}

/* A ready slab of the thread's stock, or NULL; the filler is told either
 * way, so that it fills the slot taken or starts filling. */
static void *stock_take(struct wkp_slab_stock *s)
{
    void *p = NULL;
    for (int i = 0; i < WKP_SLAB_STOCK_SLOTS && !p; i++)
        if (atomic_load_explicit(&s->ready[i], memory_order_relaxed))
            /* acquire: pairs with the filler's release; its writes to the
             * slab (the kernel's zeroing) come before ours */
            p = atomic_exchange_explicit(&s->ready[i], NULL, memory_order_acquire);
    if (!atomic_load_explicit(&s->wanted, memory_order_relaxed))
        atomic_store_explicit(&s->wanted, 1, memory_order_relaxed);
    wkp_slab_bell_ring(s->bell);
    return p;
}

static void *huge_slab(size_t bytes)
{
    void *p = aligned_alloc(WKP_SLAB_HUGE, bytes);
    if (p)
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: fine if refused */
    return p;
}

unsigned wkp_slab_stock_fill(struct wkp_slab_stock *s, const _Atomic int *stop)
{
    unsigned added = 0;
    if (!atomic_load_explicit(&s->wanted, memory_order_relaxed))
        return 0;
    for (int i = 0; i < WKP_SLAB_STOCK_SLOTS; i++) {
        if (atomic_load_explicit(stop, memory_order_relaxed))
            break;
        if (atomic_load_explicit(&s->ready[i], memory_order_relaxed))
            continue;
        char *p = huge_slab(WKP_SLAB_HUGE);
        if (!p)
            break;
        /* A write to each 4 KiB page (with a huge page, the first faults
         * in all of it). Not MADV_POPULATE_WRITE: it holds the process's
         * mmap lock for reading while the kernel zeroes, and a thread that
         * grows its malloc arena (mprotect, which writes it) waits that
         * long, and every page fault queued behind it too. */
        for (size_t o = 0; o < WKP_SLAB_HUGE; o += 4096)
            ((volatile char *)p)[o] = 0;
        /* release: pairs with the owner's acquire in stock_take. Only the
         * owner empties a slot, so the slot is still empty here. */
        atomic_store_explicit(&s->ready[i], p, memory_order_release);
        added++;
    }
    return added;
}

void wkp_slab_stock_drain(struct wkp_slab_stock *s)
{
    for (int i = 0; i < WKP_SLAB_STOCK_SLOTS; i++)
        free(atomic_exchange_explicit(&s->ready[i], NULL, memory_order_acquire));
}

void wkp_slab_bell_ring(_Atomic uint32_t *bell)
{
    atomic_fetch_add_explicit(bell, 1, memory_order_release);
    wkp_futex_wake(bell);
}

void *wkp_slab_alloc(size_t bytes)
{
    if (bytes < WKP_SLAB_HUGE)
        return aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (bytes == WKP_SLAB_HUGE && own_stock) {
        void *p = stock_take(own_stock);
        if (p)
            return p;
    }
    return huge_slab((bytes + WKP_SLAB_HUGE - 1) / WKP_SLAB_HUGE * WKP_SLAB_HUGE);
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
