/* libFuzzer target: wkp_filter_compile (+ _combined) and wkp_filter_packet
 * (filter/filter.h).
 *
 * Input: byte 0 flags (bit 0: compat, bit 1: combine with the default filter,
 * bits 2-7: size of the wkp_filter_dump buffer), then the expression up to
 * the first '\n' (at most 256 bytes), then frames, each as
 * [link type selector][length: 2 bytes BE][bytes] (at most 64 frames).
 *
 * Invariants: compile either succeeds with a filter or fails with *out
 * untouched and one non-empty line in err; wkp_filter_dump truncates like
 * snprintf and is stable; a filter with no packet terms passes every
 * packet; wkp_filter_packet gives the same answer twice; a filter with no
 * flow terms passes every flow. */
#include "fuzz_common.h"

#include "dissectors/l2l4.h"
#include "filter/filter.h"

#include <dlfcn.h>
#include <netdb.h>

#define MAX_EXPR 256

/* libpcap resolves `host NAME` and `gateway NAME` with getaddrinfo() /
 * gethostbyname(): a DNS query that waits seconds for an answer in a
 * sandbox. These definitions take precedence over libc's for libpcap too,
 * and make host names numeric-only, so the fuzzer spends no time on the
 * network; an unknown name is then the usual compile error. */
__attribute__((visibility("default"))) int getaddrinfo(const char *node, const char *service,
                                                       const struct addrinfo *hints,
                                                       struct addrinfo **res)
{
    typedef int (*fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    static fn real;
    if (real == NULL)
        real = (fn)(uintptr_t)dlsym(RTLD_NEXT, "getaddrinfo");
    FZ_CHECK(real != NULL);
    struct addrinfo h = {0};
    if (hints)
        h = *hints;
    h.ai_flags |= AI_NUMERICHOST;
    return real(node, service, &h, res);
}

__attribute__((visibility("default"))) struct hostent *gethostbyname(const char *name)
{
    (void)name;
    h_errno = HOST_NOT_FOUND;
    return NULL;
}
#define MAX_FRAMES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz z = {data, size};
    uint8_t flags = fz_u8(&z);
    char expr[MAX_EXPR + 1];
    size_t k = 0;
    while (fz_left(&z) && k < MAX_EXPR) {
        uint8_t c = fz_u8(&z);
        if (c == '\n')
            break;
        expr[k++] = (char)c;
    }
    expr[k] = '\0';

    struct wkp_filter *f = (struct wkp_filter *)(uintptr_t)1;
    wkp_errbuf err = {{0}};
    wkp_status st = (flags & 2) ? wkp_filter_compile_combined(WKP_DEFAULT_FILTER, expr, &f, &err)
                                : wkp_filter_compile(expr, &f, &err);
    if (st != WKP_OK) {
        FZ_CHECK(st == WKP_EINVAL || st == WKP_ENOMEM);
        FZ_CHECK(f == (struct wkp_filter *)(uintptr_t)1);
        FZ_CHECK(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg) != NULL);
        FZ_CHECK(strchr(err.msg, '\n') == NULL);
        return 0;
    }
    FZ_CHECK(f != NULL);
    wkp_filter_set_compat(f, flags & 1);

    char small[64], full[4096];
    size_t dn = (size_t)(flags >> 2);
    size_t need = wkp_filter_dump(f, small, dn);
    if (dn > 0)
        FZ_CHECK(strlen(small) == (need < dn ? need : dn - 1));
    size_t need2 = wkp_filter_dump(f, full, sizeof full);
    FZ_CHECK(need2 == need);
    if (need < sizeof full) {
        FZ_CHECK(strlen(full) == need);
        if (dn > 0)
            FZ_CHECK(strncmp(small, full, dn - 1) == 0);
    }

    bool has_packet = wkp_filter_has_packet_terms(f), has_flow = wkp_filter_has_flow_terms(f);
    for (unsigned bits = 0; bits < 16; bits++) {
        bool r = wkp_filter_flow_match(f, bits * 0x11111111u);
        if (!has_flow)
            FZ_CHECK(r);
    }

    for (int i = 0; i < MAX_FRAMES && fz_left(&z) >= 3; i++) {
        int dlt = fz_dlt(fz_u8(&z));
        size_t n;
        const uint8_t *frame = fz_bytes(&z, fz_u16(&z), &n);
        struct wkp_l2l4 m;
        (void)wkp_l2l4_parse(frame, (uint32_t)n, dlt, &m);
        uint32_t wirelen = (uint32_t)n + (i & 1 ? 0 : (uint32_t)i);
        bool r = wkp_filter_packet(f, frame, (uint32_t)n, wirelen, dlt, &m);
        const char *why = wkp_filter_error(f);
        if (!r && why) {
            FZ_CHECK(why[0] != '\0');
            break; /* the reader stops the run here */
        }
        if (!has_packet)
            FZ_CHECK(r);
        FZ_CHECK(wkp_filter_packet(f, frame, (uint32_t)n, wirelen, dlt, &m) == r);
    }
    wkp_filter_free(f);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds from a capture: its first frames under each of these expressions. */
static const char *const exprs[] = {
    "",
    "tcp",
    "not tls and not dns",
    "ether host 02:00:00:00:00:01 or vlan",
    "(tcp and vlan) and port 443 and udp",
    "(tcp[12] & 0xf0) >> 2 > 20",
    "arp and vlan 9 and udp port 4789",
    "dhcpv6 or gre or geneve or vlan",
    "ether[12:2] = 0x0800 and host 10.0.0.2",
    "gre and icmp",
    "icmp6 and ip6",
    "icmp[0] = 8 and vlan",
    "ip proto gre or arp host 10.0.0.1",
    "mpls 17 and mpls 16",
    "not (tls or dns) and tcp",
    "not icmp && !arp || mpls 16",
    "not vlan 100 and (port 80 or 443)",
    "port 443 and quic and not http",
    "tcp and (port 80 or 443) and not host 10.0.0.1",
    "vxlan 16 or geneve 7 or icmpv6",
    "tcp and (vlan or gre",
    "vlan 5000",
};

struct seedbuf {
    uint8_t buf[16384];
    size_t n;
};

static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t i,
                     void *ctx)
{
    (void)wirelen;
    struct seedbuf *s = ctx;
    if (i >= 8 || s->n + 3 + caplen > sizeof s->buf || caplen > 0xffff)
        return;
    s->buf[s->n++] = fz_dlt_sel(dlt);
    s->buf[s->n++] = (uint8_t)(caplen >> 8);
    s->buf[s->n++] = (uint8_t)caplen;
    memcpy(s->buf + s->n, frame, caplen);
    s->n += caplen;
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    static struct seedbuf frames;
    frames.n = 0;
    if (wkp_fuzz_each_record(data, size, seed_rec, &frames) != 0) {
        emit(data, size); /* a corpus file */
        return;
    }
    static uint8_t in[16384 + MAX_EXPR + 2];
    static unsigned which;
    for (size_t e = 0; e < sizeof exprs / sizeof exprs[0]; e += 4) {
        const char *x = exprs[(e + which++) % (sizeof exprs / sizeof exprs[0])];
        size_t xl = strlen(x);
        in[0] = (uint8_t)((which & 3) | 0xfc);
        memcpy(in + 1, x, xl);
        in[1 + xl] = '\n';
        memcpy(in + 2 + xl, frames.buf, frames.n);
        emit(in, 2 + xl + frames.n);
    }
}
#endif
