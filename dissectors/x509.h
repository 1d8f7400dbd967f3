/* X.509 certificates, decoded with OpenSSL, as JSON for the tls column.
 * Functions over caller-owned bytes, callable from any thread at once (a
 * context guards what it keeps); the object's fields are in
 * docs/output.md, "Certificate objects". */
#ifndef WKP_X509_H
#define WKP_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Append one certificate as a JSON object to out: subject, issuer, serial,
 * not_before / not_after (ISO 8601 UTC), SANs, signature algorithm, key
 * type and bits, SHA-256 fingerprint; with_der adds the DER as base64.
 * DER that does not decode gives an object that says so (never a crash,
 * never a read past der + len). Returns false when the DER did not
 * decode. der may be NULL when len is 0. */
bool wkp_x509_write_json(const uint8_t *der, size_t len, bool with_der, struct wkp_buf *out);

/* A decoding context: an OpenSSL library context of its own, in which a
 * certificate decodes in about a fifth of the time (see x509.c). Make one
 * per worker thread: sharing one is safe, but its locks are then shared.
 * NULL when out of memory. */
struct wkp_x509_ctx;
struct wkp_x509_ctx *wkp_x509_ctx_new(void);
void wkp_x509_ctx_free(struct wkp_x509_ctx *c); /* NULL is a no-op */

/* wkp_x509_write_json decoding in c (NULL: OpenSSL's default context); the
 * text written is the same either way. A context also keeps the last
 * objects it wrote (up to 64, 1 MiB in all), and writes one again from
 * there when the same DER comes back, without decoding it. */
bool wkp_x509_write_json_ctx(struct wkp_x509_ctx *c, const uint8_t *der, size_t len, bool with_der,
                             struct wkp_buf *out);

/* How many calls in c were answered from what it keeps (0 for NULL). */
uint64_t wkp_x509_ctx_hits(const struct wkp_x509_ctx *c);

#endif
