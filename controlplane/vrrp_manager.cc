#include "vrrp_manager.h"

#include <rte_ethdev.h>

#include <cstdio>

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
}

// Everything of the configuration the instances are built from, as text: unchanged text = no restart.
std::string VrrpManager::describe_config() const {
    std::string s;
    for (const auto& v : director_.config().vrrp_instances) {
        s += v.name + "|" + v.interface + "|" + std::to_string(static_cast<int>(v.state)) + "|" +
             std::to_string(v.virtual_router_id) + "|" + std::to_string(v.priority) + "|" +
             std::to_string(v.advert_int_cs) + "|" + std::to_string(v.version) + "|" + std::to_string(v.preempt) +
             "|" + std::to_string(v.preempt_delay_s) + "|" + std::to_string(static_cast<int>(v.auth)) + "|" +
             v.auth_pass + "|" + std::to_string(v.garp_master_delay_s) + "|" + std::to_string(v.garp_master_repeat);
        for (const auto& a : v.virtual_ipaddresses) s += "|" + a.str();
        for (const auto& t : v.track_interfaces) s += "|ti:" + t;
        for (const auto& t : v.track_services) s += "|ts:" + t;
        s += ";";
    }
    return s;
}

void VrrpManager::sync() {
    std::string want = describe_config();
    if (want == running_config_) return;
    stop();
    running_config_ = want;
    for (const auto& cfg : director_.config().vrrp_instances) {
        std::string ifname = cfg.port_index < ifnames_.size() ? ifnames_[cfg.port_index] : std::string();
        auto families = vrrp::families_of(cfg);
        for (uint8_t family : families) {
            std::string label = cfg.name + (families.size() > 1 ? (family == 6 ? "/v6" : "/v4") : "");
            std::vector<IpAddr> vips;
            for (const auto& a : cfg.virtual_ipaddresses)
                if (a.family == family) vips.push_back(a);
            vrrp::Instance::Callbacks cb;
            cb.on_log = [label](const std::string& m) {
                std::fprintf(stderr, "dplbd: vrrp %s: %s\n", label.c_str(), m.c_str());
            };
            cb.on_state = [this, label, vips](vrrp::State st, const std::string& reason) {
                std::printf("dplbd: vrrp %s: %s (%s)\n", label.c_str(), vrrp::state_name(st), reason.c_str());
                std::fflush(stdout);
                director_.set_vrrp_state(label, vrrp::state_name(st));
                // Leaving MASTER stops answering and forwarding at once; entering it starts them
                // before the gratuitous ARPs go out (the instance calls us first).
                director_.set_vips_owned(vips, st == vrrp::State::master);
                if (on_state_) on_state_(label, static_cast<int>(st));
            };
            auto inst = std::make_unique<vrrp::Instance>(io_, cfg, ifname, cb, family);
            try {
                inst->start();
            } catch (const std::exception& e) {
                std::fprintf(stderr, "dplbd: vrrp %s on %s: %s\n", label.c_str(), ifname.c_str(), e.what());
                director_.set_vrrp_state(label, "FAULT");
                if (on_state_) on_state_(label, static_cast<int>(vrrp::State::fault));
            }
            running_.push_back(Running{std::move(inst), label});
        }
    }
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
