#!/usr/bin/env python3
"""The `tunnel` column (docs/design.md, "Tunnel keying") against tshark's view of the same packets.

Each row: capture, the flow's key, and the tunnel object expected for it. Expected values
were read with tshark 4.0 (the command is in each row's comment) and are written here by
hand; the test needs only the CLI.

Usage: tunnel_check.py WA1KPCAP DATA_DIR      (last line: N passed, N failed)
"""
import json, os, subprocess, sys

CASES = [
    # tshark -r tcpdump__vxlan.pcap -T fields -e vxlan.vni -e ip.src -e ip.dst
    #   -> 100  192.168.203.1,192.168.203.3  192.168.202.1,192.168.203.5
    ("tcpdump__vxlan.pcap", "192.168.203.3:0 -> 192.168.203.5:0 (ICMP)",
     {"stack": ["VXLAN"], "vxlan_vni": 100, "outer_src": "192.168.203.1",
      "outer_dst": "192.168.202.1"}),
    # tshark -r made__geneve.pcap -T fields -e geneve.vni -e ip.src -> 0x00abcd 203.0.113.1,...
    ("made__geneve.pcap", "192.0.2.1:0 -> 198.51.100.2:0 (ICMP)",
     {"stack": ["GENEVE"], "geneve_vni": 0xABCD, "outer_src": "203.0.113.1",
      "outer_dst": "203.0.113.2"}),
    # tshark -r made__gre_teb.pcap -T fields -e gre.key -e ip.src -> 0x0000002a 203.0.113.1,...
    ("made__gre_teb.pcap", "192.0.2.1:40012 -> 198.51.100.2:7012 (UDP)",
     {"stack": ["GRE"], "gre_key": 42, "outer_src": "203.0.113.1", "outer_dst": "203.0.113.2"}),
    # tshark -r zeek__mpls-in-vlan.pcap -T fields -e vlan.id -e mpls.label -> 0 16106
    ("zeek__mpls-in-vlan.pcap", "65.65.65.65:80 -> 65.65.65.65:32828 (TCP)",
     {"stack": ["VLAN", "MPLS"], "vlan_ids": [0], "mpls_labels": [16106]}),
    # tshark -r made__qinq_88a8.pcap -T fields -e vlan.id -> 100,200 (outer S-tag, inner C-tag)
    ("made__qinq_88a8.pcap", "192.0.2.1:40008 -> 198.51.100.2:80 (TCP)",
     {"stack": ["VLAN", "VLAN"], "vlan_ids": [100, 200]}),
    # tshark -r made__ipip.pcap -T fields -e ip.src -e ip.dst -> 203.0.113.1,192.0.2.1 ...
    ("made__ipip.pcap", "192.0.2.1:40010 -> 198.51.100.2:5060 (UDP)",
     {"stack": ["IPIP"], "outer_src": "203.0.113.1", "outer_dst": "203.0.113.2"}),
    # tshark -r made__erspan2.pcap -T fields -e gre.key -e erspan.version -e erspan.vlan
    #   -e erspan.spanid -e ip.src -e ip.dst -e vlan.id
    #   -> (no key) 1 10 100 203.0.113.1,192.0.2.1 203.0.113.2,198.51.100.2 (no vlan.id: the
    #   ERSPAN VLAN field is metadata, not a tag; the session id is not in our object)
    ("made__erspan2.pcap", "192.0.2.1:40015 -> 198.51.100.2:7015 (UDP)",
     {"stack": ["GRE", "ERSPAN"], "outer_src": "203.0.113.1", "outer_dst": "203.0.113.2"}),
    # tshark -r made__erspan3.pcap -T fields -e gre.key -e erspan.version -e erspan.spanid
    #   -e ip.src -e ip.dst -e vlan.id -> 0x0000007b 2 200 203.0.113.1,192.0.2.1 203.0.113.2,...
    ("made__erspan3.pcap", "192.0.2.1:40016 -> 198.51.100.2:443 (TCP)",
     {"stack": ["GRE", "ERSPAN"], "gre_key": 123, "outer_src": "203.0.113.1",
      "outer_dst": "203.0.113.2"}),
    # tshark -r made__mpls_pw.pcap -d mpls.label==300,pwethcw -T fields -e mpls.label -e pwethcw
    #   -e vlan.id -e ip.src -> 100,300 pwethcw (no vlan.id) 192.0.2.1 (no outer IP)
    ("made__mpls_pw.pcap", "192.0.2.1:40017 -> 198.51.100.2:7017 (UDP)",
     {"stack": ["MPLS"], "mpls_labels": [100, 300]}),
    # Tunnels inside fragmented outer IPv4 (reassembled first, then decapsulated):
    # tshark -r made__gre_frag.pcap -T fields -e gre.key -e ip.src -e ip.dst
    #   -> (frames 2, 3, 6) 0x0000002a 203.0.113.1,192.0.2.1 203.0.113.2,198.51.100.2
    ("made__gre_frag.pcap", "192.0.2.1:40020 -> 198.51.100.2:7020 (UDP)",
     {"stack": ["GRE"], "gre_key": 42, "outer_src": "203.0.113.1", "outer_dst": "203.0.113.2"}),
    # tshark -r made__vxlan_frag.pcap -T fields -e vxlan.vni -e ip.src -e ip.dst
    #   -> (frames 2, 3, 6) 77 203.0.113.11,10.0.0.1 203.0.113.12,10.0.0.2
    ("made__vxlan_frag.pcap", "10.0.0.1:5000 -> 10.0.0.2:6000 (UDP)",
     {"stack": ["VXLAN"], "vxlan_vni": 77, "outer_src": "203.0.113.11",
      "outer_dst": "203.0.113.12"}),
]


def main(binary, data):
    passed = failed = 0
    for cap, key, want in CASES:
        out = subprocess.run([binary, "analyze", os.path.join(data, cap), "-f", "ndjson", "-q",
                              "--no-default-filter"], capture_output=True, text=True, check=True)
        got = None
        for line in out.stdout.splitlines():
            f = json.loads(line)
            if f["key"] == key:
                got = f.get("tunnel")
        if got == want:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {cap} {key}: tunnel {got}, expected {want}")
    # --vxlan-port: VXLAN on 8472 (tshark -d udp.port==8472,vxlan: 8 inner ICMP packets of
    # 192.168.203.3 <-> 192.168.203.5); without the option the same packets are outer UDP.
    for opts, key, n in ((["--vxlan-port", "8472"], "192.168.203.3:0 -> 192.168.203.5:0 (ICMP)", 8),
                         ([], "192.168.203.1:45149 -> 192.168.202.1:8472 (UDP)", 4)):
        out = subprocess.run([binary, "analyze", os.path.join(data, "made__vxlan_8472.pcap"), "-f",
                              "ndjson", "-q", "--no-default-filter"] + opts,
                             capture_output=True, text=True, check=True)
        got = [json.loads(l)["packet_count"] for l in out.stdout.splitlines()
               if json.loads(l)["key"] == key]
        if got == [n]:
            passed += 1
        else:
            failed += 1
            print(f"FAIL vxlan_8472 {opts}: {key} has {got}, expected [{n}]")
    # a flow without encapsulation has no tunnel key (and an empty CSV cell)
    out = subprocess.run([binary, "analyze", os.path.join(data, "wa1kpcap__single.pcap"), "-f",
                          "ndjson", "-q"], capture_output=True, text=True, check=True)
    if all("tunnel" not in json.loads(l) for l in out.stdout.splitlines()):
        passed += 1
    else:
        failed += 1
        print("FAIL single.pcap has a tunnel key")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
