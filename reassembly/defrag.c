/* IPv4 and IPv6 fragment reassembly, run by the reader before packets are
 * keyed and sharded (fragments other than the first carry no ports).
 *
 * A pending datagram lives in a slot allocated up front: its key, the
 * header of its offset-0 fragment, a pooled payload buffer and the sorted
 * list of byte ranges its fragments claimed ([off, end)) and delivered
 * ([off, cap_end), shorter when the snap length cut the packet). Ranges may
 * overlap; a byte comes from the covering fragment with the lowest offset
 * (the first received among equal offsets), as in tshark. The datagram
 * is complete when its last fragment is known and the claimed ranges cover
 * [0, total) without a gap.
 *
 * Bounded: at most max_pending slots (oldest evicted), at most max_bytes of
 * payload buffers in use (oldest evicted), at most WKP_DEFRAG_MAX_FRAGS
 * ranges per datagram. Slots keep their buffers when freed while the pool
 * holds at most max_bytes, so the steady state allocates nothing. Only the
 * reader thread touches an object. Ages are capture time, so expiry and
 * eviction follow from the packet stream alone. */
#include "reassembly/defrag.h"

#include <stdlib.h>
#include <string.h>

#include "dissectors/cursor.h"
#include "util/nstime.h"

#define DEF_MAX_PENDING 1024u
#define DEF_MAX_BYTES   (8u << 20)
#define DEF_TIMEOUT_NS  (60 * (int64_t)1000000000)
#define MAX_DATAGRAM    65535u
#define MAX_V6_EXT      16 /* extension headers walked before the fragment header */

struct dkey {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint16_t vlan;
    uint8_t family;
    uint8_t proto; /* IPv4 protocol; 0 for IPv6 */
};                 /* 40 bytes, no padding: compared and hashed as bytes */

_Static_assert(sizeof(struct dkey) == 40, "defrag key must have no padding");

/* Byte ranges of one fragment, relative to the datagram; end <= 65535. */
struct range {
    uint16_t off, end, cap_end;
};

struct dgram {
    struct dkey key;
    int64_t first_ts;
    int32_t hnext;      /* hash chain; -1 ends it */
    int32_t prev, next; /* age list while pending (oldest first); next: free list */
    uint32_t bucket;
    uint32_t nfrags;  /* fragments held, duplicates included */
    uint32_t total;   /* datagram length, once have_last */
    uint32_t need;    /* highest cap_end: buffer bytes accounted in d->buffered */
    uint32_t buf_cap; /* pooled: kept across uses of the slot */
    uint32_t hdr_cap, hdr_len;
    uint32_t l3_off; /* IP header inside hdr */
    uint32_t nh_pos; /* IPv6: the next-header byte that names the fragment header */
    int dlt;
    uint16_t nrange;
    uint8_t frag_nh; /* IPv6: next header of the offset-0 fragment's fragment header */
    bool have_first, have_last;
    uint8_t *buf, *hdr;
    struct range r[WKP_DEFRAG_MAX_FRAGS]; /* sorted by off, then end */
};

struct wkp_defrag {
    struct wkp_defrag_limits lim;
    struct dgram *slots;
    int32_t *buckets;
    uint32_t bmask;
    int32_t free_head, oldest, newest;
    uint32_t fresh; /* slots [fresh, max_pending) were never used: not on the free list */
    uint32_t npending;
    uint64_t pending_frags;
    uint64_t buffered; /* sum of need over pending datagrams */
    uint64_t pooled;   /* sum of buf_cap over every slot */
    uint8_t *out;
    uint32_t out_cap;
    struct wkp_defrag_stats st;
};

/* What one packet says about its fragment, in datagram coordinates. */
struct frag_info {
    struct dkey key;
    uint32_t off, len, cap; /* offset, claimed and captured payload bytes */
    uint32_t pay;           /* frame offset of the fragmentable payload */
    uint32_t hdr_len;       /* bytes before it, fragment header excluded */
    uint32_t nh_pos;
    uint8_t frag_nh;
    bool mf;
};

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint32_t key_hash(const struct dkey *k)
{
    uint64_t w[5], h = 0x9e3779b97f4a7c15ULL;
    memcpy(w, k, sizeof w);
    for (int i = 0; i < 5; i++)
        h = mix(h ^ w[i]);
    return (uint32_t)(h >> 32);
}

