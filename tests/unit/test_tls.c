/* The TLS dissector's callbacks, called directly on hand-built records:
 * the stream cut anywhere, messages across records, ChangeCipherSpec,
 * gaps, bad headers, hostile lengths. Expected values are worked out in
 * the comments; the digests with the coreutils command shown. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dissectors/dissector.h"
#include "dissectors/tls_hello.h"

extern const struct wkp_dissector wkp_dissector_tls;
#define D wkp_dissector_tls

enum { C_MALFORMED, C_ABANDONED, C_RESYNCED, C_TRUNC_CERTS, C_NOT_TLS };

/* The ClientHello body: version 3.3, zero random, no session id, suites
 * GREASE 0x0a0a, 0x1301, 0xc02f, compression null, then extensions
 * server_name "example.com", ALPN h2 + http/1.1, groups 29 and 23, point
 * formats [0], signature algorithms 0x0403 0x0804, supported_versions
 * 0x0304 0x0303. */
static const uint8_t ch_body[] =
    {
        0x03, 0x03, /* legacy_version */
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0, /* random */
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,                /* random */
        0x00,                                           /* session id */
        0x00, 0x06, 0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2f, /* suites */
        0x01, 0x00,                                     /* compression */
        0x00, 0x49,                                     /* extensions: 73 bytes */
        0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x00, 0x0b, 'e',
        'x',  'a',  'm',  'p',  'l',  'e',  '.',  'c',  'o',  'm', /* 20 */
        0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h',  '2',  0x08,
        'h',  't',  't',  'p',  '/',  '1',  '.',  '1',              /* 18 */
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, /* 10 */
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,                         /* 6 */
        0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, /* 10 */
        0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,       /* 9 */
};

/* ServerHello: 3.3, zero random, no session id, suite 0xc02f, null
 * compression, renegotiation_info (0xff01) with one zero byte. */
static const uint8_t sh_body[] = {
    0x03, 0x03,                                                          /* legacy_version */
    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, /* random */
    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, /* random */
    0x00,                                                                /* session id */
    0xc0, 0x2f,                                                          /* suite */
    0x00,                                                                /* compression */
    0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00,                            /* extensions */
};
_Static_assert(sizeof sh_body == 2 + 32 + 1 + 2 + 1 + 7, "ServerHello body layout");

/* JA3 text "771,4865-49199,0-16-10-11-13-43,29-23,0" (GREASE left out):
 * printf '771,4865-49199,0-16-10-11-13-43,29-23,0' | md5sum */
#define CH_JA3   "5fd219db9d7e9b788c9b089bcbd91260"
/* JA3S "771,49199,65281": printf '771,49199,65281' | md5sum */
#define SH_JA3S  "fbe78c619e7ea20046131294ad087f05"
/* JA4 a: t, 13 (highest supported_versions), d (SNI), 02 suites and 06
 * extensions without GREASE, h2. b: printf '1301,c02f' | sha256sum (12);
 * c: printf '000a,000b,000d,002b_0403,0804' | sha256sum (SNI and ALPN out). */
#define CH_JA4   "t13d0206h2_c1929292aa6b_fb71836bce29"
/* ja4_o: wire order, SNI and ALPN kept:
 * printf '0000,0010,000a,000b,000d,002b_0403,0804' | sha256sum */
#define CH_JA4_O "t13d0206h2_c1929292aa6b_9ab61997272a"

_Static_assert(sizeof ch_body == 2 + 32 + 1 + 8 + 2 + 2 + 73, "ClientHello body layout");

/* A handshake message (4-byte header) into out; its length. */
static size_t message(uint8_t *out, uint8_t type, const uint8_t *body, size_t n)
{
    out[0] = type;
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    memcpy(out + 4, body, n);
    return n + 4;
}

