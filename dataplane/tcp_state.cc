#include "tcp_state.h"

namespace dplb {

using S = TcpState;

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
