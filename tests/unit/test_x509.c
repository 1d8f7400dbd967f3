/* dissectors/x509.c: certificates as JSON.
 *
 * Certificates: tests/unit/data/x509/ (MANIFEST there: which capture or
 * which `openssl req -x509` command made each). Every expected object was
 * built from OpenSSL's command-line tool, not from this code:
 *
 *   openssl x509 -inform DER -noout -subject -issuer -serial -dates \
 *       -fingerprint -sha256 -ext subjectAltName -nameopt RFC2253,-esc_msb \
 *       -text -in FILE
 *
 * (-esc_msb keeps UTF-8 as is; for ASCII names the text is that of plain
 * -nameopt RFC2253). Mapping: version from "Version: N"; serial lower-cased;
 * "notBefore=Dec 17 01:17:28 2019 GMT" -> "2019-12-17T01:17:28Z"; SAN
 * entries DNS:/IP Address:/email:/URI: into dns/ip/email/uri (IPv6 in
 * inet_ntop's compressed form: 2001:DB8:0:0:0:0:0:1 -> 2001:db8::1);
 * signature_algorithm the last "Signature Algorithm:" line; key type from
 * "Public Key Algorithm:" (rsaEncryption -> RSA, id-ecPublicKey -> EC with
 * "ASN1 OID:" as key_curve, ED25519 -> Ed25519); key_bits from
 * "Public-Key: (N bit)" (Ed25519 prints none: OpenSSL counts its 32-byte
 * key of RFC 8032 as 256 bits); sha256 the fingerprint without colons,
 * lower-cased; der_length the file size. */
#include <criterion/criterion.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/x509.h"
#include "tests/unit/json_valid.h"

#define X509_DATA WKP_TEST_DATA "/../unit/data/x509/"

static uint8_t *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", X509_DATA, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    cr_assert_gt(n, 0);
    uint8_t *p = malloc((size_t)n);
    cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* The object for der[0..len), NUL-terminated; caller frees. */
static char *render(const uint8_t *der, size_t len, bool with_der, bool *ok)
{
    struct wkp_buf b = {0};
    *ok = wkp_x509_write_json(der, len, with_der, &b);
    cr_assert_eq(b.oom, 0);
    cr_assert(json_valid(b.p, b.len), "not valid JSON: %.*s", (int)b.len, b.p);
    wkp_buf_putc(&b, '\0');
    return b.p;
}

