#include "announce.h"

#include <algorithm>
#include <cctype>

namespace dplb {

std::string announce_service_name(const ServiceRef& s) {
    std::string proto = proto_name(s.proto);
    std::transform(proto.begin(), proto.end(), proto.begin(), [](unsigned char c) { return std::tolower(c); });
    return endpoint(s.vip, s.port) + "/" + proto;
}

std::vector<AnnounceChange> AnnounceTable::set_services(const std::vector<config::Service>& services,
                                                        const std::map<ServiceRef, ServiceRuntime>& quorums) {
    std::map<IpAddr, Vip> next;
    for (const config::Service& s : services) {
        ServiceRef ref{s.vip, s.port, s.proto};
        Vip& v = next[s.vip];
        v.services.push_back(ref);
        auto q = quorums.find(ref);
        if (q != quorums.end() && !q->second.quorum_up) v.lost.insert(ref);
    }
    vips_ = std::move(next);
    for (auto it = states_.begin(); it != states_.end();)
        it = vips_.count(it->first) ? std::next(it) : states_.erase(it);
    std::vector<AnnounceChange> out;
    for (const auto& [vip, v] : vips_) update(vip, out);
    return out;
}

std::vector<AnnounceChange> AnnounceTable::set_quorum(const ServiceRef& svc, bool up) {
    std::vector<AnnounceChange> out;
    auto it = vips_.find(svc.vip);
    if (it == vips_.end()) return out;
    if (std::find_if(it->second.services.begin(), it->second.services.end(), [&](const ServiceRef& s) {
            return !(s < svc) && !(svc < s);
        }) == it->second.services.end())
        return out;
    if (up) it->second.lost.erase(svc);
    else it->second.lost.insert(svc);
    update(svc.vip, out);
    return out;
}

std::vector<AnnounceChange> AnnounceTable::set_port_up(const std::string& port, bool up) {
    if (up == !ports_down_.count(port)) return {};
    if (up) ports_down_.erase(port);
    else ports_down_.insert(port);
    return update_all();
}

std::vector<AnnounceChange> AnnounceTable::set_workers_alive(bool alive) {
    if (alive == workers_alive_) return {};
    workers_alive_ = alive;
    return update_all();
}

std::vector<AnnounceChange> AnnounceTable::set_maintenance(bool on) {
    if (on == maintenance_) return {};
    maintenance_ = on;
    return update_all();
}

std::vector<AnnounceChange> AnnounceTable::set_shutdown() {
    if (shutdown_) return {};
    shutdown_ = true;
    return update_all();
}

AnnounceState AnnounceTable::evaluate(const Vip& v) const {
    if (shutdown_) return {false, "shutdown"};
    if (maintenance_) return {false, "maintenance"};
    if (!workers_alive_) return {false, "workers stalled"};
    if (!ports_down_.empty()) return {false, "port " + *ports_down_.begin() + " down"};
    for (const ServiceRef& s : v.services)  // the first in configuration order
        if (v.lost.count(s)) return {false, "quorum lost on " + announce_service_name(s)};
    return {true, ""};
}

void AnnounceTable::update(const IpAddr& vip, std::vector<AnnounceChange>& out) {
    AnnounceState now = evaluate(vips_.at(vip));
    auto it = states_.find(vip);
    if (it != states_.end() && it->second == now) return;
    states_[vip] = now;
    out.push_back({vip, now});
}

std::vector<AnnounceChange> AnnounceTable::update_all() {
    std::vector<AnnounceChange> out;
    for (const auto& [vip, v] : vips_) update(vip, out);
    return out;
}

}  // namespace dplb
