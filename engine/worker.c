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
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "engine/columns.h"
#include "engine/internal.h"
#include "features/community_id.h"
#include "util/addrtext.h"
#include "util/nstime.h"
#include "util/prefetch.h"
#include "flowtable/tcp.h"

/* The per-flow state, kept small: a flood holds millions of flows of one
 * to three packets (docs/design.md, "Per-flow memory", has the byte
 * count). What only some flows need (an encapsulation, TCP streams,
 * statistics past max_seq) sits behind one pointer. TCP flag counts are
 * not kept here: every packet that would count its flags also stores its
 * record, so they are summed from the records when the flow ends (plus the
 * packets past max_seq, counted beside their statistics). The rare block
 * is 80 bytes, taken from the worker's pool; a flow whose streams close
 * gives it back when nothing else is in it. A retransmission count, the
 * custom features' block and the high halves of the packet and byte counts
 * live there too: few flows of a flood retransmit, without custom features
 * no flow has a block, and few flows pass 4 GiB. */
/* Past max_seq, when a sink reads statistics (stats_read()), the records
 * of later packets are kept apart from the stored ones while they take
 * less memory than running sums over them would; at the PAST_FOLD-th they
 * are folded into those sums, which every later packet then feeds. A
 * short flow past a small max_seq so costs its later records, not 2.8 KiB
 * of sums. With no sink reading statistics, a flow past max_seq keeps
 * nothing more. */
struct live_past {
    uint64_t flag_counts[8];  /* flags of the packets not stored */
    struct wkp_seq later;     /* records past max_seq, until folded */
    struct wkp_flow_acc *all; /* running sums over every packet, once folded */
};
enum { PAST_FOLD = 128 }; /* later records kept before they are folded */
/* docs/design.md, "Per-flow memory", gives these sizes */
_Static_assert(sizeof(struct live_past) == 96 && sizeof(struct wkp_flow_acc) == 2768,
               "live_past changed: update docs/design.md");

struct live_rare {
    struct wkp_l2l4_tun *tun; /* the first packet's encapsulation, if it had any */
    /* up, down: each from the segment that starts it (SYN or payload), once
     * reassembly is on (--tcp-stream-limit, or a stream dissector's claim) */
    struct wkp_tcpstream *ts[2];
    struct live_past *past;   /* beyond max_seq */
    struct wkp_sig_flow *sig; /* signatures: from the first SYN or payload byte */
    struct wkp_up_flow *up;   /* user protocol fields, from the first routed packet */
    void *custom;             /* the custom features' state block (every flow has one then) */
    uint64_t retrans;         /* TCP retransmissions seen (dropped or kept), from the first */
    /* the high 32 bits of the flow's packet and byte counts, [0] up, [1]
     * down: taken when a low half wraps (a flow past 4 GiB) */
    uint32_t pkts_hi[2], bytes_hi[2];
};

struct live_flow {
    struct wkp_fentry h;
    struct wkp_seq seq;
    /* [0] up, [1] down: the low 32 bits; pkts_of() and bytes_of() add the
     * rare block's high ones */
    uint32_t pkts[2], bytes[2];
    int64_t start_ns, end_ns;
    uint64_t first_ord;
    struct wkp_tcp_dir tcp[2];
    struct live_rare *rare;   /* NULL for most flows */
    struct wkp_app_flow *app; /* NULL until an application dissector claims the flow */
    uint32_t first_syn_seq;
    uint16_t capture;
    uint8_t closed_by; /* 0, or WKP_END_FIN / WKP_END_RST + 1 once closed */
    unsigned has_first_syn : 1;
    unsigned first_syn_dir : 1; /* direction (0 up, 1 down) of that SYN */
    unsigned creator_is_a : 1;
};
/* 192 bytes: a flow of up to three packets stays within 400 (docs/design.md, Per-flow memory). */
_Static_assert(sizeof(struct live_flow) == 192, "live_flow grew: update docs/design.md");

/* The flow's rare block, taken from the worker's pool on first use; NULL
 * if out of memory. */
static struct live_rare *rare_of(struct wkp_worker *w, struct live_flow *lf)
{
    if (!lf->rare && (lf->rare = wkp_pool_take(&w->rare_pool)))
        memset(lf->rare, 0, sizeof *lf->rare);
    return lf->rare;
}

static uint64_t pkts_of(const struct live_flow *lf, int d)
{
    return (lf->rare ? (uint64_t)lf->rare->pkts_hi[d] << 32 : 0) | lf->pkts[d];
}

static uint64_t bytes_of(const struct live_flow *lf, int d)
{
    return (lf->rare ? (uint64_t)lf->rare->bytes_hi[d] << 32 : 0) | lf->bytes[d];
}

static uint64_t pkts_both(const struct live_flow *lf)
{
    return pkts_of(lf, 0) + pkts_of(lf, 1);
}

/* TCP flag counts over every packet of the flow (see struct live_rare). */
static void flag_counts(const struct live_flow *lf, uint64_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = lf->rare && lf->rare->past ? lf->rare->past->flag_counts[i] : 0;
    for (struct wkp_seq_it it = wkp_seq_first(&lf->seq); wkp_seq_more(&it); wkp_seq_next(&it))
        for (int i = 0; i < 8; i++)
            out[i] += (it.r->flags >> i) & 1u;
}

size_t wkp__flow_footprint(uint64_t packets, size_t *entry, size_t *seq)
{
    *entry = wkp_ftable_entry_bytes(sizeof(struct live_flow));
    *seq = wkp_seq_bytes(packets);
    return *entry + *seq + WKP_FTABLE_BUCKET_BYTES + WKP_FTABLE_INDEX_BYTES;
}

/* Timeout classes: each LRU list holds flows that share one idle timeout,
 * so the oldest entry of a list is always the first to expire. */
enum { LRU_TCP = 0, LRU_UDP = 1, LRU_TCP_CLOSED = 2, LRU_OTHER = 3 };

static int64_t timeout_of(const struct wkp_engine *e, int lru_class)
{
    switch (lru_class) {
    case LRU_TCP: return e->cfg.tcp_timeout_ns;
    case LRU_TCP_CLOSED:
        return e->cfg.tcp_close_timeout_ns ? e->cfg.tcp_close_timeout_ns : e->cfg.tcp_timeout_ns;
    case LRU_UDP: return e->cfg.udp_timeout_ns;
    /* other IP protocols follow udp_timeout; --compat: never split, as the original split UDP only
     */
    default: return e->cfg.compat ? 0 : e->cfg.udp_timeout_ns;
    }
}

/* "SRC:SPORT -> DST:DPORT (PROTO)", the record's key, without snprintf. */
static void key_text(struct wkp_flow *f)
{
    char tmp[16], *p = f->key;
    const char *name = wkp__proto_name(f->proto, tmp);
    size_t ls = strlen(f->src_ip), ld = strlen(f->dst_ip), ln = strlen(name);
    /* 45 + 1 + 5 + 4 + 45 + 1 + 5 + 2 + 11 + 1 + 1 < sizeof f->key, and the
     * 8-byte stores of a port's digits end by 45 + 1 + 5 + 4 + 45 + 1 + 8 */
    memcpy(p, f->src_ip, ls);
    p += ls;
    *p++ = ':';
    p = wkp_put_u64(p, f->sport);
    memcpy(p, " -> ", 4);
    p += 4;
    memcpy(p, f->dst_ip, ld);
    p += ld;
    *p++ = ':';
    p = wkp_put_u64(p, f->dport);
    *p++ = ' ';
    *p++ = '(';
    memcpy(p, name, ln);
    p += ln;
    *p++ = ')';
    *p = '\0';
}

static void fail(struct wkp_worker *w)
{
    w->failed = 1;
    atomic_store(&w->e->stop, 1);
}

