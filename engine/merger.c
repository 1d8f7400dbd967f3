/* The hand-off and the merger. Workers queue finished flows (already
 * serialised) on bounded single-producer single-consumer queues; one merger
 * thread takes them and writes them to the sinks in stream order (docs/design.md).
 *
 * Order: by the position of the item that ended the flow, ties by the
 * flow's first packet ordinal (its id, unique in a run). Each worker queues
 * its records in that order: flows ended at one position are ended in id
 * order (worker.c sorts a flush or an expiry sweep) or staged and sorted
 * (a packet may end two: its own idle flow and an evicted one). The merger
 * is a k-way merge over the queue heads: it writes the smallest head H once
 * every worker whose queue is empty has a watermark >= H's end position. A
 * worker with a non-empty queue needs no watermark: its head is >= H and
 * all it queues later sorts after its head.
 *
 * Bound: a worker queues at most handoff_flows records and, beyond the
 * first, handoff_bytes of their text; when full it waits for the merger.
 * So a slow sink (a callback taking 100 us) slows the run instead of
 * growing memory, and a flush of millions of flows streams out.
 *
 * No deadlock: docs/design.md ("Bounded hand-off") has the argument. In
 * short, a full queue is never empty, so it never holds the merger back,
 * and a worker that waits for input takes the reader's last fully
 * dispatched position as its watermark (the reader publishes it before it
 * sleeps on a full ring), so it never holds the merger back either.
 *
 * The merger also reports progress about every 200 ms. */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/clock.h"

#define HANDOFF_FLOWS 256          /* per worker; a power of two */
#define HANDOFF_BYTES (4ull << 20) /* per worker, of record text */

/* The reader is about to sleep on a full ring: publish every ring, then
 * the position up to which every item has been dispatched, then wake
 * sleeping workers so that idle ones take it as their watermark. */
static void reader_blocked(void *arg)
{
    struct wkp_engine *e = arg;
    uint64_t top = 0;
    uint8_t top_kind = WKP_ITEM_PACKET;
    bool any = false;
    for (unsigned i = 0; i < e->nworkers; i++) {
        struct wkp_ring *r = &e->workers[i].ring;
        uint64_t pos;
        uint8_t kind;
        wkp_ring_publish(r);
        if (wkp_ring_last(r, &pos, &kind) && (!any || pos > top)) {
            top = pos;
            top_kind = kind;
            any = true;
        }
    }
    if (!any)
        return;
    if (top_kind != WKP_ITEM_PACKET && top_kind != WKP_ITEM_RAW && top_kind != WKP_ITEM_ARP) {
        /* A tick or flush goes to every ring in turn: unless every ring
         * has it, it is only partly sent and everything before it is. */
        for (unsigned i = 0; i < e->nworkers; i++) {
            uint64_t pos;
            uint8_t kind;
            if (!wkp_ring_last(&e->workers[i].ring, &pos, &kind) || pos != top) {
                top--;
                break;
            }
        }
    }
    if (top > atomic_load_explicit(&e->sent_pos, memory_order_relaxed))
        /* release: pairs with the worker's acquire in wkp__handoff_idle;
         * the ring heads published above are visible first. */
        atomic_store_explicit(&e->sent_pos, top, memory_order_release);
    for (unsigned i = 0; i < e->nworkers; i++)
        wkp_ring_publish_wake(&e->workers[i].ring);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    return *end || x == 0 ? dflt : (uint64_t)x;
}

int wkp__handoff_init(struct wkp_worker *w)
{
    struct wkp_engine *e = w->e;
    if (w->idx == 0) {
        /* Test hooks: tiny bounds force constant back-pressure. */
        uint64_t n = env_u64("WKP_HANDOFF_FLOWS", HANDOFF_FLOWS);
        uint32_t p2 = 1;
        while (p2 < n && p2 < (1u << 20))
            p2 <<= 1;
        e->handoff_flows = p2;
        e->handoff_bytes = env_u64("WKP_HANDOFF_BYTES", HANDOFF_BYTES);
        e->count_live = getenv("WKP_HANDOFF_FLOWS") || getenv("WKP_HANDOFF_BYTES");
        atomic_store(&e->sent_pos, 0);
        atomic_store(&e->flows_live, 0);
        atomic_store(&e->flows_live_peak, 0);
    }
    w->ring.on_block = reader_blocked;
    w->ring.on_block_arg = e;
    return wkp_flowq_init(&w->doneq, e->handoff_flows, e->handoff_bytes, &e->stop, &e->merger_wake,
                          &e->merger_sleeping);
}

static void record_gone(struct wkp_engine *e, struct wkp_flow *f)
{
    wkp__flow_free(f);
    if (e->count_live)
        atomic_fetch_sub_explicit(&e->flows_live, 1, memory_order_relaxed);
}

/* The list holds at most the records in flight at once (the queue's
 * bound), so it stays small. */
