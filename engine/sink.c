/* Output sinks: files (CSV, JSON array, NDJSON, or none) and C callbacks.
 * Written by the merger thread only, in output order.
 *
 * A file is written under a temporary name in the same directory and renamed
 * over the final name only when the run succeeded, so a failed or stopped run
 * never leaves a complete-looking file behind (the temporary is removed). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"

wkp_status wkp_format_parse(const char *name, wkp_format *out)
{
    static const struct {
        const char *n;
        wkp_format f;
    } names[] = {{"csv", WKP_FMT_CSV},
                 {"json", WKP_FMT_JSON},
                 {"ndjson", WKP_FMT_NDJSON},
                 {"jsonl", WKP_FMT_NDJSON},
                 {"none", WKP_FMT_NONE}};
    if (!name || !out)
        return WKP_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].n) == 0) {
            *out = names[i].f;
            return WKP_OK;
        }
    return WKP_EINVAL;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

wkp_format wkp_format_from_path(const char *path)
{
    if (path && (ends_with(path, ".json")))
        return WKP_FMT_JSON;
    if (path && (ends_with(path, ".ndjson") || ends_with(path, ".jsonl")))
        return WKP_FMT_NDJSON;
    return WKP_FMT_CSV;
}

wkp_status wkp_sink_file_new(const char *path, wkp_format fmt, wkp_sink **out, wkp_errbuf *err)
{
    if (!path || !out || fmt < WKP_FMT_CSV || fmt > WKP_FMT_NONE || !*path) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "invalid sink arguments");
        return WKP_EINVAL;
    }
    wkp_sink *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        if (err)
            snprintf(err->msg, sizeof err->msg, "out of memory");
        return WKP_ENOMEM;
    }
    s->fmt = fmt;
    *out = s;
    return WKP_OK;
}

wkp_status wkp_sink_packets_new(const char *path, wkp_format fmt, wkp_sink **out, wkp_errbuf *err)
{
    if (fmt != WKP_FMT_CSV && fmt != WKP_FMT_NDJSON) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "%s: the packet sink writes csv or ndjson",
                     path ? path : "");
        return WKP_EINVAL;
    }
    wkp_status st = wkp_sink_file_new(path, fmt, out, err);
    if (st == WKP_OK)
        (*out)->packets = true;
    return st;
}

wkp_status wkp_sink_callback_new(wkp_flow_fn cb, void *user, wkp_sink **out)
{
    if (!cb || !out)
        return WKP_EINVAL;
    wkp_sink *s = calloc(1, sizeof *s);
    if (!s)
        return WKP_ENOMEM;
    s->fmt = WKP_FMT_NONE;
    s->cb = cb;
    s->cb_user = user;
    *out = s;
    return WKP_OK;
}

void wkp_sink_free(wkp_sink *s)
{
    if (!s)
        return;
    if (s->fp && s->fp != stdout)
        fclose(s->fp);
    if (s->tmp_path)
        unlink(s->tmp_path);
    free(s->tmp_path);
    free(s->path);
    free(s);
}

wkp_status wkp__sink_open(struct wkp_sink *s, wkp_errbuf *err)
{
    if (s->cb || s->fmt == WKP_FMT_NONE)
        return WKP_OK;
    if (strcmp(s->path, "-") == 0) {
        s->fp = stdout;
    } else {
        size_t n = strlen(s->path);
        s->tmp_path = malloc(n + 16);
        if (!s->tmp_path)
            return WKP_ENOMEM;
        /* same directory as the final name, so rename() is atomic */
        const char *slash = strrchr(s->path, '/');
        size_t dir = slash ? (size_t)(slash - s->path) + 1 : 0;
        memcpy(s->tmp_path, s->path, dir);
        snprintf(s->tmp_path + dir, n + 16 - dir, ".%s.XXXXXX", s->path + dir);
        int fd = mkstemp(s->tmp_path);
        if (fd < 0) {
            snprintf(err->msg, sizeof err->msg, "%s: cannot create: %s", s->path, strerror(errno));
            free(s->tmp_path);
            s->tmp_path = NULL;
            return WKP_EIO;
        }
        fchmod(fd, 0644);
        s->fp = fdopen(fd, "w");
        if (!s->fp) {
            close(fd);
            unlink(s->tmp_path);
            return WKP_EIO;
        }
        setvbuf(s->fp, NULL, _IOFBF, 1 << 20);
    }
    if (s->fmt == WKP_FMT_CSV) {
        struct wkp_buf b = {0};
        if (s->packets)
            wkp__packets_csv_header(&b);
        else
            wkp__csv_header(&b, s->cfg);
        fwrite(b.p, 1, b.len, s->fp);
        wkp_buf_free(&b);
    } else if (s->fmt == WKP_FMT_JSON) {
        fputs("[", s->fp);
    }
    return WKP_OK;
}

/* 0 written, > 0 the callback asked to stop, < 0 a write error. */
int wkp__sink_write(struct wkp_sink *s, const struct wkp_flow *f)
{
    if (s->cb)
        return s->cb(f, s->cb_user) ? 1 : 0;
    if (!s->fp)
        return 0;
    int t = s->packets              ? (s->fmt == WKP_FMT_CSV ? WKP_TXT_PKT_CSV : WKP_TXT_PKT_NDJSON)
            : s->fmt == WKP_FMT_CSV ? WKP_TXT_CSV
            : s->fmt == WKP_FMT_JSON ? WKP_TXT_JSON
                                     : WKP_TXT_NDJSON;
    if (s->fmt == WKP_FMT_JSON)
        fputs(s->written ? ",\n" : "\n", s->fp);
    if (fwrite(f->text[t], 1, f->text_len[t], s->fp) != f->text_len[t]) {
        s->failed = 1;
        return -1;
    }
    s->written++;
    return 0;
}

wkp_status wkp__sink_close(struct wkp_sink *s, bool success, wkp_errbuf *err)
{
    if (!s->fp)
        return WKP_OK;
    wkp_status st = WKP_OK;
    if (success && s->fmt == WKP_FMT_JSON)
        fputs(s->written ? "\n]\n" : "]\n", s->fp);
    if (s->fp == stdout) {
        if (fflush(stdout) != 0 && success) {
            snprintf(err->msg, sizeof err->msg, "-: write error: %s", strerror(errno));
            st = WKP_EIO;
        }
        s->fp = NULL;
        return st;
    }
    if (fclose(s->fp) != 0 || s->failed) {
        if (success) {
            snprintf(err->msg, sizeof err->msg, "%s: write error: %s", s->path, strerror(errno));
            st = WKP_EIO;
        }
        success = false;
    }
    s->fp = NULL;
    if (success && rename(s->tmp_path, s->path) != 0) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot rename the output into place: %s", s->path,
                 strerror(errno));
        st = WKP_EIO;
        success = false;
    }
    if (!success)
        unlink(s->tmp_path);
    free(s->tmp_path);
    s->tmp_path = NULL;
    return st;
}
