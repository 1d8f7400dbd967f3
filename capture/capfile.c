/* Capture files: open, format detection, damage and resync, and dispatch
 * to the reader of the format (see capture/internal.h for the files).
 *
 * Used by the reader thread only; a wkp_capfile is never shared.
 *
 * A regular file is read by the mmap readers (pcap.c, pcapng.c): the whole
 * file is mapped read-only and walked with an offset, so a record's data
 * points into the mapping and nothing is copied or allocated per packet.
 * Pipes, stdin, compressed files (recognised by their first bytes, not
 * their name) and --reader libpcap go through libpcap (libpcap.c), which
 * decompresses as it reads. Both yield the same records for the same file.
 *
 * A record that cannot be right after at least one good packet is damage
 * (docs/design.md, "Damaged captures"): it is listed, and the read either
 * ends there or, with resync on, goes on at the first later offset where
 * several plausible records follow one another. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "capture/decomp.h"
#include "capture/internal.h"
#include "dissectors/l2l4.h"
#include "util/oneline.h"

void wkp__cf_say(wkp_errbuf *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    wkp_oneline(err->msg, sizeof err->msg); /* a path may hold a line break */
}

wkp_status wkp__cf_check_dlt(const char *path, int dlt, const char *where, wkp_errbuf *err)
{
    if (wkp_dlt_supported(dlt))
        return WKP_OK;
    const char *name = pcap_datalink_val_to_name(dlt);
    wkp__cf_say(err, "%s: unsupported link type %d (%s)%s%s", path, dlt, name ? name : "unknown",
                dlt > 0xffff ? ", the header's link-type field has reserved bits set" : "", where);
    return WKP_ELINKTYPE;
}

/* What the first bytes say. n is all the file has if n < PEEK_BYTES. */
wkp_status wkp__cf_classify(const char *path, const uint8_t *b, size_t n, enum fmt *fmt,
                            wkp_errbuf *err)
{
    if (n == 0) {
        wkp__cf_say(err, "%s: empty file, not a capture", path);
        return WKP_EFORMAT;
    }
    if (n < 4) {
        wkp__cf_say(err, "%s: file too short (%zu bytes), not a pcap or pcapng file", path, n);
        return WKP_EFORMAT;
    }
    uint32_t m = get32(b, false);
    uint32_t s = __builtin_bswap32(m);
    if (m == PCAP_MAGIC_US || m == PCAP_MAGIC_NS || m == PCAP_MAGIC_KUZNETZOV ||
        s == PCAP_MAGIC_US || s == PCAP_MAGIC_NS || s == PCAP_MAGIC_KUZNETZOV) {
        if (n < 24) {
            wkp__cf_say(err, "%s: truncated pcap file header (%zu of 24 bytes)", path, n);
            return WKP_EFORMAT;
        }
        *fmt = FMT_PCAP;
        return WKP_OK;
    }
    if (m == NG_BT_SHB) {
        if (n < 12) {
            wkp__cf_say(err, "%s: truncated pcapng section header (%zu bytes)", path, n);
            return WKP_EFORMAT;
        }
        uint32_t bom = get32(b + 8, false);
        if (bom == NG_BYTE_ORDER || bom == __builtin_bswap32(NG_BYTE_ORDER)) {
            *fmt = FMT_PCAPNG;
            return WKP_OK;
        }
    }
    wkp__cf_say(err, "%s: not a pcap or pcapng file (starts with 0x%02x%02x%02x%02x)", path, b[0],
                b[1], b[2], b[3]);
    return WKP_EFORMAT;
}

