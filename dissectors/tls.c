/* TLS over TCP: the record layer of each direction's reassembled stream,
 * handshake messages joined across records and chunks, the hellos and the
 * certificate chain kept per flow, fingerprints made when the flow ends.
 *
 * Runs on the worker that owns the flow; the per-worker context holds one
 * EVP_MD_CTX for the fingerprint hashes. The one idea: the bytes are read
 * as they arrive, never gathered. A record header (5 bytes) and a
 * handshake header (4 bytes) that straddle chunks are kept in the state;
 * only the body of a message we parse (ClientHello, ServerHello,
 * Certificate) that does not arrive whole in one chunk is copied, into a
 * per-direction heap buffer made on first need and kept until release().
 * Everything else (encrypted records, other messages, application data)
 * is skipped by counting. Once the handshake fields are complete (a
 * certificate chain, or application data) parse answers DONE and the
 * engine stops reassembling the flow.
 *
 * A direction whose bytes stop looking like TLS (a bad record header, a
 * handshake message claiming more than TLS_MSG_MAX) is abandoned: its
 * partial record and message are dropped, and it starts again at the
 * first later chunk that begins with a plausible record header. A chunk
 * after lost bytes (a gap) is treated the same way. See docs/design.md,
 * "TLS". */
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <openssl/evp.h>

#include "dissectors/dissector.h"
#include "dissectors/tls_hello.h"
#include "dissectors/x509.h"

/* Record bodies: at most 2^14 + 2048 bytes (RFC 5246 section 6.2.3). */
#define TLS_REC_MAX         (16384u + 2048u)
/* A handshake message claiming more than this is not believed: the
 * direction is abandoned (real certificate chains stay far below). */
#define TLS_MSG_MAX         (256u * 1024u)
/* Bytes of one parsed message kept (hello or Certificate); the certificate
 * chain of a flow shares this bound, and at most TLS_MAX_CERTS of it. */
#define TLS_MSG_KEEP        (64u * 1024u)
#define TLS_MAX_CERTS       10
/* Distinct handshake types listed per flow. */
#define TLS_MAX_HS_TYPES    32
/* A claimed flow whose chunks never start a record within this many is
 * not TLS: it is given back. */
#define TLS_UNSYNCED_CHUNKS 8

enum { TLS_CCS = 20, TLS_ALERT = 21, TLS_HANDSHAKE = 22, TLS_APPDATA = 23, TLS_HEARTBEAT = 24 };
enum { HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_CERTIFICATE = 11 };

enum { C_MALFORMED, C_ABANDONED, C_RESYNCED, C_TRUNC_CERTS, C_NOT_TLS, C_COUNT };
static const char *const tls_counters[C_COUNT] = {
    "malformed", "abandoned", "resynced", "truncated_certificates", "not_tls",
};

static const struct wkp_dis_option tls_options[] = {
    {"tls.cert_der", "add \"der\" (base64) to each certificate"},
    {"tls.ja4_raw", "add ja3_full, ja3s_full, ja4_r, ja4_o and ja4_ro"},
};

struct tls_ctx {
    const struct wkp_dis_env *env;
    EVP_MD_CTX *md;
    struct wkp_x509_ctx *x509; /* certificate decoding without OpenSSL's shared key decoders */
};

enum dir_mode {
    DIR_START, /* no record start seen yet: the stream may begin mid-record */
    DIR_OK,
    DIR_LOST, /* abandoned or after a gap: waiting for a chunk that starts a record */
};

struct tls_dir {
    uint8_t mode;         /* enum dir_mode */
    uint8_t encrypted;    /* after this direction's ChangeCipherSpec */
    uint8_t nhdr, hdr[5]; /* record header bytes read so far */
    uint8_t rec_type;
    uint16_t rec_version;
    uint32_t rec_left;      /* body bytes of the current record still to come; 0: a header next */
    uint8_t nmhdr, mhdr[4]; /* handshake header bytes read so far */
    uint8_t in_msg, msg_keep;
    uint32_t msg_len, msg_have;
    uint8_t *buf; /* heap, TLS_MSG_KEEP bytes at most: a kept message that spans chunks */
    uint32_t buf_cap, buf_len;
};

