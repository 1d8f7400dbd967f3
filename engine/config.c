/* The configuration: wkp_config_new's defaults and the setters. A setter
 * checks and stores its value; nothing is resolved until wkp_engine_new
 * copies the configuration. Any thread, one configuration at a time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/internal.h"
#include "signatures/cache.h"
#include "util/oneline.h"

/* Setters that only store a value. */
#define BOOL_SETTER(fn, field)                                                                     \
    wkp_status fn(wkp_config *cfg, bool on)                                                        \
    {                                                                                              \
        if (!cfg)                                                                                  \
            return WKP_EINVAL;                                                                     \
        cfg->field = on;                                                                           \
        return WKP_OK;                                                                             \
    }
#define U64_SETTER(fn, field)                                                                      \
    wkp_status fn(wkp_config *cfg, uint64_t on)                                                    \
    {                                                                                              \
        if (!cfg)                                                                                  \
            return WKP_EINVAL;                                                                     \
        cfg->field = on;                                                                           \
        return WKP_OK;                                                                             \
    }

wkp_status wkp_config_new(wkp_config **out)
{
    if (!out)
        return WKP_EINVAL;
    wkp_config *c = calloc(1, sizeof *c);
    if (!c)
        return WKP_ENOMEM;
    c->threads = 0;
    c->reader = WKP_READER_AUTO;
    c->tcp_timeout_ns = 300LL * 1000000000LL;
    c->udp_timeout_ns = 0;
    c->max_flows = 10000000;
    c->ring_slots = WKP_RING_SLOTS_DEFAULT;
    /* 2 x MSL (Linux TIME_WAIT): stray ACKs, FINs and RSTs after a close
     * still belong to the connection (multi.pcap has them 12-20 s late) */
    c->tcp_close_timeout_ns = 60LL * 1000000000LL;
    c->min_packets = 1;
    c->filter_retrans = true;
    c->sequences = true;
    c->reassembly = true;
    c->tcp_stream_limit = 0; /* per flow when a stream dissector claims it; all flows with --tcp-stream-limit */
    c->tcp_stream_budget = (uint64_t)512 << 20;
    c->sig_depth = WKP_SIG_DEFAULT_DEPTH;
    c->off_hi = UINT64_MAX;
    c->time_lo = INT64_MIN;
    c->time_hi = INT64_MAX;
    c->default_filter = strdup(WKP_DEFAULT_FILTER);
    if (!c->default_filter) {
        free(c);
        return WKP_ENOMEM;
    }
    *out = c;
    return WKP_OK;
}

void wkp_config_free(wkp_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->columns);
    free(cfg->filter);
    free(cfg->default_filter);
    free(cfg->app_options);
    free(cfg->proto_dirs);
    free(cfg->routes);
    free(cfg->sig_cache);
    wkp_custom_free(&cfg->custom);
    wkp_sigdb_unref(cfg->sigdb);
    free(cfg);
}

/* Append one line to a list kept as text (see proto_dirs, routes). */
static wkp_status append_line(char **list, const char *line)
{
    size_t old = *list ? strlen(*list) : 0, add = strlen(line);
    char *s = realloc(*list, old + add + 2);
    if (!s)
        return WKP_ENOMEM;
    memcpy(s + old, line, add);
    s[old + add] = '\n';
    s[old + add + 1] = '\0';
    *list = s;
    return WKP_OK;
}

__attribute__((format(printf, 3, 4))) static wkp_status config_error(wkp_errbuf *err, wkp_status st,
                                                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err) {
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        wkp_oneline(err->msg, sizeof err->msg); /* it may quote a path or a value */
    }
    va_end(ap);
    return st;
}

wkp_status wkp_config_add_protocols_dir(wkp_config *cfg, const char *dir, wkp_errbuf *err)
{
    struct stat st;
    if (!cfg || !dir || !*dir || strchr(dir, '\n'))
        return config_error(err, WKP_EINVAL, "%s", "protocols directory: expected a path");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return config_error(err, WKP_EINVAL, "%s: not a directory", dir);
    if (append_line(&cfg->proto_dirs, dir) != WKP_OK)
        return config_error(err, WKP_ENOMEM, "%s", "out of memory");
    return WKP_OK;
}

wkp_status wkp_config_add_route(wkp_config *cfg, const char *parent, uint64_t value,
                                const char *protocol, wkp_errbuf *err)
{
    if (!cfg || !parent || !*parent || !protocol || !*protocol || strpbrk(parent, "\t\n:=") ||
        strpbrk(protocol, "\t\n:="))
        return config_error(err, WKP_EINVAL, "%s", "route: expected a parent and a protocol name");
    char line[160];
    if (snprintf(line, sizeof line, "%s\t%llu\t%s", parent, (unsigned long long)value, protocol) >=
        (int)sizeof line)
        return config_error(err, WKP_EINVAL, "%s", "route: names too long");
    if (append_line(&cfg->routes, line) != WKP_OK)
        return config_error(err, WKP_ENOMEM, "%s", "out of memory");
    return WKP_OK;
}

