#!/usr/bin/env python3
"""Write four made captures byte by byte (python struct only; run by make_captures.sh):

made__gre_frag.pcap     Ethernet. UDP 192.0.2.1:40020 <-> 198.51.100.2:7020 inside GRE (key 42)
                        inside IPv4 203.0.113.1 -> 203.0.113.2 whose datagrams are fragmented:
                        2 fragments in order, 1 unfragmented reply, 3 fragments in reverse order.
made__vxlan_frag.pcap   Ethernet. UDP 10.0.0.1:5000 <-> 10.0.0.2:6000 inside VXLAN (VNI 77, UDP
                        4789) inside IPv4 203.0.113.11 -> 203.0.113.12, fragmented the same way.
made__ng_neg_tsoffset.pcapng  pcapng, one Ethernet interface with if_tsoffset -1700000000 s and
                        microsecond stamps 1700000000 - 2 .. + 3 s: capture times straddle the epoch
                        (-2.5 s .. +3.25 s). One UDP flow of 4 packets, one TCP flow of 2.
made__ng_huge_ts.pcapng pcapng, three Ethernet interfaces: 0 ns resolution, stamps near 2^64 - 1
                        (past the clamp: 2^62 - 1 ns); 1 if_tsoffset -2^63 s (clamped to -2^62 ns);
                        2 plain ns stamps around 1.7e18. See tests/e2e/time_check.py for the flows.
Usage: python3 gen_time_frag.py [OUTDIR]   (default: tests/data)
"""
import ipaddress, os, struct, sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return ipaddress.IPv4Address(a).packed


def ipv4_hdr(src, dst, proto, total, ident, frag=0x4000, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, frag, ttl, proto, 0, ip4(src), ip4(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]


def ipv4(src, dst, proto, payload, ident=1):
    return ipv4_hdr(src, dst, proto, 20 + len(payload), ident) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 8192, 0, 0) + payload


MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def eth(payload, src=MAC_A, dst=MAC_B, etype=0x0800):
    return dst + src + struct.pack("!H", etype) + payload


