#!/usr/bin/env bash
# The whole test suite, in three builds:
#   build/       the normal build (-Werror): every test
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (build-asan-clang/, built by
#                clang, when clang and its sanitizer runtimes are installed): the tests labelled
#                san (unit, malformed input, fuzz smoke runs, golden outputs, the threaded-engine
#                tests and the per-capture tests of a sample of captures: tests/e2e/CMakeLists.txt)
#   build-tsan/  ThreadSanitizer: the same, less the unit tests (Criterion cannot start
#                under TSan) and two long e2e tests of single-threaded paths (output files
#                and signals, decompression: tests/e2e/CMakeLists.txt), plus the TSan drivers
#                (tests/tsan)
# `ctest -L san` in build/ runs the sanitizers' selection; `ctest` in a sanitizer build runs
# every test registered there. ctest runs as many tests at once as there are CPUs.
# Usage: bash tests/run_all.sh [--quick]   (--quick: the normal build only)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

build() { # dir, cmake args...
    local dir=$1
    shift
    cmake -S . -B "$dir" -DWKP_WERROR=ON -DWKP_HYPERSCAN=REQUIRED \
        -DWKP_ZLIB=REQUIRED -DWKP_ZSTD=REQUIRED -DWKP_LZMA=REQUIRED -DWKP_LZ4=REQUIRED "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
}

echo "== normal build"
build build
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${1:-}" = "--quick" ]; then
    exit 0
fi

# Clang when it and its sanitizer runtimes are installed (.ci/run installs them): its UBSan
# also checks what GCC's does not, e.g. arithmetic on a null pointer. Each compiler builds
# in a directory of its own.
if command -v clang >/dev/null 2>&1 &&
    echo 'int main(void) { return 0; }' |
    clang -x c -fsanitize=address,undefined -o /dev/null - >/dev/null 2>&1; then
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
    asan=build-asan-clang
    CC=clang build "$asan" -DWKP_SANITIZE="address;undefined" -DWKP_BUILD_BENCH=OFF
else
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
    asan=build-asan
    build "$asan" -DWKP_SANITIZE="address;undefined" -DWKP_BUILD_BENCH=OFF
fi
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$asan" --output-on-failure -j"$jobs" -L san -LE tsan

echo "== ThreadSanitizer"
build build-tsan -DWKP_SANITIZE=thread -DWKP_BUILD_BENCH=OFF
TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/tests/tsan.supp" \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" -L san
