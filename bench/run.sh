#!/usr/bin/env bash
# Benchmark runner: the libpcap floor, then `wa1kpcap analyze` at each worker
# count, each repeated --reps times; prints the medians as a table and JSON.
#
#   bench/run.sh [--threads "1 2"] [--reps 3] [--extra "ARGS"] [--json FILE] [--flood] CAPTURE
#
# --flood: the flow-flood case. CAPTURE may then be left out: the flood
# capture (wkp-gen --seed 7 --size 1500M --flows 3000000, 2.7 M flows, 2.3 M
# open at the end) is made at $WKP_FLOOD_PCAP (default /tmp/wkp-flood.pcap)
# unless that file exists; --threads defaults to "2".
#
# Environment: WKP_BIN   the CLI (default: ../build/wa1kpcap next to this script)
#              WKP_FLOOR wkp-floor (default: bench/wkp-floor beside WKP_BIN,
#                        then ../build-bench/bench/wkp-floor)
#
# Wall time is taken around each process with a nanosecond clock (GNU time's
# %e has 10 ms steps, too coarse for a 0.3 s floor); peak RSS is GNU time's %M.
# The capture is read once before the first measured run so every row sees a
# warm page cache: the numbers are CPU cost, not disk speed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
threads="1 2"
reps=3
extra=""
json=""
flood=0

usage() {
    sed -n '5p' "${BASH_SOURCE[0]}" | sed 's/^#  */usage: /' >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case $1 in
    --threads) threads=${2:?--threads needs a value}; shift 2 ;;
    --reps) reps=${2:?--reps needs a value}; shift 2 ;;
    --extra) extra=${2-}; shift 2 ;;
    --json) json=${2:?--json needs a file}; shift 2 ;;
    --flood) flood=1; shift ;;
    -h | --help) usage ;;
    --) shift; break ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
