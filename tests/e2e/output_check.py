#!/usr/bin/env python3
"""Output targets, write errors and stops through the CLI (docs/design.md, "Output files and
stopping").

Usage: output_check.py WA1KPCAP_BINARY DATA_DIR

- a FIFO is written in place: a reader process gets the whole output and the FIFO stays a FIFO;
  with no reader the run waits and SIGINT still stops it; a reader that goes away is a write
  error naming the FIFO;
- a character device is written in place and stays one (a null device we make with mknod when
  root: never the machine's /dev/null; skipped, and said so, when not root);
- a symlink is followed (absolute, relative, dangling): the link stays, its target gets the output;
- an existing file keeps its mode;
- a full device (/dev/full, or our own node with its numbers when root) with and without -o:
  exit 1 and exactly `wa1kpcap: PATH: write error: No space left on device` (`-` for stdout), no
  renamed output, the summary's status says "write error";
- stdout closed by its reader (`| head -c`): death by SIGPIPE, nothing on stderr, no file left;
- SIGINT / SIGTERM during a run: exit 130 / 143 and no output file or temporary left;
- the summary of a failed run does not say "ok";
- exit status 2 for what the command line alone shows wrong (unknown option, value not of its
  option's form, a live option to analyze), 1 for a value the engine refuses or a file it
  cannot use, each with its one-line message;
- an output, a summary or a -f value with a line break in it: each error is one line.
The reference output is the same run written to a regular file: these checks are about where
bytes go, not what they are (the golden and truth tests check those). Last line: `N passed, N
failed`.
"""
import json, os, shutil, signal, stat, struct, subprocess, sys, tempfile, threading, time

TIMEOUT = 120
ENOSPC = os.strerror(28)  # "No space left on device"
ENOENT = os.strerror(2)  # "No such file or directory"

failures = []
passed = 0


def check(name, ok, detail=""):
    global passed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failures.append(name)
        print(f"FAIL {name}: {detail}")


def run(cli, args, stdout=subprocess.PIPE):
    return subprocess.run([cli, "analyze", "-q", *args], stdout=stdout, stderr=subprocess.PIPE,
                          timeout=TIMEOUT)


def leftovers(d, keep):
    return sorted(set(os.listdir(d)) - set(keep))


