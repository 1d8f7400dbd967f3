/* X.509 certificates, decoded with OpenSSL, as JSON for the tls column.
 * Pure functions over caller-owned bytes; safe on any thread (OpenSSL's
 * decoders keep no shared state we rely on). */
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
 * decode. */
bool wkp_x509_write_json(const uint8_t *der, size_t len, bool with_der, struct wkp_buf *out);

#endif
