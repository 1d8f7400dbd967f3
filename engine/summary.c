/* wkp_engine_write_summary: the run as one JSON document (docs/output.md
 * describes its fields). Built in memory, then written in one go, so a
 * failed write leaves nothing half-done but the file it names. Called after
 * wkp_engine_run by the thread that owns the engine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/oneline.h"

static const char *const counter_names[WKP_CNT__COUNT] = {
    "packets_read",   "bytes_read",   "in_flow",         "filtered",        "flow_filtered",
    "retransmission", "ack_filtered", "rst_filtered",    "fragment_merged", "fragment_expired",
    "not_ip",         "malformed",    "flow_table_full", "flows",           "unsupported_link",
};

static void put_bool(struct wkp_buf *b, bool v)
{
    wkp_buf_puts(b, v ? "true" : "false");
}

static void put_str_or_null(struct wkp_buf *b, const char *s)
{
    if (s)
        wkp_buf_json_str(b, s);
    else
        wkp_buf_puts(b, "null");
}

/* What happened: "ok", "stopped", "write error" or the failure's
 * wkp_strerror text; "error" has the one-line message. */
static void put_status(struct wkp_buf *b, const wkp_engine *e)
{
    wkp_buf_puts(b, "{\n  \"version\": \"" WKP_VERSION_STRING "\",\n  \"status\": ");
    wkp_buf_json_str(b, !e->ran                   ? "not run"
                        : e->run_status == WKP_OK ? "ok"
                        : e->write_failed         ? "write error"
                                                  : wkp_strerror(e->run_status));
    wkp_buf_puts(b, ",\n  \"error\": ");
    put_str_or_null(b, e->ran && e->run_status != WKP_OK ? e->err : NULL);
}

/* A list kept as text (one entry a line, fields split by tabs) as a JSON
 * array of strings: the i-th tab of each line becomes seps[i], e.g.
 * "udp\t9999\tbeacon" with ":=" reads "udp:9999=beacon". NULL: []. */
static void put_lines(struct wkp_buf *b, const char *text, const char *seps)
{
    wkp_buf_putc(b, '[');
    for (const char *l = text; l && *l;) {
        size_t n = strcspn(l, "\n");
        char *line = strndup(l, n);
        if (line) {
            char *t = line;
            for (const char *sep = seps; *sep && (t = strchr(t, '\t')); sep++)
                *t++ = *sep;
            wkp_buf_puts(b, l == text ? "" : ", ");
            wkp_buf_json_str(b, line);
            free(line);
        }
        l += n + (l[n] == '\n');
    }
    wkp_buf_putc(b, ']');
}

