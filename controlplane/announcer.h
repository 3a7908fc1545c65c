// The announce state's I/O (announce.h): feeds AnnounceTable from the control plane's events
// (a service's quorum, the ports' links, the workers' liveness, `dplbctl maintenance`, a reload,
// shutdown), keeps one kernel route per announced VIP (kernel_routes.h) for the BGP daemon, logs
// each change and tells the metrics. Control thread only; never blocks it except in shutdown().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "announce.h"
#include "director.h"
#include "kernel_routes.h"

namespace dplb {

class Announcer {
public:
    // What the metrics show: a VIP's state (-1: it left the configuration), maintenance, and each
    // withdrawal (a VIP going from announced to withdrawn).
    struct Observer {
        std::function<void(const IpAddr& vip, int announced)> vip;
        std::function<void(bool on)> maintenance;
        std::function<void()> withdrawn;
    };
    // `cfg.announce` must be enabled. Removes the routes a previous run left, takes the file's
    // maintenance setting and the current quorums; the routes of qualifying VIPs follow at once.
    Announcer(Director& director, std::vector<uint16_t> port_ids, Observer observer);
    ~Announcer();

    // After each reload: the services (and their quorums) anew; `maintenance` from the file when the
    // file's value changed (an operator's `dplbctl maintenance` stays otherwise).
    void sync();
    // A service's quorum changed (HealthManager).
    void quorum_changed(const ServiceRef& svc, bool up);
    void workers_alive(bool alive);
    // The ports' links (polled once a second, as VRRP's track_interface).
    void tick();
    void set_maintenance(bool on);
    // Withdraws every VIP and waits until the kernel has the routes removed, at most `limit`;
    // false when that did not finish in time. Call before the ports stop.
    bool shutdown(std::chrono::milliseconds limit);

    uint32_t table() const { return table_; }
    const AnnounceTable& state() const { return state_; }
    uint64_t withdrawals() const { return withdrawals_; }

private:
    void apply(const std::vector<AnnounceChange>& changes);

    Director& director_;
    std::vector<uint16_t> port_ids_;
    Observer observer_;
    uint32_t table_;
    bool file_maintenance_;
    AnnounceTable state_;
    uint64_t withdrawals_ = 0;
    std::unique_ptr<KernelRoutes> routes_;
};

}  // namespace dplb
