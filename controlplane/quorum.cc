#include "quorum.h"

namespace dplb {

uint64_t live_weight(const config::Service& svc, const std::map<RealKey, RealRuntime>& runtime) {
    uint64_t sum = 0;
    for (const config::RealServer& r : svc.reals) {
        auto it = runtime.find(RealKey{svc.vip, svc.port, svc.proto, r.ip, r.port});
        const RealRuntime* rt = it == runtime.end() ? nullptr : &it->second;
        if (rt && !rt->healthy) continue;
        sum += effective_weight(r, rt);
    }
    return sum;
}

bool quorum_next(bool was_up, uint64_t live, uint32_t quorum, uint32_t hysteresis) {
    const uint64_t q = quorum, h = hysteresis;
    if (was_up) return live != 0 && live + h >= q;  // down below quorum - hysteresis
    return live != 0 && live >= q + h;
}

}  // namespace dplb
