#!/usr/bin/env python3
"""The original wa1kpcap's measured totals under its defaults, as wa1kpcap's defaults change them (no --compat):
flows / packets in flows / bytes / packets read. Each difference from the original's row is
explained where it occurs.
Usage: default_totals.py WA1KPCAP DATA_DIR      (last line: N passed, N failed)
"""
import json, os, subprocess, sys, tempfile

ROWS = [
    ("single", (1, 27, 6690, 27)),       # = the original
    # the original: 141 / 3925 / 614370. Here the MLD flow to ff02::16 (ICMPv6 behind a
    # hop-by-hop header, 8 packets, 720 bytes) is filtered by the default filter's icmpv6,
    # which the original could not see: 140 / 3917 / 613650.
    ("multi", (140, 3917, 613650, 4183)),
    ("dup", (1, 95, 9319, 100)),         # = the original
    ("fin-rst", (1, 19, 4388, 22)),      # = the original
    # the original: 2 / 417 / 198076. IP reassembly: the 51 trailing fragments are reassembled into their
    # datagrams: one flow of 366 packets, 196342 bytes (tests/unit/test_defrag.c).
    ("ip_seg", (1, 366, 196342, 417)),
    ("quic", (8, 141, 134777, 141)),     # = the original
    ("quic2", (22, 975, 500907, 975)),   # = the original
]


def main(binary, data):
    passed = failed = 0
    # the default worker count: one per online CPU, one fewer (at least 1) when no sink
    # reads records (-f none), at most 256
    cpus = os.sysconf("SC_NPROCESSORS_ONLN")
    want_threads = {"ndjson": min(cpus, 256), "none": max(1, min(cpus, 256) - 1)}
    with tempfile.TemporaryDirectory() as tmp:
        out, summ = os.path.join(tmp, "f.ndjson"), os.path.join(tmp, "s.json")
        for cap, want in ROWS:
            subprocess.run([binary, "analyze", os.path.join(data, f"wa1kpcap__{cap}.pcap"), "-q",
                            "-f", "ndjson", "-o", out, "--summary", summ], check=True)
            s = json.load(open(summ))
            if s["threads"] == want_threads["ndjson"]:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {cap}: {s['threads']} workers by default, expected {want_threads['ndjson']}")
            flows = [json.loads(l) for l in open(out)]
            got = (s["flows"], s["packets"]["in_flow"], sum(f["byte_count"] for f in flows),
                   s["packets"]["packets_read"])
            if got == want:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {cap}: {got}, expected {want}")
            # -f none builds no record (nothing reads one) but counts the same flows and packets
            subprocess.run([binary, "analyze", os.path.join(data, f"wa1kpcap__{cap}.pcap"), "-q",
                            "-f", "none", "--summary", summ], check=True)
            s = json.load(open(summ))
            got = (s["flows"], s["packets"]["in_flow"], s["packets"]["packets_read"], s["threads"])
            if got == (want[0], want[1], want[3], want_threads["none"]):
                passed += 1
            else:
                failed += 1
                print(f"FAIL {cap} -f none: {got}, expected {(want[0], want[1], want[3], want_threads['none'])}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
