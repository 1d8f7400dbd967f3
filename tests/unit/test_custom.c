/* Custom features: the value writer, the feature set, the per-flow calls,
 * the CSV/JSON fragments and loading a plugin. Expected doubles are
 * Python's repr() of the same value. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "features/custom.h"

/* ---- helpers ------------------------------------------------------------ */

typedef void (*write_fn)(const void *state, wkp_value_writer *w, void *user);

static void no_update(void *state, const wkp_pkt_view *pkt, void *user)
{
    (void)state, (void)pkt, (void)user;
}

/* The JSON text a write callback produces, through wkp_custom_write_json
 * (compact): the ,"custom.v": prefix is checked and stripped. Caller frees. */
static char *value_of(write_fn write)
{
    struct wkp_custom_set s = {0};
    wkp_feature_def def = {.name = "v", .update = no_update, .write = write};
    cr_assert_eq(wkp_custom_add(&s, &def), WKP_OK);
    _Alignas(16) unsigned char block[16];
    wkp_custom_init(&s, block);
    struct wkp_buf b = {0};
    wkp_custom_write_json(&s, block, &b, 0, 0);
    wkp_custom_free(&s);
    cr_assert(!b.oom);
    const char *prefix = ",\"custom.v\":";
    cr_assert(b.len >= strlen(prefix) && memcmp(b.p, prefix, strlen(prefix)) == 0);
    size_t n = b.len - strlen(prefix);
    char *out = malloc(n + 1);
    memcpy(out, b.p + strlen(prefix), n);
    out[n] = 0;
    wkp_buf_free(&b);
    return out;
}

#define EXPECT_VALUE(fn, text)                                                                     \
    do {                                                                                           \
        char *got_ = value_of(fn);                                                                 \
        cr_expect_str_eq(got_, text);                                                              \
        free(got_);                                                                                \
    } while (0)

/* ---- value writer: well-formed values ------------------------------------ */

static void w_nested(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_object_begin(w);
    wkp_write_key(w, "a");
    wkp_write_list_begin(w);
    wkp_write_int(w, 1);
    wkp_write_int(w, -2);
    wkp_write_list_begin(w);
    wkp_write_list_end(w);
    wkp_write_object_begin(w);
    wkp_write_object_end(w);
    wkp_write_null(w);
    wkp_write_list_end(w);
    wkp_write_key(w, "b");
    wkp_write_object_begin(w);
    wkp_write_key(w, "c");
    wkp_write_string(w, "x");
    wkp_write_key(w, "d");
    wkp_write_list_begin(w);
    wkp_write_list_begin(w);
    wkp_write_int(w, 3);
    wkp_write_list_end(w);
    wkp_write_list_end(w);
    wkp_write_object_end(w);
    wkp_write_key(w, "e");
    wkp_write_int(w, INT64_MIN);
    wkp_write_object_end(w);
}

Test(custom, writer_nests_lists_and_objects_with_commas)
{
    EXPECT_VALUE(w_nested, "{\"a\":[1,-2,[],{},null],\"b\":{\"c\":\"x\",\"d\":[[3]]},"
                           "\"e\":-9223372036854775808}");
}

static void w_escapes(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_object_begin(w);
    wkp_write_key(w, "k\"\\");
    wkp_write_string(w, "q\"b\\n\nt\t\x01\xc3\xa9");
    wkp_write_key(w, "nul");
    wkp_write_string(w, NULL);
    wkp_write_object_end(w);
}

Test(custom, writer_escapes_keys_and_strings)
{
    /* buf.h: " and \ backslashed, control bytes as \u00XX, UTF-8 passes. */
    EXPECT_VALUE(w_escapes,
                 "{\"k\\\"\\\\\":\"q\\\"b\\\\n\\u000at\\u0009\\u0001\xc3\xa9\",\"nul\":null}");
}

static const double doubles[] = {1292.0,
                                 0.1,
                                 1.5e-05,
                                 1e16,
                                 1e15,
                                 0.0001,
                                 -0.0,
                                 1.0 / 3.0,
                                 5e-324,
                                 1.7976931348623157e308,
                                 123456789.123,
                                 0.1 + 0.2,
                                 -1.5,
                                 1e22,
                                 0.001234,
                                 12345678901234567890.0,
                                 9007199254740993.0};
