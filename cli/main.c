/* wa1kpcap command line: argv -> config -> engine, through the public API
 * only. Prints one-line errors, a progress bar on a terminal, and exits
 * 0 on success, 1 when the run fails, 2 on a usage error, 130 / 143 when
 * SIGINT / SIGTERM stopped the run; standard output closed by its reader
 * (`| head`) ends it quietly by SIGPIPE, like other tools, once the output
 * files are cleaned up (docs/design.md, "Output files and stopping"). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wa1kpcap/wa1kpcap.h"

#include "usage.h"

static wkp_engine *volatile g_engine;
static volatile sig_atomic_t g_signal;             /* the first SIGINT / SIGTERM of the run */
static volatile sig_atomic_t g_live, g_live_ended; /* wa1kpcap live; its input ended */
static int g_table_errno;                          /* -f table: the first write error on stdout */

/* Ask the engine to stop: it cleans up and the exit status says which
 * signal came first. Repeats change nothing (timeout(1) signals both the
 * command and its process group). */
static void on_signal(int sig)
{
    if (g_live && !g_live_ended) { /* live: the first signal ends the capture */
        g_live_ended = 1;
        if (g_engine)
            wkp_engine_end_input(g_engine);
        return;
    }
    if (!g_signal)
        g_signal = sig;
    if (g_engine)
        wkp_engine_stop(g_engine);
}

static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    /* restart reads and writes: a stop is seen by the engine's own checks,
     * and an interrupted write must not look like a write error */
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, NULL);
}

/* Did the run fail because standard output was closed by its reader? */
static bool stdout_closed(const char *msg)
{
    char want[128];
    snprintf(want, sizeof want, "-: write error: %s", strerror(EPIPE));
    return strcmp(msg, want) == 0;
}

