// VRRP advertisements on the wire: VRRPv2 (RFC 3768 §5, IPv4 only, with RFC 2338's simple text
// password as keepalived sends it) and VRRPv3 (RFC 5798 §5, IPv4 and IPv6). Pure functions over
// bytes: the IP header is the kernel's business, except for parse_ipv4(), which reads what a raw
// IPv4 socket hands over. Nothing here judges whether an advert is meant for us (VRID, TTL,
// authentication): that is the state machine's job (state_machine.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net_types.h"

namespace dplb::vrrp {

constexpr uint8_t kIpProtoVrrp = 112;     // RFC 3768 §5.2.4, RFC 5798 §5.1.1.4
constexpr uint8_t kVrrpTtl = 255;         // RFC 3768 §5.2.3, RFC 5798 §5.1.1.3 / §5.1.2.3
constexpr uint8_t kPriorityOwner = 255;   // RFC 3768 §5.3.4: the address owner
constexpr uint8_t kPriorityStop = 0;      // RFC 3768 §5.3.4: the master stops participating
constexpr uint8_t kAdvertType = 1;        // RFC 3768 §5.3.2: the only type
constexpr size_t kAuthDataLen = 8;        // RFC 2338 §5.3.10: eight bytes of password, zero padded
constexpr size_t kHeaderLen = 8;          // the fixed part, v2 and v3 alike
constexpr uint16_t kMaxIntervalV3Cs = 4095;  // RFC 5798 §5.2.7: 12 bits of centiseconds

// The VRRP multicast groups (RFC 3768 §5.2.2, RFC 5798 §5.1.1.2 / §5.1.2.2).
IpAddr group_v4();  // 224.0.0.18
IpAddr group_v6();  // ff02::12

// RFC 2338 §5.3.6. RFC 3768 §5.3.6 keeps the field but drops the types; keepalived still sends 1.
enum class AuthType : uint8_t { none = 0, pass = 1, ah = 2 };

using AuthData = std::array<uint8_t, kAuthDataLen>;

// keepalived's `auth_pass`: the first 8 characters of the password, zero padded.
AuthData auth_pass(const std::string& password);

// One advertisement, as decoded or to encode.
struct Advert {
    uint8_t version = 2;           // 2 or 3
    uint8_t vrid = 0;              // 1..255
    uint8_t priority = 0;
    uint16_t interval_cs = 100;    // v2: whole seconds on the wire (interval_cs / 100); v3: 12 bits
    AuthType auth_type = AuthType::none;  // v2 only (v3 has no such field)
    AuthData auth_data{};                 // v2 only; all zero unless auth_type is pass
    std::vector<IpAddr> addresses;        // all of the packet's family

    bool operator==(const Advert& o) const;
};

// Why a received message is not an advertisement at all. The caller counts these.
enum class DecodeError : uint8_t {
    none,
    truncated,      // shorter than its fixed part, its addresses and (v2) its authentication data
    bad_version,    // neither 2 nor 3, or version 2 over IPv6
    bad_type,       // not an advertisement (RFC 3768 §5.3.2)
    bad_checksum,   // RFC 3768 §7.1 / RFC 5798 §7.1
    bad_interval,   // an interval of 0
};
const char* decode_error_name(DecodeError e);  // "truncated", ...

struct Decoded {
    DecodeError error = DecodeError::none;
    Advert advert;  // meaningful only when ok()
    bool ok() const { return error == DecodeError::none; }
};

// `src` and `dst` are the addresses of the IP packet that carried the message (the VRRPv3 checksum
// covers a pseudo-header of them, RFC 5798 §5.2.8); their family is the family of the addresses.
Decoded decode(const uint8_t* data, size_t len, const IpAddr& src, const IpAddr& dst);

// The VRRP message (the IP payload) with its checksum. v2: the interval is rounded down to whole
// seconds (at least 1) and the checksum covers the message alone (RFC 3768 §5.3.8); v3: the
// interval is capped at 4095 cs and the checksum covers the pseudo-header too (RFC 5798 §5.2.8).
std::vector<uint8_t> encode(const Advert& advert, const IpAddr& src, const IpAddr& dst);

// What a raw IPv4 socket delivers: the header (RFC 791) in front of the payload.
struct Ipv4Packet {
    IpAddr src;
    IpAddr dst;
    uint8_t ttl = 0;
    uint8_t protocol = 0;
    const uint8_t* payload = nullptr;  // points into the buffer given to parse_ipv4
    size_t payload_len = 0;            // from the header's total length, never past the buffer
};
// nullopt when the buffer is shorter than the header says or is not IPv4.
std::optional<Ipv4Packet> parse_ipv4(const uint8_t* data, size_t len);

}  // namespace dplb::vrrp