/* Is TCP stream reassembly on for the flow? */
static bool streams_on(const struct live_flow *lf)
{
    return lf->rare && (lf->rare->ts[0] || lf->rare->ts[1]);
}

/* Close the flow's TCP streams: give up their holes (their counters went
 * to the worker's as they counted), give them back to the pool. Both
 * directions count as streams, started or not. */
static void close_streams(struct wkp_worker *w, struct live_rare *x)
{
    for (int d = 0; d < 2; d++) {
        if (!x->ts[d])
            continue;
        wkp_tcpstream_finish(x->ts[d]);
        wkp_tcpstream_fini(x->ts[d]);
        wkp_pool_give(&w->ts_pool, x->ts[d]);
        x->ts[d] = NULL;
    }
    w->st.ts_streams += 2;
}

static void release_state(struct wkp_worker *w, struct live_flow *lf)
{
    struct live_rare *x = lf->rare;
    if (x) {
        free(x->tun);
        if (x->ts[0] || x->ts[1])
            close_streams(w, x);
        if (x->past) {
            wkp_seq_release(&x->past->later, &w->seq_pool);
            wkp_pool_give(&w->acc_pool, x->past->all);
            wkp_pool_give(&w->past_pool, x->past);
        }
        wkp_sig_release(&w->sig, &x->sig);
        wkp__up_release(&w->up, &x->up);
        if (x->custom) {
            *(void **)x->custom = w->custom_blocks;
            w->custom_blocks = x->custom;
        }
        wkp_pool_give(&w->rare_pool, x);
        lf->rare = NULL;
    }
    wkp__app_release(&w->app, &lf->app);
    wkp_seq_release(&lf->seq, &w->seq_pool);
}

static void *custom_block(struct wkp_worker *w)
{
    const struct wkp_custom_set *cs = &w->e->cfg.custom;
    void *b = w->custom_blocks;
    if (b)
        w->custom_blocks = *(void **)b;
    else
        b = aligned_alloc(16, cs->state_size < 16 ? 16 : cs->state_size);
    if (b)
        wkp_custom_init(cs, b);
    return b;
}

static void app_stream_chunks(struct wkp_worker *w, struct live_flow *lf,
                              const struct wkp_dis_pkt *at, int d);

/* The flow's application layer at its end: a stream dissector still
 * reading gets the bytes held behind holes, then the claiming dissector
 * finishes. */
static void app_end(struct wkp_worker *w, struct live_flow *lf)
{
    struct wkp_app_flow *af = lf->app;
    if (!af || !af->state)
        return;
    struct live_rare *x = lf->rare;
    if (!af->done && wkp_dissectors[af->idx]->input == WKP_DIS_STREAM && streams_on(lf)) {
        const struct wkp_flow_key *k = &lf->h.key;
        struct wkp_dis_pkt at = {
            .proto = IPPROTO_TCP,
            .flow_sport = lf->creator_is_a ? k->pa : k->pb,
            .flow_dport = lf->creator_is_a ? k->pb : k->pa,
            .ts_ns = lf->end_ns,
        };
        for (int d = 0; d < 2 && af->state && !af->done; d++) {
            if (!x->ts[d])
                continue;
            wkp_tcpstream_finish(x->ts[d]);
            app_stream_chunks(w, lf, &at, d);
        }
    }
    wkp__app_finish(&w->app, lf->app);
}

/* Remove the flow without a record. */
static void drop_flow(struct wkp_worker *w, struct live_flow *lf)
{
    release_state(w, lf);
    wkp_ftable_remove(&w->table, &lf->h);
}

/* Is the flow written? Too short, or refused by the flow-level filter
 * keywords (the application protocols its dissectors matched): no. */
static bool flow_wanted(const struct wkp_engine *e, const struct live_flow *lf, uint64_t npk)
{
    if (npk < e->cfg.min_packets || npk == 0)
        return false;
    return !e->filter || wkp_filter_flow_match(e->filter, lf->app ? lf->app->matched : 0);
}

/* The record's identity, addresses, counts and encapsulation. */
static void fill_record(struct wkp_worker *w, struct live_flow *lf, struct wkp_flow *f,
                        uint64_t end_pos, int reason)
{
    const struct wkp_engine *e = w->e;
    if (reason == WKP_END_IDLE && lf->closed_by)
        reason = lf->closed_by - 1; /* a closed flow that went quiet ended by FIN or RST */
    const struct wkp_flow_key *k = &lf->h.key;
    f->end_pos = end_pos;
    f->cols = e->cfg.cols;
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
    wkp_addr_text(sa, k->family, f->src_ip);
    wkp_addr_text(da, k->family, f->dst_ip);
    key_text(f);
    wkp_community_id(k->family, sa, da, f->sport, f->dport, k->proto, 0, f->community_id);
    f->start_ns = lf->start_ns;
    f->end_ns = lf->end_ns;
    f->pkts[WKP_DIR_UP] = pkts_of(lf, 0);
    f->pkts[WKP_DIR_DOWN] = pkts_of(lf, 1);
    f->pkts[WKP_DIR_BOTH] = f->pkts[WKP_DIR_UP] + f->pkts[WKP_DIR_DOWN];
    f->bytes[WKP_DIR_UP] = bytes_of(lf, 0);
    f->bytes[WKP_DIR_DOWN] = bytes_of(lf, 1);
    f->bytes[WKP_DIR_BOTH] = f->bytes[WKP_DIR_UP] + f->bytes[WKP_DIR_DOWN];
    flag_counts(lf, f->flag_counts);
    f->retrans = lf->rare ? lf->rare->retrans : 0;
    if (lf->rare && lf->rare->tun) {
        /* the record keeps it: serialisation and the callback view read it */
        f->tun = lf->rare->tun;
        lf->rare->tun = NULL;
    }
}

/* A flow's custom features and signature matching see its end. */
static void finish_extras(struct wkp_worker *w, struct live_flow *lf)
{
    if (!lf->rare)
        return;
    if (lf->rare->custom)
        wkp_custom_finish(&w->e->cfg.custom, lf->rare->custom);
    wkp_sig_end(&w->sig, lf->rare->sig);
}

/* Statistics cost more than the rest of a short flow's end: they are
 * computed, and streamed past max_seq, only when a callback may read them
 * or a text format writes one of their columns. */
static bool stats_read(const struct wkp_engine *e)
{
    const unsigned flow_text = 1u << WKP_TXT_CSV | 1u << WKP_TXT_JSON | 1u << WKP_TXT_NDJSON;
    return e->want_view || ((e->text_mask & flow_text) && e->cfg.cols->uses_stats);
}

/* Running sums over every packet of a flow past max_seq: its stored
 * records, then its later ones, in the order they came. */
static void fold_past(struct wkp_flow_acc *a, const struct live_flow *lf, bool tcp)
{
    wkp_flow_acc_init(a);
    for (struct wkp_seq_it it = wkp_seq_first(&lf->seq); wkp_seq_more(&it); wkp_seq_next(&it))
        wkp_flow_acc_add(a, it.r, tcp);
    for (struct wkp_seq_it it = wkp_seq_first(&lf->rare->past->later); wkp_seq_more(&it);
         wkp_seq_next(&it))
        wkp_flow_acc_add(a, it.r, tcp);
}

/* The running sums over every packet of lf, or NULL when its stored
 * records are all its packets. */
static const struct wkp_flow_acc *past_sums(struct wkp_worker *w, const struct live_flow *lf,
                                            bool tcp)
{
    const struct live_past *p = lf->rare ? lf->rare->past : NULL;
    if (!p || p->all)
        return p ? p->all : NULL;
    if (!p->later.stored)
        return NULL;
    fold_past(&w->fold, lf, tcp);
    return &w->fold;
}

/* Statistics, the text of each format the sinks want, and the callback
 * view's copies. false: out of memory. */
