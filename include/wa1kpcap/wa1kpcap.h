/* wa1kpcap: packet captures to bidirectional flow records.
 *
 * Usage: build a wkp_config, create a wkp_engine from it, attach one or more
 * sinks (a file in CSV / JSON / NDJSON, or a C callback), run it on capture
 * files, then free it. Each run writes one record per flow, in the order the
 * flows end (see docs/output.md); the output is identical for any number of
 * worker threads.
 *
 *     wkp_config *cfg;  wkp_engine *e;  wkp_sink *s;  wkp_errbuf err;
 *     if (wkp_config_new(&cfg) != WKP_OK) ...
 *     wkp_config_set_threads(cfg, 2);
 *     if (wkp_engine_new(cfg, &e, &err) != WKP_OK) ...   // cfg may be freed now
 *     wkp_config_free(cfg);
 *     if (wkp_sink_file_new("flows.csv", WKP_FMT_CSV, &s, &err) == WKP_OK)
 *         wkp_engine_add_sink(e, s);                      // e owns s from here
 *     const char *files[] = {"trace.pcap"};
 *     if (wkp_engine_run(e, files, 1) != WKP_OK)
 *         fprintf(stderr, "%s\n", wkp_engine_last_error(e));
 *     wkp_engine_free(e);
 *
 * Threads: a config, sink or engine is used by one thread at a time, except
 * wkp_engine_stop() (any thread, async-signal-safe). Callbacks are called on
 * the engine's merger thread, one at a time.
 *
 * This header includes only the C library. */
#ifndef WA1KPCAP_H
#define WA1KPCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WKP_API       __attribute__((visibility("default")))
#define WKP_NODISCARD __attribute__((warn_unused_result))
#else
#define WKP_API
#define WKP_NODISCARD
#endif

#define WKP_VERSION_MAJOR  0
#define WKP_VERSION_MINOR  1
#define WKP_VERSION_PATCH  0
#define WKP_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, as wkp_version_number() returns. */
#define WKP_VERSION_NUMBER (WKP_VERSION_MAJOR * 10000 + WKP_VERSION_MINOR * 100 + WKP_VERSION_PATCH)

/* ABI policy. The shared library's soname (libwa1kpcap.so.0) changes when
 * a function is removed or changes its signature, or when a struct the
 * caller allocates changes its layout other than by growing at the end.
 * Handles are opaque; the structs the caller fills or reads carry their
 * size as the first member (wkp_feature_def.struct_size, set by the caller;
 * wkp_progress.struct_size, set by the library), so a member added at the
 * end is read only when the size says it is there. wkp_errbuf and
 * wkp_pkt_view do not change. Enums only gain values. A plugin declares the
 * plugin API it was built for (WKP_PLUGIN_DECLARE_API); loading one built
 * for another fails with a message naming both versions. A binding loading
 * the library at run time compares wkp_version_number() with the header it
 * was written for: same MAJOR (while MAJOR is 0: same MINOR), and a
 * runtime at least as new. */

/* The default packet filter (wkp_config_set_default_filter). */
#define WKP_DEFAULT_FILTER "not arp and not icmp and not icmpv6 and not dhcp and not dhcpv6"
/* Slots in each reader->worker ring unless wkp_config_set_ring_slots. */
#define WKP_RING_SLOTS_DEFAULT 4096

/* ---- status and errors ------------------------------------------------ */

typedef enum wkp_status {
    WKP_OK = 0,
    WKP_EINVAL = -1,    /* a bad argument or option value */
    WKP_ENOMEM = -2,    /* out of memory */
    WKP_EIO = -3,       /* a file could not be opened, read or written */
    WKP_EFORMAT = -4,   /* not a capture, or a corrupt one */
    WKP_ELINKTYPE = -5, /* a capture whose link type wa1kpcap does not decode */
    WKP_ESTOPPED = -6,  /* wkp_engine_stop() or a callback asked to stop */
    WKP_ESTATE = -7,    /* a call out of order (e.g. add_sink after run) */
} wkp_status;

/* Static text for a status ("invalid argument", ...). Never NULL. */
WKP_API const char *wkp_strerror(wkp_status st);

/* The library version, e.g. "0.1.0". Static. */
WKP_API const char *wkp_version(void);
/* The library's WKP_VERSION_NUMBER (e.g. 100 for 0.1.0): the runtime
 * version, which may differ from the header a caller was built with. */
WKP_API unsigned wkp_version_number(void);

/* The libraries this build runs with, one per call for i = 0, 1, ... until
 * it returns false: *name ("libpcap", "OpenSSL", ...) and *version, static
 * strings. The version is the one the library reports at run time where it
 * has a call for that (all but liburcu), else the one
 * it was built against (liburcu). A library this build does without is
 * not listed. */
WKP_API bool wkp_dependency_info(size_t i, const char **name, const char **version);

/* Caller-owned buffer for a one-line error message naming the file and the
 * problem, e.g. "trace.pcap: not a pcap or pcapng file (starts with 0x3c68746d)". */
typedef struct wkp_errbuf {
    char msg[512];
} wkp_errbuf;

/* ---- configuration ----------------------------------------------------- */

typedef struct wkp_config wkp_config;

/* How capture files are read. */
typedef enum wkp_reader_kind {
    WKP_READER_AUTO = 0,    /* our zero-copy mmap reader for regular pcap/pcapng files,
                               libpcap for anything else (stdin, pipes) */
    WKP_READER_MMAP = 1,    /* our reader only */
    WKP_READER_LIBPCAP = 2, /* libpcap's pcap_next_ex() only */
} wkp_reader_kind;

/* Which thread parses link to transport the frames of the commonest shape
 * (Ethernet II with at most one 802.1Q tag, IPv4 without fragmentation or
 * IPv6 without extension headers, TCP or UDP, no tunnel port); every other
 * frame is parsed by the reader. The output is the same either way. */
