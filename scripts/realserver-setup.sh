#!/usr/bin/env bash
# Prepares a Linux real server for Direct Routing behind dplb (the same as behind LVS-DR):
# the VIP on lo (a /32, never announced) and ARP set so that only the director answers for it.
#   arp_ignore=1   answer ARP only for addresses configured on the interface the request came in on
#   arp_announce=2 always use the best local address (never the VIP) as ARP source
# Usage: realserver-setup.sh add VIP [VIP...] | del VIP [VIP...]
# Works on a real host as on the lab's namespaces (run it inside `ip netns exec NS`).
set -euo pipefail

usage() { echo "usage: $0 add|del VIP [VIP...]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
action=$1; shift

if [[ $action == add ]]; then
  sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
  sysctl -qw net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2
  ip link set lo up
  for vip in "$@"; do
    case $vip in
      *:*) ip -6 addr replace "$vip/128" dev lo nodad ;;
      *) ip addr replace "$vip/32" dev lo ;;
    esac
    echo "realserver: $vip on lo (arp_ignore=1, arp_announce=2)"
  done
elif [[ $action == del ]]; then
  for vip in "$@"; do
    case $vip in
      *:*) ip -6 addr del "$vip/128" dev lo 2>/dev/null || true ;;
      *) ip addr del "$vip/32" dev lo 2>/dev/null || true ;;
    esac
  done
else
  usage
fi
