/* Packets pushed one by one: the caller hands packets to a running engine
 * instead of naming a capture.
 *
 * The engine already reads a capture from a socket (wkp_engine_run_fd), so
 * a pusher is a socket pair: wkp_push_start writes a pcap file header
 * (nanosecond timestamps) into one end and runs the engine on the other on
 * a thread it starts; each push appends a record to a 1 MiB buffer, sent
 * when full (one send per buffer, not per packet; MSG_NOSIGNAL: a run that
 * ended is an error, not a SIGPIPE); wkp_push_finish sends the rest and
 * shuts the end down, which is the capture's end, and joins the run. A full
 * socket blocks the pusher: the engine's backpressure reaches the caller.
 * The pusher is used by one thread; the sinks' callbacks run on the
 * engine's merger thread. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/internal.h"

struct wkp_pusher {
    wkp_engine *e;
    int rd;
    int wr;       /* our end of the socket pair */
    uint8_t *buf; /* records not yet sent */
    size_t len;
    pthread_t t;
    char *name;
    wkp_status st; /* the run's status, once joined */
    bool failed;   /* a write failed: the engine stopped reading */
};

static void *push_run(void *arg)
{
    struct wkp_pusher *p = arg;
    p->st = wkp_engine_run_fd(p->e, p->rd, p->name);
    /* nothing more is read: a blocked or later write fails (EPIPE) instead of waiting */
    close(p->rd);
    p->rd = -1;
    return NULL;
}

#define PUSH_BUF (1u << 20)

static bool flush(struct wkp_pusher *p)
{
    for (size_t off = 0; off < p->len;) {
        ssize_t n = send(p->wr, p->buf + off, p->len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        off += (size_t)n;
    }
    p->len = 0;
    return true;
}

static bool put(struct wkp_pusher *p, const void *v, size_t n)
{
    if (p->len + n > PUSH_BUF && !flush(p))
        return false;
    if (n > PUSH_BUF) { /* larger than the buffer: straight through */
        const uint8_t *b = v;
        for (size_t off = 0; off < n;) {
            ssize_t k = send(p->wr, b + off, n - off, MSG_NOSIGNAL);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                return false;
            off += (size_t)k;
        }
        return true;
    }
    memcpy(p->buf + p->len, v, n);
    p->len += n;
    return true;
}

static bool put32(struct wkp_pusher *p, uint32_t v)
{
    return put(p, &v, 4); /* host order: the magic tells the reader which */
}

wkp_status wkp_push_start(wkp_engine *e, int linktype, const char *name, wkp_pusher **out)
{
    if (!e || !out || linktype < 0)
        return WKP_EINVAL;
    struct wkp_pusher *p = calloc(1, sizeof *p);
    int fds[2] = {-1, -1};
    if (!p || !(p->name = strdup(name && *name ? name : "-")) || !(p->buf = malloc(PUSH_BUF))) {
        if (p) {
            free(p->name);
            free(p->buf);
        }
        free(p);
        wkp__set_error(e, "wkp_push_start: out of memory");
        return WKP_ENOMEM;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        wkp__set_error(e, "wkp_push_start: %s", strerror(errno));
        free(p->name);
        free(p->buf);
        free(p);
        return WKP_EIO;
    }
    p->e = e;
    p->rd = fds[0];
    p->wr = fds[1];
    /* pcap file header: magic (ns), version 2.4, zone, sigfigs, snaplen, link type */
    put32(p, 0xa1b23c4du);
    put(p, "\2\0\4\0", 4);
    put32(p, 0);
    put32(p, 0);
    put32(p, 262144);
    put32(p, (uint32_t)linktype);
    if (pthread_create(&p->t, NULL, push_run, p) != 0) {
        close(p->rd);
        close(p->wr);
        free(p->name);
        free(p->buf);
        free(p);
        wkp__set_error(e, "wkp_push_start: cannot start the run");
        return WKP_ENOMEM;
    }
    *out = p;
    return WKP_OK;
}

wkp_status wkp_push_packet(wkp_pusher *p, int64_t ts_ns, const void *data, uint32_t caplen,
                           uint32_t wirelen)
{
    if (!p || (!data && caplen) || caplen > 262144 || wirelen < caplen || ts_ns < 0)
        return WKP_EINVAL;
    if (p->failed)
        return WKP_ESTATE;
    int64_t sec = ts_ns / 1000000000, ns = ts_ns % 1000000000;
    if (sec > UINT32_MAX)
        return WKP_EINVAL;
    bool ok = put32(p, (uint32_t)sec) && put32(p, (uint32_t)ns) && put32(p, caplen) &&
              put32(p, wirelen) && (!caplen || put(p, data, caplen));
    if (!ok) {
        p->failed = true; /* the run ended (stopped or failed): wkp_push_finish says why */
        return WKP_ESTATE;
    }
    return WKP_OK;
}

wkp_status wkp_push_finish(wkp_pusher *p)
{
    if (!p)
        return WKP_EINVAL;
    if (!p->failed)
        flush(p);             /* a failure shows in the run's status */
    shutdown(p->wr, SHUT_WR); /* the reader sees the end of the capture */
    pthread_join(p->t, NULL);
    close(p->wr);
    free(p->buf);
    wkp_status st = p->st;
    free(p->name);
    free(p);
    return st;
}
