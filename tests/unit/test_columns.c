/* The column table: the CSV header for the default config and for a
 * --columns selection (names as docs/output.md lists them), and one
 * hand-built flow written as CSV, JSON and NDJSON with every value
 * computed by hand in the comments. */
#include <criterion/criterion.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissector.h"
#include "engine/columns.h"
#include "engine/internal.h"

/* docs/output.md, "Fields", in order. */
static const char *const base_names[] = {
    "flow_id",         "capture",         "key",           "protocol",
    "src_ip",          "dst_ip",          "src_port",      "dst_port",
    "start_time",      "end_time",        "duration",      "packet_count",
    "byte_count",      "up_packet_count", "up_byte_count", "down_packet_count",
    "down_byte_count", "ext_protocol",    "end_reason",    "community_id",
};
static const char *const block_names[] = {
    "packet_lengths", "ip_lengths", "trans_lengths", "app_lengths", "iats",
    "up_iats",        "down_iats",  "payload_bytes", "tcp_flags",   "tcp_window",
};
static const char *const stat_names[] = {
    "mean",     "std",       "var",      "min",      "max",      "range",    "median",     "skew",
    "kurt",     "cv",        "sum",      "up_mean",  "up_std",   "up_min",   "up_max",     "up_sum",
    "up_count", "down_mean", "down_std", "down_min", "down_max", "down_sum", "down_count", "count",
};
static const char *const scalar_names[] = {
    "packet_count", "total_bytes", "up_down_pkt_ratio", "up_down_byte_ratio", "duration",
};
static const char *const seq_names[] = {
    "packet_lengths", "ip_lengths",    "trans_lengths", "app_lengths",      "timestamps",
    "iats",           "payload_bytes", "tcp_flags",     "tcp_window_sizes",
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A custom feature whose state is one counter; it writes {"n":<counter>}. */
static void toy_update(void *state, const wkp_pkt_view *pkt, void *user)
{
    (void)pkt;
    (void)user;
    ++*(uint64_t *)state;
}
static void toy_write(const void *state, wkp_value_writer *w, void *user)
{
    (void)user;
    wkp_write_object_begin(w);
    wkp_write_key(w, "n");
    wkp_write_int(w, (int64_t) * (const uint64_t *)state);
    wkp_write_object_end(w);
}

/* A dissector as the registry would hold one: only its name and writer
 * matter to the columns. Its state is a label, written {"label":"..."}. */
static void echo_write(const void *state, struct wkp_buf *out)
{
    wkp_buf_puts(out, "{\"label\":");
    wkp_buf_json_str(out, state);
    wkp_buf_putc(out, '}');
}
static const struct wkp_dissector echo = {.name = "echo", .write = echo_write};
static const struct wkp_dissector *const test_dissectors[] = {&echo};

static void config(struct wkp_config *cfg, const char *columns, bool sequences)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sequences = sequences;
    cfg->columns = columns ? strdup(columns) : NULL;
    wkp_feature_def def = {
        .name = "toy", .state_size = sizeof(uint64_t), .update = toy_update, .write = toy_write};
    cr_assert_eq(wkp_custom_add(&cfg->custom, &def), WKP_OK);
}

static void unconfig(struct wkp_config *cfg)
{
    wkp__columns_free(cfg);
    wkp_custom_free(&cfg->custom);
    free(cfg->columns);
}

static char *header(const struct wkp_config *cfg)
{
    struct wkp_buf b = {0};
    wkp__csv_header(&b, cfg);
    wkp_buf_putc(&b, '\0');
    cr_assert(!b.oom);
    return b.p;
}

