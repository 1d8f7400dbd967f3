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
#include "features/community_id.h"
#include "util/nstime.h"
#include "flowtable/tcp.h"

/* The per-flow state, kept small: a flood holds millions of flows of one
 * to three packets (docs/design.md, "Per-flow memory", has the byte
 * count). What only some flows need (an encapsulation, TCP streams,
 * statistics past max_seq) sits behind one pointer. TCP flag counts are
 * not kept here: every packet that would count its flags also stores its
 * record, so they are summed from the records when the flow ends (plus the
 * packets past max_seq, counted in the rare block). */
struct live_rare {
    struct wkp_l2l4_tun *tun; /* the first packet's encapsulation, if it had any */
    struct wkp_tcpstream *ts; /* [2] up, down: from the first TCP payload byte */
    struct wkp_flow_acc *all; /* beyond max_seq: statistics over every packet */
    uint64_t flag_counts[8];  /* flags of the packets not stored (past max_seq) */
};

struct live_flow {
    struct wkp_fentry h;
    struct wkp_seq seq;
    uint64_t pkts[2], bytes[2]; /* [0] up, [1] down */
    int64_t start_ns, end_ns;
    uint64_t first_ord;
    uint64_t retrans;
    struct wkp_tcp_dir tcp[2];
    struct live_rare *rare; /* NULL for most flows */
    void *custom;           /* the custom features' state block, or NULL */
    uint32_t first_syn_seq;
    uint16_t capture;
    uint8_t has_first_syn;
    uint8_t closed_by; /* 0, or WKP_END_FIN / WKP_END_RST + 1 once closed */
    uint8_t creator_is_a;
};

/* The flow's rare block, allocated on first use; NULL if out of memory. */
static struct live_rare *rare_of(struct live_flow *lf)
{
    if (!lf->rare)
        lf->rare = calloc(1, sizeof *lf->rare);
    return lf->rare;
}

/* TCP flag counts over every packet of the flow (see struct live_rare). */
static void flag_counts(const struct live_flow *lf, uint64_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = lf->rare ? lf->rare->flag_counts[i] : 0;
    for (struct wkp_seq_it it = wkp_seq_first(&lf->seq); it.c; wkp_seq_next(&it))
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
    /* D3: other IP protocols follow udp_timeout; the original split UDP only */
    default: return e->cfg.compat ? 0 : e->cfg.udp_timeout_ns;
    }
}

static char *put_dec(char *p, unsigned v)
{
    char d[10];
    int n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *p++ = d[--n];
    return p;
}

static char *put_ipv4(char *p, const uint8_t *a)
{
    for (int i = 0; i < 4; i++) {
        if (i)
            *p++ = '.';
        p = put_dec(p, a[i]);
    }
    return p;
}

/* An address as inet_ntop() writes it, character for character (the
 * output format), without its sprintf per group: a flood ends millions of
 * flows and this ran twice for each. IPv6 follows glibc's inet_ntop6: the
 * longest run of two or more zero groups (the first of equal runs) becomes
 * "::", and ::a.b.c.d / ::ffff:a.b.c.d end in dotted IPv4.
 * tests/unit/test_flowmem.c compares it with inet_ntop(). */
char *wkp__addr_text(const uint8_t *a, int family, char out[46])
{
    char *p = out;
    if (family != 6) {
        p = put_ipv4(p, a);
        *p = '\0';
        return out;
    }
    unsigned w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    for (int i = 0; i < 8; i++) {
        if (w[i] == 0) {
            if (cur == -1)
                cur = i, cur_len = 1;
            else
                cur_len++;
        } else if (cur != -1) {
            if (best == -1 || cur_len > best_len)
                best = cur, best_len = cur_len;
            cur = -1;
        }
    }
    if (cur != -1 && (best == -1 || cur_len > best_len))
        best = cur, best_len = cur_len;
    if (best != -1 && best_len < 2)
        best = -1;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        if (best != -1 && i >= best && i < best + best_len) {
            if (i == best)
                *p++ = ':';
            continue;
        }
        if (i)
            *p++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
            p = put_ipv4(p, a + 12);
            break;
        }
        int sh = w[i] >= 0x1000 ? 12 : w[i] >= 0x100 ? 8 : w[i] >= 0x10 ? 4 : 0;
        for (; sh >= 0; sh -= 4)
            *p++ = hex[(w[i] >> sh) & 0xf];
    }
    if (best != -1 && best + best_len == 8)
        *p++ = ':';
    *p = '\0';
    return out;
}

