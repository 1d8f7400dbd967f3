#!/bin/sh
# The read window (docs/design.md, "Reading a capture file") against the
# file's mapping, through the whole engine: a 40 MiB generated capture, so
# that the workers give chunks back and the reader moves them ahead many
# times, must give byte-identical CSV both ways, at -t 1 and -t 2 and with
# the workers parsing.
#
#   window_check.sh WA1KPCAP_BINARY WKP_GEN_BINARY
set -eu
BIN=$1
GEN=$2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wkp-window.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
"$GEN" --seed 3 --size 40M --flows 5000 -o "$WORK/cap.pcap"
fail=0
for variant in "-t 1" "-t 2" "-t 2 --parse-in workers"; do
  # shellcheck disable=SC2086 # the variant is meant to split into arguments
  WKP_READ_WINDOW=0 "$BIN" analyze "$WORK/cap.pcap" -q -f csv -o "$WORK/map.csv" $variant
  # shellcheck disable=SC2086
  WKP_READ_WINDOW=1 "$BIN" analyze "$WORK/cap.pcap" -q -f csv -o "$WORK/win.csv" $variant
  rows=$(wc -l < "$WORK/win.csv")
  if [ "$rows" -lt 1000 ]; then
    echo "FAIL $variant: only $rows lines"
    fail=1
  elif cmp -s "$WORK/map.csv" "$WORK/win.csv"; then
    echo "ok $variant: $rows lines, identical"
  else
    echo "FAIL $variant: the window's CSV differs from the mapping's"
    fail=1
  fi
done
exit $fail
