// Rates for `dplbctl list --rate`, estimated as IPVS does (net/netfilter/ipvs/ip_vs_est.c): every
// 2 s the counts' difference is folded into an exponentially weighted average,
//   avg += (rate - avg) / 4,
// kept in fixed point (conns and packets scaled by 2^10, bytes by 2^5) and read back rounded.
// The clock is the caller's, so a test drives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "counters.h"

namespace dplb {

// Per-second rates of one service or real, as ipvsadm --rate shows them (CPS, InPPS, InBPS).
struct Rates {
    uint64_t cps = 0, inpps = 0, inbps = 0;
};

class RateEstimator {
public:
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr std::chrono::milliseconds kInterval{2000};  // ip_vs_est.c: mod_timer(.., 2*HZ)

    RateEstimator();

    // Called with the summed counters (often, e.g. once a second): the first call only takes the
    // counts; later calls fold one step in once kInterval has passed since the previous step. A
    // step that comes late is scaled to the time that really passed (at exactly 2 s it is the
    // kernel's arithmetic). A count that went back (its id handed to another real) starts that
    // estimator afresh.
    void update(time_point now, const CoreCounters& totals);

    // ipvsadm -Z: that estimate starts again from 0 (ip_vs_zero_estimator); its counts stay.
    void zero_service(uint16_t id) { zero(svc_[id]); }
    void zero_dest(uint16_t id) { zero(dest_[id]); }

    Rates service(uint16_t id) const { return read(svc_[id]); }
    Rates dest(uint16_t id) const { return read(dest_[id]); }

private:
    struct Est {
        uint64_t last_conns = 0, last_inpkts = 0, last_inbytes = 0;
        int64_t cps = 0, inpps = 0, inbps = 0;  // scaled averages
    };
    static void step(Est& e, uint64_t conns, uint64_t inpkts, uint64_t inbytes, uint64_t elapsed_ms);
    static void restart(Est& e, uint64_t conns, uint64_t inpkts, uint64_t inbytes);
    static Rates read(const Est& e);
    static void zero(Est& e) { e.cps = e.inpps = e.inbps = 0; }

    std::vector<Est> svc_, dest_;
    time_point last_{};
    bool started_ = false;
};

}  // namespace dplb
