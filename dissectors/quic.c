/* QUIC over UDP: long headers (v1, v2, drafts 29-34), version negotiation
 * and Retry, coalesced packets, short headers matched by connection ID,
 * and the TLS hellos inside the client's and server's Initial packets.
 *
 * Runs on the worker that owns the flow; the per-worker context holds the
 * OpenSSL contexts (quic_crypto.h), the digest context for JA4 and the
 * scratch buffers for one packet, so opening a packet allocates nothing.
 *
 * The one idea: decryption is for the first Initials only. Initial keys
 * come from the DCID of the client's first Initial (after a Retry, from
 * the DCID of the next one); a heap work block holds them and the CRYPTO
 * reassembly buffers while the hellos are being collected, bounded to
 * QUIC_OPEN_MAX packets per direction. The client's 16 KiB buffer is freed
 * as soon as the ClientHello is read, the rest (keys, 2 KiB for the
 * ServerHello) once both hellos are read or can no longer come. The
 * ClientHello's fields are rendered once into a small heap string; the
 * inline state keeps only headers and connection IDs. After that a packet costs a look at its
 * first bytes (packet types, spin bit) until QUIC_PEEK_PACKETS have
 * passed, then parse answers DONE. See docs/output.md, `quic`. */
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "dissectors/quic_crypto.h"
#include "dissectors/tls_hello.h"

#define QUIC_CID_MAX      20 /* RFC 9000 section 17.2: at most 20 bytes in v1 */
/* CRYPTO stream bytes kept per direction while collecting a hello: a
 * ClientHello with a post-quantum key share is about 1.8 KiB, large
 * ones with many extensions stay well under this. */
#define QUIC_CH_MAX       16384u
#define QUIC_SH_MAX       2048u
#define QUIC_RANGES       16    /* disjoint CRYPTO ranges tracked per direction */
#define QUIC_OPEN_MAX     8     /* Initial packets opened per direction, at most */
#define QUIC_HDR_MAX      1536u /* header bytes (with a token) of a packet we open */
/* Packets looked at in all (for types and the spin bit) before DONE. */
#define QUIC_PEEK_PACKETS 32
/* A claimed flow that shows no long header in its first this many
 * packets with payload is given back. */
#define QUIC_UNSEEN_MAX   8

enum {
    C_OPENED,
    C_OPEN_FAILED,
    C_MALFORMED,
    C_CRYPTO_CAPPED,
    C_BAD_HELLO,
    C_SHORT_UNMATCHED,
    C_NOMEM,
    C__COUNT
};
static const char *const quic_counter_names[C__COUNT] = {
    "initials_opened", "open_failed",     "malformed", "crypto_capped",
    "bad_hello",       "short_unmatched", "nomem",
};

/* Packet types seen, one bit each. */
enum { T_INITIAL, T_0RTT, T_HANDSHAKE, T_RETRY, T_VN, T_1RTT };
static const char *const type_names[] = {
    "Initial", "0-RTT", "Handshake", "Retry", "VersionNegotiation", "1-RTT"};

enum {
    F_LONG = 1,       /* a long header was read: the flow is QUIC */
    F_SPIN = 2,       /* a short header had its spin bit set */
    F_CH = 4,         /* the ClientHello was read */
    F_SH = 8,         /* the ServerHello was read */
    F_RETRY = 16,     /* a Retry came: the next client Initial brings new keys */
    F_WORK_DONE = 32, /* the decryption phase is over */
};

struct quic_ctx {
    uint64_t *counters;
    struct wkp_quic_crypto crypto;
    struct wkp_tls_fp *fp; /* the fingerprint hashes */
    struct wkp_tls_hello hello;
    struct wkp_buf text;
    uint8_t hdr[QUIC_HDR_MAX];
    uint8_t plain[65536];
};

/* One direction's CRYPTO stream while a hello is collected. */
struct quic_asm {
    uint8_t nr;
    bool capped;
    struct {
        uint32_t lo, hi;
    } r[QUIC_RANGES];
};

