#!/usr/bin/env python3
"""Write the captures of the shipped user protocols (protocols/*.yaml) that the
public corpus lacks: made__syslog.pcap, made__modbus.pcap, made__mqtt.pcap,
made__snmp.pcap (Ethernet, microsecond pcap, little-endian).

    python3 tests/data/src/gen_protocols.py     (writes into tests/data)

Packets are built field by field with real IPv4, UDP and TCP checksums; the
messages follow the protocols' specifications (cited at each builder) and are
checked by tshark (tests/data/expected/protocols/make_expected.py). Addresses are
documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)
T0 = 1700000000  # 2023-11-14 22:13:20 UTC


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ipv4(src, dst, proto, payload, ident):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0,
                    ip4(src), ip4(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def l4sum(src, dst, proto, seg):
    return csum(ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def udp(src, sport, dst, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = l4sum(src, dst, 17, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def tcp(src, sport, dst, dport, seq, ack, flags, data):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    c = l4sum(src, dst, 6, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


MAC = {}


def mac(addr):
    return MAC.setdefault(addr, bytes([0x02, 0, 0, 0, 0, len(MAC) + 1]))


def frame(src, dst, ip_payload_proto, l4, ident):
    return mac(dst) + mac(src) + b"\x08\x00" + ipv4(src, dst, ip_payload_proto, l4, ident)


class Pcap:
    def __init__(self, name):
        self.name, self.recs, self.t = name, [], 0
        self.ident = 0x100

    def add(self, pkt):
        self.t += 1
        self.recs.append(struct.pack("<IIII", T0, self.t * 1000, len(pkt), len(pkt)) + pkt)

    def udp(self, src, sport, dst, dport, data):
        self.ident += 1
        self.add(frame(src, dst, 17, udp(src, sport, dst, dport, data), self.ident))

    def write(self):
        with open(os.path.join(OUT, self.name), "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for r in self.recs:
                f.write(r)


class Tcp:
    """One TCP connection: handshake, then data segments, then FIN/ACK."""
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01

    def __init__(self, cap, cli, cport, srv, sport, isn_c, isn_s):
        self.cap, self.a, self.b = cap, (cli, cport), (srv, sport)
        self.seq = {0: isn_c, 1: isn_s}
        self.seg(0, self.SYN, b"")
        self.seq[0] += 1
        self.seg(1, self.SYN | self.ACK, b"")
        self.seq[1] += 1
        self.seg(0, self.ACK, b"")

    def seg(self, d, flags, data):
        (s, sp), (t, tp) = (self.a, self.b) if d == 0 else (self.b, self.a)
        ack = self.seq[1 - d] if flags & self.ACK else 0
        self.cap.ident += 1
        self.cap.add(frame(s, t, 6, tcp(s, sp, t, tp, self.seq[d], ack, flags, data),
                           self.cap.ident))
        self.seq[d] += len(data)

    def send(self, d, data):
        self.seg(d, self.PSH | self.ACK, data)
        self.seg(1 - d, self.ACK, b"")

    def close(self):
        self.seg(0, self.FIN | self.ACK, b"")
        self.seq[0] += 1
        self.seg(1, self.FIN | self.ACK, b"")
        self.seq[1] += 1
        self.seg(0, self.ACK, b"")


def syslog():
    """RFC 3164 4.3.1 and RFC 5424 6.5 examples, PRI of 1, 2 and 3 digits."""
    c = Pcap("made__syslog.pcap")
    c.udp("192.0.2.5", 40001, "198.51.100.1", 514,
          b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    c.udp("192.0.2.6", 40002, "198.51.100.1", 514,
          b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
          b"%% It's time to make the do-nuts.")
    c.udp("192.0.2.7", 40003, "198.51.100.1", 514, b"<6>kernel: eth0: link up")
    # same flow as the first: flow fields keep the first message's values
    c.udp("192.0.2.5", 40001, "198.51.100.1", 514, b"<38>Oct 11 22:14:16 mymachine sshd[77]: ok")
    c.write()


def mbap(tid, unit, pdu):
    """Modbus/TCP ADU: MBAP (transaction, protocol 0, length, unit) + PDU."""
    return struct.pack("!HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def modbus():
    c = Pcap("made__modbus.pcap")
    t = Tcp(c, "192.0.2.20", 50200, "198.51.100.10", 502, 1000, 5000)
    t.send(0, mbap(1, 17, struct.pack("!BHH", 3, 0x006B, 3)))  # read holding registers
    t.send(1, mbap(1, 17, struct.pack("!BB3H", 3, 6, 0x022B, 0x0000, 0x0064)))
    t.send(0, mbap(2, 17, struct.pack("!BHH", 6, 0x0001, 0x0003)))  # write single register
    t.send(1, mbap(2, 17, struct.pack("!BHH", 6, 0x0001, 0x0003)))
    t.close()
    t = Tcp(c, "192.0.2.21", 50201, "198.51.100.10", 502, 2000, 6000)
    t.send(0, mbap(7, 1, struct.pack("!BHH", 1, 0xFFF0, 16)))  # read coils past the end
    t.send(1, mbap(7, 1, struct.pack("!BB", 0x81, 2)))  # exception: illegal data address
    t.close()
    c.write()


def mqtt_str(s):
    return struct.pack("!H", len(s)) + s


def mqtt_pkt(first, body):
    """Fixed header (type and flags, Remaining Length as a varint) + body."""
    n, rl = len(body), b""
    while True:
        b, n = n & 0x7F, n >> 7
        rl += bytes([b | (0x80 if n else 0)])
        if not n:
            break
    return bytes([first]) + rl + body


def mqtt():
    c = Pcap("made__mqtt.pcap")
    t = Tcp(c, "192.0.2.32", 51000, "198.51.100.30", 1883, 111, 999)
    # CONNECT, MQTT 3.1.1: clean session, keep alive 60
    t.send(0, mqtt_pkt(0x10, mqtt_str(b"MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60)
                       + mqtt_str(b"wkp-sensor-1")))
    t.send(1, mqtt_pkt(0x20, bytes([0, 0])))  # CONNACK accepted
    # PUBLISH QoS 1, packet id 10
    t.send(0, mqtt_pkt(0x32, mqtt_str(b"sensors/t1") + struct.pack("!H", 10) + b"21.5"))
    t.send(1, mqtt_pkt(0x40, struct.pack("!H", 10)))  # PUBACK
    t.send(0, mqtt_pkt(0xE0, b""))  # DISCONNECT
    t.close()
    # A client that opens with a retained QoS 0 PUBLISH of 200 bytes: a two-byte Remaining
    # Length (the schema reads its first byte only)
    t = Tcp(c, "192.0.2.33", 51001, "198.51.100.30", 1883, 333, 777)
    t.send(0, mqtt_pkt(0x31, mqtt_str(b"logs/big") + b"x" * 190))
    t.close()
    # MQTT 3.1 (protocol name MQIsdp, level 3) with username and password
    t = Tcp(c, "192.0.2.34", 51002, "198.51.100.30", 1883, 555, 888)
    t.send(0, mqtt_pkt(0x10, mqtt_str(b"MQIsdp") + bytes([3, 0xC2]) + struct.pack("!H", 30)
                       + mqtt_str(b"legacy") + mqtt_str(b"user") + mqtt_str(b"pw")))
    t.send(1, mqtt_pkt(0x20, bytes([0, 0])))
    t.close()
    c.write()


def ber(tag, content):
    n = len(content)
    if n < 128:
        ln = bytes([n])
    elif n < 256:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82]) + struct.pack("!H", n)
    return bytes([tag]) + ln + content


def ber_int(v):
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True)
    return ber(0x02, b)


def ber_oid(oid):
    p = [int(x) for x in oid.split(".")]
    out = bytes([40 * p[0] + p[1]])
    for x in p[2:]:
        enc = [x & 0x7F]
        x >>= 7
        while x:
            enc.append(0x80 | (x & 0x7F))
            x >>= 7
        out += bytes(reversed(enc))
    return ber(0x06, out)


def snmp_msg(version, community, pdu_tag, reqid, binds):
    vb = b"".join(ber(0x30, ber_oid(o) + v) for o, v in binds)
    pdu = ber(pdu_tag, ber_int(reqid) + ber_int(0) + ber_int(0) + ber(0x30, vb))
    return ber(0x30, ber_int(version) + ber(0x04, community) + pdu)


def snmp():
    """RFC 1157 / RFC 3416 messages, BER by hand (X.690)."""
    c = Pcap("made__snmp.pcap")
    sysdescr = "1.3.6.1.2.1.1.1.0"
    null = b"\x05\x00"
    # v2c GetRequest (short length form), then the Response with a long sysDescr (0x81 form)
    c.udp("192.0.2.40", 50000, "198.51.100.40", 161, snmp_msg(1, b"public", 0xA0, 4242, [(sysdescr, null)]))
    descr = b"Linux gateway 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) x86_64 " \
            b"GNU/Linux; rack 4, building B"
    c.udp("198.51.100.40", 161, "192.0.2.40", 50000,
          snmp_msg(1, b"public", 0xA2, 4242, [(sysdescr, ber(0x04, descr))]))
    # v1 GetNextRequest whose message opens with the 0x81 form (a long community-free body)
    binds = [("1.3.6.1.2.1.2.2.1.%d.%d" % (col, i), null) for col in (2, 10) for i in range(1, 7)]
    c.udp("192.0.2.41", 50001, "198.51.100.40", 161, snmp_msg(0, b"private", 0xA1, 7, binds))
    # v2c SNMPv2-Trap to 162 (sysUpTime.0, snmpTrapOID.0 = linkDown)
    c.udp("198.51.100.40", 40000, "203.0.113.9", 162,
          snmp_msg(1, b"traps", 0xA7, 99, [("1.3.6.1.2.1.1.3.0", ber(0x43, b"\x01\x00")),
                                          ("1.3.6.1.6.3.1.1.4.1.0", ber_oid("1.3.6.1.6.3.1.1.5.3"))]))
    # v2c GetBulkRequest of 30 columns: a body over 255 bytes (the 0x82 form)
    binds = [("1.3.6.1.2.1.31.1.1.1.%d" % col, null) for col in range(1, 31)]
    c.udp("192.0.2.45", 50005, "198.51.100.40", 161, snmp_msg(1, b"public", 0xA5, 31337, binds))
    c.write()


if __name__ == "__main__":
    syslog()
    modbus()
    mqtt()
    snmp()
