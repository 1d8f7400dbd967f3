/* Packet filters (interface and language in filter.h, docs/filters.md).
 *
 * Compiled on the thread that creates the engine, then used by the reader
 * thread only: per-link-type BPF programs are compiled lazily there, and
 * the untagged copy of a frame lives in the filter's scratch buffer.
 *
 * The one idea: wa1kpcap parses only tcpdump's boolean skeleton. Its leaves
 * are our keywords or runs of other tokens; every subtree without a keyword
 * goes back to libpcap as the original text it spans, so libpcap sees
 * `port 80 or 443` whole and its qualifier inheritance still works. Spans
 * stay contiguous because a subtree always covers consecutive tokens; the
 * one place that needs care is where and/or chains are flattened through
 * parentheses (segments, below).
 *
 * Parenthesised parts without a keyword are never parsed: they may be
 * libpcap arithmetic (`(tcp[12] & 0xf0) >> 2 > 20`), and libpcap reads them
 * as written. */
#include "filter/filter.h"

#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissector.h"
#include "util/oneline.h"

#define SNAPLEN  262144
#define MAX_NEST 64  /* nesting of not/parentheses: bounds the recursion */
#define MAX_DLTS 300 /* link types probed when validating a libpcap part */

/* ---- keywords -------------------------------------------------------------- */

enum kw {
    KW_NONE = -1,
    KW_ARP,
    KW_ICMP,
    KW_ICMPV6,
    KW_DHCP,
    KW_DHCPV6,
    KW_VLAN,
    KW_GRE,
    KW_VXLAN,
    KW_GENEVE,
    KW_MPLS,
    KW_TLS, /* flow-level from here: reserved names, false while no dissector has them */
    KW_HTTP,
    KW_DNS,
    KW_QUIC,
    KW_APP0, /* KW_APP0 + i: registry row i (dissectors/registry.def) */
};
_Static_assert(KW_APP0 + WKP_MAX_DISSECTORS <= 127, "keyword codes fit a tok's int8_t");

static const struct {
    const char *word;
    enum kw kw;
    uint32_t arg_max; /* 0: takes no argument */
} keywords[] = {
    {"arp", KW_ARP, 0},
    {"icmp", KW_ICMP, 0},
    {"icmpv6", KW_ICMPV6, 0},
    {"icmp6", KW_ICMPV6, 0},
    {"dhcp", KW_DHCP, 0},
    {"dhcpv6", KW_DHCPV6, 0},
    {"vlan", KW_VLAN, 4095},
    {"gre", KW_GRE, 0},
    {"vxlan", KW_VXLAN, 0xFFFFFF},
    {"geneve", KW_GENEVE, 0xFFFFFF},
    {"mpls", KW_MPLS, 0xFFFFF},
    {"tls", KW_TLS, 0},
    {"http", KW_HTTP, 0},
    {"dns", KW_DNS, 0},
    {"quic", KW_QUIC, 0},
};

static const char *const kw_names[] = {
    [KW_ARP] = "arp",       [KW_ICMP] = "icmp", [KW_ICMPV6] = "icmpv6", [KW_DHCP] = "dhcp",
    [KW_DHCPV6] = "dhcpv6", [KW_VLAN] = "vlan", [KW_GRE] = "gre",       [KW_VXLAN] = "vxlan",
    [KW_GENEVE] = "geneve", [KW_MPLS] = "mpls", [KW_TLS] = "tls",       [KW_HTTP] = "http",
    [KW_DNS] = "dns",       [KW_QUIC] = "quic",
};

static bool kw_is_flow(int kw)
{
    return kw >= KW_TLS;
}

/* A flow-level keyword names an application dissector's registry row: the
 * row's name is the keyword, its index the flow's matched bit. tls, http,
 * dns and quic are flow-level even before their dissector exists (then no
 * flow has them). A packet-level keyword keeps its meaning even if a
 * dissector shares its name (dhcp, icmp): the default filter relies on it. */
static int kw_of_word(const char *word, size_t n, int table_kw)
{
    if (table_kw != KW_NONE && !kw_is_flow(table_kw))
        return table_kw;
    int i = wkp_dissector_find(word, n);
    return i >= 0 ? KW_APP0 + i : table_kw;
}

static const char *kw_name(int kw)
{
    return kw >= KW_APP0 ? wkp_dissectors[kw - KW_APP0]->name : kw_names[kw];
}

/* libpcap words after which the next word is a name or number, never a
 * keyword of ours: `port http`, `host dns`, `ip proto gre`. */
static const char *const id_takers[] = {"port", "portrange", "proto", "protochain", "host",
                                        "net",  "src",       "dst",   "gateway"};
/* libpcap words that make a preceding protocol name a qualifier of
 * libpcap's own (`arp host 10.0.0.1`). */
static const char *const qual_words[] = {"host",       "net",       "src",      "dst",
                                         "port",       "portrange", "gateway",  "proto",
                                         "protochain", "broadcast", "multicast"};

/* ---- tokens ----------------------------------------------------------------- */

enum tt { T_END, T_LP, T_RP, T_AND, T_OR, T_NOT, T_WORD };

struct tok {
    uint8_t type;
    int8_t kw;    /* enum kw of a T_WORD that is our keyword, else KW_NONE */
    bool has_arg; /* kw takes the next token as its argument */
    bool is_arg;  /* consumed as a keyword's argument */
    uint32_t arg;
    uint32_t start, end; /* byte span in the text */
    int32_t match;       /* T_LP/T_RP: index of the matching parenthesis */
};

/* ---- tree ------------------------------------------------------------------ */

enum nk { N_TRUE, N_AND, N_OR, N_NOT, N_KW, N_BPF };

struct node {
    uint8_t kind;
    int8_t kw;
    bool has_arg;
    bool group;   /* written in parentheses */
    uint16_t seg; /* flattening segment (see flatten) */
    uint32_t arg;
    uint32_t start, end; /* span in the text */
    int32_t kid, next;   /* first child, next sibling: -1 if none */
    int32_t leaf;        /* N_BPF: index in leaves */
    int32_t kwtok;       /* N_KW: its token (for messages) */
};