/* Heap, while Initials are being opened. */
struct quic_work {
    struct wkp_quic_keys keys[2]; /* [0] client, [1] server */
    bool have_keys;
    int8_t client_dir; /* -1: not known yet */
    uint8_t tried[2];
    int64_t largest_pn[2];
    struct quic_asm as[2]; /* [0] client's stream, [1] server's */
    uint8_t *ch;           /* QUIC_CH_MAX bytes, heap, from the first client CRYPTO frame
                              until the ClientHello is read */
    uint8_t sh[QUIC_SH_MAX];
};

struct quic_cid {
    uint8_t len, seen;
    uint8_t b[QUIC_CID_MAX];
};

struct quic_state {
    uint32_t version; /* the first long header's with a version (not 0) */
    uint16_t packets, unseen;
    uint8_t types, flags;
    struct quic_cid dcid[2], scid[2]; /* first long header of each direction */
    struct quic_cid odcid;            /* of the first client Initial opened */
    uint16_t sh_suite, sh_version;
    uint32_t ch_text_len;
    char *ch_text; /* heap: the ClientHello's members, rendered once */
    struct quic_work *w;
};

/* ---- long headers ---- */

struct quic_long {
    uint32_t version;
    unsigned type; /* v1 numbering; T_VN for version 0 */
    const uint8_t *dcid, *scid;
    uint8_t dcid_len, scid_len;
    uint32_t pn_off; /* Initial, 0-RTT, Handshake */
    uint32_t end;    /* just past the packet */
    bool cut;        /* the capture holds less than the Length field says */
};

/* Read the long header at p (n bytes). false: not a long header we can
 * frame (then the rest of the datagram is left alone). */
static bool read_long(const uint8_t *p, uint32_t n, struct quic_long *h)
{
    uint32_t off = 5;
    h->cut = false;
    if (n < 7 || !(p[0] & 0x80))
        return false;
    h->version = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    h->dcid_len = p[off++];
    if ((uint64_t)off + h->dcid_len + 1 > n)
        return false;
    h->dcid = p + off;
    off += h->dcid_len;
    h->scid_len = p[off++];
    if ((uint64_t)off + h->scid_len > n)
        return false;
    h->scid = p + off;
    off += h->scid_len;
    if (h->version == 0) { /* version negotiation: a list of versions to the end */
        h->type = T_VN;
        h->end = n;
        return true;
    }
    if (wkp_quic_version_kind(h->version) == WKP_QUIC_VK_UNKNOWN || h->dcid_len > QUIC_CID_MAX ||
        h->scid_len > QUIC_CID_MAX || !(p[0] & 0x40))
        return false;
    h->type = wkp_quic_long_type(h->version, p[0]);
    if (h->type == WKP_QUIC_RETRY) { /* token and integrity tag to the end */
        h->end = n;
        return true;
    }
    uint64_t v;
    if (h->type == WKP_QUIC_INITIAL) {
        if (!wkp_quic_varint(p, n, &off, &v) || v > n - off)
            return false;
        off += (uint32_t)v; /* token */
    }
    if (!wkp_quic_varint(p, n, &off, &v))
        return false;
    if (v > n - off) { /* cut by the snap length: the header is still good */
        h->cut = true;
        v = n - off;
    }
    h->pn_off = off;
    h->end = off + (uint32_t)v;
    return true;
}

/* The payload of a long-header datagram: whether a probe may claim it. */
static bool looks_quic(const uint8_t *p, uint32_t n)
{
    struct quic_long h = {0};
    return read_long(p, n, &h) && h.type != T_VN;
}

/* ---- CRYPTO reassembly ---- */

/* Add [off, off+len) of a CRYPTO stream into buf (cap bytes); the ranges
 * stay sorted and merged. Bytes past cap are dropped (capped). */
