/* Statistics blocks of one flow (see flowstats.h).
 *
 * IATs are exact: the difference of two integer-nanosecond timestamps,
 * converted to seconds once (the original subtracted two rounded double
 * timestamps, which leaves errors around 1e-7 s on 2025-era epochs).
 * up_iats and down_iats are the gaps between consecutive packets of the
 * same direction. */
#include "features/flowstats.h"
#include "util/nstime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const wkp_block_names[WKP_NBLOCKS] = {
    "packet_lengths", "ip_lengths", "trans_lengths", "app_lengths", "iats",
    "up_iats",        "down_iats",  "payload_bytes", "tcp_flags",   "tcp_window",
};

void wkp_flow_stats_scratch_free(struct wkp_flow_stats_scratch *s)
{
    free(s->v);
    s->v = NULL;
    s->cap = 0;
}

/* The value of each block for one packet record, given the previous
 * timestamps; NAN where the packet adds nothing to the block. */
static void values(struct wkp_flow_acc *a, const struct wkp_pkt_rec *r, bool tcp,
                   double v[WKP_NBLOCKS])
{
    double d = r->dir;
    v[WKP_BLK_PACKET_LENGTHS] = d * r->wire;
    v[WKP_BLK_IP_LENGTHS] = d * r->ip;
    v[WKP_BLK_TRANS_LENGTHS] = d * r->trans;
    v[WKP_BLK_APP_LENGTHS] = d * r->app;
    v[WKP_BLK_PAYLOAD_BYTES] = d * r->payload;
    v[WKP_BLK_TCP_FLAGS] = tcp ? (double)r->flags : NAN;
    v[WKP_BLK_TCP_WINDOW] = tcp ? (double)r->win : NAN;
    v[WKP_BLK_IATS] = a->have_prev ? wkp_ns_sub_s(r->ts_ns, a->prev_ts) : NAN;
    if (!a->have_prev)
        a->first_ts = r->ts_ns;
    a->last_ts = r->ts_ns;
    int di = r->dir > 0 ? 0 : 1;
    v[WKP_BLK_UP_IATS] = v[WKP_BLK_DOWN_IATS] = NAN;
    if (a->have_dir[di])
        v[di ? WKP_BLK_DOWN_IATS : WKP_BLK_UP_IATS] = wkp_ns_sub_s(r->ts_ns, a->prev_dir_ts[di]);
    a->prev_dir_ts[di] = r->ts_ns;
    a->have_dir[di] = 1;
    a->prev_ts = r->ts_ns;
    a->have_prev = 1;
}

void wkp_flow_acc_init(struct wkp_flow_acc *a)
{
    memset(a, 0, sizeof *a); /* also every block's wkp_block_acc_init */
}

void wkp_flow_acc_add(struct wkp_flow_acc *a, const struct wkp_pkt_rec *r, bool tcp)
{
    double v[WKP_NBLOCKS];
    values(a, r, tcp, v);
    for (int b = 0; b < WKP_NBLOCKS; b++)
        if (!isnan(v[b]))
            wkp_block_acc_add(&a->acc[b], v[b]);
}

/* The statistics of a block of one value x, as wkp_block_finish gives them
 * after one wkp_block_acc_add (no compensation, zero moments): the mean,
 * min, max, median and sum are |x|, spreads and shape are 0, and x's
 * direction (none for a zero) has one value. */
static void block_of_one(double x, struct wkp_block *out)
{
    double a = fabs(x), *v = out->v;
    memset(out, 0, sizeof *out);
    v[WKP_STAT_MEAN] = v[WKP_STAT_MIN] = v[WKP_STAT_MAX] = v[WKP_STAT_MEDIAN] = a;
    v[WKP_STAT_SUM] = a;
    v[WKP_STAT_COUNT] = 1.0;
    if (x == 0)
        return;
    int up = x > 0 ? WKP_STAT_UP_MEAN : WKP_STAT_DOWN_MEAN;
    /* up_mean, up_std, up_min, up_max, up_sum, up_count (down_* alike) */
    v[up] = v[up + 2] = v[up + 3] = v[up + 4] = a;
    v[up + 5] = 1.0;
}

