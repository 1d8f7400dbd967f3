/* Custom incremental features (see custom.h). Each registered feature gets a
 * 16-byte-aligned slice of one per-flow block, so a flow carries all of its
 * features' state in one allocation and the worker calls them in a loop. */
#include "features/custom.h"

#include <stdlib.h>
#include <string.h>

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

void wkp_custom_csv_header(const struct wkp_custom_set *s, struct wkp_buf *b)
{
    for (size_t i = 0; i < s->n; i++) {
        wkp_buf_puts(b, ",custom.");
        wkp_buf_puts(b, s->v[i].name);
    }
}
