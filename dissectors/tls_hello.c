/* TLS hello bodies and their fingerprints (interface in tls_hello.h).
 *
 * Every read goes through the bounded cursor; each extension is read
 * through a sub-cursor over its own length, so a lying inner length can
 * neither read past the extension nor desynchronise the walk of the next
 * ones. A short body keeps what was read before the fault (best effort, as
 * a capture cut in the middle of a hello still names its server). */
#include "dissectors/tls_hello.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dissectors/cursor.h"

/* server_name (RFC 6066 section 3): list length, then entries of name type
 * (0 = host_name) and a 16-bit length; the first host_name is kept. */
static void read_sni(struct wkp_cur *e, struct wkp_tls_hello *h)
{
    struct wkp_cur list;
    if (!wkp_cur_sub(e, wkp_cur_be16(e), &list))
        return;
    while (!h->has_sni && wkp_cur_left(&list) >= 3) {
        uint8_t type = wkp_cur_u8(&list);
        uint16_t n = wkp_cur_be16(&list);
        if (!wkp_cur_has(&list, n))
            return;
        if (type == 0) {
            uint32_t keep = n < WKP_TLS_MAX_SNI ? n : WKP_TLS_MAX_SNI;
            memcpy(h->sni, list.p + list.off, keep);
            h->sni_len = (uint8_t)keep;
            h->has_sni = true;
        }
        wkp_cur_skip(&list, n);
    }
}

/* A list of 16-bit values behind a 16-bit byte length. */
static uint8_t read_u16_list(struct wkp_cur *e, uint16_t *dst, uint8_t max)
{
    struct wkp_cur list;
    uint8_t n = 0;
    if (!wkp_cur_sub(e, wkp_cur_be16(e), &list))
        return 0;
    while (wkp_cur_left(&list) >= 2) {
        uint16_t v = wkp_cur_be16(&list);
        if (n < max)
            dst[n++] = v;
    }
    return n;
}

/* ALPN (RFC 7301 section 3.1): list length, then values of 8-bit length. */
static void read_alpn(struct wkp_cur *e, struct wkp_tls_hello *h)
{
    struct wkp_cur list;
    if (!wkp_cur_sub(e, wkp_cur_be16(e), &list))
        return;
    while (wkp_cur_left(&list) >= 1) {
        uint8_t n = wkp_cur_u8(&list);
        if (n == 0 || !wkp_cur_has(&list, n))
            return;
        const uint8_t *v = list.p + list.off;
        if (h->nalpn == 0) {
            h->alpn0_first = v[0];
            h->alpn0_last = v[n - 1];
        }
        if (h->nalpn < WKP_TLS_MAX_ALPN) {
            uint8_t keep = n < WKP_TLS_ALPN_LEN ? n : WKP_TLS_ALPN_LEN;
            memcpy(h->alpn[h->nalpn], v, keep);
            h->alpn_len[h->nalpn] = keep;
            h->nalpn++;
        }
        wkp_cur_skip(&list, n);
    }
}

static void read_extension(uint16_t type, struct wkp_cur *e, struct wkp_tls_hello *h)
{
    bool client = h->type == WKP_TLS_CLIENT_HELLO;
    switch (type) {
    case WKP_TLS_EXT_SNI:
        h->has_sni_ext = true;
        if (client)
            read_sni(e, h);
        break;
    case WKP_TLS_EXT_GROUPS:
        if (!h->ngroups)
            h->ngroups = read_u16_list(e, h->groups, WKP_TLS_MAX_GROUPS);
        break;
    case WKP_TLS_EXT_SIGALGS:
        if (!h->nsigalgs)
            h->nsigalgs = read_u16_list(e, h->sigalgs, WKP_TLS_MAX_SIGALGS);
        break;
    case WKP_TLS_EXT_POINT_FORMATS: {
        struct wkp_cur list;
        if (h->npformats || !wkp_cur_sub(e, wkp_cur_u8(e), &list))
            break;
        while (wkp_cur_left(&list) >= 1 && h->npformats < WKP_TLS_MAX_PFORMATS)
            h->pformats[h->npformats++] = wkp_cur_u8(&list);
        break;
    }
    case WKP_TLS_EXT_ALPN:
        h->has_alpn_ext = true;
        if (!h->nalpn)
            read_alpn(e, h);
        break;
    case WKP_TLS_EXT_PSK: h->has_psk_ext = true; break;
    case WKP_TLS_EXT_VERSIONS:
        h->has_versions_ext = true;
        if (h->nversions)
            break;
        if (client) { /* RFC 8446 4.2.1: an 8-bit byte length, then versions */
            struct wkp_cur list;
            if (!wkp_cur_sub(e, wkp_cur_u8(e), &list))
                break;
            while (wkp_cur_left(&list) >= 2) {
                uint16_t v = wkp_cur_be16(&list);
                if (h->nversions < WKP_TLS_MAX_VERSIONS)
                    h->versions[h->nversions++] = v;
            }
        } else if (wkp_cur_left(e) >= 2) { /* the ServerHello: the one chosen */
            h->versions[h->nversions++] = wkp_cur_be16(e);
        }
        break;
    default: break;
    }
}

