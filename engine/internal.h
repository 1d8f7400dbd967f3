/* Engine internals shared by the files of engine/: the config, the engine,
 * sinks, workers and the flow record that travels worker -> merger. */
#ifndef WKP_INTERNAL_H
#define WKP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/dtoa.h"
#include "util/slab.h"
#include "capture/capfile.h"
#include "engine/applayer.h"
#include "engine/userlayer.h"
#include "filter/filter.h"
#include "engine/ring.h"
#include "features/custom.h"
#include "features/flowstats.h"
#include "features/seq.h"
#include "reassembly/tcpstream.h"
#include "reassembly/defrag.h"
#include "signatures/scan.h"
#include "flowtable/table.h"
#include "wa1kpcap/wa1kpcap.h"

#define WKP_HIDDEN         __attribute__((visibility("hidden")))
#define WKP_MAX_THREADS    256
#define WKP_TICK_PACKETS   1024         /* a mark goes to every worker at least this often */
#define WKP_TICK_NS        1000000000LL /* a tick when the capture clock enters a new second */
#define WKP_ARENA_BYTES    (4u << 20)   /* per ring, for copied frames */

struct wkp_coltab;

struct wkp_config {
    unsigned threads;
    wkp_reader_kind reader;
    int64_t tcp_timeout_ns, udp_timeout_ns;
    int64_t tcp_close_timeout_ns; /* a closed TCP flow ends after this idle gap */
    uint64_t max_flows;
    uint64_t max_seq;     /* 0: store every packet's record */
    uint64_t min_packets; /* flows with fewer packets are dropped (flow_filtered) */
    bool filter_retrans, filter_ack, filter_rst;
    bool compat;                /* docs/design.md, Compatibility mode */
    bool reassembly;            /* IP fragments reassembled in the reader */
    uint32_t tcp_stream_limit;  /* bytes kept per TCP direction (0: no stream reassembly) */
    struct wkp_l2l4_opts parse; /* e.g. extra VXLAN ports */
    uint64_t tcp_stream_budget; /* bytes all TCP stream buffers may hold per run */
    wkp_app_layer app_layer;
    bool sequences;       /* write the sequence columns */
    char *columns;        /* --columns patterns, comma-separated; NULL = all (owned) */
    char *filter;         /* user filter (owned), NULL = none */
    char *default_filter; /* owned, NULL = none */
    char *app_options;    /* "name\tvalue\n" per wkp_config_set_app_option (owned), NULL = none */
    struct wkp_coltab *cols; /* engine only: the columns written (engine/columns.h) */
    char *proto_dirs;        /* user protocol directories, one per line (owned), NULL = none */
    char *routes;            /* "parent\tvalue\tprotocol\n" per route (owned), NULL = none */
    const struct wkp_up_set *up; /* engine only: the loaded user protocols, or NULL */
    unsigned ring_slots;
    bool strict;
    bool resync; /* look past damage in a capture (mmap reader) */
    bool discard;
    wkp_parse_in parse_in;
    bool merge;               /* the captures are one stream (docs/design.md, Several captures) */
    uint64_t off_lo, off_hi;  /* records starting in [off_lo, off_hi) of each capture */
    int64_t time_lo, time_hi; /* packets with time_lo <= ts < time_hi */
    wkp_progress_fn progress;
    void *progress_user;
    struct wkp_custom_set custom; /* owned: deep-copied by wkp_engine_new */
    struct wkp_sigdb *sigdb;      /* one reference held; NULL: no signatures */
    uint32_t sig_depth;           /* bytes scanned per direction */
    /* where compiled rules are kept (signatures/cache.h): NULL for none;
     * sig_cache_set false: the default directory, from the environment */
    char *sig_cache;
    bool sig_cache_set;
};

enum wkp_end_reason {
    WKP_END_FIN = 0,
    WKP_END_RST,
    WKP_END_IDLE,
    WKP_END_NEW_SYN,
    WKP_END_EOF,
    WKP_END_EVICTED,
};
extern const char *const wkp__end_reason_names[];

/* Text formats a record may be serialised into. */
enum {
    WKP_TXT_CSV = 0,
    WKP_TXT_JSON,
    WKP_TXT_NDJSON,
    WKP_TXT_PKT_CSV, /* per-packet rows (--packets) */
    WKP_TXT_PKT_NDJSON,
    WKP_TXT__COUNT
};

