#!/usr/bin/env bash
# Installs every Debian package dplb needs (idempotent), then configures and builds into build/.
# Usage: scripts/setup.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # build
  meson ninja-build pkg-config g++
  # libraries
  dpdk dpdk-dev libdpdk-dev libpcap-dev libyaml-cpp-dev prometheus-cpp-dev libboost-dev libboost-system-dev
  libssl-dev
  libgtest-dev libgmock-dev googletest
  # tests, lab and benchmarks
  python3-scapy tcpdump ethtool iproute2 iputils-ping curl procps nginx-light keepalived valgrind gnuplot-nox
  # monitoring/: promtool and Prometheus for the rules and the lab test, nft for its split brain, plots
  prometheus nftables python3-matplotlib python3-yaml
  # scaling out: BIRD announces the VIPs by BGP (+BFD) in the ECMP lab and its tests
  bird2
  # packaging (scripts/package.sh, tests/package)
  debhelper dpkg-dev fakeroot scdoc lintian bash-completion
  # fuzzing (tests/fuzz): clang, libFuzzer and the sanitizer runtimes (a Recommends of clang only)
  clang libclang-rt-dev
)

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  # Services that packages would start on install (nginx, keepalived) are not wanted on a build
  # host: the lab starts its own inside namespaces. policy-rc.d tells invoke-rc.d not to start them.
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
    made_policy=1
  fi
  rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  if ((made_policy)); then as_root rm -f /usr/sbin/policy-rc.d; fi
  if ((rc != 0)); then echo "setup: apt-get install failed"; exit 1; fi
fi

buildtype=debugoptimized
[[ "${1:-}" == "--release" ]] && buildtype=release
if [[ -f build/build.ninja ]]; then
  meson configure build -Dbuildtype="$buildtype" >/dev/null
else
  meson setup build -Dbuildtype="$buildtype" >/dev/null
fi
ninja -C build