static void asm_add(struct quic_asm *a, uint8_t *buf, uint32_t cap, uint64_t off,
                    const uint8_t *data, uint64_t len)
{
    if (off >= cap || len == 0) {
        a->capped |= len != 0;
        return;
    }
    if (len > cap - off) {
        len = cap - off;
        a->capped = true;
    }
    uint32_t lo = (uint32_t)off, hi = (uint32_t)(off + len);
    memcpy(buf + lo, data, hi - lo);
    /* Merge [lo, hi) into the list: drop every range it touches. */
    unsigned w = 0;
    for (unsigned i = 0; i < a->nr; i++) {
        if (a->r[i].hi < lo || a->r[i].lo > hi) {
            a->r[w++] = a->r[i];
            continue;
        }
        lo = a->r[i].lo < lo ? a->r[i].lo : lo;
        hi = a->r[i].hi > hi ? a->r[i].hi : hi;
    }
    a->nr = (uint8_t)w;
    if (a->nr == QUIC_RANGES) { /* too scattered: keep the lowest ones */
        a->capped = true;
        return;
    }
    unsigned at = a->nr;
    while (at > 0 && a->r[at - 1].lo > lo) {
        a->r[at] = a->r[at - 1];
        at--;
    }
    a->r[at].lo = lo;
    a->r[at].hi = hi;
    a->nr++;
}

/* Bytes from 0 that have all arrived. */
static uint32_t asm_prefix(const struct quic_asm *a)
{
    return a->nr && a->r[0].lo == 0 ? a->r[0].hi : 0;
}

/* The length of the handshake message of type `type` at the head of the
 * stream if it is whole (header included), 0 if not yet, -1 if the
 * stream does not start with it or it cannot fit. */
static int64_t asm_message(const struct quic_asm *a, const uint8_t *buf, uint32_t cap, uint8_t type)
{
    uint32_t have = asm_prefix(a);
    if (have < 4)
        return 0;
    if (buf[0] != type)
        return -1;
    uint32_t len = (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    if ((uint64_t)len + 4 > cap)
        return -1;
    return have >= len + 4 ? (int64_t)len + 4 : 0;
}

/* ---- output helpers ---- */

static void put_hex(struct wkp_buf *b, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    wkp_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        wkp_buf_putc(b, hx[p[i] >> 4]);
        wkp_buf_putc(b, hx[p[i] & 15]);
    }
    wkp_buf_putc(b, '"');
}

static void put_key(struct wkp_buf *b, const char *key)
{
    wkp_buf_puts(b, ",\"");
    wkp_buf_puts(b, key);
    wkp_buf_puts(b, "\":");
}

static void put_u16s(struct wkp_buf *b, const char *key, const uint16_t *v, unsigned n)
{
    put_key(b, key);
    wkp_buf_putc(b, '[');
    for (unsigned i = 0; i < n; i++) {
        if (i)
            wkp_buf_putc(b, ',');
        wkp_buf_u64(b, v[i]);
    }
    wkp_buf_putc(b, ']');
}

/* The extension of type `want` in a ClientHello body; false if absent. */
static bool find_ext(const uint8_t *body, uint32_t len, uint16_t want, struct wkp_cur *out)
{
    struct wkp_cur c;
    wkp_cur_init(&c, body, len);
    wkp_cur_skip(&c, 2 + 32);
    wkp_cur_skip(&c, wkp_cur_u8(&c));   /* session id */
    wkp_cur_skip(&c, wkp_cur_be16(&c)); /* cipher suites */
    wkp_cur_skip(&c, wkp_cur_u8(&c));   /* compression methods */
    struct wkp_cur exts;
    if (c.short_read || !wkp_cur_sub(&c, wkp_cur_be16(&c), &exts))
        return false;
    while (wkp_cur_left(&exts) >= 4) {
        uint16_t t = wkp_cur_be16(&exts), n = wkp_cur_be16(&exts);
        if (!wkp_cur_sub(&exts, n, out))
            return false;
        if (t == want)
            return true;
    }
    return false;
}

/* Transport parameters (RFC 9000 section 18.2): the integer ones by name,
 * the connection IDs as hex, disable_active_migration as true. */
