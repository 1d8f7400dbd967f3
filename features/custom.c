/* Custom incremental features (see custom.h). Each registered feature gets a
 * 16-byte-aligned slice of one per-flow block, so a flow carries all of its
 * features' state in one allocation and the worker calls them in a loop.
 *
 * A feature's value is written through the public wkp_value_writer, which
 * appends JSON text straight into the record's buffer. The writer is the
 * only thing standing between plugin code and our output, so it checks every
 * call against a small nesting stack: a misuse (a key outside an object, an
 * end without a begin, two values for one key, nesting deeper than
 * VW_DEPTH, nothing written at all) drops what the feature wrote and the
 * value becomes null. Output is always valid JSON. Runs on the thread that
 * serialises the flow (a worker); no allocation beyond the buffer's. */
#include "features/custom.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/dtoa.h"

#define MAX_STATE ((size_t)64 << 10)

static bool valid_name(const char *n)
{
    if (!n || !*n || strlen(n) > 64)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

static void layout(struct wkp_custom_set *s)
{
    size_t off = 0;
    for (size_t i = 0; i < s->n; i++) {
        s->v[i].offset = off;
        off += (s->v[i].def.state_size + 15) & ~(size_t)15;
    }
    s->state_size = off;
}

wkp_status wkp_custom_add(struct wkp_custom_set *s, const wkp_feature_def *def)
{
    if (!s || !def || !valid_name(def->name) || def->state_size > MAX_STATE || !def->update ||
        !def->write)
        return WKP_EINVAL;
    char *name = strdup(def->name);
    if (!name)
        return WKP_ENOMEM;
    size_t i = 0;
    while (i < s->n && strcmp(s->v[i].name, def->name) != 0)
        i++;
    if (i == s->n) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 4;
            struct wkp_custom_feature *v = realloc(s->v, cap * sizeof *v);
            if (!v) {
                free(name);
                return WKP_ENOMEM;
            }
            s->v = v;
            s->cap = cap;
        }
        s->n++;
    } else {
        free(s->v[i].name);
    }
    s->v[i].def = *def;
    s->v[i].name = name;
    s->v[i].def.name = name;
    layout(s);
    return WKP_OK;
}

wkp_status wkp_custom_copy(struct wkp_custom_set *dst, const struct wkp_custom_set *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++) {
        wkp_status st = wkp_custom_add(dst, &src->v[i].def);
        if (st != WKP_OK) {
            wkp_custom_free(dst);
            return st;
        }
    }
    return WKP_OK;
}

void wkp_custom_free(struct wkp_custom_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].name);
    free(s->v);
    memset(s, 0, sizeof *s);
}

void wkp_custom_init(const struct wkp_custom_set *s, void *block)
{
    if (s->state_size == 0) /* block may be NULL then */
        return;
    memset(block, 0, s->state_size);
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].def.init)
            s->v[i].def.init((char *)block + s->v[i].offset, s->v[i].def.user);
}

void wkp_custom_update(const struct wkp_custom_set *s, void *block, const wkp_pkt_view *pkt)
{
    for (size_t i = 0; i < s->n; i++)
        s->v[i].def.update((char *)block + s->v[i].offset, pkt, s->v[i].def.user);
}

void wkp_custom_finish(const struct wkp_custom_set *s, void *block)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].def.finish)
            s->v[i].def.finish((char *)block + s->v[i].offset, s->v[i].def.user);
}

/* ---- value writer ------------------------------------------------------ */

#define VW_DEPTH 32

enum { VW_LIST = 0, VW_OBJECT = 1 };

struct wkp_value_writer {
    struct wkp_buf *b;
    size_t start;           /* where this value's text begins in b */
    int depth;              /* open containers */
    uint8_t kind[VW_DEPTH]; /* VW_LIST or VW_OBJECT per open container */
    bool items[VW_DEPTH];   /* the container already holds an item: next one needs a comma */
    bool want_value;        /* a key was written; its value comes next */
    bool done;              /* the top-level value is complete */
    bool bad;               /* misused: the whole value becomes null */
};

/* Called before any value (scalar or container begin): checks the value is
 * allowed here and writes the separating comma. */
static bool vw_value(wkp_value_writer *w)
{
    if (!w || w->bad)
        return false;
    if (w->depth == 0) {
        if (w->done) { /* a second top-level value */
            w->bad = true;
            return false;
        }
        return true;
    }
    int t = w->depth - 1;
    if (w->kind[t] == VW_OBJECT) {
        if (!w->want_value) { /* a member without a key */
            w->bad = true;
            return false;
        }
        w->want_value = false;
        return true;
    }
    if (w->items[t])
        wkp_buf_putc(w->b, ',');
    w->items[t] = true;
    return true;
}