static const struct {
    const char *file, *json;
} expected[] = {
    {"zeek-taleo-leaf.der",
     "{\"version\":3,\"serial\":\"99faa8037a4eb2faef84eb5e55d5b8c8\",\"subject\":\"CN="
     "*.taleo.net,OU=Comodo PremiumSSL Wildcard,OU=Web,O=Taleo Inc.,street=4140 Dublin"
     " Boulevard,street=Suite 400,L=Dublin,ST=CA,postalCode=94568,C=US\",\"issuer\":\""
     "CN=COMODO High-Assurance Secure Server CA,O=COMODO CA Limited,L=Salford,ST=Great"
     "er Manchester,C=GB\",\"not_before\":\"2011-05-04T00:00:00Z\",\"not_after\":\"201"
     "6-07-04T23:59:59Z\",\"san\":{\"dns\":[\"*.taleo.net\",\"taleo.net\"]},\"signatur"
     "e_algorithm\":\"sha1WithRSAEncryption\",\"key_type\":\"RSA\",\"key_bits\":2048,\""
     "sha256\":\"95cb443934beda97627688546191ab1d3989a835592cebdd2434f9ad41324ce1\",\""
     "der_length\":1449}"},
    {"zeek-addtrust-root.der",
     "{\"version\":3,\"serial\":\"01\",\"subject\":\"CN=AddTrust External CA Root,OU=A"
     "ddTrust External TTP Network,O=AddTrust AB,C=SE\",\"issuer\":\"CN=AddTrust Exter"
     "nal CA Root,OU=AddTrust External TTP Network,O=AddTrust AB,C=SE\",\"not_before\""
     ":\"2000-05-30T10:48:38Z\",\"not_after\":\"2020-05-30T10:48:38Z\",\"san\":{},\"si"
     "gnature_algorithm\":\"sha1WithRSAEncryption\",\"key_type\":\"RSA\",\"key_bits\":"
     "2048,\"sha256\":\"687fa451382278fff0c8b11f8d43d576671c6eb2bceab413fb83d965d06d2f"
     "f2\",\"der_length\":1082}"},
    {"safari-ntop-leaf.der",
     "{\"version\":3,\"serial\":\"03c56f6636eda72f7f4c5665fa055d933255\",\"subject\":\""
     "CN=www.ntop.org\",\"issuer\":\"CN=Let's Encrypt Authority X3,O=Let's Encrypt,C=U"
     "S\",\"not_before\":\"2019-12-17T01:17:28Z\",\"not_after\":\"2020-03-16T01:17:28Z"
     "\",\"san\":{\"dns\":[\"www.ntop.org\"]},\"signature_algorithm\":\"sha256WithRSAE"
     "ncryption\",\"key_type\":\"RSA\",\"key_bits\":2048,\"sha256\":\"7e5dd1152bf87762"
     "35ef3d3f3dbffac72541c31a439d43c65b7013f260f914ec\",\"der_length\":1365}"},
    {"safari-le-x3.der",
     "{\"version\":3,\"serial\":\"0a0141420000015385736a0b85eca708\",\"subject\":\"CN="
     "Let's Encrypt Authority X3,O=Let's Encrypt,C=US\",\"issuer\":\"CN=DST Root CA X3"
     ",O=Digital Signature Trust Co.\",\"not_before\":\"2016-03-17T16:40:46Z\",\"not_a"
     "fter\":\"2021-03-17T16:40:46Z\",\"san\":{},\"signature_algorithm\":\"sha256WithR"
     "SAEncryption\",\"key_type\":\"RSA\",\"key_bits\":2048,\"sha256\":\"25847d668eb4f"
     "04fdd40b12b6b0740c567da7d024308eb6c2c96fe41d9de218d\",\"der_length\":1174}"},
    {"gen-rsa2048.der",
     "{\"version\":3,\"serial\":\"f1e2d3c4b5a69788\",\"subject\":\"CN=rsa.example,UID="
     "x1+OU=R&D,O=Café Müller\\\\, GmbH,C=DE\",\"issuer\":\"CN=rsa.example,UID=x1+OU=R"
     "&D,O=Café Müller\\\\, GmbH,C=DE\",\"not_before\":\"2026-12-03T06:09:00Z\",\"not_"
     "after\":\"2027-12-03T06:09:00Z\",\"san\":{\"dns\":[\"rsa.example\",\"*.rsa.examp"
     "le\"],\"ip\":[\"192.0.2.7\",\"2001:db8::1\"],\"email\":[\"ops@rsa.example\"],\"u"
     "ri\":[\"https://rsa.example/p?q=1\"]},\"signature_algorithm\":\"sha256WithRSAEnc"
     "ryption\",\"key_type\":\"RSA\",\"key_bits\":2048,\"sha256\":\"e0c464b413a87a6a89"
     "1d306d458c49ba4bf22da755862315a513b509108f6827\",\"der_length\":1033}"},
    {"gen-rsapss.der",
     "{\"version\":3,\"serial\":\"55\",\"subject\":\"CN=pss.example\",\"issuer\":\"CN="
     "pss.example\",\"not_before\":\"2026-12-03T06:19:35Z\",\"not_after\":\"2027-01-02"
     "T06:19:35Z\",\"san\":{},\"signature_algorithm\":\"rsassaPss\",\"key_type\":\"RSA"
     "-PSS\",\"key_bits\":2048,\"sha256\":\"5af624ff5b0485a23e0a1c175a61d55ba67286da00"
     "ca6ba683aa16442ee81b44\",\"der_length\":870}"},
    {"gen-dsa2048.der",
     "{\"version\":3,\"serial\":\"0d5a\",\"subject\":\"CN=dsa.example\",\"issuer\":\"C"
     "N=dsa.example\",\"not_before\":\"2026-12-03T06:19:36Z\",\"not_after\":\"2027-01-"
     "02T06:19:36Z\",\"san\":{},\"signature_algorithm\":\"dsa_with_SHA256\",\"key_type"
     "\":\"DSA\",\"key_bits\":2048,\"sha256\":\"63d2629191f7f206e876c9be70072e3cebe8e4"
     "946d71f1b3ecb26b0e60f88a0c\",\"der_length\":1112}"},
    {"gen-ecp256.der",
     "{\"version\":3,\"serial\":\"01\",\"subject\":\"O=Example EC,CN=ec.example\",\"is"
     "suer\":\"O=Example EC,CN=ec.example\",\"not_before\":\"2026-12-03T06:08:53Z\",\""
     "not_after\":\"2081-09-05T06:08:53Z\",\"san\":{\"dns\":[\"ec.example\"]},\"signat"
     "ure_algorithm\":\"ecdsa-with-SHA384\",\"key_type\":\"EC\",\"key_curve\":\"prime2"
     "56v1\",\"key_bits\":256,\"sha256\":\"351f34abb285a02ea214c2fb8205f67e1878db75705"
     "636c7bf16f8837cc237fd\",\"der_length\":436}"},
    {"gen-ecp384.der",
     "{\"version\":3,\"serial\":\"0384\",\"subject\":\"CN=p384.example\",\"issuer\":\""
     "CN=p384.example\",\"not_before\":\"2026-12-03T06:19:34Z\",\"not_after\":\"2027-0"
     "1-02T06:19:34Z\",\"san\":{},\"signature_algorithm\":\"ecdsa-with-SHA384\",\"key_"
     "type\":\"EC\",\"key_curve\":\"secp384r1\",\"key_bits\":384,\"sha256\":\"b377daa9"
     "816af77c69060516660b0055f2ba799431ced91d29b31bf446382fe8\",\"der_length\":434}"},
    {"gen-ecp521.der",
     "{\"version\":3,\"serial\":\"0521\",\"subject\":\"CN=p521.example\",\"issuer\":\""
     "CN=p521.example\",\"not_before\":\"2026-12-03T06:19:34Z\",\"not_after\":\"2027-0"
     "1-02T06:19:34Z\",\"san\":{},\"signature_algorithm\":\"ecdsa-with-SHA512\",\"key_"
     "type\":\"EC\",\"key_curve\":\"secp521r1\",\"key_bits\":521,\"sha256\":\"87b32557"
     "a9e1306eff94a89f976927f9e32c5d03fc8667661fbde8d48971e575\",\"der_length\":508}"},
    {"gen-ec-sect283k1.der",
     "{\"version\":3,\"serial\":\"0283\",\"subject\":\"CN=sect283k1.example\",\"issuer"
     "\":\"CN=sect283k1.example\",\"not_before\":\"2026-12-03T06:19:34Z\",\"not_after\""
     ":\"2027-01-02T06:19:34Z\",\"san\":{},\"signature_algorithm\":\"ecdsa-with-SHA256"
     "\",\"key_type\":\"EC\",\"key_curve\":\"sect283k1\",\"key_bits\":281,\"sha256\":\""
     "e23076aff2975372e5c78ee545efd9369f95f47fe17bf76da619886210e3e8d1\",\"der_length\""
     ":394}"},
    {"gen-ec-explicit.der",
     "{\"version\":3,\"serial\":\"0e\",\"subject\":\"CN=explicit.example\",\"issuer\":"
     "\"CN=explicit.example\",\"not_before\":\"2026-12-03T06:19:34Z\",\"not_after\":\""
     "2027-01-02T06:19:34Z\",\"san\":{},\"signature_algorithm\":\"ecdsa-with-SHA256\","
     "\"key_type\":\"EC\",\"key_curve\":null,\"key_bits\":256,\"sha256\":\"c0dae777767"
     "22a14706178ea5635e3944de57a6138d5fd9942cac0095b76e709\",\"der_length\":624}"},
    {"gen-ed25519.der",
     "{\"version\":3,\"serial\":\"00\",\"subject\":\"CN=ed25519.example\",\"issuer\":\""
     "CN=ed25519.example\",\"not_before\":\"2026-12-03T06:08:53Z\",\"not_after\":\"202"
     "7-01-02T06:08:53Z\",\"san\":{},\"signature_algorithm\":\"ED25519\",\"key_type\":"
     "\"Ed25519\",\"key_bits\":256,\"sha256\":\"ccca9ee9b889973d549d425c1932c29ecc96fa"
     "46df465b30f5ca55aa30624967\",\"der_length\":313}"},
    {"gen-ed448.der",
     "{\"version\":3,\"serial\":\"0448\",\"subject\":\"CN=ed448.example\",\"issuer\":\""
     "CN=ed448.example\",\"not_before\":\"2026-12-03T06:19:35Z\",\"not_after\":\"2027-"
     "01-02T06:19:35Z\",\"san\":{},\"signature_algorithm\":\"ED448\",\"key_type\":\"Ed"
     "448\",\"key_bits\":456,\"sha256\":\"47cb2510a5b454b08c246fd7213cf05774f39a2c9000"
     "fdaab087c0ea6f92c435\",\"der_length\":385}"},
    {"gen-negserial.der",
     "{\"version\":3,\"serial\":\"-05\",\"subject\":\"CN=neg\",\"issuer\":\"CN=neg\",\""
     "not_before\":\"2026-12-03T06:09:01Z\",\"not_after\":\"2027-01-02T06:09:01Z\",\"s"
     "an\":{},\"signature_algorithm\":\"ED25519\",\"key_type\":\"Ed25519\",\"key_bits\""
     ":256,\"sha256\":\"15e9510f3b2d47c93f6bd2e4c7208933842dece9a9a8090a5736d8aeae8443"
     "56\",\"der_length\":289}"},
    {"oid-attr-subject.der",
     "{\"version\":3,\"serial\":\"7f\",\"subject\":\"2.5.4.127=#0C086F6464226E616D65\""
     ",\"issuer\":\"CN=odd\\\\\\\"name\",\"not_before\":\"2026-12-03T06:09:27Z\",\"not"
     "_after\":\"2027-01-02T06:09:27Z\",\"san\":{\"dns\":[\"xy.example\"],\"ip\":[\"10"
     ".0.0.1\"]},\"signature_algorithm\":\"ED25519\",\"key_type\":\"Ed25519\",\"key_bi"
     "ts\":256,\"sha256\":\"6613d14e28b7b44b05474a782f4b702a72619cca00cfc6932af277b774"
     "43ad67\",\"der_length\":346}"},
    {"unknown-key-alg.der",
     "{\"version\":3,\"serial\":\"00\",\"subject\":\"CN=ed25519.example\",\"issuer\":\""
     "CN=ed25519.example\",\"not_before\":\"2026-12-03T06:08:53Z\",\"not_after\":\"202"
     "7-01-02T06:08:53Z\",\"san\":{},\"signature_algorithm\":\"ED25519\",\"key_type\":"
     "\"1.3.101.99\",\"key_bits\":null,\"sha256\":\"f00b7bd9c72d040b9a4bde88ab46379b82"
     "4a2619fcbdee76c660022eb7b85793\",\"der_length\":313}"},
};

