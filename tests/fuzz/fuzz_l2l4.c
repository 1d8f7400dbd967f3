/* libFuzzer target: wkp_l2l4_parse_opts (dissectors/l2l4.h).
 *
 * Input: byte 0 picks the link type (fz_dlt), byte 1 the options (bit 0:
 * pass options, with bytes 2-3 as an extra VXLAN port), the rest is the frame.
 *
 * Invariants: the status is one of the three; the parse is deterministic;
 * every offset and length stays within caplen; for FLOW
 * l3_off <= l4_off <= l3_end <= caplen, l4_off <= app_off and
 * app_off + app_len <= l3_end; a MALFORMED result names an anomaly; the
 * tunnel arrays never claim more entries than they hold. */
#include "fuzz_common.h"

#include "dissectors/l2l4.h"

static void check(const uint8_t *frame, uint32_t caplen, int dlt, const struct wkp_l2l4_opts *o)
{
    struct wkp_l2l4 m, m2;
    enum wkp_parse_status st = wkp_l2l4_parse_opts(frame, caplen, dlt, o, &m);
    enum wkp_parse_status st2 = wkp_l2l4_parse_opts(frame, caplen, dlt, o, &m2);
    FZ_CHECK(st == st2 && memcmp(&m, &m2, sizeof m) == 0);
    FZ_CHECK(st == WKP_PARSE_FLOW || st == WKP_PARSE_NOT_IP || st == WKP_PARSE_MALFORMED);

    FZ_CHECK(m.tun.n_stack <= WKP_MAX_STACK);
    FZ_CHECK(m.tun.n_vlan <= WKP_MAX_VLANS);
    FZ_CHECK(m.tun.n_mpls <= WKP_MAX_LABELS);
    for (unsigned i = 0; i < m.tun.n_stack; i++)
        FZ_CHECK(m.tun.stack[i] > WKP_EL_NONE && m.tun.stack[i] < WKP_EL__COUNT);
    FZ_CHECK(m.depth <= WKP_MAX_DEPTH + 1);
    FZ_CHECK(m.l2_len <= caplen);
    if (m.tun.strip_n > 0) {
        FZ_CHECK((uint32_t)m.tun.strip_type_off + 2 <= caplen);
        FZ_CHECK((uint32_t)m.tun.strip_tags_off + 4u * m.tun.strip_n <= caplen);
    }
    if (m.tun.outer_family != 0)
        FZ_CHECK(m.tun.outer_family == 4 || m.tun.outer_family == 6);

    if (st == WKP_PARSE_MALFORMED)
        FZ_CHECK(m.anomaly > WKP_ANOM_NONE && m.anomaly < WKP_ANOM__COUNT);
    if (st != WKP_PARSE_FLOW)
        return;
    FZ_CHECK(m.family == 4 || m.family == 6);
    FZ_CHECK(m.l3_off <= m.l4_off);
    FZ_CHECK(m.l4_off <= m.l3_end);
    FZ_CHECK(m.l3_end <= caplen);
    FZ_CHECK(m.l4_off <= m.app_off);
    FZ_CHECK((uint64_t)m.app_off + m.app_len <= caplen);
    FZ_CHECK((uint64_t)m.app_off + m.app_len <= m.l3_end);
    /* TCP header length: data offset * 4 clamped to [20, bytes present],
     * or the bytes present when fewer than 20 (l2l4.c, tcp()). */
    FZ_CHECK(m.tcp_hlen <= 60);
    if (m.proto == 6 && m.tcp_hlen != 0)
        FZ_CHECK(m.l4_off + m.tcp_hlen <= m.l3_end);
    if (m.tun.outer_family != 0)
        FZ_CHECK(m.l2_len <= m.l3_off);
    if (!m.is_fragment)
        FZ_CHECK(m.mf == 0 && m.frag_off == 0);
    if (m.family == 4)
        FZ_CHECK(memcmp(m.src + 4, (uint8_t[12]){0}, 12) == 0);
    if (m.vlan_id)
        FZ_CHECK(m.vlan_id < 4096);

    /* Every captured byte the parse may have looked at is still there in a
     * shorter capture: parsing a prefix must not crash either. */
    if (m.l4_off < caplen)
        (void)wkp_l2l4_parse(frame, m.l4_off, dlt, &m2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz z = {data, size};
    int dlt = fz_dlt(fz_u8(&z));
    uint8_t flags = fz_u8(&z);
    struct wkp_l2l4_opts o = {0};
    if (flags & 1) {
        o.vxlan_ports[0] = fz_u16(&z);
        o.n_vxlan_ports = 1 + (flags >> 1) % WKP_MAX_VXLAN_PORTS;
        for (uint32_t i = 1; i < o.n_vxlan_ports; i++)
            o.vxlan_ports[i] = (uint16_t)(o.vxlan_ports[0] + i);
    }
    size_t n;
    const uint8_t *frame = fz_bytes(&z, SIZE_MAX, &n);
    if (n > UINT32_MAX)
        return 0;
    check(frame, (uint32_t)n, dlt, (flags & 1) ? &o : NULL);
    return 0;
}

#ifdef WKP_FUZZ_SMOKE
/* Seeds from a capture: every frame, and every prefix of the first 16. */
static void seed_rec(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t wirelen, size_t i,
                     void *ctx)
{
    (void)wirelen;
    wkp_fuzz_emit_fn emit = (wkp_fuzz_emit_fn)(uintptr_t)ctx;
    uint8_t *buf = malloc(caplen + 2u);
    if (buf == NULL)
        abort();
    buf[0] = fz_dlt_sel(dlt);
    buf[1] = 0;
    memcpy(buf + 2, frame, caplen);
    if (fz_dlt(buf[0]) == dlt)
        emit(buf, caplen + 2u);
    if (i < 16)
        for (uint32_t k = 0; k < caplen; k++)
            check(frame, k, dlt, NULL);
    free(buf);
}

void wkp_fuzz_seed(const char *path, const uint8_t *data, size_t size, wkp_fuzz_emit_fn emit)
{
    (void)path;
    if (wkp_fuzz_each_record(data, size, seed_rec, (void *)(uintptr_t)emit) != 0)
        emit(data, size); /* a corpus file: already in the input format */
}
#endif
