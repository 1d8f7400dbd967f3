/* libFuzzer target: wkp_defrag_add (reassembly/defrag.h), with
 * wkp_defrag_expire and wkp_defrag_flush.
 *
 * Input: 3 header bytes choose the limits: byte 0 max_pending (0: default,
 * else 1-32), byte 1 max_bytes (0: default, else n * 512), byte 2 bit 7
 * v6_drop_overlap and bits 0-6 the timeout (0: default, else n ms). Then
 * records, each starting with a kind byte:
 *   kind & 0xC0 == 0xC0: a raw frame: [dlt selector][len: 2 bytes][bytes];
 *   kind & 0xC0 == 0x80: wkp_defrag_expire() at the current time;
 *   otherwise a fragment built here (bit 0: IPv6, bit 1: MF, bit 2:
 *     Ethernet + VLAN instead of raw IP, bit 3: IPv6 hop-by-hop header,
 *     bit 4: cut the capture short, bit 5: IPv4 options),
 *     from [id: 1 byte][offset in 8-byte units: 2 bytes][len: 2 bytes]
 *     [time step in ms: 1 byte] and the payload bytes (taken from the input,
 *     zeros past its end).
 * Every frame is parsed with wkp_l2l4_parse; FLOW fragments go to
 * wkp_defrag_add as the reader does, FLOW non-fragments must PASS.
 *
 * Invariants: results are one of the four; every DONE output has
 * 0 < caplen <= wirelen, wirelen within 65535 + WKP_DEFRAG_MAX_HDR, nfrags
 * within [1, fragments taken so far] (repeats of a piece count in it, and
 * only distinct pieces are bounded), and its bytes readable (copied out and
 * parsed again); the counters balance after every call (frags_in = done +
 * merged + expired + evicted + oversized + invalid + pending), DONE and
 * taken fragments match the counters, pending stays within max_pending,
 * and a flush leaves nothing pending. */
#include "fuzz_common.h"

#include "dissectors/l2l4.h"
#include "reassembly/defrag.h"

#define MAX_RECORDS 512
#define MS          ((int64_t)1000000)

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void check_balance(const struct wkp_defrag *d, uint32_t max_pending, uint64_t taken,
                          uint64_t dones)
{
    struct wkp_defrag_stats s;
    wkp_defrag_stats(d, &s);
    uint64_t pf = wkp_defrag_pending_frags(d);
    FZ_CHECK(s.frags_in == s.datagrams_done + s.frags_merged + s.frags_expired + s.frags_evicted +
                               s.frags_oversized + s.frags_invalid + pf);
    FZ_CHECK(s.frags_in == taken);
    FZ_CHECK(s.datagrams_done == dones);
    FZ_CHECK(wkp_defrag_pending(d) <= max_pending);
    FZ_CHECK(wkp_defrag_pending(d) <= pf);
}

