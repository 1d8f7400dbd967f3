/* ICMP (RFC 792) and ICMPv6 (RFC 4443, RFC 4861): one column for both.
 *
 * Runs on the worker that owns the flow, like every dissector. An ICMP flow
 * is keyed on its two addresses with ports 0 (docs/output.md, What a flow
 * is), so every message between two hosts, echoes and errors alike, lands
 * in one flow; this dissector says what went on in it. It takes the whole
 * ICMP message of each packet (type, code, checksum first) and claims
 * every ICMP and ICMPv6 flow on its first message.
 *
 * Per flow: the first message's type and code, the (type, code) pairs in
 * first-seen order, the echo identifier (first wins) and the range of echo
 * sequence numbers; for errors, the 5-tuples of the packets they quote
 * (distinct ones, first seen first: a router answering a traceroute quotes
 * one probe per message), so an error can be joined to the flow it reports
 * on; for
 * ICMPv6 neighbour discovery, the target of the first solicitation or
 * advertisement and the prefixes of router advertisements.
 *
 * Every read goes through the cursor. A message too short for what its type
 * carries keeps the fields that fit and is counted as truncated; lists are
 * bounded (ICMP_MAX_TYPES, ICMP_MAX_PREFIXES) and what does not fit is
 * counted as capped. The state is small and fixed; what only error and
 * neighbour discovery flows need (quotes, target, prefixes) is one heap
 * block, allocated when the first of them is seen and freed in release(),
 * so a flood of echo flows costs no more than their counts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissector.h"
#include "util/addrtext.h"

#define ICMP_MAX_TYPES    16 /* (type, code) pairs kept */
#define ICMP_MAX_PREFIXES 4  /* router advertisement prefixes kept */
#define ICMP_MAX_QUOTES   4  /* distinct quoted 5-tuples kept */
#define ICMP_MAX_EXT      8  /* quoted IPv6 extension headers walked */

enum { C_MESSAGES, C_TRUNCATED, C_CAPPED, C__COUNT };
static const char *const icmp_counter_names[C__COUNT] = {"messages", "truncated", "capped"};

struct icmp_ctx {
    uint64_t *counters;
};

/* Which values are set. */
enum {
    H_FIRST = 1u << 0,  /* first_type, first_code */
    H_ECHO = 1u << 1,   /* echo_id, seq_min, seq_max */
    H_TARGET = 1u << 2, /* target */
};

/* Which parts of the quoted packet fitted. */
enum { Q_SRC = 1u << 0, Q_DST = 1u << 1, Q_PROTO = 1u << 2, Q_PORTS = 1u << 3 };

struct icmp_quote {
    uint8_t family; /* 4 or 6; 0: the quote did not say */
    uint8_t have;   /* Q_* */
    uint8_t proto;
    uint16_t sport, dport;
    uint8_t src[16], dst[16];
};

struct icmp_prefix {
    uint8_t addr[16];
    uint8_t len;
};

/* The values of errors and neighbour discovery, allocated on first use. */
struct icmp_more {
    struct icmp_quote quotes[ICMP_MAX_QUOTES];
    uint8_t target[16];
    struct icmp_prefix prefixes[ICMP_MAX_PREFIXES];
};

struct icmp_state {
    uint32_t messages, truncated;
    uint8_t have; /* H_* */
    uint8_t first_type, first_code;
    uint8_t ntypes, nprefixes, nquotes;
    uint8_t types[ICMP_MAX_TYPES][2];
    uint16_t echo_id, seq_min, seq_max;
    struct icmp_more *more; /* NULL until a quote, target or prefix is kept */
};

_Static_assert(sizeof(struct icmp_state) <= 64, "icmp: the state stays small");

/* The flow's heap block; NULL (counted as capped) if out of memory. */
static struct icmp_more *more_of(struct icmp_ctx *x, struct icmp_state *s)
{
    if (!s->more && !(s->more = calloc(1, sizeof *s->more)))
        x->counters[C_CAPPED]++;
    return s->more;
}

