/* util/prefetch.h: PREFETCHW is used exactly where the processor reports
 * it, compared with GCC's own CPU check (a separate reading of CPUID). */
#include <criterion/criterion.h>

#include "util/prefetch.h"

#if defined(__x86_64__) || defined(__i386__)
Test(prefetch, uses_prefetchw_where_the_processor_has_it)
{
    __builtin_cpu_init();
    cr_expect_eq(wkp_prefetchw_ok, __builtin_cpu_supports("prfchw") != 0);
}
#endif
