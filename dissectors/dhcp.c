/* DHCP (RFC 2131, RFC 2132): UDP 67 and 68.
 *
 * Runs on the worker that owns the flow, like every dissector. A flow may
 * carry several messages (Discover, Offer, Request, Ack of one exchange, or
 * a client's renewals): each field keeps the first value seen in the flow,
 * except the addresses of the fixed header, which keep the first value that
 * is not 0.0.0.0 (0 means "not set" there: a Discover's yiaddr), and the
 * list of message types, which grows with every message (docs/output.md,
 * `dhcp`).
 *
 * A message is read only if it holds the 236-byte fixed header and the
 * magic cookie 99.130.83.99 after it (RFC 2131 3): a payload without the
 * cookie (BOOTP, or not DHCP at all) is counted and left unparsed. Options
 * are read up to the end option or the end of the payload; with option 52
 * (overload) the file and then the sname field are read for options too
 * (RFC 2132 9.3). An option cut short ends the message, keeping what was
 * read before.
 *
 * The inline state is small and fixed; the variable-length values (host
 * name, vendor class, client identifier, parameter request list) go into
 * one heap block sized to what they hold, at most DHCP_HEAP_MAX bytes,
 * allocated when the first of them is seen and freed in release(). Each is
 * stored once per flow, so a flow of repeated messages allocates nothing
 * after its first. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissector.h"

#define DHCP_FIXED      236 /* op .. file */
#define DHCP_COOKIE     0x63825363u
#define DHCP_MAX_TYPES  32   /* message types kept in the list */
#define DHCP_HEAP_MAX   2048 /* bytes of variable-length values per flow */
#define DHCP_HEAP_FIRST 128  /* first allocation, grown by doubling */

enum { C_MESSAGES, C_NO_COOKIE, C_TRUNCATED, C_CAPPED, C__COUNT };
static const char *const dhcp_counter_names[C__COUNT] = {
    "messages",
    "no_cookie",
    "truncated",
    "capped",
};

struct dhcp_ctx {
    uint64_t *counters;
};

/* The variable-length values, in the heap block. */
enum { V_HOSTNAME, V_VENDOR, V_CLIENT_ID, V_PRL, V__COUNT };

/* Which fixed values are set. */
enum {
    H_MSG_TYPE = 1u << 0,
    H_REQ_IP = 1u << 1,
    H_SERVER_ID = 1u << 2,
    H_LEASE = 1u << 3,
};

struct dhcp_state {
    uint32_t messages, truncated, no_cookie;
    uint32_t xid;
    uint32_t ciaddr, yiaddr, siaddr, giaddr; /* host order; 0: not seen */
    uint32_t requested_ip, server_id, lease_time;
    uint8_t op, msg_type, ntypes, have, relay_agent;
    uint8_t mac[6];
    uint8_t types[DHCP_MAX_TYPES];
    uint16_t voff[V__COUNT], vlen[V__COUNT];
    uint8_t vset; /* bit i: value i stored */
    uint16_t heap_len, heap_cap;
    uint8_t *heap;
};

_Static_assert(sizeof(struct dhcp_state) <= 256, "dhcp: inline state stays small");

