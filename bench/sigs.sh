#!/bin/sh
# Cost of payload signatures: wa1kpcap analyze -f none on one capture, without
# signatures, with the shipped rules, and with 1,000 and 10,000 generated
# literal rules, at each worker count; user CPU seconds, wall seconds and peak
# RSS from /usr/bin/time -v, plus the signatures block of the run summary
# (database and stream memory). See bench/README.md, "Signatures".
#
# usage: bench/sigs.sh CLI CAPTURE [THREADS...]   (default threads: 1 2)
set -eu
cli=$1
cap=$2
shift 2
threads=${*:-1 2}
dir=$(mktemp -d /tmp/wkp-sigs-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
here=$(cd "$(dirname "$0")" && pwd)

# N literal rules: 12 bytes of a fixed PRNG each (Python's random, seed N),
# hex-escaped, direction any; deterministic.
gen() {
    python3 - "$1" > "$2" <<'PY'
import random, sys
n = int(sys.argv[1])
rnd = random.Random(n)
for i in range(n):
    lit = "".join("\\\\x%02x" % rnd.randrange(256) for _ in range(12))
    print('- {id: %d, name: lit-%d, pattern: "%s", direction: any, label: L%d}' % (i + 1, i + 1, lit, i % 50))
PY
}
gen 1000 "$dir/lit1k.yaml"
gen 10000 "$dir/lit10k.yaml"

packets=$(capinfos -c -M "$cap" 2>/dev/null | awk -F': *' '/Number of packets/ {print $2}')
printf '%-10s %3s %10s %10s %10s %12s %12s %14s\n' rules -t user_s wall_s rss_MiB ns/pkt_user db_bytes stream_peak_B
for rules in none shipped lit1k lit10k; do
    case $rules in
    none) opt= ;;
    shipped) opt="--signatures $here/../protocols/signatures.yaml" ;;
    *) opt="--signatures $dir/$rules.yaml" ;;
    esac
    for t in $threads; do
        # shellcheck disable=SC2086
        /usr/bin/time -v "$cli" analyze -q -t "$t" $opt -f none --summary "$dir/s.json" "$cap" \
            2> "$dir/time.txt"
        user=$(awk -F': ' '/User time/ {print $2}' "$dir/time.txt")
        wall=$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$dir/time.txt" |
            awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
        rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$dir/time.txt")
        db=$(grep -o '"database_bytes": [0-9]*' "$dir/s.json" | awk '{print $2}')
        peak=$(grep -o '"stream_memory_peak_bytes": [0-9]*' "$dir/s.json" | awk '{print $2}')
        printf '%-10s %3s %10s %10s %10s %12.0f %12s %14s\n' "$rules" "$t" "$user" "$wall" "$rss" \
            "$(echo "$user $packets" | awk '{print $1 * 1e9 / $2}')" "${db:--}" "${peak:--}"
    done
done