typedef enum wkp_parse_in {
    WKP_PARSE_IN_AUTO = 0,    /* the workers when there are at least 2 and a core is left
                                 for the reader (workers < online CPUs), else the reader */
    WKP_PARSE_IN_READER = 1,  /* the reader: cheapest in total CPU */
    WKP_PARSE_IN_WORKERS = 2, /* the workers: the reader keys such frames from fixed
                                 offsets, which raises its ceiling on many cores */
} wkp_parse_in;

/* Progress report, called on the merger thread about every 200 ms of wall
 * time while a run goes on, and once at the end with done = true.
 * bytes_total is the sum of the sizes of the run's files (0 if unknown). */
typedef struct wkp_progress {
    size_t struct_size; /* sizeof the library's wkp_progress: read a member added
                           later only if it lies within struct_size */
    uint64_t bytes_read, bytes_total;
    uint64_t packets_read;
    uint64_t flows_written;
    double elapsed_s;
    bool done;
} wkp_progress;
typedef void (*wkp_progress_fn)(const wkp_progress *p, void *user);

/* A new config with the defaults: threads 0 (online CPUs), reader AUTO,
 * tcp_timeout 300 s, udp_timeout 0 (never), max_flows 10 million.
 * Free with wkp_config_free(). */
WKP_API WKP_NODISCARD wkp_status wkp_config_new(wkp_config **out);
WKP_API void wkp_config_free(wkp_config *cfg); /* NULL is a no-op */

/* Worker threads; 0 = the number of online CPUs, one fewer (at least 1) when
 * no sink reads records (only WKP_FMT_NONE sinks). At most 256. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_threads(wkp_config *cfg, unsigned n);
WKP_API WKP_NODISCARD wkp_status wkp_config_set_reader(wkp_config *cfg, wkp_reader_kind k);
/* Where plain frames are parsed (wkp_parse_in); default AUTO. A filter with
 * a BPF part or a keyword with an argument keeps every parse in the reader
 * whatever this says (it reads the frames before any worker sees them). */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_parse_in(wkp_config *cfg, wkp_parse_in where);
/* Idle timeouts in seconds of capture time; 0 disables. Negative: WKP_EINVAL. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_tcp_timeout(wkp_config *cfg, double s);
WKP_API WKP_NODISCARD wkp_status wkp_config_set_udp_timeout(wkp_config *cfg, double s);
/* A TCP flow that has closed (a FIN from each side, or a RST) ends once
 * idle for s seconds (default 60, TCP's TIME_WAIT; 0: it waits for the
 * idle timeout). A SYN
 * without ACK after the close, with a new sequence number, ends it at once
 * and starts a new flow (docs/design.md, TCP splitting). */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_tcp_close_timeout(wkp_config *cfg, double s);
/* Packet drops: TCP retransmissions (default on; docs/design.md,
 * Retransmissions),
 * pure ACKs (default off), packets with RST (default off). Dropped packets
 * appear in no flow and are counted in the run summary. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_filter_retrans(wkp_config *cfg, bool on);
WKP_API WKP_NODISCARD wkp_status wkp_config_set_filter_ack(wkp_config *cfg, bool on);
WKP_API WKP_NODISCARD wkp_status wkp_config_set_filter_rst(wkp_config *cfg, bool on);
/* Store at most n per-packet records per flow (0 = all, the default).
 * Moment statistics still cover every packet; medians and the sequence
 * columns cover the stored ones. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_max_seq(wkp_config *cfg, uint64_t n);
/* Drop flows with fewer than n packets (default 1: keep all). */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_min_packets(wkp_config *cfg, uint64_t n);
/* Packet filter (docs/filters.md): tcpdump syntax compiled by
 * libpcap, plus wa1kpcap keywords evaluated on the dissected packet at any
 * encapsulation depth (arp, icmp, icmpv6/icmp6, dhcp, dhcpv6, vlan [ID],
 * gre, vxlan [VNI], geneve, mpls [LABEL]) and flow-level keywords (tls,
 * http, dns, quic: top-level "and" terms only). NULL or "" = none. The
 * effective filter is "(default) and (user)". Copied; compiled by
 * wkp_engine_new, which fails with a message quoting the bad part. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_filter(wkp_config *cfg, const char *expr);
/* Replace the default filter (WKP_DEFAULT_FILTER); NULL or "" removes it. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_default_filter(wkp_config *cfg, const char *expr);

/* Application-layer parsing: FULL (default) runs every dissector, which
 * may recognise its protocol on any port by the payload; PORT_ONLY claims a
 * flow for a dissector only on its well-known ports; NONE runs no
 * dissector (nothing above TCP/UDP; tunnels are still decapsulated). See
 * docs/design.md, "Application dissectors". */
typedef enum wkp_app_layer {
    WKP_APP_FULL = 0,
    WKP_APP_PORT_ONLY = 1,
    WKP_APP_NONE = 2,
} wkp_app_layer;
WKP_API WKP_NODISCARD wkp_status wkp_config_set_app_layer(wkp_config *cfg, wkp_app_layer mode);

/* Set an option of an application dissector, by its full name
 * ("tls.cert_der"); value NULL means "1". WKP_EINVAL if no dissector
 * declares the option or the value holds a tab or a newline. Copied; a
 * later call for the same name wins. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_app_option(wkp_config *cfg, const char *name,
                                                          const char *value);
/* The i-th option the dissectors of this build accept (0, 1, ...): its
 * full name and one line of help, static strings. false past the last. */
WKP_API bool wkp_app_option_info(size_t i, const char **name, const char **help);

