#include "snapshot_builder.h"

#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "scheduler.h"

namespace dplb {
namespace {

using ServiceKey = std::tuple<uint8_t, std::array<uint8_t, 16>, uint16_t, uint8_t>;

ServiceKey service_key(const IpAddr& vip, uint16_t port, uint8_t proto) { return {vip.family, vip.b, port, proto}; }

RealKey config_key(const config::Service& s, const config::RealServer& r) {
    return RealKey{s.vip, s.port, s.proto, r.ip, r.port};
}

// Hands out the lowest id not taken, so ids stay dense.
class IdPool {
public:
    explicit IdPool(size_t limit) : taken_(limit, false) {}
    void take(uint16_t id) { taken_[id] = true; }
    uint16_t next(const char* what) {
        for (; cursor_ < taken_.size(); cursor_++)
            if (!taken_[cursor_]) {
                taken_[cursor_] = true;
                return static_cast<uint16_t>(cursor_);
            }
        throw std::invalid_argument(std::string("build_snapshot: more ") + what + " than the data plane has ids for (" +
                                    std::to_string(taken_.size()) + ")");
    }

private:
    std::vector<bool> taken_;
    size_t cursor_ = 0;
};

void place(std::vector<Dest>& dests, uint16_t id, const Dest& d) {
    if (dests.size() <= id) dests.resize(id + 1u);
    dests[id] = d;
}

// Whether a service's scheduler tables would come out the same: everything build_sched_tables
// reads (the reals' ids, addresses, weights, the table size) is unchanged. The scheduler itself is
// not an input: every table is built for every service.
bool same_tables_input(const Service& a, const std::vector<Dest>& a_dests, const Service& b,
                       const std::vector<Dest>& b_dests, uint32_t mh_size) {
    if (a.dests != b.dests || !a.tables || a.tables->mh.size() != (a.tables->mh.empty() ? 0 : mh_size)) return false;
    for (uint16_t id : b.dests) {
        const Dest& x = a_dests[id];
        const Dest& y = b_dests[id];
        if (x.in_use != y.in_use || x.weight != y.weight || x.ip != y.ip || x.port != y.port) return false;
        if ((x.u_threshold != 0) != (y.u_threshold != 0)) return false;  // SchedTables::limits
    }
    return true;
}

// A configured real as the workers see it: weight after runtime overrides and health, MAC static or
// resolved; a real that failed its check leaves its service (draining) unless inhibit_on_failure.
Dest configured_dest(const config::Service& cs, const config::RealServer& r, const RealRuntime* rt, uint16_t svc_id) {
    Dest d;
    d.ip = r.ip;
    d.egress = r.egress_port;
    d.vlan = r.egress_vlan;
    d.port = r.port;
    d.vip = cs.vip;
    d.vport = cs.port;
    d.proto = cs.proto;
    d.svc = svc_id;
    d.in_use = true;
    d.weight = effective_weight(r, rt);
    if (r.has_mac) {
        d.mac = r.mac;
        d.has_mac = true;
    } else if (rt && rt->resolved_mac) {
        d.mac = *rt->resolved_mac;
        d.has_mac = true;
    }
    d.healthy = !rt || rt->healthy;
    d.u_threshold = r.u_threshold;
    d.l_threshold = r.l_threshold;
    if (!d.healthy && r.inhibit_on_failure) d.weight = 0;  // stays listed, takes nothing new
    d.draining = !d.healthy && !r.inhibit_on_failure;    // leaves the service, as IPVS removes it
    return d;
}

bool quorum_up(const BuildInput& in, const config::Service& cs) {
    if (!in.services) return true;
    auto it = in.services->find(ServiceRef{cs.vip, cs.port, cs.proto});
    return it == in.services->end() || it->second.quorum_up;
}

const RealRuntime* runtime_of(const BuildInput& in, const config::Service& cs, const config::RealServer& r) {
    if (!in.runtime) return nullptr;
    auto it = in.runtime->find(config_key(cs, r));
    return it == in.runtime->end() ? nullptr : &it->second;
}

// A service's dests as the workers see them, each with its configured real: the reals, then the
// sorry server. While the quorum holds, the sorry server takes nothing new (weight 0, listed with
// sorry_server_inhibit, else draining as a removed real); while it is lost, the sorry server is
// scheduled as any real and the reals take nothing new, as keepalived removes them then (weight 0
// with inhibit_on_failure).
std::vector<std::pair<const config::RealServer*, Dest>> service_dests(const BuildInput& in,
                                                                       const config::Service& cs, uint16_t svc_id) {
    const bool up = quorum_up(in, cs);
    const bool sorry_in_use = !up && cs.sorry_server;
    std::vector<std::pair<const config::RealServer*, Dest>> out;
    for (const config::RealServer& r : cs.reals) {
        Dest d = configured_dest(cs, r, runtime_of(in, cs, r), svc_id);
        if (sorry_in_use) {
            d.weight = 0;
            d.draining = d.draining || !r.inhibit_on_failure;
        }
        out.emplace_back(&r, d);
    }
    if (cs.sorry_server) {
        const config::RealServer& r = *cs.sorry_server;
        Dest d = configured_dest(cs, r, runtime_of(in, cs, r), svc_id);
        d.healthy = true;  // never checked
        if (!sorry_in_use) {
            d.weight = 0;
            d.draining = !cs.sorry_server_inhibit;
        }
        out.emplace_back(&r, d);
    }
    return out;
}

// The previous snapshot's tables when nothing they are built from changed; else new ones. Returns
// the number of services whose tables were built (0 or 1).
size_t reuse_or_build_tables(Service& svc, const Service* before, const Snapshot* prev, const std::vector<Dest>& dests,
                             uint32_t mh_size) {
    if (before && same_tables_input(*before, prev->dests, svc, dests, mh_size)) {
        svc.tables = before->tables;
        return 0;
    }
    build_sched_tables(svc, dests, mh_size);
    return 1;
}

}  // namespace

RealKey real_key(const Service& svc, const Dest& d) { return RealKey{svc.vip, svc.port, svc.proto, d.ip, d.port}; }

uint16_t effective_weight(const config::RealServer& r, const RealRuntime* rt) {
    if (!rt) return r.weight;
    if (rt->drained) return 0;
    if (rt->weight_override >= 0) return static_cast<uint16_t>(rt->weight_override);
    if (rt->dynamic_weight >= 0) return static_cast<uint16_t>(rt->dynamic_weight);
    return r.weight;
}

BuildResult build_snapshot(const BuildInput& in) {
    const config::Config& cfg = *in.cfg;
    BuildResult out;
    Snapshot& snap = out.snap;
    snap.expire_nodest_conn = cfg.expire_nodest_conn;
    snap.conn_reuse_mode = cfg.conn_reuse_mode;

    // The previous snapshot's ids, by what the operator calls things.
    std::map<ServiceKey, uint16_t> prev_svc;
    std::map<RealKey, uint16_t> prev_dest;
    std::vector<const Service*> prev_by_id(kMaxServices, nullptr);
    if (in.prev) {
        for (const Service& s : in.prev->services) {
            prev_svc[service_key(s.vip, s.port, s.proto)] = s.id;
            prev_by_id[s.id] = &s;
        }
        for (size_t id = 0; id < in.prev->dests.size(); id++) {
            const Dest& d = in.prev->dests[id];
            if (d.in_use) prev_dest[RealKey{d.vip, d.vport, d.proto, d.ip, d.port}] = static_cast<uint16_t>(id);
        }
    }

    // Configured services and reals keep their ids; reals that left keep theirs while draining.
    IdPool svc_ids(kMaxServices), dest_ids(kMaxDests);
    std::map<RealKey, bool> configured;
    // Freed ids keep their generation, so the next real to get one starts a new generation.
    if (in.prev)
        for (size_t id = 0; id < in.prev->dests.size(); id++) {
            Dest free_id;
            free_id.gen = in.prev->dests[id].gen;
            snap.dests.push_back(free_id);
        }
    for (const config::Service& cs : cfg.services) {
        auto it = prev_svc.find(service_key(cs.vip, cs.port, cs.proto));
        if (it != prev_svc.end()) svc_ids.take(it->second);
        for (const config::RealServer* rp : config::forwarding_reals(cs)) {
            const config::RealServer& r = *rp;
            RealKey k = config_key(cs, r);
            configured[k] = true;
            auto d = prev_dest.find(k);
            if (d != prev_dest.end()) dest_ids.take(d->second);
        }
    }
    for (auto& [k, id] : prev_dest) {
        if (configured.count(k)) continue;
        const Dest& old = in.prev->dests[id];
        if (!in.conns_of || in.conns_of(id) == 0) continue;  // nothing refers to it any more: free
        Dest d = old;
        d.draining = true;
        d.weight = 0;
        dest_ids.take(id);
        place(snap.dests, id, d);
        // Its entries are checked against its service id: no other service may take that id yet.
        svc_ids.take(d.svc);
    }

    // More reals than ids: say how many of each kind, so the operator knows what to wait for.
    size_t configured_count = 0, draining_count = 0;
    for (const config::Service& cs : cfg.services) configured_count += cs.reals.size() + (cs.sorry_server ? 1 : 0);
    for (const Dest& d : snap.dests) draining_count += d.in_use && d.draining;
    size_t kept = 0;
    for (const auto& [k, id] : prev_dest) kept += configured.count(k);
    if (configured_count + draining_count > kMaxDests)
        throw std::invalid_argument(
            std::to_string(configured_count) + " real servers configured (" + std::to_string(configured_count - kept) +
            " new) and " + std::to_string(draining_count) +
            " removed ones still draining need more than the " + std::to_string(kMaxDests) +
            " ids the data plane has; a removed real keeps its id until no connection refers to it");
    for (const config::Service& cs : cfg.services) {
        Service svc;
        auto it = prev_svc.find(service_key(cs.vip, cs.port, cs.proto));
        if (it != prev_svc.end()) {
            svc.id = it->second;
        } else {
            svc.id = svc_ids.next("services");
            out.new_service_ids.push_back(svc.id);
        }
        svc.vip = cs.vip;
        svc.port = cs.port;
        svc.proto = cs.proto;
        svc.sched = cs.sched;
        svc.persistence_ms = cs.persistence_timeout_s * 1000;
        svc.persistence_prefix_len = cs.persistence_prefix_len;
        svc.ops = cs.ops;
        svc.sched_flags = cs.sched_flags;
        svc.timeouts = cs.timeouts;
        svc.answer_arp = cs.answer_arp;
        svc.quorum_up = quorum_up(in, cs);
        for (auto& [r, d] : service_dests(in, cs, svc.id)) {
            RealKey k = config_key(cs, *r);
            uint16_t id;
            auto p = prev_dest.find(k);
            if (p != prev_dest.end()) {
                id = p->second;
            } else {
                id = dest_ids.next("real servers");
                out.new_dest_ids.push_back(id);
            }
            d.gen = id < snap.dests.size() ? snap.dests[id].gen : 0;
            if (p == prev_dest.end()) d.gen++;
            if (!d.draining) svc.dests.push_back(id);
            place(snap.dests, id, d);
        }
        const Service* before = it != prev_svc.end() ? prev_by_id[svc.id] : nullptr;
        out.tables_rebuilt += reuse_or_build_tables(svc, before, in.prev, snap.dests, cs.mh_table_size);
        snap.services.push_back(std::move(svc));
    }
    assign_vip_slots(snap);
    return out;
}

BuildResult build_services(const BuildInput& in, const std::set<ServiceRef>& dirty) {
    if (!in.prev) throw std::invalid_argument("build_services: no previous snapshot");
    const config::Config& cfg = *in.cfg;
    BuildResult out;
    out.snap = *in.prev;  // shares every service's tables; copies the dests (a few bytes each)
    Snapshot& snap = out.snap;
    for (Service& svc : snap.services) {
        if (!dirty.count(ServiceRef{svc.vip, svc.port, svc.proto})) continue;
        const config::Service* cs = nullptr;
        for (const config::Service& c : cfg.services)
            if (c.vip == svc.vip && c.port == svc.port && c.proto == svc.proto) cs = &c;
        if (!cs) throw std::invalid_argument("build_services: service not in the configuration it was built from");
        // Its reals' ids, configured ones (in the service or draining from a failed check) only.
        std::map<std::pair<std::array<uint8_t, 16>, uint16_t>, uint16_t> ids;
        for (size_t id = 0; id < snap.dests.size(); id++) {
            const Dest& d = snap.dests[id];
            if (d.in_use && d.svc == svc.id) ids[{d.ip.b, d.port}] = static_cast<uint16_t>(id);
        }
        const Service before = svc;
        svc.dests.clear();
        svc.quorum_up = quorum_up(in, *cs);
        for (auto& [r, d] : service_dests(in, *cs, svc.id)) {
            auto f = ids.find({r->ip.b, r->port});
            if (f == ids.end()) throw std::invalid_argument("build_services: a real without an id");
            d.gen = snap.dests[f->second].gen;
            if (!d.draining) svc.dests.push_back(f->second);
            snap.dests[f->second] = d;
        }
        out.tables_rebuilt += reuse_or_build_tables(svc, &before, in.prev, snap.dests, cs->mh_table_size);
    }
    return out;
}

Snapshot build_snapshot(const config::Config& cfg) {
    BuildInput in;
    in.cfg = &cfg;
    return build_snapshot(in).snap;
}

}  // namespace dplb
