/* The capture reader on top of libpcap: pipes, stdin, compressed files, and
 * --reader libpcap.
 *
 * libpcap reads through a stdio cookie stream of our own, so that it works
 * the same on pipes and stdin as on files: the cookie remembers the first
 * bytes (to check the magic and find the timestamp resolution, which
 * libpcap does not expose) and counts the bytes libpcap consumed, which
 * gives bytes_done and the offset of a truncated or damaged record. Record
 * data is libpcap's buffer, valid until the next call.
 *
 * A file whose first bytes are a gzip, zstd, xz or lz4 magic is decompressed
 * in the cookie (capture/decomp.h): libpcap sees the capture inside, offsets
 * in messages are offsets in it, and progress counts the compressed bytes
 * read from the file. Corrupt or cut compressed data after a good packet is
 * damage: the read stops there (docs/design.md, "Damaged captures"), the
 * reason naming the compressed byte offset. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/decomp.h"
#include "capture/internal.h"

/* Input of the libpcap reader: a buffer in front of a file descriptor. */
struct lp_src {
    int fd;
    bool own_fd;
    int err; /* errno of a failed read, 0 if none */
    uint8_t *buf;
    size_t len, pos;         /* bytes in buf, bytes of buf already served */
    size_t first_len;        /* bytes of buf that were the file's first bytes */
    bool refilled;           /* buf no longer holds the first bytes */
    uint64_t served;         /* bytes handed to stdio (lp_pos: libpcap's position) */
    FILE *f;                 /* the stream libpcap reads */
    const _Atomic int *stop; /* a run's stop flag, or NULL */
    struct wkp_z *z;         /* the decompressor of a compressed file, or NULL */
    bool zbad;               /* z found corrupt or cut data: wkp__z_error says where */
    uint64_t packed_size;    /* z: the size of the (compressed) file, 0 if unknown */
};

/* read(2) that a stop ends: a pipe whose writer stalls without closing it
 * would otherwise hold the reader (and so the whole run) in read() forever,
 * whatever signal comes. With a stop flag, wait in 100 ms polls and give up
 * with ECANCELED once it is raised. */
static ssize_t src_read_fd(struct lp_src *s, void *dst, size_t n)
{
    while (s->stop != NULL) {
        if (atomic_load_explicit(s->stop, memory_order_relaxed)) {
            errno = ECANCELED;
            return -1;
        }
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        int r = poll(&pfd, 1, 100);
        if (r > 0)
            break;
        if (r < 0 && errno != EINTR)
            break; /* let read() report it */
    }
    return read(s->fd, dst, n);
}