enum wkp_tls_hello_status wkp_tls_hello_parse(uint8_t type, const uint8_t *body, uint32_t len,
                                              struct wkp_tls_hello *h)
{
    memset(h, 0, sizeof *h);
    h->type = type;
    struct wkp_cur c;
    wkp_cur_init(&c, body, len);
    h->version = wkp_cur_be16(&c);
    wkp_cur_skip(&c, 32); /* random */
    uint8_t sid = wkp_cur_u8(&c);
    if (c.short_read || sid > WKP_TLS_SESSION_ID || !wkp_cur_has(&c, sid)) {
        memset(h, 0, sizeof *h);
        h->type = type;
        return WKP_TLS_HELLO_BAD;
    }
    h->session_id_len = sid;
    wkp_cur_copy(&c, h->session_id, sid);

    if (type == WKP_TLS_CLIENT_HELLO) {
        struct wkp_cur suites;
        if (!wkp_cur_sub(&c, wkp_cur_be16(&c), &suites))
            return WKP_TLS_HELLO_SHORT;
        while (wkp_cur_left(&suites) >= 2) {
            uint16_t v = wkp_cur_be16(&suites);
            h->nsuites_seen++;
            h->nsuites_real = (uint16_t)(h->nsuites_real + !wkp_tls_is_grease(v));
            if (h->nsuites < WKP_TLS_MAX_SUITES)
                h->suites[h->nsuites++] = v;
        }
        wkp_cur_skip(&c, wkp_cur_u8(&c)); /* compression methods */
    } else {
        h->cipher_suite = wkp_cur_be16(&c);
        wkp_cur_u8(&c); /* compression method */
    }
    if (c.short_read)
        return WKP_TLS_HELLO_SHORT;
    if (wkp_cur_left(&c) == 0)
        return WKP_TLS_HELLO_OK; /* no extensions (TLS 1.0 and older clients) */

    struct wkp_cur exts;
    uint16_t exts_len = wkp_cur_be16(&c);
    bool short_list = !wkp_cur_has(&c, exts_len);
    /* A cut list is still walked as far as it goes. */
    if (!wkp_cur_sub(&c, short_list ? wkp_cur_left(&c) : exts_len, &exts))
        return WKP_TLS_HELLO_SHORT;
    while (wkp_cur_left(&exts) >= 4) {
        uint16_t t = wkp_cur_be16(&exts), n = wkp_cur_be16(&exts);
        h->nexts_seen++;
        h->nexts_real = (uint16_t)(h->nexts_real + !wkp_tls_is_grease(t));
        if (h->nexts < WKP_TLS_MAX_EXTS)
            h->exts[h->nexts++] = t;
        struct wkp_cur e;
        if (!wkp_cur_sub(&exts, n, &e)) {
            short_list = true;
            break;
        }
        read_extension(t, &e, h);
    }
    if (wkp_cur_left(&exts) != 0)
        short_list = true;
    return short_list || c.short_read ? WKP_TLS_HELLO_SHORT : WKP_TLS_HELLO_OK;
}