static void human_bytes(double b, char *out, size_t n)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void progress(const wkp_progress *p, void *user)
{
    (void)user;
    char done[32], total[32];
    human_bytes((double)p->bytes_read, done, sizeof done);
    double pps = p->elapsed_s > 0 ? (double)p->packets_read / p->elapsed_s : 0;
    if (p->done) {
        fprintf(stderr, "\r\033[K");
        return;
    }
    if (p->bytes_total) {
        human_bytes((double)p->bytes_total, total, sizeof total);
        double frac = (double)p->bytes_read / (double)p->bytes_total;
        if (frac > 1)
            frac = 1;
        int w = 30, fill = (int)(frac * w);
        char bar[31];
        for (int i = 0; i < w; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        double eta = frac > 0 ? p->elapsed_s * (1 - frac) / frac : 0;
        if (frac >= 1) /* read everything: the last flows are being finished and written */
            fprintf(stderr,
                    "\r\033[K[%s] %s read, %.2f Mpkt/s; finishing flows: %" PRIu64 " written", bar,
                    total, pps / 1e6, p->flows_written);
        else
            fprintf(stderr, "\r\033[K[%s] %3.0f%% %s / %s  %.2f Mpkt/s  ETA %.0fs", bar, frac * 100,
                    done, total, pps / 1e6, eta);
    } else {
        fprintf(stderr, "\r\033[K%s  %" PRIu64 " packets  %.2f Mpkt/s", done, p->packets_read,
                pps / 1e6);
    }
    fflush(stderr);
}

/* -f table: an aligned, human-readable flow list on stdout. */
static int table_row(const wkp_flow *f, void *user)
{
    FILE *out = user;
    char src[64], dst[64], proto[16];
    snprintf(src, sizeof src, "%s:%u", wkp_flow_src_ip(f), wkp_flow_src_port(f));
    snprintf(dst, sizeof dst, "%s:%u", wkp_flow_dst_ip(f), wkp_flow_dst_port(f));
    uint8_t p = wkp_flow_protocol(f);
    snprintf(proto, sizeof proto, "%s",
             p == IPPROTO_TCP      ? "TCP"
             : p == IPPROTO_UDP    ? "UDP"
             : p == IPPROTO_ICMP   ? "ICMP"
             : p == IPPROTO_ICMPV6 ? "ICMPv6"
                                   : "");
    if (!proto[0])
        snprintf(proto, sizeof proto, "PROTO(%u)", p);
    double dur = (double)(wkp_flow_end_ns(f) - wkp_flow_start_ns(f)) / 1e9;
    fprintf(out, "%6" PRIu64 "  %-7s %-42s %-42s %7" PRIu64 " %10" PRIu64 " %10.3f  %s\n",
            wkp_flow_id(f), proto, src, dst, wkp_flow_packets(f, WKP_DIR_BOTH),
            wkp_flow_bytes(f, WKP_DIR_BOTH), dur, wkp_flow_end_reason(f));
    if (ferror(out)) {
        if (!g_table_errno)
            g_table_errno = errno ? errno : EIO;
        return 1; /* stop: reported as the write error it is */
    }
    return 0;
}

__attribute__((format(printf, 1, 0))) static int usage_error(const char *fmt, const char *a,
                                                             const char *b)
{
    char *msg = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (asprintf(&msg, fmt, a, b) < 0)
        msg = NULL;
#pragma GCC diagnostic pop
    /* an argument may hold a line break: escaped as the library's messages
     * escape it (\n, \r, \t, \xHH), so the error stays one line */
    fputs("wa1kpcap: ", stderr);
    for (const unsigned char *p = (const unsigned char *)(msg ? msg : "out of memory"); *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            fprintf(stderr, "\\%c", *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    free(msg);
    fputs(" (see wa1kpcap --help)\n", stderr);
    return 2;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= 0) || isinf(v))
        return -1;
    *out = v;
    return 0;
}

enum {
    OPT_READER = 256,
    OPT_PARSE_IN,
    OPT_TCP_TIMEOUT,
    OPT_UDP_TIMEOUT,
    OPT_MAX_FLOWS,
    OPT_RING_SLOTS,
    OPT_SUMMARY,
    OPT_STRICT,
    OPT_DISCARD,
    OPT_CLOSE_TIMEOUT,
    OPT_KEEP_RETRANS,
    OPT_FILTER_ACK,
    OPT_FILTER_RST,
    OPT_MIN_PACKETS,
    OPT_MAX_SEQ,
    OPT_NO_SEQUENCES,
    OPT_COMPAT,
    OPT_PACKETS,
    OPT_PLUGIN,
    OPT_COLUMNS,
    OPT_APP_LAYER,
    OPT_APP_OPTION,
    OPT_FILTER,
    OPT_DEFAULT_FILTER,
    OPT_NO_DEFAULT_FILTER,
    OPT_NO_REASSEMBLY,
    OPT_TCP_STREAM_LIMIT,
    OPT_VXLAN_PORT,
    OPT_RESYNC,
    OPT_SIGNATURES,
    OPT_SIGNATURE_DEPTH,
    OPT_SIGNATURE_CACHE,
    OPT_NO_SIGNATURE_CACHE,
    OPT_PROTOCOLS,
    OPT_ROUTE,
    OPT_MERGE,
    OPT_START_OFFSET,
    OPT_STOP_OFFSET,
    OPT_START_TIME,
    OPT_STOP_TIME,
    OPT_COUNT, /* live only from here */
    OPT_DURATION,
    OPT_SNAPLEN,
    OPT_BUFFER_SIZE,
    OPT_NO_PROMISC,
};

static const struct option long_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"threads", required_argument, NULL, 't'},
    {"reader", required_argument, NULL, OPT_READER},
    {"parse-in", required_argument, NULL, OPT_PARSE_IN},
    {"tcp-timeout", required_argument, NULL, OPT_TCP_TIMEOUT},
    {"udp-timeout", required_argument, NULL, OPT_UDP_TIMEOUT},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"ring-slots", required_argument, NULL, OPT_RING_SLOTS},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"bench-discard", no_argument, NULL, OPT_DISCARD},
    {"tcp-close-timeout", required_argument, NULL, OPT_CLOSE_TIMEOUT},
    {"keep-retrans", no_argument, NULL, OPT_KEEP_RETRANS},
    {"filter-ack", no_argument, NULL, OPT_FILTER_ACK},
    {"filter-rst", no_argument, NULL, OPT_FILTER_RST},
    {"min-packets", required_argument, NULL, OPT_MIN_PACKETS},
    {"max-seq", required_argument, NULL, OPT_MAX_SEQ},
    {"no-sequences", no_argument, NULL, OPT_NO_SEQUENCES},
    {"compat", no_argument, NULL, OPT_COMPAT},
    {"packets", required_argument, NULL, OPT_PACKETS},
    {"plugin", required_argument, NULL, OPT_PLUGIN},
    {"columns", required_argument, NULL, OPT_COLUMNS},
    {"app-layer", required_argument, NULL, OPT_APP_LAYER},
    {"app-option", required_argument, NULL, OPT_APP_OPTION},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"default-filter", required_argument, NULL, OPT_DEFAULT_FILTER},
    {"no-default-filter", no_argument, NULL, OPT_NO_DEFAULT_FILTER},
    {"no-reassembly", no_argument, NULL, OPT_NO_REASSEMBLY},
    {"tcp-stream-limit", required_argument, NULL, OPT_TCP_STREAM_LIMIT},
    {"vxlan-port", required_argument, NULL, OPT_VXLAN_PORT},
    {"resync", no_argument, NULL, OPT_RESYNC},
    {"signatures", required_argument, NULL, OPT_SIGNATURES},
    {"signature-depth", required_argument, NULL, OPT_SIGNATURE_DEPTH},
    {"signature-cache", required_argument, NULL, OPT_SIGNATURE_CACHE},
    {"no-signature-cache", no_argument, NULL, OPT_NO_SIGNATURE_CACHE},
    {"protocols", required_argument, NULL, OPT_PROTOCOLS},
    {"route", required_argument, NULL, OPT_ROUTE},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"start-offset", required_argument, NULL, OPT_START_OFFSET},
    {"stop-offset", required_argument, NULL, OPT_STOP_OFFSET},
    {"start-time", required_argument, NULL, OPT_START_TIME},
    {"stop-time", required_argument, NULL, OPT_STOP_TIME},
    {"interface", required_argument, NULL, 'i'},
    {"count", required_argument, NULL, OPT_COUNT},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"snaplen", required_argument, NULL, OPT_SNAPLEN},
    {"buffer-size", required_argument, NULL, OPT_BUFFER_SIZE},
    {"no-promisc", no_argument, NULL, OPT_NO_PROMISC},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* parse_options: --help or --version was answered, exit 0. */
