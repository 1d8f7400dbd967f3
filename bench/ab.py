#!/usr/bin/python3
"""Compare builds of wa1kpcap on one capture, fairly.

    bench/ab.py [--reps 6] [--args="ARGS"] [--floor PATH] [--gap S] [--json FILE]
                CAPTURE NAME=BINARY [NAME=BINARY ...]

Run it from the repository root when ARGS name files by relative paths
(protocols/, say). Each round runs every build once, then the floor (the bare
libpcap read loop, wkp-floor), each run after a read of the whole capture (so
it is in the page cache). The builds' order turns by one place every round,
so each build runs first, second, ... equally often (--reps is rounded up to
a multiple of the number of builds): on a virtual machine that gives the
memory a process frees back to its host, a run that starts seconds after the
last large one faults its memory in at a higher cost than one that starts at
once, and a build always run second looks faster than it is (bench/README.md,
"The order of the runs"). A first round, not counted, runs every build and
the floor once, so that the first counted run is not also the first of the
series.

Prints, per build, the median wall time and its range, the median CPU time,
the peak RSS ("small" when no larger than this script's own, which a child
counts until it starts the program) and the median wall over the median
floor; then each build against the first: the median of the rounds' wall
ratios, in how many rounds it was faster, the mean ratio by the position it
ran in, and the mean of those means (the order taken out).

ARGS go to `wa1kpcap analyze` after the capture (default: "-t 2 -q -f none");
write them as --args="..." when they are a single word starting with '-'.
Each run's stdout goes to /dev/null. --floor defaults to the first wkp-floor
found in build-rel/bench, build/bench and build-bench/bench; --floor "" runs
none. --gap S sleeps S seconds before each build's run.
"""
import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FLOOR_DIRS = ("build-rel", "build", "build-bench")