Test(x509, decodes_each_certificate_as_openssl_x509_prints_it)
{
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        size_t len;
        uint8_t *der = load(expected[i].file, &len);
        bool ok;
        char *got = render(der, len, false, &ok);
        cr_expect(ok, "%s", expected[i].file);
        cr_expect_str_eq(got, expected[i].json, "%s", expected[i].file);
        free(got);
        free(der);
    }
}

/* The same text from a context of one's own, for certificates and for
 * bytes that are none. */
Test(x509, a_context_changes_nothing_in_the_output)
{
    struct wkp_x509_ctx *c = wkp_x509_ctx_new();
    cr_assert_not_null(c);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        size_t len;
        uint8_t *der = load(expected[i].file, &len);
        for (size_t cut = 0; cut <= 1; cut++) {
            struct wkp_buf b = {0};
            bool ok = wkp_x509_write_json_ctx(c, der, len - cut * 7, true, &b);
            bool ok0;
            char *want = render(der, len - cut * 7, true, &ok0);
            cr_expect_eq(ok, ok0, "%s", expected[i].file);
            cr_expect(b.len == strlen(want) && memcmp(b.p, want, b.len) == 0, "%s: %.*s",
                      expected[i].file, (int)b.len, b.p);
            if (cut == 0) {
                wkp_buf_putc(&b, '\0');
                cr_expect(strncmp(b.p, expected[i].json, strlen(expected[i].json) - 1) == 0, "%s",
                          expected[i].file);
            }
            wkp_buf_free(&b);
            free(want);
        }
        free(der);
    }
    wkp_x509_ctx_free(c);
    wkp_x509_ctx_free(NULL);
}

