#include "frag_table.h"

#include <cstring>

#include "conn_table.h"
#include "flow_hash.h"

namespace dplb {

FragTable::FragTable(uint32_t entries) {
    uint32_t n = kWays;
    while (n < entries) n <<= 1;
    slots_.reset(new FragEntry[n]);
    mask_ = n - 1;
}

void FragTable::key_of(const Parsed& p, FragEntry& k) {
    std::memset(k.src, 0, sizeof k.src);
    std::memset(k.dst, 0, sizeof k.dst);
    if (p.family == 4) {
        std::memcpy(k.src, &p.src4_be, 4);
        std::memcpy(k.dst, &p.dst4_be, 4);
    } else {
        std::memcpy(k.src, p.src6, 16);
        std::memcpy(k.dst, p.dst6, 16);
    }
    k.id = p.frag_id;
    // IPv6 fragments are one datagram's by (source, destination, id) alone (RFC 8200 §4.5), and a later
    // fragment's header may name an extension header where the first's leads to TCP/UDP.
    k.proto = p.family == 4 ? p.proto : 0;
    k.family = p.family;
}

bool FragTable::same(const FragEntry& a, const FragEntry& b) {
    return a.id == b.id && a.proto == b.proto && a.family == b.family && std::memcmp(a.src, b.src, 16) == 0 &&
           std::memcmp(a.dst, b.dst, 16) == 0;
}

uint32_t FragTable::set_of(const FragEntry& k) const {
    uint64_t h = hash_bytes(k.src, 16, (uint64_t{k.id} << 16) | (uint64_t{k.proto} << 8) | k.family);
    h = hash_bytes(k.dst, 16, h);
    return static_cast<uint32_t>(h) & mask_ & ~(kWays - 1);
}

void FragTable::put(const Parsed& p, uint16_t dest, uint8_t gen, uint16_t svc, uint32_t now_ms) {
    FragEntry k;
    key_of(p, k);
    FragEntry* set = &slots_[set_of(k)];
    // The same datagram again (a retransmitted first fragment), else a free or expired slot, else the
    // one that expires soonest.
    FragEntry* slot = nullptr;
    for (uint32_t w = 0; w < kWays && !slot; w++)
        if (set[w].family != 0 && same(set[w], k)) slot = &set[w];
    for (uint32_t w = 0; w < kWays && !slot; w++)
        if (set[w].family == 0 || time_reached(now_ms, set[w].expire_ms)) slot = &set[w];
    if (!slot) {
        slot = &set[0];
        for (uint32_t w = 1; w < kWays; w++)
            if (static_cast<int32_t>(set[w].expire_ms - slot->expire_ms) < 0) slot = &set[w];
    }
    k.dest = dest;
    k.gen = gen;
    k.svc = svc;
    k.expire_ms = now_ms + kTimeoutMs;
    *slot = k;
}

const FragEntry* FragTable::find(const Parsed& p, uint32_t now_ms) const {
    FragEntry k;
    key_of(p, k);
    const FragEntry* set = &slots_[set_of(k)];
    for (uint32_t w = 0; w < kWays; w++)
        if (set[w].family != 0 && same(set[w], k)) return time_reached(now_ms, set[w].expire_ms) ? nullptr : &set[w];
    return nullptr;
}

}  // namespace dplb
