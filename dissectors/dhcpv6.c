/* DHCPv6 (RFC 8415): UDP 546 and 547.
 *
 * Runs on the worker that owns the flow, like every dissector. A flow may
 * carry several messages (Solicit, Advertise, Request, Reply): each field
 * keeps the first value seen in the flow, the message types are listed in
 * the order they came, and the leased addresses and delegated prefixes are
 * gathered, each once (docs/output.md, `dhcpv6`).
 *
 * A Relay-forward or Relay-reply message (types 12, 13) is unwrapped: the
 * message inside its Relay Message option is read in its place, through at
 * most DHCPV6_MAX_RELAY relays (RFC 8415 7.6 limits relaying to 8 hops).
 * The relay's own options (interface id, remote id) are not read.
 *
 * The inline state is small and fixed. The values read once (the DUIDs, the
 * option request list, the FQDN) go into one heap block, the addresses and
 * prefixes into another, each sized to what it holds under a cap and freed
 * in release(); a flow of repeated messages allocates nothing after the
 * first time each value is seen. An option cut short ends its message,
 * keeping what was read before. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissector.h"
#include "util/addrtext.h"

#define DHCPV6_MAX_TYPES  32   /* message types kept in the list */
#define DHCPV6_MAX_RELAY  8    /* relay messages unwrapped around one message */
#define DHCPV6_MAX_LEASES 32   /* addresses and prefixes, together */
#define DHCPV6_VALS_MAX   1024 /* bytes of DUIDs, option request list and FQDN */
#define DHCPV6_FQDN_MAX   255  /* text bytes of the FQDN */
#define DHCPV6_DUID_MAX   130  /* RFC 8415 11.1: a DUID is at most 128 bytes after its type */

enum { C_MESSAGES, C_RELAYED, C_TRUNCATED, C_CAPPED, C__COUNT };
static const char *const dhcpv6_counter_names[C__COUNT] = {
    "messages",
    "relayed",
    "truncated",
    "capped",
};

struct dhcpv6_ctx {
    uint64_t *counters;
};

/* Option codes (RFC 8415 21, RFC 4704). */
enum {
    O_CLIENTID = 1,
    O_SERVERID = 2,
    O_IA_NA = 3,
    O_IA_TA = 4,
    O_IAADDR = 5,
    O_ORO = 6,
    O_RELAY_MSG = 9,
    O_IA_PD = 25,
    O_IAPREFIX = 26,
    O_FQDN = 39,
};

enum { V_CLIENT, V_SERVER, V_ORO, V_FQDN, V__COUNT };

/* A growable byte block: allocated on first need, doubled, capped. */
struct block {
    uint8_t *p;
    uint16_t len, cap;
};

/* A lease: an address (plen 255) or a prefix. */
struct lease {
    uint8_t addr[16];
    uint8_t plen;
};

struct dhcpv6_state {
    uint32_t messages, truncated, relayed;
    uint32_t xid;
    uint16_t client_type, server_type;
    uint8_t msg_type, ntypes, nleases, vset;
    uint8_t fqdn_flags;
    uint8_t types[DHCPV6_MAX_TYPES];
    uint16_t voff[V__COUNT], vlen[V__COUNT];
    struct block vals;   /* the once-values */
    struct block leases; /* struct lease, nleases of them */
};

_Static_assert(sizeof(struct dhcpv6_state) <= 256, "dhcpv6: inline state stays small");

/* Room for n more bytes in b (at most max in all); false: capped. */
static bool grow(struct block *b, uint32_t n, uint32_t max)
{
    uint32_t need = (uint32_t)b->len + n;
    if (need > max)
        return false;
    if (need <= b->cap)
        return true;
    uint32_t cap = b->cap ? 2u * b->cap : 64u;
    while (cap < need)
        cap *= 2;
    if (cap > max)
        cap = max;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = (uint16_t)cap;
    return true;
}

static void put_value(struct dhcpv6_ctx *x, struct dhcpv6_state *s, int v, const uint8_t *p,
                      uint32_t n)
{
    if (s->vset & (1u << v))
        return;
    if (!grow(&s->vals, n, DHCPV6_VALS_MAX)) {
        x->counters[C_CAPPED]++;
        return;
    }
    if (n)
        memcpy(s->vals.p + s->vals.len, p, n);
    s->voff[v] = s->vals.len;
    s->vlen[v] = (uint16_t)n;
    s->vals.len = (uint16_t)(s->vals.len + n);
    s->vset = (uint8_t)(s->vset | 1u << v);
}

