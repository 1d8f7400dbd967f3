/* The reader: runs on the thread that called wkp_engine_run.
 *
 * For every record of every capture, in file order (with merge, the
 * captures' records in timestamp order, see read_merged): stamp its ordinal and
 * the capture clock (the largest timestamp read so far, so that idle
 * timeouts never go backwards), key it, and hand it to worker hash % N.
 * A frame is walked here (parse L2-L4, reassemble fragments, filter) and
 * reaches its worker with its parsed offsets. When the run lets the workers
 * parse (rd->quick), a frame of the commonest shape (Ethernet II, at most
 * one 802.1Q tag, IPv4 or IPv6, TCP or UDP, no tunnel: wkp_l2l4_quick) is
 * instead keyed from fixed offsets, and its worker walks and filters it:
 * the reader's cost per packet falls, and the walk runs on as many threads
 * as there are workers (docs/design.md, "Reader and workers"). Packets
 * without IP, or malformed below the transport, are counted here and go no
 * further (docs/design.md, "Accounting reasons"), except ARP packets when a
 * packet sink is open: they go to a worker as items of their own, which
 * become rows of the packet sink at their place in the stream, never flows.
 *
 * When the capture clock enters a new whole second (of the epoch, not of the
 * run: any run over the same packets ticks at the same ones, which keeps a
 * capture cut into slices and analysed piecewise in the order of one run),
 * the reader sends every worker a tick at the same stream position, whatever
 * the worker count: ticks drive idle expiry. Between ticks, a mark every
 * WKP_TICK_PACKETS packets carries a position for the merger's watermarks
 * and ends nothing. At the end of each capture (with merge: of the last) a
 * flush ends its flows.
 * Records outside the time window are skipped before anything counts them.
 * Slots are published in bursts. */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/nstime.h"
#include "reassembly/defrag.h"

#define BURST 32

/* Zero-copy frames point into the mapped capture until their worker is done.
 * The oldest item still in any ring bounds what may be released: control
 * items carry the cursor at the time they were sent, so every slot holds a
 * valid lower bound. Reading a slot the consumer has not released is safe:
 * only the reader writes slots. */
static void release_behind(struct wkp_engine *e, struct wkp_capfile *cf)
{
    const uint8_t *low = wkp_capfile_cursor(cf);
    if (!low)
        return;
    for (unsigned i = 0; i < e->nworkers; i++) {
        struct wkp_ring *r = &e->workers[i].ring;
        /* acquire: pairs with the consumer's release of tail */
        uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        if (t != h) {
            const uint8_t *d = r->slots[t & r->mask].data;
            if (d && d < low)
                low = d;
        }
    }
    wkp_capfile_release(cf, low);
}

static bool broadcast(struct wkp_engine *e, uint8_t kind, uint64_t pos, int64_t clock_ns,
                      uint16_t capture, const uint8_t *cursor)
{
    for (unsigned i = 0; i < e->nworkers; i++) {
        struct wkp_ring *r = &e->workers[i].ring;
        struct wkp_pkt *p = wkp_ring_reserve(r, 0, NULL);
        if (!p)
            return false;
        p->kind = kind;
        p->hash = 0; /* workers prefetch by the hash of every slot */
        p->pos = pos;
        p->data = cursor;
        p->clock_ns = clock_ns;
        p->ts_ns = clock_ns;
        p->capture = capture;
        /* a flush must not wait for the consumer's sleep to time out */
        if (kind == WKP_ITEM_TICK || kind == WKP_ITEM_MARK)
            wkp_ring_publish(r);
        else
            wkp_ring_publish_wake(r);
    }
    return true;
}

/* What the reader carries from record to record and from capture to
 * capture. */
struct reader {
    struct wkp_engine *e;
    struct wkp_filter *flt; /* the filter if it has packet terms, else NULL */
    struct wkp_defrag *dfr; /* NULL without IP reassembly */
    unsigned n;             /* workers */
    uint64_t ord, last_tick_ord, bytes_before;
    int64_t clock, last_tick_clock;
    int64_t next_second; /* start of the second after last_tick_clock's (see tick_due) */
    uint64_t read, wire, not_ip, malformed, filtered, unsupported;
    uint64_t held; /* fragments the reassembler kept */
    bool arp_rows; /* a packet sink writes ARP packets */
    bool quick;    /* frames may be keyed by wkp_l2l4_quick (see on_record) */
    wkp_errbuf err;
};