uint16_t wkp_tls_hello_version(const struct wkp_tls_hello *h)
{
    uint16_t best = 0;
    for (unsigned i = 0; i < h->nversions; i++)
        if (!wkp_tls_is_grease(h->versions[i]) && h->versions[i] > best)
            best = h->versions[i];
    return best ? best : h->version;
}

/* Text output with a cap: writes at most cap - 1 characters, always
 * NUL-terminated; len counts what was written. */
struct text {
    char *p;
    size_t cap, len;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->cap == 0)
        return;
    size_t room = t->cap - 1 - t->len;
    if (n > room)
        n = room;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

/* Decimal, by hand: the fingerprints are made for every hello. */
static void put_dec(struct text *t, unsigned v)
{
    char b[12];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(t, b + i, sizeof b - i);
}

static void put_hex4(struct text *t, uint16_t v)
{
    static const char hex[] = "0123456789abcdef";
    char b[4] = {hex[v >> 12], hex[(v >> 8) & 15], hex[(v >> 4) & 15], hex[v & 15]};
    put(t, b, 4);
}

/* Decimal values joined by '-', GREASE left out when skip_grease. */
static void put_dec_list(struct text *t, const uint16_t *v, unsigned n, bool skip_grease)
{
    bool first = true;
    for (unsigned i = 0; i < n; i++) {
        if (skip_grease && wkp_tls_is_grease(v[i]))
            continue;
        if (!first)
            put(t, "-", 1);
        put_dec(t, v[i]);
        first = false;
    }
}

static void text_init(struct text *t, char *out, size_t cap)
{
    t->p = out;
    t->cap = cap;
    t->len = 0;
    if (cap)
        out[0] = '\0';
}

size_t wkp_tls_ja3_text(const struct wkp_tls_hello *h, char *out, size_t cap)
{
    struct text t;
    text_init(&t, out, cap);
    put_dec(&t, h->version);
    put(&t, ",", 1);
    put_dec_list(&t, h->suites, h->nsuites, true);
    put(&t, ",", 1);
    put_dec_list(&t, h->exts, h->nexts, true);
    put(&t, ",", 1);
    put_dec_list(&t, h->groups, h->ngroups, true);
    put(&t, ",", 1);
    for (unsigned i = 0; i < h->npformats; i++) {
        if (i)
            put(&t, "-", 1);
        put_dec(&t, h->pformats[i]);
    }
    return t.len;
}

size_t wkp_tls_ja3s_text(const struct wkp_tls_hello *h, char *out, size_t cap)
{
    struct text t;
    text_init(&t, out, cap);
    put_dec(&t, h->version);
    put(&t, ",", 1);
    put_dec(&t, h->cipher_suite);
    put(&t, ",", 1);
    put_dec_list(&t, h->exts, h->nexts, true);
    return t.len;
}

