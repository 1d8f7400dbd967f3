#!/usr/bin/python3
"""Checks the CLI's dhcp and dhcpv6 columns against tshark's values
(make_expected.py), and that -t 1, 2 and 4 write the same bytes.

usage: check.py CLI CAPTURE EXPECTED.json

Runs with --no-default-filter: the default filter drops DHCP packets.
Prints one line per mismatch and exits 1 if there is any.
"""
import json
import subprocess
import sys

SKIP = ("protocol", "endpoints", "kind")


def run(cli, cap, threads):
    return subprocess.run([cli, "analyze", "-f", "ndjson", "--no-sequences",
                           "--no-default-filter", "-t", str(threads), cap],
                          check=True, capture_output=True).stdout


def key(f):
    return tuple(sorted([(f["src_ip"], f["src_port"]), (f["dst_ip"], f["dst_port"])]))


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
    ours = {key(f): f for f in flows if f["protocol"] == "UDP"}
    want = set()
    nfields = 0
    for e in expected:
        k = tuple(tuple(x) for x in e["endpoints"])
        want.add((e["kind"], k))
        f = ours.get(k)
        if f is None:
            print("%s: no flow %s" % (cap, k))
            bad += 1
            continue
        d = f.get(e["kind"])
        if d is None:
            print("%s %s: no %s column" % (cap, k, e["kind"]))
            bad += 1
            continue
        names = set(e) - set(SKIP) | set(d) - {"truncated"}
        for name in sorted(names):
            nfields += 1
            if d.get(name) != e.get(name):
                print("%s %s: %s is %r, tshark %r" % (cap, k, name, d.get(name), e.get(name)))
                bad += 1
        if any(x in f["ext_protocol"] for x in ("DHCP", "DHCPv6")):
            print("%s %s: DHCP in ext_protocol" % (cap, k))
            bad += 1
    for k, f in ours.items():
        for kind in ("dhcp", "dhcpv6"):
            if kind in f and (kind, k) not in want:
                print("%s %s: %s where tshark has none" % (cap, k, kind))
                bad += 1
    print("%s: %d flows, %d fields checked, %d mismatches" % (cap, len(expected), nfields, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
