/* DNS: UDP 53, mDNS (UDP 5353), LLMNR (UDP 5355) and DNS over TCP 53.
 *
 * Runs on the worker that owns the flow, like every dissector. One flow may
 * carry many messages (a resolver's query and response, mDNS announcements):
 * the first message's header is copied, later ones add the query names and
 * answers not seen yet and fill response_code and the answer, authority and
 * additional counts only while they are still 0 (docs/output.md, `dns`).
 *
 * Tens of thousands of DNS flows may be alive at once (without
 * --udp-timeout a UDP flow lasts to the end of the capture), so the state
 * block holds only the header fields, the query types and the TCP framing
 * (at most 256 bytes). What a flow stores lives in one heap
 * block made at its first name and grown by doubling: the answers, the
 * query names and the bytes of names and answer data, which share a 2 KiB
 * store (a name seen twice is stored once). Every list has a cap, so the
 * block never exceeds 2688 bytes; a typical query and response fit in the
 * first 256. release() frees it. Name decompression is bounded: at most 64
 * pointer jumps, names of at most 255 bytes on the wire and 128 labels, so
 * a hostile message costs a bounded amount of work. A message cut short
 * keeps what was read.
 *
 * DNS over TCP comes through the datagram path (segments as seen): each
 * direction reassembles its 2-byte length-prefixed messages in a heap
 * buffer made when a message first spans segments, sized to the message and
 * at most 1 KiB (a longer message is parsed from its first 1 KiB); a message
 * whole in one segment is parsed in place. Retransmissions are
 * dropped by the engine before they get here (unless --keep-retrans); a
 * segment lost or reordered inside a message misframes the rest of that
 * direction, whose frames then mostly fail the header check and count as
 * malformed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissector.h"
#include "util/addrtext.h"
#include "util/blocks.h"

#define DNS_MAX_QUERIES   32
#define DNS_MAX_QTYPES    16
#define DNS_MAX_ANSWERS   32
#define DNS_ARENA         2048 /* bytes of names and answer data a flow keeps */
#define DNS_TCP_BUF       1024
#define DNS_STATE_MAX     256 /* the inline state */
#define DNS_NAME_WIRE_MAX 255 /* RFC 1035 3.1: a name is at most 255 octets */
#define DNS_LABELS_MAX    128
#define DNS_JUMPS_MAX     64
#define DNS_TXT_MAX       255
#define DNS_HDR           12

enum {
    C_MESSAGES,
    C_MALFORMED,
    C_TRUNCATED,
    C_LOOPS,
    C_LONG_NAMES,
    C_TCP_OVERSIZE,
    C_CAPPED,
    C__COUNT
};
static const char *const dns_counter_names[C__COUNT] = {
    "messages",   "malformed",    "truncated", "compression_loops",
    "long_names", "tcp_oversize", "capped",
};

struct dns_ctx {
    uint64_t *counters;
    struct wkp_blocks *blocks; /* the worker's: every flow's store */
};

struct dns_str {
    uint16_t off, len; /* in the store's bytes */
};

struct dns_answer {
    struct dns_str name, data;
    uint32_t ttl;
    uint16_t type;
    uint8_t has_data;
};

/* One direction of a TCP flow: the length prefix, then the message. */
struct dns_tcp {
    uint8_t *buf;    /* heap, cap bytes; NULL until a message spans segments */
    uint16_t cap;    /* at most DNS_TCP_BUF */
    uint16_t msglen; /* from the prefix */
    uint16_t got;    /* message bytes seen so far (the first cap kept) */
    uint8_t pfx[2];
    uint8_t npfx; /* prefix bytes read: 2 means inside a message */
};

/* The store (one of the worker's small blocks, NULL until the first
 * name): acap answers, then qcap query names, then bcap bytes of names and
 * data, of which used are taken. Offsets in a dns_str count from the
 * bytes' start, so a larger block takes the regions without changing them. */
