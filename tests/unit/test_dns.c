/* The DNS dissector (dissectors/dns.c), called directly: hand-built
 * messages in, the flow's JSON and the counters out. Every expected value
 * is worked out by hand from the bytes built here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "tests/unit/dis_harness.h"

extern const struct wkp_dissector wkp_dissector_dns;
static const struct wkp_dissector *D = &wkp_dissector_dns;

/* counters, in the order of counter_names */
enum { MESSAGES, MALFORMED, TRUNCATED, LOOPS, LONG_NAMES, TCP_OVERSIZE, CAPPED };

static void setup(void)
{
    dis_setup(D);
}

static void teardown(void)
{
    dis_teardown(D); /* release(): under ASan or valgrind, nothing left behind */
}

TestSuite(dns, .init = setup, .fini = teardown);

/* A message under construction. */
struct msg {
    uint8_t b[8192];
    uint32_t n;
};

static void put(struct msg *m, const void *p, uint32_t n)
{
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void u16(struct msg *m, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(m, b, 2);
}

static void u32(struct msg *m, uint32_t v)
{
    u16(m, (uint16_t)(v >> 16));
    u16(m, (uint16_t)v);
}

static void hdr(struct msg *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                uint16_t ar)
{
    m->n = 0;
    u16(m, id);
    u16(m, flags);
    u16(m, qd);
    u16(m, an);
    u16(m, ns);
    u16(m, ar);
}

/* "www.example.com" -> 3www7example3com0 */
static void name(struct msg *m, const char *s)
{
    while (*s) {
        const char *dot = strchr(s, '.');
        uint8_t l = (uint8_t)(dot ? (size_t)(dot - s) : strlen(s));
        put(m, &l, 1);
        put(m, s, l);
        s += l + (dot ? 1 : 0);
    }
    put(m, "", 1);
}

static void ptr(struct msg *m, uint16_t off)
{
    u16(m, (uint16_t)(0xC000 | off));
}

static void question(struct msg *m, const char *n, uint16_t type)
{
    name(m, n);
    u16(m, type);
    u16(m, 1);
}

/* The fixed part of a record after its owner name. */
static void rr_fixed(struct msg *m, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
    u16(m, type);
    u16(m, 1);
    u32(m, ttl);
    u16(m, rdlen);
}

static void udp(const struct msg *m)
{
    struct wkp_dis_pkt p = {.proto = IPPROTO_UDP, .payload = m->b, .payload_len = m->n};
    struct wkp_cur c = {.p = m->b, .len = m->n};
    cr_assert_eq(D->parse(ctx, state, &p, &c), WKP_DIS_MORE);
}

static void tcp(const uint8_t *b, uint32_t n, int dir)
{
    struct wkp_dis_pkt p = {
        .proto = IPPROTO_TCP, .dir = (uint8_t)dir, .payload = b, .payload_len = n};
    struct wkp_cur c = {.p = b, .len = n};
    cr_assert_eq(D->parse(ctx, state, &p, &c), WKP_DIS_MORE);
}

static const char *json(void)
{
    out.len = 0;
    D->write(state, &out);
    wkp_buf_putc(&out, '\0');
    return out.p;
}

/* Query 0x1234 for www.example.com A (flags 0x0100: RD). */
static void build_query(struct msg *m)
{
    hdr(m, 0x1234, 0x0100, 1, 0, 0, 0);
    question(m, "www.example.com", 1);
}

/* Its response (flags 0x8180): the question at offset 12, then
 * www.example.com CNAME web.example.com (owner a pointer to 12, the target
 * "web" + a pointer to "example.com" at 16), web.example.com A 192.0.2.7
 * (owner a pointer to the CNAME's rdata at 45). */
static void build_response(struct msg *m)
{
    hdr(m, 0x1234, 0x8180, 1, 2, 0, 0);
    question(m, "www.example.com", 1); /* 12..32: name 17 bytes, type, class */
    ptr(m, 12);                        /* 33 */
    rr_fixed(m, 5, 300, 6);            /* 35..44 */
    put(m, "\3web", 4);                /* 45 */
    ptr(m, 16);
    ptr(m, 45); /* 51 */
    rr_fixed(m, 1, 60, 4);
    put(m, "\xc0\x00\x02\x07", 4);
}

#define RESPONSE_JSON                                                                              \
    "{\"id\":4660,\"flags\":256,\"opcode\":0,\"response_code\":0,\"question_count\":1,"            \
    "\"answer_count\":2,\"authority_count\":0,\"additional_count\":0,"                             \
    "\"queries\":[\"www.example.com\"],\"qtypes\":[1],\"answers\":["                               \
    "{\"name\":\"www.example.com\",\"type\":5,\"ttl\":300,\"data\":\"web.example.com\"},"          \
    "{\"name\":\"web.example.com\",\"type\":1,\"ttl\":60,\"data\":\"192.0.2.7\"}],"                \
    "\"messages\":2,\"malformed\":0}"

Test(dns, query_and_response_with_compression)
{
    struct msg q, r;
    build_query(&q);
    build_response(&r);
    cr_assert_eq(r.n, 67); /* 12 + 21 + (2 + 10 + 6) + (2 + 10 + 4) */
    udp(&q);
    udp(&r);
    /* flags and question_count from the query; answer_count filled by the
     * response because the query's was 0 */
    cr_assert_str_eq(json(), RESPONSE_JSON);
    cr_assert_eq(counters[MESSAGES], 2);
    cr_assert_eq(counters[MALFORMED] + counters[TRUNCATED], 0);
    const char *names[4];
    cr_assert_eq(D->ext_protocol(state, names, 4), 1);
    cr_assert_str_eq(names[0], "DNS");
}

Test(dns, nothing_written_before_a_whole_header)
{
    uint8_t b[11] = {0};
    struct wkp_dis_pkt p = {.proto = IPPROTO_UDP};
    struct wkp_cur c = {.p = b, .len = sizeof b};
    D->parse(ctx, state, &p, &c);
    cr_assert_str_eq(json(), "");
    const char *names[4];
    cr_assert_eq(D->ext_protocol(state, names, 4), 0);
    cr_assert_eq(counters[MALFORMED], 1);
    cr_assert_eq(counters[MESSAGES], 0);
}

Test(dns, compression_loop_is_counted_and_stops_the_message)
{
    struct msg m;
    hdr(&m, 1, 0, 2, 0, 0, 0);
    ptr(&m, 12); /* the name at 12 points at itself */
    u16(&m, 1);
    u16(&m, 1);
    question(&m, "after.example", 1);
    udp(&m);
    cr_assert_eq(counters[LOOPS], 1);
    cr_assert_eq(counters[MALFORMED], 1);
    cr_assert(strstr(json(), "\"queries\":[],\"qtypes\":[]"));
    cr_assert(strstr(json(), "\"malformed\":1"));
}

Test(dns, two_pointers_pointing_at_each_other_are_a_loop)
{
    struct msg m;
    hdr(&m, 1, 0, 1, 0, 0, 0);
    put(&m, "\1a", 2); /* 12: "a", then a pointer to 16 */
    ptr(&m, 16);
    ptr(&m, 12); /* 16: back to 12 */
    udp(&m);
    cr_assert_eq(counters[LOOPS], 1);
}

/* A name of labels of the given lengths ('x' bytes). */
static void long_name(struct msg *m, const uint8_t *lens, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        put(m, &lens[i], 1);
        for (unsigned k = 0; k < lens[i]; k++)
            put(m, "x", 1);
    }
    put(m, "", 1);
}

