/* User protocols: the loader's errors (file:line:column), every field
 * type on hand-made payloads, next-protocol selection, the flow merge and
 * the C API. Expected values are computed by hand in the comments. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/columns.h"
#include "engine/internal.h"
#include "userproto/userproto.h"

/* ---- helpers ------------------------------------------------------------ */

static struct wkp_up_set *load(const char *const *texts, size_t n, const struct wkp_up_route *r,
                               size_t nr)
{
    const char *names[8] = {"a.yaml", "b.yaml", "c.yaml", "d.yaml",
                            "e.yaml", "f.yaml", "g.yaml", "h.yaml"};
    struct wkp_up_set *s = NULL;
    char err[512];
    int rc = wkp_up_load_texts(names, texts, n, r, nr, &s, err, sizeof err);
    cr_assert_eq(rc, 0, "load failed: %s", err);
    return s;
}

/* The load error of texts (a.yaml, b.yaml, ...). */
static void load_error(const char *const *texts, size_t n, const struct wkp_up_route *r, size_t nr,
                       const char *want)
{
    const char *names[4] = {"a.yaml", "b.yaml", "c.yaml", "d.yaml"};
    struct wkp_up_set *s = NULL;
    char err[512];
    int rc = wkp_up_load_texts(names, texts, n, r, nr, &s, err, sizeof err);
    cr_assert_eq(rc, -1, "loaded, expected: %s", want);
    cr_assert_null(s);
    cr_assert_str_eq(err, want);
}

static struct wkp_up_rec rec;

/* Parse payload as protocol "p" of the texts; the JSON object of protocol
 * `show` after merging the one packet into a fresh flow. Caller frees. */
static char *parse_show(const char *const *texts, size_t n, const uint8_t *pl, uint32_t len,
                        const char *show, unsigned *layers)
{
    struct wkp_up_set *s = load(texts, n, NULL, 0);
    cr_assert_eq(wkp_up_rec_init(s, &rec), 0);
    int p = wkp_up_find(s, "p");
    cr_assert_geq(p, 0);
    unsigned nl = wkp_up_parse(s, (unsigned)p, pl, len, &rec);
    if (layers)
        *layers = nl;
    static struct wkp_up_flow f;
    memset(&f, 0, sizeof f);
    wkp_up_flow_merge(&f, &rec);
    struct wkp_buf b = {0};
    wkp_up_flow_write(s, &f, (unsigned)wkp_up_find(s, show), &b);
    wkp_buf_putc(&b, '\0');
    char *out = strdup(b.p);
    wkp_buf_free(&b);
    wkp_up_rec_fini(&rec);
    wkp_up_free(s);
    return out;
}

static void expect(const char *yaml, const uint8_t *pl, uint32_t len, const char *want)
{
    const char *t[1] = {yaml};
    char *got = parse_show(t, 1, pl, len, "p", NULL);
    cr_assert_str_eq(got, want);
    free(got);
}

static const char beacon[] =
    "name: p\n"
    "fields:\n"
    "  - {name: magic, type: fixed, size: 2, format: uint}\n"
    "  - name: ver_flags\n"
    "    type: bitfield\n"
    "    group_size: 1\n"
    "    fields: [{name: version, bits: 4}, {name: urgent, bits: 1}, {name: reserved, bits: 3}]\n"
    "  - {name: seq, type: fixed, size: 4, format: uint, endian: little}\n"
    "  - {name: host, type: length_prefixed, length_size: 1, format: string}\n"
    "  - {name: body_len, type: computed, expression: \"seq * 2 + (magic - 1) / 3\"}\n"
    "  - {name: body, type: rest}\n";
static const uint8_t beacon_pl[] = {0xbe, 0xef, 0x38, 0x07, 0,   0,   0,   0x04, 'n',
                                    'o',  'd',  'e',  'h',  'e', 'l', 'l', 'o'};

/* ---- load errors ---------------------------------------------------------- */

struct bad {
    const char *a, *b; /* a.yaml, and b.yaml if not NULL */
    const char *want;
};

/* Columns count from 1 at the line's first character: in
 * "  - {name: a, type: fixed, sise: 2}" the key sise starts at column 28. */