static void add_lease(struct dhcpv6_ctx *x, struct dhcpv6_state *s, const uint8_t *addr,
                      uint8_t plen)
{
    struct lease l;
    memcpy(l.addr, addr, 16);
    l.plen = plen;
    for (unsigned i = 0; i < s->nleases; i++)
        if (memcmp(s->leases.p + i * sizeof l, &l, sizeof l) == 0)
            return;
    if (s->nleases == DHCPV6_MAX_LEASES ||
        !grow(&s->leases, sizeof l, DHCPV6_MAX_LEASES * sizeof l)) {
        x->counters[C_CAPPED]++;
        return;
    }
    memcpy(s->leases.p + s->leases.len, &l, sizeof l);
    s->leases.len = (uint16_t)(s->leases.len + sizeof l);
    s->nleases++;
}

/* A DUID option: its type apart, the whole DUID kept as bytes. */
static void take_duid(struct dhcpv6_ctx *x, struct dhcpv6_state *s, int v, struct wkp_cur *o)
{
    if (s->vset & (1u << v) || o->len < 2)
        return;
    uint16_t type = (uint16_t)(o->p[0] << 8 | o->p[1]);
    uint32_t n = o->len < DHCPV6_DUID_MAX ? o->len : DHCPV6_DUID_MAX;
    put_value(x, s, v, o->p, n);
    if (s->vset & (1u << v)) {
        if (v == V_CLIENT)
            s->client_type = type;
        else
            s->server_type = type;
    }
}

/* The options inside an IA option (IAADDR or IAPREFIX, each with its own
 * options after its fixed part, which are not read). False: cut short. */
static bool ia_options(struct dhcpv6_ctx *x, struct dhcpv6_state *s, struct wkp_cur *c)
{
    while (wkp_cur_left(c) > 0) {
        uint16_t code = wkp_cur_be16(c), len = wkp_cur_be16(c);
        struct wkp_cur o;
        if (c->short_read || !wkp_cur_sub(c, len, &o))
            return false;
        if (code == O_IAADDR && len >= 24) {
            add_lease(x, s, o.p, 255);
        } else if (code == O_IAPREFIX && len >= 25) {
            uint8_t plen = o.p[8];
            if (plen <= 128)
                add_lease(x, s, o.p + 9, plen);
        }
    }
    return true;
}

/* The FQDN option: flags, then a name in DNS wire format without
 * compression (RFC 4704 4). A fully qualified name (ending with the root
 * label) is written with a final ".", a partial one (no root label) without,
 * so the two stay apart; the root alone is an empty name. */
static void take_fqdn(struct dhcpv6_ctx *x, struct dhcpv6_state *s, struct wkp_cur *o)
{
    if (s->vset & (1u << V_FQDN) || o->len < 1)
        return;
    uint8_t text[DHCPV6_FQDN_MAX];
    uint32_t n = 0;
    uint8_t flags = wkp_cur_u8(o);
    while (wkp_cur_left(o) > 0) {
        uint8_t l = wkp_cur_u8(o);
        if (l == 0) { /* the root: a fully qualified name ends with "." */
            if (n > 0 && n < DHCPV6_FQDN_MAX)
                text[n++] = '.';
            break;
        }
        if (l > 63 || !wkp_cur_has(o, l))
            break;
        if (n + (n ? 1u : 0u) + l > DHCPV6_FQDN_MAX)
            break;
        if (n)
            text[n++] = '.';
        memcpy(text + n, o->p + o->off, l);
        n += l;
        o->off += l;
    }
    put_value(x, s, V_FQDN, text, n);
    s->fqdn_flags = flags;
}

/* One message (not a relay): type, transaction id, options. False: an
 * option was cut short. */
