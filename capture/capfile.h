/* Capture file readers: pcap (µs and ns, both byte orders) and pcapng.
 *
 * Two implementations behind one interface. The mmap reader is ours: it maps
 * the file and hands out records that point into the mapping (zero copy,
 * valid until wkp_capfile_close), handles pcapng sections with interfaces of
 * different link types and if_tsresol. The libpcap reader uses
 * pcap_next_ex(); its record data is valid only until the next call, so the
 * caller copies it. Used by the reader thread only. */
#ifndef WKP_CAPFILE_H
#define WKP_CAPFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "wa1kpcap/wa1kpcap.h"

struct wkp_capfile;

struct wkp_rec {
    const uint8_t *data;
    union {
        struct {
            uint32_t caplen;  /* bytes at data */
            uint32_t wirelen; /* original length on the wire */
        };
        uint64_t lens; /* both: see wkp_rec_set_lens */
    };
    int64_t ts_ns;    /* capture time, ns since the epoch */
    int dlt;          /* link type of this record (pcapng: its interface's) */
    bool unsupported; /* pcapng: its interface's link type is not decoded */
};

/* Set both lengths with one 8-byte store. The compiler reads the pair
 * with one 8-byte load where it copies both, and a load is forwarded from
 * a store just made only if that one store covers it: two 4-byte stores
 * would make the reader wait for them to reach the cache on every packet. */
static inline void wkp_rec_set_lens(struct wkp_rec *r, uint32_t caplen, uint32_t wirelen)
{
    union {
        struct {
            uint32_t c, w;
        } s;
        uint64_t u;
    } x = {.s = {caplen, wirelen}};
    r->lens = x.u;
}

/* A damaged part of a capture (docs/design.md, "Damaged captures"). */
struct wkp_damage {
    uint64_t off;  /* where the record that cannot be right starts */
    uint64_t len;  /* bytes skipped from off; UINT64_MAX: unknown (a stream) */
    bool resumed;  /* resync found good records at off + len */
    char why[200]; /* what was wrong, without the file name */
};

/* A pcapng interface whose link type is not decoded: its packets are
 * handed out with rec->unsupported set. */
struct wkp_unsup_if {
    uint32_t section;   /* 0-based section header block count */
    uint32_t index;     /* interface id within the section */
    uint64_t block_off; /* offset of its interface description block */
    int dlt;
    uint64_t packets; /* records read on it */
};

/* Open path with reader kind k (AUTO picks mmap for regular files that are
 * not compressed; a gzip, zstd, xz or lz4 file, recognised by its first
 * bytes, is read by the libpcap reader and decompressed). Checks the
 * file header and the link type: an unsupported link type (pcap), or no
 * interface of a decodable link type before the first packet (pcapng), is
 * WKP_ELINKTYPE. On failure err names the file and the problem, e.g.
 * "x.txt: not a pcap or pcapng file (starts with 0x48656c6c)". */
wkp_status wkp_capfile_open(const char *path, wkp_reader_kind k, struct wkp_capfile **out,
                            wkp_errbuf *err);
/* The same, for a run: once *stop is non-zero, a read waiting on a pipe or
 * stdin gives up (ECANCELED) within 100 ms instead of blocking for good. */
wkp_status wkp_capfile_open_stoppable(const char *path, wkp_reader_kind k, const _Atomic int *stop,
                                      struct wkp_capfile **out, wkp_errbuf *err);

/* The same on an open descriptor (a pipe, a socket; a regular file with
 * the mmap reader is read from its start), named `name` in messages. The
 * descriptor is duplicated: the caller keeps fd and closes it. */
wkp_status wkp_capfile_open_fd(int fd, const char *name, wkp_reader_kind k, const _Atomic int *stop,
                               struct wkp_capfile **out, wkp_errbuf *err);

/* What a live capture is asked for (wkp_capfile_open_live). */
struct wkp_live_cfg {
    uint64_t count;      /* end after this many packets; 0: no limit */
    int64_t duration_ns; /* end after this long; 0: no limit */
    int snaplen;         /* bytes kept of each packet; 0: 262144 */
    int buffer_bytes;    /* the kernel's buffer; 0: libpcap's default */
    bool promisc;
};

/* Open a live capture on network interface iface (libpcap; needs the
 * capability to capture). It reads until *end is raised, count packets
 * were read or duration passed, then ends like a file (0); *stop ends it
 * as a stop. Errors name the interface: "eth9: cannot capture: No such
 * device exists ...". */