static bool is_error(bool v6, uint8_t type)
{
    if (v6) /* destination unreachable, packet too big, time exceeded, parameter problem */
        return type >= 1 && type <= 4;
    /* destination unreachable, source quench, redirect, time exceeded, parameter problem */
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static bool is_echo(bool v6, uint8_t type)
{
    return v6 ? type == 128 || type == 129 : type == 8 || type == 0;
}

static void note_type(struct icmp_ctx *x, struct icmp_state *s, uint8_t type, uint8_t code)
{
    if (!(s->have & H_FIRST)) {
        s->first_type = type;
        s->first_code = code;
        s->have |= H_FIRST;
    }
    for (unsigned i = 0; i < s->ntypes; i++)
        if (s->types[i][0] == type && s->types[i][1] == code)
            return;
    if (s->ntypes < ICMP_MAX_TYPES) {
        s->types[s->ntypes][0] = type;
        s->types[s->ntypes][1] = code;
        s->ntypes++;
    } else {
        x->counters[C_CAPPED]++;
    }
}

/* Ports of the quoted transport header at c, if its protocol has them
 * (TCP, UDP, SCTP: source and destination port first). Returns false if
 * they should be there and are not. */
static bool quote_ports(struct icmp_quote *q, struct wkp_cur *c)
{
    if (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP && q->proto != IPPROTO_SCTP)
        return true;
    uint16_t sp = wkp_cur_be16(c), dp = wkp_cur_be16(c);
    if (c->short_read)
        return false;
    q->sport = sp;
    q->dport = dp;
    q->have |= Q_PORTS;
    return true;
}

/* The quoted IPv4 packet at c: the fields that fit. Returns false if one
 * that should be there is not. */
static bool quote_v4(struct icmp_quote *q, struct wkp_cur *c)
{
    uint8_t h[20] = {0};
    uint32_t n = wkp_cur_left(c) < 20 ? wkp_cur_left(c) : 20;
    wkp_cur_copy(c, h, n);
    q->family = 4;
    if (n >= 10) {
        q->proto = h[9];
        q->have |= Q_PROTO;
    }
    if (n >= 16) {
        memcpy(q->src, h + 12, 4);
        q->have |= Q_SRC;
    }
    if (n >= 20) {
        memcpy(q->dst, h + 16, 4);
        q->have |= Q_DST;
    }
    uint32_t ihl = (uint32_t)(h[0] & 15) * 4;
    if (n < 20 || ihl < 20 || !wkp_cur_skip(c, ihl - 20))
        return false;
    if (((h[6] & 0x1f) | h[7]) != 0)
        return true; /* a later fragment: no transport header to quote */
    return quote_ports(q, c);
}

/* IPv6 extension headers a quote may carry before its transport. */
static bool ipv6_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 60 || nh == 44;
}

/* The quoted IPv6 packet at c, as quote_v4. */
static bool quote_v6(struct icmp_quote *q, struct wkp_cur *c)
{
    uint8_t h[40] = {0};
    uint32_t n = wkp_cur_left(c) < 40 ? wkp_cur_left(c) : 40;
    wkp_cur_copy(c, h, n);
    q->family = 6;
    uint8_t nh = h[6];
    if (n >= 24) {
        memcpy(q->src, h + 8, 16);
        q->have |= Q_SRC;
    }
    if (n >= 40) {
        memcpy(q->dst, h + 24, 16);
        q->have |= Q_DST;
    }
    if (n < 40)
        return false;
    /* The protocol is the next header after the extension headers. A
     * fragment header (44) is 8 bytes; the others say their length in
     * 8-byte units past the first 8 (RFC 8200 4). */
    for (int k = 0; ipv6_ext(nh); k++) {
        uint8_t next = wkp_cur_u8(c), len = wkp_cur_u8(c);
        uint16_t frag = nh == 44 ? wkp_cur_be16(c) : 0;
        uint32_t size = nh == 44 ? 8 : ((uint32_t)len + 1) * 8;
        if (c->short_read || k == ICMP_MAX_EXT || !wkp_cur_skip(c, size - (nh == 44 ? 4 : 2)))
            return false;
        nh = next;
        if (frag & 0xfff8) { /* a later fragment: no transport header */
            q->proto = nh;
            q->have |= Q_PROTO;
            return true;
        }
    }
    q->proto = nh;
    q->have |= Q_PROTO;
    return quote_ports(q, c);
}

/* An error's quote: the invoking packet's header (RFC 792; RFC 4443 2.4),
 * after the 8-byte ICMP header. Each distinct quote that gave anything is
 * kept; a quote that is no IP packet gives nothing to join on. */
