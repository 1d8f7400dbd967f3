/* libFuzzer target: the http dissector (dissectors/http.c): probe, then
 * parse on a script of stream chunks, write and ext_protocol.
 *
 * Input: byte 0 bit 0 is probe()'s port_match. Then chunks:
 * [ctl][len: 2 bytes] and len bytes (fewer at the end of the input); ctl
 * bit 0 is the direction, bit 1 the gap flag. At most 4096 chunks.
 *
 * The script runs twice on fresh states: each chunk whole, then each
 * split in two at a point taken from its length (the gap flag on the
 * first piece). Invariants: the record, the counters and the last answer
 * are the same both ways (a line or a body cut anywhere parses alike);
 * no parse after DONE or NOT_MINE; the record is empty or one object with
 * no raw control byte; ext_protocol names HTTP exactly when there is a
 * record. */
#include "fuzz_common.h"

#include <netinet/in.h>

#include "dissectors/dissector.h"

extern const struct wkp_dissector wkp_dissector_http;

#define MAX_CHUNKS 4096

struct run {
    uint64_t counters[WKP_DIS_MAX_COUNTERS];
    const char *options[WKP_DIS_MAX_OPTIONS];
    struct wkp_dis_env env;
    void *ctx, *state;
    enum wkp_dis_result last;
    struct wkp_buf out;
};

static void run_init(struct run *r)
{
    const struct wkp_dissector *d = &wkp_dissector_http;
    memset(r, 0, sizeof *r);
    r->env.counters = r->counters;
    r->env.option_values = r->options;
    r->ctx = calloc(1, d->worker_ctx_size);
    r->state = calloc(1, d->flow_state_size);
    FZ_CHECK(r->ctx && r->state);
    FZ_CHECK(d->worker_init(r->ctx, &r->env) == 0);
    r->last = WKP_DIS_MORE;
}

static void run_fini(struct run *r)
{
    wkp_dissector_http.release(r->ctx, r->state); /* as the engine does, whatever the answer */
    free(r->ctx);
    free(r->state);
    wkp_buf_free(&r->out);
}

static void feed(struct run *r, uint8_t ctl, const uint8_t *p, size_t n)
{
    if (r->last != WKP_DIS_MORE)
        return; /* the engine stops calling */
    struct wkp_dis_pkt pk = {.proto = IPPROTO_TCP,
                             .dir = ctl & 1,
                             .gap = (ctl >> 1) & 1,
                             .payload = p,
                             .payload_len = (uint32_t)n};
    struct wkp_cur c;
    wkp_cur_init(&c, p, (uint32_t)n);
    r->last = wkp_dissector_http.parse(r->ctx, r->state, &pk, &c);
    FZ_CHECK(r->last == WKP_DIS_MORE || r->last == WKP_DIS_DONE || r->last == WKP_DIS_NOT_MINE);
}

static void finish(struct run *r)
{
    if (r->last == WKP_DIS_NOT_MINE)
        return; /* the engine gives the state back: no write */
    wkp_dissector_http.write(r->state, &r->out);
    FZ_CHECK(!r->out.oom);
    const char *names[4];
    size_t n = wkp_dissector_http.ext_protocol(r->state, names, 4);
    FZ_CHECK(n == (r->out.len ? 1u : 0u));
    if (n)
        FZ_CHECK(strcmp(names[0], "HTTP") == 0);
    fz_check_json_object(r->out.p, r->out.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz z = {data, size};
    bool port_match = fz_u8(&z) & 1;
    const struct wkp_dissector *d = &wkp_dissector_http;
    static struct run a, b;
    run_init(&a);
    run_init(&b);
    bool first = true;
    for (int i = 0; i < MAX_CHUNKS && fz_left(&z) >= 3; i++) {
        uint8_t ctl = fz_u8(&z);
        size_t want = fz_u16(&z), got;
        const uint8_t *p = fz_bytes(&z, want, &got);
        if (first && got) {
            struct wkp_dis_pkt pk = {
                .proto = IPPROTO_TCP, .payload = p, .payload_len = (uint32_t)got};
            (void)d->probe(a.ctx, &pk, WKP_APP_FULL, port_match);
            first = false;
        }
        feed(&a, ctl, p, got);
        size_t cut = got ? (got * 7 + 3) % (got + 1) : 0;
        feed(&b, ctl, p, cut);
        feed(&b, ctl & 1, p + cut, got - cut);
    }
    FZ_CHECK(a.last == b.last);
    FZ_CHECK(memcmp(a.counters, b.counters, sizeof a.counters) == 0);
    finish(&a);
    finish(&b);
    FZ_CHECK(a.out.len == b.out.len);
    FZ_CHECK(a.out.len == 0 || memcmp(a.out.p, b.out.p, a.out.len) == 0);
    run_fini(&a);
    run_fini(&b);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds from a capture: the TCP payloads of its first 512 packets, each
 * one chunk, direction 0 for the first TCP packet's source. */
#include "dissectors/l2l4.h"

struct seedbuf {
    uint8_t buf[1 << 18];
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
        m.is_fragment || m.app_len == 0 || m.app_len > 0xFFFF ||
        (uint64_t)m.app_off + m.app_len > caplen || s->n + 3 + m.app_len > sizeof s->buf)
        return;
    if (!s->have) {
        s->have = 1;
        memcpy(s->src, m.src, 16);
        s->sport = m.sport;
    }
    uint8_t *p = s->buf + s->n;
    p[0] = memcmp(s->src, m.src, 16) != 0 || s->sport != m.sport;
    p[1] = (uint8_t)(m.app_len >> 8), p[2] = (uint8_t)m.app_len;
    memcpy(p + 3, frame + m.app_off, m.app_len);
    s->n += 3 + m.app_len;
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
    s.buf[0] = 1;
    emit(s.buf, s.n);
}
#endif