/* A record (5-byte header, version 3.1 or 3.3) into out; its length. */
static size_t record(uint8_t *out, uint8_t type, uint16_t version, const uint8_t *body, size_t n)
{
    out[0] = type;
    out[1] = (uint8_t)(version >> 8);
    out[2] = (uint8_t)version;
    out[3] = (uint8_t)(n >> 8);
    out[4] = (uint8_t)n;
    memcpy(out + 5, body, n);
    return n + 5;
}

struct run {
    void *ctx, *st;
    uint64_t counters[WKP_DIS_MAX_COUNTERS];
    const char *opts[WKP_DIS_MAX_OPTIONS];
    struct wkp_dis_env env;
    char *text;
};

static void run_init(struct run *r)
{
    memset(r, 0, sizeof *r);
    r->env.counters = r->counters;
    r->env.option_values = r->opts;
    r->ctx = calloc(1, D.worker_ctx_size);
    r->st = calloc(1, D.flow_state_size);
    cr_assert(r->ctx && r->st);
    cr_assert_eq(D.worker_init(r->ctx, &r->env), 0);
}

static enum wkp_dis_result feed(struct run *r, int dir, const uint8_t *p, size_t n, bool gap)
{
    struct wkp_dis_pkt pk = {
        .proto = IPPROTO_TCP,
        .dir = (uint8_t)dir,
        .flow_sport = 50000,
        .flow_dport = 443,
        .payload = p,
        .payload_len = (uint32_t)n,
        .gap = gap,
    };
    /* An exact-size heap copy: a read past the chunk shows under ASan. */
    uint8_t *copy = malloc(n ? n : 1);
    cr_assert(copy);
    memcpy(copy, p, n);
    struct wkp_cur c;
    wkp_cur_init(&c, copy, (uint32_t)n);
    enum wkp_dis_result res = D.parse(r->ctx, r->st, &pk, &c);
    free(copy);
    return res;
}

/* finish, then write: the tls object as text ("" when nothing). */
static const char *output(struct run *r)
{
    D.finish(r->ctx, r->st);
    struct wkp_buf b = {0};
    D.write(r->st, &b);
    wkp_buf_putc(&b, '\0');
    cr_assert(!b.oom);
    r->text = b.p;
    return r->text;
}

static void run_fini(struct run *r)
{
    D.release(r->ctx, r->st);
    D.worker_fini(r->ctx);
    free(r->ctx);
    free(r->st);
    free(r->text);
}

static bool has(const char *text, const char *s)
{
    return strstr(text, s) != NULL;
}

/* The ClientHello record: 4 + 120 = 124 bytes of message, 129 of record. */
static size_t ch_record(uint8_t *out)
{
    uint8_t msg[512];
    size_t n = message(msg, 1, ch_body, sizeof ch_body);
    return record(out, 22, 0x0301, msg, n);
}

static void expect_client_fields(const char *t)
{
    cr_expect(has(t, "\"version\":\"3.1\""), "%s", t);
    cr_expect(has(t, "\"sni\":[\"example.com\"]"), "%s", t);
    cr_expect(has(t, "\"alpn\":[\"h2\",\"http/1.1\"]"), "%s", t);
    cr_expect(has(t, "\"cipher_suites\":[2570,4865,49199]"), "%s", t); /* GREASE kept */
    cr_expect(has(t, "\"supported_groups\":[29,23]"), "%s", t);
    cr_expect(has(t, "\"signature_algorithms\":[1027,2052]"), "%s", t);
    cr_expect(has(t, "\"extensions\":[0,16,10,11,13,43]"), "%s", t);
    cr_expect(has(t, "\"record_length\":124"), "%s", t); /* 120 + 4 */
    cr_expect(has(t, "\"ja3\":\"" CH_JA3 "\""), "%s", t);
    cr_expect(has(t, "\"ja4\":\"" CH_JA4 "\""), "%s", t);
}

