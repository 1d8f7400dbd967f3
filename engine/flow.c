/* Read-only accessors of a finished flow (the public wkp_flow view). Called
 * from sink callbacks on the merger thread; the record is freed after the
 * callbacks return. */
#include "engine/internal.h"

uint64_t wkp_flow_id(const wkp_flow *f) { return f->id; }
const char *wkp_flow_capture(const wkp_flow *f) { return f->capture; }
const char *wkp_flow_key(const wkp_flow *f) { return f->key; }
const char *wkp_flow_src_ip(const wkp_flow *f) { return f->src_ip; }
const char *wkp_flow_dst_ip(const wkp_flow *f) { return f->dst_ip; }
uint16_t wkp_flow_src_port(const wkp_flow *f) { return f->sport; }
uint16_t wkp_flow_dst_port(const wkp_flow *f) { return f->dport; }
uint8_t wkp_flow_protocol(const wkp_flow *f) { return f->proto; }
int wkp_flow_ip_version(const wkp_flow *f) { return f->family; }
uint16_t wkp_flow_vlan_id(const wkp_flow *f) { return f->vlan_id; }
int64_t wkp_flow_start_ns(const wkp_flow *f) { return f->start_ns; }
int64_t wkp_flow_end_ns(const wkp_flow *f) { return f->end_ns; }

uint64_t wkp_flow_packets(const wkp_flow *f, wkp_dir dir)
{
    return dir >= WKP_DIR_BOTH && dir <= WKP_DIR_DOWN ? f->pkts[dir] : 0;
}

uint64_t wkp_flow_bytes(const wkp_flow *f, wkp_dir dir)
{
    return dir >= WKP_DIR_BOTH && dir <= WKP_DIR_DOWN ? f->bytes[dir] : 0;
}

uint64_t wkp_flow_tcp_flag_count(const wkp_flow *f, wkp_tcp_flag flag)
{
    return flag >= WKP_TCP_FIN && flag <= WKP_TCP_CWR ? f->flag_counts[flag] : 0;
}

const char *wkp_flow_end_reason(const wkp_flow *f) { return wkp__end_reason_names[f->end_reason]; }