/* The decompressor's source: the file's bytes. */
static ssize_t src_read_raw(void *ctx, void *dst, size_t n)
{
    ssize_t r;
    do
        r = src_read_fd(ctx, dst, n);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Up to n bytes of the capture: the file's, or what they decompress to. */
static ssize_t src_fill(struct lp_src *s, uint8_t *dst, size_t n)
{
    if (s->z == NULL)
        return src_read_fd(s, dst, n);
    ssize_t r = wkp__z_read(s->z, dst, n);
    if (r == -2) {
        s->zbad = true;
        errno = EIO;
        r = -1;
    }
    return r;
}

static ssize_t src_read(void *cookie, char *out, size_t n)
{
    struct lp_src *s = cookie;
    size_t done = 0;
    while (done < n) {
        if (s->pos == s->len) {
            if (done > 0) /* stdio takes short reads: don't wait on a pipe for more */
                break;
            ssize_t r = src_fill(s, s->buf, PEEK_BYTES);
            if (r < 0 && errno == EINTR && !s->zbad)
                continue;
            if (r < 0) {
                if (!s->zbad)
                    s->err = errno;
                s->served += done;
                return done > 0 ? (ssize_t)done : -1;
            }
            if (r == 0)
                break;
            s->len = (size_t)r;
            s->pos = 0;
            s->refilled = true;
        }
        size_t k = s->len - s->pos < n - done ? s->len - s->pos : n - done;
        memcpy(out + done, s->buf + s->pos, k);
        s->pos += k;
        done += k;
    }
    s->served += done;
    return (ssize_t)done;
}

static int src_close(void *cookie)
{
    struct lp_src *s = cookie;
    if (s->own_fd)
        close(s->fd);
    wkp__z_free(s->z);
    free(s->buf);
    free(s);
    return 0;
}

/* Only ftell()'s question, "where are the reads?": the bytes handed to
 * stdio. Moving is refused, as on a pipe. */
static int src_seek(void *cookie, off64_t *pos, int whence)
{
    struct lp_src *s = cookie;
    if (whence != SEEK_CUR || *pos != 0) {
        errno = ESPIPE;
        return -1;
    }
    *pos = (off64_t)s->served;
    return 0;
}

/* libpcap's position in the capture: the bytes handed to stdio less those
 * still unread in its buffer (ftell asks src_seek and subtracts them). */
static uint64_t lp_pos(const struct lp_src *s)
{
    off64_t p = ftello64(s->f);
    return p >= 0 ? (uint64_t)p : s->served;
}

/* Fill buf with the capture's first bytes (up to PEEK_BYTES, fewer at EOF
 * or before corrupt compressed data, which the next read reports again). */
static bool src_prime(struct lp_src *s)
{
    while (s->len < PEEK_BYTES) {
        ssize_t r = src_fill(s, s->buf + s->len, PEEK_BYTES - s->len);
        if (r < 0 && errno == EINTR && !s->zbad)
            continue;
        if (r < 0 && s->zbad && s->len > 0)
            break;
        if (r < 0) {
            if (!s->zbad)
                s->err = errno;
            return false;
        }
        if (r == 0)
            break;
        s->len += (size_t)r;
    }
    s->first_len = s->len;
    return true;
}

/* The first bytes are a compression magic: decompress from here on (the
 * decoder takes the bytes already read). */
static wkp_status src_unpack(struct wkp_capfile *cf, struct lp_src *s, enum wkp_zfmt f,
                             wkp_errbuf *err)
{
    if (!wkp__z_built(f)) {
        wkp__cf_say(err, "%s: %s-compressed, and this build of wa1kpcap has no %s support",
                    cf->path, wkp__z_name(f), wkp__z_name(f));
        return WKP_EFORMAT;
    }
    wkp_status st = wkp__z_new(f, s->buf, s->len, src_read_raw, s, &s->z);
    if (st != WKP_OK) {
        wkp__cf_say(err, "%s: out of memory", cf->path);
        return st;
    }
    s->packed_size = cf->size;
    cf->size = 0; /* of the capture inside: unknown until its end */
    s->len = s->first_len = 0;
    if (src_prime(s))
        return WKP_OK;
    if (s->zbad) {
        wkp__cf_say(err, "%s: %s", cf->path, wkp__z_error(s->z));
        return WKP_EFORMAT;
    }
    wkp__cf_say(err, "%s: %s", cf->path, strerror(s->err));
    return s->err == ECANCELED ? WKP_ESTOPPED : WKP_EIO;
}

wkp_status wkp__lp_open(struct wkp_capfile *cf, int fd, bool own_fd, wkp_errbuf *err)
{
    struct lp_src *s = calloc(1, sizeof *s);
    uint8_t *buf = malloc(PEEK_BYTES);
    if (s == NULL || buf == NULL) {
        free(s);
        free(buf);
        if (own_fd)
            close(fd);
        wkp__cf_say(err, "%s: out of memory", cf->path);
        return WKP_ENOMEM;
    }
    s->fd = fd;
    s->own_fd = own_fd;
    s->buf = buf;
    s->stop = cf->stop;
    if (!src_prime(s)) {
        wkp__cf_say(err, "%s: %s", cf->path, strerror(s->err));
        wkp_status st = s->err == ECANCELED ? WKP_ESTOPPED : WKP_EIO;
        src_close(s);
        return st;
    }
    enum wkp_zfmt zf = wkp__z_detect(s->buf, s->first_len);
    if (zf != WKP_Z_NONE) {
        wkp_status st = src_unpack(cf, s, zf, err);
        if (st != WKP_OK) {
            src_close(s);
            return st;
        }
    }
    wkp_status st = wkp__cf_classify(cf->path, s->buf, s->first_len, &cf->fmt, err);
    if (st != WKP_OK) {
        if (s->zbad) /* too few bytes came out: say why */
            wkp__cf_say(err, "%s: %s", cf->path, wkp__z_error(s->z));
        src_close(s);
        return st;
    }
    /* libpcap keeps the file's resolution to itself: read it from the magic
     * or, for pcapng, from the IDBs in the first bytes. */
    if (cf->fmt == FMT_PCAP) {
        uint32_t m = get32(s->buf, false);
        cf->digits = (m == PCAP_MAGIC_NS || m == __builtin_bswap32(PCAP_MAGIC_NS)) ? 9 : 6;
    } else {
        struct wkp_capfile t = {.path = cf->path, .map = s->buf, .size = s->first_len, .digits = 6};
        int unused;
        cf->digits = wkp__ng_peek(&t, &unused);
    }

    static const cookie_io_functions_t io = {
        .read = src_read, .seek = src_seek, .close = src_close};
    FILE *f = fopencookie(s, "r", io);
    if (f == NULL) {
        wkp__cf_say(err, "%s: %s", cf->path, strerror(errno));
        src_close(s);
        return WKP_ENOMEM;
    }
    /* Buffered: glibc reads an unbuffered cookie stream one byte per call,
     * which made this reader ten times slower than the mmap one. */
    s->f = f;
    setvbuf(f, NULL, _IOFBF, PEEK_BYTES);
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (pc == NULL) {
        bool ioerr = s->err != 0;
        wkp__cf_say(err, "%s: %s", cf->path,
                    ioerr ? strerror(s->err) : s->zbad ? wkp__z_error(s->z) : eb);
        fclose(f); /* the caller keeps the stream when pcap_fopen fails */
        return ioerr ? WKP_EIO : WKP_EFORMAT;
    }
    cf->pc = pc;
    cf->in = s;
    cf->use_pcap = true;
    cf->first_dlt = pcap_datalink(pc);
    return wkp__cf_check_dlt(cf->path, cf->first_dlt, "", err);
}

int wkp__lp_next(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err)
{
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t before = lp_pos(cf->in);
    cf->lp_bad_off = before;
    int r = pcap_next_ex(cf->pc, &h, &d);
    if (r == 1 && h->caplen > (uint64_t)h->len + TRAILER_MAX) {
        /* as the mmap reader: libpcap does not check this */
        wkp__cf_say(err, "%s: %s at %llu claims %u captured bytes of a %u-byte packet", cf->path,
                    cf->fmt == FMT_PCAP ? "record" : "block", (unsigned long long)before, h->caplen,
                    h->len);
        cf->lp_damage = true;
        return WKP_EFORMAT;
    }
    if (r == 1) {
        rec->data = d;
        rec->caplen = h->caplen;
        rec->wirelen = h->len;
        int64_t sec = (int64_t)h->ts.tv_sec, frac = (int64_t)h->ts.tv_usec;
        if (cf->fmt == FMT_PCAP) {
            /* pcap headers hold unsigned 32-bit fields; libpcap 1.10 reads
             * them as signed (tcpdump__timestamp_invalid_micro.pcap has a
             * fraction of 2^31 µs), then scales µs by 1000. Undo the sign
             * so that both readers give sec * 10^9 + frac * unit. */
            sec = (int64_t)(uint32_t)sec;
            frac = cf->digits == 9 ? (int64_t)(uint32_t)frac
                                   : (int64_t)(uint32_t)(int32_t)(frac / 1000) * 1000;
        }
        rec->ts_ns = ns_saturate((__int128)sec * NS_PER_S + frac);
        rec->dlt = pcap_datalink(cf->pc);
        return 1;
    }
    if (cf->in->zbad) { /* whatever libpcap made of the missing bytes */
        wkp__cf_say(err, "%s: %s", cf->path, wkp__z_error(cf->in->z));
        cf->lp_damage = true;
        return WKP_EFORMAT;
    }
    if (r == PCAP_ERROR_BREAK)
        return 0;
    const char *msg = pcap_geterr(cf->pc);
    if (cf->in->err != 0) {
        wkp__cf_say(err, "%s: %s", cf->path, strerror(cf->in->err));
        return cf->in->err == ECANCELED ? WKP_ESTOPPED : WKP_EIO;
    }
    /* "truncated dump file; ..." (pcap), "truncated pcapng dump file; ..." */
    if (strncmp(msg, "truncated", 9) == 0) {
        cf->truncated = true;
        cf->trunc_off = before;
        return 0;
    }
    bool lt = strstr(msg, "different from the type of the first interface") != NULL;
    const char *hint =
        lt ? " (libpcap reads one link type per file; the mmap reader reads them all)" : "";
    cf->lp_damage = !lt; /* any other complaint is about the record's bytes */
    wkp__cf_say(err, "%s: %s at %llu: %s%s", cf->path, cf->fmt == FMT_PCAP ? "record" : "block",
                (unsigned long long)before, msg, hint);
    return WKP_EFORMAT;
}

uint64_t wkp__lp_served(const struct wkp_capfile *cf)
{
    return cf->in->z != NULL ? wkp__z_in(cf->in->z) : lp_pos(cf->in);
}

uint64_t wkp__lp_size(const struct wkp_capfile *cf)
{
    return cf->in->z != NULL ? cf->in->packed_size : cf->size;
}
