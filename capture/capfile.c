/* Capture file readers: our mmap reader (pcap and pcapng) and libpcap's.
 *
 * Used by the reader thread only; a wkp_capfile is never shared.
 *
 * The mmap reader maps the whole file read-only and walks it with an offset:
 * a record's data points into the mapping, so nothing is copied and nothing
 * is allocated per packet. Every length read from the file is checked
 * against what is left of the mapping (or of the block) before it is used.
 * Where the file format leaves room for judgement it decides as libpcap 1.10
 * does, so that both readers yield the same records:
 *  - pcap link-type field: bits 0-25 are the link type (LT_LINKTYPE), mapped
 *    to a DLT as linktype_to_dlt() does (LINKTYPE_RAW 101 -> DLT_RAW ...).
 *    A header with reserved bits set thus names a huge, unsupported type.
 *  - pcap 2.0-2.2 files (and 2.3 files where caplen > len) have caplen and
 *    len swapped; version 1.x is "archaic" and refused.
 *  - a record claiming more than the link type's maximum snapshot length
 *    (262144 for every type we decode) is corruption: an error naming its
 *    offset. One claiming more than the file's snaplen but less than that
 *    maximum is cut to the snaplen, the rest skipped.
 *  - a record (pcap) or block (pcapng) cut by the end of the file ends the
 *    file early: wkp_capfile_truncated() reports where it started (D14).
 * Beyond libpcap (FIX-9): pcapng interfaces may differ in link type, several
 * sections are read (each resets the interface list, and may switch byte
 * order), if_tsresol and if_tsoffset are honoured exactly, and a simple
 * packet block (which has no timestamp) gets the timestamp of the packet
 * before it, 0 if none: libpcap gives it 0, which would put it in 1970.
 *
 * The libpcap reader reads through a stdio cookie stream of our own, so that
 * it works the same on pipes and stdin as on files: the cookie remembers the
 * first bytes (to check the magic and find the timestamp resolution, which
 * libpcap does not expose) and counts the bytes libpcap consumed, which gives
 * bytes_done and the offset of a truncated record. */
#include "capture/capfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "dissectors/l2l4.h"
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

struct ng_if {
    int dlt;
    uint32_t snaplen;
    bool binary; /* resolution 2^-exp, else 10^-exp */
    uint8_t exp;
    int64_t tsoffset; /* seconds added to every timestamp */
    int32_t unsup;    /* index in cf->unsup if the link type is not decoded, else -1 */
};

/* Input of the libpcap reader: a buffer in front of a file descriptor. */
struct src {
    int fd;
    bool own_fd;
    int err; /* errno of a failed read, 0 if none */
    uint8_t *buf;
    size_t len, pos;  /* bytes in buf, bytes of buf already served */
    size_t first_len; /* bytes of buf that were the file's first bytes */
    bool refilled;    /* buf no longer holds the first bytes */
    uint64_t served;  /* bytes handed to libpcap: its position in the file */
    const _Atomic int *stop; /* a run's stop flag, or NULL */
};

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

    /* mmap reader */
    const uint8_t *map;
    uint64_t off;
    uint64_t populated; /* [0, populated) has been faulted in ahead of the reader */
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

    /* libpcap reader */
    pcap_t *pc;
    struct src *in;      /* owned by pc's stream */
    bool lp_damage;      /* the last libpcap error is damage, not a refusal */
    uint64_t lp_bad_off; /* where the record libpcap refused starts */
};

__attribute__((format(printf, 2, 3))) static void say(wkp_errbuf *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static uint16_t get16(const uint8_t *p, bool sw)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return sw ? __builtin_bswap16(v) : v;
}

static uint32_t get32(const uint8_t *p, bool sw)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return sw ? __builtin_bswap32(v) : v;
}

static uint64_t get64(const uint8_t *p, bool sw)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return sw ? __builtin_bswap64(v) : v;
}

/* LINKTYPE_* (file) to DLT_* (pcap_datalink()), as libpcap's linktype_to_dlt():
 * only the values below differ on some platform. */
static int lt_to_dlt(uint32_t lt)
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
static uint32_t max_snaplen(int dlt)
{
    switch (dlt) {
    case DLT_DBUS: return 128u * 1024 * 1024;
    case DLT_EBHSCR: return 8u * 1024 * 1024;
    case DLT_USBPCAP: return 1024u * 1024;
    default: return 262144;
    }
}

static uint32_t adjust_snaplen(int dlt, uint32_t snaplen)
{
    uint32_t max = max_snaplen(dlt);
    return snaplen == 0 || snaplen > max ? max : snaplen;
}

/* Every timestamp a reader makes is clamped to the range in
 * util/nstime.h, so that differences of timestamps fit in int64. */
static int64_t ns_saturate(__int128 v)
{
    if (v > WKP_TS_MAX)
        return WKP_TS_MAX;
    if (v < WKP_TS_MIN)
        return WKP_TS_MIN;
    return (int64_t)v;
}

static wkp_status check_dlt(const char *path, int dlt, const char *where, wkp_errbuf *err)
{
    if (wkp_dlt_supported(dlt))
        return WKP_OK;
    const char *name = pcap_datalink_val_to_name(dlt);
    say(err, "%s: unsupported link type %d (%s)%s%s", path, dlt, name ? name : "unknown",
        dlt > 0xffff ? ", the header's link-type field has reserved bits set" : "", where);
    return WKP_ELINKTYPE;
}

