/* libFuzzer target: the stream decompressors, wkp__z_new / wkp__z_read
 * (capture/decomp.h).
 *
 * Input: byte 0 picks the source's read size (bits 0-1: 1, 7, 4096 bytes or
 * all) and, when the rest starts with no compression magic, the decoder
 * (bits 2-3: gzip, zstd, xz, lz4); the rest is the compressed stream. Seeds
 * (corpus/decomp, made with gzip, zstd, xz and lz4 from
 * tests/data/nDPI__http.pcapng) are whole files and two-frame files.
 *
 * Invariants: a read returns 1..n bytes, 0 or -2 (a memory source never
 * fails), and the end or the error repeats; an error is one line naming a
 * compressed byte offset within the input; a clean end has taken every
 * input byte; the stream read all at once gives the same result (end or
 * error) and, at the end, the same bytes, and before an error one output is
 * a prefix of the other. Output is capped at 8 MiB per run. */
#include "fuzz_common.h"

#include "capture/decomp.h"

#define OUT_CAP ((size_t)8 << 20)

struct mem {
    const uint8_t *b;
    size_t len, off, step;
};

static ssize_t mem_read(void *ctx, void *buf, size_t n)
{
    struct mem *m = ctx;
    size_t k = m->len - m->off;
    if (k > n)
        k = n;
    if (k > m->step)
        k = m->step;
    if (k > 0) /* m->b is NULL for an empty input */
        memcpy(buf, m->b + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

/* Decompress into out (at most OUT_CAP): the last result (0, -2, or 1 if
 * the cap was reached first), *on bytes written. */
static ssize_t run(enum wkp_zfmt f, const uint8_t *b, size_t n, size_t step, uint8_t *out,
                   size_t *on)
{
    size_t pre = n < WKP_Z_MAGIC_MAX ? n : WKP_Z_MAGIC_MAX;
    struct mem m = {b, n, pre, step};
    struct wkp_z *z;
    if (wkp__z_new(f, b, pre, mem_read, &m, &z) != WKP_OK)
        abort(); /* built in (checked), and small allocations */
    size_t got = 0;
    ssize_t r = 1;
    while (got < OUT_CAP) {
        size_t want = OUT_CAP - got < 3000 ? OUT_CAP - got : 3000;
        r = wkp__z_read(z, out + got, want);
        FZ_CHECK(r == 0 || r == -2 || (r > 0 && (size_t)r <= want));
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (r <= 0) {
        FZ_CHECK(wkp__z_read(z, out, 1) == r);
        FZ_CHECK(wkp__z_in(z) <= n);
    }
    if (r == 0)
        FZ_CHECK(wkp__z_in(z) == n);
    if (r == -2) {
        const char *msg = wkp__z_error(z);
        const char *at = strstr(msg, "at compressed byte ");
        FZ_CHECK(msg[0] != '\0' && strchr(msg, '\n') == NULL && at != NULL);
        FZ_CHECK(strtoull(at + 19, NULL, 10) <= n);
    }
    wkp__z_free(z);
    *on = got;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *a, *b;
    if (a == NULL && ((a = malloc(OUT_CAP)) == NULL || (b = malloc(OUT_CAP)) == NULL))
        abort();
    struct fz z = {data, size};
    uint8_t sel = fz_u8(&z);
    static const size_t steps[4] = {1, 7, 4096, SIZE_MAX};
    size_t n;
    const uint8_t *in = fz_bytes(&z, SIZE_MAX, &n);
    enum wkp_zfmt f = wkp__z_detect(in, n);
    if (f == WKP_Z_NONE)
        f = (enum wkp_zfmt)(WKP_Z_GZIP + ((sel >> 2) & 3));
    if (!wkp__z_built(f))
        return 0;
    size_t an, bn;
    ssize_t ra = run(f, in, n, steps[sel & 3], a, &an);
    ssize_t rb = run(f, in, n, SIZE_MAX, b, &bn);
    if (ra == 1 || rb == 1) /* the cap: compare what both wrote */
        an = bn = an < bn ? an : bn;
    else
        FZ_CHECK(ra == rb);
    if (ra == 0 && rb == 0)
        FZ_CHECK(an == bn);
    size_t k = an < bn ? an : bn;
    FZ_CHECK(memcmp(a, b, k) == 0);
    return 0;
}
