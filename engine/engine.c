/* The engine: configuration, run orchestration, counters and the summary.
 *
 * wkp_engine_run opens and checks every capture first (nothing is written if
 * one is bad), opens the sinks, starts the merger and the workers, runs the
 * reader on the calling thread, joins everything and then commits or removes
 * the output files. Only this module starts threads. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/columns.h"
#include "engine/internal.h"

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

/* ---- config ---- */

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
    c->ring_slots = 2048;
    /* 2 x MSL (Linux TIME_WAIT): stray ACKs, FINs and RSTs after a close
     * still belong to the connection (multi.pcap has them 12-20 s late) */
    c->tcp_close_timeout_ns = 60LL * 1000000000LL;
    c->min_packets = 1;
    c->filter_retrans = true;
    c->sequences = true;
    c->reassembly = true;
    c->tcp_stream_limit = 0; /* no consumer yet: on with --tcp-stream-limit */
    c->tcp_stream_budget = (uint64_t)512 << 20;
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
    wkp_custom_free(&cfg->custom);
    free(cfg);
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
        cfg->reassembly = false; /* D13: the original never reassembled */
        /* D13: no TCP splitting or timeout, the original's flow limit */
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

static wkp_status set_string(char **dst, const char *v)
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
    return cfg ? set_string(&cfg->filter, expr) : WKP_EINVAL;
}