/* The read window. Reading a mapped page for the first time costs a TLB
 * miss and, on some virtual machines, far more: walking a 1 GiB mapping
 * took 0.31-0.55 s on the 2-vCPU guest of bench/README.md, while reading
 * the same file with pread into 2 MiB huge pages and walking those took
 * 0.15-0.18 s. So a pcap file is read into an anonymous range as large as
 * the file, at the file's offsets: cf->map + off is the record at off, as
 * with the mapping, and the range is given back behind the workers the same
 * way. The reads are WIN_STEP bytes each, keeping the window WIN_AHEAD
 * bytes ahead of the reader (room for the largest record and one read):
 * bytes the reader walks soon after the copy are still in the core's
 * second-level cache. Reading 2 MiB at a time, 4 MiB ahead, the reader
 * took 0.5 s of CPU more over a 1 GiB capture (bench/README.md).
 * Without transparent huge pages each 4 KiB page would fault on its own
 * (27 times slower there), so the window is used only where the kernel
 * offers them; WKP_READ_WINDOW=0 or 1 decides instead. A chunk the workers
 * are done with is moved (mremap: its page table entry, no copy) to where
 * the next read goes, so its pages are neither zeroed nor faulted again.
 * Only the reader's own advance reads the window; resync and slices, which
 * look anywhere ahead, read the mapping (cf->file), and a slice does
 * without the window. pcapng keeps the mapping: its blocks may be 16 MiB. */
#define WIN_CHUNK      ((uint64_t)2 << 20)
#define WIN_STEP       ((uint64_t)512 << 10) /* divides WIN_CHUNK */
#define WIN_RECORD_MAX ((uint64_t)1 << 20)   /* records of at most this many bytes (+ header) */
#define WIN_AHEAD      (WIN_RECORD_MAX + WIN_STEP)

