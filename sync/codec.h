// IPVS connection synchronisation, protocol version 1, on the wire: the message header and the
// connection records (IPv4 and IPv6) of net/netfilter/ipvs/ip_vs_sync.c (struct ip_vs_sync_mesg,
// ip_vs_sync_v4, ip_vs_sync_v6), all fields in network order. Pure functions over bytes: whether a
// message is meant for us (syncid) and whether its connection belongs to one of our services is the
// receiver's business (sync/receiver.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "net_types.h"

namespace dplb::sync {

constexpr uint16_t kDefaultPort = 8848;  // IP_VS_SYNC_PORT
IpAddr default_group();                  // IP_VS_SYNC_GROUP, 224.0.0.81

constexpr uint8_t kProtoVersion = 1;  // SYNC_PROTO_VER
constexpr size_t kHeaderLen = 8;      // sizeof(struct ip_vs_sync_mesg)
constexpr size_t kConnV4Len = 36;     // sizeof(struct ip_vs_sync_v4)
constexpr size_t kConnV6Len = 72;     // sizeof(struct ip_vs_sync_v6)
constexpr size_t kMaxConnsPerMessage = 255;  // nr_conns is one byte

// type: bit STYPE_F_INET6. ver_size: a 4-bit record version (0) over a 12-bit record length.
constexpr uint8_t kTypeInet6 = 1;
constexpr unsigned kVerShift = 12;
constexpr uint16_t kSizeMask = 0x0fff;

// Optional parameters after a record's fixed part: type, length (never 0), data. A type with
// kOptParam set may be skipped by a receiver that does not know it; one without is mandatory.
constexpr uint8_t kOptSeqData = 1, kOptPeData = 2, kOptPeName = 3;
constexpr uint8_t kOptParam = 1 << (7 - 1);  // IPVS_OPT_F_PARAM

// Connection flags (include/uapi/linux/ip_vs.h, IP_VS_CONN_F_*).
constexpr uint32_t kConnDroute = 0x0003;     // forwarding method: direct routing
constexpr uint32_t kConnNoOutput = 0x0080;   // a DR / tunnel director sees no output packets
constexpr uint32_t kConnInactive = 0x0100;   // not ESTABLISHED (counted in InActConn)
constexpr uint32_t kConnTemplate = 0x1000;   // persistence template, not a connection

// One connection record.
struct SyncConn {
    uint8_t protocol = 0;  // IPPROTO_TCP / UDP
    uint32_t flags = 0;
    uint16_t state = 0;    // IPVS's state number for the protocol (ipvs_state below)
    uint16_t cport = 0, vport = 0, dport = 0;  // host order
    uint32_t fwmark = 0;
    uint32_t timeout_s = 0;  // 0: the receiver's own timeout for the state
    IpAddr caddr, vaddr, daddr;  // one family for all three

    bool operator==(const SyncConn& o) const;
};

struct Message {
    uint8_t syncid = 0;
    std::vector<SyncConn> conns;
};

// Why a datagram, or one record of it, is not taken. The receiver counts each by name.
enum class DecodeError : uint8_t {
    none,
    truncated,         // shorter than the header, or a record runs past the datagram
    bad_size,          // the header's size is not the datagram's length
    not_v1,            // version not 1, or reserved / spare not 0 (a version 0 sender)
    bad_record,        // a record's size below its fixed part, its version not 0, or its type unknown
    bad_option,        // an optional parameter cut short or of length 0
    mixed_family,      // (encode only) addresses of different families
    count
};
const char* decode_error_name(DecodeError e);  // "truncated", ...

struct Decoded {
    DecodeError error = DecodeError::none;
    Message msg;  // meaningful only when ok()
    // Records left out of msg: one with an unknown mandatory parameter (IPVS skips such a record
    // and goes on with the next).
    uint32_t skipped = 0;
    bool ok() const { return error == DecodeError::none; }
};

Decoded decode(const uint8_t* data, size_t len);

// A record's length on the wire (no options are written): kConnV4Len or kConnV6Len.
size_t record_len(const SyncConn& c);
// Messages of at most `max_len` bytes (header included, >= kHeaderLen + kConnV6Len) and at most 255
// records each, holding `conns` in order. A record whose addresses are not of one family is left out.
std::vector<std::vector<uint8_t>> encode(uint8_t syncid, const std::vector<SyncConn>& conns, size_t max_len);

// dplb's entry states (dataplane/tcp_state.h: TcpState, kUdpState) <-> IPVS's state numbers
// (IP_VS_TCP_S_* for TCP, IP_VS_UDP_S_NORMAL for UDP). nullopt: no such state for the protocol
// (persistence templates and unknown protocols are not synchronised).
std::optional<uint16_t> ipvs_state(uint8_t protocol, uint8_t dplb_state);
std::optional<uint8_t> dplb_state(uint8_t protocol, uint16_t ipvs_state);

}  // namespace dplb::sync
