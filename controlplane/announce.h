// Whether this director announces each VIP (README "Scaling out"): it does while it can serve the
// VIP, that is every port's link is up, the workers are alive, every service on the VIP has its
// quorum (quorum.h; the default quorum is one real up), and the director is not in maintenance or
// shutting down. Otherwise the VIP is withdrawn, with the first reason that holds, in this order:
// "shutdown", "maintenance", "workers stalled", "port NAME down", "quorum lost on VIP:PORT/PROTO".
//
// Pure logic (no I/O; Announcer turns its changes into kernel routes, metrics and logs). Every
// setter returns the VIPs whose state changed. A change of one service's quorum looks at that VIP
// only; the director-wide inputs (ports, workers, maintenance, shutdown) change every VIP at once.
// Independent of VRRP: a VIP may be in a VRRP instance and announced too.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "snapshot_builder.h"

namespace dplb {

struct AnnounceState {
    bool announced = false;
    std::string reason;  // why withdrawn; "" while announced
    bool operator==(const AnnounceState& o) const { return announced == o.announced && reason == o.reason; }
};

struct AnnounceChange {
    IpAddr vip;
    AnnounceState state;
};

// "10.0.0.10:80/tcp", "[2001:db8::10]:53/udp": a service as withdraw reasons name it.
std::string announce_service_name(const ServiceRef& s);

class AnnounceTable {
public:
    // The services from the configuration (at start and after each reload) with their quorum
    // states (a service missing from `quorums` has its quorum). VIPs that left are dropped (not
    // reported: their routes go with them, see Announcer); new ones are reported.
    std::vector<AnnounceChange> set_services(const std::vector<config::Service>& services,
                                             const std::map<ServiceRef, ServiceRuntime>& quorums);
    // One service's quorum: O(services on its VIP).
    std::vector<AnnounceChange> set_quorum(const ServiceRef& svc, bool up);
    std::vector<AnnounceChange> set_port_up(const std::string& port, bool up);
    std::vector<AnnounceChange> set_workers_alive(bool alive);
    std::vector<AnnounceChange> set_maintenance(bool on);
    // For good: every VIP is withdrawn and stays so.
    std::vector<AnnounceChange> set_shutdown();

    bool maintenance() const { return maintenance_; }
    const std::map<IpAddr, AnnounceState>& states() const { return states_; }

private:
    struct Vip {
        std::vector<ServiceRef> services;  // in configuration order
        std::set<ServiceRef> lost;         // those without their quorum
    };
    AnnounceState evaluate(const Vip& v) const;
    // Re-evaluates one VIP / every VIP, appending what changed.
    void update(const IpAddr& vip, std::vector<AnnounceChange>& out);
    std::vector<AnnounceChange> update_all();

    std::map<IpAddr, Vip> vips_;
    std::map<IpAddr, AnnounceState> states_;
    std::set<std::string> ports_down_;
    bool workers_alive_ = true;
    bool maintenance_ = false;
    bool shutdown_ = false;
};

}  // namespace dplb
