#!/usr/bin/env python3
"""Compressed captures through the CLI (tests/data/compressed, made by make.sh there).

- Each compressed copy, renamed to its original's name (the format is found from the content,
  and the output names the file), gives flows byte-identical to the original's, at -t 1 and 2,
  with --reader auto and libpcap, and from stdin; the original is read with both readers.
  --reader mmap refuses a compressed file with one line naming it.
- Two gzip members and two zstd frames (the first 5000 bytes, then the rest) read as one file.
- A .gz cut after its first 100000 bytes: the warning names the file and compressed byte
  100000 (the file's length: the stream ends there); the packets before are analysed, as the
  read of the decompressed prefix cut at the same place; --strict: exit 1, one line, no output.
- The two-frame .zst with the first byte of its second frame's magic flipped: frame 1 is 4281
  bytes (head -c 5000 F | zstd -19 | wc -c), so the error names compressed byte 4281; the
  packets before it are those whole in the first 5000 bytes.
Expected packet counts and damage offsets come from walking the records of the decompressed
prefix here (Python's pcap / pcapng block walk below), not from wa1kpcap.
Usage: compressed_check.py WA1KPCAP DATA_DIR FORMATS   (FORMATS: built ones, e.g. gzip,zstd)
(last line: N passed, N failed)
"""
import json, os, shutil, struct, subprocess, sys, tempfile, zlib

CASES = [  # compressed copy, original, format
    ("wa1kpcap__multi.pcap.zst", "wa1kpcap__multi.pcap", "zstd"),
    ("wa1kpcap__multi.pcap.gz", "wa1kpcap__multi.pcap", "gzip"),
    ("nDPI__http_starting_with_reply.pcapng.xz", "nDPI__http_starting_with_reply.pcapng", "xz"),
    ("nDPI__http_starting_with_reply.pcapng.lz4", "nDPI__http_starting_with_reply.pcapng", "lz4"),
    ("nDPI__http_starting_with_reply.pcapng.2members.gz", "nDPI__http_starting_with_reply.pcapng",
     "gzip"),
    ("nDPI__http_starting_with_reply.pcapng.2frames.zst", "nDPI__http_starting_with_reply.pcapng",
     "zstd"),
    ("PcapPlusPlus__nanosecs_big_endian.pcap.xz", "PcapPlusPlus__nanosecs_big_endian.pcap", "xz"),
    ("PcapPlusPlus__nanosecs_big_endian.pcap.lz4", "PcapPlusPlus__nanosecs_big_endian.pcap", "lz4"),
]


