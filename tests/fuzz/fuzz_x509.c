/* libFuzzer target: wkp_x509_write_json (dissectors/x509.h).
 *
 * Input: the DER bytes as they are; with_der is the parity of the length,
 * so both forms run on every corpus.
 *
 * Invariants: the output is one valid JSON object (strict RFC 8259, UTF-8
 * strings) appended after what the buffer held; it starts with
 * {"error":"not a certificate","der_length":<size>, exactly when the call
 * returns false; a decoded certificate reports a der_length no larger than
 * the input and a trailing_bytes that makes up the rest; with_der ends the
 * object with "der" holding 4 * ceil(size / 3) base64 characters; a second
 * call on the same bytes writes the same text (no state kept between
 * calls), and so does a call in a wkp_x509_ctx (one for the whole run).
 *
 * Smoke seeds: the corpus certificates, and from the test captures every
 * place in a frame that looks like the start of a certificate
 * (30 82 LL LL 30 82: a long SEQUENCE opening with another), cut at the
 * frame's end when the certificate continues in the next segment. */
#include "fuzz_common.h"

#include "dissectors/x509.h"
#include "tests/unit/json_valid.h"

#ifdef WKP_FUZZ_SMOKE
struct seed_ctx {
    wkp_fuzz_emit_fn emit;
    unsigned n;
};

static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t index,
                     void *ctx)
{
    (void)dlt, (void)wirelen, (void)index;
    struct seed_ctx *s = ctx;
    for (uint32_t i = 0; i + 6 <= caplen && s->n < 64; i++) {
        const uint8_t *p = frame + i;
        if (p[0] != 0x30 || p[1] != 0x82 || p[4] != 0x30 || p[5] != 0x82)
            continue;
        size_t want = 4 + ((size_t)p[2] << 8 | p[3]);
        size_t have = caplen - i;
        s->emit(p, want < have ? want : have);
        s->n++;
    }
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    struct seed_ctx s = {emit, 0};
    if (wkp_fuzz_each_record(data, size, seed_rec, &s) != 0)
        emit(data, size); /* a corpus file: DER as is */
}
#endif

static bool has_prefix(const struct wkp_buf *b, size_t from, const char *s)
{
    size_t n = strlen(s);
    return b->len - from >= n && memcmp(b->p + from, s, n) == 0;
}

/* The unsigned integer after "key": in p[0..n), or -1. */
static long long field_u(const char *p, size_t n, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *k = memmem(p, n, pat, strlen(pat));
    if (k == NULL)
        return -1;
    return strtoll(k + strlen(pat), NULL, 10);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool with_der = size & 1;
    struct wkp_buf b = {0};
    wkp_buf_puts(&b, "[1,");
    size_t from = b.len;
    bool ok = wkp_x509_write_json(data, size, with_der, &b);
    FZ_CHECK(!b.oom);
    FZ_CHECK(memcmp(b.p, "[1,", 3) == 0);
    const char *obj = b.p + from;
    size_t objlen = b.len - from;
    FZ_CHECK(json_valid(obj, objlen));
    FZ_CHECK(objlen > 0 && obj[0] == '{');

    char head[96];
    snprintf(head, sizeof head, "{\"error\":\"not a certificate\",\"der_length\":%zu,", size);
    FZ_CHECK(ok == !has_prefix(&b, from, head));
    if (ok) {
        FZ_CHECK(has_prefix(&b, from, "{\"version\":"));
        long long used = field_u(obj, objlen, "der_length");
        long long trail = field_u(obj, objlen, "trailing_bytes");
        FZ_CHECK(used > 0 && (size_t)used <= size);
        FZ_CHECK(trail == ((size_t)used == size ? -1 : (long long)(size - (size_t)used)));
    }
    if (with_der) {
        const char *d = memmem(obj, objlen, ",\"der\":\"", 8);
        FZ_CHECK(d != NULL);
        size_t b64 = objlen - (size_t)(d + 8 - obj) - 2; /* minus the closing "} */
        FZ_CHECK(b64 == 4 * ((size + 2) / 3));
        FZ_CHECK(obj[objlen - 2] == '"' && obj[objlen - 1] == '}');
    } else {
        FZ_CHECK(memmem(obj, objlen, ",\"der\":\"", 8) == NULL);
    }

    struct wkp_buf again = {0};
    FZ_CHECK(wkp_x509_write_json(data, size, with_der, &again) == ok);
    FZ_CHECK(again.len == objlen && memcmp(again.p, obj, objlen) == 0);
    static struct wkp_x509_ctx *ctx;
    if (ctx == NULL)
        ctx = wkp_x509_ctx_new(); /* lives as long as the process */
    FZ_CHECK(ctx != NULL);
    again.len = 0;
    FZ_CHECK(wkp_x509_write_json_ctx(ctx, data, size, with_der, &again) == ok);
    if (again.len != objlen || memcmp(again.p, obj, objlen) != 0) {
        fprintf(stderr, "default: %.*s\nctx:     %.*s\n", (int)objlen, obj, (int)again.len,
                again.p);
        FZ_CHECK(again.len == objlen && memcmp(again.p, obj, objlen) == 0);
    }
    wkp_buf_free(&again);
    wkp_buf_free(&b);
    return 0;
}