wkp_status wkp_config_set_threads(wkp_config *cfg, unsigned n)
{
    if (!cfg || n > WKP_MAX_THREADS)
        return WKP_EINVAL;
    cfg->threads = n;
    return WKP_OK;
}

wkp_status wkp_config_set_reader(wkp_config *cfg, wkp_reader_kind k)
{
    if (!cfg || (k != WKP_READER_AUTO && k != WKP_READER_MMAP && k != WKP_READER_LIBPCAP))
        return WKP_EINVAL;
    cfg->reader = k;
    return WKP_OK;
}

wkp_status wkp_config_set_parse_in(wkp_config *cfg, wkp_parse_in where)
{
    if (!cfg || (where != WKP_PARSE_IN_AUTO && where != WKP_PARSE_IN_READER &&
                 where != WKP_PARSE_IN_WORKERS))
        return WKP_EINVAL;
    cfg->parse_in = where;
    return WKP_OK;
}

static wkp_status set_timeout(int64_t *dst, double s)
{
    /* NaN fails both comparisons; a year is plenty for an idle timeout. */
    if (!(s >= 0.0 && s <= 31536000.0))
        return WKP_EINVAL;
    *dst = (int64_t)(s * 1e9 + 0.5);
    return WKP_OK;
}

wkp_status wkp_config_set_tcp_timeout(wkp_config *cfg, double s)
{
    return cfg ? set_timeout(&cfg->tcp_timeout_ns, s) : WKP_EINVAL;
}

wkp_status wkp_config_set_udp_timeout(wkp_config *cfg, double s)
{
    return cfg ? set_timeout(&cfg->udp_timeout_ns, s) : WKP_EINVAL;
}

wkp_status wkp_config_set_tcp_close_timeout(wkp_config *cfg, double s)
{
    return cfg ? set_timeout(&cfg->tcp_close_timeout_ns, s) : WKP_EINVAL;
}

BOOL_SETTER(wkp_config_set_filter_retrans, filter_retrans)
BOOL_SETTER(wkp_config_set_filter_ack, filter_ack)
BOOL_SETTER(wkp_config_set_filter_rst, filter_rst)
BOOL_SETTER(wkp_config_set_sequences, sequences)

wkp_status wkp_config_set_tcp_reassembly(wkp_config *cfg, uint32_t limit, uint64_t budget)
{
    if (!cfg)
        return WKP_EINVAL;
    cfg->tcp_stream_limit = limit;
    cfg->tcp_stream_budget = budget;
    return WKP_OK;
}

wkp_status wkp_config_add_vxlan_port(wkp_config *cfg, uint16_t port)
{
    if (!cfg || port == 0 || cfg->parse.n_vxlan_ports >= WKP_MAX_VXLAN_PORTS)
        return WKP_EINVAL;
    cfg->parse.vxlan_ports[cfg->parse.n_vxlan_ports++] = port;
    return WKP_OK;
}

wkp_status wkp_config_set_reassembly(wkp_config *cfg, bool on)
{
    if (!cfg)
        return WKP_EINVAL;
    cfg->reassembly = on;
    return WKP_OK;
}

wkp_status wkp_config_set_compat(wkp_config *cfg, bool on)
{
    if (!cfg)
        return WKP_EINVAL;
    cfg->compat = on;
    if (on) {
        /* as the original: no IP reassembly, no TCP splitting or timeout,
         * its flow limit (docs/design.md, "Compatibility mode") */
        cfg->reassembly = false;
        cfg->tcp_timeout_ns = 0;
        cfg->tcp_close_timeout_ns = 0;
        cfg->max_flows = 100000;
    }
    return WKP_OK;
}

wkp_status wkp_config_set_app_layer(wkp_config *cfg, wkp_app_layer mode)
{
    if (!cfg || (mode != WKP_APP_FULL && mode != WKP_APP_PORT_ONLY && mode != WKP_APP_NONE))
        return WKP_EINVAL;
    cfg->app_layer = mode;
    return WKP_OK;
}

wkp_status wkp__set_string(char **dst, const char *v)
{
    char *c = NULL;
    if (v && *v && !(c = strdup(v)))
        return WKP_ENOMEM;
    free(*dst);
    *dst = c;
    return WKP_OK;
}

wkp_status wkp_config_set_filter(wkp_config *cfg, const char *expr)
{
    return cfg ? wkp__set_string(&cfg->filter, expr) : WKP_EINVAL;
}

