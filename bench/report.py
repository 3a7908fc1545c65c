#!/usr/bin/env python3
"""Turns the result lines one bench/run collected into a readable table, and for a full run into
bench/RESULTS.md and its plot; with --json, prints the summary object as the last line.
Every figure comes from the results file: nothing here is a constant of the machine.

usage: report.py RESULTS.jsonl --mode quick|full|callgrind [--json] [--md FILE --plot FILE
                 --workdir DIR --command CMD --machine FILE --history FILE]
"""
import argparse
import json
import subprocess
import sys

TARGETS = {"mpps": 14.88, "new_conns_per_sec": 3e6, "bytes_per_conn": 64, "scaling_per_core": 7 / 8}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def pick(rows, **kw):
    for r in rows:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def ratio(a, b):
    return a / b if a and b else 0.0


def summary(rows):
    head = pick(rows, run="headline", mode="dplb")
    ceil = pick(rows, run="headline", mode="macswap")
    tp1 = pick(rows, run="testpmd", cores=1)
    syn = pick(rows, run="syn", mode="dplb")
    two = pick(rows, run="cores", mode="dplb", workers=2)
    two_ceil = pick(rows, run="cores", mode="macswap", workers=2)
    tp2 = pick(rows, run="testpmd", cores=2)
    s = {
        "mpps": round(head["mpps_per_core"], 3) if head else 0,
        "ceiling_mpps": round(ceil["mpps_per_core"], 3) if ceil else 0,
        "testpmd_mpps": round(tp1["mpps"], 3) if tp1 else 0,
        "flows": head["flows"] if head else 0,
        "size": head["size"] if head else 0,
        "ns_per_pkt": round(head["ns_per_pkt"], 2) if head else 0,
        "new_conns_per_sec": round(syn["new_conns_per_sec"]) if syn else 0,
        "bytes_per_conn": round(head["bytes_per_conn"], 2) if head else 0,
        "hugepages": bool(head and head["hugepages"]),
    }
    s["ratio"] = round(ratio(s["mpps"], s["ceiling_mpps"]), 3)
    s["testpmd_ratio"] = round(ratio(s["mpps"], s["testpmd_mpps"]), 3)
    if two and head:
        s["workers_max"] = 2
        s["scaling"] = round(ratio(two["mpps"], head["mpps"]), 3)
        s["ceiling_scaling"] = round(ratio(two_ceil["mpps"], ceil["mpps"]), 3) if two_ceil and ceil else 0
        s["testpmd_scaling"] = round(ratio(tp2["mpps"], tp1["mpps"]), 3) if tp2 and tp1 else 0
    cg = pick(rows, run="callgrind", mode="dplb")
    if cg:
        s["instr_per_pkt"] = cg["instr_per_pkt"]
    s["max_other_cpus"] = round(max([r.get("other_cpus", 0) for r in rows] or [0]), 2)
    return s


def fmt_count(n):
    for unit, div in (("M", 1e6), ("K", 1e3)):
        if n >= div and n % div == 0:
            return f"{n // div:.0f}{unit}"
    return str(n)


