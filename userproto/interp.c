/* The interpreter: a protocol's program over one packet's bytes, writing
 * into the worker's record, then the next layer its next_protocol picks.
 *
 * Bounds: every read is checked against the layer's end before it is made
 * (lengths are added in 64 bits); a field that does not fit ends the
 * layer, and the fields before it stay. Loops are capped (256 rounds or
 * items), sub-protocols nest at most 8 deep, a packet stacks at most
 * WKP_UP_MAX_LAYERS user layers, DNS names follow at most 16 pointers. A
 * value that does not fit the record's fixed capacity is counted and left
 * out; nothing allocates. Runs on a worker, on its own record. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "userproto/up_internal.h"
#include "util/addrtext.h"

#define MAX_DEPTH  8
#define MAX_ROUNDS 256

struct ictx {
    const struct wkp_up_set *s;
    struct wkp_up_rec *r;
    uint8_t layer;
    const uint8_t *base; /* the layer's first byte: DNS compression offsets count from it */
    uint32_t base_len;
    int depth;
};

int wkp_up_rec_init(const struct wkp_up_set *s, struct wkp_up_rec *r)
{
    memset(r, 0, sizeof *r);
    size_t n = s->nnames ? s->nnames : 1;
    r->stamp = calloc(n, sizeof *r->stamp);
    r->slot = calloc(n, sizeof *r->slot);
    if (!r->stamp || !r->slot) {
        wkp_up_rec_fini(r);
        return -1;
    }
    return 0;
}

void wkp_up_rec_fini(struct wkp_up_rec *r)
{
    free(r->stamp);
    free(r->slot);
    r->stamp = NULL;
    r->slot = NULL;
}

static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* The value slot for name in the current layer: the earlier value of
 * the name (later ones overwrite) or a new one; NULL when full. */
static struct wkp_up_val *slot_for(struct ictx *c, uint16_t name)
{
    struct wkp_up_rec *r = c->r;
    if (r->stamp[name] == r->gen)
        return &r->v[r->slot[name]];
    if (r->n >= WKP_UP_REC_VALUES) {
        r->capped++;
        return NULL;
    }
    r->stamp[name] = r->gen;
    r->slot[name] = (uint16_t)r->n;
    return &r->v[r->n++];
}

static void put_int(struct ictx *c, uint16_t name, uint8_t kind, int64_t v)
{
    struct wkp_up_val *x = slot_for(c, name);
    if (x)
        *x = (struct wkp_up_val){name, kind, c->layer, 0, 0, v};
}

/* Room for n more bytes of value text in the record, or NULL (counted). */
static uint8_t *room(struct ictx *c, uint32_t n)
{
    if (n > WKP_UP_REC_BYTES - c->r->used) {
        c->r->capped++;
        return NULL;
    }
    return c->r->bytes + c->r->used;
}

static void put_bytes(struct ictx *c, uint16_t name, uint8_t kind, const uint8_t *p, uint32_t n)
{
    uint8_t *dst = room(c, n);
    if (!dst)
        return;
    struct wkp_up_val *x = slot_for(c, name);
    if (!x)
        return;
    memcpy(dst, p, n);
    *x = (struct wkp_up_val){name, kind, c->layer, c->r->used, n, 0};
    c->r->used += n;
}

static int64_t look(const void *ctx, uint16_t name)
{
    const struct wkp_up_rec *r = ctx;
    if (r->stamp[name] != r->gen)
        return 0;
    const struct wkp_up_val *v = &r->v[r->slot[name]];
    return v->kind == WKP_UP_UINT || v->kind == WKP_UP_INT ? v->i : 0;
}

static int run(struct ictx *c, int32_t prog, const uint8_t *p, uint32_t len, uint32_t *used,
               uint32_t *end);