Test(columns, default_header_lists_every_column_in_order)
{
    struct wkp_config cfg;
    config(&cfg, NULL, true);
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp__columns_build_with(&cfg, test_dissectors, 1, &err), WKP_OK, "%s", err.msg);

    /* 20 base, 10 x 24 statistics, 5 scalars, 9 sequences, tunnel, the
     * dissector, the custom feature: 277 names */
    struct wkp_buf want = {0};
    for (size_t i = 0; i < N_OF(base_names); i++) {
        wkp_buf_puts(&want, base_names[i]);
        wkp_buf_putc(&want, ',');
    }
    for (size_t b = 0; b < N_OF(block_names); b++)
        for (size_t s = 0; s < N_OF(stat_names); s++) {
            wkp_buf_puts(&want, "feature.");
            wkp_buf_puts(&want, block_names[b]);
            wkp_buf_putc(&want, '.');
            wkp_buf_puts(&want, stat_names[s]);
            wkp_buf_putc(&want, ',');
        }
    for (size_t i = 0; i < N_OF(scalar_names); i++) {
        wkp_buf_puts(&want, "feature.");
        wkp_buf_puts(&want, scalar_names[i]);
        wkp_buf_putc(&want, ',');
    }
    for (size_t i = 0; i < N_OF(seq_names); i++) {
        wkp_buf_puts(&want, "feature.");
        wkp_buf_puts(&want, seq_names[i]);
        wkp_buf_putc(&want, ',');
    }
    wkp_buf_puts(&want, "tunnel,echo,custom.toy\n");
    wkp_buf_putc(&want, '\0');

    char *got = header(&cfg);
    cr_expect_str_eq(got, want.p);
    cr_expect_eq(cfg.cols->n, 277);
    free(got);
    wkp_buf_free(&want);
    unconfig(&cfg);
}

Test(columns, registry_columns_follow_tunnel)
{
    struct wkp_config cfg;
    /* selected in reverse order: the table's order wins */
    struct wkp_buf pats = {0};
    wkp_buf_puts(&pats, "custom.*");
    for (unsigned i = wkp_ndissectors; i-- > 0;) {
        wkp_buf_putc(&pats, ',');
        wkp_buf_puts(&pats, wkp_dissectors[i]->name);
    }
    wkp_buf_puts(&pats, ",tunnel");
    wkp_buf_putc(&pats, '\0');
    config(&cfg, pats.p, true);
    wkp_buf_free(&pats);
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp__columns_build(&cfg, &err), WKP_OK, "%s", err.msg);
    /* the product's registry, in its order, between tunnel and custom.* */
    struct wkp_buf want = {0};
    wkp_buf_puts(&want, "tunnel,");
    for (unsigned i = 0; i < wkp_ndissectors; i++) {
        wkp_buf_puts(&want, wkp_dissectors[i]->name);
        wkp_buf_putc(&want, ',');
    }
    wkp_buf_puts(&want, "custom.toy\n");
    wkp_buf_putc(&want, '\0');
    char *got = header(&cfg);
    cr_expect_str_eq(got, want.p);
    free(got);
    wkp_buf_free(&want);
    unconfig(&cfg);
}

Test(columns, selection_keeps_table_order_and_drops_sequences)
{
    struct wkp_config cfg;
    /* patterns in any order, a leading space, a glob; sequences off */
    config(&cfg,
           "custom.*,tunnel, key,flow_id,feature.packet_lengths.m*,feature.duration,"
           "feature.iats",
           false);
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp__columns_build_with(&cfg, test_dissectors, 1, &err), WKP_OK, "%s", err.msg);
    char *got = header(&cfg);
    /* m* matches mean, min, max, median (the block's order); feature.iats is
     * a sequence: matched, then left out by --no-sequences */
    cr_expect_str_eq(got, "flow_id,key,feature.packet_lengths.mean,feature.packet_lengths.min,"
                          "feature.packet_lengths.max,feature.packet_lengths.median,"
                          "feature.duration,tunnel,custom.toy\n");
    free(got);
    unconfig(&cfg);
}

Test(columns, field_patterns_select_their_object_column)
{
    struct wkp_config cfg;
    /* 'echo.*' and 'tunnel.stack' name fields of object columns: the whole
     * column is selected; 'echox.*' is no field of echo */
    config(&cfg, "flow_id,echo.*,tunnel.stack", true);
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp__columns_build_with(&cfg, test_dissectors, 1, &err), WKP_OK, "%s", err.msg);
    char *got = header(&cfg);
    cr_expect_str_eq(got, "flow_id,tunnel,echo\n");
    free(got);
    unconfig(&cfg);
    config(&cfg, "echox.*", true);
    cr_expect_eq(wkp__columns_build_with(&cfg, test_dissectors, 1, &err), WKP_EINVAL);
    unconfig(&cfg);
}

