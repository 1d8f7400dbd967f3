#!/usr/bin/python3
"""Writes <capture>.expected.json from tshark 4.0, and beside it
<capture>.tshark, the exact command it ran. Needs tshark; the tests do not.

Per UDP flow (symmetric 5-tuple), from tshark's DHCP and DHCPv6 layers in
frame order, with the flow rule of docs/output.md (`dhcp`, `dhcpv6`):

DHCP: a packet whose dhcp layer has no dhcp.cookie counts in no_cookie and
gives nothing else. Of the others: op (dhcp.type), xid (dhcp.id), client_mac
(chaddr: the first dhcp.hw.mac_addr of the packet) from the first message;
ciaddr, yiaddr, siaddr, giaddr (dhcp.ip.client/your/server/relay) from the
first message where they are not 0.0.0.0; message_type the first
dhcp.option.dhcp and message_types every one in order; requested_ip,
server_id, lease_time, hostname, vendor_class (dhcp.option.
requested_ip_address, dhcp_server_id, ip_address_lease_time, hostname,
vendor_class_id), client_id (option 61's dhcp.option.value),
parameter_request_list (option 55's dhcp.option.request_list_item) each
from the first message that has it, the options of the file and sname
fields (option 52) after the others; relay_agent_info: some message has
option 82.

DHCPv6: the message inside relay messages (tshark's innermost msgtype);
message_type and transaction_id (dhcpv6.xid) of the first, message_types
all in order; client_duid, server_duid (dhcpv6.duid.bytes, colons removed)
and their types (dhcpv6.duid.type) from the first Client / Server
Identifier option; addresses (dhcpv6.iaaddr.ip) and prefixes
(dhcpv6.iaprefix.pref_addr "/" dhcpv6.iaprefix.pref_len), each once in
first-seen order; option_request (dhcpv6.requested_option_code of the first
Option Request option); fqdn and fqdn_flags (dhcpv6.client_domain and
dhcpv6.client_fqdn_flags of the first FQDN option).

usage: make_expected.py data/CAPTURE.pcap ...
"""
import json
import os
import subprocess
import sys


def pairs(kv):
    """json object hook keeping repeated keys as a list."""
    out = {}
    for k, v in kv:
        if k in out:
            if not isinstance(out[k], Multi):
                out[k] = Multi([out[k]])
            out[k].append(v)
        else:
            out[k] = v
    return out


class Multi(list):
    pass


def many(v):
    if v is None:
        return []
    return list(v) if isinstance(v, Multi) else [v]


def walk(tree, name):
    """Every value of field `name` anywhere in tree, in document order."""
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            for x in many(v):
                if k == name:
                    out.append(x)
                else:
                    out += walk(x, name)
    elif isinstance(tree, list):
        for x in tree:
            out += walk(x, name)
    return out


def options(tree, typekey, treekey):
    """(type, subtree) of the options directly below tree."""
    return list(zip([int(t) for t in many(tree.get(typekey))], many(tree.get(treekey))))


def dhcp_options(d):
    """DHCP options: tshark puts the type as a sibling of its subtree. With
    option 52, the options of the file and then the sname field follow
    (tshark nests them in option 52's subtree)."""
    top = options(d, "dhcp.option.type", "dhcp.option.type_tree")
    more = []
    for t, sub in top:
        if t == 52:
            for part in ("Boot file name option overload", "Server host name option overload"):
                for x in many(sub.get(part)):
                    more += dhcp_options(x)
    return top + more


def dhcp_message(f, d):
    if not walk(d, "dhcp.cookie"):
        f["no_cookie"] += 1
        return
    first = f["messages"] == 0
    f["messages"] += 1
    if first:
        f["op"] = int(d["dhcp.type"])
        f["xid"] = int(d["dhcp.id"], 16)
        f["client_mac"] = many(d.get("dhcp.hw.mac_addr"))[0]
    for k, t in (("ciaddr", "dhcp.ip.client"), ("yiaddr", "dhcp.ip.your"),
                 ("siaddr", "dhcp.ip.server"), ("giaddr", "dhcp.ip.relay")):
        if f.get(k, "0.0.0.0") == "0.0.0.0":
            f[k] = d[t]
    opts = dhcp_options(d)
    for t, sub in opts:
        if t == 53:
            v = int(sub["dhcp.option.dhcp"])
            f.setdefault("message_type", v)
            f["message_types"].append(v)
        elif t == 50:
            f.setdefault("requested_ip", sub["dhcp.option.requested_ip_address"])
        elif t == 54:
            f.setdefault("server_id", sub["dhcp.option.dhcp_server_id"])
        elif t == 51:
            f.setdefault("lease_time", int(sub["dhcp.option.ip_address_lease_time"]))
        elif t == 12:
            f.setdefault("hostname", sub["dhcp.option.hostname"])
        elif t == 60:
            f.setdefault("vendor_class", sub["dhcp.option.vendor_class_id"])
        elif t == 61:
            f.setdefault("client_id", sub["dhcp.option.value"].replace(":", ""))
        elif t == 55:
            f.setdefault("parameter_request_list",
                         [int(x) for x in many(sub.get("dhcp.option.request_list_item"))])
        elif t == 82:
            f["relay_agent_info"] = True