/* Through ctx, the text of der[0..len) equals what the default context
 * writes (decoded afresh every time, nothing kept); returns ctx's hits
 * gained by the call. */
static uint64_t same_as_decoded(struct wkp_x509_ctx *ctx, const uint8_t *der, size_t len,
                                bool with_der, const char *what)
{
    uint64_t before = wkp_x509_ctx_hits(ctx);
    struct wkp_buf b = {0};
    wkp_buf_puts(&b, "[");
    bool ok = wkp_x509_write_json_ctx(ctx, der, len, with_der, &b);
    bool ok0;
    char *want = render(der, len, with_der, &ok0);
    cr_expect_eq(ok, ok0, "%s", what);
    cr_expect(b.len == 1 + strlen(want) && memcmp(b.p + 1, want, b.len - 1) == 0, "%s: %.*s", what,
              (int)b.len, b.p);
    wkp_buf_free(&b);
    free(want);
    return wkp_x509_ctx_hits(ctx) - before;
}

/* A context writes a certificate it has seen from what it kept: the same
 * text, with and without the DER, and only for the very same bytes. */
Test(x509, a_certificate_seen_again_is_written_from_what_was_kept)
{
    struct wkp_x509_ctx *c = wkp_x509_ctx_new();
    cr_assert_not_null(c);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        size_t len;
        uint8_t *der = load(expected[i].file, &len);
        for (int with_der = 0; with_der <= 1; with_der++) {
            cr_expect_eq(same_as_decoded(c, der, len, with_der, expected[i].file), 0);
            cr_expect_eq(same_as_decoded(c, der, len, with_der, expected[i].file), 1);
        }
        /* one byte of the signature changed, same length: decoded afresh
         * (its sha256 differs) */
        der[len - 1] ^= 0x5A;
        cr_expect_eq(same_as_decoded(c, der, len, true, expected[i].file), 0);
        cr_expect_eq(same_as_decoded(c, der, len, true, expected[i].file), 1);
        free(der);
    }
    wkp_x509_ctx_free(c);
}

