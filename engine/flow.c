/* Read-only accessors of a finished flow (the public wkp_flow view). Called
 * from sink callbacks on the merger thread; the record is freed after the
 * callbacks return. A NULL flow gives 0 or "" (NaN for a statistic), like
 * the rest of the API refuses NULL. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/columns.h"
#include "engine/internal.h"
#include "util/nstime.h"

uint64_t wkp_flow_end_position(const wkp_flow *f)
{
    return f ? f->end_pos : 0;
}

uint64_t wkp_flow_id(const wkp_flow *f)
{
    return f ? f->id : 0;
}
const char *wkp_flow_capture(const wkp_flow *f)
{
    return f ? f->capture : "";
}
const char *wkp_flow_key(const wkp_flow *f)
{
    return f ? f->key : "";
}
const char *wkp_flow_src_ip(const wkp_flow *f)
{
    return f ? f->src_ip : "";
}
const char *wkp_flow_dst_ip(const wkp_flow *f)
{
    return f ? f->dst_ip : "";
}
uint16_t wkp_flow_src_port(const wkp_flow *f)
{
    return f ? f->sport : 0;
}
uint16_t wkp_flow_dst_port(const wkp_flow *f)
{
    return f ? f->dport : 0;
}
uint8_t wkp_flow_protocol(const wkp_flow *f)
{
    return f ? f->proto : 0;
}
int wkp_flow_ip_version(const wkp_flow *f)
{
    return f ? f->family : 0;
}
uint16_t wkp_flow_vlan_id(const wkp_flow *f)
{
    return f ? f->vlan_id : 0;
}
int64_t wkp_flow_start_ns(const wkp_flow *f)
{
    return f ? f->start_ns : 0;
}
int64_t wkp_flow_end_ns(const wkp_flow *f)
{
    return f ? f->end_ns : 0;
}

uint64_t wkp_flow_packets(const wkp_flow *f, wkp_dir dir)
{
    return f && dir >= WKP_DIR_BOTH && dir <= WKP_DIR_DOWN ? f->pkts[dir] : 0;
}

uint64_t wkp_flow_bytes(const wkp_flow *f, wkp_dir dir)
{
    return f && dir >= WKP_DIR_BOTH && dir <= WKP_DIR_DOWN ? f->bytes[dir] : 0;
}

uint64_t wkp_flow_tcp_flag_count(const wkp_flow *f, wkp_tcp_flag flag)
{
    return f && flag >= WKP_TCPFLAG_FIN && flag <= WKP_TCPFLAG_CWR ? f->flag_counts[flag] : 0;
}

const char *wkp_flow_end_reason(const wkp_flow *f)
{
    return f ? wkp__end_reason_names[f->end_reason] : "";
}

const char *wkp_flow_community_id(const wkp_flow *f)
{
    return f ? f->community_id : "";
}
uint64_t wkp_flow_retransmissions(const wkp_flow *f)
{
    return f ? f->retrans : 0;
}

size_t wkp_flow_seq_count(const wkp_flow *f)
{
    return f ? (size_t)f->nrecs : 0;
}

int64_t wkp_flow_seq_value(const wkp_flow *f, size_t i, wkp_seq_field field)
{
    if (!f || !f->recs || i >= f->nrecs)
        return 0;
    const struct wkp_pkt_rec *r = &f->recs[i];
    switch (field) {
    case WKP_SEQ_PACKET_LENGTH: return (int64_t)r->dir * r->wire;
    case WKP_SEQ_IP_LENGTH: return (int64_t)r->dir * r->ip;
    case WKP_SEQ_TRANS_LENGTH: return (int64_t)r->dir * r->trans;
    case WKP_SEQ_APP_LENGTH: return (int64_t)r->dir * r->app;
    case WKP_SEQ_PAYLOAD_BYTES: return (int64_t)r->dir * r->payload;
    case WKP_SEQ_TIMESTAMP_NS: return r->ts_ns;
    case WKP_SEQ_TCP_FLAGS: return r->flags;
    case WKP_SEQ_TCP_WINDOW: return r->win;
    case WKP_SEQ_DIRECTION: return r->dir;
    }
    return 0;
}

/* Short names: a prefix standing for "<block>." (pkt_mean is
 * packet_lengths.mean). */
static const struct {
    const char *prefix;
    int block;
} short_blocks[] = {
    {"pkt_", WKP_BLK_PACKET_LENGTHS},
    {"ip_", WKP_BLK_IP_LENGTHS},
    {"trans_", WKP_BLK_TRANS_LENGTHS},
    {"app_", WKP_BLK_APP_LENGTHS},
    {"iat_", WKP_BLK_IATS},
};

/* The output's names are looked up in the column table; a short name is
 * rewritten to its "<block>.<stat>" first. */
double wkp_flow_stat(const wkp_flow *f, const char *name)
{
    const struct wkp_flow_stats *st = f ? f->stats : NULL;
    if (!st || !name)
        return NAN;
    double v = wkp__columns_stat(st, name);
    if (!isnan(v) || strchr(name, '.'))
        return v;
    for (size_t i = 0; i < sizeof short_blocks / sizeof short_blocks[0]; i++) {
        size_t n = strlen(short_blocks[i].prefix);
        if (strncmp(name, short_blocks[i].prefix, n) == 0) {
            char full[64];
            int len = snprintf(full, sizeof full, "%s.%s", wkp_block_names[short_blocks[i].block],
                               name + n);
            return len > 0 && (size_t)len < sizeof full ? wkp__columns_stat(st, full) : NAN;
        }
    }
    return NAN;
}

