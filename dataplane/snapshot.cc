#include "snapshot.h"

#include <cstring>
#include <map>
#include <utility>

namespace dplb {

const char* sched_name(Sched s) {
    switch (s) {
    case Sched::rr: return "rr";
    case Sched::wrr: return "wrr";
    case Sched::lc: return "lc";
    case Sched::wlc: return "wlc";
    case Sched::sh: return "sh";
    case Sched::mh: return "mh";
    case Sched::sed: return "sed";
    case Sched::nq: return "nq";
    case Sched::fo: return "fo";
    case Sched::ovf: return "ovf";
    case Sched::dh: return "dh";
    case Sched::twos: return "twos";
    case Sched::lblc: return "lblc";
    case Sched::lblcr: return "lblcr";
    }
    return "?";
}

// A director has a handful of services: a linear scan over a dense vector beats a hash here.
const Service* Snapshot::find_service4(uint32_t vip_be, uint16_t port, uint8_t proto) const {
    const Service* wildcard = nullptr;
    for (const Service& s : services) {
        if (s.vip.family != 4 || s.vip.v4_be() != vip_be || s.proto != proto) continue;
        if (s.port == port) return &s;
        if (s.port == 0) wildcard = &s;
    }
    return wildcard;
}

const Service* Snapshot::find_service6(const uint8_t* vip, uint16_t port, uint8_t proto) const {
    const Service* wildcard = nullptr;
    for (const Service& s : services) {
        if (s.vip.family != 6 || s.proto != proto || std::memcmp(s.vip.b.data(), vip, 16) != 0) continue;
        if (s.port == port) return &s;
        if (s.port == 0) wildcard = &s;
    }
    return wildcard;
}

int Snapshot::vip_slot4(uint32_t vip_be) const {
    for (size_t i = 0; i < vips.size(); i++)
        if (vips[i].ip.family == 4 && vips[i].ip.v4_be() == vip_be) return static_cast<int>(i);
    return -1;
}

int Snapshot::vip_slot6(const uint8_t* vip) const {
    for (size_t i = 0; i < vips.size(); i++)
        if (vips[i].ip.family == 6 && std::memcmp(vips[i].ip.b.data(), vip, 16) == 0) return static_cast<int>(i);
    return -1;
}

void assign_vip_slots(Snapshot& snap) {
    snap.vips.clear();
    std::map<std::pair<uint8_t, std::array<uint8_t, 16>>, uint16_t> slots;
    for (Service& s : snap.services) {
        auto [it, added] = slots.emplace(std::make_pair(s.vip.family, s.vip.b), static_cast<uint16_t>(snap.vips.size()));
        if (added) snap.vips.push_back(VipInfo{s.vip, false});
        snap.vips[it->second].answer_arp |= s.answer_arp;
        s.vip_slot = it->second;
    }
}

}  // namespace dplb
