// Config (+ what the control plane has learnt since: health, operator weights, resolved MACs)
// -> Snapshot, the immutable picture the workers read.
//
// Ids are stable: a service or real that was in the previous snapshot keeps its id, so per-core
// counters and connection entries stay with it across reloads. A real that leaves its service keeps
// its id as `draining` while connections still refer to it (IPVS's drain), and its id is freed only
// once none do; a service id stays taken while a draining real names it. An id handed to another
// real gets the next generation (Dest::gen), so an entry that outlived its real is never forwarded.
// Pure: no clock, no I/O; runs off the control thread (Director's builder).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "config.h"
#include "snapshot.h"

namespace dplb {

// A real server as the operator names it: service (VIP, port, protocol) and real (IP, port).
struct RealKey {
    IpAddr vip;
    uint16_t vport = 0;
    uint8_t proto = 0;
    IpAddr rip;
    uint16_t rport = 0;
    bool operator<(const RealKey& o) const {
        return std::tie(vip.family, vip.b, vport, proto, rip.family, rip.b, rport) <
               std::tie(o.vip.family, o.vip.b, o.vport, o.proto, o.rip.family, o.rip.b, o.rport);
    }
};

// What the control plane knows about a real beyond its configuration.
struct RealRuntime {
    bool healthy = true;
    int dynamic_weight = -1;   // MISC_CHECK dynamic weight; -1 = none
    int weight_override = -1;  // `dplbctl weight`; -1 = none
    bool drained = false;      // `dplbctl drain`: weight 0 until the next reload
    std::optional<MacAddr> resolved_mac;  // from neighbour resolution; a static MAC wins
};

// A service as the operator names it.
struct ServiceRef {
    IpAddr vip;
    uint16_t port = 0;
    uint8_t proto = 0;
    bool operator<(const ServiceRef& o) const {
        return std::tie(vip.family, vip.b, port, proto) < std::tie(o.vip.family, o.vip.b, o.port, o.proto);
    }
};

// What the control plane knows about a service beyond its configuration.
struct ServiceRuntime {
    // keepalived's quorum state (controlplane/quorum.h). While it is lost, a sorry server takes the
    // service's new connections and its reals take none.
    bool quorum_up = true;
};

struct BuildInput {
    const config::Config* cfg = nullptr;
    const Snapshot* prev = nullptr;  // nullptr at start-up
    const std::map<RealKey, RealRuntime>* runtime = nullptr;
    // By service; a service not in it (or nullptr) has its quorum.
    const std::map<ServiceRef, ServiceRuntime>* services = nullptr;
    // Connections (of any state, templates included) that may still refer to a dest id, over all
    // cores: an id is freed only when this is 0. nullptr: nothing refers to any id.
    std::function<uint64_t(uint16_t)> conns_of;
};

struct BuildResult {
    Snapshot snap;
    std::vector<uint16_t> new_dest_ids;     // ids handed to a real that did not have one
    std::vector<uint16_t> new_service_ids;
    // Services whose scheduler tables were built anew; the others share the previous snapshot's
    // (same scheduler, table size, reals, addresses and weights).
    size_t tables_rebuilt = 0;
};

// Throws std::invalid_argument when the configuration needs more ids than the data plane has.
BuildResult build_snapshot(const BuildInput& in);

// The same result as build_snapshot when only the runtime state (health, weights, MACs) of the
// `dirty` services changed since `in.prev` was built from `in.cfg`: copies the rest, so an event
// costs one service's work (and a copy of the dests). `in.runtime` needs the entries of the dirty
// services' reals only.
BuildResult build_services(const BuildInput& in, const std::set<ServiceRef>& dirty);

// Start-up convenience: no previous snapshot, no runtime state.
Snapshot build_snapshot(const config::Config& cfg);

RealKey real_key(const Service& svc, const Dest& d);
// The weight the scheduler sees for a configured real, given what is known at run time.
uint16_t effective_weight(const config::RealServer& r, const RealRuntime* rt);

}  // namespace dplb
