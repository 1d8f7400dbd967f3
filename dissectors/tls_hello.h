/* TLS ClientHello / ServerHello bodies and the JA3, JA3S and JA4
 * fingerprints made from them.
 *
 * Pure functions: bytes in, a fixed-size struct out, strings from the
 * struct. Nothing here knows about records, streams or flows, so the TCP
 * dissector (tls.c) and a QUIC one (TLS inside CRYPTO frames, JA4's 'q')
 * share it. Safe on any thread, except that a fingerprint hasher (struct
 * wkp_tls_fp, below) is used by one thread at a time; without one the hashes
 * use OpenSSL's one-shot EVP digest. MD5 and SHA-256 are fetched once for
 * the process and kept until it exits.
 *
 * Lists are capped (the WKP_TLS_MAX_* below): values past a cap are not
 * kept, but counted in the n*_seen totals, so JA4's counts stay exact while
 * its hashes, and JA3, cover the kept values only. */
#ifndef WKP_TLS_HELLO_H
#define WKP_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WKP_TLS_MAX_SUITES   128
#define WKP_TLS_MAX_EXTS     64
#define WKP_TLS_MAX_GROUPS   32
#define WKP_TLS_MAX_SIGALGS  32
#define WKP_TLS_MAX_VERSIONS 16
#define WKP_TLS_MAX_PFORMATS 8
#define WKP_TLS_MAX_ALPN     8
#define WKP_TLS_ALPN_LEN     32 /* bytes kept of each ALPN value */
#define WKP_TLS_MAX_SNI      255
#define WKP_TLS_SESSION_ID   32

enum {
    WKP_TLS_CLIENT_HELLO = 1,
    WKP_TLS_SERVER_HELLO = 2,
};

/* Extension types the parser reads. */
enum {
    WKP_TLS_EXT_SNI = 0,
    WKP_TLS_EXT_GROUPS = 10,
    WKP_TLS_EXT_POINT_FORMATS = 11,
    WKP_TLS_EXT_SIGALGS = 13,
    WKP_TLS_EXT_ALPN = 16,
    WKP_TLS_EXT_PSK = 41,
    WKP_TLS_EXT_VERSIONS = 43,
};

/* What wkp_tls_hello_parse() says of a body. */
enum wkp_tls_hello_status {
    WKP_TLS_HELLO_OK,    /* every length agreed */
    WKP_TLS_HELLO_SHORT, /* a length ran past the body: what came before is kept */
    WKP_TLS_HELLO_BAD,   /* not even the version, random and session id: nothing kept */
};

struct wkp_tls_hello {
    uint8_t type;           /* WKP_TLS_CLIENT_HELLO or WKP_TLS_SERVER_HELLO */
    uint16_t version;       /* legacy_version of the hello */
    uint16_t cipher_suite;  /* ServerHello: the chosen suite */
    uint8_t session_id_len; /* as on the wire (0..32) */
    uint8_t session_id[WKP_TLS_SESSION_ID];

    /* Values in wire order, GREASE kept; n* kept, n*_seen on the wire. */
    uint16_t nsuites, nsuites_seen, nsuites_real; /* real: non-GREASE on the wire */
    uint16_t suites[WKP_TLS_MAX_SUITES];
    uint16_t nexts, nexts_seen, nexts_real;
    uint16_t exts[WKP_TLS_MAX_EXTS];
    uint8_t ngroups, nsigalgs, nversions, npformats;
    uint16_t groups[WKP_TLS_MAX_GROUPS];
    uint16_t sigalgs[WKP_TLS_MAX_SIGALGS];
    uint16_t versions[WKP_TLS_MAX_VERSIONS]; /* supported_versions (a ServerHello: one) */
    uint8_t pformats[WKP_TLS_MAX_PFORMATS];  /* ec_point_formats */

    /* ALPN: up to WKP_TLS_MAX_ALPN values, each cut to WKP_TLS_ALPN_LEN
     * bytes; the first value's first and last bytes are kept whole for JA4. */
    uint8_t nalpn;
    uint8_t alpn_len[WKP_TLS_MAX_ALPN];
    uint8_t alpn[WKP_TLS_MAX_ALPN][WKP_TLS_ALPN_LEN];
    uint8_t alpn0_first, alpn0_last;

    /* server_name: the first host_name, bytes as on the wire (cut to 255). */
    uint8_t sni_len;
    uint8_t sni[WKP_TLS_MAX_SNI];

    bool has_sni_ext, has_alpn_ext, has_versions_ext, has_psk_ext;
    bool has_sni; /* a host_name was read */
};

/* GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa. */
static inline bool wkp_tls_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Parse a hello body: the bytes after the 4-byte handshake header, len of
 * them. type is WKP_TLS_CLIENT_HELLO or WKP_TLS_SERVER_HELLO. *h is
 * overwritten. */
enum wkp_tls_hello_status wkp_tls_hello_parse(uint8_t type, const uint8_t *body, uint32_t len,
                                              struct wkp_tls_hello *h);

/* The version a ServerHello chose: its supported_versions value, else its
 * legacy version. For a ClientHello: the highest non-GREASE value it
 * offers in supported_versions, else its legacy version. */
uint16_t wkp_tls_hello_version(const struct wkp_tls_hello *h);

/* Fingerprint strings, NUL-terminated; each returns the length written
 * (at most cap - 1; cut at cap). WKP_TLS_FP_TEXT is always enough. */
#define WKP_TLS_FP_TEXT 2048
/* JA3 of a ClientHello: "version,suites,extensions,groups,point_formats",
 * decimal, '-' between values, GREASE left out. */
size_t wkp_tls_ja3_text(const struct wkp_tls_hello *h, char *out, size_t cap);
/* JA3S of a ServerHello: "version,suite,extensions". */
size_t wkp_tls_ja3s_text(const struct wkp_tls_hello *h, char *out, size_t cap);
/* JA4's raw form: "a_suites_extensions[_sigalgs]" with 4-digit lower-case
 * hex; original = false sorts suites and extensions and leaves out SNI and
 * ALPN (ja4_r), true keeps the wire order and both (ja4_ro). proto is 't'
 * (TLS over TCP), 'q' (QUIC) or 'd' (DTLS). */
size_t wkp_tls_ja4_raw(const struct wkp_tls_hello *h, char proto, bool original, char *out,
                       size_t cap);

/* The fingerprint hasher of one thread (a dissector's context in one
 * worker): a digest context reused for every hash, and the digests of
 * recent texts. A capture's clients send few distinct hellos, so most JA3
 * and JA4 texts come back; a text found among the recent ones (compared
 * whole) is not hashed again. Owned by its creator; one thread at a time. */
struct wkp_tls_fp;

/* A new hasher, or NULL when out of memory. */
struct wkp_tls_fp *wkp_tls_fp_new(void);
/* Free fp (NULL: nothing). */
void wkp_tls_fp_free(struct wkp_tls_fp *fp);

/* Hashes. fp: a hasher to use, or NULL (a one-shot digest, nothing kept). */
/* MD5 of the JA3 (server: JA3S) text as 32 hex digits + NUL. */
void wkp_tls_ja3(const struct wkp_tls_hello *h, struct wkp_tls_fp *fp, char out[33]);
/* JA4 (original = false) or ja4_o (true): "a_b_c", 36 characters + NUL,
 * where b and c are the first 12 hex digits of SHA-256 of the raw parts. */
void wkp_tls_ja4(const struct wkp_tls_hello *h, char proto, bool original, struct wkp_tls_fp *fp,
                 char out[37]);

#endif
