/* Compiled signature databases kept on disk (docs/signatures.md, "The
 * compiled-rules cache").
 *
 * Compiling a rules file takes Hyperscan from some 10 ms (a few dozen
 * rules) to seconds (thousands); reading back the serialised database
 * takes well under a millisecond. So db.c names what it compiles by a
 * SHA-256 of everything the compilation depends on (the patterns, their
 * flags, ids and offsets, the mode, Hyperscan's version and the CPU it
 * compiles for) and keeps the result as DIR/<hex>.hsdb. A file that is
 * missing, unreadable or refused by Hyperscan is compiled again and
 * rewritten; a directory that cannot be made or written only costs the
 * compilation. Files are written under a temporary name and renamed, so
 * runs that share the directory never read half a file. A load sets the
 * file's time; a store then keeps the 64 files used last and none unused
 * for 30 days (or a temporary file over an hour old). Only a directory
 * and files owned by the user running and writable by no one else are
 * used: what is read is loaded as Hyperscan bytecode.
 *
 * Calling thread only; no state of its own. */
#ifndef WKP_SIG_CACHE_H
#define WKP_SIG_CACHE_H

#include <stddef.h>

struct hs_database;

#define WKP_SIGCACHE_KEY 32 /* SHA-256 */

/* The default directory into out (n bytes): $WKP_CACHE_DIR, else
 * $XDG_CACHE_HOME/wa1kpcap, else $HOME/.cache/wa1kpcap. Returns out, or
 * NULL when none applies (WKP_CACHE_DIR set to "", no HOME, or too long):
 * no cache then. */
const char *wkp_sigcache_default_dir(char *out, size_t n);

/* The database kept under key in dir, or NULL (none, or unusable). */
struct hs_database *wkp_sigcache_load(const char *dir, const unsigned char key[WKP_SIGCACHE_KEY]);

/* Keep db under key in dir, making dir (and its parent) if needed, mode
 * 0700, then prune dir's older files. 0, or -1 if it could not (nothing is
 * left behind then). */
int wkp_sigcache_store(const char *dir, const unsigned char key[WKP_SIGCACHE_KEY],
                       const struct hs_database *db);

#endif
