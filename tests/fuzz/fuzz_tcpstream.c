/* libFuzzer target: wkp_tcpstream_segment (reassembly/tcpstream.h), with
 * wkp_tcpstream_finish.
 *
 * Input: byte 0 picks the limit (low 3 bits: 0, 1, 16, 100, 1024, 4096,
 * 65536, 1 MiB) and bit 3 a shared budget of (byte 1 * 256) bytes for two
 * streams fed alternately (bit 4); bytes 2-5 are a base sequence number.
 * Then segments: [flags][seq][len: 2 bytes][cut: 1 byte]. The TCP flag
 * byte is passed as is, except that bit 5 (URG, unused by the reassembler)
 * selects a 4-byte absolute seq instead of a 2-byte offset from the base. len is taken modulo 4096;
 * the payload byte at sequence number s is PAT(s), so every copy of a byte is the same and the
 * stored stream can be checked; bytes [len, len + cut) were cut by the
 * snaplen. A flag byte of 0xFF calls wkp_tcpstream_finish() instead, 0xFE
 * wkp_tcpstream_consume() of half the stored bytes, rounded up.
 *
 * Invariants: buf_len <= buf_cap <= limit; at most GAP_MARKS markers, in
 * offset order, within buf_len; every stored byte is PAT(its sequence
 * number), counting the gaps and the FIN before it; dropped <= delivered; buf_len <=
 * delivered; held ranges <= WKP_TCPSTREAM_HELD, none after finish; the
 * budget is never exceeded and returns to zero when the streams are freed;
 * wkp_tcpstream_mem() counts at least the buffer. */
#include "fuzz_common.h"

#include "reassembly/tcpstream.h"

#define MAX_SEGMENTS 2048
#define PAT(s)       ((uint8_t)(((uint32_t)(s)*2654435761u) >> 24))

/* Where the check of one stream's stored bytes has got to: stored bytes
 * never change, so each byte is checked once. fin_off is the buffer offset
 * where the stream consumed its FIN (the bytes after it, if any, start one
 * sequence number later), UINT32_MAX if none. */
struct verify {
    uint32_t pos, seq, gi, fin_off;
    bool fin_done, consumed;
};

static void check(const struct wkp_tcpstream *s, const struct wkp_tcpstream_budget *b,
                  struct verify *v)
{
    FZ_CHECK(s->buf_len <= s->buf_cap);
    FZ_CHECK(s->buf_cap <= s->limit);
    FZ_CHECK(s->ngap <= WKP_TCPSTREAM_GAP_MARKS);
    const struct wkp_tcpstream_counters *c = wkp_tcpstream_counters(s);
    FZ_CHECK(c->dropped <= c->delivered);
    FZ_CHECK(s->buf_len <= c->delivered);
    FZ_CHECK(wkp_tcpstream_held(s) <= WKP_TCPSTREAM_HELD);
    FZ_CHECK(wkp_tcpstream_mem(s) >= s->buf_cap);
    if (b)
        FZ_CHECK(b->used <= b->cap);