/* Store a variable-length value the first time it is seen. */
static void put_value(struct dhcp_ctx *x, struct dhcp_state *s, int v, const uint8_t *p, uint32_t n)
{
    if (s->vset & (1u << v))
        return;
    uint32_t need = (uint32_t)s->heap_len + n;
    if (need > DHCP_HEAP_MAX) {
        x->counters[C_CAPPED]++;
        return;
    }
    if (need > s->heap_cap) {
        uint32_t cap = s->heap_cap ? 2u * s->heap_cap : DHCP_HEAP_FIRST;
        while (cap < need)
            cap *= 2;
        if (cap > DHCP_HEAP_MAX)
            cap = DHCP_HEAP_MAX;
        uint8_t *h = realloc(s->heap, cap);
        if (!h) {
            x->counters[C_CAPPED]++;
            return;
        }
        s->heap = h;
        s->heap_cap = (uint16_t)cap;
    }
    if (n)
        memcpy(s->heap + s->heap_len, p, n);
    s->voff[v] = s->heap_len;
    s->vlen[v] = (uint16_t)n;
    s->heap_len = (uint16_t)need;
    s->vset = (uint8_t)(s->vset | 1u << v);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One option of the current message (len bytes at p). */
static void take_option(struct dhcp_ctx *x, struct dhcp_state *s, uint8_t code, const uint8_t *p,
                        uint8_t len, bool *typed)
{
    switch (code) {
    case 53: /* DHCP message type */
        if (len != 1 || *typed)
            break;
        *typed = true;
        if (!(s->have & H_MSG_TYPE)) {
            s->msg_type = p[0];
            s->have |= H_MSG_TYPE;
        }
        if (s->ntypes < DHCP_MAX_TYPES)
            s->types[s->ntypes++] = p[0];
        else
            x->counters[C_CAPPED]++;
        break;
    case 50: /* requested IP address */
        if (len == 4 && !(s->have & H_REQ_IP)) {
            s->requested_ip = be32(p);
            s->have |= H_REQ_IP;
        }
        break;
    case 54: /* server identifier */
        if (len == 4 && !(s->have & H_SERVER_ID)) {
            s->server_id = be32(p);
            s->have |= H_SERVER_ID;
        }
        break;
    case 51: /* IP address lease time */
        if (len == 4 && !(s->have & H_LEASE)) {
            s->lease_time = be32(p);
            s->have |= H_LEASE;
        }
        break;
    case 12: /* host name; some clients add a NUL (RFC 2132 2: they should not) */
        while (len > 0 && p[len - 1] == 0)
            len--;
        put_value(x, s, V_HOSTNAME, p, len);
        break;
    case 60: /* vendor class identifier; likewise */
        while (len > 0 && p[len - 1] == 0)
            len--;
        put_value(x, s, V_VENDOR, p, len);
        break;
    case 61: put_value(x, s, V_CLIENT_ID, p, len); break;
    case 55: put_value(x, s, V_PRL, p, len); break;
    case 82: s->relay_agent = 1; break;
    default: break;
    }
}

/* The options in c, up to the end option. Returns false if one was cut
 * short; *overload gets option 52's value. */
static bool read_options(struct dhcp_ctx *x, struct dhcp_state *s, struct wkp_cur *c,
                         uint8_t *overload, bool *typed)
{
    while (wkp_cur_left(c) > 0) {
        uint8_t code = wkp_cur_u8(c);
        if (code == 0) /* pad */
            continue;
        if (code == 255) /* end */
            return true;
        uint8_t len = wkp_cur_u8(c);
        struct wkp_cur v;
        if (c->short_read || !wkp_cur_sub(c, len, &v))
            return false;
        if (code == 52 && len == 1)
            *overload = v.p[0];
        take_option(x, s, code, v.p, len, typed);
    }
    return true;
}

static void parse_message(struct dhcp_ctx *x, struct dhcp_state *s, struct wkp_cur *c)
{
    uint8_t h[DHCP_FIXED];
    wkp_cur_copy(c, h, DHCP_FIXED);
    uint32_t cookie = wkp_cur_be32(c);
    if (c->short_read) {
        x->counters[C_TRUNCATED]++;
        return;
    }
    if (cookie != DHCP_COOKIE) {
        x->counters[C_NO_COOKIE]++;
        s->no_cookie++;
        return;
    }
    x->counters[C_MESSAGES]++;
    if (s->messages++ == 0) {
        s->op = h[0];
        s->xid = be32(h + 4);
        memcpy(s->mac, h + 28, 6); /* chaddr: the first 6 bytes */
    }
    uint32_t *addr[4] = {&s->ciaddr, &s->yiaddr, &s->siaddr, &s->giaddr};
    for (int i = 0; i < 4; i++)
        if (!*addr[i])
            *addr[i] = be32(h + 12 + 4 * i);
    uint8_t overload = 0;
    bool typed = false, whole = read_options(x, s, c, &overload, &typed);
    /* Overloaded fields: file first, then sname (RFC 2132 9.3). */
    struct wkp_cur f = {.p = h + 108, .len = 128}, sn = {.p = h + 44, .len = 64};
    uint8_t ignored = 0;
    if (whole && (overload & 1))
        whole = read_options(x, s, &f, &ignored, &typed);
    if (whole && (overload & 2))
        whole = read_options(x, s, &sn, &ignored, &typed);
    if (!whole) {
        x->counters[C_TRUNCATED]++;
        s->truncated++;
    }
}

static int dhcp_init(void *ctx, const struct wkp_dis_env *env)
{
    ((struct dhcp_ctx *)ctx)->counters = env->counters;
    return 0;
}

/* Claimed on its ports only: the cookie is checked per message instead. */
static bool dhcp_probe(void *ctx, const struct wkp_dis_pkt *p, wkp_app_layer mode, bool port_match)
{
    (void)ctx;
    (void)p;
    (void)mode;
    return port_match;
}

static enum wkp_dis_result dhcp_parse(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                      struct wkp_cur *c)
{
    (void)p;
    parse_message(ctx, state, c);
    return WKP_DIS_MORE;
}

static void put_ip(struct wkp_buf *out, const char *key, uint32_t a)
{
    wkp_buf_puts(out, key);
    wkp_buf_putc(out, '"');
    for (int i = 0; i < 4; i++) {
        if (i)
            wkp_buf_putc(out, '.');
        wkp_buf_u64(out, a >> (24 - 8 * i) & 0xFF);
    }
    wkp_buf_putc(out, '"');
}

static void put_u(struct wkp_buf *out, const char *key, uint64_t v)
{
    wkp_buf_puts(out, key);
    wkp_buf_u64(out, v);
}

static void put_hex(struct wkp_buf *out, const uint8_t *p, size_t n, char sep)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        if (i && sep)
            wkp_buf_putc(out, sep);
        wkp_buf_putc(out, hex[p[i] >> 4]);
        wkp_buf_putc(out, hex[p[i] & 15]);
    }
}

