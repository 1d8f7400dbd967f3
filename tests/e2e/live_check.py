#!/usr/bin/env python3
"""wa1kpcap live on a veth pair between two network namespaces made by the test.

usage: live_check.py CLI
Needs root (CAP_NET_ADMIN) and iproute2; otherwise it is skipped (exit 77).

Namespace A holds one end of the pair (198.18.0.1/24, a range kept for
benchmarks that no network routes), namespace B the other (198.18.0.2). Only
the test's own bounded traffic crosses the pair: one TCP exchange of 5
request/response rounds and 10 UDP datagrams. While `wa1kpcap live` meters the
A end, a packet socket of the test on the same end writes the same packets to a
pcap file (kernel timestamps, SO_TIMESTAMPNS). Checked:
- SIGINT ends the capture: exit 0, every flow written with end_reason
  end_of_input, and the flows are those of `wa1kpcap analyze` over the test's
  pcap file (every field but `capture` and the times: each tap of the kernel
  stamps its own copy of a packet, so times may differ by about a microsecond);
- the summary's "live" object holds the kernel's counters;
- --count 3 ends after 3 packets, --duration ends on time with an idle link;
- --udp-timeout 1 writes a UDP flow while the capture is still running;
- a missing interface is a one-line error naming it, exit 1.
"""
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

cli = os.path.abspath(sys.argv[1])
if os.geteuid() != 0 or not shutil.which("ip"):
    print("skipped: needs root and iproute2 (ip) to make network namespaces")
    sys.exit(77)

tag = str(os.getpid())
NS_A, NS_B = "wkpA" + tag, "wkpB" + tag
IF_A, IF_B = "wkpa" + tag[-6:], "wkpb" + tag[-6:]
ADDR_A, ADDR_B = "198.18.0.1", "198.18.0.2"
tmp = tempfile.mkdtemp(prefix="wkp-live-")
failed = passed = 0


def check(ok, what):
    global failed, passed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def sh(*args):
    subprocess.run(args, check=True)


def cleanup():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
    shutil.rmtree(tmp, ignore_errors=True)


def setup():
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "link", "add", IF_A, "netns", NS_A, "type", "veth", "peer", "name", IF_B, "netns", NS_B)
    for ns, ifc, addr in ((NS_A, IF_A, ADDR_A), (NS_B, IF_B, ADDR_B)):
        sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", ifc)
        sh("ip", "-n", ns, "link", "set", ifc, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        # no IPv6 on the pair: its router solicitations would be traffic we did not make
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{ifc}.disable_ipv6=1")


def in_ns(ns, code, **kw):
    """A Python program in namespace ns."""
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code], **kw)


SERVER = f"""
import socket
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("{ADDR_B}", 8080)); t.listen(1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("{ADDR_B}", 9999))
print("ready", flush=True)
c, _ = t.accept()
for i in range(5):
    c.recv(100)
    c.sendall(b"response %d " % i + b"x" * (100 * i))
c.recv(100)
c.close()
for i in range(10):
    u.recvfrom(2000)
"""

CLIENT = f"""
import socket, time
c = socket.create_connection(("{ADDR_B}", 8080))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(5):
    c.sendall(b"request %d" % i)
    want = len(b"response %d " % i) + 100 * i
    got = b""
    while len(got) < want:
        got += c.recv(4096)
c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(10):
    u.sendto(b"datagram %d " % i + b"y" * (30 * i), ("{ADDR_B}", 9999))
    time.sleep(0.01)
"""

