/* The merger: one thread that collects finished flows from every worker and
 * writes them to the sinks in stream order (SPEC D6).
 *
 * Order: by the position of the item that ended the flow, ties by the
 * flow's first packet. A record may be written once every worker's
 * watermark has reached its end position: no worker can still produce a
 * record that sorts before it. Records waiting for that sit in a binary
 * heap: the reorder window, bounded by how far the slowest worker lags (the
 * reader sends every worker a tick at least every WKP_TICK_PACKETS packets).
 * The merger also reports progress about every 200 ms. */
#include <stdlib.h>
#include <time.h>

#include "engine/internal.h"

/* Heap entries carry their sort key inline: comparing must not chase the
 * record pointers (at the end of a capture every open flow ends at once and
 * the heap holds all of them). */
struct hent {
    uint64_t end_pos, id;
    struct wkp_flow *f;
};

struct heap {
    struct hent *v;
    size_t n, cap;
};

static inline bool before(const struct hent *a, const struct hent *b)
{
    return a->end_pos != b->end_pos ? a->end_pos < b->end_pos : a->id < b->id;
}

static int heap_push(struct heap *h, struct wkp_flow *f)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        struct hent *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    struct hent x = {f->end_pos, f->id, f};
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&x, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = x;
    return 0;
}

static struct wkp_flow *heap_pop(struct heap *h)
{
    struct wkp_flow *top = h->v[0].f;
    struct hent last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void report(struct wkp_engine *e, double t0, uint64_t flows, bool done)
{
    if (!e->cfg.progress)
        return;
    wkp_progress p = {
        .bytes_read = atomic_load_explicit(&e->prog_bytes, memory_order_relaxed),
        .bytes_total = e->bytes_total,
        .packets_read = atomic_load_explicit(&e->prog_packets, memory_order_relaxed),
        .flows_written = flows,
        .elapsed_s = now_s() - t0,
        .done = done,
    };
    e->cfg.progress(&p, e->cfg.progress_user);
}

/* Write one record to every sink: 0 written, > 0 written and a callback
 * asked to stop (the record counts: its callback saw it), < 0 a write error. */
static int emit(struct wkp_engine *e, struct wkp_flow *f)
{
    int ret = 0;
    for (size_t i = 0; i < e->nsinks; i++) {
        int rc = wkp__sink_write(e->sinks[i], f);
        if (rc > 0) {
            wkp__request_stop(e);
            if (ret == 0)
                ret = 1;
        } else if (rc < 0) {
            if (e->run_status == WKP_OK)
                e->run_status = WKP_EIO;
            atomic_store(&e->stop, 1);
            ret = -1;
        }
    }
    return ret;
}

void *wkp__merger_main(void *arg)
{
    struct wkp_engine *e = arg;
    struct heap h = {0};
    uint64_t written = 0;
    double t0 = now_s(), last_report = t0;
    bool failed = false;
    for (;;) {
        uint64_t wm = UINT64_MAX;
        for (unsigned i = 0; i < e->nworkers; i++) {
            /* acquire: pairs with the worker's release store after it queued
             * the records this watermark lets out. */
            uint64_t x = atomic_load_explicit(&e->workers[i].watermark, memory_order_acquire);
            if (x < wm)
                wm = x;
        }
        bool moved = false;
        for (unsigned i = 0; i < e->nworkers; i++) {
            /* acquire: pairs with the worker's release push */
            struct wkp_flow *f =
                atomic_exchange_explicit(&e->workers[i].done, NULL, memory_order_acquire);
            if (!f)
                continue;
            for (struct wkp_flow *next; f; f = next) {
                next = f->qnext;
                if (failed || heap_push(&h, f) != 0) {
                    if (!failed && e->run_status == WKP_OK)
                        e->run_status = WKP_ENOMEM;
                    failed = true;
                    wkp__flow_free(f);
                }
            }
            moved = true;
        }
        while (h.n && h.v[0].end_pos <= wm) {
            struct wkp_flow *f = heap_pop(&h);
            if (!failed && !atomic_load_explicit(&e->stop, memory_order_relaxed)) {
                int rc = emit(e, f);
                if (rc >= 0)
                    written++;
                if (rc != 0)
                    failed = true; /* nothing more is written */
            }
            wkp__flow_free(f);
            moved = true;
        }
        double t = now_s();
        if (t - last_report >= 0.2) {
            report(e, t0, written, false);
            last_report = t;
        }
        if (wm == UINT64_MAX && h.n == 0) {
            /* Every worker has exited; a last splice above found nothing. */
            bool empty = true;
            for (unsigned i = 0; i < e->nworkers; i++)
                if (atomic_load_explicit(&e->workers[i].done, memory_order_acquire))
                    empty = false;
            if (empty)
                break;
            continue;
        }
        if (!moved) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    free(h.v);
    e->counters[WKP_CNT_FLOWS] = written;
    report(e, t0, written, true);
    return NULL;
}