Test(columns, pattern_matching_nothing_is_refused)
{
    struct wkp_config cfg;
    config(&cfg, "flow_id,feature.nope*", true);
    wkp_errbuf err = {{0}};
    cr_expect_eq(wkp__columns_build(&cfg, &err), WKP_EINVAL);
    cr_expect_null(cfg.cols);
    cr_expect_str_eq(err.msg, "--columns: 'feature.nope*' matches no column");
    unconfig(&cfg);
    /* a name with a line break: still one line, the break as \n */
    config(&cfg, "flow_id,two\nlines", true);
    cr_expect_eq(wkp__columns_build(&cfg, &err), WKP_EINVAL);
    cr_expect_str_eq(err.msg, "--columns: 'two\\nlines' matches no column");
    unconfig(&cfg);
}

/* ---- one flow in every format ------------------------------------------ */

/* The columns of the row tests: one of each kind. */
#define ROW_COLUMNS                                                                                \
    "flow_id,capture,protocol,src_port,start_time,duration,byte_count,ext_protocol,end_reason,"    \
    "feature.packet_lengths.mean,feature.packet_lengths.max,feature.packet_lengths.count,"         \
    "feature.tcp_flags.mean,feature.packet_count,feature.up_down_pkt_ratio,"                       \
    "feature.packet_lengths,feature.iats,feature.tcp_flags,tunnel,echo,custom.*"

struct fixture {
    struct wkp_config cfg;
    struct wkp_flow f;
    struct wkp_flow_extra x;
    struct wkp_seq seq;
    struct wkp_seq_pool pool;
    struct wkp_flow_stats st;
    struct wkp_l2l4_tun tun;
    uint64_t toy;
    void *app[1];
    char *str[WKP_TXT__COUNT]; /* NUL-terminated copies of the texts */
};

/* A UDP flow of two packets, 10.0.0.1:5353 -> 10.0.0.2:53: 100 bytes up at
 * t = 1 s, 60 bytes down at t = 1.25 s; its first packet had one VLAN tag
 * (100); the echo dissector labelled it "seven". */
static void flow(struct fixture *t)
{
    memset(t, 0, sizeof *t);
    config(&t->cfg, ROW_COLUMNS, true);
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp__columns_build_with(&t->cfg, test_dissectors, 1, &err), WKP_OK, "%s", err.msg);

    struct wkp_flow *f = &t->f;
    f->id = 7;
    f->capture = "cap,1.pcap"; /* a comma: quoted in CSV */
    f->ts_digits = 6;
    f->end_reason = WKP_END_IDLE;
    f->proto = IPPROTO_UDP;
    f->family = 4;
    f->sport = 5353;
    f->dport = 53;
    strcpy(f->src_ip, "10.0.0.1");
    strcpy(f->dst_ip, "10.0.0.2");
    strcpy(f->key, "10.0.0.1:5353 -> 10.0.0.2:53 (UDP)");
    f->start_ns = 1000000000;
    f->end_ns = 1250000000;
    f->pkts[WKP_DIR_BOTH] = 2, f->pkts[WKP_DIR_UP] = 1, f->pkts[WKP_DIR_DOWN] = 1;
    f->bytes[WKP_DIR_BOTH] = 160, f->bytes[WKP_DIR_UP] = 100, f->bytes[WKP_DIR_DOWN] = 60;
    t->tun.stack[0] = WKP_EL_VLAN;
    t->tun.n_stack = 1;
    t->tun.vlan_ids[0] = 100;
    t->tun.n_vlan = 1;
    f->tun = &t->tun;
    strcpy(f->community_id, "1:hand");

    const struct wkp_pkt_rec r[2] = {{.ts_ns = 1000000000, .wire = 100, .dir = 1},
                                     {.ts_ns = 1250000000, .wire = 60, .dir = -1}};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(wkp_seq_append(&t->seq, &t->pool, &r[i]), 0);

    /* packet_lengths: mean (100 + 60) / 2 = 80, max 100, count 2; no
     * tcp_flags block (UDP). Scalars: 2 packets, 1 up / 1 down = 1.0. */
    t->st.present = 1u << WKP_BLK_PACKET_LENGTHS;
    t->st.blk[WKP_BLK_PACKET_LENGTHS].v[WKP_STAT_MEAN] = 80.0;
    t->st.blk[WKP_BLK_PACKET_LENGTHS].v[WKP_STAT_MAX] = 100.0;
    t->st.blk[WKP_BLK_PACKET_LENGTHS].v[WKP_STAT_COUNT] = 2.0;
    t->st.sc.packet_count = 2;
    t->st.sc.total_bytes = 160;
    t->st.sc.up_down_pkt_ratio = 1.0;

    t->toy = 2; /* custom.toy: {"n":2} */
    t->app[0] = "seven";
    t->x = (struct wkp_flow_extra){.seq = &t->seq,
                                   .stats = &t->st,
                                   .custom = &t->cfg.custom,
                                   .custom_block = &t->toy,
                                   .app = t->app,
                                   .app_matched = 1};
}