static bool read_message(struct dhcpv6_ctx *x, struct dhcpv6_state *s, struct wkp_cur *c,
                         uint8_t type)
{
    uint8_t id[3];
    wkp_cur_copy(c, id, 3);
    if (c->short_read)
        return false;
    x->counters[C_MESSAGES]++;
    if (s->messages++ == 0) {
        s->msg_type = type;
        s->xid = (uint32_t)id[0] << 16 | (uint32_t)id[1] << 8 | id[2];
    }
    if (s->ntypes < DHCPV6_MAX_TYPES)
        s->types[s->ntypes++] = type;
    else
        x->counters[C_CAPPED]++;
    while (wkp_cur_left(c) > 0) {
        uint16_t code = wkp_cur_be16(c), len = wkp_cur_be16(c);
        struct wkp_cur o;
        if (c->short_read || !wkp_cur_sub(c, len, &o))
            return false;
        switch (code) {
        case O_CLIENTID: take_duid(x, s, V_CLIENT, &o); break;
        case O_SERVERID: take_duid(x, s, V_SERVER, &o); break;
        case O_IA_NA:
        case O_IA_PD: /* IAID, T1, T2, then options */
            if (wkp_cur_skip(&o, 12) && !ia_options(x, s, &o))
                return false;
            break;
        case O_IA_TA: /* IAID, then options */
            if (wkp_cur_skip(&o, 4) && !ia_options(x, s, &o))
                return false;
            break;
        case O_ORO: put_value(x, s, V_ORO, o.p, len & ~1u); break;
        case O_FQDN: take_fqdn(x, s, &o); break;
        default: break;
        }
    }
    return true;
}

/* A datagram: a message, or relays around one. */
static void parse_datagram(struct dhcpv6_ctx *x, struct dhcpv6_state *s, struct wkp_cur *c)
{
    struct wkp_cur m = *c;
    for (int depth = 0;; depth++) {
        uint8_t type = wkp_cur_u8(&m);
        if (m.short_read)
            break;
        if (type != 12 && type != 13) {
            if (read_message(x, s, &m, type))
                return;
            break;
        }
        /* Relay: hop count, link address, peer address, options. */
        if (depth == DHCPV6_MAX_RELAY || !wkp_cur_skip(&m, 33))
            break;
        struct wkp_cur inner = {0};
        bool found = false;
        while (!found && wkp_cur_left(&m) > 0) {
            uint16_t code = wkp_cur_be16(&m), len = wkp_cur_be16(&m);
            if (m.short_read || !wkp_cur_sub(&m, len, &inner))
                break;
            found = code == O_RELAY_MSG;
        }
        if (!found)
            break;
        if (depth == 0) {
            x->counters[C_RELAYED]++;
            s->relayed++;
        }
        m = inner;
    }
    x->counters[C_TRUNCATED]++;
    s->truncated++;
}

static int dhcpv6_init(void *ctx, const struct wkp_dis_env *env)
{
    ((struct dhcpv6_ctx *)ctx)->counters = env->counters;
    return 0;
}

/* Claimed on its ports only: DHCPv6 has no signature to tell it apart. */
static bool dhcpv6_probe(void *ctx, const struct wkp_dis_pkt *p, wkp_app_layer mode,
                         bool port_match)
{
    (void)ctx;
    (void)p;
    (void)mode;
    return port_match;
}

static enum wkp_dis_result dhcpv6_parse(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                        struct wkp_cur *c)
{
    (void)p;
    if (wkp_cur_left(c) > 0)
        parse_datagram(ctx, state, c);
    return WKP_DIS_MORE;
}

static void put_u(struct wkp_buf *out, const char *key, uint64_t v)
{
    wkp_buf_puts(out, key);
    wkp_buf_u64(out, v);
}

static void put_hex(struct wkp_buf *out, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    wkp_buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        wkp_buf_putc(out, hex[p[i] >> 4]);
        wkp_buf_putc(out, hex[p[i] & 15]);
    }
    wkp_buf_putc(out, '"');
}

