/* wkp-gen: deterministic synthetic capture generator for benchmarks.
 *
 * Writes a classic pcap (microseconds, little-endian, Ethernet) of a given
 * size, or with --pcapng the same packets as pcapng (one section, one
 * Ethernet interface in µs, enhanced packet blocks), streamed through a
 * fixed buffer so memory does not grow with the file. A pool of --flows active flows is kept; each
 * step picks one slot at random and lets that flow emit its next packet (or a short burst while it
 * is moving bulk data), so packets of many flows interleave in time. A flow
 * that ends is replaced by a new one that starts with a handshake; at the
 * start every slot is fast-forwarded silently so the capture opens mid-flow,
 * as a real one does.
 *
 * Single-threaded. The one idea to keep: the output must be identical for
 * the same seed on any machine, so all randomness comes from our own
 * xoshiro256** and all transcendental maths from det_log/det_exp below
 * (built with -ffp-contract=off), never from libm.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- PRNG: splitmix64 seeds xoshiro256** ---- */

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n) for n < 2^32; the bias (< n / 2^32) is irrelevant here. */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* Uniform in (0, 1]: never 0, so log() is safe. */
static inline double rng_unit(struct rng *r)
{
    return (double)((rng_next(r) >> 11) + 1) * 0x1p-53;
}

static inline bool rng_chance(struct rng *r, double p)
{
    return rng_unit(r) <= p;
}

/* ---- deterministic maths: only IEEE-exact operations (+ - * / sqrt, frexp, ldexp) ---- */

static const double LN2 = 0.6931471805599453094;

static double det_log(double x)
{
    int e;
    double m = frexp(x, &e); /* x = m * 2^e, m in [0.5, 1) */
    if (m < 0.70710678118654752) {
        m *= 2;
        e--;
    }
    /* log(m) = 2 atanh(f), f = (m-1)/(m+1), |f| <= 0.172: 11 odd terms reach 1e-17. */
    double f = (m - 1) / (m + 1), s = f * f, sum = 0;
    for (int k = 21; k >= 1; k -= 2)
        sum = sum * s + 1.0 / k;
    return e * LN2 + 2 * f * sum;
}

static double det_exp(double x)
{
    if (x > 700)
        x = 700;
    if (x < -700)
        return 0;
    double kf = floor(x / LN2 + 0.5);
    double r = x - kf * LN2; /* |r| <= 0.35: 18 Taylor terms are plenty */
    double sum = 1, term = 1;
    for (int i = 1; i < 18; i++) {
        term = term * r / i;
        sum += term;
    }
    return ldexp(sum, (int)kf);
}

static double rng_exp(struct rng *r, double mean)
{
    return -mean * det_log(rng_unit(r));
}

/* Pareto with scale xm and shape alpha: P(X > x) = (xm/x)^alpha. */
static double rng_pareto(struct rng *r, double xm, double alpha)
{
    return xm * det_exp(-det_log(rng_unit(r)) / alpha);
}

/* Marsaglia's polar method: needs only log and sqrt. */
static double rng_normal(struct rng *r)
{
    for (;;) {
        double u = 2 * rng_unit(r) - 1, v = 2 * rng_unit(r) - 1, s = u * u + v * v;
        if (s > 0 && s < 1)
            return u * sqrt(-2 * det_log(s) / s);
    }
}

static double rng_lognormal(struct rng *r, double median, double sigma)
{
    return median * det_exp(sigma * rng_normal(r));
}

static uint64_t clampu(double x, uint64_t lo, uint64_t hi)
{
    if (!(x >= (double)lo))
        return lo;
    if (x >= (double)hi)
        return hi;
    return (uint64_t)x;
}

/* ---- byte helpers: explicit byte order so the file is the same on any host ---- */

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}
static inline void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* RFC 1071 sum over native-order words: the folded result is already in
 * memory order, so it is stored with memcpy, not put16 (RFC 1071 §2(B)). */
static uint64_t csum_add(uint64_t acc, const uint8_t *p, size_t n)
{
    while (n >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        acc += w;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc += w;
        p += 2;
        n -= 2;
    }
    if (n) {
        uint16_t w = 0;
        memcpy(&w, p, 1);
        acc += w;
    }
    return acc;
}

static void csum_store(uint8_t *dst, uint64_t acc, bool udp)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    uint16_t c = (uint16_t)~acc;
    if (udp && c == 0)
        c = 0xffff; /* RFC 768: 0 means "no checksum" */
    memcpy(dst, &c, 2);
}

/* ---- traffic model ---- */

enum app { APP_TLS, APP_HTTP, APP_DNS, APP_NTP, APP_STREAM };

enum phase {
    PH_SYN,
    PH_SYN_RETRY,
    PH_SYNACK,
    PH_HSACK,
    PH_DATA,
    PH_ACK,
    PH_FIN1,
    PH_FIN2,
    PH_LASTACK,
    PH_RST,
    PH_UDP,
    PH_DONE,
};

enum { CLI = 0, SRV = 1 };
enum { TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_PSH = 8, TCP_ACK = 16 };

/* Model knobs, tuned so 1 GiB at --flows 20000 holds about 3 M packets and
 * 230 k flows (README.md, "Traffic model"). */
#define MICE_RESP_MEDIAN     250.0 /* bytes, lognormal */
#define MICE_RESP_SIGMA      1.4
#define MICE_EXTRA_EXCHANGES 2.0   /* mean of the exponential beyond the first */
#define ELEPHANT_SHARE       0.003 /* of the picks */
#define PICK_GAP_US          70.0  /* mean gap between picks */

#define TLS_REC_MAX  16401u /* TLS 1.3 ciphertext: 2^14 + 17 */
#define TLS_REC_SPAN (5u + TLS_REC_MAX)