/* python3 -c 'print(repr(v))' for each of the above */
static const char doubles_text[] =
    "[1292.0,0.1,1.5e-05,1e+16,1000000000000000.0,0.0001,-0.0,0.3333333333333333,5e-324,"
    "1.7976931348623157e+308,123456789.123,0.30000000000000004,-1.5,1e+22,0.001234,"
    "1.2345678901234567e+19,9007199254740992.0]";

static void w_doubles(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_list_begin(w);
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++)
        wkp_write_double(w, doubles[i]);
    wkp_write_list_end(w);
}

Test(custom, writer_doubles_are_shortest_python_repr)
{
    EXPECT_VALUE(w_doubles, doubles_text);
}

static void w_nonfinite(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_list_begin(w);
    wkp_write_double(w, NAN);
    wkp_write_double(w, INFINITY);
    wkp_write_double(w, -INFINITY);
    wkp_write_double(w, 2.0);
    wkp_write_list_end(w);
}

Test(custom, writer_nan_and_inf_become_null)
{
    EXPECT_VALUE(w_nonfinite, "[null,null,null,2.0]");
}

static void w_scalar_nan(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_double(w, NAN);
}

static void w_scalar_int(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_int(w, 42);
}

Test(custom, writer_top_level_scalars)
{
    EXPECT_VALUE(w_scalar_nan, "null");
    EXPECT_VALUE(w_scalar_int, "42");
}

/* ---- value writer: misuse ------------------------------------------------ */

static void w_nothing(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)w, (void)u;
}

static void w_key_outside(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_key(w, "a");
    wkp_write_int(w, 1);
}

static void w_key_in_list(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_list_begin(w);
    wkp_write_key(w, "a");
    wkp_write_int(w, 1);
    wkp_write_list_end(w);
}

static void w_end_without_begin(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_list_end(w);
    wkp_write_object_end(w);
}

static void w_two_values_one_key(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_object_begin(w);
    wkp_write_key(w, "a");
    wkp_write_int(w, 1);
    wkp_write_int(w, 2);
    wkp_write_object_end(w);
}

static void w_two_keys(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_object_begin(w);
    wkp_write_key(w, "a");
    wkp_write_key(w, "b");
    wkp_write_int(w, 2);
    wkp_write_object_end(w);
}

static void w_key_without_value(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_object_begin(w);
    wkp_write_key(w, "a");
    wkp_write_object_end(w);
}

static void w_mismatched_end(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_list_begin(w);
    wkp_write_object_end(w);
}

static void w_unclosed(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_list_begin(w);
    wkp_write_int(w, 1);
}

static void w_two_top_values(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_int(w, 1);
    wkp_write_int(w, 2);
}

static void w_null_key(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_object_begin(w);
    wkp_write_key(w, NULL);
    wkp_write_int(w, 1);
    wkp_write_object_end(w);
}

static void w_depth(wkp_value_writer *w, int levels)
{
    for (int i = 0; i < levels; i++)
        wkp_write_list_begin(w);
    for (int i = 0; i < levels; i++)
        wkp_write_list_end(w);
}
static void w_depth32(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    w_depth(w, 32);
}
static void w_depth33(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    w_depth(w, 33);
}

Test(custom, writer_misuse_gives_null)
{
    EXPECT_VALUE(w_nothing, "null");
    EXPECT_VALUE(w_key_outside, "null");
    EXPECT_VALUE(w_key_in_list, "null");
    EXPECT_VALUE(w_end_without_begin, "null");
    EXPECT_VALUE(w_two_values_one_key, "null");
    EXPECT_VALUE(w_two_keys, "null");
    EXPECT_VALUE(w_key_without_value, "null");
    EXPECT_VALUE(w_mismatched_end, "null");
    EXPECT_VALUE(w_unclosed, "null");
    EXPECT_VALUE(w_two_top_values, "null");
    EXPECT_VALUE(w_null_key, "null");
    EXPECT_VALUE(w_depth33, "null");
}

