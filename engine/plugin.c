/* Registering custom features on a config, directly or from a shared object.
 * Called on the thread that builds the config, before an
 * engine is made from it.
 *
 * A plugin's handle is never dlclose()d: the feature definitions it
 * registered point at its code, and every engine made from the config (or
 * from a copy of it) calls them until it is freed, which the config cannot
 * know. Plugins are few and loaded once, so the library simply stays mapped
 * for the life of the process. The plugin resolves wkp_config_add_feature
 * and wkp_write_* from the host process, which must export them (the CLI is
 * linked with ENABLE_EXPORTS; a program using the shared library gets them
 * from it). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"
#include "util/oneline.h"

wkp_status wkp_config_add_feature(wkp_config *cfg, const wkp_feature_def *def)
{
    /* 0: the first layout, which is this one (see the ABI policy in the header) */
    if (!cfg || (def && def->struct_size != 0 && def->struct_size != sizeof *def))
        return WKP_EINVAL;
    return wkp_custom_add(&cfg->custom, def);
}

static void plugin_err(wkp_errbuf *err, const char *path, const char *what, const char *detail)
{
    if (!err)
        return;
    /* dlerror() usually starts with the path itself: don't say it twice. */
    size_t n = strlen(path);
    if (detail && strncmp(detail, path, n) == 0 && detail[n] == ':' && detail[n + 1] == ' ')
        detail += n + 2;
    if (detail)
        snprintf(err->msg, sizeof err->msg, "%s: %s: %s", path, what, detail);
    else
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, what);
    wkp_oneline(err->msg, sizeof err->msg); /* the path or dlerror() may hold a line break */
}

wkp_status wkp_config_load_plugin(wkp_config *cfg, const char *path, wkp_errbuf *err)
{
    if (!cfg || !path || !*path) {
        plugin_err(err, path && *path ? path : "(plugin)", "no config or no path", NULL);
        return WKP_EINVAL;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        plugin_err(err, path, "cannot open plugin", why ? why : "unknown dlopen error");
        return WKP_EIO;
    }
    wkp_plugin_register_fn entry;
    /* ISO C has no function <-> object pointer conversion; POSIX requires
     * this one to work, and memcpy says so without a cast warning. */
    void *sym = dlsym(h, WKP_PLUGIN_ENTRY);
    if (!sym) {
        plugin_err(err, path, "no entry point " WKP_PLUGIN_ENTRY, NULL);
        dlclose(h); /* nothing of it was called, nothing can point into it */
        return WKP_EINVAL;
    }
    memcpy(&entry, &sym, sizeof entry);
    /* The plugin API it was built for, checked before any of its code runs:
     * a plugin of another version would misread the structs it fills. */
    const unsigned *api = dlsym(h, WKP_PLUGIN_API_SYMBOL);
    if (!api || *api != WKP_PLUGIN_API_VERSION) {
        char detail[160];
        if (api)
            snprintf(detail, sizeof detail,
                     "built for plugin API %u, this library speaks %u: rebuild it against "
                     "this wa1kpcap.h",
                     *api, WKP_PLUGIN_API_VERSION);
        else
            snprintf(detail, sizeof detail,
                     "no " WKP_PLUGIN_API_SYMBOL " (plugin API %u): declare "
                     "WKP_PLUGIN_DECLARE_API and rebuild against this wa1kpcap.h",
                     WKP_PLUGIN_API_VERSION);
        plugin_err(err, path, "refused", detail);
        dlclose(h);
        return WKP_EINVAL;
    }

    /* On failure the config is left as it was: the entry may have added or
     * replaced features before giving up. */
    struct wkp_custom_set saved;
    if (wkp_custom_copy(&saved, &cfg->custom) != WKP_OK) {
        plugin_err(err, path, "out of memory", NULL);
        return WKP_ENOMEM;
    }
    int rc = entry(cfg);
    if (rc != 0) {
        wkp_custom_free(&cfg->custom);
        cfg->custom = saved;
        char detail[32];
        snprintf(detail, sizeof detail, "returned %d", rc);
        plugin_err(err, path, WKP_PLUGIN_ENTRY, detail);
        return WKP_EINVAL;
    }
    wkp_custom_free(&saved);
    return WKP_OK;
}
