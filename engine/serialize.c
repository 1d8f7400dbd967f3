/* Flow records to text, on the worker that finished the flow, so the merger
 * only orders ready-made buffers and writes them (formatting in one merger
 * thread would bound the whole pipeline).
 *
 * Column order is fixed (SPEC D12): flow_id, capture, the 16 base keys of
 * §11, end_reason; later features append their columns after these and
 * nothing here moves. Numbers follow D6: integers as integers, times exact
 * with the capture's 6 or 9 decimals, lists as compact JSON text. */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

const char *const wkp__end_reason_names[] = {
    [WKP_END_FIN] = "fin",          [WKP_END_RST] = "rst",
    [WKP_END_IDLE] = "idle_timeout", [WKP_END_NEW_SYN] = "new_syn",
    [WKP_END_EOF] = "end_of_input", [WKP_END_EVICTED] = "evicted",
};

static const char *const columns[] = {
    "flow_id",        "capture",         "key",
    "protocol",       "src_ip",          "dst_ip",
    "src_port",       "dst_port",        "start_time",
    "end_time",       "duration",        "packet_count",
    "byte_count",     "up_packet_count", "up_byte_count",
    "down_packet_count", "down_byte_count", "ext_protocol",
    "end_reason",
};
enum { NCOLS = sizeof columns / sizeof columns[0] };

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

void wkp__csv_header(struct wkp_buf *b)
{
    for (int i = 0; i < NCOLS; i++) {
        if (i)
            wkp_buf_putc(b, ',');
        wkp_buf_puts(b, columns[i]);
    }
    wkp_buf_putc(b, '\n');
}

/* One value of column i, as raw text (CSV) or JSON (json = 1). */
static void value(struct wkp_buf *b, const struct wkp_flow *f, int i, int json)
{
    char tmp[16];
    switch (i) {
    case 0: wkp_buf_u64(b, f->id); break;
    case 1: json ? wkp_buf_json_str(b, f->capture) : wkp_buf_puts(b, f->capture); break;
    case 2: json ? wkp_buf_json_str(b, f->key) : wkp_buf_puts(b, f->key); break;
    case 3: {
        const char *n = wkp__proto_name(f->proto, tmp);
        json ? wkp_buf_json_str(b, n) : wkp_buf_puts(b, n);
        break;
    }
    case 4: json ? wkp_buf_json_str(b, f->src_ip) : wkp_buf_puts(b, f->src_ip); break;
    case 5: json ? wkp_buf_json_str(b, f->dst_ip) : wkp_buf_puts(b, f->dst_ip); break;
    case 6: wkp_buf_u64(b, f->sport); break;
    case 7: wkp_buf_u64(b, f->dport); break;
    case 8: wkp_buf_time(b, f->start_ns, f->ts_digits); break;
    case 9: wkp_buf_time(b, f->end_ns, f->ts_digits); break;
    case 10: wkp_buf_time(b, f->end_ns - f->start_ns, f->ts_digits); break;
    case 11: wkp_buf_u64(b, f->pkts[WKP_DIR_BOTH]); break;
    case 12: wkp_buf_u64(b, f->bytes[WKP_DIR_BOTH]); break;
    case 13: wkp_buf_u64(b, f->pkts[WKP_DIR_UP]); break;
    case 14: wkp_buf_u64(b, f->bytes[WKP_DIR_UP]); break;
    case 15: wkp_buf_u64(b, f->pkts[WKP_DIR_DOWN]); break;
    case 16: wkp_buf_u64(b, f->bytes[WKP_DIR_DOWN]); break;
    case 17: ext_protocol(b, f); break;
    case 18: {
        const char *r = wkp__end_reason_names[f->end_reason];
        json ? wkp_buf_json_str(b, r) : wkp_buf_puts(b, r);
        break;
    }
    }
}

static void csv_row(struct wkp_buf *b, const struct wkp_flow *f)
{
    struct wkp_buf cell = {0};
    for (int i = 0; i < NCOLS; i++) {
        if (i)
            wkp_buf_putc(b, ',');
        if (i == 1 || i == 17) { /* cells that may hold , or " */
            cell.len = 0;
            value(&cell, f, i, 0);
            if (cell.oom)
                b->oom = 1;
            else
                wkp_buf_csv_cell(b, cell.p, cell.len);
        } else {
            value(b, f, i, 0);
        }
    }
    wkp_buf_putc(b, '\n');
    wkp_buf_free(&cell);
}

static void json_obj(struct wkp_buf *b, const struct wkp_flow *f, int pretty)
{
    wkp_buf_puts(b, pretty ? "  {\n" : "{");
    for (int i = 0; i < NCOLS; i++) {
        if (pretty)
            wkp_buf_puts(b, "    ");
        wkp_buf_putc(b, '"');
        wkp_buf_puts(b, columns[i]);
        wkp_buf_puts(b, pretty ? "\": " : "\":");
        value(b, f, i, 1);
        if (i + 1 < NCOLS)
            wkp_buf_puts(b, pretty ? ",\n" : ",");
    }
    wkp_buf_puts(b, pretty ? "\n  }" : "}\n");
}

int wkp__serialize(struct wkp_flow *f, unsigned mask, struct wkp_buf *scratch)
{
    for (int t = 0; t < WKP_TXT__COUNT; t++) {
        if (!(mask & (1u << t)))
            continue;
        scratch->len = 0;
        if (t == WKP_TXT_CSV)
            csv_row(scratch, f);
        else
            json_obj(scratch, f, t == WKP_TXT_JSON);
        if (scratch->oom)
            return -1;
        f->text[t] = malloc(scratch->len);
        if (!f->text[t])
            return -1;
        memcpy(f->text[t], scratch->p, scratch->len);
        f->text_len[t] = scratch->len;
    }
    return 0;
}
