#!/usr/bin/env python3
"""Write expected/<capture>.tsv for each capture of data/ from tshark
(4.0): per TCP stream with HTTP, the first request's and the first
response's fields and the number of requests and responses. The two
tshark commands are written at the top of each file; the tests read the
files and never run tshark. Usage: make_expected.py [CAPTURE...]."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# extra tshark arguments per capture (ports tshark would not decode as HTTP)
EXTRA = {"ports.pcap": ["-d", "tcp.port==18080,http"]}
COLS = ["method", "path", "version", "host", "user_agent", "content_type", "content_length",
        "status_code", "status_reason", "response_version", "server", "response_content_type",
        "response_content_length"]
REQ = ["http.request.method", "http.request.uri", "http.request.version", "http.host",
       "http.user_agent"]
RESP = ["http.response.code", "http.response.phrase", "http.response.version", "http.server"]
# in requests and responses alike (a field named twice in one command comes out empty)
BOTH = ["http.content_type", "http.content_length_header"]
ADDR = ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport"]


def tshark(cap, extra, occurrence, fields):
    cmd = (["tshark", "-r", cap] + extra + ["-Y", "http", "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=" + occurrence, "-E", "aggregator=/s"])
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return cmd, [line.split("\t") for line in out.splitlines()]


def main():
    caps = sys.argv[1:] or sorted(os.listdir(os.path.join(HERE, "data")))
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    for name in caps:
        name = os.path.basename(name)
        extra = EXTRA.get(name, [])
        rel = os.path.join("data", name)
        os.chdir(HERE)
        c1, rows = tshark(rel, extra, "f",
                          ADDR + ["http.request", "http.response"] + REQ + RESP + BOTH)
        c2, counts = tshark(rel, extra, "a", ["tcp.stream", "http.request.method",
                                              "http.response.code"])
        flows = {}
        order = []
        for r in rows:
            st, s4, s6, sp, d4, d6, dp, isreq, isresp = r[:9]
            req, resp = r[9:9 + len(REQ)], r[9 + len(REQ):9 + len(REQ) + len(RESP)]
            both = r[9 + len(REQ) + len(RESP):]
            req, resp = req + both, resp + both
            if st not in flows:
                a, b = "%s|%s" % (s4 or s6, sp), "%s|%s" % (d4 or d6, dp)
                flows[st] = {"key": " ".join(sorted([a, b])), "req": None, "resp": None,
                             "nreq": 0, "nresp": 0}
                order.append(st)
            f = flows[st]
            if isreq and f["req"] is None:
                f["req"] = req
            if isresp and f["resp"] is None:
                f["resp"] = resp
        for st, methods, codes in counts:
            flows[st]["nreq"] += len(methods.split()) if methods else 0
            flows[st]["nresp"] += len(codes.split()) if codes else 0
        version = subprocess.run(["tshark", "--version"], check=True, capture_output=True,
                                 text=True).stdout.splitlines()[0]
        with open(os.path.join(HERE, "expected", name + ".tsv"), "w") as out:
            out.write("# " + version + "\n")
            out.write("# " + " ".join(c1) + "\n")
            out.write("# " + " ".join(c2) + "\n")
            out.write("\t".join(["flow"] + COLS + ["requests", "responses"]) + "\n")
            for st in order:
                f = flows[st]
                if not f["nreq"] and not f["nresp"]:
                    continue
                vals = ((f["req"] or [""] * (len(REQ) + len(BOTH))) +
                        (f["resp"] or [""] * (len(RESP) + len(BOTH))))
                out.write("\t".join([f["key"]] + vals + [str(f["nreq"]), str(f["nresp"])]) + "\n")


main()
