/* One run of the engine: wkp_engine_run.
 *
 * It expands directories into their files, opens and checks every capture
 * first (nothing is written if one is bad), puts them in capture-time order
 * when merging or given a directory (docs/design.md, "Several captures"),
 * opens the sinks, starts the merger and the workers, runs the reader
 * on the calling thread, joins everything, turns what the captures went
 * through into warnings (or errors with strict), and then commits or
 * removes the output files. Only this module starts threads. */
#include <dirent.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/internal.h"
#include "util/clock.h"
#include "util/futex.h"
#include "util/oneline.h"

/* The threads a run started, for joining them. */
struct run_threads {
    pthread_t merger, prefaulter;
    bool merger_up, prefaulter_up;
    unsigned started; /* workers[0, started) are running */
};

void wkp__close_captures(wkp_engine *e)
{
    for (size_t i = 0; i < e->ncaps; i++) {
        wkp_capfile_close(e->caps[i].cf);
        e->caps[i].cf = NULL;
    }
}

static void add_warning(wkp_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warning(wkp_engine *e, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    wkp_oneline(line, sizeof line); /* the list is one warning a line */
    wkp_buf_puts(&e->warnings, line);
    wkp_buf_putc(&e->warnings, '\n');
    wkp_buf_putc(&e->warnings, '\0');
    e->warnings.len--; /* keep it a C string without counting the NUL */
}

/* ---- the list of captures (docs/design.md, "Several captures") -------- */

/* The paths of a run, directories replaced by their files. */
struct pathlist {
    char **v;
    size_t n, cap;
    bool any_dir;
};

static void pathlist_free(struct pathlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static wkp_status pathlist_add(struct pathlist *l, const char *dir, const char *name)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return WKP_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    size_t dl = dir ? strlen(dir) : 0, nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (!p)
        return WKP_ENOMEM;
    if (dir) {
        memcpy(p, dir, dl);
        p[dl] = '/';
        dl += dl > 0 && dir[dl - 1] == '/' ? 0 : 1;
    }
    memcpy(p + dl, name, nl + 1);
    l->v[l->n++] = p;
    return WKP_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of dir whose name does not start with a dot, in name
 * order (capture-time order comes once every file is open). */
static wkp_status add_dir(wkp_engine *e, struct pathlist *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        wkp__set_error(e, "%s: cannot read the directory", dir);
        return WKP_EIO;
    }
    size_t from = l->n;
    wkp_status st = WKP_OK;
    struct dirent *de;
    while (st == WKP_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        st = pathlist_add(l, dir, de->d_name);
        struct stat sb;
        if (st == WKP_OK && (stat(l->v[l->n - 1], &sb) != 0 || !S_ISREG(sb.st_mode)))
            free(l->v[--l->n]);
    }
    closedir(d);
    if (st != WKP_OK) {
        wkp__set_error(e, "out of memory");
        return st;
    }
    if (l->n == from) {
        wkp__set_error(e, "%s: no capture file in the directory", dir);
        return WKP_EINVAL;
    }
    qsort(l->v + from, l->n - from, sizeof *l->v, cmp_str);
    return WKP_OK;
}

static wkp_status expand_paths(wkp_engine *e, const char *const *paths, size_t n,
                               struct pathlist *l)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i] ? paths[i] : "";
        struct stat sb;
        wkp_status st;
        if (!e->live && strcmp(p, "-") != 0 && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            l->any_dir = true;
            st = add_dir(e, l, p);
        } else {
            st = pathlist_add(l, NULL, p);
            if (st != WKP_OK)
                wkp__set_error(e, "out of memory");
        }
        if (st != WKP_OK)
            return st;
    }
    return WKP_OK;
}

/* Capture-time order: first packet's timestamp, then path, then the place
 * given (files without a packet last). */
static int cmp_capture_time(const void *a, const void *b)
{
    const struct wkp_capture_info *x = a, *y = b;
    if (x->first_ts != y->first_ts)
        return x->first_ts < y->first_ts ? -1 : 1;
    int c = strcmp(x->path, y->path);
    if (c != 0)
        return c;
    return x->given < y->given ? -1 : x->given > y->given;
}

/* Each capture's first timestamp (read ahead: next() hands the record out
 * again), and the list in that order. A failed read ahead sorts the capture
 * last; the failure comes again when it is read. */
static void order_by_time(wkp_engine *e)
{
    for (size_t i = 0; i < e->ncaps; i++) {
        struct wkp_capture_info *c = &e->caps[i];
        struct wkp_rec r;
        c->first_ts = wkp_capfile_peek(c->cf, &r, NULL) == 1 ? r.ts_ns : INT64_MAX;
    }
    qsort(e->caps, e->ncaps, sizeof *e->caps, cmp_capture_time);
}