def whole_records(b):
    """(packets whole in b, where the bytes after the last whole packet start)."""
    if b[:4] == b"\x0a\x0d\x0d\x0a":  # pcapng: walk blocks, count packet blocks (EPB, SPB, PB)
        e = "<" if b[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        off = n = end = 0
        while off + 12 <= len(b):
            t, ln = struct.unpack(e + "II", b[off:off + 8])
            if off + ln > len(b):
                break
            off += ln
            if t in (2, 3, 6):
                n += 1
                end = off
            elif n == 0:
                end = off
        return n, end
    e = "<" if b[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, n = 24, 0
    while off + 16 <= len(b):
        incl = struct.unpack(e + "I", b[off + 8:off + 12])[0]
        if off + 16 + incl > len(b):
            break
        off += 16 + incl
        n += 1
    return n, off


def main(binary, data, formats):
    built = set(f for f in formats.split(",") if f)
    zdir = os.path.join(data, "compressed")
    passed = failed = 0

    def check(label, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {label}: {detail}")

    def run(args, stdin=None):
        r = subprocess.run([binary, "analyze", "-q", "-f", "ndjson"] + args, capture_output=True,
                           timeout=120, stdin=stdin)
        return r.returncode, r.stdout, r.stderr.decode().splitlines()

    with tempfile.TemporaryDirectory() as tmp:
        for comp, orig, fmt in CASES:
            src = os.path.join(zdir, comp)
            d = os.path.join(tmp, comp + ".d")
            os.mkdir(d)
            renamed = os.path.join(d, orig)
            shutil.copyfile(src, renamed)
            plain = os.path.join(data, orig)
            rc, ref, err = run([plain, "-t", "1", "--reader", "mmap"])
            check(f"{orig} reference", rc == 0 and ref and not err, f"exit {rc} {err}")
            if fmt not in built:
                rc, out, err = run([renamed])
                check(f"{comp} not built", rc != 0 and len(err) == 1 and orig in err[0] and
                      f"no {fmt} support" in err[0], f"exit {rc} {err}")
                continue
            for t in ("1", "2"):
                rc, out, err = run([plain, "-t", t, "--reader", "libpcap"])
                check(f"{orig} -t {t} libpcap", rc == 0 and out == ref, f"exit {rc} {err}")
                for reader in ("auto", "libpcap"):
                    rc, out, err = run([renamed, "-t", t, "--reader", reader])
                    check(f"{comp} -t {t} --reader {reader}", rc == 0 and out == ref and not err,
                          f"exit {rc} {err}, {len(out)} vs {len(ref)} bytes")
            with open(plain, "rb") as f:
                _, ref_in = run(["-"], stdin=f)[:2]
            with open(src, "rb") as f:
                rc, out, err = run(["-"], stdin=f)
            check(f"{comp} from stdin", rc == 0 and out == ref_in and not err, f"exit {rc} {err}")
            rc, out, err = run([renamed, "--reader", "mmap"])
            check(f"{comp} --reader mmap refused", rc != 0 and len(err) == 1 and
                  f"{renamed}: {fmt}-compressed" in err[0], f"exit {rc} {err}")

        def damaged(label, path, prefix, plain_name, zoff):
            """path: a damaged compressed file whose decompressed prefix is `prefix`."""
            n, end = whole_records(prefix)
            pd = os.path.join(tmp, label + ".plain")
            os.mkdir(pd)
            ppath = os.path.join(pd, plain_name)
            with open(ppath, "wb") as f:
                f.write(prefix)
            rc, ref, _ = run([ppath])
            summ = os.path.join(tmp, label + ".json")
            rc, out, err = run([path, "--summary", summ])
            s = json.load(open(summ)) if rc == 0 else {}
            fl = s.get("files", [{}])[0]
            dmg = fl.get("damaged", [{}])
            why = f"at compressed byte {zoff}"
            check(f"{label} read", rc == 0 and out == ref, f"exit {rc} {err}")
            check(f"{label} warning", len(err) == 1 and path in err[0] and why in err[0] and
                  f"offset {end} " in err[0], f"{err} (expected offset {end}, {why})")
            check(f"{label} summary", fl.get("packets") == n and len(dmg) == 1 and
                  dmg[0].get("offset") == end and why in dmg[0].get("reason", ""),
                  f"{fl} (expected {n} packets, offset {end})")
            o = os.path.join(tmp, label + ".out")
            r = subprocess.run([binary, "analyze", "-q", "--strict", path, "-o", o],
                               capture_output=True, text=True, timeout=60)
            e = r.stderr.splitlines()
            check(f"{label} --strict", r.returncode == 1 and len(e) == 1 and path in e[0] and
                  why in e[0] and not os.path.exists(o), f"exit {r.returncode} {e}")

        if "gzip" in built:
            # A .gz cut after 100000 bytes: the stream ends at compressed byte 100000.
            gz = open(os.path.join(zdir, "wa1kpcap__multi.pcap.gz"), "rb").read()
            cut = os.path.join(tmp, "cut.pcap.gz")
            with open(cut, "wb") as f:
                f.write(gz[:100000])
            prefix = zlib.decompressobj(31).decompress(gz[:100000])
            damaged("cut.gz", cut, prefix, "cut.pcap.gz", 100000)
        if "zstd" in built:
            # Frame 2 starts at 4281 (frame 1's length); its magic's first byte flipped.
            zs = bytearray(open(os.path.join(zdir,
                           "nDPI__http_starting_with_reply.pcapng.2frames.zst"), "rb").read())
            check("2frames.zst frame 2 magic", zs[4281:4285] == b"\x28\xb5\x2f\xfd")
            zs[4281] ^= 0xff
            bad = os.path.join(tmp, "bad.pcapng.zst")
            with open(bad, "wb") as f:
                f.write(zs)
            prefix = open(os.path.join(data, "nDPI__http_starting_with_reply.pcapng"),
                          "rb").read()[:5000]
            damaged("bad.zst", bad, prefix, "bad.pcapng.zst", 4281)

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
