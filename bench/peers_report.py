#!/usr/bin/python3
"""Table, JSON and SVG bar chart from bench/peers.sh's runs.tsv (standard library only).

usage: peers_report.py RUNS_TSV CAPTURE PACKETS OUTDIR LOAD_BEFORE LOAD_AFTER
"""
import csv
import json
import math
import os
import platform
import statistics
import sys
from xml.sax.saxutils import escape


def load_rows(path):
    groups = {}
    order = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["rc"] != "0":
                continue
            key = (r["tool"], int(r["threads"]))
            if key not in groups:
                groups[key] = {"command": r["command"], "what": r["what"], "runs": []}
                order.append(key)
            groups[key]["runs"].append(
                (float(r["wall_s"]), float(r["user_s"]) + float(r["sys_s"]), int(r["rss_kib"]))
            )
    return [(k, groups[k]) for k in order]


def summarise(rows, packets):
    out = []
    floor_wall = floor_cpu = None
    for (tool, nthr), g in rows:
        walls = [w for w, _, _ in g["runs"]]
        cpus = [c for _, c, _ in g["runs"]]
        rss = [m for _, _, m in g["runs"]]
        row = {
            "tool": tool,
            "threads": nthr,
            "command": g["command"],
            "computes": g["what"],
            "runs": len(walls),
            "wall_s": statistics.median(walls),
            "wall_range_s": [min(walls), max(walls)],
            "cpu_s": statistics.median(cpus),
            "cpu_range_s": [min(cpus), max(cpus)],
            "peak_rss_mib": statistics.median(rss) / 1024,
        }
        row["packets_per_s"] = packets / row["wall_s"] if row["wall_s"] > 0 else 0
        if tool == "floor":
            floor_wall, floor_cpu = row["wall_s"], row["cpu_s"]
        out.append(row)
    for row in out:
        row["x_floor_wall"] = row["wall_s"] / floor_wall if floor_wall else None
        row["x_floor_cpu"] = row["cpu_s"] / floor_cpu if floor_cpu else None
    return out


def table(rows):
    head = "%-18s %3s %4s %16s %16s %8s %10s %7s %7s" % (
        "tool", "-t", "runs", "wall s (range)", "CPU s (range)", "RSS MiB", "packets/s",
        "xfloor", "xfl.CPU")
    lines = [head]
    for r in rows:
        lines.append("%-18s %3d %4d %7.2f (%.2f-%.2f) %7.2f (%.2f-%.2f) %8.1f %10.0f %7.1f %7.1f" % (
            r["tool"], r["threads"], r["runs"], r["wall_s"], r["wall_range_s"][0],
            r["wall_range_s"][1], r["cpu_s"], r["cpu_range_s"][0], r["cpu_range_s"][1],
            r["peak_rss_mib"], r["packets_per_s"], r["x_floor_wall"] or 0, r["x_floor_cpu"] or 0))
    lines.append("")
    for r in rows:
        lines.append("%-18s -t %d: %s   [%s]" % (r["tool"], r["threads"], r["command"], r["computes"]))
    return "\n".join(lines)


def svg(rows, title):
    """Horizontal bars, log scale: median wall and CPU seconds per row."""
    label_w, bar_w, row_h, top, left_pad = 190, 560, 34, 58, 10
    width = label_w + bar_w + 120
    height = top + row_h * len(rows) + 50
    vals = [v for r in rows for v in (r["wall_s"], r["cpu_s"]) if v > 0]
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** math.ceil(math.log10(max(vals)))
    span = math.log10(hi) - math.log10(lo)

    def x(v):
        return label_w + bar_w * (math.log10(max(v, lo)) - math.log10(lo)) / span

    p = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'font-family="sans-serif" font-size="12">' % (width, height),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>' % (left_pad, escape(title)),
         '<rect x="%d" y="30" width="12" height="10" fill="#3b6ea8"/>'
         '<text x="%d" y="39">wall s (median)</text>' % (label_w, label_w + 16),
         '<rect x="%d" y="30" width="12" height="10" fill="#e08a2c"/>'
         '<text x="%d" y="39">CPU user+sys s (median)</text>' % (label_w + 130, label_w + 146)]
    d = lo
    while d <= hi * 1.0001:
        gx = x(d)
        p.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ccc"/>' % (
            gx, top - 4, gx, top + row_h * len(rows)))
        p.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%g s</text>' % (
            gx, top + row_h * len(rows) + 16, d))
        d *= 10
    for i, r in enumerate(rows):
        y = top + i * row_h
        name = r["tool"] + ("" if r["tool"] == "floor" else " -t %d" % r["threads"]
                            if r["tool"].startswith("wa1kpcap") else "")
        p.append('<text x="%d" y="%d">%s</text>' % (left_pad, y + 16, escape(name)))
        for j, (v, colour) in enumerate(((r["wall_s"], "#3b6ea8"), (r["cpu_s"], "#e08a2c"))):
            yy = y + 3 + j * 13
            p.append('<rect x="%d" y="%d" width="%.1f" height="12" fill="%s"/>' % (
                label_w, yy, max(x(v) - label_w, 1), colour))
            txt = "%.2f s" % v
            if j == 0 and r["x_floor_wall"]:
                txt += "  (%.1f x floor)" % r["x_floor_wall"]
            p.append('<text x="%.1f" y="%d" font-size="11">%s</text>' % (x(v) + 4, yy + 10, txt))
    p.append('<text x="%d" y="%d" fill="#555">log scale; peak RSS and commands in peers.json</text>' % (
        left_pad, height - 8))
    p.append("</svg>")
    return "\n".join(p) + "\n"


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    runs, capture, packets, outdir, load0, load1 = sys.argv[1:]
    packets = int(packets)
    rows = summarise(load_rows(runs), packets)
    print(table(rows))
    doc = {
        "capture": capture,
        "capture_bytes": os.path.getsize(capture),
        "packets": packets,
        "host": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "load_average_before": load0,
        "load_average_after": load1,
        "rows": rows,
    }
    with open(os.path.join(outdir, "peers.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    title = "%s: %.2f M packets, %d CPUs, load average %s to %s" % (
        os.path.basename(capture), packets / 1e6, os.cpu_count(), load0.split()[0],
        load1.split()[0])
    with open(os.path.join(outdir, "peers.svg"), "w") as f:
        f.write(svg(rows, title))
    print("\npeers.sh: %s/peers.json and peers.svg written" % outdir, file=sys.stderr)


if __name__ == "__main__":
    main()
