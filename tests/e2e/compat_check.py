#!/usr/bin/env python3
"""Hold wa1kpcap --compat's flows for one capture against the original wa1kpcap v0.1.4's output.

Usage: compat_check.py WA1KPCAP_BINARY REFERENCE.ndjson CAPTURE [--reference-set raw|compat]
                       [extra args for analyze]

REFERENCE.ndjson is the original's output for CAPTURE (tests/data/reference/<set>/, see its
README.md). The reference set says which of the original's runs it is, and so which options
wa1kpcap runs with:
  raw     no default filter, retransmissions kept: `--compat --keep-retrans --no-default-filter`
  compat  the original's defaults (default filter on, retransmissions dropped): `--compat`
The set defaults to the name of the reference file's directory (raw or compat), else raw.

Runs `WA1KPCAP_BINARY analyze CAPTURE -f ndjson -o - -q <options> [extra args]` and matches the
flows one to one by canonical five-tuple (the (address, port) pairs ordered, protocol as a number)
and start_time to the microsecond (ties: the candidate with the same direction and counts); a
five-tuple left with one unmatched flow on each side pairs those two whatever their start times,
so a timestamp difference shows as such. For each matched flow it compares:
  - direction (src/dst address and port) and protocol;
  - packet and byte counts, per direction (byte_count = up + down on the reference side);
  - start_time and end_time to 1e-6 s;
  - the sequences packet_lengths, ip_lengths, trans_lengths, app_lengths, payload_bytes,
    tcp_flags, tcp_window_sizes element-wise, exactly; timestamps to 1e-6 s; iats to 2e-6 s
    absolute (the original subtracted rounded double timestamps; wa1kpcap prints exact
    differences);
  - every statistic present in both to 1e-9 relative (1e-12 absolute near zero), except the
    `iats` block and the `duration` scalar: 1e-6 absolute or relative (same reason). A block
    present on one side only is a difference; wa1kpcap's extra statistics (skew, kurt, cv, the
    up_iats and down_iats blocks) are not in the reference and are ignored.
ext_protocol and the application-layer fields are not compared.

One check per flow (a flow present on one side only is a failed check); a run that fails
(exit status not 0, unreadable NDJSON) is one more failed check; for a known difference (below)
the run is the only check. Prints a summary for the capture,
each difference (the first 20), and as last line `N passed, N failed`; exit status 0 iff nothing
failed.

Captures listed in compat_known.txt (beside this script) differ from the original on purpose
(a fix that --compat keeps) for the reason given there (a `[raw]` or `[compat]`
line replaces an untagged one for that reference set): for them the differences
are printed for information and only the run is checked (exit status 0). A reason starting with
"refused:" means wa1kpcap must reject the capture (non-zero exit status, not a signal, one
stderr line naming it) where the original read it. WKP_COMPAT_ALL=1 checks every capture fully.
"""
import ipaddress, json, math, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {"ICMP": 1, "IGMP": 2, "TCP": 6, "UDP": 17, "GRE": 47, "ESP": 50, "AH": 51,
         "ICMPv6": 58, "SCTP": 132}
INT_SEQS = ["packet_lengths", "ip_lengths", "trans_lengths", "app_lengths", "payload_bytes",
            "tcp_flags", "tcp_window_sizes"]
IGNORED_BLOCKS = {"up_iats", "down_iats"}       # ours only
IGNORED_STATS = {"skew", "kurt", "cv"}          # ours only
TIME_TOL = 1e-6
IAT_TOL = 2e-6
REL_TOL, ABS_TOL = 1e-9, 1e-12
IAT_STAT_TOL = 1e-6
MAX_SHOWN = 20
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
        return str(a)


def endpoint(f, side):
    return norm_addr(f.get(side + "_ip", "")), int(f.get(side + "_port") or 0)


def canon(f):
    x, y = endpoint(f, "src"), endpoint(f, "dst")
    if x > y:
        x, y = y, x
    return f"{x[0]}:{x[1]}|{y[0]}:{y[1]}|{proto_num(f['protocol'])}"


def known_differences(ref_set):
    """compat_known.txt: `CAPTURE REASON`, or `[raw] CAPTURE REASON` / `[compat] ...` for one set.
    A line for the set wins over an untagged line for the same capture, wherever it stands."""
    out, tagged = {}, set()
    path = os.path.join(HERE, "compat_known.txt")
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            is_tagged = line.startswith("[")
            if is_tagged:
                tag, _, line = line.partition(" ")
                if tag.strip("[]") != ref_set:
                    continue
            name, _, reason = line.partition(" ")
            if name in tagged and not is_tagged:
                continue
            if is_tagged:
                tagged.add(name)
            out[name] = reason.strip()
    return out


def run_args(ref_set):
    if ref_set == "compat":
        return ["--compat"]
    return ["--compat", "--keep-retrans", "--no-default-filter"]


def close(a, b, rel, abs_):
    if a is None or b is None or isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return a == b
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    d = abs(a - b)
    return d <= abs_ or d <= rel * max(abs(a), abs(b))


