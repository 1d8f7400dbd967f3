/* Scanning flows (interface in scan.h). One worker thread owns a
 * wkp_sig_worker and the wkp_sig_flow of each of its flows.
 *
 * The one idea: a direction's bytes reach Hyperscan exactly once and in
 * stream order. TCP segments go through the direction's own reassembler,
 * bounded by the scan depth (it keeps nothing beyond it); whatever became
 * contiguous is scanned and consumed at once, so the reassembler holds
 * only out-of-order data waiting for a hole. Matches are therefore the same
 * for any packet split, any arrival order and any worker count. */
#include "signatures/scan.h"

#include <stdlib.h>
#include <string.h>

#include "reassembly/tcpstream.h"

#ifdef WKP_HAVE_SIGNATURES
#include <hs.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04

int wkp_sig_worker_init(struct wkp_sig_worker *sw, const struct wkp_sigdb *db, uint32_t depth)
{
    memset(sw, 0, sizeof *sw);
    sw->db = db;
    sw->ts_budget.cap = SIZE_MAX;
    wkp_pool_init(&sw->flows, sizeof(struct wkp_sig_flow));
    wkp_pool_init(&sw->streams, sizeof(struct wkp_tcpstream));
    sw->depth = depth ? depth : WKP_SIG_DEFAULT_DEPTH;
    /* no rule of a direction can match past its horizon: stop there */
    for (int d = 0; d < 2; d++)
        sw->limit[d] = db->horizon[d] < sw->depth ? (uint32_t)db->horizon[d] : sw->depth;
    if (db->proto && hs_clone_scratch(db->proto, &sw->scratch) != HS_SUCCESS) {
        sw->scratch = NULL;
        return -1;
    }
    return 0;
}

void wkp_sig_worker_fini(struct wkp_sig_worker *sw)
{
    for (int d = 0; d < 2; d++) {
        for (uint32_t i = 0; i < sw->nidle[d]; i++)
            hs_close_stream(sw->idle[d][i], NULL, NULL, NULL);
        free(sw->idle[d]);
        sw->idle[d] = NULL;
        sw->nidle[d] = sw->idle_cap[d] = 0;
    }
    hs_free_scratch(sw->scratch);
    sw->scratch = NULL;
    wkp_spares_fini(&sw->ts_budget.spares);
    wkp_pool_fini(&sw->flows);
    wkp_pool_fini(&sw->streams);
}

/* Room to keep one more idle stream of direction d; false when out of
 * memory (the stream is then closed instead). */
static bool idle_room(struct wkp_sig_worker *sw, int d)
{
    if (sw->nidle[d] < sw->idle_cap[d])
        return true;
    uint32_t cap = sw->idle_cap[d] ? sw->idle_cap[d] * 2 : 64;
    struct hs_stream **v = realloc(sw->idle[d], cap * sizeof *v);
    if (!v)
        return false;
    sw->idle[d] = v;
    sw->idle_cap[d] = cap;
    return true;
}

struct scan_ctx {
    struct wkp_sig_worker *sw;
    struct wkp_sig_flow *f;
    uint8_t dir;
    int failed;
};

/* Hyperscan's match callback: record the rule's first match in the flow
 * (each rule is single-match, so once per direction at most; a rule of
 * both directions keeps the one found first). */
static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *arg)
{
    (void)from, (void)flags;
    struct scan_ctx *c = arg;
    struct wkp_sig_flow *f = c->f;
    for (uint32_t i = 0; i < f->nm; i++)
        if (f->m[i].rule == id)
            return 0;
    if (f->nm == f->cap) {
        uint32_t cap = f->cap * 2;
        struct wkp_sig_match *m =
            f->m == f->inl ? malloc(cap * sizeof *m) : realloc(f->m, cap * sizeof *m);
        if (!m) {
            c->failed = 1;
            return 1; /* stops the scan; the run fails */
        }
        if (f->m == f->inl)
            memcpy(m, f->inl, sizeof f->inl);
        f->m = m;
        f->cap = cap;
    }
    f->m[f->nm++] = (struct wkp_sig_match){.rule = id, .dir = c->dir, .end = to};
    c->sw->c.matches++;
    return 0;
}

/* Close direction d's stream. with_end: the data really ended there (the
 * flow's end), so end-anchored patterns may match; at a depth or gap stop
 * they may not. */
static int close_dir(struct wkp_sig_worker *sw, struct wkp_sig_flow *f, int d, bool with_end)
{
    struct wkp_sig_dir *sd = &f->d[d];
    struct scan_ctx c = {.sw = sw, .f = f, .dir = (uint8_t)d};
    if (sd->hs) {
        /* A reset reports what a close would (end-anchored matches when
         * with_end) and leaves the stream as a new open would. */
        hs_scratch_t *scratch = with_end ? sw->scratch : NULL;
        match_event_handler cb = with_end ? on_match : NULL;
        if (idle_room(sw, d) && hs_reset_stream(sd->hs, 0, scratch, cb, &c) == HS_SUCCESS)
            sw->idle[d][sw->nidle[d]++] = sd->hs;
        else
            hs_close_stream(sd->hs, scratch, cb, &c);
        sd->hs = NULL;
        sw->open--;
    }
    if (sd->ts) {
        wkp_tcpstream_fini(sd->ts);
        wkp_pool_give(&sw->streams, sd->ts);
        sd->ts = NULL;
    }
    sd->done = 1;
    return c.failed ? -1 : 0;
}