static bool window_wanted(void)
{
    const char *v = getenv("WKP_READ_WINDOW");
    if (v != NULL && *v != '\0')
        return strcmp(v, "0") != 0;
    char line[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
    if (f == NULL)
        return false;
    bool ok = fgets(line, sizeof line, f) != NULL && strstr(line, "[never]") == NULL;
    fclose(f);
    return ok;
}

/* Set the window up over the mapped file; false leaves the mapping in use. */
static bool window_open(struct wkp_capfile *cf, int fd)
{
    size_t len = (size_t)((cf->size + WIN_CHUNK - 1) & ~(WIN_CHUNK - 1)) + (size_t)WIN_CHUNK;
    void *b =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (b == MAP_FAILED)
        return false;
    uint8_t *at = (uint8_t *)(((uintptr_t)b + WIN_CHUNK - 1) & ~(uintptr_t)(WIN_CHUNK - 1));
    (void)madvise(at, len - (size_t)(at - (uint8_t *)b), MADV_HUGEPAGE);
    cf->win_base = b;
    cf->win_len = len;
    cf->win_fd = fd;
    cf->window = true;
    cf->map = at;
    cf->populated = cf->released = 0;
    return true;
}

static void window_close(struct wkp_capfile *cf)
{
    if (!cf->window)
        return;
    munmap(cf->win_base, cf->win_len); /* the moved chunks are inside it */
    close(cf->win_fd);
    cf->window = false;
    cf->win_nspare = 0;
    cf->map = cf->file;
    cf->populated = cf->released = 0;
}

/* Read the file until the window holds WIN_AHEAD bytes past cf->off (or
 * the file's end). A read error fails the capture; a file found shorter
 * than at open ends where its bytes end (a cut record, if one is). */
static wkp_status window_fill(struct wkp_capfile *cf, wkp_errbuf *err)
{
    while (cf->populated < cf->size && cf->populated < cf->off + WIN_AHEAD) {
        uint64_t from = cf->populated > cf->off ? cf->populated : cf->off & ~(WIN_CHUNK - 1);
        uint64_t to = (from & ~(WIN_STEP - 1)) + WIN_STEP;
        if (to > cf->size)
            to = cf->size;
        uint64_t got = from;
        if (cf->win_nspare > 0 && (from & (WIN_CHUNK - 1)) == 0) { /* a chunk never read into */
            uint8_t *a = cf->win_spare[--cf->win_nspare];
            if (mremap(a, WIN_CHUNK, WIN_CHUNK, MREMAP_MAYMOVE | MREMAP_FIXED,
                       (void *)(uintptr_t)(cf->map + from)) == MAP_FAILED)
                (void)munmap(a, WIN_CHUNK); /* fresh pages, then */
        }
        while (got < to) {
            ssize_t r = pread(cf->win_fd, (void *)(uintptr_t)(cf->map + got), (size_t)(to - got),
                              (off_t)got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                wkp__cf_say(err, "%s: read at %llu: %s", cf->path, (unsigned long long)got,
                            strerror(errno));
                return WKP_EIO;
            }
            if (r == 0)
                break;
            got += (uint64_t)r;
        }
        cf->populated = got;
        if (got < to) { /* the file got shorter */
            cf->size = got;
            break;
        }
    }
    return WKP_OK;
}

static wkp_status open_mmap(struct wkp_capfile *cf, int fd, wkp_errbuf *err)
{
    if (cf->size == 0) {
        close(fd);
        wkp__cf_say(err, "%s: empty file, not a capture", cf->path);
        return WKP_EFORMAT;
    }
    if (cf->size > SIZE_MAX) {
        close(fd);
        wkp__cf_say(err, "%s: too large to map", cf->path);
        return WKP_EIO;
    }
    void *m = mmap(NULL, (size_t)cf->size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    if (m == MAP_FAILED) {
        close(fd);
        wkp__cf_say(err, "%s: mmap: %s", cf->path, strerror(e));
        return WKP_EIO;
    }
    (void)madvise(m, (size_t)cf->size, MADV_SEQUENTIAL); /* a hint: failure is harmless */
    cf->map = cf->file = m;
    cf->file_size = cf->size;
    cf->digits = 6;

    wkp_status st = wkp__cf_classify(cf->path, cf->map, cf->size, &cf->fmt, err);
    if (st == WKP_OK)
        st = cf->fmt == FMT_PCAP ? wkp__pcap_open(cf, err) : wkp__ng_open(cf, err);
    if (st == WKP_OK && cf->fmt == FMT_PCAP && cf->max_caplen <= WIN_RECORD_MAX &&
        window_wanted() && window_open(cf, fd)) {
        fd = -1; /* the window reads it */
        st = window_fill(cf, err);
    }
    if (fd >= 0)
        close(fd); /* the mapping keeps the file */
    return st;
}

/* The compression format of the regular file fd from its first bytes
 * (WKP_Z_NONE if it has none, or on a read error the open reports later). */
static enum wkp_zfmt packed(int fd)
{
    uint8_t b[WKP_Z_MAGIC_MAX];
    ssize_t n = pread(fd, b, sizeof b, 0);
    return n > 0 ? wkp__z_detect(b, (size_t)n) : WKP_Z_NONE;
}

struct wkp_capfile *wkp__cf_new(const char *name, const _Atomic int *stop, wkp_errbuf *err)
{
    struct wkp_capfile *cf = calloc(1, sizeof *cf);
    char *p = strdup(name);
    if (cf == NULL || p == NULL) {
        free(cf);
        free(p);
        wkp__cf_say(err, "%s: out of memory", name);
        return NULL;
    }
    cf->path = p;
    cf->stop = stop;
    cf->first_dlt = -1;
    cf->digits = 6;
    return cf;
}

wkp_status wkp_capfile_open(const char *path, wkp_reader_kind k, struct wkp_capfile **out,
                            wkp_errbuf *err)
{
    return wkp_capfile_open_stoppable(path, k, NULL, out, err);
}

wkp_status wkp_capfile_open_stoppable(const char *path, wkp_reader_kind k, const _Atomic int *stop,
                                      struct wkp_capfile **out, wkp_errbuf *err)
{
    if (path == NULL || out == NULL ||
        (k != WKP_READER_AUTO && k != WKP_READER_MMAP && k != WKP_READER_LIBPCAP)) {
        wkp__cf_say(err, "wkp_capfile_open: invalid argument");
        return WKP_EINVAL;
    }
    struct wkp_capfile *cf = wkp__cf_new(path, stop, err);
    if (cf == NULL)
        return WKP_ENOMEM;

    /* stat before open: opening a FIFO blocks until a writer comes, and
     * the mmap reader refuses one anyway. */
    bool is_stdin = strcmp(path, "-") == 0;
    struct stat sb;
    wkp_status st;
    if (!is_stdin && stat(path, &sb) != 0) {
        wkp__cf_say(err, "%s: %s", path, strerror(errno));
        st = WKP_EIO;
    } else if (!is_stdin && S_ISDIR(sb.st_mode)) {
        wkp__cf_say(err, "%s: is a directory, not a capture", path);
        st = WKP_EIO;
    } else if (k == WKP_READER_MMAP && (is_stdin || !S_ISREG(sb.st_mode))) {
        wkp__cf_say(err, "%s: not a regular file; the mmap reader needs one", path);
        st = WKP_EINVAL;
    } else {
        int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &sb) != 0) {
            wkp__cf_say(err, "%s: %s", path, strerror(errno));
            if (fd >= 0 && !is_stdin)
                close(fd);
            st = WKP_EIO;
        } else {
            bool regular = S_ISREG(sb.st_mode) && !is_stdin;
            cf->size = regular ? (uint64_t)sb.st_size : 0;
            enum wkp_zfmt z = regular && k != WKP_READER_LIBPCAP ? packed(fd) : WKP_Z_NONE;
            if (z != WKP_Z_NONE && k == WKP_READER_MMAP) {
                wkp__cf_say(err, "%s: %s-compressed; the mmap reader needs an uncompressed file",
                            path, wkp__z_name(z));
                close(fd);
                st = WKP_EINVAL;
            } else if (k == WKP_READER_LIBPCAP || !regular || z != WKP_Z_NONE) {
                st = wkp__lp_open(cf, fd, !is_stdin, err);
            } else {
                st = open_mmap(cf, fd, err);
            }
        }
    }
    if (st != WKP_OK) {
        wkp_capfile_close(cf);
        return st;
    }
    *out = cf;
    return WKP_OK;
}

