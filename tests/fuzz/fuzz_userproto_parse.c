/* libFuzzer target: the user protocol interpreter (userproto/interp.c)
 * over random payloads, with a fixed set of definitions that uses every
 * field type, both prefixed_list forms, both repeat forms, next_protocol
 * by mapping, heuristics and default, header size and total length.
 *
 * Input: byte 0 picks the first protocol (among those with a column),
 * the rest is the payload.
 *
 * Invariants: the record stays within its bounds (values, bytes, layers,
 * each value inside the bytes used, each layer a protocol with a column);
 * parsing the same payload again gives the same record; the flow merge
 * keeps within its caps and writes one JSON object per protocol seen. */
#include "fuzz_common.h"

#include "userproto/userproto.h"

static const char *const defs[] = {
    "name: top\nfields:\n  - {name: kind, type: fixed, size: 1}\n"
    "  - {name: hl, type: fixed, size: 1}\n"
    "header_size_field: hl\ntotal_length_field: hl\n"
    "next_protocol:\n  field: [kind, hl]\n"
    "  mapping: {1: fixedall, 2: lists, 3: names, 4: rep, 5: reptls, 6: nflogish, 7: top2}\n"
    "  heuristics:\n"
    "    - {protocol: lists, min_length: 3, conditions: [{offset: 0, byte_eq: 0x33}]}\n"
    "    - {protocol: names, conditions: [{offset: 1, byte_le: 4}, {offset: 0, byte_in: [7, 8]}]}\n"
    "    - {protocol: rep, conditions: [{prefix_in: [\"GET \", \"AB\"]}]}\n"
    "  default: fixedall\n",
    "name: top2\nfields: [{name: k2, type: fixed, size: 1}]\n"
    "next_protocol: {field: k2, mapping: {1: fixedall, 2: lists}, default: names}\n",
    "name: fixedall\nfields:\n  - {name: u16le, type: fixed, size: 2, endian: little}\n"
    "  - {name: i24, type: fixed, size: 3, format: int}\n"
    "  - {name: a4, type: fixed, format: ipv4}\n  - {name: a6, type: fixed, format: ipv6}\n"
    "  - {name: m, type: fixed, format: mac}\n  - {name: h, type: fixed, size: 3, format: hex}\n"
    "  - name: g\n    type: bitfield\n    group_size: 8\n"
    "    fields: [{name: x, bits: 3}, {name: y, bits: 60}, {name: z, bits: 1}]\n"
    "  - {name: e, type: computed, expression: \"(x - y) * -z / (i24 - u16le) + 7\"}\n"
    "  - {name: r, type: rest, format: hex}\n",
    "name: lists\nfields:\n  - {name: n, type: fixed, size: 1}\n"
    "  - {name: c, type: counted_list, count_field: n, size: 3}\n"
    "  - {name: pl, type: prefixed_list, list_length_size: 2, item_length_size: 1, item_format: "
    "string}\n"
    "  - {name: pt, type: prefixed_list, list_length_size: 2, item_length_size: 2, type_size: 1, "
    "type_mapping: {0: tv, 1: fixedall}}\n"
    "  - {name: t, type: tlv, type_size: 1, length_size: 1, type_mapping: {1: tv, 2: lp}}\n",
    "name: tv\nfields: [{name: t, type: fixed, size: 1}, {name: v, type: fixed, size: 1}]\n",
    "name: lp\nfields:\n  - {name: s, type: length_prefixed, length_size: 1, format: string}\n"
    "  - {name: b, type: length_prefixed, length_size: 2}\n"
    "  - {name: sub, type: length_prefixed, length_size: 1, sub_protocol: tv}\n",
    "name: names\nfields:\n  - {name: id, type: fixed, size: 2}\n"
    "  - {name: q, type: hardcoded, parser: dns_name}\n"
    "  - {name: q2, type: hardcoded, parser: dns_name}\n"
    "  - {name: af, type: hardcoded, parser: bsd_loopback_af}\n",
    "name: rep\nfields: [{name: r, type: repeat, sub_protocol: lp}]\n",
    "name: reptls\nfields: [{name: r, type: repeat, sub_protocol: tv, merge: tls}]\n",
    "name: nflogish\nfields:\n  - {name: fam, type: fixed, size: 1}\n"
    "  - {name: pay, type: hardcoded, parser: nflog_payload}\n"
    "next_protocol: {default: fixedall}\n",
};
enum { NDEFS = sizeof defs / sizeof defs[0] };

