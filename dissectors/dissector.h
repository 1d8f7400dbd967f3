/* The application dissector interface.
 *
 * An application dissector is one .c file in dissectors/ that defines one
 * `const struct wkp_dissector` and one row in dissectors/registry.def. The
 * row is the only place a protocol is listed: its position gives the
 * dissector's index (its bit in a flow's matched mask, its column's place
 * among the protocol-family columns) and its name is the column name and
 * the flow-level filter keyword.
 *
 * Threading: every callback runs on the worker that owns the flow. The
 * per-worker context (worker_ctx_size bytes, zeroed, then worker_init) is
 * where a dissector keeps what is costly to make per flow (crypto contexts,
 * regex scratch); it is never shared between workers. The per-flow state
 * (flow_state_size bytes, zeroed) is taken from a per-worker pool only when
 * probe() accepts the flow, and given back after finish() and write(), or
 * at once when parse() answers NOT_MINE, or when a stopped run drops the
 * flow. A state may own heap memory only if release() frees it: the engine
 * calls release() each time it takes a state back, then reuses the block.
 *
 * Lifetime of a claim: probe() accepts -> parse() on each chunk until it
 * answers DONE or NOT_MINE -> finish() once when the flow ends (never after
 * NOT_MINE) -> write() when the flow's record is written. A flow is claimed
 * by one dissector at a time; after NOT_MINE the others may still claim it.
 *
 * Bytes handed to parse() are bounded by the cursor: a dissector reads only
 * through it and never keeps pointers into it after returning. */
#ifndef WKP_DISSECTOR_H
#define WKP_DISSECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissectors/cursor.h"
#include "util/buf.h"
#include "wa1kpcap/wa1kpcap.h"

struct wkp_blocks;

/* What parse() is given. */
enum wkp_dis_input {
    WKP_DIS_DATAGRAM, /* each packet's transport payload (UDP, or TCP segments as seen) */
    WKP_DIS_STREAM,   /* newly in-order bytes of one direction of a reassembled TCP stream */
};

/* What parse() answers. */
enum wkp_dis_result {
    WKP_DIS_MORE,     /* keep feeding this flow */
    WKP_DIS_DONE,     /* the fields are complete: no more calls but finish/write */
    WKP_DIS_NOT_MINE, /* not this protocol after all: the flow is unclaimed again */
};

/* Direction of a packet or stream chunk relative to the flow's first packet. */
enum wkp_dis_dir { WKP_DIS_UP = 0, WKP_DIS_DOWN = 1 };

/* What probe() and parse() see of the packet that carries the bytes. */
struct wkp_dis_pkt {
    uint8_t proto;                /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, ... */
    uint8_t dir;                  /* enum wkp_dis_dir */
    uint16_t sport, dport;        /* of this packet, as on the wire */
    uint16_t flow_sport, flow_dport; /* of the flow's first packet */
    int64_t ts_ns;
    const uint8_t *payload; /* captured transport payload of this packet */
    uint32_t payload_len;
    bool gap; /* stream chunks: bytes were lost right before this chunk */
};

/* What a worker gives each dissector's worker_init(): stable for the
 * worker's life, so a dissector keeps the pointer in its context. */
struct wkp_dis_env {
    /* ncounters counters, this worker's own; the engine sums them over the
     * workers into the run summary ("app_layer": {name: {counter: n}}) and
     * wkp_engine_app_counter(). */
    uint64_t *counters;
    /* noptions values, in the order of `options`: the text set with
     * wkp_config_set_app_option() (--app-option NAME[=VALUE]; "1" without a
     * value), NULL where unset. */
    const char *const *option_values;
    /* This worker's small blocks (util/blocks.h), shared by its dissectors:
     * for what a flow keeps of its content, given back by release(). */
    struct wkp_blocks *blocks;
};

/* An option a dissector accepts: `name` is fully qualified ("tls.cert_der")
 * so the listing and the error messages need no composition. */
struct wkp_dis_option {
    const char *name;
    const char *help; /* one line, for --help */
};

