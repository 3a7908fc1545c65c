#include "vrrp/reload.h"

#include <algorithm>
#include <map>
#include <set>

#include "vrrp/instance.h"

namespace dplb::vrrp {

std::string router_label(const config::VrrpInstance& cfg, uint8_t family) {
    if (families_of(cfg).size() < 2) return cfg.name;
    return cfg.name + (family == 6 ? "/v6" : "/v4");
}

std::vector<Router> routers_of(const std::vector<config::VrrpInstance>& list) {
    std::vector<Router> out;
    for (size_t i = 0; i < list.size(); ++i)
        for (uint8_t family : families_of(list[i])) out.push_back(Router{router_label(list[i], family), family, i});
    return out;
}

const char* change_name(Change c) {
    switch (c) {
    case Change::keep: return "keep";
    case Change::reconfigure: return "reconfigure";
    case Change::restart: return "restart";
    case Change::add: return "add";
    case Change::remove: return "remove";
    }
    return "?";
}

std::string describe(const RouterChange& c) {
    std::string s = c.label + ": " + change_name(c.change);
    if (!c.fields.empty()) {
        s += " (";
        for (size_t i = 0; i < c.fields.size(); ++i) s += (i ? ", " : "") + c.fields[i];
        s += ")";
    }
    return s;
}

std::string script_track_name(const std::string& script) { return "script " + script; }

std::vector<std::pair<std::string, int>> tracked_of(const config::VrrpInstance& cfg) {
    std::vector<std::pair<std::string, int>> out;
    auto add = [&](const std::string& name) {
        for (const auto& t : out)
            if (t.first == name) return;
        auto w = cfg.track_weights.find(name);
        out.emplace_back(name, w == cfg.track_weights.end() ? 0 : w->second);
    };
    add(cfg.interface);
    for (const auto& n : cfg.track_interfaces) add(n);
    for (const auto& n : cfg.track_services) add(n);
    for (const auto& n : cfg.track_scripts) {
        auto w = cfg.track_script_weights.find(n);
        out.emplace_back(script_track_name(n), w == cfg.track_script_weights.end() ? 0 : w->second);
    }
    return out;
}

std::vector<std::string> restart_fields(const config::VrrpInstance& before, const config::VrrpInstance& after,
                                        uint8_t family) {
    // Compared as the wire sees them (params_for), so that what a family never sends (IPv6 has no
    // version 2 and no authentication; a password past 8 characters) restarts nothing.
    Params a = params_for(before, family, IpAddr{});
    Params b = params_for(after, family, IpAddr{});
    std::vector<std::string> out;
    if (before.interface != after.interface || before.port_index != after.port_index) out.push_back("interface");
    if (a.vrid != b.vrid) out.push_back("virtual_router_id");
    if (a.version != b.version) out.push_back("version");
    if (a.advert_int_cs != b.advert_int_cs) out.push_back("advert_int");
    if (a.auth_type != b.auth_type || a.auth_data != b.auth_data) out.push_back("authentication");
    if (a.addresses != b.addresses || families_of(before) != families_of(after))
        out.push_back("virtual_ipaddresses");
    // Unicast: another peer list, source or TTL is another socket and another filter.
    if (a.unicast_peers != b.unicast_peers) out.push_back("unicast_peers");
    auto src = [family](const config::VrrpInstance& c) {
        return c.unicast_src_ip.family == family ? c.unicast_src_ip : IpAddr{};
    };
    if (!b.unicast_peers.empty() && src(before) != src(after)) out.push_back("unicast_src_ip");
    if (!b.unicast_peers.empty() && before.unicast_ttl != after.unicast_ttl) out.push_back("unicast_ttl");
    return out;
}

std::vector<std::string> reconfigure_fields(const config::VrrpInstance& before, const config::VrrpInstance& after) {
    std::vector<std::string> out;
    if (before.priority != after.priority) out.push_back("priority");
    if (before.preempt != after.preempt) out.push_back("preempt");
    if (before.preempt_delay_s != after.preempt_delay_s) out.push_back("preempt_delay");
    if (before.garp_master_delay_s != after.garp_master_delay_s) out.push_back("garp_master_delay");
    if (before.garp_master_repeat != after.garp_master_repeat) out.push_back("garp_master_repeat");
    if (before.sync_group != after.sync_group) out.push_back("sync_group");
    auto as_set = [](const std::vector<std::string>& v) { return std::set<std::string>(v.begin(), v.end()); };
    if (as_set(before.track_interfaces) != as_set(after.track_interfaces)) out.push_back("track_interfaces");
    if (as_set(before.track_services) != as_set(after.track_services)) out.push_back("track_services");
    if (as_set(before.track_scripts) != as_set(after.track_scripts)) out.push_back("track_scripts");
    // A weight counts only for a name tracked before and after (a name that comes or goes is one of
    // the lists above).
    std::map<std::string, int> wa, wb;
    for (const auto& [n, w] : tracked_of(before)) wa[n] = w;
    for (const auto& [n, w] : tracked_of(after)) wb[n] = w;
    for (const auto& [n, w] : wb) {
        auto it = wa.find(n);
        if (it != wa.end() && it->second != w) {
            out.push_back("track_weights");
            break;
        }
    }
    return out;
}

std::vector<RouterChange> diff_routers(const std::vector<config::VrrpInstance>& before,
                                       const std::vector<config::VrrpInstance>& after) {
    std::vector<Router> old_routers = routers_of(before);
    std::vector<Router> new_routers = routers_of(after);
    auto find = [](const std::vector<Router>& rs, const std::string& label) -> const Router* {
        for (const Router& r : rs)
            if (r.label == label) return &r;
        return nullptr;
    };
    std::vector<RouterChange> out;
    for (const Router& o : old_routers)
        if (!find(new_routers, o.label))
            out.push_back(RouterChange{Change::remove, o.label, o.family, o.index, {}, {}});
    for (const Router& n : new_routers) {
        const Router* o = find(old_routers, n.label);
        if (!o) {
            out.push_back(RouterChange{Change::add, n.label, n.family, {}, n.index, {}});
            continue;
        }
        const config::VrrpInstance& a = before[o->index];
        const config::VrrpInstance& b = after[n.index];
        RouterChange c{Change::keep, n.label, n.family, o->index, n.index, {}};
        // The same label with the other family (an instance that swapped IPv4 for IPv6) differs in
        // its family set, so in virtual_ipaddresses.
        c.fields = restart_fields(a, b, n.family);
        if (!c.fields.empty()) {
            c.change = Change::restart;
        } else {
            c.fields = reconfigure_fields(a, b);
            if (!c.fields.empty()) c.change = Change::reconfigure;
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace dplb::vrrp
