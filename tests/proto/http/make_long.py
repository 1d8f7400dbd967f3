#!/usr/bin/env python3
"""Write data/long_header.pcap: one TCP connection to port 80 (handshake,
data, FINs) whose first request carries a 20000-byte X-Long header line
before its Host header, cut into 1400-byte segments (so the request line,
the long line and the header block cross segment boundaries), answered
with a Content-Length body; then a second request answered chunked. Needs
only Python."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CLI, SRV = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
CPORT, SPORT = 40000, 80


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(up, seq, ack, flags, data=b""):
    src, dst = (CLI, SRV) if up else (SRV, CLI)
    sp, dp = (CPORT, SPORT) if up else (SPORT, CPORT)
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    if not up:
        eth = b"\x02\0\0\0\0\x01" + b"\x02\0\0\0\0\x02" + b"\x08\x00"
    return eth + ip + tcp


def main():
    req1 = (b"GET /long HTTP/1.1\r\nUser-Agent: maker/1\r\nX-Long: " + b"x" * 20000 +
            b"\r\nHost: long.example\r\n\r\n")
    resp1 = b"HTTP/1.1 200 OK\r\nServer: maker\r\nContent-Length: 5\r\n\r\nhello"
    req2 = b"GET /second HTTP/1.1\r\nHost: long.example\r\n\r\n"
    resp2 = (b"HTTP/1.1 404 Not Found\r\nServer: maker\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"5\r\nnope!\r\n0\r\n\r\n")
    frames = []
    cs, ss = 1000, 5000
    frames.append(frame(True, cs, 0, 0x02))
    frames.append(frame(False, ss, cs + 1, 0x12))
    cs, ss = cs + 1, ss + 1
    frames.append(frame(True, cs, ss, 0x10))
    for data, up in ((req1, True), (resp1, False), (req2, True), (resp2, False)):
        for i in range(0, len(data), 1400):
            part = data[i:i + 1400]
            if up:
                frames.append(frame(True, cs, ss, 0x18, part))
                cs += len(part)
            else:
                frames.append(frame(False, ss, cs, 0x18, part))
                ss += len(part)
        if up:
            frames.append(frame(False, ss, cs, 0x10))
    frames.append(frame(True, cs, ss, 0x11))
    frames.append(frame(False, ss, cs + 1, 0x11))
    frames.append(frame(True, cs + 1, ss + 1, 0x10))
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1700000000, i * 1000, len(f), len(f)) + f
    open(os.path.join(HERE, "data", "long_header.pcap"), "wb").write(bytes(out))


main()
