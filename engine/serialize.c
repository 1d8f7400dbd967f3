/* Flow records to text, on the worker that finished the flow, so the merger
 * only orders ready-made buffers and writes them (formatting in one merger
 * thread would bound the whole pipeline).
 *
 * Rows and objects walk the config's column table (engine/columns.h); the
 * writer below turns one column of one flow into text by its kind. Numbers
 * (docs/output.md, "How values are written"): integers as integers, times
 * exact with the capture's 6 or 9 decimals, other doubles as the shortest
 * text that reads back to the same double (util/dtoa.c), lists and objects
 * as compact JSON, quoted as one cell in CSV. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/cursor.h"
#include "dissectors/dissector.h"
#include "engine/columns.h"
#include "engine/internal.h"
#include "util/addrtext.h"
#include "util/dtoa.h"
#include "util/nstime.h"

const char *const wkp__end_reason_names[] = {
    [WKP_END_FIN] = "fin",         [WKP_END_RST] = "rst",          [WKP_END_IDLE] = "idle_timeout",
    [WKP_END_NEW_SYN] = "new_syn", [WKP_END_EOF] = "end_of_input", [WKP_END_EVICTED] = "evicted",
};

/* Transport names: `key` and `protocol` use ICMP, TCP, UDP and ICMPv6 and
 * PROTO(n) for the others; ext_protocol also names SCTP. */
static const char *transport_name(uint8_t proto)
{
    switch (proto) {
    case IPPROTO_ICMP: return "ICMP";
    case IPPROTO_TCP: return "TCP";
    case IPPROTO_UDP: return "UDP";
    case IPPROTO_ICMPV6: return "ICMPv6";
    case IPPROTO_SCTP: return "SCTP";
    default: return NULL;
    }
}

