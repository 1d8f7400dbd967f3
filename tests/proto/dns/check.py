#!/usr/bin/python3
"""Checks the CLI's dns column against tshark's values (make_expected.py).

usage: check.py CLI CAPTURE EXPECTED.json   fields of every flow
       check.py CLI CAPTURE --filters       --filter dns / not dns / --app-layer none

Prints one line per mismatch and exits 1 if there is any.
"""
import json
import os
import subprocess
import tempfile
import sys

FIELDS = ("id", "flags", "opcode", "response_code", "question_count", "answer_count",
          "authority_count", "additional_count", "queries", "qtypes", "answers", "messages")


def run(cli, cap, *extra):
    out = subprocess.run([cli, "analyze", "-f", "ndjson", "--no-sequences", "-t", "2",
                          "--summary", summary_path(), *extra, cap],
                         check=True, capture_output=True, text=True).stdout
    flows = [json.loads(line) for line in out.splitlines() if line.strip()]
    with open(summary_path()) as f:
        summary = json.load(f)
    os.unlink(summary_path())
    return flows, summary


def summary_path():
    return os.path.join(tempfile.gettempdir(), "wkp_dns_check_%d.json" % os.getpid())


def key(f):
    proto = {"UDP": 17, "TCP": 6}.get(f["protocol"], f["protocol"])
    return (proto,) + tuple(sorted([(f["src_ip"], f["src_port"]),
                                            (f["dst_ip"], f["dst_port"])]))


def fields(cli, cap, exp_path):
    with open(exp_path) as fh:
        expected = json.load(fh)["flows"]
    flows, _ = run(cli, cap)
    ours = {key(f): f for f in flows}
    bad = 0
    want = set()
    for e in expected:
        k = (e["protocol"],) + tuple(tuple(x) for x in e["endpoints"])
        want.add(k)
        f = ours.get(k)
        if f is None:
            print("%s: no flow %s" % (cap, k))
            bad += 1
            continue
        d = f.get("dns", {})
        for name in FIELDS:
            if d.get(name) != e[name]:
                print("%s %s: %s is %r, tshark %r" % (cap, k, name, d.get(name), e[name]))
                bad += 1
        if "DNS" not in f["ext_protocol"]:
            print("%s %s: no DNS in ext_protocol" % (cap, k))
            bad += 1
    for k, f in ours.items():
        if k not in want and "dns" in f:
            print("%s %s: dns where tshark has none" % (cap, k))
            bad += 1
    print("%s: %d flows with DNS checked, %d mismatches" % (cap, len(expected), bad))
    return bad


def filters(cli, cap):
    bad = 0
    flows, s = run(cli, cap)
    dns = [f for f in flows if "dns" in f]
    kept, s1 = run(cli, cap, "--filter", "dns")
    dropped, s2 = run(cli, cap, "--filter", "not dns")
    none, _ = run(cli, cap, "--app-layer", "none")
    checks = [
        (len(dns) > 0, "the capture has DNS flows"),
        (sorted(map(key, kept)) == sorted(map(key, dns)), "--filter dns keeps the DNS flows"),
        (s1["packets"]["flow_filtered"] == sum(f["packet_count"] for f in flows if "dns" not in f),
         "--filter dns: flow_filtered counts the other flows' packets"),
        (all("dns" not in f for f in dropped), "--filter 'not dns' drops every DNS flow"),
        (len(dropped) == len(flows) - len(dns), "--filter 'not dns' keeps the others"),
        (s2["packets"]["flow_filtered"] == sum(f["packet_count"] for f in dns),
         "--filter 'not dns': flow_filtered counts the DNS flows' packets"),
        (all("dns" not in f and "DNS" not in f["ext_protocol"] for f in none),
         "--app-layer none: no dns column, no DNS in ext_protocol"),
        (len(none) == len(flows), "--app-layer none: the same flows"),
    ]
    for ok, what in checks:
        if not ok:
            print("%s: FAILED: %s" % (cap, what))
            bad += 1
    print("%s: %d filter checks, %d failed" % (cap, len(checks), bad))
    return bad


def main():
    cli, cap, what = sys.argv[1:4]
    bad = filters(cli, cap) if what == "--filters" else fields(cli, cap, what)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
