// What a configuration reload does to each running VRRP router, keepalived's way: a router whose
// configuration did not change keeps its state, timers and sockets; one whose changes a running
// router can take is reconfigured in place (Instance::reconfigure); only a change of its identity
// restarts it (a MASTER resigns with priority 0, then a new Instance starts). Pure: old and new
// vrrp_instances in, one RouterChange per router out; controlplane/vrrp_manager.cc applies them.
//
// A router is one address family of one vrrp_instance (instance.h), labelled as dplbctl status and
// dplb_vrrp_state show it: "VI_1" for an instance of one family, "VI_1/v4" and "VI_1/v6" for one with
// both. Routers are matched by label, so an instance that gains or loses a family is removed and
// added under its new labels; one that swaps its only family keeps its label and restarts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config.h"

namespace dplb::vrrp {

struct Router {
    std::string label;  // "VI_1", "VI_1/v4", "VI_1/v6"
    uint8_t family;     // 4 or 6
    size_t index;       // the vrrp_instance's position in its list
};
// Every router of `list`, in order (IPv4 before IPv6 within an instance).
std::vector<Router> routers_of(const std::vector<config::VrrpInstance>& list);
std::string router_label(const config::VrrpInstance& cfg, uint8_t family);

enum class Change : uint8_t {
    keep,         // nothing a running router uses changed: leave it alone
    reconfigure,  // Instance::reconfigure(new config): state, timers and sockets kept
    restart,      // stop() (a MASTER sends priority 0), then a new Instance from the new config
    add,          // a new router: start it
    remove,       // gone: stop() it and drop its label from status
};
const char* change_name(Change c);  // "keep", "reconfigure", "restart", "add", "remove"

struct RouterChange {
    Change change;
    std::string label;
    uint8_t family;                   // the new one; the old one for remove
    std::optional<size_t> old_index;  // in the old list: all but add
    std::optional<size_t> new_index;  // in the new list: all but remove
    // The configuration keys that differ and caused the change, in a fixed order ("priority",
    // "track_weights"; "advert_int", "virtual_ipaddresses"); empty for keep, add and remove.
    std::vector<std::string> fields;
};
// "VI_1/v6: restart (advert_int, virtual_ipaddresses)", "VI_2: add", "VI_1: keep".
std::string describe(const RouterChange& c);

// The keys whose change needs a new router for `family`: interface (the port), virtual_router_id,
// version (IPv4 only: IPv6 is always VRRPv3), advert_int, authentication (as sent: only with VRRPv2,
// and only the 8 characters keepalived sends), virtual_ipaddresses of that family (order included:
// it is the advert's). Empty when none.
std::vector<std::string> restart_fields(const config::VrrpInstance& before, const config::VrrpInstance& after,
                                        uint8_t family);
// The keys a running router takes in place: priority, preempt, preempt_delay, garp_master_delay,
// garp_master_repeat, sync_group (joining, leaving or changing its vrrp_sync_groups entry), track_interfaces, track_services and track_scripts (as sets), track_weights
// (only the weights of tracked names count, script weights included). Empty when none. `state` (the initial state) is in neither list:
// a running router never reads it, as in keepalived.
std::vector<std::string> reconfigure_fields(const config::VrrpInstance& before, const config::VrrpInstance& after);

// The tracked objects of `cfg` with their weights, in the order Instance adds them (its port first,
// then track_interfaces, then track_services, then track_scripts by script_track_name), each name once.
std::vector<std::pair<std::string, int>> tracked_of(const config::VrrpInstance& cfg);
// The name a tracked vrrp_script has in an Instance ("script chk_web"), apart from ports and services.
std::string script_track_name(const std::string& script);

// One change per router of either list, in the order to apply them: every remove first (old order),
// then the new list's routers in order. Whoever applies them stops every removed and restarted
// router before starting any (so a VIP that moves to another instance is let go before it is
// taken), then reconfigures, then starts the restarted and added ones.
std::vector<RouterChange> diff_routers(const std::vector<config::VrrpInstance>& before,
                                       const std::vector<config::VrrpInstance>& after);

}  // namespace dplb::vrrp
