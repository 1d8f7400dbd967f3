#!/usr/bin/env bash
# Peers side by side: the libpcap floor, wa1kpcap and the flow tools that are
# installed, on one capture in one invocation; table, JSON and an SVG bar chart.
#
#   bench/peers.sh [--reps 3] [--slow-reps 1] [--out DIR] [--skip "tshark ..."] [--extra "ARGS"] CAPTURE
#
# Rows (a missing tool is skipped with a line saying so):
#   floor          wkp-floor FILE
#   wa1kpcap       analyze FILE -q -f none -t 1|2; analyze FILE -q -f csv -o OUT -t 1|2
#   ndpiReader     -i FILE -q -C OUT.csv       (full DPI, one flow CSV row a flow)
#   argus          -r FILE -w OUT.argus        (bidirectional flow records)
#   tshark         -r FILE -q -z conv,tcp -z conv,udp  (conversation tables)
#   softflowd      -r FILE -v 10 -b -6 -n 127.0.0.1:9  (bidirectional IPFIX to a closed port)
#   nfpcapd        -r FILE -w DIR              (unidirectional NetFlow records, nfcapd files)
# tshark runs --slow-reps times (default 1: it takes minutes on 1 GiB), the others
# --reps times. softflowd runs under `timeout` (see --sf-timeout): 1.1.0 blocks
# on its control socket when reading a file and never exits. --extra is appended
# to every wa1kpcap command (e.g. "--protocols protocols --signatures
# protocols/signatures.yaml": every dissector and the signatures on).
#
# Environment: WKP_BIN (default ../build-rel/wa1kpcap, else ../build/wa1kpcap),
#              WKP_FLOOR (default bench/wkp-floor beside WKP_BIN).
# Output (DIR, default ./peers-out): runs.tsv (every run), peers.json, peers.svg;
# the table goes to stdout, progress to stderr. Wall is a nanosecond clock
# around the process, CPU is user + sys and peak RSS is %M of GNU time.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
reps=3
slow_reps=1
out=./peers-out
skip=""
sf_timeout=120
extra=""

usage() {
    sed -n '5p' "${BASH_SOURCE[0]}" | sed 's/^#  */usage: /' >&2
    exit 2
}
while [[ $# -gt 0 ]]; do
    case $1 in
    --reps) reps=${2:?}; shift 2 ;;
    --slow-reps) slow_reps=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --skip) skip=${2-}; shift 2 ;;
    --sf-timeout) sf_timeout=${2:?}; shift 2 ;;
    --extra) extra=${2-}; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "peers.sh: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