static bool alnum(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

/* JA4 "a": protocol, version, SNI or not, counts, ALPN's ends. */
static void ja4_a(const struct wkp_tls_hello *h, char proto, char out[11])
{
    uint16_t v = wkp_tls_hello_version(h);
    const char *ver;
    switch (v) {
    case 0x0304: ver = "13"; break;
    case 0x0303: ver = "12"; break;
    case 0x0302: ver = "11"; break;
    case 0x0301: ver = "10"; break;
    case 0x0300: ver = "s3"; break;
    case 0x0200: ver = "s2"; break;
    case 0xfeff: ver = "d1"; break;
    case 0xfefd: ver = "d2"; break;
    case 0xfefc: ver = "d3"; break;
    default: ver = "00"; break;
    }
    unsigned ns = h->nsuites_real > 99 ? 99 : h->nsuites_real;
    unsigned ne = h->nexts_real > 99 ? 99 : h->nexts_real;
    char alpn[3] = "00";
    if (h->nalpn) {
        uint8_t f = h->alpn0_first, l = h->alpn0_last;
        if (alnum(f) && alnum(l)) {
            alpn[0] = (char)f;
            alpn[1] = (char)l;
        } else { /* the first and last digits of the value in hex */
            static const char hex[] = "0123456789abcdef";
            alpn[0] = hex[f >> 4];
            alpn[1] = hex[l & 15];
        }
    }
    char a[11] = {proto,
                  ver[0],
                  ver[1],
                  h->has_sni_ext ? 'd' : 'i',
                  (char)('0' + ns / 10),
                  (char)('0' + ns % 10),
                  (char)('0' + ne / 10),
                  (char)('0' + ne % 10),
                  alpn[0],
                  alpn[1],
                  '\0'};
    memcpy(out, a, sizeof a);
}

static void sort_u16(uint16_t *v, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        uint16_t x = v[i];
        unsigned j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* The three lists JA4 hashes: suites, extensions (sorted without SNI and
 * ALPN, or in wire order with them), signature algorithms in wire order;
 * GREASE left out of all three. */
struct ja4_lists {
    uint16_t suites[WKP_TLS_MAX_SUITES], exts[WKP_TLS_MAX_EXTS], sigs[WKP_TLS_MAX_SIGALGS];
    unsigned ns, ne, ng;
};

static void ja4_lists(const struct wkp_tls_hello *h, bool original, struct ja4_lists *l)
{
    l->ns = l->ne = l->ng = 0;
    for (unsigned i = 0; i < h->nsuites; i++)
        if (!wkp_tls_is_grease(h->suites[i]))
            l->suites[l->ns++] = h->suites[i];
    for (unsigned i = 0; i < h->nexts; i++) {
        uint16_t e = h->exts[i];
        if (wkp_tls_is_grease(e) || (!original && (e == WKP_TLS_EXT_SNI || e == WKP_TLS_EXT_ALPN)))
            continue;
        l->exts[l->ne++] = e;
    }
    for (unsigned i = 0; i < h->nsigalgs; i++)
        if (!wkp_tls_is_grease(h->sigalgs[i]))
            l->sigs[l->ng++] = h->sigalgs[i];
    if (!original) {
        sort_u16(l->suites, l->ns);
        sort_u16(l->exts, l->ne);
    }
}

static void put_hex_list(struct text *t, const uint16_t *v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (i)
            put(t, ",", 1);
        put_hex4(t, v[i]);
    }
}

/* The extensions part: "exts" or "exts_sigalgs". */
static void put_ja4_c(struct text *t, const struct ja4_lists *l)
{
    put_hex_list(t, l->exts, l->ne);
    if (l->ng) {
        put(t, "_", 1);
        put_hex_list(t, l->sigs, l->ng);
    }
}

size_t wkp_tls_ja4_raw(const struct wkp_tls_hello *h, char proto, bool original, char *out,
                       size_t cap)
{
    struct ja4_lists l;
    char a[11];
    struct text t;
    text_init(&t, out, cap);
    ja4_a(h, proto, a);
    ja4_lists(h, original, &l);
    put(&t, a, strlen(a));
    put(&t, "_", 1);
    put_hex_list(&t, l.suites, l.ns);
    put(&t, "_", 1);
    put_ja4_c(&t, &l);
    return t.len;
}

/* MD5 and SHA-256 fetched once for the process (an implementation
 * fetched by name is immutable and may be shared by threads): a digest by
 * EVP_md5() / EVP_sha256() would look the implementation up again at each
 * init. Kept until the process exits; NULL (no such provider): the
 * look-up at each init. */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static EVP_MD *fetched_md5, *fetched_sha256;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
    fetched_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    fetched_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md_md5(void)
{
    pthread_once(&fetch_once, fetch_digests);
    return fetched_md5 ? fetched_md5 : EVP_md5();
}

static const EVP_MD *md_sha256(void)
{
    pthread_once(&fetch_once, fetch_digests);
    return fetched_sha256 ? fetched_sha256 : EVP_sha256();
}
#else
static const EVP_MD *md_md5(void)
{
    return EVP_md5();
}

static const EVP_MD *md_sha256(void)
{
    return EVP_sha256();
}
#endif

/* The recent texts: direct-mapped by a hash of the text, each slot a
 * text of at most FP_TEXT bytes and its digest (longer texts are hashed
 * every time). 64 slots, 37 KiB a hasher. */
#define FP_SLOTS 64
#define FP_TEXT  512

struct fp_slot {
    const EVP_MD *md; /* NULL: empty */
    uint16_t len;
    unsigned char dl;
    unsigned char d[EVP_MAX_MD_SIZE];
    char text[FP_TEXT];
};

struct wkp_tls_fp {
    EVP_MD_CTX *ctx;
    struct fp_slot slot[FP_SLOTS];
};

struct wkp_tls_fp *wkp_tls_fp_new(void)
{
    struct wkp_tls_fp *fp = calloc(1, sizeof *fp);
    if (fp && !(fp->ctx = EVP_MD_CTX_new())) {
        free(fp);
        fp = NULL;
    }
    return fp;
}

void wkp_tls_fp_free(struct wkp_tls_fp *fp)
{
    if (!fp)
        return;
    EVP_MD_CTX_free(fp->ctx);
    free(fp);
}

/* The slot of s (len bytes, at most FP_TEXT) for md: words mixed by a
 * multiply, the top bits of the last product. */
static struct fp_slot *fp_slot_of(struct wkp_tls_fp *fp, const char *s, size_t len,
                                  const EVP_MD *md)
{
    uint64_t h = (uint64_t)(uintptr_t)md ^ (uint64_t)len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, s + i, len - i);
    h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
    return &fp->slot[h >> 58]; /* 64 slots */
}

