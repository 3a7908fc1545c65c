#!/usr/bin/env bash
# Runs every fuzz target for SECONDS_PER_TARGET (tests/fuzz/run.sh builds each with clang and
# libFuzzer in build-fuzz) and closes with one line, "fuzz: N passed, M failed"; exits non-zero when
# a target failed, and when clang or libFuzzer is missing (counted as every target failing).
#
#   tests/fuzz/ci.sh SECONDS_PER_TARGET
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
targets=(packet vrrp config keepalived control sync)

if (($# != 1)) || ! [[ $1 =~ ^[0-9]+$ ]] || (($1 == 0)); then
  echo "usage: $0 SECONDS_PER_TARGET" >&2
  exit 2
fi
if ! "$here/run.sh" --check; then
  echo "fuzz: 0 passed, ${#targets[@]} failed"
  exit 1
fi

passed=0
failed=0
for t in "${targets[@]}"; do
  if "$here/run.sh" "$t" "$1"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