/* Open and check every capture before anything is written. */
static wkp_status open_captures(wkp_engine *e, const char *const *paths, size_t n, wkp_errbuf *err)
{
    e->caps = calloc(n, sizeof *e->caps);
    if (!e->caps)
        return WKP_ENOMEM;
    e->ncaps = n;
    for (size_t i = 0; i < n; i++) {
        struct wkp_capture_info *c = &e->caps[i];
        c->path = strdup(paths[i] ? paths[i] : "");
        if (!c->path) {
            wkp__close_captures(e);
            return WKP_ENOMEM;
        }
        const char *slash = strrchr(c->path, '/');
        c->name = slash ? slash + 1 : c->path;
        wkp_status st =
            e->live      ? wkp_capfile_open_live(c->path, &e->live_cfg, &e->stop, &e->end_input,
                                                 &c->cf, err)
            : e->from_fd ? wkp_capfile_open_fd(e->input_fd, c->path, e->cfg.reader, &e->stop, &c->cf,
                                               err)
                         : wkp_capfile_open_stoppable(c->path, e->cfg.reader, &e->stop, &c->cf, err);
        if (st != WKP_OK) {
            if (st == WKP_ESTOPPED)
                wkp__set_error(e, WKP_STOPPED_MSG);
            else
                wkp__set_error(e, "%s", err->msg);
            wkp__close_captures(e);
            return st;
        }
        c->given = i;
        c->first_ts = INT64_MAX;
        c->ts_digits = wkp_capfile_ts_digits(c->cf);
        wkp_capfile_set_resync(c->cf, e->cfg.resync && !e->cfg.strict);
        if ((e->cfg.off_lo > 0 || e->cfg.off_hi != UINT64_MAX) &&
            (st = wkp_capfile_set_slice(c->cf, e->cfg.off_lo, e->cfg.off_hi, err)) != WKP_OK) {
            wkp__set_error(e, "%s", err->msg);
            wkp__close_captures(e);
            return st;
        }
        e->bytes_total += wkp_capfile_size(c->cf);
        if (e->filter &&
            wkp_filter_prepare_dlt(e->filter, wkp_capfile_first_dlt(c->cf), err) != WKP_OK) {
            wkp__set_error(e, "%s: %s", c->path, err->msg);
            wkp__close_captures(e);
            return WKP_EINVAL;
        }
    }
    return WKP_OK;
}

/* Open the sinks (temporary files). */
static wkp_status open_sinks(wkp_engine *e, wkp_errbuf *err)
{
    for (size_t i = 0; i < e->nsinks; i++) {
        e->sinks[i]->cfg = &e->cfg;
        e->sinks[i]->live = e->live;
        wkp_status st = wkp__sink_open(e->sinks[i], &e->stop, err);
        if (st != WKP_OK) {
            wkp__set_error(e, "%s", err->msg);
            for (size_t j = 0; j < i; j++)
                wkp__sink_close(e->sinks[j], false, err);
            wkp__close_captures(e);
            return st;
        }
    }
    return WKP_OK;
}

/* Who parses plain frames (docs/design.md, "Reader and workers"). Moving
 * the parse to the workers lowers the reader's cost per packet by about a
 * third but raises the workers' by more, so it pays only where the reader
 * is the bottleneck: several workers, each with a core, beside it. */
static void choose_parse_place(wkp_engine *e)
{
    bool workers = e->cfg.parse_in == WKP_PARSE_IN_WORKERS;
    if (e->cfg.parse_in == WKP_PARSE_IN_AUTO) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        workers = e->nworkers >= 2 && cpus > 0 && e->nworkers < (unsigned long)cpus;
    }
    e->quick_key = e->quick_ok && workers;
    bool pkt_terms = e->filter && wkp_filter_has_packet_terms(e->filter);
    e->worker_filter = e->quick_key && pkt_terms ? e->filter : NULL;
}

/* The prefaulter keeps each worker's stock of huge slabs faulted in
 * (util/slab.h), at idle priority: it runs when a CPU would otherwise
 * idle, and yields it as soon as any other thread wants it. */