/* User protocols (docs/userproto.md): add a directory of YAML protocol
 * definitions (*.yaml, *.yml; link_types.yaml first, then name order; a
 * later directory replaces a protocol an earlier one defined). Only the
 * path is checked and copied here; wkp_engine_new loads and compiles every
 * directory, before any packet is read, and fails with WKP_EINVAL and one
 * line "file:line:column: problem" if a definition is wrong. err may be
 * NULL; on failure it says why (WKP_EINVAL: not a directory). Nothing is
 * loaded by default. Configuration thread. */
WKP_API WKP_NODISCARD wkp_status wkp_config_add_protocols_dir(wkp_config *cfg, const char *dir,
                                                              wkp_errbuf *err);
/* Route `value` of `parent` to user protocol `protocol`: parent "udp" or
 * "tcp" (value: a port, tried as destination then source port, after the
 * built-in dissectors), or a loaded user protocol (value: of its
 * next_protocol field). The names are copied; wkp_engine_new checks them
 * (WKP_EINVAL, one line naming the route). A later route for the same
 * parent and value wins. WKP_EINVAL here for an empty name or one holding
 * ':', '=', a tab or a newline. */
WKP_API WKP_NODISCARD wkp_status wkp_config_add_route(wkp_config *cfg, const char *parent,
                                                      uint64_t value, const char *protocol,
                                                      wkp_errbuf *err);

/* Columns to write: comma-separated names or shell globs over the column
 * names of docs/output.md ("flow_id,key,feature.packet_lengths.*"); NULL or "" = all. Each
 * pattern must match a column, or wkp_engine_new fails (WKP_EINVAL). JSON
 * keeps the same selection. Copied. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_columns(wkp_config *cfg, const char *patterns);
/* Write the sequence columns (default on). */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_sequences(wkp_config *cfg, bool on);
/* Reassemble IPv4 and IPv6 fragments before filtering and keying
 * (docs/design.md, Fragments)
 * (default on; at most 1024 pending datagrams / 8 MiB, 60 s of capture
 * time; what is given up is counted as fragment_expired). */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_reassembly(wkp_config *cfg, bool on);
/* Decode UDP port `port` as VXLAN too (4789 always is); up to 8 ports. */
WKP_API WKP_NODISCARD wkp_status wkp_config_add_vxlan_port(wkp_config *cfg, uint16_t port);
/* TCP stream reassembly per flow and direction, in sequence order: the
 * first `limit` bytes of each direction are kept (64 KiB holds a TLS
 * handshake with its certificate chain), out-of-order segments wait for
 * their hole, overlaps keep the first copy, a hole given up is a recorded
 * gap. With limit 0 (the default) only the flows a stream dissector (TLS,
 * HTTP) claims are reassembled, 64 KiB a direction, until it has what it
 * needs; a limit > 0 reassembles every TCP flow (about 1 s and 140 MiB
 * more on the 1 GiB bench capture). All stream buffers of a run hold at
 * most `budget` bytes (default 512 MiB); what is refused or given up is
 * counted in the run summary (tcp_reassembly). */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_tcp_reassembly(wkp_config *cfg, uint32_t limit,
                                                               uint64_t budget);
/* Payload signatures (docs/signatures.md): read the YAML rules file at
 * `path` and compile it now, once, into a Hyperscan streaming database;
 * the engines made from cfg then scan each flow direction's payload (TCP
 * in sequence order) and add the `app` and `signatures` columns. path is
 * only read during the call; the compiled rules belong to cfg and are
 * shared with (and outlive) the engines made from it. NULL or "" turns
 * signatures off. On failure the previous setting stays, WKP_EINVAL is
 * returned and one line goes to err if not NULL: the rules file's problem
 * (file:line:column), the id of a rule whose pattern Hyperscan rejects
 * with its message, or that this build has no signature support. Calling
 * thread only; may take a while for a large file (10,000 rules: seconds). */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_signatures(wkp_config *cfg, const char *path,
                                                           wkp_errbuf *err);
/* Where wkp_config_set_signatures keeps what it compiles, and finds it
 * again for the same rules, Hyperscan and CPU (docs/signatures.md, "The
 * compiled-rules cache"): the directory dir (made if missing, with its
 * parent), or no cache for NULL or "". By default $WKP_CACHE_DIR (no cache
 * when it is set and empty), else $XDG_CACHE_HOME/wa1kpcap, else
 * $HOME/.cache/wa1kpcap. A cache that cannot be read or written only costs
 * the compilation. Applies to the next wkp_config_set_signatures; dir is
 * copied. WKP_EINVAL for a NULL cfg, WKP_ENOMEM if the copy fails. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_signature_cache(wkp_config *cfg, const char *dir);
/* Bytes of each flow direction scanned for signatures (default 65536,
 * > 0); a match ending beyond them is not found. WKP_EINVAL for 0. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_signature_depth(wkp_config *cfg, uint32_t bytes);

/* The original's behaviour where its numbers are needed (docs/design.md,
 * Compatibility mode): no IP reassembly, no TCP splitting or timeouts, UDP
 * payload_bytes 0, a 100000-flow limit. Set it before other options that
 * it would override. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_compat(wkp_config *cfg, bool on);
/* Most flows held at once per run (0 = no limit). */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_max_flows(wkp_config *cfg, uint64_t n);
/* Slots in each reader->worker ring: a power of two >= 2 (default
 * WKP_RING_SLOTS_DEFAULT).
 * Small values exercise backpressure in tests. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_ring_slots(wkp_config *cfg, unsigned n);
/* A capture cut inside a record, or damaged (a record that cannot be right
 * after good ones), is an error instead of a warning. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_strict(wkp_config *cfg, bool on);
/* Damage in a capture (a record that cannot be right, after good ones) ends
 * its read by default: the packets before it are analysed, a warning names
 * the file, the offset and the problem. With resync on (default off) the
 * reader instead looks for the next offset where several plausible records
 * follow one another and goes on from there; each skipped byte range is a
 * warning and is listed in the run summary. Only our mmap reader can scan:
 * wkp_engine_new refuses resync with WKP_READER_LIBPCAP (WKP_EINVAL), and on
 * a pipe or stdin (read by libpcap) damage ends the read. Ignored with
 * strict on. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_resync(wkp_config *cfg, bool on);
/* Read the captures of a run as one stream (default off: each capture is
 * analysed on its own, its flows ending with it). On: the captures are
 * ordered by their first packet's timestamp (ties: by path), and their
 * packets are taken in timestamp order across the files open at a time (a
 * k-way merge; within a file, file order), so a flow continuing from one
 * file into the next is one flow, timeouts applying across the boundary.
 * Each flow's capture is the file of its first packet. IP fragments may
 * join across files; flows and fragments end when the last capture ends.
 * Damage, cut records and undecoded interfaces are still per file. See
 * docs/design.md, "Several captures". */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_merge(wkp_config *cfg, bool on);
