/* Growable text buffer for serialising flow records. Owned by one thread. */
#ifndef WKP_BUF_H
#define WKP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/digits.h"

struct wkp_dtoa_memo;
struct wkp_buf {
    char *p;
    size_t len, cap;
    int oom; /* sticky: an allocation failed, the content is incomplete */
    /* Doubles written lately (util/dtoa.h), for the writers that look
     * (engine/serialize.c); NULL: none. Not owned: wkp_buf_free leaves it. */
    struct wkp_dtoa_memo *memo;
};

int wkp_buf_reserve(struct wkp_buf *b, size_t extra);
void wkp_buf_free(struct wkp_buf *b);

static inline void wkp_buf_put(struct wkp_buf *b, const char *s, size_t n)
{
    if (n == 0) /* an empty buffer has no memory yet, and memcpy takes none */
        return;
    if (b->len + n > b->cap && wkp_buf_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void wkp_buf_puts(struct wkp_buf *b, const char *s)
{
    wkp_buf_put(b, s, strlen(s));
}

static inline void wkp_buf_putc(struct wkp_buf *b, char c)
{
    if (b->len + 1 > b->cap && wkp_buf_reserve(b, 1) != 0)
        return;
    b->p[b->len++] = c;
}

/* Unchecked writers, for a caller that has reserved the room: each writes
 * at p and returns the end of what it wrote. */

/* v in decimal. Up to 20 bytes from p may be written, whatever v: the
 * digits go in whole 8-byte stores (util/digits.h). */
static inline char *wkp_put_u64(char *p, uint64_t v)
{
    if (v < 10) { /* most counts, flags and cells */
        *p = (char)('0' + v);
        return p + 1;
    }
    int n = wkp_count_digits(v);
    wkp_put_digits(p, v, n);
    return p + n;
}

/* wkp_buf_time's text. It writes at most 22 bytes ("-", 10 digits of
 * seconds, or up to 20 bytes of scratch for them, ".", 9 digits; with 6
 * decimals the last 3 are scratch). */
#define WKP_TIME_MAX 32
static inline char *wkp_put_time(char *p, int64_t ns, int digits)
{
    uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    *p = '-';
    p = wkp_put_u64(p + (ns < 0), mag / 1000000000u);
    uint32_t frac = (uint32_t)(mag % 1000000000u);
    p[0] = '.';
    p[1] = (char)('0' + frac / 100000000u);
    wkp_store8(p + 2, wkp_digits8(frac % 100000000u));
    return p + 1 + (digits == 9 ? 9 : 6);
}

void wkp_buf_u64(struct wkp_buf *b, uint64_t v);
void wkp_buf_i64(struct wkp_buf *b, int64_t v);
/* A capture time or a time difference in ns, printed exactly with digits
 * decimals (6 or 9): 1755141753294776000 -> "1755141753.294776". */
void wkp_buf_time(struct wkp_buf *b, int64_t ns, int digits);
/* s as a JSON string, quotes included, as wkp_buf_json_bytes writes it:
 * a file name or a user's text need not be UTF-8, the JSON must be. */
void wkp_buf_json_str(struct wkp_buf *b, const char *s);
/* n bytes from the wire as a JSON string, quotes included: well-formed
 * UTF-8 passes through; every byte of an ill-formed sequence, control
 * characters and DEL become \u00XX (so "caf\xe9" reads "caf\u00e9": the
 * bytes stay recoverable and the JSON stays valid UTF-8). */
void wkp_buf_json_bytes(struct wkp_buf *b, const uint8_t *p, size_t n);
/* s as one CSV cell: quoted (with "" for ") if it holds , " CR or LF. */
void wkp_buf_csv_cell(struct wkp_buf *b, const char *s, size_t n);
/* Make what b holds from offset at on one CSV cell, in place, by the same
 * rule as wkp_buf_csv_cell. Nothing happens once b is out of memory (the
 * text is dropped anyway). */
void wkp_buf_csv_quote_from(struct wkp_buf *b, size_t at);

#endif
