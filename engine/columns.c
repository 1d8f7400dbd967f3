/* The output column table (see columns.h). The rows below are the only
 * list of flow columns: their order is the CSV order (docs/output.md,
 * "Fields"); a new fixed column is one row here and a case in
 * serialize.c's writer if its kind is new. Application dissectors and
 * custom features add their columns through their registries. */
#include "engine/columns.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissector.h"
#include "util/oneline.h"

#define FEATURE "feature." /* prefix of the columns JSON nests under "features" */
#define FLOW(m) ((uint16_t)offsetof(struct wkp_flow, m))
#define SC(m)   ((uint16_t)offsetof(struct wkp_scalars, m))

struct colspec {
    const char *name; /* group rows: the prefix of their columns' names */
    uint8_t kind;
    uint16_t arg;
};

static const struct colspec table[] = {
    {"flow_id", WKP_COL_U64, FLOW(id)},
    {"capture", WKP_COL_TEXT_PTR, FLOW(capture)},
    {"key", WKP_COL_TEXT, FLOW(key)},
    {"protocol", WKP_COL_PROTOCOL, 0},
    {"src_ip", WKP_COL_TEXT, FLOW(src_ip)},
    {"dst_ip", WKP_COL_TEXT, FLOW(dst_ip)},
    {"src_port", WKP_COL_U16, FLOW(sport)},
    {"dst_port", WKP_COL_U16, FLOW(dport)},
    {"start_time", WKP_COL_TIME, FLOW(start_ns)},
    {"end_time", WKP_COL_TIME, FLOW(end_ns)},
    {"duration", WKP_COL_DURATION, 0},
    {"packet_count", WKP_COL_U64, FLOW(pkts[WKP_DIR_BOTH])},
    {"byte_count", WKP_COL_U64, FLOW(bytes[WKP_DIR_BOTH])},
    {"up_packet_count", WKP_COL_U64, FLOW(pkts[WKP_DIR_UP])},
    {"up_byte_count", WKP_COL_U64, FLOW(bytes[WKP_DIR_UP])},
    {"down_packet_count", WKP_COL_U64, FLOW(pkts[WKP_DIR_DOWN])},
    {"down_byte_count", WKP_COL_U64, FLOW(bytes[WKP_DIR_DOWN])},
    {"ext_protocol", WKP_COL_EXT_PROTOCOL, 0},
    {"end_reason", WKP_COL_END_REASON, 0},
    {"community_id", WKP_COL_TEXT, FLOW(community_id)},
    /* feature.<block>.<stat>: every block, each with every statistic */
    {FEATURE, WKP_COL_STAT, 0},
    {FEATURE "packet_count", WKP_COL_SCALAR_U64, SC(packet_count)},
    {FEATURE "total_bytes", WKP_COL_SCALAR_U64, SC(total_bytes)},
    {FEATURE "up_down_pkt_ratio", WKP_COL_SCALAR_DBL, SC(up_down_pkt_ratio)},
    {FEATURE "up_down_byte_ratio", WKP_COL_SCALAR_DBL, SC(up_down_byte_ratio)},
    {FEATURE "duration", WKP_COL_SCALAR_DBL, SC(duration)},
    {FEATURE "packet_lengths", WKP_COL_SEQ, WKP_SEQ_COL_PACKET_LENGTHS},
    {FEATURE "ip_lengths", WKP_COL_SEQ, WKP_SEQ_COL_IP_LENGTHS},
    {FEATURE "trans_lengths", WKP_COL_SEQ, WKP_SEQ_COL_TRANS_LENGTHS},
    {FEATURE "app_lengths", WKP_COL_SEQ, WKP_SEQ_COL_APP_LENGTHS},
    {FEATURE "timestamps", WKP_COL_SEQ, WKP_SEQ_COL_TIMESTAMPS},
    {FEATURE "iats", WKP_COL_SEQ, WKP_SEQ_COL_IATS},
    {FEATURE "payload_bytes", WKP_COL_SEQ, WKP_SEQ_COL_PAYLOAD_BYTES},
    {FEATURE "tcp_flags", WKP_COL_SEQ, WKP_SEQ_COL_TCP_FLAGS},
    {FEATURE "tcp_window_sizes", WKP_COL_SEQ, WKP_SEQ_COL_TCP_WINDOW_SIZES},
    /* the protocol-family columns: tunnel, then one per registry row */
    {"tunnel", WKP_COL_TUNNEL, 0},
    {"", WKP_COL_APP, 0},
    /* proto.<name>: the loaded user protocols, in load order */
    {"proto.", WKP_COL_USER, 0},
    /* with signatures only (docs/signatures.md, "Columns") */
    {"app", WKP_COL_SIG_APP, 0},
    {"signatures", WKP_COL_SIGNATURES, 0},
    /* custom.<name>, in registration order */
    {"custom.", WKP_COL_CUSTOM, 0},
};
enum { NTABLE = sizeof table / sizeof table[0] };