/* A finished flow: built by its worker, written and freed by the merger.
 * This is the public wkp_flow the callback sink sees. */
struct wkp_flow {
    const struct wkp_coltab *cols; /* the engine's columns (wkp_flow_column) */
    uint64_t end_pos;       /* stream position of the item that ended it */
    uint64_t id;            /* ordinal of its first packet */
    bool arp_row;           /* no flow: an ARP packet's row, for the packet sinks only */
    const char *capture;
    int ts_digits;
    uint8_t end_reason;
    uint8_t proto, family;
    uint16_t vlan_id;
    uint16_t sport, dport;
    char src_ip[46], dst_ip[46];
    char key[128];
    int64_t start_ns, end_ns;
    uint64_t pkts[3], bytes[3]; /* indexed by wkp_dir */
    uint64_t flag_counts[8];
    uint64_t retrans;         /* TCP retransmissions seen (dropped or kept) */
    struct wkp_l2l4_tun *tun; /* owned; the first packet's encapsulation, or NULL */
    char community_id[40];
    char *text[WKP_TXT__COUNT]; /* NULL, or text_buf[t] once serialised */
    size_t text_len[WKP_TXT__COUNT];
    /* Owned text buffers, kept when the record goes back to its worker for
     * reuse (wkp__record_back), so that a worker's records are written
     * without a malloc here and a free on the merger's thread (arena lock
     * contention) for every flow. */
    char *text_buf[WKP_TXT__COUNT];
    size_t text_cap[WKP_TXT__COUNT];
    /* For callback sinks only (NULL otherwise): owned copies. */
    struct wkp_pkt_rec *recs;
    uint64_t nrecs;
    struct wkp_flow_stats *stats;
    struct wkp_flow *next_free; /* on its worker's list of records to reuse */
};

/* What serialisation reads beside the record, valid while the worker ends
 * the flow. */
struct wkp_flow_extra {
    const struct wkp_seq *seq;
    const struct wkp_flow_stats *stats;
    const struct wkp_custom_set *custom;
    const void *custom_block;
    /* Application dissectors: wkp_ndissectors state pointers (NULL where
     * the dissector did not claim the flow), written with
     * wkp_dissectors[i]->write(app[i], buf); bit i of app_matched is set
     * where app[i] claimed it. */
    void *const *app;
    uint32_t app_matched;
    const struct wkp_sig_flow *sig; /* signature matches (NULL: none, or no signatures) */
    const struct wkp_up_flow *up; /* the flow's user layers, or NULL */
};

struct wkp_sink {
    wkp_format fmt;               /* callback sinks: WKP_FMT_NONE with cb set */
    bool packets;                 /* one row per packet instead of per flow */
    const struct wkp_config *cfg; /* the engine's, set when the run opens the sink */
    wkp_flow_fn cb;
    void *cb_user;
    unsigned cb_text; /* callbacks: the WKP_TXT_* bits each flow carries (engine/access.c) */
    char *path;     /* NULL for callbacks; "-" for stdout; as given, for messages */
    char *target;   /* the file renamed into place (symlinks resolved); NULL: direct */
    char *tmp_path; /* the temporary file being written */
    bool live;      /* a live run: written in place and flushed after each record */
    FILE *fp;
    /* Text waiting for fp, written to it a mebibyte at a time: glibc's
     * stdio writes in 4 KiB blocks whatever setvbuf is asked (it sizes a
     * buffer it allocates itself by the file's block size), a system call
     * for every 4 KiB of CSV. NULL: written through fp's own buffer. */
    char *ob;
    size_t ob_len;
    uint64_t written;
    int err_no; /* the first write, flush or close error (errno); 0: none */
    bool owned; /* added to an engine: it frees the sink */
};

/* Per-worker counters: written by the worker only, read after it joined. */
struct wkp_worker_stats {
    uint64_t in_flow, flows_ended, evicted, discarded;
    uint64_t retrans_dropped, ack_filtered, rst_filtered, flow_filtered;
    /* quick-keyed frames whose walk found them malformed (none, when
     * wkp_l2l4_quick keeps its promise): counted as malformed */
    uint64_t walk_failed;
    uint64_t filtered; /* quick-keyed frames the filter dropped */
    struct wkp_tcpstream_counters ts; /* summed over the flows' TCP streams */
    uint64_t ts_streams;
};

