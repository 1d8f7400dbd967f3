/* Writer of test captures: a classic pcap file (microsecond timestamps,
 * written in this host's byte order, snaplen 65535, Ethernet), and builders
 * of Ethernet/IPv4 UDP and TCP frames with zero payload bytes and zero
 * checksums. Test-only: a failed write aborts with a message (a test that
 * uses it then crashes, and says why). */
#ifndef WKP_TEST_CAPWRITER_H
#define WKP_TEST_CAPWRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capw {
    FILE *f;
};

static inline void capw_die(const char *what)
{
    perror(what);
    abort();
}

/* Create (or truncate) path and write the file header. */
static inline void capw_open(struct capw *w, const char *path)
{
    w->f = fopen(path, "wb");
    if (!w->f)
        capw_die(path);
    /* magic, version 2.4, thiszone, sigfigs, snaplen, link type 1 (Ethernet) */
    const uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    if (fwrite(gh, 4, 6, w->f) != 6)
        capw_die(path);
}

/* One record at t_us (µs since the epoch, >= 0): caplen bytes of frame,
 * claiming wirelen bytes on the wire. */
static inline void capw_packet(struct capw *w, int64_t t_us, const void *frame, uint32_t caplen,
                               uint32_t wirelen)
{
    const uint32_t rh[4] = {(uint32_t)(t_us / 1000000), (uint32_t)(t_us % 1000000), caplen,
                            wirelen};
    if (fwrite(rh, 4, 4, w->f) != 4 || fwrite(frame, 1, caplen, w->f) != caplen)
        capw_die("capture record");
}

static inline void capw_close(struct capw *w)
{
    if (fclose(w->f) != 0)
        capw_die("capture close");
    w->f = NULL;
}

/* A fresh empty file /tmp/<prefix>-XXXXXX.pcap; its name goes to path. */
static inline void capw_tmpname(char *path, size_t n, const char *prefix)
{
    snprintf(path, n, "/tmp/%s-XXXXXX.pcap", prefix);
    int fd = mkstemps(path, 5);
    if (fd < 0)
        capw_die(path);
    close(fd);
}

/* Ethernet (MACs zero) and an IPv4 header (no options, TTL 64, id 0) for
 * l4len bytes of protocol proto from src to dst; returns 34, the offset of
 * the layer-4 header. */
static inline uint32_t capw_eth_ipv4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4],
                                     uint8_t proto, uint32_t l4len)
{
    memset(b, 0, 34);
    b[12] = 0x08; /* IPv4 */
    uint8_t *ip = b + 14;
    uint32_t total = 20 + l4len;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(total >> 8);
    ip[3] = (uint8_t)total;
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    return 34;
}

/* Ethernet/IPv4/UDP with payload zero bytes: 42 + payload bytes into b. */
static inline uint32_t capw_udp4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4],
                                 uint16_t sport, uint16_t dport, uint16_t payload)
{
    uint32_t l4 = 8u + payload;
    uint8_t *udp = b + capw_eth_ipv4(b, src, dst, 17, l4);
    memset(udp, 0, l4);
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = (uint8_t)(dport >> 8);
    udp[3] = (uint8_t)dport;
    udp[4] = (uint8_t)(l4 >> 8);
    udp[5] = (uint8_t)l4;
    return 34 + l4;
}

/* Ethernet/IPv4/TCP (20-byte header, ack 0, window 4096) with payload zero
 * bytes: 54 + payload bytes into b. */
static inline uint32_t capw_tcp4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4],
                                 uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags,
                                 uint16_t payload)
{
    uint32_t l4 = 20u + payload;
    uint8_t *tcp = b + capw_eth_ipv4(b, src, dst, 6, l4);
    memset(tcp, 0, l4);
    tcp[0] = (uint8_t)(sport >> 8);
    tcp[1] = (uint8_t)sport;
    tcp[2] = (uint8_t)(dport >> 8);
    tcp[3] = (uint8_t)dport;
    tcp[4] = (uint8_t)(seq >> 24);
    tcp[5] = (uint8_t)(seq >> 16);
    tcp[6] = (uint8_t)(seq >> 8);
    tcp[7] = (uint8_t)seq;
    tcp[12] = 0x50; /* data offset: 5 words */
    tcp[13] = flags;
    tcp[14] = 0x10; /* window 4096 */
    return 34 + l4;
}

#endif
