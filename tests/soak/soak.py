#!/usr/bin/python3
"""Soak: many CLI runs under a watchdog, looking for hangs and nondeterminism.

Every capture x threads x ring slots x reader x repetition runs
`wa1kpcap analyze CAPTURE -q -f csv -o OUT -t T --ring-slots S --reader R`.
A run fails when:
  - it takes longer than --timeout seconds (default 30): the stuck process's
    threads are dumped with `gdb -p PID -batch -ex 'thread apply all bt'` into
    the log, then it is killed;
  - its exit status differs from the `-t 1 --ring-slots 2048` run of the same
    capture and reader (the reference);
  - it succeeded and its output is not byte-identical to the reference's
    (the output must not depend on the thread count or the ring size).
A capture the reader refuses (reference exit status non-zero) is still run:
every variant must refuse it too; there is no output to compare.

SIGINT runs (--sigint K): a capture big enough to be mid-run when the signal
lands (made with wkp-gen, or given) runs K times with `-o out.csv` and gets
SIGINT after a random delay between 0 and its typical run time. Each must exit
130 (or die by SIGINT, which a shell also reports as 130) and leave no output
file and no temporary file in its directory. A run that finished before the
signal was sent is counted apart, not as a failure; so is one that exits 0
with its complete output when the signal came in the second half of the run
(it landed after the output was committed, which the CLI then keeps).

  soak.py --cli BUILD/wa1kpcap [--data DIR ...] [--reps N] [--sigint K]
          [--gen BUILD/bench/wkp-gen | --sigint-capture FILE] [--jobs J]
          [--quick] [--log FILE] [--seed N]

--quick is the CI version: a handful of captures, -t 1/2/4, slots 2/2048,
both readers, 1 repetition, 20 SIGINT runs on a 10 MiB generated capture.
Last line: `soak: N runs, N failed, ...`; exit status 0 iff nothing failed.
"""
import argparse
import concurrent.futures
import glob
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

QUICK_CAPTURES = [
    "wa1kpcap__multi.pcap",
    "wa1kpcap__quic2.pcap",
    "wa1kpcap__dup.pcap",
    "PcapPlusPlus__many_interfaces-1.pcapng",
    "zeek__fragmented-1.pcap",
    "made__cut_mid_record.pcap",
    "tcpdump__empty.pcap",
    "libpcap__pcap-invalid-version-1.pcap",
]


class Log:
    def __init__(self, path):
        self.f = open(path, "w", buffering=1)
        self.lock = threading.Lock()

    def __call__(self, msg, echo=False):
        with self.lock:
            self.f.write(msg + "\n")
            if echo:
                print(msg, flush=True)


def find_captures(dirs, only=None):
    seen = {}
    out = []
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for p in sorted(glob.glob(os.path.join(d, "*.pcap")) + glob.glob(os.path.join(d, "*.pcapng"))):
            name = os.path.basename(p)
            if only is not None and name not in only:
                continue
            with open(p, "rb") as f:
                h = hashlib.sha1(f.read()).hexdigest()
            if h in seen:
                continue
            seen[h] = p
            out.append(p)
    return out


def dump_threads(pid, log, label):
    """Backtraces of every thread of a stuck process, into the log."""
    try:
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                           capture_output=True, text=True, timeout=60)
        log("---- gdb backtraces of %s (pid %d) ----\n%s%s" % (label, pid, r.stdout, r.stderr))
    except Exception as ex:  # gdb missing or stuck itself
        log("---- gdb failed for %s (pid %d): %s" % (label, pid, ex))
    try:
        for t in sorted(os.listdir("/proc/%d/task" % pid)):
            with open("/proc/%d/task/%s/wchan" % (pid, t)) as f:
                log("  task %s wchan %s" % (t, f.read().strip()))
    except OSError:
        pass


def run_cli(args, timeout, log, label):
    """Run the CLI; returns (exit status or None on a hang, wall seconds, stderr)."""
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=timeout)
        return p.returncode, time.monotonic() - t0, err.decode(errors="replace")
    except subprocess.TimeoutExpired:
        wall = time.monotonic() - t0
        log("HANG %s: still running after %.1f s: %s" % (label, wall, " ".join(args)), echo=True)
        dump_threads(p.pid, log, label)
        p.kill()
        p.communicate()
        return None, wall, ""


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.runs = 0
        self.failed = 0
        self.hangs = 0
        self.max_wall = 0.0
        self.max_label = ""

    def add(self, ok, wall, label, hang=False):
        """Count a run; returns how many have been counted."""
        with self.lock:
            self.runs += 1
            if not ok:
                self.failed += 1
            if hang:
                self.hangs += 1
            if wall > self.max_wall:
                self.max_wall = wall
                self.max_label = label
            return self.runs


