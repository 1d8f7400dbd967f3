/* X.509 certificates as JSON (interface in x509.h; the object's fields in
 * docs/output.md, "Certificate objects").
 *
 * Any thread may call wkp_x509_write_json at the same time: every OpenSSL
 * object but the caller's optional context lives for one call and is freed
 * before it returns, there is no static data but constants, and the OpenSSL
 * error queue (per thread) is restored to the caller's state with a mark.
 * OpenSSL's X509 decoder gets len as its bound, so no byte past der + len is
 * read; whatever comes from the certificate (names, SANs, unknown OIDs) is
 * written with wkp_buf_json_bytes, so the JSON is valid whatever it holds.
 *
 * Names use the RFC 2253 form of `openssl x509 -nameopt RFC2253` (most
 * specific RDN first, "," between RDNs, "+" inside one) but keep non-ASCII
 * characters as UTF-8 rather than \XX escapes (`-nameopt RFC2253,-esc_msb`),
 * as tshark shows them; unknown attribute types print as dotted OIDs with
 * "#" and the hex of the value's DER. */
#include "dissectors/x509.h"

#include <arpa/inet.h>
#include <limits.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char hexdig[] = "0123456789abcdef";

static void put_hex(struct wkp_buf *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        wkp_buf_putc(out, hexdig[p[i] >> 4]);
        wkp_buf_putc(out, hexdig[p[i] & 15]);
    }
}

static void put_key(struct wkp_buf *out, const char *key)
{
    wkp_buf_putc(out, ',');
    wkp_buf_json_str(out, key);
    wkp_buf_putc(out, ':');
}

static void put_sha256(struct wkp_buf *out, const uint8_t *p, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1) {
        wkp_buf_puts(out, "null");
        return;
    }
    wkp_buf_putc(out, '"');
    put_hex(out, md, mdlen);
    wkp_buf_putc(out, '"');
}

/* Standard base64 with padding, no line breaks. Encoded in slices of a
 * multiple of 3 bytes, which concatenate to the encoding of the whole and
 * keep every length well inside EVP_EncodeBlock's int. */
static void put_base64(struct wkp_buf *out, const uint8_t *p, size_t n)
{
    enum { SLICE = 3 * 16384 };
    wkp_buf_putc(out, '"');
    while (n > 0) {
        size_t k = n < SLICE ? n : SLICE;
        size_t need = 4 * ((k + 2) / 3) + 1; /* EVP_EncodeBlock adds a NUL */
        if (wkp_buf_reserve(out, need) != 0)
            return; /* out->oom is set: the record is marked incomplete */
        int w = EVP_EncodeBlock((unsigned char *)out->p + out->len, p, (int)k);
        if (w > 0)
            out->len += (size_t)w;
        p += k;
        n -= k;
    }
    wkp_buf_putc(out, '"');
}

/* null if OpenSSL cannot print the name (the decoder has already refused
 * names whose UTF8String, BMPString ... values do not convert to UTF-8). */
static void put_name(struct wkp_buf *out, const X509_NAME *name, BIO *bio)
{
    static const unsigned long flags = XN_FLAG_RFC2253 & ~(unsigned long)ASN1_STRFLGS_ESC_MSB;
    char *text = NULL;
    long n = -1;
    if (name != NULL && BIO_reset(bio) >= 0 && X509_NAME_print_ex(bio, name, 0, flags) >= 0)
        n = BIO_get_mem_data(bio, &text);
    if (n < 0 || (n > 0 && text == NULL))
        wkp_buf_puts(out, "null");
    else
        wkp_buf_json_bytes(out, (const uint8_t *)text, (size_t)n);
}

/* Lower-case hex of the magnitude, two digits a byte (as `openssl x509
 * -serial`, lower-cased); "-" first for a negative serial. */
