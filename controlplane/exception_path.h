// The exception path of a port whose NIC DPDK owns: a kernel TAP interface with the port's MAC and
// the director's own addresses, so ARP for those addresses, ICMP, SSH, health-check replies and VRRP
// reach the kernel, and what the kernel sends goes out of the port (the workers move the frames).
#pragma once

#include <string>
#include <vector>

#include "config.h"
#include "port.h"

struct rte_mempool;

namespace dplb {

// The kernel interface name for a port: "dplb-" + the port's name, cut to the 15 characters Linux allows.
std::string exception_ifname(const std::string& port_name);

// The kernel interface for VLAN `id` of a port: its TAP's name + ".ID", the TAP's name cut so that
// the whole stays within 15 characters.
std::string exception_vlan_ifname(const std::string& port_name, uint16_t id);

// The `ip` commands (arguments after "ip") that give the kernel the port's vlans on its TAP: for each,
// a VLAN interface on the TAP, its addresses, link up. Tagged frames of that VLAN reach it through the
// TAP and it sends tagged ones, so ARP / ND (neighbour resolution of reals on the VLAN), health checks
// and the director's own traffic work per VLAN.
std::vector<std::vector<std::string>> exception_vlan_commands(const config::Port& cfg);

// Creates and starts the TAP for `port` (one queue per pool), sets its addresses and brings it up,
// with a VLAN interface on it for each of the port's vlans.
bool exception_start(const config::Port& cfg, const PortInfo& port, const std::vector<rte_mempool*>& pools,
                     PortInfo& tap, std::string& err);

}  // namespace dplb