/* Read only the records whose first byte lies in [start, stop) of every
 * capture (stop UINT64_MAX: to the end; default the whole file), so that
 * runs over consecutive slices read every record once. A pcap slice
 * starting inside a record begins at the next place where several
 * plausible records follow one another (the rule of resync); a pcapng slice
 * walks the blocks from the start of the file. Needs the mmap reader: a run
 * over a pipe, stdin or WKP_READER_LIBPCAP with a slice fails with
 * WKP_EINVAL. start > stop is WKP_EINVAL. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_offsets(wkp_config *cfg, uint64_t start,
                                                        uint64_t stop);
/* Read only the packets with start_ns <= timestamp < stop_ns (ns since the
 * epoch; INT64_MIN, INT64_MAX: open ends, the default). Other packets are
 * not read at all: not counted, no ordinal, no effect on the clock.
 * start_ns > stop_ns is WKP_EINVAL. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_time_window(wkp_config *cfg, int64_t start_ns,
                                                            int64_t stop_ns);
/* Benchmarking only: workers drop every packet unprocessed, so a run times
 * the reader and the rings alone. No flows are produced. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_discard(wkp_config *cfg, bool on);
/* fn may be NULL (no reports). user is passed back untouched. */
WKP_API WKP_NODISCARD wkp_status wkp_config_set_progress(wkp_config *cfg, wkp_progress_fn fn,
                                                         void *user);

/* ---- custom incremental features ---------------------------------------- */

/* What a feature's update callback sees of one packet of a flow: the packet
 * as it was added to the flow (after every filter). Valid only during the
 * call. Lengths are those of the sequence columns
 * (docs/output.md, Sequences); dir is +1 (up) or -1 (down). */
typedef struct wkp_pkt_view {
    int64_t ts_ns;     /* capture time, ns since the epoch */
    uint64_t index;    /* 0-based index of the packet within its flow */
    int dir;           /* +1 up, -1 down */
    uint32_t wire_len; /* on-the-wire length */
    uint32_t cap_len;  /* captured length */
    uint32_t ip_len, trans_len, app_len;
    uint8_t ip_proto;       /* 6 TCP, 17 UDP, ... */
    uint8_t tcp_flags;      /* 0 unless TCP */
    uint16_t tcp_window;    /* 0 unless TCP */
    const uint8_t *payload; /* the transport payload bytes present (TCP/UDP), NULL if none */
    uint32_t payload_len;   /* bytes at payload (<= app_len: a capture may cut it) */
    const uint8_t *frame;   /* the whole captured frame */
} wkp_pkt_view;

/* Where a feature writes its value: one JSON value (a number, a string, a
 * list or an object), which becomes the custom.<name> column (CSV: the JSON
 * text of the value; numbers as numbers) or key. */
typedef struct wkp_value_writer wkp_value_writer;
WKP_API void wkp_write_double(wkp_value_writer *w, double v); /* shortest round-trip text */
WKP_API void wkp_write_int(wkp_value_writer *w, int64_t v);
WKP_API void wkp_write_string(wkp_value_writer *w, const char *s); /* escaped as JSON */
WKP_API void wkp_write_null(wkp_value_writer *w);
WKP_API void wkp_write_list_begin(wkp_value_writer *w);
WKP_API void wkp_write_list_end(wkp_value_writer *w);
WKP_API void wkp_write_object_begin(wkp_value_writer *w);
WKP_API void wkp_write_key(wkp_value_writer *w, const char *key); /* then one value */
WKP_API void wkp_write_object_end(wkp_value_writer *w);

/* A custom feature. Callbacks run on worker threads, several flows at once
 * on different threads but never the same flow on two threads: they must not
 * share mutable state without their own synchronisation (user is passed to
 * every call untouched). state points to state_size bytes owned by the flow,
 * zeroed before init, 16-byte aligned. init may be NULL; update is called
 * once per packet of the flow, in order; finish (may be NULL) once when the
 * flow ends, then write once to produce the value. */
typedef struct wkp_feature_def {
    /* sizeof(wkp_feature_def) of the caller's header, or 0 for this
     * layout (the first; a designated initializer leaves it 0). Another
     * value is refused with WKP_EINVAL: a later header's struct grows at
     * the end and this library could not honour the members it lacks. */
    size_t struct_size;
    const char *name;  /* [A-Za-z0-9_]+, unique per config; copied */
    size_t state_size; /* at most 64 KiB */
    void (*init)(void *state, void *user);
    void (*update)(void *state, const wkp_pkt_view *pkt, void *user);
    void (*finish)(void *state, void *user);
    void (*write)(const void *state, wkp_value_writer *w, void *user);
    void *user;
} wkp_feature_def;

