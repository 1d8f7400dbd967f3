/* TCP stream reassembly for one direction (policies in tcpstream.h).
 *
 * Called by the worker that owns the flow; no shared state except the
 * optional budget, which belongs to that worker too.
 *
 * The idea to keep in mind: a held out-of-order byte with sequence number
 * q is written at buffer offset buf_len + (q - next), where it will be
 * once the hole before it fills. Delivering advances buf_len and next by
 * the same amount, so held bytes never move on the steady path. Only
 * giving up a hole of G bytes moves them, G places down (gaps take no
 * room), which happens at most once per hole. Every held range is kept
 * within the buffer's limit (the room rule in make_room()), so no held
 * byte is ever lost when it moves down. */
#include "reassembly/tcpstream.h"

#include <stdlib.h>
#include <string.h>

#define TS_MIN_CAP 1024u

struct ts_range {
    uint32_t seq, len;
};

/* Held ranges: sorted by distance from next, disjoint, non-adjacent
 * (adjacent ones are merged), all strictly ahead of next. */
struct wkp_tcpstream_ooo {
    uint32_t n;
    struct ts_range r[WKP_TCPSTREAM_HELD];
};

/* Distance from a to b in sequence space; >= 2^31 means b is behind a. */
static inline uint32_t ts_dist(uint32_t a, uint32_t b)
{
    return b - a;
}
static inline int ts_ahead(uint32_t a, uint32_t b)
{
    return b != a && ts_dist(a, b) < 0x80000000u;
}

static inline uint32_t ts_held(const struct wkp_tcpstream *s)
{
    return s->ooo ? s->ooo->n : 0;
}

/* Bytes the buffer may hold: the first `limit` bytes of the stream, less
 * those the reader consumed. */
static inline uint32_t ts_blimit(const struct wkp_tcpstream *s)
{
    return s->limit - s->base;
}

static inline int ts_storing(const struct wkp_tcpstream *s)
{
    return !s->closed && s->buf_len < ts_blimit(s);
}

/* Where buffers come from and go back to: the budget's spares. */
static struct wkp_spares *ts_spares(const struct wkp_tcpstream *s)
{
    return s->budget ? &s->budget->spares : NULL;
}

void wkp_tcpstream_init(struct wkp_tcpstream *s, uint32_t limit,
                        struct wkp_tcpstream_budget *budget, struct wkp_tcpstream_counters *c)
{
    memset(s, 0, sizeof *s);
    s->limit = limit;
    s->budget = budget;
    s->c = c;
}

void wkp_tcpstream_fini(struct wkp_tcpstream *s)
{
    if (s->budget)
        s->budget->used -= wkp_tcpstream_mem(s);
    wkp_spare_give(ts_spares(s), s->buf, s->buf_cap);
    free(s->ooo);
    free(s->gap);
    s->buf = NULL;
    s->ooo = NULL;
    s->gap = NULL;
    s->buf_cap = 0;
    s->ngap = 0;
}

uint32_t wkp_tcpstream_held(const struct wkp_tcpstream *s)
{
    return ts_held(s);
}

size_t wkp_tcpstream_mem(const struct wkp_tcpstream *s)
{
    return (size_t)s->buf_cap + (s->ooo ? sizeof *s->ooo : 0);
}

static int ts_charge(struct wkp_tcpstream *s, size_t more)
{
    if (!s->budget)
        return 1;
    if (s->budget->used + more > s->budget->cap) {
        s->budget->refused++;
        return 0;
    }
    s->budget->used += more;
    return 1;
}

/* The out-of-order table, allocated once per direction when first needed. */
static int ts_alloc_ooo(struct wkp_tcpstream *s)
{
    if (s->ooo)
        return 1;
    if (!ts_charge(s, sizeof *s->ooo)) {
        s->c->alloc_failed++;
        return 0;
    }
    s->ooo = calloc(1, sizeof *s->ooo);
    if (!s->ooo) {
        if (s->budget)
            s->budget->used -= sizeof *s->ooo;
        s->c->alloc_failed++;
        return 0;
    }
    return 1;
}

