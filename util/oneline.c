/* Error messages as one line (util/oneline.h). */
#include "util/oneline.h"

#include <string.h>

/* Bytes the escaped form of c takes. */
static size_t esc_len(unsigned char c)
{
    if (c == '\n' || c == '\r' || c == '\t')
        return 2;
    return c < 0x20 || c == 0x7f ? 4 : 1;
}

void wkp_oneline(char *s, size_t cap)
{
    if (s == NULL || cap == 0)
        return;
    size_t n = strnlen(s, cap - 1);
    s[n] = '\0';
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        need += esc_len((unsigned char)s[i]);
    if (need == n)
        return;
    size_t keep = n;
    const char *tail = "";
    if (need > cap - 1) { /* cut: the longest start that fits before "..." */
        tail = cap - 1 >= 3 ? "..." : "";
        size_t room = cap - 1 - strlen(tail);
        need = 0;
        for (keep = 0; keep < n && need + esc_len((unsigned char)s[keep]) <= room; keep++)
            need += esc_len((unsigned char)s[keep]);
    }
    /* From the end: the escaped start of s[0, i) is never shorter than i,
     * so each write lands at or after the byte it replaces. */
    size_t t = strlen(tail);
    memcpy(s + need, tail, t + 1);
    size_t w = need;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = keep; i-- > 0;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = esc_len(c);
        w -= len;
        if (len == 1) {
            s[w] = (char)c;
        } else if (len == 2) {
            s[w] = '\\';
            s[w + 1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else {
            s[w] = '\\';
            s[w + 1] = 'x';
            s[w + 2] = hex[c >> 4];
            s[w + 3] = hex[c & 15];
        }
    }
}