/* More certificates than it keeps, in turns: each is still written as
 * decoded, whichever it has let go. 200 variants of one certificate (its
 * last signature byte 0-199) against 64 places, the least recently used
 * let go first: going round in the same order finds none of them, and the
 * last 64 written (136-199) are all there afterwards. */
Test(x509, more_certificates_than_are_kept_still_come_out_right)
{
    struct wkp_x509_ctx *c = wkp_x509_ctx_new();
    cr_assert_not_null(c);
    size_t len;
    uint8_t *der = load("gen-ecp256.der", &len);
    uint64_t hits = 0;
    for (int round = 0; round < 2; round++)
        for (int v = 0; v < 200; v++) {
            der[len - 1] = (uint8_t)v;
            hits += same_as_decoded(c, der, len, false, "gen-ecp256.der variant");
        }
    cr_expect_eq(hits, 0);
    for (int v = 199; v >= 136; v--) {
        der[len - 1] = (uint8_t)v;
        hits += same_as_decoded(c, der, len, false, "gen-ecp256.der variant");
    }
    cr_expect_eq(hits, 64);
    free(der);
    wkp_x509_ctx_free(c);
}

/* Bytes larger than all it keeps (1 MiB) are written but not kept. */
Test(x509, an_object_over_the_bound_is_not_kept)
{
    struct wkp_x509_ctx *c = wkp_x509_ctx_new();
    cr_assert_not_null(c);
    size_t len = (1u << 20) + 1;
    uint8_t *junk = malloc(len);
    cr_assert_not_null(junk);
    for (size_t i = 0; i < len; i++)
        junk[i] = (uint8_t)(i * 7 + 3);
    cr_expect_eq(same_as_decoded(c, junk, len, false, "1 MiB + 1 of junk"), 0);
    cr_expect_eq(same_as_decoded(c, junk, len, false, "1 MiB + 1 of junk"), 0);
    cr_expect_eq(same_as_decoded(c, junk, 1000, false, "1000 bytes of junk"), 0);
    cr_expect_eq(same_as_decoded(c, junk, 1000, false, "1000 bytes of junk"), 1);
    free(junk);
    wkp_x509_ctx_free(c);
}

/* 4037 bytes, 130 dNSNames (openssl x509 -ext subjectAltName | tr , '\n'
 * | grep -c DNS), the last www.westwayelectricsupply.com. */