struct tls_state {
    struct tls_dir dir[2];
    struct wkp_tls_hello ch, sh;
    uint8_t have_ch, have_sh, have_cert_msg, app_data, opt_der, opt_raw;
    uint8_t content_type;   /* first record that told something: 22 or 23 */
    uint8_t content_types;  /* bit t - 20 for each record type 20..24 seen */
    uint16_t version;       /* record version of the first parsed handshake message */
    uint32_t record_length; /* first handshake message, header included */
    uint8_t nhs;
    uint8_t hs_types[TLS_MAX_HS_TYPES]; /* distinct, first-seen order */
    uint32_t hs_seen[8];                /* bitmap of the 256 types */
    uint8_t sh_dir;                     /* 1 + the direction of the ServerHello, 0: none */
    uint8_t server_ccs_early;           /* the server's CCS came before any Certificate */
    uint8_t unsynced_chunks;
    uint8_t ncerts;
    uint8_t *certs;            /* heap, TLS_MSG_KEEP bytes at most */
    struct wkp_x509_ctx *x509; /* the worker's decoder, for write() */
    uint32_t cert_off[TLS_MAX_CERTS], cert_len[TLS_MAX_CERTS];
    char ja3[33], ja3s[33], ja4[37], ja4_o[37];
};

static int tls_init(void *ctx, const struct wkp_dis_env *env)
{
    struct tls_ctx *c = ctx;
    c->env = env;
    c->md = EVP_MD_CTX_new();
    c->x509 = wkp_x509_ctx_new();
    return c->md && c->x509 ? 0 : -1;
}

static void tls_fini(void *ctx)
{
    struct tls_ctx *c = ctx;
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
    wkp_x509_ctx_free(c->x509);
    c->x509 = NULL;
}

/* A plausible record header at p: a known content type, major version 3,
 * minor 0..4, a body no longer than TLS_REC_MAX. */
static bool record_header_ok(const uint8_t *p)
{
    uint32_t n = (uint32_t)p[3] << 8 | p[4];
    return p[0] >= TLS_CCS && p[0] <= TLS_HEARTBEAT && p[1] == 3 && p[2] <= 4 && n <= TLS_REC_MAX;
}

/* Could the n bytes at p begin a record? (A chunk may be shorter than a
 * header: the header is then checked whole once its other bytes came.) */
static bool starts_record(const uint8_t *p, uint32_t n)
{
    if (n >= 5)
        return record_header_ok(p);
    return n >= 1 && p[0] >= TLS_CCS && p[0] <= TLS_HEARTBEAT && (n < 2 || p[1] == 3) &&
           (n < 3 || p[2] <= 4);
}

/* The detection rule for a payload on any port: a complete record at
 * offset 0 whose first three bytes look like TLS. */
static bool looks_like_record(const uint8_t *p, uint32_t n)
{
    if (n < 5 || p[0] < TLS_CCS || p[0] > TLS_APPDATA || p[1] != 3 || p[2] > 4)
        return false;
    return 5u + ((uint32_t)p[3] << 8 | p[4]) <= n;
}

/* On a TLS port, a packet whose payload begins with a record header; on
 * any port, one that holds a whole record. A packet that begins inside a
 * record (a capture started mid-connection, a keep-alive byte) is passed
 * over, and the flow's later packets are asked again. */
static bool tls_probe(void *ctx, const struct wkp_dis_pkt *p, wkp_app_layer mode, bool port_match)
{
    (void)ctx;
    (void)mode;
    if (!p->payload || p->payload_len < 5)
        return false;
    return (port_match && record_header_ok(p->payload)) ||
           looks_like_record(p->payload, p->payload_len);
}

/* Forget the partial record and message of a direction (the heap buffer
 * stays for reuse). */
static void dir_reset(struct tls_dir *d)
{
    d->nhdr = 0;
    d->rec_left = 0;
    d->nmhdr = 0;
    d->in_msg = 0;
    d->msg_keep = 0;
    d->buf_len = 0;
}

/* A direction that stopped making sense: its buffer goes too (hostile
 * input should not keep memory for nothing). */