wkp_status wkp_config_set_default_filter(wkp_config *cfg, const char *expr)
{
    return cfg ? set_string(&cfg->default_filter, expr) : WKP_EINVAL;
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

wkp_status wkp_config_set_progress(wkp_config *cfg, wkp_progress_fn fn, void *user)
{
    if (!cfg)
        return WKP_EINVAL;
    cfg->progress = fn;
    cfg->progress_user = user;
    return WKP_OK;
}

/* ---- engine ---- */

void wkp__set_error(struct wkp_engine *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err, sizeof e->err, fmt, ap);
    va_end(ap);
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
    memset(&e->cfg.custom, 0, sizeof e->cfg.custom);
    wkp_status cst = WKP_OK;
    if (wkp_custom_copy(&e->cfg.custom, &cfg->custom) != WKP_OK ||
        set_string(&e->cfg.columns, cfg->columns) != WKP_OK ||
        set_string(&e->cfg.filter, cfg->filter) != WKP_OK ||
        set_string(&e->cfg.default_filter, cfg->default_filter) != WKP_OK) {
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
    if (cst != WKP_OK) {
        wkp_engine_free(e);
        return cst;
    }
    unsigned n = cfg->threads;
    if (n == 0) {
        /* One worker per online CPU. With every feature on, a worker costs
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
    if (sink->cb)
        e->want_view = true;
    else if (wkp__sink_text(sink) >= 0)
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

static void close_captures(wkp_engine *e)
{
    for (size_t i = 0; i < e->ncaps; i++) {
        wkp_capfile_close(e->caps[i].cf);
        e->caps[i].cf = NULL;
    }
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void add_warning(wkp_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warning(wkp_engine *e, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    wkp_buf_puts(&e->warnings, line);
    wkp_buf_putc(&e->warnings, '\n');
    wkp_buf_putc(&e->warnings, '\0');
    e->warnings.len--; /* keep it a C string without counting the NUL */
}

static wkp_status run(wkp_engine *e, const char *const *paths, size_t n)
{
    if (!paths || n == 0 || n > 65535) {
        wkp__set_error(e, "no capture file given");
        return WKP_EINVAL;
    }
    double t0 = mono_s();
    wkp_errbuf err = {{0}};

    /* 1. Open and check every capture before anything is written. */
    e->caps = calloc(n, sizeof *e->caps);
    if (!e->caps)
        return WKP_ENOMEM;
    e->ncaps = n;
    for (size_t i = 0; i < n; i++) {
        struct wkp_capture_info *c = &e->caps[i];
        c->path = strdup(paths[i] ? paths[i] : "");
        if (!c->path) {
            close_captures(e);
            return WKP_ENOMEM;
        }
        const char *slash = strrchr(c->path, '/');
        c->name = slash ? slash + 1 : c->path;
        wkp_status st = wkp_capfile_open_stoppable(c->path, e->cfg.reader, &e->stop, &c->cf, &err);
        if (st != WKP_OK) {
            if (st == WKP_ESTOPPED)
                wkp__set_error(e, WKP_STOPPED_MSG);
            else
                wkp__set_error(e, "%s", err.msg);
            close_captures(e);
            return st;
        }
        c->ts_digits = wkp_capfile_ts_digits(c->cf);
        wkp_capfile_set_resync(c->cf, e->cfg.resync && !e->cfg.strict);
        e->bytes_total += wkp_capfile_size(c->cf);
        if (e->filter &&
            wkp_filter_prepare_dlt(e->filter, wkp_capfile_first_dlt(c->cf), &err) != WKP_OK) {
            wkp__set_error(e, "%s: %s", c->path, err.msg);
            close_captures(e);
            return WKP_EINVAL;
        }
    }

    /* 2. Open the sinks (temporary files). */
    for (size_t i = 0; i < e->nsinks; i++) {
        e->sinks[i]->cfg = &e->cfg;
        wkp_status st = wkp__sink_open(e->sinks[i], &e->stop, &err);
        if (st != WKP_OK) {
            wkp__set_error(e, "%s", err.msg);
            for (size_t j = 0; j < i; j++)
                wkp__sink_close(e->sinks[j], false, &err);
            close_captures(e);
            return st;
        }
    }

    /* 3. Workers and merger. */
    e->workers = calloc(e->nworkers, sizeof *e->workers);
    wkp_status st = e->workers ? WKP_OK : WKP_ENOMEM;
    unsigned started = 0;
    uint64_t share = e->cfg.max_flows ? (e->cfg.max_flows + e->nworkers - 1) / e->nworkers : 0;
    for (unsigned i = 0; st == WKP_OK && i < e->nworkers; i++) {
        struct wkp_worker *w = &e->workers[i];
        w->e = e;
        w->idx = i;
        w->max_flows = share;
        if (wkp_ring_init(&w->ring, e->cfg.ring_slots, WKP_ARENA_BYTES, &e->stop) != 0 ||
            wkp__handoff_init(w) != 0)
            st = WKP_ENOMEM;
    }
    pthread_t merger;
    bool merger_up = false;
    if (st == WKP_OK) {
        for (; started < e->nworkers; started++)
            if (pthread_create(&e->workers[started].thread, NULL, wkp__worker_main,
                               &e->workers[started]) != 0) {
                st = WKP_ENOMEM;
                break;
            }
        if (st == WKP_OK && pthread_create(&merger, NULL, wkp__merger_main, e) == 0)
            merger_up = true;
        else
            st = WKP_ENOMEM;
    }

    /* 4. Read. */
    if (st == WKP_OK) {
        st = wkp__reader_run(e);
    } else {
        wkp__set_error(e, "cannot start the engine's threads: %s", wkp_strerror(st));
        atomic_store(&e->stop, 1);
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(e->workers[i].thread, NULL);
    if (merger_up)
        pthread_join(merger, NULL);

    /* The reader's WKP_ESTOPPED only echoes the stop flag, which a failure
     * elsewhere may have raised: the cause is found below. */
    if (st == WKP_ESTOPPED)
        st = WKP_OK;
    for (unsigned i = 0; e->workers && i < e->nworkers; i++) {
        struct wkp_worker *w = &e->workers[i];
        e->counters[WKP_CNT_IN_FLOW] += w->st.in_flow + w->st.discarded;
        e->counters[WKP_CNT_RETRANSMISSION] += w->st.retrans_dropped;
        e->counters[WKP_CNT_ACK_FILTERED] += w->st.ack_filtered;
        e->counters[WKP_CNT_RST_FILTERED] += w->st.rst_filtered;
        e->counters[WKP_CNT_FLOW_FILTERED] += w->st.flow_filtered;
        e->ts.delivered += w->st.ts.delivered;
        e->ts.dropped += w->st.ts.dropped;
        e->ts.overlap += w->st.ts.overlap;
        e->ts.gap_bytes += w->st.ts.gap_bytes;
        e->ts.gaps += w->st.ts.gaps;
        e->ts.ooo_segments += w->st.ts.ooo_segments;
        e->ts.alloc_failed += w->st.ts.alloc_failed;
        e->ts_streams += w->st.ts_streams;
        e->ts_refused += w->ts_budget.refused;
        e->evicted += w->st.evicted;
        if (w->failed && st == WKP_OK) {
            st = WKP_ENOMEM;
            wkp__set_error(e, "out of memory in a worker");
        }
        wkp_ring_fini(&w->ring);
        wkp__handoff_fini(w);
        wkp_buf_free(&w->scratch);
    }
    /* Why the run ended: a failure (reader, worker, merger) or, failing
     * that, a stop asked for by wkp_engine_stop() or a callback: every
     * internal stop comes with a failure status. */
    bool write_error = false;
    if (st == WKP_OK && e->run_status != WKP_OK) {
        st = e->run_status;
        if (st == WKP_EIO)
            write_error = true; /* the failing sink names itself when it is finished */
        else
            wkp__set_error(e, "out of memory in the merger");
    }
    if (st == WKP_OK && atomic_load(&e->stop))
        st = WKP_ESTOPPED;
    if (st == WKP_ESTOPPED)
        wkp__set_error(e, WKP_STOPPED_MSG);

    /* 5. Truncated captures: a warning, or an error with strict. */
    for (size_t i = 0; st == WKP_OK && i < e->ncaps; i++) {
        struct wkp_capture_info *c = &e->caps[i];
        if (!c->truncated)
            continue;
        if (e->cfg.strict) {
            wkp__set_error(e, "%s: capture cut short inside the record at offset %llu", c->path,
                           (unsigned long long)c->truncated_at);
            st = WKP_EFORMAT;
        } else {
            add_warning(e,
                        "%s: capture cut short inside the record at offset %llu; analysed the "
                        "%llu packets before it",
                        c->path, (unsigned long long)c->truncated_at,
                        (unsigned long long)c->packets);
        }
    }

    /* Damaged captures (docs/design.md) and pcapng interfaces not decoded. */
    for (size_t i = 0; st == WKP_OK && i < e->ncaps; i++) {
        struct wkp_capture_info *c = &e->caps[i];
        size_t nu = 0;
        const struct wkp_unsup_if *u = c->cf ? wkp_capfile_unsupported(c->cf, &nu) : NULL;
        for (size_t k = 0; k < nu; k++) {
            const char *name = pcap_datalink_val_to_name(u[k].dlt);
            add_warning(e,
                        "%s: pcapng interface %u of section %u (block at offset %llu) has link "
                        "type %d (%s), which wa1kpcap does not decode; its %llu packets are "
                        "counted as unsupported_link",
                        c->path, u[k].index, u[k].section, (unsigned long long)u[k].block_off,
                        u[k].dlt, name ? name : "unknown", (unsigned long long)u[k].packets);
        }
        if ((c->ndamage > 0 || c->damage_more > 0) && e->cfg.strict) {
            wkp__set_error(e, "%s: damaged record at offset %llu (%s)", c->path,
                           (unsigned long long)(c->ndamage ? c->damage[0].off : 0),
                           c->ndamage ? c->damage[0].why : "?");
            st = WKP_EFORMAT;
            break;
        }
        for (size_t k = 0; k < c->ndamage; k++) {
            const struct wkp_damage *d = &c->damage[k];
            if (d->resumed)
                add_warning(e,
                            "%s: skipped %llu damaged bytes at offset %llu (%s); resumed at %llu",
                            c->path, (unsigned long long)d->len, (unsigned long long)d->off, d->why,
                            (unsigned long long)(d->off + d->len));
            else if (e->cfg.resync && c->cf && wkp_capfile_zero_copy(c->cf))
                add_warning(e,
                            "%s: damaged record at offset %llu (%s), and no readable record after "
                            "it: skipped the last %llu bytes",
                            c->path, (unsigned long long)d->off, d->why,
                            (unsigned long long)d->len);
            else
                add_warning(e,
                            "%s: damaged record at offset %llu (%s): read stopped there; analysed "
                            "the %llu packets before it",
                            c->path, (unsigned long long)d->off, d->why,
                            (unsigned long long)c->packets);
        }
        if (c->damage_more > 0)
            add_warning(e, "%s: %llu more damaged byte ranges (%llu bytes) skipped", c->path,
                        (unsigned long long)c->damage_more,
                        (unsigned long long)c->damage_more_bytes);
    }

    /* 6. Finish every sink, then commit or remove the output: renamed only
     * if the run succeeded, no stop came and every sink was written, flushed
     * and closed cleanly. A stop seen up to here discards the output. */
    for (size_t i = 0; i < e->nsinks; i++) {
        wkp_status cs = wkp__sink_finish(e->sinks[i], st == WKP_OK, &err);
        if (cs != WKP_OK && (st == WKP_OK || write_error)) {
            st = cs;
            write_error = false;
            e->write_failed = true;
            wkp__set_error(e, "%s", err.msg);
        }
    }
    if (st == WKP_OK && atomic_load(&e->stop)) {
        st = WKP_ESTOPPED;
        wkp__set_error(e, WKP_STOPPED_MSG);
    }
    for (size_t i = 0; i < e->nsinks; i++) {
        wkp_status cs = wkp__sink_commit(e->sinks[i], st == WKP_OK, &err);
        if (cs != WKP_OK && st == WKP_OK) {
            st = cs;
            wkp__set_error(e, "%s", err.msg);
        }
    }
    close_captures(e);
    e->wall_s = mono_s() - t0;
    return st;
}

wkp_status wkp_engine_run(wkp_engine *e, const char *const *paths, size_t n)
{
    if (!e)
        return WKP_EINVAL;
    if (e->ran) {
        wkp__set_error(e, "wkp_engine_run: an engine runs once");
        return WKP_ESTATE;
    }
    e->ran = true;
    e->err[0] = '\0';
    wkp_status st = run(e, paths, n);
    if (st != WKP_OK && !e->err[0])
        wkp__set_error(e, "%s", wkp_strerror(st));
    e->run_status = st;
    return st;
}

void wkp__flow_free(struct wkp_flow *f)
{
    if (!f)
        return;
    for (int t = 0; t < WKP_TXT__COUNT; t++)
        free(f->text[t]);
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
    close_captures(e);
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
    wkp_filter_free(e->filter);
    wkp_defrag_free(e->defrag);
    free(e);
}

/* ---- summary ---- */

static const char *const counter_names[WKP_CNT__COUNT] = {
    "packets_read",   "bytes_read",   "in_flow",         "filtered",        "flow_filtered",
    "retransmission", "ack_filtered", "rst_filtered",    "fragment_merged", "fragment_expired",
    "not_ip",         "malformed",    "flow_table_full", "flows",           "unsupported_link",
};

wkp_status wkp_engine_write_summary(const wkp_engine *e, const char *path, wkp_errbuf *err)
{
    if (!e || !path) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "wkp_engine_write_summary: NULL argument");
        return WKP_EINVAL;
    }
    struct wkp_buf b = {0};
    wkp_buf_puts(&b, "{\n  \"version\": \"" WKP_VERSION_STRING "\",\n  \"status\": ");
    /* what happened: "ok", "stopped", "write error" or the failure's
     * wkp_strerror text; "error" has the one-line message */
    wkp_buf_json_str(&b, !e->ran                   ? "not run"
                         : e->run_status == WKP_OK ? "ok"
                         : e->write_failed         ? "write error"
                                                   : wkp_strerror(e->run_status));
    wkp_buf_puts(&b, ",\n  \"error\": ");
    if (e->ran && e->run_status != WKP_OK)
        wkp_buf_json_str(&b, e->err);
    else
        wkp_buf_puts(&b, "null");
    wkp_buf_puts(&b, ",\n  \"options\": {\"threads\": ");
    wkp_buf_u64(&b, e->nworkers);
    wkp_buf_puts(&b, ", \"reader\": ");
    wkp_buf_json_str(&b, e->cfg.reader == WKP_READER_MMAP      ? "mmap"
                         : e->cfg.reader == WKP_READER_LIBPCAP ? "libpcap"
                                                               : "auto");
    wkp_buf_puts(&b, ", \"tcp_timeout_ns\": ");
    wkp_buf_i64(&b, e->cfg.tcp_timeout_ns);
    wkp_buf_puts(&b, ", \"udp_timeout_ns\": ");
    wkp_buf_i64(&b, e->cfg.udp_timeout_ns);
    wkp_buf_puts(&b, ", \"max_flows\": ");
    wkp_buf_u64(&b, e->cfg.max_flows);
    wkp_buf_puts(&b, ", \"ring_slots\": ");
    wkp_buf_u64(&b, e->cfg.ring_slots);
    wkp_buf_puts(&b, ", \"strict\": ");
    wkp_buf_puts(&b, e->cfg.strict ? "true" : "false");
    wkp_buf_puts(&b, ", \"app_layer\": ");
    wkp_buf_json_str(&b, e->cfg.app_layer == WKP_APP_NONE        ? "none"
                         : e->cfg.app_layer == WKP_APP_PORT_ONLY ? "port_only"
                                                                 : "full");
    wkp_buf_puts(&b, ", \"compat\": ");
    wkp_buf_puts(&b, e->cfg.compat ? "true" : "false");
    wkp_buf_puts(&b, ", \"filter_retrans\": ");
    wkp_buf_puts(&b, e->cfg.filter_retrans ? "true" : "false");
    wkp_buf_puts(&b, ", \"max_seq\": ");
    wkp_buf_u64(&b, e->cfg.max_seq);
    wkp_buf_puts(&b, ", \"reassembly\": ");
    wkp_buf_puts(&b, e->cfg.reassembly ? "true" : "false");
    wkp_buf_puts(&b, ", \"default_filter\": ");
    if (e->cfg.default_filter)
        wkp_buf_json_str(&b, e->cfg.default_filter);
    else
        wkp_buf_puts(&b, "null");
    wkp_buf_puts(&b, ", \"filter\": ");
    if (e->cfg.filter)
        wkp_buf_json_str(&b, e->cfg.filter);
    else
        wkp_buf_puts(&b, "null");
    wkp_buf_puts(&b, "},\n  \"threads\": ");
    wkp_buf_u64(&b, e->nworkers);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.6f", e->wall_s);
    wkp_buf_puts(&b, ",\n  \"wall_seconds\": ");
    wkp_buf_puts(&b, tmp);
    wkp_buf_puts(&b, ",\n  \"packets\": {");
    for (int i = 0; i < WKP_CNT__COUNT; i++) {
        if (i == WKP_CNT_BYTES_READ || i == WKP_CNT_FLOWS)
            continue;
        wkp_buf_puts(&b, i ? ", \"" : "\"");
        wkp_buf_puts(&b, counter_names[i]);
        wkp_buf_puts(&b, "\": ");
        wkp_buf_u64(&b, e->counters[i]);
    }
    wkp_buf_puts(&b, "},\n  \"malformed_by_layer\": {");
    for (int i = 1; i < WKP_ANOM__COUNT; i++) {
        wkp_buf_puts(&b, i > 1 ? ", \"" : "\"");
        wkp_buf_puts(&b, wkp_anom_names[i]);
        wkp_buf_puts(&b, "\": ");
        wkp_buf_u64(&b, e->malformed_by[i]);
    }
    wkp_buf_puts(&b, "},\n  \"bytes_read\": ");
    wkp_buf_u64(&b, e->counters[WKP_CNT_BYTES_READ]);
    wkp_buf_puts(&b, ",\n  \"flows\": ");
    wkp_buf_u64(&b, e->counters[WKP_CNT_FLOWS]);
    wkp_buf_puts(&b, ",\n  \"flows_evicted\": ");
    wkp_buf_u64(&b, e->evicted);
    wkp_buf_puts(&b, ",\n  \"tcp_reassembly\": {\"limit_per_direction\": ");
    wkp_buf_u64(&b, e->cfg.tcp_stream_limit);
    wkp_buf_puts(&b, ", \"directions\": ");
    wkp_buf_u64(&b, e->ts_streams);
    wkp_buf_puts(&b, ", \"bytes_in_order\": ");
    wkp_buf_u64(&b, e->ts.delivered);
    wkp_buf_puts(&b, ", \"bytes_not_kept\": ");
    wkp_buf_u64(&b, e->ts.dropped);
    wkp_buf_puts(&b, ", \"overlap_bytes\": ");
    wkp_buf_u64(&b, e->ts.overlap);
    wkp_buf_puts(&b, ", \"gaps\": ");
    wkp_buf_u64(&b, e->ts.gaps);
    wkp_buf_puts(&b, ", \"gap_bytes\": ");
    wkp_buf_u64(&b, e->ts.gap_bytes);
    wkp_buf_puts(&b, ", \"out_of_order_segments\": ");
    wkp_buf_u64(&b, e->ts.ooo_segments);
    wkp_buf_puts(&b, ", \"buffer_refusals\": ");
    wkp_buf_u64(&b, e->ts.alloc_failed);
    wkp_buf_puts(&b, "}");
    wkp_buf_puts(&b, ",\n  \"ip_reassembly\": {\"datagrams\": ");
    wkp_buf_u64(&b, e->defrag_stats.datagrams_done);
    wkp_buf_puts(&b, ", \"fragments_expired\": ");
    wkp_buf_u64(&b, e->defrag_stats.frags_expired);
    wkp_buf_puts(&b, ", \"fragments_evicted\": ");
    wkp_buf_u64(&b, e->defrag_stats.frags_evicted);
    wkp_buf_puts(&b, ", \"fragments_oversized\": ");
    wkp_buf_u64(&b, e->defrag_stats.frags_oversized);
    wkp_buf_puts(&b, ", \"fragments_invalid\": ");
    wkp_buf_u64(&b, e->defrag_stats.frags_invalid);
    wkp_buf_puts(&b, "}");
    wkp_buf_puts(&b, ",\n  \"files\": [");
    for (size_t i = 0; i < e->ncaps; i++) {
        const struct wkp_capture_info *c = &e->caps[i];
        wkp_buf_puts(&b, i ? ",\n    {\"path\": " : "\n    {\"path\": ");
        wkp_buf_json_str(&b, c->path);
        wkp_buf_puts(&b, ", \"packets\": ");
        wkp_buf_u64(&b, c->packets);
        wkp_buf_puts(&b, ", \"truncated_at\": ");
        if (c->truncated)
            wkp_buf_u64(&b, c->truncated_at);
        else
            wkp_buf_puts(&b, "null");
        wkp_buf_puts(&b, ", \"damaged\": [");
        for (size_t k = 0; k < c->ndamage; k++) {
            const struct wkp_damage *d = &c->damage[k];
            wkp_buf_puts(&b, k ? ", {\"offset\": " : "{\"offset\": ");
            wkp_buf_u64(&b, d->off);
            wkp_buf_puts(&b, ", \"length\": ");
            if (d->len == UINT64_MAX)
                wkp_buf_puts(&b, "null");
            else
                wkp_buf_u64(&b, d->len);
            wkp_buf_puts(&b, d->resumed ? ", \"resumed\": true, \"reason\": "
                                        : ", \"resumed\": false, \"reason\": ");
            wkp_buf_json_str(&b, d->why);
            wkp_buf_putc(&b, '}');
        }
        wkp_buf_puts(&b, "], \"damaged_unlisted\": ");
        wkp_buf_u64(&b, c->damage_more);
        wkp_buf_puts(&b, ", \"damaged_bytes\": ");
        uint64_t db = c->damage_more_bytes;
        for (size_t k = 0; k < c->ndamage; k++)
            db += c->damage[k].len == UINT64_MAX ? 0 : c->damage[k].len;
        wkp_buf_u64(&b, db);
        wkp_buf_putc(&b, '}');
    }
    wkp_buf_puts(&b, e->ncaps ? "\n  ],\n  \"warnings\": [" : "],\n  \"warnings\": [");
    const char *w = wkp_engine_warnings(e);
    int first = 1;
    while (*w) {
        const char *nl = strchr(w, '\n');
        size_t len = nl ? (size_t)(nl - w) : strlen(w);
        char *line = strndup(w, len);
        if (line) {
            wkp_buf_puts(&b, first ? "" : ", ");
            wkp_buf_json_str(&b, line);
            free(line);
            first = 0;
        }
        w += len + (nl ? 1 : 0);
    }
    wkp_buf_puts(&b, "]\n}\n");
    if (b.oom) {
        wkp_buf_free(&b);
        if (err)
            snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
        return WKP_ENOMEM;
    }
    /* every step checked, stdout included: the first error names the file */
    bool out = strcmp(path, "-") == 0;
    FILE *fp = out ? stdout : fopen(path, "w");
    int eno = fp ? 0 : errno;
    if (fp && fwrite(b.p, 1, b.len, fp) != b.len)
        eno = errno;
    if (fp && fflush(fp) != 0 && !eno)
        eno = errno;
    if (fp && !out && fclose(fp) != 0 && !eno)
        eno = errno;
    wkp_buf_free(&b);
    if (eno || !fp) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "%s: write error: %s", path,
                     strerror(eno ? eno : EIO));
        return WKP_EIO;
    }
    return WKP_OK;
}
