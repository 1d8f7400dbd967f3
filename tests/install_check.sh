#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds examples/flow_count.c
# against the installed copy with pkg-config, then runs it on a capture:
# single.pcap has one TCP flow of 27 packets (tshark -z conv,tcp). Checks that the man
# page and the shell completions are installed too.
set -euo pipefail
build_dir=$1
src_dir=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name wa1kpcap.pc -printf '%h\n' | head -1)
export PKG_CONFIG_PATH=$libdir
cc -std=c11 -Wall -Werror "$src_dir/examples/flow_count.c" $(pkg-config --cflags wa1kpcap) \
    -o "$prefix/flow_count" $(pkg-config --libs wa1kpcap)
out=$(LD_LIBRARY_PATH="$libdir/.." "$prefix/flow_count" "$src_dir/tests/data/wa1kpcap__single.pcap")
echo "pkg-config build: $out"

# The same example through the CMake package.
mkdir -p "$prefix/cm"
cat > "$prefix/cm/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(flow_count C)
find_package(wa1kpcap REQUIRED)
add_executable(flow_count_cm $src_dir/examples/flow_count.c)
target_link_libraries(flow_count_cm PRIVATE wa1kpcap::wa1kpcap_static)
CMAKE
cmake -S "$prefix/cm" -B "$prefix/cm/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/cm/build" >/dev/null
out2=$("$prefix/cm/build/flow_count_cm" "$src_dir/tests/data/wa1kpcap__single.pcap")
echo "cmake package build: $out2"

pass=0 fail=0
for o in "$out" "$out2"; do
    if [ "$o" = "TCP flows=1 packets=27" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
# The man page and the bash and zsh completions are installed where man and the shells look.
for f in share/man/man1/wa1kpcap.1 share/bash-completion/completions/wa1kpcap \
    share/zsh/vendor-completions/_wa1kpcap; do
    if [ -s "$prefix/$f" ]; then pass=$((pass + 1)); else fail=$((fail + 1)) && echo "missing: $f"; fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