struct dns_state {
    uint16_t id, flags, qdcount, ancount, nscount, arcount;
    uint8_t rcode;
    uint8_t nqueries, nqtypes, nanswers;
    uint32_t messages, malformed;
    uint16_t qtypes[DNS_MAX_QTYPES];
    uint8_t *store;
    uint16_t used, bcap;
    uint8_t acap, qcap;
    struct dns_tcp tcp[2];
};
_Static_assert(sizeof(struct dns_state) <= DNS_STATE_MAX, "the DNS state outgrew its budget");

/* The store's first size: no answers until one is kept (a query-only flow,
 * the usual flow of a flood, then holds 2 query names and 64 bytes: 72
 * bytes), 4 answers at the first, 2 query names and 64 bytes. A region
 * that is short doubles, up to its cap. */
#define DNS_FIRST_ANSWERS 4
#define DNS_FIRST_QUERIES 2
#define DNS_FIRST_BYTES   64

static struct dns_answer *st_answers(const struct dns_state *s)
{
    return (struct dns_answer *)(void *)s->store;
}

static struct dns_str *st_queries(const struct dns_state *s)
{
    return (struct dns_str *)(void *)(s->store + (size_t)s->acap * sizeof(struct dns_answer));
}

static uint8_t *st_bytes(const struct dns_state *s)
{
    return s->store + (size_t)s->acap * sizeof(struct dns_answer) +
           (size_t)s->qcap * sizeof(struct dns_str);
}

static uint32_t grown(uint32_t cap, uint32_t first, uint32_t need, uint32_t max)
{
    if (!cap && !need)
        return 0; /* nothing of this region yet */
    if (!cap)
        cap = first;
    while (cap < need)
        cap *= 2;
    return cap < max ? cap : max;
}

static size_t st_size(uint32_t acap, uint32_t qcap, uint32_t bcap)
{
    return acap * sizeof(struct dns_answer) + qcap * sizeof(struct dns_str) + bcap;
}

/* Room for at least na answers, nq query names and nb bytes (each within
 * its cap). false: out of memory, the store unchanged. */
static bool st_reserve(struct dns_ctx *x, struct dns_state *s, uint32_t na, uint32_t nq,
                       uint32_t nb)
{
    if (s->store && na <= s->acap && nq <= s->qcap && nb <= s->bcap)
        return true;
    uint32_t acap = s->acap, qcap = s->qcap, bcap = s->bcap;
    if (!s->store || na > acap)
        acap = grown(acap, DNS_FIRST_ANSWERS, na, DNS_MAX_ANSWERS);
    if (!s->store || nq > qcap)
        qcap = grown(qcap, DNS_FIRST_QUERIES, nq, DNS_MAX_QUERIES);
    if (!s->store || nb > bcap)
        bcap = grown(bcap ? bcap : DNS_FIRST_BYTES, DNS_FIRST_BYTES, nb, DNS_ARENA);
    size_t qoff = acap * sizeof(struct dns_answer), boff = qoff + qcap * sizeof(struct dns_str);
    uint8_t *p = wkp_blocks_take(x->blocks, st_size(acap, qcap, bcap));
    if (!p)
        return false;
    if (s->store) {
        const uint8_t *o = s->store;
        size_t old_qoff = (size_t)s->acap * sizeof(struct dns_answer);
        size_t old_boff = old_qoff + (size_t)s->qcap * sizeof(struct dns_str);
        if (s->nanswers)
            memcpy(p, o, (size_t)s->nanswers * sizeof(struct dns_answer));
        if (s->nqueries)
            memcpy(p + qoff, o + old_qoff, (size_t)s->nqueries * sizeof(struct dns_str));
        if (s->used)
            memcpy(p + boff, o + old_boff, s->used);
        wkp_blocks_give(x->blocks, s->store, st_size(s->acap, s->qcap, s->bcap));
    }
    s->store = p;
    s->acap = (uint8_t)acap;
    s->qcap = (uint8_t)qcap;
    s->bcap = (uint16_t)bcap;
    return true;
}

/* How reading a name ended. */
enum name_res { NAME_OK, NAME_CUT, NAME_BAD, NAME_LOOP, NAME_LONG };