static void abandon(const struct tls_ctx *c, struct tls_dir *d)
{
    dir_reset(d);
    free(d->buf);
    d->buf = NULL;
    d->buf_cap = 0;
    d->mode = DIR_LOST;
    c->env->counters[C_ABANDONED]++;
}

static void note_hs_type(struct tls_state *s, uint8_t t)
{
    if (s->hs_seen[t >> 5] >> (t & 31) & 1u)
        return;
    s->hs_seen[t >> 5] |= 1u << (t & 31);
    if (s->nhs < TLS_MAX_HS_TYPES)
        s->hs_types[s->nhs++] = t;
}

/* Certificate (RFC 5246 section 7.4.2): a 24-bit list length, then
 * certificates of a 24-bit length each. The DERs are copied into the
 * flow's chain buffer, up to TLS_MAX_CERTS and TLS_MSG_KEEP bytes; cut
 * is set when the message itself was cut at TLS_MSG_KEEP. */
static void parse_certificates(const struct tls_ctx *c, struct tls_state *s, const uint8_t *p,
                               uint32_t n, bool cut)
{
    struct wkp_cur cur, list;
    wkp_cur_init(&cur, p, n);
    uint32_t list_len = wkp_cur_u8(&cur);
    list_len = list_len << 16 | wkp_cur_be16(&cur);
    if (cur.short_read) {
        c->env->counters[C_MALFORMED]++;
        return;
    }
    bool list_cut = !wkp_cur_has(&cur, list_len);
    if (list_cut && !cut)
        c->env->counters[C_MALFORMED]++;
    wkp_cur_sub(&cur, list_cut ? wkp_cur_left(&cur) : list_len, &list);
    uint32_t room = wkp_cur_left(&list) < TLS_MSG_KEEP ? wkp_cur_left(&list) : TLS_MSG_KEEP;
    if (s->certs || !room)
        return; /* one chain per flow */
    if (!(s->certs = malloc(room))) {
        c->env->counters[C_TRUNC_CERTS]++;
        return;
    }
    uint32_t used = 0;
    while (wkp_cur_left(&list) >= 3) {
        uint32_t len = wkp_cur_u8(&list);
        len = len << 16 | wkp_cur_be16(&list);
        if (!wkp_cur_has(&list, len) || s->ncerts == TLS_MAX_CERTS || len > room - used) {
            c->env->counters[C_TRUNC_CERTS]++; /* cut by the bound, or a lying length */
            return;
        }
        memcpy(s->certs + used, list.p + list.off, len);
        s->cert_off[s->ncerts] = used;
        s->cert_len[s->ncerts++] = len;
        used += len;
        wkp_cur_skip(&list, len);
    }
    if (list_cut && cut)
        c->env->counters[C_TRUNC_CERTS]++;
}

/* A whole (or, cut = true, cut at TLS_MSG_KEEP / at the flow's end) kept
 * message. */
static void parse_message(const struct tls_ctx *c, struct tls_state *s, uint8_t type,
                          const uint8_t *p, uint32_t n, bool cut)
{
    enum wkp_tls_hello_status st;
    switch (type) {
    case HS_CLIENT_HELLO:
        st = wkp_tls_hello_parse(WKP_TLS_CLIENT_HELLO, p, n, &s->ch);
        s->have_ch = st != WKP_TLS_HELLO_BAD;
        if (st != WKP_TLS_HELLO_OK && !cut)
            c->env->counters[C_MALFORMED]++;
        break;
    case HS_SERVER_HELLO:
        st = wkp_tls_hello_parse(WKP_TLS_SERVER_HELLO, p, n, &s->sh);
        s->have_sh = st != WKP_TLS_HELLO_BAD;
        if (st != WKP_TLS_HELLO_OK && !cut)
            c->env->counters[C_MALFORMED]++;
        break;
    case HS_CERTIFICATE:
        s->have_cert_msg = 1;
        parse_certificates(c, s, p, n, cut);
        break;
    default: break;
    }
}

static bool wanted(const struct tls_state *s, uint8_t type)
{
    return (type == HS_CLIENT_HELLO && !s->have_ch) || (type == HS_SERVER_HELLO && !s->have_sh) ||
           (type == HS_CERTIFICATE && !s->have_cert_msg);
}