#define CLI_DONE (-1)

/* What the command line asks for beyond the engine's configuration. */
struct cli {
    const char *out, *fmt_name, *summary, *packets;
    bool live;         /* wa1kpcap live */
    const char *iface; /* live: -i */
    char live_opt[40]; /* a live-only option given to analyze, or "" */
    wkp_live_options lopt;
    bool quiet;
    bool table;     /* -f table */
    wkp_format fmt; /* the output's format unless table */
    int nfiles;
    const char *const *files;
    /* slices, set on the config once every option is read */
    unsigned long long off_lo, off_hi;
    int64_t time_lo, time_hi;
    /* signatures, compiled once every option is read (the cache's options
     * apply whatever their place) */
    const char *signatures, *sig_cache;
    bool sig_cache_given;
};

/* An option whose value is a number: 0, or a usage error's exit status. */
static int number_option(int c, const char *arg, wkp_config *cfg)
{
    unsigned long long u;
    double d;
    switch (c) {
    case 't':
        if (parse_uint(arg, 256, &u) != 0 || wkp_config_set_threads(cfg, (unsigned)u))
            return usage_error("-t: '%s' is not a thread count (0 to 256)%s", arg, "");
        return 0;
    case OPT_TCP_TIMEOUT:
    case OPT_UDP_TIMEOUT:
        if (parse_seconds(arg, &d) != 0 ||
            (c == OPT_TCP_TIMEOUT ? wkp_config_set_tcp_timeout(cfg, d)
                                  : wkp_config_set_udp_timeout(cfg, d)) != WKP_OK)
            return usage_error("%s: '%s' is not a number of seconds >= 0",
                               c == OPT_TCP_TIMEOUT ? "--tcp-timeout" : "--udp-timeout", arg);
        return 0;
    case OPT_CLOSE_TIMEOUT:
        if (parse_seconds(arg, &d) != 0 || wkp_config_set_tcp_close_timeout(cfg, d))
            return usage_error("--tcp-close-timeout: '%s' is not a number of seconds >= 0%s", arg,
                               "");
        return 0;
    case OPT_MIN_PACKETS:
        if (parse_uint(arg, UINT64_MAX, &u) != 0 || wkp_config_set_min_packets(cfg, u))
            return usage_error("--min-packets: '%s' is not a count%s", arg, "");
        return 0;
    case OPT_MAX_SEQ:
        if (parse_uint(arg, UINT64_MAX, &u) != 0 || wkp_config_set_max_seq(cfg, u))
            return usage_error("--max-seq: '%s' is not a count%s", arg, "");
        return 0;
    case OPT_MAX_FLOWS:
        if (parse_uint(arg, UINT64_MAX, &u) != 0 || wkp_config_set_max_flows(cfg, u))
            return usage_error("--max-flows: '%s' is not a count%s", arg, "");
        return 0;
    case OPT_RING_SLOTS:
        if (parse_uint(arg, 1u << 20, &u) != 0 ||
            wkp_config_set_ring_slots(cfg, (unsigned)u) != WKP_OK)
            return usage_error("--ring-slots: '%s' is not a power of two from 2 to 1048576%s", arg,
                               "");
        return 0;
    case OPT_SIGNATURE_DEPTH:
        if (parse_uint(arg, UINT32_MAX, &u) != 0 ||
            wkp_config_set_signature_depth(cfg, (uint32_t)u) != WKP_OK)
            return usage_error("--signature-depth: '%s' is not a byte count from 1 to %s", arg,
                               "4294967295");
        return 0;
    case OPT_VXLAN_PORT:
        if (parse_uint(arg, 65535, &u) != 0 || wkp_config_add_vxlan_port(cfg, (uint16_t)u))
            return usage_error("--vxlan-port: '%s' is not a port from 1 to 65535 (at most 8)%s",
                               arg, "");
        return 0;
    default: /* OPT_TCP_STREAM_LIMIT */
        if (parse_uint(arg, UINT32_MAX, &u) != 0 ||
            wkp_config_set_tcp_reassembly(cfg, (uint32_t)u, (uint64_t)512 << 20) != WKP_OK)
            return usage_error("--tcp-stream-limit: '%s' is not a byte count%s", arg, "");
        return 0;
    }
}

/* Seconds since the epoch with up to 9 decimals, exactly, in ns. */
static int parse_epoch_ns(const char *s, int64_t *out)
{
    const char *p = s;
    int64_t sec = 0, frac = 0;
    int digits = 0, fd = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (sec > (INT64_MAX / 1000000000 - 9) / 10)
            return -1;
        sec = sec * 10 + (*p - '0');
    }
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, fd++) {
            if (fd == 9)
                return -1;
            frac = frac * 10 + (*p - '0');
        }
    if (*p || digits == 0)
        return -1;
    for (; fd < 9; fd++)
        frac *= 10;
    *out = sec * 1000000000 + frac;
    return 0;
}

