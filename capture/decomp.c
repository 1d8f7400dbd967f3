/* Compressed captures, decompressed as a stream (see capture/decomp.h).
 *
 * Reader thread only. One input buffer of IN_BUF bytes is refilled from the
 * source and handed to the format's decoder, which writes straight into the
 * caller's buffer: memory stays at the buffer plus the decoder's window
 * (zstd refuses frames wanting a window over 128 MiB, its default limit).
 *
 * The one idea: a stream ends cleanly only between frames (gzip members).
 * `mid` is true while the decoder is inside one; the source ending then is
 * a cut stream, reported with the compressed byte offset where the file
 * ends. Corrupt data is reported at the compressed offset the decoder had
 * consumed when it refused the input (for a bad frame header, where the
 * frame starts). Several frames or members one after another are one
 * stream, as gzip -d, zstd -d, xz -d and lz4 -d read them. */
#include "capture/decomp.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef WKP_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef WKP_HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef WKP_HAVE_LZMA
#include <lzma.h>
#endif
#ifdef WKP_HAVE_LZ4
#include <lz4.h>
#include <lz4frame.h>
#endif

#define IN_BUF ((size_t)256 << 10)

struct wkp_z {
    enum wkp_zfmt fmt;
    wkp_z_read_fn rd;
    void *ctx;
    uint8_t *in;
    size_t len, pos; /* bytes in `in`, bytes of them the decoder has taken */
    uint64_t base;   /* compressed offset of in[0] */
    bool eof;        /* the source has ended */
    bool mid;        /* inside a frame (member): the end of the source now cuts it */
    bool ended;      /* xz: the decoder saw the end of the last stream */
    bool inited;     /* the decoder below is set up (free must end it) */
    int state;       /* 0, or the sticky -1 / -2 of wkp__z_read */
    int err_no;
    char msg[200];
    union {
        int none;
#ifdef WKP_HAVE_ZLIB
        z_stream gz;
#endif
#ifdef WKP_HAVE_ZSTD
        ZSTD_DStream *zs;
#endif
#ifdef WKP_HAVE_LZMA
        lzma_stream xz;
#endif
#ifdef WKP_HAVE_LZ4
        LZ4F_dctx *lz;
#endif
    } u;
};

