// Builds test frames byte by byte (checksums included), so golden cases read as what they send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "net_types.h"

namespace dplb::test {

using Bytes = std::vector<uint8_t>;

MacAddr mac(const char* s);
IpAddr ip(const char* s);

struct L2 {
    MacAddr dst;
    MacAddr src;
    int vlan = -1;  // 802.1Q VLAN id, -1 = untagged
};

// TCP or UDP over IPv4/IPv6 (the family follows the addresses).
Bytes tcp(const L2& l2, const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t flags,
          size_t payload = 0);
Bytes udp(const L2& l2, const char* src, const char* dst, uint16_t sport, uint16_t dport, size_t payload = 0);
// Any IPv4 payload with the given protocol (ICMP, VRRP, ...).
Bytes ipv4(const L2& l2, const char* src, const char* dst, uint8_t proto, const Bytes& payload,
           uint16_t frag_field = 0);
Bytes ipv6(const L2& l2, const char* src, const char* dst, uint8_t next_header, const Bytes& payload);
Bytes arp(const L2& l2, uint16_t op, const MacAddr& sha, const char* spa, const MacAddr& tha, const char* tpa);
// IPv6 neighbour discovery (hop limit 255): type 135 (solicitation) or 136 (advertisement) for
// `target`, `flags` the first byte after the checksum (0x60 = solicited + override), with one
// link-layer address option (type 1 source / 2 target) carrying `option_mac`.
Bytes nd(const L2& l2, const char* src, const char* dst, uint8_t type, const char* target, uint8_t flags,
         uint8_t option_type, const MacAddr& option_mac);

// An ICMP (IPv4) or ICMPv6 error from `src` to `dst` (the family follows the addresses): type, code,
// checksum, the 4 bytes `rest` (the MTU for "fragmentation needed" / "packet too big", else 0),
// then `quoted`: the offending packet from its IP header on (see ip_of).
Bytes icmp_error(const L2& l2, const char* src, const char* dst, uint8_t type, uint8_t code, uint32_t rest,
                 const Bytes& quoted);
// The IP packet inside a frame (from its L3 header on), cut to at most `max` bytes.
Bytes ip_of(const Bytes& frame, size_t max = SIZE_MAX);

// Overwrites `len` bytes at `off` (for malformed cases).
Bytes patch(Bytes b, size_t off, std::initializer_list<uint8_t> bytes);
Bytes truncate(Bytes b, size_t len);
// The IPv4 TTL or IPv6 hop limit set to `ttl`; an IPv4 header checksum computed afresh over the
// header (the data plane updates it incrementally: this is the independent reference).
Bytes with_ttl(Bytes b, uint8_t ttl);
// The IPv4 identification field set to `id`, the header checksum computed afresh.
Bytes with_ip_id(Bytes b, uint16_t id);
// As a frame leaves the director towards a real: TTL / hop limit one below the builder's 64.
inline Bytes hop(Bytes b) { return with_ttl(std::move(b), 63); }
// Offset of the L3 header (after Ethernet and an optional VLAN tag).
size_t l3_offset(const Bytes& b);

}  // namespace dplb::test
