/* libFuzzer target: the TLS dissector (dissectors/tls.c) through its
 * callbacks, and the hello parser and fingerprints (dissectors/tls_hello.h).
 *
 * Input: byte 0 sets the options (bit 0 tls.cert_der, bit 1 tls.ja4_raw).
 * Then chunks: [control][length: 2 bytes][bytes], control bit 0 the
 * direction and bit 1 the gap flag; a length past the input takes what is
 * left. Each chunk goes to parse() in an exact-size heap copy (ASan sees a
 * read past it) until parse answers DONE or NOT_MINE; then finish, write,
 * ext_protocol, release, as the engine does. Then the bytes after byte 0
 * are parsed as a ClientHello and a ServerHello body and fingerprinted.
 *
 * Invariants: what write() appends is empty or one JSON object (brackets
 * balanced outside strings, no raw control character in a string);
 * ext_protocol names "TLS" and at most "HTTPS" after it; the hello's kept
 * counts stay within their caps; JA3 is 32 hex digits, JA4 36 characters
 * with '_' at 10 and 23, the same through a fingerprint hasher as without;
 * the text functions never write past cap. */
#include "fuzz_common.h"

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "dissectors/tls_hello.h"
#include "util/blocks.h"

extern const struct wkp_dissector wkp_dissector_tls;
#define D wkp_dissector_tls

#define MAX_CHUNKS 512

