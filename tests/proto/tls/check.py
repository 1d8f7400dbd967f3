#!/usr/bin/env python3
"""Checks of the tls column through the CLI (tests/proto/tls.cmake).

  check.py --cli CLI tshark CAPTURE EXPECTED.tsv
      Every conversation of EXPECTED.tsv (made by make_expected.py from
      tshark) has a flow whose tls object gives the same sni, alpn,
      cipher_suites, cipher_suite, ja3, ja3s and certificate count ('-': no
      such key).
  check.py --cli CLI ja4 EXPECTED.tsv DATA_DIR
      ja4 and sni of each capture listed (expected/ja4.tsv).
  check.py --cli CLI numbers DATA_DIR OWN_DATA_DIR
      Values measured on the original for single, multi, fin-rst and dup,
      and what --app-layer and --filter change.
Prints one line per failure and exits 1 if any.
"""
import argparse
import collections
import json
import os
import subprocess
import sys

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def run(cli, capture, *args):
    out = subprocess.run([cli, "analyze", "-f", "ndjson", "-o", "-", *args, capture],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def endpoint(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def key(flow):
    return tuple(sorted([endpoint(flow["src_ip"], flow["src_port"]),
                         endpoint(flow["dst_ip"], flow["dst_port"])]))


def joined(v):
    if v is None:
        return "-"
    return ",".join(str(x) for x in v) if isinstance(v, list) else str(v)


def cmd_tshark(a):
    flows = collections.defaultdict(list)
    for f in run(a.cli, a.capture, "--no-sequences"):
        if f.get("tls"):
            flows[key(f)].append(f["tls"])
    rows = [line.rstrip("\n").split("\t") for line in open(a.expected) if not line.startswith("#")]
    name = os.path.basename(a.capture)
    check(rows, f"{name}: no conversation expected")
    for r in rows:
        k = (r[0], r[1])
        tls = next((t for t in flows.get(k, []) if "ja3" in t or "ja3s" in t), None)
        if tls is None:
            check(False, f"{name} {k}: no flow with TLS hello values")
            continue
        sni = tls.get("sni", [None])[0] if tls.get("sni") else None
        got = [sni or "-", joined(tls.get("alpn")), joined(tls.get("cipher_suites")),
               joined(tls.get("cipher_suite")), tls.get("ja3", "-"), tls.get("ja3s", "-"),
               str(len(tls["certificates"])) if tls.get("certificates") else "-"]
        for field, want, have in zip(["sni", "alpn", "cipher_suites", "cipher_suite", "ja3",
                                      "ja3s", "certificates"], r[2:], got):
            check(want == have, f"{name} {k} {field}: tshark {want!r}, ours {have!r}")
    print(f"{name}: {len(rows)} conversations compared")


def cmd_ja4(a):
    for line in open(a.expected):
        if line.startswith("#") or not line.strip():
            continue
        cap, ja4, sni = line.rstrip("\n").split("\t")
        tls = [f["tls"] for f in run(a.cli, os.path.join(a.data, cap)) if f.get("tls")]
        check(len(tls) == 1, f"{cap}: {len(tls)} TLS flows, want 1")
        if tls:
            check(tls[0].get("ja4") == ja4, f"{cap}: ja4 {tls[0].get('ja4')}, want {ja4}")
            check(tls[0].get("sni") == [sni], f"{cap}: sni {tls[0].get('sni')}, want [{sni}]")
            print(f"{cap}: {tls[0].get('ja4')}")


def cmd_numbers(a):
    d = a.data
    single = run(a.cli, os.path.join(d, "wa1kpcap__single.pcap"))
    check(len(single) == 1, "single: one flow")
    f = single[0]
    t = f.get("tls", {})
    check(f["ext_protocol"] == ["IPv4", "TCP", "TLS", "HTTPS"], f"single ext {f['ext_protocol']}")
    want = {"version": "3.1", "sni": ["tracking.miui.com"], "alpn": ["h2", "http/1.1"],
            "cipher_suite": 49199, "supported_groups": [29, 23, 24], "content_type": 22,
            "handshake_type": 1, "record_length": 462}
    for k, v in want.items():
        check(t.get(k) == v, f"single {k}: {t.get(k)!r}, want {v!r}")
    check(len(t.get("cipher_suites", [])) == 20, "single: 20 suites")
    check(len(t.get("signature_algorithms", [])) == 12, "single: 12 signature algorithms")
    check(len(t.get("certificates", [])) == 2, "single: 2 certificates")
    # handshake types of the whole handshake up to the certificate chain (tshark:
    # tls.handshake.type gives 1, then 2, 11, 12, 14 in the server's segments)
    check(t.get("handshake_types") == [1, 2, 11, 12, 14], f"single types {t.get('handshake_types')}")
    check(t.get("negotiated_version") == "3.3", "single negotiated_version 3.3")
    check(t.get("resumed") is False, "single not resumed")
    for mode in ("port_only",):
        t2 = run(a.cli, os.path.join(d, "wa1kpcap__single.pcap"), "--app-layer", mode)[0]
        check(t2.get("tls", {}).get("sni") == ["tracking.miui.com"], f"single {mode}: sni")
    none = run(a.cli, os.path.join(d, "wa1kpcap__single.pcap"), "--app-layer", "none")[0]
    check("tls" not in none and none["ext_protocol"] == ["IPv4", "TCP"], "single none: no TLS")

    dup = run(a.cli, os.path.join(d, "wa1kpcap__dup.pcap"))
    check(len(dup) == 1, "dup: one flow")
    t = dup[0].get("tls", {})
    check(t.get("content_type") == 23 and "version" not in t and "sni" not in t,
          f"dup: app data only, got {t}")
    check(dup[0]["ext_protocol"] == ["IPv4", "TCP", "TLS"], f"dup ext {dup[0]['ext_protocol']}")

    finrst = os.path.join(d, "wa1kpcap__fin-rst.pcap")
    f = run(a.cli, finrst)
    check(len(f) == 1, "fin-rst: one flow")
    t = f[0].get("tls", {})
    check("sni" not in t and t.get("cipher_suite") == 4865, f"fin-rst: {t}")
    check(len(t.get("cipher_suites", [])) == 19, "fin-rst: 19 suites")
    check(t.get("supported_groups") == [29, 23, 24, 25], "fin-rst groups")
    check(f[0]["ext_protocol"] == ["IPv4", "TCP", "TLS"], "fin-rst full: TLS by payload")
    for mode in ("port_only", "none"):
        f = run(a.cli, finrst, "--app-layer", mode)
        check(f[0]["ext_protocol"] == ["IPv4", "TCP"] and "tls" not in f[0],
              f"fin-rst {mode}: port 853 is no TLS port")

    multi = os.path.join(d, "wa1kpcap__multi.pcap")
    flows = run(a.cli, multi)
    tls = [x["tls"] for x in flows if x.get("tls")]
    check(len(tls) == 47, f"multi: {len(tls)} TLS flows, want 47")
    ext = collections.Counter(tuple(x["ext_protocol"]) for x in flows)
    check(ext[("IPv4", "TCP", "TLS", "HTTPS")] == 28, "multi: 28 HTTPS")
    check(ext[("IPv4", "TCP", "TLS")] == 19, "multi: 19 TLS without HTTPS")
    sni = collections.Counter(x["sni"][0] for x in tls if x.get("sni"))
    check(sni == {"tracking.miui.com": 8, "dot.pub": 4, "dns.alidns.com": 4,
                  "v20.events.data.microsoft.com": 1, "mobile.events.data.microsoft.com": 1},
          f"multi sni {dict(sni)}")
    check(sum("cipher_suite" in x for x in tls) == 44, "multi: cipher_suite in 44")
    check(sum("certificates" in x for x in tls) == 17, "multi: certificates in 17")
    po = run(a.cli, multi, "--app-layer", "port_only")
    check(sum(1 for x in po if x.get("tls")) == 31, "multi port_only: 31 TLS flows")
    # port_only claims on the port alone: the TLS flows are kept by the
    # keyword, and so is a flow claimed on port 443 that never showed a
    # record (two keep-alive-only flows of multi)
    keys = {key(x) for x in run(a.cli, multi, "--app-layer", "port_only", "--filter", "tls")}
    check(all(key(x) in keys for x in po if x.get("tls")), "port_only --filter tls keeps TLS")
    no = run(a.cli, multi, "--app-layer", "none")
    check(sum(1 for x in no if x.get("tls")) == 0, "multi none: no TLS")
    only = run(a.cli, multi, "--filter", "tls")
    check(len(only) == 47 and all(x.get("tls") for x in only), f"--filter tls: {len(only)}")
    rest = run(a.cli, multi, "--filter", "not tls")
    check(len(rest) == len(flows) - 47 and not any(x.get("tls") for x in rest),
          f"--filter 'not tls': {len(rest)}, want {len(flows) - 47}")

    port = os.path.join(a.own, "made__tls_port8443.pcap")
    f = run(a.cli, port)[0]
    check(f.get("tls", {}).get("sni") == ["tracking.miui.com"], "port 8443 full: TLS by payload")
    for mode in ("port_only", "none"):
        f = run(a.cli, port, "--app-layer", mode)[0]
        check("tls" not in f and f["ext_protocol"] == ["IPv4", "TCP"], f"port 8443 {mode}")
        f = run(a.cli, port, "--app-layer", mode, "--filter", "tls")
        check(f == [], f"port 8443 {mode} --filter tls: no flow")
    print("numbers checked")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cli", required=True)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("tshark")
    s.add_argument("capture")
    s.add_argument("expected")
    s = sub.add_parser("ja4")
    s.add_argument("expected")
    s.add_argument("data")
    s = sub.add_parser("numbers")
    s.add_argument("data")
    s.add_argument("own")
    a = p.parse_args()
    {"tshark": cmd_tshark, "ja4": cmd_ja4, "numbers": cmd_numbers}[a.cmd](a)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
