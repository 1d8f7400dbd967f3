#!/usr/bin/python3
"""Writes <capture>.expected.json from tshark 4.0 (needs tshark; the tests
do not): per UDP flow with QUIC, the first QUIC version, the first
ClientHello's server name and ALPN list, the first ServerHello's cipher
suite. The command is recorded in <capture>.tshark.

usage: make_expected.py CAPTURE...   (run from tests/proto/quic)
"""
import json
import os
import subprocess
import sys

FIELDS = ["ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst", "udp.dstport",
          "quic.version", "tls.handshake.type", "tls.handshake.extensions_server_name",
          "tls.handshake.extensions_alpn_str", "tls.handshake.ciphersuite"]


def command(cap):
    cmd = ["tshark", "-r", cap, "-Y", "quic", "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    return cmd


def main():
    for cap in sys.argv[1:]:
        cmd = command(cap)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        flows = {}
        order = []
        for line in out.splitlines():
            v = line.split("|")
            if len(v) != len(FIELDS):
                continue
            src = (v[0] or v[1], int(v[2]))
            dst = (v[3] or v[4], int(v[5]))
            k = tuple(sorted([src, dst]))
            f = flows.get(k)
            if f is None:
                f = flows[k] = {"endpoints": [list(k[0]), list(k[1])]}
                order.append(k)
            versions = [int(x, 16) for x in v[6].split(",") if x]
            nonzero = [x for x in versions if x]
            if nonzero and "version" not in f:
                f["version"] = nonzero[0]
            types = v[7].split(",") if v[7] else []
            if "1" in types and "sni" not in f and v[8]:
                f["sni"] = v[8]
            if "1" in types and "alpn" not in f and v[9]:
                f["alpn"] = v[9].split(",")
            if "2" in types and "server_cipher_suite" not in f and v[10]:
                # the ServerHello's suite: the last listed when a ClientHello is in the same frame
                f["server_cipher_suite"] = int(v[10].split(",")[-1], 16)
        base = os.path.basename(cap)
        with open(base + ".expected.json", "w") as fh:
            json.dump({"capture": base, "flows": [flows[k] for k in order]}, fh, indent=1)
            fh.write("\n")
        ver = subprocess.run(["tshark", "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
        with open(base + ".tshark", "w") as fh:
            fh.write("# %s, run from tests/proto/quic\n%s\n" % (ver, " ".join(
                "'%s'" % a if any(c in a for c in " |=,") else a for a in cmd)))


if __name__ == "__main__":
    main()
