/* Address text as inet_ntop() writes it (util/addrtext.h). */
#include "util/addrtext.h"

static char *put_dec(char *p, unsigned v)
{
    char d[10];
    int n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *p++ = d[--n];
    return p;
}

static char *put_ipv4(char *p, const uint8_t *a)
{
    for (int i = 0; i < 4; i++) {
        if (i)
            *p++ = '.';
        p = put_dec(p, a[i]);
    }
    return p;
}

char *wkp_addr_put(char *out, const uint8_t *a, int family)
{
    char *p = out;
    if (family != 6) {
        p = put_ipv4(p, a);
        *p = '\0';
        return p;
    }
    unsigned w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    for (int i = 0; i < 8; i++) {
        if (w[i] == 0) {
            if (cur == -1)
                cur = i, cur_len = 1;
            else
                cur_len++;
        } else if (cur != -1) {
            if (best == -1 || cur_len > best_len)
                best = cur, best_len = cur_len;
            cur = -1;
        }
    }
    if (cur != -1 && (best == -1 || cur_len > best_len))
        best = cur, best_len = cur_len;
    if (best != -1 && best_len < 2)
        best = -1;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        if (best != -1 && i >= best && i < best + best_len) {
            if (i == best)
                *p++ = ':';
            continue;
        }
        if (i)
            *p++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
            p = put_ipv4(p, a + 12);
            break;
        }
        int sh = w[i] >= 0x1000 ? 12 : w[i] >= 0x100 ? 8 : w[i] >= 0x10 ? 4 : 0;
        for (; sh >= 0; sh -= 4)
            *p++ = hex[(w[i] >> sh) & 0xf];
    }
    if (best != -1 && best + best_len == 8)
        *p++ = ':';
    *p = '\0';
    return p;
}

char *wkp_addr_text(const uint8_t *a, int family, char out[WKP_ADDR_TEXT_MAX])
{
    wkp_addr_put(out, a, family);
    return out;
}
