// Small value types shared by the data plane, the control plane and the tests: MAC and IP addresses
// in network byte order, with parsing and printing. No DPDK here.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace dplb {

struct MacAddr {
    std::array<uint8_t, 6> b{};

    bool operator==(const MacAddr& o) const { return b == o.b; }
    bool operator!=(const MacAddr& o) const { return b != o.b; }
    bool is_zero() const { return b == std::array<uint8_t, 6>{}; }
    std::string str() const;
    // "aa:bb:cc:dd:ee:ff" (also '-' separated); nullopt when malformed.
    static std::optional<MacAddr> parse(const std::string& s);
};

// An IPv4 or IPv6 address. IPv4 lives in the first 4 bytes, the rest zero.
struct IpAddr {
    uint8_t family = 0;  // 4 or 6; 0 = unset
    std::array<uint8_t, 16> b{};

    bool is_v4() const { return family == 4; }
    bool is_v6() const { return family == 6; }
    bool operator==(const IpAddr& o) const { return family == o.family && b == o.b; }
    bool operator!=(const IpAddr& o) const { return !(*this == o); }
    bool operator<(const IpAddr& o) const { return family != o.family ? family < o.family : b < o.b; }
    // IPv4 as a big-endian word, as it sits in a packet.
    uint32_t v4_be() const {
        uint32_t v;
        std::memcpy(&v, b.data(), 4);
        return v;
    }
    static IpAddr from_v4_be(uint32_t be) {
        IpAddr a;
        a.family = 4;
        std::memcpy(a.b.data(), &be, 4);
        return a;
    }
    static IpAddr from_v6(const uint8_t* p) {
        IpAddr a;
        a.family = 6;
        std::memcpy(a.b.data(), p, 16);
        return a;
    }
    std::string str() const;
    static std::optional<IpAddr> parse(const std::string& s);
};

enum : uint8_t { kProtoTcp = 6, kProtoUdp = 17 };

const char* proto_name(uint8_t proto);  // "TCP", "UDP", or "IP"
// "10.0.0.1:80" or "[2001:db8::1]:80", as ipvsadm and dplbctl print endpoints.
std::string endpoint(const IpAddr& ip, uint16_t port);

}  // namespace dplb
