/* libFuzzer target: the DHCPv6 dissector's callbacks (dissectors/dhcpv6.c).
 *
 * Input: datagrams of [2 bytes: length][bytes], at most 64; a length past
 * the end takes what is left. Each is fed to parse() as one UDP payload.
 *
 * Invariants: the same input gives the same JSON and counters twice (the
 * state holds no pointer into the input and reads nothing uninitialised);
 * the JSON is empty or one object with balanced quotes and no raw control
 * bytes; it is written exactly when a message was read; every datagram
 * that is not empty is accounted for: it gives at most one message (the
 * innermost of its relays), and counts as a message or as truncated (a
 * message cut inside its options is both); at most one relayed per
 * datagram; release() frees all the heap (the leak checker sees the rest). */
#include "fuzz_common.h"

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "dissectors/l2l4.h"

extern const struct wkp_dissector wkp_dissector_dhcpv6;

#define MAX_DATAGRAMS 64

/* counters, in the order of counter_names */
enum { MESSAGES, RELAYED, TRUNCATED };

struct run {
    uint64_t counters[WKP_DIS_MAX_COUNTERS];
    struct wkp_buf out;
};

static void run_once(const uint8_t *data, size_t size, struct run *r)
{
    const struct wkp_dissector *d = &wkp_dissector_dhcpv6;
    struct fz z = {data, size};
    memset(r->counters, 0, sizeof r->counters);
    void *ctx = calloc(1, d->worker_ctx_size);
    void *state = calloc(1, d->flow_state_size);
    FZ_CHECK(ctx && state);
    struct wkp_dis_env env = {.counters = r->counters};
    FZ_CHECK(d->worker_init(ctx, &env) == 0);
    uint64_t fed = 0;
    for (int i = 0; i < MAX_DATAGRAMS && fz_left(&z) > 0; i++) {
        size_t n;
        const uint8_t *p = fz_bytes(&z, fz_u16(&z), &n);
        struct wkp_dis_pkt pk = {.proto = IPPROTO_UDP, .payload = p, .payload_len = (uint32_t)n};
        struct wkp_cur c = {.p = p, .len = (uint32_t)n};
        FZ_CHECK(d->parse(ctx, state, &pk, &c) == WKP_DIS_MORE);
        fed += n > 0;
    }
    r->out.len = 0;
    d->write(state, &r->out);
    fz_check_json_object(r->out.p, r->out.len);
    const uint64_t *k = r->counters;
    FZ_CHECK(k[MESSAGES] <= fed && k[RELAYED] <= fed && k[TRUNCATED] <= fed);
    FZ_CHECK(k[MESSAGES] + k[TRUNCATED] >= fed);
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
    fz_same_runs(a.out.p, a.out.len, b.out.p, b.out.len, a.counters, b.counters,
                 sizeof a.counters);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds from a capture: each UDP payload on port 546 or 547 as a one-datagram
 * input. */
static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t i,
                     void *ctx)
{
    (void)wirelen;
    (void)i;
    wkp_fuzz_emit_fn emit = (wkp_fuzz_emit_fn)(uintptr_t)ctx;
    struct wkp_l2l4 m;
    if (wkp_l2l4_parse(frame, caplen, dlt, &m) != WKP_PARSE_FLOW || m.app_len == 0 ||
        m.app_len > 0xFFFF || m.proto != IPPROTO_UDP)
        return;
    if (m.sport != 546 && m.sport != 547 && m.dport != 546 && m.dport != 547)
        return;
    uint8_t *buf = malloc(2u + m.app_len);
    FZ_CHECK(buf);
    buf[0] = (uint8_t)(m.app_len >> 8);
    buf[1] = (uint8_t)m.app_len;
    memcpy(buf + 2, frame + m.app_off, m.app_len);
    emit(buf, 2u + m.app_len);
    free(buf);
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    if (wkp_fuzz_each_record(data, size, seed_rec, (void *)(uintptr_t)emit) != 0)
        emit(data, size); /* a corpus file: already in the input format */
}
#endif
