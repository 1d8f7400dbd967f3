#!/usr/bin/env bash
# The whole test suite: builds and runs every test three times over,
#   build/       the normal build (-Werror): unit, golden, malformed, tsan-driver, install
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer: the same tests
#   build-tsan/  ThreadSanitizer: the threaded-engine driver and the CLI tests
# Usage: bash tests/run_all.sh [--quick]   (--quick: the normal build only)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

build() { # dir, cmake args...
    local dir=$1
    shift
    cmake -S . -B "$dir" -DWKP_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
}

echo "== normal build"
build build
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${1:-}" = "--quick" ]; then
    exit 0
fi

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
build build-asan -DWKP_SANITIZE="address;undefined" -DWKP_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE tsan

echo "== ThreadSanitizer"
build build-tsan -DWKP_SANITIZE=thread -DWKP_BUILD_BENCH=OFF
TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs"
