#!/bin/sh
# Regenerate tests/data/expected/*.truth.json (see README.md). Needs tshark and /work/shared/tools.
set -eu
cd "$(dirname "$0")/.."
TOOL=${TSHARK_FLOWS:-/work/shared/tools/tshark_flows.py}
BAD="libpcap__pcap-invalid-version-1.pcap libpcap__shb-option-too-long.pcapng"
BAD="$BAD libpcap__linktype-reserved-field-not-zero.pcap made__user0.pcap"
# made__mpls_pw.pcap: tshark's pseudowire heuristic takes the all-zero control word for the start
# of a destination MAC (OUI 00:00:00 is known), so decode label 300 as an Ethernet PW with control
# word: the tool runs a tshark that adds `-d mpls.label==300,pwethcw` (tshark_flows.py has no option).
SHIM=$(mktemp -d)
trap 'rm -rf "$SHIM"' EXIT
printf '#!/bin/sh\nexec %s -d mpls.label==300,pwethcw "$@"\n' "$(command -v tshark)" > "$SHIM/tshark"
chmod +x "$SHIM/tshark"
# Tunnels in fragmented outer IPv4: tshark_flows.py sizes a reassembled datagram from the
# innermost IP header's fields, which here is not the reassembled one; their truth is written
# by hand from tshark's fields (README.md) and is not regenerated.
HAND="made__gre_frag.pcap made__vxlan_frag.pcap"
for cap in *.pcap *.pcapng; do
  case " $BAD $HAND " in *" $cap "*) continue ;; esac
  case $cap in
    made__mpls_pw.pcap) PATH="$SHIM:$PATH" python3 "$TOOL" "$cap" > "expected/$cap.truth.json" ;;
    *) python3 "$TOOL" "$cap" > "expected/$cap.truth.json" ;;
  esac
done
# --resync truths: tshark on the parts before and after each damage (resync_truth.py)
TSHARK_FLOWS=$TOOL python3 expected/resync_truth.py
