#!/usr/bin/env python3
"""The man page and the shell completions agree with the CLI, and --version
names the libraries' versions.

usage: doc_check.py CLI BUILD_DIR DATA_DIR

- every long option of `wa1kpcap --help` is an item of wa1kpcap(1), and no other;
  the EXIT STATUS section lists 0 1 2 130 143 141; groff renders it without a warning
- the bash completion offers every long option, the values of -f/--reader/--app-layer
  (each one accepted by the CLI) and the dissector options of --help; an option it
  completes as taking a value is one getopt says requires an argument, and the others
  are accepted without one
- --version: each library's line holds the version pkg-config reports for it
"""
import os
import re
import shutil
import subprocess
import sys

cli, build, data = sys.argv[1:4]
cap = os.path.join(data, "wa1kpcap__single.pcap")
failed = passed = 0


def check(ok, what):
    global failed, passed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def run(args):
    return subprocess.run([cli] + args, capture_output=True, text=True)


help_text = run(["--help"]).stdout
long_opts = set(re.findall(r"^ {2,6}(?:-\w, )?--([a-z-]+)", help_text, re.M))
app_options = set(re.findall(r"^  ([a-z0-9_]+\.[a-z0-9_.]+) ", help_text.split("Dissector options")[-1], re.M))
check(len(long_opts) > 30, f"--help lists {len(long_opts)} long options")
check(len(app_options) >= 1, "--help lists the dissector options")

# ---- man page
man = open(os.path.join(build, "wa1kpcap.1")).read()
man_opts = set(o.replace("\\-", "-") for o in re.findall(r"^\\fB\\-\\-((?:[a-z]|\\-)+)\\fR", man, re.M))
man_opts |= set(o.replace("\\-", "-") for o in re.findall(r", \\fB\\-\\-((?:[a-z]|\\-)+)\\fR", man))
check(man_opts == long_opts, f"man page options differ from --help: {sorted(man_opts ^ long_opts)}")
status = man.split('.SH "EXIT STATUS"')[-1].split(".SH")[0]
codes = re.findall(r"\\fB(\d+)\\fR", status)
check(codes == ["0", "1", "2", "130", "143", "141"], f"EXIT STATUS lists {codes}")
if shutil.which("groff"):
    g = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(build, "wa1kpcap.1")],
                       capture_output=True, text=True)
    check(g.returncode == 0 and not g.stderr, f"groff warns: {g.stderr.strip()}")
else:
    print("groff not installed: the man page is not rendered")


# ---- bash completion
def complete(words):
    """COMPREPLY of the generated completion for the command line `words`
    (the last one being completed)."""
    script = os.path.join(build, "completion", "wa1kpcap")
    arr = " ".join("'" + w + "'" for w in words)
    cmd = (f"source '{script}'; COMP_WORDS=({arr}); COMP_CWORD={len(words) - 1}; "
           "_wa1kpcap; printf '%s\\n' \"${COMPREPLY[@]}\"")
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=build)
    return [w for w in out.stdout.split("\n") if w]


check(complete(["wa1kpcap", "an"]) == ["analyze"], "first word: analyze")
check(complete(["wa1kpcap", "analyze", "--for"]) == ["--format"], "--for -> --format")
offered = set(w[2:] for w in complete(["wa1kpcap", "analyze", "--"]))
check(offered == long_opts, f"completed options differ from --help: {sorted(offered ^ long_opts)}")
for opt, flag in (("-f", "-f"), ("--reader", "--reader"), ("--app-layer", "--app-layer")):
    values = complete(["wa1kpcap", "analyze", opt, ""])
    check(len(values) >= 3, f"{opt} values: {values}")
    for v in values:
        r = run(["analyze", "-q", flag, v, "-o", os.devnull, cap] if v != "table"
                else ["analyze", "-q", flag, v, cap])
        check(r.returncode == 0, f"{opt} {v} (offered by the completion) rejected: {r.stderr.strip()}")
names = set(v.rstrip("=") for v in complete(["wa1kpcap", "analyze", "--app-option", ""]))
check(names == app_options, f"--app-option values {sorted(names)} != {sorted(app_options)}")

# an option completed as taking a value is one getopt requires a value for
script = open(os.path.join(build, "completion", "wa1kpcap")).read()
valued = set()
for case in re.findall(r"^        ([-|a-z]+)\)$", script, re.M):
    valued |= set(o[2:] for o in case.split("|") if o.startswith("--"))
check(len(valued) > 15, f"{len(valued)} options take a value")
for o in sorted(long_opts - {"help", "version"}):
    r = run(["analyze", "--" + o])
    needs = "missing value" in r.stderr or "requires an argument" in r.stderr
    check(needs == (o in valued), f"--{o}: completion says value={o in valued}, getopt says {needs}")

zsh_file = os.path.join(build, "completion", "_wa1kpcap")
if shutil.which("zsh"):
    z = subprocess.run(["zsh", "-n", zsh_file], capture_output=True, text=True)
    check(z.returncode == 0, f"zsh -n: {z.stderr.strip()}")
zsh_opts = set(re.findall(r"--([a-z-]+)[\['}]", open(zsh_file).read()))
check(zsh_opts == long_opts, f"zsh options differ from --help: {sorted(zsh_opts ^ long_opts)}")

# ---- --version
ver = run(["--version"]).stdout
lines = {l.split()[0]: l for l in ver.splitlines()[1:]}
for lib, pc in (("libpcap", "libpcap"), ("OpenSSL", "openssl"), ("liburcu", "liburcu-cds"),
                ("libyaml", "yaml-0.1"), ("Hyperscan", "libhs"), ("zlib", "zlib"),
                ("zstd", "libzstd"), ("liblzma", "liblzma"), ("lz4", "liblz4")):
    p = subprocess.run(["pkg-config", "--modversion", pc], capture_output=True, text=True)
    if p.returncode != 0:
        print(f"pkg-config knows no {pc}: its line is not checked")
        continue
    want = p.stdout.strip()
    check(lib in lines and re.search(r"\b" + re.escape(want) + r"\b", lines[lib]) is not None,
          f"--version {lib}: {lines.get(lib)!r} lacks {want}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
