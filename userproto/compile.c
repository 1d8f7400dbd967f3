/* Definitions into programs: each field of a YAML definition becomes one
 * operation with its sizes, its interned name and the indexes of what it
 * refers to (bit layouts, expression code, type mappings, sub-protocol
 * programs), so the interpreter never looks at text.
 *
 * Strict: a key the field's type does not take, a missing required key, a
 * size or format the type cannot read, a name that is not a protocol, a
 * sub-protocol that leads back to itself: each is a load error naming the
 * node's file:line:column. Runs once per engine, on the creating thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "userproto/up_load.h"

#define PUSH(L, arr, n, ci)                                                                        \
    (wkp__up_grow((void **)&(arr), (n), &(L)->caps[ci], sizeof *(arr)) == 0 ? &(arr)[(n)++] : NULL)
enum { C_OP, C_BITS, C_MAP, C_HEUR, C_COND, C_BLOB, C_RPN, C_NAMES, C_PROG };

int wkp__up_grow(void **p, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    uint32_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, (size_t)c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

int wkp__up_intern(struct up_loader *L, const char *name, size_t len, bool prefixed)
{
    char buf[256];
    const char *pre = prefixed ? L->prefix : NULL;
    int k = pre ? snprintf(buf, sizeof buf, "%s.%.*s", pre, (int)len, name)
                : snprintf(buf, sizeof buf, "%.*s", (int)len, name);
    if (k < 0 || (size_t)k >= sizeof buf)
        return -1;
    struct wkp_up_set *s = L->s;
    for (uint32_t i = 0; i < s->nnames; i++)
        if (strcmp(s->names[i], buf) == 0)
            return (int)i;
    if (s->nnames >= 65535)
        return -1;
    char *dup = strdup(buf);
    char **slot = dup ? PUSH(L, s->names, s->nnames, C_NAMES) : NULL;
    if (!slot) {
        free(dup);
        return -1;
    }
    *slot = dup;
    return (int)(s->nnames - 1);
}

static int intern_cb(void *ctx, const char *name, size_t len)
{
    return wkp__up_intern(ctx, name, len, true);
}

/* ---- key checks ---- */

static bool in_list(const char *k, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(*list, k) == 0)
            return true;
    return false;
}

/* Every key of map is in allowed, none twice, every required one present. */
static int check_keys(struct up_loader *L, const struct up_doc *d, yaml_node_t *map,
                      const char *what, const char *const *allowed, const char *const *required)
{
    yaml_document_t *doc = (yaml_document_t *)&d->doc;
    if (map->type != YAML_MAPPING_NODE)
        return wkp__up_fail(L, d, map, "%s: expected a mapping", what);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        const char *k = wkp__up_scalar(kn);
        if (!k)
            return wkp__up_fail(L, d, kn, "%s: a key must be text", what);
        if (!in_list(k, allowed))
            return wkp__up_fail(L, d, kn, "%s: unknown key '%s'", what, k);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *k2 = wkp__up_scalar(yaml_document_get_node(doc, q->key));
            if (k2 && strcmp(k, k2) == 0)
                return wkp__up_fail(L, d, kn, "%s: duplicate key '%s'", what, k);
        }
    }
    for (; required && *required; required++)
        if (!wkp__up_get(doc, map, *required))
            return wkp__up_fail(L, d, map, "%s: missing required key '%s'", what, *required);
    return 0;
}

