#!/usr/bin/env python3
"""Payload signatures through the CLI (docs/signatures.md).

usage: signatures_check.py CLI DATA_DIR SIG_DIR RULES

1. `app` with the shipped rules == tshark's protocol for every conversation
   tshark names SSH, SMTP, FTP, POP3, IMAP, RTSP, SIP, BitTorrent, HTTP or
   TLS (SIG_DIR/expected_apps.tsv, made by make_expected.py beside it),
   over the corpus captures of DATA_DIR and SIG_DIR/app_protocols.pcap.
2. The protocols on other ports in app_protocols.pcap, which tshark does
   not name: the protocol make_capture.py wrote (listed below).
3. The same output, byte for byte, at -t 1, 2 and 4.
4. Bad rules files fail before any packet is read: exit 1, one line on
   stderr naming file:line:column or the rule id, no output file.
5. --help lists --signatures and --signature-depth; without --signatures
   there are no app or signatures columns.
6. The compiled-rules cache: --signature-cache DIR keeps one file a
   direction (the shipped rules have rules for both), a second run reads
   them and writes the same bytes as a run that compiles
   (--no-signature-cache, which keeps nothing even where WKP_CACHE_DIR
   points), whatever the options' order; WKP_CACHE_DIR is the default.
   The test's other runs keep theirs where the test suite's environment
   says (WKP_CACHE_DIR in the build tree).
"""
import csv
import io
import os
import subprocess
import sys
import tempfile

# app_protocols.pcap, flows on ports tshark does not know (flow_id: app)
BY_HAND = {135: "SSH", 155: "SMTP", 171: "FTP", 191: "POP3", 207: "IMAP", 282: "SIP"}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(cli, args):
    return subprocess.run([cli, "analyze", "-q"] + args, capture_output=True, text=True)


def apps(cli, rules, cap, threads=1):
    r = run(cli, ["-t", str(threads), "--signatures", rules, "--columns", "flow_id,app",
                  "-f", "csv", "-o", "-", cap])
    if r.returncode != 0:
        check(False, "%s: exit %d: %s" % (cap, r.returncode, r.stderr.strip()))
        return {}
    return {int(row["flow_id"]): row["app"] for row in csv.DictReader(io.StringIO(r.stdout))}


