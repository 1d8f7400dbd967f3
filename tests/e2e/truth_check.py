#!/usr/bin/env python3
"""Hold wa1kpcap's flows for one capture against tshark's truth (tests/data/expected/*.truth.json).

Usage: truth_check.py WA1KPCAP_BINARY TRUTH.json CAPTURE [extra args for analyze]

Runs `WA1KPCAP_BINARY analyze CAPTURE -f ndjson -o - -q [extra args]`, sums packet_count and
byte_count per canonical five-tuple `a:pa|b:pb|proto` (the (address text, port) pairs ordered,
protocol as a number: the form of /work/shared/tools/tshark_flows.py) and compares each
five-tuple with the truth. One check per five-tuple (packets and bytes must both agree), plus
one for the run itself (exit status 0, NDJSON that parses). Last line: `N passed, N failed`;
exit status 0 iff nothing failed.

Captures listed in known_differences.txt (beside this script) are expected to differ from
tshark for the reason given there: for them the differences are printed for information and
only the run itself is checked (no crash, exit status 0). A reason starting with "refused:"
means wa1kpcap is expected to reject the capture as bad input where tshark reads part of it:
then the run must end with a non-zero exit status (not a signal) and exactly one stderr line
naming the capture. WKP_TRUTH_ALL=1 checks every capture fully.

Runs with the options the truth needs (tshark applies no filter, drops no retransmission, splits
no flow): --no-default-filter --keep-retrans --udp-timeout 0 --tcp-timeout 0; a CLI without one
of them fails the run. WKP_TRUTH_ARGS (space-separated) replaces them.
Addresses are compared in a normal form (Python's ipaddress), so only the numbers can differ.
"""
import ipaddress, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {"ICMP": 1, "IGMP": 2, "TCP": 6, "UDP": 17, "GRE": 47, "ESP": 50, "AH": 51,
         "ICMPv6": 58, "SCTP": 132}
TRUTH_ARGS = ["--no-default-filter", "--keep-retrans", "--udp-timeout", "0", "--tcp-timeout", "0"]
TIMEOUT = 300


def proto_num(p):
    if isinstance(p, int):
        return p
    p = str(p)
    if p in NAMES:
        return NAMES[p]
    if p.startswith("PROTO(") and p.endswith(")"):
        return int(p[6:-1])
    return int(p)


def norm_addr(a):
    try:
        return ipaddress.ip_address(a).compressed
    except ValueError:
        return a


def canon(a, pa, b, pb, proto):
    x, y = (norm_addr(a), int(pa or 0)), (norm_addr(b), int(pb or 0))
    if x > y:
        x, y = y, x
    return f"{x[0]}:{x[1]}|{y[0]}:{y[1]}|{proto}"


def recanon(key):
    """Re-canonicalise a tshark_flows.py key with normalised addresses."""
    try:
        e1, e2, proto = key.split("|")
        a, pa = e1.rsplit(":", 1)
        b, pb = e2.rsplit(":", 1)
        return canon(a, pa, b, pb, int(proto))
    except ValueError:
        return key


def known_differences():
    out = {}
    path = os.path.join(HERE, "known_differences.txt")
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                out[name] = reason.strip()
    return out


def truth_args():
    if "WKP_TRUTH_ARGS" in os.environ:
        return os.environ["WKP_TRUTH_ARGS"].split()
    return list(TRUTH_ARGS)


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary, truth_path, capture, extra = argv[1], argv[2], argv[3], argv[4:]
    name = os.path.basename(capture)
    known = known_differences().get(name)
    full = known is None or os.environ.get("WKP_TRUTH_ALL") == "1"
    truth_doc = json.load(open(truth_path))
    if truth_doc.get("capture") not in (None, name):
        print(f"{name}: truth file is for {truth_doc.get('capture')}", file=sys.stderr)
        return 2
    truth = {}
    for k, (p, b) in truth_doc["flows"].items():
        t = truth.setdefault(recanon(k), [0, 0])
        t[0] += p
        t[1] += b

    cmd = [binary, "analyze", capture, "-f", "ndjson", "-o", "-", "-q"] + truth_args() + extra
    passed = failed = 0
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
        rc, out, err = r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        rc, out, err = "timeout", "", ""
    got, bad_lines = {}, 0
    for line in out.splitlines():
        if not line.strip():
            continue
        try:
            f = json.loads(line)
            k = canon(f["src_ip"], f.get("src_port") or 0, f["dst_ip"], f.get("dst_port") or 0,
                      proto_num(f["protocol"]))
            g = got.setdefault(k, [0, 0])
            g[0] += int(f["packet_count"])
            g[1] += int(f["byte_count"])
        except (ValueError, KeyError, TypeError):
            bad_lines += 1
    refused = not full and known.startswith("refused:")
    lines = err.splitlines()
    if refused:
        ok = isinstance(rc, int) and rc > 0 and len(lines) == 1 and name in lines[0]
    else:
        ok = rc == 0 and bad_lines == 0
    if ok:
        passed += 1
    else:
        failed += 1
        want = "non-zero with one stderr line naming the file" if refused else "0"
        print(f"FAIL {name}: run: exit status {rc} (expected {want}), {len(lines)} stderr lines, "
              f"{bad_lines} unreadable NDJSON lines")
        print("  command: " + " ".join(cmd))
        for l in err.splitlines()[:5]:
            print("  stderr: " + l)

    diffs = 0
    for k in sorted(set(truth) | set(got)):
        t, g = truth.get(k, [0, 0]), got.get(k, [0, 0])
        if t == g:
            if full:
                passed += 1
            continue
        diffs += 1
        tag = "FAIL" if full else "known"
        print(f"{tag} {name} {k}: tshark {t[0]} packets {t[1]} bytes, "
              f"wa1kpcap {g[0]} packets {g[1]} bytes")
        if full:
            failed += 1
    if not full:
        print(f"{name}: known difference ({known}); {diffs} five-tuples differ; checked only "
              f"that the run {'refuses it cleanly' if refused else 'succeeds'}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