Test(dns, name_of_255_bytes_is_kept_256_refused)
{
    /* wire length = sum(len + 1) + 1: 3 * 64 + 62 + 1 = 255; with a last
     * label of 62 instead of 61: 256 */
    const uint8_t ok[4] = {63, 63, 63, 61}, bad[4] = {63, 63, 63, 62};
    struct msg m;
    hdr(&m, 1, 0, 2, 0, 0, 0);
    long_name(&m, bad, 4);
    u16(&m, 1);
    u16(&m, 1);
    long_name(&m, ok, 4);
    u16(&m, 28);
    u16(&m, 1);
    udp(&m);
    cr_assert_eq(counters[LONG_NAMES], 1);
    cr_assert_eq(counters[MALFORMED], 1); /* the message had a bad name */
    /* the refused name is walked past: the second question is read; its
     * text is 63 * 3 + 61 + 3 dots = 253 bytes */
    const char *j = json();
    const char *q = strstr(j, "\"queries\":[\"");
    cr_assert(q);
    q += strlen("\"queries\":[\"");
    cr_assert_eq(strcspn(q, "\""), 253);
    cr_assert(strstr(j, "\"qtypes\":[28]"));
}

Test(dns, name_of_129_labels_is_refused)
{
    uint8_t lens[129];
    memset(lens, 0, sizeof lens);
    for (unsigned i = 0; i < 129; i++)
        lens[i] = 1;
    struct msg m;
    hdr(&m, 1, 0, 2, 0, 0, 0);
    long_name(&m, lens, 129);
    u16(&m, 1);
    u16(&m, 1);
    question(&m, "ok.example", 1);
    udp(&m);
    cr_assert_eq(counters[LONG_NAMES], 1);
    cr_assert(strstr(json(), "\"queries\":[\"ok.example\"]"));
}