/* The name at c->off of the message c (c->p is the message's first byte,
 * where compression pointers count from). Leaves c after the name's bytes in
 * place (after the first pointer, if any). Writes the labels joined by "."
 * (no trailing dot, "" for the root) to out, its length to *n. A name over
 * 255 bytes or 128 labels gives NAME_LONG with c still moved past its bytes
 * in place, so the record around it can be read: the walk goes on only over
 * those bytes (which the caller then skips) and stops at the first pointer.
 * So a name costs at most 64 jumps and 129 labels beyond its own bytes, and
 * a message's names cost linear time in its length. */
static enum name_res read_name(struct wkp_cur *c, uint8_t out[DNS_NAME_WIRE_MAX], uint32_t *n)
{
    struct wkp_cur r = *c;
    uint32_t wire = 1, labels = 0, jumps = 0, len = 0;
    bool jumped = false, too_long = false;
    *n = 0;
    for (;;) {
        uint8_t l = wkp_cur_u8(&r);
        if (r.short_read)
            return jumped ? NAME_BAD : NAME_CUT;
        if (l == 0)
            break;
        if ((l & 0xC0) == 0xC0) {
            uint8_t lo = wkp_cur_u8(&r);
            if (r.short_read)
                return jumped ? NAME_BAD : NAME_CUT;
            if (!jumped)
                c->off = r.off;
            if (too_long)
                return NAME_LONG; /* the in-place end is known: follow no further */
            jumped = true;
            if (++jumps > DNS_JUMPS_MAX)
                return NAME_LOOP;
            uint32_t target = (uint32_t)(l & 0x3F) << 8 | lo;
            if (target >= r.len)
                return NAME_BAD;
            r.off = target;
            continue;
        }
        if (l & 0xC0)
            return NAME_BAD; /* 0x40, 0x80: extended label types (RFC 6891 6.1.1), not in use */
        if (!wkp_cur_has(&r, l))
            return jumped ? NAME_BAD : NAME_CUT;
        wire += 1u + l;
        too_long |= ++labels > DNS_LABELS_MAX || wire > DNS_NAME_WIRE_MAX;
        if (too_long && jumped)
            return NAME_LONG; /* c is already past the name's bytes in place */
        if (!too_long) {
            if (len)
                out[len++] = '.';
            memcpy(out + len, r.p + r.off, l);
            len += l;
        }
        r.off += l;
    }
    if (!jumped)
        c->off = r.off;
    if (too_long)
        return NAME_LONG;
    *n = len;
    return NAME_OK;
}

static bool str_eq(const struct dns_state *s, struct dns_str a, const uint8_t *p, uint32_t n)
{
    return a.len == n && memcmp(st_bytes(s) + a.off, p, n) == 0;
}

/* Store n bytes, reusing an equal stored name. false: the 2 KiB are full
 * (or memory is out, which drops the same way). */
static bool arena_put(struct dns_ctx *x, struct dns_state *s, const uint8_t *p, uint32_t n,
                      struct dns_str *out)
{
    const struct dns_str *q = st_queries(s);
    const struct dns_answer *a = st_answers(s);
    for (unsigned i = 0; i < s->nqueries; i++)
        if (str_eq(s, q[i], p, n)) {
            *out = q[i];
            return true;
        }
    for (unsigned i = 0; i < s->nanswers; i++)
        if (str_eq(s, a[i].name, p, n)) {
            *out = a[i].name;
            return true;
        }
    uint32_t need = (uint32_t)s->used + n;
    if (need > DNS_ARENA || !st_reserve(x, s, s->nanswers, s->nqueries, need))
        return false;
    memcpy(st_bytes(s) + s->used, p, n);
    out->off = s->used;
    out->len = (uint16_t)n;
    s->used = (uint16_t)need;
    return true;
}

/* How a message's parse went: read to the end, or stopped. */
enum msg_res { MSG_OK, MSG_BAD, MSG_CUT };

/* Count a name that failed. NAME_LONG leaves the record readable: the
 * name is dropped and the message marked malformed (*res), the caller goes
 * on. Any other failure stops the message (returns true). */
