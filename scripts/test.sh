#!/usr/bin/env bash
# Sets up (packages + build), then runs every test. Exit status non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || { echo "test: setup failed"; exit 1; }

meson test -C build --print-errorlogs --num-processes 1
rc=$?

# The publish stress test again, built with ASan and UBSan in build-asan (only that target): any
# sanitizer report fails it. detect_leaks=0: DPDK's EAL keeps heap memory it never frees and
# reaches other blocks only through its own mmap()ed memory, which LeakSanitizer does not scan, so
# its leak report at exit is noise about DPDK, not about dplb. halt_on_error makes the first
# report end the run with a non-zero status; the log is searched for reports as well.
asan_log=build-asan/publish-stress.log
asan_rc=0
rm -f "$asan_log"
if [[ ! -f build-asan/build.ninja ]]; then
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || asan_rc=1
fi
if ((asan_rc == 0)); then
  if ! ninja -C build-asan tests/publish_stress_tests >build-asan/ninja.log 2>&1; then
    echo "test: ASan build failed:"
    tail -n 30 build-asan/ninja.log
    asan_rc=1
  fi
fi
if ((asan_rc == 0)); then
  echo "publish-stress under ASan/UBSan (log: $asan_log)"
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    timeout 600 build-asan/tests/publish_stress_tests >"$asan_log" 2>&1 || asan_rc=$?
  report='ERROR: [A-Za-z]+Sanitizer|runtime error:'
  if grep -qE "$report" "$asan_log" && ((asan_rc == 0)); then asan_rc=1; fi
  grep -E '^publish-stress:|^\[  (PASSED|FAILED)  \]' "$asan_log"
  if ((asan_rc != 0)); then
    echo "publish-stress under ASan/UBSan FAILED (status $asan_rc):"
    if grep -qE "$report" "$asan_log"; then grep -m1 -E -A40 "$report" "$asan_log"; else tail -n 40 "$asan_log"; fi
  fi
fi

# One closing line over every GoogleTest case that ran: meson's log, then the ASan run's.
count() { grep -hoE "^\\[  $1  \\] [0-9]+ test" "${@:2}" 2>/dev/null | awk '{s+=$4} END {print s+0}'; }
log=build/meson-logs/testlog.txt
passed=$(count PASSED "$log")
failed=$(count FAILED "$log")
if ((rc != 0 && failed == 0)); then failed=1; fi  # a crash or time-out is a failure too
asan_passed=$(count PASSED "$asan_log")
asan_failed=$(count FAILED "$asan_log")
# A sanitizer report, crash or build failure: its one test failed, whatever it printed.
if ((asan_rc != 0 && asan_failed == 0)); then asan_passed=0 asan_failed=1; fi
echo "$((passed + asan_passed)) passed, $((failed + asan_failed)) failed"
if ((rc == 0 && asan_rc != 0)); then rc=1; fi
exit "$rc"
