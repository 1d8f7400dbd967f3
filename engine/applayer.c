/* Application dissectors inside a worker (interface in applayer.h).
 *
 * Only the worker thread that owns a flow touches its block and state, and
 * only that worker uses its contexts and pools: no locks. The one idea: a
 * flow pays for the application layer only once a dissector claims it.
 * Until then it carries one NULL pointer and is probed on its packets with
 * payload; the claim takes a block and a zeroed state from the worker's
 * pools (util/pool.h: no allocator header per block, no malloc per claim
 * once the slabs are made), and the flow's end puts both back. */
#include "engine/applayer.h"

#include <stdlib.h>
#include <string.h>

/* State sizes are rounded up to this, so a reused block suits any member. */
#define APP_ALIGN 16

static size_t state_bytes(const struct wkp_dissector *d)
{
    size_t n = d->flow_state_size ? d->flow_state_size : 1;
    return (n + APP_ALIGN - 1) / APP_ALIGN * APP_ALIGN;
}

int wkp__app_worker_init(struct wkp_app_worker *a, wkp_app_layer mode,
                         const char *const (*opts)[WKP_DIS_MAX_OPTIONS])
{
    static const char *const no_options[WKP_DIS_MAX_OPTIONS];
    memset(a, 0, sizeof *a);
    a->mode = mode;
    if (mode == WKP_APP_NONE)
        return 0;
    wkp_pool_init(&a->flows, sizeof(struct wkp_app_flow));
    for (unsigned i = 0; i < wkp_ndissectors; i++) {
        const struct wkp_dissector *d = wkp_dissectors[i];
        wkp_pool_init(&a->states[i], state_bytes(d));
        if (d->ncounters > WKP_DIS_MAX_COUNTERS || d->noptions > WKP_DIS_MAX_OPTIONS ||
            (d->transport == 0 && d->input != WKP_DIS_DATAGRAM))
            goto fail;
        a->env[i].counters = a->counters[i];
        a->env[i].option_values = opts ? opts[i] : no_options;
        a->env[i].blocks = &a->blocks;
        if (d->worker_ctx_size && !(a->ctx[i] = calloc(1, d->worker_ctx_size)))
            goto fail;
        a->n = i + 1; /* fini undoes exactly the dissectors set up so far */
        if (d->worker_init && d->worker_init(a->ctx[i], &a->env[i]) != 0) {
            free(a->ctx[i]);
            a->ctx[i] = NULL;
            a->n = i;
            goto fail;
        }
    }
    return 0;
fail:
    wkp__app_worker_fini(a);
    return -1;
}

void wkp__app_worker_fini(struct wkp_app_worker *a)
{
    for (unsigned i = 0; i < a->n; i++) {
        const struct wkp_dissector *d = wkp_dissectors[i];
        if (d->worker_fini)
            d->worker_fini(a->ctx[i]);
        free(a->ctx[i]);
        a->ctx[i] = NULL;
        wkp_pool_fini(&a->states[i]);
    }
    wkp_pool_fini(&a->flows);
    wkp_blocks_fini(&a->blocks);
    a->n = 0;
}

/* A zeroed state for dissector i, from its pool. */
static void *take_state(struct wkp_app_worker *a, unsigned i)
{
    void *s = wkp_pool_take(&a->states[i]);
    if (s)
        memset(s, 0, a->states[i].size);
    return s;
}

static void give_state(struct wkp_app_worker *a, unsigned i, void *s)
{
    if (wkp_dissectors[i]->release)
        wkp_dissectors[i]->release(a->ctx[i], s);
    wkp_pool_give(&a->states[i], s);
}

static bool port_match(const struct wkp_dissector *d, const struct wkp_dis_pkt *p)
{
    if (d->protos && !d->nports)
        return true; /* claimed on its protocol (ICMP): no ports to match */
    for (size_t k = 0; k < d->nports; k++)
        if (d->ports[k] == p->flow_sport || d->ports[k] == p->flow_dport)
            return true;
    return false;
}

static bool accepts(const struct wkp_app_worker *a, unsigned i, const struct wkp_dis_pkt *p)
{
    const struct wkp_dissector *d = wkp_dissectors[i];
    bool by_port = port_match(d, p);
    if (a->mode == WKP_APP_PORT_ONLY || !d->probe)
        return by_port;
    return d->probe(a->ctx[i], p, a->mode, by_port);
}

/* Claim the flow for dissector i: a block if it has none, a fresh state. */
static int claim(struct wkp_app_worker *a, struct wkp_app_flow **slot, unsigned i)
{
    struct wkp_app_flow *af = *slot;
    if (!af) {
        if (!(af = wkp_pool_take(&a->flows)))
            return -2;
        memset(af, 0, sizeof *af);
        *slot = af;
    }
    if (!(af->state = take_state(a, i)))
        return -2;
    af->idx = (uint8_t)i;
    af->done = 0;
    af->fed[0] = af->fed[1] = 0;
    af->matched |= 1u << i;
    return (int)i;
}

int wkp__app_probe(struct wkp_app_worker *a, struct wkp_app_flow **slot,
                   const struct wkp_dis_pkt *p)
{
    uint32_t rejected = *slot ? (*slot)->rejected : 0;
    for (unsigned i = 0; i < a->n; i++) {
        if (!wkp_dis_takes(wkp_dissectors[i], p->proto) || (rejected >> i & 1u))
            continue;
        if (accepts(a, i, p))
            return claim(a, slot, i);
    }
    return -1;
}

enum wkp_dis_result wkp__app_parse(struct wkp_app_worker *a, struct wkp_app_flow *af,
                                   const struct wkp_dis_pkt *p, const uint8_t *data,
                                   uint32_t len)
{
    const struct wkp_dissector *d = wkp_dissectors[af->idx];
    struct wkp_cur c = {.p = data, .len = len};
    enum wkp_dis_result r = d->parse(a->ctx[af->idx], af->state, p, &c);
    if (r == WKP_DIS_DONE) {
        af->done = 1;
    } else if (r == WKP_DIS_NOT_MINE) {
        give_state(a, af->idx, af->state);
        af->state = NULL;
        af->matched &= ~(1u << af->idx);
        af->rejected |= 1u << af->idx;
    }
    return r;
}

void wkp__app_finish(struct wkp_app_worker *a, struct wkp_app_flow *af)
{
    if (!af || !af->state)
        return;
    const struct wkp_dissector *d = wkp_dissectors[af->idx];
    if (d->finish)
        d->finish(a->ctx[af->idx], af->state);
}

void *const *wkp__app_states(struct wkp_app_worker *a, const struct wkp_app_flow *af)
{
    memset(a->out, 0, sizeof a->out);
    if (af && af->state)
        a->out[af->idx] = af->state;
    return a->out;
}

void wkp__app_release(struct wkp_app_worker *a, struct wkp_app_flow **slot)
{
    struct wkp_app_flow *af = *slot;
    if (!af)
        return;
    if (af->state)
        give_state(a, af->idx, af->state);
    af->state = NULL;
    wkp_pool_give(&a->flows, af);
    *slot = NULL;
}