wkp_status wkp_capfile_open_fd(int fd, const char *name, wkp_reader_kind k, const _Atomic int *stop,
                               struct wkp_capfile **out, wkp_errbuf *err)
{
    if (fd < 0 || name == NULL || out == NULL ||
        (k != WKP_READER_AUTO && k != WKP_READER_MMAP && k != WKP_READER_LIBPCAP)) {
        wkp__cf_say(err, "wkp_capfile_open_fd: invalid argument");
        return WKP_EINVAL;
    }
    struct wkp_capfile *cf = wkp__cf_new(name, stop, err);
    if (cf == NULL)
        return WKP_ENOMEM;
    /* our own descriptor: the readers close theirs when done */
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    struct stat sb;
    wkp_status st;
    if (own < 0 || fstat(own, &sb) != 0) {
        wkp__cf_say(err, "%s: %s", name, strerror(errno));
        st = WKP_EIO;
    } else if (S_ISDIR(sb.st_mode)) {
        wkp__cf_say(err, "%s: is a directory, not a capture", name);
        st = WKP_EIO;
    } else if (k == WKP_READER_MMAP && !S_ISREG(sb.st_mode)) {
        wkp__cf_say(err, "%s: not a regular file; the mmap reader needs one", name);
        st = WKP_EINVAL;
    } else {
        bool regular = S_ISREG(sb.st_mode);
        cf->size = regular ? (uint64_t)sb.st_size : 0;
        /* a compressed regular file goes through libpcap, as by its path */
        enum wkp_zfmt z = regular && k != WKP_READER_LIBPCAP ? packed(own) : WKP_Z_NONE;
        if (z != WKP_Z_NONE && k == WKP_READER_MMAP) {
            wkp__cf_say(err, "%s: %s-compressed; the mmap reader needs an uncompressed file", name,
                        wkp__z_name(z));
            st = WKP_EINVAL;
        } else {
            st = k == WKP_READER_LIBPCAP || !regular || z != WKP_Z_NONE
                     ? wkp__lp_open(cf, own, true, err)
                     : open_mmap(cf, own, err);
            own = -1; /* the reader owns (or closed) it */
        }
    }
    if (own >= 0)
        close(own);
    if (st != WKP_OK) {
        wkp_capfile_close(cf);
        return st;
    }
    *out = cf;
    return WKP_OK;
}

/* The mapping is faulted in a window ahead of the reader with
 * MADV_POPULATE_READ (one call per 16 MiB instead of a page fault per page)
 * and released behind the workers with MADV_DONTNEED, so a capture of any
 * size costs about two windows of resident memory (the page cache keeps the
 * file; DONTNEED only drops this process's mapping of it). */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#define WINDOW ((uint64_t)16 << 20)

