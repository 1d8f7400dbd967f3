/* Loading user protocols: the directories' YAML files are parsed with
 * libyaml into documents (which keep each node's line and column), every
 * definition is registered by name, routes are attached, and compile.c
 * turns each definition into a program. Nothing is kept of the documents:
 * the set holds only flat arrays.
 *
 * Rules: link_types.yaml first, then the other files in name order
 * (signatures.yaml, the payload-signature rules, is not a protocol); two
 * files of one directory naming the same protocol is an error, a later
 * directory replaces what an earlier one defined; a route or mapping that
 * leads from a user protocol back to itself is an error. Every error is
 * one line, "file:line:column: what", and nothing is loaded. A definition
 * named like a layer the engine parses in C (ethernet, ipv4, udp, dns, ...)
 * is checked like any other but never run: the C parser owns that layer;
 * the mapping of the udp and tcp definitions adds routes from those
 * transports. Runs on the thread that creates the engine. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "userproto/up_load.h"
#include "util/oneline.h"

#define MAX_FILE_BYTES (1u << 20)

/* Layers the engine parses itself: definitions with these names document
 * them and are never run. */
static const char *const builtin_names[] = {"ethernet",
                                            "vlan",
                                            "linux_sll",
                                            "linux_sll2",
                                            "raw_ip",
                                            "bsd_loopback",
                                            "nflog",
                                            "mpls",
                                            "gre",
                                            "vxlan",
                                            "geneve",
                                            "ipv4",
                                            "ipv6",
                                            "tcp",
                                            "udp",
                                            "arp",
                                            "icmp",
                                            "icmpv6",
                                            "dns",
                                            "dhcp",
                                            "dhcpv6",
                                            "http",
                                            "quic",
                                            "tls",
                                            "tls_stream",
                                            "tls_record",
                                            "tls_handshake",
                                            "tls_client_hello",
                                            "tls_server_hello",
                                            "tls_certificate",
                                            "tls_ext_sni",
                                            "tls_ext_alpn",
                                            "tls_ext_supported_groups",
                                            "tls_ext_signature_algorithms",
                                            NULL};

bool wkp__up_builtin_name(const char *name)
{
    for (const char *const *b = builtin_names; *b; b++)
        if (strcmp(*b, name) == 0)
            return true;
    return false;
}