Test(x509, keeps_every_san_of_a_long_certificate)
{
    size_t len;
    uint8_t *der = load("verylong-fastly-leaf.der", &len);
    bool ok;
    char *got = render(der, len, false, &ok);
    cr_assert(ok);
    cr_expect_eq(len, 4037);
    const char *san = strstr(got, "\"san\":{\"dns\":[");
    cr_assert_not_null(san);
    const char *end = strchr(san, ']');
    size_t n = 0;
    for (const char *q = san; q < end; q++)
        n += *q == ',';
    cr_expect_eq(n + 1, 130);
    cr_expect(strncmp(end - 31, "\"www.westwayelectricsupply.com\"]}", 33) == 0);
    cr_expect_not_null(strstr(got, "\"subject\":\"CN=p2.shared.global.fastly.net,O=Fastly\\\\, "
                                   "Inc.,L=San Francisco,ST=California,C=US\""));
    cr_expect_not_null(strstr(got, "\"key_type\":\"RSA\",\"key_bits\":2048,\"sha256\":\"2e5ba3db"
                                   "861217589824526e4e9c864460a588e940fd8d076a33a90619d294ee\""));
    free(got);
    free(der);
}

/* san-raw-bytes.der: the dNSName "xy.example" with x -> 0x01, y -> 0xe9
 * (openssl prints the raw bytes \001 \351). Control and non-UTF-8 bytes
 * come out as \u00XX escapes. */
Test(x509, escapes_control_and_non_utf8_bytes_of_a_san)
{
    size_t len;
    uint8_t *der = load("san-raw-bytes.der", &len);
    bool ok;
    char *got = render(der, len, false, &ok);
    cr_assert(ok);
    cr_expect_not_null(
        strstr(got, "\"san\":{\"dns\":[\"\\u0001\\u00e9.example\"],\"ip\":[\"10.0.0.1\"]}"), "%s",
        got);
    free(got);
    free(der);
}

/* bad-utf8-subject.der: gen-ed25519.der with the subject's UTF8String
 * "ed25519.example" starting 0xff; `openssl x509` refuses it too ("Could
 * not read certificate"). sha256: sha256sum of the file. */
Test(x509, reports_a_certificate_openssl_refuses)
{
    size_t len;
    uint8_t *der = load("bad-utf8-subject.der", &len);
    bool ok;
    char *got = render(der, len, false, &ok);
    cr_expect_not(ok);
    cr_expect_str_eq(got, "{\"error\":\"not a certificate\",\"der_length\":313,\"sha256\":"
                          "\"0f4f46e7cafb639938bf0c9d5b0bde0a79d2de9cb857f3980a9bb7a804847301\"}");
    free(got);
    free(der);
}

/* der: `base64 -w0 gen-ed25519.der` */
Test(x509, adds_the_der_as_base64_when_asked)
{
    size_t len;
    uint8_t *der = load("gen-ed25519.der", &len);
    bool ok;
    char *got = render(der, len, true, &ok);
    cr_assert(ok);
    static const char b64[] =
        "MIIBNTCB6KADAgECAgEAMAUGAytlcDAaMRgwFgYDVQQDDA9lZDI1NTE5LmV4YW1wbGUwHhcNMjYxMjAzMDYwODUz"
        "WhcNMjcwMTAyMDYwODUzWjAaMRgwFgYDVQQDDA9lZDI1NTE5LmV4YW1wbGUwKjAFBgMrZXADIQCX9qexUFoN+uAq"
        "SzHy+VbwnWFyABX+25p0cWU875BpqaNTMFEwHQYDVR0OBBYEFKGtGPndwve2+G2nTRY56n1aQcwwMB8GA1UdIwQY"
        "MBaAFKGtGPndwve2+G2nTRY56n1aQcwwMA8GA1UdEwEB/wQFMAMBAf8wBQYDK2VwA0EAaQ/7YFylbs4LdCjA590h"
        "01r8plre9m5/l/wWwZgCHG++q7Ba89872IjqWvlg1+/2WCYHvyzeVI5lUR+2ga96Dg==";
    char want[1024];
    snprintf(want, sizeof want, ",\"der_length\":313,\"der\":\"%s\"}", b64);
    size_t gl = strlen(got), wl = strlen(want);
    cr_assert_gt(gl, wl);
    cr_expect_str_eq(got + gl - wl, want);
    free(got);

    /* and for bytes that are no certificate: "hello" is aGVsbG8= */
    got = render((const uint8_t *)"hello", 5, true, &ok);
    cr_expect_not(ok);
    cr_expect_str_eq(got, "{\"error\":\"not a certificate\",\"der_length\":5,\"sha256\":"
                          "\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\","
                          "\"der\":\"aGVsbG8=\"}");
    free(got);
    free(der);
}

