/* Flow records to text, on the worker that finished the flow, so the merger
 * only orders ready-made buffers and writes them (formatting in one merger
 * thread would bound the whole pipeline).
 *
 * Column order is fixed (SPEC D12): flow_id, capture, the 16 base keys of
 * §11, end_reason, community_id; the 10 statistics blocks of 24 columns;
 * the 5 scalars; the 9 sequences; custom.<name> in registration order.
 * JSON nests the same names as §11: sequences and a statistics object under
 * "features". Numbers follow D6: integers as integers, times exact with the
 * capture's 6 or 9 decimals, other doubles as the shortest text that reads
 * back to the same double (util/dtoa.c), lists as compact JSON. */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/dtoa.h"
#include "util/nstime.h"

const char *const wkp__end_reason_names[] = {
    [WKP_END_FIN] = "fin",         [WKP_END_RST] = "rst",          [WKP_END_IDLE] = "idle_timeout",
    [WKP_END_NEW_SYN] = "new_syn", [WKP_END_EOF] = "end_of_input", [WKP_END_EVICTED] = "evicted",
};

static const char *const base_columns[] = {
    "flow_id",         "capture",         "key",           "protocol",
    "src_ip",          "dst_ip",          "src_port",      "dst_port",
    "start_time",      "end_time",        "duration",      "packet_count",
    "byte_count",      "up_packet_count", "up_byte_count", "down_packet_count",
    "down_byte_count", "ext_protocol",    "end_reason",    "community_id",
};
enum { NBASE = sizeof base_columns / sizeof base_columns[0] };

static const char *const scalar_names[] = {"packet_count", "total_bytes", "up_down_pkt_ratio",
                                           "up_down_byte_ratio", "duration"};

enum seq_id {
    SEQ_PACKET_LENGTHS,
    SEQ_IP_LENGTHS,
    SEQ_TRANS_LENGTHS,
    SEQ_APP_LENGTHS,
    SEQ_TIMESTAMPS,
    SEQ_IATS,
    SEQ_PAYLOAD_BYTES,
    SEQ_TCP_FLAGS,
    SEQ_TCP_WINDOW_SIZES,
    NSEQ
};
static const char *const seq_names[NSEQ] = {
    "packet_lengths", "ip_lengths",    "trans_lengths", "app_lengths",      "timestamps",
    "iats",           "payload_bytes", "tcp_flags",     "tcp_window_sizes",
};

const char *wkp__proto_name(uint8_t proto, char tmp[16])
{
    switch (proto) {
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 58: return "ICMPv6";
    default: {
        char *p = tmp;
        memcpy(p, "PROTO(", 6);
        p += 6;
        if (proto >= 100)
            *p++ = (char)('0' + proto / 100);
        if (proto >= 10)
            *p++ = (char)('0' + proto / 10 % 10);
        *p++ = (char)('0' + proto % 10);
        *p++ = ')';
        *p = '\0';
        return tmp;
    }
    }
}

static void put_double(struct wkp_buf *b, double v, int json)
{
    if (!isfinite(v)) {
        if (json)
            wkp_buf_puts(b, "null");
        return;
    }
    char tmp[WKP_DTOA_MAX];
    wkp_buf_put(b, tmp, wkp_dtoa(v, tmp));
}

/* SPEC §5 ext_protocol at the L3/L4 stage: the IP version, then the
 * transport name for TCP, UDP, ICMP, ICMPv6 and SCTP (nothing for others). */
static void ext_protocol(struct wkp_buf *b, const struct wkp_flow *f)
{
    wkp_buf_puts(b, f->family == 6 ? "[\"IPv6\"" : "[\"IPv4\"");
    const char *t = NULL;
    switch (f->proto) {
    case 1: t = "ICMP"; break;
    case 6: t = "TCP"; break;
    case 17: t = "UDP"; break;
    case 58: t = "ICMPv6"; break;
    case 132: t = "SCTP"; break;
    }
    if (t) {
        wkp_buf_puts(b, ",\"");
        wkp_buf_puts(b, t);
        wkp_buf_putc(b, '"');
    }
    wkp_buf_putc(b, ']');
}

/* Column indices in D12 order: base, blocks x stats, scalars, sequences,
 * custom features. cfg->colsel (NULL: all) says which are written. */