wkp_status wkp_capfile_open_live(const char *iface, const struct wkp_live_cfg *lc,
                                 const _Atomic int *stop, const _Atomic int *end,
                                 struct wkp_capfile **out, wkp_errbuf *err);

/* A live capture's kernel counters (pcap_stats): false for a file. */
bool wkp_capfile_live_stats(const struct wkp_capfile *cf, uint64_t *received, uint64_t *dropped,
                            uint64_t *if_dropped);

/* next() of a live capture when no packet came within 100 ms: rec->ts_ns
 * holds the wall-clock time, and rec nothing else. */
#define WKP_CAPFILE_IDLE 2

/* Next record. Returns 1 with *rec filled, 0 at the end of the file, or a
 * negative wkp_status with err filled (e.g. a corrupt record before the
 * first packet). A file cut inside its last record ends with 0 and
 * wkp_capfile_truncated() true. A record that cannot be right after at
 * least one good packet is damage, not an error: the read ends there (0),
 * or with resync on (mmap reader) goes on at the next place where several
 * plausible records follow; each is listed by wkp_capfile_damage(). */
int wkp_capfile_next(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err);

/* The next record without taking it: the next call of next() hands out the
 * same record (data valid as next() says). Same returns as next(). */
int wkp_capfile_peek(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err);

/* Read only the records whose first byte lies in [start, stop) (stop
 * UINT64_MAX: to the end), so that consecutive slices cover every record
 * once. A pcap slice starting inside a record begins at the first later
 * offset where several plausible records follow one another (the resync
 * rule, without its time test: a slice knows only the first packet's time);
 * a pcapng slice walks the blocks from the file's start, so it keeps the
 * interfaces, and skips the packets before start. mmap reader only
 * (WKP_EINVAL otherwise); before the first next() or peek(). */
wkp_status wkp_capfile_set_slice(struct wkp_capfile *cf, uint64_t start, uint64_t stop,
                                 wkp_errbuf *err);

/* After the end: true if the file was cut inside a record; *offset is the
 * byte offset where that record starts. */
bool wkp_capfile_truncated(const struct wkp_capfile *cf, uint64_t *offset);

/* Resync past damage instead of ending the read. Only the mmap reader
 * scans; the libpcap reader always ends at damage. Before the first next(). */
void wkp_capfile_set_resync(struct wkp_capfile *cf, bool on);

/* The damage met so far, in file order (at most WKP_DAMAGE_MAX entries;
 * *more counts those beyond, *more_bytes their skipped bytes). Valid until
 * the next call of next() or close. */
#define WKP_DAMAGE_MAX 1024
const struct wkp_damage *wkp_capfile_damage(const struct wkp_capfile *cf, size_t *n, uint64_t *more,
                                            uint64_t *more_bytes);

/* pcapng interfaces of an undecoded link type met so far, with their
 * packet counts. Valid until the next call of next() or close. */
const struct wkp_unsup_if *wkp_capfile_unsupported(const struct wkp_capfile *cf, size_t *n);

/* True if record data stays valid until close (mmap), false if it is
 * overwritten by the next call (libpcap). */
bool wkp_capfile_zero_copy(const struct wkp_capfile *cf);

/* Timestamp decimals to print: 6 for µs captures, 9 if the file (or any of
 * its pcapng interfaces) has a finer resolution. */
int wkp_capfile_ts_digits(const struct wkp_capfile *cf);

/* Bytes of the file (0 if unknown: a pipe) and those consumed so far; for a
 * compressed file both count compressed bytes (progress). */
uint64_t wkp_capfile_size(const struct wkp_capfile *cf);
uint64_t wkp_capfile_bytes_done(const struct wkp_capfile *cf);
const char *wkp_capfile_path(const struct wkp_capfile *cf);
int wkp_capfile_first_dlt(const struct wkp_capfile *cf);

/* mmap reader: nothing before p (a record pointer handed out earlier, or the
 * cursor) is read again; its pages may leave the process's memory. No-op
 * for the libpcap reader. Reader thread only. */
void wkp_capfile_release(struct wkp_capfile *cf, const uint8_t *p);
/* mmap reader: where the next record starts (NULL for libpcap). */
const uint8_t *wkp_capfile_cursor(const struct wkp_capfile *cf);

void wkp_capfile_close(struct wkp_capfile *cf); /* NULL is a no-op */

#endif
