#!/usr/bin/env python3
"""Turns the peer benchmark's output into docs/benchmarks.svg and docs/peer-benchmarks.md.

Reads, under benches/peers/target (or --target):
  criterion/<group>/<subject>/new/{benchmark,estimates,sample}.json   (workloads A-F)
  peer-results/latency/<group>/<subject>.json                         (C, D percentiles)
  peer-results/rss.json                                               (G)
  peer-results/datasets/<group>.json, run.json, machine.json          (facts)

Writes an SVG with one panel per workload (bars per implementation, each labelled with
its median and its ratio to the best peer) and a markdown report with the medians, the
ratios of walrs to the best peer and to the raw baseline, and the issue's targets.

Pure standard library: the SVG is written by hand.
"""

import argparse
import json
import math
import os
import sys
from html import escape

PEERS = ["okaywal", "commitlog", "raft-engine"]
BASELINES = ["plain-bufwriter", "pwrite-prezeroed", "mmap-prealloc"]
WALRS_VARIANTS = ["walrs", "walrs-group-commit", "walrs-pipelined", "walrs-wal-open"]
ORDER = WALRS_VARIANTS + PEERS + BASELINES

LABELS = {
    "walrs": "walrs",
    "walrs-group-commit": "walrs (GroupCommit)",
    "walrs-pipelined": "walrs (submit, 1,024 in flight)",
    "walrs-wal-open": "walrs (Wal::open)",
    "okaywal": "okaywal 0.3.1",
    "commitlog": "commitlog 0.2.0",
    "raft-engine": "raft-engine 0.4.2",
    "plain-bufwriter": "plain file, BufWriter",
    "pwrite-prezeroed": "pre-zeroed, pwrite",
    "mmap-prealloc": "fallocated mmap",
}

# Where "walrs" means the recovery path (wal_recovery::open), say so.
GROUP_LABELS = {
    "E_reopen_read_all": {"walrs": "walrs (recovery)"},
    "F_open_128MiB": {"walrs": "walrs (wal_recovery::open)"},
    "F_open_1GiB": {"walrs": "walrs (wal_recovery::open)"},
}

COLORS = {"walrs": "#d9480f", "peer": "#1c7ed6", "baseline": "#adb5bd"}

# Workloads: criterion group, title, kind of figure, walrs subject used for the targets.
WORKLOADS = [
    ("A_bulk_100B", "A. 1M appends of 100 B, one sync", "throughput", "walrs"),
    ("B_bulk_1KiB", "B. 200k appends of 1 KiB, one sync", "throughput", "walrs"),
    ("C_durable_1_writer", "C. durable appends, 1 writer", "throughput", "walrs"),
    ("D_durable_16_threads", "D. durable appends, 16 threads", "throughput", "walrs"),
    ("E_reopen_read_all", "E. reopen + read 1M x 100 B (warm)", "throughput", "walrs"),
    ("F_open_128MiB", "F. open, clean 128 MiB log (warm)", "time", "walrs"),
    ("F_open_1GiB", "F. open, clean 1 GiB log (warm)", "time", "walrs"),
]


def kind_of(subject):
    if subject.startswith("walrs"):
        return "walrs"
    if subject in PEERS:
        return "peer"
    return "baseline"


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_criterion(target):
    """{group: {subject: {"median_ns", "elements", "per_s", "min_per_s", "max_per_s"}}}"""
    root = os.path.join(target, "criterion")
    out = {}
    if not os.path.isdir(root):
        return out
    for group in sorted(os.listdir(root)):
        gdir = os.path.join(root, group)
        if not os.path.isdir(gdir):
            continue
        for subject in sorted(os.listdir(gdir)):
            new = os.path.join(gdir, subject, "new")
            bench_path = os.path.join(new, "benchmark.json")
            est_path = os.path.join(new, "estimates.json")
            if not (os.path.isfile(bench_path) and os.path.isfile(est_path)):
                continue
            bench = load_json(bench_path)
            est = load_json(est_path)
            median_ns = est["median"]["point_estimate"]
            elements = None
            tp = bench.get("throughput") or {}
            if isinstance(tp, dict) and "Elements" in tp:
                elements = tp["Elements"]
            per_iter = []
            sample_path = os.path.join(new, "sample.json")
            if os.path.isfile(sample_path):
                sample = load_json(sample_path)
                per_iter = [t / i for t, i in zip(sample["times"], sample["iters"]) if i]
            rec = {"median_ns": median_ns, "elements": elements}
            if elements:
                rec["per_s"] = elements / (median_ns * 1e-9)
                if per_iter:
                    rec["min_per_s"] = elements / (max(per_iter) * 1e-9)
                    rec["max_per_s"] = elements / (min(per_iter) * 1e-9)
            elif per_iter:
                rec["min_ns"] = min(per_iter)
                rec["max_ns"] = max(per_iter)
            out.setdefault(bench.get("group_id", group), {})[bench.get("function_id", subject)] = rec
    return out


