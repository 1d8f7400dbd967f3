#!/usr/bin/env python3
"""The original wa1kpcap v0.1.4's measured totals, held against `wa1kpcap analyze --compat`.

Usage: totals_check.py WA1KPCAP_BINARY DATA_DIR

For each row below, runs `WA1KPCAP_BINARY analyze DATA_DIR/wa1kpcap__<capture>.pcap -f ndjson
-o TMP -q --summary TMP.json --compat <options>` and checks, as measured on the original:
flows (the summary's "flows" and the NDJSON lines), packets in flows (summary packets.in_flow and
the sum of packet_count), bytes (sum of byte_count), packets read (packets.packets_read) and
packets filtered (the original's packets_filtered: our filtered + flow_filtered + retransmission
+ ack_filtered + rst_filtered; packets without IP are counted nowhere in the original and here
as not_ip, so they are in "read" only). A value of None is not checked.

The columns of the original's measurements:
  defaults           the original's default filter on, retransmissions dropped: `--compat`
  no default filter  `--compat --no-default-filter`
  retrans kept       default filter on, retransmissions kept: `--compat --keep-retrans`
  filter_ack / filter_rst / udp_timeout 60 / udp_timeout 1   likewise, with that option
Each row runs twice, with --parse-in reader and --parse-in workers.
One check per run; last line `N passed, N failed`; exit status 0 iff nothing failed.
"""
import json, os, subprocess, sys, tempfile

TIMEOUT = 300

# The original's (flows, packets in flows, bytes, read, filtered); None = not measured there.
ROWS = [
    # capture,  column,              options,                    expected
    ("single",  "defaults",          [],                         (1, 27, 6690, 27, 0)),
    ("multi",   "defaults",          [],                         (141, 3925, 614370, 4183, 258)),
    ("dup",     "defaults",          [],                         (1, 95, 9319, 100, 5)),
    ("fin-rst", "defaults",          [],                         (1, 19, 4388, 22, 3)),
    ("ip_seg",  "defaults",          [],                         (2, 417, 198076, 417, 0)),
    ("quic",    "defaults",          [],                         (8, 141, 134777, 141, 0)),
    ("quic2",   "defaults",          [],                         (22, 975, 500907, 975, 0)),

    ("single",  "no default filter", ["--no-default-filter"],     (1, 27, 6690, 27, 0)),
    ("multi",   "no default filter", ["--no-default-filter"],     (144, 3963, 617574, 4183, 188)),
    ("dup",     "no default filter", ["--no-default-filter"],     (1, 95, 9319, 100, 5)),
    ("fin-rst", "no default filter", ["--no-default-filter"],     (1, 19, 4388, 22, 3)),
    ("ip_seg",  "no default filter", ["--no-default-filter"],     (2, 417, 198076, 417, 0)),
    ("quic",    "no default filter", ["--no-default-filter"],     (8, 141, 134777, 141, 0)),
    ("quic2",   "no default filter", ["--no-default-filter"],     (22, 975, 500907, 975, 0)),

    ("single",  "retrans kept",      ["--keep-retrans"],         (1, 27, 6690, 27, 0)),
    ("multi",   "retrans kept",      ["--keep-retrans"],         (141, 4113, 671911, 4183, 70)),
    ("dup",     "retrans kept",      ["--keep-retrans"],         (1, 100, 9729, 100, 0)),
    ("fin-rst", "retrans kept",      ["--keep-retrans"],         (1, 22, 4610, 22, 0)),
    ("ip_seg",  "retrans kept",      ["--keep-retrans"],         (2, 417, 198076, 417, 0)),
    ("quic",    "retrans kept",      ["--keep-retrans"],         (8, 141, 134777, 141, 0)),
    ("quic2",   "retrans kept",      ["--keep-retrans"],         (22, 975, 500907, 975, 0)),

    ("single",  "filter_ack",        ["--filter-ack"],           (1, 18, 6204, 27, 9)),
    ("multi",   "filter_ack",        ["--filter-ack"],           (141, 3477, 588206, 4183, 706)),
    ("dup",     "filter_ack",        ["--filter-ack"],           (1, 65, 7635, 100, 35)),
    ("fin-rst", "filter_ack",        ["--filter-ack"],           (1, 14, 4110, 22, 8)),
    ("ip_seg",  "filter_ack",        ["--filter-ack"],           (2, 417, 198076, 417, 0)),
    ("quic",    "filter_ack",        ["--filter-ack"],           (8, 141, 134777, 141, 0)),
    ("quic2",   "filter_ack",        ["--filter-ack"],           (22, 975, 500907, 975, 0)),

    ("single",  "filter_rst",        ["--filter-rst"],           (1, 27, 6690, 27, 0)),
    ("multi",   "filter_rst",        ["--filter-rst"],           (141, 3876, 611512, 4183, 307)),
    ("dup",     "filter_rst",        ["--filter-rst"],           (1, 95, 9319, 100, 5)),
    ("fin-rst", "filter_rst",        ["--filter-rst"],           (1, 18, 4334, 22, 4)),
    ("ip_seg",  "filter_rst",        ["--filter-rst"],           (2, 417, 198076, 417, 0)),
    ("quic",    "filter_rst",        ["--filter-rst"],           (8, 141, 134777, 141, 0)),
    ("quic2",   "filter_rst",        ["--filter-rst"],           (22, 975, 500907, 975, 0)),

    # udp_timeout 60 / 1: flows only. quic and quic2 with 1 crashed the original (non-UTF-8 SNI,
    # a bug of the original): no value to hold.
    ("single",  "udp_timeout 60",    ["--udp-timeout", "60"],    (1, None, None, None, None)),
    ("multi",   "udp_timeout 60",    ["--udp-timeout", "60"],    (149, None, None, None, None)),
    ("dup",     "udp_timeout 60",    ["--udp-timeout", "60"],    (1, None, None, None, None)),
    ("fin-rst", "udp_timeout 60",    ["--udp-timeout", "60"],    (1, None, None, None, None)),
    ("ip_seg",  "udp_timeout 60",    ["--udp-timeout", "60"],    (2, None, None, None, None)),
    ("quic",    "udp_timeout 60",    ["--udp-timeout", "60"],    (8, None, None, None, None)),
    ("quic2",   "udp_timeout 60",    ["--udp-timeout", "60"],    (24, None, None, None, None)),
    ("single",  "udp_timeout 1",     ["--udp-timeout", "1"],     (1, None, None, None, None)),
    ("multi",   "udp_timeout 1",     ["--udp-timeout", "1"],     (1064, None, None, None, None)),
    ("dup",     "udp_timeout 1",     ["--udp-timeout", "1"],     (1, None, None, None, None)),
    ("fin-rst", "udp_timeout 1",     ["--udp-timeout", "1"],     (1, None, None, None, None)),
    ("ip_seg",  "udp_timeout 1",     ["--udp-timeout", "1"],     (10, None, None, None, None)),
]
FIELDS = ["flows", "packets in flows", "bytes", "read", "filtered"]
FILTERED = ["filtered", "flow_filtered", "retransmission", "ack_filtered", "rst_filtered"]


