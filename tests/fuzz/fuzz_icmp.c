/* libFuzzer target: the ICMP dissector's callbacks (dissectors/icmp.c).
 *
 * Input: messages of [1 byte: low bit 0 ICMP, 1 ICMPv6][2 bytes: length]
 * [bytes], at most 64; a length past the end takes what is left. Each is
 * fed to parse() as one packet's ICMP message.
 *
 * Invariants: the same input gives the same JSON and counters twice (the
 * state holds no pointer into the input and reads nothing uninitialised);
 * the JSON is empty or one object with balanced quotes and no raw control
 * bytes; it is written exactly when a message was read; every message is
 * accounted for: each one of 4 bytes or more is a message, a shorter one is
 * truncated; parse() never gives a flow up; release() frees all the heap
 * (the leak checker sees the rest). */
#include "fuzz_common.h"

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "dissectors/l2l4.h"

extern const struct wkp_dissector wkp_dissector_icmp;

#define MAX_MESSAGES 64

/* counters, in the order of counter_names */
enum { MESSAGES, TRUNCATED, CAPPED };

struct run {
    uint64_t counters[WKP_DIS_MAX_COUNTERS];
    struct wkp_buf out;
};

static void run_once(const uint8_t *data, size_t size, struct run *r)
{
    const struct wkp_dissector *d = &wkp_dissector_icmp;
    struct fz z = {data, size};
    memset(r->counters, 0, sizeof r->counters);
    void *ctx = calloc(1, d->worker_ctx_size);
    void *state = calloc(1, d->flow_state_size);
    FZ_CHECK(ctx && state);
    struct wkp_dis_env env = {.counters = r->counters};
    FZ_CHECK(d->worker_init(ctx, &env) == 0);
    uint64_t fed = 0, short_ones = 0;
    for (int i = 0; i < MAX_MESSAGES && fz_left(&z) > 0; i++) {
        uint8_t proto = (fz_u8(&z) & 1) ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
        size_t n;
        const uint8_t *p = fz_bytes(&z, fz_u16(&z), &n);
        struct wkp_dis_pkt pk = {.proto = proto, .payload = p, .payload_len = (uint32_t)n};
        struct wkp_cur c = {.p = p, .len = (uint32_t)n};
        FZ_CHECK(d->parse(ctx, state, &pk, &c) == WKP_DIS_MORE);
        fed++;
        short_ones += n < 4;
    }
    r->out.len = 0;
    d->write(state, &r->out);
    fz_check_json_object(r->out.p, r->out.len);
    const uint64_t *k = r->counters;
    FZ_CHECK(k[MESSAGES] + short_ones == fed);
    FZ_CHECK(k[TRUNCATED] >= short_ones && k[TRUNCATED] <= fed);
    FZ_CHECK((r->out.len > 0) == (k[MESSAGES] > 0));
    FZ_CHECK(d->ext_protocol == NULL);
    d->release(ctx, state);
    free(ctx);
    free(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run a, b;
    run_once(data, size, &a);
    run_once(data, size, &b);
    fz_same_runs(a.out.p, a.out.len, b.out.p, b.out.len, a.counters, b.counters, sizeof a.counters);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds from a capture: each ICMP or ICMPv6 message as a one-message input. */
static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t i,
                     void *ctx)
{
    (void)wirelen;
    (void)i;
    wkp_fuzz_emit_fn emit = (wkp_fuzz_emit_fn)(uintptr_t)ctx;
    struct wkp_l2l4 m;
    if (wkp_l2l4_parse(frame, caplen, dlt, &m) != WKP_PARSE_FLOW ||
        (m.proto != IPPROTO_ICMP && m.proto != IPPROTO_ICMPV6) || m.l3_end <= m.l4_off ||
        m.l3_end - m.l4_off > 0xFFFF)
        return;
    uint32_t n = m.l3_end - m.l4_off;
    uint8_t *buf = malloc(3u + n);
    FZ_CHECK(buf);
    buf[0] = m.proto == IPPROTO_ICMPV6;
    buf[1] = (uint8_t)(n >> 8);
    buf[2] = (uint8_t)n;
    memcpy(buf + 3, frame + m.l4_off, n);
    emit(buf, 3u + n);
    free(buf);
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    if (wkp_fuzz_each_record(data, size, seed_rec, (void *)(uintptr_t)emit) != 0)
        emit(data, size); /* a corpus file: already in the input format */
}
#endif