def read_latency(target):
    root = os.path.join(target, "peer-results", "latency")
    out = {}
    if not os.path.isdir(root):
        return out
    for group in sorted(os.listdir(root)):
        for name in sorted(os.listdir(os.path.join(root, group))):
            if name.endswith(".json"):
                rec = load_json(os.path.join(root, group, name))
                out.setdefault(group, {})[rec["subject"]] = rec
    return out


def read_optional(path):
    return load_json(path) if os.path.isfile(path) else None


def fmt_rate(per_s):
    if per_s is None:
        return "-"
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f} M/s"
    if per_s >= 1e3:
        return f"{per_s / 1e3:.1f} k/s"
    return f"{per_s:.0f} /s"


def fmt_time(ns):
    if ns is None:
        return "-"
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.0f} us"
    return f"{ns:.0f} ns"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def value_of(rec, kind):
    """The figure of merit: entries/s (higher is better) or ns (lower is better)."""
    if rec is None:
        return None
    return rec.get("per_s") if kind == "throughput" else rec.get("median_ns")


def best_peer(results, kind):
    vals = [(s, value_of(results.get(s), kind)) for s in PEERS if results.get(s)]
    vals = [(s, v) for s, v in vals if v]
    if not vals:
        return None, None
    pick = max if kind == "throughput" else min
    return pick(vals, key=lambda sv: sv[1])


def speed_ratio(a, b, kind):
    """How many times better a is than b (>1 means a is better)."""
    if not a or not b:
        return None
    return a / b if kind == "throughput" else b / a


# ---------------------------------------------------------------- targets


