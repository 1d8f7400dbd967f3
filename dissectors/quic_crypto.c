/* QUIC Initial packet protection (see quic_crypto.h).
 *
 * Runs on the worker that owns the flow, with that worker's contexts. The
 * key schedule is HKDF over SHA-256 with TLS 1.3's label layout; keys are
 * derived once per connection ID, not per packet, and opening a packet is
 * one AES block for the header mask plus one AES-GCM pass, on buffers the
 * caller owns. */
#include "dissectors/quic_crypto.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

/* Initial salts: QUIC v1 (RFC 9001 section 5.2, also drafts 33 and 34),
 * drafts 29 to 32, QUIC v2 (RFC 9369 section 3.3.1). */
static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
static const uint8_t salt_d29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                     0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
static const uint8_t salt_v2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

enum wkp_quic_vkind wkp_quic_version_kind(uint32_t version)
{
    if (version == WKP_QUIC_V1)
        return WKP_QUIC_VK_V1;
    if (version == WKP_QUIC_V2)
        return WKP_QUIC_VK_V2;
    if (version >= 0xff00001du && version <= 0xff000020u) /* drafts 29-32 */
        return WKP_QUIC_VK_DRAFT29;
    if (version == 0xff000021u || version == 0xff000022u) /* drafts 33, 34 */
        return WKP_QUIC_VK_V1;
    return WKP_QUIC_VK_UNKNOWN;
}

/* v2 numbers its types 1 Initial, 2 0-RTT, 3 Handshake, 0 Retry (RFC 9369
 * section 3.2): one step up from v1's, modulo 4. */
unsigned wkp_quic_long_type(uint32_t version, uint8_t byte0)
{
    unsigned t = (unsigned)(byte0 >> 4) & 3u;
    return version == WKP_QUIC_V2 ? (t + 3u) & 3u : t;
}

int wkp_quic_crypto_init(struct wkp_quic_crypto *c)
{
    memset(c, 0, sizeof *c);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf) {
        c->kdf = EVP_KDF_CTX_new(kdf);
        EVP_KDF_free(kdf); /* the context keeps its own reference */
    }
    c->ecb_ciph = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
    c->gcm_ciph = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    c->ecb = EVP_CIPHER_CTX_new();
    c->gcm = EVP_CIPHER_CTX_new();
    /* The ciphers are bound once here; a packet only sets keys and IV, so
     * OpenSSL keeps its cipher state and allocates nothing per packet. */
    if (!c->kdf || !c->ecb_ciph || !c->gcm_ciph || !c->ecb || !c->gcm ||
        EVP_EncryptInit_ex(c->ecb, c->ecb_ciph, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(c->ecb, 0) != 1 ||
        EVP_DecryptInit_ex(c->gcm, c->gcm_ciph, NULL, NULL, NULL) != 1) {
        wkp_quic_crypto_fini(c);
        return -1;
    }
    return 0;
}

void wkp_quic_crypto_fini(struct wkp_quic_crypto *c)
{
    EVP_KDF_CTX_free(c->kdf);
    EVP_CIPHER_CTX_free(c->ecb);
    EVP_CIPHER_CTX_free(c->gcm);
    EVP_CIPHER_free(c->ecb_ciph);
    EVP_CIPHER_free(c->gcm_ciph);
    memset(c, 0, sizeof *c);
}

static bool hkdf(struct wkp_quic_crypto *c, int mode, const uint8_t *key, size_t key_len,
                 const uint8_t *salt_or_info, size_t sl, uint8_t *out, size_t out_len)
{
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    *p++ = OSSL_PARAM_construct_octet_string(
        mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY ? OSSL_KDF_PARAM_SALT : OSSL_KDF_PARAM_INFO,
        (void *)salt_or_info, sl);
    *p = OSSL_PARAM_construct_end();
    EVP_KDF_CTX_reset(c->kdf);
    return EVP_KDF_derive(c->kdf, out, out_len, params) == 1;
}

/* HKDF-Expand-Label (RFC 8446 section 7.1) with an empty context. */
static bool expand_label(struct wkp_quic_crypto *c, const uint8_t secret[32], const char *label,
                         uint8_t *out, size_t out_len)
{
    uint8_t info[2 + 1 + 6 + 32 + 1];
    size_t ll = strlen(label), n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = 0;
    return hkdf(c, EVP_KDF_HKDF_MODE_EXPAND_ONLY, secret, 32, info, n, out, out_len);
}

