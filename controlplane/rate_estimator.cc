#include "rate_estimator.h"

namespace dplb {

namespace {

// One average: the difference over `elapsed_ms`, scaled by 2^shift per second, folded in with
// weight 1/4. At 2000 ms, (diff << shift) * 1000 / 2000 is ip_vs_est.c's diff << (shift - 1).
void fold(int64_t& avg, uint64_t& last, uint64_t now, unsigned shift, uint64_t elapsed_ms) {
    uint64_t diff = now - last;
    last = now;
    auto rate = static_cast<int64_t>(((diff << shift) * 1000) / elapsed_ms);
    avg += (rate - avg) >> 2;  // arithmetic shift, as the kernel's on s64
}

}  // namespace

RateEstimator::RateEstimator() : svc_(kMaxServices), dest_(kMaxDests) {}

void RateEstimator::restart(Est& e, uint64_t conns, uint64_t inpkts, uint64_t inbytes) {
    e = Est{conns, inpkts, inbytes, 0, 0, 0};
}

void RateEstimator::step(Est& e, uint64_t conns, uint64_t inpkts, uint64_t inbytes, uint64_t elapsed_ms) {
    if (conns < e.last_conns || inpkts < e.last_inpkts || inbytes < e.last_inbytes)
        return restart(e, conns, inpkts, inbytes);
    fold(e.cps, e.last_conns, conns, 10, elapsed_ms);
    fold(e.inpps, e.last_inpkts, inpkts, 10, elapsed_ms);
    fold(e.inbps, e.last_inbytes, inbytes, 5, elapsed_ms);
}

// ip_vs_read_estimator: the scaled averages rounded to whole units.
Rates RateEstimator::read(const Est& e) {
    auto back = [](int64_t v, unsigned shift) {
        return v <= 0 ? uint64_t{0} : (static_cast<uint64_t>(v) + ((uint64_t{1} << (shift - 1)) - 1)) >> shift;
    };
    return Rates{back(e.cps, 10), back(e.inpps, 10), back(e.inbps, 5)};
}

void RateEstimator::update(time_point now, const CoreCounters& t) {
    if (!started_) {
        for (unsigned i = 0; i < kMaxServices; i++) restart(svc_[i], t.svc[i].conns, t.svc[i].inpkts, t.svc[i].inbytes);
        for (unsigned i = 0; i < kMaxDests; i++)
            restart(dest_[i], t.dest[i].conns, t.dest[i].inpkts, t.dest[i].inbytes);
        last_ = now;
        started_ = true;
        return;
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_);
    if (elapsed < kInterval) return;
    auto ms = static_cast<uint64_t>(elapsed.count());
    for (unsigned i = 0; i < kMaxServices; i++) step(svc_[i], t.svc[i].conns, t.svc[i].inpkts, t.svc[i].inbytes, ms);
    for (unsigned i = 0; i < kMaxDests; i++) step(dest_[i], t.dest[i].conns, t.dest[i].inpkts, t.dest[i].inbytes, ms);
    last_ = now;
}

}  // namespace dplb