/* Make buf hold at least `need` (<= limit) bytes; on failure close it. */
static int ts_reserve(struct wkp_tcpstream *s, uint32_t need)
{
    if (need <= s->buf_cap)
        return 1;
    uint32_t lim = ts_blimit(s);
    uint32_t cap = s->buf_cap ? s->buf_cap : TS_MIN_CAP;
    while (cap < need)
        cap = cap > lim / 2 ? lim : cap * 2;
    if (cap > lim)
        cap = lim;
    uint8_t *p = NULL;
    if (ts_charge(s, cap - s->buf_cap)) {
        p = wkp_spare_take(ts_spares(s), cap);
        if (p && s->buf) {
            /* all of the old buffer: held bytes sit past buf_len */
            memcpy(p, s->buf, s->buf_cap);
            wkp_spare_give(ts_spares(s), s->buf, s->buf_cap);
        }
        if (!p && s->budget)
            s->budget->used -= cap - s->buf_cap;
    }
    if (!p) {
        s->c->alloc_failed++;
        s->closed = 1;
        return 0;
    }
    s->buf = p;
    s->buf_cap = cap;
    return 1;
}

/* Bytes at next put in order: copy what fits in the buffer. */
static void ts_deliver(struct wkp_tcpstream *s, const uint8_t *p, uint32_t n)
{
    uint32_t keep = 0;
    if (ts_storing(s)) {
        keep = ts_blimit(s) - s->buf_len < n ? ts_blimit(s) - s->buf_len : n;
        if (ts_reserve(s, s->buf_len + keep)) {
            memcpy(s->buf + s->buf_len, p, keep);
            s->buf_len += keep;
        } else {
            keep = 0;
        }
    }
    s->c->delivered += n;
    s->c->dropped += n - keep;
    s->next += n;
}

/* Deliver held ranges that now start at next; their bytes are in place. */
static void ts_drain(struct wkp_tcpstream *s)
{
    struct wkp_tcpstream_ooo *o = s->ooo;
    if (!o)
        return;
    uint32_t i = 0;
    while (i < o->n && o->r[i].seq == s->next) {
        uint32_t n = o->r[i].len;
        /* ts_storing() cannot have turned true since the range was held
         * (closed is sticky, buf_len only grows), and the room rule kept it
         * below limit, so "in place" is exact when storing. */
        if (ts_storing(s))
            s->buf_len += n;
        else
            s->c->dropped += n;
        s->c->delivered += n;
        s->next += n;
        i++;
    }
    if (i) {
        memmove(o->r, o->r + i, (o->n - i) * sizeof o->r[0]);
        o->n -= i;
    }
}

/* Give up the sequence numbers [next, to): a gap, then resynchronise at
 * `to` (which is at or before the first held range) and drain. */
static void ts_skip_to(struct wkp_tcpstream *s, uint32_t to)
{
    uint32_t g = ts_dist(s->next, to);
    if (g == 0)
        return;
    s->c->gaps++;
    s->c->gap_bytes += g;
    if (ts_storing(s)) {
        if (!s->gap && !(s->gap = malloc(WKP_TCPSTREAM_GAP_MARKS * sizeof *s->gap)))
            s->c->alloc_failed++; /* no marker, no way to say where: close */
        if (!s->gap || s->ngap == WKP_TCPSTREAM_GAP_MARKS) {
            s->closed = 1;
        } else {
            s->gap[s->ngap].off = s->buf_len;
            s->gap[s->ngap].len = g;
            s->ngap++;
            uint32_t n = ts_held(s);
            if (n) {
                /* Held bytes move g places down: [buf_len + g, end) -> buf_len. */
                struct ts_range *last = &s->ooo->r[n - 1];
                uint32_t end = s->buf_len + ts_dist(s->next, last->seq) + last->len;
                if (end <= s->buf_cap)
                    memmove(s->buf + s->buf_len, s->buf + s->buf_len + g, end - s->buf_len - g);
                else
                    s->closed = 1; /* a held write failed to allocate */
            }
        }
    }
    s->next = to;
    ts_drain(s);
}

