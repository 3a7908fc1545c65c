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

TARGETS = {"mpps": 14.88, "mpps_1m": 25.0, "new_conns_per_sec": 5e6, "bytes_per_conn": 64, "scaling_per_core": 7 / 8,
           "instr_per_pkt": 400, "l3_multiple": 4}


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


def one_worker(rows, flows, mode="dplb"):
    """The 1-worker, 64 B, established measurement at `flows` (the headline's or the flow sweep's)."""
    for r in rows:
        if r.get("mode") == mode and r.get("workers") == 1 and r.get("flows") == flows and r.get("size") == 64 \
                and r.get("traffic") == "established" and r.get("run") in ("headline", "flows"):
            return r
    return None


def latency(rows):
    """{"50": {...}, "90": {...}}: the latency phases by offered load in percent of the measured maximum."""
    out = {}
    for r in rows:
        if r.get("mode") == "latency":
            out[f"{r['load'] * 100:.0f}"] = {k: r[k] for k in ("p50_ns", "p99_ns", "p999_ns", "offered_mpps", "mpps",
                                                                "max_mpps", "samples", "flows")}
    return out


def ratio(a, b):
    return a / b if a and b else 0.0


def summary(rows, l3=0):
    head = pick(rows, run="headline", mode="dplb")
    ceil = pick(rows, run="headline", mode="macswap")
    tp1 = pick(rows, run="testpmd", cores=1)
    syn = pick(rows, run="syn", mode="dplb")
    base, base_ceil = one_worker(rows, 1000000), one_worker(rows, 1000000, "macswap")  # what scaling compares
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
    if two and base:
        s["workers_max"] = 2
        s["scaling"] = round(ratio(two["mpps"], base["mpps"]), 3)
        s["ceiling_scaling"] = round(ratio(two_ceil["mpps"], base_ceil["mpps"]), 3) if two_ceil and base_ceil else 0
        s["testpmd_scaling"] = round(ratio(tp2["mpps"], tp1["mpps"]), 3) if tp2 and tp1 else 0
    cg = pick(rows, run="callgrind", mode="dplb")
    if cg:
        s["instr_per_pkt"] = cg["instr_per_pkt"]
    r10 = one_worker(rows, 10000000)
    if r10:
        s["mpps_10m"] = round(r10["mpps_per_core"], 3)
        s["hugepages_10m"] = bool(r10["hugepages"])
    if base:
        s["mpps_1m"] = round(base["mpps_per_core"], 3)
    if head:
        s["table_bytes"] = head["heap_bytes"]
    s["l3_bytes"] = l3
    lat = latency(rows)
    if lat:
        s["latency_ns"] = {k: [v["p50_ns"], v["p99_ns"], v["p999_ns"]] for k, v in lat.items()}
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
        d = one_worker(rows, 1000000) if k == 1 else pick(rows, run="cores", mode="dplb", workers=k)
        c = one_worker(rows, 1000000, "macswap") if k == 1 else pick(rows, run="cores", mode="macswap", workers=k)
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
    l3 = s.get("l3_bytes", 0)
    times = f", table {s['table_bytes'] / l3:.1f}x L3" if l3 and s.get("table_bytes") else ""
    out.append(row(f"established 64 B, {fmt_count(s['flows'])} flows{times}, 1 worker", f"{s['mpps']:.2f}", "14.88",
                   s["mpps"] >= TARGETS["mpps"], "Mpps"))
    if "mpps_10m" in s:
        huge = "" if s["hugepages_10m"] else " (no hugepages)"
        out.append(row(f"established 64 B, 10M flows{huge}, 1 worker", f"{s['mpps_10m']:.2f}", "14.88",
                       s["mpps_10m"] >= TARGETS["mpps"], "Mpps"))
    if "mpps_1m" in s and s["flows"] != 1000000:
        out.append(row("established 64 B, 1M flows, 1 worker", f"{s['mpps_1m']:.2f}", "25", s["mpps_1m"] >= TARGETS["mpps_1m"],
                       "Mpps"))
    elif "mpps_1m" in s:
        out.append(row("established 64 B, 1M flows, 1 worker (issue 15)", f"{s['mpps_1m']:.2f}", "25",
                       s["mpps_1m"] >= TARGETS["mpps_1m"], "Mpps"))
    out.append(row("new connections per core (SYN flood)", f"{s['new_conns_per_sec'] / 1e6:.2f}", "5",
                   s["new_conns_per_sec"] >= TARGETS["new_conns_per_sec"], "M/s"))
    out.append(row("memory per tracked connection", f"{s['bytes_per_conn']:.1f}", "<= 64", s["bytes_per_conn"] <= 64, "B"))
    if "scaling" in s:
        out.append(row("scaling 1 -> 2 workers (2 cores; 8 not available)", f"{s['scaling']:.2f}", ">= 1.75",
                       s["scaling"] >= 2 * TARGETS["scaling_per_core"], "x"))
    if "instr_per_pkt" in s:
        out.append(row("instructions per established packet (callgrind)", f"{s['instr_per_pkt']:.1f}", "<= 400",
                       s["instr_per_pkt"] <= TARGETS["instr_per_pkt"], "instr"))
    return out


def latency_table(rows):
    lat = latency(rows)
    out = ["| offered load | offered Mpps | sent Mpps | p50 | p99 | p99.9 | frames timed |",
           "|---|---|---|---|---|---|---|"]
    for k, v in sorted(lat.items(), key=lambda kv: float(kv[0])):
        out.append(f"| {k}% of {v['max_mpps']:.2f} Mpps | {v['offered_mpps']:.2f} | {v['mpps']:.2f} "
                   f"| {v['p50_ns'] / 1e3:.2f} us | {v['p99_ns'] / 1e3:.2f} us | {v['p999_ns'] / 1e3:.2f} us "
                   f"| {v['samples']} |")
    return out if lat else []


