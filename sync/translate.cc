#include "sync/translate.h"

#include <algorithm>
#include <cstring>

#include "tcp_state.h"

namespace dplb::sync {

const char* rx_drop_name(RxDrop d) {
    switch (d) {
#define DPLB_X(name, text) \
    case RxDrop::name: return #name;
        DPLB_SYNC_RX_DROPS(DPLB_X)
#undef DPLB_X
    case RxDrop::count: break;
    }
    return "unknown";
}

std::optional<SyncConn> to_wire(const SyncRecord& r, const Snapshot& snap) {
    if (r.dest >= snap.dests.size()) return std::nullopt;
    const Dest& d = snap.dests[r.dest];
    if (!d.in_use || d.gen != r.gen || d.svc != r.svc) return std::nullopt;
    auto st = ipvs_state(r.proto, r.state);
    if (!st) return std::nullopt;
    SyncConn c;
    c.protocol = r.proto;
    c.flags = kConnDroute | kConnNoOutput | (state_is_active(r.state) ? 0 : kConnInactive);
    c.state = *st;
    c.cport = r.cport;
    c.vport = r.vport;
    c.dport = d.port ? d.port : r.vport;  // a real without a port of its own takes the vport (DR)
    if (r.family == 4) {
        uint32_t cb, vb;
        std::memcpy(&cb, r.caddr, 4);
        std::memcpy(&vb, r.vaddr, 4);
        c.caddr = IpAddr::from_v4_be(cb);
        c.vaddr = IpAddr::from_v4_be(vb);
    } else {
        c.caddr = IpAddr::from_v6(r.caddr);
        c.vaddr = IpAddr::from_v6(r.vaddr);
    }
    c.daddr = d.ip;
    if (c.daddr.family != c.caddr.family) return std::nullopt;
    // The service's timeout for the state, in whole seconds (IPVS sends cp->timeout / HZ).
    for (const Service& s : snap.services)
        if (s.id == r.svc) {
            c.timeout_s = s.timeouts.ms[r.state] / 1000;
            break;
        }
    return c;
}

RxDrop resolve(const SyncConn& c, const Snapshot& snap, uint32_t now_ms, Resolved& out) {
    if ((c.flags & kConnTemplate) || (c.protocol != kProtoTcp && c.protocol != kProtoUdp)) return RxDrop::not_connection;
    auto st = dplb_state(c.protocol, c.state);
    if (!st) return RxDrop::bad_state;
    out = Resolved{};
    out.v6 = c.caddr.is_v6();
    const Service* svc = out.v6 ? snap.find_service6(c.vaddr.b.data(), c.vport, c.protocol)
                                : snap.find_service4(c.vaddr.v4_be(), c.vport, c.protocol);
    if (!svc || svc->ops) return RxDrop::no_service;
    uint16_t dest = kNoDest;
    for (uint16_t id : svc->dests) {
        const Dest& d = snap.dests[id];
        if (d.in_use && !d.draining && d.ip == c.daddr && (d.port ? d.port : c.vport) == c.dport) {
            dest = id;
            break;
        }
    }
    if (dest == kNoDest) return RxDrop::no_real;
    const uint32_t timeout_ms =
        c.timeout_s ? std::min(c.timeout_s, kMaxSyncedTimeoutS) * 1000 : svc->timeouts.ms[*st];
    out.entry = ConnEntry{now_ms + timeout_ms, dest, *st, snap.dests[dest].gen};
    if (out.v6) {
        std::memcpy(out.k6.src, c.caddr.b.data(), 16);
        std::memcpy(out.k6.dst, c.vaddr.b.data(), 16);
        out.k6.sport = c.cport;
        out.k6.dport = c.vport;
        out.k6.proto = c.protocol;
    } else {
        out.k4.src = c.caddr.v4_be();
        out.k4.dst = c.vaddr.v4_be();
        out.k4.sport = c.cport;
        out.k4.dport = c.vport;
        out.k4.proto = c.protocol;
    }
    return RxDrop::count;
}

}  // namespace dplb::sync