static bool read_quote(struct icmp_ctx *x, struct icmp_state *s, struct wkp_cur *c)
{
    struct icmp_quote q;
    memset(&q, 0, sizeof q); /* compared whole below, padding included */
    struct wkp_cur v = *c;
    uint8_t ver = wkp_cur_u8(&v) >> 4;
    bool whole = !v.short_read && (ver == 4 ? quote_v4(&q, c) : ver == 6 ? quote_v6(&q, c) : false);
    if (!q.have)
        return whole;
    for (unsigned i = 0; i < s->nquotes; i++)
        if (memcmp(&s->more->quotes[i], &q, sizeof q) == 0)
            return whole;
    if (s->nquotes == ICMP_MAX_QUOTES)
        x->counters[C_CAPPED]++;
    else if (more_of(x, s))
        memcpy(&s->more->quotes[s->nquotes++], &q, sizeof q); /* padding too */
    return whole;
}

static void add_prefix(struct icmp_ctx *x, struct icmp_state *s, const uint8_t *addr, uint8_t len)
{
    for (unsigned i = 0; i < s->nprefixes; i++)
        if (s->more->prefixes[i].len == len && memcmp(s->more->prefixes[i].addr, addr, 16) == 0)
            return;
    if (s->nprefixes == ICMP_MAX_PREFIXES) {
        x->counters[C_CAPPED]++;
        return;
    }
    if (!more_of(x, s))
        return;
    memcpy(s->more->prefixes[s->nprefixes].addr, addr, 16);
    s->more->prefixes[s->nprefixes].len = len;
    s->nprefixes++;
}

/* A router advertisement's options (RFC 4861 4.2, 4.6): the prefixes of
 * its Prefix Information options (type 3, 32 bytes). c is past the 16-byte
 * header. Returns false if an option runs past the end or says length 0. */
static bool ra_options(struct icmp_ctx *x, struct icmp_state *s, struct wkp_cur *c)
{
    while (wkp_cur_left(c) > 0) {
        uint8_t type = wkp_cur_u8(c), len = wkp_cur_u8(c);
        struct wkp_cur o;
        if (c->short_read || len == 0 || !wkp_cur_sub(c, (uint32_t)len * 8 - 2, &o))
            return false;
        if (type != 3)
            continue;
        uint8_t plen = wkp_cur_u8(&o), addr[16];
        wkp_cur_skip(&o, 13); /* flags, valid and preferred lifetimes, reserved */
        wkp_cur_copy(&o, addr, 16);
        if (o.short_read)
            return false;
        add_prefix(x, s, addr, plen);
    }
    return true;
}

/* One ICMP or ICMPv6 message. Returns false if it was cut short of what
 * its type carries. */
static bool parse_message(struct icmp_ctx *x, struct icmp_state *s, bool v6, struct wkp_cur *c)
{
    uint8_t type = wkp_cur_u8(c), code = wkp_cur_u8(c);
    wkp_cur_skip(c, 2); /* checksum */
    if (c->short_read)
        return false;
    s->messages++;
    x->counters[C_MESSAGES]++;
    note_type(x, s, type, code);
    if (is_echo(v6, type)) {
        uint16_t id = wkp_cur_be16(c), seq = wkp_cur_be16(c);
        if (c->short_read)
            return false;
        if (!(s->have & H_ECHO)) {
            s->have |= H_ECHO;
            s->echo_id = id;
            s->seq_min = s->seq_max = seq;
        }
        if (seq < s->seq_min)
            s->seq_min = seq;
        if (seq > s->seq_max)
            s->seq_max = seq;
        return true;
    }
    if (is_error(v6, type))
        return wkp_cur_skip(c, 4) && read_quote(x, s, c);
    if (!v6)
        return true;
    if (type == 135 || type == 136) { /* neighbour solicitation / advertisement */
        uint8_t target[16];
        wkp_cur_skip(c, 4);
        wkp_cur_copy(c, target, 16);
        if (c->short_read)
            return false;
        if (!(s->have & H_TARGET) && more_of(x, s)) {
            memcpy(s->more->target, target, 16);
            s->have |= H_TARGET;
        }
        return true;
    }
    if (type == 134) /* router advertisement */
        return wkp_cur_skip(c, 12) && ra_options(x, s, c);
    return true;
}

static int icmp_init(void *ctx, const struct wkp_dis_env *env)
{
    ((struct icmp_ctx *)ctx)->counters = env->counters;
    return 0;
}

static enum wkp_dis_result icmp_parse(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                      struct wkp_cur *c)
{
    struct icmp_ctx *x = ctx;
    struct icmp_state *s = state;
    if (!parse_message(x, s, p->proto == IPPROTO_ICMPV6, c)) {
        s->truncated++;
        x->counters[C_TRUNCATED]++;
    }
    return WKP_DIS_MORE;
}

