/* The engine's life: wkp_engine_new resolves a copy of the configuration
 * (columns, filter, worker count), sinks are added, wkp_engine_free undoes
 * it all. The run is in run.c, the configuration setters in config.c, the
 * summary in summary.c. Called by the thread that owns the engine, except
 * wkp_engine_stop (any thread). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/columns.h"
#include "engine/internal.h"
#include "util/oneline.h"

static const char *const status_text[] = {
    "success",
    "invalid argument",
    "out of memory",
    "input/output error",
    "not a valid capture",
    "unsupported link type",
    "stopped",
    "call out of order",
};

const char *wkp_strerror(wkp_status st)
{
    int i = -(int)st;
    if (i < 0 || i >= (int)(sizeof status_text / sizeof status_text[0]))
        return "unknown status";
    return status_text[i];
}

const char *wkp_version(void)
{
    return WKP_VERSION_STRING;
}

wkp_status wkp_config_set_columns(wkp_config *cfg, const char *patterns)
{
    if (!cfg)
        return WKP_EINVAL;
    char *c = NULL;
    if (patterns && *patterns && !(c = strdup(patterns)))
        return WKP_ENOMEM;
    free(cfg->columns);
    cfg->columns = c;
    return WKP_OK;
}

/* ---- engine ---- */

/* Load the configuration's user protocols (directories and routes, kept
 * as lines) before the columns are built: each protocol adds a column. */
