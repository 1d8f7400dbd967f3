/* The compiled signature database: the rules of a file compiled once per
 * run into two Hyperscan streaming databases, one per direction (a rule
 * bound to `up` is only in the first, `down` only in the second, `any` in
 * both), and a scratch prototype each worker clones.
 *
 * Built on the thread that configures the engine; afterwards read-only and
 * shared by every worker (Hyperscan databases may be scanned from any
 * number of threads, each with its own scratch). Reference-counted: a
 * configuration and each engine made from it hold one reference. */
#ifndef WKP_SIG_DB_H
#define WKP_SIG_DB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "signatures/rules.h"

struct hs_database;
struct hs_scratch;

struct wkp_sigdb {
    _Atomic unsigned refs;
    struct wkp_sig_rules rules; /* Hyperscan ids are indexes into rules.v */
    struct hs_database *db[2];  /* [0] up, [1] down; NULL: no rule for that direction */
    struct hs_scratch *proto;   /* fits both databases; NULL when both are */
    size_t db_bytes[2];         /* hs_database_size */
    size_t stream_bytes[2];     /* hs_stream_size: the state of one open stream */
    bool cached[2];             /* read from the compiled-rules cache (cache.h), not compiled */
    /* per direction: the largest `depth` of its rules when every one has
     * one (no match can end later), else UINT64_MAX */
    uint64_t horizon[2];
};

/* Does this build scan signatures (Hyperscan and libyaml found)? */
bool wkp_sigdb_supported(void);
/* Hyperscan's version text ("5.4.0 2023-01-18"), or NULL without it. */
const char *wkp_sigdb_library_version(void);

/* Load the rules file at path and compile it, or read what an earlier
 * compilation of the same rules kept in cache_dir (signatures/cache.h;
 * NULL: no cache). 0 and *out (one reference; wkp_sigdb_unref frees it),
 * or -1 with one line in err: the rules file's problem (file:line:column),
 * a pattern Hyperscan rejects (the rule's id and Hyperscan's message), or
 * a build without signature support. */
int wkp_sigdb_load(const char *path, const char *cache_dir, struct wkp_sigdb **out, char *err,
                   size_t errlen);

/* The same from rules text (`name` for messages); tests use it. */
int wkp_sigdb_from_text(const char *name, const char *text, size_t len, const char *cache_dir,
                        struct wkp_sigdb **out, char *err, size_t errlen);

/* One more reference (any thread); returns db. */
struct wkp_sigdb *wkp_sigdb_ref(struct wkp_sigdb *db);
/* Drop a reference; the last one frees the databases. NULL is a no-op. */
void wkp_sigdb_unref(struct wkp_sigdb *db);

#endif