struct leaf {
    char *text;
    struct bpf_program raw; /* compiled for DLT_RAW, if raw_ok */
    bool raw_ok;
};

struct dlt_slot {
    int dlt;
    bool ready;
    struct bpf_program *progs; /* per leaf, valid where !use_raw[i] */
    bool *use_raw;
};

struct wkp_filter {
    char *text;
    struct node *nodes;
    size_t nnodes, cap_nodes;
    struct leaf *leaves;
    size_t nleaves;
    int32_t pkt_root, flow_root; /* -1: no such part */
    struct dlt_slot *slots;
    size_t nslots;
    struct dlt_slot *last; /* slot of the previous packet's dlt */
    uint8_t *scratch;
    size_t scratch_cap;
    char error[sizeof(((wkp_errbuf *)0)->msg)];
    bool compat; /* --compat: icmpv6 as the original's raw stage saw it */
    /* Fast path for packet filters made only of argument-less keywords
     * (the default filter): the result depends only on which of at most 8
     * keywords hold, so it is memoised per keyword bitmask. */
    int8_t memo_state; /* 0 not decided, 1 usable, -1 not usable */
    uint8_t memo_nkw;
    int32_t memo_kw[8]; /* node index of one N_KW per distinct keyword */
    int8_t memo[256];   /* -1 unknown, else the result */
};

struct parser {
    struct wkp_filter *f;
    const char *text;
    struct tok *toks;
    size_t ntoks, pos;
    uint32_t *kwbefore; /* kwbefore[i]: keyword tokens among toks[0..i) */
    unsigned nest;
    wkp_errbuf *err;
    bool failed, oom;
    uint16_t nseg;
};

static void seterr(wkp_errbuf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(wkp_errbuf *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    wkp_oneline(err->msg, sizeof err->msg); /* it may quote the expression */
}

static bool word_is(const char *text, const struct tok *t, const char *w)
{
    size_t n = strlen(w);
    return t->type == T_WORD && t->end - t->start == n && memcmp(text + t->start, w, n) == 0;
}

static bool word_in(const char *text, const struct tok *t, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (word_is(text, t, set[i]))
            return true;
    return false;
}

/* A keyword argument: decimal or 0x hex, at most max. */
static bool parse_number(const char *s, size_t n, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    size_t i = 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, i = 2;
    if (i == n)
        return false;
    for (; i < n; i++) {
        unsigned d;
        char c = s[i];
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        v = v * base + d;
        if (v > 0xFFFFFFFFu)
            return false;
    }
    *out = (uint32_t)v;
    return v <= max;
}

static bool is_number(const char *s, size_t n)
{
    uint32_t v;
    return parse_number(s, n, 0xFFFFFFFFu, &v);
}

/* Split the text into parentheses, connectives and words. A word is any
 * other run of characters up to a blank, a parenthesis, `&&`, `||` or a `!`
 * that is not `!=`; libpcap's own operators stay inside words or form
 * words of their own, which is all the skeleton needs. */
static bool tokenize(struct parser *ps)
{
    const char *s = ps->text;
    size_t len = strlen(s), cap = 16;
    ps->toks = malloc(cap * sizeof *ps->toks);
    if (!ps->toks)
        return false;
    size_t i = 0;
    for (;;) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
            i++;
        if (ps->ntoks + 1 >= cap) {
            struct tok *t = realloc(ps->toks, 2 * cap * sizeof *t);
            if (!t)
                return false;
            ps->toks = t;
            cap *= 2;
        }
        struct tok *t = &ps->toks[ps->ntoks++];
        memset(t, 0, sizeof *t);
        t->kw = KW_NONE;
        t->match = -1;
        t->start = (uint32_t)i;
        if (i >= len) {
            t->type = T_END;
            t->end = (uint32_t)i;
            return true;
        }
        char c = s[i], d = i + 1 < len ? s[i + 1] : 0;
        if (c == '(') {
            t->type = T_LP, i++;
        } else if (c == ')') {
            t->type = T_RP, i++;
        } else if (c == '&' && d == '&') {
            t->type = T_AND, i += 2;
        } else if (c == '|' && d == '|') {
            t->type = T_OR, i += 2;
        } else if (c == '!' && d != '=') {
            t->type = T_NOT, i++;
        } else {
            t->type = T_WORD;
            while (i < len) {
                c = s[i], d = i + 1 < len ? s[i + 1] : 0;
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')')
                    break;
                if ((c == '&' && d == '&') || (c == '|' && d == '|') || (c == '!' && d != '='))
                    break;
                i += (c == '!') ? 2 : 1;
            }
            if (i > len)
                i = len;
        }
        t->end = (uint32_t)i;
        if (word_is(s, t, "and"))
            t->type = T_AND;
        if (word_is(s, t, "or"))
            t->type = T_OR;
        if (word_is(s, t, "not"))
            t->type = T_NOT;
    }
}

static const char *quote_tok(const struct parser *ps, const struct tok *t, char *buf, size_t n)
{
    if (t->type == T_END)
        return "the end";
    snprintf(buf, n, "'%.*s'", (int)(t->end - t->start), ps->text + t->start);
    return buf;
}

/* Which words are our keywords, their arguments, and where parentheses
 * match. */
