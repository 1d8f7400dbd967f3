#!/usr/bin/env python3
"""Write the hand-made seeds of tests/fuzz/corpus/<entry>/ (the inputs the
tests/data captures do not give: synthesised fragments, segment scripts,
filter expressions, odd capture headers). Run from anywhere; rewrites the
seed-*.bin files and leaves other files (reproducers) alone. Each input
format is described at the top of tests/fuzz/fuzz_<entry>.c."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(entry, name, data):
    d = os.path.join(HERE, "corpus", entry)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name + ".bin"), "wb") as f:
        f.write(data)


# defrag: [max_pending][max_bytes/512][v6_drop_overlap | timeout ms], then records.
def frag(kind, ident, off8, length, step, payload=b""):
    body = payload.ljust(length, b"\x5a")[:length]
    return bytes([kind, ident]) + struct.pack(">HHB", off8, length, step) + body


v4 = frag(0x02, 7, 0, 64, 1) + frag(0x00, 7, 8, 40, 1)
put("defrag", "v4_pair", b"\0\0\0" + v4)
put("defrag", "v4_reverse", b"\0\0\0" + frag(0x00, 7, 8, 40, 1) + frag(0x02, 7, 0, 64, 1))
put("defrag", "v4_overlap", b"\0\0\0" + frag(0x02, 1, 0, 64, 0) + frag(0x02, 1, 4, 64, 0)
    + frag(0x00, 1, 8, 16, 0))
put("defrag", "v6_pair", b"\0\0\0" + frag(0x03, 9, 0, 48, 1) + frag(0x01, 9, 6, 30, 1))
put("defrag", "v6_hbh_vlan_overlap", b"\0\0\x80" + frag(0x0f, 9, 0, 48, 1) + frag(0x0f, 9, 4, 48, 1)
    + frag(0x0d, 9, 10, 8, 1))
put("defrag", "v4_opts_cut_eth", b"\0\0\0" + frag(0x36, 3, 0, 200, 0) + frag(0x34, 3, 25, 100, 0))
put("defrag", "tight_limits", b"\x01\x01\x05" + frag(0x02, 1, 0, 64, 0) + frag(0x02, 2, 0, 64, 0)
    + frag(0x02, 3, 0, 600, 3) + b"\x80" + frag(0x00, 3, 75, 8, 9) + frag(0x00, 1, 8, 8, 0))
put("defrag", "oversize", b"\0\0\0" + frag(0x02, 4, 0, 1024, 0) + frag(0x00, 4, 0x1fff, 1000, 0))
many = b"".join(frag(0x02, 5, i * 2, 16, 0) for i in range(130)) + frag(0x00, 5, 260, 8, 0)
put("defrag", "many", b"\0\0\0" + many)

# tcpstream: [limit sel | budget | two streams][budget/256][base seq 4 bytes], then
# segments [flags][seq: 2 bytes from base, or 4 with 0x20][len 2][cut 1].
def seg(flags, rel, length, cut=0):
    return bytes([flags]) + struct.pack(">HHB", rel, length, cut)


SYN, FIN, RST, ACK = 2, 1, 4, 16
base = struct.pack(">I", 0xFFFFFF00)  # wraps during the stream
put("tcpstream", "inorder", b"\x06\0" + base + seg(SYN, 0, 0) + seg(ACK, 1, 100) + seg(ACK, 101, 100)
    + seg(FIN | ACK, 201, 0))
put("tcpstream", "ooo", b"\x06\0" + base + seg(SYN, 0, 0) + seg(ACK, 201, 100) + seg(ACK, 101, 100)
    + seg(ACK, 1, 100) + seg(ACK, 50, 300))
put("tcpstream", "gaps", b"\x05\0" + base + seg(ACK, 0, 10) + seg(ACK, 20, 10, 5)
    + b"".join(seg(ACK, 40 + 30 * i, 10) for i in range(40)) + b"\xff" + seg(ACK, 2000, 10))
put("tcpstream", "small_budget_two", b"\x3b\x04" + base
    + b"".join(seg(ACK, (i * 37) % 900, 40) for i in range(60)) + seg(FIN, 1000, 0))
put("tcpstream", "fin_then_data", b"\x04\0" + base + seg(SYN, 0, 0) + seg(ACK, 1, 10)
    + seg(FIN, 11, 0) + seg(ACK, 12, 10) + seg(RST, 30, 5))
put("tcpstream", "consume", b"\x04\0" + struct.pack(">I", 0) + seg(0x18, 0, 300) + seg(0x18, 400, 100)
    + b"\xfe" + seg(0x18, 300, 100) + b"\xfe" + seg(0x18, 700, 100) + b"\xff" + b"\xfe"
    + seg(0x18, 800, 900) + b"\xfe")
put("tcpstream", "abs_jump", b"\x07\0" + base + seg(ACK, 0, 10) + bytes([0x30])
    + struct.pack(">I", 0x7FFFFFFF) + struct.pack(">HB", 100, 0) + seg(ACK, 10, 10))

# filter: [flags][expression]\n[frames]; frames: [dlt sel][len 2][bytes].
eth_ip_tcp = (bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00"
              + bytes([0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
              + struct.pack(">HHIIBBHHH", 1234, 443, 1, 0, 0x50, 0x02, 1024, 0, 0))
vlan = eth_ip_tcp[:12] + b"\x81\x00\x00\x64" + eth_ip_tcp[12:]
frames = bytes([0]) + struct.pack(">H", len(eth_ip_tcp)) + eth_ip_tcp
frames += bytes([0]) + struct.pack(">H", len(vlan)) + vlan
frames += bytes([6]) + struct.pack(">H", 40) + eth_ip_tcp[14:]  # DLT_RAW (101)
frames += bytes([12]) + struct.pack(">H", 40) + eth_ip_tcp[14:]  # NFLOG (239), not NFLOG data
for i, e in enumerate([
        "tcp port 443 and vlan 100", "not vlan 100 and (port 80 or 443)", "ether host 02:00:00:00:00:01",
        "(tcp[12] & 0xf0) >> 2 > 20 or mpls 0x10", "not (tls or dns) and tcp", "vxlan 7 or geneve",
        "host 10.0.0.1 and not host localhost", "arp host 10.0.0.1 or icmp[0] = 8",
        "((((tcp))))", "not not not ip6", "vlan 4096", "port http or portrange 1-1024",
        "ip proto gre or gre or ip[9] = 47", "dhcp or dhcpv6 or icmpv6 or icmp6"]):
    put("filter", "expr%02d" % i, bytes([0xfc | (i & 3)]) + e.encode() + b"\n" + frames)

# capfile: [reader kind | release], then the file.
def pcap(linktype, recs, magic=0xA1B2C3D4, snap=65535, endian="<"):
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snap, linktype)
    for caplen, wirelen, data in recs:
        out += struct.pack(endian + "IIII", 1, 2, caplen, wirelen) + data
    return out


rec = (len(eth_ip_tcp), len(eth_ip_tcp), eth_ip_tcp)
put("capfile", "pcap_le", b"\x01" + pcap(1, [rec, rec]))
put("capfile", "pcap_be_ns", b"\x02" + pcap(1, [rec], magic=0xA1B23C4D, endian=">"))
put("capfile", "pcap_caplen_gt_wire", b"\x01" + pcap(1, [(54, 20, eth_ip_tcp)]))
put("capfile", "pcap_huge_caplen", b"\x05" + pcap(1, [(0xFFFFFFF0, 60, eth_ip_tcp)]))
put("capfile", "pcap_cut", b"\x01" + pcap(1, [rec])[:-10])
put("capfile", "pcap_bad_dlt", b"\x01" + pcap(147, [rec]))


def block(btype, body):
    body = body + bytes(-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
idb = block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HHB", 9, 1, 9) + bytes(3)
            + struct.pack("<HH", 0, 0))
idb2 = block(1, struct.pack("<HHI", 101, 0, 65535))
epb = block(6, struct.pack("<IIIII", 0, 0, 1, len(eth_ip_tcp), len(eth_ip_tcp)) + eth_ip_tcp)
epb2 = block(6, struct.pack("<IIIII", 1, 0, 1, 40, 40) + eth_ip_tcp[14:])
spb = block(3, struct.pack("<I", len(eth_ip_tcp)) + eth_ip_tcp)
put("capfile", "pcapng_two_ifs", b"\x01" + shb + idb + idb2 + epb + epb2 + spb)
put("capfile", "pcapng_two_sections", b"\x01" + shb + idb + epb + shb + idb2 + epb2)
put("capfile", "pcapng_libpcap", b"\x02" + shb + idb + idb2 + epb + epb2 + spb)
put("capfile", "pcapng_bad_if", b"\x01" + shb + idb + epb2)

# l2l4: [dlt sel][opts][frame]; a few layered frames the captures lack.
put("l2l4", "eth_qinq_mpls", bytes([0, 0]) + eth_ip_tcp[:12] + b"\x88\xa8\x00\x05\x81\x00\x00\x06"
    + b"\x88\x47\x00\x01\x01\x40" + eth_ip_tcp[14:])
put("l2l4", "vxlan_opt_port", bytes([0, 3]) + struct.pack(">H", 9999) + eth_ip_tcp[:14]
    + bytes([0x45, 0, 0, 28 + 8 + 54, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    + struct.pack(">HHHH", 5, 9999, 8 + 8 + 54, 0) + b"\x08\0\0\0\0\0\x07\0" + eth_ip_tcp)

# engine: [flags][flags2][capture]; timestamps at the pcapng limits: interface 0
# has if_tsoffset -2^63 s, interface 1 ns stamps near 2^64; one flow crosses both.
idb_neg = block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HH", 14, 8)
                + struct.pack("<q", -2**63) + struct.pack("<HH", 0, 0))
epb_min = block(6, struct.pack("<IIIII", 0, 0, 1, len(eth_ip_tcp), len(eth_ip_tcp)) + eth_ip_tcp)
epb_max = block(6, struct.pack("<IIIII", 1, 0xFFFFFFFF, 0xFFFFFFFF, len(eth_ip_tcp),
                               len(eth_ip_tcp)) + eth_ip_tcp)
put("engine", "pcapng_ts_limits", b"\x41\x08" + shb + idb_neg + idb + epb_min + epb_max + epb_min)
put("engine", "pcapng_ts_limits_2w", b"\xc3\x80" + shb + idb_neg + idb + epb_max + epb_min)

# dns: [transport: 1 TCP, 0 UDP] then chunks [dir << 15 | length (2 bytes)][bytes].
def dns_chunk(data, down=0):
    return struct.pack(">H", down << 15 | len(data)) + data


dns_q = (struct.pack(">6H", 0x1234, 0x0100, 1, 0, 0, 0) + b"\3www\7example\3com\0"
         + struct.pack(">HH", 1, 1))
dns_r = (struct.pack(">6H", 0x1234, 0x8180, 1, 2, 0, 0) + dns_q[12:]
         + b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 300, 6) + b"\3web\xc0\x10"
         + b"\xc0\x2d" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7]))
put("dns", "udp_pair", b"\0" + dns_chunk(dns_q) + dns_chunk(dns_r, 1))
tcp_stream = struct.pack(">H", len(dns_q)) + dns_q + struct.pack(">H", len(dns_r)) + dns_r
put("dns", "tcp_split", b"\1" + b"".join(dns_chunk(tcp_stream[i:i + 5])
                                         for i in range(0, len(tcp_stream), 5)))
put("dns", "loop", b"\0" + dns_chunk(struct.pack(">6H", 1, 0, 2, 0, 0, 0) + b"\1a\xc0\x10\xc0\x0c"
                                     + struct.pack(">HH", 1, 1)))
put("dns", "long_name", b"\0" + dns_chunk(struct.pack(">6H", 1, 0, 1, 0, 0, 0)
                                          + (b"\1x" * 129) + b"\0" + struct.pack(">HH", 1, 1)))
dns_ans = b"".join(b"\xc0\x0c" + struct.pack(">HHIH", t, 1, 1, len(rd)) + rd for t, rd in (
    (15, b"\0\x0a\2mx\xc0\x10"), (33, b"\0\1\0\2\2\x77\2h\xc0\x10"), (16, b"\3v=1\xff"),
    (28, bytes(16)), (12, b"\xc0\x0c"), (2, b"\2ns\xc0\x10")))
put("dns", "types", b"\0" + dns_chunk(struct.pack(">6H", 0, 0x8400, 1, 6, 0, 0) + dns_q[12:]
                                      + dns_ans))

# tls: [options], then chunks [dir | gap << 1][length: 2][bytes].
def tls_rec(ctype, body, version=0x0301):
    return struct.pack(">BHH", ctype, version, len(body)) + body


def tls_msg(htype, body):
    return struct.pack(">I", htype << 24 | len(body)) + body


def tls_ext(etype, body):
    return struct.pack(">HH", etype, len(body)) + body


def chunk(data, direction=0, gap=False):
    return bytes([direction | (2 if gap else 0)]) + struct.pack(">H", len(data)) + data


sni = b"\x00" + struct.pack(">H", 11) + b"example.com"
ch_exts = (tls_ext(0, struct.pack(">H", len(sni)) + sni)
           + tls_ext(16, b"\x00\x0c\x02h2\x08http/1.1")
           + tls_ext(10, b"\x00\x04\x00\x1d\x00\x17") + tls_ext(11, b"\x01\x00")
           + tls_ext(13, b"\x00\x04\x04\x03\x08\x04") + tls_ext(43, b"\x04\x03\x04\x03\x03"))
ch = (b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x06\x0a\x0a\x13\x01\xc0\x2f" + b"\x01\x00"
      + struct.pack(">H", len(ch_exts)) + ch_exts)
sh = b"\x03\x03" + bytes(32) + b"\x00\xc0\x2f\x00" + b"\x00\x05\xff\x01\x00\x01\x00"
cert = b"\x00\x00\x08\x00\x00\x05\x01\x02\x03\x04\x05"
ch_rec = tls_rec(22, tls_msg(1, ch))
put("tls", "client_hello", b"\x02" + chunk(ch_rec))
put("tls", "client_hello_split", b"\x00" + chunk(ch_rec[:3]) + chunk(ch_rec[3:60])
    + chunk(ch_rec[60:]))
msg = tls_msg(1, ch)
put("tls", "message_two_records", b"\x00" + chunk(tls_rec(22, msg[:40]) + tls_rec(22, msg[40:])))
put("tls", "server_flight", b"\x01" + chunk(ch_rec) + chunk(
    tls_rec(22, tls_msg(2, sh) + tls_msg(11, cert), 0x0303), 1))
put("tls", "ccs_encrypted", b"\x00" + chunk(ch_rec) + chunk(
    tls_rec(22, tls_msg(2, sh), 0x0303) + tls_rec(20, b"\x01", 0x0303)
    + tls_rec(22, b"\xff" * 40, 0x0303) + tls_rec(23, bytes(8), 0x0303), 1))
put("tls", "gap_resync", b"\x00" + chunk(ch_rec[:50]) + chunk(ch_rec[80:100], gap=True)
    + chunk(ch_rec))
put("tls", "huge_length", b"\x00" + chunk(tls_rec(22, b"\x01\xff\xff\xff")) + chunk(ch_rec))


# dhcp, dhcpv6: datagrams [length (2 bytes)][bytes].
def dgram(data):
    return struct.pack(">H", len(data)) + data


def dhcp_msg(op, xid, opts, cookie=b"\x63\x82\x53\x63", yiaddr=b"\0" * 4):
    fixed = (bytes([op, 1, 6, 0]) + struct.pack(">I", xid) + b"\0" * 8 + yiaddr + b"\0" * 8
             + b"\x02\0\0\0\0\x07" + b"\0" * 10 + b"\0" * 192)
    return fixed + cookie + opts


def dopt(code, value):
    return bytes([code, len(value)]) + value


disc = dhcp_msg(1, 42, dopt(53, b"\1") + dopt(12, b"pc1") + dopt(55, b"\1\3\6\x0f")
                + dopt(61, b"\1\2\0\0\0\0\7") + dopt(82, b"\1\2ab") + b"\xff")
offer = dhcp_msg(2, 42, dopt(53, b"\2") + dopt(54, b"\xc0\0\2\1") + dopt(51, b"\0\0\x0e\x10")
                 + dopt(60, b"vendor") + b"\xff", yiaddr=b"\xc0\0\2\x64")
put("dhcp", "exchange", dgram(disc) + dgram(offer))
put("dhcp", "no_cookie_and_cut", dgram(dhcp_msg(1, 1, b"\xff", cookie=b"\0\0\0\0"))
    + dgram(disc[:250]) + dgram(disc[:100]))
over = bytearray(dhcp_msg(1, 7, dopt(52, b"\3") + b"\xff"))
over[108:112] = b"\x35\x01\x08\xff"
over[44:49] = b"\x0c\x02hi\xff"
put("dhcp", "overload", dgram(bytes(over)))


def v6opt(code, value):
    return struct.pack(">HH", code, len(value)) + value


ia_addr = v6opt(5, b"\x20\x01\x0d\xb8" + b"\0" * 11 + b"\5" + b"\0" * 8)
ia_pref = v6opt(26, b"\0" * 8 + b"\x38" + b"\x20\x01\x0d\xb8" + b"\0" * 12)
solicit = (b"\x01\x12\x34\x56" + v6opt(1, b"\0\3\0\1\2\0\0\0\0\1") + v6opt(6, b"\0\x17\0\x18")
           + v6opt(3, b"\0\0\0\1" + b"\0" * 8 + ia_addr) + v6opt(39, b"\1\4host\7example\0"))
reply = (b"\x07\x12\x34\x56" + v6opt(2, b"\0\1\0\1\x11\x22\x33\x44\2\0\0\0\0\2")
         + v6opt(25, b"\0\0\0\2" + b"\0" * 8 + ia_pref) + v6opt(4, b"\0\0\0\3" + ia_addr))


def relayed(msg, depth):
    for _ in range(depth):
        msg = b"\x0c\0" + b"\0" * 32 + v6opt(18, b"eth0") + v6opt(9, msg)
    return msg


put("dhcpv6", "exchange", dgram(solicit) + dgram(reply))
put("dhcpv6", "relays", dgram(relayed(solicit, 1)) + dgram(relayed(reply, 9))
    + dgram(solicit[:40]))
