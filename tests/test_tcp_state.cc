// The input-only TCP state table, cell by cell, and the default timeouts.
#include <gtest/gtest.h>

#include "parse.h"
#include "tcp_state.h"

namespace dplb {
namespace {

TEST(TcpState, InputOnlyTableEveryCell) {
    // Expected next state per current state (columns NO ES SS SR FW TW CL CW LA LI SA), in IPVS's
    // abbreviations, for SYN, FIN, ACK, RST: the "INPUT-ONLY" block of ip_vs_proto_tcp.c.
    const char* rows[4][11] = {
        {"SR", "ES", "ES", "SR", "SR", "SR", "SR", "SR", "SR", "SR", "SR"},  // syn
        {"CL", "FW", "SS", "TW", "FW", "TW", "CL", "CW", "LA", "LI", "TW"},  // fin
        {"CL", "ES", "SS", "ES", "FW", "TW", "CL", "CW", "CL", "LI", "ES"},  // ack
        {"CL", "CL", "CL", "SR", "CL", "CL", "CL", "CL", "LA", "LI", "CL"},  // rst
    };
    const char* abbrev[11] = {"NO", "ES", "SS", "SR", "FW", "TW", "CL", "CW", "LA", "LI", "SA"};
    const uint8_t flags[4] = {kTcpSyn, kTcpFin, kTcpAck, kTcpRst};
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 11; c++) {
            TcpState next = tcp_next_state(static_cast<TcpState>(c), flags[r]);
            EXPECT_STREQ(abbrev[static_cast<int>(next)], rows[r][c]) << "row " << r << " from " << abbrev[c];
        }
}

TEST(TcpState, FlagPriorityRstSynFinAck) {
    for (unsigned s = 0; s < kTcpStateCount; s++) {
        auto cur = static_cast<TcpState>(s);
        EXPECT_EQ(tcp_next_state(cur, kTcpRst | kTcpSyn | kTcpFin | kTcpAck), tcp_next_state(cur, kTcpRst));
        EXPECT_EQ(tcp_next_state(cur, kTcpSyn | kTcpFin | kTcpAck), tcp_next_state(cur, kTcpSyn));
        EXPECT_EQ(tcp_next_state(cur, kTcpFin | kTcpAck), tcp_next_state(cur, kTcpFin));
        EXPECT_EQ(tcp_next_state(cur, 0x08 /* PSH */), TcpState::close) << "no deciding flag: CLOSE, as IPVS";
        EXPECT_EQ(tcp_next_state(cur, 0), TcpState::close);
    }
}

TEST(TcpState, EveryFlagsByteFromEveryState) {
    // The rule written out: the deciding flag is RST, else SYN, else FIN, else ACK, else none (CLOSE);
    // no other bit (PSH, URG, ECE, CWR) changes anything. Checked against single-flag answers that
    // InputOnlyTableEveryCell pins cell by cell.
    for (unsigned s = 0; s < kTcpStateCount; s++) {
        auto cur = static_cast<TcpState>(s);
        for (unsigned flags = 0; flags < 256; flags++) {
            TcpState want = (flags & kTcpRst)   ? tcp_next_state(cur, kTcpRst)
                            : (flags & kTcpSyn) ? tcp_next_state(cur, kTcpSyn)
                            : (flags & kTcpFin) ? tcp_next_state(cur, kTcpFin)
                            : (flags & kTcpAck) ? tcp_next_state(cur, kTcpAck)
                                                : TcpState::close;
            EXPECT_EQ(tcp_next_state(cur, static_cast<uint8_t>(flags)), want) << "state " << s << " flags " << flags;
        }
    }
}

TEST(TcpState, IpvsDefaultTimeouts) {
    Timeouts t = Timeouts::ipvs_defaults();
    auto sec = [&](TcpState s) { return t.ms[static_cast<uint8_t>(s)] / 1000; };
    EXPECT_EQ(sec(TcpState::established), 900u);
    EXPECT_EQ(sec(TcpState::syn_recv), 60u);
    EXPECT_EQ(sec(TcpState::fin_wait), 120u);
    EXPECT_EQ(sec(TcpState::time_wait), 120u);
    EXPECT_EQ(sec(TcpState::close), 10u);
    EXPECT_EQ(sec(TcpState::close_wait), 60u);
    EXPECT_EQ(sec(TcpState::last_ack), 30u);
    EXPECT_EQ(sec(TcpState::syn_sent), 120u);
    EXPECT_EQ(sec(TcpState::listen), 120u);
    EXPECT_EQ(sec(TcpState::synack), 120u);
    EXPECT_EQ(t.ms[kUdpState] / 1000, 300u);
    EXPECT_STREQ(state_name(static_cast<uint8_t>(TcpState::established)), "ESTABLISHED");
    EXPECT_STREQ(state_name(kUdpState), "UDP");
}

}  // namespace
}  // namespace dplb
