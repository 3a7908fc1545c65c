// Port set-up: one RX and one TX queue per worker, RSS on the 5-tuple where the PMD supports it
// (on addresses only when a service uses persistence, so one client's flows meet on one core).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net_types.h"

struct rte_mempool;

namespace dplb {

struct PortInfo {
    std::string name;    // label from the config
    std::string device;  // DPDK device name
    uint16_t port_id = 0;
    uint16_t nb_queues = 0;
    MacAddr mac;
    bool rss = false;    // whether RSS was enabled
};

struct PortOptions {
    uint16_t nb_rx_desc = 1024;
    uint16_t nb_tx_desc = 1024;
    bool rss_addresses_only = false;
};

// Configures and starts the device named `info.device` with one queue pair per entry of `pools`
// (queue q receives into pools[q]). Returns false with a message in `err`.
bool port_start(PortInfo& info, const std::vector<rte_mempool*>& pools, const PortOptions& opt, std::string& err);
void port_stop(const PortInfo& info);

}  // namespace dplb