/* Give up the lowest hole. */
static void ts_give_up_first(struct wkp_tcpstream *s)
{
    ts_skip_to(s, s->ooo->r[0].seq);
}

static void ts_give_up_all(struct wkp_tcpstream *s)
{
    while (ts_held(s))
        ts_give_up_first(s);
}

/* How far ahead of next held data may end. */
static uint32_t ts_room(const struct wkp_tcpstream *s)
{
    uint32_t room;
    if (ts_storing(s))
        room = ts_blimit(s) - s->buf_len;
    else
        room = s->limit > WKP_TCPSTREAM_DEFAULT_LIMIT ? s->limit : WKP_TCPSTREAM_DEFAULT_LIMIT;
    return room < WKP_TCPSTREAM_JUMP ? room : WKP_TCPSTREAM_JUMP;
}

/* Hold [seq, seq + n) (ahead of next, disjoint from held ranges, room
 * checked) with bytes p, before held range i. Returns 0 if the table is
 * full and the range could not be merged. */
static int ts_hold(struct wkp_tcpstream *s, uint32_t i, uint32_t seq, const uint8_t *p, uint32_t n)
{
    struct wkp_tcpstream_ooo *o = s->ooo;
    int join_prev = i > 0 && o->r[i - 1].seq + o->r[i - 1].len == seq;
    int join_next = i < o->n && seq + n == o->r[i].seq;
    if (!join_prev && !join_next && o->n == WKP_TCPSTREAM_HELD)
        return 0;
    if (ts_storing(s)) {
        uint32_t at = s->buf_len + ts_dist(s->next, seq);
        if (ts_reserve(s, at + n))
            memcpy(s->buf + at, p, n);
    }
    if (join_prev && join_next) {
        o->r[i - 1].len += n + o->r[i].len;
        memmove(o->r + i, o->r + i + 1, (o->n - i - 1) * sizeof o->r[0]);
        o->n--;
    } else if (join_prev) {
        o->r[i - 1].len += n;
    } else if (join_next) {
        o->r[i].seq = seq;
        o->r[i].len += n;
    } else {
        memmove(o->r + i + 1, o->r + i, (o->n - i) * sizeof o->r[0]);
        o->r[i].seq = seq;
        o->r[i].len = n;
        o->n++;
    }
    return 1;
}

/* Give up holes until [seq, seq + n) fits in the room ahead of next;
 * returns 0 if it is still too far ahead with nothing held. */
static int ts_make_room(struct wkp_tcpstream *s, uint32_t seq, uint32_t n)
{
    for (;;) {
        uint32_t d = ts_dist(s->next, seq);
        if (!ts_ahead(s->next, seq) || (uint64_t)d + n <= ts_room(s))
            return 1;
        if (!ts_held(s))
            return 0;
        ts_give_up_first(s);
    }
}

/* Place payload bytes [seq, seq + len). */
static void ts_data(struct wkp_tcpstream *s, uint32_t seq, const uint8_t *p, uint32_t len)
{
    if (len && ts_ahead(s->next, seq)) {
        s->c->ooo_segments++;
        if (!ts_make_room(s, seq, len) || !ts_alloc_ooo(s))
            ts_skip_to(s, seq); /* too far ahead (or no table): a gap at once */
    }
    uint32_t pos = 0;
    while (pos < len) {
        uint32_t q = seq + pos, left = len - pos;
        if (q == s->next) {
            uint32_t n = left;
            if (ts_held(s) && ts_dist(q, s->ooo->r[0].seq) < n)
                n = ts_dist(q, s->ooo->r[0].seq);
            ts_deliver(s, p + pos, n);
            ts_drain(s);
            pos += n;
            continue;
        }
        if (!ts_ahead(s->next, q)) { /* behind next: already delivered */
            uint32_t n = ts_dist(q, s->next);
            n = n < left ? n : left;
            s->c->overlap += n;
            pos += n;
            continue;
        }
        /* Ahead: find the first held range ending after q. */
        struct wkp_tcpstream_ooo *o = s->ooo;
        uint32_t dq = ts_dist(s->next, q), i = 0;
        while (i < o->n && ts_dist(s->next, o->r[i].seq) + o->r[i].len <= dq)
            i++;
        if (i < o->n && ts_dist(s->next, o->r[i].seq) <= dq) { /* inside a held range */
            uint32_t n = ts_dist(s->next, o->r[i].seq) + o->r[i].len - dq;
            n = n < left ? n : left;
            s->c->overlap += n;
            pos += n;
            continue;
        }
        uint32_t n = left;
        if (i < o->n && ts_dist(q, o->r[i].seq) < n)
            n = ts_dist(q, o->r[i].seq);
        if (!ts_hold(s, i, q, p + pos, n))
            ts_give_up_first(s); /* table full: the lowest hole goes, retry */
        else
            pos += n;
    }
}

