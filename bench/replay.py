#!/usr/bin/env python3
"""Build a large capture from real ones: the packets of each input, copy after copy, with
the addresses of every copy rewritten so that each copy's flows are new flows, and the
time shifted so that copies follow each other.

Usage: replay.py --size 1G -o OUT.pcap IN.pcap [IN.pcap ...]

Inputs: classic pcap files with Ethernet link type (1), any byte order and resolution;
others are skipped with a note. Copy k (k = 0, 1, ...) XORs the last two bytes of every
IPv4 and IPv6 source and destination address with k + 1 (an untagged, 802.1Q or QinQ
frame; other frames are copied as they are), so both directions of a flow stay one flow
and no two copies share one. IP and transport checksums are not recomputed (wa1kpcap does not
check them). The output is microsecond pcap, little-endian, link type 1, and the same
inputs and size always give the same bytes. Every input starts at the first input's
first timestamp in each copy; copy k starts k times (the longest input's span + 1 s)
later.

Example (a TLS-heavy capture from the corpus's TLS captures):
  bench/replay.py --size 1G -o /tmp/tls-1g.pcap ../shared/pcaps/wa1kpcap__multi.pcap \\
      ../shared/pcaps/nDPI__443-safari.pcap ../shared/pcaps/zeek__tls1.2.pcap ...
"""
import argparse
import struct
import sys


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(s[:-1]) * mult[s[-1].upper()]) if s[-1].upper() in mult else int(s)


def read_pcap(path):
    """(packets, first_us, last_us) of an Ethernet classic pcap, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None
    magic = data[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", 1), b"\xa1\xb2\xc3\xd4": (">", 1),
             b"\x4d\x3c\xb2\xa1": ("<", 1000), b"\xa1\xb2\x3c\x4d": (">", 1000)}
    if magic not in table:
        return None
    end, div = table[magic]
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype != 1:
        return None
    pkts, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        if off + 16 + incl > len(data):
            break
        pkts.append((sec * 1_000_000 + frac // div, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    if not pkts:
        return None
    return pkts, min(p[0] for p in pkts), max(p[0] for p in pkts)


def ip_offset(frame):
    """(offset of the IP header, version) of an Ethernet frame, or (None, None)."""
    off = 12
    while off + 2 <= len(frame):
        et = struct.unpack(">H", frame[off:off + 2])[0]
        if et in (0x8100, 0x88A8):
            off += 4
            continue
        if et == 0x0800:
            return off + 2, 4
        if et == 0x86DD:
            return off + 2, 6
        return None, None
    return None, None


def rewrite(frame, k):
    ip, ver = ip_offset(frame)
    if ip is None:
        return frame
    b = bytearray(frame)
    x = (k + 1) & 0xFFFF
    spots = (ip + 14, ip + 18) if ver == 4 else (ip + 22, ip + 38)
    for s in spots:
        if s + 2 <= len(b):
            v = struct.unpack(">H", b[s:s + 2])[0] ^ x
            b[s:s + 2] = struct.pack(">H", v)
    return bytes(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", required=True, help="output size, e.g. 1G or 300M")
    ap.add_argument("-o", required=True, dest="out")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    target = parse_size(a.size)
    sets = []
    for p in a.inputs:
        r = read_pcap(p)
        if r is None:
            print(f"replay.py: {p}: not an Ethernet classic pcap, skipped", file=sys.stderr)
            continue
        sets.append(r)
    if not sets:
        sys.exit("replay.py: no usable input")
    first = min(s[1] for s in sets)
    span = max(s[2] - s[1] for s in sets) + 1_000_000
    # every input starts at the same instant in each copy; packets merged by time
    merged = sorted(((t - s[1], i, n, orig, fr) for i, s in enumerate(sets)
                     for n, (t, orig, fr) in enumerate(s[0])), key=lambda r: r[:3])
    written, copies, packets = 24, 0, 0
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        while written < target:
            base = first + copies * span
            for rel, _, _, orig, fr in merged:
                t = base + rel
                f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(fr), orig))
                f.write(rewrite(fr, copies))
                written += 16 + len(fr)
                packets += 1
                if written >= target:
                    break
            copies += 1
    print(f"{a.out}: {packets} packets, {written} bytes, {copies} copies of {len(sets)} captures")


if __name__ == "__main__":
    main()