void wkp__record_back(struct wkp_engine *e, struct wkp_worker *w, struct wkp_flow *f)
{
    for (int t = 0; t < WKP_TXT__COUNT; t++) {
        f->text[t] = NULL;
        if (f->text_cap[t] > WKP_TEXT_KEEP) {
            free(f->text_buf[t]);
            f->text_buf[t] = NULL;
            f->text_cap[t] = 0;
        }
    }
    free(f->recs);
    free(f->stats);
    free(f->tun);
    struct wkp_flow *h = atomic_load_explicit(&w->back, memory_order_relaxed);
    do
        f->next_free = h;
    /* release: pairs with the worker's acquire exchange in wkp__record_new;
     * the record's emptying above is done before the worker sees it. */
    while (!atomic_compare_exchange_weak_explicit(&w->back, &h, f, memory_order_release,
                                                  memory_order_relaxed));
    if (e->count_live)
        atomic_fetch_sub_explicit(&e->flows_live, 1, memory_order_relaxed);
}

struct wkp_flow *wkp__record_new(struct wkp_worker *w)
{
    struct wkp_flow *f = w->spare;
    if (!f)
        /* acquire: pairs with the merger's release in wkp__record_back */
        f = atomic_exchange_explicit(&w->back, NULL, memory_order_acquire);
    if (!f)
        return calloc(1, sizeof *f);
    w->spare = f->next_free;
    char *buf[WKP_TXT__COUNT];
    size_t cap[WKP_TXT__COUNT];
    memcpy(buf, f->text_buf, sizeof buf);
    memcpy(cap, f->text_cap, sizeof cap);
    memset(f, 0, sizeof *f);
    memcpy(f->text_buf, buf, sizeof buf);
    memcpy(f->text_cap, cap, sizeof cap);
    return f;
}

char *wkp__text_room(struct wkp_flow *f, int t, size_t len)
{
    size_t need = len ? len : 1;
    if (f->text_cap[t] < need) {
        /* whole KiB: little slack in the records kept for reuse; growing
         * is a free and a malloc on this thread, its own arena */
        size_t cap = (need + 1023) / 1024 * 1024;
        free(f->text_buf[t]);
        f->text_cap[t] = 0;
        if (!(f->text_buf[t] = malloc(cap)))
            return NULL;
        f->text_cap[t] = cap;
    }
    return f->text[t] = f->text_buf[t];
}

static void free_list(struct wkp_flow *f)
{
    while (f) {
        struct wkp_flow *next = f->next_free;
        for (int t = 0; t < WKP_TXT__COUNT; t++)
            free(f->text_buf[t]);
        free(f);
        f = next;
    }
}

void wkp__handoff_fini(struct wkp_worker *w)
{
    if (w->doneq.slots) {
        const struct wkp_flowq_slot *s;
        while ((s = wkp_flowq_peek(&w->doneq)) != NULL) {
            struct wkp_flow *f = s->f;
            wkp_flowq_pop(&w->doneq);
            record_gone(w->e, f);
        }
    }
    for (unsigned i = 0; i < w->nstage; i++)
        record_gone(w->e, w->stage[i]);
    free(w->stage);
    w->stage = NULL;
    w->nstage = w->stage_cap = 0;
    wkp_flowq_fini(&w->doneq);
    /* the threads have joined: nothing pushes any more */
    free_list(w->spare);
    w->spare = NULL;
    free_list(atomic_exchange(&w->back, NULL));
}

static uint64_t record_bytes(const struct wkp_flow *f)
{
    uint64_t b = sizeof *f + f->nrecs * sizeof *f->recs + (f->stats ? sizeof *f->stats : 0);
    for (int i = 0; i < WKP_TXT__COUNT; i++)
        b += f->text_len[i];
    return b;
}

void wkp__handoff_drain(struct wkp_worker *w)
{
    for (unsigned i = 0; i < w->nstage; i++) {
        struct wkp_flow *f = w->stage[i];
        struct wkp_flowq_slot s = {f->end_pos, f->id, f, record_bytes(f)};
        if (wkp_flowq_try_push(&w->doneq, &s))
            continue;
        /* Wait offline: another worker's grace period (it reclaims its
         * table's entries) must not wait for us while we wait for the
         * merger, which may be waiting for that worker. We hold no
         * reference another thread could free: our entries are ours. */
        rcu_thread_offline();
        bool queued = wkp_flowq_push(&w->doneq, &s);
        rcu_thread_online();
        if (!queued)
            record_gone(w->e, f); /* stopped while waiting: nothing more is written */
    }
    w->nstage = 0;
}

void wkp__handoff_flow(struct wkp_worker *w, struct wkp_flow *f)
{
    struct wkp_engine *e = w->e;
    if (e->count_live) {
        uint64_t live = atomic_fetch_add_explicit(&e->flows_live, 1, memory_order_relaxed) + 1;
        uint64_t peak = atomic_load_explicit(&e->flows_live_peak, memory_order_relaxed);
        while (live > peak &&
               !atomic_compare_exchange_weak_explicit(&e->flows_live_peak, &peak, live,
                                                      memory_order_relaxed, memory_order_relaxed))
            ;
    }
    if (w->nstage && w->stage[0]->end_pos != f->end_pos)
        wkp__handoff_drain(w);
    if (w->nstage == w->stage_cap) {
        unsigned cap = w->stage_cap ? w->stage_cap * 2 : 4;
        struct wkp_flow **v = realloc(w->stage, cap * sizeof *v);
        if (!v) {
            /* out of memory: the run fails and writes nothing */
            w->failed = 1;
            atomic_store(&e->stop, 1);
            record_gone(e, f);
            return;
        }
        w->stage = v;
        w->stage_cap = cap;
    }
    /* insertion by id: a position ends few flows outside a sorted sweep */
    unsigned i = w->nstage++;
    while (i > 0 && w->stage[i - 1]->id > f->id) {
        w->stage[i] = w->stage[i - 1];
        i--;
    }
    w->stage[i] = f;
}