/* Room for a kept message's first min(msg_len, TLS_MSG_KEEP) bytes. */
static bool dir_buffer(struct tls_dir *d)
{
    uint32_t need = d->msg_len < TLS_MSG_KEEP ? d->msg_len : TLS_MSG_KEEP;
    if (d->buf_cap >= need)
        return true;
    uint8_t *b = realloc(d->buf, need);
    if (!b)
        return false;
    d->buf = b;
    d->buf_cap = need;
    return true;
}

/* Handshake bytes of one plaintext record: split them into messages,
 * joining a message's pieces across records and chunks. false: the
 * direction was abandoned. */
static bool handshake_bytes(const struct tls_ctx *c, struct tls_state *s, struct tls_dir *d,
                            const uint8_t *p, uint32_t n)
{
    while (n) {
        if (!d->in_msg) {
            while (n && d->nmhdr < 4) {
                d->mhdr[d->nmhdr++] = *p++;
                n--;
            }
            if (d->nmhdr < 4)
                return true;
            uint8_t type = d->mhdr[0];
            d->msg_len = (uint32_t)d->mhdr[1] << 16 | (uint32_t)d->mhdr[2] << 8 | d->mhdr[3];
            if (d->msg_len > TLS_MSG_MAX) {
                c->env->counters[C_MALFORMED]++;
                abandon(c, d);
                return false;
            }
            if (s->nhs == 0) {
                s->version = d->rec_version;
                s->record_length = d->msg_len + 4;
            }
            if (!s->content_type)
                s->content_type = TLS_HANDSHAKE;
            note_hs_type(s, type);
            d->in_msg = 1;
            d->msg_have = 0;
            d->buf_len = 0;
            d->msg_keep = wanted(s, type);
            if (type == HS_SERVER_HELLO && !s->sh_dir)
                s->sh_dir = (uint8_t)(d - s->dir + 1);
        }
        uint32_t take = d->msg_len - d->msg_have;
        if (take > n)
            take = n;
        if (d->msg_keep) {
            if (d->msg_have == 0 && take == d->msg_len) {
                parse_message(c, s, d->mhdr[0], p, take, false); /* whole here: no copy */
            } else if (d->buf_len < TLS_MSG_KEEP) {
                if (!dir_buffer(d)) {
                    d->msg_keep = 0; /* out of memory: this message is skipped */
                } else {
                    uint32_t k = take;
                    if (k > d->buf_cap - d->buf_len)
                        k = d->buf_cap - d->buf_len;
                    memcpy(d->buf + d->buf_len, p, k);
                    d->buf_len += k;
                }
            }
        }
        d->msg_have += take;
        p += take;
        n -= take;
        if (d->msg_have == d->msg_len) {
            if (d->msg_keep && !(d->msg_have == take && take == d->msg_len))
                parse_message(c, s, d->mhdr[0], d->buf, d->buf_len, d->buf_len < d->msg_len);
            d->in_msg = 0;
            d->nmhdr = 0;
            d->buf_len = 0;
        }
    }
    return true;
}

/* A record header just read: what its type tells. */
static void record_start(struct tls_state *s, struct tls_dir *d, int dir)
{
    s->content_types |= (uint8_t)(1u << (d->rec_type - TLS_CCS));
    if (d->rec_type == TLS_CCS) {
        d->encrypted = 1;
        if (s->sh_dir == dir + 1 && !s->have_cert_msg)
            s->server_ccs_early = 1;
    } else if (d->rec_type == TLS_APPDATA) {
        s->app_data = 1;
        if (!s->content_type)
            s->content_type = TLS_APPDATA;
    }
}

