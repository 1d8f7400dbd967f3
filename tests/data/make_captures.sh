#!/bin/sh
# Regenerate tests/data/made__*.pcap from the hand-checkable hex dumps in tests/data/src/.
#
#   sh tests/data/make_captures.sh          (needs text2pcap from Wireshark 4.0; tshark to check)
#
# The .txt dumps were written by src/gen_hex.py (packets built field by field with real
# checksums); rerun `python3 src/gen_hex.py` only to change them. text2pcap cannot write every
# link type number as such (it maps -l 50 to 9 and -l 14 to 101 through its own encapsulation
# table), so those headers are patched afterwards: bytes 20..23 of the pcap global header hold
# the link type, little-endian since text2pcap writes host order (checked below).
# made__cut_mid_record.pcap is zeek__get.pcap cut inside its 5th record's data.
set -eu
cd "$(dirname "$0")"
export TZ=UTC

mk() { # mk NAME DLT [PATCH_DLT]
  text2pcap -q -F pcap -t "%Y-%m-%d %H:%M:%S.%f" -l "$2" "src/$1.txt" "$1.pcap"
  if [ $# -ge 3 ]; then
    [ "$(od -An -tx1 -N4 "$1.pcap" | tr -d ' \n')" = d4c3b2a1 ] || { echo "$1: not a LE pcap" >&2; exit 1; }
    printf '%b' "\\0$(printf '%03o' "$3")\\0000\\0000\\0000" | dd of="$1.pcap" bs=1 seek=20 conv=notrunc 2>/dev/null
  fi
}

mk made__ppp_serial 9 50      # DLT 50 PPP_SERIAL (text2pcap writes 9)
mk made__chdlc 104            # DLT 104 Cisco HDLC
mk made__raw_dlt14 101 14     # DLT 14 raw IP (OpenBSD DLT_RAW; text2pcap writes 101)
mk made__loop 108             # DLT 108 LOOP, AF in network order
mk made__pppoe 1              # Ethernet
mk made__qinq_88a8 1
mk made__vlan_9100 1
mk made__ipip 1
mk made__6in4 1
mk made__geneve 1
mk made__gre_teb 1
mk made__mpls_ipv6 1
mk made__erspan2 1
mk made__erspan3 1
mk made__mpls_pw 1            # tshark: -d mpls.label==300,pwethcw if its heuristic does not apply
mk made__user0 147            # DLT 147 USER0: unknown to wa1kpcap (malformed tests)

# A capture interrupted inside a record: zeek__get.pcap (24-byte header, 14 records) cut at
# byte 1000, which lies inside record 6's data: records 1-5 occupy bytes 24..590 (16-byte
# record headers + 78, 74, 66, 202, 66 data bytes), record 6's header is 590..606 and its
# 1514 data bytes 606..2120. tshark reads 5 packets and reports the cut.
head -c 1000 zeek__get.pcap > made__cut_mid_record.pcap

# Check: every made capture decodes in tshark with no malformed/expert-error frames.
if command -v tshark >/dev/null 2>&1; then
  for f in made__*.pcap; do
    bad=$(tshark -n -r "$f" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
    [ "$bad" -eq 0 ] || { echo "$f: $bad malformed frames in tshark" >&2; exit 1; }
  done
fi

# Damaged captures and a pcapng with an interface of link type 274 (MANIFEST.md, "Damaged
# captures"): written by src/make_damaged.py, which also writes src/damaged.json (where each
# damage starts and where the next whole record does, computed from the original's records).
python3 src/make_damaged.py .

# made__vxlan_8472.pcap: tcpdump__vxlan.pcap with UDP port 4789 rewritten to 8472 (the Linux
# kernel's VXLAN default) and the UDP checksum cleared; tshark decodes it with
# `-d udp.port==8472,vxlan`. Exercises --vxlan-port.
python3 - . <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1] + '/tcpdump__vxlan.pcap', 'rb').read())
off = 24
while off + 16 <= len(d):
    cl = struct.unpack('<I', d[off + 8:off + 12])[0]; p = off + 16
    f = d[p:p + cl]
    if f[12:14] == b'\x08\x00' and f[14 + 9] == 17:
        u = 14 + (f[14] & 15) * 4
        for k in (0, 2):
            if struct.unpack('>H', f[u + k:u + k + 2])[0] == 4789:
                d[p + u + k:p + u + k + 2] = struct.pack('>H', 8472)
        d[p + u + 6:p + u + 8] = b'\x00\x00'
    off = p + cl
open(sys.argv[1] + '/made__vxlan_8472.pcap', 'wb').write(d)
PY

# made__gre_frag.pcap, made__vxlan_frag.pcap (tunnels inside fragmented outer IPv4) and
# made__ng_neg_tsoffset.pcapng, made__ng_huge_ts.pcapng (timestamps before the epoch and past
# int64): written byte by byte with python struct (see the script's header).
python3 src/gen_time_frag.py .