/* ---- one column, typed (wkp_flow_column) ---- */

/* The end of the JSON value that starts at s (s < e), or NULL if it is cut.
 * The text is the engine's own NDJSON: well formed, no whitespace. */
static const char *json_skip(const char *s, const char *e)
{
    if (*s == '"') {
        for (s++; s < e; s++) {
            if (*s == '\\')
                s++;
            else if (*s == '"')
                return s + 1;
        }
        return NULL;
    }
    if (*s == '{' || *s == '[') {
        int depth = 0;
        for (; s < e; s++) {
            if (*s == '"') {
                s = json_skip(s, e);
                if (!s)
                    return NULL;
                s--;
            } else if (*s == '{' || *s == '[') {
                depth++;
            } else if (*s == '}' || *s == ']') {
                if (--depth == 0)
                    return s + 1;
            }
        }
        return NULL;
    }
    while (s < e && *s != ',' && *s != '}' && *s != ']')
        s++;
    return s;
}

/* The value of member `key` of the object that starts at s, or NULL. */
static const char *json_member(const char *s, const char *e, const char *key, const char **end)
{
    if (s >= e || *s != '{')
        return NULL;
    size_t klen = strlen(key);
    for (s++; s < e && *s == '"';) {
        const char *k = s + 1, *ke = json_skip(s, e);
        if (!ke || ke >= e || *ke != ':')
            return NULL;
        const char *v = ke + 1, *ve = v < e ? json_skip(v, e) : NULL;
        if (!ve)
            return NULL;
        if ((size_t)(ke - 1 - k) == klen && memcmp(k, key, klen) == 0) {
            *end = ve;
            return v;
        }
        s = ve < e && *ve == ',' ? ve + 1 : ve;
    }
    return NULL;
}

wkp_status wkp_flow_column(const wkp_flow *f, size_t i, wkp_value *out)
{
    if (!out)
        return WKP_EINVAL;
    memset(out, 0, sizeof *out);
    if (!f || !f->cols || i >= f->cols->n)
        return WKP_EINVAL;
    const struct wkp_coltab *t = f->cols;
    const struct wkp_col *c = &t->v[i];
    const char *field = (const char *)f + c->arg;
    const struct wkp_flow_stats *st = f->stats;
    switch (c->kind) {
    case WKP_COL_U64:
        out->kind = WKP_VALUE_INT, out->i = (int64_t) * (const uint64_t *)field;
        return WKP_OK;
    case WKP_COL_U16: out->kind = WKP_VALUE_INT, out->i = *(const uint16_t *)field; return WKP_OK;
    case WKP_COL_TIME: out->kind = WKP_VALUE_TIME, out->i = *(const int64_t *)field; return WKP_OK;
    case WKP_COL_DURATION:
        out->kind = WKP_VALUE_TIME, out->i = wkp_ns_sub(f->end_ns, f->start_ns);
        return WKP_OK;
    case WKP_COL_TEXT:
    case WKP_COL_TEXT_PTR:
    case WKP_COL_END_REASON:
        out->kind = WKP_VALUE_TEXT;
        out->text = c->kind == WKP_COL_TEXT       ? field
                    : c->kind == WKP_COL_TEXT_PTR ? *(const char *const *)field
                                                  : wkp__end_reason_names[f->end_reason];
        out->len = strlen(out->text);
        return WKP_OK;
    case WKP_COL_STAT:
    case WKP_COL_STAT_COUNT:
        if (!st || !(st->present & (1u << c->blk)))
            return WKP_OK; /* the block has no values */
        if (c->kind == WKP_COL_STAT_COUNT)
            out->kind = WKP_VALUE_INT, out->i = (int64_t)st->blk[c->blk].v[c->arg];
        else
            out->kind = WKP_VALUE_DOUBLE, out->d = st->blk[c->blk].v[c->arg];
        return WKP_OK;
    case WKP_COL_SCALAR_U64:
        if (st)
            out->kind = WKP_VALUE_INT,
            out->i = (int64_t) * (const uint64_t *)((const char *)&st->sc + c->arg);
        return WKP_OK;
    case WKP_COL_SCALAR_DBL:
        if (st)
            out->kind = WKP_VALUE_DOUBLE,
            out->d = *(const double *)((const char *)&st->sc + c->arg);
        return WKP_OK;
    default: break;
    }
    /* the rest: its text in the NDJSON record, at the top level or under
     * "features" (the sequences) */
    const char *s = f->text[WKP_TXT_NDJSON];
    if (!s)
        return WKP_ESTATE;
    const char *e = s + f->text_len[WKP_TXT_NDJSON], *ve = NULL, *v;
    if (i >= t->seqs_at && i < t->feat_end) {
        const char *fe;
        const char *feat = json_member(s, e, "features", &fe);
        v = feat ? json_member(feat, fe, c->key, &ve) : NULL;
    } else {
        v = json_member(s, e, c->key, &ve);
    }
    if (v) {
        out->kind = WKP_VALUE_JSON;
        out->text = v;
        out->len = (size_t)(ve - v);
    }
    return WKP_OK;
}