/* Build a fragment into f; returns its caplen, *dlt its link type. */
static uint32_t build(struct fz *z, uint8_t kind, uint8_t *f, int *dlt)
{
    bool v6 = kind & 1, mf = kind & 2, eth = kind & 4, hbh = kind & 8, cut = kind & 16,
         opts = kind & 32;
    uint32_t id = fz_u8(z);
    uint32_t off = fz_u16(z) & 0x1fff;
    uint32_t len = fz_u16(z) % 2048u;
    uint32_t n = 0;
    if (eth) {
        static const uint8_t macs[12] = {0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10};
        memcpy(f, macs, 12);
        put16(f + 12, 0x8100);
        put16(f + 14, id & 7); /* a VLAN id: part of the key */
        put16(f + 16, v6 ? 0x86dd : 0x0800);
        n = 18;
        *dlt = WKP_DLT_EN10MB;
    } else {
        *dlt = WKP_DLT_RAW;
    }
    uint8_t *ip = f + n;
    uint32_t hdr;
    if (!v6) {
        hdr = opts ? 24 : 20;
        memset(ip, 0, hdr);
        ip[0] = (uint8_t)(0x40 | hdr / 4);
        put16(ip + 2, hdr + len);
        put16(ip + 4, id);
        put16(ip + 6, (mf ? 0x2000u : 0) | off);
        ip[8] = 64;
        ip[9] = (kind & 0x40) ? 6 : 17;
        ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
        if (opts)
            ip[20] = 1, ip[21] = 1, ip[22] = 1, ip[23] = 0; /* NOPs, EOL */
    } else {
        uint32_t ext = hbh ? 16 : 8;
        hdr = 40 + ext;
        memset(ip, 0, hdr);
        ip[0] = 0x60;
        put16(ip + 4, ext + len);
        ip[6] = hbh ? 0 : 44;
        ip[7] = 64;
        ip[8] = 0x20, ip[23] = 1, ip[24] = 0x20, ip[39] = 2;
        uint8_t *x = ip + 40;
        if (hbh) {
            x[0] = 44;
            x[2] = 1;
            x[3] = 4;
            x += 8;
        }
        x[0] = (kind & 0x40) ? 6 : 17;
        put16(x + 2, off << 3 | (mf ? 1u : 0));
        x[7] = (uint8_t)id;
    }
    n += hdr;
    size_t got;
    const uint8_t *p = fz_bytes(z, len, &got);
    memcpy(f + n, p, got);
    memset(f + n + got, 0, len - got);
    n += len;
    if (cut && len > 0)
        n -= 1 + (len - 1) / 2;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz z = {data, size};
    struct wkp_defrag_limits lim = {0};
    uint8_t b0 = fz_u8(&z), b1 = fz_u8(&z), b2 = fz_u8(&z);
    lim.max_pending = b0 ? 1 + b0 % 32u : 0;
    lim.max_bytes = (uint32_t)b1 * 512u;
    lim.timeout_ns = (int64_t)(b2 & 0x7f) * MS;
    lim.v6_drop_overlap = b2 & 0x80;
    uint32_t max_pending = lim.max_pending ? lim.max_pending : 1024;

    struct wkp_defrag *d = wkp_defrag_new(&lim);
    FZ_CHECK(d != NULL);
    static uint8_t frame[18 + 56 + 2048 + 65536];
    int64_t ts = 1000 * MS;
    uint64_t taken = 0, dones = 0;
    for (int r = 0; r < MAX_RECORDS && fz_left(&z) > 0; r++) {
        uint8_t kind = fz_u8(&z);
        uint32_t caplen;
        int dlt;
        if ((kind & 0xC0) == 0x80) {
            wkp_defrag_expire(d, ts);
            check_balance(d, max_pending, taken, dones);
            continue;
        }
        if ((kind & 0xC0) == 0xC0) {
            dlt = fz_dlt(fz_u8(&z));
            size_t got;
            const uint8_t *p = fz_bytes(&z, fz_u16(&z), &got);
            memcpy(frame, p, got);
            caplen = (uint32_t)got;
        } else {
            caplen = build(&z, kind, frame, &dlt);
            ts += (int64_t)fz_u8(&z) * MS;
        }
        /* An exact-size copy, so that ASan sees reads past caplen. */
        uint8_t *copy = malloc(caplen ? caplen : 1);
        FZ_CHECK(copy != NULL);
        memcpy(copy, frame, caplen);
        struct wkp_l2l4 m;
        if (wkp_l2l4_parse(copy, caplen, dlt, &m) != WKP_PARSE_FLOW) {
            free(copy);
            continue;
        }
        struct wkp_defrag_frag fr = {copy, caplen, ts, dlt, &m};
        struct wkp_defrag_out out;
        memset(&out, 0xA5, sizeof out);
        int res = wkp_defrag_add(d, &fr, &out);
        free(copy);
        FZ_CHECK(res >= WKP_DEFRAG_PASS && res <= WKP_DEFRAG_INVALID);
        if (!m.is_fragment)
            FZ_CHECK(res == WKP_DEFRAG_PASS);
        if (res != WKP_DEFRAG_PASS)
            taken++;
        if (res == WKP_DEFRAG_DONE) {
            dones++;
            FZ_CHECK(out.data != NULL);
            FZ_CHECK(out.caplen > 0 && out.caplen <= out.wirelen);
            FZ_CHECK(out.wirelen <= 65535u + WKP_DEFRAG_MAX_HDR);
            FZ_CHECK(out.nfrags >= 1 && out.nfrags <= taken); /* repeats count, unbounded */
            FZ_CHECK(out.ts_ns == ts);
            FZ_CHECK(wkp_dlt_supported(out.dlt));
            uint8_t *o = malloc(out.caplen);
            FZ_CHECK(o != NULL);
            memcpy(o, out.data, out.caplen);
            struct wkp_l2l4 m2;
            if (wkp_l2l4_parse(o, out.caplen, out.dlt, &m2) == WKP_PARSE_FLOW)
                FZ_CHECK(m2.ip_len <= 65535u + 40u);
            free(o);
        }
        check_balance(d, max_pending, taken, dones);
    }
    wkp_defrag_flush(d);
    check_balance(d, max_pending, taken, dones);
    FZ_CHECK(wkp_defrag_pending(d) == 0 && wkp_defrag_pending_frags(d) == 0);
    wkp_defrag_free(d);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds from a capture: its IP fragments (up to 64) as raw records, under
 * default and tight limits. */
struct seedbuf {
    uint8_t buf[65536];
    size_t n, nfrag;
};

static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t i,
                     void *ctx)
{
    (void)wirelen, (void)i;
    struct seedbuf *s = ctx;
    struct wkp_l2l4 m;
    if (s->nfrag >= 64 || s->n + 4 + caplen > sizeof s->buf ||
        wkp_l2l4_parse(frame, caplen, dlt, &m) != WKP_PARSE_FLOW || !m.is_fragment)
        return;
    s->buf[s->n++] = 0xC0;
    s->buf[s->n++] = fz_dlt_sel(dlt);
    s->buf[s->n++] = (uint8_t)(caplen >> 8);
    s->buf[s->n++] = (uint8_t)caplen;
    memcpy(s->buf + s->n, frame, caplen);
    s->n += caplen;
    s->nfrag++;
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    static struct seedbuf s;
    s.n = 3;
    s.nfrag = 0;
    if (wkp_fuzz_each_record(data, size, seed_rec, &s) != 0) {
        emit(data, size); /* a corpus file */
        return;
    }
    if (s.nfrag == 0)
        return;
    memset(s.buf, 0, 3);
    emit(s.buf, s.n);
    s.buf[0] = 2, s.buf[1] = 4, s.buf[2] = 0x81;
    emit(s.buf, s.n);
}
#endif