static void populate_ahead(struct wkp_capfile *cf)
{
    if (cf->window || cf->no_populate || cf->populated >= cf->size ||
        cf->off + WINDOW / 2 < cf->populated)
        return;
    uint64_t from = cf->populated > cf->off ? cf->populated : cf->off & ~(uint64_t)4095;
    uint64_t to = from + WINDOW < cf->size ? from + WINDOW : cf->size;
    if (madvise((void *)(uintptr_t)(cf->map + from), (size_t)(to - from), MADV_POPULATE_READ) != 0)
        cf->no_populate = true; /* old kernel: plain page faults then */
    cf->populated = to;
}

void wkp_capfile_release(struct wkp_capfile *cf, const uint8_t *p)
{
    if (cf == NULL || cf->map == NULL || p < cf->map || p > cf->map + cf->size)
        return;
    /* whole huge pages of a window: giving back part of one splits it */
    uint64_t upto = (uint64_t)(p - cf->map) & ~(cf->window ? WIN_CHUNK - 1 : (uint64_t)4095);
    if (upto < cf->released + WINDOW)
        return;
    if (cf->window) { /* kept for the reads ahead, as many as they may use */
        for (; cf->released < upto; cf->released += WIN_CHUNK) {
            uint8_t *a = (uint8_t *)(uintptr_t)(cf->map + cf->released);
            if (cf->win_nspare < sizeof cf->win_spare / sizeof cf->win_spare[0])
                cf->win_spare[cf->win_nspare++] = a;
            else
                (void)madvise(a, WIN_CHUNK, MADV_DONTNEED);
        }
        return;
    }
    (void)madvise((void *)(uintptr_t)(cf->map + cf->released), (size_t)(upto - cf->released),
                  MADV_DONTNEED);
    cf->released = upto;
}

const uint8_t *wkp_capfile_cursor(const struct wkp_capfile *cf)
{
    return cf->map != NULL ? cf->map + cf->off : NULL;
}

/* ---- damage and resync ------------------------------------------------ */

/* Is ts within the span of the records read so far, give or take the
 * larger of a day and the span itself? (A capture damaged in the middle
 * goes on later than it got, but not years later.) */
bool wkp__cf_ts_plausible(const struct wkp_capfile *cf, int64_t ts)
{
    __int128 span = (__int128)cf->ts_hi - cf->ts_lo;
    __int128 margin = span > RESYNC_MARGIN_NS ? span : RESYNC_MARGIN_NS;
    return (__int128)ts >= (__int128)cf->ts_lo - margin &&
           (__int128)ts <= (__int128)cf->ts_hi + margin;
}

/* Do RESYNC_RUN plausible records follow one another from off (or fewer
 * that reach the end of the file, the last one possibly cut by it)? */
static bool run_from(const struct wkp_capfile *cf, uint64_t off)
{
    bool sw = cf->swapped, shb = false;
    uint32_t idbs = 0;
    for (int i = 0; i < RESYNC_RUN; i++) {
        if (off == cf->size)
            return i > 0;
        uint64_t next = off;
        int p = cf->fmt == FMT_PCAP ? wkp__pcap_plausible(cf, off, &next)
                                    : wkp__ng_plausible(cf, off, &sw, &shb, &idbs, &next);
        if (p != PLAUSIBLE)
            return p == PLAUSIBLE_CUT && i > 0;
        off = next;
    }
    return true;
}

/* The first offset after bad where a run of plausible records starts, or
 * the size of the file if there is none. Every byte offset is tried: a
 * cut-out or inserted piece need not keep any alignment. */
static uint64_t resync_scan(const struct wkp_capfile *cf, uint64_t bad)
{
    for (uint64_t o = bad + 1; o < cf->size; o++)
        if (run_from(cf, o))
            return o;
    return cf->size;
}