/* --start-offset, --stop-offset, --start-time, --stop-time into o. */
static int slice_option(int c, const char *arg, struct cli *o)
{
    unsigned long long u;
    int64_t ns;
    if (c == OPT_START_OFFSET || c == OPT_STOP_OFFSET) {
        if (parse_uint(arg, UINT64_MAX, &u) != 0)
            return usage_error("%s: '%s' is not a byte offset",
                               c == OPT_START_OFFSET ? "--start-offset" : "--stop-offset", arg);
        *(c == OPT_START_OFFSET ? &o->off_lo : &o->off_hi) = u;
        return 0;
    }
    if (parse_epoch_ns(arg, &ns) != 0)
        return usage_error("%s: '%s' is not a time in seconds since the epoch (up to 9 decimals)",
                           c == OPT_START_TIME ? "--start-time" : "--stop-time", arg);
    *(c == OPT_START_TIME ? &o->time_lo : &o->time_hi) = ns;
    return 0;
}

/* The index of arg among the n names, or -1. */
static int pick(const char *arg, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(arg, names[i]) == 0)
            return i;
    return -1;
}

/* An option that names one of a few choices. */
static int choice_option(int c, const char *arg, wkp_config *cfg)
{
    wkp_status st = WKP_EINVAL;
    int k;
    if (c == OPT_READER) {
        static const char *const names[] = {"auto", "mmap", "libpcap"};
        static const wkp_reader_kind v[] = {WKP_READER_AUTO, WKP_READER_MMAP, WKP_READER_LIBPCAP};
        if ((k = pick(arg, names, 3)) >= 0)
            st = wkp_config_set_reader(cfg, v[k]);
        return st == WKP_OK ? 0
                            : usage_error("--reader: '%s' is not %s", arg, "auto, mmap or libpcap");
    }
    if (c == OPT_PARSE_IN) {
        static const char *const names[] = {"auto", "reader", "workers"};
        static const wkp_parse_in v[] = {WKP_PARSE_IN_AUTO, WKP_PARSE_IN_READER,
                                         WKP_PARSE_IN_WORKERS};
        if ((k = pick(arg, names, 3)) >= 0)
            st = wkp_config_set_parse_in(cfg, v[k]);
        return st == WKP_OK
                   ? 0
                   : usage_error("--parse-in: '%s' is not %s", arg, "auto, reader or workers");
    }
    static const char *const names[] = {"full", "port_only", "none"};
    static const wkp_app_layer v[] = {WKP_APP_FULL, WKP_APP_PORT_ONLY, WKP_APP_NONE};
    if ((k = pick(arg, names, 3)) >= 0)
        st = wkp_config_set_app_layer(cfg, v[k]);
    return st == WKP_OK
               ? 0
               : usage_error("--app-layer: '%s' is not %s", arg, "full, port_only or none");
}

/* An option without a value that only sets the configuration. */
static int flag_option(int c, wkp_config *cfg)
{
    wkp_status st;
    switch (c) {
    case OPT_KEEP_RETRANS: st = wkp_config_set_filter_retrans(cfg, false); break;
    case OPT_FILTER_ACK: st = wkp_config_set_filter_ack(cfg, true); break;
    case OPT_FILTER_RST: st = wkp_config_set_filter_rst(cfg, true); break;
    case OPT_NO_SEQUENCES: st = wkp_config_set_sequences(cfg, false); break;
    case OPT_NO_DEFAULT_FILTER: st = wkp_config_set_default_filter(cfg, NULL); break;
    case OPT_NO_REASSEMBLY: st = wkp_config_set_reassembly(cfg, false); break;
    case OPT_STRICT: st = wkp_config_set_strict(cfg, true); break;
    case OPT_RESYNC: st = wkp_config_set_resync(cfg, true); break;
    case OPT_MERGE: st = wkp_config_set_merge(cfg, true); break;
    default: st = wkp_config_set_discard(cfg, true); break; /* OPT_DISCARD */
    }
    return st != WKP_OK ? 1 : 0;
}

/* --app-option NAME[=VALUE] */
static int app_option(const char *arg, wkp_config *cfg)
{
    char name[128];
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n >= sizeof name)
        return usage_error("--app-option: '%s' is no dissector's option%s", arg, "");
    memcpy(name, arg, n);
    name[n] = '\0';
    wkp_status st = wkp_config_set_app_option(cfg, name, eq ? eq + 1 : NULL);
    if (st == WKP_ENOMEM)
        return 1;
    if (st != WKP_OK)
        return usage_error("--app-option: '%s' is no dissector's option, or its value holds a "
                           "tab or newline%s",
                           name, "");
    return 0;
}

/* --route P:V=NAME (V decimal or 0x hex) */
static int route_option(const char *arg, wkp_config *cfg)
{
    char parent[64], name[64];
    const char *colon = strchr(arg, ':'), *eq = colon ? strchr(colon, '=') : NULL;
    unsigned long long v = 0;
    char *end = NULL;
    if (colon && eq && colon > arg && (size_t)(colon - arg) < sizeof parent && eq[1] &&
        strlen(eq + 1) < sizeof name && eq > colon + 1 && colon[1] != '-') {
        v = strtoull(colon + 1, &end, 0);
        if (end != eq)
            end = NULL;
    }
    if (!end)
        return usage_error("--route: '%s' is not PARENT:VALUE=PROTOCOL (udp:9999=beacon)%s", arg,
                           "");
    memcpy(parent, arg, (size_t)(colon - arg));
    parent[colon - arg] = '\0';
    snprintf(name, sizeof name, "%s", eq + 1);
    wkp_errbuf err = {{0}};
    if (wkp_config_add_route(cfg, parent, v, name, &err) != WKP_OK)
        return usage_error("--route: %s%s", err.msg, "");
    return 0;
}