static wkp_status load_user_protocols(wkp_engine *e, wkp_errbuf *err)
{
    if (!e->cfg.proto_dirs && !e->cfg.routes)
        return WKP_OK;
    const char *dirs[64];
    struct wkp_up_route routes[256];
    size_t nd = 0, nr = 0;
    char *save = NULL;
    for (char *l = e->cfg.proto_dirs ? strtok_r(e->cfg.proto_dirs, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save))
        if (nd < sizeof dirs / sizeof dirs[0])
            dirs[nd++] = l;
    for (char *l = e->cfg.routes ? strtok_r(e->cfg.routes, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        char *t1 = strchr(l, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2 || nr >= sizeof routes / sizeof routes[0])
            continue;
        *t1 = *t2 = '\0';
        routes[nr++] = (struct wkp_up_route){l, strtoull(t1 + 1, NULL, 10), t2 + 1};
    }
    char msg[sizeof err->msg];
    int rc = wkp_up_load(dirs, nd, routes, nr, &e->up, msg, sizeof msg);
    if (rc == 0) {
        e->cfg.up = e->up;
        return WKP_OK;
    }
    if (err)
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    return rc == -2 ? WKP_ENOMEM : WKP_EINVAL;
}

/* Split the engine's copy of the dissector options ("name\tvalue\n"
 * lines, names checked by the setter) in place and point each dissector's
 * value slots at it; a later line for a name wins. */
static void app_option_values(wkp_engine *e)
{
    char *save = NULL;
    for (char *line = e->cfg.app_options ? strtok_r(e->cfg.app_options, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        for (unsigned d = 0; d < wkp_ndissectors; d++)
            for (size_t k = 0; k < wkp_dissectors[d]->noptions && k < WKP_DIS_MAX_OPTIONS; k++)
                if (strcmp(wkp_dissectors[d]->options[k].name, line) == 0)
                    e->app_opt_values[d][k] = tab + 1;
    }
}

void wkp__set_error(struct wkp_engine *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err, sizeof e->err, fmt, ap);
    va_end(ap);
    wkp_oneline(e->err, sizeof e->err); /* it may quote a path */
}

wkp_status wkp_engine_new(const wkp_config *cfg, wkp_engine **out, wkp_errbuf *err)
{
    if (!cfg || !out) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "wkp_engine_new: NULL argument");
        return WKP_EINVAL;
    }
    wkp_engine *e = calloc(1, sizeof *e);
    if (!e) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "out of memory");
        return WKP_ENOMEM;
    }
    e->cfg = *cfg;
    e->cfg.columns = NULL;
    e->cfg.cols = NULL;
    e->cfg.filter = NULL;
    e->cfg.default_filter = NULL;
    e->cfg.app_options = NULL;
    e->cfg.proto_dirs = NULL;
    e->cfg.routes = NULL;
    e->cfg.up = NULL;
    e->cfg.sig_cache = NULL; /* only wkp_config_set_signatures reads it */
    memset(&e->cfg.custom, 0, sizeof e->cfg.custom);
    e->cfg.sigdb = wkp_sigdb_ref(cfg->sigdb); /* compiled once, shared with the config */
    wkp_status cst = WKP_OK;
    if (wkp_custom_copy(&e->cfg.custom, &cfg->custom) != WKP_OK ||
        wkp__set_string(&e->cfg.columns, cfg->columns) != WKP_OK ||
        wkp__set_string(&e->cfg.filter, cfg->filter) != WKP_OK ||
        wkp__set_string(&e->cfg.default_filter, cfg->default_filter) != WKP_OK ||
        wkp__set_string(&e->cfg.app_options, cfg->app_options) != WKP_OK ||
        wkp__set_string(&e->cfg.proto_dirs, cfg->proto_dirs) != WKP_OK ||
        wkp__set_string(&e->cfg.routes, cfg->routes) != WKP_OK ||
        wkp__set_string(&e->given_app_options, cfg->app_options) != WKP_OK ||
        wkp__set_string(&e->given_proto_dirs, cfg->proto_dirs) != WKP_OK ||
        wkp__set_string(&e->given_routes, cfg->routes) != WKP_OK) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "out of memory");
        cst = WKP_ENOMEM;
    }
    if (cst == WKP_OK && e->cfg.resync && e->cfg.reader == WKP_READER_LIBPCAP) {
        if (err)
            snprintf(err->msg, sizeof err->msg,
                     "resync needs the mmap reader (libpcap stops at damage): use the auto or "
                     "mmap reader");
        cst = WKP_EINVAL;
    }
    if (cst == WKP_OK)
        app_option_values(e);
    if (cst == WKP_OK)
        cst = load_user_protocols(e, err);
    if (cst == WKP_OK)
        cst = wkp__columns_build(&e->cfg, err);
    if (cst == WKP_OK && e->cfg.reassembly && !(e->defrag = wkp_defrag_new(NULL))) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "out of memory");
        cst = WKP_ENOMEM;
    }
    if (cst == WKP_OK && (e->cfg.filter || e->cfg.default_filter))
        cst = wkp_filter_compile_combined(e->cfg.default_filter, e->cfg.filter, &e->filter, err);
    if (cst == WKP_OK && e->filter)
        wkp_filter_set_compat(e->filter, e->cfg.compat);
    if (cst == WKP_OK) {
        /* The reader may key plain frames without parsing them unless the
         * filter reads frame bytes (docs/design.md, "Reader and workers"). */
        bool pkt_terms = e->filter && wkp_filter_has_packet_terms(e->filter);
        e->quick_ok = !pkt_terms || wkp_filter_keywords_only(e->filter);
    }
    if (cst != WKP_OK) {
        wkp_engine_free(e);
        return cst;
    }
    unsigned n = cfg->threads;
    if (n == 0) {
        /* One worker per online CPU (one fewer when no sink reads records:
         * start_threads in run.c). With every feature on, a worker costs
         * about 2.5x what the reader does per packet, so the workers need
         * the cores more than the reader: on the 2-core bench machine -t 2
         * runs the 1 GiB bench capture in 1.18 s, -t 1 in 1.40 s (bench/). */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (unsigned)cpus : 1;
        if (n > WKP_MAX_THREADS)
            n = WKP_MAX_THREADS;
    }
    e->nworkers = n;
    *out = e;
    return WKP_OK;
}

