/* User protocols inside a worker (userproto/ does the parsing): the
 * worker's record and its pool of per-flow blocks. Everything here
 * belongs to one worker thread. */
#ifndef WKP_USERLAYER_H
#define WKP_USERLAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "dissectors/dissector.h"
#include "userproto/userproto.h"

struct wkp_up_worker {
    struct wkp_up_rec *rec;   /* NULL: no user protocols loaded */
    struct wkp_up_flow *free; /* blocks to reuse */
    uint64_t layers;          /* user layers parsed */
    uint64_t capped;          /* values a flow's caps or a record's capacity left out */
};

/* Worker thread, before the first packet (s may be NULL). 0 or -1. */
int wkp__up_worker_init(struct wkp_up_worker *u, const struct wkp_up_set *s);
void wkp__up_worker_fini(struct wkp_up_worker *u);

/* The user protocol a packet of a flow that no built-in dissector claims
 * is routed to (destination port, then source port), or -1: always -1
 * unless application parsing is full (port_only and none never reach
 * user protocols). */
int wkp__up_route(const struct wkp_up_set *s, wkp_app_layer mode, const struct wkp_dis_pkt *p);

/* Parse the packet's payload as protocol `proto` and merge its layers
 * into the flow's block (*slot, taken from the pool on first use).
 * false: out of memory. */
bool wkp__up_packet(struct wkp_up_worker *u, const struct wkp_up_set *s, int proto,
                    const struct wkp_dis_pkt *p, struct wkp_up_flow **slot);

/* Give the flow's block back; *slot becomes NULL. */
void wkp__up_release(struct wkp_up_worker *u, struct wkp_up_flow **slot);

#endif
