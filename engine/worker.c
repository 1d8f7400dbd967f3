/* Workers: each owns one flow table and consumes one reader -> worker ring.
 *
 * A worker takes items in bursts: packets update their flow (created on
 * first sight, keyed canonically, oriented by the packet that created it);
 * ticks expire flows idle longer than their timeout; a flush ends every flow
 * at the end of a capture. An ended flow becomes a struct wkp_flow record,
 * serialised here, and is queued for the merger. After each burst the worker
 * publishes its watermark (the position of the last item it processed) and
 * passes a QSBR quiescent state. No other thread touches the table.
 *
 * Determinism: every decision depends only on the packets of the flow and on
 * stream positions and capture-clock values the reader stamped, never on
 * which worker holds the flow or when it runs. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

struct live_flow {
    struct wkp_fentry h;
    uint64_t first_ord;
    int64_t start_ns, end_ns;
    uint64_t pkts[2], bytes[2]; /* [0] up, [1] down */
    uint32_t flag_counts[8];
    uint16_t capture;
    uint8_t creator_is_a;
};

enum { LRU_TCP = 0, LRU_OTHER = 1 };

static int64_t timeout_of(const struct wkp_engine *e, int lru_class)
{
    return lru_class == LRU_TCP ? e->cfg.tcp_timeout_ns : e->cfg.udp_timeout_ns;
}

static void addr_text(const uint8_t *a, int family, char out[46])
{
    if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, out, 46))
        strcpy(out, "?");
}

/* End a flow: build its record, queue it for the merger, drop the entry. */
static void end_flow(struct wkp_worker *w, struct live_flow *lf, uint64_t end_pos, int reason)
{
    struct wkp_engine *e = w->e;
    struct wkp_flow *f = calloc(1, sizeof *f);
    if (!f) {
        w->failed = 1;
        atomic_store(&e->stop, 1);
        wkp_ftable_remove(&w->table, &lf->h);
        return;
    }
    const struct wkp_flow_key *k = &lf->h.key;
    f->end_pos = end_pos;
    f->id = lf->first_ord;
    f->capture = e->caps[lf->capture].name;
    f->ts_digits = e->caps[lf->capture].ts_digits;
    f->end_reason = (uint8_t)reason;
    f->proto = k->proto;
    f->family = k->family;
    f->vlan_id = k->vlan_id;
    const uint8_t *sa = lf->creator_is_a ? k->a : k->b;
    const uint8_t *da = lf->creator_is_a ? k->b : k->a;
    f->sport = lf->creator_is_a ? k->pa : k->pb;
    f->dport = lf->creator_is_a ? k->pb : k->pa;
    addr_text(sa, k->family, f->src_ip);
    addr_text(da, k->family, f->dst_ip);
    char tmp[16];
    snprintf(f->key, sizeof f->key, "%s:%u -> %s:%u (%s)", f->src_ip, f->sport, f->dst_ip,
             f->dport, wkp__proto_name(k->proto, tmp));
    f->start_ns = lf->start_ns;
    f->end_ns = lf->end_ns;
    f->pkts[WKP_DIR_UP] = lf->pkts[0];
    f->pkts[WKP_DIR_DOWN] = lf->pkts[1];
    f->pkts[WKP_DIR_BOTH] = lf->pkts[0] + lf->pkts[1];
    f->bytes[WKP_DIR_UP] = lf->bytes[0];
    f->bytes[WKP_DIR_DOWN] = lf->bytes[1];
    f->bytes[WKP_DIR_BOTH] = lf->bytes[0] + lf->bytes[1];
    for (int i = 0; i < 8; i++)
        f->flag_counts[i] = lf->flag_counts[i];
    if (e->text_mask && wkp__serialize(f, e->text_mask, &w->scratch) != 0) {
        w->failed = 1;
        atomic_store(&e->stop, 1);
    }
    /* release: pairs with the merger's acquire exchange; the record's
     * contents are visible before it can be taken. */
    f->qnext = atomic_load_explicit(&w->done, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&w->done, &f->qnext, f, memory_order_release,
                                                  memory_order_relaxed))
        ;
    w->st.flows_ended++;
    if (reason == WKP_END_EVICTED)
        w->st.evicted++;
    wkp_ftable_remove(&w->table, &lf->h);
}

static void expire(struct wkp_worker *w, int64_t clock_ns, uint64_t pos)
{
    for (int c = 0; c < WKP_LRU_CLASSES; c++) {
        int64_t to = timeout_of(w->e, c);
        if (to <= 0)
            continue;
        struct wkp_fentry *h;
        /* Strict '>' (SPEC §2.2): a gap of exactly the timeout does not split. */
        while ((h = wkp_ftable_oldest(&w->table, c)) != NULL && clock_ns - h->last_clock_ns > to)
            end_flow(w, (struct live_flow *)h, pos, WKP_END_IDLE);
    }
}