enum {
    COL_BLOCKS = NBASE,
    COL_SCALARS = COL_BLOCKS + WKP_NBLOCKS * WKP_STAT_N,
    COL_SEQS = COL_SCALARS + 5,
    COL_TUNNEL = COL_SEQS + NSEQ, /* D12: the protocol-family columns start here */
    COL_CUSTOM = COL_TUNNEL + 1,
};

static bool sel(const struct wkp_config *cfg, size_t col)
{
    if (col >= COL_SEQS && col < COL_TUNNEL && !cfg->sequences)
        return false;
    return !cfg->colsel || cfg->colsel[col];
}

size_t wkp__column_count(const struct wkp_config *cfg)
{
    return COL_CUSTOM + cfg->custom.n;
}

void wkp__column_name(const struct wkp_config *cfg, size_t col, struct wkp_buf *b)
{
    if (col < NBASE) {
        wkp_buf_puts(b, base_columns[col]);
    } else if (col < COL_SCALARS) {
        size_t k = col - COL_BLOCKS;
        wkp_buf_puts(b, "feature.");
        wkp_buf_puts(b, wkp_block_names[k / WKP_STAT_N]);
        wkp_buf_putc(b, '.');
        wkp_buf_puts(b, wkp_stat_names[k % WKP_STAT_N]);
    } else if (col < COL_SEQS) {
        wkp_buf_puts(b, "feature.");
        wkp_buf_puts(b, scalar_names[col - COL_SCALARS]);
    } else if (col < COL_TUNNEL) {
        wkp_buf_puts(b, "feature.");
        wkp_buf_puts(b, seq_names[col - COL_SEQS]);
    } else if (col == COL_TUNNEL) {
        wkp_buf_puts(b, "tunnel");
    } else {
        wkp_buf_puts(b, "custom.");
        wkp_buf_puts(b, cfg->custom.v[col - COL_CUSTOM].name);
    }
}

void wkp__csv_header(struct wkp_buf *b, const struct wkp_config *cfg)
{
    bool first = true;
    for (size_t c = 0; c < wkp__column_count(cfg); c++) {
        if (!sel(cfg, c))
            continue;
        if (!first)
            wkp_buf_putc(b, ',');
        first = false;
        wkp__column_name(cfg, c, b);
    }
    wkp_buf_putc(b, '\n');
}

/* One base value, as raw text (CSV) or JSON (json = 1). */
static void base_value(struct wkp_buf *b, const struct wkp_flow *f, int i, int json)
{
    char tmp[16];
    const char *s = NULL;
    switch (i) {
    case 0: wkp_buf_u64(b, f->id); return;
    case 1: s = f->capture; break;
    case 2: s = f->key; break;
    case 3: s = wkp__proto_name(f->proto, tmp); break;
    case 4: s = f->src_ip; break;
    case 5: s = f->dst_ip; break;
    case 6: wkp_buf_u64(b, f->sport); return;
    case 7: wkp_buf_u64(b, f->dport); return;
    case 8: wkp_buf_time(b, f->start_ns, f->ts_digits); return;
    case 9: wkp_buf_time(b, f->end_ns, f->ts_digits); return;
    case 10: wkp_buf_time(b, wkp_ns_sub(f->end_ns, f->start_ns), f->ts_digits); return;
    case 11: wkp_buf_u64(b, f->pkts[WKP_DIR_BOTH]); return;
    case 12: wkp_buf_u64(b, f->bytes[WKP_DIR_BOTH]); return;
    case 13: wkp_buf_u64(b, f->pkts[WKP_DIR_UP]); return;
    case 14: wkp_buf_u64(b, f->bytes[WKP_DIR_UP]); return;
    case 15: wkp_buf_u64(b, f->pkts[WKP_DIR_DOWN]); return;
    case 16: wkp_buf_u64(b, f->bytes[WKP_DIR_DOWN]); return;
    case 17: ext_protocol(b, f); return;
    case 18: s = wkp__end_reason_names[f->end_reason]; break;
    case 19: s = f->community_id; break;
    }
    if (json)
        wkp_buf_json_str(b, s);
    else
        wkp_buf_csv_cell(b, s, strlen(s));
}

