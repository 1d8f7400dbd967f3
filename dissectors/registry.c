/* The table of application dissectors, built from registry.def. */
#include "dissectors/dissector.h"

#define WKP_DISSECTOR(sym) extern const struct wkp_dissector sym;
#include "dissectors/registry.def"
#undef WKP_DISSECTOR

const struct wkp_dissector *const wkp_dissectors[] = {
#define WKP_DISSECTOR(sym) &sym,
#include "dissectors/registry.def"
#undef WKP_DISSECTOR
    NULL,
};
const unsigned wkp_ndissectors = sizeof wkp_dissectors / sizeof wkp_dissectors[0] - 1;

_Static_assert(sizeof wkp_dissectors / sizeof wkp_dissectors[0] - 1 <= WKP_MAX_DISSECTORS,
               "more dissectors than WKP_MAX_DISSECTORS");
