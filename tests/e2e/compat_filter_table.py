#!/usr/bin/env python3
"""The filter table measured on the original wa1kpcap for multi.pcap (default filter on): with
--compat wa1kpcap must give the same flows (and packets where the table gives them).
Usage: compat_filter_table.py WA1KPCAP MULTI_PCAP      (last line: N passed, N failed)
"""
import json, os, subprocess, sys, tempfile

# The original's "Filters (flows/packets)": (expression, flows, packets or None)
TABLE = [("tcp", 77, 1480), ("udp", 62, 2430), ("port 443", 37, 1111),
         ("tcp and port 443", 35, 1023), ("port 443 or port 80", 58, 1267),
         ("not udp", 79, None), ("ip", 109, None), ("ip6", 32, None),
         ("host 192.168.226.54", 106, None), ("not (tcp)", 64, None)]


def main(binary, cap):
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        summ = os.path.join(tmp, "s.json")
        for t in ("1", "4"):
            for expr, flows, pkts in TABLE:
                subprocess.run([binary, "analyze", cap, "-f", "none", "-q", "--compat", "-t", t,
                                "--filter", expr, "--summary", summ], check=True)
                s = json.load(open(summ))
                got = (s["flows"], s["packets"]["in_flow"] if pkts is not None else None)
                if got == (flows, pkts):
                    passed += 1
                else:
                    failed += 1
                    print(f"FAIL -t {t} '{expr}': {got}, the original {(flows, pkts)}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