Test(tls, client_hello_split_over_three_chunks)
{
    uint8_t rec[512];
    size_t n = ch_record(rec);
    cr_assert_eq(n, 129);
    struct run r;
    run_init(&r);
    /* cut inside the record header, then inside the extensions */
    cr_expect_eq(feed(&r, 0, rec, 3, false), WKP_DIS_MORE);
    cr_expect_eq(feed(&r, 0, rec + 3, 57, false), WKP_DIS_MORE);
    cr_expect_eq(feed(&r, 0, rec + 60, n - 60, false), WKP_DIS_MORE);
    const char *t = output(&r);
    expect_client_fields(t);
    cr_expect(has(t, "\"handshake_types\":[1]"), "%s", t);
    cr_expect_eq(r.counters[C_MALFORMED] + r.counters[C_ABANDONED], 0);
    const char *names[4];
    cr_expect_eq(D.ext_protocol(r.st, names, 4), 2); /* ALPN h2 */
    cr_expect_str_eq(names[0], "TLS");
    cr_expect_str_eq(names[1], "HTTPS");
    run_fini(&r);
}

Test(tls, handshake_message_spanning_two_records)
{
    uint8_t msg[512], stream[600];
    size_t m = message(msg, 1, ch_body, sizeof ch_body);
    /* 40 bytes of the message in one record, the other 84 in the next */
    size_t n = record(stream, 22, 0x0301, msg, 40);
    n += record(stream + n, 22, 0x0301, msg + 40, m - 40);
    for (int cuts = 0; cuts < 2; cuts++) {
        struct run r;
        run_init(&r);
        if (cuts) { /* and each record in a chunk of its own */
            feed(&r, 0, stream, 45, false);
            feed(&r, 0, stream + 45, n - 45, false);
        } else {
            feed(&r, 0, stream, n, false);
        }
        const char *t = output(&r);
        expect_client_fields(t);
        run_fini(&r);
    }
}

Test(tls, server_hello_ccs_then_encrypted_handshake_skipped)
{
    uint8_t a[512], b[512], msg[512];
    size_t na = ch_record(a);
    size_t nb = record(b, 22, 0x0303, msg, message(msg, 2, sh_body, sizeof sh_body));
    static const uint8_t ccs[] = {1};
    nb += record(b + nb, 20, 0x0303, ccs, 1);
    /* The encrypted Finished: parsed as a handshake header it would claim
     * 0xffffff bytes and abandon the direction. */
    uint8_t enc[40];
    memset(enc, 0xff, sizeof enc);
    nb += record(b + nb, 22, 0x0303, enc, sizeof enc);
    struct run r;
    run_init(&r);
    cr_expect_eq(feed(&r, 0, a, na, false), WKP_DIS_MORE);
    cr_expect_eq(feed(&r, 1, b, nb, false), WKP_DIS_MORE);
    /* application data: the handshake fields are complete */
    static const uint8_t data[8] = {0};
    uint8_t app[32];
    size_t napp = record(app, 23, 0x0303, data, sizeof data);
    cr_expect_eq(feed(&r, 1, app, napp, false), WKP_DIS_DONE);
    const char *t = output(&r);
    cr_expect_eq(r.counters[C_ABANDONED], 0);
    cr_expect_eq(r.counters[C_MALFORMED], 0);
    cr_expect(has(t, "\"handshake_types\":[1,2]"), "%s", t);
    cr_expect(has(t, "\"content_types\":[20,22,23]"), "%s", t);
    cr_expect(has(t, "\"cipher_suite\":49199"), "%s", t);
    cr_expect(has(t, "\"negotiated_version\":\"3.3\""), "%s", t);
    cr_expect(has(t, "\"server_extensions\":[65281]"), "%s", t);
    /* the server went to ChangeCipherSpec without a certificate */
    cr_expect(has(t, "\"resumed\":true"), "%s", t);
    cr_expect(has(t, "\"ja3s\":\"" SH_JA3S "\""), "%s", t);
    run_fini(&r);
}