static void put_transport_params(struct wkp_buf *b, struct wkp_cur *e)
{
    static const char *const int_names[] = {
        [0x01] = "max_idle_timeout",
        [0x03] = "max_udp_payload_size",
        [0x04] = "initial_max_data",
        [0x05] = "initial_max_stream_data_bidi_local",
        [0x06] = "initial_max_stream_data_bidi_remote",
        [0x07] = "initial_max_stream_data_uni",
        [0x08] = "initial_max_streams_bidi",
        [0x09] = "initial_max_streams_uni",
        [0x0a] = "ack_delay_exponent",
        [0x0b] = "max_ack_delay",
        [0x0e] = "active_connection_id_limit",
    };
    const uint8_t *p = e->p + e->off;
    uint32_t n = wkp_cur_left(e), off = 0;
    bool first = true;
    put_key(b, "transport_parameters");
    wkp_buf_putc(b, '{');
    uint32_t seen = 0; /* ids 0..31 written once each */
    while (off < n) {
        uint64_t id, len;
        if (!wkp_quic_varint(p, n, &off, &id) || !wkp_quic_varint(p, n, &off, &len) ||
            len > n - off)
            break;
        const uint8_t *v = p + off;
        off += (uint32_t)len;
        if (id >= 32 || (seen >> id & 1))
            continue;
        const char *name = NULL;
        if (id < sizeof int_names / sizeof int_names[0] && int_names[id]) {
            uint32_t vo = 0;
            uint64_t x;
            if (!wkp_quic_varint(v, (uint32_t)len, &vo, &x) || vo != len)
                continue;
            name = int_names[id];
            wkp_buf_puts(b, first ? "\"" : ",\"");
            wkp_buf_puts(b, name);
            wkp_buf_puts(b, "\":");
            wkp_buf_u64(b, x);
        } else if ((id == 0x00 || id == 0x0f || id == 0x10) && len <= QUIC_CID_MAX) {
            name = id == 0x00   ? "original_destination_connection_id"
                   : id == 0x0f ? "initial_source_connection_id"
                                : "retry_source_connection_id";
            wkp_buf_puts(b, first ? "\"" : ",\"");
            wkp_buf_puts(b, name);
            wkp_buf_puts(b, "\":");
            put_hex(b, v, (size_t)len);
        } else if (id == 0x0c && len == 0) {
            wkp_buf_puts(b, first ? "\"disable_active_migration\":true"
                                  : ",\"disable_active_migration\":true");
            name = "";
        }
        if (name) {
            seen |= 1u << id;
            first = false;
        }
    }
    wkp_buf_putc(b, '}');
}

/* The ClientHello (header included, len bytes) -> the state's text. */
static void client_hello(struct quic_ctx *x, struct quic_state *s, const uint8_t *msg, uint32_t len)
{
    struct wkp_tls_hello *h = &x->hello;
    s->flags |= F_CH;
    if (wkp_tls_hello_parse(WKP_TLS_CLIENT_HELLO, msg + 4, len - 4, h) == WKP_TLS_HELLO_BAD) {
        x->counters[C_BAD_HELLO]++;
        return;
    }
    struct wkp_buf *b = &x->text;
    b->len = 0;
    if (h->has_sni) {
        put_key(b, "sni");
        wkp_buf_json_bytes(b, h->sni, h->sni_len);
    }
    if (h->nalpn) {
        put_key(b, "alpn");
        wkp_buf_putc(b, '[');
        for (unsigned i = 0; i < h->nalpn; i++) {
            if (i)
                wkp_buf_putc(b, ',');
            wkp_buf_json_bytes(b, h->alpn[i], h->alpn_len[i]);
        }
        wkp_buf_putc(b, ']');
    }
    put_u16s(b, "cipher_suites", h->suites, h->nsuites);
    put_u16s(b, "supported_groups", h->groups, h->ngroups);
    put_u16s(b, "extensions", h->exts, h->nexts);
    char ja4[37];
    wkp_tls_ja4(h, 'q', false, x->fp, ja4);
    put_key(b, "ja4");
    wkp_buf_json_str(b, ja4);
    struct wkp_cur tp;
    /* 0x39: RFC 9001 section 8.2; drafts used 0xffa5. */
    if (find_ext(msg + 4, len - 4, 0x39, &tp) || find_ext(msg + 4, len - 4, 0xffa5, &tp))
        put_transport_params(b, &tp);
    if (b->oom || b->len == 0)
        return;
    s->ch_text = malloc(b->len);
    if (!s->ch_text) {
        x->counters[C_NOMEM]++;
        return;
    }
    memcpy(s->ch_text, b->p, b->len);
    s->ch_text_len = (uint32_t)b->len;
}

