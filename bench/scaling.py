#!/usr/bin/python3
"""Scaling model inputs and predictions for `wa1kpcap analyze -f none` (standard library only).

usage: scaling.py [--reps 3] [--readers "mmap libpcap"] [--threads "1 0 2 4 8"]
                  [--predict "4 8 16"] [--json FILE] WKP_BIN CAPTURE

For each reader: the reader alone (--bench-discard: workers drop packets on
receipt) and then -t N for each N (0 = the default, the online CPUs). Each run
is one process; wall is a monotonic clock around it, CPU is user + sys from
wait4, and the CPU of each thread is sampled from /proc/PID/task every 20 ms
(the main thread is the reader, then the workers in creation order, then the
merger). A 1,000-packet head of the capture gives the fixed cost (start,
end-of-capture flush and exit with almost no flows).

Model, for N workers on P free cores (reader and merger threads on top):
    wall(N, P) = max(R, W / N, (Rc + W) / P) + F
R  the reader-only wall time (discard run, minus F),
Rc the reader-only CPU time (discard run),
W  the worker CPU time at -t 1 (process CPU of the -t 1 run minus Rc),
F  the fixed cost (wall of the 1,000-packet run).
"""
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def run(cmd):
    """One process: wall, CPU, peak RSS and the CPU of each thread (sorted by tid)."""
    threads = {}
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    task_dir = "/proc/%d/task" % p.pid
    while True:
        try:
            for tid in os.listdir(task_dir):
                try:
                    with open("%s/%s/stat" % (task_dir, tid)) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    threads[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK
                except (FileNotFoundError, ProcessLookupError, IndexError):
                    pass
        except (FileNotFoundError, ProcessLookupError):
            pass
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.02)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    if status != 0:
        sys.exit("scaling.py: %s: exit status %d: %s" % (" ".join(cmd), status, err[:300]))
    return {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "rss_mib": ru.ru_maxrss / 1024,
        "thread_cpu_s": [threads[t] for t in sorted(threads)],
    }


