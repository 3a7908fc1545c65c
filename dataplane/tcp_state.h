// TCP state as a Direct Routing director infers it from client->server packets only: IPVS's
// "INPUT-ONLY" transition table (net/netfilter/ipvs/ip_vs_proto_tcp.c, tcp_states[], third block) and
// its default per-state timeouts. A data table, not nested ifs.
#pragma once

#include <array>
#include <cstdint>

namespace dplb {

// Order and names as IPVS (IP_VS_TCP_S_*), so `dplbctl list --connections` reads like `ipvsadm -Lnc`.
enum class TcpState : uint8_t {
    none,
    established,
    syn_sent,
    syn_recv,
    fin_wait,
    time_wait,
    close,
    close_wait,
    last_ack,
    listen,
    synack,
    count
};
constexpr unsigned kTcpStateCount = static_cast<unsigned>(TcpState::count);

// The state a UDP entry is in; not a TCP state, kept beside them for one timeout table.
constexpr uint8_t kUdpState = kTcpStateCount;
// Persistence template (client -> real binding), not a connection.
constexpr uint8_t kTemplateState = kTcpStateCount + 1;
constexpr unsigned kStateSlots = kTcpStateCount + 2;

const char* state_name(uint8_t state);  // "ESTABLISHED", "SYN_RECV", ..., "UDP", "TEMPLATE"

// The next state after a packet with TCP `flags` arrives in `cur`. Priority RST > SYN > FIN > ACK; a
// segment with none of them goes to CLOSE, as in IPVS (set_tcp_state starts from CLOSE and keeps it
// when no flag selects a row of the table).
TcpState tcp_next_state(TcpState cur, uint8_t flags);

// Timeouts in milliseconds, per state slot (TCP states, UDP, template).
struct Timeouts {
    std::array<uint32_t, kStateSlots> ms{};
    static Timeouts ipvs_defaults();
};

inline bool state_is_active(uint8_t state) { return state == static_cast<uint8_t>(TcpState::established); }

}  // namespace dplb
