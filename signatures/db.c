/* Compiling the rules (interface in db.h). Without Hyperscan (WKP_HYPERSCAN
 * off, or the library not found) every load fails with one clear line, so
 * --signatures is refused before any packet is read. */
#include "signatures/db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/oneline.h"

#ifdef WKP_HAVE_SIGNATURES
#include <hs.h>
#include <openssl/evp.h>

#include "signatures/cache.h"

#define SIG_MODE HS_MODE_STREAM /* what is compiled, and so part of the cache key */

bool wkp_sigdb_supported(void)
{
    return true;
}

/* The cache's name for a compilation: SHA-256 of every input that shapes
 * the database (the CPU it is compiled for and Hyperscan's version
 * included). 0, or -1 (no cache then). */
static int cache_key(const char *const *expr, const unsigned *flags, const unsigned *ids,
                     const hs_expr_ext_t *const *extp, size_t n,
                     unsigned char key[WKP_SIGCACHE_KEY])
{
    hs_platform_info_t plat = {0};
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && hs_populate_platform(&plat) == HS_SUCCESS &&
             EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    static const char tag[] = "wa1kpcap signatures, stream mode, 1";
    const char *ver = hs_version();
    uint64_t head[5] = {SIG_MODE, plat.tune, plat.cpu_features, n, strlen(ver)};
    ok = ok && EVP_DigestUpdate(c, tag, sizeof tag) == 1 &&
         EVP_DigestUpdate(c, head, sizeof head) == 1 && EVP_DigestUpdate(c, ver, head[4]) == 1;
    for (size_t i = 0; ok && i < n; i++) {
        const hs_expr_ext_t *x = extp[i];
        uint64_t e[6] = {ids[i],
                         flags[i],
                         x ? x->flags : 0,
                         x ? x->min_offset : 0,
                         x ? x->max_offset : 0,
                         strlen(expr[i])};
        ok = EVP_DigestUpdate(c, e, sizeof e) == 1 && EVP_DigestUpdate(c, expr[i], e[5]) == 1;
    }
    unsigned len = 0;
    ok = ok && EVP_DigestFinal_ex(c, key, &len) == 1 && len == WKP_SIGCACHE_KEY;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

/* Compile the rules applying to direction bit `dir` into *out (NULL when
 * there are none), or read them from the cache in cache_dir (NULL: none;
 * *cached says which). 0, or -1 with err naming the rule Hyperscan
 * refused. */
static int compile_dir(const char *name, const struct wkp_sig_rules *r, unsigned dir,
                       const char *cache_dir, hs_database_t **out, bool *cached, char *err,
                       size_t errlen)
{
    *cached = false;
    *out = NULL;
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += (r->v[i].dir & dir) != 0;
    if (!n)
        return 0;
    const char **expr = malloc(n * sizeof *expr);
    unsigned *flags = malloc(n * sizeof *flags), *ids = malloc(n * sizeof *ids);
    hs_expr_ext_t *ext = calloc(n, sizeof *ext);
    const hs_expr_ext_t **extp = malloc(n * sizeof *extp);
    int rc = -1;
    if (!expr || !flags || !ids || !ext || !extp) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct wkp_sig_rule *u = &r->v[i];
        if (!(u->dir & dir))
            continue;
        expr[k] = u->pattern;
        ids[k] = (unsigned)i;
        /* Only a rule's first match is reported: single-match for every
         * rule lets Hyperscan stop tracking a pattern once it matched. */
        flags[k] = HS_FLAG_SINGLEMATCH;
        if (u->flags & WKP_SIG_CASELESS)
            flags[k] |= HS_FLAG_CASELESS;
        if (u->flags & WKP_SIG_DOTALL)
            flags[k] |= HS_FLAG_DOTALL;
        if (u->flags & WKP_SIG_MULTILINE)
            flags[k] |= HS_FLAG_MULTILINE;
        if (u->has_offset) {
            ext[k].flags |= HS_EXT_FLAG_MIN_OFFSET;
            ext[k].min_offset = u->offset;
        }
        if (u->has_depth) {
            ext[k].flags |= HS_EXT_FLAG_MAX_OFFSET;
            ext[k].max_offset = u->depth;
        }
        extp[k] = ext[k].flags ? &ext[k] : NULL;
        k++;
    }
    unsigned char key[WKP_SIGCACHE_KEY];
    bool keyed = cache_dir && cache_key(expr, flags, ids, extp, n, key) == 0;
    if (keyed && (*out = wkp_sigcache_load(cache_dir, key)) != NULL) {
        *cached = true;
        rc = 0;
        goto out;
    }
    hs_compile_error_t *ce = NULL;
    if (hs_compile_ext_multi(expr, flags, ids, extp, (unsigned)n, SIG_MODE, NULL, out, &ce) !=
        HS_SUCCESS) {
        if (ce && ce->expression >= 0 && (size_t)ce->expression < n) {
            const struct wkp_sig_rule *u = &r->v[ids[ce->expression]];
            snprintf(err, errlen, "%s:%u:%u: rule %u (%s): pattern rejected: %s", name, u->line,
                     u->column, u->id, u->name, ce->message);
        } else {
            snprintf(err, errlen, "%s: the rules do not compile: %s", name,
                     ce ? ce->message : "unknown error");
        }
        hs_free_compile_error(ce);
        *out = NULL;
        goto out;
    }
    if (keyed)
        (void)wkp_sigcache_store(cache_dir, key, *out); /* else compiled again next time */
    rc = 0;
out:
    free(expr);
    free(flags);
    free(ids);
    free(ext);
    free(extp);
    return rc;
}