/* The option getopt_long just returned, as the user wrote it: "--interface"
 * or "-i" (argv names the option's value, not the option, when the value is
 * a word of its own). long_index: getopt_long's, -1 for a short option. */
static int long_index = -1;
static const char *option_name(int c)
{
    static char name[40];
    if (long_index >= 0)
        snprintf(name, sizeof name, "--%s", long_opts[long_index].name);
    else
        snprintf(name, sizeof name, "-%c", c);
    return name;
}

/* The option getopt_long just refused (c ':' for a missing value, '?' for
 * an unknown option), as written: a short one by its letter (inside a
 * group such as -qx, argv names the group or, before the group's last
 * letter, the word before it), a long one up to its '='. A long option
 * with a letter (--threads) has that letter in optopt too; with its value
 * missing, argv's last word read is the option itself. */
static const char *given_option(int c, char **argv)
{
    static char name[64];
    const char *word = argv[optind - 1];
    bool is_long = c == ':' ? strncmp(word, "--", 2) == 0 : optopt <= 0 || optopt >= 128;
    if (is_long)
        snprintf(name, sizeof name, "%.*s", (int)strcspn(word, "="), word);
    else
        snprintf(name, sizeof name, "-%c", optopt);
    return name;
}

/* The long options that a "--name" or "--name=value" word names: its exact
 * name, or every option its name is a prefix of. Their count; *hit is the
 * last one, and list[size] their names ("--a, --b", cut with ", ..."). */
static int long_matches(const char *word, const struct option **hit, char *list, size_t size)
{
    size_t n = strcspn(word + 2, "="), used = 0;
    int hits = 0;
    bool cut = false;
    list[0] = '\0';
    for (const struct option *lo = long_opts; n && lo->name; lo++) {
        if (strncmp(lo->name, word + 2, n) != 0)
            continue;
        *hit = lo;
        if (lo->name[n] == '\0') /* an exact name wins over the prefixes */
            return 1;
        hits++;
        if (cut)
            continue;
        if (used + strlen(lo->name) + 10 < size)
            used +=
                (size_t)snprintf(list + used, size - used, "%s--%s", used ? ", " : "", lo->name);
        else /* the bytes kept above are for this */
            cut = snprintf(list + used, size - used, ", ...") > 0;
    }
    return hits;
}

/* getopt_long's '?' for a long word: a usage error that says what was
 * wrong, or -1 for an unknown option. An option that takes no value,
 * given one ("--quiet=3", "--qui=3"), comes with optopt the option's
 * value, as an unknown -q does; an ambiguous prefix ("--no") with 0. */
static int long_refused(char **argv)
{
    const char *word = argv[optind - 1];
    const struct option *hit = NULL;
    char list[256];
    int hits = strncmp(word, "--", 2) == 0 ? long_matches(word, &hit, list, sizeof list) : 0;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(word, "="), word);
    if (hits == 1 && strchr(word, '=') && hit->has_arg == no_argument && hit->val == optopt)
        return usage_error("%s: takes no value%s", name, "");
    if (hits < 2 || optopt != 0)
        return -1;
    return usage_error("%s: ambiguous, could be %s", name, list);
}

/* A live capture's option: 0 or a usage error's exit status. */
static int live_option(int c, const char *arg, struct cli *o)
{
    unsigned long long u;
    double d;
    if (!o->live && !o->live_opt[0])
        snprintf(o->live_opt, sizeof o->live_opt, "%s", option_name(c));
    switch (c) {
    case 'i': o->iface = arg; return 0;
    case OPT_NO_PROMISC: o->lopt.no_promisc = true; return 0;
    case OPT_COUNT:
        if (parse_uint(arg, UINT64_MAX, &u) != 0 || u == 0)
            return usage_error("--count: '%s' is not a packet count >= 1%s", arg, "");
        o->lopt.count = u;
        return 0;
    case OPT_DURATION:
        if (parse_seconds(arg, &d) != 0 || d <= 0 || d > 9e9)
            return usage_error("--duration: '%s' is not a number of seconds > 0%s", arg, "");
        o->lopt.duration_s = d;
        return 0;
    default: /* OPT_SNAPLEN, OPT_BUFFER_SIZE */
        if (parse_uint(arg, INT32_MAX, &u) != 0 || u == 0)
            return usage_error("%s: '%s' is not a byte count >= 1",
                               c == OPT_SNAPLEN ? "--snaplen" : "--buffer-size", arg);
        *(c == OPT_SNAPLEN ? &o->lopt.snaplen : &o->lopt.buffer_bytes) = (int)u;
        return 0;
    }
}

static void print_version(void)
{
    printf("wa1kpcap %s\n", wkp_version());
    const char *name, *version;
    for (size_t i = 0; wkp_dependency_info(i, &name, &version); i++)
        printf("  %-10s %s\n", name, version);
}

