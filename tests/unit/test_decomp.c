/* Compressed captures (capture/decomp.c and the libpcap reader over it), on
 * the copies in tests/data/compressed (made by make.sh there from the
 * captures beside them):
 *  - the decompressed bytes are the original's, whatever the source's read
 *    sizes (1 byte, 4096 bytes, whole);
 *  - a file cut after k bytes inside a frame says "cut short" at compressed
 *    byte k (the file ends there, by construction) and yields a prefix of
 *    the original; cut exactly between the two frames (zstd 4281 =
 *    len(zstd -19 of the first 5000 bytes), gzip 4343 the same with gzip -9
 *    -n) it is a whole file of those 5000 bytes;
 *  - the reader's records are the original's (mmap reader), its size and
 *    bytes_done count compressed bytes (stat of the file), and the engine's
 *    last progress report says bytes_read == bytes_total == that size. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/capfile.h"
#include "capture/decomp.h"

#define ZDIR WKP_TEST_DATA "/compressed/"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)len + 1);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* A source of the first len bytes of b, step bytes a read at most. */
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
    memcpy(buf, m->b + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

/* Decompress b[0, len) in reads of `step`: the last wkp__z_read result (0 or
 * -2), the bytes in *out (*on of them), the message of a -2 in msg. */
static ssize_t unpack(const uint8_t *b, size_t len, size_t step, uint8_t **out, size_t *on,
                      char *msg, size_t msz)
{
    enum wkp_zfmt f = wkp__z_detect(b, len);
    cr_assert_neq(f, WKP_Z_NONE);
    struct mem m = {b, len, 0, step};
    /* as the reader does: the first bytes come already read */
    size_t pre = len < 6 ? len : 6;
    m.off = pre;
    struct wkp_z *z;
    cr_assert_eq(wkp__z_new(f, b, pre, mem_read, &m, &z), WKP_OK);
    size_t cap = 1 << 20, n = 0;
    uint8_t *o = malloc(cap);
    ssize_t r;
    while ((r = wkp__z_read(z, o + n, cap - n < 5000 ? cap - n : 5000)) > 0) {
        n += (size_t)r;
        if (cap - n < 5000) {
            cap *= 2;
            o = realloc(o, cap);
            cr_assert_not_null(o);
        }
    }
    cr_assert_eq(wkp__z_read(z, o, 1), r, "the end and errors repeat");
    snprintf(msg, msz, "%s", r == -2 ? wkp__z_error(z) : "");
    cr_assert_eq(wkp__z_in(z), len);
    wkp__z_free(z);
    *out = o;
    *on = n;
    return r;
}

static const char *const copies[][2] = {
    {"wa1kpcap__multi.pcap.zst", "wa1kpcap__multi.pcap"},
    {"wa1kpcap__multi.pcap.gz", "wa1kpcap__multi.pcap"},
    {"nDPI__http_starting_with_reply.pcapng.xz", "nDPI__http_starting_with_reply.pcapng"},
    {"nDPI__http_starting_with_reply.pcapng.lz4", "nDPI__http_starting_with_reply.pcapng"},
    {"nDPI__http_starting_with_reply.pcapng.2members.gz", "nDPI__http_starting_with_reply.pcapng"},
    {"nDPI__http_starting_with_reply.pcapng.2frames.zst", "nDPI__http_starting_with_reply.pcapng"},
    {"PcapPlusPlus__nanosecs_big_endian.pcap.xz", "PcapPlusPlus__nanosecs_big_endian.pcap"},
    {"PcapPlusPlus__nanosecs_big_endian.pcap.lz4", "PcapPlusPlus__nanosecs_big_endian.pcap"},
};
#define NCOPIES (sizeof copies / sizeof copies[0])

static bool built(const uint8_t *b, size_t n)
{
    return wkp__z_built(wkp__z_detect(b, n));
}

Test(decomp, detects_by_magic)
{
    static const uint8_t gz[] = {0x1f, 0x8b, 8}, zs[] = {0x28, 0xb5, 0x2f, 0xfd},
                         xz[] = {0xfd, '7', 'z', 'X', 'Z', 0}, lz[] = {0x04, 0x22, 0x4d, 0x18},
                         pcap[] = {0xd4, 0xc3, 0xb2, 0xa1};
    cr_assert_eq(wkp__z_detect(gz, sizeof gz), WKP_Z_GZIP);
    cr_assert_eq(wkp__z_detect(zs, sizeof zs), WKP_Z_ZSTD);
    cr_assert_eq(wkp__z_detect(xz, sizeof xz), WKP_Z_XZ);
    cr_assert_eq(wkp__z_detect(xz, 5), WKP_Z_NONE);
    cr_assert_eq(wkp__z_detect(lz, sizeof lz), WKP_Z_LZ4);
    cr_assert_eq(wkp__z_detect(pcap, sizeof pcap), WKP_Z_NONE);
    cr_assert_eq(wkp__z_detect(gz, 1), WKP_Z_NONE);
}

Test(decomp, gives_the_original_bytes_whatever_the_read_sizes)
{
    static const size_t steps[] = {1, 4096, SIZE_MAX};
    for (size_t i = 0; i < NCOPIES; i++) {
        size_t zn, on;
        char p[512];
        snprintf(p, sizeof p, ZDIR "%s", copies[i][0]);
        uint8_t *zb = slurp(p, &zn);
        snprintf(p, sizeof p, WKP_TEST_DATA "/%s", copies[i][1]);
        uint8_t *ob = slurp(p, &on);
        if (!built(zb, zn)) {
            free(zb);
            free(ob);
            continue;
        }
        for (size_t s = 0; s < 3; s++) {
            if (steps[s] == 1 && zn > 20000)
                continue; /* a byte at a time: the small copies only */
            uint8_t *d;
            size_t dn;
            char msg[256];
            ssize_t r = unpack(zb, zn, steps[s], &d, &dn, msg, sizeof msg);
            cr_assert_eq(r, 0, "%s step %zu: %s", copies[i][0], steps[s], msg);
            cr_assert_eq(dn, on, "%s", copies[i][0]);
            cr_assert(memcmp(d, ob, on) == 0, "%s", copies[i][0]);
            free(d);
        }
        free(zb);
        free(ob);
    }
}

/* Each small copy cut after k bytes, k every 37 bytes: a prefix of the
 * original, and "cut short ... at compressed byte k", except between the
 * two frames (members), where the file is whole. */
Test(decomp, a_cut_stream_names_where_the_file_ends)
{
    static const struct {
        const char *file;
        size_t boundary; /* where frame 2 starts, 0 if none */
    } cuts[] = {
        {"nDPI__http_starting_with_reply.pcapng.xz", 0},
        {"nDPI__http_starting_with_reply.pcapng.lz4", 0},
        {"nDPI__http_starting_with_reply.pcapng.2members.gz", 4343},
        {"nDPI__http_starting_with_reply.pcapng.2frames.zst", 4281},
    };
    size_t on;
    uint8_t *ob = slurp(WKP_TEST_DATA "/nDPI__http_starting_with_reply.pcapng", &on);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char p[512];
        size_t zn;
        snprintf(p, sizeof p, ZDIR "%s", cuts[i].file);
        uint8_t *zb = slurp(p, &zn);
        if (!built(zb, zn)) {
            free(zb);
            continue;
        }
        size_t ks[400], nk = 0;
        for (size_t k = 6; k < zn && nk < 398; k += 37)
            ks[nk++] = k;
        if (cuts[i].boundary)
            ks[nk++] = cuts[i].boundary;
        for (size_t j = 0; j < nk; j++) {
            size_t k = ks[j];
            uint8_t *d;
            size_t dn;
            char msg[256], want[64];
            ssize_t r = unpack(zb, k, 4096, &d, &dn, msg, sizeof msg);
            cr_assert(dn <= on && memcmp(d, ob, dn) == 0, "%s cut at %zu: not a prefix",
                      cuts[i].file, k);
            if (k == cuts[i].boundary) {
                cr_assert_eq(r, 0, "%s cut between frames: %s", cuts[i].file, msg);
                cr_assert_eq(dn, 5000);
            } else {
                snprintf(want, sizeof want, "at compressed byte %zu", k);
                cr_assert_eq(r, -2, "%s cut at %zu", cuts[i].file, k);
                cr_assert(strstr(msg, "cut short") && strstr(msg, want), "%s cut at %zu: %s",
                          cuts[i].file, k, msg);
            }
            free(d);
        }
        free(zb);
    }
    free(ob);
}