/* Register a feature (copied; def may be freed). Columns appear in
 * registration order. A second feature with the same name replaces the
 * first in place. WKP_EINVAL for a bad name, state size, struct_size or
 * missing update/write. */
WKP_API WKP_NODISCARD wkp_status wkp_config_add_feature(wkp_config *cfg,
                                                        const wkp_feature_def *def);

/* Load features from a shared object: dlopen(path), then call its
 *     int wkp_plugin_register(wkp_config *cfg);
 * (declare it with WKP_PLUGIN_EXPORT), which calls wkp_config_add_feature
 * and returns 0 on success. The plugin states the plugin API it was built
 * for by writing WKP_PLUGIN_DECLARE_API once at file scope; a plugin
 * without it, or built for another WKP_PLUGIN_API_VERSION, is refused
 * (WKP_EINVAL) before any of its code runs, with a message naming both
 * versions. The library stays loaded for the life of the process. On
 * failure err names the file and the problem. */
#define WKP_PLUGIN_EXPORT      __attribute__((visibility("default")))
#define WKP_PLUGIN_ENTRY       "wkp_plugin_register"
#define WKP_PLUGIN_API_VERSION 1u
#define WKP_PLUGIN_API_SYMBOL  "wkp_plugin_api_version"
#define WKP_PLUGIN_DECLARE_API                                                                     \
    WKP_PLUGIN_EXPORT extern const unsigned wkp_plugin_api_version;                                \
    WKP_PLUGIN_EXPORT const unsigned wkp_plugin_api_version = WKP_PLUGIN_API_VERSION
typedef int (*wkp_plugin_register_fn)(wkp_config *cfg);
WKP_API WKP_NODISCARD wkp_status wkp_config_load_plugin(wkp_config *cfg, const char *path,
                                                        wkp_errbuf *err);

/* ---- flows (read-only views) ------------------------------------------ */

typedef struct wkp_flow wkp_flow;

typedef enum wkp_dir {
    WKP_DIR_BOTH = 0,
    WKP_DIR_UP = 1,   /* sent by the endpoint that sent the flow's first packet */
    WKP_DIR_DOWN = 2, /* sent by the other endpoint */
} wkp_dir;

typedef enum wkp_tcp_flag {
    WKP_TCPFLAG_FIN = 0,
    WKP_TCPFLAG_SYN,
    WKP_TCPFLAG_RST,
    WKP_TCPFLAG_PSH,
    WKP_TCPFLAG_ACK,
    WKP_TCPFLAG_URG,
    WKP_TCPFLAG_ECE,
    WKP_TCPFLAG_CWR,
} wkp_tcp_flag;

/* A wkp_flow is valid only inside the callback it is passed to; copy what
 * you keep. Strings are owned by the flow. Every accessor accepts NULL and
 * then returns 0 or "" (wkp_flow_stat: NaN). */
WKP_API uint64_t wkp_flow_id(const wkp_flow *f);         /* ordinal of its first packet */
/* Where the run found the flow's end: sinks get flows in increasing
 * (end position, id) order. end_position / 4 is the ordinal of the last
 * record read by then; end_position % 4 says what ended it: 0 that record
 * (a packet), 1 a tick after it (the capture clock entered a new second of
 * the epoch: idle timeouts), 2 the end of the input. Ordinals count every
 * record read, so runs over consecutive captures (or byte slices of one)
 * compare after adding 4 x the records read before each run's first. */
WKP_API uint64_t wkp_flow_end_position(const wkp_flow *f);
WKP_API const char *wkp_flow_capture(const wkp_flow *f); /* file name, no directory */
WKP_API const char *wkp_flow_key(const wkp_flow *f);     /* "a:1 -> b:2 (TCP)" */
WKP_API const char *wkp_flow_src_ip(const wkp_flow *f);  /* first packet's source */
WKP_API const char *wkp_flow_dst_ip(const wkp_flow *f);
WKP_API uint16_t wkp_flow_src_port(const wkp_flow *f);
WKP_API uint16_t wkp_flow_dst_port(const wkp_flow *f);
WKP_API uint8_t wkp_flow_protocol(const wkp_flow *f); /* IP protocol number */
WKP_API int wkp_flow_ip_version(const wkp_flow *f);   /* 4 or 6 */
WKP_API uint16_t wkp_flow_vlan_id(const wkp_flow *f);
/* Capture time in nanoseconds since the Unix epoch. */
WKP_API int64_t wkp_flow_start_ns(const wkp_flow *f);
WKP_API int64_t wkp_flow_end_ns(const wkp_flow *f);
WKP_API uint64_t wkp_flow_packets(const wkp_flow *f, wkp_dir dir);
WKP_API uint64_t wkp_flow_bytes(const wkp_flow *f, wkp_dir dir); /* on-the-wire lengths */
/* Packets of the flow with that TCP flag set (0 for non-TCP flows). */
WKP_API uint64_t wkp_flow_tcp_flag_count(const wkp_flow *f, wkp_tcp_flag flag);
/* "fin", "rst", "idle_timeout", "new_syn", "end_of_input" or "evicted". */
WKP_API const char *wkp_flow_end_reason(const wkp_flow *f);
/* Community ID v1 of the flow (seed 0), e.g. "1:LQU9qZlK+B5F3KDmev6m5PMibrg=". */
WKP_API const char *wkp_flow_community_id(const wkp_flow *f);
/* TCP retransmissions seen in the flow (dropped or kept). */
WKP_API uint64_t wkp_flow_retransmissions(const wkp_flow *f);

/* Per-packet sequences (docs/output.md, Sequences) of the stored packets (all of them unless
 * max_seq is set), in order. Lengths are signed by direction (+ up, - down). */