/* One option from getopt_long: 0, an exit status, or CLI_DONE. */
static int one_option(int c, char **argv, wkp_config *cfg, struct cli *o)
{
    wkp_errbuf perr = {{0}};
    /* an empty path (an unset variable in -o "$OUT", say) is no path */
    bool path =
        c == 'o' || c == OPT_SUMMARY || c == OPT_PACKETS || c == OPT_PROTOCOLS || c == OPT_PLUGIN;
    if (path && optarg && !*optarg)
        return usage_error("%s: expected a path, got an empty value%s", option_name(c), "");
    switch (c) {
    case 'o': o->out = optarg; return 0;
    case 'f': o->fmt_name = optarg; return 0;
    case OPT_SUMMARY: o->summary = optarg; return 0;
    case OPT_PACKETS: o->packets = optarg; return 0;
    case 'q': o->quiet = true; return 0;
    case OPT_COMPAT: return 0; /* applied before the others */
    case OPT_COLUMNS: return wkp_config_set_columns(cfg, optarg) ? 1 : 0;
    case OPT_FILTER: return wkp_config_set_filter(cfg, optarg) ? 1 : 0;
    case OPT_DEFAULT_FILTER: return wkp_config_set_default_filter(cfg, optarg) ? 1 : 0;
    case OPT_READER:
    case OPT_PARSE_IN:
    case OPT_APP_LAYER: return choice_option(c, optarg, cfg);
    case OPT_APP_OPTION: return app_option(optarg, cfg);
    case OPT_ROUTE: return route_option(optarg, cfg);
    case OPT_PROTOCOLS:
        if (wkp_config_add_protocols_dir(cfg, optarg, &perr) != WKP_OK) {
            fprintf(stderr, "wa1kpcap: --protocols: %s\n", perr.msg);
            return 1; /* a path that cannot be used, like --plugin's */
        }
        return 0;
    case 't':
    case OPT_TCP_TIMEOUT:
    case OPT_UDP_TIMEOUT:
    case OPT_CLOSE_TIMEOUT:
    case OPT_MIN_PACKETS:
    case OPT_MAX_SEQ:
    case OPT_MAX_FLOWS:
    case OPT_RING_SLOTS:
    case OPT_VXLAN_PORT:
    case OPT_SIGNATURE_DEPTH:
    case OPT_TCP_STREAM_LIMIT: return number_option(c, optarg, cfg);
    case OPT_SIGNATURES: o->signatures = optarg; return 0;
    case OPT_SIGNATURE_CACHE:
    case OPT_NO_SIGNATURE_CACHE:
        o->sig_cache = c == OPT_SIGNATURE_CACHE ? optarg : NULL;
        o->sig_cache_given = true;
        return 0;
    case OPT_KEEP_RETRANS:
    case OPT_FILTER_ACK:
    case OPT_FILTER_RST:
    case OPT_NO_SEQUENCES:
    case OPT_NO_DEFAULT_FILTER:
    case OPT_NO_REASSEMBLY:
    case OPT_STRICT:
    case OPT_RESYNC:
    case OPT_MERGE:
    case OPT_DISCARD: return flag_option(c, cfg);
    case OPT_START_OFFSET:
    case OPT_STOP_OFFSET:
    case OPT_START_TIME:
    case OPT_STOP_TIME: return slice_option(c, optarg, o);
    case OPT_PLUGIN:
        if (wkp_config_load_plugin(cfg, optarg, &perr) != WKP_OK) {
            fprintf(stderr, "wa1kpcap: %s\n", perr.msg);
            return 1;
        }
        return 0;
    case 'h': help(stdout); return CLI_DONE;
    case 'V': print_version(); return CLI_DONE;
    case 'i':
    case OPT_COUNT:
    case OPT_DURATION:
    case OPT_SNAPLEN:
    case OPT_BUFFER_SIZE:
    case OPT_NO_PROMISC: return live_option(c, optarg, o);
    case ':': return usage_error("%s: missing value%s", given_option(c, argv), "");
    default: {
        int rc = long_refused(argv);
        return rc >= 0 ? rc : usage_error("unknown option '%s'%s", given_option(c, argv), "");
    }
    }
}

/* The output format: -f, else from the output's extension. */
static int pick_format(struct cli *o)
{
    o->fmt = WKP_FMT_CSV;
    if (o->fmt_name && strcmp(o->fmt_name, "table") == 0)
        o->table = true;
    else if (o->fmt_name && wkp_format_parse(o->fmt_name, &o->fmt) != WKP_OK)
        return usage_error("-f: unknown format '%s' (csv, json, ndjson, table, none)%s",
                           o->fmt_name, "");
    else if (!o->fmt_name) {
        o->fmt = wkp_format_from_path(o->out);
        /* live: flows stream as lines unless -o names a .csv file */
        size_t n = strlen(o->out);
        if (o->live && o->fmt == WKP_FMT_CSV && (n < 4 || strcmp(o->out + n - 4, ".csv") != 0))
            o->fmt = WKP_FMT_NDJSON;
    }
    return 0;
}

/* The signatures, last: after every usage check (compiling thousands of
 * rules takes seconds), and with the cache's options wherever they were
 * given. 0 or an exit status. */