static void put_options(struct wkp_buf *b, const wkp_engine *e)
{
    const struct wkp_config *c = &e->cfg;
    wkp_buf_puts(b, ",\n  \"options\": {\"threads\": ");
    wkp_buf_u64(b, e->nworkers);
    wkp_buf_puts(b, ", \"reader\": ");
    wkp_buf_json_str(b, c->reader == WKP_READER_MMAP      ? "mmap"
                        : c->reader == WKP_READER_LIBPCAP ? "libpcap"
                                                          : "auto");
    wkp_buf_puts(b, ", \"parse_in\": ");
    wkp_buf_json_str(b, c->parse_in == WKP_PARSE_IN_READER    ? "reader"
                        : c->parse_in == WKP_PARSE_IN_WORKERS ? "workers"
                                                              : "auto");
    wkp_buf_puts(b, ", \"tcp_timeout_ns\": ");
    wkp_buf_i64(b, c->tcp_timeout_ns);
    wkp_buf_puts(b, ", \"udp_timeout_ns\": ");
    wkp_buf_i64(b, c->udp_timeout_ns);
    wkp_buf_puts(b, ", \"tcp_close_timeout_ns\": ");
    wkp_buf_i64(b, c->tcp_close_timeout_ns);
    wkp_buf_puts(b, ", \"max_flows\": ");
    wkp_buf_u64(b, c->max_flows);
    wkp_buf_puts(b, ", \"ring_slots\": ");
    wkp_buf_u64(b, c->ring_slots);
    wkp_buf_puts(b, ", \"strict\": ");
    put_bool(b, c->strict);
    wkp_buf_puts(b, ", \"resync\": ");
    put_bool(b, c->resync);
    wkp_buf_puts(b, ", \"app_layer\": ");
    wkp_buf_json_str(b, c->app_layer == WKP_APP_NONE        ? "none"
                        : c->app_layer == WKP_APP_PORT_ONLY ? "port_only"
                                                            : "full");
    wkp_buf_puts(b, ", \"compat\": ");
    put_bool(b, c->compat);
    wkp_buf_puts(b, ", \"filter_retrans\": ");
    put_bool(b, c->filter_retrans);
    wkp_buf_puts(b, ", \"filter_ack\": ");
    put_bool(b, c->filter_ack);
    wkp_buf_puts(b, ", \"filter_rst\": ");
    put_bool(b, c->filter_rst);
    wkp_buf_puts(b, ", \"min_packets\": ");
    wkp_buf_u64(b, c->min_packets);
    wkp_buf_puts(b, ", \"max_seq\": ");
    wkp_buf_u64(b, c->max_seq);
    wkp_buf_puts(b, ", \"sequences\": ");
    put_bool(b, c->sequences);
    wkp_buf_puts(b, ", \"columns\": ");
    put_str_or_null(b, c->columns);
    wkp_buf_puts(b, ", \"reassembly\": ");
    put_bool(b, c->reassembly);
    wkp_buf_puts(b, ", \"tcp_stream_limit\": ");
    wkp_buf_u64(b, c->tcp_stream_limit);
    wkp_buf_puts(b, ", \"vxlan_ports\": [4789");
    for (uint32_t i = 0; i < c->parse.n_vxlan_ports; i++) {
        bool seen = c->parse.vxlan_ports[i] == 4789; /* always decoded */
        for (uint32_t k = 0; k < i && !seen; k++)
            seen = c->parse.vxlan_ports[k] == c->parse.vxlan_ports[i];
        if (seen)
            continue;
        wkp_buf_puts(b, ", ");
        wkp_buf_u64(b, c->parse.vxlan_ports[i]);
    }
    wkp_buf_puts(b, "]");
    wkp_buf_puts(b, ", \"app_options\": ");
    put_lines(b, e->given_app_options, "=");
    wkp_buf_puts(b, ", \"protocol_dirs\": ");
    put_lines(b, e->given_proto_dirs, "");
    wkp_buf_puts(b, ", \"routes\": ");
    put_lines(b, e->given_routes, ":=");
    wkp_buf_puts(b, ", \"custom_features\": [");
    for (size_t i = 0; i < c->custom.n; i++) {
        wkp_buf_puts(b, i ? ", " : "");
        wkp_buf_json_str(b, c->custom.v[i].name);
    }
    wkp_buf_putc(b, ']');
    wkp_buf_puts(b, ", \"default_filter\": ");
    put_str_or_null(b, c->default_filter);
    wkp_buf_puts(b, ", \"filter\": ");
    put_str_or_null(b, c->filter);
    /* several captures and slices (docs/design.md, "Several captures"): null = no bound */
    wkp_buf_puts(b, ", \"merge\": ");
    put_bool(b, c->merge);
    wkp_buf_puts(b, ", \"start_offset\": ");
    wkp_buf_u64(b, c->off_lo);
    wkp_buf_puts(b, ", \"stop_offset\": ");
    if (c->off_hi == UINT64_MAX)
        wkp_buf_puts(b, "null");
    else
        wkp_buf_u64(b, c->off_hi);
    wkp_buf_puts(b, ", \"start_time_ns\": ");
    if (c->time_lo == INT64_MIN)
        wkp_buf_puts(b, "null");
    else
        wkp_buf_i64(b, c->time_lo);
    wkp_buf_puts(b, ", \"stop_time_ns\": ");
    if (c->time_hi == INT64_MAX)
        wkp_buf_puts(b, "null");
    else
        wkp_buf_i64(b, c->time_hi);
    wkp_buf_puts(b, "}");
}

