#!/usr/bin/env python3
"""Write tests/proto/tls/expected/<capture>.tsv from tshark (4.0).

Not run by the tests (they never need tshark): run it by hand after a
capture is added, and commit what it writes. Per TCP conversation in
which tshark decodes a ClientHello or a ServerHello, the first of each:

    tshark -r CAPTURE -d tcp.port==853,tls \
        -Y 'tls.handshake.type == 1 || tls.handshake.type == 2 || tls.handshake.type == 11' \
        -T fields -E separator=/t -E aggregator='|' -e ip.src -e ipv6.src -e tcp.srcport \
        -e ip.dst -e ipv6.dst -e tcp.dstport -e tls.handshake.type \
        -e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str \
        -e tls.handshake.ciphersuite -e tls.handshake.ja3 -e tls.handshake.ja3s \
        -e tls.handshake.certificate_length

(port 853, DNS over TLS, is not decoded as TLS by default.) Columns of the
expected file: endpoint_a, endpoint_b (ip:port, the lower one first), sni,
alpn (values joined by ','), cipher_suites (ClientHello, decimal, ','),
cipher_suite (ServerHello), ja3, ja3s, certificates (how many the first
Certificate message holds); '-' where tshark had no value.

usage: make_expected.py CAPTURE... (written next to this script)
"""
import os
import subprocess
import sys

FIELDS = ["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
          "tls.handshake.type", "tls.handshake.extensions_server_name",
          "tls.handshake.extensions_alpn_str", "tls.handshake.ciphersuite",
          "tls.handshake.ja3", "tls.handshake.ja3s", "tls.handshake.certificate_length"]
COMMAND = ["tshark", "-r", None, "-d", "tcp.port==853,tls", "-Y",
           "tls.handshake.type == 1 || tls.handshake.type == 2 || tls.handshake.type == 11",
           "-T", "fields",
           "-E", "separator=/t", "-E", "aggregator=|"]


def endpoint(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for cap in sys.argv[1:]:
        cmd = list(COMMAND)
        cmd[2] = cap
        for f in FIELDS:
            cmd += ["-e", f]
        # exit status 2 for a capture cut short: its packets are still read
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        flows = {}
        order = []
        for line in out.splitlines():
            c = line.split("\t")
            c += [""] * (len(FIELDS) - len(c))
            src = endpoint(c[0] or c[1], c[2])
            dst = endpoint(c[3] or c[4], c[5])
            key = tuple(sorted([src, dst]))
            if key not in flows:
                flows[key] = {}
                order.append(key)
            f = flows[key]
            types = c[6].split("|")
            suites = [str(int(x, 16)) for x in c[9].split("|") if x] if c[9] else []
            if "1" in types and "ch" not in f:
                f["ch"] = 1
                f["sni"] = c[7].split("|")[0] if c[7] else "-"
                f["alpn"] = c[8].replace("|", ",") if c[8] else "-"
                f["suites"] = ",".join(suites) if suites else "-"
                f["ja3"] = c[10].split("|")[0] if c[10] else "-"
            elif "2" in types and "sh" not in f:
                f["sh"] = 1
                f["suite"] = suites[0] if suites else "-"
                f["ja3s"] = c[11].split("|")[0] if c[11] else "-"
            if "11" in types and "certs" not in f:
                f["certs"] = str(len(c[12].split("|"))) if c[12] else "-"
        name = os.path.basename(cap)
        path = os.path.join(here, "expected", name + ".tsv")
        with open(path, "w") as o:
            o.write("# tshark 4.0: " + " ".join(cmd[:2] + [name] + cmd[3:6] +
                    ["'" + cmd[6] + "'"] + cmd[7:]) + "\n")
            o.write("# endpoint_a\tendpoint_b\tsni\talpn\tcipher_suites\tcipher_suite\tja3\tja3s\tcertificates\n")
            for key in order:
                f = flows[key]
                o.write("\t".join([key[0], key[1], f.get("sni", "-"), f.get("alpn", "-"),
                                   f.get("suites", "-"), f.get("suite", "-"), f.get("ja3", "-"),
                                   f.get("ja3s", "-"), f.get("certs", "-")]) + "\n")
        print(f"{path}: {len(order)} flows")


if __name__ == "__main__":
    main()
