#!/bin/sh
# Regenerate the filter truths of this directory (see README.md). Needs tcpdump and tshark;
# the tests themselves need neither. Usage: sh make_truth.sh   (from any directory)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/../..
FLOWS=${WKP_TSHARK_FLOWS:-/work/shared/tools/tshark_flows.py}
CAPS="wa1kpcap__multi.pcap tcpdump__various_gre.pcap tcpdump__vxlan.pcap zeek__mpls-in-vlan.pcap
made__geneve.pcap tcpdump__dhcp-rfc4388.pcap"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
grep -v '^#' "$HERE/cases.tsv" | while IFS='	' read -r slug expr how; do
  for cap in $CAPS; do
    in=$DATA/$cap
    case $how in
      bpf)
        tcpdump -r "$in" -w "$TMP/x.pcap" "($expr) or (vlan and ($expr))" 2>/dev/null ;;
      tshark:*)
        tshark -r "$in" -Y "${how#tshark:}" -F pcap -w "$TMP/x.pcap" ;;
      bpf+tshark:*)
        spec=${how#bpf+tshark:}
        bpf=${spec%%|*}
        dfilter=${spec#*|}
        tcpdump -r "$in" -w "$TMP/y.pcap" "($bpf) or (vlan and ($bpf))" 2>/dev/null
        tshark -r "$TMP/y.pcap" -Y "$dfilter" -F pcap -w "$TMP/x.pcap" ;;
    esac
    python3 "$FLOWS" "$TMP/x.pcap" > "$HERE/${cap}__${slug}.truth.json"
  done
done
