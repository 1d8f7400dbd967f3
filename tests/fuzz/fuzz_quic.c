/* libFuzzer target: the QUIC dissector's callbacks (dissectors/quic.c)
 * and, through them, the Initial decryption (dissectors/quic_crypto.c).
 *
 * Input: byte 0 bit 0 picks the mode, then chunks of [2 bytes: bit 15
 * direction, bits 0-14 length][bytes], at most 64 chunks; a length past
 * the end takes what is left.
 *   mode 0: each chunk is one UDP payload, as on the wire.
 *   mode 1: each chunk (at most 1400 bytes) is the plaintext payload of a
 *   QUIC v1 Initial sealed here, so the frame walker, the CRYPTO
 *   reassembly and the hello parsers see fuzzed bytes past the AEAD:
 *   direction 0 is the client (DCID 8394c8f03e515708, client keys),
 *   direction 1 the server (SCID f067a5502a4262b5, server keys from the
 *   same DCID); packet number = chunk index.
 *
 * Invariants: the same input gives the same JSON and counters twice (no
 * state read uninitialised, no pointer kept into the input); the JSON is
 * empty or one object with balanced quotes and no raw control bytes, and
 * is written exactly when ext_protocol says QUIC; Initials opened never
 * exceed the chunks fed; release() frees what the state owns (the leak
 * checker of the sanitizer builds sees the rest). */
#include "fuzz_common.h"

#include <netinet/in.h>
#include <openssl/evp.h>

#include "dissectors/dissector.h"
#include "dissectors/l2l4.h"
#include "dissectors/quic_crypto.h"

extern const struct wkp_dissector wkp_dissector_quic;

#define MAX_CHUNKS 64
#define SEAL_MAX   1400