static const struct bad bad_files[] = {
    {"name: p\nfields:\n  - {name: a, type: fixed, sise: 2}\n", NULL,
     "a.yaml:3:28: fixed field: unknown key 'sise'"},
    {"name: p\nfields:\n  - {name: a, type: fixd, size: 2}\n", NULL,
     "a.yaml:3:21: unknown field type 'fixd'"},
    /* a type with line breaks in it: one line, each break written as \n */
    {"name: p\nfields:\n  - {name: a, type: \"fi\\nx\\nd\", size: 2}\n", NULL,
     "a.yaml:3:21: unknown field type 'fi\\nx\\nd'"},
    {"name: p\nfields:\n  - {name: a, type: fixed, size: 2, format: ascii}\n", NULL,
     "a.yaml:3:45: unknown format 'ascii' (one of uint, int, ipv4, ipv6, mac, bytes, hex)"},
    {"name: p\nfields:\n  - {name: a, type: length_prefixed, length_size: 1, format: hex}\n", NULL,
     "a.yaml:3:62: unknown format 'hex' (one of bytes, string, none)"},
    {"name: p\nfields:\n  - {name: a, type: fixed}\n", NULL,
     "a.yaml:3:5: fixed field: missing required key 'size'"},
    {"name: p\nfields:\n  - {type: rest}\n", NULL,
     "a.yaml:3:5: rest field: missing required key 'name'"},
    {"name: p\n", NULL, "a.yaml:1:1: protocol: missing required key 'fields'"},
    {"name: p\ncolour: red\nfields: []\n", NULL, "a.yaml:2:1: protocol: unknown key 'colour'"},
    {"name: p\nname: q\nfields: []\n", NULL, "a.yaml:2:1: protocol: duplicate key 'name'"},
    {"name: p\nfields: []\n", "name: p\nfields: []\n",
     "b.yaml:1:7: protocol 'p' is already defined in a.yaml"},
    /* p -> q by mapping, q -> p by default: reported at q's next_protocol */
    {"name: p\nfields:\n  - {name: a, type: fixed, size: 1}\nnext_protocol:\n  field: a\n"
     "  mapping: {1: q}\n",
     "name: q\nfields: []\nnext_protocol:\n  default: p\n",
     "b.yaml:4:3: routing cycle: p -> q -> p"},
    {"name: p\nfields:\n  - {name: a, type: computed, expression: \"1 + * 2\"}\n", NULL,
     "a.yaml:3:43: expression \"1 + * 2\": unexpected character at character 5"},
    {"name: p\nfields:\n  - {name: a, type: computed, expression: \"(a + 1\"}\n", NULL,
     "a.yaml:3:43: expression \"(a + 1\": expected ')' at character 7"},
    {"name: p\nfields:\n\t- {name: a}\n", NULL,
     "a.yaml:3:1: found character that cannot start any token while scanning for the next token"},
    {"name: p\nfields:\n  - {name: a, type: repeat, sub_protocol: nope}\n", NULL,
     "a.yaml:3:43: no protocol named 'nope'"},
    {"name: p\nfields:\n  - {name: a, type: repeat, sub_protocol: p}\n", NULL,
     "a.yaml:3:43: sub-protocol cycle: 'p' contains itself"},
    /* 5 + 4 bits in a 1-byte group */
    {"name: p\nfields:\n  - name: a\n    type: bitfield\n    group_size: 1\n"
     "    fields: [{name: x, bits: 5}, {name: y, bits: 4}]\n",
     NULL, "a.yaml:6:34: bitfield: 9 bits do not fit in 1 bytes"},
    {"name: p\nfields:\n  - {name: a, type: fixed, size: 9}\n", NULL,
     "a.yaml:3:34: size: 9 is out of range 1..8"},
    {"name: p\nfields:\n  - {name: a, type: hardcoded, parser: dns_label}\n", NULL,
     "a.yaml:3:40: unknown parser 'dns_label' (one of dns_name, bsd_loopback_af, nflog_payload)"},
    {"", NULL, "a.yaml: empty file: expected a protocol definition"},
    /* p's typed list holds q's, q's holds p's: names grow p.q.p... until the depth cap */
    {"name: p\nfields:\n  - {name: l, type: prefixed_list, list_length_size: 1, "
     "item_length_size: 1, type_size: 1, type_mapping: {1: q}}\n",
     "name: q\nfields:\n  - {name: l, type: prefixed_list, list_length_size: 1, "
     "item_length_size: 1, type_size: 1, type_mapping: {1: p}}\n",
     "b.yaml:3:110: sub-protocols nest more than 16 deep at 'p'"},
    {"name: p\nfields:\n  - {name: a, type: fixed, size: 1}\nnext_protocol:\n  mapping: {1: p}\n",
     NULL, "a.yaml:5:12: next_protocol: a mapping needs a field"},
    {"name: p\nfields:\n  - {name: a, type: fixed, size: 1}\nnext_protocol:\n  field: a\n"
     "  mapping: {0x1g: p}\n",
     NULL, "a.yaml:6:13: mapping: expected an integer (decimal or 0x)"},
};

Test(userproto, bad_files_name_file_line_column)
{
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        const char *t[2] = {bad_files[i].a, bad_files[i].b};
        load_error(t, bad_files[i].b ? 2 : 1, NULL, 0, bad_files[i].want);
    }
}