done
[[ $# -eq 1 ]] || usage
capture=$(readlink -f "$1")
[[ -r $capture ]] || { echo "peers.sh: $capture: cannot read" >&2; exit 2; }
gnu_time=/usr/bin/time
if ! [[ -x $gnu_time ]] || ! "$gnu_time" --version 2>&1 | grep -q GNU; then
    echo "peers.sh: GNU time not found at /usr/bin/time (Debian: apt-get install time)" >&2
    exit 2
fi
if [[ -n ${WKP_BIN-} ]]; then
    wkp_bin=$WKP_BIN
elif [[ -x $here/../build-rel/wa1kpcap ]]; then
    wkp_bin=$here/../build-rel/wa1kpcap
else
    wkp_bin=$here/../build/wa1kpcap
fi
floor=${WKP_FLOOR:-$(dirname "$wkp_bin")/bench/wkp-floor}
[[ -x $floor ]] || { echo "peers.sh: wkp-floor not found at $floor (set WKP_FLOOR)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
runs=$out/runs.tsv
printf 'tool\tthreads\trun\twall_s\tuser_s\tsys_s\trss_kib\trc\tcommand\twhat\n' >"$runs"

# measure TOOL THREADS REP WHAT CMD...: one run, appended to runs.tsv.
measure() {
    local tool=$1 nthr=$2 rep=$3 what=$4 t0 t1 rc wall
    shift 4
    t0=$(date +%s%N)
    set +e
    "$gnu_time" -f "%U %S %M" -o "$scratch/time" "$@" >"$scratch/out" 2>"$scratch/err"
    rc=$?
    set -e
    t1=$(date +%s%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    read -r u s m < <(tail -n 1 "$scratch/time")
    local cmd="$*"
    cmd=${cmd//$capture/FILE}
    cmd=${cmd//$scratch\/o/OUT}
    cmd=${cmd//$wkp_bin/wa1kpcap}
    cmd=${cmd//$floor/wkp-floor}
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$nthr" "$rep" "$wall" "$u" "$s" \
        "$m" "$rc" "$cmd" "$what" >>"$runs"
    printf '  %-22s run %d: %9.3f s wall %8.2f s CPU %8s KiB rc %d\n' "$tool" "$rep" "$wall" \
        "$(awk -v a="$u" -v b="$s" 'BEGIN { print a + b }')" "$m" "$rc" >&2
    run_rc=$rc
}

skipped() { [[ " $skip " == *" $1 "* ]]; }

# row TOOL THREADS N WHAT CMD...: N runs; a failed run ends the row.
row() {
    local tool=$1 nthr=$2 n=$3 what=$4 i
    shift 4
    for ((i = 1; i <= n; i++)); do
        rm -rf "$scratch/o"
        mkdir -p "$scratch/o"
        measure "$tool" "$nthr" "$i" "$what" "$@"
        if [[ $run_rc -ne 0 ]]; then
            echo "peers.sh: $tool: exit $run_rc: $(head -c 300 "$scratch/err" | head -n 2 | tr '\n' ' ')" >&2
            return 0
        fi
    done
}

have() {
    if skipped "$1"; then
        echo "peers.sh: $1 skipped (--skip)" >&2
        return 1
    fi
    if ! command -v "$2" >/dev/null 2>&1; then
        echo "peers.sh: $1 not installed ($2 not found); skipped" >&2
        return 1
    fi
}

echo "peers.sh: warming the page cache with $capture" >&2
cat "$capture" >/dev/null
echo "peers.sh: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
load0=$(cut -d' ' -f1-3 /proc/loadavg)

row floor 1 "$reps" "bare libpcap read loop (pcap_next_ex), no decoding" "$floor" "$capture"
packets=$(awk '{ for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' "$scratch/out")
[[ -n $packets ]] || { echo "peers.sh: the floor failed; is $capture a pcap?" >&2; exit 1; }
if [[ -x $wkp_bin ]]; then
    read -r -a extra_args <<<"$extra"
    for t in 1 2; do
        row "wa1kpcap -f none" "$t" "$reps" \
            "bidirectional flows, all features and dissectors, no output" \
            "$wkp_bin" analyze "$capture" -q -f none -t "$t" "${extra_args[@]}"
        row "wa1kpcap -f csv" "$t" "$reps" \
            "the same, one CSV row a flow written to a file" \
            "$wkp_bin" analyze "$capture" -q -f csv -o "$scratch/o/flows.csv" -t "$t" "${extra_args[@]}"
    done
else
    echo "peers.sh: $wkp_bin not found (set WKP_BIN); wa1kpcap rows skipped" >&2
fi
if have ndpiReader ndpiReader; then
    # -n is ignored for pcap files: one reader/detection thread.
    row ndpiReader 1 "$reps" "full nDPI detection, bidirectional flows, one CSV row a flow" \
        ndpiReader -i "$capture" -q -C "$scratch/o/ndpi.csv"
fi
if have argus argus; then
    row argus 1 "$reps" "bidirectional flow records (argus binary), status records every 60 s" \
        argus -r "$capture" -w "$scratch/o/flows.argus"
fi
if have tshark tshark; then
    row tshark 1 "$slow_reps" "full Wireshark dissection, TCP and UDP conversation tables" \
        tshark -r "$capture" -q -z conv,tcp -z conv,udp
fi
if have softflowd softflowd; then
    row softflowd 1 1 "bidirectional flows exported as IPFIX (-b) to a closed UDP port" \
        timeout "$sf_timeout" softflowd -r "$capture" -v 10 -b -6 -n 127.0.0.1:9 \
        -c "$scratch/o/sf.ctl" -p "$scratch/o/sf.pid"
    if [[ $run_rc -eq 124 ]]; then
        echo "peers.sh: softflowd did not exit within $sf_timeout s (1.1.0 waits on its control socket after -r); no figures" >&2
    fi
fi
if have nfpcapd nfpcapd; then
    row nfpcapd 1 "$reps" "unidirectional NetFlow records written as nfcapd files (5 min slices)" \
        nfpcapd -r "$capture" -w "$scratch/o"
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "peers.sh: load average after: $load1" >&2

/usr/bin/python3 "$here/peers_report.py" "$runs" "$capture" "$packets" "$out" "$load0" "$load1"
