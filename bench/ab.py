#!/usr/bin/python3
"""Compare builds of wa1kpcap on one capture, fairly.

    bench/ab.py [--reps 6] [--args "ARGS"] [--floor PATH] [--gap S] [--json FILE]
                CAPTURE NAME=BINARY [NAME=BINARY ...]

Each round runs every build once, then the floor (the bare libpcap read loop,
wkp-floor), each run after a read of the whole capture (so it is in the page
cache). The builds' order turns by one place every round, so each build runs
first, second, ... equally often: on a virtual machine that gives the memory
a process frees back to its host, a run that starts seconds after the last
large one faults its memory in at a higher cost than one that starts at once,
and a build always run second looks faster than it is (bench/README.md,
"The order of the runs").

Prints, per build, the median wall time and its range, the median CPU time,
the peak RSS ("small" when no larger than this script's own, which a child
counts until it starts the program) and the median wall over the median
floor; then each build
against the first: the median of the rounds' wall ratios, in how many rounds
it was faster, and the mean ratio by the position it ran in.

ARGS go to `wa1kpcap analyze` after the capture (default: "-t 2 -q -f none");
stdout goes to /dev/null. --floor defaults to build-rel/bench/wkp-floor, then
build/bench/wkp-floor; --floor "" runs none. --gap S sleeps S seconds before
every run.
"""
import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def default_floor():
    for d in ("build-rel", "build"):
        p = os.path.join(HERE, "..", d, "bench", "wkp-floor")
        if os.access(p, os.X_OK):
            return os.path.normpath(p)
    return None


def warm(path):
    """Read the capture once, so every run finds it in the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def run(argv):
    """Wall seconds, CPU seconds (user + system) and peak RSS in MiB."""
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(argv, stdout=null, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        err = p.stderr.read().decode(errors="replace").strip()
        p.stderr.close()
    wall = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        last = err.splitlines()[-1] if err else ""
        sys.exit("ab.py: %s exited with %d: %s" % (argv[0], code, last))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(usage=__doc__.split("\n\n")[1].strip())
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--args", default="-t 2 -q -f none")
    ap.add_argument("--floor", default=default_floor())
    ap.add_argument("--gap", type=float, default=0.0)
    ap.add_argument("--json")
    ap.add_argument("capture")
    ap.add_argument("builds", nargs="+", metavar="NAME=BINARY")
    o = ap.parse_args()
    if o.reps < 1:
        ap.error("--reps must be at least 1")
    builds = []
    for b in o.builds:
        name, sep, path = b.partition("=")
        if not sep or not name or not path:
            ap.error("%s: expected NAME=BINARY" % b)
        if not os.access(path, os.X_OK):
            ap.error("%s: not an executable" % path)
        if name in [n for n, _ in builds] or name == "floor":
            ap.error("%s: a name used twice (or 'floor')" % name)
        builds.append((name, path))
    if not os.path.isfile(o.capture):
        ap.error("%s: no such capture" % o.capture)
    if o.floor and not os.access(o.floor, os.X_OK):
        ap.error("%s: not an executable (--floor)" % o.floor)
    if not o.floor:
        print("ab.py: no floor runs (no wkp-floor in build-rel/ or build/; --floor PATH)",
              file=sys.stderr)
    args = shlex.split(o.args)

    rounds = []  # per round: {name: (wall, cpu, rss, position)}
    for r in range(o.reps):
        k = r % len(builds)
        order = builds[k:] + builds[:k]
        got = {}
        for pos, (name, path) in enumerate(order):
            if o.gap:
                time.sleep(o.gap)
            warm(o.capture)
            got[name] = run([path, "analyze", o.capture] + args) + (pos,)
        if o.floor:
            warm(o.capture)
            got["floor"] = run([o.floor, o.capture]) + (None,)
        rounds.append(got)
        print("round %d: %s" % (r + 1, "  ".join(
            "%s %.2f s" % (n, got[n][0]) for n, _ in order + ([("floor", 0)] if o.floor else []))),
            file=sys.stderr)

    floor = statistics.median(g["floor"][0] for g in rounds) if o.floor else None
    report = {"capture": o.capture, "args": o.args, "reps": o.reps, "gap": o.gap,
              "floor_s": floor, "builds": []}
    print("%-12s %8s %13s %7s %8s %8s"
          % ("build", "wall s", "range", "CPU s", "RSS MiB", "x floor"))
    names = [n for n, _ in builds] + (["floor"] if o.floor else [])
    # A child's peak RSS counts the copy of this interpreter it started as:
    # a peak no larger than the interpreter's own is not the program's.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    for n in names:
        w = [g[n][0] for g in rounds]
        c = [g[n][1] for g in rounds]
        m = max(g[n][2] for g in rounds)
        if m <= own + 1:
            m = None
        x = statistics.median(w) / floor if floor else None
        print("%-12s %8.2f %6.2f-%-6.2f %7.2f %8s %8s" % (
            n, statistics.median(w), min(w), max(w), statistics.median(c),
            "%.0f" % m if m is not None else "small", "%.2f" % x if x is not None else "-"))
        report["builds"].append({"name": n, "wall_s": w, "cpu_s": c, "peak_rss_mib": m,
                                 "x_floor": x})
    base = builds[0][0]
    for n, _ in builds[1:]:
        ratio = [g[n][0] / g[base][0] - 1 for g in rounds]
        wins = sum(1 for v in ratio if v < 0)
        by_pos = {}
        for g in rounds:
            by_pos.setdefault(g[n][3], []).append(g[n][0] / g[base][0] - 1)
        pos = ", ".join("%s %+.1f %%" % ("first" if p == 0 else "position %d" % (p + 1),
                                          100 * statistics.mean(v))
                        for p, v in sorted(by_pos.items()))
        print("%s against %s: %+.1f %% wall time by the median round, faster in %d of %d; "
              "by %s's position: %s" % (n, base, 100 * statistics.median(ratio), wins, len(ratio),
                                        n, pos))
        report.setdefault("against_first", []).append(
            {"name": n, "median_ratio": statistics.median(ratio), "wins": wins,
             "rounds": len(ratio)})
    if o.json:
        with open(o.json, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
