// The hand-off of announced VIPs to a BGP daemon (README "Scaling out"): one route per announced
// VIP (/32, /128) in a kernel routing table of dplbd's own (announce.table), marked with its route
// protocol (announce.protocol), which BIRD's kernel protocol learns (`learn`) and exports by BGP with
// `next hop self` (config/examples/bird/). The routes are blackholes: BIRD learns them and BGP
// announces them with its own address as the next hop, and should an `ip rule` ever send traffic
// through that table, a blackhole drops it instead of sending it anywhere unexpected.
//
// Changes go over rtnetlink from a thread of their own (netlink_worker.h), in order: the control
// thread never waits on the kernel. clean() removes what a killed dplbd left in the table.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "net_types.h"
#include "netlink_worker.h"

namespace dplb {

// The rtnetlink request adding (create or replace) or deleting `vip`'s blackhole route, built
// without a socket (tests read it). `seq` goes into the header.
std::vector<uint8_t> vip_route_request(bool add, const IpAddr& vip, uint32_t table, uint8_t protocol, uint32_t seq);

// "blackhole 10.0.0.10/32 table 201 proto 201", for logs.
std::string describe_vip_route(const IpAddr& vip, uint32_t table, uint8_t protocol);

class KernelRoutes {
public:
    // `log(error, message)` is called from the netlink thread for every change and every failure.
    using Log = std::function<void(bool error, const std::string& message)>;
    KernelRoutes(uint32_t table, uint8_t protocol, Log log);
    // Finishes what is queued, then stops the thread.
    ~KernelRoutes() = default;
    KernelRoutes(const KernelRoutes&) = delete;
    KernelRoutes& operator=(const KernelRoutes&) = delete;

    // Queues the removal of every route of `protocol` in `table` (a previous run's).
    void clean();
    // Queues adding or deleting `vip`'s route when that changes what set() asked for before.
    void set(const IpAddr& vip, bool present);
    // What set() has asked for (control thread only).
    const std::set<IpAddr>& installed() const { return installed_; }
    void flush() { worker_.flush(); }
    bool flush_for(std::chrono::milliseconds limit) { return worker_.flush_for(limit); }

private:
    void apply(NetlinkSocket& sock, bool add, const IpAddr& vip);
    void clean_now(NetlinkSocket& sock);

    const uint32_t table_;
    const uint8_t protocol_;
    Log log_;
    std::set<IpAddr> installed_;
    NetlinkWorker worker_;  // last: its jobs use the members above
};

}  // namespace dplb
