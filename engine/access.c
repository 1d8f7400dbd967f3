/* What a binding needs beyond the sinks: the runtime version, the column
 * list of an engine, a flow's record as the file writers write it, and a
 * run over an open descriptor.
 *
 * A callback sink may ask for its flows' text in CSV, JSON or NDJSON: the
 * engine then serialises each flow on its worker exactly as for a file
 * sink (engine/serialize.c), so a caller rebuilding a file from the
 * callbacks gets the same bytes. Called on the configuration thread, except
 * wkp_flow_text (the merger thread, inside the callback). */
#include <string.h>

#include "engine/columns.h"
#include "engine/internal.h"

unsigned wkp_version_number(void)
{
    return WKP_VERSION_NUMBER;
}

size_t wkp_engine_column_count(const wkp_engine *e)
{
    return e && e->cfg.cols ? e->cfg.cols->n : 0;
}

const char *wkp_engine_column_name(const wkp_engine *e, size_t i)
{
    if (!e || !e->cfg.cols || i >= e->cfg.cols->n)
        return NULL;
    return e->cfg.cols->v[i].name;
}

wkp_status wkp_engine_csv_header(const wkp_engine *e, char *buf, size_t cap, size_t *len)
{
    if (len)
        *len = 0;
    if (!e || !e->cfg.cols)
        return WKP_EINVAL;
    struct wkp_buf b = {0};
    wkp__csv_header(&b, &e->cfg);
    if (b.oom) {
        wkp_buf_free(&b);
        return WKP_ENOMEM;
    }
    if (len)
        *len = b.len;
    wkp_status st = WKP_EINVAL;
    if (buf && cap > b.len) {
        memcpy(buf, b.p, b.len);
        buf[b.len] = '\0';
        st = WKP_OK;
    }
    wkp_buf_free(&b);
    return st;
}

/* The WKP_TXT_* of a flow format; -1 for none. */
static int text_of(wkp_format fmt)
{
    switch (fmt) {
    case WKP_FMT_CSV: return WKP_TXT_CSV;
    case WKP_FMT_JSON: return WKP_TXT_JSON;
    case WKP_FMT_NDJSON: return WKP_TXT_NDJSON;
    default: return -1;
    }
}

wkp_status wkp_sink_callback_add_text(wkp_sink *s, wkp_format fmt)
{
    int t = text_of(fmt);
    if (!s || !s->cb || t < 0)
        return WKP_EINVAL;
    if (s->owned)
        return WKP_ESTATE; /* the engine read the sink's wishes when it took it */
    s->cb_text |= 1u << t;
    return WKP_OK;
}

const char *wkp_flow_text(const wkp_flow *f, wkp_format fmt, size_t *len)
{
    int t = text_of(fmt);
    if (len)
        *len = 0;
    if (!f || t < 0 || !f->text[t])
        return NULL;
    if (len)
        *len = f->text_len[t];
    return f->text[t];
}

wkp_status wkp_engine_run_fd(wkp_engine *e, int fd, const char *name)
{
    if (!e)
        return WKP_EINVAL;
    if (fd < 0) {
        wkp__set_error(e, "wkp_engine_run_fd: no descriptor (%d)", fd);
        return WKP_EINVAL;
    }
    const char *paths[] = {name && *name ? name : "-"};
    e->from_fd = true;
    e->input_fd = fd;
    wkp_status st = wkp_engine_run(e, paths, 1);
    e->from_fd = false;
    return st;
}
