#!/bin/sh
# Output must not depend on the thread count, the ring size or the reader
# (docs/output.md, "When a flow ends, and the order of the output").
#
#   threads_check.sh WA1KPCAP_BINARY DATA_DIR [CAPTURE...]
#
# For each capture (default: every capture that has DATA_DIR/expected/CAPTURE.truth.json, i.e.
# every readable one) and each format (csv, ndjson): the output of -t 1 is the reference;
# -t 2, -t 4, -t 8, -t 4 --ring-slots 2, -t 3 --ring-slots 2 with a one-flow hand-off
# (WKP_HANDOFF_FLOWS=1), and -t 1 and -t 4 with --parse-in workers must be
# byte-identical to it, and so must
# --reader libpcap against --reader mmap, unless libpcap refuses the file (non-zero exit: skipped,
# and said so). A capture that known_differences.txt (beside this script) marks "refused:" is
# expected to be rejected: it is skipped when -t 1 rejects it.
# Last line: `N passed, N failed`; exit status 0 iff nothing failed.
set -u
BIN=$1
DATA=$2
KNOWN=$(dirname "$0")/known_differences.txt
shift 2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wkp-threads.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
pass=0
fail=0

if [ $# -eq 0 ]; then
  for t in "$DATA"/expected/*.truth.json; do
    n=$(basename "$t" .truth.json)
    set -- "$@" "$n"
  done
fi

run() { # run OUTFILE CAPTURE FORMAT ARGS... -> exit status of the CLI
  out=$1 cap=$2 fmt=$3
  shift 3
  "$BIN" analyze "$cap" -f "$fmt" -o "$out" -q "$@" 2>"$out.err"
}

same() { # same LABEL REF OUT
  if cmp -s "$2" "$3"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $1: output differs from -t 1"
    diff "$2" "$3" | head -5 | sed 's/^/  /'
  fi
}

for name in "$@"; do
  cap=$DATA/$name
  for fmt in csv ndjson; do
    ref=$WORK/ref.$fmt
    if ! run "$ref" "$cap" "$fmt" -t 1; then
      if grep -q "^$name refused:" "$KNOWN" 2>/dev/null; then
        echo "skip $name $fmt: refused, as known_differences.txt expects: $(head -1 "$ref.err")"
        continue
      fi
      fail=$((fail + 1))
      echo "FAIL $name $fmt -t 1: exit status non-zero: $(head -1 "$ref.err")"
      continue
    fi
    # --parse-in workers: plain frames keyed from fixed offsets by the reader
    # and parsed by their worker (docs/design.md, "Reader and workers")
    for variant in "-t 2" "-t 4" "-t 8" "-t 4 --ring-slots 2" "-t 3 --ring-slots 2" \
      "-t 1 --parse-in workers" "-t 4 --parse-in workers"; do
      # -t 3: a worker -> merger hand-off of one flow (a test hook), so every
      # flow waits for the merger: order and progress under constant back-pressure
      if [ "$variant" = "-t 3 --ring-slots 2" ]; then export WKP_HANDOFF_FLOWS=1; fi
      # shellcheck disable=SC2086 # the variant is meant to split into arguments
      if run "$WORK/v.$fmt" "$cap" "$fmt" $variant; then
        same "$name $fmt $variant" "$ref" "$WORK/v.$fmt"
      else
        fail=$((fail + 1))
        echo "FAIL $name $fmt $variant: exit status non-zero: $(head -1 "$WORK/v.$fmt.err")"
      fi
      unset WKP_HANDOFF_FLOWS
    done
    if run "$WORK/lp.$fmt" "$cap" "$fmt" -t 2 --reader libpcap; then
      if run "$WORK/mm.$fmt" "$cap" "$fmt" -t 2 --reader mmap; then
        if cmp -s "$WORK/lp.$fmt" "$WORK/mm.$fmt"; then
          pass=$((pass + 1))
        else
          fail=$((fail + 1))
          echo "FAIL $name $fmt: --reader libpcap and --reader mmap differ"
          diff "$WORK/lp.$fmt" "$WORK/mm.$fmt" | head -5 | sed 's/^/  /'
        fi
      else
        fail=$((fail + 1))
        echo "FAIL $name $fmt --reader mmap: exit status non-zero: $(head -1 "$WORK/mm.$fmt.err")"
      fi
    else
      echo "skip $name $fmt: libpcap refuses it: $(head -1 "$WORK/lp.$fmt.err")"
    fi
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