wkp_status wkp_config_set_default_filter(wkp_config *cfg, const char *expr)
{
    return cfg ? wkp__set_string(&cfg->default_filter, expr) : WKP_EINVAL;
}

bool wkp_app_option_info(size_t i, const char **name, const char **help)
{
    for (unsigned d = 0; d < wkp_ndissectors; d++) {
        const struct wkp_dissector *dis = wkp_dissectors[d];
        if (i < dis->noptions) {
            if (name)
                *name = dis->options[i].name;
            if (help)
                *help = dis->options[i].help;
            return true;
        }
        i -= dis->noptions;
    }
    return false;
}

/* Options are kept as "name\tvalue\n" lines, appended: the engine reads
 * them in order, so a later line for a name wins. */
wkp_status wkp_config_set_app_option(wkp_config *cfg, const char *name, const char *value)
{
    if (!cfg || !name)
        return WKP_EINVAL;
    if (!value)
        value = "1";
    if (strpbrk(value, "\t\n"))
        return WKP_EINVAL;
    const char *known = NULL;
    for (size_t i = 0; wkp_app_option_info(i, &known, NULL); i++)
        if (strcmp(known, name) == 0)
            break;
        else
            known = NULL;
    if (!known)
        return WKP_EINVAL;
    size_t old = cfg->app_options ? strlen(cfg->app_options) : 0;
    size_t add = strlen(name) + strlen(value) + 2;
    char *s = realloc(cfg->app_options, old + add + 1);
    if (!s)
        return WKP_ENOMEM;
    snprintf(s + old, add + 1, "%s\t%s\n", name, value);
    cfg->app_options = s;
    return WKP_OK;
}

U64_SETTER(wkp_config_set_max_seq, max_seq)

U64_SETTER(wkp_config_set_min_packets, min_packets)

U64_SETTER(wkp_config_set_max_flows, max_flows)

wkp_status wkp_config_set_ring_slots(wkp_config *cfg, unsigned n)
{
    if (!cfg || n < 2 || n > (1u << 20) || (n & (n - 1)) != 0)
        return WKP_EINVAL;
    cfg->ring_slots = n;
    return WKP_OK;
}

BOOL_SETTER(wkp_config_set_strict, strict)
BOOL_SETTER(wkp_config_set_resync, resync)

BOOL_SETTER(wkp_config_set_discard, discard)

BOOL_SETTER(wkp_config_set_merge, merge)

wkp_status wkp_config_set_offsets(wkp_config *cfg, uint64_t start, uint64_t stop)
{
    if (!cfg || start > stop)
        return WKP_EINVAL;
    cfg->off_lo = start;
    cfg->off_hi = stop;
    return WKP_OK;
}

wkp_status wkp_config_set_time_window(wkp_config *cfg, int64_t start_ns, int64_t stop_ns)
{
    if (!cfg || start_ns > stop_ns)
        return WKP_EINVAL;
    cfg->time_lo = start_ns;
    cfg->time_hi = stop_ns;
    return WKP_OK;
}

wkp_status wkp_config_set_progress(wkp_config *cfg, wkp_progress_fn fn, void *user)
{
    if (!cfg)
        return WKP_EINVAL;
    cfg->progress = fn;
    cfg->progress_user = user;
    return WKP_OK;
}

wkp_status wkp_config_set_signatures(wkp_config *cfg, const char *path, wkp_errbuf *err)
{
    if (!cfg) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "wkp_config_set_signatures: NULL config");
        return WKP_EINVAL;
    }
    struct wkp_sigdb *db = NULL;
    if (path && *path) {
        char msg[sizeof err->msg], dflt[4096];
        const char *cache =
            cfg->sig_cache_set ? cfg->sig_cache : wkp_sigcache_default_dir(dflt, sizeof dflt);
        if (wkp_sigdb_load(path, cache, &db, msg, sizeof msg) != 0) {
            if (err)
                snprintf(err->msg, sizeof err->msg, "%s", msg);
            return WKP_EINVAL;
        }
    }
    wkp_sigdb_unref(cfg->sigdb);
    cfg->sigdb = db;
    return WKP_OK;
}

wkp_status wkp_config_set_signature_cache(wkp_config *cfg, const char *dir)
{
    if (!cfg)
        return WKP_EINVAL;
    wkp_status st = wkp__set_string(&cfg->sig_cache, dir);
    if (st == WKP_OK)
        cfg->sig_cache_set = true;
    return st;
}

wkp_status wkp_config_set_signature_depth(wkp_config *cfg, uint32_t bytes)
{
    if (!cfg || bytes == 0)
        return WKP_EINVAL;
    cfg->sig_depth = bytes;
    return WKP_OK;
}