/* The bytes of one chunk of direction dir. false: abandoned. */
static bool records(const struct tls_ctx *c, struct tls_state *s, int dir, const uint8_t *p,
                    uint32_t n)
{
    struct tls_dir *d = &s->dir[dir];
    while (n) {
        if (d->rec_left == 0) {
            while (n && d->nhdr < 5) {
                d->hdr[d->nhdr++] = *p++;
                n--;
            }
            if (d->nhdr < 5)
                return true;
            d->nhdr = 0;
            if (!record_header_ok(d->hdr)) {
                abandon(c, d);
                return false;
            }
            d->rec_type = d->hdr[0];
            d->rec_version = (uint16_t)(d->hdr[1] << 8 | d->hdr[2]);
            d->rec_left = (uint32_t)d->hdr[3] << 8 | d->hdr[4];
            record_start(s, d, dir);
            continue;
        }
        uint32_t take = d->rec_left < n ? d->rec_left : n;
        /* After ChangeCipherSpec the handshake is encrypted: skipped. */
        if (d->rec_type == TLS_HANDSHAKE && !d->encrypted && !handshake_bytes(c, s, d, p, take))
            return false;
        d->rec_left -= take;
        p += take;
        n -= take;
    }
    return true;
}

static bool option_on(const char *v)
{
    return v && strcmp(v, "0") != 0;
}

static bool fields_complete(const struct tls_state *s)
{
    return s->have_cert_msg || s->app_data || (s->dir[0].encrypted && s->dir[1].encrypted);
}

static enum wkp_dis_result tls_parse(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                     struct wkp_cur *cur)
{
    const struct tls_ctx *c = ctx;
    struct tls_state *s = state;
    int dir = p->dir & 1;
    struct tls_dir *d = &s->dir[dir];
    const uint8_t *b = cur->p + cur->off;
    uint32_t n = wkp_cur_left(cur);
    s->opt_der = option_on(c->env->option_values[0]);
    s->x509 = c->x509;
    s->opt_raw = option_on(c->env->option_values[1]);
    if (p->gap && d->mode == DIR_OK) {
        dir_reset(d);
        d->mode = DIR_LOST;
    }
    if (d->mode != DIR_OK) {
        /* Start (again) only at a chunk that begins with a record header. */
        if (!starts_record(b, n)) {
            if (!s->content_types && ++s->unsynced_chunks >= TLS_UNSYNCED_CHUNKS) {
                c->env->counters[C_NOT_TLS]++;
                return WKP_DIS_NOT_MINE;
            }
            return WKP_DIS_MORE;
        }
        if (d->mode == DIR_LOST)
            c->env->counters[C_RESYNCED]++;
        dir_reset(d);
        d->mode = DIR_OK;
    }
    records(c, s, dir, b, n);
    return fields_complete(s) ? WKP_DIS_DONE : WKP_DIS_MORE;
}

static void tls_finish(void *ctx, void *state)
{
    const struct tls_ctx *c = ctx;
    struct tls_state *s = state;
    /* A kept message the flow ended inside: read what came of it. */
    for (int k = 0; k < 2; k++) {
        struct tls_dir *d = &s->dir[k];
        if (d->mode == DIR_OK && d->in_msg && d->msg_keep && d->buf_len)
            parse_message(c, s, d->mhdr[0], d->buf, d->buf_len, true);
    }
    if (s->have_ch) {
        wkp_tls_ja3(&s->ch, c->md, s->ja3);
        wkp_tls_ja4(&s->ch, 't', false, c->md, s->ja4);
        if (s->opt_raw)
            wkp_tls_ja4(&s->ch, 't', true, c->md, s->ja4_o);
    }
    if (s->have_sh)
        wkp_tls_ja3(&s->sh, c->md, s->ja3s);
}

/* The ALPN list shown: the client's offer, else the server's choice. */
static const struct wkp_tls_hello *alpn_hello(const struct tls_state *s)
{
    if (s->have_ch && s->ch.nalpn)
        return &s->ch;
    if (s->have_sh && s->sh.nalpn)
        return &s->sh;
    return NULL;
}

static void put_key(struct wkp_buf *b, const char *key, bool *first)
{
    wkp_buf_puts(b, *first ? "{\"" : ",\"");
    wkp_buf_puts(b, key);
    wkp_buf_puts(b, "\":");
    *first = false;
}