/* Threads, wall time, the packet counters and malformed packets by layer. */
static void put_counters(struct wkp_buf *b, const wkp_engine *e)
{
    wkp_buf_puts(b, ",\n  \"threads\": ");
    wkp_buf_u64(b, e->nworkers);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.6f", e->wall_s);
    wkp_buf_puts(b, ",\n  \"wall_seconds\": ");
    wkp_buf_puts(b, tmp);
    wkp_buf_puts(b, ",\n  \"packets\": {");
    for (int i = 0; i < WKP_CNT__COUNT; i++) {
        if (i == WKP_CNT_BYTES_READ || i == WKP_CNT_FLOWS)
            continue;
        wkp_buf_puts(b, i ? ", \"" : "\"");
        wkp_buf_puts(b, counter_names[i]);
        wkp_buf_puts(b, "\": ");
        wkp_buf_u64(b, e->counters[i]);
    }
    wkp_buf_puts(b, "},\n  \"malformed_by_layer\": {");
    for (int i = 1; i < WKP_ANOM__COUNT; i++) {
        wkp_buf_puts(b, i > 1 ? ", \"" : "\"");
        wkp_buf_puts(b, wkp_anom_names[i]);
        wkp_buf_puts(b, "\": ");
        wkp_buf_u64(b, e->malformed_by[i]);
    }
    wkp_buf_puts(b, "},\n  \"bytes_read\": ");
    wkp_buf_u64(b, e->counters[WKP_CNT_BYTES_READ]);
    wkp_buf_puts(b, ",\n  \"flows\": ");
    wkp_buf_u64(b, e->counters[WKP_CNT_FLOWS]);
    wkp_buf_puts(b, ",\n  \"flows_evicted\": ");
    wkp_buf_u64(b, e->evicted);
}

/* The application dissectors' counters, summed over the workers:
 * "dissectors": {"dns": {"malformed": 0, ...}, ...}, for those that keep
 * any. */
static void put_dissectors(struct wkp_buf *b, const wkp_engine *e)
{
    wkp_buf_puts(b, ",\n  \"dissectors\": {");
    bool first = true;
    for (unsigned d = 0; d < wkp_ndissectors; d++) {
        const struct wkp_dissector *dis = wkp_dissectors[d];
        if (!dis->ncounters)
            continue;
        wkp_buf_puts(b, first ? "" : ", ");
        first = false;
        wkp_buf_json_str(b, dis->name);
        wkp_buf_puts(b, ": {");
        for (size_t k = 0; k < dis->ncounters && k < WKP_DIS_MAX_COUNTERS; k++) {
            wkp_buf_puts(b, k ? ", " : "");
            wkp_buf_json_str(b, dis->counter_names[k]);
            wkp_buf_puts(b, ": ");
            wkp_buf_u64(b, e->app_counters[d][k]);
        }
        wkp_buf_putc(b, '}');
    }
    wkp_buf_putc(b, '}');
    if (e->up) { /* only when user protocols are loaded */
        wkp_buf_puts(b, ",\n  \"user_protocols\": {\"layers\": ");
        wkp_buf_u64(b, e->up_layers);
        wkp_buf_puts(b, ", \"values_capped\": ");
        wkp_buf_u64(b, e->up_capped);
        wkp_buf_putc(b, '}');
    }
}

/* Signatures (only when configured): the compiled database's size, the
 * streams opened, and their state memory at the busiest moment (the sum
 * of each worker's peak of open streams times the larger stream size). */
/* A live capture: the interface and the kernel's counters (pcap_stats):
 * packets it received, dropped for want of buffer space, and dropped by
 * the interface (where the driver tells). */
static void put_live(struct wkp_buf *b, const wkp_engine *e)
{
    if (!e->live || e->ncaps != 1)
        return;
    wkp_buf_puts(b, ",\n  \"live\": {\"interface\": ");
    wkp_buf_json_str(b, e->caps[0].path ? e->caps[0].path : "");
    if (e->live_stats) {
        wkp_buf_puts(b, ", \"kernel_received\": ");
        wkp_buf_u64(b, e->live_received);
        wkp_buf_puts(b, ", \"kernel_dropped\": ");
        wkp_buf_u64(b, e->live_dropped);
        wkp_buf_puts(b, ", \"interface_dropped\": ");
        wkp_buf_u64(b, e->live_if_dropped);
    }
    wkp_buf_puts(b, "}");
}