static void server_hello(struct quic_ctx *x, struct quic_state *s, const uint8_t *msg, uint32_t len)
{
    struct wkp_tls_hello *h = &x->hello;
    s->flags |= F_SH;
    if (wkp_tls_hello_parse(WKP_TLS_SERVER_HELLO, msg + 4, len - 4, h) == WKP_TLS_HELLO_BAD) {
        x->counters[C_BAD_HELLO]++;
        return;
    }
    s->sh_suite = h->cipher_suite;
    s->sh_version = wkp_tls_hello_version(h);
}

/* ---- Initial packets ---- */

/* Walk the frames of an opened Initial (RFC 9000 section 19): PADDING,
 * PING, ACK and CONNECTION_CLOSE are skipped, CRYPTO collected, anything
 * else (not allowed in an Initial) ends the walk. */
static void walk_frames(struct quic_ctx *x, struct quic_work *w, unsigned side, const uint8_t *p,
                        uint32_t n)
{
    uint8_t *buf = side ? w->sh : w->ch;
    uint32_t cap = side ? QUIC_SH_MAX : QUIC_CH_MAX;
    if (!buf)
        return; /* the client's buffer could not be had */
    uint32_t off = 0;
    uint64_t t, a, b, c;
    while (off < n) {
        if (!wkp_quic_varint(p, n, &off, &t))
            goto bad;
        switch (t) {
        case 0x00:
        case 0x01: break;
        case 0x02:
        case 0x03: /* largest, delay, range count, first range, ranges, ECN */
            if (!wkp_quic_varint(p, n, &off, &a) || !wkp_quic_varint(p, n, &off, &a) ||
                !wkp_quic_varint(p, n, &off, &c) || !wkp_quic_varint(p, n, &off, &a))
                goto bad;
            if (c > n)
                goto bad;
            for (uint64_t i = 0; i < 2 * c + (t == 3 ? 3 : 0); i++)
                if (!wkp_quic_varint(p, n, &off, &a))
                    goto bad;
            break;
        case 0x06:
            if (!wkp_quic_varint(p, n, &off, &a) || !wkp_quic_varint(p, n, &off, &b) || b > n - off)
                goto bad;
            asm_add(&w->as[side], buf, cap, a, p + off, b);
            off += (uint32_t)b;
            break;
        case 0x1c:
        case 0x1d:
            if (!wkp_quic_varint(p, n, &off, &a) ||
                (t == 0x1c && !wkp_quic_varint(p, n, &off, &a)) ||
                !wkp_quic_varint(p, n, &off, &b) || b > n - off)
                goto bad;
            off += (uint32_t)b;
            break;
        default: return;
        }
    }
    return;
bad:
    x->counters[C_MALFORMED]++;
}

/* Try the hello of one side once its stream has grown. */
static void try_hello(struct quic_ctx *x, struct quic_state *s, unsigned side)
{
    struct quic_work *w = s->w;
    if (s->flags & (side ? F_SH : F_CH))
        return;
    int64_t m = side ? asm_message(&w->as[1], w->sh, QUIC_SH_MAX, WKP_TLS_SERVER_HELLO)
                     : asm_message(&w->as[0], w->ch, QUIC_CH_MAX, WKP_TLS_CLIENT_HELLO);
    if (m == 0)
        return;
    if (m < 0) {
        x->counters[w->as[side].capped ? C_CRYPTO_CAPPED : C_BAD_HELLO]++;
        s->flags |= side ? F_SH : F_CH; /* nothing more to learn from this side */
    } else if (side) {
        server_hello(x, s, w->sh, (uint32_t)m);
    } else {
        client_hello(x, s, w->ch, (uint32_t)m);
    }
    if (!side && (s->flags & F_CH)) { /* the big buffer goes at once */
        free(w->ch);
        w->ch = NULL;
    }
}

