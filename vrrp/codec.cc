// Wire layout (both versions share the first 8 bytes but for byte 4-5):
//
//   0        1        2          3          4          5          6-7
//   ver|type  VRID     Priority   Count IPs  AuthType   AdverInt   Checksum    (v2, RFC 3768 §5.1)
//   ver|type  VRID     Priority   Count IPs  rsvd(4)|MaxAdverInt(12) Checksum  (v3, RFC 5798 §5.1)
//   then Count addresses (4 bytes each, or 16 for IPv6), then for v2 8 bytes of authentication data.
#include "vrrp/codec.h"

#include <algorithm>

#include "vrrp/checksum.h"

namespace dplb::vrrp {

namespace {

size_t addr_len(uint8_t family) { return family == 6 ? 16 : 4; }

IpAddr addr_at(uint8_t family, const uint8_t* p) {
    if (family == 6) return IpAddr::from_v6(p);
    IpAddr a;
    a.family = 4;
    std::copy_n(p, 4, a.b.begin());
    return a;
}

// RFC 5798 §5.2.8: the pseudo-header of RFC 768 (IPv4) or RFC 8200 §8.1 (IPv6), added to the sum.
uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, size_t len) {
    uint32_t sum = 0;
    size_t n = addr_len(src.family);
    sum = checksum_add(sum, src.b.data(), n);
    sum = checksum_add(sum, dst.b.data(), n);
    if (src.family == 6) {
        uint8_t tail[8] = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                           static_cast<uint8_t>(len >> 8),  static_cast<uint8_t>(len),
                           0, 0, 0, kIpProtoVrrp};
        return checksum_add(sum, tail, sizeof tail);
    }
    uint8_t tail[4] = {0, kIpProtoVrrp, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    return checksum_add(sum, tail, sizeof tail);
}

uint16_t message_checksum(uint8_t version, const uint8_t* msg, size_t len, const IpAddr& src, const IpAddr& dst) {
    uint32_t sum = version == 3 ? pseudo_header_sum(src, dst, len) : 0;
    return checksum_finish(checksum_add(sum, msg, len));
}

}  // namespace

IpAddr group_v4() { return *IpAddr::parse("224.0.0.18"); }
IpAddr group_v6() { return *IpAddr::parse("ff02::12"); }

AuthData auth_pass(const std::string& password) {
    AuthData d{};
    std::copy_n(password.begin(), std::min(password.size(), d.size()), d.begin());
    return d;
}

bool Advert::operator==(const Advert& o) const {
    return version == o.version && vrid == o.vrid && priority == o.priority && interval_cs == o.interval_cs &&
           auth_type == o.auth_type && auth_data == o.auth_data && addresses == o.addresses;
}

const char* decode_error_name(DecodeError e) {
    switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::truncated: return "truncated";
    case DecodeError::bad_version: return "bad_version";
    case DecodeError::bad_type: return "bad_type";
    case DecodeError::bad_checksum: return "bad_checksum";
    case DecodeError::bad_interval: return "bad_interval";
    }
    return "?";
}

Decoded decode(const uint8_t* data, size_t len, const IpAddr& src, const IpAddr& dst) {
    Decoded out;
    if (len < kHeaderLen) {
        out.error = DecodeError::truncated;
        return out;
    }
    Advert& a = out.advert;
    a.version = data[0] >> 4;
    // RFC 3768 §7.1 and RFC 5798 §7.1: version, then length, then checksum, then the rest.
    if ((a.version != 2 && a.version != 3) || (a.version == 2 && src.family == 6)) {
        out.error = DecodeError::bad_version;
        return out;
    }
    const size_t alen = addr_len(src.family);
    const size_t count = data[3];
    const size_t need = kHeaderLen + count * alen + (a.version == 2 ? kAuthDataLen : 0);
    if (len < need) {
        out.error = DecodeError::truncated;
        return out;
    }
    // The checksum covers the whole message as the IP header delimits it.
    uint16_t want = message_checksum(a.version, data, len, src, dst);
    if (want != 0) {  // summing a correct message, checksum included, gives 0 after the complement
        out.error = DecodeError::bad_checksum;
        return out;
    }
    if ((data[0] & 0x0f) != kAdvertType) {
        out.error = DecodeError::bad_type;
        return out;
    }
    a.vrid = data[1];
    a.priority = data[2];
    if (a.version == 2) {
        a.auth_type = static_cast<AuthType>(data[4]);
        a.interval_cs = static_cast<uint16_t>(data[5] * 100);
    } else {
        a.interval_cs = static_cast<uint16_t>((data[4] & 0x0f) << 8 | data[5]);
    }
    if (a.interval_cs == 0) {
        out.error = DecodeError::bad_interval;
        return out;
    }
    const uint8_t* p = data + kHeaderLen;
    a.addresses.reserve(count);
    for (size_t i = 0; i < count; ++i, p += alen) a.addresses.push_back(addr_at(src.family, p));
    if (a.version == 2) std::copy_n(p, kAuthDataLen, a.auth_data.begin());
    return out;
}

std::vector<uint8_t> encode(const Advert& a, const IpAddr& src, const IpAddr& dst) {
    const size_t alen = addr_len(src.family);
    const size_t count = std::min<size_t>(a.addresses.size(), 255);
    std::vector<uint8_t> m(kHeaderLen + count * alen + (a.version == 2 ? kAuthDataLen : 0), 0);
    m[0] = static_cast<uint8_t>(a.version << 4 | kAdvertType);
    m[1] = a.vrid;
    m[2] = a.priority;
    m[3] = static_cast<uint8_t>(count);
    if (a.version == 2) {
        m[4] = static_cast<uint8_t>(a.auth_type);
        m[5] = static_cast<uint8_t>(std::clamp(a.interval_cs / 100, 1, 255));
    } else {
        uint16_t cs = std::min(a.interval_cs, kMaxIntervalV3Cs);
        m[4] = static_cast<uint8_t>(cs >> 8);
        m[5] = static_cast<uint8_t>(cs);
    }
    uint8_t* p = m.data() + kHeaderLen;
    for (size_t i = 0; i < count; ++i, p += alen) std::copy_n(a.addresses[i].b.begin(), alen, p);
    if (a.version == 2 && a.auth_type == AuthType::pass) std::copy(a.auth_data.begin(), a.auth_data.end(), p);
    uint16_t sum = message_checksum(a.version, m.data(), m.size(), src, dst);
    m[6] = static_cast<uint8_t>(sum >> 8);
    m[7] = static_cast<uint8_t>(sum);
    return m;
}

std::optional<Ipv4Packet> parse_ipv4(const uint8_t* data, size_t len) {
    if (len < 20 || (data[0] >> 4) != 4) return std::nullopt;
    size_t ihl = static_cast<size_t>(data[0] & 0x0f) * 4;
    size_t total = static_cast<size_t>(data[2] << 8 | data[3]);
    if (ihl < 20 || total < ihl || total > len) return std::nullopt;
    Ipv4Packet pkt;
    pkt.ttl = data[8];
    pkt.protocol = data[9];
    pkt.src = addr_at(4, data + 12);
    pkt.dst = addr_at(4, data + 16);
    pkt.payload = data + ihl;
    pkt.payload_len = total - ihl;
    return pkt;
}

}  // namespace dplb::vrrp