typedef enum wkp_seq_field {
    WKP_SEQ_PACKET_LENGTH = 0, /* on-the-wire length */
    WKP_SEQ_IP_LENGTH,
    WKP_SEQ_TRANS_LENGTH,
    WKP_SEQ_APP_LENGTH,
    WKP_SEQ_PAYLOAD_BYTES,
    WKP_SEQ_TIMESTAMP_NS, /* capture time, ns since the epoch */
    WKP_SEQ_TCP_FLAGS,
    WKP_SEQ_TCP_WINDOW,
    WKP_SEQ_DIRECTION, /* +1 or -1 */
} wkp_seq_field;
WKP_API size_t wkp_flow_seq_count(const wkp_flow *f);
/* 0 if i >= wkp_flow_seq_count(f) or field is unknown. */
WKP_API int64_t wkp_flow_seq_value(const wkp_flow *f, size_t i, wkp_seq_field field);

/* A statistic by name: "<block>.<stat>" with the output's column names
 * ("packet_lengths.mean", "iats.median", "tcp_window.up_count", ...), the
 * short names ("pkt_mean", "iat_std", "pkt_up_count", ...), or a scalar
 * ("packet_count", "total_bytes", "up_down_pkt_ratio",
 * "up_down_byte_ratio", "duration"). A block the flow does not have (e.g.
 * tcp_window of a UDP flow) gives 0.0, where the output leaves the column
 * empty (CSV) or writes no key (JSON). An unknown
 * name, a NULL argument or a flow without statistics is an error: NaN, which
 * no statistic takes (test it with isnan()). */
WKP_API double wkp_flow_stat(const wkp_flow *f, const char *name);

/* ---- sinks ---------------------------------------------------------------- */

typedef struct wkp_sink wkp_sink;

typedef enum wkp_format {
    WKP_FMT_CSV = 0,
    WKP_FMT_JSON = 1,   /* one JSON array */
    WKP_FMT_NDJSON = 2, /* one JSON object per line */
    WKP_FMT_NONE = 3,   /* compute everything, write nothing */
} wkp_format;

/* A file sink. path "-" is standard output. A regular file, or a name that
 * does not exist, is written under a temporary name beside it and renamed
 * when the run succeeds (an existing file keeps its mode, and its owner
 * where the caller may set it; a new one is 0644); a failed or stopped run
 * removes it, so no complete-looking file is left. A symlink is followed and
 * its target treated by its type. Standard output, a device or a FIFO is
 * written directly (a FIFO's open waits for its reader, or a stop): what a failed run
 * wrote there stays. Every write, flush and close is checked; the first
 * error fails the run (WKP_EIO) with "PATH: write error: <strerror>" ("-"
 * for stdout) as the last error. The file is opened when the run starts.
 * Free with wkp_sink_free() unless given to an engine. */
WKP_API WKP_NODISCARD wkp_status wkp_sink_file_new(const char *path, wkp_format fmt, wkp_sink **out,
                                                   wkp_errbuf *err);

/* A per-packet file sink: one row per packet of each flow (flow_id,
 * capture, index, direction, timestamp, the four lengths, payload_bytes, TCP
 * flags and window), written when the flow is, in flow output order; and
 * one row per ARP packet that passed the filter (operation, sender and
 * target MAC and IP; no flow), at its place in that order. fmt is
 * WKP_FMT_CSV or WKP_FMT_NDJSON. With max_seq only the stored packets. */
WKP_API WKP_NODISCARD wkp_status wkp_sink_packets_new(const char *path, wkp_format fmt,
                                                      wkp_sink **out, wkp_errbuf *err);

/* A callback sink: cb(flow, user) is called once per flow, in output order,
 * on the merger thread. A non-zero return stops the run (WKP_ESTOPPED, as
 * wkp_engine_stop() does): no further flow is passed, and the flow that
 * asked to stop counts as written (WKP_CNT_FLOWS). The queue between the
 * workers and the callback is bounded (a few hundred flows per worker): a
 * slow callback slows the run, memory stays flat. */
typedef int (*wkp_flow_fn)(const wkp_flow *f, void *user);
WKP_API WKP_NODISCARD wkp_status wkp_sink_callback_new(wkp_flow_fn cb, void *user, wkp_sink **out);

/* Ask that each flow passed to this callback sink carry its record as
 * fmt's writer writes it: WKP_FMT_CSV a CSV row, WKP_FMT_NDJSON one line,
 * WKP_FMT_JSON one element of the JSON array (indented, no separator);
 * each with its final newline where the writer puts one. Read it with
 * wkp_flow_text. The text is made on the worker threads, as for a file
 * sink, so each format asked for costs what writing it costs. Call before
 * the sink is given to an engine (else WKP_ESTATE); WKP_EINVAL for a file
 * sink or another format. Repeatable, one call per format. */
WKP_API WKP_NODISCARD wkp_status wkp_sink_callback_add_text(wkp_sink *s, wkp_format fmt);
/* The record of f in fmt, as asked with wkp_sink_callback_add_text, and its
 * length in *len (if not NULL); NULL (and *len 0) if that format was not
 * asked for. Borrowed: valid only inside the callback, not NUL-terminated
 * (use *len). The bytes are those a file sink of that format writes for
 * the flow: a CSV file is wkp_engine_csv_header then the rows; a JSON file
 * is "[", then each element after "\n" (the first) or ",\n", then "\n]\n"
 * ("]\n" with no flow). */
WKP_API const char *wkp_flow_text(const wkp_flow *f, wkp_format fmt, size_t *len);

/* One column's value, typed. */
typedef enum {
    WKP_VALUE_NONE = 0, /* the flow has no value for it: an empty CSV cell, no JSON key */
    WKP_VALUE_INT,      /* i: counts, ports, ids, count statistics */
    WKP_VALUE_DOUBLE,   /* d: statistics and ratios */
    WKP_VALUE_TIME,     /* i: nanoseconds (start_time and end_time since the epoch; duration) */
    WKP_VALUE_TEXT,     /* text, len: a NUL-terminated string (capture, key, addresses...) */
    WKP_VALUE_JSON,     /* text, len: the JSON text the NDJSON record holds for it (a list, an
                         * object, or a string), not NUL-terminated */
} wkp_value_kind;