static int compile_signatures(wkp_config *cfg, const struct cli *o)
{
    if (o->sig_cache_given && wkp_config_set_signature_cache(cfg, o->sig_cache) != WKP_OK) {
        fprintf(stderr, "wa1kpcap: --signature-cache: out of memory\n");
        return 1;
    }
    wkp_errbuf perr = {{0}};
    if (o->signatures && wkp_config_set_signatures(cfg, o->signatures, &perr) != WKP_OK) {
        fprintf(stderr, "wa1kpcap: %s\n", perr.msg);
        return 1;
    }
    return 0;
}

/* The options of `analyze` or `live` (argv[0]) into cfg and *o: 0, an exit
 * status, or CLI_DONE. */
static int parse_options(int argc, char **argv, wkp_config *cfg, struct cli *o)
{
    bool live = strcmp(argv[0], "live") == 0;
    /* --compat sets several defaults: apply it first, so that options given
     * with it (e.g. --udp-timeout) still win whatever their order. A first
     * walk of getopt_long finds it as the second will (a prefix such as
     * --comp, never an option's value); errors wait for the second walk. It
     * walks a copy, since getopt_long moves the words it has passed. */
    char **copy = malloc(((size_t)argc + 1) * sizeof *copy);
    if (!copy) {
        fprintf(stderr, "wa1kpcap: out of memory\n");
        return 1;
    }
    memcpy(copy, argv, ((size_t)argc + 1) * sizeof *copy);
    opterr = 0;
    optind = 0; /* glibc: a fresh walk from argv[1], whatever walked before */
    int c;
    bool compat = false;
    while ((c = getopt_long(argc, copy, ":o:f:t:i:qhV", long_opts, NULL)) != -1)
        compat |= c == OPT_COMPAT;
    free(copy);
    optind = 0; /* and again for the walk that reads the options */
    if (compat && wkp_config_set_compat(cfg, true) != WKP_OK)
        return 1;
    *o = (struct cli){.out = "-",
                      .off_hi = UINT64_MAX,
                      .time_lo = INT64_MIN,
                      .time_hi = INT64_MAX,
                      .live = live,
                      .lopt = {.size = sizeof(wkp_live_options)}};
    int rc = 0;
    while (rc == 0) {
        long_index = -1; /* getopt_long sets it for a long option only */
        if ((c = getopt_long(argc, argv, ":o:f:t:i:qhV", long_opts, &long_index)) == -1)
            break;
        rc = one_option(c, argv, cfg, o);
    }
    if (rc != 0)
        return rc;
    if (!live && o->live_opt[0])
        return usage_error("%s: only for wa1kpcap live%s", o->live_opt, "");
    if (live && !o->iface)
        return usage_error("live: no interface given (-i IFACE)%s%s", "", "");
    if (live && optind < argc)
        return usage_error("live: unexpected argument '%s' (captures are read by analyze)%s",
                           argv[optind], "");
    if (!live && optind >= argc)
        return usage_error("analyze: no capture file given%s%s", "", "");
    if (wkp_config_set_offsets(cfg, o->off_lo, o->off_hi) != WKP_OK)
        return usage_error("--start-offset is after --stop-offset%s%s", "", "");
    if (wkp_config_set_time_window(cfg, o->time_lo, o->time_hi) != WKP_OK)
        return usage_error("--start-time is after --stop-time%s%s", "", "");
    o->files = (const char *const *)argv + optind;
    o->nfiles = argc - optind;
    rc = pick_format(o);
    if (rc == 0 && !o->quiet && isatty(STDERR_FILENO) &&
        wkp_config_set_progress(cfg, progress, NULL) != WKP_OK)
        rc = 1;
    return rc == 0 ? compile_signatures(cfg, o) : rc;
}

/* The engine from cfg, which is freed either way. */
static int build_engine(wkp_config *cfg, wkp_engine **e)
{
    wkp_errbuf err = {{0}};
    int rc = 0;
    if (wkp_engine_new(cfg, e, &err) != WKP_OK) {
        fprintf(stderr, "wa1kpcap: %s\n", err.msg);
        rc = 1;
    }
    wkp_config_free(cfg);
    return rc;
}

/* Hand s to the engine, or free it. */
static int add_sink(wkp_engine *e, wkp_sink *s)
{
    wkp_status st = wkp_engine_add_sink(e, s);
    if (st == WKP_OK)
        return 0;
    wkp_sink_free(s);
    fprintf(stderr, "wa1kpcap: %s\n", wkp_strerror(st));
    return 1;
}

/* -f table: the header line, and a callback sink writing the rows. */
static int table_sink(FILE **table_out, const char *out, wkp_sink **s)
{
    *table_out = strcmp(out, "-") == 0 ? stdout : NULL;
    if (!*table_out) {
        fprintf(stderr, "wa1kpcap: -f table writes to stdout only\n");
        return 2;
    }
    fprintf(*table_out, "%6s  %-7s %-42s %-42s %7s %10s %10s  %s\n", "flow", "proto", "source",
            "destination", "packets", "bytes", "seconds", "ended");
    wkp_status st = wkp_sink_callback_new(table_row, *table_out, s);
    if (st != WKP_OK) {
        fprintf(stderr, "wa1kpcap: %s\n", wkp_strerror(st));
        return 1;
    }
    return 0;
}

