/* Frame writer shared by the parser and filter unit tests: append bytes
 * to a fixed buffer in network or little-endian order, patch a 16-bit
 * field later, start an Ethernet header. Test-only; asserts on overflow. */
#ifndef WKP_TEST_FRAME_H
#define WKP_TEST_FRAME_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

struct pkt {
    uint8_t b[600];
    uint32_t n;
};

static inline void put(struct pkt *p, const void *src, uint32_t n)
{
    cr_assert(p->n + n <= sizeof p->b);
    memcpy(p->b + p->n, src, n);
    p->n += n;
}
static inline void u8(struct pkt *p, uint8_t v)
{
    put(p, &v, 1);
}
static inline void be16(struct pkt *p, uint16_t v)
{
    u8(p, (uint8_t)(v >> 8)), u8(p, (uint8_t)v);
}
static inline void be32(struct pkt *p, uint32_t v)
{
    be16(p, (uint16_t)(v >> 16)), be16(p, (uint16_t)v);
}
static inline void le16(struct pkt *p, uint16_t v)
{
    u8(p, (uint8_t)v), u8(p, (uint8_t)(v >> 8));
}
static inline void le32(struct pkt *p, uint32_t v)
{
    le16(p, (uint16_t)v), le16(p, (uint16_t)(v >> 16));
}
static inline void zeros(struct pkt *p, uint32_t n)
{
    while (n--)
        u8(p, 0);
}
static inline void patch16(struct pkt *p, uint32_t at, uint16_t v)
{
    p->b[at] = (uint8_t)(v >> 8);
    p->b[at + 1] = (uint8_t)v;
}

/* Ethernet: 12 bytes of MACs, then the ethertype (14 bytes). */
static inline void eth(struct pkt *p, uint16_t type)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    put(p, macs, 12);
    be16(p, type);
}

#endif
