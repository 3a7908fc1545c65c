#include "vrrp/sync_group.h"

#include <algorithm>

namespace dplb::vrrp {

std::vector<bool> group_faults(const std::vector<Member>& members) {
    std::vector<bool> out(members.size(), false);
    for (size_t i = 0; i < members.size(); ++i)
        for (size_t j = 0; j < members.size(); ++j)
            if (j != i && members[j].own_fault) out[i] = true;
    return out;
}

bool may_go_master(const std::vector<Member>& members, size_t i) {
    for (size_t j = 0; j < members.size(); ++j) {
        const Member& m = members[j];
        if (m.own_fault || m.state == State::fault) return false;
        if (j != i && m.state != State::master && !m.wants_master) return false;
    }
    return true;
}

std::vector<Order> orders_after(const std::vector<Member>& members, size_t i, State from) {
    std::vector<Order> out(members.size(), Order::none);
    State to = members[i].state;
    for (size_t j = 0; j < members.size(); ++j) {
        if (j == i) continue;
        // vrrp_sync_master: only when the others are ready (an address owner that starts as MASTER
        // does not drag a group whose peers still hear another master).
        if (to == State::master && members[j].state == State::backup && may_go_master(members, i))
            out[j] = Order::to_master;
        // vrrp_sync_backup: a member that lost MASTER takes the others with it.
        if (to == State::backup && from == State::master && members[j].state == State::master)
            out[j] = Order::to_backup;
    }
    return out;
}

State group_state(const std::vector<Member>& members, State previous) {
    if (members.empty()) return State::init;
    size_t master = 0, backup = 0, init = 0;
    for (const Member& m : members) {
        if (m.own_fault || m.state == State::fault) return State::fault;
        master += m.state == State::master;
        backup += m.state == State::backup;
        init += m.state == State::init;
    }
    if (master == members.size()) return State::master;
    if (init == members.size()) return State::init;
    if (master == 0 && backup > 0) return State::backup;
    return previous;
}

void SyncGroups::configure(const std::vector<config::VrrpSyncGroup>& groups) {
    std::map<std::string, Group> next;
    for (const auto& g : groups) {
        Group n;
        n.instances = g.instances;
        auto old = groups_.find(g.name);
        if (old != groups_.end()) n.state = old->second.state;
        next.emplace(g.name, std::move(n));
    }
    for (const auto& [name, g] : groups_)
        if (!next.count(name) && on_state_ && g.state != State::init) on_state_(name, State::init);
    groups_ = std::move(next);
    // A router whose instance left every group: nothing holds it any more.
    for (Router& r : routers_)
        if (group_of(r.in->name()).empty()) r.in->set_group_fault(false, "");
    for (const auto& [name, g] : groups_) {
        apply_faults(name);
        update_state(name);
    }
}

void SyncGroups::attach(Instance& in) {
    for (const Router& r : routers_)
        if (r.in == &in) return;
    routers_.push_back(Router{&in, in.state()});
    std::string g = group_of(in.name());
    if (!g.empty()) apply_faults(g);
}

void SyncGroups::detach(Instance& in) {
    auto it = std::find_if(routers_.begin(), routers_.end(), [&](const Router& r) { return r.in == &in; });
    if (it == routers_.end()) return;
    std::string g = group_of(in.name());
    routers_.erase(it);
    if (!g.empty()) {
        apply_faults(g);
        update_state(g);
    }
}

std::string SyncGroups::group_of(const std::string& instance) const {
    for (const auto& [name, g] : groups_)
        if (std::find(g.instances.begin(), g.instances.end(), instance) != g.instances.end()) return name;
    return "";
}

std::map<std::string, State> SyncGroups::states() const {
    std::map<std::string, State> out;
    for (const auto& [name, g] : groups_) out[name] = g.state;
    return out;
}

std::vector<SyncGroups::Router*> SyncGroups::members_of(const std::string& group) {
    std::vector<Router*> out;
    auto g = groups_.find(group);
    if (g == groups_.end()) return out;
    // In the group's order, each instance's routers in attach order.
    for (const std::string& name : g->second.instances)
        for (Router& r : routers_)
            if (r.in->name() == name) out.push_back(&r);
    return out;
}

std::vector<Member> SyncGroups::view(const std::vector<Router*>& rs) {
    std::vector<Member> out;
    for (const Router* r : rs) out.push_back(Member{r->in->state(), r->in->own_fault(), r->in->wants_master()});
    return out;
}

void SyncGroups::apply_faults(const std::string& group) {
    std::vector<Router*> rs = members_of(group);
    std::vector<Member> v = view(rs);
    std::vector<bool> f = group_faults(v);
    std::string why;
    for (size_t i = 0; i < rs.size(); ++i)
        if (v[i].own_fault) why += (why.empty() ? "" : ", ") + rs[i]->in->name();
    for (size_t i = 0; i < rs.size(); ++i) {
        std::string mine;  // the faulted members other than this one
        for (size_t j = 0; j < rs.size(); ++j)
            if (j != i && v[j].own_fault && mine.find(rs[j]->in->name()) == std::string::npos)
                mine += (mine.empty() ? "" : ", ") + rs[j]->in->name();
        rs[i]->in->set_group_fault(f[i], "sync group " + group + ": " + mine + " in FAULT");
    }
}

void SyncGroups::update_state(const std::string& group) {
    auto g = groups_.find(group);
    if (g == groups_.end()) return;
    State s = group_state(view(members_of(group)), g->second.state);
    if (s == g->second.state) return;
    g->second.state = s;
    if (on_state_) on_state_(group, s);
}

void SyncGroups::state_changed(Instance& in) {
    auto it = std::find_if(routers_.begin(), routers_.end(), [&](const Router& r) { return r.in == &in; });
    if (it == routers_.end()) return;
    State from = it->last;
    it->last = in.state();
    std::string group = group_of(in.name());
    if (group.empty()) return;
    std::vector<Router*> rs = members_of(group);
    size_t i = std::find(rs.begin(), rs.end(), &*it) - rs.begin();
    std::vector<Order> orders = orders_after(view(rs), i, from);
    std::string why = "sync group " + group + ": " + in.name() + " " + state_name(in.state());
    // The orders' own changes come back here (recursively); each sees the states as they are then.
    std::vector<Instance*> to_master, to_backup;
    for (size_t j = 0; j < rs.size(); ++j) {
        if (orders[j] == Order::to_master) to_master.push_back(rs[j]->in);
        if (orders[j] == Order::to_backup) to_backup.push_back(rs[j]->in);
    }
    for (Instance* m : to_master) m->sync_to(State::master, why);
    for (Instance* m : to_backup) m->sync_to(State::backup, why);
    update_state(group);
}

void SyncGroups::own_fault_changed(Instance& in) {
    std::string group = group_of(in.name());
    if (group.empty()) return;
    apply_faults(group);
    update_state(group);
}

void SyncGroups::want_master(Instance& in, const std::string& detail) {
    std::string group = group_of(in.name());
    if (group.empty()) {
        in.sync_to(State::master, detail);  // left its group in a reload not yet applied to it
        return;
    }
    std::vector<Router*> rs = members_of(group);
    auto it = std::find_if(rs.begin(), rs.end(), [&](const Router* r) { return r->in == &in; });
    if (it == rs.end()) return;
    if (!may_go_master(view(rs), static_cast<size_t>(it - rs.begin()))) return;
    // This one first: the others follow from its change (orders_after).
    in.sync_to(State::master, detail + "; sync group " + group + ": every member wants MASTER");
}

}  // namespace dplb::vrrp
