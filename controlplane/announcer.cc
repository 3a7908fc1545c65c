#include "announcer.h"

#include <rte_ethdev.h>

#include <set>

#include "log.h"

namespace dplb {

Announcer::Announcer(Director& director, std::vector<uint16_t> port_ids, Observer observer)
    : director_(director),
      port_ids_(std::move(port_ids)),
      observer_(std::move(observer)),
      table_(director.config().announce.table),
      file_maintenance_(director.config().announce.maintenance) {
    const config::AnnounceConfig& a = director.config().announce;
    routes_ = std::make_unique<KernelRoutes>(a.table, a.protocol, [](bool error, const std::string& m) {
        log(error ? LogLevel::err : LogLevel::info, "dplbd: %s", m.c_str());
    });
    routes_->clean();
    log(LogLevel::info, "dplbd: announce: VIPs go to kernel table %u as routes of protocol %u%s", a.table, static_cast<unsigned>(a.protocol),
        a.maintenance ? "; starting in maintenance" : "");
    state_.set_maintenance(a.maintenance);
    if (observer_.maintenance) observer_.maintenance(a.maintenance);
    tick();  // the ports' links before the first routes
    apply(state_.set_services(director.config().services, director.service_runtime()));
}

Announcer::~Announcer() = default;

void Announcer::sync() {
    const auto& cfg = director_.config();
    std::set<IpAddr> before;
    for (const auto& [vip, st] : state_.states()) before.insert(vip);
    std::vector<AnnounceChange> changes = state_.set_services(cfg.services, director_.service_runtime());
    for (const IpAddr& vip : before)
        if (!state_.states().count(vip)) {
            routes_->set(vip, false);
            log(LogLevel::notice, "dplbd: announce: %s withdrawn: no service any more", vip.str().c_str());
            if (observer_.vip) observer_.vip(vip, -1);
        }
    apply(changes);
    if (cfg.announce.maintenance != file_maintenance_) {
        file_maintenance_ = cfg.announce.maintenance;
        set_maintenance(file_maintenance_);
    }
}

void Announcer::quorum_changed(const ServiceRef& svc, bool up) { apply(state_.set_quorum(svc, up)); }

void Announcer::workers_alive(bool alive) { apply(state_.set_workers_alive(alive)); }

void Announcer::tick() {
    const auto& ports = director_.config().ports;
    for (size_t i = 0; i < port_ids_.size() && i < ports.size(); i++) {
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(port_ids_[i], &link) != 0) continue;
        apply(state_.set_port_up(ports[i].name, link.link_status != 0));
    }
}

void Announcer::set_maintenance(bool on) {
    if (on == state_.maintenance()) return;
    log(LogLevel::notice, "dplbd: announce: maintenance %s", on ? "on: every VIP withdrawn, forwarding goes on" : "off");
    apply(state_.set_maintenance(on));
    if (observer_.maintenance) observer_.maintenance(on);
}

bool Announcer::shutdown(std::chrono::milliseconds limit) {
    apply(state_.set_shutdown());
    bool done = routes_->flush_for(limit);
    if (!done)
        log(LogLevel::err, "dplbd: announce: the kernel did not confirm every withdrawal within %lld ms",
            static_cast<long long>(limit.count()));
    return done;
}

void Announcer::apply(const std::vector<AnnounceChange>& changes) {
    for (const AnnounceChange& c : changes) {
        const bool was = routes_->installed().count(c.vip) != 0;
        routes_->set(c.vip, c.state.announced);
        if (c.state.announced)
            log(LogLevel::notice, "dplbd: announce: %s announced", c.vip.str().c_str());
        else
            log(LogLevel::notice, "dplbd: announce: %s withdrawn (%s)", c.vip.str().c_str(), c.state.reason.c_str());
        if (was && !c.state.announced) {
            withdrawals_++;
            if (observer_.withdrawn) observer_.withdrawn();
        }
        if (observer_.vip) observer_.vip(c.vip, c.state.announced ? 1 : 0);
    }
}

}  // namespace dplb