/* A flow of one packet: most of a flood. The same numbers as the general
 * path below (tests/unit/test_stats.c compares them bit for bit). */
static void one_packet(const struct wkp_pkt_rec *r, bool tcp, struct wkp_flow_stats *out)
{
    struct wkp_flow_acc local;
    double v[WKP_NBLOCKS];
    local.have_prev = local.have_dir[0] = local.have_dir[1] = 0;
    values(&local, r, tcp, v);
    out->present = 0;
    for (int b = 0; b < WKP_NBLOCKS; b++) {
        if (isnan(v[b])) {
            memset(&out->blk[b], 0, sizeof out->blk[b]);
            continue;
        }
        out->present |= 1u << b;
        block_of_one(v[b], &out->blk[b]);
    }
    out->sc.packet_count = 1;
    out->sc.total_bytes = (uint64_t)fabs(v[WKP_BLK_PACKET_LENGTHS]);
    /* nothing down (0.0 by rule) or nothing up (0 / 1 packets, 0 / x bytes) */
    out->sc.up_down_pkt_ratio = out->sc.up_down_byte_ratio = 0.0;
    out->sc.duration = 0.0; /* no IAT, and the last timestamp is the first */
}

/* Blocks whose every value is another block's less a constant c, in the
 * same direction: ip_lengths of packet_lengths when every frame's link
 * header has one length, trans_lengths of ip_lengths when every IP header
 * does, payload_bytes of app_lengths (c = 0) when every payload is counted.
 * Such a block's accumulator follows from its source's with no pass of its
 * own: the accumulator works on a - k, k the first value, and (a - c) -
 * (k - c) = a - k exactly for the integers lengths are (below 2^53), so its
 * mean of a - k and central moments are the same bits; k, min, max and the
 * median move by c, and each sum (exact: integers) by its count times c.
 * With no zero value in either block (c may be negative, so both are
 * checked), every value keeps its direction. */
static const struct {
    uint8_t blk, from;
} derivable[] = {
    {WKP_BLK_IP_LENGTHS, WKP_BLK_PACKET_LENGTHS},
    {WKP_BLK_TRANS_LENGTHS, WKP_BLK_IP_LENGTHS},
    {WKP_BLK_PAYLOAD_BYTES, WKP_BLK_APP_LENGTHS},
};
#define NDERIVABLE         (sizeof derivable / sizeof derivable[0])
#define DERIVE_MAX_RECORDS ((size_t)1 << 20) /* sums stay below 2^52: 2^20 values < 2^32 */

/* The magnitude of block b's value in r, b one of the length blocks. */
static inline uint32_t length_of(const struct wkp_pkt_rec *r, int b)
{
    switch (b) {
    case WKP_BLK_PACKET_LENGTHS: return r->wire;
    case WKP_BLK_IP_LENGTHS: return r->ip;
    case WKP_BLK_TRANS_LENGTHS: return r->trans;
    case WKP_BLK_APP_LENGTHS: return r->app;
    default: return r->payload;
    }
}

/* Does r keep derivable[i] (constant c, taken from the first record)? */
static inline bool keeps(const struct wkp_pkt_rec *r, size_t i, int64_t c)
{
    uint32_t to = length_of(r, derivable[i].blk), from = length_of(r, derivable[i].from);
    return (int64_t)from - (int64_t)to == c && (c == 0 || (to != 0 && from != 0));
}

static void shift_acc(const struct wkp_block_acc *from, double c, struct wkp_block_acc *to)
{
    *to = *from;
    to->all.k -= c;
    to->all.min -= c;
    to->all.max -= c;
    to->all.sum -= (double)to->all.n * c;
    for (int d = 0; d < 3; d++) {
        if (!to->dir[d].n)
            continue;
        to->dir[d].k -= c;
        to->dir[d].min -= c;
        to->dir[d].max -= c;
        to->dir[d].sum -= (double)to->dir[d].n * c;
    }
}

