#!/bin/sh
# Remakes the compressed copies in this directory from the captures beside it
# (zstd 1.5.4, gzip 1.12, xz 5.4.1, lz4 1.9.4 on Debian 12). Run from tests/data/compressed.
set -eu
M=../wa1kpcap__multi.pcap
H=../nDPI__http_starting_with_reply.pcapng
B=../PcapPlusPlus__nanosecs_big_endian.pcap
zstd -19 -q -f -c "$M" > wa1kpcap__multi.pcap.zst
gzip -9 -n -c "$M" > wa1kpcap__multi.pcap.gz
xz -9 -c "$H" > nDPI__http_starting_with_reply.pcapng.xz
lz4 -9 -q -c "$H" > nDPI__http_starting_with_reply.pcapng.lz4
lz4 -9 -q -c "$B" > PcapPlusPlus__nanosecs_big_endian.pcap.lz4
xz -9 -c "$B" > PcapPlusPlus__nanosecs_big_endian.pcap.xz
# two gzip members, two zstd frames: the first 5000 bytes, then the rest
{ head -c 5000 "$H" | gzip -9 -n; tail -c +5001 "$H" | gzip -9 -n; } > nDPI__http_starting_with_reply.pcapng.2members.gz
{ head -c 5000 "$H" | zstd -19 -q; tail -c +5001 "$H" | zstd -19 -q; } > nDPI__http_starting_with_reply.pcapng.2frames.zst
