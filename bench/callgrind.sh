#!/usr/bin/env bash
# Instructions per packet of the worker's steady state, counted by callgrind (repeatable where
# hardware counters are not available): two runs that forward SHORT and LONG packets after warm-up,
# differenced per function by cg_diff.py. Collection is limited to dplb::worker_main and its callees.
#
#   bench/callgrind.sh BENCH_BINARY MODE TRAFFIC FLOWS [OUT_DIR [BENCH_OPTION...]]
#     MODE dplb|macswap, TRAFFIC established|mix|syn; BENCH_OPTIONs go to dplb_bench (e.g. --services
#     1000). Last line: CG_TOTAL <instr/pkt>.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1 mode=$2 traffic=$3 flows=$4
out=${5:-$(mktemp -d)}
short=100000 long=300000
mkdir -p "$out"
eal=(-l 0,1 --no-huge --no-pci --no-shconf -m 1024 --log-level lib.eal:error --no-telemetry)
for n in $short $long; do
  valgrind --tool=callgrind --toggle-collect='dplb::worker_main*' \
    --callgrind-out-file="$out/cg.$mode.$traffic.$n.out" \
    "$bin" "${eal[@]}" -- --mode "$mode" --traffic "$traffic" --flows "$flows" --packets "$n" "${@:6}" \
    >"$out/cg.$mode.$traffic.$n.log" 2>&1 || { tail -20 "$out/cg.$mode.$traffic.$n.log" >&2; exit 1; }
done
python3 "$here/cg_diff.py" "$out/cg.$mode.$traffic.$short.out" "$out/cg.$mode.$traffic.$long.out" $((long - short)) 25