struct wkp_worker {
    struct wkp_engine *e;
    unsigned idx;
    pthread_t thread;
    struct wkp_ring ring;
    struct wkp_slab_stock stock; /* huge slabs faulted in ahead (run.c's prefaulter) */
    struct wkp_ftable table;
    uint64_t max_flows; /* this worker's share */
    struct wkp_buf scratch;
    struct wkp_dtoa_memo dmemo; /* scratch.memo */
    struct wkp_seq_pool seq_pool;
    struct wkp_flow_stats_scratch stats_scratch;
    void *custom_blocks; /* free list of custom state blocks */
    struct wkp_app_worker app; /* dissector contexts and per-flow state pools */
    struct wkp_up_worker up;   /* user protocols: record and per-flow blocks */
    struct wkp_tcpstream_budget ts_budget;
    struct wkp_sig_worker sig; /* signature scratch (sig.db NULL: no signatures) */
    struct wkp_pool rare_pool; /* flows' rare blocks (engine/worker.c) */
    struct wkp_pool past_pool; /* state of flows past max_seq (engine/worker.c) */
    struct wkp_pool acc_pool;  /* their running sums, once folded */
    struct wkp_flow_acc fold;  /* the running sums of a flow ending before its fold */
    struct wkp_pool ts_pool;   /* TCP streams, one direction a block */
    /* The packet's in-order payload that the claiming stream dissector
     * reads where it lies (wkp_tcpstream_pass), for direction pass_dir:
     * set by the packet's stream feed, taken by its application step,
     * cleared before the next packet. pass_len 0: none. */
    const uint8_t *pass_data;
    uint32_t pass_len;
    int pass_dir;
    /* the small slabs of the pools above (rare, streams, application,
     * signatures), on shared huge pages; freed after them */
    struct wkp_carver carver;
    /* Finished flows for the merger, in (end_pos, id) order: a bounded
     * queue (see merger.c for why it cannot deadlock). Flows ended at one
     * position wait in `stage` until they can be queued in id order. */
    struct wkp_flowq doneq;
    struct wkp_flow **stage;
    unsigned nstage, stage_cap;
    struct wkp_flow *spare; /* records to reuse, taken from `back` */
    /* Records the merger is done with, emptied of their text and copies,
     * linked through next_free: the merger pushes each (release), the
     * worker takes the whole list at once (acquire), so records are reused
     * instead of allocated on one thread and freed on another. */
    _Alignas(64) _Atomic(struct wkp_flow *) back;
    /* everything with a position <= watermark has been processed and its
     * ended flows queued (release; pairs with the merger's acquire) */
    _Alignas(64) _Atomic uint64_t watermark;
    /* flows ended with no sink to write them (counted, never queued):
     * written by the worker, read by the merger for progress */
    _Atomic uint64_t unwritten;
    struct wkp_worker_stats st;
    int failed; /* out of memory: the run fails */
};

struct wkp_capture_info {
    char *path;
    const char *name; /* points into path: the base name */
    struct wkp_capfile *cf;
    int64_t first_ts; /* its first record's (INT64_MAX: none); set when ordering by time */
    size_t given;     /* its place in the run's list of paths */
    int ts_digits;
    uint64_t packets;
    bool truncated;
    uint64_t truncated_at;
    struct wkp_damage *damage; /* owned copy of the reader's list */
    size_t ndamage;
    uint64_t damage_more, damage_more_bytes;
};

