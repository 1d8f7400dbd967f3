/* Unit tests for dissectors/http: the dissector's callbacks called
 * directly on hand-made streams, with a context and state allocated here.
 * Every expected record is written out by hand from the bytes fed. */
#include "dissectors/dissector.h"

#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct wkp_dissector wkp_dissector_http;
static const struct wkp_dissector *const D = &wkp_dissector_http;

/* counters in the order of counter_names */
enum { MALFORMED, LONG_LINES, TRUNCATED, GAPS };

static uint64_t counters[WKP_DIS_MAX_COUNTERS];
static const char *option_values[WKP_DIS_MAX_OPTIONS];
static struct wkp_dis_env env = {.counters = counters, .option_values = option_values};
static void *ctx, *state;
static struct wkp_buf out;

static void setup(void)
{
    memset(counters, 0, sizeof counters);
    ctx = calloc(1, D->worker_ctx_size);
    state = calloc(1, D->flow_state_size);
    cr_assert(ctx && state);
    cr_assert_eq(D->worker_init(ctx, &env), 0);
}

static void teardown(void)
{
    D->release(ctx, state); /* as the engine does when it takes the state back */
    free(ctx);
    free(state);
    wkp_buf_free(&out);
    memset(&out, 0, sizeof out);
}

TestSuite(http, .init = setup, .fini = teardown);

static enum wkp_dis_result feed_n(int dir, const void *p, size_t n, bool gap)
{
    struct wkp_dis_pkt pk = {.proto = IPPROTO_TCP,
                             .dir = (uint8_t)dir,
                             .payload = p,
                             .payload_len = (uint32_t)n,
                             .gap = gap};
    struct wkp_cur c;
    wkp_cur_init(&c, p, (uint32_t)n);
    return D->parse(ctx, state, &pk, &c);
}

static enum wkp_dis_result feed(int dir, const char *s)
{
    return feed_n(dir, s, strlen(s), false);
}

/* The record write() gives, NUL-terminated. */
static const char *record(void)
{
    out.len = 0;
    D->write(state, &out);
    wkp_buf_putc(&out, '\0');
    return out.p;
}

static const char *ext(void)
{
    const char *names[4];
    size_t n = D->ext_protocol(state, names, 4);
    return n == 1 ? names[0] : n == 0 ? "" : "?";
}

static const char REQ[] = "GET /index.html?q=1 HTTP/1.1\r\n"
                          "Host: example.com\r\n"
                          "User-Agent: unit/1.0\r\n"
                          "Accept: */*\r\n"
                          "\r\n";
static const char REQ_JSON[] =
    "{\"method\":\"GET\",\"path\":\"/index.html?q=1\",\"version\":\"HTTP/1.1\","
    "\"host\":\"example.com\",\"user_agent\":\"unit/1.0\","
    "\"headers\":{\"host\":\"example.com\",\"user-agent\":\"unit/1.0\",\"accept\":\"*/*\"},"
    "\"requests\":1,\"responses\":0}";

Test(http, registry_row_declares_stream_input_on_the_http_ports)
{
    cr_assert_str_eq(D->name, "http");
    cr_assert_eq(D->transport, IPPROTO_TCP);
    cr_assert_eq(D->input, WKP_DIS_STREAM);
    cr_assert_eq(D->nports, 3);
    cr_assert_eq(D->ports[0], 80);
    cr_assert_eq(D->ports[1], 8080);
    cr_assert_eq(D->ports[2], 8000);
    cr_assert_eq(wkp_dissector_find("http", 4) >= 0, true);
}

Test(http, request_split_over_three_chunks_parses)
{
    /* cuts inside the method, inside the target, inside a header name */
    size_t n = strlen(REQ), a = 2, b = 9, c = 40;
    cr_assert_eq(feed_n(0, REQ, a, false), WKP_DIS_MORE);
    cr_assert_str_eq(record(), "", "nothing before a whole start line");
    cr_assert_eq(feed_n(0, REQ + a, b - a, false), WKP_DIS_MORE);
    cr_assert_eq(feed_n(0, REQ + b, c - b, false), WKP_DIS_MORE);
    cr_assert_eq(feed_n(0, REQ + c, n - c, false), WKP_DIS_MORE);
    cr_assert_str_eq(record(), REQ_JSON);
    cr_assert_str_eq(ext(), "HTTP");
    cr_assert_eq(counters[MALFORMED] + counters[LONG_LINES] + counters[TRUNCATED], 0);
}

