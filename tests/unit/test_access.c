/* The binding API: the runtime version, an engine's column list and CSV
 * header, and the flow text a callback sink may ask for, checked against
 * the file writers of the same run (the bytes the CLI writes) on
 * tests/data/wa1kpcap__multi.pcap. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wa1kpcap/wa1kpcap.h"

#define MULTI WKP_TEST_DATA "/wa1kpcap__multi.pcap"
/* `wa1kpcap analyze -f csv wa1kpcap__multi.pcap | head -1 | tr , '\n' | wc -l` */
#define MULTI_COLUMNS 282
/* `wa1kpcap analyze -f ndjson wa1kpcap__multi.pcap | wc -l` */
#define MULTI_FLOWS 140

struct grow {
    char *p;
    size_t len, cap;
};

static void put(struct grow *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->len + n + 1) * 2;
        g->p = realloc(g->p, g->cap);
        cr_assert_not_null(g->p);
    }
    memcpy(g->p + g->len, s, n);
    g->len += n;
    g->p[g->len] = '\0';
}

struct texts {
    struct grow csv, json, ndjson;
    int flows;
};

static int keep_text(const wkp_flow *f, void *user)
{
    struct texts *t = user;
    size_t n;
    const char *s = wkp_flow_text(f, WKP_FMT_CSV, &n);
    cr_assert_not_null(s);
    put(&t->csv, s, n);
    s = wkp_flow_text(f, WKP_FMT_JSON, &n);
    cr_assert_not_null(s);
    put(&t->json, t->flows ? ",\n" : "\n", t->flows ? 2 : 1);
    put(&t->json, s, n);
    s = wkp_flow_text(f, WKP_FMT_NDJSON, &n);
    cr_assert_not_null(s);
    put(&t->ndjson, s, n);
    t->flows++;
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s", path);
    struct grow g = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        put(&g, buf, n);
    fclose(fp);
    *len = g.len;
    return g.p;
}

static void expect_same(const char *path, const struct grow *got)
{
    size_t n;
    char *want = slurp(path, &n);
    cr_expect_eq(got->len, n, "%s: %zu bytes from the callback, %zu in the file", path, got->len,
                 n);
    cr_expect(got->len == n && memcmp(got->p, want, n) == 0, "%s differs", path);
    free(want);
    unlink(path);
}

Test(access, version_number_matches_the_header)
{
    cr_assert_eq(wkp_version_number(), WKP_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%u.%u.%u", wkp_version_number() / 10000,
             wkp_version_number() / 100 % 100, wkp_version_number() % 100);
    cr_assert_str_eq(wkp_version(), want);
}