struct wkp_engine {
    struct wkp_config cfg;
    unsigned nworkers;
    struct wkp_sink **sinks;
    size_t nsinks;
    unsigned text_mask; /* which WKP_TXT_* the sinks need */
    bool ran;
    bool want_view; /* a callback sink: records keep sequences and statistics */
    bool reads_records; /* a sink writes or reads records (not only -f none) */
    /* the config's lists as given, for the summary: cfg's copies are
     * split in place when the engine is made */
    char *given_app_options, *given_proto_dirs, *given_routes;
    /* workers asleep on an empty ring (ring.h): changed twice a sleep,
     * hundreds of times a second at most */
    _Atomic int hungry;
    /* the prefaulter (run.c): its bell, rung by the workers' stocks, and
     * its own stop, set once the workers are done */
    _Atomic uint32_t prefault_bell;
    _Atomic int prefault_stop;
    _Atomic int stop; /* a stop request or a failure: the reader, workers and merger wind down */
    /* live capture (wkp_engine_run_live): end_input ends the capture as a
     * file ends; the kernel's counters are read before it is closed */
    bool live;
    struct wkp_live_cfg live_cfg;
    _Atomic int end_input;
    bool live_stats;
    uint64_t live_received, live_dropped, live_if_dropped;
    char err[512];
    struct wkp_buf warnings;

    struct wkp_filter *filter; /* NULL: every packet and flow passes */
    bool quick_ok;             /* the filter lets the reader key frames with wkp_l2l4_quick */
    bool quick_key;            /* ... and it does (decided when the workers are counted) */
    /* the filter when quick-keyed frames meet its packet part in the
     * workers (wkp_filter_keywords_match), else NULL */
    const struct wkp_filter *worker_filter;
    struct wkp_defrag *defrag; /* NULL: no IP reassembly (--no-reassembly, --compat) */
    struct wkp_defrag_stats defrag_stats;

    struct wkp_capture_info *caps;
    size_t ncaps;
    bool from_fd; /* wkp_engine_run_fd: the one capture is read from input_fd */
    int input_fd;
    uint64_t bytes_total;

    struct wkp_worker *workers;
    /* hand-off (merger.c): the per-worker queue bounds, the merger's
     * sleep, the last position the reader fully dispatched (set when it
     * waits on a full ring), and records alive (built, not yet freed) and
     * their peak, counted only when count_live is set (a test's hook: every
     * worker and the merger would otherwise write one cache line a flow) */
    uint32_t handoff_flows;
    uint64_t handoff_bytes;
    _Atomic uint32_t merger_wake;
    _Atomic int merger_sleeping;
    _Atomic uint64_t sent_pos;
    bool count_live;
    _Atomic uint64_t flows_live, flows_live_peak;
    /* reader -> progress (merger) */
    _Atomic uint64_t prog_bytes, prog_packets;
    _Atomic int reader_done;

    /* results */
    uint64_t counters[WKP_CNT__COUNT];
    /* application dissectors: option values (pointing into app_opt_text)
     * and counters summed over the workers, by registry index */
    char *app_opt_text;
    const char *app_opt_values[WKP_MAX_DISSECTORS][WKP_DIS_MAX_OPTIONS];
    uint64_t app_counters[WKP_MAX_DISSECTORS][WKP_DIS_MAX_COUNTERS];
    uint64_t malformed_by[WKP_ANOM__COUNT];
    uint64_t evicted;
    struct wkp_up_set *up; /* user protocols (owned), NULL when none are loaded */
    uint64_t up_layers, up_capped;
    struct wkp_tcpstream_counters ts;
    uint64_t ts_streams, ts_refused;
    struct wkp_sig_counters sig; /* summed over the workers (open_peak: the sum of theirs) */
    double wall_s;
    wkp_status run_status;
    bool write_failed; /* the run ended on a sink's write error */
};

/* engine/reader.c: runs on the calling thread of wkp_engine_run. */
WKP_HIDDEN wkp_status wkp__reader_run(struct wkp_engine *e);
/* engine/worker.c */
WKP_HIDDEN void *wkp__worker_main(void *arg);
/* Live-state bytes of a flow holding `packets` records, with no rare block
 * or custom state: its table entry (*entry), its sequence chunks (*seq) and
 * its share of the hash table's buckets. */
WKP_HIDDEN size_t wkp__flow_footprint(uint64_t packets, size_t *entry, size_t *seq);
/* engine/merger.c */
WKP_HIDDEN void *wkp__merger_main(void *arg);
/* Before the threads start: the worker's queue and its ring's hook. 0 on success. */
WKP_HIDDEN int wkp__handoff_init(struct wkp_worker *w);
/* After the threads joined: free what is still queued, and the queue. */
WKP_HIDDEN void wkp__handoff_fini(struct wkp_worker *w);
/* Worker: hand a finished record to the merger, in order (worker.c). */
WKP_HIDDEN void wkp__handoff_flow(struct wkp_worker *w, struct wkp_flow *f);
/* Worker: queue what is staged; must precede each watermark store. */
WKP_HIDDEN void wkp__handoff_drain(struct wkp_worker *w);
/* Worker with an empty ring: take the reader's dispatched position as
 * the watermark. */