static bool name_failed(struct dns_ctx *x, enum name_res r, enum msg_res *res)
{
    switch (r) {
    case NAME_OK: return false;
    case NAME_LONG:
        x->counters[C_LONG_NAMES]++;
        *res = MSG_BAD;
        return false;
    case NAME_CUT: *res = MSG_CUT; return true;
    case NAME_LOOP: x->counters[C_LOOPS]++; break;
    case NAME_BAD: break;
    }
    *res = MSG_BAD;
    return true;
}

static void add_query(struct dns_ctx *x, struct dns_state *s, const uint8_t *name, uint32_t n,
                      uint16_t qtype)
{
    bool have_type = false;
    for (unsigned i = 0; i < s->nqtypes; i++)
        have_type |= s->qtypes[i] == qtype;
    if (!have_type) {
        if (s->nqtypes < DNS_MAX_QTYPES)
            s->qtypes[s->nqtypes++] = qtype;
        else
            x->counters[C_CAPPED]++;
    }
    if (n == 0) /* the root: no name to list */
        return;
    for (unsigned i = 0; i < s->nqueries; i++)
        if (str_eq(s, st_queries(s)[i], name, n))
            return;
    struct dns_str str;
    if (s->nqueries == DNS_MAX_QUERIES ||
        !st_reserve(x, s, s->nanswers, s->nqueries + 1u, s->used) ||
        !arena_put(x, s, name, n, &str)) {
        x->counters[C_CAPPED]++;
        return;
    }
    st_queries(s)[s->nqueries++] = str;
}

/* A name inside rdata: rdlength already bounds the record, so any failure
 * only loses the data (the message is marked malformed). */
static bool data_name_failed(struct dns_ctx *x, enum name_res r, enum msg_res *res)
{
    if (r == NAME_OK)
        return false;
    if (r == NAME_LONG)
        x->counters[C_LONG_NAMES]++;
    else if (r == NAME_LOOP)
        x->counters[C_LOOPS]++;
    *res = MSG_BAD;
    return true;
}

/* The text of an answer's data for the types kept; false: none. The rdata
 * is the rdlen bytes at rd_off of the message m (checked by the caller);
 * fixed fields are read within them, names through the whole message, as
 * their pointers may point anywhere before. */
static bool answer_data(struct dns_ctx *x, uint16_t type, struct wkp_cur *m, uint32_t rd_off,
                        uint16_t rdlen, uint8_t *out, uint32_t *n, enum msg_res *res)
{
    struct wkp_cur rd = {.p = m->p + rd_off, .len = rdlen};
    struct wkp_cur at = {.p = m->p, .len = m->len, .off = rd_off};
    uint8_t name[DNS_NAME_WIRE_MAX];
    uint32_t nn = 0;
    int k = 0;
    switch (type) {
    case 1: /* A */
    case 28: /* AAAA */ {
        uint8_t a[16];
        uint32_t want = type == 1 ? 4 : 16;
        if (rdlen != want)
            return false;
        wkp_cur_copy(&rd, a, want);
        /* out has room for any address text (the caller's buffer holds a name) */
        *n = (uint32_t)(wkp_addr_put((char *)out, a, type == 1 ? 4 : 6) - (char *)out);
        return true;
    }
    case 2:  /* NS */
    case 5:  /* CNAME */
    case 12: /* PTR */
        if (data_name_failed(x, read_name(&at, name, &nn), res))
            return false;
        memcpy(out, name, nn);
        *n = nn;
        return true;
    case 15: /* MX: preference, exchange */
    case 33: /* SRV: priority, weight, port, target (RFC 2782) */ {
        uint16_t v[3];
        int nv = type == 15 ? 1 : 3;
        for (int i = 0; i < nv; i++)
            v[i] = wkp_cur_be16(&rd);
        if (rd.short_read)
            return false;
        at.off += 2u * (uint32_t)nv;
        if (data_name_failed(x, read_name(&at, name, &nn), res))
            return false;
        for (int i = 0; i < nv; i++) {
            uint32_t d = v[i], div = 10000;
            bool lead = true;
            for (; div; div /= 10) {
                uint32_t digit = d / div % 10;
                if (digit || !lead || div == 1) {
                    out[k++] = (uint8_t)('0' + digit);
                    lead = false;
                }
            }
            out[k++] = ' ';
        }
        memcpy(out + k, name, nn);
        *n = (uint32_t)k + nn;
        return true;
    }
    case 16: /* TXT: character-strings, concatenated (as RFC 7208 3.3 reads them) */ {
        uint32_t len = 0;
        while (wkp_cur_left(&rd) > 0 && len < DNS_TXT_MAX) {
            uint8_t l = wkp_cur_u8(&rd);
            uint32_t take = l < wkp_cur_left(&rd) ? l : wkp_cur_left(&rd);
            if (take > DNS_TXT_MAX - len)
                take = DNS_TXT_MAX - len;
            memcpy(out + len, rd.p + rd.off, take);
            len += take;
            if (!wkp_cur_skip(&rd, l))
                break;
        }
        *n = len;
        return true;
    }
    default: return false;
    }
}

