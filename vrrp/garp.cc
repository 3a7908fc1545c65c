#include "vrrp/garp.h"

#include <algorithm>

#include "vrrp/checksum.h"

namespace dplb::vrrp {

namespace {

constexpr uint8_t kIcmp6NeighborAdvert = 136;  // RFC 4861 §4.4
constexpr uint8_t kNaOverride = 0x20;          // RFC 4861 §4.4: R=0x80, S=0x40, O=0x20
constexpr uint8_t kOptTargetLinkAddr = 2;      // RFC 4861 §4.6.1
constexpr uint8_t kIpProtoIcmp6 = 58;

void put16(std::vector<uint8_t>& f, uint16_t v) {
    f.push_back(static_cast<uint8_t>(v >> 8));
    f.push_back(static_cast<uint8_t>(v));
}

void put(std::vector<uint8_t>& f, const uint8_t* p, size_t n) { f.insert(f.end(), p, p + n); }

void ethernet(std::vector<uint8_t>& f, const MacAddr& dst, const MacAddr& src, uint16_t ethertype) {
    put(f, dst.b.data(), 6);
    put(f, src.b.data(), 6);
    put16(f, ethertype);
}

}  // namespace

std::vector<uint8_t> gratuitous_arp(const MacAddr& mac, const IpAddr& vip) {
    const MacAddr bcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    std::vector<uint8_t> f;
    f.reserve(42);
    ethernet(f, bcast, mac, 0x0806);
    put16(f, 1);       // hardware: Ethernet (RFC 826)
    put16(f, 0x0800);  // protocol: IPv4
    f.push_back(6);
    f.push_back(4);
    put16(f, 1);  // request
    put(f, mac.b.data(), 6);
    put(f, vip.b.data(), 4);
    put(f, bcast.b.data(), 6);
    put(f, vip.b.data(), 4);
    return f;
}

std::vector<uint8_t> unsolicited_na(const MacAddr& mac, const IpAddr& vip) {
    const MacAddr all_nodes_mac{{0x33, 0x33, 0, 0, 0, 1}};
    const IpAddr all_nodes = *IpAddr::parse("ff02::1");
    constexpr uint16_t kIcmpLen = 32;  // 4 header + 4 flags + 16 target + 8 option
    std::vector<uint8_t> f;
    f.reserve(86);
    ethernet(f, all_nodes_mac, mac, 0x86dd);
    // IPv6 header (RFC 8200 §3): version 6, traffic class 0, flow label 0.
    put16(f, 0x6000);
    put16(f, 0);
    put16(f, kIcmpLen);
    f.push_back(kIpProtoIcmp6);
    f.push_back(255);  // RFC 4861 §7.1.2: hop limit 255
    put(f, vip.b.data(), 16);
    put(f, all_nodes.b.data(), 16);
    const size_t icmp = f.size();
    f.push_back(kIcmp6NeighborAdvert);
    f.push_back(0);  // code
    put16(f, 0);     // checksum, below
    f.push_back(kNaOverride);
    f.insert(f.end(), 3, 0);
    put(f, vip.b.data(), 16);
    f.push_back(kOptTargetLinkAddr);
    f.push_back(1);  // length in units of 8 bytes
    put(f, mac.b.data(), 6);
    // Checksum over the pseudo-header (RFC 8200 §8.1) and the ICMPv6 message (RFC 4443 §2.3).
    uint8_t tail[8] = {0, 0, 0, kIcmpLen, 0, 0, 0, kIpProtoIcmp6};
    uint32_t sum = checksum_add(0, vip.b.data(), 16);
    sum = checksum_add(sum, all_nodes.b.data(), 16);
    sum = checksum_add(sum, tail, sizeof tail);
    uint16_t c = checksum_finish(checksum_add(sum, f.data() + icmp, kIcmpLen));
    f[icmp + 2] = static_cast<uint8_t>(c >> 8);
    f[icmp + 3] = static_cast<uint8_t>(c);
    return f;
}

std::vector<uint8_t> announcement(const MacAddr& mac, const IpAddr& vip) {
    return vip.is_v6() ? unsolicited_na(mac, vip) : gratuitous_arp(mac, vip);
}

}  // namespace dplb::vrrp
