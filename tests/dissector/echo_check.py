#!/usr/bin/env python3
"""End to end: a dissector is one file plus one registry row.

wa1kpcap-echo is the CLI linked with the test-only echo dissector
(tests/dissector/echo.c, row in registry_extra.def; UDP port 7). On a
capture written here, check that nothing but that row makes:
  - an `echo` column after `tunnel` in CSV, JSON and NDJSON, holding
    {"first_len": N} for the UDP port-7 flows, N being the payload length
    of the flow's first packet (the bytes written below; tshark's
    udp.length - 8 when tshark is installed), empty/absent elsewhere;
  - `--columns echo` select it;
  - `--filter echo` (a flow-level keyword) keep exactly the UDP port-7
    flows, and `--filter 'not echo'` the others.
The product CLI (--product) has no such column or keyword.
"""
import argparse
import csv
import io
import json
import os
import shutil
import struct
import subprocess
import sys

# (client, sport, dport, proto, [(reply?, payload)])
FLOWS = [
    ("10.0.0.1", 40001, 7, 17, [(0, b"hello"), (1, b"hello")]),
    ("10.0.0.2", 40002, 7, 17, [(0, b"twelve bytes"), (1, b"twelve bytes")]),
    ("10.0.0.3", 40003, 53, 17, [(0, b"not echo!")]),
    ("10.0.0.4", 40004, 7, 6, [(0, b"")]),  # TCP port 7: echo is UDP only
    ("10.0.0.5", 7, 40005, 17, [(0, b"from port seven")]),  # port 7 at the client end
]
SERVER = "10.0.0.100"
ECHO_FLOWS = {40001: 5, 40002: 12, 7: 15}  # client port -> first_len (len of the first payload)


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def frame(src, dst, sport, dport, proto, payload):
    if proto == 17:
        l4 = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0)
    else:
        l4 = struct.pack(">HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4) + len(payload), 0, 0, 64, proto, 0,
                     ip4(src), ip4(dst))
    eth = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00"
    return eth + ip + l4 + payload


def write_capture(path):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000
        for i, (client, sport, dport, proto, pkts) in enumerate(FLOWS):
            for j, (reply, payload) in enumerate(pkts):
                src, dst, sp, dp = (SERVER, client, dport, sport) if reply else (client, SERVER, sport, dport)
                fr = frame(src, dst, sp, dp, proto, payload)
                f.write(struct.pack("<IIII", t + i, j * 1000, len(fr), len(fr)))
                f.write(fr)


failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(cli, args):
    p = subprocess.run([cli, "analyze", "-q", "-t", "2"] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def client_port(row):
    """The client's port of a flow record (the flow's first packet's source)."""
    return int(row["src_port"])


def tshark_first_lens(cap):
    """Client port -> udp.length - 8 of the flow's first packet, by tshark."""
    if not shutil.which("tshark"):
        return None
    out = subprocess.run(["tshark", "-r", cap, "-Y", "udp", "-T", "fields", "-e", "udp.srcport",
                          "-e", "udp.dstport", "-e", "udp.length"],
                         capture_output=True, text=True, check=True).stdout
    first = {}
    for line in out.splitlines():
        sp, dp, ln = (int(x) for x in line.split("\t"))
        first.setdefault(frozenset((sp, dp)), (sp, ln - 8))
    return dict(first.values())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--product", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    cap = os.path.join(a.work, "echo.pcap")
    write_capture(cap)

    ts = tshark_first_lens(cap)
    if ts is not None:
        check(all(ts.get(p) == n for p, n in ECHO_FLOWS.items()),
              f"tshark agrees on the first payload lengths {ECHO_FLOWS} ({ts})")

    # CSV: the column, its place, its cells.
    rc, out, err = run(a.cli, ["-f", "csv", cap])
    check(rc == 0, f"csv run exits 0 ({err.strip()})")
    rows = list(csv.DictReader(io.StringIO(out)))
    header = out.splitlines()[0].split(",") if out else []
    check(len(rows) == len(FLOWS), f"csv has {len(FLOWS)} flows ({len(rows)})")
    check("echo" in header, "csv header has an echo column")
    if "echo" in header and "tunnel" in header:
        # the test row comes after the product's rows: the product's header
        # (tunnel, then its protocol columns, last here), then echo
        prc, pout, _ = run(a.product, ["-f", "csv", cap])
        product = pout.splitlines()[0].split(",") if prc == 0 and pout else []
        check(header == product + ["echo"] and header.index("tunnel") < len(product),
              "echo comes after tunnel and the product's protocol columns")
    for r in rows:
        want = ECHO_FLOWS.get(client_port(r)) if r.get("protocol", "17") in ("17", "UDP") else None
        cell = r.get("echo")
        if want is None:
            check(cell == "", f"csv flow {r['src_port']}: echo empty ({cell!r})")
        else:
            check(cell is not None and cell != "" and json.loads(cell) == {"first_len": want},
                  f"csv flow {r['src_port']}: echo = {{\"first_len\": {want}}} ({cell!r})")

    # JSON and NDJSON: the same values as objects.
    for fmt in ("json", "ndjson"):
        rc, out, err = run(a.cli, ["-f", fmt, cap])
        check(rc == 0, f"{fmt} run exits 0 ({err.strip()})")
        recs = json.loads(out) if fmt == "json" else [json.loads(l) for l in out.splitlines() if l]
        if isinstance(recs, dict):
            recs = recs.get("flows", [])
        check(len(recs) == len(FLOWS), f"{fmt} has {len(FLOWS)} flows ({len(recs)})")
        for r in recs:
            want = ECHO_FLOWS.get(int(r["src_port"])) if r.get("protocol") in (17, "17", "UDP") else None
            got = r.get("echo")
            if want is None:
                check(got is None, f"{fmt} flow {r['src_port']}: no echo value ({got!r})")
            else:
                check(got == {"first_len": want}, f"{fmt} flow {r['src_port']}: echo ({got!r})")

    # --columns echo selects it.
    rc, out, err = run(a.cli, ["-f", "csv", "--columns", "echo", cap])
    check(rc == 0, f"--columns echo exits 0 ({err.strip()})")
    hdr = out.splitlines()[0].split(",") if out else []
    check(hdr == ["echo"], f"--columns echo: the header is just echo ({hdr})")

    # --filter echo: a flow keyword that keeps exactly the UDP port-7 flows.
    rc, out, err = run(a.cli, ["-f", "ndjson", "--columns", "src_port,dst_port", "--filter", "echo", cap])
    check(rc == 0, f"--filter echo exits 0 ({err.strip()})")
    kept = sorted(json.loads(l)["src_port"] for l in out.splitlines() if l)
    check(kept == sorted(ECHO_FLOWS), f"--filter echo keeps the UDP port-7 flows {sorted(ECHO_FLOWS)} ({kept})")
    rc, out, err = run(a.cli, ["-f", "ndjson", "--columns", "src_port,dst_port", "--filter",
                               "not echo", cap])
    kept = sorted(json.loads(l)["src_port"] for l in out.splitlines() if l)
    check(rc == 0 and kept == [40003, 40004], f"--filter 'not echo' keeps the others ({kept})")
    rc, out, err = run(a.cli, ["-f", "ndjson", "--app-layer", "none", "--filter", "echo", cap])
    check(rc == 0 and out.strip() == "", f"--app-layer none: echo matches nothing ({out[:80]!r})")

    # ext_protocol gains what the dissector names (ECHO) on its flows only.
    rc, out, err = run(a.cli, ["-f", "ndjson", "--columns", "src_port,protocol,ext_protocol", cap])
    for r in (json.loads(l) for l in out.splitlines() if l):
        is_echo = r["src_port"] in ECHO_FLOWS and r["protocol"] in (17, "17", "UDP")
        want = ["IPv4", "UDP", "ECHO"] if is_echo else ["IPv4", "TCP" if r["protocol"] in (6, "TCP") else "UDP"]
        check(r["ext_protocol"] == want, f"flow {r['src_port']}: ext_protocol {want} ({r['ext_protocol']})")

    # Counters: two replies as long as their requests (flows 40001, 40002), no mismatch;
    # summed into the summary's "dissectors" object.
    summ = os.path.join(a.work, "summary.json")
    rc, out, err = run(a.cli, ["-f", "none", "--summary", summ, cap])
    with open(summ) as f:
        d = json.load(f).get("dissectors", {})
    check(rc == 0 and d.get("echo") == {"replies": 2, "mismatches": 0},
          f"summary dissectors.echo = replies 2, mismatches 0 ({d})")

    # --app-option reaches the dissector; an unknown one is a usage error.
    rc, out, err = run(a.cli, ["-f", "ndjson", "--columns", "src_port,echo", "--app-option",
                               "echo.label=a b", cap])
    got = {json.loads(l)["src_port"]: json.loads(l).get("echo") for l in out.splitlines() if l}
    check(rc == 0 and got.get(40001) == {"first_len": 5, "label": "a b"},
          f"--app-option echo.label=a b: label in the echo object ({got.get(40001)})")
    rc, out, err = run(a.cli, ["-f", "none", "--app-option", "echo.nope", cap])
    check(rc == 2 and "echo.nope" in err, f"unknown --app-option: exit 2 naming it ({rc}: {err.strip()[:80]})")

    # The product knows nothing of echo.
    rc, out, err = run(a.product, ["-f", "csv", cap])
    check(rc == 0 and "echo" not in out.splitlines()[0].split(","), "the product has no echo column")
    rc, out, err = run(a.product, ["-f", "csv", "--filter", "echo", cap])
    check(rc != 0, f"the product has no echo keyword (exit {rc}: {err.strip()[:100]})")

    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
