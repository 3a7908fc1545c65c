#!/usr/bin/env bash
# Sets up (packages + build), then runs every test. Exit status non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || { echo "test: setup failed"; exit 1; }

meson test -C build --print-errorlogs --num-processes 1
rc=$?

# One closing line over every GoogleTest case that ran.
log=build/meson-logs/testlog.txt
passed=$(grep -hoE '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -hoE '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
if ((rc != 0 && failed == 0)); then failed=1; fi  # a crash or time-out is a failure too
echo "${passed} passed, ${failed} failed"
exit "$rc"