static void *prefault_main(void *arg)
{
    wkp_engine *e = arg;
    struct sched_param none = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &none) != 0)
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    for (;;) {
        /* the bell before the stop: a stop rung after this read changes
         * the bell, so the wait below returns at once */
        uint32_t seen = atomic_load_explicit(&e->prefault_bell, memory_order_acquire);
        if (atomic_load_explicit(&e->prefault_stop, memory_order_acquire))
            return NULL;
        for (unsigned i = 0; i < e->nworkers; i++)
            wkp_slab_stock_fill(&e->workers[i].stock, &e->prefault_stop);
        wkp_futex_wait(&e->prefault_bell, seen, 1000);
    }
}

/* After the workers: stop the prefaulter, free the slabs it left ready. */
static void stop_prefaulter(wkp_engine *e, struct run_threads *t)
{
    if (!t->prefaulter_up)
        return;
    atomic_store_explicit(&e->prefault_stop, 1, memory_order_release);
    wkp_slab_bell_ring(&e->prefault_bell);
    pthread_join(t->prefaulter, NULL);
    t->prefaulter_up = false;
    for (unsigned i = 0; i < e->nworkers; i++)
        wkp_slab_stock_drain(&e->workers[i].stock);
}

/* Workers (each with its ring and hand-off), the merger and the
 * prefaulter. Whatever was started is in *t, also on failure. */
static wkp_status start_threads(wkp_engine *e, struct run_threads *t)
{
    /* The default count (one worker per online CPU) gives the reader no
     * core of its own. That pays when workers write records (a worker then
     * costs several times what the reader does per packet), not when no
     * sink reads records: a worker then costs about what the reader does,
     * and on 2 cores 1 worker beside the reader beat 2 (bench/README.md). */
    if (e->cfg.threads == 0 && !e->reads_records && e->nworkers > 1)
        e->nworkers--;
    choose_parse_place(e);
    e->workers = calloc(e->nworkers, sizeof *e->workers);
    wkp_status st = e->workers ? WKP_OK : WKP_ENOMEM;
    uint64_t share = e->cfg.max_flows ? (e->cfg.max_flows + e->nworkers - 1) / e->nworkers : 0;
    for (unsigned i = 0; st == WKP_OK && i < e->nworkers; i++) {
        struct wkp_worker *w = &e->workers[i];
        w->e = e;
        w->idx = i;
        w->max_flows = share;
        w->stock.bell = &e->prefault_bell;
        if (wkp_ring_init(&w->ring, e->cfg.ring_slots, WKP_ARENA_BYTES, &e->stop) != 0 ||
            wkp__handoff_init(w) != 0)
            st = WKP_ENOMEM;
        else
            w->ring.hungry = &e->hungry;
    }
    if (st != WKP_OK)
        return st;
    for (; t->started < e->nworkers; t->started++)
        if (pthread_create(&e->workers[t->started].thread, NULL, wkp__worker_main,
                           &e->workers[t->started]) != 0)
            return WKP_ENOMEM;
    if (pthread_create(&t->merger, NULL, wkp__merger_main, e) != 0)
        return WKP_ENOMEM;
    t->merger_up = true;
    /* without it the workers fault their slabs in themselves: no error */
    atomic_store(&e->prefault_stop, 0);
    t->prefaulter_up = pthread_create(&t->prefaulter, NULL, prefault_main, e) == 0;
    return WKP_OK;
}

static void join_threads(wkp_engine *e, struct run_threads *t)
{
    for (unsigned i = 0; i < t->started; i++)
        pthread_join(e->workers[i].thread, NULL);
    stop_prefaulter(e, t);
    if (t->merger_up)
        pthread_join(t->merger, NULL);
}

/* Add each worker's counters to the engine's and free what the worker
 * used. A worker that failed makes an OK run fail. */