typedef struct wkp_value {
    wkp_value_kind kind;
    int64_t i;
    double d;
    const char *text; /* borrowed from the flow: valid inside the callback only */
    size_t len;
} wkp_value;

/* Column i (0 <= i < wkp_engine_column_count, in CSV order) of f into
 * *out: numbers and times typed, names and addresses as text, and the rest
 * (sequences, protocol objects, tunnel, custom features, ext_protocol,
 * protocol) as the JSON text of the flow's NDJSON record, which needs
 * wkp_sink_callback_add_text(sink, WKP_FMT_NDJSON) (else WKP_ESTATE for
 * those columns). A sequence is also readable typed, element by element,
 * with wkp_flow_seq_value. WKP_EINVAL: f or out NULL, or i out of range. */
WKP_API WKP_NODISCARD wkp_status wkp_flow_column(const wkp_flow *f, size_t i, wkp_value *out);

/* NULL is a no-op, and so is a sink given to an engine (wkp_engine_free
 * frees it). */
WKP_API void wkp_sink_free(wkp_sink *s);

/* Parse "csv", "json", "ndjson"/"jsonl", "none" (case-sensitive). */
WKP_API WKP_NODISCARD wkp_status wkp_format_parse(const char *name, wkp_format *out);
/* The format a path's extension implies: .csv, .json, .ndjson/.jsonl; else CSV. */
WKP_API wkp_format wkp_format_from_path(const char *path);

/* ---- engine --------------------------------------------------------------- */

typedef struct wkp_engine wkp_engine;

/* cfg is copied: it may be freed afterwards. On failure: negative status,
 * *out untouched, one line in err if err is not NULL. */
WKP_API WKP_NODISCARD wkp_status wkp_engine_new(const wkp_config *cfg, wkp_engine **out,
                                                wkp_errbuf *err);

/* On success the engine owns sink (freed by wkp_engine_free). Before run
 * (else WKP_ESTATE). A sink already added to an engine, this one or
 * another, is refused with WKP_ESTATE: a sink has one owner and is written
 * once per flow. Failures set wkp_engine_last_error(e). */
WKP_API WKP_NODISCARD wkp_status wkp_engine_add_sink(wkp_engine *e, wkp_sink *sink);

/* Analyse n capture files, each on its own (flows never cross files), in
 * order; with wkp_config_set_merge, as one stream. A path that is a
 * directory stands for the regular files in it (not those whose name starts
 * with a dot, not subdirectories); when one is given, the whole list is
 * taken in capture-time order (first packet's timestamp, ties by path),
 * as with merge. All files are opened and checked before any output is written: a
 * missing file, a file that is not a capture or an unsupported link type
 * (pcapng: no interface of a decoded link type) fails the run with nothing
 * written. Returns WKP_OK when every flow was written; a capture cut inside
 * a record or damaged after good records is a warning (see
 * wkp_engine_warnings), or WKP_EFORMAT with strict on. Any other result
 * removes the output files (see wkp_sink_file_new) and sets
 * wkp_engine_last_error(e). Call once per engine. */
WKP_API WKP_NODISCARD wkp_status wkp_engine_run(wkp_engine *e, const char *const *paths, size_t n);

/* wkp_engine_run on an open descriptor: a pipe, a socket or a regular
 * file, read until its end of input as one capture called `name` (the
 * capture column and messages; NULL or "": "-"). fd is duplicated, not
 * closed: the caller keeps it. A regular file with the mmap reader (AUTO's
 * choice for one) is read from its start; anything else from fd's current
 * offset, through libpcap. While the engine waits for data,
 * wkp_engine_stop ends the run within 100 ms. WKP_EINVAL for fd < 0
 * (wkp_engine_last_error says so); otherwise as wkp_engine_run. */
WKP_API WKP_NODISCARD wkp_status wkp_engine_run_fd(wkp_engine *e, int fd, const char *name);

/* Packets pushed one by one. wkp_push_start starts the engine's run (once
 * per engine, as wkp_engine_run) on a thread of its own, on packets of the
 * pcap link type `linktype` (1 Ethernet, 101 raw IP, ...) forming one
 * capture called `name` (NULL or "": "-"); *out is the caller's until
 * wkp_push_finish. wkp_push_packet appends one packet (ts_ns: capture time
 * in ns since the epoch; caplen <= 262144 bytes of data, copied; wirelen >=
 * caplen); it may block while the engine is behind. WKP_EINVAL for bad
 * arguments; WKP_ESTATE once the run has ended (a stop, a callback asking to
 * stop, an error): push no more, call wkp_push_finish. wkp_push_finish ends
 * the capture, waits for the run and frees the pusher; it returns the run's
 * status (as wkp_engine_run: the last error is on the engine). One thread
 * uses a pusher; callbacks run on the engine's merger thread meanwhile. */
typedef struct wkp_pusher wkp_pusher;
WKP_API WKP_NODISCARD wkp_status wkp_push_start(wkp_engine *e, int linktype, const char *name,
                                                wkp_pusher **out);
WKP_API WKP_NODISCARD wkp_status wkp_push_packet(wkp_pusher *p, int64_t ts_ns, const void *data,
                                                 uint32_t caplen, uint32_t wirelen);
WKP_API WKP_NODISCARD wkp_status wkp_push_finish(wkp_pusher *p);

