/* What the capture readers share: the state of an open capture, the file
 * format constants, and the steps each format's reader offers the common
 * code in capfile.c (open, next record, and the plausibility test the
 * resync scan runs over damaged bytes).
 *
 * capfile.c   open, format detection, the damage list and resync, dispatch
 * pcap.c      the mmap reader for pcap files
 * pcapng.c    the mmap reader for pcapng files
 * libpcap.c   the reader on top of libpcap (pipes, stdin, compressed files,
 *             --reader libpcap)
 * decomp.c    gzip, zstd, xz and lz4 streams decompressed for libpcap.c
 * live.c      live capture from a network interface through libpcap
 *
 * Reader thread only; not part of the interface (capture/capfile.h). */
#ifndef WKP_CAPTURE_INTERNAL_H
#define WKP_CAPTURE_INTERNAL_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "capture/capfile.h"
#include "util/nstime.h"

#define PCAP_MAGIC_US        0xa1b2c3d4u
#define PCAP_MAGIC_NS        0xa1b23c4du
#define PCAP_MAGIC_KUZNETZOV 0xa1b2cd34u /* µs, 24-byte record headers */
#define NG_BT_SHB            0x0a0d0d0au
#define NG_BYTE_ORDER        0x1a2b3c4du
#define NG_BT_IDB            1u
#define NG_BT_PB             2u /* obsolete packet block */
#define NG_BT_SPB            3u
#define NG_BT_EPB            6u
#define NG_BT_SJE            9u          /* systemd journal export */
#define NG_BT_DSB            10u         /* decryption secrets */
#define NG_BT_CB             0xbadu      /* custom, may be copied */
#define NG_BT_DCB            0x40000badu /* custom, do not copy */
#define NG_SHB_MAX           (1u << 20)  /* libpcap's BT_SHB_INSANE_MAX */
#define NG_BLOCK_MAX         (16u << 20) /* libpcap's INITIAL_MAX_BLOCKSIZE */
#define NG_PEEK_BLOCKS       256         /* blocks scanned ahead for if_tsresol */
#define PEEK_BYTES           65536       /* bytes the libpcap reader looks at first */
#define NS_PER_S             1000000000
#define TRAILER_MAX          64 /* captured bytes a record may hold beyond its wire length */
#define WIRELEN_MAX          (1u << 20) /* resync: the largest plausible wire length */
#define RESYNC_RUN           4          /* plausible records in a row that end a resync scan */
#define RESYNC_MARGIN_NS     (86400LL * NS_PER_S) /* least slack around the capture's span */

enum fmt { FMT_PCAP, FMT_PCAPNG };
enum lenswap { LEN_NOT_SWAPPED, LEN_SWAPPED, LEN_MAYBE_SWAPPED };
enum ng_step { NG_END = 0, NG_PACKET = 1, NG_IDB = 2, NG_OTHER = 3 };
int wkp__live_next(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err);

/* A new capture state named `name` (path, descriptor name or interface),
 * nothing opened yet; NULL with err filled when out of memory. */
struct wkp_capfile *wkp__cf_new(const char *name, const _Atomic int *stop, wkp_errbuf *err);

/* What a resync candidate looks like (wkp__pcap_plausible, wkp__ng_plausible). */
enum { IMPLAUSIBLE = 0, PLAUSIBLE = 1, PLAUSIBLE_CUT = 2 };

struct ng_if {
    int dlt;
    uint32_t snaplen;
    bool binary; /* resolution 2^-exp, else 10^-exp */
    uint8_t exp;
    int64_t tsoffset; /* seconds added to every timestamp */
    int32_t unsup;    /* index in cf->unsup if the link type is not decoded, else -1 */
};

struct lp_src; /* libpcap.c: the buffered input libpcap reads from */

struct wkp_capfile {
    char *path;
    const _Atomic int *stop; /* the run's stop flag, for reads that can block */
    bool use_pcap;
    enum fmt fmt;
    int digits, first_dlt;
    uint64_t size;
    bool ended, truncated;
    uint64_t trunc_off;
    wkp_status failed; /* sticky: next() repeats it */
    wkp_errbuf fail_msg;

    /* damage (docs/design.md, "Damaged captures") */
    bool resync;
    uint64_t npackets;    /* records handed out */
    int64_t ts_lo, ts_hi; /* span of their timestamps */
    uint32_t caplen_hi;   /* largest caplen among them */
    struct wkp_damage *damage;
    size_t ndamage, damage_cap;
    uint64_t damage_more, damage_more_bytes; /* beyond WKP_DAMAGE_MAX */
    struct wkp_unsup_if *unsup;
    uint32_t nunsup, unsup_cap;
    uint32_t nshb; /* pcapng: section header blocks read */

    /* a record read ahead by wkp_capfile_peek, handed out by the next next() */
    bool held;
    struct wkp_rec held_rec;
    /* wkp_capfile_set_slice: only records starting in [slice_lo, slice_hi) */
    bool sliced;
    uint64_t slice_lo, slice_hi;