/* Open direction d's stream at its first payload byte. false: no rule
 * applies to the direction (it is done) or out of memory (*oom set). */
static bool open_dir(struct wkp_sig_worker *sw, struct wkp_sig_flow *f, int d, bool tcp, bool *oom)
{
    struct wkp_sig_dir *sd = &f->d[d];
    const struct hs_database *db = sw->db->db[d];
    if (!db) {
        sd->done = 1;
        return false;
    }
    if (tcp) {
        if (!(sd->ts = wkp_pool_take(&sw->streams))) {
            *oom = true;
            return false;
        }
        /* the limit bounds what the reassembler keeps: never past depth */
        wkp_tcpstream_init(sd->ts, sw->limit[d], &sw->ts_budget, &sw->ts_counters);
        if (sd->has_syn)
            wkp_tcpstream_segment(sd->ts, sd->syn_seq, TCP_SYN, NULL, 0, 0);
    }
    if (sw->nidle[d]) {
        sd->hs = sw->idle[d][--sw->nidle[d]];
    } else if (hs_open_stream(db, 0, &sd->hs) != HS_SUCCESS) {
        sd->hs = NULL;
        *oom = true;
        return false;
    }
    sw->c.streams++;
    if (++sw->open > sw->c.open_peak)
        sw->c.open_peak = sw->open;
    return true;
}

/* Scan n more bytes of direction d (n never takes it past its limit). */
static int scan(struct wkp_sig_worker *sw, struct wkp_sig_flow *f, int d, const uint8_t *p,
                uint32_t n)
{
    struct wkp_sig_dir *sd = &f->d[d];
    struct scan_ctx c = {.sw = sw, .f = f, .dir = (uint8_t)d};
    if (n &&
        hs_scan_stream(sd->hs, (const char *)p, n, 0, sw->scratch, on_match, &c) != HS_SUCCESS &&
        !c.failed)
        c.failed = 1;
    sd->scanned += n;
    sw->c.bytes += n;
    if (c.failed)
        return -1;
    if (sd->scanned >= sw->limit[d]) {
        sw->c.budget_stops++;
        return close_dir(sw, f, d, false);
    }
    return 0;
}

/* Scan what direction d's reassembler made contiguous, up to its first
 * gap (which ends the direction's scan: a pattern must not match across
 * missing bytes, and offsets stay exact). */
static int drain(struct wkp_sig_worker *sw, struct wkp_sig_flow *f, int d)
{
    struct wkp_sig_dir *sd = &f->d[d];
    uint32_t len;
    const uint8_t *buf = wkp_tcpstream_data(sd->ts, &len);
    bool gap = wkp_tcpstream_ngaps(sd->ts) > 0;
    if (gap)
        len = wkp_tcpstream_gaps(sd->ts)[0].off;
    if (len > sw->limit[d] - sd->scanned)
        len = sw->limit[d] - sd->scanned;
    if (scan(sw, f, d, buf, len) != 0)
        return -1;
    if (sd->done)
        return 0;
    if (gap) {
        sw->c.gap_stops++;
        return close_dir(sw, f, d, false);
    }
    wkp_tcpstream_consume(sd->ts, len);
    return 0;
}

static struct wkp_sig_flow *flow_of(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot)
{
    struct wkp_sig_flow *f = *slot;
    if (!f && (f = *slot = wkp_pool_take(&sw->flows)) != NULL) {
        memset(f, 0, sizeof *f);
        f->m = f->inl;
        f->cap = WKP_SIG_INLINE_MATCHES;
    }
    return f;
}