static void put_serial(struct wkp_buf *out, const ASN1_INTEGER *serial)
{
    if (serial == NULL) {
        wkp_buf_puts(out, "null");
        return;
    }
    int len = ASN1_STRING_length(serial);
    const unsigned char *d = ASN1_STRING_get0_data(serial);
    wkp_buf_putc(out, '"');
    if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER)
        wkp_buf_putc(out, '-');
    if (len <= 0 || d == NULL)
        wkp_buf_puts(out, "00");
    else
        put_hex(out, d, (size_t)len);
    wkp_buf_putc(out, '"');
}

/* "YYYY-MM-DDTHH:MM:SSZ"; UTCTime years 50-99 are 19xx (RFC 5280,
 * 4.1.2.5.1), which ASN1_TIME_to_tm applies. Fractions of a second in a
 * GeneralizedTime are dropped. */
static void put_time(struct wkp_buf *out, const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 || tm.tm_year < -1900 ||
        tm.tm_year > 9999 - 1900) {
        wkp_buf_puts(out, "null");
        return;
    }
    char s[32];
    int n = snprintf(s, sizeof s, "\"%04d-%02d-%02dT%02d:%02d:%02dZ\"", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n > 0 && (size_t)n < sizeof s)
        wkp_buf_put(out, s, (size_t)n);
    else
        wkp_buf_puts(out, "null");
}

static void put_oid(struct wkp_buf *out, const ASN1_OBJECT *obj)
{
    char s[128];
    int n = obj != NULL ? OBJ_obj2txt(s, sizeof s, obj, 0) : -1;
    if (n <= 0)
        wkp_buf_puts(out, "null");
    else
        wkp_buf_json_bytes(out, (const uint8_t *)s, strnlen(s, sizeof s));
}

/* iPAddress: 4 or 16 bytes as inet_ntop prints them; any other length (a
 * name-constraints address/mask pair misplaced here) as hex. */
static void put_ip(struct wkp_buf *out, const ASN1_OCTET_STRING *ip)
{
    int len = ASN1_STRING_length(ip);
    const unsigned char *d = ASN1_STRING_get0_data(ip);
    char s[INET6_ADDRSTRLEN];
    if ((len == 4 || len == 16) && d != NULL &&
        inet_ntop(len == 4 ? AF_INET : AF_INET6, d, s, sizeof s) != NULL) {
        wkp_buf_json_str(out, s);
        return;
    }
    wkp_buf_putc(out, '"');
    if (len > 0 && d != NULL)
        put_hex(out, d, (size_t)len);
    wkp_buf_putc(out, '"');
}

/* "san": {"dns": [...], "ip": [...], "email": [...], "uri": [...]}, each
 * list in certificate order and present only when not empty. Other name
 * forms (directoryName, otherName, registeredID ...) are not listed. */
static void put_sans(struct wkp_buf *out, const X509 *x)
{
    static const struct {
        int type;
        const char *key;
    } kinds[] = {{GEN_DNS, "dns"}, {GEN_IPADD, "ip"}, {GEN_EMAIL, "email"}, {GEN_URI, "uri"}};
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int count = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
    bool first_kind = true;
    wkp_buf_putc(out, '{');
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        bool first = true;
        for (int i = 0; i < count; i++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
            int type;
            void *v = GENERAL_NAME_get0_value(g, &type);
            if (v == NULL || type != kinds[k].type)
                continue;
            if (first) {
                if (!first_kind)
                    wkp_buf_putc(out, ',');
                wkp_buf_json_str(out, kinds[k].key);
                wkp_buf_puts(out, ":[");
                first_kind = false;
            } else {
                wkp_buf_putc(out, ',');
            }
            first = false;
            if (type == GEN_IPADD) {
                put_ip(out, v);
            } else {
                const ASN1_STRING *s = v;
                int len = ASN1_STRING_length(s);
                const unsigned char *d = ASN1_STRING_get0_data(s);
                wkp_buf_json_bytes(out, d, d != NULL && len > 0 ? (size_t)len : 0);
            }
        }
        if (!first)
            wkp_buf_putc(out, ']');
    }
    wkp_buf_putc(out, '}');
    GENERAL_NAMES_free(gens);
}

