#!/usr/bin/env python3
"""dns.yaml and dhcp.yaml against the C dissectors they document.

Usage: protocols_parity.py WA1KPCAP WA1KPCAP_NODNSDHCP PROTOCOLS_DIR DATA_DIR

WA1KPCAP is the product CLI; WA1KPCAP_NODNSDHCP the test copy whose registry lacks the C dns and
dhcp dissectors (registry.def without their rows, made by tests/e2e/CMakeLists.txt), so that nothing in C claims UDP 53, 67 and
68. The loader never runs a definition named like a layer the engine parses (dns, dhcp: they
document it), so the test runs copies of dns.yaml and dhcp.yaml that differ only in their name
line (yaml_dns, yaml_dhcp), with dhcp's option files, routed with `--route udp:53=yaml_dns`,
`--route udp:67=yaml_dhcp`, `--route udp:68=yaml_dhcp`: the same definitions, byte for byte. On
each capture of the corpus that carries DNS or DHCP, both run with the same options; every
field both produce must agree, flow by flow (UDP flows with port 53, 67 or 68: the YAML files
route neither TCP 53 nor mDNS/LLMNR).

The two merge a flow's messages differently, and the comparison follows each rule:
  - first message wins in both: dns id, flags, opcode, question_count, the first query name
    and type (C: queries[0], qtypes[0]; YAML: query, qtype); dhcp op, xid, client_mac,
    message_type, requested_ip, server_id, lease_time.
  - C fills while zero, YAML keeps the first message's value: dns response_code and the
    answer, authority and additional counts; dhcp ciaddr, yiaddr, siaddr, giaddr (0.0.0.0 is
    zero). Then a non-zero YAML value must equal C's, and for a one-message flow the two must
    be equal.
Each capture runs three times: all packets, and with a filter keeping one direction only
(`udp dst port 53` / `udp src port 53`, 67/68 for DHCP), which turns most flows into one-message
flows so the fill-while-zero fields are compared exactly too.
Flows where the C dissector read no message (too short, or DHCP without the magic cookie) have
no C column and are not compared. Exit 77 (skipped) when the test CLI has no --protocols.
Last line: `N passed, N failed`."""
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

RUN = ["--no-default-filter", "--keep-retrans", "--udp-timeout", "0", "--tcp-timeout", "0",
       "-f", "ndjson", "-o", "-", "-q"]
DNS_CAPS = ["tcpdump__dns_udp.pcap", "nDPI__dns.pcap", "nDPI__malformed_dns.pcap",
            "tcpdump__LINKTYPE_RAW_ipv4.pcap", "tcpdump__nflog.pcap", "PcapPlusPlus__nflogPacket.pcap",
            "PcapPlusPlus__null_loopback.pcap", "zeek__pcapng-multi-interface.pcapng",
            "zeek__ipv6-fragmented-dns.pcap", "PcapPlusPlus__many_interfaces-1.pcapng",
            "wa1kpcap__multi.pcap"]
DHCP_CAPS = ["tcpdump__dhcp-rfc4388.pcap", "suricata-verify__dhcp-eve-extended__input.pcap",
             "zeek__dhcp.pcap"]
passed = failed = 0
compared = {"dns": 0, "dhcp": 0}


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


def flows(cli, cap, extra):
    r = subprocess.run([cli, "analyze", cap] + RUN + extra, capture_output=True, text=True,
                       timeout=300)
    check(r.returncode == 0, f"{os.path.basename(cap)} {extra}: exit {r.returncode}, "
                             f"stderr {r.stderr.strip()!r}")
    out = {}
    for line in r.stdout.splitlines():
        f = json.loads(line)
        x = (ipaddress.ip_address(f["src_ip"]).compressed, int(f.get("src_port") or 0))
        y = (ipaddress.ip_address(f["dst_ip"]).compressed, int(f.get("dst_port") or 0))
        # flow_id: a five-tuple may hold several flows (a UDP timeout is off, but TCP may split)
        out[(min(x, y), max(x, y), f["protocol"], f["flow_id"])] = f
    return out


def user_layer(flow, name):
    if "proto." + name in flow:
        return flow["proto." + name]
    p = flow.get("proto")
    return p.get(name) if isinstance(p, dict) else None


def same(where, name, c, y):
    check(c == y, f"{where}: {name}: C {c!r}, YAML {y!r}")


def fill_while_zero(where, name, c, y, one_message, zero):
    """C keeps the first non-zero value of the flow, YAML the first message's."""
    if y != zero or one_message:
        same(where, name, c, y)


