#!/usr/bin/env bash
# Big captures (bench only, not CI): a pcap and a pcapng of more than 4 GiB, so that
# file offsets, bytes read and progress pass 2^32, read by both readers.
#
#   bench/big.sh [--size 4400M] [--dir DIR] [--keep]
#
# wkp-gen writes each capture (--pcapng for the second) into DIR (default: a new directory
# under /var/tmp; needs about twice --size of free disk). For each, `wa1kpcap analyze -f none
# --summary` runs with --reader mmap and --reader libpcap; packets read, bytes read and flows
# must agree between the two readers, and packets read must equal the count wkp-gen reported
# writing (and capinfos's, when capinfos is installed). The files are deleted afterwards
# unless --keep. Environment: WKP_BIN, WKP_GEN (default: beside this script's ../build).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
size=4400M
dir=""
keep=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --size) size=${2:?--size needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a directory}; shift 2 ;;
    --keep) keep=1; shift ;;
    *) sed -n '5p' "${BASH_SOURCE[0]}" | sed 's/^#  */usage: /' >&2; exit 2 ;;
    esac
done
wkp_bin=${WKP_BIN:-$here/../build/wa1kpcap}
gen=${WKP_GEN:-$(dirname "$wkp_bin")/bench/wkp-gen}
[[ -x $wkp_bin && -x $gen ]] || { echo "big.sh: need $wkp_bin and $gen (build with bench on)" >&2; exit 2; }
if [[ -z $dir ]]; then
    dir=$(mktemp -d /var/tmp/wkp-big.XXXXXX)
    made_dir=1
else
    made_dir=0
fi
cleanup() {
    if [[ $keep -eq 0 ]]; then
        rm -f "$dir"/big.pcap "$dir"/big.pcapng "$dir"/*.json
        [[ $made_dir -eq 1 ]] && rmdir "$dir" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fail=0
for ext in pcap pcapng; do
    f=$dir/big.$ext
    flag=""
    [[ $ext == pcapng ]] && flag=--pcapng
    t0=$(date +%s)
    # shellcheck disable=SC2086 # $flag is empty or one word
    gen_out=$(nice -n 10 "$gen" --seed 3 --size "$size" $flag -o "$f")
    echo "$gen_out" | head -1
    want=$(echo "$gen_out" | sed -n '1s/.* bytes, \([0-9]*\) packets.*/\1/p')
    bytes=$(stat -c %s "$f")
    echo "  $(basename "$f"): $bytes bytes (2^32 = 4294967296), written in $(($(date +%s) - t0)) s"
    if command -v capinfos >/dev/null; then
        cap=$(capinfos -c -M "$f" 2>/dev/null | awk -F: '/Number of packets/ { gsub(/ /, "", $2); print $2 }')
        echo "  capinfos: $cap packets"
        [[ $cap == "$want" ]] || { echo "  FAIL capinfos $cap != wkp-gen $want"; fail=1; }
    fi
    for reader in mmap libpcap; do
        s=$dir/$ext.$reader.json
        t0=$(date +%s.%N)
        nice -n 10 "$wkp_bin" analyze -q -t 2 -f none --reader "$reader" --summary "$s" "$f"
        t1=$(date +%s.%N)
        read -r pkts wire flows done <<<"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["packets"]["packets_read"], d["bytes_read"], d["flows"], d["files"][0]["packets"])' "$s")"
        printf '  %-7s packets %s  wire bytes %s  flows %s  (%.1f s)\n' "$reader" "$pkts" "$wire" \
            "$flows" "$(echo "$t1 - $t0" | bc)"
        [[ $pkts == "$want" && $done == "$want" ]] || { echo "  FAIL $reader read $pkts packets, wkp-gen wrote $want"; fail=1; }
        eval "${reader}_res='$pkts $wire $flows'"
    done
    # shellcheck disable=SC2154 # set by the eval above
    [[ $mmap_res == "$libpcap_res" ]] || { echo "  FAIL readers differ: mmap $mmap_res, libpcap $libpcap_res"; fail=1; }
    rm -f "$f"
done
[[ $fail -eq 0 ]] && echo "big.sh: ok" || echo "big.sh: FAILED"
exit $fail
