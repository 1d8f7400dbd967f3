/* Prefetching the lines this thread is about to write (or read). */
#ifndef WKP_PREFETCH_H
#define WKP_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
/* The processor has PREFETCHW (CPUID 0x80000001, ECX bit 8: every x86-64
 * AMD, Intel since Broadwell); set before main runs (util/prefetch.c). */
extern bool wkp_prefetchw_ok;
#endif

/* Ask for the line holding p in the exclusive state, so that the store
 * which follows does not wait for the other cores to give it up. x86:
 * PREFETCHW where the processor has it (GCC emits it for
 * __builtin_prefetch(p, 1) only when told at build time that the target
 * has it), else a plain prefetch; elsewhere the compiler's write prefetch.
 * A hint: p need not be mapped. */
static inline void wkp_prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
    if (wkp_prefetchw_ok)
        __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
    else
        __builtin_prefetch(p, 1);
#else
    __builtin_prefetch(p, 1);
#endif
}

/* Every line of the n bytes at p (which need not start a line), for
 * writing. */
static inline void wkp_prefetch_w_lines(const void *p, size_t n)
{
    const char *s = p;
    for (uintptr_t l = (uintptr_t)s & ~(uintptr_t)63; l < (uintptr_t)(s + n); l += 64)
        wkp_prefetch_w((const void *)l);
}

/* Every line of the n bytes at p, for reading. */
static inline void wkp_prefetch_lines(const void *p, size_t n)
{
    const char *s = p;
    for (uintptr_t l = (uintptr_t)s & ~(uintptr_t)63; l < (uintptr_t)(s + n); l += 64)
        __builtin_prefetch((const void *)l);
}

#endif
