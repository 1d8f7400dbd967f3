#!/usr/bin/python3
"""Scaling model inputs and predictions for `wa1kpcap analyze -f none` (standard library only).

usage: scaling.py [--reps 3] [--readers "mmap libpcap"] [--threads "1 0 2 4 8"]
                  [--predict "4 8 16"] [--extra "ARGS"] [--json FILE] WKP_BIN CAPTURE

For each reader: the reader alone (--bench-discard: workers drop packets on
receipt) and then -t N for each N (0 = the default, the online CPUs). Each run
is one process; wall is a monotonic clock around it, CPU is user + sys from
wait4, and the CPU of each thread is sampled from /proc/PID/task every 20 ms
(the main thread is the reader, then the workers in creation order, then the
merger). A 1,000-packet head of the capture gives the fixed cost (start,
end-of-capture flush and exit with almost no flows). --extra is split into
words and appended to every engine command (e.g. "--parse-in workers").

Model, for N workers on P cores free for this run, from CPU seconds (so the
inputs do not depend on the machine's load):
    wall(N, P) = F + max(R(N), W(N) / N, (R(N) + W(N) + M(N)) / P)
F     the fixed cost: median wall of the 1,000-packet run,
R(N)  CPU of the reader (the main thread: read, decode to L4, hash, dispatch),
W(N)  CPU of all N workers together (every packet and flow, the end-of-capture
      flush included), M(N) CPU of the merger thread.
"simple" takes R from the --bench-discard run and W, M from -t 1, so it uses
nothing measured at N > 1; "fitted" takes R, W, M from a + b log2 N fitted
to the thread CPUs measured at every -t N (the reader and the workers spend
more as workers are added: more rings, wake-ups, colder caches).
The measured wall is printed as the median and range of the runs: on a
shared machine the best run is the one least slowed by others.

usage: scaling.py --from JSON   re-prints the model from a saved --json file.
"""
import json
import math
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def run(cmd):
    """One process: wall, CPU, peak RSS and the CPU of each thread (sorted by tid).

    A thread waits for the process to end without reaping it (waitid with
    WNOWAIT) and notes the time, so the wall is not rounded up to the 20 ms of
    the thread sampling (a run of the 1,000-packet head, about 20 ms, read
    0.021 or 0.042 s that way); the threads are then sampled once more, the
    ended process still in /proc, and only then reaped."""
    threads = {}
    ended = {}
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as errf:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf)

        def wait():
            try:
                os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
            finally:
                ended["t"] = time.monotonic()

        waiter = threading.Thread(target=wait)
        waiter.start()
        task_dir = "/proc/%d/task" % p.pid
        while True:
            last = "t" in ended
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
            if last:
                break
            waiter.join(0.02)
        waiter.join()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = status  # reaped here: Popen must not wait for it again
        wall = ended["t"] - t0
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    if status != 0:
        sys.exit("scaling.py: %s: exit status %d: %s" % (" ".join(cmd), status, err[:300]))
    return {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "rss_mib": ru.ru_maxrss / 1024,
        "voluntary_switches": ru.ru_nvcsw,
        "involuntary_switches": ru.ru_nivcsw,
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


def fit_log2(points):
    """Least squares v = a + b * log2(n) over (n, v) points; b = 0 from one point."""
    xs = [math.log2(n) for n, _ in points]
    ys = [v for _, v in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx > 0 else 0.0
    return my - b * mx, b


def analyse(rd, packets, cores, predict):
    runs = rd["runs"]
    F = med(runs["fixed"], "wall_s")
    Rd = statistics.median(r["thread_cpu_s"][0] for r in runs["discard"])
    t1 = runs["t1"]
    W1 = statistics.median(r["thread_cpu_s"][1] for r in t1)
    M1 = statistics.median(r["thread_cpu_s"][-1] for r in t1)
    # per thread count: reader, all workers, merger (medians of the thread CPUs)
    per_n = {}
    for name, rs in runs.items():
        if name.startswith("t") and name != "t0":
            n = int(name[1:])
            per_n[n] = (statistics.median(r["thread_cpu_s"][0] for r in rs),
                        statistics.median(sum(r["thread_cpu_s"][1:-1]) for r in rs),
                        statistics.median(r["thread_cpu_s"][-1] for r in rs))
    fr = fit_log2([(n, v[0]) for n, v in per_n.items()])
    fw = fit_log2([(n, v[1]) for n, v in per_n.items()])
    fm = fit_log2([(n, v[2]) for n, v in per_n.items()])

    def at(f, n):
        return f[0] + f[1] * math.log2(n)

    def model(n, p, r, w, m):
        return F + max(r, w / n, (r + w + m) / p)

    def fitted(n, p):
        return model(n, p, at(fr, n), at(fw, n), at(fm, n))

    def simple(n, p):  # from the discard run and -t 1 only
        return model(n, p, Rd, W1, M1)

    rd["inputs"] = {"fixed_F_s": F, "reader_cpu_discard_s": Rd, "worker_cpu_t1_W1_s": W1,
                    "merger_cpu_t1_M1_s": M1, "process_cpu_t1_s": med(t1, "cpu_s"),
                    "discard_wall_s": med(runs["discard"], "wall_s"),
                    "reader_only_packets_per_s_cpu": packets / Rd if packets and Rd else None,
                    "fit_reader_cpu": fr, "fit_workers_cpu": fw, "fit_merger_cpu": fm,
                    "thread_cpu_by_workers": per_n}
    rd["check"] = []
    for name, rs in runs.items():
        if not name.startswith("t"):
            continue
        n = int(name[1:])
        eff = n if n > 0 else cores
        thr = [statistics.median(r["thread_cpu_s"][i] for r in rs)
               for i in range(min(len(r["thread_cpu_s"]) for r in rs))]
        rd["check"].append({"threads": n, "workers": eff,
                            "predicted_simple_s": simple(eff, cores),
                            "predicted_fit_s": fitted(eff, cores),
                            "measured_wall_s": med(rs, "wall_s"),
                            "measured_range_s": rng(rs, "wall_s"),
                            "measured_cpu_s": med(rs, "cpu_s"),
                            "cpu_range_s": rng(rs, "cpu_s"),
                            "thread_cpu_s": thr,
                            "rss_mib": med(rs, "rss_mib")})
    rd["predict"] = []
    for p in predict:
        w = fitted(p, p)
        r = at(fr, p)
        rd["predict"].append({"cores": p, "workers": p, "wall_s": w,
                              "wall_simple_s": simple(p, p),
                              "reader_cpu_s": r, "workers_cpu_s": at(fw, p),
                              "packets_per_s": packets / w if packets else None,
                              "bound": "reader" if w - F <= r + 1e-9 else "workers or cores"})


def report(doc, predict):
    packets, cores = doc["packets"], doc["cpus"]
    for reader, rd in doc["readers"].items():
        analyse(rd, packets, cores, predict)
        i = rd["inputs"]
        print("\n%s reader, %s (%s packets, %d CPUs, load %s -> %s)" % (
            reader, doc["capture"], packets, cores, " ".join(doc["load_average_before"]),
            " ".join(doc["load_average_after"])))
        print("  F %.3f s  reader alone (discard) %.2f s CPU = %.2f M packets/s, %.2f s wall |"
              " -t 1: worker %.2f s, merger %.2f s, process %.2f s CPU" % (
                  i["fixed_F_s"], i["reader_cpu_discard_s"],
                  (i["reader_only_packets_per_s_cpu"] or 0) / 1e6, i["discard_wall_s"],
                  i["worker_cpu_t1_W1_s"], i["merger_cpu_t1_M1_s"], i["process_cpu_t1_s"]))
        print("  fits over -t N (CPU s = a + b log2 N): reader %.2f + %.2f, workers %.2f + %.2f,"
              " merger %.2f + %.2f" % (*i["fit_reader_cpu"], *i["fit_workers_cpu"],
                                       *i["fit_merger_cpu"]))
        print("  %-9s %7s %7s %22s %18s %8s  %s" % ("-t", "simple", "fitted", "measured wall (range)",
                                                "measured CPU", "RSS MiB", "thread CPU s"))
        for c in rd["check"]:
            print("  %-9s %7.2f %7.2f %7.2f (%.2f-%.2f) %7.2f (%.2f-%.2f) %8.1f  %s" % (
                "%d%s" % (c["threads"], " (dflt)" if c["threads"] == 0 else ""),
                c["predicted_simple_s"], c["predicted_fit_s"], c["measured_wall_s"],
                *c["measured_range_s"], c["measured_cpu_s"], *c["cpu_range_s"], c["rss_mib"],
                " ".join("%.2f" % t for t in c["thread_cpu_s"])))
        for p in rd["predict"]:
            print("  %2d free cores, -t %-2d: %.2f s (simple %.2f s), %.2f M packets/s, %s-bound"
                  " (reader %.2f s, workers %.2f s CPU)" % (
                      p["cores"], p["workers"], p["wall_s"], p["wall_simple_s"],
                      (p["packets_per_s"] or 0) / 1e6, p["bound"], p["reader_cpu_s"],
                      p["workers_cpu_s"]))


def main(argv):
    reps, readers, threads, predict, json_out = 3, ["mmap", "libpcap"], [1, 0, 2, 4, 8], [4, 8, 16], None
    extra = []
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
        elif opt == "--extra":
            extra = args.pop(0).split()
        elif opt == "--from":
            with open(args.pop(0)) as f:
                doc = json.load(f)
            report(doc, predict)
            return
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
           "reps": reps, "extra": extra, "load_average_before": open("/proc/loadavg").read().split()[:3],
           "readers": {}}
    tmp = tempfile.mkdtemp()
    small = os.path.join(tmp, "head.pcap")
    head(capture, 1000, small)
    base = [wkp, "analyze", "-q", "-f", "none"] + extra
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
        doc["readers"][reader] = rd
    doc["packets"] = packets
    doc["load_average_after"] = open("/proc/loadavg").read().split()[:3]
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)
    report(doc, predict)
    if json_out:
        with open(json_out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
