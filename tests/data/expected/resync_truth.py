#!/usr/bin/env python3
"""tshark's flows for the damaged captures read with --resync: for each capture of
src/damaged.json, tshark_flows.py on the undamaged part before the damage (the file cut at
damage_at, a record boundary) plus tshark_flows.py on the part after it (the file's first
header_bytes, i.e. the pcap header or the pcapng SHB and IDBs, followed by the bytes from
resume_at), summed per five-tuple, written to expected/resync/CAPTURE.truth.json.

    python3 expected/resync_truth.py      (from tests/data; needs tshark and tshark_flows.py)
"""
import json, os, subprocess, sys, tempfile

TOOL = os.environ.get("TSHARK_FLOWS", "/work/shared/tools/tshark_flows.py")


def flows(path):
    return json.loads(subprocess.run([sys.executable, TOOL, path], capture_output=True,
                                     check=True, text=True).stdout)


def main():
    meta = json.load(open("src/damaged.json"))
    with tempfile.TemporaryDirectory() as tmp:
        for name, m in sorted(meta.items()):
            if "damage_at" not in m:
                continue
            d = open(name, "rb").read()
            ext = os.path.splitext(name)[1]
            before, after = os.path.join(tmp, "before" + ext), os.path.join(tmp, "after" + ext)
            open(before, "wb").write(d[:m["damage_at"]])
            open(after, "wb").write(d[:m["header_bytes"]] + d[m["resume_at"]:])
            total, skipped = {}, {}
            for part in (flows(before), flows(after)):
                for k, (p, b) in part["flows"].items():
                    t = total.setdefault(k, [0, 0])
                    t[0] += p
                    t[1] += b
                for k, n in part["skipped"].items():
                    skipped[k] = skipped.get(k, 0) + n
            with open(os.path.join("expected", "resync", name + ".truth.json"), "w") as f:
                json.dump({"capture": name, "flows": total, "skipped": skipped}, f, indent=1,
                          sort_keys=True)


if __name__ == "__main__":
    main()
