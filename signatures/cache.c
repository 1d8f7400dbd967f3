/* Compiled signature databases kept on disk (interface in cache.h). */
#include "signatures/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *wkp_sigcache_default_dir(char *out, size_t n)
{
    const char *v = getenv("WKP_CACHE_DIR");
    int len;
    if (v)
        len = *v ? snprintf(out, n, "%s", v) : -1;
    else if ((v = getenv("XDG_CACHE_HOME")) && *v == '/')
        len = snprintf(out, n, "%s/wa1kpcap", v);
    else if ((v = getenv("HOME")) && *v == '/')
        len = snprintf(out, n, "%s/.cache/wa1kpcap", v);
    else
        len = -1;
    return len > 0 && (size_t)len < n ? out : NULL;
}

#ifdef WKP_HAVE_SIGNATURES
#include <hs.h>

#define MAX_DB_BYTES ((size_t)1 << 30) /* a larger file is not ours */

/* What a store leaves in the directory (see prune). */
#define KEEP_FILES        64                /* the databases used last */
#define KEEP_SECONDS      (30 * 24 * 3600L) /* unused longer: removed */
#define STALE_TMP_SECONDS 3600L             /* a write that old was abandoned */

static int path_of(char *out, size_t n, const char *dir, const unsigned char *key,
                   const char *suffix)
{
    char hex[2 * WKP_SIGCACHE_KEY + 1];
    for (int i = 0; i < WKP_SIGCACHE_KEY; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    int len = snprintf(out, n, "%s/%s%s", dir, hex, suffix);
    return len > 0 && (size_t)len < n ? 0 : -1;
}

/* All n bytes read into p (writing: written from p); -1 on an error or
 * an early end. */
static int io_all(int fd, char *p, size_t n, bool writing)
{
    while (n) {
        ssize_t r = writing ? write(fd, p, n) : read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Ours alone: owned by this user, writable by no one else. A file there
 * is loaded as Hyperscan bytecode, which checks it for damage, not for
 * intent; so a directory or file someone else could have written (a
 * shared directory, or root running with a user's HOME) is not used. */
static bool ours(const struct stat *st)
{
    return st->st_uid == geteuid() && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static bool dir_is_ours(const char *dir)
{
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && ours(&st);
}

hs_database_t *wkp_sigcache_load(const char *dir, const unsigned char key[WKP_SIGCACHE_KEY])
{
    char path[4096];
    if (!dir || path_of(path, sizeof path, dir, key, ".hsdb") != 0 || !dir_is_ours(dir))
        return NULL;
    /* not through a link, and never blocked on a FIFO */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    hs_database_t *db = NULL;
    struct stat st;
    char *bytes = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ours(&st) && st.st_size > 0 &&
        (uint64_t)st.st_size <= MAX_DB_BYTES && (bytes = malloc((size_t)st.st_size)) &&
        io_all(fd, bytes, (size_t)st.st_size, false) == 0 &&
        hs_deserialize_database(bytes, (size_t)st.st_size, &db) != HS_SUCCESS)
        db = NULL; /* another version's or a damaged file: compiled again */
    if (db)
        (void)futimens(fd, NULL); /* its time is when it was last used (see prune) */
    free(bytes);
    close(fd);
    return db;
}

/* dir and, if missing, its parent (the usual ~/.cache). */
static int make_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -1;
    char parent[4096];
    int len = snprintf(parent, sizeof parent, "%s", dir);
    char *slash = len > 0 && (size_t)len < sizeof parent ? strrchr(parent, '/') : NULL;
    if (!slash || slash == parent)
        return -1;
    *slash = '\0';
    if (mkdir(parent, 0700) != 0 && errno != EEXIST)
        return -1;
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* 1 for a database's name (64 hex digits, ".hsdb"), 2 for a write's
 * temporary name (the same, ".<pid>.tmp"), 0 for anything else. */
static int name_kind(const char *name)
{
    int i = 0;
    while (i < 2 * WKP_SIGCACHE_KEY &&
           ((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
        i++;
    if (i != 2 * WKP_SIGCACHE_KEY || strncmp(name + i, ".hsdb", 5) != 0)
        return 0;
    const char *p = name + i + 5;
    if (*p == '\0')
        return 1;
    if (*p++ != '.' || *p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return strcmp(p, ".tmp") == 0 ? 2 : 0;
}

struct kept {
    time_t mtime;
    char name[2 * WKP_SIGCACHE_KEY + 6];
};

/* Newest first; names break ties, so the order does not depend on the
 * directory's. */
static int newest_first(const void *a, const void *b)
{
    const struct kept *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* After a store: the directory keeps the KEEP_FILES databases used last
 * (a load sets a file's time), none unused for KEEP_SECONDS, and no
 * temporary file older than STALE_TMP_SECONDS (a writer killed mid-write).
 * Only regular files of this user that no one else can write, with the
 * names this file gives, are removed; `fresh` (the name just written)
 * never is. Best effort: a file that cannot be removed stays. */
static void prune(const char *dir, const char *fresh)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    int dfd = dirfd(d);
    time_t now = time(NULL);
    struct kept *v = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        int kind = name_kind(e->d_name);
        struct stat st;
        if (!kind || strcmp(e->d_name, fresh) == 0 ||
            fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            !ours(&st))
            continue;
        if (kind == 2) {
            if (now - st.st_mtime > STALE_TMP_SECONDS)
                (void)unlinkat(dfd, e->d_name, 0);
            continue;
        }
        if (now - st.st_mtime > KEEP_SECONDS) {
            (void)unlinkat(dfd, e->d_name, 0);
            continue;
        }
        if (n == cap) {
            size_t c = cap ? 2 * cap : 128;
            struct kept *w = realloc(v, c * sizeof *w);
            if (!w)
                break;
            v = w;
            cap = c;
        }
        v[n].mtime = st.st_mtime;
        memcpy(v[n].name, e->d_name, sizeof v[n].name); /* kind 1: exactly that long */
        n++;
    }
    if (n > KEEP_FILES - 1) { /* the fresh file is one of the KEEP_FILES */
        qsort(v, n, sizeof *v, newest_first);
        for (size_t i = KEEP_FILES - 1; i < n; i++)
            (void)unlinkat(dfd, v[i].name, 0);
    }
    free(v);
    closedir(d);
}

int wkp_sigcache_store(const char *dir, const unsigned char key[WKP_SIGCACHE_KEY],
                       const hs_database_t *db)
{
    char path[4096], tmp[4096], suffix[48];
    snprintf(suffix, sizeof suffix, ".hsdb.%ld.tmp", (long)getpid());
    if (!dir || path_of(path, sizeof path, dir, key, ".hsdb") != 0 ||
        path_of(tmp, sizeof tmp, dir, key, suffix) != 0 || make_dir(dir) != 0 || !dir_is_ours(dir))
        return -1;
    char *bytes = NULL;
    size_t n = 0;
    if (hs_serialize_database(db, &bytes, &n) != HS_SUCCESS)
        return -1;
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        rc = io_all(fd, bytes, n, true);
        if (close(fd) != 0)
            rc = -1;
        if (rc == 0)
            rc = rename(tmp, path);
        if (rc != 0)
            unlink(tmp);
    }
    if (rc == 0)
        prune(dir, strrchr(path, '/') + 1);
    free(bytes); /* hs_serialize_database uses the misc allocator: malloc by default */
    return rc;
}

#endif