done
if [[ $flood -eq 1 && $# -eq 0 ]]; then
    set -- "${WKP_FLOOD_PCAP:-/tmp/wkp-flood.pcap}"
    flood_gen=1
fi
[[ $# -eq 1 ]] || usage
capture=$1
if [[ $flood -eq 1 && $threads == "1 2" ]]; then
    threads="2"
fi
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --reps must be a positive integer" >&2; exit 2; }
for t in $threads; do
    [[ $t =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad thread count '$t'" >&2; exit 2; }
done
gnu_time=/usr/bin/time
if ! [[ -x $gnu_time ]] || ! "$gnu_time" --version 2>&1 | grep -q GNU; then
    echo "run.sh: GNU time not found at /usr/bin/time (Debian: apt-get install time)" >&2
    exit 2
fi

wkp_bin=${WKP_BIN:-$here/../build/wa1kpcap}
if [[ -n ${WKP_FLOOR-} ]]; then
    floor=$WKP_FLOOR
elif [[ -x $(dirname "$wkp_bin")/bench/wkp-floor ]]; then
    floor=$(dirname "$wkp_bin")/bench/wkp-floor
else
    floor=$here/../build-bench/bench/wkp-floor
fi
[[ -x $floor ]] || { echo "run.sh: wkp-floor not found at $floor (set WKP_FLOOR)" >&2; exit 2; }
if [[ ${flood_gen-0} -eq 1 && ! -e $capture ]]; then
    gen=$(dirname "$floor")/wkp-gen
    [[ -x $gen ]] || { echo "run.sh: wkp-gen not found at $gen" >&2; exit 2; }
    echo "run.sh: making the flood capture $capture" >&2
    "$gen" --seed 7 --size 1500M --flows 3000000 -o "$capture" >&2
fi

[[ -r $capture ]] || { echo "run.sh: $capture: cannot read" >&2; exit 2; }
size=$(stat -c %s "$capture")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One measured run: sets run_wall, run_rss, run_rc; stdout/stderr in $tmp.
measure() {
    local t0 t1
    t0=$(date +%s%N)
    set +e
    "$gnu_time" -f "%e %M" -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err"
    run_rc=$?
    set -e
    t1=$(date +%s%N)
    run_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    # GNU time prefixes "Command exited with non-zero status N" on failure.
    run_rss=$(awk 'END { print $2 }' "$tmp/time")
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    m = int((NR + 1) / 2); if (NR % 2) print v[m]; else print (v[m] + v[m + 1]) / 2 }'; }

rows=()       # "tool|threads|wall|rss|walls"
packets=""

# run_row TOOL THREADS CMD...: reps runs; returns 1 (row skipped) if the first fails.
run_row() {
    local tool=$1 nthr=$2 walls="" rsss="" i
    shift 2
    for ((i = 1; i <= reps; i++)); do
        measure "$@"
        if [[ $run_rc -ne 0 ]]; then
            echo "run.sh: $tool -t $nthr: exit $run_rc: $(head -c 300 "$tmp/err" | head -n 2 | tr '\n' ' ')" >&2
            return 1
        fi
        walls+="$run_wall "
        rsss+="$run_rss "
        printf '  %-16s t=%-3s run %d/%d: %8.3f s %8s KiB\n' "$tool" "$nthr" "$i" "$reps" \
            "$run_wall" "$run_rss" >&2
    done
    rows+=("$tool|$nthr|$(median <<<"$walls")|$(median <<<"$rsss")|${walls% }")
}

echo "run.sh: warming the page cache with $capture ($size bytes)" >&2
cat "$capture" >/dev/null

if ! run_row floor 1 "$floor" "$capture"; then
    echo "run.sh: the floor failed; is $capture a pcap?" >&2
    exit 1
fi
packets=$(awk '{ for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }' "$tmp/out")

# shellcheck disable=SC2086 # --extra is split into words on purpose
if [[ ! -x $wkp_bin ]]; then
    echo "run.sh: $wkp_bin not found (set WKP_BIN); engine rows skipped" >&2
else
    if ! run_row "reader+dispatch" 1 "$wkp_bin" analyze "$capture" -f none -q -t 1 \
        --bench-discard $extra; then
        echo "run.sh: --bench-discard not accepted; reader+dispatch row skipped" >&2
    fi
    for t in $threads; do
        run_row wa1kpcap "$t" "$wkp_bin" analyze "$capture" -f none -q -t "$t" $extra || true
    done
fi

# Table and JSON from the rows.
# Wall time of the floor row: each row's "x floor" is its wall time over it.
floor_wall() {
    local r
    for r in "${rows[@]}"; do
        if [[ $r == floor\|* ]]; then cut -d'|' -f3 <<<"$r"; fi
    done
}

table() {
    printf '%-16s %7s %10s %9s %8s %12s %9s %13s\n' tool threads packets "wall s" "x floor" \
        packets/s MB/s "peak RSS MiB"
    local r tool nthr wall rss fw
    fw=$(floor_wall)
    for r in "${rows[@]}"; do
        IFS='|' read -r tool nthr wall rss _ <<<"$r"
        awk -v tool="$tool" -v t="$nthr" -v p="$packets" -v w="$wall" -v m="$rss" -v s="$size" \
            -v f="$fw" 'BEGIN { printf "%-16s %7s %10d %9.3f %8.2f %12.0f %9.1f %13.1f\n",
                     tool, t, p, w, w / f, p / w, s / w / 1e6, m / 1024 }'
    done
}

to_json() {
    local first=1 r tool nthr wall rss walls fw
    fw=$(floor_wall)
    printf '{\n  "capture": "%s",\n  "capture_bytes": %s,\n  "packets": %s,\n' \
        "$capture" "$size" "$packets"
    printf '  "host": {"cpus": %s, "kernel": "%s"},\n  "reps": %s,\n  "extra": "%s",\n' \
        "$(nproc)" "$(uname -r)" "$reps" "${extra//\"/\\\"}"
    printf '  "rows": [\n'
    for r in "${rows[@]}"; do
        IFS='|' read -r tool nthr wall rss walls <<<"$r"
        [[ $first -eq 1 ]] || printf ',\n'
        first=0
        awk -v tool="$tool" -v t="$nthr" -v p="$packets" -v w="$wall" -v m="$rss" -v s="$size" \
            -v ws="$walls" -v f="$fw" 'BEGIN { n = split(ws, a, " "); l = ""
                for (i = 1; i <= n; i++) l = l (i > 1 ? ", " : "") a[i]
                printf "    {\"tool\": \"%s\", \"threads\": %d, \"wall_s\": %.4f, " \
                       "\"floor_ratio\": %.3f, \"packets_per_s\": %.0f, \"mb_per_s\": %.1f, \"peak_rss_mib\": %.1f, " \
                       "\"walls_s\": [%s]}", tool, t, w, w / f, p / w, s / w / 1e6, m / 1024, l }'
    done
    printf '\n  ]\n}\n'
}

echo
table
echo
to_json
if [[ -n $json ]]; then
    to_json >"$json"
    echo "run.sh: JSON written to $json" >&2
fi