Test(dns, a_pointer_past_the_message_is_malformed)
{
    struct msg m;
    hdr(&m, 1, 0, 1, 0, 0, 0);
    ptr(&m, 500);
    u16(&m, 1);
    u16(&m, 1);
    udp(&m);
    cr_assert_eq(counters[MALFORMED], 1);
    cr_assert_eq(counters[LOOPS] + counters[LONG_NAMES], 0);
}

Test(dns, truncated_at_every_length_keeps_what_was_read)
{
    struct msg r;
    build_response(&r);
    for (uint32_t len = 0; len < r.n; len++) {
        D->release(ctx, state); /* as the engine gives a state back and takes it again */
        memset(state, 0, D->flow_state_size);
        memset(counters, 0, sizeof counters);
        struct wkp_dis_pkt p = {.proto = IPPROTO_UDP};
        struct wkp_cur c = {.p = r.b, .len = len};
        D->parse(ctx, state, &p, &c);
        const char *j = json();
        if (len < 12) {
            cr_assert_eq(counters[MALFORMED], 1, "len %u", len);
            cr_assert_str_eq(j, "");
            continue;
        }
        /* every shorter prefix is cut inside a record the counts promise */
        cr_assert_eq(counters[TRUNCATED], 1, "len %u", len);
        cr_assert_eq(counters[MALFORMED], 0, "len %u", len);
        cr_assert(strstr(j, "\"answer_count\":2"), "len %u", len);
        /* question complete at 33, first answer at 51 */
        bool q = strstr(j, "\"queries\":[\"www.example.com\"]") != NULL;
        cr_assert_eq(q, len >= 33, "len %u", len);
        bool a1 = strstr(j, "\"data\":\"web.example.com\"") != NULL;
        cr_assert_eq(a1, len >= 51, "len %u", len);
        cr_assert_null(strstr(j, "192.0.2.7"), "len %u", len);
    }
}

Test(dns, tc_bit_counts_as_truncated)
{
    struct msg q;
    build_query(&q);
    q.b[2] |= 0x02; /* flags 0x0300 */
    udp(&q);
    cr_assert_eq(counters[TRUNCATED], 1);
    cr_assert_eq(counters[MALFORMED], 0);
    cr_assert(strstr(json(), "\"flags\":768,"));
}

/* The query and response as a TCP stream: 2-byte length before each. */
static uint32_t tcp_stream(uint8_t *b, const struct msg *a, const struct msg *c)
{
    uint32_t n = 0;
    const struct msg *ms[2] = {a, c};
    for (int i = 0; i < 2; i++) {
        b[n++] = (uint8_t)(ms[i]->n >> 8);
        b[n++] = (uint8_t)ms[i]->n;
        memcpy(b + n, ms[i]->b, ms[i]->n);
        n += ms[i]->n;
    }
    return n;
}

Test(dns, tcp_prefix_and_messages_split_byte_by_byte)
{
    struct msg q, r;
    build_query(&q);
    build_response(&r);
    uint8_t b[200];
    uint32_t n = tcp_stream(b, &q, &r);
    for (uint32_t i = 0; i < n; i++)
        tcp(b + i, 1, 0);
    cr_assert_str_eq(json(), RESPONSE_JSON);
}

Test(dns, tcp_two_messages_in_one_segment_and_prefix_alone)
{
    struct msg q, r;
    build_query(&q);
    build_response(&r);
    uint8_t b[200];
    uint32_t n = tcp_stream(b, &q, &r);
    tcp(b, 2, 0);           /* the first prefix alone */
    tcp(b + 2, 10, 0);      /* part of the query */
    tcp(b + 12, n - 12, 0); /* the rest of it, the second prefix and message */
    D->finish(ctx, state);
    cr_assert_str_eq(json(), RESPONSE_JSON);
    cr_assert_eq(counters[TCP_OVERSIZE], 0);
}

