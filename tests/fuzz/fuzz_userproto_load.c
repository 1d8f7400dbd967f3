/* libFuzzer target: loading user protocol definitions (userproto/load.c,
 * compile.c, expr.c) from YAML text.
 *
 * Input: up to 4 files separated by NUL bytes (a.yaml, b.yaml, ...), each
 * at most 16 KiB; one route udp:9999=p is added when the first byte is odd.
 *
 * Invariants: a load either succeeds or fails with one non-empty line (no
 * newline) that names a file; the same input gives the same outcome and
 * message twice; a loaded set parses its own input bytes as each protocol
 * with an output column, within the record's bounds, and writes one JSON
 * object per protocol seen (balanced braces). Leaks show under ASan. */
#include "fuzz_common.h"

#include "userproto/userproto.h"

#define MAX_FILES 4
#define MAX_TEXT  (16u << 10)

static int load(const uint8_t *data, size_t size, struct wkp_up_set **s, char *err, size_t n)
{
    static const char *const names[MAX_FILES] = {"a.yaml", "b.yaml", "c.yaml", "d.yaml"};
    char *texts[MAX_FILES] = {0};
    size_t nt = 0, at = 0;
    while (nt < MAX_FILES && at <= size) {
        const uint8_t *z = at < size ? memchr(data + at, 0, size - at) : NULL;
        size_t len = z ? (size_t)(z - (data + at)) : size - at;
        if (len > MAX_TEXT)
            len = MAX_TEXT;
        texts[nt] = malloc(len + 1);
        FZ_CHECK(texts[nt]);
        if (len)
            memcpy(texts[nt], data + at, len);
        texts[nt++][len] = '\0';
        if (!z)
            break;
        at = (size_t)(z - data) + 1;
    }
    struct wkp_up_route r = {"udp", 9999, "p"};
    int rc = wkp_up_load_texts(names, (const char *const *)texts, nt, &r,
                               size && (data[0] & 1) ? 1 : 0, s, err, n);
    for (size_t i = 0; i < nt; i++)
        free(texts[i]);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wkp_up_set *s = NULL, *s2 = NULL;
    char err[512], err2[512];
    int rc = load(data, size, &s, err, sizeof err);
    int rc2 = load(data, size, &s2, err2, sizeof err2);
    FZ_CHECK(rc == rc2);
    if (rc != 0) {
        FZ_CHECK(s == NULL && s2 == NULL);
        FZ_CHECK(rc == -1 || rc == -2);
        FZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
        FZ_CHECK(strcmp(err, err2) == 0);
        return 0;
    }
    wkp_up_free(s2);
    static struct wkp_up_rec rec;
    static struct wkp_up_flow flow;
    FZ_CHECK(wkp_up_rec_init(s, &rec) == 0);
    memset(&flow, 0, sizeof flow);
    for (unsigned c = 0; c < wkp_up_ncols(s); c++) {
        unsigned p = wkp_up_col_proto(s, c);
        unsigned n = wkp_up_parse(s, p, data, (uint32_t)(size > 65535 ? 65535 : size), &rec);
        FZ_CHECK(n <= WKP_UP_MAX_LAYERS && rec.n <= WKP_UP_REC_VALUES);
        FZ_CHECK(rec.used <= WKP_UP_REC_BYTES);
        for (uint32_t k = 0; k < rec.n; k++)
            FZ_CHECK(rec.v[k].off + rec.v[k].len <= rec.used && rec.v[k].layer < n);
        wkp_up_flow_merge(&flow, &rec);
    }
    for (unsigned c = 0; c < wkp_up_ncols(s); c++) {
        struct wkp_buf b = {0};
        wkp_up_flow_write(s, &flow, wkp_up_col_proto(s, c), &b);
        FZ_CHECK(b.len == 0 || (b.p[0] == '{' && b.p[b.len - 1] == '}'));
        wkp_buf_free(&b);
    }
    wkp_up_rec_fini(&rec);
    wkp_up_free(s);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Captures are no YAML: only the corpus files (tests/fuzz/corpus/userproto_load) seed it. */
void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".yaml") == 0)
        emit(data, size);
}
#endif