const char *wkp__proto_name(uint8_t proto, char tmp[16])
{
    const char *name = transport_name(proto);
    if (name && proto != IPPROTO_SCTP)
        return name;
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

static void put_double(struct wkp_buf *b, double v, int json)
{
    if (!isfinite(v)) {
        if (json)
            wkp_buf_puts(b, "null");
        return;
    }
    /* straight into the buffer: no copy (and no call to memcpy) a number */
    if (b->len + WKP_DTOA_MAX > b->cap && wkp_buf_reserve(b, WKP_DTOA_MAX) != 0)
        return;
    b->len += b->memo ? wkp_dtoa_memo(v, b->p + b->len, b->memo) : wkp_dtoa(v, b->p + b->len);
}

/* ext_protocol: the IP version, the transport's name when it has one, then
 * what the claiming application dissector adds ("TLS", "HTTPS"), in
 * registry order. */
static void ext_protocol(struct wkp_buf *b, const struct wkp_flow *f,
                         const struct wkp_flow_extra *x, const struct wkp_coltab *tab)
{
    wkp_buf_puts(b, f->family == 6 ? "[\"IPv6\"" : "[\"IPv4\"");
    const char *t = transport_name(f->proto);
    if (t) {
        wkp_buf_puts(b, ",\"");
        wkp_buf_puts(b, t);
        wkp_buf_putc(b, '"');
    }
    for (unsigned d = 0; x->app && d < tab->ndis; d++) {
        const char *names[4];
        if (!x->app[d] || !tab->dis[d]->ext_protocol)
            continue;
        size_t n = tab->dis[d]->ext_protocol(x->app[d], names, 4);
        for (size_t i = 0; i < n && i < 4; i++) {
            wkp_buf_puts(b, ",\"");
            wkp_buf_puts(b, names[i]);
            wkp_buf_putc(b, '"');
        }
    }
    const char *names[WKP_UP_FLOW_PROTOS];
    size_t n = x->up ? wkp_up_flow_ext(tab->up, x->up, names, WKP_UP_FLOW_PROTOS) : 0;
    for (size_t i = 0; i < n; i++) { /* then the user layers, in the order seen */
        wkp_buf_puts(b, ",\"");
        wkp_buf_puts(b, names[i]);
        wkp_buf_putc(b, '"');
    }
    wkp_buf_putc(b, ']');
}

/* A length with its direction's sign: 0 has none. */
static inline char *put_signed(char *p, uint64_t mag, bool neg)
{
    *p = '-';
    return wkp_put_u64(p + (neg && mag), mag);
}

/* Room for a value seq_list writes and its comma: a time is the longest. */
#define SEQ_VALUE_MAX (WKP_TIME_MAX + 1)

/* A sequence as a compact JSON list; as a CSV cell (csv = 1) in quotes
 * when it holds a comma, as wkp_buf_csv_quote_from would quote it (the list has
 * no quote or line break to escape). Room for the whole list is reserved
 * once. */
__attribute__((noinline)) static void seq_list(struct wkp_buf *b, const struct wkp_flow *f,
                                               const struct wkp_seq *seq, int which, bool csv)
{
    uint64_t n = seq->stored - (which == WKP_SEQ_COL_IATS && seq->stored);
    bool quote = csv && n >= 2;
    if (b->len + n * SEQ_VALUE_MAX + 4 > b->cap && wkp_buf_reserve(b, n * SEQ_VALUE_MAX + 4) != 0)
        return;
    char *p = b->p + b->len, *start = p;
    *p = '"';
    p += quote;
    *p++ = '[';
    bool seen = false;
    int64_t prev = 0;
    uint64_t left = n; /* the room reserved: never more values */
    for (struct wkp_seq_it it = wkp_seq_first(seq); left && wkp_seq_more(&it); wkp_seq_next(&it)) {
        const struct wkp_pkt_rec *r = it.r;
        bool neg = r->dir < 0;
        switch (which) {
        case WKP_SEQ_COL_PACKET_LENGTHS: p = put_signed(p, r->wire, neg); break;
        case WKP_SEQ_COL_IP_LENGTHS: p = put_signed(p, r->ip, neg); break;
        case WKP_SEQ_COL_TRANS_LENGTHS: p = put_signed(p, r->trans, neg); break;
        case WKP_SEQ_COL_APP_LENGTHS: p = put_signed(p, r->app, neg); break;
        case WKP_SEQ_COL_TIMESTAMPS: p = wkp_put_time(p, r->ts_ns, f->ts_digits); break;
        case WKP_SEQ_COL_IATS:
            if (!seen) { /* n - 1 values: no leading 0 */
                prev = r->ts_ns;
                seen = true;
                continue;
            }
            p = wkp_put_time(p, wkp_ns_sub(r->ts_ns, prev), f->ts_digits);
            prev = r->ts_ns;
            break;
        case WKP_SEQ_COL_PAYLOAD_BYTES: p = put_signed(p, r->payload, neg); break;
        case WKP_SEQ_COL_TCP_FLAGS: p = wkp_put_u64(p, r->flags); break;
        case WKP_SEQ_COL_TCP_WINDOW_SIZES: p = wkp_put_u64(p, r->win); break;
        }
        *p++ = ',';
        left--;
    }
    if (p[-1] == ',')
        p--;
    *p++ = ']';
    *p = '"';
    p += quote;
    b->len += (size_t)(p - start);
}

/* The tunnel object: the first packet's encapsulation, outer to inner,
 * with the identifiers it carried and, when an IP tunnel was crossed, the
 * outer addresses. */
static const char *const stack_names[] = {
    [WKP_EL_NONE] = "NONE",   [WKP_EL_VLAN] = "VLAN",     [WKP_EL_MPLS] = "MPLS",
    [WKP_EL_PPPOE] = "PPPOE", [WKP_EL_GRE] = "GRE",       [WKP_EL_ERSPAN] = "ERSPAN",
    [WKP_EL_VXLAN] = "VXLAN", [WKP_EL_GENEVE] = "GENEVE", [WKP_EL_IPIP] = "IPIP",
};

__attribute__((noinline)) static void tunnel_json(struct wkp_buf *b, const struct wkp_l2l4_tun *t)
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
        char a[WKP_ADDR_TEXT_MAX], z[WKP_ADDR_TEXT_MAX];
        int af = t->outer_family == 6 ? 6 : 4;
        wkp_buf_puts(b, ",\"outer_src\":");
        wkp_buf_json_str(b, wkp_addr_text(t->outer_src, af, a));
        wkp_buf_puts(b, ",\"outer_dst\":");
        wkp_buf_json_str(b, wkp_addr_text(t->outer_dst, af, z));
    }
    wkp_buf_putc(b, '}');
}

