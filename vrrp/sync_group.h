// keepalived's vrrp_sync_group: routers that change state together, so that addresses that belong
// together (a front VIP and a back gateway, the IPv4 and IPv6 of one site) never split across
// directors. The rules, after keepalived's vrrp_sync.c:
//   - FAULT: while any member is faulted by its own objects (link, tracked objects, set_fault),
//     every other member is in FAULT too; the group leaves FAULT when all are clear.
//   - BACKUP: a member that leaves MASTER for BACKUP (a higher priority advert) pulls every other
//     MASTER member to BACKUP, without a priority-0 advert.
//   - MASTER: a BACKUP member whose Master_Down_Timer fires becomes MASTER only when every other
//     member is MASTER or wants to be (its own timer fired, no master heard since); then every
//     BACKUP member becomes MASTER at once. Otherwise it stays BACKUP and asks again after another
//     Master_Down_Interval ("prefer backup state to avoid thrashing").
// The rules are pure functions (tested as tables); SyncGroups applies them to running Instances.
// A router is one address family of an instance (reload.h); both families of an instance are
// members of its group.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "vrrp/instance.h"
#include "vrrp/state_machine.h"

namespace dplb::vrrp {

// One member as the rules see it.
struct Member {
    State state = State::init;
    bool own_fault = false;     // Instance::own_fault()
    bool wants_master = false;  // Instance::wants_master()
};

enum class Order : unsigned char { none, to_master, to_backup };

// For each member: whether another member's own fault holds it in FAULT.
std::vector<bool> group_faults(const std::vector<Member>& members);
// Whether member i may become MASTER: no member faulted, and every other one MASTER or wanting it.
bool may_go_master(const std::vector<Member>& members, size_t i);
// Member i went from `from` to its current state: what the others must do.
std::vector<Order> orders_after(const std::vector<Member>& members, size_t i, State from);
// The group's state: FAULT when a member is faulted or in FAULT; MASTER when all are MASTER;
// BACKUP when none is MASTER and one is BACKUP; INIT when all are INIT; else (on the way from one
// to another) `previous`.
State group_state(const std::vector<Member>& members, State previous);

// The sync groups of a configuration over the routers that run. Every Instance of a member is
// attached (before its start()) and detached (before it is destroyed); the owner forwards the
// Instance's on_state / on_own_fault / on_want_master callbacks here. Single-threaded, on the
// io_context of the Instances.
class SyncGroups {
public:
    // The group `name` entered `state`; INIT when its last member stopped or it left the configuration.
    using OnGroupState = std::function<void(const std::string& name, State state)>;
    explicit SyncGroups(OnGroupState on_state = {}) : on_state_(std::move(on_state)) {}

    // The groups of the configuration. A router whose instance no group lists any more leaves its
    // group (a group fault on it is cleared); one that joined is held to its new group's rules.
    void configure(const std::vector<config::VrrpSyncGroup>& groups);
    void attach(Instance& in);
    void detach(Instance& in);

    void state_changed(Instance& in);
    void own_fault_changed(Instance& in);
    void want_master(Instance& in, const std::string& detail);

    // "" when `instance` is in no group.
    std::string group_of(const std::string& instance) const;
    // Every group with its state, by name.
    std::map<std::string, State> states() const;

private:
    struct Router {
        Instance* in;
        State last;
    };
    struct Group {
        std::vector<std::string> instances;
        State state = State::init;
    };
    std::vector<Router*> members_of(const std::string& group);
    static std::vector<Member> view(const std::vector<Router*>& rs);
    void apply_faults(const std::string& group);
    void update_state(const std::string& group);

    OnGroupState on_state_;
    std::map<std::string, Group> groups_;
    std::vector<Router> routers_;
};

}  // namespace dplb::vrrp
