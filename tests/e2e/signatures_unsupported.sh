#!/bin/sh
# A build without Hyperscan: --signatures fails before reading anything,
# exit 1, one line saying the build has no signature support.
# usage: signatures_unsupported.sh CLI RULES CAPTURE
out=$("$1" analyze -q --signatures "$2" -o /dev/null "$3" 2>&1)
rc=$?
echo "$out"
[ "$rc" -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] &&
    echo "$out" | grep -q "this build has no signature support"