static void put_signatures(struct wkp_buf *b, const wkp_engine *e)
{
    const struct wkp_sigdb *db = e->cfg.sigdb;
    if (!db)
        return;
    size_t stream =
        db->stream_bytes[0] > db->stream_bytes[1] ? db->stream_bytes[0] : db->stream_bytes[1];
    wkp_buf_puts(b, ",\n  \"signatures\": {\"rules\": ");
    wkp_buf_u64(b, db->rules.n);
    wkp_buf_puts(b, ", \"depth_per_direction\": ");
    wkp_buf_u64(b, e->cfg.sig_depth);
    wkp_buf_puts(b, ", \"database_bytes\": ");
    wkp_buf_u64(b, db->db_bytes[0] + db->db_bytes[1]);
    wkp_buf_puts(b, ", \"stream_state_bytes\": ");
    wkp_buf_u64(b, stream);
    wkp_buf_puts(b, ", \"streams\": ");
    wkp_buf_u64(b, e->sig.streams);
    wkp_buf_puts(b, ", \"streams_open_peak\": ");
    wkp_buf_u64(b, e->sig.open_peak);
    wkp_buf_puts(b, ", \"stream_memory_peak_bytes\": ");
    wkp_buf_u64(b, e->sig.open_peak * stream);
    wkp_buf_puts(b, ", \"bytes_scanned\": ");
    wkp_buf_u64(b, e->sig.bytes);
    wkp_buf_puts(b, ", \"matches\": ");
    wkp_buf_u64(b, e->sig.matches);
    wkp_buf_puts(b, ", \"depth_stops\": ");
    wkp_buf_u64(b, e->sig.budget_stops);
    wkp_buf_puts(b, ", \"gap_stops\": ");
    wkp_buf_u64(b, e->sig.gap_stops);
    wkp_buf_puts(b, "}");
}

/* TCP stream and IP fragment reassembly. */
static void put_reassembly(struct wkp_buf *b, const wkp_engine *e)
{
    wkp_buf_puts(b, ",\n  \"tcp_reassembly\": {\"limit_per_direction\": ");
    wkp_buf_u64(b, e->cfg.tcp_stream_limit);
    wkp_buf_puts(b, ", \"directions\": ");
    wkp_buf_u64(b, e->ts_streams);
    wkp_buf_puts(b, ", \"bytes_in_order\": ");
    wkp_buf_u64(b, e->ts.delivered);
    wkp_buf_puts(b, ", \"bytes_not_kept\": ");
    wkp_buf_u64(b, e->ts.dropped);
    wkp_buf_puts(b, ", \"overlap_bytes\": ");
    wkp_buf_u64(b, e->ts.overlap);
    wkp_buf_puts(b, ", \"gaps\": ");
    wkp_buf_u64(b, e->ts.gaps);
    wkp_buf_puts(b, ", \"gap_bytes\": ");
    wkp_buf_u64(b, e->ts.gap_bytes);
    wkp_buf_puts(b, ", \"out_of_order_segments\": ");
    wkp_buf_u64(b, e->ts.ooo_segments);
    wkp_buf_puts(b, ", \"buffer_refusals\": ");
    wkp_buf_u64(b, e->ts.alloc_failed);
    wkp_buf_puts(b, "}");
    wkp_buf_puts(b, ",\n  \"ip_reassembly\": {\"datagrams\": ");
    wkp_buf_u64(b, e->defrag_stats.datagrams_done);
    wkp_buf_puts(b, ", \"fragments_expired\": ");
    wkp_buf_u64(b, e->defrag_stats.frags_expired);
    wkp_buf_puts(b, ", \"fragments_evicted\": ");
    wkp_buf_u64(b, e->defrag_stats.frags_evicted);
    wkp_buf_puts(b, ", \"fragments_oversized\": ");
    wkp_buf_u64(b, e->defrag_stats.frags_oversized);
    wkp_buf_puts(b, ", \"fragments_invalid\": ");
    wkp_buf_u64(b, e->defrag_stats.frags_invalid);
    wkp_buf_puts(b, "}");
}