def run(binary, capture, opts, tmp):
    out, summ = os.path.join(tmp, "out.ndjson"), os.path.join(tmp, "summary.json")
    for p in (out, summ):
        if os.path.exists(p):
            os.remove(p)
    cmd = [binary, "analyze", capture, "-f", "ndjson", "-o", out, "-q", "--summary", summ,
           "--compat"] + opts
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return cmd, "timeout", None
    if r.returncode != 0:
        err = r.stderr.decode("utf-8", "replace").strip().splitlines()
        return cmd, f"exit status {r.returncode}: {err[:1]}", None
    try:
        s = json.load(open(summ))
        flows = [json.loads(l) for l in open(out) if l.strip()]
        p = s["packets"]
        got = {
            "flows": s["flows"],
            "packets in flows": p["in_flow"],
            "bytes": sum(int(f["byte_count"]) for f in flows),
            "read": p["packets_read"],
            "filtered": sum(int(p.get(k, 0)) for k in FILTERED),
            "ndjson flows": len(flows),
            "ndjson packets": sum(int(f["packet_count"]) for f in flows),
        }
    except (OSError, ValueError, KeyError, TypeError) as e:
        return cmd, f"unreadable output: {e}", None
    return cmd, None, got


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary, data = argv[1], argv[2]
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="wkp_totals_") as tmp:
        # each row with the plain frames parsed by the reader and by the
        # workers (docs/design.md, "Reader and workers"): the same totals
        for cap, column, opts, want in ((c, f"{col}, parse in {w}", o + ["--parse-in", w], v)
                                        for c, col, o, v in ROWS
                                        for w in ("reader", "workers")):
            label = f"{cap} [{column}]"
            cmd, err, got = run(binary, os.path.join(data, f"wa1kpcap__{cap}.pcap"), opts, tmp)
            if err:
                failed += 1
                print(f"FAIL {label}: {err}\n  command: {' '.join(cmd)}")
                continue
            bad = [f"{n} {got[n]} (original {w})" for n, w in zip(FIELDS, want)
                   if w is not None and got[n] != w]
            if got["ndjson flows"] != got["flows"]:
                bad.append(f"NDJSON has {got['ndjson flows']} flows, summary {got['flows']}")
            if got["ndjson packets"] != got["packets in flows"]:
                bad.append(f"NDJSON packet_count sums to {got['ndjson packets']}, summary "
                           f"in_flow {got['packets in flows']}")
            shown = "/".join(str(got[n]) if w is not None else "-" for n, w in zip(FIELDS, want))
            if bad:
                failed += 1
                print(f"FAIL {label}: " + "; ".join(bad) + f"\n  command: {' '.join(cmd)}")
            else:
                passed += 1
                print(f"ok   {label}: {shown}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
