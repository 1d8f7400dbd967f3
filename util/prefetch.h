/* Prefetching a line this thread is about to write. */
#ifndef WKP_PREFETCH_H
#define WKP_PREFETCH_H

/* Ask for the line holding p in the exclusive state, so that the store
 * which follows does not wait for the other cores to give it up. x86:
 * PREFETCHW, which processors without it execute as a no-op (GCC emits it
 * for __builtin_prefetch(p, 1) only when told the target has it); else the
 * compiler's write prefetch. A hint: p need not be mapped. */
static inline void wkp_prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1);
#endif
}

#endif