static bool classify(struct parser *ps)
{
    const char *s = ps->text;
    int32_t *stack = malloc((ps->ntoks + 1) * sizeof *stack);
    ps->kwbefore = malloc((ps->ntoks + 1) * sizeof *ps->kwbefore);
    if (!stack || !ps->kwbefore) {
        free(stack);
        ps->oom = true;
        return false;
    }
    size_t depth = 0;
    for (size_t i = 0; i < ps->ntoks; i++) {
        struct tok *t = &ps->toks[i];
        if (t->type == T_LP)
            stack[depth++] = (int32_t)i;
        if (t->type == T_RP) {
            if (depth == 0) {
                seterr(ps->err, "filter: \"%s\": ')' at column %u has no matching '('", s,
                       t->start + 1);
                free(stack);
                return false;
            }
            t->match = stack[--depth];
            ps->toks[t->match].match = (int32_t)i;
        }
        if (t->type != T_WORD || t->is_arg)
            continue;
        size_t k = 0;
        while (k < sizeof keywords / sizeof keywords[0] && !word_is(s, t, keywords[k].word))
            k++;
        bool in_table = k < sizeof keywords / sizeof keywords[0];
        int kw = kw_of_word(s + t->start, t->end - t->start, in_table ? keywords[k].kw : KW_NONE);
        if (kw == KW_NONE)
            continue;
        const struct tok *prev = i > 0 ? &ps->toks[i - 1] : NULL;
        struct tok *nx = &ps->toks[i + 1]; /* T_END at worst */
        if (prev && word_in(s, prev, id_takers, sizeof id_takers / sizeof id_takers[0]))
            continue;
        if (nx->type == T_WORD && s[nx->start] == '[')
            continue; /* icmp [0] = 8 */
        if (word_in(s, nx, qual_words, sizeof qual_words / sizeof qual_words[0]))
            continue;
        t->kw = (int8_t)kw;
        if (kw < KW_APP0 && keywords[k].arg_max && nx->type == T_WORD &&
            is_number(s + nx->start, nx->end - nx->start)) {
            if (!parse_number(s + nx->start, nx->end - nx->start, keywords[k].arg_max, &t->arg)) {
                seterr(ps->err, "filter: \"%.*s\": %s %s %.*s out of range 0-%u",
                       (int)(nx->end - t->start), s + t->start, keywords[k].word,
                       t->kw == KW_VLAN   ? "ID"
                       : t->kw == KW_MPLS ? "label"
                                          : "VNI",
                       (int)(nx->end - nx->start), s + nx->start, keywords[k].arg_max);
                free(stack);
                return false;
            }
            t->has_arg = true;
            nx->is_arg = true;
        }
    }
    if (depth) {
        seterr(ps->err, "filter: \"%s\": '(' at column %u is never closed", s,
               ps->toks[stack[depth - 1]].start + 1);
        free(stack);
        return false;
    }
    free(stack);
    uint32_t n = 0;
    for (size_t i = 0; i < ps->ntoks; i++) {
        ps->kwbefore[i] = n;
        if (ps->toks[i].kw != KW_NONE)
            n++;
    }
    ps->kwbefore[ps->ntoks] = n;
    return true;
}

