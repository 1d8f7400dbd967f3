#!/usr/bin/python3
"""Writes <capture>.expected.json from tshark 4.0, and beside it
<capture>.tshark, the exact command it ran. Needs tshark; the tests do not.

ICMP and ICMPv6 flows (mode "icmp"): per flow (the two addresses of the
last IP layer outside the ICMP message, and the protocol), from the
packets' icmp / icmpv6 layers in frame order, with the flow rule of
docs/output.md (`icmp`): type and code (icmp.type, icmp.code /
icmpv6.type, icmpv6.code) of the first packet; type_codes, each pair once,
first seen first; echo_id the first echo's icmp.ident /
icmpv6.echo.identifier, echo_seq_min / echo_seq_max over every echo's
icmp.seq / icmpv6.echo.sequence_number; quoted, for error messages (v4
types 3 4 5 11 12, v6 1 2 3 4), the ip.src, ip.dst, ip.proto (ipv6.src,
ipv6.dst, ipv6.nxt) of the IP layer tshark shows inside the ICMP layer and
the udp/tcp srcport and dstport beside it, each distinct one once;
nd_target the first icmpv6.nd.ns.target_address or
icmpv6.nd.na.target_address; prefixes, each icmpv6.opt.prefix "/"
icmpv6.opt.prefix.length of router advertisements once; messages the
packets.

ARP (mode "arp"): one entry per ARP packet in frame order: arp.opcode,
arp.src.hw_mac, arp.src.proto_ipv4, arp.dst.hw_mac, arp.dst.proto_ipv4,
frame.time_epoch and frame.len; RARP frames (ethertype 0x8035) left out.

usage: make_expected.py icmp|arp CAPTURE ...   (run from tests/proto/icmp)
"""
import json
import os
import subprocess
import sys

V4_ERRORS = {3, 4, 5, 11, 12}
# tshark's arp layer also decodes RARP (ethertype 0x8035), which is no ARP here
ARP_FILTER = "arp and not (eth.type == 0x8035 or sll.etype == 0x8035)"
V6_ERRORS = {1, 2, 3, 4}


class Multi(list):
    pass


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


def first(tree, name):
    v = walk(tree, name)
    return v[0] if v else None


def tshark(cap, proto_filter):
    layers = "frame ip ipv6 icmp icmpv6 udp tcp arp"
    cmd = ["tshark", "-r", cap, "-Y", proto_filter, "-T", "json", "-J", layers]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return cmd, [p["_source"]["layers"] for p in json.loads(out, object_pairs_hook=pairs)]


def quote_of(icmp_layer, v6):
    """The quoted packet of an error: the IP layer inside the ICMP layer."""
    ipname = "ipv6" if v6 else "ip"
    ips = many(icmp_layer.get(ipname))
    if not ips:
        return None
    ip = ips[0]
    q = {}
    pre = "ipv6." if v6 else "ip."
    for key, field in (("src", "src"), ("dst", "dst"), ("proto", "nxt" if v6 else "proto")):
        v = ip.get(pre + field)
        if v is not None:
            q[key] = int(v) if key == "proto" else v
    for t in ("udp", "tcp"):
        for layer in many(icmp_layer.get(t)):
            if t + ".srcport" in layer:
                q["sport"] = int(layer[t + ".srcport"])
                q["dport"] = int(layer[t + ".dstport"])
    return q


def icmp_flows(layers):
    flows = {}
    order = []
    for pk in layers:
        v6 = "icmpv6" in pk
        ic = many(pk.get("icmpv6" if v6 else "icmp"))
        if not ic:
            continue
        ic = ic[-1]
        ip = many(pk.get("ipv6" if v6 else "ip"))[-1]
        pre = "ipv6." if v6 else "ip."
        k = (tuple(sorted([ip[pre + "src"], ip[pre + "dst"]])), 58 if v6 else 1)
        if k not in flows:
            flows[k] = {"endpoints": list(k[0]), "protocol": "ICMPv6" if v6 else "ICMP",
                        "type_codes": [], "messages": 0}
            order.append(k)
        f = flows[k]
        p = "icmpv6." if v6 else "icmp."
        t, c = int(ic[p + "type"]), int(ic[p + "code"])
        f["messages"] += 1
        if "type" not in f:
            f["type"], f["code"] = t, c
        if [t, c] not in f["type_codes"]:
            f["type_codes"].append([t, c])
        echo = (t in (128, 129)) if v6 else (t in (0, 8))
        if echo:
            ident = ic.get("icmpv6.echo.identifier" if v6 else "icmp.ident")
            seq = ic.get("icmpv6.echo.sequence_number" if v6 else "icmp.seq")
            if "echo_id" not in f:
                f["echo_id"] = int(ident, 0)
                f["echo_seq_min"] = f["echo_seq_max"] = int(seq)
            f["echo_seq_min"] = min(f["echo_seq_min"], int(seq))
            f["echo_seq_max"] = max(f["echo_seq_max"], int(seq))
        if t in (V6_ERRORS if v6 else V4_ERRORS):
            q = quote_of(ic, v6)
            if q:
                f.setdefault("quoted", [])
                if q not in f["quoted"]:
                    f["quoted"].append(q)
        if v6 and t in (135, 136) and "nd_target" not in f:
            tgt = first(ic, "icmpv6.nd.ns.target_address" if t == 135
                        else "icmpv6.nd.na.target_address")
            if tgt:
                f["nd_target"] = tgt
        if v6 and t == 134:
            for pfx, ln in zip(walk(ic, "icmpv6.opt.prefix"), walk(ic, "icmpv6.opt.prefix.length")):
                f.setdefault("prefixes", [])
                s = "%s/%s" % (pfx, ln)
                if s not in f["prefixes"]:
                    f["prefixes"].append(s)
    return [flows[k] for k in order]


def arp_rows(layers):
    rows = []
    for pk in layers:
        a = many(pk.get("arp"))
        if not a:
            continue
        a = a[-1]
        fr = pk["frame"]
        rows.append({
            "timestamp": fr["frame.time_epoch"],
            "packet_length": int(fr["frame.len"]),
            "arp_operation": int(a["arp.opcode"]),
            "arp_sender_mac": a.get("arp.src.hw_mac"),
            "arp_sender_ip": a.get("arp.src.proto_ipv4"),
            "arp_target_mac": a.get("arp.dst.hw_mac"),
            "arp_target_ip": a.get("arp.dst.proto_ipv4"),
        })
    return rows


def main():
    mode, caps = sys.argv[1], sys.argv[2:]
    version = subprocess.run(["tshark", "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0].split(" (Git")[0]
    for cap in caps:
        base = os.path.basename(cap).rsplit(".", 1)[0]
        cmd, layers = tshark(cap, "icmp or icmpv6" if mode == "icmp" else ARP_FILTER)
        if mode == "icmp":
            doc = {"flows": icmp_flows(layers)}
        else:
            # An ARP frame inside a tunnel belongs to its IP flow: no row of its own.
            doc = {"rows": arp_rows([pk for pk in layers if "ip" not in pk and "ipv6" not in pk])}
        with open("%s.%s.expected.json" % (base, mode), "w") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        with open("%s.%s.tshark" % (base, mode), "w") as fh:
            fh.write("# %s, run from tests/proto/icmp\n" % version)
            fh.write(" ".join("'%s'" % a if " " in a else a for a in cmd) + "\n")


if __name__ == "__main__":
    main()