static void stat_value(struct wkp_buf *b, const struct wkp_block *blk, int s, int json)
{
    double v = wkp_block_get(blk, s);
    if (wkp_stat_is_count(s))
        wkp_buf_u64(b, (uint64_t)v);
    else
        put_double(b, v, json);
}

static void scalar_value(struct wkp_buf *b, const struct wkp_scalars *sc, int i, int json)
{
    switch (i) {
    case 0: wkp_buf_u64(b, sc->packet_count); break;
    case 1: wkp_buf_u64(b, sc->total_bytes); break;
    case 2: put_double(b, sc->up_down_pkt_ratio, json); break;
    case 3: put_double(b, sc->up_down_byte_ratio, json); break;
    case 4: put_double(b, sc->duration, json); break;
    }
}

/* A sequence as a compact JSON list. */
static void seq_list(struct wkp_buf *b, const struct wkp_flow *f, const struct wkp_seq *seq,
                     int which)
{
    wkp_buf_putc(b, '[');
    bool first = true, seen = false;
    int64_t prev = 0;
    for (struct wkp_seq_it it = wkp_seq_first(seq); it.c; wkp_seq_next(&it)) {
        const struct wkp_pkt_rec *r = it.r;
        if (which == SEQ_IATS && !seen) {
            prev = r->ts_ns;
            seen = true;
            continue; /* n - 1 values: no leading 0 */
        }
        if (!first)
            wkp_buf_putc(b, ',');
        first = false;
        int64_t sgn = r->dir;
        switch (which) {
        case SEQ_PACKET_LENGTHS: wkp_buf_i64(b, sgn * r->wire); break;
        case SEQ_IP_LENGTHS: wkp_buf_i64(b, sgn * r->ip); break;
        case SEQ_TRANS_LENGTHS: wkp_buf_i64(b, sgn * r->trans); break;
        case SEQ_APP_LENGTHS: wkp_buf_i64(b, sgn * r->app); break;
        case SEQ_TIMESTAMPS: wkp_buf_time(b, r->ts_ns, f->ts_digits); break;
        case SEQ_IATS:
            wkp_buf_time(b, wkp_ns_sub(r->ts_ns, prev), f->ts_digits);
            prev = r->ts_ns;
            break;
        case SEQ_PAYLOAD_BYTES: wkp_buf_i64(b, sgn * r->payload); break;
        case SEQ_TCP_FLAGS: wkp_buf_u64(b, r->flags); break;
        case SEQ_TCP_WINDOW_SIZES: wkp_buf_u64(b, r->win); break;
        }
    }
    wkp_buf_putc(b, ']');
}

/* Start CSV column col: true if it is written (then the separator is out). */
static bool csv_col(struct wkp_buf *b, const struct wkp_config *cfg, size_t col, bool *first)
{
    if (!sel(cfg, col))
        return false;
    if (!*first)
        wkp_buf_putc(b, ',');
    *first = false;
    return true;
}

/* The tunnel object (D12 column "tunnel"): the first packet's
 * encapsulation, outer to inner, with the identifiers it carried and, when
 * an IP tunnel was crossed, the outer addresses. */
static const char *const stack_names[] = {
    [WKP_EL_NONE] = "NONE",   [WKP_EL_VLAN] = "VLAN",     [WKP_EL_MPLS] = "MPLS",
    [WKP_EL_PPPOE] = "PPPOE", [WKP_EL_GRE] = "GRE",       [WKP_EL_ERSPAN] = "ERSPAN",
    [WKP_EL_VXLAN] = "VXLAN", [WKP_EL_GENEVE] = "GENEVE", [WKP_EL_IPIP] = "IPIP",
};