struct wkp_dissector {
    const char *name;     /* lower case: column name and filter keyword ("tls") */
    /* IPPROTO_TCP or IPPROTO_UDP; 0: both, each packet's payload (input
     * must then be WKP_DIS_DATAGRAM: parse() sees TCP segments as they
     * come, p->proto tells the transport, and the dissector frames the
     * bytes itself). */
    uint8_t transport;
    /* Other IP protocols instead of `transport` (NULL: `transport` says):
     * ICMP (1) and ICMPv6 (58) here mean parse() gets each packet's whole
     * ICMP message (type, code, checksum first) as a datagram. A row that
     * lists protocols and no ports is claimed on the protocol alone (its
     * port rule always holds). */
    const uint8_t *protos;
    size_t nprotos;
    const uint16_t *ports; /* well-known ports (either end), nports of them */
    size_t nports;
    enum wkp_dis_input input;
    size_t flow_state_size;
    size_t worker_ctx_size;

    /* Counters a dissector keeps per worker (short names: "malformed"),
     * and the options it accepts. */
    const char *const *counter_names;
    size_t ncounters;
    const struct wkp_dis_option *options;
    size_t noptions;

    /* Per worker, before the first packet / after the last flow ended.
     * init returns 0 or a negative value (the run fails). May be NULL
     * (then the dissector can neither count nor read its options). */
    int (*worker_init)(void *ctx, const struct wkp_dis_env *env);
    void (*worker_fini)(void *ctx);

    /* Does this flow look like ours? Called under WKP_APP_FULL only, for a
     * flow of `transport` not yet claimed, on its packets with payload
     * among its first WKP_DIS_PROBE_PACKETS. port_match: either end of the
     * flow is one of `ports`. Under WKP_APP_PORT_ONLY the engine accepts on
     * port_match alone without calling probe. NULL: the port rule only. */
    bool (*probe)(void *ctx, const struct wkp_dis_pkt *p, wkp_app_layer mode,
                  bool port_match);

    /* Bytes of a claimed flow: for a datagram dissector one packet's
     * captured payload, for a stream dissector a chunk of one direction's
     * in-order bytes (p is then the packet that made them in order; p->gap
     * says bytes are missing right before the chunk). The first call is on
     * the packet probe() accepted. Required. */
    enum wkp_dis_result (*parse)(void *ctx, void *state, const struct wkp_dis_pkt *p,
                                 struct wkp_cur *c);

    /* At flow end, before write. May be NULL. */
    void (*finish)(void *ctx, void *state);

    /* Append the flow's fields as one JSON value (normally an object) to
     * out; write nothing when there is nothing to say (the column is then
     * an empty CSV cell and the JSON key is left out). */
    void (*write)(const void *state, struct wkp_buf *out);

    /* Names this flow adds to its ext_protocol list, after the transport
     * ("TLS", "HTTPS"): at most max of them into names (static strings);
     * returns how many. May be NULL (nothing added). */
    size_t (*ext_protocol)(const void *state, const char **names, size_t max);

    /* The engine takes the state back: free what it owns. May be NULL. */
    void (*release)(void *ctx, void *state);
};

/* Does dissector d take packets of IP protocol proto? */
static inline bool wkp_dis_takes(const struct wkp_dissector *d, uint8_t proto)
{
    for (size_t k = 0; k < d->nprotos; k++)
        if (d->protos[k] == proto)
            return true;
    if (d->protos)
        return false;
    return d->transport ? d->transport == proto : proto == 6 || proto == 17; /* TCP, UDP */
}

/* A flow not claimed within its first this many packets is not probed
 * any more: probing costs per packet, and a protocol shows itself early. */
#define WKP_DIS_PROBE_PACKETS 32

/* The registry (dissectors/registry.c, rows from dissectors/registry.def,
 * then, in a test build, the rows of the file WKP_EXTRA_REGISTRY names). */
#define WKP_MAX_DISSECTORS 32
#define WKP_DIS_MAX_COUNTERS 8 /* per dissector */
#define WKP_DIS_MAX_OPTIONS 8  /* per dissector */
extern const struct wkp_dissector *const wkp_dissectors[];
extern const unsigned wkp_ndissectors;

/* Index of the dissector whose name is the n bytes at name, or -1. */
int wkp_dissector_find(const char *name, size_t n);

#endif
