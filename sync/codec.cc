#include "sync/codec.h"

#include <array>
#include <cstring>

#include "byte_order.h"
#include "tcp_state.h"

namespace dplb::sync {
namespace {

IpAddr get_addr(const uint8_t* p, bool v6) {
    if (v6) return IpAddr::from_v6(p);
    uint32_t be;
    std::memcpy(&be, p, 4);
    return IpAddr::from_v4_be(be);
}

// ip_vs_proc_sync_conn: the record's optional parameters, from `p` to `end`. Known ones (sequence
// data, persistence-engine data and name) carry nothing a Direct Routing director uses and are
// passed over like unknown ones marked kOptParam; an unknown mandatory one drops the record.
enum class Options { ok, bad, mandatory };
Options walk_options(const uint8_t* p, const uint8_t* end) {
    while (p < end) {
        if (end - p < 2) return Options::bad;
        uint8_t type = p[0], len = p[1];
        p += 2;
        if (len == 0 || end - p < len) return Options::bad;
        uint8_t base = static_cast<uint8_t>(type & ~kOptParam);
        if (base != kOptSeqData && base != kOptPeData && base != kOptPeName && !(type & kOptParam))
            return Options::mandatory;
        p += len;
    }
    return Options::ok;
}

}  // namespace

IpAddr default_group() { return *IpAddr::parse("224.0.0.81"); }

bool SyncConn::operator==(const SyncConn& o) const {
    return protocol == o.protocol && flags == o.flags && state == o.state && cport == o.cport &&
           vport == o.vport && dport == o.dport && fwmark == o.fwmark && timeout_s == o.timeout_s &&
           caddr == o.caddr && vaddr == o.vaddr && daddr == o.daddr;
}

const char* decode_error_name(DecodeError e) {
    switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::truncated: return "truncated";
    case DecodeError::bad_size: return "bad_size";
    case DecodeError::not_v1: return "not_v1";
    case DecodeError::bad_record: return "bad_record";
    case DecodeError::bad_option: return "bad_option";
    case DecodeError::mixed_family: return "mixed_family";
    case DecodeError::count: break;
    }
    return "unknown";
}

// ip_vs_process_message, version 1: the header, then nr_conns records, each starting on a 4-byte
// boundary from the header's end. Any record cut short or malformed drops the whole datagram (as
// IPVS does), so a decoded message never holds part of a bad one.
Decoded decode(const uint8_t* data, size_t len) {
    Decoded d;
    if (len < kHeaderLen) return d.error = DecodeError::truncated, d;
    if (get_be16(data + 2) != len) return d.error = DecodeError::bad_size, d;
    if (data[0] != 0 || data[5] != kProtoVersion || get_be16(data + 6) != 0) return d.error = DecodeError::not_v1, d;
    d.msg.syncid = data[1];
    const unsigned n = data[4];
    size_t off = kHeaderLen;
    d.msg.conns.reserve(n);
    for (unsigned i = 0; i < n; i++) {
        if (len - off < kConnV4Len) return d.error = DecodeError::truncated, d;
        const uint8_t* r = data + off;
        const uint16_t ver_size = get_be16(r + 2);
        const size_t size = ver_size & kSizeMask;
        if (size > len - off) return d.error = DecodeError::truncated, d;
        if (ver_size >> kVerShift) return d.error = DecodeError::bad_record, d;
        const bool v6 = r[0] & kTypeInet6;
        if (!v6 && r[0] != 0) return d.error = DecodeError::bad_record, d;
        const size_t fixed = v6 ? kConnV6Len : kConnV4Len;
        if (size < fixed) return d.error = DecodeError::bad_record, d;
        Options o = walk_options(r + fixed, r + size);
        if (o == Options::bad) return d.error = DecodeError::bad_option, d;
        if (o == Options::mandatory) {
            d.skipped++;
        } else {
            SyncConn c;
            c.protocol = r[1];
            c.flags = get_be32(r + 4);
            c.state = get_be16(r + 8);
            c.cport = get_be16(r + 10);
            c.vport = get_be16(r + 12);
            c.dport = get_be16(r + 14);
            c.fwmark = get_be32(r + 16);
            c.timeout_s = get_be32(r + 20);
            const size_t alen = v6 ? 16 : 4;
            c.caddr = get_addr(r + 24, v6);
            c.vaddr = get_addr(r + 24 + alen, v6);
            c.daddr = get_addr(r + 24 + 2 * alen, v6);
            d.msg.conns.push_back(c);
        }
        off += (size + 3) & ~size_t{3};  // the next record is 32-bit aligned
        if (off > len) off = len;        // padding of the last record may be left out
    }
    return d;
}