static void unflow(struct fixture *t)
{
    for (int i = 0; i < WKP_TXT__COUNT; i++) {
        free(t->f.text_buf[i]); /* text[i] is NULL or this buffer */
        free(t->str[i]);
    }
    wkp_seq_release(&t->seq, &t->pool);
    wkp_seq_pool_fini(&t->pool);
    unconfig(&t->cfg);
}

/* The text of format txt for the fixture's flow. */
static const char *text(struct fixture *t, int txt)
{
    struct wkp_buf scratch = {0};
    t->f.text[txt] = NULL;
    cr_assert_eq(wkp__serialize(&t->f, &t->x, &t->cfg, 1u << txt, &scratch), 0);
    wkp_buf_free(&scratch);
    cr_assert_eq(t->f.text[txt], t->f.text_buf[txt], "the text is in the flow's own buffer");
    cr_assert_geq(t->f.text_cap[txt], t->f.text_len[txt]);
    /* NUL-terminate a copy for comparison */
    char *s = realloc(t->str[txt], t->f.text_len[txt] + 1);
    cr_assert_not_null(s);
    memcpy(s, t->f.text[txt], t->f.text_len[txt]);
    s[t->f.text_len[txt]] = '\0';
    t->str[txt] = s;
    return s;
}

Test(columns, csv_row_of_a_hand_built_flow)
{
    struct fixture t;
    flow(&t);
    /* times with 6 decimals (ts_digits 6); doubles as the shortest text
     * that reads back (80.0); lists, objects and the capture name with a
     * comma quoted, their quotes doubled; the absent tcp_flags block and
     * the tcp_flags sequence of a UDP flow are empty cells; iats holds
     * n - 1 = 1 value, 1.25 - 1.0 = 0.250000, and no comma: not quoted */
    cr_expect_str_eq(text(&t, WKP_TXT_CSV),
                     "7,\"cap,1.pcap\",UDP,5353,1.000000,0.250000,160,"
                     "\"[\"\"IPv4\"\",\"\"UDP\"\"]\",idle_timeout,"
                     "80.0,100.0,2,,2,1.0,"
                     "\"[100,-60]\",[0.250000],,"
                     "\"{\"\"stack\"\":[\"\"VLAN\"\"],\"\"vlan_ids\"\":[100]}\","
                     "\"{\"\"label\"\":\"\"seven\"\"}\","
                     "\"{\"\"n\"\":2}\"\n");
    unflow(&t);
}

Test(columns, ndjson_object_of_a_hand_built_flow)
{
    struct fixture t;
    flow(&t);
    /* sequences and statistics under "features" (sequences first), the
     * statistics of a present block in its own object, then the scalars;
     * no key for the absent block or the UDP flow's tcp_flags */
    cr_expect_str_eq(text(&t, WKP_TXT_NDJSON),
                     "{\"flow_id\":7,\"capture\":\"cap,1.pcap\",\"protocol\":\"UDP\","
                     "\"src_port\":5353,\"start_time\":1.000000,\"duration\":0.250000,"
                     "\"byte_count\":160,\"ext_protocol\":[\"IPv4\",\"UDP\"],"
                     "\"end_reason\":\"idle_timeout\","
                     "\"features\":{\"packet_lengths\":[100,-60],\"iats\":[0.250000],"
                     "\"statistics\":{\"packet_lengths\":{\"mean\":80.0,\"max\":100.0,"
                     "\"count\":2},\"packet_count\":2,\"up_down_pkt_ratio\":1.0}},"
                     "\"tunnel\":{\"stack\":[\"VLAN\"],\"vlan_ids\":[100]},"
                     "\"echo\":{\"label\":\"seven\"},\"custom.toy\":{\"n\":2}}\n");
    unflow(&t);
}