enum wkp_zfmt wkp__z_detect(const uint8_t *b, size_t n)
{
    static const uint8_t xz[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return WKP_Z_GZIP;
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return WKP_Z_ZSTD;
    if (n >= 6 && memcmp(b, xz, sizeof xz) == 0)
        return WKP_Z_XZ;
    if (n >= 4 && b[0] == 0x04 && b[1] == 0x22 && b[2] == 0x4d && b[3] == 0x18)
        return WKP_Z_LZ4;
    return WKP_Z_NONE;
}

const char *wkp__z_name(enum wkp_zfmt f)
{
    switch (f) {
    case WKP_Z_GZIP: return "gzip";
    case WKP_Z_ZSTD: return "zstd";
    case WKP_Z_XZ: return "xz";
    case WKP_Z_LZ4: return "lz4";
    default: return "none";
    }
}

bool wkp__z_built(enum wkp_zfmt f)
{
    switch (f) {
#ifdef WKP_HAVE_ZLIB
    case WKP_Z_GZIP: return true;
#endif
#ifdef WKP_HAVE_ZSTD
    case WKP_Z_ZSTD: return true;
#endif
#ifdef WKP_HAVE_LZMA
    case WKP_Z_XZ: return true;
#endif
#ifdef WKP_HAVE_LZ4
    case WKP_Z_LZ4: return true;
#endif
    default: return false;
    }
}

const char *wkp__z_library_version(enum wkp_zfmt f)
{
    switch (f) {
#ifdef WKP_HAVE_ZLIB
    case WKP_Z_GZIP: return zlibVersion();
#endif
#ifdef WKP_HAVE_ZSTD
    case WKP_Z_ZSTD: return ZSTD_versionString();
#endif
#ifdef WKP_HAVE_LZMA
    case WKP_Z_XZ: return lzma_version_string();
#endif
#ifdef WKP_HAVE_LZ4
    case WKP_Z_LZ4: return LZ4_versionString();
#endif
    default: return NULL;
    }
}

/* The decoder refused the input: where it had got to, and its reason. */
static int corrupt(struct wkp_z *z, const char *why)
{
    snprintf(z->msg, sizeof z->msg, "%s data corrupt at compressed byte %llu (%s)",
             wkp__z_name(z->fmt), (unsigned long long)(z->base + z->pos), why);
    return -2;
}

/* ---- one step of each decoder ------------------------------------------
 * Each takes what it can of in[pos, len), writes at most n bytes to out
 * (*got), updates pos and mid; finish: the source has ended and every
 * input byte is taken. 0, or -2 with z->msg set. */

#ifdef WKP_HAVE_ZLIB
static int step_gz(struct wkp_z *z, uint8_t *out, size_t n, size_t *got, bool finish)
{
    (void)finish;
    z_stream *s = &z->u.gz;
    if (!z->mid) {
        if (z->pos == z->len)
            return 0;
        if (inflateReset(s) != Z_OK) /* the next member */
            return corrupt(z, "inflateReset failed");
        z->mid = true;
    }
    s->next_in = z->in + z->pos;
    s->avail_in = (uInt)(z->len - z->pos);
    s->next_out = out;
    s->avail_out = n > UINT_MAX ? UINT_MAX : (uInt)n;
    uInt avail_out = s->avail_out;
    int r = inflate(s, Z_NO_FLUSH);
    z->pos = z->len - s->avail_in;
    *got = avail_out - s->avail_out;
    if (r == Z_STREAM_END)
        z->mid = false;
    else if (r != Z_OK && r != Z_BUF_ERROR) /* BUF_ERROR: needs more input */
        return corrupt(z, s->msg != NULL ? s->msg : zError(r));
    return 0;
}
#endif

#ifdef WKP_HAVE_ZSTD
static int step_zs(struct wkp_z *z, uint8_t *out, size_t n, size_t *got, bool finish)
{
    (void)finish;
    if (!z->mid && z->pos == z->len)
        return 0;
    ZSTD_inBuffer ib = {z->in, z->len, z->pos};
    ZSTD_outBuffer ob = {out, n, 0};
    size_t r = ZSTD_decompressStream(z->u.zs, &ob, &ib);
    /* On an error ib.pos stays where this call began, before the frame
     * or block it refused. */
    z->pos = ib.pos;
    *got = ob.pos;
    if (ZSTD_isError(r))
        return corrupt(z, ZSTD_getErrorName(r));
    z->mid = r != 0; /* 0: a frame decoded and flushed */
    return 0;
}
#endif

#ifdef WKP_HAVE_LZMA
static int step_xz(struct wkp_z *z, uint8_t *out, size_t n, size_t *got, bool finish)
{
    lzma_stream *s = &z->u.xz;
    if (z->ended)
        return 0;
    if (!z->mid && z->pos == z->len && !finish)
        return 0;
    z->mid = true; /* with LZMA_CONCATENATED only the decoder knows the end */
    s->next_in = z->in + z->pos;
    s->avail_in = z->len - z->pos;
    s->next_out = out;
    s->avail_out = n;
    lzma_ret r = lzma_code(s, finish ? LZMA_FINISH : LZMA_RUN);
    /* liblzma answers BUF_ERROR only on the second call without progress */
    if (r == LZMA_OK && finish && s->avail_out == n)
        r = lzma_code(s, LZMA_FINISH);
    z->pos = z->len - s->avail_in;
    *got = n - s->avail_out;
    switch (r) {
    case LZMA_STREAM_END:
        z->mid = false;
        z->ended = true;
        return 0;
    case LZMA_OK:
    case LZMA_BUF_ERROR: return 0; /* at finish: cut short, said by the caller */
    case LZMA_FORMAT_ERROR: return corrupt(z, "not in the .xz format");
    case LZMA_OPTIONS_ERROR: return corrupt(z, "unsupported options");
    case LZMA_DATA_ERROR: return corrupt(z, "compressed data is corrupt");
    case LZMA_MEM_ERROR: return corrupt(z, "out of memory");
    case LZMA_MEMLIMIT_ERROR: return corrupt(z, "memory limit reached");
    default: return corrupt(z, "decoder error");
    }
}
#endif

#ifdef WKP_HAVE_LZ4
static int step_lz(struct wkp_z *z, uint8_t *out, size_t n, size_t *got, bool finish)
{
    (void)finish;
    if (!z->mid && z->pos == z->len)
        return 0;
    size_t dst = n, src = z->len - z->pos;
    size_t r = LZ4F_decompress(z->u.lz, out, &dst, z->in + z->pos, &src, NULL);
    if (LZ4F_isError(r))
        return corrupt(z, LZ4F_getErrorName(r));
    z->pos += src;
    *got = dst;
    z->mid = r != 0; /* 0: a frame decoded and flushed */
    return 0;
}
#endif

static int step(struct wkp_z *z, uint8_t *out, size_t n, size_t *got, bool finish)
{
    switch (z->fmt) {
#ifdef WKP_HAVE_ZLIB
    case WKP_Z_GZIP: return step_gz(z, out, n, got, finish);
#endif
#ifdef WKP_HAVE_ZSTD
    case WKP_Z_ZSTD: return step_zs(z, out, n, got, finish);
#endif
#ifdef WKP_HAVE_LZMA
    case WKP_Z_XZ: return step_xz(z, out, n, got, finish);
#endif
#ifdef WKP_HAVE_LZ4
    case WKP_Z_LZ4: return step_lz(z, out, n, got, finish);
#endif
    default: (void)out, (void)n, (void)got, (void)finish; return corrupt(z, "not built in");
    }
}

static bool decoder_init(struct wkp_z *z)
{
    switch (z->fmt) {
#ifdef WKP_HAVE_ZLIB
    case WKP_Z_GZIP:
        /* 16 + 15: gzip wrapper only, the largest window */
        return inflateInit2(&z->u.gz, 16 + MAX_WBITS) == Z_OK;
#endif
#ifdef WKP_HAVE_ZSTD
    case WKP_Z_ZSTD:
        z->u.zs = ZSTD_createDStream();
        return z->u.zs != NULL && !ZSTD_isError(ZSTD_initDStream(z->u.zs));
#endif
#ifdef WKP_HAVE_LZMA
    case WKP_Z_XZ: {
        lzma_stream init = LZMA_STREAM_INIT;
        z->u.xz = init;
        return lzma_stream_decoder(&z->u.xz, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK;
    }
#endif
#ifdef WKP_HAVE_LZ4
    case WKP_Z_LZ4: return !LZ4F_isError(LZ4F_createDecompressionContext(&z->u.lz, LZ4F_VERSION));
#endif
    default: return false;
    }
}

static void decoder_end(struct wkp_z *z)
{
    switch (z->fmt) {
#ifdef WKP_HAVE_ZLIB
    case WKP_Z_GZIP: inflateEnd(&z->u.gz); break;
#endif
#ifdef WKP_HAVE_ZSTD
    case WKP_Z_ZSTD: ZSTD_freeDStream(z->u.zs); break;
#endif
#ifdef WKP_HAVE_LZMA
    case WKP_Z_XZ: lzma_end(&z->u.xz); break;
#endif
#ifdef WKP_HAVE_LZ4
    case WKP_Z_LZ4: LZ4F_freeDecompressionContext(z->u.lz); break;
#endif
    default: break;
    }
}

wkp_status wkp__z_new(enum wkp_zfmt f, const uint8_t *pre, size_t npre, wkp_z_read_fn rd, void *ctx,
                      struct wkp_z **out)
{
    if (!wkp__z_built(f) || npre > IN_BUF)
        return WKP_EINVAL;
    struct wkp_z *z = calloc(1, sizeof *z);
    uint8_t *in = malloc(IN_BUF);
    if (z == NULL || in == NULL) {
        free(z);
        free(in);
        return WKP_ENOMEM;
    }
    z->fmt = f;
    z->rd = rd;
    z->ctx = ctx;
    z->in = in;
    if (npre > 0) /* pre may be NULL when there is nothing before the stream */
        memcpy(in, pre, npre);
    z->len = npre;
    if (!decoder_init(z)) {
        z->inited = true; /* a partly set-up decoder is ended too */
        wkp__z_free(z);
        return WKP_ENOMEM;
    }
    z->inited = true;
    *out = z;
    return WKP_OK;
}

ssize_t wkp__z_read(struct wkp_z *z, void *out, size_t n)
{
    if (z->state != 0) {
        errno = z->err_no;
        return z->state;
    }
    for (;;) {
        if (z->pos == z->len && !z->eof) {
            ssize_t r = z->rd(z->ctx, z->in, IN_BUF);
            if (r < 0) {
                z->err_no = errno;
                z->state = -1;
                return -1;
            }
            z->base += z->len;
            z->len = (size_t)r;
            z->pos = 0;
            z->eof = r == 0;
        }
        size_t got = 0, before = z->pos;
        bool finish = z->eof && z->pos == z->len;
        if (step(z, out, n, &got, finish) < 0) {
            z->state = -2;
            return -2;
        }
        if (got > 0)
            return (ssize_t)got;
        if (finish) {
            if (!z->mid)
                return 0;
            snprintf(z->msg, sizeof z->msg,
                     "%s stream cut short: the file ends inside a %s at compressed byte %llu",
                     wkp__z_name(z->fmt), z->fmt == WKP_Z_GZIP ? "member" : "frame",
                     (unsigned long long)(z->base + z->len));
            z->state = -2;
            return -2;
        }
        if (z->pos == before && z->pos < z->len) { /* an input the decoder will not take */
            z->state = corrupt(z, "the decoder made no progress");
            return -2;
        }
    }
}

const char *wkp__z_error(const struct wkp_z *z)
{
    return z->msg;
}

uint64_t wkp__z_in(const struct wkp_z *z)
{
    return z->base + z->len;
}

void wkp__z_free(struct wkp_z *z)
{
    if (z == NULL)
        return;
    if (z->inited)
        decoder_end(z);
    free(z->in);
    free(z);
}
