#!/usr/bin/env python3
"""Write data/ports.pcap: the one HTTP flow of data/zeek__get.pcap three
times, its server port 80 rewritten to 80, 8080 and 18080 (the client port
to 59856, 59857, 59858), each copy 100 s after the one before, TCP
checksums recomputed. Run from anywhere; needs only Python."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "data", "zeek__get.pcap")
DST = os.path.join(HERE, "data", "ports.pcap")
COPIES = [(80, 0), (8080, 1), (18080, 2)]  # server port, client port offset


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def rewrite(frame, server, off):
    f = bytearray(frame)
    assert struct.unpack("!H", f[12:14])[0] == 0x0800
    ip = 14
    ihl = (f[ip] & 15) * 4
    total = struct.unpack("!H", f[ip + 2:ip + 4])[0]
    assert f[ip + 9] == 6 and ip + total <= len(f)
    t = ip + ihl
    sport, dport = struct.unpack("!HH", f[t:t + 4])
    if sport == 80:
        sport, dport = server, dport + off
    else:
        sport, dport = sport + off, server
    f[t:t + 4] = struct.pack("!HH", sport, dport)
    f[t + 16:t + 18] = b"\0\0"
    seg = bytes(f[t:ip + total])
    pseudo = bytes(f[ip + 12:ip + 20]) + struct.pack("!BBH", 0, 6, len(seg))
    f[t + 16:t + 18] = struct.pack("!H", csum(pseudo + seg))
    return bytes(f)


def main():
    data = open(SRC, "rb").read()
    head, pos, recs = data[:24], 24, []
    assert struct.unpack("<I", head[:4])[0] == 0xA1B2C3D4
    while pos < len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[pos:pos + 16])
        recs.append((sec, usec, orig, data[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    out = bytearray(head)
    for i, (server, off) in enumerate(COPIES):
        for sec, usec, orig, frame in recs:
            f = rewrite(frame, server, off)
            out += struct.pack("<IIII", sec + 100 * i, usec, len(f), orig) + f
    open(DST, "wb").write(bytes(out))


main()