V6_OPT = ("dhcpv6.option.type_str", "dhcpv6.option.type_str_tree")


def v6_opts(tree):
    return [sub for sub in many(tree.get(V6_OPT[1]))]


def dhcpv6_message(f, d):
    t = int(d["dhcpv6.msgtype"])
    if t in (12, 13):  # relay: the message inside its Relay Message option
        f["relayed"] += 1 if f.get("_depth", 0) == 0 else 0
        for sub in v6_opts(d):
            if int(sub["dhcpv6.option.type"]) == 9:
                for inner in many(sub.get("dhcpv6")):
                    f["_depth"] = f.get("_depth", 0) + 1
                    dhcpv6_message(f, inner)
                    f["_depth"] -= 1
        return
    first = f["messages"] == 0
    f["messages"] += 1
    f["message_types"].append(t)
    if first:
        f["message_type"] = t
        f["transaction_id"] = int(d["dhcpv6.xid"], 16)
    for sub in v6_opts(d):
        code = int(sub["dhcpv6.option.type"])
        if code in (1, 2):
            who = "client" if code == 1 else "server"
            if who + "_duid" not in f:
                f[who + "_duid_type"] = int(sub["dhcpv6.duid.type"])
                f[who + "_duid"] = sub["dhcpv6.duid.bytes"].replace(":", "")
        elif code == 6 and "option_request" not in f:
            f["option_request"] = [int(x) for x in many(sub.get("dhcpv6.requested_option_code"))]
        elif code == 39 and "fqdn" not in f:
            f["fqdn_flags"] = int(sub["dhcpv6.client_fqdn_flags"], 16)
            f["fqdn"] = sub.get("dhcpv6.client_domain", "")
        elif code in (3, 4, 25):
            for a in walk(sub, "dhcpv6.iaaddr.ip"):
                if a not in f["addresses"]:
                    f["addresses"].append(a)
            for ia in v6_opts(sub):
                if int(ia["dhcpv6.option.type"]) == 26:
                    p = "%s/%s" % (ia["dhcpv6.iaprefix.pref_addr"], ia["dhcpv6.iaprefix.pref_len"])
                    if p not in f["prefixes"]:
                        f["prefixes"].append(p)


def main():
    for cap in sys.argv[1:]:
        cmd = ["tshark", "-r", cap, "-T", "json", "-J", "ip ipv6 udp dhcp dhcpv6"]
        raw = subprocess.run(cmd, check=True, capture_output=True).stdout
        frames = json.loads(raw, object_pairs_hook=pairs)
        flows = {}
        order = []
        for fr in frames:
            L = fr["_source"]["layers"]
            kind = "dhcp" if "dhcp" in L else "dhcpv6" if "dhcpv6" in L else None
            if kind is None or "udp" not in L:
                continue
            fam = "ipv6" if "ipv6" in L else "ip"
            net = many(L[fam])[-1]
            udp = many(L["udp"])[-1]
            src, dst = net[fam + ".src"], net[fam + ".dst"]
            sp, dp = int(udp["udp.srcport"]), int(udp["udp.dstport"])
            key = tuple(sorted([(src, sp), (dst, dp)]))
            if key not in flows:
                f = {"protocol": 17, "endpoints": [list(e) for e in key], "kind": kind,
                     "messages": 0, "message_types": []}
                if kind == "dhcp":
                    f.update(no_cookie=0, relay_agent_info=False)
                else:
                    f.update(relayed=0, addresses=[], prefixes=[])
                flows[key] = f
                order.append(key)
            f = flows[key]
            for d in many(L[kind]):
                (dhcp_message if kind == "dhcp" else dhcpv6_message)(f, d)
        for f in flows.values():
            f.pop("_depth", None)
        base = os.path.splitext(os.path.basename(cap))[0]
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, base + ".expected.json"), "w") as out:
            json.dump({"capture": os.path.basename(cap), "flows": [flows[k] for k in order]},
                      out, indent=1)
            out.write("\n")
        with open(os.path.join(here, base + ".tshark"), "w") as out:
            out.write("# TShark (Wireshark) 4.0.17, run from tests/proto/dhcp\n")
            out.write(" ".join(c if " " not in c else "'%s'" % c for c in cmd) + "\n")


if __name__ == "__main__":
    main()
