#!/usr/bin/python3
"""Render the main panels of the dplb Grafana dashboard as PNG plots, from Prometheus' HTTP API.

  plot.py --url http://127.0.0.1:9090 --start UNIX --end UNIX [--step 1] --out DIR
          [--dashboard monitoring/grafana/dplb.json] [--events events.json] [--panel TITLE ...]

Each panel's queries run as query_range over [start, end] with the dashboard's template variables
set to every director and VIP ($__rate_interval: --rate-interval, default 5s); one PNG per panel,
named after its title. --events: a JSON list of [unix time, "label"] drawn as vertical lines.
Needs python3-matplotlib.
"""
import argparse
import json
import os
import re
import sys
import urllib.parse
import urllib.request

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MAIN_PANELS = [
    "Packets/s per real", "Connections by state per real", "VRRP state per director",
    "Directors up", "Real up (health check)", "Received frames by outcome", "Drops by reason",
    "Connection table fill", "Configuration reloads", "Last reload successful", "Port packets/s",
]
STATE_NAMES = {"VRRP state per director": {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT"},
               "Directors up": {0: "down", 1: "up"}, "Real up (health check)": {0: "down", 1: "up"},
               "Last reload successful": {0: "failed", 1: "ok"}}


def query_range(url, expr, start, end, step):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{q}", timeout=30) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body.get('error')}")
    return body["data"]["result"]


def legend(fmt, labels):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt) or str(labels)


def substitute(expr, rate_interval):
    for k, v in {"$__rate_interval": rate_interval, "$instance": ".+", "$vip": ".+"}.items():
        expr = expr.replace(k, v)
    return expr


def slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def plot_panel(panel, args, events):
    fig, ax = plt.subplots(figsize=(10, 4), dpi=90)
    n = 0
    for t in panel.get("targets", []):
        for series in query_range(args.url, substitute(t["expr"], args.rate_interval),
                                  args.start, args.end, args.step):
            xs = [float(v[0]) - args.start for v in series["values"]]
            ys = [float(v[1]) for v in series["values"]]
            ax.plot(xs, ys, label=legend(t.get("legendFormat", ""), series["metric"]), linewidth=1.2,
                    drawstyle="steps-post" if panel["type"] == "state-timeline" else "default")
            n += 1
    for when, label in events:
        x = when - args.start
        ax.axvline(x, color="grey", linestyle=":", linewidth=1)
        ax.text(x, 1.0, " " + label, rotation=90, va="top", ha="left", fontsize=7, color="dimgrey",
                transform=ax.get_xaxis_transform())
    names = STATE_NAMES.get(panel["title"])
    if names:
        ax.set_yticks(list(names))
        ax.set_yticklabels(list(names.values()))
    unit = panel["fieldConfig"]["defaults"].get("unit", "short")
    ax.set_title(panel["title"] + ("" if names or unit == "short" else f" ({unit})"))
    ax.set_xlabel("seconds since start")
    ax.grid(True, alpha=0.3)
    if n:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    path = os.path.join(args.out, slug(panel["title"]) + ".png")
    fig.savefig(path)
    plt.close(fig)
    return path, n


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--start", type=float, required=True)
    p.add_argument("--end", type=float, required=True)
    p.add_argument("--step", type=float, default=1.0)
    p.add_argument("--rate-interval", default="5s")
    p.add_argument("--out", required=True)
    p.add_argument("--dashboard", default=os.path.join(here, "grafana/dplb.json"))
    p.add_argument("--events")
    p.add_argument("--panel", action="append", help="panel title (repeatable); default: the main panels")
    args = p.parse_args()
    if args.end <= args.start:
        p.error("--end must be after --start")
    dash = json.load(open(args.dashboard))
    wanted = args.panel or MAIN_PANELS
    panels = {x["title"]: x for x in dash["panels"] if x.get("type") != "row"}
    missing = [t for t in wanted if t not in panels]
    if missing:
        p.error(f"no such panel in {args.dashboard}: {missing}")
    events = json.load(open(args.events)) if args.events else []
    os.makedirs(args.out, exist_ok=True)
    empty = []
    for title in wanted:
        path, n = plot_panel(panels[title], args, events)
        print(f"{path}: {n} series")
        if n == 0:
            empty.append(title)
    if empty:
        print(f"panels without series: {empty}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