struct wkp_defrag *wkp_defrag_new(const struct wkp_defrag_limits *lim)
{
    struct wkp_defrag *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (lim)
        d->lim = *lim;
    if (!d->lim.max_pending)
        d->lim.max_pending = DEF_MAX_PENDING;
    if (d->lim.max_pending > (1u << 24))
        d->lim.max_pending = 1u << 24;
    if (!d->lim.max_bytes)
        d->lim.max_bytes = DEF_MAX_BYTES;
    if (d->lim.timeout_ns <= 0)
        d->lim.timeout_ns = DEF_TIMEOUT_NS;

    uint32_t nb = 1;
    while (nb < 2 * d->lim.max_pending)
        nb <<= 1;
    d->bmask = nb - 1;
    d->slots = calloc(d->lim.max_pending, sizeof *d->slots);
    d->buckets = malloc(nb * sizeof *d->buckets);
    if (!d->slots || !d->buckets) {
        wkp_defrag_free(d);
        return NULL;
    }
    for (uint32_t i = 0; i < nb; i++)
        d->buckets[i] = -1;
    /* The slots (nearly 1 MiB by default) are taken in order as needed,
     * so a capture without fragments never touches their pages. */
    d->free_head = -1;
    d->oldest = d->newest = -1;
    return d;
}

void wkp_defrag_free(struct wkp_defrag *d)
{
    if (!d)
        return;
    if (d->slots) {
        for (uint32_t i = 0; i < d->fresh; i++) {
            free(d->slots[i].buf);
            free(d->slots[i].hdr);
        }
    }
    free(d->slots);
    free(d->buckets);
    free(d->out);
    free(d);
}

/* ---- slots ---------------------------------------------------------------- */

static int32_t lookup(const struct wkp_defrag *d, const struct dkey *k, uint32_t h)
{
    for (int32_t i = d->buckets[h & d->bmask]; i >= 0; i = d->slots[i].hnext)
        if (memcmp(&d->slots[i].key, k, sizeof *k) == 0)
            return i;
    return -1;
}

/* Take a slot out of the table and the age list and give it back to the
 * free list; its buffer stays with it while the pool is within max_bytes. */
static void release(struct wkp_defrag *d, int32_t i)
{
    struct dgram *g = &d->slots[i];
    int32_t *pp = &d->buckets[g->bucket];
    while (*pp != i)
        pp = &d->slots[*pp].hnext;
    *pp = g->hnext;
    if (g->prev >= 0)
        d->slots[g->prev].next = g->next;
    else
        d->oldest = g->next;
    if (g->next >= 0)
        d->slots[g->next].prev = g->prev;
    else
        d->newest = g->prev;

    d->npending--;
    d->pending_frags -= g->nfrags;
    d->buffered -= g->need;
    if (d->pooled > d->lim.max_bytes) {
        d->pooled -= g->buf_cap;
        free(g->buf);
        g->buf = NULL;
        g->buf_cap = 0;
    }
    g->next = d->free_head;
    d->free_head = i;
}

static uint64_t drop_expired(struct wkp_defrag *d, int32_t i)
{
    uint64_t n = d->slots[i].nfrags;
    d->st.frags_expired += n;
    d->st.datagrams_expired++;
    release(d, i);
    return n;
}

static void drop_evicted(struct wkp_defrag *d, int32_t i)
{
    d->st.frags_evicted += d->slots[i].nfrags;
    d->st.datagrams_evicted++;
    release(d, i);
}