Test(tls, gap_then_resync_on_a_record_start)
{
    uint8_t rec[512];
    size_t n = ch_record(rec);
    struct run r;
    run_init(&r);
    feed(&r, 0, rec, 50, false); /* a ClientHello cut by lost bytes */
    /* after the gap: the middle of a record, skipped */
    cr_expect_eq(feed(&r, 0, rec + 80, 20, true), WKP_DIS_MORE);
    cr_expect_eq(r.counters[C_RESYNCED], 0);
    /* the next chunk starts a record: read again from there */
    feed(&r, 0, rec, n, false);
    cr_expect_eq(r.counters[C_RESYNCED], 1);
    cr_expect_eq(r.counters[C_ABANDONED], 0);
    expect_client_fields(output(&r));
    run_fini(&r);
}

Test(tls, bad_header_abandons_the_direction_until_a_record_starts)
{
    uint8_t a[64], rec[512];
    static const uint8_t alert[2] = {2, 40};
    size_t na = record(a, 21, 0x0303, alert, 2);
    memcpy(a + na, "GET / HTTP/1.1\r\n", 16); /* 'G' = 71 is no content type */
    struct run r;
    run_init(&r);
    cr_expect_eq(feed(&r, 0, a, na + 16, false), WKP_DIS_MORE);
    cr_expect_eq(r.counters[C_ABANDONED], 1);
    /* not a record start: still abandoned */
    feed(&r, 0, (const uint8_t *)"Host: x\r\n\r\n", 11, false);
    cr_expect_eq(r.counters[C_RESYNCED], 0);
    size_t n = ch_record(rec);
    feed(&r, 0, rec, n, false);
    cr_expect_eq(r.counters[C_RESYNCED], 1);
    const char *t = output(&r);
    expect_client_fields(t);
    /* content types 21 (alert) and 22 */
    cr_expect(has(t, "\"content_types\":[21,22]"), "%s", t);
    run_fini(&r);
}

Test(tls, abandon_drops_a_partly_kept_message)
{
    uint8_t msg[512], a[600], rec[512];
    message(msg, 1, ch_body, sizeof ch_body);
    /* 40 bytes of the ClientHello (kept, waiting for the rest), then a
     * header of type 0x47 ('G'): the part kept is dropped with the direction */
    size_t na = record(a, 22, 0x0301, msg, 40);
    memcpy(a + na, "GARBAGE", 7);
    struct run r;
    run_init(&r);
    feed(&r, 0, a, na + 7, false);
    cr_expect_eq(r.counters[C_ABANDONED], 1);
    feed(&r, 0, rec, ch_record(rec), false);
    cr_expect_eq(r.counters[C_RESYNCED], 1);
    expect_client_fields(output(&r));
    run_fini(&r);
}

Test(tls, huge_claimed_handshake_length_abandons_without_buffering)
{
    /* a record of 4 bytes: ClientHello header claiming 0xffffff (2^24 - 1)
     * bytes, more than any believable message */
    static const uint8_t rec[] = {22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff};
    struct run r;
    run_init(&r);
    cr_expect_eq(feed(&r, 0, rec, sizeof rec, false), WKP_DIS_MORE);
    cr_expect_eq(r.counters[C_ABANDONED], 1);
    cr_expect_eq(r.counters[C_MALFORMED], 1);
    /* a few MiB of "continuation" are skipped chunk by chunk, never kept */
    static uint8_t junk[65536];
    memset(junk, 0x41, sizeof junk);
    for (int i = 0; i < 64; i++)
        feed(&r, 0, junk, sizeof junk, false);
    cr_expect_eq(r.counters[C_ABANDONED], 1);
    cr_expect_eq(r.counters[C_NOT_TLS], 0); /* a record was seen: still TLS */
    /* a message that cannot be is not counted as seen: nothing to say */
    cr_expect_str_eq(output(&r), "");
    run_fini(&r);
}

