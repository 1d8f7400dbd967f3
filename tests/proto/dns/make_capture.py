#!/usr/bin/python3
"""Writes data/wkp_dns_mix.pcap: LLMNR (UDP 5355), mDNS (UDP 5353) and DNS
over TCP 53 with the length prefix and messages split across segments.

Run once; the capture is committed. Messages are built by hand here (names
compressed with pointers) so the test does not depend on a DNS library.
"""
import struct
import sys


def name(n):
    out = b""
    for label in n.split(".") if n else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def ptr(off):
    return struct.pack(">H", 0xC000 | off)


def header(i, flags, qd, an, ns=0, ar=0):
    return struct.pack(">6H", i, flags, qd, an, ns, ar)


def rr(owner, rtype, ttl, rdata):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ipv4(src, dst, proto, payload):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0,
                    ip4(src), ip4(dst))
    h = h[:10] + struct.pack(">H", csum(h)) + h[12:]
    return h + payload


def udp(src, dst, sp, dp, data):
    u = struct.pack(">HHHH", sp, dp, 8 + len(data), 0) + data
    pseudo = ip4(src) + ip4(dst) + struct.pack(">BBH", 0, 17, len(u))
    c = csum(pseudo + u) or 0xFFFF
    return ipv4(src, dst, 17, u[:6] + struct.pack(">H", c) + u[8:])


def tcp(src, dst, sp, dp, seq, ack, flags, data=b""):
    t = struct.pack(">HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    pseudo = ip4(src) + ip4(dst) + struct.pack(">BBH", 0, 6, len(t))
    c = csum(pseudo + t)
    return ipv4(src, dst, 6, t[:16] + struct.pack(">H", c) + t[18:])


MAC = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
frames = []


def add(pkt):
    frames.append(MAC + pkt)


# LLMNR: a query to the multicast group and the unicast answer (two flows).
q = header(0x1111, 0x0000, 1, 0) + name("printer") + struct.pack(">HH", 1, 1)
add(udp("10.0.0.5", "224.0.0.252", 50000, 5355, q))
r = header(0x1111, 0x8000, 1, 1) + name("printer") + struct.pack(">HH", 1, 1)
r += rr(ptr(12), 1, 30, ip4("10.0.0.7"))
add(udp("10.0.0.7", "10.0.0.5", 5355, 50000, r))

# mDNS: an announcement (no question), then a query on the same flow.
a = header(0, 0x8400, 0, 4)
owner = name("_ipp._tcp.local")          # at 12
inst_off = 12 + len(owner) + 10         # the PTR's rdata
a += rr(owner, 12, 4500, b"\x03lab" + ptr(12))
a += rr(ptr(inst_off), 33, 120, struct.pack(">HHH", 0, 0, 631) + b"\x03lab\x05local\x00")
a += rr(ptr(inst_off), 16, 4500, b"\x06txtv=1\x05pdl=x")
host_off = 12 + len(owner) + 10 + 6 + 2 + 10 + 6
a += rr(ptr(host_off), 28, 120, bytes.fromhex("fe800000000000000000000000000001"))
add(udp("10.0.0.9", "224.0.0.251", 5353, 5353, a))
q = header(0, 0, 1, 0) + name("_printer._tcp.local") + struct.pack(">HH", 12, 1)
add(udp("10.0.0.9", "224.0.0.251", 5353, 5353, q))

# DNS over TCP: handshake; the first query's prefix alone, then its body;
# the response split across two segments; then two pipelined queries in
# one segment answered (NS, MX, NXDOMAIN) in one segment.
C, S, cp = "10.0.0.5", "10.0.0.53", 40000
cs, ss = 1000, 5000
add(tcp(C, S, cp, 53, cs, 0, 0x02))
add(tcp(S, C, 53, cp, ss, cs + 1, 0x12))
cs += 1
ss += 1
add(tcp(C, S, cp, 53, cs, ss, 0x10))
q1 = header(0x2222, 0x0100, 1, 0) + name("example.org") + struct.pack(">HH", 1, 1)
for seg in (struct.pack(">H", len(q1)), q1):
    add(tcp(C, S, cp, 53, cs, ss, 0x18, seg))
    cs += len(seg)
r1 = header(0x2222, 0x8180, 1, 2) + name("example.org") + struct.pack(">HH", 1, 1)
r1 += rr(ptr(12), 5, 300, b"\x03www" + ptr(12))
r1 += rr(ptr(12 + 13 + 4 + 12), 1, 300, ip4("93.184.216.34"))
w1 = struct.pack(">H", len(r1)) + r1
for seg in (w1[:20], w1[20:]):
    add(tcp(S, C, 53, cp, ss, cs, 0x18, seg))
    ss += len(seg)
q2 = header(0x3333, 0x0100, 1, 0) + name("example.org") + struct.pack(">HH", 15, 1)
q3 = header(0x4444, 0x0100, 1, 0) + name("nope.example.org") + struct.pack(">HH", 2, 1)
seg = struct.pack(">H", len(q2)) + q2 + struct.pack(">H", len(q3)) + q3
add(tcp(C, S, cp, 53, cs, ss, 0x18, seg))
cs += len(seg)
r2 = header(0x3333, 0x8180, 1, 1) + name("example.org") + struct.pack(">HH", 15, 1)
r2 += rr(ptr(12), 15, 60, struct.pack(">H", 10) + b"\x02mx" + ptr(12))
r3 = header(0x4444, 0x8183, 1, 0, 1) + name("nope.example.org") + struct.pack(">HH", 2, 1)
r3 += rr(ptr(12 + 5), 6, 900, b"\x02ns" + ptr(17) + b"\x00" + b"\x00" * 20)
seg = struct.pack(">H", len(r2)) + r2 + struct.pack(">H", len(r3)) + r3
add(tcp(S, C, 53, cp, ss, cs, 0x18, seg))
ss += len(seg)
add(tcp(C, S, cp, 53, cs, ss, 0x11))
add(tcp(S, C, 53, cp, ss, cs + 1, 0x11))
add(tcp(C, S, cp, 53, cs + 1, ss + 1, 0x10))

out = open(sys.argv[1] if len(sys.argv) > 1 else "data/wkp_dns_mix.pcap", "wb")
out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
for i, f in enumerate(frames):
    out.write(struct.pack("<IIII", 1700000000 + i, 0, len(f), len(f)))
    out.write(f)
