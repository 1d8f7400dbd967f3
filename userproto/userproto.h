/* User protocols: definitions in YAML (docs/userproto.md), loaded once
 * when an engine is created and compiled into a flat program per
 * protocol, then interpreted by the workers.
 *
 * Threads: the set is built on the thread that creates the engine and is
 * read-only afterwards, shared by every worker. A record (wkp_up_rec) and
 * the flow blocks belong to one worker. Parsing a packet allocates
 * nothing and looks nothing up by name: field names are small integers
 * fixed at load time, mappings are sorted arrays, ports index a table. */
#ifndef WKP_USERPROTO_H
#define WKP_USERPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct wkp_up_set;

/* Bounds of one packet's record and of one flow's merged fields. */
#define WKP_UP_REC_VALUES  256  /* values of all user layers of one packet */
#define WKP_UP_REC_BYTES   8192 /* bytes of their text, byte and list values */
#define WKP_UP_MAX_LAYERS  8    /* user layers stacked in one packet */
#define WKP_UP_FLOW_VALUES 32   /* fields a flow keeps over all its user layers */
#define WKP_UP_FLOW_BYTES  512  /* bytes of their text, byte and list values */
#define WKP_UP_FLOW_PROTOS 8    /* user protocols one flow names in ext_protocol */
#define WKP_UP_MAX_PROTOS  128  /* protocols one set may hold */

/* What a value is: how its bytes are written. */
enum wkp_up_kind {
    WKP_UP_UINT,
    WKP_UP_INT,
    WKP_UP_IPV4,
    WKP_UP_IPV6,
    WKP_UP_MAC,
    WKP_UP_BYTES,
    WKP_UP_HEX,
    WKP_UP_STRING,
    WKP_UP_LIST_INT, /* n int64 values, native order */
    WKP_UP_LIST_STR, /* items: 2-byte native length, then the bytes */
    WKP_UP_LIST_BYTES,
};

/* One value of a packet's record: integers in i, the others in
 * rec->bytes[off, off + len). */
struct wkp_up_val {
    uint16_t name; /* interned field name (wkp_up_field_name) */
    uint8_t kind;  /* enum wkp_up_kind */
    uint8_t layer; /* index into rec->layer */
    uint32_t off, len;
    int64_t i;
};

/* A worker's scratch record for one packet: fixed capacity, reused. */
struct wkp_up_rec {
    uint32_t n, used;
    uint32_t gen; /* current layer's generation, see stamp */
    uint32_t nlayers;
    uint16_t layer[WKP_UP_MAX_LAYERS]; /* the protocol of each layer */
    uint64_t capped;                   /* values that did not fit in the record */
    uint32_t *stamp;                   /* per name: gen when set in the current layer */
    uint16_t *slot;                    /* per name: its index in v, valid when stamped */
    struct wkp_up_val v[WKP_UP_REC_VALUES];
    uint8_t bytes[WKP_UP_REC_BYTES];
};

/* A flow's user fields, first value wins per (protocol, field). */
struct wkp_up_fval {
    uint8_t proto, kind;
    uint16_t name;
    uint16_t off, len;
    int64_t i;
};
struct wkp_up_flow {
    struct wkp_up_flow *next_free;
    uint16_t n, used;
    uint8_t nproto;
    uint8_t proto[WKP_UP_FLOW_PROTOS]; /* in the order first seen */
    struct wkp_up_fval v[WKP_UP_FLOW_VALUES];
    uint8_t bytes[WKP_UP_FLOW_BYTES];
};

/* A routing entry: parent ("udp", "tcp" or a loaded protocol), the value
 * of the parent's next-protocol field (a port for udp and tcp), the
 * protocol it leads to. */
struct wkp_up_route {
    const char *parent;
    uint64_t value;
    const char *target;
};

/* Load every *.yaml / *.yml of each directory (link_types.yaml first, then
 * name order; a later directory replaces a protocol an earlier one
 * defined), add the routes, compile. 0 and *out set, or -1 (out of
 * memory: -2) with one line in err ("dir/x.yaml:3:7: unknown key 'sise'").
 * Called before any packet is read. */
int wkp_up_load(const char *const *dirs, size_t ndirs, const struct wkp_up_route *routes,
                size_t nroutes, struct wkp_up_set **out, char *err, size_t errlen);
/* The same from texts in memory (tests, fuzzing): files[i] is named
 * names[i] in messages. */
int wkp_up_load_texts(const char *const *names, const char *const *texts, size_t n,
                      const struct wkp_up_route *routes, size_t nroutes, struct wkp_up_set **out,
                      char *err, size_t errlen);
void wkp_up_free(struct wkp_up_set *s); /* NULL is a no-op */

/* Protocols with an output column (not built into the engine), in load
 * order; wkp_up_col_proto gives each one's protocol index. */
unsigned wkp_up_ncols(const struct wkp_up_set *s);
unsigned wkp_up_col_proto(const struct wkp_up_set *s, unsigned col);
const char *wkp_up_proto_name(const struct wkp_up_set *s, unsigned proto);
int wkp_up_find(const struct wkp_up_set *s, const char *name); /* protocol index or -1 */
const char *wkp_up_field_name(const struct wkp_up_set *s, unsigned name);

/* The protocol routed from TCP (proto 6) or UDP (17) port `port`, or -1. */
int wkp_up_port_route(const struct wkp_up_set *s, uint8_t ipproto, uint16_t port);

/* Record storage for one worker: 0, or -1 out of memory. */
int wkp_up_rec_init(const struct wkp_up_set *s, struct wkp_up_rec *r);
void wkp_up_rec_fini(struct wkp_up_rec *r);

/* Parse data as protocol `proto` and the layers its next_protocol leads
 * to, into r (cleared first). Returns the number of layers that read at
 * least one field. */
unsigned wkp_up_parse(const struct wkp_up_set *s, unsigned proto, const uint8_t *data, uint32_t len,
                      struct wkp_up_rec *r);

/* Merge a packet's record into a flow (zeroed block on first use):
 * returns the values that did not fit the flow's caps. */
uint32_t wkp_up_flow_merge(struct wkp_up_flow *f, const struct wkp_up_rec *r);
/* The flow's fields of protocol `proto` as one JSON object; nothing if
 * the flow never had that layer. */
void wkp_up_flow_write(const struct wkp_up_set *s, const struct wkp_up_flow *f, unsigned proto,
                       struct wkp_buf *b);
/* The protocols of the flow's user layers, upper-cased, in the order seen:
 * at most max names (owned by the set). */
size_t wkp_up_flow_ext(const struct wkp_up_set *s, const struct wkp_up_flow *f, const char **names,
                       size_t max);
/* Write one record value as JSON (tests and flow output share it). */
void wkp_up_value_json(struct wkp_buf *b, uint8_t kind, int64_t i, const uint8_t *p, uint32_t len);

#endif