WKP_HIDDEN void wkp__handoff_idle(struct wkp_worker *w);
/* engine/serialize.c: fill f->text[] for the formats in mask. 0 on success. */
WKP_HIDDEN int wkp__serialize(struct wkp_flow *f, const struct wkp_flow_extra *x,
                              const struct wkp_config *cfg, unsigned mask, struct wkp_buf *scratch);
WKP_HIDDEN void wkp__csv_header(struct wkp_buf *b, const struct wkp_config *cfg);
/* An ARP packet's row (frame bytes arp[0..len) from its ARP header) into
 * f->text[] for the packet formats in mask. 0 on success. */
WKP_HIDDEN int wkp__serialize_arp(struct wkp_flow *f, const uint8_t *arp, uint32_t len,
                                  int64_t ts_ns, uint32_t wirelen, unsigned mask,
                                  struct wkp_buf *scratch);
WKP_HIDDEN void wkp__packets_csv_header(struct wkp_buf *b);
WKP_HIDDEN const char *wkp__proto_name(uint8_t proto, char tmp[16]);
/* engine/sink.c */
/* stop: the engine's flag, polled while a FIFO waits for its reader */
WKP_HIDDEN wkp_status wkp__sink_open(struct wkp_sink *s, _Atomic int *stop, wkp_errbuf *err);
/* The WKP_TXT_* text a sink writes; -1 for none (a callback, WKP_FMT_NONE). */
WKP_HIDDEN int wkp__sink_text(const struct wkp_sink *s);
WKP_HIDDEN int wkp__sink_write(struct wkp_sink *s, const struct wkp_flow *f);
WKP_HIDDEN wkp_status wkp__sink_finish(struct wkp_sink *s, bool success, wkp_errbuf *err);
WKP_HIDDEN wkp_status wkp__sink_commit(struct wkp_sink *s, bool commit, wkp_errbuf *err);
WKP_HIDDEN wkp_status wkp__sink_close(struct wkp_sink *s, bool success, wkp_errbuf *err);
WKP_HIDDEN void wkp__sink_destroy(struct wkp_sink *s);
/* The one message of a stopped run. */
#define WKP_STOPPED_MSG "stopped on request"
/* engine/engine.c */
WKP_HIDDEN void wkp__request_stop(struct wkp_engine *e);
WKP_HIDDEN void wkp__flow_free(struct wkp_flow *f);
/* A zeroed record for worker w (its thread only): one the merger gave back,
 * else a new one; a reused record keeps its text buffers (text_buf,
 * text_cap) and nothing else. NULL if out of memory. Freed by the merger or
 * wkp__handoff_fini. */
WKP_HIDDEN struct wkp_flow *wkp__record_new(struct wkp_worker *w);
/* Text buffers larger than this are not kept for reuse. */
#define WKP_TEXT_KEEP (16u * 1024u)
/* f->text[t] set to a buffer of f's of at least len bytes (text_buf[t],
 * grown if needed; the worker's thread). NULL if out of memory. */
WKP_HIDDEN char *wkp__text_room(struct wkp_flow *f, int t, size_t len);
/* The merger is done with f, a record of worker w: free its copies and any
 * text buffer above WKP_TEXT_KEEP bytes, put it on w's list of records to
 * reuse (any thread, one at a time per worker), count it gone. */
WKP_HIDDEN void wkp__record_back(struct wkp_engine *e, struct wkp_worker *w, struct wkp_flow *f);

WKP_HIDDEN void wkp__set_error(struct wkp_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* engine/config.c: *dst becomes a copy of v (NULL if v is NULL or empty). */
WKP_HIDDEN wkp_status wkp__set_string(char **dst, const char *v);
/* engine/run.c: close every capture still open (the list stays). */
WKP_HIDDEN void wkp__close_captures(struct wkp_engine *e);

#endif
