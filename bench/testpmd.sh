#!/usr/bin/env bash
# Ceiling (b): Debian's dpdk-testpmd forwarding with --forward-mode=macswap on one net_null port
# looped to itself, on the same cores as dplb_bench. net_null hands out mbufs from its pool on RX and
# frees them on TX, so this is the cost of DPDK's I/O path with no lookup at all.
#
#   bench/testpmd.sh FWD_CORES SECONDS MEMORY_MODE EAL_CORE_ARGS...
#     MEMORY_MODE: huge | nohuge.  Last line: TESTPMD_MPPS <total Mpps, median of 1 s samples>
set -euo pipefail
cores=$1 secs=$2 memmode=$3
shift 3
bin=$(command -v dpdk-testpmd || true)
if [[ -z $bin ]]; then
  echo "testpmd: dpdk-testpmd not found (Debian package dpdk-dev)" >&2
  echo "TESTPMD_MPPS 0"
  exit 0
fi
mem=(--no-huge -m 1024 --no-shconf)
[[ $memmode == huge ]] && mem=(--in-memory)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Auto-start, one stats line per second; SIGINT after SECONDS+2 (testpmd stops and exits cleanly).
timeout -s INT -k 5 $((secs + 2)) "$bin" "$@" "${mem[@]}" --no-pci --vdev net_null0 \
  --log-level lib.eal:error --no-telemetry -- \
  --forward-mode=macswap --port-topology=loop --nb-cores "$cores" --rxq "$cores" --txq "$cores" \
  --total-num-mbufs=$((8192 * cores)) --stats-period 1 --auto-start >"$log" 2>&1 </dev/null || true
# Tx-pps per second; the first two samples include start-up.
mpps=$(awk '/Tx-pps:/ {print $2}' "$log" | tail -n +3 | sort -n |
  awk '{v[NR] = $1} END {if (NR == 0) print 0; else printf "%.3f\n", v[int((NR + 1) / 2)] / 1e6}')
if [[ $mpps == 0 ]]; then
  echo "testpmd: no throughput samples; its output ends with:" >&2
  tail -5 "$log" >&2
fi
echo "TESTPMD_MPPS $mpps"
