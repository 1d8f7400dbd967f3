/* X.509 certificates as JSON (interface in x509.h; shape in docs/output.md,
 * "Certificate objects").
 *
 * Any thread may call wkp_x509_write_json at the same time: every OpenSSL
 * object lives for one call and is freed before it returns, nothing here is
 * static or global, and the OpenSSL error queue (per thread) is restored to
 * the caller's state with a mark. The decoder is d2i_X509 bounded by len, so
 * no byte past der + len is read; everything taken from the certificate
 * (names, SANs, unknown OIDs) is written with wkp_buf_json_bytes, so the
 * JSON stays valid whatever the certificate holds.
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
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
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

/* null only if OpenSSL cannot print the name (no memory): the decoder has
 * already refused a certificate whose name strings do not convert to UTF-8. */
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

/* key_type, key_curve (EC only), key_bits. A key OpenSSL cannot load (an
 * unknown algorithm, a damaged key) gives the algorithm's name or OID as
 * key_type and null bits. */
static void put_key_info(struct wkp_buf *out, X509 *x)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    const char *name = NULL;
    int id = pk != NULL ? EVP_PKEY_get_base_id(pk) : NID_undef;
    switch (id) {
    case EVP_PKEY_RSA: name = "RSA"; break;
    case EVP_PKEY_RSA_PSS: name = "RSA-PSS"; break;
    case EVP_PKEY_EC: name = "EC"; break;
    case EVP_PKEY_DSA: name = "DSA"; break;
    case EVP_PKEY_DH: name = "DH"; break;
    case EVP_PKEY_DHX: name = "DHX"; break;
    case EVP_PKEY_ED25519: name = "Ed25519"; break;
    case EVP_PKEY_ED448: name = "Ed448"; break;
    case EVP_PKEY_X25519: name = "X25519"; break;
    case EVP_PKEY_X448: name = "X448"; break;
    case EVP_PKEY_SM2: name = "SM2"; break;
    default: break;
    }
    put_key(out, "key_type");
    if (name != NULL) {
        wkp_buf_json_str(out, name);
    } else {
        ASN1_OBJECT *alg = NULL;
        X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
        if (xpk == NULL || X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, xpk) != 1)
            alg = NULL;
        put_oid(out, alg);
    }
    if (id == EVP_PKEY_EC || id == EVP_PKEY_SM2) {
        char curve[80];
        size_t n = 0;
        put_key(out, "key_curve");
        if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve,
                                           &n) == 1 &&
            n < sizeof curve)
            wkp_buf_json_bytes(out, (const uint8_t *)curve, n);
        else
            wkp_buf_puts(out, "null"); /* explicit curve parameters */
    }
    put_key(out, "key_bits");
    int bits = pk != NULL ? EVP_PKEY_get_bits(pk) : 0;
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

bool wkp_x509_write_json(const uint8_t *der, size_t len, bool with_der, struct wkp_buf *out)
{
    X509 *x = NULL;
    BIO *bio = NULL;
    size_t used = 0;
    ERR_set_mark();
    if (der != NULL && len > 0 && len <= LONG_MAX) {
        const unsigned char *p = der;
        x = d2i_X509(NULL, &p, (long)len);
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