def main(cli, data, sigdir, rules):
    expected = {}
    with open(os.path.join(sigdir, "expected_apps.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cap, fid, app = line.rstrip("\n").split("\t")
            expected.setdefault(cap, {})[int(fid)] = app
    n = 0
    for cap, want in sorted(expected.items()):
        path = os.path.join(sigdir if cap == "app_protocols.pcap" else data, cap)
        got = apps(cli, rules, path)
        if cap == "app_protocols.pcap":
            want = {**want, **BY_HAND}
        for fid, app in sorted(want.items()):
            n += 1
            check(got.get(fid) == app, "%s flow %d: app %r, tshark says %r"
                  % (cap, fid, got.get(fid), app))
    print("%d flows compared with tshark and make_capture.py" % n)

    # determinism with signatures on
    for cap in [os.path.join(sigdir, "app_protocols.pcap"),
                os.path.join(data, "wa1kpcap__multi.pcap")]:
        outs = []
        for t in (1, 2, 4):
            r = run(cli, ["-t", str(t), "--signatures", rules, "-f", "ndjson", "-o", "-", cap])
            check(r.returncode == 0, "%s -t %d: exit %d" % (cap, t, r.returncode))
            outs.append(r.stdout)
        check(outs[0] == outs[1] == outs[2], "%s: output differs between -t 1, 2, 4" % cap)
        check('"signatures":[{' in outs[0], "%s: no signature matched" % cap)

    # bad rules: refused before any packet is read, nothing written
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("- {id: 1, name: a, pattern: x, depht: 4}\n",
             "bad.yaml:1:32: unknown key 'depht'"),
            ("- {id: 9, name: a, pattern: x}\n- {id: 9, name: b, pattern: y}\n",
             "bad.yaml:2:3: duplicate id 9 (first at line 1)"),
            ("- {id: 1, name: a}\n", "bad.yaml:1:3: rule has no 'pattern'"),
            ("- {id: 42, name: paren, pattern: \"(a\"}\n",
             "bad.yaml:1:3: rule 42 (paren): pattern rejected: "),
        ]
        for text, msg in cases:
            rules_path = os.path.join(tmp, "bad.yaml")
            with open(rules_path, "w") as f:
                f.write(text)
            out = os.path.join(tmp, "out.csv")
            r = run(cli, ["--signatures", rules_path, "-o", out,
                          os.path.join(data, "wa1kpcap__multi.pcap")])
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 1, "bad rules %r: exit %d" % (msg, r.returncode))
            check(len(lines) == 1 and lines[0].startswith("wa1kpcap: " + rules_path[:-8] + msg),
                  "bad rules: stderr %r, want %r" % (r.stderr, msg))
            check(not os.path.exists(out), "bad rules %r: output written" % msg)
        r = run(cli, ["--signatures", os.path.join(tmp, "missing.yaml"),
                      os.path.join(data, "wa1kpcap__multi.pcap")])
        check(r.returncode == 1 and "missing.yaml: No such file or directory" in r.stderr,
              "missing rules file: exit %d, %r" % (r.returncode, r.stderr))
        r = run(cli, ["--signature-depth", "0", os.path.join(data, "wa1kpcap__multi.pcap")])
        check(r.returncode == 2, "--signature-depth 0: exit %d" % r.returncode)

    # the compiled-rules cache
    cap = os.path.join(data, "wa1kpcap__multi.pcap")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, WKP_CACHE_DIR=os.path.join(tmp, "env"))
        cdir = os.path.join(tmp, "c")
        base = ["-f", "ndjson", "-o", "-", cap]

        def hsdb(d):
            return sorted(f for f in os.listdir(d) if f.endswith(".hsdb")) if os.path.isdir(d) else []

        fresh = subprocess.run([cli, "analyze", "-q", "--no-signature-cache", "--signatures", rules]
                               + base, capture_output=True, text=True, env=env)
        check(fresh.returncode == 0, "--no-signature-cache: exit %d" % fresh.returncode)
        check(hsdb(env["WKP_CACHE_DIR"]) == [], "--no-signature-cache wrote to WKP_CACHE_DIR")
        outs = []
        for i, order in enumerate((["--signature-cache", cdir + "0", "--signatures", rules],
                                   ["--signatures", rules, "--signature-cache", cdir + "1"],
                                   ["--signature-cache", cdir + "1", "--signatures", rules])):
            d = cdir + str(min(i, 1))
            r = subprocess.run([cli, "analyze", "-q"] + order + base, capture_output=True,
                               text=True, env=env)
            check(r.returncode == 0, "--signature-cache: exit %d %s" % (r.returncode, r.stderr))
            outs.append(r.stdout)
            check(len(hsdb(d)) == 2, "--signature-cache (order %d): files %r" % (i, hsdb(d)))
            check(sorted(os.listdir(d)) == hsdb(d), "files beside the databases: %r"
                  % os.listdir(d))
        check(hsdb(cdir + "0") == hsdb(cdir + "1"), "the two directories hold other files")
        check(hsdb(env["WKP_CACHE_DIR"]) == [], "--signature-cache wrote to WKP_CACHE_DIR")
        check(outs[0] == outs[1] == outs[2] == fresh.stdout, "output differs with the cache")
        cdir += "0"
        r = subprocess.run([cli, "analyze", "-q", "--signatures", rules] + base,
                           capture_output=True, text=True, env=env)
        check(r.returncode == 0 and r.stdout == fresh.stdout, "WKP_CACHE_DIR run differs")
        check(hsdb(env["WKP_CACHE_DIR"]) == hsdb(cdir), "WKP_CACHE_DIR: files %r"
              % hsdb(env["WKP_CACHE_DIR"]))

    h = subprocess.run([cli, "--help"], capture_output=True, text=True).stdout
    check("--signature-cache DIR" in h and "--no-signature-cache" in h,
          "--help lacks the cache options")
    check("--signatures FILE" in h and "--signature-depth BYTES" in h, "--help lacks the options")
    r = run(cli, ["-f", "csv", "-o", "-", os.path.join(data, "wa1kpcap__single.pcap")])
    header = r.stdout.splitlines()[0].split(",")
    check("app" not in header and "signatures" not in header,
          "app or signatures column without --signatures")

    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