/* An unsigned integer, decimal or 0x hex. */
static int get_uint(struct up_loader *L, const struct up_doc *d, yaml_node_t *n, const char *what,
                    uint64_t lo, uint64_t hi, uint64_t *out)
{
    const char *t = wkp__up_scalar(n);
    char *end = NULL;
    errno = 0;
    uint64_t v = 0;
    if (t && *t && *t != '-' && *t != '+' && *t != ' ') {
        if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X'))
            v = strtoull(t + 2, &end, 16);
        else
            v = strtoull(t, &end, 10);
    }
    if (!t || !end || *end || end == t || errno)
        return wkp__up_fail(L, d, n, "%s: expected an integer (decimal or 0x)", what);
    if (v < lo || v > hi)
        return wkp__up_fail(L, d, n, "%s: %llu is out of range %llu..%llu", what,
                            (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
    *out = v;
    return 0;
}

static int opt_uint(struct up_loader *L, const struct up_doc *d, yaml_node_t *map, const char *key,
                    uint64_t lo, uint64_t hi, uint64_t dflt, uint64_t *out)
{
    yaml_node_t *n = wkp__up_get((yaml_document_t *)&d->doc, map, key);
    *out = dflt;
    return n ? get_uint(L, d, n, key, lo, hi, out) : 0;
}

/* A text value among choices: its index, dflt if absent, -1 on error. */
static int get_choice(struct up_loader *L, const struct up_doc *d, yaml_node_t *map,
                      const char *key, const char *const *choices, int dflt)
{
    yaml_node_t *n = wkp__up_get((yaml_document_t *)&d->doc, map, key);
    if (!n)
        return dflt;
    const char *t = wkp__up_scalar(n);
    for (int i = 0; t && choices[i]; i++)
        if (strcmp(choices[i], t) == 0)
            return i;
    char list[160] = "";
    for (int i = 0; choices[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, choices[i], sizeof list - strlen(list) - 1);
    }
    wkp__up_fail(L, d, n, "unknown %s '%s' (one of %s)", key, t ? t : "?", list);
    return -1;
}

static int name_of(struct up_loader *L, const struct up_doc *d, yaml_node_t *map, const char *key)
{
    yaml_node_t *n = wkp__up_get((yaml_document_t *)&d->doc, map, key);
    const char *t = wkp__up_scalar(n);
    if (!t || !*t)
        return wkp__up_fail(L, d, n ? n : map, "%s: expected a name", key);
    int id = wkp__up_intern(L, t, strlen(t), true);
    return id < 0 ? wkp__up_oom(L) : id;
}

/* The program of the protocol named by map[key], in the current context. */
static int32_t sub_of(struct up_loader *L, const struct up_doc *d, yaml_node_t *n,
                      const char *prefix)
{
    const char *t = wkp__up_scalar(n);
    int def = t ? wkp__up_def_find(L, t) : -1;
    if (def < 0)
        return wkp__up_fail(L, d, n, "no protocol named '%s'", t ? t : "?");
    L->sub_used[def] = 1;
    const char *save = L->prefix;
    int32_t p = wkp__up_compile(L, (uint32_t)def, prefix, d, n);
    L->prefix = save;
    return p;
}

static int cmp_map(const void *a, const void *b)
{
    const struct up_map *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* Sort n collected map entries by value and append them to the set's map
 * table, where they take [*first, *first + n). */
static int push_maps(struct up_loader *L, struct up_map *got, uint32_t n, uint32_t *first)
{
    struct wkp_up_set *s = L->s;
    if (n > 1)
        qsort(got, n, sizeof *got, cmp_map);
    *first = s->nmap;
    for (uint32_t k = 0; k < n; k++) {
        struct up_map *e = PUSH(L, s->map, s->nmap, C_MAP);
        if (!e)
            return wkp__up_oom(L);
        *e = got[k];
    }
    return 0;
}

/* A {value: protocol} mapping into map entries: targets are sub-protocol
 * programs (prefix given) or, for next_protocol, protocols. Built-in
 * protocols as next_protocol targets are left out (the engine's parser
 * owns them). */
static int mapping(struct up_loader *L, const struct up_doc *d, yaml_node_t *m, const char *what,
                   bool programs, const char *prefix, uint32_t *first, uint32_t *count)
{
    yaml_document_t *doc = (yaml_document_t *)&d->doc;
    if (m->type != YAML_MAPPING_NODE)
        return wkp__up_fail(L, d, m, "%s: expected a mapping {value: protocol}", what);
    struct wkp_up_set *s = L->s;
    /* collected first: compiling a sub-protocol appends its own entries */
    struct up_map got[256];
    uint32_t n = 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        uint64_t key;
        if (get_uint(L, d, kn, what, 0, UINT64_MAX, &key) != 0)
            return -1;
        for (uint32_t k = 0; k < n; k++)
            if (got[k].key == key)
                return wkp__up_fail(L, d, kn, "%s: value %llu mapped twice", what,
                                    (unsigned long long)key);
        if (n >= 256)
            return wkp__up_fail(L, d, kn, "%s: at most 256 entries", what);
        int32_t target;
        if (programs) {
            if ((target = sub_of(L, d, vn, prefix)) < 0)
                return -1;
        } else {
            const char *t = wkp__up_scalar(vn);
            int def = t ? wkp__up_def_find(L, t) : -1;
            if (def < 0)
                return wkp__up_fail(L, d, vn, "no protocol named '%s'", t ? t : "?");
            if (s->proto[def].builtin)
                continue;
            target = def;
        }
        got[n++] = (struct up_map){key, target};
    }
    *count = n;
    return push_maps(L, got, n, first);
}

/* ---- fields ---- */

static const char *const k_fixed[] = {"name", "type", "size", "format", "endian", NULL};
static const char *const k_bitfield[] = {"name", "type", "group_size", "fields", NULL};
static const char *const k_lp[] = {"name", "type", "length_size", "format", "sub_protocol", NULL};
static const char *const k_computed[] = {"name", "type", "expression", NULL};
static const char *const k_tlv[] = {"name",        "type",         "type_size",
                                    "length_size", "type_mapping", NULL};
static const char *const k_counted[] = {"name", "type", "count_field", "size", NULL};
static const char *const k_rest[] = {"name", "type", "format", NULL};
static const char *const k_hard[] = {"name", "type", "parser", NULL};
static const char *const k_plist[] = {
    "name",        "type",      "list_length_size", "item_length_size",
    "item_format", "type_size", "type_mapping",     NULL};
static const char *const k_repeat[] = {"name", "type", "sub_protocol", "merge", NULL};
static const char *const req_name_type[] = {"name", "type", NULL};

static const char *const types[] = {
    "fixed", "bitfield",  "length_prefixed", "computed", "tlv", "counted_list",
    "rest",  "hardcoded", "prefixed_list",   "repeat",   NULL};

static int field_fixed(struct up_loader *L, const struct up_doc *d, yaml_node_t *f, struct up_op *o)
{
    static const char *const fmts[] = {"uint", "int", "ipv4", "ipv6", "mac", "bytes", "hex", NULL};
    static const uint8_t kinds[] = {WKP_UP_UINT, WKP_UP_INT,   WKP_UP_IPV4, WKP_UP_IPV6,
                                    WKP_UP_MAC,  WKP_UP_BYTES, WKP_UP_HEX};
    static const char *const endians[] = {"big", "little", NULL};
    if (check_keys(L, d, f, "fixed field", k_fixed, req_name_type) != 0)
        return -1;
    int fmt = get_choice(L, d, f, "format", fmts, 0);
    int end = fmt < 0 ? -1 : get_choice(L, d, f, "endian", endians, 0);
    if (end < 0)
        return -1;
    static const uint64_t need[] = {0, 0, 4, 16, 6, 0, 0};
    uint64_t lo = fmt <= 1 ? 1 : need[fmt] ? need[fmt] : 1;
    uint64_t hi = fmt <= 1 ? 8 : need[fmt] ? need[fmt] : 65535;
    yaml_node_t *sz = wkp__up_get((yaml_document_t *)&d->doc, f, "size");
    uint64_t size = need[fmt];
    if (!sz && !need[fmt])
        return wkp__up_fail(L, d, f, "fixed field: missing required key 'size'");
    if (sz && get_uint(L, d, sz, "size", lo, hi, &size) != 0)
        return -1;
    o->type = UP_OP_FIXED;
    o->kind = kinds[fmt];
    o->little = (uint8_t)end;
    o->size = (uint32_t)size;
    return 0;
}

static int field_bitfield(struct up_loader *L, const struct up_doc *d, yaml_node_t *f,
                          struct up_op *o)
{
    static const char *const req[] = {"name", "type", "group_size", "fields", NULL};
    static const char *const kb[] = {"name", "bits", NULL};
    yaml_document_t *doc = (yaml_document_t *)&d->doc;
    uint64_t g;
    if (check_keys(L, d, f, "bitfield", k_bitfield, req) != 0 ||
        opt_uint(L, d, f, "group_size", 1, 8, 1, &g) != 0)
        return -1;
    yaml_node_t *list = wkp__up_get(doc, f, "fields");
    if (list->type != YAML_SEQUENCE_NODE ||
        list->data.sequence.items.top == list->data.sequence.items.start)
        return wkp__up_fail(L, d, list, "bitfield: fields: expected a list of {name, bits}");
    struct wkp_up_set *s = L->s;
    o->type = UP_OP_BITFIELD;
    o->kind = WKP_UP_UINT;
    o->a = (uint8_t)g;
    o->aux = s->nbits;
    uint64_t total = 0;
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++) {
        yaml_node_t *b = yaml_document_get_node(doc, *it);
        uint64_t bits;
        if (check_keys(L, d, b, "bitfield entry", kb, kb) != 0 ||
            opt_uint(L, d, b, "bits", 1, 64, 1, &bits) != 0)
            return -1;
        total += bits;
        if (total > g * 8)
            return wkp__up_fail(L, d, b, "bitfield: %llu bits do not fit in %llu bytes",
                                (unsigned long long)total, (unsigned long long)g);
        int id = name_of(L, d, b, "name");
        struct up_bits *e = id < 0 ? NULL : PUSH(L, s->bits, s->nbits, C_BITS);
        if (!e)
            return id < 0 ? -1 : wkp__up_oom(L);
        *e = (struct up_bits){(uint16_t)id, (uint8_t)bits};
    }
    o->naux = s->nbits - o->aux;
    return 0;
}

static int field_lp(struct up_loader *L, const struct up_doc *d, yaml_node_t *f, struct up_op *o)
{
    static const char *const req[] = {"name", "type", "length_size", NULL};
    static const char *const fmts[] = {"bytes", "string", "none", NULL};
    uint64_t ls;
    if (check_keys(L, d, f, "length_prefixed field", k_lp, req) != 0 ||
        opt_uint(L, d, f, "length_size", 1, 4, 1, &ls) != 0)
        return -1;
    o->a = (uint8_t)ls;
    yaml_node_t *sub = wkp__up_get((yaml_document_t *)&d->doc, f, "sub_protocol");
    yaml_node_t *fmt = wkp__up_get((yaml_document_t *)&d->doc, f, "format");
    if (sub && fmt)
        return wkp__up_fail(L, d, fmt,
                            "length_prefixed: format and sub_protocol exclude each other");
    if (sub) {
        o->type = UP_OP_LP_SUB;
        return (o->sub = sub_of(L, d, sub, L->prefix)) < 0 ? -1 : 0;
    }
    int k = get_choice(L, d, f, "format", fmts, 0);
    if (k < 0)
        return -1;
    o->type = UP_OP_LP;
    o->kind = k == 1 ? WKP_UP_STRING : WKP_UP_BYTES;
    return 0;
}

static int field_computed(struct up_loader *L, const struct up_doc *d, yaml_node_t *f,
                          struct up_op *o)
{
    static const char *const req[] = {"name", "type", "expression", NULL};
    if (check_keys(L, d, f, "computed field", k_computed, req) != 0)
        return -1;
    yaml_node_t *en = wkp__up_get((yaml_document_t *)&d->doc, f, "expression");
    const char *text = wkp__up_scalar(en);
    if (!text)
        return wkp__up_fail(L, d, en, "expression: expected text");
    struct up_rpn code[UP_RPN_MAX];
    uint32_t n = 0;
    size_t at = 0;
    const char *msg = NULL;
    if (wkp__up_expr_compile(text, code, &n, intern_cb, L, &at, &msg) != 0) {
        if (msg && strcmp(msg, "out of memory") == 0)
            return wkp__up_oom(L);
        return wkp__up_fail(L, d, en, "expression \"%s\": %s at character %zu", text, msg, at + 1);
    }
    struct wkp_up_set *s = L->s;
    o->type = UP_OP_COMPUTED;
    o->kind = WKP_UP_INT;
    o->aux = s->nrpn;
    for (uint32_t k = 0; k < n; k++) {
        struct up_rpn *e = PUSH(L, s->rpn, s->nrpn, C_RPN);
        if (!e)
            return wkp__up_oom(L);
        *e = code[k];
    }
    o->naux = n;
    return 0;
}

static int field_tlv(struct up_loader *L, const struct up_doc *d, yaml_node_t *f, struct up_op *o)
{
    static const char *const req[] = {"name", "type", "type_size", "length_size", NULL};
    uint64_t ts, ls;
    if (check_keys(L, d, f, "tlv field", k_tlv, req) != 0 ||
        opt_uint(L, d, f, "type_size", 1, 4, 1, &ts) != 0 ||
        opt_uint(L, d, f, "length_size", 1, 4, 1, &ls) != 0)
        return -1;
    o->type = UP_OP_TLV;
    o->a = (uint8_t)ts;
    o->b = (uint8_t)ls;
    yaml_node_t *m = wkp__up_get((yaml_document_t *)&d->doc, f, "type_mapping");
    if (m && mapping(L, d, m, "type_mapping", true, L->prefix, &o->aux, &o->naux) != 0)
        return -1;
    return 0;
}

static int field_counted(struct up_loader *L, const struct up_doc *d, yaml_node_t *f,
                         struct up_op *o)
{
    static const char *const req[] = {"name", "type", "count_field", "size", NULL};
    uint64_t size;
    if (check_keys(L, d, f, "counted_list field", k_counted, req) != 0 ||
        opt_uint(L, d, f, "size", 1, 8, 1, &size) != 0)
        return -1;
    int id = name_of(L, d, f, "count_field");
    if (id < 0)
        return -1;
    o->type = UP_OP_COUNTED;
    o->kind = WKP_UP_LIST_INT;
    o->a = (uint8_t)size;
    o->name2 = (uint16_t)id;
    return 0;
}

static int field_rest(struct up_loader *L, const struct up_doc *d, yaml_node_t *f, struct up_op *o)
{
    static const char *const fmts[] = {"bytes", "string", "hex", NULL};
    static const uint8_t kinds[] = {WKP_UP_BYTES, WKP_UP_STRING, WKP_UP_HEX};
    if (check_keys(L, d, f, "rest field", k_rest, req_name_type) != 0)
        return -1;
    int k = get_choice(L, d, f, "format", fmts, 0);
    if (k < 0)
        return -1;
    o->type = UP_OP_REST;
    o->kind = kinds[k];
    return 0;
}

static int field_hard(struct up_loader *L, const struct up_doc *d, yaml_node_t *f, struct up_op *o)
{
    static const char *const req[] = {"name", "type", "parser", NULL};
    static const char *const parsers[] = {"dns_name", "bsd_loopback_af", "nflog_payload", NULL};
    static const uint8_t ops[] = {UP_OP_DNS_NAME, UP_OP_BSD_AF, UP_OP_NFLOG};
    static const uint8_t kinds[] = {WKP_UP_STRING, WKP_UP_UINT, WKP_UP_UINT};
    if (check_keys(L, d, f, "hardcoded field", k_hard, req) != 0)
        return -1;
    int k = get_choice(L, d, f, "parser", parsers, -1);
    if (k < 0)
        return -1;
    o->type = ops[k];
    o->kind = kinds[k];
    return 0;
}

static int field_plist(struct up_loader *L, const struct up_doc *d, yaml_node_t *f, struct up_op *o)
{
    static const char *const req[] = {"name", "type", "list_length_size", "item_length_size", NULL};
    static const char *const fmts[] = {"bytes", "string", NULL};
    yaml_document_t *doc = (yaml_document_t *)&d->doc;
    uint64_t lls, ils;
    if (check_keys(L, d, f, "prefixed_list field", k_plist, req) != 0 ||
        opt_uint(L, d, f, "list_length_size", 1, 4, 1, &lls) != 0 ||
        opt_uint(L, d, f, "item_length_size", 1, 4, 1, &ils) != 0)
        return -1;
    o->c = (uint8_t)lls;
    o->b = (uint8_t)ils;
    yaml_node_t *ts = wkp__up_get(doc, f, "type_size");
    yaml_node_t *tm = wkp__up_get(doc, f, "type_mapping");
    yaml_node_t *fmt = wkp__up_get(doc, f, "item_format");
    if (!ts != !tm)
        return wkp__up_fail(L, d, ts ? ts : tm,
                            "prefixed_list: type_size and type_mapping go together");
    if (ts && fmt)
        return wkp__up_fail(L, d, fmt, "prefixed_list: item_format does not go with type_mapping");
    if (!ts) {
        int k = get_choice(L, d, f, "item_format", fmts, 0);
        if (k < 0)
            return -1;
        o->type = UP_OP_PLIST;
        o->kind = k == 1 ? WKP_UP_LIST_STR : WKP_UP_LIST_BYTES;
        return 0;
    }
    uint64_t tsz;
    if (get_uint(L, d, ts, "type_size", 1, 4, &tsz) != 0)
        return -1;
    o->type = UP_OP_PLIST_TLV;
    o->a = (uint8_t)tsz;
    /* each entry's fields are named "<sub_protocol>.<field>" */
    if (tm->type != YAML_MAPPING_NODE)
        return wkp__up_fail(L, d, tm, "type_mapping: expected a mapping {value: protocol}");
    struct up_map got[256];
    uint32_t n = 0;
    for (yaml_node_pair_t *p = tm->data.mapping.pairs.start; p < tm->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        uint64_t key;
        if (get_uint(L, d, kn, "type_mapping", 0, UINT64_MAX, &key) != 0)
            return -1;
        for (uint32_t k = 0; k < n; k++)
            if (got[k].key == key)
                return wkp__up_fail(L, d, kn, "type_mapping: value %llu mapped twice",
                                    (unsigned long long)key);
        if (n >= 256)
            return wkp__up_fail(L, d, kn, "type_mapping: at most 256 entries");
        const char *t = wkp__up_scalar(vn);
        char pre[128];
        if (!t || snprintf(pre, sizeof pre, "%s%s%s", L->prefix ? L->prefix : "",
                           L->prefix ? "." : "", t) >= (int)sizeof pre)
            return wkp__up_fail(L, d, vn, "type_mapping: expected a protocol name");
        int32_t prog = sub_of(L, d, vn, pre);
        if (prog < 0)
            return -1;
        got[n++] = (struct up_map){key, prog};
    }
    o->naux = n;
    return push_maps(L, got, n, &o->aux);
}

static int field_repeat(struct up_loader *L, const struct up_doc *d, yaml_node_t *f,
                        struct up_op *o)
{
    static const char *const req[] = {"name", "type", "sub_protocol", NULL};
    static const char *const merges[] = {"tls", NULL};
    if (check_keys(L, d, f, "repeat field", k_repeat, req) != 0)
        return -1;
    int m = get_choice(L, d, f, "merge", merges, -2);
    if (m == -1)
        return -1;
    o->type = m == 0 ? UP_OP_REPEAT_TLS : UP_OP_REPEAT;
    o->sub = sub_of(L, d, wkp__up_get((yaml_document_t *)&d->doc, f, "sub_protocol"), L->prefix);
    return o->sub < 0 ? -1 : 0;
}

static int field(struct up_loader *L, const struct up_doc *d, yaml_node_t *f, struct up_op *o)
{
    if (f->type != YAML_MAPPING_NODE)
        return wkp__up_fail(L, d, f, "a field must be a mapping");
    yaml_node_t *tn = wkp__up_get((yaml_document_t *)&d->doc, f, "type");
    if (!tn)
        return wkp__up_fail(L, d, f, "field: missing required key 'type'");
    const char *t = wkp__up_scalar(tn);
    int k = 0;
    while (types[k] && (!t || strcmp(types[k], t) != 0))
        k++;
    if (!types[k])
        return wkp__up_fail(L, d, tn, "unknown field type '%s'", t ? t : "?");
    *o = (struct up_op){.sub = -1};
    if (!wkp__up_get((yaml_document_t *)&d->doc, f, "name"))
        return wkp__up_fail(L, d, f, "%s field: missing required key 'name'", types[k]);
    int id = name_of(L, d, f, "name");
    if (id < 0)
        return -1;
    o->name = (uint16_t)id;
    switch (k) {
    case 0: return field_fixed(L, d, f, o);
    case 1: return field_bitfield(L, d, f, o);
    case 2: return field_lp(L, d, f, o);
    case 3: return field_computed(L, d, f, o);
    case 4: return field_tlv(L, d, f, o);
    case 5: return field_counted(L, d, f, o);
    case 6: return field_rest(L, d, f, o);
    case 7: return field_hard(L, d, f, o);
    case 8: return field_plist(L, d, f, o);
    default: return field_repeat(L, d, f, o);
    }
}

/* ---- next_protocol ---- */

static int heuristics(struct up_loader *L, const struct up_doc *d, yaml_node_t *list,
                      struct up_prog *pg)
{
    static const char *const kh[] = {"protocol", "min_length", "conditions", NULL};
    static const char *const rh[] = {"protocol", NULL};
    static const char *const kc[] = {"offset", "byte_eq", "byte_le", "byte_in", "prefix_in", NULL};
    yaml_document_t *doc = (yaml_document_t *)&d->doc;
    struct wkp_up_set *s = L->s;
    if (list->type != YAML_SEQUENCE_NODE)
        return wkp__up_fail(L, d, list, "heuristics: expected a list");
    pg->heur = s->nheur;
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++) {
        yaml_node_t *h = yaml_document_get_node(doc, *it);
        uint64_t minl;
        if (check_keys(L, d, h, "heuristic", kh, rh) != 0 ||
            opt_uint(L, d, h, "min_length", 0, UINT32_MAX, 0, &minl) != 0)
            return -1;
        yaml_node_t *pn = wkp__up_get(doc, h, "protocol");
        const char *t = wkp__up_scalar(pn);
        int def = t ? wkp__up_def_find(L, t) : -1;
        if (def < 0)
            return wkp__up_fail(L, d, pn, "no protocol named '%s'", t ? t : "?");
        struct up_heur hr = {def, (uint32_t)minl, s->ncond, 0};
        yaml_node_t *cl = wkp__up_get(doc, h, "conditions");
        if (cl && cl->type != YAML_SEQUENCE_NODE)
            return wkp__up_fail(L, d, cl, "conditions: expected a list");
        for (yaml_node_item_t *ci = cl ? cl->data.sequence.items.start : NULL;
             cl && ci < cl->data.sequence.items.top; ci++) {
            yaml_node_t *c = yaml_document_get_node(doc, *ci);
            uint64_t off, v;
            if (check_keys(L, d, c, "condition", kc, NULL) != 0 ||
                opt_uint(L, d, c, "offset", 0, 65535, 0, &off) != 0)
                return -1;
            struct up_cond cd = {.offset = (uint32_t)off};
            int kinds = 0;
            yaml_node_t *x;
            if ((x = wkp__up_get(doc, c, "byte_eq"))) {
                if (get_uint(L, d, x, "byte_eq", 0, 255, &v) != 0)
                    return -1;
                cd.kind = UP_C_EQ, cd.value = (uint8_t)v, kinds++;
            }
            if ((x = wkp__up_get(doc, c, "byte_le"))) {
                if (get_uint(L, d, x, "byte_le", 0, 255, &v) != 0)
                    return -1;
                cd.kind = UP_C_LE, cd.value = (uint8_t)v, kinds++;
            }
            if ((x = wkp__up_get(doc, c, "byte_in"))) {
                if (x->type != YAML_SEQUENCE_NODE)
                    return wkp__up_fail(L, d, x, "byte_in: expected a list of bytes");
                cd.kind = UP_C_IN, cd.aux = s->nblob, kinds++;
                for (yaml_node_item_t *bi = x->data.sequence.items.start;
                     bi < x->data.sequence.items.top; bi++) {
                    if (get_uint(L, d, yaml_document_get_node(doc, *bi), "byte_in", 0, 255, &v))
                        return -1;
                    uint8_t *e = PUSH(L, s->blob, s->nblob, C_BLOB);
                    if (!e)
                        return wkp__up_oom(L);
                    *e = (uint8_t)v;
                }
                cd.n = s->nblob - cd.aux;
            }
            if ((x = wkp__up_get(doc, c, "prefix_in"))) {
                if (x->type != YAML_SEQUENCE_NODE)
                    return wkp__up_fail(L, d, x, "prefix_in: expected a list of strings");
                cd.kind = UP_C_PREFIX, cd.aux = s->nblob, kinds++;
                for (yaml_node_item_t *bi = x->data.sequence.items.start;
                     bi < x->data.sequence.items.top; bi++, cd.n++) {
                    yaml_node_t *sn = yaml_document_get_node(doc, *bi);
                    const char *str = wkp__up_scalar(sn);
                    size_t len = str ? sn->data.scalar.length : 0;
                    if (!str || len == 0 || len > 255)
                        return wkp__up_fail(L, d, sn, "prefix_in: expected 1 to 255 characters");
                    for (size_t b = 0; b <= len; b++) {
                        uint8_t *e = PUSH(L, s->blob, s->nblob, C_BLOB);
                        if (!e)
                            return wkp__up_oom(L);
                        *e = b == 0 ? (uint8_t)len : (uint8_t)str[b - 1];
                    }
                }
            }
            if (kinds != 1)
                return wkp__up_fail(
                    L, d, c, "condition: exactly one of byte_eq, byte_le, byte_in, prefix_in");
            struct up_cond *e = PUSH(L, s->cond, s->ncond, C_COND);
            if (!e)
                return wkp__up_oom(L);
            *e = cd;
            hr.ncond++;
        }
        if (s->proto[def].builtin)
            continue;
        struct up_heur *e = PUSH(L, s->heur, s->nheur, C_HEUR);
        if (!e)
            return wkp__up_oom(L);
        *e = hr;
    }
    pg->nheur = s->nheur - pg->heur;
    return 0;
}

