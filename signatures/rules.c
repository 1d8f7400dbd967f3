/* The rules file (interface in rules.h), read with libyaml's document API:
 * the whole file becomes one node tree, then each rule mapping is checked
 * key by key, so every error points at the node that caused it (file:line:
 * column, 1-based). Runs on the thread that configures the engine. */
#include "signatures/rules.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/oneline.h"

#ifdef WKP_HAVE_SIGNATURES
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_RULES_FILE (64u << 20) /* bytes: a rules file is text, not a capture */

struct ctx {
    const char *name;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
};

static int fail_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    int k = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->name, n->start_mark.line + 1,
                     n->start_mark.column + 1);
    if (k < 0 || (size_t)k >= c->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

/* A scalar's text (NUL-terminated by libyaml), or NULL for other nodes. */
static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A decimal integer in [0, max]: no sign, no spaces, no other base. */
static int uint_of(struct ctx *c, const yaml_node_t *n, const char *key, uint64_t max,
                   uint64_t *out)
{
    const char *s = scalar(n);
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20)
        return fail_at(c, n, "%s must be a decimal integer", key);
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno || v > max)
        return fail_at(c, n, "%s %s is out of range (at most %llu)", key, s,
                       (unsigned long long)max);
    *out = v;
    return 0;
}

/* A non-empty string value, copied. */
static int text_of(struct ctx *c, const yaml_node_t *n, const char *key, char **out)
{
    const char *s = scalar(n);
    if (!s)
        return fail_at(c, n, "%s must be a string", key);
    if (!*s)
        return fail_at(c, n, "%s is empty", key);
    if (strlen(s) != n->data.scalar.length)
        return fail_at(c, n, "%s holds a NUL byte", key);
    free(*out);
    if (!(*out = strdup(s)))
        return fail_at(c, n, "out of memory");
    return 0;
}

static int flag_of(struct ctx *c, const yaml_node_t *n, uint32_t *flags)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } names[] = {
        {"caseless", WKP_SIG_CASELESS},
        {"dotall", WKP_SIG_DOTALL},
        {"multiline", WKP_SIG_MULTILINE},
        {"single-match", WKP_SIG_SINGLEMATCH},
    };
    const char *s = scalar(n);
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *flags |= names[i].bit;
            return 0;
        }
    return fail_at(c, n, "unknown flag '%s' (caseless, dotall, multiline, single-match)",
                   s ? s : "(not a string)");
}

/* flags: one flag or a list of them. */
static int flags_of(struct ctx *c, yaml_node_t *n, uint32_t *flags)
{
    if (n->type == YAML_SCALAR_NODE)
        return flag_of(c, n, flags);
    if (n->type != YAML_SEQUENCE_NODE)
        return fail_at(c, n, "flags must be a flag or a list of flags");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
        if (flag_of(c, yaml_document_get_node(c->doc, *it), flags) != 0)
            return -1;
    return 0;
}

static void rule_free(struct wkp_sig_rule *r)
{
    free(r->name);
    free(r->pattern);
    free(r->label);
}

/* Keys a rule must have, as bits of `seen`. */
enum { K_ID = 1, K_NAME = 2, K_PATTERN = 4, K_REQUIRED = 7, K_OTHER = 8 };

static int rule_of(struct ctx *c, yaml_node_t *m, struct wkp_sig_rule *r)
{
    memset(r, 0, sizeof *r);
    r->dir = WKP_SIG_ANY;
    r->line = (uint32_t)m->start_mark.line + 1;
    r->column = (uint32_t)m->start_mark.column + 1;
    if (m->type != YAML_MAPPING_NODE)
        return fail_at(c, m, "a rule must be a mapping (id, name, pattern, ...)");
    unsigned seen = 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
        const char *k = scalar(kn);
        if (!k)
            return fail_at(c, kn, "a key must be a string");
        static const char *const keys[] = {"id",        "name",   "pattern", "flags",
                                           "direction", "offset", "depth",   "label"};
        unsigned bit = 0;
        for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (strcmp(k, keys[i]) == 0)
                bit = 1u << i;
        if (!bit)
            return fail_at(c, kn,
                           "unknown key '%s' (id, name, pattern, flags, direction, offset, "
                           "depth, label)",
                           k);
        if (seen & bit)
            return fail_at(c, kn, "key '%s' given twice", k);
        seen |= bit;
        uint64_t v = 0;
        int rc = 0;
        switch (bit) {
        case 1u << 0:
            rc = uint_of(c, vn, "id", UINT32_MAX, &v);
            r->id = (uint32_t)v;
            break;
        case 1u << 1: rc = text_of(c, vn, "name", &r->name); break;
        case 1u << 2: rc = text_of(c, vn, "pattern", &r->pattern); break;
        case 1u << 3: rc = flags_of(c, vn, &r->flags); break;
        case 1u << 4: {
            const char *s = scalar(vn);
            if (s && strcmp(s, "up") == 0)
                r->dir = WKP_SIG_UP;
            else if (s && strcmp(s, "down") == 0)
                r->dir = WKP_SIG_DOWN;
            else if (s && strcmp(s, "any") == 0)
                r->dir = WKP_SIG_ANY;
            else
                rc = fail_at(c, vn, "direction must be up, down or any");
            break;
        }
        case 1u << 5:
            rc = uint_of(c, vn, "offset", UINT32_MAX, &r->offset);
            r->has_offset = 1;
            break;
        case 1u << 6:
            rc = uint_of(c, vn, "depth", UINT32_MAX, &r->depth);
            r->has_depth = 1;
            break;
        default: rc = text_of(c, vn, "label", &r->label); break;
        }
        if (rc != 0)
            return -1;
    }
    static const char *const required[] = {"id", "name", "pattern"};
    for (unsigned i = 0; i < 3; i++)
        if (!(seen & (1u << i)))
            return fail_at(c, m, "rule has no '%s'", required[i]);
    if (r->has_offset && r->has_depth && r->offset > r->depth)
        return fail_at(c, m, "rule %u: offset %llu is past depth %llu", r->id,
                       (unsigned long long)r->offset, (unsigned long long)r->depth);
    if (r->has_depth && r->depth == 0)
        return fail_at(c, m, "rule %u: depth 0 can never match", r->id);
    return 0;
}

