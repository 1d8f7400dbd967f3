/* User protocols inside a worker (interface in userlayer.h).
 *
 * A flow pays for user layers only when a packet of it is routed to one:
 * then a block of fixed size (WKP_UP_FLOW_VALUES fields, WKP_UP_FLOW_BYTES
 * bytes) comes from the worker's free list, and each later packet's
 * record is merged into it, first value wins per field. What does not fit
 * is counted, never grown: a flow's user state is bounded. */
#include "engine/userlayer.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int wkp__up_worker_init(struct wkp_up_worker *u, const struct wkp_up_set *s)
{
    memset(u, 0, sizeof *u);
    if (!s)
        return 0;
    if (!(u->rec = malloc(sizeof *u->rec)) || wkp_up_rec_init(s, u->rec) != 0) {
        free(u->rec);
        u->rec = NULL;
        return -1;
    }
    return 0;
}

void wkp__up_worker_fini(struct wkp_up_worker *u)
{
    if (u->rec)
        wkp_up_rec_fini(u->rec);
    free(u->rec);
    u->rec = NULL;
    while (u->free) {
        struct wkp_up_flow *n = u->free->next_free;
        free(u->free);
        u->free = n;
    }
}

int wkp__up_route(const struct wkp_up_set *s, wkp_app_layer mode, const struct wkp_dis_pkt *p)
{
    if (!s || mode != WKP_APP_FULL || !p->payload_len)
        return -1;
    int t = wkp_up_port_route(s, p->proto, p->dport);
    return t >= 0 ? t : wkp_up_port_route(s, p->proto, p->sport);
}

bool wkp__up_packet(struct wkp_up_worker *u, const struct wkp_up_set *s, int proto,
                    const struct wkp_dis_pkt *p, struct wkp_up_flow **slot)
{
    unsigned n = wkp_up_parse(s, (unsigned)proto, p->payload, p->payload_len, u->rec);
    u->capped += u->rec->capped;
    u->rec->capped = 0;
    if (!n)
        return true;
    u->layers += n;
    struct wkp_up_flow *f = *slot;
    if (!f) {
        f = u->free;
        if (f)
            u->free = f->next_free;
        else if (!(f = malloc(sizeof *f)))
            return false;
        memset(f, 0, offsetof(struct wkp_up_flow, v));
        *slot = f;
    }
    u->capped += wkp_up_flow_merge(f, u->rec);
    return true;
}

void wkp__up_release(struct wkp_up_worker *u, struct wkp_up_flow **slot)
{
    struct wkp_up_flow *f = *slot;
    if (!f)
        return;
    f->next_free = u->free;
    u->free = f;
    *slot = NULL;
}
