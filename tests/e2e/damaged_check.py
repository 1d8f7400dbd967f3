#!/usr/bin/env python3
"""Damaged captures and pcapng interfaces of an undecoded link type (docs/design.md,
"Damaged captures"), through the CLI, against tests/data/src/damaged.json: where each damage
starts, where the next whole record starts and how many records lie before and after it were
computed by the generator (src/make_damaged.py) from the original's record structure.

For each damaged capture, with each reader: the read ends at the damage (exit 0, one warning
naming the file and the offset, summary: one damaged range from the offset to the end of the
file, packets_read = the records before it). --resync (mmap reader): one range from the damage
to the next whole record, resumed, packets_read = before + after. --strict: exit 1, one stderr
line naming the file and the offset, no output file. --resync --reader libpcap: refused.
The type-274 pcapng: its packets counted as unsupported_link, one warning naming the interface.
Usage: damaged_check.py WA1KPCAP DATA_DIR      (last line: N passed, N failed)
"""
import json, os, subprocess, sys, tempfile


def run(binary, cap, args, tmp):
    out, summ = os.path.join(tmp, "f.ndjson"), os.path.join(tmp, "s.json")
    for p in (out, summ):
        if os.path.exists(p):
            os.remove(p)
    r = subprocess.run([binary, "analyze", cap, "-q", "-f", "ndjson", "-o", out, "--summary",
                        summ] + args, capture_output=True, text=True, timeout=120)
    s = json.load(open(summ)) if os.path.exists(summ) and r.returncode == 0 else None
    return r.returncode, r.stderr.splitlines(), s, os.path.exists(out)


def main(binary, data):
    meta = json.load(open(os.path.join(data, "src", "damaged.json")))
    passed = failed = 0

    def check(label, ok, detail):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {label}: {detail}")

    with tempfile.TemporaryDirectory() as tmp:
        for name, m in sorted(meta.items()):
            cap = os.path.join(data, name)
            size = os.path.getsize(cap)
            if "damage_at" not in m:
                rc, err, s, _ = run(binary, cap, [], tmp)
                p = s["packets"] if s else {}
                check(name, rc == 0 and p.get("unsupported_link") == m["unsupported_link"]
                      and p.get("packets_read") == m["interface0_packets"] + m["unsupported_link"]
                      and sum(n for k, n in p.items() if k != "packets_read") == p["packets_read"],
                      f"exit {rc}, packets {p}")
                warn = [l for l in err if "interface 1" in l and "274" in l and name in l]
                check(name + " warning", len(err) == 1 and len(warn) == 1, f"stderr {err}")
                continue
            at, resume = m["damage_at"], m["resume_at"]
            for reader in ("mmap", "libpcap"):
                label = f"{name} --reader {reader}"
                rc, err, s, _ = run(binary, cap, ["--reader", reader], tmp)
                f = s["files"][0] if s else {}
                check(label, rc == 0 and f.get("packets") == m["before"]
                      and [(d["offset"], d["length"], d["resumed"]) for d in f["damaged"]]
                      == [(at, size - at, False)],
                      f"exit {rc}, file {f}")
                check(label + " warning", len(err) == 1 and name in err[0]
                      and f"offset {at}" in err[0], f"stderr {err}")
                rc, err, s, left = run(binary, cap, ["--reader", reader, "--strict"], tmp)
                check(label + " --strict", rc != 0 and len(err) == 1 and name in err[0]
                      and f"offset {at}" in err[0] and not left, f"exit {rc}, stderr {err}, "
                      f"output left {left}")
            rc, err, s, _ = run(binary, cap, ["--resync"], tmp)
            f = s["files"][0] if s else {}
            check(name + " --resync", rc == 0 and f.get("packets") == m["before"] + m["after"]
                  and [(d["offset"], d["length"], d["resumed"]) for d in f["damaged"]]
                  == [(at, resume - at, True)], f"exit {rc}, file {f}")
            check(name + " --resync warning", len(err) == 1 and name in err[0]
                  and f"offset {at}" in err[0] and f"resumed at {resume}" in err[0],
                  f"stderr {err}")
            rc, err, s, left = run(binary, cap, ["--resync", "--reader", "libpcap"], tmp)
            check(name + " --resync --reader libpcap", rc != 0 and len(err) == 1
                  and "mmap" in err[0] and not left, f"exit {rc}, stderr {err}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
