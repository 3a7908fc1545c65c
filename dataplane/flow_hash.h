// Deterministic flow hashes for the hashing schedulers (sh, mh). No random seed: two directors
// with the same configuration send the same flow to the same real, which is what lets flows survive
// a failover under mh.
#pragma once

#include <cstdint>
#include <cstring>

namespace dplb {

inline uint64_t mix64(uint64_t x) {  // splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

inline uint64_t hash_bytes(const uint8_t* p, unsigned n, uint64_t seed) {
    uint64_t h = mix64(seed ^ n);
    while (n >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        h = mix64(h ^ w);
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    return mix64(h ^ w ^ (uint64_t{n} << 56));
}

// Addresses as they sit in the packet (network order); ports in host order.
inline uint64_t flow_hash4(uint32_t src_be, uint32_t dst_be, uint16_t sport, uint16_t dport, uint8_t proto) {
    uint64_t a = (uint64_t{src_be} << 32) | dst_be;
    uint64_t b = (uint64_t{sport} << 32) | (uint64_t{dport} << 8) | proto;
    return mix64(mix64(a) ^ b);
}

inline uint64_t flow_hash6(const uint8_t* src, const uint8_t* dst, uint16_t sport, uint16_t dport, uint8_t proto) {
    uint8_t buf[37];
    std::memcpy(buf, src, 16);
    std::memcpy(buf + 16, dst, 16);
    buf[32] = static_cast<uint8_t>(sport >> 8);
    buf[33] = static_cast<uint8_t>(sport);
    buf[34] = static_cast<uint8_t>(dport >> 8);
    buf[35] = static_cast<uint8_t>(dport);
    buf[36] = proto;
    return hash_bytes(buf, sizeof buf, 0x6d68);
}

// Source address only (sh, persistence).
inline uint64_t src_hash4(uint32_t src_be) { return mix64(uint64_t{src_be} ^ 0x5348000000000000ULL); }
inline uint64_t src_hash6(const uint8_t* src) { return hash_bytes(src, 16, 0x5348); }

// Source address and port (sh-port, mh-port: IPVS's IP_VS_SVC_F_SCHED_SH_PORT / _MH_PORT).
inline uint64_t src_port_hash4(uint32_t src_be, uint16_t sport) { return mix64(src_hash4(src_be) ^ sport); }
inline uint64_t src_port_hash6(const uint8_t* src, uint16_t sport) { return mix64(src_hash6(src) ^ sport); }

}  // namespace dplb