static bool build_outputs(struct wkp_worker *w, struct live_flow *lf, struct wkp_flow *f)
{
    const struct wkp_engine *e = w->e;
    const struct wkp_custom_set *cs = &e->cfg.custom;
    void *custom = lf->rare ? lf->rare->custom : NULL;
    struct wkp_sig_flow *sig = lf->rare ? lf->rare->sig : NULL;
    finish_extras(w, lf);
    struct wkp_flow_stats stats;
    if (!stats_read(e))
        stats.present = 0;
    else if (wkp_flow_stats_compute(&lf->seq, lf->h.key.proto == IPPROTO_TCP,
                                    past_sums(w, lf, lf->h.key.proto == IPPROTO_TCP),
                                    &w->stats_scratch, &stats) != 0)
        return false;
    struct wkp_flow_extra x = {
        .seq = &lf->seq,
        .stats = &stats,
        .custom = cs,
        .custom_block = custom,
        .app = wkp__app_states(&w->app, lf->app),
        .app_matched = lf->app ? lf->app->matched : 0,
        .sig = sig,
        .up = lf->rare ? lf->rare->up : NULL,
    };
    if (e->text_mask && wkp__serialize(f, &x, &e->cfg, e->text_mask, &w->scratch) != 0)
        return false;
    if (!e->want_view)
        return true;
    f->stats = malloc(sizeof *f->stats);
    f->recs = malloc((lf->seq.stored ? lf->seq.stored : 1) * sizeof *f->recs);
    if (!f->stats || !f->recs)
        return false;
    *f->stats = stats;
    for (struct wkp_seq_it it = wkp_seq_first(&lf->seq); wkp_seq_more(&it); wkp_seq_next(&it))
        f->recs[f->nrecs++] = *it.r;
    return true;
}

/* End a flow: its application layer finishes, then its record is built and
 * queued for the merger (unless the run stopped or the flow is not
 * wanted), then the entry and its state go back to the pools. */