void wkp__handoff_idle(struct wkp_worker *w)
{
    /* acquire: pairs with the reader's release in reader_blocked; every
     * item up to r is in our ring by now. */
    uint64_t r = atomic_load_explicit(&w->e->sent_pos, memory_order_acquire);
    if (r <= atomic_load_explicit(&w->watermark, memory_order_relaxed))
        return;
    uint32_t first;
    if (wkp_ring_peek(&w->ring, 1, &first) != 0)
        return; /* work arrived: the next burst moves the watermark */
    /* release: pairs with the merger's acquire load (nothing new queued) */
    atomic_store_explicit(&w->watermark, r, memory_order_release);
}

/* Flows ended with no sink (the workers count them, see end_flow). */
static uint64_t unwritten(const struct wkp_engine *e)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < e->nworkers; i++)
        n += atomic_load_explicit(&e->workers[i].unwritten, memory_order_relaxed);
    return n;
}

static void report(struct wkp_engine *e, double t0, uint64_t flows, bool done)
{
    if (!e->cfg.progress)
        return;
    flows += unwritten(e);
    wkp_progress p = {
        .struct_size = sizeof p,
        .bytes_read = atomic_load_explicit(&e->prog_bytes, memory_order_relaxed),
        .bytes_total = e->bytes_total,
        .packets_read = atomic_load_explicit(&e->prog_packets, memory_order_relaxed),
        .flows_written = flows,
        .elapsed_s = wkp_clock_s() - t0,
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

/* The next record that may be written, with the queue it heads; NULL if
 * none may be yet. *finished: every worker is done and every queue empty. */
static const struct wkp_flowq_slot *next_record(struct wkp_engine *e, unsigned *from,
                                                bool *finished)
{
    const struct wkp_flowq_slot *best = NULL;
    uint64_t limit = UINT64_MAX; /* lowest watermark among empty queues */
    bool all_done = true;
    for (unsigned i = 0; i < e->nworkers; i++) {
        struct wkp_worker *w = &e->workers[i];
        /* acquire: pairs with the worker's release store after it queued
         * every record this watermark covers. Loaded before the queue is
         * looked at: an empty queue then means those were all taken. */
        uint64_t wm = atomic_load_explicit(&w->watermark, memory_order_acquire);
        const struct wkp_flowq_slot *s = wkp_flowq_peek(&w->doneq);
        if (s) {
            all_done = false;
            if (!best || s->end_pos < best->end_pos ||
                (s->end_pos == best->end_pos && s->id < best->id)) {
                best = s;
                *from = i;
            }
        } else {
            if (wm != UINT64_MAX)
                all_done = false;
            if (wm < limit)
                limit = wm;
        }
    }
    *finished = all_done;
    return best && best->end_pos <= limit ? best : NULL;
}

void *wkp__merger_main(void *arg)
{
    struct wkp_engine *e = arg;
    uint64_t written = 0, taken = 0;
    double t0 = wkp_clock_s(), last_report = t0;
    bool failed = false, finished = false;
    while (!finished) {
        bool moved = false;
        const struct wkp_flowq_slot *s;
        unsigned from = 0;
        while ((s = next_record(e, &from, &finished)) != NULL) {
            struct wkp_flow *f = s->f;
            wkp_flowq_pop(&e->workers[from].doneq);
            if (!failed && !atomic_load_explicit(&e->stop, memory_order_relaxed)) {
                int rc = emit(e, f);
                if (rc >= 0 && !f->arp_row)
                    written++;
                if (rc != 0)
                    failed = true; /* nothing more is written */
            }
            wkp__record_back(e, &e->workers[from], f);
            moved = true;
            if ((++taken & 255) == 0)
                break; /* let progress be reported */
        }
        double t = wkp_clock_s();
        if (t - last_report >= 0.2) {
            report(e, t0, written, false);
            last_report = t;
        }
        if (!moved && !finished) {
            /* Woken by a worker whose queue got half full or that waits on
             * a full one; else the watermarks are looked at again in 1 ms. */
            uint32_t seq = atomic_load(&e->merger_wake);
            atomic_store(&e->merger_sleeping, 1);
            wkp_futex_wait(&e->merger_wake, seq, 1);
            atomic_store_explicit(&e->merger_sleeping, 0, memory_order_relaxed);
        }
    }
    e->counters[WKP_CNT_FLOWS] = written + unwritten(e);
    report(e, t0, written, true);
    return NULL;
}