static int32_t new_node(struct parser *ps, uint8_t kind, uint32_t start, uint32_t end)
{
    struct wkp_filter *f = ps->f;
    if (f->nnodes == f->cap_nodes) {
        size_t cap = f->cap_nodes ? 2 * f->cap_nodes : 16;
        struct node *n = realloc(f->nodes, cap * sizeof *n);
        if (!n) {
            ps->oom = ps->failed = true;
            return -1;
        }
        f->nodes = n;
        f->cap_nodes = cap;
    }
    struct node *n = &f->nodes[f->nnodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->kw = KW_NONE;
    n->start = start;
    n->end = end;
    n->kid = n->next = n->leaf = n->kwtok = -1;
    return (int32_t)f->nnodes++;
}

#define NODE(ps, i) (&(ps)->f->nodes[(i)])

static int32_t parse_or(struct parser *ps);

static bool has_kw_between(const struct parser *ps, size_t a, size_t b)
{
    return ps->kwbefore[b] > ps->kwbefore[a];
}

static int32_t fail_at(struct parser *ps, const struct tok *t, const char *what)
{
    char q[96];
    seterr(ps->err, "filter: \"%s\": %s, found %s at column %u", ps->text, what,
           quote_tok(ps, t, q, sizeof q), t->start + 1);
    ps->failed = true;
    return -1;
}

/* After a complete operand only a connective, ')' or the end may follow. */
static bool expect_operand_end(struct parser *ps)
{
    const struct tok *t = &ps->toks[ps->pos];
    if (t->type == T_END || t->type == T_RP || t->type == T_AND || t->type == T_OR)
        return true;
    fail_at(ps, t, "expected 'and' or 'or'");
    return false;
}

/* A run of tokens for libpcap: words and keyword-free parenthesised parts,
 * up to a connective, a keyword, ')' or the end. */
static int32_t parse_run(struct parser *ps)
{
    size_t first = ps->pos;
    for (;;) {
        const struct tok *t = &ps->toks[ps->pos];
        if (t->type == T_WORD && t->kw == KW_NONE) {
            ps->pos++;
        } else if (t->type == T_LP && !has_kw_between(ps, ps->pos, (size_t)t->match)) {
            ps->pos = (size_t)t->match + 1;
        } else {
            break;
        }
    }
    int32_t n = new_node(ps, N_BPF, ps->toks[first].start, ps->toks[ps->pos - 1].end);
    if (n < 0 || !expect_operand_end(ps))
        return -1;
    return n;
}

static int32_t parse_not(struct parser *ps)
{
    const struct tok *t = &ps->toks[ps->pos];
    if (++ps->nest > MAX_NEST) {
        seterr(ps->err, "filter: \"%s\": nested deeper than %d levels", ps->text, MAX_NEST);
        ps->failed = true;
        return -1;
    }
    int32_t r = -1;
    if (t->type == T_NOT) {
        ps->pos++;
        int32_t k = parse_not(ps);
        if (k < 0)
            return -1;
        r = new_node(ps, N_NOT, t->start, NODE(ps, k)->end);
        if (r < 0)
            return -1;
        NODE(ps, r)->kid = k;
    } else if (t->type == T_LP && has_kw_between(ps, ps->pos, (size_t)t->match)) {
        const struct tok *rp = &ps->toks[t->match];
        ps->pos++;
        r = parse_or(ps);
        if (r < 0)
            return -1;
        if (ps->toks[ps->pos].type != T_RP)
            return fail_at(ps, &ps->toks[ps->pos], "expected ')'");
        ps->pos++;
        struct node *n = NODE(ps, r);
        n->start = t->start;
        n->end = rp->end;
        n->group = true;
        if (!expect_operand_end(ps))
            return -1;
    } else if (t->type == T_WORD && t->kw != KW_NONE) {
        r = new_node(ps, N_KW, t->start, t->end);
        if (r < 0)
            return -1;
        struct node *n = NODE(ps, r);
        n->kw = t->kw;
        n->kwtok = (int32_t)ps->pos;
        ps->pos++;
        if (t->has_arg) {
            n->has_arg = true;
            n->arg = t->arg;
            n->end = ps->toks[ps->pos].end;
            ps->pos++;
        }
        if (!expect_operand_end(ps))
            return -1;
    } else if (t->type == T_WORD || t->type == T_LP) {
        r = parse_run(ps);
    } else {
        return fail_at(ps, t, "expected an expression");
    }
    ps->nest--;
    return r;
}

/* and/or: equal precedence, left-associative (as libpcap's grammar). */
static int32_t parse_or(struct parser *ps)
{
    int32_t left = parse_not(ps);
    while (left >= 0) {
        const struct tok *t = &ps->toks[ps->pos];
        if (t->type != T_AND && t->type != T_OR)
            break;
        ps->pos++;
        int32_t right = parse_not(ps);
        if (right < 0)
            return -1;
        int32_t n = new_node(ps, t->type == T_AND ? N_AND : N_OR, NODE(ps, left)->start,
                             NODE(ps, right)->end);
        if (n < 0)
            return -1;
        NODE(ps, n)->kid = left;
        NODE(ps, left)->next = right;
        left = n;
    }
    return left;
}

/* ---- tree rewriting ------------------------------------------------------------ */

/* Splice children of the same connective into their parent: and(and(a, b),
 * c) -> and(a, b, c), also through parentheses, so the top-level `and`
 * terms are found whatever the grouping (`(default) and (user)`). Children
 * spliced from one parenthesised group get their own segment: only
 * neighbours of one segment are adjacent in the text. */
static void flatten(struct parser *ps, int32_t ni, uint16_t seg)
{
    struct node *n = NODE(ps, ni);
    n->seg = seg;
    if (n->kind == N_NOT) {
        flatten(ps, n->kid, ++ps->nseg);
        return;
    }
    if (n->kind != N_AND && n->kind != N_OR)
        return;
    int32_t out_first = -1, out_last = -1;
    int32_t k = n->kid;
    while (k >= 0) {
        int32_t next = NODE(ps, k)->next;
        struct node *c = NODE(ps, k);
        uint16_t cseg = c->group ? ++ps->nseg : seg;
        flatten(ps, k, cseg);
        c = NODE(ps, k);
        if (c->kind == n->kind) {
            /* its children take its place, already flattened */
            int32_t g = c->kid;
            while (g >= 0) {
                int32_t gn = NODE(ps, g)->next;
                NODE(ps, g)->next = -1;
                if (out_last < 0)
                    out_first = g;
                else
                    NODE(ps, out_last)->next = g;
                out_last = g;
                g = gn;
            }
        } else {
            c->next = -1;
            if (out_last < 0)
                out_first = k;
            else
                NODE(ps, out_last)->next = k;
            out_last = k;
        }
        k = next;
    }
    NODE(ps, ni)->kid = out_first;
}

static bool has_kw(struct parser *ps, int32_t ni)
{
    struct node *n = NODE(ps, ni);
    if (n->kind == N_KW)
        return true;
    for (int32_t k = n->kid; k >= 0; k = NODE(ps, k)->next)
        if (has_kw(ps, k))
            return true;
    return false;
}

static int32_t add_leaf(struct parser *ps, uint32_t start, uint32_t end)
{
    struct wkp_filter *f = ps->f;
    struct leaf *l = realloc(f->leaves, (f->nleaves + 1) * sizeof *l);
    if (!l)
        goto oom;
    f->leaves = l;
    l = &f->leaves[f->nleaves];
    memset(l, 0, sizeof *l);
    l->text = malloc(end - start + 1);
    if (!l->text)
        goto oom;
    memcpy(l->text, ps->text + start, end - start);
    l->text[end - start] = 0;
    return (int32_t)f->nleaves++;
oom:
    ps->oom = ps->failed = true;
    return -1;
}

/* Turn keyword-free subtrees into libpcap leaves; in a chain, merge
 * neighbouring keyword-free children of one segment into one leaf. */
static bool collapse(struct parser *ps, int32_t ni)
{
    struct node *n = NODE(ps, ni);
    if (!has_kw(ps, ni)) {
        int32_t l = add_leaf(ps, n->start, n->end);
        if (l < 0)
            return false;
        n = NODE(ps, ni);
        n->kind = N_BPF;
        n->kid = -1;
        n->leaf = l;
        return true;
    }
    if (n->kind == N_NOT)
        return collapse(ps, n->kid);
    if (n->kind != N_AND && n->kind != N_OR)
        return true;
    int32_t k = n->kid;
    while (k >= 0) {
        if (has_kw(ps, k)) {
            if (!collapse(ps, k))
                return false;
            k = NODE(ps, k)->next;
            continue;
        }
        /* k starts a keyword-free run: absorb the next ones of its segment */
        int32_t last = k;
        while (NODE(ps, last)->next >= 0) {
            int32_t c = NODE(ps, last)->next;
            if (has_kw(ps, c) || NODE(ps, c)->seg != NODE(ps, k)->seg)
                break;
            last = c;
        }
        struct node *kn = NODE(ps, k);
        kn->end = NODE(ps, last)->end;
        kn->next = NODE(ps, last)->next;
        kn->kid = -1;
        int32_t l = add_leaf(ps, kn->start, kn->end);
        if (l < 0)
            return false;
        kn = NODE(ps, k);
        kn->kind = N_BPF;
        kn->leaf = l;
        k = kn->next;
    }
    return true;
}

/* Flow-level keywords in the subtree: 1 only flow keywords, 0 none, -1 mixed.
 * For a mixed subtree, *kwtok is its first flow keyword's token. */
static int flow_only(struct parser *ps, int32_t ni, int32_t *kwtok)
{
    struct node *n = NODE(ps, ni);
    if (n->kind == N_BPF)
        return 0;
    if (n->kind == N_KW) {
        if (kw_is_flow(n->kw) && *kwtok < 0)
            *kwtok = n->kwtok;
        return kw_is_flow(n->kw) ? 1 : 0;
    }
    bool any_flow = false, any_pkt = false;
    for (int32_t k = n->kid; k >= 0; k = NODE(ps, k)->next) {
        int r = flow_only(ps, k, kwtok);
        if (r < 0)
            return -1;
        if (r == 1)
            any_flow = true;
        if (r == 0)
            any_pkt = true;
    }
    if (any_flow && any_pkt)
        return -1;
    return any_flow ? 1 : 0;
}

static bool mentions_flow(struct parser *ps, int32_t ni)
{
    struct node *n = NODE(ps, ni);
    if (n->kind == N_KW)
        return kw_is_flow(n->kw);
    for (int32_t k = n->kid; k >= 0; k = NODE(ps, k)->next)
        if (mentions_flow(ps, k))
            return true;
    return false;
}

/* Join a list of terms under one `and` (or keep the single one). */
static int32_t join_and(struct parser *ps, int32_t *terms, size_t n)
{
    if (n == 0)
        return -1;
    if (n == 1) {
        NODE(ps, terms[0])->next = -1;
        return terms[0];
    }
    int32_t a = new_node(ps, N_AND, NODE(ps, terms[0])->start, NODE(ps, terms[n - 1])->end);
    if (a < 0)
        return -1;
    NODE(ps, a)->kid = terms[0];
    for (size_t i = 0; i < n; i++)
        NODE(ps, terms[i])->next = i + 1 < n ? terms[i + 1] : -1;
    return a;
}

/* The top-level `and` terms split into the packet part and the flow part;
 * a term that mixes flow-level keywords with anything else is refused. */
static bool split(struct parser *ps, int32_t root)
{
    int32_t nterms = 0;
    struct node *r = NODE(ps, root);
    if (r->kind == N_AND)
        for (int32_t k = r->kid; k >= 0; k = NODE(ps, k)->next)
            nterms++;
    else
        nterms = 1;
    int32_t *pkt = malloc((size_t)nterms * 2 * sizeof *pkt);
    if (!pkt) {
        ps->oom = ps->failed = true;
        return false;
    }
    int32_t *flow = pkt + nterms;
    size_t np = 0, nf = 0;
    int32_t k = r->kind == N_AND ? r->kid : root;
    while (k >= 0) {
        int32_t next = r->kind == N_AND ? NODE(ps, k)->next : -1;
        int32_t kwtok = -1;
        int c = mentions_flow(ps, k) ? flow_only(ps, k, &kwtok) : 0;
        if (c < 0) {
            const struct tok *t = &ps->toks[kwtok];
            const struct node *n = NODE(ps, k);
            seterr(ps->err,
                   "filter: \"%.*s\": '%.*s' is decided on finished flows, so it may only "
                   "appear in a top-level 'and' term made of flow-level keywords (tls, http, "
                   "dns, quic), possibly negated; this term mixes it with per-packet tests",
                   (int)(n->end - n->start), ps->text + n->start, (int)(t->end - t->start),
                   ps->text + t->start);
            free(pkt);
            ps->failed = true;
            return false;
        }
        if (c == 1)
            flow[nf++] = k;
        else
            pkt[np++] = k;
        k = next;
    }
    ps->f->pkt_root = join_and(ps, pkt, np);
    ps->f->flow_root = ps->failed ? -1 : join_and(ps, flow, nf);
    free(pkt);
    return !ps->failed;
}

/* ---- libpcap ------------------------------------------------------------------------ */

/* pcap_open_dead() wants a DLT_ value; capture files carry LINKTYPE_ values,
 * which differ for raw IP. */
static int dlt_for_pcap(int linktype)
{
    switch (linktype) {
    case WKP_DLT_RAW:
    case WKP_DLT_RAW_BSD12:
    case WKP_DLT_RAW_BSD14: return DLT_RAW;
    default: return linktype;
    }
}

/* Compile text for link type dlt into *prog; on failure write libpcap's
 * message into msg. */
static bool compile_for(int dlt, const char *text, struct bpf_program *prog, char *msg, size_t n)
{
    pcap_t *p = pcap_open_dead(dlt_for_pcap(dlt), SNAPLEN);
    if (!p) {
        snprintf(msg, n, "libpcap cannot open link type %d", dlt);
        return false;
    }
    bool ok = pcap_compile(p, prog, text, 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (!ok)
        snprintf(msg, n, "%s", pcap_geterr(p));
    pcap_close(p);
    return ok;
}

/* Each leaf must compile for raw IP or for some link type we decode;
 * keep the raw-IP program for the fallback. */
static bool validate_leaves(struct wkp_filter *f, wkp_errbuf *err)
{
    for (size_t i = 0; i < f->nleaves; i++) {
        struct leaf *l = &f->leaves[i];
        char msg[PCAP_ERRBUF_SIZE + 64], other[PCAP_ERRBUF_SIZE + 64];
        l->raw_ok = compile_for(WKP_DLT_RAW, l->text, &l->raw, other, sizeof other);
        if (l->raw_ok)
            continue;
        struct bpf_program p;
        bool ok = compile_for(WKP_DLT_EN10MB, l->text, &p, msg, sizeof msg);
        for (int d = 0; !ok && d < MAX_DLTS; d++) {
            if (d == WKP_DLT_EN10MB || !wkp_dlt_supported(d))
                continue;
            ok = compile_for(d, l->text, &p, other, sizeof other);
        }
        if (!ok) {
            seterr(err, "filter: \"%s\": %s", l->text, msg);
            return false;
        }
        pcap_freecode(&p);
    }
    return true;
}

static void free_slot(struct wkp_filter *f, struct dlt_slot *s)
{
    if (s->progs)
        for (size_t i = 0; i < f->nleaves; i++)
            if (!s->use_raw[i])
                pcap_freecode(&s->progs[i]);
    free(s->progs);
    free(s->use_raw);
}

wkp_status wkp_filter_prepare_dlt(struct wkp_filter *f, int dlt, wkp_errbuf *err)
{
    for (size_t i = 0; i < f->nslots; i++)
        if (f->slots[i].dlt == dlt && f->slots[i].ready)
            return WKP_OK;
    struct dlt_slot s = {.dlt = dlt, .ready = true};
    s.progs = calloc(f->nleaves ? f->nleaves : 1, sizeof *s.progs);
    s.use_raw = calloc(f->nleaves ? f->nleaves : 1, sizeof *s.use_raw);
    if (!s.progs || !s.use_raw) {
        free(s.progs);
        free(s.use_raw);
        seterr(err, "filter: out of memory");
        return WKP_ENOMEM;
    }
    for (size_t i = 0; i < f->nleaves; i++)
        s.use_raw[i] = true; /* nothing to free yet */
    for (size_t i = 0; i < f->nleaves; i++) {
        char msg[PCAP_ERRBUF_SIZE + 64];
        if (compile_for(dlt, f->leaves[i].text, &s.progs[i], msg, sizeof msg)) {
            s.use_raw[i] = false;
        } else if (!f->leaves[i].raw_ok) {
            const char *name = wkp_dlt_name(dlt);
            char num[16];
            snprintf(num, sizeof num, "%d", dlt);
            seterr(err, "filter: \"%s\": %s (link type %s, and not compilable for raw IP)",
                   f->leaves[i].text, msg, name ? name : num);
            free_slot(f, &s);
            return WKP_EINVAL;
        }
    }
    struct dlt_slot *n = realloc(f->slots, (f->nslots + 1) * sizeof *n);
    if (!n) {
        free_slot(f, &s);
        seterr(err, "filter: out of memory");
        return WKP_ENOMEM;
    }
    f->slots = n;
    f->slots[f->nslots++] = s;
    f->last = NULL; /* the array may have moved */
    return WKP_OK;
}

/* ---- compile ---------------------------------------------------------------------------- */

static bool blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

wkp_status wkp_filter_compile(const char *expr, struct wkp_filter **out, wkp_errbuf *err)
{
    if (!expr || !out) {
        seterr(err, "filter: no expression");
        return WKP_EINVAL;
    }
    struct wkp_filter *f = calloc(1, sizeof *f);
    if (!f || !(f->text = strdup(expr))) {
        free(f);
        seterr(err, "filter: out of memory");
        return WKP_ENOMEM;
    }
    f->pkt_root = f->flow_root = -1;
    struct parser ps = {.f = f, .text = f->text, .err = err};
    bool ok = true;
    if (!blank(expr)) {
        ok = tokenize(&ps);
        if (!ok)
            ps.oom = true;
        ok = ok && classify(&ps);
        int32_t root = -1;
        if (ok) {
            root = parse_or(&ps);
            ok = root >= 0 && !ps.failed;
            if (ok && ps.toks[ps.pos].type != T_END) {
                fail_at(&ps, &ps.toks[ps.pos], "unexpected ')'");
                ok = false;
            }
        }
        if (ok) {
            flatten(&ps, root, 0);
            ok = collapse(&ps, root) && split(&ps, root);
        }
        ok = ok && validate_leaves(f, err);
    }
    free(ps.toks);
    free(ps.kwbefore);
    if (!ok) {
        if (ps.oom)
            seterr(err, "filter: out of memory");
        wkp_filter_free(f);
        return ps.oom ? WKP_ENOMEM : WKP_EINVAL;
    }
    *out = f;
    return WKP_OK;
}

wkp_status wkp_filter_compile_combined(const char *default_expr, const char *user_expr,
                                       struct wkp_filter **out, wkp_errbuf *err)
{
    bool d = !blank(default_expr), u = !blank(user_expr);
    if (!(d && u))
        return wkp_filter_compile(d ? default_expr : u ? user_expr : "", out, err);
    struct wkp_filter *tmp;
    wkp_status st = wkp_filter_compile(default_expr, &tmp, err);
    if (st != WKP_OK)
        return st;
    wkp_filter_free(tmp);
    st = wkp_filter_compile(user_expr, &tmp, err);
    if (st != WKP_OK)
        return st;
    wkp_filter_free(tmp);
    size_t n = strlen(default_expr) + strlen(user_expr) + 16;
    char *both = malloc(n);
    if (!both) {
        seterr(err, "filter: out of memory");
        return WKP_ENOMEM;
    }
    snprintf(both, n, "(%s) and (%s)", default_expr, user_expr);
    st = wkp_filter_compile(both, out, err);
    free(both);
    return st;
}

void wkp_filter_free(struct wkp_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nslots; i++)
        free_slot(f, &f->slots[i]);
    for (size_t i = 0; i < f->nleaves; i++) {
        if (f->leaves[i].raw_ok)
            pcap_freecode(&f->leaves[i].raw);
        free(f->leaves[i].text);
    }
    free(f->slots);
    free(f->leaves);
    free(f->nodes);
    free(f->scratch);
    free(f->text);
    free(f);
}

/* ---- evaluation ------------------------------------------------------------------------ */

struct pkt_ctx {
    struct wkp_filter *f;
    const struct dlt_slot *slot;
    const uint8_t *frame;
    uint32_t caplen, wirelen;
    const struct wkp_l2l4 *m;
    /* the frame as BPF sees it: without the VLAN tags under the link header */
    const uint8_t *bpf_frame;
    uint32_t bpf_caplen, bpf_wirelen;
};

/* Copy the frame into the scratch buffer without its outer VLAN tags: the
 * type field that announced the first tag takes the type the last tag
 * announced, and the 4-byte tags go. The parser read every tag, so they
 * are inside caplen. */
static void untag(struct pkt_ctx *c)
{
    const struct wkp_l2l4_tun *t = &c->m->tun;
    c->bpf_frame = c->frame;
    c->bpf_caplen = c->caplen;
    c->bpf_wirelen = c->wirelen;
    uint32_t tags = (uint32_t)t->strip_n * 4, at = t->strip_tags_off;
    if (!t->strip_n || (uint64_t)at + tags > c->caplen || t->strip_type_off + 2u > at)
        return;
    struct wkp_filter *f = c->f;
    if (c->caplen > f->scratch_cap) {
        size_t cap = c->caplen < 65536 ? 65536 : c->caplen;
        uint8_t *s = realloc(f->scratch, cap);
        if (!s)
            return; /* BPF sees the tags: a degraded answer, not a wrong read */
        f->scratch = s;
        f->scratch_cap = cap;
    }
    uint8_t *s = f->scratch;
    memcpy(s, c->frame, at);
    memcpy(s + t->strip_type_off, c->frame + at + tags - 2, 2);
    memcpy(s + at, c->frame + at + tags, c->caplen - at - tags);
    c->bpf_frame = s;
    c->bpf_caplen = c->caplen - tags;
    c->bpf_wirelen = c->wirelen > tags ? c->wirelen - tags : 0;
}

static bool eval_bpf(struct pkt_ctx *c, int32_t leaf)
{
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof h);
    if (c->slot->use_raw[leaf]) {
        /* raw-IP fallback: the outermost IP header, as tcpdump's filters
         * look at the outer packet */
        const struct wkp_l2l4 *m = c->m;
        uint32_t off = m->l2_len;
        if (!m->tun.outer_family || off >= c->caplen || off == UINT16_MAX)
            return false;
        h.caplen = c->caplen - off;
        h.len = c->wirelen > off ? c->wirelen - off : h.caplen;
        return pcap_offline_filter(&c->f->leaves[leaf].raw, &h, c->frame + off) != 0;
    }
    if (!c->bpf_frame)
        untag(c);
    h.caplen = c->bpf_caplen;
    h.len = c->bpf_wirelen;
    return pcap_offline_filter(&c->slot->progs[leaf], &h, c->bpf_frame) != 0;
}

