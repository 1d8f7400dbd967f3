/* Application dissectors inside a worker: per-worker contexts, the pools
 * of per-flow state, and the probe / parse / finish steps the worker calls
 * (engine/worker.c decides when; dissectors/dissector.h says what each
 * callback may expect). Everything here belongs to one worker thread. */
#ifndef WKP_APPLAYER_H
#define WKP_APPLAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "dissectors/dissector.h"
#include "util/blocks.h"
#include "util/pool.h"

/* A flow's application-layer block: allocated from the worker's pool when
 * a dissector first claims the flow; a flow no dissector claimed has only
 * a NULL pointer to it. */
struct wkp_app_flow {
    void *state;        /* the claiming dissector's state; NULL: none claims the flow now */
    uint32_t matched;   /* bit i: dissector i claims the flow (flow keywords, columns) */
    uint32_t rejected;  /* bit i: dissector i answered NOT_MINE: never asked again */
    uint32_t fed[2];    /* stream input: bytes of each direction already given to parse */
    uint8_t idx;        /* the claiming dissector (registry index), valid with state */
    uint8_t done;       /* parse answered DONE: only finish and write are left */
    uint8_t own_streams; /* the flow's TCP streams were switched on for this claim */
};

struct wkp_app_worker {
    unsigned n; /* dissectors in use: wkp_ndissectors, or 0 (--app-layer none) */
    wkp_app_layer mode;
    void *ctx[WKP_MAX_DISSECTORS];        /* worker contexts (NULL: none needed) */
    struct wkp_pool states[WKP_MAX_DISSECTORS]; /* per dissector: its flow states */
    struct wkp_pool flows;                      /* struct wkp_app_flow blocks */
    void *out[WKP_MAX_DISSECTORS];              /* what wkp__app_states() returns */
    /* what worker_init gets: this worker's counters, the run's options */
    struct wkp_dis_env env[WKP_MAX_DISSECTORS];
    struct wkp_blocks blocks; /* the dissectors' small blocks (env.blocks) */
    uint64_t counters[WKP_MAX_DISSECTORS][WKP_DIS_MAX_COUNTERS];
};

/* Worker thread, before the first packet: contexts allocated, zeroed and
 * given to worker_init with the option values of each dissector (opts[i],
 * the engine's; may be NULL: none set). 0, or -1 (nothing left allocated). */
int wkp__app_worker_init(struct wkp_app_worker *a, wkp_app_layer mode,
                         const char *const (*opts)[WKP_DIS_MAX_OPTIONS]);
/* Worker thread, after the last flow ended: worker_fini, then the pools. */
void wkp__app_worker_fini(struct wkp_app_worker *a);

/* A packet with payload of a flow no dissector claims now (*slot NULL or
 * its state NULL): offer it to the dissectors of its transport, in
 * registry order, by the port rule and (--app-layer full) their probe.
 * Returns the index of the one that claimed it (its state is taken from
 * the pool, *slot allocated if needed), -1 if none did, -2 when out of
 * memory. */
int wkp__app_probe(struct wkp_app_worker *a, struct wkp_app_flow **slot,
                   const struct wkp_dis_pkt *p);

/* Give bytes to the flow's claiming dissector (af->state set, !af->done)
 * and apply its answer: DONE sets af->done; NOT_MINE gives the state back,
 * clears its matched bit and sets its rejected bit. */
enum wkp_dis_result wkp__app_parse(struct wkp_app_worker *a, struct wkp_app_flow *af,
                                   const struct wkp_dis_pkt *p, const uint8_t *data,
                                   uint32_t len);

/* Flow end: finish() for the claiming dissector. Call once per flow. */
void wkp__app_finish(struct wkp_app_worker *a, struct wkp_app_flow *af);

/* For serialisation: wkp_ndissectors state pointers (NULL where the
 * dissector does not claim the flow); af may be NULL. Valid until the
 * next call. */
void *const *wkp__app_states(struct wkp_app_worker *a, const struct wkp_app_flow *af);

/* Give the flow's state and block back to the pools; *slot becomes NULL. */
void wkp__app_release(struct wkp_app_worker *a, struct wkp_app_flow **slot);

#endif