/* Live capture from network interface iface through libpcap (it needs the
 * capability to capture: root or CAP_NET_RAW). Flows end by the timeouts
 * in wall-clock time, also while the interface is quiet, and file sinks
 * are written in place and flushed after each flow. The capture ends like
 * a file ends (open flows end with end_reason "end_of_input", WKP_OK)
 * after opt->count packets, after opt->duration_s seconds, or when
 * wkp_engine_end_input() is called; wkp_engine_stop() stops it as it stops
 * any run. opt may be NULL (no limit, defaults). Once per engine, like
 * wkp_engine_run. The run summary gains "live" with the kernel's
 * counters; wkp_engine_live_stats() gives them too. */
typedef struct wkp_live_options {
    size_t size;       /* sizeof(wkp_live_options): set by the caller */
    uint64_t count;    /* end after this many packets; 0: no limit */
    double duration_s; /* end after this many seconds; 0: no limit */
    int snaplen;       /* bytes kept of each packet; 0: 262144 */
    int buffer_bytes;  /* the kernel's capture buffer; 0: libpcap's default (2 MiB) */
    bool no_promisc;   /* do not put the interface in promiscuous mode */
} wkp_live_options;
WKP_API WKP_NODISCARD wkp_status wkp_engine_run_live(wkp_engine *e, const char *iface,
                                                     const wkp_live_options *opt);

/* End the input of a live run as if its file had ended: the open flows are
 * written and wkp_engine_run_live returns WKP_OK. Any thread;
 * async-signal-safe. No effect on a run over files. */
WKP_API void wkp_engine_end_input(wkp_engine *e);

/* After a live run: the kernel's counters of the capture (packets received,
 * dropped for lack of buffer space, dropped by the interface). false if
 * they are not known (not a live run, or the platform does not say). */
WKP_API bool wkp_engine_live_stats(const wkp_engine *e, uint64_t *received, uint64_t *dropped,
                                   uint64_t *if_dropped);

/* Ask the engine to stop: a stop seen at any moment of wkp_engine_run up to
 * the renaming of its output (including after the last packet was read, and
 * before the run: it then stops at once) makes it return WKP_ESTOPPED with
 * the last error "stopped on request", and no output file is kept. Any
 * thread, a sink callback included; async-signal-safe. */
WKP_API void wkp_engine_stop(wkp_engine *e);

/* The last error as one line ("" if none). Valid until the next call on e. */
WKP_API const char *wkp_engine_last_error(const wkp_engine *e);

/* Warnings of the last run, one per line ("" if none): e.g. a capture cut
 * inside a record. Valid until the engine is freed. */
WKP_API const char *wkp_engine_warnings(const wkp_engine *e);

/* The columns this engine writes (the --columns selection applied), in
 * CSV order: count, then the i-th name (the CSV header cell, e.g.
 * "feature.iats.median"; NULL past the last). The statistics columns are
 * those named "feature.<block>.<stat>" and "feature.<scalar>"; wkp_flow_stat
 * takes the same names without "feature.". Borrowed: valid until the
 * engine is freed. Any thread, once wkp_engine_new has returned. */
WKP_API size_t wkp_engine_column_count(const wkp_engine *e);
WKP_API const char *wkp_engine_column_name(const wkp_engine *e, size_t i);
/* The CSV header line the CSV writer starts with (the names joined by
 * commas, then "\n"), copied into buf (cap bytes) with a terminating NUL;
 * *len (if not NULL) gets its length without the NUL. WKP_EINVAL if e or
 * buf is NULL or cap is too small (then *len still says what is needed). */
WKP_API WKP_NODISCARD wkp_status wkp_engine_csv_header(const wkp_engine *e, char *buf, size_t cap,
                                                       size_t *len);

/* Counters of the last run: every packet read is counted once, by reason
 * (docs/design.md, Accounting reasons). */
typedef enum wkp_counter {
    WKP_CNT_PACKETS_READ = 0,
    WKP_CNT_BYTES_READ, /* sum of on-the-wire lengths of packets read */
    WKP_CNT_IN_FLOW,    /* packets that were added to a flow */
    WKP_CNT_FILTERED,
    WKP_CNT_FLOW_FILTERED,
    WKP_CNT_RETRANSMISSION,
    WKP_CNT_ACK_FILTERED,
    WKP_CNT_RST_FILTERED,
    WKP_CNT_FRAGMENT_MERGED,
    WKP_CNT_FRAGMENT_EXPIRED,
    WKP_CNT_NOT_IP,
    WKP_CNT_MALFORMED,
    WKP_CNT_FLOW_TABLE_FULL,
    WKP_CNT_FLOWS, /* flow records written */
    /* packets of a pcapng interface whose link type is not decoded (each
     * such interface is also a warning); appended to keep the values above */
    WKP_CNT_UNSUPPORTED_LINK,
    WKP_CNT__COUNT
} wkp_counter;
WKP_API uint64_t wkp_engine_counter(const wkp_engine *e, wkp_counter c);
/* A counter an application dissector keeps, summed over the workers, by
 * its full name ("dns.malformed"; the summary's "dissectors" object);
 * 0 for an unknown name. Valid after wkp_engine_run. */
WKP_API uint64_t wkp_engine_app_counter(const wkp_engine *e, const char *name);

/* Write the run summary as JSON (version, status: "ok", "stopped", "write
 * error" or the wkp_strerror text of the failure, with the error line;
 * options, threads, wall time, the counters above with the malformed
 * breakdown, files and warnings) to path ("-" = stdout). On failure err
 * (if not NULL) says "PATH: write error: <strerror>". */
WKP_API WKP_NODISCARD wkp_status wkp_engine_write_summary(const wkp_engine *e, const char *path,
                                                          wkp_errbuf *err);

WKP_API void wkp_engine_free(wkp_engine *e); /* NULL is a no-op */

#ifdef __cplusplus
}
#endif
#endif
