#include "snapshot_builder.h"

#include <stdexcept>
#include <string>
#include <utility>

#include "scheduler.h"

namespace dplb {
namespace {

// Ids are 16 bits and index fixed per-core counter arrays, so an oversized config must not wrap.
void check_limits(const config::Config& cfg) {
    size_t reals = 0;
    for (const config::Service& s : cfg.services) reals += s.reals.size();
    if (cfg.services.size() > kMaxServices)
        throw std::invalid_argument("build_snapshot: " + std::to_string(cfg.services.size()) +
                                    " services, at most " + std::to_string(kMaxServices));
    if (reals > kMaxDests)
        throw std::invalid_argument("build_snapshot: " + std::to_string(reals) + " real servers, at most " +
                                    std::to_string(kMaxDests));
}

Dest make_dest(const config::RealServer& r, uint16_t svc_id) {
    Dest d;
    d.ip = r.ip;
    d.port = r.port;
    d.weight = r.weight;
    d.svc = svc_id;
    d.in_use = true;
    d.mac = r.mac;
    d.has_mac = true;
    return d;
}

}  // namespace

Snapshot build_snapshot(const config::Config& cfg) {
    check_limits(cfg);
    Snapshot snap;
    snap.services.reserve(cfg.services.size());
    for (size_t i = 0; i < cfg.services.size(); i++) {
        const config::Service& cs = cfg.services[i];
        Service svc;
        svc.id = static_cast<uint16_t>(i);
        svc.vip = cs.vip;
        svc.port = cs.port;
        svc.proto = cs.proto;
        svc.sched = cs.sched;
        svc.persistence_ms = cs.persistence_timeout_s * 1000;
        svc.timeouts = cs.timeouts;
        svc.answer_arp = cs.answer_arp;
        svc.active = true;
        for (const config::RealServer& r : cs.reals) {
            svc.dests.push_back(static_cast<uint16_t>(snap.dests.size()));
            snap.dests.push_back(make_dest(r, svc.id));
        }
        build_sched_tables(svc, snap.dests, cs.mh_table_size);
        snap.services.push_back(std::move(svc));
    }
    return snap;
}

}  // namespace dplb