/* A packet on its way to a worker: a record, or the datagram its fragment
 * completed (transient: the reassembler's buffer, which must be copied). */
struct outpkt {
    const uint8_t *data;
    uint32_t caplen, wirelen;
    int64_t ts;
    bool transient;
};

/* Fragments are reassembled before filtering and sharding (docs/design.md,
 * "Fragments"). False if the packet goes no further: held for its datagram,
 * or invalid. On a completed datagram, *o and *m describe it. */
static bool reassemble(struct reader *rd, const struct wkp_rec *rec, enum wkp_parse_status *ps,
                       struct wkp_l2l4 *m, struct outpkt *o)
{
    struct wkp_defrag_frag fr = {rec->data, rec->caplen, rec->ts_ns, rec->dlt, m};
    struct wkp_defrag_out out;
    int dr = wkp_defrag_add(rd->dfr, &fr, &out);
    if (dr == WKP_DEFRAG_HELD) {
        rd->held++; /* counted when its datagram completes or expires */
        return false;
    }
    if (dr == WKP_DEFRAG_INVALID) {
        rd->malformed++;
        rd->e->malformed_by[WKP_ANOM_FRAGMENT]++;
        return false;
    }
    if (dr == WKP_DEFRAG_DONE) {
        *o = (struct outpkt){out.data, out.caplen, out.wirelen, out.ts_ns, true};
        *ps = wkp_l2l4_parse_opts(o->data, o->caplen, out.dlt, &rd->e->cfg.parse, m);
    }
    return true;
}

/* Put a keyed packet on the ring of worker hash % N, its bytes copied into
 * the ring's arena when cp (else they stay valid: zero copy). Everything
 * but the parse (p->m) is filled; NULL when the run is stopping. */
static struct wkp_pkt *put_packet(struct reader *rd, uint16_t ci, const struct wkp_key_words *key,
                                  bool src_is_a, const struct outpkt *o, bool cp, uint8_t kind)
{
    uint64_t hash = wkp_key_words_hash(key);
    unsigned n = rd->n;
    struct wkp_ring *r = &rd->e->workers[n == 1 ? 0 : wkp_key_worker(hash, n)].ring;
    uint8_t *arena = NULL;
    struct wkp_pkt *p = wkp_ring_reserve(r, cp ? o->caplen : 0, &arena);
    if (!p)
        return NULL;
    p->kind = kind;
    p->pos = WKP_POS(rd->ord, WKP_AT_PACKET);
    p->ts_ns = o->ts;
    p->clock_ns = rd->clock;
    p->caplen = o->caplen;
    p->wirelen = o->wirelen;
    p->hash = hash;
    p->src_is_a = src_is_a;
    p->capture = ci;
    memcpy(&p->key, key->w, sizeof p->key); /* from registers: never stored before */
    if (cp) {
        memcpy(arena, o->data, o->caplen);
        p->data = arena;
    } else {
        p->data = o->data;
    }
    return p;
}

/* Hand a parsed packet to its worker with its parsed offsets. */
static wkp_status dispatch(struct reader *rd, uint16_t ci, bool copy, const struct outpkt *o,
                           const struct wkp_l2l4 *m, uint8_t kind)
{
    struct wkp_key_words key;
    bool src_is_a = wkp_key_words_from_l2l4(m, &key);
    struct wkp_pkt *p = put_packet(rd, ci, &key, src_is_a, o, copy || o->transient, kind);
    if (!p)
        return WKP_ESTOPPED;
    p->m = *m;
    return WKP_OK;
}

/* The whole second of the epoch a time lies in (floor, also before 1970). */
static int64_t second_of(int64_t ns)
{
    return ns >= 0 ? ns / WKP_TICK_NS : -((-(ns + 1)) / WKP_TICK_NS) - 1;
}

/* Start of the second after the one t lies in; INT64_MAX when that is past
 * the clock's range (no later second can begin). */
static int64_t next_second(int64_t t)
{
    int64_t s = second_of(t);
    return s >= INT64_MAX / WKP_TICK_NS ? INT64_MAX : (s + 1) * WKP_TICK_NS;
}