static void damage_add(struct wkp_capfile *cf, uint64_t off, uint64_t len, bool resumed,
                       const char *why)
{
    if (cf->ndamage == WKP_DAMAGE_MAX) {
        cf->damage_more++;
        cf->damage_more_bytes += len == UINT64_MAX ? 0 : len;
        return;
    }
    if (cf->ndamage == cf->damage_cap) {
        size_t cap = cf->damage_cap ? cf->damage_cap * 2 : 4;
        struct wkp_damage *n = realloc(cf->damage, cap * sizeof *n);
        if (n == NULL) { /* the read goes on; the list loses this entry */
            cf->damage_more++;
            cf->damage_more_bytes += len == UINT64_MAX ? 0 : len;
            return;
        }
        cf->damage = n;
        cf->damage_cap = cap;
    }
    struct wkp_damage *d = &cf->damage[cf->ndamage++];
    d->off = off;
    d->len = len;
    d->resumed = resumed;
    snprintf(d->why, sizeof d->why, "%s", why);
}

/* The record at bad cannot be right (cf->fail_msg says why) and packets
 * were read before it: note the damage, then resync (mmap reader, on
 * request) or end the read as a cut record does. True if reading goes on. */
static bool damaged(struct wkp_capfile *cf, uint64_t bad)
{
    const char *why = cf->fail_msg.msg;
    size_t pl = strlen(cf->path);
    if (strncmp(why, cf->path, pl) == 0 && why[pl] == ':' && why[pl + 1] == ' ')
        why += pl + 2;
    uint64_t to = cf->size > bad ? cf->size : bad;
    if (cf->resync && cf->map != NULL)
        to = resync_scan(cf, bad);
    bool resumed = to < cf->size;
    damage_add(cf, bad, cf->size == 0 ? UINT64_MAX : to - bad, resumed, why);
    cf->fail_msg.msg[0] = '\0';
    if (cf->map != NULL)
        cf->off = to;
    return resumed;
}

int wkp_capfile_next(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err)
{
    if (cf->map != NULL)
        populate_ahead(cf);
    if (cf->held) {
        cf->held = false;
        *rec = cf->held_rec;
        return 1;
    }
    if (cf->failed != WKP_OK) {
        if (err != NULL)
            *err = cf->fail_msg;
        return cf->failed;
    }
    if (cf->ended)
        return 0;
    int r;
    for (;;) {
        uint64_t at = cf->off;
        if (cf->sliced && cf->off >= cf->slice_hi) { /* the next record is the next slice's */
            r = 0;
            break;
        }
        if (cf->window && cf->populated < cf->off + WIN_AHEAD && cf->populated < cf->size &&
            (r = window_fill(cf, &cf->fail_msg)) != WKP_OK)
            break;
        cf->lp_damage = false;
        rec->unsupported = false;
        if (cf->live) {
            r = wkp__live_next(cf, rec, &cf->fail_msg);
            if (r == WKP_CAPFILE_IDLE)
                return r;
            break;
        }
        if (cf->use_pcap) {
            r = wkp__lp_next(cf, rec, &cf->fail_msg);
            at = cf->lp_bad_off;
        } else if (cf->fmt == FMT_PCAP) {
            r = wkp__pcap_next(cf, rec, &cf->fail_msg);
        } else {
            r = wkp__ng_next(cf, rec, &at, &cf->fail_msg);
        }
        if (r == 1 && cf->sliced && at < cf->slice_lo)
            continue; /* pcapng: a packet before the slice */
        if (r == 1 && cf->sliced && at >= cf->slice_hi) {
            r = 0; /* pcapng: other blocks came first; the packet is the next slice's */
            break;
        }
        /* the first record being bad is not damage: not a capture we read */
        if (r != WKP_EFORMAT || cf->npackets == 0 || (cf->use_pcap && !cf->lp_damage))
            break;
        if (!damaged(cf, at)) {
            r = 0;
            break;
        }
    }
    if (r == 1) {
        if (cf->npackets++ == 0)
            cf->ts_lo = cf->ts_hi = rec->ts_ns;
        else if (rec->ts_ns < cf->ts_lo)
            cf->ts_lo = rec->ts_ns;
        else if (rec->ts_ns > cf->ts_hi)
            cf->ts_hi = rec->ts_ns;
        if (rec->caplen > cf->caplen_hi)
            cf->caplen_hi = rec->caplen;
    } else if (r < 0) {
        cf->failed = (wkp_status)r;
        if (err != NULL)
            *err = cf->fail_msg;
    } else {
        cf->ended = true;
    }
    return r;
}