static bool any16(const uint16_t *v, unsigned n, uint32_t x)
{
    for (unsigned i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static bool any32(const uint32_t *v, unsigned n, uint32_t x)
{
    for (unsigned i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static bool udp_port(const struct wkp_l2l4 *m, uint16_t a, uint16_t b)
{
    return m->family && m->proto == 17 &&
           (m->sport == a || m->sport == b || m->dport == a || m->dport == b);
}

static bool eval_kw(const struct node *n, const struct wkp_l2l4 *m, bool compat)
{
    const struct wkp_l2l4_tun *t = &m->tun;
    switch (n->kw) {
    case KW_ARP: return t->flags & WKP_TF_ARP;
    case KW_ICMP: return m->family == 4 && m->proto == 1;
    case KW_ICMPV6:
        /* --compat: the original read only the IPv6 header's
         * first next header, so ICMPv6 behind extension headers (MLD after
         * hop-by-hop) was not icmpv6 to it. */
        if (compat && m->family == 6 && m->l4_off - m->l3_off > 40 && !m->tun.n_stack)
            return false;
        return m->family == 6 && m->proto == 58;
    case KW_DHCP: return udp_port(m, 67, 68);
    case KW_DHCPV6: return udp_port(m, 546, 547);
    case KW_VLAN:
        return (m->encap & WKP_ENC_VLAN) && (!n->has_arg || any16(t->vlan_ids, t->n_vlan, n->arg));
    case KW_GRE: return m->encap & WKP_ENC_GRE;
    case KW_VXLAN: return (m->encap & WKP_ENC_VXLAN) && (!n->has_arg || t->vxlan_vni == n->arg);
    case KW_GENEVE: return (m->encap & WKP_ENC_GENEVE) && (!n->has_arg || t->geneve_vni == n->arg);
    case KW_MPLS:
        return (m->encap & WKP_ENC_MPLS) &&
               (!n->has_arg || any32(t->mpls_labels, t->n_mpls, n->arg));
    default: return false; /* flow-level keywords never reach the packet part */
    }
}

static bool eval_pkt(struct pkt_ctx *c, int32_t ni)
{
    const struct node *n = &c->f->nodes[ni];
    switch (n->kind) {
    case N_AND:
        for (int32_t k = n->kid; k >= 0; k = c->f->nodes[k].next)
            if (!eval_pkt(c, k))
                return false;
        return true;
    case N_OR:
        for (int32_t k = n->kid; k >= 0; k = c->f->nodes[k].next)
            if (eval_pkt(c, k))
                return true;
        return false;
    case N_NOT: return !eval_pkt(c, n->kid);
    case N_KW: return eval_kw(n, c->m, c->f->compat);
    case N_BPF: return eval_bpf(c, n->leaf);
    default: return true;
    }
}

/* Can the packet tree use the keyword-bitmask memo? Collects one node per
 * distinct keyword; false on a BPF part, a keyword with an argument, or
 * more than 8 keywords. */
static bool memo_scan(struct wkp_filter *f, int32_t ni)
{
    const struct node *n = &f->nodes[ni];
    switch (n->kind) {
    case N_AND:
    case N_OR:
    case N_NOT:
        for (int32_t k = n->kid; k >= 0; k = f->nodes[k].next)
            if (!memo_scan(f, k))
                return false;
        return true;
    case N_KW:
        if (n->has_arg)
            return false;
        for (uint8_t i = 0; i < f->memo_nkw; i++)
            if (f->nodes[f->memo_kw[i]].kw == n->kw)
                return true;
        if (f->memo_nkw == 8)
            return false;
        f->memo_kw[f->memo_nkw++] = ni;
        return true;
    case N_TRUE: return true;
    default: return false;
    }
}

/* Decide once whether the keyword memo can stand for the packet tree. */
static void memo_decide(struct wkp_filter *f)
{
    if (f->memo_state == 0) {
        f->memo_nkw = 0;
        f->memo_state = memo_scan(f, f->pkt_root) ? 1 : -1;
        memset(f->memo, -1, sizeof f->memo);
    }
}

/* A tree whose keywords' values come from leaf(f, keyword node, bits):
 * the keyword-mask and flow walkers (the packet walker, on the hot path,
 * keeps its own switch). Kinds other than the composites and N_KW are
 * true (N_TRUE; the trees these walk hold nothing else). */
typedef bool (*kw_leaf)(const struct wkp_filter *f, const struct node *n, uint32_t bits);

static bool eval_tree(const struct wkp_filter *f, int32_t ni, kw_leaf leaf, uint32_t bits)
{
    const struct node *n = &f->nodes[ni];
    switch (n->kind) {
    case N_AND:
        for (int32_t k = n->kid; k >= 0; k = f->nodes[k].next)
            if (!eval_tree(f, k, leaf, bits))
                return false;
        return true;
    case N_OR:
        for (int32_t k = n->kid; k >= 0; k = f->nodes[k].next)
            if (eval_tree(f, k, leaf, bits))
                return true;
        return false;
    case N_NOT: return !eval_tree(f, n->kid, leaf, bits);
    case N_KW: return leaf(f, n, bits);
    default: return true;
    }
}

/* A keyword's value from mask: bit i is the value of the keyword of node
 * memo_kw[i] (the memo's own numbering). */
static bool mask_leaf(const struct wkp_filter *f, const struct node *n, uint32_t mask)
{
    for (uint8_t i = 0; i < f->memo_nkw; i++)
        if (f->nodes[f->memo_kw[i]].kw == n->kw)
            return mask >> i & 1u;
    return false; /* memo_scan saw every keyword: not reached */
}

bool wkp_filter_keywords_only(struct wkp_filter *f)
{
    if (f->pkt_root < 0)
        return true;
    memo_decide(f);
    if (f->memo_state <= 0)
        return false;
    /* fill the whole memo now, so wkp_filter_keywords_match only reads */
    for (unsigned mask = 0; mask < 1u << f->memo_nkw; mask++)
        if (f->memo[mask] < 0)
            f->memo[mask] = eval_tree(f, f->pkt_root, mask_leaf, mask) ? 1 : 0;
    return true;
}

/* The memo's index for m: bit i is the value of keyword memo_kw[i]. */
static unsigned memo_mask(const struct wkp_filter *f, const struct wkp_l2l4 *m)
{
    unsigned mask = 0;
    for (uint8_t i = 0; i < f->memo_nkw; i++)
        mask |= (unsigned)eval_kw(&f->nodes[f->memo_kw[i]], m, f->compat) << i;
    return mask;
}

bool wkp_filter_keywords_match(const struct wkp_filter *f, const struct wkp_l2l4 *m)
{
    return f->pkt_root < 0 || f->memo[memo_mask(f, m)] == 1;
}

bool wkp_filter_packet(struct wkp_filter *f, const uint8_t *frame, uint32_t caplen,
                       uint32_t wirelen, int dlt, const struct wkp_l2l4 *m)
{
    if (f->pkt_root < 0)
        return true;
    memo_decide(f);
    if (f->memo_state > 0) {
        unsigned mask = memo_mask(f, m);
        if (f->memo[mask] < 0) {
            struct pkt_ctx c0 = {.f = f, .m = m};
            f->memo[mask] = eval_pkt(&c0, f->pkt_root) ? 1 : 0;
        }
        return f->memo[mask] == 1;
    }
    const struct dlt_slot *slot = f->last;
    if (!slot || slot->dlt != dlt) {
        slot = NULL;
        for (size_t i = 0; i < f->nslots && !slot; i++)
            if (f->slots[i].dlt == dlt)
                slot = &f->slots[i];
        if (!slot) {
            wkp_errbuf e;
            if (wkp_filter_prepare_dlt(f, dlt, &e) != WKP_OK) {
                snprintf(f->error, sizeof f->error, "%s", e.msg);
                return false;
            }
            slot = &f->slots[f->nslots - 1];
        }
        f->last = (struct dlt_slot *)slot;
    }
    struct pkt_ctx c = {
        .f = f, .slot = slot, .frame = frame, .caplen = caplen, .wirelen = wirelen, .m = m};
    return eval_pkt(&c, f->pkt_root);
}

const char *wkp_filter_error(const struct wkp_filter *f)
{
    return f->error[0] ? f->error : NULL;
}

bool wkp_filter_has_packet_terms(const struct wkp_filter *f)
{
    return f->pkt_root >= 0;
}

bool wkp_filter_has_flow_terms(const struct wkp_filter *f)
{
    return f->flow_root >= 0;
}

/* A keyword's value for a flow whose dissectors' matched bits are given. */
static bool flow_leaf(const struct wkp_filter *f, const struct node *n, uint32_t matched)
{
    (void)f;
    switch (n->kw) {
    case KW_TLS:
    case KW_HTTP:
    case KW_DNS:
    case KW_QUIC: return false; /* no dissector has the name (see kw_of_word) */
    default: return n->kw >= KW_APP0 && (matched >> (n->kw - KW_APP0) & 1u);
    }
}

bool wkp_filter_flow_match(const struct wkp_filter *f, uint32_t matched)
{
    if (f->flow_root < 0)
        return true;
    return eval_tree(f, f->flow_root, flow_leaf, matched);
}

/* ---- dump ---------------------------------------------------------------------------- */

struct sbuf {
    char *b;
    size_t n, len;
};

static void put(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct sbuf *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = s->len < s->n ? s->n - s->len : 0;
    int w = vsnprintf(room ? s->b + s->len : NULL, room, fmt, ap);
    va_end(ap);
    if (w > 0)
        s->len += (size_t)w;
}

static void dump_node(const struct wkp_filter *f, int32_t ni, struct sbuf *s)
{
    const struct node *n = &f->nodes[ni];
    switch (n->kind) {
    case N_AND:
    case N_OR:
        put(s, "%s(", n->kind == N_AND ? "and" : "or");
        for (int32_t k = n->kid; k >= 0; k = f->nodes[k].next) {
            dump_node(f, k, s);
            if (f->nodes[k].next >= 0)
                put(s, ", ");
        }
        put(s, ")");
        break;
    case N_NOT:
        put(s, "not(");
        dump_node(f, n->kid, s);
        put(s, ")");
        break;
    case N_KW:
        put(s, "%s", kw_name(n->kw));
        if (n->has_arg)
            put(s, " %u", n->arg);
        break;
    case N_BPF: put(s, "bpf(\"%s\")", f->leaves[n->leaf].text); break;
    default: put(s, "true");
    }
}

size_t wkp_filter_dump(const struct wkp_filter *f, char *buf, size_t n)
{
    struct sbuf s = {.b = buf, .n = n};
    if (n)
        buf[0] = 0;
    put(&s, "packet: ");
    if (f->pkt_root >= 0)
        dump_node(f, f->pkt_root, &s);
    else
        put(&s, "true");
    put(&s, "; flow: ");
    if (f->flow_root >= 0)
        dump_node(f, f->flow_root, &s);
    else
        put(&s, "true");
    return s.len;
}

void wkp_filter_set_compat(struct wkp_filter *f, bool on)
{
    if (f != NULL)
        f->compat = on;
}