def evaluate(crit, lat, rss):
    """Rows of (workload, target, measured, met) for the report."""
    rows = []

    def thr(group, subject):
        return value_of(crit.get(group, {}).get(subject), "throughput")

    def vs_peer(group, subject="walrs"):
        peer, pv = best_peer(crit.get(group, {}), "throughput")
        return speed_ratio(thr(group, subject), pv, "throughput"), peer

    def check(ok):
        return "met" if ok else "**missed**"

    for group, letter, peer_min, plain_min in [
        ("A_bulk_100B", "A", 2.0, 0.9),
        ("B_bulk_1KiB", "B", 1.5, 0.9),
    ]:
        if group not in crit:
            continue
        r, peer = vs_peer(group)
        if r is not None:
            rows.append((letter, f">= {peer_min}x best peer", f"{r:.2f}x {peer}", check(r >= peer_min)))
        p = speed_ratio(thr(group, "walrs"), thr(group, "plain-bufwriter"), "throughput")
        if p is not None:
            rows.append((letter, f">= {plain_min}x plain file", f"{p:.2f}x", check(p >= plain_min)))

    g = "C_durable_1_writer"
    if g in crit:
        r, peer = vs_peer(g)
        if r is not None:
            rows.append(("C", ">= best peer", f"{r:.2f}x {peer}", check(r >= 1.0)))
        p = speed_ratio(thr(g, "walrs"), thr(g, "pwrite-prezeroed"), "throughput")
        if p is not None:
            rows.append(("C", ">= pre-zeroed pwrite + fdatasync", f"{p:.2f}x", check(p >= 1.0)))
        lw = lat.get(g, {}).get("walrs")
        if lw:
            l = lw["latency"]
            ratio = l["p99_us"] / l["p50_us"] if l["p50_us"] else float("inf")
            rows.append(("C", "p99 <= 2x p50", f"p50 {l['p50_us']:.0f} us, p99 {l['p99_us']:.0f} us ({ratio:.1f}x)", check(ratio <= 2.0)))
        r2, _ = vs_peer(g, "walrs-group-commit")
        if r2 is not None:
            rows.append(("C", "(walrs with GroupCommit) >= best peer", f"{r2:.2f}x", check(r2 >= 1.0)))
        # Issue 17: one writer with 1,024 entries in flight against one-at-a-time
        # durable appends (C) and 16 threads in group commit (D), in the same run.
        piped = thr(g, "walrs-pipelined")
        r3 = speed_ratio(piped, thr(g, "walrs"), "throughput")
        if r3 is not None:
            rows.append(("C", "(walrs, 1,024 in flight) >= 20x one at a time", f"{r3:.1f}x", check(r3 >= 20.0)))
        r4 = speed_ratio(piped, thr("D_durable_16_threads", "walrs"), "throughput")
        if r4 is not None:
            rows.append(("C", "(walrs, 1,024 in flight) >= 3x walrs in D", f"{r4:.1f}x", check(r4 >= 3.0)))

    g = "D_durable_16_threads"
    if g in crit:
        r, peer = vs_peer(g)
        if r is not None:
            rows.append(("D", ">= 1.5x best peer", f"{r:.2f}x {peer}", check(r >= 1.5)))

    g = "E_reopen_read_all"
    if g in crit:
        for subject, note in [("walrs", "recovery::open + replay_with"), ("walrs-wal-open", "Wal::open + visit_from")]:
            r, peer = vs_peer(g, subject)
            if r is not None:
                rows.append(("E", f">= 1.5x best peer ({note})", f"{r:.2f}x {peer}", check(r >= 1.5)))

    small, big = crit.get("F_open_128MiB", {}), crit.get("F_open_1GiB", {})
    for subject, note in [("walrs-wal-open", "Wal::open"), ("walrs", "wal_recovery::open")]:
        b = big.get(subject)
        if b:
            ms = b["median_ns"] / 1e6
            rows.append(("F", f"a few ms (<= 5 ms) at 1 GiB ({note})", f"{ms:.1f} ms", check(ms <= 5.0)))
            s = small.get(subject)
            if s:
                growth = b["median_ns"] / s["median_ns"]
                rows.append(("F", f"independent of size beyond a segment ({note})", f"1 GiB / 128 MiB = {growth:.2f}x", check(growth <= 1.5)))

    if rss:
        for run in rss["runs"]:
            if run["subject"] != "walrs":
                continue
            g = rss_growth(run)
            if g:
                flat = g["anon_growth_mib"] <= 8.0
                rows.append(("G", "RSS flat as the WAL grows (heap growth from 1/4 to the end <= 8 MiB)",
                             f"heap {g['anon_first']:.0f} -> {g['anon_last']:.0f} MiB ({g['anon_per_gib']:+.1f} MiB/GiB); "
                             f"peak {run['hwm_mib']:.0f} MiB, of which up to {g['file_max']:.0f} MiB mapped segment pages", check(flat)))
    return rows