/* Value v's bytes (an empty value may have no heap behind it). */
static const uint8_t *val(const struct dhcp_state *s, int v)
{
    return s->heap ? s->heap + s->voff[v] : (const uint8_t *)"";
}

static void dhcp_write(const void *state, struct wkp_buf *out)
{
    const struct dhcp_state *s = state;
    if (!s->messages)
        return;
    put_u(out, "{\"op\":", s->op);
    put_u(out, ",\"xid\":", s->xid);
    if (s->have & H_MSG_TYPE)
        put_u(out, ",\"message_type\":", s->msg_type);
    wkp_buf_puts(out, ",\"message_types\":[");
    for (unsigned i = 0; i < s->ntypes; i++) {
        if (i)
            wkp_buf_putc(out, ',');
        wkp_buf_u64(out, s->types[i]);
    }
    wkp_buf_puts(out, "],\"client_mac\":\"");
    put_hex(out, s->mac, 6, ':');
    wkp_buf_putc(out, '"');
    put_ip(out, ",\"ciaddr\":", s->ciaddr);
    put_ip(out, ",\"yiaddr\":", s->yiaddr);
    put_ip(out, ",\"siaddr\":", s->siaddr);
    put_ip(out, ",\"giaddr\":", s->giaddr);
    if (s->have & H_REQ_IP)
        put_ip(out, ",\"requested_ip\":", s->requested_ip);
    if (s->have & H_SERVER_ID)
        put_ip(out, ",\"server_id\":", s->server_id);
    if (s->have & H_LEASE)
        put_u(out, ",\"lease_time\":", s->lease_time);
    if (s->vset & (1u << V_HOSTNAME)) {
        wkp_buf_puts(out, ",\"hostname\":");
        wkp_buf_json_bytes(out, val(s, V_HOSTNAME), s->vlen[V_HOSTNAME]);
    }
    if (s->vset & (1u << V_VENDOR)) {
        wkp_buf_puts(out, ",\"vendor_class\":");
        wkp_buf_json_bytes(out, val(s, V_VENDOR), s->vlen[V_VENDOR]);
    }
    if (s->vset & (1u << V_CLIENT_ID)) {
        wkp_buf_puts(out, ",\"client_id\":\"");
        put_hex(out, val(s, V_CLIENT_ID), s->vlen[V_CLIENT_ID], 0);
        wkp_buf_putc(out, '"');
    }
    if (s->vset & (1u << V_PRL)) {
        wkp_buf_puts(out, ",\"parameter_request_list\":[");
        for (unsigned i = 0; i < s->vlen[V_PRL]; i++) {
            if (i)
                wkp_buf_putc(out, ',');
            wkp_buf_u64(out, val(s, V_PRL)[i]);
        }
        wkp_buf_putc(out, ']');
    }
    wkp_buf_puts(out,
                 s->relay_agent ? ",\"relay_agent_info\":true" : ",\"relay_agent_info\":false");
    put_u(out, ",\"messages\":", s->messages);
    put_u(out, ",\"truncated\":", s->truncated);
    put_u(out, ",\"no_cookie\":", s->no_cookie);
    wkp_buf_putc(out, '}');
}

static void dhcp_release(void *ctx, void *state)
{
    (void)ctx;
    struct dhcp_state *s = state;
    free(s->heap);
    s->heap = NULL;
}

static const uint16_t dhcp_ports[] = {67, 68};

/* No ext_protocol: DHCP is not listed there (docs/output.md, `dhcp`). */
const struct wkp_dissector wkp_dissector_dhcp = {
    .name = "dhcp",
    .transport = IPPROTO_UDP,
    .ports = dhcp_ports,
    .nports = sizeof dhcp_ports / sizeof dhcp_ports[0],
    .input = WKP_DIS_DATAGRAM,
    .flow_state_size = sizeof(struct dhcp_state),
    .worker_ctx_size = sizeof(struct dhcp_ctx),
    .counter_names = dhcp_counter_names,
    .ncounters = C__COUNT,
    .worker_init = dhcp_init,
    .probe = dhcp_probe,
    .parse = dhcp_parse,
    .write = dhcp_write,
    .release = dhcp_release,
};
