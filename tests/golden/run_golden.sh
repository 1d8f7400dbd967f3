#!/bin/sh
# Golden output test: tests/golden/<case>/args holds the CLI arguments (one line, the
# capture path relative to tests/data, then options); expected.<fmt> holds the bytes
# the CLI must write for each format present (csv, ndjson, json). Each case runs at
# -t 1, 2 and 4, and at -t 2 with 2-slot rings and a one-flow hand-off, and must match
# byte for byte. WKP_UPDATE_GOLDEN=1 rewrites the expected
# files from the -t 1 run instead (review the diff: it lands in the commit that caused it).
# The values in these files are held against independent truth elsewhere: tshark's
# per-flow counts (e2e.truth.*), the original's sequences and statistics (e2e.compat_raw.*),
# a two-pass recomputation of the statistics (unit.test_lifecycle).
# Usage: run_golden.sh WA1KPCAP CASE_DIR DATA_DIR      Last line: N passed, N failed
set -u
BIN=$1 CASE=$2 DATA=$3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wkp-golden.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
read -r cap args < "$CASE/args"
pass=0 fail=0
for exp in "$CASE"/expected.*; do
    fmt=${exp##*.}
    for t in 1 2 4 2s; do
        # 2s: -t 2 with 2-slot rings and a one-flow worker -> merger hand-off
        # (a test hook): constant back-pressure must not change a byte
        extra=
        unset WKP_HANDOFF_FLOWS
        if [ "$t" = 2s ]; then t=2 extra="--ring-slots 2"; export WKP_HANDOFF_FLOWS=1; fi
        # shellcheck disable=SC2086 # args split into words on purpose
        if ! "$BIN" analyze "$DATA/$cap" $args $extra -q -t "$t" -f "$fmt" -o "$WORK/out.$fmt" 2>"$WORK/err"; then
            fail=$((fail + 1))
            echo "FAIL $(basename "$CASE") $fmt -t $t: $(head -1 "$WORK/err")"
            continue
        fi
        if [ "${WKP_UPDATE_GOLDEN:-0}" = 1 ] && [ "$t" = 1 ]; then
            cp "$WORK/out.$fmt" "$exp"
        fi
        if cmp -s "$exp" "$WORK/out.$fmt"; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "FAIL $(basename "$CASE") $fmt -t $t differs from $(basename "$exp"):"
            diff "$exp" "$WORK/out.$fmt" | head -4 | cut -c1-300
        fi
    done
    unset WKP_HANDOFF_FLOWS
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
