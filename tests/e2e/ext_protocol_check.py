#!/usr/bin/env python3
"""Hold the application names in ext_protocol against the original wa1kpcap v0.1.4's.

Usage: ext_protocol_check.py WA1KPCAP_BINARY DATA_DIR

For every reference file DATA_DIR/reference/raw/<capture>.ndjson (the original's flows with
no default filter and retransmissions kept), runs `WA1KPCAP_BINARY analyze --compat
--keep-retrans --no-default-filter` on DATA_DIR/<capture>, pairs the flows as compat_check.py
does (canonical five-tuple and start time) and compares which of TLS, HTTPS and DNS each
flow's ext_protocol names: the original set them where it parsed TLS records (TLS; HTTPS
when an ALPN value is h2, http or http/...) or DNS over UDP port 53. QUIC and HTTP are not
compared (the original never names HTTP; QUIC has its own dissector to come).

Differences that are ours on purpose are listed in ext_protocol_known.txt beside this
script, one per line: `CAPTURE CANONICAL-FIVE-TUPLE REASON` (the tuple as compat_check.py's
canon() prints it, or `*` for every flow of the capture). Prints each difference and as last
line `N passed, N failed` (one check per paired flow); exit status 0 iff nothing failed.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compat_check  # noqa: E402  (same directory)

NAMES = ("TLS", "HTTPS", "DNS")


def known():
    out = {}
    path = os.path.join(HERE, "ext_protocol_known.txt")
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cap, key, reason = line.split(" ", 2)
        out[(cap, key)] = reason
    return out


def names(flow):
    return sorted(n for n in flow.get("ext_protocol", []) if n in NAMES)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary, data = argv[1], argv[2]
    ref_dir = os.path.join(data, "reference", "raw")
    expected = known()
    passed = failed = 0
    for ref in sorted(os.listdir(ref_dir)):
        if not ref.endswith(".ndjson"):
            continue
        cap = ref[: -len(".ndjson")]
        capture = os.path.join(data, cap)
        if not os.path.exists(capture):
            continue
        theirs = [json.loads(l) for l in open(os.path.join(ref_dir, ref), encoding="utf-8")
                  if l.strip()]
        r = subprocess.run([binary, "analyze", capture, "-f", "ndjson", "-o", "-", "-q",
                            "--compat", "--keep-retrans", "--no-default-filter"],
                           capture_output=True, timeout=300)
        if r.returncode != 0:
            continue  # refused captures are compat_check's business
        ours = [json.loads(l) for l in r.stdout.decode("utf-8", "replace").splitlines()
                if l.strip()]
        pairs, _, _ = compat_check.match(ours, theirs)
        for o, t in pairs:
            key = compat_check.canon(o)
            a, b = names(o), names(t)
            reason = expected.get((cap, key)) or expected.get((cap, "*"))
            if a == b or reason:
                passed += 1
                if a != b:
                    print(f"known {cap} {key}: ours {a}, original {b} ({reason})")
                continue
            failed += 1
            print(f"FAIL {cap} {key}: ours {a}, original {b}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
