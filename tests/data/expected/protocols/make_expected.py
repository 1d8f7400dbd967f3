#!/usr/bin/env python3
"""Write tests/data/expected/protocols/CAPTURE.json: for each flow of CAPTURE, the fields the
shipped definitions of protocols/ must give in its `proto.<layer>` columns, from tshark
(Wireshark 4.0.17, Debian 12). Run from anywhere:

    python3 tests/data/expected/protocols/make_expected.py

The tests only read the JSON files; they never run tshark. Each value is a tshark field, or a
formula over tshark fields stated next to it (LAYERS below); the exact tshark command lines are
printed into commands.txt beside this script. Flow values are first-wins per field over the
flow's packets in capture order, as the engine merges a user layer: a packet adds the fields
it has that the flow has not got yet. `top` is the protocol routed from UDP or TCP, whose
upper-cased name the flow's ext_protocol must hold. Flows are keyed `a:pa|b:pb|proto` (the lower
(address, port) first, the protocol as a number), as tests/e2e/truth_check.py keys them."""
import ipaddress
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(os.path.dirname(HERE))
KEY_FIELDS = ["frame.number", "ip.src", "ip.dst", "ip.proto", "udp.srcport", "udp.dstport",
              "tcp.srcport", "tcp.dstport"]


def sint8(v):
    v = int(v)
    return v - 256 if v > 127 else v


def ntp(f, raw):
    out = {"leap_indicator": int(f["ntp.flags.li"]), "version": int(f["ntp.flags.vn"]),
           "mode": int(f["ntp.flags.mode"]), "stratum": int(f["ntp.stratum"]),
           # poll and precision are signed 8-bit (RFC 5905 7.3); tshark shows the octet
           "poll": sint8(f["ntp.ppoll"]), "precision": sint8(f["ntp.precision"]),
           "root_delay": int(f["ntp.rootdelay"]), "root_dispersion": int(f["ntp.rootdispersion"]),
           "reference_id": f["ntp.refid"].replace(":", "")}
    # timestamps: the 8 raw bytes of tshark's ntp.reftime/org/rec/xmt (-T json -x):
    # seconds = first 4 bytes, fraction = last 4, big-endian
    for name, fld in (("reference", "ntp.reftime"), ("origin", "ntp.org"),
                      ("receive", "ntp.rec"), ("transmit", "ntp.xmt")):
        h = raw[fld + "_raw"]
        out[name + "_ts_sec"], out[name + "_ts_frac"] = int(h[:8], 16), int(h[8:16], 16)
    return {"ntp": out}


def syslog(f, raw):
    fac, sev = int(f["syslog.facility"]), int(f["syslog.level"])
    return {"syslog": {"facility": fac, "severity": sev, "pri": fac * 8 + sev}}


def modbus(f, raw):
    exc = f["modbus.exception_code"]
    ln = int(f["mbtcp.len"])
    # tshark's modbus.func_code drops the exception bit 0x80 that the wire carries
    fc = int(f["modbus.func_code"]) + (128 if exc else 0)
    out = {"modbus_tcp": {"transaction_id": int(f["mbtcp.trans_id"]),
                          "protocol_id": int(f["mbtcp.prot_id"]), "length": ln,
                          "unit_id": int(f["mbtcp.unit_id"]), "function_code": fc,
                          "adu_length": ln + 6, "exception": 1 if exc else 0}}
    if exc:
        out["modbus_exception"] = {"exception_code": int(exc)}
    return out


def mqtt(f, raw):
    h = int(f["mqtt.hdrflags"], 0)  # the first byte: type (4 bits), DUP, QoS (2), RETAIN
    ln = int(f["mqtt.len"])
    # only the first byte of Remaining Length is read: its low 7 bits and the "more" bit
    out = {"mqtt": {"packet_type": h >> 4, "dup": h >> 3 & 1, "qos": h >> 1 & 3, "retain": h & 1,
                    "length_continues": 1 if ln >= 128 else 0, "remaining_length": ln & 0x7F}}
    if f["mqtt.protoname"] and ln < 128:
        c = int(f["mqtt.conflags"], 0)
        out["mqtt_connect"] = {
            "protocol_name": f["mqtt.protoname"], "protocol_level": int(f["mqtt.ver"]),
            "username_flag": c >> 7 & 1, "password_flag": c >> 6 & 1, "will_retain": c >> 5 & 1,
            "will_qos": c >> 3 & 3, "will_flag": c >> 2 & 1, "clean_session": c >> 1 & 1,
            "keep_alive": int(f["mqtt.kalive"])}
        if int(f["mqtt.ver"]) in (3, 4):
            out["mqtt_client_id"] = {"client_id": f["mqtt.clientid"]}
    return out