static void put_u16_list(struct wkp_buf *b, const char *key, const uint16_t *v, unsigned n,
                         bool *first)
{
    if (!n)
        return;
    put_key(b, key, first);
    wkp_buf_putc(b, '[');
    for (unsigned i = 0; i < n; i++) {
        if (i)
            wkp_buf_putc(b, ',');
        wkp_buf_u64(b, v[i]);
    }
    wkp_buf_putc(b, ']');
}

static void put_version(struct wkp_buf *b, const char *key, uint16_t v, bool *first)
{
    put_key(b, key, first);
    wkp_buf_putc(b, '"');
    wkp_buf_u64(b, v >> 8);
    wkp_buf_putc(b, '.');
    wkp_buf_u64(b, v & 0xff);
    wkp_buf_putc(b, '"');
}

static void put_text(struct wkp_buf *b, const char *key, const char *v, bool *first)
{
    if (!v[0])
        return;
    put_key(b, key, first);
    wkp_buf_json_str(b, v);
}

/* Resumed: TLS 1.3 accepted a pre-shared key; before 1.3 the server
 * echoed the client's session id, or went to ChangeCipherSpec without a
 * Certificate (an abbreviated handshake, e.g. with a session ticket). */
static bool resumed(const struct tls_state *s)
{
    if (wkp_tls_hello_version(&s->sh) == 0x0304)
        return s->sh.has_psk_ext;
    if (s->have_ch && s->ch.session_id_len && s->ch.session_id_len == s->sh.session_id_len &&
        memcmp(s->ch.session_id, s->sh.session_id, s->sh.session_id_len) == 0)
        return true;
    return s->server_ccs_early && !s->have_cert_msg;
}

static void tls_write(const void *state, struct wkp_buf *b)
{
    const struct tls_state *s = state;
    if (!s->content_type)
        return; /* nothing of TLS was read */
    bool first = true;
    if (s->version >> 8 && s->version & 0xff) /* "3.0" would say nothing: left out */
        put_version(b, "version", s->version, &first);
    if (s->have_sh)
        put_version(b, "negotiated_version", wkp_tls_hello_version(&s->sh), &first);
    put_key(b, "content_type", &first);
    wkp_buf_u64(b, s->content_type);
    put_key(b, "content_types", &first);
    wkp_buf_putc(b, '[');
    for (unsigned t = 0, k = 0; t < 5; t++)
        if (s->content_types >> t & 1u) {
            if (k++)
                wkp_buf_putc(b, ',');
            wkp_buf_u64(b, TLS_CCS + t);
        }
    wkp_buf_putc(b, ']');
    if (s->nhs) {
        put_key(b, "handshake_type", &first);
        wkp_buf_u64(b, s->hs_types[0]);
        put_key(b, "handshake_types", &first);
        wkp_buf_putc(b, '[');
        for (unsigned i = 0; i < s->nhs; i++) {
            if (i)
                wkp_buf_putc(b, ',');
            wkp_buf_u64(b, s->hs_types[i]);
        }
        wkp_buf_putc(b, ']');
        put_key(b, "record_length", &first);
        wkp_buf_u64(b, s->record_length);
    }
    if (s->have_ch && s->ch.has_sni) {
        put_key(b, "sni", &first);
        wkp_buf_putc(b, '[');
        wkp_buf_json_bytes(b, s->ch.sni, s->ch.sni_len);
        wkp_buf_putc(b, ']');
    }
    const struct wkp_tls_hello *a = alpn_hello(s);
    if (a) {
        put_key(b, "alpn", &first);
        wkp_buf_putc(b, '[');
        for (unsigned i = 0; i < a->nalpn; i++) {
            if (i)
                wkp_buf_putc(b, ',');
            wkp_buf_json_bytes(b, a->alpn[i], a->alpn_len[i]);
        }
        wkp_buf_putc(b, ']');
    }
    if (s->have_ch)
        put_u16_list(b, "cipher_suites", s->ch.suites, s->ch.nsuites, &first);
    if (s->have_sh) {
        put_key(b, "cipher_suite", &first);
        wkp_buf_u64(b, s->sh.cipher_suite);
    }
    if (s->have_ch) {
        put_u16_list(b, "supported_groups", s->ch.groups, s->ch.ngroups, &first);
        put_u16_list(b, "signature_algorithms", s->ch.sigalgs, s->ch.nsigalgs, &first);
        put_u16_list(b, "extensions", s->ch.exts, s->ch.nexts, &first);
    }
    if (s->have_sh) {
        put_u16_list(b, "server_extensions", s->sh.exts, s->sh.nexts, &first);
        put_key(b, "resumed", &first);
        wkp_buf_puts(b, resumed(s) ? "true" : "false");
    }
    char text[WKP_TLS_FP_TEXT];
    put_text(b, "ja3", s->ja3, &first);
    if (s->opt_raw && s->have_ch) {
        wkp_tls_ja3_text(&s->ch, text, sizeof text);
        put_text(b, "ja3_full", text, &first);
    }
    put_text(b, "ja3s", s->ja3s, &first);
    if (s->opt_raw && s->have_sh) {
        wkp_tls_ja3s_text(&s->sh, text, sizeof text);
        put_text(b, "ja3s_full", text, &first);
    }
    put_text(b, "ja4", s->ja4, &first);
    if (s->opt_raw && s->have_ch) {
        wkp_tls_ja4_raw(&s->ch, 't', false, text, sizeof text);
        put_text(b, "ja4_r", text, &first);
        put_text(b, "ja4_o", s->ja4_o, &first);
        wkp_tls_ja4_raw(&s->ch, 't', true, text, sizeof text);
        put_text(b, "ja4_ro", text, &first);
    }
    if (s->ncerts) {
        put_key(b, "certificates", &first);
        wkp_buf_putc(b, '[');
        for (unsigned i = 0; i < s->ncerts; i++) {
            if (i)
                wkp_buf_putc(b, ',');
            wkp_x509_write_json_ctx(s->x509, s->certs + s->cert_off[i], s->cert_len[i], s->opt_der,
                                    b);
        }
        wkp_buf_putc(b, ']');
    }
    wkp_buf_putc(b, '}');
}