Test(userproto, bad_routes_are_load_errors)
{
    const char *t[1] = {beacon};
    struct wkp_up_route r1 = {"udp", 9999, "nope"};
    load_error(t, 1, &r1, 1, "route udp:9999=nope: no protocol of that name is loaded");
    struct wkp_up_route r2 = {"udp", 70000, "p"};
    load_error(t, 1, &r2, 1, "route udp:70000=p: a port is at most 65535");
    struct wkp_up_route r3 = {"ethernet", 0x88b5, "p"};
    load_error(t, 1, &r3, 1,
               "route ethernet:34997=p: the parent must be udp, tcp or a loaded protocol");
    /* beacon has no next_protocol to add the route to */
    struct wkp_up_route r4 = {"p", 1, "p"};
    load_error(t, 1, &r4, 1, "a.yaml:1:1: a route from 'p' needs next_protocol.field");
}

Test(userproto, builtin_names_load_but_never_route)
{
    /* udp's mapping: 53 -> dns (built in: left to the C dissector), 514 -> p */
    const char *t[3] = {beacon, "name: dns\nfields: [{name: id, type: fixed, size: 2}]\n",
                        "name: udp\nfields:\n  - {name: dst_port, type: fixed, size: 2}\n"
                        "next_protocol:\n  field: dst_port\n  mapping: {53: dns, 514: p}\n"};
    struct wkp_up_set *s = load(t, 3, NULL, 0);
    int p = wkp_up_find(s, "p");
    cr_assert_eq(wkp_up_port_route(s, 17, 514), p);
    cr_assert_eq(wkp_up_port_route(s, 17, 53), -1);
    cr_assert_eq(wkp_up_port_route(s, 6, 514), -1);
    cr_assert_eq(wkp_up_ncols(s), 1); /* only p has a column */
    wkp_up_free(s);
}

Test(userproto, columns_for_layers_not_for_parts)
{
    /* p routes to q (a layer); p uses r inside a field (a part only); s
     * stands alone (a column, for a route to come) */
    const char *t[4] = {"name: p\nfields:\n  - {name: k, type: fixed, size: 1}\n"
                        "  - {name: in, type: length_prefixed, length_size: 1, sub_protocol: r}\n"
                        "next_protocol: {field: k, mapping: {1: q}}\n",
                        "name: q\nfields: [{name: x, type: rest}]\n",
                        "name: r\nfields: [{name: y, type: rest}]\n",
                        "name: s\nfields: [{name: z, type: rest}]\n"};
    struct wkp_up_set *s = load(t, 4, NULL, 0);
    cr_assert_eq(wkp_up_ncols(s), 3);
    cr_assert_str_eq(wkp_up_proto_name(s, wkp_up_col_proto(s, 0)), "p");
    cr_assert_str_eq(wkp_up_proto_name(s, wkp_up_col_proto(s, 1)), "q");
    cr_assert_str_eq(wkp_up_proto_name(s, wkp_up_col_proto(s, 2)), "s");
    wkp_up_free(s);
}

Test(userproto, route_into_a_user_protocol_mapping)
{
    /* k = 5 has no mapping in the file; the route p:5=q adds it, and
     * p:1=s replaces the file's 1 -> q */
    const char *t[3] = {("name: p\nfields: [{name: k, type: fixed, size: 1}]\n"
                         "next_protocol: {field: k, mapping: {1: q}}\n"),
                        "name: q\nfields: [{name: x, type: fixed, size: 1}]\n",
                        "name: s\nfields: [{name: z, type: fixed, size: 1}]\n"};
    struct wkp_up_route r[3] = {{"p", 5, "q"}, {"p", 1, "s"}, {"udp", 7, "p"}};
    struct wkp_up_set *s = load(t, 3, r, 3);
    cr_assert_eq(wkp_up_rec_init(s, &rec), 0);
    int p = wkp_up_port_route(s, 17, 7);
    cr_assert_eq(p, wkp_up_find(s, "p"));
    cr_assert_eq(wkp_up_parse(s, (unsigned)p, (const uint8_t *)"\x05\x2a", 2, &rec), 2);
    cr_assert_str_eq(wkp_up_proto_name(s, rec.layer[1]), "q");
    cr_assert_eq(wkp_up_parse(s, (unsigned)p, (const uint8_t *)"\x01\x2a", 2, &rec), 2);
    cr_assert_str_eq(wkp_up_proto_name(s, rec.layer[1]), "s");
    cr_assert_eq(rec.v[1].i, 42);
    wkp_up_rec_fini(&rec);
    wkp_up_free(s);
}

/* ---- fields --------------------------------------------------------------- */

Test(userproto, beacon_example_and_its_three_byte_cut)
{
    /* magic 0xbeef = 48879; 0x38 = 0011 1 000: version 3, urgent 1,
     * reserved 0; seq 07 00 00 00 little-endian = 7; host "node"; body_len
     * 7 * 2 + (48879 - 1) / 3 = 14 + 16292 = 16306; body "hello" */
    expect(beacon, beacon_pl, sizeof beacon_pl,
           "{\"magic\":48879,\"version\":3,\"urgent\":1,\"reserved\":0,\"seq\":7,\"host\":\"node\","
           "\"body_len\":16306,\"body\":\"hello\"}");
    /* 3 bytes: seq needs 4 more, so the layer ends after the bitfield */
    expect(beacon, beacon_pl, 3, "{\"magic\":48879,\"version\":3,\"urgent\":1,\"reserved\":0}");
    /* 1 byte: not one field fits: no layer at all */
    const char *t[1] = {beacon};
    unsigned layers = 9;
    char *got = parse_show(t, 1, beacon_pl, 1, "p", &layers);
    cr_assert_eq(layers, 0);
    cr_assert_str_eq(got, "");
    free(got);
}

