#!/usr/bin/env python3
"""Hold `analyze --filter EXPR` against the filter truths (tests/data/expected/filters).

Usage: filter_check.py WA1KPCAP_BINARY FILTERS_DIR CAPTURE

For every case of FILTERS_DIR/cases.tsv (slug, expression) runs
  WA1KPCAP_BINARY analyze CAPTURE -f ndjson -o - -q --no-default-filter --keep-retrans
                  --tcp-timeout 0 --udp-timeout 0 --filter EXPR
sums packet_count and byte_count per canonical five-tuple (as truth_check.py does) and compares
them with FILTERS_DIR/<capture>__<slug>.truth.json, made by tcpdump/tshark (README.md there says
how; neither is needed here). One check per five-tuple, one per run. Last line:
`N passed, N failed`; exit status 0 iff nothing failed.

A CLI that rejects --filter or one of the options above fails every run.
"""
import json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from truth_check import canon, proto_num, recanon  # noqa: E402

ARGS = ["--no-default-filter", "--keep-retrans", "--tcp-timeout", "0", "--udp-timeout", "0"]
TIMEOUT = 300


def cases(d):
    for line in open(os.path.join(d, "cases.tsv")):
        if line.strip() and not line.startswith("#"):
            slug, expr, _ = line.rstrip("\n").split("\t")
            yield slug, expr


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary, fdir, capture = argv[1:]
    name = os.path.basename(capture)
    passed = failed = 0
    for slug, expr in cases(fdir):
        truth_path = os.path.join(fdir, f"{name}__{slug}.truth.json")
        truth = {}
        for k, (p, b) in json.load(open(truth_path))["flows"].items():
            t = truth.setdefault(recanon(k), [0, 0])
            t[0] += p
            t[1] += b
        threads = ["-t", os.environ["WKP_THREADS"]] if os.environ.get("WKP_THREADS") else []
        cmd = [binary, "analyze", capture, "-f", "ndjson", "-o", "-", "-q"] + ARGS + threads + \
              ["--filter", expr]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
            rc, out = r.returncode, r.stdout.decode("utf-8", "replace")
            err = r.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, out, err = "timeout", "", ""
        got, bad = {}, 0
        for line in out.splitlines():
            if not line.strip():
                continue
            try:
                f = json.loads(line)
                k = canon(f["src_ip"], f.get("src_port") or 0, f["dst_ip"],
                          f.get("dst_port") or 0, proto_num(f["protocol"]))
                g = got.setdefault(k, [0, 0])
                g[0] += int(f["packet_count"])
                g[1] += int(f["byte_count"])
            except (ValueError, KeyError, TypeError):
                bad += 1
        if rc == 0 and bad == 0:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {name} '{expr}': exit status {rc}, {bad} unreadable NDJSON lines")
            print("  command: " + " ".join(repr(a) if " " in a else a for a in cmd))
            for l in err.splitlines()[:5]:
                print("  stderr: " + l)
            continue
        for k in sorted(set(truth) | set(got)):
            t, g = truth.get(k, [0, 0]), got.get(k, [0, 0])
            if t == g:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {name} '{expr}' {k}: truth {t[0]} packets {t[1]} bytes, "
                      f"wa1kpcap {g[0]} packets {g[1]} bytes")
        print(f"{name} '{expr}': {len(truth)} five-tuples, "
              f"{sum(v[0] for v in truth.values())} packets in the truth")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
