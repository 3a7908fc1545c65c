// The frames a new master sends so that neighbours move a virtual address to its MAC at once:
// gratuitous ARP for IPv4 (RFC 5798 §6.4.2, RFC 5227 §3) and unsolicited Neighbor Advertisements
// for IPv6 (RFC 4861 §7.2.6, RFC 5798 §6.4.2). Whole Ethernet frames, laid out as keepalived sends
// them, so a capture of one is a golden test of the other. Pure functions; io.h sends them.
#pragma once

#include <cstdint>
#include <vector>

#include "net_types.h"

namespace dplb::vrrp {

// ARP request, broadcast, sender and target protocol address both `vip`, target hardware address
// ff:ff:ff:ff:ff:ff; 42 bytes (the NIC pads to 60).
std::vector<uint8_t> gratuitous_arp(const MacAddr& mac, const IpAddr& vip);

// Neighbor Advertisement from `vip` to ff02::1 (33:33:00:00:00:01), hop limit 255, Override set,
// Router and Solicited clear, target `vip`, Target Link-Layer Address option `mac`; 86 bytes.
std::vector<uint8_t> unsolicited_na(const MacAddr& mac, const IpAddr& vip);

// One of the two, by the family of `vip`.
std::vector<uint8_t> announcement(const MacAddr& mac, const IpAddr& vip);

}  // namespace dplb::vrrp
