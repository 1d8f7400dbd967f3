/* Output sinks: files (CSV, JSON array, NDJSON, or none) and C callbacks.
 * Written by the merger thread only, in output order.
 *
 * A regular file (or a name that does not exist yet) is written under a
 * temporary name in the same directory and renamed over the final name only
 * when the run succeeded, so a failed or stopped run never leaves a
 * complete-looking file behind. A symlink is resolved first and its target
 * treated by its type. Anything else (stdout, a device, a FIFO) is written
 * directly: renaming over it would replace it. A live capture's output is
 * written in place and flushed after each record: its flows are read as
 * they end. Every write, flush and close
 * is checked; the first error ends the run as "PATH: write error: ..."
 * (docs/design.md, "Output files and stopping"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/internal.h"
#include "util/oneline.h"

wkp_status wkp_format_parse(const char *name, wkp_format *out)
{
    static const struct {
        const char *n;
        wkp_format f;
    } names[] = {{"csv", WKP_FMT_CSV},
                 {"json", WKP_FMT_JSON},
                 {"ndjson", WKP_FMT_NDJSON},
                 {"jsonl", WKP_FMT_NDJSON},
                 {"none", WKP_FMT_NONE}};
    if (!name || !out)
        return WKP_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].n) == 0) {
            *out = names[i].f;
            return WKP_OK;
        }
    return WKP_EINVAL;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

wkp_format wkp_format_from_path(const char *path)
{
    if (path && (ends_with(path, ".json")))
        return WKP_FMT_JSON;
    if (path && (ends_with(path, ".ndjson") || ends_with(path, ".jsonl")))
        return WKP_FMT_NDJSON;
    return WKP_FMT_CSV;
}

wkp_status wkp_sink_file_new(const char *path, wkp_format fmt, wkp_sink **out, wkp_errbuf *err)
{
    if (!path || !out || fmt < WKP_FMT_CSV || fmt > WKP_FMT_NONE || !*path) {
        if (err)
            snprintf(err->msg, sizeof err->msg, "invalid sink arguments");
        return WKP_EINVAL;
    }
    wkp_sink *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        if (err)
            snprintf(err->msg, sizeof err->msg, "out of memory");
        return WKP_ENOMEM;
    }
    s->fmt = fmt;
    *out = s;
    return WKP_OK;
}

wkp_status wkp_sink_packets_new(const char *path, wkp_format fmt, wkp_sink **out, wkp_errbuf *err)
{
    if (fmt != WKP_FMT_CSV && fmt != WKP_FMT_NDJSON) {
        if (err) {
            snprintf(err->msg, sizeof err->msg, "%s: the packet sink writes csv or ndjson",
                     path ? path : "");
            wkp_oneline(err->msg, sizeof err->msg); /* the path may hold a line break */
        }
        return WKP_EINVAL;
    }
    wkp_status st = wkp_sink_file_new(path, fmt, out, err);
    if (st == WKP_OK)
        (*out)->packets = true;
    return st;
}

wkp_status wkp_sink_callback_new(wkp_flow_fn cb, void *user, wkp_sink **out)
{
    if (!cb || !out)
        return WKP_EINVAL;
    wkp_sink *s = calloc(1, sizeof *s);
    if (!s)
        return WKP_ENOMEM;
    s->fmt = WKP_FMT_NONE;
    s->cb = cb;
    s->cb_user = user;
    *out = s;
    return WKP_OK;
}

void wkp__sink_destroy(struct wkp_sink *s)
{
    if (!s)
        return;
    if (s->fp && s->fp != stdout)
        fclose(s->fp);
    if (s->tmp_path)
        unlink(s->tmp_path);
    free(s->tmp_path);
    free(s->target);
    free(s->path);
    free(s->ob);
    free(s);
}

void wkp_sink_free(wkp_sink *s)
{
    /* an engine's sink is freed by wkp_engine_free: freeing it here too
     * would free it twice */
    if (s && !s->owned)
        wkp__sink_destroy(s);
}

/* Follow symlinks from path to a name that is not one (it may not exist):
 * a relative link is relative to the link's directory. NULL and errno set
 * on failure (ELOOP after 40 links, like the kernel). Caller frees. */
static char *resolve_links(const char *path)
{
    char *p = strdup(path);
    for (int hops = 0; p; hops++) {
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode))
            return p; /* absent or not a link: this is the target */
        if (hops == 40) {
            free(p);
            errno = ELOOP;
            return NULL;
        }
        char link[PATH_MAX];
        ssize_t n = readlink(p, link, sizeof link - 1);
        if (n < 0) {
            free(p);
            return NULL;
        }
        link[n] = '\0';
        const char *slash = strrchr(p, '/');
        size_t dir = link[0] == '/' || !slash ? 0 : (size_t)(slash - p) + 1;
        char *next = malloc(dir + (size_t)n + 1);
        if (next) {
            memcpy(next, p, dir);
            memcpy(next + dir, link, (size_t)n + 1);
        }
        free(p);
        p = next;
    }
    return NULL;
}