Test(tls, garbage_certificate_der_is_kept_and_written)
{
    /* Certificate: list of 3 + 5 bytes holding one 5-byte "certificate"
     * that is no DER, then a second entry whose length (0x100000) runs
     * past the list. */
    static const uint8_t cert_body[] = {0x00, 0x00, 0x0b, 0x00, 0x00, 0x05, 1,
                                        2,    3,    4,    5,    0x10, 0x00, 0x00};
    uint8_t msg[64], out[128];
    size_t m = message(msg, 11, cert_body, sizeof cert_body);
    /* the list claims 11 bytes, the message holds 11 after the 3-byte length */
    size_t n = record(out, 22, 0x0303, msg, m);
    struct run r;
    run_init(&r);
    cr_expect_eq(feed(&r, 1, out, n, false), WKP_DIS_DONE); /* a chain: done */
    const char *t = output(&r);
    cr_expect(has(t, "\"certificates\":[{"), "%s", t);
    cr_expect(has(t, "\"handshake_types\":[11]"), "%s", t);
    cr_expect_eq(r.counters[C_TRUNC_CERTS], 1); /* the entry that lied */
    run_fini(&r);
}

Test(tls, not_tls_given_back_after_eight_chunks)
{
    struct run r;
    run_init(&r);
    enum wkp_dis_result res = WKP_DIS_MORE;
    int i = 0;
    for (; i < 20 && res == WKP_DIS_MORE; i++)
        res = feed(&r, i & 1, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17, false);
    cr_expect_eq(res, WKP_DIS_NOT_MINE);
    cr_expect_eq(i, 8);
    cr_expect_eq(r.counters[C_NOT_TLS], 1);
    cr_expect_str_eq(output(&r), "");
    run_fini(&r);
}

Test(tls, raw_fingerprints_behind_the_option)
{
    uint8_t rec[512];
    size_t n = ch_record(rec);
    struct run r;
    run_init(&r);
    r.opts[1] = "1"; /* tls.ja4_raw */
    feed(&r, 0, rec, n, false);
    const char *t = output(&r);
    cr_expect(has(t, "\"ja3_full\":\"771,4865-49199,0-16-10-11-13-43,29-23,0\""), "%s", t);
    cr_expect(has(t, "\"ja4_r\":\"t13d0206h2_1301,c02f_000a,000b,000d,002b_0403,0804\""), "%s", t);
    cr_expect(has(t, "\"ja4_o\":\"" CH_JA4_O "\""), "%s", t);
    cr_expect(has(t, "\"ja4_ro\":\"t13d0206h2_1301,c02f_0000,0010,000a,000b,000d,002b_0403,0804\""),
              "%s", t);
    run_fini(&r);
}

/* Both hellos with the option, the ServerHello read first: each keeps its
 * own texts, written in the documented order. */
Test(tls, raw_texts_of_both_hellos_in_order)
{
    uint8_t a[512], b[512], msg[512];
    size_t na = ch_record(a);
    size_t nb = record(b, 22, 0x0303, msg, message(msg, 2, sh_body, sizeof sh_body));
    struct run r;
    run_init(&r);
    r.opts[1] = "1"; /* tls.ja4_raw */
    feed(&r, 1, b, nb, false);
    feed(&r, 0, a, na, false);
    const char *t = output(&r);
    static const char *const order[] = {
        "\"ja3\":\"" CH_JA3 "\"",
        "\"ja3_full\":\"771,4865-49199,0-16-10-11-13-43,29-23,0\"",
        "\"ja3s\":\"" SH_JA3S "\"",
        "\"ja3s_full\":\"771,49199,65281\"",
        "\"ja4\":\"" CH_JA4 "\"",
        "\"ja4_r\":",
        "\"ja4_o\":\"" CH_JA4_O "\"",
        "\"ja4_ro\":",
    };
    const char *at = t;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *q = strstr(at, order[i]);
        cr_expect(q != NULL, "%s after ...%s", order[i], at);
        if (q)
            at = q;
    }
    run_fini(&r);
}

