/* libFuzzer target: the capture readers, wkp_capfile_open / wkp_capfile_next
 * (capture/capfile.h).
 *
 * Input: byte 0 picks the reader (bits 0-1: auto, mmap, libpcap, mmap) and
 * bit 2 calls wkp_capfile_release() after each record, bit 3 turns resync
 * on; the rest is the file,
 * written to a memfd (the mmap reader needs a regular file) and opened as
 * /proc/self/fd/N.
 *
 * Invariants: a failure leaves *out alone and writes one line naming the
 * file; every record has a link type wkp_l2l4 decodes or is marked
 * unsupported; damaged ranges lie inside the file, in order; the mmap reader's
 * records lie inside the file and hold its bytes; each record consumes at
 * least 12 bytes of file (so a file of n bytes yields at most n/12 records);
 * bytes_done never goes back nor past the size; the end stays the end. A
 * compressed file (capture/decomp.h) is read by the libpcap reader; its
 * records, cut and damage offsets count decompressed bytes, so the bounds
 * by n do not apply to them. */
#include "fuzz_common.h"

#include "dissectors/l2l4.h"
#include "capture/capfile.h"
#include "capture/decomp.h"

#include <unistd.h>

static int memfd = -1;
static char path[64];

static void check_err(const wkp_errbuf *err)
{
    FZ_CHECK(err->msg[0] != '\0');
    FZ_CHECK(memchr(err->msg, '\0', sizeof err->msg) != NULL);
    FZ_CHECK(strchr(err->msg, '\n') == NULL);
    FZ_CHECK(strncmp(err->msg, path, strlen(path)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz z = {data, size};
    uint8_t flags = fz_u8(&z);
    static const wkp_reader_kind kinds[4] = {WKP_READER_AUTO, WKP_READER_MMAP, WKP_READER_LIBPCAP,
                                             WKP_READER_MMAP};
    wkp_reader_kind kind = kinds[flags & 3];
    size_t n;
    const uint8_t *file = fz_bytes(&z, SIZE_MAX, &n);

    fz_memfd_write(&memfd, "fuzz_capfile", path, sizeof path, file, n);

    struct wkp_capfile *cf = (struct wkp_capfile *)(uintptr_t)1;
    wkp_errbuf err = {{0}};
    wkp_status st = wkp_capfile_open(path, kind, &cf, &err);
    if (st != WKP_OK) {
        FZ_CHECK(st < 0);
        FZ_CHECK(cf == (struct wkp_capfile *)(uintptr_t)1);
        check_err(&err);
        return 0;
    }
    FZ_CHECK(cf != NULL);
    wkp_capfile_set_resync(cf, (flags & 8) != 0);
    bool zc = wkp_capfile_zero_copy(cf);
    if (kind == WKP_READER_MMAP)
        FZ_CHECK(zc);
    if (kind == WKP_READER_LIBPCAP)
        FZ_CHECK(!zc);
    FZ_CHECK(wkp_capfile_ts_digits(cf) == 6 || wkp_capfile_ts_digits(cf) == 9);
    FZ_CHECK(wkp_dlt_supported(wkp_capfile_first_dlt(cf)));
    uint64_t fsize = wkp_capfile_size(cf);
    FZ_CHECK(fsize == n);
    const uint8_t *base = NULL;
    if (zc) {
        const uint8_t *cur = wkp_capfile_cursor(cf);
        FZ_CHECK(cur != NULL);
        base = cur - wkp_capfile_bytes_done(cf);
    }

    /* decompressed bytes: no bound by the file's size */
    uint64_t dn = wkp__z_detect(file, n) != WKP_Z_NONE ? UINT64_MAX : n;
    uint64_t done = wkp_capfile_bytes_done(cf), nrec = 0;
    FZ_CHECK(done <= n);
    int r;
    struct wkp_rec rec;
    while ((r = wkp_capfile_next(cf, &rec, &err)) == 1) {
        nrec++;
        FZ_CHECK(nrec <= dn / 12);
        FZ_CHECK(rec.unsupported || wkp_dlt_supported(rec.dlt));
        FZ_CHECK(rec.caplen == 0 || rec.data != NULL);
        if (zc) {
            FZ_CHECK(rec.data >= base);
            FZ_CHECK((uint64_t)(rec.data - base) + rec.caplen <= n);
            FZ_CHECK(memcmp(rec.data, file + (rec.data - base), rec.caplen) == 0);
        } else if (rec.caplen) {
            /* libpcap's buffer: ASan checks it can be read in full. */
            volatile uint8_t sink = rec.data[0] ^ rec.data[rec.caplen - 1];
            (void)sink;
        }
        uint64_t d2 = wkp_capfile_bytes_done(cf);
        FZ_CHECK(d2 >= done && d2 <= n);
        done = d2;
        struct wkp_l2l4 m;
        if (!rec.unsupported)
            (void)wkp_l2l4_parse(rec.data, rec.caplen, rec.dlt, &m);
        if (flags & 4)
            wkp_capfile_release(cf, rec.data);
    }
    if (r < 0) {
        check_err(&err);
    } else {
        FZ_CHECK(r == 0);
        FZ_CHECK(wkp_capfile_next(cf, &rec, &err) == 0);
        uint64_t off = UINT64_MAX;
        if (wkp_capfile_truncated(cf, &off))
            FZ_CHECK(off < dn);
    }
    size_t nd;
    const struct wkp_damage *d = wkp_capfile_damage(cf, &nd, NULL, NULL);
    for (size_t i = 0; i < nd; i++) {
        FZ_CHECK(d[i].off < dn && d[i].len > 0);
        FZ_CHECK(d[i].len == UINT64_MAX || d[i].off + d[i].len <= n);
        FZ_CHECK(i == 0 || d[i].off >= d[i - 1].off + d[i - 1].len);
        FZ_CHECK(d[i].resumed == (d[i].len != UINT64_MAX && d[i].off + d[i].len < n));
        FZ_CHECK(!d[i].resumed || zc);
    }
    wkp_capfile_close(cf);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds: each capture file through the mmap and the libpcap reader. */
void wkp_fuzz_seed(const char *p, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    size_t len = strlen(p);
    if (len < 5 || (strcmp(p + len - 5, ".pcap") != 0 && strcmp(p + len - 7, ".pcapng") != 0)) {
        emit(data, size); /* a corpus file */
        return;
    }
    uint8_t *buf = malloc(size + 1);
    if (buf == NULL)
        abort();
    memcpy(buf + 1, data, size);
    buf[0] = 1;
    emit(buf, size + 1);
    buf[0] = 2 | 4;
    emit(buf, size + 1);
    buf[0] = 1 | 8; /* mmap, resync */
    emit(buf, size + 1);
    free(buf);
}
#endif
