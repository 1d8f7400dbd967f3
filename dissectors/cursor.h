/* Bounds-checked byte cursor: every read of packet bytes goes through it.
 *
 * A read past the end returns 0 and sets the sticky short_read flag, so a
 * dissector reads a header's fields and then tests the flag once. Offsets are
 * 32-bit (captures hold at most 256 KiB per record); additions are done in
 * 64 bits before they are compared, so a hostile length cannot wrap. */
#ifndef WKP_CURSOR_H
#define WKP_CURSOR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct wkp_cur {
    const uint8_t *p;
    uint32_t len, off;
    bool short_read;
};

static inline void wkp_cur_init(struct wkp_cur *c, const uint8_t *p, uint32_t len)
{
    c->p = p;
    c->len = len;
    c->off = 0;
    c->short_read = false;
}

static inline uint32_t wkp_cur_left(const struct wkp_cur *c)
{
    return c->len - c->off;
}

static inline bool wkp_cur_has(const struct wkp_cur *c, uint64_t n)
{
    return (uint64_t)c->off + n <= c->len;
}

static inline bool wkp_cur_skip(struct wkp_cur *c, uint64_t n)
{
    if (!wkp_cur_has(c, n)) {
        c->short_read = true;
        c->off = c->len;
        return false;
    }
    c->off += (uint32_t)n;
    return true;
}

static inline uint8_t wkp_cur_u8(struct wkp_cur *c)
{
    if (!wkp_cur_has(c, 1)) {
        c->short_read = true;
        return 0;
    }
    return c->p[c->off++];
}

static inline uint16_t wkp_cur_be16(struct wkp_cur *c)
{
    if (!wkp_cur_has(c, 2)) {
        c->short_read = true;
        c->off = c->len;
        return 0;
    }
    uint16_t v = (uint16_t)((uint16_t)c->p[c->off] << 8 | c->p[c->off + 1]);
    c->off += 2;
    return v;
}

static inline uint16_t wkp_cur_le16(struct wkp_cur *c)
{
    if (!wkp_cur_has(c, 2)) {
        c->short_read = true;
        c->off = c->len;
        return 0;
    }
    uint16_t v = (uint16_t)((uint16_t)c->p[c->off + 1] << 8 | c->p[c->off]);
    c->off += 2;
    return v;
}

static inline uint32_t wkp_cur_be32(struct wkp_cur *c)
{
    if (!wkp_cur_has(c, 4)) {
        c->short_read = true;
        c->off = c->len;
        return 0;
    }
    const uint8_t *b = c->p + c->off;
    c->off += 4;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint32_t wkp_cur_le32(struct wkp_cur *c)
{
    if (!wkp_cur_has(c, 4)) {
        c->short_read = true;
        c->off = c->len;
        return 0;
    }
    const uint8_t *b = c->p + c->off;
    c->off += 4;
    return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* Copy n bytes out; on a short read the destination is zeroed. */
static inline void wkp_cur_copy(struct wkp_cur *c, void *dst, uint32_t n)
{
    if (!wkp_cur_has(c, n)) {
        c->short_read = true;
        c->off = c->len;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, c->p + c->off, n);
    c->off += n;
}

/* A sub-cursor over the next n bytes, which the parent skips. */
static inline bool wkp_cur_sub(struct wkp_cur *c, uint32_t n, struct wkp_cur *out)
{
    if (!wkp_cur_has(c, n)) {
        c->short_read = true;
        return false;
    }
    wkp_cur_init(out, c->p + c->off, n);
    c->off += n;
    return true;
}

#endif