static bool in_features(int kind)
{
    return kind == WKP_COL_STAT || kind == WKP_COL_STAT_COUNT || kind == WKP_COL_SCALAR_U64 ||
           kind == WKP_COL_SCALAR_DBL || kind == WKP_COL_SEQ;
}

/* Columns being listed: counted only while v is NULL. */
struct listing {
    struct wkp_col *v;
    char *names;
    size_t n, used; /* columns, bytes of names */
};

/* Add a column named p0 p1 p2 p3 (concatenated); its JSON key is the part
 * from `key` (an index among the parts) on. */
static void add(struct listing *l, int kind, unsigned arg, int blk, const struct wkp_dissector *d,
                int key, const char *p0, const char *p1, const char *p2, const char *p3)
{
    const char *part[4] = {p0, p1, p2, p3};
    char *name = l->names ? l->names + l->used : NULL, *k = name;
    for (int i = 0; i < 4; i++) {
        size_t len = strlen(part[i]);
        if (name) {
            if (i == key)
                k = l->names + l->used;
            memcpy(l->names + l->used, part[i], len);
        }
        l->used += len;
    }
    if (name) {
        l->names[l->used] = '\0';
        l->v[l->n] = (struct wkp_col){name, k, d, (uint16_t)arg, (uint8_t)kind, (uint8_t)blk};
    }
    l->used++;
    l->n++;
}

/* Every column of cfg, in order (see struct listing). */
static void expand(const struct wkp_config *cfg, const struct wkp_dissector *const *dis,
                   unsigned ndis, struct listing *l)
{
    for (int r = 0; r < NTABLE; r++) {
        const struct colspec *t = &table[r];
        switch (t->kind) {
        case WKP_COL_STAT: /* the key: the statistic's name, inside its block's object */
            for (int b = 0; b < WKP_NBLOCKS; b++)
                for (int s = 0; s < WKP_STAT_N; s++)
                    add(l, wkp_stat_is_count(s) ? WKP_COL_STAT_COUNT : WKP_COL_STAT, (unsigned)s, b,
                        NULL, 3, t->name, wkp_block_names[b], ".", wkp_stat_names[s]);
            break;
        case WKP_COL_APP:
            for (unsigned i = 0; i < ndis; i++)
                add(l, t->kind, i, 0, dis[i], 0, t->name, dis[i]->name, "", "");
            break;
        case WKP_COL_SIG_APP:
        case WKP_COL_SIGNATURES:
            if (cfg->sigdb)
                add(l, t->kind, t->arg, 0, NULL, 0, t->name, "", "", "");
            break;
        case WKP_COL_USER:
            for (unsigned i = 0; i < wkp_up_ncols(cfg->up); i++) {
                unsigned p = wkp_up_col_proto(cfg->up, i);
                add(l, t->kind, p, 0, NULL, 0, t->name, wkp_up_proto_name(cfg->up, p), "", "");
            }
            break;
        case WKP_COL_CUSTOM:
            for (size_t i = 0; i < cfg->custom.n; i++)
                add(l, t->kind, (unsigned)i, 0, NULL, 0, t->name, cfg->custom.v[i].name, "", "");
            break;
        default:
            if (in_features(t->kind)) /* under "features" the key drops the prefix */
                add(l, t->kind, t->arg, 0, NULL, 1, FEATURE, t->name + strlen(FEATURE), "", "");
            else
                add(l, t->kind, t->arg, 0, NULL, 0, t->name, "", "", "");
        }
    }
}

/* Does pattern p name column c? An object column (tunnel, a protocol)
 * also answers to patterns of its fields: 'tls.*' or 'tls.sni' select the
 * tls column (its object is written whole). */
static bool col_matches(const char *p, const struct wkp_col *c)
{
    if (fnmatch(p, c->name, 0) == 0)
        return true;
    if (c->kind != WKP_COL_APP && c->kind != WKP_COL_TUNNEL && c->kind != WKP_COL_USER)
        return false;
    size_t n = strlen(c->name);
    return strncmp(p, c->name, n) == 0 && p[n] == '.';
}

/* Mark in sel[] the columns each pattern of pats matches; every pattern
 * must match one. */
static wkp_status match(const char *pats, const struct wkp_col *v, size_t n, bool *sel,
                        wkp_errbuf *err)
{
    char *copy = strdup(pats);
    if (!copy)
        return WKP_ENOMEM;
    wkp_status st = WKP_OK;
    char *save = NULL;
    for (char *p = strtok_r(copy, ",", &save); p && st == WKP_OK; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ')
            p++;
        bool hit = false;
        for (size_t c = 0; c < n; c++) {
            if (col_matches(p, &v[c])) {
                sel[c] = true;
                hit = true;
            }
        }
        if (!hit) {
            if (err) {
                snprintf(err->msg, sizeof err->msg, "--columns: '%s' matches no column", p);
                wkp_oneline(err->msg, sizeof err->msg); /* a name may hold a line break */
            }
            st = WKP_EINVAL;
        }
    }
    free(copy);
    return st;
}