struct flow {
    uint8_t ip[2][16]; /* [CLI], [SRV]; IPv4 uses the first 4 bytes */
    uint16_t port[2];
    uint8_t v6, udp, app, phase;
    uint8_t has_ts, ws[2], ttl[2];
    uint8_t burst;   /* packets per pick while moving bulk data */
    uint8_t closer;  /* who sends the first FIN or the RST */
    uint8_t end_rst; /* close with RST instead of FIN */
    uint8_t refused; /* 1: SYN answered by RST, 2: SYN never answered */
    uint8_t xdir;    /* sender of the current transfer */
    uint8_t unacked; /* receiver's segments not yet acknowledged */
    uint8_t bulk;    /* heavy flow: large responses, long bursts */
    uint16_t mss;
    uint16_t ipid[2];
    uint32_t flabel[2];
    uint32_t seq[2];       /* next sequence number each side sends */
    uint32_t tsoff[2];     /* TSval = tsoff + ms clock */
    uint32_t tsecr[2];     /* last TSval each side has seen from its peer */
    uint32_t exchanges;    /* request/response pairs (or UDP packets) still to come */
    uint32_t xcount;       /* transfers started so far */
    uint64_t xtotal, xoff; /* current transfer: size, bytes sent */
    uint16_t xpre;         /* length of its prefix (handshake records, HTTP head) */
    uint8_t ff;            /* fast-forwarded: first packet in the file is mid-flow */
    uint64_t xseed;
    uint64_t udp_left; /* stream flows: packets left */
    uint32_t rtp_seq, rtp_ts, ssrc;
    uint16_t dns_id;
    uint16_t stream_size;
    uint64_t pkts; /* emitted into the file */
};

struct opts {
    uint64_t seed, size;
    uint32_t flows;
    double ipv6, udp;
    const char *out;
    bool pcapng;
};

struct stats {
    uint64_t pkts, flows, tcp, udp, v6, finished, rst, refused, midflow, open;
    uint64_t hist[8]; /* packets per flow: 1, 2-3, 4-10, 11-30, 31-100, 101-1k, 1k-10k, >10k */
};

struct gen {
    struct rng r;
    struct opts o;
    struct stats st;
    struct flow *pool;
    uint64_t now_us; /* capture clock */
    bool silent;     /* fast-forward: advance state, write nothing */
    bool full;       /* the next record would pass --size */
    FILE *fp;
    uint8_t *obuf;
    size_t olen;
    uint64_t written;
    uint64_t overhead; /* file bytes that are not frame bytes */
    uint8_t frame[2048];
    uint8_t scratch[2048]; /* prefix of the current transfer, rebuilt on demand */
};

static uint8_t filler[65536 + 2048];

#define OBUF_SIZE (1u << 20)
#define START_SEC 1704067200u /* 2024-01-01T00:00:00Z */

static void die(const char *msg)
{
    fprintf(stderr, "wkp-gen: %s\n", msg);
    exit(1);
}

static void out_flush(struct gen *g)
{
    if (g->olen && fwrite(g->obuf, 1, g->olen, g->fp) != g->olen) {
        fprintf(stderr, "wkp-gen: %s: write failed: %s\n", g->o.out, strerror(errno));
        exit(1);
    }
    g->olen = 0;
}

static void out_put(struct gen *g, const void *p, size_t n)
{
    if (g->olen + n > OBUF_SIZE)
        out_flush(g);
    memcpy(g->obuf + g->olen, p, n);
    g->olen += n;
    g->written += n;
}

/* ---- endpoints ---- */

static void pick_addrs(struct gen *g, struct flow *f)
{
    struct rng *r = &g->r;
    /* Servers are few and skewed (a square of a uniform favours low indexes),
     * clients many: flow tables see both repeated and fresh hosts. */
    uint32_t u = rng_below(r, 4096);
    uint32_t srv = (uint32_t)(((uint64_t)u * u) >> 12);
    uint32_t cli = rng_below(r, 1u << 20);
    memset(f->ip, 0, sizeof f->ip);
    if (!f->v6) {
        /* clients 10.0.0.0/12, servers 10.200.0.0/20 */
        put32(f->ip[CLI], 0x0a000000u | cli);
        put32(f->ip[SRV], 0x0ac80000u | srv);
    } else {
        /* clients 2001:db8:1::/48, servers 2001:db8:ff::/48 (RFC 3849) */
        static const uint8_t pfx[4] = {0x20, 0x01, 0x0d, 0xb8};
        memcpy(f->ip[CLI], pfx, 4);
        memcpy(f->ip[SRV], pfx, 4);
        put16(f->ip[CLI] + 4, 1);
        put16(f->ip[SRV] + 4, 0xff);
        put16(f->ip[CLI] + 6, (uint16_t)(cli >> 12));
        put32(f->ip[CLI] + 8, 0x02000000u | (cli & 0xfff));
        put32(f->ip[CLI] + 12, cli * 2654435761u | 1);
        put16(f->ip[SRV] + 14, (uint16_t)(srv + 1));
    }
    f->port[CLI] = (uint16_t)(32768 + rng_below(r, 28232)); /* Linux ephemeral range */
    static const uint8_t ttls[4] = {64, 64, 128, 255};
    f->ttl[CLI] = ttls[rng_below(r, 4)];
    f->ttl[SRV] = (uint8_t)(ttls[rng_below(r, 3)] - rng_below(r, 20));
    for (int d = 0; d < 2; d++) {
        f->ipid[d] = (uint16_t)rng_next(r);
        f->flabel[d] = (uint32_t)rng_next(r) & 0xfffff;
    }
}