/* What the first bytes say. n is all the file has if n < PEEK_BYTES. */
static wkp_status classify(const char *path, const uint8_t *b, size_t n, enum fmt *fmt,
                           wkp_errbuf *err)
{
    if (n == 0) {
        say(err, "%s: empty file, not a capture", path);
        return WKP_EFORMAT;
    }
    if (n < 4) {
        say(err, "%s: file too short (%zu bytes), not a pcap or pcapng file", path, n);
        return WKP_EFORMAT;
    }
    uint32_t m = get32(b, false);
    uint32_t s = __builtin_bswap32(m);
    if (m == PCAP_MAGIC_US || m == PCAP_MAGIC_NS || m == PCAP_MAGIC_KUZNETZOV ||
        s == PCAP_MAGIC_US || s == PCAP_MAGIC_NS || s == PCAP_MAGIC_KUZNETZOV) {
        if (n < 24) {
            say(err, "%s: truncated pcap file header (%zu of 24 bytes)", path, n);
            return WKP_EFORMAT;
        }
        *fmt = FMT_PCAP;
        return WKP_OK;
    }
    if (m == NG_BT_SHB) {
        if (n < 12) {
            say(err, "%s: truncated pcapng section header (%zu bytes)", path, n);
            return WKP_EFORMAT;
        }
        uint32_t bom = get32(b + 8, false);
        if (bom == NG_BYTE_ORDER || bom == __builtin_bswap32(NG_BYTE_ORDER)) {
            *fmt = FMT_PCAPNG;
            return WKP_OK;
        }
    }
    say(err, "%s: not a pcap or pcapng file (starts with 0x%02x%02x%02x%02x)", path, b[0], b[1],
        b[2], b[3]);
    return WKP_EFORMAT;
}

/* ---- pcap (mmap) ------------------------------------------------------- */

static wkp_status pcap_header(struct wkp_capfile *cf, wkp_errbuf *err)
{
    const uint8_t *h = cf->map;
    uint32_t m = get32(h, false);
    cf->swapped = m != PCAP_MAGIC_US && m != PCAP_MAGIC_NS && m != PCAP_MAGIC_KUZNETZOV;
    m = get32(h, cf->swapped);
    unsigned major = get16(h + 4, cf->swapped), minor = get16(h + 6, cf->swapped);
    if (major < 2) {
        say(err, "%s: archaic pcap savefile format (version %u.%u), not supported", cf->path, major,
            minor);
        return WKP_EFORMAT;
    }
    if (!((major == 2 && minor <= 4) || (major == 543 && minor == 0))) {
        say(err, "%s: unsupported pcap savefile version %u.%u", cf->path, major, minor);
        return WKP_EFORMAT;
    }
    /* Before 2.3 caplen and len were in the other order; some 2.3 writers
     * used either (libpcap guesses from caplen > len); DG/UX wrote 543.0. */
    if (major == 543 || minor < 3)
        cf->lenswap = LEN_SWAPPED;
    else if (minor == 3)
        cf->lenswap = LEN_MAYBE_SWAPPED;
    else
        cf->lenswap = LEN_NOT_SWAPPED;
    cf->dlt = lt_to_dlt(get32(h + 20, cf->swapped) & 0x03ffffffu);
    cf->first_dlt = cf->dlt;
    cf->max_caplen = max_snaplen(cf->dlt);
    cf->snapshot = adjust_snaplen(cf->dlt, get32(h + 16, cf->swapped));
    cf->rec_hdr = 16;
    if (m == PCAP_MAGIC_KUZNETZOV) {
        cf->rec_hdr = 24; /* + ifindex, protocol, pkt_type, pad */
        if (cf->dlt == DLT_EN10MB)
            cf->snapshot += 14; /* libpcap: a cooked capture gained a fake Ethernet header */
    }
    cf->frac_mult = m == PCAP_MAGIC_NS ? 1 : 1000;
    cf->digits = m == PCAP_MAGIC_NS ? 9 : 6;
    cf->off = 24;
    return WKP_OK;
}

static void cut_at(struct wkp_capfile *cf, uint64_t off)
{
    cf->truncated = true;
    cf->trunc_off = off;
    cf->off = cf->size;
}

