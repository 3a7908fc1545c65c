#include "vrrp_manager.h"

#include <rte_ethdev.h>

#include <algorithm>

#include "log.h"
#include "vrrp/reload.h"

namespace dplb {

VrrpManager::VrrpManager(boost::asio::io_context& io, Director& director, std::vector<std::string> kernel_ifnames,
                         std::vector<uint16_t> port_ids, OnState on_state)
    : io_(io),
      director_(director),
      ifnames_(std::move(kernel_ifnames)),
      port_ids_(std::move(port_ids)),
      on_state_(std::move(on_state)) {}

VrrpManager::~VrrpManager() { stop(); }

void VrrpManager::stop() {
    for (auto& r : running_) r.instance->stop();
    running_.clear();
    applied_.clear();
}

std::vector<VrrpManager::Running>::iterator VrrpManager::find(const std::string& label) {
    return std::find_if(running_.begin(), running_.end(), [&](const Running& r) { return r.label == label; });
}

VrrpManager::Running VrrpManager::make(const config::VrrpInstance& cfg, uint8_t family, const std::string& label) {
    std::string ifname = cfg.port_index < ifnames_.size() ? ifnames_[cfg.port_index] : std::string();
    std::vector<IpAddr> vips;
    for (const auto& a : cfg.virtual_ipaddresses)
        if (a.family == family) vips.push_back(a);
    vrrp::Instance::Callbacks cb;
    cb.on_log = [label](const std::string& m) {
        log(LogLevel::warning, "dplbd: vrrp %s: %s", label.c_str(), m.c_str());
    };
    int vrid = cfg.virtual_router_id;
    cb.on_state = [this, label, vips, vrid](vrrp::State st, const std::string& reason) {
        log(LogLevel::notice, "dplbd: vrrp %s: %s (%s)", label.c_str(), vrrp::state_name(st), reason.c_str());
        director_.set_vrrp_state(label, vrrp::state_name(st));
        // Leaving MASTER stops answering and forwarding at once; entering it starts them
        // before the gratuitous ARPs go out (the instance calls us first).
        director_.set_vips_owned(vips, st == vrrp::State::master);
        if (on_state_) on_state_(label, vrid, static_cast<int>(st));
    };
    Running r{std::make_unique<vrrp::Instance>(io_, cfg, ifname, cb, family), label, vrid, false};
    try_start(r);
    return r;
}

void VrrpManager::try_start(Running& r) {
    try {
        r.instance->start();
        r.started = true;
    } catch (const std::exception& e) {
        log(LogLevel::err, "dplbd: vrrp %s on %s: %s", r.label.c_str(), r.instance->kernel_ifname().c_str(),
            e.what());
        director_.set_vrrp_state(r.label, "FAULT");
        if (on_state_) on_state_(r.label, r.vrid, static_cast<int>(vrrp::State::fault));
    }
}

void VrrpManager::sync() {
    using vrrp::Change;
    // A copy: the callbacks below reach into the director while we go through it.
    std::vector<config::VrrpInstance> want = director_.config().vrrp_instances;
    std::vector<vrrp::RouterChange> changes = vrrp::diff_routers(applied_, want);
    auto log = [](const vrrp::RouterChange& c) {
        dplb::log(LogLevel::info, "dplbd: vrrp reload: %s", vrrp::describe(c).c_str());
    };
    // Let go first: removed and restarted routers stop (a MASTER sends priority 0 and stops
    // answering for its VIPs) before anything starts, so a VIP that moves to another instance is
    // released before it is taken.
    for (const auto& c : changes) {
        if (c.change != Change::remove && c.change != Change::restart) continue;
        log(c);
        auto it = find(c.label);
        if (it != running_.end()) it->instance->stop();
        if (c.change == Change::remove) {
            int vrid = it != running_.end() ? it->vrid : 0;
            if (it != running_.end()) running_.erase(it);
            director_.set_vrrp_state(c.label, "");  // out of dplbctl status
            if (on_state_) on_state_(c.label, vrid, -1);
        }
    }
    // In place: state, timers and sockets kept.
    for (const auto& c : changes) {
        if (c.change != Change::reconfigure) continue;
        log(c);
        auto it = find(c.label);
        if (it != running_.end()) it->instance->reconfigure(want[*c.new_index]);
    }
    // Start the restarted and new ones; try again those that could not start before.
    for (const auto& c : changes) {
        auto it = find(c.label);
        switch (c.change) {
        case Change::restart:
        case Change::add:
            if (c.change == Change::add) log(c);
            if (it != running_.end()) *it = make(want[*c.new_index], c.family, c.label);
            else running_.push_back(make(want[*c.new_index], c.family, c.label));
            break;
        case Change::keep:
        case Change::reconfigure:
            if (it != running_.end() && !it->started) try_start(*it);
            break;
        case Change::remove:
            break;
        }
    }
    applied_ = std::move(want);
    tick();
}

void VrrpManager::tick() {
    // Port link state (keepalived's track_interface, for ports the kernel does not see).
    for (size_t i = 0; i < port_ids_.size() && i < director_.config().ports.size(); i++) {
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(port_ids_[i], &link) != 0) continue;
        for (auto& r : running_) r.instance->set_tracked(director_.config().ports[i].name, link.link_status != 0);
    }
    // A tracked service is down when none of its reals is up (keepalived's track_script equivalent).
    for (const auto& svc : director_.config().services) {
        if (svc.name.empty()) continue;
        bool up = false;
        for (const auto& r : svc.reals) {
            auto it = director_.runtime().find(RealKey{svc.vip, svc.port, svc.proto, r.ip, r.port});
            up |= it == director_.runtime().end() || it->second.healthy;
        }
        for (auto& run : running_) run.instance->set_tracked(svc.name, up);
    }
}

}  // namespace dplb