/* The flow output (file or table), then the --packets file. */
static int add_sinks(wkp_engine *e, const struct cli *o, FILE **table_out)
{
    wkp_errbuf err = {{0}};
    wkp_sink *s = NULL;
    int rc;
    if (o->table) {
        rc = table_sink(table_out, o->out, &s);
    } else if (wkp_sink_file_new(o->out, o->fmt, &s, &err) != WKP_OK) {
        fprintf(stderr, "wa1kpcap: %s\n", err.msg);
        rc = 1;
    } else {
        rc = 0;
    }
    if (rc == 0)
        rc = add_sink(e, s);
    if (rc != 0 || !o->packets)
        return rc;
    wkp_format pf =
        wkp_format_from_path(o->packets) == WKP_FMT_NDJSON ? WKP_FMT_NDJSON : WKP_FMT_CSV;
    if (wkp_sink_packets_new(o->packets, pf, &s, &err) != WKP_OK) {
        fprintf(stderr, "wa1kpcap: %s\n", err.msg);
        return 1;
    }
    return add_sink(e, s);
}

/* Run with SIGINT and SIGTERM asking the engine to stop. */
static wkp_status run(wkp_engine *e, const struct cli *o, FILE *table_out)
{
    g_engine = e;
    set_handler(SIGINT, on_signal);
    set_handler(SIGTERM, on_signal);
    /* a closed stdout is an EPIPE write error, so the engine cleans up */
    set_handler(SIGPIPE, SIG_IGN);
    g_live = o->live;
    wkp_status st = o->live ? wkp_engine_run_live(e, o->iface, &o->lopt)
                            : wkp_engine_run(e, o->files, (size_t)o->nfiles);
    /* The handlers stay: a signal after the run has committed its output
     * changes nothing, and must not kill the process with the output complete
     * and the exit status saying otherwise. */
    g_engine = NULL;
    if (table_out && !g_table_errno && fflush(table_out) != 0)
        g_table_errno = errno ? errno : EIO;
    return st;
}

/* Warnings, the outcome of the run and the summary file: the exit status.
 * *pipe_closed: the run failed only because stdout's reader went away. */
static int report(wkp_engine *e, wkp_status st, const struct cli *o, bool *pipe_closed)
{
    int rc = 0;
    for (const char *w = wkp_engine_warnings(e); *w;) { /* one line each */
        size_t len = strcspn(w, "\n");
        fprintf(stderr, "wa1kpcap: warning: %.*s\n", (int)len, w);
        w += len + (w[len] == '\n');
    }
    if (st == WKP_ESTOPPED && g_signal) {
        fprintf(stderr, "wa1kpcap: %s (%s)\n", wkp_engine_last_error(e),
                g_signal == SIGINT ? "SIGINT" : "SIGTERM");
        rc = 128 + g_signal;
    } else if (g_table_errno) {
        *pipe_closed = g_table_errno == EPIPE;
        if (!*pipe_closed)
            fprintf(stderr, "wa1kpcap: -: write error: %s\n", strerror(g_table_errno));
        rc = 1;
    } else if (st != WKP_OK) {
        *pipe_closed = stdout_closed(wkp_engine_last_error(e));
        if (!*pipe_closed)
            fprintf(stderr, "wa1kpcap: %s\n", wkp_engine_last_error(e));
        rc = 1;
    }
    wkp_errbuf err = {{0}};
    if (o->summary && wkp_engine_write_summary(e, o->summary, &err) != WKP_OK) {
        if (!stdout_closed(err.msg))
            fprintf(stderr, "wa1kpcap: %s\n", err.msg);
        else
            *pipe_closed = true;
        if (rc == 0)
            rc = 1;
    }
    return rc;
}

/* Commands other than analyze and live: -1 if argv is one of those, else the
 * exit status once answered. */
static int other_command(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        help(stdout);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        print_version();
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "analyze") == 0 || strcmp(argv[1], "live") == 0))
        return -1;
    if (argc < 2)
        fputs(usage_text, stderr);
    else
        return usage_error("unknown command '%s'%s", argv[1], "");
    return 2;
}

int main(int argc, char **argv)
{
    int rc = other_command(argc, argv);
    if (rc >= 0)
        return rc;
    wkp_config *cfg;
    if (wkp_config_new(&cfg) != WKP_OK) {
        fprintf(stderr, "wa1kpcap: out of memory\n");
        return 1;
    }
    struct cli o;
    rc = parse_options(argc - 1, argv + 1, cfg, &o);
    if (rc == CLI_DONE) {
        wkp_config_free(cfg);
        return 0;
    }
    wkp_engine *e = NULL;
    if (rc == 0)
        rc = build_engine(cfg, &e);
    else
        wkp_config_free(cfg);
    FILE *table_out = NULL;
    if (rc == 0)
        rc = add_sinks(e, &o, &table_out);
    bool pipe_closed = false;
    if (rc == 0)
        rc = report(e, run(e, &o, table_out), &o, &pipe_closed);
    wkp_engine_free(e);
    if (pipe_closed) {
        /* the output files are cleaned up: end like any tool whose reader
         * went away (the shell shows 141) */
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
    }
    return rc;
}
