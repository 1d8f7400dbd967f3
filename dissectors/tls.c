/* TLS over TCP: the record layer of each direction's reassembled stream,
 * handshake messages joined across records and chunks, the hellos and the
 * certificate chain kept per flow, fingerprints made once per hello.
 *
 * Runs on the worker that owns the flow; the per-worker context holds the
 * fingerprint hasher (a digest context and the digests of recent texts,
 * tls_hello.h) and the scratch a hello is parsed into. A flow keeps a small state (it lives until
 * the flow ends, even after DONE) and, on the heap, a compact copy of what the output needs of each
 * hello (struct tls_kept). The one idea: the bytes are read as they arrive, never gathered. A
 * record header (5 bytes) and a handshake header (4 bytes) that straddle chunks are kept in the
 * state; only the body of a message we parse (ClientHello, ServerHello, Certificate) that does not
 * arrive whole in one chunk is copied, into a per-direction heap buffer made on first need and
 * freed once the fields are complete or the flow ends. Everything else (encrypted records, other
 * messages, application data) is skipped by counting. Once the handshake fields are complete (a
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

#include "dissectors/dissector.h"
#include "dissectors/tls_hello.h"
#include "dissectors/x509.h"
#include "util/blocks.h"

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

/* Fingerprint texts of a ClientHello (the last four with tls.ja4_raw only)
 * and of a ServerHello (its JA3S, and its JA3S text with tls.ja4_raw). They
 * are made when the flow's record is written, from what the flow kept of
 * the hello: a run that writes no record (-f none) never hashes. */
enum tls_text { TX_JA3, TX_JA4, TX_JA3_FULL, TX_JA4_R, TX_JA4_O, TX_JA4_RO, TLS_NTEXTS };
enum tls_server_text { SX_JA3S, SX_JA3S_FULL, TLS_NSTEXTS };

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
    struct wkp_tls_fp *fp;     /* the fingerprint hashes */
    struct wkp_x509_ctx *x509; /* certificate decoding without OpenSSL's shared key decoders */
    /* Scratch for the hello being parsed (what a flow keeps of it is
     * copied out into its struct tls_kept), and for the hellos and
     * fingerprint texts of the record being written. */
    struct wkp_tls_hello hello;
    char text[TLS_NTEXTS][WKP_TLS_FP_TEXT];
    char stext[TLS_NSTEXTS][WKP_TLS_FP_TEXT];
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

/* What the output needs of one hello, its fingerprints included, in one
 * block of the worker's small blocks (env->blocks) of the size used, made
 * when the hello is parsed and given back by release(). After this
 * header: the suites, extensions, groups and signature algorithms (16-bit
 * values, host order), the EC point formats, the session id, the SNI, the
 * ALPN values (a length byte before each). */
struct tls_kept {
    uint16_t bytes;   /* of the block, this header included */
    uint16_t version; /* wkp_tls_hello_version() */
    uint16_t legacy_version;
    uint16_t cipher_suite;
    uint16_t nsuites, nexts;
    uint16_t nsuites_real, nexts_real;
    uint8_t ngroups, nsigalgs, npformats, nalpn, sid_len;
    uint8_t sni_len, has_sni, has_sni_ext, has_psk_ext;
    uint8_t alpn0_first, alpn0_last;
    uint8_t data[];
};
_Static_assert(sizeof(struct tls_kept) +
                       2u * (WKP_TLS_MAX_SUITES + WKP_TLS_MAX_EXTS + WKP_TLS_MAX_GROUPS +
                             WKP_TLS_MAX_SIGALGS) +
                       WKP_TLS_MAX_PFORMATS + WKP_TLS_SESSION_ID + WKP_TLS_MAX_SNI +
                       WKP_TLS_MAX_ALPN * (1u + WKP_TLS_ALPN_LEN) <=
                   UINT16_MAX,
               "a kept hello's size fits its bytes field");

/* The flow's certificate chain: where each DER sits in der[], then the
 * DERs; one heap block made by the Certificate message (most flows never
 * carry one, so none of this sits in the state). */
struct tls_chain {
    uint32_t off[TLS_MAX_CERTS], len[TLS_MAX_CERTS];
    uint8_t der[]; /* TLS_MSG_KEEP bytes at most */
};

