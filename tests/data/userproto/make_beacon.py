#!/usr/bin/python3
"""Write beacon.pcap: UDP datagrams to port 9999 for the beacon example
(docs/userproto.md). Ethernet, IPv4, UDP; microsecond pcap.

flow 1: 10.0.0.1:40000 -> 10.0.0.2:9999, the 17-byte example payload,
        then a reply 9999 -> 40000 whose values differ (first value wins);
flow 2: 10.0.0.1:40001 -> 10.0.0.2:9999, only the first 3 bytes;
flow 3: 10.0.0.1:40002 -> 10.0.0.2:514, the example payload (no route:
        no beacon layer unless 514 is routed)."""
import struct
import sys

EXAMPLE = bytes.fromhex("beef3807000000046e6f646568656c6c6f")
REPLY = bytes.fromhex("0001100900000000")  # magic 1, version 1, seq 9, host ""


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    return eth + ip + udp


A, B = [10, 0, 0, 1], [10, 0, 0, 2]
packets = [
    frame(A, B, 40000, 9999, EXAMPLE),
    frame(B, A, 9999, 40000, REPLY),
    frame(A, B, 40001, 9999, EXAMPLE[:3]),
    frame(A, B, 40002, 514, EXAMPLE),
]
out = sys.argv[1] if len(sys.argv) > 1 else "beacon.pcap"
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, p in enumerate(packets):
        f.write(struct.pack("<IIII", 1700000000 + i, 0, len(p), len(p)))
        f.write(p)
