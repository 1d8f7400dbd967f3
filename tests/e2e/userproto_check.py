#!/usr/bin/env python3
"""User protocols end to end through the CLI (docs/userproto.md).

1. tests/data/userproto/beacon.pcap (made by make_beacon.py beside it) with
   beacon.yaml routed udp:9999: flow 1 carries the example's values, worked
   out by hand: magic 0xbeef = 48879; 0x38 = 0011 1 000 -> version 3,
   urgent 1, reserved 0; seq 07 00 00 00 little-endian = 7; host "node";
   body_len = 7 * 2 + (48879 - 1) / 3 = 16306; body "hello". Its reply
   (magic 1) changes nothing: first value wins. Flow 2's 3-byte payload
   gives magic, version, urgent, reserved only. Flow 3 (UDP 514) has no
   beacon layer and an empty proto.beacon cell, until udp:514 is routed.
   ext_protocol gains "BEACON". Same bytes at -t 1, 2 and 4.
2. --app-layer port_only and none never reach user protocols.
3. A bad definition: exit 1, one line naming file:line:column, no output.
4. wa1kpcap__multi.pcap with beacon routed on udp:53, udp:8080, udp:8081,
   tcp:7680: DNS flows stay DNS (built-in dissectors come first), some
   flows gain BEACON, and -t 1/2/4 give the same bytes.

Usage: userproto_check.py WA1KPCAP DATA_DIR   (last line: N passed, N failed)
"""
import json, os, subprocess, sys, tempfile

CLI, DATA = sys.argv[1], sys.argv[2]
UP = os.path.join(DATA, "userproto")
BEACON = os.path.join(UP, "beacon.pcap")
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def run(args, capture=BEACON, fmt="ndjson"):
    p = subprocess.run([CLI, "analyze", "-q", "-f", fmt, "-o", "-"] + args + [capture],
                       capture_output=True)
    if p.returncode != 0:
        print(p.stderr.decode())
    return p.returncode, p.stdout.decode()


def flows(text):
    return {f["flow_id"]: f for f in map(json.loads, text.splitlines())}


FULL = {"magic": 48879, "version": 3, "urgent": 1, "reserved": 0, "seq": 7, "host": "node",
        "body_len": 16306, "body": "hello"}
CUT = {"magic": 48879, "version": 3, "urgent": 1, "reserved": 0}
base = ["--protocols", UP, "--route", "udp:9999=beacon"]

# 0. the committed capture is what its script makes
with tempfile.TemporaryDirectory() as d:
    subprocess.run([sys.executable, os.path.join(UP, "make_beacon.py"), os.path.join(d, "b.pcap")],
                   check=True)
    check(open(os.path.join(d, "b.pcap"), "rb").read() == open(BEACON, "rb").read(),
          "beacon.pcap matches make_beacon.py")

# 1. the example
outs = []
for t in ("1", "2", "4"):
    rc, out = run(base + ["-t", t])
    check(rc == 0, "beacon run -t " + t)
    outs.append(out)
check(outs[0] == outs[1] == outs[2], "beacon: same output at -t 1, 2, 4")
f = flows(outs[0])
check(f[1].get("proto.beacon") == FULL, "flow 1 values: %s" % f[1].get("proto.beacon"))
check(f[1]["ext_protocol"] == ["IPv4", "UDP", "BEACON"], "flow 1 ext_protocol")
check(f[3].get("proto.beacon") == CUT, "flow 3 (3 bytes): %s" % f[3].get("proto.beacon"))
check("proto.beacon" not in f[4] and f[4]["ext_protocol"] == ["IPv4", "UDP"],
      "flow 4 (udp 514, not routed) has no beacon layer")
rc, out = run(base + ["--route", "udp:514=beacon"])
check(flows(out)[4].get("proto.beacon") == FULL, "udp:514 routed: flow 4 is beacon")
rc, out = run(base + ["--route", "udp:0x202=beacon"])  # 0x202 = 514
check(flows(out)[4].get("proto.beacon") == FULL, "a hex route value")

# CSV: the column comes after the protocol-family columns; empty cell for flow 4
rc, out = run(base + ["--no-sequences"], fmt="csv")
lines = out.splitlines()
head = lines[0].split(",")
check(head[-1] == "proto.beacon" and head.index("tunnel") < head.index("dhcpv6") < len(head) - 1,
      "CSV column order: %s" % head[-3:])
check(lines[-1].endswith(","), "CSV: flow 4 has an empty proto.beacon cell")
rc, out = run(base + ["--columns", "flow_id,proto.*"], fmt="csv")
check(out.splitlines()[0] == "flow_id,proto.beacon", "--columns 'proto.*'")

# 2. port_only and none
for mode in ("port_only", "none"):
    rc, out = run(base + ["--app-layer", mode])
    check(rc == 0 and all("proto.beacon" not in x for x in flows(out).values()),
          "--app-layer %s reaches no user protocol" % mode)

# 3. a bad definition
with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "bad.yaml"), "w") as fp:
        fp.write("name: p\nfields:\n  - {name: a, type: fixed, sise: 2}\n")
    outp = os.path.join(d, "out.csv")
    p = subprocess.run([CLI, "analyze", "-q", "-o", outp, "--protocols", d, BEACON],
                       capture_output=True)
    err = p.stderr.decode()
    want = "wa1kpcap: %s/bad.yaml:3:28: fixed field: unknown key 'sise'\n" % d
    check(p.returncode == 1 and err == want, "bad definition: rc %d, %r" % (p.returncode, err))
    check(not os.path.exists(outp), "bad definition: no output file")

# 4. a real capture with routes, one of them on a built-in port
multi = os.path.join(DATA, "wa1kpcap__multi.pcap")
routes = ["--protocols", UP]
for r in ("udp:53", "udp:8080", "udp:8081", "tcp:7680"):
    routes += ["--route", r + "=beacon"]
outs = []
for t in ("1", "2", "4"):
    rc, out = run(routes + ["-t", t], capture=multi)
    check(rc == 0, "multi -t " + t)
    outs.append(out)
check(outs[0] == outs[1] == outs[2], "multi with user protocols: same output at -t 1, 2, 4")
fl = flows(outs[0])
dns = [x for x in fl.values() if "DNS" in x["ext_protocol"]]
beacons = [x for x in fl.values() if "BEACON" in x["ext_protocol"]]
check(len(dns) > 0 and all("proto.beacon" not in x for x in dns), "udp:53 never takes DNS")
check(len(beacons) > 0 and all(x["dst_port"] in (8080, 8081, 7680) for x in beacons),
      "beacon flows on the routed ports only (%d)" % len(beacons))
rc, plain = run([], capture=multi)
check(len(flows(plain)) == len(fl), "same flows with and without user protocols")

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