/* sha256 of no bytes: e3b0c442...b855 (sha256sum < /dev/null) */
Test(x509, empty_input_is_not_a_certificate)
{
    static const char want[] =
        "{\"error\":\"not a certificate\",\"der_length\":0,\"sha256\":"
        "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}";
    static const uint8_t one = 0x30;
    bool ok;
    char *got = render(NULL, 0, false, &ok);
    cr_expect_not(ok);
    cr_expect_str_eq(got, want);
    free(got);
    got = render(&one, 0, false, &ok);
    cr_expect_not(ok);
    cr_expect_str_eq(got, want);
    free(got);
    got = render(&one, 0, true, &ok);
    cr_expect_not(ok);
    cr_expect(strstr(got, ",\"der\":\"\"}") != NULL, "%s", got);
    free(got);
}

Test(x509, garbage_is_not_a_certificate)
{
    static const uint8_t inputs[][12] = {
        {0x30},                                     /* SEQUENCE, no length */
        {0x30, 0x84, 0xff, 0xff, 0xff, 0xff},       /* 4 GiB length */
        {0x30, 0x80, 0x00, 0x00},                   /* indefinite, empty */
        {0x30, 0x03, 0x02, 0x01, 0x01},             /* SEQUENCE { INTEGER 1 } */
        {0x04, 0x02, 'h', 'i'},                     /* OCTET STRING */
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* nothing ASN.1 */
    };
    static const size_t lens[] = {1, 6, 4, 5, 4, 7};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t *p = malloc(lens[i]); /* exact size: a read past it is a heap overflow */
        memcpy(p, inputs[i], lens[i]);
        bool ok;
        char *got = render(p, lens[i], i % 2 == 0, &ok);
        cr_expect_not(ok, "input %zu", i);
        cr_expect(strncmp(got, "{\"error\":\"not a certificate\",", 29) == 0, "%s", got);
        free(got);
        free(p);
    }
}

/* Every proper prefix of a certificate, each in a buffer of exactly its
 * size (so ASan or valgrind sees any read past the end). */
Test(x509, every_truncation_is_refused)
{
    size_t len;
    uint8_t *der = load("safari-ntop-leaf.der", &len);
    for (size_t k = 0; k < len; k++) {
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, der, k);
        bool ok;
        char *got = render(p, k, false, &ok);
        cr_assert_not(ok, "prefix of %zu bytes decoded", k);
        char head[64];
        snprintf(head, sizeof head, "{\"error\":\"not a certificate\",\"der_length\":%zu,", k);
        cr_assert(strncmp(got, head, strlen(head)) == 0, "%s", got);
        free(got);
        free(p);
    }
    free(der);
}

/* Each single-bit flip of a small certificate: decoded or refused, valid
 * JSON either way (the render() checks), no crash. */
Test(x509, bit_flips_give_valid_json)
{
    size_t len;
    uint8_t *der = load("gen-ecp256.der", &len);
    uint8_t *p = malloc(len);
    size_t decoded = 0;
    for (size_t i = 0; i < len * 8; i++) {
        memcpy(p, der, len);
        p[i / 8] ^= (uint8_t)(1u << (i % 8));
        bool ok;
        free(render(p, len, false, &ok));
        decoded += ok;
    }
    /* flips inside the signature value change nothing the decoder checks */
    cr_expect_gt(decoded, 0);
    cr_expect_lt(decoded, len * 8);
    free(p);
    free(der);
}

/* Bytes after the certificate: decoded, fingerprint and length of the
 * certificate alone (as above), the excess counted. */
Test(x509, counts_bytes_after_the_certificate)
{
    size_t len;
    uint8_t *der = load("safari-ntop-leaf.der", &len);
    uint8_t *p = calloc(1, len + 3);
    memcpy(p, der, len);
    bool ok;
    char *got = render(p, len + 3, false, &ok);
    cr_expect(ok);
    cr_expect_not_null(strstr(got, "\"sha256\":\"7e5dd1152bf8776235ef3d3f3dbffac72541c31a439d43c6"
                                   "5b7013f260f914ec\",\"der_length\":1365,\"trailing_bytes\":3}"),
                       "%s", got);
    free(got);
    free(p);
    free(der);
}