def bench_table(rows):
    """One line per dplb_bench measurement, dplb beside its ceiling where both ran."""
    out = ["| run | traffic | flows | size | workers | dplb Mpps/core | ns/pkt | ceiling Mpps/core | ratio "
           "| new conns/s | B/conn | others' CPUs |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("mode") != "dplb" or r["run"] in ("testpmd", "callgrind"):
            continue
        c = pick(rows, run=r["run"], mode="macswap", flows=r["flows"], size=r["size"], workers=r["workers"],
                 traffic=r["traffic"])
        cm = c["mpps_per_core"] if c else 0
        conns = f"{r['new_conns_per_sec'] / 1e6:.2f} M" if r["traffic"] == "syn" else "-"
        others = max(r.get("other_cpus", 0), c.get("other_cpus", 0) if c else 0)
        cc, rc = (f"{cm:.2f}", f"{ratio(r['mpps_per_core'], cm):.2f}") if c else ("-", "-")
        out.append(f"| {r['run']} | {r['traffic']} | {fmt_count(r['flows'])} | {r['size']} | {r['workers']} "
                   f"| {r['mpps_per_core']:.2f} | {r['ns_per_pkt']:.1f} | {cc} | {rc} "
                   f"| {conns} | {r['bytes_per_conn']:.1f} | {others:.2f} |")
    return out


def cores_table(rows):
    out = ["| workers | dplb Mpps (all) | scaling | MAC-swap ceiling Mpps (all) | scaling | testpmd Mpps (all) | scaling |",
           "|---|---|---|---|---|---|---|"]
    base = {}
    for k in (1, 2):
        run = "headline" if k == 1 else "cores"
        d = pick(rows, run=run, mode="dplb", workers=k)
        c = pick(rows, run=run, mode="macswap", workers=k)
        t = pick(rows, run="testpmd", cores=k)
        vals = [x["mpps"] if x else 0 for x in (d, c, t)]
        if k == 1:
            base = vals
        cells = []
        for v, b in zip(vals, base):
            cells += [f"{v:.2f}", f"{ratio(v, b):.2f}x"]
        out.append(f"| {k} | " + " | ".join(cells) + " |")
    return out


def targets_table(s):
    def row(name, got, want, ok, unit):
        return f"| {name} | {got} {unit} | {want} {unit} | {'met' if ok else 'not met'} |"
    out = ["| target | measured | wanted | |", "|---|---|---|---|"]
    out.append(row("established 64 B, 1M flows, 1 worker", f"{s['mpps']:.2f}", "14.88", s["mpps"] >= 14.88, "Mpps"))
    out.append(row("new connections per core", f"{s['new_conns_per_sec'] / 1e6:.2f}", "3", s["new_conns_per_sec"] >= 3e6,
                   "M/s"))
    out.append(row("memory per tracked connection", f"{s['bytes_per_conn']:.1f}", "<= 64", s["bytes_per_conn"] <= 64, "B"))
    if "scaling" in s:
        out.append(row("scaling 1 -> 2 workers (2 cores; 8 not available)", f"{s['scaling']:.2f}", ">= 1.75",
                       s["scaling"] >= 2 * TARGETS["scaling_per_core"], "x"))
    return out


def plot(rows, workdir, png):
    flows = [r for r in rows if r.get("run") in ("flows", "headline") and r.get("mode") == "dplb"
             and r["workers"] == 1 and r["size"] == 64 and r["traffic"] == "established"]
    flows.sort(key=lambda r: r["flows"])
    with open(f"{workdir}/flows.dat", "w") as f:
        for r in flows:
            c = pick(rows, mode="macswap", flows=r["flows"], workers=1, size=64, traffic="established")
            f.write(f"{r['flows']} {r['mpps_per_core']:.3f} {c['mpps_per_core'] if c else 0:.3f}\n")
    with open(f"{workdir}/cores.dat", "w") as f:
        for k in (1, 2):
            run = "headline" if k == 1 else "cores"
            d, c, t = (pick(rows, run=run, mode="dplb", workers=k), pick(rows, run=run, mode="macswap", workers=k),
                       pick(rows, run="testpmd", cores=k))
            f.write(f"{k} {d['mpps'] if d else 0:.3f} {c['mpps'] if c else 0:.3f} {t['mpps'] if t else 0:.3f}\n")
    here = __file__.rsplit("/", 1)[0]
    subprocess.run(["gnuplot", "-e", f"workdir='{workdir}'; out='{png}'", f"{here}/plot.gp"], check=True)


def callgrind_section(rows, history):
    out = []
    for mode in ("dplb", "macswap"):
        cg = pick(rows, run="callgrind", mode=mode)
        if not cg:
            continue
        out.append(f"**{mode}** ({cg['traffic']}, {fmt_count(cg['flows'])} flows): "
                   f"**{cg['instr_per_pkt']:.1f} instructions per packet**, top functions:\n")
        out.append("```")
        out += cg["top"]
        out.append("```")
    if history:
        try:
            with open(history) as f:
                lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
        except FileNotFoundError:
            lines = []
        if lines:
            out.append("\nHistory (one row per full run; `bench/callgrind_history.tsv`):\n")
            out.append("| date | commit | dplb instr/pkt | MAC-swap loop instr/pkt | note |")
            out.append("|---|---|---|---|---|")
            for l in lines:
                l += [""] * (5 - len(l))
                out.append("| " + " | ".join(l[:5]) + " |")
    return out


def write_md(rows, s, args):
    with open(args.machine) as f:
        machine = f.read().strip()
    hp = "yes (2 MiB pages, set up by scripts/hugepages.sh)" if s["hugepages"] else \
        "**no** (`--no-huge`: the figures are lower than with hugepages)"
    md = [
        "# dplb benchmark results",
        "",
        "Generated by `bench/run` (see [README.md](README.md) for what each figure means and how it is measured).",
        "",
        "## Machine and command",
        "",
        "```", machine, "```", "",
        f"- Command: `{args.command}`",
        f"- Hugepages: {hp}",
        f"- Other processes on this (shared) machine used up to {s['max_other_cpus']:.2f} CPUs during a measurement "
        "(the `others' CPUs` column); figures taken beside a busy neighbour are low.",
        "- No 16-core device machine was lent to this task: the 1 -> 8 worker scaling and the testpmd 81/450 Mpps "
        "comparison were not run; 1 -> 2 is measured instead, where worker 2 shares CPU 0 with the (sleeping) "
        "control thread.",
        "",
        "## Summary (one run, same cores)",
        "",
        f"- dplb, established 64 B, {fmt_count(s['flows'])} flows, one worker: **{s['mpps']:.2f} Mpps** "
        f"({s['ns_per_pkt']:.1f} ns/packet)",
        f"- ceiling (a), the same loop and wire doing a MAC swap: {s['ceiling_mpps']:.2f} Mpps -> ratio "
        f"**{s['ratio']:.2f}**",
        f"- ceiling (b), `dpdk-testpmd --forward-mode=macswap` on net_null, one core: {s['testpmd_mpps']:.2f} Mpps "
        f"-> ratio **{s['testpmd_ratio']:.2f}**",
        f"- new connections (SYN flood): **{s['new_conns_per_sec'] / 1e6:.2f} M/s** per core",
        f"- memory: **{s['bytes_per_conn']:.1f} bytes per tracked connection** (rte_malloc heap growth while the "
        "worker's tables were created, divided by the IPv4 table's capacity = its share of the flows; the table "
        "was then filled to that capacity)",
    ]
    if "scaling" in s:
        md.append(f"- scaling 1 -> 2 workers: dplb {s['scaling']:.2f}x, MAC-swap ceiling {s['ceiling_scaling']:.2f}x, "
                  f"testpmd {s['testpmd_scaling']:.2f}x")
    if "instr_per_pkt" in s:
        md.append(f"- callgrind: {s['instr_per_pkt']:.1f} instructions per established packet (worker loop, wire "
                  "included)")
    md += ["", "## Targets", ""] + targets_table(s)
    md += ["", "## All measurements", ""] + bench_table(rows)
    md += ["", "## Scaling", ""] + cores_table(rows)
    md += ["", "## Plot", "", f"![Mpps vs flows and vs cores]({args.plot.rsplit('/', 1)[-1]})", ""]
    md += ["## Callgrind (instructions per packet, steady state)", ""] + callgrind_section(rows, args.history)
    md.append("")
    with open(args.md, "w") as f:
        f.write("\n".join(md))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--mode", default="quick")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--md")
    ap.add_argument("--plot")
    ap.add_argument("--workdir")
    ap.add_argument("--command", default="bench/run")
    ap.add_argument("--machine")
    ap.add_argument("--history")
    args = ap.parse_args()
    rows = load(args.results)
    s = summary(rows)
    print()
    print("\n".join(bench_table(rows)))
    print()
    print("\n".join(cores_table(rows)))
    print()
    print("\n".join(targets_table(s)))
    for mode in ("dplb", "macswap"):
        cg = pick(rows, run="callgrind", mode=mode)
        if cg:
            print(f"callgrind {mode}: {cg['instr_per_pkt']:.1f} instr/pkt")
    if args.md:
        plot(rows, args.workdir, args.plot)
        write_md(rows, s, args)
        print(f"wrote {args.md} and {args.plot}")
    if args.json:
        print(json.dumps(s, separators=(",", ":")))


if __name__ == "__main__":
    sys.exit(main())