static void flush_all(struct wkp_worker *w, uint64_t pos, int reason)
{
    for (int c = 0; c < WKP_LRU_CLASSES; c++) {
        struct wkp_fentry *h;
        while ((h = wkp_ftable_oldest(&w->table, c)) != NULL)
            end_flow(w, (struct live_flow *)h, pos, reason);
    }
}

/* Make room under the flow cap: end the least recently used flow. */
static void evict_one(struct wkp_worker *w, uint64_t pos)
{
    struct wkp_fentry *a = wkp_ftable_oldest(&w->table, 0);
    struct wkp_fentry *b = wkp_ftable_oldest(&w->table, 1);
    struct wkp_fentry *v = !a ? b : !b ? a : (a->last_clock_ns <= b->last_clock_ns ? a : b);
    if (v)
        end_flow(w, (struct live_flow *)v, pos, WKP_END_EVICTED);
}

static void on_packet(struct wkp_worker *w, const struct wkp_pkt *p)
{
    const struct wkp_l2l4 *m = &p->m;
    int cls = m->proto == 6 ? LRU_TCP : LRU_OTHER;
    struct live_flow *lf = (struct live_flow *)wkp_ftable_lookup(&w->table, &p->key, p->hash);
    if (lf) {
        int64_t to = timeout_of(w->e, cls);
        if (to > 0 && p->clock_ns - lf->h.last_clock_ns > to) {
            end_flow(w, lf, p->pos, WKP_END_IDLE);
            lf = NULL;
        }
    }
    if (!lf) {
        if (w->max_flows && w->table.count >= w->max_flows)
            evict_one(w, p->pos);
        lf = (struct live_flow *)wkp_ftable_insert(&w->table, &p->key, p->hash, p->clock_ns,
                                                   (uint8_t)cls);
        if (!lf) {
            w->failed = 1;
            atomic_store(&w->e->stop, 1);
            return;
        }
        lf->first_ord = WKP_POS_ORDINAL(p->pos);
        lf->start_ns = lf->end_ns = p->ts_ns;
        lf->creator_is_a = p->src_is_a;
        lf->capture = p->capture;
    } else {
        wkp_ftable_touch(&w->table, &lf->h, p->clock_ns);
    }
    int d = p->src_is_a == lf->creator_is_a ? 0 : 1;
    lf->pkts[d]++;
    lf->bytes[d] += p->wirelen;
    if (p->ts_ns > lf->end_ns)
        lf->end_ns = p->ts_ns;
    if (m->proto == 6 && !m->is_fragment) {
        uint8_t fl = m->tcp_flags;
        for (int i = 0; i < 8; i++)
            lf->flag_counts[i] += (fl >> i) & 1u;
    }
    w->st.in_flow++;
}

void *wkp__worker_main(void *arg)
{
    struct wkp_worker *w = arg;
    struct wkp_engine *e = w->e;
    rcu_register_thread();
    if (wkp_ftable_init(&w->table, sizeof(struct live_flow), 1u << 16) != 0) {
        w->failed = 1;
        atomic_store(&e->stop, 1);
    }
    bool done = false;
    while (!done) {
        uint32_t first;
        uint32_t n = wkp_ring_peek(&w->ring, 64, &first);
        if (n == 0) {
            if (atomic_load_explicit(&e->stop, memory_order_relaxed))
                break;
            rcu_thread_offline();
            wkp_ring_wait(&w->ring, 10);
            rcu_thread_online();
            continue;
        }
        uint64_t last = 0;
        for (uint32_t i = 0; i < n; i++) {
            const struct wkp_pkt *p = &w->ring.slots[(first + i) & w->ring.mask];
            last = p->pos;
            if (w->failed)
                continue;
            switch (p->kind) {
            case WKP_ITEM_PACKET:
                if (e->cfg.discard)
                    w->st.discarded++;
                else
                    on_packet(w, p);
                break;
            case WKP_ITEM_TICK:
                expire(w, p->clock_ns, p->pos);
                break;
            case WKP_ITEM_FLUSH:
                flush_all(w, p->pos, WKP_END_EOF);
                break;
            case WKP_ITEM_STOP:
                flush_all(w, p->pos, WKP_END_EOF);
                last = UINT64_MAX;
                done = true;
                break;
            }
        }
        /* release: pairs with the merger's acquire load; the records queued
         * above are visible before the watermark that lets them out. */
        atomic_store_explicit(&w->watermark, last, memory_order_release);
        wkp_ring_release(&w->ring, n);
        rcu_quiescent_state();
        wkp_ftable_reclaim(&w->table, 4096);
    }
    /* Stopped early: end what is left so nothing leaks; the merger drops
     * records of a failed run. */
    flush_all(w, UINT64_MAX, WKP_END_EOF);
    atomic_store_explicit(&w->watermark, UINT64_MAX, memory_order_release);
    wkp_ftable_fini(&w->table);
    rcu_unregister_thread();
    return NULL;
}