void wkp_sig_rules_free(struct wkp_sig_rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        rule_free(&r->v[i]);
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

static int rules_of(struct ctx *c, struct wkp_sig_rules *out)
{
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root) { /* an empty file: no rules */
        *out = (struct wkp_sig_rules){0};
        return 0;
    }
    if (root->type != YAML_SEQUENCE_NODE)
        return fail_at(c, root, "the rules file must be a list of rules");
    size_t n = (size_t)(root->data.sequence.items.top - root->data.sequence.items.start);
    struct wkp_sig_rules r = {.v = n ? calloc(n, sizeof *r.v) : NULL};
    if (n && !r.v)
        return fail_at(c, root, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *m = yaml_document_get_node(c->doc, root->data.sequence.items.start[i]);
        int rc = rule_of(c, m, &r.v[i]);
        r.n = i + 1; /* the rule's strings are freed with the rest */
        if (rc != 0)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (r.v[j].id == r.v[i].id) {
                fail_at(c, m, "duplicate id %u (first at line %u)", r.v[i].id, r.v[j].line);
                goto fail;
            }
    }
    *out = r;
    return 0;
fail:
    wkp_sig_rules_free(&r);
    return -1;
}

static int parse_text(const char *name, const char *text, size_t len, struct wkp_sig_rules *out,
                      char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    /* libyaml asserts on a NULL input, which an empty buffer may be */
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""),
                                 text ? len : 0);
    int rc = -1;
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s%s%s", name, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "invalid YAML",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return -1;
    }
    struct ctx c = {.name = name, .doc = &doc, .err = err, .errlen = errlen};
    rc = rules_of(&c, out);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int wkp_sig_rules_parse(const char *name, const char *text, size_t len, struct wkp_sig_rules *out,
                        char *err, size_t errlen)
{
    int rc = parse_text(name, text, len, out, err, errlen);
    if (rc != 0) /* a message may quote a key or value with a line break in it */
        wkp_oneline(err, errlen);
    return rc;
}

int wkp_sig_rules_load(const char *path, struct wkp_sig_rules *out, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        wkp_oneline(err, errlen);
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    int rc = -1;
    while (text) {
        size_t got = fread(text + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
        if (len == cap) {
            if (cap >= MAX_RULES_FILE) {
                snprintf(err, errlen, "%s: larger than %u MiB", path, MAX_RULES_FILE >> 20);
                goto out;
            }
            char *more = realloc(text, cap * 2);
            if (!more) {
                free(text);
                text = NULL;
                break;
            }
            text = more;
            cap *= 2;
        }
    }
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
    } else if (ferror(fp)) {
        snprintf(err, errlen, "%s: read error", path);
    } else {
        rc = wkp_sig_rules_parse(path, text, len, out, err, errlen);
    }
out:
    free(text);
    fclose(fp);
    if (rc != 0) /* the path may hold a line break too */
        wkp_oneline(err, errlen);
    return rc;
}

#else /* no libyaml: signatures are off in this build (db.c says so first) */

int wkp_sig_rules_parse(const char *name, const char *text, size_t len, struct wkp_sig_rules *out,
                        char *err, size_t errlen)
{
    (void)text, (void)len, (void)out;
    snprintf(err, errlen, "%s: this build has no signature support", name);
    wkp_oneline(err, errlen); /* the name may hold a line break */
    return -1;
}

int wkp_sig_rules_load(const char *path, struct wkp_sig_rules *out, char *err, size_t errlen)
{
    return wkp_sig_rules_parse(path, NULL, 0, out, err, errlen);
}

void wkp_sig_rules_free(struct wkp_sig_rules *r)
{
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

#endif