static int pcap_next_mmap(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err)
{
    uint64_t off = cf->off, rem = cf->size - off;
    if (rem == 0)
        return 0;
    if (rem < cf->rec_hdr) {
        cut_at(cf, off);
        return 0;
    }
    const uint8_t *h = cf->map + off;
    uint32_t sec = get32(h, cf->swapped), frac = get32(h + 4, cf->swapped);
    uint32_t caplen = get32(h + 8, cf->swapped), wirelen = get32(h + 12, cf->swapped);
    if (cf->lenswap == LEN_SWAPPED || (cf->lenswap == LEN_MAYBE_SWAPPED && caplen > wirelen)) {
        uint32_t t = caplen;
        caplen = wirelen;
        wirelen = t;
    }
    if (caplen > cf->max_caplen) {
        say(err, "%s: record at %llu claims %u bytes, more than the maximum %u", cf->path,
            (unsigned long long)off, caplen, cf->max_caplen);
        return WKP_EFORMAT;
    }
    if (caplen > (uint64_t)wirelen + TRAILER_MAX) {
        say(err, "%s: record at %llu claims %u captured bytes of a %u-byte packet", cf->path,
            (unsigned long long)off, caplen, wirelen);
        return WKP_EFORMAT;
    }
    if (caplen > rem - cf->rec_hdr) {
        cut_at(cf, off);
        return 0;
    }
    rec->data = h + cf->rec_hdr;
    rec->caplen = caplen < cf->snapshot ? caplen : cf->snapshot;
    rec->wirelen = wirelen;
    /* frac is not checked against 10^6 / 10^9: tshark and libpcap carry an
     * out-of-range fraction over into the seconds the same way. */
    rec->ts_ns = ns_saturate((__int128)sec * NS_PER_S + (__int128)frac * cf->frac_mult);
    rec->dlt = cf->dlt;
    cf->off = off + cf->rec_hdr + caplen;
    /* The next record's header and the first bytes of its frame: fetched
     * while this record is parsed and dispatched (one record of lookahead
     * hides most of the memory latency of a first touch). */
    if (cf->off + 128 <= cf->size) {
        __builtin_prefetch(cf->map + cf->off);
        __builtin_prefetch(cf->map + cf->off + 64);
    }
    return 1;
}

/* ---- pcapng (mmap) ----------------------------------------------------- */

static const char *ng_block_name(uint32_t type)
{
    switch (type) {
    case NG_BT_SHB: return "section header";
    case NG_BT_IDB: return "interface description";
    case NG_BT_EPB: return "enhanced packet";
    case NG_BT_SPB: return "simple packet";
    case NG_BT_PB: return "packet";
    default: return "unknown";
    }
}

/* Walk the options of the block at boff, body[0..n) starting at file offset
 * ooff. ifc (IDB only) receives if_tsresol and if_tsoffset. */
static wkp_status ng_options(const struct wkp_capfile *cf, const uint8_t *p, uint32_t n, bool sw,
                             uint64_t boff, uint32_t btype, uint64_t ooff, struct ng_if *ifc,
                             wkp_errbuf *err)
{
    const char *bname = ng_block_name(btype);
    while (n > 0) {
        if (n < 4) {
            say(err, "%s: pcapng %s block at %llu: option header at %llu cut short (%u bytes)",
                cf->path, bname, (unsigned long long)boff, (unsigned long long)ooff, n);
            return WKP_EFORMAT;
        }
        uint16_t code = get16(p, sw), olen = get16(p + 2, sw);
        uint32_t padded = ((uint32_t)olen + 3) & ~3u;
        if (padded > n - 4) {
            say(err, "%s: pcapng %s block at %llu: option %u at %llu claims %u bytes, %u left",
                cf->path, bname, (unsigned long long)boff, code, (unsigned long long)ooff, olen,
                n - 4);
            return WKP_EFORMAT;
        }
        if (code == 0) /* opt_endofopt */
            break;
        if (ifc != NULL && code == 9) { /* if_tsresol */
            uint8_t v = p[4];
            ifc->binary = (v & 0x80) != 0;
            ifc->exp = v & 0x7f;
            /* libpcap's limits: the divisor must fit in 64 bits */
            if (olen != 1 || (ifc->binary ? ifc->exp > 63 : ifc->exp > 19)) {
                say(err,
                    "%s: pcapng interface description block at %llu: bad if_tsresol "
                    "(length %u, value 0x%02x)",
                    cf->path, (unsigned long long)boff, olen, v);
                return WKP_EFORMAT;
            }
        } else if (ifc != NULL && code == 14) { /* if_tsoffset */
            if (olen != 8) {
                say(err,
                    "%s: pcapng interface description block at %llu: if_tsoffset of "
                    "length %u, not 8",
                    cf->path, (unsigned long long)boff, olen);
                return WKP_EFORMAT;
            }
            ifc->tsoffset = (int64_t)get64(p + 4, sw);
        }
        p += 4 + padded;
        n -= 4 + padded;
        ooff += 4 + padded;
    }
    return WKP_OK;
}

/* Timestamp units of ifc to ns, exactly: 10^-e -> x 10^(9-e) or / 10^(e-9);
 * 2^-k -> x 10^9 >> k (the floor, as libpcap). Clamped to the timestamp
 * range. */
static int64_t ng_ts(const struct ng_if *ifc, uint64_t t)
{
    static const uint64_t p10[] = {1ull,         10ull,         100ull,        1000ull,
                                   10000ull,     100000ull,     1000000ull,    10000000ull,
                                   100000000ull, 1000000000ull, 10000000000ull};
    __int128 ns;
    if (ifc->binary)
        ns = (__int128)(((unsigned __int128)t * NS_PER_S) >> ifc->exp);
    else if (ifc->exp <= 9)
        ns = (__int128)t * p10[9 - ifc->exp];
    else
        ns = (__int128)(t / p10[ifc->exp - 9]);
    return ns_saturate(ns + (__int128)ifc->tsoffset * NS_PER_S);
}

