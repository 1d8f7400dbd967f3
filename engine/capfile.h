/* Capture file readers: pcap (µs and ns, both byte orders) and pcapng.
 *
 * Two implementations behind one interface. The mmap reader is ours: it maps
 * the file and hands out records that point into the mapping (zero copy,
 * valid until wkp_capfile_close), handles pcapng sections with interfaces of
 * different link types and if_tsresol. The libpcap reader uses
 * pcap_next_ex(); its record data is valid only until the next call, so the
 * caller copies it. Used by the reader thread only. */
#ifndef WKP_CAPFILE_H
#define WKP_CAPFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "wa1kpcap/wa1kpcap.h"

struct wkp_capfile;

struct wkp_rec {
    const uint8_t *data;
    uint32_t caplen;  /* bytes at data */
    uint32_t wirelen; /* original length on the wire */
    int64_t ts_ns;    /* capture time, ns since the epoch */
    int dlt;          /* link type of this record (pcapng: its interface's) */
};

/* Open path with reader kind k (AUTO picks mmap for regular files). Checks the
 * file header and, for pcap, the link type: an unsupported link type is
 * WKP_ELINKTYPE. On failure err names the file and the problem, e.g.
 * "x.txt: not a pcap or pcapng file (starts with 0x48656c6c)". */
wkp_status wkp_capfile_open(const char *path, wkp_reader_kind k, struct wkp_capfile **out,
                            wkp_errbuf *err);

/* Next record. Returns 1 with *rec filled, 0 at the end of the file, or a
 * negative wkp_status with err filled (e.g. a pcapng interface whose link
 * type is unsupported, a corrupt block). A file cut inside its last record
 * ends with 0 and wkp_capfile_truncated() true. */
int wkp_capfile_next(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err);

/* After the end: true if the file was cut inside a record; *offset is the
 * byte offset where that record starts. */
bool wkp_capfile_truncated(const struct wkp_capfile *cf, uint64_t *offset);

/* True if record data stays valid until close (mmap), false if it is
 * overwritten by the next call (libpcap). */
bool wkp_capfile_zero_copy(const struct wkp_capfile *cf);

/* Timestamp decimals to print: 6 for µs captures, 9 if the file (or any of
 * its pcapng interfaces) has a finer resolution. */
int wkp_capfile_ts_digits(const struct wkp_capfile *cf);

uint64_t wkp_capfile_size(const struct wkp_capfile *cf);       /* bytes, 0 if unknown */
uint64_t wkp_capfile_bytes_done(const struct wkp_capfile *cf); /* bytes consumed so far */
const char *wkp_capfile_path(const struct wkp_capfile *cf);
int wkp_capfile_first_dlt(const struct wkp_capfile *cf);

/* mmap reader: nothing before p (a record pointer handed out earlier, or the
 * cursor) is read again; its pages may leave the process's memory. No-op
 * for the libpcap reader. Reader thread only. */
void wkp_capfile_release(struct wkp_capfile *cf, const uint8_t *p);
/* mmap reader: where the next record starts (NULL for libpcap). */
const uint8_t *wkp_capfile_cursor(const struct wkp_capfile *cf);

void wkp_capfile_close(struct wkp_capfile *cf); /* NULL is a no-op */

#endif