static void put_text(struct wkp_buf *b, const char *s, int json)
{
    if (json)
        wkp_buf_json_str(b, s);
    else
        wkp_buf_csv_cell(b, s, strlen(s));
}

/* A dissector's name in capitals ("tls" -> "TLS"): names are short ASCII. */
static void put_upper(struct wkp_buf *b, const char *s, int json)
{
    char tmp[32];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof tmp; i++)
        tmp[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
    tmp[i] = '\0';
    put_text(b, tmp, json);
}

static void put_protocol(struct wkp_buf *b, uint8_t proto, int json)
{
    char tmp[16];
    put_text(b, wkp__proto_name(proto, tmp), json);
}

/* A statistic of a block the flow has. Apart from put_value: the rows
 * spend most of their columns here. */
static inline void put_stat(struct wkp_buf *b, const struct wkp_col *c,
                            const struct wkp_flow_stats *st, int json)
{
    double v = st->blk[c->blk].v[c->arg];
    if (c->kind == WKP_COL_STAT_COUNT)
        wkp_buf_u64(b, (uint64_t)v);
    else
        put_double(b, v, json);
}

/* Append column c's value: JSON text (json = 1), or one CSV cell (a list or
 * an object is its JSON text quoted as one cell). Returns false when the
 * flow has no value for it, having written nothing: an empty CSV cell, no
 * key in JSON. */
static bool put_value(struct wkp_buf *b, const struct wkp_col *c, const struct wkp_flow *f,
                      const struct wkp_flow_extra *x, const struct wkp_config *cfg, int json)
{
    const char *field = (const char *)f + c->arg;
    size_t at = b->len;
    switch (c->kind) {
    case WKP_COL_U64: wkp_buf_u64(b, *(const uint64_t *)field); return true;
    case WKP_COL_U16: wkp_buf_u64(b, *(const uint16_t *)field); return true;
    case WKP_COL_TIME: wkp_buf_time(b, *(const int64_t *)field, f->ts_digits); return true;
    case WKP_COL_DURATION:
        wkp_buf_time(b, wkp_ns_sub(f->end_ns, f->start_ns), f->ts_digits);
        return true;
    case WKP_COL_TEXT: put_text(b, field, json); return true;
    case WKP_COL_TEXT_PTR: put_text(b, *(const char *const *)field, json); return true;
    case WKP_COL_PROTOCOL: put_protocol(b, f->proto, json); return true;
    case WKP_COL_END_REASON: put_text(b, wkp__end_reason_names[f->end_reason], json); return true;
    case WKP_COL_STAT:
    case WKP_COL_STAT_COUNT:
        if (!(x->stats->present & (1u << c->blk))) /* the block has no values */
            return false;
        put_stat(b, c, x->stats, json);
        return true;
    case WKP_COL_SCALAR_U64:
        wkp_buf_u64(b, *(const uint64_t *)((const char *)&x->stats->sc + c->arg));
        return true;
    case WKP_COL_SCALAR_DBL:
        put_double(b, *(const double *)((const char *)&x->stats->sc + c->arg), json);
        return true;
    case WKP_COL_CUSTOM:
        if (json)
            wkp_custom_write_value(&cfg->custom, c->arg, x->custom_block, b);
        else
            wkp_custom_write_csv_one(&cfg->custom, c->arg, x->custom_block, b);
        return true;
    case WKP_COL_EXT_PROTOCOL: ext_protocol(b, f, x, cfg->cols); break;
    case WKP_COL_SEQ:
        if ((c->arg == WKP_SEQ_COL_TCP_FLAGS || c->arg == WKP_SEQ_COL_TCP_WINDOW_SIZES) &&
            f->proto != IPPROTO_TCP)
            return false;
        seq_list(b, f, x->seq, c->arg, !json);
        return true;
    case WKP_COL_TUNNEL:
        if (!f->tun)
            return false;
        tunnel_json(b, f->tun);
        break;
    case WKP_COL_SIG_APP: {
        const char *label = wkp_sig_label(cfg->sigdb, x->sig);
        if (label) {
            put_text(b, label, json);
            return true;
        }
        /* no labelled match: the claiming dissector's protocol, its name in capitals */
        for (unsigned d = 0; d < cfg->cols->ndis; d++)
            if (x->app_matched >> d & 1u) {
                put_upper(b, cfg->cols->dis[d]->name, json);
                return true;
            }
        return false;
    }
    case WKP_COL_SIGNATURES: wkp_sig_write(cfg->sigdb, x->sig, b); break;
    case WKP_COL_USER:
        wkp_up_flow_write(cfg->up, x->up, c->arg, b);
        if (b->len == at) /* the flow never had that layer */
            return false;
        break;
    case WKP_COL_APP: {
        const void *state = x->app ? x->app[c->arg] : NULL;
        if (!state)
            return false;
        c->dis->write(state, b);
        if (b->len == at) /* nothing to say: as if unclaimed */
            return false;
        break;
    }
    }
    if (!json)
        wkp_buf_csv_quote_from(b, at);
    return true;
}