/* A sub-protocol over [p, p + n): its fields join the current layer. */
static int run_sub(struct ictx *c, int32_t prog, const uint8_t *p, uint32_t n, uint32_t *used)
{
    if (c->depth >= MAX_DEPTH)
        return 1;
    uint32_t end;
    c->depth++;
    int rc = run(c, prog, p, n, used, &end);
    c->depth--;
    return rc;
}

static const struct up_map *find(const struct wkp_up_set *s, uint32_t first, uint32_t n,
                                 uint64_t key)
{
    const struct up_map *m = s->map + first;
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m[mid].key == key)
            return &m[mid];
        if (m[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* A DNS name at p[off]: labels, pointers into the layer (at most 16), at
 * most 255 characters of text. *adv: bytes it takes at off. 0 or 1 (does
 * not fit or is malformed). */
static int dns_name(struct ictx *c, const uint8_t *p, uint32_t len, uint32_t off, uint32_t *adv,
                    uint8_t *out, uint32_t *outlen)
{
    const uint8_t *b = p;
    uint32_t blen = len, pos = off, n = 0, jumps = 0;
    *adv = 0;
    for (;;) {
        if (pos >= blen)
            return 1;
        uint8_t l = b[pos];
        if (l == 0) {
            if (!jumps)
                *adv = pos + 1 - off;
            break;
        }
        if ((l & 0xC0) == 0xC0) {
            if (pos + 1 >= blen || ++jumps > 16)
                return 1;
            if (jumps == 1)
                *adv = pos + 2 - off;
            pos = (uint32_t)((l & 0x3F) << 8 | b[pos + 1]);
            b = c->base; /* offsets count from the layer's start */
            blen = c->base_len;
            continue;
        }
        if (l & 0xC0)
            return 1;
        if ((uint64_t)pos + 1 + l > blen || n + l + 1 > 255)
            return 1;
        if (n)
            out[n++] = '.';
        memcpy(out + n, b + pos + 1, l);
        n += l;
        pos += 1u + l;
    }
    *outlen = n;
    return 0;
}

/* Run program prog over [p, p + len). *used: bytes the fields took (or
 * the header size field says); *end: where the layer's bytes end (an
 * NFLOG payload narrows it). 0: every field fit; 1: one did not. */
static int run(struct ictx *c, int32_t prog, const uint8_t *p, uint32_t len, uint32_t *used,
               uint32_t *end)
{
    const struct wkp_up_set *s = c->s;
    const struct up_prog *pg = &s->prog[prog];
    uint32_t off = 0;
    int rc = 0;
    for (uint32_t k = 0; k < pg->nop && !rc; k++) {
        const struct up_op *o = &s->op[pg->op + k];
        uint32_t rem = len - off;
        const uint8_t *q = p + off;
        switch (o->type) {
        case UP_OP_FIXED:
            if (o->size > rem) {
                rc = 1;
                break;
            }
            if (o->kind == WKP_UP_UINT || o->kind == WKP_UP_INT) {
                uint64_t v = o->little ? le(q, o->size) : be(q, o->size);
                if (o->kind == WKP_UP_INT && o->size < 8 && (v >> (o->size * 8 - 1) & 1))
                    v |= ~0ULL << (o->size * 8); /* sign-extend */
                put_int(c, o->name, o->kind, (int64_t)v);
            } else {
                put_bytes(c, o->name, o->kind, q, o->size);
            }
            off += o->size;
            break;
        case UP_OP_BITFIELD: {
            if (o->a > rem) {
                rc = 1;
                break;
            }
            uint64_t g = be(q, o->a);
            unsigned pos = o->a * 8u;
            for (uint32_t b = 0; b < o->naux; b++) {
                const struct up_bits *bt = &s->bits[o->aux + b];
                pos -= bt->bits;
                uint64_t mask = bt->bits == 64 ? ~0ULL : (1ULL << bt->bits) - 1;
                put_int(c, bt->name, WKP_UP_UINT, (int64_t)(g >> pos & mask));
            }
            off += o->a;
            break;
        }
        case UP_OP_LP:
        case UP_OP_LP_SUB: {
            if (o->a > rem || be(q, o->a) > rem - o->a) {
                rc = 1;
                break;
            }
            uint32_t n = (uint32_t)be(q, o->a);
            if (o->type == UP_OP_LP) {
                put_bytes(c, o->name, o->kind, q + o->a, n);
            } else {
                uint32_t u;
                if (run_sub(c, o->sub, q + o->a, n, &u) != 0)
                    rc = 1;
            }
            off += o->a + n;
            break;
        }
        case UP_OP_COMPUTED:
            put_int(c, o->name, WKP_UP_INT,
                    wkp__up_expr_eval(s->rpn + o->aux, o->naux, look, c->r));
            break;
        case UP_OP_TLV: {
            unsigned h = o->a + o->b;
            for (unsigned round = 0; round < MAX_ROUNDS && len - off >= h && !rc; round++) {
                q = p + off;
                uint64_t type = be(q, o->a), n = be(q + o->a, o->b);
                if (n > len - off - h) {
                    rc = 1;
                    break;
                }
                const struct up_map *m = find(s, o->aux, o->naux, type);
                uint32_t u;
                if (m && run_sub(c, m->target, q + h, (uint32_t)n, &u) != 0)
                    rc = 1;
                off += h + (uint32_t)n;
            }
            break;
        }
        case UP_OP_COUNTED: {
            int64_t cnt = look(c->r, o->name2);
            if (cnt < 0 || (uint64_t)cnt * o->a > rem) {
                rc = 1;
                break;
            }
            uint32_t n = (uint32_t)cnt;
            uint8_t *dst = room(c, n * 8u);
            for (uint32_t i = 0; dst && i < n; i++) {
                uint64_t v = be(q + (size_t)i * o->a, o->a);
                memcpy(dst + (size_t)i * 8, &v, 8);
            }
            if (dst) {
                struct wkp_up_val *x = slot_for(c, o->name);
                if (x) {
                    *x = (struct wkp_up_val){o->name,    WKP_UP_LIST_INT, c->layer,
                                             c->r->used, n * 8u,          0};
                    c->r->used += n * 8u;
                }
            }
            off += n * o->a;
            break;
        }
        case UP_OP_REST:
            put_bytes(c, o->name, o->kind, q, rem);
            off = len;
            break;
        case UP_OP_DNS_NAME: {
            uint8_t name[256];
            uint32_t adv, n;
            if (dns_name(c, p, len, off, &adv, name, &n) != 0) {
                rc = 1;
                break;
            }
            put_bytes(c, o->name, WKP_UP_STRING, name, n);
            off += adv;
            break;
        }
        case UP_OP_BSD_AF: {
            if (rem < 4) {
                rc = 1;
                break;
            }
            /* written in the capturing host's order: a family is small, so
             * a value with its low 16 bits zero was little-endian */
            uint64_t v = be(q, 4);
            if (v && !(v & 0xFFFF))
                v = le(q, 4);
            put_int(c, o->name, WKP_UP_UINT, (int64_t)v);
            off += 4;
            break;
        }
        case UP_OP_NFLOG: {
            /* NFLOG TLVs (length and type little-endian, length counts the
             * 4-byte header, padded to 4): find the payload (type 9), go to
             * its first byte, and end the layer's bytes with it. */
            uint32_t at = off;
            bool found = false;
            for (unsigned round = 0; round < MAX_ROUNDS && len - at >= 4; round++) {
                uint32_t tl = (uint32_t)le(p + at, 2), ty = (uint32_t)le(p + at + 2, 2) & 0x7FFF;
                if (tl < 4 || tl > len - at)
                    break;
                if (ty == 9) {
                    put_int(c, o->name, WKP_UP_UINT, tl - 4);
                    off = at + 4;
                    len = at + tl;
                    found = true;
                    break;
                }
                uint32_t step = (tl + 3u) & ~3u;
                if (step > len - at)
                    break;
                at += step;
            }
            if (!found)
                rc = 1;
            break;
        }
        case UP_OP_PLIST:
        case UP_OP_PLIST_TLV: {
            if (o->c > rem || be(q, o->c) > rem - o->c) {
                rc = 1;
                break;
            }
            uint32_t total = (uint32_t)be(q, o->c), at = o->c, endl = o->c + total;
            unsigned h = o->type == UP_OP_PLIST ? o->b : (unsigned)o->a + o->b;
            uint32_t start = c->r->used, items = 0;
            bool keep = o->type == UP_OP_PLIST;
            for (unsigned round = 0; round < MAX_ROUNDS && endl - at >= h && !rc; round++) {
                uint64_t type = o->type == UP_OP_PLIST ? 0 : be(q + at, o->a);
                uint64_t n = be(q + at + h - o->b, o->b);
                if (n > endl - at - h) {
                    rc = 1;
                    break;
                }
                if (o->type == UP_OP_PLIST_TLV) {
                    const struct up_map *m = find(s, o->aux, o->naux, type);
                    uint32_t u;
                    if (m && run_sub(c, m->target, q + at + h, (uint32_t)n, &u) != 0)
                        rc = 1;
                } else if (keep) {
                    /* items as [2-byte length][bytes], in the record's bytes */
                    uint8_t *dst = room(c, 2 + (uint32_t)n);
                    if (!dst) {
                        keep = false;
                    } else {
                        uint16_t l16 = (uint16_t)n;
                        memcpy(dst, &l16, 2);
                        memcpy(dst + 2, q + at + h, (size_t)n);
                        c->r->used += 2 + (uint32_t)n;
                        items++;
                    }
                }
                at += h + (uint32_t)n;
            }
            if (keep) {
                struct wkp_up_val *x = slot_for(c, o->name);
                if (x)
                    *x = (struct wkp_up_val){o->name, o->kind, c->layer, start, c->r->used - start,
                                             items};
            }
            off += endl;
            break;
        }
        case UP_OP_REPEAT:
            for (unsigned round = 0; round < MAX_ROUNDS && off < len && !rc; round++) {
                uint32_t u = 0;
                rc = run_sub(c, o->sub, p + off, len - off, &u);
                if (u == 0)
                    break;
                off += u;
            }
            break;
        case UP_OP_REPEAT_TLS:
            /* one round per TLS record: 5-byte header, bytes 3-4 its length */
            for (unsigned round = 0; round < MAX_ROUNDS && off < len && !rc; round++) {
                if (len - off < 5 || be(p + off + 3, 2) > len - off - 5) {
                    rc = 1;
                    break;
                }
                uint32_t n = 5 + (uint32_t)be(p + off + 3, 2), u;
                rc = run_sub(c, o->sub, p + off, n, &u);
                off += n;
            }
            break;
        }
    }
    if (!rc && pg->header_size >= 0) {
        int64_t h = look(c->r, (uint16_t)pg->header_size);
        if (h > (int64_t)off && h <= (int64_t)len)
            off = (uint32_t)h;
    }
    *used = off;
    *end = len;
    return rc;
}

static bool cond_holds(const struct wkp_up_set *s, const struct up_cond *cd, const uint8_t *p,
                       uint32_t n)
{
    if (cd->kind == UP_C_PREFIX) { /* always at the payload's first byte */
        const uint8_t *b = s->blob + cd->aux;
        for (uint32_t i = 0; i < cd->n; i++, b += 1 + b[0])
            if (b[0] <= n && memcmp(p, b + 1, b[0]) == 0)
                return true;
        return false;
    }
    if (cd->offset >= n)
        return false;
    uint8_t v = p[cd->offset];
    switch (cd->kind) {
    case UP_C_EQ: return v == cd->value;
    case UP_C_LE: return v <= cd->value;
    default:
        for (uint32_t i = 0; i < cd->n; i++)
            if (s->blob[cd->aux + i] == v)
                return true;
        return false;
    }
}

/* The protocol after a layer of program pg, or -1. */
static int next_of(const struct wkp_up_set *s, const struct wkp_up_rec *r, const struct up_prog *pg,
                   const uint8_t *p, uint32_t n)
{
    for (uint8_t f = 0; f < pg->nnext; f++) {
        uint16_t name = pg->next_field[f];
        if (r->stamp[name] != r->gen)
            continue;
        const struct wkp_up_val *v = &r->v[r->slot[name]];
        if (v->kind != WKP_UP_UINT && v->kind != WKP_UP_INT)
            continue;
        const struct up_map *m = find(s, pg->map, pg->nmap, (uint64_t)v->i);
        if (m)
            return m->target;
    }
    for (uint32_t h = 0; h < pg->nheur; h++) {
        const struct up_heur *hr = &s->heur[pg->heur + h];
        bool ok = n >= hr->min_length;
        for (uint32_t k = 0; ok && k < hr->ncond; k++)
            ok = cond_holds(s, &s->cond[hr->cond + k], p, n);
        if (ok)
            return hr->target;
    }
    return pg->deflt;
}

unsigned wkp_up_parse(const struct wkp_up_set *s, unsigned proto, const uint8_t *data, uint32_t len,
                      struct wkp_up_rec *r)
{
    r->n = 0;
    r->used = 0;
    r->nlayers = 0;
    uint32_t st = 0, lim = len;
    int cur = (int)proto;
    while (cur >= 0 && r->nlayers < WKP_UP_MAX_LAYERS) {
        if (++r->gen == 0) { /* the stamps wrapped: forget them all */
            memset(r->stamp, 0, (s->nnames ? s->nnames : 1) * sizeof *r->stamp);
            r->gen = 1;
        }
        const struct up_prog *pg = &s->prog[s->proto[cur].prog];
        struct ictx c = {s, r, (uint8_t)r->nlayers, data + st, lim - st, 0};
        uint32_t before = r->n, used, end;
        r->layer[r->nlayers] = (uint16_t)cur;
        int rc = run(&c, s->proto[cur].prog, data + st, lim - st, &used, &end);
        if (r->n == before && pg->nop)
            break; /* not one field fit: no such layer */
        r->nlayers++;
        if (rc)
            break;
        if (pg->total_length >= 0) { /* later layers see at most this much */
            int64_t tl = look(r, (uint16_t)pg->total_length);
            if (tl >= (int64_t)used && tl < (int64_t)end)
                end = (uint32_t)tl;
        }
        cur = next_of(s, r, pg, data + st + used, end - used);
        lim = st + end;
        st += used;
    }
    return r->nlayers;
}

/* ---- flows ---- */

uint32_t wkp_up_flow_merge(struct wkp_up_flow *f, const struct wkp_up_rec *r)
{
    uint32_t dropped = 0;
    for (uint32_t l = 0; l < r->nlayers; l++) {
        uint8_t p = (uint8_t)r->layer[l];
        bool have = false;
        for (uint8_t i = 0; i < f->nproto && !have; i++)
            have = f->proto[i] == p;
        if (!have && f->nproto < WKP_UP_FLOW_PROTOS)
            f->proto[f->nproto++] = p;
    }
    /* Packets of a flow mostly repeat one layout, in the order the flow
     * stored it: try the slot after the last match before scanning. */
    uint16_t hint = 0;
    for (uint32_t k = 0; k < r->n; k++) {
        const struct wkp_up_val *v = &r->v[k];
        uint8_t p = (uint8_t)r->layer[v->layer];
        bool have = hint < f->n && f->v[hint].name == v->name && f->v[hint].proto == p;
        for (uint16_t i = 0; i < f->n && !have; i++)
            if (f->v[i].name == v->name && f->v[i].proto == p)
                have = true, hint = i;
        if (have) {
            hint++;
            continue; /* first value wins */
        }
        if (f->n >= WKP_UP_FLOW_VALUES || v->len > (uint32_t)(WKP_UP_FLOW_BYTES - f->used)) {
            dropped++;
            continue;
        }
        memcpy(f->bytes + f->used, r->bytes + v->off, v->len);
        f->v[f->n++] = (struct wkp_up_fval){p, v->kind, v->name, f->used, (uint16_t)v->len, v->i};
        f->used = (uint16_t)(f->used + v->len);
    }
    return dropped;
}

static const char hexd[] = "0123456789abcdef";

void wkp_up_value_json(struct wkp_buf *b, uint8_t kind, int64_t i, const uint8_t *p, uint32_t len)
{
    char t[64];
    switch (kind) {
    case WKP_UP_UINT: wkp_buf_u64(b, (uint64_t)i); return;
    case WKP_UP_INT: wkp_buf_i64(b, i); return;
    case WKP_UP_IPV4:
    case WKP_UP_IPV6:
        wkp_addr_text(p, kind == WKP_UP_IPV4 ? 4 : 6, t);
        wkp_buf_json_str(b, t);
        return;
    case WKP_UP_MAC:
        for (int k = 0; k < 6; k++) {
            t[k * 3] = hexd[p[k] >> 4];
            t[k * 3 + 1] = hexd[p[k] & 15];
            t[k * 3 + 2] = k < 5 ? ':' : '\0';
        }
        wkp_buf_json_str(b, t);
        return;
    case WKP_UP_HEX:
        wkp_buf_putc(b, '"');
        for (uint32_t k = 0; k < len; k++) {
            wkp_buf_putc(b, hexd[p[k] >> 4]);
            wkp_buf_putc(b, hexd[p[k] & 15]);
        }
        wkp_buf_putc(b, '"');
        return;
    case WKP_UP_LIST_INT:
        wkp_buf_putc(b, '[');
        for (uint32_t k = 0; k + 8 <= len; k += 8) {
            uint64_t v;
            memcpy(&v, p + k, 8);
            if (k)
                wkp_buf_putc(b, ',');
            wkp_buf_u64(b, v);
        }
        wkp_buf_putc(b, ']');
        return;
    case WKP_UP_LIST_STR:
    case WKP_UP_LIST_BYTES:
        wkp_buf_putc(b, '[');
        for (uint32_t k = 0; k + 2 <= len;) {
            uint16_t l;
            memcpy(&l, p + k, 2);
            if (k)
                wkp_buf_putc(b, ',');
            wkp_buf_json_bytes(b, p + k + 2, l);
            k += 2u + l;
        }
        wkp_buf_putc(b, ']');
        return;
    default: wkp_buf_json_bytes(b, p, len); return;
    }
}

void wkp_up_flow_write(const struct wkp_up_set *s, const struct wkp_up_flow *f, unsigned proto,
                       struct wkp_buf *b)
{
    bool seen = false;
    for (uint8_t i = 0; f && i < f->nproto && !seen; i++)
        seen = f->proto[i] == proto;
    if (!seen)
        return;
    wkp_buf_putc(b, '{');
    bool first = true;
    for (uint16_t k = 0; k < f->n; k++) {
        const struct wkp_up_fval *v = &f->v[k];
        if (v->proto != proto)
            continue;
        if (!first)
            wkp_buf_putc(b, ',');
        first = false;
        wkp_buf_json_str(b, s->names[v->name]);
        wkp_buf_putc(b, ':');
        wkp_up_value_json(b, v->kind, v->i, f->bytes + v->off, v->len);
    }
    wkp_buf_putc(b, '}');
}

size_t wkp_up_flow_ext(const struct wkp_up_set *s, const struct wkp_up_flow *f, const char **names,
                       size_t max)
{
    size_t n = 0;
    for (uint8_t i = 0; f && i < f->nproto && n < max; i++)
        names[n++] = s->proto[f->proto[i]].upper;
    return n;
}
