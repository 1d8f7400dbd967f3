/* Text buffer helpers (see buf.h). Numbers are written straight into the
 * buffer by buf.h's unchecked writers: no printf on the output path. */
#include "util/buf.h"
#include "util/dtoa.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

void wkp_buf_json_str(struct wkp_buf *b, const char *s)
{
    wkp_buf_json_bytes(b, (const uint8_t *)s, strlen(s));
}

void wkp_buf_csv_cell(struct wkp_buf *b, const char *s, size_t n)
{
    size_t at = b->len;
    wkp_buf_put(b, s, n);
    wkp_buf_csv_quote_from(b, at);
}

/* The cells quoted in place are a flow's application objects and lists:
 * JSON text of hundreds of bytes with a quote every few. So the bytes are
 * looked at 16 at a time on x86-64 (SSE2 is part of it): one pass
 * counts the quotes and notes any comma or line break, and the pass that
 * doubles the quotes stores 16 bytes at a time, plus one store a quote. */
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#define CSV_VEC 16
#else
#define CSV_VEC 0
#endif

void wkp_buf_csv_quote_from(struct wkp_buf *b, size_t at)
{
    size_t n = b->len - at, q = 0, i = 0;
    if (b->oom || n == 0) /* an empty cell stays empty (and may have no buffer yet) */
        return;
    char *s = b->p + at;
    bool special = false;
#if CSV_VEC
    const __m128i vq = _mm_set1_epi8('"'), vc = _mm_set1_epi8(','), vn = _mm_set1_epi8('\n'),
                  vr = _mm_set1_epi8('\r'), one = _mm_set1_epi8(1);
    __m128i nq = _mm_setzero_si128(), sp = _mm_setzero_si128();
    for (; i + CSV_VEC <= n; i += CSV_VEC) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i eq = _mm_cmpeq_epi8(x, vq);
        /* each lane's quotes (0 or 1 a byte) summed into its 64-bit half */
        nq = _mm_add_epi64(nq, _mm_sad_epu8(_mm_and_si128(eq, one), _mm_setzero_si128()));
        sp = _mm_or_si128(sp,
                          _mm_or_si128(_mm_cmpeq_epi8(x, vc),
                                       _mm_or_si128(_mm_cmpeq_epi8(x, vn), _mm_cmpeq_epi8(x, vr))));
    }
    q = (size_t)_mm_cvtsi128_si64(nq) + (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(nq, nq));
    special = _mm_movemask_epi8(sp) != 0;
#endif
    for (; i < n; i++) {
        q += s[i] == '"';
        special |= s[i] == ',' || s[i] == '\n' || s[i] == '\r';
    }
    if (!q && !special)
        return;
    if (!q) {
        if (wkp_buf_reserve(b, 2) != 0)
            return;
        s = b->p + at;
        memmove(s + 1, s, n);
    } else {
#if CSV_VEC
        /* Forwards, from a copy of the cell placed past where the quoted
         * cell will end (and the 16 bytes a store may reach beyond it),
         * with 16 zero bytes after it for the loads that reach past its
         * end. A run of 16 is stored whole; each quote in it then stores
         * the run again from that quote on, one byte further: the quote
         * lands twice. */
        if (wkp_buf_reserve(b, q + 2 + CSV_VEC + n + CSV_VEC) != 0)
            return;
        s = b->p + at;
        char *src = s + n + q + 2 + CSV_VEC, *d = s + 1;
        memcpy(src, s, n);
        memset(src + n, 0, CSV_VEC);
        size_t k = 0;
        for (; k + CSV_VEC <= n; k += CSV_VEC) {
            __m128i x = _mm_loadu_si128((const __m128i *)(src + k));
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vq));
            _mm_storeu_si128((__m128i *)d, x);
            while (m) {
                unsigned z = (unsigned)__builtin_ctz(m);
                m &= m - 1;
                d++;
                _mm_storeu_si128((__m128i *)(d + z),
                                 _mm_loadu_si128((const __m128i *)(src + k + z)));
            }
            d += CSV_VEC;
        }
        for (; k < n; k++) {
            *d++ = src[k];
            if (src[k] == '"')
                *d++ = '"';
        }
#else
        if (wkp_buf_reserve(b, q + 2) != 0)
            return;
        s = b->p + at;
        /* Backwards, s[0, i) unread and written to s[j - k, j) for its k
         * bytes and quotes: j = i + (quotes in s[0, i)) + 1 > i, so every
         * write lands past what is unread. */
        size_t j = n + q + 1;
        i = n;
        while (i > 0) {
            char ch = s[--i];
            s[--j] = ch;
            if (ch == '"')
                s[--j] = '"';
        }
#endif
    }
    s[0] = '"';
    s[n + q + 1] = '"';
    b->len += q + 2;
}