static void addr_text(const uint8_t *a, int family, char out[46])
{
    wkp__addr_text(a, family, out);
}

/* "SRC:SPORT -> DST:DPORT (PROTO)", the record's key, without snprintf. */
static void key_text(struct wkp_flow *f)
{
    char tmp[16], *p = f->key;
    const char *name = wkp__proto_name(f->proto, tmp);
    size_t ls = strlen(f->src_ip), ld = strlen(f->dst_ip), ln = strlen(name);
    /* 45 + 1 + 5 + 4 + 45 + 1 + 5 + 2 + 11 + 1 + 1 < sizeof f->key */
    memcpy(p, f->src_ip, ls);
    p += ls;
    *p++ = ':';
    p = put_dec(p, f->sport);
    memcpy(p, " -> ", 4);
    p += 4;
    memcpy(p, f->dst_ip, ld);
    p += ld;
    *p++ = ':';
    p = put_dec(p, f->dport);
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

static void add_counters(struct wkp_tcpstream_counters *a, const struct wkp_tcpstream_counters *b)
{
    a->delivered += b->delivered;
    a->dropped += b->dropped;
    a->overlap += b->overlap;
    a->gap_bytes += b->gap_bytes;
    a->gaps += b->gaps;
    a->ooo_segments += b->ooo_segments;
    a->alloc_failed += b->alloc_failed;
}

static void release_state(struct wkp_worker *w, struct live_flow *lf)
{
    struct live_rare *x = lf->rare;
    if (x) {
        free(x->tun);
        if (x->ts) {
            for (int d = 0; d < 2; d++) {
                wkp_tcpstream_finish(&x->ts[d]);
                add_counters(&w->st.ts, wkp_tcpstream_counters(&x->ts[d]));
                wkp_tcpstream_fini(&x->ts[d]);
            }
            w->st.ts_streams += 2;
            free(x->ts);
        }
        free(x->all);
        free(x);
        lf->rare = NULL;
    }
    wkp_seq_release(&lf->seq, &w->seq_pool);
    if (lf->custom) {
        *(void **)lf->custom = w->custom_blocks;
        w->custom_blocks = lf->custom;
        lf->custom = NULL;
    }
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

/* End a flow: build its record, queue it for the merger, drop the entry. */
static void end_flow(struct wkp_worker *w, struct live_flow *lf, uint64_t end_pos, int reason)
{
    struct wkp_engine *e = w->e;
    uint64_t npk = lf->pkts[0] + lf->pkts[1];
    if (atomic_load_explicit(&e->stop, memory_order_relaxed)) {
        /* a stopped run writes nothing: just give the memory back */
        release_state(w, lf);
        wkp_ftable_remove(&w->table, &lf->h);
        return;
    }
    /* flow-level filter keywords (tls, dns, ...): no application
     * dissector yet, so every protocol flag is false */
    static const struct wkp_flow_protos no_protos = {false, false, false, false};
    if (npk < e->cfg.min_packets || npk == 0 ||
        (e->filter && !wkp_filter_flow_match(e->filter, &no_protos))) {
        w->st.flow_filtered += npk;
        release_state(w, lf);
        wkp_ftable_remove(&w->table, &lf->h);
        return;
    }
    struct wkp_flow *f = calloc(1, sizeof *f);
    if (!f) {
        fail(w);
        release_state(w, lf);
        wkp_ftable_remove(&w->table, &lf->h);
        return;
    }
    if (reason == WKP_END_IDLE && lf->closed_by)
        reason = lf->closed_by - 1; /* a closed flow that went quiet ended by FIN or RST */
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
    /* The record's text fields are for its sinks: with none that reads
     * records (-f none), they are left empty. */
    bool read = false;
    for (size_t i = 0; i < e->nsinks && !read; i++)
        read = e->sinks[i]->cb || e->sinks[i]->fmt != WKP_FMT_NONE;
    if (read) {
        addr_text(sa, k->family, f->src_ip);
        addr_text(da, k->family, f->dst_ip);
        key_text(f);
        wkp_community_id(k->family, sa, da, f->sport, f->dport, k->proto, 0, f->community_id);
    }
    f->start_ns = lf->start_ns;
    f->end_ns = lf->end_ns;
    f->pkts[WKP_DIR_UP] = lf->pkts[0];
    f->pkts[WKP_DIR_DOWN] = lf->pkts[1];
    f->pkts[WKP_DIR_BOTH] = npk;
    f->bytes[WKP_DIR_UP] = lf->bytes[0];
    f->bytes[WKP_DIR_DOWN] = lf->bytes[1];
    f->bytes[WKP_DIR_BOTH] = lf->bytes[0] + lf->bytes[1];
    flag_counts(lf, f->flag_counts);
    f->retrans = lf->retrans;
    if (lf->rare &&
        lf->rare->tun) { /* the record keeps it: serialisation and the callback view read it */
        f->tun = lf->rare->tun;
        lf->rare->tun = NULL;
    }

    const struct wkp_custom_set *cs = &e->cfg.custom;
    if (lf->custom)
        wkp_custom_finish(cs, lf->custom);
    /* Statistics are computed even with no text sink (-f none computes
     * everything and writes nothing: what a benchmark compares). */
    {
        struct wkp_flow_stats stats;
        if (wkp_flow_stats_compute(&lf->seq, k->proto == 6, lf->rare ? lf->rare->all : NULL,
                                   &w->stats_scratch, &stats) != 0)
            fail(w);
        struct wkp_flow_extra x = {&lf->seq, &stats, cs, lf->custom};
        if (e->text_mask && wkp__serialize(f, &x, &e->cfg, e->text_mask, &w->scratch) != 0)
            fail(w);
        if (e->want_view) {
            f->stats = malloc(sizeof *f->stats);
            f->recs = malloc((lf->seq.stored ? lf->seq.stored : 1) * sizeof *f->recs);
            if (!f->stats || !f->recs) {
                fail(w);
            } else {
                *f->stats = stats;
                for (struct wkp_seq_it it = wkp_seq_first(&lf->seq); it.c; wkp_seq_next(&it))
                    f->recs[f->nrecs++] = *it.r;
            }
        }
    }
    wkp__handoff_flow(w, f);
    w->st.flows_ended++;
    w->st.in_flow += npk;
    if (reason == WKP_END_EVICTED)
        w->st.evicted++;
    release_state(w, lf);
    wkp_ftable_remove(&w->table, &lf->h);
}

/* Flows ended at one position go to the merger in id order (merger.c):
 * a sweep collects them, sorts them by id and ends them in that order, each
 * record queued as soon as it is built, so a flush of millions of flows
 * never holds more than the queue's bound of records. */
struct ending {
    uint64_t id;
    struct live_flow *lf;
};

static void sort_endings(struct ending *v, size_t n)
{
    while (n > 16) {
        /* quicksort, median of three, recursing on the smaller side */
        size_t m = n / 2;
        if (v[m].id < v[0].id) {
            struct ending t = v[m];
            v[m] = v[0];
            v[0] = t;
        }
        if (v[n - 1].id < v[0].id) {
            struct ending t = v[n - 1];
            v[n - 1] = v[0];
            v[0] = t;
        }
        if (v[n - 1].id < v[m].id) {
            struct ending t = v[n - 1];
            v[n - 1] = v[m];
            v[m] = t;
        }
        uint64_t pivot = v[m].id;
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i].id < pivot)
                i++;
            while (v[j].id > pivot)
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
        for (; j > 0 && v[j - 1].id > x.id; j--)
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
    (*v)[(*n)++] = (struct ending){lf->first_ord, lf};
    return true;
}

static void end_all(struct wkp_worker *w, struct ending *v, size_t n, uint64_t pos, int reason)
{
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = v[i - 1].id < v[i].id;
    if (!sorted)
        sort_endings(v, n);
    for (size_t i = 0; i < n; i++) {
        /* the flows are scattered over the slabs: bring the entry 8 ahead
         * and the first records 4 ahead into the CPU cache */
        if (i + 8 < n)
            for (int l = 0; l < 4; l++)
                __builtin_prefetch((const char *)v[i + 8].lf + 64 * l, 1);
        if (i + 4 < n && v[i + 4].lf->seq.head)
            __builtin_prefetch(v[i + 4].lf->seq.head, 1);
        if (i + 2 < n && v[i + 2].lf->seq.head && v[i + 2].lf->seq.head->next)
            __builtin_prefetch(v[i + 2].lf->seq.head->next, 1);
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
    /* exactly as many as are open: 16 bytes a flow for the sweep */
    size_t n = 0, cap = w->table.count;
    struct ending *v = cap ? malloc(cap * sizeof *v) : NULL;
    if (cap && !v)
        cap = 0; /* add_ending grows it, or fails the run */
    /* every flow ends: the table is emptied as a whole (table.h), and the
     * flows are collected in memory order, not along the LRU links */
    struct wkp_ftable_it it;
    wkp_ftable_clear_begin(&w->table);
    for (struct wkp_fentry *h = wkp_ftable_first(&w->table, &it); h;
         h = wkp_ftable_next(&w->table, &it))
        if (!add_ending(w, &v, &n, &cap, h))
            goto out;
    end_all(w, v, n, pos, reason);
out:
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

static void on_packet(struct wkp_worker *w, const struct wkp_pkt *p)
{
    struct wkp_engine *e = w->e;
    const struct wkp_l2l4 *m = &p->m;
    bool tcp = m->proto == 6 && !m->is_fragment;
    uint8_t fl = tcp ? m->tcp_flags : 0;

    /* SPEC §2.4: before the flow lookup, so a dropped packet creates and
     * updates nothing. */
    if (tcp && e->cfg.filter_rst && (fl & 0x04)) {
        w->st.rst_filtered++;
        return;
    }
    if (tcp && e->cfg.filter_ack && wkp_tcp_pure_ack(fl, m->tcp_hlen, m->app_len)) {
        w->st.ack_filtered++;
        return;
    }

    int cls = m->proto == 6 ? LRU_TCP : m->proto == 17 ? LRU_UDP : LRU_OTHER;
    struct live_flow *lf = (struct live_flow *)wkp_ftable_lookup(&w->table, &p->key, p->hash);
    if (lf) {
        int64_t to = timeout_of(e, lf->h.lru_class);
        if (to > 0 && wkp_ns_sub(p->clock_ns, lf->h.last_clock_ns) > to) {
            end_flow(w, lf, p->pos, WKP_END_IDLE);
            lf = NULL;
        } else if (tcp && !e->cfg.compat && lf->closed_by &&
                   wkp_tcp_new_syn(&lf->tcp[0], &lf->tcp[1], fl, m->tcp_seq, lf->first_syn_seq,
                                   lf->has_first_syn)) {
            /* D3: decided at lookup, before the retransmission check */
            end_flow(w, lf, p->pos, WKP_END_NEW_SYN);
            lf = NULL;
        }
    }
    if (!lf) {
        if (w->max_flows && w->table.count >= w->max_flows)
            evict_one(w, p->pos);
        lf = (struct live_flow *)wkp_ftable_insert(&w->table, &p->key, p->hash, p->clock_ns,
                                                   (uint8_t)cls);
        if (!lf) {
            fail(w);
            return;
        }
        lf->first_ord = WKP_POS_ORDINAL(p->pos);
        lf->start_ns = lf->end_ns = p->ts_ns;
        lf->creator_is_a = p->src_is_a;
        lf->capture = p->capture;
        if (m->tun.n_stack) {
            struct live_rare *x = rare_of(lf);
            if (!x || !(x->tun = malloc(sizeof *x->tun))) {
                fail(w);
                return;
            }
            *x->tun = m->tun;
        }
        if (e->cfg.custom.n && !(lf->custom = custom_block(w))) {
            fail(w);
            return;
        }
    }
    int d = p->src_is_a == lf->creator_is_a ? 0 : 1;

    if (tcp) {
        if (wkp_tcp_retransmission(&lf->tcp[d], m->tcp_seq, fl, m->app_len)) {
            lf->retrans++;
            if (e->cfg.filter_retrans) {
                /* never the flow's first packet: that one only sets next_seq */
                w->st.retrans_dropped++;
                return;
            }
        }
        wkp_tcp_state_update(&lf->tcp[d], fl);
        if ((fl & 0x12) == 0x02 && !lf->has_first_syn) {
            lf->first_syn_seq = m->tcp_seq;
            lf->has_first_syn = 1;
        }
        if (!lf->closed_by && wkp_tcp_closed(&lf->tcp[0], &lf->tcp[1])) {
            lf->closed_by =
                (uint8_t)(((lf->tcp[0].state == WKP_TCP_RESET || lf->tcp[1].state == WKP_TCP_RESET)
                               ? WKP_END_RST
                               : WKP_END_FIN) +
                          1);
            if (!e->cfg.compat)
                wkp_ftable_set_class(&w->table, &lf->h, LRU_TCP_CLOSED);
        }
    }
    wkp_ftable_touch(&w->table, &lf->h, p->clock_ns);

    lf->pkts[d]++;
    lf->bytes[d] += p->wirelen;
    if (p->ts_ns > lf->end_ns)
        lf->end_ns = p->ts_ns;

    bool has_payload = m->proto == 6 || m->proto == 17;
    uint32_t payload = has_payload && !(m->proto == 17 && e->cfg.compat) ? m->app_len : 0;
    uint64_t n_before = lf->pkts[0] + lf->pkts[1] - 1;
    {
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
        if (!e->cfg.max_seq || lf->seq.stored < e->cfg.max_seq) {
            if (wkp_seq_append(&lf->seq, &w->seq_pool, &r) != 0) {
                fail(w);
                return;
            }
        } else {
            /* Past max_seq: from now on every packet feeds streaming
             * statistics, which first take in the stored records. */
            struct live_rare *x = rare_of(lf);
            if (!x) {
                fail(w);
                return;
            }
            if (!x->all) {
                if (!(x->all = malloc(sizeof *x->all))) {
                    fail(w);
                    return;
                }
                wkp_flow_acc_init(x->all);
                for (struct wkp_seq_it it = wkp_seq_first(&lf->seq); it.c; wkp_seq_next(&it))
                    wkp_flow_acc_add(x->all, it.r, tcp);
            }
            wkp_flow_acc_add(x->all, &r, tcp);
            for (int i = 0; i < 8; i++)
                x->flag_counts[i] += (fl >> i) & 1u;
        }
    }
    if (tcp && e->cfg.tcp_stream_limit && ((lf->rare && lf->rare->ts) || m->app_len)) {
        /* TCP stream reassembly per direction (reassembly/tcpstream.c): what
         * application dissectors read. seg_len is the payload the segment
         * carried; bytes the snaplen cut become a gap. */
        struct live_rare *x = rare_of(lf);
        if (!x) {
            fail(w);
            return;
        }
        if (!x->ts) {
            if (!(x->ts = malloc(2 * sizeof *x->ts))) {
                fail(w);
                return;
            }
            for (int k = 0; k < 2; k++)
                wkp_tcpstream_init(&x->ts[k], e->cfg.tcp_stream_limit, &w->ts_budget);
        }
        uint32_t avail = p->caplen > m->app_off ? p->caplen - m->app_off : 0;
        uint32_t len = m->app_len < avail ? m->app_len : avail;
        uint32_t hdrs = (m->l4_off - m->l3_off) + m->tcp_hlen;
        uint32_t seg = m->ip_len > hdrs ? m->ip_len - hdrs : 0;
        wkp_tcpstream_segment(&x->ts[d], m->tcp_seq, fl, len ? p->data + m->app_off : NULL, len,
                              seg > len ? seg : len);
    }
    if (lf->custom) {
        uint32_t avail = p->caplen > m->app_off ? p->caplen - m->app_off : 0;
        uint32_t plen = has_payload ? (m->app_len < avail ? m->app_len : avail) : 0;
        wkp_pkt_view v = {
            .ts_ns = p->ts_ns,
            .index = n_before,
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
        wkp_custom_update(&e->cfg.custom, lf->custom, &v);
    }
}

void *wkp__worker_main(void *arg)
{
    struct wkp_worker *w = arg;
    struct wkp_engine *e = w->e;
    rcu_register_thread();
    w->ts_budget.cap = (size_t)(e->cfg.tcp_stream_budget / e->nworkers);
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
            wkp__handoff_idle(w);
            rcu_thread_offline();
            wkp_ring_wait(&w->ring, 10);
            rcu_thread_online();
            continue;
        }
        uint64_t last = 0;
        for (uint32_t i = 0; i < n; i++) {
            const struct wkp_pkt *p = &w->ring.slots[(first + i) & w->ring.mask];
            /* hide the flow lookup's cache misses behind the packets before it:
             * the slot 16 packets ahead, its entry 8 ahead, then (4 ahead,
             * by when the entry has arrived) the chunk its next record goes
             * to and its LRU neighbours. No load here may wait on memory. */
            if (i + 16 < n)
                wkp_ftable_prefetch_slot(&w->table,
                                         w->ring.slots[(first + i + 16) & w->ring.mask].hash);
            if (i + 8 < n)
                wkp_ftable_prefetch_entry(&w->table,
                                          w->ring.slots[(first + i + 8) & w->ring.mask].hash);
            if (i + 4 < n) {
                uint64_t h4 = w->ring.slots[(first + i + 4) & w->ring.mask].hash;
                const struct live_flow *nf =
                    (const struct live_flow *)wkp_ftable_cached(&w->table, h4);
                if (nf && nf->h.hash_lo == (uint32_t)h4 && nf->seq.tail) {
                    __builtin_prefetch(nf->seq.tail, 1);
                    __builtin_prefetch((const char *)nf->seq.tail + 64, 1);
                }
                wkp_ftable_prefetch_lru(&w->table, h4);
            }
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
            case WKP_ITEM_TICK: expire(w, p->clock_ns, p->pos); break;
            case WKP_ITEM_FLUSH: flush_all(w, p->pos, WKP_END_EOF); break;
            case WKP_ITEM_STOP:
                flush_all(w, p->pos, WKP_END_EOF);
                last = UINT64_MAX;
                done = true;
                break;
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
    /* Stopped early: end what is left so nothing leaks; the merger drops
     * records of a failed run. */
    flush_all(w, UINT64_MAX, WKP_END_EOF);
    atomic_store_explicit(&w->watermark, UINT64_MAX, memory_order_release);
    wkp_ftable_fini(&w->table);
    wkp_seq_pool_fini(&w->seq_pool);
    wkp_flow_stats_scratch_free(&w->stats_scratch);
    while (w->custom_blocks) {
        void *next = *(void **)w->custom_blocks;
        free(w->custom_blocks);
        w->custom_blocks = next;
    }
    rcu_unregister_thread();
    return NULL;
}
