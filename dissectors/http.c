/* HTTP/1.x over TCP: the first request's and the first response's fields,
 * and how many requests and responses the stream carried.
 *
 * A stream dissector: each direction's in-order bytes are cut into lines
 * (LF, an optional CR before it dropped) and fed to a per-direction state
 * machine: start line, header lines, then the body, which is skipped by
 * its framing (Content-Length, or chunked: sizes read, data skipped) and
 * never scanned, so pipelined and keep-alive messages are each counted.
 * Which side is the client is decided by content, message by message: a
 * request line is a request whatever its direction, so a capture that
 * starts with the reply is read right.
 *
 * Runs on the worker that owns the flow. Memory is bounded and sized to
 * what is kept. The state is at most 512 bytes: the parse of each direction,
 * the counts, and the kept values while they fit its small store. A line
 * is read in place in the chunk; only a line split across chunks is
 * copied, into a heap buffer of its direction taken then, grown by
 * doubling up to 8 KiB and kept for the flow's next split lines; a longer
 * line is counted ("long_lines") and skipped up to its LF, never stored.
 * Kept values (capped, see docs/output.md, `http`, and marked truncated
 * when cut) and the header map go into one store that moves to the heap
 * and grows by doubling once the small one is full, up to the sum of the
 * caps. release() frees both. Out of memory, a value is cut (marked
 * truncated) and a split line skipped as a long one.
 *
 * The engine keeps at most the first 64 KiB of each direction for a
 * stream dissector, so the counts are those of that prefix. The answer is
 * DONE once neither direction can be read any more (a body running to the
 * end of the connection, a tunnel after CONNECT or 101, lost sync), NOT
 * MINE when the first start line seen is not HTTP. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dissectors/dissector.h"

#define HTTP_LINE_CAP      8192u /* a line split across chunks, per direction */
#define HTTP_LINE_MIN      256u  /* a line buffer's first size, doubled as needed */
#define HTTP_STORE_HEAP    1024u /* the heap store's first size, doubled as needed */
#define HTTP_STATE_MAX     512u  /* the state inline */
#define HTTP_PATH_CAP      1024u
#define HTTP_HOST_CAP      256u
#define HTTP_UA_CAP        256u
#define HTTP_TEXT_CAP      128u /* content types, server, reason phrase */
#define HTTP_VERSION_CAP   16u
#define HTTP_HDR_MAX       32u /* names in the header map */
#define HTTP_HDR_NAME_CAP  64u
#define HTTP_HDR_VALUE_CAP 256u
#define HTTP_HDR_ARENA     4096u /* names and values of the map together */
#define HTTP_CHUNK_HEX_MAX 15u   /* hex digits of a chunk size: below 2^60 */
#define HTTP_HDR_HEAD      3u    /* a map entry's lengths in the store: name 1, value 2 */
/* Everything kept, when every value and the map are full. */
#define HTTP_STORE_MAX                                                                             \
    (HTTP_PATH_CAP + 2 * HTTP_VERSION_CAP + HTTP_HOST_CAP + HTTP_UA_CAP + 4 * HTTP_TEXT_CAP +      \
     HTTP_HDR_ARENA + HTTP_HDR_MAX * HTTP_HDR_HEAD)
_Static_assert(HTTP_STORE_MAX <= UINT16_MAX, "store offsets are 16-bit");
/* Host, User-Agent and Content-Type point into the map's copy when it has one. */
_Static_assert(HTTP_HOST_CAP <= HTTP_HDR_VALUE_CAP && HTTP_UA_CAP <= HTTP_HDR_VALUE_CAP &&
                   HTTP_TEXT_CAP <= HTTP_HDR_VALUE_CAP,
               "a kept header value is a prefix of its map value");

enum { C_MALFORMED, C_LONG_LINES, C_TRUNCATED, C_GAPS, C_N };
static const char *const http_counters[] = {"malformed", "long_lines", "truncated", "gaps"};

/* What a direction is reading. REST: the rest of the direction is no HTTP
 * (a body running to the close, a tunnel); LOST: sync was lost. */
enum mode {
    M_START,
    M_HEADERS,
    M_BODY,
    M_CHUNK_SIZE,
    M_CHUNK_DATA,
    M_CHUNK_END,
    M_TRAILER,
    M_REST,
    M_LOST
};

