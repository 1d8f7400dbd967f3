#!/usr/bin/python3
"""Checks the ARP rows of the packet sink (--packets) against tshark's ARP
fields (make_expected.py arp), and that they disturb nothing else.

usage: check_arp.py CLI CAPTURE EXPECTED.json

Run A keeps ARP (--no-default-filter), run B drops it (--default-filter
'not arp'). Checked: A's ARP rows (the rows without a flow_id), CSV and
NDJSON, are tshark's ARP packets in frame order (operation, sender and
target MAC and IPv4 address, time, frame length); every other packet row
of A is byte for byte a row of B, in the same order; the flows A and B
write are the same bytes; A counts the ARP packets as not_ip where B
counts them as filtered, and both write the same number of flows; -t 1,
2 and 4 write the same bytes. Prints one line per mismatch, exits 1 if
there is any.
"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from decimal import Decimal

PACKET_COLUMNS = ["flow_id", "capture", "index", "direction", "timestamp", "packet_length",
                  "ip_length", "trans_length", "app_length", "payload_bytes", "tcp_flags",
                  "tcp_window"]
ARP_COLUMNS = ["arp_operation", "arp_sender_mac", "arp_sender_ip", "arp_target_mac",
               "arp_target_ip"]


def run(cli, cap, tmp, filt, threads, pkt_ext):
    flows = os.path.join(tmp, "flows.ndjson")
    pkts = os.path.join(tmp, "packets." + pkt_ext)
    summ = os.path.join(tmp, "summary.json")
    subprocess.run([cli, "analyze", "-q", "-t", str(threads), "-o", flows, "--packets", pkts,
                    "--summary", summ] + filt + [cap], check=True)
    with open(flows, "rb") as a, open(pkts, "rb") as b, open(summ) as c:
        return a.read(), b.read(), json.load(c)["packets"]


def main():
    cli, cap, exp_path = sys.argv[1:4]
    with open(exp_path) as fh:
        expected = json.load(fh)["rows"]
    keep, drop = ["--no-default-filter"], ["--default-filter", "not arp"]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        a = {t: run(cli, cap, tmp, keep, t, "csv") for t in (1, 2, 4)}
        an = run(cli, cap, tmp, keep, 2, "ndjson")
        b = run(cli, cap, tmp, drop, 1, "csv")
    for t in (2, 4):
        if a[t][:2] != a[1][:2]:
            print("%s: -t %d differs from -t 1" % (cap, t))
            bad += 1
    flows_a, csv_a, sum_a = a[1]
    flows_b, csv_b, sum_b = b
    lines_a = csv_a.decode().splitlines(keepends=True)
    lines_b = csv_b.decode().splitlines(keepends=True)
    header = lines_a[0].rstrip("\n").split(",")
    if header != PACKET_COLUMNS + ARP_COLUMNS or lines_b[0] != lines_a[0]:
        print("%s: header %r" % (cap, lines_a[0]))
        bad += 1
    rows = list(csv.DictReader(io.StringIO(csv_a.decode())))
    arp = [r for r in rows if r["flow_id"] == ""]
    arp_n = [r for r in map(json.loads, an[1].decode().splitlines()) if "flow_id" not in r]
    if len(arp) != len(expected) or len(arp_n) != len(expected):
        print("%s: %d CSV and %d NDJSON ARP rows, tshark %d"
              % (cap, len(arp), len(arp_n), len(expected)))
        bad += 1
    nfields = 0
    for i, (e, r, n) in enumerate(zip(expected, arp, arp_n)):
        want = dict(e)
        for k in ARP_COLUMNS + ["packet_length"]:
            want[k] = str(want[k]) if want.get(k) is not None else ""
        got = {k: r[k] for k in ARP_COLUMNS + ["packet_length"]}
        gotn = {k: str(n.get(k, "")) for k in ARP_COLUMNS + ["packet_length"]}
        for k in got:
            nfields += 1
            if got[k] != want[k] or gotn[k] != want[k]:
                print("%s ARP row %d: %s is %r (ndjson %r), tshark %r"
                      % (cap, i, k, got[k], gotn[k], want[k]))
                bad += 1
        if Decimal(r["timestamp"]) != Decimal(e["timestamp"]) or \
                Decimal(str(n["timestamp"])) != Decimal(e["timestamp"]):
            print("%s ARP row %d: time %s, tshark %s" % (cap, i, r["timestamp"], e["timestamp"]))
            bad += 1
        if any(r[k] for k in PACKET_COLUMNS if k not in ("capture", "timestamp",
                                                           "packet_length")):
            print("%s ARP row %d: flow cells filled" % (cap, i))
            bad += 1
    others = [ln for ln in lines_a[1:] if not ln.startswith(",")]
    if others != lines_b[1:]:
        print("%s: the other packet rows differ from the run without ARP" % cap)
        bad += 1
    if flows_a != flows_b:
        print("%s: the flows differ from the run without ARP" % cap)
        bad += 1
    n = len(expected)
    if sum_a["not_ip"] - sum_b["not_ip"] != n or sum_b["filtered"] - sum_a["filtered"] != n \
            or sum_a["in_flow"] != sum_b["in_flow"]:
        print("%s: summary A %r, B %r" % (cap, sum_a, sum_b))
        bad += 1
    print("%s: %d ARP rows, %d fields checked, %d other rows, %d mismatches"
          % (cap, len(expected), nfields, len(others), bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