def compare_dns(where, c, y):
    one = c.get("messages") == 1
    for k in ("id", "flags", "opcode", "question_count"):
        same(where, k, c.get(k), y.get(k))
    for k in ("response_code", "answer_count", "authority_count", "additional_count"):
        fill_while_zero(where, k, c.get(k), y.get(k), one, 0)
    if c.get("queries") and y.get("question_count"):
        same(where, "first query", c["queries"][0], y.get("query"))
    if c.get("qtypes") and y.get("question_count"):
        same(where, "first qtype", c["qtypes"][0], y.get("qtype"))


def compare_dhcp(where, c, y):
    one = c.get("messages") == 1
    for k in ("op", "xid", "client_mac", "message_type", "requested_ip", "server_id",
              "lease_time"):
        if k in c:
            same(where, k, c[k], y.get(k))
    for k in ("ciaddr", "yiaddr", "siaddr", "giaddr"):
        fill_while_zero(where, k, c.get(k), y.get(k), one, "0.0.0.0")


def yaml_copies(protocols, d):
    """dns.yaml and dhcp.yaml as yaml_dns / yaml_dhcp (their name line only), and the files
    dhcp.yaml hands its options to. Returns the --route arguments."""
    for name in ("dns", "dhcp"):
        text = open(os.path.join(protocols, name + ".yaml")).read()
        renamed = re.sub(r"^name: %s$" % name, "name: yaml_" + name, text, count=1, flags=re.M)
        check(renamed != text, f"{name}.yaml: no 'name: {name}' line")
        with open(os.path.join(d, f"yaml_{name}.yaml"), "w") as out:
            out.write(renamed)
    for f in os.listdir(protocols):
        if f.startswith("dhcp_opt_"):
            shutil.copy(os.path.join(protocols, f), d)
    return ["--route", "udp:53=yaml_dns", "--route", "udp:67=yaml_dhcp",
            "--route", "udp:68=yaml_dhcp"]


def run(cli, nodns, protocols, cap, name, ports, filters):
    with tempfile.TemporaryDirectory() as d:
        user = ["--protocols", d] + yaml_copies(protocols, d)
        for extra in filters:
            compare_run(cli, nodns, user, cap, name, ports, extra)


def compare_run(cli, nodns, user, cap, name, ports, extra):
    a = flows(cli, cap, extra)
    b = flows(nodns, cap, extra + user)
    where0 = f"{os.path.basename(cap)} {' '.join(extra) or '(all)'}"
    check(set(a) == set(b), f"{where0}: the two builds see different flows")
    for key in sorted(set(a) & set(b), key=str):
        fa, fb = a[key], b[key]
        if fa["protocol"] != "UDP" or not ({key[0][1], key[1][1]} & ports):
            continue
        c, y = fa.get(name), user_layer(fb, "yaml_" + name)
        check(fb.get(name) is None, f"{where0} {key}: test build has a C {name} column")
        if c is None:
            continue  # the C dissector read no message of this flow
        check(isinstance(y, dict), f"{where0} {key}: C {name} but no proto.yaml_{name}")
        if isinstance(y, dict):
            compared[name] += 1
            (compare_dns if name == "dns" else compare_dhcp)(f"{where0} {key}", c, y)


def main():
    cli, nodns, protocols, data = sys.argv[1:5]
    h = subprocess.run([nodns, "--help"], capture_output=True, text=True)
    if "--protocols" not in h.stdout + h.stderr:
        print(f"SKIP: {nodns} has no --protocols option (built without the YAML loader)")
        sys.exit(77)
    for cap in DNS_CAPS:
        run(cli, nodns, protocols, os.path.join(data, cap), "dns", {53},
            [[], ["--filter", "udp dst port 53"], ["--filter", "udp src port 53"]])
    for cap in DHCP_CAPS:
        run(cli, nodns, protocols, os.path.join(data, cap), "dhcp", {67, 68},
            [[], ["--filter", "udp dst port 67"], ["--filter", "udp dst port 68"]])
    # the comparison must not be vacuous: the corpus has dozens of DNS flows and several DHCP ones
    check(compared["dns"] >= 20, f"only {compared['dns']} DNS flows compared")
    check(compared["dhcp"] >= 3, f"only {compared['dhcp']} DHCP flows compared")
    print(f"compared: {compared['dns']} dns, {compared['dhcp']} dhcp flow columns")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
