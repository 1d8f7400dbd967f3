#!/usr/bin/python3
"""Writes data/wkp_dhcp_relay.pcap: what the public captures lack.

1. DHCP through a relay agent (UDP 67 to 67): a Discover with giaddr and
   option 82 (circuit id "eth1"), then an Offer; an Inform whose options go
   on in the file field (option 52 = 1).
2. DHCPv6 through a relay (UDP 547 to 547): a Relay-forward holding a
   Solicit (DUID-EN, IA_PD, FQDN "pc.example"), a Relay-reply holding an
   Advertise (DUID-LLT, IA_PD with 2001:db8:100::/56), and a Relay-forward
   inside a Relay-forward holding a Request.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def v4(src, dst, sp, dp, payload):
    udp = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes(src),
                     bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\2" + b"\x02\0\0\0\0\1" + b"\x08\x00" + ip + udp


def v6(src, dst, sp, dp, payload):
    n = 8 + len(payload)
    udp = struct.pack("!HHHH", sp, dp, n, 0) + payload
    pseudo = src + dst + struct.pack("!IxxxB", n, 17)
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!IHBB", 6 << 28, n, 17, 64) + src + dst
    return b"\x33\x33\0\1\0\2" + b"\x02\0\0\0\0\1" + b"\x86\xdd" + ip + udp


def a6(text):
    import ipaddress
    return ipaddress.IPv6Address(text).packed


def dhcp(op, xid, yiaddr, giaddr, opts, file=b""):
    fixed = (bytes([op, 1, 6, 1]) + struct.pack("!I", xid) + b"\0" * 8 + bytes(yiaddr)
             + b"\0" * 4 + bytes(giaddr) + b"\x02\0\0\0\0\x2a" + b"\0" * 10 + b"\0" * 64
             + file.ljust(128, b"\0"))
    return fixed + b"\x63\x82\x53\x63" + opts + b"\xff"


def o4(code, v):
    return bytes([code, len(v)]) + v


def o6(code, v):
    return struct.pack("!HH", code, len(v)) + v


def relay(kind, msg, link, hops=0):
    return bytes([kind, hops]) + a6(link) + a6("fe80::1") + o6(18, b"eth1") + o6(9, msg)


def main():
    relay4, server4 = [192, 0, 2, 1], [198, 51, 100, 7]
    pkts = [
        v4(relay4, server4, 67, 67, dhcp(1, 0x1001, [0] * 4, relay4,
                                          o4(53, b"\1") + o4(82, b"\1\4eth1")
                                          + o4(55, b"\1\3\6") + o4(12, b"pc4"))),
        v4(server4, relay4, 67, 67, dhcp(2, 0x1001, [192, 0, 2, 50], relay4,
                                          o4(53, b"\2") + o4(54, bytes(server4))
                                          + o4(51, struct.pack("!I", 7200)) + o4(82, b"\1\4eth1"))),
        v4(relay4, server4, 67, 67, dhcp(1, 0x1002, [0] * 4, relay4,
                                          o4(53, b"\x08") + o4(52, b"\1"),
                                          file=o4(60, b"vendor-in-file") + b"\xff")),
    ]
    r6, s6 = a6("2001:db8:1::1"), a6("2001:db8:2::2")
    pd = o6(25, b"\0\0\0\7" + struct.pack("!II", 0, 0))
    pd_adv = o6(25, b"\0\0\0\7" + struct.pack("!II", 1800, 2880)
                + o6(26, struct.pack("!IIB", 3600, 7200, 56) + a6("2001:db8:100::")))
    client = o6(1, b"\0\2\0\0\x01\x37" + b"wkp")
    server = o6(2, b"\0\1\0\1\x11\x22\x33\x44\x02\0\0\0\0\x09")
    sol = b"\x01\x0a\x0b\x0c" + client + o6(6, b"\0\x17\0\x18\0\x27") + pd \
        + o6(39, b"\x01\x02pc\x07example\x00")
    adv = b"\x02\x0a\x0b\x0c" + server + client + pd_adv
    req = b"\x03\x0d\x0e\x0f" + client + server + pd_adv
    pkts += [
        v6(r6, s6, 547, 547, relay(12, sol, "2001:db8:1::")),
        v6(s6, r6, 547, 547, relay(13, adv, "2001:db8:1::")),
        v6(r6, s6, 547, 547, relay(12, relay(12, req, "2001:db8:3::"), "2001:db8:1::", 1)),
    ]
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, p in enumerate(pkts):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(p), len(p)) + p
    with open(os.path.join(HERE, "data", "wkp_dhcp_relay.pcap"), "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