/* The last tick's clock is t. */
static void set_tick_clock(struct reader *rd, int64_t t)
{
    rd->last_tick_clock = t;
    rd->next_second = next_second(t);
}

/* Hand a frame keyed by wkp_l2l4_quick to its worker, which walks it. */
static wkp_status dispatch_quick(struct reader *rd, uint16_t ci, bool copy,
                                 const struct wkp_rec *rec, const struct wkp_l2l4_quick *q)
{
    struct wkp_key_words key;
    bool src_is_a = wkp_key_words_from_quick(q, &key);
    struct outpkt o = {rec->data, rec->caplen, rec->wirelen, rec->ts_ns, false};
    return put_packet(rd, ci, &key, src_is_a, &o, copy, WKP_ITEM_RAW) ? WKP_OK : WKP_ESTOPPED;
}

/* One record: count it, move the clock, parse it, reassemble, filter, and
 * dispatch it or count why not. Not OK ends the read. */
static wkp_status on_record(struct reader *rd, struct wkp_capture_info *cap, uint16_t ci, bool copy,
                            const struct wkp_rec *rec)
{
    struct wkp_engine *e = rd->e;
    rd->ord++;
    rd->read++;
    cap->packets++;
    rd->wire += rec->wirelen;
    if (rd->clock == INT64_MIN || rec->ts_ns > rd->clock)
        rd->clock = rec->ts_ns;
    if (rd->last_tick_clock == INT64_MIN)
        set_tick_clock(rd, rd->clock);
    if (rec->unsupported) { /* a pcapng interface we do not decode */
        rd->unsupported++;
        return WKP_OK;
    }
    struct wkp_l2l4_quick q;
    if (rd->quick && wkp_l2l4_quick(rec->data, rec->caplen, rec->dlt, &e->cfg.parse, &q))
        return dispatch_quick(rd, ci, copy, rec, &q); /* its worker parses and filters it */
    struct wkp_l2l4 m;
    enum wkp_parse_status ps =
        wkp_l2l4_parse_opts(rec->data, rec->caplen, rec->dlt, &e->cfg.parse, &m);
    struct outpkt o = {rec->data, rec->caplen, rec->wirelen, rec->ts_ns, false};
    if (rd->dfr && ps == WKP_PARSE_FLOW && m.is_fragment && !reassemble(rd, rec, &ps, &m, &o))
        return WKP_OK;
    if (rd->flt && !wkp_filter_packet(rd->flt, o.data, o.caplen, o.wirelen, rec->dlt, &m)) {
        const char *why = wkp_filter_error(rd->flt);
        if (why) { /* a link type met mid-file that the filter cannot handle */
            wkp__set_error(e, "%s: %s", cap->path, why);
            return WKP_EINVAL;
        }
        rd->filtered++;
    } else if (ps == WKP_PARSE_NOT_IP) {
        rd->not_ip++;
        /* ARP forms no flow; a packet sink still gets its row (still not_ip) */
        if ((m.tun.flags & WKP_TF_ARP) && rd->arp_rows)
            return dispatch(rd, ci, copy, &o, &m, WKP_ITEM_ARP);
    } else if (ps == WKP_PARSE_MALFORMED) {
        rd->malformed++;
        e->malformed_by[m.anomaly < WKP_ANOM__COUNT ? m.anomaly : 0]++;
    } else {
        return dispatch(rd, ci, copy, &o, &m, WKP_ITEM_PACKET);
    }
    return WKP_OK;
}


static void publish_all(struct reader *rd)
{
    for (unsigned i = 0; i < rd->n; i++)
        wkp_ring_publish(&rd->e->workers[i].ring);
}

/* Publish a full burst (and see whether a stop came). */
static wkp_status burst_step(struct reader *rd, unsigned *in_burst)
{
    if (++*in_burst == BURST) {
        *in_burst = 0;
        publish_all(rd);
        if (atomic_load_explicit(&rd->e->stop, memory_order_relaxed))
            return WKP_ESTOPPED;
    }
    return WKP_OK;
}

/* The control item due after the current record: WKP_ITEM_TICK, WKP_ITEM_MARK,
 * or -1 for none. The clock never goes back, so it is in a later second
 * than the last tick's exactly when it has reached the next one's start
 * (a comparison per packet instead of two divisions). */