def footprint_table(rows, l3):
    """The connection table's size per flow count (1 worker), against the L3."""
    out = ["| flows | bytes per flow | table | x L3 |", "|---|---|---|---|"]
    seen = set()
    for r in sorted((r for r in rows if r.get("mode") == "dplb" and r.get("workers") == 1
                     and r.get("traffic") == "established" and r.get("size") == 64), key=lambda r: r["flows"]):
        if r["flows"] in seen:
            continue
        seen.add(r["flows"])
        x = f"{r['heap_bytes'] / l3:.2f}" if l3 else "-"
        out.append(f"| {fmt_count(r['flows'])} | {r['bytes_per_conn']:.1f} | {r['heap_bytes'] / 2**20:.0f} MiB | {x} |")
    return out


def plot(rows, workdir, png, l3=0, bytes_per_flow=0):
    flows = [r for r in rows if r.get("run") in ("flows", "headline") and r.get("mode") == "dplb"
             and r["workers"] == 1 and r["size"] == 64 and r["traffic"] == "established"]
    flows.sort(key=lambda r: r["flows"])
    with open(f"{workdir}/flows.dat", "w") as f:
        for r in flows:
            c = pick(rows, mode="macswap", flows=r["flows"], workers=1, size=64, traffic="established")
            f.write(f"{r['flows']} {r['mpps_per_core']:.3f} {c['mpps_per_core'] if c else 0:.3f}\n")
    with open(f"{workdir}/cores.dat", "w") as f:
        for k in (1, 2):
            if k == 1:
                d, c = one_worker(rows, 1000000), one_worker(rows, 1000000, "macswap")
            else:
                d, c = pick(rows, run="cores", mode="dplb", workers=k), pick(rows, run="cores", mode="macswap", workers=k)
            t = pick(rows, run="testpmd", cores=k)
            f.write(f"{k} {d['mpps'] if d else 0:.3f} {c['mpps'] if c else 0:.3f} {t['mpps'] if t else 0:.3f}\n")
    here = __file__.rsplit("/", 1)[0]
    l3flows = l3 / bytes_per_flow if l3 and bytes_per_flow else 0
    label = f"L3 {l3 / 2**20:.0f} MiB = {l3flows / 1e6:.1f}M flows" if l3flows else ""
    subprocess.run(["gnuplot", "-e", f"workdir='{workdir}'; out='{png}'; l3flows={l3flows:.0f}; l3label='{label}'",
                    f"{here}/plot.gp"], check=True)


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
        f"- L3 cache: {s['l3_bytes'] / 2**20:.0f} MiB (one worker core's, read at run time from {args.l3_source}); "
        f"the headline's {fmt_count(s['flows'])} flows make a table of {s.get('table_bytes', 0) / 2**20:.0f} MiB, "
        f"{ratio(s.get('table_bytes', 0), s['l3_bytes']):.1f}x the L3 (wanted: at least {TARGETS['l3_multiple']}x)."
        if s["l3_bytes"] else "- L3 cache: not reported by this machine (sysfs, lscpu and getconf gave nothing)",
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
    lat = latency_table(rows)
    if lat:
        md += ["", "## Latency in the worker", "",
               "Time from the RX burst that hands a frame to the worker to the TX burst that sends it (TX buffering "
               "included), from TSC stamps taken by an RX and a TX callback on the worker's queue, with the offered "
               f"load paced by the RX callback at 50 % and 90 % of the headline's measured rate "
               f"({fmt_count(s['flows'])} flows):", ""] + lat
    md += ["", "## Table footprint", "",
           "The connection table per flow count (one worker: rte_malloc heap growth while its tables were made), "
           "against the L3 cache:", ""] + footprint_table(rows, s["l3_bytes"])
    md += ["", "## All measurements", ""] + bench_table(rows)
    md += ["", "## Scaling", ""] + cores_table(rows)
    md += ["", "## Plot", "", f"![Mpps vs flows and vs cores]({args.plot.rsplit('/', 1)[-1]})", ""]
    md += ["## Callgrind (instructions per packet, steady state)", ""] + callgrind_section(rows, args.history)
    md.append("")
    text = "\n".join(md)
    # The "## Control plane" section is bench/control-plane's (control_plane_report.py): kept as it is.
    try:
        with open(args.md) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    at = old.find("\n## Control plane")
    if at >= 0:
        text += old[at:]
    with open(args.md, "w") as f:
        f.write(text)


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
    ap.add_argument("--l3", type=int, default=0, help="bytes of L3 cache one worker core sees (0: unknown)")
    ap.add_argument("--l3-source", default="none")
    args = ap.parse_args()
    rows = load(args.results)
    s = summary(rows, args.l3)
    print()
    print("\n".join(bench_table(rows)))
    print()
    print("\n".join(cores_table(rows)))
    print()
    print("\n".join(targets_table(s)))
    lat = latency_table(rows)
    if lat:
        print()
        print("\n".join(lat))
    for mode in ("dplb", "macswap"):
        cg = pick(rows, run="callgrind", mode=mode)
        if cg:
            print(f"callgrind {mode}: {cg['instr_per_pkt']:.1f} instr/pkt")
    if args.md:
        head = pick(rows, run="headline", mode="dplb")
        plot(rows, args.workdir, args.plot, args.l3, head["bytes_per_conn"] if head else 0)
        write_md(rows, s, args)
        print(f"wrote {args.md} and {args.plot}")
    if args.json:
        print(json.dumps(s, separators=(",", ":")))


if __name__ == "__main__":
    sys.exit(main())