static void tunnel_json(struct wkp_buf *b, const struct wkp_l2l4_tun *t)
{
    bool ip_tunnel = false;
    wkp_buf_puts(b, "{\"stack\":[");
    for (int i = 0; i < t->n_stack; i++) {
        uint8_t l = t->stack[i];
        if (i)
            wkp_buf_putc(b, ',');
        wkp_buf_json_str(b, l < WKP_EL__COUNT ? stack_names[l] : "?");
        ip_tunnel |= l == WKP_EL_GRE || l == WKP_EL_ERSPAN || l == WKP_EL_VXLAN ||
                     l == WKP_EL_GENEVE || l == WKP_EL_IPIP;
    }
    wkp_buf_putc(b, ']');
    if (t->n_vlan) {
        wkp_buf_puts(b, ",\"vlan_ids\":[");
        for (int i = 0; i < t->n_vlan; i++) {
            if (i)
                wkp_buf_putc(b, ',');
            wkp_buf_u64(b, t->vlan_ids[i]);
        }
        wkp_buf_putc(b, ']');
    }
    if (t->n_mpls) {
        wkp_buf_puts(b, ",\"mpls_labels\":[");
        for (int i = 0; i < t->n_mpls; i++) {
            if (i)
                wkp_buf_putc(b, ',');
            wkp_buf_u64(b, t->mpls_labels[i]);
        }
        wkp_buf_putc(b, ']');
    }
    for (int i = 0; i < t->n_stack; i++) {
        if (t->stack[i] == WKP_EL_VXLAN) {
            wkp_buf_puts(b, ",\"vxlan_vni\":");
            wkp_buf_u64(b, t->vxlan_vni);
            break;
        }
    }
    for (int i = 0; i < t->n_stack; i++) {
        if (t->stack[i] == WKP_EL_GENEVE) {
            wkp_buf_puts(b, ",\"geneve_vni\":");
            wkp_buf_u64(b, t->geneve_vni);
            break;
        }
    }
    if (t->flags & WKP_TF_GRE_KEY) {
        wkp_buf_puts(b, ",\"gre_key\":");
        wkp_buf_u64(b, t->gre_key);
    }
    if (ip_tunnel && t->outer_family) {
        char a[46], z[46];
        int af = t->outer_family == 6 ? AF_INET6 : AF_INET;
        if (inet_ntop(af, t->outer_src, a, sizeof a) && inet_ntop(af, t->outer_dst, z, sizeof z)) {
            wkp_buf_puts(b, ",\"outer_src\":");
            wkp_buf_json_str(b, a);
            wkp_buf_puts(b, ",\"outer_dst\":");
            wkp_buf_json_str(b, z);
        }
    }
    wkp_buf_putc(b, '}');
}

static void csv_row(struct wkp_buf *b, const struct wkp_flow *f, const struct wkp_flow_extra *x,
                    const struct wkp_config *cfg, struct wkp_buf *cell)
{
    bool first = true;
    for (int i = 0; i < NBASE; i++) {
        if (!csv_col(b, cfg, (size_t)i, &first))
            continue;
        if (i == 17) { /* a list: quote it as one cell */
            cell->len = 0;
            ext_protocol(cell, f);
            wkp_buf_csv_cell(b, cell->p, cell->len);
        } else {
            base_value(b, f, i, 0);
        }
    }
    const struct wkp_flow_stats *st = x->stats;
    for (int blk = 0; blk < WKP_NBLOCKS; blk++) {
        bool present = st->present & (1u << blk);
        for (int s = 0; s < WKP_STAT_N; s++)
            if (csv_col(b, cfg, COL_BLOCKS + (size_t)(blk * WKP_STAT_N + s), &first) && present)
                stat_value(b, &st->blk[blk], s, 0);
    }
    for (int i = 0; i < 5; i++)
        if (csv_col(b, cfg, COL_SCALARS + (size_t)i, &first))
            scalar_value(b, &st->sc, i, 0);
    bool tcp = f->proto == 6;
    for (int i = 0; i < NSEQ; i++) {
        if (!csv_col(b, cfg, COL_SEQS + (size_t)i, &first))
            continue;
        if ((i == SEQ_TCP_FLAGS || i == SEQ_TCP_WINDOW_SIZES) && !tcp)
            continue;
        cell->len = 0;
        seq_list(cell, f, x->seq, i);
        wkp_buf_csv_cell(b, cell->p, cell->len);
    }
    if (csv_col(b, cfg, COL_TUNNEL, &first) && f->tun) {
        cell->len = 0;
        tunnel_json(cell, f->tun);
        wkp_buf_csv_cell(b, cell->p, cell->len);
    }
    for (size_t i = 0; i < cfg->custom.n; i++)
        if (csv_col(b, cfg, COL_CUSTOM + i, &first))
            wkp_custom_write_csv_one(&cfg->custom, i, x->custom_block, b);
    wkp_buf_putc(b, '\n');
}