Test(userproto, fixed_formats)
{
    static const char y[] = "name: p\nfields:\n"
                            "  - {name: u16le, type: fixed, size: 2, endian: little}\n"
                            "  - {name: i8, type: fixed, size: 1, format: int}\n"
                            "  - {name: i24, type: fixed, size: 3, format: int}\n"
                            "  - {name: a4, type: fixed, format: ipv4}\n"
                            "  - {name: a6, type: fixed, format: ipv6}\n"
                            "  - {name: m, type: fixed, format: mac}\n"
                            "  - {name: h, type: fixed, size: 2, format: hex}\n"
                            "  - {name: b, type: fixed, size: 2, format: bytes}\n"
                            "  - {name: u64, type: fixed, size: 8}\n";
    static const uint8_t pl[] = {
        0x01, 0x02,          /* 0x0201 = 513 */
        0xff,                /* -1 */
        0xff, 0xff, 0xfe,    /* 0xfffffe sign-extended: -2 */
        192,  168,  0,    1, /* 192.168.0.1 */
        0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 1, /* 2001:db8::1 */
        0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e,             /* 00:1a:2b:3c:4d:5e */
        0xde, 0xad,                                     /* "dead" */
        'A',  'B',                                      /* "AB" */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* 2^64 - 1 */
    };
    expect(y, pl, sizeof pl,
           "{\"u16le\":513,\"i8\":-1,\"i24\":-2,\"a4\":\"192.168.0.1\",\"a6\":\"2001:db8::1\","
           "\"m\":\"00:1a:2b:3c:4d:5e\",\"h\":\"dead\",\"b\":\"AB\",\"u64\":18446744073709551615}");
    /* the last field is one byte short: it ends the layer, nothing is shifted */
    expect(y, pl, sizeof pl - 1,
           "{\"u16le\":513,\"i8\":-1,\"i24\":-2,\"a4\":\"192.168.0.1\",\"a6\":\"2001:db8::1\","
           "\"m\":\"00:1a:2b:3c:4d:5e\",\"h\":\"dead\",\"b\":\"AB\"}");
}

Test(userproto, bitfield_from_the_most_significant_bit)
{
    static const char y[] =
        "name: p\nfields:\n  - name: g\n    type: bitfield\n    group_size: 2\n"
        "    fields: [{name: x, bits: 3}, {name: y, bits: 9}, {name: z, bits: 4}]\n";
    /* 0xa53c = 101 0 0101 0011 1100: x = 101 = 5, y = 0 0101 0011 = 83, z = 1100 = 12 */
    static const uint8_t pl[] = {0xa5, 0x3c};
    expect(y, pl, 2, "{\"x\":5,\"y\":83,\"z\":12}");
}

Test(userproto, length_prefixed_text_bytes_and_sub_protocol)
{
    static const char y[] =
        "name: p\nfields:\n"
        "  - {name: s, type: length_prefixed, length_size: 2, format: string}\n"
        "  - {name: in, type: length_prefixed, length_size: 1, sub_protocol: inner}\n"
        "  - {name: c, type: fixed, size: 1}\n"
        "  - {name: raw, type: length_prefixed, length_size: 1}\n";
    static const char inner[] = "name: inner\nfields:\n  - {name: a, type: fixed, size: 1}\n"
                                "  - {name: b, type: fixed, size: 1}\n";
    /* s: 00 03 "xyz"; in: 02 07 08 -> a 7, b 8 merged; c 09; raw: 05 then 1 byte: does not fit */
    static const uint8_t pl[] = {0, 3, 'x', 'y', 'z', 2, 7, 8, 9, 5, 'q'};
    const char *t[2] = {y, inner};
    char *got = parse_show(t, 2, pl, sizeof pl, "p", NULL);
    cr_assert_str_eq(got, "{\"s\":\"xyz\",\"a\":7,\"b\":8,\"c\":9}");
    free(got);
}

