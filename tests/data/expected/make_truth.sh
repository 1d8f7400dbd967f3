#!/bin/sh
# Regenerate tests/data/expected/*.truth.json (see README.md). Needs tshark and /work/shared/tools.
set -eu
cd "$(dirname "$0")/.."
TOOL=${TSHARK_FLOWS:-/work/shared/tools/tshark_flows.py}
BAD="libpcap__pcap-invalid-version-1.pcap libpcap__shb-option-too-long.pcapng"
BAD="$BAD libpcap__linktype-reserved-field-not-zero.pcap made__user0.pcap"
for cap in *.pcap *.pcapng; do
  case " $BAD " in *" $cap "*) continue ;; esac
  python3 "$TOOL" "$cap" > "expected/$cap.truth.json"
done