def default_floor():
    for d in FLOOR_DIRS:
        p = os.path.normpath(os.path.join(HERE, "..", d, "bench", "wkp-floor"))
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def warm(path):
    """Read the capture once, so every run finds it in the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass


def run(argv):
    """Wall seconds, CPU seconds (user + system) and peak RSS in MiB."""
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null, tempfile.TemporaryFile() as err:
        try:
            p = subprocess.Popen(argv, stdout=null, stderr=err)
        except OSError as e:
            sys.exit("ab.py: %s: %s" % (argv[0], e.strerror))
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines()
            how = ("killed by signal %d" % -p.returncode if p.returncode < 0
                   else "exited with %d" % p.returncode)
            sys.exit("ab.py: %s %s%s" % (argv[0], how, ": " + lines[-1] if lines else ""))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def executable(path, what):
    path = os.path.abspath(path)
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        sys.exit("ab.py: %s: not an executable file (%s)" % (path, what))
    return path


def main():
    ap = argparse.ArgumentParser(usage=__doc__.split("\n\n")[1].strip())
    ap.add_argument("--reps", type=int, default=6,
                    help="counted rounds (rounded up to a multiple of the builds; default 6)")
    ap.add_argument("--args", default="-t 2 -q -f none",
                    help='arguments after `analyze CAPTURE` (default "-t 2 -q -f none")')
    ap.add_argument("--floor", default=None,
                    help="wkp-floor to run after each round; \"\" for none")
    ap.add_argument("--gap", type=float, default=0.0,
                    help="seconds to sleep before each build's run (default 0)")
    ap.add_argument("--json", help="also write the runs and the figures to FILE")
    ap.add_argument("capture")
    ap.add_argument("builds", nargs="+", metavar="NAME=BINARY")
    o = ap.parse_args()
    if o.reps < 1:
        ap.error("--reps must be at least 1")
    if o.gap < 0:
        ap.error("--gap must not be negative")
    builds = []
    for b in o.builds:
        name, sep, path = b.partition("=")
        if not sep or not name or not path:
            ap.error("%s: expected NAME=BINARY" % b)
        if name in [n for n, _ in builds] or name == "floor":
            ap.error("%s: a name used twice (or 'floor')" % name)
        builds.append((name, executable(path, name)))
    if not os.path.isfile(o.capture):
        ap.error("%s: no such capture" % o.capture)
    floor = o.floor
    if floor is None:
        floor = default_floor()
        if floor is None:
            print("ab.py: no floor runs: no wkp-floor in %s (--floor PATH)"
                  % ", ".join(d + "/bench" for d in FLOOR_DIRS), file=sys.stderr)
    elif floor:
        floor = executable(floor, "--floor")
    args = shlex.split(o.args)
    reps = -(-o.reps // len(builds)) * len(builds)
    if reps != o.reps:
        print("ab.py: %d rounds, so that each of the %d builds runs in each place equally often"
              % (reps, len(builds)), file=sys.stderr)

    rounds = []  # counted rounds: {name: (wall, cpu, rss, position)}, and "order"
    for r in range(-1, reps):
        k = max(r, 0) % len(builds)
        order = builds[k:] + builds[:k]
        got = {"order": [n for n, _ in order]}
        for pos, (name, path) in enumerate(order):
            if o.gap:
                time.sleep(o.gap)
            warm(o.capture)
            got[name] = run([path, "analyze", o.capture] + args) + (pos,)
        if floor:
            warm(o.capture)
            got["floor"] = run([floor, o.capture]) + (None,)
        names = got["order"] + (["floor"] if floor else [])
        print("%s: %s" % ("first round (not counted)" if r < 0 else "round %d" % (r + 1),
                          "  ".join("%s %.2f s" % (n, got[n][0]) for n in names)),
              file=sys.stderr)
        if r >= 0:
            rounds.append(got)

    floor_s = statistics.median(g["floor"][0] for g in rounds) if floor else None
    report = {"capture": o.capture, "args": o.args, "reps": reps, "gap": o.gap,
              "floor": floor or None, "floor_s": floor_s,
              "order": [g["order"] for g in rounds], "builds": [], "against_first": []}
    print("%-12s %8s %13s %7s %8s %8s"
          % ("build", "wall s", "range", "CPU s", "RSS MiB", "x floor"))
    # A child's peak RSS counts the copy of this interpreter it started as:
    # a peak no larger than the interpreter's own is not the program's.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    paths = dict(builds)
    for n in [n for n, _ in builds] + (["floor"] if floor else []):
        w = [g[n][0] for g in rounds]
        c = [g[n][1] for g in rounds]
        m = max(g[n][2] for g in rounds)
        if m <= own + 1:
            m = None
        x = statistics.median(w) / floor_s if floor_s else None
        print("%-12s %8.2f %6.2f-%-6.2f %7.2f %8s %8s" % (
            n, statistics.median(w), min(w), max(w), statistics.median(c),
            "%.0f" % m if m is not None else "small", "%.2f" % x if x is not None else "-"))
        report["builds"].append({"name": n, "path": paths.get(n, floor), "wall_s": w,
                                 "cpu_s": c, "peak_rss_mib": m, "x_floor": x})
    base = builds[0][0]
    for n, _ in builds[1:]:
        ratio = [g[n][0] / g[base][0] - 1 for g in rounds]
        wins = sum(1 for v in ratio if v < 0)
        by_pos = {}
        for g in rounds:
            by_pos.setdefault(g[n][3], []).append(g[n][0] / g[base][0] - 1)
        means = {p: statistics.mean(v) for p, v in sorted(by_pos.items())}
        balanced = statistics.mean(means.values())
        pos = ", ".join("%s %+.1f %%" % ("first" if p == 0 else "place %d" % (p + 1), 100 * v)
                        for p, v in means.items())
        print("%s against %s: %+.1f %% wall time by the median round, faster in %d of %d; "
              "by %s's place: %s; order taken out: %+.1f %%"
              % (n, base, 100 * statistics.median(ratio), wins, len(ratio), n, pos,
                 100 * balanced))
        report["against_first"].append(
            {"name": n, "median_ratio": statistics.median(ratio), "wins": wins,
             "rounds": len(ratio), "by_position": {str(p + 1): v for p, v in means.items()},
             "order_balanced_ratio": balanced})
    if o.json:
        with open(o.json, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