static int next_protocol(struct up_loader *L, const struct up_doc *d, uint32_t def, yaml_node_t *np,
                         struct up_prog *pgv)
{
    static const char *const kn[] = {"field", "mapping", "heuristics", "default", NULL};
    yaml_document_t *doc = (yaml_document_t *)&d->doc;
    struct wkp_up_set *s = L->s;
    struct up_prog pg = *pgv;
    if (check_keys(L, d, np, "next_protocol", kn, NULL) != 0)
        return -1;
    yaml_node_t *fn = wkp__up_get(doc, np, "field");
    if (fn && fn->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = fn->data.sequence.items.start; it < fn->data.sequence.items.top;
             it++) {
            yaml_node_t *x = yaml_document_get_node(doc, *it);
            const char *t = wkp__up_scalar(x);
            if (!t || !*t)
                return wkp__up_fail(L, d, x, "next_protocol: field: expected a name");
            if (pg.nnext >= 8)
                return wkp__up_fail(L, d, x, "next_protocol: at most 8 fields");
            int id = wkp__up_intern(L, t, strlen(t), true);
            if (id < 0)
                return wkp__up_oom(L);
            pg.next_field[pg.nnext++] = (uint16_t)id;
        }
    } else if (fn) {
        int id = name_of(L, d, np, "field");
        if (id < 0)
            return -1;
        pg.next_field[pg.nnext++] = (uint16_t)id;
    }
    yaml_node_t *mn = wkp__up_get(doc, np, "mapping");
    if (mn && !fn)
        return wkp__up_fail(L, d, mn, "next_protocol: a mapping needs a field");
    pg.map = s->nmap;
    if (mn && mapping(L, d, mn, "mapping", false, NULL, &pg.map, &pg.nmap) != 0)
        return -1;
    /* routes to this protocol's values: added to its mapping, replacing */
    for (uint32_t k = 0; k < L->nextra; k++) {
        if (L->extra[k].proto != def)
            continue;
        if (!fn)
            return wkp__up_fail(L, d, np, "a route from '%s' needs next_protocol.field",
                                s->proto[def].name);
        uint32_t j = pg.map;
        while (j < pg.map + pg.nmap && s->map[j].key != L->extra[k].key)
            j++;
        if (j == pg.map + pg.nmap) {
            struct up_map *e = PUSH(L, s->map, s->nmap, C_MAP);
            if (!e)
                return wkp__up_oom(L);
            pg.nmap++;
        }
        s->map[j] = (struct up_map){L->extra[k].key, (int32_t)L->extra[k].target};
    }
    if (pg.nmap > 1) /* a map may be empty (s->map still NULL) */
        qsort(s->map + pg.map, pg.nmap, sizeof *s->map, cmp_map);
    yaml_node_t *hn = wkp__up_get(doc, np, "heuristics");
    if (hn && heuristics(L, d, hn, &pg) != 0)
        return -1;
    yaml_node_t *dn = wkp__up_get(doc, np, "default");
    if (dn) {
        const char *t = wkp__up_scalar(dn);
        int t2 = t ? wkp__up_def_find(L, t) : -1;
        if (t2 < 0)
            return wkp__up_fail(L, d, dn, "no protocol named '%s'", t ? t : "?");
        if (!s->proto[t2].builtin)
            pg.deflt = t2;
    }
    *pgv = pg;
    return 0;
}