wkp_status wkp__columns_build_with(struct wkp_config *cfg, const struct wkp_dissector *const *dis,
                                   unsigned ndis, wkp_errbuf *err)
{
    cfg->cols = NULL;
    struct listing l = {0};
    expand(cfg, dis, ndis, &l);
    size_t n = l.n;
    struct wkp_coltab *t = calloc(1, sizeof *t);
    bool *sel = calloc(n, sizeof *sel);
    if (t) {
        t->v = calloc(n, sizeof *t->v);
        t->names = malloc(l.used);
    }
    wkp_status st = t && t->v && t->names && sel ? WKP_OK : WKP_ENOMEM;
    if (st == WKP_OK) {
        l = (struct listing){.v = t->v, .names = t->names};
        expand(cfg, dis, ndis, &l);
        if (cfg->columns)
            st = match(cfg->columns, t->v, n, sel, err);
        else
            memset(sel, 1, n * sizeof *sel);
    }
    if (st != WKP_OK) {
        if (st == WKP_ENOMEM && err)
            snprintf(err->msg, sizeof err->msg, "out of memory");
        free(sel);
        if (t) {
            free(t->v);
            free(t->names);
            free(t);
        }
        return st;
    }
    /* Keep the selected columns, in order, and note where the features
     * range and its sequences begin and end among them. */
    size_t k = 0;
    bool feat = false, scalars = false, seqs = false, after = false;
    for (size_t c = 0; c < n; c++) {
        int kind = t->v[c].kind;
        if (!feat && in_features(kind))
            t->stats_at = k, feat = true;
        if (!scalars && (kind == WKP_COL_SCALAR_U64 || kind == WKP_COL_SCALAR_DBL))
            t->scalars_at = k, scalars = true;
        if (!seqs && kind == WKP_COL_SEQ)
            t->seqs_at = k, seqs = true;
        if (feat && !after && !in_features(kind))
            t->feat_end = k, after = true;
        if (sel[c] && (kind != WKP_COL_SEQ || cfg->sequences)) {
            if (kind == WKP_COL_STAT || kind == WKP_COL_STAT_COUNT ||
                kind == WKP_COL_SCALAR_U64 || kind == WKP_COL_SCALAR_DBL)
                t->uses_stats = true;
            t->v[k++] = t->v[c];
        }
    }
    if (!after)
        t->feat_end = k;
    t->n = k;
    t->dis = dis;
    t->ndis = ndis;
    t->up = cfg->up;
    free(sel);
    cfg->cols = t;
    return WKP_OK;
}

wkp_status wkp__columns_build(struct wkp_config *cfg, wkp_errbuf *err)
{
    return wkp__columns_build_with(cfg, wkp_dissectors, wkp_ndissectors, err);
}

void wkp__columns_free(struct wkp_config *cfg)
{
    if (!cfg->cols)
        return;
    free(cfg->cols->v);
    free(cfg->cols->names);
    free(cfg->cols);
    cfg->cols = NULL;
}

/* NaN if stat is not a statistic's name; 0 for a block the flow lacks. */
static double block_stat(const struct wkp_flow_stats *st, int blk, const char *stat, size_t len)
{
    for (int s = 0; s < WKP_STAT_N; s++)
        if (strlen(wkp_stat_names[s]) == len && memcmp(wkp_stat_names[s], stat, len) == 0)
            return st->present & (1u << blk) ? wkp_block_get(&st->blk[blk], s) : 0.0;
    return NAN;
}

double wkp__columns_stat(const struct wkp_flow_stats *st, const char *name)
{
    const char *dot = strchr(name, '.');
    for (int r = 0; r < NTABLE; r++) {
        const struct colspec *t = &table[r];
        switch (t->kind) {
        case WKP_COL_STAT:
            if (!dot)
                break;
            for (int b = 0; b < WKP_NBLOCKS; b++)
                if (strlen(wkp_block_names[b]) == (size_t)(dot - name) &&
                    memcmp(wkp_block_names[b], name, (size_t)(dot - name)) == 0)
                    return block_stat(st, b, dot + 1, strlen(dot + 1));
            return NAN;
        case WKP_COL_SCALAR_U64: /* named without "feature." */
            if (strcmp(t->name + strlen(FEATURE), name) == 0)
                return (double)*(const uint64_t *)((const char *)&st->sc + t->arg);
            break;
        case WKP_COL_SCALAR_DBL:
            if (strcmp(t->name + strlen(FEATURE), name) == 0)
                return *(const double *)((const char *)&st->sc + t->arg);
            break;
        }
    }
    return NAN;
}