/* The reader: the original's records (mmap reader on the original), and
 * compressed bytes for size and bytes_done. */
Test(decomp, reader_gives_the_records_and_counts_compressed_bytes)
{
    for (size_t i = 0; i < NCOPIES; i++) {
        char zp[512], op[512];
        snprintf(zp, sizeof zp, ZDIR "%s", copies[i][0]);
        snprintf(op, sizeof op, WKP_TEST_DATA "/%s", copies[i][1]);
        size_t zn;
        uint8_t *zb = slurp(zp, &zn);
        bool ok = built(zb, zn);
        free(zb);
        if (!ok)
            continue;
        struct wkp_capfile *zc, *oc;
        wkp_errbuf err = {{0}};
        cr_assert_eq(wkp_capfile_open(zp, WKP_READER_AUTO, &zc, &err), WKP_OK, "%s", err.msg);
        cr_assert_eq(wkp_capfile_open(op, WKP_READER_MMAP, &oc, &err), WKP_OK, "%s", err.msg);
        cr_assert_not(wkp_capfile_zero_copy(zc));
        cr_assert_eq(wkp_capfile_size(zc), zn);
        cr_assert_eq(wkp_capfile_ts_digits(zc), wkp_capfile_ts_digits(oc));
        struct wkp_rec a, b;
        uint64_t done = 0, n = 0;
        int ra, rb;
        while ((rb = wkp_capfile_next(oc, &b, &err)) == 1) {
            ra = wkp_capfile_next(zc, &a, &err);
            cr_assert_eq(ra, 1, "%s record %llu: %d %s", zp, (unsigned long long)n, ra, err.msg);
            cr_assert(a.caplen == b.caplen && a.wirelen == b.wirelen && a.ts_ns == b.ts_ns &&
                          a.dlt == b.dlt && memcmp(a.data, b.data, a.caplen) == 0,
                      "%s record %llu", zp, (unsigned long long)n);
            uint64_t d = wkp_capfile_bytes_done(zc);
            cr_assert(d >= done && d <= zn);
            done = d;
            n++;
        }
        cr_assert_eq(rb, 0);
        cr_assert_eq(wkp_capfile_next(zc, &a, &err), 0, "%s: %s", zp, err.msg);
        cr_assert_eq(wkp_capfile_bytes_done(zc), zn, "%s", zp);
        cr_assert_not(wkp_capfile_truncated(zc, NULL));
        size_t nd;
        (void)wkp_capfile_damage(zc, &nd, NULL, NULL);
        cr_assert_eq(nd, 0);
        wkp_capfile_close(zc);
        wkp_capfile_close(oc);
    }
}