static int tick_due(const struct reader *rd)
{
    if (rd->clock >= rd->next_second && rd->next_second != INT64_MAX)
        return WKP_ITEM_TICK;
    return rd->ord - rd->last_tick_ord >= WKP_TICK_PACKETS ? WKP_ITEM_MARK : -1;
}

/* A tick or mark (kind) to every worker at the current position; cursor:
 * the capture's read position for release_behind (NULL when merging). */
static bool send_tick(struct reader *rd, int kind, uint16_t ci, const uint8_t *cursor)
{
    if (!broadcast(rd->e, (uint8_t)kind, WKP_POS(rd->ord, WKP_AT_TICK), rd->clock, ci, cursor))
        return false;
    rd->last_tick_ord = rd->ord;
    if (kind == WKP_ITEM_TICK) {
        set_tick_clock(rd, rd->clock);
        if (rd->dfr)
            wkp_defrag_expire(rd->dfr, rd->clock);
    }
    return true;
}

/* After each record: publish a full burst (and see whether a stop came),
 * and send a tick when one is due. */
static wkp_status after_record(struct reader *rd, struct wkp_capfile *cf, uint16_t ci, bool copy,
                               unsigned *in_burst)
{
    struct wkp_engine *e = rd->e;
    if (burst_step(rd, in_burst) != WKP_OK)
        return WKP_ESTOPPED;
    int kind = tick_due(rd);
    if (kind < 0)
        return WKP_OK;
    if (!send_tick(rd, kind, ci, wkp_capfile_cursor(cf)))
        return WKP_ESTOPPED;
    if (!copy)
        release_behind(e, cf);
    atomic_store_explicit(&e->prog_bytes, rd->bytes_before + wkp_capfile_bytes_done(cf),
                          memory_order_relaxed);
    atomic_store_explicit(&e->prog_packets, rd->read, memory_order_relaxed);
    return WKP_OK;
}

/* A live capture was quiet for its read timeout: publish what is pending,
 * and let the wall clock move the capture clock, so that ticks still come
 * and idle flows end on time. */
static wkp_status on_idle(struct reader *rd, uint16_t ci, const struct wkp_rec *rec,
                          unsigned *in_burst)
{
    *in_burst = 0;
    publish_all(rd);
    if (atomic_load_explicit(&rd->e->stop, memory_order_relaxed))
        return WKP_ESTOPPED;
    if (rd->clock == INT64_MIN || rec->ts_ns > rd->clock)
        rd->clock = rec->ts_ns;
    if (rd->last_tick_clock == INT64_MIN)
        set_tick_clock(rd, rd->clock);
    int kind = tick_due(rd);
    if (kind >= 0 && !send_tick(rd, kind, ci, NULL))
        return WKP_ESTOPPED;
    return WKP_OK;
}

/* A capture read to its end: note where it was cut and its damage. */
static void note_end(struct wkp_capture_info *cap)
{
    struct wkp_capfile *cf = cap->cf;
    uint64_t off;
    if (wkp_capfile_truncated(cf, &off)) {
        cap->truncated = true;
        cap->truncated_at = off;
    }
    size_t nd;
    const struct wkp_damage *d =
        wkp_capfile_damage(cf, &nd, &cap->damage_more, &cap->damage_more_bytes);
    if (nd > 0 && (cap->damage = malloc(nd * sizeof *d)) != NULL) {
        memcpy(cap->damage, d, nd * sizeof *d);
        cap->ndamage = nd;
    } else if (nd > 0) { /* out of memory: the counts stay */
        cap->damage_more += nd;
    }
}

/* A capture read to its end: note it, and end its flows with a flush. */
static wkp_status end_capture(struct reader *rd, struct wkp_capture_info *cap, uint16_t ci)
{
    note_end(cap);
    if (!broadcast(rd->e, WKP_ITEM_FLUSH, WKP_POS(rd->ord, WKP_AT_FLUSH), rd->clock, ci,
                   wkp_capfile_cursor(cap->cf)))
        return WKP_ESTOPPED;
    return WKP_OK;
}

/* The time window (wkp_config_set_time_window): a packet outside it is not
 * read at all. */
static inline bool in_window(const struct wkp_config *c, int64_t ts)
{
    return ts >= c->time_lo && ts < c->time_hi;
}