/* Remember the first error of a sink; later calls keep it. */
static void sink_fail(struct wkp_sink *s, int e)
{
    if (!s->err_no)
        s->err_no = e ? e : EIO;
}

#define SINK_OB_CAP ((size_t)1 << 20)

static void sink_fwrite(struct wkp_sink *s, const void *p, size_t n)
{
    if (!s->err_no && n && fwrite(p, 1, n, s->fp) != n)
        sink_fail(s, errno);
}

/* Hand the waiting text to fp. */
static void sink_drain(struct wkp_sink *s)
{
    sink_fwrite(s, s->ob, s->ob_len);
    s->ob_len = 0;
}

static void sink_put(struct wkp_sink *s, const void *p, size_t n)
{
    if (!s->ob) {
        sink_fwrite(s, p, n);
        return;
    }
    if (s->ob_len + n > SINK_OB_CAP) {
        sink_drain(s);
        if (n >= SINK_OB_CAP) {
            sink_fwrite(s, p, n);
            return;
        }
    }
    memcpy(s->ob + s->ob_len, p, n);
    s->ob_len += n;
}

/* Open the temporary file beside s->target; keep an existing file's mode
 * and, where allowed, its owner (a new file gets 0644). */
static wkp_status open_temporary(struct wkp_sink *s, const struct stat *old, wkp_errbuf *err)
{
    size_t n = strlen(s->target);
    s->tmp_path = malloc(n + 16);
    if (!s->tmp_path)
        return WKP_ENOMEM;
    /* same directory as the final name, so rename() is atomic */
    const char *slash = strrchr(s->target, '/');
    size_t dir = slash ? (size_t)(slash - s->target) + 1 : 0;
    memcpy(s->tmp_path, s->target, dir);
    snprintf(s->tmp_path + dir, n + 16 - dir, ".%s.XXXXXX", s->target + dir);
    int fd = mkstemp(s->tmp_path);
    if (fd < 0) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot create: %s", s->path, strerror(errno));
        free(s->tmp_path);
        s->tmp_path = NULL;
        return WKP_EIO;
    }
    if (old) {
        if (fchown(fd, old->st_uid, old->st_gid) != 0) {
            /* not ours to give away: the file becomes the caller's */
        }
        fchmod(fd, old->st_mode & 07777);
    } else {
        fchmod(fd, 0644);
    }
    s->fp = fdopen(fd, "w");
    if (!s->fp) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot create: %s", s->path, strerror(errno));
        close(fd);
        unlink(s->tmp_path);
        free(s->tmp_path);
        s->tmp_path = NULL;
        return WKP_EIO;
    }
    return WKP_OK;
}

/* Open a FIFO for writing once it has a reader, polling so that a stop
 * (a signal handler calling wkp_engine_stop) is seen while waiting: a
 * blocking open would not return on a signal restarted by SA_RESTART.
 * -1 with errno EINTR when stopped. */
static int open_fifo(const char *path, _Atomic int *stop)
{
    for (;;) {
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            int fl = fcntl(fd, F_GETFL);
            if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
            }
            return fd;
        }
        if (errno != ENXIO) /* ENXIO: no reader yet */
            return -1;
        if (atomic_load(stop)) {
            errno = EINTR;
            return -1;
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
}

