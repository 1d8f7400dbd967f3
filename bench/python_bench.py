#!/usr/bin/python3
"""The Python binding on a large capture: peak memory of the flow iterator
and the cost of a custom feature written in Python versus a C plugin.

    ./build/bench/wkp-gen --size 200M -o /tmp/big.pcap
    /usr/bin/python3 bench/python_bench.py /tmp/big.pcap            # iterate only
    /usr/bin/python3 bench/python_bench.py /tmp/big.pcap --python   # + a Python feature
    /usr/bin/python3 bench/python_bench.py /tmp/big.pcap \\
        --plugin build/examples/plugins/libwkp_entropy.so          # + the C entropy plugin

Prints flows, wall seconds, and the process's peak resident memory
(ru_maxrss), which stays flat as the capture grows: the iterator holds
at most queue_size flows and the engine's hand-off is bounded. One mode
per process, so each peak is its own.
"""
import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from wa1kpcap import Wa1kPcap  # noqa: E402


def up_share(flow):
    """The share of packets sent by the flow's initiator."""
    return flow.up_packet_count / flow.packet_count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--python", action="store_true", help="register a Python feature")
    ap.add_argument("--plugin", help="load a C plugin (custom.<name> column)")
    a = ap.parse_args()
    analyzer = Wa1kPcap(threads=a.threads, plugins=[a.plugin] if a.plugin else [])
    if a.python:
        analyzer.register_feature("up_share", up_share)
    t0 = time.monotonic()
    flows = packets = 0
    for flow in analyzer.analyze_file(a.capture):
        flows += 1
        packets += flow.packet_count
    wall = time.monotonic() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mode = "python feature" if a.python else ("plugin " + os.path.basename(a.plugin)
                                              if a.plugin else "iterate")
    print("%s: %d flows, %d packets, %.2f s, peak RSS %.0f MiB"
          % (mode, flows, packets, wall, rss))


if __name__ == "__main__":
    main()
