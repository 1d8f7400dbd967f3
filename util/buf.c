/* Text buffer helpers (see buf.h). Numbers are written straight into the
 * buffer by buf.h's unchecked writers: no printf on the output path. */
#include "util/buf.h"
#include "util/dtoa.h"

#include <stdlib.h>

int wkp_buf_reserve(struct wkp_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void wkp_buf_free(struct wkp_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void wkp_buf_u64(struct wkp_buf *b, uint64_t v)
{
    if (v < 10) { /* most counts, flags and cells */
        wkp_buf_putc(b, (char)('0' + v));
        return;
    }
    /* the digits are written straight into the buffer */
    if (b->len + 20 > b->cap && wkp_buf_reserve(b, 20) != 0)
        return;
    b->len = (size_t)(wkp_put_u64(b->p + b->len, v) - b->p);
}

void wkp_buf_i64(struct wkp_buf *b, int64_t v)
{
    if (v < 0) {
        wkp_buf_putc(b, '-');
        wkp_buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        wkp_buf_u64(b, (uint64_t)v);
    }
}

void wkp_buf_time(struct wkp_buf *b, int64_t ns, int digits)
{
    if (b->len + WKP_TIME_MAX > b->cap && wkp_buf_reserve(b, WKP_TIME_MAX) != 0)
        return;
    b->len = (size_t)(wkp_put_time(b->p + b->len, ns, digits) - b->p);
}

void wkp_buf_json_str(struct wkp_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    wkp_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            wkp_buf_putc(b, '\\');
            wkp_buf_putc(b, (char)c);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            wkp_buf_put(b, e, 6);
        } else {
            wkp_buf_putc(b, (char)c);
        }
    }
    wkp_buf_putc(b, '"');
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (c < 0xc2 || c > 0xf4 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return len;
}

void wkp_buf_json_bytes(struct wkp_buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    wkp_buf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t u = c >= 0x80 ? utf8_len(p + i, n - i) : 0;
        if (u) {
            wkp_buf_put(b, (const char *)p + i, u);
            i += u;
            continue;
        }
        if (c == '"' || c == '\\') {
            wkp_buf_putc(b, '\\');
            wkp_buf_putc(b, (char)c);
        } else if (c < 0x20 || c >= 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            wkp_buf_put(b, e, 6);
        } else {
            wkp_buf_putc(b, (char)c);
        }
        i++;
    }
    wkp_buf_putc(b, '"');
}

void wkp_buf_csv_cell(struct wkp_buf *b, const char *s, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') {
            quote = 1;
            break;
        }
    if (!quote) {
        wkp_buf_put(b, s, n);
        return;
    }
    wkp_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            wkp_buf_putc(b, '"');
        wkp_buf_putc(b, s[i]);
    }
    wkp_buf_putc(b, '"');
}