int wkp_sig_tcp(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot, int dir, uint32_t seq,
                uint8_t flags, const uint8_t *payload, uint32_t len, uint32_t seg_len)
{
    if (!*slot && !(flags & TCP_SYN) && !seg_len)
        return 0;
    struct wkp_sig_flow *f = flow_of(sw, slot);
    if (!f)
        return -1;
    struct wkp_sig_dir *sd = &f->d[dir];
    if (sd->done)
        return 0;
    if (!sd->ts) {
        if (!seg_len) {
            /* before the direction's first payload byte: its SYN says
             * where the stream starts, should its first data segment come
             * out of order */
            if ((flags & TCP_SYN) && !sd->has_syn) {
                sd->syn_seq = seq;
                sd->has_syn = 1;
            }
            return 0;
        }
        bool oom = false;
        if (!open_dir(sw, f, dir, true, &oom))
            return oom ? -1 : 0;
    }
    uint32_t n = wkp_tcpstream_pass_head(sd->ts, seq, flags, len, seg_len);
    if (n) {
        /* in order with nothing waiting: scanned where it lies, not copied,
         * up to the stream's limit, which is the depth (a segment that
         * crosses the depth used to be copied into a buffer first) */
        if (scan(sw, f, dir, payload, n) != 0)
            return -1;
        if (sd->done)
            return 0;
    } else {
        wkp_tcpstream_segment(sd->ts, seq, flags, payload, len, seg_len);
        if (drain(sw, f, dir) != 0)
            return -1;
    }
    /* The direction's data ended (its FIN was reached in sequence, or it
     * reset): close now rather than at the flow's end, which for a closed
     * connection may be a close timeout later. */
    if (sd->hs && (sd->ts->fin || (flags & TCP_RST)))
        return close_dir(sw, f, dir, true);
    return 0;
}

int wkp_sig_datagram(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot, int dir,
                     const uint8_t *payload, uint32_t len)
{
    if (!len)
        return 0;
    struct wkp_sig_flow *f = flow_of(sw, slot);
    if (!f)
        return -1;
    struct wkp_sig_dir *sd = &f->d[dir];
    if (sd->done)
        return 0;
    bool oom = false;
    if (!sd->hs && !open_dir(sw, f, dir, false, &oom))
        return oom ? -1 : 0;
    if (len > sw->limit[dir] - sd->scanned)
        len = sw->limit[dir] - sd->scanned;
    return scan(sw, f, dir, payload, len);
}

void wkp_sig_end(struct wkp_sig_worker *sw, struct wkp_sig_flow *f)
{
    if (!f)
        return;
    for (int d = 0; d < 2; d++) {
        struct wkp_sig_dir *sd = &f->d[d];
        if (!sd->hs)
            continue;
        if (sd->ts) {
            wkp_tcpstream_finish(sd->ts); /* held data after a hole: up to the hole */
            drain(sw, f, d);
        }
        if (sd->hs)
            close_dir(sw, f, d, true);
    }
}

void wkp_sig_release(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot)
{
    struct wkp_sig_flow *f = *slot;
    if (!f)
        return;
    for (int d = 0; d < 2; d++)
        close_dir(sw, f, d, false);
    if (f->m != f->inl)
        free(f->m);
    wkp_pool_give(&sw->flows, f);
    *slot = NULL;
}

#else /* no Hyperscan: an engine never gets a database, nothing is called */

int wkp_sig_worker_init(struct wkp_sig_worker *sw, const struct wkp_sigdb *db, uint32_t depth)
{
    (void)db, (void)depth;
    memset(sw, 0, sizeof *sw);
    return -1;
}

void wkp_sig_worker_fini(struct wkp_sig_worker *sw)
{
    (void)sw;
}

int wkp_sig_tcp(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot, int dir, uint32_t seq,
                uint8_t flags, const uint8_t *payload, uint32_t len, uint32_t seg_len)
{
    (void)sw, (void)slot, (void)dir, (void)seq, (void)flags, (void)payload, (void)len;
    (void)seg_len;
    return 0;
}

int wkp_sig_datagram(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot, int dir,
                     const uint8_t *payload, uint32_t len)
{
    (void)sw, (void)slot, (void)dir, (void)payload, (void)len;
    return 0;
}

void wkp_sig_end(struct wkp_sig_worker *sw, struct wkp_sig_flow *f)
{
    (void)sw, (void)f;
}

void wkp_sig_release(struct wkp_sig_worker *sw, struct wkp_sig_flow **slot)
{
    (void)sw;
    free(*slot);
    *slot = NULL;
}

#endif

void wkp_sig_write(const struct wkp_sigdb *db, const struct wkp_sig_flow *f, struct wkp_buf *b)
{
    wkp_buf_putc(b, '[');
    for (uint32_t i = 0; f && i < f->nm; i++) {
        const struct wkp_sig_rule *r = &db->rules.v[f->m[i].rule];
        wkp_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        wkp_buf_u64(b, r->id);
        wkp_buf_puts(b, ",\"name\":");
        wkp_buf_json_str(b, r->name);
        wkp_buf_puts(b, f->m[i].dir ? ",\"dir\":\"down\",\"end\":" : ",\"dir\":\"up\",\"end\":");
        wkp_buf_u64(b, f->m[i].end);
        wkp_buf_putc(b, '}');
    }
    wkp_buf_putc(b, ']');
}

const char *wkp_sig_label(const struct wkp_sigdb *db, const struct wkp_sig_flow *f)
{
    for (uint32_t i = 0; f && i < f->nm; i++)
        if (db->rules.v[f->m[i].rule].label)
            return db->rules.v[f->m[i].rule].label;
    return NULL;
}