void wkp_tcpstream_segment(struct wkp_tcpstream *s, uint32_t seq, uint8_t flags,
                           const uint8_t *payload, uint32_t len, uint32_t seg_len)
{
    uint32_t data_seq = seq + ((flags & WKP_TS_SYN) ? 1u : 0u);
    if (seg_len < len)
        seg_len = len;
    if (!s->started) {
        if (!(flags & WKP_TS_SYN) && seg_len == 0)
            return;
        s->started = 1;
        s->isn = s->next = data_seq;
    }
    ts_data(s, data_seq, payload, len);

    /* Bytes cut by the snaplen right at next are known lost: a gap now.
     * Cut bytes further ahead are an ordinary hole. */
    uint32_t cut_end = data_seq + seg_len;
    if (seg_len > len && !ts_ahead(s->next, data_seq + len) && ts_ahead(s->next, cut_end)) {
        uint32_t to = cut_end;
        if (ts_held(s) && ts_dist(s->next, s->ooo->r[0].seq) < ts_dist(s->next, to))
            to = s->ooo->r[0].seq;
        ts_skip_to(s, to);
    }

    if (flags & (WKP_TS_FIN | WKP_TS_RST))
        ts_give_up_all(s);
    if ((flags & WKP_TS_FIN) && !s->fin) {
        /* The FIN's sequence number is cut_end: data missing before it is
         * a gap, unless the FIN is implausibly far ahead. */
        if (ts_ahead(s->next, cut_end) && ts_dist(s->next, cut_end) <= WKP_TCPSTREAM_JUMP)
            ts_skip_to(s, cut_end);
        if (s->next == cut_end) {
            s->next++;
            s->fin = 1;
        }
    }
}

void wkp_tcpstream_finish(struct wkp_tcpstream *s)
{
    ts_give_up_all(s);
}

void wkp_tcpstream_consume(struct wkp_tcpstream *s, uint32_t n)
{
    if (n > s->buf_len)
        n = s->buf_len;
    if (!n)
        return;
    /* held bytes sit ahead of buf_len: they move down with the rest */
    uint32_t end = s->buf_len, held = ts_held(s);
    if (held && ts_storing(s)) {
        const struct ts_range *last = &s->ooo->r[held - 1];
        end = s->buf_len + ts_dist(s->next, last->seq) + last->len;
        if (end > s->buf_cap)
            end = s->buf_cap;
    }
    memmove(s->buf, s->buf + n, end - n);
    s->buf_len -= n;
    s->base += n;
    uint32_t k = 0;
    for (uint32_t g = 0; g < s->ngap; g++)
        if (s->gap[g].off >= n) {
            s->gap[k] = s->gap[g];
            s->gap[k++].off -= n;
        }
    s->ngap = (uint8_t)k;
    if (!k) {
        free(s->gap);
        s->gap = NULL;
    }
    /* An emptied buffer (and an empty out-of-order table) goes back to the
     * system: a reader that consumes is a dissector reading a flow's first
     * segments, and a flow may stay open long after that. */
    if (!s->buf_len && !held) {
        if (s->budget)
            s->budget->used -= wkp_tcpstream_mem(s);
        wkp_spare_give(ts_spares(s), s->buf, s->buf_cap);
        free(s->ooo);
        s->buf = NULL;
        s->ooo = NULL;
        s->buf_cap = 0;
    }
}
