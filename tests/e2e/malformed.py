#!/usr/bin/env python3
"""Bad input and interrupted captures through the CLI: exit status, one error line naming
the file, no output left looking complete.

Usage: malformed.py WA1KPCAP_BINARY DATA_DIR [CASE...]

Bad input (not a capture, unknown link type, unreadable file, bad option): exit status
non-zero; for file errors stderr is exactly one line and names the file; and the -o directory
holds nothing afterwards (no output file, no temporary file beside it).
Interrupted capture (cut inside a record): exit status 0, a warning on stderr naming the file and
the word 'offset', the output file exists; with --strict: non-zero and no output left.
Each case runs in its own empty temporary directory. Last line: `N passed, N failed`.
"""
import os, shutil, subprocess, sys, tempfile

TIMEOUT = 60


def cases(data):
    """(name, kind, input-maker, extra args). kind: 'file' (file error), 'option', 'cut'."""
    real = os.path.join(data, "zeek__get.pcap")

    def copy(src):
        def mk(d):
            return shutil.copy(os.path.join(data, src), os.path.join(d, src))
        return mk

    def write(name, content):
        def mk(d):
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(content)
            return p
        return mk

    with open(real, "rb") as f:
        head10 = f.read(10)
    return [
        ("empty_file", "file", write("empty.pcap", b""), []),
        ("text_file", "file", write("notes.pcap", b"this is not a capture\nbut a text file\n"), []),
        ("short_global_header", "file", write("short_header.pcap", head10), []),
        ("unknown_linktype_user0", "file", copy("made__user0.pcap"), []),
        ("missing_file", "file", lambda d: os.path.join(d, "does_not_exist.pcap"), []),
        ("invalid_version", "file", copy("libpcap__pcap-invalid-version-1.pcap"), []),
        ("shb_option_too_long", "file", copy("libpcap__shb-option-too-long.pcapng"), []),
        ("linktype_reserved_bits", "file", copy("libpcap__linktype-reserved-field-not-zero.pcap"), []),
        ("bad_option", "option", copy("zeek__get.pcap"), ["--frobnicate"]),
        ("bad_thread_count", "option", copy("zeek__get.pcap"), ["-t", "abc"]),
        ("cut_ndpi_fuzz", "cut", copy("nDPI__fuzz-2021-10-13.pcap"), []),
        ("cut_mid_record", "cut", copy("made__cut_mid_record.pcap"), []),
        ("damaged_huge_caplen", "cut", copy("made__damaged_huge_caplen.pcap"), []),
        ("damaged_cut_pcapng", "cut", copy("made__damaged_cut.pcapng"), []),
    ]


def run(binary, capture, out, extra):
    cmd = [binary, "analyze", capture, "-o", out, "-f", "ndjson", "-q"] + extra
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
        return r.returncode, r.stderr.decode("utf-8", "replace"), cmd
    except subprocess.TimeoutExpired:
        return "timeout", "", cmd


def check(binary, name, kind, make, extra, strict):
    """Returns a list of failure messages (empty: passed)."""
    work = tempfile.mkdtemp(prefix="wkp-malformed-")
    try:
        indir, outdir = os.path.join(work, "in"), os.path.join(work, "out")
        os.mkdir(indir)
        os.mkdir(outdir)
        capture = make(indir)
        out = os.path.join(outdir, "flows.ndjson")
        rc, err, cmd = run(binary, capture, out, extra + (["--strict"] if strict else []))
        lines = err.splitlines()
        base = os.path.basename(capture)
        left = sorted(os.listdir(outdir))
        bad = []
        if rc == "timeout" or (isinstance(rc, int) and rc < 0):
            bad.append(f"crashed or hung (status {rc})")
        if kind == "cut" and not strict:
            if rc != 0:
                bad.append(f"exit status {rc}, expected 0")
            if not any(base in l and "offset" in l for l in lines):
                bad.append("no stderr line naming the file and 'offset'")
            if left != ["flows.ndjson"]:
                bad.append(f"output directory holds {left}, expected ['flows.ndjson']")
        else:
            if rc == 0:
                bad.append("exit status 0, expected non-zero")
            if kind in ("file", "cut"):
                if len(lines) != 1:
                    bad.append(f"stderr has {len(lines)} lines, expected exactly 1")
                if not any(base in l for l in lines):
                    bad.append(f"stderr does not name {base}")
            elif not lines:
                bad.append("stderr is empty")
            elif not any(extra[-1] in l for l in lines):
                bad.append(f"stderr does not mention {extra[-1]!r}")
            if left:
                bad.append(f"output left behind: {left}")
        if bad:
            bad.append("command: " + " ".join(cmd))
            bad += ["stderr: " + l for l in lines[:5]]
        return bad
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    if len(argv) < 3:
        print("usage: malformed.py WA1KPCAP_BINARY DATA_DIR [CASE...]", file=sys.stderr)
        return 2
    binary, data, only = os.path.abspath(argv[1]), argv[2], set(argv[3:])
    passed = failed = 0
    for name, kind, make, extra in cases(data):
        if only and name not in only:
            continue
        for strict in ([False, True] if kind == "cut" else [False]):
            label = name + (" --strict" if strict else "")
            bad = check(binary, name, kind, make, extra, strict)
            if bad:
                failed += 1
                print(f"FAIL {label}")
                for b in bad:
                    print("  " + b)
            else:
                passed += 1
                print(f"ok   {label}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