Test(userproto, computed_truncates_and_divides_by_zero_to_zero)
{
    static const char y[] = "name: p\nfields:\n  - {name: a, type: fixed, size: 1}\n"
                            "  - {name: t, type: computed, expression: \"(0 - a) / 2\"}\n"
                            "  - {name: z, type: computed, expression: \"a / (a - a)\"}\n"
                            "  - {name: m, type: computed, expression: \"-a * -3 + nope\"}\n"
                            "  - {name: p2, type: computed, expression: \"2 + 3 * 4 - 10 / 3\"}\n";
    /* a = 7: -7 / 2 truncates to -3 (floor would be -4); 7 / 0 = 0;
     * -7 * -3 + 0 (unknown name) = 21; 2 + 12 - 3 = 11 */
    static const uint8_t pl[] = {7};
    expect(y, pl, 1, "{\"a\":7,\"t\":-3,\"z\":0,\"m\":21,\"p2\":11}");
}

Test(userproto, tlv_merges_mapped_types_and_skips_others)
{
    static const char y[] = "name: p\nfields:\n  - name: opts\n    type: tlv\n    type_size: 1\n"
                            "    length_size: 1\n    type_mapping: {1: t_one, 2: t_two}\n";
    const char *t[3] = {y, "name: t_one\nfields: [{name: x, type: fixed, size: 2}]\n",
                        "name: t_two\nfields: [{name: y, type: fixed, size: 1}]\n"};
    /* 01 02 00 2a: x = 42; 03 01 ff: type 3 skipped; 02 01 07: y = 7 */
    static const uint8_t pl[] = {1, 2, 0, 0x2a, 3, 1, 0xff, 2, 1, 7};
    char *got = parse_show(t, 3, pl, sizeof pl, "p", NULL);
    cr_assert_str_eq(got, "{\"x\":42,\"y\":7}");
    free(got);
    /* a TLV claiming 5 bytes with 1 left ends the layer; x stays */
    static const uint8_t cut[] = {1, 2, 0, 0x2a, 2, 5, 7};
    got = parse_show(t, 3, cut, sizeof cut, "p", NULL);
    cr_assert_str_eq(got, "{\"x\":42}");
    free(got);
}

Test(userproto, counted_list_of_big_endian_integers)
{
    static const char y[] = "name: p\nfields:\n  - {name: n, type: fixed, size: 1}\n"
                            "  - {name: l, type: counted_list, count_field: n, size: 2}\n"
                            "  - {name: after, type: fixed, size: 1}\n";
    /* n = 3: 0001 0002 ffff = [1, 2, 65535]; after = 0x09 */
    static const uint8_t pl[] = {3, 0, 1, 0, 2, 0xff, 0xff, 9};
    expect(y, pl, sizeof pl, "{\"n\":3,\"l\":[1,2,65535],\"after\":9}");
    /* n = 4 needs 8 bytes, 7 are left: the layer ends after n */
    static const uint8_t big[] = {4, 0, 1, 0, 2, 0xff, 0xff, 9};
    expect(y, big, sizeof big, "{\"n\":4}");
}

Test(userproto, rest_formats)
{
    static const uint8_t pl[] = {'h', 'i', 0x00, 0xff};
    /* hex: 68 69 00 ff; bytes: a JSON string, 0x00 and the stray 0xff escaped */
    expect("name: p\nfields: [{name: r, type: rest, format: hex}]\n", pl, 4,
           "{\"r\":\"686900ff\"}");
    expect("name: p\nfields: [{name: r, type: rest}]\n", pl, 4, "{\"r\":\"hi\\u0000\\u00ff\"}");
    /* rest of nothing: present and empty */
    expect("name: p\nfields: [{name: a, type: fixed, size: 1}, {name: r, type: rest}]\n", pl, 1,
           "{\"a\":104,\"r\":\"\"}");
}

Test(userproto, dns_name_with_bounded_pointers)
{
    static const char y[] = "name: p\nfields:\n  - {name: id, type: fixed, size: 2}\n"
                            "  - {name: q, type: hardcoded, parser: dns_name}\n"
                            "  - {name: again, type: hardcoded, parser: dns_name}\n"
                            "  - {name: after, type: fixed, size: 1}\n";
    /* id 0x1234 = 4660; q at offset 2: www.example.com; again: pointer
     * c0 02 to offset 2 (2 bytes taken); after = 0x99 = 153 */
    static const uint8_t pl[] = {0x12, 0x34, 3,   'w', 'w', 'w', 7,   'e', 'x',  'a',  'm',
                                 'p',  'l',  'e', 3,   'c', 'o', 'm', 0,   0xc0, 0x02, 0x99};
    expect(y, pl, sizeof pl,
           "{\"id\":4660,\"q\":\"www.example.com\",\"again\":\"www.example.com\",\"after\":153}");
    /* a pointer to itself (offset 2 -> 2) loops: given up after 16 jumps, the layer ends */
    static const uint8_t loop[] = {0x12, 0x34, 0xc0, 0x02, 0x99};
    expect(y, loop, sizeof loop, "{\"id\":4660}");
}