/* Bit length of the first INTEGER of the DER SEQUENCE der[0..n) (an RSA
 * modulus, DSA or DH p): what EVP_PKEY_get_bits reports for those keys.
 * 0 if there is none. */
static int first_integer_bits(const unsigned char *der, long n)
{
    int bits = 0;
    const unsigned char *q = der;
    ASN1_SEQUENCE_ANY *seq = der != NULL && n > 0 ? d2i_ASN1_SEQUENCE_ANY(NULL, &q, n) : NULL;
    const ASN1_TYPE *first =
        seq != NULL && sk_ASN1_TYPE_num(seq) > 0 ? sk_ASN1_TYPE_value(seq, 0) : NULL;
    if (first != NULL && first->type == V_ASN1_INTEGER) {
        const ASN1_INTEGER *i = first->value.integer;
        const unsigned char *d = ASN1_STRING_get0_data(i);
        int len = ASN1_STRING_length(i), k = 0;
        while (d != NULL && k < len && d[k] == 0)
            k++;
        if (d != NULL && k < len && len - k <= INT_MAX / 8) {
            bits = 8 * (len - k - 1);
            for (unsigned top = d[k]; top != 0; top >>= 1)
                bits++;
        }
    }
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return bits;
}

/* Order bits of a named curve, which is EVP_PKEY_get_bits of an EC key:
 * the common ones from a table, others from an EC_GROUP (about 30 us). */
static int curve_bits(int nid)
{
    switch (nid) {
    case NID_X9_62_prime192v1: return 192;
    case NID_secp224r1: return 224;
    case NID_X9_62_prime256v1:
    case NID_secp256k1:
    case NID_brainpoolP256r1: return 256;
    case NID_secp384r1:
    case NID_brainpoolP384r1: return 384;
    case NID_secp521r1: return 521;
    case NID_brainpoolP512r1: return 512;
    default: break;
    }
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    int bits = g != NULL ? EC_GROUP_order_bits(g) : 0;
    EC_GROUP_free(g);
    return bits;
}

/* key_type, key_curve (EC only), key_bits, read from the SubjectPublicKeyInfo
 * (see struct wkp_x509_ctx for why not from an EVP_PKEY). An algorithm not
 * listed gives its name or OID as key_type and null bits. */