int wkp_flow_stats_compute(const struct wkp_seq *seq, bool tcp, const struct wkp_flow_acc *all,
                           struct wkp_flow_stats_scratch *scratch, struct wkp_flow_stats *out)
{
    size_t n = (size_t)seq->stored;
    if (n == 1 && !all) {
        struct wkp_seq_it it = wkp_seq_first(seq);
        (void)wkp_seq_more(&it);
        one_packet(it.r, tcp, out);
        return 0;
    }
    if (scratch->cap < n * WKP_NBLOCKS) {
        size_t cap = n * WKP_NBLOCKS + 64;
        double *v = realloc(scratch->v, cap * sizeof *v);
        if (!v)
            return -1;
        scratch->v = v;
        scratch->cap = cap;
    }
    /* One pass: each block's values go to its median column and, when no
     * streaming state covers the whole flow, to a local accumulator. The
     * derivable blocks are left out while every record keeps their
     * constant; one that a record breaks is filled by a pass of its own. */
    struct wkp_flow_acc local;
    wkp_flow_acc_init(&local);
    size_t cnt[WKP_NBLOCKS] = {0};
    double *col[WKP_NBLOCKS];
    for (int b = 0; b < WKP_NBLOCKS; b++)
        col[b] = scratch->v + (size_t)b * n;
    bool derive = !all && n >= 2 && n <= DERIVE_MAX_RECORDS;
    unsigned broken = 0; /* bits of derivable[] */
    int64_t c[NDERIVABLE] = {0};
    if (derive) {
        struct wkp_seq_it it = wkp_seq_first(seq);
        (void)wkp_seq_more(&it);
        for (size_t i = 0; i < NDERIVABLE; i++)
            c[i] = (int64_t)length_of(it.r, derivable[i].from) -
                   (int64_t)length_of(it.r, derivable[i].blk);
    }
    for (struct wkp_seq_it it = wkp_seq_first(seq); wkp_seq_more(&it); wkp_seq_next(&it)) {
        double v[WKP_NBLOCKS];
        values(&local, it.r, tcp, v);
        for (size_t i = 0; derive && i < NDERIVABLE; i++) {
            broken |= (unsigned)!keeps(it.r, i, c[i]) << i;
            v[derivable[i].blk] = NAN;
        }
        for (int b = 0; b < WKP_NBLOCKS; b++) {
            if (isnan(v[b]))
                continue;
            col[b][cnt[b]++] = v[b];
            if (!all)
                wkp_block_acc_add(&local.acc[b], v[b]);
        }
    }
    /* A block a record broke: its own pass, in record order as above. */
    for (size_t i = 0; i < NDERIVABLE; i++) {
        if (!(broken >> i & 1))
            continue;
        int b = derivable[i].blk;
        for (struct wkp_seq_it it = wkp_seq_first(seq); wkp_seq_more(&it); wkp_seq_next(&it)) {
            double x = (double)it.r->dir * (double)length_of(it.r, b);
            col[b][cnt[b]++] = x;
            wkp_block_acc_add(&local.acc[b], x);
        }
    }
    unsigned derived = derive ? ~broken : 0;
    const struct wkp_flow_acc *src = all ? all : &local;
    double median[WKP_NBLOCKS];
    out->present = 0;
    for (int b = 0; b < WKP_NBLOCKS; b++) {
        size_t i = 0;
        while (i < NDERIVABLE && !(derived >> i & 1 && derivable[i].blk == b))
            i++;
        if (i < NDERIVABLE) /* its source comes first in block order */
            shift_acc(&local.acc[derivable[i].from], (double)c[i], &local.acc[b]);
        const struct wkp_block_acc *acc = &src->acc[b];
        if (!acc->all.n) {
            memset(&out->blk[b], 0, sizeof out->blk[b]);
            continue;
        }
        out->present |= 1u << b;
        median[b] = i < NDERIVABLE ? median[derivable[i].from] - (double)c[i]
                                   : wkp_median_abs(col[b], cnt[b]);
        wkp_block_finish(acc, median[b], &out->blk[b]);
    }
    const struct wkp_block_acc *iats = &src->acc[WKP_BLK_IATS];
    wkp_scalars_compute(&src->acc[WKP_BLK_PACKET_LENGTHS], iats->all.n ? iats : NULL, 0.0,
                        wkp_ns_sub_s(src->last_ts, src->first_ts), &out->sc);
    return 0;
}
