#!/usr/bin/env bash
# Sets up (packages + build), then runs every test. Exit status non-zero on any failure.
#   1. every meson test in build/ (unit, golden, director, dplbd on pcap, live netns tests, ...);
#   2. the unit, golden, dplbd-on-pcap and publish-stress tests again, built with ASan and UBSan in
#      build-asan: any sanitizer report fails them;
#   3. every libFuzzer target (tests/fuzz, clang with ASan and UBSan in build-fuzz) for FUZZ_SECONDS
#      each (default 30), from the committed corpus: a crash or a broken invariant fails it.
# The closing line counts every GoogleTest case and every other test once: "N passed, M failed, K
# skipped". Run as root (as CI does) nothing may skip: a live test that cannot make its namespaces
# there is broken, so a skip counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || { echo "test: setup failed"; exit 1; }

rc=0
meson test -C build --print-errorlogs --num-processes 1 || rc=1

# The sanitizer build: only the targets these tests need (configured if missing). detect_leaks=0:
# DPDK's EAL keeps heap memory it never frees and reaches other blocks only through its own mmap()ed
# memory, which LeakSanitizer does not scan, so its report at exit is noise about DPDK, not about
# dplb. halt_on_error makes the first report end the process with a non-zero status; the log is
# searched for reports as well, in case a report came from a child whose status was not checked.
asan_tests=(unit dataplane dplbd publish-stress)
asan_targets=(tests/unit_tests tests/dataplane_tests tests/dplbd_tests tests/publish_stress_tests
              controlplane/dplbd controlplane/dplbctl)
asan_rc=0
asan_json=build-asan/meson-logs/testlog.json
rm -f "$asan_json"
if [[ ! -f build-asan/build.ninja ]]; then
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || asan_rc=1
fi
if ((asan_rc == 0)) && ! ninja -C build-asan "${asan_targets[@]}" >build-asan/ninja.log 2>&1; then
  echo "test: ASan build failed:"
  tail -n 30 build-asan/ninja.log
  asan_rc=1
fi
if ((asan_rc == 0)); then
  echo "under ASan/UBSan: ${asan_tests[*]}"
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --no-rebuild --print-errorlogs --num-processes 1 "${asan_tests[@]}" || asan_rc=1
  report='ERROR: [A-Za-z]+Sanitizer|runtime error:'
  if grep -qE "$report" build-asan/meson-logs/testlog.txt; then
    echo "sanitizer report:"
    grep -m1 -E -A40 "$report" build-asan/meson-logs/testlog.txt
    asan_rc=1
  fi
fi
((asan_rc == 0)) || rc=1

fuzz_log=build/fuzz-ci.log
echo "fuzzing every target for ${FUZZ_SECONDS:-30} s (log: $fuzz_log)"
tests/fuzz/ci.sh "${FUZZ_SECONDS:-30}" >"$fuzz_log" 2>&1 || rc=1
fuzz_line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' "$fuzz_log" | tail -n 1)
[[ -n $fuzz_line ]] || fuzz_line="fuzz: 0 passed, 1 failed"
echo "$fuzz_line"
if [[ $fuzz_line != *" 0 failed" ]]; then
  echo "fuzzing failed:"
  tail -n 40 "$fuzz_log"
  rc=1
fi

totals=$(python3 scripts/test_totals.py build/meson-logs/testlog.json "$asan_json")
# The fuzz targets count one each.
read -r fuzz_passed fuzz_failed < <(echo "$fuzz_line" | awk '{ print $2, $4 }')
totals=$(echo "$totals" | awk -v p="$fuzz_passed" -v f="$fuzz_failed" 'NR == 1 { $1 += p; $3 += f } { print }')
# A sanitizer report that no test's status showed, or a failed build: one failure more.
if ((asan_rc != 0)) && [[ $(python3 scripts/test_totals.py "$asan_json" | head -1) == *" 0 failed"* ]]; then
  totals=$(echo "$totals" | awk 'NR == 1 { $3 = $3 + 1 } { print }')
fi
skipped=$(echo "$totals" | head -1 | awk '{ print $5 }')
if ((skipped > 0)) && [[ $(id -u) -eq 0 ]]; then
  echo "test: as root nothing may skip; these did:"
  echo "$totals" | tail -n +2
  rc=1
fi
echo "$totals" | tail -n +2
echo "$totals" | head -1
exit "$rc"
