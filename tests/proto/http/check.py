#!/usr/bin/env python3
"""Run the CLI on a capture and compare each flow's http column with the
fields tshark gave (expected/<capture>.tsv, made by make_expected.py).

  check.py CLI CAPTURE EXPECTED [--only-http] [--port P] [--no-http-port P] [--none]
           [--counter NAME=N]... [-- CLI_ARGS...]

Every expected flow (only those with port P, given --port) must be in the
output with an http column whose fields equal tshark's (a key the record
leaves out equals an empty tshark field) and HTTP in ext_protocol; every
other flow must have neither. --only-http: the output holds exactly the
expected flows (for --filter http). --no-http-port P: flows on port P are
dropped from the expectation (they must then have no http column).
--none: no flow may have an http column (e.g. --app-layer none).
--counter NAME=N: the run summary's dissectors.http.NAME is N."""
import json
import os
import subprocess
import sys
import tempfile

COLS = ["method", "path", "version", "host", "user_agent", "content_type", "content_length",
        "status_code", "status_reason", "response_version", "server", "response_content_type",
        "response_content_length", "requests", "responses"]


def main():
    argv = sys.argv[1:]
    cli_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, cli_args = argv[:i], argv[i + 1:]
    cli, cap, exp = argv[:3]
    opts = argv[3:]
    only = "--only-http" in opts
    port = opts[opts.index("--port") + 1] if "--port" in opts else None
    nohttp = opts[opts.index("--no-http-port") + 1] if "--no-http-port" in opts else None
    none = "--none" in opts
    counters = [opts[i + 1].split("=") for i, o in enumerate(opts) if o == "--counter"]

    expected = {}
    with open(exp) as f:
        lines = [l.rstrip("\n") for l in f if not l.startswith("#")]
    for l in lines[1:]:
        v = l.split("\t")
        key = v[0]
        ports = {e.rsplit("|", 1)[1] for e in key.split()}
        if port and port not in ports:
            continue
        if (nohttp and nohttp in ports) or none:
            continue
        expected[key] = dict(zip(COLS, v[1:]))

    fd, summary = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        out = subprocess.run([cli, "analyze", "-f", "ndjson", "-o", "-", "--summary", summary] +
                             cli_args + [cap], check=True, capture_output=True, text=True).stdout
        with open(summary) as f:
            got_counters = json.load(f)["dissectors"].get("http", {})
    finally:
        os.unlink(summary)
    bad = 0
    for name, n in counters:
        if got_counters.get(name) != int(n):
            print("counter %s: got %s, want %s" % (name, got_counters.get(name), n))
            bad += 1
    seen = set()
    nflows = 0
    for line in out.splitlines():
        r = json.loads(line)
        nflows += 1
        key = " ".join(sorted(["%s|%s" % (r["src_ip"], r["src_port"]),
                               "%s|%s" % (r["dst_ip"], r["dst_port"])]))
        h = r.get("http")
        has_ext = "HTTP" in r["ext_protocol"]
        if key not in expected:
            if h is not None or has_ext:
                print("unexpected http on %s: %s" % (key, h))
                bad += 1
            elif only:
                print("flow %s is not http but passed the filter" % key)
                bad += 1
            continue
        seen.add(key)
        if h is None or not has_ext:
            print("no http on %s (ext_protocol %s)" % (key, r["ext_protocol"]))
            bad += 1
            continue
        for c in COLS:
            got = h.get(c)
            got = "" if got is None else str(got)
            if got != expected[key][c]:
                print("%s %s: got %r, tshark %r" % (key, c, got, expected[key][c]))
                bad += 1
    for key in expected:
        if key not in seen:
            print("flow %s missing" % key)
            bad += 1
    print("%d flows, %d expected with http, %d mismatches" % (nflows, len(expected), bad))
    return 1 if bad else 0


sys.exit(main())