Test(custom, writer_allows_32_levels)
{
    char want[65];
    memset(want, '[', 32);
    memset(want + 32, ']', 32);
    want[64] = 0;
    EXPECT_VALUE(w_depth32, want);
}

Test(custom, writer_ignores_null_writer)
{
    wkp_write_int(NULL, 1);
    wkp_write_double(NULL, 1.0);
    wkp_write_string(NULL, "x");
    wkp_write_null(NULL);
    wkp_write_list_begin(NULL);
    wkp_write_list_end(NULL);
    wkp_write_object_begin(NULL);
    wkp_write_key(NULL, "k");
    wkp_write_object_end(NULL);
}

/* ---- the feature set ----------------------------------------------------- */

static void write_one(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_int(w, 1);
}

static void write_two(const void *st, wkp_value_writer *w, void *u)
{
    (void)st, (void)u;
    wkp_write_int(w, 2);
}

Test(custom, set_lays_out_16_byte_aligned_slices)
{
    struct wkp_custom_set s = {0};
    size_t sizes[] = {1, 17, 0, 32, 16};
    const char *names[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        wkp_feature_def def = {
            .name = names[i], .state_size = sizes[i], .update = no_update, .write = write_one};
        cr_assert_eq(wkp_custom_add(&s, &def), WKP_OK);
    }
    /* rounded up to 16: 16, 32, 0, 32, 16 */
    size_t want[] = {0, 16, 48, 48, 80};
    cr_assert_eq(s.n, 5);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(s.v[i].offset, want[i], "%s at %zu", names[i], s.v[i].offset);
        cr_expect_eq(s.v[i].offset % 16, 0);
    }
    cr_expect_eq(s.state_size, 96);
    wkp_custom_free(&s);
    cr_expect_eq(s.n, 0);
    cr_expect_null(s.v);
}

Test(custom, set_replaces_same_name_in_place)
{
    struct wkp_custom_set s = {0};
    wkp_feature_def a = {.name = "a", .state_size = 8, .update = no_update, .write = write_one};
    wkp_feature_def b = {.name = "b", .state_size = 8, .update = no_update, .write = write_one};
    cr_assert_eq(wkp_custom_add(&s, &a), WKP_OK);
    cr_assert_eq(wkp_custom_add(&s, &b), WKP_OK);
    wkp_feature_def a2 = {.name = "a", .state_size = 40, .update = no_update, .write = write_two};
    cr_assert_eq(wkp_custom_add(&s, &a2), WKP_OK);
    cr_assert_eq(s.n, 2);
    cr_expect_str_eq(s.v[0].name, "a");
    cr_expect_str_eq(s.v[1].name, "b");
    cr_expect_eq(s.v[0].def.write, write_two);
    cr_expect_eq(s.v[1].offset, 48); /* 40 rounds to 48 */
    cr_expect_eq(s.state_size, 64);
    wkp_custom_free(&s);
}

Test(custom, set_copies_names_and_deep_copies)
{
    char name[] = "feat";
    struct wkp_custom_set s = {0}, c;
    wkp_feature_def d = {.name = name, .state_size = 4, .update = no_update, .write = write_one};
    cr_assert_eq(wkp_custom_add(&s, &d), WKP_OK);
    name[0] = 'X'; /* the set holds its own copy */
    cr_expect_str_eq(s.v[0].name, "feat");
    cr_expect_eq(s.v[0].def.name, s.v[0].name);
    cr_assert_eq(wkp_custom_copy(&c, &s), WKP_OK);
    wkp_custom_free(&s);
    cr_assert_eq(c.n, 1);
    cr_expect_str_eq(c.v[0].name, "feat");
    cr_expect_eq(c.v[0].def.name, c.v[0].name);
    cr_expect_eq(c.state_size, 16);
    wkp_custom_free(&c);
}