Test(userproto, bsd_loopback_family_in_either_byte_order)
{
    static const char y[] =
        "name: p\nfields: [{name: af, type: hardcoded, parser: bsd_loopback_af}]\n";
    static const uint8_t le[] = {2, 0, 0, 0}, be[] = {0, 0, 0, 24};
    expect(y, le, 4, "{\"af\":2}");  /* written little-endian: AF_INET 2 */
    expect(y, be, 4, "{\"af\":24}"); /* big-endian: 24 (an AF_INET6 of the BSDs) */
}

Test(userproto, nflog_payload_narrows_the_next_layer)
{
    static const char y[] = "name: p\nfields:\n  - {name: family, type: fixed, size: 1}\n"
                            "  - {name: version, type: fixed, size: 1}\n"
                            "  - {name: res_id, type: fixed, size: 2}\n"
                            "  - {name: payload_len, type: hardcoded, parser: nflog_payload}\n"
                            "next_protocol: {default: inner}\n";
    static const char inner[] = "name: inner\nfields:\n  - {name: x, type: fixed, size: 1}\n"
                                "  - {name: r, type: rest, format: hex}\n";
    /* header 02 00 00 00; TLV len 5 type 1 (+3 padding) = 8 bytes; TLV len
     * 6 type 9: payload "ZQ" (2 bytes) then 2 padding bytes the inner
     * layer must not see: x = 'Z' = 90, r = hex("Q") = "51" */
    static const uint8_t pl[] = {2, 0, 0, 0, 5, 0, 1,   0,   0xaa, 0,
                                 0, 0, 6, 0, 9, 0, 'Z', 'Q', 0xee, 0xee};
    const char *t[2] = {y, inner};
    unsigned layers = 0;
    char *got = parse_show(t, 2, pl, sizeof pl, "p", &layers);
    cr_assert_str_eq(got, "{\"family\":2,\"version\":0,\"res_id\":0,\"payload_len\":2}");
    cr_assert_eq(layers, 2);
    free(got);
    got = parse_show(t, 2, pl, sizeof pl, "inner", NULL);
    cr_assert_str_eq(got, "{\"x\":90,\"r\":\"51\"}");
    free(got);
}

Test(userproto, prefixed_list_plain_and_typed)
{
    static const char y[] = "name: p\nfields:\n  - name: l\n    type: prefixed_list\n"
                            "    list_length_size: 2\n    item_length_size: 1\n"
                            "    item_format: string\n";
    /* list of 7 bytes: 02 "h2", 03 "abc" */
    static const uint8_t pl[] = {0, 7, 2, 'h', '2', 3, 'a', 'b', 'c'};
    expect(y, pl, sizeof pl, "{\"l\":[\"h2\",\"abc\"]}");
    static const char ty[] = "name: p\nfields:\n  - name: ext\n    type: prefixed_list\n"
                             "    list_length_size: 2\n    item_length_size: 2\n    type_size: 2\n"
                             "    type_mapping: {0: sni, 16: alpn}\n";
    const char *t[3] = {ty, "name: sni\nfields: [{name: host, type: rest, format: string}]\n",
                        "name: alpn\nfields: [{name: first, type: fixed, size: 1}]\n"};
    /* list of 15 bytes: type 0 len 5 "a.com"; type 16 len 2 02 68 ("h"
     * left unread): first = 2; fields named <sub_protocol>.<field> */
    static const uint8_t tl[] = {0, 15, 0, 0, 0, 5, 'a', '.', 'c', 'o', 'm', 0, 16, 0, 2, 2, 'h'};
    char *got = parse_show(t, 3, tl, sizeof tl, "p", NULL);
    cr_assert_str_eq(got, "{\"sni.host\":\"a.com\",\"alpn.first\":2}");
    free(got);
}

Test(userproto, repeat_until_the_buffer_is_used)
{
    static const char y[] = "name: p\nfields: [{name: r, type: repeat, sub_protocol: tv}]\n";
    static const char tv[] = "name: tv\nfields: [{name: t, type: fixed, size: 1}, "
                             "{name: v, type: fixed, size: 1}]\n";
    const char *t[2] = {y, tv};
    /* three rounds, later ones overwrite: t 5, v 6 */
    static const uint8_t pl[] = {1, 2, 3, 4, 5, 6};
    char *got = parse_show(t, 2, pl, 6, "p", NULL);
    cr_assert_str_eq(got, "{\"t\":5,\"v\":6}");
    free(got);
    /* 5 bytes: round 3 reads t = 5, v does not fit and ends the layer: v stays 4 */
    got = parse_show(t, 2, pl, 5, "p", NULL);
    cr_assert_str_eq(got, "{\"t\":5,\"v\":4}");
    free(got);
}