/* Pretty JSON (the array format): two spaces per level; compact otherwise. */
static void nl(struct wkp_buf *b, int pretty, int depth)
{
    if (!pretty)
        return;
    wkp_buf_putc(b, '\n');
    for (int i = 0; i < depth; i++)
        wkp_buf_puts(b, "  ");
}

static void key(struct wkp_buf *b, const char *k, int pretty, int depth, bool *first)
{
    if (!*first)
        wkp_buf_putc(b, ',');
    *first = false;
    nl(b, pretty, depth);
    wkp_buf_putc(b, '"');
    wkp_buf_puts(b, k);
    wkp_buf_puts(b, pretty ? "\": " : "\":");
}

static void json_obj(struct wkp_buf *b, const struct wkp_flow *f, const struct wkp_flow_extra *x,
                     const struct wkp_config *cfg, int pretty)
{
    int d = pretty ? 1 : 0; /* the array's elements sit at depth 1 */
    if (pretty)
        wkp_buf_puts(b, "  ");
    wkp_buf_putc(b, '{');
    bool first = true;
    for (int i = 0; i < NBASE; i++) {
        if (!sel(cfg, (size_t)i))
            continue;
        key(b, base_columns[i], pretty, d + 1, &first);
        base_value(b, f, i, 1);
    }
    key(b, "features", pretty, d + 1, &first);
    wkp_buf_putc(b, '{');
    bool ffirst = true;
    bool tcp = f->proto == 6;
    for (int i = 0; i < NSEQ; i++) {
        if (!sel(cfg, COL_SEQS + (size_t)i) ||
            ((i == SEQ_TCP_FLAGS || i == SEQ_TCP_WINDOW_SIZES) && !tcp))
            continue; /* §11: tcp sequences only if non-empty */
        key(b, seq_names[i], pretty, d + 2, &ffirst);
        seq_list(b, f, x->seq, i);
    }
    key(b, "statistics", pretty, d + 2, &ffirst);
    wkp_buf_putc(b, '{');
    bool sfirst = true;
    const struct wkp_flow_stats *st = x->stats;
    for (int blk = 0; blk < WKP_NBLOCKS; blk++) {
        if (!(st->present & (1u << blk)))
            continue;
        bool any = false;
        for (int s = 0; s < WKP_STAT_N; s++)
            any |= sel(cfg, COL_BLOCKS + (size_t)(blk * WKP_STAT_N + s));
        if (!any)
            continue;
        key(b, wkp_block_names[blk], pretty, d + 3, &sfirst);
        wkp_buf_putc(b, '{');
        bool bfirst = true;
        for (int s = 0; s < WKP_STAT_N; s++) {
            if (!sel(cfg, COL_BLOCKS + (size_t)(blk * WKP_STAT_N + s)))
                continue;
            key(b, wkp_stat_names[s], pretty, d + 4, &bfirst);
            stat_value(b, &st->blk[blk], s, 1);
        }
        nl(b, pretty, d + 3);
        wkp_buf_putc(b, '}');
    }
    for (int i = 0; i < 5; i++) {
        if (!sel(cfg, COL_SCALARS + (size_t)i))
            continue;
        key(b, scalar_names[i], pretty, d + 3, &sfirst);
        scalar_value(b, &st->sc, i, 1);
    }
    nl(b, pretty, d + 2);
    wkp_buf_putc(b, '}');
    nl(b, pretty, d + 1);
    wkp_buf_putc(b, '}');
    if (f->tun && sel(cfg, COL_TUNNEL)) {
        key(b, "tunnel", pretty, d + 1, &first);
        tunnel_json(b, f->tun);
    }
    for (size_t i = 0; i < cfg->custom.n; i++) {
        if (!sel(cfg, COL_CUSTOM + i))
            continue;
        char name[80];
        snprintf(name, sizeof name, "custom.%s", cfg->custom.v[i].name);
        key(b, name, pretty, d + 1, &first);
        wkp_custom_write_value(&cfg->custom, i, x->custom_block, b);
    }
    nl(b, pretty, d);
    wkp_buf_putc(b, '}');
    if (!pretty)
        wkp_buf_putc(b, '\n');
}

