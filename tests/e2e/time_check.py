#!/usr/bin/env python3
"""Timestamps before the epoch and past int64 (docs/design.md, "Time arithmetic").

Usage: time_check.py WA1KPCAP DATA_DIR      (last line: N passed, N failed)

made__ng_neg_tsoffset.pcapng: values read with tshark 4.0,
    tshark -n -r made__ng_neg_tsoffset.pcapng -T fields -e frame.number -e frame.time_epoch
    -> 1 -3.500000000, 2 -2.750000000, 3 -1.000000000, 4 0.500000000, 5 2.000000000,
       6 3.250000000
tshark prints the whole seconds rounded down, then a positive fraction: -3.500000000 is
-3 + 0.5 = -2.5 s. Frames 1, 2, 4, 6 are the UDP flow, 3 and 5 the TCP one (ip.src/udp.srcport).
So the UDP flow starts at -2.5 s, ends at 3.25 s, lasts 5.75 s, IATs 1.25, 1.75, 2.75; the
TCP flow -1.0 .. 2.0 s, 3.0 s. µs stamps: 6 decimals.

made__ng_huge_ts.pcapng: tshark's values lie outside int64 nanoseconds, so the expected ones
are the clamp range edges, by hand: -2^62 ns = -4611686018.427387904 s, 2^62 - 1 ns =
4611686018.427387903 s, their difference 2^63 - 1 ns = 9223372036.854775807 s.
"""
import json, subprocess, sys

NEG = {
    "192.0.2.21:40021 -> 198.51.100.21:5021 (UDP)": {
        "start_time": "-2.500000", "end_time": "3.250000", "duration": "5.750000",
        "timestamps": "[-2.500000,-1.250000,0.500000,3.250000]",
        "iats": "[1.250000,1.750000,2.750000]", "end_reason": "end_of_input"},
    "192.0.2.22:40022 -> 198.51.100.22:80 (TCP)": {
        "start_time": "-1.000000", "end_time": "2.000000", "duration": "3.000000",
        "end_reason": "end_of_input"},
}
LO, HI, SPAN = "-4611686018.427387904", "4611686018.427387903", "9223372036.854775807"
HUGE = {
    "192.0.2.31:40031 -> 198.51.100.31:5031 (UDP)": {
        "start_time": LO, "end_time": HI, "duration": SPAN,
        "timestamps": f"[{LO},{HI},{LO},{HI}]", "iats": f"[{SPAN},-{SPAN},{SPAN}]",
        "end_reason": "end_of_input"},
    # one SYN at the low edge; the clock then jumps to the high edge: idle 292 years > 300 s
    "192.0.2.32:40032 -> 198.51.100.32:80 (TCP)": {
        "start_time": LO, "end_time": LO, "duration": "0.000000000",
        "end_reason": "idle_timeout"},
    "192.0.2.33:40033 -> 198.51.100.33:5033 (UDP)": {
        "start_time": "1700000000.000000000", "end_time": "1700000001.500000000",
        "duration": "1.500000000", "end_reason": "end_of_input"},
}


def raw_fields(line):
    """The flow's key and the raw text of the top-level and feature values we check."""
    d = json.loads(line)
    out = {"key": d["key"], "end_reason": d["end_reason"]}
    for k in ("start_time", "end_time", "duration"):
        i = line.index(f'"{k}":') + len(k) + 3
        j = i
        while line[j] not in ",}":
            j += 1
        out[k] = line[i:j]
    for k in ("timestamps", "iats"):
        at = line.find(f'"{k}":[')
        if at >= 0:
            i = at + len(k) + 3
            out[k] = line[i:line.index("]", i) + 1]
    return out


def check(binary, cap, want, extra):
    r = subprocess.run([binary, "analyze", cap, "-f", "ndjson", "-o", "-", "-q"] + extra,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or r.stderr:
        print(f"FAIL {cap}: exit {r.returncode}, stderr {r.stderr.strip()!r}")
        return 0, 1
    got = {}
    for line in r.stdout.splitlines():
        f = raw_fields(line)
        got[f["key"]] = f
    passed = failed = 0
    for key, exp in want.items():
        g = got.get(key)
        bad = [f"{k}: {g.get(k) if g else None} != {v}" for k, v in exp.items()
               if not g or g.get(k) != v]
        if bad:
            failed += 1
            print(f"FAIL {cap} {key}: " + "; ".join(bad))
        else:
            passed += 1
    if len(got) != len(want):
        failed += 1
        print(f"FAIL {cap}: {len(got)} flows, expected {len(want)}")
    return passed, failed


def main(binary, data):
    p1, f1 = check(binary, f"{data}/made__ng_neg_tsoffset.pcapng", NEG, [])
    p2, f2 = check(binary, f"{data}/made__ng_huge_ts.pcapng", HUGE, [])
    passed, failed = p1 + p2, f1 + f2
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
