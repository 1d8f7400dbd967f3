#!/usr/bin/env python3
"""Write data/made__tls_port8443.pcap: wa1kpcap__single.pcap (one TLS 1.2
session to port 443) with port 443 rewritten to 8443 in every TCP header,
so that only the payload can tell it is TLS. Checksums are left as they
were (the engine does not verify them).

usage: make_port_capture.py SRC.pcap DST.pcap
"""
import struct
import sys


def main():
    src, dst = sys.argv[1], sys.argv[2]
    data = bytearray(open(src, "rb").read())
    magic = struct.unpack_from("<I", data, 0)[0]
    assert magic == 0xA1B2C3D4, "little-endian microsecond pcap expected"
    assert struct.unpack_from("<I", data, 20)[0] == 1, "Ethernet expected"
    off, n = 24, 0
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        frame = off + 16
        l3, ethertype = frame + 14, struct.unpack_from(">H", data, frame + 12)[0]
        if ethertype == 0x8100:  # one 802.1Q tag
            l3, ethertype = l3 + 4, struct.unpack_from(">H", data, frame + 16)[0]
        if ethertype == 0x0800 and data[l3 + 9] == 6:
            l4 = l3 + (data[l3] & 15) * 4
            for k in (0, 2):
                if struct.unpack_from(">H", data, l4 + k)[0] == 443:
                    struct.pack_into(">H", data, l4 + k, 8443)
                    n += 1
        off = frame + caplen
    open(dst, "wb").write(data)
    print(f"{dst}: {n} ports rewritten")


if __name__ == "__main__":
    main()
