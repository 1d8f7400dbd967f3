/* A strict RFC 8259 checker for the JSON the library writes (tests and fuzz
 * targets): one value, nothing after it but whitespace, strings in
 * well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF) without raw control characters, escapes as the RFC lists them,
 * numbers in its grammar. Nesting is capped at 64. */
#ifndef WKP_TEST_JSON_VALID_H
#define WKP_TEST_JSON_VALID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jv {
    const uint8_t *p, *end;
    int depth;
};

static inline void jv_ws(struct jv *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static inline bool jv_lit(struct jv *j, const char *s)
{
    for (; *s; s++, j->p++)
        if (j->p >= j->end || *j->p != (uint8_t)*s)
            return false;
    return true;
}

static inline bool jv_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence starting at j->p (lead byte >= 0x80). */
static inline bool jv_utf8(struct jv *j)
{
    uint8_t c = *j->p;
    int n;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else
        return false;
    if (j->end - j->p <= n)
        return false;
    if (j->p[1] < lo || j->p[1] > hi)
        return false;
    for (int i = 2; i <= n; i++)
        if (j->p[i] < 0x80 || j->p[i] > 0xbf)
            return false;
    j->p += n + 1;
    return true;
}

static inline bool jv_string(struct jv *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    j->p++;
    while (j->p < j->end) {
        uint8_t c = *j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (j->end - j->p < 2)
                return false;
            uint8_t e = j->p[1];
            if (e == 'u') {
                if (j->end - j->p < 6)
                    return false;
                for (int i = 2; i < 6; i++)
                    if (!jv_hex(j->p[i]))
                        return false;
                j->p += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                       e == 'r' || e == 't') {
                j->p += 2;
            } else {
                return false;
            }
        } else if (c >= 0x80) {
            if (!jv_utf8(j))
                return false;
        } else {
            j->p++;
        }
    }
    return false;
}

static inline bool jv_digits(struct jv *j)
{
    const uint8_t *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static inline bool jv_number(struct jv *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!jv_digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jv_digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!jv_digits(j))
            return false;
    }
    return true;
}

static inline bool jv_value(struct jv *j);

static inline bool jv_container(struct jv *j, uint8_t close, bool object)
{
    if (++j->depth > 64)
        return false;
    j->p++;
    jv_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return true;
    }
    for (;;) {
        if (object) {
            if (!jv_string(j))
                return false;
            jv_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return false;
            j->p++;
            jv_ws(j);
        }
        if (!jv_value(j))
            return false;
        jv_ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == ',') {
            j->p++;
            jv_ws(j);
            continue;
        }
        if (*j->p != close)
            return false;
        j->p++;
        j->depth--;
        return true;
    }
}

static inline bool jv_value(struct jv *j)
{
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{': return jv_container(j, '}', true);
    case '[': return jv_container(j, ']', false);
    case '"': return jv_string(j);
    case 't': return jv_lit(j, "true");
    case 'f': return jv_lit(j, "false");
    case 'n': return jv_lit(j, "null");
    default: return jv_number(j);
    }
}

/* true if s[0..n) is exactly one JSON value (surrounding whitespace allowed) */
static inline bool json_valid(const char *s, size_t n)
{
    struct jv j = {(const uint8_t *)s, (const uint8_t *)s + n, 0};
    jv_ws(&j);
    if (!jv_value(&j))
        return false;
    jv_ws(&j);
    return j.p == j.end;
}

#endif