/* Columns [from, to) of a CSV row, each after a comma but the row's first. */
static void csv_cols(struct wkp_buf *b, const struct wkp_config *cfg, size_t from, size_t to,
                     const struct wkp_flow *f, const struct wkp_flow_extra *x)
{
    for (size_t i = from; i < to; i++) {
        if (i)
            wkp_buf_putc(b, ',');
        put_value(b, &cfg->cols->v[i], f, x, cfg, 0);
    }
}

static void csv_row(struct wkp_buf *b, const struct wkp_flow *f, const struct wkp_flow_extra *x,
                    const struct wkp_config *cfg)
{
    const struct wkp_coltab *t = cfg->cols;
    const struct wkp_flow_stats *st = x->stats;
    csv_cols(b, cfg, 0, t->stats_at, f, x);
    for (size_t i = t->stats_at; i < t->scalars_at; i++) { /* most of the row: its own loop */
        const struct wkp_col *c = &t->v[i];
        if (i)
            wkp_buf_putc(b, ',');
        if (st->present & (1u << c->blk))
            put_stat(b, c, st, 0);
    }
    csv_cols(b, cfg, t->scalars_at, t->n, f, x);
    wkp_buf_putc(b, '\n');
}

void wkp__csv_header(struct wkp_buf *b, const struct wkp_config *cfg)
{
    const struct wkp_coltab *t = cfg->cols;
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            wkp_buf_putc(b, ',');
        wkp_buf_puts(b, t->v[i].name);
    }
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

/* Columns [from, to) as members of one object; a column without a value
 * has no key. */
static void json_members(struct wkp_buf *b, const struct wkp_config *cfg, size_t from, size_t to,
                         const struct wkp_flow *f, const struct wkp_flow_extra *x, int pretty,
                         int depth, bool *first)
{
    for (size_t i = from; i < to; i++) {
        const struct wkp_col *c = &cfg->cols->v[i];
        size_t mark = b->len;
        bool was_first = *first;
        key(b, c->key, pretty, depth, first);
        if (!put_value(b, c, f, x, cfg, 1)) {
            b->len = mark;
            *first = was_first;
        }
    }
}

/* The "statistics" members: one object per present block holding its
 * selected statistics, then the scalars. */
