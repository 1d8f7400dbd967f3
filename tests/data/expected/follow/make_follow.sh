#!/bin/sh
# Regenerate tests/data/expected/follow/*.follow from tshark (see README.md).
# Usage: make_follow.sh [tests/data dir]   (default: the directory two levels up)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${1:-$here/../..}
cd "$data"
for cap in wa1kpcap__*.pcap nDPI__*.pcap nDPI__*.pcapng zeek__*.pcap suricata-verify__*.pcap \
           tcpdump__*.pcap PcapPlusPlus__*.pcap PcapPlusPlus__*.pcapng; do
    [ -f "$cap" ] || continue
    streams=$(tshark -r "$cap" -T fields -e tcp.stream 2>/dev/null | { grep . || true; } | sort -un)
    [ -n "$streams" ] || continue
    args=""
    for s in $streams; do args="$args -z follow,tcp,raw,$s"; done
    # shellcheck disable=SC2086
    tshark -r "$cap" -q $args 2>/dev/null | python3 "$here/follow2digest.py" "$cap" 65536 \
        > "$here/$cap.follow"
done
