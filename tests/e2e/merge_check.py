#!/usr/bin/env python3
"""Several captures (docs/design.md, "Several captures") and slices, through the CLI.

The expected values come from the captures' own record structure, read here with a few lines
of Python (pcap: 24-byte file header, 16-byte record headers; pcapng: block lengths), and from
runs over the unsplit captures:

- tests/data/merge/multi holds wa1kpcap__multi.pcap cut by `editcap -c 1100` into four parts
  named out of time order. `--merge` over the parts, given in shuffled order, writes the flows
  of the unsplit capture: every column but `capture`, which names the part holding the flow's
  first packet (flow_id is that packet's ordinal, so the part is (flow_id - 1) // 1100 in
  time order). Byte-identical at -t 1, 2 and 4, with both readers, and for the directory.
- tests/data/merge/overlap: east.pcapng and west.pcapng hold the odd and even packets of the
  first 900 of wa1kpcap__multi.pcap (they overlap in time); merged.pcapng is `mergecap -w
  merged.pcapng west.pcapng east.pcapng` (mergecap gives a tie to the later file, so this
  order makes east, which sorts first, win ties as --merge does). `--merge west east` ==
  merged.pcapng's flows.
- Without --merge each file keeps its own flows in the given order; a directory is taken in
  the order of its files' first timestamps (computed here from the record headers).
- Byte-offset slices over a pcap and a pcapng: each slice reads exactly the records whose
  first byte lies in it (counted here), they add up to the whole run, and a flow of the whole
  run well inside a slice is found in the slice's run unchanged (but its flow_id).
- Time slices: packets with start <= ts < stop (counted here), adding up to the whole run.
Usage: merge_check.py WA1KPCAP DATA_DIR      (last line: N passed, N failed)
"""
import csv, io, json, os, struct, subprocess, sys, tempfile

PASSED = FAILED = 0


