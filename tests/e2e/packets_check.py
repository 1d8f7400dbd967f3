#!/usr/bin/env python3
"""--packets PATH: one row per packet, in flow output order, agreeing with each flow's own
sequences in the flow NDJSON written by the same run (a second view of the same records:
lengths unsigned with a separate direction, timestamps exact). CSV and NDJSON packet
sinks must agree with each other too.
Usage: packets_check.py WA1KPCAP DATA_DIR      (last line: N passed, N failed)
"""
import csv, json, os, subprocess, sys, tempfile


def main(binary, data):
    passed = failed = 0
    for cap in ("wa1kpcap__single.pcap", "wa1kpcap__dup.pcap", "zeek__get.pcap",
                "wa1kpcap__quic.pcap"):
        with tempfile.TemporaryDirectory() as tmp:
            fl, pc, pn = (os.path.join(tmp, n) for n in ("f.ndjson", "p.csv", "p.ndjson"))
            subprocess.run([binary, "analyze", os.path.join(data, cap), "-q", "-o", fl,
                            "--packets", pc], check=True)
            subprocess.run([binary, "analyze", os.path.join(data, cap), "-q", "-f", "none",
                            "--packets", pn], check=True)
            flows = [json.loads(l) for l in open(fl)]
            rows = list(csv.DictReader(open(pc)))
            nrows = [json.loads(l) for l in open(pn)]
            want = []
            for f in flows:
                ft = f["features"]
                for i, ln in enumerate(ft["packet_lengths"]):
                    want.append((f["flow_id"], i, 1 if ln > 0 else -1, ft["timestamps"][i],
                                 abs(ln), abs(ft["ip_lengths"][i]), abs(ft["app_lengths"][i]),
                                 (ft.get("tcp_flags") or [0] * len(ft["packet_lengths"]))[i]))
            got = [(int(r["flow_id"]), int(r["index"]), int(r["direction"]),
                    float(r["timestamp"]), int(r["packet_length"]), int(r["ip_length"]),
                    int(r["app_length"]), int(r["tcp_flags"])) for r in rows]
            gotn = [(r["flow_id"], r["index"], r["direction"], r["timestamp"],
                     r["packet_length"], r["ip_length"], r["app_length"], r["tcp_flags"])
                    for r in nrows]
            for name, g in (("csv", got), ("ndjson", gotn)):
                if g == want and len(want) == sum(f["packet_count"] for f in flows):
                    passed += 1
                else:
                    failed += 1
                    print(f"FAIL {cap} {name}: {len(g)} rows, expected {len(want)}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
