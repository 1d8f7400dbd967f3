/* util/prefetch.h: PREFETCHW is used exactly where the processor reports
 * it, compared with the kernel's reading of the same CPUID bit: the
 * "3dnowprefetch" flag of /proc/cpuinfo. (GCC's __builtin_cpu_supports
 * knows the bit as "prfchw", but Clang 14 refuses that name.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "util/prefetch.h"

#if defined(__x86_64__) || defined(__i386__)
/* 1 if the first "flags" line of /proc/cpuinfo names flag, 0 if not, -1
 * if there is no such line to read. */
static int cpuinfo_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return -1;
    char line[8192];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "flags", 5) != 0 || !colon)
            continue;
        found = 0;
        for (char *tok = strtok(colon + 1, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
            if (strcmp(tok, flag) == 0)
                found = 1;
    }
    fclose(f);
    return found;
}

Test(prefetch, uses_prefetchw_where_the_processor_has_it)
{
    int has = cpuinfo_flag("3dnowprefetch");
    if (has < 0)
        cr_skip_test("no flags line in /proc/cpuinfo");
    cr_expect_eq(wkp_prefetchw_ok, has == 1);
}
#endif