static int32_t create(struct wkp_defrag *d, const struct dkey *k, uint32_t h, int64_t ts)
{
    if (d->free_head < 0 && d->fresh < d->lim.max_pending) {
        d->slots[d->fresh].next = -1;
        d->free_head = (int32_t)d->fresh++;
    }
    if (d->free_head < 0)
        drop_evicted(d, d->oldest); /* max_pending reached: the oldest goes */
    int32_t i = d->free_head;
    struct dgram *g = &d->slots[i];
    d->free_head = g->next;

    g->key = *k;
    g->first_ts = ts;
    g->bucket = h & d->bmask;
    g->hnext = d->buckets[g->bucket];
    d->buckets[g->bucket] = i;
    g->prev = d->newest;
    g->next = -1;
    if (d->newest >= 0)
        d->slots[d->newest].next = i;
    else
        d->oldest = i;
    d->newest = i;
    g->nfrags = g->total = g->need = 0;
    g->hdr_len = g->l3_off = g->nh_pos = 0;
    g->nrange = 0;
    g->frag_nh = 0;
    g->have_first = g->have_last = false;
    g->dlt = 0;
    d->npending++;
    return i;
}

static bool expired(const struct wkp_defrag *d, int64_t first_ts, int64_t now)
{
    return wkp_ns_sub(now, first_ts) > d->lim.timeout_ns;
}

uint64_t wkp_defrag_expire(struct wkp_defrag *d, int64_t now_ns)
{
    uint64_t n = 0;
    /* Timestamps may go backwards, so the age list is only roughly sorted by
     * first_ts: look at every pending datagram. */
    for (int32_t i = d->oldest, next; i >= 0; i = next) {
        next = d->slots[i].next;
        if (expired(d, d->slots[i].first_ts, now_ns))
            n += drop_expired(d, i);
    }
    return n;
}

uint64_t wkp_defrag_flush(struct wkp_defrag *d)
{
    uint64_t n = 0;
    while (d->oldest >= 0)
        n += drop_expired(d, d->oldest);
    return n;
}

void wkp_defrag_stats(const struct wkp_defrag *d, struct wkp_defrag_stats *out)
{
    *out = d->st;
}

uint32_t wkp_defrag_pending(const struct wkp_defrag *d)
{
    return d->npending;
}

uint64_t wkp_defrag_pending_frags(const struct wkp_defrag *d)
{
    return d->pending_frags;
}

/* ---- reading a fragment ---------------------------------------------------- */

static void put_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void key_common(struct frag_info *fi, const struct wkp_l2l4 *m)
{
    memset(&fi->key, 0, sizeof fi->key);
    memcpy(fi->key.src, m->src, 16);
    memcpy(fi->key.dst, m->dst, 16);
    fi->key.vlan = m->vlan_id;
    fi->key.family = m->family;
}

/* IPv4: l2l4 validated the header (l3_off + IHL*4 = l4_off <= l3_end, total
 * length >= IHL*4, l3_end = min(caplen, l3_off + total length)). */
static int read_v4(const struct wkp_defrag_frag *f, struct frag_info *fi)
{
    const struct wkp_l2l4 *m = f->m;
    if (!m->mf && m->frag_off == 0)
        return WKP_DEFRAG_PASS;
    uint32_t hlen = m->l4_off - m->l3_off;
    if (m->l4_off < m->l3_off || hlen < 20 || hlen > 60 || m->l3_end < m->l4_off ||
        m->l3_end > f->caplen || m->ip_len < hlen || (uint64_t)m->l3_off + m->ip_len < m->l3_end)
        return WKP_DEFRAG_INVALID;
    key_common(fi, m);
    fi->key.id = m->ip_id;
    fi->key.proto = m->proto;
    fi->off = (uint32_t)m->frag_off * 8;
    fi->len = m->ip_len - hlen;
    fi->cap = m->l3_end - m->l4_off; /* <= len: l3_end <= l3_off + ip_len, checked above */
    fi->pay = m->l4_off;
    fi->hdr_len = m->l4_off;
    fi->mf = m->mf;
    return -1;
}

/* IPv6: l2l4 gives the transport offset, which for an offset-0 fragment lies
 * past any extension header that follows the fragment header. Find the
 * fragment header ourselves: walk hop-by-hop, routing, destination options
 * and AH from the fixed header, remembering the next-header byte that names
 * it, within [l3_off, l3_end). */
