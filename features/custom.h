/* Custom incremental features (docs/output.md, "Custom features"): the set
 * of registered feature definitions, the layout of their per-flow state blocks, and the
 * calls a worker makes for each flow. Pure functions of their arguments: no
 * threads, no I/O; a worker calls them on its own flows only. */
#ifndef WKP_CUSTOM_H
#define WKP_CUSTOM_H

#include <stddef.h>

#include "util/buf.h"
#include "wa1kpcap/wa1kpcap.h"

struct wkp_custom_feature {
    wkp_feature_def def; /* def.name points to name below */
    char *name;
    size_t offset; /* of its state in the flow's block, 16-byte aligned */
};

struct wkp_custom_set {
    struct wkp_custom_feature *v;
    size_t n, cap;
    size_t state_size; /* bytes of one flow's block for all features, 16-byte multiple */
};

/* Add or replace (same name: in place) a definition. WKP_EINVAL for a bad
 * name ([A-Za-z0-9_]+), state_size > 64 KiB, or a NULL update/write. */
wkp_status wkp_custom_add(struct wkp_custom_set *s, const wkp_feature_def *def);
/* Deep copy (dst is overwritten, not freed). */
wkp_status wkp_custom_copy(struct wkp_custom_set *dst, const struct wkp_custom_set *src);
void wkp_custom_free(struct wkp_custom_set *s);

/* One flow's block (s->state_size bytes, 16-byte aligned, caller-owned):
 * zero it and call every init, in registration order. */
void wkp_custom_init(const struct wkp_custom_set *s, void *block);
void wkp_custom_update(const struct wkp_custom_set *s, void *block, const wkp_pkt_view *pkt);
void wkp_custom_finish(const struct wkp_custom_set *s, void *block);

/* Feature i's value as JSON text (null if it wrote nothing usable). */
void wkp_custom_write_value(const struct wkp_custom_set *s, size_t i, const void *block,
                            struct wkp_buf *b);
/* Feature i's value as one CSV cell (quoted as needed; empty for null). */
void wkp_custom_write_csv_one(const struct wkp_custom_set *s, size_t i, const void *block,
                              struct wkp_buf *b);
/* Append ,"custom.<name>":<value> per feature (pretty: on its own line,
 * indented by indent spaces, after ",\n"). */
void wkp_custom_write_json(const struct wkp_custom_set *s, const void *block, struct wkp_buf *b,
                           int pretty, int indent);

#endif