/* After a scalar or a container end. */
static void vw_close(wkp_value_writer *w)
{
    if (w->depth == 0)
        w->done = true;
}

void wkp_write_double(wkp_value_writer *w, double v)
{
    if (!vw_value(w))
        return;
    if (isfinite(v)) {
        char t[WKP_DTOA_MAX];
        size_t n = wkp_dtoa(v, t);
        wkp_buf_put(w->b, t, n);
    } else {
        wkp_buf_puts(w->b, "null"); /* nan and inf are not JSON */
    }
    vw_close(w);
}

void wkp_write_int(wkp_value_writer *w, int64_t v)
{
    if (!vw_value(w))
        return;
    wkp_buf_i64(w->b, v);
    vw_close(w);
}

void wkp_write_string(wkp_value_writer *w, const char *s)
{
    if (!vw_value(w))
        return;
    if (s)
        wkp_buf_json_str(w->b, s);
    else
        wkp_buf_puts(w->b, "null");
    vw_close(w);
}

void wkp_write_null(wkp_value_writer *w)
{
    if (!vw_value(w))
        return;
    wkp_buf_puts(w->b, "null");
    vw_close(w);
}

static void vw_begin(wkp_value_writer *w, int kind)
{
    if (!vw_value(w))
        return;
    if (w->depth == VW_DEPTH) {
        w->bad = true;
        return;
    }
    w->kind[w->depth] = (uint8_t)kind;
    w->items[w->depth] = false;
    w->depth++;
    wkp_buf_putc(w->b, kind == VW_LIST ? '[' : '{');
}

static void vw_end(wkp_value_writer *w, int kind)
{
    if (!w || w->bad)
        return;
    if (w->depth == 0 || w->kind[w->depth - 1] != kind || w->want_value) {
        w->bad = true;
        return;
    }
    w->depth--;
    wkp_buf_putc(w->b, kind == VW_LIST ? ']' : '}');
    vw_close(w);
}

void wkp_write_list_begin(wkp_value_writer *w)
{
    vw_begin(w, VW_LIST);
}
void wkp_write_list_end(wkp_value_writer *w)
{
    vw_end(w, VW_LIST);
}
void wkp_write_object_begin(wkp_value_writer *w)
{
    vw_begin(w, VW_OBJECT);
}
void wkp_write_object_end(wkp_value_writer *w)
{
    vw_end(w, VW_OBJECT);
}

void wkp_write_key(wkp_value_writer *w, const char *key)
{
    if (!w || w->bad)
        return;
    int t = w->depth - 1;
    if (!key || t < 0 || w->kind[t] != VW_OBJECT || w->want_value) {
        w->bad = true;
        return;
    }
    if (w->items[t])
        wkp_buf_putc(w->b, ',');
    w->items[t] = true;
    wkp_buf_json_str(w->b, key);
    wkp_buf_putc(w->b, ':');
    w->want_value = true;
}

/* Append feature f's value as JSON text; null if it wrote nothing or misused
 * the writer. */
static void write_value(const struct wkp_custom_feature *f, const void *block, struct wkp_buf *b)
{
    wkp_value_writer w;
    memset(&w, 0, sizeof w);
    w.b = b;
    w.start = b->len;
    f->def.write((const char *)block + f->offset, &w, f->def.user);
    if (!b->oom && (w.bad || !w.done)) { /* oom is sticky: the record is dropped anyway */
        b->len = w.start;
        wkp_buf_puts(b, "null");
    }
}

void wkp_custom_write_value(const struct wkp_custom_set *s, size_t i, const void *block,
                            struct wkp_buf *b)
{
    write_value(&s->v[i], block, b);
}

void wkp_custom_write_csv_one(const struct wkp_custom_set *s, size_t i, const void *block,
                              struct wkp_buf *b)
{
    size_t start = b->len;
    write_value(&s->v[i], block, b);
    size_t n = b->len - start;
    if (n == 4 && memcmp(b->p + start, "null", 4) == 0) {
        b->len = start; /* a missing value is an empty cell */
        return;
    }
    wkp_buf_csv_quote_from(b, start); /* quoted in place */
}

void wkp_custom_write_json(const struct wkp_custom_set *s, const void *block, struct wkp_buf *b,
                           int pretty, int indent)
{
    for (size_t i = 0; i < s->n; i++) {
        if (pretty) {
            wkp_buf_puts(b, ",\n");
            for (int k = 0; k < indent; k++)
                wkp_buf_putc(b, ' ');
        } else {
            wkp_buf_putc(b, ',');
        }
        wkp_buf_puts(b, "\"custom.");
        wkp_buf_puts(b, s->v[i].name);
        wkp_buf_puts(b, pretty ? "\": " : "\":");
        write_value(&s->v[i], block, b);
    }
}