static void end_flow(struct wkp_worker *w, struct live_flow *lf, uint64_t end_pos, int reason)
{
    struct wkp_engine *e = w->e;
    uint64_t npk = pkts_both(lf);
    app_end(w, lf);
    if (atomic_load_explicit(&e->stop, memory_order_relaxed)) {
        drop_flow(w, lf); /* a stopped run writes nothing: just give the memory back */
        return;
    }
    if (!flow_wanted(e, lf, npk)) {
        w->st.flow_filtered += npk;
        drop_flow(w, lf);
        return;
    }
    if (e->reads_records) {
        struct wkp_flow *f = wkp__record_new(w);
        if (!f) {
            fail(w);
            drop_flow(w, lf);
            return;
        }
        fill_record(w, lf, f, end_pos, reason);
        if (!build_outputs(w, lf, f))
            fail(w);
        wkp__handoff_flow(w, f);
    } else {
        /* nothing reads records: the flow counts as written, without a
         * record, its statistics or the merger */
        finish_extras(w, lf);
        atomic_store_explicit(&w->unwritten,
                              atomic_load_explicit(&w->unwritten, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    w->st.flows_ended++;
    w->st.in_flow += npk;
    if (reason == WKP_END_EVICTED) /* fill_record renames only idle ends */
        w->st.evicted++;
    drop_flow(w, lf);
}

/* Flows ended at one position go to the merger in id order (merger.c):
 * a sweep collects them, sorts them by id and ends them in that order, each
 * record queued as soon as it is built, so a flush of millions of flows
 * never holds more than the queue's bound of records. */
struct ending {
    struct live_flow *lf; /* ordered by lf->first_ord, the flow's id: 8 bytes
                           * an entry, as a flush at the end holds one per
                           * open flow */
};

static void sort_endings(struct ending *v, size_t n)
{
    while (n > 16) {
        /* quicksort, median of three, recursing on the smaller side */
        size_t m = n / 2;
        if (v[m].lf->first_ord < v[0].lf->first_ord) {
            struct ending t = v[m];
            v[m] = v[0];
            v[0] = t;
        }
        if (v[n - 1].lf->first_ord < v[0].lf->first_ord) {
            struct ending t = v[n - 1];
            v[n - 1] = v[0];
            v[0] = t;
        }
        if (v[n - 1].lf->first_ord < v[m].lf->first_ord) {
            struct ending t = v[n - 1];
            v[n - 1] = v[m];
            v[m] = t;
        }
        uint64_t pivot = v[m].lf->first_ord;
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i].lf->first_ord < pivot)
                i++;
            while (v[j].lf->first_ord > pivot)
                j--;
            if (i >= j)
                break;
            struct ending t = v[i];
            v[i] = v[j];
            v[j] = t;
            i++;
            j--;
        }
        size_t left = j + 1;
        if (left < n - left) {
            sort_endings(v, left);
            v += left;
            n -= left;
        } else {
            sort_endings(v + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        struct ending x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1].lf->first_ord > x.lf->first_ord; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static bool add_ending(struct wkp_worker *w, struct ending **v, size_t *n, size_t *cap,
                       struct wkp_fentry *h)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        struct ending *nv = realloc(*v, c * sizeof *nv);
        if (!nv) {
            fail(w);
            return false;
        }
        *v = nv;
        *cap = c;
    }
    struct live_flow *lf = (struct live_flow *)h;
    (*v)[(*n)++] = (struct ending){lf};
    return true;
}

static void end_all(struct wkp_worker *w, struct ending *v, size_t n, uint64_t pos, int reason)
{
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = v[i - 1].lf->first_ord < v[i].lf->first_ord;
    if (!sorted)
        sort_endings(v, n);
    for (size_t i = 0; i < n; i++) {
        /* the flows are scattered over the slabs: bring the entry 8 ahead
         * into the CPU cache, then its chain of record chunks one link a
         * step (each link is read from the chunk fetched the step before):
         * the first chunk 4 ahead, the second (80 bytes) 2 ahead, the third
         * (144 bytes) 1 ahead */
        if (i + 8 < n)
            for (int l = 0; l < 4; l++)
                __builtin_prefetch((const char *)v[i + 8].lf + 64 * l, 1);
        if (i + 4 < n && v[i + 4].lf->seq.head)
            __builtin_prefetch(v[i + 4].lf->seq.head, 1);
        const struct wkp_seq_chunk *c;
        if (i + 2 < n && (c = v[i + 2].lf->seq.head) && (c = c->next))
            for (int l = 0; l < 2; l++)
                __builtin_prefetch((const char *)c + 64 * l, 1);
        if (i + 1 < n && (c = v[i + 1].lf->seq.head) && (c = c->next) && (c = c->next))
            for (int l = 0; l < 3; l++)
                __builtin_prefetch((const char *)c + 64 * l, 1);
        end_flow(w, v[i].lf, pos, reason);
        wkp__handoff_drain(w);
    }
}

static void expire(struct wkp_worker *w, int64_t clock_ns, uint64_t pos)
{
    struct ending *v = NULL;
    size_t n = 0, cap = 0;
    for (int c = 0; c < WKP_LRU_CLASSES; c++) {
        int64_t to = timeout_of(w->e, c);
        if (to <= 0)
            continue;
        /* Strict '>': a gap of exactly the timeout does not split. */
        for (struct wkp_fentry *h = wkp_ftable_oldest(&w->table, c);
             h && wkp_ns_sub(clock_ns, h->last_clock_ns) > to; h = h->lru_next)
            if (!add_ending(w, &v, &n, &cap, h))
                goto out;
    }
    end_all(w, v, n, pos, WKP_END_IDLE);
out:
    free(v);
}

static void flush_all(struct wkp_worker *w, uint64_t pos, int reason)
{
    /* every flow ends: the table is emptied as a whole (table.h), and the
     * flows are collected in memory order, not along the LRU links */
    struct wkp_ftable_it it;
    wkp_ftable_clear_begin(&w->table);
    /* 8 bytes a flow for the sweep, in the slot array the emptying leaves
     * unread (as many words as flows): nothing allocated at the peak */
    _Static_assert(sizeof(struct ending) == sizeof(uintptr_t), "an ending is one slot word");
    size_t n = 0, cap = 0;
    struct ending *v = wkp_ftable_clear_scratch(&w->table, &cap);
    bool borrowed = cap >= w->table.count; /* so add_ending never grows v */
    if (!borrowed) {
        /* the slot array could not grow: exactly as many as are open */
        cap = w->table.count;
        v = cap ? malloc(cap * sizeof *v) : NULL;
        if (cap && !v)
            cap = 0; /* add_ending grows it, or fails the run */
    }
    for (struct wkp_fentry *h = wkp_ftable_first(&w->table, &it); h;
         h = wkp_ftable_next(&w->table, &it))
        if (!add_ending(w, &v, &n, &cap, h))
            goto out;
    end_all(w, v, n, pos, reason);
out:
    if (!borrowed)
        free(v);
    /* out of memory above: the run fails; give the flows back unsorted */
    for (struct wkp_fentry *h = wkp_ftable_first(&w->table, &it); h;
         h = wkp_ftable_next(&w->table, &it))
        end_flow(w, (struct live_flow *)h, pos, reason);
    wkp_ftable_clear_end(&w->table);
    wkp__handoff_drain(w);
}

/* Make room under the flow cap: end the least recently used flow. */
static void evict_one(struct wkp_worker *w, uint64_t pos)
{
    struct wkp_fentry *v = NULL;
    for (int c = 0; c < WKP_LRU_CLASSES; c++) {
        struct wkp_fentry *h = wkp_ftable_oldest(&w->table, c);
        if (h && (!v || h->last_clock_ns < v->last_clock_ns))
            v = h;
    }
    if (v)
        end_flow(w, (struct live_flow *)v, pos, WKP_END_EVICTED);
}

/* Packets the TCP options drop before the flow lookup, so they create and
 * update nothing: RSTs (filter_rst) and pure ACKs (filter_ack). */
static bool tcp_dropped_early(struct wkp_worker *w, const struct wkp_l2l4 *m, uint8_t fl)
{
    const struct wkp_config *c = &w->e->cfg;
    if (c->filter_rst && (fl & WKP_TCP_RST)) {
        w->st.rst_filtered++;
        return true;
    }
    if (c->filter_ack && wkp_tcp_pure_ack(fl, m->tcp_hlen, m->app_len)) {
        w->st.ack_filtered++;
        return true;
    }
    return false;
}

/* A new flow's entry: oriented by this packet, with its encapsulation and
 * custom state. NULL: out of memory (the run fails). */
static struct live_flow *new_flow(struct wkp_worker *w, const struct wkp_pkt *p)
{
    const struct wkp_engine *e = w->e;
    const struct wkp_l2l4 *m = &p->m;
    int cls = m->proto == IPPROTO_TCP ? LRU_TCP : m->proto == IPPROTO_UDP ? LRU_UDP : LRU_OTHER;
    if (w->max_flows && w->table.count >= w->max_flows)
        evict_one(w, p->pos);
    struct live_flow *lf = (struct live_flow *)wkp_ftable_insert(&w->table, &p->key, p->hash,
                                                                 p->clock_ns, (uint8_t)cls);
    if (!lf)
        return NULL;
    lf->first_ord = WKP_POS_ORDINAL(p->pos);
    lf->start_ns = lf->end_ns = p->ts_ns;
    lf->creator_is_a = p->src_is_a != 0;
    lf->capture = p->capture;
    if (m->tun.n_stack) {
        struct live_rare *x = rare_of(w, lf);
        if (!x || !(x->tun = malloc(sizeof *x->tun)))
            return NULL;
        *x->tun = m->tun;
    }
    if (e->cfg.custom.n) {
        struct live_rare *x = rare_of(w, lf);
        if (!x || !(x->custom = custom_block(w)))
            return NULL;
    }
    return lf;
}

/* The packet's flow: the live one, unless it went idle past its timeout or
 * a new SYN reopens a closed TCP connection (both end it, and a new flow
 * starts); else a new one. NULL: out of memory. */
static struct live_flow *find_or_create_flow(struct wkp_worker *w, const struct wkp_pkt *p,
                                             bool tcp, uint8_t fl)
{
    const struct wkp_engine *e = w->e;
    const struct wkp_l2l4 *m = &p->m;
    struct live_flow *lf = (struct live_flow *)wkp_ftable_lookup(&w->table, &p->key, p->hash);
    if (lf) {
        int64_t to = timeout_of(e, lf->h.lru_class);
        if (to > 0 && wkp_ns_sub(p->clock_ns, lf->h.last_clock_ns) > to) {
            end_flow(w, lf, p->pos, WKP_END_IDLE);
            lf = NULL;
        } else if (tcp && !e->cfg.compat && lf->closed_by &&
                   wkp_tcp_new_syn(&lf->tcp[0], &lf->tcp[1], fl, m->tcp_seq, lf->first_syn_seq,
                                   lf->has_first_syn)) {
            /* decided at lookup, before the retransmission check (flowtable/tcp.h) */
            end_flow(w, lf, p->pos, WKP_END_NEW_SYN);
            lf = NULL;
        }
    }
    return lf ? lf : new_flow(w, p);
}

/* TCP bookkeeping of direction d: retransmissions, connection state, the
 * first SYN, the close. false: the packet is a retransmission that
 * filter_retrans drops (never the flow's first packet: that one only sets
 * next_seq). */
static bool track_tcp(struct wkp_worker *w, struct live_flow *lf, const struct wkp_l2l4 *m,
                      uint8_t fl, int d)
{
    const struct wkp_engine *e = w->e;
    if (wkp_tcp_retransmission(&lf->tcp[d], m->tcp_seq, fl, m->app_len)) {
        struct live_rare *x = rare_of(w, lf);
        if (!x) {
            fail(w);
            return false;
        }
        x->retrans++;
        if (e->cfg.filter_retrans) {
            w->st.retrans_dropped++;
            return false;
        }
    }
    wkp_tcp_state_update(&lf->tcp[d], fl);
    if ((fl & (WKP_TCP_SYN | WKP_TCP_ACK)) == WKP_TCP_SYN && !lf->has_first_syn) {
        lf->first_syn_seq = m->tcp_seq;
        lf->has_first_syn = 1;
        lf->first_syn_dir = d != 0;
    }
    if (!lf->closed_by && wkp_tcp_closed(&lf->tcp[0], &lf->tcp[1])) {
        bool rst = lf->tcp[0].state == WKP_TCP_RESET || lf->tcp[1].state == WKP_TCP_RESET;
        lf->closed_by = (uint8_t)((rst ? WKP_END_RST : WKP_END_FIN) + 1);
        if (!e->cfg.compat)
            wkp_ftable_set_class(&w->table, &lf->h, LRU_TCP_CLOSED);
    }
    return true;
}

/* Past max_seq: when a sink reads statistics, every packet counts its
 * flags and keeps its record apart or feeds the running sums (struct
 * live_past); with none, nothing reads the counts either (a flow's flag
 * counts are read through a callback's view, which reads statistics).
 * false: out of memory. */
static bool record_past_max_seq(struct wkp_worker *w, struct live_flow *lf,
                                const struct wkp_pkt_rec *r)
{
    if (!stats_read(w->e))
        return true;
    /* the flow's protocol, as for its stored records (past_sums) */
    bool tcp = lf->h.key.proto == IPPROTO_TCP;
    struct live_rare *x = rare_of(w, lf);
    if (!x)
        return false;
    struct live_past *p = x->past;
    if (!p) {
        if (!(p = x->past = wkp_pool_take(&w->past_pool)))
            return false;
        memset(p, 0, sizeof *p);
    }
    for (int i = 0; i < 8; i++)
        p->flag_counts[i] += (r->flags >> i) & 1u;
    if (!p->all && p->later.stored < PAST_FOLD)
        return wkp_seq_append(&p->later, &w->seq_pool, r) == 0;
    if (!p->all) {
        if (!(p->all = wkp_pool_take(&w->acc_pool)))
            return false;
        fold_past(p->all, lf, tcp);
        wkp_seq_release(&p->later, &w->seq_pool);
    }
    wkp_flow_acc_add(p->all, r, tcp);
    return true;
}

/* Count the packet in direction d and keep its record. false: out of memory. */
static bool record_packet(struct wkp_worker *w, struct live_flow *lf, const struct wkp_pkt *p,
                          bool tcp, uint8_t fl, int d)
{
    const struct wkp_engine *e = w->e;
    const struct wkp_l2l4 *m = &p->m;
    wkp_ftable_touch(&w->table, &lf->h, p->clock_ns);
    uint32_t b = lf->bytes[d];
    lf->bytes[d] += p->wirelen;
    if (++lf->pkts[d] == 0 || lf->bytes[d] < b) {
        /* a low half wrapped: carry into the rare block */
        struct live_rare *x = rare_of(w, lf);
        if (!x)
            return false;
        x->pkts_hi[d] += lf->pkts[d] == 0;
        x->bytes_hi[d] += lf->bytes[d] < b;
    }
    if (p->ts_ns > lf->end_ns)
        lf->end_ns = p->ts_ns;
    bool has_payload = m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP;
    /* --compat: UDP payload lengths are recorded as 0, as the original did */
    uint32_t payload = has_payload && !(m->proto == IPPROTO_UDP && e->cfg.compat) ? m->app_len : 0;
    struct wkp_pkt_rec r = {
        .ts_ns = p->ts_ns,
        .wire = p->wirelen,
        .ip = m->ip_len,
        .trans = m->trans_len,
        .app = m->app_len,
        .payload = payload,
        .win = tcp ? m->tcp_win : 0,
        .flags = fl,
        .dir = (int8_t)(d ? -1 : 1),
    };
    if (!e->cfg.max_seq || lf->seq.stored < e->cfg.max_seq)
        return wkp_seq_append(&lf->seq, &w->seq_pool, &r) == 0;
    return record_past_max_seq(w, lf, &r);
}

/* Transport payload bytes present in the capture (TCP and UDP; 0 else). */
static uint32_t captured_payload(const struct wkp_pkt *p)
{
    const struct wkp_l2l4 *m = &p->m;
    if (m->proto != IPPROTO_TCP && m->proto != IPPROTO_UDP)
        return 0;
    uint32_t avail = p->caplen > m->app_off ? p->caplen - m->app_off : 0;
    return m->app_len < avail ? m->app_len : avail;
}

/* The payload a TCP segment carried (IP length minus headers), at least
 * the len bytes of it the capture has: bytes past len were cut by the
 * snaplen. */
static uint32_t carried_payload(const struct wkp_pkt *p, uint32_t len)
{
    const struct wkp_l2l4 *m = &p->m;
    uint32_t hdrs = (m->l4_off - m->l3_off) + m->tcp_hlen;
    uint32_t seg = m->ip_len > hdrs ? m->ip_len - hdrs : 0;
    return seg > len ? seg : len;
}

/* A segment (seq, flags fl, payload[0..len) of seg_len carried) into
 * direction d's stream, made here if this segment starts it: a stream
 * that has not started ignores segments with neither SYN nor payload
 * (reassembly/tcpstream.h), so a direction that never sends (the server
 * of a flow cut after its ClientHello) costs nothing. false: out of
 * memory. */
static bool stream_feed(struct wkp_worker *w, struct live_flow *lf, int d, uint32_t seq, uint8_t fl,
                        const uint8_t *payload, uint32_t len, uint32_t seg_len)
{
    struct live_rare *x = rare_of(w, lf);
    if (!x)
        return false;
    if (!x->ts[d]) {
        if (!(fl & WKP_TCP_SYN) && seg_len == 0)
            return true;
        if (!(x->ts[d] = wkp_pool_take(&w->ts_pool)))
            return false;
        uint32_t limit = w->e->cfg.tcp_stream_limit;
        wkp_tcpstream_init(x->ts[d], limit ? limit : WKP_TCPSTREAM_DEFAULT_LIMIT, &w->ts_budget,
                           &w->st.ts);
    }
    wkp_tcpstream_segment(x->ts[d], seq, fl, payload, len, seg_len);
    return true;
}

/* The packet into direction d's stream. seg_len is the payload the
 * segment carried; bytes the snaplen cut become a gap. */
static bool stream_segment(struct wkp_worker *w, struct live_flow *lf, const struct wkp_pkt *p,
                           uint8_t fl, int d)
{
    const struct wkp_l2l4 *m = &p->m;
    uint32_t len = captured_payload(p);
    return stream_feed(w, lf, d, m->tcp_seq, fl, len ? p->data + m->app_off : NULL, len,
                       carried_payload(p, len));
}

/* TCP stream reassembly per direction (reassembly/tcpstream.c): on from
 * the first payload byte with --tcp-stream-limit, or from the claim of a
 * stream dissector (app_packet). false: out of memory. */
static bool feed_streams(struct wkp_worker *w, struct live_flow *lf, const struct wkp_pkt *p,
                         uint8_t fl, int d)
{
    if (!streams_on(lf) && !(w->e->cfg.tcp_stream_limit && p->m.app_len))
        return true;
    /* The streams are the claiming dissector's own, it is still reading
     * and consumes all it is given: an in-order segment with nothing
     * waiting goes to it from the packet (app_stream_chunks), not copied
     * into the stream and out again. */
    struct wkp_app_flow *af = lf->app;
    struct wkp_tcpstream *ts = streams_on(lf) ? lf->rare->ts[d] : NULL;
    if (ts && af && af->state && !af->done && af->own_streams && !af->fed[d] &&
        wkp_dissectors[af->idx]->input == WKP_DIS_STREAM) {
        const struct wkp_l2l4 *m = &p->m;
        uint32_t len = captured_payload(p);
        if (wkp_tcpstream_pass(ts, m->tcp_seq, fl, len, carried_payload(p, len))) {
            w->pass_data = p->data + m->app_off;
            w->pass_len = len;
            w->pass_dir = d;
            return true;
        }
    }
    return stream_segment(w, lf, p, fl, d);
}

/* Signatures see the packet's payload (signatures/scan.h): TCP segments
 * from the first SYN on, to be scanned in sequence order; UDP datagrams
 * (or first fragments) whole. false: out of memory. */
static bool sig_packet(struct wkp_worker *w, struct live_flow *lf, const struct wkp_pkt *p,
                       bool tcp, uint8_t fl, int d)
{
    const struct wkp_l2l4 *m = &p->m;
    uint32_t len = captured_payload(p);
    if (tcp) {
        uint32_t seg = carried_payload(p, len);
        if (!(fl & WKP_TCP_SYN) && !seg && !(lf->rare && lf->rare->sig))
            return true;
        struct live_rare *x = rare_of(w, lf);
        return x && wkp_sig_tcp(&w->sig, &x->sig, d, m->tcp_seq, fl,
                                len ? p->data + m->app_off : NULL, len, seg) == 0;
    }
    if (m->proto != IPPROTO_UDP || (m->is_fragment && m->frag_off != 0) || !len)
        return true;
    struct live_rare *x = rare_of(w, lf);
    return x && wkp_sig_datagram(&w->sig, &x->sig, d, p->data + m->app_off, len) == 0;
}

/* The custom features see the packet. */
static void custom_packet(struct wkp_worker *w, struct live_flow *lf, const struct wkp_pkt *p,
                          bool tcp, uint8_t fl, int d)
{
    const struct wkp_l2l4 *m = &p->m;
    uint32_t plen = captured_payload(p);
    wkp_pkt_view v = {
        .ts_ns = p->ts_ns,
        .index = pkts_both(lf) - 1,
        .dir = d ? -1 : 1,
        .wire_len = p->wirelen,
        .cap_len = p->caplen,
        .ip_len = m->ip_len,
        .trans_len = m->trans_len,
        .app_len = m->app_len,
        .ip_proto = m->proto,
        .tcp_flags = fl,
        .tcp_window = tcp ? m->tcp_win : 0,
        .payload = plen ? p->data + m->app_off : NULL,
        .payload_len = plen,
        .frame = p->data,
    };
    wkp_custom_update(&w->e->cfg.custom, lf->rare->custom, &v);
}

/* A stream dissector said DONE or NOT_MINE: streams switched on for it
 * stop (--tcp-stream-limit's keep going, unchanged). */
static void app_stream_stop(struct wkp_worker *w, struct live_flow *lf)
{
    struct wkp_app_flow *af = lf->app;
    struct live_rare *x = lf->rare;
    if (af->own_streams && streams_on(lf)) {
        close_streams(w, x);
        if (!x->tun && !x->past && !x->sig && !x->up && !x->custom && !x->retrans &&
            !(x->pkts_hi[0] | x->pkts_hi[1] | x->bytes_hi[0] | x->bytes_hi[1])) {
            /* nothing else in it: back to the pool */
            wkp_pool_give(&w->rare_pool, x);
            lf->rare = NULL;
        }
    }
    af->own_streams = 0;
}

/* Direction d's newly in-order stream bytes to the claiming stream
 * dissector, one chunk per run of bytes without a gap inside. */
static void app_stream_chunks(struct wkp_worker *w, struct live_flow *lf,
                              const struct wkp_dis_pkt *at, int d)
{
    struct wkp_app_flow *af = lf->app;
    struct wkp_tcpstream *ts = lf->rare->ts[d];
    if (w->pass_len && d == w->pass_dir) {
        /* The packet's bytes, passed by feed_streams: what the loop below
         * would give from the stream, which held nothing else. */
        struct wkp_dis_pkt c = *at;
        c.dir = (uint8_t)d;
        c.gap = false;
        c.payload = w->pass_data;
        c.payload_len = w->pass_len;
        w->pass_len = 0;
        if (wkp__app_parse(&w->app, af, &c, c.payload, c.payload_len) != WKP_DIS_MORE)
            app_stream_stop(w, lf);
        return;
    }
    if (!ts)
        return; /* not started: no bytes */
    uint32_t len;
    const uint8_t *buf = wkp_tcpstream_data(ts, &len);
    while (af->state && !af->done && af->fed[d] < len) {
        uint32_t from = af->fed[d], to = len;
        struct wkp_dis_pkt c = *at;
        c.dir = (uint8_t)d;
        c.gap = false;
        for (uint32_t g = 0; g < wkp_tcpstream_ngaps(ts); g++) {
            uint32_t off = wkp_tcpstream_gaps(ts)[g].off;
            if (off == from)
                c.gap = true;
            else if (off > from && off < to)
                to = off;
        }
        c.payload = buf + from;
        c.payload_len = to - from;
        af->fed[d] = to;
        if (wkp__app_parse(&w->app, af, &c, buf + from, to - from) != WKP_DIS_MORE) {
            app_stream_stop(w, lf);
            return;
        }
    }
    /* Streams switched on for the dissector keep only what it was not given
     * yet (--tcp-stream-limit's streams keep their bytes). */
    if (af->own_streams && af->fed[d]) {
        wkp_tcpstream_consume(ts, af->fed[d]);
        af->fed[d] = 0;
    }
}

/* What a dissector sees of packet p, direction d. */
static struct wkp_dis_pkt dis_pkt(const struct live_flow *lf, const struct wkp_pkt *p, int d)
{
    const struct wkp_flow_key *k = &lf->h.key;
    uint32_t plen = captured_payload(p);
    return (struct wkp_dis_pkt){
        .proto = p->m.proto,
        .dir = (uint8_t)d,
        .sport = p->m.sport,
        .dport = p->m.dport,
        .flow_sport = lf->creator_is_a ? k->pa : k->pb,
        .flow_dport = lf->creator_is_a ? k->pb : k->pa,
        .ts_ns = p->ts_ns,
        .payload = plen ? p->data + p->m.app_off : NULL,
        .payload_len = plen,
    };
}

/* Has direction d sent no payload before the packet just recorded (then a
 * stream started at the claim may start at the SYN, so a first segment
 * that came out of order still waits for the bytes before it)? Every
 * record must be stored to tell. */
static bool first_payload_of_dir(const struct live_flow *lf, int d)
{
    if (lf->seq.stored != pkts_both(lf))
        return false;
    uint64_t n = 0, with_payload = 0;
    for (struct wkp_seq_it it = wkp_seq_first(&lf->seq); wkp_seq_more(&it); wkp_seq_next(&it), n++)
        if (it.r->dir == (d ? -1 : 1) && it.r->app && n + 1 < lf->seq.stored)
            with_payload++;
    return with_payload == 0;
}

/* A flow no dissector claims: probe it with this packet (one with payload,
 * among the flow's first WKP_DIS_PROBE_PACKETS). A stream dissector's
 * claim switches the flow's TCP streams on, starting with this segment.
 * -1: not claimed, -2: out of memory, else the claiming dissector. */
static int app_claim(struct wkp_worker *w, struct live_flow *lf, const struct wkp_pkt *p,
                     const struct wkp_dis_pkt *dp, uint8_t fl, int d)
{
    if (!dp->payload_len || pkts_both(lf) > WKP_DIS_PROBE_PACKETS)
        return -1;
    int i = wkp__app_probe(&w->app, &lf->app, dp);
    if (i < 0 || wkp_dissectors[i]->input != WKP_DIS_STREAM || streams_on(lf))
        return i;
    lf->app->own_streams = 1;
    if (lf->has_first_syn && first_payload_of_dir(lf, lf->first_syn_dir) &&
        !stream_feed(w, lf, lf->first_syn_dir, lf->first_syn_seq, WKP_TCP_SYN, NULL, 0, 0))
        return -2;
    return stream_segment(w, lf, p, fl, d) ? i : -2;
}

/* A packet no built-in dissector claims, given to the user protocol its
 * port routes to, if any (userproto/, engine/userlayer.c). false: out of
 * memory. */
static bool user_packet(struct wkp_worker *w, struct live_flow *lf, const struct wkp_dis_pkt *dp)
{
    int proto = wkp__up_route(w->e->up, w->app.mode, dp);
    if (proto < 0)
        return true;
    struct live_rare *x = rare_of(w, lf);
    return x && wkp__up_packet(&w->up, w->e->up, proto, dp, &x->up);
}

/* The application layer sees the packet: an unclaimed flow is probed; a
 * datagram dissector parses the payload, a stream dissector the bytes the
 * packet made in order. false: out of memory. */
static bool app_packet(struct wkp_worker *w, struct live_flow *lf, const struct wkp_pkt *p,
                       uint8_t fl, int d)
{
    const struct wkp_l2l4 *m = &p->m;
    /* A fragment reaches the dissectors only as a first UDP or ICMP
     * fragment (its header and the start of the payload are there: the
     * datagram was not reassembled, by --no-reassembly or because the rest
     * never came). */
    bool icmp = m->proto == IPPROTO_ICMP || m->proto == IPPROTO_ICMPV6;
    bool first_udp = (m->proto == IPPROTO_UDP || icmp) && m->frag_off == 0;
    if (!w->app.n || (m->is_fragment && !first_udp) ||
        (m->proto != IPPROTO_TCP && m->proto != IPPROTO_UDP && !icmp))
        return true;
    struct wkp_dis_pkt dp = dis_pkt(lf, p, d);
    if (icmp) { /* the whole ICMP message is the datagram */
        dp.payload = m->l3_end > m->l4_off ? p->data + m->l4_off : NULL;
        dp.payload_len = dp.payload ? m->l3_end - m->l4_off : 0;
    }
    if (!lf->app || !lf->app->state) {
        int i = app_claim(w, lf, p, &dp, fl, d);
        if (i == -1) /* no built-in dissector: a user protocol routed here may read it */
            return user_packet(w, lf, &dp);
        if (i < 0)
            return false;
        if (lf->rare && lf->rare->up) /* built-in dissectors come first */
            wkp__up_release(&w->up, &lf->rare->up);
    }
    struct wkp_app_flow *af = lf->app;
    if (af->done)
        return true;
    if (wkp_dissectors[af->idx]->input == WKP_DIS_DATAGRAM) {
        if (dp.payload_len)
            wkp__app_parse(&w->app, af, &dp, dp.payload, dp.payload_len);
    } else if (streams_on(lf)) {
        for (int k = 0; k < 2; k++)
            if (streams_on(lf))
                app_stream_chunks(w, lf, &dp, d ^ k);
    }
    return true;
}

/* A packet: find or create its flow, track TCP, record it, feed the TCP
 * streams, the custom features and the application layer. */
static void on_packet(struct wkp_worker *w, const struct wkp_pkt *p)
{
    const struct wkp_l2l4 *m = &p->m;
    bool tcp = m->proto == IPPROTO_TCP && !m->is_fragment;
    uint8_t fl = tcp ? m->tcp_flags : 0;
    if (tcp && tcp_dropped_early(w, m, fl))
        return;
    struct live_flow *lf = find_or_create_flow(w, p, tcp, fl);
    if (!lf) {
        fail(w);
        return;
    }
    int d = p->src_is_a == lf->creator_is_a ? 0 : 1;
    /* before the retransmission filter: a late out-of-order segment looks
     * like a retransmission, and signatures need its bytes */
    if (w->sig.db && !sig_packet(w, lf, p, tcp, fl, d)) {
        fail(w);
        return;
    }
    if (tcp && !track_tcp(w, lf, m, fl, d))
        return;
    if (!record_packet(w, lf, p, tcp, fl, d) || (tcp && !feed_streams(w, lf, p, fl, d))) {
        fail(w);
        return;
    }
    if (lf->rare && lf->rare->custom)
        custom_packet(w, lf, p, tcp, fl, d);
    bool ok = app_packet(w, lf, p, fl, d);
    w->pass_len = 0; /* taken by now: the claim and the stream are unchanged since */
    if (!ok)
        fail(w);
}

enum {
    BURST = 64,     /* ring items handled between two releases */
    LOOKAHEAD = 32, /* items past a burst its prefetches may look at */
};

/* The flow the cache holds for hash h, if its tag matches (it may be
 * another flow's by now: see prefetch_ahead); NULL when none. */
static inline const struct live_flow *cached_flow(struct wkp_worker *w, uint64_t h)
{
    const struct live_flow *f = (const struct live_flow *)wkp_ftable_cached(&w->table, h);
    return f && f->h.hash_lo == (uint32_t)h ? f : NULL;
}

/* The signature state of the flow the cache holds for hash h, or NULL. */
static inline const struct wkp_sig_flow *cached_sig(struct wkp_worker *w, uint64_t h)
{
    const struct live_flow *f = cached_flow(w, h);
    return f && f->rare ? f->rare->sig : NULL;
}

/* Item i of the n peeked from `first`. */
static inline void prefetch_ahead(struct wkp_worker *w, uint32_t first, uint32_t i, uint32_t n)
{
    /* Hide the flow lookup's cache misses behind the packets before it: the
     * slot 24 packets ahead, its entry 16 ahead, then (4 ahead, by when the
     * entry has arrived) the chunk its next record goes to, its
     * application and rare blocks and its LRU neighbours; the ring slot
     * itself 32 ahead. The entry found through the cache may be another
     * flow's by now: it is only read (pool memory, never unmapped during
     * the run) and what it points to is only prefetched. */
    const struct wkp_pkt *slots = w->ring.slots;
    uint32_t mask = w->ring.mask;
    /* The slot itself, which the reader wrote on its core: the lines up to
     * the parse (m), for writing; its hash, read from 24 ahead on, is not
     * on its first line for 5 slots in 8 (a slot is 280 bytes, not
     * line-aligned). The parse's lines are fetched 16 ahead, once the
     * kind is known: for writing when this worker parses the frame
     * (WKP_ITEM_RAW, keyed quickly), for reading when the reader did.
     * Asking for all five lines for writing 32 ahead took lines from the
     * reader while it was still filling slots that close (bench-1g -f none
     * -t 2, the reader parsing: 4-5 % more wall time). */
    if (i + 32 < n)
        wkp_prefetch_w_lines(&slots[(first + i + 32) & mask], offsetof(struct wkp_pkt, m) + 16);
    if (i + 24 < n)
        wkp_ftable_prefetch_slot(&w->table, slots[(first + i + 24) & mask].hash);
    if (i + 16 < n) {
        const struct wkp_pkt *s16 = &slots[(first + i + 16) & mask];
        wkp_ftable_prefetch_entry(&w->table, s16->hash);
        if (s16->kind == WKP_ITEM_RAW) /* parsed into here: for writing */
            wkp_prefetch_w_lines(&s16->m, sizeof s16->m);
        else
            wkp_prefetch_lines(&s16->m, sizeof s16->m);
    }
    if (i + 8 < n) {
        const struct wkp_pkt *s8 = &slots[(first + i + 8) & mask];
        /* the frame's headers and first payload bytes, in the capture's
         * memory (its read window or mapping) or the ring's arena */
        if (s8->data) {
            __builtin_prefetch(s8->data);
            __builtin_prefetch(s8->data + 64);
        }
    }
    if (i + 4 < n) {
        uint64_t h4 = slots[(first + i + 4) & mask].hash;
        const struct live_flow *nf = cached_flow(w, h4);
        if (nf) {
            if (nf->seq.tail) {
                __builtin_prefetch(nf->seq.tail, 1);
                __builtin_prefetch((const char *)nf->seq.tail + 64, 1);
            }
            if (nf->app) /* read by every packet of a claimed flow */
                __builtin_prefetch(nf->app, 1);
            if (nf->rare)
                __builtin_prefetch(nf->rare, 1);
        }
        wkp_ftable_prefetch_lru(&w->table, h4);
    }
    if (w->sig.db && i + 2 < n) {
        /* signatures: the flow's state 2 ahead (its rare block came 4
         * ahead), what its directions scan with 1 ahead. All of it is pool
         * memory, so a stale pointer read here is still mapped. */
        const struct wkp_sig_flow *sf = cached_sig(w, slots[(first + i + 2) & mask].hash);
        if (sf) {
            __builtin_prefetch(sf, 1);
            __builtin_prefetch((const char *)sf + 64, 1);
        }
        sf = cached_sig(w, slots[(first + i + 1) & mask].hash);
        if (sf)
            for (int d = 0; d < 2; d++) {
                const struct wkp_sig_dir *sd = &sf->d[d];
                if (sd->ts) {
                    __builtin_prefetch(sd->ts, 1);
                    __builtin_prefetch((const char *)sd->ts + 64, 1);
                }
                if (sd->hs)
                    __builtin_prefetch(sd->hs, 1);
            }
    }
    /* A function whose only effects are prefetches counts as having none:
     * GCC drops its calls. This empty statement is an effect it keeps. */
    __asm__ volatile("");
}

/* An ARP packet for the packet sinks: a record holding only its row,
 * ordered like a flow ending at the packet (docs/output.md, The per-packet
 * sink). */
static void arp_row(struct wkp_worker *w, const struct wkp_pkt *p)
{
    const struct wkp_engine *e = w->e;
    const struct wkp_l2l4 *m = &p->m;
    struct wkp_flow *f = wkp__record_new(w);
    if (!f) {
        fail(w);
        return;
    }
    f->arp_row = true;
    f->end_pos = p->pos;
    f->id = WKP_POS_ORDINAL(p->pos);
    f->capture = e->caps[p->capture].name;
    f->ts_digits = e->caps[p->capture].ts_digits;
    uint32_t end = m->l3_end < p->caplen ? m->l3_end : p->caplen;
    uint32_t len = end > m->l3_off ? end - m->l3_off : 0;
    if (wkp__serialize_arp(f, p->data + m->l3_off, len, p->ts_ns, p->wirelen, e->text_mask,
                           &w->scratch) != 0) {
        wkp__flow_free(f);
        fail(w);
        return;
    }
    wkp__handoff_flow(w, f);
}

/* A frame the reader keyed with wkp_l2l4_quick: walk it into p->m, the
 * walk the reader would have done, and apply the filter's packet part the
 * reader left for this walk. The slot is the worker's until it releases
 * it. false if the packet goes no further: filtered, or (not expected)
 * the walk disagrees, counted as malformed. */
static bool walk_frame(struct wkp_worker *w, struct wkp_pkt *p)
{
    const struct wkp_engine *e = w->e;
    if (wkp_l2l4_parse_opts(p->data, p->caplen, WKP_DLT_EN10MB, &e->cfg.parse, &p->m) !=
        WKP_PARSE_FLOW) {
        w->st.walk_failed++;
        return false;
    }
    if (e->worker_filter && !wkp_filter_keywords_match(e->worker_filter, &p->m)) {
        w->st.filtered++;
        return false;
    }
    return true;
}

/* One item from the ring. true: it was the run's STOP. */
static inline bool handle_item(struct wkp_worker *w, struct wkp_pkt *p)
{
    switch (p->kind) {
    case WKP_ITEM_PACKET:
    case WKP_ITEM_RAW:
        if (w->e->cfg.discard)
            w->st.discarded++;
        else if (p->kind == WKP_ITEM_PACKET || walk_frame(w, p))
            on_packet(w, p);
        break;
    case WKP_ITEM_ARP:
        if (!w->e->cfg.discard)
            arp_row(w, p);
        break;
    case WKP_ITEM_TICK: expire(w, p->clock_ns, p->pos); break;
    case WKP_ITEM_MARK: break; /* the batch's watermark covers it */
    case WKP_ITEM_FLUSH: flush_all(w, p->pos, WKP_END_EOF); break;
    case WKP_ITEM_STOP: flush_all(w, p->pos, WKP_END_EOF); return true;
    }
    return false;
}

/* After the loop: end what is left (a run stopped early; the merger drops
 * records of a failed run), then free the table, dissector contexts and
 * pools. */
static void worker_finish(struct wkp_worker *w)
{
    flush_all(w, UINT64_MAX, WKP_END_EOF);
    atomic_store_explicit(&w->watermark, UINT64_MAX, memory_order_release);
    wkp_ftable_fini(&w->table);
    wkp__app_worker_fini(&w->app);
    if (w->sig.db)
        wkp_sig_worker_fini(&w->sig);
    wkp__up_worker_fini(&w->up);
    wkp_pool_fini(&w->ts_pool);
    wkp_spares_fini(&w->ts_budget.spares);
    wkp_pool_fini(&w->rare_pool);
    wkp_pool_fini(&w->past_pool);
    wkp_pool_fini(&w->acc_pool);
    wkp_seq_pool_fini(&w->seq_pool);
    wkp_carver_fini(&w->carver);
    wkp_flow_stats_scratch_free(&w->stats_scratch);
    while (w->custom_blocks) {
        void *next = *(void **)w->custom_blocks;
        free(w->custom_blocks);
        w->custom_blocks = next;
    }
}

/* Every per-flow pool of the worker cuts its small slabs from one carver. */
static void carve_pools(struct wkp_worker *w)
{
    w->carver = (struct wkp_carver){0};
    wkp_pool_carve_from(&w->rare_pool, &w->carver);
    wkp_pool_carve_from(&w->past_pool, &w->carver);
    wkp_pool_carve_from(&w->acc_pool, &w->carver);
    wkp_pool_carve_from(&w->ts_pool, &w->carver);
    wkp_pool_carve_from(&w->app.flows, &w->carver);
    for (unsigned i = 0; i < WKP_MAX_DISSECTORS; i++)
        wkp_pool_carve_from(&w->app.states[i], &w->carver);
    wkp_pool_carve_from(&w->sig.flows, &w->carver);
    wkp_pool_carve_from(&w->sig.streams, &w->carver);
}

void *wkp__worker_main(void *arg)
{
    struct wkp_worker *w = arg;
    struct wkp_engine *e = w->e;
    rcu_register_thread();
    wkp_slab_stock_use(&w->stock);
    w->scratch.memo = &w->dmemo; /* zeroed with the worker */
    w->ts_budget.cap = (size_t)(e->cfg.tcp_stream_budget / e->nworkers);
    wkp_pool_init(&w->rare_pool, sizeof(struct live_rare));
    wkp_pool_init(&w->past_pool, sizeof(struct live_past));
    wkp_pool_init(&w->acc_pool, sizeof(struct wkp_flow_acc));
    wkp_pool_init(&w->ts_pool, sizeof(struct wkp_tcpstream));
    /* The lfht only holds the entries no slot of their bucket took (about
     * one in twenty) and grows with them: 1,024 buckets to start, as its
     * creation and destruction walk every bucket (65,536 were a sixth of
     * a short run's time). */
    if (wkp_ftable_init(&w->table, sizeof(struct live_flow), 1u << 10) != 0 ||
        wkp__app_worker_init(&w->app, e->cfg.app_layer,
                             (const char *const(*)[WKP_DIS_MAX_OPTIONS])e->app_opt_values) != 0 ||
        (e->cfg.sigdb && wkp_sig_worker_init(&w->sig, e->cfg.sigdb, e->cfg.sig_depth) != 0) ||
        wkp__up_worker_init(&w->up, e->up) != 0) {
        w->failed = 1;
        atomic_store(&e->stop, 1);
    }
    carve_pools(w);
    bool done = false;
    while (!done) {
        /* Up to BURST items are handled; up to LOOKAHEAD more, when the
         * ring has them, are only looked at by prefetch_ahead, so that the
         * first items of the next burst have had their prefetches too. */
        uint32_t first;
        uint32_t seen = wkp_ring_peek(&w->ring, BURST + LOOKAHEAD, &first);
        uint32_t n = seen < BURST ? seen : BURST;
        if (n == 0) {
            if (atomic_load_explicit(&e->stop, memory_order_relaxed))
                break;
            wkp__handoff_idle(w);
            rcu_thread_offline();
            wkp_ring_wait(&w->ring, 10);
            rcu_thread_online();
            continue;
        }
        uint64_t last = 0;
        for (uint32_t i = 0; i < n; i++) {
            struct wkp_pkt *p = &w->ring.slots[(first + i) & w->ring.mask];
            prefetch_ahead(w, first, i, seen);
            last = p->pos;
            if (!w->failed && handle_item(w, p)) {
                last = UINT64_MAX;
                done = true;
            }
        }
        wkp__handoff_drain(w);
        /* release: pairs with the merger's acquire load; the records queued
         * above are visible before the watermark that lets them out. */
        atomic_store_explicit(&w->watermark, last, memory_order_release);
        wkp_ring_release(&w->ring, n);
        rcu_quiescent_state();
        wkp_ftable_reclaim(&w->table, 4096);
    }
    worker_finish(w);
    wkp_slab_stock_use(NULL);
    rcu_unregister_thread();
    return NULL;
}