Test(dns, tcp_directions_are_framed_apart)
{
    struct msg q, r;
    build_query(&q);
    build_response(&r);
    uint8_t up[64], down[80];
    up[0] = 0;
    up[1] = (uint8_t)q.n;
    memcpy(up + 2, q.b, q.n);
    down[0] = 0;
    down[1] = (uint8_t)r.n;
    memcpy(down + 2, r.b, r.n);
    /* the two directions' segments interleaved, each cut mid-message */
    tcp(up, 7, 0);
    tcp(down, 30, 1);
    tcp(up + 7, q.n + 2 - 7, 0);
    tcp(down + 30, r.n + 2 - 30, 1);
    cr_assert_str_eq(json(), RESPONSE_JSON);
}

Test(dns, tcp_message_cut_by_the_flow_end_is_parsed_at_finish)
{
    struct msg r;
    build_response(&r);
    uint8_t b[100];
    b[0] = 0;
    b[1] = (uint8_t)r.n;
    memcpy(b + 2, r.b, r.n);
    tcp(b, 2 + 51, 1); /* up to the end of the first answer */
    cr_assert_str_eq(json(), "");
    D->finish(ctx, state);
    cr_assert_eq(counters[TRUNCATED], 1);
    cr_assert(strstr(json(), "\"data\":\"web.example.com\""));
    cr_assert(strstr(json(), "\"malformed\":1"));
}

Test(dns, tcp_message_over_the_buffer_is_parsed_from_its_start)
{
    /* a response with one TXT answer of 1100 bytes: past the 1 KiB buffer */
    struct msg m;
    hdr(&m, 7, 0x8180, 1, 1, 0, 0);
    question(&m, "t.example", 16);
    ptr(&m, 12);
    rr_fixed(&m, 16, 5, 1100);
    for (int i = 0; i < 1100; i++)
        put(&m, "\x09txt-chunk", 1);
    uint8_t b[2 + 2048];
    b[0] = (uint8_t)(m.n >> 8);
    b[1] = (uint8_t)m.n;
    memcpy(b + 2, m.b, m.n);
    tcp(b, 500, 1);
    tcp(b + 500, m.n + 2 - 500, 1);
    cr_assert_eq(counters[TCP_OVERSIZE], 1);
    cr_assert_eq(counters[TRUNCATED], 1); /* the TXT rdata is past the kept bytes */
    cr_assert(strstr(json(), "\"queries\":[\"t.example\"]"));
}

Test(dns, merging_fills_zero_counts_and_appends_unseen_names)
{
    struct msg m;
    /* 1: a query, rcode 0, all counts but qd 0 */
    hdr(&m, 10, 0x0100, 1, 0, 0, 0);
    question(&m, "a.example", 1);
    udp(&m);
    /* 2: NXDOMAIN (rcode 3) for b.example, one authority record counted */
    hdr(&m, 11, 0x8183, 2, 0, 1, 0);
    question(&m, "a.example", 1);
    question(&m, "b.example", 28);
    udp(&m);
    /* 3: rcode 2, two answers, additional 1: rcode and authority stay,
     * answer_count and additional_count are filled */
    hdr(&m, 12, 0x8182, 1, 2, 5, 1);
    question(&m, "c.example", 1);
    ptr(&m, 12);
    rr_fixed(&m, 1, 9, 4);
    put(&m, "\x0a\x00\x00\x01", 4);
    ptr(&m, 12);
    rr_fixed(&m, 1, 9, 4);
    put(&m, "\x0a\x00\x00\x01", 4); /* the same answer twice: kept once */
    udp(&m);
    cr_assert_str_eq(json(),
                     "{\"id\":10,\"flags\":256,\"opcode\":0,\"response_code\":3,"
                     "\"question_count\":1,\"answer_count\":2,\"authority_count\":1,"
                     "\"additional_count\":1,\"queries\":[\"a.example\",\"b.example\","
                     "\"c.example\"],\"qtypes\":[1,28],\"answers\":[{\"name\":\"c.example\","
                     "\"type\":1,\"ttl\":9,\"data\":\"10.0.0.1\"}],\"messages\":3,"
                     "\"malformed\":0}");
}

Test(dns, query_names_are_capped_at_32)
{
    struct msg m;
    char n[16];
    for (int i = 0; i < 40; i++) {
        hdr(&m, 1, 0, 1, 0, 0, 0);
        snprintf(n, sizeof n, "h%d.example", i);
        question(&m, n, 1);
        udp(&m);
    }
    cr_assert_eq(counters[CAPPED], 8);
    cr_assert(strstr(json(), "\"h31.example\"]"));
    cr_assert_null(strstr(json(), "h32.example"));
}