enum msg { MSG_NONE, MSG_REQ, MSG_RESP };

/* Fields that may be cut: their bit in `truncated`, their output name. */
enum {
    T_PATH,
    T_VERSION,
    T_HOST,
    T_UA,
    T_CTYPE,
    T_HEADERS,
    T_RVERSION,
    T_REASON,
    T_RCTYPE,
    T_SERVER,
    T_N
};
static const char *const trunc_names[T_N] = {
    "path",
    "version",
    "host",
    "user_agent",
    "content_type",
    "headers",
    "response_version",
    "status_reason",
    "response_content_type",
    "server",
};

static const char *const methods[] = {"GET",     "POST",  "HEAD",    "PUT",  "DELETE",
                                      "OPTIONS", "PATCH", "CONNECT", "TRACE"};
#define NMETHODS       (sizeof methods / sizeof methods[0])
#define METHOD_HEAD    2u
#define METHOD_CONNECT 7u

struct http_dir {
    uint64_t clen; /* Content-Length of the message being read */
    uint64_t left; /* body or chunk bytes still to skip */
    uint8_t *line; /* heap, line_cap bytes: a line split across chunks; NULL until one is */
    uint32_t line_len;
    uint16_t line_cap;
    uint16_t status; /* of the response being read */
    uint8_t mode;    /* enum mode */
    uint8_t msg;     /* enum msg: the message whose headers are being read */
    uint8_t keep;    /* that message is the flow's first of its kind: keep its fields */
    uint8_t discard; /* inside a line longer than HTTP_LINE_CAP: drop bytes up to its LF */
    uint8_t resync;  /* after a gap: the next line must be a start line */
    uint8_t chunked, has_len, bad_len, te_other;
};

/* A kept value: len bytes at off in the store. */
struct ref {
    uint16_t off, len;
};

/* A map entry lives in the store: its name's length (1 byte), its value's
 * (2 bytes, little-endian), the lower-case name, then the value; the state
 * keeps only each entry's offset, 2 bytes instead of a fixed 8-byte row;
 * struct http_hdr is an entry read back. */
struct http_hdr {
    uint16_t name_off, value_off, value_len;
    uint8_t name_len;
};

#define HTTP_SMALL 240u /* the store inline: fills the state up to HTTP_STATE_MAX */

struct http_state {
    struct http_dir dir[2];
    uint64_t head_mask;    /* request i (< 64) was HEAD */
    uint64_t connect_mask; /* request i (< 64) was CONNECT */
    uint64_t req_clen, resp_clen;
    uint32_t requests, responses;
    uint32_t finals; /* responses other than 1xx */
    uint32_t early;  /* final responses seen before any request: answers to unseen ones */
    /* The store of kept values: `small` until they outgrow it, then heap,
     * store_cap bytes (store_len used). Offsets stay valid across moves. */
    char *heap;
    uint16_t store_len, store_cap;
    uint16_t truncated; /* 1 << T_* */
    uint16_t status_code;
    uint16_t arena_len; /* bytes of the map's names and values */
    uint8_t method;     /* index into methods */
    uint8_t nhdr;
    uint8_t has_req_clen, has_resp_clen, has_host, has_ua, has_ctype, has_rctype, has_server;
    /* first request */
    struct ref path, version, host, ua, ctype;
    /* first response */
    struct ref rversion, reason, rctype, server;
    uint16_t hdr[HTTP_HDR_MAX]; /* each map entry's offset in the store */
    char small[HTTP_SMALL];
};
_Static_assert(sizeof(struct http_state) <= HTTP_STATE_MAX, "the state is at most 512 bytes");

/* Map entry i, read back from the store. */
static struct http_hdr hdr_at(const struct http_state *s, const char *st, unsigned i)
{
    const uint8_t *b = (const uint8_t *)st + s->hdr[i];
    struct http_hdr h;
    h.name_len = b[0];
    h.value_len = (uint16_t)(b[1] | b[2] << 8);
    h.name_off = (uint16_t)(s->hdr[i] + HTTP_HDR_HEAD);
    h.value_off = (uint16_t)(h.name_off + h.name_len);
    return h;
}

struct http_ctx {
    uint64_t *counters; /* this worker's, from worker_init */
};

static void count(struct http_ctx *x, unsigned i)
{
    if (x->counters)
        x->counters[i]++;
}

