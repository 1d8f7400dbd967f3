#!/usr/bin/env python3
"""The example plugin end to end: `wa1kpcap analyze --plugin libwkp_entropy.so` must give
each flow a custom.payload_entropy value equal to an independent computation here: this
script parses the capture itself (Ethernet, 802.1Q, IPv4/IPv6, TCP/UDP; stdlib only),
takes each packet's transport payload bytes (within the IP length, padding excluded),
computes its Shannon entropy in bits per byte, H = -sum p_i log2 p_i, and averages over
the packets that carry payload. Also checks CSV and NDJSON carry the same value.

Usage: plugin_check.py WA1KPCAP PLUGIN.so CAPTURE   (last line: N passed, N failed)
"""
import json, math, struct, subprocess, sys


def packets(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic == 0xA1B2C3D4, "test captures are little-endian µs pcap"
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack("<IIII", data[off:off + 16])
        yield data[off + 16:off + 16 + caplen]
        off += 16 + caplen


def payload_of(frame):
    """(canonical key, payload bytes) of an Ethernet frame, or None."""
    et, p = struct.unpack(">H", frame[12:14])[0], 14
    while et in (0x8100, 0x88A8):
        et, p = struct.unpack(">H", frame[p + 2:p + 4])[0], p + 4
    if et == 0x0800:
        ihl = (frame[p] & 15) * 4
        total = struct.unpack(">H", frame[p + 2:p + 4])[0]
        proto, src, dst = frame[p + 9], frame[p + 12:p + 16], frame[p + 16:p + 20]
        if struct.unpack(">H", frame[p + 6:p + 8])[0] & 0x1FFF:
            return None  # a non-first fragment
        l4, end = p + ihl, min(len(frame), p + total)
    elif et == 0x86DD:
        plen = struct.unpack(">H", frame[p + 4:p + 6])[0]
        proto, src, dst = frame[p + 6], frame[p + 8:p + 24], frame[p + 24:p + 40]
        l4, end = p + 40, min(len(frame), p + 40 + plen)
    else:
        return None
    if proto == 6:
        hl = (frame[l4 + 12] >> 4) * 4
        start = l4 + hl
    elif proto == 17:
        start = l4 + 8
    else:
        return None
    sp, dp = struct.unpack(">HH", frame[l4:l4 + 4])
    a, b = (src, sp), (dst, dp)
    return (min(a, b), max(a, b), proto), frame[start:end] if end > start else b""


def entropy(b):
    n = len(b)
    counts = {}
    for x in b:
        counts[x] = counts.get(x, 0) + 1
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def main(binary, plugin, cap):
    expect = {}
    for frame in packets(cap):
        r = payload_of(frame)
        if not r or not r[1]:
            continue
        s = expect.setdefault(r[0], [0.0, 0])
        s[0] += entropy(r[1])
        s[1] += 1
    out = subprocess.run([binary, "analyze", cap, "-f", "ndjson", "-q", "--keep-retrans",
                          "--tcp-timeout", "0", "--tcp-close-timeout", "0", "--plugin", plugin],
                         capture_output=True, text=True, check=True).stdout
    passed = failed = 0
    import ipaddress
    for line in out.splitlines():
        f = json.loads(line)
        a = (ipaddress.ip_address(f["src_ip"]).packed, f["src_port"])
        b = (ipaddress.ip_address(f["dst_ip"]).packed, f["dst_port"])
        proto = {"TCP": 6, "UDP": 17}.get(f["protocol"])
        want = expect.get((min(a, b), max(a, b), proto), [0.0, 0])
        v = f.get("custom.payload_entropy")
        ok = v is not None and v["packets"] == want[1]
        if ok and want[1]:
            ok = abs(v["mean"] - want[0] / want[1]) <= 1e-12
        elif ok:
            ok = v["mean"] is None
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {f['key']}: plugin {v}, expected {want}")
    # the CSV carries the same value as one JSON cell
    csv = subprocess.run([binary, "analyze", cap, "-f", "csv", "-q", "--plugin", plugin,
                          "--columns", "flow_id,custom.payload_entropy"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    if csv[0] == "flow_id,custom.payload_entropy" and len(csv) > 1:
        passed += 1
    else:
        failed += 1
        print("FAIL csv header:", csv[0])
    # the summary names the plugin's feature among the options in force
    summary = subprocess.run([binary, "analyze", cap, "-f", "none", "-q", "--plugin", plugin,
                              "--summary", "-"], capture_output=True, text=True, check=True)
    feats = json.loads(summary.stdout)["options"].get("custom_features")
    if feats == ["payload_entropy"]:
        passed += 1
    else:
        failed += 1
        print("FAIL summary custom_features:", feats)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed < 3 else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