Test(custom, set_rejects_bad_definitions)
{
    struct wkp_custom_set s = {0};
    const char *bad_names[] = {"", "a-b", "a b", "é", "x.y", NULL};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        wkp_feature_def d = {.name = bad_names[i], .update = no_update, .write = write_one};
        cr_expect_eq(wkp_custom_add(&s, &d), WKP_EINVAL, "name %zu", i);
    }
    wkp_feature_def big = {
        .name = "big", .state_size = (64 << 10) + 1, .update = no_update, .write = write_one};
    cr_expect_eq(wkp_custom_add(&s, &big), WKP_EINVAL);
    big.state_size = 64 << 10;
    cr_expect_eq(wkp_custom_add(&s, &big), WKP_OK);
    wkp_feature_def no_upd = {.name = "u", .write = write_one};
    cr_expect_eq(wkp_custom_add(&s, &no_upd), WKP_EINVAL);
    wkp_feature_def no_wr = {.name = "w", .update = no_update};
    cr_expect_eq(wkp_custom_add(&s, &no_wr), WKP_EINVAL);
    cr_expect_eq(wkp_custom_add(&s, NULL), WKP_EINVAL);
    cr_expect_eq(s.n, 1);
    wkp_custom_free(&s);
}

Test(custom, config_add_feature_forwards_to_the_set)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    wkp_feature_def d = {.name = "A_1", .update = no_update, .write = write_one};
    cr_expect_eq(wkp_config_add_feature(cfg, &d), WKP_OK);
    d.name = "bad name";
    cr_expect_eq(wkp_config_add_feature(cfg, &d), WKP_EINVAL);
    cr_expect_eq(wkp_config_add_feature(NULL, &d), WKP_EINVAL);
    cr_expect_eq(cfg->custom.n, 1);
    cr_expect_str_eq(cfg->custom.v[0].name, "A_1");
    wkp_config_free(cfg);
}

/* ---- per-flow calls on a toy feature -------------------------------------- */

/* Counts packets and payload bytes; init and finish leave marks so the test
 * sees they ran once, in order, on a zeroed block. */
struct toy {
    int64_t packets, bytes, up;
    int inited, finished;
};

static void toy_init(void *st, void *user)
{
    struct toy *t = st;
    cr_expect_eq(t->packets, 0); /* zeroed before init */
    t->inited++;
    (*(int *)user)++;
}

static void toy_update(void *st, const wkp_pkt_view *p, void *user)
{
    struct toy *t = st;
    cr_expect_eq(t->inited, 1);
    cr_expect_eq((uint64_t)t->packets, p->index);
    t->packets++;
    t->bytes += p->payload_len;
    t->up += p->dir > 0;
    (*(int *)user)++;
}

static void toy_finish(void *st, void *user)
{
    struct toy *t = st;
    t->finished++;
    (*(int *)user)++;
}

static void toy_write(const void *st, wkp_value_writer *w, void *user)
{
    (void)user;
    const struct toy *t = st;
    wkp_write_object_begin(w);
    wkp_write_key(w, "packets");
    wkp_write_int(w, t->packets);
    wkp_write_key(w, "bytes");
    wkp_write_int(w, t->bytes);
    wkp_write_key(w, "up_share");
    wkp_write_double(w, t->packets ? (double)t->up / (double)t->packets : NAN);
    wkp_write_key(w, "done");
    wkp_write_list_begin(w);
    wkp_write_int(w, t->inited);
    wkp_write_int(w, t->finished);
    wkp_write_list_end(w);
    wkp_write_object_end(w);
}

static void str_write(const void *st, wkp_value_writer *w, void *user)
{
    (void)st, (void)user;
    wkp_write_string(w, "say \"hi\"");
}

static void num_write(const void *st, wkp_value_writer *w, void *user)
{
    (void)user;
    wkp_write_double(w, (double)((const struct toy *)st)->packets * 0.5);
}

static int calls;