/* First n hex digits of a digest of s (n <= 2 * digest size). */
static void digest_hex(const char *s, size_t len, const EVP_MD *md, struct wkp_tls_fp *fp,
                       char *out, unsigned n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    struct fp_slot *e = fp && len <= FP_TEXT ? fp_slot_of(fp, s, len, md) : NULL;
    if (e && e->md == md && e->len == len && memcmp(e->text, s, len) == 0) {
        dl = e->dl;
        memcpy(d, e->d, dl);
    } else {
        int ok;
        if (fp)
            ok = EVP_DigestInit_ex(fp->ctx, md, NULL) == 1 &&
                 EVP_DigestUpdate(fp->ctx, s, len) == 1 && EVP_DigestFinal_ex(fp->ctx, d, &dl) == 1;
        else
            ok = EVP_Digest(s, len, d, &dl, md, NULL) == 1;
        if (!ok || dl > sizeof d)
            dl = 0;
        if (e && dl) {
            e->md = md;
            e->len = (uint16_t)len;
            e->dl = (unsigned char)dl;
            memcpy(e->d, d, dl);
            memcpy(e->text, s, len);
        }
    }
    for (unsigned i = 0; i < n; i++)
        out[i] = i / 2 < dl ? hex[i & 1 ? d[i / 2] & 15 : d[i / 2] >> 4] : '0';
    out[n] = '\0';
}

void wkp_tls_ja3(const struct wkp_tls_hello *h, struct wkp_tls_fp *fp, char out[33])
{
    char text[WKP_TLS_FP_TEXT];
    size_t n = h->type == WKP_TLS_SERVER_HELLO ? wkp_tls_ja3s_text(h, text, sizeof text)
                                               : wkp_tls_ja3_text(h, text, sizeof text);
    digest_hex(text, n, md_md5(), fp, out, 32);
}

void wkp_tls_ja4(const struct wkp_tls_hello *h, char proto, bool original, struct wkp_tls_fp *fp,
                 char out[37])
{
    struct ja4_lists l;
    char text[WKP_TLS_FP_TEXT];
    struct text t;
    ja4_a(h, proto, out);
    ja4_lists(h, original, &l);
    out[10] = '_';
    if (l.ns) {
        text_init(&t, text, sizeof text);
        put_hex_list(&t, l.suites, l.ns);
        digest_hex(text, t.len, md_sha256(), fp, out + 11, 12);
    } else {
        memcpy(out + 11, "000000000000", 13);
    }
    out[23] = '_';
    if (l.ne) {
        text_init(&t, text, sizeof text);
        put_ja4_c(&t, &l);
        digest_hex(text, t.len, md_sha256(), fp, out + 24, 12);
    } else {
        memcpy(out + 24, "000000000000", 13);
    }
}
