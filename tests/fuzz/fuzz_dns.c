/* libFuzzer target: the DNS dissector's callbacks (dissectors/dns.c).
 *
 * Input: byte 0 bit 0 picks the transport (1: TCP, the 2-byte length-
 * prefixed framing; 0: UDP, one message per chunk), bit 1 releases the
 * zeroed state once before the first chunk, then chunks of
 * [2 bytes: bit 15 direction, bits 0-14 length][bytes], at most 64 chunks;
 * a length past the end takes what is left.
 *
 * Invariants: the same input gives the same JSON and counters twice (the
 * state reads nothing uninitialised; its heap is freed by release, which
 * also takes a zeroed state, so a leak shows under ASan); the JSON is
 * empty or one object with balanced quotes and no raw control bytes; it is
 * written exactly when at least one message was counted; ext_protocol says
 * DNS then, nothing otherwise; the counters never exceed what was fed (a
 * message needs 12 bytes, so at most len/12 messages per chunk, plus one
 * per TCP chunk for the flush at finish). */
#include "fuzz_common.h"

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "dissectors/l2l4.h"
#include "util/blocks.h"

extern const struct wkp_dissector wkp_dissector_dns;

#define MAX_CHUNKS 64

struct run {
    uint64_t counters[WKP_DIS_MAX_COUNTERS];
    struct wkp_buf out;
    size_t next;
};

static void run_once(const uint8_t *data, size_t size, struct run *r)
{
    const struct wkp_dissector *d = &wkp_dissector_dns;
    struct fz z = {data, size};
    uint8_t mode = fz_u8(&z);
    memset(r->counters, 0, sizeof r->counters);
    void *ctx = calloc(1, d->worker_ctx_size);
    void *state = malloc(d->flow_state_size);
    FZ_CHECK(ctx && state);
    memset(state, 0, d->flow_state_size);
    if (mode & 2) { /* the engine releases a state parse never saw */
        d->release(ctx, state);
        memset(state, 0, d->flow_state_size);
    }
    struct wkp_blocks blocks = {0}; /* the stores carved as in a worker */
    struct wkp_dis_env env = {.counters = r->counters, .blocks = &blocks};
    FZ_CHECK(d->worker_init(ctx, &env) == 0);
    uint64_t bound = 0;
    for (int i = 0; i < MAX_CHUNKS && fz_left(&z) > 0; i++) {
        uint16_t h = fz_u16(&z);
        size_t n;
        const uint8_t *p = fz_bytes(&z, h & 0x7FFF, &n);
        struct wkp_dis_pkt pk = {
            .proto = (mode & 1) ? IPPROTO_TCP : IPPROTO_UDP,
            .dir = (uint8_t)(h >> 15),
            .payload = p,
            .payload_len = (uint32_t)n,
        };
        struct wkp_cur c = {.p = p, .len = (uint32_t)n};
        FZ_CHECK(d->parse(ctx, state, &pk, &c) == WKP_DIS_MORE);
        bound += n / 12 + 1 + ((mode & 1) ? n / 2 : 0);
    }
    d->finish(ctx, state);
    bound += 2;
    r->out.len = 0;
    d->write(state, &r->out);
    const char *names[4];
    size_t next = d->ext_protocol(state, names, 4);
    FZ_CHECK(r->counters[0] <= bound); /* messages */
    FZ_CHECK((r->out.len > 0) == (r->counters[0] > 0));
    FZ_CHECK(next == (r->counters[0] > 0 ? 1u : 0u));
    if (next)
        FZ_CHECK(strcmp(names[0], "DNS") == 0);
    fz_check_json_object(r->out.p, r->out.len);
    d->release(ctx, state);
    wkp_blocks_fini(&blocks);
    free(ctx);
    free(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run a, b;
    run_once(data, size, &a);
    run_once(data, size, &b);
    fz_same_runs(a.out.p, a.out.len, b.out.p, b.out.len, a.counters, b.counters,
                 sizeof a.counters);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds from a capture: each UDP or TCP payload on port 53, 5353 or 5355
 * as a one-chunk input, and as TCP in 3-byte segments. */
static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t i,
                     void *ctx)
{
    (void)wirelen;
    (void)i;
    wkp_fuzz_emit_fn emit = (wkp_fuzz_emit_fn)(uintptr_t)ctx;
    struct wkp_l2l4 m;
    if (wkp_l2l4_parse(frame, caplen, dlt, &m) != WKP_PARSE_FLOW || m.app_len == 0 ||
        m.app_len > 0x7FFF || (m.proto != IPPROTO_UDP && m.proto != IPPROTO_TCP))
        return;
    static const uint16_t ports[] = {53, 5353, 5355};
    bool ours = false;
    for (size_t k = 0; k < 3; k++)
        ours |= m.sport == ports[k] || m.dport == ports[k];
    if (!ours)
        return;
    const uint8_t *app = frame + m.app_off;
    uint32_t n = m.app_len;
    uint8_t *buf = malloc(1u + 3u * n + 3u);
    FZ_CHECK(buf);
    buf[0] = m.proto == IPPROTO_TCP;
    buf[1] = (uint8_t)(n >> 8);
    buf[2] = (uint8_t)n;
    memcpy(buf + 3, app, n);
    emit(buf, 3u + n);
    size_t k = 1;
    buf[0] = 1;
    for (uint32_t off = 0; off < n; off += 3) {
        uint32_t c = n - off < 3 ? n - off : 3;
        buf[k++] = 0;
        buf[k++] = (uint8_t)c;
        memcpy(buf + k, app + off, c);
        k += c;
    }
    emit(buf, k);
    free(buf);
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    if (wkp_fuzz_each_record(data, size, seed_rec, (void *)(uintptr_t)emit) != 0)
        emit(data, size); /* a corpus file: already in the input format */
}
#endif
