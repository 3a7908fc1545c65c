#include "parse.h"

namespace dplb {
namespace {

constexpr uint16_t kEthHdr = 14;
constexpr uint16_t kEtherIpv4 = 0x0800, kEtherArp = 0x0806, kEtherVlan = 0x8100, kEtherIpv6 = 0x86dd;
constexpr unsigned kMaxIpv6ExtHeaders = 8;

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

inline Parsed dropped(Parsed p, Drop why) {
    p.kind = Kind::drop;
    p.drop = why;
    return p;
}

// TCP/UDP header at `off`, whose IP payload ends at `l4_end` (from the IP length field).
Parsed parse_l4(Parsed p, const uint8_t* f, uint32_t off, uint32_t l4_end) {
    p.l4_off = static_cast<uint16_t>(off);
    uint32_t avail = l4_end - off;
    if (p.proto == kProtoTcp) {
        if (avail < 20) return dropped(p, Drop::tcp_truncated);
        const uint8_t* t = f + off;
        uint32_t doff = (t[12] >> 4) * 4u;
        if (doff < 20 || doff > avail) return dropped(p, Drop::tcp_bad_doff);
        p.sport = rd16(t);
        p.dport = rd16(t + 2);
        p.tcp_flags = t[13];
    } else {
        if (avail < 8) return dropped(p, Drop::udp_truncated);
        const uint8_t* u = f + off;
        uint32_t ulen = rd16(u + 4);
        if (ulen < 8 || ulen > avail) return dropped(p, Drop::udp_bad_length);
        p.sport = rd16(u);
        p.dport = rd16(u + 2);
    }
    p.kind = Kind::l4;
    return p;
}

Parsed parse_ipv4(Parsed p, const uint8_t* f, uint32_t off, uint32_t len) {
    p.family = 4;
    if (len - off < 20) return dropped(p, Drop::ipv4_truncated);
    const uint8_t* h = f + off;
    if ((h[0] >> 4) != 4) return dropped(p, Drop::ipv4_bad_version);
    uint32_t ihl = (h[0] & 0xf) * 4u;
    if (ihl < 20 || ihl > len - off) return dropped(p, Drop::ipv4_bad_ihl);
    uint32_t total = rd16(h + 2);
    if (total < ihl || total > len - off) return dropped(p, Drop::ipv4_bad_total_length);
    p.proto = h[9];
    __builtin_memcpy(&p.src4_be, h + 12, 4);
    __builtin_memcpy(&p.dst4_be, h + 16, 4);
    uint16_t frag = rd16(h + 6);
    if (frag & 0x3fff) {  // MF set or a non-zero offset
        p.kind = Kind::fragment;
        return p;
    }
    if (p.proto != kProtoTcp && p.proto != kProtoUdp) return p;  // Kind::other
    return parse_l4(p, f, off + ihl, off + total);
}

Parsed parse_ipv6(Parsed p, const uint8_t* f, uint32_t off, uint32_t len) {
    p.family = 6;
    if (len - off < 40) return dropped(p, Drop::ipv6_truncated);
    const uint8_t* h = f + off;
    if ((h[0] >> 4) != 6) return dropped(p, Drop::ipv6_bad_version);
    uint32_t payload = rd16(h + 4);
    if (payload > len - off - 40) return dropped(p, Drop::ipv6_bad_payload_length);
    p.src6 = h + 8;
    p.dst6 = h + 24;
    uint32_t end = off + 40 + payload;
    uint32_t cur = off + 40;
    uint8_t next = h[6];
    for (unsigned i = 0;; i++) {
        if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
            if (i == kMaxIpv6ExtHeaders || end - cur < 8) return dropped(p, Drop::ipv6_bad_ext_header);
            uint32_t hlen = (f[cur + 1] + 1u) * 8u;
            if (hlen > end - cur) return dropped(p, Drop::ipv6_bad_ext_header);
            next = f[cur];
            cur += hlen;
            continue;
        }
        if (next == 44) {  // fragment header
            if (end - cur < 8) return dropped(p, Drop::ipv6_bad_ext_header);
            p.proto = f[cur];
            p.kind = Kind::fragment;
            return p;
        }
        break;
    }
    p.proto = next;
    // A neighbour solicitation: ICMPv6 type 135, code 0, hop limit 255 (RFC 4861 §7.1.1), 24 bytes at least.
    if (p.proto == 58 && cur == off + 40 && end - cur >= 24 && f[cur] == 135 && f[cur + 1] == 0 && h[7] == 255) {
        p.kind = Kind::nd_solicit;
        p.l4_off = static_cast<uint16_t>(cur);
        p.nd_target = f + cur + 8;
        return p;
    }
    if (p.proto != kProtoTcp && p.proto != kProtoUdp) return p;  // Kind::other (ICMPv6, ND, ...)
    return parse_l4(p, f, cur, end);
}

}  // namespace

Parsed parse_frame(const uint8_t* f, uint32_t len) {
    Parsed p{};
    p.kind = Kind::other;
    p.drop = Drop::count;
    if (len < kEthHdr) return dropped(p, Drop::eth_truncated);
    p.dst_mac_broadcast_or_multicast = (f[0] & 1) != 0;
    uint32_t off = 12;
    uint16_t type = rd16(f + off);
    if (type == kEtherVlan) {
        if (len < kEthHdr + 4) return dropped(p, Drop::vlan_truncated);
        off += 4;
        type = rd16(f + off);
    }
    off += 2;
    p.l3_off = static_cast<uint16_t>(off);
    switch (type) {
    case kEtherIpv4: return parse_ipv4(p, f, off, len);
    case kEtherIpv6: return parse_ipv6(p, f, off, len);
    case kEtherArp: {
        if (len - off < 28) return dropped(p, Drop::arp_truncated);
        const uint8_t* a = f + off;
        if (rd16(a) != 1 || rd16(a + 2) != kEtherIpv4 || a[4] != 6 || a[5] != 4)
            return dropped(p, Drop::arp_malformed);
        if (rd16(a + 6) == 1) {
            p.kind = Kind::arp_request;
            __builtin_memcpy(&p.arp_target_be, a + 24, 4);
        }
        return p;
    }
    default: return p;  // other ethertypes (QinQ, LLDP, ...) belong to the kernel
    }
}

}  // namespace dplb