/* "TLS" once a record was read; "HTTPS" too when an ALPN value, lower
 * case, is h2, http or starts with http/. */
static size_t tls_ext(const void *state, const char **names, size_t max)
{
    const struct tls_state *s = state;
    size_t n = 0;
    if (!s->content_type || max < 1)
        return 0;
    names[n++] = "TLS";
    const struct wkp_tls_hello *a = alpn_hello(s);
    for (unsigned i = 0; a && i < a->nalpn && n < max; i++) {
        char v[WKP_TLS_ALPN_LEN + 1];
        unsigned len = a->alpn_len[i];
        for (unsigned k = 0; k < len; k++) {
            uint8_t ch = a->alpn[i][k];
            v[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        }
        v[len] = '\0';
        if ((len == 2 && memcmp(v, "h2", 2) == 0) || (len == 4 && memcmp(v, "http", 4) == 0) ||
            (len >= 5 && memcmp(v, "http/", 5) == 0)) {
            names[n++] = "HTTPS";
            break;
        }
    }
    return n;
}

static void tls_release(void *ctx, void *state)
{
    (void)ctx;
    struct tls_state *s = state;
    free(s->dir[0].buf);
    free(s->dir[1].buf);
    free(s->certs);
    s->dir[0].buf = s->dir[1].buf = NULL;
    s->certs = NULL;
}

static const uint16_t tls_ports[] = {443, 465, 993, 995, 5061};

const struct wkp_dissector wkp_dissector_tls = {
    .name = "tls",
    .transport = IPPROTO_TCP,
    .ports = tls_ports,
    .nports = sizeof tls_ports / sizeof tls_ports[0],
    .input = WKP_DIS_STREAM,
    .flow_state_size = sizeof(struct tls_state),
    .worker_ctx_size = sizeof(struct tls_ctx),
    .counter_names = tls_counters,
    .ncounters = C_COUNT,
    .options = tls_options,
    .noptions = sizeof tls_options / sizeof tls_options[0],
    .worker_init = tls_init,
    .worker_fini = tls_fini,
    .probe = tls_probe,
    .parse = tls_parse,
    .finish = tls_finish,
    .write = tls_write,
    .ext_protocol = tls_ext,
    .release = tls_release,
};