Test(dns, answer_types_mx_srv_txt_aaaa_ptr_ns)
{
    struct msg m;
    hdr(&m, 1, 0x8400, 0, 6, 0, 0);
    name(&m, "s.local"); /* 12: 1s5local0, 9 bytes */
    rr_fixed(&m, 15, 1, 6);
    u16(&m, 10);
    put(&m, "\1m", 2);
    ptr(&m, 14); /* "local" */
    ptr(&m, 12);
    rr_fixed(&m, 33, 2, 10);
    u16(&m, 1);
    u16(&m, 2);
    u16(&m, 631);
    put(&m, "\1h", 2);
    ptr(&m, 14);
    ptr(&m, 12);
    rr_fixed(&m, 16, 3, 8);
    put(&m, "\3v=1\3k=2", 8); /* two strings, concatenated */
    ptr(&m, 12);
    rr_fixed(&m, 28, 4, 16);
    put(&m, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    ptr(&m, 12);
    rr_fixed(&m, 12, 5, 2);
    ptr(&m, 12);
    ptr(&m, 12);
    rr_fixed(&m, 99, 6, 1); /* a type without data text */
    put(&m, "z", 1);
    udp(&m);
    cr_assert_str_eq(json(),
                     "{\"id\":1,\"flags\":33792,\"opcode\":0,\"response_code\":0,"
                     "\"question_count\":0,\"answer_count\":6,\"authority_count\":0,"
                     "\"additional_count\":0,\"queries\":[],\"qtypes\":[],\"answers\":["
                     "{\"name\":\"s.local\",\"type\":15,\"ttl\":1,\"data\":\"10 m.local\"},"
                     "{\"name\":\"s.local\",\"type\":33,\"ttl\":2,\"data\":\"1 2 631 h.local\"},"
                     "{\"name\":\"s.local\",\"type\":16,\"ttl\":3,\"data\":\"v=1k=2\"},"
                     "{\"name\":\"s.local\",\"type\":28,\"ttl\":4,\"data\":\"2001:db8::1\"},"
                     "{\"name\":\"s.local\",\"type\":12,\"ttl\":5,\"data\":\"s.local\"},"
                     "{\"name\":\"s.local\",\"type\":99,\"ttl\":6}],\"messages\":1,"
                     "\"malformed\":0}");
}

Test(dns, names_that_are_not_utf8_stay_valid_json)
{
    struct msg m;
    hdr(&m, 1, 0, 1, 0, 0, 0);
    put(&m, "\4caf\xe9\0", 6);
    u16(&m, 1);
    u16(&m, 1);
    udp(&m);
    cr_assert(strstr(json(), "\"queries\":[\"caf\\u00e9\"]"));
}

Test(dns, state_is_small_and_released)
{
    /* what a flow stores is on the heap, freed by release(): the block the
     * engine keeps per claimed flow is at most 256 bytes */
    cr_assert_leq(D->flow_state_size, 256);
    cr_assert_not_null(D->release);
    cr_assert_eq(D->transport, 0);
    cr_assert_eq(D->input, WKP_DIS_DATAGRAM);
}

Test(dns, release_takes_a_zeroed_state_and_a_used_one)
{
    /* the engine releases every state it takes back, even one parse never
     * saw; a state zeroed after release reads the same flow the same way */
    D->release(ctx, state);
    struct msg q, r;
    build_query(&q);
    build_response(&r);
    udp(&q);
    udp(&r);
    cr_assert_str_eq(json(), RESPONSE_JSON);
    D->release(ctx, state);
    memset(state, 0, D->flow_state_size);
    cr_assert_str_eq(json(), "");
    udp(&q);
    udp(&r);
    cr_assert_str_eq(json(), RESPONSE_JSON);
}

/* A name of 100 bytes on the wire text: 63 'a'-'z' letters, '.', 36 more
 * (labels 63 and 36), distinct by its first two letters. */
static void hundred(char *b, int i)
{
    memset(b, 'x', 100);
    b[0] = (char)('a' + i / 26);
    b[1] = (char)('a' + i % 26);
    b[63] = '.';
    b[100] = '\0';
}

Test(dns, names_and_data_share_2048_bytes)
{
    char n[128];
    struct msg m;
    /* 20 names of 100 bytes: 2000 bytes stored */
    for (int i = 0; i < 20; i++) {
        hundred(n, i);
        hdr(&m, 1, 0, 1, 0, 0, 0);
        question(&m, n, 1);
        udp(&m);
    }
    cr_assert_eq(counters[CAPPED], 0);
    /* a 21st: 2100 > 2048, dropped; 48 bytes then fill the store exactly
     * (2000 + 48 = 2048), and one byte more does not fit */
    hundred(n, 20);
    hdr(&m, 1, 0, 1, 0, 0, 0);
    question(&m, n, 1);
    udp(&m);
    cr_assert_eq(counters[CAPPED], 1);
    memset(n, 'y', 48);
    n[48] = '\0';
    hdr(&m, 1, 0, 1, 0, 0, 0);
    question(&m, n, 1);
    udp(&m);
    cr_assert_eq(counters[CAPPED], 1);
    hdr(&m, 1, 0, 1, 0, 0, 0);
    question(&m, "z", 1);
    udp(&m);
    cr_assert_eq(counters[CAPPED], 2);
    /* a name already stored costs nothing: an answer owned by the first
     * name without data is kept */
    hundred(n, 0);
    hdr(&m, 1, 0x8180, 0, 1, 0, 0);
    name(&m, n);
    rr_fixed(&m, 99, 7, 0);
    udp(&m);
    cr_assert_eq(counters[CAPPED], 2);
    const char *j = json();
    hundred(n, 19);
    cr_assert(strstr(j, n));
    hundred(n, 20);
    cr_assert_null(strstr(j, n));
    cr_assert(strstr(j, "\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"]"));
    cr_assert(strstr(j, "\"type\":99,\"ttl\":7}]"));
}

Test(dns, answers_are_capped_at_32)
{
    /* 40 A answers for one owner, addresses 10.0.0.1 .. 10.0.0.40: the
     * first 32 are kept, 8 counted */
    struct msg m;
    hdr(&m, 1, 0x8180, 1, 40, 0, 0);
    question(&m, "many.example", 1);
    for (int i = 1; i <= 40; i++) {
        ptr(&m, 12);
        rr_fixed(&m, 1, 30, 4);
        uint8_t a[4] = {10, 0, 0, (uint8_t)i};
        put(&m, a, 4);
    }
    udp(&m);
    cr_assert_eq(counters[CAPPED], 8);
    cr_assert(strstr(json(), "\"data\":\"10.0.0.32\"}]"));
    cr_assert_null(strstr(json(), "10.0.0.33"));
}

Test(dns, long_name_ending_in_a_pointer_is_skipped_past_the_pointer)
{
    /* question 1: 130 one-byte labels in place, then a pointer to 12 (the
     * name itself): too long at label 128, so the pointer is never
     * followed and no loop is counted; question 2 is read after it */
    uint8_t lens[130];
    memset(lens, 1, sizeof lens);
    struct msg m;
    hdr(&m, 1, 0, 2, 0, 0, 0);
    long_name(&m, lens, 130);
    m.n--; /* drop the root byte: the pointer ends the name */
    ptr(&m, 12);
    u16(&m, 1);
    u16(&m, 1);
    question(&m, "next.example", 28);
    udp(&m);
    cr_assert_eq(counters[LONG_NAMES], 1);
    cr_assert_eq(counters[LOOPS], 0);
    cr_assert(strstr(json(), "\"queries\":[\"next.example\"],\"qtypes\":[28]"));
}

Test(dns, names_pointing_into_a_long_label_run_cost_bounded_work)
{
    /* 1000 questions, each a pointer to a run of 200 one-byte labels: each
     * stops at label 128 (too long), so the whole message is read in
     * bounded time, every question counted once */
    static struct msg m;
    hdr(&m, 1, 0, 1000, 0, 0, 0);
    uint8_t lens[200];
    memset(lens, 1, sizeof lens);
    /* question 0 is the run itself */
    long_name(&m, lens, 200);
    u16(&m, 1);
    u16(&m, 1);
    for (int i = 1; i < 1000; i++) {
        ptr(&m, 12);
        u16(&m, 1);
        u16(&m, 1);
    }
    udp(&m);
    cr_assert_eq(counters[LONG_NAMES], 1000);
    cr_assert_eq(counters[MALFORMED], 1);
    cr_assert_eq(counters[TRUNCATED], 0);
}