/* The fields complete (application data from the server) while the
 * ClientHello is cut after 100 bytes of its record: what came of it is read
 * at once, a cut is no malformation. 100 - 5 - 4 = 91 body bytes: the SNI
 * and ALPN extensions whole, supported_groups' header only. JA3 text
 * "771,4865-49199,0-16-10,,":
 * printf '771,4865-49199,0-16-10,,' | md5sum */
Test(tls, hello_cut_when_the_fields_complete_is_read)
{
    uint8_t rec[512], app[32];
    ch_record(rec);
    static const uint8_t data[8] = {0};
    size_t napp = record(app, 23, 0x0303, data, sizeof data);
    struct run r;
    run_init(&r);
    cr_expect_eq(feed(&r, 0, rec, 100, false), WKP_DIS_MORE);
    cr_expect_eq(feed(&r, 1, app, napp, false), WKP_DIS_DONE);
    const char *t = output(&r);
    cr_expect(has(t, "\"sni\":[\"example.com\"]"), "%s", t);
    cr_expect(has(t, "\"alpn\":[\"h2\",\"http/1.1\"]"), "%s", t);
    cr_expect(has(t, "\"cipher_suites\":[2570,4865,49199]"), "%s", t);
    cr_expect(has(t, "\"extensions\":[0,16,10]"), "%s", t);
    cr_expect(!has(t, "supported_groups"), "%s", t);
    cr_expect(has(t, "\"ja3\":\"e2bfb2fea13dde759e61d72a1ded4c91\""), "%s", t);
    cr_expect_eq(r.counters[C_MALFORMED], 0);
    run_fini(&r);
}

Test(tls, non_utf8_sni_escaped)
{
    uint8_t body[sizeof ch_body], rec[512], msg[512];
    memcpy(body, ch_body, sizeof body);
    /* "example.com" starts at 2+32+1+8+2+2 + 9 = 56: make it "\xe9xample.com" */
    cr_assert_eq(body[56], 'e');
    body[56] = 0xe9;
    size_t n = record(rec, 22, 0x0301, msg, message(msg, 1, body, sizeof body));
    struct run r;
    run_init(&r);
    feed(&r, 0, rec, n, false);
    const char *t = output(&r);
    cr_expect(has(t, "\"sni\":[\"\\u00e9xample.com\"]"), "%s", t);
    run_fini(&r);
}

Test(tls, probe_rules)
{
    uint8_t rec[512];
    size_t n = ch_record(rec);
    struct wkp_dis_pkt p = {.proto = IPPROTO_TCP, .payload = rec, .payload_len = (uint32_t)n};
    cr_expect(D.probe(NULL, &p, WKP_APP_FULL, false)); /* a whole record: any port */
    p.payload_len = 60;
    cr_expect(!D.probe(NULL, &p, WKP_APP_FULL, false)); /* cut: not on another port */
    cr_expect(D.probe(NULL, &p, WKP_APP_FULL, true));   /* a record start on 443 */
    static const uint8_t ka[1] = {0};
    p.payload = ka;
    p.payload_len = 1;
    cr_expect(!D.probe(NULL, &p, WKP_APP_FULL, true)); /* a keep-alive byte */
    static const uint8_t v5[5] = {22, 3, 5, 0, 0};     /* minor version 5 */
    p.payload = v5;
    p.payload_len = 5;
    cr_expect(!D.probe(NULL, &p, WKP_APP_FULL, false));
}