static void put_key_info(struct wkp_buf *out, X509 *x)
{
    ASN1_OBJECT *alg = NULL;
    const unsigned char *pk = NULL;
    int pklen = 0, ptype = V_ASN1_UNDEF;
    X509_ALGOR *pa = NULL;
    const void *pval = NULL;
    X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
    if (xpk == NULL || X509_PUBKEY_get0_param(&alg, &pk, &pklen, &pa, xpk) != 1)
        alg = NULL;
    if (pa != NULL)
        X509_ALGOR_get0(NULL, &ptype, &pval, pa);
    const ASN1_STRING *params = ptype == V_ASN1_SEQUENCE ? pval : NULL;
    const unsigned char *pder = params != NULL ? ASN1_STRING_get0_data(params) : NULL;
    long plen = params != NULL ? ASN1_STRING_length(params) : 0;

    const char *name = NULL;
    int bits = 0, nid = alg != NULL ? OBJ_obj2nid(alg) : NID_undef;
    switch (nid) {
    case NID_rsaEncryption:
        name = "RSA";
        bits = first_integer_bits(pk, pklen);
        break;
    case NID_rsassaPss:
        name = "RSA-PSS";
        bits = first_integer_bits(pk, pklen);
        break;
    case NID_dsa:
        name = "DSA";
        bits = first_integer_bits(pder, plen);
        break;
    case NID_dhKeyAgreement:
        name = "DH";
        bits = first_integer_bits(pder, plen);
        break;
    case NID_dhpublicnumber:
        name = "DHX";
        bits = first_integer_bits(pder, plen);
        break;
    case NID_X9_62_id_ecPublicKey: name = "EC"; break;
    /* fixed sizes, as OpenSSL counts them (RFC 8032, RFC 7748 keys) */
    case NID_ED25519:
        name = "Ed25519";
        bits = 256;
        break;
    case NID_ED448:
        name = "Ed448";
        bits = 456;
        break;
    case NID_X25519:
        name = "X25519";
        bits = 253;
        break;
    case NID_X448:
        name = "X448";
        bits = 448;
        break;
    default: break;
    }
    put_key(out, "key_type");
    if (name != NULL)
        wkp_buf_json_str(out, name);
    else
        put_oid(out, alg);
    if (nid == NID_X9_62_id_ecPublicKey) {
        /* namedCurve OID, or explicit parameters (no name) (RFC 5480, 2.1.1) */
        put_key(out, "key_curve");
        if (ptype == V_ASN1_OBJECT && pval != NULL) {
            int cnid = OBJ_obj2nid(pval);
            const char *sn = cnid != NID_undef ? OBJ_nid2sn(cnid) : NULL;
            if (sn != NULL)
                wkp_buf_json_str(out, sn);
            else
                put_oid(out, pval);
            bits = cnid != NID_undef ? curve_bits(cnid) : 0;
        } else {
            wkp_buf_puts(out, "null");
            const unsigned char *q = pder;
            EC_GROUP *g = pder != NULL && plen > 0 ? d2i_ECPKParameters(NULL, &q, plen) : NULL;
            bits = g != NULL ? EC_GROUP_order_bits(g) : 0;
            EC_GROUP_free(g);
        }
    }
    put_key(out, "key_bits");
    if (bits > 0)
        wkp_buf_u64(out, (uint64_t)bits);
    else
        wkp_buf_puts(out, "null");
}

static void put_cert(struct wkp_buf *out, X509 *x, BIO *bio)
{
    wkp_buf_puts(out, "{\"version\":");
    wkp_buf_i64(out, (int64_t)X509_get_version(x) + 1);
    put_key(out, "serial");
    put_serial(out, X509_get0_serialNumber(x));
    put_key(out, "subject");
    put_name(out, X509_get_subject_name(x), bio);
    put_key(out, "issuer");
    put_name(out, X509_get_issuer_name(x), bio);
    put_key(out, "not_before");
    put_time(out, X509_get0_notBefore(x));
    put_key(out, "not_after");
    put_time(out, X509_get0_notAfter(x));
    put_key(out, "san");
    put_sans(out, x);
    /* the outer signatureAlgorithm, the one the signature was made with */
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    X509_get0_signature(NULL, &alg, x);
    if (alg != NULL)
        X509_ALGOR_get0(&obj, NULL, NULL, alg);
    put_key(out, "signature_algorithm");
    put_oid(out, obj);
    put_key_info(out, x);
}

/* A library context that holds only OpenSSL's "null" provider. In the
 * default context OpenSSL 3.0 turns every SubjectPublicKeyInfo into an
 * EVP_PKEY while decoding the certificate, by building a decoder chain from
 * every provider's decoders: about 80% of the time a certificate costs
 * (300-500 us for a 1.4 KB RSA one), most of it taking and dropping shared
 * read locks. Here there is no decoder to find: the key stays undecoded
 * and a call takes 50-100 us (400 us for a 4 KB certificate with 130
 * names). That is why the key facts come from the SubjectPublicKeyInfo
 * fields, not from an EVP_PKEY: the output is the same in both contexts.
 * A context of its own per call would cost more than it saves (the first
 * use of a context fills its name tables), hence one per worker. */
