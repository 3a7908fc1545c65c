#include "frame_builder.h"

#include <algorithm>
#include <stdexcept>

namespace dplb::test {
namespace {

void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}

void set16(Bytes& b, size_t off, uint16_t v) {
    b[off] = static_cast<uint8_t>(v >> 8);
    b[off + 1] = static_cast<uint8_t>(v);
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += static_cast<uint32_t>(p[n - 1] << 8);
    return acc;
}

uint16_t fold(uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(~acc);
}

Bytes ethernet(const L2& l2, uint16_t type) {
    Bytes b(l2.dst.b.begin(), l2.dst.b.end());
    b.insert(b.end(), l2.src.b.begin(), l2.src.b.end());
    if (l2.vlan >= 0) {
        put16(b, 0x8100);
        put16(b, static_cast<uint16_t>(l2.vlan));
    }
    put16(b, type);
    return b;
}

// L4 header + payload with its checksum over the pseudo-header.
Bytes l4(uint8_t proto, const IpAddr& s, const IpAddr& d, uint16_t sport, uint16_t dport, uint8_t flags,
         size_t payload) {
    Bytes h;
    put16(h, sport);
    put16(h, dport);
    if (proto == kProtoTcp) {
        for (uint8_t x : {0, 0, 0, 1, 0, 0, 0, 0}) h.push_back(x);  // seq 1, ack 0
        h.push_back(5 << 4);
        h.push_back(flags);
        put16(h, 65535);  // window
        put16(h, 0);      // checksum
        put16(h, 0);      // urgent
    } else {
        put16(h, static_cast<uint16_t>(8 + payload));
        put16(h, 0);
    }
    for (size_t i = 0; i < payload; i++) h.push_back(static_cast<uint8_t>('a' + i % 26));
    size_t alen = s.is_v4() ? 4 : 16;
    uint32_t acc = sum16(s.b.data(), alen);
    acc = sum16(d.b.data(), alen, acc);
    acc += proto;
    acc += static_cast<uint32_t>(h.size());
    uint16_t c = fold(sum16(h.data(), h.size(), acc));
    set16(h, proto == kProtoTcp ? 16 : 6, (proto == kProtoUdp && c == 0) ? 0xffff : c);
    return h;
}

Bytes ip_packet(const L2& l2, const IpAddr& s, const IpAddr& d, uint8_t proto, const Bytes& payload,
                uint16_t frag) {
    if (s.family != d.family) throw std::invalid_argument("mixed address families");
    if (s.is_v4()) {
        Bytes b = ethernet(l2, 0x0800);
        size_t o = b.size();
        b.push_back(0x45);
        b.push_back(0);
        put16(b, static_cast<uint16_t>(20 + payload.size()));
        put16(b, 0x1234);  // id
        put16(b, frag);
        b.push_back(64);
        b.push_back(proto);
        put16(b, 0);
        b.insert(b.end(), s.b.begin(), s.b.begin() + 4);
        b.insert(b.end(), d.b.begin(), d.b.begin() + 4);
        set16(b, o + 10, fold(sum16(b.data() + o, 20)));
        b.insert(b.end(), payload.begin(), payload.end());
        return b;
    }
    Bytes b = ethernet(l2, 0x86dd);
    for (uint8_t x : {0x60, 0, 0, 0}) b.push_back(x);
    put16(b, static_cast<uint16_t>(payload.size()));
    b.push_back(proto);
    b.push_back(64);
    b.insert(b.end(), s.b.begin(), s.b.end());
    b.insert(b.end(), d.b.begin(), d.b.end());
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

}  // namespace

MacAddr mac(const char* s) {
    auto m = MacAddr::parse(s);
    if (!m) throw std::invalid_argument(std::string("bad MAC ") + s);
    return *m;
}

IpAddr ip(const char* s) {
    auto a = IpAddr::parse(s);
    if (!a) throw std::invalid_argument(std::string("bad IP ") + s);
    return *a;
}

Bytes tcp(const L2& l2, const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t flags,
          size_t payload) {
    IpAddr s = ip(src), d = ip(dst);
    return ip_packet(l2, s, d, kProtoTcp, l4(kProtoTcp, s, d, sport, dport, flags, payload), 0);
}

Bytes udp(const L2& l2, const char* src, const char* dst, uint16_t sport, uint16_t dport, size_t payload) {
    IpAddr s = ip(src), d = ip(dst);
    return ip_packet(l2, s, d, kProtoUdp, l4(kProtoUdp, s, d, sport, dport, 0, payload), 0);
}

Bytes ipv4(const L2& l2, const char* src, const char* dst, uint8_t proto, const Bytes& payload, uint16_t frag) {
    return ip_packet(l2, ip(src), ip(dst), proto, payload, frag);
}

Bytes ipv6(const L2& l2, const char* src, const char* dst, uint8_t next_header, const Bytes& payload) {
    return ip_packet(l2, ip(src), ip(dst), next_header, payload, 0);
}

Bytes arp(const L2& l2, uint16_t op, const MacAddr& sha, const char* spa, const MacAddr& tha, const char* tpa) {
    Bytes b = ethernet(l2, 0x0806);
    put16(b, 1);
    put16(b, 0x0800);
    b.push_back(6);
    b.push_back(4);
    put16(b, op);
    IpAddr s = ip(spa), t = ip(tpa);
    b.insert(b.end(), sha.b.begin(), sha.b.end());
    b.insert(b.end(), s.b.begin(), s.b.begin() + 4);
    b.insert(b.end(), tha.b.begin(), tha.b.end());
    b.insert(b.end(), t.b.begin(), t.b.begin() + 4);
    while (b.size() < 60) b.push_back(0);  // Ethernet minimum (without FCS)
    return b;
}

Bytes nd(const L2& l2, const char* src, const char* dst, uint8_t type, const char* target, uint8_t flags,
         uint8_t option_type, const MacAddr& option_mac) {
    IpAddr s = ip(src), d = ip(dst), t = ip(target);
    Bytes m{type, 0, 0, 0, flags, 0, 0, 0};
    m.insert(m.end(), t.b.begin(), t.b.end());
    m.push_back(option_type);
    m.push_back(1);
    m.insert(m.end(), option_mac.b.begin(), option_mac.b.end());
    uint32_t acc = sum16(s.b.data(), 16);
    acc = sum16(d.b.data(), 16, acc);
    acc += static_cast<uint32_t>(m.size()) + 58;
    set16(m, 2, fold(sum16(m.data(), m.size(), acc)));
    Bytes b = ip_packet(l2, s, d, 58, m, 0);
    b[l3_offset(b) + 7] = 255;  // hop limit: RFC 4861 drops anything else
    return b;
}

Bytes icmp_error(const L2& l2, const char* src, const char* dst, uint8_t type, uint8_t code, uint32_t rest,
                 const Bytes& quoted) {
    IpAddr s = ip(src), d = ip(dst);
    Bytes m{type, code, 0, 0};
    put16(m, static_cast<uint16_t>(rest >> 16));
    put16(m, static_cast<uint16_t>(rest));
    m.insert(m.end(), quoted.begin(), quoted.end());
    uint32_t acc = 0;
    if (s.is_v6()) {  // RFC 4443 §2.3: a pseudo-header of addresses, length and next header 58
        acc = sum16(s.b.data(), 16);
        acc = sum16(d.b.data(), 16, acc);
        acc += static_cast<uint32_t>(m.size()) + 58;
    }
    set16(m, 2, fold(sum16(m.data(), m.size(), acc)));
    return ip_packet(l2, s, d, s.is_v6() ? 58 : 1, m, 0);
}

Bytes ip_of(const Bytes& frame, size_t max) {
    size_t o = l3_offset(frame);
    size_t n = std::min(frame.size() - o, max);
    return Bytes(frame.begin() + static_cast<long>(o), frame.begin() + static_cast<long>(o + n));
}

Bytes patch(Bytes b, size_t off, std::initializer_list<uint8_t> bytes) {
    for (uint8_t x : bytes) b.at(off++) = x;
    return b;
}

Bytes truncate(Bytes b, size_t len) {
    b.resize(len);
    return b;
}

namespace {

void ipv4_checksum_afresh(Bytes& b, size_t o) {
    size_t ihl = (b.at(o) & 0xf) * 4u;
    b.at(o + 10) = b.at(o + 11) = 0;
    if (b.size() < o + ihl) throw std::invalid_argument("IPv4 header cut short");
    set16(b, o + 10, fold(sum16(b.data() + o, ihl)));
}

}  // namespace

Bytes with_ttl(Bytes b, uint8_t ttl) {
    size_t o = l3_offset(b);
    if (b.at(o) >> 4 == 4) {
        b.at(o + 8) = ttl;
        ipv4_checksum_afresh(b, o);
    } else {
        b.at(o + 7) = ttl;
    }
    return b;
}

Bytes with_ip_id(Bytes b, uint16_t id) {
    size_t o = l3_offset(b);
    set16(b, o + 4, id);
    ipv4_checksum_afresh(b, o);
    return b;
}

size_t l3_offset(const Bytes& b) { return (b.size() >= 14 && b[12] == 0x81 && b[13] == 0x00) ? 18 : 14; }

}  // namespace dplb::test