def fragments(src, dst, proto, payload, ident, size):
    """IPv4 fragments of one datagram, each carrying `size` payload bytes (a multiple of 8)."""
    out = []
    for off in range(0, len(payload), size):
        chunk = payload[off:off + size]
        mf = 0x2000 if off + size < len(payload) else 0
        out.append(ipv4_hdr(src, dst, proto, 20 + len(chunk), ident, mf | (off // 8)) + chunk)
    return out


def pcap(path, frames, t0=1700000000):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", t0 + i, 1000 * i, len(fr), len(fr)) + fr)


def tunnel_capture(path, outer_src, outer_dst, outer_proto, wrap, inner_src, inner_dst, sp, dp):
    """Frames: a 2400-byte-payload datagram in 2 fragments, an unfragmented reply, then a
    3000-byte-payload datagram in 3 fragments sent last fragment first."""
    frames = []
    big = wrap(ipv4(inner_src, inner_dst, 17, udp(sp, dp, bytes(range(256)) * 9 + b"x" * 96), 11))
    frames += [eth(f) for f in fragments(outer_src, outer_dst, outer_proto, big, 0x100, 1480)]
    reply = wrap(ipv4(inner_dst, inner_src, 17, udp(dp, sp, b"ok" * 50), 12))
    frames.append(eth(ipv4(outer_dst, outer_src, outer_proto, reply, 0x200)))
    big2 = wrap(ipv4(inner_src, inner_dst, 17, udp(sp, dp, b"\xa5" * 3000), 13))
    frames += [eth(f) for f in
               reversed(fragments(outer_src, outer_dst, outer_proto, big2, 0x101, 1200))]
    pcap(path, frames)


def gre_key(inner):
    return struct.pack("!HHI", 0x2000, 0x0800, 42) + inner


def vxlan(inner):
    return udp(49152, 4789, struct.pack("!II", 0x08000000, 77 << 8) + eth(
        inner, bytes.fromhex("02000000000a"), bytes.fromhex("02000000000b")))


# ---- pcapng ---------------------------------------------------------------------------------

def block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def opt(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def shb():
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(tsresol=None, tsoffset=None):
    opts = b""
    if tsresol is not None:
        opts += opt(9, bytes([tsresol]))
    if tsoffset is not None:
        opts += opt(14, struct.pack("<q", tsoffset))
    if opts:
        opts += opt(0, b"")
    return block(1, struct.pack("<HHI", 1, 0, 65535) + opts)


def epb(iface, ticks, frame):
    return block(6, struct.pack("<IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(frame),
                                len(frame)) + frame)


def udp_frame(a, b, sp, dp, n, ident):
    return eth(ipv4(a, b, 17, udp(sp, dp, b"u" * n), ident))


def tcp_frame(a, b, sp, dp, seq, ack, flags, n, ident):
    return eth(ipv4(a, b, 6, tcp(sp, dp, seq, ack, flags, b"t" * n), ident))


def neg_tsoffset(path):
    us = lambda s: int(round(s * 1e6))  # default resolution: microseconds
    base = 1700000000
    u = ("192.0.2.21", "198.51.100.21", 40021, 5021)
    t = ("192.0.2.22", "198.51.100.22", 40022, 80)
    recs = [
        (base - 2.5, udp_frame(u[0], u[1], u[2], u[3], 10, 1)),
        (base - 1.25, udp_frame(u[1], u[0], u[3], u[2], 20, 2)),
        (base - 1.0, tcp_frame(t[0], t[1], t[2], t[3], 1000, 0, 0x02, 0, 3)),
        (base + 0.5, udp_frame(u[0], u[1], u[2], u[3], 30, 4)),
        (base + 2.0, tcp_frame(t[1], t[0], t[3], t[2], 5000, 1001, 0x12, 0, 5)),
        (base + 3.25, udp_frame(u[1], u[0], u[3], u[2], 40, 6)),
    ]
    with open(path, "wb") as f:
        f.write(shb() + idb(tsoffset=-1700000000))
        for ts, fr in recs:
            f.write(epb(0, us(ts), fr))


def huge_ts(path):
    # Interface 0: ns stamps 2^64 - 1 and 2^64 - 2 ticks (1.8e19 ns, past int64): clamped.
    # Interface 1: if_tsoffset -2^63 s: every stamp far below the range: clamped.
    # Interface 2: ordinary ns stamps.
    a = ("192.0.2.31", "198.51.100.31", 40031, 5031)  # UDP flow: min, max, min + 1 s
    b = ("192.0.2.32", "198.51.100.32", 40032, 80)  # TCP flow: its one packet at min
    c = ("192.0.2.33", "198.51.100.33", 40033, 5033)  # UDP flow: 2 packets on interface 2
    recs = [
        (1, 1000000000, udp_frame(a[0], a[1], a[2], a[3], 10, 1)),
        (1, 0, tcp_frame(b[0], b[1], b[2], b[3], 1, 0, 0x02, 0, 2)),
        (2, 1700000000000000000, udp_frame(c[0], c[1], c[2], c[3], 20, 3)),
        (0, 2**64 - 1, udp_frame(a[1], a[0], a[3], a[2], 30, 4)),
        (2, 1700000001500000000, udp_frame(c[1], c[0], c[3], c[2], 40, 5)),
        (1, 2000000000, udp_frame(a[0], a[1], a[2], a[3], 50, 6)),
        (0, 2**64 - 2, udp_frame(a[1], a[0], a[3], a[2], 60, 7)),
    ]
    with open(path, "wb") as f:
        f.write(shb() + idb(tsresol=9) + idb(tsresol=9, tsoffset=-2**63) + idb(tsresol=9))
        for iface, ticks, fr in recs:
            f.write(epb(iface, ticks, fr))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..")
    tunnel_capture(os.path.join(out, "made__gre_frag.pcap"), "203.0.113.1", "203.0.113.2", 47,
                   gre_key, "192.0.2.1", "198.51.100.2", 40020, 7020)
    tunnel_capture(os.path.join(out, "made__vxlan_frag.pcap"), "203.0.113.11", "203.0.113.12",
                   17, vxlan, "10.0.0.1", "10.0.0.2", 5000, 6000)
    neg_tsoffset(os.path.join(out, "made__ng_neg_tsoffset.pcapng"))
    huge_ts(os.path.join(out, "made__ng_huge_ts.pcapng"))


if __name__ == "__main__":
    main()