static void work_free(struct quic_work *w)
{
    if (w)
        free(w->ch);
    free(w);
}

static void work_end(struct quic_state *s)
{
    work_free(s->w);
    s->w = NULL;
    s->flags |= F_WORK_DONE;
}

/* An Initial packet of direction dir: open it with the client's keys if
 * dir is (or may be) the client's, else with the server's. */
static void initial(struct quic_ctx *x, struct quic_state *s, unsigned dir, const uint8_t *p,
                    const struct quic_long *h)
{
    if (s->flags & F_WORK_DONE)
        return;
    struct quic_work *w = s->w;
    if (!w) {
        w = s->w = malloc(sizeof *w);
        if (!w) {
            x->counters[C_NOMEM]++;
            s->flags |= F_WORK_DONE;
            return;
        }
        memset(w, 0, offsetof(struct quic_work, sh));
        w->client_dir = -1;
        w->largest_pn[0] = w->largest_pn[1] = -1;
    }
    bool client = w->client_dir < 0 || (unsigned)w->client_dir == dir;
    if (w->tried[dir] >= QUIC_OPEN_MAX || (s->flags & (client ? F_CH : F_SH)))
        return;
    if (client && (!w->have_keys || (s->flags & F_RETRY))) {
        if (!wkp_quic_initial_keys(&x->crypto, h->version, h->dcid, h->dcid_len, false, &w->keys[0],
                                   NULL, NULL) ||
            !wkp_quic_initial_keys(&x->crypto, h->version, h->dcid, h->dcid_len, true, &w->keys[1],
                                   NULL, NULL))
            return;
        w->have_keys = true;
        s->flags &= (uint8_t)~F_RETRY;
        if (!s->odcid.seen || w->client_dir < 0) {
            s->odcid.seen = 1;
            s->odcid.len = h->dcid_len;
            memcpy(s->odcid.b, h->dcid, h->dcid_len);
        }
    }
    if (!w->have_keys)
        return; /* a server Initial before any client one: no keys */
    if (h->cut) {
        /* Cannot be opened (the tag is missing), but its DCID gave the
         * keys: take its sender as the client, so the server's
         * Initials can still be read. */
        if (client && w->client_dir < 0)
            w->client_dir = (int8_t)dir;
        x->counters[C_OPEN_FAILED]++;
        return;
    }
    w->tried[dir]++;
    uint64_t pn;
    int32_t n =
        wkp_quic_open(&x->crypto, &w->keys[client ? 0 : 1], p, h->pn_off, h->end,
                      w->largest_pn[dir], x->hdr, QUIC_HDR_MAX, x->plain, sizeof x->plain, &pn);
    if (n < 0) {
        x->counters[C_OPEN_FAILED]++;
        if (w->client_dir < 0) {
            w->have_keys = false; /* maybe a server Initial first: derive again */
            s->odcid.seen = 0;
        }
        return;
    }
    x->counters[C_OPENED]++;
    if (w->client_dir < 0)
        w->client_dir = (int8_t)dir;
    if ((int64_t)pn > w->largest_pn[dir])
        w->largest_pn[dir] = (int64_t)pn;
    unsigned side = client ? 0 : 1;
    if (!side && !w->ch && !(w->ch = malloc(QUIC_CH_MAX)))
        x->counters[C_NOMEM]++;
    walk_frames(x, w, side, x->plain, (uint32_t)n);
    try_hello(x, s, side);
}

/* The decryption phase ends with both hellos, or when neither side can
 * still give one. */
static void maybe_end_work(struct quic_state *s)
{
    struct quic_work *w = s->w;
    if (!w)
        return;
    bool ch_over =
        (s->flags & F_CH) || (w->client_dir >= 0 && w->tried[w->client_dir] >= QUIC_OPEN_MAX);
    bool sh_over =
        (s->flags & F_SH) || (w->client_dir >= 0 && w->tried[!w->client_dir] >= QUIC_OPEN_MAX);
    if ((ch_over && sh_over) || s->packets >= QUIC_PEEK_PACKETS)
        work_end(s);
}

