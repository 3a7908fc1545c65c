#include "parse.h"

namespace dplb {
namespace {

constexpr uint16_t kEthHdr = kEthHeaderLen;
constexpr uint16_t kEtherArp = 0x0806, kEtherIpv6 = 0x86dd;
constexpr unsigned kMaxIpv6ExtHeaders = 8;
constexpr uint8_t kProtoIcmp = 1, kProtoIcmp6 = 58;

inline Parsed dropped(Parsed p, Drop why) {
    p.kind = Kind::drop;
    p.drop = why;
    return p;
}

// Where bytes may be read: `seg` contiguous bytes at the frame's start (the first mbuf segment), of a
// frame `wire` bytes long. Length fields are checked against the frame, reads against the segment.
struct Span {
    const uint8_t* f;
    uint32_t seg, wire;
};

// Whether `n` bytes at `off` can be read: Drop::count if so, `truncated` when the frame itself is
// shorter, headers_split when only the first segment is.
inline Drop need(const Span& s, uint32_t off, uint32_t n, Drop truncated) {
    if (off > s.wire || s.wire - off < n) return truncated;
    if (off > s.seg || s.seg - off < n) return Drop::headers_split;
    return Drop::count;
}

// TCP/UDP header at `off`, whose IP payload ends at `l4_end` (from the IP length field).
Parsed parse_l4(Parsed p, const Span& s, uint32_t off, uint32_t l4_end) {
    p.l4_off = static_cast<uint16_t>(off);
    uint32_t avail = l4_end - off;
    if (p.proto == kProtoTcp) {
        if (avail < 20) return dropped(p, Drop::tcp_truncated);
        if (Drop d = need(s, off, 20, Drop::tcp_truncated); d != Drop::count) return dropped(p, d);
        const uint8_t* t = s.f + off;
        uint32_t doff = (t[12] >> 4) * 4u;
        if (doff < 20 || doff > avail) return dropped(p, Drop::tcp_bad_doff);
        p.sport = get_be16(t);
        p.dport = get_be16(t + 2);
        p.tcp_flags = t[13];
    } else {
        if (avail < 8) return dropped(p, Drop::udp_truncated);
        if (Drop d = need(s, off, 8, Drop::udp_truncated); d != Drop::count) return dropped(p, d);
        const uint8_t* u = s.f + off;
        uint32_t ulen = get_be16(u + 4);
        // A first fragment holds only the start of the datagram its length counts.
        if (ulen < 8 || (ulen > avail && p.frag == kFragNone)) return dropped(p, Drop::udp_bad_length);
        p.sport = get_be16(u);
        p.dport = get_be16(u + 2);
    }
    p.kind = Kind::l4;
    return p;
}

// An ICMP error whose message starts at `off` and ends at `end`, about a TCP/UDP packet sent by the
// address the error came to (`dst`, in the outer header). RFC 792 / RFC 4443 §2.4(c): the message
// quotes the offending packet's IP header and at least the 8 bytes after it, which hold the ports.
// Needs all of that in the first segment; anything else stays Kind::other (the kernel's, as before).
Parsed parse_icmp_error(Parsed p, const Span& s, uint32_t off, uint32_t end) {
    const uint32_t lim = end < s.seg ? end : s.seg;  // readable and inside the outer packet
    const uint8_t* f = s.f;
    const uint32_t in = off + 8;  // the quoted IP header
    uint32_t l4;
    uint8_t proto;
    if (p.family == 4) {
        if (lim < in + 20 || (f[off] != 3 && f[off] != 11)) return p;
        if ((f[in] >> 4) != 4) return p;
        uint32_t ihl = (f[in] & 0xf) * 4u;
        l4 = in + ihl;
        if (ihl < 20 || lim < l4 + 8) return p;
        if (get_be16(f + in + 6) & 0x1fff) return p;  // a later fragment: no ports
        if (__builtin_memcmp(f + in + 12, &p.dst4_be, 4) != 0) return p;
        proto = f[in + 9];
        __builtin_memcpy(&p.src4_be, f + in + 16, 4);
    } else {
        if (lim < in + 40 || f[off] < 1 || f[off] > 3) return p;
        if ((f[in] >> 4) != 6 || __builtin_memcmp(f + in + 8, p.dst6, 16) != 0) return p;
        proto = f[in + 6];
        l4 = in + 40;
        for (unsigned i = 0; proto == 0 || proto == 43 || proto == 60; i++) {  // as parse_ipv6
            if (i == kMaxIpv6ExtHeaders || lim < l4 + 8) return p;
            proto = f[l4];
            l4 += (f[l4 + 1] + 1u) * 8u;
        }
        if (lim < l4 + 8) return p;
        p.src6 = f + in + 24;
    }
    if (proto != kProtoTcp && proto != kProtoUdp) return p;  // a fragment header (44) included
    p.proto = proto;
    p.sport = get_be16(f + l4 + 2);
    p.dport = get_be16(f + l4);
    p.l4_off = static_cast<uint16_t>(off);
    p.kind = Kind::icmp_error;
    return p;
}

Parsed parse_ipv4(Parsed p, const Span& s, uint32_t off) {
    p.family = 4;
    if (Drop d = need(s, off, 20, Drop::ipv4_truncated); d != Drop::count) return dropped(p, d);
    const uint8_t* h = s.f + off;
    if ((h[0] >> 4) != 4) return dropped(p, Drop::ipv4_bad_version);
    uint32_t ihl = (h[0] & 0xf) * 4u;
    if (ihl < 20) return dropped(p, Drop::ipv4_bad_ihl);
    if (Drop d = need(s, off, ihl, Drop::ipv4_bad_ihl); d != Drop::count) return dropped(p, d);
    uint32_t total = get_be16(h + 2);
    if (total < ihl || total > s.wire - off) return dropped(p, Drop::ipv4_bad_total_length);
    p.proto = h[9];
    __builtin_memcpy(&p.src4_be, h + 12, 4);
    __builtin_memcpy(&p.dst4_be, h + 16, 4);
    uint16_t frag = get_be16(h + 6);
    bool l4 = p.proto == kProtoTcp || p.proto == kProtoUdp;
    if (frag & 0x3fff) {  // MF set or a non-zero offset
        if (!l4) return p;  // Kind::other
        p.frag_id = get_be16(h + 4);
        if (frag & 0x1fff) {
            p.frag = kFragLater;
            p.kind = Kind::fragment;
            return p;
        }
        p.frag = kFragFirst;
    }
    if (l4) return parse_l4(p, s, off + ihl, off + total);
    if (p.proto == kProtoIcmp && total - ihl >= 8) return parse_icmp_error(p, s, off + ihl, off + total);
    return p;  // Kind::other
}

Parsed parse_ipv6(Parsed p, const Span& s, uint32_t off) {
    p.family = 6;
    if (Drop d = need(s, off, 40, Drop::ipv6_truncated); d != Drop::count) return dropped(p, d);
    const uint8_t* f = s.f;
    const uint8_t* h = f + off;
    if ((h[0] >> 4) != 6) return dropped(p, Drop::ipv6_bad_version);
    uint32_t payload = get_be16(h + 4);
    if (payload > s.wire - off - 40) return dropped(p, Drop::ipv6_bad_payload_length);
    p.src6 = h + 8;
    p.dst6 = h + 24;
    uint32_t end = off + 40 + payload;
    uint32_t cur = off + 40;
    uint8_t next = h[6];
    bool seen_fragment_header = false;
    for (unsigned i = 0;; i++) {
        if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
            if (i == kMaxIpv6ExtHeaders || end - cur < 8) return dropped(p, Drop::ipv6_bad_ext_header);
            if (s.seg < cur + 8) return dropped(p, Drop::headers_split);
            uint32_t hlen = (f[cur + 1] + 1u) * 8u;
            if (hlen > end - cur) return dropped(p, Drop::ipv6_bad_ext_header);
            next = f[cur];
            cur += hlen;
            continue;
        }
        if (next == 44) {  // fragment header (RFC 8200 §4.5); a second one is malformed
            if (end - cur < 8 || seen_fragment_header) return dropped(p, Drop::ipv6_bad_ext_header);
            if (s.seg < cur + 8) return dropped(p, Drop::headers_split);
            next = f[cur];
            uint16_t offset_m = get_be16(f + cur + 2);
            p.frag_id = static_cast<uint32_t>(get_be16(f + cur + 4)) << 16 | get_be16(f + cur + 6);
            seen_fragment_header = true;
            cur += 8;
            if (offset_m & 0xfff8) {  // a later fragment: what follows is the datagram's middle
                // Its header names the first header of the fragmentable part, which may be an
                // extension header (destination options) before TCP/UDP: any protocol here.
                p.proto = next;
                p.frag = kFragLater;
                p.kind = Kind::fragment;
                return p;
            }
            if (offset_m & 1) p.frag = kFragFirst;  // else an atomic fragment: a whole packet
            continue;
        }
        break;
    }
    p.proto = next;
    if (p.frag == kFragFirst && p.proto != kProtoTcp && p.proto != kProtoUdp) return p;  // Kind::other
    // A neighbour solicitation: ICMPv6 type 135, code 0, hop limit 255 (RFC 4861 §7.1.1), 24 bytes at
    // least; the message (up to the 32 bytes Processor::answer_nd rewrites) in the first segment.
    if (p.proto == 58 && cur == off + 40 && end - cur >= 24 && s.seg >= cur + 2 && f[cur] == 135 &&
        f[cur + 1] == 0 && h[7] == 255) {
        if (s.seg - cur < (end - cur < 32 ? end - cur : 32)) return dropped(p, Drop::headers_split);
        p.kind = Kind::nd_solicit;
        p.l4_off = static_cast<uint16_t>(cur);
        p.nd_target = f + cur + 8;
        return p;
    }
    if (p.proto == kProtoTcp || p.proto == kProtoUdp) return parse_l4(p, s, cur, end);
    if (p.proto == kProtoIcmp6 && end - cur >= 8) return parse_icmp_error(p, s, cur, end);
    return p;  // Kind::other (other ICMPv6, ND, ...)
}

}  // namespace