struct wkp_x509_ctx {
    OSSL_LIB_CTX *lib;
    OSSL_PROVIDER *nullprov;
    struct cert_cache *cache;
};

/* The objects last written, by their DER: a server's certificate is sent
 * in every session with it, and decoding one costs 50-400 us where copying
 * its text costs well under one. Looked up by a hash of the bytes, a hit
 * compared byte for byte, so a hit writes what decoding would. Bounded:
 * CACHE_SLOTS objects and CACHE_BYTES of DER and text in all; a new object
 * takes the place of the one least recently used, and one that does not
 * fit then is written but not kept. Behind a mutex, since a context may be
 * shared; one per worker, as intended, never waits. */
enum {
    CACHE_SLOTS = 64,
    CACHE_BYTES = 1 << 20,
};

struct cached_cert {
    uint64_t hash;
    uint64_t used; /* the cache's tick when last written or found */
    bool with_der, ok;
    size_t der_len, text_len;
    uint8_t *der; /* der_len bytes, then the text_len bytes of the object */
};

struct cert_cache {
    pthread_mutex_t lock;
    size_t bytes; /* held by the slots */
    uint64_t tick, hits;
    struct cached_cert slot[CACHE_SLOTS];
};

/* 64-bit hash of der[0..len) and with_der (a multiply-xorshift over 8-byte
 * words): only where to look, the bytes are compared after. */
static uint64_t cert_hash(const uint8_t *der, size_t len, bool with_der)
{
    uint64_t h = 0x9E3779B97F4A7C15u ^ (uint64_t)len ^ ((uint64_t)with_der << 63);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, der + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDu;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, der + i, len - i);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53u;
    return h ^ (h >> 29);
}

/* Write the kept object for der if there is one: true, *ok its result. */
static bool cache_get(struct cert_cache *cc, uint64_t h, const uint8_t *der, size_t len,
                      bool with_der, struct wkp_buf *out, bool *ok)
{
    bool hit = false;
    pthread_mutex_lock(&cc->lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct cached_cert *e = &cc->slot[i];
        if (e->der != NULL && e->hash == h && e->der_len == len && e->with_der == with_der &&
            memcmp(e->der, der, len) == 0) {
            wkp_buf_put(out, (const char *)e->der + len, e->text_len);
            *ok = e->ok;
            e->used = ++cc->tick;
            cc->hits++;
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&cc->lock);
    return hit;
}

/* Keep the object just written (text[0..text_len)) in place of the least
 * recently used one, if it fits there. */
static void cache_put(struct cert_cache *cc, uint64_t h, const uint8_t *der, size_t len,
                      bool with_der, const char *text, size_t text_len, bool ok)
{
    pthread_mutex_lock(&cc->lock);
    struct cached_cert *e = &cc->slot[0];
    for (int i = 1; i < CACHE_SLOTS && e->der != NULL; i++)
        if (cc->slot[i].der == NULL || cc->slot[i].used < e->used)
            e = &cc->slot[i];
    size_t held = e->der != NULL ? e->der_len + e->text_len : 0;
    if (len + text_len <= CACHE_BYTES - (cc->bytes - held)) {
        uint8_t *mem = malloc(len + text_len);
        if (mem != NULL) {
            free(e->der);
            memcpy(mem, der, len);
            memcpy(mem + len, text, text_len);
            *e = (struct cached_cert){h, ++cc->tick, with_der, ok, len, text_len, mem};
            cc->bytes = cc->bytes - held + len + text_len;
        }
    }
    pthread_mutex_unlock(&cc->lock);
}

static void cache_free(struct cert_cache *cc)
{
    if (cc == NULL)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++)
        free(cc->slot[i].der);
    pthread_mutex_destroy(&cc->lock);
    free(cc);
}

uint64_t wkp_x509_ctx_hits(const struct wkp_x509_ctx *c)
{
    if (c == NULL || c->cache == NULL)
        return 0;
    pthread_mutex_lock(&c->cache->lock);
    uint64_t n = c->cache->hits;
    pthread_mutex_unlock(&c->cache->lock);
    return n;
}

