/* A plugin that registers nothing, built twice for test_custom: without
 * the plugin API declaration, and declaring version 99 (WKP_TEST_API=99).
 * Both must be refused before wkp_plugin_register runs; it returns 7 so a
 * call would show as "returned 7". It calls no API function, so it loads
 * into any host. */
#include "wa1kpcap/wa1kpcap.h"

#ifdef WKP_TEST_API
WKP_PLUGIN_EXPORT extern const unsigned wkp_plugin_api_version;
WKP_PLUGIN_EXPORT const unsigned wkp_plugin_api_version = WKP_TEST_API;
#endif

WKP_PLUGIN_EXPORT int wkp_plugin_register(wkp_config *cfg);

WKP_PLUGIN_EXPORT int wkp_plugin_register(wkp_config *cfg)
{
    (void)cfg;
    return 7;
}