static int http_init(void *ctx, const struct wkp_dis_env *env)
{
    ((struct http_ctx *)ctx)->counters = env->counters;
    return 0;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* n bytes at p equal the lower-case ASCII word w, case-insensitively. */
static bool word_is(const uint8_t *p, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n != k)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != (uint8_t)w[i])
            return false;
    return true;
}

static bool is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static void trim(const uint8_t **p, size_t *n)
{
    while (*n && is_ows((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_ows((*p)[*n - 1]))
        (*n)--;
}

static const char *store_of(const struct http_state *s)
{
    return s->heap ? s->heap : s->small;
}

/* Room for n more bytes in the store; false when out of memory. */
static bool store_room(struct http_state *s, size_t n)
{
    size_t need = (size_t)s->store_len + n;
    size_t cap = s->heap ? s->store_cap : HTTP_SMALL;
    if (need <= cap)
        return true;
    if (need > HTTP_STORE_MAX)
        return false; /* not reached: every value is stored once, capped */
    size_t ncap = s->heap ? cap * 2 : HTTP_STORE_HEAP;
    while (ncap < need)
        ncap *= 2;
    if (ncap > HTTP_STORE_MAX)
        ncap = HTTP_STORE_MAX;
    char *h = realloc(s->heap, ncap);
    if (!h)
        return false;
    if (!s->heap)
        memcpy(h, s->small, s->store_len);
    s->heap = h;
    s->store_cap = (uint16_t)ncap;
    return true;
}

/* Append n bytes the store has room for; their offset. */
static uint16_t store_add(struct http_state *s, const void *src, size_t n)
{
    uint16_t off = s->store_len;
    memcpy((s->heap ? s->heap : s->small) + off, src, n);
    s->store_len = (uint16_t)(off + n);
    return off;
}

static void mark(struct http_ctx *x, struct http_state *s, unsigned bit)
{
    s->truncated = (uint16_t)(s->truncated | 1u << bit);
    count(x, C_TRUNCATED);
}

/* Keep up to cap bytes of a value; a longer one is cut and marked. */
static struct ref keep(struct http_ctx *x, struct http_state *s, unsigned bit, size_t cap,
                       const uint8_t *src, size_t n)
{
    bool cut = n > cap;
    if (cut)
        n = cap;
    struct ref r = {0, 0};
    if (store_room(s, n)) {
        r.len = (uint16_t)n;
        r.off = store_add(s, src, n);
    } else {
        cut = true;
    }
    if (cut)
        mark(x, s, bit);
    return r;
}

/* Keep up to cap bytes of a value whose first bytes the map holds (m). */
static struct ref keep_mapped(struct http_ctx *x, struct http_state *s, unsigned bit, size_t cap,
                              struct ref m, size_t n)
{
    if (n > cap) {
        n = cap;
        mark(x, s, bit);
    }
    return (struct ref){m.off, (uint16_t)n};
}

/* Index of the method the n bytes at p name, or -1. */
static int method_of(const uint8_t *p, size_t n)
{
    for (unsigned i = 0; i < NMETHODS; i++)
        if (strlen(methods[i]) == n && memcmp(methods[i], p, n) == 0)
            return (int)i;
    return -1;
}

/* Content-Length: 1*DIGIT; false if not, or if it would pass 2^63. */
static bool parse_len(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (UINT64_C(1) << 59))
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return true;
}

/* A map entry for the first request's header name (lower-cased, first
 * value kept). true: an entry was made, its value at *v. */
static bool map_add(struct http_ctx *x, struct http_state *s, const uint8_t *name, size_t nlen,
                    const uint8_t *val, size_t vlen, struct ref *v)
{
    const char *st = store_of(s);
    bool made = false;
    uint8_t lname[HTTP_HDR_NAME_CAP];
    bool cut = false;
    if (nlen > HTTP_HDR_NAME_CAP) {
        nlen = HTTP_HDR_NAME_CAP;
        cut = true;
    }
    for (size_t i = 0; i < nlen; i++)
        lname[i] = lower(name[i]);
    for (unsigned i = 0; i < s->nhdr; i++) {
        struct http_hdr h = hdr_at(s, st, i);
        if (h.name_len == nlen && memcmp(st + h.name_off, lname, nlen) == 0)
            return false;
    }
    if (vlen > HTTP_HDR_VALUE_CAP) {
        vlen = HTTP_HDR_VALUE_CAP;
        cut = true;
    }
    if (s->nhdr == HTTP_HDR_MAX || s->arena_len + nlen + vlen > HTTP_HDR_ARENA ||
        !store_room(s, HTTP_HDR_HEAD + nlen + vlen)) {
        cut = true;
    } else {
        const uint8_t head[HTTP_HDR_HEAD] = {(uint8_t)nlen, (uint8_t)vlen, (uint8_t)(vlen >> 8)};
        s->hdr[s->nhdr++] = store_add(s, head, HTTP_HDR_HEAD);
        store_add(s, lname, nlen);
        uint16_t value_off = store_add(s, val, vlen);
        s->arena_len = (uint16_t)(s->arena_len + nlen + vlen);
        *v = (struct ref){value_off, (uint16_t)vlen};
        made = true;
    }
    if (cut) {
        if (!(s->truncated & 1u << T_HEADERS))
            count(x, C_TRUNCATED);
        s->truncated = (uint16_t)(s->truncated | 1u << T_HEADERS);
    }
    return made;
}

/* Room for need bytes in direction d's line buffer; false when out of memory. */
static bool line_room(struct http_dir *d, uint32_t need)
{
    if (need <= d->line_cap)
        return true;
    uint32_t cap = d->line_cap ? d->line_cap : HTTP_LINE_MIN;
    while (cap < need)
        cap *= 2;
    if (cap > HTTP_LINE_CAP)
        cap = HTTP_LINE_CAP;
    uint8_t *l = realloc(d->line, cap);
    if (!l)
        return false;
    d->line = l;
    d->line_cap = (uint16_t)cap;
    return true;
}

/* The next whole line of direction d, from its buffer and the chunk.
 * 1: the line is at *line, *len bytes (CR dropped; *len 0 and *lng set for a line past
 * HTTP_LINE_CAP, already counted); 0: the chunk ends inside a line. */
static int take_line(struct http_ctx *x, struct http_dir *d, struct wkp_cur *c,
                     const uint8_t **line, uint32_t *len, bool *lng)
{
    uint32_t left = wkp_cur_left(c);
    const uint8_t *s = c->p + c->off;
    const uint8_t *lf = memchr(s, '\n', left);
    uint32_t n = lf ? (uint32_t)(lf - s) : left;
    *lng = false;
    wkp_cur_skip(c, lf ? (uint64_t)n + 1 : n);
    if (d->discard) {
        if (!lf)
            return 0;
        d->discard = 0;
        *lng = true;
        *len = 0;
        return 1;
    }
    if ((uint64_t)d->line_len + n > HTTP_LINE_CAP ||
        ((d->line_len || !lf) && !line_room(d, d->line_len + n))) {
        count(x, C_LONG_LINES);
        d->line_len = 0;
        if (!lf) {
            d->discard = 1;
            return 0;
        }
        *lng = true;
        *len = 0;
        return 1;
    }
    if (!lf) {
        memcpy(d->line + d->line_len, s, n);
        d->line_len += n;
        return 0;
    }
    if (d->line_len == 0) {
        *line = s;
        *len = n;
    } else {
        memcpy(d->line + d->line_len, s, n);
        *line = d->line;
        *len = d->line_len + n;
        d->line_len = 0;
    }
    if (*len && (*line)[*len - 1] == '\r')
        (*len)--;
    return 1;
}

/* Both directions stop being read (a tunnel after CONNECT or 101). */
static void to_rest(struct http_state *s)
{
    for (int i = 0; i < 2; i++)
        if (s->dir[i].mode != M_LOST)
            s->dir[i].mode = M_REST;
}

/* A request line: METHOD SP target SP HTTP/version. */
static bool start_request(struct http_ctx *x, struct http_state *s, struct http_dir *d,
                          const uint8_t *l, uint32_t n)
{
    const uint8_t *sp1 = memchr(l, ' ', n);
    if (!sp1)
        return false;
    int m = method_of(l, (size_t)(sp1 - l));
    const uint8_t *sp2 = NULL;
    for (uint32_t i = n; i > (uint32_t)(sp1 - l) + 1; i--)
        if (l[i - 1] == ' ') {
            sp2 = l + i - 1;
            break;
        }
    if (m < 0 || !sp2)
        return false;
    const uint8_t *ver = sp2 + 1;
    size_t vlen = (size_t)(l + n - ver);
    if (vlen < 5 || memcmp(ver, "HTTP/", 5) != 0)
        return false;
    d->msg = MSG_REQ;
    d->keep = s->requests == 0;
    if (s->requests < 64) {
        if ((unsigned)m == METHOD_HEAD)
            s->head_mask |= UINT64_C(1) << s->requests;
        if ((unsigned)m == METHOD_CONNECT)
            s->connect_mask |= UINT64_C(1) << s->requests;
    }
    s->requests++;
    if (d->keep) {
        s->method = (uint8_t)m;
        s->path = keep(x, s, T_PATH, HTTP_PATH_CAP, sp1 + 1, (size_t)(sp2 - sp1 - 1));
        s->version = keep(x, s, T_VERSION, HTTP_VERSION_CAP, ver, vlen);
    }
    return true;
}

/* A status line: HTTP/version SP 3DIGIT [SP reason]. */
static bool start_response(struct http_ctx *x, struct http_state *s, struct http_dir *d,
                           const uint8_t *l, uint32_t n)
{
    if (n < 12 || memcmp(l, "HTTP/", 5) != 0)
        return false;
    const uint8_t *sp = memchr(l, ' ', n);
    if (!sp)
        return false;
    size_t vlen = (size_t)(sp - l), rest = n - vlen - 1;
    const uint8_t *code = sp + 1;
    if (rest < 3 || (rest > 3 && code[3] != ' '))
        return false;
    uint16_t st = 0;
    for (int i = 0; i < 3; i++) {
        if (code[i] < '0' || code[i] > '9')
            return false;
        st = (uint16_t)(st * 10 + (code[i] - '0'));
    }
    d->msg = MSG_RESP;
    d->status = st;
    d->keep = s->responses == 0;
    s->responses++;
    if (d->keep) {
        s->status_code = st;
        s->rversion = keep(x, s, T_RVERSION, HTTP_VERSION_CAP, l, vlen);
        const uint8_t *r = rest > 3 ? code + 4 : code + 3;
        s->reason = keep(x, s, T_REASON, HTTP_TEXT_CAP, r, rest > 3 ? rest - 4 : 0);
    }
    return true;
}

/* The start line of a message; false: not HTTP. */
static bool start_line(struct http_ctx *x, struct http_state *s, struct http_dir *d,
                       const uint8_t *l, uint32_t n)
{
    d->chunked = d->has_len = d->bad_len = d->te_other = 0;
    d->clen = 0;
    d->status = 0;
    d->keep = 0;
    d->msg = MSG_NONE;
    if (n >= 5 && memcmp(l, "HTTP/", 5) == 0)
        return start_response(x, s, d, l, n);
    return start_request(x, s, d, l, n);
}

/* One header line of the message being read. */
static void header_line(struct http_ctx *x, struct http_state *s, struct http_dir *d,
                        const uint8_t *l, uint32_t n)
{
    if (is_ows(l[0])) /* an obsolete folded continuation: ignored */
        return;
    const uint8_t *colon = memchr(l, ':', n);
    if (!colon) {
        count(x, C_MALFORMED);
        return;
    }
    const uint8_t *name = l, *val = colon + 1;
    size_t nlen = (size_t)(colon - l), vlen = n - nlen - 1;
    trim(&name, &nlen);
    trim(&val, &vlen);
    if (word_is(name, nlen, "content-length")) {
        uint64_t v;
        if (!parse_len(val, vlen, &v) || (d->has_len && v != d->clen)) {
            d->bad_len = 1;
        } else {
            d->has_len = 1;
            d->clen = v;
        }
    } else if (word_is(name, nlen, "transfer-encoding")) {
        /* chunked must be the last coding (RFC 9112, section 6.3) */
        size_t i = vlen;
        while (i && val[i - 1] != ',')
            i--;
        const uint8_t *last = val + i;
        size_t llen = vlen - i;
        trim(&last, &llen);
        d->chunked = word_is(last, llen, "chunked");
        d->te_other = !d->chunked;
    }
    if (!d->keep)
        return;
    if (d->msg == MSG_REQ) {
        /* the map first: a kept Host, User-Agent or Content-Type is then
         * the start of its map value, stored once */
        struct ref m = {0, 0};
        bool mapped = nlen && map_add(x, s, name, nlen, val, vlen, &m);
        struct ref *dst = NULL;
        unsigned bit = 0;
        size_t cap = 0;
        if (word_is(name, nlen, "host") && !s->has_host) {
            s->has_host = 1;
            dst = &s->host, bit = T_HOST, cap = HTTP_HOST_CAP;
        } else if (word_is(name, nlen, "user-agent") && !s->has_ua) {
            s->has_ua = 1;
            dst = &s->ua, bit = T_UA, cap = HTTP_UA_CAP;
        } else if (word_is(name, nlen, "content-type") && !s->has_ctype) {
            s->has_ctype = 1;
            dst = &s->ctype, bit = T_CTYPE, cap = HTTP_TEXT_CAP;
        }
        if (dst)
            *dst = mapped ? keep_mapped(x, s, bit, cap, m, vlen) : keep(x, s, bit, cap, val, vlen);
    } else {
        if (word_is(name, nlen, "server") && !s->has_server) {
            s->has_server = 1;
            s->server = keep(x, s, T_SERVER, HTTP_TEXT_CAP, val, vlen);
        } else if (word_is(name, nlen, "content-type") && !s->has_rctype) {
            s->has_rctype = 1;
            s->rctype = keep(x, s, T_RCTYPE, HTTP_TEXT_CAP, val, vlen);
        }
    }
}

/* The empty line after the headers: the body's framing (RFC 9112,
 * section 6.3) decides what comes next. */
static void headers_done(struct http_ctx *x, struct http_state *s, struct http_dir *d)
{
    if (d->keep && d->has_len && !d->bad_len) {
        if (d->msg == MSG_REQ) {
            s->has_req_clen = 1;
            s->req_clen = d->clen;
        } else {
            s->has_resp_clen = 1;
            s->resp_clen = d->clen;
        }
    }
    bool body = true;
    if (d->msg == MSG_RESP) {
        if (d->status < 200) {
            if (d->status == 101) /* switching protocols: no HTTP follows */
                to_rest(s);
            else
                d->mode = M_START;
            return;
        }
        /* the n-th final response answers the n-th request, not counting
         * the answers to requests sent before the capture began */
        uint32_t req = UINT32_MAX;
        if (s->requests == 0)
            s->early++;
        else
            req = s->finals - s->early;
        s->finals++;
        if (req < 64 && (s->connect_mask >> req & 1) && d->status < 300) {
            to_rest(s);
            return;
        }
        if ((req < 64 && (s->head_mask >> req & 1)) || d->status == 204 || d->status == 304)
            body = false;
    } else if (d->msg == MSG_REQ && s->requests <= 64 &&
               (s->connect_mask >> (s->requests - 1) & 1)) {
        d->mode = M_REST; /* the client's bytes after CONNECT belong to the tunnel */
        return;
    }
    if (!body) {
        d->mode = M_START;
    } else if (d->chunked) {
        d->mode = M_CHUNK_SIZE;
    } else if (d->bad_len || (d->te_other && d->msg == MSG_REQ)) {
        count(x, C_MALFORMED);
        d->mode = M_LOST;
    } else if (d->te_other || (!d->has_len && d->msg == MSG_RESP)) {
        d->mode = M_REST; /* the body runs to the end of the connection */
    } else if (d->has_len && d->clen) {
        d->left = d->clen;
        d->mode = M_BODY;
    } else {
        d->mode = M_START;
    }
}

/* A chunk-size line: 1*HEXDIG [; extensions]. */
static bool chunk_size(struct http_dir *d, const uint8_t *l, uint32_t n)
{
    uint64_t v = 0;
    uint32_t i = 0;
    for (; i < n; i++) {
        uint8_t c = lower(l[i]);
        unsigned h;
        if (c >= '0' && c <= '9')
            h = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            h = (unsigned)(c - 'a' + 10);
        else
            break;
        if (i == HTTP_CHUNK_HEX_MAX)
            return false;
        v = v << 4 | h;
    }
    if (i == 0 || (i < n && l[i] != ';' && !is_ows(l[i])))
        return false;
    d->left = v;
    d->mode = v ? M_CHUNK_DATA : M_TRAILER;
    return true;
}

/* One line of direction d. false: the flow is not HTTP. */
static bool on_line(struct http_ctx *x, struct http_state *s, struct http_dir *d, const uint8_t *l,
                    uint32_t n, bool lng)
{
    switch (d->mode) {
    case M_START:
        if (!lng && n == 0) /* empty lines before a start line are allowed */
            return true;
        if (lng || !start_line(x, s, d, l, n)) {
            bool resync = d->resync;
            d->resync = 0;
            d->mode = M_LOST;
            if (s->requests + s->responses == 0)
                return false;
            if (!resync)
                count(x, C_MALFORMED);
            return true;
        }
        d->resync = 0;
        d->mode = M_HEADERS;
        return true;
    case M_HEADERS:
        if (lng)
            return true;
        if (n == 0)
            headers_done(x, s, d);
        else
            header_line(x, s, d, l, n);
        return true;
    case M_CHUNK_SIZE:
        if (lng || !chunk_size(d, l, n)) {
            count(x, C_MALFORMED);
            d->mode = M_LOST;
        }
        return true;
    case M_CHUNK_END:
        if (lng || n) {
            count(x, C_MALFORMED);
            d->mode = M_LOST;
        } else {
            d->mode = M_CHUNK_SIZE;
        }
        return true;
    case M_TRAILER:
        if (!lng && n == 0)
            d->mode = M_START;
        return true;
    default: return true;
    }
}

static bool stopped(const struct http_dir *d)
{
    return d->mode == M_REST || d->mode == M_LOST;
}

static enum wkp_dis_result http_parse(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                      struct wkp_cur *c)
{
    struct http_ctx *x = ctx;
    struct http_state *s = state;
    struct http_dir *d = &s->dir[p->dir & 1];
    if (p->gap && !stopped(d)) {
        /* bytes are missing: only a message starting right here is read */
        count(x, C_GAPS);
        d->line_len = 0;
        d->discard = 0;
        d->mode = M_START;
        d->resync = 1;
    }
    while (wkp_cur_left(c) && !stopped(d)) {
        if (d->mode == M_BODY || d->mode == M_CHUNK_DATA) {
            uint64_t n = wkp_cur_left(c);
            if (n > d->left)
                n = d->left;
            wkp_cur_skip(c, n);
            d->left -= n;
            if (d->left == 0)
                d->mode = d->mode == M_BODY ? M_START : M_CHUNK_END;
            continue;
        }
        const uint8_t *line = NULL;
        uint32_t n = 0;
        bool lng;
        if (!take_line(x, d, c, &line, &n, &lng))
            break;
        if (!on_line(x, s, d, line, n, lng))
            return WKP_DIS_NOT_MINE;
    }
    return stopped(&s->dir[0]) && stopped(&s->dir[1]) ? WKP_DIS_DONE : WKP_DIS_MORE;
}

/* Does a payload start like HTTP? prefix: a payload shorter than a method
 * and its space may be the start of one (on an HTTP port); otherwise the
 * whole request line (METHOD SP target SP HTTP/1.x) or status line start
 * must be in it. */
static bool looks_http(const uint8_t *p, uint32_t n, bool prefix)
{
    static const char *const starts[] = {"GET ",     "POST ",  "HEAD ",    "PUT ",   "DELETE ",
                                         "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", "HTTP/1."};
    for (unsigned i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        uint32_t k = (uint32_t)strlen(starts[i]);
        if (memcmp(p, starts[i], n < k ? n : k) != 0)
            continue;
        if (n < k)
            return prefix;
        if (prefix)
            return true;
        if (i == sizeof starts / sizeof starts[0] - 1) /* HTTP/1.x SP 3DIGIT */
            return n >= 12 && p[7] >= '0' && p[7] <= '9' && p[8] == ' ' && p[9] >= '0' &&
                   p[9] <= '9' && p[10] >= '0' && p[10] <= '9' && p[11] >= '0' && p[11] <= '9';
        uint32_t j = k;
        while (j < n && p[j] > ' ' && p[j] < 0x7f)
            j++;
        return j > k && n - j >= 9 && p[j] == ' ' && memcmp(p + j + 1, "HTTP/1.", 7) == 0 &&
               p[j + 8] >= '0' && p[j + 8] <= '9';
    }
    return false;
}

static bool http_probe(void *ctx, const struct wkp_dis_pkt *p, wkp_app_layer mode, bool port_match)
{
    (void)ctx;
    (void)mode;
    return p->payload_len && looks_http(p->payload, p->payload_len, port_match);
}

static void put_text(struct wkp_buf *out, const char *key, const char *v, size_t n)
{
    wkp_buf_puts(out, key);
    wkp_buf_json_bytes(out, (const uint8_t *)v, n);
}

static void put_ref(struct wkp_buf *out, const char *key, const struct http_state *s, struct ref r)
{
    put_text(out, key, store_of(s) + r.off, r.len);
}

static void put_u64(struct wkp_buf *out, const char *key, uint64_t v)
{
    wkp_buf_puts(out, key);
    wkp_buf_u64(out, v);
}

static void http_write(const void *state, struct wkp_buf *out)
{
    const struct http_state *s = state;
    if (s->requests + s->responses == 0)
        return;
    const char *st = store_of(s);
    wkp_buf_putc(out, '{');
    if (s->requests) {
        put_text(out, "\"method\":", methods[s->method], strlen(methods[s->method]));
        put_ref(out, ",\"path\":", s, s->path);
        put_ref(out, ",\"version\":", s, s->version);
        if (s->has_host)
            put_ref(out, ",\"host\":", s, s->host);
        if (s->has_ua)
            put_ref(out, ",\"user_agent\":", s, s->ua);
        if (s->has_ctype)
            put_ref(out, ",\"content_type\":", s, s->ctype);
        if (s->has_req_clen)
            put_u64(out, ",\"content_length\":", s->req_clen);
        wkp_buf_puts(out, ",\"headers\":{");
        for (unsigned i = 0; i < s->nhdr; i++) {
            struct http_hdr h = hdr_at(s, st, i);
            if (i)
                wkp_buf_putc(out, ',');
            wkp_buf_json_bytes(out, (const uint8_t *)st + h.name_off, h.name_len);
            wkp_buf_putc(out, ':');
            wkp_buf_json_bytes(out, (const uint8_t *)st + h.value_off, h.value_len);
        }
        wkp_buf_puts(out, "},");
    }
    if (s->responses) {
        put_u64(out, "\"status_code\":", s->status_code);
        put_ref(out, ",\"status_reason\":", s, s->reason);
        put_ref(out, ",\"response_version\":", s, s->rversion);
        if (s->has_server)
            put_ref(out, ",\"server\":", s, s->server);
        if (s->has_rctype)
            put_ref(out, ",\"response_content_type\":", s, s->rctype);
        if (s->has_resp_clen)
            put_u64(out, ",\"response_content_length\":", s->resp_clen);
        wkp_buf_putc(out, ',');
    }
    put_u64(out, "\"requests\":", s->requests);
    put_u64(out, ",\"responses\":", s->responses);
    if (s->truncated) {
        wkp_buf_puts(out, ",\"truncated\":[");
        bool first = true;
        for (unsigned i = 0; i < T_N; i++)
            if (s->truncated & 1u << i) {
                if (!first)
                    wkp_buf_putc(out, ',');
                first = false;
                wkp_buf_json_str(out, trunc_names[i]);
            }
        wkp_buf_putc(out, ']');
    }
    wkp_buf_putc(out, '}');
}

static size_t http_ext(const void *state, const char **names, size_t max)
{
    const struct http_state *s = state;
    if (max < 1 || s->requests + s->responses == 0)
        return 0;
    names[0] = "HTTP";
    return 1;
}

/* Also on a zeroed state parse never saw. */
static void http_release(void *ctx, void *state)
{
    (void)ctx;
    struct http_state *s = state;
    free(s->heap);
    s->heap = NULL;
    for (int i = 0; i < 2; i++) {
        free(s->dir[i].line);
        s->dir[i].line = NULL;
        s->dir[i].line_cap = 0;
    }
}

static const uint16_t http_ports[] = {80, 8080, 8000};

const struct wkp_dissector wkp_dissector_http = {
    .name = "http",
    .transport = IPPROTO_TCP,
    .ports = http_ports,
    .nports = sizeof http_ports / sizeof http_ports[0],
    .input = WKP_DIS_STREAM,
    .flow_state_size = sizeof(struct http_state),
    .worker_ctx_size = sizeof(struct http_ctx),
    .counter_names = http_counters,
    .ncounters = C_N,
    .worker_init = http_init,
    .probe = http_probe,
    .parse = http_parse,
    .write = http_write,
    .ext_protocol = http_ext,
    .release = http_release,
};