static void toy_set(struct wkp_custom_set *s)
{
    memset(s, 0, sizeof *s);
    wkp_feature_def toy = {.name = "toy",
                           .state_size = sizeof(struct toy),
                           .init = toy_init,
                           .update = toy_update,
                           .finish = toy_finish,
                           .write = toy_write,
                           .user = &calls};
    wkp_feature_def num = {.name = "half",
                           .state_size = sizeof(struct toy),
                           .init = toy_init,
                           .update = toy_update,
                           .write = num_write,
                           .user = &calls};
    wkp_feature_def str = {.name = "str", .update = no_update, .write = str_write};
    wkp_feature_def none = {.name = "none", .update = no_update, .write = w_nothing};
    cr_assert_eq(wkp_custom_add(s, &toy), WKP_OK);
    cr_assert_eq(wkp_custom_add(s, &num), WKP_OK);
    cr_assert_eq(wkp_custom_add(s, &str), WKP_OK);
    cr_assert_eq(wkp_custom_add(s, &none), WKP_OK);
}

/* Three packets: up 10 bytes, down 0 bytes (no payload), up 25 bytes. */
static void run_toy_flow(const struct wkp_custom_set *s, void *block)
{
    static const uint8_t payload[25];
    wkp_pkt_view p[3];
    memset(p, 0, sizeof p);
    uint32_t lens[3] = {10, 0, 25};
    int dirs[3] = {1, -1, 1};
    wkp_custom_init(s, block);
    for (int i = 0; i < 3; i++) {
        p[i].index = (uint64_t)i;
        p[i].dir = dirs[i];
        p[i].payload = lens[i] ? payload : NULL;
        p[i].payload_len = lens[i];
        p[i].app_len = lens[i];
        wkp_custom_update(s, block, &p[i]);
    }
    wkp_custom_finish(s, block);
}

Test(custom, flow_calls_and_json_fragment)
{
    struct wkp_custom_set s;
    toy_set(&s);
    void *block = aligned_alloc(16, s.state_size);
    cr_assert_not_null(block);
    memset(block, 0xa5, s.state_size); /* init must zero it */
    calls = 0;
    run_toy_flow(&s, block);
    /* toy: 1 init + 3 updates + 1 finish; half: 1 init + 3 updates */
    cr_expect_eq(calls, 9);

    struct wkp_buf b = {0};
    wkp_custom_write_json(&s, block, &b, 0, 0);
    wkp_buf_putc(&b, 0);
    /* packets 3, bytes 10+0+25 = 35, up share 2/3, half 3*0.5 = 1.5 */
    cr_expect_str_eq(b.p, ",\"custom.toy\":{\"packets\":3,\"bytes\":35,"
                          "\"up_share\":0.6666666666666666,\"done\":[1,1]},"
                          "\"custom.half\":1.5,\"custom.str\":\"say \\\"hi\\\"\","
                          "\"custom.none\":null");

    b.len = 0;
    wkp_custom_write_json(&s, block, &b, 1, 4);
    wkp_buf_putc(&b, 0);
    cr_expect_str_eq(b.p, ",\n    \"custom.toy\": {\"packets\":3,\"bytes\":35,"
                          "\"up_share\":0.6666666666666666,\"done\":[1,1]},"
                          "\n    \"custom.half\": 1.5,\n    \"custom.str\": \"say \\\"hi\\\"\","
                          "\n    \"custom.none\": null");
    wkp_buf_free(&b);
    free(block);
    wkp_custom_free(&s);
}

Test(custom, flow_csv_cells)
{
    struct wkp_custom_set s;
    toy_set(&s);
    void *block = aligned_alloc(16, s.state_size);
    cr_assert_not_null(block);
    run_toy_flow(&s, block);

    /* Text before the cells must survive the in-place quoting. */
    struct wkp_buf b = {0};
    wkp_buf_puts(&b, "7");
    for (size_t i = 0; i < s.n; i++) {
        wkp_buf_putc(&b, ',');
        wkp_custom_write_csv_one(&s, i, block, &b);
    }
    wkp_buf_putc(&b, 0);
    /* a cell with , or " is quoted with "" for "; a bare number is not;
     * a null value is an empty cell (docs/output.md: no value is an empty cell) */
    cr_expect_str_eq(b.p, "7,\"{\"\"packets\"\":3,\"\"bytes\"\":35,"
                          "\"\"up_share\"\":0.6666666666666666,\"\"done\"\":[1,1]}\","
                          "1.5,\"\"\"say \\\"\"hi\\\"\"\"\"\",");
    wkp_buf_free(&b);
    free(block);
    wkp_custom_free(&s);
}

