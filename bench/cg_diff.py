#!/usr/bin/env python3
"""Instructions per packet of the measured phase, from two callgrind runs that differ only in how
many packets they forward after warm-up: (Ir(long) - Ir(short)) / (packets difference), per function.
Subtracting cancels start-up and the table fill, so what is left is the steady-state packet path.

usage: cg_diff.py SHORT.out LONG.out PACKETS_DIFFERENCE [TOP]
Prints a table, then one line `CG_TOTAL <instr/pkt>`.
"""
import re
import subprocess
import sys


def per_function(path):
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
                         check=True, capture_output=True, text=True).stdout
    funcs = {}
    total = None
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([\d.\s]+%\)\s+)?(.*)$", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        name = m.group(2).strip()
        if name.startswith("PROGRAM TOTALS"):
            total = ir
            continue
        # "file:function [object]": keep function and object, the file is often ???.
        name = re.sub(r"^[^:]*:", "", name, count=1)
        name = re.sub(r"\(.*\)", "()", name)  # drop argument lists
        funcs[name] = funcs.get(name, 0) + ir
    return total, funcs


def main():
    short, long_, packets = sys.argv[1], sys.argv[2], int(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    t0, f0 = per_function(short)
    t1, f1 = per_function(long_)
    rows = []
    for name in set(f0) | set(f1):
        d = (f1.get(name, 0) - f0.get(name, 0)) / packets
        if abs(d) >= 0.05:
            rows.append((d, name))
    rows.sort(reverse=True)
    total = (t1 - t0) / packets
    print(f"{'instr/pkt':>10}  {'share':>6}  function")
    for d, name in rows[:top]:
        print(f"{d:10.1f}  {100 * d / total:5.1f}%  {name[:110]}")
    print(f"CG_TOTAL {total:.1f}")


if __name__ == "__main__":
    main()
