#!/usr/bin/env python3
"""TCP stream reassembly wired into the engine, against tshark's follow,tcp,raw.

tests/data/expected/follow/<capture>.follow lists, per TCP stream and direction, the number
of bytes `tshark -q -z follow,tcp,raw` prints (see its README). With one flow per 5-tuple
(--tcp-timeout 0 --tcp-close-timeout 0, retransmissions kept: the reassembler itself drops
their overlap) the engine's run summary must report, summed over all streams:
bytes_in_order == the sum of tshark's byte counts, and no gap.

Usage: tcpstream_check.py WA1KPCAP FOLLOW_FILE CAPTURE     (last line: N passed, N failed)
"""
import json, subprocess, sys, tempfile, os


def main(binary, follow, cap):
    total = 0
    for line in open(follow):
        if line.startswith("dir "):
            total += int(line.split()[2])
    with tempfile.TemporaryDirectory() as tmp:
        summ = os.path.join(tmp, "s.json")
        subprocess.run([binary, "analyze", cap, "-f", "none", "-q", "--summary", summ,
                        "--no-default-filter", "--keep-retrans", "--tcp-timeout", "0",
                        "--tcp-close-timeout", "0", "--no-reassembly", "--tcp-stream-limit", "65536"], check=True)
        ts = json.load(open(summ))["tcp_reassembly"]
    checks = [("bytes_in_order", ts["bytes_in_order"], total), ("gaps", ts["gaps"], 0)]
    passed = failed = 0
    for name, got, want in checks:
        if got == want:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {os.path.basename(cap)} {name}: {got}, tshark follow says {want}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