Test(tls_hello, short_body_keeps_what_was_read)
{
    struct wkp_tls_hello h;
    /* cut in the middle of the ALPN extension: SNI read, ALPN not */
    cr_expect_eq(wkp_tls_hello_parse(1, ch_body, 70, &h), WKP_TLS_HELLO_SHORT);
    cr_expect(h.has_sni);
    cr_expect_eq(h.sni_len, 11);
    cr_expect_eq(h.nsuites, 3);
    cr_expect_eq(h.nalpn, 0);
    cr_expect_eq(wkp_tls_hello_parse(1, ch_body, 20, &h), WKP_TLS_HELLO_BAD);
    cr_expect_eq(wkp_tls_hello_parse(1, ch_body, sizeof ch_body, &h), WKP_TLS_HELLO_OK);
    cr_expect_eq(wkp_tls_hello_version(&h), 0x0304);
    cr_expect_eq(h.nsuites_real, 2);
    cr_expect_eq(h.nexts_real, 6);
}

Test(tls_hello, alpn_ends_not_alphanumeric_give_hex_digits)
{
    struct wkp_tls_hello h;
    memset(&h, 0, sizeof h);
    h.type = 1;
    h.version = 0x0303;
    h.nalpn = 1;
    h.alpn0_first = 0xab; /* first hex digit of 0xab: a */
    h.alpn0_last = 0x2d;  /* '-': last hex digit of 0x2d: d */
    char raw[64];
    wkp_tls_ja4_raw(&h, 't', false, raw, sizeof raw);
    /* no suites, no extensions: "t12i0000ad__" */
    cr_expect_str_eq(raw, "t12i0000ad__");
    char j[37];
    wkp_tls_ja4(&h, 'q', false, NULL, j);
    cr_expect_str_eq(j, "q12i0000ad_000000000000_000000000000");
}

/* MD5 of s as 32 hex digits, straight from OpenSSL: what wkp_tls_ja3 must give. */
static void md5_hex(const char *s, size_t n, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    cr_assert_eq(EVP_Digest(s, n, d, &dl, EVP_md5(), NULL), 1);
    cr_assert_eq(dl, 16u);
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A hasher keeps the digests of recent texts: 291 client hellos drawn at
 * random from 97 distinct ones (more than its 64 slots, so texts evict
 * each other and come back), then one whose JA3 text is too long to keep.
 * Every JA3 is the MD5 of its text computed here, every JA4 the one-shot
 * one. */
Test(tls_hello, a_hasher_gives_the_one_shot_digests)
{
    struct wkp_tls_fp *fp = wkp_tls_fp_new();
    cr_assert_not_null(fp);
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int i = 0; i < 3 * 97 + 1; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bool long_one = i == 3 * 97;
        unsigned k = (unsigned)(x % 97);
        struct wkp_tls_hello h;
        memset(&h, 0, sizeof h);
        h.type = WKP_TLS_CLIENT_HELLO;
        h.version = 0x0303;
        h.nsuites = h.nsuites_seen = h.nsuites_real = long_one ? WKP_TLS_MAX_SUITES : 3;
        for (unsigned j = 0; j < h.nsuites; j++)
            h.suites[j] = (uint16_t)(long_one ? 0x1000 + j : 0xc000 + k * 3 + j);
        h.nexts = h.nexts_seen = h.nexts_real = 2;
        h.exts[0] = 0x000a;
        h.exts[1] = (uint16_t)(0x0010 + k % 5);
        char text[WKP_TLS_FP_TEXT], want[33], got[33], j1[37], j2[37];
        size_t n = wkp_tls_ja3_text(&h, text, sizeof text);
        if (long_one)
            cr_assert_gt(n, 512u, "a text longer than a hasher keeps (512 bytes)");
        md5_hex(text, n, want);
        wkp_tls_ja3(&h, fp, got);
        cr_expect_str_eq(got, want, "hello %d (%u): %s", i, k, text);
        wkp_tls_ja4(&h, 't', false, fp, j1);
        wkp_tls_ja4(&h, 't', false, NULL, j2);
        cr_expect_str_eq(j1, j2, "hello %d (%u)", i, k);
    }
    wkp_tls_fp_free(fp);
    wkp_tls_fp_free(NULL);
}