struct wkp_x509_ctx *wkp_x509_ctx_new(void)
{
    struct wkp_x509_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    ERR_set_mark();
    c->lib = OSSL_LIB_CTX_new();
    c->nullprov = c->lib != NULL ? OSSL_PROVIDER_load(c->lib, "null") : NULL;
    ERR_pop_to_mark();
    c->cache = calloc(1, sizeof *c->cache);
    if (c->cache != NULL && pthread_mutex_init(&c->cache->lock, NULL) != 0) {
        free(c->cache);
        c->cache = NULL;
    }
    if (c->nullprov == NULL || c->cache == NULL) {
        wkp_x509_ctx_free(c);
        return NULL;
    }
    return c;
}

void wkp_x509_ctx_free(struct wkp_x509_ctx *c)
{
    if (c == NULL)
        return;
    OSSL_PROVIDER_unload(c->nullprov);
    OSSL_LIB_CTX_free(c->lib);
    cache_free(c->cache);
    free(c);
}

bool wkp_x509_write_json(const uint8_t *der, size_t len, bool with_der, struct wkp_buf *out)
{
    return wkp_x509_write_json_ctx(NULL, der, len, with_der, out);
}

static bool write_json(struct wkp_x509_ctx *c, const uint8_t *der, size_t len, bool with_der,
                       struct wkp_buf *out);

bool wkp_x509_write_json_ctx(struct wkp_x509_ctx *c, const uint8_t *der, size_t len, bool with_der,
                             struct wkp_buf *out)
{
    if (c == NULL || c->cache == NULL || der == NULL || len == 0)
        return write_json(c, der, len, with_der, out);
    bool ok;
    uint64_t h = cert_hash(der, len, with_der);
    if (cache_get(c->cache, h, der, len, with_der, out, &ok))
        return ok;
    size_t start = out->len;
    ok = write_json(c, der, len, with_der, out);
    if (!out->oom)
        cache_put(c->cache, h, der, len, with_der, out->p + start, out->len - start, ok);
    return ok;
}

static bool write_json(struct wkp_x509_ctx *c, const uint8_t *der, size_t len, bool with_der,
                       struct wkp_buf *out)
{
    X509 *x = NULL;
    BIO *bio = NULL;
    size_t used = 0;
    ERR_set_mark();
    if (der != NULL && len > 0 && len <= LONG_MAX) {
        const unsigned char *p = der;
        x = (X509 *)ASN1_item_d2i_ex(NULL, &p, (long)len, ASN1_ITEM_rptr(X509),
                                     c != NULL ? c->lib : NULL, NULL);
        if (x != NULL)
            used = (size_t)(p - der);
        bio = x != NULL ? BIO_new(BIO_s_mem()) : NULL;
    }
    bool ok = x != NULL && bio != NULL && used > 0 && used <= len;
    if (ok) {
        put_cert(out, x, bio);
        /* the fingerprint covers the certificate's own bytes, as openssl's */
        put_key(out, "sha256");
        put_sha256(out, der, used);
        put_key(out, "der_length");
        wkp_buf_u64(out, used);
        if (used < len) {
            put_key(out, "trailing_bytes");
            wkp_buf_u64(out, len - used);
        }
    } else {
        wkp_buf_puts(out, "{\"error\":\"not a certificate\"");
        put_key(out, "der_length");
        wkp_buf_u64(out, len);
        put_key(out, "sha256");
        put_sha256(out, der, der != NULL ? len : 0);
    }
    if (with_der) {
        put_key(out, "der");
        put_base64(out, der, der != NULL ? len : 0);
    }
    wkp_buf_putc(out, '}');
    BIO_free(bio);
    X509_free(x);
    ERR_pop_to_mark();
    return ok;
}
