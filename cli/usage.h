/* The command line's help text: the one source of `wa1kpcap --help`, the
 * man page and the shell completions (cli/mkdoc.c turns it into the last
 * two at build time). Layout rules mkdoc relies on: a section title starts
 * in column 0 and ends with ':'; an option line starts with "  -" and its
 * description starts after a run of two or more spaces; a description goes
 * on in lines indented by 20 spaces or more. */
#ifndef WKP_CLI_USAGE_H
#define WKP_CLI_USAGE_H

#include <stdio.h>

#include "wa1kpcap/wa1kpcap.h"

#define STR_(x)         #x
#define STR(x)          STR_(x)
#define RING_SLOTS_TEXT STR(WKP_RING_SLOTS_DEFAULT)

static const char usage_text[] =
    "usage: wa1kpcap analyze [options] CAPTURE...\n"
    "       wa1kpcap live -i IFACE [options]\n"
    "       wa1kpcap --help | --version\n"
    "\n"
    "Turns pcap/pcapng captures into bidirectional flow records, one per flow,\n"
    "written in the order the flows end. Each capture is analysed on its own.\n"
    "A capture may be compressed with gzip, zstd, xz or lz4 (recognised by its\n"
    "first bytes, decompressed as it is read); '-' reads standard input.\n"
    "\n"
    "wa1kpcap live meters a network interface the same way (libpcap; root or\n"
    "CAP_NET_RAW): timeouts count wall-clock time, also while the interface is\n"
    "quiet, and each flow is written as it ends (NDJSON to stdout by default; -o\n"
    "writes the file in place). SIGINT or SIGTERM ends the capture: the open flows\n"
    "are written with end_reason end_of_input and the exit status is 0; a second\n"
    "signal stops at once. --summary adds the kernel's received and dropped counts.\n"
    "\n"
    "Output:\n"
    "  -o, --output PATH      where to write ('-' = stdout, the default); a regular\n"
    "                         file is written under a temporary name and renamed on\n"
    "                         success (a failed or stopped run leaves none); a device\n"
    "                         or FIFO is written directly; a symlink is followed\n"
    "  -f, --format FMT       csv, json, ndjson (or jsonl), table, none; default from\n"
    "                         the output's extension (.csv .json .ndjson .jsonl), else\n"
    "                         csv. 'table' is an aligned summary for people; 'none'\n"
    "                         computes everything and writes nothing\n"
    "      --summary PATH     write the run summary (counters by reason) as JSON\n"
    "      --packets PATH     also write one row per packet (flow_id, direction, time,\n"
    "                         lengths, flags, window) and per ARP packet: CSV, or\n"
    "                         NDJSON for .ndjson/.jsonl\n"
    "\n"
    "Filtering (docs/filters.md):\n"
    "      --filter EXPR      keep packets matching EXPR: tcpdump syntax plus keywords\n"
    "                         arp icmp icmpv6 dhcp dhcpv6 vlan [ID] gre vxlan [VNI]\n"
    "                         geneve mpls [LABEL] (any depth) and tls http dns quic\n"
    "                         (flows; top-level 'and' terms only)\n"
    "      --default-filter EXPR  replace the default filter, which is\n"
    "                         '" WKP_DEFAULT_FILTER "';\n"
    "                         the effective filter is (default) and (EXPR)\n"
    "      --no-default-filter    no default filter\n"
    "\n"
    "Engine:\n"
    "  -t, --threads N        worker threads; 0 (default) = the number of online CPUs\n"
    "      --reader KIND      auto (default), mmap (our zero-copy reader) or libpcap;\n"
    "                         pipes, stdin and compressed captures always use libpcap\n"
    "      --tcp-timeout S    end a TCP flow idle longer than S seconds of capture\n"
    "                         time (default 300; 0 = never)\n"
    "      --udp-timeout S    the same for UDP and other non-TCP flows (default 0)\n"
    "      --tcp-close-timeout S  a TCP flow closed by FINs or a RST ends once idle S\n"
    "                         seconds (default 60; 0 = wait for --tcp-timeout)\n"
    "      --keep-retrans     keep TCP retransmissions (default: dropped, and counted)\n"
    "      --filter-ack       drop pure ACKs (no payload, no options, flags exactly ACK)\n"
    "      --filter-rst       drop TCP packets with RST\n"
    "      --min-packets N    drop flows with fewer than N packets (default 1)\n"
    "      --max-seq N        store at most N packets per flow for the sequence columns\n"
    "                         and medians (0 = all, the default); other statistics\n"
    "                         still cover every packet\n"
    "      --no-sequences     leave the per-packet sequence columns out\n"
    "      --columns LIST     only these columns: comma-separated names or globs, e.g.\n"
    "                         'flow_id,key,feature.packet_lengths.*' (docs/output.md)\n"
    "      --plugin LIB.so    load custom features from a shared object (its\n"
    "                         wkp_plugin_register entry point); repeatable; each\n"
    "                         feature adds a custom.<name> column\n"
    "      --app-layer MODE   full (default): application dissectors on their ports and,\n"
    "                         by the payload, on any port; port_only: on their ports\n"
    "                         only; none: nothing above TCP/UDP\n"
    "      --app-option NAME[=VALUE]  set an option of a dissector (listed below);\n"
    "                         repeatable\n"
    "      --protocols DIR    load the user protocol definitions of DIR (*.yaml, *.yml;\n"
    "                         docs/userproto.md); repeatable; each protocol adds a\n"
    "                         proto.<name> column. None are loaded by default\n"
    "      --route P:V=NAME   route value V of parent P to user protocol NAME: P is udp\n"
    "                         or tcp (V a port, after the built-in dissectors) or a\n"
    "                         loaded protocol (V its next_protocol value); repeatable\n"
    "      --vxlan-port PORT  also decode UDP PORT as VXLAN (4789 always is); repeatable\n"
    "      --tcp-stream-limit N   reassemble every TCP stream, keeping the first N bytes of\n"
    "                         each direction in sequence order (default 0: only the\n"
    "                         flows a stream dissector claims, 64 KiB a direction)\n"
    "      --signatures FILE  match the payload signatures of the YAML rules FILE (e.g.\n"
    "                         protocols/signatures.yaml) in each flow direction, TCP in\n"
    "                         sequence order; adds the app and signatures columns\n"
    "                         (docs/signatures.md)\n"
    "      --signature-depth BYTES  scan at most BYTES of each direction (default 65536)\n"
    "      --no-reassembly    do not reassemble IP fragments (a non-first fragment\n"
    "                         then forms a flow of its own with ports 0)\n"
    "      --compat           the original wa1kpcap's numbers: no TCP splitting or\n"
    "                         timeouts, UDP payload_bytes 0, 100000 flows\n"
    "                         (docs/design.md, Compatibility mode)\n"
    "      --max-flows N      most flows held at once (default 10000000; 0 = no cap);\n"
    "                         beyond it the least recently used flow ends as 'evicted'\n"
    "      --ring-slots N     slots per reader->worker ring, a power of two >= 2\n"
    "                         (default " RING_SLOTS_TEXT "; small values are for testing)\n"
    "      --strict           a capture cut inside a record, or damaged, is an error,\n"
    "                         not a warning\n"
    "      --resync           after a damaged record, look for the next good records\n"
    "                         and go on (skipped ranges are warnings and in the\n"
    "                         summary); default: stop there. mmap reader only\n"
    "      --bench-discard    benchmark the reader: workers drop packets unprocessed\n"
    "\n"
    "Live capture (wa1kpcap live):\n"
    "  -i, --interface IFACE  the interface to capture on ('any': all of them)\n"
    "      --count N          end the capture after N packets\n"
    "      --duration S       end the capture after S seconds\n"
    "      --snaplen BYTES    bytes kept of each packet (default 262144)\n"
    "      --buffer-size BYTES  the kernel's capture buffer (default libpcap's, 2 MiB)\n"
    "      --no-promisc       do not put the interface in promiscuous mode\n"
    "\n"
    "Other:\n"
    "  -q, --quiet            no progress bar\n"
    "  -h, --help             this text\n"
    "  -V, --version          the version of wa1kpcap and of the libraries it runs\n"
    "                         with\n"
    "\n"
    "Exit status:\n"
    "  0                      success (warnings, e.g. a cut capture, go to stderr)\n"
    "  1                      failure: one line on stderr names the file and the\n"
    "                         problem; no output file is left\n"
    "  2                      usage error (a bad option or value)\n"
    "  130, 143               stopped by SIGINT, SIGTERM; no output file is left (live:\n"
    "                         by a second signal)\n"
    "  141                    standard output closed by its reader (SIGPIPE, as in\n"
    "                         `wa1kpcap analyze x.pcap | head`)\n";

/* The usage text, then the options of this build's dissectors. */
static inline void help(FILE *out)
{
    fputs(usage_text, out);
    const char *name, *line;
    for (size_t i = 0; wkp_app_option_info(i, &name, &line); i++)
        fprintf(out, "%s  %-24s %s\n", i ? "" : "\nDissector options (--app-option):\n", name,
                line);
}

/* The values an option's argument takes, for the completions (each is
 * checked against the CLI by tests/e2e/doc_check.sh). */
#define WKP_CLI_FORMATS  "csv json ndjson jsonl table none"
#define WKP_CLI_READERS  "auto mmap libpcap"
#define WKP_CLI_APPLAYER "full port_only none"

#endif