/* Every record of capture ci, then its end. */
static wkp_status read_capture(struct reader *rd, size_t ci)
{
    struct wkp_engine *e = rd->e;
    struct wkp_capture_info *cap = &e->caps[ci];
    struct wkp_capfile *cf = cap->cf;
    bool copy = !wkp_capfile_zero_copy(cf);
    struct wkp_rec rec;
    int rc;
    unsigned in_burst = 0;
    wkp_status st = WKP_OK;
    while ((rc = wkp_capfile_next(cf, &rec, &rd->err)) > 0) {
        if (rc == WKP_CAPFILE_IDLE) {
            st = on_idle(rd, (uint16_t)ci, &rec, &in_burst);
            if (st != WKP_OK)
                break;
            continue;
        }
        if (!in_window(&e->cfg, rec.ts_ns))
            continue;
        st = on_record(rd, cap, (uint16_t)ci, copy, &rec);
        if (st == WKP_OK)
            st = after_record(rd, cf, (uint16_t)ci, copy, &in_burst);
        if (st != WKP_OK)
            break;
    }
    publish_all(rd);
    if (st == WKP_OK && rc < 0) {
        st = (wkp_status)rc;
        wkp__set_error(e, "%s", rd->err.msg);
    }
    if (rd->dfr)
        wkp_defrag_flush(rd->dfr); /* fragments never cross captures */
    if (st == WKP_OK)
        st = end_capture(rd, cap, (uint16_t)ci);
    rd->bytes_before += wkp_capfile_size(cf);
    atomic_store_explicit(&e->prog_bytes, rd->bytes_before, memory_order_relaxed);
    atomic_store_explicit(&e->prog_packets, rd->read, memory_order_relaxed);
    return st;
}

/* ---- merged captures (docs/design.md, "Several captures") ------------- */

#define MERGE_CHECKPOINTS 8

/* A capture being merged. Its next record waits in rec until it is the
 * earliest of the open captures' heads. The checkpoints say how far its
 * mapping may be released: every record of it dispatched after ordinal
 * ck_ord[i] has its data at or after ck_ptr[i]. */
struct mcap {
    struct wkp_rec rec;
    uint16_t ci;
    bool copy;
    unsigned nck;
    uint64_t ck_ord[MERGE_CHECKPOINTS];
    const uint8_t *ck_ptr[MERGE_CHECKPOINTS];
};

/* Min-heap of the open captures by (head timestamp, capture index): the
 * index is the captures' order (first timestamp, then path), so a tie goes
 * to the capture that sorts first, whatever order the files were given in. */
struct mheap {
    struct mcap **a;
    size_t n;
};

static bool mcap_before(const struct mcap *x, const struct mcap *y)
{
    return x->rec.ts_ns != y->rec.ts_ns ? x->rec.ts_ns < y->rec.ts_ns : x->ci < y->ci;
}

static void mheap_down(struct mheap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < h->n && mcap_before(h->a[l], h->a[m]))
            m = l;
        if (l + 1 < h->n && mcap_before(h->a[l + 1], h->a[m]))
            m = l + 1;
        if (m == i)
            return;
        struct mcap *t = h->a[i];
        h->a[i] = h->a[m];
        h->a[m] = t;
        i = m;
    }
}