    uint32_t len;
    const uint8_t *p = wkp_tcpstream_data(s, &len);
    FZ_CHECK(len == s->buf_len);
    FZ_CHECK(len == 0 || p != NULL);
    FZ_CHECK(v->pos <= len);
    const struct wkp_tcpstream_gap *g = wkp_tcpstream_gaps(s);
    uint32_t ng = wkp_tcpstream_ngaps(s), prev = 0;
    FZ_CHECK(ng == 0 || g != NULL);
    for (uint32_t i = 0; i < ng; i++) {
        FZ_CHECK(g[i].off >= prev && g[i].off <= len);
        prev = g[i].off;
    }
    if (v->pos == 0 && v->gi == 0 && !v->fin_done && !v->consumed)
        v->seq = s->isn;
    for (; v->pos < len; v->pos++) {
        while (v->gi < ng && g[v->gi].off == v->pos)
            v->seq += g[v->gi++].len;
        if (v->pos == v->fin_off && !v->fin_done) {
            v->seq++;
            v->fin_done = true;
        }
        if (p[v->pos] != PAT(v->seq)) {
            fprintf(stderr, "stream byte %u (seq %u, isn %u): %02x, want %02x\n", v->pos, v->seq,
                    s->isn, p[v->pos], PAT(v->seq));
            FZ_CHECK(p[v->pos] == PAT(v->seq));
        }
        v->seq++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t limits[8] = {0, 1, 16, 100, 1024, 4096, 65536, 1u << 20};
    struct fz z = {data, size};
    uint8_t b0 = fz_u8(&z), b1 = fz_u8(&z);
    uint32_t base = fz_u32(&z);
    struct wkp_tcpstream_budget budget = {.cap = (size_t)b1 * 256};
    struct wkp_tcpstream_budget *bp = (b0 & 8) ? &budget : NULL;
    bool two = b0 & 16;
    struct wkp_tcpstream st[2];
    /* both streams add to one counters struct, as a worker's do */
    struct wkp_tcpstream_counters counters = {0};
    wkp_tcpstream_init(&st[0], limits[b0 & 7], bp, &counters);
    wkp_tcpstream_init(&st[1], limits[(b0 >> 5) & 7], bp, &counters);
    static uint8_t payload[4096];
    struct verify ver[2] = {{.fin_off = UINT32_MAX}, {.fin_off = UINT32_MAX}};

    for (int i = 0; i < MAX_SEGMENTS && fz_left(&z) > 0; i++) {
        struct wkp_tcpstream *s = &st[two ? i & 1 : 0];
        uint8_t flags = fz_u8(&z);
        if (flags == 0xFF) {
#ifdef FZ_TRACE
            fprintf(stderr, "finish stream %d\n", (int)(s - st));
#endif
            wkp_tcpstream_finish(s);
            FZ_CHECK(wkp_tcpstream_held(s) == 0);
            check(s, bp, &ver[s - st]);
            continue;
        }
        if (flags == 0xFE) {
            /* every stored byte is verified first; then the verifier's
             * offsets move down with the buffer's */
            struct verify *v = &ver[s - st];
            check(s, bp, v);
            uint32_t n = (s->buf_len + 1) / 2, removed = 0;
            for (uint32_t g = 0; g < wkp_tcpstream_ngaps(s); g++)
                removed += wkp_tcpstream_gaps(s)[g].off < n;
            uint32_t before = s->buf_len;
            wkp_tcpstream_consume(s, n);
            FZ_CHECK(s->buf_len == before - n);
            v->pos -= n;
            v->gi -= removed;
            if (v->fin_off != UINT32_MAX && !v->fin_done)
                v->fin_off -= n;
            v->consumed = v->consumed || n > 0;
            check(s, bp, v);
            continue;
        }
        uint32_t seq = (flags & 0x20) ? fz_u32(&z) : base + fz_u16(&z);
        uint32_t len = fz_u16(&z) % 4096u;
        uint32_t cut = fz_u8(&z);
        for (uint32_t k = 0; k < len; k++)
            payload[k] = PAT(seq + ((flags & 0x02) ? 1u : 0u) + k);
        /* Exact-size copy: ASan sees a read past len. */
        uint8_t *pl = len ? malloc(len) : NULL;
        if (len) {
            FZ_CHECK(pl != NULL);
            memcpy(pl, payload, len);
        }
#ifdef FZ_TRACE
        fprintf(stderr, "seg %d stream %d: seq %u flags %02x len %u cut %u\n", i, (int)(s - st),
                seq, flags & ~0x20, len, cut);
#endif
        uint8_t had_fin = s->fin;
        wkp_tcpstream_segment(s, seq, (uint8_t)(flags & ~0x20), pl, len, len + cut);
        free(pl);
        if (!had_fin && s->fin)
            ver[s - st].fin_off = s->buf_len;
        check(s, bp, &ver[s - st]);
    }
    for (int k = 0; k < 2; k++) {
        wkp_tcpstream_finish(&st[k]);
        FZ_CHECK(wkp_tcpstream_held(&st[k]) == 0);
        check(&st[k], bp, &ver[k]);
    }
    wkp_tcpstream_fini(&st[0]);
    wkp_tcpstream_fini(&st[1]);
    if (bp)
        FZ_CHECK(budget.used == 0);
    wkp_spares_fini(&budget.spares); /* the buffers the streams gave back */
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds from a capture: the TCP segments of its first 512 packets, one
 * direction (the first TCP packet's source) as stream 0. */
#include "dissectors/l2l4.h"

struct seedbuf {
    uint8_t buf[65536];
    size_t n;
    int have;
    uint8_t src[16];
    uint16_t sport;
};

static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t i,
                     void *ctx)
{
    (void)wirelen;
    struct seedbuf *s = ctx;
    struct wkp_l2l4 m;
    if (i >= 512 || s->n + 8 > sizeof s->buf ||
        wkp_l2l4_parse(frame, caplen, dlt, &m) != WKP_PARSE_FLOW || m.proto != 6 || m.is_fragment)
        return;
    if (!s->have) {
        s->have = 1;
        memcpy(s->src, m.src, 16);
        s->sport = m.sport;
    } else if (memcmp(s->src, m.src, 16) != 0 || s->sport != m.sport) {
        return;
    }
    uint8_t *p = s->buf + s->n;
    uint32_t seg_len = m.trans_len > m.tcp_hlen ? m.trans_len - m.tcp_hlen : 0;
    p[0] = (uint8_t)(m.tcp_flags | 0x20);
    if (p[0] == 0xFF)
        p[0] = 0xFE;
    p[1] = (uint8_t)(m.tcp_seq >> 24), p[2] = (uint8_t)(m.tcp_seq >> 16);
    p[3] = (uint8_t)(m.tcp_seq >> 8), p[4] = (uint8_t)m.tcp_seq;
    p[5] = (uint8_t)(m.app_len >> 8), p[6] = (uint8_t)m.app_len;
    p[7] = (uint8_t)(seg_len > m.app_len ? (seg_len - m.app_len > 255 ? 255 : seg_len - m.app_len)
                                         : 0);
    s->n += 8;
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    static struct seedbuf s;
    memset(&s, 0, sizeof s);
    s.n = 6;
    if (wkp_fuzz_each_record(data, size, seed_rec, &s) != 0) {
        emit(data, size); /* a corpus file */
        return;
    }
    if (!s.have)
        return;
    s.buf[0] = 6; /* 65536 bytes */
    emit(s.buf, s.n);
    s.buf[0] = 3 | 8, s.buf[1] = 8; /* 100 bytes, 2 KiB budget */
    emit(s.buf, s.n);
}
#endif
