#!/usr/bin/env bash
# Builds one fuzz target with clang and libFuzzer (ASan + UBSan, meson build dir build-fuzz) and runs
# it for SECONDS.
#
#   tests/fuzz/run.sh TARGET SECONDS [LIBFUZZER_OPTION...]   TARGET: packet vrrp config keepalived control sync
#   tests/fuzz/run.sh --check                                 only checks that clang and libFuzzer work
#
# New inputs go to build-fuzz/tests/fuzz/work/TARGET (the committed corpus, tests/fuzz/corpus/TARGET,
# and tests/fuzz/regressions/TARGET are read, never written); a crash leaves its input in
# build-fuzz/tests/fuzz/crashes/TARGET/ and the script fails, saying where it is. The closing line
# is "fuzz TARGET: ok, ..." or "fuzz TARGET: FAILED, ...", with executions per second and coverage.
# Environment: DPLB_FUZZ_BUILD (build dir, default build-fuzz), DPLB_FUZZ_JOBS (ninja -j, default:
# the CPU count), DPLB_FUZZ_TIMEOUT (seconds one input may take, default 30).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${DPLB_FUZZ_BUILD:-$root/build-fuzz}
jobs=${DPLB_FUZZ_JOBS:-$(nproc)}
targets=(packet vrrp config keepalived control sync)

die() {
  echo "fuzz: $*" >&2
  exit 1
}

# clang++ that links a libFuzzer program with ASan and UBSan, or a clear message and failure.
check_toolchain() {
  command -v clang >/dev/null && command -v clang++ >/dev/null ||
    die "clang/clang++ not found: install the packages clang and libclang-rt-dev (scripts/setup.sh lists them)"
  local tmp
  tmp=$(mktemp -d)
  printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' >"$tmp/probe.cc"
  if ! clang++ -fsanitize=fuzzer,address,undefined "$tmp/probe.cc" -o "$tmp/probe" 2>"$tmp/err"; then
    cat "$tmp/err" >&2
    rm -rf "$tmp"
    die "clang++ cannot link with -fsanitize=fuzzer,address,undefined: libFuzzer and the sanitizer runtimes are missing (Debian: libclang-rt-dev)"
  fi
  rm -rf "$tmp"
}

configure() {
  if [[ -f $build/build.ninja ]]; then
    [[ $(meson introspect "$build" --buildoptions | python3 -c \
      'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="fuzz"][0])') == True ]] ||
      die "$build exists but was not configured with -Dfuzz=true; remove it or set DPLB_FUZZ_BUILD"
    return
  fi
  # The whole project is instrumented for coverage (fuzzer-no-link) and sanitized; only the fuzz
  # targets link libFuzzer itself (tests/fuzz/meson.build). -Werror off: clang warns where gcc,
  # the project's compiler, does not.
  CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Dbuildtype=debugoptimized -Dwerror=false \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer" >/dev/null ||
    die "meson setup $build failed"
}

if [[ ${1:-} == --check ]]; then
  check_toolchain
  echo "fuzz: clang and libFuzzer ok"
  exit 0
fi

(($# >= 2)) || die "usage: $0 TARGET SECONDS [LIBFUZZER_OPTION...]  (targets: ${targets[*]})"
target=$1
seconds=$2
shift 2
[[ " ${targets[*]} " == *" $target "* ]] || die "unknown target '$target' (targets: ${targets[*]})"
[[ $seconds =~ ^[0-9]+$ ]] && ((seconds > 0)) || die "SECONDS must be a positive integer, got '$seconds'"

check_toolchain
configure
ninja -C "$build" -j "$jobs" "tests/fuzz/fuzz_$target" >"$build/fuzz-build-$target.log" 2>&1 || {
  tail -40 "$build/fuzz-build-$target.log" >&2
  die "building fuzz_$target failed (log: $build/fuzz-build-$target.log)"
}

work="$build/tests/fuzz/work/$target"
crashes="$build/tests/fuzz/crashes/$target"
log="$build/tests/fuzz/logs/$target.log"
mkdir -p "$work" "$crashes" "$(dirname "$log")"
dirs=("$work" "$here/corpus/$target")
[[ -d $here/regressions/$target ]] && dirs+=("$here/regressions/$target")

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
"$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout="${DPLB_FUZZ_TIMEOUT:-30}" \
  -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$crashes/" "$@" "${dirs[@]}" >"$log" 2>&1 || rc=$?

# "#N DONE cov: C ft: F corp: ..." and the final stats.
done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/cov \1, ft \2, corpus \3/p' <<<"$done_line")
execs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log" | tail -1)
rate=$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)/\1/p' "$log" | tail -1)
took=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$log" | tail -1)
summary="${execs:-?} execs in ${took:-$seconds} s (${rate:-?}/s), ${cov:-no coverage line}"
if ((rc != 0)); then
  grep -E 'invariant broken|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|SUMMARY' "$log" | head -8 >&2 || true
  artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
  echo "fuzz $target: FAILED (exit $rc), $summary; log $log${artifact:+; input $artifact (copy it to tests/fuzz/regressions/$target/)}"
  exit 1
fi
echo "fuzz $target: ok, $summary"