static void put_u(struct wkp_buf *out, const char *key, uint64_t v)
{
    wkp_buf_puts(out, key);
    wkp_buf_u64(out, v);
}

static void put_addr(struct wkp_buf *out, int family, const uint8_t *a)
{
    char t[WKP_ADDR_TEXT_MAX];
    wkp_addr_text(a, family == 4 ? 4 : 6, t);
    wkp_buf_putc(out, '"');
    wkp_buf_puts(out, t);
    wkp_buf_putc(out, '"');
}

static void put_quote(struct wkp_buf *out, const struct icmp_quote *q)
{
    wkp_buf_putc(out, '{');
    bool first = true;
    if (q->have & Q_SRC) {
        wkp_buf_puts(out, "\"src\":");
        put_addr(out, q->family, q->src);
        first = false;
    }
    if (q->have & Q_DST) {
        wkp_buf_puts(out, first ? "\"dst\":" : ",\"dst\":");
        put_addr(out, q->family, q->dst);
        first = false;
    }
    if (q->have & Q_PROTO) {
        put_u(out, first ? "\"proto\":" : ",\"proto\":", q->proto);
        first = false;
    }
    if (q->have & Q_PORTS) {
        put_u(out, ",\"sport\":", q->sport);
        put_u(out, ",\"dport\":", q->dport);
    }
    wkp_buf_putc(out, '}');
}

static void icmp_write(const void *state, struct wkp_buf *out)
{
    const struct icmp_state *s = state;
    if (!s->messages)
        return;
    put_u(out, "{\"type\":", s->first_type);
    put_u(out, ",\"code\":", s->first_code);
    wkp_buf_puts(out, ",\"type_codes\":[");
    for (unsigned i = 0; i < s->ntypes; i++) {
        put_u(out, i ? ",[" : "[", s->types[i][0]);
        put_u(out, ",", s->types[i][1]);
        wkp_buf_putc(out, ']');
    }
    wkp_buf_putc(out, ']');
    if (s->have & H_ECHO) {
        put_u(out, ",\"echo_id\":", s->echo_id);
        put_u(out, ",\"echo_seq_min\":", s->seq_min);
        put_u(out, ",\"echo_seq_max\":", s->seq_max);
    }
    if (s->nquotes) {
        wkp_buf_puts(out, ",\"quoted\":[");
        for (unsigned i = 0; i < s->nquotes; i++) {
            if (i)
                wkp_buf_putc(out, ',');
            put_quote(out, &s->more->quotes[i]);
        }
        wkp_buf_putc(out, ']');
    }
    if (s->have & H_TARGET) {
        wkp_buf_puts(out, ",\"nd_target\":");
        put_addr(out, 6, s->more->target);
    }
    if (s->nprefixes) {
        wkp_buf_puts(out, ",\"prefixes\":[");
        for (unsigned i = 0; i < s->nprefixes; i++) {
            char t[WKP_ADDR_TEXT_MAX];
            wkp_addr_text(s->more->prefixes[i].addr, 6, t);
            wkp_buf_puts(out, i ? ",\"" : "\"");
            wkp_buf_puts(out, t);
            put_u(out, "/", s->more->prefixes[i].len);
            wkp_buf_putc(out, '"');
        }
        wkp_buf_putc(out, ']');
    }
    put_u(out, ",\"messages\":", s->messages);
    put_u(out, ",\"truncated\":", s->truncated);
    wkp_buf_putc(out, '}');
}

static void icmp_release(void *ctx, void *state)
{
    (void)ctx;
    struct icmp_state *s = state;
    free(s->more);
    s->more = NULL;
}

static const uint8_t icmp_protos[] = {IPPROTO_ICMP, IPPROTO_ICMPV6};

/* No ports and no probe: every ICMP and ICMPv6 flow is claimed on its first
 * message. No ext_protocol: ICMP and ICMPv6 are listed there as transports
 * already (docs/output.md, `icmp`). */
const struct wkp_dissector wkp_dissector_icmp = {
    .name = "icmp",
    .protos = icmp_protos,
    .nprotos = sizeof icmp_protos / sizeof icmp_protos[0],
    .input = WKP_DIS_DATAGRAM,
    .flow_state_size = sizeof(struct icmp_state),
    .worker_ctx_size = sizeof(struct icmp_ctx),
    .counter_names = icmp_counter_names,
    .ncounters = C__COUNT,
    .worker_init = icmp_init,
    .parse = icmp_parse,
    .write = icmp_write,
    .release = icmp_release,
};