Parsed parse_frame(const uint8_t* f, uint32_t seg_len, uint32_t wire_len) {
    Parsed p{};
    if (parse_common(p, f, seg_len, wire_len)) return p;
    return parse_frame_general(f, seg_len, wire_len);
}

Parsed parse_frame_general(const uint8_t* f, uint32_t seg_len, uint32_t wire_len) {
    Parsed p{};
    p.kind = Kind::other;
    p.drop = Drop::count;
    const Span s{f, seg_len < wire_len ? seg_len : wire_len, wire_len};
    if (Drop d = need(s, 0, kEthHdr, Drop::eth_truncated); d != Drop::count) return dropped(p, d);
    p.dst_mac_broadcast_or_multicast = (f[0] & 1) != 0;
    uint32_t off = 12;
    uint16_t type = get_be16(f + off);
    if (type == kEtherVlan) {
        if (Drop d = need(s, 0, kEthHdr + kVlanTagLen, Drop::vlan_truncated); d != Drop::count) return dropped(p, d);
        off += kVlanTagLen;
        type = get_be16(f + off);
    }
    off += 2;
    p.l3_off = static_cast<uint16_t>(off);
    switch (type) {
    case kEtherIpv4: return parse_ipv4(p, s, off);
    case kEtherIpv6: return parse_ipv6(p, s, off);
    case kEtherArp: {
        if (Drop d = need(s, off, 28, Drop::arp_truncated); d != Drop::count) return dropped(p, d);
        const uint8_t* a = f + off;
        if (get_be16(a) != 1 || get_be16(a + 2) != kEtherIpv4 || a[4] != 6 || a[5] != 4)
            return dropped(p, Drop::arp_malformed);
        if (get_be16(a + 6) == 1) {
            p.kind = Kind::arp_request;
            __builtin_memcpy(&p.arp_target_be, a + 24, 4);
        }
        return p;
    }
    default: return p;  // other ethertypes (QinQ, LLDP, ...) belong to the kernel
    }
}

}  // namespace dplb
