#!/usr/bin/env python3
"""The shipped protocol definitions (protocols/*.yaml) through the CLI.

Usage:
  protocols_check.py load  WA1KPCAP PROTOCOLS_DIR DATA_DIR
  protocols_check.py truth WA1KPCAP PROTOCOLS_DIR EXPECTED.json CAPTURE

load:  `analyze --protocols PROTOCOLS_DIR` runs on a capture (exit status 0); each file loads on
       its own, with only the files it names (a directory of that file and the definitions it
       hands on to, found by name); a copy of a file with an unknown key is refused with one
       line naming that file (so "loads" is not vacuous).
truth: `analyze --protocols PROTOCOLS_DIR` on CAPTURE; for each flow of EXPECTED.json
       (tests/data/expected/protocols, values from tshark), each `proto.<layer>` object holds
       the expected values, and ext_protocol holds the routed protocol's name upper-cased; flows
       not listed carry none of those layers.

Exit status 77 (CTest: skipped) when the CLI has no --protocols option, i.e. it was built
without the YAML loader; the reason is printed. Last line otherwise: `N passed, N failed`."""
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

RUN_ARGS = ["--no-default-filter", "--keep-retrans", "--udp-timeout", "0", "--tcp-timeout", "0"]
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


def has_loader(cli):
    r = subprocess.run([cli, "--help"], capture_output=True, text=True)
    return "--protocols" in r.stdout + r.stderr


def analyze(cli, protocols, cap, extra=()):
    cmd = [cli, "analyze", cap, "-f", "ndjson", "-o", "-", "-q", "--protocols", protocols]
    return subprocess.run(cmd + RUN_ARGS + list(extra), capture_output=True, text=True, timeout=300)


def user_layer(flow, name):
    """The flow's proto.<name> object: a flat "proto.<name>" key or nested under "proto"."""
    if "proto." + name in flow:
        return flow["proto." + name]
    p = flow.get("proto")
    return p.get(name) if isinstance(p, dict) else None


def canon(f):
    x = (ipaddress.ip_address(f["src_ip"]).compressed, int(f.get("src_port") or 0))
    y = (ipaddress.ip_address(f["dst_ip"]).compressed, int(f.get("dst_port") or 0))
    if x > y:
        x, y = y, x
    proto = {"TCP": 6, "UDP": 17}.get(f["protocol"], f["protocol"])
    return f"{x[0]}:{x[1]}|{y[0]}:{y[1]}|{proto}"


def references(path, names):
    """Names of other definitions a file mentions as values (mapping targets, sub-protocols)."""
    text = re.sub(r"format:\s*\w+", "", open(path).read())  # ipv4 the format, not the file
    return {w for w in re.findall(r":\s*([a-z][a-z0-9_]*)\s*(?:[,}#]|$)", text, re.M) if w in names}


def load(cli, protocols, data):
    cap = os.path.join(data, "tcpdump__dns_udp.pcap")
    r = analyze(cli, protocols, cap)
    check(r.returncode == 0 and r.stdout.strip(),
          f"whole directory: exit {r.returncode}, stderr {r.stderr.strip()!r}")
    files = sorted(f for f in os.listdir(protocols) if f.endswith(".yaml") and f != "signatures.yaml")
    names = {f[:-5] for f in files}
    for f in files:
        need, todo = set(), [f[:-5]]
        while todo:
            n = todo.pop()
            if n in need:
                continue
            need.add(n)
            todo.extend(references(os.path.join(protocols, n + ".yaml"), names) - need)
        with tempfile.TemporaryDirectory() as d:
            for n in need:
                shutil.copy(os.path.join(protocols, n + ".yaml"), d)
            r = analyze(cli, d, cap)
            check(r.returncode == 0, f"{f} with {sorted(need - {f[:-5]})}: exit {r.returncode}, "
                                     f"stderr {r.stderr.strip()!r}")
    # A broken copy must be refused, naming the file.
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "ntp.yaml"), "w") as out:
            out.write(open(os.path.join(protocols, "ntp.yaml")).read() + "no_such_key: 1\n")
        r = analyze(cli, d, cap)
        lines = r.stderr.strip().splitlines()
        check(r.returncode != 0 and r.returncode > 0 and len(lines) == 1 and "ntp.yaml" in lines[0],
              f"unknown key: exit {r.returncode}, stderr {r.stderr.strip()!r}")


def truth(cli, protocols, expected, cap):
    exp = json.load(open(expected))
    r = analyze(cli, protocols, cap)
    check(r.returncode == 0, f"run: exit {r.returncode}, stderr {r.stderr.strip()!r}")
    flows = {}
    for line in r.stdout.splitlines():
        f = json.loads(line)
        flows.setdefault(canon(f), []).append(f)
    layers = {l for v in exp["flows"].values() for l in v}
    top = exp["top"]
    for key, want in sorted(exp["flows"].items()):
        got = flows.get(key, [])
        check(len(got) == 1, f"{key}: {len(got)} flows, want 1")
        if len(got) != 1:
            continue
        f = got[0]
        check(top.upper() in f.get("ext_protocol", []),
              f"{key}: ext_protocol {f.get('ext_protocol')} lacks {top.upper()}")
        for layer, fields in sorted(want.items()):
            obj = user_layer(f, layer)
            check(isinstance(obj, dict), f"{key}: no proto.{layer}")
            if not isinstance(obj, dict):
                continue
            for name, v in sorted(fields.items()):
                check(obj.get(name) == v, f"{key}: proto.{layer}.{name} = {obj.get(name)!r}, "
                                          f"tshark {v!r}")
    for key, fs in sorted(flows.items()):
        if key in exp["flows"]:
            continue
        for f in fs:
            extra = sorted(l for l in layers if user_layer(f, l) is not None)
            check(not extra, f"{key}: not {top}, yet has proto.{extra}")


def main():
    mode, cli, protocols = sys.argv[1], sys.argv[2], sys.argv[3]
    if not has_loader(cli):
        print(f"SKIP: {cli} has no --protocols option (built without the YAML loader)")
        sys.exit(77)
    if mode == "load":
        load(cli, protocols, sys.argv[4])
    else:
        truth(cli, protocols, sys.argv[4], sys.argv[5])
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