Test(http, header_block_split_mid_line_and_byte_by_byte_parses)
{
    size_t n = strlen(REQ);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(feed_n(0, REQ + i, 1, false), WKP_DIS_MORE);
    cr_assert_str_eq(record(), REQ_JSON);
}

Test(http, one_chunk_gives_the_same_record)
{
    cr_assert_eq(feed(0, REQ), WKP_DIS_MORE);
    cr_assert_str_eq(record(), REQ_JSON);
}

Test(http, pipelined_messages_with_length_and_chunked_bodies_are_counted)
{
    /* Bodies hold text that looks like start lines: counted only if scanned. */
    const char *up = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 19\r\n\r\n"
                     "GET /x HTTP/1.1\r\n\r\n" /* 19 bytes of body */
                     "POST /b HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                     "13;ext=1\r\nGET /y HTTP/1.1\r\n\r\n\r\n" /* 0x13 = 19 bytes */
                     "3\r\nabc\r\n0\r\nTrailer: x\r\n\r\n"
                     "HEAD /c HTTP/1.1\r\n\r\n"
                     "\r\n" /* an empty line between messages is allowed */
                     "GET /d HTTP/1.0\r\n\r\n";
    const char *down = "HTTP/1.1 100 Continue\r\n\r\n"
                       "HTTP/1.1 200 OK\r\nServer: s/1\r\nContent-Type: text/html\r\n"
                       "Content-Length: 17\r\n\r\nHTTP/1.1 200 OK\r\n" /* 17 bytes */
                       "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "11\r\nHTTP/1.1 200 OK\r\n\r\n0\r\n\r\n"          /* 0x11 = 17 bytes */
                       "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" /* HEAD: no body */
                       "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
                       "HTTP/1.0 200 OK\r\n\r\nrest of the connection";
    /* each split at every 7th byte; the requests go first, as on the wire */
    size_t nu = strlen(up), nd = strlen(down);
    for (size_t i = 0; i < nu; i += 7)
        cr_assert_eq(feed_n(0, up + i, nu - i < 7 ? nu - i : 7, false), WKP_DIS_MORE);
    for (size_t i = 0; i < nd; i += 7)
        feed_n(1, down + i, nd - i < 7 ? nd - i : 7, false);
    /* requests: POST /a, POST /b, HEAD /c, GET /d = 4; responses: 100,
     * 200, 201, 200 (to HEAD), 304, 200 = 6 */
    cr_assert_str_eq(record(),
                     "{\"method\":\"POST\",\"path\":\"/a\",\"version\":\"HTTP/1.1\",\"host\":\"h\","
                     "\"content_type\":\"text/plain\",\"content_length\":19,"
                     "\"headers\":{\"host\":\"h\",\"content-type\":\"text/plain\","
                     "\"content-length\":\"19\"},"
                     "\"status_code\":100,\"status_reason\":\"Continue\","
                     "\"response_version\":\"HTTP/1.1\",\"requests\":4,\"responses\":6}");
    cr_assert_eq(counters[MALFORMED], 0);
}