/* big: a slot of the elephant pool (see run()). */
static void flow_new(struct gen *g, struct flow *f, bool big)
{
    struct rng *r = &g->r;
    memset(f, 0, sizeof *f);
    f->v6 = rng_chance(r, g->o.ipv6);
    f->udp = rng_chance(r, g->o.udp);
    f->bulk = big;
    pick_addrs(g, f);
    f->xseed = rng_next(r);
    if (f->udp) {
        f->phase = PH_UDP;
        uint32_t k = big ? 99 : rng_below(r, 100);
        if (k < 88) {
            f->app = APP_DNS;
            f->port[SRV] = 53;
            /* 1 query in most flows, a few resolvers reuse the port for more */
            f->exchanges = 2 * (rng_chance(r, 0.8) ? 1 : 2 + rng_below(r, 4));
            f->dns_id = (uint16_t)rng_next(r);
        } else if (k < 97) {
            f->app = APP_NTP;
            f->port[SRV] = 123;
            f->exchanges = 2;
        } else {
            f->app = APP_STREAM; /* RTP-like media: small request, long one-way stream */
            f->port[SRV] = 5004;
            f->exchanges = 1;
            f->udp_left = big ? clampu(rng_pareto(r, 5000, 1.1), 5000, 5000000)
                              : clampu(rng_pareto(r, 5, 1.3), 5, 5000);
            f->stream_size = (uint16_t)(900 + rng_below(r, 400));
            f->burst = big ? 16 : 4;
            f->ssrc = (uint32_t)rng_next(r);
            f->rtp_seq = (uint16_t)rng_next(r);
            f->rtp_ts = (uint32_t)rng_next(r);
        }
        return;
    }
    uint32_t k = rng_below(r, 100);
    f->app = k < 90 ? APP_TLS : APP_HTTP;
    f->port[SRV] = k < 85 ? 443 : k < 90 ? 8443 : k < 98 ? 80 : 8080;
    f->has_ts = rng_chance(r, 0.7);
    f->mss = (uint16_t)((f->v6 ? 1440 : 1460) - (f->has_ts ? 12 : 0));
    f->ws[CLI] = 7;
    f->ws[SRV] = (uint8_t)(rng_chance(r, 0.5) ? 7 : 9);
    for (int d = 0; d < 2; d++) {
        f->seq[d] = (uint32_t)rng_next(r);
        f->tsoff[d] = (uint32_t)rng_next(r);
    }
    f->burst = big ? 32 : 6;
    f->exchanges = 1 + (uint32_t)clampu(rng_exp(r, big ? 0.5 : MICE_EXTRA_EXCHANGES), 0, 60);
    f->closer = rng_chance(r, 0.6) ? CLI : SRV;
    f->end_rst = rng_chance(r, 0.12);
    k = rng_below(r, 1000);
    f->refused = big ? 0 : k < 15 ? 1 : k < 25 ? 2 : 0;
    f->phase = PH_SYN;
}

/* ---- application bytes ---- */

static const char *const tlds[] = {"example.com", "example.org", "example.net"};

static size_t put_hostname(struct rng *r, char *dst)
{
    static const char *const words[] = {"www",   "api",   "cdn",  "img",    "static", "mail",
                                        "login", "video", "edge", "assets", "s3",     "ws"};
    return (size_t)sprintf(dst, "%s%u.%s", words[rng_below(r, 12)], rng_below(r, 5000),
                           tlds[rng_below(r, 3)]);
}

static size_t tls_client_hello(struct rng *r, uint8_t *p, size_t want)
{
    char host[64];
    size_t hl = put_hostname(r, host);
    uint8_t *q = p + 9; /* after the record (5) and handshake (4) headers */
    put16(q, 0x0303);
    q += 2;
    for (int i = 0; i < 32; i++)
        *q++ = (uint8_t)rng_next(r);
    *q++ = 32;
    for (int i = 0; i < 32; i++)
        *q++ = (uint8_t)rng_next(r);
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030};
    put16(q, sizeof suites);
    q += 2;
    for (size_t i = 0; i < sizeof suites / 2; i++, q += 2)
        put16(q, suites[i]);
    *q++ = 1;
    *q++ = 0;
    uint8_t *ext_len = q;
    q += 2;
    uint8_t *ext = q;
    put16(q, 0); /* server_name (RFC 6066 §3) */
    put16(q + 2, (uint16_t)(hl + 5));
    put16(q + 4, (uint16_t)(hl + 3));
    q[6] = 0;
    put16(q + 7, (uint16_t)hl);
    memcpy(q + 9, host, hl);
    q += 9 + hl;
    put16(q, 43); /* supported_versions: TLS 1.3 */
    put16(q + 2, 3);
    q[4] = 2;
    put16(q + 5, 0x0304);
    q += 7;
    put16(q, 10); /* supported_groups: x25519 */
    put16(q + 2, 4);
    put16(q + 4, 2);
    put16(q + 6, 0x001d);
    q += 8;
    put16(q, 13); /* signature_algorithms */
    put16(q + 2, 6);
    put16(q + 4, 4);
    put16(q + 6, 0x0403);
    put16(q + 8, 0x0804);
    q += 10;
    put16(q, 51); /* key_share: x25519 */
    put16(q + 2, 38);
    put16(q + 4, 36);
    put16(q + 6, 0x001d);
    put16(q + 8, 32);
    q += 10;
    for (int i = 0; i < 32; i++)
        *q++ = (uint8_t)rng_next(r);
    size_t len = (size_t)(q - p);
    if (want > len + 4) { /* padding (RFC 7685) up to the drawn request size */
        size_t pad = want - len - 4;
        put16(q, 21);
        put16(q + 2, (uint16_t)pad);
        memset(q + 4, 0, pad);
        q += 4 + pad;
        len = (size_t)(q - p);
    }
    put16(ext_len, (uint16_t)(q - ext));
    p[0] = 22;
    put16(p + 1, 0x0301);
    put16(p + 3, (uint16_t)(len - 5));
    p[5] = 1;
    p[6] = 0;
    put16(p + 7, (uint16_t)(len - 9));
    return len;
}

static size_t tls_server_hello(struct rng *r, uint8_t *p)
{
    uint8_t *q = p + 9;
    put16(q, 0x0303);
    q += 2;
    for (int i = 0; i < 32; i++)
        *q++ = (uint8_t)rng_next(r);
    *q++ = 32;
    for (int i = 0; i < 32; i++)
        *q++ = (uint8_t)rng_next(r);
    put16(q, 0x1301);
    q[2] = 0;
    q += 3;
    put16(q, 46);
    q += 2;
    put16(q, 43);
    put16(q + 2, 2);
    put16(q + 4, 0x0304);
    q += 6;
    put16(q, 51);
    put16(q + 2, 36);
    put16(q + 4, 0x001d);
    put16(q + 6, 32);
    q += 8;
    for (int i = 0; i < 32; i++)
        *q++ = (uint8_t)rng_next(r);
    size_t len = (size_t)(q - p);
    p[0] = 22;
    put16(p + 1, 0x0303);
    put16(p + 3, (uint16_t)(len - 5));
    p[5] = 2;
    p[6] = 0;
    put16(p + 7, (uint16_t)(len - 9));
    static const uint8_t ccs[6] = {20, 3, 3, 0, 1, 1}; /* middlebox compat (RFC 8446 D.4) */
    memcpy(q, ccs, 6);
    return len + 6;
}