def fmt_seq_diff(name, ours, theirs, tol):
    if len(ours) != len(theirs):
        return f"{name}: length ours {len(ours)} theirs {len(theirs)}" + first_mismatch(
            ours, theirs, tol)
    return f"{name}:" + first_mismatch(ours, theirs, tol)


def first_mismatch(ours, theirs, tol):
    bad = [i for i in range(min(len(ours), len(theirs)))
           if not (ours[i] == theirs[i] if tol is None else abs(ours[i] - theirs[i]) <= tol)]
    if not bad:
        return ""
    i = bad[0]
    return (f" {len(bad)} elements differ, first at [{i}] ours {ours[i]!r} theirs {theirs[i]!r}"
            f" (ours {ours[max(0, i - 2):i + 3]} theirs {theirs[max(0, i - 2):i + 3]})")


def compare(ours, theirs):
    """Differences between one of our flows and the reference flow it was matched with."""
    d = []
    if (endpoint(ours, "src"), endpoint(ours, "dst")) != (endpoint(theirs, "src"),
                                                          endpoint(theirs, "dst")):
        d.append("direction: ours {} -> {} theirs {} -> {}".format(
            ep_text(endpoint(ours, "src")), ep_text(endpoint(ours, "dst")),
            ep_text(endpoint(theirs, "src")), ep_text(endpoint(theirs, "dst"))))
    for k in ["packet_count", "up_packet_count", "down_packet_count", "up_byte_count",
              "down_byte_count"]:
        if ours.get(k) != theirs.get(k):
            d.append(f"{k}: ours {ours.get(k)} theirs {theirs.get(k)}")
    tb = (theirs.get("up_byte_count") or 0) + (theirs.get("down_byte_count") or 0)
    if ours.get("byte_count") != tb:
        d.append(f"byte_count: ours {ours.get('byte_count')} theirs {tb} (up + down)")
    for k in ["start_time", "end_time"]:
        if not close(ours.get(k), theirs.get(k), 0, TIME_TOL + 1e-9):
            d.append(f"{k}: ours {ours.get(k)!r} theirs {theirs.get(k)!r}")

    fo, ft = ours.get("features") or {}, theirs.get("features") or {}
    for k in INT_SEQS:
        a, b = fo.get(k) or [], ft.get(k) or []
        if a != b:
            d.append(fmt_seq_diff(k, a, b, None))
    for k, tol in [("timestamps", TIME_TOL + 1e-9), ("iats", IAT_TOL)]:
        a, b = fo.get(k) or [], ft.get(k) or []
        if len(a) != len(b) or any(abs(x - y) > tol for x, y in zip(a, b)):
            d.append(fmt_seq_diff(k, a, b, tol))

    so, st = fo.get("statistics") or {}, ft.get("statistics") or {}
    for blk in sorted(set(so) | set(st), key=lambda b: (list(st) + list(so)).index(b)):
        if blk in IGNORED_BLOCKS and blk not in st:
            continue
        if blk not in so or blk not in st:
            side = "ours" if blk in so else "theirs"
            d.append(f"statistics.{blk}: only in {side}")
            continue
        vo, vt = so[blk], st[blk]
        loose = blk in ("iats", "duration")
        if not isinstance(vo, dict) or not isinstance(vt, dict):
            ok = (close(vo, vt, IAT_STAT_TOL, IAT_STAT_TOL) if loose
                  else close(vo, vt, REL_TOL, ABS_TOL))
            if not ok:
                d.append(f"statistics.{blk}: ours {vo!r} theirs {vt!r}")
            continue
        bad = []
        for stat in vt:
            if stat in IGNORED_STATS or stat not in vo:
                continue
            ok = (close(vo[stat], vt[stat], IAT_STAT_TOL, IAT_STAT_TOL) if loose
                  else close(vo[stat], vt[stat], REL_TOL, ABS_TOL))
            if not ok:
                bad.append(f"{stat} ours {vo[stat]!r} theirs {vt[stat]!r}")
        if bad:
            d.append(f"statistics.{blk}: " + "; ".join(bad))
    return d


def ep_text(e):
    return f"[{e[0]}]:{e[1]}" if ":" in e[0] else f"{e[0]}:{e[1]}"


def flow_label(f):
    return "{} -> {} ({}) start {}".format(ep_text(endpoint(f, "src")), ep_text(endpoint(f, "dst")),
                                           proto_num(f["protocol"]), f.get("start_time"))