/* ---- programs ---- */

int32_t wkp__up_compile(struct up_loader *L, uint32_t def, const char *prefix,
                        const struct up_doc *refdoc, const yaml_node_t *ref)
{
    for (uint32_t i = 0; i < L->ninst; i++) {
        struct up_inst *in = &L->inst[i];
        if (in->def != def || !in->prefix != !prefix || (prefix && strcmp(in->prefix, prefix)))
            continue;
        if (in->busy)
            return wkp__up_fail(L, refdoc, ref, "sub-protocol cycle: '%s' contains itself",
                                L->defs[def].name);
        return in->prog;
    }
    if (L->ninst >= 4096)
        return wkp__up_fail(L, refdoc, ref, "too many sub-protocol instances");
    if (L->depth >= 16) /* also ends a protocol that contains itself under growing prefixes */
        return wkp__up_fail(L, refdoc, ref, "sub-protocols nest more than 16 deep at '%s'",
                            L->defs[def].name);
    struct wkp_up_set *s = L->s;
    struct up_inst *in = PUSH(L, L->inst, L->ninst, 10);
    struct up_prog *pg = in ? PUSH(L, s->prog, s->nprog, C_PROG) : NULL;
    char *pre = prefix ? strdup(prefix) : NULL;
    if (!pg || (prefix && !pre)) {
        free(pre);
        if (in && !pg)
            L->ninst--;
        return wkp__up_oom(L);
    }
    uint32_t ii = L->ninst - 1, pi = s->nprog - 1;
    *in = (struct up_inst){def, pre, (int32_t)pi, true};
    *pg = (struct up_prog){.header_size = -1, .total_length = -1, .deflt = -1};

    const struct up_doc *d = L->defs[def].d;
    yaml_document_t *doc = (yaml_document_t *)&d->doc;
    yaml_node_t *root = L->defs[def].root;
    static const char *const kroot[] = {
        "name", "fields", "next_protocol", "header_size_field", "total_length_field", NULL};
    static const char *const rroot[] = {"name", "fields", NULL};
    const char *save = L->prefix;
    L->prefix = prefix;
    L->depth++;
    struct up_prog p = *pg;
    int rc = check_keys(L, d, root, "protocol", kroot, rroot);
    yaml_node_t *fl = rc ? NULL : wkp__up_get(doc, root, "fields");
    if (fl && fl->type != YAML_SEQUENCE_NODE)
        rc = wkp__up_fail(L, d, fl, "fields: expected a list");
    /* the fields' operations are collected here, then appended in one run */
    struct up_op ops[256];
    uint32_t nops = 0;
    for (yaml_node_item_t *it = fl && !rc ? fl->data.sequence.items.start : NULL;
         it && it < fl->data.sequence.items.top && !rc; it++) {
        yaml_node_t *f = yaml_document_get_node(doc, *it);
        if (nops >= 256)
            rc = wkp__up_fail(L, d, f, "at most 256 fields in a protocol");
        else
            rc = field(L, d, f, &ops[nops++]);
    }
    if (!rc && wkp__up_get(doc, root, "header_size_field") &&
        (p.header_size = name_of(L, d, root, "header_size_field")) < 0)
        rc = -1;
    if (!rc && wkp__up_get(doc, root, "total_length_field") &&
        (p.total_length = name_of(L, d, root, "total_length_field")) < 0)
        rc = -1;
    yaml_node_t *np = rc ? NULL : wkp__up_get(doc, root, "next_protocol");
    if (np && !prefix) {
        L->next_node[def] = np;
        rc = next_protocol(L, d, def, np, &p);
    }
    for (uint32_t k = 0; !rc && !np && !prefix && k < L->nextra; k++)
        if (L->extra[k].proto == def)
            rc = wkp__up_fail(L, d, root, "a route from '%s' needs next_protocol.field",
                              L->defs[def].name);
    if (!rc) {
        p.op = s->nop;
        for (uint32_t k = 0; k < nops && !rc; k++) {
            struct up_op *e = PUSH(L, s->op, s->nop, C_OP);
            if (!e)
                rc = wkp__up_oom(L);
            else
                *e = ops[k];
        }
        p.nop = nops;
    }
    L->prefix = save;
    L->depth--;
    L->inst[ii].busy = false;
    s->prog[pi] = p;
    return rc ? -1 : (int32_t)pi;
}