static void keep_cid(struct quic_cid *c, const uint8_t *p, uint8_t n)
{
    if (c->seen)
        return;
    c->seen = 1;
    c->len = n > QUIC_CID_MAX ? QUIC_CID_MAX : n;
    memcpy(c->b, p, c->len);
}

/* A short-header packet in direction dir: its DCID is the connection ID
 * the peer chose, the SCID of the peer's long headers, so its length and
 * bytes are known once the peer sent one (RFC 9000 section 5.1). */
static void short_header(struct quic_ctx *x, struct quic_state *s, unsigned dir, const uint8_t *p,
                         uint32_t n)
{
    if (!(p[0] & 0x40)) {
        x->counters[C_SHORT_UNMATCHED]++;
        return;
    }
    const struct quic_cid *peer = &s->scid[!dir];
    if (peer->seen && (1u + peer->len > n || memcmp(p + 1, peer->b, peer->len) != 0)) {
        x->counters[C_SHORT_UNMATCHED]++;
        return;
    }
    s->types |= 1u << T_1RTT;
    if (p[0] & 0x20)
        s->flags |= F_SPIN;
}

/* ---- callbacks ---- */

static int quic_init(void *ctx, const struct wkp_dis_env *env)
{
    struct quic_ctx *x = ctx;
    x->counters = env->counters;
    x->fp = wkp_tls_fp_new();
    if (!x->fp || wkp_quic_crypto_init(&x->crypto) != 0)
        return -1;
    return 0;
}

static void quic_fini(void *ctx)
{
    struct quic_ctx *x = ctx;
    wkp_quic_crypto_fini(&x->crypto);
    wkp_tls_fp_free(x->fp);
    x->fp = NULL;
    wkp_buf_free(&x->text);
}

/* Any port: a long header of a known version whose lengths fit. */
static bool quic_probe(void *ctx, const struct wkp_dis_pkt *p, wkp_app_layer mode, bool port_match)
{
    (void)ctx;
    (void)mode;
    (void)port_match;
    return p->proto == IPPROTO_UDP && looks_quic(p->payload, p->payload_len);
}

static enum wkp_dis_result quic_parse(void *ctx, void *state, const struct wkp_dis_pkt *pk,
                                      struct wkp_cur *c)
{
    struct quic_ctx *x = ctx;
    struct quic_state *s = state;
    const uint8_t *p = c->p + c->off;
    uint32_t n = wkp_cur_left(c);
    unsigned dir = pk->dir & 1u;
    if (n == 0)
        return WKP_DIS_MORE;
    if (s->packets < UINT16_MAX)
        s->packets++;
    bool any_long = false;
    /* Coalesced packets: each long header's Length says where the next
     * starts; a short header runs to the end of the datagram. */
    for (uint32_t off = 0; off < n;) {
        const uint8_t *q = p + off;
        uint32_t left = n - off;
        if (!(q[0] & 0x80)) {
            /* After a long header, bytes without the fixed bit are padding
             * of the datagram, not a packet. */
            if ((s->flags & F_LONG) && (off == 0 || (q[0] & 0x40)))
                short_header(x, s, dir, q, left);
            break;
        }
        struct quic_long h = {0};
        if (!read_long(q, left, &h)) {
            if (off > 0 && q[0] != 0)
                x->counters[C_MALFORMED]++;
            break;
        }
        any_long = true;
        s->flags |= F_LONG;
        s->types |= (uint8_t)(1u << h.type);
        if (!s->version && h.version)
            s->version = h.version;
        if (h.type != T_VN) {
            keep_cid(&s->dcid[dir], h.dcid, h.dcid_len);
            keep_cid(&s->scid[dir], h.scid, h.scid_len);
        }
        if (h.type == WKP_QUIC_RETRY)
            s->flags |= F_RETRY;
        else if (h.type == WKP_QUIC_INITIAL)
            initial(x, s, dir, q, &h);
        off += h.end;
    }
    if (!(s->flags & F_LONG) && !any_long && ++s->unseen >= QUIC_UNSEEN_MAX)
        return WKP_DIS_NOT_MINE;
    maybe_end_work(s);
    if ((s->flags & F_WORK_DONE) && ((s->flags & F_SPIN) || s->packets >= QUIC_PEEK_PACKETS))
        return WKP_DIS_DONE;
    return WKP_DIS_MORE;
}