static void json_statistics(struct wkp_buf *b, const struct wkp_config *cfg,
                            const struct wkp_flow *f, const struct wkp_flow_extra *x, int pretty,
                            int depth, bool *first)
{
    const struct wkp_coltab *t = cfg->cols;
    const struct wkp_flow_stats *st = x->stats;
    bool bfirst = true;
    int open = -1; /* the block whose object is open */
    for (size_t i = t->stats_at; i < t->scalars_at; i++) {
        const struct wkp_col *c = &t->v[i];
        if (!(st->present & (1u << c->blk)))
            continue;
        if (c->blk != open) {
            if (open >= 0) {
                nl(b, pretty, depth);
                wkp_buf_putc(b, '}');
            }
            key(b, wkp_block_names[c->blk], pretty, depth, first);
            wkp_buf_putc(b, '{');
            bfirst = true;
            open = c->blk;
        }
        key(b, c->key, pretty, depth + 1, &bfirst);
        put_stat(b, c, st, 1);
    }
    if (open >= 0) {
        nl(b, pretty, depth);
        wkp_buf_putc(b, '}');
    }
    json_members(b, cfg, t->scalars_at, t->seqs_at, f, x, pretty, depth, first);
}

static void json_obj(struct wkp_buf *b, const struct wkp_flow *f, const struct wkp_flow_extra *x,
                     const struct wkp_config *cfg, int pretty)
{
    const struct wkp_coltab *t = cfg->cols;
    int d = pretty ? 1 : 0; /* the array's elements sit at depth 1 */
    if (pretty)
        wkp_buf_puts(b, "  ");
    wkp_buf_putc(b, '{');
    bool first = true, ffirst = true;
    json_members(b, cfg, 0, t->stats_at, f, x, pretty, d + 1, &first);
    /* "features" and "statistics" only when --columns kept a column of them */
    if (t->stats_at < t->feat_end) {
        key(b, "features", pretty, d + 1, &first);
        wkp_buf_putc(b, '{');
        json_members(b, cfg, t->seqs_at, t->feat_end, f, x, pretty, d + 2, &ffirst);
        if (t->stats_at < t->seqs_at) {
            key(b, "statistics", pretty, d + 2, &ffirst);
            wkp_buf_putc(b, '{');
            bool sfirst = true;
            json_statistics(b, cfg, f, x, pretty, d + 3, &sfirst);
            nl(b, pretty, d + 2);
            wkp_buf_putc(b, '}');
        }
        nl(b, pretty, d + 1);
        wkp_buf_putc(b, '}');
    }
    json_members(b, cfg, t->feat_end, t->n, f, x, pretty, d + 1, &first);
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

/* After the packet columns, those of ARP rows: a flow's rows leave them
 * empty and an ARP row leaves the flow's empty, so every row has the
 * header's width. */
static const char *const arp_columns[] = {
    "arp_operation", "arp_sender_mac", "arp_sender_ip", "arp_target_mac", "arp_target_ip",
};
enum { NACOLS = sizeof arp_columns / sizeof arp_columns[0] };
_Static_assert(NACOLS == 5, "a flow's packet rows write five empty ARP cells");

void wkp__packets_csv_header(struct wkp_buf *b)
{
    for (int i = 0; i < NPCOLS + NACOLS; i++) {
        if (i)
            wkp_buf_putc(b, ',');
        wkp_buf_puts(b, i < NPCOLS ? packet_columns[i] : arp_columns[i - NPCOLS]);
    }
    wkp_buf_putc(b, '\n');
}

/* ARP (RFC 826): hardware type, protocol type, their address lengths,
 * the operation, then sender and target addresses. The addresses are read
 * for Ethernet and IPv4 sizes (6 and 4) only, each if the capture holds
 * it; values that cannot be read are empty cells and absent keys. */
static void arp_row_text(struct wkp_buf *b, const struct wkp_flow *f, const uint8_t *arp,
                         uint32_t len, int64_t ts_ns, uint32_t wirelen, int json)
{
    static const char hex[] = "0123456789abcdef";
    struct wkp_cur c = {.p = arp, .len = len};
    wkp_cur_skip(&c, 4);
    uint8_t hlen = wkp_cur_u8(&c), plen = wkp_cur_u8(&c);
    uint16_t op = wkp_cur_be16(&c);
    bool have_op = !c.short_read, sizes = have_op && hlen == 6 && plen == 4;
    char val[NACOLS][20];
    for (int k = 0; k < NACOLS; k++)
        val[k][0] = '\0';
    if (have_op)
        snprintf(val[0], sizeof val[0], "%u", op);
    for (int k = 0; sizes && k < 4; k++) { /* sender MAC, sender IP, target MAC, target IP */
        uint8_t a[6];
        uint32_t n = k % 2 ? 4 : 6;
        wkp_cur_copy(&c, a, n);
        if (c.short_read)
            break;
        char *p = val[k + 1];
        for (uint32_t i = 0; i < n; i++) {
            if (k % 2)
                p += snprintf(p, 5, i ? ".%u" : "%u", a[i]);
            else {
                if (i)
                    *p++ = ':';
                *p++ = hex[a[i] >> 4];
                *p++ = hex[a[i] & 15];
                *p = '\0';
            }
        }
    }
    if (json) {
        wkp_buf_puts(b, "{\"capture\":");
        wkp_buf_json_str(b, f->capture);
        wkp_buf_puts(b, ",\"timestamp\":");
        wkp_buf_time(b, ts_ns, f->ts_digits);
        wkp_buf_puts(b, ",\"packet_length\":");
        wkp_buf_u64(b, wirelen);
        for (int k = 0; k < NACOLS; k++) {
            if (!val[k][0])
                continue;
            wkp_buf_puts(b, ",\"");
            wkp_buf_puts(b, arp_columns[k]);
            wkp_buf_puts(b, k ? "\":\"" : "\":");
            wkp_buf_puts(b, val[k]);
            if (k)
                wkp_buf_putc(b, '"');
        }
        wkp_buf_puts(b, "}\n");
        return;
    }
    wkp_buf_putc(b, ','); /* no flow_id */
    wkp_buf_csv_cell(b, f->capture, strlen(f->capture));
    wkp_buf_puts(b, ",,,"); /* no index, no direction */
    wkp_buf_time(b, ts_ns, f->ts_digits);
    wkp_buf_putc(b, ',');
    wkp_buf_u64(b, wirelen);
    for (int i = 6; i < NPCOLS; i++) /* the lengths of IP and above, TCP flags and window */
        wkp_buf_putc(b, ',');
    for (int k = 0; k < NACOLS; k++) {
        wkp_buf_putc(b, ',');
        wkp_buf_puts(b, val[k]);
    }
    wkp_buf_putc(b, '\n');
}

int wkp__serialize_arp(struct wkp_flow *f, const uint8_t *arp, uint32_t len, int64_t ts_ns,
                       uint32_t wirelen, unsigned mask, struct wkp_buf *scratch)
{
    for (int t = WKP_TXT_PKT_CSV; t <= WKP_TXT_PKT_NDJSON; t++) {
        if (!(mask & (1u << t)))
            continue;
        scratch->len = 0;
        arp_row_text(scratch, f, arp, len, ts_ns, wirelen, t == WKP_TXT_PKT_NDJSON);
        if (scratch->oom || !wkp__text_room(f, t, scratch->len))
            return -1;
        memcpy(f->text[t], scratch->p, scratch->len);
        f->text_len[t] = scratch->len;
    }
    return 0;
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
    for (struct wkp_seq_it it = wkp_seq_first(seq); wkp_seq_more(&it); wkp_seq_next(&it), idx++) {
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
            wkp_buf_puts(b, ",,,,,\n"); /* the ARP cells, empty */
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
            csv_row(scratch, f, x, cfg);
        else if (t == WKP_TXT_PKT_CSV || t == WKP_TXT_PKT_NDJSON)
            packet_rows(scratch, f, x->seq, t == WKP_TXT_PKT_NDJSON, &cell);
        else
            json_obj(scratch, f, x, cfg, t == WKP_TXT_JSON);
        if (scratch->oom || cell.oom) {
            wkp_buf_free(&cell);
            return -1;
        }
        if (!wkp__text_room(f, t, scratch->len)) {
            wkp_buf_free(&cell);
            return -1;
        }
        memcpy(f->text[t], scratch->p, scratch->len);
        f->text_len[t] = scratch->len;
    }
    wkp_buf_free(&cell);
    return 0;
}
