#include "snapshot.h"

#include <cstring>

namespace dplb {

const char* sched_name(Sched s) {
    switch (s) {
    case Sched::rr: return "rr";
    case Sched::wrr: return "wrr";
    case Sched::lc: return "lc";
    case Sched::wlc: return "wlc";
    case Sched::sh: return "sh";
    case Sched::mh: return "mh";
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

bool Snapshot::is_vip4(uint32_t vip_be) const {
    for (const Service& s : services)
        if (s.vip.family == 4 && s.vip.v4_be() == vip_be) return true;
    return false;
}

bool Snapshot::is_vip6(const uint8_t* vip) const {
    for (const Service& s : services)
        if (s.vip.family == 6 && std::memcmp(s.vip.b.data(), vip, 16) == 0) return true;
    return false;
}

bool Snapshot::answers_arp4(uint32_t vip_be) const {
    for (const Service& s : services)
        if (s.vip.family == 4 && s.vip.v4_be() == vip_be && s.answer_arp && s.active) return true;
    return false;
}

bool Snapshot::answers_nd6(const uint8_t* vip) const {
    for (const Service& s : services)
        if (s.vip.family == 6 && std::memcmp(s.vip.b.data(), vip, 16) == 0 && s.answer_arp && s.active) return true;
    return false;
}

}  // namespace dplb
