/* The mmap reader for pcap files (µs and ns, both byte orders).
 *
 * A record's data points into the mapping of the file: nothing is copied,
 * nothing is allocated per packet, and every length read from the file is
 * checked against what is left of the mapping before it is used. Where the
 * format leaves room for judgement it decides as libpcap 1.10 does, so that
 * both readers yield the same records:
 *  - link-type field: bits 0-25 are the link type (LT_LINKTYPE), mapped to
 *    a DLT as linktype_to_dlt() does (LINKTYPE_RAW 101 -> DLT_RAW ...). A
 *    header with reserved bits set thus names a huge, unsupported type.
 *  - 2.0-2.2 files (and 2.3 files where caplen > len) have caplen and len
 *    swapped; version 1.x is "archaic" and refused.
 *  - a record claiming more than the link type's maximum snapshot length
 *    (262144 for every type we decode) is corruption: an error naming its
 *    offset. One claiming more than the file's snaplen but less than that
 *    maximum is cut to the snaplen, the rest skipped.
 *  - a record cut by the end of the file ends the file early:
 *    wkp_capfile_truncated() reports where it started (docs/design.md,
 *    "Damaged captures"). */
#include "capture/internal.h"

wkp_status wkp__pcap_open(struct wkp_capfile *cf, wkp_errbuf *err)
{
    const uint8_t *h = cf->map;
    uint32_t m = get32(h, false);
    cf->swapped = m != PCAP_MAGIC_US && m != PCAP_MAGIC_NS && m != PCAP_MAGIC_KUZNETZOV;
    m = get32(h, cf->swapped);
    unsigned major = get16(h + 4, cf->swapped), minor = get16(h + 6, cf->swapped);
    if (major < 2) {
        wkp__cf_say(err, "%s: archaic pcap savefile format (version %u.%u), not supported",
                    cf->path, major, minor);
        return WKP_EFORMAT;
    }
    if (!((major == 2 && minor <= 4) || (major == 543 && minor == 0))) {
        wkp__cf_say(err, "%s: unsupported pcap savefile version %u.%u", cf->path, major, minor);
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
    return wkp__cf_check_dlt(cf->path, cf->first_dlt, "", err);
}

int wkp__pcap_next(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err)
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
        wkp__cf_say(err, "%s: record at %llu claims %u bytes, more than the maximum %u", cf->path,
                    (unsigned long long)off, caplen, cf->max_caplen);
        return WKP_EFORMAT;
    }
    if (caplen > (uint64_t)wirelen + TRAILER_MAX) {
        wkp__cf_say(err, "%s: record at %llu claims %u captured bytes of a %u-byte packet",
                    cf->path, (unsigned long long)off, caplen, wirelen);
        return WKP_EFORMAT;
    }
    if (caplen > rem - cf->rec_hdr) {
        cut_at(cf, off);
        return 0;
    }
    rec->data = h + cf->rec_hdr;
    wkp_rec_set_lens(rec, caplen < cf->snapshot ? caplen : cf->snapshot, wirelen);
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

/* A pcap record header at off that could be right: lengths within what this
 * capture has shown, a fraction below one second, a time near the others.
 * PLAUSIBLE_CUT: so far so good, but the end of the file cuts it. */
int wkp__pcap_plausible(const struct wkp_capfile *cf, uint64_t off, uint64_t *next)
{
    if (cf->size - off < cf->rec_hdr)
        return cf->size > off ? PLAUSIBLE_CUT : IMPLAUSIBLE;
    const uint8_t *h = cf->file + off; /* anywhere ahead: the window may not hold it */
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
    if (!wkp__cf_ts_plausible(cf, (int64_t)sec * NS_PER_S + (int64_t)frac * cf->frac_mult))
        return IMPLAUSIBLE;
    if (caplen > cf->size - off - cf->rec_hdr)
        return PLAUSIBLE_CUT;
    *next = off + cf->rec_hdr + caplen;
    return PLAUSIBLE;
}