    /* mmap reader */
    const uint8_t *map;  /* file offset o is at map + o: the file's mapping or the window */
    const uint8_t *file; /* the file's mapping (resync reads it: map may not hold it yet) */
    uint64_t file_size;  /* of the mapping (size may shrink with a window) */
    /* read window (pcap only): map is an anonymous range on huge pages the
     * file is read into with pread, a few MiB ahead of the reader */
    bool window;
    int win_fd;
    uint8_t *win_base; /* the range as mapped (map is it aligned to 2 MiB) */
    size_t win_len;
    uint8_t *win_spare[16]; /* chunks given back behind the workers, still mapped */
    unsigned win_nspare;
    uint64_t off;
    uint64_t populated; /* [0, populated) is faulted in (read, in a window) ahead of the reader */
    uint64_t released;  /* [0, released) was given back with MADV_DONTNEED */
    bool no_populate;   /* the kernel lacks MADV_POPULATE_READ */
    bool swapped;       /* file (pcapng: section) byte order is not ours */
    /* pcap */
    uint32_t rec_hdr, snapshot, max_caplen, frac_mult;
    enum lenswap lenswap;
    int dlt;
    /* pcapng */
    struct ng_if *ifs;
    uint32_t nifs, ifs_cap;
    int64_t last_ts;

    /* live capture (live.c): pc is the interface's handle */
    bool live;
    const _Atomic int *live_end; /* raised: end the capture like a file's end */
    uint64_t live_limit;         /* packets; 0: no limit */
    int64_t live_deadline;       /* wall-clock ns */

    /* libpcap reader */
    pcap_t *pc;
    struct lp_src *in;   /* owned by pc's stream */
    bool lp_damage;      /* the last libpcap error is damage, not a refusal */
    uint64_t lp_bad_off; /* where the record libpcap refused starts */
};

static inline uint16_t get16(const uint8_t *p, bool sw)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return sw ? __builtin_bswap16(v) : v;
}

static inline uint32_t get32(const uint8_t *p, bool sw)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return sw ? __builtin_bswap32(v) : v;
}

static inline uint64_t get64(const uint8_t *p, bool sw)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return sw ? __builtin_bswap64(v) : v;
}

/* LINKTYPE_* (file) to DLT_* (pcap_datalink()), as libpcap's linktype_to_dlt():
 * only the values below differ on some platform. */
static inline int lt_to_dlt(uint32_t lt)
{
    switch (lt) {
    case 100: return DLT_ATM_RFC1483;
    case 101: return DLT_RAW;
    case 102: return DLT_SLIP_BSDOS;
    case 103: return DLT_PPP_BSDOS;
    case 106: return DLT_ATM_CLIP;
    default: return (int)lt;
    }
}

/* libpcap's max_snaplen_for_dlt(): the most a record may claim. */
static inline uint32_t max_snaplen(int dlt)
{
    switch (dlt) {
    case DLT_DBUS: return 128u * 1024 * 1024;
    case DLT_EBHSCR: return 8u * 1024 * 1024;
    case DLT_USBPCAP: return 1024u * 1024;
    default: return 262144;
    }
}

static inline uint32_t adjust_snaplen(int dlt, uint32_t snaplen)
{
    uint32_t max = max_snaplen(dlt);
    return snaplen == 0 || snaplen > max ? max : snaplen;
}

/* Every timestamp a reader makes is clamped to the range in
 * util/nstime.h, so that differences of timestamps fit in int64. */
static inline int64_t ns_saturate(__int128 v)
{
    if (v > WKP_TS_MAX)
        return WKP_TS_MAX;
    if (v < WKP_TS_MIN)
        return WKP_TS_MIN;
    return (int64_t)v;
}

/* The file ends inside the record at off: the read stops there. */
static inline void cut_at(struct wkp_capfile *cf, uint64_t off)
{
    cf->truncated = true;
    cf->trunc_off = off;
    cf->off = cf->size;
}

/* capfile.c */
__attribute__((format(printf, 2, 3))) void wkp__cf_say(wkp_errbuf *err, const char *fmt, ...);
/* WKP_OK if records of dlt are decoded, else WKP_ELINKTYPE with err naming
 * the link type; where is appended to the message. */
wkp_status wkp__cf_check_dlt(const char *path, int dlt, const char *where, wkp_errbuf *err);
/* pcap or pcapng, from the first n bytes (all the file has if n < PEEK_BYTES). */
wkp_status wkp__cf_classify(const char *path, const uint8_t *b, size_t n, enum fmt *fmt,
                            wkp_errbuf *err);
/* Is ts near the timestamps of the records read so far? */
bool wkp__cf_ts_plausible(const struct wkp_capfile *cf, int64_t ts);

/* pcap.c: the file header (and link type) at cf->map; the record at cf->off
 * (1, 0 at the end, or a negative status); a resync candidate at off. */
wkp_status wkp__pcap_open(struct wkp_capfile *cf, wkp_errbuf *err);
int wkp__pcap_next(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err);
int wkp__pcap_plausible(const struct wkp_capfile *cf, uint64_t off, uint64_t *next);

/* pcapng.c: the blocks up to the first interface description block; the
 * next packet (*at: where its block starts); ts digits and the first
 * decodable link type without changing cf; a resync candidate at off. */
wkp_status wkp__ng_open(struct wkp_capfile *cf, wkp_errbuf *err);
int wkp__ng_next(struct wkp_capfile *cf, struct wkp_rec *rec, uint64_t *at, wkp_errbuf *err);
int wkp__ng_peek(const struct wkp_capfile *cf, int *decodable);
int wkp__ng_plausible(const struct wkp_capfile *cf, uint64_t off, bool *sw, bool *shb,
                      uint32_t *idbs, uint64_t *next);

/* libpcap.c: open on fd (closed by close() if own_fd), decompressing a
 * compressed file; the next record, as wkp__pcap_next; bytes of the file
 * consumed (compressed ones if it is compressed); the file's size. */
wkp_status wkp__lp_open(struct wkp_capfile *cf, int fd, bool own_fd, wkp_errbuf *err);
int wkp__lp_next(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err);
uint64_t wkp__lp_served(const struct wkp_capfile *cf);
uint64_t wkp__lp_size(const struct wkp_capfile *cf);

#endif
