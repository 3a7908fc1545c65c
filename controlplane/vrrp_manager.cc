#include "vrrp_manager.h"

#include <rte_ethdev.h>
#include <unistd.h>

#include <algorithm>

#include "command_line.h"
#include "log.h"
#include "scripts/notify.h"
#include "vrrp/reload.h"

namespace dplb {

VrrpManager::VrrpManager(boost::asio::io_context& io, Director& director, std::vector<std::string> kernel_ifnames,
                         std::vector<uint16_t> port_ids, OnState on_state)
    : io_(io),
      director_(director),
      ifnames_(std::move(kernel_ifnames)),
      port_ids_(std::move(port_ids)),
      on_state_(std::move(on_state)),
      groups_([this](const std::string& g, vrrp::State s) { on_group_state(g, s); }),
      runner_(io, config::kMaxScriptsInFlight),
      checks_(
          io, runner_, [this](const std::string& n, bool up, const std::string& why) { on_script(n, up, why); },
          [this](const std::string& n, const scripts::Result& r) {
              if (on_script_) on_script_("vrrp_script", n, r.outcome());
          }),
      kernel_([](bool error, const std::string& m) {
          dplb::log(error ? LogLevel::err : LogLevel::info, "dplbd: %s", m.c_str());
      }) {
    kernel_.clean(ifnames_);
}

VrrpManager::~VrrpManager() { stop(); }

void VrrpManager::stop() {
    for (auto& r : running_) {
        r.instance->stop();
        groups_.detach(*r.instance);
        for (const auto& cfg : applied_)
            if (cfg.name == r.instance->name()) notify(cfg.name, r.label, "STOP", r.instance->priority(), true);
    }
    for (const auto& g : applied_groups_) notify_group(g.name, "STOP", true);
    running_.clear();
    applied_.clear();
    applied_groups_.clear();
    master_addrs_.clear();
    kernel_.set({});
}

void VrrpManager::wire_sync(vrrp::Instance::Callbacks& cb, const std::shared_ptr<vrrp::Instance*>& self) {
    cb.on_own_fault = [this, self](bool) {
        if (*self) groups_.own_fault_changed(**self);
    };
    cb.on_want_master = [this, self](const std::string& detail) {
        if (*self) groups_.want_master(**self, detail);
    };
}

void VrrpManager::on_group_state(const std::string& group, vrrp::State state) {
    log(LogLevel::notice, "dplbd: vrrp_sync_group %s: %s", group.c_str(), vrrp::state_name(state));
    director_.set_vrrp_state("sync_group " + group, state == vrrp::State::init ? "" : vrrp::state_name(state));
    if (on_group_state_) on_group_state_(group, state == vrrp::State::init ? -1 : static_cast<int>(state));
    if (state == vrrp::State::master || state == vrrp::State::backup || state == vrrp::State::fault)
        notify_group(group, vrrp::state_name(state));
}

void VrrpManager::notify_group(const std::string& group, const char* state, bool now) {
    const config::VrrpSyncGroup* cfg = nullptr;
    for (const auto& g : director_.config().vrrp_sync_groups)
        if (g.name == group) cfg = &g;
    for (const auto& g : applied_groups_)
        if (!cfg && g.name == group) cfg = &g;
    if (!cfg) return;
    std::string label = "group " + group;
    for (scripts::Job& job : scripts::sync_group_notify_jobs(*cfg, state)) {
        std::string what = job.argv.empty() ? "" : job.argv[0];
        if (now) job.lane.clear();
        runner_.run(std::move(job), [this, label, what, state](const scripts::Result& r) {
            if (on_script_) on_script_("notify", label, r.outcome());
            if (!r.ok())
                dplb::log(LogLevel::warning, "dplbd: vrrp_sync_%s: notify %s for %s: %s", label.c_str(), what.c_str(),
                          state, r.describe().c_str());
        });
    }
}

std::set<KernelEntry> VrrpManager::kernel_entries(const vrrp::Instance& r, const config::VrrpInstance& cfg) {
    std::set<KernelEntry> out;
    for (const auto& a : cfg.kernel_addresses)
        if (a.ip.family == r.family()) out.insert(KernelEntry{r.kernel_ifname(), a});
    return out;
}

void VrrpManager::want_kernel(const std::string& label, std::set<KernelEntry> entries) {
    if (entries.empty()) master_addrs_.erase(label);
    else master_addrs_[label] = std::move(entries);
    std::set<KernelEntry> all;
    for (const auto& [l, e] : master_addrs_) all.insert(e.begin(), e.end());
    kernel_.set(all);
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
    std::string name = cfg.name;
    // The instance itself, for its priority: it calls on_state from start(), before make() returns.
    auto self = std::make_shared<vrrp::Instance*>(nullptr);
    std::set<KernelEntry> kernel;
    for (const auto& a : cfg.kernel_addresses)
        if (a.ip.family == family) kernel.insert(KernelEntry{ifname, a});
    cb.on_state = [this, name, label, vips, vrid, self, kernel](vrrp::State st, const std::string& reason) {
        log(LogLevel::notice, "dplbd: vrrp %s: %s (%s)", label.c_str(), vrrp::state_name(st), reason.c_str());
        director_.set_vrrp_state(label, vrrp::state_name(st));
        // Leaving MASTER stops answering and forwarding at once; entering it starts them
        // before the gratuitous ARPs go out (the instance calls us first). Addresses of no
        // service go to the kernel side, which answers ARP / NS for them from then on.
        director_.set_vips_owned(vips, st == vrrp::State::master);
        want_kernel(label, st == vrrp::State::master ? kernel : std::set<KernelEntry>{});
        if (on_state_) on_state_(label, vrid, static_cast<int>(st));
        if ((st == vrrp::State::master || st == vrrp::State::backup || st == vrrp::State::fault) && *self)
            notify(name, label, vrrp::state_name(st), (*self)->priority());
        if (*self) groups_.state_changed(**self);
    };
    wire_sync(cb, self);
    Running r{std::make_unique<vrrp::Instance>(io_, cfg, ifname, cb, family), label, vrid, false};
    *self = r.instance.get();
    groups_.attach(*r.instance);
    apply_scripts(r, cfg);
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

void VrrpManager::apply_scripts(Running& r, const config::VrrpInstance& cfg) {
    for (const auto& s : cfg.track_scripts) r.instance->set_tracked(vrrp::script_track_name(s), checks_.up(s));
}

void VrrpManager::on_script(const std::string& name, bool up, const std::string& why) {
    dplb::log(LogLevel::notice, "dplbd: vrrp_script %s: %s (%s)", name.c_str(), up ? "succeeded" : "failed",
              why.c_str());
    for (auto& r : running_) r.instance->set_tracked(vrrp::script_track_name(name), up);
}

void VrrpManager::notify(const std::string& name, const std::string& label, const char* state, int priority,
                         bool now) {
    const config::VrrpInstance* cfg = nullptr;
    for (const auto& c : director_.config().vrrp_instances)
        if (c.name == name) cfg = &c;
    if (!cfg) cfg = [&]() -> const config::VrrpInstance* {
        for (const auto& c : applied_)
            if (c.name == name) return &c;
        return nullptr;
    }();
    if (!cfg) return;
    for (scripts::Job& job : scripts::vrrp_notify_jobs(*cfg, label, state, priority)) {
        std::string what = job.argv.empty() ? "" : job.argv[0];
        if (now) job.lane.clear();
        runner_.run(std::move(job), [this, label, what, state](const scripts::Result& r) {
            if (on_script_) on_script_("notify", label, r.outcome());
            if (!r.ok())
                dplb::log(LogLevel::warning, "dplbd: vrrp %s: notify %s for %s: %s", label.c_str(), what.c_str(),
                          state, r.describe().c_str());
        });
    }
}

void VrrpManager::sync_groups() {
    const auto& want = director_.config().vrrp_sync_groups;
    auto find_group = [](const std::vector<config::VrrpSyncGroup>& l, const std::string& n) {
        return std::find_if(l.begin(), l.end(), [&](const config::VrrpSyncGroup& g) { return g.name == n; });
    };
    for (const auto& g : applied_groups_)
        if (find_group(want, g.name) == want.end())
            dplb::log(LogLevel::info, "dplbd: vrrp reload: sync group %s: remove", g.name.c_str());
    for (const auto& g : want) {
        auto old = find_group(applied_groups_, g.name);
        if (old == applied_groups_.end())
            dplb::log(LogLevel::info, "dplbd: vrrp reload: sync group %s: add", g.name.c_str());
        else if (old->instances != g.instances)
            dplb::log(LogLevel::info, "dplbd: vrrp reload: sync group %s: members changed", g.name.c_str());
    }
    applied_groups_ = want;
    groups_.configure(applied_groups_);
}

void VrrpManager::sync() {
    using vrrp::Change;
    // Scripts first: a new instance starts with the state of the scripts it tracks.
    checks_.sync(director_.config().vrrp_scripts);
    if (geteuid() != 0)
        for (const auto& s : director_.config().vrrp_scripts)
            if (!s.user.empty())
                dplb::log(LogLevel::warning, "dplbd: vrrp_script %s: runs as dplbd's own user, not %s (only root may switch)",
                          s.name.c_str(), s.user.c_str());
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
        if (it != running_.end()) {
            it->instance->stop();
            groups_.detach(*it->instance);
        }
        if (it != running_.end() && c.change == Change::remove)
            for (const auto& cfg : applied_)
                if (cfg.name == it->instance->name()) notify(cfg.name, c.label, "STOP", it->instance->priority());
        if (c.change == Change::remove) {
            want_kernel(c.label, {});
            int vrid = it != running_.end() ? it->vrid : 0;
            if (it != running_.end()) running_.erase(it);
            director_.set_vrrp_state(c.label, "");  // out of dplbctl status
            if (on_state_) on_state_(c.label, vrid, -1);
        }
    }
    sync_groups();
    // In place: state, timers and sockets kept.
    for (const auto& c : changes) {
        if (c.change != Change::reconfigure) continue;
        log(c);
        auto it = find(c.label);
        if (it != running_.end()) {
            it->instance->reconfigure(want[*c.new_index]);
            apply_scripts(*it, want[*c.new_index]);
        }
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
    // A script the reload changed starts again from its initial state, which may not be what the
    // instances that track it hold now.
    for (auto& r : running_)
        for (const auto& cfg : applied_)
            if (cfg.name == r.instance->name()) apply_scripts(r, cfg);
    // A MASTER kept through the reload holds the addresses of its new configuration (a label,
    // scope or prefix length may have changed while the address stayed).
    for (auto& r : running_)
        for (const auto& cfg : applied_)
            if (cfg.name == r.instance->name() && r.instance->state() == vrrp::State::master)
                want_kernel(r.label, kernel_entries(*r.instance, cfg));
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