/* One capture: its packets, where it was cut, its damaged ranges. */
static void put_file(struct wkp_buf *b, const struct wkp_capture_info *c)
{
    wkp_buf_json_str(b, c->path);
    wkp_buf_puts(b, ", \"packets\": ");
    wkp_buf_u64(b, c->packets);
    wkp_buf_puts(b, ", \"truncated_at\": ");
    if (c->truncated)
        wkp_buf_u64(b, c->truncated_at);
    else
        wkp_buf_puts(b, "null");
    wkp_buf_puts(b, ", \"damaged\": [");
    uint64_t db = c->damage_more_bytes;
    for (size_t k = 0; k < c->ndamage; k++) {
        const struct wkp_damage *d = &c->damage[k];
        wkp_buf_puts(b, k ? ", {\"offset\": " : "{\"offset\": ");
        wkp_buf_u64(b, d->off);
        wkp_buf_puts(b, ", \"length\": ");
        if (d->len == UINT64_MAX)
            wkp_buf_puts(b, "null");
        else
            wkp_buf_u64(b, d->len);
        wkp_buf_puts(b, d->resumed ? ", \"resumed\": true, \"reason\": "
                                   : ", \"resumed\": false, \"reason\": ");
        wkp_buf_json_str(b, d->why);
        wkp_buf_putc(b, '}');
        db += d->len == UINT64_MAX ? 0 : d->len;
    }
    wkp_buf_puts(b, "], \"damaged_unlisted\": ");
    wkp_buf_u64(b, c->damage_more);
    wkp_buf_puts(b, ", \"damaged_bytes\": ");
    wkp_buf_u64(b, db);
    wkp_buf_putc(b, '}');
}

/* The files, then the warnings (one string per line of
 * wkp_engine_warnings), closing the document. */
static void put_files_warnings(struct wkp_buf *b, const wkp_engine *e)
{
    wkp_buf_puts(b, ",\n  \"files\": [");
    for (size_t i = 0; i < e->ncaps; i++) {
        wkp_buf_puts(b, i ? ",\n    {\"path\": " : "\n    {\"path\": ");
        put_file(b, &e->caps[i]);
    }
    wkp_buf_puts(b, e->ncaps ? "\n  ],\n  \"warnings\": [" : "],\n  \"warnings\": [");
    const char *w = wkp_engine_warnings(e);
    int first = 1;
    while (*w) {
        const char *nl = strchr(w, '\n');
        size_t len = nl ? (size_t)(nl - w) : strlen(w);
        char *line = strndup(w, len);
        if (line) {
            wkp_buf_puts(b, first ? "" : ", ");
            wkp_buf_json_str(b, line);
            free(line);
            first = 0;
        }
        w += len + (nl ? 1 : 0);
    }
    wkp_buf_puts(b, "]\n}\n");
}

/* Write b to path ("-": stdout), every step checked, stdout included: the
 * first error names the file. */
static wkp_status write_out(const struct wkp_buf *b, const char *path, wkp_errbuf *err)
{
    bool out = strcmp(path, "-") == 0;
    FILE *fp = out ? stdout : fopen(path, "w");
    int eno = fp ? 0 : errno;
    if (fp && fwrite(b->p, 1, b->len, fp) != b->len)
        eno = errno;
    if (fp && fflush(fp) != 0 && !eno)
        eno = errno;
    if (fp && !out && fclose(fp) != 0 && !eno)
        eno = errno;
    if (eno || !fp) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "%s: write error: %s", path,
                     strerror(eno ? eno : EIO));
        return WKP_EIO;
    }
    return WKP_OK;
}

wkp_status wkp_engine_write_summary(const wkp_engine *e, const char *path, wkp_errbuf *err)
{
    if (!e || !path) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "wkp_engine_write_summary: NULL argument");
        return WKP_EINVAL;
    }
    struct wkp_buf b = {0};
    put_status(&b, e);
    put_options(&b, e);
    put_counters(&b, e);
    put_live(&b, e);
    put_reassembly(&b, e);
    put_signatures(&b, e);
    put_dissectors(&b, e);
    put_files_warnings(&b, e);
    wkp_status st;
    if (b.oom) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
        st = WKP_ENOMEM;
    } else {
        st = write_out(&b, path, err);
    }
    if (st != WKP_OK && err)
        wkp_oneline(err->msg, sizeof err->msg); /* the path may hold a line break */
    wkp_buf_free(&b);
    return st;
}