Test(decomp, mmap_reader_refuses_a_compressed_file)
{
    struct wkp_capfile *cf = (struct wkp_capfile *)(uintptr_t)1;
    wkp_errbuf err = {{0}};
    const char *p = ZDIR "wa1kpcap__multi.pcap.zst";
    cr_assert_eq(wkp_capfile_open(p, WKP_READER_MMAP, &cf, &err), WKP_EINVAL);
    cr_assert_eq(cf, (struct wkp_capfile *)(uintptr_t)1);
    cr_assert_str_eq(err.msg, ZDIR "wa1kpcap__multi.pcap.zst: zstd-compressed; the mmap reader "
                                   "needs an uncompressed file");
}

struct last_progress {
    wkp_progress p;
    int calls;
};

static void on_progress(const wkp_progress *p, void *user)
{
    struct last_progress *l = user;
    l->p = *p;
    l->calls++;
}

static int count_flow(const wkp_flow *f, void *user)
{
    (void)f;
    ++*(size_t *)user;
    return 0;
}

/* The engine's progress counts the compressed file: the last report has
 * bytes_read == bytes_total == its size. */
Test(decomp, progress_counts_compressed_bytes)
{
    const char *p = ZDIR "wa1kpcap__multi.pcap.gz";
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    size_t zn;
    uint8_t *zb = slurp(p, &zn);
    bool ok = built(zb, zn);
    free(zb);
    if (!ok)
        cr_skip_test("gzip is not built in");
    struct last_progress l = {0};
    size_t flows = 0;
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *sink;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, 2), WKP_OK);
    cr_assert_eq(wkp_config_set_progress(cfg, on_progress, &l), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(count_flow, &flows, &sink), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, sink), WKP_OK);
    const char *files[] = {p};
    cr_assert_eq(wkp_engine_run(e, files, 1), WKP_OK, "%s", wkp_engine_last_error(e));
    wkp_engine_free(e);
    cr_assert(l.calls > 0 && l.p.done);
    cr_assert_eq(l.p.bytes_total, (uint64_t)sb.st_size);
    cr_assert_eq(l.p.bytes_read, (uint64_t)sb.st_size);
    cr_assert_eq(l.p.packets_read, 4183); /* the records of wa1kpcap__multi.pcap */
    cr_assert_gt(flows, 0);
}