def head(capture, n, dst):
    with open(capture, "rb") as src, open(dst, "wb") as out:
        h = src.read(24)
        out.write(h)
        fmt = "<IIII" if h[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">IIII"
        for _ in range(n):
            r = src.read(16)
            if len(r) < 16:
                break
            out.write(r)
            out.write(src.read(struct.unpack(fmt, r)[2]))


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def rng(runs, key):
    v = [r[key] for r in runs]
    return [min(v), max(v)]


def main(argv):
    reps, readers, threads, predict, json_out = 3, ["mmap", "libpcap"], [1, 0, 2, 4, 8], [4, 8, 16], None
    args = argv[1:]
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--reps":
            reps = int(args.pop(0))
        elif opt == "--readers":
            readers = args.pop(0).split()
        elif opt == "--threads":
            threads = [int(x) for x in args.pop(0).split()]
        elif opt == "--predict":
            predict = [int(x) for x in args.pop(0).split()]
        elif opt == "--json":
            json_out = args.pop(0)
        else:
            sys.exit(__doc__)
    if len(args) != 2:
        sys.exit(__doc__)
    wkp, capture = args
    if 1 not in threads:
        threads.insert(0, 1)
    cores = os.cpu_count()
    with open(capture, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    doc = {"capture": capture, "capture_bytes": os.path.getsize(capture), "cpus": cores,
           "reps": reps, "load_average_before": open("/proc/loadavg").read().split()[:3],
           "readers": {}}
    tmp = tempfile.mkdtemp()
    small = os.path.join(tmp, "head.pcap")
    head(capture, 1000, small)
    base = [wkp, "analyze", "-q", "-f", "none"]
    summary = os.path.join(tmp, "summary.json")
    packets = None
    for reader in readers:
        rd = {"runs": {}}
        print("scaling: reader %s" % reader, file=sys.stderr)

        def rows(name, cmd):
            out = []
            for i in range(reps):
                r = run(cmd)
                out.append(r)
                print("  %-10s run %d: %7.3f s wall %7.2f s CPU %7.1f MiB threads %s" % (
                    name, i + 1, r["wall_s"], r["cpu_s"], r["rss_mib"],
                    " ".join("%.2f" % c for c in r["thread_cpu_s"])), file=sys.stderr)
            rd["runs"][name] = out
            return out

        fixed = rows("fixed", base + ["-t", "1", "--reader", reader, small])
        disc = rows("discard", base + ["-t", "1", "--reader", reader, "--bench-discard", capture])
        for n in threads:
            cmd = base + ["-t", str(n), "--reader", reader, capture]
            if packets is None:
                cmd += ["--summary", summary]
            rows("t%d" % n, cmd)
            if packets is None:
                with open(summary) as f:
                    s = json.load(f)
                packets = s["packets"]["packets_read"]
                doc["flows"] = s["flows"]
        F = med(fixed, "wall_s")
        R = med(disc, "wall_s") - F
        Rc = med(disc, "cpu_s")
        t1 = rd["runs"]["t1"]
        W = med(t1, "cpu_s") - Rc
        # the worker thread alone at -t 1 (threads: reader, worker, merger)
        wt = [r["thread_cpu_s"][1] for r in t1 if len(r["thread_cpu_s"]) >= 3]
        rd["inputs"] = {"fixed_F_s": F, "reader_R_s": R, "reader_cpu_Rc_s": Rc,
                        "worker_cpu_W_s": W,
                        "worker_thread_cpu_t1_s": statistics.median(wt) if wt else None,
                        "reader_packets_per_s": (packets / (R + F)) if packets else None}

        def model(n, p):
            return max(R, W / n, (Rc + W) / p) + F

        rd["check"] = []
        for n in threads:
            eff = n if n > 0 else cores
            runs = rd["runs"]["t%d" % n]
            rd["check"].append({"threads": n, "workers": eff,
                                "predicted_wall_s": model(eff, cores),
                                "measured_wall_s": med(runs, "wall_s"),
                                "measured_range_s": rng(runs, "wall_s"),
                                "measured_cpu_s": med(runs, "cpu_s"),
                                "cpu_range_s": rng(runs, "cpu_s"),
                                "rss_mib": med(runs, "rss_mib")})
        rd["predict"] = [{"cores": p, "workers": p, "wall_s": model(p, p),
                          "packets_per_s": packets / model(p, p) if packets else None,
                          "bound": "reader" if R >= W / p and R >= (Rc + W) / p else "workers"}
                         for p in predict]
        doc["readers"][reader] = rd
    doc["packets"] = packets
    doc["load_average_after"] = open("/proc/loadavg").read().split()[:3]
    for reader, rd in doc["readers"].items():
        i = rd["inputs"]
        print("\n%s reader, %s (%s packets, %d CPUs, load %s -> %s)" % (
            reader, capture, packets, cores, " ".join(doc["load_average_before"]),
            " ".join(doc["load_average_after"])))
        print("  F fixed cost %.3f s | R reader wall %.3f s (%.2f M packets/s) | Rc reader CPU %.2f s"
              " | W worker CPU %.2f s (worker thread alone %.2f s)" % (
                  i["fixed_F_s"], i["reader_R_s"], (i["reader_packets_per_s"] or 0) / 1e6,
                  i["reader_cpu_Rc_s"], i["worker_cpu_W_s"], i["worker_thread_cpu_t1_s"] or 0))
        print("  %-8s %10s %18s %18s %8s" % ("-t", "predicted", "measured wall", "measured CPU", "RSS MiB"))
        for c in rd["check"]:
            print("  %-8s %10.2f %7.2f (%.2f-%.2f) %7.2f (%.2f-%.2f) %8.1f" % (
                "%d%s" % (c["threads"], " (dflt)" if c["threads"] == 0 else ""),
                c["predicted_wall_s"], c["measured_wall_s"], *c["measured_range_s"],
                c["measured_cpu_s"], *c["cpu_range_s"], c["rss_mib"]))
        for p in rd["predict"]:
            print("  %2d cores, -t %-2d: %.2f s, %.2f M packets/s (%s-bound)" % (
                p["cores"], p["workers"], p["wall_s"], (p["packets_per_s"] or 0) / 1e6, p["bound"]))
    if json_out:
        with open(json_out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)


if __name__ == "__main__":
    main(sys.argv)