def soak(a, log, stats, stop):
    caps = find_captures(a.data, set(QUICK_CAPTURES) if a.quick else None)
    threads = [1, 2, 4] if a.quick else [1, 2, 3, 4, 8]
    slots = [2, 2048] if a.quick else [2, 4, 2048]
    readers = ["mmap", "libpcap"]
    work = tempfile.mkdtemp(prefix="wkp-soak.", dir=a.tmp)
    log("soak: %d captures x -t %s x --ring-slots %s x %s x %d reps"
        % (len(caps), threads, slots, readers, a.reps), echo=True)

    def cmd(cap, t, s, r, out):
        return [a.cli, "analyze", cap, "-q", "-f", "csv", "-o", out, "-t", str(t),
                "--ring-slots", str(s), "--reader", r]

    # References: -t 1 --ring-slots 2048 per capture and reader.
    refs = {}
    for ci, cap in enumerate(caps):
        for r in readers:
            out = os.path.join(work, "ref.%d.%s.csv" % (ci, r))
            label = "%s --reader %s -t 1 (reference)" % (os.path.basename(cap), r)
            rc, wall, err = run_cli(cmd(cap, 1, 2048, r, out), a.timeout, log, label)
            stats.add(rc is not None, wall, label, hang=rc is None)
            if rc is None:
                continue
            data = None
            if rc == 0:
                with open(out, "rb") as f:
                    data = f.read()
                os.unlink(out)
            refs[(ci, r)] = (rc, data, err.strip().splitlines()[:1])
    for (ci, r), (rc, _, err) in sorted(refs.items()):
        if rc != 0:
            log("note: --reader %s refuses %s (exit %d): %s"
                % (r, os.path.basename(caps[ci]), rc, err[0] if err else ""), echo=not a.quick)

    jobs = []
    for rep in range(a.reps):
        for ci in range(len(caps)):
            for r in readers:
                if (ci, r) not in refs:
                    continue
                for t in threads:
                    for s in slots:
                        jobs.append((rep, ci, r, t, s))
    slot_ids = threading.local()
    counter = [0]
    clock = [time.monotonic()]
    total = len(jobs)

    def one(job):
        if stop.is_set():
            return
        rep, ci, r, t, s = job
        if not hasattr(slot_ids, "n"):
            with stats.lock:
                counter[0] += 1
                slot_ids.n = counter[0]
        out = os.path.join(work, "out.%d.csv" % slot_ids.n)
        label = "%s --reader %s -t %d --ring-slots %d rep %d" % (os.path.basename(caps[ci]), r, t, s, rep)
        rc, wall, err = run_cli(cmd(caps[ci], t, s, r, out), a.timeout, log, label)
        ref_rc, ref_data, _ = refs[(ci, r)]
        ok = True
        if rc is None:
            ok = False
        elif rc != ref_rc:
            ok = False
            log("FAIL %s: exit status %d, the reference's %d: %s" % (label, rc, ref_rc, err.strip()[:300]),
                echo=True)
        elif rc == 0:
            with open(out, "rb") as f:
                data = f.read()
            if data != ref_data:
                ok = False
                keep = os.path.join(work, "diff.%s.csv" % label.replace(" ", "_"))
                shutil.copy(out, keep)
                log("FAIL %s: output differs from -t 1 (kept in %s)" % (label, keep), echo=True)
        if rc == 0 and os.path.exists(out):
            os.unlink(out)
        n = stats.add(ok, wall, label, hang=rc is None)
        if n % 2000 == 0:
            log("progress: %d runs of about %d, %d failed, max wall %.2f s, %.0f s elapsed"
                % (n, total + len(refs), stats.failed, stats.max_wall, time.monotonic() - clock[0]),
                echo=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for _ in ex.map(one, jobs):
            pass
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sigint_runs(a, log, stop):
    """K runs interrupted by SIGINT; returns (runs checked, failures, finished early, outcomes)."""
    work = tempfile.mkdtemp(prefix="wkp-sigint.", dir=a.tmp)
    cap = a.sigint_capture
    if not cap:
        cap = os.path.join(work, "big.pcap")
        size = "10M" if a.quick else "60M"
        subprocess.run([a.gen, "--size", size, "--flows", "20000", "-o", cap], check=True,
                       stdout=subprocess.DEVNULL)
    rng = random.Random(a.seed)
    # Typical run time: the slowest of three full runs at -t 2. The first
    # one's output is the complete output every run must match.
    typical = 0.0
    complete = None
    for _ in range(3):
        d = tempfile.mkdtemp(dir=work)
        t0 = time.monotonic()
        subprocess.run([a.cli, "analyze", cap, "-q", "-f", "csv", "-o", os.path.join(d, "out.csv"), "-t", "2"],
                       check=True, stderr=subprocess.DEVNULL)
        typical = max(typical, time.monotonic() - t0)
        if complete is None:
            complete = file_digest(os.path.join(d, "out.csv"))
        shutil.rmtree(d)
    log("sigint: %s, a full run takes %.2f s; %d runs" % (cap, typical, a.sigint), echo=True)
    outcomes = {}
    failed = early = checked = 0
    lock = threading.Lock()

    def one(i):
        nonlocal failed, early, checked
        if stop.is_set():
            return
        d = tempfile.mkdtemp(dir=work)
        out = os.path.join(d, "out.csv")
        t = rng.choice([1, 2, 4])
        r = rng.choice(["mmap", "libpcap"])
        delay = rng.uniform(0, typical)
        args = [a.cli, "analyze", cap, "-q", "-f", "csv", "-o", out, "-t", str(t), "--reader", r]
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        finished_first = p.poll() is not None
        if not finished_first:
            p.send_signal(signal.SIGINT)
        label = "sigint run %d (-t %d --reader %s, after %.3f s)" % (i, t, r, delay)
        try:
            _, err = p.communicate(timeout=a.timeout)
        except subprocess.TimeoutExpired:
            log("HANG %s: still running %.0f s after SIGINT" % (label, a.timeout), echo=True)
            dump_threads(p.pid, log, label)
            p.kill()
            p.communicate()
            with lock:
                checked += 1
                failed += 1
                outcomes["hang"] = outcomes.get("hang", 0) + 1
            return
        left = sorted(os.listdir(d))
        rc = p.returncode
        # The signal can land after the run committed its output and before
        # the process exited: the CLI then exits 0 with the output complete
        # (cli/main.c, run()). That is right, if the output is all there and
        # the signal came late in the run: a stop ignored earlier still fails.
        committed = (not finished_first and delay >= typical / 2 and rc == 0 and
                     left == ["out.csv"] and file_digest(out) == complete)
        with lock:
            if committed:
                early += 1
                key = "output committed before the signal"
                outcomes[key] = outcomes.get(key, 0) + 1
                shutil.rmtree(d)
                return
            if finished_first:
                early += 1
                outcomes["finished before the signal"] = outcomes.get("finished before the signal", 0) + 1
                shutil.rmtree(d)
                return
            checked += 1
            # exit 130, or killed by SIGINT (a shell reports that as 130 too)
            code_ok = rc in (130, -signal.SIGINT)
            key = "exit %s, %s" % (rc if rc >= 0 else "by signal %d" % -rc,
                                   "output file left" if "out.csv" in left else
                                   "temporary file left" if left else "no file left")
            outcomes[key] = outcomes.get(key, 0) + 1
            if not code_ok or left:
                failed += 1
                lines = 0
                if "out.csv" in left:
                    with open(out, "rb") as f:
                        lines = f.read().count(b"\n")
                log("FAIL %s: %s (%d lines in out.csv): %s" % (label, key, lines, err.decode(errors="replace").strip()[:200]))
        shutil.rmtree(d)

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for _ in ex.map(one, range(a.sigint)):
            pass
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return checked, failed, early, outcomes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", action="append",
                    help="capture directory (repeatable; default tests/data and /work/shared/pcaps)")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--sigint", type=int, default=None)
    ap.add_argument("--gen", help="wkp-gen, to make the SIGINT capture")
    ap.add_argument("--sigint-capture", help="the capture to interrupt (default: made with --gen)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--log", default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--tmp", default=None, help="directory for the work files")
    ap.add_argument("--keep", action="store_true", help="keep the work files")
    a = ap.parse_args()
    if a.data is None:
        a.data = [os.path.join(here, "..", "data"), "/work/shared/pcaps"]
    if a.reps is None:
        a.reps = 1 if a.quick else 20
    if a.sigint is None:
        a.sigint = 20 if a.quick else 0
    if a.seed is None:
        a.seed = int(time.time())
    if a.sigint and not (a.gen or a.sigint_capture):
        ap.error("--sigint needs --gen or --sigint-capture")
    if a.log is None:
        fd, a.log = tempfile.mkstemp(prefix="wkp-soak.", suffix=".log", dir=a.tmp)
        os.close(fd)
    log = Log(a.log)
    log("soak.py started %s, seed %d, log %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), a.seed, a.log), echo=True)

    stop = threading.Event()

    def on_term(sig, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    t0 = time.monotonic()
    stats = Stats()
    if a.reps > 0:
        soak(a, log, stats, stop)
    interrupted = stop.is_set()
    log("soak: %d runs, %d failed (%d hangs over %.0f s), max wall %.2f s (%s), %.0f s%s"
        % (stats.runs, stats.failed, stats.hangs, a.timeout, stats.max_wall, stats.max_label,
           time.monotonic() - t0, ", INTERRUPTED" if interrupted else ""), echo=True)
    sfail = sruns = 0
    if a.sigint > 0 and not stop.is_set():
        checked, sfail, early, outcomes = sigint_runs(a, log, stop)
        sruns = checked + early
        for k in sorted(outcomes):
            log("  sigint outcome: %-40s %d" % (k, outcomes[k]), echo=True)
        log("sigint: %d interrupted runs, %d failed, %d finished or committed before the signal"
            % (checked, sfail, early), echo=True)
    total_fail = stats.failed + sfail
    log("soak: %d runs, %d failed" % (stats.runs + sruns, total_fail), echo=True)
    sys.exit(1 if total_fail or stop.is_set() else 0)


if __name__ == "__main__":
    main()