static const char *const packet_columns[] = {
    "flow_id",   "capture",      "index",      "direction",     "timestamp", "packet_length",
    "ip_length", "trans_length", "app_length", "payload_bytes", "tcp_flags", "tcp_window",
};
enum { NPCOLS = sizeof packet_columns / sizeof packet_columns[0] };

void wkp__packets_csv_header(struct wkp_buf *b)
{
    for (int i = 0; i < NPCOLS; i++) {
        if (i)
            wkp_buf_putc(b, ',');
        wkp_buf_puts(b, packet_columns[i]);
    }
    wkp_buf_putc(b, '\n');
}

/* --packets: one row per stored packet record of the flow, in order.
 * direction is 1 (up) or -1 (down); lengths are unsigned here. */
static void packet_rows(struct wkp_buf *b, const struct wkp_flow *f, const struct wkp_seq *seq,
                        int json, struct wkp_buf *cell)
{
    uint64_t idx = 0;
    cell->len = 0;
    if (!json)
        wkp_buf_csv_cell(cell, f->capture, strlen(f->capture));
    for (struct wkp_seq_it it = wkp_seq_first(seq); it.c; wkp_seq_next(&it), idx++) {
        const struct wkp_pkt_rec *r = it.r;
        uint64_t v[] = {r->wire, r->ip, r->trans, r->app, r->payload, r->flags, r->win};
        if (json) {
            wkp_buf_puts(b, "{\"flow_id\":");
            wkp_buf_u64(b, f->id);
            wkp_buf_puts(b, ",\"capture\":");
            wkp_buf_json_str(b, f->capture);
            wkp_buf_puts(b, ",\"index\":");
            wkp_buf_u64(b, idx);
            wkp_buf_puts(b, ",\"direction\":");
            wkp_buf_i64(b, r->dir);
            wkp_buf_puts(b, ",\"timestamp\":");
            wkp_buf_time(b, r->ts_ns, f->ts_digits);
            for (int i = 0; i < 7; i++) {
                wkp_buf_puts(b, ",\"");
                wkp_buf_puts(b, packet_columns[5 + i]);
                wkp_buf_puts(b, "\":");
                wkp_buf_u64(b, v[i]);
            }
            wkp_buf_puts(b, "}\n");
        } else {
            wkp_buf_u64(b, f->id);
            wkp_buf_putc(b, ',');
            wkp_buf_put(b, cell->p, cell->len);
            wkp_buf_putc(b, ',');
            wkp_buf_u64(b, idx);
            wkp_buf_putc(b, ',');
            wkp_buf_i64(b, r->dir);
            wkp_buf_putc(b, ',');
            wkp_buf_time(b, r->ts_ns, f->ts_digits);
            for (int i = 0; i < 7; i++) {
                wkp_buf_putc(b, ',');
                wkp_buf_u64(b, v[i]);
            }
            wkp_buf_putc(b, '\n');
        }
    }
}

int wkp__serialize(struct wkp_flow *f, const struct wkp_flow_extra *x, const struct wkp_config *cfg,
                   unsigned mask, struct wkp_buf *scratch)
{
    struct wkp_buf cell = {0};
    for (int t = 0; t < WKP_TXT__COUNT; t++) {
        if (!(mask & (1u << t)))
            continue;
        scratch->len = 0;
        if (t == WKP_TXT_CSV)
            csv_row(scratch, f, x, cfg, &cell);
        else if (t == WKP_TXT_PKT_CSV || t == WKP_TXT_PKT_NDJSON)
            packet_rows(scratch, f, x->seq, t == WKP_TXT_PKT_NDJSON, &cell);
        else
            json_obj(scratch, f, x, cfg, t == WKP_TXT_JSON);
        if (scratch->oom || cell.oom) {
            wkp_buf_free(&cell);
            return -1;
        }
        f->text[t] = malloc(scratch->len ? scratch->len : 1);
        if (!f->text[t]) {
            wkp_buf_free(&cell);
            return -1;
        }
        memcpy(f->text[t], scratch->p, scratch->len);
        f->text_len[t] = scratch->len;
    }
    wkp_buf_free(&cell);
    return 0;
}