size_t record_len(const SyncConn& c) { return c.caddr.is_v6() ? kConnV6Len : kConnV4Len; }

std::vector<std::vector<uint8_t>> encode(uint8_t syncid, const std::vector<SyncConn>& conns, size_t max_len) {
    std::vector<std::vector<uint8_t>> out;
    if (max_len < kHeaderLen + kConnV6Len) max_len = kHeaderLen + kConnV6Len;
    if (max_len > kSizeMask * 16) max_len = kSizeMask * 16;
    std::vector<uint8_t>* m = nullptr;
    auto finish = [&] {
        if (!m) return;
        put_be16(m->data() + 2, static_cast<uint16_t>(m->size()));
        m = nullptr;
    };
    for (const SyncConn& c : conns) {
        const bool v6 = c.caddr.is_v6();
        if ((!v6 && !c.caddr.is_v4()) || c.vaddr.family != c.caddr.family || c.daddr.family != c.caddr.family) continue;
        const size_t rl = record_len(c);
        if (m && (m->size() + rl > max_len || (*m)[4] == kMaxConnsPerMessage)) finish();
        if (!m) {
            out.emplace_back(kHeaderLen, 0);
            m = &out.back();
            (*m)[1] = syncid;
            (*m)[5] = kProtoVersion;
        }
        const size_t at = m->size();
        m->resize(at + rl, 0);
        uint8_t* r = m->data() + at;
        r[0] = v6 ? kTypeInet6 : 0;
        r[1] = c.protocol;
        put_be16(r + 2, static_cast<uint16_t>(rl));  // record version 0
        put_be32(r + 4, c.flags);
        put_be16(r + 8, c.state);
        put_be16(r + 10, c.cport);
        put_be16(r + 12, c.vport);
        put_be16(r + 14, c.dport);
        put_be32(r + 16, c.fwmark);
        put_be32(r + 20, c.timeout_s);
        const size_t alen = v6 ? 16 : 4;
        std::memcpy(r + 24, c.caddr.b.data(), alen);
        std::memcpy(r + 24 + alen, c.vaddr.b.data(), alen);
        std::memcpy(r + 24 + 2 * alen, c.daddr.b.data(), alen);
        (*m)[4]++;
    }
    finish();
    return out;
}

// IPVS's TCP states (IP_VS_TCP_S_*, ip_vs_proto_tcp.c) are numbered as dplb's TcpState is: the
// table pins each pair by name, so a reordering of either side breaks the unit tests, not the wire.
namespace {
struct StatePair {
    TcpState dplb;
    uint16_t ipvs;
};
constexpr std::array<StatePair, kTcpStateCount> kTcpStates{{
    {TcpState::none, 0},        // IP_VS_TCP_S_NONE
    {TcpState::established, 1}, // IP_VS_TCP_S_ESTABLISHED
    {TcpState::syn_sent, 2},    // IP_VS_TCP_S_SYN_SENT
    {TcpState::syn_recv, 3},    // IP_VS_TCP_S_SYN_RECV
    {TcpState::fin_wait, 4},    // IP_VS_TCP_S_FIN_WAIT
    {TcpState::time_wait, 5},   // IP_VS_TCP_S_TIME_WAIT
    {TcpState::close, 6},       // IP_VS_TCP_S_CLOSE
    {TcpState::close_wait, 7},  // IP_VS_TCP_S_CLOSE_WAIT
    {TcpState::last_ack, 8},    // IP_VS_TCP_S_LAST_ACK
    {TcpState::listen, 9},      // IP_VS_TCP_S_LISTEN
    {TcpState::synack, 10},     // IP_VS_TCP_S_SYNACK
}};
constexpr uint16_t kUdpNormal = 0;  // IP_VS_UDP_S_NORMAL, UDP's only state
}  // namespace

std::optional<uint16_t> ipvs_state(uint8_t protocol, uint8_t state) {
    if (protocol == kProtoUdp) return state == kUdpState ? std::optional<uint16_t>(kUdpNormal) : std::nullopt;
    if (protocol != kProtoTcp) return std::nullopt;
    for (const StatePair& s : kTcpStates)
        if (static_cast<uint8_t>(s.dplb) == state) return s.ipvs;
    return std::nullopt;
}

std::optional<uint8_t> dplb_state(uint8_t protocol, uint16_t state) {
    if (protocol == kProtoUdp) return state == kUdpNormal ? std::optional<uint8_t>(kUdpState) : std::nullopt;
    if (protocol != kProtoTcp) return std::nullopt;
    for (const StatePair& s : kTcpStates)
        if (s.ipvs == state) return static_cast<uint8_t>(s.dplb);
    return std::nullopt;
}

}  // namespace dplb::sync