static int read_v6(const struct wkp_defrag_frag *f, struct frag_info *fi)
{
    const struct wkp_l2l4 *m = f->m;
    if (m->l3_end > f->caplen || m->l3_end < m->l3_off)
        return WKP_DEFRAG_INVALID;
    struct wkp_cur c;
    wkp_cur_init(&c, f->data, m->l3_end);
    if (!wkp_cur_skip(&c, (uint64_t)m->l3_off + 4))
        return WKP_DEFRAG_INVALID;
    uint32_t plen = wkp_cur_be16(&c);
    uint32_t nh_pos = c.off;
    uint8_t nh = wkp_cur_u8(&c);
    wkp_cur_skip(&c, 33); /* hop limit, addresses */
    /* a jumbogram (payload length 0) cannot carry a fragment header (RFC 2675) */
    if (c.short_read || plen == 0)
        return WKP_DEFRAG_INVALID;
    for (int n = 0; nh != 44; n++) {
        if (n == MAX_V6_EXT || (nh != 0 && nh != 43 && nh != 60 && nh != 51))
            return WKP_DEFRAG_INVALID;
        uint32_t at = c.off;
        uint8_t after = wkp_cur_u8(&c);
        uint8_t hl = wkp_cur_u8(&c);
        uint32_t size = nh == 51 ? ((uint32_t)hl + 2) * 4 : ((uint32_t)hl + 1) * 8;
        if (c.short_read || !wkp_cur_skip(&c, size - 2))
            return WKP_DEFRAG_INVALID;
        nh_pos = at;
        nh = after;
    }
    uint32_t frag_at = c.off;
    uint8_t frag_nh = wkp_cur_u8(&c);
    wkp_cur_skip(&c, 1);
    uint16_t offm = wkp_cur_be16(&c);
    uint32_t id = wkp_cur_be32(&c);
    uint64_t ip_end = (uint64_t)m->l3_off + 40 + plen;
    if (c.short_read || ip_end < c.off)
        return WKP_DEFRAG_INVALID;
    /* offset 0 and MF clear: an atomic fragment (RFC 6946), a whole packet */
    if ((offm & 0xFFF9) == 0)
        return WKP_DEFRAG_PASS;
    key_common(fi, m);
    fi->key.id = id;
    fi->off = offm & 0xFFF8u;
    fi->mf = offm & 1;
    fi->pay = c.off;
    fi->len = (uint32_t)(ip_end - c.off);
    fi->cap = m->l3_end - c.off;
    if (fi->cap > fi->len) /* l3_end past ip_end: only for a jumbogram, refused above */
        return WKP_DEFRAG_INVALID;
    fi->hdr_len = frag_at;
    fi->nh_pos = nh_pos;
    fi->frag_nh = frag_nh;
    return -1;
}

/* ---- adding --------------------------------------------------------------- */

