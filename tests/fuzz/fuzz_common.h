/* Shared by the fuzz targets (tests/fuzz/fuzz_<entry>.c) and the smoke
 * driver (smoke_main.c): a cursor over the input, the invariant check, and
 * the seed hook the smoke driver calls to turn test captures into inputs.
 *
 * Every target defines LLVMFuzzerTestOneInput(). Built with libFuzzer
 * (WKP_FUZZ=ON, clang) libFuzzer supplies main(); otherwise smoke_main.c does. */
#ifndef WKP_FUZZ_COMMON_H
#define WKP_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant: abort with file, line and the condition (never compiled out,
 * unlike assert under NDEBUG). */
#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads the input front to back; past the end every read gives zeros. */
struct fz {
    const uint8_t *p;
    size_t n;
};

static inline size_t fz_left(const struct fz *z)
{
    return z->n;
}

static inline uint8_t fz_u8(struct fz *z)
{
    if (z->n == 0)
        return 0;
    z->n--;
    return *z->p++;
}

static inline uint16_t fz_u16(struct fz *z)
{
    uint16_t hi = fz_u8(z);
    return (uint16_t)(hi << 8 | fz_u8(z));
}

static inline uint32_t fz_u32(struct fz *z)
{
    uint32_t hi = fz_u16(z);
    return hi << 16 | fz_u16(z);
}

/* Up to want bytes; *got says how many. */
static inline const uint8_t *fz_bytes(struct fz *z, size_t want, size_t *got)
{
    const uint8_t *p = z->p;
    *got = want < z->n ? want : z->n;
    if (*got) { /* an empty input may come as NULL, and NULL + 0 is undefined */
        z->p += *got;
        z->n -= *got;
    }
    return p;
}

/* Link types the targets pick from with one byte: the ones l2l4 decodes,
 * then a few it does not (selector values past the table wrap around). */
static const int fz_dlts[] = {1,   0,   9,   12, 14, 50,  101, 104, 108, 113,  228,
                              229, 239, 276, 1,  1,  101, 113, 2,   147, 65535};
#define FZ_NDLT (sizeof fz_dlts / sizeof fz_dlts[0])
static inline int fz_dlt(uint8_t sel)
{
    return fz_dlts[sel % FZ_NDLT];
}
static inline uint8_t fz_dlt_sel(int dlt)
{
    for (size_t i = 0; i < FZ_NDLT; i++)
        if (fz_dlts[i] == dlt)
            return (uint8_t)i;
    return 0;
}

/* Smoke driver hook (optional, weak): turn one seed file into inputs by
 * calling emit() for each. A target without it gets the file as is. The
 * helper wkp_fuzz_each_record() (smoke_main.c) walks the records of a
 * pcap/pcapng file with libpcap; it returns -1 if the file is no capture. */
typedef void (*wkp_fuzz_emit_fn)(const uint8_t *data, size_t size);
typedef void (*wkp_fuzz_rec_fn)(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen,
                                size_t index, void *ctx);
void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
    __attribute__((weak));
int wkp_fuzz_each_record(const uint8_t *data, size_t size, wkp_fuzz_rec_fn fn, void *ctx);

/* A dissector's record: empty, or one JSON object with balanced brackets,
 * closed strings and no raw control bytes. */
static inline void fz_check_json_object(const char *p, size_t n)
{
    if (n == 0)
        return;
    FZ_CHECK(p[0] == '{' && p[n - 1] == '}');
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        FZ_CHECK(ch >= 0x20);
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
            continue;
        }
        if (ch == '"')
            in_str = true;
        else if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']')
            FZ_CHECK(--depth >= 0);
        if (i + 1 < n)
            FZ_CHECK(depth > 0);
    }
    FZ_CHECK(!in_str && depth == 0);
}

/* Two runs of a dissector over the same input wrote the same record and
 * counted the same: parsing depends on nothing but its input. */
static inline void fz_same_runs(const char *out_a, size_t len_a, const char *out_b, size_t len_b,
                                const void *counters_a, const void *counters_b, size_t nbytes)
{
    FZ_CHECK(len_a == len_b && (len_a == 0 || memcmp(out_a, out_b, len_a) == 0));
    FZ_CHECK(memcmp(counters_a, counters_b, nbytes) == 0);
}

/* Hold n bytes in a file, for the readers (mmap needs a regular file): a
 * memfd named name, made on the first call (*fd < 0; its /proc path goes
 * to path) and rewritten on each. */
static inline void fz_memfd_write(int *fd, const char *name, char *path, size_t pathlen,
                                  const uint8_t *p, size_t n)
{
    if (*fd < 0) {
        *fd = memfd_create(name, MFD_CLOEXEC);
        FZ_CHECK(*fd >= 0);
        snprintf(path, pathlen, "/proc/self/fd/%d", *fd);
    }
    FZ_CHECK(ftruncate(*fd, 0) == 0);
    for (size_t off = 0; off < n;) {
        ssize_t w = pwrite(*fd, p + off, n - off, (off_t)off);
        FZ_CHECK(w > 0);
        off += (size_t)w;
    }
}

#endif