wkp_status wkp_engine_add_sink(wkp_engine *e, wkp_sink *sink)
{
    if (!e)
        return WKP_EINVAL;
    if (!sink) {
        wkp__set_error(e, "wkp_engine_add_sink: NULL sink");
        return WKP_EINVAL;
    }
    if (e->ran) {
        wkp__set_error(e, "wkp_engine_add_sink: the engine has already run");
        return WKP_ESTATE;
    }
    if (sink->owned) {
        /* freed by its engine: a second owner would free it twice */
        wkp__set_error(e, "wkp_engine_add_sink: the sink already belongs to an engine");
        return WKP_ESTATE;
    }
    wkp_sink **v = realloc(e->sinks, (e->nsinks + 1) * sizeof *v);
    if (!v) {
        wkp__set_error(e, "out of memory");
        return WKP_ENOMEM;
    }
    e->sinks = v;
    e->sinks[e->nsinks++] = sink;
    sink->owned = true;
    if (sink->cb || sink->fmt != WKP_FMT_NONE)
        e->reads_records = true;
    if (sink->cb) {
        e->want_view = true;
        e->text_mask |= sink->cb_text;
    } else if (wkp__sink_text(sink) >= 0)
        e->text_mask |= 1u << wkp__sink_text(sink);
    return WKP_OK;
}

void wkp__request_stop(struct wkp_engine *e)
{
    atomic_store(&e->stop, 1);
}

void wkp_engine_stop(wkp_engine *e)
{
    if (e)
        wkp__request_stop(e);
}

const char *wkp_engine_last_error(const wkp_engine *e)
{
    return e ? e->err : "";
}

const char *wkp_engine_warnings(const wkp_engine *e)
{
    return e && e->warnings.p ? e->warnings.p : "";
}

uint64_t wkp_engine_counter(const wkp_engine *e, wkp_counter c)
{
    if (!e || c < 0 || c >= WKP_CNT__COUNT)
        return 0;
    return e->counters[c];
}

uint64_t wkp_engine_app_counter(const wkp_engine *e, const char *name)
{
    const char *dot = name ? strchr(name, '.') : NULL;
    if (!e || !dot)
        return 0;
    int d = wkp_dissector_find(name, (size_t)(dot - name));
    if (d < 0)
        return 0;
    const struct wkp_dissector *dis = wkp_dissectors[d];
    for (size_t k = 0; k < dis->ncounters && k < WKP_DIS_MAX_COUNTERS; k++)
        if (strcmp(dis->counter_names[k], dot + 1) == 0)
            return e->app_counters[d][k];
    return 0;
}

void wkp__flow_free(struct wkp_flow *f)
{
    if (!f)
        return;
    for (int t = 0; t < WKP_TXT__COUNT; t++)
        free(f->text_buf[t]); /* text[t] is NULL or this buffer */
    free(f->recs);
    free(f->stats);
    free(f->tun);
    free(f);
}

void wkp_engine_free(wkp_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nsinks; i++)
        wkp__sink_destroy(e->sinks[i]);
    free(e->sinks);
    wkp__close_captures(e);
    for (size_t i = 0; i < e->ncaps; i++) {
        free(e->caps[i].path);
        free(e->caps[i].damage);
    }
    free(e->caps);
    free(e->workers);
    wkp_buf_free(&e->warnings);
    wkp_custom_free(&e->cfg.custom);
    free(e->cfg.columns);
    wkp__columns_free(&e->cfg);
    free(e->cfg.filter);
    free(e->cfg.default_filter);
    free(e->cfg.app_options);
    wkp_sigdb_unref(e->cfg.sigdb);
    free(e->cfg.proto_dirs);
    free(e->cfg.routes);
    free(e->given_app_options);
    free(e->given_proto_dirs);
    free(e->given_routes);
    wkp_up_free(e->up);
    wkp_filter_free(e->filter);
    wkp_defrag_free(e->defrag);
    free(e);
}
