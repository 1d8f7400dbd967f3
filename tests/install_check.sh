#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds examples/flow_count.c
# against the installed copy with pkg-config, then runs it on a capture:
# single.pcap has one TCP flow of 27 packets (tshark -z conv,tcp).
set -euo pipefail
build_dir=$1
src_dir=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name wa1kpcap.pc -printf '%h\n' | head -1)
export PKG_CONFIG_PATH=$libdir
cc -std=c11 -Wall -Werror "$src_dir/examples/flow_count.c" $(pkg-config --cflags wa1kpcap) \
    -o "$prefix/flow_count" $(pkg-config --libs wa1kpcap)
out=$(LD_LIBRARY_PATH="$libdir/.." "$prefix/flow_count" "$src_dir/tests/data/wa1kpcap__single.pcap")
echo "$out"
if [ "$out" = "TCP flows=1 packets=27" ]; then
    echo "1 passed, 0 failed"
else
    echo "0 passed, 1 failed"
    exit 1
fi
