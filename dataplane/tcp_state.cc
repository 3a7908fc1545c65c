#include "tcp_state.h"

#include "parse.h"

namespace dplb {
namespace {

using S = TcpState;
constexpr S sNO = S::none, sES = S::established, sSS = S::syn_sent, sSR = S::syn_recv, sFW = S::fin_wait,
            sTW = S::time_wait, sCL = S::close, sCW = S::close_wait, sLA = S::last_ack, sLI = S::listen,
            sSA = S::synack;

// Rows: the flag that decides; columns: the current state. IPVS input-only table.
constexpr S kInputOnly[4][kTcpStateCount] = {
    //         sNO  sES  sSS  sSR  sFW  sTW  sCL  sCW  sLA  sLI  sSA
    /* syn */ {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
    /* fin */ {sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW},
    /* ack */ {sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
    /* rst */ {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
};
enum { kRowSyn, kRowFin, kRowAck, kRowRst };

}  // namespace

TcpState tcp_next_state(TcpState cur, uint8_t flags) {
    int row;
    if (flags & kTcpRst) row = kRowRst;
    else if (flags & kTcpSyn) row = kRowSyn;
    else if (flags & kTcpFin) row = kRowFin;
    else if (flags & kTcpAck) row = kRowAck;
    else return S::close;
    return kInputOnly[row][static_cast<unsigned>(cur)];
}

const char* state_name(uint8_t state) {
    static const char* const names[kStateSlots] = {
        "NONE",  "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
        "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "SYNACK",   "UDP",
        "NONE"  // templates show as NONE in ipvsadm -Lnc
    };
    return state < kStateSlots ? names[state] : "?";
}

Timeouts Timeouts::ipvs_defaults() {
    Timeouts t;
    auto set = [&t](uint8_t slot, uint32_t seconds) { t.ms[slot] = seconds * 1000; };
    set(static_cast<uint8_t>(S::none), 2);
    set(static_cast<uint8_t>(S::established), 900);
    set(static_cast<uint8_t>(S::syn_sent), 120);
    set(static_cast<uint8_t>(S::syn_recv), 60);
    set(static_cast<uint8_t>(S::fin_wait), 120);
    set(static_cast<uint8_t>(S::time_wait), 120);
    set(static_cast<uint8_t>(S::close), 10);
    set(static_cast<uint8_t>(S::close_wait), 60);
    set(static_cast<uint8_t>(S::last_ack), 30);
    set(static_cast<uint8_t>(S::listen), 120);
    set(static_cast<uint8_t>(S::synack), 120);
    set(kUdpState, 300);
    set(kTemplateState, 0);  // set from persistence_timeout
    return t;
}

}  // namespace dplb