static wkp_status collect_workers(wkp_engine *e, wkp_status st)
{
    for (unsigned i = 0; e->workers && i < e->nworkers; i++) {
        struct wkp_worker *w = &e->workers[i];
        e->counters[WKP_CNT_IN_FLOW] += w->st.in_flow + w->st.discarded;
        e->counters[WKP_CNT_RETRANSMISSION] += w->st.retrans_dropped;
        e->counters[WKP_CNT_ACK_FILTERED] += w->st.ack_filtered;
        e->counters[WKP_CNT_RST_FILTERED] += w->st.rst_filtered;
        e->counters[WKP_CNT_FLOW_FILTERED] += w->st.flow_filtered;
        e->counters[WKP_CNT_MALFORMED] += w->st.walk_failed;
        e->counters[WKP_CNT_FILTERED] += w->st.filtered;
        e->ts.delivered += w->st.ts.delivered;
        e->ts.dropped += w->st.ts.dropped;
        e->ts.overlap += w->st.ts.overlap;
        e->ts.gap_bytes += w->st.ts.gap_bytes;
        e->ts.gaps += w->st.ts.gaps;
        e->ts.ooo_segments += w->st.ts.ooo_segments;
        e->ts.alloc_failed += w->st.ts.alloc_failed;
        e->ts_streams += w->st.ts_streams;
        e->ts_refused += w->ts_budget.refused;
        e->sig.streams += w->sig.c.streams;
        e->sig.open_peak += w->sig.c.open_peak;
        e->sig.bytes += w->sig.c.bytes;
        e->sig.matches += w->sig.c.matches;
        e->sig.budget_stops += w->sig.c.budget_stops;
        e->sig.gap_stops += w->sig.c.gap_stops;
        e->evicted += w->st.evicted;
        e->up_layers += w->up.layers;
        e->up_capped += w->up.capped;
        for (unsigned d = 0; d < wkp_ndissectors; d++)
            for (unsigned k = 0; k < WKP_DIS_MAX_COUNTERS; k++)
                e->app_counters[d][k] += w->app.counters[d][k];
        if (w->failed && st == WKP_OK) {
            st = WKP_ENOMEM;
            wkp__set_error(e, "out of memory in a worker");
        }
        wkp_ring_fini(&w->ring);
        wkp__handoff_fini(w);
        wkp_buf_free(&w->scratch);
    }
    return st;
}

/* Why the run ended: a failure (reader, worker, merger) or, failing that, a
 * stop asked for by wkp_engine_stop() or a callback: every internal stop
 * comes with a failure status. *write_error: a sink failed to write, and
 * names itself when it is finished. */
static wkp_status run_outcome(wkp_engine *e, wkp_status st, bool *write_error)
{
    /* The reader's WKP_ESTOPPED only echoes the stop flag, which a failure
     * elsewhere may have raised: the cause is found below. */
    if (st == WKP_ESTOPPED)
        st = WKP_OK;
    st = collect_workers(e, st);
    *write_error = false;
    if (st == WKP_OK && e->run_status != WKP_OK) {
        st = e->run_status;
        if (st == WKP_EIO)
            *write_error = true;
        else
            wkp__set_error(e, "out of memory in the merger");
    }
    if (st == WKP_OK && atomic_load(&e->stop))
        st = WKP_ESTOPPED;
    if (st == WKP_ESTOPPED)
        wkp__set_error(e, WKP_STOPPED_MSG);
    return st;
}

/* Truncated captures: a warning, or an error with strict. */
static wkp_status check_truncated(wkp_engine *e)
{
    for (size_t i = 0; i < e->ncaps; i++) {
        const struct wkp_capture_info *c = &e->caps[i];
        if (!c->truncated)
            continue;
        if (e->cfg.strict) {
            wkp__set_error(e, "%s: capture cut short inside the record at offset %llu", c->path,
                           (unsigned long long)c->truncated_at);
            return WKP_EFORMAT;
        }
        add_warning(e,
                    "%s: capture cut short inside the record at offset %llu; analysed the "
                    "%llu packets before it",
                    c->path, (unsigned long long)c->truncated_at, (unsigned long long)c->packets);
    }
    return WKP_OK;
}

/* pcapng interfaces of c whose link type is not decoded: one warning each. */
static void warn_unsupported(wkp_engine *e, const struct wkp_capture_info *c)
{
    size_t nu = 0;
    const struct wkp_unsup_if *u = c->cf ? wkp_capfile_unsupported(c->cf, &nu) : NULL;
    for (size_t k = 0; k < nu; k++) {
        const char *name = pcap_datalink_val_to_name(u[k].dlt);
        add_warning(e,
                    "%s: pcapng interface %u of section %u (block at offset %llu) has link "
                    "type %d (%s), which wa1kpcap does not decode; its %llu packets are "
                    "counted as unsupported_link",
                    c->path, u[k].index, u[k].section, (unsigned long long)u[k].block_off, u[k].dlt,
                    name ? name : "unknown", (unsigned long long)u[k].packets);
    }
}

/* The damage met in c (docs/design.md, "Damaged captures"): one warning
 * per damaged range, or an error with strict. */