Test(userproto, repeat_merge_tls_steps_by_record)
{
    static const char y[] =
        "name: p\nfields: [{name: r, type: repeat, sub_protocol: rec, merge: tls}]\n";
    static const char rec_y[] = "name: rec\nfields:\n  - {name: ctype, type: fixed, size: 1}\n"
                                "  - {name: ver, type: fixed, size: 2}\n"
                                "  - {name: len, type: fixed, size: 2}\n"
                                "  - {name: first, type: fixed, size: 1}\n";
    const char *t[2] = {y, rec_y};
    /* record 1: 16 0301 0002 01 00 (the sub-protocol reads 6 of its 7
     * bytes; the round still takes 7); record 2: 17 0303 0001 aa ->
     * ctype 23, ver 0x0303 = 771, len 1, first 0xaa = 170 */
    static const uint8_t pl[] = {0x16, 3, 1, 0, 2, 1, 0, 0x17, 3, 3, 0, 1, 0xaa};
    char *got = parse_show(t, 2, pl, sizeof pl, "p", NULL);
    cr_assert_str_eq(got, "{\"ctype\":23,\"ver\":771,\"len\":1,\"first\":170}");
    free(got);
}

/* ---- layers --------------------------------------------------------------- */

static const char router[] =
    "name: p\nfields:\n  - {name: kind, type: fixed, size: 1}\n  - {name: alt, type: fixed, size: "
    "1}\n"
    "next_protocol:\n  field: [kind, alt]\n  mapping: {1: one, 0x02: two}\n"
    "  heuristics:\n"
    "    - {protocol: three, min_length: 2, conditions: [{offset: 0, byte_eq: 0x33}]}\n"
    "    - {protocol: four, conditions: [{offset: 1, byte_le: 4}, {offset: 0, byte_in: [7, 8]}]}\n"
    "    - {protocol: five, conditions: [{prefix_in: [\"GET \", \"PUT \"]}]}\n"
    "  default: six\n";

/* The protocol of the second layer for a payload of p. */
static const char *second_layer(const uint8_t *pl, uint32_t len)
{
    static const char *names[] = {"one", "two", "three", "four", "five", "six"};
    const char *t[7] = {router};
    char texts[6][64];
    for (int i = 0; i < 6; i++) {
        snprintf(texts[i], sizeof texts[i], "name: %s\nfields: [{name: x, type: rest}]\n",
                 names[i]);
        t[i + 1] = texts[i];
    }
    struct wkp_up_set *s = load(t, 7, NULL, 0);
    cr_assert_eq(wkp_up_rec_init(s, &rec), 0);
    unsigned n = wkp_up_parse(s, (unsigned)wkp_up_find(s, "p"), pl, len, &rec);
    static char out[16];
    snprintf(out, sizeof out, "%s", n >= 2 ? wkp_up_proto_name(s, rec.layer[1]) : "-");
    wkp_up_rec_fini(&rec);
    wkp_up_free(s);
    return out;
}

Test(userproto, next_protocol_mapping_fields_heuristics_default)
{
    /* after the 2-byte header the payload is what heuristics test */
    cr_assert_str_eq(second_layer((const uint8_t *)"\x01\x09zz", 4), "one");
    cr_assert_str_eq(second_layer((const uint8_t *)"\x09\x02zz", 4), "two"); /* second field */
    cr_assert_str_eq(second_layer((const uint8_t *)"\x09\x09\x33z", 4), "three");
    /* one byte left: three wants 2, four reads offset 1: the default */
    cr_assert_str_eq(second_layer((const uint8_t *)"\x09\x09\x33", 3), "six");
    cr_assert_str_eq(second_layer((const uint8_t *)"\x09\x09\x08\x04", 4), "four");
    cr_assert_str_eq(second_layer((const uint8_t *)"\x09\x09GET /", 7), "five");
    cr_assert_str_eq(second_layer((const uint8_t *)"\x09\x09\x08\x05", 4), "six");
}

Test(userproto, header_size_and_total_length)
{
    static const char hs[] =
        "name: p\nheader_size_field: hl\nfields: [{name: hl, type: fixed, size: 1}]\n"
        "next_protocol: {default: inner}\n";
    static const char tl[] =
        "name: p\ntotal_length_field: tl\nfields: [{name: tl, type: fixed, size: 1}]\n"
        "next_protocol: {default: inner}\n";
    static const char inner[] = "name: inner\nfields: [{name: r, type: rest, format: hex}]\n";
    static const uint8_t pl[] = {3, 0xaa, 0xbb, 0xcc, 0xdd};
    /* header 3 bytes: inner starts at cc */
    const char *t1[2] = {hs, inner};
    char *got = parse_show(t1, 2, pl, sizeof pl, "inner", NULL);
    cr_assert_str_eq(got, "{\"r\":\"ccdd\"}");
    free(got);
    /* total length 3: inner sees aa bb, not cc dd */
    const char *t2[2] = {tl, inner};
    got = parse_show(t2, 2, pl, sizeof pl, "inner", NULL);
    cr_assert_str_eq(got, "{\"r\":\"aabb\"}");
    free(got);
}