static void quic_finish(void *ctx, void *state)
{
    (void)ctx;
    struct quic_state *s = state;
    if (s->w)
        work_end(s);
}

static const char *version_name(uint32_t v, char buf[16])
{
    if (v == WKP_QUIC_V1)
        return "QUICv1";
    if (v == WKP_QUIC_V2)
        return "QUICv2";
    if ((v >> 8) == 0xff0000u) {
        unsigned d = v & 0xffu; /* 0xff0000NN: draft NN (29 to 34 here) */
        memcpy(buf, "draft-", 6);
        buf[6] = (char)('0' + d / 10 % 10);
        buf[7] = (char)('0' + d % 10);
        buf[8] = 0;
        return buf;
    }
    return NULL;
}

static void put_cid(struct wkp_buf *b, const char *key, const struct quic_cid *c)
{
    if (!c->seen)
        return;
    put_key(b, key);
    put_hex(b, c->b, c->len);
}

static void quic_write(const void *state, struct wkp_buf *b)
{
    const struct quic_state *s = state;
    if (!(s->flags & F_LONG))
        return;
    wkp_buf_puts(b, "{\"version\":");
    wkp_buf_u64(b, s->version);
    char vb[16];
    const char *vn = version_name(s->version, vb);
    if (vn) {
        put_key(b, "version_name");
        wkp_buf_json_str(b, vn);
    }
    put_key(b, "packet_types");
    wkp_buf_putc(b, '[');
    bool first = true;
    for (unsigned t = 0; t < sizeof type_names / sizeof type_names[0]; t++) {
        if (!(s->types >> t & 1))
            continue;
        if (!first)
            wkp_buf_putc(b, ',');
        first = false;
        wkp_buf_json_str(b, type_names[t]);
    }
    wkp_buf_putc(b, ']');
    put_cid(b, "dcid_up", &s->dcid[0]);
    put_cid(b, "scid_up", &s->scid[0]);
    put_cid(b, "dcid_down", &s->dcid[1]);
    put_cid(b, "scid_down", &s->scid[1]);
    put_cid(b, "original_dcid", &s->odcid);
    put_key(b, "spin_bit");
    wkp_buf_puts(b, (s->flags & F_SPIN) ? "true" : "false");
    if (s->ch_text)
        wkp_buf_put(b, s->ch_text, s->ch_text_len);
    if (s->flags & F_SH && s->sh_suite) {
        put_key(b, "server_cipher_suite");
        wkp_buf_u64(b, s->sh_suite);
        put_key(b, "server_version");
        wkp_buf_u64(b, s->sh_version);
    }
    wkp_buf_putc(b, '}');
}

static size_t quic_ext(const void *state, const char **names, size_t max)
{
    const struct quic_state *s = state;
    if (!(s->flags & F_LONG) || max < 1)
        return 0;
    names[0] = "QUIC";
    return 1;
}

static void quic_release(void *ctx, void *state)
{
    (void)ctx;
    struct quic_state *s = state;
    work_free(s->w);
    s->w = NULL;
    free(s->ch_text);
    s->ch_text = NULL;
}

static const uint16_t quic_ports[] = {443};

const struct wkp_dissector wkp_dissector_quic = {
    .name = "quic",
    .transport = IPPROTO_UDP,
    .ports = quic_ports,
    .nports = 1,
    .input = WKP_DIS_DATAGRAM,
    .flow_state_size = sizeof(struct quic_state),
    .worker_ctx_size = sizeof(struct quic_ctx),
    .counter_names = quic_counter_names,
    .ncounters = C__COUNT,
    .worker_init = quic_init,
    .worker_fini = quic_fini,
    .probe = quic_probe,
    .parse = quic_parse,
    .finish = quic_finish,
    .write = quic_write,
    .ext_protocol = quic_ext,
    .release = quic_release,
};