/* The object is appended: a caller builds a list around it. */
Test(x509, appends_to_what_the_buffer_holds)
{
    size_t len;
    uint8_t *der = load("gen-ed25519.der", &len);
    struct wkp_buf b = {0};
    wkp_buf_putc(&b, '[');
    cr_expect(wkp_x509_write_json(der, len, false, &b));
    wkp_buf_putc(&b, ',');
    cr_expect_not(wkp_x509_write_json(der, 10, false, &b));
    wkp_buf_putc(&b, ']');
    cr_expect(json_valid(b.p, b.len));
    cr_expect(strncmp(b.p, "[{\"version\":3,\"serial\":\"00\",", 27) == 0);
    wkp_buf_free(&b);
    free(der);
}

/* An error the caller left in OpenSSL's (per-thread) queue is still the
 * last one afterwards, and ours are gone, in either context. */
Test(x509, leaves_the_callers_openssl_errors_alone)
{
    struct wkp_x509_ctx *c = wkp_x509_ctx_new();
    cr_assert_not_null(c);
    size_t len;
    uint8_t *der = load("unknown-key-alg.der", &len);
    for (int k = 0; k < 4; k++) {
        ERR_clear_error();
        ERR_raise(ERR_LIB_USER, 42);
        unsigned long mine = ERR_peek_last_error();
        struct wkp_buf b = {0};
        if (k < 2)
            cr_expect_not(wkp_x509_write_json_ctx(k ? c : NULL, (const uint8_t *)"\x30\x05\x02\x01",
                                                  4, false, &b));
        else
            cr_expect(wkp_x509_write_json_ctx(k == 3 ? c : NULL, der, len, false, &b));
        cr_expect_eq(ERR_peek_last_error(), mine, "case %d", k);
        cr_expect_eq(ERR_get_error(), mine);
        cr_expect_eq(ERR_get_error(), 0);
        wkp_buf_free(&b);
    }
    free(der);
    wkp_x509_ctx_free(c);
}

/* Several threads at once give the same text as one thread alone: two in
 * the default context, two with a context each, two sharing one. */
struct par {
    struct wkp_x509_ctx *ctx;
    const uint8_t *der[4];
    size_t len[4];
    const char *want[4];
    int *bad;
};

static void *par_run(void *arg)
{
    struct par *t = arg;
    for (int round = 0; round < 30; round++)
        for (int i = 0; i < 4; i++) {
            struct wkp_buf b = {0};
            wkp_x509_write_json_ctx(t->ctx, t->der[i], t->len[i], true, &b);
            if (b.len != strlen(t->want[i]) || memcmp(b.p, t->want[i], b.len) != 0)
                __atomic_add_fetch(t->bad, 1, __ATOMIC_RELAXED);
            wkp_buf_free(&b);
        }
    return NULL;
}

Test(x509, threads_decode_at_once)
{
    static const char *files[4] = {"gen-rsa2048.der", "gen-ecp256.der", "gen-ed25519.der",
                                   "verylong-fastly-leaf.der"};
    enum { N = 6 };
    struct par t[N];
    int bad = 0;
    char *want[4];
    uint8_t *der[4];
    size_t len[4];
    for (int i = 0; i < 4; i++) {
        der[i] = load(files[i], &len[i]);
        bool ok;
        want[i] = render(der[i], len[i], true, &ok);
    }
    struct wkp_x509_ctx *shared = wkp_x509_ctx_new();
    cr_assert_not_null(shared);
    pthread_t th[N];
    for (int k = 0; k < N; k++) {
        t[k].ctx = k < 2 ? NULL : k < 4 ? wkp_x509_ctx_new() : shared;
        t[k].bad = &bad;
        for (int i = 0; i < 4; i++) {
            t[k].der[i] = der[i];
            t[k].len[i] = len[i];
            t[k].want[i] = want[i];
        }
        cr_assert_eq(pthread_create(&th[k], NULL, par_run, &t[k]), 0);
    }
    for (int k = 0; k < N; k++)
        pthread_join(th[k], NULL);
    cr_expect_eq(bad, 0);
    wkp_x509_ctx_free(t[2].ctx);
    wkp_x509_ctx_free(t[3].ctx);
    wkp_x509_ctx_free(shared);
    for (int i = 0; i < 4; i++) {
        free(want[i]);
        free(der[i]);
    }
}
