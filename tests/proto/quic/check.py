#!/usr/bin/python3
"""Checks the CLI's quic column.

usage: check.py CLI tshark CAPTURE EXPECTED.json
           version, sni, alpn and the ServerHello's suite of every flow
           against tshark's (make_expected.py); no other flow has a quic column
       check.py CLI numbers DATA_DIR
           wa1kpcap__quic.pcap and wa1kpcap__quic2.pcap: the flows, SNIs
           and suites measured on them (the numbers below), the same under
           --app-layer port_only, and --filter quic / not quic
       check.py CLI ja4 CAPTURE JA4
           the one QUIC flow's ja4 is the JA4 reference implementation's

Prints one line per mismatch and exits 1 if there is any.
"""
import collections
import json
import subprocess
import sys


def run(cli, cap, *extra):
    out = subprocess.run([cli, "analyze", "-f", "ndjson", "--no-sequences", "-t", "2", *extra,
                          cap], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def key(f):
    return tuple(sorted([(f["src_ip"], f["src_port"]), (f["dst_ip"], f["dst_port"])]))


BAD = []


def expect(cond, msg):
    if not cond:
        BAD.append(msg)


def tshark(cli, cap, exp_path):
    with open(exp_path) as fh:
        expected = json.load(fh)["flows"]
    ours = {key(f): f for f in run(cli, cap)}
    want = set()
    for e in expected:
        k = tuple(tuple(x) for x in e["endpoints"])
        want.add(k)
        f = ours.get(k)
        if f is None or "quic" not in f:
            BAD.append("%s %s: no quic column" % (cap, k))
            continue
        q = f["quic"]
        for name in ("version", "sni", "alpn", "server_cipher_suite"):
            expect(q.get(name) == e.get(name),
                   "%s %s: %s is %r, tshark %r" % (cap, k, name, q.get(name), e.get(name)))
        expect("QUIC" in f["ext_protocol"], "%s %s: no QUIC in ext_protocol" % (cap, k))
    for k, f in ours.items():
        if k not in want:
            expect("quic" not in f and "QUIC" not in f["ext_protocol"],
                   "%s %s: quic column where tshark sees no QUIC" % (cap, k))


def numbers(cli, data):
    # wa1kpcap__quic.pcap: 7 IPv4 QUIC v1 flows, each 6 unanswered client
    # Initials, scid empty, alpn [h3], suites [4865, 4866, 4867], SNI
    # www.google.com (6) or lh5.googleusercontent.com (1); one IPv6 gQUIC
    # flow with no quic column.
    cap = data + "/wa1kpcap__quic.pcap"
    for mode in ("full", "port_only"):
        flows = run(cli, cap, "--app-layer", mode)
        quic = [f for f in flows if "quic" in f]
        expect(len(flows) == 8 and len(quic) == 7, "%s %s: %d flows, %d quic" %
               (cap, mode, len(flows), len(quic)))
        snis = collections.Counter(f["quic"].get("sni") for f in quic)
        expect(snis == {"www.google.com": 6, "lh5.googleusercontent.com": 1},
               "%s %s: SNIs %s" % (cap, mode, dict(snis)))
        for f in quic:
            q = f["quic"]
            expect(q["version"] == 1 and q["version_name"] == "QUICv1" and
                   q["packet_types"] == ["Initial"] and q["scid_up"] == "" and
                   q["alpn"] == ["h3"] and q["cipher_suites"] == [4865, 4866, 4867] and
                   f["packet_count"] == 6 and f["up_packet_count"] == 6 and
                   f["byte_count"] == 7752,
                   "%s %s: %s" % (cap, mode, q))
            expect(f["ext_protocol"] == ["IPv4", "UDP", "QUIC"], "%s: %s" % (cap, f["ext_protocol"]))
        gquic = [f for f in flows if "quic" not in f]
        expect(all(f["ext_protocol"] == ["IPv6", "UDP"] for f in gquic), "%s: gQUIC flow" % cap)
    # wa1kpcap__quic2.pcap: 22 flows; 20 QUIC flows with these SNIs; no
    # QUIC information for 192.168.1.207:50750 -> 3.125.64.247:443 and the
    # IPv6 flow (no long header captured).
    cap = data + "/wa1kpcap__quic2.pcap"
    want = collections.Counter({
        "ai.immersivetranslate.com": 2, "cdn.jsdelivr.net": 2, "fonts.gstatic.com": 2,
        "www.google-analytics.com": 2, "fonts.googleapis.com": 1, "www.googletagmanager.com": 1,
        "resource.logitechg.com": 1, "www.logitechg.com": 1, "captcha.zhihu.com": 1,
        "apm.zhihu.com": 1, "unpkg.zhimg.com": 1, "vortex.r2wind.cn": 1,
        "config.immersivetranslate.com": 1, "cdn.yellowmessenger.com": 1,
        "www.redditstatic.com": 1, "aistudio.google.com": 1})
    for mode in ("full", "port_only"):
        flows = run(cli, cap, "--app-layer", mode)
        quic = [f for f in flows if "quic" in f]
        expect(len(flows) == 22 and len(quic) == 20, "%s %s: %d flows, %d quic" %
               (cap, mode, len(flows), len(quic)))
        snis = collections.Counter(f["quic"].get("sni") for f in quic)
        expect(snis == want, "%s %s: SNIs %s" % (cap, mode, dict(snis)))
        none = sorted(key(f) for f in flows if "quic" not in f)
        expect(len(none) == 2 and (("192.168.1.207", 50750), ("3.125.64.247", 443)) in none,
               "%s %s: flows without quic %s" % (cap, mode, none))
    # the flow keyword: quic keeps exactly the flows with a quic column
    for cap in (data + "/wa1kpcap__quic.pcap", data + "/wa1kpcap__quic2.pcap"):
        allf = run(cli, cap)
        n = sum("quic" in f for f in allf)
        yes = run(cli, cap, "--filter", "quic")
        no = run(cli, cap, "--filter", "not quic")
        expect(len(yes) == n and all("quic" in f for f in yes), "%s: --filter quic" % cap)
        expect(len(no) == len(allf) - n and not any("quic" in f for f in no),
               "%s: --filter 'not quic'" % cap)


def ja4(cli, cap, want):
    quic = [f for f in run(cli, cap) if "quic" in f]
    expect(len(quic) == 1, "%s: %d quic flows" % (cap, len(quic)))
    for f in quic:
        expect(f["quic"].get("ja4") == want, "%s: ja4 %s, reference %s" %
               (cap, f["quic"].get("ja4"), want))


def main():
    cli, mode = sys.argv[1], sys.argv[2]
    if mode == "tshark":
        tshark(cli, sys.argv[3], sys.argv[4])
    elif mode == "numbers":
        numbers(cli, sys.argv[3])
    elif mode == "ja4":
        ja4(cli, sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
    for m in BAD:
        print(m)
    sys.exit(1 if BAD else 0)


if __name__ == "__main__":
    main()
