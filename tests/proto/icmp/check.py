#!/usr/bin/python3
"""Checks the CLI's icmp column against tshark's values (make_expected.py),
and that -t 1, 2 and 4 write the same bytes.

usage: check.py CLI CAPTURE EXPECTED.json

Runs with --no-default-filter: the default filter drops ICMP packets. Every
ICMP and ICMPv6 flow must match one expected flow (same addresses and
protocol) field for field, with truncated 0, and ext_protocol must name
ICMP/ICMPv6 as the transport only. Prints one line per mismatch and exits
1 if there is any.
"""
import json
import subprocess
import sys

SKIP = ("endpoints", "protocol")


def run(cli, cap, threads):
    return subprocess.run([cli, "analyze", "-f", "ndjson", "--no-sequences",
                           "--no-default-filter", "-t", str(threads), cap],
                          check=True, capture_output=True).stdout


def main():
    cli, cap, exp_path = sys.argv[1:4]
    with open(exp_path) as fh:
        expected = json.load(fh)["flows"]
    outs = {t: run(cli, cap, t) for t in (1, 2, 4)}
    bad = 0
    for t in (2, 4):
        if outs[t] != outs[1]:
            print("%s: -t %d differs from -t 1" % (cap, t))
            bad += 1
    flows = [json.loads(line) for line in outs[1].decode().splitlines() if line.strip()]
    ours = {}
    for f in flows:
        if f["protocol"] in ("ICMP", "ICMPv6"):
            k = (tuple(sorted([f["src_ip"], f["dst_ip"]])), f["protocol"])
            if k in ours:
                print("%s %s: two flows" % (cap, k))
                bad += 1
            ours[k] = f
            want_ext = ["IPv4" if f["protocol"] == "ICMP" else "IPv6", f["protocol"]]
            if f["ext_protocol"] != want_ext:
                print("%s %s: ext_protocol %r" % (cap, k, f["ext_protocol"]))
                bad += 1
        elif "icmp" in f:
            print("%s %s: icmp column on a %s flow" % (cap, f["key"], f["protocol"]))
            bad += 1
    nfields = 0
    seen = set()
    for e in expected:
        k = (tuple(e["endpoints"]), e["protocol"])
        seen.add(k)
        f = ours.get(k)
        if f is None:
            print("%s: no flow %s" % (cap, k))
            bad += 1
            continue
        d = f.get("icmp")
        if d is None:
            print("%s %s: no icmp column" % (cap, k))
            bad += 1
            continue
        want = dict(e, truncated=0)
        for name in sorted(set(want) - set(SKIP) | set(d)):
            nfields += 1
            if d.get(name) != want.get(name):
                print("%s %s: %s is %r, tshark %r" % (cap, k, name, d.get(name), want.get(name)))
                bad += 1
    for k in ours:
        if k not in seen:
            print("%s %s: a flow tshark has no ICMP for" % (cap, k))
            bad += 1
    print("%s: %d flows, %d fields checked, %d mismatches" % (cap, len(expected), nfields, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