static bool grow(uint8_t **p, uint32_t *cap, uint32_t need)
{
    if (need <= *cap)
        return true;
    uint32_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    uint8_t *q = realloc(*p, n);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* Drop datagram i with the incoming fragment, counting all of them under *ctr. */
static int drop_with(struct wkp_defrag *d, int32_t i, uint64_t *ctr, int result)
{
    *ctr += (uint64_t)d->slots[i].nfrags + 1;
    release(d, i);
    return result;
}

/* Make room for g to need `need` buffer bytes: evict the oldest other
 * datagrams while the total would pass max_bytes. False if g alone does. */
static bool make_room(struct wkp_defrag *d, int32_t i, uint32_t need)
{
    struct dgram *g = &d->slots[i];
    while (d->buffered - g->need + need > d->lim.max_bytes) {
        int32_t v = d->oldest == i ? g->next : d->oldest;
        if (v < 0)
            return false;
        drop_evicted(d, v);
    }
    return true;
}

/* Write the bytes of [off, cap_end) this fragment owns. A byte belongs to
 * the covering fragment with the lowest offset, the first received among
 * equal offsets: what tshark's reassembly yields (it copies fragments in
 * offset order, each from where the previous ones ended). Held ranges at
 * offsets <= off all start at or before off, so together they cover
 * [off, furthest cap_end) and the rest is ours, overwriting bytes of
 * fragments at higher offsets. */
static void copy_owned_bytes(struct dgram *g, const uint8_t *src, uint32_t off, uint32_t cap_end)
{
    uint32_t pos = off;
    for (uint16_t k = 0; k < g->nrange && g->r[k].off <= off; k++)
        if (g->r[k].cap_end > pos)
            pos = g->r[k].cap_end;
    if (pos < cap_end)
        memcpy(g->buf + pos, src + (pos - off), cap_end - pos);
}

/* Insert a range keeping the order; an exact repeat only extends cap_end.
 * False if the datagram has no room for another range. */
static bool insert_range(struct dgram *g, uint32_t off, uint32_t end, uint32_t cap_end)
{
    uint16_t k = 0;
    while (k < g->nrange && (g->r[k].off < off || (g->r[k].off == off && g->r[k].end < end)))
        k++;
    if (k < g->nrange && g->r[k].off == off && g->r[k].end == end) {
        if (g->r[k].cap_end < cap_end)
            g->r[k].cap_end = (uint16_t)cap_end;
        return true;
    }
    if (g->nrange == WKP_DEFRAG_MAX_FRAGS)
        return false;
    memmove(&g->r[k + 1], &g->r[k], (size_t)(g->nrange - k) * sizeof g->r[0]);
    g->r[k] = (struct range){(uint16_t)off, (uint16_t)end, (uint16_t)cap_end};
    g->nrange++;
    return true;
}

/* RFC 5722: does [off, end) overlap a held range other than an exact repeat? */
static bool overlaps(const struct dgram *g, uint32_t off, uint32_t end)
{
    for (uint16_t k = 0; k < g->nrange; k++) {
        const struct range *r = &g->r[k];
        if (r->off < end && off < r->end && !(r->off == off && r->end == end))
            return true;
    }
    return false;
}

/* Bytes of [0, total) covered without a gap from 0, by claimed (end) or
 * delivered (cap_end) ranges. */
static uint32_t reach(const struct dgram *g, bool captured)
{
    uint32_t at = 0;
    for (uint16_t k = 0; k < g->nrange; k++) {
        const struct range *r = &g->r[k];
        if (r->off > at)
            break;
        uint32_t e = captured ? r->cap_end : r->end;
        if (e > at)
            at = e;
    }
    return at;
}

/* The datagram is whole: build the frame in d->out and free the slot. */
static int finish(struct wkp_defrag *d, int32_t i, const struct wkp_defrag_frag *f,
                  struct wkp_defrag_out *out)
{
    struct dgram *g = &d->slots[i];
    uint32_t iphdr = g->hdr_len - g->l3_off; /* IPv6: fixed + unfragmentable headers */
    uint32_t iplen = g->key.family == 4 ? iphdr + g->total : iphdr - 40 + g->total;
    if (iplen > MAX_DATAGRAM)
        return drop_with(d, i, &d->st.frags_oversized, WKP_DEFRAG_INVALID);
    uint32_t got = reach(g, true);
    if (got > g->total)
        got = g->total;
    if (!grow(&d->out, &d->out_cap, g->hdr_len + got)) {
        d->st.datagrams_evicted++;
        return drop_with(d, i, &d->st.frags_evicted, WKP_DEFRAG_HELD);
    }

    memcpy(d->out, g->hdr, g->hdr_len);
    if (got) /* buf may be unallocated when every fragment was snapped to its header */
        memcpy(d->out + g->hdr_len, g->buf, got);
    uint8_t *ip = d->out + g->l3_off;
    if (g->key.family == 4) {
        put_be16(ip + 2, iplen);
        ip[6] &= 0xC0; /* keep reserved and DF; MF and the offset go */
        ip[7] = 0;
    } else {
        put_be16(ip + 4, iplen);
        d->out[g->nh_pos] = g->frag_nh;
    }
    out->data = d->out;
    out->caplen = g->hdr_len + got;
    out->wirelen = g->hdr_len + g->total;
    out->ts_ns = f->ts_ns;
    out->dlt = g->dlt;
    out->nfrags = g->nfrags + 1;
    d->st.frags_merged += g->nfrags;
    d->st.datagrams_done++;
    release(d, i);
    return WKP_DEFRAG_DONE;
}

int wkp_defrag_add(struct wkp_defrag *d, const struct wkp_defrag_frag *f,
                   struct wkp_defrag_out *out)
{
    const struct wkp_l2l4 *m = f->m;
    if (!m->is_fragment || (m->family != 4 && m->family != 6))
        return WKP_DEFRAG_PASS;
    struct frag_info fi;
    int rc = m->family == 4 ? read_v4(f, &fi) : read_v6(f, &fi);
    if (rc == WKP_DEFRAG_PASS)
        return rc;
    d->st.frags_in++;
    if (rc == WKP_DEFRAG_INVALID || fi.len == 0 || fi.hdr_len > WKP_DEFRAG_MAX_HDR) {
        d->st.frags_invalid++;
        return WKP_DEFRAG_INVALID;
    }
    if (fi.off + fi.len > MAX_DATAGRAM) {
        d->st.frags_oversized++;
        return WKP_DEFRAG_INVALID;
    }
    uint32_t end = fi.off + fi.len, cap_end = fi.off + fi.cap;

    uint32_t h = key_hash(&fi.key);
    int32_t i = lookup(d, &fi.key, h);
    if (i >= 0 && expired(d, d->slots[i].first_ts, f->ts_ns)) {
        drop_expired(d, i);
        i = -1;
    }
    if (i >= 0) {
        struct dgram *g = &d->slots[i];
        if (!fi.mf && g->have_last && g->total != end) {
            d->st.frags_invalid++; /* a second, different end: keep the first */
            return WKP_DEFRAG_INVALID;
        }
        if (fi.key.family == 6 && d->lim.v6_drop_overlap && overlaps(g, fi.off, end))
            return drop_with(d, i, &d->st.frags_invalid, WKP_DEFRAG_INVALID);
    } else {
        i = create(d, &fi.key, h, f->ts_ns);
    }
    struct dgram *g = &d->slots[i];

    if (!fi.mf && !g->have_last) {
        g->have_last = true;
        g->total = end;
    }
    /* Past the known end: ignored (tshark truncates such fragments too). */
    if (g->have_last) {
        if (end > g->total)
            end = g->total;
        if (cap_end > g->total)
            cap_end = g->total;
    }
    if (fi.off < end) {
        if (cap_end > g->need) {
            uint32_t was = g->buf_cap;
            if (!make_room(d, i, cap_end) || !grow(&g->buf, &g->buf_cap, cap_end)) {
                d->st.datagrams_evicted++;
                return drop_with(d, i, &d->st.frags_evicted, WKP_DEFRAG_HELD);
            }
            d->pooled += g->buf_cap - was;
            d->buffered += cap_end - g->need;
            g->need = cap_end;
        }
        if (cap_end > fi.off)
            copy_owned_bytes(g, f->data + fi.pay, fi.off, cap_end);
        if (!insert_range(g, fi.off, end, cap_end))
            return drop_with(d, i, &d->st.frags_invalid, WKP_DEFRAG_INVALID);
    }
    if (fi.off == 0 && !g->have_first) {
        if (!grow(&g->hdr, &g->hdr_cap, fi.hdr_len)) {
            d->st.datagrams_evicted++;
            return drop_with(d, i, &d->st.frags_evicted, WKP_DEFRAG_HELD);
        }
        memcpy(g->hdr, f->data, fi.hdr_len);
        g->hdr_len = fi.hdr_len;
        g->l3_off = m->l3_off;
        g->nh_pos = fi.nh_pos;
        g->frag_nh = fi.frag_nh;
        g->dlt = f->dlt;
        g->have_first = true;
    }
    if (g->have_first && g->have_last && reach(g, false) >= g->total)
        return finish(d, i, f, out);
    g->nfrags++;
    d->pending_frags++;
    return WKP_DEFRAG_HELD;
}