def main():
    cli, data = sys.argv[1], sys.argv[2]
    cap = os.path.join(data, "wa1kpcap__multi.pcap")
    root = os.geteuid() == 0
    with tempfile.TemporaryDirectory(prefix="wkp-output-") as d:
        ref_path = os.path.join(d, "ref.csv")
        r = run(cli, ["-o", ref_path, cap])
        assert r.returncode == 0, r.stderr
        with open(ref_path, "rb") as f:
            ref = f.read()
        os.unlink(ref_path)
        assert len(ref) > 256 * 1024, "the reference must be larger than a pipe buffer"

        # FIFO: a reader process gets the data; the FIFO is not replaced.
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
        got = {}
        t = threading.Thread(target=lambda: got.update(out=reader.stdout.read()))
        t.start()
        r = run(cli, ["-f", "csv", "-o", fifo, cap])
        t.join(TIMEOUT)
        reader.wait(TIMEOUT)
        check("fifo: exit 0", r.returncode == 0, r.stderr)
        check("fifo: the reader got the whole output", got.get("out") == ref,
              f"{len(got.get('out') or b'')} bytes of {len(ref)}")
        check("fifo: still a fifo", stat.S_ISFIFO(os.lstat(fifo).st_mode))
        check("fifo: nothing else in the directory", leftovers(d, ["fifo"]) == [],
              leftovers(d, ["fifo"]))

        # A FIFO nobody reads: the run waits for a reader, and SIGINT still stops it.
        p = subprocess.Popen([cli, "analyze", "-q", "-o", fifo, cap], stderr=subprocess.PIPE)
        time.sleep(0.5)
        waiting = p.poll() is None
        p.send_signal(signal.SIGINT)
        err = p.stderr.read()
        p.wait(TIMEOUT)
        check("fifo without a reader: waits, then SIGINT exits 130",
              waiting and p.returncode == 130, (waiting, p.returncode, err))
        check("fifo without a reader: still a fifo", stat.S_ISFIFO(os.lstat(fifo).st_mode))

        # A FIFO whose reader goes away: a write error naming it (only stdout dies by SIGPIPE).
        reader = subprocess.Popen(["head", "-c", "100", fifo], stdout=subprocess.DEVNULL)
        r = run(cli, ["-o", fifo, cap])
        reader.wait(TIMEOUT)
        check("fifo reader gone: exit 1 and the error line",
              r.returncode == 1 and
              r.stderr.decode() == f"wa1kpcap: {fifo}: write error: {os.strerror(32)}\n",
              (r.returncode, r.stderr))
        os.unlink(fifo)

        # Our own null device (never the machine's /dev/null).
        if root:
            null = os.path.join(d, "null")
            os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            r = run(cli, ["-o", null, "-f", "csv", cap])
            st = os.lstat(null)
            check("null device: exit 0", r.returncode == 0, r.stderr)
            check("null device: still a character device (1,3)",
                  stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and
                  os.minor(st.st_rdev) == 3)
            check("null device: nothing else in the directory", leftovers(d, ["null"]) == [])
            os.unlink(null)
        else:
            print("skip null device: not root (mknod needs root)")

        # Symlinks: absolute to an existing file (mode kept), relative from another directory,
        # dangling (the target is created).
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        target = os.path.join(d, "target.csv")
        with open(target, "w") as f:
            f.write("old\n")
        os.chmod(target, 0o640)
        link = os.path.join(d, "link.csv")
        os.symlink(target, link)
        rel = os.path.join(sub, "rel.csv")
        os.symlink("../target.csv", rel)
        for name, lk in (("absolute", link), ("relative", rel)):
            r = run(cli, ["-o", lk, cap])
            check(f"symlink {name}: exit 0", r.returncode == 0, r.stderr)
            check(f"symlink {name}: still a symlink", os.path.islink(lk))
            with open(target, "rb") as f:
                check(f"symlink {name}: the target holds the output", f.read() == ref)
            check(f"symlink {name}: the target kept mode 0640",
                  stat.S_IMODE(os.stat(target).st_mode) == 0o640,
                  oct(stat.S_IMODE(os.stat(target).st_mode)))
        dangling = os.path.join(d, "dangling.csv")
        os.symlink("created.csv", dangling)
        r = run(cli, ["-o", dangling, cap])
        check("symlink dangling: exit 0", r.returncode == 0, r.stderr)
        check("symlink dangling: still a symlink", os.path.islink(dangling))
        created = os.path.join(d, "created.csv")
        check("symlink dangling: its target was created with the output",
              os.path.isfile(created) and open(created, "rb").read() == ref)
        keep = ["sub", "target.csv", "link.csv", "dangling.csv", "created.csv"]
        check("symlinks: no temporary left", leftovers(d, keep) == [] and
              os.listdir(sub) == ["rel.csv"], leftovers(d, keep) + os.listdir(sub))
        for p in (rel, link, dangling, created, target):
            os.unlink(p)
        os.rmdir(sub)

        # An existing regular file keeps its mode.
        plain = os.path.join(d, "plain.csv")
        with open(plain, "w") as f:
            f.write("old\n")
        os.chmod(plain, 0o600)
        r = run(cli, ["-o", plain, cap])
        check("existing file: exit 0", r.returncode == 0, r.stderr)
        check("existing file: mode 0600 kept", stat.S_IMODE(os.stat(plain).st_mode) == 0o600,
              oct(stat.S_IMODE(os.stat(plain).st_mode)))
        check("existing file: replaced by the output", open(plain, "rb").read() == ref)
        os.unlink(plain)

        # Full disk, stdout: -f csv > /dev/full (writing to /dev/full through a redirection never
        # replaces it).
        with open("/dev/full", "wb") as full:
            r = run(cli, ["-f", "csv", cap], stdout=full)
        check("stdout > /dev/full: exit 1", r.returncode == 1, r.returncode)
        check("stdout > /dev/full: the error line",
              r.stderr.decode() == f"wa1kpcap: -: write error: {ENOSPC}\n", r.stderr)

        # Full disk, -o: our own node with /dev/full's numbers when root, else /dev/full, which a
        # non-root run cannot replace. A second output (--packets) must not be renamed either.
        if root:
            fulldev = os.path.join(d, "full")
            os.mknod(fulldev, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        else:
            fulldev = "/dev/full"
        pk = os.path.join(d, "packets.csv")
        sm = os.path.join(d, "summary.json")
        r = run(cli, ["-o", fulldev, "--packets", pk, "--summary", sm, cap])
        check("-o full: exit 1", r.returncode == 1, r.returncode)
        check("-o full: the error line",
              r.stderr.decode() == f"wa1kpcap: {fulldev}: write error: {ENOSPC}\n", r.stderr)
        check("-o full: still a character device", stat.S_ISCHR(os.lstat(fulldev).st_mode))
        check("-o full: the other output is not renamed", not os.path.exists(pk))
        summary = json.load(open(sm))
        check("-o full: the summary says write error",
              summary["status"] == "write error" and ENOSPC in summary["error"], summary["status"])
        keep = ["summary.json"] + (["full"] if root else [])
        check("-o full: no temporary left", leftovers(d, keep) == [], leftovers(d, keep))
        os.unlink(sm)
        if root:
            os.unlink(fulldev)

        # stdout closed by its reader: quiet death by SIGPIPE, no file left.
        p = subprocess.Popen([cli, "analyze", "-q", "--packets", pk, cap], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        head = p.stdout.read(100)
        p.stdout.close()
        err = p.stderr.read()
        p.wait(TIMEOUT)
        check("| head -c 100: got the first bytes", head == ref[:100])
        check("| head -c 100: killed by SIGPIPE", p.returncode == -signal.SIGPIPE, p.returncode)
        check("| head -c 100: nothing on stderr", err == b"", err)
        check("| head -c 100: no file left", leftovers(d, []) == [], leftovers(d, []))

        # Signals while the reader waits for more input (stdin is a pipe we hold open): exit
        # 128 + signal, no output file, no temporary.
        with open(cap, "rb") as f:
            capbytes = f.read()
        out = os.path.join(d, "stopped.csv")
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            p = subprocess.Popen([cli, "analyze", "-q", "-o", out, "--packets", pk, "-"],
                                 stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            p.stdin.write(capbytes[:len(capbytes) // 2])
            p.stdin.flush()
            time.sleep(0.5)
            p.send_signal(sig)
            time.sleep(0.1)
            p.stdin.close()
            err = p.stderr.read()
            p.wait(TIMEOUT)
            check(f"{sig.name} mid-input: exit {code}", p.returncode == code, (p.returncode, err))
            check(f"{sig.name} mid-input: no output file or temporary", leftovers(d, []) == [],
                  leftovers(d, []))

        # The same with the pipe kept open after the signal (a writer that stalls without
        # closing): the reader must not stay in read() for good; it gives up within 100 ms
        # polls. Also while the reader still waits for the file's first 64 KiB.
        for part, name in ((len(capbytes) // 2, "mid-input"), (10, "first bytes")):
            p = subprocess.Popen([cli, "analyze", "-q", "-o", out, "-"],
                                 stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            p.stdin.write(capbytes[:part])
            p.stdin.flush()
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            try:
                p.wait(5)
                stuck = False
            except subprocess.TimeoutExpired:
                stuck = True
            p.stdin.close()
            err = p.stderr.read()
            p.wait(TIMEOUT)
            check(f"SIGINT, stalled pipe ({name}): exits without the pipe closing", not stuck)
            check(f"SIGINT, stalled pipe ({name}): exit 130", p.returncode == 130,
                  (p.returncode, err))
            check(f"SIGINT, stalled pipe ({name}): no output file", leftovers(d, []) == [],
                  leftovers(d, []))

        # Signals at moments spread over a whole run (reading, flushing, writing): each run
        # exits 130 leaving nothing, or finished before the signal with the complete output.
        big = os.path.join(d, "big.pcap")
        write_flood(big, 30000)
        t0 = time.monotonic()
        r = run(cli, ["-t", "2", "-o", out, big])
        whole = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        complete = open(out, "rb").read()
        os.unlink(out)
        stopped = finished = 0
        for i in range(8):
            delay = whole * (0.1 + 0.15 * i)
            p = subprocess.Popen([cli, "analyze", "-q", "-t", "2", "-o", out, big],
                                 stderr=subprocess.PIPE)
            time.sleep(delay)
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
            err = p.stderr.read()
            p.wait(TIMEOUT)
            # 130, or killed by SIGINT: a signal that comes while the CLI is still
            # starting, before its handler is set, ends it by the default action
            # (the shell shows 130 too); no output file exists yet then
            if p.returncode in (130, -signal.SIGINT):
                stopped += 1
                ok = leftovers(d, ["big.pcap"]) == []
            else:
                finished += 1
                ok = p.returncode == 0 and open(out, "rb").read() == complete
            check(f"SIGINT after {delay:.2f}s of {whole:.2f}s: exit {p.returncode}", ok,
                  (err, leftovers(d, ["big.pcap"])))
            if os.path.exists(out):
                os.unlink(out)
        print(f"signal sweep: {stopped} stopped, {finished} finished first")
        check("signal sweep: at least one run was stopped", stopped > 0)

        # The summary of a failed run says so.
        r = run(cli, ["--summary", "-", os.path.join(data, "MANIFEST.md")])
        check("bad capture: exit 1", r.returncode == 1, r.returncode)
        s = json.loads(r.stdout)
        check("bad capture: summary status is not ok",
              s["status"] == "not a valid capture" and "MANIFEST.md" in s["error"], s["status"])

        # The options in force are in the summary, by default and as set.
        defaults = {"parse_in": "auto", "tcp_close_timeout_ns": 60 * 10**9, "resync": False,
                    "filter_ack": False, "filter_rst": False, "min_packets": 1,
                    "sequences": True, "columns": None, "tcp_stream_limit": 0,
                    "vxlan_ports": [4789], "app_options": [], "protocol_dirs": [], "routes": [],
                    "custom_features": []}
        given = {"parse_in": "workers", "tcp_close_timeout_ns": 7 * 10**9, "resync": True,
                 "filter_ack": True, "filter_rst": True, "min_packets": 3, "sequences": False,
                 "columns": "flow_id,feature.iats.mean", "tcp_stream_limit": 4096,
                 "vxlan_ports": [4789, 8472], "app_options": ["tls.cert_der=1"],
                 "protocol_dirs": [os.path.join(data, "userproto")],
                 "routes": ["udp:9999=beacon", "udp:16=beacon"]}
        for name, extra, want in (
                ("defaults", [], defaults),
                ("as set", ["--parse-in", "workers", "--tcp-close-timeout", "7", "--resync",
                            "--filter-ack", "--filter-rst", "--min-packets", "3",
                            "--no-sequences", "--columns", "flow_id,feature.iats.mean",
                            "--tcp-stream-limit", "4096", "--vxlan-port", "8472",
                            "--vxlan-port", "4789", "--vxlan-port", "8472",
                            "--app-option", "tls.cert_der", "--protocols",
                            os.path.join(data, "userproto"), "--route", "udp:9999=beacon",
                            "--route", "udp:0x10=beacon"], given)):
            r = run(cli, ["-f", "none", "--summary", "-"] + extra + [cap])
            opts = json.loads(r.stdout)["options"] if r.returncode == 0 else {}
            got = {k: opts.get(k) for k in want}
            check(f"summary options, {name}", got == want, (got, r.stderr))

        # --compat sets the original's defaults (docs/design.md, "Compatibility mode": no IP
        # reassembly, no TCP timeouts, 100,000 flows); options given with it win whatever
        # their order, and an unambiguous prefix of it is --compat too.
        compat = {"compat": True, "reassembly": False, "tcp_timeout_ns": 0,
                  "tcp_close_timeout_ns": 0, "max_flows": 100000}
        for extra, changed in ((["--compat"], {}),
                               (["--comp"], {}),
                               (["--max-flows", "7", "--compa"], {"max_flows": 7}),
                               (["--compat", "--tcp-timeout", "5"],
                                {"tcp_timeout_ns": 5 * 10**9}),
                               (["--tcp-close-timeout", "3", "--comp"],
                                {"tcp_close_timeout_ns": 3 * 10**9}),
                               # a value that reads as the option is not the option
                               (["-o", "--compat"], {"compat": False, "reassembly": True,
                                                           "tcp_timeout_ns": 300 * 10**9,
                                                           "tcp_close_timeout_ns": 60 * 10**9,
                                                           "max_flows": 10**7})):
            want = dict(compat, **changed)
            r = run(cli, ["-f", "none", "--summary", "-"] + extra + [cap])
            opts = json.loads(r.stdout)["options"] if r.returncode == 0 else {}
            got = {k: opts.get(k) for k in want}
            check(f"summary options, {' '.join(extra)}", got == want, (got, r.stderr))

        # A capture name and a --columns value that are not UTF-8 (0xe9 is Latin-1 'é',
        # 0xff no UTF-8 at all): the JSON output and the summary stay valid UTF-8, each
        # such byte written as \u00XX, which reads back as U+00XX.
        latin = os.path.join(os.fsencode(d), b"caf\xe9.pcap")
        shutil.copyfile(cap, latin)
        r = run(cli, [b"-f", b"ndjson", b"--columns", b"flow_id,capture,tls.\xff",
                      b"--summary", os.path.join(os.fsencode(d), b"latin.json"), latin])
        try:
            rows = [json.loads(line.decode("utf-8")) for line in r.stdout.splitlines()]
            summary = json.loads(open(os.path.join(d, "latin.json"), "rb").read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            rows, summary = [], {"error": str(exc)}
        check("not UTF-8: every NDJSON row is valid UTF-8 JSON and names the capture",
              r.returncode == 0 and rows and all(x["capture"] == "caf\u00e9.pcap" for x in rows),
              (r.returncode, r.stderr, rows[:1]))
        check("not UTF-8: the summary is valid UTF-8 JSON",
              summary.get("files", [{}])[0].get("path", "").endswith("caf\u00e9.pcap")
              and summary.get("options", {}).get("columns") == "flow_id,capture,tls.\u00ff",
              summary)
        os.unlink(latin)
        os.unlink(os.path.join(d, "latin.json"))

        # Names with a line break: each error is one line, the break written as \n.
        bent = os.path.join(d, "missing", "two\nlines")
        r = run(cli, ["-o", bent + ".csv", "--summary", bent + ".json", cap])
        check("-o in a missing directory, a line break in its name: exit 1", r.returncode == 1,
              r.returncode)
        shown = bent.replace("\n", "\\n")
        check("-o in a missing directory, a line break in its name: one line per error",
              r.stderr.decode() == f"wa1kpcap: {shown}.csv: cannot create: {ENOENT}\n"
              f"wa1kpcap: {shown}.json: write error: {ENOENT}\n", r.stderr)

        exit_statuses(cli, cap, d)

    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


def exit_statuses(cli, cap, d):
    """What the command line alone shows wrong exits 2; a well-formed value the engine then
    refuses, or a file it cannot use, exits 1. Each message is the one line the code writes
    (a libpcap message only up to its own words, which change between libpcap versions)."""
    missing = os.path.join(d, "no-such")
    enoent = os.strerror(2)
    help_ = " (see wa1kpcap --help)"
    version = subprocess.run([cli, "--version"], capture_output=True, text=True).stdout
    cases = [
        (["-t", "abc"], 2, f"-t: 'abc' is not a thread count (0 to 256){help_}"),
        (["--reader", "fast"], 2, f"--reader: 'fast' is not auto, mmap or libpcap{help_}"),
        (["--bogus"], 2, f"unknown option '--bogus'{help_}"),
        (["--bogus=3"], 2, f"unknown option '--bogus'{help_}"),
        (["-qx"], 2, f"unknown option '-x'{help_}"),
        (["-xq"], 2, f"unknown option '-x'{help_}"),
        # a long option that takes no value, given one (getopt_long says '?' with its letter)
        (["--quiet=3"], 2, f"--quiet: takes no value{help_}"),
        (["--no-seq=yes"], 2, f"--no-seq: takes no value{help_}"),
        # a prefix of several long options
        (["--no-s"], 2, f"--no-s: ambiguous, could be --no-sequences, --no-signature-cache{help_}"),
        (["--sig=x"], 2,
         f"--sig: ambiguous, could be --signatures, --signature-depth, --signature-cache{help_}"),
        (["--count", "3"], 2, f"--count: only for wa1kpcap live{help_}"),
        (["--count=3"], 2, f"--count: only for wa1kpcap live{help_}"),
        (["-i", "eth0"], 2, f"-i: only for wa1kpcap live{help_}"),
        (["--interface", "eth0"], 2, f"--interface: only for wa1kpcap live{help_}"),
        (["--output="], 2, f"--output: expected a path, got an empty value{help_}"),
        (["-o", ""], 2, f"-o: expected a path, got an empty value{help_}"),
        (["--summary", ""], 2, f"--summary: expected a path, got an empty value{help_}"),
        (["--protocols", ""], 2, f"--protocols: expected a path, got an empty value{help_}"),
        (["--plugin", ""], 2, f"--plugin: expected a path, got an empty value{help_}"),
        # control characters as C escapes, other bytes (UTF-8 here) as they are
        (["-f", "two\nlines"], 2,
         f"-f: unknown format 'two\\nlines' (csv, json, ndjson, table, none){help_}"),
        (["-f", "a\x01\x7f\u00e9"], 2,
         f"-f: unknown format 'a\\x01\\x7f\u00e9' (csv, json, ndjson, table, none){help_}"),
        (["--columns", "nosuch"], 1, "--columns: 'nosuch' matches no column"),
        (["--filter", "tcp and foo bar"], 1, 'filter: "tcp and foo bar": ...'),
        (["--protocols", missing], 1, f"--protocols: {missing}: not a directory"),
        (["--resync", "--reader", "libpcap"], 1,
         "resync needs the mmap reader (libpcap stops at damage): use the auto or mmap reader"),
    ]
    if "hyperscan" in version.lower():  # else the message says the build has no signatures
        cases.append((["--signatures", missing], 1, f"{missing}: {enoent}"))
    # a value missing: the option is the last word
    for last, name in (["--threads", "--threads"], ["-t", "-t"], ["-qt", "-t"],
                       ["--filter", "--filter"]):
        r = run(cli, [cap, "-f", "none", last])
        check(f"{last!r} last: exit 2, '{name}: missing value'", r.returncode == 2 and
              r.stderr.decode() == f"wa1kpcap: {name}: missing value{help_}\n", r.stderr)
    for args, code, msg in cases:
        r = run(cli, ["-f", "none", *args, cap])
        err = r.stderr.decode()
        want = f"wa1kpcap: {msg}\n"
        same = (err.startswith(want[:-5]) and err.endswith("\n") and err.count("\n") == 1
                if msg.endswith("...") else err == want)
        check(f"{' '.join(args)!r}: exit {code}, one line", r.returncode == code and same,
              (r.returncode, err))


def write_flood(path, flows):
    """A µs pcap of `flows` UDP flows, 4 packets each (Ethernet/IPv4/UDP, 10-byte payload)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for rnd in range(4):
            for i in range(flows):
                t = 1_000_000 + rnd * 1000 + i // 100
                src = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 38, 0, 0, 64, 17, 0, src,
                                 bytes([10, 255, 0, 1]))
                udp = struct.pack("!HHHH", 1024 + i % 60000, 53, 18, 0) + bytes(10)
                frame = bytes(12) + b"\x08\x00" + ip + udp
                f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame),
                                    len(frame)))
                f.write(frame)


if __name__ == "__main__":
    sys.exit(main())