struct tls_state {
    struct tls_dir dir[2];
    struct tls_kept *ch, *sh; /* heap; NULL: no such hello read */
    uint8_t have_cert_msg, app_data, opt_der, opt_raw;
    uint8_t content_type;   /* first record that told something: 22 or 23 */
    uint8_t content_types;  /* bit t - 20 for each record type 20..24 seen */
    uint16_t version;       /* record version of the first parsed handshake message */
    uint32_t record_length; /* first handshake message, header included */
    uint8_t nhs;
    uint8_t hs_types[TLS_MAX_HS_TYPES]; /* distinct, first-seen order */
    uint8_t sh_dir;                     /* 1 + the direction of the ServerHello, 0: none */
    uint8_t server_ccs_early;           /* the server's CCS came before any Certificate */
    uint8_t unsynced_chunks;
    uint8_t ncerts;
    struct tls_chain *certs; /* heap; NULL: no Certificate read */
    struct tls_ctx *ctx;     /* the worker's context, for write() */
};

/* Every claimed flow holds one until it ends (a flood holds hundreds of
 * thousands of ClientHello-only flows): what grows with the content, or
 * only some flows have (the certificate chain), lives on the heap. */
_Static_assert(sizeof(struct tls_state) <= 192, "the TLS flow state stays small");

static int tls_init(void *ctx, const struct wkp_dis_env *env)
{
    struct tls_ctx *c = ctx;
    c->env = env;
    c->fp = wkp_tls_fp_new();
    c->x509 = wkp_x509_ctx_new();
    return c->fp && c->x509 ? 0 : -1;
}

