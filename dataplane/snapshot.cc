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

namespace {

// A 64-bit finalizer: every input bit reaches the low bits the index masks with.
uint32_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return static_cast<uint32_t>(x);
}

uint32_t hash4(uint32_t vip_be, uint16_t port, uint8_t proto) {
    return mix(uint64_t{vip_be} << 24 ^ uint64_t{port} << 8 ^ proto);
}

uint32_t hash6(const uint8_t* vip, uint16_t port, uint8_t proto) {
    uint64_t hi, lo;
    std::memcpy(&hi, vip, 8);
    std::memcpy(&lo, vip + 8, 8);
    return mix(hi ^ mix(lo ^ (uint64_t{port} << 8 | proto)));
}

uint32_t hash_of(const IpAddr& ip, uint16_t port, uint8_t proto) {
    return ip.family == 4 ? hash4(ip.v4_be(), port, proto) : hash6(ip.b.data(), port, proto);
}

}  // namespace

// An exact port first, then the service on every port (port 0) of that VIP and protocol.
const Service* Snapshot::find_service4(uint32_t vip_be, uint16_t port, uint8_t proto) const {
    if (service_index.slots.empty()) {
        const Service* wildcard = nullptr;
        for (const Service& s : services) {
            if (s.vip.family != 4 || s.vip.v4_be() != vip_be || s.proto != proto) continue;
            if (s.port == port) return &s;
            if (s.port == 0 && !wildcard) wildcard = &s;
        }
        return wildcard;
    }
    for (uint16_t want : {port, uint16_t{0}}) {
        int at = service_index.find(hash4(vip_be, want, proto), [&](uint32_t i) {
            const Service& s = services[i];
            return s.vip.family == 4 && s.vip.v4_be() == vip_be && s.port == want && s.proto == proto;
        });
        if (at >= 0) return &services[at];
        if (want == 0) break;
    }
    return nullptr;
}

const Service* Snapshot::find_service6(const uint8_t* vip, uint16_t port, uint8_t proto) const {
    if (service_index.slots.empty()) {
        const Service* wildcard = nullptr;
        for (const Service& s : services) {
            if (s.vip.family != 6 || s.proto != proto || std::memcmp(s.vip.b.data(), vip, 16) != 0) continue;
            if (s.port == port) return &s;
            if (s.port == 0 && !wildcard) wildcard = &s;
        }
        return wildcard;
    }
    for (uint16_t want : {port, uint16_t{0}}) {
        int at = service_index.find(hash6(vip, want, proto), [&](uint32_t i) {
            const Service& s = services[i];
            return s.vip.family == 6 && s.port == want && s.proto == proto && std::memcmp(s.vip.b.data(), vip, 16) == 0;
        });
        if (at >= 0) return &services[at];
        if (want == 0) break;
    }
    return nullptr;
}

int Snapshot::vip_slot4(uint32_t vip_be) const {
    auto match = [&](size_t i) { return vips[i].ip.family == 4 && vips[i].ip.v4_be() == vip_be; };
    if (!vip_index.slots.empty()) return vip_index.find(hash4(vip_be, 0, 0), match);
    for (size_t i = 0; i < vips.size(); i++)
        if (match(i)) return static_cast<int>(i);
    return -1;
}

int Snapshot::vip_slot6(const uint8_t* vip) const {
    auto match = [&](size_t i) { return vips[i].ip.family == 6 && std::memcmp(vips[i].ip.b.data(), vip, 16) == 0; };
    if (!vip_index.slots.empty()) return vip_index.find(hash6(vip, 0, 0), match);
    for (size_t i = 0; i < vips.size(); i++)
        if (match(i)) return static_cast<int>(i);
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
    snap.service_index.slots.clear();
    snap.vip_index.slots.clear();
    snap.service_by_id.clear();
    for (size_t pos = 0; pos < snap.services.size(); pos++) {
        const uint16_t id = snap.services[pos].id;
        if (id >= snap.service_by_id.size()) snap.service_by_id.resize(id + 1u, 0);
        snap.service_by_id[id] = static_cast<uint16_t>(pos + 1);
    }
    if (snap.services.size() > Snapshot::kScanMax) {
        const auto& svcs = snap.services;
        snap.service_index.build(
            svcs.size(), [&](size_t i) { return hash_of(svcs[i].vip, svcs[i].port, svcs[i].proto); },
            [&](size_t i, size_t j) {
                return svcs[i].vip == svcs[j].vip && svcs[i].port == svcs[j].port && svcs[i].proto == svcs[j].proto;
            });
    }
    if (snap.vips.size() > Snapshot::kScanMax) {
        const auto& vips = snap.vips;
        snap.vip_index.build(
            vips.size(), [&](size_t i) { return hash_of(vips[i].ip, 0, 0); },
            [&](size_t i, size_t j) { return vips[i].ip == vips[j].ip; });
    }
}

}  // namespace dplb