Test(columns, json_object_of_a_hand_built_flow)
{
    struct fixture t;
    flow(&t);
    /* an element of the array: two spaces per level, the element at level
     * 1, no newline after it (the sink writes the separators) */
    cr_expect_str_eq(text(&t, WKP_TXT_JSON),
                     "  {\n"
                     "    \"flow_id\": 7,\n"
                     "    \"capture\": \"cap,1.pcap\",\n"
                     "    \"protocol\": \"UDP\",\n"
                     "    \"src_port\": 5353,\n"
                     "    \"start_time\": 1.000000,\n"
                     "    \"duration\": 0.250000,\n"
                     "    \"byte_count\": 160,\n"
                     "    \"ext_protocol\": [\"IPv4\",\"UDP\"],\n"
                     "    \"end_reason\": \"idle_timeout\",\n"
                     "    \"features\": {\n"
                     "      \"packet_lengths\": [100,-60],\n"
                     "      \"iats\": [0.250000],\n"
                     "      \"statistics\": {\n"
                     "        \"packet_lengths\": {\n"
                     "          \"mean\": 80.0,\n"
                     "          \"max\": 100.0,\n"
                     "          \"count\": 2\n"
                     "        },\n"
                     "        \"packet_count\": 2,\n"
                     "        \"up_down_pkt_ratio\": 1.0\n"
                     "      }\n"
                     "    },\n"
                     "    \"tunnel\": {\"stack\":[\"VLAN\"],\"vlan_ids\":[100]},\n"
                     "    \"echo\": {\"label\":\"seven\"},\n"
                     "    \"custom.toy\": {\"n\":2}\n"
                     "  }");
    unflow(&t);
}

Test(columns, absent_protocol_values_are_empty_cells_and_no_keys)
{
    struct fixture t;
    flow(&t);
    t.f.tun = NULL; /* not tunnelled */
    t.x.app = NULL; /* no dissector claimed it */
    const char *csv = text(&t, WKP_TXT_CSV);
    const char *tail = "\"[100,-60]\",[0.250000],,,,\"{\"\"n\"\":2}\"\n";
    cr_assert_geq(strlen(csv), strlen(tail));
    cr_expect_str_eq(csv + strlen(csv) - strlen(tail), tail);
    char *nd = strdup(text(&t, WKP_TXT_NDJSON));
    cr_assert_not_null(nd);
    cr_expect_null(strstr(nd, "\"tunnel\""));
    cr_expect_null(strstr(nd, "\"echo\""));
    cr_expect_not_null(strstr(nd, "\"up_down_pkt_ratio\":1.0}},\"custom.toy\":{\"n\":2}}\n"));

    /* a claimed flow whose dissector has nothing to say: the same */
    void *none[1] = {NULL};
    t.x.app = none;
    cr_expect_str_eq(text(&t, WKP_TXT_NDJSON), nd);
    free(nd);
    unflow(&t);
}

Test(columns, flow_stat_finds_the_table_names)
{
    struct fixture t;
    flow(&t);
    t.f.stats = &t.st;
    cr_expect_eq(wkp_flow_stat(&t.f, "packet_lengths.mean"), 80.0);
    cr_expect_eq(wkp_flow_stat(&t.f, "pkt_max"), 100.0);
    cr_expect_eq(wkp_flow_stat(&t.f, "packet_count"), 2.0);
    cr_expect_eq(wkp_flow_stat(&t.f, "total_bytes"), 160.0);
    cr_expect_eq(wkp_flow_stat(&t.f, "tcp_flags.mean"), 0.0); /* absent block */
    cr_expect(isnan(wkp_flow_stat(&t.f, "packet_lengths.nope")));
    cr_expect(isnan(wkp_flow_stat(&t.f, "nope.mean")));
    cr_expect(isnan(wkp_flow_stat(&t.f, "flow_id"))); /* a column, not a statistic */
    t.f.stats = NULL;
    unflow(&t);
}
