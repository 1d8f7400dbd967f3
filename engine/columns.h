/* The output column table (see docs/design.md, "The column table").
 *
 * Every flow column has one row in columns.c: its name (the CSV header
 * cell, the --columns name, the JSON key), its kind (how serialize.c
 * writes it) and an argument (where its value lives). Groups of columns
 * are one row each: the statistics blocks x stats, the application
 * dissectors of the registry, the loaded user protocols (proto.<name>) and
 * the registered custom features.
 *
 * When an engine is created the table is expanded into the columns that
 * config writes, in output order (the --columns selection and
 * --no-sequences applied), once. The CSV header, CSV rows and JSON objects
 * walk that list; wkp_flow_stat looks statistics up in the table. Built on
 * the calling thread, read-only afterwards (workers serialise with it). */
#ifndef WKP_COLUMNS_H
#define WKP_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/internal.h"

struct wkp_dissector;

/* How a column is written. Flow fields are read at `arg`, an offset into
 * struct wkp_flow (scalars: into struct wkp_scalars). */
enum wkp_col_kind {
    WKP_COL_U64,          /* integer: uint64_t field */
    WKP_COL_U16,          /* integer: uint16_t field */
    WKP_COL_TIME,         /* time: int64_t nanoseconds, the capture's decimals */
    WKP_COL_DURATION,     /* time: end_ns - start_ns */
    WKP_COL_TEXT,         /* text: char array field */
    WKP_COL_TEXT_PTR,     /* text: const char * field */
    WKP_COL_PROTOCOL,     /* text: the transport's name, as in `key` */
    WKP_COL_END_REASON,   /* text */
    WKP_COL_EXT_PROTOCOL, /* list */
    WKP_COL_STAT,         /* double: one statistic of a block (group row) */
    WKP_COL_STAT_COUNT,   /* integer: a count statistic (expanded from the group) */
    WKP_COL_SCALAR_U64,   /* integer: uint64_t field of the scalars */
    WKP_COL_SCALAR_DBL,   /* double: double field of the scalars */
    WKP_COL_SEQ,          /* list: one sequence, arg an enum wkp_seq_col */
    WKP_COL_TUNNEL,       /* object or absent: the first packet's encapsulation */
    WKP_COL_APP,          /* object or absent: one dissector's fields (group row) */
    WKP_COL_USER,         /* object or absent: one user protocol's fields (group row) */
    WKP_COL_CUSTOM,       /* any JSON value: one custom feature (group row) */
    WKP_COL_SIG_APP,      /* text: first signature label, else the dissector's protocol */
    WKP_COL_SIGNATURES,   /* list: the signatures matched (only with signatures) */
};

/* The sequences, in output order. */
enum wkp_seq_col {
    WKP_SEQ_COL_PACKET_LENGTHS,
    WKP_SEQ_COL_IP_LENGTHS,
    WKP_SEQ_COL_TRANS_LENGTHS,
    WKP_SEQ_COL_APP_LENGTHS,
    WKP_SEQ_COL_TIMESTAMPS,
    WKP_SEQ_COL_IATS,
    WKP_SEQ_COL_PAYLOAD_BYTES,
    WKP_SEQ_COL_TCP_FLAGS, /* this one and the next: TCP flows only */
    WKP_SEQ_COL_TCP_WINDOW_SIZES,
};

/* One written column. */
struct wkp_col {
    const char *name;                /* CSV header cell */
    const char *key;                 /* JSON key inside its object ("mean" in a statistics block) */
    const struct wkp_dissector *dis; /* WKP_COL_APP */
    uint16_t arg; /* offset, stat (STAT*), sequence, registry, user protocol or feature index */
    uint8_t kind;                    /* enum wkp_col_kind */
    uint8_t blk;                     /* STAT*: the block */
};

/* The columns a config writes, in CSV order. JSON writes [0, stats_at) at
 * the top level, then "features": the sequences [seqs_at, feat_end) and a
 * "statistics" object with the block statistics [stats_at, scalars_at) and
 * the scalars [scalars_at, seqs_at), then [feat_end, n) at the top level
 * again. */
struct wkp_coltab {
    struct wkp_col *v;
    size_t n;
    size_t stats_at, scalars_at, seqs_at, feat_end;
    bool uses_stats; /* a column reads the statistics: without one, a flow's
                      * statistics are not computed for the text writers */
    char *names; /* storage of the built names */
    /* the dissectors the table was built with (the registry, or a test's):
     * x->app[i] is the state of dis[i] */
    const struct wkp_dissector *const *dis;
    unsigned ndis;
    const struct wkp_up_set *up; /* the user protocols the table was built with, or NULL */
};

/* Build cfg->cols from cfg->columns (comma-separated shell globs, each of
 * which must match a column; NULL: all), cfg->sequences, the dissector
 * registry, cfg->up and cfg->custom. On failure cfg->cols stays NULL and err says
 * why (WKP_EINVAL: a pattern matches no column; WKP_ENOMEM). */
WKP_HIDDEN wkp_status wkp__columns_build(struct wkp_config *cfg, wkp_errbuf *err);
/* The same with the given dissectors instead of the registry (tests). */
WKP_HIDDEN wkp_status wkp__columns_build_with(struct wkp_config *cfg,
                                              const struct wkp_dissector *const *dis, unsigned ndis,
                                              wkp_errbuf *err);
/* Free cfg->cols (NULL is a no-op) and set it to NULL. */
WKP_HIDDEN void wkp__columns_free(struct wkp_config *cfg);

/* The statistic called name (see wkp_flow_stat), NaN if there is none. */
WKP_HIDDEN double wkp__columns_stat(const struct wkp_flow_stats *st, const char *name);

#endif
