/* Whether the processor has PREFETCHW, found once before main. */
#include "util/prefetch.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

bool wkp_prefetchw_ok;

__attribute__((constructor)) static void find_prefetchw(void)
{
    unsigned a, b, c, d;
    wkp_prefetchw_ok = __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & bit_PRFCHW) != 0;
}
#endif
