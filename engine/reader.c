/* The reader: runs on the thread that called wkp_engine_run.
 *
 * For every record of every capture, in file order: stamp its ordinal and
 * the capture clock (the largest timestamp read so far, so that idle
 * timeouts never go backwards), parse L2-L4 once, build the canonical key
 * and its symmetric hash, and hand the packet with its parsed offsets to
 * worker hash % N, which never parses L2-L4 again. Packets without IP, or
 * malformed below the transport, are counted here and go no further (D9).
 *
 * Every WKP_TICK_PACKETS packets, or when the clock moved WKP_TICK_NS, the
 * reader sends every worker a tick at the same stream position, whatever the
 * worker count: ticks drive idle expiry and the merger's watermark. At the
 * end of each capture a flush ends its flows. Slots are published in bursts. */
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
        if (kind == WKP_ITEM_TICK)
            wkp_ring_publish(r);
        else
            wkp_ring_publish_wake(r);
    }
    return true;
}

wkp_status wkp__reader_run(struct wkp_engine *e)
{
    uint64_t ord = 0, last_tick_ord = 0, bytes_before = 0;
    int64_t clock = INT64_MIN, last_tick_clock = INT64_MIN;
    uint64_t read = 0, wire = 0, not_ip = 0, malformed = 0, filtered = 0, unsupported = 0;
    struct wkp_filter *flt = e->filter && wkp_filter_has_packet_terms(e->filter) ? e->filter : NULL;
    struct wkp_defrag *dfr = e->defrag;
    uint64_t held = 0;
    unsigned n = e->nworkers;
    wkp_status st = WKP_OK;
    wkp_errbuf err = {{0}};

    for (size_t ci = 0; ci < e->ncaps && st == WKP_OK; ci++) {
        struct wkp_capture_info *cap = &e->caps[ci];
        struct wkp_capfile *cf = cap->cf;
        bool copy = !wkp_capfile_zero_copy(cf);
        struct wkp_rec rec;
        int rc;
        unsigned in_burst = 0;
        while ((rc = wkp_capfile_next(cf, &rec, &err)) == 1) {
            ord++;
            read++;
            cap->packets++;
            wire += rec.wirelen;
            if (clock == INT64_MIN || rec.ts_ns > clock)
                clock = rec.ts_ns;
            if (last_tick_clock == INT64_MIN)
                last_tick_clock = clock;
            if (rec.unsupported) { /* a pcapng interface we do not decode */
                unsupported++;
                goto next;
            }

            struct wkp_l2l4 m;
            enum wkp_parse_status ps =
                wkp_l2l4_parse_opts(rec.data, rec.caplen, rec.dlt, &e->cfg.parse, &m);
            const uint8_t *data = rec.data;
            uint32_t caplen = rec.caplen, wirelen = rec.wirelen;
            int64_t ts = rec.ts_ns;
            bool transient = false; /* data is the reassembler's buffer: copy it */
            if (dfr && ps == WKP_PARSE_FLOW && m.is_fragment) {
                /* D2: fragments are reassembled before filtering and sharding */
                struct wkp_defrag_frag fr = {rec.data, rec.caplen, rec.ts_ns, rec.dlt, &m};
                struct wkp_defrag_out out;
                int dr = wkp_defrag_add(dfr, &fr, &out);
                if (dr == WKP_DEFRAG_HELD) {
                    held++; /* counted when its datagram completes or expires */
                    goto next;
                }
                if (dr == WKP_DEFRAG_INVALID) {
                    malformed++;
                    e->malformed_by[WKP_ANOM_FRAGMENT]++;
                    goto next;
                }
                if (dr == WKP_DEFRAG_DONE) {
                    data = out.data;
                    caplen = out.caplen;
                    wirelen = out.wirelen;
                    ts = out.ts_ns;
                    transient = true;
                    ps = wkp_l2l4_parse_opts(data, caplen, out.dlt, &e->cfg.parse, &m);
                }
            }
            if (flt && !wkp_filter_packet(flt, data, caplen, wirelen, rec.dlt, &m)) {
                const char *why = wkp_filter_error(flt);
                if (why) { /* a link type met mid-file that the filter cannot handle */
                    wkp__set_error(e, "%s: %s", cap->path, why);
                    st = WKP_EINVAL;
                    break;
                }
                filtered++;
            } else if (ps == WKP_PARSE_NOT_IP) {
                not_ip++;
            } else if (ps == WKP_PARSE_MALFORMED) {
                malformed++;
                e->malformed_by[m.anomaly < WKP_ANOM__COUNT ? m.anomaly : 0]++;
            } else {
                struct wkp_flow_key key;
                bool src_is_a = wkp_key_from_l2l4(&m, &key);
                uint64_t hash = wkp_key_hash(&key);
                struct wkp_ring *r = &e->workers[n == 1 ? 0 : wkp_key_worker(hash, n)].ring;
                uint8_t *arena = NULL;
                bool cp = copy || transient;
                struct wkp_pkt *p = wkp_ring_reserve(r, cp ? caplen : 0, &arena);
                if (!p) {
                    st = WKP_ESTOPPED;
                    break;
                }
                p->kind = WKP_ITEM_PACKET;
                p->pos = WKP_POS(ord, WKP_AT_PACKET);
                p->ts_ns = ts;
                p->clock_ns = clock;
                p->caplen = caplen;
                p->wirelen = wirelen;
                p->hash = hash;
                p->src_is_a = src_is_a;
                p->capture = (uint16_t)ci;
                p->key = key;
                p->m = m;
                if (cp) {
                    memcpy(arena, data, caplen);
                    p->data = arena;
                } else {
                    p->data = data;
                }
            }
        next:
            if (++in_burst == BURST) {
                in_burst = 0;
                for (unsigned i = 0; i < n; i++)
                    wkp_ring_publish(&e->workers[i].ring);
                if (atomic_load_explicit(&e->stop, memory_order_relaxed)) {
                    st = WKP_ESTOPPED;
                    break;
                }
            }
            if (ord - last_tick_ord >= WKP_TICK_PACKETS ||
                wkp_ns_sub(clock, last_tick_clock) >= WKP_TICK_NS) {
                if (!broadcast(e, WKP_ITEM_TICK, WKP_POS(ord, WKP_AT_TICK), clock, (uint16_t)ci,
                               wkp_capfile_cursor(cf))) {
                    st = WKP_ESTOPPED;
                    break;
                }
                last_tick_ord = ord;
                last_tick_clock = clock;
                if (dfr)
                    wkp_defrag_expire(dfr, clock);
                if (!copy)
                    release_behind(e, cf);
                atomic_store_explicit(&e->prog_bytes, bytes_before + wkp_capfile_bytes_done(cf),
                                      memory_order_relaxed);
                atomic_store_explicit(&e->prog_packets, read, memory_order_relaxed);
            }
        }
        for (unsigned i = 0; i < n; i++)
            wkp_ring_publish(&e->workers[i].ring);
        if (st == WKP_OK && rc < 0) {
            st = (wkp_status)rc;
            wkp__set_error(e, "%s", err.msg);
        }
        if (dfr)
            wkp_defrag_flush(dfr); /* fragments never cross captures */
        if (st == WKP_OK) {
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
            if (!broadcast(e, WKP_ITEM_FLUSH, WKP_POS(ord, WKP_AT_FLUSH), clock, (uint16_t)ci,
                           wkp_capfile_cursor(cf)))
                st = WKP_ESTOPPED;
        }
        bytes_before += wkp_capfile_size(cf);
        atomic_store_explicit(&e->prog_bytes, bytes_before, memory_order_relaxed);
        atomic_store_explicit(&e->prog_packets, read, memory_order_relaxed);
    }
    if (st != WKP_OK)
        atomic_store(&e->stop, 1);
    /* The stop item goes out even after a failure so every worker exits. */
    for (unsigned i = 0; i < n; i++) {
        struct wkp_ring *r = &e->workers[i].ring;
        struct wkp_pkt *p = wkp_ring_reserve(r, 0, NULL);
        if (p) {
            p->kind = WKP_ITEM_STOP;
            p->hash = 0;
            p->pos = UINT64_MAX;
            p->data = NULL;
            p->clock_ns = clock;
            wkp_ring_publish_wake(r);
        }
    }
    e->counters[WKP_CNT_PACKETS_READ] = read;
    e->counters[WKP_CNT_BYTES_READ] = wire;
    e->counters[WKP_CNT_NOT_IP] = not_ip;
    e->counters[WKP_CNT_MALFORMED] = malformed;
    e->counters[WKP_CNT_FILTERED] = filtered;
    e->counters[WKP_CNT_UNSUPPORTED_LINK] = unsupported;
    if (dfr) {
        struct wkp_defrag_stats ds;
        wkp_defrag_stats(dfr, &ds);
        e->counters[WKP_CNT_FRAGMENT_MERGED] = ds.frags_merged;
        e->counters[WKP_CNT_FRAGMENT_EXPIRED] = ds.frags_expired + ds.frags_evicted;
        /* Held fragments end merged, expired or evicted, or dropped with a
         * datagram later found oversized or inconsistent: those are
         * malformed (INVALID answers were counted as they came). */
        uint64_t gone = ds.frags_merged + ds.frags_expired + ds.frags_evicted;
        uint64_t late = held > gone ? held - gone : 0;
        e->counters[WKP_CNT_MALFORMED] += late;
        e->malformed_by[WKP_ANOM_FRAGMENT] += late;
        e->defrag_stats = ds;
    }
    return st;
}