static bool ng_finer_than_us(const struct ng_if *ifc)
{
    return ifc->binary ? ifc->exp >= 20 : ifc->exp > 6; /* 2^-20 s < 1 µs */
}

static wkp_status ng_trailer(const struct wkp_capfile *cf, const uint8_t *b, uint32_t len, bool sw,
                             uint32_t type, uint64_t off, wkp_errbuf *err)
{
    uint32_t t = get32(b + len - 4, sw);
    if (t == len)
        return WKP_OK;
    say(err, "%s: pcapng %s block at %llu: length %u in its header, %u in its trailer", cf->path,
        ng_block_name(type), (unsigned long long)off, len, t);
    return WKP_EFORMAT;
}

/* Process the block at cf->off. Returns an enum ng_step (NG_END also when
 * the block is cut by the end of the file, with cf->truncated set) or a
 * negative status with err filled. */
static int ng_block(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err)
{
    uint64_t off = cf->off, rem = cf->size - off;
    if (rem == 0)
        return NG_END;
    if (rem < 12) {
        cut_at(cf, off);
        return NG_END;
    }
    const uint8_t *b = cf->map + off;
    bool sw = cf->swapped;
    uint32_t type = get32(b, sw); /* the SHB type reads the same in both orders */
    if (type == NG_BT_SHB) {
        uint32_t bom = get32(b + 8, false);
        if (bom != NG_BYTE_ORDER && bom != __builtin_bswap32(NG_BYTE_ORDER)) {
            say(err,
                "%s: pcapng section header block at %llu has a bad byte-order magic "
                "0x%08x",
                cf->path, (unsigned long long)off, bom);
            return WKP_EFORMAT;
        }
        sw = bom != NG_BYTE_ORDER;
    }
    uint32_t len = get32(b + 4, sw);
    uint32_t max = type == NG_BT_SHB ? NG_SHB_MAX : NG_BLOCK_MAX;
    if (len < 12 || len % 4 != 0 || len > max) {
        say(err, "%s: pcapng %s block at %llu has an invalid length %u", cf->path,
            ng_block_name(type), (unsigned long long)off, len);
        return WKP_EFORMAT;
    }
    if (len > rem) {
        cut_at(cf, off);
        return NG_END;
    }
    const uint8_t *body = b + 8;
    uint32_t blen = len - 12;
    wkp_status st;
    int step = NG_OTHER;

    switch (type) {
    case NG_BT_SHB: {
        if (blen < 16) {
            say(err, "%s: pcapng section header block at %llu is too short (%u bytes)", cf->path,
                (unsigned long long)off, len);
            return WKP_EFORMAT;
        }
        unsigned major = get16(body + 4, sw), minor = get16(body + 6, sw);
        if (major != 1) {
            say(err, "%s: pcapng section header block at %llu: unsupported version %u.%u", cf->path,
                (unsigned long long)off, major, minor);
            return WKP_EFORMAT;
        }
        st = ng_options(cf, body + 16, blen - 16, sw, off, type, off + 24, NULL, err);
        if (st == WKP_OK)
            st = ng_trailer(cf, b, len, sw, type, off, err);
        if (st != WKP_OK)
            return st;
        cf->swapped = sw;
        cf->nifs = 0; /* interface ids are per section */
        cf->nshb++;
        break;
    }
    case NG_BT_IDB: {
        if (blen < 8) {
            say(err, "%s: pcapng interface description block at %llu is too short (%u bytes)",
                cf->path, (unsigned long long)off, len);
            return WKP_EFORMAT;
        }
        struct ng_if ifc = {.dlt = lt_to_dlt(get16(body, sw)),
                            .snaplen = get32(body + 4, sw),
                            .exp = 6,
                            .unsup = -1};
        st = ng_options(cf, body + 8, blen - 8, sw, off, type, off + 16, &ifc, err);
        if (st == WKP_OK)
            st = ng_trailer(cf, b, len, sw, type, off, err);
        if (st != WKP_OK)
            return st;
        if (cf->nifs == cf->ifs_cap) {
            uint32_t cap = cf->ifs_cap ? cf->ifs_cap * 2 : 8;
            struct ng_if *n = realloc(cf->ifs, cap * sizeof *n);
            if (n == NULL) {
                say(err, "%s: out of memory for pcapng interfaces", cf->path);
                return WKP_ENOMEM;
            }
            cf->ifs = n;
            cf->ifs_cap = cap;
        }
        if (!wkp_dlt_supported(ifc.dlt)) {
            /* its packets are counted, not decoded: the other interfaces
             * are still analysed */
            if (cf->nunsup == cf->unsup_cap) {
                uint32_t cap = cf->unsup_cap ? cf->unsup_cap * 2 : 4;
                struct wkp_unsup_if *n = realloc(cf->unsup, cap * sizeof *n);
                if (n == NULL) {
                    say(err, "%s: out of memory for pcapng interfaces", cf->path);
                    return WKP_ENOMEM;
                }
                cf->unsup = n;
                cf->unsup_cap = cap;
            }
            cf->unsup[cf->nunsup] = (struct wkp_unsup_if){.section = cf->nshb ? cf->nshb - 1 : 0,
                                                          .index = cf->nifs,
                                                          .block_off = off,
                                                          .dlt = ifc.dlt};
            ifc.unsup = (int32_t)cf->nunsup++;
        }
        cf->ifs[cf->nifs++] = ifc;
        if (ng_finer_than_us(&ifc))
            cf->digits = 9;
        step = NG_IDB;
        break;
    }
    case NG_BT_EPB:
    case NG_BT_PB: {
        if (blen < 20) {
            say(err, "%s: pcapng %s block at %llu is too short (%u bytes)", cf->path,
                ng_block_name(type), (unsigned long long)off, len);
            return WKP_EFORMAT;
        }
        st = ng_trailer(cf, b, len, sw, type, off, err);
        if (st != WKP_OK)
            return st;
        uint32_t ifid = type == NG_BT_EPB ? get32(body, sw) : get16(body, sw);
        uint64_t t = (uint64_t)get32(body + 4, sw) << 32 | get32(body + 8, sw);
        uint32_t caplen = get32(body + 12, sw), wirelen = get32(body + 16, sw);
        if (ifid >= cf->nifs) {
            say(err, "%s: pcapng %s block at %llu: interface %u, but the section describes %u",
                cf->path, ng_block_name(type), (unsigned long long)off, ifid, cf->nifs);
            return WKP_EFORMAT;
        }
        const struct ng_if *ifc = &cf->ifs[ifid];
        if (caplen > blen - 20) {
            say(err, "%s: pcapng %s block at %llu claims %u captured bytes, holds %u", cf->path,
                ng_block_name(type), (unsigned long long)off, caplen, blen - 20);
            return WKP_EFORMAT;
        }
        if (caplen > max_snaplen(ifc->dlt)) {
            say(err, "%s: record at %llu claims %u bytes, more than the maximum %u", cf->path,
                (unsigned long long)off, caplen, max_snaplen(ifc->dlt));
            return WKP_EFORMAT;
        }
        if (caplen > (uint64_t)wirelen + TRAILER_MAX) {
            say(err, "%s: pcapng %s block at %llu claims %u captured bytes of a %u-byte packet",
                cf->path, ng_block_name(type), (unsigned long long)off, caplen, wirelen);
            return WKP_EFORMAT;
        }
        rec->data = body + 20;
        rec->caplen = caplen;
        rec->wirelen = wirelen;
        rec->ts_ns = ng_ts(ifc, t);
        rec->dlt = ifc->dlt;
        rec->unsupported = ifc->unsup >= 0;
        if (ifc->unsup >= 0)
            cf->unsup[ifc->unsup].packets++;
        cf->last_ts = rec->ts_ns;
        step = NG_PACKET;
        break;
    }
    case NG_BT_SPB: {
        if (blen < 4) {
            say(err, "%s: pcapng simple packet block at %llu is too short (%u bytes)", cf->path,
                (unsigned long long)off, len);
            return WKP_EFORMAT;
        }
        st = ng_trailer(cf, b, len, sw, type, off, err);
        if (st != WKP_OK)
            return st;
        if (cf->nifs == 0) {
            say(err,
                "%s: pcapng simple packet block at %llu, but the section describes no "
                "interface",
                cf->path, (unsigned long long)off);
            return WKP_EFORMAT;
        }
        /* The SPB has no caplen: the packet is cut to the snaplen of
         * interface 0 (its interface by definition) and to the block. */
        uint32_t wirelen = get32(body, sw);
        uint32_t caplen = wirelen;
        uint32_t snap = adjust_snaplen(cf->ifs[0].dlt, cf->ifs[0].snaplen);
        if (caplen > snap)
            caplen = snap;
        if (caplen > blen - 4)
            caplen = blen - 4;
        rec->data = body + 4;
        rec->caplen = caplen;
        rec->wirelen = wirelen;
        rec->ts_ns = cf->last_ts;
        rec->dlt = cf->ifs[0].dlt;
        rec->unsupported = cf->ifs[0].unsup >= 0;
        if (cf->ifs[0].unsup >= 0)
            cf->unsup[cf->ifs[0].unsup].packets++;
        step = NG_PACKET;
        break;
    }
    default: /* NRB, ISB, DSB, custom...: nothing we need */
        st = ng_trailer(cf, b, len, sw, type, off, err);
        if (st != WKP_OK)
            return st;
        break;
    }
    cf->off = off + len;
    return step;
}