static int build(const char *name, struct wkp_sig_rules *rules, const char *cache_dir,
                 struct wkp_sigdb **out, char *err, size_t errlen)
{
    struct wkp_sigdb *d = NULL;
    if (hs_valid_platform() != HS_SUCCESS) {
        snprintf(err, errlen, "%s: this CPU lacks the instructions Hyperscan needs (SSSE3)", name);
        goto fail;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto fail;
    }
    atomic_init(&d->refs, 1);
    d->rules = *rules;
    memset(rules, 0, sizeof *rules);
    for (unsigned k = 0; k < 2; k++) {
        hs_database_t *db;
        if (compile_dir(name, &d->rules, k ? WKP_SIG_DOWN : WKP_SIG_UP, cache_dir, &db,
                        &d->cached[k], err, errlen) != 0)
            goto fail;
        d->db[k] = db;
        d->horizon[k] = 0;
        for (size_t i = 0; i < d->rules.n; i++) {
            const struct wkp_sig_rule *u = &d->rules.v[i];
            if (!(u->dir & (k ? WKP_SIG_DOWN : WKP_SIG_UP)))
                continue;
            uint64_t h = u->has_depth ? u->depth : UINT64_MAX;
            if (h > d->horizon[k])
                d->horizon[k] = h;
        }
        if (!db)
            continue;
        if (hs_database_size(db, &d->db_bytes[k]) != HS_SUCCESS ||
            hs_stream_size(db, &d->stream_bytes[k]) != HS_SUCCESS ||
            hs_alloc_scratch(db, &d->proto) != HS_SUCCESS) {
            snprintf(err, errlen, "%s: Hyperscan could not set up the database (out of memory?)",
                     name);
            goto fail;
        }
    }
    *out = d;
    return 0;
fail:
    wkp_sig_rules_free(rules); /* empty once d holds them */
    wkp_sigdb_unref(d);
    wkp_oneline(err, errlen); /* the file's or a rule's name may hold a line break */
    return -1;
}

void wkp_sigdb_unref(struct wkp_sigdb *d)
{
    if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
        return;
    hs_free_database(d->db[0]);
    hs_free_database(d->db[1]);
    hs_free_scratch(d->proto);
    wkp_sig_rules_free(&d->rules);
    free(d);
}

int wkp_sigdb_load(const char *path, const char *cache_dir, struct wkp_sigdb **out, char *err,
                   size_t errlen)
{
    struct wkp_sig_rules r;
    if (wkp_sig_rules_load(path, &r, err, errlen) != 0)
        return -1;
    return build(path, &r, cache_dir, out, err, errlen);
}

int wkp_sigdb_from_text(const char *name, const char *text, size_t len, const char *cache_dir,
                        struct wkp_sigdb **out, char *err, size_t errlen)
{
    struct wkp_sig_rules r;
    if (wkp_sig_rules_parse(name, text, len, &r, err, errlen) != 0)
        return -1;
    return build(name, &r, cache_dir, out, err, errlen);
}

const char *wkp_sigdb_library_version(void)
{
    return hs_version();
}

#else /* no Hyperscan */

#define NO_SUPPORT                                                                                 \
    "this build has no signature support (built without Hyperscan or libyaml: "                    \
    "install libhyperscan-dev and libyaml-dev and configure with -DWKP_HYPERSCAN=ON)"

bool wkp_sigdb_supported(void)
{
    return false;
}

const char *wkp_sigdb_library_version(void)
{
    return NULL;
}

void wkp_sigdb_unref(struct wkp_sigdb *d)
{
    (void)d;
}

int wkp_sigdb_load(const char *path, const char *cache_dir, struct wkp_sigdb **out, char *err,
                   size_t errlen)
{
    (void)cache_dir, (void)out;
    snprintf(err, errlen, "%s: %s", path, NO_SUPPORT);
    wkp_oneline(err, errlen);
    return -1;
}

int wkp_sigdb_from_text(const char *name, const char *text, size_t len, const char *cache_dir,
                        struct wkp_sigdb **out, char *err, size_t errlen)
{
    (void)text, (void)len, (void)cache_dir, (void)out;
    snprintf(err, errlen, "%s: %s", name, NO_SUPPORT);
    wkp_oneline(err, errlen);
    return -1;
}

#endif

struct wkp_sigdb *wkp_sigdb_ref(struct wkp_sigdb *d)
{
    if (d)
        atomic_fetch_add(&d->refs, 1);
    return d;
}
