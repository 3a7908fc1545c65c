#include "port.h"

#include <rte_ethdev.h>
#include <rte_lcore.h>

namespace dplb {

bool port_start(PortInfo& info, const std::vector<rte_mempool*>& pools, const PortOptions& opt, std::string& err) {
    if (rte_eth_dev_get_port_by_name(info.device.c_str(), &info.port_id) != 0) {
        err = "port " + info.name + ": no DPDK device named '" + info.device +
              "' (give it to EAL with --vdev or -a, and check the name)";
        return false;
    }
    uint16_t port = info.port_id;
    rte_eth_dev_info dev{};
    int rc = rte_eth_dev_info_get(port, &dev);
    if (rc != 0) {
        err = "port " + info.name + ": cannot read device info: " + rte_strerror(-rc);
        return false;
    }
    uint16_t nq = static_cast<uint16_t>(pools.size());
    if (nq > dev.max_rx_queues || nq > dev.max_tx_queues) {
        err = "port " + info.name + ": " + std::to_string(nq) + " workers need as many queues, device has " +
              std::to_string(dev.max_rx_queues) + " RX / " + std::to_string(dev.max_tx_queues) + " TX";
        return false;
    }
    rte_eth_conf conf{};
    uint64_t want = opt.rss_addresses_only ? RTE_ETH_RSS_IP : (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
    uint64_t rss = want & dev.flow_type_rss_offloads;
    info.rss = nq > 1 && rss != 0;
    if (info.rss) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = rss;
    }
    rc = rte_eth_dev_configure(port, nq, nq, &conf);
    if (rc != 0) {
        err = "port " + info.name + ": configure failed: " + rte_strerror(-rc);
        return false;
    }
    uint16_t nb_rxd = opt.nb_rx_desc, nb_txd = opt.nb_tx_desc;
    rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
    int socket = rte_eth_dev_socket_id(port);
    if (socket < 0) socket = 0;
    for (uint16_t q = 0; q < nq; q++) {
        rc = rte_eth_rx_queue_setup(port, q, nb_rxd, socket, nullptr, pools[q]);
        if (rc == 0) rc = rte_eth_tx_queue_setup(port, q, nb_txd, socket, nullptr);
        if (rc != 0) {
            err = "port " + info.name + ": queue " + std::to_string(q) + " set-up failed: " + rte_strerror(-rc);
            return false;
        }
    }
    rc = rte_eth_dev_start(port);
    if (rc != 0) {
        err = "port " + info.name + ": start failed: " + rte_strerror(-rc);
        return false;
    }
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port, &mac);
    for (int i = 0; i < 6; i++) info.mac.b[i] = mac.addr_bytes[i];
    info.nb_queues = nq;
    return true;
}

void port_stop(const PortInfo& info) {
    rte_eth_dev_stop(info.port_id);
    rte_eth_dev_close(info.port_id);
}

}  // namespace dplb
