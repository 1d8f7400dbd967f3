/* Read-only accessors of a finished flow (the public wkp_flow view). Called
 * from sink callbacks on the merger thread; the record is freed after the
 * callbacks return. A NULL flow gives 0 or "" (NaN for a statistic), like
 * the rest of the API refuses NULL. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/columns.h"
#include "engine/internal.h"

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
