#!/bin/sh
# Run one program under valgrind's memcheck: any error (an uninitialised
# value used, an invalid access, a definite or indirect leak) fails the test.
# Skipped (exit 77) when valgrind is not installed.
# Usage: valgrind_check.sh WORKDIR PROGRAM ARGS...
command -v valgrind >/dev/null 2>&1 || { echo "skip: valgrind is not installed"; exit 77; }
dir=$1
shift
rm -rf "$dir" && mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect "$@"
rc=$?
cd / && rm -rf "$dir"
exit $rc