Test(custom, empty_set_writes_nothing)
{
    struct wkp_custom_set s = {0};
    struct wkp_buf b = {0};
    wkp_custom_init(&s, NULL);
    wkp_custom_finish(&s, NULL);
    wkp_custom_write_json(&s, NULL, &b, 1, 4);
    cr_expect_eq(b.len, 0);
    wkp_buf_free(&b);
}

/* ---- plugins ---------------------------------------------------------------- */

Test(custom, plugin_missing_file_names_it)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    wkp_errbuf err = {{0}};
    cr_expect_eq(wkp_config_load_plugin(cfg, "/nonexistent/dir/plug.so", &err), WKP_EIO);
    const char *want = "/nonexistent/dir/plug.so: cannot open plugin: ";
    cr_expect(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    cr_expect(strstr(err.msg, "No such file") != NULL, "%s", err.msg);
    cr_expect_null(strchr(err.msg, '\n'));
    cr_expect_eq(wkp_config_load_plugin(cfg, "/nonexistent/dir/plug.so", NULL), WKP_EIO);
    cr_expect_eq(cfg->custom.n, 0);
    wkp_config_free(cfg);
}

Test(custom, plugin_path_with_a_line_break_gives_one_line)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    wkp_errbuf err = {{0}};
    cr_expect_eq(wkp_config_load_plugin(cfg, "/nonexistent-dir/two\nlines.so", &err), WKP_EIO);
    /* glibc's dlerror() after the path: "cannot open shared object file: "
     * and the errno text */
    char want[256];
    snprintf(want, sizeof want,
             "/nonexistent-dir/two\\nlines.so: cannot open plugin: cannot open shared object "
             "file: %s",
             strerror(ENOENT));
    cr_expect_str_eq(err.msg, want);
    wkp_config_free(cfg);
}

Test(custom, plugin_without_entry_point_is_refused)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    wkp_errbuf err = {{0}};
    /* glibc's libm: a real shared object with no wkp_plugin_register */
    cr_expect_eq(wkp_config_load_plugin(cfg, "libm.so.6", &err), WKP_EINVAL);
    cr_expect_str_eq(err.msg, "libm.so.6: no entry point wkp_plugin_register");
    cr_expect_eq(cfg->custom.n, 0);
    wkp_config_free(cfg);
}

/* A plugin of another plugin API is refused before its entry runs (it
 * would return 7: "returned 7"), and the config keeps no feature. */
static void expect_refused(const char *path, const char *why)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    wkp_errbuf err = {{0}};
    cr_expect_eq(wkp_config_load_plugin(cfg, path, &err), WKP_EINVAL);
    char want[512];
    snprintf(want, sizeof want, "%s: refused: %s", path, why);
    cr_expect_str_eq(err.msg, want);
    cr_expect_eq(cfg->custom.n, 0);
    wkp_config_free(cfg);
}

Test(custom, plugin_without_api_version_is_refused)
{
    expect_refused(WKP_PLUGIN_NOAPI, "no wkp_plugin_api_version (plugin API 1): declare "
                                     "WKP_PLUGIN_DECLARE_API and rebuild against this wa1kpcap.h");
}

Test(custom, plugin_of_another_api_version_is_refused)
{
    expect_refused(WKP_PLUGIN_API99, "built for plugin API 99, this library speaks 1: rebuild it "
                                     "against this wa1kpcap.h");
}

Test(custom, feature_struct_size_is_checked)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    wkp_feature_def d = {.name = "s", .update = no_update, .write = write_one};
    cr_expect_eq(wkp_config_add_feature(cfg, &d), WKP_OK); /* 0: this layout */
    d.struct_size = sizeof d;
    cr_expect_eq(wkp_config_add_feature(cfg, &d), WKP_OK);
    d.struct_size = sizeof d + 8; /* a later header's */
    cr_expect_eq(wkp_config_add_feature(cfg, &d), WKP_EINVAL);
    d.struct_size = sizeof d - 8;
    cr_expect_eq(wkp_config_add_feature(cfg, &d), WKP_EINVAL);
    cr_expect_eq(cfg->custom.n, 1);
    wkp_config_free(cfg);
}