static void add_answer(struct dns_ctx *x, struct dns_state *s, const uint8_t *name, uint32_t nn,
                       uint16_t type, uint32_t ttl, const uint8_t *data, uint32_t dn, bool has_data)
{
    for (unsigned i = 0; i < s->nanswers; i++) {
        const struct dns_answer *a = &st_answers(s)[i];
        if (a->type == type && a->has_data == has_data && str_eq(s, a->name, name, nn) &&
            (!has_data || str_eq(s, a->data, data, dn)))
            return;
    }
    struct dns_answer a = {.ttl = ttl, .type = type, .has_data = has_data};
    uint16_t mark = s->used;
    if (s->nanswers == DNS_MAX_ANSWERS ||
        !st_reserve(x, s, s->nanswers + 1u, s->nqueries, s->used) ||
        !arena_put(x, s, name, nn, &a.name) || (has_data && !arena_put(x, s, data, dn, &a.data))) {
        s->used = mark; /* a name stored for the dropped answer goes too */
        x->counters[C_CAPPED]++;
        return;
    }
    st_answers(s)[s->nanswers++] = a;
}

/* One DNS message of len bytes. */
static void parse_message(struct dns_ctx *x, struct dns_state *s, const uint8_t *p, uint32_t len)
{
    struct wkp_cur m = {.p = p, .len = len};
    if (len < DNS_HDR) {
        x->counters[C_MALFORMED]++;
        s->malformed++;
        return;
    }
    uint16_t id = wkp_cur_be16(&m), flags = wkp_cur_be16(&m);
    uint16_t qd = wkp_cur_be16(&m), an = wkp_cur_be16(&m);
    uint16_t ns = wkp_cur_be16(&m), ar = wkp_cur_be16(&m);
    uint8_t rcode = (uint8_t)(flags & 0xF);
    x->counters[C_MESSAGES]++;
    if (s->messages++ == 0) {
        s->id = id;
        s->flags = flags;
        s->qdcount = qd;
        s->ancount = an;
        s->nscount = ns;
        s->arcount = ar;
        s->rcode = rcode;
    } else {
        if (!s->rcode)
            s->rcode = rcode;
        if (!s->ancount)
            s->ancount = an;
        if (!s->nscount)
            s->nscount = ns;
        if (!s->arcount)
            s->arcount = ar;
    }
    enum msg_res res = MSG_OK;
    if (flags & 0x0200) /* TC: the sender cut the message (RFC 1035 4.1.1) */
        x->counters[C_TRUNCATED]++;

    uint8_t name[DNS_NAME_WIRE_MAX];
    uint32_t nn;
    for (unsigned i = 0; i < qd; i++) {
        enum name_res nr = read_name(&m, name, &nn);
        if (name_failed(x, nr, &res))
            goto stop;
        uint16_t qtype = wkp_cur_be16(&m);
        (void)wkp_cur_be16(&m); /* class */
        if (m.short_read) {
            res = MSG_CUT;
            goto stop;
        }
        if (nr == NAME_OK)
            add_query(x, s, name, nn, qtype);
    }
    for (unsigned i = 0; i < an; i++) {
        enum name_res nr = read_name(&m, name, &nn);
        if (name_failed(x, nr, &res))
            goto stop;
        uint16_t type = wkp_cur_be16(&m);
        (void)wkp_cur_be16(&m); /* class */
        uint32_t ttl = wkp_cur_be32(&m);
        uint16_t rdlen = wkp_cur_be16(&m);
        if (m.short_read || !wkp_cur_has(&m, rdlen)) {
            res = MSG_CUT;
            goto stop;
        }
        uint8_t data[DNS_NAME_WIRE_MAX + 18];
        uint32_t dn = 0;
        bool has = answer_data(x, type, &m, m.off, rdlen, data, &dn, &res);
        m.off += rdlen;
        if (nr == NAME_OK)
            add_answer(x, s, name, nn, type, ttl, data, dn, has);
    }
stop:
    if (res == MSG_OK)
        return;
    x->counters[res == MSG_CUT ? C_TRUNCATED : C_MALFORMED]++;
    s->malformed++;
}

