/* The table of application dissectors, built from registry.def.
 *
 * A test build compiles this file once more with WKP_EXTRA_REGISTRY set to
 * a .def file of test-only rows (tests/dissector/), appended after the
 * product's rows; the product never sees them. A test build may also
 * replace the product's rows (WKP_REGISTRY_ROWS names another .def file),
 * to run the engine with some dissectors absent. */
#include <string.h>

#include "dissectors/dissector.h"

#ifndef WKP_REGISTRY_ROWS
#define WKP_REGISTRY_ROWS "dissectors/registry.def"
#endif

#define WKP_DISSECTOR(sym) extern const struct wkp_dissector sym;
#include WKP_REGISTRY_ROWS
#ifdef WKP_EXTRA_REGISTRY
#include WKP_EXTRA_REGISTRY
#endif
#undef WKP_DISSECTOR

const struct wkp_dissector *const wkp_dissectors[] = {
#define WKP_DISSECTOR(sym) &sym,
#include WKP_REGISTRY_ROWS
#ifdef WKP_EXTRA_REGISTRY
#include WKP_EXTRA_REGISTRY
#endif
#undef WKP_DISSECTOR
    NULL,
};
const unsigned wkp_ndissectors = sizeof wkp_dissectors / sizeof wkp_dissectors[0] - 1;

_Static_assert(sizeof wkp_dissectors / sizeof wkp_dissectors[0] - 1 <= WKP_MAX_DISSECTORS,
               "more dissectors than WKP_MAX_DISSECTORS");

int wkp_dissector_find(const char *name, size_t n)
{
    for (unsigned i = 0; i < wkp_ndissectors; i++)
        if (strlen(wkp_dissectors[i]->name) == n && memcmp(wkp_dissectors[i]->name, name, n) == 0)
            return (int)i;
    return -1;
}