#ifdef WKP_ENTROPY_PLUGIN

static wkp_config *entropy_config(void)
{
    wkp_config *cfg;
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_config_load_plugin(cfg, WKP_ENTROPY_PLUGIN, &err), WKP_OK, "%s", err.msg);
    cr_assert_eq(cfg->custom.n, 1);
    cr_assert_str_eq(cfg->custom.v[0].name, "payload_entropy");
    return cfg;
}

/* The entropy feature's JSON value over packets with the given payloads
 * (NULL: a packet without payload). */
static void expect_entropy(const uint8_t *const *payloads, const uint32_t *lens, int n,
                           const char *want)
{
    wkp_config *cfg = entropy_config();
    const struct wkp_custom_set *s = &cfg->custom;
    _Alignas(16) unsigned char block[64];
    cr_assert(s->state_size <= sizeof block);
    wkp_custom_init(s, block);
    for (int i = 0; i < n; i++) {
        wkp_pkt_view p;
        memset(&p, 0, sizeof p);
        p.index = (uint64_t)i;
        p.dir = 1;
        p.payload = payloads[i];
        p.payload_len = lens[i];
        wkp_custom_update(s, block, &p);
    }
    wkp_custom_finish(s, block);
    struct wkp_buf b = {0};
    wkp_custom_write_json(s, block, &b, 0, 0);
    wkp_buf_putc(&b, 0);
    cr_expect_str_eq(b.p, want);
    wkp_buf_free(&b);
    wkp_config_free(cfg);
}

static uint8_t all_bytes[256], aaaa[4], abab[100];

static void fill_payloads(void)
{
    for (int i = 0; i < 256; i++)
        all_bytes[i] = (uint8_t)i;
    memset(aaaa, 'a', sizeof aaaa);
    for (int i = 0; i < 100; i++)
        abab[i] = i % 2 ? 'b' : 'a';
}

Test(custom, plugin_entropy_of_hand_made_payloads, .init = fill_payloads)
{
    /* 256 distinct bytes: 256 * (1/256 * 8) = 8; "aaaa": 1 * log2 1 = 0;
     * "ab" * 50: 2 * (1/2 * 1) = 1. */
    const uint8_t *p1[] = {all_bytes};
    uint32_t l1[] = {256};
    expect_entropy(p1, l1, 1, ",\"custom.payload_entropy\":{\"mean\":8.0,\"packets\":1}");
    const uint8_t *p2[] = {aaaa};
    uint32_t l2[] = {4};
    expect_entropy(p2, l2, 1, ",\"custom.payload_entropy\":{\"mean\":0.0,\"packets\":1}");
    const uint8_t *p3[] = {abab};
    uint32_t l3[] = {100};
    expect_entropy(p3, l3, 1, ",\"custom.payload_entropy\":{\"mean\":1.0,\"packets\":1}");
    /* Packets without payload are skipped: (8 + 0 + 1) / 3 = 3. */
    const uint8_t *p4[] = {all_bytes, NULL, aaaa, abab, abab};
    uint32_t l4[] = {256, 0, 4, 100, 0};
    expect_entropy(p4, l4, 5, ",\"custom.payload_entropy\":{\"mean\":3.0,\"packets\":3}");
}

Test(custom, plugin_entropy_without_payload_is_null_mean)
{
    const uint8_t *p[] = {NULL, NULL};
    uint32_t l[] = {0, 0};
    expect_entropy(p, l, 2, ",\"custom.payload_entropy\":{\"mean\":null,\"packets\":0}");
    expect_entropy(p, l, 0, ",\"custom.payload_entropy\":{\"mean\":null,\"packets\":0}");
}

Test(custom, plugin_loaded_twice_replaces_itself)
{
    wkp_config *cfg = entropy_config();
    wkp_errbuf err = {{0}};
    cr_expect_eq(wkp_config_load_plugin(cfg, WKP_ENTROPY_PLUGIN, &err), WKP_OK, "%s", err.msg);
    cr_expect_eq(cfg->custom.n, 1);
    wkp_config_free(cfg);
}

#endif