/* ts digits, and the first decodable link type (-1 if none), from the
 * interfaces cf already has and the IDBs that follow cf->off up to the first
 * packet block, without changing cf: the common writers put every IDB
 * before the first packet, so the answers are final at open. A later finer
 * IDB still raises wkp_capfile_ts_digits() when it is read. */
static int ng_peek(const struct wkp_capfile *cf, int *decodable)
{
    struct wkp_capfile t = *cf;
    t.ifs = NULL;
    t.nifs = t.ifs_cap = 0;
    t.unsup = NULL;
    t.nunsup = t.unsup_cap = 0;
    *decodable = -1;
    for (uint32_t i = 0; i < cf->nifs && *decodable < 0; i++)
        if (cf->ifs[i].unsup < 0)
            *decodable = cf->ifs[i].dlt;
    struct wkp_rec rec;
    for (int i = 0; i < NG_PEEK_BLOCKS; i++) {
        uint64_t before = t.off;
        if (t.off + 8 <= t.size) {
            uint32_t type = get32(t.map + t.off, t.swapped);
            if (type == NG_BT_EPB || type == NG_BT_PB || type == NG_BT_SPB)
                break;
        }
        int r = ng_block(&t, &rec, NULL);
        if (r <= 0 || t.off == before)
            break;
        if (r == NG_IDB && *decodable < 0 && t.ifs[t.nifs - 1].unsup < 0)
            *decodable = t.ifs[t.nifs - 1].dlt;
    }
    free(t.ifs);
    free(t.unsup);
    return t.digits;
}