int wkp__up_fail(struct up_loader *L, const struct up_doc *d, const yaml_node_t *node,
                 const char *fmt, ...)
{
    if (L->rc)
        return -1;
    L->rc = -1;
    if (!L->err || !L->errlen)
        return -1;
    int n = 0;
    if (d && node)
        n = snprintf(L->err, L->errlen, "%s:%zu:%zu: ", d->file, node->start_mark.line + 1,
                     node->start_mark.column + 1);
    else if (d)
        n = snprintf(L->err, L->errlen, "%s: ", d->file);
    if (n < 0 || (size_t)n >= L->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

int wkp__up_oom(struct up_loader *L)
{
    if (!L->rc && L->err && L->errlen)
        snprintf(L->err, L->errlen, "out of memory loading protocols");
    L->rc = -2;
    return -1;
}

yaml_node_t *wkp__up_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = wkp__up_scalar(yaml_document_get_node(doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

const char *wkp__up_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int wkp__up_def_find(const struct up_loader *L, const char *name)
{
    for (uint32_t i = 0; i < L->ndefs; i++)
        if (strcmp(L->defs[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- documents ---- */

static bool is_link_types(const char *file)
{
    const char *b = strrchr(file, '/');
    b = b ? b + 1 : file;
    return strcmp(b, "link_types.yaml") == 0 || strcmp(b, "link_types.yml") == 0;
}

/* Parse one text into a document and register what it defines. */
static int add_text(struct up_loader *L, const char *file, const char *text, size_t len, int dir)
{
    struct up_doc *d = calloc(1, sizeof *d);
    if (!d || !(d->file = strdup(file)) ||
        wkp__up_grow((void **)&L->docs, L->ndocs, &L->capdocs, sizeof *L->docs) != 0) {
        if (d)
            free(d->file);
        free(d);
        return wkp__up_oom(L);
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        free(d->file);
        free(d);
        return wkp__up_oom(L);
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &d->doc)) {
        struct up_doc tmp = {.file = d->file};
        yaml_node_t at = {.start_mark = p.problem_mark};
        wkp__up_fail(L, &tmp, &at, "%s%s%s", p.problem ? p.problem : "not valid YAML",
                     p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        free(d->file);
        free(d);
        return -1;
    }
    yaml_parser_delete(&p);
    L->docs[L->ndocs++] = d;
    yaml_node_t *root = yaml_document_get_root_node(&d->doc);
    if (!root)
        return wkp__up_fail(L, d, NULL, "empty file: expected a protocol definition");
    if (root->type != YAML_MAPPING_NODE)
        return wkp__up_fail(L, d, root, "expected a mapping (a protocol definition)");
    if (is_link_types(file)) {
        L->link_types = d;
        return 0;
    }
    yaml_node_t *nn = wkp__up_get(&d->doc, root, "name");
    if (!nn)
        return wkp__up_fail(L, d, root, "protocol: missing required key 'name'");
    const char *name = wkp__up_scalar(nn);
    if (!name || !*name || strlen(name) > 63 || strpbrk(name, " .\t\"\\"))
        return wkp__up_fail(L, d, nn, "name: expected a protocol name (no spaces or dots)");
    int have = wkp__up_def_find(L, name);
    if (have >= 0 && L->defs[have].dir == dir)
        return wkp__up_fail(L, d, nn, "protocol '%s' is already defined in %s", name,
                            L->defs[have].d->file);
    if (have >= 0) { /* a later directory replaces it */
        L->defs[have] = (struct up_def){d, root, name, dir};
        return 0;
    }
    if (L->ndefs >= WKP_UP_MAX_PROTOS)
        return wkp__up_fail(L, d, nn, "more than %d protocols", WKP_UP_MAX_PROTOS);
    if (wkp__up_grow((void **)&L->defs, L->ndefs, &L->capdefs, sizeof *L->defs) != 0)
        return wkp__up_oom(L);
    L->defs[L->ndefs++] = (struct up_def){d, root, name, dir};
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    bool lx = is_link_types(x), ly = is_link_types(y);
    if (lx != ly)
        return lx ? -1 : 1;
    return strcmp(x, y);
}

/* A protocol file: *.yaml or *.yml, not hidden, and not signatures.yaml
 * (the payload-signature rules that ship beside the protocols, read by
 * --signatures, not by this loader). */
static bool yaml_name(const char *n)
{
    size_t l = strlen(n);
    if (strcmp(n, "signatures.yaml") == 0 || strcmp(n, "signatures.yml") == 0)
        return false;
    return n[0] != '.' && ((l > 5 && strcmp(n + l - 5, ".yaml") == 0) ||
                           (l > 4 && strcmp(n + l - 4, ".yml") == 0));
}

static int add_dir(struct up_loader *L, const char *dir, int idx)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        if (L->err && L->errlen)
            snprintf(L->err, L->errlen, "%s: cannot read the protocols directory: %s", dir,
                     strerror(errno));
        L->rc = -1;
        return -1;
    }
    char **names = NULL;
    uint32_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *de; (de = readdir(dp)) != NULL;) {
        if (!yaml_name(de->d_name))
            continue;
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0 ||
            wkp__up_grow((void **)&names, n, &cap, sizeof *names) != 0) {
            free(path);
            rc = wkp__up_oom(L);
            break;
        }
        names[n++] = path;
    }
    closedir(dp);
    if (!rc)
        if (n > 1)
            qsort(names, n, sizeof *names, cmp_str);
    for (uint32_t i = 0; i < n && !rc; i++) {
        FILE *fp = fopen(names[i], "rb");
        char *buf = fp ? malloc(MAX_FILE_BYTES + 1) : NULL;
        size_t got = buf ? fread(buf, 1, MAX_FILE_BYTES + 1, fp) : 0;
        if (!fp) {
            if (L->err && L->errlen)
                snprintf(L->err, L->errlen, "%s: cannot open: %s", names[i], strerror(errno));
            L->rc = rc = -1;
        } else if (!buf) {
            rc = wkp__up_oom(L);
        } else if (got > MAX_FILE_BYTES) {
            struct up_doc tmp = {.file = names[i]};
            rc = wkp__up_fail(L, &tmp, NULL, "larger than 1 MiB");
        } else {
            rc = add_text(L, names[i], buf, got, idx);
        }
        free(buf);
        if (fp)
            fclose(fp);
    }
    for (uint32_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ---- after every file is in ---- */

static int check_link_types(struct up_loader *L)
{
    struct up_doc *d = L->link_types;
    if (!d)
        return 0;
    yaml_document_t *doc = &d->doc;
    yaml_node_t *root = yaml_document_get_root_node(doc);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        const char *ks = wkp__up_scalar(k);
        if (!ks || strcmp(ks, "link_types") != 0)
            return wkp__up_fail(L, d, k, "link_types file: unknown key '%s'", ks ? ks : "?");
    }
    yaml_node_t *m = wkp__up_get(doc, root, "link_types");
    if (!m || m->type != YAML_MAPPING_NODE)
        return wkp__up_fail(L, d, m ? m : root, "link_types: expected a mapping {DLT: protocol}");
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        const char *ks = wkp__up_scalar(k), *vs = wkp__up_scalar(v);
        char *end = NULL;
        if (!ks || !*ks || (strtoul(ks, &end, 0), *end))
            return wkp__up_fail(L, d, k, "link_types: expected a link type number");
        if (!vs || wkp__up_def_find(L, vs) < 0)
            return wkp__up_fail(L, d, v, "link_types: no protocol named '%s'", vs ? vs : "?");
    }
    return 0;
}

static int route_fail(struct up_loader *L, const struct wkp_up_route *r, const char *why)
{
    if (L->err && L->errlen)
        snprintf(L->err, L->errlen, "route %s:%llu=%s: %s", r->parent ? r->parent : "?",
                 (unsigned long long)r->value, r->target ? r->target : "?", why);
    L->rc = -1;
    return -1;
}

static int set_port(struct up_loader *L, int t, uint64_t port, uint32_t proto)
{
    struct wkp_up_set *s = L->s;
    if (!s->ports[t] && !(s->ports[t] = calloc(65536, sizeof *s->ports[t])))
        return wkp__up_oom(L);
    s->ports[t][port] = (uint16_t)(proto + 1);
    return 0;
}

/* Routes given at start-up: from udp / tcp into the port tables (after
 * the files' udp and tcp mappings, so they win), from a user protocol
 * into its mapping (compile.c adds them). */
static int routes_pre(struct up_loader *L, const struct wkp_up_route *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!r[i].parent || !r[i].target)
            return route_fail(L, &r[i], "parent and protocol are required");
        int t = wkp__up_def_find(L, r[i].target);
        if (t < 0)
            return route_fail(L, &r[i], "no protocol of that name is loaded");
        if (L->s->proto[t].builtin)
            return route_fail(L, &r[i], "that protocol is parsed by the engine itself");
        if (strcmp(r[i].parent, "udp") == 0 || strcmp(r[i].parent, "tcp") == 0)
            continue;
        int p = wkp__up_def_find(L, r[i].parent);
        if (p < 0 || L->s->proto[p].builtin)
            return route_fail(L, &r[i], "the parent must be udp, tcp or a loaded protocol");
        if (wkp__up_grow((void **)&L->extra, L->nextra, &L->capextra, sizeof *L->extra) != 0)
            return wkp__up_oom(L);
        L->extra[L->nextra++] = (struct up_extra){(uint32_t)p, r[i].value, (uint32_t)t};
    }
    return 0;
}

static int routes_ports(struct up_loader *L, const struct wkp_up_route *r, size_t n)
{
    struct wkp_up_set *s = L->s;
    static const char *const transports[2] = {"tcp", "udp"};
    /* the files: mapping of the udp and tcp definitions */
    for (int t = 0; t < 2; t++) {
        int def = wkp__up_def_find(L, transports[t]);
        if (def < 0)
            continue;
        const struct up_prog *pg = &s->prog[s->proto[def].prog];
        for (uint32_t k = pg->map; k < pg->map + pg->nmap; k++) {
            if (s->map[k].key > 65535) {
                return wkp__up_fail(L, L->defs[def].d, L->next_node[def],
                                    "%s mapping: port %llu is out of range", transports[t],
                                    (unsigned long long)s->map[k].key);
            }
            if (set_port(L, t, s->map[k].key, (uint32_t)s->map[k].target) != 0)
                return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int t = strcmp(r[i].parent, "tcp") == 0 ? 0 : strcmp(r[i].parent, "udp") == 0 ? 1 : -1;
        if (t < 0)
            continue;
        if (r[i].value > 65535)
            return route_fail(L, &r[i], "a port is at most 65535");
        if (set_port(L, t, r[i].value, (uint32_t)wkp__up_def_find(L, r[i].target)) != 0)
            return -1;
    }
    return 0;
}

/* Depth-first walk of the next-protocol edges between user protocols:
 * an edge back to a protocol on the path is a cycle. */
static int walk(struct up_loader *L, uint32_t p, uint8_t *color, uint32_t *path, uint32_t depth)
{
    struct wkp_up_set *s = L->s;
    color[p] = 1;
    path[depth] = p;
    const struct up_prog *pg = &s->prog[s->proto[p].prog];
    uint32_t n = pg->nmap + pg->nheur + (pg->deflt >= 0);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t t = k < pg->nmap               ? (uint32_t)s->map[pg->map + k].target
                     : k < pg->nmap + pg->nheur ? (uint32_t)s->heur[pg->heur + k - pg->nmap].target
                                                : (uint32_t)pg->deflt;
        if (color[t] == 1) {
            char chain[256] = "";
            uint32_t from = 0;
            while (path[from] != t)
                from++;
            for (uint32_t i = from; i <= depth; i++) {
                strncat(chain, s->proto[path[i]].name, sizeof chain - strlen(chain) - 1);
                strncat(chain, " -> ", sizeof chain - strlen(chain) - 1);
            }
            strncat(chain, s->proto[t].name, sizeof chain - strlen(chain) - 1);
            yaml_node_t *at = L->next_node[p];
            return wkp__up_fail(L, L->defs[p].d, at ? at : L->defs[p].root, "routing cycle: %s",
                                chain);
        }
        if (color[t] == 0 && walk(L, t, color, path, depth + 1) != 0)
            return -1;
    }
    color[p] = 2;
    return 0;
}

static int check_cycles(struct up_loader *L)
{
    uint8_t color[WKP_UP_MAX_PROTOS] = {0};
    uint32_t path[WKP_UP_MAX_PROTOS];
    for (uint32_t p = 0; p < L->s->nproto; p++)
        if (!L->s->proto[p].builtin && color[p] == 0 && walk(L, p, color, path, 0) != 0)
            return -1;
    return 0;
}

/* A column for each user protocol that can be a layer: one that no other
 * protocol uses inside its fields, or one that something routes to (a
 * port, a next_protocol mapping, heuristic or default). A protocol used
 * only inside others has its fields in theirs and no column. */
static void assign_columns(struct up_loader *L)
{
    struct wkp_up_set *s = L->s;
    uint8_t target[WKP_UP_MAX_PROTOS] = {0};
    for (uint32_t p = 0; p < s->nproto; p++) {
        const struct up_prog *pg = &s->prog[s->proto[p].prog];
        if (s->proto[p].builtin)
            continue;
        for (uint32_t k = 0; k < pg->nmap; k++)
            target[s->map[pg->map + k].target] = 1;
        for (uint32_t k = 0; k < pg->nheur; k++)
            target[s->heur[pg->heur + k].target] = 1;
        if (pg->deflt >= 0)
            target[pg->deflt] = 1;
    }
    for (int t = 0; t < 2; t++)
        for (uint32_t port = 0; s->ports[t] && port < 65536; port++)
            if (s->ports[t][port])
                target[s->ports[t][port] - 1] = 1;
    for (uint32_t i = 0; i < s->nproto; i++) {
        if (s->proto[i].builtin || (L->sub_used[i] && !target[i]))
            continue;
        s->proto[i].col = (int32_t)s->ncols;
        s->cols[s->ncols++] = i;
    }
}

static int build(struct up_loader *L, const struct wkp_up_route *routes, size_t nroutes)
{
    struct wkp_up_set *s = L->s;
    if (check_link_types(L) != 0)
        return -1;
    if (!(s->proto = calloc(L->ndefs ? L->ndefs : 1, sizeof *s->proto)) ||
        !(L->next_node = calloc(L->ndefs ? L->ndefs : 1, sizeof *L->next_node)) ||
        !(L->sub_used = calloc(L->ndefs ? L->ndefs : 1, 1)))
        return wkp__up_oom(L);
    s->nproto = L->ndefs;
    for (uint32_t i = 0; i < L->ndefs; i++) {
        struct up_proto *p = &s->proto[i];
        p->builtin = wkp__up_builtin_name(L->defs[i].name);
        p->prog = -1;
        p->col = -1;
        if (!(p->name = strdup(L->defs[i].name)) || !(p->upper = strdup(L->defs[i].name)))
            return wkp__up_oom(L);
        for (char *c = p->upper; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
    }
    if (routes_pre(L, routes, nroutes) != 0)
        return -1;
    for (uint32_t i = 0; i < L->ndefs; i++) {
        L->prefix = NULL;
        int32_t pg = wkp__up_compile(L, i, NULL, L->defs[i].d, L->defs[i].root);
        if (pg < 0)
            return -1;
        s->proto[i].prog = pg;
    }
    if (routes_ports(L, routes, nroutes) != 0 || check_cycles(L) != 0)
        return -1;
    assign_columns(L);
    return 0;
}

static void loader_free(struct up_loader *L)
{
    for (uint32_t i = 0; i < L->ndocs; i++) {
        yaml_document_delete(&L->docs[i]->doc);
        free(L->docs[i]->file);
        free(L->docs[i]);
    }
    free(L->docs);
    free(L->defs);
    for (uint32_t i = 0; i < L->ninst; i++)
        free(L->inst[i].prefix);
    free(L->inst);
    free(L->extra);
    free(L->next_node);
    free(L->sub_used);
}

static int finish(struct up_loader *L, const struct wkp_up_route *routes, size_t nroutes,
                  struct wkp_up_set **out)
{
    if (!L->rc)
        build(L, routes, nroutes);
    loader_free(L);
    if (L->rc) {
        wkp_up_free(L->s);
        if (L->err && L->errlen) /* a message may quote a key or type with a line break */
            wkp_oneline(L->err, L->errlen);
        return L->rc;
    }
    *out = L->s;
    return 0;
}

int wkp_up_load(const char *const *dirs, size_t ndirs, const struct wkp_up_route *routes,
                size_t nroutes, struct wkp_up_set **out, char *err, size_t errlen)
{
    struct up_loader L = {.err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    if (!(L.s = calloc(1, sizeof *L.s)))
        return -2;
    for (size_t i = 0; i < ndirs && !L.rc; i++)
        add_dir(&L, dirs[i], (int)i);
    return finish(&L, routes, nroutes, out);
}

int wkp_up_load_texts(const char *const *names, const char *const *texts, size_t n,
                      const struct wkp_up_route *routes, size_t nroutes, struct wkp_up_set **out,
                      char *err, size_t errlen)
{
    struct up_loader L = {.err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    if (!(L.s = calloc(1, sizeof *L.s)))
        return -2;
    for (size_t i = 0; i < n && !L.rc; i++)
        add_text(&L, names[i], texts[i], strlen(texts[i]), 0);
    return finish(&L, routes, nroutes, out);
}

void wkp_up_free(struct wkp_up_set *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->nproto; i++) {
        free(s->proto[i].name);
        free(s->proto[i].upper);
    }
    for (uint32_t i = 0; i < s->nnames; i++)
        free(s->names[i]);
    free(s->names);
    free(s->proto);
    free(s->prog);
    free(s->op);
    free(s->bits);
    free(s->map);
    free(s->heur);
    free(s->cond);
    free(s->blob);
    free(s->rpn);
    free(s->ports[0]);
    free(s->ports[1]);
    free(s);
}

unsigned wkp_up_ncols(const struct wkp_up_set *s)
{
    return s ? s->ncols : 0;
}

unsigned wkp_up_col_proto(const struct wkp_up_set *s, unsigned col)
{
    return s->cols[col];
}

const char *wkp_up_proto_name(const struct wkp_up_set *s, unsigned proto)
{
    return proto < s->nproto ? s->proto[proto].name : NULL;
}

int wkp_up_find(const struct wkp_up_set *s, const char *name)
{
    for (uint32_t i = 0; s && i < s->nproto; i++)
        if (strcmp(s->proto[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *wkp_up_field_name(const struct wkp_up_set *s, unsigned name)
{
    return name < s->nnames ? s->names[name] : NULL;
}

int wkp_up_port_route(const struct wkp_up_set *s, uint8_t ipproto, uint16_t port)
{
    int t = ipproto == 6 ? 0 : ipproto == 17 ? 1 : -1;
    if (t < 0 || !s->ports[t] || !s->ports[t][port])
        return -1;
    return s->ports[t][port] - 1;
}
