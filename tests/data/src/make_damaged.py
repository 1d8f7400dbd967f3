#!/usr/bin/env python3
"""Write the hand-damaged captures and the pcapng with an undecoded interface
(tests/data/MANIFEST.md, "Damaged captures").

    python3 src/make_damaged.py DATA_DIR      (run by make_captures.sh)

Every damaged capture is a corpus capture of DATA_DIR with bytes overwritten,
a record header given a huge caplen, or a piece cut out. The generator walks
the original's records itself, so it knows where the damage starts, where the
next whole record starts after it (where a resync must resume) and how many
records lie before and after: it writes those to src/damaged.json, which the
tests read (tests/e2e/damaged_check.py) and expected/resync_truth.py uses to
cut the undamaged parts out for tshark.
"""
import json, os, struct, sys


def pcap_records(d):
    """[(offset, total length)] of the records of a little-endian µs pcap."""
    assert d[:4] == b"\xd4\xc3\xb2\xa1", "little-endian microsecond pcap expected"
    out, off = [], 24
    while off + 16 <= len(d):
        cl = struct.unpack_from("<I", d, off + 8)[0]
        out.append((off, 16 + cl))
        off += 16 + cl
    assert off == len(d)
    return out


def ng_blocks(d):
    """[(offset, type, length)] of a little-endian pcapng."""
    out, off = [], 0
    while off < len(d):
        t, ln = struct.unpack_from("<II", d, off)
        out.append((off, t, ln))
        off += ln
    assert off == len(d)
    return out


def huge_caplen(data, meta):
    """smtp-to-comma's damage: after 18 good records, a record header whose
    caplen reads 3,925,868,813. Its own bytes stay in place, so the next whole
    record (resync) starts where the original's record 20 does."""
    src = "wa1kpcap__single.pcap"
    d = bytearray(open(os.path.join(data, src), "rb").read())
    recs = pcap_records(d)
    bad = recs[18][0]
    struct.pack_into("<I", d, bad + 8, 3925868813)
    name = "made__damaged_huge_caplen.pcap"
    open(os.path.join(data, name), "wb").write(d)
    meta[name] = {"from": src, "format": "pcap", "damage_at": bad, "resume_at": recs[19][0],
                  "before": 18, "after": len(recs) - 19, "header_bytes": 24}


def overwritten(data, meta):
    """1000 bytes from the start of record 2001 of multi.pcap overwritten
    with the repeated pattern de ad be ef: the records it touches are lost;
    reading resumes at the first record that starts after the overwrite."""
    src = "wa1kpcap__multi.pcap"
    d = bytearray(open(os.path.join(data, src), "rb").read())
    recs = pcap_records(d)
    start = recs[2000][0]
    end = start + 1000
    d[start:end] = (b"\xde\xad\xbe\xef" * 250)
    first_after = next(i for i, (o, _) in enumerate(recs) if o >= end)
    name = "made__damaged_overwritten.pcap"
    open(os.path.join(data, name), "wb").write(d)
    meta[name] = {"from": src, "format": "pcap", "damage_at": start,
                  "resume_at": recs[first_after][0], "before": 2000,
                  "after": len(recs) - first_after, "header_bytes": 24}


def cut_out(data, meta):
    """From 20 bytes into the 8th enhanced packet block of
    http_starting_with_reply.pcapng to 30 bytes into the 11th, cut out: the
    8th block's length now points at bytes of the 11th, whose trailer
    disagrees. The next whole block is the 12th packet block's."""
    src = "nDPI__http_starting_with_reply.pcapng"
    d = open(os.path.join(data, src), "rb").read()
    blocks = ng_blocks(d)
    epbs = [b for b in blocks if b[1] == 6]
    a = epbs[7][0] + 20
    b = epbs[10][0] + 30
    out = d[:a] + d[b:]
    cut = b - a
    nxt = next(o for o, t, ln in blocks if o >= b)  # first block starting after the cut
    after = sum(1 for o, t, ln in blocks if t == 6 and o >= nxt)
    name = "made__damaged_cut.pcapng"
    open(os.path.join(data, name), "wb").write(out)
    meta[name] = {"from": src, "format": "pcapng", "damage_at": epbs[7][0],
                  "resume_at": nxt - cut, "before": 7, "after": after,
                  "header_bytes": epbs[0][0]}  # SHB + IDB(s) before the first packet


def blk(t, body):
    body += b"\0" * ((4 - len(body) % 4) % 4)
    n = 12 + len(body)
    return struct.pack("<II", t, n) + body + struct.pack("<I", n)


def epb(ifid, ts_us, frame):
    return blk(6, struct.pack("<IIIII", ifid, ts_us >> 32, ts_us & 0xFFFFFFFF, len(frame),
                              len(frame)) + frame)


def pcap_frames(path):
    d = open(path, "rb").read()
    out = []
    for off, ln in pcap_records(d):
        s, us, cl = struct.unpack_from("<III", d, off)
        out.append((s * 1000000 + us, d[off + 16:off + 16 + cl]))
    return out


def linktype_274(data, meta):
    """SHB; IDB 0 Ethernet (1); IDB 1 ETHERNET_MPACKET (274); the 14 frames
    of zeek__get.pcap on interface 0, each followed after 1 µs by an mPacket
    on interface 1 (preamble 55 x 7, SMD-E d5, the 2 frames of
    tcpdump__dns_udp.pcap in turn, a zero mCRC) for the first 4 of them.
    tshark reads 18 packets: the 14 on interface 0 decode as eth:ip:tcp, the
    4 on interface 1 as fpp:data (no IP)."""
    get = pcap_frames(os.path.join(data, "zeek__get.pcap"))
    dns = pcap_frames(os.path.join(data, "tcpdump__dns_udp.pcap"))
    out = blk(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += blk(1, struct.pack("<HHI", 1, 0, 0))
    out += blk(1, struct.pack("<HHI", 274, 0, 0))
    for i, (ts, fr) in enumerate(get):
        out += epb(0, ts, fr)
        if i < 4:
            out += epb(1, ts + 1, b"\x55" * 7 + b"\xd5" + dns[i % 2][1] + b"\0" * 4)
    name = "made__ng_linktype274.pcapng"
    open(os.path.join(data, name), "wb").write(out)
    meta[name] = {"interface0_packets": len(get), "unsupported_link": 4}


def main(data):
    meta = {}
    huge_caplen(data, meta)
    overwritten(data, meta)
    cut_out(data, meta)
    linktype_274(data, meta)
    with open(os.path.join(data, "src", "damaged.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