def check(label, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
    else:
        FAILED += 1
        print(f"FAIL {label}: {detail}")


def run(binary, args, tmp):
    """(exit status, stderr lines, CSV text, summary dict)"""
    out, summ = os.path.join(tmp, "f.csv"), os.path.join(tmp, "s.json")
    for p in (out, summ):
        if os.path.exists(p):
            os.remove(p)
    r = subprocess.run([binary, "analyze", "-q", "-o", out, "--summary", summ] + args,
                       capture_output=True, text=True, timeout=300)
    text = open(out).read() if os.path.exists(out) else None
    s = json.load(open(summ)) if os.path.exists(summ) and r.returncode == 0 else None
    return r.returncode, r.stderr.splitlines(), text, s


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def pcap_records(path):
    """[(offset, ts_ns)] of a little-endian microsecond pcap."""
    b = open(path, "rb").read()
    assert struct.unpack_from("<I", b, 0)[0] == 0xA1B2C3D4
    off, out = 24, []
    while off + 16 <= len(b):
        sec, usec, caplen, _ = struct.unpack_from("<IIII", b, off)
        out.append((off, sec * 10**9 + usec * 1000))
        off += 16 + caplen
    return out


def pcapng_records(path):
    """[(offset, ts_ns)] of the packet blocks (EPB, SPB, PB) of a little-endian pcapng whose
    interfaces keep the default microsecond resolution (ts None for a simple packet block)."""
    b = open(path, "rb").read()
    off, out = 0, []
    while off + 12 <= len(b):
        btype, blen = struct.unpack_from("<II", b, off)
        if btype in (2, 6):
            hi, lo = struct.unpack_from("<II", b, off + 12)
            out.append((off, ((hi << 32) | lo) * 1000))
        elif btype == 3:
            out.append((off, None))
        off += blen
    return out


def pcapng_packets(path):
    return [o for o, _ in pcapng_records(path)]


def record_bytes(path):
    """The records of a pcap after its file header, as bytes."""
    return open(path, "rb").read()[24:]


def without(rs, cols):
    return [{k: v for k, v in r.items() if k not in cols} for r in rs]


def merge_parts(binary, data, tmp):
    whole = os.path.join(data, "wa1kpcap__multi.pcap")
    pdir = os.path.join(data, "merge", "multi")
    parts = sorted(os.listdir(pdir))
    # time order from the first record of each part
    by_time = sorted(parts, key=lambda p: pcap_records(os.path.join(pdir, p))[0][1])
    check("parts out of name order", by_time != parts, f"{by_time}")
    sizes = [len(pcap_records(os.path.join(pdir, p))) for p in by_time]
    check("parts are the capture cut in four",
          b"".join(record_bytes(os.path.join(pdir, p)) for p in by_time) == record_bytes(whole),
          f"{sizes}")
    shuffled = [os.path.join(pdir, p) for p in (by_time[2], by_time[0], by_time[3], by_time[1])]

    rc, err, ref, sref = run(binary, ["-t", "2", whole], tmp)
    check("whole run", rc == 0, err)
    outs = {}
    for t in ("1", "2", "4"):
        rc, err, outs[t], s = run(binary, ["-t", t, "--merge"] + shuffled, tmp)
        check(f"merge -t {t}", rc == 0, err)
    check("merge identical at -t 1/2/4", outs["1"] == outs["2"] == outs["4"])
    rc, err, small, _ = run(binary, ["-t", "4", "--ring-slots", "2", "--merge"] + shuffled, tmp)
    check("merge with 2-slot rings", rc == 0 and small == outs["1"], err)
    rc, err, lp, _ = run(binary, ["-t", "2", "--reader", "libpcap", "--merge"] + shuffled, tmp)
    check("merge, libpcap reader", rc == 0 and lp == outs["1"], err)
    rc, err, dirout, _ = run(binary, ["-t", "2", "--merge", pdir], tmp)
    check("merge over the directory", rc == 0 and dirout == outs["1"], err)

    a, b = rows(ref), rows(outs["1"])
    check("merge: same flows as the unsplit capture",
          without(a, {"capture"}) == without(b, {"capture"}), f"{len(a)} vs {len(b)} flows")
    bounds, acc = [], 0
    for n in sizes:
        bounds.append(acc)
        acc += n
    bad = []
    for r in b:
        ordinal = int(r["flow_id"])
        part = max(i for i, lo in enumerate(bounds) if ordinal > lo)
        if r["capture"] != by_time[part]:
            bad.append((r["flow_id"], r["capture"], by_time[part]))
    check("merge: capture = part of the first packet", not bad, f"{bad[:3]}")
    check("merge: flows start in every part", {r["capture"] for r in b} == set(parts))
    check("merge: packets_read", s and sref and
          s["packets"] == sref["packets"], f"{s and s['packets']}")
    check("merge: in the summary's options", s and s["options"]["merge"] is True and
          sref["options"]["merge"] is False)

    # without --merge: each file on its own, in the order given; a directory in time order
    rc, err, given, _ = run(binary, ["-t", "2"] + shuffled, tmp)
    first_caps = []
    for r in rows(given):
        if not first_caps or first_caps[-1] != r["capture"]:
            first_caps.append(r["capture"])
    check("no merge: files in the given order", rc == 0 and
          first_caps == [os.path.basename(p) for p in shuffled], f"{first_caps}")
    check("no merge: every flow ends with its file",
          all(r["end_reason"] != "" for r in rows(given)) and len(rows(given)) > len(a))
    rc, err, d, _ = run(binary, ["-t", "2", pdir], tmp)
    rc2, err2, t_order, _ = run(binary, ["-t", "2"] + [os.path.join(pdir, p) for p in by_time],
                                tmp)
    check("no merge: directory in capture-time order", rc == 0 and rc2 == 0 and d == t_order,
          err + err2)


def merge_overlap(binary, data, tmp):
    odir = os.path.join(data, "merge", "overlap")
    east, west, merged = (os.path.join(odir, f)
                          for f in ("east.pcapng", "west.pcapng", "merged.pcapng"))
    e, w = pcapng_records(east), pcapng_records(west)
    check("overlap: the halves overlap in time", e[0][1] < w[-1][1] and w[0][1] < e[-1][1])
    rc, err, ref, sref = run(binary, ["-t", "2", merged], tmp)
    rc2, err2, out, s = run(binary, ["-t", "2", "--merge", west, east], tmp)
    check("overlap runs", rc == 0 and rc2 == 0, err + err2)
    a, b = rows(ref), rows(out)
    check("overlap: same flows as the mergecap'd capture",
          without(a, {"capture"}) == without(b, {"capture"}), f"{len(a)} vs {len(b)} flows")
    check("overlap: both files name flows", {r["capture"] for r in b} == {"east.pcapng", "west.pcapng"})
    check("overlap: packets_read", s and s["packets"]["packets_read"] == len(e) + len(w))


def merge_damage(binary, data, tmp):
    cut = os.path.join(data, "made__cut_mid_record.pcap")
    other = os.path.join(data, "wa1kpcap__single.pcap")
    rc, err, out, s = run(binary, ["--merge", other, cut], tmp)
    check("merge: a cut capture is still a warning naming it",
          rc == 0 and any("made__cut_mid_record.pcap: capture cut short" in l for l in err), err)
    # damage and an undecoded pcapng interface stay with their file (packet counts and
    # offsets: tests/data/src/damaged.json and the unmerged runs of damaged_check.py)
    ng = os.path.join(data, "made__ng_linktype274.pcapng")
    dmg = os.path.join(data, "made__damaged_overwritten.pcap")
    rc, err, out, s = run(binary, ["--merge", other, ng, dmg], tmp)
    files = {os.path.basename(f["path"]): f for f in (s or {}).get("files", [])}
    check("merge: an undecoded interface is counted and named",
          rc == 0 and s["packets"]["unsupported_link"] == 4 and
          any("made__ng_linktype274.pcapng: pcapng interface 1" in l for l in err), err)
    check("merge: damage is named with its file and offset",
          rc == 0 and [d["offset"] for d in files["made__damaged_overwritten.pcap"]["damaged"]]
          == [350800] and any("made__damaged_overwritten.pcap: damaged record at offset 350800"
                              in l for l in err), err)
    rc, err, out, s = run(binary, ["--merge", "--strict", other, cut], tmp)
    check("merge --strict: the cut capture fails the run", rc == 1 and out is None, err)


def offset_slices(binary, data, tmp):
    for name, starts_of in (("wa1kpcap__multi.pcap", lambda p: [o for o, _ in pcap_records(p)]),
                            ("PcapPlusPlus__many_interfaces-1.pcapng", pcapng_packets)):
        cap = os.path.join(data, name)
        starts = starts_of(cap)
        size = os.path.getsize(cap)
        # short timeouts, so that flows end inside a slice as they do in the whole run
        touts = ["--tcp-timeout", "5", "--tcp-close-timeout", "2", "--udp-timeout", "5"]
        rc, err, whole, sw = run(binary, ["-t", "2", cap] + touts, tmp)
        # cuts inside headers, inside records, on a record start, past the end
        cuts = sorted([0, 17, size // 7, size // 3 + 1, starts[len(starts) // 2],
                       (2 * size) // 3 + 5, size + 100])
        total = 0
        wrows = rows(whole)
        for lo, hi in zip(cuts, cuts[1:]):
            rc, err, out, s = run(binary, ["-t", "2", "--start-offset", str(lo), "--stop-offset",
                                           str(hi), cap] + touts, tmp)
            want = sum(1 for o in starts if lo <= o < hi)
            got = s["packets"]["packets_read"] if s else None
            check(f"{name} [{lo},{hi}) reads its records", rc == 0 and got == want,
                  f"{got} != {want} {err}")
            total += got or 0
            opts = s["options"] if s else {}
            check(f"{name} [{lo},{hi}) in the summary's options",
                  opts.get("start_offset") == lo and opts.get("stop_offset") == hi and
                  opts.get("start_time_ns") is None and opts.get("merge") is False, f"{opts}")
            if not name.endswith(".pcap") or want == 0:
                continue
            # flows well inside the slice are unchanged: begun 1 s after its first packet,
            # ended by a timeout (at most 5 s after their last packet) 6 s before its last
            recs = [t for o, t in pcap_records(cap) if lo <= o < hi]
            t0, t1 = (min(recs) + 10**9) / 1e9, (max(recs) - 6 * 10**9) / 1e9
            srows = {(r["key"], r["start_time"]): r for r in rows(out)}
            # (and their key had no flow before the slice: its packets would be missing)
            def ends(r):
                return (r["protocol"], frozenset([(r["src_ip"], r["src_port"]),
                                                  (r["dst_ip"], r["dst_port"])]))
            early = {ends(r) for r in wrows if float(r["start_time"]) <= t0}
            inside = [r for r in wrows if float(r["start_time"]) > t0 and
                      float(r["end_time"]) < t1 and r["end_reason"] != "end_of_input" and
                      ends(r) not in early]
            bad = [r["key"] for r in inside if (r["key"], r["start_time"]) not in srows or
                   without([srows[(r["key"], r["start_time"])]], {"flow_id"}) !=
                   without([r], {"flow_id"})]
            check(f"{name} [{lo},{hi}) inner flows unchanged", not bad and
                  (len(inside) > 0 or hi - lo < size // 5), f"{len(bad)} of {len(inside)}")
        check(f"{name} slices add up", total == len(starts) == sw["packets"]["packets_read"],
              f"{total} {len(starts)}")
    cap = os.path.join(data, "wa1kpcap__multi.pcap")
    rc, err, out, s = run(binary, ["--reader", "libpcap", "--start-offset", "100", cap], tmp)
    check("offset slice refused by the libpcap reader", rc == 1 and out is None and
          any("mmap reader" in l for l in err), err)
    rc, err, out, s = run(binary, ["--start-offset", "100", "--stop-offset", "50", cap], tmp)
    check("start after stop is a usage error", rc == 2, err)


def time_slices(binary, data, tmp):
    cap = os.path.join(data, "wa1kpcap__multi.pcap")
    recs = [t for _, t in pcap_records(cap)]
    lo, hi = min(recs), max(recs)
    # edges: the exact stamp of a record (start inclusive, stop exclusive), and between stamps
    edge = sorted(recs)[len(recs) // 2]
    cuts = [lo, lo + (hi - lo) // 5, edge, edge + (hi - lo) // 4, hi + 1]
    total = 0
    for a, b in zip(cuts, cuts[1:]):
        args = ["--start-time", f"{a // 10**9}.{a % 10**9:09d}", "--stop-time",
                f"{b // 10**9}.{b % 10**9:09d}"]
        rc, err, out, s = run(binary, args + [cap], tmp)
        want = sum(1 for t in recs if a <= t < b)
        got = s["packets"]["packets_read"] if s else None
        check(f"time slice [{a},{b})", rc == 0 and got == want, f"{got} != {want} {err}")
        opts = s["options"] if s else {}
        check(f"time slice [{a},{b}) in the summary's options",
              opts.get("start_time_ns") == a and opts.get("stop_time_ns") == b and
              opts.get("stop_offset") is None, f"{opts}")
        total += got or 0
    check("time slices add up", total == len(recs), f"{total} {len(recs)}")
    rc, err, out, s = run(binary, ["--start-time", "1e9", cap], tmp)
    check("a time that is not seconds is a usage error", rc == 2, err)


def main(binary, data):
    with tempfile.TemporaryDirectory() as tmp:
        merge_parts(binary, data, tmp)
        merge_overlap(binary, data, tmp)
        merge_damage(binary, data, tmp)
        offset_slices(binary, data, tmp)
        time_slices(binary, data, tmp)
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