bool wkp_quic_initial_keys(struct wkp_quic_crypto *c, uint32_t version, const uint8_t *dcid,
                           size_t dcid_len, bool server, struct wkp_quic_keys *out,
                           uint8_t initial_secret[32], uint8_t secret[32])
{
    enum wkp_quic_vkind vk = wkp_quic_version_kind(version);
    const uint8_t *salt = vk == WKP_QUIC_VK_V2        ? salt_v2
                          : vk == WKP_QUIC_VK_DRAFT29 ? salt_d29
                                                      : salt_v1;
    if (vk == WKP_QUIC_VK_UNKNOWN)
        return false;
    bool v2 = vk == WKP_QUIC_VK_V2;
    uint8_t init[32], sec[32];
    static const uint8_t empty[1];
    if (!hkdf(c, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, dcid_len ? dcid : empty, dcid_len, salt,
              sizeof salt_v1, init, sizeof init) ||
        !expand_label(c, init, server ? "server in" : "client in", sec, sizeof sec) ||
        !expand_label(c, sec, v2 ? "quicv2 key" : "quic key", out->key, sizeof out->key) ||
        !expand_label(c, sec, v2 ? "quicv2 iv" : "quic iv", out->iv, sizeof out->iv) ||
        !expand_label(c, sec, v2 ? "quicv2 hp" : "quic hp", out->hp, sizeof out->hp))
        return false;
    if (initial_secret)
        memcpy(initial_secret, init, 32);
    if (secret)
        memcpy(secret, sec, 32);
    return true;
}

/* RFC 9000 appendix A.3: the full packet number nearest the next expected. */
static uint64_t decode_pn(int64_t largest, uint64_t truncated, unsigned nbits)
{
    uint64_t expected = (uint64_t)(largest + 1);
    uint64_t win = 1ull << nbits, hwin = win / 2, mask = win - 1;
    uint64_t cand = (expected & ~mask) | truncated;
    if (cand + hwin <= expected && cand < (1ull << 62) - win)
        return cand + win;
    if (cand > expected + hwin && cand >= win)
        return cand - win;
    return cand;
}

int32_t wkp_quic_open(struct wkp_quic_crypto *c, const struct wkp_quic_keys *k, const uint8_t *pkt,
                      uint32_t pn_off, uint32_t end, int64_t largest_pn, uint8_t *hdr,
                      uint32_t hdr_cap, uint8_t *out, uint32_t out_cap, uint64_t *pn)
{
    /* The sample is 16 bytes from pn_off + 4, then at least the tag. */
    if ((uint64_t)pn_off + 4 + 16 > end || pn_off + 4 > hdr_cap || end - pn_off > out_cap)
        return -1;
    uint8_t mask[32];
    int n = 0;
    if (EVP_EncryptInit_ex(c->ecb, NULL, NULL, k->hp, NULL) != 1 ||
        EVP_EncryptUpdate(c->ecb, mask, &n, pkt + pn_off + 4, 16) != 1 || n != 16)
        return -1;
    memcpy(hdr, pkt, pn_off);
    hdr[0] = (uint8_t)(pkt[0] ^ (mask[0] & ((pkt[0] & 0x80) ? 0x0f : 0x1f)));
    unsigned pn_len = (hdr[0] & 3u) + 1u;
    uint64_t trunc = 0;
    for (unsigned i = 0; i < pn_len; i++) {
        hdr[pn_off + i] = (uint8_t)(pkt[pn_off + i] ^ mask[1 + i]);
        trunc = trunc << 8 | hdr[pn_off + i];
    }
    uint32_t aad_len = pn_off + pn_len;
    if ((uint64_t)aad_len + 16 > end)
        return -1;
    *pn = decode_pn(largest_pn, trunc, 8 * pn_len);
    uint8_t nonce[12];
    memcpy(nonce, k->iv, 12);
    for (unsigned i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(*pn >> (8 * i));
    uint32_t ct_len = end - aad_len - 16;
    int outl = 0, fin = 0;
    if (EVP_DecryptInit_ex(c->gcm, NULL, NULL, k->key, nonce) != 1 ||
        EVP_DecryptUpdate(c->gcm, NULL, &outl, hdr, (int)aad_len) != 1 ||
        EVP_DecryptUpdate(c->gcm, out, &outl, pkt + aad_len, (int)ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(c->gcm, EVP_CTRL_GCM_SET_TAG, 16, (void *)(pkt + end - 16)) != 1 ||
        EVP_DecryptFinal_ex(c->gcm, out + outl, &fin) != 1)
        return -1;
    return (int32_t)(outl + fin);
}

bool wkp_quic_varint(const uint8_t *p, uint32_t n, uint32_t *off, uint64_t *v)
{
    if (*off >= n)
        return false;
    uint32_t len = 1u << (p[*off] >> 6);
    if (len > n - *off)
        return false;
    uint64_t x = p[*off] & 0x3fu;
    for (uint32_t i = 1; i < len; i++)
        x = x << 8 | p[*off + i];
    *off += len;
    *v = x;
    return true;
}