def rss_growth(run):
    """Heap (RssAnon) growth between the first quarter of the writes and the end.

    VmRSS of a writer that maps its segments also counts the mapped pages of the active
    segment, which rise and fall with the segment's fill level; sampled at fixed byte
    counts that alias with the segment size. RssAnon (heap, stacks) is what keeps
    growing if the log holds per-entry state in memory."""
    s = run.get("samples") or []
    if len(s) < 4 or len(s[0]) < 4:
        return None
    first, last = s[len(s) // 4 - 1], s[-1]
    gib = (last[0] - first[0]) / 2**30
    growth = last[2] - first[2]
    return {
        "anon_first": first[2], "anon_last": last[2], "anon_growth_mib": growth,
        "anon_per_gib": growth / gib if gib else 0.0,
        "file_max": max(x[3] for x in s),
    }


# ---------------------------------------------------------------- markdown


def markdown(crit, lat, rss, datasets, run, machine):
    out = []
    w = out.append
    w("<!-- Generated by scripts/plot_benchmarks.py from benches/peers/target; do not edit. -->")
    w("# Peer benchmark: walrs against other Rust WALs")
    w("")
    if machine:
        w(f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
          f"kernel {machine.get('kernel', '?')}, bench directory on {machine.get('filesystem', '?')}"
          f" ({machine.get('device', '?')}). Run {machine.get('date', '?')}, "
          f"toolchain {machine.get('rustc', '?')}, walrs at {machine.get('revision', '?')}.")
        w("")
    if run:
        loads = [f"{x['workload'][0]}: {x['loadavg_before'].split()[0]}-{x['loadavg_after'].split()[0]}" for x in run["workloads"]]
        w(f"Load average (1 min) before-after each workload: {', '.join(loads)}."
          + (f" Scale divisor {run['scale']} (a smoke run: figures meaningless)." if run.get("scale", 1) != 1 else ""))
        w("")
    w("Medians of 10 samples (criterion; one iteration per sample for all but the fastest), "
      "throughput in entries per second (F: time per open, lower is better). Ratios compare walrs "
      "with the best peer and with the raw baseline in the same run. In E and F the `walrs` column "
      "is the front door (`wal_recovery::open`, + `replay_with` in E; on a cleanly closed log it "
      "trusts the close record, as `Wal::open` does) and `walrs (Wal::open)` the store's own open "
      "(+ `visit_from` in E); the F ratio uses the front door.")
    w("")
    cols = ORDER
    w("| workload | " + " | ".join(LABELS[c] for c in cols) + " | walrs / best peer | walrs / baseline |")
    w("|---" * (len(cols) + 3) + "|")
    for group, title, kind, headline in WORKLOADS:
        results = crit.get(group)
        if not results:
            continue
        cells = []
        for c in cols:
            rec = results.get(c)
            if rec is None:
                cells.append("")
            elif kind == "throughput":
                cells.append(fmt_rate(rec.get("per_s")))
            else:
                cells.append(fmt_time(rec.get("median_ns")))
        peer, pv = best_peer(results, kind)
        walrs_v = value_of(results.get(headline), kind)
        r_peer = speed_ratio(walrs_v, pv, kind)
        base_name = {"C_durable_1_writer": "pwrite-prezeroed", "D_durable_16_threads": "pwrite-prezeroed",
                     "E_reopen_read_all": "plain-bufwriter"}.get(group, "plain-bufwriter")
        r_base = speed_ratio(walrs_v, value_of(results.get(base_name), kind), kind) if kind == "throughput" else None
        if kind == "throughput":
            peer_cell = f"{fmt_ratio(r_peer)} ({peer or '-'})"
        elif walrs_v and pv:
            peer_cell = f"{walrs_v / pv:.0f}x the time of {peer}"
        else:
            peer_cell = "-"
        w(f"| {title} | " + " | ".join(cells)
          + f" | {peer_cell} | "
          + (f"{fmt_ratio(r_base)} ({base_name})" if r_base else "-") + " |")
    w("")

    if rss:
        w(f"G. Resident memory while writing {rss['bytes'] / 2**30:.0f} GiB of {rss['entry_bytes']} B entries "
          "(one sync at the end; child process per writer; VmRSS sampled as it writes, VmHWM at the end):")
        w("")
        w("| writer | VmRSS at 1/4 | VmRSS at end of writes | heap (RssAnon) at 1/4 -> end | heap growth per GiB | mapped file pages (RssFile), max | peak (VmHWM) | time to write |")
        w("|---|---|---|---|---|---|---|---|")
        for r in rss["runs"]:
            s = r["samples"]
            q = s[len(s) // 4 - 1] if len(s) >= 4 else (s[0] if s else None)
            last = s[-1] if s else None
            g = rss_growth(r)
            heap = f"{g['anon_first']:.0f} -> {g['anon_last']:.0f} MiB" if g else "-"
            per = f"{g['anon_per_gib']:+.1f} MiB" if g else "-"
            filemax = f"{g['file_max']:.0f} MiB" if g else "-"
            w(f"| {LABELS.get(r['subject'], r['subject'])} | {q[1]:.0f} MiB | {last[1]:.0f} MiB | {heap} | {per} | {filemax} | "
              f"{r['hwm_mib']:.0f} MiB | {r['seconds']:.1f} s |")
        w("")

    if lat:
        w("Latency of one durable append (per-append times recorded with `Instant` over every "
          "iteration, warm-up included):")
        w("")
        w("| workload | implementation | appends | p50 | p99 | p99.9 | max | p99 / p50 |")
        w("|---|---|---|---|---|---|---|---|")
        for group in sorted(lat):
            for subject in ORDER:
                rec = lat[group].get(subject)
                if not rec:
                    continue
                l = rec["latency"]
                ratio = l["p99_us"] / l["p50_us"] if l["p50_us"] else float("nan")
                w(f"| {group.split('_')[0]} | {LABELS.get(subject, subject)} | {l['count']} | {l['p50_us']:.0f} us | "
                  f"{l['p99_us']:.0f} us | {l['p999_us']:.0f} us | {l['max_us']:.0f} us | {ratio:.1f} |")
        w("")

    rows = evaluate(crit, lat, rss)
    if rows:
        w("Targets:")
        w("")
        w("| workload | target | measured | |")
        w("|---|---|---|---|")
        for letter, target, measured, met in rows:
            w(f"| {letter} | {target} | {measured} | {met} |")
        w("")

    spread = []
    for group, title, kind, _ in WORKLOADS:
        results = crit.get(group, {})
        for c in ORDER:
            rec = results.get(c)
            if rec and "min_per_s" in rec:
                spread.append(f"{group.split('_')[0]} {c}: {fmt_rate(rec['min_per_s'])}-{fmt_rate(rec['max_per_s'])}")
            elif rec and "min_ns" in rec:
                spread.append(f"{group.split('_')[0]} {c}: {fmt_time(rec['min_ns'])}-{fmt_time(rec['max_ns'])}")
    if spread:
        w("<details><summary>Spread of the 10 samples (slowest-fastest)</summary>")
        w("")
        w("; ".join(spread) + ".")
        w("")
        w("</details>")
        w("")

    if datasets:
        w("Data sets on disk (E, F): " + "; ".join(
            f"{d['workload'].split('_')[0]} {d['workload'].split('_', 2)[-1]}: "
            + ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in d["bytes_on_disk"].items())
            for d in datasets) + ".")
        w("")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- SVG

PANEL_W = 560
LABEL_W = 170
BAR_W = 185
ROW_H = 20
PAD = 14


def panel(x, y, title, subtitle, rows, log_scale, lower_better, labels=None):
    """rows: [(subject, value, label)], value > 0. Returns (svg parts, height)."""
    parts = []
    h = 44 + ROW_H * len(rows) + 10
    parts.append(f'<g transform="translate({x},{y})">')
    parts.append(f'<rect x="0" y="0" width="{PANEL_W - 10}" height="{h}" fill="#ffffff" stroke="#dee2e6"/>')
    parts.append(f'<text x="{PAD}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>')
    parts.append(f'<text x="{PAD}" y="36" font-size="11" fill="#495057">{escape(subtitle)}</text>')
    vals = [v for _, v, _ in rows if v and v > 0]
    if vals:
        vmax, vmin = max(vals), min(vals)
        for i, (subject, v, label) in enumerate(rows):
            ty = 44 + i * ROW_H
            k = kind_of(subject)
            weight = "bold" if k == "walrs" else "normal"
            name = (labels or {}).get(subject) or LABELS.get(subject, subject)
            parts.append(f'<text x="{LABEL_W - 6}" y="{ty + 14}" font-size="11" text-anchor="end" font-weight="{weight}">{escape(name)}</text>')
            if not v or v <= 0:
                continue
            if log_scale:
                lo = math.log10(vmin) - 0.3
                span = max(math.log10(vmax) - lo, 1e-9)
                frac = (math.log10(v) - lo) / span
            else:
                frac = v / vmax
            bw = max(2.0, BAR_W * frac)
            parts.append(f'<rect x="{LABEL_W}" y="{ty + 3}" width="{bw:.1f}" height="{ROW_H - 6}" fill="{COLORS[k]}"/>')
            parts.append(f'<text x="{LABEL_W + bw + 4:.1f}" y="{ty + 14}" font-size="11" font-weight="{weight}">{escape(label)}</text>')
    parts.append("</g>")
    return parts, h


def svg(crit, lat, rss):
    panels = []
    for group, title, kind, headline in WORKLOADS:
        results = crit.get(group)
        if not results:
            continue
        peer, pv = best_peer(results, kind)
        rows = []
        for s in ORDER:
            rec = results.get(s)
            if not rec:
                continue
            v = value_of(rec, kind)
            r = speed_ratio(v, pv, kind)
            if kind == "throughput":
                text = fmt_rate(v)
                if s == peer:
                    text += "  (best peer)"
                elif r is not None:
                    text += f"  ({r:.2f}x)"
            else:
                text = fmt_time(v)
                if s == peer:
                    text += "  (best peer)"
                elif v and pv:
                    m = v / pv
                    text += f"  ({m:.0f}x the time)" if m >= 10 else f"  ({m:.1f}x the time)"
            rows.append((s, v, text))
        if kind == "throughput":
            sub = f"entries/s, longer is better; (ratio) = throughput / best peer's ({peer})"
            panels.append((title, sub, rows, False, False, GROUP_LABELS.get(group)))
        else:
            sub = f"time per open, log scale, SHORTER is better; best peer: {peer}"
            panels.append((title, sub, rows, True, True, GROUP_LABELS.get(group)))
    if rss:
        rows = []
        for r in rss["runs"]:
            g = rss_growth(r)
            extra = f"; heap {g['anon_per_gib']:+.1f}/GiB" if g else ""
            rows.append((r["subject"], r["hwm_mib"], f"peak {r['hwm_mib']:.0f} MiB{extra}"))
        rows.sort(key=lambda t: ORDER.index(t[0]) if t[0] in ORDER else 99)
        panels.append((f"G. peak RSS writing {rss['bytes'] / 2**30:.0f} GiB", "VmHWM, log scale, SHORTER is better; heap = RssAnon growth", rows, True, True))
    cols = 2
    parts = []
    heights = [0] * cols
    placed = []
    for i, p in enumerate(panels):
        col = i % cols
        x = 10 + col * PANEL_W
        y = 50 + heights[col]
        body, h = panel(x, y, *p)
        placed.append(body)
        heights[col] += h + 10
    total_h = 50 + max(heights) + 30
    total_w = 10 + cols * PANEL_W
    parts.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" '
                 f'viewBox="0 0 {total_w} {total_h}" font-family="DejaVu Sans, Arial, sans-serif">')
    parts.append(f'<rect x="0" y="0" width="{total_w}" height="{total_h}" fill="#f8f9fa"/>')
    parts.append('<text x="10" y="24" font-size="17" font-weight="bold">walrs against other Rust WALs and raw files (medians, one run)</text>')
    legend_x = 10
    for name, color in [("walrs", COLORS["walrs"]), ("peers", COLORS["peer"]), ("raw baselines", COLORS["baseline"])]:
        parts.append(f'<rect x="{legend_x}" y="33" width="12" height="10" fill="{color}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="42" font-size="11">{name}</text>')
        legend_x += 110
    for body in placed:
        parts.extend(body)
    parts.append(f'<text x="10" y="{total_h - 10}" font-size="10" fill="#868e96">Generated by scripts/plot_benchmarks.py from benches/peers (criterion medians; see docs/BENCHMARKS.md).</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default=os.path.join(repo, "benches", "peers", "target"))
    ap.add_argument("--svg", default=os.path.join(repo, "docs", "benchmarks.svg"))
    ap.add_argument("--markdown", default=os.path.join(repo, "docs", "peer-benchmarks.md"))
    args = ap.parse_args()

    crit = read_criterion(args.target)
    if not crit:
        sys.exit(f"no criterion results under {args.target}/criterion: run scripts/peer-bench.sh first")
    results = os.path.join(args.target, "peer-results")
    lat = read_latency(args.target)
    rss = read_optional(os.path.join(results, "rss.json"))
    run = read_optional(os.path.join(results, "run.json"))
    machine = read_optional(os.path.join(results, "machine.json"))
    datasets = []
    ddir = os.path.join(results, "datasets")
    if os.path.isdir(ddir):
        datasets = [load_json(os.path.join(ddir, n)) for n in sorted(os.listdir(ddir)) if n.endswith(".json")]

    with open(args.svg, "w", encoding="utf-8") as f:
        f.write(svg(crit, lat, rss))
    md = markdown(crit, lat, rss, datasets, run, machine)
    with open(args.markdown, "w", encoding="utf-8") as f:
        f.write(md)
    print(f"wrote {os.path.relpath(args.svg, repo)} and {os.path.relpath(args.markdown, repo)}", file=sys.stderr)


if __name__ == "__main__":
    main()