static void mheap_push(struct mheap *h, struct mcap *c)
{
    size_t i = h->n++;
    h->a[i] = c;
    while (i > 0 && mcap_before(h->a[i], h->a[(i - 1) / 2])) {
        struct mcap *t = h->a[i];
        h->a[i] = h->a[(i - 1) / 2];
        h->a[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

/* The oldest ordinal still in a ring (every ring published), or one past
 * the last dispatched if all are empty. */
static uint64_t oldest_in_rings(const struct reader *rd)
{
    uint64_t low = rd->ord + 1;
    for (unsigned i = 0; i < rd->n; i++) {
        struct wkp_ring *r = &rd->e->workers[i].ring;
        /* acquire: pairs with the consumer's release of tail */
        uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        if (t != h && WKP_POS_ORDINAL(r->slots[t & r->mask].pos) < low)
            low = WKP_POS_ORDINAL(r->slots[t & r->mask].pos);
    }
    return low;
}

/* At a tick: release each open mapped capture up to its newest checkpoint
 * that every worker has passed, then checkpoint its head. Zero-copy slots
 * of several files share the rings, so a slot's pointer bounds nothing in
 * the other files: ordinals do. */
static void merge_release(struct reader *rd, struct mheap *h)
{
    uint64_t low = oldest_in_rings(rd);
    for (size_t k = 0; k < h->n; k++) {
        struct mcap *c = h->a[k];
        struct wkp_capfile *cf = rd->e->caps[c->ci].cf;
        if (c->copy)
            continue;
        unsigned passed = 0;
        while (passed < c->nck && c->ck_ord[passed] < low)
            passed++;
        if (passed > 0) {
            wkp_capfile_release(cf, c->ck_ptr[passed - 1]);
            memmove(c->ck_ord, c->ck_ord + passed, (c->nck - passed) * sizeof c->ck_ord[0]);
            memmove(c->ck_ptr, c->ck_ptr + passed, (c->nck - passed) * sizeof c->ck_ptr[0]);
            c->nck -= passed;
        }
        if (c->nck == MERGE_CHECKPOINTS) { /* keep the newest: coarser, still safe */
            memmove(c->ck_ord, c->ck_ord + 1, (c->nck - 1) * sizeof c->ck_ord[0]);
            memmove(c->ck_ptr, c->ck_ptr + 1, (c->nck - 1) * sizeof c->ck_ptr[0]);
            c->nck--;
        }
        c->ck_ord[c->nck] = rd->ord;
        c->ck_ptr[c->nck++] = c->rec.data; /* the head: read, not yet dispatched */
    }
}

/* Bytes consumed: the captures read to their end, and the open ones so far. */
static uint64_t merge_bytes(const struct reader *rd, const struct mheap *h)
{
    uint64_t b = rd->bytes_before;
    for (size_t k = 0; k < h->n; k++)
        b += wkp_capfile_bytes_done(rd->e->caps[h->a[k]->ci].cf);
    return b;
}

/* The next record of c: 1 (c goes back on the heap), 0 (c ended and was
 * noted) or a negative status with the run's error set. */
static int merge_fetch(struct reader *rd, struct mheap *h, struct mcap *c)
{
    struct wkp_capture_info *cap = &rd->e->caps[c->ci];
    int rc;
    while ((rc = wkp_capfile_next(cap->cf, &c->rec, &rd->err)) == 1 &&
           !in_window(&rd->e->cfg, c->rec.ts_ns))
        ;
    if (rc == 1) {
        mheap_push(h, c);
        return 1;
    }
    if (rc < 0) {
        wkp__set_error(rd->e, "%s", rd->err.msg);
        return rc;
    }
    note_end(cap);
    rd->bytes_before += wkp_capfile_size(cap->cf);
    return 0;
}

/* Every capture as one stream: a k-way merge by timestamp. The captures
 * are sorted by first timestamp (engine/run.c), and one starts only when
 * its first record is the earliest head, so the heap holds the captures
 * that overlap in time. One flush at the end. */
static wkp_status read_merged(struct reader *rd)
{
    struct wkp_engine *e = rd->e;
    struct mcap *cs = calloc(e->ncaps, sizeof *cs);
    struct mheap h = {calloc(e->ncaps, sizeof *h.a), 0};
    wkp_status st = cs && h.a ? WKP_OK : WKP_ENOMEM;
    if (st != WKP_OK)
        wkp__set_error(e, "out of memory");
    size_t next = 0; /* the first capture not started */
    unsigned in_burst = 0;
    while (st == WKP_OK) {
        /* a tie goes to the open capture: it sorts first */
        if (next < e->ncaps && (h.n == 0 || e->caps[next].first_ts < h.a[0]->rec.ts_ns)) {
            struct mcap *c = &cs[next];
            c->ci = (uint16_t)next;
            c->copy = !wkp_capfile_zero_copy(e->caps[next].cf);
            next++;
            int rc = merge_fetch(rd, &h, c);
            if (rc < 0)
                st = (wkp_status)rc;
            continue;
        }
        if (h.n == 0)
            break;
        struct mcap *c = h.a[0];
        h.a[0] = h.a[--h.n];
        mheap_down(&h, 0);
        st = on_record(rd, &e->caps[c->ci], c->ci, c->copy, &c->rec);
        if (st != WKP_OK)
            break;
        int rc = merge_fetch(rd, &h, c); /* after on_record: a libpcap record dies here */
        if (rc < 0) {
            st = (wkp_status)rc;
            break;
        }
        if (burst_step(rd, &in_burst) != WKP_OK) {
            st = WKP_ESTOPPED;
            break;
        }
        int kind = tick_due(rd);
        if (kind < 0)
            continue;
        if (!send_tick(rd, kind, c->ci, NULL)) {
            st = WKP_ESTOPPED;
            break;
        }
        merge_release(rd, &h);
        atomic_store_explicit(&e->prog_bytes, merge_bytes(rd, &h), memory_order_relaxed);
        atomic_store_explicit(&e->prog_packets, rd->read, memory_order_relaxed);
    }
    publish_all(rd);
    if (rd->dfr)
        wkp_defrag_flush(rd->dfr);
    if (st == WKP_OK && e->ncaps > 0 &&
        !broadcast(e, WKP_ITEM_FLUSH, WKP_POS(rd->ord, WKP_AT_FLUSH), rd->clock,
                   (uint16_t)(e->ncaps - 1), NULL))
        st = WKP_ESTOPPED;
    atomic_store_explicit(&e->prog_bytes, rd->bytes_before, memory_order_relaxed);
    atomic_store_explicit(&e->prog_packets, rd->read, memory_order_relaxed);
    free(h.a);
    free(cs);
    return st;
}

/* The stop item goes out even after a failure so every worker exits. */
static void send_stop(struct reader *rd)
{
    for (unsigned i = 0; i < rd->n; i++) {
        struct wkp_ring *r = &rd->e->workers[i].ring;
        struct wkp_pkt *p = wkp_ring_reserve(r, 0, NULL);
        if (p) {
            p->kind = WKP_ITEM_STOP;
            p->hash = 0;
            p->pos = UINT64_MAX;
            p->data = NULL;
            p->clock_ns = rd->clock;
            wkp_ring_publish_wake(r);
        }
    }
}

static void store_counters(struct reader *rd)
{
    struct wkp_engine *e = rd->e;
    e->counters[WKP_CNT_PACKETS_READ] = rd->read;
    e->counters[WKP_CNT_BYTES_READ] = rd->wire;
    e->counters[WKP_CNT_NOT_IP] = rd->not_ip;
    e->counters[WKP_CNT_MALFORMED] = rd->malformed;
    e->counters[WKP_CNT_FILTERED] = rd->filtered;
    e->counters[WKP_CNT_UNSUPPORTED_LINK] = rd->unsupported;
    if (!rd->dfr)
        return;
    struct wkp_defrag_stats ds;
    wkp_defrag_stats(rd->dfr, &ds);
    e->counters[WKP_CNT_FRAGMENT_MERGED] = ds.frags_merged;
    e->counters[WKP_CNT_FRAGMENT_EXPIRED] = ds.frags_expired + ds.frags_evicted;
    /* Held fragments end merged, expired or evicted, or dropped with a
     * datagram later found oversized or inconsistent: those are malformed
     * (INVALID answers were counted as they came). */
    uint64_t gone = ds.frags_merged + ds.frags_expired + ds.frags_evicted;
    uint64_t late = rd->held > gone ? rd->held - gone : 0;
    e->counters[WKP_CNT_MALFORMED] += late;
    e->malformed_by[WKP_ANOM_FRAGMENT] += late;
    e->defrag_stats = ds;
}

wkp_status wkp__reader_run(struct wkp_engine *e)
{
    struct reader rd = {
        .e = e,
        .flt = e->filter && wkp_filter_has_packet_terms(e->filter) ? e->filter : NULL,
        .dfr = e->defrag,
        .n = e->nworkers,
        .arp_rows = (e->text_mask & (1u << WKP_TXT_PKT_CSV | 1u << WKP_TXT_PKT_NDJSON)) != 0,
        .quick = e->quick_key,
        .clock = INT64_MIN,
        .last_tick_clock = INT64_MIN,
    };
    wkp_status st = WKP_OK;
    if (e->cfg.merge)
        st = read_merged(&rd);
    for (size_t ci = 0; !e->cfg.merge && ci < e->ncaps && st == WKP_OK; ci++)
        st = read_capture(&rd, ci);
    if (st != WKP_OK)
        atomic_store(&e->stop, 1);
    send_stop(&rd);
    store_counters(&rd);
    return st;
}