# A packet socket on IF_A writing every frame with its kernel timestamp to a
# pcap file (ns resolution) until its standard input closes.
DUMPER = f"""
import socket, struct, sys, select
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
s.bind(("{IF_A}", 0))
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 262144, 1))
print("ready", flush=True)
while True:
    r, _, _ = select.select([s, sys.stdin], [], [], 1)
    if sys.stdin in r and not sys.stdin.readline():
        break
    if s in r:
        data, anc, _, _ = s.recvmsg(262144, 64)
        sec = nsec = 0
        for lvl, typ, val in anc:
            if lvl == socket.SOL_SOCKET and typ == 35:
                sec, nsec = struct.unpack("qq", val[:16])
        out.write(struct.pack("<IIII", sec, nsec, len(data), len(data)) + data)
out.close()
"""


def live(args, **kw):
    return subprocess.Popen(["ip", "netns", "exec", NS_A, cli, "live", "-i", IF_A, "-q"] + args,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def ndjson(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


# The packet socket and libpcap's ring stamp each packet on their own (the
# kernel times every tap's copy): the times differ by a microsecond or less.
# Everything else of a flow must be the same.
TIMES = ("start_time", "end_time", "duration")
STAT_TIMES = ("iats", "up_iats", "down_iats", "duration")


def without_times(flows):
    for f in flows:
        f.pop("capture", None)
        for k in TIMES:
            f.pop(k, None)
        feats = f.get("features", {})
        feats.pop("timestamps", None)
        feats.pop("iats", None)
        for k in STAT_TIMES:
            feats.get("statistics", {}).pop(k, None)
    return sorted(flows, key=lambda f: f["flow_id"])


try:
    try:
        setup()
    except (subprocess.CalledProcessError, OSError) as e:
        # a container without the right to make network namespaces
        print(f"skipped: cannot make the network namespaces and veth pair: {e}")
        cleanup()
        sys.exit(77)
    # --- SIGINT, against the same packets analysed offline
    pcap = os.path.join(tmp, "same.pcap")
    summary = os.path.join(tmp, "live.json")
    dumper = in_ns(NS_A, DUMPER.replace("sys.argv[1]", repr(pcap)), stdin=subprocess.PIPE,
                   stdout=subprocess.PIPE, text=True)
    check(dumper.stdout.readline().strip() == "ready", "the packet socket is up")
    server = in_ns(NS_B, SERVER, stdout=subprocess.PIPE, text=True)
    check(server.stdout.readline().strip() == "ready", "the server is up")
    w = live(["--summary", summary])
    time.sleep(1.0)  # libpcap is capturing once the interface is opened; give it time
    client = in_ns(NS_A, CLIENT)
    check(client.wait(timeout=30) == 0, "the client ran")
    check(server.wait(timeout=30) == 0, "the server ran")
    time.sleep(0.5)
    w.send_signal(signal.SIGINT)
    out, err = w.communicate(timeout=30)
    dumper.stdin.close()
    dumper.wait(timeout=30)
    check(w.returncode == 0, f"SIGINT: exit {w.returncode}, stderr {err.strip()!r}")
    live_flows = ndjson(out)
    check(len(live_flows) == 2, f"{len(live_flows)} flows (want the TCP and the UDP one)")
    check(all(f["end_reason"] == "end_of_input" for f in live_flows),
          f"end reasons {[f['end_reason'] for f in live_flows]}")
    tcp = [f for f in live_flows if f["protocol"] == "TCP"]
    udp = [f for f in live_flows if f["protocol"] == "UDP"]
    # UDP: 10 datagrams of 11 + 30 i payload bytes (i = 0..9), up only:
    # 110 + 30 * 45 = 1460 bytes of payload, and 42 bytes of headers each
    check(len(udp) == 1 and udp[0]["up_packet_count"] == 10, "UDP: 10 datagrams up")
    check(len(udp) == 1 and sum(udp[0]["features"]["app_lengths"]) == 1460, "UDP payload")
    check(len(udp) == 1 and udp[0]["byte_count"] == 1460 + 420, "UDP bytes")
    # TCP payload: requests 5 * 9 bytes up, responses sum(11 + 100 i) = 1055 down
    if tcp:
        app = tcp[0]["features"]["app_lengths"]
        check(sum(a for a in app if a > 0) == 45 and -sum(a for a in app if a < 0) == 1055,
              f"TCP payload up/down {app}")
    check(len(tcp) == 1, "one TCP flow")
    off = subprocess.run([cli, "analyze", "-q", "-f", "ndjson", pcap], capture_output=True,
                         text=True)
    check(off.returncode == 0, f"offline: {off.stderr.strip()}")
    check(without_times(live_flows) == without_times(ndjson(off.stdout)),
          "live flows differ from the same packets analysed offline")
    s = json.load(open(summary))
    lv = s.get("live", {})
    check(lv.get("interface") == IF_A, f"summary live.interface {lv.get('interface')}")
    check(lv.get("kernel_received", 0) >= sum(f["packet_count"] for f in live_flows),
          f"kernel_received {lv.get('kernel_received')}")
    check(lv.get("kernel_dropped") == 0, f"kernel_dropped {lv.get('kernel_dropped')}")

    # --- --count 3: ends after 3 packets
    server = in_ns(NS_B, SERVER, stdout=subprocess.PIPE, text=True)
    server.stdout.readline()
    w = live(["--count", "3", "--summary", summary, "--no-default-filter"])
    time.sleep(1.0)
    client = in_ns(NS_A, CLIENT)
    out, err = w.communicate(timeout=30)
    client.wait(timeout=30)
    server.wait(timeout=30)
    s = json.load(open(summary))
    check(w.returncode == 0 and s["packets"]["packets_read"] == 3,
          f"--count 3: exit {w.returncode}, {s['packets']['packets_read']} packets read")
    check(sum(f["packet_count"] for f in ndjson(out)) == 3, "--count 3: 3 packets in flows")

    # --- --duration on an idle link ends on time
    t0 = time.monotonic()
    w = live(["--duration", "1.5"])
    out, err = w.communicate(timeout=30)
    took = time.monotonic() - t0
    check(w.returncode == 0 and out == "" and 1.4 < took < 5,
          f"--duration 1.5: exit {w.returncode} after {took:.2f} s, output {out!r}")

    # --- --udp-timeout 1: the UDP flow is written while the capture goes on
    w = live(["--udp-timeout", "1", "--filter", "udp"])
    time.sleep(1.0)
    server = in_ns(NS_B, SERVER, stdout=subprocess.PIPE, text=True)
    server.stdout.readline()
    client = in_ns(NS_A, CLIENT)
    client.wait(timeout=30)
    server.wait(timeout=30)
    ready, _, _ = select.select([w.stdout], [], [], 6)
    line = w.stdout.readline() if ready else ""
    still = w.poll() is None
    w.send_signal(signal.SIGINT)
    rest, err = w.communicate(timeout=30)
    f = json.loads(line) if line else {}
    check(still and f.get("end_reason") == "idle_timeout" and f.get("packet_count") == 10,
          f"--udp-timeout 1: written during the capture: {line.strip()!r}")
    check(w.returncode == 0 and rest == "", f"then SIGINT: exit {w.returncode}, rest {rest!r}")

    # --- errors
    r = subprocess.run([cli, "live", "-i", "nosuchif0", "-q"], capture_output=True, text=True)
    check(r.returncode == 1 and r.stderr.startswith("wa1kpcap: nosuchif0: cannot capture")
          and r.stderr.count("\n") == 1, f"missing interface: {r.returncode} {r.stderr!r}")
    r = subprocess.run([cli, "live", "-q"], capture_output=True, text=True)
    check(r.returncode == 2 and "no interface" in r.stderr, f"no -i: {r.returncode} {r.stderr!r}")
    r = subprocess.run([cli, "analyze", "--count", "3", "x.pcap"], capture_output=True, text=True)
    check(r.returncode == 2 and "only for wa1kpcap live" in r.stderr,
          f"analyze --count: {r.returncode} {r.stderr!r}")
finally:
    cleanup()

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
