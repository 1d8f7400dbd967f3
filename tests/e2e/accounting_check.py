#!/usr/bin/env python3
"""Every packet read is accounted for exactly once in the run summary. For every
capture of tests/data that the CLI accepts, under default options and under a few others
(no default filter, pure-ACK and RST filters with retransmissions kept, no reassembly,
--min-packets 3, a flow-level filter term), the reasons in summary["packets"] must add
up to packets_read, and in_flow must equal the sum of the written flows' packet_count.
Usage: accounting_check.py WA1KPCAP DATA_DIR      (last line: N passed, N failed)
"""
import glob, json, os, subprocess, sys, tempfile

VARIANTS = [[], ["--no-default-filter"], ["--filter-ack", "--filter-rst", "--keep-retrans"],
            ["--no-reassembly"], ["--min-packets", "3"], ["--filter", "not tls and tcp"]]


def main(binary, data):
    passed = failed = 0
    caps = sorted(glob.glob(os.path.join(data, "*.pcap")) + glob.glob(os.path.join(data, "*.pcapng")))
    with tempfile.TemporaryDirectory() as tmp:
        summ, out = os.path.join(tmp, "s.json"), os.path.join(tmp, "f.ndjson")
        for cap in caps:
            for v in VARIANTS:
                r = subprocess.run([binary, "analyze", cap, "-q", "-o", out, "--summary", summ] + v,
                                   capture_output=True)
                if r.returncode != 0:
                    continue  # a refused capture: the malformed tests cover it
                s = json.load(open(summ))
                p = s["packets"]
                total = sum(n for k, n in p.items() if k != "packets_read")
                flows = sum(json.loads(l)["packet_count"] for l in open(out) if l.strip())
                if total == p["packets_read"] and flows == p["in_flow"]:
                    passed += 1
                else:
                    failed += 1
                    print(f"FAIL {os.path.basename(cap)} {v}: reasons add to {total}, read "
                          f"{p['packets_read']}; flows hold {flows}, in_flow {p['in_flow']}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