static struct wkp_up_set *set;
static struct wkp_up_rec rec, rec2;
static struct wkp_up_flow flow;

static void setup(void)
{
    if (set)
        return;
    const char *names[NDEFS];
    char buf[NDEFS][16];
    for (int i = 0; i < NDEFS; i++) {
        snprintf(buf[i], sizeof buf[i], "d%d.yaml", i);
        names[i] = buf[i];
    }
    char err[512];
    if (wkp_up_load_texts(names, defs, NDEFS, NULL, 0, &set, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_userproto_parse: %s\n", err);
        abort();
    }
    FZ_CHECK(wkp_up_rec_init(set, &rec) == 0 && wkp_up_rec_init(set, &rec2) == 0);
}

static void check_rec(const struct wkp_up_rec *r, unsigned n)
{
    FZ_CHECK(n == r->nlayers && n <= WKP_UP_MAX_LAYERS);
    FZ_CHECK(r->n <= WKP_UP_REC_VALUES && r->used <= WKP_UP_REC_BYTES);
    for (uint32_t k = 0; k < r->n; k++)
        FZ_CHECK(r->v[k].off + r->v[k].len <= r->used && r->v[k].layer < n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0)
        return 0;
    unsigned ncols = wkp_up_ncols(set);
    unsigned proto = wkp_up_col_proto(set, data[0] % ncols);
    const uint8_t *pl = data + 1;
    uint32_t len = (uint32_t)(size - 1 > 65535 ? 65535 : size - 1);
    unsigned n = wkp_up_parse(set, proto, pl, len, &rec);
    check_rec(&rec, n);
    unsigned n2 = wkp_up_parse(set, proto, pl, len, &rec2);
    FZ_CHECK(n == n2 && rec.n == rec2.n && rec.used == rec2.used);
    FZ_CHECK(memcmp(rec.bytes, rec2.bytes, rec.used) == 0);
    for (uint32_t k = 0; k < rec.n; k++)
        FZ_CHECK(memcmp(&rec.v[k], &rec2.v[k], sizeof rec.v[k]) == 0);
    memset(&flow, 0, sizeof flow);
    wkp_up_flow_merge(&flow, &rec);
    wkp_up_flow_merge(&flow, &rec2); /* the same values again: nothing new */
    FZ_CHECK(flow.n <= WKP_UP_FLOW_VALUES && flow.used <= WKP_UP_FLOW_BYTES);
    for (unsigned c = 0; c < ncols; c++) {
        struct wkp_buf b = {0};
        wkp_up_flow_write(set, &flow, wkp_up_col_proto(set, c), &b);
        FZ_CHECK(b.len == 0 || (b.p[0] == '{' && b.p[b.len - 1] == '}'));
        wkp_buf_free(&b);
    }
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t index,
                     void *ctx)
{
    (void)dlt, (void)wirelen;
    wkp_fuzz_emit_fn emit = (wkp_fuzz_emit_fn)(uintptr_t)ctx;
    if (index >= 64 || caplen < 42)
        return;
    /* a selector, then the frame from byte 42 (about an Ethernet/IPv4/UDP payload) */
    uint8_t buf[2048];
    uint32_t n = caplen - 42 > sizeof buf - 1 ? (uint32_t)sizeof buf - 1 : caplen - 42;
    buf[0] = (uint8_t)index;
    memcpy(buf + 1, frame + 42, n);
    emit(buf, n + 1);
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    if (wkp_fuzz_each_record(data, size, seed_rec, (void *)(uintptr_t)emit) != 0)
        emit(data, size);
}
#endif
