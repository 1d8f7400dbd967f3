/* Live capture: packets from a network interface through libpcap.
 *
 * A live capture is a capfile without a file: pcap_create() and
 * pcap_activate() on the interface (TPACKET_V3 ring on Linux, immediate
 * mode off, a 100 ms read timeout, read non-blocking with a poll of our
 * own), nanosecond timestamps where the kernel gives them. Records are copied by the reader like
 * the libpcap reader's. When no packet came within the timeout, next() answers WKP_CAPFILE_IDLE
 * with the wall-clock time, so that idle flows end on time while the interface is quiet. The
 * capture ends (0, as at the end of a file) when the run's end flag is raised, after `count`
 * packets, or once `duration` has passed. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/internal.h"

#define LIVE_TIMEOUT_MS 100
#define LIVE_SNAPLEN    262144

static int64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * NS_PER_S + t.tv_nsec;
}

static wkp_status live_fail(struct wkp_capfile *cf, pcap_t *pc, int rc, wkp_errbuf *err)
{
    const char *why = rc == PCAP_ERROR ? pcap_geterr(pc) : pcap_statustostr(rc);
    const char *detail =
        rc == PCAP_ERROR_NO_SUCH_DEVICE || rc == PCAP_ERROR_PERM_DENIED ? pcap_geterr(pc) : "";
    wkp__cf_say(err, "%s: cannot capture: %s%s%s", cf->path, why, *detail ? ": " : "", detail);
    return rc == PCAP_ERROR_PERM_DENIED ? WKP_EIO : WKP_EINVAL;
}

wkp_status wkp_capfile_open_live(const char *iface, const struct wkp_live_cfg *lc,
                                 const _Atomic int *stop, const _Atomic int *end,
                                 struct wkp_capfile **out, wkp_errbuf *err)
{
    if (iface == NULL || *iface == '\0' || lc == NULL || out == NULL) {
        wkp__cf_say(err, "wkp_capfile_open_live: invalid argument");
        return WKP_EINVAL;
    }
    struct wkp_capfile *cf = wkp__cf_new(iface, stop, err);
    if (cf == NULL)
        return WKP_ENOMEM;
    cf->live = true;
    cf->live_end = end;
    cf->live_limit = lc->count;
    cf->live_deadline = lc->duration_ns > 0 ? wall_ns() + lc->duration_ns : INT64_MAX;
    cf->digits = 9;

    char eb[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = pcap_create(iface, eb);
    if (pc == NULL) {
        wkp__cf_say(err, "%s: cannot capture: %s", iface, eb);
        wkp_capfile_close(cf);
        return WKP_EINVAL;
    }
    cf->pc = pc;
    pcap_set_snaplen(pc, lc->snaplen > 0 ? lc->snaplen : LIVE_SNAPLEN);
    pcap_set_promisc(pc, lc->promisc ? 1 : 0);
    pcap_set_timeout(pc, LIVE_TIMEOUT_MS);
    pcap_set_immediate_mode(pc, 0);
    if (lc->buffer_bytes > 0)
        pcap_set_buffer_size(pc, lc->buffer_bytes);
    if (pcap_set_tstamp_precision(pc, PCAP_TSTAMP_PRECISION_NANO) != 0)
        cf->digits = 6;
    int rc = pcap_activate(pc);
    if (rc < 0) {
        wkp_status st = live_fail(cf, pc, rc, err);
        wkp_capfile_close(cf);
        return st;
    }
    cf->digits = pcap_get_tstamp_precision(pc) == PCAP_TSTAMP_PRECISION_NANO ? 9 : 6;
    /* libpcap's TPACKET_V3 read waits without a timeout while no packet
     * comes; next() polls with one instead */
    if (pcap_get_selectable_fd(pc) < 0 || pcap_setnonblock(pc, 1, eb) != 0) {
        wkp__cf_say(err, "%s: cannot capture: no pollable descriptor (%s)", iface, eb);
        wkp_capfile_close(cf);
        return WKP_EINVAL;
    }
    cf->first_dlt = pcap_datalink(pc);
    wkp_status st = wkp__cf_check_dlt(iface, cf->first_dlt, "", err);
    if (st != WKP_OK) {
        wkp_capfile_close(cf);
        return st;
    }
    *out = cf;
    return WKP_OK;
}

int wkp__live_next(struct wkp_capfile *cf, struct wkp_rec *rec, wkp_errbuf *err)
{
    if ((cf->live_end && atomic_load_explicit(cf->live_end, memory_order_relaxed)) ||
        (cf->live_limit && cf->npackets >= cf->live_limit))
        return 0;
    int64_t now = wall_ns();
    if (now >= cf->live_deadline)
        return 0;
    if (cf->stop && atomic_load_explicit(cf->stop, memory_order_relaxed)) {
        wkp__cf_say(err, "%s: stopped", cf->path);
        return WKP_ESTOPPED;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    int r = pcap_next_ex(cf->pc, &h, &d);
    if (r == 0) {
        /* non-blocking: wait for the kernel to hand over a block (it does so
         * within the read timeout of its first packet), at most that long */
        struct pollfd pfd = {.fd = pcap_get_selectable_fd(cf->pc), .events = POLLIN};
        if (poll(&pfd, 1, LIVE_TIMEOUT_MS) > 0)
            r = pcap_next_ex(cf->pc, &h, &d);
    }
    if (r == 1) {
        rec->data = d;
        rec->caplen = h->caplen;
        rec->wirelen = h->len;
        int64_t frac = (int64_t)h->ts.tv_usec * (cf->digits == 9 ? 1 : 1000);
        rec->ts_ns = ns_saturate((__int128)h->ts.tv_sec * NS_PER_S + frac);
        rec->dlt = cf->first_dlt;
        cf->off += h->caplen;
        return 1;
    }
    if (r == 0) { /* the read timeout: nothing came */
        rec->data = NULL;
        rec->caplen = rec->wirelen = 0;
        rec->ts_ns = now;
        rec->dlt = cf->first_dlt;
        return WKP_CAPFILE_IDLE;
    }
    if (r == PCAP_ERROR_BREAK)
        return 0;
    wkp__cf_say(err, "%s: capture failed: %s", cf->path, pcap_geterr(cf->pc));
    return WKP_EIO;
}

bool wkp_capfile_live_stats(const struct wkp_capfile *cf, uint64_t *received, uint64_t *dropped,
                            uint64_t *if_dropped)
{
    struct pcap_stat ps;
    if (cf == NULL || !cf->live || cf->pc == NULL || pcap_stats(cf->pc, &ps) != 0)
        return false;
    *received = ps.ps_recv;
    *dropped = ps.ps_drop;
    *if_dropped = ps.ps_ifdrop;
    return true;
}