/* A message reassembled in t is complete (or the flow ended inside it). */
static void tcp_flush(struct dns_ctx *x, struct dns_state *s, struct dns_tcp *t)
{
    uint32_t keep = t->got < t->cap ? t->got : t->cap;
    if (t->msglen > DNS_TCP_BUF)
        x->counters[C_TCP_OVERSIZE]++;
    parse_message(x, s, t->buf, keep);
    t->npfx = 0;
    t->got = 0;
}

/* Room for the message t is reading, at most DNS_TCP_BUF: sized to the
 * message (a power of two from 64), so one message grows it once. Out of
 * memory keeps the old buffer: the message is read from what fits. */
static void tcp_reserve(struct dns_tcp *t)
{
    uint32_t want = t->msglen < DNS_TCP_BUF ? t->msglen : DNS_TCP_BUF;
    if (want <= t->cap)
        return;
    uint32_t cap = grown(t->cap, 64, want, DNS_TCP_BUF);
    uint8_t *b = realloc(t->buf, cap);
    if (!b)
        return;
    t->buf = b;
    t->cap = (uint16_t)cap;
}

static void tcp_bytes(struct dns_ctx *x, struct dns_state *s, struct dns_tcp *t, struct wkp_cur *c)
{
    while (wkp_cur_left(c) > 0) {
        if (t->npfx < 2) {
            t->pfx[t->npfx++] = wkp_cur_u8(c);
            if (t->npfx == 2) {
                t->msglen = (uint16_t)(t->pfx[0] << 8 | t->pfx[1]);
                t->got = 0;
                if (t->msglen == 0)
                    tcp_flush(x, s, t); /* an empty message: malformed */
            }
            continue;
        }
        uint32_t left = wkp_cur_left(c);
        if (t->got == 0 && left >= t->msglen) { /* whole in this segment: no copy */
            parse_message(x, s, c->p + c->off, t->msglen);
            c->off += t->msglen;
            t->npfx = 0;
            continue;
        }
        uint32_t take = (uint32_t)(t->msglen - t->got);
        if (take > left)
            take = left;
        if (t->got == 0)
            tcp_reserve(t);
        if (t->got < t->cap) {
            uint32_t room = (uint32_t)(t->cap - t->got);
            memcpy(t->buf + t->got, c->p + c->off, take < room ? take : room);
        }
        c->off += take;
        t->got = (uint16_t)(t->got + take);
        if (t->got == t->msglen)
            tcp_flush(x, s, t);
    }
}

static int dns_init(void *ctx, const struct wkp_dis_env *env)
{
    ((struct dns_ctx *)ctx)->counters = env->counters;
    ((struct dns_ctx *)ctx)->blocks = env->blocks;
    return 0;
}

/* Claimed by the port rule only: DNS has no signature worth the risk of
 * taking another protocol's flow on any port. */
static bool dns_probe(void *ctx, const struct wkp_dis_pkt *p, wkp_app_layer mode, bool port_match)
{
    (void)ctx;
    (void)p;
    (void)mode;
    return port_match;
}

static enum wkp_dis_result dns_parse(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                     struct wkp_cur *c)
{
    struct dns_state *s = state;
    if (p->proto == IPPROTO_TCP)
        tcp_bytes(ctx, s, &s->tcp[p->dir & 1], c);
    else
        parse_message(ctx, s, c->p + c->off, wkp_cur_left(c));
    return WKP_DIS_MORE;
}

