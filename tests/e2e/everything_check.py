#!/usr/bin/env python3
"""Everything on at once: every application dissector, the shipped user protocols
(--protocols protocols/) and the shipped signatures (--signatures), flows and packet rows.

usage: everything_check.py WA1KPCAP PROTOCOLS_DIR SIGNATURES_FILE CAPTURE...

Checks, per capture:
- the flow output (NDJSON) and the packet rows (CSV) are byte-identical at -t 1, 2 and 4;
- every flow of the run with everything on is a flow of the plain run, with the same
  five-tuple, packet and byte counts (the features add columns, they never change flows).
Over all captures, each of the features shows up somewhere: a `proto.<name>` column, a
signature match, an `icmp` column, a built-in protocol column (so a run that silently
dropped a feature fails).

Values are checked elsewhere (e2e.protocols.*, e2e.signatures, proto.icmp.*, ...): this
test is about the features living together.
"""
import json
import os
import subprocess
import sys
import tempfile

COUNTS = ("src_ip", "dst_ip", "src_port", "dst_port", "protocol", "packet_count", "byte_count",
          "up_packet_count", "down_packet_count", "end_reason")


def run(cli, args, cap, threads, tmp):
    flows = os.path.join(tmp, f"flows{threads}.ndjson")
    pkts = os.path.join(tmp, f"packets{threads}.csv")
    r = subprocess.run([cli, "analyze", "-q", "-t", str(threads), "--no-default-filter",
                        "-o", flows, "--packets", pkts] + args + [cap],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit(f"FAIL {os.path.basename(cap)} -t {threads}: exit {r.returncode}, "
                         f"{r.stderr.strip()}")
    with open(flows, "rb") as a, open(pkts, "rb") as b:
        return a.read(), b.read()


def key(flow):
    missing = [k for k in COUNTS if k not in flow]
    if missing:
        raise SystemExit(f"FAIL a flow without {missing}")
    return tuple(flow[k] for k in COUNTS)


def main():
    cli, protocols, sigs, caps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    every = ["--protocols", protocols, "--signatures", sigs]
    failures = 0
    seen = {"proto.": 0, "signatures": 0, "icmp": 0, "tls/dns/http": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for cap in caps:
            name = os.path.basename(cap)
            runs = {t: run(cli, every, cap, t, tmp) for t in (1, 2, 4)}
            for t in (2, 4):
                for i, what in enumerate(("flows", "packet rows")):
                    if runs[t][i] != runs[1][i]:
                        print(f"FAIL {name}: {what} at -t {t} differ from -t 1")
                        failures += 1
            plain = run(cli, [], cap, 1, tmp)
            on = [json.loads(x) for x in runs[1][0].decode().splitlines()]
            off = [json.loads(x) for x in plain[0].decode().splitlines()]
            if sorted(map(key, on)) != sorted(map(key, off)):
                print(f"FAIL {name}: the flows differ from the plain run's")
                failures += 1
            if runs[1][1] != plain[1]:
                print(f"FAIL {name}: the packet rows differ from the plain run's")
                failures += 1
            for f in on:
                seen["proto."] += any(k.startswith("proto.") for k in f)
                seen["signatures"] += bool(f.get("signatures"))
                seen["icmp"] += "icmp" in f
                seen["tls/dns/http"] += any(k in f for k in ("tls", "dns", "http"))
            print(f"{name}: {len(on)} flows, -t 1/2/4 identical")
    for what, n in seen.items():
        if n == 0:
            print(f"FAIL no flow had {what}")
            failures += 1
    print(f"flows with: {seen}")
    print("ok" if failures == 0 else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
