#!/usr/bin/env python3
"""Write app_protocols.pcap: one short conversation per protocol the shipped
signatures name (protocols/signatures.yaml), as the RFCs' examples open them,
on the protocols' own ports (so tshark names them) and some again on other
ports. Deterministic: the same bytes every run.

    python3 tests/e2e/signatures/make_capture.py tests/e2e/signatures/app_protocols.pcap
"""
import struct
import sys

T0 = 1700000000


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, l4):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0,
                      bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return b"\0" * 12 + b"\x08\x00" + hdr + l4


def tcp(src, dst, sp, dp, seq, ack, flags, data=b""):
    h = struct.pack("!HHIIBBHHH", sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags,
                    65535, 0, 0)
    pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 6, len(h) + len(data))
    c = csum(pseudo + h + data)
    h = h[:16] + struct.pack("!H", c) + h[18:]
    return ipv4(src, dst, 6, h + data)


def udp(src, dst, sp, dp, data):
    h = struct.pack("!HHHH", sp, dp, 8 + len(data), 0)
    return ipv4(src, dst, 17, h + data)


class Cap:
    def __init__(self):
        self.recs = []
        self.t = 0

    def add(self, frame):
        self.t += 1000
        self.recs.append((T0 + self.t // 1000000, self.t % 1000000, frame))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for s, us, fr in self.recs:
                f.write(struct.pack("<IIII", s, us, len(fr), len(fr)) + fr)


SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


def conversation(cap, n, sport, dport, turns, split_first=0, swap_first=False):
    """A TCP connection from 10.1.n.1:sport to 10.1.n.2:dport: handshake,
    turns [(dir, bytes)] (dir 0 client, 1 server), FINs. split_first > 0:
    the first turn goes in pieces of that size; swap_first: its first two
    pieces in reverse order."""
    c, s = [10, 1, n, 1], [10, 1, n, 2]
    seq = [1000 * n, 500000 + 1000 * n]
    cap.add(tcp(c, s, sport, dport, seq[0], 0, SYN))
    cap.add(tcp(s, c, dport, sport, seq[1], seq[0] + 1, SYN | ACK))
    seq = [seq[0] + 1, seq[1] + 1]
    cap.add(tcp(c, s, sport, dport, seq[0], seq[1], ACK))
    ends = [(c, s, sport, dport), (s, c, dport, sport)]
    for i, (d, data) in enumerate(turns):
        a, b, sp, dp = ends[d]
        if i == 0 and split_first:
            pieces = []
            off = 0
            while off < len(data):
                pieces.append((seq[d] + off, data[off:off + split_first]))
                off += split_first
            if swap_first and len(pieces) > 1:
                pieces[0], pieces[1] = pieces[1], pieces[0]
            for sq, pc in pieces:
                cap.add(tcp(a, b, sp, dp, sq, seq[1 - d], PSH | ACK, pc))
        else:
            cap.add(tcp(a, b, sp, dp, seq[d], seq[1 - d], PSH | ACK, data))
        seq[d] += len(data)
        cap.add(tcp(b, a, dp, sp, seq[1 - d], seq[d], ACK))
    cap.add(tcp(c, s, sport, dport, seq[0], seq[1], FIN | ACK))
    cap.add(tcp(s, c, dport, sport, seq[1], seq[0] + 1, FIN | ACK))
    cap.add(tcp(c, s, sport, dport, seq[0] + 1, seq[1] + 1, ACK))


SSH = [(1, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), (0, b"SSH-2.0-OpenSSH_9.6\r\n")]
SMTP = [(1, b"220 mail.example.org ESMTP Postfix\r\n"), (0, b"EHLO client.example.org\r\n"),
        (1, b"250-mail.example.org\r\n250 PIPELINING\r\n"), (0, b"QUIT\r\n"),
        (1, b"221 2.0.0 Bye\r\n")]
FTP = [(1, b"220 (vsFTPd 3.0.3)\r\n"), (0, b"USER anonymous\r\n"),
       (1, b"331 Please specify the password.\r\n"), (0, b"PASS guest\r\n"),
       (1, b"230 Login successful.\r\n"), (0, b"QUIT\r\n"), (1, b"221 Goodbye.\r\n")]
POP3 = [(1, b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"), (0, b"CAPA\r\n"),
        (1, b"+OK\r\nUSER\r\n.\r\n"), (0, b"QUIT\r\n"), (1, b"+OK bye\r\n")]
IMAP = [(1, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] IMAP4rev1 Service Ready\r\n"),
        (0, b"a001 CAPABILITY\r\n"),
        (1, b"* CAPABILITY IMAP4rev1 STARTTLS\r\na001 OK CAPABILITY completed\r\n"),
        (0, b"a002 LOGOUT\r\n"), (1, b"* BYE\r\na002 OK LOGOUT completed\r\n")]
RTSP = [(0, b"OPTIONS rtsp://10.0.0.2:554/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
        (1, b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE, SETUP, PLAY\r\n\r\n"),
        (0, b"DESCRIBE rtsp://10.0.0.2:554/stream RTSP/1.0\r\nCSeq: 2\r\n\r\n"),
        (1, b"RTSP/1.0 404 Not Found\r\nCSeq: 2\r\n\r\n")]
BT = [(0, b"\x13BitTorrent protocol" + b"\0" * 8 + bytes(range(20)) + b"-qB4630-abcdefghijkl"),
      (1, b"\x13BitTorrent protocol" + b"\0" * 8 + bytes(range(20)) + b"-TR3000-mnopqrstuvwx")]
HTTP = [(0, b"GET /index.html HTTP/1.1\r\nHost: example.org\r\nUser-Agent: t\r\n\r\n"),
        (1, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")]
TLS_CH = bytes.fromhex(
    "160301004a" "01000046" "0303" + "11" * 32 + "00" "0004" "c02f" "00ff" "0100" "0019"
    "0000" "0015" "0013" "0000" "10" "6578616d706c652e6578616d706c65")
TLS = [(0, TLS_CH),
       (1, bytes.fromhex("1603030031" "0200002d" "0303" + "22" * 32 + "00" "c02f" "00" "0005"
                         "ff01000100"))]
SIP_INVITE = (b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
              b"Via: SIP/2.0/UDP 10.1.20.1:5060;branch=z9hG4bK776asdhds\r\n"
              b"Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n"
              b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
              b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: 314159 INVITE\r\n"
              b"Contact: <sip:alice@10.1.20.1>\r\nContent-Length: 0\r\n\r\n")
SIP_100 = (b"SIP/2.0 100 Trying\r\n"
           b"Via: SIP/2.0/UDP 10.1.20.1:5060;branch=z9hG4bK776asdhds\r\n"
           b"To: Bob <sip:bob@biloxi.example.com>\r\n"
           b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
           b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: 314159 INVITE\r\n"
           b"Content-Length: 0\r\n\r\n")
DHT_PING = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"
DHT_PONG = b"d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re"


def main(path):
    cap = Cap()
    n = 1
    # the protocols' own ports
    for port, turns, split, swap in [(22, SSH, 0, False), (25, SMTP, 0, False),
                                     (21, FTP, 0, False), (110, POP3, 0, False),
                                     (143, IMAP, 0, False), (554, RTSP, 0, False),
                                     (6881, BT, 0, False), (80, HTTP, 7, True),
                                     (443, TLS, 0, False)]:
        conversation(cap, n, 40000 + n, port, turns, split, swap)
        n += 1
    c, s = [10, 1, 20, 1], [10, 1, 20, 2]
    cap.add(udp(c, s, 5060, 5060, SIP_INVITE))
    cap.add(udp(s, c, 5060, 5060, SIP_100))
    c, s = [10, 1, 21, 1], [10, 1, 21, 2]
    cap.add(udp(c, s, 51413, 6881, DHT_PING))
    cap.add(udp(s, c, 6881, 51413, DHT_PONG))
    # the same protocols on other ports: only the signatures can tell
    n = 30
    for port, turns, split in [(2222, SSH, 3), (2525, SMTP, 0), (2121, FTP, 0),
                               (1110, POP3, 0), (1143, IMAP, 0), (8554, RTSP, 0),
                               (51413, BT, 0), (8081, HTTP, 0), (8443, TLS, 5)]:
        conversation(cap, n, 40000 + n, port, turns, split)
        n += 1
    c, s = [10, 1, 60, 1], [10, 1, 60, 2]
    cap.add(udp(c, s, 5999, 15060, SIP_INVITE))
    cap.add(udp(s, c, 15060, 5999, SIP_100))
    cap.write(path)


if __name__ == "__main__":
    main(sys.argv[1])