static void tls_fini(void *ctx)
{
    struct tls_ctx *c = ctx;
    wkp_tls_fp_free(c->fp);
    c->fp = NULL;
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

/* A type past the list's cap is not listed: with the list full, nothing
 * more can be added, so the list itself tells what was seen. */
static void note_hs_type(struct tls_state *s, uint8_t t)
{
    if (s->nhs < TLS_MAX_HS_TYPES && !memchr(s->hs_types, t, s->nhs))
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
    if (!(s->certs = malloc(sizeof *s->certs + room))) {
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
        memcpy(s->certs->der + used, list.p + list.off, len);
        s->certs->off[s->ncerts] = used;
        s->certs->len[s->ncerts++] = len;
        used += len;
        wkp_cur_skip(&list, len);
    }
    if (list_cut && cut)
        c->env->counters[C_TRUNC_CERTS]++;
}

/* The parts of a kept hello, found by walking its block. */
struct kept_view {
    const uint8_t *suites, *exts, *groups, *sigalgs, *pformats, *sid, *sni, *alpn;
};

static void kept_view(const struct tls_kept *k, struct kept_view *v)
{
    const uint8_t *p = k->data;
    v->suites = p;
    p += 2u * k->nsuites;
    v->exts = p;
    p += 2u * k->nexts;
    v->groups = p;
    p += 2u * k->ngroups;
    v->sigalgs = p;
    p += 2u * k->nsigalgs;
    v->pformats = p;
    p += k->npformats;
    v->sid = p;
    p += k->sid_len;
    v->sni = p;
    p += k->sni_len;
    v->alpn = p;
}

static void get_u16s(uint16_t *dst, const uint8_t *src, unsigned n)
{
    if (n)
        memcpy(dst, src, 2u * n);
}

/* The hello a kept block was made from, as far as the fingerprints read
 * it, into *h (type: WKP_TLS_CLIENT_HELLO or WKP_TLS_SERVER_HELLO). */
static void kept_hello(const struct tls_kept *k, uint8_t type, struct wkp_tls_hello *h)
{
    struct kept_view v;
    kept_view(k, &v);
    h->type = type;
    h->version = k->legacy_version;
    h->cipher_suite = k->cipher_suite;
    /* One supported version stands for the list: the fingerprints read
     * only its best, and that is k->version when it differs from the
     * legacy one. */
    h->nversions = k->version != k->legacy_version;
    h->versions[0] = k->version;
    h->nsuites = k->nsuites;
    h->nsuites_real = k->nsuites_real;
    get_u16s(h->suites, v.suites, k->nsuites);
    h->nexts = k->nexts;
    h->nexts_real = k->nexts_real;
    get_u16s(h->exts, v.exts, k->nexts);
    h->ngroups = k->ngroups;
    get_u16s(h->groups, v.groups, k->ngroups);
    h->nsigalgs = k->nsigalgs;
    get_u16s(h->sigalgs, v.sigalgs, k->nsigalgs);
    h->npformats = k->npformats;
    if (k->npformats)
        memcpy(h->pformats, v.pformats, k->npformats);
    h->nalpn = k->nalpn;
    h->alpn0_first = k->alpn0_first;
    h->alpn0_last = k->alpn0_last;
    h->has_sni_ext = k->has_sni_ext;
}

static uint8_t *put_bytes(uint8_t *p, const void *v, size_t n)
{
    if (n)
        memcpy(p, v, n);
    return p + n;
}

/* What the output needs of the hello in the context's scratch into a new
 * block of the size used. NULL: out of memory (the hello is then as if
 * never read). */
static struct tls_kept *keep_hello(struct tls_ctx *c)
{
    const struct wkp_tls_hello *h = &c->hello;
    size_t size = sizeof(struct tls_kept) +
                  2u * ((size_t)h->nsuites + h->nexts + h->ngroups + h->nsigalgs) + h->npformats +
                  h->session_id_len + h->sni_len;
    for (unsigned i = 0; i < h->nalpn; i++)
        size += 1u + h->alpn_len[i];
    struct tls_kept *k = wkp_blocks_take(c->env->blocks, size);
    if (!k)
        return NULL;
    k->bytes = (uint16_t)size;
    k->version = wkp_tls_hello_version(h);
    k->legacy_version = h->version;
    k->cipher_suite = h->cipher_suite;
    k->nsuites = h->nsuites;
    k->nexts = h->nexts;
    k->nsuites_real = h->nsuites_real;
    k->nexts_real = h->nexts_real;
    k->ngroups = h->ngroups;
    k->nsigalgs = h->nsigalgs;
    k->npformats = h->npformats;
    k->nalpn = h->nalpn;
    k->sid_len = h->session_id_len;
    k->sni_len = h->sni_len;
    k->has_sni = h->has_sni;
    k->has_sni_ext = h->has_sni_ext;
    k->has_psk_ext = h->has_psk_ext;
    k->alpn0_first = h->alpn0_first;
    k->alpn0_last = h->alpn0_last;
    uint8_t *p = k->data;
    p = put_bytes(p, h->suites, 2u * h->nsuites);
    p = put_bytes(p, h->exts, 2u * h->nexts);
    p = put_bytes(p, h->groups, 2u * h->ngroups);
    p = put_bytes(p, h->sigalgs, 2u * h->nsigalgs);
    p = put_bytes(p, h->pformats, h->npformats);
    p = put_bytes(p, h->session_id, h->session_id_len);
    p = put_bytes(p, h->sni, h->sni_len);
    for (unsigned i = 0; i < h->nalpn; i++) {
        *p++ = h->alpn_len[i];
        p = put_bytes(p, h->alpn[i], h->alpn_len[i]);
    }
    return k;
}

/* The fingerprint texts of the flow's hellos into the context's scratch;
 * a text not made is "". */
static void fingerprints(const struct tls_state *s)
{
    struct tls_ctx *c = s->ctx;
    struct wkp_tls_hello *h = &c->hello;
    for (unsigned i = 0; i < TLS_NTEXTS; i++)
        c->text[i][0] = '\0';
    for (unsigned i = 0; i < TLS_NSTEXTS; i++)
        c->stext[i][0] = '\0';
    if (s->ch) {
        kept_hello(s->ch, WKP_TLS_CLIENT_HELLO, h);
        wkp_tls_ja3(h, c->fp, c->text[TX_JA3]);
        wkp_tls_ja4(h, 't', false, c->fp, c->text[TX_JA4]);
        if (s->opt_raw) {
            wkp_tls_ja3_text(h, c->text[TX_JA3_FULL], WKP_TLS_FP_TEXT);
            wkp_tls_ja4_raw(h, 't', false, c->text[TX_JA4_R], WKP_TLS_FP_TEXT);
            wkp_tls_ja4(h, 't', true, c->fp, c->text[TX_JA4_O]);
            wkp_tls_ja4_raw(h, 't', true, c->text[TX_JA4_RO], WKP_TLS_FP_TEXT);
        }
    }
    if (s->sh) {
        kept_hello(s->sh, WKP_TLS_SERVER_HELLO, h);
        wkp_tls_ja3(h, c->fp, c->stext[SX_JA3S]);
        if (s->opt_raw)
            wkp_tls_ja3s_text(h, c->stext[SX_JA3S_FULL], WKP_TLS_FP_TEXT);
    }
}

/* A whole (or, cut = true, cut at TLS_MSG_KEEP / at the flow's end) kept
 * message. */
static void parse_message(struct tls_ctx *c, struct tls_state *s, uint8_t type, const uint8_t *p,
                          uint32_t n, bool cut)
{
    enum wkp_tls_hello_status st;
    switch (type) {
    case HS_CLIENT_HELLO:
    case HS_SERVER_HELLO: {
        struct tls_kept **slot = type == HS_CLIENT_HELLO ? &s->ch : &s->sh;
        st = wkp_tls_hello_parse(type == HS_CLIENT_HELLO ? WKP_TLS_CLIENT_HELLO
                                                         : WKP_TLS_SERVER_HELLO,
                                 p, n, &c->hello);
        if (st != WKP_TLS_HELLO_BAD && !*slot)
            *slot = keep_hello(c);
        if (st != WKP_TLS_HELLO_OK && !cut)
            c->env->counters[C_MALFORMED]++;
        break;
    }
    case HS_CERTIFICATE:
        s->have_cert_msg = 1;
        parse_certificates(c, s, p, n, cut);
        break;
    default: break;
    }
}

static bool wanted(const struct tls_state *s, uint8_t type)
{
    return (type == HS_CLIENT_HELLO && !s->ch) || (type == HS_SERVER_HELLO && !s->sh) ||
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
static bool handshake_bytes(struct tls_ctx *c, struct tls_state *s, struct tls_dir *d,
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
static bool records(struct tls_ctx *c, struct tls_state *s, int dir, const uint8_t *p,
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

/* The flow's bytes ended (or the fields are complete, so none will be
 * read): a kept message cut by the end is read as far as it came, and the
 * directions' buffers are given back at once. */
static void end_bytes(struct tls_ctx *c, struct tls_state *s)
{
    for (int k = 0; k < 2; k++) {
        struct tls_dir *d = &s->dir[k];
        if (d->mode == DIR_OK && d->in_msg && d->msg_keep && d->buf_len)
            parse_message(c, s, d->mhdr[0], d->buf, d->buf_len, true);
        d->in_msg = 0;
        d->buf_len = 0;
        free(d->buf);
        d->buf = NULL;
        d->buf_cap = 0;
    }
}

static enum wkp_dis_result tls_parse(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                     struct wkp_cur *cur)
{
    struct tls_ctx *c = ctx;
    struct tls_state *s = state;
    int dir = p->dir & 1;
    struct tls_dir *d = &s->dir[dir];
    const uint8_t *b = cur->p + cur->off;
    uint32_t n = wkp_cur_left(cur);
    s->opt_der = option_on(c->env->option_values[0]);
    s->ctx = c;
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
    if (!fields_complete(s))
        return WKP_DIS_MORE;
    end_bytes(c, s); /* no more bytes come */
    return WKP_DIS_DONE;
}

static void tls_finish(void *ctx, void *state)
{
    end_bytes(ctx, state);
}

/* The ALPN list shown: the client's offer, else the server's choice. */
static const struct tls_kept *alpn_hello(const struct tls_state *s)
{
    if (s->ch && s->ch->nalpn)
        return s->ch;
    if (s->sh && s->sh->nalpn)
        return s->sh;
    return NULL;
}

static void put_key(struct wkp_buf *b, const char *key, bool *first)
{
    wkp_buf_puts(b, *first ? "{\"" : ",\"");
    wkp_buf_puts(b, key);
    wkp_buf_puts(b, "\":");
    *first = false;
}

/* n 16-bit values (host order) at v, which need not be aligned. */
static void put_u16_list(struct wkp_buf *b, const char *key, const uint8_t *v, unsigned n,
                         bool *first)
{
    if (!n)
        return;
    put_key(b, key, first);
    wkp_buf_putc(b, '[');
    for (unsigned i = 0; i < n; i++) {
        uint16_t x;
        memcpy(&x, v + 2u * i, 2);
        if (i)
            wkp_buf_putc(b, ',');
        wkp_buf_u64(b, x);
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
    if (s->sh->version == 0x0304)
        return s->sh->has_psk_ext;
    if (s->ch && s->ch->sid_len && s->ch->sid_len == s->sh->sid_len) {
        struct kept_view cv, sv;
        kept_view(s->ch, &cv);
        kept_view(s->sh, &sv);
        if (memcmp(cv.sid, sv.sid, s->sh->sid_len) == 0)
            return true;
    }
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
    if (s->sh)
        put_version(b, "negotiated_version", s->sh->version, &first);
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
    struct kept_view cv = {0}, sv = {0};
    if (s->ch)
        kept_view(s->ch, &cv);
    if (s->sh)
        kept_view(s->sh, &sv);
    if (s->ch && s->ch->has_sni) {
        put_key(b, "sni", &first);
        wkp_buf_putc(b, '[');
        wkp_buf_json_bytes(b, cv.sni, s->ch->sni_len);
        wkp_buf_putc(b, ']');
    }
    const struct tls_kept *a = alpn_hello(s);
    if (a) {
        put_key(b, "alpn", &first);
        wkp_buf_putc(b, '[');
        const uint8_t *v = a == s->ch ? cv.alpn : sv.alpn;
        for (unsigned i = 0; i < a->nalpn; i++) {
            if (i)
                wkp_buf_putc(b, ',');
            wkp_buf_json_bytes(b, v + 1, *v);
            v += 1u + *v;
        }
        wkp_buf_putc(b, ']');
    }
    if (s->ch)
        put_u16_list(b, "cipher_suites", cv.suites, s->ch->nsuites, &first);
    if (s->sh) {
        put_key(b, "cipher_suite", &first);
        wkp_buf_u64(b, s->sh->cipher_suite);
    }
    if (s->ch) {
        put_u16_list(b, "supported_groups", cv.groups, s->ch->ngroups, &first);
        put_u16_list(b, "signature_algorithms", cv.sigalgs, s->ch->nsigalgs, &first);
        put_u16_list(b, "extensions", cv.exts, s->ch->nexts, &first);
    }
    if (s->sh) {
        put_u16_list(b, "server_extensions", sv.exts, s->sh->nexts, &first);
        put_key(b, "resumed", &first);
        wkp_buf_puts(b, resumed(s) ? "true" : "false");
    }
    fingerprints(s);
    const struct tls_ctx *c = s->ctx;
    put_text(b, "ja3", c->text[TX_JA3], &first);
    put_text(b, "ja3_full", c->text[TX_JA3_FULL], &first);
    put_text(b, "ja3s", c->stext[SX_JA3S], &first);
    put_text(b, "ja3s_full", c->stext[SX_JA3S_FULL], &first);
    put_text(b, "ja4", c->text[TX_JA4], &first);
    put_text(b, "ja4_r", c->text[TX_JA4_R], &first);
    put_text(b, "ja4_o", c->text[TX_JA4_O], &first);
    put_text(b, "ja4_ro", c->text[TX_JA4_RO], &first);
    if (s->ncerts) {
        put_key(b, "certificates", &first);
        wkp_buf_putc(b, '[');
        for (unsigned i = 0; i < s->ncerts; i++) {
            if (i)
                wkp_buf_putc(b, ',');
            wkp_x509_write_json_ctx(c->x509, s->certs->der + s->certs->off[i], s->certs->len[i],
                                    s->opt_der, b);
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
    const struct tls_kept *a = alpn_hello(s);
    struct kept_view av;
    const uint8_t *p = NULL;
    if (a) {
        kept_view(a, &av);
        p = av.alpn;
    }
    for (unsigned i = 0; a && i < a->nalpn && n < max; i++, p += 1u + *p) {
        char v[WKP_TLS_ALPN_LEN + 1];
        unsigned len = *p;
        for (unsigned k = 0; k < len; k++) {
            uint8_t ch = p[1 + k];
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
    struct tls_ctx *c = ctx;
    struct tls_state *s = state;
    free(s->dir[0].buf);
    free(s->dir[1].buf);
    free(s->certs);
    if (s->ch)
        wkp_blocks_give(c->env->blocks, s->ch, s->ch->bytes);
    if (s->sh)
        wkp_blocks_give(c->env->blocks, s->sh, s->sh->bytes);
    s->dir[0].buf = s->dir[1].buf = NULL;
    s->certs = NULL;
    s->ch = s->sh = NULL;
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