static wkp_status check_damage(wkp_engine *e, const struct wkp_capture_info *c)
{
    if ((c->ndamage > 0 || c->damage_more > 0) && e->cfg.strict) {
        wkp__set_error(e, "%s: damaged record at offset %llu (%s)", c->path,
                       (unsigned long long)(c->ndamage ? c->damage[0].off : 0),
                       c->ndamage ? c->damage[0].why : "?");
        return WKP_EFORMAT;
    }
    for (size_t k = 0; k < c->ndamage; k++) {
        const struct wkp_damage *d = &c->damage[k];
        if (d->resumed)
            add_warning(e, "%s: skipped %llu damaged bytes at offset %llu (%s); resumed at %llu",
                        c->path, (unsigned long long)d->len, (unsigned long long)d->off, d->why,
                        (unsigned long long)(d->off + d->len));
        else if (e->cfg.resync && c->cf && wkp_capfile_zero_copy(c->cf))
            add_warning(e,
                        "%s: damaged record at offset %llu (%s), and no readable record after "
                        "it: skipped the last %llu bytes",
                        c->path, (unsigned long long)d->off, d->why, (unsigned long long)d->len);
        else
            add_warning(e,
                        "%s: damaged record at offset %llu (%s): read stopped there; analysed "
                        "the %llu packets before it",
                        c->path, (unsigned long long)d->off, d->why,
                        (unsigned long long)c->packets);
    }
    if (c->damage_more > 0)
        add_warning(e, "%s: %llu more damaged byte ranges (%llu bytes) skipped", c->path,
                    (unsigned long long)c->damage_more, (unsigned long long)c->damage_more_bytes);
    return WKP_OK;
}

/* What the captures went through: truncation, then per capture its
 * undecoded interfaces and its damage. */
static wkp_status check_captures(wkp_engine *e)
{
    wkp_status st = check_truncated(e);
    for (size_t i = 0; st == WKP_OK && i < e->ncaps; i++) {
        warn_unsupported(e, &e->caps[i]);
        st = check_damage(e, &e->caps[i]);
    }
    return st;
}

/* Finish every sink, then commit or remove the output: renamed only if the
 * run succeeded, no stop came and every sink was written, flushed and
 * closed cleanly. A stop seen up to here discards the output. */
static wkp_status finish_sinks(wkp_engine *e, wkp_status st, bool write_error, wkp_errbuf *err)
{
    for (size_t i = 0; i < e->nsinks; i++) {
        wkp_status cs = wkp__sink_finish(e->sinks[i], st == WKP_OK, err);
        if (cs != WKP_OK && (st == WKP_OK || write_error)) {
            st = cs;
            write_error = false;
            e->write_failed = true;
            wkp__set_error(e, "%s", err->msg);
        }
    }
    if (st == WKP_OK && atomic_load(&e->stop)) {
        st = WKP_ESTOPPED;
        wkp__set_error(e, WKP_STOPPED_MSG);
    }
    for (size_t i = 0; i < e->nsinks; i++) {
        wkp_status cs = wkp__sink_commit(e->sinks[i], st == WKP_OK, err);
        if (cs != WKP_OK && st == WKP_OK) {
            st = cs;
            wkp__set_error(e, "%s", err->msg);
        }
    }
    return st;
}

static wkp_status run(wkp_engine *e, const char *const *paths, size_t n)
{
    if (!paths || n == 0) {
        wkp__set_error(e, "no capture file given");
        return WKP_EINVAL;
    }
    double t0 = wkp_clock_s();
    wkp_errbuf err = {{0}};
    struct pathlist pl = {0};
    wkp_status st = expand_paths(e, paths, n, &pl);
    if (st == WKP_OK && pl.n > 65535) {
        wkp__set_error(e, "more than 65535 capture files");
        st = WKP_EINVAL;
    }
    if (st == WKP_OK)
        st = open_captures(e, (const char *const *)pl.v, pl.n, &err);
    if (st == WKP_OK && (e->cfg.merge || pl.any_dir))
        order_by_time(e);
    pathlist_free(&pl);
    if (st == WKP_OK)
        st = open_sinks(e, &err);
    if (st != WKP_OK)
        return st;

    struct run_threads t = {.merger_up = false};
    st = start_threads(e, &t);
    if (st == WKP_OK) {
        st = wkp__reader_run(e);
    } else {
        wkp__set_error(e, "cannot start the engine's threads: %s", wkp_strerror(st));
        atomic_store(&e->stop, 1);
    }
    join_threads(e, &t);

    bool write_error;
    st = run_outcome(e, st, &write_error);
    if (st == WKP_OK)
        st = check_captures(e);
    st = finish_sinks(e, st, write_error, &err);
    if (e->live && e->ncaps == 1)
        e->live_stats = wkp_capfile_live_stats(e->caps[0].cf, &e->live_received,
                                               &e->live_dropped, &e->live_if_dropped);
    wkp__close_captures(e);
    e->wall_s = wkp_clock_s() - t0;
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