static const uint8_t DCID[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
static const uint8_t SCID[8] = {0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5};

struct run {
    uint64_t counters[WKP_DIS_MAX_COUNTERS];
    struct wkp_buf out;
};

/* Seal plain (n bytes) as a v1 Initial of direction dir into pkt. */
static size_t seal(struct wkp_quic_crypto *cx, unsigned dir, uint32_t pn, const uint8_t *plain,
                   size_t n, uint8_t *pkt)
{
    struct wkp_quic_keys k;
    FZ_CHECK(wkp_quic_initial_keys(cx, WKP_QUIC_V1, DCID, 8, dir != 0, &k, NULL, NULL));
    size_t off = 0;
    pkt[off++] = 0xc3; /* Initial, 4-byte packet number */
    pkt[off++] = 0, pkt[off++] = 0, pkt[off++] = 0, pkt[off++] = 1;
    pkt[off++] = dir ? 0 : 8;
    if (!dir) {
        memcpy(pkt + off, DCID, 8);
        off += 8;
    }
    pkt[off++] = dir ? 8 : 0;
    if (dir) {
        memcpy(pkt + off, SCID, 8);
        off += 8;
    }
    pkt[off++] = 0; /* token */
    size_t len = 4 + n + 16;
    pkt[off++] = (uint8_t)(0x40 | len >> 8);
    pkt[off++] = (uint8_t)len;
    size_t pn_off = off;
    for (int i = 3; i >= 0; i--)
        pkt[off++] = (uint8_t)(pn >> (8 * i));
    uint8_t nonce[12];
    memcpy(nonce, k.iv, 12);
    for (int i = 0; i < 4; i++)
        nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
    EVP_CIPHER_CTX *g = EVP_CIPHER_CTX_new();
    FZ_CHECK(g);
    int ol = 0;
    FZ_CHECK(EVP_EncryptInit_ex(g, EVP_aes_128_gcm(), NULL, k.key, nonce) == 1);
    FZ_CHECK(EVP_EncryptUpdate(g, NULL, &ol, pkt, (int)off) == 1);
    if (n)
        FZ_CHECK(EVP_EncryptUpdate(g, pkt + off, &ol, plain, (int)n) == 1);
    else
        ol = 0;
    off += (size_t)ol;
    FZ_CHECK(EVP_EncryptFinal_ex(g, pkt + off, &ol) == 1);
    FZ_CHECK(EVP_CIPHER_CTX_ctrl(g, EVP_CTRL_GCM_GET_TAG, 16, pkt + off) == 1);
    off += 16;
    EVP_CIPHER_CTX_free(g);
    uint8_t mask[16];
    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
    FZ_CHECK(e);
    FZ_CHECK(EVP_EncryptInit_ex(e, EVP_aes_128_ecb(), NULL, k.hp, NULL) == 1);
    EVP_CIPHER_CTX_set_padding(e, 0);
    FZ_CHECK(EVP_EncryptUpdate(e, mask, &ol, pkt + pn_off + 4, 16) == 1);
    EVP_CIPHER_CTX_free(e);
    pkt[0] ^= mask[0] & 0x0f;
    for (int i = 0; i < 4; i++)
        pkt[pn_off + (size_t)i] ^= mask[1 + i];
    return off;
}

static void run_once(const uint8_t *data, size_t size, struct run *r)
{
    const struct wkp_dissector *d = &wkp_dissector_quic;
    struct fz z = {data, size};
    uint8_t mode = fz_u8(&z);
    memset(r->counters, 0, sizeof r->counters);
    void *ctx = calloc(1, d->worker_ctx_size);
    void *state = calloc(1, d->flow_state_size);
    FZ_CHECK(ctx && state);
    struct wkp_dis_env env = {.counters = r->counters};
    FZ_CHECK(d->worker_init(ctx, &env) == 0);
    struct wkp_quic_crypto cx;
    if (mode & 1)
        FZ_CHECK(wkp_quic_crypto_init(&cx) == 0);
    static uint8_t pkt[SEAL_MAX + 64];
    uint64_t chunks = 0;
    bool done = false;
    for (int i = 0; i < MAX_CHUNKS && fz_left(&z) > 0 && !done; i++) {
        uint16_t h = fz_u16(&z);
        size_t n;
        const uint8_t *p = fz_bytes(&z, h & 0x7FFF, &n);
        unsigned dir = h >> 15;
        if (mode & 1) {
            if (n > SEAL_MAX)
                n = SEAL_MAX;
            n = seal(&cx, dir, (uint32_t)i, p, n, pkt);
            p = pkt;
        }
        struct wkp_dis_pkt pk = {
            .proto = IPPROTO_UDP, .dir = (uint8_t)dir, .payload = p, .payload_len = (uint32_t)n};
        if (i == 0)
            (void)d->probe(ctx, &pk, WKP_APP_FULL, false);
        struct wkp_cur c = {.p = p, .len = (uint32_t)n};
        enum wkp_dis_result res = d->parse(ctx, state, &pk, &c);
        chunks++;
        if (res == WKP_DIS_NOT_MINE) {
            d->release(ctx, state);
            memset(state, 0, d->flow_state_size);
            done = true; /* the engine would unclaim the flow */
        }
        done |= res == WKP_DIS_DONE;
    }
    d->finish(ctx, state);
    r->out.len = 0;
    d->write(state, &r->out);
    const char *names[4];
    size_t next = d->ext_protocol(state, names, 4);
    FZ_CHECK(r->counters[0] <= chunks); /* initials_opened: one Initial per chunk, at most */
    FZ_CHECK((r->out.len > 0) == (next == 1));
    if (next)
        FZ_CHECK(strcmp(names[0], "QUIC") == 0);
    fz_check_json_object(r->out.p, r->out.len);
    d->release(ctx, state);
    d->worker_fini(ctx);
    if (mode & 1)
        wkp_quic_crypto_fini(&cx);
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
/* Seeds from a capture: each UDP payload that starts a long header, as a
 * one-chunk raw input. */
static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t i,
                     void *ctx)
{
    (void)wirelen;
    (void)i;
    wkp_fuzz_emit_fn emit = (wkp_fuzz_emit_fn)(uintptr_t)ctx;
    struct wkp_l2l4 m;
    if (wkp_l2l4_parse(frame, caplen, dlt, &m) != WKP_PARSE_FLOW || m.proto != IPPROTO_UDP ||
        m.app_len < 7 || m.app_len > 0x7FFF || !(frame[m.app_off] & 0x80))
        return;
    uint32_t n = m.app_len;
    uint8_t *buf = malloc(3u + n);
    FZ_CHECK(buf);
    buf[0] = 0;
    buf[1] = (uint8_t)(n >> 8);
    buf[2] = (uint8_t)n;
    memcpy(buf + 3, frame + m.app_off, n);
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