/* The leases of one kind (addresses, or prefixes) as a JSON list. */
static void put_leases(struct wkp_buf *out, const struct dhcpv6_state *s, bool prefixes)
{
    bool first = true;
    wkp_buf_putc(out, '[');
    for (unsigned i = 0; i < s->nleases; i++) {
        struct lease l;
        memcpy(&l, s->leases.p + i * sizeof l, sizeof l);
        if ((l.plen != 255) != prefixes)
            continue;
        char t[WKP_ADDR_TEXT_MAX];
        wkp_addr_text(l.addr, 6, t);
        wkp_buf_puts(out, first ? "\"" : ",\"");
        wkp_buf_puts(out, t);
        if (prefixes) {
            wkp_buf_putc(out, '/');
            wkp_buf_u64(out, l.plen);
        }
        wkp_buf_putc(out, '"');
        first = false;
    }
    wkp_buf_putc(out, ']');
}

/* Value v's bytes (an empty value may have no heap behind it). */
static const uint8_t *val(const struct dhcpv6_state *s, int v)
{
    return s->vals.p ? s->vals.p + s->voff[v] : (const uint8_t *)"";
}

static void dhcpv6_write(const void *state, struct wkp_buf *out)
{
    const struct dhcpv6_state *s = state;
    if (!s->messages)
        return;
    put_u(out, "{\"message_type\":", s->msg_type);
    wkp_buf_puts(out, ",\"message_types\":[");
    for (unsigned i = 0; i < s->ntypes; i++) {
        if (i)
            wkp_buf_putc(out, ',');
        wkp_buf_u64(out, s->types[i]);
    }
    put_u(out, "],\"transaction_id\":", s->xid);
    if (s->vset & (1u << V_CLIENT)) {
        put_u(out, ",\"client_duid_type\":", s->client_type);
        wkp_buf_puts(out, ",\"client_duid\":");
        put_hex(out, val(s, V_CLIENT), s->vlen[V_CLIENT]);
    }
    if (s->vset & (1u << V_SERVER)) {
        put_u(out, ",\"server_duid_type\":", s->server_type);
        wkp_buf_puts(out, ",\"server_duid\":");
        put_hex(out, val(s, V_SERVER), s->vlen[V_SERVER]);
    }
    wkp_buf_puts(out, ",\"addresses\":");
    put_leases(out, s, false);
    wkp_buf_puts(out, ",\"prefixes\":");
    put_leases(out, s, true);
    if (s->vset & (1u << V_ORO)) {
        wkp_buf_puts(out, ",\"option_request\":[");
        const uint8_t *p = val(s, V_ORO);
        for (unsigned i = 0; i + 1 < s->vlen[V_ORO]; i += 2) {
            if (i)
                wkp_buf_putc(out, ',');
            wkp_buf_u64(out, (unsigned)(p[i] << 8 | p[i + 1]));
        }
        wkp_buf_putc(out, ']');
    }
    if (s->vset & (1u << V_FQDN)) {
        put_u(out, ",\"fqdn_flags\":", s->fqdn_flags);
        wkp_buf_puts(out, ",\"fqdn\":");
        wkp_buf_json_bytes(out, val(s, V_FQDN), s->vlen[V_FQDN]);
    }
    put_u(out, ",\"messages\":", s->messages);
    put_u(out, ",\"relayed\":", s->relayed);
    put_u(out, ",\"truncated\":", s->truncated);
    wkp_buf_putc(out, '}');
}

static void dhcpv6_release(void *ctx, void *state)
{
    (void)ctx;
    struct dhcpv6_state *s = state;
    free(s->vals.p);
    free(s->leases.p);
    s->vals.p = NULL;
    s->leases.p = NULL;
}

static const uint16_t dhcpv6_ports[] = {546, 547};

/* No ext_protocol: DHCPv6 is not listed there (docs/output.md, `dhcpv6`). */
const struct wkp_dissector wkp_dissector_dhcpv6 = {
    .name = "dhcpv6",
    .transport = IPPROTO_UDP,
    .ports = dhcpv6_ports,
    .nports = sizeof dhcpv6_ports / sizeof dhcpv6_ports[0],
    .input = WKP_DIS_DATAGRAM,
    .flow_state_size = sizeof(struct dhcpv6_state),
    .worker_ctx_size = sizeof(struct dhcpv6_ctx),
    .counter_names = dhcpv6_counter_names,
    .ncounters = C__COUNT,
    .worker_init = dhcpv6_init,
    .probe = dhcpv6_probe,
    .parse = dhcpv6_parse,
    .write = dhcpv6_write,
    .release = dhcpv6_release,
};
