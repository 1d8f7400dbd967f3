#!/usr/bin/env python3
"""Write expected_apps.tsv: for each TCP and UDP conversation tshark names
one of the protocols of protocols/signatures.yaml, the `app` wa1kpcap must
give it. Run by hand when a capture or the mapping changes (tests never
run tshark):

    cd tests/data && python3 ../e2e/signatures/make_expected.py \\
        $(cut -f1 /path/to/corpus/MANIFEST.tsv | tail -n +2) \\
        ../e2e/signatures/app_protocols.pcap > ../e2e/signatures/expected_apps.tsv

(the corpus: the captures of tests/data that came from public
repositories, listed in its MANIFEST.tsv; made__* captures are not in it).

For each capture it runs

    tshark -r CAPTURE -T fields -E separator=/t -e frame.number -e tcp.stream \\
        -e udp.stream -e frame.protocols -e tls.record.content_type

and, per tcp.stream / udp.stream, takes the first frame (wa1kpcap's
flow_id is the ordinal of a flow's first packet, tshark's frame.number)
and the first frame whose frame.protocols holds a name of NAMES below (the
first such name in the chain): its label is the expected `app`. "tls"
counts only in a frame where tshark decoded a TLS record (content_type
present): a lone keep-alive byte on port 443 is "tls" to tshark but
carries nothing to recognise. A
conversation with QUIC in any frame is QUIC (tshark shows the TLS inside
it), not TLS.
Conversations tshark names none of these are not listed."""
import os
import subprocess
import sys

# tshark's protocol names -> the labels of protocols/signatures.yaml
NAMES = {"ssh": "SSH", "smtp": "SMTP", "ftp": "FTP", "pop": "POP3", "imap": "IMAP",
         "rtsp": "RTSP", "sip": "SIP", "bittorrent": "BitTorrent", "bt-dht": "BitTorrent",
         "http": "HTTP", "tls": "TLS"}


def conversations(path):
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-E", "separator=/t",
                          "-e", "frame.number", "-e", "tcp.stream", "-e", "udp.stream",
                          "-e", "frame.protocols", "-e", "tls.record.content_type"],
                         capture_output=True, text=True, check=False).stdout
    first, app = {}, {}
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 5 or not (f[1] or f[2]):
            continue
        # an ICMP error quoting a packet carries its stream number too: skip it
        chain = f[3].split(":")
        if "icmp" in chain or "icmpv6" in chain:
            continue
        key = ("tcp", f[1]) if f[1] else ("udp", f[2])
        frame = int(f[0])
        first.setdefault(key, frame)
        if "quic" in chain or "gquic" in chain:
            app[key] = None  # TLS inside QUIC: the flow is QUIC
        if key not in app:
            for name in chain:
                if name == "tls" and not f[4]:
                    continue  # a segment given to TLS by its port, no record in it
                if name in NAMES:
                    app[key] = NAMES[name]
                    break
    return sorted((first[k], app[k]) for k in app if app[k])


def main(argv):
    caps = []
    for a in argv:
        if os.path.isdir(a):
            caps += sorted(os.path.join(a, n) for n in os.listdir(a)
                           if n.endswith((".pcap", ".pcapng")))
        else:
            caps.append(a)
    print("# capture\tflow_id\tapp (tests/e2e/signatures/make_expected.py)")
    for c in caps:
        for frame, label in conversations(c):
            print("%s\t%d\t%s" % (os.path.basename(c), frame, label))


if __name__ == "__main__":
    main(sys.argv[1:])