int wkp_capfile_peek(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err)
{
    if (cf->held) {
        *rec = cf->held_rec;
        return 1;
    }
    int r = wkp_capfile_next(cf, rec, err);
    if (r == 1) {
        cf->held = true;
        cf->held_rec = *rec;
    }
    return r;
}

/* A pcap slice's first record: the first offset at or after start where the
 * resync rule finds plausible records. Its time test is given the first
 * record's stamp as the low end and no high end: a slice cannot know how
 * far the capture goes. */
static void place_pcap_slice(struct wkp_capfile *cf, uint64_t start)
{
    if (start <= cf->off)
        return;
    struct wkp_rec first;
    wkp_errbuf e;
    if (start >= cf->size || wkp__pcap_next(cf, &first, &e) != 1) {
        cf->truncated = false; /* a first record cut or bad belongs to the first slice */
        cf->off = cf->size;
        return;
    }
    cf->ts_lo = first.ts_ns;
    cf->ts_hi = WKP_TS_MAX;
    cf->off = run_from(cf, start) ? start : resync_scan(cf, start);
    cf->ts_lo = cf->ts_hi = 0; /* npackets is 0: the slice's first record sets them */
}

wkp_status wkp_capfile_set_slice(struct wkp_capfile *cf, uint64_t start, uint64_t stop,
                                 wkp_errbuf *err)
{
    if (cf->map == NULL) {
        wkp__cf_say(err, "%s: a byte-offset slice needs the mmap reader (a regular file)",
                    cf->path);
        return WKP_EINVAL;
    }
    window_close(cf); /* a slice starts anywhere: the mapping */
    cf->sliced = true;
    cf->slice_lo = start;
    cf->slice_hi = stop;
    if (cf->fmt == FMT_PCAP)
        place_pcap_slice(cf, start);
    return WKP_OK;
}

void wkp_capfile_set_resync(struct wkp_capfile *cf, bool on)
{
    cf->resync = on;
}

const struct wkp_damage *wkp_capfile_damage(const struct wkp_capfile *cf, size_t *n, uint64_t *more,
                                            uint64_t *more_bytes)
{
    *n = cf->ndamage;
    if (more != NULL)
        *more = cf->damage_more;
    if (more_bytes != NULL)
        *more_bytes = cf->damage_more_bytes;
    return cf->damage;
}

const struct wkp_unsup_if *wkp_capfile_unsupported(const struct wkp_capfile *cf, size_t *n)
{
    *n = cf->nunsup;
    return cf->unsup;
}

bool wkp_capfile_truncated(const struct wkp_capfile *cf, uint64_t *offset)
{
    if (cf->truncated && offset != NULL)
        *offset = cf->trunc_off;
    return cf->truncated;
}

bool wkp_capfile_zero_copy(const struct wkp_capfile *cf)
{
    return !cf->use_pcap && !cf->live;
}

int wkp_capfile_ts_digits(const struct wkp_capfile *cf)
{
    return cf->digits;
}

uint64_t wkp_capfile_size(const struct wkp_capfile *cf)
{
    return cf->use_pcap ? wkp__lp_size(cf) : cf->size;
}

uint64_t wkp_capfile_bytes_done(const struct wkp_capfile *cf)
{
    return cf->use_pcap && !cf->live ? wkp__lp_served(cf) : cf->off;
}

const char *wkp_capfile_path(const struct wkp_capfile *cf)
{
    return cf->path;
}

int wkp_capfile_first_dlt(const struct wkp_capfile *cf)
{
    return cf->first_dlt;
}

void wkp_capfile_close(struct wkp_capfile *cf)
{
    if (cf == NULL)
        return;
    window_close(cf);
    if (cf->file != NULL)
        munmap((void *)cf->file, (size_t)cf->file_size);
    if (cf->pc != NULL)
        pcap_close(cf->pc); /* closes the cookie stream, which frees cf->in */
    free(cf->ifs);
    free(cf->unsup);
    free(cf->damage);
    free(cf->path);
    free(cf);
}