wkp_status wkp__sink_open(struct wkp_sink *s, _Atomic int *stop, wkp_errbuf *err)
{
    if (s->cb || s->fmt == WKP_FMT_NONE)
        return WKP_OK;
    s->err_no = 0;
    if (strcmp(s->path, "-") == 0) {
        s->fp = stdout;
    } else {
        free(s->target);
        s->target = resolve_links(s->path);
        if (!s->target) {
            int e = errno ? errno : ENOMEM;
            snprintf(err->msg, sizeof err->msg, "%s: cannot open: %s", s->path, strerror(e));
            return e == ENOMEM ? WKP_ENOMEM : WKP_EIO;
        }
        struct stat st;
        bool exists = stat(s->target, &st) == 0;
        wkp_status rc = WKP_OK;
        if (!s->live && (!exists || S_ISREG(st.st_mode))) {
            rc = open_temporary(s, exists ? &st : NULL, err);
        } else {
            /* a device, a FIFO (waits for its reader), a directory
             * (refused by open): written in place, never replaced */
            free(s->target);
            s->target = NULL;
            int fd = exists && S_ISFIFO(st.st_mode)
                         ? open_fifo(s->path, stop)
                         : open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
            if (fd < 0 && errno == EINTR) {
                snprintf(err->msg, sizeof err->msg, "%s", WKP_STOPPED_MSG);
                rc = WKP_ESTOPPED;
            } else if (fd < 0 || !(s->fp = fdopen(fd, "w"))) {
                snprintf(err->msg, sizeof err->msg, "%s: cannot open: %s", s->path,
                         strerror(errno));
                if (fd >= 0)
                    close(fd);
                rc = WKP_EIO;
            }
        }
        if (rc != WKP_OK) {
            free(s->target);
            s->target = NULL;
            return rc;
        }
    }
    s->ob_len = 0;
    if (!s->ob)
        s->ob = malloc(SINK_OB_CAP); /* NULL: fp's own buffer does */
    /* a file of ours needs no second buffer: each mebibyte is one write
     * (stdout's buffering is the program's, left as it is) */
    if (s->ob && s->fp != stdout)
        setvbuf(s->fp, NULL, _IONBF, 0);
    if (s->fmt == WKP_FMT_CSV) {
        struct wkp_buf b = {0};
        if (s->packets)
            wkp__packets_csv_header(&b);
        else
            wkp__csv_header(&b, s->cfg);
        if (b.oom)
            sink_fail(s, ENOMEM);
        sink_put(s, b.p, b.len);
        wkp_buf_free(&b);
    } else if (s->fmt == WKP_FMT_JSON) {
        sink_put(s, "[", 1);
    }
    return WKP_OK;
}

int wkp__sink_text(const struct wkp_sink *s)
{
    if (s->cb || s->fmt == WKP_FMT_NONE)
        return -1;
    if (s->packets)
        return s->fmt == WKP_FMT_CSV ? WKP_TXT_PKT_CSV : WKP_TXT_PKT_NDJSON;
    return s->fmt == WKP_FMT_CSV    ? WKP_TXT_CSV
           : s->fmt == WKP_FMT_JSON ? WKP_TXT_JSON
                                    : WKP_TXT_NDJSON;
}

/* 0 written, > 0 the callback asked to stop, < 0 a write error (the
 * first one is kept for wkp__sink_close's message). */
int wkp__sink_write(struct wkp_sink *s, const struct wkp_flow *f)
{
    if (f->arp_row && !s->packets)
        return 0; /* an ARP row is no flow: only packet sinks write it */
    if (s->cb)
        return s->cb(f, s->cb_user) ? 1 : 0;
    if (!s->fp)
        return 0;
    int t = wkp__sink_text(s);
    if (t < 0)
        return 0;
    if (s->fmt == WKP_FMT_JSON)
        sink_put(s, s->written ? ",\n" : "\n", s->written ? 2 : 1);
    sink_put(s, f->text[t], f->text_len[t]);
    if (s->live) {
        sink_drain(s);
        if (!s->err_no && fflush(s->fp) != 0)
            sink_fail(s, errno);
    }
    if (s->err_no)
        return -1;
    s->written++;
    return 0;
}

/* Finish the sink: the JSON footer if the run succeeded, flush, close.
 * Returns WKP_EIO with "PATH: write error: ..." in err if any write, flush
 * or close of this sink failed, whatever success says. */
wkp_status wkp__sink_finish(struct wkp_sink *s, bool success, wkp_errbuf *err)
{
    if (s->fp) {
        if (success && s->fmt == WKP_FMT_JSON)
            sink_put(s, s->written ? "\n]\n" : "]\n", s->written ? 3 : 2);
        sink_drain(s);
        if (fflush(s->fp) != 0)
            sink_fail(s, errno);
        if (s->fp != stdout && fclose(s->fp) != 0)
            sink_fail(s, errno);
        s->fp = NULL;
    }
    if (s->err_no) {
        snprintf(err->msg, sizeof err->msg, "%s: write error: %s", s->path, strerror(s->err_no));
        return WKP_EIO;
    }
    return WKP_OK;
}

/* Rename the temporary into place if commit (the run succeeded and every
 * sink finished cleanly), else remove it. Direct targets have nothing to
 * do: what was written stays written. */
wkp_status wkp__sink_commit(struct wkp_sink *s, bool commit, wkp_errbuf *err)
{
    if (!s->tmp_path)
        return WKP_OK;
    wkp_status st = WKP_OK;
    if (commit && rename(s->tmp_path, s->target) != 0) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot rename the output into place: %s", s->path,
                 strerror(errno));
        st = WKP_EIO;
        commit = false;
    }
    if (!commit)
        unlink(s->tmp_path);
    free(s->tmp_path);
    s->tmp_path = NULL;
    return st;
}

wkp_status wkp__sink_close(struct wkp_sink *s, bool success, wkp_errbuf *err)
{
    wkp_status st = wkp__sink_finish(s, success, err);
    wkp_status cs = wkp__sink_commit(s, success && st == WKP_OK, err);
    return st != WKP_OK ? st : cs;
}