Test(access, callback_text_is_the_file_writers_bytes)
{
    char dir[] = "/tmp/wkp_access_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char csv[64], json[64], ndjson[64];
    snprintf(csv, sizeof csv, "%s/f.csv", dir);
    snprintf(json, sizeof json, "%s/f.json", dir);
    snprintf(ndjson, sizeof ndjson, "%s/f.ndjson", dir);

    wkp_config *cfg;
    wkp_engine *e;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_threads(cfg, 2), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    const char *paths[] = {csv, json, ndjson};
    const wkp_format fmts[] = {WKP_FMT_CSV, WKP_FMT_JSON, WKP_FMT_NDJSON};
    for (int i = 0; i < 3; i++) {
        wkp_sink *s;
        cr_assert_eq(wkp_sink_file_new(paths[i], fmts[i], &s, NULL), WKP_OK);
        cr_assert_eq(wkp_sink_callback_add_text(s, WKP_FMT_CSV), WKP_EINVAL); /* a file sink */
        cr_assert_eq(wkp_engine_add_sink(e, s), WKP_OK);
    }
    struct texts t = {0};
    wkp_sink *cb;
    cr_assert_eq(wkp_sink_callback_new(keep_text, &t, &cb), WKP_OK);
    cr_assert_eq(wkp_sink_callback_add_text(cb, WKP_FMT_NONE), WKP_EINVAL);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(wkp_sink_callback_add_text(cb, fmts[i]), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    cr_assert_eq(wkp_sink_callback_add_text(cb, WKP_FMT_CSV), WKP_ESTATE); /* too late */

    /* the header: the engine's column list joined by commas */
    cr_assert_eq(wkp_engine_column_count(e), MULTI_COLUMNS);
    cr_assert_str_eq(wkp_engine_column_name(e, 0), "flow_id");
    cr_assert_str_eq(wkp_engine_column_name(e, 20), "feature.packet_lengths.mean");
    cr_assert_null(wkp_engine_column_name(e, MULTI_COLUMNS));
    size_t hlen;
    char small[8];
    cr_assert_eq(wkp_engine_csv_header(e, small, sizeof small, &hlen), WKP_EINVAL);
    char *hdr = malloc(hlen + 1);
    cr_assert_eq(wkp_engine_csv_header(e, hdr, hlen + 1, &hlen), WKP_OK);
    struct grow joined = {0};
    for (size_t i = 0; i < MULTI_COLUMNS; i++) {
        const char *n = wkp_engine_column_name(e, i);
        if (i)
            put(&joined, ",", 1);
        put(&joined, n, strlen(n));
    }
    put(&joined, "\n", 1);
    cr_assert_str_eq(hdr, joined.p);

    const char *in[] = {MULTI};
    cr_assert_eq(wkp_engine_run(e, in, 1), WKP_OK);
    cr_assert_eq(t.flows, MULTI_FLOWS);

    struct grow csv_file = {0};
    put(&csv_file, hdr, hlen);
    put(&csv_file, t.csv.p, t.csv.len);
    expect_same(csv, &csv_file);
    struct grow json_file = {0};
    put(&json_file, "[", 1);
    put(&json_file, t.json.p, t.json.len);
    put(&json_file, "\n]\n", 3);
    expect_same(json, &json_file);
    expect_same(ndjson, &t.ndjson);
    rmdir(dir);
    wkp_engine_free(e);
    free(hdr);
    free(joined.p);
    free(csv_file.p);
    free(json_file.p);
    free(t.csv.p);
    free(t.json.p);
    free(t.ndjson.p);
}

static int no_text(const wkp_flow *f, void *user)
{
    size_t n = 99;
    *(int *)user += wkp_flow_text(f, WKP_FMT_NDJSON, &n) == NULL && n == 0;
    return 0;
}

Test(access, no_text_unless_asked)
{
    wkp_config *cfg;
    wkp_engine *e;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    int none = 0;
    wkp_sink *cb;
    cr_assert_eq(wkp_sink_callback_new(no_text, &none, &cb), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    const char *in[] = {MULTI};
    cr_assert_eq(wkp_engine_run(e, in, 1), WKP_OK);
    cr_assert_eq(none, MULTI_FLOWS);
    wkp_engine_free(e);
}

struct progress_seen {
    int calls, done;
    size_t size;
    uint64_t packets;
};

static void on_progress(const wkp_progress *p, void *user)
{
    struct progress_seen *s = user;
    s->calls++;
    s->size = p->struct_size;
    if (p->done) {
        s->done++;
        s->packets = p->packets_read;
    }
}

static int ignore(const wkp_flow *f, void *user)
{
    (void)f, (void)user;
    return 0;
}

Test(access, progress_carries_its_size)
{
    struct progress_seen s = {0};
    wkp_config *cfg;
    wkp_engine *e;
    wkp_sink *cb;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_set_progress(cfg, on_progress, &s), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, NULL), WKP_OK);
    wkp_config_free(cfg);
    cr_assert_eq(wkp_sink_callback_new(ignore, NULL, &cb), WKP_OK);
    cr_assert_eq(wkp_engine_add_sink(e, cb), WKP_OK);
    const char *in[] = {MULTI};
    cr_assert_eq(wkp_engine_run(e, in, 1), WKP_OK);
    cr_expect_eq(s.done, 1);
    cr_expect_eq(s.size, sizeof(wkp_progress));
    cr_expect_eq(s.packets, 4183); /* capinfos -c wa1kpcap__multi.pcap */
    wkp_engine_free(e);
}
