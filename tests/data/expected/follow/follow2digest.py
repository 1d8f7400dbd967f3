"""Turn `tshark -q -z follow,tcp,raw,N ...` output (several streams, in order)
into the compact .follow format read by tests/unit/test_tcpstream.c:

    # <capture>: tshark 4.0 follow,tcp,raw; limit <L>
    stream <N> <node0 addr:port> <node1 addr:port>
    dir <0|1> <total bytes> <kept = min(L, total)> <sha256 of the kept bytes>
        <min(1024, total)> <sha256 of those>

(the second pair checks a small limit on real data).

Node 0 is the sender of the stream's first packet (tshark's "client");
dir 0 is node 0 -> node 1. Unindented hex lines are node 0's data,
tab-indented ones node 1's, each line one tshark follow record."""
import hashlib
import sys

cap, limit = sys.argv[1], int(sys.argv[2])
out = ["# %s: tshark 4.0 follow,tcp,raw; limit %d" % (cap, limit)]
cur = None


def flush():
    if cur is None:
        return
    out.append("stream %s %s %s" % (cur["n"], cur["node"][0], cur["node"][1]))
    for d in (0, 1):
        b = bytes(cur["data"][d])
        k, h = b[:limit], b[:1024]
        out.append("dir %d %d %d %s %d %s" % (d, len(b), len(k), hashlib.sha256(k).hexdigest(),
                                            len(h), hashlib.sha256(h).hexdigest()))


for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("Filter: tcp.stream eq "):
        flush()
        cur = {"n": line.split()[-1], "node": ["", ""], "data": [bytearray(), bytearray()]}
    elif line.startswith("Node 0: "):
        cur["node"][0] = line[8:]
    elif line.startswith("Node 1: "):
        cur["node"][1] = line[8:]
    elif cur is not None and line and not line.startswith(("=", "Follow:")):
        d = 1 if line.startswith("\t") else 0
        cur["data"][d] += bytes.fromhex(line.strip())
flush()
print("\n".join(out))
