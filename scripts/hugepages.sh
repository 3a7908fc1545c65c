#!/usr/bin/env bash
# Reserves 2 MiB hugepages and mounts hugetlbfs for DPDK, remembering what it changed so that
# `teardown` puts back exactly that (and nothing an administrator had set up before).
#
#   scripts/hugepages.sh setup [MIB]   reserve at least MIB MiB (default 1024); prints the mount dir
#   scripts/hugepages.sh teardown      unmount what setup mounted, give back the pages it reserved
#   scripts/hugepages.sh status        what the kernel has now
#
# Needs root. On bare metal, reserve at boot instead (fragmentation makes late reservations fail):
#   kernel command line: default_hugepagesz=1G hugepagesz=1G hugepages=4   (or hugepagesz=2M hugepages=2048)
set -euo pipefail

STATE=${DPLB_HUGEPAGES_STATE:-/run/dplb-hugepages.state}
MOUNT_DIR=${DPLB_HUGEPAGES_DIR:-/mnt/dplb-huge}
NR=/proc/sys/vm/nr_hugepages
PAGE_KB=2048

say() { echo "hugepages: $*" >&2; }

# A hugetlbfs mount for 2 MiB pages, if there is one already.
existing_mount() {
  awk '$3 == "hugetlbfs" && ($4 ~ /pagesize=2M/ || $4 !~ /pagesize=/) {print $2; exit}' /proc/mounts
}

setup() {
  local want_mib=${1:-1024}
  local want=$(( (want_mib * 1024 + PAGE_KB - 1) / PAGE_KB ))
  if [[ $(id -u) -ne 0 ]]; then say "not root: cannot reserve hugepages"; return 1; fi
  if [[ -e $STATE ]]; then say "$STATE exists: run teardown first"; return 1; fi
  local before free total
  before=$(cat "$NR")
  free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
  local target=$before
  if (( free < want )); then target=$(( before + want - free )); fi
  local mounted=""
  if (( target != before )); then
    echo "$target" > "$NR" 2>/dev/null || true
    total=$(cat "$NR")
    if (( total - before + free < want )); then
      echo "$before" > "$NR" 2>/dev/null || true
      say "asked for $want pages of 2 MiB, the kernel gave $((total - before + free)): memory too fragmented?"
      return 1
    fi
  fi
  local dir
  dir=$(existing_mount)
  if [[ -z $dir ]]; then
    mkdir -p "$MOUNT_DIR"
    if ! mount -t hugetlbfs -o pagesize=2M nodev "$MOUNT_DIR"; then
      echo "$before" > "$NR" 2>/dev/null || true
      say "cannot mount hugetlbfs on $MOUNT_DIR"
      return 1
    fi
    dir=$MOUNT_DIR
    mounted=$MOUNT_DIR
  fi
  printf 'before=%s\nafter=%s\nmounted=%s\n' "$before" "$(cat "$NR")" "$mounted" > "$STATE"
  say "$(( $(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo) * PAGE_KB / 1024 )) MiB free in 2 MiB pages, hugetlbfs at $dir"
  echo "$dir"
}

teardown() {
  if [[ ! -e $STATE ]]; then say "nothing to tear down"; return 0; fi
  local before="" after="" mounted=""
  # shellcheck disable=SC1090
  source "$STATE"
  if [[ -n $mounted ]]; then
    rm -f "$mounted"/* 2>/dev/null || true  # files a crashed DPDK process may have left
    umount "$mounted" && rmdir "$mounted" 2>/dev/null || true
  fi
  # Give back only what we added, and only if nobody changed the count since.
  if [[ -n $before && $(cat "$NR") == "$after" ]]; then echo "$before" > "$NR"; fi
  rm -f "$STATE"
  say "torn down (nr_hugepages $(cat "$NR"))"
}

status() {
  grep -E '^(HugePages_|Hugepagesize)' /proc/meminfo
  awk '$3 == "hugetlbfs" {print "mounted: " $2 " (" $4 ")"}' /proc/mounts
  [[ -e $STATE ]] && { echo "set up by this script:"; cat "$STATE"; }
  return 0
}

case "${1:-}" in
  setup) shift; setup "$@" ;;
  teardown) teardown ;;
  status) status ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