def match(ours, theirs):
    """Pairs (ours, theirs) by canonical five-tuple and start time; the rest one-sided."""
    groups = {}
    for f in ours:
        groups.setdefault(canon(f), ([], []))[0].append(f)
    for f in theirs:
        groups.setdefault(canon(f), ([], []))[1].append(f)
    pairs, only_ours, only_theirs = [], [], []
    for key in groups:
        o, t = groups[key]
        used, left_t = set(), []
        for tf in sorted(t, key=lambda f: f["start_time"]):
            best = None
            for i, of in enumerate(o):
                if i in used:
                    continue
                dt = abs(float(of["start_time"]) - float(tf["start_time"]))
                if dt > TIME_TOL + 1e-9:
                    continue
                same_dir = (endpoint(of, "src"), endpoint(of, "dst")) == \
                    (endpoint(tf, "src"), endpoint(tf, "dst"))
                score = (not same_dir, of.get("packet_count") != tf.get("packet_count"),
                         of.get("up_byte_count") != tf.get("up_byte_count"), dt)
                if best is None or score < best[0]:
                    best = (score, i)
            if best is None:
                left_t.append(tf)
            else:
                used.add(best[1])
                pairs.append((o[best[1]], tf))
        left_o = [f for i, f in enumerate(o) if i not in used]
        # One flow left on each side with the same five-tuple but another start time (a
        # timestamp difference, e.g. the original ignoring pcapng if_tsresol): pair them so the
        # start_time difference and the rest are reported, instead of two one-sided flows.
        if len(left_t) == 1 and len(left_o) == 1:
            pairs.append((left_o[0], left_t[0]))
            left_t, left_o = [], []
        only_theirs += left_t
        only_ours += left_o
    return pairs, only_ours, only_theirs


def main(argv):
    args = argv[1:]
    ref_set = None
    if "--reference-set" in args:
        i = args.index("--reference-set")
        if i + 1 >= len(args) or args[i + 1] not in ("raw", "compat"):
            print("--reference-set takes raw or compat", file=sys.stderr)
            return 2
        ref_set = args[i + 1]
        del args[i:i + 2]
    if len(args) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary, ref_path, capture, extra = args[0], args[1], args[2], args[3:]
    if ref_set is None:
        parent = os.path.basename(os.path.dirname(os.path.abspath(ref_path)))
        ref_set = parent if parent in ("raw", "compat") else "raw"
    name = os.path.basename(capture)
    known = known_differences(ref_set).get(name)
    full = known is None or os.environ.get("WKP_COMPAT_ALL") == "1"
    refused = not full and known.startswith("refused:")

    theirs = []
    for line in open(ref_path, encoding="utf-8"):
        if line.strip():
            theirs.append(json.loads(line))

    cmd = [binary, "analyze", capture, "-f", "ndjson", "-o", "-", "-q"] + \
        run_args(ref_set) + extra
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
        rc = r.returncode
        out = r.stdout.decode("utf-8", "replace")
        err = r.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        rc, out, err = "timeout", "", ""
    ours, bad_lines = [], 0
    for line in out.splitlines():
        if not line.strip():
            continue
        try:
            f = json.loads(line)
            canon(f)
            ours.append(f)
        except (ValueError, KeyError, TypeError):
            bad_lines += 1

    passed = failed = 0
    errlines = err.splitlines()
    if refused:
        run_ok = isinstance(rc, int) and rc > 0 and len(errlines) == 1 and name in errlines[0]
    else:
        run_ok = rc == 0 and bad_lines == 0
    if not run_ok:
        failed += 1
        want = "non-zero with one stderr line naming the file" if refused else "0"
        print(f"FAIL {name}: run: exit status {rc} (expected {want}), {len(errlines)} stderr "
              f"lines, {bad_lines} unreadable NDJSON lines")
        print("  command: " + " ".join(cmd))
        for l in errlines[:5]:
            print("  stderr: " + l)

    pairs, only_ours, only_theirs = match(ours, theirs)
    tag = "FAIL" if full else "known"
    shown = agree = 0
    results = []
    for of, tf in pairs:
        results.append((flow_label(tf), compare(of, tf)))
    for tf in only_theirs:
        results.append((flow_label(tf), [f"only in the reference ({tf.get('packet_count')} "
                                         f"packets, {(tf.get('up_byte_count') or 0) + (tf.get('down_byte_count') or 0)} bytes)"]))
    for of in only_ours:
        results.append((flow_label(of), [f"only in ours ({of.get('packet_count')} packets, "
                                         f"{of.get('byte_count')} bytes)"]))
    for label, diffs in results:
        if not diffs:
            agree += 1
            if full:
                passed += 1
            continue
        if full:
            failed += 1
        for d in diffs:
            if shown < MAX_SHOWN:
                print(f"{tag} {name} {label}: {d}")
            shown += 1
    total_diffs = sum(len(d) for _, d in results)
    if shown > MAX_SHOWN:
        print(f"  ... {shown - MAX_SHOWN} more differences not shown")
    print(f"{name} [{ref_set}]: ours {len(ours)} flows, reference {len(theirs)} flows; "
          f"{len(pairs)} matched, {len(only_theirs)} only in the reference, {len(only_ours)} "
          f"only in ours; {agree} agree, {len(results) - agree} differ ({total_diffs} differences)")
    if not full:
        if run_ok:
            passed += 1
        print(f"{name}: known difference ({known}); checked only that the run "
              f"{'refuses it cleanly' if refused else 'succeeds'}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
