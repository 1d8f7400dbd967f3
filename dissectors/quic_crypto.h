/* QUIC Initial packet protection: the key schedule and the decryption of
 * a client or server Initial (RFC 9001 section 5, RFC 9369 section 3.3).
 *
 * Initial packets are protected with keys anyone can derive from the
 * Destination Connection ID of the client's first Initial, so a passive
 * reader can open them. One wkp_quic_crypto per worker holds the OpenSSL
 * contexts (HKDF, AES-128-ECB for header protection, AES-128-GCM), made
 * once and reused: opening a packet allocates nothing. Not thread-safe: a
 * context belongs to one worker. */
#ifndef WKP_QUIC_CRYPTO_H
#define WKP_QUIC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WKP_QUIC_V1 0x00000001u
#define WKP_QUIC_V2 0x6b3343cfu

/* What a version number is, for this reader. */
enum wkp_quic_vkind {
    WKP_QUIC_VK_UNKNOWN, /* not one we open (gQUIC, other drafts, reserved) */
    WKP_QUIC_VK_V1,      /* QUIC v1 and drafts 33-34: the v1 salt */
    WKP_QUIC_VK_DRAFT29, /* drafts 29-32: the draft-29 salt, v1 labels */
    WKP_QUIC_VK_V2,      /* QUIC v2: its own salt, "quicv2" labels, type numbering */
};
enum wkp_quic_vkind wkp_quic_version_kind(uint32_t version);

/* Long-header packet types in v1 numbering (v2 packets are mapped). */
enum { WKP_QUIC_INITIAL = 0, WKP_QUIC_0RTT = 1, WKP_QUIC_HANDSHAKE = 2, WKP_QUIC_RETRY = 3 };
/* The v1-numbered type of the two type bits of a long header byte 0. */
unsigned wkp_quic_long_type(uint32_t version, uint8_t byte0);

struct wkp_quic_keys {
    uint8_t key[16], iv[12], hp[16];
};

struct wkp_quic_crypto {
    void *kdf;                 /* EVP_KDF_CTX (HKDF, SHA-256) */
    void *ecb;                 /* EVP_CIPHER_CTX: header protection */
    void *gcm;                 /* EVP_CIPHER_CTX: payload */
    void *ecb_ciph, *gcm_ciph; /* fetched EVP_CIPHERs */
};

/* 0 or -1 (OpenSSL lacks something); fini frees what init made, and is
 * safe on a zeroed or failed context. */
int wkp_quic_crypto_init(struct wkp_quic_crypto *c);
void wkp_quic_crypto_fini(struct wkp_quic_crypto *c);

/* The Initial secret of a version and a client DCID (HKDF-Extract), the
 * client or server secret from it, and the packet keys from that. false:
 * unknown version or OpenSSL failure. initial_secret may be NULL; it gets
 * 32 bytes, so does secret. */
bool wkp_quic_initial_keys(struct wkp_quic_crypto *c, uint32_t version, const uint8_t *dcid,
                           size_t dcid_len, bool server, struct wkp_quic_keys *out,
                           uint8_t initial_secret[32], uint8_t secret[32]);

/* Open one long-header packet: pkt is the packet's first byte, pn_off the
 * offset of its (protected) packet number, end the offset just past the
 * packet (pn_off + the Length field). The header (byte 0 and packet number
 * unmasked) is written to hdr (hdr_cap bytes; it must hold pn_off + 4),
 * the plaintext to out (out_cap bytes; end - pn_off at most). largest_pn:
 * the largest packet number opened so far in this direction, or -1.
 * Returns the plaintext length, or -1 (too short, no room, or the tag did
 * not verify); *pn gets the packet number. */
int32_t wkp_quic_open(struct wkp_quic_crypto *c, const struct wkp_quic_keys *k, const uint8_t *pkt,
                      uint32_t pn_off, uint32_t end, int64_t largest_pn, uint8_t *hdr,
                      uint32_t hdr_cap, uint8_t *out, uint32_t out_cap, uint64_t *pn);

/* A QUIC variable-length integer (RFC 9000 section 16) at p[*off], n
 * bytes in all; false if it runs past n (then *off is unchanged). */
bool wkp_quic_varint(const uint8_t *p, uint32_t n, uint32_t *off, uint64_t *v);

#endif
