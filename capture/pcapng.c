/* The mmap reader for pcapng files.
 *
 * Blocks are read in place from the mapping, every length checked against
 * the rest of the file and of the block before it is used. As libpcap 1.10:
 * a block cut by the end of the file ends the file early
 * (wkp_capfile_truncated() reports where it started), a block larger than
 * libpcap's limits is corruption. Beyond libpcap, so that captures it refuses
 * or misdates are read: interfaces may differ in link type, several sections
 * are read (each resets the interface list, and may switch byte order),
 * if_tsresol and if_tsoffset are honoured exactly, and a simple packet block
 * (which has no timestamp) gets the timestamp of the packet before it, 0 if
 * none: libpcap gives it 0, which would put it in 1970. */
#include <stdlib.h>

#include "capture/internal.h"
#include "dissectors/l2l4.h"

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
            wkp__cf_say(err,
                        "%s: pcapng %s block at %llu: option header at %llu cut short (%u bytes)",
                        cf->path, bname, (unsigned long long)boff, (unsigned long long)ooff, n);
            return WKP_EFORMAT;
        }
        uint16_t code = get16(p, sw), olen = get16(p + 2, sw);
        uint32_t padded = ((uint32_t)olen + 3) & ~3u;
        if (padded > n - 4) {
            wkp__cf_say(err,
                        "%s: pcapng %s block at %llu: option %u at %llu claims %u bytes, %u left",
                        cf->path, bname, (unsigned long long)boff, code, (unsigned long long)ooff,
                        olen, n - 4);
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
                wkp__cf_say(err,
                            "%s: pcapng interface description block at %llu: bad if_tsresol "
                            "(length %u, value 0x%02x)",
                            cf->path, (unsigned long long)boff, olen, v);
                return WKP_EFORMAT;
            }
        } else if (ifc != NULL && code == 14) { /* if_tsoffset */
            if (olen != 8) {
                wkp__cf_say(err,
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
    wkp__cf_say(err, "%s: pcapng %s block at %llu: length %u in its header, %u in its trailer",
                cf->path, ng_block_name(type), (unsigned long long)off, len, t);
    return WKP_EFORMAT;
}

/* A block whose header has been checked: the whole block lies in the file. */
struct ng_blk {
    const uint8_t *b;    /* the block, from its type field */
    const uint8_t *body; /* after type and length */
    uint64_t off;        /* file offset of b */
    uint32_t type, len;
    uint32_t blen; /* bytes between the header and the trailing length */
    bool sw;       /* byte order of the block (a section header sets its own) */
};

/* The header of the block at cf->off: 1 with *k filled, NG_END at the end
 * of the file or if the file cuts the block (cf->truncated set), or a
 * negative status. */
static int ng_head(struct wkp_capfile *cf, struct ng_blk *k, wkp_errbuf *err)
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
            wkp__cf_say(err,
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
        wkp__cf_say(err, "%s: pcapng %s block at %llu has an invalid length %u", cf->path,
                    ng_block_name(type), (unsigned long long)off, len);
        return WKP_EFORMAT;
    }
    if (len > rem) {
        cut_at(cf, off);
        return NG_END;
    }
    *k = (struct ng_blk){
        .b = b, .body = b + 8, .off = off, .type = type, .len = len, .blen = len - 12, .sw = sw};
    return 1;
}

static wkp_status ng_too_short(const struct wkp_capfile *cf, const struct ng_blk *k,
                               wkp_errbuf *err)
{
    wkp__cf_say(err, "%s: pcapng %s block at %llu is too short (%u bytes)", cf->path,
                ng_block_name(k->type), (unsigned long long)k->off, k->len);
    return WKP_EFORMAT;
}

/* Section header: a new section, maybe in the other byte order, with
 * interface ids of its own. */
static wkp_status ng_shb(struct wkp_capfile *cf, const struct ng_blk *k, wkp_errbuf *err)
{
    if (k->blen < 16)
        return ng_too_short(cf, k, err);
    unsigned major = get16(k->body + 4, k->sw), minor = get16(k->body + 6, k->sw);
    if (major != 1) {
        wkp__cf_say(err, "%s: pcapng section header block at %llu: unsupported version %u.%u",
                    cf->path, (unsigned long long)k->off, major, minor);
        return WKP_EFORMAT;
    }
    wkp_status st =
        ng_options(cf, k->body + 16, k->blen - 16, k->sw, k->off, k->type, k->off + 24, NULL, err);
    if (st == WKP_OK)
        st = ng_trailer(cf, k->b, k->len, k->sw, k->type, k->off, err);
    if (st != WKP_OK)
        return st;
    cf->swapped = k->sw;
    cf->nifs = 0; /* interface ids are per section */
    cf->nshb++;
    return WKP_OK;
}

/* Note an interface of an undecoded link type: its packets are counted,
 * not decoded, and the other interfaces are still analysed. */
static wkp_status ng_add_unsup(struct wkp_capfile *cf, struct ng_if *ifc, uint64_t off,
                               wkp_errbuf *err)
{
    if (cf->nunsup == cf->unsup_cap) {
        uint32_t cap = cf->unsup_cap ? cf->unsup_cap * 2 : 4;
        struct wkp_unsup_if *n = realloc(cf->unsup, cap * sizeof *n);
        if (n == NULL) {
            wkp__cf_say(err, "%s: out of memory for pcapng interfaces", cf->path);
            return WKP_ENOMEM;
        }
        cf->unsup = n;
        cf->unsup_cap = cap;
    }
    cf->unsup[cf->nunsup] = (struct wkp_unsup_if){.section = cf->nshb ? cf->nshb - 1 : 0,
                                                  .index = cf->nifs,
                                                  .block_off = off,
                                                  .dlt = ifc->dlt};
    ifc->unsup = (int32_t)cf->nunsup++;
    return WKP_OK;
}

/* Interface description: one more interface in this section. */
static wkp_status ng_idb(struct wkp_capfile *cf, const struct ng_blk *k, wkp_errbuf *err)
{
    if (k->blen < 8)
        return ng_too_short(cf, k, err);
    struct ng_if ifc = {.dlt = lt_to_dlt(get16(k->body, k->sw)),
                        .snaplen = get32(k->body + 4, k->sw),
                        .exp = 6,
                        .unsup = -1};
    wkp_status st =
        ng_options(cf, k->body + 8, k->blen - 8, k->sw, k->off, k->type, k->off + 16, &ifc, err);
    if (st == WKP_OK)
        st = ng_trailer(cf, k->b, k->len, k->sw, k->type, k->off, err);
    if (st != WKP_OK)
        return st;
    if (cf->nifs == cf->ifs_cap) {
        uint32_t cap = cf->ifs_cap ? cf->ifs_cap * 2 : 8;
        struct ng_if *n = realloc(cf->ifs, cap * sizeof *n);
        if (n == NULL) {
            wkp__cf_say(err, "%s: out of memory for pcapng interfaces", cf->path);
            return WKP_ENOMEM;
        }
        cf->ifs = n;
        cf->ifs_cap = cap;
    }
    if (!wkp_dlt_supported(ifc.dlt) && (st = ng_add_unsup(cf, &ifc, k->off, err)) != WKP_OK)
        return st;
    cf->ifs[cf->nifs++] = ifc;
    if (ng_finer_than_us(&ifc))
        cf->digits = 9;
    return WKP_OK;
}

/* Enhanced (or obsolete) packet block: a packet of one of the section's
 * interfaces, with its own caplen and timestamp. */
static wkp_status ng_epb(struct wkp_capfile *cf, const struct ng_blk *k, struct wkp_rec *rec,
                         wkp_errbuf *err)
{
    if (k->blen < 20)
        return ng_too_short(cf, k, err);
    wkp_status st = ng_trailer(cf, k->b, k->len, k->sw, k->type, k->off, err);
    if (st != WKP_OK)
        return st;
    const uint8_t *body = k->body;
    const char *bname = ng_block_name(k->type);
    unsigned long long off = k->off;
    uint32_t ifid = k->type == NG_BT_EPB ? get32(body, k->sw) : get16(body, k->sw);
    uint64_t t = (uint64_t)get32(body + 4, k->sw) << 32 | get32(body + 8, k->sw);
    uint32_t caplen = get32(body + 12, k->sw), wirelen = get32(body + 16, k->sw);
    if (ifid >= cf->nifs) {
        wkp__cf_say(err, "%s: pcapng %s block at %llu: interface %u, but the section describes %u",
                    cf->path, bname, off, ifid, cf->nifs);
        return WKP_EFORMAT;
    }
    const struct ng_if *ifc = &cf->ifs[ifid];
    if (caplen > k->blen - 20) {
        wkp__cf_say(err, "%s: pcapng %s block at %llu claims %u captured bytes, holds %u", cf->path,
                    bname, off, caplen, k->blen - 20);
        return WKP_EFORMAT;
    }
    if (caplen > max_snaplen(ifc->dlt)) {
        wkp__cf_say(err, "%s: record at %llu claims %u bytes, more than the maximum %u", cf->path,
                    off, caplen, max_snaplen(ifc->dlt));
        return WKP_EFORMAT;
    }
    if (caplen > (uint64_t)wirelen + TRAILER_MAX) {
        wkp__cf_say(err, "%s: pcapng %s block at %llu claims %u captured bytes of a %u-byte packet",
                    cf->path, bname, off, caplen, wirelen);
        return WKP_EFORMAT;
    }
    rec->data = body + 20;
    wkp_rec_set_lens(rec, caplen, wirelen);
    rec->ts_ns = ng_ts(ifc, t);
    rec->dlt = ifc->dlt;
    rec->unsupported = ifc->unsup >= 0;
    if (ifc->unsup >= 0)
        cf->unsup[ifc->unsup].packets++;
    cf->last_ts = rec->ts_ns;
    return WKP_OK;
}

/* Simple packet block: a packet of interface 0 with no caplen and no
 * timestamp. */
static wkp_status ng_spb(struct wkp_capfile *cf, const struct ng_blk *k, struct wkp_rec *rec,
                         wkp_errbuf *err)
{
    if (k->blen < 4)
        return ng_too_short(cf, k, err);
    wkp_status st = ng_trailer(cf, k->b, k->len, k->sw, k->type, k->off, err);
    if (st != WKP_OK)
        return st;
    if (cf->nifs == 0) {
        wkp__cf_say(err,
                    "%s: pcapng simple packet block at %llu, but the section describes no "
                    "interface",
                    cf->path, (unsigned long long)k->off);
        return WKP_EFORMAT;
    }
    /* The packet is cut to the snaplen of interface 0 (its interface by
     * definition) and to the block. */
    uint32_t wirelen = get32(k->body, k->sw);
    uint32_t caplen = wirelen;
    uint32_t snap = adjust_snaplen(cf->ifs[0].dlt, cf->ifs[0].snaplen);
    if (caplen > snap)
        caplen = snap;
    if (caplen > k->blen - 4)
        caplen = k->blen - 4;
    rec->data = k->body + 4;
    wkp_rec_set_lens(rec, caplen, wirelen);
    rec->ts_ns = cf->last_ts;
    rec->dlt = cf->ifs[0].dlt;
    rec->unsupported = cf->ifs[0].unsup >= 0;
    if (cf->ifs[0].unsup >= 0)
        cf->unsup[cf->ifs[0].unsup].packets++;
    return WKP_OK;
}

/* Process the block at cf->off. Returns an enum ng_step (NG_END also when
 * the block is cut by the end of the file, with cf->truncated set) or a
 * negative status with err filled. */
static int ng_block(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err)
{
    struct ng_blk k;
    int r = ng_head(cf, &k, err);
    if (r <= 0)
        return r;
    wkp_status st;
    int step = NG_OTHER;
    switch (k.type) {
    case NG_BT_SHB: st = ng_shb(cf, &k, err); break;
    case NG_BT_IDB:
        st = ng_idb(cf, &k, err);
        step = NG_IDB;
        break;
    case NG_BT_EPB:
    case NG_BT_PB:
        st = ng_epb(cf, &k, rec, err);
        step = NG_PACKET;
        break;
    case NG_BT_SPB:
        st = ng_spb(cf, &k, rec, err);
        step = NG_PACKET;
        break;
    default: /* NRB, ISB, DSB, custom...: nothing we need */
        st = ng_trailer(cf, k.b, k.len, k.sw, k.type, k.off, err);
        break;
    }
    if (st != WKP_OK)
        return st;
    cf->off = k.off + k.len;
    return step;
}

/* ts digits, and the first decodable link type (-1 if none), from the
 * interfaces cf already has and the IDBs that follow cf->off up to the first
 * packet block, without changing cf: the common writers put every IDB
 * before the first packet, so the answers are final at open. A later finer
 * IDB still raises wkp_capfile_ts_digits() when it is read. */
int wkp__ng_peek(const struct wkp_capfile *cf, int *decodable)
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

wkp_status wkp__ng_open(struct wkp_capfile *cf, wkp_errbuf *err)
{
    /* read up to the first IDB, which gives the first link type */
    struct wkp_rec rec;
    for (;;) {
        int r = ng_block(cf, &rec, err);
        if (r < 0)
            return (wkp_status)r;
        if (r == NG_PACKET) {
            wkp__cf_say(err, "%s: pcapng packet block before any interface description block",
                        cf->path);
            return WKP_EFORMAT;
        }
        if (r == NG_END) {
            wkp__cf_say(err, "%s: pcapng file %s before its first interface description block",
                        cf->path, cf->truncated ? "cut short" : "ends");
            return WKP_EFORMAT;
        }
        if (r == NG_IDB)
            break;
    }
    /* Packets of interfaces of an undecoded link type are counted, not
     * decoded; a capture needs one decodable interface. */
    int decodable;
    cf->digits = wkp__ng_peek(cf, &decodable);
    if (decodable < 0) {
        wkp_status st = wkp__cf_check_dlt(cf->path, cf->ifs[0].dlt,
                                          " (pcapng interface 0; no interface before the first "
                                          "packet has a link type wa1kpcap decodes)",
                                          err);
        return st != WKP_OK ? st : WKP_ELINKTYPE;
    }
    cf->first_dlt = decodable;
    return WKP_OK;
}

int wkp__ng_next(struct wkp_capfile *cf, struct wkp_rec *rec, uint64_t *at, wkp_errbuf *err)
{
    int r;
    do {
        *at = cf->off;
        r = ng_block(cf, rec, err);
    } while (r == NG_IDB || r == NG_OTHER);
    return r;
}

/* A pcapng block at off that could be right: a known type, equal leading
 * and trailing lengths, and for a packet block an interface the section
 * has (or one described by an IDB earlier in the run being checked: *idbs),
 * caplen within the block and a time near the others. After a section
 * header (*shb) only the lengths are checked. */
int wkp__ng_plausible(const struct wkp_capfile *cf, uint64_t off, bool *sw, bool *shb,
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
    } else if (!(type >= NG_BT_IDB && type <= NG_BT_EPB) && type != NG_BT_SJE &&
               type != NG_BT_DSB && type != NG_BT_CB && type != NG_BT_DCB) {
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
        if (ifid < cf->nifs && !wkp__cf_ts_plausible(cf, ng_ts(&cf->ifs[ifid], t)))
            return IMPLAUSIBLE;
    }
    *next = off + len;
    return PLAUSIBLE;
}