Test(userproto, flow_keeps_first_values_and_counts_the_cap)
{
    const char *t[1] = {beacon};
    struct wkp_up_set *s = load(t, 1, NULL, 0);
    cr_assert_eq(wkp_up_rec_init(s, &rec), 0);
    static struct wkp_up_flow f;
    memset(&f, 0, sizeof f);
    cr_assert_eq(wkp_up_parse(s, 0, beacon_pl, 3, &rec), 1);
    cr_assert_eq(wkp_up_flow_merge(&f, &rec), 0);
    /* the second packet: magic 1 (not kept), seq 7 and the rest new */
    static const uint8_t second[] = {0, 1, 0x10, 7, 0, 0, 0, 0};
    cr_assert_eq(wkp_up_parse(s, 0, second, sizeof second, &rec), 1);
    cr_assert_eq(wkp_up_flow_merge(&f, &rec), 0);
    struct wkp_buf b = {0};
    wkp_up_flow_write(s, &f, 0, &b);
    wkp_buf_putc(&b, '\0');
    /* body_len = 7 * 2 + (1 - 1) / 3 = 14, from the second packet */
    cr_assert_str_eq(b.p, "{\"magic\":48879,\"version\":3,\"urgent\":1,\"reserved\":0,\"seq\":7,"
                          "\"host\":\"\",\"body_len\":14,\"body\":\"\"}");
    const char *names[4];
    cr_assert_eq(wkp_up_flow_ext(s, &f, names, 4), 1);
    cr_assert_str_eq(names[0], "P");
    wkp_buf_free(&b);
    wkp_up_rec_fini(&rec);
    wkp_up_free(s);

    /* 40 one-byte fields: the flow keeps WKP_UP_FLOW_VALUES (32), 8 are counted */
    char y[4096] = "name: p\nfields:\n";
    for (int i = 0; i < 40; i++)
        snprintf(y + strlen(y), sizeof y - strlen(y), "  - {name: f%d, type: fixed, size: 1}\n", i);
    const char *t2[1] = {y};
    s = load(t2, 1, NULL, 0);
    cr_assert_eq(wkp_up_rec_init(s, &rec), 0);
    uint8_t pl[40] = {0};
    memset(&f, 0, sizeof f);
    cr_assert_eq(wkp_up_parse(s, 0, pl, 40, &rec), 1);
    cr_assert_eq(rec.n, 40);
    cr_assert_eq(wkp_up_flow_merge(&f, &rec), 40 - WKP_UP_FLOW_VALUES);
    wkp_up_rec_fini(&rec);
    wkp_up_free(s);
}

/* ---- C API ----------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs(text, fp);
    fclose(fp);
}

Test(userproto, api_load_errors_fail_engine_new)
{
    wkp_config *cfg;
    wkp_errbuf err = {{0}};
    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_add_protocols_dir(cfg, "/nonexistent/protocols", &err), WKP_EINVAL);
    cr_assert_str_eq(err.msg, "/nonexistent/protocols: not a directory");
    cr_assert_eq(wkp_config_add_route(cfg, "udp", 9999, "", &err), WKP_EINVAL);
    cr_assert_eq(wkp_config_add_route(cfg, "u:dp", 9999, "beacon", &err), WKP_EINVAL);

    char dir[] = "/tmp/wkp_userproto_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    write_file(dir, "b.yaml",
               "name: p\nfields:\n  - {name: a, type: fixed, size: 2, format: asci}\n");
    cr_assert_eq(wkp_config_add_protocols_dir(cfg, dir, &err), WKP_OK);
    wkp_engine *e = NULL;
    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_EINVAL);
    cr_assert_null(e);
    char want[512];
    snprintf(
        want, sizeof want,
        "%s/b.yaml:3:45: unknown format 'asci' (one of uint, int, ipv4, ipv6, mac, bytes, hex)",
        dir);
    cr_assert_str_eq(err.msg, want);

    /* fixed: the engine loads, a route to a missing protocol fails it */
    write_file(dir, "b.yaml", beacon);
    cr_assert_eq(wkp_config_add_route(cfg, "udp", 9999, "beacon", &err), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_EINVAL);
    cr_assert_str_eq(err.msg, "route udp:9999=beacon: no protocol of that name is loaded");
    wkp_config_free(cfg);

    cr_assert_eq(wkp_config_new(&cfg), WKP_OK);
    cr_assert_eq(wkp_config_add_protocols_dir(cfg, dir, &err), WKP_OK);
    cr_assert_eq(wkp_config_add_route(cfg, "udp", 9999, "p", &err), WKP_OK);
    cr_assert_eq(wkp_config_set_columns(cfg, "proto.*"), WKP_OK);
    cr_assert_eq(wkp_engine_new(cfg, &e, &err), WKP_OK, "%s", err.msg);
    cr_assert_eq(e->cfg.cols->n, 1);
    cr_assert_str_eq(e->cfg.cols->v[0].name, "proto.p");
    wkp_engine_free(e);
    wkp_config_free(cfg);
    char path[512];
    snprintf(path, sizeof path, "%s/b.yaml", dir);
    unlink(path);
    rmdir(dir);
}