static void check_hello(const struct wkp_tls_hello *h)
{
    FZ_CHECK(h->nsuites <= WKP_TLS_MAX_SUITES && h->nsuites <= h->nsuites_seen);
    FZ_CHECK(h->nsuites_real <= h->nsuites_seen);
    FZ_CHECK(h->nexts <= WKP_TLS_MAX_EXTS && h->nexts <= h->nexts_seen);
    FZ_CHECK(h->ngroups <= WKP_TLS_MAX_GROUPS && h->nsigalgs <= WKP_TLS_MAX_SIGALGS);
    FZ_CHECK(h->nversions <= WKP_TLS_MAX_VERSIONS && h->npformats <= WKP_TLS_MAX_PFORMATS);
    FZ_CHECK(h->nalpn <= WKP_TLS_MAX_ALPN && h->session_id_len <= WKP_TLS_SESSION_ID);
    for (unsigned i = 0; i < h->nalpn; i++)
        FZ_CHECK(h->alpn_len[i] >= 1 && h->alpn_len[i] <= WKP_TLS_ALPN_LEN);
    /* one hasher for the whole run, as a worker keeps one: its remembered
     * digests must give what the one-shot ones give */
    static struct wkp_tls_fp *fp;
    if (!fp)
        fp = wkp_tls_fp_new();
    char ja3[33], ja4[37], text[WKP_TLS_FP_TEXT], small[17], again[37];
    wkp_tls_ja3(h, NULL, ja3);
    FZ_CHECK(strlen(ja3) == 32 && strspn(ja3, "0123456789abcdef") == 32);
    wkp_tls_ja3(h, fp, again);
    FZ_CHECK(strcmp(again, ja3) == 0);
    for (int original = 0; original < 2; original++) {
        wkp_tls_ja4(h, 't', original, NULL, ja4);
        FZ_CHECK(strlen(ja4) == 36 && ja4[10] == '_' && ja4[23] == '_');
        wkp_tls_ja4(h, 't', original, fp, again);
        FZ_CHECK(strcmp(again, ja4) == 0);
        size_t n = wkp_tls_ja4_raw(h, 'q', original, text, sizeof text);
        FZ_CHECK(n == strlen(text) && n < sizeof text);
        memset(small, 'x', sizeof small);
        n = wkp_tls_ja4_raw(h, 'q', original, small, 16);
        FZ_CHECK(n <= 15 && small[n] == '\0' && small[16] == 'x');
    }
    size_t n = wkp_tls_ja3_text(h, text, sizeof text);
    FZ_CHECK(n == strlen(text));
    n = wkp_tls_ja3s_text(h, small, 8);
    FZ_CHECK(n <= 7 && small[n] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void *ctx, *st;
    static uint64_t counters[WKP_DIS_MAX_COUNTERS];
    static const char *opts[WKP_DIS_MAX_OPTIONS];
    static struct wkp_blocks blocks; /* kept hellos carved as in a worker */
    static struct wkp_dis_env env = {
        .counters = counters, .option_values = opts, .blocks = &blocks};
    if (!ctx) {
        ctx = calloc(1, D.worker_ctx_size);
        FZ_CHECK(ctx && D.worker_init(ctx, &env) == 0);
    }
    st = calloc(1, D.flow_state_size); /* zeroed, as the engine's pool gives it */
    FZ_CHECK(st != NULL);

    struct fz z = {data, size};
    uint8_t o = fz_u8(&z);
    opts[0] = (o & 1) ? "1" : NULL;
    opts[1] = (o & 2) ? "1" : NULL;
    const uint8_t *rest = z.p;
    size_t rest_n = z.n;

    enum wkp_dis_result r = WKP_DIS_MORE;
    for (int i = 0; i < MAX_CHUNKS && fz_left(&z) > 0 && r == WKP_DIS_MORE; i++) {
        uint8_t ctl = fz_u8(&z);
        size_t got;
        const uint8_t *p = fz_bytes(&z, fz_u16(&z), &got);
        uint8_t *copy = malloc(got ? got : 1);
        FZ_CHECK(copy != NULL);
        memcpy(copy, p, got);
        struct wkp_dis_pkt pk = {
            .proto = IPPROTO_TCP,
            .dir = ctl & 1,
            .flow_sport = 50000,
            .flow_dport = 443,
            .payload = copy,
            .payload_len = (uint32_t)got,
            .gap = (ctl & 2) != 0,
        };
        struct wkp_cur c;
        wkp_cur_init(&c, copy, (uint32_t)got);
        r = D.parse(ctx, st, &pk, &c);
        free(copy);
    }
    if (r != WKP_DIS_NOT_MINE) {
        D.finish(ctx, st);
        struct wkp_buf b = {0};
        D.write(st, &b);
        FZ_CHECK(!b.oom);
        fz_check_json_object(b.p, b.len);
        wkp_buf_free(&b);
        const char *names[4];
        size_t n = D.ext_protocol(st, names, 4);
        FZ_CHECK(n <= 2);
        if (n)
            FZ_CHECK(strcmp(names[0], "TLS") == 0);
        if (n == 2)
            FZ_CHECK(strcmp(names[1], "HTTPS") == 0);
    }
    D.release(ctx, st);
    free(st);

    static struct wkp_tls_hello h;
    for (uint8_t type = 1; type <= 2; type++) {
        enum wkp_tls_hello_status s = wkp_tls_hello_parse(type, rest, (uint32_t)rest_n, &h);
        FZ_CHECK(s == WKP_TLS_HELLO_OK || s == WKP_TLS_HELLO_SHORT || s == WKP_TLS_HELLO_BAD);
        check_hello(&h);
    }
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds from a capture: the TCP payloads of its first 512 packets as
 * chunks, direction 0 for the first TCP packet's source. */
#include "dissectors/l2l4.h"

struct seedbuf {
    uint8_t buf[1 << 17];
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
    if (i >= 512 || wkp_l2l4_parse(frame, caplen, dlt, &m) != WKP_PARSE_FLOW || m.proto != 6 ||
        m.is_fragment || m.app_len == 0 || s->n + 3 + m.app_len > sizeof s->buf ||
        m.app_off + m.app_len > caplen)
        return;
    if (!s->have) {
        s->have = 1;
        memcpy(s->src, m.src, 16);
        s->sport = m.sport;
    }
    uint8_t *p = s->buf + s->n;
    p[0] = (memcmp(s->src, m.src, 16) != 0 || s->sport != m.sport) ? 1 : 0;
    p[1] = (uint8_t)(m.app_len >> 8);
    p[2] = (uint8_t)m.app_len;
    memcpy(p + 3, frame + m.app_off, m.app_len);
    s->n += 3u + m.app_len;
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    static struct seedbuf s;
    memset(&s, 0, sizeof s);
    s.n = 1;
    if (wkp_fuzz_each_record(data, size, seed_rec, &s) != 0) {
        emit(data, size); /* a corpus file */
        return;
    }
    if (!s.have)
        return;
    s.buf[0] = 0;
    emit(s.buf, s.n);
    s.buf[0] = 3; /* both options */
    emit(s.buf, s.n);
}
#endif
