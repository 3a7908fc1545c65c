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

// Creates and starts the TAP for `port` (one queue per pool), sets its addresses and brings it up.
bool exception_start(const config::Port& cfg, const PortInfo& port, const std::vector<rte_mempool*>& pools,
                     PortInfo& tap, std::string& err);

}  // namespace dplb
