#!/usr/bin/python3
"""Writes <capture>.expected.json from tshark 4.0, and beside it
<capture>.tshark, the exact command it ran. Needs tshark; the tests do not.

Per flow (symmetric 5-tuple), from tshark's DNS/MDNS/LLMNR layers in frame
order, with the flow rule of docs/output.md (`dns`): header values of the
first message; response_code and the answer, authority and additional
counts from the first message where they are not 0; query names (tshark's
dns.qry.name, "<Root>" and tshark's "<...>" error markers left out) and
query types unique in first-seen order; answers from the Answers section
only (dns.resp.name, or dns.srv.service/proto/name joined by "." for SRV, dns.resp.type, dns.resp.ttl and dns.a, dns.aaaa,
dns.cname, dns.ns, dns.ptr.domain_name, dns.mx.*, dns.srv.*, dns.txt),
unique by (name, type, data).

usage: make_expected.py data/CAPTURE.pcap ...
"""
import json
import os
import subprocess
import sys

LAYERS = ("dns", "mdns", "llmnr")


def pairs(kv):
    """json object hook keeping repeated keys (one frame, many messages)."""
    out = {}
    for k, v in kv:
        if k in out:
            if not isinstance(out[k], list) or not getattr(out[k], "multi", False):
                out[k] = Multi([out[k]])
            out[k].append(v)
        else:
            out[k] = v
    return out


class Multi(list):
    multi = True


def many(v):
    if v is None:
        return []
    return list(v) if isinstance(v, Multi) else [v]


def one(v):
    return many(v)[-1] if many(v) else None


def bad(n):
    return n.startswith("<") and n.endswith(">")


def data_of(rec):
    t = int(one(rec["dns.resp.type"]))
    simple = {1: "dns.a", 28: "dns.aaaa", 5: "dns.cname", 2: "dns.ns", 12: "dns.ptr.domain_name"}
    if t in simple:
        v = one(rec.get(simple[t]))
        return None if v is None or bad(v) else v
    if t == 15:
        ex = one(rec.get("dns.mx.mail_exchange"))
        if ex is None or bad(ex):
            return None
        return "%s %s" % (one(rec["dns.mx.preference"]), ex)
    if t == 33:
        tg = one(rec.get("dns.srv.target"))
        if tg is None or bad(tg):
            return None
        return "%s %s %s %s" % (one(rec["dns.srv.priority"]), one(rec["dns.srv.weight"]),
                                one(rec["dns.srv.port"]), tg)
    if t == 16:
        return "".join(many(rec.get("dns.txt")))[:255]
    return None


def main():
    for cap in sys.argv[1:]:
        cmd = ["tshark", "-r", cap, "-T", "json", "-J", "ip ipv6 udp tcp " + " ".join(LAYERS)]
        raw = subprocess.run(cmd, check=True, capture_output=True).stdout
        frames = json.loads(raw, object_pairs_hook=pairs)
        flows = {}
        order = []
        for fr in frames:
            L = fr["_source"]["layers"]
            msgs = []
            for name in LAYERS:
                msgs += many(L.get(name))
            if not msgs:
                continue
            net = one(L.get("ipv6")) or one(L.get("ip"))
            tr, proto = (one(L.get("udp")), 17) if "udp" in L else (one(L.get("tcp")), 6)
            fam = "ipv6" if "ipv6" in L else "ip"
            src, dst = one(net[fam + ".src"]), one(net[fam + ".dst"])
            pre = "udp" if proto == 17 else "tcp"
            sp, dp = int(one(tr[pre + ".srcport"])), int(one(tr[pre + ".dstport"]))
            key = (proto,) + tuple(sorted([(src, sp), (dst, dp)]))
            if key not in flows:
                flows[key] = {"protocol": proto, "endpoints": [list(e) for e in key[1:]],
                              "messages": 0, "queries": [], "qtypes": [], "answers": []}
                order.append(key)
            f = flows[key]
            for m in msgs:
                flags = int(one(m["dns.flags"]), 16)
                counts = {
                    "question_count": int(one(m["dns.count.queries"])),
                    "answer_count": int(one(m["dns.count.answers"])),
                    "authority_count": int(one(m["dns.count.auth_rr"])),
                    "additional_count": int(one(m["dns.count.add_rr"])),
                }
                if f["messages"] == 0:
                    f["id"] = int(one(m["dns.id"]), 16)
                    f["flags"] = flags
                    f["opcode"] = flags >> 11 & 15
                    f["response_code"] = flags & 15
                    f.update(counts)
                else:
                    if f["response_code"] == 0:
                        f["response_code"] = flags & 15
                    for k in ("answer_count", "authority_count", "additional_count"):
                        if f[k] == 0:
                            f[k] = counts[k]
                f["messages"] += 1
                for q in many(m.get("Queries")):
                    for _, qv in q.items():
                        for qq in many(qv):
                            n = one(qq["dns.qry.name"])
                            if bad(n) and n != "<Root>":
                                continue
                            t = int(one(qq["dns.qry.type"]))
                            if t not in f["qtypes"] and len(f["qtypes"]) < 16:
                                f["qtypes"].append(t)
                            if n != "<Root>" and n not in f["queries"] and len(f["queries"]) < 32:
                                f["queries"].append(n)
                for a in many(m.get("Answers")):
                    for _, av in a.items():
                        for rec in many(av):
                            n = one(rec.get("dns.resp.name"))
                            if n is None:  # tshark splits an SRV owner in three
                                n = ".".join(one(rec[k]) for k in (
                                    "dns.srv.service", "dns.srv.proto", "dns.srv.name") if k in rec)
                            if bad(n) and n != "<Root>":
                                continue
                            n = "" if n == "<Root>" else n
                            ans = {"name": n, "type": int(one(rec["dns.resp.type"])),
                                   "ttl": int(one(rec["dns.resp.ttl"]))}
                            d = data_of(rec)
                            if d is not None:
                                ans["data"] = d
                            same = [x for x in f["answers"] if (x["name"], x["type"], x.get("data"))
                                    == (n, ans["type"], ans.get("data"))]
                            if not same and len(f["answers"]) < 32:
                                f["answers"].append(ans)
        base = os.path.splitext(os.path.basename(cap))[0]
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, base + ".expected.json"), "w") as out:
            json.dump({"capture": os.path.basename(cap), "flows": [flows[k] for k in order]},
                      out, indent=1)
            out.write("\n")
        with open(os.path.join(here, base + ".tshark"), "w") as out:
            out.write("# TShark (Wireshark) 4.0.17, run from tests/proto/dns\n")
            out.write(" ".join(c if " " not in c else "'%s'" % c for c in cmd) + "\n")


if __name__ == "__main__":
    main()