/* HTTP/1.1 head (RFC 9112). A request without body is exactly `total` bytes;
 * otherwise the head has a fixed length (base + 64, X-Pad fills what the
 * Content-Length line leaves) so the body length is known before writing it. */
static size_t http_head(struct rng *r, const struct flow *f, uint8_t *p, uint64_t total)
{
    char *s = (char *)p;
    bool req = f->xdir == CLI, body = !req || total > 1400;
    int n;
    if (req) {
        char host[64];
        put_hostname(r, host);
        n = sprintf(s,
                    "%s /%s/%08x HTTP/1.1\r\nHost: %s\r\nUser-Agent: wkp-gen/1\r\nAccept: */*\r\n",
                    body ? "POST" : "GET", rng_chance(r, 0.5) ? "static" : "api",
                    (uint32_t)rng_next(r), host);
    } else {
        n = sprintf(s, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n");
    }
    size_t head = body ? (size_t)n + 64 : (size_t)total;
    if (body)
        n += sprintf(s + n, "Content-Length: %llu\r\n", (unsigned long long)(total - head));
    size_t pad = head - (size_t)n - 11; /* "X-Pad: " pad "\r\n" "\r\n" */
    memcpy(s + n, "X-Pad: ", 7);
    memset(s + n + 7, 'a', pad);
    memcpy(s + n + 7 + pad, "\r\n\r\n", 4);
    return head;
}

/* Bytes of the current transfer that come before the generic body: TLS
 * handshake records, HTTP head. Rebuilt from xseed whenever needed, so a flow
 * stores no buffer. */
static size_t xfer_prefix(const struct flow *f, uint8_t *buf)
{
    struct rng r;
    rng_seed(&r, f->xseed ^ f->xcount);
    if (f->app == APP_TLS) {
        if (f->xcount == 1)
            return tls_client_hello(&r, buf, (size_t)f->xtotal);
        if (f->xcount == 2)
            return tls_server_hello(&r, buf);
        return 0;
    }
    return http_head(&r, f, buf, f->xtotal);
}

/* Write n bytes of the current transfer starting at offset off. */
static void xfer_bytes(struct gen *g, struct flow *f, uint64_t off, uint8_t *dst, size_t n)
{
    size_t pre = f->xpre;
    if (off < pre)
        xfer_prefix(f, g->scratch);
    while (n) {
        size_t k;
        if (off < pre) {
            k = pre - off < n ? pre - (size_t)off : n;
            memcpy(dst, g->scratch + off, k);
        } else if (f->app == APP_TLS) {
            /* Application-data records back to back after the prefix; a
             * record never crosses a transfer (xfer_start avoids a tail < 6). */
            uint64_t rel = off - pre, start = off - rel % TLS_REC_SPAN;
            uint64_t rlen = f->xtotal - start - 5;
            if (rlen > TLS_REC_MAX)
                rlen = TLS_REC_MAX;
            uint64_t in = off - start;
            if (in < 5) {
                uint8_t h[5] = {23, 3, 3, (uint8_t)(rlen >> 8), (uint8_t)rlen};
                k = 5 - in < n ? 5 - (size_t)in : n;
                memcpy(dst, h + in, k);
            } else {
                uint64_t left = start + 5 + rlen - off;
                k = left < n ? (size_t)left : n;
                memcpy(dst, filler + ((off * 7 + f->xseed) & 0xffff), k);
            }
        } else {
            k = n;
            memcpy(dst, filler + ((off * 7 + f->xseed) & 0xffff), k);
        }
        dst += k;
        off += k;
        n -= k;
    }
}

static void xfer_start(struct gen *g, struct flow *f, int dir)
{
    struct rng *r = &g->r;
    uint64_t n;
    f->xdir = (uint8_t)dir;
    f->xcount++;
    f->xoff = 0;
    f->unacked = 0;
    if (dir == CLI && f->bulk && rng_chance(r, 0.25))
        n = clampu(rng_pareto(r, 1 << 20, 1.1), 1 << 20, 4ull << 30); /* big upload */
    else if (dir == CLI)
        n = rng_chance(r, 0.03) ? clampu(rng_pareto(r, 2000, 1.3), 2000, 16u << 20) /* upload */
                                : clampu(rng_lognormal(r, 220, 0.5), 100, 600);
    else if (f->bulk)
        n = clampu(rng_pareto(r, 1 << 20, 1.1), 1 << 20, 4ull << 30);
    else if (rng_chance(r, 0.005))
        n = clampu(rng_pareto(r, 8000, 1.2), 8000, 16u << 20); /* a medium download */
    else
        n = clampu(rng_lognormal(r, MICE_RESP_MEDIAN, MICE_RESP_SIGMA), 60, 16u << 20);
    if (f->app == APP_TLS) {
        if (f->xcount == 1)
            n = 250 + rng_below(r, 320); /* ClientHello, padded */
        else if (f->xcount == 2 && n < 400)
            n = 400 + rng_below(r, 3000); /* ServerHello, CCS, encrypted handshake */
        else if (n < 30)
            n = 30;
        /* every application-data record needs its 5-byte header and a byte */
        uint64_t tail = (n - (f->xcount == 2 ? 133 : 0)) % TLS_REC_SPAN;
        if (f->xcount > 1 && tail && tail < 6)
            n += 6;
    } else if (dir == SRV && n < 200) {
        n = 200 + rng_below(r, 200); /* room for the HTTP head */
    } else if (n < 140) {
        n = 140 + rng_below(r, 40); /* a GET head of ~110 bytes plus X-Pad */
    }
    f->xtotal = n;
    f->xpre = (uint16_t)xfer_prefix(f, g->scratch);
    f->exchanges -= dir == SRV;
}

/* ---- packet building ---- */

static uint8_t *frame_l3(struct gen *g, struct flow *f, int dir, uint8_t proto, size_t l4len,
                         uint64_t *pseudo)
{
    uint8_t *p = g->frame;
    static const uint8_t gw[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};
    uint8_t host[6] = {0x02,          0x1a,          f->ip[CLI][1] ^ f->ip[CLI][13],
                       f->ip[CLI][2], f->ip[CLI][3], f->ip[CLI][15]};
    memcpy(p, dir == CLI ? gw : host, 6); /* capture point: the client's LAN */
    memcpy(p + 6, dir == CLI ? host : gw, 6);
    const uint8_t *src = f->ip[dir], *dst = f->ip[!dir];
    uint8_t ph[40];
    if (!f->v6) {
        put16(p + 12, 0x0800);
        uint8_t *ip = p + 14;
        ip[0] = 0x45;
        ip[1] = 0;
        put16(ip + 2, (uint16_t)(20 + l4len));
        put16(ip + 4, f->ipid[dir]++);
        put16(ip + 6, proto == 6 ? 0x4000 : 0);
        ip[8] = f->ttl[dir];
        ip[9] = proto;
        memset(ip + 10, 0, 2);
        memcpy(ip + 12, src, 4);
        memcpy(ip + 16, dst, 4);
        csum_store(ip + 10, csum_add(0, ip, 20), false);
        memcpy(ph, src, 4);
        memcpy(ph + 4, dst, 4);
        ph[8] = 0;
        ph[9] = proto;
        put16(ph + 10, (uint16_t)l4len);
        *pseudo = csum_add(0, ph, 12);
        return ip + 20;
    }
    put16(p + 12, 0x86dd);
    uint8_t *ip = p + 14;
    put32(ip, 0x60000000u | f->flabel[dir]);
    put16(ip + 4, (uint16_t)l4len);
    ip[6] = proto;
    ip[7] = f->ttl[dir];
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    memcpy(ph, src, 16);
    memcpy(ph + 16, dst, 16);
    put32(ph + 32, (uint32_t)l4len);
    put32(ph + 36, proto);
    *pseudo = csum_add(0, ph, 40);
    return ip + 40;
}

static void hist_add(struct stats *st, uint64_t n)
{
    static const uint64_t edge[7] = {1, 3, 10, 30, 100, 1000, 10000};
    int i = 0;
    while (i < 7 && n > edge[i])
        i++;
    st->hist[i]++;
}

static void emit(struct gen *g, struct flow *f, uint8_t *l4, size_t l4len)
{
    size_t len = (size_t)(l4 - g->frame) + l4len;
    size_t pad = g->o.pcapng ? (4 - len % 4) % 4 : 0;
    size_t hdr = g->o.pcapng ? 28 : 16, trail = g->o.pcapng ? 4 + pad : 0;
    if (g->written + hdr + len + trail > g->o.size) {
        g->full = true;
        return;
    }
    uint8_t rec[28];
    if (g->o.pcapng) { /* enhanced packet block, interface 0, µs since the epoch */
        uint64_t ts = (uint64_t)START_SEC * 1000000 + g->now_us;
        uint32_t blen = (uint32_t)(hdr + len + trail);
        put32le(rec, 6);
        put32le(rec + 4, blen);
        put32le(rec + 8, 0);
        put32le(rec + 12, (uint32_t)(ts >> 32));
        put32le(rec + 16, (uint32_t)ts);
        put32le(rec + 20, (uint32_t)len);
        put32le(rec + 24, (uint32_t)len);
        out_put(g, rec, 28);
        out_put(g, g->frame, len);
        uint8_t t[8] = {0};
        put32le(t + pad, blen);
        out_put(g, t, trail);
    } else {
        put32le(rec, (uint32_t)(START_SEC + g->now_us / 1000000));
        put32le(rec + 4, (uint32_t)(g->now_us % 1000000));
        put32le(rec + 8, (uint32_t)len);
        put32le(rec + 12, (uint32_t)len);
        out_put(g, rec, 16);
        out_put(g, g->frame, len);
    }
    g->overhead += hdr + trail;
    if (f->pkts++ == 0) {
        g->st.flows++;
        g->st.tcp += !f->udp;
        g->st.udp += f->udp;
        g->st.v6 += f->v6;
        g->st.midflow += f->ff;
    }
    g->st.pkts++;
}

static void tcp_send(struct gen *g, struct flow *f, int dir, uint8_t flags, size_t paylen)
{
    uint8_t opt[40];
    size_t olen = 0;
    uint32_t tsval = f->tsoff[dir] + (uint32_t)(g->now_us / 1000);
    if (flags & TCP_SYN) {
        uint8_t *o = opt;
        o[0] = 2, o[1] = 4;
        put16(o + 2, f->mss + (f->has_ts ? 12 : 0));
        if (f->has_ts) { /* Linux order: MSS, SACK_PERM, TS, NOP, WS */
            o[4] = 4, o[5] = 2, o[6] = 8, o[7] = 10;
            put32(o + 8, tsval);
            put32(o + 12, f->tsecr[dir]);
            o[16] = 1, o[17] = 3, o[18] = 3, o[19] = f->ws[dir];
            olen = 20;
        } else {
            o[4] = 1, o[5] = 3, o[6] = 3, o[7] = f->ws[dir];
            o[8] = 1, o[9] = 1, o[10] = 4, o[11] = 2;
            olen = 12;
        }
    } else if (f->has_ts && !(flags & TCP_RST)) {
        opt[0] = 1, opt[1] = 1, opt[2] = 8, opt[3] = 10;
        put32(opt + 4, tsval);
        put32(opt + 8, f->tsecr[dir]);
        olen = 12;
    }
    f->tsecr[!dir] = tsval;
    if (g->silent) {
        f->seq[dir] += (uint32_t)paylen + ((flags & (TCP_SYN | TCP_FIN)) != 0);
        return;
    }
    size_t l4len = 20 + olen + paylen;
    uint64_t acc;
    uint8_t *t = frame_l3(g, f, dir, 6, l4len, &acc);
    put16(t, f->port[dir]);
    put16(t + 2, f->port[!dir]);
    put32(t + 4, f->seq[dir]);
    bool ack = flags & TCP_ACK;
    put32(t + 8, ack ? f->seq[!dir] : 0);
    t[12] = (uint8_t)(((20 + olen) / 4) << 4);
    t[13] = flags;
    uint16_t win = (flags & TCP_SYN) ? (dir == CLI ? 64240 : 65160)
                   : (flags & TCP_RST)
                       ? 0
                       : (uint16_t)(dir == CLI ? 501 + (f->xoff & 1023) : 502 + (f->xcount & 255));
    put16(t + 14, win);
    memset(t + 16, 0, 4);
    memcpy(t + 20, opt, olen);
    if (paylen)
        xfer_bytes(g, f, f->xoff, t + 20 + olen, paylen);
    csum_store(t + 16, csum_add(acc, t, l4len), false);
    f->seq[dir] += (uint32_t)paylen + ((flags & (TCP_SYN | TCP_FIN)) != 0);
    emit(g, f, t, l4len);
}

static void flow_close_or_next(struct gen *g, struct flow *f)
{
    if (f->exchanges) {
        xfer_start(g, f, CLI);
        f->phase = PH_DATA;
    } else {
        f->phase = f->end_rst ? PH_RST : PH_FIN1;
    }
}

/* One packet of a TCP flow; returns false once the flow is over. */
static bool tcp_step(struct gen *g, struct flow *f)
{
    switch (f->phase) {
    case PH_SYN:
        tcp_send(g, f, CLI, TCP_SYN, 0);
        if (f->refused == 2)
            f->seq[CLI]--; /* the retransmitted SYN reuses the ISN */
        f->phase = f->refused == 2 ? PH_SYN_RETRY : PH_SYNACK;
        return true;
    case PH_SYN_RETRY: tcp_send(g, f, CLI, TCP_SYN, 0); return false;
    case PH_SYNACK:
        if (f->refused == 1) {
            uint32_t s = f->seq[SRV];
            f->seq[SRV] = 0;
            tcp_send(g, f, SRV, TCP_RST | TCP_ACK, 0);
            f->seq[SRV] = s;
            g->st.refused += !g->silent;
            return false;
        }
        tcp_send(g, f, SRV, TCP_SYN | TCP_ACK, 0);
        f->phase = PH_HSACK;
        return true;
    case PH_HSACK:
        tcp_send(g, f, CLI, TCP_ACK, 0);
        xfer_start(g, f, CLI);
        f->phase = PH_DATA;
        return true;
    case PH_DATA: {
        int d = f->xdir;
        uint64_t left = f->xtotal - f->xoff;
        size_t n = left < f->mss ? (size_t)left : f->mss;
        bool last = n == left;
        tcp_send(g, f, d, (uint8_t)(TCP_ACK | (last ? TCP_PSH : 0)), n);
        f->xoff += n;
        f->unacked++;
        if (!last) {
            if (f->unacked >= 2) /* delayed ACK: one per two full segments (RFC 9293 3.8.6.3) */
                f->phase = PH_ACK;
        } else if (d == CLI && f->xtotal <= 3 * f->mss) {
            xfer_start(g, f, SRV); /* the response acknowledges the request */
        } else {
            f->phase = PH_ACK;
        }
        return true;
    }
    case PH_ACK:
        tcp_send(g, f, !f->xdir, TCP_ACK, 0);
        f->unacked = 0;
        if (f->xoff < f->xtotal)
            f->phase = PH_DATA;
        else if (f->xdir == CLI)
            xfer_start(g, f, SRV), f->phase = PH_DATA;
        else
            flow_close_or_next(g, f);
        return true;
    case PH_FIN1:
        tcp_send(g, f, f->closer, TCP_FIN | TCP_ACK, 0);
        f->phase = PH_FIN2;
        return true;
    case PH_FIN2:
        tcp_send(g, f, !f->closer, TCP_FIN | TCP_ACK, 0);
        f->phase = PH_LASTACK;
        return true;
    case PH_LASTACK:
        tcp_send(g, f, f->closer, TCP_ACK, 0);
        g->st.finished += !g->silent;
        return false;
    case PH_RST:
        tcp_send(g, f, f->closer, TCP_RST | TCP_ACK, 0);
        g->st.rst += !g->silent;
        return false;
    default: return false;
    }
}

static size_t dns_name(struct rng *r, uint8_t *p)
{
    char host[64];
    size_t n = 0;
    put_hostname(r, host);
    char *lab = host;
    for (;;) {
        char *dot = strchr(lab, '.');
        size_t ll = dot ? (size_t)(dot - lab) : strlen(lab);
        p[n++] = (uint8_t)ll;
        memcpy(p + n, lab, ll);
        n += ll;
        if (!dot)
            break;
        lab = dot + 1;
    }
    p[n++] = 0;
    return n;
}

/* DNS query or response (RFC 1035 4.1) rebuilt from the flow's seed and
 * query number, so the response repeats the question. */
static size_t dns_msg(struct flow *f, uint32_t q, bool resp, uint8_t *p)
{
    struct rng r;
    rng_seed(&r, f->xseed ^ q);
    uint16_t qtype = f->v6 ? (rng_chance(&r, 0.6) ? 28 : 1) : (rng_chance(&r, 0.2) ? 28 : 1);
    /* draw everything for both directions so the question comes out the same */
    uint32_t an = 1 + rng_below(&r, 4);
    bool nx = rng_chance(&r, 0.05);
    if (nx || !resp)
        an = 0;
    put16(p, (uint16_t)(f->dns_id + q));
    put16(p + 2, resp ? (nx ? 0x8183 : 0x8180) : 0x0100);
    put16(p + 4, 1);
    put16(p + 6, (uint16_t)an);
    put16(p + 8, 0);
    put16(p + 10, 0);
    size_t n = 12 + dns_name(&r, p + 12);
    put16(p + n, qtype);
    put16(p + n + 2, 1);
    n += 4;
    for (uint32_t i = 0; i < an; i++) {
        size_t rl = qtype == 28 ? 16 : 4;
        put16(p + n, 0xc00c);
        put16(p + n + 2, qtype);
        put16(p + n + 4, 1);
        put32(p + n + 6, 60 + rng_below(&r, 3600));
        put16(p + n + 10, (uint16_t)rl);
        for (size_t k = 0; k < rl; k++)
            p[n + 12 + k] = (uint8_t)rng_next(&r);
        if (rl == 4)
            p[n + 12] = 198, p[n + 13] = 51, p[n + 14] = 100; /* 198.51.100.0/24 */
        else
            put32(p + n + 12, 0x20010db8);
        n += 12 + rl;
    }
    return n;
}

static void udp_send(struct gen *g, struct flow *f, int dir, size_t paylen, uint32_t q)
{
    if (g->silent)
        return;
    uint8_t pl[1500];
    switch (f->app) {
    case APP_DNS: paylen = dns_msg(f, q, dir == SRV, pl); break;
    case APP_NTP: /* RFC 5905 7.3: LI 0, VN 4, mode 3 client / 4 server */
        memset(pl, 0, 48);
        pl[0] = dir == CLI ? 0x23 : 0x24;
        if (dir == SRV)
            pl[1] = 2, pl[2] = 3, pl[3] = 0xe9, put32(pl + 12, 0xc0000201u);
        put32(pl + 40, (uint32_t)(START_SEC + 2208988800u + g->now_us / 1000000));
        put32(pl + 44, (uint32_t)(g->now_us % 1000000) * 4294u);
        paylen = 48;
        break;
    default: /* RTP-like (RFC 3550 5.1) media and small feedback packets */
        memcpy(pl, filler + ((f->rtp_seq * 13u + f->xseed) & 0xffff), paylen);
        pl[0] = 0x80;
        pl[1] = dir == SRV ? 96 : 72;
        put16(pl + 2, (uint16_t)f->rtp_seq);
        put32(pl + 4, f->rtp_ts);
        put32(pl + 8, f->ssrc + (uint32_t)dir);
        break;
    }
    size_t l4len = 8 + paylen;
    uint64_t acc;
    uint8_t *u = frame_l3(g, f, dir, 17, l4len, &acc);
    put16(u, f->port[dir]);
    put16(u + 2, f->port[!dir]);
    put16(u + 4, (uint16_t)l4len);
    memset(u + 6, 0, 2);
    memcpy(u + 8, pl, paylen);
    csum_store(u + 6, csum_add(acc, u, l4len), true);
    emit(g, f, u, l4len);
}

static bool udp_step(struct gen *g, struct flow *f)
{
    if (f->app != APP_STREAM) {
        uint32_t i = f->xcount++;
        udp_send(g, f, i & 1 ? SRV : CLI, 0, i / 2);
        return --f->exchanges > 0;
    }
    if (f->xcount++ == 0) {
        udp_send(g, f, CLI, 40 + f->stream_size % 160, 0);
        return true;
    }
    bool fb = f->xcount % 50 == 0; /* receiver report every 50 packets */
    udp_send(g, f, fb ? CLI : SRV, fb ? 80 : f->stream_size + (f->rtp_seq & 15), 0);
    if (!fb) {
        f->rtp_seq++;
        f->rtp_ts += 3000;
        f->udp_left--;
    }
    return f->udp_left > 0;
}

static bool flow_step(struct gen *g, struct flow *f)
{
    return f->udp ? udp_step(g, f) : tcp_step(g, f);
}

static void flow_end(struct gen *g, struct flow *f)
{
    if (f->pkts)
        hist_add(&g->st, f->pkts);
}

static bool bulk_phase(const struct flow *f)
{
    return f->udp ? f->app == APP_STREAM && f->xcount > 0
                  : f->phase == PH_DATA || f->phase == PH_ACK;
}

/* The pool is two pools. Slots [0, big) hold elephants (bulk TCP transfers
 * of megabytes to gigabytes, long media streams) and get ELEPHANT_SHARE of
 * the picks, so a few flows grow huge; the other slots hold everything else
 * and share the remaining picks evenly. With one pool, a uniform pick would
 * give every flow the same rate and cap any flow at (picks / slots) steps. */
static void run(struct gen *g)
{
    struct rng *r = &g->r;
    uint32_t n = g->o.flows;
    uint32_t big = n >= 100 ? n / 5000 + 1 : 0;
    /* Fast-forward: the capture starts with flows already in progress. */
    g->silent = true;
    for (uint32_t i = 0; i < n; i++) {
        struct flow *f = &g->pool[i];
        flow_new(g, f, i < big);
        uint32_t skip = rng_below(r, i < big ? 2000 : 40);
        for (uint32_t k = 0; k < skip; k++) {
            if (!flow_step(g, f)) {
                flow_new(g, f, i < big);
                break;
            }
            f->ff = 1;
        }
    }
    g->silent = false;
    while (!g->full) {
        uint32_t slot =
            big && rng_chance(r, ELEPHANT_SHARE) ? rng_below(r, big) : big + rng_below(r, n - big);
        struct flow *f = &g->pool[slot];
        g->now_us += 1 + (uint64_t)rng_exp(r, PICK_GAP_US);
        uint32_t burst = bulk_phase(f) ? 1 + rng_below(r, f->burst) : 1;
        uint8_t dir = f->xdir;
        uint32_t xc = f->xcount;
        for (uint32_t k = 0; k < burst && !g->full; k++) {
            if (k)
                g->now_us += 1 + rng_below(r, 12); /* back to back, about line rate */
            if (!flow_step(g, f)) {
                flow_end(g, f);
                flow_new(g, f, slot < big);
                break;
            }
            /* a new transfer waits for the next pick (an RTT); so does a close */
            if (!bulk_phase(f) || (!f->udp && (f->xdir != dir || f->xcount != xc)))
                break;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        flow_end(g, &g->pool[i]);
        g->st.open += g->pool[i].pkts > 0;
    }
}

/* ---- command line ---- */

static void usage(FILE *fp)
{
    fputs("usage: wkp-gen [--seed N] [--size BYTES[K|M|G]] [--flows N] [--ipv6 FRACTION]\n"
          "               [--udp FRACTION] [--pcapng] -o FILE\n"
          "Writes a deterministic synthetic pcap (same seed and options: same bytes).\n"
          "  --seed N         PRNG seed (default 1)\n"
          "  --size BYTES     target file size, suffix K/M/G = KiB/MiB/GiB (default 100M)\n"
          "  --flows N        concurrently active flows (default 10000)\n"
          "  --ipv6 FRACTION  share of IPv6 flows, 0..1 (default 0.25)\n"
          "  --udp FRACTION   share of UDP flows, 0..1 (default 0.2)\n"
          "  --pcapng         write pcapng (enhanced packet blocks) instead of pcap\n"
          "  -o FILE          output file ('-' for stdout)\n",
          fp);
}

/* Decimal integer; with `suffix`, an optional K/M/G/T (binary multiples,
 * "KiB" and "KB" spellings accepted too). */
static bool parse_u64(const char *s, uint64_t *out, bool suffix)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return false;
    unsigned shift = 0;
    const char *units = "KMGT", *u;
    if (suffix && *end && (u = strchr(units, *end & ~0x20)) != NULL) {
        shift = 10 * (unsigned)(u - units + 1);
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
            end += strlen(end);
    }
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

static bool parse_frac(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 1))
        return false;
    *out = v;
    return true;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    static struct gen g;
    g.o = (struct opts){.seed = 1, .size = 100u << 20, .flows = 10000, .ipv6 = 0.25, .udp = 0.2};
    static const struct option lo[] = {{"seed", required_argument, 0, 's'},
                                       {"size", required_argument, 0, 'S'},
                                       {"flows", required_argument, 0, 'f'},
                                       {"ipv6", required_argument, 0, '6'},
                                       {"udp", required_argument, 0, 'u'},
                                       {"output", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},
                                       {"pcapng", no_argument, 0, 'n'},
                                       {0, 0, 0, 0}};
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 's': ok = parse_u64(optarg, &g.o.seed, false); break;
        case 'S': ok = parse_u64(optarg, &g.o.size, true); break;
        case 'f':
            ok = parse_u64(optarg, &v, false) && v >= 1 && v <= 50000000;
            g.o.flows = (uint32_t)v;
            break;
        case '6': ok = parse_frac(optarg, &g.o.ipv6); break;
        case 'u': ok = parse_frac(optarg, &g.o.udp); break;
        case 'o': g.o.out = optarg; break;
        case 'n': g.o.pcapng = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "wkp-gen: bad value for --%s: '%s'\n",
                    c == 's'   ? "seed"
                    : c == 'S' ? "size"
                    : c == 'f' ? "flows"
                    : c == '6' ? "ipv6"
                               : "udp",
                    optarg);
            return 2;
        }
    }
    if (!g.o.out || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (g.o.size < (g.o.pcapng ? 48u : 24u)) {
        fputs("wkp-gen: --size must be at least 24 bytes (pcap header; pcapng: 48)\n", stderr);
        return 2;
    }
    bool to_stdout = strcmp(g.o.out, "-") == 0;
    g.fp = to_stdout ? stdout : fopen(g.o.out, "wb");
    if (!g.fp) {
        fprintf(stderr, "wkp-gen: %s: %s\n", g.o.out, strerror(errno));
        return 1;
    }
    g.obuf = malloc(OBUF_SIZE);
    g.pool = calloc(g.o.flows, sizeof *g.pool);
    if (!g.obuf || !g.pool)
        die("out of memory");
    rng_seed(&g.r, g.o.seed);
    struct rng fr;
    rng_seed(&fr, g.o.seed ^ 0x66696c6c6572u);
    for (size_t i = 0; i < sizeof filler; i++)
        filler[i] = (uint8_t)(rng_next(&fr) >> 56);

    double t0 = mono_now();
    uint8_t hdr[48];
    if (g.o.pcapng) {
        /* SHB (version 1.0, section length unknown) + IDB (Ethernet, snaplen 65535) */
        put32le(hdr, 0x0a0d0d0au);
        put32le(hdr + 4, 28);
        put32le(hdr + 8, 0x1a2b3c4du);
        put32le(hdr + 12, 1);
        put32le(hdr + 16, 0xffffffffu);
        put32le(hdr + 20, 0xffffffffu);
        put32le(hdr + 24, 28);
        put32le(hdr + 28, 1);
        put32le(hdr + 32, 20);
        put32le(hdr + 36, 1); /* LINKTYPE_ETHERNET, reserved 0 */
        put32le(hdr + 40, 65535);
        put32le(hdr + 44, 20);
        out_put(&g, hdr, 48);
        g.overhead = 48;
    } else {
        put32le(hdr, 0xa1b2c3d4u);
        hdr[4] = 2, hdr[5] = 0, hdr[6] = 4, hdr[7] = 0; /* version 2.4, LE */
        memset(hdr + 8, 0, 8);
        put32le(hdr + 16, 65535);
        put32le(hdr + 20, 1); /* LINKTYPE_ETHERNET */
        out_put(&g, hdr, 24);
        g.overhead = 24;
    }
    run(&g);
    out_flush(&g);
    if (fflush(g.fp) != 0 || (!to_stdout && fclose(g.fp) != 0)) {
        fprintf(stderr, "wkp-gen: %s: write failed: %s\n", g.o.out, strerror(errno));
        return 1;
    }
    double secs = mono_now() - t0;

    const struct stats *st = &g.st;
    FILE *o = to_stdout ? stderr : stdout;
    fprintf(o, "wkp-gen: %s: %llu bytes, %llu packets, %llu flows in %.1f s\n", g.o.out,
            (unsigned long long)g.written, (unsigned long long)st->pkts,
            (unsigned long long)st->flows, secs);
    fprintf(o, "  flows: %llu tcp, %llu udp, %llu ipv6, %llu already open at start\n",
            (unsigned long long)st->tcp, (unsigned long long)st->udp, (unsigned long long)st->v6,
            (unsigned long long)st->midflow);
    fprintf(o, "  tcp ends: %llu fin, %llu rst, %llu refused; flows open at the end: %llu\n",
            (unsigned long long)st->finished, (unsigned long long)st->rst,
            (unsigned long long)st->refused, (unsigned long long)st->open);
    fprintf(o, "  mean packet %.0f bytes on the wire, capture spans %.1f s\n",
            st->pkts ? (double)(g.written - g.overhead) / (double)st->pkts : 0.0,
            (double)g.now_us / 1e6);
    fprintf(o,
            "  packets per flow: 1:%llu 2-3:%llu 4-10:%llu 11-30:%llu 31-100:%llu "
            "101-1k:%llu 1k-10k:%llu >10k:%llu\n",
            (unsigned long long)st->hist[0], (unsigned long long)st->hist[1],
            (unsigned long long)st->hist[2], (unsigned long long)st->hist[3],
            (unsigned long long)st->hist[4], (unsigned long long)st->hist[5],
            (unsigned long long)st->hist[6], (unsigned long long)st->hist[7]);
    free(g.pool);
    free(g.obuf);
    return 0;
}