/* ---- libpcap reader ---------------------------------------------------- */

/* read(2) that a stop ends: a pipe whose writer stalls without closing it
 * would otherwise hold the reader (and so the whole run) in read() forever,
 * whatever signal comes. With a stop flag, wait in 100 ms polls and give up
 * with ECANCELED once it is raised. */
static ssize_t src_read_fd(struct src *s, void *dst, size_t n)
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

static ssize_t src_read(void *cookie, char *out, size_t n)
{
    struct src *s = cookie;
    size_t done = 0;
    while (done < n) {
        if (s->pos == s->len) {
            ssize_t r = src_read_fd(s, s->buf, PEEK_BYTES);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                s->err = errno;
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
    struct src *s = cookie;
    if (s->own_fd)
        close(s->fd);
    free(s->buf);
    free(s);
    return 0;
}

/* Fill buf with the file's first bytes (up to PEEK_BYTES, fewer at EOF). */
static bool src_prime(struct src *s)
{
    while (s->len < PEEK_BYTES) {
        ssize_t r = src_read_fd(s, s->buf + s->len, PEEK_BYTES - s->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
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

static wkp_status open_libpcap(struct wkp_capfile *cf, int fd, bool own_fd, wkp_errbuf *err)
{
    struct src *s = calloc(1, sizeof *s);
    uint8_t *buf = malloc(PEEK_BYTES);
    if (s == NULL || buf == NULL) {
        free(s);
        free(buf);
        if (own_fd)
            close(fd);
        say(err, "%s: out of memory", cf->path);
        return WKP_ENOMEM;
    }
    s->fd = fd;
    s->own_fd = own_fd;
    s->buf = buf;
    s->stop = cf->stop;
    if (!src_prime(s)) {
        say(err, "%s: %s", cf->path, strerror(s->err));
        wkp_status st = s->err == ECANCELED ? WKP_ESTOPPED : WKP_EIO;
        src_close(s);
        return st;
    }
    wkp_status st = classify(cf->path, s->buf, s->first_len, &cf->fmt, err);
    if (st != WKP_OK) {
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
        cf->digits = ng_peek(&t, &unused);
    }

    static const cookie_io_functions_t io = {.read = src_read, .close = src_close};
    FILE *f = fopencookie(s, "r", io);
    if (f == NULL) {
        say(err, "%s: %s", cf->path, strerror(errno));
        src_close(s);
        return WKP_ENOMEM;
    }
    /* Unbuffered: every byte libpcap asks for goes through src_read, so
     * s->served is exactly libpcap's position in the file. */
    setvbuf(f, NULL, _IONBF, 0);
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (pc == NULL) {
        bool ioerr = s->err != 0;
        say(err, "%s: %s", cf->path, ioerr ? strerror(s->err) : eb);
        fclose(f); /* the caller keeps the stream when pcap_fopen fails */
        return ioerr ? WKP_EIO : WKP_EFORMAT;
    }
    cf->pc = pc;
    cf->in = s;
    cf->use_pcap = true;
    cf->first_dlt = pcap_datalink(pc);
    return check_dlt(cf->path, cf->first_dlt, "", err);
}

static int next_libpcap(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err)
{
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t before = cf->in->served;
    cf->lp_bad_off = before;
    int r = pcap_next_ex(cf->pc, &h, &d);
    if (r == 1 && h->caplen > (uint64_t)h->len + TRAILER_MAX) {
        /* as the mmap reader: libpcap does not check this */
        say(err, "%s: %s at %llu claims %u captured bytes of a %u-byte packet", cf->path,
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
    if (r == PCAP_ERROR_BREAK)
        return 0;
    const char *msg = pcap_geterr(cf->pc);
    if (cf->in->err != 0) {
        say(err, "%s: %s", cf->path, strerror(cf->in->err));
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
    say(err, "%s: %s at %llu: %s%s", cf->path, cf->fmt == FMT_PCAP ? "record" : "block",
        (unsigned long long)before, msg, hint);
    return WKP_EFORMAT;
}

/* ---- interface --------------------------------------------------------- */

static wkp_status open_mmap(struct wkp_capfile *cf, int fd, wkp_errbuf *err)
{
    if (cf->size == 0) {
        close(fd);
        say(err, "%s: empty file, not a capture", cf->path);
        return WKP_EFORMAT;
    }
    if (cf->size > SIZE_MAX) {
        close(fd);
        say(err, "%s: too large to map", cf->path);
        return WKP_EIO;
    }
    void *m = mmap(NULL, (size_t)cf->size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file */
    if (m == MAP_FAILED) {
        say(err, "%s: mmap: %s", cf->path, strerror(e));
        return WKP_EIO;
    }
    (void)madvise(m, (size_t)cf->size, MADV_SEQUENTIAL); /* a hint: failure is harmless */
    cf->map = m;
    cf->digits = 6;

    wkp_status st = classify(cf->path, cf->map, cf->size, &cf->fmt, err);
    if (st != WKP_OK)
        return st;
    if (cf->fmt == FMT_PCAP) {
        st = pcap_header(cf, err);
        return st != WKP_OK ? st : check_dlt(cf->path, cf->first_dlt, "", err);
    }

    /* pcapng: read up to the first IDB, which gives the first link type. */
    struct wkp_rec rec;
    for (;;) {
        int r = ng_block(cf, &rec, err);
        if (r < 0)
            return (wkp_status)r;
        if (r == NG_PACKET) {
            say(err, "%s: pcapng packet block before any interface description block", cf->path);
            return WKP_EFORMAT;
        }
        if (r == NG_END) {
            say(err, "%s: pcapng file %s before its first interface description block", cf->path,
                cf->truncated ? "cut short" : "ends");
            return WKP_EFORMAT;
        }
        if (r == NG_IDB)
            break;
    }
    /* Packets of interfaces of an undecoded link type are counted, not
     * decoded; a capture needs one decodable interface. */
    int decodable;
    cf->digits = ng_peek(cf, &decodable);
    if (decodable < 0) {
        st = check_dlt(cf->path, cf->ifs[0].dlt,
                       " (pcapng interface 0; no interface before the first packet has a link "
                       "type wa1kpcap decodes)",
                       err);
        return st != WKP_OK ? st : WKP_ELINKTYPE;
    }
    cf->first_dlt = decodable;
    return WKP_OK;
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
        say(err, "wkp_capfile_open: invalid argument");
        return WKP_EINVAL;
    }
    struct wkp_capfile *cf = calloc(1, sizeof *cf);
    char *p = strdup(path);
    if (cf == NULL || p == NULL) {
        free(cf);
        free(p);
        say(err, "%s: out of memory", path);
        return WKP_ENOMEM;
    }
    cf->path = p;
    cf->stop = stop;
    cf->first_dlt = -1;
    cf->digits = 6;

    /* stat before open: opening a FIFO blocks until a writer comes, and
     * the mmap reader refuses one anyway. */
    bool is_stdin = strcmp(path, "-") == 0;
    struct stat sb;
    wkp_status st;
    if (!is_stdin && stat(path, &sb) != 0) {
        say(err, "%s: %s", path, strerror(errno));
        st = WKP_EIO;
    } else if (!is_stdin && S_ISDIR(sb.st_mode)) {
        say(err, "%s: is a directory, not a capture", path);
        st = WKP_EIO;
    } else if (k == WKP_READER_MMAP && (is_stdin || !S_ISREG(sb.st_mode))) {
        say(err, "%s: not a regular file; the mmap reader needs one", path);
        st = WKP_EINVAL;
    } else {
        int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &sb) != 0) {
            say(err, "%s: %s", path, strerror(errno));
            if (fd >= 0 && !is_stdin)
                close(fd);
            st = WKP_EIO;
        } else {
            bool regular = S_ISREG(sb.st_mode) && !is_stdin;
            cf->size = regular ? (uint64_t)sb.st_size : 0;
            if (k == WKP_READER_LIBPCAP || !regular)
                st = open_libpcap(cf, fd, !is_stdin, err);
            else
                st = open_mmap(cf, fd, err);
        }
    }
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
    if (cf->no_populate || cf->populated >= cf->size || cf->off + WINDOW / 2 < cf->populated)
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
    uint64_t upto = (uint64_t)(p - cf->map) & ~(uint64_t)4095;
    if (upto < cf->released + WINDOW)
        return;
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
static bool ts_plausible(const struct wkp_capfile *cf, int64_t ts)
{
    __int128 span = (__int128)cf->ts_hi - cf->ts_lo;
    __int128 margin = span > RESYNC_MARGIN_NS ? span : RESYNC_MARGIN_NS;
    return (__int128)ts >= (__int128)cf->ts_lo - margin &&
           (__int128)ts <= (__int128)cf->ts_hi + margin;
}

enum { IMPLAUSIBLE = 0, PLAUSIBLE = 1, PLAUSIBLE_CUT = 2 };

/* A pcap record header at off that could be right: lengths within what this
 * capture has shown, a fraction below one second, a time near the others.
 * PLAUSIBLE_CUT: so far so good, but the end of the file cuts it. */
static int pcap_plausible(const struct wkp_capfile *cf, uint64_t off, uint64_t *next)
{
    if (cf->size - off < cf->rec_hdr)
        return cf->size > off ? PLAUSIBLE_CUT : IMPLAUSIBLE;
    const uint8_t *h = cf->map + off;
    uint32_t sec = get32(h, cf->swapped), frac = get32(h + 4, cf->swapped);
    uint32_t caplen = get32(h + 8, cf->swapped), wirelen = get32(h + 12, cf->swapped);
    if (cf->lenswap == LEN_SWAPPED || (cf->lenswap == LEN_MAYBE_SWAPPED && caplen > wirelen)) {
        uint32_t t = caplen;
        caplen = wirelen;
        wirelen = t;
    }
    uint32_t most = cf->snapshot > cf->caplen_hi ? cf->snapshot : cf->caplen_hi;
    if (frac >= NS_PER_S / cf->frac_mult || caplen == 0 || caplen > most ||
        caplen > cf->max_caplen || caplen > (uint64_t)wirelen + TRAILER_MAX ||
        wirelen > WIRELEN_MAX)
        return IMPLAUSIBLE;
    if (!ts_plausible(cf, (int64_t)sec * NS_PER_S + (int64_t)frac * cf->frac_mult))
        return IMPLAUSIBLE;
    if (caplen > cf->size - off - cf->rec_hdr)
        return PLAUSIBLE_CUT;
    *next = off + cf->rec_hdr + caplen;
    return PLAUSIBLE;
}

/* A pcapng block at off that could be right: a known type, equal leading
 * and trailing lengths, and for a packet block an interface the section
 * has (or one described by an IDB earlier in the run being checked: *idbs),
 * caplen within the block and a time near the others. After a section
 * header (*shb) only the lengths are checked. */
static int ng_plausible(const struct wkp_capfile *cf, uint64_t off, bool *sw, bool *shb,
                        uint32_t *idbs, uint64_t *next)
{
    uint64_t rem = cf->size - off;
    if (rem < 12)
        return rem > 0 ? PLAUSIBLE_CUT : IMPLAUSIBLE;
    const uint8_t *b = cf->map + off;
    uint32_t type = get32(b, *sw);
    bool bsw = *sw;
    if (type == NG_BT_SHB) {
        uint32_t bom = get32(b + 8, false);
        if (bom != NG_BYTE_ORDER && bom != __builtin_bswap32(NG_BYTE_ORDER))
            return IMPLAUSIBLE;
        bsw = bom != NG_BYTE_ORDER;
    } else if (!(type >= NG_BT_IDB && type <= NG_BT_EPB) && type != 9 && type != 10 &&
               type != 0xbad && type != 0x40000bad) {
        return IMPLAUSIBLE; /* not IDB PB SPB NRB ISB EPB, journal, DSB, custom */
    }
    uint32_t len = get32(b + 4, bsw);
    if (len < 12 || len % 4 != 0 || len > (type == NG_BT_SHB ? NG_SHB_MAX : NG_BLOCK_MAX))
        return IMPLAUSIBLE;
    if (len > rem)
        return PLAUSIBLE_CUT;
    if (get32(b + len - 4, bsw) != len)
        return IMPLAUSIBLE;
    uint32_t blen = len - 12;
    if (type == NG_BT_SHB) {
        *shb = true;
        *sw = bsw;
    } else if (type == NG_BT_IDB) {
        if (blen < 8)
            return IMPLAUSIBLE;
        ++*idbs;
    } else if ((type == NG_BT_EPB || type == NG_BT_PB) && !*shb) {
        if (blen < 20)
            return IMPLAUSIBLE;
        const uint8_t *body = b + 8;
        uint32_t ifid = type == NG_BT_EPB ? get32(body, bsw) : get16(body, bsw);
        uint32_t caplen = get32(body + 12, bsw), wirelen = get32(body + 16, bsw);
        if (ifid >= cf->nifs + *idbs || caplen > blen - 20 ||
            caplen > (uint64_t)wirelen + TRAILER_MAX)
            return IMPLAUSIBLE;
        uint64_t t = (uint64_t)get32(body + 4, bsw) << 32 | get32(body + 8, bsw);
        if (ifid < cf->nifs && !ts_plausible(cf, ng_ts(&cf->ifs[ifid], t)))
            return IMPLAUSIBLE;
    }
    *next = off + len;
    return PLAUSIBLE;
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
        int p = cf->fmt == FMT_PCAP ? pcap_plausible(cf, off, &next)
                                    : ng_plausible(cf, off, &sw, &shb, &idbs, &next);
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
        cf->lp_damage = false;
        rec->unsupported = false;
        if (cf->use_pcap) {
            r = next_libpcap(cf, rec, &cf->fail_msg);
            at = cf->lp_bad_off;
        } else if (cf->fmt == FMT_PCAP) {
            r = pcap_next_mmap(cf, rec, &cf->fail_msg);
        } else {
            do {
                at = cf->off;
                r = ng_block(cf, rec, &cf->fail_msg);
            } while (r == NG_IDB || r == NG_OTHER);
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
    return !cf->use_pcap;
}

int wkp_capfile_ts_digits(const struct wkp_capfile *cf)
{
    return cf->digits;
}

uint64_t wkp_capfile_size(const struct wkp_capfile *cf)
{
    return cf->size;
}

uint64_t wkp_capfile_bytes_done(const struct wkp_capfile *cf)
{
    return cf->use_pcap ? cf->in->served : cf->off;
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
    if (cf->map != NULL)
        munmap((void *)cf->map, (size_t)cf->size);
    if (cf->pc != NULL)
        pcap_close(cf->pc); /* closes the cookie stream, which frees cf->in */
    free(cf->ifs);
    free(cf->unsup);
    free(cf->damage);
    free(cf->path);
    free(cf);
}