/* A TCP message still being reassembled is parsed from what arrived. */
static void dns_finish(void *ctx, void *state)
{
    struct dns_state *s = state;
    for (int d = 0; d < 2; d++)
        if (s->tcp[d].npfx == 2 && s->tcp[d].got > 0)
            tcp_flush(ctx, s, &s->tcp[d]);
}

/* The engine takes the state back, zeroed or used. */
static void dns_release(void *ctx, void *state)
{
    struct dns_ctx *x = ctx;
    struct dns_state *s = state;
    if (s->store)
        wkp_blocks_give(x->blocks, s->store, st_size(s->acap, s->qcap, s->bcap));
    free(s->tcp[0].buf);
    free(s->tcp[1].buf);
    s->store = s->tcp[0].buf = s->tcp[1].buf = NULL;
}

static void put_str(struct wkp_buf *out, const struct dns_state *s, struct dns_str a)
{
    wkp_buf_json_bytes(out, st_bytes(s) + a.off, a.len);
}

static void put_u(struct wkp_buf *out, const char *key, uint64_t v)
{
    wkp_buf_puts(out, key);
    wkp_buf_u64(out, v);
}

static void dns_write(const void *state, struct wkp_buf *out)
{
    const struct dns_state *s = state;
    if (!s->messages)
        return;
    put_u(out, "{\"id\":", s->id);
    put_u(out, ",\"flags\":", s->flags);
    put_u(out, ",\"opcode\":", (unsigned)(s->flags >> 11 & 0xF));
    put_u(out, ",\"response_code\":", s->rcode);
    put_u(out, ",\"question_count\":", s->qdcount);
    put_u(out, ",\"answer_count\":", s->ancount);
    put_u(out, ",\"authority_count\":", s->nscount);
    put_u(out, ",\"additional_count\":", s->arcount);
    wkp_buf_puts(out, ",\"queries\":[");
    for (unsigned i = 0; i < s->nqueries; i++) {
        if (i)
            wkp_buf_putc(out, ',');
        put_str(out, s, st_queries(s)[i]);
    }
    wkp_buf_puts(out, "],\"qtypes\":[");
    for (unsigned i = 0; i < s->nqtypes; i++) {
        if (i)
            wkp_buf_putc(out, ',');
        wkp_buf_u64(out, s->qtypes[i]);
    }
    wkp_buf_puts(out, "],\"answers\":[");
    for (unsigned i = 0; i < s->nanswers; i++) {
        const struct dns_answer *a = &st_answers(s)[i];
        wkp_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        put_str(out, s, a->name);
        put_u(out, ",\"type\":", a->type);
        put_u(out, ",\"ttl\":", a->ttl);
        if (a->has_data) {
            wkp_buf_puts(out, ",\"data\":");
            put_str(out, s, a->data);
        }
        wkp_buf_putc(out, '}');
    }
    put_u(out, "],\"messages\":", s->messages);
    put_u(out, ",\"malformed\":", s->malformed);
    wkp_buf_putc(out, '}');
}

static size_t dns_ext(const void *state, const char **names, size_t max)
{
    const struct dns_state *s = state;
    if (!s->messages || max < 1)
        return 0;
    names[0] = "DNS";
    return 1;
}

static const uint16_t dns_ports[] = {53, 5353, 5355};

/* transport 0: both TCP and UDP, each packet's payload (see dns_parse). */
const struct wkp_dissector wkp_dissector_dns = {
    .name = "dns",
    .transport = 0,
    .ports = dns_ports,
    .nports = sizeof dns_ports / sizeof dns_ports[0],
    .input = WKP_DIS_DATAGRAM,
    .flow_state_size = sizeof(struct dns_state),
    .worker_ctx_size = sizeof(struct dns_ctx),
    .counter_names = dns_counter_names,
    .ncounters = C__COUNT,
    .worker_init = dns_init,
    .probe = dns_probe,
    .parse = dns_parse,
    .finish = dns_finish,
    .write = dns_write,
    .ext_protocol = dns_ext,
    .release = dns_release,
};