Test(http, first_final_response_fields_come_from_the_first_response)
{
    feed(0, "GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
    feed(1, "HTTP/1.1 301 Moved Permanently\r\nServer: gws\r\n"
            "Content-Type: text/html; charset=UTF-8\r\nContent-Length: 4\r\n\r\nbody"
            "HTTP/1.1 404 Not Found\r\nServer: other\r\nContent-Length: 0\r\n\r\n");
    cr_assert_str_eq(record(),
                     "{\"method\":\"GET\",\"path\":\"/\",\"version\":\"HTTP/1.1\",\"headers\":{},"
                     "\"status_code\":301,\"status_reason\":\"Moved Permanently\","
                     "\"response_version\":\"HTTP/1.1\",\"server\":\"gws\","
                     "\"response_content_type\":\"text/html; charset=UTF-8\","
                     "\"response_content_length\":4,\"requests\":2,\"responses\":2}");
}

Test(http, response_before_any_request_is_read_as_a_response)
{
    /* The capture starts with the reply, on the flow's first direction. */
    cr_assert_eq(feed(0, "HTTP/1.1 200 OK\r\nServer: Apache\r\nContent-Length: 3\r\n\r\nabc"),
                 WKP_DIS_MORE);
    cr_assert_str_eq(record(), "{\"status_code\":200,\"status_reason\":\"OK\","
                               "\"response_version\":\"HTTP/1.1\",\"server\":\"Apache\","
                               "\"response_content_length\":3,\"requests\":0,\"responses\":1}");
    cr_assert_str_eq(ext(), "HTTP");
    /* then a request the other way and a HEAD answered without a body */
    feed(1, "HEAD /h HTTP/1.1\r\n\r\n");
    feed(0, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 200 OK\r\n\r\n");
    cr_assert_str_eq(record(), "{\"method\":\"HEAD\",\"path\":\"/h\",\"version\":\"HTTP/1.1\","
                               "\"headers\":{},\"status_code\":200,\"status_reason\":\"OK\","
                               "\"response_version\":\"HTTP/1.1\",\"server\":\"Apache\","
                               "\"response_content_length\":3,\"requests\":1,\"responses\":3}");
}

Test(http, a_1_mib_header_line_is_counted_and_skipped)
{
    size_t big = 1u << 20;
    char *line = malloc(big + 64);
    cr_assert(line);
    int k = sprintf(line, "X-Big: ");
    memset(line + k, 'a', big - (size_t)k - 2);
    memcpy(line + big - 2, "\r\n", 2);
    feed(0, "GET /big HTTP/1.1\r\n");
    cr_assert_eq(feed_n(0, line, big, false), WKP_DIS_MORE); /* one chunk */
    feed(0, "Host: after\r\n\r\n");
    /* the same line again in the next request, in 1000-byte chunks */
    feed(0, "GET /big2 HTTP/1.1\r\n");
    for (size_t i = 0; i < big; i += 1000)
        feed_n(0, line + i, big - i < 1000 ? big - i : 1000, false);
    feed(0, "\r\n");
    free(line);
    cr_assert_str_eq(record(), "{\"method\":\"GET\",\"path\":\"/big\",\"version\":\"HTTP/1.1\","
                               "\"host\":\"after\",\"headers\":{\"host\":\"after\"},"
                               "\"requests\":2,\"responses\":0}");
    cr_assert_eq(counters[LONG_LINES], 2);
    cr_assert_eq(counters[MALFORMED], 0);
}

Test(http, the_state_inline_is_at_most_512_bytes)
{
    cr_assert_leq(D->flow_state_size, 512u);
    cr_assert_not_null(D->release);
}

Test(http, release_takes_a_zeroed_state_parse_never_saw_and_a_used_one)
{
    void *fresh = calloc(1, D->flow_state_size);
    cr_assert(fresh);
    D->release(ctx, fresh);
    free(fresh);
    /* a split line and a large request give this state heap memory; the
     * leak checker of a sanitizer run fails the test if release() left any */
    static char big[3000];
    int n = sprintf(big, "GET /%02000d HTTP/1.1\r\n", 0);
    feed_n(0, big, 10, false);
    feed_n(0, big + 10, (size_t)n - 10, false);
    D->release(ctx, state);
    D->release(ctx, state); /* twice is harmless: nothing is left */
}

Test(http, values_past_the_small_store_read_back_whole_split_anywhere)
{
    /* path 1000 bytes, 20 headers of 4-byte names and 100-byte values:
     * about 3 KiB kept, more than the state holds inline */
    static char req[8192], want[8192], path[1001], val[101];
    memset(path, 'p', 1000);
    path[0] = '/';
    memset(val, 'v', 100);
    int n = sprintf(req, "GET %s HTTP/1.1\r\n", path);
    int w = sprintf(want,
                    "{\"method\":\"GET\",\"path\":\"%s\",\"version\":\"HTTP/1.1\","
                    "\"host\":\"%s\",\"headers\":{",
                    path, val);
    for (int i = 0; i < 20; i++) {
        if (i == 0) {
            n += sprintf(req + n, "Host: %s\r\n", val);
            w += sprintf(want + w, "\"host\":\"%s\"", val);
        } else {
            n += sprintf(req + n, "X-%02d: %s\r\n", i, val);
            w += sprintf(want + w, ",\"x-%02d\":\"%s\"", i, val);
        }
    }
    n += sprintf(req + n, "\r\n");
    sprintf(want + w, "},\"requests\":1,\"responses\":0}");
    feed_n(0, req, (size_t)n, false);
    cr_assert_str_eq(record(), want);
    /* the same bytes in 7-byte chunks, on a fresh state */
    D->release(ctx, state);
    memset(state, 0, D->flow_state_size);
    for (int i = 0; i < n; i += 7)
        feed_n(0, req + i, (size_t)(n - i < 7 ? n - i : 7), false);
    cr_assert_str_eq(record(), want);
    cr_assert_eq(counters[TRUNCATED] + counters[LONG_LINES] + counters[MALFORMED], 0);
}

Test(http, a_line_of_exactly_8_kib_is_kept_one_more_byte_is_long)
{
    /* "X: " + value + "\r": 8192 bytes before the LF fit the buffer */
    static char l[8192 + 2];
    memset(l, 'v', sizeof l);
    memcpy(l, "X: ", 3);
    l[8191] = '\r';
    l[8192] = '\n';
    feed(0, "GET / HTTP/1.1\r\n");
    feed_n(0, l, 100, false);
    feed_n(0, l + 100, 8193 - 100, false);
    cr_assert_eq(counters[LONG_LINES], 0);
    l[8192] = 'v';
    l[8193] = '\n';
    feed_n(0, l, 100, false);
    feed_n(0, l + 100, 8194 - 100, false);
    cr_assert_eq(counters[LONG_LINES], 1);
}

Test(http, long_values_are_cut_and_marked)
{
    static char req[4096];
    char host[300];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = 0;
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host);
    feed(0, req);
    const char *r = record();
    /* 256 of the 299 bytes are kept */
    char want[400];
    snprintf(want, sizeof want, "\"host\":\"%.256s\"", host);
    cr_assert_not_null(strstr(r, want));
    cr_assert_not_null(strstr(r, ",\"truncated\":[\"host\",\"headers\"]}"));
    cr_assert_eq(counters[TRUNCATED], 2);
}

Test(http, header_map_keeps_32_names_and_the_first_value_each)
{
    static char req[4096];
    int n = sprintf(req, "GET / HTTP/1.1\r\nA: first\r\na: second\r\n");
    for (int i = 0; i < 40; i++)
        n += sprintf(req + n, "H%d: %d\r\n", i, i);
    sprintf(req + n, "\r\n");
    feed(0, req);
    const char *r = record();
    cr_assert_not_null(strstr(r, "\"headers\":{\"a\":\"first\",\"h0\":\"0\","));
    cr_assert_not_null(strstr(r, "\"h30\":\"30\"}")); /* a + h0..h30 = 32 names */
    cr_assert_null(strstr(r, "\"h31\""));
    cr_assert_not_null(strstr(r, "\"truncated\":[\"headers\"]"));
}

/* A map entry's lengths sit in the store beside it: a value of 256 bytes
 * (the cap; needs a two-byte length) and a name of 64 (the cap), then a
 * 255-byte value, all read back whole, in order, the name lower-cased. */
Test(http, map_entries_at_the_length_caps_read_back_whole)
{
    static char req[4096], want[4096];
    char name[65], lname[65], v256[257], v255[256];
    memset(name, 'N', 64);
    name[64] = 0;
    memset(lname, 'n', 64);
    lname[64] = 0;
    memset(v256, 'a', 256);
    v256[256] = 0;
    memset(v255, 'b', 255);
    v255[255] = 0;
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\n%s: %s\r\nZ: %s\r\n\r\n", name, v256, v255);
    snprintf(want, sizeof want,
             "{\"method\":\"GET\",\"path\":\"/\",\"version\":\"HTTP/1.1\","
             "\"headers\":{\"%s\":\"%s\",\"z\":\"%s\"},\"requests\":1,\"responses\":0}",
             lname, v256, v255);
    feed(0, req);
    cr_assert_str_eq(record(), want);
    cr_assert_eq(counters[TRUNCATED], 0);
}

Test(http, non_http_bytes_are_not_mine)
{
    cr_assert_eq(feed(0, "SSH-2.0-OpenSSH_8.9\r\n"), WKP_DIS_NOT_MINE);
}

Test(http, binary_without_a_line_end_is_not_mine_after_8_kib)
{
    static uint8_t tls[9000];
    memset(tls, 0x16, sizeof tls);
    cr_assert_eq(feed_n(0, tls, 8000, false), WKP_DIS_MORE); /* may still be a line */
    cr_assert_eq(feed_n(0, tls + 8000, 1000, false), WKP_DIS_MORE);
    cr_assert_eq(counters[LONG_LINES], 1);
    /* the long line ends: a start line longer than 8 KiB is no HTTP */
    cr_assert_eq(feed_n(0, "\n", 1, false), WKP_DIS_NOT_MINE);
}

Test(http, non_http_after_a_message_loses_sync_but_keeps_the_record)
{
    feed(0, REQ);
    cr_assert_eq(feed(0, "garbage line\r\n"), WKP_DIS_MORE);
    cr_assert_eq(counters[MALFORMED], 1);
    /* the other direction still counts; its end makes the flow done */
    cr_assert_eq(feed(1, "HTTP/1.1 200 OK\r\n\r\nbody to the end"), WKP_DIS_DONE);
    cr_assert_not_null(strstr(record(), "\"requests\":1,\"responses\":1}"));
}

Test(http, bad_content_length_and_chunk_size_lose_sync)
{
    feed(0, "POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    cr_assert_eq(counters[MALFORMED], 1);
    feed(1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
            "HTTP/1.1 200 OK\r\n\r\n");
    cr_assert_eq(counters[MALFORMED], 2);
    cr_assert_not_null(strstr(record(), "\"requests\":1,\"responses\":1}"));
}

Test(http, connect_answered_2xx_makes_a_tunnel)
{
    feed(0, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    cr_assert_eq(feed(1, "HTTP/1.1 200 Connection established\r\n\r\n"), WKP_DIS_DONE);
}

Test(http, a_gap_keeps_only_a_message_starting_at_it)
{
    feed(0, "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
    /* bytes lost, then the next request starts exactly at the chunk */
    feed_n(0, "GET /2 HTTP/1.1\r\n\r\n", 19, true);
    cr_assert_eq(counters[GAPS], 1);
    cr_assert_not_null(strstr(record(), "\"requests\":2"));
    /* lost again, mid-body this time: the direction stops, not malformed */
    feed_n(0, "xyz\r\nGET /3 HTTP/1.1\r\n\r\n", 24, true);
    cr_assert_eq(counters[GAPS], 2);
    cr_assert_eq(counters[MALFORMED], 0);
    cr_assert_not_null(strstr(record(), "\"requests\":2"));
}

Test(http, wire_bytes_are_written_as_valid_json)
{
    feed(0, "GET /caf\xe9\"\\ HTTP/1.1\r\nUser-Agent: \x01\r\n\r\n");
    cr_assert_not_null(strstr(record(), "\"path\":\"/caf\\u00e9\\\"\\\\\""));
    cr_assert_not_null(strstr(record(), "\"user_agent\":\"\\u0001\""));
}

static bool probe(const char *s, bool port_match)
{
    struct wkp_dis_pkt pk = {
        .proto = IPPROTO_TCP, .payload = (const uint8_t *)s, .payload_len = (uint32_t)strlen(s)};
    return D->probe(ctx, &pk, WKP_APP_FULL, port_match);
}

Test(http, probe_needs_a_whole_request_line_off_port_and_a_start_on_port)
{
    cr_assert(probe("GET / HTTP/1.1\r\n", false));
    cr_assert(probe("OPTIONS * HTTP/1.0\r\n", false));
    cr_assert(probe("HTTP/1.1 200 OK\r\n", false));
    cr_assert(!probe("GET / HTTP/2\r\n", false));
    cr_assert(!probe("GET /", false));
    cr_assert(!probe("FETCH / HTTP/1.1\r\n", false));
    cr_assert(!probe("get / HTTP/1.1\r\n", false));
    cr_assert(!probe("HTTP/1.1 2x0 OK\r\n", false));
    /* on port 80/8080/8000 the start of one is enough: it may be split */
    cr_assert(probe("GE", true));
    cr_assert(probe("POST /upload", true));
    cr_assert(probe("HTTP/1.", true));
    cr_assert(!probe("\x16\x03\x01", true));
    cr_assert(!probe("SSH-2.0-OpenSSH", true));
}
