/* Compressed captures: gzip, zstd, xz and lz4 (frame format) streams,
 * recognised by their first bytes and decompressed in chunks as they are
 * read, so a capture of any size needs no temporary file and a fixed amount
 * of memory (one input buffer and the decoder's window).
 *
 * Each library is optional at build time (WKP_HAVE_ZLIB, WKP_HAVE_ZSTD,
 * WKP_HAVE_LZMA, WKP_HAVE_LZ4); a format recognised but not built in is
 * refused by the caller with a message naming it. Reader thread only. */
#ifndef WKP_CAPTURE_DECOMP_H
#define WKP_CAPTURE_DECOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wa1kpcap/wa1kpcap.h"

enum wkp_zfmt { WKP_Z_NONE, WKP_Z_GZIP, WKP_Z_ZSTD, WKP_Z_XZ, WKP_Z_LZ4 };

/* The longest magic: xz's six bytes. */
#define WKP_Z_MAGIC_MAX 6

/* What the first n bytes of a file say: one of the formats, or WKP_Z_NONE
 * (too short counts as none). */
enum wkp_zfmt wkp__z_detect(const uint8_t *b, size_t n);
/* "gzip", "zstd", "xz", "lz4"; "none". Static text. */
const char *wkp__z_name(enum wkp_zfmt f);
/* True if this build decompresses f. */
bool wkp__z_built(enum wkp_zfmt f);
/* The version of the library that decompresses f, as it reports it; NULL
 * if this build does not decompress f. */
const char *wkp__z_library_version(enum wkp_zfmt f);

/* Where compressed bytes come from: like read(2), > 0 bytes, 0 at the end,
 * -1 with errno set. */
typedef ssize_t (*wkp_z_read_fn)(void *ctx, void *buf, size_t n);

struct wkp_z;

/* A decoder of f over rd(ctx). pre holds the first npre bytes already read
 * from the source (copied). WKP_ENOMEM, or WKP_EINVAL if f is not built in. */
wkp_status wkp__z_new(enum wkp_zfmt f, const uint8_t *pre, size_t npre, wkp_z_read_fn rd, void *ctx,
                      struct wkp_z **out);

/* Up to n decompressed bytes into out: the count (> 0), 0 at the clean end
 * of the last frame, -1 when the source failed (errno as rd left it), -2
 * when the compressed data is corrupt or cut short (wkp__z_error says where,
 * as a compressed byte offset). Sticky: after -1 or -2 every call repeats
 * it. Gzip members and zstd, xz and lz4 frames that follow one another are
 * read as one stream. */
ssize_t wkp__z_read(struct wkp_z *z, void *out, size_t n);

/* Why the last read returned -2, one line without the file name, e.g.
 * "zstd data corrupt at compressed byte 4096 (Unknown frame descriptor)".
 * Valid until free. */
const char *wkp__z_error(const struct wkp_z *z);

/* Compressed bytes taken from the source so far (progress). */
uint64_t wkp__z_in(const struct wkp_z *z);

void wkp__z_free(struct wkp_z *z); /* NULL is a no-op */

#endif
