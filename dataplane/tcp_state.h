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

const char* state_name(uint8_t state);

// The TCP header's flags that decide a state (parse.h reads them into Parsed::tcp_flags).
enum : uint8_t { kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10 };
constexpr uint8_t kTcpStateFlags = kTcpFin | kTcpSyn | kTcpRst | kTcpAck;  // "ESTABLISHED", "SYN_RECV", ..., "UDP", "TEMPLATE"

namespace tcp_detail {

using S = TcpState;
constexpr S sNO = S::none, sES = S::established, sSS = S::syn_sent, sSR = S::syn_recv, sFW = S::fin_wait,
            sTW = S::time_wait, sCL = S::close, sCW = S::close_wait, sLA = S::last_ack, sLI = S::listen,
            sSA = S::synack;

// Rows: the flag that decides; columns: the current state. IPVS input-only table; the last row is a
// segment with none of the four flags.
constexpr S kInputOnly[5][kTcpStateCount] = {
    //         sNO  sES  sSS  sSR  sFW  sTW  sCL  sCW  sLA  sLI  sSA
    /* syn */ {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
    /* fin */ {sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW},
    /* ack */ {sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
    /* rst */ {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
    /* none */ {sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
};
enum { kRowSyn, kRowFin, kRowAck, kRowRst, kRowNone };

// The deciding row for the TCP flags byte masked to kTcpStateFlags: RST > SYN > FIN > ACK, else none.
constexpr uint8_t row_of(unsigned flags) {
    return (flags & kTcpRst)   ? kRowRst
           : (flags & kTcpSyn) ? kRowSyn
           : (flags & kTcpFin) ? kRowFin
           : (flags & kTcpAck) ? kRowAck
                               : kRowNone;
}

// kInputOnly flattened by (flags & kTcpStateFlags) and the current state, a row of 16 per flags value:
// the next state is one load from an index of two operations, for every TCP packet.
struct NextTable {
    uint8_t next[(kTcpStateFlags + 1) * 16];
    constexpr NextTable() : next() {
        for (unsigned flags = 0; flags <= kTcpStateFlags; flags++)
            for (unsigned cur = 0; cur < kTcpStateCount; cur++)
                next[flags * 16 + cur] = static_cast<uint8_t>(kInputOnly[row_of(flags)][cur]);
    }
};
constexpr NextTable kNext{};
static_assert(kTcpStateCount <= 16, "a row of kNext holds every state");

}  // namespace tcp_detail

// The next state after a packet with TCP `flags` arrives in `cur` (< kTcpStateCount). Priority RST >
// SYN > FIN > ACK; a segment with none of them goes to CLOSE, as in IPVS (set_tcp_state starts from
// CLOSE and keeps it when no flag selects a row of the table). Inline: it runs for every TCP packet.
inline TcpState tcp_next_state(TcpState cur, uint8_t flags) {
    return static_cast<TcpState>(tcp_detail::kNext.next[(flags & kTcpStateFlags) << 4 | static_cast<unsigned>(cur)]);
}

// Timeouts in milliseconds, per state slot (TCP states, UDP, template).
struct Timeouts {
    std::array<uint32_t, kStateSlots> ms{};
    static Timeouts ipvs_defaults();
};

inline bool state_is_active(uint8_t state) { return state == static_cast<uint8_t>(TcpState::established); }

}  // namespace dplb