def snmp(f, raw):
    # The BER length of the message SEQUENCE (X.690 8.1.3): the UDP payload is
    # tag (1) + length octets + body; body < 128 bytes: 1 length octet (the length itself),
    # < 256: 0x81 + 1 byte, else 0x82 + 2 bytes.
    size = int(f["udp.length"]) - 8
    out = {}
    if size - 2 < 128:
        lo, form = size - 2, 0
    elif size - 3 < 256:
        lo, form = 0x81, 2
        out["snmp_len1"] = {"message_length": size - 3}
    else:
        lo, form = 0x82, 3
        out["snmp_len2"] = {"message_length": size - 4}
    out["snmp"] = {"message_tag": 0x30, "length_octet": lo, "length_form": form}
    v = int(f["snmp.version"])
    out["snmp_message"] = {"version_tag": 2, "version_length": 1, "version": v}
    if v in (0, 1):
        # snmp.data is the index of the PDU in the CHOICE; its tag is [index] = 0xA0 + index
        out["snmp_community"] = {"community_tag": 4, "community": f["snmp.community"],
                                 "pdu_type": 0xA0 + int(f["snmp.data"])}
    return out


# capture -> (tshark display filter, fields, fields read raw, conversion); the display filter
# is also the name of the user protocol right above the transport (mbtcp: modbus_tcp)
LAYERS = {
    "PcapPlusPlus__many_interfaces-1.pcapng": (
        "ntp", ["ntp.flags.li", "ntp.flags.vn", "ntp.flags.mode", "ntp.stratum", "ntp.ppoll",
                "ntp.precision", "ntp.rootdelay", "ntp.rootdispersion", "ntp.refid"],
        ["ntp.reftime", "ntp.org", "ntp.rec", "ntp.xmt"], ntp),
    "made__syslog.pcap": ("syslog", ["syslog.facility", "syslog.level"], [], syslog),
    "made__modbus.pcap": ("mbtcp", ["mbtcp.trans_id", "mbtcp.prot_id", "mbtcp.len",
                                    "mbtcp.unit_id", "modbus.func_code",
                                    "modbus.exception_code"], [], modbus),
    "made__mqtt.pcap": ("mqtt", ["mqtt.hdrflags", "mqtt.len", "mqtt.protoname", "mqtt.ver",
                                 "mqtt.conflags", "mqtt.kalive", "mqtt.clientid"], [], mqtt),
    "made__snmp.pcap": ("snmp", ["udp.length", "snmp.version", "snmp.community", "snmp.data"],
                        [], snmp),
}


def canon(a, pa, b, pb, proto):
    x, y = (ipaddress.ip_address(a).compressed, int(pa)), (ipaddress.ip_address(b).compressed, int(pb))
    if x > y:
        x, y = y, x
    return f"{x[0]}:{x[1]}|{y[0]}:{y[1]}|{proto}"


def run(cmd, log):
    log.append(" ".join(cmd))
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def raw_fields(cap, dfilter, names, log):
    """frame number -> {field_raw: hex} from `tshark -T json -x` (first occurrence)."""
    if not names:
        return {}
    pkts = json.loads(run(["tshark", "-n", "-r", cap, "-Y", dfilter, "-T", "json", "-x"], log))
    out = {}

    def walk(o, acc):
        if isinstance(o, dict):
            for k, v in o.items():
                if k.endswith("_raw") and k[:-4] in names and k not in acc:
                    acc[k] = v[0] if isinstance(v, list) and isinstance(v[0], str) else v
                walk(v, acc)
        elif isinstance(o, list):
            for v in o:
                walk(v, acc)

    for p in pkts:
        layers = p["_source"]["layers"]
        acc = {}
        walk(layers, acc)
        out[int(layers["frame"]["frame.number"])] = acc
    return out


def main():
    log = []
    for cap, (dfilter, fields, rawnames, conv) in LAYERS.items():
        path = os.path.join(DATA, cap)
        names = KEY_FIELDS + fields
        text = run(["tshark", "-n", "-r", path, "-Y", dfilter, "-T", "fields", "-E",
                    "separator=/t", "-E", "occurrence=f"] + sum((["-e", n] for n in names), []),
                   log)
        raw = raw_fields(path, dfilter, rawnames, log)
        flows = {}
        for line in text.splitlines():
            f = dict(zip(names, line.split("\t")))
            tcp = f["ip.proto"] == "6"
            sp, dp = (f["tcp.srcport"], f["tcp.dstport"]) if tcp else (f["udp.srcport"], f["udp.dstport"])
            key = canon(f["ip.src"], sp, f["ip.dst"], dp, int(f["ip.proto"]))
            layers = flows.setdefault(key, {})
            for layer, vals in conv(f, raw.get(int(f["frame.number"]), {})).items():
                have = layers.setdefault(layer, {})
                for k, v in vals.items():
                    have.setdefault(k, v)  # first wins
        with open(os.path.join(HERE, cap + ".json"), "w") as out:
            top = {"mbtcp": "modbus_tcp"}.get(dfilter, dfilter)
            json.dump({"capture": cap, "top": top, "flows": flows}, out, indent=1, sort_keys=True)
            out.write("\n")
    with open(os.path.join(HERE, "commands.txt"), "w") as out:
        out.write("# tshark commands behind the JSON files here (Wireshark 4.0.17), written by\n"
                  "# make_expected.py, which states how each value follows from the fields.\n")
        out.write("\n".join(c.replace(DATA + "/", "tests/data/") for c in log) + "\n")


if __name__ == "__main__":
    main()
